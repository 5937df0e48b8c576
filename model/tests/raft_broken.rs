//! Every Raft property is shown to catch a deliberately broken replica. Each broken
//! variant is a mutation of the real `Raft`, built here in the test: production code has
//! no switch for any of them.

mod common;

use common::{assert_safe, assert_violated, Mutant, Mutation};

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::hash::Hash;
use std::time::Duration;

use kactor_actors::kernel::{Actor, Effect, Input, Outbox};
use kactor_actors::raft::{
    ClientReply, ClientRequest, Entry, HardState, LogPosition, Payload, RaftDurable, RaftMsg,
    RaftPersist, Role,
};
use kactor_model::check::{run, CheckOptions, CheckReport, Strategy, Verdict};
use kactor_model::raft::{property, Cell, CellRaft, RaftModelCfg};
use stateright::HasDiscoveries;

/// Seconds a check may search for a violation. Searches stop at the first find (most take
/// seconds); this only bounds a run where a property stopped catching its broken variant.
const FIND_BUDGET_S: u64 = 300;

/// Checks the mutant until `name` is discovered (or the budget runs out).
fn check<M: Mutation<CellRaft>>(
    cfg: RaftModelCfg,
    strategy: Strategy,
    seconds: u64,
    name: &'static str,
) -> CheckReport {
    let options = CheckOptions {
        strategy,
        budget: Duration::from_secs(seconds),
        progress: false,
        finish_when: Some(HasDiscoveries::AnyOf(BTreeSet::from([name]))),
        ..CheckOptions::default()
    };
    let report = kactor_model::raft::check::<Mutant<CellRaft, M>>(cfg, &options);
    report.print_table();
    report
}

fn elections_only() -> RaftModelCfg {
    RaftModelCfg {
        clients: 0,
        lossy: false,
        ..RaftModelCfg::default()
    }
}

/// Answers a vote before (indeed without) persisting it: after a crash the voter forgets
/// and votes again in the same term.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct VotesBeforePersisting;
impl Mutation<CellRaft> for VotesBeforePersisting {
    fn handle(raft: &mut CellRaft, input: Input<CellRaft>, out: &mut Outbox<CellRaft>) {
        let is_vote = matches!(
            input,
            Input::Message {
                msg: RaftMsg::RequestVote {
                    pre_vote: false,
                    ..
                },
                ..
            }
        );
        raft.handle(input, out);
        if is_vote {
            out.retain(|e| !matches!(e, Effect::Persist(RaftPersist::HardState(_))));
        }
    }
}

#[test]
fn election_safety_catches_a_vote_answered_before_it_is_persisted() {
    let report = check::<VotesBeforePersisting>(
        elections_only(),
        Strategy::Simulation { seed: 1 },
        FIND_BUDGET_S,
        property::ELECTION_SAFETY,
    );
    assert_violated(&report, property::ELECTION_SAFETY);
}

/// Grants votes without the "candidate's log is at least as up to date" check.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct VotesForStaleLogs;
impl Mutation<CellRaft> for VotesForStaleLogs {
    fn handle(raft: &mut CellRaft, mut input: Input<CellRaft>, out: &mut Outbox<CellRaft>) {
        if let Input::Message {
            msg: RaftMsg::RequestVote { last, .. },
            ..
        } = &mut input
        {
            *last = LogPosition {
                index: u64::MAX,
                term: u64::MAX,
            };
        }
        raft.handle(input, out)
    }
}

#[test]
fn leader_completeness_catches_votes_for_candidates_with_stale_logs() {
    let cfg = RaftModelCfg {
        client_reads: false,
        ..RaftModelCfg::default()
    };
    let report = check::<VotesForStaleLogs>(
        cfg,
        Strategy::Simulation { seed: 1 },
        FIND_BUDGET_S,
        property::LEADER_COMPLETENESS,
    );
    assert_violated(&report, property::LEADER_COMPLETENESS);
}

/// Skips the AppendEntries consistency check on `prev`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SkipsConsistencyCheck;
impl Mutation<CellRaft> for SkipsConsistencyCheck {
    fn handle(raft: &mut CellRaft, mut input: Input<CellRaft>, out: &mut Outbox<CellRaft>) {
        if let Input::Message {
            msg: RaftMsg::AppendEntries { prev, .. },
            ..
        } = &mut input
        {
            if let Some(term) = raft.log.term_at(prev.index) {
                prev.term = term;
            }
        }
        raft.handle(input, out)
    }
}

#[test]
fn log_matching_catches_appends_without_the_consistency_check() {
    let cfg = RaftModelCfg {
        client_reads: false,
        ..RaftModelCfg::default()
    };
    let report = check::<SkipsConsistencyCheck>(
        cfg,
        Strategy::Simulation { seed: 1 },
        FIND_BUDGET_S,
        property::LOG_MATCHING,
    );
    assert_violated(&report, property::LOG_MATCHING);
}

/// Commits an entry of an earlier term as soon as a quorum stores it (Raft's Figure 8).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct CommitsEarlierTermsByCounting;
impl Mutation<CellRaft> for CommitsEarlierTermsByCounting {
    fn handle(raft: &mut CellRaft, input: Input<CellRaft>, out: &mut Outbox<CellRaft>) {
        raft.handle(input, out);
        if raft.role != Role::Leader {
            return;
        }
        if let Some(index) = raft.quorum_match_index() {
            if index > raft.commit {
                raft.commit = index;
                raft.apply_committed(out);
            }
        }
    }
}

fn entry(term: u64, payload: Payload<u8>) -> Entry<u8> {
    Entry { term, payload }
}

fn command(request: u64, value: u8) -> Payload<u8> {
    Payload::Command {
        client: 9,
        request,
        command: value,
    }
}

fn image(term: u64, voted_for: u64, entries: Vec<Entry<u8>>) -> RaftDurable<Cell> {
    RaftDurable {
        hard: HardState {
            term,
            voted_for: Some(voted_for),
        },
        snapshot: None,
        entries,
    }
}

fn walk_options(seconds: u64) -> CheckOptions {
    CheckOptions {
        strategy: Strategy::Simulation { seed: 1 },
        budget: Duration::from_secs(seconds),
        progress: false,
        ..CheckOptions::default()
    }
}

/// Raft's Figure 8 on three replicas: S0 led term 2 and holds an entry of term 2 nobody
/// else has; S2 led term 3 and holds a different entry at the same index.
fn figure_8() -> RaftModelCfg {
    RaftModelCfg {
        clients: 0,
        max_crashes: 1,
        append_entries_max: 1,
        snapshot_entries_threshold: 100,
        initial_durables: vec![
            image(2, 0, vec![entry(1, Payload::Noop), entry(2, command(1, 1))]),
            image(3, 2, vec![entry(1, Payload::Noop)]),
            image(3, 2, vec![entry(1, Payload::Noop), entry(3, command(2, 2))]),
        ],
        ..RaftModelCfg::default()
    }
}

#[test]
fn state_machine_safety_catches_commits_of_earlier_terms_by_counting() {
    let report = check::<CommitsEarlierTermsByCounting>(
        figure_8(),
        Strategy::Simulation { seed: 1 },
        FIND_BUDGET_S,
        property::STATE_MACHINE_SAFETY,
    );
    assert_violated(&report, property::STATE_MACHINE_SAFETY);
}

#[test]
fn the_real_raft_survives_figure_8() {
    let report = kactor_model::raft::check::<CellRaft>(figure_8(), &walk_options(15));
    report.print_table();
    assert_safe(&report);
}

/// A leader that serves reads from its own state, without confirming leadership.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ReadsWithoutReadIndex;
impl Mutation<CellRaft> for ReadsWithoutReadIndex {
    fn handle(raft: &mut CellRaft, input: Input<CellRaft>, out: &mut Outbox<CellRaft>) {
        if let Input::Message {
            from,
            msg:
                RaftMsg::Request {
                    request,
                    body: ClientRequest::Read(()),
                },
        } = &input
        {
            if raft.role == Role::Leader {
                let body = ClientReply::Output(raft.machine.0);
                return out.send(
                    *from,
                    RaftMsg::Reply {
                        request: *request,
                        body,
                    },
                );
            }
        }
        raft.handle(input, out)
    }
}

#[test]
fn linearizability_catches_reads_served_without_read_index() {
    let report = check::<ReadsWithoutReadIndex>(
        RaftModelCfg::default(),
        Strategy::Simulation { seed: 1 },
        FIND_BUDGET_S,
        property::LINEARIZABLE,
    );
    assert_violated(&report, property::LINEARIZABLE);
}

/// A leader that, given a new command, overwrites its last uncommitted command instead of
/// appending after it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct LeaderOverwritesItsLog;
impl Mutation<CellRaft> for LeaderOverwritesItsLog {
    fn handle(raft: &mut CellRaft, input: Input<CellRaft>, out: &mut Outbox<CellRaft>) {
        let is_command = matches!(
            input,
            Input::Message {
                msg: RaftMsg::Request {
                    body: ClientRequest::Command(_),
                    ..
                },
                ..
            }
        );
        let last = raft.log.last_index();
        raft.handle(input, out);
        let grew = raft.log.last_index() == last + 1;
        let overwritable = last > raft.commit
            && matches!(
                raft.log.entry(last).map(|e| &e.payload),
                Some(Payload::Command { .. })
            );
        if raft.role == Role::Leader && is_command && grew && overwritable {
            let entry: Entry<u8> = raft.log.entry(last + 1).expect("just appended").clone();
            raft.log.truncate_from(last);
            raft.log.push(entry.clone());
            out.persist(RaftPersist::Append {
                first: last,
                entries: vec![entry],
            });
            for progress in raft.progress.values_mut() {
                progress.next = progress.next.min(last);
            }
            let peers: Vec<u64> = raft.progress.keys().copied().collect();
            for peer in peers {
                let prev_index = last - 1;
                let prev = LogPosition {
                    index: prev_index,
                    term: raft.log.term_at(prev_index).unwrap_or(0),
                };
                let entries = raft.log.slice(last, 2);
                let msg = RaftMsg::AppendEntries {
                    term: raft.hard.term,
                    prev,
                    entries,
                    commit: raft.commit,
                    read_round: raft.read_round,
                };
                out.send(peer, msg);
            }
        }
    }
}

#[test]
fn leader_append_only_catches_a_leader_that_overwrites_its_log() {
    let cfg = RaftModelCfg {
        client_reads: false,
        max_crashes: 0,
        ..RaftModelCfg::default()
    };
    let report = check::<LeaderOverwritesItsLog>(
        cfg,
        Strategy::Simulation { seed: 1 },
        FIND_BUDGET_S,
        property::LEADER_APPEND_ONLY,
    );
    assert_violated(&report, property::LEADER_APPEND_ONLY);
}

/// Accepts AppendEntries from a leader of an older term as if it were current.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct AcceptsStaleTermAppends;
impl Mutation<CellRaft> for AcceptsStaleTermAppends {
    fn handle(raft: &mut CellRaft, mut input: Input<CellRaft>, out: &mut Outbox<CellRaft>) {
        if let Input::Message {
            msg: RaftMsg::AppendEntries { term, .. },
            ..
        } = &mut input
        {
            *term = (*term).max(raft.hard.term);
        }
        raft.handle(input, out)
    }
}

/// S0 led term 1 and sent an entry nobody kept; S1 and S2 moved on to term 2. That old
/// AppendEntries is still in flight to S1.
fn stale_append_in_flight() -> RaftModelCfg {
    let stale = RaftMsg::AppendEntries {
        term: 1,
        prev: LogPosition { index: 1, term: 1 },
        entries: vec![entry(1, command(1, 1))],
        commit: 1,
        read_round: 0,
    };
    RaftModelCfg {
        clients: 0,
        max_crashes: 0,
        initial_durables: vec![
            image(1, 0, vec![entry(1, Payload::Noop), entry(1, command(1, 1))]),
            image(2, 2, vec![entry(1, Payload::Noop), entry(2, Payload::Noop)]),
            image(2, 2, vec![entry(1, Payload::Noop), entry(2, Payload::Noop)]),
        ],
        initial_messages: vec![(0, 1, stale)],
        ..RaftModelCfg::default()
    }
}

#[test]
fn state_machine_safety_catches_appends_accepted_from_a_stale_term() {
    let report = check::<AcceptsStaleTermAppends>(
        stale_append_in_flight(),
        Strategy::Simulation { seed: 1 },
        FIND_BUDGET_S,
        property::STATE_MACHINE_SAFETY,
    );
    assert_violated(&report, property::STATE_MACHINE_SAFETY);
}

#[test]
fn the_real_raft_ignores_a_stale_append() {
    let report = kactor_model::raft::check::<CellRaft>(stale_append_in_flight(), &walk_options(15));
    report.print_table();
    assert_safe(&report);
}

/// Never asks for votes: the non-vacuity property must notice that nothing ever happens.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct NeverCampaigns;
impl Mutation<CellRaft> for NeverCampaigns {
    fn handle(raft: &mut CellRaft, input: Input<CellRaft>, out: &mut Outbox<CellRaft>) {
        raft.handle(input, out);
        out.retain(|e| {
            !matches!(
                e,
                Effect::Send {
                    msg: RaftMsg::RequestVote { .. },
                    ..
                }
            )
        });
    }
}

#[test]
fn non_vacuity_notices_a_cluster_that_never_elects() {
    let cfg = RaftModelCfg {
        servers: 3,
        clients: 1,
        max_crashes: 0,
        ..RaftModelCfg::default()
    };
    let options = CheckOptions {
        strategy: Strategy::Bfs,
        budget: Duration::from_secs(20),
        progress: false,
        ..CheckOptions::default()
    };
    let report = run(
        "never-campaigns",
        cfg.into_model::<Mutant<CellRaft, NeverCampaigns>>(),
        &options,
    );
    report.print_table();
    assert_eq!(
        report.property(property::LEADER_ELECTED).verdict,
        Verdict::NotReached
    );
    assert_eq!(
        report.property(property::WRITE_COMMITS).verdict,
        Verdict::NotReached
    );
    assert!(!report.passed());
}
