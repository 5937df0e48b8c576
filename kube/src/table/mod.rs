//! Server-side printing: turns objects into the `meta.k8s.io/v1` Table that `kubectl get`
//! asks for, with the columns and cell text of kube-apiserver 1.33's printers
//! (`pkg/printers/internalversion/printers.go`). The server always prints the wide cells;
//! kubectl hides the priority-1 columns unless asked for `-o wide`.

mod apps;
mod autoscaling;
mod batch;
mod cells;
mod cluster;
mod columns;
mod config;
mod duration;
mod events;
mod networking;
mod pods;
mod rbac;
mod storage;
#[cfg(test)]
mod tests;

use serde_json::{json, Value};

use crate::time::format_rfc3339;

use self::apps::{
    controller_revision_cells, daemon_set_cells, deployment_cells, replica_set_cells,
    replication_controller_cells, stateful_set_cells, CONTROLLER_REVISION_COLUMNS,
    DAEMON_SET_COLUMNS, DEPLOYMENT_COLUMNS, REPLICATION_CONTROLLER_COLUMNS, REPLICA_SET_COLUMNS,
    STATEFUL_SET_COLUMNS,
};
use self::autoscaling::{autoscaler_cells, HORIZONTAL_POD_AUTOSCALER_COLUMNS};
use self::batch::{cron_job_cells, job_cells, CRON_JOB_COLUMNS, JOB_COLUMNS};
use self::cells::{name, nested, text, text_cell};
use self::cluster::{
    lease_cells, namespace_cells, node_cells, priority_class_cells, runtime_class_cells,
    webhook_configuration_cells, LEASE_COLUMNS, NAMESPACE_COLUMNS, NODE_COLUMNS,
    PRIORITY_CLASS_COLUMNS, RUNTIME_CLASS_COLUMNS, WEBHOOK_CONFIGURATION_COLUMNS,
};
use self::columns::{column, column_json, Column, CREATION_TIMESTAMP_DOC, DATE, NAME_COLUMN};
use self::config::{
    config_map_cells, resource_quota_cells, secret_cells, service_account_cells,
    CONFIG_MAP_COLUMNS, RESOURCE_QUOTA_COLUMNS, SECRET_COLUMNS, SERVICE_ACCOUNT_COLUMNS,
};
use self::duration::{human_duration_signed, parse_rfc3339_ms, ZERO_TIME_MS};
use self::events::{event_cells, EVENT_COLUMNS};
use self::networking::{
    endpoint_slice_cells, endpoints_cells, ingress_cells, ingress_class_cells,
    network_policy_cells, service_cells, ENDPOINTS_COLUMNS, ENDPOINT_SLICE_COLUMNS,
    INGRESS_CLASS_COLUMNS, INGRESS_COLUMNS, NETWORK_POLICY_COLUMNS, SERVICE_COLUMNS,
};
use self::pods::{
    pod_cells, pod_disruption_budget_cells, pod_row_conditions, pod_template_cells, POD_COLUMNS,
    POD_DISRUPTION_BUDGET_COLUMNS, POD_TEMPLATE_COLUMNS,
};
use self::rbac::{role_binding_cells, CLUSTER_ROLE_BINDING_COLUMNS, ROLE_BINDING_COLUMNS};
use self::storage::{
    persistent_volume_cells, persistent_volume_claim_cells, storage_class_cells,
    PERSISTENT_VOLUME_CLAIM_COLUMNS, PERSISTENT_VOLUME_COLUMNS, STORAGE_CLASS_COLUMNS,
};

// ---------------------------------------------------------------------------------------
// Table envelope.

/// `apiVersion` of the Table and of the `PartialObjectMetadata` rows it embeds.
const TABLE_API_VERSION: &str = "meta.k8s.io/v1";
const TABLE_KIND: &str = "Table";
const PARTIAL_OBJECT_METADATA_KIND: &str = "PartialObjectMetadata";

/// `includeObject` values (`metav1.IncludeObjectPolicy`); anything else prints metadata,
/// kube's default when the parameter is empty.
const INCLUDE_OBJECT: &str = "Object";
const INCLUDE_NONE: &str = "None";

/// The `ListMeta` fields a Table carries over from the list it prints.
const LIST_META_FIELDS: [&str; 3] = ["resourceVersion", "continue", "remainingItemCount"];

/// Builds the Table for `objects` of kind `kind` (e.g. "Pod"), as the list (or single
/// object) response. `now_unix_ms` is the server clock for the AGE column;
/// `include_object` is the request's `includeObject` ("None" | "Metadata" | "Object").
/// kubectl only sends "Object" when sorting (`--sort-by`); an empty or unknown value
/// embeds `PartialObjectMetadata`, kube's default. `list_metadata` is copied to the
/// Table's metadata (resourceVersion, continue, remainingItemCount).
pub fn to_table(
    kind: &str,
    objects: &[Value],
    list_metadata: Value,
    now_unix_ms: u64,
    include_object: &str,
) -> Value {
    let now = i64::try_from(now_unix_ms).unwrap_or(i64::MAX);
    let printer = printer_for(kind);
    let columns: Vec<Value> = printer.columns.iter().map(column_json).collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| table_row(&printer, object, now, include_object))
        .collect();
    json!({
        "kind": TABLE_KIND,
        "apiVersion": TABLE_API_VERSION,
        "metadata": table_metadata(&list_metadata),
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// Kubernetes' short duration form used in AGE (`duration.HumanDuration`): whole seconds
/// below two minutes ("90s"), then minutes with seconds below ten minutes ("5m3s"),
/// minutes below three hours, hours with minutes below eight hours, hours below two days,
/// days with hours below eight days, days below two years, years with days below eight
/// years, and years beyond.
pub fn human_duration(ms: u64) -> String {
    human_duration_signed(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// Only `ListMeta`'s own fields, and only when set: kube omits empty ones.
fn table_metadata(list_metadata: &Value) -> Value {
    let mut metadata = json!({});
    for field in LIST_META_FIELDS {
        let value = &list_metadata[field];
        let unset = value.is_null() || value.as_str() == Some("");
        if !unset {
            insert(&mut metadata, field, value.clone());
        }
    }
    metadata
}

fn table_row(printer: &Printer, object: &Value, now: i64, include_object: &str) -> Value {
    let mut row = json!({ "cells": (printer.cells)(object, now) });
    if let Some(conditions) = (printer.conditions)(object) {
        insert(&mut row, "conditions", conditions);
    }
    if let Some(embedded) = embedded_object(object, include_object) {
        insert(&mut row, "object", embedded);
    }
    row
}

/// What a row carries of its object, as `asTable` in the apiserver's response handler.
fn embedded_object(object: &Value, include_object: &str) -> Option<Value> {
    match include_object {
        INCLUDE_OBJECT => Some(object.clone()),
        INCLUDE_NONE => None,
        _ => {
            let metadata = nested(object, &["metadata"]).map_or_else(|| json!({}), Value::clone);
            Some(json!({
                "kind": PARTIAL_OBJECT_METADATA_KIND,
                "apiVersion": TABLE_API_VERSION,
                "metadata": metadata,
            }))
        }
    }
}

/// Sets `key` on a JSON object; does nothing to any other value.
fn insert(target: &mut Value, key: &str, value: Value) {
    if let Some(fields) = target.as_object_mut() {
        fields.insert(key.to_string(), value);
    }
}

// ---------------------------------------------------------------------------------------
// Printers: which columns a kind has and how its cells are filled.

type CellsFn = fn(&Value, i64) -> Vec<Value>;
type ConditionsFn = fn(&Value) -> Option<Value>;

struct Printer {
    columns: &'static [Column],
    cells: CellsFn,
    conditions: ConditionsFn,
}

fn printer_for(kind: &str) -> Printer {
    let (columns, cells): (&'static [Column], CellsFn) = match kind {
        "Pod" => {
            return Printer {
                columns: POD_COLUMNS,
                cells: pod_cells,
                conditions: pod_row_conditions,
            }
        }
        "PodTemplate" => (POD_TEMPLATE_COLUMNS, pod_template_cells),
        "PodDisruptionBudget" => (POD_DISRUPTION_BUDGET_COLUMNS, pod_disruption_budget_cells),
        "ReplicationController" => (REPLICATION_CONTROLLER_COLUMNS, replication_controller_cells),
        "ReplicaSet" => (REPLICA_SET_COLUMNS, replica_set_cells),
        "DaemonSet" => (DAEMON_SET_COLUMNS, daemon_set_cells),
        "Job" => (JOB_COLUMNS, job_cells),
        "CronJob" => (CRON_JOB_COLUMNS, cron_job_cells),
        "Service" => (SERVICE_COLUMNS, service_cells),
        "Ingress" => (INGRESS_COLUMNS, ingress_cells),
        "IngressClass" => (INGRESS_CLASS_COLUMNS, ingress_class_cells),
        "StatefulSet" => (STATEFUL_SET_COLUMNS, stateful_set_cells),
        "Endpoints" => (ENDPOINTS_COLUMNS, endpoints_cells),
        "Node" => (NODE_COLUMNS, node_cells),
        "Event" => (EVENT_COLUMNS, event_cells),
        "Namespace" => (NAMESPACE_COLUMNS, namespace_cells),
        "Secret" => (SECRET_COLUMNS, secret_cells),
        "ServiceAccount" => (SERVICE_ACCOUNT_COLUMNS, service_account_cells),
        "PersistentVolume" => (PERSISTENT_VOLUME_COLUMNS, persistent_volume_cells),
        "PersistentVolumeClaim" => (
            PERSISTENT_VOLUME_CLAIM_COLUMNS,
            persistent_volume_claim_cells,
        ),
        "Deployment" => (DEPLOYMENT_COLUMNS, deployment_cells),
        "HorizontalPodAutoscaler" => (HORIZONTAL_POD_AUTOSCALER_COLUMNS, autoscaler_cells),
        "ConfigMap" => (CONFIG_MAP_COLUMNS, config_map_cells),
        "NetworkPolicy" => (NETWORK_POLICY_COLUMNS, network_policy_cells),
        "RoleBinding" => (ROLE_BINDING_COLUMNS, role_binding_cells),
        "ClusterRoleBinding" => (CLUSTER_ROLE_BINDING_COLUMNS, role_binding_cells),
        "Lease" => (LEASE_COLUMNS, lease_cells),
        "StorageClass" => (STORAGE_CLASS_COLUMNS, storage_class_cells),
        "ControllerRevision" => (CONTROLLER_REVISION_COLUMNS, controller_revision_cells),
        "ResourceQuota" => (RESOURCE_QUOTA_COLUMNS, resource_quota_cells),
        "PriorityClass" => (PRIORITY_CLASS_COLUMNS, priority_class_cells),
        "RuntimeClass" => (RUNTIME_CLASS_COLUMNS, runtime_class_cells),
        "EndpointSlice" => (ENDPOINT_SLICE_COLUMNS, endpoint_slice_cells),
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => {
            (WEBHOOK_CONFIGURATION_COLUMNS, webhook_configuration_cells)
        }
        // Role, ClusterRole, LimitRange and every kind kube has no printer for.
        _ => (DEFAULT_COLUMNS, default_cells),
    };
    Printer {
        columns,
        cells,
        conditions: no_conditions,
    }
}

fn no_conditions(_object: &Value) -> Option<Value> {
    None
}

/// `rest.DefaultTableConvertor`: kinds without a printer.
const DEFAULT_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Created At", DATE, CREATION_TIMESTAMP_DOC),
];

/// `rest.DefaultTableConvertor`: the name and the creation time in RFC3339 (UTC).
fn default_cells(object: &Value, _now: i64) -> Vec<Value> {
    let created = text(object, &["metadata", "creationTimestamp"]);
    let created_ms = parse_rfc3339_ms(created).unwrap_or(ZERO_TIME_MS);
    vec![
        text_cell(name(object)),
        text_cell(format_rfc3339(created_ms)),
    ]
}
