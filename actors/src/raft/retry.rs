//! The one retry policy of Raft's clients (the gateway's store calls, the transport's
//! client, the models' clients): which member the next attempt goes to, and whether it
//! waits first. A request is retried under the same id, so the replicas' sessions answer
//! a repeat with the first outcome instead of applying it twice.
//!
//! The policy keeps only the member it aims at; the members themselves are the caller's
//! (its configuration, or what it learned from a status), passed to each decision.

use crate::kernel::NodeId;
use crate::raft::Refusal;

/// What a client does with a request a member refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextAttempt {
    /// Send it again now, to [`RaftRetry::target`] (the leader the refusal named).
    Now,
    /// Send it again to [`RaftRetry::target`] after a pause: an election is under way,
    /// the leader is busy, or the member that refused cannot serve.
    AfterPause,
    /// It can never succeed: answer the caller with the refusal.
    GiveUp,
}

/// The member a client's next attempt goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RaftRetry {
    target: NodeId,
}

impl RaftRetry {
    pub fn new(target: NodeId) -> RaftRetry {
        RaftRetry { target }
    }

    /// The member the next attempt goes to.
    pub fn target(&self) -> NodeId {
        self.target
    }

    /// Aims at `leader` when it is a member, else at the member after the current target.
    pub fn follow(&mut self, members: &[NodeId], leader: Option<NodeId>) {
        match leader.filter(|leader| members.contains(leader)) {
            Some(leader) => self.target = leader,
            None => self.target = member_after(members, self.target),
        }
    }

    /// Decides after `from` refused a request (the caller has checked that attempts
    /// remain). A refusal from a member other than the target (an earlier attempt's,
    /// arriving late) does not move the target.
    pub fn on_refusal(
        &mut self,
        members: &[NodeId],
        from: NodeId,
        refusal: &Refusal,
    ) -> NextAttempt {
        match refusal {
            Refusal::NotLeader {
                leader: Some(leader),
            } if members.contains(leader) => {
                self.target = *leader;
                NextAttempt::Now
            }
            // No leader known (an election), or this member cannot serve (its disk).
            Refusal::NotLeader { .. } | Refusal::Unavailable { .. } => {
                if from == self.target {
                    self.target = member_after(members, from);
                }
                NextAttempt::AfterPause
            }
            Refusal::Busy { .. } => NextAttempt::AfterPause,
            Refusal::Invalid { .. } => NextAttempt::GiveUp,
        }
    }

    /// Moves on after `silent` let an attempt go unanswered, unless the target has moved
    /// since that attempt was sent.
    pub fn on_silence(&mut self, members: &[NodeId], silent: NodeId) {
        if silent == self.target {
            self.target = member_after(members, silent);
        }
    }
}

/// The member after `after` in `members`, cyclically; the first when `after` is not one.
fn member_after(members: &[NodeId], after: NodeId) -> NodeId {
    assert!(!members.is_empty(), "a Raft client needs a member to ask");
    let at = members
        .iter()
        .position(|member| *member == after)
        .map_or(0, |i| i + 1);
    members[at % members.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMBERS: [NodeId; 3] = [1, 2, 3];

    #[test]
    fn a_named_leader_is_asked_at_once_and_an_unknown_one_after_a_pause() {
        let mut retry = RaftRetry::new(1);
        let named = Refusal::NotLeader { leader: Some(3) };
        assert_eq!(retry.on_refusal(&MEMBERS, 1, &named), NextAttempt::Now);
        assert_eq!(retry.target(), 3);
        let election = Refusal::NotLeader { leader: None };
        assert_eq!(
            retry.on_refusal(&MEMBERS, 3, &election),
            NextAttempt::AfterPause
        );
        assert_eq!(retry.target(), 1, "the member after 3, cyclically");
        let stranger = Refusal::NotLeader { leader: Some(9) };
        assert_eq!(
            retry.on_refusal(&MEMBERS, 1, &stranger),
            NextAttempt::AfterPause
        );
        assert_eq!(
            retry.target(),
            2,
            "a leader outside the members is not followed"
        );
    }

    #[test]
    fn busy_stays_unavailable_moves_on_and_invalid_gives_up() {
        let mut retry = RaftRetry::new(2);
        let busy = Refusal::Busy {
            reason: "full".into(),
        };
        assert_eq!(
            retry.on_refusal(&MEMBERS, 2, &busy),
            NextAttempt::AfterPause
        );
        assert_eq!(retry.target(), 2);
        let disk = Refusal::Unavailable {
            reason: "disk".into(),
        };
        assert_eq!(
            retry.on_refusal(&MEMBERS, 2, &disk),
            NextAttempt::AfterPause
        );
        assert_eq!(retry.target(), 3);
        let invalid = Refusal::Invalid {
            reason: "too big".into(),
        };
        assert_eq!(retry.on_refusal(&MEMBERS, 3, &invalid), NextAttempt::GiveUp);
    }

    #[test]
    fn late_answers_and_old_silences_do_not_move_the_target() {
        let mut retry = RaftRetry::new(2);
        let election = Refusal::NotLeader { leader: None };
        assert_eq!(
            retry.on_refusal(&MEMBERS, 1, &election),
            NextAttempt::AfterPause
        );
        assert_eq!(retry.target(), 2);
        retry.on_silence(&MEMBERS, 1);
        assert_eq!(retry.target(), 2);
        retry.on_silence(&MEMBERS, 2);
        assert_eq!(retry.target(), 3);
        retry.follow(&MEMBERS, None);
        assert_eq!(retry.target(), 1);
        retry.follow(&MEMBERS, Some(3));
        assert_eq!(retry.target(), 3);
    }
}
