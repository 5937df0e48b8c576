//! One actor type for a whole cluster, so that one seeded world ([`crate::sim`]) runs
//! actors of different kinds together: store members and gateways today, the scheduler,
//! controllers and kubelets as they arrive (a variant each). Every node is one kind.
//!
//! Messages travel as the gateway's [`GatewayMsg`], whose `Store` variant carries the
//! store's own: what the gateway's host does on the wire (frames from store members are
//! `StoreMsg`), done here by wrapping. A store member takes only store messages, as its
//! host decodes only those.

use crate::gateway::{Gateway, GatewayConfig, GatewayMsg, GatewayTimer, Stamp};
use crate::kernel::{Actor, Effect, Input, NoOperation, Outbox};
use crate::raft::{RaftDurable, RaftPersist};
use crate::store::{Mvcc, Store, StoreConfig, StoreTimer};

/// The Unix time the simulated gateways' clocks start from (2023-11-14): a real-looking
/// date for creation timestamps; each timer advances it by a second.
pub const CLUSTER_EPOCH_MS: u64 = 1_700_000_000_000;

/// What a node of the cluster is.
#[derive(Clone, Debug)]
pub enum NodeConfig {
    Store(StoreConfig),
    Gateway(GatewayConfig),
}

/// One node of the cluster: a store member, or a gateway with the count of clock
/// readings it was given (its host reads a real clock before each timer; here the
/// reading is derived from that count, so a run replays).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
// A node is one of a few large actors, stored once per simulated node: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
pub enum ClusterNode {
    Store(Store),
    Gateway {
        gateway: Gateway,
        clock_readings: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClusterTimer {
    Store(StoreTimer),
    Gateway(GatewayTimer),
}

impl ClusterNode {
    pub fn store(&self) -> Option<&Store> {
        match self {
            ClusterNode::Store(store) => Some(store),
            ClusterNode::Gateway { .. } => None,
        }
    }

    pub fn gateway(&self) -> Option<&Gateway> {
        match self {
            ClusterNode::Gateway { gateway, .. } => Some(gateway),
            ClusterNode::Store(_) => None,
        }
    }
}

fn from_store(out: Outbox<Store>, into: &mut Outbox<ClusterNode>) {
    for effect in out.into_effects() {
        into.push(effect.wrap(GatewayMsg::Store, ClusterTimer::Store));
    }
}

fn from_gateway(out: Outbox<Gateway>, into: &mut Outbox<ClusterNode>) {
    for effect in out.into_effects() {
        into.push(match effect {
            Effect::Send { to, msg } => Effect::Send { to, msg },
            Effect::SetTimer { timer, span } => Effect::SetTimer {
                timer: ClusterTimer::Gateway(timer),
                span,
            },
            Effect::CancelTimer { timer } => Effect::CancelTimer {
                timer: ClusterTimer::Gateway(timer),
            },
            Effect::Persist(never) => match never {},
            Effect::Run(never) => match never {},
        });
    }
}

impl Actor for ClusterNode {
    type Config = NodeConfig;
    type Msg = GatewayMsg;
    type Timer = ClusterTimer;
    /// Only store members persist; a gateway keeps nothing.
    type Persist = RaftPersist<Mvcc>;
    type Durable = RaftDurable<Mvcc>;
    type Operation = NoOperation;
    type Completion = NoOperation;

    fn start(config: NodeConfig, durable: RaftDurable<Mvcc>, out: &mut Outbox<Self>) -> Self {
        match config {
            NodeConfig::Store(config) => {
                let mut inner = Outbox::new();
                let store = Store::start(config, durable, &mut inner);
                from_store(inner, out);
                ClusterNode::Store(store)
            }
            NodeConfig::Gateway(config) => {
                let mut inner = Outbox::new();
                let gateway = Gateway::start(config, (), &mut inner);
                from_gateway(inner, out);
                ClusterNode::Gateway {
                    gateway,
                    clock_readings: 0,
                }
            }
        }
    }

    fn handle(&mut self, input: Input<Self>, out: &mut Outbox<Self>) {
        match self {
            ClusterNode::Store(store) => {
                let input = match input {
                    Input::Message {
                        from,
                        msg: GatewayMsg::Store(msg),
                    } => Input::Message { from, msg },
                    Input::Timer(ClusterTimer::Store(timer)) => Input::Timer(timer),
                    // Not a store message: its host would not decode it.
                    _ => return,
                };
                let mut inner = Outbox::new();
                store.handle(input, &mut inner);
                from_store(inner, out);
            }
            ClusterNode::Gateway {
                gateway,
                clock_readings,
            } => {
                let mut inner = Outbox::new();
                match input {
                    // Only the host tells the time; a peer's clock message is dropped.
                    Input::Message {
                        msg: GatewayMsg::Clock { .. },
                        ..
                    } => return,
                    Input::Message { from, msg } => {
                        gateway.handle(Input::Message { from, msg }, &mut inner)
                    }
                    Input::Timer(ClusterTimer::Gateway(timer)) => {
                        // As the host does: the clock, then the timer.
                        *clock_readings += 1;
                        let stamp = Stamp {
                            unix_ms: CLUSTER_EPOCH_MS + *clock_readings * 1000,
                            entropy: u128::from(*clock_readings) << 64
                                | u128::from(gateway.config.id),
                        };
                        let from = gateway.config.id;
                        let clock = GatewayMsg::Clock { stamp };
                        gateway.handle(Input::Message { from, msg: clock }, &mut inner);
                        gateway.handle(Input::Timer(timer), &mut inner);
                    }
                    Input::Timer(ClusterTimer::Store(_)) => return,
                    Input::Completion(never) => match never {},
                }
                from_gateway(inner, out);
            }
        }
    }

    fn apply_persist(durable: &mut RaftDurable<Mvcc>, record: &RaftPersist<Mvcc>) {
        Store::apply_persist(durable, record);
    }

    fn is_checkpoint(record: &RaftPersist<Mvcc>) -> bool {
        Store::is_checkpoint(record)
    }

    fn message_kind(msg: &GatewayMsg) -> &'static str {
        msg.kind()
    }
}
