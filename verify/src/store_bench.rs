//! `kactor bench store --against etcd`: one load generator drives kactor's store and etcd
//! (Debian's etcd-server, started here with its data dir on the same medium and fsync on),
//! side by side in one run, at 1 and 3 members on loopback.
//!
//! Workloads: sequential puts from one client (p50, p99); puts from many concurrent
//! clients (throughput, p99); linearizable and serializable reads; put-to-event latency
//! with many watchers; resident memory after loading many keys. 8-byte keys, 256-byte
//! values. Every figure is printed next to etcd's with the ratio.

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use kactor_actors::store::{
    KeySpan, LocalReply, LocalRequest, PutRequest, RangeRequest, StoreCommand, StoreOutput,
    StoreQuery,
};
use kactor_transport::store_client::{StoreClient, WatchItem};
use tokio::sync::mpsc;

use crate::bench::percentile;
use crate::cluster::{connect, LocalCluster};

/// Watch events queued per watcher in the benchmark's own client.
const WATCH_EVENTS_QUEUED_MAX: usize = 1024;

#[derive(Clone, Debug)]
pub struct StoreBenchConfig {
    pub binary: PathBuf,
    pub etcd: Option<PathBuf>,
    pub members: Vec<usize>,
    /// Where the data dirs live (the same medium for both systems).
    pub data_dir: PathBuf,
    pub sequential_puts: usize,
    pub concurrent_clients: usize,
    pub concurrent_ops: usize,
    pub watchers: usize,
    pub watch_rounds: usize,
    pub rss_keys: usize,
    pub value_bytes: usize,
}

/// One measured figure for both systems.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub members: usize,
    pub workload: String,
    pub unit: String,
    pub kactor: f64,
    pub etcd: Option<f64>,
    /// True when more is better (throughput), false when less is (latency, memory).
    pub higher_is_better: bool,
}

/// What the load generator needs of a store.
pub(crate) trait Target: Clone + Send + Sync + 'static {
    fn put(&self, key: Vec<u8>, value: Vec<u8>) -> impl Future<Output = anyhow::Result<()>> + Send;
    fn get(
        &self,
        key: Vec<u8>,
        serializable: bool,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Watches `key`; sends the arrival time and value of each put event.
    fn watch(
        &self,
        key: Vec<u8>,
        events: mpsc::Sender<(Instant, Vec<u8>)>,
    ) -> impl Future<Output = anyhow::Result<()>> + Send;
}

#[derive(Clone)]
struct Kactor {
    client: StoreClient,
    /// The member serializable reads go to.
    local: u64,
}

impl Target for Kactor {
    async fn put(&self, key: Vec<u8>, value: Vec<u8>) -> anyhow::Result<()> {
        let put = PutRequest {
            key,
            value,
            lease: 0,
            prev_kv: false,
        };
        match self.client.command(StoreCommand::Put(put)).await? {
            StoreOutput::Put { .. } => Ok(()),
            other => bail!("put failed: {other:?}"),
        }
    }

    async fn get(&self, key: Vec<u8>, serializable: bool) -> anyhow::Result<()> {
        let range = RangeRequest::latest(KeySpan::Key(key));
        if serializable {
            match self
                .client
                .local(self.local, LocalRequest::Range(range))
                .await?
            {
                LocalReply::Range(_) => Ok(()),
                other => bail!("read failed: {other:?}"),
            }
        } else {
            match self.client.read(StoreQuery::Range(range)).await? {
                StoreOutput::Range(_) => Ok(()),
                other => bail!("read failed: {other:?}"),
            }
        }
    }

    async fn watch(
        &self,
        key: Vec<u8>,
        events: mpsc::Sender<(Instant, Vec<u8>)>,
    ) -> anyhow::Result<()> {
        let mut items = self.client.watch(KeySpan::Key(key), 0, false);
        tokio::spawn(async move {
            while let Some(item) = items.recv().await {
                let WatchItem::Events { events: batch, .. } = item else {
                    continue;
                };
                let now = Instant::now();
                for event in batch {
                    if events.send((now, event.kv.value)).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(())
    }
}

fn key(i: usize) -> Vec<u8> {
    format!("{:08x}", i as u32).into_bytes()
}

/// Runs `ops` operations over `clients` concurrent tasks; returns (seconds, latencies ms).
async fn drive<T, F, Fut>(
    target: &T,
    clients: usize,
    ops: usize,
    op: F,
) -> anyhow::Result<(f64, Vec<f64>)>
where
    T: Target,
    F: Fn(T, usize) -> Fut + Send + Sync + Copy + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let per_client = ops.div_ceil(clients);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let target = target.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(per_client);
                for i in 0..per_client {
                    let begun = Instant::now();
                    op(target.clone(), c * per_client + i).await?;
                    latencies.push(begun.elapsed().as_secs_f64() * 1000.0);
                }
                anyhow::Ok(latencies)
            })
        })
        .collect();
    let mut all = Vec::with_capacity(ops);
    for task in tasks {
        all.extend(task.await??);
    }
    all.sort_by(f64::total_cmp);
    Ok((started.elapsed().as_secs_f64(), all))
}

/// Figures of one system at one member count, in the order of [`WORKLOADS`].
pub(crate) async fn measure<T: Target>(
    target: &T,
    cfg: &StoreBenchConfig,
    pid_rss: impl Fn() -> f64,
) -> anyhow::Result<Vec<f64>> {
    let bytes = cfg.value_bytes;
    let mut figures = Vec::new();
    let put = move |t: T, i: usize| async move { t.put(key(i), vec![b'v'; bytes]).await };
    eprintln!("bench:   sequential puts ({})", cfg.sequential_puts);
    let (_, lat) = drive(target, 1, cfg.sequential_puts, put).await?;
    figures.push(percentile(&lat, 50.0));
    figures.push(percentile(&lat, 99.0));
    eprintln!(
        "bench:   {} clients, {} puts",
        cfg.concurrent_clients, cfg.concurrent_ops
    );
    let (secs, lat) = drive(target, cfg.concurrent_clients, cfg.concurrent_ops, put).await?;
    figures.push(lat.len() as f64 / secs);
    figures.push(percentile(&lat, 99.0));
    for serializable in [false, true] {
        eprintln!(
            "bench:   {} clients, reads (serializable: {serializable})",
            cfg.concurrent_clients
        );
        let read = move |t: T, i: usize| async move { t.get(key(i % 1000), serializable).await };
        let (secs, lat) = drive(target, cfg.concurrent_clients, cfg.concurrent_ops, read).await?;
        figures.push(lat.len() as f64 / secs);
        figures.push(percentile(&lat, 99.0));
    }
    eprintln!(
        "bench:   {} watchers, {} rounds",
        cfg.watchers, cfg.watch_rounds
    );
    let lat = watch_latency(target, cfg).await?;
    figures.push(percentile(&lat, 50.0));
    figures.push(percentile(&lat, 99.0));
    eprintln!("bench:   loading {} keys", cfg.rss_keys);
    drive(target, cfg.concurrent_clients, cfg.rss_keys, put).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    figures.push(pid_rss());
    Ok(figures)
}

/// Put-to-event latency: every watcher watches one key; each round puts it once.
async fn watch_latency<T: Target>(target: &T, cfg: &StoreBenchConfig) -> anyhow::Result<Vec<f64>> {
    let watched = b"watched".to_vec();
    let mut receivers = Vec::with_capacity(cfg.watchers);
    for _ in 0..cfg.watchers {
        let (tx, rx) = mpsc::channel(WATCH_EVENTS_QUEUED_MAX);
        target.watch(watched.clone(), tx).await?;
        receivers.push(rx);
    }
    // Let every watch be established before the first put.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut started = Vec::with_capacity(cfg.watch_rounds);
    for round in 0..cfg.watch_rounds {
        started.push(Instant::now());
        target
            .put(watched.clone(), round.to_string().into_bytes())
            .await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut latencies = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    for rx in &mut receivers {
        while let Ok(Some((at, value))) = tokio::time::timeout_at(deadline.into(), rx.recv()).await
        {
            let round: usize = String::from_utf8_lossy(&value)
                .parse()
                .unwrap_or(usize::MAX);
            if let Some(begun) = started.get(round) {
                latencies.push(at.duration_since(*begun).as_secs_f64() * 1000.0);
            }
            if round + 1 == cfg.watch_rounds {
                break;
            }
        }
    }
    let expected = cfg.watchers * cfg.watch_rounds;
    if latencies.len() < expected {
        eprintln!(
            "bench:   only {} of {expected} watch events arrived in time",
            latencies.len()
        );
    }
    latencies.sort_by(f64::total_cmp);
    Ok(latencies)
}

/// (name, unit, higher is better), in the order `measure` returns figures.
const WORKLOADS: [(&str, &str, bool); 11] = [
    ("1 client sequential put p50", "ms", false),
    ("1 client sequential put p99", "ms", false),
    ("N clients put throughput", "ops/s", true),
    ("N clients put p99", "ms", false),
    ("N clients linearizable read throughput", "ops/s", true),
    ("N clients linearizable read p99", "ms", false),
    ("N clients serializable read throughput", "ops/s", true),
    ("N clients serializable read p99", "ms", false),
    ("watch put-to-event p50", "ms", false),
    ("watch put-to-event p99", "ms", false),
    ("RSS after loading keys (largest member)", "MiB", false),
];

/// Resident memory of the largest of `pids`, in MiB.
pub fn rss_mib(pids: &[u32]) -> f64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|status| {
            let line = status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .to_string();
            line.split_whitespace().nth(1)?.parse::<f64>().ok()
        })
        .fold(0.0, f64::max)
        / 1024.0
}

#[cfg(feature = "etcd")]
use crate::etcd_peer::measure_etcd;

/// Without the `etcd` feature there is no etcd client to drive the peer with.
#[cfg(not(feature = "etcd"))]
async fn measure_etcd(
    _binary: &std::path::Path,
    _members: usize,
    _root: &std::path::Path,
    _cfg: &StoreBenchConfig,
) -> anyhow::Result<Vec<f64>> {
    bail!(
        "this kactor was built without the etcd comparison; rebuild it with \
         `cargo build --release --features etcd` (etcd's gRPC client needs protoc: \
         apt-get install protobuf-compiler)"
    )
}

pub async fn run_store_bench(cfg: &StoreBenchConfig) -> anyhow::Result<Vec<Comparison>> {
    let mut rows = Vec::new();
    for &members in &cfg.members {
        let root = tempfile::Builder::new()
            .prefix("kactor-bench-store-")
            .tempdir_in(&cfg.data_dir)
            .context("bench dir")?;
        eprintln!(
            "bench: kactor, {members} member(s), data in {}",
            cfg.data_dir.display()
        );
        let ours = {
            let servers = LocalCluster::start(&cfg.binary, members, root.path())?;
            let client = connect(root.path(), servers.addrs[0]).await?;
            let local = kactor_transport::pki::node_id_from_name("n1");
            let pids = servers.pids();
            let measured = measure(&Kactor { client, local }, cfg, || rss_mib(&pids)).await;
            measured.map_err(|e| e.context(servers.log_tails()))?
        };
        let theirs = match &cfg.etcd {
            Some(binary) => Some(measure_etcd(binary, members, root.path(), cfg).await?),
            None => None,
        };
        for (i, (name, unit, higher)) in WORKLOADS.iter().enumerate() {
            rows.push(Comparison {
                members,
                workload: name.replace('N', &cfg.concurrent_clients.to_string()),
                unit: unit.to_string(),
                kactor: ours[i],
                etcd: theirs.as_ref().map(|t| t[i]),
                higher_is_better: *higher,
            });
        }
    }
    Ok(rows)
}

pub fn print_comparisons(rows: &[Comparison]) {
    println!("| members | workload | unit | etcd 3.4 | kactor | kactor/etcd | better |");
    println!("|---:|---|---|---:|---:|---:|---|");
    for r in rows {
        let (etcd, ratio, better) = match r.etcd {
            Some(etcd) if etcd > 0.0 => {
                let ratio = r.kactor / etcd;
                let ours = if r.higher_is_better {
                    ratio >= 1.0
                } else {
                    ratio <= 1.0
                };
                (
                    format!("{etcd:.2}"),
                    format!("{ratio:.2}x"),
                    if ours { "kactor" } else { "etcd" },
                )
            }
            _ => ("-".into(), "-".into(), "-"),
        };
        println!(
            "| {} | {} | {} | {etcd} | {:.2} | {ratio} | {better} |",
            r.members, r.workload, r.unit, r.kactor
        );
    }
}
