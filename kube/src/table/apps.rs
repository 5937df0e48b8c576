//! Printers of the replicated workloads: ReplicationController (core/v1) and apps/v1's
//! ReplicaSet, Deployment, StatefulSet, DaemonSet and ControllerRevision.

use serde_json::Value;

use super::cells::{
    age, at, boolean, container_cells, format_label_selector, format_labels, int_cell, integer,
    items, name, selector_string, text, text_cell, NONE, SELECTOR_INVALID,
};
use super::columns::{
    column, wide, Column, AGE_COLUMN, CONTAINERS_COLUMN, CURRENT_REPLICAS_DOC, IMAGES_COLUMN,
    INTEGER, NAME_COLUMN, READY_PODS_DOC, READY_REPLICAS_DOC, REPLICAS_DOC, SELECTOR_COLUMN,
    STRING,
};

pub(super) const REPLICATION_CONTROLLER_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Desired", INTEGER, REPLICAS_DOC),
    column("Current", INTEGER, CURRENT_REPLICAS_DOC),
    column(
        "Ready",
        INTEGER,
        "The number of ready replicas for this replication controller.",
    ),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
];

pub(super) const REPLICA_SET_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Desired", INTEGER, REPLICAS_DOC),
    column("Current", INTEGER, CURRENT_REPLICAS_DOC),
    column("Ready", INTEGER, READY_REPLICAS_DOC),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
];

pub(super) const DEPLOYMENT_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Ready", STRING, READY_PODS_DOC),
    column("Up-to-date", STRING, "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
    column("Available", STRING, "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    wide("Selector", STRING, "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."),
];

pub(super) const STATEFUL_SET_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Ready", STRING, READY_PODS_DOC),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
];

pub(super) const DAEMON_SET_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Desired", INTEGER, "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod)."),
    column("Current", INTEGER, "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod."),
    column("Ready", INTEGER, "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."),
    column("Up-to-date", INTEGER, "The total number of nodes that are running updated daemon pod"),
    column("Available", INTEGER, "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)"),
    column("Node Selector", STRING, "NodeSelector is a selector which must be true for the pod to fit on a node."),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
];

pub(super) const CONTROLLER_REVISION_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Controller", STRING, "Controller of the object"),
    column(
        "Revision",
        STRING,
        "Revision indicates the revision of the state represented by Data.",
    ),
    AGE_COLUMN,
];

pub(super) fn replication_controller_cells(controller: &Value, now: i64) -> Vec<Value> {
    let [names, images] = container_cells(at(controller, &["spec", "template", "spec"]));
    vec![
        text_cell(name(controller)),
        int_cell(integer(controller, &["spec", "replicas"])),
        int_cell(integer(controller, &["status", "replicas"])),
        int_cell(integer(controller, &["status", "readyReplicas"])),
        age(controller, now),
        names,
        images,
        text_cell(format_labels(at(controller, &["spec", "selector"]))),
    ]
}

pub(super) fn replica_set_cells(replica_set: &Value, now: i64) -> Vec<Value> {
    let [names, images] = container_cells(at(replica_set, &["spec", "template", "spec"]));
    vec![
        text_cell(name(replica_set)),
        int_cell(integer(replica_set, &["spec", "replicas"])),
        int_cell(integer(replica_set, &["status", "replicas"])),
        int_cell(integer(replica_set, &["status", "readyReplicas"])),
        age(replica_set, now),
        names,
        images,
        text_cell(format_label_selector(at(
            replica_set,
            &["spec", "selector"],
        ))),
    ]
}

pub(super) fn deployment_cells(deployment: &Value, now: i64) -> Vec<Value> {
    let [names, images] = container_cells(at(deployment, &["spec", "template", "spec"]));
    // Unlike the other printers, an empty deployment selector prints as "".
    let selector = selector_string(at(deployment, &["spec", "selector"]))
        .unwrap_or_else(|| SELECTOR_INVALID.to_string());
    let ready = integer(deployment, &["status", "readyReplicas"]);
    let desired = integer(deployment, &["spec", "replicas"]);
    vec![
        text_cell(name(deployment)),
        text_cell(format!("{ready}/{desired}")),
        int_cell(integer(deployment, &["status", "updatedReplicas"])),
        int_cell(integer(deployment, &["status", "availableReplicas"])),
        age(deployment, now),
        names,
        images,
        text_cell(selector),
    ]
}

pub(super) fn stateful_set_cells(stateful_set: &Value, now: i64) -> Vec<Value> {
    let [names, images] = container_cells(at(stateful_set, &["spec", "template", "spec"]));
    let ready = integer(stateful_set, &["status", "readyReplicas"]);
    let desired = integer(stateful_set, &["spec", "replicas"]);
    vec![
        text_cell(name(stateful_set)),
        text_cell(format!("{ready}/{desired}")),
        age(stateful_set, now),
        names,
        images,
    ]
}

pub(super) fn daemon_set_cells(daemon_set: &Value, now: i64) -> Vec<Value> {
    let pod_spec = at(daemon_set, &["spec", "template", "spec"]);
    let [names, images] = container_cells(pod_spec);
    let count = |field: &str| int_cell(integer(daemon_set, &["status", field]));
    vec![
        text_cell(name(daemon_set)),
        count("desiredNumberScheduled"),
        count("currentNumberScheduled"),
        count("numberReady"),
        count("updatedNumberScheduled"),
        count("numberAvailable"),
        text_cell(format_labels(&pod_spec["nodeSelector"])),
        age(daemon_set, now),
        names,
        images,
        text_cell(format_label_selector(at(daemon_set, &["spec", "selector"]))),
    ]
}

pub(super) fn controller_revision_cells(revision: &Value, now: i64) -> Vec<Value> {
    let controller = items(revision, &["metadata", "ownerReferences"])
        .iter()
        .find(|owner| boolean(owner, &["controller"]))
        .map_or_else(|| NONE.to_string(), controller_name);
    vec![
        text_cell(name(revision)),
        text_cell(controller),
        int_cell(integer(revision, &["revision"])),
        age(revision, now),
    ]
}

/// `formatResourceName` of a controller reference: "kind.group/name", lower-cased.
fn controller_name(owner: &Value) -> String {
    let owner_name = text(owner, &["name"]);
    let kind = text(owner, &["kind"]);
    let group = match text(owner, &["apiVersion"]).split_once('/') {
        Some((group, _version)) => group,
        None => "",
    };
    let group_kind = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    if group_kind.is_empty() {
        owner_name.to_string()
    } else {
        format!("{}/{owner_name}", group_kind.to_lowercase())
    }
}
