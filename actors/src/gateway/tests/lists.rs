//! Lists: consistent reads, paging with limit and continue, label and field selectors.

use super::*;

#[test]
fn consistent_list_never_shows_a_deleted_object() {
    let mut h = with_default_namespace();
    h.call(create("pods", Some("default"), pod("a"))).unwrap();
    h.call(create("pods", Some("default"), pod("b"))).unwrap();
    let (code, _) = h
        .call(ApiRequest::new(
            Verb::Delete,
            path("", "pods", Some("default"), Some("a")),
        ))
        .unwrap();
    assert_eq!(code, 200);
    let (_, list) = h
        .call(ApiRequest::new(
            Verb::List,
            path("", "pods", Some("default"), None),
        ))
        .unwrap();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["b"]);
    assert_eq!(list["kind"], "PodList");
}

#[test]
fn list_pages_with_limit_and_continue() {
    let mut h = with_default_namespace();
    for i in 0..5 {
        h.call(create(
            "configmaps",
            Some("default"),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("cm{i}")}, "data": {"k": "v"}}),
        ))
        .unwrap();
    }
    let mut request = ApiRequest::new(Verb::List, path("", "configmaps", Some("default"), None));
    request.list.limit = 2;
    let mut names = Vec::new();
    for _ in 0..3 {
        let (_, page) = h.call(request.clone()).unwrap();
        names.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["metadata"]["name"].as_str().unwrap().to_string()),
        );
        match page["metadata"]["continue"].as_str() {
            Some(token) => request.list.continue_token = token.to_string(),
            None => break,
        }
    }
    assert_eq!(names, vec!["cm0", "cm1", "cm2", "cm3", "cm4"]);
}

#[test]
fn label_and_field_selectors_filter_lists() {
    let mut h = with_default_namespace();
    h.call(create("pods", Some("default"), pod("a"))).unwrap();
    let mut other = pod("b");
    other["metadata"]["labels"] = json!({"app": "db"});
    h.call(create("pods", Some("default"), other)).unwrap();
    let mut request = ApiRequest::new(Verb::List, path("", "pods", None, None));
    request.list.label_selector = "app in (db, cache)".into();
    let (_, list) = h.call(request.clone()).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    request.list.label_selector.clear();
    request.list.field_selector = "metadata.name=a".into();
    let (_, list) = h.call(request.clone()).unwrap();
    assert_eq!(list["items"][0]["metadata"]["name"], "a");
    request.list.field_selector = "spec.bogus=a".into();
    assert_eq!(h.call(request).unwrap_err().code, 400);
}
