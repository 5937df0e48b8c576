//! Every gateway property is shown to catch a deliberately broken gateway. Each broken
//! variant is a mutation of the real `Gateway`, built here in the test: production code
//! has no switch for any of them. The real gateway passes the same scenarios exhaustively.

mod common;

use common::{assert_violated, Mutant, Mutation};

use std::collections::BTreeSet;
use std::time::Duration;

use kactor_actors::gateway::{ApiOutcome, Gateway, GatewayMsg, Requester, User, Verb};
use kactor_actors::kernel::{Actor, Effect, Input, Outbox};
use kactor_actors::raft::{ClientReply, ClientRequest, RaftMsg};
use kactor_actors::store::{StoreCommand, StoreMsg, StoreOutput};
use kactor_model::check::{CheckOptions, CheckReport, Strategy, Verdict};
use kactor_model::gateway::{property, GatewayModelCfg, GatewayReplica, Scenario};
use stateright::HasDiscoveries;

/// Seconds a search may look for a violation; it stops at the first find.
const FIND_BUDGET_S: u64 = 60;

fn find<G: GatewayReplica>(scenario: Scenario, name: &'static str) -> CheckReport {
    let options = CheckOptions {
        strategy: Strategy::Bfs,
        budget: Duration::from_secs(FIND_BUDGET_S),
        progress: false,
        finish_when: Some(HasDiscoveries::AnyOf(BTreeSet::from([name]))),
        ..CheckOptions::default()
    };
    let report = kactor_model::gateway::check::<G>(GatewayModelCfg { scenario }, &options);
    report.print_table();
    report
}

/// Drops the resourceVersion from every update it receives: an update that ignores it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct UpdateIgnoresResourceVersion;
impl Mutation<Gateway> for UpdateIgnoresResourceVersion {
    fn handle(gateway: &mut Gateway, mut input: Input<Gateway>, out: &mut Outbox<Gateway>) {
        if let Input::Message {
            msg: GatewayMsg::Request { request, .. },
            ..
        } = &mut input
        {
            if request.verb == Verb::Update {
                let mut body: serde_json::Value =
                    serde_json::from_slice(&request.body).expect("JSON");
                body["metadata"]
                    .as_object_mut()
                    .expect("metadata")
                    .remove("resourceVersion");
                request.body = serde_json::to_vec(&body).expect("JSON");
            }
        }
        gateway.handle(input, out)
    }
}

#[test]
fn no_lost_update_catches_an_update_that_ignores_resource_version() {
    let report = find::<Mutant<Gateway, UpdateIgnoresResourceVersion>>(
        Scenario::LostUpdate,
        property::NO_LOST_UPDATE,
    );
    assert_violated(&report, property::NO_LOST_UPDATE);
}

#[test]
fn linearizability_catches_an_update_that_ignores_resource_version() {
    let report = find::<Mutant<Gateway, UpdateIgnoresResourceVersion>>(
        Scenario::LostUpdate,
        property::LINEARIZABLE,
    );
    assert_violated(&report, property::LINEARIZABLE);
}

/// Charges the quota without guarding it: the create's transaction keeps only its own
/// comparison, as if the quota had been checked outside the transaction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct QuotaOutsideTheTransaction;
impl Mutation<Gateway> for QuotaOutsideTheTransaction {
    fn handle(gateway: &mut Gateway, input: Input<Gateway>, out: &mut Outbox<Gateway>) {
        let mut effects = Outbox::new();
        gateway.handle(input, &mut effects);
        for mut effect in effects.into_effects() {
            if let Effect::Send {
                msg:
                    GatewayMsg::Store(StoreMsg::Raft(RaftMsg::Request {
                        body: ClientRequest::Command(StoreCommand::Txn(txn)),
                        ..
                    })),
                ..
            } = &mut effect
            {
                txn.compare.truncate(1);
            }
            out.push(effect);
        }
    }
}

#[test]
fn quota_catches_a_charge_outside_the_transaction() {
    let report =
        find::<Mutant<Gateway, QuotaOutsideTheTransaction>>(Scenario::Quota, property::QUOTA_HOLDS);
    assert_violated(&report, property::QUOTA_HOLDS);
}

/// Serves a consistent list from the cache without waiting for it to catch up: the
/// store's revision, read through Raft, is taken as 0.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct CacheServesBeforeCatchingUp;
impl Mutation<Gateway> for CacheServesBeforeCatchingUp {
    fn handle(gateway: &mut Gateway, mut input: Input<Gateway>, out: &mut Outbox<Gateway>) {
        if let Input::Message {
            msg:
                GatewayMsg::Store(StoreMsg::Raft(RaftMsg::Reply {
                    body: ClientReply::Output(StoreOutput::Header { revision, .. }),
                    ..
                })),
            ..
        } = &mut input
        {
            *revision = 0;
        }
        gateway.handle(input, out)
    }
}

#[test]
fn fresh_list_catches_a_cache_that_serves_before_catching_up() {
    let report = find::<Mutant<Gateway, CacheServesBeforeCatchingUp>>(
        Scenario::FreshList,
        property::LIST_IS_FRESH,
    );
    assert_violated(&report, property::LIST_IS_FRESH);
}

/// Delivers each cache change twice to its watchers, inside one message.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct WatchRepeatsEvents;
impl Mutation<Gateway> for WatchRepeatsEvents {
    fn handle(gateway: &mut Gateway, input: Input<Gateway>, out: &mut Outbox<Gateway>) {
        let mut effects = Outbox::new();
        gateway.handle(input, &mut effects);
        for mut effect in effects.into_effects() {
            if let Effect::Send {
                msg: GatewayMsg::WatchEvents { events, .. },
                ..
            } = &mut effect
            {
                let twice: Vec<_> = events.iter().flat_map(|e| [e.clone(), e.clone()]).collect();
                *events = twice;
            }
            out.push(effect);
        }
    }
}

#[test]
fn watch_property_catches_repeated_events() {
    let report = find::<Mutant<Gateway, WatchRepeatsEvents>>(
        Scenario::FreshList,
        property::WATCH_MATCHES_HISTORY,
    );
    assert_violated(&report, property::WATCH_MATCHES_HISTORY);
}

/// Seconds the real gateway is searched per scenario here (`kactor check gateway` searches
/// longer, and checks that every non-vacuity property is reached).
const REAL_BUDGET_S: u64 = 10;

/// The real gateway violates nothing in any scenario, breadth first.
#[test]
fn the_real_gateway_passes_every_scenario() {
    for scenario in Scenario::ALL {
        let options = CheckOptions {
            strategy: Strategy::Bfs,
            budget: Duration::from_secs(REAL_BUDGET_S),
            progress: false,
            ..CheckOptions::default()
        };
        let report =
            kactor_model::gateway::check::<Gateway>(GatewayModelCfg { scenario }, &options);
        report.print_table();
        for p in &report.properties {
            assert_ne!(p.verdict, Verdict::Violated, "{scenario:?}: {}", p.name);
        }
    }
}

/// Resumes a watch one revision late: a watch from resourceVersion R starts after R + 1.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct WatchResumesLate;
impl Mutation<Gateway> for WatchResumesLate {
    fn handle(gateway: &mut Gateway, mut input: Input<Gateway>, out: &mut Outbox<Gateway>) {
        if let Input::Message {
            msg: GatewayMsg::Request { request, .. },
            ..
        } = &mut input
        {
            if request.verb == Verb::Watch {
                if let Ok(revision) = request.list.resource_version.parse::<u64>() {
                    request.list.resource_version = (revision + 1).to_string();
                }
            }
        }
        gateway.handle(input, out)
    }
}

#[test]
fn watch_property_catches_a_late_resume() {
    let report = find::<Mutant<Gateway, WatchResumesLate>>(
        Scenario::FreshList,
        property::WATCH_MATCHES_HISTORY,
    );
    assert_violated(&report, property::WATCH_MATCHES_HISTORY);
}

/// Accepts a watch its cache no longer reaches: answers "watching" where the real gateway
/// answers 410 Expired (the decision that makes a client relist instead of missing what
/// the cache window dropped).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ExpiredWatchAccepted;
impl Mutation<Gateway> for ExpiredWatchAccepted {
    fn handle(gateway: &mut Gateway, input: Input<Gateway>, out: &mut Outbox<Gateway>) {
        let mut inner = Outbox::new();
        gateway.handle(input, &mut inner);
        for mut effect in inner.into_effects() {
            if let Effect::Send {
                msg: GatewayMsg::Response { outcome, .. },
                ..
            } = &mut effect
            {
                if matches!(outcome, ApiOutcome::Err(error) if error.code == 410) {
                    *outcome = ApiOutcome::Watching;
                }
            }
            out.push(effect);
        }
    }
}

#[test]
fn watch_property_catches_an_expired_watch_accepted() {
    let report = find::<Mutant<Gateway, ExpiredWatchAccepted>>(
        Scenario::FreshList,
        property::WATCH_MATCHES_HISTORY,
    );
    assert_violated(&report, property::WATCH_MATCHES_HISTORY);
}

/// Trusts the `Impersonate-*` headers: acts as whom they name without asking RBAC whether
/// the real user may impersonate them.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ImpersonationUnchecked;
impl Mutation<Gateway> for ImpersonationUnchecked {
    fn handle(gateway: &mut Gateway, mut input: Input<Gateway>, out: &mut Outbox<Gateway>) {
        if let Input::Message {
            msg: GatewayMsg::Request { user, .. },
            ..
        } = &mut input
        {
            if let Requester::Http(credentials) = user {
                let asked = &credentials.impersonation;
                if let Some(name) = asked.user.clone() {
                    let mut groups = asked.groups.clone();
                    groups.push("system:authenticated".into());
                    *user = Requester::Peer(User { name, groups });
                }
            }
        }
        gateway.handle(input, out)
    }
}

#[test]
fn identity_catches_an_unchecked_impersonation() {
    let report = find::<Mutant<Gateway, ImpersonationUnchecked>>(
        Scenario::Identity,
        property::ONLY_AUTHORIZED_WRITE,
    );
    assert_violated(&report, property::ONLY_AUTHORIZED_WRITE);
}

/// Takes a service account token's signature as enough: acts as its account without
/// checking that the account still lives with the uid the token names.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct ServiceAccountNotRechecked;
impl Mutation<Gateway> for ServiceAccountNotRechecked {
    fn handle(gateway: &mut Gateway, mut input: Input<Gateway>, out: &mut Outbox<Gateway>) {
        if let Input::Message {
            msg: GatewayMsg::Request { user, .. },
            ..
        } = &mut input
        {
            if let Requester::Http(credentials) = user {
                if let Some((account, _uid)) = credentials.service_account.clone() {
                    *user = Requester::Peer(account);
                }
            }
        }
        gateway.handle(input, out)
    }
}

#[test]
fn identity_catches_a_token_of_a_deleted_account() {
    let report = find::<Mutant<Gateway, ServiceAccountNotRechecked>>(
        Scenario::Identity,
        property::ONLY_AUTHORIZED_WRITE,
    );
    assert_violated(&report, property::ONLY_AUTHORIZED_WRITE);
}
