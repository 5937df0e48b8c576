//! `kactor bench raft`: commit throughput and latency of a real three-member cluster on
//! loopback, with the WAL on disk (fsync) and on tmpfs (memory; fsync costs nothing).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context as _};
use kactor_actors::store::{PutRequest, StoreCommand, StoreOutput};
use kactor_transport::store_client::StoreClient;

use crate::cluster::{connect, LocalCluster};

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
        let members = LocalCluster::start(&cfg.binary, cfg.members, root.path())?;
        let client = connect(root.path(), members.addrs[0]).await?;
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
