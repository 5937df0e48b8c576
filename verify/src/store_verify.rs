//! `kactor verify store`: Jepsen-style. Three real members on loopback; a nemesis kills
//! (SIGKILL, then restart), pauses (SIGSTOP, then SIGCONT) and partitions them (cuts one
//! member's mesh links both ways, through the members' `--fault-injection` mode); concurrent clients
//! write, read and compare-and-swap a few keys and record every operation with real start
//! and end times; a watcher follows every key from revision 1. At the end the history is
//! checked: linearizable per key (so every acknowledged write is there), and the watch
//! ordered, unique and carrying every acknowledged write at its revision.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use kactor_actors::store::{
    Compare, CompareResult, CompareTarget, EventKind, KeySpan, PutRequest, RangeRequest, Revision,
    StoreCommand, StoreOutput, StoreQuery, TxnOp, TxnRequest,
};
use kactor_transport::store_client::{StoreClient, WatchItem};

use crate::cluster::{connect, LocalCluster};
use crate::linearizability::{self, Operation, RegisterOp, Verdict};

/// Pause between one client's operations: keeps histories small enough to check.
const CLIENT_PAUSE_MS: u64 = 20;
/// How long a fault lasts before the member is restarted or resumed.
const FAULT_MS: u64 = 2_000;
/// Pause between faults.
const FAULT_GAP_MS: u64 = 2_000;
/// How long the watch may take to catch up with the last write at the end.
const WATCH_CATCH_UP_MS_MAX: u64 = 30_000;
const KEY_PREFIX: &str = "verify/";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Kill,
    Pause,
    /// Cut one member off from the others, both ways.
    Partition,
}

#[derive(Clone, Debug)]
pub struct VerifyConfig {
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    pub duration: Duration,
    pub faults: Vec<Fault>,
    pub clients: usize,
    pub keys: usize,
    pub seed: u64,
}

#[derive(Debug, Default)]
pub struct VerifyReport {
    pub operations: usize,
    pub acknowledged: usize,
    pub unknown: usize,
    pub faults: Vec<String>,
    pub per_key: BTreeMap<String, Verdict>,
    pub watch_events: usize,
    pub watch_problems: Vec<String>,
}

impl VerifyReport {
    pub fn passed(&self) -> bool {
        self.watch_problems.is_empty() && self.per_key.values().all(|v| *v != Verdict::Violated)
    }

    pub fn print(&self) {
        println!("| what | figure |");
        println!("|---|---:|");
        println!("| operations | {} |", self.operations);
        println!("| acknowledged | {} |", self.acknowledged);
        println!("| outcome unknown (client gave up) | {} |", self.unknown);
        println!("| faults injected | {} |", self.faults.len());
        println!("| watch events | {} |", self.watch_events);
        for (key, verdict) in &self.per_key {
            println!("| {key}: linearizable | {verdict:?} |");
        }
        let watch = if self.watch_problems.is_empty() {
            "held"
        } else {
            "VIOLATED"
        };
        println!("| watch ordered, unique, reliable | {watch} |");
        for problem in &self.watch_problems {
            println!("  watch: {problem}");
        }
        println!(
            "verify store: {}",
            if self.passed() { "passed" } else { "FAILED" }
        );
    }
}

/// One recorded operation on one key, and the revision an acknowledged write got.
struct Recorded {
    key: usize,
    operation: Operation,
    revision: Option<Revision>,
}

type History = Arc<Mutex<Vec<Recorded>>>;

/// What the watcher received, and the revision it has covered.
#[derive(Clone, Default)]
struct Watched {
    items: Arc<Mutex<Vec<WatchItem>>>,
    covered: Arc<AtomicU64>,
}

fn key_name(key: usize) -> String {
    format!("{KEY_PREFIX}{key}")
}

fn value_of(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// A small deterministic generator (SplitMix64): the same seed makes the same choices.
pub(crate) struct Choices(pub(crate) u64);

impl Choices {
    pub(crate) fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % below.max(1)
    }
}

pub async fn run(cfg: &VerifyConfig) -> anyhow::Result<VerifyReport> {
    let root = tempfile::Builder::new()
        .prefix("kactor-verify-")
        .tempdir_in(&cfg.data_dir)
        .context("verify dir")?;
    let mut cluster = LocalCluster::start(&cfg.binary, 3, root.path())?;
    let client = connect(root.path(), cluster.addrs[0]).await?;
    eprintln!(
        "verify: 3 members up; {} clients on {} keys for {:?}",
        cfg.clients, cfg.keys, cfg.duration
    );
    let history: History = Arc::default();
    let watched = Watched::default();
    let mut watch = client.watch(KeySpan::Prefix(KEY_PREFIX.into()), 1, false);
    let follower = {
        let watched = watched.clone();
        tokio::spawn(async move {
            while let Some(item) = watch.recv().await {
                let covered = match &item {
                    WatchItem::Events { revision, .. } | WatchItem::Progress { revision } => {
                        *revision
                    }
                    WatchItem::Ended(_) => 0,
                };
                watched.covered.fetch_max(covered, Ordering::AcqRel);
                watched.items.lock().expect("watch lock").push(item);
            }
        })
    };
    let deadline = Instant::now() + cfg.duration;
    let workers: Vec<_> = (0..cfg.clients)
        .map(|c| {
            let client = client.clone();
            let history = history.clone();
            let (keys, seed) = (cfg.keys, cfg.seed);
            tokio::spawn(async move { work(c, &client, keys, seed, deadline, &history).await })
        })
        .collect();
    let faults = nemesis(&mut cluster, &cfg.faults, cfg.seed, deadline).await?;
    for worker in workers {
        worker.await?;
    }
    // Heal, then read every key once more: acknowledged writes must all be there.
    tokio::time::sleep(Duration::from_millis(FAULT_GAP_MS)).await;
    for key in 0..cfg.keys {
        read(usize::MAX, &client, key, &history).await;
    }
    let last_revision = match client.read(StoreQuery::Header).await? {
        StoreOutput::Header { revision, .. } => revision,
        other => anyhow::bail!("unexpected header reply: {other:?}"),
    };
    // Wait for the watch to cover the last write (bookmarks come every few seconds).
    let caught_up = Instant::now() + Duration::from_millis(WATCH_CATCH_UP_MS_MAX);
    while watched.covered.load(Ordering::Acquire) < last_revision && Instant::now() < caught_up {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    follower.abort();
    let items = std::mem::take(&mut *watched.items.lock().expect("watch lock"));
    let recorded = std::mem::take(&mut *history.lock().expect("history lock"));
    let mut report = check(cfg, &recorded, &items, last_revision);
    report.faults = faults;
    if !report.passed() {
        eprintln!("{}", cluster.log_tails());
    }
    Ok(report)
}

async fn work(
    c: usize,
    client: &StoreClient,
    keys: usize,
    seed: u64,
    deadline: Instant,
    history: &History,
) {
    let mut choices = Choices(seed ^ (c as u64).wrapping_mul(0x2545_F491_4F6C_DD1D));
    let mut sequence = 0u64;
    let mut last_read: BTreeMap<usize, u64> = BTreeMap::new();
    while Instant::now() < deadline {
        let key = choices.next(keys as u64) as usize;
        sequence += 1;
        let value = ((c as u64) << 32) | sequence;
        match (choices.next(10), last_read.get(&key)) {
            // Four in ten write, four read, two swap from the value last read.
            (4..=7, _) => {
                if let Some(seen) = read(c, client, key, history).await {
                    last_read.insert(key, seen);
                }
            }
            (8.., Some(from)) => swap(c, client, key, *from, value, history).await,
            _ => write(c, client, key, value, history).await,
        }
        tokio::time::sleep(Duration::from_millis(CLIENT_PAUSE_MS)).await;
    }
}

fn record(history: &History, key: usize, operation: Operation, revision: Option<Revision>) {
    let recorded = Recorded {
        key,
        operation,
        revision,
    };
    history.lock().expect("history lock").push(recorded);
}

async fn write(c: usize, client: &StoreClient, key: usize, value: u64, history: &History) {
    let put = PutRequest {
        key: key_name(key).into_bytes(),
        value: value.to_be_bytes().to_vec(),
        lease: 0,
        prev_kv: false,
    };
    let started = Instant::now();
    let outcome = client.command(StoreCommand::Put(put)).await;
    let (ended, revision) = match outcome {
        Ok(StoreOutput::Put { revision, .. }) => (Some(Instant::now()), Some(revision)),
        // Refused outright (it never took effect) or gave up (it may have).
        Ok(_) => return,
        Err(_) => (None, None),
    };
    let op = RegisterOp::Write(value);
    record(
        history,
        key,
        Operation {
            client: c,
            started,
            ended,
            op,
        },
        revision,
    );
}

async fn read(c: usize, client: &StoreClient, key: usize, history: &History) -> Option<u64> {
    let range = RangeRequest::latest(KeySpan::Key(key_name(key).into_bytes()));
    let started = Instant::now();
    let Ok(StoreOutput::Range(response)) = client.read(StoreQuery::Range(range)).await else {
        return None; // a read that did not return constrains nothing
    };
    let seen = response.kvs.first().and_then(|kv| value_of(&kv.value));
    let op = RegisterOp::Read(seen);
    let ended = Some(Instant::now());
    record(
        history,
        key,
        Operation {
            client: c,
            started,
            ended,
            op,
        },
        None,
    );
    seen
}

async fn swap(c: usize, client: &StoreClient, key: usize, from: u64, to: u64, history: &History) {
    let name = key_name(key).into_bytes();
    let txn = TxnRequest {
        compare: vec![Compare {
            key: name.clone(),
            result: CompareResult::Equal,
            target: CompareTarget::Value(from.to_be_bytes().to_vec()),
        }],
        success: vec![TxnOp::Put(PutRequest {
            key: name,
            value: to.to_be_bytes().to_vec(),
            lease: 0,
            prev_kv: false,
        })],
        failure: vec![],
    };
    let started = Instant::now();
    let (ended, swapped, revision) = match client.command(StoreCommand::Txn(txn)).await {
        Ok(StoreOutput::Txn {
            succeeded,
            revision,
            ..
        }) => (
            Some(Instant::now()),
            succeeded,
            succeeded.then_some(revision),
        ),
        Ok(_) => return,
        Err(_) => (None, false, None),
    };
    let op = RegisterOp::Cas { from, to, swapped };
    record(
        history,
        key,
        Operation {
            client: c,
            started,
            ended,
            op,
        },
        revision,
    );
}

/// Injects `faults` one at a time, each for `FAULT_MS` after a `FAULT_GAP_MS` gap, on
/// members the `seed` chooses, until `deadline`; returns what it did, with times.
pub(crate) async fn nemesis(
    cluster: &mut LocalCluster,
    faults: &[Fault],
    seed: u64,
    deadline: Instant,
) -> anyhow::Result<Vec<String>> {
    let mut choices = Choices(seed);
    let mut log = Vec::new();
    let started = Instant::now();
    while !faults.is_empty() && Instant::now() + Duration::from_millis(FAULT_MS) < deadline {
        tokio::time::sleep(Duration::from_millis(FAULT_GAP_MS)).await;
        let member = choices.next(cluster.len() as u64) as usize;
        let fault = faults[choices.next(faults.len() as u64) as usize];
        let at = started.elapsed().as_secs_f64();
        let line = format!("{at:6.1} s: {fault:?} n{}", member + 1);
        eprintln!("verify: {line}");
        log.push(line);
        match fault {
            Fault::Kill => cluster.kill(member),
            Fault::Pause => cluster.pause(member),
            Fault::Partition => cluster.isolate(member)?,
        }
        tokio::time::sleep(Duration::from_millis(FAULT_MS)).await;
        match fault {
            Fault::Kill => cluster.restart(member)?,
            Fault::Pause => cluster.resume(member),
            Fault::Partition => cluster.heal()?,
        }
    }
    let rest = deadline.saturating_duration_since(Instant::now());
    tokio::time::sleep(rest).await;
    Ok(log)
}

fn check(
    cfg: &VerifyConfig,
    recorded: &[Recorded],
    items: &[WatchItem],
    last_revision: Revision,
) -> VerifyReport {
    let mut report = VerifyReport {
        operations: recorded.len(),
        acknowledged: recorded
            .iter()
            .filter(|r| r.operation.ended.is_some())
            .count(),
        unknown: recorded
            .iter()
            .filter(|r| r.operation.ended.is_none())
            .count(),
        ..VerifyReport::default()
    };
    for key in 0..cfg.keys {
        let ops: Vec<Operation> = recorded
            .iter()
            .filter(|r| r.key == key)
            .map(|r| r.operation.clone())
            .collect();
        eprintln!(
            "verify: checking {} operations on {}",
            ops.len(),
            key_name(key)
        );
        report
            .per_key
            .insert(key_name(key), linearizability::check(&ops));
    }
    check_watch(recorded, items, last_revision, &mut report);
    report
}

/// Ordered (revisions never go back), unique (no key twice in one revision), atomic (a
/// revision's events arrive together), and reliable (every acknowledged write appears at
/// its revision with its value).
fn check_watch(
    recorded: &[Recorded],
    items: &[WatchItem],
    last_revision: Revision,
    report: &mut VerifyReport,
) {
    let mut seen: BTreeMap<(Revision, Vec<u8>), Option<u64>> = BTreeMap::new();
    // Atomic: the item that carried each revision's events; a second one splits it.
    let mut carried_by: BTreeMap<Revision, usize> = BTreeMap::new();
    let mut previous = 0;
    let mut covered = 0;
    for (index, item) in items.iter().enumerate() {
        match item {
            WatchItem::Events { revision, events } => {
                for event in events {
                    let at = event.kv.mod_revision;
                    if *carried_by.entry(at).or_insert(index) != index {
                        report
                            .watch_problems
                            .push(format!("revision {at} split across messages"));
                    }
                    if at < previous {
                        report
                            .watch_problems
                            .push(format!("revision {at} after {previous}"));
                    }
                    previous = at;
                    let value = match event.kind {
                        EventKind::Put => value_of(&event.kv.value),
                        EventKind::Delete => None,
                    };
                    if seen.insert((at, event.kv.key.clone()), value).is_some() {
                        report
                            .watch_problems
                            .push(format!("revision {at} delivered twice"));
                    }
                    report.watch_events += 1;
                }
                covered = *revision;
            }
            WatchItem::Progress { revision } => covered = covered.max(*revision),
            WatchItem::Ended(reason) => report.watch_problems.push(format!("ended: {reason}")),
        }
    }
    if covered < last_revision {
        report.watch_problems.push(format!(
            "covered revisions up to {covered}, the store is at {last_revision}"
        ));
    }
    let missing: BTreeSet<Revision> = recorded
        .iter()
        .filter_map(|r| {
            let revision = r.revision?;
            let value = match r.operation.op {
                RegisterOp::Write(v) | RegisterOp::Cas { to: v, .. } => v,
                RegisterOp::Read(_) => return None,
            };
            let key = key_name(r.key).into_bytes();
            (seen.get(&(revision, key)) != Some(&Some(value))).then_some(revision)
        })
        .filter(|revision| *revision <= covered)
        .collect();
    if !missing.is_empty() {
        report.watch_problems.push(format!(
            "{} acknowledged writes missing from the watch (revisions {:?}...)",
            missing.len(),
            missing.iter().take(5).collect::<Vec<_>>()
        ));
    }
}

#[cfg(test)]
mod tests {
    use kactor_actors::store::{Event, KeyValue};

    use super::*;

    fn put_at(key: usize, value: u64, revision: Revision) -> (Recorded, Event) {
        let now = Instant::now();
        let recorded = Recorded {
            key,
            operation: Operation {
                client: 0,
                started: now,
                ended: Some(now),
                op: RegisterOp::Write(value),
            },
            revision: Some(revision),
        };
        let event = Event {
            kind: EventKind::Put,
            kv: KeyValue {
                key: key_name(key).into_bytes(),
                create_revision: revision,
                mod_revision: revision,
                version: 1,
                value: value.to_be_bytes().to_vec(),
                lease: 0,
            },
            prev_kv: None,
        };
        (recorded, event)
    }

    fn problems(recorded: &[Recorded], items: &[WatchItem], last: Revision) -> Vec<String> {
        let mut report = VerifyReport::default();
        check_watch(recorded, items, last, &mut report);
        report.watch_problems
    }

    #[test]
    fn a_watch_with_every_write_in_order_passes() {
        let (a, ea) = put_at(0, 10, 2);
        let (b, eb) = put_at(1, 11, 3);
        let items = [WatchItem::Events {
            revision: 3,
            events: vec![ea, eb],
        }];
        assert!(problems(&[a, b], &items, 3).is_empty());
    }

    #[test]
    fn a_missing_a_repeated_or_a_reordered_event_is_caught() {
        let (a, ea) = put_at(0, 10, 2);
        let (b, eb) = put_at(1, 11, 3);
        let skipped = [WatchItem::Events {
            revision: 3,
            events: vec![eb.clone()],
        }];
        let found = problems(&[a, b], &skipped, 3);
        assert!(found.iter().any(|p| p.contains("missing")), "{found:?}");
        let repeated = [
            WatchItem::Events {
                revision: 2,
                events: vec![ea.clone()],
            },
            WatchItem::Events {
                revision: 3,
                events: vec![ea.clone(), eb.clone()],
            },
        ];
        let found = problems(&[], &repeated, 3);
        assert!(found.iter().any(|p| p.contains("twice")), "{found:?}");
        let reordered = [WatchItem::Events {
            revision: 3,
            events: vec![eb.clone(), ea],
        }];
        let found = problems(&[], &reordered, 3);
        assert!(found.iter().any(|p| p.contains("after")), "{found:?}");
        let (c, ec) = put_at(2, 12, 3);
        let split = [
            WatchItem::Events {
                revision: 3,
                events: vec![eb],
            },
            WatchItem::Events {
                revision: 3,
                events: vec![ec],
            },
        ];
        let found = problems(&[c], &split, 3);
        assert!(found.iter().any(|p| p.contains("split")), "{found:?}");
        let short = [WatchItem::Progress { revision: 2 }];
        let found = problems(&[], &short, 3);
        assert!(found.iter().any(|p| p.contains("covered")), "{found:?}");
    }
}
