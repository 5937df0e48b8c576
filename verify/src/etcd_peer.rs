//! etcd as the store benchmark's peer: Debian's etcd-server started here with its data dir
//! on the same medium as kactor's, driven through etcd's own gRPC client (`etcd-client`),
//! the way its users drive it.
//!
//! Behind the `etcd` feature: `etcd-client`'s build script needs `protoc`, and the
//! README's run command must build with the Rust toolchain and a C compiler alone. The
//! test command builds with the feature (and installs protoc).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::mpsc;

use crate::store_bench::{measure, rss_mib, StoreBenchConfig, Target};

/// How long etcd may take to answer its first request.
pub const ETCD_START_MS_MAX: u64 = 20_000;

/// Starts `members` etcd members in `root`, runs the benchmark's workloads against them,
/// and stops them.
pub(crate) async fn measure_etcd(
    binary: &Path,
    members: usize,
    root: &Path,
    cfg: &StoreBenchConfig,
) -> anyhow::Result<Vec<f64>> {
    eprintln!("bench: etcd, {members} member(s)");
    let (etcd, endpoints) = start_etcd(binary, members, root)?;
    let target = connect_etcd(&endpoints).await?;
    let pids: Vec<u32> = etcd.children.iter().map(Child::id).collect();
    let figures = measure(&target, cfg, || rss_mib(&pids)).await?;
    drop(etcd);
    Ok(figures)
}

#[derive(Clone)]
struct Etcd {
    client: etcd_client::Client,
}

impl Target for Etcd {
    async fn put(&self, key: Vec<u8>, value: Vec<u8>) -> anyhow::Result<()> {
        self.client.kv_client().put(key, value, None).await?;
        Ok(())
    }

    async fn get(&self, key: Vec<u8>, serializable: bool) -> anyhow::Result<()> {
        let options = serializable.then(|| etcd_client::GetOptions::new().with_serializable());
        self.client.kv_client().get(key, options).await?;
        Ok(())
    }

    async fn watch(
        &self,
        key: Vec<u8>,
        events: mpsc::Sender<(Instant, Vec<u8>)>,
    ) -> anyhow::Result<()> {
        let mut stream = self.client.watch_client().watch(key, None).await?;
        tokio::spawn(async move {
            while let Ok(Some(response)) = stream.message().await {
                let now = Instant::now();
                for event in response.events() {
                    if let Some(kv) = event.kv() {
                        if events.send((now, kv.value().to_vec())).await.is_err() {
                            return;
                        }
                    }
                }
            }
        });
        Ok(())
    }
}

/// etcd members started by the benchmark, killed on drop.
struct EtcdMembers {
    children: Vec<Child>,
}

impl Drop for EtcdMembers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start_etcd(
    binary: &Path,
    count: usize,
    root: &Path,
) -> anyhow::Result<(EtcdMembers, Vec<String>)> {
    let ports: Vec<(u16, u16)> = (0..count)
        .map(|_| Ok((free_tcp_port()?, free_tcp_port()?)))
        .collect::<anyhow::Result<_>>()?;
    let initial: Vec<String> = ports
        .iter()
        .enumerate()
        .map(|(i, (_, peer))| format!("e{i}=http://127.0.0.1:{peer}"))
        .collect();
    let mut members = EtcdMembers {
        children: Vec::new(),
    };
    let mut endpoints = Vec::new();
    for (i, (client, peer)) in ports.iter().enumerate() {
        let client_url = format!("http://127.0.0.1:{client}");
        let peer_url = format!("http://127.0.0.1:{peer}");
        let child = Command::new(binary)
            .args(["--name", &format!("e{i}")])
            .arg("--data-dir")
            .arg(root.join(format!("e{i}")))
            .args([
                "--listen-client-urls",
                &client_url,
                "--advertise-client-urls",
                &client_url,
            ])
            .args([
                "--listen-peer-urls",
                &peer_url,
                "--initial-advertise-peer-urls",
                &peer_url,
            ])
            .args([
                "--initial-cluster",
                &initial.join(","),
                "--initial-cluster-state",
                "new",
            ])
            .args(["--logger", "zap", "--log-level", "error"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        members.children.push(child);
        endpoints.push(client_url);
    }
    Ok((members, endpoints))
}

fn free_tcp_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

async fn connect_etcd(endpoints: &[String]) -> anyhow::Result<Etcd> {
    let deadline = Instant::now() + Duration::from_millis(ETCD_START_MS_MAX);
    loop {
        let attempt = async {
            let client = etcd_client::Client::connect(endpoints, None).await?;
            client.kv_client().put("warmup", "v", None).await?;
            anyhow::Ok(client)
        };
        match attempt.await {
            Ok(client) => return Ok(Etcd { client }),
            Err(e) if Instant::now() > deadline => return Err(e.context("etcd never answered")),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
