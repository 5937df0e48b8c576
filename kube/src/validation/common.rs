//! Helpers every validation module shares: field paths, typed reads, and apimachinery's
//! small validators (names, ports, IPs, labels, label selectors, quantities, immutable
//! fields).

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::quantity::Quantity;
use crate::selector::{validate_label_key, validate_label_value};
use crate::status::Cause;

// ---------------------------------------------------------------------------------------
// Shared helpers: paths, typed reads, and apimachinery's small validators.

/// IANA service names (RFC 6335) are at most 15 characters.
const PORT_NAME_LIMIT_CHARS: usize = 15;
/// The largest TCP/UDP port number.
pub(super) const PORT_MAX: i64 = 65535;
pub(super) const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
pub(super) const TAINT_EFFECTS: &[&str] = &["NoExecute", "NoSchedule", "PreferNoSchedule"];

/// Reads `object` as `T`; a shape that does not fit (a string where a number belongs)
/// becomes one cause at the root, as a decode error would in kube-apiserver.
pub(super) fn typed<T: DeserializeOwned>(object: &Value, causes: &mut Vec<Cause>) -> Option<T> {
    match T::deserialize(object) {
        Ok(value) => Some(value),
        Err(error) => {
            causes.push(Cause::invalid("", "<object>", &error.to_string()));
            None
        }
    }
}

pub(super) fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

pub(super) fn index(path: &str, position: usize) -> String {
    format!("{path}[{position}]")
}

pub(super) fn key(path: &str, name: &str) -> String {
    format!("{path}[{name}]")
}

/// A string shown as apimachinery shows one in a message: Go-quoted.
pub(super) fn quoted(text: &str) -> String {
    format!("{text:?}")
}

pub(super) fn not_found(field: &str, value: &str) -> Cause {
    Cause {
        reason: "FieldValueNotFound".into(),
        message: format!("Not found: {}", quoted(value)),
        field: field.into(),
    }
}

pub(super) fn too_many(field: &str, actual: usize, limit: usize) -> Cause {
    Cause {
        reason: "FieldValueTooMany".into(),
        message: format!("Too many: {actual}: must have at most {limit} items"),
        field: field.into(),
    }
}

/// Runs one of `selector`'s name checks and records its message as an Invalid cause.
pub(super) fn check_name(
    path: &str,
    value: &str,
    check: fn(&str) -> Result<(), String>,
    causes: &mut Vec<Cause>,
) {
    if let Err(message) = check(value) {
        causes.push(Cause::invalid(path, &quoted(value), &message));
    }
}

pub(super) fn require_name(path: &str, value: &str, check: NameCheck, causes: &mut Vec<Cause>) {
    if value.is_empty() {
        causes.push(Cause::required(path));
    } else {
        check_name(path, value, check, causes);
    }
}

pub(super) type NameCheck = fn(&str) -> Result<(), String>;

pub(super) fn nonnegative(path: &str, value: Option<i64>, causes: &mut Vec<Cause>) {
    if let Some(value) = value.filter(|value| *value < 0) {
        causes.push(Cause::invalid(
            path,
            &value.to_string(),
            "must be greater than or equal to 0",
        ));
    }
}

pub(super) fn one_of(path: &str, value: Option<&str>, supported: &[&str], causes: &mut Vec<Cause>) {
    if let Some(value) = value.filter(|value| !supported.contains(value)) {
        causes.push(Cause::not_supported(path, &quoted(value), supported));
    }
}

/// apimachinery's `path.IsValidPathSegmentName`: the name becomes one URL path segment.
pub(super) fn validate_path_segment_name(name: &str) -> Result<(), String> {
    if name == "." || name == ".." {
        return Err(format!("may not be '{name}'"));
    }
    for illegal in ["/", "%"] {
        if name.contains(illegal) {
            return Err(format!("may not contain '{illegal}'"));
        }
    }
    Ok(())
}

/// Qualified names (label keys) double as annotation keys, finalizers and resource names.
pub(super) fn validate_qualified_name(name: &str) -> Result<(), String> {
    validate_label_key(name)
}

pub(super) fn validate_port_number(path: &str, port: i64, causes: &mut Vec<Cause>) {
    if !(1..=PORT_MAX).contains(&port) {
        causes.push(Cause::invalid(
            path,
            &port.to_string(),
            "must be between 1 and 65535, inclusive",
        ));
    }
}

/// apimachinery's `IsValidPortName`: an IANA_SVC_NAME.
fn port_name_errors(name: &str) -> Vec<&'static str> {
    let mut errors = Vec::new();
    if name.len() > PORT_NAME_LIMIT_CHARS {
        errors.push("must be no more than 15 characters");
    }
    if !name
        .bytes()
        .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
    {
        errors.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
    }
    if name.contains("--") {
        errors.push("must not contain consecutive hyphens");
    }
    if !name.bytes().any(|byte| byte.is_ascii_lowercase()) {
        errors.push("must contain at least one letter (a-z)");
    }
    if name.starts_with('-') || name.ends_with('-') {
        errors.push("must not begin or end with a hyphen");
    }
    errors
}

pub(super) fn validate_port_name(path: &str, name: &str, causes: &mut Vec<Cause>) {
    for message in port_name_errors(name) {
        causes.push(Cause::invalid(path, &quoted(name), message));
    }
}

/// `ValidatePortNumOrName`: a number in range or an IANA service name.
pub(super) fn validate_port_number_or_name(
    path: &str,
    port: &IntOrString,
    causes: &mut Vec<Cause>,
) {
    match port {
        IntOrString::Int(number) => validate_port_number(path, i64::from(*number), causes),
        IntOrString::String(name) if name.is_empty() => causes.push(Cause::required(path)),
        IntOrString::String(name) => validate_port_name(path, name, causes),
    }
}

pub(super) fn int_or_string_text(value: &IntOrString) -> String {
    match value {
        IntOrString::Int(number) => number.to_string(),
        IntOrString::String(text) => quoted(text),
    }
}

pub(super) fn validate_ip(path: &str, address: &str, causes: &mut Vec<Cause>) {
    if address.parse::<IpAddr>().is_err() {
        causes.push(Cause::invalid(
            path,
            &quoted(address),
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ));
    }
}

pub(super) fn is_cidr(text: &str) -> bool {
    let Some((address, prefix)) = text.split_once('/') else {
        return false;
    };
    let Ok(prefix) = prefix.parse::<u8>() else {
        return false;
    };
    match address.parse::<IpAddr>() {
        Ok(IpAddr::V4(_)) => prefix <= 32,
        Ok(IpAddr::V6(_)) => prefix <= 128,
        Err(_) => false,
    }
}

/// `ValidateLabels`: both a bad key and a bad value are reported at the map's path.
pub(super) fn validate_labels(
    path: &str,
    labels: Option<&BTreeMap<String, String>>,
    causes: &mut Vec<Cause>,
) {
    for (name, value) in labels.into_iter().flatten() {
        check_name(path, name, validate_label_key, causes);
        check_name(path, value, validate_label_value, causes);
    }
}

/// Parses a quantity, recording a parse error or a negative value at `path`.
pub(super) fn nonnegative_quantity(
    path: &str,
    quantity: &ApiQuantity,
    causes: &mut Vec<Cause>,
) -> Option<Quantity> {
    match Quantity::parse(&quantity.0) {
        Err(error) => {
            causes.push(Cause::invalid(
                path,
                &quoted(&quantity.0),
                &error.to_string(),
            ));
            None
        }
        Ok(parsed) if parsed.is_negative() => {
            causes.push(Cause::invalid(
                path,
                &quoted(&quantity.0),
                "must be greater than or equal to 0",
            ));
            None
        }
        Ok(parsed) => Some(parsed),
    }
}

/// Compares `new` and `old` at `fields` (a JSON path) and reports "field is immutable".
pub(super) fn validate_immutable(
    new: &Value,
    old: &Value,
    fields: &[&str],
    causes: &mut Vec<Cause>,
) {
    let new_value = lookup(new, fields);
    if new_value != lookup(old, fields) {
        let shown = new_value
            .map(Value::to_string)
            .unwrap_or_else(|| "null".into());
        causes.push(Cause::invalid(
            &fields.join("."),
            &shown,
            "field is immutable",
        ));
    }
}

pub(super) fn lookup<'a>(object: &'a Value, fields: &[&str]) -> Option<&'a Value> {
    fields
        .iter()
        .try_fold(object, |value, field| value.get(field))
        .filter(|value| !value.is_null())
}

/// `ValidateLabelSelector`: matchLabels are labels, matchExpressions well-formed.
pub(super) fn validate_label_selector(
    selector: &meta::LabelSelector,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    validate_labels(
        &child(path, "matchLabels"),
        selector.match_labels.as_ref(),
        causes,
    );
    let expressions_path = child(path, "matchExpressions");
    for (position, requirement) in selector.match_expressions.iter().flatten().enumerate() {
        let entry = index(&expressions_path, position);
        let has_values = requirement
            .values
            .as_ref()
            .is_some_and(|values| !values.is_empty());
        let values_path = child(&entry, "values");
        match requirement.operator.as_str() {
            "In" | "NotIn" if !has_values => causes.push(Cause {
                message: "Required value: must be specified when `operator` is 'In' or 'NotIn'"
                    .into(),
                ..Cause::required(&values_path)
            }),
            "Exists" | "DoesNotExist" if has_values => causes.push(Cause::forbidden(
                &values_path,
                "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
            )),
            "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
            other => causes.push(Cause::invalid(
                &child(&entry, "operator"),
                &quoted(other),
                "not a valid selector operator",
            )),
        }
        check_name(
            &child(&entry, "key"),
            &requirement.key,
            validate_label_key,
            causes,
        );
    }
}

pub(super) fn set_or_remove(object: &mut Value, field: &str, value: Option<&Value>) {
    if let Some(fields) = object.as_object_mut() {
        match value {
            Some(value) => fields.insert(field.to_string(), value.clone()),
            None => fields.remove(field),
        };
    }
}
