//! kube-apiserver's validation of built-in kinds: the `ValidateX` and `ValidateXUpdate`
//! functions of `pkg/apis/*/validation`, with their field paths, reasons and messages, so
//! clients see the same `Invalid` causes Kubernetes would give them.
//!
//! Objects arrive as JSON and are read through `k8s-openapi`'s types. A field that
//! defaulting fills in (a port's protocol, a pod's restart policy, ...) is checked only when
//! present, so the rules hold whether or not `defaults::apply_defaults` ran first; where
//! Kubernetes would default an absent value into a rejected one, the default is assumed.

mod apps;
mod autoscaling;
mod batch;
mod common;
mod coordination;
mod core;
mod core_pod;
mod discovery;
mod meta;
mod quota;
mod rbac;
mod storage;
#[cfg(test)]
mod tests;
mod workloads;

use serde_json::Value;

use crate::status::Cause;

use self::apps::{
    validate_controller_revision, validate_daemon_set, validate_deployment, validate_replica_set,
    validate_stateful_set, validate_stateful_set_update,
};
use self::autoscaling::validate_hpa;
use self::batch::{validate_cron_job, validate_job, validate_job_update};
use self::common::validate_immutable;
use self::coordination::validate_lease;
use self::core::{
    validate_config_map, validate_endpoints, validate_event, validate_immutable_data,
    validate_namespace, validate_node, validate_node_update, validate_secret,
    validate_secret_update, validate_service, validate_service_account, validate_service_update,
};
use self::core_pod::{validate_pod, validate_pod_update};
use self::discovery::validate_endpoint_slice;
use self::meta::{validate_object_meta, validate_object_meta_update};
use self::quota::{validate_limit_range, validate_resource_quota};
use self::rbac::{validate_role, validate_role_binding, validate_role_ref_update};
use self::storage::{
    validate_claim_update, validate_persistent_volume, validate_persistent_volume_claim,
    validate_persistent_volume_update, validate_storage_class, validate_storage_class_update,
};

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
