//! Role, ClusterRole and binding rules.

use super::*;

// ---- RBAC ---------------------------------------------------------------------------

#[test]
fn role_rules() {
    let role = json!({"apiVersion": RBAC_V1, "kind": "Role", "metadata": {"namespace": "default", "name": "pod-reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "watch", "list"]}]});
    assert_valid(RBAC_V1, "Role", &role);
    let cluster_role = json!({"apiVersion": RBAC_V1, "kind": "ClusterRole", "metadata": {"name": "secret-reader"},
        "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]},
            {"nonResourceURLs": ["/healthz", "/healthz/*"], "verbs": ["get", "post"]}]});
    assert_valid(RBAC_V1, "ClusterRole", &cluster_role);
    assert_cause(
        RBAC_V1,
        "Role",
        &with(role.clone(), "rules.0.verbs", json!([])),
        "rules[0].verbs",
        "FieldValueRequired",
    );
    assert_cause(
        RBAC_V1,
        "Role",
        &without(role.clone(), "rules.0.apiGroups"),
        "rules[0].apiGroups",
        "FieldValueRequired",
    );
    assert_cause(
        RBAC_V1,
        "Role",
        &without(role.clone(), "rules.0.resources"),
        "rules[0].resources",
        "FieldValueRequired",
    );
    let urls = json!([{"nonResourceURLs": ["/healthz"], "verbs": ["get"]}]);
    assert_cause(
        RBAC_V1,
        "Role",
        &with(role, "rules", urls),
        "rules[0].nonResourceURLs",
        "FieldValueInvalid",
    );
    let mixed = with(cluster_role, "rules.1.resources", json!(["pods"]));
    assert_cause(
        RBAC_V1,
        "ClusterRole",
        &mixed,
        "rules[1].nonResourceURLs",
        "FieldValueInvalid",
    );
}

#[test]
fn role_binding_rules() {
    let binding = json!({"apiVersion": RBAC_V1, "kind": "RoleBinding", "metadata": {"name": "read-pods", "namespace": "default"},
        "subjects": [{"kind": "User", "name": "jane", "apiGroup": RBAC_GROUP}, {"kind": "ServiceAccount", "name": "default"}],
        "roleRef": {"kind": "Role", "name": "pod-reader", "apiGroup": RBAC_GROUP}});
    assert_valid(RBAC_V1, "RoleBinding", &binding);
    let edits = [
        (
            "roleRef.apiGroup",
            json!("apps"),
            "roleRef.apiGroup",
            NOT_SUPPORTED,
        ),
        (
            "roleRef.kind",
            json!("Group"),
            "roleRef.kind",
            NOT_SUPPORTED,
        ),
        ("roleRef.name", json!(""), "roleRef.name", REQUIRED),
        (
            "subjects.0.kind",
            json!("Robot"),
            "subjects[0].kind",
            NOT_SUPPORTED,
        ),
        (
            "subjects.0.apiGroup",
            json!("v1"),
            "subjects[0].apiGroup",
            NOT_SUPPORTED,
        ),
        (
            "subjects.1.apiGroup",
            json!(RBAC_GROUP),
            "subjects[1].apiGroup",
            NOT_SUPPORTED,
        ),
        (
            "subjects.1.name",
            json!("Bad_Name"),
            "subjects[1].name",
            INVALID,
        ),
        ("subjects.0.name", json!(""), "subjects[0].name", REQUIRED),
    ];
    assert_edits(RBAC_V1, "RoleBinding", &binding, &edits);
    let rebound = with(binding.clone(), "roleRef.name", json!("pod-writer"));
    let causes = validate_update(RBAC_V1, "RoleBinding", &rebound, &binding);
    assert!(has(&causes, "roleRef", INVALID));
    let more = with(binding.clone(), "subjects.0.name", json!("joe"));
    assert!(validate_update(RBAC_V1, "RoleBinding", &more, &binding).is_empty());
}

#[test]
fn cluster_role_binding_rules() {
    let binding = json!({"apiVersion": RBAC_V1, "kind": "ClusterRoleBinding", "metadata": {"name": "read-secrets-global"},
        "subjects": [{"kind": "Group", "name": "manager", "apiGroup": RBAC_GROUP}],
        "roleRef": {"kind": "ClusterRole", "name": "secret-reader", "apiGroup": RBAC_GROUP}});
    assert_valid(RBAC_V1, "ClusterRoleBinding", &binding);
    let kind = "ClusterRoleBinding";
    assert_cause(
        RBAC_V1,
        kind,
        &with(binding.clone(), "roleRef.kind", json!("Role")),
        "roleRef.kind",
        "FieldValueNotSupported",
    );
    let account = json!([{"kind": "ServiceAccount", "name": "builder"}]);
    assert_cause(
        RBAC_V1,
        kind,
        &with(binding.clone(), "subjects", account),
        "subjects[0].namespace",
        "FieldValueRequired",
    );
    let rebound = with(binding.clone(), "roleRef.name", json!("admin"));
    assert!(has(
        &validate_update(RBAC_V1, kind, &rebound, &binding),
        "roleRef",
        "FieldValueInvalid"
    ));
}
