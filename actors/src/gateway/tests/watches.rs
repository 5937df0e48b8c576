//! Watches: events after a resourceVersion, the current state from "0", 410 when too old.

use super::*;

#[test]
fn watch_streams_changes_and_expires_when_too_old() {
    let mut h = with_default_namespace();
    let (_, created) = h.call(create("pods", Some("default"), pod("a"))).unwrap();
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let mut watch = ApiRequest::new(Verb::Watch, path("", "pods", Some("default"), None));
    watch.list.resource_version = rv.clone();
    let id = h.send(watch.clone(), admin());
    h.settle();
    assert_eq!(h.outcome(id), Some(ApiOutcome::Watching));
    h.call(create("pods", Some("default"), pod("b"))).unwrap();
    h.call(ApiRequest::new(
        Verb::Delete,
        path("", "pods", Some("default"), Some("a")),
    ))
    .unwrap();
    let events = h.events(id);
    let kinds: Vec<WatchEventType> = events.iter().map(|e| e.0).collect();
    assert_eq!(kinds, vec![WatchEventType::Added, WatchEventType::Deleted]);
    assert_eq!(events[1].1["metadata"]["name"], "a");
    // From "0": the current state first, as ADDED events.
    watch.list.resource_version = "0".into();
    let id = h.send(watch.clone(), admin());
    h.settle();
    let names: Vec<String> = h
        .events(id)
        .iter()
        .map(|e| e.1["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["b"]);
}

#[test]
fn a_watch_from_before_the_cache_window_expires() {
    let mut h = with_default_namespace();
    let (_, first) = h
        .call(create(
            "configmaps",
            Some("default"),
            json!({"apiVersion": "v1",
        "kind": "ConfigMap", "metadata": {"name": "first"}}),
        ))
        .unwrap();
    for i in 0..=cache::CACHE_HISTORY_EVENTS_MAX {
        h.call(create(
            "configmaps",
            Some("default"),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": format!("cm{i}")}}),
        ))
        .unwrap();
    }
    let mut watch = ApiRequest::new(Verb::Watch, path("", "configmaps", Some("default"), None));
    watch.list.resource_version = first["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .into();
    let id = h.send(watch, admin());
    h.settle();
    match h.outcome(id) {
        Some(ApiOutcome::Err(error)) => {
            assert_eq!((error.code, error.reason.as_str()), (410, "Expired"))
        }
        other => panic!("expected 410, got {other:?}"),
    }
}
