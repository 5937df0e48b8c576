//! Apply bodies: YAML and JSON configurations, nulls ignored.

use super::*;

// --- Apply ---

#[test]
fn apply_merges_the_configuration_and_ignores_nulls() {
    let configuration = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "patch-demo"},
        "spec": {
            "replicas": null,
            "template": {"spec": {"containers": [{"name": "patch-demo-ctr", "image": "nginx:2"}]}}
        }
    });
    let patched = patch_with(
        "Deployment",
        PatchType::Apply,
        &patch_demo(),
        &configuration,
    );
    assert_eq!(patched["spec"]["replicas"], 2);
    assert_eq!(
        containers_of(&patched),
        &json!([{"name": "patch-demo-ctr", "image": "nginx:2"}])
    );
}

#[test]
fn apply_reads_yaml_and_json_objects_only() {
    let body = b"apiVersion: v1\nkind: ConfigMap\ndata:\n  a: \"1\"\n";
    let patched = apply_patch(
        "ConfigMap",
        PatchType::Apply,
        &json!({"data": {"b": "2"}}),
        body,
    );
    assert_eq!(patched.unwrap()["data"], json!({"a": "1", "b": "2"}));
    for body in [&b"[]"[..], b"- a\n", b"just text", b"a: [\n"] {
        let error = error_of("ConfigMap", PatchType::Apply, &json!({}), body);
        assert!(matches!(error, PatchError::Malformed(_)), "{error:?}");
    }
}
