//! The gateway against a real one-member store, in one thread: every message is
//! delivered in order, timers fire when a test says so. These check each verb's
//! Kubernetes semantics; the model (`kactor-model`) checks the races.
//! This file is the harness and the shared fixtures; the tests are by feature, a file each.

use std::collections::VecDeque;

use serde_json::{json, Value};

use super::ownership;
use super::*;
use crate::kernel::{Actor, Effect, Input, NodeId, Outbox};
use crate::raft::{Membership, RaftConfig, RaftTimer};
use crate::store::{Store, StoreConfig, StoreMsg, StoreTimer};
use kactor_kube::patch;

mod admission;
mod apply;
mod crud;
mod deletion;
mod health;
mod lists;
mod rbac;
mod secrets;
mod services;
mod watches;

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

fn deployment(name: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}})
}
