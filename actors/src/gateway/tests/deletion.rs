//! Deletion: finalizers, owner references and their collection, deletecollection, grace.

use super::*;

#[test]
fn finalizers_hold_an_object_until_removed() {
    let mut h = with_default_namespace();
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "finalizers": ["example.com/x"]}});
    h.call(create("configmaps", Some("default"), cm.clone()))
        .unwrap();
    let (_, marked) = h
        .call(ApiRequest::new(
            Verb::Delete,
            path("", "configmaps", Some("default"), Some("held")),
        ))
        .unwrap();
    assert!(marked["metadata"]["deletionTimestamp"].is_string());
    h.call(get("configmaps", Some("default"), "held")).unwrap();
    let mut patch = ApiRequest::new(
        Verb::Patch(patch::PatchType::Merge),
        path("", "configmaps", Some("default"), Some("held")),
    );
    patch.body = br#"{"metadata":{"finalizers":null}}"#.to_vec();
    h.call(patch).unwrap();
    assert_eq!(
        h.call(get("configmaps", Some("default"), "held"))
            .unwrap_err()
            .code,
        404
    );
}

#[test]
fn owner_deletion_collects_dependents_in_each_propagation() {
    for (propagation, dependent_survives) in [
        (Propagation::Background, false),
        (Propagation::Foreground, false),
        (Propagation::Orphan, true),
    ] {
        let mut h = with_default_namespace();
        let owner = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "owner"}});
        let (_, owner) = h
            .call(create("configmaps", Some("default"), owner))
            .unwrap();
        let mut dependent = pod("dep");
        dependent["metadata"]["ownerReferences"] = json!([{"apiVersion": "v1", "kind": "ConfigMap",
            "name": "owner", "uid": owner["metadata"]["uid"], "blockOwnerDeletion": true}]);
        h.call(create("pods", Some("default"), dependent)).unwrap();
        let mut delete = ApiRequest::new(
            Verb::Delete,
            path("", "configmaps", Some("default"), Some("owner")),
        );
        delete.delete.propagation = Some(propagation);
        h.call(delete).unwrap();
        h.tick(40);
        let dep = h.call(get("pods", Some("default"), "dep"));
        assert_eq!(dep.is_ok(), dependent_survives, "{propagation:?}: {dep:?}");
        if let Ok((_, dep)) = dep {
            assert_eq!(dep["metadata"]["ownerReferences"], json!([]), "orphaned");
        }
        assert_eq!(
            h.call(get("configmaps", Some("default"), "owner"))
                .unwrap_err()
                .code,
            404,
            "{propagation:?}"
        );
    }
}

#[test]
fn deletecollection_deletes_what_the_selector_matches() {
    let mut h = with_default_namespace();
    h.call(create("pods", Some("default"), pod("a"))).unwrap();
    let mut db = pod("b");
    db["metadata"]["labels"] = json!({"app": "db"});
    h.call(create("pods", Some("default"), db)).unwrap();
    let mut request = ApiRequest::new(
        Verb::DeleteCollection,
        path("", "pods", Some("default"), None),
    );
    request.list.label_selector = "app=web".into();
    let (_, deleted) = h.call(request).unwrap();
    assert_eq!(deleted["items"].as_array().unwrap().len(), 1);
    h.tick(2);
    assert_eq!(
        h.call(get("pods", Some("default"), "a")).unwrap_err().code,
        404
    );
    assert!(h.call(get("pods", Some("default"), "b")).is_ok());
}

#[test]
fn a_bound_pod_is_deleted_gracefully_until_its_kubelet_confirms() {
    let mut h = with_default_namespace();
    let mut bound = pod("p");
    bound["spec"]["nodeName"] = json!("n1");
    h.call(create("pods", Some("default"), bound)).unwrap();
    let (_, marked) = h
        .call(ApiRequest::new(
            Verb::Delete,
            path("", "pods", Some("default"), Some("p")),
        ))
        .unwrap();
    assert_eq!(marked["metadata"]["deletionGracePeriodSeconds"], 30);
    assert!(
        h.call(get("pods", Some("default"), "p")).is_ok(),
        "kept until the kubelet confirms"
    );
    let mut confirm = ApiRequest::new(Verb::Delete, path("", "pods", Some("default"), Some("p")));
    confirm.delete.grace_period_seconds = Some(0);
    h.call(confirm).unwrap();
    assert_eq!(
        h.call(get("pods", Some("default"), "p")).unwrap_err().code,
        404
    );
}
