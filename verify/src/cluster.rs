//! A real cluster of `kactor server` processes on loopback, for benchmarks and the nemesis:
//! members can be killed (SIGKILL) and restarted from their data dirs, or paused (SIGSTOP)
//! and resumed.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use kactor_actors::raft::Role;
use kactor_transport::gateway_client::GatewayClient;
use kactor_transport::kubelet_streams::{KubeletStreams, StreamServer};
use kactor_transport::pki::{node_id_from_name, NodeIdentity};
use kactor_transport::store_client::StoreClient;

/// How long the cluster may take to elect its first leader.
pub const ELECTION_WAIT_MS_MAX: u64 = 20_000;

/// Member processes, killed on drop. Member `i` is named `n{i + 1}`.
pub struct LocalCluster {
    binary: PathBuf,
    root: PathBuf,
    pub addrs: Vec<SocketAddr>,
    children: Vec<Option<Child>>,
    /// More `kactor server` flags, for every member.
    extra_args: Vec<String>,
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.resume(i);
            self.kill(i);
        }
    }
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl LocalCluster {
    /// Starts `count` members of one cluster under `root`.
    pub fn start(binary: &Path, count: usize, root: &Path) -> anyhow::Result<LocalCluster> {
        LocalCluster::start_with(binary, count, root, &[])
    }

    /// `start`, with more `kactor server` flags for every member.
    pub fn start_with(
        binary: &Path,
        count: usize,
        root: &Path,
        extra_args: &[&str],
    ) -> anyhow::Result<LocalCluster> {
        let addrs: Vec<SocketAddr> = (0..count)
            .map(|_| Ok(format!("127.0.0.1:{}", free_port()?).parse()?))
            .collect::<anyhow::Result<_>>()?;
        let mut cluster = LocalCluster {
            binary: binary.to_path_buf(),
            root: root.to_path_buf(),
            addrs,
            children: (0..count).map(|_| None).collect(),
            extra_args: extra_args.iter().map(|a| a.to_string()).collect(),
        };
        for i in 0..count {
            cluster.restart(i)?;
        }
        Ok(cluster)
    }

    /// Starts member `i` (again) from its data dir; its log continues.
    pub fn restart(&mut self, i: usize) -> anyhow::Result<()> {
        assert!(self.children[i].is_none(), "member {i} is running");
        let initial: Vec<String> = self
            .addrs
            .iter()
            .enumerate()
            .map(|(i, a)| format!("n{}={a}", i + 1))
            .collect();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(member_log(&self.root, i + 1))?;
        let child = Command::new(&self.binary)
            .arg("server")
            .args(["--api-listen", "127.0.0.1:0"])
            .arg("--data-dir")
            .arg(self.root.join(format!("n{}", i + 1)))
            .args(["--name", &format!("n{}", i + 1)])
            .args(["--listen", &self.addrs[i].to_string()])
            .args(["--initial-cluster", &initial.join(",")])
            .arg("--ca-dir")
            .arg(self.root.join("ca"))
            .arg("--fault-injection")
            .args(&self.extra_args)
            .env("KACTOR_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting a member")?;
        self.children[i] = Some(child);
        Ok(())
    }

    /// SIGKILL: the member loses everything it did not fsync.
    pub fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP: the member stops mid-whatever, sockets open.
    pub fn pause(&self, i: usize) {
        self.signal(i, "-STOP");
    }

    /// SIGCONT.
    pub fn resume(&self, i: usize) {
        self.signal(i, "-CONT");
    }

    fn signal(&self, i: usize, signal: &str) {
        if let Some(child) = &self.children[i] {
            let _ = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status();
        }
    }

    /// Cuts member `i` off from every other member, both ways (through each member's
    /// `--fault-injection` partition file).
    pub fn isolate(&self, i: usize) -> anyhow::Result<()> {
        let others: Vec<String> = (0..self.len())
            .filter(|j| *j != i)
            .map(|j| format!("n{}", j + 1))
            .collect();
        std::fs::write(self.partition_file(i), others.join(","))?;
        for j in (0..self.len()).filter(|j| *j != i) {
            std::fs::write(self.partition_file(j), format!("n{}", i + 1))?;
        }
        Ok(())
    }

    /// Restores every link.
    pub fn heal(&self) -> anyhow::Result<()> {
        for i in 0..self.len() {
            std::fs::write(self.partition_file(i), "")?;
        }
        Ok(())
    }

    fn partition_file(&self, i: usize) -> PathBuf {
        self.root.join(format!("n{}", i + 1)).join("partition")
    }

    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().flatten().map(Child::id).collect()
    }

    pub fn len(&self) -> usize {
        self.children.len()
    }

    pub fn is_empty(&self) -> bool {
        self.children.is_empty()
    }

    /// What the members logged last (or their panics).
    pub fn log_tails(&self) -> String {
        log_tails(&self.root, self.children.len())
    }
}

/// Where member `n` of the cluster under `root` logs.
pub fn member_log(root: &Path, n: usize) -> PathBuf {
    root.join(format!("n{n}.log"))
}

/// The last lines each member logged: printed when a run fails.
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

/// How long a member may take to bring its gateway up and write where it listens.
pub const GATEWAY_WAIT_MS_MAX: u64 = 20_000;

/// A client of member `n`'s gateway (`n` counts from 1), with the admin certificate.
pub async fn gateway_client(root: &Path, n: usize) -> anyhow::Result<GatewayClient> {
    let admin = root.join(format!("n{n}")).join("pki").join("admin");
    let deadline = Instant::now() + Duration::from_millis(GATEWAY_WAIT_MS_MAX);
    while !admin.join("node.crt").exists() {
        if Instant::now() > deadline {
            bail!("n{n} never wrote its admin certificate");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    gateway_client_as(root, n, NodeIdentity::load(&admin)?).await
}

/// A client of member `n`'s gateway that presents `identity` (issued from the cluster
/// CA under `root/ca`, say for a kubelet).
pub async fn gateway_client_as(
    root: &Path,
    n: usize,
    identity: NodeIdentity,
) -> anyhow::Result<GatewayClient> {
    let (id, addr) = gateway_address(root, n).await?;
    GatewayClient::connect(identity, id, addr).await
}

/// Serves log and exec streams for a kubelet that presents `identity` (a certificate
/// naming `system:node:<name>`), through member `n`'s gateway; returns once the gateway
/// has welcomed it.
pub async fn kubelet_streams_as<S: StreamServer>(
    root: &Path,
    n: usize,
    identity: NodeIdentity,
    server: Arc<S>,
) -> anyhow::Result<KubeletStreams> {
    let gateway = gateway_address(root, n).await?;
    let streams = KubeletStreams::join(identity, vec![gateway], server).await?;
    streams
        .wait_registered(Duration::from_millis(GATEWAY_WAIT_MS_MAX))
        .await?;
    Ok(streams)
}

/// Member `n`'s gateway: its mesh id and address, once the member has written them.
async fn gateway_address(root: &Path, n: usize) -> anyhow::Result<(u64, SocketAddr)> {
    let dir = root.join(format!("n{n}"));
    let deadline = Instant::now() + Duration::from_millis(GATEWAY_WAIT_MS_MAX);
    let (id, addr) = loop {
        let info: Option<serde_json::Value> = std::fs::read(dir.join("server.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
        let found = info.and_then(|info| {
            let id = info["gateway_id"].as_u64().filter(|id| *id != 0)?;
            let addr: SocketAddr = info["gateway_listen"].as_str()?.parse().ok()?;
            Some((id, addr))
        });
        match found {
            Some(found) => break found,
            None if Instant::now() > deadline => bail!("n{n} never wrote its gateway's address"),
            None => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    Ok((id, addr))
}
