//! The actix host: runs one sans-IO actor for real.
//!
//! It turns mesh frames into `Input::Message`, tokio timers into `Input::Timer`, and carries
//! out effects in etcd's `Ready` order: records go to the WAL (one append per handler call,
//! group-committed with other calls by the WAL's writer thread), and every `Send` that
//! follows a record is held until that record is durable. The host decides nothing about
//! the protocol.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix::prelude::*;
use kactor_actors::kernel::{Actor as Kernel, Effect, Input, NodeId, Outbox};
use kactor_actors::raft::{Raft, Role, StateMachine};
use kactor_actors::store::Store;
use kactor_actors::timers::TimerWheel;
use rand::Rng;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::mpsc;
use tracing::{debug, error, warn};

use crate::codec;
use crate::mesh::{Inbound, Mesh};
use crate::metrics::{metrics, DropReason};
use crate::wal::{Wal, WalError};

/// Messages waiting in the host's mailbox; past this, inbound frames are dropped (the
/// protocols above tolerate loss) instead of growing memory.
pub const MAILBOX_MESSAGES_MAX: usize = 8192;
/// Sends held for durability; past this the host stops taking inputs until the WAL
/// catches up (it is a bug for it to be reached: the WAL queue blocks first).
pub const HELD_SENDS_MAX: usize = 65_536;

/// What crosses the wire or lands in the WAL.
pub trait Wire: Serialize + DeserializeOwned + Send + Unpin + 'static {}
impl<T: Serialize + DeserializeOwned + Send + Unpin + 'static> Wire for T {}

/// What the host needs beyond the kernel contract: wire-encodable messages and records,
/// and where the actor's peers live.
pub trait Hostable:
    Kernel<Msg: Wire, Persist: Wire, Timer: Unpin + 'static> + Unpin + 'static
{
    /// Peers this actor talks to, with addresses (`host:port`).
    fn peer_addresses(&self) -> BTreeMap<NodeId, String>;

    /// The figures of its state the host exports as metrics, if it has any.
    fn vitals(&self) -> Option<Vitals> {
        None
    }
}

/// A replica's figures, read after each input and copied into the process's metrics
/// under etcd's names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Vitals {
    pub leader: Option<NodeId>,
    pub is_leader: bool,
    pub committed: u64,
    pub applied: u64,
    pub keyspace_bytes: u64,
}

fn raft_vitals<S: StateMachine>(raft: &Raft<S>) -> Vitals {
    Vitals {
        leader: raft.leader,
        is_leader: raft.role == Role::Leader,
        committed: raft.commit,
        applied: raft.applied,
        keyspace_bytes: 0,
    }
}

impl<S: StateMachine> Hostable for Raft<S> {
    fn peer_addresses(&self) -> BTreeMap<NodeId, String> {
        let mut voters = self.membership.voters.clone();
        voters.remove(&self.id());
        voters
    }

    fn vitals(&self) -> Option<Vitals> {
        Some(raft_vitals(self))
    }
}

impl Hostable for Store {
    fn peer_addresses(&self) -> BTreeMap<NodeId, String> {
        self.raft.peer_addresses()
    }

    fn vitals(&self) -> Option<Vitals> {
        Some(Vitals {
            keyspace_bytes: self.raft.machine.bytes,
            ..raft_vitals(&self.raft)
        })
    }
}

/// Copies what changed between two readings into the metrics: a leader seen that differs
/// from the last one is a change (etcd counts the first one too), commits and applies
/// count up by what advanced.
fn export_vitals(before: Option<Vitals>, now: Vitals) {
    let m = metrics();
    let before_leader = before.and_then(|v| v.leader);
    if now.leader.is_some() && now.leader != before_leader {
        m.etcd_server_leader_changes_seen_total.inc();
    }
    m.etcd_server_has_leader
        .set(i64::from(now.leader.is_some()));
    m.etcd_server_is_leader.set(i64::from(now.is_leader));
    let (committed, applied) =
        before.map_or((now.committed, now.applied), |v| (v.committed, v.applied));
    m.etcd_server_proposals_committed_total
        .inc_by(now.committed.saturating_sub(committed));
    m.etcd_server_proposals_applied_total
        .inc_by(now.applied.saturating_sub(applied));
    m.etcd_mvcc_db_total_size_in_bytes
        .set(i64::try_from(now.keyspace_bytes).unwrap_or(i64::MAX));
}

/// Folds a WAL's records into the durable image an actor restarts from.
pub fn recover<A>(records: &[Vec<u8>]) -> Result<A::Durable, codec::CodecError>
where
    A: Kernel,
    A::Persist: DeserializeOwned,
{
    let mut durable = A::Durable::default();
    for bytes in records {
        let record: A::Persist = codec::decode(bytes)?;
        A::apply_persist(&mut durable, &record);
    }
    Ok(durable)
}

/// A message that arrived for the hosted actor.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Deliver<M: Send + 'static> {
    pub from: NodeId,
    pub msg: M,
}

/// Host statistics, for status and benchmarks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HostStats {
    pub inputs: u64,
    pub wal_appends: u64,
    pub sends: u64,
    pub sends_failed: u64,
    pub inbound_dropped: u64,
}

pub struct Host<A: Hostable> {
    actor: A,
    name: &'static str,
    mesh: Mesh,
    wal: Arc<Wal>,
    /// The actor's armed timers, in milliseconds since `started`.
    timers: TimerWheel<A::Timer>,
    started: Instant,
    /// The one wake-up scheduled for the earliest deadline, and that deadline.
    wakeup: Option<(u64, SpawnHandle)>,
    /// WAL appends issued and made durable, counted; a held send waits for its number.
    appends_issued: u64,
    appends_durable: u64,
    held_sends: VecDeque<(u64, NodeId, A::Msg)>,
    peers: BTreeMap<NodeId, String>,
    /// Set when the WAL failed: nothing more can be made durable, so the actor stops.
    failed: Option<WalError>,
    /// The last figures exported to the metrics.
    vitals: Option<Vitals>,
    pub stats: HostStats,
}

impl<A> Host<A>
where
    A: Hostable,
{
    /// Starts `A` from the WAL's recovered image and hosts it on the current actix system.
    pub fn launch(
        name: &'static str,
        config: A::Config,
        durable: A::Durable,
        mesh: Mesh,
        wal: Arc<Wal>,
        inbound: mpsc::Receiver<Inbound>,
    ) -> Addr<Host<A>> {
        let mut outbox = Outbox::new();
        let actor = A::start(config, durable, &mut outbox);
        let host = Host {
            actor,
            name,
            mesh: mesh.clone(),
            wal,
            timers: TimerWheel::new(),
            started: Instant::now(),
            wakeup: None,
            appends_issued: 0,
            appends_durable: 0,
            held_sends: VecDeque::new(),
            peers: BTreeMap::new(),
            failed: None,
            vitals: None,
            stats: HostStats::default(),
        };
        let addr = Host::create(move |ctx| {
            ctx.set_mailbox_capacity(MAILBOX_MESSAGES_MAX);
            let mut host = host;
            host.carry_out(outbox, ctx);
            host.sync_peers();
            host.export_metrics();
            host
        });
        tokio::spawn(pump_inbound::<A>(inbound, mesh, addr.clone()));
        addr
    }

    fn handle_input(&mut self, input: Input<A>, ctx: &mut Context<Self>) {
        if let Some(failure) = &self.failed {
            if let Input::Message { from, msg } = &input {
                let mut outbox = Outbox::new();
                let reason = format!("this member cannot write to its disk: {failure}");
                self.actor
                    .handle_read_only(*from, msg, &reason, &mut outbox);
                for effect in outbox.into_effects() {
                    let Effect::Send { to, msg } = effect else {
                        panic!("a read-only answer may only send");
                    };
                    self.transmit(to, msg);
                }
            }
            return;
        }
        assert!(
            self.held_sends.len() <= HELD_SENDS_MAX,
            "held sends unbounded"
        );
        self.stats.inputs += 1;
        let mut outbox = Outbox::new();
        self.actor.handle(input, &mut outbox);
        self.carry_out(outbox, ctx);
        self.sync_peers();
        self.export_metrics();
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Keeps one wake-up scheduled, at the earliest armed deadline.
    fn schedule_wakeup(&mut self, ctx: &mut Context<Self>) {
        let next = self.timers.next_deadline();
        if next == self.wakeup.as_ref().map(|(deadline, _)| *deadline) {
            return;
        }
        if let Some((_, handle)) = self.wakeup.take() {
            ctx.cancel_future(handle);
        }
        let Some(deadline) = next else { return };
        let delay = Duration::from_millis(deadline.saturating_sub(self.elapsed_ms()));
        let handle = ctx.run_later(delay, |host, ctx| {
            host.wakeup = None;
            host.fire_due_timers(ctx);
        });
        self.wakeup = Some((deadline, handle));
    }

    fn fire_due_timers(&mut self, ctx: &mut Context<Self>) {
        let now = self.elapsed_ms();
        while let Some(timer) = self.timers.expire(now) {
            let _span = tracing::debug_span!("timer", actor = self.name, ?timer).entered();
            self.handle_input(Input::Timer(timer), ctx);
        }
        self.schedule_wakeup(ctx);
    }

    fn export_metrics(&mut self) {
        let held = i64::try_from(self.held_sends.len()).unwrap_or(i64::MAX);
        metrics().kactor_host_held_sends.set(held);
        let Some(now) = self.actor.vitals() else {
            return;
        };
        if self.vitals != Some(now) {
            export_vitals(self.vitals, now);
            self.vitals = Some(now);
        }
    }

    /// Carries out effects in order: records are batched into WAL appends, and each send
    /// waits for every append issued before it.
    fn carry_out(&mut self, outbox: Outbox<A>, ctx: &mut Context<Self>) {
        let mut batch: Vec<Vec<u8>> = Vec::new();
        let mut batch_rebase = false;
        for effect in outbox.into_effects() {
            match effect {
                Effect::Persist(record) => {
                    // A checkpoint must open its WAL append: the WAL rebases on it.
                    if A::is_checkpoint(&record) {
                        if !batch.is_empty() {
                            self.append(std::mem::take(&mut batch), batch_rebase, ctx);
                        }
                        batch_rebase = true;
                    }
                    match codec::encode(&record) {
                        Ok(bytes) => batch.push(bytes),
                        Err(e) => panic!("a record of our own must encode: {e}"),
                    }
                }
                Effect::Send { to, msg } => {
                    if !batch.is_empty() {
                        self.append(std::mem::take(&mut batch), batch_rebase, ctx);
                        batch_rebase = false;
                    }
                    if self.appends_issued == self.appends_durable {
                        self.transmit(to, msg);
                    } else {
                        self.held_sends.push_back((self.appends_issued, to, msg));
                    }
                }
                Effect::SetTimer { timer, span } => {
                    let ms = rand::thread_rng().gen_range(span.ms_min..=span.ms_max);
                    self.timers.set(timer, self.elapsed_ms() + u64::from(ms));
                }
                Effect::CancelTimer { timer } => self.timers.cancel(&timer),
                Effect::Run(operation) => warn!(?operation, "no executor for this operation"),
            }
        }
        if !batch.is_empty() {
            self.append(batch, batch_rebase, ctx);
        }
        self.schedule_wakeup(ctx);
    }

    fn append(&mut self, records: Vec<Vec<u8>>, rebase: bool, ctx: &mut Context<Self>) {
        self.appends_issued += 1;
        self.stats.wal_appends += 1;
        let sequence = self.appends_issued;
        let ticket = self.wal.append(records, rebase);
        let wait = async move { ticket.durable().await };
        ctx.spawn(wait.into_actor(self).map(move |result, host, _| {
            host.on_durable(sequence, result);
        }));
    }

    fn on_durable(&mut self, sequence: u64, result: Result<(), WalError>) {
        if let Err(e) = result {
            error!(actor = self.name, error = %e, "WAL append failed: the actor stops taking inputs");
            self.held_sends.clear();
            self.failed = Some(e);
            return;
        }
        // The WAL completes appends in order, so a later one implies the earlier ones.
        self.appends_durable = self.appends_durable.max(sequence);
        assert!(self.appends_durable <= self.appends_issued);
        while let Some((needed, _, _)) = self.held_sends.front() {
            if *needed > self.appends_durable {
                break;
            }
            let (needed, to, msg) = self.held_sends.pop_front().expect("front exists");
            assert!(needed <= self.appends_durable, "a send overtook its record");
            self.transmit(to, msg);
        }
    }

    fn transmit(&mut self, to: NodeId, msg: A::Msg) {
        let kind = A::message_kind(&msg);
        let _span = tracing::debug_span!("send", actor = self.name, peer = to, kind).entered();
        self.stats.sends += 1;
        let frame = match codec::encode(&msg) {
            Ok(frame) => frame,
            Err(e) => {
                error!(error = %e, "message does not encode; dropped");
                self.stats.sends_failed += 1;
                return;
            }
        };
        if let Err(e) = self.mesh.send(to, frame) {
            debug!(error = ?e, "send failed");
            self.stats.sends_failed += 1;
        }
    }

    /// Keeps the mesh's peer table in step with the actor's membership.
    fn sync_peers(&mut self) {
        let wanted = self.actor.peer_addresses();
        if wanted == self.peers {
            return;
        }
        for (id, address) in &wanted {
            match resolve(address) {
                Some(addr) => self.mesh.set_peer(*id, addr),
                None => warn!(peer = id, address, "cannot resolve peer address"),
            }
        }
        self.peers = wanted;
    }
}

fn resolve(address: &str) -> Option<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    address.to_socket_addrs().ok()?.next()
}

/// Decodes inbound frames and hands them to the host; an undecodable frame closes the
/// sender's connection.
async fn pump_inbound<A>(mut inbound: mpsc::Receiver<Inbound>, mesh: Mesh, addr: Addr<Host<A>>)
where
    A: Hostable,
{
    while let Some(Inbound {
        from,
        addr: peer_addr,
        frame,
        ..
    }) = inbound.recv().await
    {
        let msg: A::Msg = match codec::decode(&frame) {
            Ok(msg) => msg,
            Err(e) => {
                warn!(peer = from, error = %e, "undecodable frame; closing the connection");
                mesh.report_bad_frame(from, "undecodable frame");
                continue;
            }
        };
        // Replies go where the sender's frames come from: a client that restarted on a new
        // port is answered there (set_peer does nothing when the address is unchanged).
        mesh.set_peer(from, peer_addr);
        match addr.try_send(Deliver { from, msg }) {
            Ok(()) => {}
            Err(SendError::Full(_)) => {
                metrics().frame_dropped(DropReason::MailboxFull);
                debug!(peer = from, "mailbox full; frame dropped");
            }
            Err(SendError::Closed(_)) => return,
        }
    }
}

impl<A> Actor for Host<A>
where
    A: Hostable,
{
    type Context = Context<Self>;
}

impl<A> Handler<Deliver<A::Msg>> for Host<A>
where
    A: Hostable,
{
    type Result = ();

    fn handle(&mut self, deliver: Deliver<A::Msg>, ctx: &mut Context<Self>) {
        let kind = A::message_kind(&deliver.msg);
        let span = tracing::debug_span!("message", actor = self.name, peer = deliver.from, kind);
        let _entered = span.entered();
        let input = Input::Message {
            from: deliver.from,
            msg: deliver.msg,
        };
        self.handle_input(input, ctx);
    }
}
