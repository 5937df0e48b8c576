//! Properties: no input panics.

use super::*;

// --- Properties: no input panics ---

/// Field names, most of them ones the merge tables or the directives give a meaning to.
fn arbitrary_key() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "metadata",
        "spec",
        "template",
        "containers",
        "name",
        "env",
        "ports",
        "finalizers",
        "conditions",
        "type",
        "$patch",
        "$retainKeys",
        "$setElementOrder/containers",
        "$setElementOrder/finalizers",
        "$deleteFromPrimitiveList/finalizers",
        "$deleteFromPrimitiveList/containers",
        "$setElementOrder",
        "containerPort",
    ])
    .prop_map(str::to_owned)
}

fn object_of(fields: Vec<(String, Value)>) -> Value {
    Value::Object(fields.into_iter().collect())
}

fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (0i64..4).prop_map(|n| json!(n)),
        prop::sample::select(vec!["a", "b", "replace", "delete", "merge", "name", "spec"])
            .prop_map(|text| json!(text)),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((arbitrary_key(), inner), 0..5).prop_map(object_of),
        ]
    })
}

fn arbitrary_object() -> impl Strategy<Value = Value> {
    prop::collection::vec((arbitrary_key(), arbitrary_json()), 0..5).prop_map(object_of)
}

fn arbitrary_operation() -> impl Strategy<Value = Value> {
    let ops = prop::sample::select(vec![
        "add", "remove", "replace", "move", "copy", "test", "x",
    ]);
    let paths = prop::sample::select(vec![
        "",
        "/",
        "/spec",
        "/spec/containers",
        "/spec/containers/0",
        "/spec/containers/-",
        "/metadata/finalizers/1",
        "/a/b",
        "/a",
        "bad",
        "/spec/containers/01",
    ]);
    (ops, paths.clone(), paths, arbitrary_json()).prop_map(
        |(op, path, from, value)| json!({"op": op, "path": path, "from": from, "value": value}),
    )
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
        for patch_type in ALL_TYPES {
            let _ = apply_patch("Deployment", patch_type, &patch_demo(), &body);
        }
    }

    #[test]
    fn arbitrary_json_patches_never_panic(original in arbitrary_json(), patch in arbitrary_json()) {
        let body = serde_json::to_vec(&patch).unwrap_or_default();
        for kind in ["Pod", "Deployment", "Widget"] {
            for patch_type in ALL_TYPES {
                if let Ok(patched) = apply_patch(kind, patch_type, &original, &body) {
                    prop_assert!(patched.is_object());
                }
            }
        }
    }

    #[test]
    fn arbitrary_json_patch_operations_never_panic(
        original in arbitrary_json(),
        operations in prop::collection::vec(arbitrary_operation(), 0..6),
    ) {
        let body = serde_json::to_vec(&operations).unwrap_or_default();
        let _ = apply_patch("Pod", PatchType::Json, &original, &body);
    }

    #[test]
    fn strategic_results_hold_no_directives(original in arbitrary_json(), patch in arbitrary_object()) {
        let body = serde_json::to_vec(&patch).unwrap_or_default();
        if let Ok(patched) = apply_patch("Pod", PatchType::StrategicMerge, &original, &body) {
            let text = patched.to_string();
            prop_assert!(!text.contains("\"$patch\""), "{}", text);
            prop_assert!(!text.contains("\"$retainKeys\""), "{}", text);
        }
    }
}
