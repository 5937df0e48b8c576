//! kube-apiserver's health checks, as `/livez`, `/readyz` and `/healthz` report them. The
//! gateway says which of its checks pass; the HTTPS shell renders kube's text (`ok`, or
//! `[+]etcd ok` lines and `readyz check passed`/`failed` with 500).

use serde_json::{json, Value};

use super::actor::Gateway;

/// The process answers at all.
const PING: &str = "ping";
/// The store answered a request lately (the gateway probes it when idle): a quorum serves.
const ETCD: &str = "etcd";
/// Every cache holds the store's whole list: reads can be served.
const INFORMER_SYNC: &str = "informer-sync";
/// The bootstrap namespaces and RBAC policy are in the caches.
const BOOTSTRAP: &str = "poststarthook/rbac/bootstrap-roles";

/// kube's split: liveness (and the older healthz) leave cache sync out; readiness has it.
const LIVEZ: &[&str] = &[PING, ETCD, BOOTSTRAP];
const READYZ: &[&str] = &[PING, ETCD, INFORMER_SYNC, BOOTSTRAP];

/// The checks of a health endpoint's path (`/readyz`, `/livez/etcd`), or None for any other
/// path.
pub fn checks_of(path: &str) -> Option<&'static [&'static str]> {
    match path.trim_start_matches('/').split('/').next() {
        Some("readyz") => Some(READYZ),
        Some("livez" | "healthz") => Some(LIVEZ),
        _ => None,
    }
}

/// Each check of `checks` with whether it passes, as JSON `[{"name": .., "ok": ..}]`.
pub(crate) fn report(gateway: &Gateway, checks: &[&str]) -> Vec<u8> {
    let results: Vec<Value> = checks
        .iter()
        .map(|name| json!({"name": name, "ok": passes(gateway, name)}))
        .collect();
    Value::Array(results).to_string().into_bytes()
}

fn passes(gateway: &Gateway, check: &str) -> bool {
    let feeds = &gateway.feeds;
    match check {
        PING => true,
        ETCD => gateway.store_answers(),
        INFORMER_SYNC => !feeds.is_empty() && feeds.iter().all(|feed| feed.cache.synced()),
        BOOTSTRAP => gateway
            .missing_bootstrap()
            .is_some_and(|missing| missing.is_empty()),
        _ => false,
    }
}
