//! Printers of Pod (status, readiness and restarts as `printPod` works them out),
//! PodTemplate and PodDisruptionBudget.

use serde_json::{json, Value};

use super::cells::{
    age, at, boolean, condition_is_true, container_cells, format_labels, int_cell,
    int_or_string_text, integer, is_deleting, items, name, nested, or_placeholder, since, text,
    text_cell, timestamp, NONE, NOT_APPLICABLE,
};
use super::columns::{
    column, wide, Column, AGE_COLUMN, CONTAINERS_DOC, IMAGES_DOC, INTEGER, NAME_COLUMN, STRING,
};

// ---------------------------------------------------------------------------------------
// Pods.

pub(super) const POD_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Ready", STRING, "The aggregate readiness state of this pod for accepting traffic."),
    column("Status", STRING, "The aggregate status of the containers in this pod."),
    column("Restarts", STRING, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
    AGE_COLUMN,
    wide("IP", STRING, "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."),
    wide("Node", STRING, "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName."),
    wide("Nominated Node", STRING, "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled."),
    wide("Readiness Gates", STRING, "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates"),
];

pub(super) const POD_TEMPLATE_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Containers", STRING, CONTAINERS_DOC),
    column("Images", STRING, IMAGES_DOC),
    column("Pod Labels", STRING, "The labels for the pod template."),
];

pub(super) const POD_DISRUPTION_BUDGET_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column(
        "Min Available",
        STRING,
        "The minimum number of pods that must be available.",
    ),
    column(
        "Max Unavailable",
        STRING,
        "The maximum number of pods that may be unavailable.",
    ),
    column(
        "Allowed Disruptions",
        INTEGER,
        "Calculated number of pods that may be disrupted at this time.",
    ),
    AGE_COLUMN,
];

const POD_SUCCEEDED: &str = "Succeeded";
const POD_FAILED: &str = "Failed";
/// Reason the node lifecycle controller gives pods on a node that stopped reporting.
const NODE_LOST_REASON: &str = "NodeLost";
const SCHEDULING_GATED_REASON: &str = "SchedulingGated";
const POD_INITIALIZING_REASON: &str = "PodInitializing";
const COMPLETED_REASON: &str = "Completed";
/// `restartPolicy` that makes an init container a sidecar.
const RESTART_ALWAYS: &str = "Always";

/// What `printPod` gathers from the container statuses.
struct PodSummary {
    ready: i64,
    total: i64,
    reason: String,
    restarts: i64,
    /// Latest `lastState.terminated.finishedAt`; `None` is Go's zero time.
    last_restart_ms: Option<i64>,
}

pub(super) fn pod_cells(pod: &Value, now: i64) -> Vec<Value> {
    let summary = summarize_pod(pod);
    let restarts = match summary.last_restart_ms {
        Some(last) if summary.restarts != 0 => {
            format!("{} ({} ago)", summary.restarts, since(Some(last), now))
        }
        _ => summary.restarts.to_string(),
    };
    vec![
        text_cell(name(pod)),
        text_cell(format!("{}/{}", summary.ready, summary.total)),
        text_cell(summary.reason),
        text_cell(restarts),
        age(pod, now),
        text_cell(or_placeholder(pod_ip(pod), NONE)),
        text_cell(or_placeholder(text(pod, &["spec", "nodeName"]), NONE)),
        text_cell(or_placeholder(
            text(pod, &["status", "nominatedNodeName"]),
            NONE,
        )),
        text_cell(readiness_gates(pod)),
    ]
}

/// `printPod`'s status, readiness and restart logic (kube 1.33).
fn summarize_pod(pod: &Value) -> PodSummary {
    let phase = text(pod, &["status", "phase"]);
    let conditions = items(pod, &["status", "conditions"]);
    let sidecars = items(pod, &["spec", "initContainers"])
        .iter()
        .filter(|container| is_sidecar(container))
        .count();
    let mut summary = PodSummary {
        ready: 0,
        total: (items(pod, &["spec", "containers"]).len() + sidecars) as i64,
        reason: or_placeholder(text(pod, &["status", "reason"]), phase).to_string(),
        restarts: 0,
        last_restart_ms: None,
    };
    let gated = conditions.iter().any(|condition| {
        text(condition, &["type"]) == "PodScheduled"
            && text(condition, &["reason"]) == SCHEDULING_GATED_REASON
    });
    if gated {
        summary.reason = SCHEDULING_GATED_REASON.to_string();
    }
    let init_walk = summarize_init_containers(pod, &mut summary);
    if !init_walk.initializing || condition_is_true(conditions, "Initialized") {
        // Only sidecar restarts still count once the pod has initialized.
        summary.restarts = init_walk.count;
        summary.last_restart_ms = init_walk.last_ms;
        summarize_containers(pod, &mut summary);
    }
    if is_deleting(pod) && text(pod, &["status", "reason"]) == NODE_LOST_REASON {
        summary.reason = "Unknown".to_string();
    } else if is_deleting(pod) && phase != POD_SUCCEEDED && phase != POD_FAILED {
        summary.reason = "Terminating".to_string();
    }
    summary
}

/// An init container with `restartPolicy: Always` runs beside the app containers.
fn is_sidecar(container: &Value) -> bool {
    text(container, &["restartPolicy"]) == RESTART_ALWAYS
}

/// The spec of the init container a status reports on (the last of that name, as
/// kube's map keeps it).
fn init_container_spec<'a>(pod: &'a Value, container_name: &str) -> Option<&'a Value> {
    items(pod, &["spec", "initContainers"])
        .iter()
        .rev()
        .find(|container| text(container, &["name"]) == container_name)
}

/// What the init container walk found besides the pod summary.
struct InitContainerWalk {
    initializing: bool,
    /// Restarts of sidecars alone, and when one last stopped.
    count: i64,
    last_ms: Option<i64>,
}

/// Walks the init container statuses until the first one still initializing, counting
/// restarts (all of them into `summary`, the sidecars' also apart).
fn summarize_init_containers(pod: &Value, summary: &mut PodSummary) -> InitContainerWalk {
    let init_count = items(pod, &["spec", "initContainers"]).len();
    let mut walk = InitContainerWalk {
        initializing: false,
        count: 0,
        last_ms: None,
    };
    for (index, status) in items(pod, &["status", "initContainerStatuses"])
        .iter()
        .enumerate()
    {
        let restart_count = integer(status, &["restartCount"]);
        let finished = last_termination(status);
        summary.restarts = summary.restarts.saturating_add(restart_count);
        summary.last_restart_ms = later(summary.last_restart_ms, finished);
        let sidecar = init_container_spec(pod, text(status, &["name"])).is_some_and(is_sidecar);
        if sidecar {
            walk.count = walk.count.saturating_add(restart_count);
            walk.last_ms = later(walk.last_ms, finished);
        }
        let terminated = nested(status, &["state", "terminated"]);
        let waiting_reason = text(status, &["state", "waiting", "reason"]);
        if terminated.is_some_and(|state| integer(state, &["exitCode"]) == 0) {
            continue;
        }
        if sidecar && boolean(status, &["started"]) {
            if boolean(status, &["ready"]) {
                summary.ready += 1;
            }
            continue;
        }
        summary.reason = if let Some(state) = terminated {
            format!("Init:{}", termination_reason(state))
        } else if !waiting_reason.is_empty() && waiting_reason != POD_INITIALIZING_REASON {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{index}/{init_count}")
        };
        walk.initializing = true;
        break;
    }
    walk
}

/// Walks the app container statuses from last to first, so the first container's state
/// wins the STATUS column.
fn summarize_containers(pod: &Value, summary: &mut PodSummary) {
    let mut has_running = false;
    for status in items(pod, &["status", "containerStatuses"]).iter().rev() {
        summary.restarts = summary
            .restarts
            .saturating_add(integer(status, &["restartCount"]));
        summary.last_restart_ms = later(summary.last_restart_ms, last_termination(status));
        let waiting_reason = text(status, &["state", "waiting", "reason"]);
        if !waiting_reason.is_empty() {
            summary.reason = waiting_reason.to_string();
        } else if let Some(terminated) = nested(status, &["state", "terminated"]) {
            summary.reason = termination_reason(terminated);
        } else if boolean(status, &["ready"]) && nested(status, &["state", "running"]).is_some() {
            has_running = true;
            summary.ready += 1;
        }
    }
    // A pod whose containers all exited reads "Completed" unless one is still running.
    if summary.reason == COMPLETED_REASON && has_running {
        let ready = condition_is_true(items(pod, &["status", "conditions"]), "Ready");
        summary.reason = if ready { "Running" } else { "NotReady" }.to_string();
    }
}

/// A terminated state's reason, else "Signal:N", else "ExitCode:N".
fn termination_reason(terminated: &Value) -> String {
    let reason = text(terminated, &["reason"]);
    let signal = integer(terminated, &["signal"]);
    if !reason.is_empty() {
        reason.to_string()
    } else if signal != 0 {
        format!("Signal:{signal}")
    } else {
        format!("ExitCode:{}", integer(terminated, &["exitCode"]))
    }
}

/// When the container last stopped, from `lastState.terminated.finishedAt`.
fn last_termination(status: &Value) -> Option<i64> {
    nested(status, &["lastState", "terminated"])
        .and_then(|terminated| timestamp(terminated, &["finishedAt"]))
}

/// The later of two times, where `None` (Go's zero time) is earliest.
fn later(current: Option<i64>, candidate: Option<i64>) -> Option<i64> {
    match (current, candidate) {
        (Some(current), Some(candidate)) => Some(current.max(candidate)),
        (current, candidate) => current.or(candidate),
    }
}

/// The first pod IP. `status.podIP` wins, as in kube's v1 to internal conversion.
fn pod_ip(pod: &Value) -> &str {
    let primary = text(pod, &["status", "podIP"]);
    if !primary.is_empty() {
        return primary;
    }
    items(pod, &["status", "podIPs"])
        .first()
        .map_or("", |entry| text(entry, &["ip"]))
}

/// "true/total" over the pod's readiness gates, or "<none>".
fn readiness_gates(pod: &Value) -> String {
    let gates = items(pod, &["spec", "readinessGates"]);
    if gates.is_empty() {
        return NONE.to_string();
    }
    let conditions = items(pod, &["status", "conditions"]);
    let passing = gates
        .iter()
        .filter(|gate| condition_is_true(conditions, text(gate, &["conditionType"])))
        .count();
    format!("{passing}/{}", gates.len())
}

/// Finished pods carry a `Completed` row condition, which kubectl reads.
pub(super) fn pod_row_conditions(pod: &Value) -> Option<Value> {
    let (reason, message) = match text(pod, &["status", "phase"]) {
        POD_SUCCEEDED => (POD_SUCCEEDED, "The pod has completed successfully."),
        POD_FAILED => (POD_FAILED, "The pod failed."),
        _ => return None,
    };
    Some(json!([{
        "type": "Completed",
        "status": "True",
        "reason": reason,
        "message": message,
    }]))
}

pub(super) fn pod_template_cells(template: &Value, _now: i64) -> Vec<Value> {
    let [names, images] = container_cells(at(template, &["template", "spec"]));
    vec![
        text_cell(name(template)),
        names,
        images,
        text_cell(format_labels(at(
            template,
            &["template", "metadata", "labels"],
        ))),
    ]
}

pub(super) fn pod_disruption_budget_cells(budget: &Value, now: i64) -> Vec<Value> {
    let bound = |field: &str| {
        int_or_string_text(at(budget, &["spec", field]))
            .unwrap_or_else(|| NOT_APPLICABLE.to_string())
    };
    vec![
        text_cell(name(budget)),
        text_cell(bound("minAvailable")),
        text_cell(bound("maxUnavailable")),
        int_cell(integer(budget, &["status", "disruptionsAllowed"])),
        age(budget, now),
    ]
}
