//! Runs any kactor [`Actor`] inside stateright.
//!
//! Effects map one to one: `Send` to a send, `SetTimer`/`CancelTimer` to stateright timers
//! (which may fire at any moment: the model explores every timing), and `Persist` records
//! are folded with the actor's own [`Actor::apply_persist`] into the durable image, which
//! becomes stateright's storage, so a crash restarts the actor from exactly what it
//! persisted. A handler that panics (a failed assertion) marks the actor failed; the
//! "assertions hold" property reports it with the trace that led there.

use std::cell::Cell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use kactor_actors::kernel::{Actor, Effect, Input, NodeId, Outbox};
use stateright::actor::{model_timeout, Id, Out};

/// One hosted actor: its state, what it has persisted, and a failure if a handler panicked.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Hosted<A: Actor> {
    pub actor: Option<A>,
    pub durable: A::Durable,
    pub failure: Option<String>,
}

pub fn node_id(id: Id) -> NodeId {
    usize::from(id) as NodeId
}

pub fn model_id(id: NodeId) -> Id {
    Id::from(id as usize)
}

/// Starts `A` from `storage` (what it persisted before a crash, if anything).
pub fn start<A, X>(config: A::Config, storage: &Option<A::Durable>, o: &mut Out<X>) -> Hosted<A>
where
    A: Actor,
    X: stateright::actor::Actor<Msg = A::Msg, Timer = A::Timer, Storage = A::Durable>,
{
    let durable = storage.clone().unwrap_or_default();
    let mut hosted = Hosted {
        actor: None,
        durable: durable.clone(),
        failure: None,
    };
    let mut outbox = Outbox::new();
    match guarded(|| A::start(config, durable, &mut outbox)) {
        Ok(actor) => {
            hosted.actor = Some(actor);
            carry_out(&mut hosted, outbox, o);
        }
        Err(failure) => hosted.failure = Some(failure),
    }
    hosted
}

/// Delivers one input to a hosted actor (a failed actor ignores everything).
pub fn deliver<A, X>(hosted: &mut Hosted<A>, input: Input<A>, o: &mut Out<X>)
where
    A: Actor,
    X: stateright::actor::Actor<Msg = A::Msg, Timer = A::Timer, Storage = A::Durable>,
{
    let Some(actor) = hosted.actor.as_mut() else {
        return;
    };
    let mut outbox = Outbox::new();
    match guarded(|| actor.handle(input, &mut outbox)) {
        Ok(()) => carry_out(hosted, outbox, o),
        Err(failure) => {
            hosted.actor = None;
            hosted.failure = Some(failure);
        }
    }
}

fn carry_out<A, X>(hosted: &mut Hosted<A>, outbox: Outbox<A>, o: &mut Out<X>)
where
    A: Actor,
    X: stateright::actor::Actor<Msg = A::Msg, Timer = A::Timer, Storage = A::Durable>,
{
    let mut persisted = false;
    for effect in outbox.into_effects() {
        match effect {
            Effect::Send { to, msg } => o.send(model_id(to), msg),
            Effect::SetTimer { timer, .. } => o.set_timer(timer, model_timeout()),
            Effect::CancelTimer { timer } => o.cancel_timer(timer),
            Effect::Persist(record) => {
                A::apply_persist(&mut hosted.durable, &record);
                persisted = true;
            }
            Effect::Run(_) => {} // no modelled actor runs side operations yet
        }
    }
    if persisted {
        o.save(hosted.durable.clone());
    }
}

thread_local! {
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
}

/// Runs a handler, turning a panic into a failure message. Panics inside handlers are
/// expected findings of the model checker, so they are not printed as they happen.
pub fn guarded<T>(handler: impl FnOnce() -> T) -> Result<T, String> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !IN_HANDLER.with(Cell::get) {
                previous(info);
            }
        }));
    });
    IN_HANDLER.with(|flag| flag.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(handler));
    IN_HANDLER.with(|flag| flag.set(false));
    result.map_err(|payload| {
        if let Some(text) = payload.downcast_ref::<&str>() {
            text.to_string()
        } else if let Some(text) = payload.downcast_ref::<String>() {
            text.clone()
        } else {
            "handler panicked".to_string()
        }
    })
}
