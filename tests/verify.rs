//! The short Jepsen-style runs CI makes: three members, kills, pauses and partitions, a
//! checked history. Longer runs: `kactor verify store --duration 600`, `kactor verify
//! gateway --duration 120`. The runs take turns: each starts three servers.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use kactor_verify::gateway_verify::{self, GatewayVerifyConfig, WriterMutation};

const KACTOR: &str = env!("CARGO_BIN_EXE_kactor");

/// One cluster at a time on a two-core machine.
static ONE_CLUSTER_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn the_store_stays_linearizable_and_its_watch_reliable_under_kills_and_pauses() {
    let _turn = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let out = Command::new(KACTOR)
        .args([
            "verify",
            "store",
            "--duration",
            "15",
            "--nemesis",
            "kill,pause",
        ])
        .args(["--clients", "3", "--keys", "3", "--seed", "2"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("verify store: passed"), "{stdout}");
    assert!(
        stderr.matches(": Kill n").count() + stderr.matches(": Pause n").count() >= 2,
        "{stderr}"
    );
    assert!(!stdout.contains("| operations | 0 |"), "{stdout}");
}

#[test]
fn the_gateways_lose_no_update_and_keep_quotas_watches_and_lists_under_faults() {
    let _turn = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let out = Command::new(KACTOR)
        .args(["verify", "gateway", "--duration", "15"])
        .args(["--nemesis", "kill,pause,partition", "--seed", "3"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("verify gateway: passed"), "{stdout}");
    assert!(!stdout.contains("| updates acknowledged | 0 |"), "{stdout}");
    assert!(
        !stdout.contains("of which over HTTPS (kubectl) | 0 |"),
        "{stdout}"
    );
    assert!(
        stderr.matches(" s: ").count() >= 2,
        "faults were injected: {stderr}"
    );
}

/// The check can fail: writers whose updates skip the resourceVersion precondition
/// overwrite each other's tokens, and the run reports lost updates.
#[test]
fn verify_gateway_reports_the_lost_updates_of_writers_that_skip_the_precondition() {
    let _turn = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let cfg = GatewayVerifyConfig {
        binary: PathBuf::from(KACTOR),
        data_dir: std::env::temp_dir(),
        duration: Duration::from_secs(8),
        faults: Vec::new(),
        writers: 4,
        objects: 1,
        seed: 1,
        mutation: Some(WriterMutation::SkipPrecondition),
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let report = runtime.block_on(gateway_verify::run(&cfg)).unwrap();
    report.print();
    assert!(!report.passed());
    assert!(
        report
            .lost_updates
            .iter()
            .any(|problem| problem.contains("was acknowledged but is not in")),
        "{:?}",
        report.lost_updates
    );
}
