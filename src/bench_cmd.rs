//! `kactor bench`: measured performance of a real cluster.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use kactor_verify::bench::{print_rows, run_raft_bench, RaftBenchConfig};
use kactor_verify::gateway_bench::{self, run_gateway_bench, GatewayBenchConfig};
use kactor_verify::kubectl_bench::{run_kubectl_bench, KubectlBenchConfig};
use kactor_verify::store_bench::{print_comparisons, run_store_bench, StoreBenchConfig};

#[derive(clap::Args)]
pub struct BenchArgs {
    /// What to measure: `raft` (commit throughput and latency), `store` (the store's
    /// workloads, beside etcd's with `--against etcd`), `gateway` (the API over the mesh)
    /// or `kubectl` (the real kubectl over HTTPS).
    target: String,
    /// Members per cluster (`store` takes a list: 1,3).
    #[arg(long, default_value = "3")]
    members: String,
    /// `etcd`: run the same load against etcd (Debian's etcd-server) in the same run.
    #[arg(long)]
    against: Option<String>,
    /// The etcd binary.
    #[arg(long, default_value = "/usr/bin/etcd")]
    etcd: PathBuf,
    /// store: puts by one sequential client.
    #[arg(long, default_value_t = 2000)]
    sequential_puts: usize,
    /// store: concurrent clients, and the operations they share.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    #[arg(long, default_value_t = 20_000)]
    ops: usize,
    /// store: watchers of one key, and puts to it.
    #[arg(long, default_value_t = 1000)]
    watchers: usize,
    #[arg(long, default_value_t = 50)]
    watch_rounds: usize,
    /// store: keys loaded before resident memory is read.
    #[arg(long, default_value_t = 100_000)]
    rss_keys: usize,
    /// gateway: pods created (then listed whole), and lists timed.
    #[arg(long, default_value_t = 10_000)]
    pods: usize,
    #[arg(long, default_value_t = 20)]
    lists: usize,
    /// kubectl: concurrent `kubectl apply` processes, and applies each makes.
    #[arg(long, default_value_t = 20)]
    appliers: usize,
    #[arg(long, default_value_t = 10)]
    applies: usize,
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

fn list(text: &str) -> anyhow::Result<Vec<usize>> {
    Ok(text
        .split(',')
        .map(|p| p.trim().parse::<usize>())
        .collect::<Result<Vec<_>, _>>()?)
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args.target.as_str() {
        "raft" => run_raft(args, &runtime),
        "store" => run_store(args, &runtime),
        "gateway" => run_gateway(args, &runtime),
        "kubectl" => run_kubectl(args, &runtime),
        other => bail!("unknown bench target {other:?}; known: raft, store, gateway, kubectl"),
    }
}

fn run_store(args: BenchArgs, runtime: &tokio::runtime::Runtime) -> anyhow::Result<ExitCode> {
    let etcd = match args.against.as_deref() {
        None => None,
        Some("etcd") if args.etcd.exists() => Some(args.etcd),
        Some("etcd") => bail!(
            "{} not found: install Debian's etcd-server (apt-get install etcd-server)",
            args.etcd.display()
        ),
        Some(other) => bail!("unknown peer {other:?}; known: etcd"),
    };
    let cfg = StoreBenchConfig {
        binary: std::env::current_exe()?,
        etcd,
        members: list(&args.members)?,
        data_dir: args.disk_dir,
        sequential_puts: args.sequential_puts,
        concurrent_clients: args.clients,
        concurrent_ops: args.ops,
        watchers: args.watchers,
        watch_rounds: args.watch_rounds,
        rss_keys: args.rss_keys,
        value_bytes: args.value_bytes,
    };
    let rows = runtime.block_on(run_store_bench(&cfg))?;
    print_comparisons(&rows);
    Ok(ExitCode::SUCCESS)
}

fn run_gateway(args: BenchArgs, runtime: &tokio::runtime::Runtime) -> anyhow::Result<ExitCode> {
    let cfg = GatewayBenchConfig {
        binary: std::env::current_exe()?,
        members: list(&args.members)?,
        data_dir: args.disk_dir,
        clients: args.clients,
        pods: args.pods,
        watchers: args.watchers,
        watch_changes: args.watch_rounds,
        lists: args.lists,
    };
    let rows = runtime.block_on(run_gateway_bench(&cfg))?;
    gateway_bench::print_rows(&rows);
    Ok(ExitCode::SUCCESS)
}

fn run_kubectl(args: BenchArgs, runtime: &tokio::runtime::Runtime) -> anyhow::Result<ExitCode> {
    let cfg = KubectlBenchConfig {
        binary: std::env::current_exe()?,
        data_dir: args.disk_dir,
        pods: args.pods,
        lists: args.lists,
        appliers: args.appliers,
        applies: args.applies,
    };
    let rows = runtime.block_on(run_kubectl_bench(&cfg))?;
    gateway_bench::print_rows(&rows);
    Ok(ExitCode::SUCCESS)
}

fn run_raft(args: BenchArgs, runtime: &tokio::runtime::Runtime) -> anyhow::Result<ExitCode> {
    let members = list(&args.members)?;
    let [members] = members.as_slice() else {
        bail!("bench raft takes one member count");
    };
    let proposers = list(&args.proposers)?;
    let cfg = RaftBenchConfig {
        binary: std::env::current_exe()?,
        members: *members,
        proposers,
        proposals: args.proposals,
        value_bytes: args.value_bytes,
        media: vec![
            ("disk (fsync)".to_string(), args.disk_dir),
            ("tmpfs (memory)".to_string(), args.memory_dir),
        ],
    };
    let rows = runtime.block_on(run_raft_bench(&cfg))?;
    print_rows(&rows);
    Ok(ExitCode::SUCCESS)
}
