//! ObjectMeta rules: names per kind, labels, annotations, owner references, updates.

use super::*;

// ---- ObjectMeta -------------------------------------------------------------------

#[test]
fn metadata_rules() {
    let huge = "x".repeat(ANNOTATIONS_LIMIT_BYTES + 1);
    let edits = [
        ("metadata.name", Value::Null, "metadata.name", REQUIRED),
        ("metadata.name", json!("Bad_Name"), "metadata.name", INVALID),
        (
            "metadata.namespace",
            Value::Null,
            "metadata.namespace",
            REQUIRED,
        ),
        (
            "metadata.namespace",
            json!("a.b"),
            "metadata.namespace",
            INVALID,
        ),
        (
            "metadata.labels",
            json!({"a/b/c": "x"}),
            "metadata.labels",
            INVALID,
        ),
        (
            "metadata.labels",
            json!({"app": "-x"}),
            "metadata.labels",
            INVALID,
        ),
        (
            "metadata.annotations",
            json!({"bad key": "x"}),
            "metadata.annotations",
            INVALID,
        ),
        (
            "metadata.annotations",
            json!({"note": huge}),
            "metadata.annotations",
            "FieldValueTooLong",
        ),
        (
            "metadata.finalizers",
            json!(["bad finalizer"]),
            "metadata.finalizers",
            INVALID,
        ),
        (
            "metadata.generation",
            json!(-1),
            "metadata.generation",
            INVALID,
        ),
    ];
    assert_edits("v1", "Pod", &nginx_pod(), &edits);
    let namespace = json!({"metadata": {"name": "dev", "namespace": "x"}});
    assert_cause(
        "v1",
        "Namespace",
        &namespace,
        "metadata.namespace",
        FORBIDDEN,
    );
}

#[test]
fn name_rules_depend_on_kind() {
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a.b"}});
    assert_cause(
        "v1",
        "Namespace",
        &namespace,
        "metadata.name",
        "FieldValueInvalid",
    );
    let service = with(service(), "metadata.name", json!("1abc"));
    assert_cause(
        "v1",
        "Service",
        &service,
        "metadata.name",
        "FieldValueInvalid",
    );
    assert!(validate_create(
        "v1",
        "Pod",
        &with(nginx_pod(), "metadata.name", json!("a.b"))
    )
    .is_empty());
    let role =
        json!({"metadata": {"name": "system:controller", "namespace": "default"}, "rules": []});
    assert!(validate_create(RBAC_V1, "Role", &role).is_empty());
    let role = with(role, "metadata.name", json!("a/b"));
    assert_cause(RBAC_V1, "Role", &role, "metadata.name", "FieldValueInvalid");
    let cron = json!({"metadata": {"name": "x".repeat(53), "namespace": "default"},
        "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {
            "restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}}});
    assert_cause(
        "batch/v1",
        "CronJob",
        &cron,
        "metadata.name",
        "FieldValueInvalid",
    );
    let unknown = json!({"metadata": {"name": "Bad"}});
    assert_cause(
        "example.com/v1",
        "Widget",
        &unknown,
        "metadata.name",
        "FieldValueInvalid",
    );
    assert!(validate_create(
        "example.com/v1",
        "Widget",
        &json!({"metadata": {"name": "ok"}})
    )
    .is_empty());
}

#[test]
fn owner_references() {
    let reference = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1", "controller": true});
    let pod = with(
        nginx_pod(),
        "metadata.ownerReferences",
        json!([reference.clone()]),
    );
    assert!(validate_create("v1", "Pod", &pod).is_empty());
    let second = with(reference.clone(), "uid", json!("u2"));
    let two = with(
        nginx_pod(),
        "metadata.ownerReferences",
        json!([reference.clone(), second]),
    );
    assert_cause(
        "v1",
        "Pod",
        &two,
        "metadata.ownerReferences",
        "FieldValueInvalid",
    );
    let missing = with(
        nginx_pod(),
        "metadata.ownerReferences",
        json!([without(reference, "uid")]),
    );
    assert_cause(
        "v1",
        "Pod",
        &missing,
        "metadata.ownerReferences[0].uid",
        "FieldValueInvalid",
    );
}

#[test]
fn metadata_update_rules() {
    let old = with(nginx_pod(), "metadata.uid", json!("u1"));
    let renamed = with(old.clone(), "metadata.name", json!("other"));
    assert!(has(
        &validate_update("v1", "Pod", &renamed, &old),
        "metadata.name",
        "FieldValueInvalid"
    ));
    let moved = with(old.clone(), "metadata.namespace", json!("other"));
    assert!(has(
        &validate_update("v1", "Pod", &moved, &old),
        "metadata.namespace",
        "FieldValueInvalid"
    ));
    let new_uid = with(old.clone(), "metadata.uid", json!("u2"));
    assert!(has(
        &validate_update("v1", "Pod", &new_uid, &old),
        "metadata.uid",
        "FieldValueInvalid"
    ));
    // An omitted uid is copied from the stored object, as kube-apiserver does.
    let relabeled = with(nginx_pod(), "metadata.labels", json!({"app": "web"}));
    assert!(validate_update("v1", "Pod", &relabeled, &old).is_empty());
    let stamped = with(
        old.clone(),
        "metadata.creationTimestamp",
        json!("2024-01-01T00:00:00Z"),
    );
    let restamped = with(
        stamped.clone(),
        "metadata.creationTimestamp",
        json!("2025-01-01T00:00:00Z"),
    );
    assert!(has(
        &validate_update("v1", "Pod", &restamped, &stamped),
        "metadata.creationTimestamp",
        "FieldValueInvalid"
    ));
    let namespace = json!({"metadata": {"name": "dev"}});
    let renamed = json!({"metadata": {"name": "prod"}});
    assert!(has(
        &validate_update("v1", "Namespace", &renamed, &namespace),
        "metadata.name",
        "FieldValueInvalid"
    ));
}

#[test]
fn mistyped_objects_yield_a_root_cause() {
    let pod = with(nginx_pod(), "spec.containers", json!("nginx"));
    assert_cause("v1", "Pod", &pod, "", "FieldValueInvalid");
    let deployment = with(nginx_deployment(), "spec.replicas", json!("three"));
    assert_cause(
        "apps/v1",
        "Deployment",
        &deployment,
        "",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        "Pod",
        &json!({"metadata": 7}),
        "",
        "FieldValueInvalid",
    );
    assert!(!validate_create("v1", "Pod", &json!(null)).is_empty());
}
