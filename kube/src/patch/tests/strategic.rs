//! Strategic merge patch: directives, merge keys, list orders and body shapes.

use super::*;

// --- Strategic merge directives ---

#[test]
fn patch_delete_in_a_list_element_removes_it_by_merge_key() {
    let mut original = patch_demo();
    original["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "a", "image": "nginx"},
        {"name": "b", "image": "redis"}
    ]);
    let patched = strategic(
        "Deployment",
        &original,
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "$patch": "delete"}
        ]}}}}),
    );
    assert_eq!(
        containers_of(&patched),
        &json!([{"name": "b", "image": "redis"}])
    );
}

#[test]
fn patch_delete_in_a_map_empties_it() {
    let patched = strategic(
        "Deployment",
        &patch_demo(),
        json!({"spec": {"selector": {"$patch": "delete"}}}),
    );
    assert_eq!(patched["spec"]["selector"], json!({}));
    assert_eq!(patched["spec"]["replicas"], 2);
}

#[test]
fn patch_replace_in_a_map_replaces_it() {
    let patched = strategic(
        "Deployment",
        &patch_demo(),
        json!({"spec": {"template": {"metadata": {
            "$patch": "replace", "annotations": {"a": "b"}
        }}}}),
    );
    assert_eq!(
        patched["spec"]["template"]["metadata"],
        json!({"annotations": {"a": "b"}})
    );
}

#[test]
fn patch_replace_in_a_list_replaces_it() {
    let original = json!({"spec": {"containers": [
        {"name": "a", "image": "nginx"}, {"name": "b", "image": "redis"}
    ]}});
    let patched = strategic(
        "Pod",
        &original,
        json!({"spec": {"containers": [
            {"$patch": "replace"}, {"name": "c", "image": "busybox"}
        ]}}),
    );
    assert_eq!(
        patched["spec"]["containers"],
        json!([{"name": "c", "image": "busybox"}])
    );
}

#[test]
fn patch_merge_merges_as_usual() {
    let patched = strategic(
        "Deployment",
        &patch_demo(),
        json!({"spec": {"$patch": "merge", "replicas": 5}}),
    );
    assert_eq!(patched["spec"]["replicas"], 5);
    assert_eq!(containers_of(&patched), containers_of(&patch_demo()));
}

#[test]
fn unknown_patch_directive_is_malformed() {
    let body = br#"{"spec": {"$patch": "explode"}}"#;
    let error = error_of("Deployment", PatchType::StrategicMerge, &patch_demo(), body);
    assert!(matches!(error, PatchError::Malformed(_)), "{error:?}");
}

#[test]
fn null_deletes_a_field() {
    let patched = strategic(
        "Deployment",
        &patch_demo(),
        json!({"spec": {"replicas": null, "paused": null}}),
    );
    assert!(patched["spec"].get("replicas").is_none());
    assert!(patched["spec"].get("paused").is_none());
}

#[test]
fn containers_merge_recursively_with_nested_merge_keys() {
    let original = json!({"spec": {"containers": [{
        "name": "app",
        "image": "app:1",
        "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
        "ports": [{"containerPort": 80, "protocol": "TCP"}],
        "args": ["--x"]
    }]}});
    let patched = strategic(
        "Pod",
        &original,
        json!({"spec": {"containers": [{
            "name": "app",
            "image": "app:2",
            "env": [{"name": "B", "value": "3"}],
            "ports": [{"containerPort": 443}],
            "args": ["--y"]
        }]}}),
    );
    let container = &patched["spec"]["containers"][0];
    assert_eq!(container["image"], "app:2");
    assert_eq!(
        container["env"],
        json!([{"name": "A", "value": "1"}, {"name": "B", "value": "3"}])
    );
    assert_eq!(
        container["ports"],
        json!([{"containerPort": 443}, {"containerPort": 80, "protocol": "TCP"}])
    );
    // args has no patchStrategy: replaced.
    assert_eq!(container["args"], json!(["--y"]));
}

#[test]
fn finalizers_are_unioned_and_deleted_from() {
    let original = json!({"metadata": {"finalizers": ["a", "b"]}});
    let added = strategic(
        "ConfigMap",
        &original,
        json!({"metadata": {"finalizers": ["b", "c"]}}),
    );
    // `a` sits before `b` in the original, so it stays before it; `c` follows the patch.
    assert_eq!(added["metadata"]["finalizers"], json!(["a", "b", "c"]));
    let removed = strategic(
        "ConfigMap",
        &original,
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
    );
    assert_eq!(removed["metadata"]["finalizers"], json!(["b"]));
}

#[test]
fn set_element_order_orders_the_merged_list() {
    let original = json!({"spec": {"containers": [
        {"name": "a", "image": "1"}, {"name": "b", "image": "1"}
    ]}});
    // What kubectl's client-side apply sends to append `c` after `a` and `b`.
    let patched = strategic(
        "Pod",
        &original,
        json!({"spec": {
            "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
            "containers": [{"name": "c", "image": "2"}]
        }}),
    );
    let names: Vec<&Value> = patched["spec"]["containers"]
        .as_array()
        .map(|items| items.iter().map(|item| &item["name"]).collect())
        .unwrap_or_default();
    assert_eq!(names, [&json!("a"), &json!("b"), &json!("c")]);
    let reordered = strategic(
        "Pod",
        &original,
        json!({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}),
    );
    assert_eq!(reordered["spec"]["containers"][0]["name"], "b");
}

#[test]
fn set_element_order_for_primitive_lists() {
    let original = json!({"metadata": {"finalizers": ["x", "y"]}});
    let patched = strategic(
        "Pod",
        &original,
        json!({"metadata": {
            "$setElementOrder/finalizers": ["y", "x", "z"],
            "finalizers": ["z"]
        }}),
    );
    assert_eq!(patched["metadata"]["finalizers"], json!(["y", "x", "z"]));
}

#[test]
fn set_element_order_disagreeing_with_the_patch_is_malformed() {
    let original = json!({"spec": {"containers": [{"name": "a"}]}});
    let body = serde_json::to_vec(&json!({"spec": {
        "$setElementOrder/containers": [{"name": "a"}],
        "containers": [{"name": "z"}]
    }}))
    .unwrap_or_default();
    let error = error_of("Pod", PatchType::StrategicMerge, &original, &body);
    assert!(matches!(error, PatchError::Malformed(_)), "{error:?}");
}

#[test]
fn malformed_directive_keys_are_bad_requests() {
    let original = json!({"metadata": {"finalizers": ["a"]}});
    for body in [
        &br#"{"metadata": {"$deleteFromPrimitiveListX/finalizers": ["a"]}}"#[..],
        br#"{"metadata": {"$setElementOrder": ["a"]}}"#,
        br#"{"metadata": {"$retainKeys": "finalizers"}}"#,
        br#"{"metadata": {"$retainKeys": ["labels"], "finalizers": ["b"]}}"#,
    ] {
        let error = error_of("Pod", PatchType::StrategicMerge, &original, body);
        assert_eq!(error.http_status(), 400, "{error:?}");
    }
}

#[test]
fn directives_never_reach_the_stored_object() {
    let patched = strategic(
        "Pod",
        &json!({"spec": {}}),
        json!({"spec": {
            "containers": [{"name": "a", "env": [{"name": "X", "$patch": "delete"}]}],
            "newMap": {"$patch": "replace", "a": 1},
            "nested": {"keep": {"$retainKeys": ["x"], "x": 1}}
        }}),
    );
    // kube drops a new map carrying `$patch` (removeDirectives), and strips the rest.
    assert!(patched["spec"].get("newMap").is_none());
    assert_eq!(patched["spec"]["containers"][0]["env"], json!([]));
    assert_eq!(patched["spec"]["nested"]["keep"], json!({"x": 1}));
}

#[test]
fn owner_references_merge_by_uid() {
    let original = json!({"metadata": {"ownerReferences": [
        {"uid": "1", "name": "a"}, {"uid": "2", "name": "b"}
    ]}});
    let patched = strategic(
        "Secret",
        &original,
        json!({"metadata": {"ownerReferences": [{"uid": "2", "controller": true}]}}),
    );
    assert_eq!(
        patched["metadata"]["ownerReferences"],
        json!([{"uid": "1", "name": "a"}, {"uid": "2", "name": "b", "controller": true}])
    );
}

#[test]
fn status_conditions_merge_by_type() {
    let original = json!({"status": {
        "conditions": [{"type": "Ready", "status": "False"}],
        "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]
    }});
    let patched = strategic(
        "Node",
        &original,
        json!({"status": {
            "conditions": [{"type": "Ready", "status": "True"}],
            "addresses": [{"type": "Hostname", "address": "n1"}]
        }}),
    );
    assert_eq!(
        patched["status"]["conditions"],
        json!([{"type": "Ready", "status": "True"}])
    );
    assert_eq!(
        patched["status"]["addresses"].as_array().map(Vec::len),
        Some(2)
    );
}

#[test]
fn service_ports_merge_by_port_and_endpoints_subsets_are_replaced() {
    let service = json!({"spec": {"ports": [{"port": 80, "name": "http"}]}});
    let patched = strategic(
        "Service",
        &service,
        json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}),
    );
    assert_eq!(
        patched["spec"]["ports"],
        json!([{"port": 80, "name": "http", "targetPort": 8080}, {"port": 443}])
    );
    let endpoints = json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]});
    let replaced = strategic(
        "Endpoints",
        &endpoints,
        json!({"subsets": [{"addresses": [{"ip": "10.0.0.2"}]}]}),
    );
    assert_eq!(
        replaced["subsets"],
        json!([{"addresses": [{"ip": "10.0.0.2"}]}])
    );
}

#[test]
fn deleting_a_list_element_needs_its_merge_key() {
    let body = br#"{"spec": {"template": {"spec": {"containers": [{"$patch": "delete"}]}}}}"#;
    let error = error_of("Deployment", PatchType::StrategicMerge, &patch_demo(), body);
    assert!(matches!(error, PatchError::Malformed(_)), "{error:?}");
}

#[test]
fn cron_job_pod_template_merges_containers() {
    let original = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {
        "containers": [{"name": "a", "image": "1"}]
    }}}}}});
    let patched = strategic(
        "CronJob",
        &original,
        json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "b", "image": "2"}]
        }}}}}}),
    );
    assert_eq!(
        patched["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[test]
fn unknown_kinds_replace_lists_but_merge_metadata() {
    let original = json!({
        "metadata": {"finalizers": ["a"]},
        "spec": {"items": [{"name": "a"}]}
    });
    let patched = strategic(
        "Widget",
        &original,
        json!({"metadata": {"finalizers": ["b"]}, "spec": {"items": [{"name": "b"}]}}),
    );
    assert_eq!(patched["metadata"]["finalizers"], json!(["b", "a"]));
    assert_eq!(patched["spec"]["items"], json!([{"name": "b"}]));
}

#[test]
fn changed_json_types_are_replaced() {
    let patched = strategic(
        "Pod",
        &json!({"spec": {"a": [1], "b": {"c": 1}, "d": "x"}}),
        json!({"spec": {"a": {"x": 1}, "b": [1], "d": 5}}),
    );
    assert_eq!(patched["spec"], json!({"a": {"x": 1}, "b": [1], "d": 5}));
}

#[test]
fn unmergeable_lists_are_refused() {
    // Against a list of objects a list element is a type mismatch; only an empty
    // original lets kube see (and refuse) the list of lists itself.
    let empty = json!({"spec": {"containers": []}});
    let list_of_lists = br#"{"spec": {"containers": [[1]]}}"#;
    let error = error_of("Pod", PatchType::StrategicMerge, &empty, list_of_lists);
    assert_eq!(
        error,
        PatchError::Conflict("lists of lists are not supported".into())
    );
    let original = json!({"spec": {"containers": [{"name": "a"}]}});
    let mixed = br#"{"spec": {"containers": ["a"]}}"#;
    let error = error_of("Pod", PatchType::StrategicMerge, &original, mixed);
    assert!(matches!(error, PatchError::Malformed(_)), "{error:?}");
    let keyless = br#"{"spec": {"containers": [{"image": "x"}]}}"#;
    let error = error_of("Pod", PatchType::StrategicMerge, &original, keyless);
    assert!(matches!(error, PatchError::Malformed(_)), "{error:?}");
}

#[test]
fn strategic_merge_body_shapes() {
    let original = patch_demo();
    assert_eq!(
        apply_patch("Deployment", PatchType::StrategicMerge, &original, b"null"),
        Ok(original.clone())
    );
    for body in [&b"[1]"[..], b"5", b"", b"{", b"\"x\""] {
        let error = error_of("Deployment", PatchType::StrategicMerge, &original, body);
        assert!(
            matches!(error, PatchError::Malformed(_)),
            "{body:?}: {error:?}"
        );
    }
}

/// Paths and the strategies k8s.io/api 1.33 tags them with.
const MERGE_KEY_CASES: &[(&str, &[&str], Option<MergeStrategy>)] = &[
    ("Pod", &["metadata", "finalizers"], Some(Union)),
    ("Pod", &["metadata", "ownerReferences"], Some(ByKey("uid"))),
    ("Pod", &["spec", "containers"], Some(ByKey("name"))),
    (
        "Pod",
        &["spec", "initContainers", "env"],
        Some(ByKey("name")),
    ),
    ("Pod", &["spec", "ephemeralContainers"], Some(ByKey("name"))),
    ("Pod", &["spec", "volumes"], Some(ByKey("name"))),
    ("Pod", &["spec", "imagePullSecrets"], Some(ByKey("name"))),
    ("Pod", &["spec", "hostAliases"], Some(ByKey("ip"))),
    ("Pod", &["spec", "tolerations"], None),
    (
        "Pod",
        &["spec", "containers", "ports"],
        Some(ByKey("containerPort")),
    ),
    (
        "Pod",
        &["spec", "containers", "volumeMounts"],
        Some(ByKey("mountPath")),
    ),
    (
        "Pod",
        &["spec", "containers", "volumeDevices"],
        Some(ByKey("devicePath")),
    ),
    ("Pod", &["spec", "containers", "args"], None),
    ("Pod", &["status", "conditions"], Some(ByKey("type"))),
    ("Node", &["status", "conditions"], Some(ByKey("type"))),
    ("Node", &["status", "addresses"], Some(ByKey("type"))),
    ("Service", &["spec", "ports"], Some(ByKey("port"))),
    ("Endpoints", &["subsets"], None),
    (
        "Deployment",
        &["spec", "template", "spec", "containers"],
        Some(ByKey("name")),
    ),
    ("Deployment", &["status", "conditions"], Some(ByKey("type"))),
    (
        "ReplicaSet",
        &["spec", "template", "metadata", "finalizers"],
        Some(Union),
    ),
    (
        "StatefulSet",
        &["spec", "template", "spec", "volumes"],
        Some(ByKey("name")),
    ),
    ("DaemonSet", &["status", "conditions"], Some(ByKey("type"))),
    (
        "Job",
        &["spec", "template", "spec", "initContainers"],
        Some(ByKey("name")),
    ),
    (
        "CronJob",
        &[
            "spec",
            "jobTemplate",
            "spec",
            "template",
            "spec",
            "containers",
            "env",
        ],
        Some(ByKey("name")),
    ),
    ("Deployment", &["spec", "containers"], None),
    ("Pod", &[], None),
];

#[test]
fn merge_key_table_follows_the_k8s_api_tags() {
    for (kind, path, expected) in MERGE_KEY_CASES {
        assert_eq!(merge_key(kind, path), *expected, "{kind} {path:?}");
    }
}
