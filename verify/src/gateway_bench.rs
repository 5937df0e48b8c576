//! `kactor bench gateway`: the gateway inside real `kactor server` processes, driven
//! over the mesh by the typed client. The reference is Kubernetes' API SLOs (mutating
//! call p99 ≤ 1 s, single-object read p99 ≤ 1 s, cluster-scope list p99 ≤ 30 s); each row
//! says how far under the SLO we are.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use kactor_actors::gateway::{ApiRequest, ResourcePath, Verb, WatchEventType};
use kactor_transport::gateway_client::{GatewayClient, WatchMessage};
use serde_json::json;
use tokio::sync::Mutex;

use crate::bench::percentile;
use crate::cluster::{self, LocalCluster};
use crate::store_bench::rss_mib;

pub struct GatewayBenchConfig {
    pub binary: PathBuf,
    pub members: Vec<usize>,
    pub data_dir: PathBuf,
    /// Concurrent clients for creates and updates.
    pub clients: usize,
    /// Pods created (and then listed whole).
    pub pods: usize,
    /// Watchers of one namespace's ConfigMaps, and the changes they watch.
    pub watchers: usize,
    pub watch_changes: usize,
    /// Lists of every pod, timed one after another.
    pub lists: usize,
}

#[derive(Clone, Debug)]
pub struct GatewayRow {
    pub members: usize,
    pub workload: String,
    pub unit: &'static str,
    pub figure: f64,
    /// Kubernetes' SLO for this figure, in its unit, if it has one.
    pub slo: Option<f64>,
}

pub(crate) fn path(plural: &str, namespace: Option<&str>, name: Option<&str>) -> ResourcePath {
    ResourcePath {
        group: String::new(),
        plural: plural.into(),
        namespace: namespace.map(str::to_string),
        name: name.map(str::to_string),
        subresource: None,
    }
}

pub(crate) fn pod_body(name: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "c", "image": "registry.k8s.io/pause:3.10",
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}))
    .expect("JSON")
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs `count` calls spread over `clients` tasks; returns sorted latencies (ms), the
/// wall time, and the first failure if any.
pub(crate) async fn concurrently<F, Fut>(
    clients: usize,
    count: usize,
    call: F,
) -> anyhow::Result<(Vec<f64>, Duration)>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let call = Arc::new(call);
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(count)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..clients {
        let (call, latencies) = (call.clone(), latencies.clone());
        tasks.push(tokio::spawn(async move {
            for i in (worker..count).step_by(clients) {
                let at = Instant::now();
                call(i).await?;
                latencies.lock().await.push(ms(at.elapsed()));
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed();
    let mut latencies = Arc::try_unwrap(latencies).expect("tasks done").into_inner();
    latencies.sort_by(f64::total_cmp);
    Ok((latencies, elapsed))
}

pub(crate) async fn call(client: &GatewayClient, request: ApiRequest) -> anyhow::Result<Vec<u8>> {
    client
        .call(request)
        .await
        .map(|(_, body)| body)
        .map_err(|e| anyhow::anyhow!("{} {}: {}", e.code, e.reason, e.message))
}

struct Run<'a> {
    cfg: &'a GatewayBenchConfig,
    members: usize,
    client: GatewayClient,
    rows: Vec<GatewayRow>,
}

impl Run<'_> {
    fn row(&mut self, workload: &str, unit: &'static str, figure: f64, slo: Option<f64>) {
        eprintln!(
            "  {} member(s): {workload}: {figure:.1} {unit}",
            self.members
        );
        self.rows.push(GatewayRow {
            members: self.members,
            workload: workload.into(),
            unit,
            figure,
            slo,
        });
    }

    async fn creates_and_updates(&mut self) -> anyhow::Result<()> {
        let client = self.client.clone();
        // Each pod as created: an update sends the whole object back, as clients do.
        let created: Arc<Mutex<BTreeMap<usize, serde_json::Value>>> = Arc::default();
        let recorded = created.clone();
        let (lat, took) = concurrently(self.cfg.clients, self.cfg.pods, move |i| {
            let (client, recorded) = (client.clone(), recorded.clone());
            async move {
                let mut request = ApiRequest::new(Verb::Create, path("pods", Some("bench"), None));
                request.body = pod_body(&format!("p{i:06}"));
                let body: serde_json::Value =
                    serde_json::from_slice(&call(&client, request).await?)?;
                recorded.lock().await.insert(i, body);
                Ok(())
            }
        })
        .await?;
        let per_s = self.cfg.pods as f64 / took.as_secs_f64();
        self.row(
            &format!("create pod, {} clients", self.cfg.clients),
            "creates/s",
            per_s,
            None,
        );
        self.row("create pod p99", "ms", percentile(&lat, 99.0), Some(1000.0));
        let updates = self.cfg.pods.min(5000);
        let client = self.client.clone();
        let (lat, took) = concurrently(self.cfg.clients, updates, move |i| {
            let (client, created) = (client.clone(), created.clone());
            async move {
                let mut body = created.lock().await.remove(&i).unwrap_or_default();
                let name = format!("p{i:06}");
                let mut request =
                    ApiRequest::new(Verb::Update, path("pods", Some("bench"), Some(&name)));
                body["metadata"]["labels"]["updated"] = "yes".into();
                request.body = serde_json::to_vec(&body)?;
                call(&client, request).await.map(|_| ())
            }
        })
        .await?;
        self.row(
            &format!("update pod, {} clients", self.cfg.clients),
            "updates/s",
            updates as f64 / took.as_secs_f64(),
            None,
        );
        self.row("update pod p99", "ms", percentile(&lat, 99.0), Some(1000.0));
        let client = self.client.clone();
        let gets = self.cfg.pods.min(5000);
        let (lat, _) = concurrently(self.cfg.clients, gets, move |i| {
            let client = client.clone();
            async move {
                let name = format!("p{i:06}");
                call(
                    &client,
                    ApiRequest::new(Verb::Get, path("pods", Some("bench"), Some(&name))),
                )
                .await
                .map(|_| ())
            }
        })
        .await?;
        self.row("get pod p99", "ms", percentile(&lat, 99.0), Some(1000.0));
        Ok(())
    }

    async fn lists(&mut self) -> anyhow::Result<()> {
        let mut lat = Vec::new();
        for _ in 0..self.cfg.lists {
            let at = Instant::now();
            let body = call(
                &self.client,
                ApiRequest::new(Verb::List, path("pods", None, None)),
            )
            .await?;
            lat.push(ms(at.elapsed()));
            let list: serde_json::Value = serde_json::from_slice(&body)?;
            let items = list["items"].as_array().map_or(0, Vec::len);
            if items != self.cfg.pods {
                bail!("the list held {items} pods, not {}", self.cfg.pods);
            }
        }
        lat.sort_by(f64::total_cmp);
        let label = format!("list {} pods, all namespaces, p99", self.cfg.pods);
        self.row(&label, "ms", percentile(&lat, 99.0), Some(30_000.0));
        Ok(())
    }

    async fn watch_fan_out(&mut self, pids: &[u32]) -> anyhow::Result<()> {
        let before = rss_mib(pids);
        let mut streams = Vec::new();
        for _ in 0..self.cfg.watchers {
            let mut request = ApiRequest::new(Verb::Watch, path("configmaps", Some("bench"), None));
            request.list.resource_version = "0".into();
            streams.push(
                self.client
                    .watch(request)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", e.message))?,
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let per_watcher_kib = (rss_mib(pids) - before).max(0.0) * 1024.0 / self.cfg.watchers as f64;
        // An event may beat its write's answer here, so arrivals are matched to send
        // times only once everything is in.
        let mut receivers = Vec::new();
        for mut stream in streams {
            let changes = self.cfg.watch_changes;
            receivers.push(tokio::spawn(async move {
                let mut arrivals = Vec::new();
                while arrivals.len() < changes {
                    let Some(WatchMessage::Events { events, .. }) = stream.recv().await else {
                        break;
                    };
                    let now = Instant::now();
                    for event in events.iter().filter(|e| e.kind == WatchEventType::Modified) {
                        arrivals.push((event.revision, now));
                    }
                }
                arrivals
            }));
        }
        let mut sent = BTreeMap::new();
        let mut request = ApiRequest::new(Verb::Create, path("configmaps", Some("bench"), None));
        request.body = serde_json::to_vec(
            &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w"}, "data": {"n": "0"}}),
        )?;
        call(&self.client, request).await?;
        for n in 1..=self.cfg.watch_changes {
            let mut patch = ApiRequest::new(
                Verb::Patch(kactor_kube::patch::PatchType::Merge),
                path("configmaps", Some("bench"), Some("w")),
            );
            patch.body = serde_json::to_vec(&json!({"data": {"n": n.to_string()}}))?;
            let at = Instant::now();
            let body: serde_json::Value =
                serde_json::from_slice(&call(&self.client, patch).await?)?;
            let revision: u64 = body["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or("0")
                .parse()?;
            sent.insert(revision, at);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let mut lat = Vec::new();
        for receiver in receivers {
            let arrivals = match tokio::time::timeout(Duration::from_secs(30), receiver).await {
                Ok(Ok(arrivals)) if arrivals.len() == self.cfg.watch_changes => arrivals,
                _ => bail!("a watcher did not receive every change within 30 s"),
            };
            for (revision, arrived) in arrivals {
                let at = sent
                    .get(&revision)
                    .context("an event of a write never made")?;
                lat.push(ms(arrived.saturating_duration_since(*at)));
            }
        }
        lat.sort_by(f64::total_cmp);
        let label = format!("watch event, {} watchers", self.cfg.watchers);
        self.row(&format!("{label}, p50"), "ms", percentile(&lat, 50.0), None);
        self.row(&format!("{label}, p99"), "ms", percentile(&lat, 99.0), None);
        self.row("server memory per watcher", "KiB", per_watcher_kib, None);
        Ok(())
    }
}

pub(crate) async fn setup(root: &Path, members: usize) -> anyhow::Result<GatewayClient> {
    let client = cluster::gateway_client(root, 1).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut request = ApiRequest::new(Verb::Create, path("namespaces", None, None));
        request.body = serde_json::to_vec(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}}),
        )?;
        match client.call(request).await {
            Ok(_) => return Ok(client),
            Err(e) if Instant::now() > deadline => {
                bail!("{members} member(s): no gateway: {}", e.message)
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

pub async fn run_gateway_bench(cfg: &GatewayBenchConfig) -> anyhow::Result<Vec<GatewayRow>> {
    let mut rows = Vec::new();
    for &members in &cfg.members {
        let root = tempfile::Builder::new()
            .prefix("kactor-bench-gateway-")
            .tempdir_in(&cfg.data_dir)
            .with_context(|| format!("a directory in {}", cfg.data_dir.display()))?;
        eprintln!("starting {members} member(s) in {}", root.path().display());
        let cluster = LocalCluster::start(&cfg.binary, members, root.path())?;
        let client = setup(root.path(), members).await?;
        let mut run = Run {
            cfg,
            members,
            client,
            rows: Vec::new(),
        };
        // Watchers first: on a fresh heap their memory shows in the server's RSS; after
        // the creates, freed memory would absorb it.
        run.watch_fan_out(&cluster.pids()[..1]).await?;
        run.creates_and_updates().await?;
        run.lists().await?;
        rows.append(&mut run.rows);
    }
    Ok(rows)
}

pub fn print_rows(rows: &[GatewayRow]) {
    println!("| members | workload | unit | kactor | Kubernetes SLO | SLO / kactor |");
    println!("|---:|---|---|---:|---:|---:|");
    for r in rows {
        let (slo, headroom) = match r.slo {
            Some(slo) => {
                // Under 10x the first decimal matters: 0.4x is over the SLO, 1.4x under.
                let headroom = slo / r.figure.max(0.001);
                let digits = if headroom < 10.0 { 1 } else { 0 };
                (format!("{slo:.0}"), format!("{headroom:.digits$}x"))
            }
            None => ("".into(), "".into()),
        };
        println!(
            "| {} | {} | {} | {:.1} | {slo} | {headroom} |",
            r.members, r.workload, r.unit, r.figure
        );
    }
}
