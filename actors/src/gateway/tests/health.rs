//! Health: /readyz and /livez follow the caches and the store watch.

use super::*;

#[test]
fn readiness_follows_the_caches_and_the_store_watch() {
    let report = |h: &mut Harness, path: &str| -> Vec<(String, bool)> {
        let request = ApiRequest::new(
            Verb::GetPath,
            ResourcePath {
                name: Some(path.into()),
                ..ResourcePath::default()
            },
        );
        let id = h.send(request, admin());
        let Some(ApiOutcome::Ok { body, .. }) = h.outcome(id) else {
            panic!("no health report for {path}");
        };
        let checks: Vec<Value> = serde_json::from_slice(&body).unwrap();
        let entry = |c: &Value| (c["name"].as_str().unwrap().to_string(), c["ok"] == true);
        checks.iter().map(entry).collect()
    };
    let failing = |checks: &[(String, bool)]| -> Vec<String> {
        checks
            .iter()
            .filter(|(_, ok)| !ok)
            .map(|(name, _)| name.clone())
            .collect()
    };
    // The harness's caches have listed the store; the bootstrap objects come on a tick.
    let mut h = Harness::new(|_| {});
    let fresh = report(&mut h, "/readyz");
    let names: Vec<&str> = fresh.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "ping",
            "etcd",
            "informer-sync",
            "poststarthook/rbac/bootstrap-roles"
        ]
    );
    assert_eq!(failing(&fresh), ["poststarthook/rbac/bootstrap-roles"]);
    h.tick(2);
    assert_eq!(failing(&report(&mut h, "/readyz")), Vec::<String>::new());
    assert_eq!(
        report(&mut h, "/livez").len(),
        3,
        "liveness leaves cache sync out"
    );
    // The store goes silent: after the silence bound, its watch is no longer live.
    let silence = h.gateway.config.feed_silence_ticks_max;
    for _ in 0..=silence {
        let mut out = Outbox::new();
        h.gateway.handle(Input::Timer(GatewayTimer::Tick), &mut out);
        h.queue.clear();
    }
    assert!(failing(&report(&mut h, "/readyz")).contains(&"etcd".to_string()));
    // Other paths carry no report.
    let request = ApiRequest::new(
        Verb::GetPath,
        ResourcePath {
            name: Some("/version".into()),
            ..ResourcePath::default()
        },
    );
    let id = h.send(request, admin());
    assert!(matches!(h.outcome(id), Some(ApiOutcome::Ok { body, .. }) if body.is_empty()));
}
