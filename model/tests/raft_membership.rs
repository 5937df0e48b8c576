//! Single-server membership changes need a commit of the leader's own term first. Ongaro
//! found the bug in his dissertation's rule in 2015 (raft-dev, "bug in single-server
//! membership changes"): a leader that changes membership before an entry of its term has
//! committed can commit a configuration that a leader of a later term, elected by the
//! other configuration, overwrites. The broken replica is a mutation of the real `Raft`,
//! built here in the test: production code has no switch for it.

mod common;

use common::{assert_safe, assert_violated, Mutant, Mutation, SAFETY};

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::hash::Hash;
use std::time::Duration;

use kactor_actors::kernel::{Actor, Input, NodeId, Outbox};
use kactor_actors::raft::{
    ClientRequest, Entry, HardState, LogPosition, Membership, MembershipChange, Payload, Progress,
    RaftDurable, RaftMsg, RaftPersist, RaftTimer, RequestId, Role, Snapshot,
};
use kactor_model::check::{CheckOptions, Strategy, Verdict};
use kactor_model::raft::{property, Cell, CellRaft, RaftModelCfg};
use stateright::HasDiscoveries;

/// Seconds the broken replica's check may search. It stops at the first violation (a few
/// seconds); this only bounds a run where the properties stopped catching the bug.
const FIND_BUDGET_S: u64 = 120;

/// Seconds the real replica walks the same scenario.
const SURVIVE_BUDGET_S: u64 = 20;

/// Steps per walk: the race plays out in about forty steps, and short walks retry it often.
const WALK_STEPS_MAX: usize = 120;

/// A leader that changes membership as soon as it is asked, before any entry of its own
/// term has committed: the dissertation's rule, without Ongaro's 2015 fix. It still allows
/// one uncommitted change at a time; otherwise it defers to the real replica.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ChangesMembershipBeforeOwnTermCommit;
impl Mutation<CellRaft> for ChangesMembershipBeforeOwnTermCommit {
    fn handle(raft: &mut CellRaft, input: Input<CellRaft>, out: &mut Outbox<CellRaft>) {
        let Input::Message {
            from,
            msg:
                RaftMsg::Request {
                    request,
                    body: ClientRequest::ChangeMembership(change),
                },
        } = &input
        else {
            return raft.handle(input, out);
        };
        let early = raft.role == Role::Leader && !raft.committed_own_term();
        let idle = raft.membership_index <= raft.commit;
        match changed(&raft.membership, change) {
            Some(next) if early && idle => change_early(raft, *from, *request, next, out),
            _ => raft.handle(input, out),
        }
    }
}

/// The membership after `change`, if the change is valid.
fn changed(membership: &Membership, change: &MembershipChange) -> Option<Membership> {
    let mut next = membership.clone();
    let valid = match change {
        MembershipChange::AddVoter { id, address } => {
            next.voters.insert(*id, address.clone()).is_none()
        }
        MembershipChange::RemoveVoter { id } => {
            next.voters.remove(id).is_some() && !next.voters.is_empty()
        }
    };
    valid.then_some(next)
}

/// What `change_membership` and `append_local` do once their guards pass: append the
/// configuration (in force at once), resync progress, commit if a quorum of the new
/// configuration already holds an entry of this term, and replicate.
fn change_early(
    raft: &mut CellRaft,
    client: NodeId,
    request: RequestId,
    next: Membership,
    out: &mut Outbox<CellRaft>,
) {
    assert_eq!(raft.role, Role::Leader);
    assert!(!raft.committed_own_term(), "only the early case is mutated");
    let index = raft.log.last_index() + 1;
    let entry = Entry {
        term: raft.hard.term,
        payload: Payload::Membership(next.clone()),
    };
    raft.pending_replies.insert(index, (client, request));
    raft.membership = next;
    raft.membership_index = index;
    sync_progress(raft, index);
    raft.log.push(entry.clone());
    out.persist(RaftPersist::Append {
        first: index,
        entries: vec![entry],
    });
    assert_eq!(raft.log.last_index(), index);
    if let Some(candidate) = raft.quorum_match_index() {
        if candidate > raft.commit && raft.log.term_at(candidate) == Some(raft.hard.term) {
            raft.commit = candidate;
            raft.apply_committed(out);
        }
    }
    if raft.role == Role::Leader {
        // A heartbeat is exactly `broadcast_append` (and re-arms the heartbeat timer).
        raft.handle(Input::Timer(RaftTimer::Heartbeat), out);
    }
}

/// `Raft::sync_progress`: one progress per voter other than us; new voters start at `next`.
fn sync_progress(raft: &mut CellRaft, next: u64) {
    let me = raft.id();
    let voters = raft.membership.voters.clone();
    raft.progress
        .retain(|id, _| *id != me && voters.contains_key(id));
    for id in voters.keys().filter(|id| **id != me) {
        raft.progress.entry(*id).or_insert(Progress::new(next));
    }
    assert!(!raft.progress.contains_key(&me));
}

fn voters(ids: &[NodeId]) -> Membership {
    Membership {
        voters: ids.iter().map(|id| (*id, String::new())).collect(),
    }
}

/// Ongaro's scenario, with S1..S5 as replicas 0..4. The cluster is C0 = {0,1,2,3}, whose
/// first entry (index 1, term 1) committed and was compacted into every snapshot. Replica 0
/// led term 1 and appended C1 = C0 + {4} at index 2, which reached only replica 4.
/// An operator's request to remove replica 3 (C2 = {0,1,2}) is in flight to replica 1,
/// and stays deliverable (the network duplicates) until replica 1 leads.
///
/// The bug: replica 1 wins term 2 in C0 (with 2 and 3), appends C2 before its no-op
/// commits, and commits C2 with replica 2 (2 of 3). Replica 0 then wins term 3 in C1 with
/// 3 and 4 (3 of 5, their logs are no newer), and overwrites the committed C2.
/// The real replica refuses the change until its no-op commits in C0 (3 of 4): that
/// quorum overlaps {0,3,4}, so no replica with C1 as its last entry can then win.
fn ongaro_2015() -> RaftModelCfg {
    let snapshot = Snapshot {
        position: LogPosition { index: 1, term: 1 },
        membership: voters(&[0, 1, 2, 3]),
        machine: Cell::default(),
        sessions: Default::default(),
    };
    let add_four = Entry {
        term: 1,
        payload: Payload::Membership(voters(&[0, 1, 2, 3, 4])),
    };
    let image = |voted_for: Option<NodeId>, entries: Vec<Entry<u8>>| RaftDurable {
        hard: HardState { term: 1, voted_for },
        snapshot: Some(snapshot.clone()),
        entries,
    };
    let remove_three = RaftMsg::Request {
        request: 1,
        body: ClientRequest::ChangeMembership(MembershipChange::RemoveVoter { id: 3 }),
    };
    RaftModelCfg {
        servers: 5,
        clients: 0,
        max_crashes: 0,
        lossy: false,
        snapshot_entries_threshold: 100,
        initial_durables: vec![
            image(Some(0), vec![add_four.clone()]),
            image(Some(0), vec![]),
            image(Some(0), vec![]),
            image(Some(0), vec![]),
            image(None, vec![add_four]),
        ],
        initial_messages: vec![(3, 1, remove_three)],
        // Five replicas broadcast to four peers each, and the network keeps what it
        // delivered.
        network_messages_max: 64,
        ..RaftModelCfg::default()
    }
}

fn walk_options(seconds: u64, finish_when: Option<HasDiscoveries>) -> CheckOptions {
    CheckOptions {
        strategy: Strategy::Simulation { seed: 1 },
        budget: Duration::from_secs(seconds),
        threads: 1,
        depth_max: Some(WALK_STEPS_MAX),
        progress: false,
        finish_when,
        ..CheckOptions::default()
    }
}

#[test]
fn safety_catches_a_membership_change_before_an_own_term_commit() {
    let any_safety = HasDiscoveries::AnyOf(BTreeSet::from(SAFETY));
    let options = walk_options(FIND_BUDGET_S, Some(any_safety));
    let report = kactor_model::raft::check::<Mutant<CellRaft, ChangesMembershipBeforeOwnTermCommit>>(
        ongaro_2015(),
        &options,
    );
    report.print_table();
    assert_violated(&report, property::LEADER_COMPLETENESS);
}

#[test]
fn the_real_raft_survives_ongaros_membership_scenario() {
    let options = walk_options(SURVIVE_BUDGET_S, None);
    let report = kactor_model::raft::check::<CellRaft>(ongaro_2015(), &options);
    report.print_table();
    assert_safe(&report);
    assert_eq!(
        report.property(property::LEADER_ELECTED).verdict,
        Verdict::Reached
    );
}
