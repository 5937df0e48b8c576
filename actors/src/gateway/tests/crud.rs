//! Create, get, update and patch: server-owned metadata, generation, subresources, dry runs.

use super::*;

#[test]
fn create_get_and_server_owned_metadata() {
    let mut h = with_default_namespace();
    let (code, created) = h.call(create("pods", Some("default"), pod("web"))).unwrap();
    assert_eq!(code, 201);
    let meta = &created["metadata"];
    assert_eq!(meta["namespace"], "default");
    assert_eq!(meta["uid"].as_str().unwrap().len(), 36);
    assert!(meta["creationTimestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(created["status"]["phase"], "Pending");
    assert_eq!(created["spec"]["restartPolicy"], "Always", "defaulted");
    let (code, got) = h.call(get("pods", Some("default"), "web")).unwrap();
    assert_eq!(code, 200);
    assert_eq!(got, created);
    let again = h
        .call(create("pods", Some("default"), pod("web")))
        .unwrap_err();
    assert_eq!((again.code, again.reason.as_str()), (409, "AlreadyExists"));
    let missing = h.call(get("pods", Some("default"), "nope")).unwrap_err();
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    assert_eq!(missing.to_status()["details"]["kind"], "pods");
}

#[test]
fn generate_name_makes_distinct_names() {
    let mut h = with_default_namespace();
    let mut body = pod("");
    body["metadata"] = json!({"generateName": "web-"});
    let (_, a) = h
        .call(create("pods", Some("default"), body.clone()))
        .unwrap();
    let (_, b) = h.call(create("pods", Some("default"), body)).unwrap();
    let (a, b) = (
        a["metadata"]["name"].as_str().unwrap().to_string(),
        b["metadata"]["name"].as_str().unwrap().to_string(),
    );
    assert!(a.starts_with("web-") && a.len() == 9, "{a}");
    assert_ne!(a, b);
}

#[test]
fn stale_resource_version_is_a_conflict_and_generation_follows_the_spec() {
    let mut h = with_default_namespace();
    let cm = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}},
                 "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
    let (_, created) = h.call(create("deployments", Some("default"), cm)).unwrap();
    let stale = created.clone();
    let mut update = created.clone();
    update["spec"]["replicas"] = json!(3);
    let mut request = ApiRequest::new(
        Verb::Update,
        path("apps", "deployments", Some("default"), Some("d")),
    );
    request.body = serde_json::to_vec(&update).unwrap();
    let (_, updated) = h.call(request.clone()).unwrap();
    assert_eq!(updated["metadata"]["generation"], 2);
    assert_ne!(
        updated["metadata"]["resourceVersion"],
        created["metadata"]["resourceVersion"]
    );
    let mut stale_update = stale;
    stale_update["spec"]["replicas"] = json!(5);
    request.body = serde_json::to_vec(&stale_update).unwrap();
    let conflict = h.call(request.clone()).unwrap_err();
    assert_eq!((conflict.code, conflict.reason.as_str()), (409, "Conflict"));
    // A label change is not a spec change.
    let mut relabel = updated.clone();
    relabel["metadata"]["labels"] = json!({"team": "a"});
    request.body = serde_json::to_vec(&relabel).unwrap();
    let (_, relabeled) = h.call(request).unwrap();
    assert_eq!(relabeled["metadata"]["generation"], 2);
}

#[test]
fn merge_patch_and_scale_subresource() {
    let mut h = with_default_namespace();
    let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "d"}},
                 "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}});
    h.call(create("deployments", Some("default"), d)).unwrap();
    let mut patch = ApiRequest::new(
        Verb::Patch(patch::PatchType::Merge),
        path("apps", "deployments", Some("default"), Some("d")),
    );
    patch.body = br#"{"metadata":{"labels":{"x":"y"}},"spec":{"replicas":4}}"#.to_vec();
    let (_, patched) = h.call(patch).unwrap();
    assert_eq!(patched["spec"]["replicas"], 4);
    assert_eq!(patched["metadata"]["labels"]["x"], "y");
    let mut scale = ApiRequest::new(
        Verb::Get,
        path("apps", "deployments", Some("default"), Some("d")),
    );
    scale.path.subresource = Some("scale".into());
    let (_, got) = h.call(scale.clone()).unwrap();
    assert_eq!(
        (got["kind"].as_str(), got["spec"]["replicas"].as_i64()),
        (Some("Scale"), Some(4))
    );
    scale.verb = Verb::Update;
    scale.body = serde_json::to_vec(&json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": "d", "namespace": "default"}, "spec": {"replicas": 7}}))
    .unwrap();
    let (_, scaled) = h.call(scale).unwrap();
    assert_eq!(scaled["spec"]["replicas"], 7);
}

#[test]
fn the_status_subresource_writes_only_status_and_the_main_resource_never_does() {
    let mut h = with_default_namespace();
    let (_, created) = h
        .call(create("deployments", Some("default"), deployment("d")))
        .unwrap();
    let mut status = created.clone();
    status["status"] = json!({"replicas": 1, "readyReplicas": 1});
    status["spec"]["replicas"] = json!(9);
    let mut request = ApiRequest::new(
        Verb::Update,
        path("apps", "deployments", Some("default"), Some("d")),
    );
    request.path.subresource = Some("status".into());
    request.body = serde_json::to_vec(&status).unwrap();
    let (_, after) = h.call(request).unwrap();
    assert_eq!(after["status"]["readyReplicas"], 1);
    assert_eq!(
        after["spec"]["replicas"], 1,
        "spec is not written through status"
    );
    assert_eq!(after["metadata"]["generation"], 1);
    let mut main = after.clone();
    main["status"] = json!({"replicas": 0});
    let mut request = ApiRequest::new(
        Verb::Update,
        path("apps", "deployments", Some("default"), Some("d")),
    );
    request.body = serde_json::to_vec(&main).unwrap();
    let (_, after) = h.call(request).unwrap();
    assert_eq!(
        after["status"]["readyReplicas"], 1,
        "status is not written through the main resource"
    );
}

#[test]
fn binding_assigns_a_pod_once_and_eviction_deletes_it() {
    let mut h = with_default_namespace();
    h.call(create("pods", Some("default"), pod("p"))).unwrap();
    let mut bind = ApiRequest::new(Verb::Create, path("", "pods", Some("default"), Some("p")));
    bind.path.subresource = Some("binding".into());
    bind.body = serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "Binding",
        "metadata": {"name": "p"}, "target": {"kind": "Node", "name": "n1"}}))
    .unwrap();
    let (code, _) = h.call(bind.clone()).unwrap();
    assert_eq!(code, 201);
    let (_, bound) = h.call(get("pods", Some("default"), "p")).unwrap();
    assert_eq!(bound["spec"]["nodeName"], "n1");
    let twice = h.call(bind).unwrap_err();
    assert_eq!(twice.code, 409, "{}", twice.message);
    let mut evict = ApiRequest::new(Verb::Create, path("", "pods", Some("default"), Some("p")));
    evict.path.subresource = Some("eviction".into());
    evict.body = serde_json::to_vec(&json!({"apiVersion": "policy/v1", "kind": "Eviction",
        "metadata": {"name": "p"}, "deleteOptions": {"gracePeriodSeconds": 0}}))
    .unwrap();
    evict.delete.grace_period_seconds = Some(0);
    h.call(evict).unwrap();
    assert_eq!(
        h.call(get("pods", Some("default"), "p")).unwrap_err().code,
        404
    );
}

#[test]
fn json_patch_and_strategic_merge_patch_through_the_gateway() {
    let mut h = with_default_namespace();
    h.call(create("deployments", Some("default"), deployment("d")))
        .unwrap();
    let mut smp = ApiRequest::new(
        Verb::Patch(patch::PatchType::StrategicMerge),
        path("apps", "deployments", Some("default"), Some("d")),
    );
    smp.body = br#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox:1"}]}}}}"#.to_vec();
    let (_, patched) = h.call(smp).unwrap();
    let names: Vec<&str> = patched["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["sidecar", "web"], "merged by name");
    assert_eq!(patched["metadata"]["generation"], 2);
    let mut jp = ApiRequest::new(
        Verb::Patch(patch::PatchType::Json),
        path("apps", "deployments", Some("default"), Some("d")),
    );
    jp.body = br#"[{"op":"test","path":"/spec/replicas","value":1},{"op":"replace","path":"/spec/replicas","value":3}]"#.to_vec();
    let (_, patched) = h.call(jp.clone()).unwrap();
    assert_eq!(patched["spec"]["replicas"], 3);
    let failed = h.call(jp).unwrap_err();
    assert_eq!(failed.code, 422, "a failed test op: {}", failed.message);
}

#[test]
fn a_dry_run_checks_everything_and_writes_nothing() {
    let mut h = with_default_namespace();
    let mut dry = create("pods", Some("default"), pod("ghost"));
    dry.dry_run = true;
    let (code, answered) = h.call(dry.clone()).unwrap();
    assert_eq!(
        (code, answered["spec"]["restartPolicy"].as_str()),
        (201, Some("Always"))
    );
    let missing = h.call(get("pods", Some("default"), "ghost")).unwrap_err();
    assert_eq!(missing.code, 404, "a dry-run create stored the pod");
    // Validation still runs.
    let mut invalid = create("pods", Some("default"), pod("Not_Valid"));
    invalid.dry_run = true;
    assert_eq!(h.call(invalid).unwrap_err().code, 422);

    let (_, real) = h.call(create("pods", Some("default"), pod("web"))).unwrap();
    let mut patch = ApiRequest::new(
        Verb::Patch(patch::PatchType::Merge),
        path("", "pods", Some("default"), Some("web")),
    );
    patch.body = br#"{"metadata":{"labels":{"x":"y"}}}"#.to_vec();
    patch.dry_run = true;
    let (_, patched) = h.call(patch).unwrap();
    assert_eq!(patched["metadata"]["labels"]["x"], "y");
    let mut delete = ApiRequest::new(Verb::Delete, path("", "pods", Some("default"), Some("web")));
    delete.dry_run = true;
    delete.delete.grace_period_seconds = Some(0);
    h.call(delete).unwrap();
    let (_, now) = h.call(get("pods", Some("default"), "web")).unwrap();
    assert_eq!(now, real, "a dry-run patch or delete changed the pod");
}

#[test]
fn only_workloads_have_a_generation_as_in_kube() {
    let mut h = with_default_namespace();
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "generation": 7}, "data": {"a": "1"}});
    let (_, created) = h
        .call(create("configmaps", Some("default"), config))
        .unwrap();
    assert!(created["metadata"].get("generation").is_none(), "{created}");
    let mut patch = ApiRequest::new(
        Verb::Patch(patch::PatchType::Merge),
        path("", "configmaps", Some("default"), Some("c")),
    );
    patch.body = br#"{"data":{"a":"2"}}"#.to_vec();
    let (_, patched) = h.call(patch).unwrap();
    assert!(patched["metadata"].get("generation").is_none(), "{patched}");
    let (_, pod) = h.call(create("pods", Some("default"), pod("p"))).unwrap();
    assert_eq!(pod["metadata"]["generation"], 1);
}
