//! Runs the `gateway` actor for real: one tokio task that turns mesh frames into inputs
//! and effects into frames and timers. The gateway persists nothing, so unlike the
//! store's host there is no WAL and no send waits for a write.
//!
//! Two things only the host knows are filled in here: which peers are store members
//! (their frames are `StoreMsg`, wrapped as `GatewayMsg::Store`; frames to them are sent
//! unwrapped), and who a request comes from and when it arrived (`user` and `stamp` are
//! overwritten from the peer's authenticated identity, the clock and the OS random
//! source, never taken from the sender).
//!
//! Callers in the same process (the HTTPS front) reach the gateway through a channel,
//! not loopback QUIC: they authenticate their own clients, so their requests arrive with
//! the user set, under the reserved caller id [`LOCAL_CALLER_ID`].

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kactor_actors::gateway::streams::{StreamMsg, STREAM_WINDOW_MESSAGES};
use kactor_actors::gateway::{
    Gateway, GatewayConfig, GatewayMsg, GatewayTimer, Requester, Stamp, User,
};
use kactor_actors::kernel::{Actor, Effect, Input, NodeId, Outbox};
use kactor_actors::store::StoreMsg;
use kactor_actors::timers::TimerWheel;
use rand::Rng;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::codec;
use crate::mesh::{Inbound, Mesh};
use crate::pki::Subject;

/// Inputs handled per wakeup before the task yields, so one busy peer cannot starve the
/// timers.
pub const INPUTS_PER_WAKEUP_MAX: usize = 256;

/// Requests and answers queued between the gateway and its in-process callers: as
/// many as the mesh queues for one peer. Half of it holds every stream's full window
/// of data and of acks (asserted at launch), so what streams send toward the HTTPS
/// front is not dropped here.
pub const LOCAL_QUEUE_MAX: usize = crate::mesh::PEER_QUEUE_FRAMES_MAX;

/// The caller id of in-process callers. No mesh peer may use it: frames from a
/// certificate naming it are dropped.
pub const LOCAL_CALLER_ID: NodeId = u64::MAX;

/// Who a mesh peer is, as the gateway's authorizer sees it: from its node id and its
/// certificate's subject.
pub type Identify = Arc<dyn Fn(NodeId, &Subject) -> User + Send + Sync>;

/// The in-process caller's ends: its messages in (`Request`s with the user it
/// authenticated, `WatchCancel`s), the gateway's answers and watch messages out.
pub struct LocalLink {
    pub requests: mpsc::Sender<GatewayMsg>,
    pub answers: mpsc::Receiver<GatewayMsg>,
}

pub struct GatewayHost {
    gateway: Gateway,
    mesh: Mesh,
    store_members: BTreeSet<NodeId>,
    identify: Identify,
    /// The gateway's armed timers, in milliseconds since `started`.
    timers: TimerWheel<GatewayTimer>,
    started: tokio::time::Instant,
    local_answers: mpsc::Sender<GatewayMsg>,
}

/// The clock and fresh randomness, as a request arrives.
fn stamp_now() -> Stamp {
    Stamp {
        unix_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        entropy: rand::thread_rng().gen(),
    }
}

/// Starts the gateway on the current tokio runtime. `store` holds the members' mesh
/// addresses. Returns the link for in-process callers.
pub fn launch(
    mut config: GatewayConfig,
    store: BTreeMap<NodeId, SocketAddr>,
    mesh: Mesh,
    inbound: mpsc::Receiver<Inbound>,
    identify: Identify,
) -> LocalLink {
    assert!(
        config.streams_max * 2 * STREAM_WINDOW_MESSAGES as usize <= LOCAL_QUEUE_MAX / 2,
        "stream windows must fit the local queue"
    );
    for (id, addr) in &store {
        mesh.set_peer(*id, *addr);
    }
    config.store_members = store.keys().copied().collect();
    // Store request ids must grow across restarts of this identity.
    config.request_id_base = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let (requests, local_requests) = mpsc::channel(LOCAL_QUEUE_MAX);
    let (local_answers, answers) = mpsc::channel(LOCAL_QUEUE_MAX);
    let mut outbox = Outbox::new();
    let gateway = Gateway::start(config, (), &mut outbox);
    let mut host = GatewayHost {
        gateway,
        mesh,
        store_members: store.keys().copied().collect(),
        identify,
        timers: TimerWheel::new(),
        started: tokio::time::Instant::now(),
        local_answers,
    };
    host.carry_out(outbox);
    tokio::spawn(host.run(inbound, local_requests));
    LocalLink { requests, answers }
}

impl GatewayHost {
    async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Inbound>,
        mut local: mpsc::Receiver<GatewayMsg>,
    ) {
        loop {
            let next_deadline = self.timers.next_deadline();
            let started = self.started;
            let wakeup = async move {
                match next_deadline {
                    Some(ms) => {
                        tokio::time::sleep_until(started + Duration::from_millis(ms)).await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                frame = inbound.recv() => {
                    let Some(first) = frame else { return };
                    self.on_frame(first);
                    for _ in 1..INPUTS_PER_WAKEUP_MAX {
                        match inbound.try_recv() {
                            Ok(next) => self.on_frame(next),
                            Err(_) => break,
                        }
                    }
                }
                Some(request) = local.recv() => self.on_local(request),
                () = wakeup => self.fire_due_timers(),
            }
        }
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn fire_due_timers(&mut self) {
        let now = self.elapsed_ms();
        while let Some(timer) = self.timers.expire(now) {
            let _span = tracing::debug_span!("timer", actor = "gateway", ?timer).entered();
            let clock = GatewayMsg::Clock { stamp: stamp_now() };
            self.step(Input::Message {
                from: LOCAL_CALLER_ID,
                msg: clock,
            });
            self.step(Input::Timer(timer));
        }
    }

    fn on_local(&mut self, mut msg: GatewayMsg) {
        if let GatewayMsg::Request { stamp, .. } = &mut msg {
            *stamp = stamp_now();
        }
        let kind = msg.kind();
        let _span =
            tracing::debug_span!("message", actor = "gateway", peer = "local", kind).entered();
        self.step(Input::Message {
            from: LOCAL_CALLER_ID,
            msg,
        });
    }

    fn on_frame(
        &mut self,
        Inbound {
            from,
            addr,
            subject,
            frame,
        }: Inbound,
    ) {
        if from == LOCAL_CALLER_ID {
            warn!("a mesh peer's certificate names the reserved local caller id; dropped");
            self.mesh.report_bad_frame(from, "reserved node id");
            return;
        }
        let msg = if self.store_members.contains(&from) {
            codec::decode::<StoreMsg>(&frame).map(GatewayMsg::Store)
        } else {
            codec::decode::<GatewayMsg>(&frame)
        };
        let mut msg = match msg {
            Ok(msg) => msg,
            Err(e) => {
                warn!(peer = from, error = %e, "undecodable frame; closing the connection");
                self.mesh.report_bad_frame(from, "undecodable frame");
                return;
            }
        };
        if let GatewayMsg::Clock { .. } = msg {
            warn!(peer = from, "a peer sent a clock message; dropped");
            return;
        }
        if !self.store_members.contains(&from) {
            // Answers go where the peer's frames come from.
            self.mesh.set_peer(from, addr);
        }
        match &mut msg {
            GatewayMsg::Request { user, stamp, .. } => {
                *user = Requester::Peer((self.identify)(from, &subject));
                *stamp = stamp_now();
            }
            GatewayMsg::Stream(StreamMsg::Open { user, .. }) => {
                *user = Requester::Peer((self.identify)(from, &subject));
            }
            GatewayMsg::Stream(StreamMsg::Hello { user }) => {
                *user = (self.identify)(from, &subject);
            }
            _ => {}
        }
        let kind = msg.kind();
        let _span = tracing::debug_span!("message", actor = "gateway", peer = from, kind).entered();
        self.step(Input::Message { from, msg });
    }

    fn step(&mut self, input: Input<Gateway>) {
        let mut outbox = Outbox::new();
        self.gateway.handle(input, &mut outbox);
        self.carry_out(outbox);
    }

    fn carry_out(&mut self, outbox: Outbox<Gateway>) {
        for effect in outbox.into_effects() {
            match effect {
                Effect::Send { to, msg } => self.transmit(to, msg),
                Effect::SetTimer { timer, span } => {
                    let ms = rand::thread_rng().gen_range(span.ms_min..=span.ms_max);
                    self.timers.set(timer, self.elapsed_ms() + u64::from(ms));
                }
                Effect::CancelTimer { timer } => self.timers.cancel(&timer),
                Effect::Persist(never) => match never {},
                Effect::Run(never) => match never {},
            }
        }
    }

    fn transmit(&self, to: NodeId, msg: GatewayMsg) {
        let kind = msg.kind();
        let _span = tracing::debug_span!("send", actor = "gateway", peer = to, kind).entered();
        if to == LOCAL_CALLER_ID {
            // Never blocks the gateway: a caller this far behind loses the message, as a
            // mesh peer with a full queue would (its call times out; a watch sees a gap).
            if let Err(e) = self.local_answers.try_send(msg) {
                debug!(error = %e, "local answer dropped");
            }
            return;
        }
        let frame = match msg {
            GatewayMsg::Store(inner) if self.store_members.contains(&to) => codec::encode(&inner),
            other => codec::encode(&other),
        };
        match frame {
            Ok(frame) => {
                if let Err(e) = self.mesh.send(to, frame) {
                    debug!(peer = to, error = ?e, "send failed");
                }
            }
            Err(e) => warn!(peer = to, error = %e, "message does not encode; dropped"),
        }
    }
}
