//! A model wrapper that lists actions in a canonical order.
//!
//! stateright keeps timers and the unordered network in hash sets, whose iteration order
//! can differ between two equal states. Exhaustive search does not mind, but the simulation
//! checker replays a path by action *index*, which then fails. Sorting makes the action
//! list a pure function of the state, so every checker can reconstruct every trace.

use std::fmt::Debug;

use stateright::{Model, Path, Property};

pub struct Sorted<M: Model>
where
    M::Action: Ord,
{
    pub inner: M,
    pub properties: Vec<Property<Sorted<M>>>,
}

impl<M: Model> Sorted<M>
where
    M::Action: Ord,
{
    pub fn new(inner: M) -> Self {
        Sorted {
            inner,
            properties: Vec::new(),
        }
    }

    pub fn property(mut self, property: Property<Sorted<M>>) -> Self {
        assert!(
            self.properties.iter().all(|p| p.name != property.name),
            "property {:?} declared twice",
            property.name
        );
        self.properties.push(property);
        self
    }
}

impl<M> Model for Sorted<M>
where
    M: Model,
    M::Action: Ord,
{
    type State = M::State;
    type Action = M::Action;

    fn init_states(&self) -> Vec<M::State> {
        self.inner.init_states()
    }

    fn actions(&self, state: &M::State, actions: &mut Vec<M::Action>) {
        self.inner.actions(state, actions);
        actions.sort();
    }

    fn next_state(&self, last_state: &M::State, action: M::Action) -> Option<M::State> {
        self.inner.next_state(last_state, action)
    }

    fn format_action(&self, action: &M::Action) -> String
    where
        M::Action: Debug,
    {
        self.inner.format_action(action)
    }

    fn as_svg(&self, path: Path<M::State, M::Action>) -> Option<String> {
        self.inner.as_svg(path)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        self.properties.clone()
    }

    fn within_boundary(&self, state: &M::State) -> bool {
        self.inner.within_boundary(state)
    }
}
