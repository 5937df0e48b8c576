//! A deterministic simulation of a cluster of actors in one thread: a seeded network
//! that delays, drops and duplicates, a virtual clock, and crashes that restart an actor
//! from its durable image. The same seed replays the same run (TigerBeetle's VOPR idea).

use std::collections::{BTreeMap, BTreeSet};

use crate::kernel::{Actor, Effect, Input, NodeId, Outbox};
use crate::timers::TimerWheel;

/// A small deterministic PRNG (SplitMix64): no dependency, and stable across versions.
#[derive(Clone, Debug)]
pub struct SimRng(u64);

impl SimRng {
    pub fn new(seed: u64) -> SimRng {
        SimRng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `min..=max`.
    pub fn range(&mut self, min: u64, max: u64) -> u64 {
        assert!(min <= max);
        min + self.next_u64() % (max - min + 1)
    }
    /// True with probability `per_mille / 1000`.
    pub fn chance(&mut self, per_mille: u32) -> bool {
        self.next_u64() % 1000 < u64::from(per_mille)
    }
}

/// Network faults, in per-mille per message.
#[derive(Clone, Copy, Debug)]
pub struct SimFaults {
    pub drop_per_mille: u32,
    pub duplicate_per_mille: u32,
    pub delay_ms_max: u64,
}

/// Events a simulation can hold at once: a run that exceeds it is a bug (a message storm).
pub const SIM_EVENTS_MAX: usize = 1_000_000;

enum Event<A: Actor> {
    Deliver {
        to: NodeId,
        from: NodeId,
        msg: A::Msg,
    },
    Timer {
        node: NodeId,
        timer: A::Timer,
    },
}

pub struct SimNode<A: Actor> {
    pub actor: Option<A>,
    pub config: A::Config,
    pub durable: A::Durable,
}

/// The simulated cluster. Nodes that are not actors (clients) just collect what is sent
/// to them in `inbox`.
pub struct Sim<A: Actor> {
    pub now_ms: u64,
    pub rng: SimRng,
    pub faults: SimFaults,
    pub nodes: BTreeMap<NodeId, SimNode<A>>,
    /// Pairs of nodes that cannot reach each other.
    pub partitions: BTreeSet<(NodeId, NodeId)>,
    pub inbox: Vec<(NodeId, NodeId, A::Msg)>,
    /// Messages in flight, by delivery time and then the order they were sent.
    queue: BTreeMap<(u64, u64), Event<A>>,
    sequence: u64,
    /// Every node's armed timers, by virtual deadline.
    timers: TimerWheel<(NodeId, A::Timer)>,
}

impl<A: Actor> Sim<A> {
    pub fn new(seed: u64, faults: SimFaults) -> Self {
        Sim {
            now_ms: 0,
            rng: SimRng::new(seed),
            faults,
            nodes: BTreeMap::new(),
            partitions: BTreeSet::new(),
            inbox: Vec::new(),
            queue: BTreeMap::new(),
            sequence: 0,
            timers: TimerWheel::new(),
        }
    }

    pub fn add_node(&mut self, id: NodeId, config: A::Config) {
        let node = SimNode {
            actor: None,
            config,
            durable: A::Durable::default(),
        };
        assert!(
            self.nodes.insert(id, node).is_none(),
            "node {id} added twice"
        );
        self.restart(id);
    }

    /// Starts (or restarts) a node from its durable image.
    pub fn restart(&mut self, id: NodeId) {
        self.timers.cancel_where(|(node, _)| *node == id);
        let node = self.nodes.get_mut(&id).expect("known node");
        let mut out = Outbox::new();
        let actor = A::start(node.config.clone(), node.durable.clone(), &mut out);
        node.actor = Some(actor);
        self.execute(id, out);
    }

    /// Loses everything the node did not persist.
    pub fn crash(&mut self, id: NodeId) {
        let node = self.nodes.get_mut(&id).expect("known node");
        node.actor = None;
        self.timers.cancel_where(|(node, _)| *node == id);
    }

    pub fn partition(&mut self, a: NodeId, b: NodeId) {
        self.partitions.insert((a.min(b), a.max(b)));
    }

    pub fn heal(&mut self) {
        self.partitions.clear();
    }

    /// Injects a message from `from` (e.g. a client) to `to`.
    pub fn inject(&mut self, from: NodeId, to: NodeId, msg: A::Msg) {
        self.schedule_delivery(from, to, msg);
    }

    pub fn actor(&self, id: NodeId) -> Option<&A> {
        self.nodes.get(&id).and_then(|n| n.actor.as_ref())
    }

    /// Runs until the virtual clock passes `until_ms` or nothing is left to do.
    pub fn run_until(&mut self, until_ms: u64) {
        while let Some((at, event)) = self.next_event(until_ms) {
            self.now_ms = at;
            self.dispatch(event);
        }
        self.now_ms = self.now_ms.max(until_ms);
    }

    /// Takes the earliest event due by `until_ms`: a delivery, or a timer (a delivery
    /// first when both fall on the same millisecond).
    fn next_event(&mut self, until_ms: u64) -> Option<(u64, Event<A>)> {
        let delivery = self.queue.first_key_value().map(|(&key, _)| key);
        let timer = self.timers.next_deadline();
        match (delivery, timer) {
            (Some((at, seq)), timer) if at <= until_ms && timer.is_none_or(|t| at <= t) => {
                let event = self.queue.remove(&(at, seq)).expect("present");
                Some((at, event))
            }
            (_, Some(at)) if at <= until_ms => {
                let (node, timer) = self.timers.expire(at).expect("a timer is due");
                Some((at, Event::Timer { node, timer }))
            }
            _ => None,
        }
    }

    fn dispatch(&mut self, event: Event<A>) {
        let (id, input) = match event {
            Event::Deliver { to, from, msg } => (to, Input::Message { from, msg }),
            Event::Timer { node, timer } => (node, Input::Timer(timer)),
        };
        let Some(node) = self.nodes.get_mut(&id) else {
            if let Input::Message { from, msg } = input {
                self.inbox.push((from, id, msg));
            }
            return;
        };
        let Some(actor) = node.actor.as_mut() else {
            return; // crashed: the message is lost
        };
        let mut out = Outbox::new();
        actor.handle(input, &mut out);
        self.execute(id, out);
    }

    fn execute(&mut self, id: NodeId, out: Outbox<A>) {
        for effect in out.into_effects() {
            match effect {
                Effect::Send { to, msg } => self.schedule_delivery(id, to, msg),
                Effect::SetTimer { timer, span } => {
                    let delay = self.rng.range(span.ms_min.into(), span.ms_max.into());
                    self.timers.set((id, timer), self.now_ms + delay);
                }
                Effect::CancelTimer { timer } => self.timers.cancel(&(id, timer)),
                Effect::Persist(record) => {
                    let node = self.nodes.get_mut(&id).expect("known");
                    A::apply_persist(&mut node.durable, &record);
                }
                Effect::Run(_) => {}
            }
        }
    }

    fn schedule_delivery(&mut self, from: NodeId, to: NodeId, msg: A::Msg) {
        if self.partitions.contains(&(from.min(to), from.max(to))) {
            return;
        }
        if self.rng.chance(self.faults.drop_per_mille) {
            return;
        }
        let copies = 1 + u32::from(self.rng.chance(self.faults.duplicate_per_mille));
        for _ in 0..copies {
            let delay = self.rng.range(1, self.faults.delay_ms_max.max(1));
            let event = Event::Deliver {
                to,
                from,
                msg: msg.clone(),
            };
            self.push(self.now_ms + delay, event);
        }
    }

    fn push(&mut self, at: u64, event: Event<A>) {
        assert!(
            self.queue.len() + self.timers.len() < SIM_EVENTS_MAX,
            "simulation event storm"
        );
        self.sequence += 1;
        self.queue.insert((at, self.sequence), event);
    }
}
