//! The one watcher: what every client of a watch decides, sans IO (kube-runtime's
//! watcher, as an explicit state machine advanced by one step function). List (when the
//! caller can), watch from the revision it has, accept messages that continue it, resume
//! after a gap, silence or a resumable end, relist when the revision expired, pause with
//! a doubling backoff between attempts, and give up after too many resumes without
//! progress.
//!
//! The caller does the IO: it sends the list or watch the step asks for, hands in what
//! came back, delivers a span's events when the step accepts it, and sleeps (or sets a
//! timer) for a pause. The store's client, the gateway's informer and `kactor verify
//! gateway`'s watchers run it; the scheduler and controllers will.
//!
//! Revisions are the store's (a gateway's resourceVersion): a watch message covers a
//! span `first..=last` of revisions, and consecutive messages cover consecutive spans.

use serde::{Deserialize, Serialize};

/// A revision of the store (etcd's; a resourceVersion).
pub type Revision = u64;

/// How a watch message's span relates to what its receiver has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpanVerdict {
    /// It starts right after what the receiver has: deliver it.
    Continues,
    /// It adds nothing: a repeat, or a keepalive (the store's idle notice covers the
    /// empty span after what it sent).
    Repeats,
    /// It does not start right after what the receiver has: a message was lost or
    /// overtaken (or overlaps what was delivered), so what follows would not continue it.
    Gap,
}

/// Where a span `first..=last` stands against `covered` (every revision up to it
/// delivered): the one rule of every watch receiver, the [`Watcher`] and the gateway's
/// cache feed alike.
pub fn classify_span(covered: Revision, first: Revision, last: Revision) -> SpanVerdict {
    if last <= covered || last < first {
        SpanVerdict::Repeats
    } else if first != covered + 1 {
        SpanVerdict::Gap
    } else {
        SpanVerdict::Continues
    }
}

/// How a watch ended, as the watcher's caller reads it from its protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum WatchEnding {
    /// It timed out, or the server let it go (slow, overloaded, restarting): watch again
    /// from the revision it has.
    Resumable,
    /// The revision it has is gone (410 Expired, compacted): list again, or end when the
    /// caller cannot list.
    Expired,
    /// It was cancelled, or can never succeed: stop.
    Final,
}

/// What the watcher is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WatcherPhase {
    /// A list is in flight.
    Listing,
    /// A watch from `covered` is in flight or established.
    Watching,
    /// Pausing before it lists (`relist`) or watches again.
    Paused {
        relist: bool,
    },
    Ended,
}

/// What comes back from the caller's IO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatcherInput {
    /// A (complete, consistent) list arrived at this revision.
    Listed {
        revision: Revision,
    },
    /// The server established a watch from now on: its first revision is `start`.
    Created {
        start: Revision,
    },
    /// The list or the watch request failed (no answer, refused, a lost connection).
    Failed,
    /// A watch message covering `first..=last` arrived (events or a progress notice).
    Span {
        first: Revision,
        last: Revision,
    },
    /// The watch said nothing for longer than the caller's silence bound.
    Silent,
    Ended(WatchEnding),
    /// A pause the watcher asked for is over.
    PauseOver,
}

/// What the caller does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatcherAction {
    /// List, then hand in `Listed` (or `Failed`); replace the cache with the list.
    List,
    /// Watch the changes after `after` (the store's `start_revision` is `after + 1`, a
    /// gateway's `resourceVersion` is `after`), after dropping any current watch; `None`:
    /// from now on (a watcher that cannot list and was given no revision), and the
    /// server's answer says where that is (`Created`).
    Watch { after: Option<Revision> },
    /// Deliver the span's events: they continue what the watcher has.
    Accept,
    /// Drop the span: it repeats what the watcher has.
    Skip,
    /// Sleep `ms`, then hand in `PauseOver`.
    Pause { ms: u64 },
    /// Stop: `reason` says why.
    End { reason: WatcherEndReason },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatcherEndReason {
    /// The revision expired and this watcher cannot list.
    Expired,
    /// The server ended it for good (cancelled).
    Final,
    /// `resumes_max` resumes in a row delivered nothing.
    NoProgress,
}

/// The watcher's bounds. Every one has a reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WatcherLimits {
    /// Resumes in a row without an accepted span before it gives up: a member that keeps
    /// cutting the watch off is not worth watching forever.
    pub resumes_max: u32,
    /// The first pause before watching again; it doubles per resume without progress.
    pub pause_ms_min: u64,
    /// Pauses stop doubling here (client-go's reflector backs off to about 30 s).
    pub pause_ms_max: u64,
    /// Whether the caller can list (an informer can; the store's raw watch cannot, and
    /// ends on expiry).
    pub can_list: bool,
}

/// One watcher's state: the revision it covers and what it is doing.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Watcher {
    limits: WatcherLimits,
    phase: WatcherPhase,
    /// Every revision up to this one was delivered (`None`: nothing yet, a list is due).
    covered: Option<Revision>,
    /// Resumes since the last accepted span.
    resumes: u32,
}

impl Watcher {
    /// A watcher that starts after `covered` (from a caller's own state), or with a list
    /// when `None`. Returns the first action.
    pub fn start(limits: WatcherLimits, covered: Option<Revision>) -> (Watcher, WatcherAction) {
        assert!(limits.pause_ms_min > 0 && limits.pause_ms_min <= limits.pause_ms_max);
        let mut watcher = Watcher {
            limits,
            phase: WatcherPhase::Listing,
            covered,
            resumes: 0,
        };
        let action = watcher.begin(false);
        (watcher, action)
    }

    pub fn phase(&self) -> WatcherPhase {
        self.phase
    }

    /// Every revision up to this one was delivered.
    pub fn covered(&self) -> Option<Revision> {
        self.covered
    }

    /// Resumes since the last accepted span.
    pub fn resumes(&self) -> u32 {
        self.resumes
    }

    fn begin(&mut self, relist: bool) -> WatcherAction {
        if relist || (self.covered.is_none() && self.limits.can_list) {
            self.phase = WatcherPhase::Listing;
            return WatcherAction::List;
        }
        self.phase = WatcherPhase::Watching;
        WatcherAction::Watch {
            after: self.covered,
        }
    }

    fn end(&mut self, reason: WatcherEndReason) -> WatcherAction {
        self.phase = WatcherPhase::Ended;
        WatcherAction::End { reason }
    }

    /// Watch again after a pause, or give up when resumes made no progress.
    fn resume(&mut self, relist: bool) -> WatcherAction {
        if self.resumes >= self.limits.resumes_max {
            return self.end(WatcherEndReason::NoProgress);
        }
        let doublings = self.resumes.min(16);
        let ms = self
            .limits
            .pause_ms_min
            .saturating_mul(1 << doublings)
            .min(self.limits.pause_ms_max);
        self.resumes += 1;
        self.phase = WatcherPhase::Paused { relist };
        WatcherAction::Pause { ms }
    }

    fn expired(&mut self) -> WatcherAction {
        if self.limits.can_list {
            self.covered = None;
            self.resume(true)
        } else {
            self.end(WatcherEndReason::Expired)
        }
    }

    /// Advances the watcher by one input; returns what the caller does next.
    pub fn step(&mut self, input: WatcherInput) -> WatcherAction {
        let action = match (self.phase, input) {
            (WatcherPhase::Ended, _) => WatcherAction::End {
                reason: WatcherEndReason::Final,
            },
            (WatcherPhase::Listing, WatcherInput::Listed { revision }) => {
                self.covered = Some(revision);
                self.begin(false)
            }
            (WatcherPhase::Watching, WatcherInput::Created { start }) => {
                if self.covered.is_none() {
                    self.covered = Some(start.saturating_sub(1));
                }
                WatcherAction::Skip
            }
            (WatcherPhase::Watching, WatcherInput::Span { first, last }) => {
                let Some(covered) = self.covered else {
                    // Events before the watch said where it starts: start again.
                    return self.resume(false);
                };
                match classify_span(covered, first, last) {
                    SpanVerdict::Repeats => WatcherAction::Skip,
                    SpanVerdict::Gap => self.resume(false),
                    SpanVerdict::Continues => {
                        self.covered = Some(last);
                        self.resumes = 0;
                        WatcherAction::Accept
                    }
                }
            }
            (WatcherPhase::Watching, WatcherInput::Ended(WatchEnding::Expired)) => self.expired(),
            (WatcherPhase::Watching, WatcherInput::Ended(WatchEnding::Final)) => {
                self.end(WatcherEndReason::Final)
            }
            (WatcherPhase::Listing | WatcherPhase::Watching, WatcherInput::Failed)
            | (WatcherPhase::Watching, WatcherInput::Silent)
            | (WatcherPhase::Watching, WatcherInput::Ended(WatchEnding::Resumable)) => {
                let relist = self.phase == WatcherPhase::Listing;
                self.resume(relist)
            }
            (WatcherPhase::Paused { relist }, WatcherInput::PauseOver) => self.begin(relist),
            // Anything else is late: an answer to a list or watch the watcher already
            // gave up on. The caller keeps waiting for what it was asked to do.
            (_, _) => return WatcherAction::Skip,
        };
        if let WatcherAction::Watch { after } = action {
            assert_eq!(after, self.covered, "a watch starts where delivery is");
        }
        action
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: WatcherLimits = WatcherLimits {
        resumes_max: 3,
        pause_ms_min: 100,
        pause_ms_max: 250,
        can_list: true,
    };

    #[test]
    fn lists_then_watches_from_the_list_and_accepts_what_continues_it() {
        let (mut w, first) = Watcher::start(LIMITS, None);
        assert_eq!(first, WatcherAction::List);
        assert_eq!(
            w.step(WatcherInput::Listed { revision: 7 }),
            WatcherAction::Watch { after: Some(7) }
        );
        assert_eq!(
            w.step(WatcherInput::Span { first: 8, last: 9 }),
            WatcherAction::Accept
        );
        assert_eq!(
            w.step(WatcherInput::Span { first: 5, last: 9 }),
            WatcherAction::Skip
        );
        assert_eq!(
            w.step(WatcherInput::Span {
                first: 10,
                last: 12
            }),
            WatcherAction::Accept
        );
        assert_eq!(w.covered(), Some(12));
    }

    #[test]
    fn a_span_continues_repeats_or_leaves_a_gap() {
        assert_eq!(classify_span(9, 10, 12), SpanVerdict::Continues);
        assert_eq!(classify_span(9, 5, 9), SpanVerdict::Repeats);
        assert_eq!(classify_span(9, 10, 9), SpanVerdict::Repeats, "a keepalive");
        assert_eq!(classify_span(9, 11, 12), SpanVerdict::Gap);
        assert_eq!(
            classify_span(9, 8, 12),
            SpanVerdict::Gap,
            "an overlap would repeat events"
        );
    }

    #[test]
    fn a_gap_or_silence_resumes_from_what_it_has_after_a_doubling_pause() {
        let (mut w, _) = Watcher::start(LIMITS, Some(10));
        assert_eq!(
            w.step(WatcherInput::Span {
                first: 13,
                last: 14
            }),
            WatcherAction::Pause { ms: 100 }
        );
        assert_eq!(
            w.step(WatcherInput::PauseOver),
            WatcherAction::Watch { after: Some(10) }
        );
        assert_eq!(
            w.step(WatcherInput::Silent),
            WatcherAction::Pause { ms: 200 }
        );
        assert_eq!(
            w.step(WatcherInput::Span {
                first: 11,
                last: 11
            }),
            WatcherAction::Skip,
            "late"
        );
        assert_eq!(
            w.step(WatcherInput::PauseOver),
            WatcherAction::Watch { after: Some(10) }
        );
        assert_eq!(
            w.step(WatcherInput::Ended(WatchEnding::Resumable)),
            WatcherAction::Pause { ms: 250 },
            "capped"
        );
        assert_eq!(
            w.step(WatcherInput::PauseOver),
            WatcherAction::Watch { after: Some(10) }
        );
        assert_eq!(
            w.step(WatcherInput::Failed),
            WatcherAction::End {
                reason: WatcherEndReason::NoProgress
            }
        );
    }

    #[test]
    fn progress_resets_the_resume_count() {
        let (mut w, _) = Watcher::start(LIMITS, Some(1));
        for round in 0..10 {
            assert!(matches!(
                w.step(WatcherInput::Silent),
                WatcherAction::Pause { .. }
            ));
            assert_eq!(
                w.step(WatcherInput::PauseOver),
                WatcherAction::Watch {
                    after: Some(1 + round)
                }
            );
            assert_eq!(
                w.step(WatcherInput::Span {
                    first: 2 + round,
                    last: 2 + round
                }),
                WatcherAction::Accept
            );
            assert_eq!(w.resumes(), 0);
        }
    }

    #[test]
    fn an_expired_revision_relists_or_ends_when_listing_is_impossible() {
        let (mut w, _) = Watcher::start(LIMITS, Some(4));
        assert_eq!(
            w.step(WatcherInput::Ended(WatchEnding::Expired)),
            WatcherAction::Pause { ms: 100 }
        );
        assert_eq!(w.step(WatcherInput::PauseOver), WatcherAction::List);
        assert_eq!(w.covered(), None);
        assert_eq!(
            w.step(WatcherInput::Failed),
            WatcherAction::Pause { ms: 200 }
        );
        assert_eq!(
            w.step(WatcherInput::PauseOver),
            WatcherAction::List,
            "a failed list lists again"
        );
        assert_eq!(
            w.step(WatcherInput::Listed { revision: 40 }),
            WatcherAction::Watch { after: Some(40) }
        );

        let raw = WatcherLimits {
            can_list: false,
            ..LIMITS
        };
        let (mut w, first) = Watcher::start(raw, Some(4));
        assert_eq!(first, WatcherAction::Watch { after: Some(4) });
        let (mut from_now, first) = Watcher::start(raw, None);
        assert_eq!(first, WatcherAction::Watch { after: None });
        assert_eq!(
            from_now.step(WatcherInput::Created { start: 9 }),
            WatcherAction::Skip
        );
        assert_eq!(
            from_now.step(WatcherInput::Span { first: 9, last: 9 }),
            WatcherAction::Accept
        );
        assert_eq!(
            w.step(WatcherInput::Ended(WatchEnding::Expired)),
            WatcherAction::End {
                reason: WatcherEndReason::Expired
            }
        );
        assert_eq!(w.phase(), WatcherPhase::Ended);
    }

    #[test]
    fn a_final_end_stops_for_good() {
        let (mut w, _) = Watcher::start(LIMITS, Some(4));
        assert_eq!(
            w.step(WatcherInput::Ended(WatchEnding::Final)),
            WatcherAction::End {
                reason: WatcherEndReason::Final
            }
        );
        assert!(matches!(
            w.step(WatcherInput::PauseOver),
            WatcherAction::End { .. }
        ));
    }
}
