//! What the broken-variant tests share: a `Mutant` that wraps a real actor (a Raft replica,
//! a store member) and lets a test change how it handles one input. Production code has no
//! switch for any mutation.

#![allow(dead_code)] // Each test file uses its own part of this module.

use std::fmt::Debug;
use std::hash::Hash;
use std::marker::PhantomData;

use kactor_actors::gateway::Gateway;
use kactor_actors::kernel::{Actor, Input, NoOperation, Outbox};
use kactor_actors::store::Store;
use kactor_model::check::{CheckReport, Verdict};
use kactor_model::gateway::GatewayReplica;
use kactor_model::raft::{property, CellRaft, Replica};
use kactor_model::store::StoreReplica;

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

/// A change to how a real actor `I` handles one input.
pub trait Mutation<I: Actor>:
    Clone + Debug + PartialEq + Eq + Hash + Send + Sync + 'static
{
    fn handle(inner: &mut I, input: Input<I>, out: &mut Outbox<I>) {
        inner.handle(input, out)
    }
}

/// The real actor `I` with mutation `M` applied to its handler.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Mutant<I, M> {
    pub inner: I,
    mutation: PhantomData<M>,
}

impl<I, M> Actor for Mutant<I, M>
where
    I: Actor<Operation = NoOperation, Completion = NoOperation>,
    M: Mutation<I>,
{
    type Config = I::Config;
    type Msg = I::Msg;
    type Timer = I::Timer;
    type Persist = I::Persist;
    type Durable = I::Durable;
    type Operation = NoOperation;
    type Completion = NoOperation;

    fn start(config: I::Config, durable: I::Durable, out: &mut Outbox<Self>) -> Self {
        let mut effects = Outbox::new();
        let inner = I::start(config, durable, &mut effects);
        for effect in effects.into_effects() {
            out.push(effect.wrap(|m| m, |t| t));
        }
        Mutant {
            inner,
            mutation: PhantomData,
        }
    }

    fn handle(&mut self, input: Input<Self>, out: &mut Outbox<Self>) {
        let input = match input {
            Input::Message { from, msg } => Input::Message { from, msg },
            Input::Timer(timer) => Input::Timer(timer),
            Input::Completion(never) => match never {},
        };
        let mut effects = Outbox::new();
        M::handle(&mut self.inner, input, &mut effects);
        for effect in effects.into_effects() {
            out.push(effect.wrap(|m| m, |t| t));
        }
    }

    fn apply_persist(durable: &mut I::Durable, record: &I::Persist) {
        I::apply_persist(durable, record)
    }

    fn is_checkpoint(record: &I::Persist) -> bool {
        I::is_checkpoint(record)
    }
}

impl<M: Mutation<CellRaft>> Replica for Mutant<CellRaft, M> {
    fn raft(&self) -> &CellRaft {
        &self.inner
    }
}

impl<M: Mutation<Gateway>> GatewayReplica for Mutant<Gateway, M> {
    fn gateway(&self) -> &Gateway {
        &self.inner
    }
}

impl<M: Mutation<Store>> StoreReplica for Mutant<Store, M> {
    fn store(&self) -> &Store {
        &self.inner
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
