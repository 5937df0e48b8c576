//! ObjectMeta, as every kind has it: each kind's name rule and scope, annotations, owner
//! references, and what an update may not change.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use serde_json::Value;

use crate::selector::{validate_dns1035_label, validate_dns1123_label, validate_dns1123_subdomain};
use crate::status::Cause;

use super::common::{
    check_name, child, index, lookup, nonnegative, quoted, require_name, typed, validate_labels,
    validate_path_segment_name, validate_qualified_name, NameCheck,
};
use super::RBAC_V1;

// ---------------------------------------------------------------------------------------
// ObjectMeta (apimachinery's ValidateObjectMeta and ValidateObjectMetaUpdate).

/// Annotations ride along on every read of the object, so apimachinery caps their sum.
pub(super) const ANNOTATIONS_LIMIT_BYTES: usize = 256 * 1024;
/// A CronJob's Jobs are named `<name>-<11-character suffix>` and must stay DNS-1035 labels.
const CRONJOB_NAME_LIMIT_CHARS: usize = 52;

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

pub(super) fn validate_object_meta(
    api_version: &str,
    kind: &str,
    object: &Value,
    causes: &mut Vec<Cause>,
) {
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

pub(super) fn validate_annotations(
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

pub(super) fn validate_object_meta_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
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
