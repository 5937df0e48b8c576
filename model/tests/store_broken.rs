//! Every store property is shown to catch a deliberately broken member. Each broken
//! variant is a mutation of the real `Store`, built here in the test: production code has
//! no switch for any of them.

mod common;

use common::{assert_violated, Mutant, Mutation};

use std::collections::BTreeSet;
use std::fmt::Debug;
use std::hash::Hash;
use std::time::Duration;

use kactor_actors::kernel::{Actor, Effect, Input, Outbox};
use kactor_actors::raft::{ClientReply, ClientRequest, RaftMsg, Role};
use kactor_actors::store::{Store, StoreCommand, StoreMsg, StoreTimer};
use kactor_model::check::{CheckOptions, CheckReport, Strategy};
use kactor_model::store::{property, StoreModelCfg};
use stateright::HasDiscoveries;

/// Seconds a check may search for a violation. Searches stop at the first find; this only
/// bounds a run where a property stopped catching its broken variant.
const FIND_BUDGET_S: u64 = 120;

fn find<M: Mutation<Store>>(cfg: StoreModelCfg, name: &'static str) -> CheckReport {
    let options = CheckOptions {
        strategy: Strategy::Simulation { seed: 1 },
        budget: Duration::from_secs(FIND_BUDGET_S),
        progress: false,
        finish_when: Some(HasDiscoveries::AnyOf(BTreeSet::from([name]))),
        ..CheckOptions::default()
    };
    let report = kactor_model::store::check::<Mutant<Store, M>>(cfg, &options);
    report.print_table();
    report
}

/// Runs every transaction's success branch, whatever its comparisons say.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct IgnoresTxnCompares;
impl Mutation<Store> for IgnoresTxnCompares {
    fn handle(store: &mut Store, mut input: Input<Store>, out: &mut Outbox<Store>) {
        if let Input::Message {
            msg:
                StoreMsg::Raft(RaftMsg::Request {
                    body: ClientRequest::Command(StoreCommand::Txn(txn)),
                    ..
                }),
            ..
        } = &mut input
        {
            txn.compare.clear();
        }
        store.handle(input, out)
    }
}

#[test]
fn linearizability_catches_a_txn_that_ignores_its_compare() {
    let name = property::LINEARIZABLE;
    let cfg = StoreModelCfg {
        watcher: false,
        lease_client: false,
        ..StoreModelCfg::default()
    };
    let report = find::<IgnoresTxnCompares>(cfg, name);
    assert_violated(&report, name);
}

/// A member that thinks it leads answers linearizable reads from its own state, without
/// confirming its leadership (ReadIndex): a deposed leader serves stale reads.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ReadsWithoutReadIndex;
impl Mutation<Store> for ReadsWithoutReadIndex {
    fn handle(store: &mut Store, input: Input<Store>, out: &mut Outbox<Store>) {
        if let Input::Message {
            from,
            msg:
                StoreMsg::Raft(RaftMsg::Request {
                    request,
                    body: ClientRequest::Read(query),
                }),
        } = &input
        {
            if store.raft.role == Role::Leader {
                use kactor_actors::raft::StateMachine;
                let body = ClientReply::Output(store.raft.machine.query(query));
                let reply = RaftMsg::Reply {
                    request: *request,
                    body,
                };
                return out.send(*from, StoreMsg::Raft(reply));
            }
        }
        store.handle(input, out)
    }
}

#[test]
fn linearizability_catches_reads_served_by_a_deposed_leader() {
    let name = property::LINEARIZABLE;
    let cfg = StoreModelCfg {
        watcher: false,
        lease_client: false,
        ..StoreModelCfg::default()
    };
    let report = find::<ReadsWithoutReadIndex>(cfg, name);
    assert_violated(&report, name);
}

/// Drops the events of the first revision of every watch message that covers several.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct WatchSkipsARevision;
impl Mutation<Store> for WatchSkipsARevision {
    fn handle(store: &mut Store, input: Input<Store>, out: &mut Outbox<Store>) {
        let mut inner = Outbox::new();
        store.handle(input, &mut inner);
        for effect in inner.into_effects() {
            match effect {
                Effect::Send {
                    to,
                    msg:
                        StoreMsg::WatchEvents {
                            watch,
                            from_revision,
                            revision,
                            mut events,
                        },
                } => {
                    let first = events.first().map(|e| e.kv.mod_revision);
                    let spans_two = events.last().map(|e| e.kv.mod_revision) != first;
                    if spans_two {
                        events.retain(|e| Some(e.kv.mod_revision) != first);
                    }
                    let msg = StoreMsg::WatchEvents {
                        watch,
                        from_revision,
                        revision,
                        events,
                    };
                    out.send(to, msg);
                }
                other => out.push(other),
            }
        }
    }
}

#[test]
fn the_watch_property_catches_a_skipped_revision() {
    let name = property::WATCH_MATCHES_HISTORY;
    let cfg = StoreModelCfg {
        lease_client: false,
        ..StoreModelCfg::default()
    };
    let report = find::<WatchSkipsARevision>(cfg, name);
    assert_violated(&report, name);
}

/// A follower that expires leases on its own clock, dropping them without the committed
/// revoke that would delete their keys.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct FollowerExpiresLeases;
impl Mutation<Store> for FollowerExpiresLeases {
    fn handle(store: &mut Store, input: Input<Store>, out: &mut Outbox<Store>) {
        let tick = matches!(input, Input::Timer(StoreTimer::Tick));
        store.handle(input, out);
        if tick && store.raft.role != Role::Leader {
            store.raft.machine.leases.clear();
        }
    }
}

#[test]
fn lease_safety_catches_a_follower_that_expires_leases_itself() {
    let name = property::NO_KEY_OUTLIVES_ITS_LEASE;
    let report = find::<FollowerExpiresLeases>(StoreModelCfg::default(), name);
    assert_violated(&report, name);
}

#[test]
fn the_real_store_holds_every_property_on_random_walks() {
    let options = CheckOptions {
        strategy: Strategy::Simulation { seed: 7 },
        budget: Duration::from_secs(20),
        progress: false,
        ..CheckOptions::default()
    };
    let report = kactor_model::store::check::<Store>(StoreModelCfg::default(), &options);
    report.print_table();
    assert!(report.passed(), "the real store passes");
}
