//! The store model: three real `Store` actors (Raft, the MVCC keyspace, watches and
//! leases) with clients on a network that loses, reorders and duplicates, and crashes that
//! restart a member from what it persisted.
//!
//! Clients: one puts `k`, one compare-and-swaps it (a Txn on its version), each then reads
//! it linearizably; a watcher follows `k` from revision 1 on member 0; a lease client
//! grants a lease nobody keeps alive and attaches a key to it.
//!
//! Properties: the KV and Txn history is linearizable; every watch message the watcher
//! accepts carries exactly the history's events of the revisions it covers (Ordered,
//! Unique, Atomic, Reliable); members that applied the same index hold the same keyspace;
//! no member holds a key attached to a lease that is gone (a key outlives its lease only
//! until the revoke commits); actor assertions hold. Non-vacuity: a write commits, a watch
//! delivers, a lease expires.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use kactor_actors::kernel::{Actor, Input, NodeId};
use kactor_actors::raft::{
    ClientReply, ClientRequest, Membership, RaftConfig, RaftDurable, RaftMsg, RaftPersist,
    RequestId,
};
use kactor_actors::store::{
    Compare, CompareResult, CompareTarget, Event, KeySpan, Mvcc, PutRequest, RangeRequest,
    Revision, Store, StoreCommand, StoreConfig, StoreMsg, StoreOutput, StoreQuery, StoreTimer,
    TxnOp, TxnRequest, WatchRequest,
};
use serde::Serialize;
use stateright::actor::{
    ActorModel, ActorModelAction, ActorModelState, Envelope, Id, LossyNetwork, Network, Out,
};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester, SequentialSpec};
use stateright::Property;

use crate::adapter::{self, model_id, node_id, Hosted};
use crate::raft_client::{AfterReply, RaftClient};
use crate::sorted::Sorted;

/// The key the KV clients and the watcher use.
pub const KEY: &[u8] = b"k";
/// The key the lease client attaches to its lease.
pub const LEASED_KEY: &[u8] = b"l";
/// The lease the lease client grants (chosen, so the model needs no reply to learn it).
pub const LEASE: u64 = 7;
/// The watcher's watch id.
const WATCH: u64 = 1;

/// A member the model can run: the real store, or a deliberately broken wrapper of it
/// (built in tests) that still exposes the store's state for the properties.
pub trait StoreReplica:
    Actor<
        Config = StoreConfig,
        Msg = StoreMsg,
        Timer = StoreTimer,
        Persist = RaftPersist<Mvcc>,
        Durable = RaftDurable<Mvcc>,
    > + Send
    + Sync
    + 'static
{
    fn store(&self) -> &Store;
}

impl StoreReplica for Store {
    fn store(&self) -> &Store {
        self
    }
}

/// The sequential specification of what the KV clients do to `k`.
#[derive(Clone, Debug, Default, Hash, PartialEq, Serialize)]
pub struct KvSpec {
    pub value: Option<u8>,
    pub version: u64,
}

#[derive(Clone, Debug, Hash, PartialEq, Serialize)]
pub enum KvOp {
    Put(u8),
    /// Put `value` if `k`'s version is `version`.
    Cas {
        version: u64,
        value: u8,
    },
    Get,
}

#[derive(Clone, Debug, Hash, PartialEq, Serialize)]
pub enum KvRet {
    PutOk,
    CasOk(bool),
    GetOk(Option<u8>),
}

impl SequentialSpec for KvSpec {
    type Op = KvOp;
    type Ret = KvRet;
    fn invoke(&mut self, op: &KvOp) -> KvRet {
        match op {
            KvOp::Put(value) => {
                self.value = Some(*value);
                self.version += 1;
                KvRet::PutOk
            }
            KvOp::Cas { version, value } => {
                let swapped = self.version == *version;
                if swapped {
                    self.value = Some(*value);
                    self.version += 1;
                }
                KvRet::CasOk(swapped)
            }
            KvOp::Get => KvRet::GetOk(self.value),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoreModelCfg {
    pub servers: usize,
    pub max_crashes: usize,
    pub lossy: bool,
    pub snapshot_entries_threshold: u64,
    pub watcher: bool,
    pub lease_client: bool,
    /// Distinct messages in flight at most (keeps a duplicating network finite).
    pub network_messages_max: usize,
}

impl Default for StoreModelCfg {
    fn default() -> Self {
        StoreModelCfg {
            servers: 3,
            max_crashes: 1,
            lossy: true,
            snapshot_entries_threshold: 3,
            watcher: true,
            lease_client: true,
            network_messages_max: 24,
        }
    }
}

/// What a client does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Puts `k`, then reads it.
    Putter(u8),
    /// Swaps `k` to the value if its version is 0, then reads it.
    Swapper(u8),
    /// Follows `k` from revision 1 on member 0.
    Watcher,
    /// Grants `LEASE`, then attaches `LEASED_KEY` to it; never keeps it alive.
    Leaser,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ClientState {
    /// The request in flight (1, 2), or 3 when done; the watcher's member.
    pub raft: RaftClient,
    /// Watcher: every revision up to this one was delivered.
    pub covered: Revision,
}

// Servers outnumber nothing here: boxing them would cost every state an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NodeState<R: StoreReplica> {
    Server(Hosted<R>),
    Client(ClientState),
}

// One value per actor, built once per model.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Node<R: StoreReplica> {
    Server(StoreConfig, std::marker::PhantomData<R>),
    Client { servers: usize, role: Role },
}

const DONE: RequestId = 3;

fn request_body(role: Role, request: RequestId) -> ClientRequest<Mvcc> {
    let put = |key: &[u8], value: u8, lease: u64| PutRequest {
        key: key.to_vec(),
        value: vec![value],
        lease,
        prev_kv: false,
    };
    match (role, request) {
        (Role::Putter(value), 1) => ClientRequest::Command(StoreCommand::Put(put(KEY, value, 0))),
        (Role::Swapper(value), 1) => ClientRequest::Command(StoreCommand::Txn(TxnRequest {
            compare: vec![Compare {
                key: KEY.to_vec(),
                result: CompareResult::Equal,
                target: CompareTarget::Version(0),
            }],
            success: vec![TxnOp::Put(put(KEY, value, 0))],
            failure: vec![],
        })),
        (Role::Putter(_) | Role::Swapper(_), _) => ClientRequest::Read(StoreQuery::Range(
            RangeRequest::latest(KeySpan::Key(KEY.to_vec())),
        )),
        (Role::Leaser, 1) => ClientRequest::Command(StoreCommand::LeaseGrant {
            id: LEASE,
            ttl_s: 2,
        }),
        (Role::Leaser, _) => ClientRequest::Command(StoreCommand::Put(put(LEASED_KEY, 1, LEASE))),
        (Role::Watcher, _) => unreachable!("the watcher sends no Raft requests"),
    }
}

fn send_request<R: StoreReplica>(role: Role, client: &mut ClientState, o: &mut Out<Node<R>>) {
    client.raft.attempt();
    let body = request_body(role, client.raft.request);
    let msg = RaftMsg::Request {
        request: client.raft.request,
        body,
    };
    o.send(model_id(client.raft.target()), StoreMsg::Raft(msg));
}

impl<R: StoreReplica> stateright::actor::Actor for Node<R> {
    type Msg = StoreMsg;
    type Timer = StoreTimer;
    type State = NodeState<R>;
    type Storage = RaftDurable<Mvcc>;
    type Random = ();

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> NodeState<R> {
        match self {
            Node::Server(config, _) => {
                NodeState::Server(adapter::start(config.clone(), storage, o))
            }
            Node::Client { servers, role } => {
                let mut client = ClientState {
                    raft: RaftClient::new(1, (usize::from(id) % servers) as NodeId),
                    covered: 0,
                };
                if *role == Role::Watcher {
                    client.raft = RaftClient::new(client.raft.request, 0);
                    let watch = WatchRequest {
                        watch: WATCH,
                        span: KeySpan::Key(KEY.to_vec()),
                        start_revision: 1,
                        prev_kv: false,
                    };
                    o.send(model_id(0), StoreMsg::Watch(watch));
                } else {
                    send_request(*role, &mut client, o);
                }
                NodeState::Client(client)
            }
        }
    }

    fn on_msg(
        &self,
        _id: Id,
        state: &mut Cow<NodeState<R>>,
        src: Id,
        msg: StoreMsg,
        o: &mut Out<Self>,
    ) {
        match (self, state.to_mut()) {
            (Node::Server(..), NodeState::Server(hosted)) => {
                let input = Input::Message {
                    from: node_id(src),
                    msg,
                };
                adapter::deliver(hosted, input, o);
            }
            (Node::Client { servers, role }, NodeState::Client(client)) => match role {
                Role::Watcher => watcher_on_msg(client, msg, o),
                _ => client_on_msg(*servers, *role, client, msg, o),
            },
            _ => unreachable!("actor and state kinds always match"),
        }
    }

    fn on_timeout(
        &self,
        _id: Id,
        state: &mut Cow<NodeState<R>>,
        timer: &StoreTimer,
        o: &mut Out<Self>,
    ) {
        if let NodeState::Server(hosted) = state.to_mut() {
            adapter::deliver(hosted, Input::Timer(*timer), o);
        }
    }
}

fn client_on_msg<R: StoreReplica>(
    servers: usize,
    role: Role,
    client: &mut ClientState,
    msg: StoreMsg,
    o: &mut Out<Node<R>>,
) {
    let StoreMsg::Raft(RaftMsg::Reply { request, body }) = msg else {
        return;
    };
    match client.raft.on_reply(servers, request, &body) {
        AfterReply::Answered => {
            client.raft.request += 1;
            if client.raft.request < DONE {
                send_request(role, client, o);
            }
        }
        AfterReply::Resend => send_request(role, client, o),
        AfterReply::Ignore => {}
    }
}

/// Accepts a watch message that continues what it has; acknowledges it.
fn watcher_on_msg<R: StoreReplica>(client: &mut ClientState, msg: StoreMsg, o: &mut Out<Node<R>>) {
    let (from_revision, revision) = match msg {
        StoreMsg::WatchEvents {
            from_revision,
            revision,
            ..
        }
        | StoreMsg::WatchProgress {
            from_revision,
            revision,
            ..
        } => (from_revision, revision),
        _ => return,
    };
    if from_revision == client.covered + 1 && revision >= client.covered {
        client.covered = revision;
        let ack = StoreMsg::WatchAck {
            watch: WATCH,
            revision,
        };
        o.send(model_id(client.raft.target()), ack);
    }
}

/// What the properties need that no single state shows.
#[derive(Clone, Debug, PartialEq, Hash)]
pub struct StoreHistory {
    pub linearizability: LinearizabilityTester<Id, KvSpec>,
    pub invoked: BTreeSet<(Id, RequestId)>,
    pub returned: BTreeSet<(Id, RequestId)>,
    /// The watcher's accepted messages: the events of each revision it covered.
    pub watched: BTreeMap<Revision, Vec<Event>>,
    pub watch_covered: Revision,
    /// An accepted message carried an event outside the revisions it claimed to cover.
    pub watch_misframed: bool,
}

impl Default for StoreHistory {
    fn default() -> Self {
        StoreHistory {
            linearizability: LinearizabilityTester::new(KvSpec::default()),
            invoked: BTreeSet::new(),
            returned: BTreeSet::new(),
            watched: BTreeMap::new(),
            watch_covered: 0,
            watch_misframed: false,
        }
    }
}

fn kv_role(cfg: &StoreModelCfg, id: Id) -> Option<Role> {
    match usize::from(id).checked_sub(cfg.servers)? {
        0 => Some(Role::Putter(1)),
        1 => Some(Role::Swapper(2)),
        _ => None,
    }
}

fn record_out(
    cfg: &StoreModelCfg,
    history: &StoreHistory,
    env: Envelope<&StoreMsg>,
) -> Option<StoreHistory> {
    let role = kv_role(cfg, env.src)?;
    let StoreMsg::Raft(RaftMsg::Request { request, .. }) = env.msg else {
        return None;
    };
    if history.invoked.contains(&(env.src, *request)) {
        return None;
    }
    let op = match (role, request) {
        (Role::Putter(value), 1) => KvOp::Put(value),
        (Role::Swapper(value), 1) => KvOp::Cas { version: 0, value },
        _ => KvOp::Get,
    };
    let mut next = history.clone();
    next.invoked.insert((env.src, *request));
    let _ = next.linearizability.on_invoke(env.src, op);
    Some(next)
}

fn record_in(
    cfg: &StoreModelCfg,
    history: &StoreHistory,
    env: Envelope<&StoreMsg>,
) -> Option<StoreHistory> {
    if usize::from(env.dst) == cfg.servers + 2 && cfg.watcher {
        return record_watch(history, env.msg);
    }
    kv_role(cfg, env.dst)?;
    let StoreMsg::Raft(RaftMsg::Reply {
        request,
        body: ClientReply::Output(output),
    }) = env.msg
    else {
        return None;
    };
    let key = (env.dst, *request);
    if !history.invoked.contains(&key) || history.returned.contains(&key) {
        return None;
    }
    let ret = match output {
        StoreOutput::Put { .. } => KvRet::PutOk,
        StoreOutput::Txn { succeeded, .. } => KvRet::CasOk(*succeeded),
        StoreOutput::Range(range) => KvRet::GetOk(range.kvs.first().map(|kv| kv.value[0])),
        _ => return None,
    };
    let mut next = history.clone();
    next.returned.insert(key);
    let _ = next.linearizability.on_return(env.dst, ret);
    Some(next)
}

/// Mirrors the watcher's acceptance rule and keeps what it accepted.
fn record_watch(history: &StoreHistory, msg: &StoreMsg) -> Option<StoreHistory> {
    let (from_revision, revision, events) = match msg {
        StoreMsg::WatchEvents {
            from_revision,
            revision,
            events,
            ..
        } => (*from_revision, *revision, events.as_slice()),
        StoreMsg::WatchProgress {
            from_revision,
            revision,
            ..
        } => (*from_revision, *revision, &[][..]),
        _ => return None,
    };
    if from_revision != history.watch_covered + 1 || revision < history.watch_covered {
        return None;
    }
    let mut next = history.clone();
    next.watch_covered = revision;
    for r in from_revision..=revision {
        next.watched.insert(r, Vec::new());
    }
    for event in events {
        let r = event.kv.mod_revision;
        match next.watched.get_mut(&r) {
            Some(at) if r >= from_revision => at.push(event.clone()),
            _ => next.watch_misframed = true,
        }
    }
    Some(next)
}

pub type StoreModel<R> = ActorModel<Node<R>, StoreModelCfg, StoreHistory>;
pub type StoreState<R> = ActorModelState<Node<R>, StoreHistory>;
pub type StoreCheck<R> = Sorted<StoreModel<R>>;

/// The live members of a state.
pub fn members<R: StoreReplica>(state: &StoreState<R>) -> impl Iterator<Item = &Store> {
    state
        .actor_states
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match &**s {
            NodeState::Server(Hosted { actor: Some(r), .. }) if !state.crashed[i] => {
                Some(r.store())
            }
            _ => None,
        })
}

fn linearizable<R: StoreReplica>(_: &StoreCheck<R>, state: &StoreState<R>) -> bool {
    state.history.linearizability.serialized_history().is_some()
}

/// Every revision the watcher covered holds exactly the events every member that applied
/// it has for `k`: nothing skipped, nothing twice, nothing out of order or invented.
fn watch_matches_history<R: StoreReplica>(_: &StoreCheck<R>, state: &StoreState<R>) -> bool {
    let history = &state.history;
    !history.watch_misframed
        && members(state).all(|member| {
            let mvcc = &member.raft.machine;
            history
                .watched
                .range(mvcc.compact_revision + 1..=mvcc.revision)
                .all(|(revision, seen)| {
                    // The watcher asked for no previous values.
                    let expected: Vec<Event> = mvcc
                        .events_at(*revision)
                        .into_iter()
                        .filter(|e| e.kv.key == KEY)
                        .map(|e| Event { prev_kv: None, ..e })
                        .collect();
                    *seen == expected
                })
        })
}

fn members_agree<R: StoreReplica>(_: &StoreCheck<R>, state: &StoreState<R>) -> bool {
    let all: Vec<&Store> = members(state).collect();
    all.iter().all(|a| {
        all.iter()
            .all(|b| a.raft.applied != b.raft.applied || a.raft.machine == b.raft.machine)
    })
}

/// A key attached to a lease exists only while the lease does: the revoke that ends the
/// lease deletes its keys in the same revision.
fn no_key_outlives_its_lease<R: StoreReplica>(_: &StoreCheck<R>, state: &StoreState<R>) -> bool {
    members(state).all(|member| {
        let mvcc = &member.raft.machine;
        mvcc.histories.iter().all(|(key, _)| {
            mvcc.get(key)
                .is_none_or(|kv| kv.lease == 0 || mvcc.leases.contains_key(&kv.lease))
        })
    })
}

fn assertions_hold<R: StoreReplica>(_: &StoreCheck<R>, state: &StoreState<R>) -> bool {
    state.actor_states.iter().all(|s| match &**s {
        NodeState::Server(hosted) => hosted.failure.is_none(),
        NodeState::Client(_) => true,
    })
}

fn write_commits<R: StoreReplica>(_: &StoreCheck<R>, state: &StoreState<R>) -> bool {
    state
        .history
        .returned
        .iter()
        .any(|(_, request)| *request == 1)
}

fn watch_delivers<R: StoreReplica>(_: &StoreCheck<R>, state: &StoreState<R>) -> bool {
    state
        .history
        .watched
        .values()
        .any(|events| !events.is_empty())
}

fn lease_expires<R: StoreReplica>(_: &StoreCheck<R>, state: &StoreState<R>) -> bool {
    members(state).any(|member| {
        let mvcc = &member.raft.machine;
        let attached = mvcc.histories.contains_key(LEASED_KEY);
        attached && !mvcc.leases.contains_key(&LEASE)
    })
}

/// Property names, as printed and as used by tests.
pub mod property {
    pub const LINEARIZABLE: &str = "linearizable kv and txn";
    pub const WATCH_MATCHES_HISTORY: &str = "watch ordered, unique, atomic, reliable";
    pub const MEMBERS_AGREE: &str = "members that applied an index agree";
    pub const NO_KEY_OUTLIVES_ITS_LEASE: &str = "no key outlives its lease's revoke";
    pub const ASSERTIONS_HOLD: &str = "actor assertions hold";
    pub const WRITE_COMMITS: &str = "sometimes a write commits";
    pub const WATCH_DELIVERS: &str = "sometimes a watch delivers an event";
    pub const LEASE_EXPIRES: &str = "sometimes a lease expires";
}

impl StoreModelCfg {
    /// Builds the model around member type `R` (the real store, or a broken wrapper).
    pub fn into_model<R: StoreReplica>(self) -> StoreCheck<R> {
        let membership = Membership {
            voters: (0..self.servers)
                .map(|i| (i as NodeId, String::new()))
                .collect(),
        };
        let threshold = self.snapshot_entries_threshold;
        let servers = (0..self.servers).map(move |i| {
            let mut raft = RaftConfig::new(i as NodeId, membership.clone());
            raft.snapshot_entries_threshold = threshold;
            raft.append_entries_max = 2;
            raft.inflight_appends_max = 2;
            raft.snapshot_resend_heartbeats = 2;
            Node::Server(StoreConfig::new(raft), std::marker::PhantomData)
        });
        let mut roles = vec![Role::Putter(1), Role::Swapper(2)];
        roles.extend(self.watcher.then_some(Role::Watcher));
        roles.extend(self.lease_client.then_some(Role::Leaser));
        let servers_count = self.servers;
        let clients = roles.into_iter().map(move |role| Node::Client {
            servers: servers_count,
            role,
        });
        let lossy = match self.lossy {
            true => LossyNetwork::Yes,
            false => LossyNetwork::No,
        };
        let max_crashes = self.max_crashes;
        use property::*;
        let model = ActorModel::new(self, StoreHistory::default())
            .actors(servers)
            .actors(clients)
            .init_network(Network::new_unordered_duplicating([]))
            .lossy_network(lossy)
            .max_crashes(max_crashes)
            .record_msg_in(record_in)
            .record_msg_out(record_out)
            .within_boundary(within_network_bound);
        Sorted::new(model)
            .property(Property::always(LINEARIZABLE, linearizable))
            .property(Property::always(
                WATCH_MATCHES_HISTORY,
                watch_matches_history,
            ))
            .property(Property::always(MEMBERS_AGREE, members_agree))
            .property(Property::always(
                NO_KEY_OUTLIVES_ITS_LEASE,
                no_key_outlives_its_lease,
            ))
            .property(Property::always(ASSERTIONS_HOLD, assertions_hold))
            .property(Property::sometimes(WRITE_COMMITS, write_commits))
            .property(Property::sometimes(WATCH_DELIVERS, watch_delivers))
            .property(Property::sometimes(LEASE_EXPIRES, lease_expires))
    }
}

fn within_network_bound<R: StoreReplica>(cfg: &StoreModelCfg, state: &StoreState<R>) -> bool {
    state.network.len() <= cfg.network_messages_max
}

/// Random-walk weights: mostly deliveries; the store's tick (lease expiry, bookmarks) as
/// often as heartbeats, so leases can run out within a walk.
pub fn action_weight(action: &ActorModelAction<StoreMsg, StoreTimer, ()>) -> u32 {
    use kactor_actors::raft::RaftTimer;
    match action {
        ActorModelAction::Deliver { .. } => 100,
        ActorModelAction::Drop(_) => 8,
        ActorModelAction::Timeout(_, StoreTimer::Raft(RaftTimer::Heartbeat)) => 20,
        ActorModelAction::Timeout(_, StoreTimer::Raft(RaftTimer::Election)) => 6,
        ActorModelAction::Timeout(_, StoreTimer::Tick) => 30,
        ActorModelAction::Crash(_) => 2,
        _ => 20,
    }
}

/// Checks the store model built around member type `R`.
pub fn check<R: StoreReplica>(
    cfg: StoreModelCfg,
    options: &crate::check::CheckOptions,
) -> crate::check::CheckReport {
    let model = cfg.into_model::<R>();
    crate::check::run_weighted("store", model, options, action_weight)
}
