//! The Raft model: three real replicas (`kactor_actors::raft::Raft`) and two clients on a
//! network that loses, reorders and duplicates, with crashes that restart a replica from
//! what it persisted. Properties from the Raft paper (Figure 3), linearizability of the
//! client history, and non-vacuity.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use kactor_actors::kernel::{Actor, Input, NodeId};
use kactor_actors::raft::{
    ClientReply, ClientRequest, Entry, Index, Membership, Raft, RaftConfig, RaftDurable, RaftMsg,
    RaftPersist, RaftTimer, RequestId, Role, StateMachine, Term,
};
use serde::{Deserialize, Serialize};
use stateright::actor::{
    ActorModel, ActorModelAction, ActorModelState, Envelope, Id, LossyNetwork, Network, Out,
};
use stateright::semantics::register::{Register, RegisterOp, RegisterRet};
use stateright::semantics::{ConsistencyTester, LinearizabilityTester};
use stateright::Property;

use crate::adapter::{self, model_id, node_id, Hosted};
use crate::raft_client::{AfterReply, RaftClient};
use crate::sorted::Sorted;

/// A one-byte register: the smallest application that still tells writes apart.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct Cell(pub u8);

impl StateMachine for Cell {
    type Command = u8;
    type Query = ();
    type Output = u8;
    fn apply(&mut self, value: &u8) -> u8 {
        self.0 = *value;
        *value
    }
    fn query(&self, _: &()) -> u8 {
        self.0
    }
}

pub type CellRaft = Raft<Cell>;
pub type CellMsg = RaftMsg<Cell>;

/// A replica the model can run: the real Raft, or a deliberately broken wrapper of it
/// (built in tests) that still exposes the Raft state for the properties.
pub trait Replica:
    Actor<
        Config = RaftConfig,
        Msg = CellMsg,
        Timer = RaftTimer,
        Persist = RaftPersist<Cell>,
        Durable = RaftDurable<Cell>,
    > + Send
    + Sync
    + 'static
{
    fn raft(&self) -> &CellRaft;
}

impl Replica for CellRaft {
    fn raft(&self) -> &CellRaft {
        self
    }
}

/// How big a world to explore.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RaftModelCfg {
    pub servers: usize,
    pub clients: usize,
    pub max_crashes: usize,
    pub lossy: bool,
    /// Snapshot after this many applied entries (small, so snapshots happen in the model).
    pub snapshot_entries_threshold: u64,
    /// Whether each client reads after its write.
    pub client_reads: bool,
    /// Entries per AppendEntries (small, so replication takes several steps).
    pub append_entries_max: usize,
    /// Replicas start from these durable images (as if restarting) instead of empty
    /// ones, so a check can begin near a scenario of interest. Empty: fresh replicas.
    pub initial_durables: Vec<RaftDurable<Cell>>,
    /// Messages already in flight at the start, as (from, to, message).
    pub initial_messages: Vec<(NodeId, NodeId, CellMsg)>,
    /// Distinct messages in flight at most: duplication keeps delivered messages around,
    /// and this keeps the network (and so the state space) finite.
    pub network_messages_max: usize,
}

impl Default for RaftModelCfg {
    fn default() -> Self {
        RaftModelCfg {
            servers: 3,
            clients: 2,
            max_crashes: 1,
            lossy: true,
            snapshot_entries_threshold: 2,
            client_reads: true,
            network_messages_max: 24,
            append_entries_max: 2,
            initial_durables: Vec::new(),
            initial_messages: Vec::new(),
        }
    }
}

const WRITE: RequestId = 1;
const READ: RequestId = 2;
const DONE: RequestId = 3;

/// A client's request in flight is `WRITE`, `READ` or `DONE`.
pub type ClientState = RaftClient;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NodeState<R: Replica> {
    Server(Hosted<R>),
    Client(ClientState),
}

// One value per actor, built once per model: boxing the big variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug)]
pub enum Node<R: Replica> {
    Server(RaftConfig, RaftDurable<Cell>, std::marker::PhantomData<R>),
    Client {
        servers: usize,
        value: u8,
        reads: bool,
    },
}

impl<R: Replica> stateright::actor::Actor for Node<R> {
    type Msg = CellMsg;
    type Timer = RaftTimer;
    type State = NodeState<R>;
    type Storage = RaftDurable<Cell>;
    type Random = ();

    fn on_start(&self, id: Id, storage: &Option<Self::Storage>, o: &mut Out<Self>) -> NodeState<R> {
        match self {
            Node::Server(config, initial, _) => {
                let storage = storage.clone().or_else(|| Some(initial.clone()));
                NodeState::Server(adapter::start(config.clone(), &storage, o))
            }
            Node::Client { servers, value, .. } => {
                let target = (usize::from(id) % servers) as NodeId;
                let body = ClientRequest::Command(*value);
                o.send(
                    model_id(target),
                    RaftMsg::Request {
                        request: WRITE,
                        body,
                    },
                );
                let mut client = ClientState::new(WRITE, target);
                client.attempt();
                NodeState::Client(client)
            }
        }
    }

    fn on_msg(
        &self,
        _id: Id,
        state: &mut Cow<NodeState<R>>,
        src: Id,
        msg: CellMsg,
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
            (
                Node::Client {
                    servers,
                    value,
                    reads,
                },
                NodeState::Client(client),
            ) => client_on_msg(*servers, *value, *reads, client, msg, o),
            _ => unreachable!("actor and state kinds always match"),
        }
    }

    fn on_timeout(
        &self,
        _id: Id,
        state: &mut Cow<NodeState<R>>,
        timer: &RaftTimer,
        o: &mut Out<Self>,
    ) {
        if let NodeState::Server(hosted) = state.to_mut() {
            adapter::deliver(hosted, Input::Timer(*timer), o);
        }
    }
}

fn client_on_msg<R: Replica>(
    servers: usize,
    value: u8,
    reads: bool,
    client: &mut ClientState,
    msg: CellMsg,
    o: &mut Out<Node<R>>,
) {
    let RaftMsg::Reply { request, body } = msg else {
        return;
    };
    match client.on_reply(servers, request, &body) {
        AfterReply::Answered => {
            client.request = if request == WRITE && reads {
                READ
            } else {
                DONE
            };
            if client.request == READ {
                send_request(client, value, o);
            }
        }
        AfterReply::Resend => send_request(client, value, o),
        AfterReply::Ignore => {}
    }
}

fn send_request<R: Replica>(client: &mut ClientState, value: u8, o: &mut Out<Node<R>>) {
    client.attempt();
    let body = match client.request {
        WRITE => ClientRequest::Command(value),
        _ => ClientRequest::Read(()),
    };
    o.send(
        model_id(client.target()),
        RaftMsg::Request {
            request: client.request,
            body,
        },
    );
}

/// What the properties need that no single state shows.
#[derive(Clone, Debug, PartialEq, Hash)]
pub struct RaftHistory {
    pub linearizability: LinearizabilityTester<Id, Register<u8>>,
    /// (client, request) pairs invoked and returned, so retries and duplicates count once.
    pub invoked: BTreeSet<(Id, RequestId)>,
    pub returned: BTreeSet<(Id, RequestId)>,
    /// The replica seen acting as leader (sending AppendEntries) in each term.
    pub leaders: BTreeMap<Term, Id>,
    pub two_leaders_in_a_term: bool,
    /// Entries each term's leader sent, by index: a leader never changes one.
    pub leader_entries: BTreeMap<(Term, Index), Entry<u8>>,
    pub leader_rewrote_entry: bool,
    /// The term of each entry some leader announced as committed (it sent the entry, or
    /// its position, together with a commit index covering it). Replicas that crash
    /// take what they applied with them; this record does not.
    pub committed: BTreeMap<Index, Term>,
    pub commit_contradicted: bool,
}

impl Default for RaftHistory {
    fn default() -> Self {
        RaftHistory {
            linearizability: LinearizabilityTester::new(Register(0)),
            invoked: BTreeSet::new(),
            returned: BTreeSet::new(),
            leaders: BTreeMap::new(),
            two_leaders_in_a_term: false,
            leader_entries: BTreeMap::new(),
            leader_rewrote_entry: false,
            committed: BTreeMap::new(),
            commit_contradicted: false,
        }
    }
}

fn record_out(
    cfg: &RaftModelCfg,
    history: &RaftHistory,
    env: Envelope<&CellMsg>,
) -> Option<RaftHistory> {
    let is_client = usize::from(env.src) >= cfg.servers;
    match env.msg {
        RaftMsg::Request { request, body } if is_client => {
            if history.invoked.contains(&(env.src, *request)) {
                return None;
            }
            let op = match body {
                ClientRequest::Command(value) => RegisterOp::Write(*value),
                _ => RegisterOp::Read,
            };
            let mut next = history.clone();
            next.invoked.insert((env.src, *request));
            let _ = next.linearizability.on_invoke(env.src, op);
            Some(next)
        }
        RaftMsg::AppendEntries {
            term,
            prev,
            entries,
            commit,
            ..
        } => {
            let mut next = history.clone();
            let leader = *next.leaders.entry(*term).or_insert(env.src);
            next.two_leaders_in_a_term |= leader != env.src;
            for (offset, entry) in entries.iter().enumerate() {
                let key = (*term, prev.index + 1 + offset as Index);
                let seen = next
                    .leader_entries
                    .entry(key)
                    .or_insert_with(|| entry.clone());
                next.leader_rewrote_entry |= seen != entry;
            }
            let positions = entries
                .iter()
                .enumerate()
                .map(|(offset, e)| (prev.index + 1 + offset as Index, e.term))
                .chain([(prev.index, prev.term)]);
            for (index, entry_term) in positions.filter(|(i, _)| *i > 0 && *i <= *commit) {
                let known = *next.committed.entry(index).or_insert(entry_term);
                next.commit_contradicted |= known != entry_term;
            }
            (next != *history).then_some(next)
        }
        _ => None,
    }
}

fn record_in(
    cfg: &RaftModelCfg,
    history: &RaftHistory,
    env: Envelope<&CellMsg>,
) -> Option<RaftHistory> {
    let is_client = usize::from(env.dst) >= cfg.servers;
    let RaftMsg::Reply {
        request,
        body: ClientReply::Output(value),
    } = env.msg
    else {
        return None;
    };
    let key = (env.dst, *request);
    if !is_client || !history.invoked.contains(&key) || history.returned.contains(&key) {
        return None;
    }
    let ret = match *request {
        WRITE => RegisterRet::WriteOk,
        _ => RegisterRet::ReadOk(*value),
    };
    let mut next = history.clone();
    next.returned.insert(key);
    let _ = next.linearizability.on_return(env.dst, ret);
    Some(next)
}

pub type RaftModel<R> = ActorModel<Node<R>, RaftModelCfg, RaftHistory>;
pub type RaftState<R> = ActorModelState<Node<R>, RaftHistory>;
/// The model as checked: canonical action order, and the properties.
pub type RaftCheck<R> = Sorted<RaftModel<R>>;

/// The live replicas of a state (crashed or failed ones are skipped).
pub fn replicas<R: Replica>(state: &RaftState<R>) -> impl Iterator<Item = &CellRaft> {
    state
        .actor_states
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match &**s {
            NodeState::Server(Hosted { actor: Some(r), .. }) if !state.crashed[i] => Some(r.raft()),
            _ => None,
        })
}

fn election_safety<R: Replica>(_: &RaftCheck<R>, state: &RaftState<R>) -> bool {
    let mut leaders = BTreeMap::new();
    let live_ok = replicas(state)
        .filter(|r| r.role == Role::Leader)
        .all(|r| leaders.insert(r.hard.term, r.id()).is_none());
    live_ok && !state.history.two_leaders_in_a_term
}

fn leader_append_only<R: Replica>(_: &RaftCheck<R>, state: &RaftState<R>) -> bool {
    !state.history.leader_rewrote_entry
}

/// If two logs hold an entry with the same index and term, they agree on every entry up to
/// it (compared above both snapshots).
fn log_matching<R: Replica>(_: &RaftCheck<R>, state: &RaftState<R>) -> bool {
    let all: Vec<&CellRaft> = replicas(state).collect();
    all.iter().all(|a| {
        all.iter().all(|b| {
            let floor = a.log.snapshot.index.max(b.log.snapshot.index);
            let top = a.log.last_index().min(b.log.last_index());
            let matching = (floor + 1..=top)
                .rev()
                .find(|i| a.log.term_at(*i) == b.log.term_at(*i));
            matching.is_none_or(|m| (floor + 1..=m).all(|i| a.log.entry(i) == b.log.entry(i)))
        })
    })
}

/// A leader's log holds every entry committed in an earlier term. Every replica whose term
/// is at most the leader's learned its commit index in such a term.
fn leader_completeness<R: Replica>(_: &RaftCheck<R>, state: &RaftState<R>) -> bool {
    let all: Vec<&CellRaft> = replicas(state).collect();
    all.iter().filter(|l| l.role == Role::Leader).all(|leader| {
        all.iter()
            .filter(|s| s.hard.term <= leader.hard.term)
            .all(|s| {
                let from = leader.log.snapshot.index.max(s.log.snapshot.index) + 1;
                (from..=s.commit).all(|i| leader.log.term_at(i) == s.log.term_at(i))
            })
    })
}

/// Replicas that applied the same index hold the same state, agree on every applied
/// entry both still have, and never commit an entry other than one a leader announced as
/// committed at that index (which catches a replica that applied and then crashed).
fn state_machine_safety<R: Replica>(_: &RaftCheck<R>, state: &RaftState<R>) -> bool {
    let all: Vec<&CellRaft> = replicas(state).collect();
    let pairs_agree = all.iter().all(|a| {
        all.iter().all(|b| {
            let same_state = a.applied != b.applied || (a.machine == b.machine);
            let from = a.log.snapshot.index.max(b.log.snapshot.index) + 1;
            let upto = a.applied.min(b.applied);
            same_state && (from..=upto).all(|i| a.log.entry(i) == b.log.entry(i))
        })
    });
    let committed = &state.history.committed;
    let agrees_with_history = all.iter().all(|r| {
        committed
            .range(..=r.commit)
            .all(|(i, t)| r.log.term_at(*i).is_none_or(|term| term == *t))
    });
    pairs_agree && agrees_with_history && !state.history.commit_contradicted
}

fn linearizable<R: Replica>(_: &RaftCheck<R>, state: &RaftState<R>) -> bool {
    state.history.linearizability.serialized_history().is_some()
}

fn assertions_hold<R: Replica>(_: &RaftCheck<R>, state: &RaftState<R>) -> bool {
    state.actor_states.iter().all(|s| match &**s {
        NodeState::Server(hosted) => hosted.failure.is_none(),
        NodeState::Client(_) => true,
    })
}

fn leader_elected<R: Replica>(_: &RaftCheck<R>, state: &RaftState<R>) -> bool {
    replicas(state).any(|r| r.role == Role::Leader)
}

fn write_commits<R: Replica>(_: &RaftCheck<R>, state: &RaftState<R>) -> bool {
    state
        .history
        .returned
        .iter()
        .any(|(_, request)| *request == WRITE)
}

/// Property names, as printed and as used by tests.
pub mod property {
    pub const ELECTION_SAFETY: &str = "election safety";
    pub const LEADER_APPEND_ONLY: &str = "leader append-only";
    pub const LOG_MATCHING: &str = "log matching";
    pub const LEADER_COMPLETENESS: &str = "leader completeness";
    pub const STATE_MACHINE_SAFETY: &str = "state machine safety";
    pub const LINEARIZABLE: &str = "linearizable";
    pub const ASSERTIONS_HOLD: &str = "actor assertions hold";
    pub const LEADER_ELECTED: &str = "sometimes a leader is elected";
    pub const WRITE_COMMITS: &str = "sometimes a write commits";
}

impl RaftModelCfg {
    /// Builds the model around replica type `R` (the real Raft, or a broken wrapper).
    pub fn into_model<R: Replica>(self) -> RaftCheck<R> {
        let membership = Membership {
            voters: (0..self.servers)
                .map(|i| (i as NodeId, String::new()))
                .collect(),
        };
        let servers = (0..self.servers)
            .map(|i| {
                let mut config = RaftConfig::new(i as NodeId, membership.clone());
                config.snapshot_entries_threshold = self.snapshot_entries_threshold;
                config.append_entries_max = self.append_entries_max;
                config.inflight_appends_max = 2;
                // A lost snapshot is resent after two heartbeats, not fifty: small models.
                config.snapshot_resend_heartbeats = 2;
                let initial = self.initial_durables.get(i).cloned().unwrap_or_default();
                Node::Server(config, initial, std::marker::PhantomData)
            })
            .collect::<Vec<_>>();
        let clients = (0..self.clients)
            .map(|c| Node::Client {
                servers: self.servers,
                value: c as u8 + 1,
                reads: self.client_reads,
            })
            .collect::<Vec<_>>();
        let lossy = if self.lossy {
            LossyNetwork::Yes
        } else {
            LossyNetwork::No
        };
        let max_crashes = self.max_crashes;
        let in_flight = self
            .initial_messages
            .iter()
            .map(|(from, to, msg)| Envelope {
                src: model_id(*from),
                dst: model_id(*to),
                msg: msg.clone(),
            });
        let network = Network::new_unordered_duplicating(in_flight);
        use property::*;
        let model = ActorModel::new(self, RaftHistory::default())
            .actors(servers)
            .actors(clients)
            .init_network(network)
            .lossy_network(lossy)
            .max_crashes(max_crashes)
            .record_msg_in(record_in)
            .record_msg_out(record_out)
            .within_boundary(within_depth);
        Sorted::new(model)
            .property(Property::always(ELECTION_SAFETY, election_safety))
            .property(Property::always(LEADER_APPEND_ONLY, leader_append_only))
            .property(Property::always(LOG_MATCHING, log_matching))
            .property(Property::always(LEADER_COMPLETENESS, leader_completeness))
            .property(Property::always(STATE_MACHINE_SAFETY, state_machine_safety))
            .property(Property::always(LINEARIZABLE, linearizable))
            .property(Property::always(ASSERTIONS_HOLD, assertions_hold))
            .property(Property::sometimes(LEADER_ELECTED, leader_elected))
            .property(Property::sometimes(WRITE_COMMITS, write_commits))
    }
}

/// Bounds exhaustive search by the number of messages in flight, so duplication cannot
/// grow the network without end; the depth bound is the checker's.
fn within_depth<R: Replica>(cfg: &RaftModelCfg, state: &RaftState<R>) -> bool {
    state.network.len() <= cfg.network_messages_max
}

/// How likely a random walk takes each kind of step: mostly deliveries, so protocols make
/// progress between the faults (elections, losses, crashes) that make them interesting.
pub fn action_weight(action: &ActorModelAction<CellMsg, RaftTimer, ()>) -> u32 {
    match action {
        ActorModelAction::Deliver { .. } => 100,
        ActorModelAction::Drop(_) => 8,
        ActorModelAction::Timeout(_, RaftTimer::Heartbeat) => 20,
        ActorModelAction::Timeout(_, RaftTimer::Election) => 6,
        ActorModelAction::Crash(_) => 2,
        _ => 20,
    }
}

/// Checks the Raft model built around replica `R`.
pub fn check<R: Replica>(
    cfg: RaftModelCfg,
    options: &crate::check::CheckOptions,
) -> crate::check::CheckReport {
    let model = cfg.into_model::<R>();
    crate::check::run_weighted("raft", model, options, action_weight)
}
