//! The short Jepsen-style run CI makes: three members, kills, pauses and partitions, a
//! checked history. Longer runs: `kactor verify store --duration 600`.

use std::process::Command;

const KACTOR: &str = env!("CARGO_BIN_EXE_kactor");

#[test]
fn the_store_stays_linearizable_and_its_watch_reliable_under_kills_and_pauses() {
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
