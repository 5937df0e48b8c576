//! `kactor bench raft`: commit throughput and latency of a real three-member cluster on
//! loopback, with the WAL on disk (fsync) and on tmpfs (memory; fsync costs nothing).

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use kactor_actors::raft::Role;
use kactor_actors::store::{PutRequest, StoreCommand, StoreOutput};
use kactor_transport::pki::{node_id_from_name, NodeIdentity};
use kactor_transport::store_client::StoreClient;

/// How long the cluster may take to elect its first leader.
pub const ELECTION_WAIT_MS_MAX: u64 = 20_000;

#[derive(Clone, Debug)]
pub struct RaftBenchConfig {
    /// The `kactor` binary that runs the members.
    pub binary: PathBuf,
    pub members: usize,
    pub proposers: Vec<usize>,
    /// Proposals per run.
    pub proposals: usize,
    pub value_bytes: usize,
    /// (label, directory) pairs: where each run's data dirs live.
    pub media: Vec<(String, PathBuf)>,
}

#[derive(Clone, Debug)]
pub struct BenchRow {
    pub medium: String,
    pub proposers: usize,
    pub proposals: usize,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// Running member processes, killed on drop.
pub struct Members {
    pub children: Vec<Child>,
}

impl Drop for Members {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts `count` `kactor server` members of one cluster under `root`.
pub fn start_members(
    binary: &Path,
    count: usize,
    root: &Path,
) -> anyhow::Result<(Members, Vec<SocketAddr>)> {
    let addrs: Vec<SocketAddr> = (0..count)
        .map(|_| Ok(format!("127.0.0.1:{}", free_port()?).parse()?))
        .collect::<anyhow::Result<_>>()?;
    let initial: Vec<String> = addrs
        .iter()
        .enumerate()
        .map(|(i, a)| format!("n{}={a}", i + 1))
        .collect();
    let mut members = Members {
        children: Vec::new(),
    };
    for (i, addr) in addrs.iter().enumerate() {
        let child = Command::new(binary)
            .arg("server")
            .arg("--data-dir")
            .arg(root.join(format!("n{}", i + 1)))
            .args([
                "--name",
                &format!("n{}", i + 1),
                "--listen",
                &addr.to_string(),
            ])
            .args(["--initial-cluster", &initial.join(",")])
            .arg("--ca-dir")
            .arg(root.join("ca"))
            .env("KACTOR_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(member_log(root, i + 1))?)
            .spawn()
            .context("starting a member")?;
        members.children.push(child);
    }
    Ok((members, addrs))
}

/// Where member `n` of the cluster under `root` logs.
pub fn member_log(root: &Path, n: usize) -> PathBuf {
    root.join(format!("n{n}.log"))
}

/// The last lines each member logged: printed when a benchmark fails.
pub fn log_tails(root: &Path, members: usize) -> String {
    (1..=members)
        .map(|n| {
            let text = std::fs::read_to_string(member_log(root, n)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            // A panic's message, not its backtrace, says what went wrong.
            let from = match lines.iter().position(|l| l.contains("panicked at")) {
                Some(at) => at,
                None => lines.len().saturating_sub(20),
            };
            let tail = lines[from..lines.len().min(from + 20)].join("\n");
            format!("--- n{n}\n{tail}\n")
        })
        .collect()
}

/// A client of the cluster under `root`, once it has a leader.
pub async fn connect(root: &Path, addr: SocketAddr) -> anyhow::Result<StoreClient> {
    let admin = root.join("n1").join("pki").join("admin");
    let deadline = Instant::now() + Duration::from_millis(ELECTION_WAIT_MS_MAX);
    while !admin.join("node.crt").exists() {
        if Instant::now() > deadline {
            bail!("n1 never wrote its admin certificate");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let identity = NodeIdentity::load(&admin)?;
    let client = StoreClient::connect(identity, node_id_from_name("n1"), addr).await?;
    while Instant::now() < deadline {
        if let Ok(status) = client.raft().status(node_id_from_name("n1")).await {
            client.raft().remember(&status);
            if status.leader.is_some() || status.role == Role::Leader {
                return Ok(client);
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("no leader within {ELECTION_WAIT_MS_MAX} ms")
}

/// Runs `proposals` puts spread over `proposers` concurrent proposers.
async fn measure(
    client: &StoreClient,
    proposers: usize,
    proposals: usize,
    value_bytes: usize,
) -> anyhow::Result<(f64, Vec<f64>)> {
    let per_proposer = proposals.div_ceil(proposers);
    let started = Instant::now();
    let tasks: Vec<_> = (0..proposers)
        .map(|p| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_proposer);
                for i in 0..per_proposer {
                    let key = format!("{:08x}", (p * per_proposer + i) as u32);
                    let command = StoreCommand::Put(PutRequest {
                        key: key.into_bytes(),
                        value: vec![b'v'; value_bytes],
                        lease: 0,
                        prev_kv: false,
                    });
                    let begun = Instant::now();
                    match client.command(command).await? {
                        StoreOutput::Put { .. } => {}
                        other => bail!("put refused: {other:?}"),
                    }
                    latencies.push(begun.elapsed().as_secs_f64() * 1000.0);
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(proposals);
    for task in tasks {
        all.extend(task.await??);
    }
    Ok((started.elapsed().as_secs_f64(), all))
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub async fn run_raft_bench(cfg: &RaftBenchConfig) -> anyhow::Result<Vec<BenchRow>> {
    let mut rows = Vec::new();
    for (medium, dir) in &cfg.media {
        let root = tempfile::Builder::new()
            .prefix("kactor-bench-")
            .tempdir_in(dir)
            .context("bench dir")?;
        eprintln!(
            "bench: starting {} members with the WAL on {medium} ({})",
            cfg.members,
            dir.display()
        );
        let (members, addrs) = start_members(&cfg.binary, cfg.members, root.path())?;
        let client = connect(root.path(), addrs[0]).await?;
        // Warm up connections and the leader's pipeline.
        measure(&client, 4, 200, cfg.value_bytes).await?;
        for &proposers in &cfg.proposers {
            eprintln!(
                "bench: {medium}, {proposers} proposers, {} puts",
                cfg.proposals
            );
            let (seconds, mut latencies) =
                measure(&client, proposers, cfg.proposals, cfg.value_bytes).await?;
            latencies.sort_by(f64::total_cmp);
            rows.push(BenchRow {
                medium: medium.clone(),
                proposers,
                proposals: latencies.len(),
                seconds,
                per_second: latencies.len() as f64 / seconds,
                p50_ms: percentile(&latencies, 50.0),
                p99_ms: percentile(&latencies, 99.0),
            });
        }
        drop(members);
    }
    Ok(rows)
}

pub fn print_rows(rows: &[BenchRow]) {
    println!("| WAL medium | proposers | puts | seconds | puts/s | p50 ms | p99 ms |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        println!(
            "| {} | {} | {} | {:.2} | {:.0} | {:.2} | {:.2} |",
            r.medium, r.proposers, r.proposals, r.seconds, r.per_second, r.p50_ms, r.p99_ms
        );
    }
}
