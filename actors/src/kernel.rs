//! The sans-IO actor contract that every kactor component implements.
//!
//! An actor is started from what it persisted, then fed [`Input`]s; every handler only
//! pushes [`Effect`]s into an [`Outbox`]. The host (model checker, simulator or the actix
//! host) carries the effects out in the order etcd's `Ready` prescribes: persist, then
//! send. A `Send` may only leave once every `Persist` pushed before it is durable.

use std::fmt::Debug;
use std::hash::Hash;

/// The cluster-wide identity of a node or client endpoint.
pub type NodeId = u64;

/// When a timer may fire, in milliseconds after it was set. The host draws a point in the
/// span (that draw is the randomness of randomized election timeouts); the model checker
/// lets a timer fire at any point.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerSpan {
    pub ms_min: u32,
    pub ms_max: u32,
}

impl TimerSpan {
    pub fn new(ms_min: u32, ms_max: u32) -> TimerSpan {
        assert!(
            ms_min <= ms_max,
            "timer span {ms_min}..{ms_max} is inverted"
        );
        assert!(ms_max > 0, "a timer must not fire immediately");
        TimerSpan { ms_min, ms_max }
    }
}

/// One input to an actor after it has started.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Input<A: Actor> {
    /// A message from a peer (or a client) arrived.
    Message { from: NodeId, msg: A::Msg },
    /// A timer set earlier fired. A timer that was re-set or cancelled since may still
    /// arrive late: actors treat a stale timer as a no-op.
    Timer(A::Timer),
    /// An [`Effect::Run`] operation finished.
    Completion(A::Completion),
}

/// One thing the host must do for an actor.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Effect<A: Actor> {
    Send {
        to: NodeId,
        msg: A::Msg,
    },
    SetTimer {
        timer: A::Timer,
        span: TimerSpan,
    },
    CancelTimer {
        timer: A::Timer,
    },
    /// Make a record durable. Records are incremental; [`Actor::apply_persist`] folds them
    /// into the durable image, both in the model and when the host replays its WAL.
    Persist(A::Persist),
    /// A side operation the host executes (later: container runtime calls); its result
    /// returns as [`Input::Completion`].
    Run(A::Operation),
}

impl<A: Actor> Effect<A> {
    /// The same effect for an actor `B` that wraps `A` (the store wraps Raft; tests wrap
    /// actors in broken variants): messages and timers are wrapped, records and
    /// operations carried over as they are.
    pub fn wrap<B>(
        self,
        msg: impl FnOnce(A::Msg) -> B::Msg,
        timer: impl FnOnce(A::Timer) -> B::Timer,
    ) -> Effect<B>
    where
        B: Actor<Persist = A::Persist, Operation = A::Operation>,
    {
        match self {
            Effect::Send { to, msg: inner } => Effect::Send {
                to,
                msg: msg(inner),
            },
            Effect::SetTimer { timer: inner, span } => Effect::SetTimer {
                timer: timer(inner),
                span,
            },
            Effect::CancelTimer { timer: inner } => Effect::CancelTimer {
                timer: timer(inner),
            },
            Effect::Persist(record) => Effect::Persist(record),
            Effect::Run(operation) => Effect::Run(operation),
        }
    }
}

/// The effects one handler call produced, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outbox<A: Actor> {
    effects: Vec<Effect<A>>,
}

impl<A: Actor> Default for Outbox<A> {
    fn default() -> Self {
        Outbox {
            effects: Vec::new(),
        }
    }
}

impl<A: Actor> Outbox<A> {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn send(&mut self, to: NodeId, msg: A::Msg) {
        self.effects.push(Effect::Send { to, msg });
    }
    pub fn set_timer(&mut self, timer: A::Timer, span: TimerSpan) {
        self.effects.push(Effect::SetTimer { timer, span });
    }
    pub fn cancel_timer(&mut self, timer: A::Timer) {
        self.effects.push(Effect::CancelTimer { timer });
    }
    pub fn persist(&mut self, record: A::Persist) {
        self.effects.push(Effect::Persist(record));
    }
    pub fn run(&mut self, operation: A::Operation) {
        self.effects.push(Effect::Run(operation));
    }
    pub fn push(&mut self, effect: Effect<A>) {
        self.effects.push(effect);
    }
    pub fn effects(&self) -> &[Effect<A>] {
        &self.effects
    }
    pub fn into_effects(self) -> Vec<Effect<A>> {
        self.effects
    }
    pub fn is_empty(&self) -> bool {
        self.effects.is_empty()
    }
    pub fn len(&self) -> usize {
        self.effects.len()
    }
    pub fn retain(&mut self, keep: impl FnMut(&Effect<A>) -> bool) {
        self.effects.retain(keep);
    }
}

/// A kactor component: a deterministic state machine that only returns effects.
pub trait Actor: Sized + Clone + Debug + PartialEq + Hash {
    /// Static configuration: identity, initial peers, limits.
    type Config: Clone + Debug;
    type Msg: Clone + Debug + PartialEq + Eq + Hash;
    /// A small enum: the actor's timers (quinn's `Timer` table idea).
    type Timer: Clone + Debug + PartialEq + Eq + Hash;
    /// One incremental durable record (a WAL record).
    type Persist: Clone + Debug + PartialEq + Eq + Hash;
    /// Everything the actor persisted, folded; what it restarts from.
    type Durable: Clone + Debug + Default + PartialEq + Eq + Hash;
    type Operation: Clone + Debug + PartialEq + Eq + Hash;
    type Completion: Clone + Debug + PartialEq + Eq + Hash;

    /// Builds the actor from what it persisted (`Durable::default()` on first start).
    fn start(config: Self::Config, durable: Self::Durable, out: &mut Outbox<Self>) -> Self;

    /// Handles one input. Never reads a clock, a socket, a file or a random source.
    fn handle(&mut self, input: Input<Self>, out: &mut Outbox<Self>);

    /// Folds one persisted record into the durable image. The same function serves the
    /// model checker's storage and the WAL replay, so recovery is model-checked too.
    fn apply_persist(durable: &mut Self::Durable, record: &Self::Persist);

    /// True when the record replaces the whole durable image (a checkpoint), so the WAL
    /// may start afresh from it and drop everything older.
    fn is_checkpoint(record: &Self::Persist) -> bool;

    /// Handles a message while the host can make nothing durable (its WAL failed: a full
    /// disk, say). The actor answers what needs no write from its current state and
    /// refuses the rest, naming `reason`; it may only push `Send` effects.
    fn handle_read_only(
        &self,
        _from: NodeId,
        _msg: &Self::Msg,
        _reason: &str,
        _out: &mut Outbox<Self>,
    ) {
    }

    /// A short name of a message's kind, for tracing spans.
    fn message_kind(_msg: &Self::Msg) -> &'static str {
        "message"
    }
}

/// Actors whose messages carry no container work use this for `Operation`/`Completion`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NoOperation {}
