//! JSON patch: operations, failures, and the bounds on operations, copies and depth.

use super::*;

// --- JSON patch ---

#[test]
fn json_patch_operations_apply_in_order() {
    let body = json!([
        {"op": "test", "path": "/spec/replicas", "value": 2},
        {"op": "replace", "path": "/spec/replicas", "value": 4},
        {"op": "add", "path": "/metadata/labels", "value": {"tier": "web"}},
        {"op": "copy", "from": "/metadata/labels", "path": "/metadata/annotations"},
        {"op": "move", "from": "/metadata/annotations", "path": "/spec/annotations"},
        {"op": "remove", "path": "/spec/template/spec/tolerations"}
    ]);
    let patched = patch_with("Deployment", PatchType::Json, &patch_demo(), &body);
    assert_eq!(patched["spec"]["replicas"], 4);
    assert_eq!(patched["metadata"]["labels"], json!({"tier": "web"}));
    assert_eq!(patched["spec"]["annotations"], json!({"tier": "web"}));
    assert!(patched["spec"]["template"]["spec"]
        .get("tolerations")
        .is_none());
}

#[test]
fn json_patch_failures_are_unprocessable() {
    let original = patch_demo();
    for body in [
        &br#"[{"op": "test", "path": "/spec/replicas", "value": 3}]"#[..],
        br#"[{"op": "remove", "path": "/spec/missing"}]"#,
        br#"[{"op": "replace", "path": "/nope/deeper", "value": 1}]"#,
        br#"[{"op": "bogus", "path": "/spec"}]"#,
        br#"[{"op": "add", "value": 1}]"#,
        br#"[{"op": "add", "path": "no-slash", "value": 1}]"#,
        br#"[{"op": "replace", "path": "", "value": [1]}]"#,
    ] {
        let error = error_of("Deployment", PatchType::Json, &original, body);
        assert!(matches!(error, PatchError::Conflict(_)), "{error:?}");
    }
}

#[test]
fn json_patch_bodies_of_the_wrong_shape_are_bad_requests() {
    let original = patch_demo();
    for body in [
        &b"{}"[..],
        b"[1]",
        b"[{\"op\": 1, \"path\": \"/a\"}]",
        b"[{\"op\": \"add\", \"path\": 7, \"value\": 1}]",
        b"not json",
    ] {
        let error = error_of("Deployment", PatchType::Json, &original, body);
        assert!(matches!(error, PatchError::Malformed(_)), "{error:?}");
    }
}

#[test]
fn failed_move_sequences_do_not_panic() {
    // json-patch's undo log panics undoing this pair; kactor applies without it.
    let original = json!({"a": {"b": {"c": 1}}});
    let body = br#"[
            {"op": "move", "from": "/a/b", "path": "/a"},
            {"op": "test", "path": "/missing", "value": 1}
        ]"#;
    let error = error_of("ConfigMap", PatchType::Json, &original, body);
    assert!(matches!(error, PatchError::Conflict(_)), "{error:?}");
    assert_eq!(original, json!({"a": {"b": {"c": 1}}}));
}

#[test]
fn json_patch_operation_count_is_bounded() {
    let operation = json!({"op": "test", "path": "/kind", "value": "Deployment"});
    let at_limit = Value::Array(vec![operation.clone(); JSON_PATCH_OPS_MAX]);
    patch_with("Deployment", PatchType::Json, &patch_demo(), &at_limit);
    let over = Value::Array(vec![operation; JSON_PATCH_OPS_MAX + 1]);
    let body = serde_json::to_vec(&over).unwrap_or_default();
    let error = error_of("Deployment", PatchType::Json, &patch_demo(), &body);
    assert!(matches!(error, PatchError::TooLarge(_)), "{error:?}");
}

#[test]
fn json_patch_copies_are_bounded() {
    let original = json!({"data": {"blob": "x".repeat(1024 * 1024)}});
    let copy = |index: usize| json!({"op": "copy", "from": "/data/blob", "path": format!("/data/c{index}")});
    let two = Value::Array((0..2).map(copy).collect());
    patch_with("ConfigMap", PatchType::Json, &original, &two);
    let four = Value::Array((0..4).map(copy).collect());
    let body = serde_json::to_vec(&four).unwrap_or_default();
    let error = error_of("ConfigMap", PatchType::Json, &original, &body);
    assert!(matches!(error, PatchError::Conflict(_)), "{error:?}");
}

#[test]
fn json_patch_cannot_nest_the_object_too_deep() {
    // Each copy of the root into itself adds a level.
    let operations: Vec<Value> = (0..PATCH_DEPTH_MAX + 1)
        .map(|_| json!({"op": "copy", "from": "", "path": "/a"}))
        .collect();
    let body = serde_json::to_vec(&operations).unwrap_or_default();
    let error = error_of("ConfigMap", PatchType::Json, &json!({}), &body);
    assert!(matches!(error, PatchError::Conflict(_)), "{error:?}");
}
