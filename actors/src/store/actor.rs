//! The `store` actor: a Raft replica of the MVCC keyspace, plus what etcd serves beside
//! the log: watches fed from the applied state, lease expiry decided by the leader, and
//! serializable reads from any member.
//!
//! Time is a tick timer: the actor counts ticks and never reads a clock. Lease deadlines
//! live only on the leader (as in etcd's lessor); a new leader gives every lease a full
//! TTL rather than expiring it at once, and expiry is a `LeaseRevoke` it proposes, so keys
//! disappear only when the revoke commits.
//!
//! A watcher is a cursor into the keyspace's history, so its memory does not grow with
//! its backlog. Its client acknowledges what it received; a watcher whose client stops
//! acknowledging is cancelled (`Slow`), and one that compaction overtakes is cancelled
//! with the compaction revision.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::api::*;
use super::mvcc::Mvcc;
use crate::kernel::{Actor, Effect, Input, NoOperation, NodeId, Outbox, TimerSpan};
use crate::raft::{
    ClientReply, ClientRequest, Raft, RaftConfig, RaftDurable, RaftMsg, RaftPersist, RaftTimer,
    Refusal, RequestId, Role,
};
use crate::watcher::WatchEnding;

pub type StoreRaft = Raft<Mvcc>;
/// Each revision's events, computed once per handler call for every watcher that needs
/// them (a thousand watchers of one key would otherwise recompute them a thousand times).
type EventCache = BTreeMap<Revision, Vec<Event>>;
/// Chosen by the client; unique per client.
pub type WatchId = u64;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WatchRequest {
    pub watch: WatchId,
    pub span: KeySpan,
    /// The first revision to deliver; 0 means "changes after now".
    pub start_revision: Revision,
    pub prev_kv: bool,
}

/// Why a watch ended. Every end is said to the client: none is silent.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum WatchEnd {
    /// The watch would start (or has fallen) at or below the compaction revision.
    Compacted {
        compact_revision: Revision,
    },
    /// The client stopped acknowledging what it was sent.
    Slow,
    TooManyWatchers,
    /// The client cancelled it.
    Cancelled,
    /// This member cannot serve watches now (it cannot write to its disk).
    Unavailable,
}

impl WatchEnd {
    /// What a watcher does about it: relist after a compaction, stop after a cancel,
    /// and otherwise watch again (elsewhere) from what it has.
    pub fn ending(&self) -> WatchEnding {
        match self {
            WatchEnd::Compacted { .. } => WatchEnding::Expired,
            WatchEnd::Cancelled => WatchEnding::Final,
            WatchEnd::Slow | WatchEnd::TooManyWatchers | WatchEnd::Unavailable => {
                WatchEnding::Resumable
            }
        }
    }
}

/// Requests a member answers from its own state, without a Raft round.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LocalRequest {
    /// A serializable read of this member's applied state (possibly stale).
    Range(RangeRequest),
    /// Leader only: restart the lease's TTL.
    LeaseKeepAlive { id: LeaseId },
    /// Leader only: the lease's granted and remaining TTL.
    LeaseTimeToLive { id: LeaseId },
    /// This member's applied keyspace, whole (`kactor store snapshot save`).
    Snapshot,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LocalReply {
    Range(RangeResponse),
    Lease {
        id: LeaseId,
        granted_ttl_s: u64,
        remaining_ttl_s: u64,
        keys: u64,
    },
    Error(StoreError),
    /// Leases are kept by the leader: ask it.
    NotLeader {
        leader: Option<NodeId>,
    },
    /// The keyspace as applied at Raft index `applied`.
    Snapshot {
        applied: u64,
        keyspace: Box<Mvcc>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StoreMsg {
    /// Between replicas, and clients' commands and linearizable reads.
    Raft(RaftMsg<Mvcc>),
    Watch(WatchRequest),
    /// The client has everything up to `revision` of this watch.
    WatchAck {
        watch: WatchId,
        revision: Revision,
    },
    WatchCancel {
        watch: WatchId,
    },
    /// Asks for a bookmark now (etcd's RequestProgress): the member answers with a
    /// `WatchProgress` up to what it has scanned, when nothing sent is unacknowledged.
    /// A cache that must prove it has caught up with a revision asks this.
    WatchProgressRequest {
        watch: WatchId,
    },
    /// The watch exists; events follow from `start_revision`.
    WatchCreated {
        watch: WatchId,
        start_revision: Revision,
    },
    /// Every matching event of revisions `from_revision..=revision`, whole revisions only.
    /// Consecutive messages of a watch cover consecutive revisions, so a client sees a
    /// lost or reordered message as a gap and resumes from the last revision it has.
    WatchEvents {
        watch: WatchId,
        from_revision: Revision,
        revision: Revision,
        events: Vec<Event>,
    },
    /// A bookmark: nothing matched in `from_revision..=revision` (an empty span when
    /// nothing changed since the last message). Also the watch's liveness probe.
    WatchProgress {
        watch: WatchId,
        from_revision: Revision,
        revision: Revision,
    },
    WatchEnded {
        watch: WatchId,
        end: WatchEnd,
    },
    Local {
        request: RequestId,
        body: LocalRequest,
    },
    LocalReply {
        request: RequestId,
        body: LocalReply,
    },
}

impl StoreMsg {
    pub fn kind(&self) -> &'static str {
        match self {
            StoreMsg::Raft(msg) => msg.kind(),
            StoreMsg::Watch(_) => "watch",
            StoreMsg::WatchAck { .. } => "watch_ack",
            StoreMsg::WatchCancel { .. } => "watch_cancel",
            StoreMsg::WatchProgressRequest { .. } => "watch_progress_request",
            StoreMsg::WatchCreated { .. } => "watch_created",
            StoreMsg::WatchEvents { .. } => "watch_events",
            StoreMsg::WatchProgress { .. } => "watch_progress",
            StoreMsg::WatchEnded { .. } => "watch_ended",
            StoreMsg::Local { .. } => "local",
            StoreMsg::LocalReply { .. } => "local_reply",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum StoreTimer {
    Raft(RaftTimer),
    /// The store's clock: lease deadlines, bookmarks and watcher liveness count these.
    Tick,
}

/// Static configuration. Every limit has units last and a reason.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StoreConfig {
    pub raft: RaftConfig,
    /// How often the store ticks; lease TTLs are rounded up to whole ticks.
    pub tick_ms: u32,
    /// Watchers per member: each costs a little memory and a scan per revision.
    pub watchers_max: usize,
    /// Revisions sent to a watcher and not yet acknowledged: bounds what one slow
    /// client can have in flight.
    pub watch_unacked_revisions_max: u64,
    /// Ticks a watcher may leave what it was sent unacknowledged before it is cancelled.
    pub watch_ack_ticks_max: u64,
    /// Ticks between bookmarks to a watcher with nothing to deliver.
    pub watch_progress_ticks: u64,
    /// Events per `WatchEvents` before a new message starts (a revision is never split).
    pub watch_batch_events_max: usize,
    /// Revisions one watcher scans per handler call: bounds a handler's work.
    pub watch_scan_revisions_max: u64,
    /// Expired leases revoked per tick (etcd's leaseRevokeRate is 1000/s).
    pub lease_revokes_per_tick_max: usize,
    /// Ticks before an expired lease's revoke is proposed again (lost with a leader change).
    pub lease_revoke_retry_ticks: u64,
}

impl StoreConfig {
    pub fn new(raft: RaftConfig) -> StoreConfig {
        StoreConfig {
            raft,
            tick_ms: 500,
            watchers_max: 16_384,
            watch_unacked_revisions_max: 1024,
            watch_ack_ticks_max: 60,
            watch_progress_ticks: 10,
            watch_batch_events_max: 1000,
            watch_scan_revisions_max: 4096,
            lease_revokes_per_tick_max: 500,
            lease_revoke_retry_ticks: 10,
        }
    }

    fn ttl_ticks(&self, ttl_s: u64) -> u64 {
        (ttl_s.saturating_mul(1000)).div_ceil(u64::from(self.tick_ms))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Watcher {
    pub span: KeySpan,
    pub prev_kv: bool,
    /// The next revision to scan.
    pub next_revision: Revision,
    /// The last revision a message to the client covered.
    pub sent_revision: Revision,
    pub acked_revision: Revision,
    /// The tick since which something sent is unacknowledged.
    pub waiting_since: Option<u64>,
}

/// One member of the store.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Store {
    pub raft: StoreRaft,
    pub config: StoreConfig,
    pub ticks: u64,
    pub watchers: BTreeMap<(NodeId, WatchId), Watcher>,
    /// Leader only: the tick at which each lease expires.
    pub lease_deadlines: BTreeMap<LeaseId, u64>,
    /// Leader only: expired leases whose revoke was proposed, and when.
    pub lease_revoking: BTreeMap<LeaseId, u64>,
    /// The revision watchers were last pumped at.
    pub pumped_revision: Revision,
    pub was_leader: bool,
    /// Counts this member's own proposals (lease revokes).
    pub own_requests: u64,
}

impl Actor for Store {
    type Config = StoreConfig;
    type Msg = StoreMsg;
    type Timer = StoreTimer;
    type Persist = RaftPersist<Mvcc>;
    type Durable = RaftDurable<Mvcc>;
    type Operation = NoOperation;
    type Completion = NoOperation;

    fn start(config: StoreConfig, durable: RaftDurable<Mvcc>, out: &mut Outbox<Self>) -> Self {
        let mut inner = Outbox::new();
        let raft = StoreRaft::start(config.raft.clone(), durable, &mut inner);
        let tick = TimerSpan::new(config.tick_ms, config.tick_ms);
        let mut store = Store {
            pumped_revision: raft.machine.revision,
            raft,
            config,
            ticks: 0,
            watchers: BTreeMap::new(),
            lease_deadlines: BTreeMap::new(),
            lease_revoking: BTreeMap::new(),
            was_leader: false,
            own_requests: 0,
        };
        store.lift(inner, out);
        out.set_timer(StoreTimer::Tick, tick);
        store
    }

    fn handle(&mut self, input: Input<Self>, out: &mut Outbox<Self>) {
        match input {
            Input::Message { from, msg } => self.on_message(from, msg, out),
            Input::Timer(StoreTimer::Raft(timer)) => self.step_raft(Input::Timer(timer), out),
            Input::Timer(StoreTimer::Tick) => self.on_tick(out),
            Input::Completion(never) => match never {},
        }
        self.after_step(out);
    }

    fn apply_persist(durable: &mut RaftDurable<Mvcc>, record: &RaftPersist<Mvcc>) {
        StoreRaft::apply_persist(durable, record)
    }

    fn is_checkpoint(record: &RaftPersist<Mvcc>) -> bool {
        StoreRaft::is_checkpoint(record)
    }

    fn message_kind(msg: &StoreMsg) -> &'static str {
        msg.kind()
    }

    /// With no disk to write to, a member still serves serializable reads and status
    /// from what it has applied; everything else is refused so clients go elsewhere.
    fn handle_read_only(&self, from: NodeId, msg: &StoreMsg, reason: &str, out: &mut Outbox<Self>) {
        let unavailable = || Refusal::Unavailable {
            reason: reason.to_string(),
        };
        let reply = match msg {
            StoreMsg::Local { request, body } => StoreMsg::LocalReply {
                request: *request,
                body: self
                    .read_local(body)
                    .unwrap_or(LocalReply::NotLeader { leader: None }),
            },
            StoreMsg::Raft(RaftMsg::Request { request, body }) => StoreMsg::Raft(RaftMsg::Reply {
                request: *request,
                body: match body {
                    ClientRequest::Status => ClientReply::Status(self.raft.status()),
                    _ => ClientReply::Refused(unavailable()),
                },
            }),
            StoreMsg::Watch(request) => StoreMsg::WatchEnded {
                watch: request.watch,
                end: WatchEnd::Unavailable,
            },
            // Replication and elections need writes: stay silent, as a crashed member would.
            _ => return,
        };
        out.send(from, reply);
    }
}

impl Store {
    pub fn id(&self) -> NodeId {
        self.raft.id()
    }

    fn on_message(&mut self, from: NodeId, msg: StoreMsg, out: &mut Outbox<Self>) {
        match msg {
            StoreMsg::Raft(RaftMsg::Request {
                request,
                body: ClientRequest::Command(command),
            }) => match validate(&command) {
                // Refused before it costs a log entry; `apply` would refuse it the same way.
                Err(error) => {
                    let body = ClientReply::Output(StoreOutput::Error(error));
                    out.send(from, StoreMsg::Raft(RaftMsg::Reply { request, body }));
                }
                Ok(()) => {
                    let body = ClientRequest::Command(command);
                    let msg = RaftMsg::Request { request, body };
                    self.step_raft(Input::Message { from, msg }, out)
                }
            },
            StoreMsg::Raft(msg) => self.step_raft(Input::Message { from, msg }, out),
            StoreMsg::Watch(request) => self.on_watch(from, request, out),
            StoreMsg::WatchAck { watch, revision } => self.on_watch_ack(from, watch, revision, out),
            StoreMsg::WatchCancel { watch } => {
                if self.watchers.remove(&(from, watch)).is_some() {
                    self.end_watch(from, watch, WatchEnd::Cancelled, out);
                }
            }
            StoreMsg::WatchProgressRequest { watch } => self.on_progress_request(from, watch, out),
            StoreMsg::Local { request, body } => {
                let body = self.on_local(body);
                out.send(from, StoreMsg::LocalReply { request, body });
            }
            // Client-bound messages: a member never needs one.
            StoreMsg::WatchCreated { .. }
            | StoreMsg::WatchEvents { .. }
            | StoreMsg::WatchProgress { .. }
            | StoreMsg::WatchEnded { .. }
            | StoreMsg::LocalReply { .. } => {}
        }
    }

    /// Runs the replica on one input and carries its effects over into the store's.
    fn step_raft(&mut self, input: Input<StoreRaft>, out: &mut Outbox<Self>) {
        let mut inner = Outbox::new();
        self.raft.handle(input, &mut inner);
        self.lift(inner, out);
    }

    fn lift(&mut self, inner: Outbox<StoreRaft>, out: &mut Outbox<Self>) {
        let me = self.id();
        for effect in inner.into_effects() {
            // Replies to our own proposals (lease revokes): whatever the outcome, the tick
            // retries an expired lease that still exists.
            if matches!(&effect, Effect::Send { to, .. } if *to == me) {
                continue;
            }
            out.push(effect.wrap(StoreMsg::Raft, StoreTimer::Raft));
        }
    }

    /// What follows any input: lease bookkeeping on a change of leader, and watchers fed
    /// with whatever was applied.
    fn after_step(&mut self, out: &mut Outbox<Self>) {
        let leader = self.raft.role == Role::Leader;
        if leader && !self.was_leader {
            self.extend_leases();
        }
        if !leader && self.was_leader {
            self.lease_deadlines.clear();
            self.lease_revoking.clear();
        }
        self.was_leader = leader;
        let revision = self.raft.machine.revision;
        if revision != self.pumped_revision {
            self.pumped_revision = revision;
            self.pump_all(out);
        }
        assert!(leader || self.lease_deadlines.is_empty());
        assert!(self.watchers.len() <= self.config.watchers_max);
    }

    /// A new leader gives every lease a full TTL from now: the old leader's deadlines
    /// died with it, and expiring at once would cut leases their holders kept alive.
    fn extend_leases(&mut self) {
        let ticks = self.ticks;
        let config = &self.config;
        self.lease_deadlines = self
            .raft
            .machine
            .leases
            .iter()
            .map(|(id, lease)| (*id, ticks + config.ttl_ticks(lease.ttl_s)))
            .collect();
        self.lease_revoking.clear();
    }

    fn on_tick(&mut self, out: &mut Outbox<Self>) {
        self.ticks += 1;
        let tick = TimerSpan::new(self.config.tick_ms, self.config.tick_ms);
        out.set_timer(StoreTimer::Tick, tick);
        if self.raft.role == Role::Leader {
            self.expire_leases(out);
        }
        self.tick_watchers(out);
    }

    /// Leader: picks up leases granted since the last tick, drops revoked ones, and
    /// proposes a revoke for each expired lease (a bounded number per tick).
    fn expire_leases(&mut self, out: &mut Outbox<Self>) {
        let ticks = self.ticks;
        let leases = &self.raft.machine.leases;
        self.lease_deadlines.retain(|id, _| leases.contains_key(id));
        self.lease_revoking.retain(|id, _| leases.contains_key(id));
        for (id, lease) in leases {
            let ttl_ticks = self.config.ttl_ticks(lease.ttl_s);
            self.lease_deadlines.entry(*id).or_insert(ticks + ttl_ticks);
        }
        let retry = self.config.lease_revoke_retry_ticks;
        let expired: Vec<LeaseId> = self
            .lease_deadlines
            .iter()
            .filter(|(_, deadline)| **deadline <= ticks)
            .map(|(id, _)| *id)
            .filter(|id| {
                self.lease_revoking
                    .get(id)
                    .is_none_or(|at| at + retry <= ticks)
            })
            .take(self.config.lease_revokes_per_tick_max)
            .collect();
        for id in expired {
            tracing::info!(lease = id, "lease expired: proposing its revoke");
            self.lease_revoking.insert(id, ticks);
            self.propose_own(StoreCommand::LeaseRevoke { id }, out);
        }
    }

    fn propose_own(&mut self, command: StoreCommand, out: &mut Outbox<Self>) {
        assert_eq!(self.raft.role, Role::Leader);
        self.own_requests += 1;
        // A leader's term is its own, and it never leads that term again after a
        // restart, so these ids only grow, as sessions require.
        let request = (self.raft.hard.term << 32) | (self.own_requests & 0xffff_ffff);
        let msg = RaftMsg::Request {
            request,
            body: ClientRequest::Command(command),
        };
        let from = self.id();
        self.step_raft(Input::Message { from, msg }, out);
    }

    /// Requests any member answers from its applied state, even one that cannot write.
    fn read_local(&self, body: &LocalRequest) -> Option<LocalReply> {
        match body {
            LocalRequest::Range(range) => Some(match self.raft.machine.range(range) {
                Ok(response) => LocalReply::Range(response),
                Err(error) => LocalReply::Error(error),
            }),
            LocalRequest::Snapshot => Some(LocalReply::Snapshot {
                applied: self.raft.applied,
                keyspace: Box::new(self.raft.machine.clone()),
            }),
            LocalRequest::LeaseKeepAlive { .. } | LocalRequest::LeaseTimeToLive { .. } => None,
        }
    }

    fn on_local(&mut self, body: LocalRequest) -> LocalReply {
        if let Some(reply) = self.read_local(&body) {
            return reply;
        }
        let leases = &self.raft.machine.leases;
        match body {
            LocalRequest::Range(_) | LocalRequest::Snapshot => unreachable!("answered above"),
            _ if self.raft.role != Role::Leader => LocalReply::NotLeader {
                leader: self.raft.leader,
            },
            LocalRequest::LeaseKeepAlive { id } | LocalRequest::LeaseTimeToLive { id }
                if !leases.contains_key(&id) || self.lease_revoking.contains_key(&id) =>
            {
                LocalReply::Error(StoreError::LeaseNotFound { id })
            }
            LocalRequest::LeaseKeepAlive { id } => {
                let lease = &leases[&id];
                let deadline = self.ticks + self.config.ttl_ticks(lease.ttl_s);
                self.lease_deadlines.insert(id, deadline);
                self.lease_reply(id)
            }
            LocalRequest::LeaseTimeToLive { id } => self.lease_reply(id),
        }
    }

    fn lease_reply(&self, id: LeaseId) -> LocalReply {
        let lease = &self.raft.machine.leases[&id];
        let granted = self.config.ttl_ticks(lease.ttl_s);
        let deadline = self
            .lease_deadlines
            .get(&id)
            .copied()
            .unwrap_or(self.ticks + granted);
        let remaining_ms = deadline.saturating_sub(self.ticks) * u64::from(self.config.tick_ms);
        LocalReply::Lease {
            id,
            granted_ttl_s: lease.ttl_s,
            remaining_ttl_s: remaining_ms.div_ceil(1000),
            keys: lease.keys.len() as u64,
        }
    }

    fn on_watch(&mut self, from: NodeId, request: WatchRequest, out: &mut Outbox<Self>) {
        let key = (from, request.watch);
        // A client that reuses a watch id replaces that watch.
        self.watchers.remove(&key);
        let machine = &self.raft.machine;
        let start = match request.start_revision {
            0 => machine.revision + 1,
            revision => revision,
        };
        if start <= machine.compact_revision {
            let compact_revision = machine.compact_revision;
            return self.end_watch(
                from,
                request.watch,
                WatchEnd::Compacted { compact_revision },
                out,
            );
        }
        if self.watchers.len() >= self.config.watchers_max {
            return self.end_watch(from, request.watch, WatchEnd::TooManyWatchers, out);
        }
        let watcher = Watcher {
            span: request.span,
            prev_kv: request.prev_kv,
            next_revision: start,
            sent_revision: start - 1,
            acked_revision: start - 1,
            waiting_since: None,
        };
        self.watchers.insert(key, watcher);
        out.send(
            from,
            StoreMsg::WatchCreated {
                watch: request.watch,
                start_revision: start,
            },
        );
        self.pump(key, &mut EventCache::new(), out);
    }

    fn on_watch_ack(
        &mut self,
        from: NodeId,
        watch: WatchId,
        revision: Revision,
        out: &mut Outbox<Self>,
    ) {
        let ticks = self.ticks;
        let Some(watcher) = self.watchers.get_mut(&(from, watch)) else {
            return;
        };
        let acked = revision.min(watcher.sent_revision);
        if acked > watcher.acked_revision || watcher.waiting_since.is_some() {
            watcher.acked_revision = watcher.acked_revision.max(acked);
            let caught_up = watcher.acked_revision >= watcher.sent_revision;
            watcher.waiting_since = (!caught_up).then_some(ticks);
        }
        self.pump((from, watch), &mut EventCache::new(), out);
    }

    /// A bookmark on request, once everything sent is acknowledged (a bookmark inside an
    /// unacknowledged span would break the messages' consecutive revisions).
    fn on_progress_request(&mut self, from: NodeId, watch: WatchId, out: &mut Outbox<Self>) {
        let ticks = self.ticks;
        let Some(watcher) = self.watchers.get_mut(&(from, watch)) else {
            return;
        };
        let scanned = watcher.next_revision - 1;
        if watcher.waiting_since.is_some() || scanned <= watcher.sent_revision {
            return;
        }
        let from_revision = watcher.sent_revision + 1;
        watcher.sent_revision = scanned;
        watcher.waiting_since = Some(ticks);
        let progress = StoreMsg::WatchProgress {
            watch,
            from_revision,
            revision: scanned,
        };
        out.send(from, progress);
        assert!(watcher.sent_revision < watcher.next_revision);
    }

    fn end_watch(&mut self, client: NodeId, watch: WatchId, end: WatchEnd, out: &mut Outbox<Self>) {
        tracing::debug!(client, watch, ?end, "watch ended");
        assert!(!self.watchers.contains_key(&(client, watch)));
        out.send(client, StoreMsg::WatchEnded { watch, end });
    }

    /// Sends a watcher the matching events of the revisions it has not scanned, whole
    /// revisions per message, as far as its window and the scan bound allow.
    fn pump(&mut self, key: (NodeId, WatchId), cache: &mut EventCache, out: &mut Outbox<Self>) {
        let machine = &self.raft.machine;
        let Some(watcher) = self.watchers.get_mut(&key) else {
            return;
        };
        if watcher.next_revision <= machine.compact_revision
            && watcher.next_revision <= machine.revision
        {
            self.watchers.remove(&key);
            let compact_revision = machine.compact_revision;
            return self.end_watch(key.0, key.1, WatchEnd::Compacted { compact_revision }, out);
        }
        let window = self.config.watch_unacked_revisions_max;
        let scan_end = watcher
            .next_revision
            .saturating_add(self.config.watch_scan_revisions_max);
        let mut events = Vec::new();
        while watcher.next_revision <= machine.revision
            && watcher.next_revision < scan_end
            && watcher.sent_revision - watcher.acked_revision < window
        {
            let revision = watcher.next_revision;
            let at = cache
                .entry(revision)
                .or_insert_with(|| machine.events_at(revision));
            for event in at.iter().filter(|e| watcher.span.contains(&e.kv.key)) {
                let mut event = event.clone();
                if !watcher.prev_kv {
                    event.prev_kv = None;
                }
                events.push(event);
            }
            watcher.next_revision += 1;
            if events.len() >= self.config.watch_batch_events_max {
                send_events(watcher, key, std::mem::take(&mut events), self.ticks, out);
            }
        }
        if !events.is_empty() {
            send_events(watcher, key, events, self.ticks, out);
        }
        assert!(watcher.acked_revision <= watcher.sent_revision);
        assert!(watcher.sent_revision < watcher.next_revision);
    }

    /// Bookmarks for idle watchers, and the end of watchers whose clients went silent.
    fn tick_watchers(&mut self, out: &mut Outbox<Self>) {
        let ticks = self.ticks;
        let revision = self.raft.machine.revision;
        let bookmark = ticks.is_multiple_of(self.config.watch_progress_ticks);
        let ack_ticks_max = self.config.watch_ack_ticks_max;
        let mut slow = Vec::new();
        for (key, watcher) in self.watchers.iter_mut() {
            match watcher.waiting_since {
                Some(since) if since + ack_ticks_max <= ticks => slow.push(*key),
                // Only a watcher at this member's head: one that starts ahead of a
                // lagging member has nothing to confirm yet (a notice would move its
                // sent revision back, below what its client acknowledged).
                None if bookmark && watcher.next_revision == revision + 1 => {
                    let from_revision = watcher.sent_revision + 1;
                    watcher.sent_revision = revision;
                    watcher.waiting_since = Some(ticks);
                    let watch = key.1;
                    let progress = StoreMsg::WatchProgress {
                        watch,
                        from_revision,
                        revision,
                    };
                    out.send(key.0, progress);
                }
                _ => {}
            }
        }
        for (client, watch) in slow {
            self.watchers.remove(&(client, watch));
            self.end_watch(client, watch, WatchEnd::Slow, out);
        }
        // Watchers held back by the scan bound continue here.
        self.pump_all(out);
    }

    /// Pumps every watcher, computing each revision's events once for all of them.
    fn pump_all(&mut self, out: &mut Outbox<Self>) {
        let mut cache = EventCache::new();
        let keys: Vec<(NodeId, WatchId)> = self.watchers.keys().copied().collect();
        for key in keys {
            self.pump(key, &mut cache, out);
        }
    }
}

fn send_events(
    watcher: &mut Watcher,
    (client, watch): (NodeId, WatchId),
    events: Vec<Event>,
    ticks: u64,
    out: &mut Outbox<Store>,
) {
    assert!(!events.is_empty());
    let from_revision = watcher.sent_revision + 1;
    let revision = watcher.next_revision - 1;
    assert!(events
        .iter()
        .all(|e| (from_revision..=revision).contains(&e.kv.mod_revision)));
    watcher.sent_revision = revision;
    watcher.waiting_since.get_or_insert(ticks);
    out.send(
        client,
        StoreMsg::WatchEvents {
            watch,
            from_revision,
            revision,
            events,
        },
    );
}
