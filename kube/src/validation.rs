//! kube-apiserver's validation of built-in kinds: the `ValidateX` and `ValidateXUpdate`
//! functions of `pkg/apis/*/validation`, with their field paths, reasons and messages, so
//! clients see the same `Invalid` causes Kubernetes would give them.
//!
//! Objects arrive as JSON and are read through `k8s-openapi`'s types. A field that
//! defaulting fills in (a port's protocol, a pod's restart policy, ...) is checked only when
//! present, so the rules hold whether or not `defaults::apply_defaults` ran first; where
//! Kubernetes would default an absent value into a rejected one, the default is assumed.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::autoscaling::v2 as autoscaling;
use k8s_openapi::api::batch::v1 as batch;
use k8s_openapi::api::coordination::v1 as coordination;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::discovery::v1 as discovery;
use k8s_openapi::api::rbac::v1 as rbac;
use k8s_openapi::api::storage::v1 as storage;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::quantity::Quantity;
use crate::selector::{
    validate_dns1035_label, validate_dns1123_label, validate_dns1123_subdomain, validate_label_key,
    validate_label_value, LabelSelector,
};
use crate::status::Cause;

/// Annotations ride along on every read of the object, so apimachinery caps their sum.
const ANNOTATIONS_LIMIT_BYTES: usize = 256 * 1024;
/// ConfigMaps and Secrets are stored and watched whole; etcd's request limit bounds them.
const CONFIG_DATA_LIMIT_BYTES: usize = 1024 * 1024;
/// A ConfigMap or Secret key becomes a file name, so it is held to a subdomain's length.
const CONFIG_KEY_LIMIT_CHARS: usize = 253;
/// IANA service names (RFC 6335) are at most 15 characters.
const PORT_NAME_LIMIT_CHARS: usize = 15;
/// A CronJob's Jobs are named `<name>-<11-character suffix>` and must stay DNS-1035 labels.
const CRONJOB_NAME_LIMIT_CHARS: usize = 52;
/// The largest TCP/UDP port number.
const PORT_MAX: i64 = 65535;
/// Events' short fields are indexed and displayed in tables; Kubernetes bounds them.
const EVENT_SHORT_FIELD_LIMIT_CHARS: usize = 128;
/// An event's note is for humans; Kubernetes bounds it to keep events cheap.
const EVENT_NOTE_LIMIT_CHARS: usize = 1024;
/// EndpointSlices are meant to stay small enough to watch cheaply.
const ENDPOINTSLICE_ENDPOINTS_LIMIT: usize = 1000;
/// One endpoint is one backend; its addresses are that backend's IPs.
const ENDPOINT_ADDRESSES_LIMIT: usize = 100;
/// Ports per EndpointSlice, as discovery/v1 validation bounds them.
const ENDPOINTSLICE_PORTS_LIMIT: usize = 20000;
/// StorageClass parameters are passed to provisioners verbatim; Kubernetes bounds them.
const STORAGECLASS_PARAMETERS_LIMIT_BYTES: usize = 256 * 1024;
/// The largest number of StorageClass parameters.
const STORAGECLASS_PARAMETERS_LIMIT_COUNT: usize = 512;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];
const VOLUME_MODES: &[&str] = &["Block", "Filesystem"];
const TAINT_EFFECTS: &[&str] = &["NoExecute", "NoSchedule", "PreferNoSchedule"];

/// Causes for a new object of `kind` (the apiVersion/kind strings, e.g.
/// `("apps/v1", "Deployment")`). Empty means valid.
pub fn validate_create(api_version: &str, kind: &str, object: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    validate_object_meta(api_version, kind, object, &mut causes);
    validate_kind(api_version, kind, object, &mut causes);
    causes
}

/// Causes for replacing `old` with `new`: the create rules plus the immutable fields of
/// Kubernetes' `ValidateXUpdate` functions.
pub fn validate_update(api_version: &str, kind: &str, new: &Value, old: &Value) -> Vec<Cause> {
    let mut causes = validate_create(api_version, kind, new);
    validate_object_meta_update(new, old, &mut causes);
    // Kubernetes compares defaulted objects; defaulting both sides keeps an update that
    // merely omits defaulted fields from reading as a change.
    let mut new = new.clone();
    let mut old = old.clone();
    crate::defaults::apply_defaults(api_version, kind, &mut new);
    crate::defaults::apply_defaults(api_version, kind, &mut old);
    validate_kind_update(api_version, kind, &new, &old, &mut causes);
    causes
}

fn validate_kind(api_version: &str, kind: &str, object: &Value, causes: &mut Vec<Cause>) {
    match (api_version, kind) {
        ("v1", "Namespace") => validate_namespace(object, causes),
        ("v1", "Pod") => validate_pod(object, causes),
        ("v1", "Node") => validate_node(object, causes),
        ("v1", "Service") => validate_service(object, causes),
        ("v1", "Endpoints") => validate_endpoints(object, causes),
        ("v1", "ConfigMap") => validate_config_map(object, causes),
        ("v1", "Secret") => validate_secret(object, causes),
        ("v1", "Event") => validate_event(object, causes),
        ("v1", "ServiceAccount") => validate_service_account(object, causes),
        ("v1", "PersistentVolume") => validate_persistent_volume(object, causes),
        ("v1", "PersistentVolumeClaim") => validate_persistent_volume_claim(object, causes),
        ("v1", "LimitRange") => validate_limit_range(object, causes),
        ("v1", "ResourceQuota") => validate_resource_quota(object, causes),
        ("apps/v1", "Deployment") => validate_deployment(object, causes),
        ("apps/v1", "ReplicaSet") => validate_replica_set(object, causes),
        ("apps/v1", "StatefulSet") => validate_stateful_set(object, causes),
        ("apps/v1", "DaemonSet") => validate_daemon_set(object, causes),
        ("apps/v1", "ControllerRevision") => validate_controller_revision(object, causes),
        ("batch/v1", "Job") => validate_job(object, causes),
        ("batch/v1", "CronJob") => validate_cron_job(object, causes),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => validate_hpa(object, causes),
        ("coordination.k8s.io/v1", "Lease") => validate_lease(object, causes),
        (RBAC_V1, "Role") => validate_role(object, true, causes),
        (RBAC_V1, "ClusterRole") => validate_role(object, false, causes),
        (RBAC_V1, "RoleBinding") => validate_role_binding(object, true, causes),
        (RBAC_V1, "ClusterRoleBinding") => validate_role_binding(object, false, causes),
        ("storage.k8s.io/v1", "StorageClass") => validate_storage_class(object, causes),
        ("discovery.k8s.io/v1", "EndpointSlice") => validate_endpoint_slice(object, causes),
        _ => {}
    }
}

const RBAC_V1: &str = "rbac.authorization.k8s.io/v1";

fn validate_kind_update(
    api_version: &str,
    kind: &str,
    new: &Value,
    old: &Value,
    causes: &mut Vec<Cause>,
) {
    match (api_version, kind) {
        ("v1", "Pod") => validate_pod_update(new, old, causes),
        ("v1", "Node") => validate_node_update(new, old, causes),
        ("v1", "Service") => validate_service_update(new, old, causes),
        ("v1", "ConfigMap") => validate_immutable_data(new, old, &["data", "binaryData"], causes),
        ("v1", "Secret") => validate_secret_update(new, old, causes),
        ("v1", "PersistentVolume") => validate_persistent_volume_update(new, old, causes),
        ("v1", "PersistentVolumeClaim") => validate_claim_update(new, old, causes),
        ("apps/v1", "Deployment" | "ReplicaSet" | "DaemonSet") => {
            validate_immutable(new, old, &["spec", "selector"], causes)
        }
        ("apps/v1", "StatefulSet") => validate_stateful_set_update(new, old, causes),
        ("apps/v1", "ControllerRevision") => validate_immutable(new, old, &["data"], causes),
        ("batch/v1", "Job") => validate_job_update(new, old, causes),
        (RBAC_V1, "RoleBinding" | "ClusterRoleBinding") => {
            validate_role_ref_update(new, old, causes)
        }
        ("storage.k8s.io/v1", "StorageClass") => validate_storage_class_update(new, old, causes),
        ("discovery.k8s.io/v1", "EndpointSlice") => {
            validate_immutable(new, old, &["addressType"], causes)
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Shared helpers: paths, typed reads, and apimachinery's small validators.

/// Reads `object` as `T`; a shape that does not fit (a string where a number belongs)
/// becomes one cause at the root, as a decode error would in kube-apiserver.
fn typed<T: DeserializeOwned>(object: &Value, causes: &mut Vec<Cause>) -> Option<T> {
    match T::deserialize(object) {
        Ok(value) => Some(value),
        Err(error) => {
            causes.push(Cause::invalid("", "<object>", &error.to_string()));
            None
        }
    }
}

fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn index(path: &str, position: usize) -> String {
    format!("{path}[{position}]")
}

fn key(path: &str, name: &str) -> String {
    format!("{path}[{name}]")
}

/// A string shown as apimachinery shows one in a message: Go-quoted.
fn quoted(text: &str) -> String {
    format!("{text:?}")
}

fn not_found(field: &str, value: &str) -> Cause {
    Cause {
        reason: "FieldValueNotFound".into(),
        message: format!("Not found: {}", quoted(value)),
        field: field.into(),
    }
}

fn too_many(field: &str, actual: usize, limit: usize) -> Cause {
    Cause {
        reason: "FieldValueTooMany".into(),
        message: format!("Too many: {actual}: must have at most {limit} items"),
        field: field.into(),
    }
}

/// Runs one of `selector`'s name checks and records its message as an Invalid cause.
fn check_name(
    path: &str,
    value: &str,
    check: fn(&str) -> Result<(), String>,
    causes: &mut Vec<Cause>,
) {
    if let Err(message) = check(value) {
        causes.push(Cause::invalid(path, &quoted(value), &message));
    }
}

fn require_name(path: &str, value: &str, check: NameCheck, causes: &mut Vec<Cause>) {
    if value.is_empty() {
        causes.push(Cause::required(path));
    } else {
        check_name(path, value, check, causes);
    }
}

type NameCheck = fn(&str) -> Result<(), String>;

fn nonnegative(path: &str, value: Option<i64>, causes: &mut Vec<Cause>) {
    if let Some(value) = value.filter(|value| *value < 0) {
        causes.push(Cause::invalid(
            path,
            &value.to_string(),
            "must be greater than or equal to 0",
        ));
    }
}

fn one_of(path: &str, value: Option<&str>, supported: &[&str], causes: &mut Vec<Cause>) {
    if let Some(value) = value.filter(|value| !supported.contains(value)) {
        causes.push(Cause::not_supported(path, &quoted(value), supported));
    }
}

/// apimachinery's `path.IsValidPathSegmentName`: the name becomes one URL path segment.
fn validate_path_segment_name(name: &str) -> Result<(), String> {
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
fn validate_qualified_name(name: &str) -> Result<(), String> {
    validate_label_key(name)
}

fn validate_port_number(path: &str, port: i64, causes: &mut Vec<Cause>) {
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

fn validate_port_name(path: &str, name: &str, causes: &mut Vec<Cause>) {
    for message in port_name_errors(name) {
        causes.push(Cause::invalid(path, &quoted(name), message));
    }
}

/// `ValidatePortNumOrName`: a number in range or an IANA service name.
fn validate_port_number_or_name(path: &str, port: &IntOrString, causes: &mut Vec<Cause>) {
    match port {
        IntOrString::Int(number) => validate_port_number(path, i64::from(*number), causes),
        IntOrString::String(name) if name.is_empty() => causes.push(Cause::required(path)),
        IntOrString::String(name) => validate_port_name(path, name, causes),
    }
}

fn int_or_string_text(value: &IntOrString) -> String {
    match value {
        IntOrString::Int(number) => number.to_string(),
        IntOrString::String(text) => quoted(text),
    }
}

fn validate_ip(path: &str, address: &str, causes: &mut Vec<Cause>) {
    if address.parse::<IpAddr>().is_err() {
        causes.push(Cause::invalid(
            path,
            &quoted(address),
            "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ));
    }
}

fn is_cidr(text: &str) -> bool {
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
fn validate_labels(path: &str, labels: Option<&BTreeMap<String, String>>, causes: &mut Vec<Cause>) {
    for (name, value) in labels.into_iter().flatten() {
        check_name(path, name, validate_label_key, causes);
        check_name(path, value, validate_label_value, causes);
    }
}

/// Parses a quantity, recording a parse error or a negative value at `path`.
fn nonnegative_quantity(
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
fn validate_immutable(new: &Value, old: &Value, fields: &[&str], causes: &mut Vec<Cause>) {
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

fn lookup<'a>(object: &'a Value, fields: &[&str]) -> Option<&'a Value> {
    fields
        .iter()
        .try_fold(object, |value, field| value.get(field))
        .filter(|value| !value.is_null())
}

// ---------------------------------------------------------------------------------------
// ObjectMeta (apimachinery's ValidateObjectMeta and ValidateObjectMetaUpdate).

/// Whether objects of a kind live in a namespace; unknown kinds are not checked.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Namespaced,
    Cluster,
    Unknown,
}

/// The name rule and scope of a kind, as its `ValidateXName` and REST storage define them.
fn kind_name_rule(api_version: &str, kind: &str) -> (NameCheck, Scope) {
    match (api_version, kind) {
        ("v1", "Namespace") => (validate_dns1123_label, Scope::Cluster),
        ("v1", "Service") => (validate_dns1035_label, Scope::Namespaced),
        ("v1", "Node") => (validate_dns1123_subdomain, Scope::Cluster),
        ("v1", "PersistentVolume") => (validate_path_segment_name, Scope::Cluster),
        ("storage.k8s.io/v1", "StorageClass") => (validate_dns1123_subdomain, Scope::Cluster),
        (RBAC_V1, "ClusterRole" | "ClusterRoleBinding") => {
            (validate_path_segment_name, Scope::Cluster)
        }
        (RBAC_V1, "Role" | "RoleBinding") => (validate_path_segment_name, Scope::Namespaced),
        (
            "v1",
            "Pod"
            | "Endpoints"
            | "ConfigMap"
            | "Secret"
            | "Event"
            | "ServiceAccount"
            | "PersistentVolumeClaim"
            | "LimitRange"
            | "ResourceQuota",
        )
        | ("apps/v1", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")
        | ("apps/v1", "ControllerRevision")
        | ("batch/v1", "Job" | "CronJob")
        | ("autoscaling/v2", "HorizontalPodAutoscaler")
        | ("coordination.k8s.io/v1", "Lease")
        | ("discovery.k8s.io/v1", "EndpointSlice") => {
            (validate_dns1123_subdomain, Scope::Namespaced)
        }
        _ => (validate_dns1123_subdomain, Scope::Unknown),
    }
}

fn read_meta(object: &Value, causes: &mut Vec<Cause>) -> Option<meta::ObjectMeta> {
    match object.get("metadata") {
        None | Some(Value::Null) => Some(meta::ObjectMeta::default()),
        Some(metadata) => typed(metadata, causes),
    }
}

fn validate_object_meta(api_version: &str, kind: &str, object: &Value, causes: &mut Vec<Cause>) {
    let Some(metadata) = read_meta(object, causes) else {
        return;
    };
    let (name_check, scope) = kind_name_rule(api_version, kind);
    let name = metadata.name.as_deref().unwrap_or_default();
    require_name("metadata.name", name, name_check, causes);
    if (api_version, kind) == ("batch/v1", "CronJob") && name.len() > CRONJOB_NAME_LIMIT_CHARS {
        causes.push(Cause::invalid(
            "metadata.name",
            &quoted(name),
            "must be no more than 52 characters",
        ));
    }
    let namespace = metadata.namespace.as_deref().unwrap_or_default();
    match scope {
        Scope::Namespaced if namespace.is_empty() => {
            causes.push(Cause::required("metadata.namespace"))
        }
        Scope::Cluster if !namespace.is_empty() => causes.push(Cause::forbidden(
            "metadata.namespace",
            "not allowed on this type",
        )),
        _ if !namespace.is_empty() => check_name(
            "metadata.namespace",
            namespace,
            validate_dns1123_label,
            causes,
        ),
        _ => {}
    }
    nonnegative("metadata.generation", metadata.generation, causes);
    validate_labels("metadata.labels", metadata.labels.as_ref(), causes);
    validate_annotations(
        "metadata.annotations",
        metadata.annotations.as_ref(),
        causes,
    );
    validate_owner_references(metadata.owner_references.as_deref(), causes);
    for finalizer in metadata.finalizers.iter().flatten() {
        check_name(
            "metadata.finalizers",
            finalizer,
            validate_qualified_name,
            causes,
        );
    }
}

fn validate_annotations(
    path: &str,
    annotations: Option<&BTreeMap<String, String>>,
    causes: &mut Vec<Cause>,
) {
    let mut total_bytes = 0usize;
    for (name, value) in annotations.into_iter().flatten() {
        check_name(path, &name.to_lowercase(), validate_qualified_name, causes);
        total_bytes = total_bytes.saturating_add(name.len() + value.len());
    }
    if total_bytes > ANNOTATIONS_LIMIT_BYTES {
        causes.push(Cause::too_long(path, ANNOTATIONS_LIMIT_BYTES));
    }
}

fn validate_owner_references(references: Option<&[meta::OwnerReference]>, causes: &mut Vec<Cause>) {
    let path = "metadata.ownerReferences";
    let mut controllers = Vec::new();
    for (position, reference) in references.into_iter().flatten().enumerate() {
        let entry = index(path, position);
        let checks = [
            (
                "apiVersion",
                &reference.api_version,
                "version must not be empty",
            ),
            ("kind", &reference.kind, "kind must not be empty"),
            ("name", &reference.name, "name must not be empty"),
            ("uid", &reference.uid, "uid must not be empty"),
        ];
        for (field, value, detail) in checks {
            if value.is_empty() {
                causes.push(Cause::invalid(&child(&entry, field), "\"\"", detail));
            }
        }
        if reference.controller == Some(true) {
            controllers.push(format!("{}/{}", reference.kind, reference.name));
        }
    }
    if controllers.len() > 1 {
        causes.push(Cause::invalid(
            path,
            "<ownerReferences>",
            &format!(
                "Only one reference can have Controller set to true. Found \"true\" in references for {}",
                controllers.join(" and ")
            ),
        ));
    }
}

fn validate_object_meta_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    for field in ["name", "namespace", "uid", "creationTimestamp"] {
        let path = ["metadata", field];
        let new_value = lookup(new, &path)
            .and_then(Value::as_str)
            .unwrap_or_default();
        let old_value = lookup(old, &path)
            .and_then(Value::as_str)
            .unwrap_or_default();
        // kube-apiserver copies an omitted uid or creationTimestamp from the stored object.
        let copied = matches!(field, "uid" | "creationTimestamp") && new_value.is_empty();
        if !copied && new_value != old_value {
            causes.push(Cause::invalid(
                &path.join("."),
                &quoted(new_value),
                "field is immutable",
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Pods (core/validation: ValidatePodSpec and its helpers).

fn validate_pod(object: &Value, causes: &mut Vec<Cause>) {
    let Some(pod) = typed::<core::Pod>(object, causes) else {
        return;
    };
    let spec = pod.spec.unwrap_or_default();
    validate_pod_spec(&spec, "spec", causes);
}

fn validate_pod_spec(spec: &core::PodSpec, path: &str, causes: &mut Vec<Cause>) {
    let volumes = validate_volumes(spec.volumes.as_deref(), &child(path, "volumes"), causes);
    let containers_path = child(path, "containers");
    if spec.containers.is_empty() {
        causes.push(Cause::required(&containers_path));
    }
    let mut names = BTreeSet::new();
    let init_path = child(path, "initContainers");
    for (position, container) in spec.init_containers.iter().flatten().enumerate() {
        let entry = index(&init_path, position);
        validate_container(container, &entry, &volumes, &mut names, causes);
        validate_init_container_probes(container, &entry, causes);
    }
    for (position, container) in spec.containers.iter().enumerate() {
        let entry = index(&containers_path, position);
        validate_container(container, &entry, &volumes, &mut names, causes);
    }
    let restart_policies = ["Always", "OnFailure", "Never"];
    let restart_policy = spec.restart_policy.as_deref();
    one_of(
        &child(path, "restartPolicy"),
        restart_policy,
        &restart_policies,
        causes,
    );
    let dns_policies = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
    one_of(
        &child(path, "dnsPolicy"),
        spec.dns_policy.as_deref(),
        &dns_policies,
        causes,
    );
    if spec.dns_policy.as_deref() == Some("None") && spec.dns_config.is_none() {
        causes.push(Cause {
            message: "Required value: must provide `dnsConfig` when `dnsPolicy` is None".into(),
            ..Cause::required(&child(path, "dnsConfig"))
        });
    }
    let grace_path = child(path, "terminationGracePeriodSeconds");
    nonnegative(&grace_path, spec.termination_grace_period_seconds, causes);
    if let Some(deadline) = spec.active_deadline_seconds {
        if !(1..=i64::from(i32::MAX)).contains(&deadline) {
            causes.push(Cause::invalid(
                &child(path, "activeDeadlineSeconds"),
                &deadline.to_string(),
                "must be between 1 and 2147483647, inclusive",
            ));
        }
    }
    validate_labels(
        &child(path, "nodeSelector"),
        spec.node_selector.as_ref(),
        causes,
    );
    validate_tolerations(
        spec.tolerations.as_deref(),
        &child(path, "tolerations"),
        causes,
    );
    validate_pod_names(spec, path, causes);
}

fn validate_pod_names(spec: &core::PodSpec, path: &str, causes: &mut Vec<Cause>) {
    let optional_names: [(&str, &Option<String>, NameCheck); 4] = [
        (
            "serviceAccountName",
            &spec.service_account_name,
            validate_dns1123_subdomain,
        ),
        ("hostname", &spec.hostname, validate_dns1123_label),
        ("subdomain", &spec.subdomain, validate_dns1123_label),
        ("nodeName", &spec.node_name, validate_dns1123_subdomain),
    ];
    for (field, value, check) in optional_names {
        if let Some(value) = value.as_deref().filter(|value| !value.is_empty()) {
            check_name(&child(path, field), value, check, causes);
        }
    }
}

/// Validates the volumes and returns their names, which volumeMounts must refer to.
fn validate_volumes(
    volumes: Option<&[core::Volume]>,
    path: &str,
    causes: &mut Vec<Cause>,
) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (position, volume) in volumes.into_iter().flatten().enumerate() {
        let entry = index(path, position);
        let name_path = child(&entry, "name");
        require_name(&name_path, &volume.name, validate_dns1123_label, causes);
        if !volume.name.is_empty() && !names.insert(volume.name.clone()) {
            causes.push(Cause::duplicate(&name_path, &quoted(&volume.name)));
        }
        let sources = serde_json::to_value(volume).unwrap_or_default();
        let source_names: Vec<&String> = sources
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(field, value)| field.as_str() != "name" && !value.is_null())
            .map(|(field, _)| field)
            .collect();
        // No source at all is defaulted to emptyDir, so only extra sources are rejected.
        if let Some(extra) = source_names.get(1) {
            causes.push(Cause::forbidden(
                &child(&entry, extra),
                "may not specify more than 1 volume type",
            ));
        }
        validate_volume_source(volume, &entry, causes);
    }
    names
}

fn validate_volume_source(volume: &core::Volume, path: &str, causes: &mut Vec<Cause>) {
    if let Some(secret) = &volume.secret {
        if secret.secret_name.as_deref().unwrap_or_default().is_empty() {
            causes.push(Cause::required(&child(path, "secret.secretName")));
        }
    }
    if let Some(config_map) = &volume.config_map {
        if config_map.name.is_empty() {
            causes.push(Cause::required(&child(path, "configMap.name")));
        }
    }
    if let Some(claim) = &volume.persistent_volume_claim {
        if claim.claim_name.is_empty() {
            causes.push(Cause::required(&child(
                path,
                "persistentVolumeClaim.claimName",
            )));
        }
    }
    if let Some(host_path) = &volume.host_path {
        if host_path.path.is_empty() {
            causes.push(Cause::required(&child(path, "hostPath.path")));
        }
    }
    if let Some(limit) = volume
        .empty_dir
        .as_ref()
        .and_then(|dir| dir.size_limit.as_ref())
    {
        nonnegative_quantity(&child(path, "emptyDir.sizeLimit"), limit, causes);
    }
}

fn validate_container(
    container: &core::Container,
    path: &str,
    volumes: &BTreeSet<String>,
    names: &mut BTreeSet<String>,
    causes: &mut Vec<Cause>,
) {
    let name_path = child(path, "name");
    require_name(&name_path, &container.name, validate_dns1123_label, causes);
    if !container.name.is_empty() && !names.insert(container.name.clone()) {
        causes.push(Cause::duplicate(&name_path, &quoted(&container.name)));
    }
    if container
        .image
        .as_deref()
        .unwrap_or_default()
        .trim()
        .is_empty()
    {
        causes.push(Cause::required(&child(path, "image")));
    }
    let pull_policies = ["Always", "IfNotPresent", "Never"];
    let pull_policy = container.image_pull_policy.as_deref();
    one_of(
        &child(path, "imagePullPolicy"),
        pull_policy,
        &pull_policies,
        causes,
    );
    let message_policies = ["File", "FallbackToLogsOnError"];
    let message_policy = container.termination_message_policy.as_deref();
    one_of(
        &child(path, "terminationMessagePolicy"),
        message_policy,
        &message_policies,
        causes,
    );
    validate_container_ports(container.ports.as_deref(), &child(path, "ports"), causes);
    validate_env(container.env.as_deref(), &child(path, "env"), causes);
    if let Some(resources) = &container.resources {
        validate_resource_requirements(resources, &child(path, "resources"), causes);
    }
    let mounts = container.volume_mounts.as_deref();
    validate_volume_mounts(mounts, volumes, &child(path, "volumeMounts"), causes);
    validate_container_probes(container, path, causes);
}

fn validate_container_ports(
    ports: Option<&[core::ContainerPort]>,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    let mut names = BTreeSet::new();
    for (position, port) in ports.into_iter().flatten().enumerate() {
        let entry = index(path, position);
        if let Some(name) = port.name.as_deref().filter(|name| !name.is_empty()) {
            let name_path = child(&entry, "name");
            validate_port_name(&name_path, name, causes);
            if !names.insert(name.to_string()) {
                causes.push(Cause::duplicate(&name_path, &quoted(name)));
            }
        }
        let container_port = i64::from(port.container_port);
        validate_port_number(&child(&entry, "containerPort"), container_port, causes);
        if let Some(host_port) = port.host_port.filter(|host_port| *host_port != 0) {
            validate_port_number(&child(&entry, "hostPort"), i64::from(host_port), causes);
        }
        one_of(
            &child(&entry, "protocol"),
            port.protocol.as_deref(),
            PROTOCOLS,
            causes,
        );
    }
}

/// Kubernetes 1.33 enables RelaxedEnvironmentVariableValidation: any printable ASCII but '='.
fn validate_env(env: Option<&[core::EnvVar]>, path: &str, causes: &mut Vec<Cause>) {
    for (position, variable) in env.into_iter().flatten().enumerate() {
        let entry = index(path, position);
        let name_path = child(&entry, "name");
        if variable.name.is_empty() {
            causes.push(Cause::required(&name_path));
        } else if !variable
            .name
            .bytes()
            .all(|byte| (32..=126).contains(&byte) && byte != b'=')
        {
            causes.push(Cause::invalid(
                &name_path,
                &quoted(&variable.name),
                "a valid environment variable name must consist only of printable ASCII characters other than '='",
            ));
        }
        let Some(source) = &variable.value_from else {
            continue;
        };
        let from_path = child(&entry, "valueFrom");
        let count = [
            source.field_ref.is_some(),
            source.resource_field_ref.is_some(),
            source.config_map_key_ref.is_some(),
            source.secret_key_ref.is_some(),
        ]
        .into_iter()
        .filter(|present| *present)
        .count();
        let detail = match count {
            0 => Some("must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"),
            1 => None,
            _ => Some("may not have more than one field specified at a time"),
        };
        if let Some(detail) = detail {
            causes.push(Cause::invalid(&from_path, "\"\"", detail));
        }
        if count != 0 && !variable.value.as_deref().unwrap_or_default().is_empty() {
            causes.push(Cause::invalid(
                &from_path,
                "\"\"",
                "may not be specified when `value` is not empty",
            ));
        }
    }
}

/// Resources that may not be overcommitted (extended resources, hugepages) need
/// requests equal to limits; Kubernetes' `IsOvercommitAllowed`.
fn overcommit_allowed(resource: &str) -> bool {
    let native = match resource.split_once('/') {
        None => true,
        Some((domain, _)) => domain == "kubernetes.io" || domain.ends_with(".kubernetes.io"),
    };
    native && !resource.starts_with("hugepages-")
}

fn validate_container_resource_name(path: &str, resource: &str, causes: &mut Vec<Cause>) {
    let standard = ["cpu", "memory", "ephemeral-storage"].contains(&resource)
        || resource.starts_with("hugepages-");
    if resource.contains('/') {
        check_name(path, resource, validate_qualified_name, causes);
    } else if !standard {
        causes.push(Cause::invalid(
            path,
            &quoted(resource),
            "must be a standard resource for containers",
        ));
    }
}

fn validate_resource_requirements(
    resources: &core::ResourceRequirements,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    let limits_path = child(path, "limits");
    let requests_path = child(path, "requests");
    let mut limits = BTreeMap::new();
    for (resource, quantity) in resources.limits.iter().flatten() {
        let entry = key(&limits_path, resource);
        validate_container_resource_name(&entry, resource, causes);
        if let Some(parsed) = nonnegative_quantity(&entry, quantity, causes) {
            limits.insert(resource.as_str(), (parsed, quantity.0.as_str()));
        }
    }
    for (resource, quantity) in resources.requests.iter().flatten() {
        let entry = key(&requests_path, resource);
        validate_container_resource_name(&entry, resource, causes);
        let Some(request) = nonnegative_quantity(&entry, quantity, causes) else {
            continue;
        };
        let shown = quoted(&quantity.0);
        match limits.get(resource.as_str()) {
            Some((limit, text)) if request != *limit && !overcommit_allowed(resource) => {
                let detail = format!("must be equal to {resource} limit of {text}");
                causes.push(Cause::invalid(&requests_path, &shown, &detail));
            }
            Some((limit, text)) if request > *limit => {
                let detail = format!("must be less than or equal to {resource} limit of {text}");
                causes.push(Cause::invalid(&requests_path, &shown, &detail));
            }
            None if !overcommit_allowed(resource) => causes.push(Cause {
                message: "Required value: Limit must be set for non overcommitable resources"
                    .into(),
                ..Cause::required(&limits_path)
            }),
            _ => {}
        }
    }
}

fn validate_volume_mounts(
    mounts: Option<&[core::VolumeMount]>,
    volumes: &BTreeSet<String>,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    let mut mount_paths = BTreeSet::new();
    for (position, mount) in mounts.into_iter().flatten().enumerate() {
        let entry = index(path, position);
        let name_path = child(&entry, "name");
        if mount.name.is_empty() {
            causes.push(Cause::required(&name_path));
        } else if !volumes.contains(&mount.name) {
            causes.push(not_found(&name_path, &mount.name));
        }
        let mount_path = child(&entry, "mountPath");
        if mount.mount_path.is_empty() {
            causes.push(Cause::required(&mount_path));
        } else if !mount_paths.insert(mount.mount_path.clone()) {
            causes.push(Cause::invalid(
                &mount_path,
                &quoted(&mount.mount_path),
                "must be unique",
            ));
        }
        let sub_path = mount.sub_path.as_deref().unwrap_or_default();
        if sub_path.starts_with('/') || sub_path.split('/').any(|part| part == "..") {
            causes.push(Cause::invalid(
                &child(&entry, "subPath"),
                &quoted(sub_path),
                "must be a relative path without '..'",
            ));
        }
    }
}

fn validate_container_probes(container: &core::Container, path: &str, causes: &mut Vec<Cause>) {
    let probes = [
        ("livenessProbe", &container.liveness_probe),
        ("readinessProbe", &container.readiness_probe),
        ("startupProbe", &container.startup_probe),
    ];
    for (field, probe) in probes {
        let Some(probe) = probe else {
            continue;
        };
        let probe_path = child(path, field);
        validate_probe(probe, &probe_path, causes);
        let threshold = probe.success_threshold;
        if field != "readinessProbe" && threshold.is_some_and(|threshold| threshold != 1) {
            causes.push(Cause::invalid(
                &child(&probe_path, "successThreshold"),
                &threshold.unwrap_or_default().to_string(),
                "must be 1",
            ));
        }
        if field == "readinessProbe" && probe.termination_grace_period_seconds.is_some() {
            causes.push(Cause::invalid(
                &child(&probe_path, "terminationGracePeriodSeconds"),
                &probe
                    .termination_grace_period_seconds
                    .unwrap_or_default()
                    .to_string(),
                "must not be set for readinessProbes",
            ));
        }
    }
}

/// Only sidecars (init containers with restartPolicy Always) may carry probes.
fn validate_init_container_probes(
    container: &core::Container,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    if container.restart_policy.as_deref() == Some("Always") {
        return;
    }
    one_of(
        &child(path, "restartPolicy"),
        container.restart_policy.as_deref(),
        &["Always"],
        causes,
    );
    let probes = [
        ("livenessProbe", container.liveness_probe.is_some()),
        ("readinessProbe", container.readiness_probe.is_some()),
        ("startupProbe", container.startup_probe.is_some()),
    ];
    for (field, present) in probes {
        if present {
            causes.push(Cause::forbidden(
                &child(path, field),
                "may not be set for init containers without restartPolicy=Always",
            ));
        }
    }
}

fn validate_probe(probe: &core::Probe, path: &str, causes: &mut Vec<Cause>) {
    let handlers = [
        ("exec", probe.exec.is_some()),
        ("httpGet", probe.http_get.is_some()),
        ("tcpSocket", probe.tcp_socket.is_some()),
        ("grpc", probe.grpc.is_some()),
    ];
    let present: Vec<&str> = handlers
        .iter()
        .filter(|(_, present)| *present)
        .map(|(name, _)| *name)
        .collect();
    match present.as_slice() {
        [] => causes.push(Cause {
            message: "Required value: must specify a handler type".into(),
            ..Cause::required(path)
        }),
        [_] => {}
        [_, extra, ..] => causes.push(Cause::forbidden(
            &child(path, extra),
            "may not specify more than 1 handler type",
        )),
    }
    validate_probe_handlers(probe, path, causes);
    let counters = [
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("periodSeconds", probe.period_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ];
    for (field, value) in counters {
        nonnegative(&child(path, field), value.map(i64::from), causes);
    }
    if let Some(grace) = probe
        .termination_grace_period_seconds
        .filter(|grace| *grace <= 0)
    {
        causes.push(Cause::invalid(
            &child(path, "terminationGracePeriodSeconds"),
            &grace.to_string(),
            "must be greater than 0",
        ));
    }
}

fn validate_probe_handlers(probe: &core::Probe, path: &str, causes: &mut Vec<Cause>) {
    if let Some(exec) = &probe.exec {
        if exec.command.as_ref().is_none_or(Vec::is_empty) {
            causes.push(Cause::required(&child(path, "exec.command")));
        }
    }
    if let Some(http_get) = &probe.http_get {
        validate_port_number_or_name(&child(path, "httpGet.port"), &http_get.port, causes);
        let scheme = http_get.scheme.as_deref();
        one_of(
            &child(path, "httpGet.scheme"),
            scheme,
            &["HTTP", "HTTPS"],
            causes,
        );
    }
    if let Some(tcp_socket) = &probe.tcp_socket {
        validate_port_number_or_name(&child(path, "tcpSocket.port"), &tcp_socket.port, causes);
    }
    if let Some(grpc) = &probe.grpc {
        validate_port_number(&child(path, "grpc.port"), i64::from(grpc.port), causes);
    }
}

fn validate_tolerations(
    tolerations: Option<&[core::Toleration]>,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    for (position, toleration) in tolerations.into_iter().flatten().enumerate() {
        let entry = index(path, position);
        let toleration_key = toleration.key.as_deref().unwrap_or_default();
        let operator = toleration.operator.as_deref().unwrap_or_default();
        let value = toleration.value.as_deref().unwrap_or_default();
        let effect = toleration.effect.as_deref().unwrap_or_default();
        let operator_path = child(&entry, "operator");
        if !toleration_key.is_empty() {
            check_name(
                &child(&entry, "key"),
                toleration_key,
                validate_label_key,
                causes,
            );
        } else if operator != "Exists" {
            causes.push(Cause::invalid(
                &operator_path,
                &quoted(operator),
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if toleration.toleration_seconds.is_some() && effect != "NoExecute" {
            causes.push(Cause::invalid(
                &child(&entry, "effect"),
                &quoted(effect),
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match operator {
            "" | "Equal" => check_name(&operator_path, value, validate_label_value, causes),
            "Exists" if !value.is_empty() => causes.push(Cause::invalid(
                &operator_path,
                &quoted(value),
                "value must be empty when `operator` is 'Exists'",
            )),
            "Exists" => {}
            other => causes.push(Cause::not_supported(
                &operator_path,
                &quoted(other),
                &["Equal", "Exists"],
            )),
        }
        if !effect.is_empty() {
            one_of(
                &child(&entry, "effect"),
                Some(effect),
                TAINT_EFFECTS,
                causes,
            );
        }
    }
}

/// `ValidatePodUpdate`: after the mutable fields are copied from the old spec, nothing
/// else in the spec may differ.
fn validate_pod_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let (Some(new_spec), Some(old_spec)) = (new.get("spec"), old.get("spec")) else {
        return;
    };
    let mut munged = new_spec.clone();
    for list in ["containers", "initContainers"] {
        copy_container_images(&mut munged, old_spec, list);
    }
    validate_active_deadline_update(new_spec, old_spec, causes);
    validate_tolerations_update(new_spec, old_spec, causes);
    for field in [
        "activeDeadlineSeconds",
        "tolerations",
        "terminationGracePeriodSeconds",
    ] {
        set_or_remove(&mut munged, field, old_spec.get(field));
    }
    if &munged != old_spec {
        causes.push(Cause::forbidden(
            "spec",
            "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
        ));
    }
}

fn set_or_remove(object: &mut Value, field: &str, value: Option<&Value>) {
    if let Some(fields) = object.as_object_mut() {
        match value {
            Some(value) => fields.insert(field.to_string(), value.clone()),
            None => fields.remove(field),
        };
    }
}

fn copy_container_images(munged: &mut Value, old_spec: &Value, list: &str) {
    let old_containers = old_spec.get(list).and_then(Value::as_array);
    let new_containers = munged.get_mut(list).and_then(Value::as_array_mut);
    let (Some(old_containers), Some(new_containers)) = (old_containers, new_containers) else {
        return;
    };
    if old_containers.len() != new_containers.len() {
        return;
    }
    for (new_container, old_container) in new_containers.iter_mut().zip(old_containers) {
        set_or_remove(new_container, "image", old_container.get("image"));
    }
}

fn validate_active_deadline_update(new_spec: &Value, old_spec: &Value, causes: &mut Vec<Cause>) {
    let path = "spec.activeDeadlineSeconds";
    let new_deadline = new_spec
        .get("activeDeadlineSeconds")
        .and_then(Value::as_i64);
    let old_deadline = old_spec
        .get("activeDeadlineSeconds")
        .and_then(Value::as_i64);
    match (new_deadline, old_deadline) {
        (None, Some(_)) => causes.push(Cause::invalid(
            path,
            "null",
            "must not update from a positive integer to nil value",
        )),
        (Some(new_deadline), Some(old_deadline)) if new_deadline > old_deadline => {
            causes.push(Cause::invalid(
                path,
                &new_deadline.to_string(),
                "must be less than or equal to previous value",
            ))
        }
        _ => {}
    }
}

/// Existing tolerations may not be removed or changed, except their tolerationSeconds.
fn validate_tolerations_update(new_spec: &Value, old_spec: &Value, causes: &mut Vec<Cause>) {
    let without_seconds = |toleration: &Value| {
        let mut toleration = toleration.clone();
        set_or_remove(&mut toleration, "tolerationSeconds", None);
        toleration
    };
    let new_tolerations: Vec<Value> = new_spec
        .get("tolerations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(without_seconds)
        .collect();
    let old_tolerations = old_spec.get("tolerations").and_then(Value::as_array);
    for (position, toleration) in old_tolerations.into_iter().flatten().enumerate() {
        if !new_tolerations.contains(&without_seconds(toleration)) {
            causes.push(Cause::forbidden(
                &index("spec.tolerations", position),
                "existing toleration can not be modified except its tolerationSeconds",
            ));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Workloads (apps/validation and batch/validation).

/// `ValidateLabelSelector`: matchLabels are labels, matchExpressions well-formed.
fn validate_label_selector(selector: &meta::LabelSelector, path: &str, causes: &mut Vec<Cause>) {
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

/// What a controller's spec says about its pods, shared by the workload kinds.
struct PodController<'a> {
    /// The word in "empty selector is invalid for ..." (Kubernetes names the kind).
    noun: &'a str,
    /// The restart policies the controller's pods may use.
    restart_policies: &'a [&'a str],
}

/// `ValidateNonEmptySelector` plus `ValidatePodTemplateSpecForReplicaSet`: the selector
/// is present and non-empty, and the template's labels satisfy it.
fn validate_controller_pods(
    spec_value: Option<&Value>,
    selector: Option<&meta::LabelSelector>,
    template: Option<&core::PodTemplateSpec>,
    controller: &PodController,
    causes: &mut Vec<Cause>,
) {
    let selector_present = spec_value
        .and_then(|spec| spec.get("selector"))
        .is_some_and(|selector| !selector.is_null());
    match selector {
        Some(selector) if selector_present => {
            validate_label_selector(selector, "spec.selector", causes);
            let empty = selector
                .match_labels
                .as_ref()
                .is_none_or(BTreeMap::is_empty)
                && selector
                    .match_expressions
                    .as_ref()
                    .is_none_or(Vec::is_empty);
            if empty {
                causes.push(Cause::invalid(
                    "spec.selector",
                    "{}",
                    &format!("empty selector is invalid for {}", controller.noun),
                ));
            }
        }
        _ => causes.push(Cause::required("spec.selector")),
    }
    let Some(template) = template else {
        causes.push(Cause::required("spec.template"));
        return;
    };
    if let Some(selector) = selector.filter(|_| selector_present) {
        validate_template_matches(selector, template, "spec.template", causes);
    }
    validate_pod_template(
        template,
        "spec.template",
        controller.restart_policies,
        causes,
    );
}

fn validate_template_matches(
    selector: &meta::LabelSelector,
    template: &core::PodTemplateSpec,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    let labels = template
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.labels.clone())
        .unwrap_or_default();
    if let Ok(parsed) = LabelSelector::from_api(selector) {
        if !parsed.matches(&labels) {
            causes.push(Cause::invalid(
                &child(path, "metadata.labels"),
                &format!("{labels:?}"),
                "`selector` does not match template `labels`",
            ));
        }
    }
}

/// `ValidatePodTemplateSpec` with the controller's restart policy; an absent policy is
/// the default, Always.
fn validate_pod_template(
    template: &core::PodTemplateSpec,
    path: &str,
    restart_policies: &[&str],
    causes: &mut Vec<Cause>,
) {
    if let Some(metadata) = &template.metadata {
        let metadata_path = child(path, "metadata");
        validate_labels(
            &child(&metadata_path, "labels"),
            metadata.labels.as_ref(),
            causes,
        );
        let annotations = metadata.annotations.as_ref();
        validate_annotations(&child(&metadata_path, "annotations"), annotations, causes);
    }
    let spec = template.spec.clone().unwrap_or_default();
    let spec_path = child(path, "spec");
    validate_pod_spec(&spec, &spec_path, causes);
    let restart_policy = spec.restart_policy.as_deref().unwrap_or("Always");
    let restart_path = child(&spec_path, "restartPolicy");
    // The pod-level check already rejects values outside Always/OnFailure/Never.
    if ["Always", "OnFailure", "Never"].contains(&restart_policy) {
        one_of(
            &restart_path,
            Some(restart_policy),
            restart_policies,
            causes,
        );
    }
    if restart_policies == ["Always"] && spec.active_deadline_seconds.is_some() {
        causes.push(Cause::forbidden(
            &child(&spec_path, "activeDeadlineSeconds"),
            "activeDeadlineSeconds in ReplicaSet is not Supported",
        ));
    }
}

const LONG_RUNNING: PodController<'static> = PodController {
    noun: "deployment",
    restart_policies: &["Always"],
};

fn validate_deployment(object: &Value, causes: &mut Vec<Cause>) {
    let Some(deployment) = typed::<apps::Deployment>(object, causes) else {
        return;
    };
    let spec = deployment.spec.unwrap_or_default();
    let spec_value = object.get("spec");
    validate_controller_pods(
        spec_value,
        Some(&spec.selector),
        Some(&spec.template),
        &LONG_RUNNING,
        causes,
    );
    nonnegative("spec.replicas", spec.replicas.map(i64::from), causes);
    nonnegative(
        "spec.minReadySeconds",
        spec.min_ready_seconds.map(i64::from),
        causes,
    );
    nonnegative(
        "spec.revisionHistoryLimit",
        spec.revision_history_limit.map(i64::from),
        causes,
    );
    if let Some(deadline) = spec.progress_deadline_seconds {
        nonnegative(
            "spec.progressDeadlineSeconds",
            Some(i64::from(deadline)),
            causes,
        );
        if deadline <= spec.min_ready_seconds.unwrap_or_default() {
            causes.push(Cause::invalid(
                "spec.progressDeadlineSeconds",
                &deadline.to_string(),
                "must be greater than minReadySeconds",
            ));
        }
    }
    if let Some(strategy) = &spec.strategy {
        validate_deployment_strategy(strategy, causes);
    }
}

fn validate_deployment_strategy(strategy: &apps::DeploymentStrategy, causes: &mut Vec<Cause>) {
    let strategy_type = strategy.type_.as_deref();
    one_of(
        "spec.strategy.type",
        strategy_type,
        &["Recreate", "RollingUpdate"],
        causes,
    );
    let Some(rolling) = &strategy.rolling_update else {
        return;
    };
    if strategy_type == Some("Recreate") {
        causes.push(Cause::forbidden(
            "spec.strategy.rollingUpdate",
            "may not be specified when strategy `type` is 'Recreate'",
        ));
    }
    let base = "spec.strategy.rollingUpdate";
    validate_surge_and_unavailable(
        base,
        rolling.max_surge.as_ref(),
        rolling.max_unavailable.as_ref(),
        causes,
    );
}

/// `ValidateRollingUpdateDeployment` (also used by DaemonSets): both are non-negative
/// ints or percents, maxUnavailable ≤ 100%, and not both zero. An absent value is the
/// default (25% or 1), never zero.
fn validate_surge_and_unavailable(
    path: &str,
    surge: Option<&IntOrString>,
    unavailable: Option<&IntOrString>,
    causes: &mut Vec<Cause>,
) {
    let surge_path = child(path, "maxSurge");
    let unavailable_path = child(path, "maxUnavailable");
    let surge_value = surge.map(|surge| validate_int_or_percent(&surge_path, surge, causes));
    let unavailable_value = unavailable
        .map(|unavailable| validate_int_or_percent(&unavailable_path, unavailable, causes));
    if let (Some(unavailable), Some((value, true))) = (unavailable, unavailable_value) {
        if value > 100 {
            causes.push(Cause::invalid(
                &unavailable_path,
                &int_or_string_text(unavailable),
                "must not be greater than 100%",
            ));
        }
    }
    if let (Some((0, _)), Some((0, _)), Some(unavailable)) =
        (surge_value, unavailable_value, unavailable)
    {
        causes.push(Cause::invalid(
            &unavailable_path,
            &int_or_string_text(unavailable),
            "may not be 0 when `maxSurge` is 0",
        ));
    }
}

/// `ValidatePositiveIntOrPercent`; returns the number and whether it was a percent.
fn validate_int_or_percent(
    path: &str,
    value: &IntOrString,
    causes: &mut Vec<Cause>,
) -> (i64, bool) {
    match value {
        IntOrString::Int(number) => {
            nonnegative(path, Some(i64::from(*number)), causes);
            (i64::from(*number), false)
        }
        IntOrString::String(text) => {
            let digits = text.strip_suffix('%').unwrap_or_default();
            match digits.parse::<i64>() {
                Ok(percent) if digits.bytes().all(|byte| byte.is_ascii_digit()) => (percent, true),
                _ => {
                    causes.push(Cause::invalid(
                        path,
                        &quoted(text),
                        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                    ));
                    (-1, true)
                }
            }
        }
    }
}

fn validate_replica_set(object: &Value, causes: &mut Vec<Cause>) {
    let Some(replica_set) = typed::<apps::ReplicaSet>(object, causes) else {
        return;
    };
    let spec = replica_set.spec.unwrap_or_default();
    let controller = PodController {
        noun: "deployment",
        ..LONG_RUNNING
    };
    let spec_value = object.get("spec");
    validate_controller_pods(
        spec_value,
        Some(&spec.selector),
        spec.template.as_ref(),
        &controller,
        causes,
    );
    nonnegative("spec.replicas", spec.replicas.map(i64::from), causes);
    nonnegative(
        "spec.minReadySeconds",
        spec.min_ready_seconds.map(i64::from),
        causes,
    );
}

fn validate_stateful_set(object: &Value, causes: &mut Vec<Cause>) {
    let Some(stateful_set) = typed::<apps::StatefulSet>(object, causes) else {
        return;
    };
    let spec = stateful_set.spec.unwrap_or_default();
    let controller = PodController {
        noun: "statefulset",
        ..LONG_RUNNING
    };
    let spec_value = object.get("spec");
    let template = with_claim_volumes(&spec);
    validate_controller_pods(
        spec_value,
        Some(&spec.selector),
        Some(&template),
        &controller,
        causes,
    );
    nonnegative("spec.replicas", spec.replicas.map(i64::from), causes);
    nonnegative(
        "spec.minReadySeconds",
        spec.min_ready_seconds.map(i64::from),
        causes,
    );
    if let Some(service_name) = spec.service_name.as_deref().filter(|name| !name.is_empty()) {
        check_name(
            "spec.serviceName",
            service_name,
            validate_dns1123_label,
            causes,
        );
    }
    let policies = ["OrderedReady", "Parallel"];
    one_of(
        "spec.podManagementPolicy",
        spec.pod_management_policy.as_deref(),
        &policies,
        causes,
    );
    if let Some(strategy) = &spec.update_strategy {
        validate_stateful_set_strategy(strategy, causes);
    }
    let templates_path = "spec.volumeClaimTemplates";
    for (position, claim) in spec.volume_claim_templates.iter().flatten().enumerate() {
        let entry = index(templates_path, position);
        let name = claim.metadata.name.as_deref().unwrap_or_default();
        require_name(
            &child(&entry, "metadata.name"),
            name,
            validate_dns1123_subdomain,
            causes,
        );
    }
}

/// The template as the StatefulSet controller stamps it out: each volumeClaimTemplate
/// becomes a volume of the same name, which the containers may mount.
fn with_claim_volumes(spec: &apps::StatefulSetSpec) -> core::PodTemplateSpec {
    let mut template = spec.template.clone();
    let pod_spec = template.spec.get_or_insert_with(Default::default);
    let volumes = pod_spec.volumes.get_or_insert_with(Vec::new);
    for claim in spec.volume_claim_templates.iter().flatten() {
        let name = claim.metadata.name.clone().unwrap_or_default();
        if name.is_empty() || volumes.iter().any(|volume| volume.name == name) {
            continue;
        }
        volumes.push(core::Volume {
            name: name.clone(),
            persistent_volume_claim: Some(core::PersistentVolumeClaimVolumeSource {
                claim_name: name,
                read_only: None,
            }),
            ..Default::default()
        });
    }
    template
}

fn validate_stateful_set_strategy(
    strategy: &apps::StatefulSetUpdateStrategy,
    causes: &mut Vec<Cause>,
) {
    let strategy_type = strategy.type_.as_deref();
    one_of(
        "spec.updateStrategy.type",
        strategy_type,
        &["OnDelete", "RollingUpdate"],
        causes,
    );
    if strategy_type == Some("OnDelete") && strategy.rolling_update.is_some() {
        causes.push(Cause::forbidden(
            "spec.updateStrategy.rollingUpdate",
            "only allowed for updateStrategy 'RollingUpdate'",
        ));
    }
    let partition = strategy
        .rolling_update
        .as_ref()
        .and_then(|rolling| rolling.partition);
    nonnegative(
        "spec.updateStrategy.rollingUpdate.partition",
        partition.map(i64::from),
        causes,
    );
}

fn validate_stateful_set_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let (Some(new_spec), Some(old_spec)) = (new.get("spec"), old.get("spec")) else {
        return;
    };
    let mut munged = new_spec.clone();
    let mutable = [
        "replicas",
        "ordinals",
        "template",
        "updateStrategy",
        "minReadySeconds",
        "revisionHistoryLimit",
        "persistentVolumeClaimRetentionPolicy",
    ];
    for field in mutable {
        set_or_remove(&mut munged, field, old_spec.get(field));
    }
    if &munged != old_spec {
        causes.push(Cause::forbidden(
            "spec",
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ));
    }
}

fn validate_daemon_set(object: &Value, causes: &mut Vec<Cause>) {
    let Some(daemon_set) = typed::<apps::DaemonSet>(object, causes) else {
        return;
    };
    let spec = daemon_set.spec.unwrap_or_default();
    let controller = PodController {
        noun: "daemonset",
        ..LONG_RUNNING
    };
    let spec_value = object.get("spec");
    validate_controller_pods(
        spec_value,
        Some(&spec.selector),
        Some(&spec.template),
        &controller,
        causes,
    );
    nonnegative(
        "spec.minReadySeconds",
        spec.min_ready_seconds.map(i64::from),
        causes,
    );
    nonnegative(
        "spec.revisionHistoryLimit",
        spec.revision_history_limit.map(i64::from),
        causes,
    );
    let Some(strategy) = &spec.update_strategy else {
        return;
    };
    let strategy_type = strategy.type_.as_deref();
    one_of(
        "spec.updateStrategy.type",
        strategy_type,
        &["OnDelete", "RollingUpdate"],
        causes,
    );
    if let Some(rolling) = &strategy.rolling_update {
        let base = "spec.updateStrategy.rollingUpdate";
        validate_surge_and_unavailable(
            base,
            rolling.max_surge.as_ref(),
            rolling.max_unavailable.as_ref(),
            causes,
        );
    }
}

fn validate_controller_revision(object: &Value, causes: &mut Vec<Cause>) {
    let Some(revision) = typed::<apps::ControllerRevision>(object, causes) else {
        return;
    };
    if revision.data.is_none() {
        causes.push(Cause {
            message: "Required value: data is mandatory".into(),
            ..Cause::required("data")
        });
    }
    nonnegative("revision", Some(revision.revision), causes);
}

const JOB_RESTART_POLICIES: &[&str] = &["OnFailure", "Never"];

fn validate_job(object: &Value, causes: &mut Vec<Cause>) {
    let Some(job) = typed::<batch::Job>(object, causes) else {
        return;
    };
    let spec = job.spec.unwrap_or_default();
    // Without manualSelector, kube-apiserver generates the selector from the Job's uid
    // while validating, so an absent one is not an error.
    if let Some(selector) = &spec.selector {
        validate_label_selector(selector, "spec.selector", causes);
        validate_template_matches(selector, &spec.template, "spec.template", causes);
    } else if spec.manual_selector == Some(true) {
        causes.push(Cause::required("spec.selector"));
    }
    validate_job_spec(&spec, "spec", causes);
}

fn validate_job_spec(spec: &batch::JobSpec, path: &str, causes: &mut Vec<Cause>) {
    let counters = [
        ("parallelism", spec.parallelism.map(i64::from)),
        ("completions", spec.completions.map(i64::from)),
        ("activeDeadlineSeconds", spec.active_deadline_seconds),
        ("backoffLimit", spec.backoff_limit.map(i64::from)),
        (
            "ttlSecondsAfterFinished",
            spec.ttl_seconds_after_finished.map(i64::from),
        ),
    ];
    for (field, value) in counters {
        nonnegative(&child(path, field), value, causes);
    }
    let modes = ["NonIndexed", "Indexed"];
    let mode_path = child(path, "completionMode");
    one_of(&mode_path, spec.completion_mode.as_deref(), &modes, causes);
    if spec.completion_mode.as_deref() == Some("Indexed") && spec.completions.is_none() {
        causes.push(Cause {
            message: "Required value: when completion mode is Indexed".into(),
            ..Cause::required(&child(path, "completions"))
        });
    }
    let replacement = spec.pod_replacement_policy.as_deref();
    let replacement_path = child(path, "podReplacementPolicy");
    one_of(
        &replacement_path,
        replacement,
        &["Failed", "TerminatingOrFailed"],
        causes,
    );
    let template_path = child(path, "template");
    validate_pod_template(&spec.template, &template_path, JOB_RESTART_POLICIES, causes);
}

/// `ValidateJobSpecUpdate`: the selector and the pod template are fixed once created.
fn validate_job_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    validate_immutable(new, old, &["spec", "selector"], causes);
    validate_immutable(new, old, &["spec", "template"], causes);
    validate_immutable(new, old, &["spec", "completionMode"], causes);
}

fn validate_cron_job(object: &Value, causes: &mut Vec<Cause>) {
    let Some(cron_job) = typed::<batch::CronJob>(object, causes) else {
        return;
    };
    let spec = cron_job.spec.unwrap_or_default();
    if spec.schedule.is_empty() {
        causes.push(Cause::required("spec.schedule"));
    } else if spec.schedule.contains("TZ") {
        let detail = if spec.time_zone.is_some() {
            "cannot use both timeZone field and TZ or CRON_TZ in schedule"
        } else {
            "cannot use TZ or CRON_TZ in schedule, use timeZone field instead"
        };
        causes.push(Cause::invalid(
            "spec.schedule",
            &quoted(&spec.schedule),
            detail,
        ));
    } else if let Err(detail) = parse_cron_schedule(&spec.schedule) {
        causes.push(Cause::invalid(
            "spec.schedule",
            &quoted(&spec.schedule),
            &detail,
        ));
    }
    let policies = ["Allow", "Forbid", "Replace"];
    one_of(
        "spec.concurrencyPolicy",
        spec.concurrency_policy.as_deref(),
        &policies,
        causes,
    );
    let counters = [
        (
            "spec.startingDeadlineSeconds",
            spec.starting_deadline_seconds,
        ),
        (
            "spec.successfulJobsHistoryLimit",
            spec.successful_jobs_history_limit.map(i64::from),
        ),
        (
            "spec.failedJobsHistoryLimit",
            spec.failed_jobs_history_limit.map(i64::from),
        ),
    ];
    for (path, value) in counters {
        nonnegative(path, value, causes);
    }
    let job_spec = spec.job_template.spec.unwrap_or_default();
    if job_spec.manual_selector == Some(true) {
        causes.push(Cause::not_supported(
            "spec.jobTemplate.spec.manualSelector",
            "true",
            &["nil", "false"],
        ));
    }
    validate_job_spec(&job_spec, "spec.jobTemplate.spec", causes);
}

/// A cron field's name, bounds, and the names it accepts for its values.
struct CronField {
    name: &'static str,
    minimum: u32,
    maximum: u32,
    names: &'static [&'static str],
}

const CRON_FIELDS: [CronField; 5] = [
    CronField {
        name: "minute",
        minimum: 0,
        maximum: 59,
        names: &[],
    },
    CronField {
        name: "hour",
        minimum: 0,
        maximum: 23,
        names: &[],
    },
    CronField {
        name: "day of month",
        minimum: 1,
        maximum: 31,
        names: &[],
    },
    CronField {
        name: "month",
        minimum: 1,
        maximum: 12,
        names: &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
    },
    CronField {
        name: "day of week",
        minimum: 0,
        maximum: 6,
        names: &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    },
];

/// robfig/cron's `ParseStandard`: five fields or a descriptor, with its error texts.
fn parse_cron_schedule(schedule: &str) -> Result<(), String> {
    let schedule = schedule.trim();
    if let Some(descriptor) = schedule.strip_prefix('@') {
        let known = [
            "yearly", "annually", "monthly", "weekly", "daily", "midnight", "hourly",
        ];
        if known.contains(&descriptor) {
            return Ok(());
        }
        if let Some(duration) = descriptor.strip_prefix("every ") {
            return parse_go_duration(duration.trim())
                .ok_or_else(|| format!("failed to parse duration {schedule}"));
        }
        return Err(format!("unrecognized descriptor: {schedule}"));
    }
    let fields: Vec<&str> = schedule.split_whitespace().collect();
    if fields.len() != CRON_FIELDS.len() {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    for (text, field) in fields.iter().zip(CRON_FIELDS.iter()) {
        for part in text.split(',') {
            parse_cron_range(part, field)?;
        }
    }
    Ok(())
}

fn parse_cron_range(part: &str, field: &CronField) -> Result<(), String> {
    let (range, step) = match part.split_once('/') {
        Some((range, step)) => (range, Some(step)),
        None => (part, None),
    };
    let (start, end) = if range == "*" || range == "?" {
        (field.minimum, field.maximum)
    } else if let Some((low, high)) = range.split_once('-') {
        (
            parse_cron_value(low, field)?,
            parse_cron_value(high, field)?,
        )
    } else {
        let value = parse_cron_value(range, field)?;
        (value, value)
    };
    if let Some(step) = step {
        let step: u32 = step.parse().map_err(|_| {
            format!(
                "failed to parse int from {step}: strconv.Atoi: parsing {step:?}: invalid syntax"
            )
        })?;
        if step == 0 {
            return Err(format!("step of range should be a positive number: {part}"));
        }
    }
    if start < field.minimum {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {part}",
            field.minimum
        ));
    }
    if end > field.maximum {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {part}",
            field.maximum
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {part}"
        ));
    }
    Ok(())
}

fn parse_cron_value(text: &str, field: &CronField) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(position) = field.names.iter().position(|name| *name == lower) {
        let offset = u32::try_from(position).unwrap_or_default();
        return Ok(field.minimum + offset);
    }
    text.parse::<u32>().map_err(|_| {
        format!(
            "failed to parse int from {text}: strconv.Atoi: parsing {text:?}: invalid syntax (in the {} field)",
            field.name
        )
    })
}

/// Go's `time.ParseDuration` accepts e.g. `1h30m`, `90s`, `1.5h`.
fn parse_go_duration(text: &str) -> Option<()> {
    if text.is_empty() {
        return None;
    }
    let mut rest = text;
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        if number_end == 0 {
            return None;
        }
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        if !["ns", "us", "µs", "ms", "s", "m", "h"].contains(&&rest[..unit_end]) {
            return None;
        }
        rest = &rest[unit_end..];
    }
    Some(())
}

// ---------------------------------------------------------------------------------------
// Other core/v1 kinds.

fn validate_namespace(object: &Value, causes: &mut Vec<Cause>) {
    let Some(namespace) = typed::<core::Namespace>(object, causes) else {
        return;
    };
    let finalizers = namespace
        .spec
        .and_then(|spec| spec.finalizers)
        .unwrap_or_default();
    for finalizer in &finalizers {
        check_name(
            "spec.finalizers",
            finalizer,
            validate_qualified_name,
            causes,
        );
        // A finalizer without a domain must be one Kubernetes defines.
        if !finalizer.contains('/')
            && finalizer != "kubernetes"
            && validate_qualified_name(finalizer).is_ok()
        {
            causes.push(Cause::invalid(
                "spec.finalizers",
                &quoted(finalizer),
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
}

fn validate_node(object: &Value, causes: &mut Vec<Cause>) {
    let Some(node) = typed::<core::Node>(object, causes) else {
        return;
    };
    let spec = node.spec.unwrap_or_default();
    for (position, cidr) in spec.pod_cidrs.iter().flatten().enumerate() {
        if !is_cidr(cidr) {
            causes.push(Cause::invalid(
                &index("spec.podCIDRs", position),
                &quoted(cidr),
                "must be a valid CIDR",
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for (position, taint) in spec.taints.iter().flatten().enumerate() {
        let entry = index("spec.taints", position);
        check_name(
            &child(&entry, "key"),
            &taint.key,
            validate_label_key,
            causes,
        );
        let value = taint.value.as_deref().unwrap_or_default();
        check_name(&child(&entry, "value"), value, validate_label_value, causes);
        let effect_path = child(&entry, "effect");
        if taint.effect.is_empty() {
            causes.push(Cause::required(&effect_path));
        } else {
            one_of(&effect_path, Some(&taint.effect), TAINT_EFFECTS, causes);
        }
        if !seen.insert((taint.key.clone(), taint.effect.clone())) {
            causes.push(Cause {
                message: format!(
                    "Duplicate value: {}: taints must be unique by key and effect pair",
                    quoted(&format!("{}:{}", taint.key, taint.effect))
                ),
                ..Cause::duplicate(&entry, "")
            });
        }
    }
}

/// `ValidateNodeUpdate`: podCIDRs and providerID may only go from unset to set.
fn validate_node_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let fields = [
        (
            "podCIDRs",
            "spec.podCIDRs",
            "node updates may not change podCIDR except from \"\" to valid",
        ),
        (
            "providerID",
            "spec.providerID",
            "node updates may not change providerID except from \"\" to valid",
        ),
    ];
    for (field, path, detail) in fields {
        let old_value = lookup(old, &["spec", field]);
        let emptied =
            old_value.is_some_and(|value| value == "" || value == &Value::Array(Vec::new()));
        if old_value.is_some() && !emptied && old_value != lookup(new, &["spec", field]) {
            causes.push(Cause::forbidden(path, detail));
        }
    }
}

fn validate_service(object: &Value, causes: &mut Vec<Cause>) {
    let Some(service) = typed::<core::Service>(object, causes) else {
        return;
    };
    let spec = service.spec.unwrap_or_default();
    let service_type = spec.type_.as_deref().unwrap_or("ClusterIP");
    let types = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    one_of("spec.type", Some(service_type), &types, causes);
    let cluster_ip = spec.cluster_ip.as_deref().unwrap_or_default();
    let headless = cluster_ip == "None";
    let ports = spec.ports.as_deref().unwrap_or_default();
    if ports.is_empty() && !headless && service_type != "ExternalName" {
        causes.push(Cause::required("spec.ports"));
    }
    validate_service_ports(ports, service_type, causes);
    if service_type == "ExternalName" {
        validate_external_name(&spec, causes);
    } else if !cluster_ip.is_empty() && !headless {
        validate_ip("spec.clusterIPs[0]", cluster_ip, causes);
    }
    if let Some(first) = spec.cluster_ips.as_ref().and_then(|ips| ips.first()) {
        if !cluster_ip.is_empty() && first != cluster_ip {
            causes.push(Cause::invalid(
                "spec.clusterIPs",
                &quoted(first),
                "element [0] must match clusterIP",
            ));
        }
    }
    validate_labels("spec.selector", spec.selector.as_ref(), causes);
    validate_service_policies(&spec, service_type, causes);
}

/// The traffic, affinity and IP-family policy fields, each a closed set of values.
fn validate_service_policies(
    spec: &core::ServiceSpec,
    service_type: &str,
    causes: &mut Vec<Cause>,
) {
    one_of(
        "spec.sessionAffinity",
        spec.session_affinity.as_deref(),
        &["ClientIP", "None"],
        causes,
    );
    let policies = ["Cluster", "Local"];
    let external_policy = spec.external_traffic_policy.as_deref();
    one_of(
        "spec.externalTrafficPolicy",
        external_policy,
        &policies,
        causes,
    );
    if external_policy.is_some() && !["NodePort", "LoadBalancer"].contains(&service_type) {
        causes.push(Cause::invalid(
            "spec.externalTrafficPolicy",
            &quoted(external_policy.unwrap_or_default()),
            "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
        ));
    }
    let internal_policy = spec.internal_traffic_policy.as_deref();
    one_of(
        "spec.internalTrafficPolicy",
        internal_policy,
        &policies,
        causes,
    );
    let family_policies = ["PreferDualStack", "RequireDualStack", "SingleStack"];
    one_of(
        "spec.ipFamilyPolicy",
        spec.ip_family_policy.as_deref(),
        &family_policies,
        causes,
    );
    for (position, family) in spec.ip_families.iter().flatten().enumerate() {
        one_of(
            &index("spec.ipFamilies", position),
            Some(family),
            &["IPv4", "IPv6"],
            causes,
        );
    }
}

fn validate_external_name(spec: &core::ServiceSpec, causes: &mut Vec<Cause>) {
    if !spec.cluster_ip.as_deref().unwrap_or_default().is_empty() {
        causes.push(Cause::forbidden(
            "spec.clusterIP",
            "may not be set for ExternalName services",
        ));
    }
    let external_name = spec.external_name.as_deref().unwrap_or_default();
    let trimmed = external_name.strip_suffix('.').unwrap_or(external_name);
    require_name(
        "spec.externalName",
        trimmed,
        validate_dns1123_subdomain,
        causes,
    );
}

fn validate_service_ports(
    ports: &[core::ServicePort],
    service_type: &str,
    causes: &mut Vec<Cause>,
) {
    let mut names = BTreeSet::new();
    let mut endpoints = BTreeSet::new();
    for (position, port) in ports.iter().enumerate() {
        let entry = index("spec.ports", position);
        let name = port.name.as_deref().unwrap_or_default();
        let name_path = child(&entry, "name");
        if name.is_empty() && ports.len() > 1 {
            causes.push(Cause::required(&name_path));
        } else if !name.is_empty() {
            check_name(&name_path, name, validate_dns1123_label, causes);
            if !names.insert(name) {
                causes.push(Cause::duplicate(&name_path, &quoted(name)));
            }
        }
        validate_port_number(&child(&entry, "port"), i64::from(port.port), causes);
        one_of(
            &child(&entry, "protocol"),
            port.protocol.as_deref(),
            PROTOCOLS,
            causes,
        );
        if let Some(target) = &port.target_port {
            validate_port_number_or_name(&child(&entry, "targetPort"), target, causes);
        }
        let protocol = port.protocol.as_deref().unwrap_or("TCP");
        if !endpoints.insert((port.port, protocol)) {
            causes.push(Cause::duplicate(
                &entry,
                &format!("{}/{protocol}", port.port),
            ));
        }
        let node_port_path = child(&entry, "nodePort");
        match port.node_port.filter(|node_port| *node_port != 0) {
            Some(_) if ["ClusterIP", "ExternalName"].contains(&service_type) => {
                causes.push(Cause::forbidden(
                    &node_port_path,
                    &format!("may not be used when `type` is '{service_type}'"),
                ))
            }
            Some(node_port) => validate_port_number(&node_port_path, i64::from(node_port), causes),
            None => {}
        }
    }
}

/// `ValidateServiceUpdate`: cluster IPs may not change once allocated, unless the
/// service moves to or from ExternalName. An omitted clusterIP is copied from the old one.
fn validate_service_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let type_of = |service: &Value| {
        lookup(service, &["spec", "type"])
            .and_then(Value::as_str)
            .unwrap_or("ClusterIP")
            .to_string()
    };
    if type_of(new) == "ExternalName" || type_of(old) == "ExternalName" {
        return;
    }
    let ip_of = |service: &Value| {
        lookup(service, &["spec", "clusterIP"])
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (new_ip, old_ip) = (ip_of(new), ip_of(old));
    if !old_ip.is_empty() && !new_ip.is_empty() && new_ip != old_ip {
        causes.push(Cause::invalid(
            "spec.clusterIPs[0]",
            &quoted(&new_ip),
            "may not change once set",
        ));
    }
}

fn validate_endpoints(object: &Value, causes: &mut Vec<Cause>) {
    let Some(endpoints) = typed::<core::Endpoints>(object, causes) else {
        return;
    };
    for (position, subset) in endpoints.subsets.iter().flatten().enumerate() {
        let entry = index("subsets", position);
        let addresses = subset.addresses.as_deref().unwrap_or_default();
        let not_ready = subset.not_ready_addresses.as_deref().unwrap_or_default();
        if addresses.is_empty() && not_ready.is_empty() {
            causes.push(Cause {
                message: "Required value: must specify `addresses` or `notReadyAddresses`".into(),
                ..Cause::required(&entry)
            });
        }
        for (field, list) in [("addresses", addresses), ("notReadyAddresses", not_ready)] {
            for (address_position, address) in list.iter().enumerate() {
                let address_path = index(&child(&entry, field), address_position);
                validate_ip(&child(&address_path, "ip"), &address.ip, causes);
                if let Some(hostname) = address.hostname.as_deref().filter(|name| !name.is_empty())
                {
                    check_name(
                        &child(&address_path, "hostname"),
                        hostname,
                        validate_dns1123_label,
                        causes,
                    );
                }
            }
        }
        let ports = subset.ports.as_deref().unwrap_or_default();
        for (port_position, port) in ports.iter().enumerate() {
            let port_path = index(&child(&entry, "ports"), port_position);
            let name = port.name.as_deref().unwrap_or_default();
            if name.is_empty() && ports.len() > 1 {
                causes.push(Cause::required(&child(&port_path, "name")));
            } else if !name.is_empty() {
                check_name(
                    &child(&port_path, "name"),
                    name,
                    validate_dns1123_label,
                    causes,
                );
            }
            validate_port_number(&child(&port_path, "port"), i64::from(port.port), causes);
            one_of(
                &child(&port_path, "protocol"),
                port.protocol.as_deref(),
                PROTOCOLS,
                causes,
            );
        }
    }
}

/// apimachinery's `IsConfigMapKey`: keys become file names when mounted.
fn validate_config_key(path: &str, name: &str, causes: &mut Vec<Cause>) {
    let mut details = Vec::new();
    if name.len() > CONFIG_KEY_LIMIT_CHARS {
        details.push("must be no more than 253 characters");
    }
    if name.is_empty()
        || !name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-._".contains(&byte))
    {
        details.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
    }
    if name == "." {
        details.push("must not be '.'");
    } else if name == ".." {
        details.push("must not be '..'");
    } else if name.starts_with("..") {
        details.push("must not start with '..'");
    }
    for detail in details {
        causes.push(Cause::invalid(path, &quoted(name), detail));
    }
}

fn validate_config_map(object: &Value, causes: &mut Vec<Cause>) {
    let Some(config_map) = typed::<core::ConfigMap>(object, causes) else {
        return;
    };
    let mut total_bytes = 0usize;
    let data = config_map.data.unwrap_or_default();
    let binary = config_map.binary_data.unwrap_or_default();
    for (name, value) in &data {
        validate_config_key(&key("data", name), name, causes);
        total_bytes = total_bytes.saturating_add(value.len());
    }
    for (name, value) in &binary {
        let path = key("binaryData", name);
        validate_config_key(&path, name, causes);
        if data.contains_key(name) {
            causes.push(Cause::invalid(
                &path,
                &quoted(name),
                "duplicate of key present in data",
            ));
        }
        total_bytes = total_bytes.saturating_add(value.0.len());
    }
    if total_bytes > CONFIG_DATA_LIMIT_BYTES {
        causes.push(Cause::too_long("", CONFIG_DATA_LIMIT_BYTES));
    }
}

fn validate_secret(object: &Value, causes: &mut Vec<Cause>) {
    let Some(secret) = typed::<core::Secret>(object, causes) else {
        return;
    };
    let mut total_bytes = 0usize;
    let mut keys = BTreeSet::new();
    for (name, value) in secret.data.iter().flatten() {
        validate_config_key(&key("data", name), name, causes);
        total_bytes = total_bytes.saturating_add(value.0.len());
        keys.insert(name.clone());
    }
    // kube-apiserver merges stringData into data before validating.
    for (name, value) in secret.string_data.iter().flatten() {
        validate_config_key(&key("stringData", name), name, causes);
        total_bytes = total_bytes.saturating_add(value.len());
        keys.insert(name.clone());
    }
    if total_bytes > CONFIG_DATA_LIMIT_BYTES {
        causes.push(Cause::too_long("data", CONFIG_DATA_LIMIT_BYTES));
    }
    let annotations = secret.metadata.annotations.unwrap_or_default();
    validate_secret_type(
        secret.type_.as_deref().unwrap_or("Opaque"),
        &keys,
        &annotations,
        causes,
    );
}

/// The keys each built-in Secret type must carry (`ValidateSecret`'s switch on type).
fn validate_secret_type(
    secret_type: &str,
    keys: &BTreeSet<String>,
    annotations: &BTreeMap<String, String>,
    causes: &mut Vec<Cause>,
) {
    let required: &[&str] = match secret_type {
        "kubernetes.io/dockercfg" => &[".dockercfg"],
        "kubernetes.io/dockerconfigjson" => &[".dockerconfigjson"],
        "kubernetes.io/ssh-auth" => &["ssh-privatekey"],
        "kubernetes.io/tls" => &["tls.crt", "tls.key"],
        _ => &[],
    };
    for name in required.iter().filter(|name| !keys.contains(**name)) {
        causes.push(Cause::required(&key("data", name)));
    }
    let has_credentials = keys.contains("username") || keys.contains("password");
    if secret_type == "kubernetes.io/basic-auth" && !has_credentials {
        causes.push(Cause::required("data[username]"));
        causes.push(Cause::required("data[password]"));
    }
    let account_annotation = "kubernetes.io/service-account.name";
    if secret_type == "kubernetes.io/service-account-token"
        && !annotations.contains_key(account_annotation)
    {
        causes.push(Cause::required(&key(
            "metadata.annotations",
            account_annotation,
        )));
    }
}

fn validate_secret_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    validate_immutable(new, old, &["type"], causes);
    validate_immutable_data(new, old, &["data"], causes);
}

/// ConfigMaps and Secrets marked `immutable: true` keep their data and the mark.
fn validate_immutable_data(new: &Value, old: &Value, fields: &[&str], causes: &mut Vec<Cause>) {
    if lookup(old, &["immutable"]) != Some(&Value::Bool(true)) {
        return;
    }
    if lookup(new, &["immutable"]) != Some(&Value::Bool(true)) {
        causes.push(Cause::forbidden(
            "immutable",
            "field is immutable when `immutable` is set",
        ));
    }
    for field in fields {
        if lookup(new, &[field]) != lookup(old, &[field]) {
            causes.push(Cause::forbidden(
                field,
                "field is immutable when `immutable` is set",
            ));
        }
    }
}

fn validate_event(object: &Value, causes: &mut Vec<Cause>) {
    let Some(event) = typed::<core::Event>(object, causes) else {
        return;
    };
    let namespace = event.metadata.namespace.as_deref().unwrap_or_default();
    let involved = event
        .involved_object
        .namespace
        .as_deref()
        .unwrap_or_default();
    let mismatch = if event.event_time.is_none() {
        if involved.is_empty() {
            !namespace.is_empty() && namespace != "default"
        } else {
            namespace != involved
        }
    } else {
        involved.is_empty() && namespace != "default" && namespace != "kube-system"
    };
    if mismatch {
        causes.push(Cause::invalid(
            "involvedObject.namespace",
            &quoted(involved),
            "does not match event.namespace",
        ));
    }
    if event.event_time.is_some() {
        validate_series_event(&event, causes);
    }
}

/// Events with an eventTime are "new" events and carry their reporting fields.
fn validate_series_event(event: &core::Event, causes: &mut Vec<Cause>) {
    let short_fields = [
        (
            "reportingComponent",
            &event.reporting_component,
            EVENT_SHORT_FIELD_LIMIT_CHARS,
        ),
        (
            "reportingInstance",
            &event.reporting_instance,
            EVENT_SHORT_FIELD_LIMIT_CHARS,
        ),
        ("action", &event.action, EVENT_SHORT_FIELD_LIMIT_CHARS),
        ("reason", &event.reason, EVENT_SHORT_FIELD_LIMIT_CHARS),
    ];
    for (path, value, limit) in short_fields {
        let value = value.as_deref().unwrap_or_default();
        if value.is_empty() {
            causes.push(Cause::required(path));
        } else if value.len() > limit {
            causes.push(Cause::invalid(
                path,
                &quoted(value),
                &format!("can have at most {limit} characters"),
            ));
        }
    }
    let message = event.message.as_deref().unwrap_or_default();
    if message.len() > EVENT_NOTE_LIMIT_CHARS {
        causes.push(Cause::invalid(
            "message",
            "<message>",
            &format!("can have at most {EVENT_NOTE_LIMIT_CHARS} characters"),
        ));
    }
    if let Some(component) = event
        .reporting_component
        .as_deref()
        .filter(|value| !value.is_empty())
    {
        check_name(
            "reportingComponent",
            component,
            validate_qualified_name,
            causes,
        );
    }
}

fn validate_service_account(object: &Value, causes: &mut Vec<Cause>) {
    let Some(account) = typed::<core::ServiceAccount>(object, causes) else {
        return;
    };
    for (position, secret) in account.secrets.iter().flatten().enumerate() {
        if let Some(name) = secret.name.as_deref().filter(|name| !name.is_empty()) {
            check_name(
                &index("secrets", position),
                name,
                validate_dns1123_subdomain,
                causes,
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Storage: PersistentVolume, PersistentVolumeClaim, StorageClass.

/// PersistentVolumeSpec fields that are not a volume source.
const PV_NON_SOURCE_FIELDS: &[&str] = &[
    "accessModes",
    "capacity",
    "claimRef",
    "mountOptions",
    "nodeAffinity",
    "persistentVolumeReclaimPolicy",
    "storageClassName",
    "volumeAttributesClassName",
    "volumeMode",
];

fn validate_access_modes(path: &str, modes: &[String], causes: &mut Vec<Cause>) {
    for mode in modes {
        one_of(path, Some(mode), ACCESS_MODES, causes);
    }
    let once_pod = modes.iter().any(|mode| mode == "ReadWriteOncePod");
    if once_pod && modes.len() > 1 {
        causes.push(Cause::forbidden(
            path,
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
}

fn positive_quantity(path: &str, quantity: &ApiQuantity, causes: &mut Vec<Cause>) {
    match Quantity::parse(&quantity.0) {
        Err(error) => causes.push(Cause::invalid(
            path,
            &quoted(&quantity.0),
            &error.to_string(),
        )),
        Ok(parsed) if parsed.milli_value() <= 0 => causes.push(Cause::invalid(
            path,
            &quoted(&quantity.0),
            "must be greater than zero",
        )),
        Ok(_) => {}
    }
}

fn validate_persistent_volume(object: &Value, causes: &mut Vec<Cause>) {
    let Some(volume) = typed::<core::PersistentVolume>(object, causes) else {
        return;
    };
    let spec = volume.spec.unwrap_or_default();
    let modes = spec.access_modes.unwrap_or_default();
    if modes.is_empty() {
        causes.push(Cause::required("spec.accessModes"));
    }
    validate_access_modes("spec.accessModes", &modes, causes);
    let capacity = spec.capacity.unwrap_or_default();
    if capacity.is_empty() {
        causes.push(Cause::required("spec.capacity"));
    } else if !capacity.contains_key("storage") || capacity.len() > 1 {
        let shown = format!("{:?}", capacity.keys().collect::<Vec<_>>());
        causes.push(Cause::not_supported("spec.capacity", &shown, &["storage"]));
    }
    for (resource, quantity) in &capacity {
        positive_quantity(&key("spec.capacity", resource), quantity, causes);
    }
    let policies = ["Delete", "Recycle", "Retain"];
    let policy = spec
        .persistent_volume_reclaim_policy
        .as_deref()
        .filter(|policy| !policy.is_empty());
    one_of(
        "spec.persistentVolumeReclaimPolicy",
        policy,
        &policies,
        causes,
    );
    one_of(
        "spec.volumeMode",
        spec.volume_mode.as_deref(),
        VOLUME_MODES,
        causes,
    );
    if let Some(class) = spec
        .storage_class_name
        .as_deref()
        .filter(|class| !class.is_empty())
    {
        check_name(
            "spec.storageClassName",
            class,
            validate_dns1123_subdomain,
            causes,
        );
    }
    validate_single_volume_source(object.get("spec"), causes);
    if spec.local.is_some() && spec.node_affinity.is_none() {
        causes.push(Cause {
            message: "Required value: Local volume requires node affinity".into(),
            ..Cause::required("spec.nodeAffinity")
        });
    }
}

/// A PersistentVolume names exactly one volume source.
fn validate_single_volume_source(spec: Option<&Value>, causes: &mut Vec<Cause>) {
    let sources: Vec<&String> = spec
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(field, value)| {
            !PV_NON_SOURCE_FIELDS.contains(&field.as_str()) && !value.is_null()
        })
        .map(|(field, _)| field)
        .collect();
    match sources.as_slice() {
        [] => causes.push(Cause {
            message: "Required value: must specify a volume type".into(),
            ..Cause::required("spec")
        }),
        [_] => {}
        [_, extra, ..] => causes.push(Cause::forbidden(
            &child("spec", extra),
            "may not specify more than 1 volume type",
        )),
    }
}

/// `ValidatePersistentVolumeUpdate`: the volume source and mode are fixed; node affinity
/// may only be set when it was unset.
fn validate_persistent_volume_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let source_of = |volume: &Value| {
        let mut spec = volume.get("spec").cloned().unwrap_or_default();
        for field in PV_NON_SOURCE_FIELDS {
            set_or_remove(&mut spec, field, None);
        }
        spec
    };
    if source_of(new) != source_of(old) {
        causes.push(Cause::forbidden(
            "spec.persistentvolumesource",
            "spec.persistentvolumesource is immutable after creation",
        ));
    }
    validate_immutable(new, old, &["spec", "volumeMode"], causes);
    if lookup(old, &["spec", "nodeAffinity"]).is_some() {
        validate_immutable(new, old, &["spec", "nodeAffinity"], causes);
    }
}

fn validate_persistent_volume_claim(object: &Value, causes: &mut Vec<Cause>) {
    let Some(claim) = typed::<core::PersistentVolumeClaim>(object, causes) else {
        return;
    };
    let spec = claim.spec.unwrap_or_default();
    let modes = spec.access_modes.unwrap_or_default();
    if modes.is_empty() {
        causes.push(Cause {
            message: "Required value: at least 1 access mode is required".into(),
            ..Cause::required("spec.accessModes")
        });
    }
    validate_access_modes("spec.accessModes", &modes, causes);
    if let Some(selector) = &spec.selector {
        validate_label_selector(selector, "spec.selector", causes);
    }
    let requests = spec
        .resources
        .and_then(|resources| resources.requests)
        .unwrap_or_default();
    match requests.get("storage") {
        None => causes.push(Cause::required("spec.resources[storage]")),
        Some(storage) => positive_quantity("spec.resources[storage]", storage, causes),
    }
    if let Some(class) = spec
        .storage_class_name
        .as_deref()
        .filter(|class| !class.is_empty())
    {
        check_name(
            "spec.storageClassName",
            class,
            validate_dns1123_subdomain,
            causes,
        );
    }
    one_of(
        "spec.volumeMode",
        spec.volume_mode.as_deref(),
        VOLUME_MODES,
        causes,
    );
}

/// `ValidatePersistentVolumeClaimUpdate`: the spec is fixed except volumeName (once),
/// and, for bound claims, the storage request, which may only grow.
fn validate_claim_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let (Some(new_spec), Some(old_spec)) = (new.get("spec"), old.get("spec")) else {
        return;
    };
    let mut munged = new_spec.clone();
    if lookup(old_spec, &["volumeName"]).is_none_or(|name| name == "") {
        set_or_remove(&mut munged, "volumeName", old_spec.get("volumeName"));
    }
    let bound = lookup(new, &["status", "phase"]).and_then(Value::as_str) == Some("Bound");
    let storage = ["resources", "requests", "storage"];
    if bound {
        if let Some(requests) = munged
            .get_mut("resources")
            .and_then(|resources| resources.get_mut("requests"))
        {
            set_or_remove(requests, "storage", lookup(old_spec, &storage));
        }
    }
    set_or_remove(
        &mut munged,
        "volumeAttributesClassName",
        old_spec.get("volumeAttributesClassName"),
    );
    if &munged != old_spec {
        causes.push(Cause::forbidden(
            "spec",
            "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
        ));
    }
    let size_of = |spec: &Value| {
        lookup(spec, &storage)
            .and_then(Value::as_str)
            .and_then(|text| Quantity::parse(text).ok())
    };
    if let (Some(new_size), Some(old_size)) = (size_of(new_spec), size_of(old_spec)) {
        if new_size < old_size {
            causes.push(Cause::forbidden(
                "spec.resources.requests.storage",
                "field can not be less than previous value",
            ));
        }
    }
}

fn validate_storage_class(object: &Value, causes: &mut Vec<Cause>) {
    let Some(class) = typed::<storage::StorageClass>(object, causes) else {
        return;
    };
    if class.provisioner.is_empty() {
        causes.push(Cause::required("provisioner"));
    } else {
        check_name(
            "provisioner",
            &class.provisioner.to_lowercase(),
            validate_qualified_name,
            causes,
        );
    }
    let parameters = class.parameters.unwrap_or_default();
    if parameters.len() > STORAGECLASS_PARAMETERS_LIMIT_COUNT {
        causes.push(Cause::too_long(
            "parameters",
            STORAGECLASS_PARAMETERS_LIMIT_COUNT,
        ));
    }
    let mut total_bytes = 0usize;
    for (name, value) in &parameters {
        if name.is_empty() {
            causes.push(Cause::invalid(
                "parameters",
                "\"\"",
                "field can not be empty.",
            ));
        }
        total_bytes = total_bytes.saturating_add(name.len() + value.len());
    }
    if total_bytes > STORAGECLASS_PARAMETERS_LIMIT_BYTES {
        causes.push(Cause::too_long(
            "parameters",
            STORAGECLASS_PARAMETERS_LIMIT_BYTES,
        ));
    }
    let policy = class
        .reclaim_policy
        .as_deref()
        .filter(|policy| !policy.is_empty());
    one_of("reclaimPolicy", policy, &["Delete", "Retain"], causes);
    let modes = ["Immediate", "WaitForFirstConsumer"];
    one_of(
        "volumeBindingMode",
        class.volume_binding_mode.as_deref(),
        &modes,
        causes,
    );
}

fn validate_storage_class_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let forbidden = [
        ("parameters", "updates to parameters are forbidden."),
        ("provisioner", "updates to provisioner are forbidden."),
        ("reclaimPolicy", "updates to reclaimPolicy are forbidden."),
    ];
    for (field, detail) in forbidden {
        if lookup(new, &[field]) != lookup(old, &[field]) {
            causes.push(Cause::forbidden(field, detail));
        }
    }
    validate_immutable(new, old, &["volumeBindingMode"], causes);
}

// ---------------------------------------------------------------------------------------
// Policy: LimitRange, ResourceQuota.

fn validate_limit_range(object: &Value, causes: &mut Vec<Cause>) {
    let Some(limit_range) = typed::<core::LimitRange>(object, causes) else {
        return;
    };
    let mut types = BTreeSet::new();
    let items = limit_range.spec.map(|spec| spec.limits).unwrap_or_default();
    for (position, item) in items.iter().enumerate() {
        let entry = index("spec.limits", position);
        let type_path = child(&entry, "type");
        if let Err(detail) = validate_qualified_name(&item.type_) {
            causes.push(Cause::invalid(&type_path, &quoted(&item.type_), &detail));
        } else if !item.type_.contains('/')
            && !["Container", "Pod", "PersistentVolumeClaim"].contains(&item.type_.as_str())
        {
            causes.push(Cause::invalid(
                &type_path,
                &quoted(&item.type_),
                "must be a standard limit type or fully qualified",
            ));
        }
        if !types.insert(item.type_.clone()) {
            causes.push(Cause::duplicate(&type_path, &quoted(&item.type_)));
        }
        validate_limit_range_item(item, &entry, causes);
    }
}

/// Reads one of a LimitRangeItem's resource lists into parsed quantities.
fn limit_list(
    list: Option<&BTreeMap<String, ApiQuantity>>,
    path: &str,
    causes: &mut Vec<Cause>,
) -> LimitList {
    let mut parsed = BTreeMap::new();
    for (resource, quantity) in list.into_iter().flatten() {
        check_name(
            &key(path, resource),
            resource,
            validate_qualified_name,
            causes,
        );
        if let Some(value) = nonnegative_quantity(&key(path, resource), quantity, causes) {
            parsed.insert(resource.clone(), (value, quantity.0.clone()));
        }
    }
    parsed
}

fn validate_limit_range_item(item: &core::LimitRangeItem, path: &str, causes: &mut Vec<Cause>) {
    let min = limit_list(item.min.as_ref(), &child(path, "min"), causes);
    let max = limit_list(item.max.as_ref(), &child(path, "max"), causes);
    let default = limit_list(item.default.as_ref(), &child(path, "default"), causes);
    let request = limit_list(
        item.default_request.as_ref(),
        &child(path, "defaultRequest"),
        causes,
    );
    let ratio = limit_list(
        item.max_limit_request_ratio.as_ref(),
        &child(path, "maxLimitRequestRatio"),
        causes,
    );
    if item.type_ == "Pod" {
        for (field, list) in [("default", &default), ("defaultRequest", &request)] {
            if !list.is_empty() {
                causes.push(Cause::forbidden(
                    &child(path, field),
                    "may not be specified when `type` is 'Pod'",
                ));
            }
        }
    }
    validate_limit_orderings([&min, &max, &default, &request], path, causes);
    for (resource, (value, text)) in &ratio {
        if value.milli_value() < 1000 {
            let detail = format!("ratio {text} is less than 1");
            causes.push(Cause::invalid(
                &key(&child(path, "maxLimitRequestRatio"), resource),
                &quoted(text),
                &detail,
            ));
        }
    }
}

type LimitList = BTreeMap<String, (Quantity, String)>;

/// Which LimitRangeItem list must not exceed which: (lower, upper, field reported,
/// whether the reported field is the lower one, message). Lists are indexed
/// min, max, default, defaultRequest.
const LIMIT_ORDERINGS: [(usize, usize, &str, bool, &str); 6] = [
    (
        0,
        1,
        "min",
        true,
        "min value {low} is greater than max value {high}",
    ),
    (
        0,
        3,
        "defaultRequest",
        false,
        "min value {low} is greater than default request value {high}",
    ),
    (
        3,
        1,
        "defaultRequest",
        true,
        "default request value {low} is greater than max value {high}",
    ),
    (
        3,
        2,
        "defaultRequest",
        true,
        "default request value {low} is greater than default limit value {high}",
    ),
    (
        0,
        2,
        "default",
        false,
        "min value {low} is greater than default value {high}",
    ),
    (
        2,
        1,
        "default",
        true,
        "default value {low} is greater than max value {high}",
    ),
];

fn validate_limit_orderings(lists: [&LimitList; 4], path: &str, causes: &mut Vec<Cause>) {
    for (lower, upper, field, reports_lower, template) in LIMIT_ORDERINGS {
        for (resource, (low, low_text)) in lists[lower] {
            let Some((high, high_text)) = lists[upper].get(resource) else {
                continue;
            };
            if low > high {
                let reported = if reports_lower { low_text } else { high_text };
                let detail = template
                    .replace("{low}", low_text)
                    .replace("{high}", high_text);
                let path = key(&child(path, field), resource);
                causes.push(Cause::invalid(&path, &quoted(reported), &detail));
            }
        }
    }
}

fn validate_resource_quota(object: &Value, causes: &mut Vec<Cause>) {
    let Some(quota) = typed::<core::ResourceQuota>(object, causes) else {
        return;
    };
    let spec = quota.spec.unwrap_or_default();
    for (resource, quantity) in spec.hard.iter().flatten() {
        let path = key("spec.hard", resource);
        check_name(&path, resource, validate_qualified_name, causes);
        nonnegative_quantity(&path, quantity, causes);
    }
    let scopes = spec.scopes.unwrap_or_default();
    let supported = [
        "BestEffort",
        "CrossNamespacePodAffinity",
        "NotBestEffort",
        "NotTerminating",
        "PriorityClass",
        "Terminating",
        "VolumeAttributesClass",
    ];
    let shown = format!("{scopes:?}");
    if scopes
        .iter()
        .any(|scope| !supported.contains(&scope.as_str()))
    {
        causes.push(Cause::invalid("spec.scopes", &shown, "unsupported scope"));
    }
    let has = |scope: &str| scopes.iter().any(|listed| listed == scope);
    if (has("Terminating") && has("NotTerminating")) || (has("BestEffort") && has("NotBestEffort"))
    {
        causes.push(Cause::invalid("spec.scopes", &shown, "conflicting scopes"));
    }
}

// ---------------------------------------------------------------------------------------
// Autoscaling, coordination, discovery.

fn validate_hpa(object: &Value, causes: &mut Vec<Cause>) {
    let Some(autoscaler) = typed::<autoscaling::HorizontalPodAutoscaler>(object, causes) else {
        return;
    };
    let spec = autoscaler.spec.unwrap_or_default();
    if let Some(min) = spec.min_replicas.filter(|min| *min < 1) {
        causes.push(Cause::invalid(
            "spec.minReplicas",
            &min.to_string(),
            "must be greater than or equal to 1",
        ));
    }
    if spec.max_replicas < 1 {
        causes.push(Cause::invalid(
            "spec.maxReplicas",
            &spec.max_replicas.to_string(),
            "must be greater than 0",
        ));
    } else if spec.min_replicas.is_some_and(|min| spec.max_replicas < min) {
        causes.push(Cause::invalid(
            "spec.maxReplicas",
            &spec.max_replicas.to_string(),
            "must be greater than or equal to `minReplicas`",
        ));
    }
    let target = &spec.scale_target_ref;
    for (field, value) in [("kind", &target.kind), ("name", &target.name)] {
        let path = child("spec.scaleTargetRef", field);
        require_name(&path, value, validate_path_segment_name, causes);
    }
    for (position, metric) in spec.metrics.iter().flatten().enumerate() {
        validate_metric(metric, &index("spec.metrics", position), causes);
    }
}

fn validate_metric(metric: &autoscaling::MetricSpec, path: &str, causes: &mut Vec<Cause>) {
    let sources = [
        (
            "ContainerResource",
            "containerResource",
            metric.container_resource.is_some(),
        ),
        ("External", "external", metric.external.is_some()),
        ("Object", "object", metric.object.is_some()),
        ("Pods", "pods", metric.pods.is_some()),
        ("Resource", "resource", metric.resource.is_some()),
    ];
    let type_path = child(path, "type");
    if metric.type_.is_empty() {
        causes.push(Cause {
            message: "Required value: must specify a metric source type".into(),
            ..Cause::required(&type_path)
        });
    }
    let types: Vec<&str> = sources.iter().map(|(name, _, _)| *name).collect();
    if !metric.type_.is_empty() {
        one_of(&type_path, Some(&metric.type_), &types, causes);
    }
    for (type_name, field, present) in sources {
        if type_name == metric.type_ && !present {
            causes.push(Cause {
                message: "Required value: must populate information for the given metric source"
                    .into(),
                ..Cause::required(&child(path, field))
            });
        } else if type_name != metric.type_ && present {
            causes.push(Cause::forbidden(
                &child(path, field),
                "must populate the given metric source only",
            ));
        }
    }
    if let Some(resource) = &metric.resource {
        let resource_path = child(path, "resource");
        if resource.name.is_empty() {
            causes.push(Cause::required(&child(&resource_path, "name")));
        }
        validate_metric_target(&resource.target, &child(&resource_path, "target"), causes);
    }
}

fn validate_metric_target(target: &autoscaling::MetricTarget, path: &str, causes: &mut Vec<Cause>) {
    let type_path = child(path, "type");
    if target.type_.is_empty() {
        causes.push(Cause::required(&type_path));
        return;
    }
    one_of(
        &type_path,
        Some(&target.type_),
        &["AverageValue", "Utilization", "Value"],
        causes,
    );
    let missing = match target.type_.as_str() {
        "Utilization" => target
            .average_utilization
            .is_none()
            .then_some("averageUtilization"),
        "Value" => target.value.is_none().then_some("value"),
        "AverageValue" => target.average_value.is_none().then_some("averageValue"),
        _ => None,
    };
    if let Some(field) = missing {
        causes.push(Cause::required(&child(path, field)));
    }
    if let Some(utilization) = target.average_utilization.filter(|value| *value <= 0) {
        causes.push(Cause::invalid(
            &child(path, "averageUtilization"),
            &utilization.to_string(),
            "must be greater than 0",
        ));
    }
}

fn validate_lease(object: &Value, causes: &mut Vec<Cause>) {
    let Some(lease) = typed::<coordination::Lease>(object, causes) else {
        return;
    };
    let spec = lease.spec.unwrap_or_default();
    if let Some(duration) = spec
        .lease_duration_seconds
        .filter(|duration| *duration <= 0)
    {
        causes.push(Cause::invalid(
            "spec.leaseDurationSeconds",
            &duration.to_string(),
            "must be greater than 0",
        ));
    }
    nonnegative(
        "spec.leaseTransitions",
        spec.lease_transitions.map(i64::from),
        causes,
    );
    one_of(
        "spec.strategy",
        spec.strategy.as_deref(),
        &["OldestEmulationVersion"],
        causes,
    );
    if spec.preferred_holder.is_some() && spec.strategy.is_none() {
        causes.push(Cause::forbidden(
            "spec.preferredHolder",
            "may only be specified if `strategy` is defined",
        ));
    }
}

fn validate_endpoint_slice(object: &Value, causes: &mut Vec<Cause>) {
    let Some(slice) = typed::<discovery::EndpointSlice>(object, causes) else {
        return;
    };
    let address_type = slice.address_type.as_str();
    if address_type.is_empty() {
        causes.push(Cause::required("addressType"));
    } else {
        one_of(
            "addressType",
            Some(address_type),
            &["FQDN", "IPv4", "IPv6"],
            causes,
        );
    }
    if slice.endpoints.len() > ENDPOINTSLICE_ENDPOINTS_LIMIT {
        causes.push(too_many(
            "endpoints",
            slice.endpoints.len(),
            ENDPOINTSLICE_ENDPOINTS_LIMIT,
        ));
    }
    for (position, endpoint) in slice.endpoints.iter().enumerate() {
        validate_slice_endpoint(
            endpoint,
            address_type,
            &index("endpoints", position),
            causes,
        );
    }
    let ports = slice.ports.unwrap_or_default();
    if ports.len() > ENDPOINTSLICE_PORTS_LIMIT {
        causes.push(too_many("ports", ports.len(), ENDPOINTSLICE_PORTS_LIMIT));
    }
    let mut names = BTreeSet::new();
    for (position, port) in ports.iter().enumerate() {
        let entry = index("ports", position);
        let name = port.name.as_deref().unwrap_or_default();
        if !name.is_empty() {
            check_name(&child(&entry, "name"), name, validate_dns1123_label, causes);
        }
        if !names.insert(name) {
            causes.push(Cause::duplicate(&child(&entry, "name"), &quoted(name)));
        }
        if let Some(number) = port
            .port
            .filter(|number| !(0..=PORT_MAX).contains(&i64::from(*number)))
        {
            causes.push(Cause::invalid(
                &child(&entry, "port"),
                &number.to_string(),
                "must be between 0 and 65535, inclusive",
            ));
        }
        one_of(
            &child(&entry, "protocol"),
            port.protocol.as_deref(),
            PROTOCOLS,
            causes,
        );
    }
}

fn validate_slice_endpoint(
    endpoint: &discovery::Endpoint,
    address_type: &str,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    let addresses_path = child(path, "addresses");
    if endpoint.addresses.is_empty() {
        causes.push(Cause {
            message: "Required value: must contain at least 1 address".into(),
            ..Cause::required(&addresses_path)
        });
    } else if endpoint.addresses.len() > ENDPOINT_ADDRESSES_LIMIT {
        causes.push(too_many(
            &addresses_path,
            endpoint.addresses.len(),
            ENDPOINT_ADDRESSES_LIMIT,
        ));
    }
    for (position, address) in endpoint.addresses.iter().enumerate() {
        let address_path = index(&addresses_path, position);
        let parsed = address.parse::<IpAddr>();
        let detail = match address_type {
            "IPv4" if !matches!(parsed, Ok(IpAddr::V4(_))) => Some("must be a valid IPv4 address"),
            "IPv6" if !matches!(parsed, Ok(IpAddr::V6(_))) => Some("must be a valid IPv6 address"),
            "FQDN" => validate_dns1123_subdomain(address.strip_suffix('.').unwrap_or(address))
                .err()
                .map(|_| "must be a valid fully qualified domain name"),
            _ => None,
        };
        if let Some(detail) = detail {
            causes.push(Cause::invalid(&address_path, &quoted(address), detail));
        }
    }
    if let Some(hostname) = endpoint.hostname.as_deref() {
        check_name(
            &child(path, "hostname"),
            hostname,
            validate_dns1123_label,
            causes,
        );
    }
    if let Some(node_name) = endpoint.node_name.as_deref() {
        check_name(
            &child(path, "nodeName"),
            node_name,
            validate_dns1123_subdomain,
            causes,
        );
    }
}

// ---------------------------------------------------------------------------------------
// RBAC (rbac/validation).

fn validate_role(object: &Value, namespaced: bool, causes: &mut Vec<Cause>) {
    let rules: Vec<rbac::PolicyRule> = if namespaced {
        let Some(role) = typed::<rbac::Role>(object, causes) else {
            return;
        };
        role.rules.unwrap_or_default()
    } else {
        let Some(role) = typed::<rbac::ClusterRole>(object, causes) else {
            return;
        };
        role.rules.unwrap_or_default()
    };
    for (position, rule) in rules.iter().enumerate() {
        validate_policy_rule(rule, namespaced, &index("rules", position), causes);
    }
}

fn validate_policy_rule(
    rule: &rbac::PolicyRule,
    namespaced: bool,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    let filled = |list: &Option<Vec<String>>| list.as_ref().is_some_and(|list| !list.is_empty());
    if rule.verbs.is_empty() {
        causes.push(Cause {
            message: "Required value: verbs must contain at least one value".into(),
            ..Cause::required(&child(path, "verbs"))
        });
    }
    if filled(&rule.non_resource_urls) {
        let urls_path = child(path, "nonResourceURLs");
        let shown = format!("{:?}", rule.non_resource_urls.clone().unwrap_or_default());
        if namespaced {
            causes.push(Cause::invalid(
                &urls_path,
                &shown,
                "namespaced rules cannot apply to non-resource URLs",
            ));
        }
        if filled(&rule.api_groups) || filled(&rule.resources) || filled(&rule.resource_names) {
            causes.push(Cause::invalid(
                &urls_path,
                &shown,
                "rules cannot apply to both regular resources and non-resource URLs",
            ));
        }
        return;
    }
    if !filled(&rule.api_groups) {
        causes.push(Cause {
            message: "Required value: resource rules must supply at least one api group".into(),
            ..Cause::required(&child(path, "apiGroups"))
        });
    }
    if !filled(&rule.resources) {
        causes.push(Cause {
            message: "Required value: resource rules must supply at least one resource".into(),
            ..Cause::required(&child(path, "resources"))
        });
    }
}

fn validate_role_binding(object: &Value, namespaced: bool, causes: &mut Vec<Cause>) {
    let (role_ref, subjects) = if namespaced {
        let Some(binding) = typed::<rbac::RoleBinding>(object, causes) else {
            return;
        };
        (binding.role_ref, binding.subjects.unwrap_or_default())
    } else {
        let Some(binding) = typed::<rbac::ClusterRoleBinding>(object, causes) else {
            return;
        };
        (binding.role_ref, binding.subjects.unwrap_or_default())
    };
    // An empty apiGroup is defaulted to RBAC's own group.
    if !role_ref.api_group.is_empty() && role_ref.api_group != RBAC_GROUP {
        causes.push(Cause::not_supported(
            "roleRef.apiGroup",
            &quoted(&role_ref.api_group),
            &[RBAC_GROUP],
        ));
    }
    let kinds: &[&str] = if namespaced {
        &["Role", "ClusterRole"]
    } else {
        &["ClusterRole"]
    };
    if !kinds.contains(&role_ref.kind.as_str()) {
        causes.push(Cause::not_supported(
            "roleRef.kind",
            &quoted(&role_ref.kind),
            kinds,
        ));
    }
    require_name(
        "roleRef.name",
        &role_ref.name,
        validate_path_segment_name,
        causes,
    );
    for (position, subject) in subjects.iter().enumerate() {
        validate_subject(subject, namespaced, &index("subjects", position), causes);
    }
}

fn validate_subject(
    subject: &rbac::Subject,
    namespaced: bool,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    let group = subject.api_group.as_deref().unwrap_or_default();
    let group_path = child(path, "apiGroup");
    let name_path = child(path, "name");
    if subject.name.is_empty() {
        causes.push(Cause::required(&name_path));
    }
    match subject.kind.as_str() {
        "ServiceAccount" => {
            if !subject.name.is_empty() {
                check_name(
                    &name_path,
                    &subject.name,
                    validate_dns1123_subdomain,
                    causes,
                );
            }
            if !group.is_empty() {
                causes.push(Cause::not_supported(&group_path, &quoted(group), &[""]));
            }
            if !namespaced && subject.namespace.as_deref().unwrap_or_default().is_empty() {
                causes.push(Cause::required(&child(path, "namespace")));
            }
        }
        // An empty apiGroup is defaulted to RBAC's own group for users and groups.
        "User" | "Group" if !group.is_empty() && group != RBAC_GROUP => causes.push(
            Cause::not_supported(&group_path, &quoted(group), &[RBAC_GROUP]),
        ),
        "User" | "Group" => {}
        other => causes.push(Cause::not_supported(
            &child(path, "kind"),
            &quoted(other),
            &["ServiceAccount", "User", "Group"],
        )),
    }
}

fn validate_role_ref_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let new_ref = lookup(new, &["roleRef"]);
    if new_ref != lookup(old, &["roleRef"]) {
        let shown = new_ref
            .map(Value::to_string)
            .unwrap_or_else(|| "null".into());
        causes.push(Cause::invalid("roleRef", &shown, "cannot change roleRef"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn has(causes: &[Cause], field: &str, reason: &str) -> bool {
        causes
            .iter()
            .any(|cause| cause.field == field && cause.reason == reason)
    }

    #[track_caller]
    fn assert_cause(api_version: &str, kind: &str, object: &Value, field: &str, reason: &str) {
        let causes = validate_create(api_version, kind, object);
        assert!(
            has(&causes, field, reason),
            "expected {reason} at {field}, got {causes:#?}"
        );
    }

    #[track_caller]
    fn assert_valid(api_version: &str, kind: &str, object: &Value) {
        let causes = validate_create(api_version, kind, object);
        assert!(causes.is_empty(), "{kind} should be valid: {causes:#?}");
        let mut defaulted = object.clone();
        crate::defaults::apply_defaults(api_version, kind, &mut defaulted);
        let causes = validate_create(api_version, kind, &defaulted);
        assert!(
            causes.is_empty(),
            "defaulted {kind} should be valid: {causes:#?}"
        );
        let causes = validate_update(api_version, kind, &defaulted, object);
        assert!(
            causes.is_empty(),
            "{kind} update to its defaults: {causes:#?}"
        );
    }

    /// Sets the value at a dotted path (numbers index arrays), creating objects as needed.
    fn with(mut object: Value, path: &str, value: Value) -> Value {
        let mut slot = &mut object;
        for part in path.split('.') {
            slot = match part.parse::<usize>() {
                Ok(position) => &mut slot[position],
                Err(_) => &mut slot[part],
            };
        }
        *slot = value;
        object
    }

    fn without(mut object: Value, path: &str) -> Value {
        let (parent, field) = path.rsplit_once('.').unwrap_or(("", path));
        let mut slot = &mut object;
        for part in parent.split('.').filter(|part| !part.is_empty()) {
            slot = match part.parse::<usize>() {
                Ok(position) => &mut slot[position],
                Err(_) => &mut slot[part],
            };
        }
        if let Some(fields) = slot.as_object_mut() {
            fields.remove(field);
        }
        object
    }

    pub(super) fn nginx_pod() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "nginx", "namespace": "default", "labels": {"app": "nginx"}},
            "spec": {
                "containers": [{
                    "name": "nginx",
                    "image": "nginx:1.14.2",
                    "ports": [{"containerPort": 80}],
                }],
            },
        })
    }

    pub(super) fn nginx_deployment() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "nginx-deployment", "namespace": "default", "labels": {"app": "nginx"}},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "nginx"}},
                "template": {
                    "metadata": {"labels": {"app": "nginx"}},
                    "spec": {"containers": [{
                        "name": "nginx",
                        "image": "nginx:1.14.2",
                        "ports": [{"containerPort": 80}],
                    }]},
                },
            },
        })
    }

    fn service() -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "my-service", "namespace": "default"},
            "spec": {
                "selector": {"app.kubernetes.io/name": "MyApp"},
                "ports": [{"protocol": "TCP", "port": 80, "targetPort": 9376}],
            },
        })
    }

    // ---- ObjectMeta -------------------------------------------------------------------

    #[test]
    fn metadata_rules() {
        let huge = "x".repeat(ANNOTATIONS_LIMIT_BYTES + 1);
        let edits = [
            ("metadata.name", Value::Null, "metadata.name", REQUIRED),
            ("metadata.name", json!("Bad_Name"), "metadata.name", INVALID),
            (
                "metadata.namespace",
                Value::Null,
                "metadata.namespace",
                REQUIRED,
            ),
            (
                "metadata.namespace",
                json!("a.b"),
                "metadata.namespace",
                INVALID,
            ),
            (
                "metadata.labels",
                json!({"a/b/c": "x"}),
                "metadata.labels",
                INVALID,
            ),
            (
                "metadata.labels",
                json!({"app": "-x"}),
                "metadata.labels",
                INVALID,
            ),
            (
                "metadata.annotations",
                json!({"bad key": "x"}),
                "metadata.annotations",
                INVALID,
            ),
            (
                "metadata.annotations",
                json!({"note": huge}),
                "metadata.annotations",
                "FieldValueTooLong",
            ),
            (
                "metadata.finalizers",
                json!(["bad finalizer"]),
                "metadata.finalizers",
                INVALID,
            ),
            (
                "metadata.generation",
                json!(-1),
                "metadata.generation",
                INVALID,
            ),
        ];
        assert_edits("v1", "Pod", &nginx_pod(), &edits);
        let namespace = json!({"metadata": {"name": "dev", "namespace": "x"}});
        assert_cause(
            "v1",
            "Namespace",
            &namespace,
            "metadata.namespace",
            FORBIDDEN,
        );
    }

    #[test]
    fn name_rules_depend_on_kind() {
        let namespace =
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}});
        assert_cause(
            "v1",
            "Namespace",
            &namespace,
            "metadata.name",
            "FieldValueInvalid",
        );
        let service = with(service(), "metadata.name", json!("1abc"));
        assert_cause(
            "v1",
            "Service",
            &service,
            "metadata.name",
            "FieldValueInvalid",
        );
        assert!(validate_create(
            "v1",
            "Pod",
            &with(nginx_pod(), "metadata.name", json!("a.b"))
        )
        .is_empty());
        let role =
            json!({"metadata": {"name": "system:controller", "namespace": "default"}, "rules": []});
        assert!(validate_create(RBAC_V1, "Role", &role).is_empty());
        let role = with(role, "metadata.name", json!("a/b"));
        assert_cause(RBAC_V1, "Role", &role, "metadata.name", "FieldValueInvalid");
        let cron = json!({"metadata": {"name": "x".repeat(53), "namespace": "default"},
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}}});
        assert_cause(
            "batch/v1",
            "CronJob",
            &cron,
            "metadata.name",
            "FieldValueInvalid",
        );
        let unknown = json!({"metadata": {"name": "Bad"}});
        assert_cause(
            "example.com/v1",
            "Widget",
            &unknown,
            "metadata.name",
            "FieldValueInvalid",
        );
        assert!(validate_create(
            "example.com/v1",
            "Widget",
            &json!({"metadata": {"name": "ok"}})
        )
        .is_empty());
    }

    #[test]
    fn owner_references() {
        let reference = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1", "controller": true});
        let pod = with(
            nginx_pod(),
            "metadata.ownerReferences",
            json!([reference.clone()]),
        );
        assert!(validate_create("v1", "Pod", &pod).is_empty());
        let second = with(reference.clone(), "uid", json!("u2"));
        let two = with(
            nginx_pod(),
            "metadata.ownerReferences",
            json!([reference.clone(), second]),
        );
        assert_cause(
            "v1",
            "Pod",
            &two,
            "metadata.ownerReferences",
            "FieldValueInvalid",
        );
        let missing = with(
            nginx_pod(),
            "metadata.ownerReferences",
            json!([without(reference, "uid")]),
        );
        assert_cause(
            "v1",
            "Pod",
            &missing,
            "metadata.ownerReferences[0].uid",
            "FieldValueInvalid",
        );
    }

    #[test]
    fn metadata_update_rules() {
        let old = with(nginx_pod(), "metadata.uid", json!("u1"));
        let renamed = with(old.clone(), "metadata.name", json!("other"));
        assert!(has(
            &validate_update("v1", "Pod", &renamed, &old),
            "metadata.name",
            "FieldValueInvalid"
        ));
        let moved = with(old.clone(), "metadata.namespace", json!("other"));
        assert!(has(
            &validate_update("v1", "Pod", &moved, &old),
            "metadata.namespace",
            "FieldValueInvalid"
        ));
        let new_uid = with(old.clone(), "metadata.uid", json!("u2"));
        assert!(has(
            &validate_update("v1", "Pod", &new_uid, &old),
            "metadata.uid",
            "FieldValueInvalid"
        ));
        // An omitted uid is copied from the stored object, as kube-apiserver does.
        let relabeled = with(nginx_pod(), "metadata.labels", json!({"app": "web"}));
        assert!(validate_update("v1", "Pod", &relabeled, &old).is_empty());
        let stamped = with(
            old.clone(),
            "metadata.creationTimestamp",
            json!("2024-01-01T00:00:00Z"),
        );
        let restamped = with(
            stamped.clone(),
            "metadata.creationTimestamp",
            json!("2025-01-01T00:00:00Z"),
        );
        assert!(has(
            &validate_update("v1", "Pod", &restamped, &stamped),
            "metadata.creationTimestamp",
            "FieldValueInvalid"
        ));
        let namespace = json!({"metadata": {"name": "dev"}});
        let renamed = json!({"metadata": {"name": "prod"}});
        assert!(has(
            &validate_update("v1", "Namespace", &renamed, &namespace),
            "metadata.name",
            "FieldValueInvalid"
        ));
    }

    #[test]
    fn mistyped_objects_yield_a_root_cause() {
        let pod = with(nginx_pod(), "spec.containers", json!("nginx"));
        assert_cause("v1", "Pod", &pod, "", "FieldValueInvalid");
        let deployment = with(nginx_deployment(), "spec.replicas", json!("three"));
        assert_cause(
            "apps/v1",
            "Deployment",
            &deployment,
            "",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            "Pod",
            &json!({"metadata": 7}),
            "",
            "FieldValueInvalid",
        );
        assert!(!validate_create("v1", "Pod", &json!(null)).is_empty());
    }

    // ---- Pods ---------------------------------------------------------------------------

    #[test]
    fn documented_pod_is_valid() {
        assert_valid("v1", "Pod", &nginx_pod());
    }

    #[test]
    fn pod_container_rules() {
        let pod = nginx_pod();
        assert_cause(
            "v1",
            "Pod",
            &with(pod.clone(), "spec.containers", json!([])),
            "spec.containers",
            "FieldValueRequired",
        );
        assert_cause(
            "v1",
            "Pod",
            &with(pod.clone(), "spec.containers.0.name", json!("Nginx")),
            "spec.containers[0].name",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            "Pod",
            &without(pod.clone(), "spec.containers.0.name"),
            "spec.containers[0].name",
            "FieldValueRequired",
        );
        assert_cause(
            "v1",
            "Pod",
            &without(pod.clone(), "spec.containers.0.image"),
            "spec.containers[0].image",
            "FieldValueRequired",
        );
        let init = json!([{"name": "nginx", "image": "busybox"}]);
        assert_cause(
            "v1",
            "Pod",
            &with(pod.clone(), "spec.initContainers", init),
            "spec.containers[0].name",
            "FieldValueDuplicate",
        );
        assert_cause(
            "v1",
            "Pod",
            &with(
                pod.clone(),
                "spec.containers.0.imagePullPolicy",
                json!("Sometimes"),
            ),
            "spec.containers[0].imagePullPolicy",
            "FieldValueNotSupported",
        );
        assert_cause(
            "v1",
            "Pod",
            &with(
                pod,
                "spec.containers.0.terminationMessagePolicy",
                json!("Log"),
            ),
            "spec.containers[0].terminationMessagePolicy",
            "FieldValueNotSupported",
        );
    }

    #[test]
    fn pod_port_rules() {
        let pod = nginx_pod();
        let at = "spec.containers.0.ports.0";
        assert_cause(
            "v1",
            "Pod",
            &with(pod.clone(), &format!("{at}.containerPort"), json!(0)),
            "spec.containers[0].ports[0].containerPort",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            "Pod",
            &with(pod.clone(), &format!("{at}.containerPort"), json!(70000)),
            "spec.containers[0].ports[0].containerPort",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            "Pod",
            &with(pod.clone(), &format!("{at}.hostPort"), json!(-1)),
            "spec.containers[0].ports[0].hostPort",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            "Pod",
            &with(pod.clone(), &format!("{at}.protocol"), json!("HTTP")),
            "spec.containers[0].ports[0].protocol",
            "FieldValueNotSupported",
        );
        for bad in ["this-name-is-too-long", "UPPER", "1234", "a--b", "-ab"] {
            let named = with(pod.clone(), &format!("{at}.name"), json!(bad));
            assert_cause(
                "v1",
                "Pod",
                &named,
                "spec.containers[0].ports[0].name",
                "FieldValueInvalid",
            );
        }
        let ports =
            json!([{"name": "http", "containerPort": 80}, {"name": "http", "containerPort": 81}]);
        assert_cause(
            "v1",
            "Pod",
            &with(pod.clone(), "spec.containers.0.ports", ports),
            "spec.containers[0].ports[1].name",
            "FieldValueDuplicate",
        );
        let ports =
            json!([{"name": "http", "containerPort": 80, "hostPort": 8080, "protocol": "SCTP"}]);
        assert!(
            validate_create("v1", "Pod", &with(pod, "spec.containers.0.ports", ports)).is_empty()
        );
    }

    #[test]
    fn pod_env_rules() {
        let pod = nginx_pod();
        let env = |variables: Value| with(pod.clone(), "spec.containers.0.env", variables);
        let relaxed = env(json!([{"name": "1st.var-with:colon", "value": "x"}]));
        assert!(validate_create("v1", "Pod", &relaxed).is_empty());
        assert_cause(
            "v1",
            "Pod",
            &env(json!([{"name": "A=B"}])),
            "spec.containers[0].env[0].name",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            "Pod",
            &env(json!([{"name": ""}])),
            "spec.containers[0].env[0].name",
            "FieldValueRequired",
        );
        let both = json!([{"name": "A", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]);
        assert_cause(
            "v1",
            "Pod",
            &env(both),
            "spec.containers[0].env[0].valueFrom",
            "FieldValueInvalid",
        );
        let none = json!([{"name": "A", "valueFrom": {}}]);
        assert_cause(
            "v1",
            "Pod",
            &env(none),
            "spec.containers[0].env[0].valueFrom",
            "FieldValueInvalid",
        );
    }

    #[test]
    fn pod_resource_rules() {
        let pod = nginx_pod();
        let resources = |value: Value| with(pod.clone(), "spec.containers.0.resources", value);
        let fine = resources(
            json!({"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}),
        );
        assert!(validate_create("v1", "Pod", &fine).is_empty());
        let over = resources(json!({"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}));
        assert_cause(
            "v1",
            "Pod",
            &over,
            "spec.containers[0].resources.requests",
            "FieldValueInvalid",
        );
        let negative = resources(json!({"limits": {"memory": "-1Mi"}}));
        assert_cause(
            "v1",
            "Pod",
            &negative,
            "spec.containers[0].resources.limits[memory]",
            "FieldValueInvalid",
        );
        let garbage = resources(json!({"requests": {"cpu": "lots"}}));
        assert_cause(
            "v1",
            "Pod",
            &garbage,
            "spec.containers[0].resources.requests[cpu]",
            "FieldValueInvalid",
        );
        let unknown = resources(json!({"requests": {"gpu": "1"}}));
        assert_cause(
            "v1",
            "Pod",
            &unknown,
            "spec.containers[0].resources.requests[gpu]",
            "FieldValueInvalid",
        );
        let extended = resources(json!({"requests": {"example.com/gpu": "1"}}));
        assert_cause(
            "v1",
            "Pod",
            &extended,
            "spec.containers[0].resources.limits",
            "FieldValueRequired",
        );
    }

    #[test]
    fn pod_policy_rules() {
        let pod = nginx_pod();
        assert_cause(
            "v1",
            "Pod",
            &with(pod.clone(), "spec.restartPolicy", json!("Sometimes")),
            "spec.restartPolicy",
            "FieldValueNotSupported",
        );
        assert_cause(
            "v1",
            "Pod",
            &with(pod.clone(), "spec.dnsPolicy", json!("Google")),
            "spec.dnsPolicy",
            "FieldValueNotSupported",
        );
        assert_cause(
            "v1",
            "Pod",
            &with(pod.clone(), "spec.dnsPolicy", json!("None")),
            "spec.dnsConfig",
            "FieldValueRequired",
        );
        assert_cause(
            "v1",
            "Pod",
            &with(pod.clone(), "spec.terminationGracePeriodSeconds", json!(-5)),
            "spec.terminationGracePeriodSeconds",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            "Pod",
            &with(pod.clone(), "spec.activeDeadlineSeconds", json!(0)),
            "spec.activeDeadlineSeconds",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            "Pod",
            &with(pod.clone(), "spec.nodeSelector", json!({"disk": "-ssd"})),
            "spec.nodeSelector",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            "Pod",
            &with(pod, "spec.serviceAccountName", json!("Bad")),
            "spec.serviceAccountName",
            "FieldValueInvalid",
        );
    }

    #[test]
    fn pod_volume_rules() {
        let cache = json!({"name": "cache", "emptyDir": {}});
        let mount = |path: &str| json!({"name": "cache", "mountPath": path});
        let edits = [
            (
                "spec.volumes",
                json!([cache, cache]),
                "spec.volumes[1].name",
                DUPLICATE,
            ),
            (
                "spec.volumes",
                json!([{"name": "Cache", "emptyDir": {}}]),
                "spec.volumes[0].name",
                INVALID,
            ),
            (
                "spec.volumes",
                json!([{"name": "cache", "emptyDir": {}, "hostPath": {"path": "/tmp"}}]),
                "spec.volumes[0].hostPath",
                FORBIDDEN,
            ),
            (
                "spec.volumes",
                json!([{"name": "creds", "secret": {}}]),
                "spec.volumes[0].secret.secretName",
                REQUIRED,
            ),
            (
                "spec.containers.0.volumeMounts",
                json!([{"name": "missing", "mountPath": "/data"}]),
                "spec.containers[0].volumeMounts[0].name",
                "FieldValueNotFound",
            ),
        ];
        assert_edits("v1", "Pod", &nginx_pod(), &edits);
        let pod = with(nginx_pod(), "spec.volumes", json!([cache]));
        let mounts = "spec.containers.0.volumeMounts";
        let edits = [
            (
                mounts,
                json!([mount("/a"), mount("/a")]),
                "spec.containers[0].volumeMounts[1].mountPath",
                INVALID,
            ),
            (
                mounts,
                json!([{"name": "cache"}]),
                "spec.containers[0].volumeMounts[0].mountPath",
                REQUIRED,
            ),
            (
                mounts,
                json!([{"name": "cache", "mountPath": "/a", "subPath": "../etc"}]),
                "spec.containers[0].volumeMounts[0].subPath",
                INVALID,
            ),
        ];
        assert_edits("v1", "Pod", &pod, &edits);
    }

    #[test]
    fn pod_probe_rules() {
        let pod = nginx_pod();
        let probe = |field: &str, value: Value| {
            with(pod.clone(), &format!("spec.containers.0.{field}"), value)
        };
        let fine = probe(
            "livenessProbe",
            json!({"httpGet": {"path": "/healthz", "port": 8080}, "initialDelaySeconds": 3, "periodSeconds": 3}),
        );
        assert!(validate_create("v1", "Pod", &fine).is_empty());
        let named = probe("readinessProbe", json!({"tcpSocket": {"port": "http"}}));
        assert!(validate_create("v1", "Pod", &named).is_empty());
        assert_cause(
            "v1",
            "Pod",
            &probe("livenessProbe", json!({"periodSeconds": 3})),
            "spec.containers[0].livenessProbe",
            "FieldValueRequired",
        );
        let two = json!({"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}});
        assert_cause(
            "v1",
            "Pod",
            &probe("livenessProbe", two),
            "spec.containers[0].livenessProbe.tcpSocket",
            "FieldValueForbidden",
        );
        let negative = json!({"exec": {"command": ["true"]}, "periodSeconds": -1});
        assert_cause(
            "v1",
            "Pod",
            &probe("readinessProbe", negative),
            "spec.containers[0].readinessProbe.periodSeconds",
            "FieldValueInvalid",
        );
        let threshold = json!({"exec": {"command": ["true"]}, "successThreshold": 2});
        assert_cause(
            "v1",
            "Pod",
            &probe("livenessProbe", threshold),
            "spec.containers[0].livenessProbe.successThreshold",
            "FieldValueInvalid",
        );
        let port = json!({"httpGet": {"port": 0}});
        assert_cause(
            "v1",
            "Pod",
            &probe("startupProbe", port),
            "spec.containers[0].startupProbe.httpGet.port",
            "FieldValueInvalid",
        );
        let empty = json!({"exec": {}});
        assert_cause(
            "v1",
            "Pod",
            &probe("livenessProbe", empty),
            "spec.containers[0].livenessProbe.exec.command",
            "FieldValueRequired",
        );
        let init = json!([{"name": "setup", "image": "busybox", "livenessProbe": {"exec": {"command": ["true"]}}}]);
        assert_cause(
            "v1",
            "Pod",
            &with(pod.clone(), "spec.initContainers", init),
            "spec.initContainers[0].livenessProbe",
            "FieldValueForbidden",
        );
    }

    #[test]
    fn pod_toleration_rules() {
        let pod = nginx_pod();
        let tolerate = |value: Value| with(pod.clone(), "spec.tolerations", json!([value]));
        let fine = tolerate(
            json!({"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}),
        );
        assert!(validate_create("v1", "Pod", &fine).is_empty());
        assert_cause(
            "v1",
            "Pod",
            &tolerate(json!({"operator": "Equal", "value": "x"})),
            "spec.tolerations[0].operator",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            "Pod",
            &tolerate(json!({"key": "k", "operator": "Exists", "value": "x"})),
            "spec.tolerations[0].operator",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            "Pod",
            &tolerate(json!({"key": "k", "operator": "Like"})),
            "spec.tolerations[0].operator",
            "FieldValueNotSupported",
        );
        assert_cause(
            "v1",
            "Pod",
            &tolerate(json!({"key": "k", "effect": "Evict"})),
            "spec.tolerations[0].effect",
            "FieldValueNotSupported",
        );
        assert_cause(
            "v1",
            "Pod",
            &tolerate(json!({"key": "k", "effect": "NoSchedule", "tolerationSeconds": 5})),
            "spec.tolerations[0].effect",
            "FieldValueInvalid",
        );
    }

    #[test]
    fn pod_update_rules() {
        let old = nginx_pod();
        let new_image = with(old.clone(), "spec.containers.0.image", json!("nginx:1.25"));
        assert!(validate_update("v1", "Pod", &new_image, &old).is_empty());
        let new_port = with(
            old.clone(),
            "spec.containers.0.ports.0.containerPort",
            json!(81),
        );
        assert!(has(
            &validate_update("v1", "Pod", &new_port, &old),
            "spec",
            "FieldValueForbidden"
        ));
        let deadline = with(old.clone(), "spec.activeDeadlineSeconds", json!(60));
        assert!(validate_update("v1", "Pod", &deadline, &old).is_empty());
        let longer = with(old.clone(), "spec.activeDeadlineSeconds", json!(120));
        assert!(has(
            &validate_update("v1", "Pod", &longer, &deadline),
            "spec.activeDeadlineSeconds",
            "FieldValueInvalid"
        ));
        assert!(has(
            &validate_update("v1", "Pod", &old, &deadline),
            "spec.activeDeadlineSeconds",
            "FieldValueInvalid"
        ));
        let toleration = json!({"key": "k", "operator": "Exists"});
        let tolerant = with(old.clone(), "spec.tolerations", json!([toleration.clone()]));
        assert!(validate_update("v1", "Pod", &tolerant, &old).is_empty());
        assert!(has(
            &validate_update("v1", "Pod", &old, &tolerant),
            "spec.tolerations[0]",
            "FieldValueForbidden"
        ));
        let grace = with(old.clone(), "spec.terminationGracePeriodSeconds", json!(5));
        assert!(validate_update("v1", "Pod", &grace, &old).is_empty());
        let containers =
            json!([old["spec"]["containers"][0], {"name": "sidecar", "image": "busybox"}]);
        let grown = with(old.clone(), "spec.containers", containers);
        assert!(has(
            &validate_update("v1", "Pod", &grown, &old),
            "spec",
            "FieldValueForbidden"
        ));
    }

    // ---- Workloads ----------------------------------------------------------------------

    const REQUIRED: &str = "FieldValueRequired";
    const INVALID: &str = "FieldValueInvalid";
    const NOT_SUPPORTED: &str = "FieldValueNotSupported";
    const FORBIDDEN: &str = "FieldValueForbidden";
    const DUPLICATE: &str = "FieldValueDuplicate";

    /// One broken variant of a manifest: (dotted path to set, value — null removes the
    /// field for the typed reads, field the cause names, its reason).
    type Edit<'a> = (&'a str, Value, &'a str, &'a str);

    #[track_caller]
    fn assert_edits(api_version: &str, kind: &str, base: &Value, edits: &[Edit]) {
        for (path, value, field, reason) in edits {
            let object = with(base.clone(), path, value.clone());
            let causes = validate_create(api_version, kind, &object);
            assert!(
                has(&causes, field, reason),
                "{path}={value}: expected {reason} at {field}, got {causes:#?}"
            );
        }
    }

    /// Objects say their own kind; typed reads reject a mismatch.
    fn as_kind(object: Value, kind: &str) -> Value {
        with(object, "kind", json!(kind))
    }

    fn stateful_set() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "selector": {"matchLabels": {"app": "nginx"}},
                "serviceName": "nginx",
                "replicas": 3,
                "minReadySeconds": 10,
                "template": {
                    "metadata": {"labels": {"app": "nginx"}},
                    "spec": {
                        "terminationGracePeriodSeconds": 10,
                        "containers": [{
                            "name": "nginx",
                            "image": "registry.k8s.io/nginx-slim:0.24",
                            "ports": [{"containerPort": 80, "name": "web"}],
                            "volumeMounts": [{"name": "www", "mountPath": "/usr/share/nginx/html"}],
                        }],
                    },
                },
                "volumeClaimTemplates": [{
                    "metadata": {"name": "www"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": "my-storage-class",
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }],
            },
        })
    }

    fn daemon_set() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "fluentd-elasticsearch", "namespace": "kube-system", "labels": {"k8s-app": "fluentd-logging"}},
            "spec": {
                "selector": {"matchLabels": {"name": "fluentd-elasticsearch"}},
                "template": {
                    "metadata": {"labels": {"name": "fluentd-elasticsearch"}},
                    "spec": {
                        "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}],
                        "containers": [{
                            "name": "fluentd-elasticsearch",
                            "image": "quay.io/fluentd_elasticsearch/fluentd:v2.5.2",
                            "resources": {"limits": {"memory": "200Mi"}, "requests": {"cpu": "100m", "memory": "200Mi"}},
                            "volumeMounts": [{"name": "varlog", "mountPath": "/var/log"}],
                        }],
                        "terminationGracePeriodSeconds": 30,
                        "volumes": [{"name": "varlog", "hostPath": {"path": "/var/log"}}],
                    },
                },
            },
        })
    }

    fn job() -> Value {
        json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "pi", "namespace": "default"},
            "spec": {
                "template": {"spec": {
                    "containers": [{"name": "pi", "image": "perl:5.34.0", "command": ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]}],
                    "restartPolicy": "Never",
                }},
                "backoffLimit": 4,
            },
        })
    }

    fn cron_job() -> Value {
        json!({
            "apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "hello", "namespace": "default"},
            "spec": {
                "schedule": "* * * * *",
                "jobTemplate": {"spec": {"template": {"spec": {
                    "containers": [{"name": "hello", "image": "busybox:1.28", "imagePullPolicy": "IfNotPresent",
                        "command": ["/bin/sh", "-c", "date; echo Hello from the Kubernetes cluster"]}],
                    "restartPolicy": "OnFailure",
                }}}},
            },
        })
    }

    #[test]
    fn documented_workloads_are_valid() {
        assert_valid("apps/v1", "Deployment", &nginx_deployment());
        assert_valid(
            "apps/v1",
            "ReplicaSet",
            &as_kind(nginx_deployment(), "ReplicaSet"),
        );
        assert_valid("apps/v1", "StatefulSet", &stateful_set());
        assert_valid("apps/v1", "DaemonSet", &daemon_set());
        assert_valid("batch/v1", "Job", &job());
        assert_valid("batch/v1", "CronJob", &cron_job());
    }

    #[test]
    fn workload_selector_rules() {
        let deployment = nginx_deployment();
        for kind in ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"] {
            let deployment = as_kind(deployment.clone(), kind);
            let object = with(
                deployment.clone(),
                "spec.template.metadata.labels",
                json!({"app": "web"}),
            );
            assert_cause(
                "apps/v1",
                kind,
                &object,
                "spec.template.metadata.labels",
                "FieldValueInvalid",
            );
            assert_cause(
                "apps/v1",
                kind,
                &without(deployment.clone(), "spec.selector"),
                "spec.selector",
                "FieldValueRequired",
            );
            assert_cause(
                "apps/v1",
                kind,
                &with(deployment.clone(), "spec.selector", json!({})),
                "spec.selector",
                "FieldValueInvalid",
            );
        }
        let expression = |value: Value| {
            with(
                deployment.clone(),
                "spec.selector",
                json!({"matchExpressions": [value]}),
            )
        };
        let missing_values = expression(json!({"key": "app", "operator": "In"}));
        assert_cause(
            "apps/v1",
            "Deployment",
            &missing_values,
            "spec.selector.matchExpressions[0].values",
            "FieldValueRequired",
        );
        let extra_values = expression(json!({"key": "app", "operator": "Exists", "values": ["x"]}));
        assert_cause(
            "apps/v1",
            "Deployment",
            &extra_values,
            "spec.selector.matchExpressions[0].values",
            "FieldValueForbidden",
        );
        let bad_operator = expression(json!({"key": "app", "operator": "Near"}));
        assert_cause(
            "apps/v1",
            "Deployment",
            &bad_operator,
            "spec.selector.matchExpressions[0].operator",
            "FieldValueInvalid",
        );
        let matching =
            expression(json!({"key": "app", "operator": "In", "values": ["nginx", "web"]}));
        assert!(validate_create("apps/v1", "Deployment", &matching).is_empty());
    }

    #[test]
    fn workload_template_rules() {
        let deployment = nginx_deployment();
        let never = with(
            deployment.clone(),
            "spec.template.spec.restartPolicy",
            json!("Never"),
        );
        assert_cause(
            "apps/v1",
            "Deployment",
            &never,
            "spec.template.spec.restartPolicy",
            "FieldValueNotSupported",
        );
        let deadline = with(
            deployment.clone(),
            "spec.template.spec.activeDeadlineSeconds",
            json!(5),
        );
        assert_cause(
            "apps/v1",
            "ReplicaSet",
            &as_kind(deadline, "ReplicaSet"),
            "spec.template.spec.activeDeadlineSeconds",
            "FieldValueForbidden",
        );
        let bad_container = with(
            deployment.clone(),
            "spec.template.spec.containers.0.name",
            json!("Nginx"),
        );
        assert_cause(
            "apps/v1",
            "Deployment",
            &bad_container,
            "spec.template.spec.containers[0].name",
            "FieldValueInvalid",
        );
        assert_cause(
            "apps/v1",
            "Deployment",
            &with(deployment, "spec.replicas", json!(-1)),
            "spec.replicas",
            "FieldValueInvalid",
        );
        let always = with(job(), "spec.template.spec.restartPolicy", json!("Always"));
        assert_cause(
            "batch/v1",
            "Job",
            &always,
            "spec.template.spec.restartPolicy",
            "FieldValueNotSupported",
        );
        // An absent policy defaults to Always, which a Job may not use.
        let absent = without(job(), "spec.template.spec.restartPolicy");
        assert_cause(
            "batch/v1",
            "Job",
            &absent,
            "spec.template.spec.restartPolicy",
            "FieldValueNotSupported",
        );
    }

    #[test]
    fn deployment_strategy_rules() {
        let deployment = nginx_deployment();
        let rolling = |update: Value| json!({"type": "RollingUpdate", "rollingUpdate": update});
        let fine = rolling(json!({"maxSurge": 1, "maxUnavailable": "50%"}));
        let fine = with(deployment.clone(), "spec.strategy", fine);
        assert!(validate_create("apps/v1", "Deployment", &fine).is_empty());
        let unavailable = "spec.strategy.rollingUpdate.maxUnavailable";
        let surge = "spec.strategy.rollingUpdate.maxSurge";
        let edits = [
            (
                "spec.strategy",
                json!({"type": "BlueGreen"}),
                "spec.strategy.type",
                NOT_SUPPORTED,
            ),
            (
                "spec.strategy",
                rolling(json!({"maxSurge": 0, "maxUnavailable": "0%"})),
                unavailable,
                INVALID,
            ),
            (
                "spec.strategy",
                rolling(json!({"maxUnavailable": "150%"})),
                unavailable,
                INVALID,
            ),
            (
                "spec.strategy",
                rolling(json!({"maxSurge": "half"})),
                surge,
                INVALID,
            ),
            (
                "spec.strategy",
                rolling(json!({"maxSurge": -1})),
                surge,
                INVALID,
            ),
            (
                "spec.strategy",
                json!({"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}),
                "spec.strategy.rollingUpdate",
                FORBIDDEN,
            ),
            (
                "spec.revisionHistoryLimit",
                json!(-2),
                "spec.revisionHistoryLimit",
                INVALID,
            ),
            (
                "spec.progressDeadlineSeconds",
                json!(0),
                "spec.progressDeadlineSeconds",
                INVALID,
            ),
        ];
        assert_edits("apps/v1", "Deployment", &deployment, &edits);
    }

    #[test]
    fn stateful_set_and_daemon_set_rules() {
        let set = stateful_set();
        assert_cause(
            "apps/v1",
            "StatefulSet",
            &with(set.clone(), "spec.podManagementPolicy", json!("Random")),
            "spec.podManagementPolicy",
            "FieldValueNotSupported",
        );
        assert_cause(
            "apps/v1",
            "StatefulSet",
            &with(set.clone(), "spec.serviceName", json!("Bad.Name")),
            "spec.serviceName",
            "FieldValueInvalid",
        );
        let strategy = json!({"type": "OnDelete", "rollingUpdate": {"partition": 1}});
        assert_cause(
            "apps/v1",
            "StatefulSet",
            &with(set.clone(), "spec.updateStrategy", strategy),
            "spec.updateStrategy.rollingUpdate",
            "FieldValueForbidden",
        );
        let partition = json!({"type": "RollingUpdate", "rollingUpdate": {"partition": -1}});
        assert_cause(
            "apps/v1",
            "StatefulSet",
            &with(set, "spec.updateStrategy", partition),
            "spec.updateStrategy.rollingUpdate.partition",
            "FieldValueInvalid",
        );
        let daemons = daemon_set();
        assert_cause(
            "apps/v1",
            "DaemonSet",
            &with(
                daemons.clone(),
                "spec.updateStrategy",
                json!({"type": "Parallel"}),
            ),
            "spec.updateStrategy.type",
            "FieldValueNotSupported",
        );
        let zero =
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}});
        assert_cause(
            "apps/v1",
            "DaemonSet",
            &with(daemons, "spec.updateStrategy", zero),
            "spec.updateStrategy.rollingUpdate.maxUnavailable",
            "FieldValueInvalid",
        );
    }

    #[test]
    fn job_rules() {
        let job = job();
        for field in [
            "parallelism",
            "completions",
            "backoffLimit",
            "activeDeadlineSeconds",
            "ttlSecondsAfterFinished",
        ] {
            let object = with(job.clone(), &format!("spec.{field}"), json!(-1));
            assert_cause(
                "batch/v1",
                "Job",
                &object,
                &format!("spec.{field}"),
                "FieldValueInvalid",
            );
        }
        assert_cause(
            "batch/v1",
            "Job",
            &with(job.clone(), "spec.completionMode", json!("Sometimes")),
            "spec.completionMode",
            "FieldValueNotSupported",
        );
        assert_cause(
            "batch/v1",
            "Job",
            &with(job.clone(), "spec.completionMode", json!("Indexed")),
            "spec.completions",
            "FieldValueRequired",
        );
        assert_cause(
            "batch/v1",
            "Job",
            &with(job.clone(), "spec.manualSelector", json!(true)),
            "spec.selector",
            "FieldValueRequired",
        );
        let selector = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}});
        assert_cause(
            "batch/v1",
            "Job",
            &with(job, "spec.selector", selector),
            "spec.template.metadata.labels",
            "FieldValueInvalid",
        );
    }

    #[test]
    fn cron_job_rules() {
        let cron = cron_job();
        let valid = [
            "*/5 * * * *",
            "0 0 1,15 * mon-fri",
            "@hourly",
            "@every 1h30m",
            "0 9 * JAN-MAR SUN",
            "30 2 ? * *",
        ];
        for schedule in valid {
            let object = with(cron.clone(), "spec.schedule", json!(schedule));
            assert!(
                validate_create("batch/v1", "CronJob", &object).is_empty(),
                "{schedule}"
            );
        }
        let invalid = [
            "* * * *",
            "60 * * * *",
            "* 24 * * *",
            "* * 0 * *",
            "* * * 13 *",
            "* * * * 7",
            "@fortnightly",
            "*/0 * * * *",
            "a * * * *",
            "5-1 * * * *",
            "TZ=UTC * * * * *",
        ];
        let edits: Vec<Edit> = invalid
            .iter()
            .map(|schedule| ("spec.schedule", json!(schedule), "spec.schedule", INVALID))
            .collect();
        assert_edits("batch/v1", "CronJob", &cron, &edits);
        let restart = "spec.jobTemplate.spec.template.spec.restartPolicy";
        let edits = [
            ("spec.schedule", json!(""), "spec.schedule", REQUIRED),
            (
                "spec.concurrencyPolicy",
                json!("Queue"),
                "spec.concurrencyPolicy",
                NOT_SUPPORTED,
            ),
            (
                "spec.successfulJobsHistoryLimit",
                json!(-1),
                "spec.successfulJobsHistoryLimit",
                INVALID,
            ),
            (restart, json!("Always"), restart, NOT_SUPPORTED),
        ];
        assert_edits("batch/v1", "CronJob", &cron, &edits);
    }

    #[test]
    fn controller_revision_rules() {
        let revision = json!({"metadata": {"name": "web-6d4cf56db6", "namespace": "default"}, "data": {"spec": {}}, "revision": 1});
        assert_valid("apps/v1", "ControllerRevision", &revision);
        assert_cause(
            "apps/v1",
            "ControllerRevision",
            &without(revision.clone(), "data"),
            "data",
            "FieldValueRequired",
        );
        assert_cause(
            "apps/v1",
            "ControllerRevision",
            &with(revision.clone(), "revision", json!(-1)),
            "revision",
            "FieldValueInvalid",
        );
        let changed = with(revision.clone(), "data", json!({"spec": {"x": 1}}));
        assert!(has(
            &validate_update("apps/v1", "ControllerRevision", &changed, &revision),
            "data",
            "FieldValueInvalid"
        ));
    }

    #[test]
    fn workload_update_rules() {
        let old = nginx_deployment();
        let scaled = with(old.clone(), "spec.replicas", json!(5));
        assert!(validate_update("apps/v1", "Deployment", &scaled, &old).is_empty());
        let labels = json!({"app": "nginx", "tier": "web"});
        let reselected = with(
            with(old.clone(), "spec.selector.matchLabels", labels.clone()),
            "spec.template.metadata.labels",
            labels,
        );
        for kind in ["Deployment", "ReplicaSet", "DaemonSet"] {
            let (new, old) = (
                as_kind(reselected.clone(), kind),
                as_kind(old.clone(), kind),
            );
            assert!(has(
                &validate_update("apps/v1", kind, &new, &old),
                "spec.selector",
                "FieldValueInvalid"
            ));
        }
        let set = stateful_set();
        let scaled = with(set.clone(), "spec.replicas", json!(5));
        assert!(validate_update("apps/v1", "StatefulSet", &scaled, &set).is_empty());
        let renamed = with(set.clone(), "spec.serviceName", json!("other"));
        assert!(has(
            &validate_update("apps/v1", "StatefulSet", &renamed, &set),
            "spec",
            "FieldValueForbidden"
        ));
        let job = job();
        let new_image = with(
            job.clone(),
            "spec.template.spec.containers.0.image",
            json!("perl:5.36"),
        );
        assert!(has(
            &validate_update("batch/v1", "Job", &new_image, &job),
            "spec.template",
            "FieldValueInvalid"
        ));
        let selector = json!({"matchLabels": {"x": "y"}});
        let selected = with(job.clone(), "spec.selector", selector);
        assert!(has(
            &validate_update("batch/v1", "Job", &selected, &job),
            "spec.selector",
            "FieldValueInvalid"
        ));
    }

    // ---- Services and endpoints ---------------------------------------------------------

    #[test]
    fn documented_services_are_valid() {
        assert_valid("v1", "Service", &service());
        let external = json!({"metadata": {"name": "my-service", "namespace": "prod"},
            "spec": {"type": "ExternalName", "externalName": "my.database.example.com"}});
        assert_valid("v1", "Service", &external);
        let headless = json!({"metadata": {"name": "nginx", "namespace": "default"},
            "spec": {"clusterIP": "None", "selector": {"app": "nginx"}}});
        assert_valid("v1", "Service", &headless);
        let node_port = json!({"metadata": {"name": "my-service", "namespace": "default"},
            "spec": {"type": "NodePort", "selector": {"app": "MyApp"},
                "ports": [{"port": 80, "targetPort": 80, "nodePort": 30007}]}});
        assert_valid("v1", "Service", &node_port);
        let endpoints = json!({"metadata": {"name": "my-service", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": "192.0.2.42"}], "ports": [{"port": 9376}]}]});
        assert_valid("v1", "Endpoints", &endpoints);
    }

    #[test]
    fn service_port_rules() {
        let two = json!([{"port": 80}, {"port": 443}]);
        let same = json!([{"name": "web", "port": 80}, {"name": "web", "port": 443}]);
        let clash = json!([{"name": "a", "port": 80}, {"name": "b", "port": 80}]);
        let edits = [
            ("spec.ports", Value::Null, "spec.ports", REQUIRED),
            ("spec.ports.0.port", json!(0), "spec.ports[0].port", INVALID),
            (
                "spec.ports.0.targetPort",
                json!(70000),
                "spec.ports[0].targetPort",
                INVALID,
            ),
            (
                "spec.ports.0.targetPort",
                json!("HTTP_PORT"),
                "spec.ports[0].targetPort",
                INVALID,
            ),
            (
                "spec.ports.0.protocol",
                json!("ICMP"),
                "spec.ports[0].protocol",
                NOT_SUPPORTED,
            ),
            (
                "spec.ports.0.nodePort",
                json!(30001),
                "spec.ports[0].nodePort",
                FORBIDDEN,
            ),
            ("spec.ports", two, "spec.ports[0].name", REQUIRED),
            ("spec.ports", same, "spec.ports[1].name", DUPLICATE),
            ("spec.ports", clash, "spec.ports[1]", DUPLICATE),
        ];
        assert_edits("v1", "Service", &service(), &edits);
    }

    #[test]
    fn service_rules() {
        let external =
            json!({"type": "ExternalName", "externalName": "Not A Host", "clusterIP": "10.0.0.1"});
        let edits = [
            ("spec.type", json!("Ingress"), "spec.type", NOT_SUPPORTED),
            (
                "spec.clusterIP",
                json!("10.0.0.300"),
                "spec.clusterIPs[0]",
                INVALID,
            ),
            (
                "spec.sessionAffinity",
                json!("Cookie"),
                "spec.sessionAffinity",
                NOT_SUPPORTED,
            ),
            (
                "spec.externalTrafficPolicy",
                json!("Local"),
                "spec.externalTrafficPolicy",
                INVALID,
            ),
            (
                "spec.ipFamilyPolicy",
                json!("DualStack"),
                "spec.ipFamilyPolicy",
                NOT_SUPPORTED,
            ),
            (
                "spec.selector",
                json!({"app": "a b"}),
                "spec.selector",
                INVALID,
            ),
            ("spec", external.clone(), "spec.externalName", INVALID),
            ("spec", external, "spec.clusterIP", FORBIDDEN),
        ];
        assert_edits("v1", "Service", &service(), &edits);
    }

    #[test]
    fn service_update_rules() {
        let old = with(service(), "spec.clusterIP", json!("10.96.0.10"));
        let moved = with(old.clone(), "spec.clusterIP", json!("10.96.0.11"));
        assert!(has(
            &validate_update("v1", "Service", &moved, &old),
            "spec.clusterIPs[0]",
            "FieldValueInvalid"
        ));
        let omitted = service();
        assert!(validate_update("v1", "Service", &omitted, &old).is_empty());
        let retargeted = with(old.clone(), "spec.ports.0.targetPort", json!(8080));
        assert!(validate_update("v1", "Service", &retargeted, &old).is_empty());
    }

    #[test]
    fn endpoints_rules() {
        let endpoints = json!({"metadata": {"name": "svc", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": "not-an-ip"}], "ports": [{"port": 80}, {"port": 81, "protocol": "TCP"}]}]});
        assert_cause(
            "v1",
            "Endpoints",
            &endpoints,
            "subsets[0].addresses[0].ip",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            "Endpoints",
            &endpoints,
            "subsets[0].ports[0].name",
            "FieldValueRequired",
        );
        let empty = with(endpoints, "subsets.0", json!({"ports": [{"port": 80}]}));
        assert_cause(
            "v1",
            "Endpoints",
            &empty,
            "subsets[0]",
            "FieldValueRequired",
        );
    }

    #[test]
    fn endpoint_slice_rules() {
        let slice = json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "example-abc", "namespace": "default", "labels": {"kubernetes.io/service-name": "example"}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "protocol": "TCP", "port": 80}],
            "endpoints": [{"addresses": ["10.1.2.3"], "conditions": {"ready": true}, "hostname": "pod-1", "nodeName": "node-1", "zone": "us-west2-a"}],
        });
        assert_valid("discovery.k8s.io/v1", "EndpointSlice", &slice);
        let kind = "EndpointSlice";
        let group = "discovery.k8s.io/v1";
        assert_cause(
            group,
            kind,
            &with(slice.clone(), "addressType", json!("IPv5")),
            "addressType",
            "FieldValueNotSupported",
        );
        assert_cause(
            group,
            kind,
            &with(slice.clone(), "endpoints.0.addresses", json!([])),
            "endpoints[0].addresses",
            "FieldValueRequired",
        );
        assert_cause(
            group,
            kind,
            &with(slice.clone(), "endpoints.0.addresses", json!(["fe80::1"])),
            "endpoints[0].addresses[0]",
            "FieldValueInvalid",
        );
        assert_cause(
            group,
            kind,
            &with(slice.clone(), "ports.0.name", json!("HTTP")),
            "ports[0].name",
            "FieldValueInvalid",
        );
        assert_cause(
            group,
            kind,
            &with(slice.clone(), "ports.0.protocol", json!("QUIC")),
            "ports[0].protocol",
            "FieldValueNotSupported",
        );
        let many = json!(vec![
            json!({"addresses": ["10.0.0.1"]});
            ENDPOINTSLICE_ENDPOINTS_LIMIT + 1
        ]);
        assert_cause(
            group,
            kind,
            &with(slice.clone(), "endpoints", many),
            "endpoints",
            "FieldValueTooMany",
        );
        let retyped = with(slice.clone(), "addressType", json!("IPv6"));
        let retyped = with(retyped, "endpoints.0.addresses", json!(["fe80::1"]));
        assert!(has(
            &validate_update(group, kind, &retyped, &slice),
            "addressType",
            "FieldValueInvalid"
        ));
    }

    // ---- Configuration ------------------------------------------------------------------

    #[test]
    fn config_map_rules() {
        let config_map = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "game-demo", "namespace": "default"},
            "data": {"player_initial_lives": "3", "ui_properties_file_name": "user-interface.properties",
                "game.properties": "enemy.types=aliens,monsters\nplayer.maximum-lives=5\n"}});
        assert_valid("v1", "ConfigMap", &config_map);
        for bad in ["a b", "..hidden", ".", "x/y"] {
            let object = with(config_map.clone(), "data", json!({bad: "v"}));
            assert_cause(
                "v1",
                "ConfigMap",
                &object,
                &format!("data[{bad}]"),
                "FieldValueInvalid",
            );
        }
        let big = "x".repeat(CONFIG_DATA_LIMIT_BYTES + 1);
        assert_cause(
            "v1",
            "ConfigMap",
            &with(config_map.clone(), "data", json!({"big": big})),
            "",
            "FieldValueTooLong",
        );
        let both = with(
            config_map.clone(),
            "binaryData",
            json!({"game.properties": "AAAA"}),
        );
        assert_cause(
            "v1",
            "ConfigMap",
            &both,
            "binaryData[game.properties]",
            "FieldValueInvalid",
        );
        let frozen = with(config_map.clone(), "immutable", json!(true));
        let changed = with(frozen.clone(), "data.player_initial_lives", json!("4"));
        assert!(has(
            &validate_update("v1", "ConfigMap", &changed, &frozen),
            "data",
            "FieldValueForbidden"
        ));
        let thawed = with(frozen.clone(), "immutable", json!(false));
        assert!(has(
            &validate_update("v1", "ConfigMap", &thawed, &frozen),
            "immutable",
            "FieldValueForbidden"
        ));
        let edited = with(config_map.clone(), "data.player_initial_lives", json!("4"));
        assert!(validate_update("v1", "ConfigMap", &edited, &config_map).is_empty());
    }

    #[test]
    fn secret_rules() {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "dotfile-secret", "namespace": "default"},
            "data": {".secret-file": "dmFsdWUtMg0KDQo="}});
        assert_valid("v1", "Secret", &secret);
        let tls = with(secret.clone(), "type", json!("kubernetes.io/tls"));
        assert_cause("v1", "Secret", &tls, "data[tls.crt]", "FieldValueRequired");
        assert_cause("v1", "Secret", &tls, "data[tls.key]", "FieldValueRequired");
        let tls = with(
            tls,
            "data",
            json!({"tls.crt": "Y2VydA==", "tls.key": "a2V5"}),
        );
        assert!(validate_create("v1", "Secret", &tls).is_empty());
        let docker = with(
            secret.clone(),
            "type",
            json!("kubernetes.io/dockerconfigjson"),
        );
        assert_cause(
            "v1",
            "Secret",
            &docker,
            "data[.dockerconfigjson]",
            "FieldValueRequired",
        );
        let basic = with(secret.clone(), "type", json!("kubernetes.io/basic-auth"));
        assert_cause(
            "v1",
            "Secret",
            &basic,
            "data[username]",
            "FieldValueRequired",
        );
        let basic = with(basic, "stringData", json!({"username": "admin"}));
        assert!(validate_create("v1", "Secret", &basic).is_empty());
        let token = with(
            secret.clone(),
            "type",
            json!("kubernetes.io/service-account-token"),
        );
        assert_cause(
            "v1",
            "Secret",
            &token,
            "metadata.annotations[kubernetes.io/service-account.name]",
            "FieldValueRequired",
        );
        assert_cause(
            "v1",
            "Secret",
            &with(secret.clone(), "stringData", json!({"bad key": "x"})),
            "stringData[bad key]",
            "FieldValueInvalid",
        );
        let retyped = with(secret.clone(), "type", json!("kubernetes.io/ssh-auth"));
        let retyped = with(retyped, "data", json!({"ssh-privatekey": "a2V5"}));
        assert!(has(
            &validate_update("v1", "Secret", &retyped, &secret),
            "type",
            "FieldValueInvalid"
        ));
        let frozen = with(secret.clone(), "immutable", json!(true));
        let changed = with(frozen.clone(), "data", json!({"x": "eA=="}));
        assert!(has(
            &validate_update("v1", "Secret", &changed, &frozen),
            "data",
            "FieldValueForbidden"
        ));
    }

    // ---- Storage ------------------------------------------------------------------------

    fn persistent_volume() -> Value {
        json!({"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": "task-pv-volume", "labels": {"type": "local"}},
            "spec": {"storageClassName": "manual", "capacity": {"storage": "10Gi"},
                "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/mnt/data"}}})
    }

    fn claim() -> Value {
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "task-pv-claim", "namespace": "default"},
            "spec": {"storageClassName": "manual", "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "3Gi"}}}})
    }

    #[test]
    fn persistent_volume_rules() {
        let volume = persistent_volume();
        assert_valid("v1", "PersistentVolume", &volume);
        let modes = "spec.accessModes";
        let edits = [
            ("spec.capacity", Value::Null, "spec.capacity", REQUIRED),
            (
                "spec.capacity",
                json!({"cpu": "1"}),
                "spec.capacity",
                NOT_SUPPORTED,
            ),
            (
                "spec.capacity.storage",
                json!("0"),
                "spec.capacity[storage]",
                INVALID,
            ),
            (modes, Value::Null, modes, REQUIRED),
            (modes, json!(["ReadSometimes"]), modes, NOT_SUPPORTED),
            (
                modes,
                json!(["ReadWriteOncePod", "ReadOnlyMany"]),
                modes,
                FORBIDDEN,
            ),
            ("spec.hostPath", Value::Null, "spec", REQUIRED),
            (
                "spec.nfs",
                json!({"server": "nfs", "path": "/"}),
                "spec.nfs",
                FORBIDDEN,
            ),
            (
                "spec.persistentVolumeReclaimPolicy",
                json!("Keep"),
                "spec.persistentVolumeReclaimPolicy",
                NOT_SUPPORTED,
            ),
        ];
        assert_edits("v1", "PersistentVolume", &volume, &edits);
        let local = with(volume.clone(), "spec.hostPath", Value::Null);
        let local = with(local, "spec.local", json!({"path": "/mnt/disks/ssd1"}));
        assert_cause(
            "v1",
            "PersistentVolume",
            &local,
            "spec.nodeAffinity",
            REQUIRED,
        );
    }

    #[test]
    fn persistent_volume_update_rules() {
        let kind = "PersistentVolume";
        let volume = persistent_volume();
        let moved = with(volume.clone(), "spec.hostPath.path", json!("/mnt/other"));
        let causes = validate_update("v1", kind, &moved, &volume);
        assert!(has(&causes, "spec.persistentvolumesource", FORBIDDEN));
        let grown = with(volume.clone(), "spec.capacity.storage", json!("20Gi"));
        assert!(validate_update("v1", kind, &grown, &volume).is_empty());
        let block = with(volume.clone(), "spec.volumeMode", json!("Block"));
        assert!(has(
            &validate_update("v1", kind, &block, &volume),
            "spec.volumeMode",
            INVALID
        ));
    }

    #[test]
    fn persistent_volume_claim_rules() {
        let claim = claim();
        assert_valid("v1", "PersistentVolumeClaim", &claim);
        let kind = "PersistentVolumeClaim";
        assert_cause(
            "v1",
            kind,
            &without(claim.clone(), "spec.accessModes"),
            "spec.accessModes",
            "FieldValueRequired",
        );
        assert_cause(
            "v1",
            kind,
            &without(claim.clone(), "spec.resources"),
            "spec.resources[storage]",
            "FieldValueRequired",
        );
        assert_cause(
            "v1",
            kind,
            &with(claim.clone(), "spec.resources.requests.storage", json!("0")),
            "spec.resources[storage]",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            kind,
            &with(claim.clone(), "spec.volumeMode", json!("Raw")),
            "spec.volumeMode",
            "FieldValueNotSupported",
        );
        assert_cause(
            "v1",
            kind,
            &with(claim.clone(), "spec.storageClassName", json!("Fast SSD")),
            "spec.storageClassName",
            "FieldValueInvalid",
        );
    }

    #[test]
    fn persistent_volume_claim_update_rules() {
        let kind = "PersistentVolumeClaim";
        let pending = claim();
        let bound = with(pending.clone(), "status", json!({"phase": "Bound"}));
        let grown = with(
            bound.clone(),
            "spec.resources.requests.storage",
            json!("5Gi"),
        );
        assert!(validate_update("v1", kind, &grown, &bound).is_empty());
        let shrunk = with(
            bound.clone(),
            "spec.resources.requests.storage",
            json!("1Gi"),
        );
        assert!(has(
            &validate_update("v1", kind, &shrunk, &bound),
            "spec.resources.requests.storage",
            "FieldValueForbidden"
        ));
        let grown_pending = with(
            pending.clone(),
            "spec.resources.requests.storage",
            json!("5Gi"),
        );
        assert!(has(
            &validate_update("v1", kind, &grown_pending, &pending),
            "spec",
            "FieldValueForbidden"
        ));
        let reclassed = with(bound.clone(), "spec.storageClassName", json!("fast"));
        assert!(has(
            &validate_update("v1", kind, &reclassed, &bound),
            "spec",
            "FieldValueForbidden"
        ));
        let named = with(pending.clone(), "spec.volumeName", json!("task-pv-volume"));
        assert!(validate_update("v1", kind, &named, &pending).is_empty());
        let renamed = with(named.clone(), "spec.volumeName", json!("other"));
        assert!(has(
            &validate_update("v1", kind, &renamed, &named),
            "spec",
            "FieldValueForbidden"
        ));
    }

    #[test]
    fn storage_class_rules() {
        let class = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "low-latency", "annotations": {"storageclass.kubernetes.io/is-default-class": "false"}},
            "provisioner": "csi-driver.example-vendor.example", "reclaimPolicy": "Retain",
            "allowVolumeExpansion": true, "mountOptions": ["discard"], "volumeBindingMode": "WaitForFirstConsumer",
            "parameters": {"guaranteedReadWriteLatency": "true"}});
        let group = "storage.k8s.io/v1";
        assert_valid(group, "StorageClass", &class);
        let edits = [
            ("provisioner", Value::Null, "provisioner", REQUIRED),
            (
                "provisioner",
                json!("bad provisioner"),
                "provisioner",
                INVALID,
            ),
            (
                "reclaimPolicy",
                json!("Recycle"),
                "reclaimPolicy",
                NOT_SUPPORTED,
            ),
            (
                "volumeBindingMode",
                json!("Later"),
                "volumeBindingMode",
                NOT_SUPPORTED,
            ),
            ("parameters", json!({"": "x"}), "parameters", INVALID),
        ];
        assert_edits(group, "StorageClass", &class, &edits);
        let updates = [
            ("parameters", json!({"type": "pd-ssd"}), FORBIDDEN),
            ("provisioner", json!("other.example.com"), FORBIDDEN),
            ("reclaimPolicy", json!("Delete"), FORBIDDEN),
            ("volumeBindingMode", json!("Immediate"), INVALID),
        ];
        for (field, value, reason) in updates {
            let changed = with(class.clone(), field, value);
            let causes = validate_update(group, "StorageClass", &changed, &class);
            assert!(has(&causes, field, reason), "{field}");
        }
        let expanded = with(class.clone(), "allowVolumeExpansion", json!(false));
        assert!(validate_update(group, "StorageClass", &expanded, &class).is_empty());
    }

    // ---- Policy -------------------------------------------------------------------------

    #[test]
    fn limit_range_rules() {
        let range = json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "cpu-resource-constraint", "namespace": "default"},
            "spec": {"limits": [{"default": {"cpu": "500m"}, "defaultRequest": {"cpu": "500m"},
                "max": {"cpu": "1"}, "min": {"cpu": "100m"}, "type": "Container"}]}});
        assert_valid("v1", "LimitRange", &range);
        let twice = json!([{"type": "Container"}, {"type": "Container"}]);
        let edits = [
            (
                "spec.limits.0.type",
                json!("Namespace"),
                "spec.limits[0].type",
                INVALID,
            ),
            (
                "spec.limits.0.min.cpu",
                json!("2"),
                "spec.limits[0].min[cpu]",
                INVALID,
            ),
            (
                "spec.limits.0.default.cpu",
                json!("2"),
                "spec.limits[0].default[cpu]",
                INVALID,
            ),
            (
                "spec.limits.0.defaultRequest.cpu",
                json!("50m"),
                "spec.limits[0].defaultRequest[cpu]",
                INVALID,
            ),
            (
                "spec.limits.0.max.cpu",
                json!("-1"),
                "spec.limits[0].max[cpu]",
                INVALID,
            ),
            (
                "spec.limits.0.maxLimitRequestRatio",
                json!({"cpu": "500m"}),
                "spec.limits[0].maxLimitRequestRatio[cpu]",
                INVALID,
            ),
            (
                "spec.limits",
                json!([{"type": "Pod", "default": {"cpu": "1"}}]),
                "spec.limits[0].default",
                FORBIDDEN,
            ),
            ("spec.limits", twice, "spec.limits[1].type", DUPLICATE),
        ];
        assert_edits("v1", "LimitRange", &range, &edits);
    }

    #[test]
    fn resource_quota_rules() {
        let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "pods-high", "namespace": "default"},
            "spec": {"hard": {"cpu": "1000", "memory": "200Gi", "pods": "10", "requests.nvidia.com/gpu": "4"}, "scopes": ["NotTerminating"]}});
        assert_valid("v1", "ResourceQuota", &quota);
        assert_cause(
            "v1",
            "ResourceQuota",
            &with(quota.clone(), "spec.hard.cpu", json!("-1")),
            "spec.hard[cpu]",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            "ResourceQuota",
            &with(quota.clone(), "spec.hard.memory", json!("a lot")),
            "spec.hard[memory]",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            "ResourceQuota",
            &with(quota.clone(), "spec.scopes", json!(["Sometimes"])),
            "spec.scopes",
            "FieldValueInvalid",
        );
        let conflicting = json!(["Terminating", "NotTerminating"]);
        assert_cause(
            "v1",
            "ResourceQuota",
            &with(quota, "spec.scopes", conflicting),
            "spec.scopes",
            "FieldValueInvalid",
        );
    }

    // ---- RBAC ---------------------------------------------------------------------------

    #[test]
    fn role_rules() {
        let role = json!({"apiVersion": RBAC_V1, "kind": "Role", "metadata": {"namespace": "default", "name": "pod-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list"]}]});
        assert_valid(RBAC_V1, "Role", &role);
        let cluster_role = json!({"apiVersion": RBAC_V1, "kind": "ClusterRole", "metadata": {"name": "secret-reader"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]},
                {"nonResourceURLs": ["/healthz", "/healthz/*"], "verbs": ["get", "post"]}]});
        assert_valid(RBAC_V1, "ClusterRole", &cluster_role);
        assert_cause(
            RBAC_V1,
            "Role",
            &with(role.clone(), "rules.0.verbs", json!([])),
            "rules[0].verbs",
            "FieldValueRequired",
        );
        assert_cause(
            RBAC_V1,
            "Role",
            &without(role.clone(), "rules.0.apiGroups"),
            "rules[0].apiGroups",
            "FieldValueRequired",
        );
        assert_cause(
            RBAC_V1,
            "Role",
            &without(role.clone(), "rules.0.resources"),
            "rules[0].resources",
            "FieldValueRequired",
        );
        let urls = json!([{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]);
        assert_cause(
            RBAC_V1,
            "Role",
            &with(role, "rules", urls),
            "rules[0].nonResourceURLs",
            "FieldValueInvalid",
        );
        let mixed = with(cluster_role, "rules.1.resources", json!(["pods"]));
        assert_cause(
            RBAC_V1,
            "ClusterRole",
            &mixed,
            "rules[1].nonResourceURLs",
            "FieldValueInvalid",
        );
    }

    #[test]
    fn role_binding_rules() {
        let binding = json!({"apiVersion": RBAC_V1, "kind": "RoleBinding", "metadata": {"name": "read-pods", "namespace": "default"},
            "subjects": [{"kind": "User", "name": "jane", "apiGroup": RBAC_GROUP}, {"kind": "ServiceAccount", "name": "default"}],
            "roleRef": {"kind": "Role", "name": "pod-reader", "apiGroup": RBAC_GROUP}});
        assert_valid(RBAC_V1, "RoleBinding", &binding);
        let edits = [
            (
                "roleRef.apiGroup",
                json!("apps"),
                "roleRef.apiGroup",
                NOT_SUPPORTED,
            ),
            (
                "roleRef.kind",
                json!("Group"),
                "roleRef.kind",
                NOT_SUPPORTED,
            ),
            ("roleRef.name", json!(""), "roleRef.name", REQUIRED),
            (
                "subjects.0.kind",
                json!("Robot"),
                "subjects[0].kind",
                NOT_SUPPORTED,
            ),
            (
                "subjects.0.apiGroup",
                json!("v1"),
                "subjects[0].apiGroup",
                NOT_SUPPORTED,
            ),
            (
                "subjects.1.apiGroup",
                json!(RBAC_GROUP),
                "subjects[1].apiGroup",
                NOT_SUPPORTED,
            ),
            (
                "subjects.1.name",
                json!("Bad_Name"),
                "subjects[1].name",
                INVALID,
            ),
            ("subjects.0.name", json!(""), "subjects[0].name", REQUIRED),
        ];
        assert_edits(RBAC_V1, "RoleBinding", &binding, &edits);
        let rebound = with(binding.clone(), "roleRef.name", json!("pod-writer"));
        let causes = validate_update(RBAC_V1, "RoleBinding", &rebound, &binding);
        assert!(has(&causes, "roleRef", INVALID));
        let more = with(binding.clone(), "subjects.0.name", json!("joe"));
        assert!(validate_update(RBAC_V1, "RoleBinding", &more, &binding).is_empty());
    }

    #[test]
    fn cluster_role_binding_rules() {
        let binding = json!({"apiVersion": RBAC_V1, "kind": "ClusterRoleBinding", "metadata": {"name": "read-secrets-global"},
            "subjects": [{"kind": "Group", "name": "manager", "apiGroup": RBAC_GROUP}],
            "roleRef": {"kind": "ClusterRole", "name": "secret-reader", "apiGroup": RBAC_GROUP}});
        assert_valid(RBAC_V1, "ClusterRoleBinding", &binding);
        let kind = "ClusterRoleBinding";
        assert_cause(
            RBAC_V1,
            kind,
            &with(binding.clone(), "roleRef.kind", json!("Role")),
            "roleRef.kind",
            "FieldValueNotSupported",
        );
        let account = json!([{"kind": "ServiceAccount", "name": "builder"}]);
        assert_cause(
            RBAC_V1,
            kind,
            &with(binding.clone(), "subjects", account),
            "subjects[0].namespace",
            "FieldValueRequired",
        );
        let rebound = with(binding.clone(), "roleRef.name", json!("admin"));
        assert!(has(
            &validate_update(RBAC_V1, kind, &rebound, &binding),
            "roleRef",
            "FieldValueInvalid"
        ));
    }

    // ---- Autoscaling, coordination, nodes, namespaces, events, accounts --------------------

    #[test]
    fn hpa_rules() {
        let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "php-apache", "namespace": "default"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "php-apache"},
                "minReplicas": 1, "maxReplicas": 10,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}});
        let group = "autoscaling/v2";
        let kind = "HorizontalPodAutoscaler";
        assert_valid(group, kind, &hpa);
        assert_cause(
            group,
            kind,
            &with(hpa.clone(), "spec.minReplicas", json!(0)),
            "spec.minReplicas",
            "FieldValueInvalid",
        );
        assert_cause(
            group,
            kind,
            &with(hpa.clone(), "spec.maxReplicas", json!(0)),
            "spec.maxReplicas",
            "FieldValueInvalid",
        );
        let inverted = with(hpa.clone(), "spec.minReplicas", json!(20));
        assert_cause(
            group,
            kind,
            &inverted,
            "spec.maxReplicas",
            "FieldValueInvalid",
        );
        assert_cause(
            group,
            kind,
            &without(hpa.clone(), "spec.scaleTargetRef.name"),
            "spec.scaleTargetRef.name",
            "FieldValueRequired",
        );
        assert_cause(
            group,
            kind,
            &with(hpa.clone(), "spec.scaleTargetRef.kind", json!("")),
            "spec.scaleTargetRef.kind",
            "FieldValueRequired",
        );
        assert_cause(
            group,
            kind,
            &with(hpa.clone(), "spec.metrics.0.type", json!("Memory")),
            "spec.metrics[0].type",
            "FieldValueNotSupported",
        );
        assert_cause(
            group,
            kind,
            &with(hpa.clone(), "spec.metrics.0.type", json!("Pods")),
            "spec.metrics[0].pods",
            "FieldValueRequired",
        );
        let target = with(hpa, "spec.metrics.0.resource.target.type", json!("Percent"));
        assert_cause(
            group,
            kind,
            &target,
            "spec.metrics[0].resource.target.type",
            "FieldValueNotSupported",
        );
    }

    #[test]
    fn lease_rules() {
        let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "kube-scheduler", "namespace": "kube-system"},
            "spec": {"holderIdentity": "node-1_1234", "leaseDurationSeconds": 15, "leaseTransitions": 3,
                "acquireTime": "2024-01-01T00:00:00.000000Z", "renewTime": "2024-01-01T00:00:10.000000Z"}});
        let group = "coordination.k8s.io/v1";
        assert_valid(group, "Lease", &lease);
        assert_cause(
            group,
            "Lease",
            &with(lease.clone(), "spec.leaseDurationSeconds", json!(0)),
            "spec.leaseDurationSeconds",
            "FieldValueInvalid",
        );
        assert_cause(
            group,
            "Lease",
            &with(lease.clone(), "spec.leaseTransitions", json!(-1)),
            "spec.leaseTransitions",
            "FieldValueInvalid",
        );
        assert_cause(
            group,
            "Lease",
            &with(lease.clone(), "spec.strategy", json!("Newest")),
            "spec.strategy",
            "FieldValueNotSupported",
        );
        assert_cause(
            group,
            "Lease",
            &with(lease, "spec.preferredHolder", json!("node-2")),
            "spec.preferredHolder",
            "FieldValueForbidden",
        );
    }

    #[test]
    fn node_rules() {
        let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "10.240.79.157", "labels": {"name": "my-first-k8s-node"}},
            "spec": {"podCIDRs": ["10.244.1.0/24"], "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}});
        assert_valid("v1", "Node", &node);
        assert_cause(
            "v1",
            "Node",
            &with(node.clone(), "spec.podCIDRs", json!(["10.244.1.0"])),
            "spec.podCIDRs[0]",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            "Node",
            &with(node.clone(), "spec.taints.0.effect", json!("")),
            "spec.taints[0].effect",
            "FieldValueRequired",
        );
        assert_cause(
            "v1",
            "Node",
            &with(node.clone(), "spec.taints.0.effect", json!("Evict")),
            "spec.taints[0].effect",
            "FieldValueNotSupported",
        );
        assert_cause(
            "v1",
            "Node",
            &with(node.clone(), "spec.taints.0.key", json!("bad key")),
            "spec.taints[0].key",
            "FieldValueInvalid",
        );
        let twice = json!([{"key": "a", "effect": "NoSchedule"}, {"key": "a", "value": "b", "effect": "NoSchedule"}]);
        assert_cause(
            "v1",
            "Node",
            &with(node.clone(), "spec.taints", twice),
            "spec.taints[1]",
            "FieldValueDuplicate",
        );
        let recidr = with(node.clone(), "spec.podCIDRs", json!(["10.244.2.0/24"]));
        assert!(has(
            &validate_update("v1", "Node", &recidr, &node),
            "spec.podCIDRs",
            "FieldValueForbidden"
        ));
        let fresh = without(node.clone(), "spec.podCIDRs");
        assert!(validate_update("v1", "Node", &node, &fresh).is_empty());
        let provided = with(node.clone(), "spec.providerID", json!("aws://a"));
        let reprovided = with(node.clone(), "spec.providerID", json!("aws://b"));
        assert!(has(
            &validate_update("v1", "Node", &reprovided, &provided),
            "spec.providerID",
            "FieldValueForbidden"
        ));
        let tainted = with(node.clone(), "spec.taints", json!([]));
        assert!(validate_update("v1", "Node", &tainted, &node).is_empty());
    }

    #[test]
    fn namespace_rules() {
        let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "development", "labels": {"name": "development"}}});
        assert_valid("v1", "Namespace", &namespace);
        assert_cause(
            "v1",
            "Namespace",
            &with(
                namespace.clone(),
                "spec.finalizers",
                json!(["bad finalizer"]),
            ),
            "spec.finalizers",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            "Namespace",
            &with(namespace.clone(), "spec.finalizers", json!(["custom"])),
            "spec.finalizers",
            "FieldValueInvalid",
        );
        let qualified = with(namespace, "spec.finalizers", json!(["example.com/cleanup"]));
        assert!(validate_create("v1", "Namespace", &qualified).is_empty());
    }

    #[test]
    fn event_rules() {
        let event = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "nginx.17a8b9c0d1e2f3a4", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "nginx", "namespace": "default"},
            "reason": "Scheduled", "message": "Successfully assigned default/nginx to node-1", "type": "Normal",
            "source": {"component": "default-scheduler"}, "count": 1});
        assert_valid("v1", "Event", &event);
        let elsewhere = with(
            event.clone(),
            "involvedObject.namespace",
            json!("kube-system"),
        );
        assert_cause(
            "v1",
            "Event",
            &elsewhere,
            "involvedObject.namespace",
            "FieldValueInvalid",
        );
        let series = with(
            event.clone(),
            "eventTime",
            json!("2024-01-01T00:00:00.000000Z"),
        );
        assert_cause(
            "v1",
            "Event",
            &series,
            "reportingComponent",
            "FieldValueRequired",
        );
        assert_cause("v1", "Event", &series, "action", "FieldValueRequired");
        let long = with(
            event,
            "reason",
            json!("x".repeat(EVENT_SHORT_FIELD_LIMIT_CHARS + 1)),
        );
        let long = with(long, "eventTime", json!("2024-01-01T00:00:00.000000Z"));
        assert_cause("v1", "Event", &long, "reason", "FieldValueInvalid");
    }

    #[test]
    fn service_account_rules() {
        let account = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "build-robot", "namespace": "default"},
            "automountServiceAccountToken": false});
        assert_valid("v1", "ServiceAccount", &account);
        assert_cause(
            "v1",
            "ServiceAccount",
            &with(account.clone(), "metadata.name", json!("Build_Robot")),
            "metadata.name",
            "FieldValueInvalid",
        );
        assert_cause(
            "v1",
            "ServiceAccount",
            &with(account, "secrets", json!([{"name": "Bad Name"}])),
            "secrets[0]",
            "FieldValueInvalid",
        );
    }

    // ---- Robustness ---------------------------------------------------------------------

    use proptest::prelude::*;

    const KINDS: &[(&str, &str)] = &[
        ("v1", "Namespace"),
        ("v1", "Pod"),
        ("v1", "Node"),
        ("v1", "Service"),
        ("v1", "Endpoints"),
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("v1", "Event"),
        ("v1", "ServiceAccount"),
        ("v1", "PersistentVolume"),
        ("v1", "PersistentVolumeClaim"),
        ("v1", "LimitRange"),
        ("v1", "ResourceQuota"),
        ("apps/v1", "Deployment"),
        ("apps/v1", "ReplicaSet"),
        ("apps/v1", "StatefulSet"),
        ("apps/v1", "DaemonSet"),
        ("apps/v1", "ControllerRevision"),
        ("batch/v1", "Job"),
        ("batch/v1", "CronJob"),
        ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ("coordination.k8s.io/v1", "Lease"),
        (RBAC_V1, "Role"),
        (RBAC_V1, "ClusterRole"),
        (RBAC_V1, "RoleBinding"),
        (RBAC_V1, "ClusterRoleBinding"),
        ("storage.k8s.io/v1", "StorageClass"),
        ("discovery.k8s.io/v1", "EndpointSlice"),
        ("example.com/v1", "Widget"),
    ];

    /// Field names the validators look at, so random objects reach past the first check.
    const FIELD_NAMES: &[&str] = &[
        "metadata",
        "name",
        "namespace",
        "labels",
        "annotations",
        "ownerReferences",
        "uid",
        "spec",
        "containers",
        "initContainers",
        "image",
        "ports",
        "containerPort",
        "port",
        "targetPort",
        "protocol",
        "selector",
        "matchLabels",
        "matchExpressions",
        "template",
        "replicas",
        "strategy",
        "rollingUpdate",
        "maxSurge",
        "maxUnavailable",
        "type",
        "volumes",
        "volumeMounts",
        "mountPath",
        "env",
        "resources",
        "requests",
        "limits",
        "livenessProbe",
        "httpGet",
        "tcpSocket",
        "data",
        "stringData",
        "immutable",
        "schedule",
        "jobTemplate",
        "rules",
        "verbs",
        "roleRef",
        "subjects",
        "kind",
        "apiGroup",
        "capacity",
        "accessModes",
        "hostPath",
        "path",
        "hard",
        "min",
        "max",
        "default",
        "clusterIP",
        "endpoints",
        "addresses",
        "addressType",
        "tolerations",
        "taints",
        "effect",
        "status",
        "phase",
        "storage",
        "cpu",
        "metrics",
        "scaleTargetRef",
        "maxReplicas",
        "provisioner",
    ];

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-70000i64..70000).prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-zA-Z0-9./%:@*=_ -]{0,12}".prop_map(Value::from),
            prop::sample::select(FIELD_NAMES).prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 96, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map(prop::sample::select(FIELD_NAMES), inner, 0..6)
                    .prop_map(|fields| {
                        Value::Object(
                            fields
                                .into_iter()
                                .map(|(k, v)| (k.to_string(), v))
                                .collect(),
                        )
                    }),
            ]
        })
    }

    fn documented_manifests() -> Vec<(&'static str, &'static str, Value)> {
        vec![
            ("v1", "Pod", nginx_pod()),
            ("apps/v1", "Deployment", nginx_deployment()),
            ("v1", "Service", service()),
            ("apps/v1", "StatefulSet", stateful_set()),
            ("apps/v1", "DaemonSet", daemon_set()),
            ("batch/v1", "Job", job()),
            ("batch/v1", "CronJob", cron_job()),
            ("v1", "PersistentVolume", persistent_volume()),
            ("v1", "PersistentVolumeClaim", claim()),
        ]
    }

    /// Replaces the node reached by following `choices` (modulo each container's size).
    fn mutate(value: &mut Value, choices: &[usize], replacement: Value) {
        let Some((choice, rest)) = choices.split_first() else {
            *value = replacement;
            return;
        };
        let next = match value {
            Value::Object(fields) if !fields.is_empty() => {
                let position = choice % fields.len();
                fields.values_mut().nth(position)
            }
            Value::Array(items) if !items.is_empty() => {
                let position = choice % items.len();
                items.get_mut(position)
            }
            _ => None,
        };
        match next {
            Some(next) => mutate(next, rest, replacement),
            None => *value = replacement,
        }
    }

    fn exercise(api_version: &str, kind: &str, object: &Value, old: &Value) {
        let _ = validate_create(api_version, kind, object);
        let _ = validate_update(api_version, kind, object, old);
        let _ = validate_update(api_version, kind, old, object);
        let mut defaulted = object.clone();
        crate::defaults::apply_defaults(api_version, kind, &mut defaulted);
        let _ = validate_create(api_version, kind, &defaulted);
    }

    proptest! {
        #[test]
        fn arbitrary_objects_never_panic(kind in prop::sample::select(KINDS), object in json_value(), old in json_value()) {
            exercise(kind.0, kind.1, &object, &old);
        }

        #[test]
        fn mutated_manifests_never_panic(
            pick in any::<prop::sample::Index>(),
            choices in prop::collection::vec(any::<usize>(), 0..7),
            replacement in json_value(),
        ) {
            let manifests = documented_manifests();
            let (api_version, kind, original) = pick.get(&manifests).clone();
            let mut object = original.clone();
            mutate(&mut object, &choices, replacement);
            exercise(api_version, kind, &object, &original);
        }
    }
}
