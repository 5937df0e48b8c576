//! Runs the `gateway` actor for real: one tokio task that turns mesh frames into inputs
//! and effects into frames and timers. The gateway persists nothing, so unlike the
//! store's host there is no WAL and no send waits for a write.
//!
//! Two things only the host knows are filled in here: which peers are store members
//! (their frames are `StoreMsg`, wrapped as `GatewayMsg::Store`; frames to them are sent
//! unwrapped), and who a request comes from and when it arrived (`user` and `stamp` are
//! overwritten from the peer's authenticated identity, the clock and the OS random
//! source, never taken from the sender).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kactor_actors::gateway::{Gateway, GatewayConfig, GatewayMsg, GatewayTimer, Stamp, User};
use kactor_actors::kernel::{Actor, Effect, Input, NodeId, Outbox};
use kactor_actors::store::StoreMsg;
use rand::Rng;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::codec;
use crate::mesh::{Inbound, Mesh};

/// Timer firings queued for the gateway task: far more than the gateway ever has set.
pub const TIMER_QUEUE_MAX: usize = 65_536;
/// Inputs handled per wakeup before the task yields, so one busy peer cannot starve the
/// timers.
pub const INPUTS_PER_WAKEUP_MAX: usize = 256;

/// Who a mesh peer is, as the gateway's authorizer sees it.
pub type Identify = Arc<dyn Fn(NodeId) -> User + Send + Sync>;

pub struct GatewayHost {
    gateway: Gateway,
    mesh: Mesh,
    store_members: BTreeSet<NodeId>,
    identify: Identify,
    timers: HashMap<GatewayTimer, u64>,
    timer_generation: u64,
    timer_tx: mpsc::Sender<(GatewayTimer, u64)>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Starts the gateway on the current tokio runtime. `store` holds the members' mesh
/// addresses.
pub fn launch(
    mut config: GatewayConfig,
    store: BTreeMap<NodeId, SocketAddr>,
    mesh: Mesh,
    inbound: mpsc::Receiver<Inbound>,
    identify: Identify,
) -> tokio::task::JoinHandle<()> {
    for (id, addr) in &store {
        mesh.set_peer(*id, *addr);
    }
    config.store_members = store.keys().copied().collect();
    // Store request ids must grow across restarts of this identity.
    config.request_id_base = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let (timer_tx, timer_rx) = mpsc::channel(TIMER_QUEUE_MAX);
    let mut outbox = Outbox::new();
    let gateway = Gateway::start(config, (), &mut outbox);
    let mut host = GatewayHost {
        gateway,
        mesh,
        store_members: store.keys().copied().collect(),
        identify,
        timers: HashMap::new(),
        timer_generation: 0,
        timer_tx,
    };
    host.carry_out(outbox);
    tokio::spawn(host.run(inbound, timer_rx))
}

impl GatewayHost {
    async fn run(
        mut self,
        mut inbound: mpsc::Receiver<Inbound>,
        mut timers: mpsc::Receiver<(GatewayTimer, u64)>,
    ) {
        loop {
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
                Some((timer, generation)) = timers.recv() => {
                    if self.timers.get(&timer) == Some(&generation) {
                        self.timers.remove(&timer);
                        let _span = tracing::debug_span!("timer", actor = "gateway", ?timer).entered();
                        self.step(Input::Timer(timer));
                    }
                }
            }
        }
    }

    fn on_frame(&mut self, Inbound { from, addr, frame }: Inbound) {
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
        if !self.store_members.contains(&from) {
            // Answers go where the peer's frames come from.
            self.mesh.set_peer(from, addr);
        }
        if let GatewayMsg::Request { user, stamp, .. } = &mut msg {
            *user = (self.identify)(from);
            *stamp = Stamp {
                unix_ms: now_ms(),
                entropy: rand::thread_rng().gen(),
            };
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
                    self.timer_generation += 1;
                    let generation = self.timer_generation;
                    self.timers.insert(timer, generation);
                    let ms = rand::thread_rng().gen_range(span.ms_min..=span.ms_max);
                    let tx = self.timer_tx.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(ms.into())).await;
                        let _ = tx.send((timer, generation)).await;
                    });
                }
                Effect::CancelTimer { timer } => {
                    self.timers.remove(&timer);
                }
                Effect::Persist(never) => match never {},
                Effect::Run(never) => match never {},
            }
        }
    }

    fn transmit(&self, to: NodeId, msg: GatewayMsg) {
        let kind = msg.kind();
        let _span = tracing::debug_span!("send", actor = "gateway", peer = to, kind).entered();
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
