//! Deterministic simulations of a three-member store: reads, watches and leases under
//! loss, duplication, reordering and crashes. A seed replays a run.

use super::*;
use crate::kernel::NodeId;
use crate::raft::{ClientReply, ClientRequest, Membership, RaftConfig, RaftMsg, RequestId, Role};
use crate::sim::{Sim, SimFaults};

const CLIENT: NodeId = 100;
const MEMBERS: [NodeId; 3] = [1, 2, 3];

fn calm() -> SimFaults {
    SimFaults {
        drop_per_mille: 0,
        duplicate_per_mille: 0,
        delay_ms_max: 5,
    }
}

fn rough() -> SimFaults {
    SimFaults {
        drop_per_mille: 50,
        duplicate_per_mille: 50,
        delay_ms_max: 40,
    }
}

fn cluster(seed: u64, faults: SimFaults) -> Sim<Store> {
    let membership = Membership {
        voters: MEMBERS.iter().map(|id| (*id, format!("n{id}"))).collect(),
    };
    let mut sim = Sim::new(seed, faults);
    for id in MEMBERS {
        let mut raft = RaftConfig::new(id, membership.clone());
        raft.snapshot_entries_threshold = 50;
        sim.add_node(id, StoreConfig::new(raft));
    }
    sim
}

fn leader(sim: &Sim<Store>) -> Option<NodeId> {
    let leaders: Vec<(u64, NodeId)> = MEMBERS
        .iter()
        .filter_map(|id| sim.actor(*id).map(|s| (s, *id)))
        .filter(|(s, _)| s.raft.role == Role::Leader && s.raft.committed_own_term())
        .map(|(s, id)| (s.raft.hard.term, id))
        .collect();
    leaders.iter().max().map(|(_, id)| *id)
}

fn await_leader(sim: &mut Sim<Store>) -> NodeId {
    for _ in 0..600 {
        if let Some(id) = leader(sim) {
            return id;
        }
        let until = sim.now_ms + 50;
        sim.run_until(until);
    }
    panic!("no leader within 30 simulated seconds");
}

/// Sends `body` to the leader until a reply to `request` arrives; returns it.
fn ask(sim: &mut Sim<Store>, request: RequestId, body: ClientRequest<Mvcc>) -> ClientReply<Mvcc> {
    for _ in 0..100 {
        let to = await_leader(sim);
        let msg = RaftMsg::Request {
            request,
            body: body.clone(),
        };
        sim.inject(CLIENT, to, StoreMsg::Raft(msg));
        let until = sim.now_ms + 300;
        sim.run_until(until);
        let reply = sim.inbox.iter().find_map(|(_, to, msg)| match msg {
            StoreMsg::Raft(RaftMsg::Reply { request: r, body })
                if *to == CLIENT && *r == request && !matches!(body, ClientReply::Refused(_)) =>
            {
                Some(body.clone())
            }
            _ => None,
        });
        if let Some(reply) = reply {
            return reply;
        }
    }
    panic!("request {request} was never answered");
}

fn command(sim: &mut Sim<Store>, request: RequestId, command: StoreCommand) -> StoreOutput {
    match ask(sim, request, ClientRequest::Command(command)) {
        ClientReply::Output(output) => output,
        other => panic!("{other:?}"),
    }
}

fn put(key: &str, value: &str, lease: LeaseId) -> StoreCommand {
    StoreCommand::Put(PutRequest {
        key: key.as_bytes().to_vec(),
        value: value.as_bytes().to_vec(),
        lease,
        prev_kv: false,
    })
}

fn get(sim: &mut Sim<Store>, request: RequestId, key: &str) -> Option<KeyValue> {
    let range = RangeRequest::latest(KeySpan::Key(key.as_bytes().to_vec()));
    match ask(sim, request, ClientRequest::Read(StoreQuery::Range(range))) {
        ClientReply::Output(StoreOutput::Range(response)) => response.kvs.into_iter().next(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn writes_are_read_linearizably_and_serializably() {
    let mut sim = cluster(1, calm());
    let first = command(&mut sim, 1, put("a", "1", 0));
    assert!(
        matches!(first, StoreOutput::Put { revision: 2, .. }),
        "{first:?}"
    );
    command(&mut sim, 2, put("a", "2", 0));
    let kv = get(&mut sim, 3, "a").expect("a is set");
    assert_eq!(
        (kv.value.as_slice(), kv.version, kv.create_revision),
        (&b"2"[..], 2, 2)
    );
    // A follower answers from its own applied state once it has caught up.
    let follower = MEMBERS
        .into_iter()
        .find(|id| Some(*id) != leader(&sim))
        .unwrap();
    let range = RangeRequest::latest(KeySpan::Prefix(Vec::new()));
    let body = LocalRequest::Range(range);
    sim.inject(CLIENT, follower, StoreMsg::Local { request: 4, body });
    let until = sim.now_ms + 500;
    sim.run_until(until);
    let local = sim.inbox.iter().find_map(|(_, _, msg)| match msg {
        StoreMsg::LocalReply { request: 4, body } => Some(body.clone()),
        _ => None,
    });
    let Some(LocalReply::Range(response)) = local else {
        panic!("{local:?}")
    };
    assert_eq!(response.kvs.len(), 1);
    assert_eq!(response.revision, 3);
}

/// A watching client as the real one will be: it acknowledges, drops duplicates, and on a
/// gap (a lost or reordered message) or an ended watch resumes from what it has.
struct Watching {
    node: NodeId,
    watch: WatchId,
    span: KeySpan,
    /// Every revision up to this one has been delivered.
    covered: Revision,
    events: Vec<Event>,
    resumes: u32,
    /// Calls to `consume` since this watch last heard anything.
    silent_rounds: u32,
}

/// Rounds of silence after which a client assumes its watch (or the request that would
/// have made it) was lost: well over a bookmark interval.
const SILENT_ROUNDS_MAX: u32 = 30;

impl Watching {
    fn start(sim: &mut Sim<Store>, node: NodeId, span: KeySpan, from: Revision) -> Watching {
        let mut watching = Watching {
            node,
            watch: 0,
            span,
            covered: from - 1,
            events: Vec::new(),
            resumes: 0,
            silent_rounds: 0,
        };
        watching.resume(sim);
        watching
    }

    fn resume(&mut self, sim: &mut Sim<Store>) {
        self.watch += 1;
        self.resumes += 1;
        let request = WatchRequest {
            watch: self.watch,
            span: self.span.clone(),
            start_revision: self.covered + 1,
            prev_kv: true,
        };
        sim.inject(CLIENT, self.node, StoreMsg::Watch(request));
    }

    /// Takes this watch's messages from the client inbox.
    fn consume(&mut self, sim: &mut Sim<Store>) {
        let inbox = std::mem::take(&mut sim.inbox);
        self.silent_rounds += 1;
        let mut gap = false;
        for (from, _, msg) in inbox {
            let (watch, first, last, events) = match msg {
                StoreMsg::WatchEvents {
                    watch,
                    from_revision,
                    revision,
                    events,
                } => (watch, from_revision, revision, events),
                StoreMsg::WatchProgress {
                    watch,
                    from_revision,
                    revision,
                } => (watch, from_revision, revision, Vec::new()),
                StoreMsg::WatchEnded { watch, end } if watch == self.watch => {
                    assert_eq!(end, WatchEnd::Slow, "only a lossy link ends this watch");
                    gap = true;
                    continue;
                }
                _ => continue,
            };
            if watch != self.watch || from != self.node || last <= self.covered {
                continue; // an old watch's message, or a duplicate
            }
            self.silent_rounds = 0;
            if first != self.covered + 1 {
                gap = true;
                continue;
            }
            self.events.extend(events);
            self.covered = last;
            let ack = StoreMsg::WatchAck {
                watch,
                revision: last,
            };
            sim.inject(CLIENT, self.node, ack);
        }
        if gap || self.silent_rounds > SILENT_ROUNDS_MAX {
            self.silent_rounds = 0;
            let cancel = StoreMsg::WatchCancel { watch: self.watch };
            sim.inject(CLIENT, self.node, cancel);
            self.resume(sim);
        }
    }
}

/// Ordered, Unique, Atomic and Reliable: across loss, duplication, reordering and crashes
/// of the other members, the watcher sees exactly the history's matching events, in
/// revision order, each once.
#[test]
fn watches_deliver_every_matching_event_once_in_order_under_faults() {
    for seed in 1..=6 {
        let mut sim = cluster(seed, rough());
        let node = await_leader(&mut sim);
        let span = KeySpan::Prefix(b"/pods/".to_vec());
        let mut watching = Watching::start(&mut sim, node, span.clone(), 1);
        let mut request = 0;
        for round in 0..60u32 {
            request += 1;
            let key = format!("/{}/{}", ["pods", "nodes"][round as usize % 2], round % 7);
            let cmd = if round % 5 == 4 {
                StoreCommand::Delete(DeleteRequest {
                    span: KeySpan::Prefix(b"/pods/".to_vec()),
                    prev_kv: false,
                })
            } else {
                put(&key, &round.to_string(), 0)
            };
            command(&mut sim, request, cmd);
            watching.consume(&mut sim);
            if round % 20 == 10 {
                let other = MEMBERS.into_iter().find(|id| *id != node).unwrap();
                sim.crash(other);
                let until = sim.now_ms + 2_000;
                sim.run_until(until);
                sim.restart(other);
            }
        }
        let mvcc = &sim
            .actor(node)
            .expect("the watched member never crashes")
            .raft
            .machine;
        let last = mvcc.revision;
        for _ in 0..200 {
            if watching.covered >= last {
                break;
            }
            let until = sim.now_ms + 500;
            sim.run_until(until);
            watching.consume(&mut sim);
        }
        assert_eq!(watching.covered, last, "seed {seed}: the watch caught up");
        let mvcc = &sim.actor(node).unwrap().raft.machine;
        let expected: Vec<Event> = (2..=last)
            .flat_map(|r| mvcc.events_at(r))
            .filter(|e| span.contains(&e.kv.key))
            .collect();
        assert!(!expected.is_empty());
        assert_eq!(watching.events, expected, "seed {seed}");
        assert!(watching
            .events
            .windows(2)
            .all(|w| w[0].kv.mod_revision <= w[1].kv.mod_revision));
    }
}

#[test]
fn a_watch_from_a_compacted_revision_is_refused_with_the_compaction_revision() {
    let mut sim = cluster(3, calm());
    for request in 1..=5 {
        command(&mut sim, request, put("k", "v", 0));
    }
    let compacted = command(&mut sim, 6, StoreCommand::Compact { revision: 4 });
    assert_eq!(compacted, StoreOutput::Compacted { revision: 4 });
    let node = await_leader(&mut sim);
    sim.inbox.clear();
    let request = WatchRequest {
        watch: 9,
        span: KeySpan::Key(b"k".to_vec()),
        start_revision: 3,
        prev_kv: false,
    };
    sim.inject(CLIENT, node, StoreMsg::Watch(request.clone()));
    let until = sim.now_ms + 100;
    sim.run_until(until);
    let ended = StoreMsg::WatchEnded {
        watch: 9,
        end: WatchEnd::Compacted {
            compact_revision: 4,
        },
    };
    assert!(sim.inbox.iter().any(|(_, _, msg)| *msg == ended));
    // From just above the compaction it works, and replays the history since.
    let above = WatchRequest {
        start_revision: 5,
        ..request
    };
    sim.inject(CLIENT, node, StoreMsg::Watch(above));
    let until = sim.now_ms + 100;
    sim.run_until(until);
    let replayed = sim.inbox.iter().find_map(|(_, _, msg)| match msg {
        StoreMsg::WatchEvents { events, .. } => Some(events.len()),
        _ => None,
    });
    assert_eq!(replayed, Some(2), "revisions 5 and 6");
}

/// Watch requests come from outside: reused ids, far-future and compacted starts are
/// answered, never a panic.
#[test]
fn odd_watch_requests_are_answered_without_harm() {
    let mut sim = cluster(8, calm());
    for request in 1..=3 {
        command(&mut sim, request, put("k", "v", 0));
    }
    command(&mut sim, 4, StoreCommand::Compact { revision: 3 });
    let node = await_leader(&mut sim);
    sim.inbox.clear();
    let watch = |start_revision| {
        StoreMsg::Watch(WatchRequest {
            watch: 1,
            span: KeySpan::Prefix(Vec::new()),
            start_revision,
            prev_kv: false,
        })
    };
    for start in [0, Revision::MAX, 2, 1, 0] {
        sim.inject(CLIENT, node, watch(start));
        let until = sim.now_ms + 50;
        sim.run_until(until);
    }
    let ended = sim
        .inbox
        .iter()
        .filter(|(_, _, msg)| matches!(msg, StoreMsg::WatchEnded { .. }))
        .count();
    assert_eq!(ended, 2, "both compacted starts are refused");
    assert_eq!(
        sim.actor(node).unwrap().watchers.len(),
        1,
        "one id, one watch"
    );
}

/// A watch that starts ahead of a member (its client saw a later revision through
/// another) gets no progress notice while the member lags: a notice would claim
/// revisions before the watch's start, and once moved the watch's sent revision back below
/// what its client acknowledged (an assertion the whole-cluster simulator hit).
#[test]
fn a_watch_ahead_of_its_member_gets_no_progress_until_the_member_reaches_it() {
    let mut sim = cluster(5, calm());
    command(&mut sim, 1, put("k", "v", 0));
    let node = await_leader(&mut sim);
    let revision = sim.actor(node).unwrap().raft.machine.revision;
    let start_revision = revision + 3;
    let request = WatchRequest {
        watch: 1,
        span: KeySpan::Prefix(Vec::new()),
        start_revision,
        prev_kv: false,
    };
    sim.inject(CLIENT, node, StoreMsg::Watch(request));
    sim.inject(
        CLIENT,
        node,
        StoreMsg::WatchAck {
            watch: 1,
            revision: start_revision - 1,
        },
    );
    let config = sim.actor(node).unwrap().config.clone();
    let bookmarks_ms = 3 * config.watch_progress_ticks * u64::from(config.tick_ms);
    let until = sim.now_ms + bookmarks_ms;
    sim.run_until(until);
    let early = sim.inbox.iter().any(|(_, _, msg)| {
        matches!(msg, StoreMsg::WatchProgress { revision: r, .. } if *r < start_revision)
    });
    assert!(!early, "a progress notice before the watch's start");
    for request in 2..=4 {
        command(&mut sim, request, put("k", "w", 0));
    }
    let events = sim.inbox.iter().any(|(_, _, msg)| {
        matches!(msg, StoreMsg::WatchEvents { from_revision, .. } if *from_revision == start_revision)
    });
    assert!(
        events,
        "the watch delivers once the member reaches its start"
    );
}

#[test]
fn a_watcher_that_stops_acknowledging_is_cut_off() {
    let mut sim = cluster(4, calm());
    let node = await_leader(&mut sim);
    let request = WatchRequest {
        watch: 1,
        span: KeySpan::Prefix(Vec::new()),
        start_revision: 0,
        prev_kv: false,
    };
    sim.inject(CLIENT, node, StoreMsg::Watch(request));
    command(&mut sim, 1, put("a", "1", 0));
    let config = sim.actor(node).unwrap().config.clone();
    let silence_ms = (config.watch_ack_ticks_max + 2) * u64::from(config.tick_ms);
    let until = sim.now_ms + silence_ms;
    sim.run_until(until);
    let slow = StoreMsg::WatchEnded {
        watch: 1,
        end: WatchEnd::Slow,
    };
    assert!(sim.inbox.iter().any(|(_, _, msg)| *msg == slow));
    assert!(
        sim.actor(node).unwrap().watchers.is_empty(),
        "its memory is freed"
    );
}

fn grant(sim: &mut Sim<Store>, request: RequestId, ttl_s: u64) -> LeaseId {
    match command(sim, request, StoreCommand::LeaseGrant { id: 0, ttl_s }) {
        StoreOutput::LeaseGranted { id, .. } => id,
        other => panic!("{other:?}"),
    }
}

fn keep_alive(sim: &mut Sim<Store>, request: RequestId, id: LeaseId) -> LocalReply {
    let to = await_leader(sim);
    let body = LocalRequest::LeaseKeepAlive { id };
    sim.inject(CLIENT, to, StoreMsg::Local { request, body });
    let until = sim.now_ms + 20;
    sim.run_until(until);
    let reply = sim.inbox.iter().rev().find_map(|(_, _, msg)| match msg {
        StoreMsg::LocalReply { request: r, body } if *r == request => Some(body.clone()),
        _ => None,
    });
    reply.expect("a keep-alive reply")
}

#[test]
fn an_expired_lease_takes_its_keys_and_a_kept_one_does_not() {
    let mut sim = cluster(5, calm());
    let kept = grant(&mut sim, 1, 3);
    let lapsed = grant(&mut sim, 2, 3);
    command(&mut sim, 3, put("kept", "v", kept));
    command(&mut sim, 4, put("lapsed", "v", lapsed));
    let mut request = 10;
    // Eight seconds: the lapsed lease's three run out; the kept one is renewed each second.
    for _ in 0..8 {
        request += 1;
        let reply = keep_alive(&mut sim, request, kept);
        assert!(
            matches!(
                reply,
                LocalReply::Lease {
                    granted_ttl_s: 3,
                    ..
                }
            ),
            "{reply:?}"
        );
        let until = sim.now_ms + 1_000;
        sim.run_until(until);
    }
    assert!(get(&mut sim, 100, "kept").is_some());
    assert_eq!(get(&mut sim, 101, "lapsed"), None);
    let gone = keep_alive(&mut sim, 102, lapsed);
    assert_eq!(
        gone,
        LocalReply::Error(StoreError::LeaseNotFound { id: lapsed })
    );
}

#[test]
fn a_new_leader_extends_leases_instead_of_expiring_them() {
    let mut sim = cluster(6, calm());
    let lease = grant(&mut sim, 1, 4);
    command(&mut sim, 2, put("held", "v", lease));
    // Kept alive for ten seconds, then the leader dies just after a keep-alive.
    for request in 10..20 {
        keep_alive(&mut sim, request, lease);
        let until = sim.now_ms + 1_000;
        sim.run_until(until);
    }
    keep_alive(&mut sim, 20, lease);
    let old = await_leader(&mut sim);
    sim.crash(old);
    let new = await_leader(&mut sim);
    assert_ne!(new, old);
    // The new leader gives the lease a full TTL from its election: still there now...
    assert!(get(&mut sim, 30, "held").is_some());
    let reply = keep_alive(&mut sim, 31, lease);
    assert!(matches!(reply, LocalReply::Lease { .. }), "{reply:?}");
    // ...and gone once a TTL passes without keep-alives.
    let until = sim.now_ms + 6_000;
    sim.run_until(until);
    assert_eq!(get(&mut sim, 32, "held"), None);
}

#[test]
fn invalid_commands_are_refused_before_they_reach_the_log() {
    let mut sim = cluster(7, calm());
    let leader = await_leader(&mut sim);
    let last = sim.actor(leader).unwrap().raft.log.last_index();
    let huge = StoreCommand::Put(PutRequest {
        key: Vec::new(),
        value: Vec::new(),
        lease: 0,
        prev_kv: false,
    });
    let refused = command(&mut sim, 1, huge);
    assert!(
        matches!(refused, StoreOutput::Error(StoreError::Invalid { .. })),
        "{refused:?}"
    );
    assert_eq!(sim.actor(leader).unwrap().raft.log.last_index(), last);
}
