//! The gateway against a real one-member store, in one thread: every message is
//! delivered in order, timers fire when a test says so. These check each verb's
//! Kubernetes semantics; the model (`kactor-model`) checks the races.

use std::collections::VecDeque;

use serde_json::{json, Value};

use super::ownership;
use super::*;
use crate::kernel::{Actor, Effect, Input, NodeId, Outbox};
use crate::raft::{Membership, RaftConfig, RaftTimer};
use crate::store::{Store, StoreConfig, StoreMsg, StoreTimer};
use kactor_kube::patch;

const STORE: NodeId = 1;
const GATEWAY: NodeId = 10;
pub(crate) const CLIENT: NodeId = 100;
/// Peers that play kubelets in the stream tests: what the gateway sends them is kept.
pub(crate) const KUBELETS: std::ops::RangeInclusive<NodeId> = 200..=209;

// A queue of a test's messages: boxing the gateway's would cost an allocation for nothing.
// Test plumbing: a gateway message is as large as the gateway's own enum allows.
#[allow(clippy::large_enum_variant)]
enum Envelope {
    ToStore(NodeId, StoreMsg),
    ToGateway(NodeId, GatewayMsg),
}

pub(crate) struct Harness {
    pub store: Store,
    pub gateway: Gateway,
    queue: VecDeque<Envelope>,
    pub inbox: Vec<GatewayMsg>,
    /// What the gateway sent to the kubelets, in order.
    pub kubelet_inbox: Vec<(NodeId, GatewayMsg)>,
    next_request: ApiRequestId,
    entropy: u128,
}

pub(crate) fn admin() -> User {
    User::new("admin", &["system:masters"])
}

impl Harness {
    pub fn new(config: impl FnOnce(&mut GatewayConfig)) -> Harness {
        let membership = Membership {
            voters: [(STORE, "store".to_string())].into(),
        };
        let mut out = Outbox::new();
        let mut store = Store::start(
            StoreConfig::new(RaftConfig::new(STORE, membership)),
            Default::default(),
            &mut out,
        );
        // A one-member store elects itself on its first election timeout.
        let mut out = Outbox::new();
        store.handle(
            Input::Timer(StoreTimer::Raft(RaftTimer::Election)),
            &mut out,
        );
        let mut gateway_config = GatewayConfig::new(GATEWAY, vec![STORE]);
        config(&mut gateway_config);
        let mut gateway_out = Outbox::new();
        let gateway = Gateway::start(gateway_config, (), &mut gateway_out);
        let mut harness = Harness {
            store,
            gateway,
            queue: VecDeque::new(),
            inbox: Vec::new(),
            kubelet_inbox: Vec::new(),
            next_request: 0,
            entropy: 0x1234_5678_9abc_def0_1122_3344_5566_7788,
        };
        harness.take_store(out);
        harness.take_gateway(gateway_out);
        harness.settle();
        assert!(
            harness.gateway.cache("Pod").is_some(),
            "caches sync at start"
        );
        harness
    }

    fn take_store(&mut self, out: Outbox<Store>) {
        for effect in out.into_effects() {
            if let Effect::Send { to, msg } = effect {
                assert_eq!(to, GATEWAY, "a one-member store talks only to the gateway");
                self.queue
                    .push_back(Envelope::ToGateway(STORE, GatewayMsg::Store(msg)));
            }
        }
    }

    fn take_gateway(&mut self, out: Outbox<Gateway>) {
        for effect in out.into_effects() {
            match effect {
                Effect::Send {
                    to: STORE,
                    msg: GatewayMsg::Store(msg),
                } => self.queue.push_back(Envelope::ToStore(GATEWAY, msg)),
                Effect::Send { to, msg } if to == CLIENT => self.inbox.push(msg),
                Effect::Send { to, msg } if KUBELETS.contains(&to) => {
                    self.kubelet_inbox.push((to, msg))
                }
                Effect::Send { to, msg } => panic!("gateway sent {msg:?} to {to}"),
                _ => {}
            }
        }
    }

    /// Hands the gateway one message from `from`, as its host would.
    pub fn deliver(&mut self, from: NodeId, msg: GatewayMsg) {
        let mut out = Outbox::new();
        self.gateway.handle(Input::Message { from, msg }, &mut out);
        self.take_gateway(out);
        self.settle();
    }

    /// Delivers messages until none are left.
    pub fn settle(&mut self) {
        let mut delivered = 0;
        while let Some(envelope) = self.queue.pop_front() {
            delivered += 1;
            assert!(delivered < 100_000, "a message storm");
            match envelope {
                Envelope::ToStore(from, msg) => {
                    let mut out = Outbox::new();
                    self.store.handle(Input::Message { from, msg }, &mut out);
                    self.take_store(out);
                }
                Envelope::ToGateway(from, msg) => {
                    let mut out = Outbox::new();
                    self.gateway.handle(Input::Message { from, msg }, &mut out);
                    self.take_gateway(out);
                }
            }
        }
    }

    pub fn tick(&mut self, ticks: u32) {
        for _ in 0..ticks {
            let mut out = Outbox::new();
            let clock = GatewayMsg::Clock {
                stamp: Stamp {
                    unix_ms: 1_700_000_000_000 + self.next_request * 1000,
                    entropy: self.entropy,
                },
            };
            self.gateway.handle(
                Input::Message {
                    from: STORE,
                    msg: clock,
                },
                &mut out,
            );
            self.gateway
                .handle(Input::Timer(GatewayTimer::Tick), &mut out);
            self.take_gateway(out);
            let mut out = Outbox::new();
            self.store.handle(Input::Timer(StoreTimer::Tick), &mut out);
            self.take_store(out);
            self.settle();
        }
    }

    /// Sends a request as `user` and returns its id.
    pub fn send(&mut self, request: ApiRequest, user: impl Into<Requester>) -> ApiRequestId {
        self.next_request += 1;
        self.entropy = self
            .entropy
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let id = self.next_request;
        let stamp = Stamp {
            unix_ms: 1_700_000_000_000 + id * 1000,
            entropy: self.entropy,
        };
        let msg = GatewayMsg::Request {
            id,
            request,
            user: user.into(),
            stamp,
        };
        let mut out = Outbox::new();
        self.gateway
            .handle(Input::Message { from: CLIENT, msg }, &mut out);
        self.take_gateway(out);
        id
    }

    pub fn outcome(&mut self, id: ApiRequestId) -> Option<ApiOutcome> {
        let at = self
            .inbox
            .iter()
            .position(|m| matches!(m, GatewayMsg::Response { id: r, .. } if *r == id))?;
        match self.inbox.remove(at) {
            GatewayMsg::Response { outcome, .. } => Some(outcome),
            _ => unreachable!(),
        }
    }

    /// Sends a request as admin, lets it run, and returns its outcome.
    pub fn call(&mut self, request: ApiRequest) -> Result<(u16, Value), ApiError> {
        self.call_as(request, admin())
    }

    pub fn call_as(
        &mut self,
        request: ApiRequest,
        user: impl Into<Requester>,
    ) -> Result<(u16, Value), ApiError> {
        let (id, outcome) = self.answer_as(request, user);
        match outcome {
            ApiOutcome::Ok { code, body, .. } => {
                Ok((code, serde_json::from_slice(&body).expect("JSON")))
            }
            ApiOutcome::Err(error) => Err(error),
            ApiOutcome::Watching => Ok((200, json!({"watching": id}))),
        }
    }

    /// Sends a request as `user`, lets it run, and returns its whole outcome.
    pub fn answer_as(
        &mut self,
        request: ApiRequest,
        user: impl Into<Requester>,
    ) -> (ApiRequestId, ApiOutcome) {
        let id = self.send(request, user);
        self.settle();
        for _ in 0..5 {
            if self
                .inbox
                .iter()
                .any(|m| matches!(m, GatewayMsg::Response { id: r, .. } if *r == id))
            {
                break;
            }
            self.tick(1);
        }
        (id, self.outcome(id).expect("an answer"))
    }

    /// The watch events delivered so far for request `id`.
    pub fn events(&mut self, id: ApiRequestId) -> Vec<(WatchEventType, Value)> {
        let mut events = Vec::new();
        self.inbox.retain(|m| match m {
            GatewayMsg::WatchEvents {
                id: w,
                events: batch,
                ..
            } if *w == id => {
                events.extend(
                    batch
                        .iter()
                        .map(|e| (e.kind, serde_json::from_slice(&e.object).expect("JSON"))),
                );
                false
            }
            _ => true,
        });
        events
    }
}

pub(crate) fn path(
    group: &str,
    plural: &str,
    namespace: Option<&str>,
    name: Option<&str>,
) -> ResourcePath {
    ResourcePath {
        group: group.into(),
        plural: plural.into(),
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
        subresource: None,
    }
}

pub(crate) fn create(plural: &str, namespace: Option<&str>, body: Value) -> ApiRequest {
    let group = match plural {
        "deployments" | "replicasets" => "apps",
        _ => "",
    };
    let mut request = ApiRequest::new(Verb::Create, path(group, plural, namespace, None));
    request.body = serde_json::to_vec(&body).unwrap();
    request
}

pub(crate) fn get(plural: &str, namespace: Option<&str>, name: &str) -> ApiRequest {
    ApiRequest::new(Verb::Get, path("", plural, namespace, Some(name)))
}

pub(crate) fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

pub(crate) fn pod(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"app": "web"}},
           "spec": {"containers": [{"name": "c", "image": "nginx:1.27",
                    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}})
}

/// A harness after bootstrap: the system namespaces exist.
pub(crate) fn with_default_namespace() -> Harness {
    let mut harness = Harness::new(|_| {});
    harness.tick(1);
    harness
        .call(get("namespaces", None, "default"))
        .expect("the bootstrap namespace");
    harness
}

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
fn invalid_objects_get_422_with_causes_and_bad_shapes_400() {
    let mut h = with_default_namespace();
    let mut bad = pod("Bad_Name");
    bad["spec"]["containers"][0]["name"] = json!("");
    let error = h.call(create("pods", Some("default"), bad)).unwrap_err();
    assert_eq!((error.code, error.reason.as_str()), (422, "Invalid"));
    let fields: Vec<&str> = error
        .details
        .causes
        .iter()
        .map(|c| c.field.as_str())
        .collect();
    assert!(fields.contains(&"metadata.name"), "{fields:?}");
    assert!(
        error.message.starts_with("Pod \"Bad_Name\" is invalid"),
        "{}",
        error.message
    );
    let mut wrong = pod("w");
    wrong["spec"]["containers"] = json!("not a list");
    assert_eq!(
        h.call(create("pods", Some("default"), wrong))
            .unwrap_err()
            .code,
        400
    );
    let mut request = create("pods", Some("default"), pod("x"));
    request.body = b"{not json".to_vec();
    assert_eq!(h.call(request).unwrap_err().code, 400);
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

#[test]
fn namespace_lifecycle_refuses_missing_and_terminating_namespaces() {
    let mut h = with_default_namespace();
    let missing = h
        .call(create("pods", Some("nowhere"), pod("a")))
        .unwrap_err();
    assert_eq!((missing.code, missing.details_kind()), (404, "namespaces"));
    h.call(create("namespaces", None, namespace("doomed")))
        .unwrap();
    h.call(create("pods", Some("doomed"), pod("a"))).unwrap();
    let (_, ns) = h
        .call(ApiRequest::new(
            Verb::Delete,
            path("", "namespaces", None, Some("doomed")),
        ))
        .unwrap();
    assert_eq!(ns["status"]["phase"], "Terminating");
    let refused = h
        .call(create("pods", Some("doomed"), pod("b")))
        .unwrap_err();
    assert_eq!(refused.code, 403, "{}", refused.message);
    // The collector empties the namespace, then the namespace goes.
    h.tick(40);
    let gone = h.call(get("namespaces", None, "doomed")).unwrap_err();
    assert_eq!(gone.code, 404);
}

#[test]
fn quota_is_charged_with_the_create_and_released_by_the_delete() {
    let mut h = with_default_namespace();
    let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
        "spec": {"hard": {"pods": "2", "requests.cpu": "1"}}});
    h.call(create("resourcequotas", Some("default"), quota))
        .unwrap();
    h.call(create("pods", Some("default"), pod("a"))).unwrap();
    h.call(create("pods", Some("default"), pod("b"))).unwrap();
    let exceeded = h
        .call(create("pods", Some("default"), pod("c")))
        .unwrap_err();
    assert_eq!(exceeded.code, 403);
    assert!(
        exceeded.message.contains("exceeded quota: q"),
        "{}",
        exceeded.message
    );
    let (_, q) = h.call(get("resourcequotas", Some("default"), "q")).unwrap();
    assert_eq!(q["status"]["used"]["pods"], "2");
    h.call(ApiRequest::new(
        Verb::Delete,
        path("", "pods", Some("default"), Some("a")),
    ))
    .unwrap();
    h.call(create("pods", Some("default"), pod("c"))).unwrap();
}

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
fn secrets_are_sealed_in_the_store() {
    let key = secrets::EncryptionKey {
        name: "k1".into(),
        secret: [7; 32],
    };
    let mut h = Harness::new(|c| c.encryption = secrets::Encryption { keys: vec![key] });
    h.call(create("namespaces", None, namespace("default")))
        .unwrap();
    let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "data": {"password": "aHVudGVyMg=="}});
    h.call(create("secrets", Some("default"), secret)).unwrap();
    let (_, got) = h.call(get("secrets", Some("default"), "s")).unwrap();
    assert_eq!(got["data"]["password"], "aHVudGVyMg==");
    let raw = h
        .store
        .raft
        .machine
        .get(b"/registry/core/secrets/default/s")
        .expect("stored");
    assert!(raw.value.starts_with(b"k8s:enc:aesgcm:v1:k1:"));
    assert!(!raw.value.windows(8).any(|w| w == b"aHVudGVy"));
}

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

impl ApiError {
    fn details_kind(&self) -> &str {
        &self.details.kind
    }
}

fn deployment(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
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

#[test]
fn limit_ranger_defaults_and_bounds_containers() {
    let mut h = with_default_namespace();
    let range = json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr"},
        "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"},
                             "defaultRequest": {"cpu": "250m"}, "max": {"cpu": "1"}}]}});
    h.call(create("limitranges", Some("default"), range))
        .unwrap();
    h.tick(1);
    let mut bare = pod("bare");
    bare["spec"]["containers"][0]["resources"] = json!({});
    let (_, created) = h.call(create("pods", Some("default"), bare)).unwrap();
    assert_eq!(
        created["spec"]["containers"][0]["resources"]["limits"]["cpu"],
        "500m"
    );
    assert_eq!(
        created["spec"]["containers"][0]["resources"]["requests"]["cpu"],
        "250m"
    );
    let mut greedy = pod("greedy");
    greedy["spec"]["containers"][0]["resources"] =
        json!({"limits": {"cpu": "2"}, "requests": {"cpu": "2"}});
    let refused = h.call(create("pods", Some("default"), greedy)).unwrap_err();
    assert_eq!(refused.code, 403, "{}", refused.message);
}

#[test]
fn always_pull_images_and_the_default_storage_class() {
    let mut h = Harness::new(|c| c.always_pull_images = true);
    h.call(create("namespaces", None, namespace("default")))
        .unwrap();
    let (_, created) = h.call(create("pods", Some("default"), pod("p"))).unwrap();
    assert_eq!(
        created["spec"]["containers"][0]["imagePullPolicy"],
        "Always"
    );
    let class = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "local", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kactor.io/local"});
    let mut request = create("storageclasses", None, class);
    request.path.group = "storage.k8s.io".into();
    h.call(request).unwrap();
    h.tick(1);
    let claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
    let (_, created) = h
        .call(create("persistentvolumeclaims", Some("default"), claim))
        .unwrap();
    assert_eq!(created["spec"]["storageClassName"], "local");
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

// --- managedFields and server-side apply ---

fn deployment_path(name: &str) -> ResourcePath {
    path("apps", "deployments", Some("default"), Some(name))
}

fn apply_as(manager: &str, config: &Value) -> ApiRequest {
    let name = config["metadata"]["name"].as_str().unwrap();
    let mut request = ApiRequest::new(Verb::Patch(patch::PatchType::Apply), deployment_path(name));
    request.field_manager = manager.into();
    request.body = serde_json::to_vec(config).unwrap();
    request
}

fn update_as(manager: &str, object: &Value) -> ApiRequest {
    let name = object["metadata"]["name"].as_str().unwrap();
    let mut request = ApiRequest::new(Verb::Update, deployment_path(name));
    request.field_manager = manager.into();
    request.body = serde_json::to_vec(object).unwrap();
    request
}

/// The applied configuration of a one-container nginx Deployment.
fn nginx_config(replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nginx", "labels": {"app": "nginx"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "nginx"}},
            "template": {"metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}})
}

/// (manager, operation, subresource) of each managedFields entry, in order.
fn managers_of(object: &Value) -> Vec<(String, String, String)> {
    let entries = object["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    entries
        .iter()
        .map(|e| {
            let text = |name: &str| e[name].as_str().unwrap_or("").to_string();
            (text("manager"), text("operation"), text("subresource"))
        })
        .collect()
}

fn entry<'a>(object: &'a Value, manager: &str, operation: &str) -> &'a Value {
    object["metadata"]["managedFields"]
        .as_array()
        .and_then(|entries| {
            entries
                .iter()
                .find(|e| e["manager"] == manager && e["operation"] == operation)
        })
        .unwrap_or_else(|| panic!("no {operation} entry of {manager}: {object}"))
}

fn owns(object: &Value, manager: &str, operation: &str, path: &[&str]) -> bool {
    let mut fields = &entry(object, manager, operation)["fieldsV1"];
    for element in path {
        fields = &fields[*element];
    }
    fields.is_object()
}

fn named(manager: &str, operation: &str, subresource: &str) -> (String, String, String) {
    (manager.into(), operation.into(), subresource.into())
}

#[test]
fn create_and_updates_record_their_managers() {
    let mut h = with_default_namespace();
    let mut request = create("deployments", Some("default"), deployment("d"));
    request.field_manager = "kubectl-create".into();
    let (_, created) = h.call(request).unwrap();
    let first = entry(&created, "kubectl-create", "Update");
    assert_eq!(first["apiVersion"], "apps/v1");
    assert_eq!(first["fieldsType"], "FieldsV1");
    assert_eq!(first["time"], created["metadata"]["creationTimestamp"]);
    assert!(first.get("subresource").is_none());
    // The creator owns what it sent and what defaulting filled in, not server metadata.
    assert!(owns(
        &created,
        "kubectl-create",
        "Update",
        &["f:spec", "f:replicas"]
    ));
    assert!(owns(
        &created,
        "kubectl-create",
        "Update",
        &["f:spec", "f:progressDeadlineSeconds"]
    ));
    let container = [
        "f:spec",
        "f:template",
        "f:spec",
        "f:containers",
        "k:{\"name\":\"web\"}",
    ];
    assert!(owns(
        &created,
        "kubectl-create",
        "Update",
        &[&container[..], &["."]].concat()
    ));
    assert!(!owns(
        &created,
        "kubectl-create",
        "Update",
        &["f:metadata", "f:uid"]
    ));
    // An update takes only the fields it changes, from their owner.
    let mut scaled = created.clone();
    scaled["spec"]["replicas"] = json!(3);
    let (_, updated) = h.call(update_as("kubectl-edit", &scaled)).unwrap();
    assert_eq!(
        managers_of(&updated),
        vec![
            named("kubectl-create", "Update", ""),
            named("kubectl-edit", "Update", "")
        ]
    );
    assert_eq!(
        entry(&updated, "kubectl-edit", "Update")["fieldsV1"],
        json!({"f:spec": {"f:replicas": {}}})
    );
    assert!(!owns(
        &updated,
        "kubectl-create",
        "Update",
        &["f:spec", "f:replicas"]
    ));
    // A write that changes nothing credits nobody and keeps the resourceVersion.
    let (_, again) = h.call(update_as("someone-else", &updated)).unwrap();
    assert_eq!(again, updated);
}

#[test]
fn subresource_and_anonymous_writes_record_their_managers() {
    let mut h = with_default_namespace();
    let mut request = create("deployments", Some("default"), deployment("d"));
    request.field_manager = "kubectl-create".into();
    let (_, updated) = h.call(request).unwrap();
    // A status write is recorded under its subresource, owning only status fields.
    let mut status = updated.clone();
    status["status"] = json!({"replicas": 3});
    let mut request = update_as("deployment-controller", &status);
    request.path.subresource = Some("status".into());
    let (_, after) = h.call(request).unwrap();
    assert_eq!(
        entry(&after, "deployment-controller", "Update")["fieldsV1"],
        json!({"f:status": {"f:replicas": {}}})
    );
    assert_eq!(
        entry(&after, "deployment-controller", "Update")["subresource"],
        "status"
    );
    // A write with no field manager is "unknown"'s.
    let mut relabel = after.clone();
    relabel["metadata"]["labels"] = json!({"team": "a"});
    let (_, relabeled) = h.call(update_as("", &relabel)).unwrap();
    assert!(owns(
        &relabeled,
        "unknown",
        "Update",
        &["f:metadata", "f:labels", "f:team"]
    ));
}

#[test]
fn clients_may_reset_managed_fields_but_not_break_them() {
    let mut h = with_default_namespace();
    let mut request = create("deployments", Some("default"), deployment("d"));
    request.field_manager = "kubectl-create".into();
    let (_, created) = h.call(request).unwrap();
    let mut garbage = created.clone();
    garbage["metadata"]["managedFields"] = json!([{"manager": "x", "operation": "Steal", "apiVersion": "apps/v1",
            "fieldsType": "FieldsV1", "fieldsV1": {"nonsense": 1}}]);
    garbage["spec"]["replicas"] = json!(2);
    let (_, kept) = h.call(update_as("kubectl-edit", &garbage)).unwrap();
    assert_eq!(
        managers_of(&kept),
        vec![
            named("kubectl-create", "Update", ""),
            named("kubectl-edit", "Update", "")
        ]
    );
    let mut reset = kept.clone();
    reset["metadata"]["managedFields"] = json!([{}]);
    let (_, cleared) = h.call(update_as("kubectl-edit", &reset)).unwrap();
    assert!(
        cleared["metadata"].get("managedFields").is_none(),
        "{cleared}"
    );
    // The first apply to an object without managedFields finds its fields owned by
    // "before-first-apply", as kube does.
    let mut config = deployment("d");
    config["spec"]["replicas"] = json!(5);
    let conflict = h.call(apply_as("ci", &config)).unwrap_err();
    assert_eq!(
        conflict.message,
        "Apply failed with 1 conflict: conflict with \"before-first-apply\" using apps/v1: .spec.replicas"
    );
}

#[test]
fn apply_creates_a_missing_object_and_owns_exactly_its_configuration() {
    let mut h = with_default_namespace();
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nginx\n  labels:\n    app: nginx\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: nginx\n  template:\n    metadata:\n      labels:\n        app: nginx\n    spec:\n      containers:\n      - name: nginx\n        image: nginx:1.27\n";
    let mut request = apply_as("kubectl", &nginx_config(2));
    request.body = yaml.as_bytes().to_vec();
    let (code, created) = h.call(request).unwrap();
    assert_eq!(code, 201);
    assert_eq!(created["spec"]["replicas"], 2);
    assert_eq!(created["spec"]["progressDeadlineSeconds"], 600, "defaulted");
    assert_eq!(created["metadata"]["uid"].as_str().map(str::len), Some(36));
    assert_eq!(managers_of(&created), vec![named("kubectl", "Apply", "")]);
    let fields = &entry(&created, "kubectl", "Apply")["fieldsV1"];
    assert_eq!(
        fields["f:spec"]["f:template"]["f:spec"]["f:containers"],
        json!({"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}})
    );
    assert_eq!(fields["f:metadata"], json!({"f:labels": {"f:app": {}}}));
    assert!(
        fields["f:spec"].get("f:progressDeadlineSeconds").is_none(),
        "defaults are nobody's"
    );
    // Applying the same configuration again changes nothing, not even the resourceVersion.
    let (code, again) = h.call(apply_as("kubectl", &nginx_config(2))).unwrap();
    assert_eq!((code, &again), (200, &created));
}

#[test]
fn apply_conflicts_name_the_owner_and_force_takes_the_field() {
    let mut h = with_default_namespace();
    let mut request = create("deployments", Some("default"), nginx_config(2));
    request.field_manager = "kubectl-client-side-apply".into();
    h.call(request).unwrap();
    let error = h.call(apply_as("kubectl", &nginx_config(3))).unwrap_err();
    assert_eq!((error.code, error.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        error.message,
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
    );
    let causes: Vec<(&str, &str, &str)> = error
        .details
        .causes
        .iter()
        .map(|c| (c.reason.as_str(), c.message.as_str(), c.field.as_str()))
        .collect();
    assert_eq!(
        causes,
        vec![(
            "FieldManagerConflict",
            "conflict with \"kubectl-client-side-apply\" using apps/v1",
            ".spec.replicas"
        )]
    );
    // Applying the values the object has is no conflict: the fields become shared.
    let (_, shared) = h.call(apply_as("kubectl", &nginx_config(2))).unwrap();
    assert!(owns(&shared, "kubectl", "Apply", &["f:spec", "f:replicas"]));
    assert!(owns(
        &shared,
        "kubectl-client-side-apply",
        "Update",
        &["f:spec", "f:replicas"]
    ));
    // Two managers' fields in one conflict, listed by manager.
    let mut both = nginx_config(4);
    both["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.28");
    let error = h.call(apply_as("ci", &both)).unwrap_err();
    assert_eq!(
        error.message,
        "Apply failed with 4 conflicts: conflicts with \"kubectl\":\n\
         - .spec.replicas\n\
         - .spec.template.spec.containers[name=\"nginx\"].image\n\
         conflicts with \"kubectl-client-side-apply\" using apps/v1:\n\
         - .spec.replicas\n\
         - .spec.template.spec.containers[name=\"nginx\"].image"
    );
    assert_eq!(error.details.causes.len(), 4);
    assert_eq!(
        error.details.causes[1].field,
        ".spec.template.spec.containers[name=\"nginx\"].image"
    );
}

#[test]
fn a_forced_apply_takes_the_fields_it_changes() {
    let mut h = with_default_namespace();
    let mut request = create("deployments", Some("default"), nginx_config(2));
    request.field_manager = "kubectl-client-side-apply".into();
    h.call(request).unwrap();
    h.call(apply_as("kubectl", &nginx_config(2))).unwrap();
    let mut both = nginx_config(4);
    both["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.28");
    let mut forced = apply_as("ci", &both);
    forced.force = true;
    let (_, taken) = h.call(forced).unwrap();
    assert_eq!(taken["spec"]["replicas"], 4);
    assert!(owns(&taken, "ci", "Apply", &["f:spec", "f:replicas"]));
    assert!(!owns(&taken, "kubectl", "Apply", &["f:spec", "f:replicas"]));
    assert!(!owns(
        &taken,
        "kubectl-client-side-apply",
        "Update",
        &["f:spec", "f:replicas"]
    ));
    assert!(owns(
        &taken,
        "kubectl",
        "Apply",
        &["f:metadata", "f:labels", "f:app"]
    ));
}

#[test]
fn fields_dropped_from_a_configuration_are_removed_unless_someone_else_owns_them() {
    let mut h = with_default_namespace();
    let mut config = nginx_config(2);
    config["metadata"]["labels"] = json!({"app": "nginx", "tier": "web", "team": "a"});
    config["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "nginx", "image": "nginx:1.27"},
        {"name": "sidecar", "image": "busybox:1", "args": ["sleep"]}
    ]);
    h.call(apply_as("kubectl", &config)).unwrap();
    // Another manager applies the same team label: shared, no conflict.
    let other = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nginx", "labels": {"team": "a"}}});
    h.call(apply_as("labeller", &other)).unwrap();
    // kubectl drops the tier and team labels and the sidecar.
    let (_, pruned) = h.call(apply_as("kubectl", &nginx_config(2))).unwrap();
    assert_eq!(
        pruned["metadata"]["labels"],
        json!({"app": "nginx", "team": "a"})
    );
    let names: Vec<&str> = pruned["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["nginx"]);
    assert!(!owns(
        &pruned,
        "kubectl",
        "Apply",
        &["f:metadata", "f:labels", "f:team"]
    ));
    assert!(owns(
        &pruned,
        "labeller",
        "Apply",
        &["f:metadata", "f:labels", "f:team"]
    ));
    // A field the applier never applied is not removed by dropping it.
    assert_eq!(pruned["spec"]["progressDeadlineSeconds"], 600);
}

#[test]
fn apply_refuses_what_kube_refuses() {
    let mut h = with_default_namespace();
    let mut nameless = apply_as("kubectl", &nginx_config(1));
    nameless.field_manager.clear();
    let error = h.call(nameless).unwrap_err();
    assert_eq!((error.code, error.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        error.message,
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );
    assert_eq!(error.details.causes[0].field, "fieldManager");
    let mut forced_merge = apply_as("kubectl", &nginx_config(1));
    forced_merge.verb = Verb::Patch(patch::PatchType::Merge);
    forced_merge.force = true;
    assert_eq!(h.call(forced_merge).unwrap_err().code, 422);
    let mut too_long = apply_as(&"m".repeat(129), &nginx_config(1));
    too_long.verb = Verb::Update;
    assert_eq!(h.call(too_long).unwrap_err().code, 422);
    let mut wrong_kind = nginx_config(1);
    wrong_kind["kind"] = json!("StatefulSet");
    let error = h.call(apply_as("kubectl", &wrong_kind)).unwrap_err();
    assert_eq!(
        (error.code, error.message.as_str()),
        (400, "invalid object type: apps/v1, Kind=StatefulSet")
    );
    let mut with_managers = nginx_config(1);
    with_managers["metadata"]["managedFields"] = json!([]);
    let error = h.call(apply_as("kubectl", &with_managers)).unwrap_err();
    assert_eq!(
        (error.code, error.message.as_str()),
        (400, "metadata.managedFields must be nil")
    );
    let mut unknown = nginx_config(1);
    unknown["spec"]["replicaz"] = json!(1);
    let error = h.call(apply_as("kubectl", &unknown)).unwrap_err();
    assert_eq!(error.code, 400);
    assert!(
        error
            .message
            .ends_with(".spec.replicaz: field not declared in schema"),
        "{}",
        error.message
    );
    let mut keyless = nginx_config(1);
    keyless["spec"]["template"]["spec"]["containers"][0] = json!({"image": "nginx"});
    assert_eq!(h.call(apply_as("kubectl", &keyless)).unwrap_err().code, 400);
    let mut yaml = apply_as("kubectl", &nginx_config(1));
    yaml.body = b"kind: [unclosed\n".to_vec();
    assert_eq!(h.call(yaml).unwrap_err().code, 400);
    assert_eq!(
        h.call(get("deployments", Some("default"), "nginx"))
            .unwrap_err()
            .code,
        404,
        "nothing was created"
    );
}

#[test]
fn dry_run_writes_nothing() {
    let mut h = with_default_namespace();
    let mut dry = apply_as("kubectl", &nginx_config(2));
    dry.dry_run = true;
    let (code, would) = h.call(dry.clone()).unwrap();
    assert_eq!((code, &would["spec"]["replicas"]), (201, &json!(2)));
    assert_eq!(
        h.call(get("deployments", Some("default"), "nginx"))
            .unwrap_err()
            .code,
        404
    );
    let (_, created) = h.call(apply_as("kubectl", &nginx_config(2))).unwrap();
    dry.body = serde_json::to_vec(&nginx_config(7)).unwrap();
    let (_, would) = h.call(dry).unwrap();
    assert_eq!(would["spec"]["replicas"], 7);
    let mut read = get("deployments", Some("default"), "nginx");
    read.path.group = "apps".into();
    let (_, now) = h.call(read).unwrap();
    assert_eq!(now, created);
}

#[test]
fn an_apply_that_creates_needs_create_permission() {
    let mut h = with_default_namespace();
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "patcher"},
        "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]}]});
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "alice-patches"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "patcher"},
        "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]});
    for (plural, object) in [("roles", role), ("rolebindings", binding)] {
        let mut request = create(plural, Some("default"), object);
        request.path.group = "rbac.authorization.k8s.io".into();
        h.call(request).unwrap();
    }
    h.tick(1);
    let alice = User::new("alice", &["system:authenticated"]);
    let denied = h
        .call_as(apply_as("alice", &nginx_config(2)), alice.clone())
        .unwrap_err();
    assert_eq!(denied.code, 403);
    assert!(
        denied
            .message
            .contains("cannot create resource \"deployments\""),
        "{}",
        denied.message
    );
    h.call(create("deployments", Some("default"), nginx_config(2)))
        .unwrap();
    let (code, applied) = h
        .call_as(apply_as("alice", &nginx_config(2)), alice)
        .unwrap();
    assert_eq!(code, 200);
    assert!(owns(&applied, "alice", "Apply", &["f:spec", "f:replicas"]));
}

#[test]
fn past_ten_update_managers_the_oldest_merge_into_ancient_changes() {
    let mut h = with_default_namespace();
    let mut request = create("deployments", Some("default"), deployment("d"));
    request.field_manager = "creator".into();
    let (_, mut object) = h.call(request).unwrap();
    for writer in 0..ownership::UPDATE_MANAGERS_MAX {
        object["metadata"]["labels"][format!("l{writer}")] = json!("x");
        let (_, updated) = h
            .call(update_as(&format!("writer-{writer}"), &object))
            .unwrap();
        object = updated;
    }
    let managers = managers_of(&object);
    assert_eq!(managers.len(), ownership::UPDATE_MANAGERS_MAX);
    assert_eq!(managers[0], named("ancient-changes", "Update", ""));
    // The bucket holds what the two oldest owned.
    assert!(owns(
        &object,
        "ancient-changes",
        "Update",
        &["f:spec", "f:replicas"]
    ));
    assert!(owns(
        &object,
        "ancient-changes",
        "Update",
        &["f:metadata", "f:labels", "f:l0"]
    ));
    assert!(!managers.contains(&named("creator", "Update", "")));
    assert!(managers.contains(&named("writer-9", "Update", "")));
}

#[test]
fn scale_and_status_writes_are_owned_under_their_subresource() {
    let mut h = with_default_namespace();
    h.call(apply_as("kubectl", &nginx_config(2))).unwrap();
    let mut scale = ApiRequest::new(Verb::Update, deployment_path("nginx"));
    scale.path.subresource = Some("scale".into());
    scale.field_manager = "hpa".into();
    scale.body = serde_json::to_vec(&json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": "nginx", "namespace": "default"}, "spec": {"replicas": 5}}))
    .unwrap();
    h.call(scale).unwrap();
    let mut status = apply_as(
        "controller",
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "nginx"}, "status": {"replicas": 5}}),
    );
    status.path.subresource = Some("status".into());
    let (_, after) = h.call(status).unwrap();
    assert_eq!(after["spec"]["replicas"], 5);
    assert_eq!(after["status"]["replicas"], 5);
    assert_eq!(
        managers_of(&after),
        vec![
            named("kubectl", "Apply", ""),
            named("controller", "Apply", "status"),
            named("hpa", "Update", "scale"),
        ]
    );
    assert_eq!(
        entry(&after, "hpa", "Update")["fieldsV1"],
        json!({"f:spec": {"f:replicas": {}}})
    );
    assert_eq!(
        entry(&after, "controller", "Apply")["fieldsV1"],
        json!({"f:status": {"f:replicas": {}}})
    );
    // kubectl's next apply of its old replicas conflicts with the scaler.
    let error = h.call(apply_as("kubectl", &nginx_config(2))).unwrap_err();
    assert_eq!(
        error.message,
        "Apply failed with 1 conflict: conflict with \"hpa\" with subresource \"scale\" using apps/v1: .spec.replicas"
    );
}

#[test]
fn strict_field_validation_refuses_unknown_fields_and_the_others_drop_them() {
    let mut h = with_default_namespace();
    let mut typo = pod("typo");
    typo["spec"]["bogusField"] = json!(1);
    typo["spec"]["containers"][0]["notAField"] = json!("x");
    let mut strict = create("pods", Some("default"), typo.clone());
    strict.field_validation = FieldValidation::Strict;
    let error = h.call(strict).unwrap_err();
    assert_eq!((error.code, error.reason.as_str()), (400, "BadRequest"));
    assert_eq!(
        error.message,
        "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: \
         unknown field \"spec.bogusField\", unknown field \"spec.containers[0].notAField\""
    );
    let warnings_of = |h: &mut Harness, request| match h.answer_as(request, admin()).1 {
        ApiOutcome::Ok { body, warnings, .. } => {
            let object: Value = serde_json::from_slice(&body).expect("JSON");
            assert!(object["spec"].get("bogusField").is_none(), "{object}");
            warnings.iter().map(str::to_string).collect::<Vec<_>>()
        }
        other => panic!("{other:?}"),
    };
    let mut ignore = create("pods", Some("default"), typo.clone());
    ignore.field_validation = FieldValidation::Ignore;
    assert_eq!(warnings_of(&mut h, ignore), Vec::<String>::new());
    // Warn, kube's default, drops them too and says which.
    typo["metadata"]["name"] = json!("typo-warned");
    let warn = create("pods", Some("default"), typo);
    assert_eq!(
        warnings_of(&mut h, warn),
        [
            r#"unknown field "spec.bogusField""#,
            r#"unknown field "spec.containers[0].notAField""#
        ]
    );
    let mut patch = ApiRequest::new(
        Verb::Patch(patch::PatchType::Merge),
        path("", "pods", Some("default"), Some("typo")),
    );
    patch.body = br#"{"spec":{"bogusField":2}}"#.to_vec();
    assert_eq!(
        warnings_of(&mut h, patch),
        [r#"unknown field "spec.bogusField""#]
    );
    // A patch that adds an unknown field is refused too.
    let mut patch = ApiRequest::new(
        Verb::Patch(patch::PatchType::Merge),
        path("", "pods", Some("default"), Some("typo")),
    );
    patch.body = br#"{"metadata":{"bogus":1}}"#.to_vec();
    patch.field_validation = FieldValidation::Strict;
    let error = h.call(patch).unwrap_err();
    assert!(
        error.message.contains(r#"unknown field "metadata.bogus""#),
        "{}",
        error.message
    );
}

#[test]
fn warnings_are_distinct_and_bounded_as_kube_bounds_them() {
    let mut warnings = Warnings::default();
    warnings.add("unknown field \"a\"".into());
    warnings.add("unknown field \"a\"".into());
    warnings.add(String::new());
    assert_eq!(warnings.iter().collect::<Vec<_>>(), ["unknown field \"a\""]);
    for i in 0..100 {
        warnings.add(format!("{i:0>300}"));
    }
    let lengths: Vec<usize> = warnings.iter().map(|w| w.chars().count()).collect();
    assert!(
        lengths.iter().sum::<usize>() <= WARNINGS_CHARS_MAX,
        "{lengths:?}"
    );
    // Past the bound every warning is cut, and those that still do not fit are dropped.
    assert!(
        lengths[1..].iter().all(|&n| n == WARNING_CHARS_MAX),
        "{lengths:?}"
    );
    assert_eq!(
        lengths.len(),
        1 + (WARNINGS_CHARS_MAX - lengths[0]) / WARNING_CHARS_MAX
    );
}

fn node_port_service(name: &str, spec: Value) -> Value {
    let mut service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"type": "NodePort", "selector": {"app": name}, "ports": [{"port": 80}]}});
    for (field, value) in spec.as_object().unwrap() {
        service["spec"][field] = value.clone();
    }
    service
}

fn addresses_of(service: &Value) -> (String, u64) {
    let ip = service["spec"]["clusterIP"].as_str().unwrap().to_string();
    (
        ip,
        service["spec"]["ports"][0]["nodePort"].as_u64().unwrap(),
    )
}

#[test]
fn services_hold_distinct_addresses_until_they_let_them_go() {
    let mut h = with_default_namespace();
    let services = |name: Option<&str>| path("", "services", Some("default"), name);
    let entropy = h.entropy;
    let (_, a) = h
        .call(create(
            "services",
            Some("default"),
            node_port_service("a", json!({})),
        ))
        .unwrap();
    let (a_ip, a_port) = addresses_of(&a);
    assert!(a_ip.starts_with("10."), "{a}");
    assert!((30000..=32767).contains(&a_port), "{a}");
    assert_eq!(a["spec"]["clusterIPs"], json!([a_ip]));
    // The same entropy picks the same addresses: the store refuses the second claim, and
    // the gateway picks again.
    h.entropy = entropy;
    let (_, b) = h
        .call(create(
            "services",
            Some("default"),
            node_port_service("b", json!({})),
        ))
        .unwrap();
    let (b_ip, b_port) = addresses_of(&b);
    assert_ne!((&b_ip, b_port), (&a_ip, a_port));
    assert!(b_ip != a_ip && b_port != a_port, "{a}\n{b}");
    // Addresses a user chooses that another service holds are refused, as kube words it.
    let wanted = json!({"clusterIP": a_ip, "ports": [{"port": 80, "nodePort": b_port}]});
    let error = h
        .call(create(
            "services",
            Some("default"),
            node_port_service("c", wanted.clone()),
        ))
        .unwrap_err();
    assert_eq!(error.code, 422);
    assert!(
        error.message.contains(&format!(
            "spec.clusterIPs: Invalid value: []string{{\"{a_ip}\"}}: failed to allocate IP {a_ip}: provided IP is already allocated"
        )) || error.message.contains(&format!(
            "spec.ports[0].nodePort: Invalid value: {b_port}: provided port is already allocated"
        )),
        "{}",
        error.message
    );
    // Deleting a lets its IP go; b changing to ClusterIP lets its node port go.
    h.call(ApiRequest::new(Verb::Delete, services(Some("a"))))
        .unwrap();
    let mut to_cluster_ip =
        ApiRequest::new(Verb::Patch(patch::PatchType::Merge), services(Some("b")));
    to_cluster_ip.body = br#"{"spec":{"type":"ClusterIP"}}"#.to_vec();
    let (_, b) = h.call(to_cluster_ip).unwrap();
    assert!(b["spec"]["ports"][0].get("nodePort").is_none(), "{b}");
    assert_eq!(b["spec"]["clusterIP"], json!(b_ip));
    let (_, c) = h
        .call(create(
            "services",
            Some("default"),
            node_port_service("c", wanted),
        ))
        .unwrap();
    assert_eq!(addresses_of(&c), (a_ip, b_port));
    // A replace that leaves the addresses out keeps them.
    let mut replace = node_port_service("c", json!({}));
    replace["metadata"]["resourceVersion"] = c["metadata"]["resourceVersion"].clone();
    let mut update = ApiRequest::new(Verb::Update, services(Some("c")));
    update.body = serde_json::to_vec(&replace).unwrap();
    let (_, replaced) = h.call(update).unwrap();
    assert_eq!(addresses_of(&replaced), addresses_of(&c));
    // Outside the ranges: refused.
    let outside = json!({"clusterIP": "192.168.1.1"});
    let error = h
        .call(create(
            "services",
            Some("default"),
            node_port_service("d", outside),
        ))
        .unwrap_err();
    assert!(
        error
            .message
            .contains("is not in the valid range. The range of valid IPs is 10.96.0.0/12"),
        "{}",
        error.message
    );
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

/// One step of the address property test: a service made, retyped or deleted.
#[derive(Clone, Debug)]
enum ServiceStep {
    Create {
        name: u8,
        kind: ServiceKind,
        cluster_ip: Option<u8>,
        node_port: Option<u8>,
    },
    Retype {
        name: u8,
        kind: ServiceKind,
    },
    Delete {
        name: u8,
    },
}

#[derive(Clone, Copy, Debug)]
enum ServiceKind {
    ClusterIp,
    NodePort,
    ExternalName,
    Headless,
}

fn service_step() -> impl proptest::strategy::Strategy<Value = ServiceStep> {
    use proptest::prelude::*;
    let kind = prop_oneof![
        Just(ServiceKind::ClusterIp),
        Just(ServiceKind::NodePort),
        Just(ServiceKind::ExternalName),
        Just(ServiceKind::Headless),
    ];
    prop_oneof![
        3 => (0..5u8, kind.clone(), proptest::option::of(1..15u8), proptest::option::of(0..8u8))
            .prop_map(|(name, kind, cluster_ip, node_port)| ServiceStep::Create { name, kind, cluster_ip, node_port }),
        1 => (0..5u8, kind).prop_map(|(name, kind)| ServiceStep::Retype { name, kind }),
        1 => (0..5u8).prop_map(|name| ServiceStep::Delete { name }),
    ]
}

fn service_of(name: u8, kind: ServiceKind, cluster_ip: Option<u8>, node_port: Option<u8>) -> Value {
    let mut spec = json!({"selector": {"app": "a"}, "ports": [{"port": 80}]});
    match kind {
        ServiceKind::ClusterIp => {}
        ServiceKind::NodePort => {
            spec["type"] = json!("NodePort");
            if let Some(port) = node_port {
                spec["ports"][0]["nodePort"] = json!(30000 + u32::from(port));
            }
        }
        ServiceKind::ExternalName => {
            spec = json!({"type": "ExternalName", "externalName": "example.com"});
        }
        ServiceKind::Headless => spec["clusterIP"] = json!("None"),
    }
    if let (Some(ip), ServiceKind::ClusterIp | ServiceKind::NodePort) = (cluster_ip, kind) {
        spec["clusterIP"] = json!(format!("10.96.0.{ip}"));
    }
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("s{name}")}, "spec": spec})
}

/// The invariant: no two services hold one address, and the store's address keys are
/// exactly the addresses the services hold (none leaked, none missing).
fn check_addresses(h: &mut Harness) {
    let list = ApiRequest::new(Verb::List, path("", "services", Some("default"), None));
    let (_, listed) = h.call(list).unwrap();
    let services = listed["items"].as_array().unwrap().clone();
    let mut held = std::collections::BTreeSet::new();
    for service in &services {
        for key in allocation::held(Some(service)) {
            let key = String::from_utf8_lossy(&key).into_owned();
            assert!(held.insert(key.clone()), "two services hold {key}");
        }
    }
    let prefix = crate::store::KeySpan::Prefix(b"/registry/kactor/".to_vec());
    let stored = h
        .store
        .raft
        .machine
        .range(&crate::store::RangeRequest::latest(prefix))
        .unwrap();
    let stored: std::collections::BTreeSet<String> = stored
        .kvs
        .iter()
        .map(|kv| String::from_utf8_lossy(&kv.key).into_owned())
        .collect();
    assert_eq!(
        stored, held,
        "the store's address keys are the services' addresses"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 32, ..Default::default() })]

    /// In ranges small enough that picks collide (14 ClusterIPs, 8 node ports), whatever
    /// services are made, retyped and deleted, no address is shared or leaked.
    #[test]
    fn services_never_share_or_leak_an_address(steps in proptest::collection::vec(service_step(), 1..14)) {
        let mut h = Harness::new(|config| {
            config.service_ranges = allocation::ServiceRanges {
                cluster_ips: "10.96.0.0/28".parse().unwrap(),
                node_ports: 30000..=30007,
            };
        });
        h.tick(1);
        for step in steps {
            let _ = match step {
                ServiceStep::Create { name, kind, cluster_ip, node_port } => {
                    let body = service_of(name, kind, cluster_ip, node_port);
                    h.call(create("services", Some("default"), body))
                }
                ServiceStep::Retype { name, kind } => {
                    let mut request = ApiRequest::new(
                        Verb::Patch(patch::PatchType::Merge),
                        path("", "services", Some("default"), Some(&format!("s{name}"))),
                    );
                    let spec = service_of(name, kind, None, None)["spec"].clone();
                    request.body = serde_json::to_vec(&json!({"spec": {"type": spec["type"].clone()}})).unwrap();
                    h.call(request)
                }
                ServiceStep::Delete { name } => {
                    let name = format!("s{name}");
                    h.call(ApiRequest::new(Verb::Delete, path("", "services", Some("default"), Some(&name))))
                }
            };
            check_addresses(&mut h);
        }
    }
}
