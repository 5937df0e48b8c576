//! Raft: the replication layer of the `store` actor.
//!
//! Randomized election timeouts (the host draws them from [`RaftConfig::election_span`]),
//! PreVote, CheckQuorum with leader stickiness, replication with fast conflict back-off, a
//! commit rule that counts only entries of the leader's own term, snapshots with
//! InstallSnapshot, single-voter membership changes, leader transfer, ReadIndex reads and
//! exactly-once client commands through sessions.

mod log;
mod node;
mod retry;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::hash::Hash;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub use self::log::{LogPosition, RaftLog};
pub use self::node::{Progress, Raft, Role};
pub use self::retry::{NextAttempt, RaftRetry};
use crate::kernel::{NodeId, TimerSpan};

pub type Term = u64;
pub type Index = u64;
pub type ClientId = NodeId;
pub type RequestId = u64;

/// What every replicated value must be: comparable and hashable (the model checker
/// stores and orders states) and serializable (the wire and the WAL).
pub trait Value:
    Clone + Debug + Eq + Hash + Ord + Serialize + DeserializeOwned + Send + Sync + Unpin + 'static
{
}
impl<T> Value for T where
    T: Clone
        + Debug
        + Eq
        + Hash
        + Ord
        + Serialize
        + DeserializeOwned
        + Send
        + Sync
        + Unpin
        + 'static
{
}

/// The application replicated by Raft. `apply` must be deterministic.
pub trait StateMachine: Value + Default {
    type Command: Value;
    type Query: Value;
    type Output: Value;
    fn apply(&mut self, command: &Self::Command) -> Self::Output;
    fn query(&self, query: &Self::Query) -> Self::Output;
}

/// The voters of the cluster and where to reach them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Membership {
    pub voters: BTreeMap<NodeId, String>,
}

impl Membership {
    pub fn quorum(&self) -> usize {
        self.voters.len() / 2 + 1
    }
    pub fn contains(&self, id: NodeId) -> bool {
        self.voters.contains_key(&id)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum MembershipChange {
    AddVoter { id: NodeId, address: String },
    RemoveVoter { id: NodeId },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Payload<C> {
    /// Appended by every new leader, so it can commit an entry of its own term.
    Noop,
    Command {
        client: ClientId,
        request: RequestId,
        command: C,
    },
    Membership(Membership),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry<C> {
    pub term: Term,
    pub payload: Payload<C>,
}

/// Per client, the outputs of its recent requests: a replayed or retried command is
/// answered from here, so it is applied at most once even when a client has many requests
/// in flight and the network reorders them.
pub type Sessions<O> = BTreeMap<ClientId, Session<O>>;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Session<O> {
    /// Requests at or below this were evicted: a replay of one can no longer be answered.
    pub floor: RequestId,
    pub recent: BTreeMap<RequestId, O>,
}

/// What a session knows of one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionLookup<O> {
    Fresh,
    Applied(O),
    /// Evicted from the session window: it may have applied, and we cannot say.
    Forgotten,
}

impl<O> Default for Session<O> {
    fn default() -> Self {
        Session {
            floor: 0,
            recent: BTreeMap::new(),
        }
    }
}

impl<O: Clone> Session<O> {
    pub fn lookup(&self, request: RequestId) -> SessionLookup<O> {
        match self.recent.get(&request) {
            Some(output) => SessionLookup::Applied(output.clone()),
            None if request <= self.floor => SessionLookup::Forgotten,
            None => SessionLookup::Fresh,
        }
    }

    /// Records an output, evicting the oldest past `window_max` requests.
    pub fn record(&mut self, request: RequestId, output: O, window_max: usize) {
        assert!(request > self.floor, "recording a forgotten request");
        self.recent.insert(request, output);
        while self.recent.len() > window_max {
            let (oldest, _) = self.recent.pop_first().expect("non-empty");
            self.floor = self.floor.max(oldest);
        }
    }
}

pub fn session_lookup<O: Clone>(
    sessions: &Sessions<O>,
    client: ClientId,
    request: RequestId,
) -> SessionLookup<O> {
    sessions
        .get(&client)
        .map_or(SessionLookup::Fresh, |s| s.lookup(request))
}

/// The applied state at `position`, as a snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Snapshot<S: StateMachine> {
    pub position: LogPosition,
    pub membership: Membership,
    pub machine: S,
    pub sessions: Sessions<S::Output>,
}

/// Term and vote: must be durable before any message that depends on them is sent.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
pub struct HardState {
    pub term: Term,
    pub voted_for: Option<NodeId>,
}

/// Everything a replica persisted, folded from its WAL records.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct RaftDurable<S: StateMachine> {
    pub hard: HardState,
    pub snapshot: Option<Snapshot<S>>,
    pub entries: Vec<Entry<S::Command>>,
}

impl<S: StateMachine> Default for RaftDurable<S> {
    fn default() -> Self {
        RaftDurable {
            hard: HardState::default(),
            snapshot: None,
            entries: Vec::new(),
        }
    }
}

/// One WAL record of a replica.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum RaftPersist<S: StateMachine> {
    HardState(HardState),
    /// Replace the log from `first` on with `entries`.
    Append {
        first: Index,
        entries: Vec<Entry<S::Command>>,
    },
    /// The whole durable image after a snapshot was taken or installed.
    Checkpoint(Box<RaftDurable<S>>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum RaftTimer {
    /// Followers: start a (pre-)election. Leaders: the CheckQuorum round.
    Election,
    /// Leaders: send heartbeats (and ReadIndex confirmations).
    Heartbeat,
}

/// The outcome of an AppendEntries or InstallSnapshot at a follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AppendOutcome {
    /// The follower's log matches the leader's up to `index`.
    Match { index: Index },
    /// Mismatch: retry from `hint_index`; if `hint_term` is set, the follower holds a run
    /// of that term starting at `hint_index` (fast back-off, Raft thesis §5.3).
    Conflict {
        hint_index: Index,
        hint_term: Option<Term>,
    },
}

/// Why a client request was not carried out.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Refusal {
    /// Ask this node instead (if known).
    NotLeader { leader: Option<NodeId> },
    /// The leader cannot take it now; retry later.
    Busy { reason: String },
    /// The request can never succeed.
    Invalid { reason: String },
    /// This member cannot serve it at all now (it cannot write to its disk): ask another.
    Unavailable { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RaftStatus {
    pub id: NodeId,
    pub role: Role,
    pub term: Term,
    pub leader: Option<NodeId>,
    pub commit: Index,
    pub applied: Index,
    pub last: LogPosition,
    pub snapshot: LogPosition,
    pub membership: Membership,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum ClientRequest<S: StateMachine> {
    Command(S::Command),
    /// A linearizable read, served by ReadIndex.
    Read(S::Query),
    ChangeMembership(MembershipChange),
    TransferLeadership {
        target: NodeId,
    },
    Status,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum ClientReply<S: StateMachine> {
    Output(S::Output),
    /// A membership change or leadership transfer was carried out at this index.
    Done {
        index: Index,
    },
    Status(RaftStatus),
    Refused(Refusal),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(bound = "")]
pub enum RaftMsg<S: StateMachine> {
    RequestVote {
        term: Term,
        last: LogPosition,
        pre_vote: bool,
        /// Sent on a leader's request (TimeoutNow): voters ignore leader stickiness.
        transfer: bool,
    },
    Vote {
        term: Term,
        pre_vote: bool,
        granted: bool,
    },
    AppendEntries {
        term: Term,
        prev: LogPosition,
        entries: Vec<Entry<S::Command>>,
        commit: Index,
        /// The leader's latest ReadIndex round; echoed back in the reply.
        read_round: u64,
    },
    AppendReply {
        term: Term,
        outcome: AppendOutcome,
        read_round: u64,
    },
    InstallSnapshot {
        term: Term,
        snapshot: Snapshot<S>,
        read_round: u64,
    },
    TimeoutNow {
        term: Term,
    },
    Request {
        request: RequestId,
        body: ClientRequest<S>,
    },
    Reply {
        request: RequestId,
        body: ClientReply<S>,
    },
}

impl<S: StateMachine> RaftMsg<S> {
    /// A short name for tracing spans.
    pub fn kind(&self) -> &'static str {
        match self {
            RaftMsg::RequestVote { pre_vote: true, .. } => "pre_vote",
            RaftMsg::RequestVote { .. } => "request_vote",
            RaftMsg::Vote { .. } => "vote",
            RaftMsg::AppendEntries { .. } => "append_entries",
            RaftMsg::AppendReply { .. } => "append_reply",
            RaftMsg::InstallSnapshot { .. } => "install_snapshot",
            RaftMsg::TimeoutNow { .. } => "timeout_now",
            RaftMsg::Request { .. } => "request",
            RaftMsg::Reply { .. } => "reply",
        }
    }
}

/// Static configuration of one replica. Every limit has units last and a reason.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RaftConfig {
    pub id: NodeId,
    /// The voters a brand-new cluster starts with; empty for a node that joins later
    /// and learns the membership from the leader.
    pub initial_membership: Membership,
    /// Followers start an election after a span drawn from here without a leader.
    pub election_span: TimerSpan,
    /// Leaders heartbeat this often; well under the election span so one lost heartbeat
    /// does not trigger an election.
    pub heartbeat_span: TimerSpan,
    /// Entries per AppendEntries: bounds a message well under the transport's frame limit.
    pub append_entries_max: usize,
    /// Unacknowledged AppendEntries per follower: bounds memory and bandwidth spent on a
    /// follower that is slow or gone.
    pub inflight_appends_max: u32,
    /// Snapshot once this many applied entries sit above the last snapshot: bounds the log.
    pub snapshot_entries_threshold: u64,
    /// Heartbeats a leader waits for a follower to answer an InstallSnapshot before it
    /// sends the snapshot again: long enough to ship a large snapshot, so copies do not
    /// pile up behind each other.
    pub snapshot_resend_heartbeats: u32,
    /// Proposals the leader holds uncommitted: past this, proposals are refused as Busy
    /// (etcd's MaxUncommittedEntriesSize), so a partitioned leader cannot grow without bound.
    pub uncommitted_entries_max: u64,
    /// ReadIndex requests waiting for confirmation or apply.
    pub pending_reads_max: usize,
    /// Client sessions kept for exactly-once replies; the lowest client id is evicted
    /// past this, bounding memory against clients that come and go.
    pub sessions_max: usize,
    /// Outputs kept per session: at least the requests one client may have in flight,
    /// so a reordered retry is still recognised.
    pub session_window_max: usize,
}

impl RaftConfig {
    /// Production defaults for a replica `id` of a cluster starting with `initial`.
    pub fn new(id: NodeId, initial_membership: Membership) -> RaftConfig {
        RaftConfig {
            id,
            initial_membership,
            election_span: TimerSpan::new(1000, 2000),
            heartbeat_span: TimerSpan::new(100, 100),
            append_entries_max: 256,
            inflight_appends_max: 64,
            snapshot_entries_threshold: 10_000,
            snapshot_resend_heartbeats: 50,
            uncommitted_entries_max: 8192,
            pending_reads_max: 4096,
            sessions_max: 1024,
            session_window_max: 1024,
        }
    }
}
