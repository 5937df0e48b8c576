//! `kactor bench`: measured performance of a real cluster.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use kactor_verify::bench::{print_rows, run_raft_bench, RaftBenchConfig};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// What to measure: `raft` (commit throughput and latency).
    target: String,
    #[arg(long, default_value_t = 3)]
    members: usize,
    /// Concurrent proposers, comma-separated.
    #[arg(long, default_value = "1,64")]
    proposers: String,
    #[arg(long, default_value_t = 2000)]
    proposals: usize,
    #[arg(long, default_value_t = 256)]
    value_bytes: usize,
    /// Directory for the on-disk run (fsync on a real disk).
    #[arg(long, default_value = "/var/tmp")]
    disk_dir: PathBuf,
    /// Directory for the in-memory run (tmpfs).
    #[arg(long, default_value = "/dev/shm")]
    memory_dir: PathBuf,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if args.target != "raft" {
        bail!(
            "unknown bench target {:?}; known: raft (store and gateway arrive with their issues)",
            args.target
        );
    }
    let proposers = args
        .proposers
        .split(',')
        .map(|p| p.trim().parse::<usize>())
        .collect::<Result<Vec<_>, _>>()?;
    let cfg = RaftBenchConfig {
        binary: std::env::current_exe()?,
        members: args.members,
        proposers,
        proposals: args.proposals,
        value_bytes: args.value_bytes,
        media: vec![
            ("disk (fsync)".to_string(), args.disk_dir),
            ("tmpfs (memory)".to_string(), args.memory_dir),
        ],
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let rows = runtime.block_on(run_raft_bench(&cfg))?;
    print_rows(&rows);
    Ok(ExitCode::SUCCESS)
}
