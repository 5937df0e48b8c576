//! `kactor bench kubectl`: what a kubectl user waits for, timed as whole kubectl
//! processes against a real `kactor server` (the HTTPS API, Table output, apply's GET
//! and PATCH). The reference is Kubernetes' API SLOs: a cluster-scope list p99 ≤ 30 s
//! and a mutating call p99 ≤ 1 s. An apply is a GET and a PATCH (two calls) plus
//! kubectl's own start, so holding it to the one-call SLO is strict.

use std::path::PathBuf;
use std::process::Output;
use std::time::Instant;

use anyhow::{bail, Context as _};
use kactor_actors::gateway::{ApiRequest, Verb};

use crate::bench::percentile;
use crate::cluster::LocalCluster;
use crate::gateway_bench::{self, call, concurrently, ms, path, pod_body, GatewayRow};
use crate::kubectl::Kubectl;

pub struct KubectlBenchConfig {
    pub binary: PathBuf,
    pub data_dir: PathBuf,
    /// Pods in the cluster when `kubectl get pods -A` is timed.
    pub pods: usize,
    /// Timed runs of `kubectl get pods -A`.
    pub lists: usize,
    /// Concurrent kubectl processes applying, and applies each makes.
    pub appliers: usize,
    pub applies: usize,
}

/// Clients creating the pods (setup, not measured).
const SETUP_CLIENTS: usize = 50;

pub async fn run_kubectl_bench(cfg: &KubectlBenchConfig) -> anyhow::Result<Vec<GatewayRow>> {
    let root = tempfile::Builder::new()
        .prefix("kactor-bench-kubectl-")
        .tempdir_in(&cfg.data_dir)
        .with_context(|| format!("a directory in {}", cfg.data_dir.display()))?;
    eprintln!("starting 1 member in {}", root.path().display());
    let cluster = LocalCluster::start(&cfg.binary, 1, root.path())?;
    let client = gateway_bench::setup(root.path(), 1).await?;
    let dir = root.path().to_path_buf();
    let kubectl = tokio::task::spawn_blocking(move || Kubectl::admin(&dir, 1)).await??;
    let server = cluster.pids();
    let mut rows = Vec::new();
    let mut row = |workload: String, figure: f64, slo: Option<f64>| {
        eprintln!("  {workload}: {figure:.1} ms");
        rows.push(GatewayRow {
            members: 1,
            workload,
            unit: "ms",
            figure,
            slo,
        });
    };
    // kubectl's start and one small round trip: the floor under every figure below.
    let empty = time_kubectl(&kubectl, &["get", "pods", "-n", "kube-public"], 5).await?;
    row(
        "kubectl get pods, empty namespace, p50".into(),
        percentile(&empty, 50.0),
        Some(1000.0),
    );

    eprintln!("creating {} pods", cfg.pods);
    let creator = client.clone();
    concurrently(SETUP_CLIENTS, cfg.pods, move |i| {
        let client = creator.clone();
        async move {
            let mut request = ApiRequest::new(Verb::Create, path("pods", Some("bench"), None));
            request.body = pod_body(&format!("p{i:06}"));
            call(&client, request).await.map(|_| ())
        }
    })
    .await?;
    let before = CpuUse::now(&server)?;
    let lists = time_get_all_pods(&kubectl, cfg).await?;
    let (client_ms, server_ms) = before.per_run(&server, lists.len())?;
    let label = format!("kubectl get pods -A, {} pods (Table)", cfg.pods);
    row(
        format!("{label}, p50"),
        percentile(&lists, 50.0),
        Some(30_000.0),
    );
    row(
        format!("{label}, max"),
        percentile(&lists, 100.0),
        Some(30_000.0),
    );
    row(format!("{label}, kubectl CPU per run"), client_ms, None);
    row(format!("{label}, server CPU per run"), server_ms, None);

    let before = CpuUse::now(&server)?;
    let applies = time_appliers(&kubectl, root.path().to_path_buf(), cfg).await?;
    let (client_ms, server_ms) = before.per_run(&server, applies.len())?;
    let label = format!("kubectl apply, {} concurrent appliers", cfg.appliers);
    row(
        format!("{label}, p50"),
        percentile(&applies, 50.0),
        Some(1000.0),
    );
    row(
        format!("{label}, p99"),
        percentile(&applies, 99.0),
        Some(1000.0),
    );
    row(format!("{label}, kubectl CPU per apply"), client_ms, None);
    row(format!("{label}, server CPU per apply"), server_ms, None);
    Ok(rows)
}

/// CPU time so far, in clock ticks: this process's finished children (the kubectl
/// processes it waited for) and the servers. On a 2-core machine, 20 kubectl processes
/// at once queue for the CPU; these figures say whose CPU a latency is made of.
struct CpuUse {
    children: u64,
    server: u64,
}

impl CpuUse {
    fn now(server: &[u32]) -> anyhow::Result<CpuUse> {
        // /proc/PID/stat, after the command's closing parenthesis: field 14 is utime,
        // 15 stime, 16 cutime, 17 cstime (proc(5)); the first field after ")" is 3.
        let fields = |pid: &str| -> anyhow::Result<Vec<u64>> {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
            let rest = stat.rsplit_once(')').context("a /proc stat line")?.1;
            Ok(rest
                .split_whitespace()
                .map(|f| f.parse().unwrap_or(0))
                .collect())
        };
        let own = fields("self")?;
        let mut server_ticks = 0;
        for pid in server {
            let f = fields(&pid.to_string())?;
            server_ticks += f[14 - 3] + f[15 - 3];
        }
        Ok(CpuUse {
            children: own[16 - 3] + own[17 - 3],
            server: server_ticks,
        })
    }

    /// (kubectl, server) CPU milliseconds per run since `self`.
    fn per_run(&self, server: &[u32], runs: usize) -> anyhow::Result<(f64, f64)> {
        let now = CpuUse::now(server)?;
        let tick_ms = 1000.0 / clock_ticks_per_second()?;
        let per = |ticks: u64| ticks as f64 * tick_ms / runs.max(1) as f64;
        Ok((
            per(now.children - self.children),
            per(now.server - self.server),
        ))
    }
}

fn clock_ticks_per_second() -> anyhow::Result<f64> {
    let output = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().parse()?)
}

/// Runs kubectl `runs` times, one after another; sorted wall times in ms.
async fn time_kubectl(kubectl: &Kubectl, args: &[&str], runs: usize) -> anyhow::Result<Vec<f64>> {
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let (took, output) = timed(kubectl, args).await?;
        succeeded(args, &output)?;
        times.push(took);
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}

async fn timed(kubectl: &Kubectl, args: &[&str]) -> anyhow::Result<(f64, Output)> {
    let mut command = tokio::process::Command::from(kubectl.command(args));
    let at = Instant::now();
    let output = command.output().await.context("kubectl on the PATH")?;
    Ok((ms(at.elapsed()), output))
}

fn succeeded(args: &[&str], output: &Output) -> anyhow::Result<()> {
    if !output.status.success() {
        bail!(
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

async fn time_get_all_pods(
    kubectl: &Kubectl,
    cfg: &KubectlBenchConfig,
) -> anyhow::Result<Vec<f64>> {
    let mut times = Vec::with_capacity(cfg.lists);
    for run in 0..cfg.lists {
        let (took, output) = timed(kubectl, &["get", "pods", "-A"]).await?;
        succeeded(&["get", "pods", "-A"], &output)?;
        // A header line, then one line per pod.
        let rows = output
            .stdout
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .count();
        if rows != cfg.pods + 1 {
            bail!(
                "kubectl get pods -A printed {rows} lines for {} pods",
                cfg.pods
            );
        }
        eprintln!("  get pods -A run {}/{}: {took:.0} ms", run + 1, cfg.lists);
        times.push(took);
    }
    times.sort_by(f64::total_cmp);
    Ok(times)
}

/// Each applier applies its own Deployment `cfg.applies` times, changing its replicas
/// each time, so every apply after the first is a real three-way patch.
async fn time_appliers(
    kubectl: &Kubectl,
    dir: PathBuf,
    cfg: &KubectlBenchConfig,
) -> anyhow::Result<Vec<f64>> {
    let mut tasks = Vec::new();
    for applier in 0..cfg.appliers {
        let kubectl = kubectl.with_kubeconfig(kubectl.kubeconfig.clone());
        let (dir, applies) = (dir.clone(), cfg.applies);
        tasks.push(tokio::spawn(async move {
            let manifest = dir.join(format!("applier-{applier}.yaml"));
            let mut times = Vec::with_capacity(applies);
            for n in 0..applies {
                tokio::fs::write(&manifest, deployment(applier, n % 5 + 1)).await?;
                let args = ["apply", "-f", manifest.to_str().context("a UTF-8 path")?];
                let (took, output) = timed(&kubectl, &args).await?;
                succeeded(&args, &output)?;
                times.push(took);
            }
            anyhow::Ok(times)
        }));
    }
    let mut times = Vec::new();
    for task in tasks {
        times.extend(task.await??);
    }
    times.sort_by(f64::total_cmp);
    eprintln!("  {} applies done", times.len());
    Ok(times)
}

fn deployment(applier: usize, replicas: usize) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: applier-{applier}\n  namespace: bench\n\
         spec:\n  replicas: {replicas}\n  selector:\n    matchLabels: {{app: a{applier}}}\n  template:\n\
         \x20   metadata:\n      labels: {{app: a{applier}}}\n    spec:\n      containers:\n\
         \x20     - name: web\n        image: nginx:1.27\n        ports: [{{containerPort: 80}}]\n"
    )
}
