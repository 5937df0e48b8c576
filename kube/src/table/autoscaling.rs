//! Printer of HorizontalPodAutoscaler (autoscaling/v1 and v2), with kube's metric text.

use serde_json::{json, Value};

use super::cells::{
    age, int_cell, integer, is_set, items, name, nested, optional_integer, quantity_pointer, text,
    text_cell, METRICS_LIMIT, NONE, UNKNOWN, UNSET,
};
use super::columns::{column, Column, AGE_COLUMN, NAME_COLUMN, STRING};

pub(super) const HORIZONTAL_POD_AUTOSCALER_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Reference", STRING, "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count."),
    column("Targets", STRING, "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used)."),
    column("MinPods", STRING, "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down."),
    column("MaxPods", STRING, "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up."),
    column("Replicas", STRING, "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler."),
    AGE_COLUMN,
];

pub(super) fn autoscaler_cells(autoscaler: &Value, now: i64) -> Vec<Value> {
    let reference = format!(
        "{}/{}",
        text(autoscaler, &["spec", "scaleTargetRef", "kind"]),
        text(autoscaler, &["spec", "scaleTargetRef", "name"]),
    );
    let min_pods = optional_integer(autoscaler, &["spec", "minReplicas"])
        .map_or_else(|| UNSET.to_string(), |min| min.to_string());
    let (specs, statuses) = autoscaler_metrics(autoscaler);
    vec![
        text_cell(name(autoscaler)),
        text_cell(reference),
        text_cell(format_autoscaler_metrics(&specs, &statuses)),
        text_cell(min_pods),
        int_cell(integer(autoscaler, &["spec", "maxReplicas"])),
        int_cell(integer(autoscaler, &["status", "currentReplicas"])),
        age(autoscaler, now),
    ]
}

/// Metric specs and statuses in autoscaling/v2 form; an autoscaling/v1 object's CPU
/// target becomes the one Resource metric kube's conversion makes of it.
fn autoscaler_metrics(autoscaler: &Value) -> (Vec<Value>, Vec<Value>) {
    let specs = items(autoscaler, &["spec", "metrics"]).to_vec();
    let statuses = items(autoscaler, &["status", "currentMetrics"]).to_vec();
    let cpu_target = &autoscaler["spec"]["targetCPUUtilizationPercentage"];
    if !specs.is_empty() || cpu_target.is_null() {
        return (specs, statuses);
    }
    let cpu_spec = json!({"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu_target}}});
    let cpu_current = &autoscaler["status"]["currentCPUUtilizationPercentage"];
    let cpu_statuses = if cpu_current.is_null() {
        Vec::new()
    } else {
        vec![json!({"type": "Resource", "resource": {
            "name": "cpu", "current": {"averageUtilization": cpu_current}}})]
    };
    (vec![cpu_spec], cpu_statuses)
}

const UNKNOWN_METRIC_TYPE: &str = "<unknown type>";
/// A utilization metric without a target percentage.
const AUTO_TARGET: &str = "<auto>";

/// `formatHPAMetrics`: "current/target" per metric, two of them, then "+ N more...".
fn format_autoscaler_metrics(specs: &[Value], statuses: &[Value]) -> String {
    if specs.is_empty() {
        return NONE.to_string();
    }
    let all: Vec<String> = specs
        .iter()
        .enumerate()
        .map(|(index, spec)| metric_text(spec, statuses.get(index).unwrap_or(&Value::Null)))
        .collect();
    let shown = all
        .iter()
        .take(METRICS_LIMIT)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if all.len() > METRICS_LIMIT {
        return format!("{shown} + {} more...", all.len() - METRICS_LIMIT);
    }
    shown
}

/// One metric of `formatHPAMetrics`; `status` is the current metric at the same index.
fn metric_text(spec: &Value, status: &Value) -> String {
    match text(spec, &["type"]) {
        "External" => value_metric_text(&spec["external"], nested(status, &["external"])),
        "Object" => value_metric_text(&spec["object"], nested(status, &["object"])),
        "Pods" => {
            let current = nested(status, &["pods"]).map_or_else(
                || UNKNOWN.to_string(),
                |pods| quantity_pointer(pods, &["current", "averageValue"]),
            );
            let target = quantity_pointer(spec, &["pods", "target", "averageValue"]);
            format!("{current}/{target}")
        }
        "Resource" => resource_metric_text(&spec["resource"], nested(status, &["resource"])),
        "ContainerResource" => resource_metric_text(
            &spec["containerResource"],
            nested(status, &["containerResource"]),
        ),
        _ => UNKNOWN_METRIC_TYPE.to_string(),
    }
}

/// External and Object metrics: an average value target, else a plain value target.
fn value_metric_text(source: &Value, status: Option<&Value>) -> String {
    if is_set(source, &["target", "averageValue"]) {
        let current = status
            .filter(|status| is_set(status, &["current", "averageValue"]))
            .map_or_else(
                || UNKNOWN.to_string(),
                |status| quantity_pointer(status, &["current", "averageValue"]),
            );
        let target = quantity_pointer(source, &["target", "averageValue"]);
        return format!("{current}/{target} (avg)");
    }
    let current = status.map_or_else(
        || UNKNOWN.to_string(),
        |status| quantity_pointer(status, &["current", "value"]),
    );
    format!(
        "{current}/{}",
        quantity_pointer(source, &["target", "value"])
    )
}

/// Resource and ContainerResource metrics: "cpu: 45%/80%" or "memory: 10Mi/50Mi".
fn resource_metric_text(source: &Value, status: Option<&Value>) -> String {
    let resource = text(source, &["name"]);
    if is_set(source, &["target", "averageValue"]) {
        let current = status.map_or_else(
            || UNKNOWN.to_string(),
            |status| quantity_pointer(status, &["current", "averageValue"]),
        );
        let target = quantity_pointer(source, &["target", "averageValue"]);
        return format!("{resource}: {current}/{target}");
    }
    let current = status
        .and_then(|status| optional_integer(status, &["current", "averageUtilization"]))
        .map_or_else(|| UNKNOWN.to_string(), |percent| format!("{percent}%"));
    let target = optional_integer(source, &["target", "averageUtilization"])
        .map_or_else(|| AUTO_TARGET.to_string(), |percent| format!("{percent}%"));
    format!("{resource}: {current}/{target}")
}
