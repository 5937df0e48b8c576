//! The examples of kube's "Update API Objects in Place Using kubectl patch".

use super::*;

// --- The examples of "Update API Objects in Place Using kubectl patch" ---

#[test]
fn docs_strategic_merge_adds_a_container_by_name() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "patch-demo-ctr-2", "image": "redis"}
    ]}}}});
    let patched = strategic("Deployment", &patch_demo(), patch);
    // As the page shows, the new container comes first and the old one is kept.
    assert_eq!(
        containers_of(&patched),
        &json!([
            {"name": "patch-demo-ctr-2", "image": "redis"},
            {"name": "patch-demo-ctr", "image": "nginx"}
        ])
    );
    assert_eq!(patched["spec"]["replicas"], json!(2));
}

#[test]
fn docs_strategic_merge_replaces_tolerations() {
    let patch = json!({"spec": {"template": {"spec": {"tolerations": [
        {"effect": "NoSchedule", "key": "disktype", "value": "ssd"}
    ]}}}});
    let patched = strategic("Deployment", &patch_demo(), patch);
    assert_eq!(
        patched["spec"]["template"]["spec"]["tolerations"],
        json!([{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}])
    );
    assert_eq!(containers_of(&patched), containers_of(&patch_demo()));
}

#[test]
fn docs_merge_patch_replaces_the_container_list() {
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": "patch-demo-ctr-3", "image": "gcr.io/google-samples/hello-app:2.0"}
    ]}}}});
    let patched = patch_with("Deployment", PatchType::Merge, &patch_demo(), &patch);
    assert_eq!(
        containers_of(&patched),
        &json!([{"name": "patch-demo-ctr-3", "image": "gcr.io/google-samples/hello-app:2.0"}])
    );
}

#[test]
fn docs_retain_keys_clears_the_other_strategy_fields() {
    let original = json!({
        "kind": "Deployment",
        "spec": {"strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "30%", "maxUnavailable": "30%"}
        }}
    });
    // Without the directive the rolling update parameters stay (and kube's validation
    // then refuses them); with it only the listed keys survive.
    let plain = strategic(
        "Deployment",
        &original,
        json!({"spec": {"strategy": {"type": "Recreate"}}}),
    );
    assert_eq!(
        plain["spec"]["strategy"]["rollingUpdate"]["maxSurge"],
        "30%"
    );
    let retained = strategic(
        "Deployment",
        &original,
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
    );
    assert_eq!(retained["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn docs_alternate_forms_and_scale_subresource_patch() {
    let patched = strategic(
        "Deployment",
        &patch_demo(),
        json!({"spec": {"template": {"spec": {"containers": [
            {"name": "patch-demo-ctr-2", "image": "redis"}
        ]}}}}),
    );
    assert_eq!(containers_of(&patched)[0]["image"], "redis");
    let scaled = patch_with(
        "Deployment",
        PatchType::Merge,
        &patch_demo(),
        &json!({"spec": {"replicas": 3}}),
    );
    assert_eq!(scaled["spec"]["replicas"], 3);
}
