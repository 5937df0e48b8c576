//! The gateway model: two real `Gateway` actors in front of one real `Store` member,
//! with scripted API clients on a network that reorders everything.
//!
//! Scenarios (each a model of its own, so each stays small enough to exhaust):
//! - `LostUpdate`: two clients, one per gateway, each read a counter ConfigMap and write
//!   it back incremented with the resourceVersion they read, re-reading on 409.
//!   Properties: no lost update (the counter is at least the number of acknowledged
//!   updates); the clients' history is linearizable against a compare-and-swap register.
//! - `Quota`: a ResourceQuota allows one pod; two clients create a pod each, through
//!   different gateways. Property: never more pods than the quota allows.
//! - `FreshList`: a client deletes a ConfigMap through one gateway, then lists through
//!   the other gateway's cache; a watcher follows the ConfigMaps through that cache.
//!   Properties: a list started after the delete was acknowledged never shows the
//!   object (Kubernetes #59848); the watch is ordered, unique and reliable (its events
//!   are exactly the store's changes of those revisions), and resumable.
//! - `Identity`: three HTTPS clients write through gateway 1, each with the credentials
//!   its shell verified: jane's client certificate impersonating `system:masters`
//!   (which RBAC does not let her), a service account token of an earlier account of
//!   the same name (the uid differs from the live account's, which RBAC would let write),
//!   and an administrator's static token. Properties: only an authenticated, authorized
//!   identity writes; sometimes the administrator's write commits.
//!
//! The network delivers each sender's messages to a receiver in order, as the mesh's one
//! ordered stream per peer does, and loses none. The gateways' store retries may fire at any
//! time (a retried request id is answered once by the store's sessions); their ticks
//! never fire; the store's only timer is the election that makes it leader.

use std::borrow::Cow;
use std::collections::BTreeMap;

use kactor_actors::gateway::{
    ApiOutcome, ApiRequest, Credentials, Gateway, GatewayConfig, GatewayMsg, GatewayTimer,
    Impersonation, Requester, ResourcePath, Stamp, User, Verb, WatchEventType,
};
use kactor_actors::kernel::{Actor, Effect, Input, NoOperation, NodeId, Outbox};
use kactor_actors::raft::{
    HardState, LogPosition, Membership, RaftConfig, RaftDurable, RaftTimer, Role as RaftRole,
    Snapshot, StateMachine,
};
use kactor_actors::store::{
    EventKind, Mvcc, PutRequest, Revision, Store, StoreCommand, StoreConfig, StoreTimer,
};
use kactor_actors::watcher::{classify_span, SpanVerdict};
use serde_json::{json, Value};
use stateright::actor::{
    ActorModel, ActorModelAction, ActorModelState, Envelope, Id, Network, Out,
};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester, SequentialSpec};
use stateright::Property;

use crate::adapter::{guarded, model_id, node_id};
use crate::sorted::Sorted;

pub const STORE: NodeId = 0;
pub const GATEWAYS: [NodeId; 2] = [1, 2];
const COUNTER: &str = "counter";
const DOOMED: &str = "doomed";
/// Created after the list, so the resumed watch has something to deliver.
const LATER: &str = "later";
/// Pods the quota allows.
pub const QUOTA_PODS: u64 = 1;
/// Reads a client makes at most in the lost-update scenario (the first, and one retry).
const RMW_ATTEMPTS_MAX: u8 = 2;

/// A gateway the model can run: the real one, or a broken wrapper of it.
pub trait GatewayReplica:
    Actor<
        Config = GatewayConfig,
        Msg = GatewayMsg,
        Timer = GatewayTimer,
        Persist = NoOperation,
        Durable = (),
        Operation = NoOperation,
        Completion = NoOperation,
    > + Send
    + Sync
    + 'static
{
    /// The real gateway inside, for the properties.
    fn gateway(&self) -> &Gateway;
}

impl GatewayReplica for Gateway {
    fn gateway(&self) -> &Gateway {
        self
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Scenario {
    LostUpdate,
    Quota,
    FreshList,
    Identity,
}

/// The HTTPS clients of the identity scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HttpsClient {
    /// jane's certificate, impersonating a `system:masters` member: RBAC refuses.
    Impersonator,
    /// A service account token whose account was deleted and made again (another uid).
    Revoked,
    /// An administrator's token from the static token file.
    Administrator,
}

impl HttpsClient {
    pub const ALL: [HttpsClient; 3] = [
        HttpsClient::Impersonator,
        HttpsClient::Revoked,
        HttpsClient::Administrator,
    ];

    /// The ConfigMap this caller tries to create.
    pub fn configmap(self) -> &'static str {
        match self {
            HttpsClient::Impersonator => "impersonated",
            HttpsClient::Revoked => "revoked",
            HttpsClient::Administrator => "administered",
        }
    }

    /// The credentials its HTTPS shell verified.
    pub fn credentials(self) -> Credentials {
        match self {
            HttpsClient::Impersonator => Credentials {
                certificate: Some(User::new("jane", &["dev"])),
                impersonation: Impersonation {
                    user: Some("root".into()),
                    groups: vec!["system:masters".into()],
                    uid_or_extra: false,
                },
                ..Credentials::default()
            },
            HttpsClient::Revoked => Credentials {
                bearer_token: Some(REVOKED_TOKEN),
                service_account: Some((robot(), "an-earlier-robot".into())),
                ..Credentials::default()
            },
            HttpsClient::Administrator => Credentials {
                bearer_token: Some(ADMINISTRATOR_TOKEN),
                ..Credentials::default()
            },
        }
    }
}

/// The static token file's one administrator (as its digest), and a service account
/// token's digest.
pub const ADMINISTRATOR_TOKEN: [u8; 32] = [0xad; 32];
const REVOKED_TOKEN: [u8; 32] = [0x5a; 32];
/// The live service account's uid.
const ROBOT_UID: &str = "robot-now";

/// The service account user a token of `default/robot` names.
pub fn robot() -> User {
    User::new(
        "system:serviceaccount:default:robot",
        &[
            "system:serviceaccounts",
            "system:serviceaccounts:default",
            "system:authenticated",
        ],
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientRole {
    /// Read-modify-write of the counter through gateway `gateway`.
    Incrementer { gateway: NodeId },
    /// Creates pod `index` through gateway `gateway`.
    PodCreator { gateway: NodeId, index: u8 },
    /// Deletes `DOOMED` through gateway 1, then lists through gateway 2.
    DeleteThenList,
    /// Watches ConfigMaps through gateway 2 from the initial revision.
    Watcher,
    /// An HTTPS client creating a ConfigMap through gateway 1.
    Https(HttpsClient),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientState {
    /// The request in flight; 0 when done.
    pub request: u64,
    pub step: u8,
    pub attempts: u8,
    /// Incrementer: the counter value read, and whether its write was acknowledged.
    pub read: Option<(u64, String)>,
    pub acked: bool,
    /// DeleteThenList: the delete was acknowledged, and what the list showed after.
    pub deleted: bool,
    pub listed: Option<Vec<String>>,
    /// PodCreator: the create was refused with 403 (the quota).
    pub refused: bool,
    /// Watcher: events received, as (type, revision, name), and the revision its
    /// messages have covered so far (where a resumed watch starts).
    pub events: Vec<(WatchEventType, Revision, String)>,
    pub covered: Revision,
    /// Watcher: the gateway answered 410 (its cache no longer reaches the revision).
    pub expired: bool,
}

#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NodeState<G: GatewayReplica> {
    Store(Option<Store>),
    Gateway(Option<G>),
    Client(ClientState),
    /// A handler panicked: the message, for the assertions property.
    Failed(String),
}

// One value per actor, built once per model.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Node<G: GatewayReplica> {
    Store(StoreConfig, RaftDurable<Mvcc>),
    /// A gateway, and whether its store retries fire: not in the identity scenario,
    /// whose six cache fills would each give up after their retries (refilling waits for
    /// a tick, which never fires), on a network that loses nothing.
    Gateway(GatewayConfig, bool, std::marker::PhantomData<G>),
    Client(ClientRole),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ModelTimer {
    Store(StoreTimer),
    Gateway(GatewayTimer),
}

/// A ConfigMap or quota as the gateway stores it (no resourceVersion: it is the revision).
fn stored(value: Value) -> Vec<u8> {
    serde_json::to_vec(&value).expect("JSON")
}

fn put(machine: &mut Mvcc, key: &str, value: Value) {
    let command = StoreCommand::Put(PutRequest {
        key: key.as_bytes().to_vec(),
        value: stored(value),
        lease: 0,
        prev_kv: false,
    });
    machine.apply(&command);
}

/// The store as the scenarios begin: a namespace, the counter, the doomed ConfigMap and
/// a quota of one pod, installed as a snapshot.
pub fn initial_store() -> RaftDurable<Mvcc> {
    let mut machine = Mvcc::default();
    let meta = |name: &str, uid: &str| {
        json!({"name": name, "namespace": "default", "uid": uid,
        "creationTimestamp": "2026-01-01T00:00:00Z"})
    };
    put(
        &mut machine,
        "/registry/core/namespaces/default",
        json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "default", "uid": "ns"}, "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
    );
    put(
        &mut machine,
        &format!("/registry/core/configmaps/default/{COUNTER}"),
        json!({"apiVersion": "v1",
        "kind": "ConfigMap", "metadata": meta(COUNTER, "c1"), "data": {"n": "0"}}),
    );
    put(
        &mut machine,
        &format!("/registry/core/configmaps/default/{DOOMED}"),
        json!({"apiVersion": "v1",
        "kind": "ConfigMap", "metadata": meta(DOOMED, "c2"), "data": {}}),
    );
    put(
        &mut machine,
        "/registry/core/resourcequotas/default/q",
        json!({"apiVersion": "v1",
        "kind": "ResourceQuota", "metadata": meta("q", "q1"),
        "spec": {"hard": {"pods": QUOTA_PODS.to_string()}},
        "status": {"hard": {"pods": QUOTA_PODS.to_string()}, "used": {"pods": "0"}}}),
    );
    put_identities(&mut machine);
    let membership = Membership {
        voters: [(STORE, String::new())].into(),
    };
    RaftDurable {
        hard: HardState {
            term: 1,
            voted_for: None,
        },
        snapshot: Some(Snapshot {
            position: LogPosition { index: 1, term: 1 },
            membership,
            machine,
            sessions: BTreeMap::new(),
        }),
        entries: Vec::new(),
    }
}

/// The identity scenario's objects: the live `robot` account, which RBAC lets do
/// anything (so only authentication stands between a stale token and a write).
fn put_identities(machine: &mut Mvcc) {
    put(
        machine,
        "/registry/core/serviceaccounts/default/robot",
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "robot",
        "namespace": "default", "uid": ROBOT_UID, "creationTimestamp": "2026-01-01T00:00:00Z"}}),
    );
    put(
        machine,
        "/registry/rbac.authorization.k8s.io/clusterroles/everything",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "everything", "uid": "cr1"},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]}),
    );
    put(
        machine,
        "/registry/rbac.authorization.k8s.io/clusterrolebindings/robot",
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "robot", "uid": "crb1"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "everything"},
        "subjects": [{"kind": "ServiceAccount", "name": "robot", "namespace": "default"}]}),
    );
}

/// The store's revision as the scenarios begin: the watcher starts there.
pub fn initial_revision() -> Revision {
    static INITIAL: std::sync::OnceLock<Revision> = std::sync::OnceLock::new();
    *INITIAL.get_or_init(|| initial_store().snapshot.map_or(1, |s| s.machine.revision))
}

fn path(plural: &str, name: Option<&str>) -> ResourcePath {
    ResourcePath {
        group: String::new(),
        plural: plural.into(),
        namespace: Some("default".into()),
        name: name.map(str::to_string),
        subresource: None,
    }
}

/// The request a client sends at its current step.
fn client_request(role: ClientRole, client: &ClientState) -> Option<(NodeId, ApiRequest)> {
    match (role, client.step) {
        (ClientRole::Incrementer { gateway }, 0) => Some((
            gateway,
            ApiRequest::new(Verb::Get, path("configmaps", Some(COUNTER))),
        )),
        (ClientRole::Incrementer { gateway }, 1) => {
            let (n, rv) = client.read.clone()?;
            let mut request = ApiRequest::new(Verb::Update, path("configmaps", Some(COUNTER)));
            let body = json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": COUNTER, "namespace": "default", "resourceVersion": rv},
                "data": {"n": (n + 1).to_string()}});
            request.body = stored(body);
            Some((gateway, request))
        }
        (ClientRole::PodCreator { gateway, index }, 0) => {
            let mut request = ApiRequest::new(Verb::Create, path("pods", None));
            request.body = stored(json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": format!("p{index}")},
                "spec": {"containers": [{"name": "c", "image": "busybox:1"}]}}));
            Some((gateway, request))
        }
        (ClientRole::DeleteThenList, 0) => Some((
            GATEWAYS[0],
            ApiRequest::new(Verb::Delete, path("configmaps", Some(DOOMED))),
        )),
        (ClientRole::DeleteThenList, 1) => Some((
            GATEWAYS[1],
            ApiRequest::new(Verb::List, path("configmaps", None)),
        )),
        (ClientRole::DeleteThenList, 2) => {
            let mut request = ApiRequest::new(Verb::Create, path("configmaps", None));
            request.body = stored(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": LATER}, "data": {}}));
            Some((GATEWAYS[0], request))
        }
        (ClientRole::Watcher, 0) => {
            let mut request = ApiRequest::new(Verb::Watch, path("configmaps", None));
            request.list.resource_version = initial_revision().to_string();
            Some((GATEWAYS[1], request))
        }
        (ClientRole::Https(caller), 0) => {
            let mut request = ApiRequest::new(Verb::Create, path("configmaps", None));
            request.body = stored(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": caller.configmap()}, "data": {}}));
            Some((GATEWAYS[0], request))
        }
        // Resumes from the last revision it saw, as an informer does after a break.
        (ClientRole::Watcher, 2) => {
            let mut request = ApiRequest::new(Verb::Watch, path("configmaps", None));
            request.list.resource_version = client.covered.to_string();
            Some((GATEWAYS[1], request))
        }
        _ => None,
    }
}

fn admin() -> User {
    User::new("admin", &["system:masters"])
}

fn send_step<G: GatewayReplica>(role: ClientRole, client: &mut ClientState, o: &mut Out<Node<G>>) {
    let Some((gateway, request)) = client_request(role, client) else {
        client.request = 0;
        return;
    };
    client.request += 1;
    let stamp = Stamp {
        unix_ms: 1_800_000_000_000,
        entropy: u128::from(client.request) << 8 | u128::from(client.step),
    };
    let user = match role {
        ClientRole::Https(caller) => Requester::from(caller.credentials()),
        _ => Requester::Peer(admin()),
    };
    let msg = GatewayMsg::Request {
        id: client.request,
        request,
        user,
        stamp,
    };
    o.send(model_id(gateway), msg);
}

fn parse(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

fn client_on_outcome(role: ClientRole, client: &mut ClientState, outcome: ApiOutcome) {
    match (role, client.step, outcome) {
        (ClientRole::Incrementer { .. }, 0, ApiOutcome::Ok { body, .. }) => {
            let value = parse(&body);
            let n = value["data"]["n"]
                .as_str()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            let rv = value["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or("")
                .to_string();
            client.read = Some((n, rv));
            client.attempts += 1;
            client.step = 1;
        }
        (ClientRole::Incrementer { .. }, 1, ApiOutcome::Ok { .. }) => {
            client.acked = true;
            client.step = 2;
        }
        (ClientRole::Incrementer { .. }, 1, ApiOutcome::Err(error))
            if error.code == 409 && client.attempts < RMW_ATTEMPTS_MAX =>
        {
            client.step = 0;
        }
        (ClientRole::DeleteThenList, 0, ApiOutcome::Ok { .. }) => {
            client.deleted = true;
            client.step = 1;
        }
        (ClientRole::DeleteThenList, 1, ApiOutcome::Ok { body, .. }) => {
            let names = parse(&body)["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|i| Some(i["metadata"]["name"].as_str()?.to_string()))
                        .collect()
                })
                .unwrap_or_default();
            client.listed = Some(names);
            client.step = 2;
        }
        (ClientRole::PodCreator { .. }, 0, ApiOutcome::Err(error)) if error.code == 403 => {
            client.refused = true;
            client.step = u8::MAX;
        }
        (ClientRole::DeleteThenList, 2, ApiOutcome::Ok { .. }) => client.step = 3,
        (ClientRole::Watcher, _, ApiOutcome::Err(error)) if error.code == 410 => {
            // Too old for the cache: a real client relists; this one stops here.
            client.expired = true;
            client.step = u8::MAX;
        }
        (ClientRole::Watcher, 0, ApiOutcome::Watching) => client.step = 1,
        (ClientRole::Watcher, 2, ApiOutcome::Watching) => client.step = 3,
        _ => client.step = u8::MAX, // done (refused, or finished)
    }
}

impl<G: GatewayReplica> Node<G> {
    fn client_on_msg(
        role: ClientRole,
        client: &mut ClientState,
        msg: GatewayMsg,
        o: &mut Out<Self>,
    ) {
        match msg {
            GatewayMsg::Response { id, outcome } if id == client.request => {
                client_on_outcome(role, client, outcome);
                if role != ClientRole::Watcher || client.step == 0 {
                    send_step(role, client, o);
                }
            }
            GatewayMsg::WatchEvents {
                id,
                from_revision,
                revision,
                events,
            } if role == ClientRole::Watcher && id == client.request => {
                match classify_span(client.covered, from_revision, revision) {
                    // A duplicate, a stale span, or an idle bookmark.
                    SpanVerdict::Repeats => return,
                    // A gap (a message overtaken by a later one): resume from what it has.
                    SpanVerdict::Gap => {
                        o.send(model_id(GATEWAYS[1]), GatewayMsg::WatchCancel { id });
                        client.step = 2;
                        return send_step(role, client, o);
                    }
                    SpanVerdict::Continues => {}
                }
                let delivered = !events.is_empty();
                for event in events {
                    let name = parse(&event.object)["metadata"]["name"]
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    client.events.push((event.kind, event.revision, name));
                }
                client.covered = client.covered.max(revision);
                if client.step == 1 && delivered {
                    // Break the stream after its first delivery and resume.
                    o.send(model_id(GATEWAYS[1]), GatewayMsg::WatchCancel { id });
                    client.step = 2;
                    send_step(role, client, o);
                }
            }
            _ => {}
        }
    }
}

/// Runs `handler` on a hosted actor, mapping its effects onto stateright: messages to
/// the store travel as `GatewayMsg::Store`, timers are kept only when `keep_timer` says.
fn step<A: Actor, N: stateright::actor::Actor<Msg = GatewayMsg, Timer = ModelTimer>>(
    actor: &mut Option<A>,
    handler: impl FnOnce(&mut A, &mut Outbox<A>),
    wrap: impl Fn(A::Msg) -> GatewayMsg,
    timer: impl Fn(A::Timer) -> Option<ModelTimer>,
    o: &mut Out<N>,
) -> Option<String> {
    let current = actor.as_mut()?;
    let mut outbox = Outbox::new();
    if let Err(failure) = guarded(|| handler(current, &mut outbox)) {
        *actor = None;
        return Some(failure);
    }
    for effect in outbox.into_effects() {
        match effect {
            Effect::Send { to, msg } => o.send(model_id(to), wrap(msg)),
            Effect::SetTimer { timer: t, .. } => {
                if let Some(t) = timer(t) {
                    o.set_timer(t, stateright::actor::model_timeout());
                }
            }
            _ => {}
        }
    }
    None
}

fn store_timer(leader: bool) -> impl Fn(StoreTimer) -> Option<ModelTimer> {
    move |timer| match timer {
        StoreTimer::Raft(RaftTimer::Election) if !leader => Some(ModelTimer::Store(timer)),
        _ => None,
    }
}

/// The gateway's store retries may fire at any moment (a retry repeats a request id,
/// which the store's sessions answer once), unless `retries` is off; its tick is dropped
/// (see the module comment).
fn gateway_timer(retries: bool) -> impl Fn(GatewayTimer) -> Option<ModelTimer> {
    move |timer| match timer {
        GatewayTimer::StoreAttempt(_) if retries => Some(ModelTimer::Gateway(timer)),
        GatewayTimer::StoreAttempt(_) | GatewayTimer::Tick => None,
    }
}

fn unwrap_store(msg: GatewayMsg) -> Option<kactor_actors::store::StoreMsg> {
    match msg {
        GatewayMsg::Store(inner) => Some(inner),
        _ => None,
    }
}

impl<G: GatewayReplica> stateright::actor::Actor for Node<G> {
    type Msg = GatewayMsg;
    type Timer = ModelTimer;
    type State = NodeState<G>;
    type Storage = ();
    type Random = ();

    fn on_start(&self, _id: Id, _storage: &Option<()>, o: &mut Out<Self>) -> NodeState<G> {
        match self {
            Node::Store(config, durable) => {
                // The one member elects itself before the scenario begins: the store's
                // elections are the store model's business, not this one's.
                let mut outbox = Outbox::new();
                let mut store = Store::start(config.clone(), durable.clone(), &mut outbox);
                let election = Input::Timer(StoreTimer::Raft(RaftTimer::Election));
                store.handle(election, &mut Outbox::new());
                assert_eq!(
                    store.raft.role,
                    RaftRole::Leader,
                    "a one-member store elects itself"
                );
                NodeState::Store(Some(store))
            }
            Node::Gateway(config, retries, _) => {
                let mut outbox = Outbox::new();
                let gateway = G::start(config.clone(), (), &mut outbox);
                let gateway_timer = gateway_timer(*retries);
                for effect in outbox.into_effects() {
                    match effect {
                        Effect::Send { to, msg } => o.send(model_id(to), msg),
                        Effect::SetTimer { timer, .. } => {
                            if let Some(timer) = gateway_timer(timer) {
                                o.set_timer(timer, stateright::actor::model_timeout());
                            }
                        }
                        _ => {}
                    }
                }
                NodeState::Gateway(Some(gateway))
            }
            Node::Client(role) => {
                let mut client = ClientState {
                    request: 0,
                    step: 0,
                    attempts: 0,
                    read: None,
                    acked: false,
                    deleted: false,
                    listed: None,
                    refused: false,
                    events: Vec::new(),
                    covered: initial_revision(),
                    expired: false,
                };
                send_step(*role, &mut client, o);
                NodeState::Client(client)
            }
        }
    }

    fn on_msg(
        &self,
        _id: Id,
        state: &mut Cow<NodeState<G>>,
        src: Id,
        msg: GatewayMsg,
        o: &mut Out<Self>,
    ) {
        let from = node_id(src);
        let failure = match (self, state.to_mut()) {
            (Node::Store(..), NodeState::Store(store)) => {
                let Some(msg) = unwrap_store(msg) else { return };
                let leader = store
                    .as_ref()
                    .is_some_and(|s| s.raft.role == RaftRole::Leader);
                step(
                    store,
                    |s, out| s.handle(Input::Message { from, msg }, out),
                    GatewayMsg::Store,
                    store_timer(leader),
                    o,
                )
            }
            (Node::Gateway(_, retries, _), NodeState::Gateway(gateway)) => step(
                gateway,
                |g, out| g.handle(Input::Message { from, msg }, out),
                |m| m,
                gateway_timer(*retries),
                o,
            ),
            (Node::Client(role), NodeState::Client(client)) => {
                Self::client_on_msg(*role, client, msg, o);
                None
            }
            _ => None,
        };
        if let Some(failure) = failure {
            *state.to_mut() = NodeState::Failed(failure);
        }
    }

    fn on_timeout(
        &self,
        _id: Id,
        state: &mut Cow<NodeState<G>>,
        timer: &ModelTimer,
        o: &mut Out<Self>,
    ) {
        let retries = matches!(self, Node::Gateway(_, true, _));
        let failure = match (state.to_mut(), *timer) {
            (NodeState::Store(store), ModelTimer::Store(timer)) => {
                let mut failure = step(
                    store,
                    |s, out| s.handle(Input::Timer(timer), out),
                    GatewayMsg::Store,
                    store_timer(false),
                    o,
                );
                // Leader now: its own timers are dropped (see the module comment).
                if store
                    .as_ref()
                    .is_some_and(|s| s.raft.role != RaftRole::Leader)
                    && failure.is_none()
                {
                    o.set_timer(ModelTimer::Store(timer), stateright::actor::model_timeout());
                }
                failure.take()
            }
            (NodeState::Gateway(gateway), ModelTimer::Gateway(timer)) => step(
                gateway,
                |g, out| g.handle(Input::Timer(timer), out),
                |m| m,
                gateway_timer(retries),
                o,
            ),
            _ => None,
        };
        if let Some(failure) = failure {
            *state.to_mut() = NodeState::Failed(failure);
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GatewayModelCfg {
    pub scenario: Scenario,
}

pub type GatewayState<G> = ActorModelState<Node<G>, CounterHistory>;
pub type GatewayCheck<G> = Sorted<ActorModel<Node<G>, GatewayModelCfg, CounterHistory>>;

fn store_of<G: GatewayReplica>(state: &GatewayState<G>) -> Option<&Store> {
    state.actor_states.iter().find_map(|s| match &**s {
        NodeState::Store(store) => store.as_ref(),
        _ => None,
    })
}

fn clients<G: GatewayReplica>(state: &GatewayState<G>) -> impl Iterator<Item = &ClientState> {
    state.actor_states.iter().filter_map(|s| match &**s {
        NodeState::Client(client) => Some(client),
        _ => None,
    })
}

fn stored_value(store: &Store, key: &str) -> Option<Value> {
    let kv = store.raft.machine.get(key.as_bytes())?;
    serde_json::from_slice(&kv.value).ok()
}

fn counter(store: &Store) -> u64 {
    stored_value(
        store,
        &format!("/registry/core/configmaps/default/{COUNTER}"),
    )
    .and_then(|v| v["data"]["n"].as_str()?.parse().ok())
    .unwrap_or(0)
}

fn no_lost_update<G: GatewayReplica>(_: &GatewayCheck<G>, state: &GatewayState<G>) -> bool {
    let acked = clients(state).filter(|c| c.acked).count() as u64;
    store_of(state).is_none_or(|store| counter(store) >= acked)
}

/// The counter's sequential specification: read, or compare-and-swap from the value read.
#[derive(Clone, Debug, Default, Hash, PartialEq, serde::Serialize)]
pub struct CounterSpec(u64);

#[derive(Clone, Debug, Hash, PartialEq, serde::Serialize)]
pub enum CounterOp {
    Read,
    /// Write `from + 1` if the counter is still `from` (the resourceVersion CAS: the
    /// counter only grows, so an unchanged value means an unchanged object).
    Increment {
        from: u64,
    },
}

#[derive(Clone, Debug, Hash, PartialEq, serde::Serialize)]
pub enum CounterRet {
    Read(u64),
    Incremented(bool),
}

impl SequentialSpec for CounterSpec {
    type Op = CounterOp;
    type Ret = CounterRet;
    fn invoke(&mut self, op: &CounterOp) -> CounterRet {
        match op {
            CounterOp::Read => CounterRet::Read(self.0),
            CounterOp::Increment { from } => {
                let swapped = self.0 == *from;
                if swapped {
                    self.0 += 1;
                }
                CounterRet::Incremented(swapped)
            }
        }
    }
}

/// The incrementers' history, recorded from the messages they send and receive (so the
/// real-time order between clients is the network's).
#[derive(Clone, Debug, Default, Hash, PartialEq)]
pub struct CounterHistory {
    tester: LinearizabilityTester<Id, CounterSpec>,
    in_flight: BTreeMap<Id, CounterOp>,
}

fn record_out(
    _: &GatewayModelCfg,
    history: &CounterHistory,
    envelope: Envelope<&GatewayMsg>,
) -> Option<CounterHistory> {
    let GatewayMsg::Request { request, .. } = envelope.msg else {
        return None;
    };
    if request.path.name.as_deref() != Some(COUNTER) {
        return None;
    }
    let op = match request.verb {
        Verb::Get => CounterOp::Read,
        Verb::Update => {
            let n: u64 = parse(&request.body)["data"]["n"].as_str()?.parse().ok()?;
            CounterOp::Increment {
                from: n.checked_sub(1)?,
            }
        }
        _ => return None,
    };
    let mut history = history.clone();
    let _ = history.tester.on_invoke(envelope.src, op.clone());
    history.in_flight.insert(envelope.src, op);
    Some(history)
}

fn record_in(
    _: &GatewayModelCfg,
    history: &CounterHistory,
    envelope: Envelope<&GatewayMsg>,
) -> Option<CounterHistory> {
    let GatewayMsg::Response { outcome, .. } = envelope.msg else {
        return None;
    };
    let op = history.in_flight.get(&envelope.dst)?;
    let ret = match (op, outcome) {
        (CounterOp::Read, ApiOutcome::Ok { body, .. }) => {
            CounterRet::Read(parse(body)["data"]["n"].as_str()?.parse().ok()?)
        }
        (CounterOp::Increment { .. }, ApiOutcome::Ok { .. }) => CounterRet::Incremented(true),
        (CounterOp::Increment { .. }, ApiOutcome::Err(error)) if error.code == 409 => {
            CounterRet::Incremented(false)
        }
        // Any other failure: the operation may or may not have happened; it stays open.
        _ => return None,
    };
    let mut history = history.clone();
    let _ = history.tester.on_return(envelope.dst, ret);
    history.in_flight.remove(&envelope.dst);
    Some(history)
}

fn linearizable<G: GatewayReplica>(_: &GatewayCheck<G>, state: &GatewayState<G>) -> bool {
    state.history.tester.serialized_history().is_some()
}

fn quota_holds<G: GatewayReplica>(_: &GatewayCheck<G>, state: &GatewayState<G>) -> bool {
    store_of(state).is_none_or(|store| {
        let pods = store
            .raft
            .machine
            .histories
            .keys()
            .filter(|k| {
                k.starts_with(b"/registry/core/pods/") && store.raft.machine.get(k).is_some()
            })
            .count() as u64;
        pods <= QUOTA_PODS
    })
}

fn list_is_fresh<G: GatewayReplica>(_: &GatewayCheck<G>, state: &GatewayState<G>) -> bool {
    clients(state).all(|c| {
        !(c.deleted
            && c.listed
                .as_ref()
                .is_some_and(|names| names.iter().any(|n| n == DOOMED)))
    })
}

/// The watch's events are exactly the store's changes to ConfigMaps after the initial
/// revision, in order, each once, across its resume (Ordered, Unique, Resumable): a
/// prefix of the history, and all of it once nothing is in flight (Reliable).
fn watch_matches_history<G: GatewayReplica>(
    model: &GatewayCheck<G>,
    state: &GatewayState<G>,
) -> bool {
    let Some(store) = store_of(state) else {
        return true;
    };
    let machine = &store.raft.machine;
    let history: Vec<(WatchEventType, Revision, String)> = (initial_revision() + 1
        ..=machine.revision)
        .flat_map(|revision| machine.events_at(revision))
        .filter(|e| e.kv.key.starts_with(b"/registry/core/configmaps/"))
        .map(|e| {
            let name =
                String::from_utf8_lossy(e.kv.key.rsplit(|b| *b == b'/').next().unwrap_or(&[]))
                    .to_string();
            let kind = match e.kind {
                EventKind::Delete => WatchEventType::Deleted,
                EventKind::Put if e.kv.version == 1 => WatchEventType::Added,
                EventKind::Put => WatchEventType::Modified,
            };
            (kind, e.kv.mod_revision, name)
        })
        .collect();
    // Nothing in flight and the cache synced (a fill that failed restarts on a tick, and
    // this model's gateways never tick): a watch that was not ended must be complete.
    let cache_synced = state.actor_states.iter().any(|s| match &**s {
        NodeState::Gateway(Some(g)) => g.gateway().cache("ConfigMap").is_some(),
        _ => false,
    });
    let quiet = state.network.len() == 0 && cache_synced;
    watchers(model, state).all(|c| {
        let prefix = c.events.len() <= history.len() && c.events[..] == history[..c.events.len()];
        prefix && (!quiet || c.expired || c.events.len() == history.len())
    })
}

/// The states of the watcher clients.
fn watchers<'a, G: GatewayReplica>(
    model: &'a GatewayCheck<G>,
    state: &'a GatewayState<G>,
) -> impl Iterator<Item = &'a ClientState> {
    model
        .inner
        .actors
        .iter()
        .zip(&state.actor_states)
        .filter_map(|(node, s)| match (node, &**s) {
            (Node::Client(ClientRole::Watcher), NodeState::Client(client)) => Some(client),
            _ => None,
        })
}

fn configmap_stored<G: GatewayReplica>(state: &GatewayState<G>, name: &str) -> bool {
    let key = format!("/registry/core/configmaps/default/{name}");
    store_of(state).is_some_and(|store| stored_value(store, &key).is_some())
}

/// The impersonator and the revoked token never write: authentication and impersonation
/// refused them (the revoked account's RBAC would have let it).
fn only_authorized_write<G: GatewayReplica>(_: &GatewayCheck<G>, state: &GatewayState<G>) -> bool {
    [HttpsClient::Impersonator, HttpsClient::Revoked]
        .iter()
        .all(|caller| !configmap_stored(state, caller.configmap()))
}

fn administrator_writes<G: GatewayReplica>(_: &GatewayCheck<G>, state: &GatewayState<G>) -> bool {
    configmap_stored(state, HttpsClient::Administrator.configmap())
}

fn assertions_hold<G: GatewayReplica>(_: &GatewayCheck<G>, state: &GatewayState<G>) -> bool {
    state
        .actor_states
        .iter()
        .all(|s| !matches!(&**s, NodeState::Failed(_)))
}

fn both_updates_commit<G: GatewayReplica>(_: &GatewayCheck<G>, state: &GatewayState<G>) -> bool {
    store_of(state).is_some_and(|store| counter(store) == 2)
}

fn quota_refuses<G: GatewayReplica>(_: &GatewayCheck<G>, state: &GatewayState<G>) -> bool {
    clients(state).any(|c| c.refused)
}

fn list_served<G: GatewayReplica>(_: &GatewayCheck<G>, state: &GatewayState<G>) -> bool {
    clients(state).any(|c| c.deleted && c.listed.is_some())
}

fn watch_delivers<G: GatewayReplica>(_: &GatewayCheck<G>, state: &GatewayState<G>) -> bool {
    clients(state).any(|c| c.events.iter().any(|e| e.0 == WatchEventType::Deleted))
}

/// Property names, as printed and as used by tests.
pub mod property {
    pub const NO_LOST_UPDATE: &str = "no lost update (resourceVersion CAS)";
    pub const LINEARIZABLE: &str = "per-object linearizable";
    pub const QUOTA_HOLDS: &str = "quota never exceeded";
    pub const LIST_IS_FRESH: &str = "a consistent list never shows a deleted object";
    pub const WATCH_MATCHES_HISTORY: &str = "cache watch ordered, unique, reliable, resumable";
    pub const ASSERTIONS_HOLD: &str = "actor assertions hold";
    pub const UPDATE_COMMITS: &str = "sometimes both updates commit";
    pub const QUOTA_REFUSES: &str = "sometimes the quota refuses a pod";
    pub const LIST_SERVED: &str = "sometimes the list is served after the delete";
    pub const WATCH_DELIVERS: &str = "sometimes the watch delivers the delete";
    pub const ONLY_AUTHORIZED_WRITE: &str = "only authenticated, authorized identities write";
    pub const ADMINISTRATOR_WRITES: &str = "sometimes the administrator's write commits";
}

impl GatewayModelCfg {
    pub fn roles(&self) -> Vec<ClientRole> {
        match self.scenario {
            Scenario::LostUpdate => GATEWAYS
                .iter()
                .map(|g| ClientRole::Incrementer { gateway: *g })
                .collect(),
            Scenario::Quota => GATEWAYS
                .iter()
                .enumerate()
                .map(|(i, g)| ClientRole::PodCreator {
                    gateway: *g,
                    index: i as u8,
                })
                .collect(),
            Scenario::FreshList => vec![ClientRole::DeleteThenList, ClientRole::Watcher],
            Scenario::Identity => HttpsClient::ALL
                .into_iter()
                .map(ClientRole::Https)
                .collect(),
        }
    }

    fn gateway_config(&self, id: NodeId) -> GatewayConfig {
        let mut config = GatewayConfig::new(id, vec![STORE]);
        config.store_probe_ticks = 0; // the readiness probe would only grow the state space
        config.authorize = false;
        // One retry per store request: enough to exercise retries (a repeated request id)
        // while keeping the model finite and small.
        config.store_attempts_max = 2;
        config.cached_kinds = match (self.scenario, id) {
            (Scenario::FreshList, 2) => vec!["ConfigMap"],
            // What authentication and RBAC read; gateway 2 serves no one here.
            (Scenario::Identity, 1) => {
                vec![
                    "ServiceAccount",
                    "ClusterRole",
                    "ClusterRoleBinding",
                    "RoleBinding",
                ]
            }
            _ => Vec::new(),
        };
        if self.scenario == Scenario::Identity {
            config.authorize = true;
            let ops = User::new("ops", &["system:masters"]);
            config.static_tokens.insert(ADMINISTRATOR_TOKEN, ops);
        }
        config
    }

    /// Builds the model around gateway type `G` (the real one, or a broken wrapper).
    pub fn into_model<G: GatewayReplica>(self) -> GatewayCheck<G> {
        let membership = Membership {
            voters: [(STORE, String::new())].into(),
        };
        let store = Node::Store(
            StoreConfig::new(RaftConfig::new(STORE, membership)),
            initial_store(),
        );
        let gateways: Vec<Node<G>> = GATEWAYS
            .iter()
            .map(|id| {
                let retries = self.scenario != Scenario::Identity;
                Node::Gateway(self.gateway_config(*id), retries, std::marker::PhantomData)
            })
            .collect();
        let client_nodes: Vec<Node<G>> = self.roles().into_iter().map(Node::Client).collect();
        use property::*;
        let model = ActorModel::new(self, CounterHistory::default())
            .actor(store)
            .actors(gateways)
            .actors(client_nodes)
            .init_network(Network::new_ordered([]))
            .record_msg_out(record_out)
            .record_msg_in(record_in);
        let scenario = model.cfg.scenario;
        let sorted =
            Sorted::new(model).property(Property::always(ASSERTIONS_HOLD, assertions_hold));
        match scenario {
            Scenario::LostUpdate => sorted
                .property(Property::always(NO_LOST_UPDATE, no_lost_update))
                .property(Property::always(LINEARIZABLE, linearizable))
                .property(Property::sometimes(UPDATE_COMMITS, both_updates_commit)),
            Scenario::Quota => sorted
                .property(Property::always(QUOTA_HOLDS, quota_holds))
                .property(Property::sometimes(QUOTA_REFUSES, quota_refuses)),
            Scenario::FreshList => sorted
                .property(Property::always(LIST_IS_FRESH, list_is_fresh))
                .property(Property::always(
                    WATCH_MATCHES_HISTORY,
                    watch_matches_history,
                ))
                .property(Property::sometimes(LIST_SERVED, list_served))
                .property(Property::sometimes(WATCH_DELIVERS, watch_delivers)),
            Scenario::Identity => sorted
                .property(Property::always(
                    ONLY_AUTHORIZED_WRITE,
                    only_authorized_write,
                ))
                .property(Property::sometimes(
                    ADMINISTRATOR_WRITES,
                    administrator_writes,
                )),
        }
    }
}

/// Random-walk weights: every action alike.
pub fn action_weight(_: &ActorModelAction<GatewayMsg, ModelTimer, ()>) -> u32 {
    1
}

impl Scenario {
    pub const ALL: [Scenario; 4] = [
        Scenario::LostUpdate,
        Scenario::Quota,
        Scenario::FreshList,
        Scenario::Identity,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::LostUpdate => "gateway-lost-update",
            Scenario::Quota => "gateway-quota",
            Scenario::FreshList => "gateway-fresh-list",
            Scenario::Identity => "gateway-identity",
        }
    }
}

/// Checks one scenario's model built around gateway type `G`.
pub fn check<G: GatewayReplica>(
    cfg: GatewayModelCfg,
    options: &crate::check::CheckOptions,
) -> crate::check::CheckReport {
    let name = cfg.scenario.name();
    crate::check::run_weighted(name, cfg.into_model::<G>(), options, action_weight)
}
