//! Cell text every printer shares: reads of the object's JSON with kube's zero values and
//! placeholders, and labels, selectors, quantities and lists as kube prints them.

use serde_json::Value;

use super::duration::{human_duration_signed, parse_rfc3339_ms, ZERO_TIME_MS};

// ---------------------------------------------------------------------------------------
// Shared cell text.

/// kube's placeholders for absent values.
pub(super) const NONE: &str = "<none>";
pub(super) const UNSET: &str = "<unset>";
pub(super) const UNKNOWN: &str = "<unknown>";
pub(super) const PENDING: &str = "<pending>";
pub(super) const NOT_APPLICABLE: &str = "N/A";
/// `FormatLabelSelector` of a selector kube cannot parse.
const SELECTOR_ERROR: &str = "<error>";
/// `printDeployment`'s own word for the same.
pub(super) const SELECTOR_INVALID: &str = "<invalid>";
/// `Quantity.String()` of a nil quantity pointer.
const NIL_QUANTITY: &str = "<nil>";
/// `Quantity.String()` of the zero quantity (a missing map entry).
const ZERO_QUANTITY: &str = "0";
/// How many endpoints, ports, hosts or metrics a cell lists before "+ N more...".
pub(super) const LIST_LIMIT: usize = 3;
pub(super) const METRICS_LIMIT: usize = 2;

pub(super) fn text_cell(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

pub(super) fn int_cell(number: i64) -> Value {
    Value::from(number)
}

/// The value at `path`, or `Null` when any step is missing or not an object.
pub(super) fn at<'a>(value: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(value, |current, key| &current[*key])
}

pub(super) fn text<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    at(value, path).as_str().unwrap_or("")
}

/// An integer field; kube's zero value when missing or mistyped.
pub(super) fn integer(value: &Value, path: &[&str]) -> i64 {
    optional_integer(value, path).unwrap_or(0)
}

/// An integer pointer field: `None` when missing.
pub(super) fn optional_integer(value: &Value, path: &[&str]) -> Option<i64> {
    let field = at(value, path);
    field
        .as_i64()
        .or_else(|| field.as_u64().map(|_| i64::MAX))
        .or_else(|| field.as_f64().map(|float| float as i64))
}

pub(super) fn boolean(value: &Value, path: &[&str]) -> bool {
    at(value, path).as_bool().unwrap_or(false)
}

pub(super) fn items<'a>(value: &'a Value, path: &[&str]) -> &'a [Value] {
    at(value, path).as_array().map_or(&[], Vec::as_slice)
}

pub(super) fn entry_count(value: &Value, path: &[&str]) -> usize {
    at(value, path).as_object().map_or(0, |fields| fields.len())
}

/// Whether a pointer field is set: present and not null.
pub(super) fn is_set(value: &Value, path: &[&str]) -> bool {
    !at(value, path).is_null()
}

/// A struct pointer field (`*ContainerStateTerminated` and the like): set when an object.
pub(super) fn nested<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    Some(at(value, path)).filter(|field| field.is_object())
}

pub(super) fn name(object: &Value) -> &str {
    text(object, &["metadata", "name"])
}

pub(super) fn is_deleting(object: &Value) -> bool {
    is_set(object, &["metadata", "deletionTimestamp"])
}

pub(super) fn or_placeholder<'a>(text: &'a str, placeholder: &'a str) -> &'a str {
    if text.is_empty() {
        placeholder
    } else {
        text
    }
}

/// The AGE cell: `translateTimestampSince(metadata.creationTimestamp)`.
pub(super) fn age(object: &Value, now: i64) -> Value {
    text_cell(since(
        timestamp(object, &["metadata", "creationTimestamp"]),
        now,
    ))
}

/// `translateTimestampSince`: "<unknown>" for a zero (missing or unreadable) time.
pub(super) fn since(time_ms: Option<i64>, now: i64) -> String {
    match time_ms {
        Some(time_ms) => human_duration_signed(now.saturating_sub(time_ms)),
        None => UNKNOWN.to_string(),
    }
}

/// A timestamp field in unix ms; `None` for Go's zero time, as `IsZero` sees it.
pub(super) fn timestamp(value: &Value, path: &[&str]) -> Option<i64> {
    time_value(at(value, path))
}

/// A timestamp value in unix ms; `None` when missing, unreadable or Go's zero time.
pub(super) fn time_value(value: &Value) -> Option<i64> {
    value
        .as_str()
        .and_then(parse_rfc3339_ms)
        .filter(|time_ms| *time_ms != ZERO_TIME_MS)
}

/// `layoutContainerCells`: container names and images, comma-joined.
pub(super) fn container_cells(pod_spec: &Value) -> [Value; 2] {
    let containers = items(pod_spec, &["containers"]);
    let names: Vec<&str> = containers.iter().map(|c| text(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| text(c, &["image"])).collect();
    [text_cell(names.join(",")), text_cell(images.join(","))]
}

/// `labels.FormatLabels`: sorted "key=value" pairs, or "<none>".
pub(super) fn format_labels(labels: &Value) -> String {
    let mut pairs: Vec<String> = labels
        .as_object()
        .map(|fields| {
            fields
                .iter()
                .map(|(key, value)| format!("{key}={}", value.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    or_placeholder(&pairs.join(","), NONE).to_string()
}

/// `metav1.FormatLabelSelector`: "<error>" for an invalid selector, "<none>" for one
/// that selects everything or nothing.
pub(super) fn format_label_selector(selector: &Value) -> String {
    match selector_string(selector) {
        Some(rendered) => or_placeholder(&rendered, NONE).to_string(),
        None => SELECTOR_ERROR.to_string(),
    }
}

/// `LabelSelectorAsSelector(selector).String()`: requirements sorted by key; `None` when
/// the selector is invalid. Label key and value syntax is validation's job, not checked.
pub(super) fn selector_string(selector: &Value) -> Option<String> {
    let mut requirements: Vec<(String, String)> = Vec::new();
    if let Some(labels) = selector["matchLabels"].as_object() {
        for (key, value) in labels {
            requirements.push((key.clone(), format!("{key}={}", value.as_str()?)));
        }
    }
    for expression in items(selector, &["matchExpressions"]) {
        let key = text(expression, &["key"]);
        requirements.push((key.to_string(), expression_string(expression)?));
    }
    requirements.sort_by(|left, right| left.0.cmp(&right.0));
    let rendered: Vec<String> = requirements.into_iter().map(|(_, text)| text).collect();
    Some(rendered.join(","))
}

/// One `matchExpressions` entry as `labels.Requirement.String()` prints it.
fn expression_string(expression: &Value) -> Option<String> {
    let key = text(expression, &["key"]);
    let mut values = Vec::new();
    for value in items(expression, &["values"]) {
        values.push(value.as_str()?);
    }
    values.sort_unstable();
    let set = format!("({})", values.join(","));
    match (text(expression, &["operator"]), values.is_empty()) {
        ("In", false) => Some(format!("{key} in {set}")),
        ("NotIn", false) => Some(format!("{key} notin {set}")),
        ("Exists", true) => Some(key.to_string()),
        ("DoesNotExist", true) => Some(format!("!{key}")),
        _ => None,
    }
}

/// `resource.Quantity.String()` of a stored quantity. kube prints the canonical form;
/// this prints the text as stored, which is the same whenever the stored text is
/// canonical ("100m", "1Gi").
/// A quantity as kube prints it: canonical ("1000m" is "1"); as stored if it does not
/// parse.
fn quantity_text(quantity: &Value) -> Option<String> {
    let text = match quantity {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    Some(match crate::quantity::parse_with_format(&text) {
        Ok((parsed, format)) => parsed.to_canonical_string(format),
        Err(_) => text,
    })
}

/// A quantity map entry (`map[ResourceName]Quantity`): "0" when missing.
pub(super) fn quantity_entry(quantities: &Value, resource: &str) -> String {
    quantity_text(&quantities[resource]).unwrap_or_else(|| ZERO_QUANTITY.to_string())
}

/// A `*Quantity` field: "<nil>" when missing.
pub(super) fn quantity_pointer(value: &Value, path: &[&str]) -> String {
    quantity_text(at(value, path)).unwrap_or_else(|| NIL_QUANTITY.to_string())
}

/// `listWithMoreString`: up to three items, then "+ N more...", or "<unset>".
pub(super) fn list_with_more(all: &[String]) -> String {
    let shown = all
        .iter()
        .take(LIST_LIMIT)
        .cloned()
        .collect::<Vec<_>>()
        .join(",");
    if all.len() > LIST_LIMIT {
        return format!("{shown} + {} more...", all.len() - LIST_LIMIT);
    }
    or_placeholder(&shown, UNSET).to_string()
}

/// `net.JoinHostPort`: brackets around IPv6 hosts.
pub(super) fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `printBoolPtr`.
pub(super) fn bool_pointer_text(value: &Value) -> &'static str {
    match value.as_bool() {
        Some(true) => "True",
        Some(false) => "False",
        None => UNSET,
    }
}

/// `IntOrString.String()` of a set field.
pub(super) fn int_or_string_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The status of the first condition of `kind`, as the printers' `has*Condition` read it.
pub(super) fn condition_is_true(conditions: &[Value], kind: &str) -> bool {
    conditions
        .iter()
        .find(|condition| text(condition, &["type"]) == kind)
        .is_some_and(|condition| text(condition, &["status"]) == "True")
}
