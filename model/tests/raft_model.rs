//! The real Raft under the model checker: every property holds within the budget, and the
//! non-vacuity properties are reached.

use std::time::Duration;

use kactor_model::check::{run, CheckOptions, Strategy, Verdict};
use kactor_model::raft::{check, property, CellRaft, RaftModelCfg};

fn options(strategy: Strategy, seconds: u64) -> CheckOptions {
    CheckOptions {
        strategy,
        budget: Duration::from_secs(seconds),
        progress: false,
        ..CheckOptions::default()
    }
}

#[test]
fn real_raft_holds_every_property_bfs() {
    let model = RaftModelCfg::default().into_model::<CellRaft>();
    let report = run("raft", model, &options(Strategy::Bfs, 20));
    report.print_table();
    assert!(
        report.unique_states > 10_000,
        "the check explored too little"
    );
    for p in &report.properties {
        assert_ne!(p.verdict, Verdict::Violated, "{}: {:?}", p.name, p.trace);
    }
    assert_eq!(
        report.property(property::LEADER_ELECTED).verdict,
        Verdict::Reached
    );
}

#[test]
fn real_raft_holds_every_property_on_deep_random_walks() {
    let report = check::<CellRaft>(
        RaftModelCfg::default(),
        &options(Strategy::Simulation { seed: 7 }, 20),
    );
    report.print_table();
    assert!(report.passed(), "some property failed or was never reached");
}
