//! Authorization: RBAC, node restriction, non-resource URLs, the bootstrap policy, reviews.

use super::*;
// The gateway's module, which this file's name would shadow.
use crate::gateway::rbac;

#[test]
fn rbac_and_node_restriction() {
    let mut h = with_default_namespace();
    let alice = User::new("alice", &["system:authenticated"]);
    let denied = h
        .call_as(get("pods", Some("default"), "x"), alice.clone())
        .unwrap_err();
    assert_eq!(denied.code, 403, "{}", denied.message);
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "alice-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]});
    let mut request = create("rolebindings", Some("default"), binding);
    request.path.group = "rbac.authorization.k8s.io".into();
    h.call(request).unwrap();
    h.tick(1);
    let list = ApiRequest::new(Verb::List, path("", "pods", Some("default"), None));
    assert!(h.call_as(list, alice.clone()).is_ok());
    assert_eq!(
        h.call_as(create("pods", Some("default"), pod("p")), alice)
            .unwrap_err()
            .code,
        403
    );
    let kubelet = User::new("system:node:n1", &["system:nodes"]);
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}});
    assert!(h
        .call_as(create("nodes", None, node.clone()), kubelet.clone())
        .is_ok());
    let mut other = node;
    other["metadata"]["name"] = json!("n2");
    assert_eq!(
        h.call_as(create("nodes", None, other), kubelet.clone())
            .unwrap_err()
            .code,
        403
    );
    // Secrets: only by name, and only those a pod bound to the node uses.
    for name in ["used", "unused"] {
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}});
        h.call(create("secrets", Some("default"), secret)).unwrap();
    }
    let mut bound = pod("runs-here");
    bound["spec"]["nodeName"] = json!("n1");
    bound["spec"]["containers"][0]["env"] =
        json!([{"name": "P", "valueFrom": {"secretKeyRef": {"name": "used", "key": "k"}}}]);
    h.call(create("pods", Some("default"), bound)).unwrap();
    h.tick(1);
    let read = |name: &str| get("secrets", Some("default"), name);
    assert!(h.call_as(read("used"), kubelet.clone()).is_ok());
    assert_eq!(
        h.call_as(read("unused"), kubelet.clone()).unwrap_err().code,
        403
    );
    let list = ApiRequest::new(Verb::List, path("", "secrets", Some("default"), None));
    assert_eq!(h.call_as(list, kubelet).unwrap_err().code, 403);
}

#[test]
fn non_resource_urls_follow_rbac() {
    let mut h = with_default_namespace();
    h.tick(3); // the bootstrap policy is created
    let roles = h.gateway.cache("ClusterRole").unwrap();
    assert!(
        roles
            .get(b"/registry/rbac.authorization.k8s.io/clusterroles/system:discovery")
            .is_some(),
        "bootstrapped: {}",
        roles.len()
    );
    let alice = User::new("alice", &["system:authenticated"]);
    let admin = admin();
    assert!(rbac::non_resource_allowed(&h.gateway, &admin, "get", "/metrics").unwrap());
    assert!(
        rbac::non_resource_allowed(&h.gateway, &alice, "get", "/version").unwrap(),
        "discovery is public to users"
    );
    assert!(!rbac::non_resource_allowed(&h.gateway, &alice, "get", "/metrics").unwrap());
}

#[test]
fn the_bootstrap_policy_is_valid() {
    let mut h = with_default_namespace();
    for (plural, value) in rbac::bootstrap_policy() {
        let mut request = create(plural, None, value);
        request.path.group = "rbac.authorization.k8s.io".into();
        match h.call(request) {
            Ok(_) => {}
            Err(error) => assert_eq!(error.code, 409, "{plural}: {}", error.message),
        }
    }
}

fn review(group: &str, plural: &str, namespace: Option<&str>, body: Value) -> ApiRequest {
    let mut request = create(plural, namespace, body);
    request.path.group = group.into();
    request
}

#[test]
fn reviews_answer_who_and_what_from_rbac_and_store_nothing() {
    let mut h = with_default_namespace();
    let alice = User::new("alice", &["system:authenticated"]);
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "alice-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]});
    h.call(review(
        "rbac.authorization.k8s.io",
        "rolebindings",
        Some("default"),
        binding,
    ))
    .unwrap();
    h.tick(1);
    let may = |h: &mut Harness, user: &User, verb: &str, namespace: &str| {
        let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {"verb": verb, "resource": "pods", "namespace": namespace}}});
        let request = review(
            "authorization.k8s.io",
            "selfsubjectaccessreviews",
            None,
            body,
        );
        let (code, answer) = h.call_as(request, user.clone()).unwrap();
        assert_eq!(code, 201);
        assert_eq!(answer["spec"]["resourceAttributes"]["verb"], verb);
        answer["status"]["allowed"].as_bool().unwrap()
    };
    // Any authenticated user may ask (system:basic-user); the answer is RBAC's.
    assert!(may(&mut h, &alice, "list", "default"));
    assert!(!may(&mut h, &alice, "create", "default"));
    assert!(!may(&mut h, &alice, "list", "kube-system"));
    assert!(may(&mut h, &admin(), "create", "kube-system"));
    // Who am I.
    let whoami = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
    let request = review("authentication.k8s.io", "selfsubjectreviews", None, whoami);
    let (_, answer) = h.call_as(request, alice.clone()).unwrap();
    assert_eq!(
        answer["status"]["userInfo"],
        json!({"username": "alice", "groups": ["system:authenticated"]})
    );
    // What may I do here: view's rules in default, the basic and discovery rules anywhere.
    let rules = |h: &mut Harness, namespace: &str| {
        let body = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
            "spec": {"namespace": namespace}});
        let request = review(
            "authorization.k8s.io",
            "selfsubjectrulesreviews",
            None,
            body,
        );
        let (_, answer) = h.call_as(request, alice.clone()).unwrap();
        let status = answer["status"].clone();
        assert_eq!(status["incomplete"], false);
        assert!(!status["nonResourceRules"].as_array().unwrap().is_empty());
        status["resourceRules"].as_array().unwrap().clone()
    };
    let here = rules(&mut h, "default");
    assert!(here
        .iter()
        .any(|r| r["resources"].as_array().unwrap().contains(&json!("pods"))));
    let elsewhere = rules(&mut h, "kube-system");
    assert!(elsewhere
        .iter()
        .all(|r| !r["resources"].as_array().unwrap().contains(&json!("pods"))));
    assert_eq!(here.len(), elsewhere.len() + 1);
    // About someone else: only for who may create subjectaccessreviews (not alice).
    let sar = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
        "spec": {"user": "alice", "resourceAttributes": {"verb": "get", "resource": "pods", "namespace": "default"}}});
    let request = review(
        "authorization.k8s.io",
        "subjectaccessreviews",
        None,
        sar.clone(),
    );
    assert_eq!(
        h.call_as(request.clone(), alice.clone()).unwrap_err().code,
        403
    );
    let (_, answer) = h.call(request).unwrap();
    assert_eq!(answer["status"]["allowed"], true);
    let mut nobody = sar;
    nobody["spec"].as_object_mut().unwrap().remove("user");
    let error = h
        .call(review(
            "authorization.k8s.io",
            "subjectaccessreviews",
            None,
            nobody,
        ))
        .unwrap_err();
    assert_eq!(error.code, 422);
    assert!(
        error
            .message
            .contains("at least one of user or group must be specified"),
        "{}",
        error.message
    );
    let empty = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "spec": {}});
    let error = h
        .call(review(
            "authorization.k8s.io",
            "selfsubjectaccessreviews",
            None,
            empty,
        ))
        .unwrap_err();
    assert!(
        error.message.contains(
            "exactly one of nonResourceAttributes or resourceAttributes must be specified"
        ),
        "{}",
        error.message
    );
    // A local review stays in its namespace.
    let local = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "LocalSubjectAccessReview",
        "spec": {"user": "alice", "resourceAttributes": {"verb": "get", "resource": "pods", "namespace": "kube-system"}}});
    let error = h
        .call(review(
            "authorization.k8s.io",
            "localsubjectaccessreviews",
            Some("default"),
            local,
        ))
        .unwrap_err();
    assert_eq!(
        error.message,
        "spec.resourceAttributes.namespace must match namespace: default"
    );
    // Nothing else may be done with a review.
    let list = ApiRequest::new(
        Verb::List,
        path(
            "authorization.k8s.io",
            "selfsubjectaccessreviews",
            None,
            None,
        ),
    );
    assert_eq!(h.call(list).unwrap_err().code, 405);
}
