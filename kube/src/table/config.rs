//! Printers of ConfigMap, Secret, ServiceAccount and ResourceQuota.

use serde_json::Value;

use super::cells::{age, at, entry_count, int_cell, items, name, quantity_entry, text, text_cell};
use super::columns::{column, Column, AGE_COLUMN, NAME_COLUMN, STRING};

pub(super) const CONFIG_MAP_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Data", STRING, "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'."),
    AGE_COLUMN,
];

pub(super) const SECRET_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Type", STRING, "Used to facilitate programmatic handling of secret data."),
    column("Data", STRING, "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'."),
    AGE_COLUMN,
];

pub(super) const SERVICE_ACCOUNT_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Secrets", STRING, "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use."),
    AGE_COLUMN,
];

pub(super) const RESOURCE_QUOTA_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Request", STRING, "Request represents a minimum amount of cpu/memory that a container may consume."),
    column("Limit", STRING, "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
    AGE_COLUMN,
];

pub(super) fn config_map_cells(config_map: &Value, now: i64) -> Vec<Value> {
    let entries = entry_count(config_map, &["data"]) + entry_count(config_map, &["binaryData"]);
    vec![
        text_cell(name(config_map)),
        int_cell(entries as i64),
        age(config_map, now),
    ]
}

pub(super) fn secret_cells(secret: &Value, now: i64) -> Vec<Value> {
    // kube's conversion merges stringData into data, so a key in both counts once.
    let mut keys: Vec<&String> = ["data", "stringData"]
        .iter()
        .filter_map(|field| secret[*field].as_object())
        .flat_map(|fields| fields.keys())
        .collect();
    keys.sort();
    keys.dedup();
    vec![
        text_cell(name(secret)),
        text_cell(text(secret, &["type"])),
        int_cell(keys.len() as i64),
        age(secret, now),
    ]
}

pub(super) fn service_account_cells(account: &Value, now: i64) -> Vec<Value> {
    vec![
        text_cell(name(account)),
        int_cell(items(account, &["secrets"]).len() as i64),
        age(account, now),
    ]
}

/// Resource names whose first dotted part is this go to the Limit column.
const LIMITS_PREFIX: &str = "limits";

pub(super) fn resource_quota_cells(quota: &Value, now: i64) -> Vec<Value> {
    let hard = at(quota, &["status", "hard"]);
    let used = at(quota, &["status", "used"]);
    let mut resources: Vec<&String> = hard
        .as_object()
        .map_or_else(Vec::new, |f| f.keys().collect());
    resources.sort();
    let mut requests = Vec::new();
    let mut limits = Vec::new();
    for resource in resources {
        let usage = format!(
            "{resource}: {}/{}",
            quantity_entry(used, resource),
            quantity_entry(hard, resource),
        );
        let mut pieces = resource.split('.');
        let first = pieces.next().unwrap_or("");
        if first == LIMITS_PREFIX && pieces.next().is_some() {
            limits.push(usage);
        } else {
            requests.push(usage);
        }
    }
    vec![
        text_cell(name(quota)),
        text_cell(requests.join(", ")),
        text_cell(limits.join(", ")),
        age(quota, now),
    ]
}
