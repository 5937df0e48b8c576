//! A linearizability checker for histories recorded from real processes (Wing & Gong's
//! search with Lowe's memoization, as porcupine and Knossos do), for one register per key:
//! writes, reads and compare-and-swaps. Keys are checked separately (linearizability is
//! compositional).
//!
//! An operation whose outcome is unknown (its client gave up) may have taken effect at any
//! moment after it started, or never: the search may place it or leave it out.

use std::collections::HashSet;
use std::time::Instant;

/// States the search may visit for one key before it gives up with `Unknown`.
pub const SEARCH_STATES_MAX: usize = 2_000_000;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegisterOp {
    Write(u64),
    /// `None`: the key was absent.
    Read(Option<u64>),
    /// Swap to `to` if the value is `from`; `swapped` is what the store answered.
    Cas {
        from: u64,
        to: u64,
        swapped: bool,
    },
}

#[derive(Clone, Debug)]
pub struct Operation {
    pub client: usize,
    pub started: Instant,
    /// `None`: the outcome is unknown.
    pub ended: Option<Instant>,
    pub op: RegisterOp,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Linearizable,
    /// No order of the operations explains the results.
    Violated,
    /// The search exceeded `SEARCH_STATES_MAX`.
    Unknown,
}

/// The register's value after `op`, if `op` could have run on `value` with its result.
fn step(value: Option<u64>, op: &RegisterOp, known: bool) -> Option<Option<u64>> {
    match op {
        RegisterOp::Write(v) => Some(Some(*v)),
        RegisterOp::Read(seen) => (*seen == value).then_some(value),
        // An unknown swap might have done either; the search tries the one that fits.
        RegisterOp::Cas { from, to, swapped } => {
            let matches = value == Some(*from);
            match (known, *swapped, matches) {
                (true, true, true) | (false, _, true) => Some(Some(*to)),
                (true, false, false) => Some(value),
                _ => None,
            }
        }
    }
}

/// Checks one key's history, starting from an absent key.
pub fn check(history: &[Operation]) -> Verdict {
    let n = history.len();
    let mut done = vec![false; n];
    let mut seen: HashSet<(Vec<bool>, Option<u64>)> = HashSet::new();
    let mut budget = SEARCH_STATES_MAX;
    match search(history, &mut done, None, &mut seen, &mut budget) {
        Some(true) => Verdict::Linearizable,
        Some(false) => Verdict::Violated,
        None => Verdict::Unknown,
    }
}

/// Depth-first: linearize, next, any operation that no pending completed operation
/// precedes in real time. `None` when the budget ran out.
fn search(
    history: &[Operation],
    done: &mut Vec<bool>,
    value: Option<u64>,
    seen: &mut HashSet<(Vec<bool>, Option<u64>)>,
    budget: &mut usize,
) -> Option<bool> {
    let pending_known = (0..history.len()).filter(|i| !done[*i] && history[*i].ended.is_some());
    // Every operation that must be placed has been: the history is explained.
    let Some(first_end) = pending_known.filter_map(|i| history[i].ended).min() else {
        return Some(true);
    };
    if !seen.insert((done.clone(), value)) {
        return Some(false);
    }
    *budget = budget.checked_sub(1)?;
    for i in 0..history.len() {
        let op = &history[i];
        // Placeable next only if it started before every pending operation ended.
        if done[i] || op.started > first_end {
            continue;
        }
        if let Some(next) = step(value, &op.op, op.ended.is_some()) {
            done[i] = true;
            let found = search(history, done, next, seen, budget);
            done[i] = false;
            if found != Some(false) {
                return found;
            }
        }
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn op(client: usize, start_ms: u64, end_ms: Option<u64>, op: RegisterOp) -> Operation {
        let zero = Instant::now();
        let at = |ms| zero + Duration::from_millis(ms);
        Operation {
            client,
            started: at(start_ms),
            ended: end_ms.map(at),
            op,
        }
    }

    #[test]
    fn concurrent_operations_may_take_either_order() {
        let history = [
            op(0, 0, Some(10), RegisterOp::Write(1)),
            op(1, 5, Some(15), RegisterOp::Read(None)),
            op(1, 20, Some(30), RegisterOp::Read(Some(1))),
        ];
        assert_eq!(check(&history), Verdict::Linearizable);
    }

    #[test]
    fn a_stale_read_after_a_completed_write_is_a_violation() {
        let history = [
            op(0, 0, Some(10), RegisterOp::Write(1)),
            op(0, 11, Some(20), RegisterOp::Write(2)),
            op(1, 21, Some(30), RegisterOp::Read(Some(1))),
        ];
        assert_eq!(check(&history), Verdict::Violated);
    }

    #[test]
    fn a_lost_acknowledged_write_is_a_violation() {
        let history = [
            op(0, 0, Some(10), RegisterOp::Write(1)),
            op(1, 20, Some(30), RegisterOp::Read(None)),
        ];
        assert_eq!(check(&history), Verdict::Violated);
    }

    #[test]
    fn an_unknown_write_may_or_may_not_have_happened() {
        let happened = [
            op(0, 0, None, RegisterOp::Write(1)),
            op(1, 20, Some(30), RegisterOp::Read(Some(1))),
        ];
        assert_eq!(check(&happened), Verdict::Linearizable);
        let did_not = [
            op(0, 0, None, RegisterOp::Write(1)),
            op(1, 20, Some(30), RegisterOp::Read(None)),
        ];
        assert_eq!(check(&did_not), Verdict::Linearizable);
        let flickers = [
            op(0, 0, None, RegisterOp::Write(1)),
            op(1, 20, Some(30), RegisterOp::Read(Some(1))),
            op(1, 40, Some(50), RegisterOp::Read(None)),
        ];
        assert_eq!(check(&flickers), Verdict::Violated);
    }

    #[test]
    fn compare_and_swap_results_must_fit_the_value() {
        let ok = [
            op(0, 0, Some(10), RegisterOp::Write(1)),
            op(
                1,
                20,
                Some(30),
                RegisterOp::Cas {
                    from: 1,
                    to: 2,
                    swapped: true,
                },
            ),
            op(0, 40, Some(50), RegisterOp::Read(Some(2))),
        ];
        assert_eq!(check(&ok), Verdict::Linearizable);
        let double_swap = [
            op(0, 0, Some(10), RegisterOp::Write(1)),
            op(
                1,
                20,
                Some(30),
                RegisterOp::Cas {
                    from: 1,
                    to: 2,
                    swapped: true,
                },
            ),
            op(
                2,
                20,
                Some(30),
                RegisterOp::Cas {
                    from: 1,
                    to: 3,
                    swapped: true,
                },
            ),
        ];
        assert_eq!(check(&double_swap), Verdict::Violated);
    }
}
