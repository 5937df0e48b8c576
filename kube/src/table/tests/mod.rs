//! Table tests, one module per family of printers; here the test clock and the objects
//! they share.

mod cluster;
mod durations;
mod envelope;
mod networking;
mod pods;
mod robustness;
mod storage;
mod workloads;

use super::cells::{items, text};
use super::columns::{CREATION_TIMESTAMP_DOC, NAME_DOC};
use super::duration::{human_duration_signed, parse_rfc3339_ms, MS_PER_SECOND, ZERO_TIME_MS};
use super::pods::POD_COLUMNS;
use super::*;

/// The server clock in every test: 2024-05-01T12:00:00Z.
const NOW_MS: u64 = 1_714_564_800_000;
const MINUTE: i64 = 60;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// RFC3339 text of the time `seconds` before the test clock.
fn ago(seconds: i64) -> String {
    format_rfc3339(NOW_MS as i64 - seconds * MS_PER_SECOND)
}

fn table(kind: &str, objects: &[Value]) -> Value {
    to_table(kind, objects, json!({}), NOW_MS, INCLUDE_NONE)
}

fn cells(kind: &str, object: Value) -> Value {
    table(kind, &[object])["rows"][0]["cells"].clone()
}

fn column_names(kind: &str) -> Vec<String> {
    let table = table(kind, &[]);
    items(&table, &["columnDefinitions"])
        .iter()
        .map(|column| text(column, &["name"]).to_string())
        .collect()
}

fn metadata(name: &str, age_seconds: i64) -> Value {
    json!({"name": name, "namespace": "default", "uid": "0b3c", "creationTimestamp": ago(age_seconds)})
}

fn running_pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": metadata("web-7d4b9", 5 * MINUTE),
        "spec": {"nodeName": "node-1", "containers": [{"name": "web", "image": "nginx:1.27"}]},
        "status": {
            "phase": "Running",
            "podIP": "10.244.1.5",
            "podIPs": [{"ip": "10.244.1.5"}],
            "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
            "containerStatuses": [{
                "name": "web", "ready": true, "started": true, "restartCount": 0,
                "state": {"running": {"startedAt": ago(5 * MINUTE)}},
            }],
        },
    })
}

/// A pod whose single container is in `state`, with the pod in `phase`.
fn pod_with_container_state(phase: &str, state: Value) -> Value {
    let mut pod = running_pod();
    pod["status"]["phase"] = json!(phase);
    pod["status"]["containerStatuses"][0]["state"] = state;
    pod["status"]["containerStatuses"][0]["ready"] = json!(false);
    pod
}

fn pod_status(pod: Value) -> Value {
    cells("Pod", pod)[2].clone()
}

fn pod_template(labels: Value) -> Value {
    json!({"metadata": {"labels": labels}, "spec": {"containers": [
        {"name": "web", "image": "nginx:1.27"}, {"name": "log", "image": "fluent-bit:3"}]}})
}
