//! The one timer table every host and the simulator keep for their actors: an actor's
//! timer is armed with a deadline, re-arming replaces it, cancelling forgets it, and due
//! timers come out in deadline order (ties in the order they were armed).
//!
//! Time is a number of milliseconds the caller counts from a base of its choosing: a
//! host's start (a real clock), the simulator's virtual clock. Drawing a deadline inside
//! a [`crate::kernel::TimerSpan`] is the caller's job too, so this table stays
//! deterministic.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// Armed timers and their deadlines. `due` mirrors `armed` exactly: a replaced or
/// cancelled timer leaves no stale entry behind, so `next_deadline` is always a live one.
#[derive(Clone, Debug)]
pub struct TimerWheel<T> {
    /// Each armed timer's deadline and the stamp it was armed with.
    armed: HashMap<T, (u64, u64)>,
    /// The same timers by (deadline, stamp): the stamp orders equal deadlines.
    due: BTreeMap<(u64, u64), T>,
    /// Counts arms, so every arming has a stamp of its own.
    arms: u64,
}

impl<T> Default for TimerWheel<T> {
    fn default() -> Self {
        TimerWheel {
            armed: HashMap::new(),
            due: BTreeMap::new(),
            arms: 0,
        }
    }
}

impl<T: Clone + Eq + Hash> TimerWheel<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Arms `timer` to fire at `deadline_ms`, replacing its earlier arming if any.
    pub fn set(&mut self, timer: T, deadline_ms: u64) {
        self.cancel(&timer);
        self.arms += 1;
        let stamp = self.arms;
        self.armed.insert(timer.clone(), (deadline_ms, stamp));
        self.due.insert((deadline_ms, stamp), timer);
        debug_assert_eq!(self.armed.len(), self.due.len());
    }

    /// Forgets `timer`: it will not fire unless set again.
    pub fn cancel(&mut self, timer: &T) {
        if let Some(key) = self.armed.remove(timer) {
            let removed = self.due.remove(&key);
            assert!(removed.is_some(), "an armed timer has its deadline");
        }
    }

    /// Forgets every timer for which `forget` holds (a crashed node's, in the simulator).
    pub fn cancel_where(&mut self, mut forget: impl FnMut(&T) -> bool) {
        let due = &mut self.due;
        self.armed.retain(|timer, key| {
            if forget(timer) {
                due.remove(key);
                false
            } else {
                true
            }
        });
        debug_assert_eq!(self.armed.len(), self.due.len());
    }

    /// Forgets every timer.
    pub fn clear(&mut self) {
        self.armed.clear();
        self.due.clear();
    }

    /// The earliest deadline of an armed timer.
    pub fn next_deadline(&self) -> Option<u64> {
        self.due
            .first_key_value()
            .map(|(&(deadline, _), _)| deadline)
    }

    /// Takes the earliest timer whose deadline is at or before `now_ms`, disarming it.
    pub fn expire(&mut self, now_ms: u64) -> Option<T> {
        let (&key, _) = self.due.first_key_value()?;
        if key.0 > now_ms {
            return None;
        }
        let timer = self.due.remove(&key).expect("first key present");
        let armed = self.armed.remove(&timer);
        assert_eq!(armed, Some(key), "a due timer is armed with its deadline");
        Some(timer)
    }

    pub fn is_armed(&self, timer: &T) -> bool {
        self.armed.contains_key(timer)
    }

    pub fn len(&self) -> usize {
        self.armed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.armed.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(wheel: &mut TimerWheel<&'static str>, now_ms: u64) -> Vec<&'static str> {
        std::iter::from_fn(|| wheel.expire(now_ms)).collect()
    }

    #[test]
    fn due_timers_come_out_in_deadline_order_and_ties_in_arming_order() {
        let mut wheel = TimerWheel::new();
        wheel.set("late", 30);
        wheel.set("first", 10);
        wheel.set("second", 10);
        assert_eq!(wheel.next_deadline(), Some(10));
        assert_eq!(drain(&mut wheel, 9), Vec::<&str>::new());
        assert_eq!(drain(&mut wheel, 10), ["first", "second"]);
        assert_eq!(drain(&mut wheel, 100), ["late"]);
        assert!(wheel.is_empty());
        assert_eq!(wheel.next_deadline(), None);
    }

    #[test]
    fn re_arming_replaces_and_cancelling_forgets() {
        let mut wheel = TimerWheel::new();
        wheel.set("election", 10);
        wheel.set("election", 50);
        wheel.set("heartbeat", 20);
        wheel.cancel(&"heartbeat");
        assert_eq!(wheel.len(), 1);
        assert_eq!(
            drain(&mut wheel, 20),
            Vec::<&str>::new(),
            "the old deadline is gone"
        );
        assert_eq!(wheel.next_deadline(), Some(50));
        assert_eq!(drain(&mut wheel, 50), ["election"]);
        assert!(!wheel.is_armed(&"election"), "a fired timer is disarmed");
    }

    #[test]
    fn cancel_where_forgets_only_the_matching_timers() {
        let mut wheel = TimerWheel::new();
        wheel.set((1, "tick"), 5);
        wheel.set((2, "tick"), 6);
        wheel.set((1, "election"), 7);
        wheel.cancel_where(|(node, _)| *node == 1);
        assert_eq!(wheel.len(), 1);
        assert_eq!(wheel.expire(100), Some((2, "tick")));
        assert_eq!(wheel.expire(100), None);
    }
}
