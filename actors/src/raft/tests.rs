//! Deterministic-simulation tests of the Raft replica, plus log properties.

use proptest::prelude::*;

use super::*;
use crate::kernel::NodeId;
use crate::kv::{KvCommand, KvMap, KvOutput, KvQuery};
use crate::sim::{Sim, SimFaults};

type KvRaft = Raft<KvMap>;
const CLIENT: NodeId = 100;

fn calm() -> SimFaults {
    SimFaults {
        drop_per_mille: 0,
        duplicate_per_mille: 0,
        delay_ms_max: 5,
    }
}

fn membership(ids: &[NodeId]) -> Membership {
    Membership {
        voters: ids.iter().map(|id| (*id, format!("n{id}"))).collect(),
    }
}

fn cluster(seed: u64, faults: SimFaults, ids: &[NodeId], threshold: u64) -> Sim<KvRaft> {
    let mut sim = Sim::new(seed, faults);
    for id in ids {
        let mut config = RaftConfig::new(*id, membership(ids));
        config.snapshot_entries_threshold = threshold;
        sim.add_node(*id, config);
    }
    sim
}

fn leaders(sim: &Sim<KvRaft>) -> Vec<(NodeId, Term)> {
    sim.nodes
        .iter()
        .filter_map(|(id, n)| n.actor.as_ref().map(|a| (*id, a)))
        .filter(|(_, a)| a.role == Role::Leader)
        .map(|(id, a)| (id, a.hard.term))
        .collect()
}

/// Runs until exactly one leader of the highest term exists; returns it.
fn await_leader(sim: &mut Sim<KvRaft>) -> NodeId {
    for _ in 0..200 {
        let until = sim.now_ms + 100;
        sim.run_until(until);
        let found = leaders(sim);
        let top = found.iter().map(|(_, t)| *t).max();
        let top_leaders: Vec<_> = found.iter().filter(|(_, t)| Some(*t) == top).collect();
        if top_leaders.len() == 1 {
            let leader = top_leaders[0].0;
            if sim.actor(leader).is_some_and(|a| a.committed_own_term()) {
                return leader;
            }
        }
    }
    panic!("no leader elected");
}

fn put(sim: &mut Sim<KvRaft>, to: NodeId, request: RequestId, key: &str, value: &str) {
    let command = KvCommand::Put {
        key: key.to_string(),
        value: value.as_bytes().to_vec(),
    };
    let body = ClientRequest::Command(command);
    sim.inject(CLIENT, to, RaftMsg::Request { request, body });
}

fn replies(sim: &Sim<KvRaft>) -> Vec<(RequestId, ClientReply<KvMap>)> {
    sim.inbox
        .iter()
        .filter_map(|(_, _, msg)| match msg {
            RaftMsg::Reply { request, body } => Some((*request, body.clone())),
            _ => None,
        })
        .collect()
}

fn acknowledged(sim: &Sim<KvRaft>, request: RequestId) -> bool {
    replies(sim)
        .iter()
        .any(|(r, body)| *r == request && matches!(body, ClientReply::Output(_)))
}

#[test]
fn three_nodes_elect_one_leader_and_replicate() {
    let mut sim = cluster(1, calm(), &[1, 2, 3], 10_000);
    let leader = await_leader(&mut sim);
    for request in 1..=20 {
        put(&mut sim, leader, request, &format!("k{request}"), "v");
    }
    sim.run_until(sim.now_ms + 1000);
    assert!(
        (1..=20).all(|r| acknowledged(&sim, r)),
        "{:?}",
        replies(&sim)
    );
    for id in [1, 2, 3] {
        let raft = sim.actor(id).unwrap();
        assert_eq!(raft.machine.entries.len(), 20, "node {id}");
        assert_eq!(raft.applied, raft.log.last_index());
    }
}

#[test]
fn followers_refuse_commands_and_name_the_leader() {
    let mut sim = cluster(2, calm(), &[1, 2, 3], 10_000);
    let leader = await_leader(&mut sim);
    let follower = [1, 2, 3].into_iter().find(|id| *id != leader).unwrap();
    put(&mut sim, follower, 7, "k", "v");
    sim.run_until(sim.now_ms + 50);
    let refusal = ClientReply::Refused(Refusal::NotLeader {
        leader: Some(leader),
    });
    assert!(replies(&sim).contains(&(7, refusal)));
}

#[test]
fn a_new_leader_keeps_every_acknowledged_write_after_the_old_one_crashes() {
    let mut sim = cluster(3, calm(), &[1, 2, 3], 10_000);
    let first = await_leader(&mut sim);
    for request in 1..=10 {
        put(&mut sim, first, request, &format!("k{request}"), "v");
    }
    sim.run_until(sim.now_ms + 500);
    sim.crash(first);
    let second = await_leader(&mut sim);
    assert_ne!(first, second);
    let raft = sim.actor(second).unwrap();
    for request in (1..=10).filter(|r| acknowledged(&sim, *r)) {
        assert!(raft.machine.entries.contains_key(&format!("k{request}")));
    }
    sim.restart(first);
    sim.run_until(sim.now_ms + 2000);
    assert_eq!(
        sim.actor(first).unwrap().machine,
        sim.actor(second).unwrap().machine
    );
}

#[test]
fn a_lagging_node_catches_up_from_a_snapshot() {
    let mut sim = cluster(4, calm(), &[1, 2, 3], 5);
    let leader = await_leader(&mut sim);
    let lagging = [1, 2, 3].into_iter().find(|id| *id != leader).unwrap();
    sim.crash(lagging);
    for request in 1..=30 {
        put(&mut sim, leader, request, &format!("k{request}"), "v");
        sim.run_until(sim.now_ms + 20);
    }
    let raft = sim.actor(leader).unwrap();
    assert!(raft.log.snapshot.index >= 25, "leader compacted its log");
    sim.restart(lagging);
    sim.run_until(sim.now_ms + 3000);
    let caught_up = sim.actor(lagging).unwrap();
    assert_eq!(caught_up.machine.entries.len(), 30);
    assert!(
        caught_up.snapshot.position.index >= 25,
        "it installed a snapshot"
    );
    // It restarts from what it persisted: the snapshot, then the log above it.
    sim.crash(lagging);
    sim.restart(lagging);
    assert!(sim.actor(lagging).unwrap().applied >= 25);
    sim.run_until(sim.now_ms + 500);
    assert_eq!(sim.actor(lagging).unwrap().machine.entries.len(), 30);
}

#[test]
fn read_index_reads_see_the_latest_write() {
    let mut sim = cluster(5, calm(), &[1, 2, 3], 10_000);
    let leader = await_leader(&mut sim);
    put(&mut sim, leader, 1, "k", "v1");
    sim.run_until(sim.now_ms + 100);
    let query = KvQuery::Get {
        key: "k".to_string(),
    };
    let body = ClientRequest::Read(query);
    sim.inject(CLIENT, leader, RaftMsg::Request { request: 2, body });
    sim.run_until(sim.now_ms + 100);
    let expected = ClientReply::Output(KvOutput::Value(Some(b"v1".to_vec())));
    assert!(
        replies(&sim).contains(&(2, expected)),
        "{:?}",
        replies(&sim)
    );
}

#[test]
fn membership_changes_add_and_remove_voters_one_at_a_time() {
    let mut sim = cluster(6, calm(), &[1, 2, 3], 10_000);
    let leader = await_leader(&mut sim);
    let mut config = RaftConfig::new(4, Membership::default());
    config.snapshot_entries_threshold = 10_000;
    sim.add_node(4, config);
    let add = MembershipChange::AddVoter {
        id: 4,
        address: "n4".to_string(),
    };
    let body = ClientRequest::ChangeMembership(add);
    sim.inject(CLIENT, leader, RaftMsg::Request { request: 1, body });
    sim.run_until(sim.now_ms + 500);
    assert!(matches!(replies(&sim)[..], [(1, ClientReply::Done { .. })]));
    assert!(sim.actor(4).unwrap().membership.contains(4));
    let remove = MembershipChange::RemoveVoter { id: leader };
    let body = ClientRequest::ChangeMembership(remove);
    sim.inject(CLIENT, leader, RaftMsg::Request { request: 2, body });
    sim.run_until(sim.now_ms + 100);
    assert_ne!(
        sim.actor(leader).unwrap().role,
        Role::Leader,
        "removed leader steps down"
    );
    let next = await_leader(&mut sim);
    assert_ne!(next, leader);
    assert_eq!(sim.actor(next).unwrap().membership.voters.len(), 3);
}

#[test]
fn leadership_transfers_to_the_chosen_voter() {
    let mut sim = cluster(7, calm(), &[1, 2, 3], 10_000);
    let leader = await_leader(&mut sim);
    let target = [1, 2, 3].into_iter().find(|id| *id != leader).unwrap();
    let body = ClientRequest::TransferLeadership { target };
    sim.inject(CLIENT, leader, RaftMsg::Request { request: 1, body });
    sim.run_until(sim.now_ms + 200);
    assert_eq!(sim.actor(target).unwrap().role, Role::Leader);
}

#[test]
fn a_partitioned_leader_steps_down_by_check_quorum() {
    let mut sim = cluster(8, calm(), &[1, 2, 3], 10_000);
    let leader = await_leader(&mut sim);
    for other in [1, 2, 3].into_iter().filter(|id| *id != leader) {
        sim.partition(leader, other);
    }
    sim.run_until(sim.now_ms + 5000);
    assert_ne!(sim.actor(leader).unwrap().role, Role::Leader);
    let leaders = leaders(&sim);
    assert_eq!(leaders.len(), 1, "the majority side elected one leader");
}

/// Many seeded runs with loss, duplication, delay and crashes; after each, every pair of
/// replicas agrees on the committed prefix and every acknowledged write is present.
#[test]
fn seeded_fault_runs_keep_committed_state_agreed() {
    let faults = SimFaults {
        drop_per_mille: 50,
        duplicate_per_mille: 50,
        delay_ms_max: 40,
    };
    for seed in 0..40 {
        let mut sim = cluster(1000 + seed, faults, &[1, 2, 3], 7);
        let mut request = 0;
        for round in 0..30u64 {
            let target = 1 + (round % 3);
            request += 1;
            put(
                &mut sim,
                target,
                request,
                &format!("k{}", request % 5),
                &format!("{request}"),
            );
            if round % 10 == 5 {
                let victim = 1 + sim.rng.range(0, 2);
                sim.crash(victim);
                sim.run_until(sim.now_ms + 300);
                sim.restart(victim);
            }
            sim.run_until(sim.now_ms + 150);
        }
        sim.run_until(sim.now_ms + 5000);
        let applied: Vec<_> = [1, 2, 3].map(|id| sim.actor(id).unwrap().clone()).into();
        for a in &applied {
            for b in &applied {
                if a.applied == b.applied {
                    assert_eq!(a.machine, b.machine, "seed {seed}: same index, same state");
                }
            }
        }
        let last = applied.iter().max_by_key(|r| r.applied).unwrap();
        for (r, body) in replies(&sim) {
            if let ClientReply::Output(KvOutput::Applied { revision, .. }) = body {
                assert!(
                    revision <= last.machine.revision,
                    "seed {seed}: request {r} lost"
                );
            }
        }
    }
}

proptest! {
    /// RaftLog against a plain Vec of terms: push, splice, truncate, compact.
    #[test]
    fn raft_log_matches_a_reference(ops in proptest::collection::vec((0u8..4, 0u64..12, 0u64..4), 1..60)) {
        let mut log: RaftLog<()> = RaftLog::default();
        let mut reference: Vec<Term> = Vec::new(); // reference[i] = term of index i + 1
        let mut compacted: Index = 0;
        for (op, a, b) in ops {
            let last_term = reference.last().copied().unwrap_or(0);
            match op {
                0 => {
                    let term = last_term + b;
                    log.push(Entry { term, payload: Payload::Noop });
                    reference.push(term);
                }
                1 if a > compacted && a <= reference.len() as Index + 1 => {
                    let base = if a >= 2 { reference[a as usize - 2] } else { 0 };
                    let entries: Vec<Entry<()>> = (0..b).map(|k| Entry { term: base + k, payload: Payload::Noop }).collect();
                    log.splice(a, &entries);
                    reference.truncate(a as usize - 1);
                    reference.extend(entries.iter().map(|e| e.term));
                }
                2 if a > compacted => {
                    log.truncate_from(a);
                    reference.truncate((a as usize - 1).min(reference.len()));
                }
                3 if a >= compacted && a <= reference.len() as Index && a > 0 => {
                    let term = reference[a as usize - 1];
                    log.compact_to(LogPosition { index: a, term });
                    compacted = a;
                }
                _ => {}
            }
            prop_assert_eq!(log.last_index(), reference.len() as Index);
            for index in compacted + 1..=reference.len() as Index {
                prop_assert_eq!(log.term_at(index), Some(reference[index as usize - 1]));
            }
            prop_assert_eq!(log.term_at(reference.len() as Index + 1), None);
        }
    }
}
