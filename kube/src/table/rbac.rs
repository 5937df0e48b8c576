//! Printers of RoleBinding and ClusterRoleBinding.

use serde_json::Value;

use super::cells::{age, items, name, text, text_cell};
use super::columns::{column, wide, Column, AGE_COLUMN, NAME_COLUMN, ROLE_REF_DOC, STRING};

pub(super) const ROLE_BINDING_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Role", STRING, ROLE_REF_DOC),
    AGE_COLUMN,
    wide("Users", STRING, "Users in the roleBinding"),
    wide("Groups", STRING, "Groups in the roleBinding"),
    wide(
        "ServiceAccounts",
        STRING,
        "ServiceAccounts in the roleBinding",
    ),
];

pub(super) const CLUSTER_ROLE_BINDING_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Role", STRING, ROLE_REF_DOC),
    AGE_COLUMN,
    wide("Users", STRING, "Users in the clusterRoleBinding"),
    wide("Groups", STRING, "Groups in the clusterRoleBinding"),
    wide(
        "ServiceAccounts",
        STRING,
        "ServiceAccounts in the clusterRoleBinding",
    ),
];

pub(super) fn role_binding_cells(binding: &Value, now: i64) -> Vec<Value> {
    let role = format!(
        "{}/{}",
        text(binding, &["roleRef", "kind"]),
        text(binding, &["roleRef", "name"]),
    );
    let [users, groups, service_accounts] = binding_subjects(items(binding, &["subjects"]));
    vec![
        text_cell(name(binding)),
        text_cell(role),
        age(binding, now),
        text_cell(users.join(", ")),
        text_cell(groups.join(", ")),
        text_cell(service_accounts.join(", ")),
    ]
}

/// `rbac.SubjectsStrings`: users, groups and "namespace/name" service accounts.
fn binding_subjects(subjects: &[Value]) -> [Vec<String>; 3] {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut service_accounts = Vec::new();
    for subject in subjects {
        let subject_name = text(subject, &["name"]).to_string();
        match text(subject, &["kind"]) {
            "User" => users.push(subject_name),
            "Group" => groups.push(subject_name),
            "ServiceAccount" => {
                let namespace = text(subject, &["namespace"]);
                service_accounts.push(format!("{namespace}/{subject_name}"));
            }
            _ => {}
        }
    }
    [users, groups, service_accounts]
}
