//! What the broken-variant tests share: a `Mutant` that wraps the real replica and lets a
//! test change how it handles one input. Production code has no switch for any mutation.

#![allow(dead_code)] // Each test file uses its own part of this module.

use std::fmt::Debug;
use std::hash::Hash;
use std::marker::PhantomData;

use kactor_actors::kernel::{Actor, Effect, Input, NoOperation, Outbox};
use kactor_actors::raft::{RaftConfig, RaftDurable, RaftPersist, RaftTimer};
use kactor_model::check::{CheckReport, Verdict};
use kactor_model::raft::{property, Cell, CellMsg, CellRaft, Replica};

/// Every `Always` property of the Raft model.
pub const SAFETY: [&str; 7] = [
    property::ELECTION_SAFETY,
    property::LEADER_APPEND_ONLY,
    property::LOG_MATCHING,
    property::LEADER_COMPLETENESS,
    property::STATE_MACHINE_SAFETY,
    property::LINEARIZABLE,
    property::ASSERTIONS_HOLD,
];

/// A change to how the real replica handles one input.
pub trait Mutation: Clone + Debug + PartialEq + Eq + Hash + Send + Sync + 'static {
    fn handle(raft: &mut CellRaft, input: Input<CellRaft>, out: &mut Outbox<CellRaft>) {
        raft.handle(input, out)
    }
}

/// The real replica with mutation `M` applied to its handler.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mutant<M: Mutation> {
    raft: CellRaft,
    mutation: PhantomData<M>,
}

fn lift<M: Mutation>(inner: Outbox<CellRaft>, out: &mut Outbox<Mutant<M>>) {
    for effect in inner.into_effects() {
        out.push(match effect {
            Effect::Send { to, msg } => Effect::Send { to, msg },
            Effect::SetTimer { timer, span } => Effect::SetTimer { timer, span },
            Effect::CancelTimer { timer } => Effect::CancelTimer { timer },
            Effect::Persist(record) => Effect::Persist(record),
            Effect::Run(never) => match never {},
        });
    }
}

impl<M: Mutation> Actor for Mutant<M> {
    type Config = RaftConfig;
    type Msg = CellMsg;
    type Timer = RaftTimer;
    type Persist = RaftPersist<Cell>;
    type Durable = RaftDurable<Cell>;
    type Operation = NoOperation;
    type Completion = NoOperation;

    fn start(config: RaftConfig, durable: RaftDurable<Cell>, out: &mut Outbox<Self>) -> Self {
        let mut inner = Outbox::new();
        let raft = CellRaft::start(config, durable, &mut inner);
        lift(inner, out);
        Mutant {
            raft,
            mutation: PhantomData,
        }
    }

    fn handle(&mut self, input: Input<Self>, out: &mut Outbox<Self>) {
        let input = match input {
            Input::Message { from, msg } => Input::Message { from, msg },
            Input::Timer(timer) => Input::Timer(timer),
            Input::Completion(never) => match never {},
        };
        let mut inner = Outbox::new();
        M::handle(&mut self.raft, input, &mut inner);
        lift(inner, out);
    }

    fn apply_persist(durable: &mut RaftDurable<Cell>, record: &RaftPersist<Cell>) {
        CellRaft::apply_persist(durable, record)
    }

    fn is_checkpoint(record: &RaftPersist<Cell>) -> bool {
        CellRaft::is_checkpoint(record)
    }
}

impl<M: Mutation> Replica for Mutant<M> {
    fn raft(&self) -> &CellRaft {
        &self.raft
    }
}

/// The check found `name` violated and can show how.
pub fn assert_violated(report: &CheckReport, name: &str) {
    let found = report.property(name);
    assert_eq!(found.verdict, Verdict::Violated, "{name} was not caught");
    assert!(
        found.trace.as_ref().is_some_and(|t| !t.is_empty()),
        "a readable trace"
    );
}

/// The check found no safety property violated.
pub fn assert_safe(report: &CheckReport) {
    for name in SAFETY {
        assert_ne!(report.property(name).verdict, Verdict::Violated, "{name}");
    }
}
