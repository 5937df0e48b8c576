//! Printers of cluster objects: Node, Namespace, Lease, PriorityClass, RuntimeClass and the
//! admission webhook configurations.

use serde_json::Value;

use super::cells::{
    age, at, boolean, int_cell, integer, items, name, or_placeholder, text, text_cell, NONE,
    UNKNOWN,
};
use super::columns::{column, wide, Column, AGE_COLUMN, BOOLEAN, INTEGER, NAME_COLUMN, STRING};

// ---------------------------------------------------------------------------------------
// Cluster objects.

const NODE_ADDRESSES_DOC: &str = "List of addresses reachable to the node.";
pub(super) const NODE_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Status", STRING, "The status of the node"),
    column("Roles", STRING, "The roles of the node"),
    AGE_COLUMN,
    column("Version", STRING, "Kubelet Version reported by the node."),
    wide("Internal-IP", STRING, NODE_ADDRESSES_DOC),
    wide("External-IP", STRING, NODE_ADDRESSES_DOC),
    wide("OS-Image", STRING, "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."),
    wide("Kernel-Version", STRING, "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
    wide("Container-Runtime", STRING, "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2)."),
];

pub(super) const NAMESPACE_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Status", STRING, "The status of the namespace"),
    AGE_COLUMN,
];

pub(super) const LEASE_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column(
        "Holder",
        STRING,
        "holderIdentity contains the identity of the holder of a current lease.",
    ),
    AGE_COLUMN,
];

pub(super) const PRIORITY_CLASS_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Value", INTEGER, "value represents the integer value of this priority class."),
    column("Global-Default", BOOLEAN, "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class."),
    AGE_COLUMN,
    column("PreemptionPolicy", STRING, "preemptionPolicy is the Policy for preempting pods with lower priority."),
];

pub(super) const RUNTIME_CLASS_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Handler", STRING, "handler specifies the underlying runtime and configuration that the CRI implementation will use to handle pods of this class."),
    AGE_COLUMN,
];

pub(super) const WEBHOOK_CONFIGURATION_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column(
        "Webhooks",
        INTEGER,
        "Webhooks indicates the number of webhooks registered in this configuration",
    ),
    AGE_COLUMN,
];

const NODE_ROLE_LABEL_PREFIX: &str = "node-role.kubernetes.io/";
const LEGACY_NODE_ROLE_LABEL: &str = "kubernetes.io/role";

pub(super) fn node_cells(node: &Value, now: i64) -> Vec<Value> {
    let info = at(node, &["status", "nodeInfo"]);
    let reported = |field: &str| text_cell(or_placeholder(text(info, &[field]), UNKNOWN));
    vec![
        text_cell(name(node)),
        text_cell(node_status(node)),
        text_cell(or_placeholder(&node_roles(node).join(","), NONE)),
        age(node, now),
        text_cell(text(info, &["kubeletVersion"])),
        text_cell(node_address(node, "InternalIP")),
        text_cell(node_address(node, "ExternalIP")),
        reported("osImage"),
        reported("kernelVersion"),
        reported("containerRuntimeVersion"),
    ]
}

/// "Ready" or "NotReady" from the (last) Ready condition, "Unknown" without one, then
/// ",SchedulingDisabled" for a cordoned node.
fn node_status(node: &Value) -> String {
    let ready = items(node, &["status", "conditions"])
        .iter()
        .rev()
        .find(|condition| text(condition, &["type"]) == "Ready");
    let mut status = match ready {
        Some(condition) if text(condition, &["status"]) == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }
    .to_string();
    if boolean(node, &["spec", "unschedulable"]) {
        status.push_str(",SchedulingDisabled");
    }
    status
}

/// Sorted distinct roles from `node-role.kubernetes.io/<role>` and `kubernetes.io/role`.
fn node_roles(node: &Value) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    if let Some(labels) = at(node, &["metadata", "labels"]).as_object() {
        for (key, value) in labels {
            let role = match key.strip_prefix(NODE_ROLE_LABEL_PREFIX) {
                Some(role) => role,
                None if key == LEGACY_NODE_ROLE_LABEL => value.as_str().unwrap_or(""),
                None => "",
            };
            if !role.is_empty() {
                roles.push(role.to_string());
            }
        }
    }
    roles.sort();
    roles.dedup();
    roles
}

/// The first address of `kind`, or "<none>".
fn node_address(node: &Value, kind: &str) -> String {
    items(node, &["status", "addresses"])
        .iter()
        .find(|address| text(address, &["type"]) == kind)
        .map_or_else(
            || NONE.to_string(),
            |address| text(address, &["address"]).to_string(),
        )
}

pub(super) fn namespace_cells(namespace: &Value, now: i64) -> Vec<Value> {
    vec![
        text_cell(name(namespace)),
        text_cell(text(namespace, &["status", "phase"])),
        age(namespace, now),
    ]
}

pub(super) fn lease_cells(lease: &Value, now: i64) -> Vec<Value> {
    vec![
        text_cell(name(lease)),
        text_cell(text(lease, &["spec", "holderIdentity"])),
        age(lease, now),
    ]
}

pub(super) fn priority_class_cells(class: &Value, now: i64) -> Vec<Value> {
    vec![
        text_cell(name(class)),
        int_cell(integer(class, &["value"])),
        Value::Bool(boolean(class, &["globalDefault"])),
        age(class, now),
        text_cell(text(class, &["preemptionPolicy"])),
    ]
}

pub(super) fn runtime_class_cells(class: &Value, now: i64) -> Vec<Value> {
    vec![
        text_cell(name(class)),
        text_cell(text(class, &["handler"])),
        age(class, now),
    ]
}

pub(super) fn webhook_configuration_cells(configuration: &Value, now: i64) -> Vec<Value> {
    vec![
        text_cell(name(configuration)),
        int_cell(items(configuration, &["webhooks"]).len() as i64),
        age(configuration, now),
    ]
}
