//! End-to-end: real `kactor server` processes on loopback, driven by `kactor store`.

use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kactor_transport::pki::{node_id_from_name, ClusterCa};

#[path = "../transport/tests/support/tiny_disk.rs"]
mod tiny_disk;
use tiny_disk::TinyDisk;

const KACTOR: &str = env!("CARGO_BIN_EXE_kactor");
/// How long a cluster may take to elect or recover before a test fails.
const SETTLE_MAX: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Member {
    name: String,
    addr: SocketAddr,
    dir: PathBuf,
    process: Option<Child>,
}

struct Cluster {
    root: tempfile::TempDir,
    members: Vec<Member>,
    snapshot_entries: u64,
}

impl Cluster {
    fn start(size: usize, snapshot_entries: u64) -> Cluster {
        let root = tempfile::tempdir().unwrap();
        let members: Vec<Member> = (1..=size)
            .map(|i| Member {
                name: format!("n{i}"),
                addr: format!("127.0.0.1:{}", free_port()).parse().unwrap(),
                dir: root.path().join(format!("n{i}")),
                process: None,
            })
            .collect();
        let mut cluster = Cluster {
            root,
            members,
            snapshot_entries,
        };
        for i in 0..size {
            cluster.boot(i);
        }
        cluster
    }

    fn ca_dir(&self) -> PathBuf {
        self.root.path().join("ca")
    }

    fn boot(&mut self, i: usize) {
        let initial: Vec<String> = self
            .members
            .iter()
            .map(|m| format!("{}={}", m.name, m.addr))
            .collect();
        let log = std::fs::File::create(
            self.root
                .path()
                .join(format!("{}.log", self.members[i].name)),
        )
        .unwrap();
        let m = &self.members[i];
        let child = Command::new(KACTOR)
            .args(["server", "--api-listen", "127.0.0.1:0", "--data-dir"])
            .arg(&m.dir)
            .args(["--name", &m.name, "--listen", &m.addr.to_string()])
            .args(["--initial-cluster", &initial.join(",")])
            .arg("--ca-dir")
            .arg(self.ca_dir())
            .args(["--snapshot-entries", &self.snapshot_entries.to_string()])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.members[i].process = Some(child);
    }

    fn kill(&mut self, i: usize) {
        if let Some(mut child) = self.members[i].process.take() {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
        }
    }

    fn log(&self, i: usize) -> String {
        std::fs::read_to_string(
            self.root
                .path()
                .join(format!("{}.log", self.members[i].name)),
        )
        .unwrap_or_default()
    }

    fn store(&self, via: usize, args: &[&str]) -> Output {
        Command::new(KACTOR)
            .args(["store", "--data-dir"])
            .arg(&self.members[via].dir)
            .args(args)
            .output()
            .unwrap()
    }

    /// Waits until a live member reports a leader all live members agree on.
    fn await_leader(&self) -> usize {
        let deadline = Instant::now() + SETTLE_MAX;
        while Instant::now() < deadline {
            if let Some(leader) = self.current_leader() {
                return leader;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("no leader within {SETTLE_MAX:?}\n{}", self.logs());
    }

    fn current_leader(&self) -> Option<usize> {
        let via = self.members.iter().position(|m| m.process.is_some())?;
        let status = self.status(via)?;
        let leader = status.iter().find(|row| row.role == "leader")?;
        self.members
            .iter()
            .position(|m| m.addr.to_string() == leader.address && m.process.is_some())
    }

    fn status(&self, via: usize) -> Option<Vec<StatusRow>> {
        let out = self.store(via, &["status"]);
        let text = String::from_utf8_lossy(&out.stdout);
        let rows = text
            .lines()
            .skip(1)
            .filter(|l| !l.contains("unreachable"))
            .filter_map(StatusRow::parse)
            .collect();
        Some(rows)
    }

    fn logs(&self) -> String {
        (0..self.members.len())
            .map(|i| format!("--- {}\n{}", self.members[i].name, self.log(i)))
            .collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }
}

#[derive(Debug)]
struct StatusRow {
    address: String,
    role: String,
    term: u64,
    commit: u64,
    applied: u64,
    snapshot: u64,
}

impl StatusRow {
    fn parse(line: &str) -> Option<StatusRow> {
        let f: Vec<&str> = line.split_whitespace().collect();
        Some(StatusRow {
            address: f.get(1)?.to_string(),
            role: f.get(2)?.to_string(),
            term: f.get(3)?.parse().ok()?,
            commit: f.get(4)?.parse().ok()?,
            applied: f.get(5)?.parse().ok()?,
            snapshot: f.get(7)?.parse().ok()?,
        })
    }
}

fn put(cluster: &Cluster, via: usize, key: &str, value: &str) -> bool {
    cluster.store(via, &["put", key, value]).status.success()
}

fn get(cluster: &Cluster, via: usize, key: &str) -> Option<String> {
    let out = cluster.store(via, &["get", key]);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn killing_the_leader_elects_another_and_loses_no_acknowledged_write() {
    let mut cluster = Cluster::start(3, 10_000);
    let leader = cluster.await_leader();
    let acknowledged: Vec<String> = (0..15)
        .map(|i| format!("k{i}"))
        .filter(|key| put(&cluster, 0, key, &format!("v-{key}")))
        .collect();
    assert_eq!(acknowledged.len(), 15, "{}", cluster.logs());
    let old_term = cluster
        .status(leader)
        .unwrap()
        .iter()
        .map(|r| r.term)
        .max()
        .unwrap();
    cluster.kill(leader);
    let via = (leader + 1) % 3;
    let new_leader = cluster.await_leader();
    assert_ne!(new_leader, leader);
    let new_term = cluster
        .status(via)
        .unwrap()
        .iter()
        .map(|r| r.term)
        .max()
        .unwrap();
    assert!(new_term > old_term, "a new term began");
    for key in &acknowledged {
        assert_eq!(
            get(&cluster, via, key).as_deref(),
            Some(format!("v-{key}").as_str()),
            "{key} lost"
        );
    }
    assert!(
        put(&cluster, via, "after", "failover"),
        "the cluster still takes writes"
    );
}

#[test]
fn a_restarted_member_catches_up_from_a_snapshot() {
    let mut cluster = Cluster::start(3, 5);
    let leader = cluster.await_leader();
    let lagging = (leader + 1) % 3;
    let via = (leader + 2) % 3;
    cluster.kill(lagging);
    for i in 0..25 {
        assert!(
            put(&cluster, via, &format!("k{i}"), "v"),
            "{}",
            cluster.logs()
        );
    }
    cluster.boot(lagging);
    let deadline = Instant::now() + SETTLE_MAX;
    let lagging_addr = cluster.members[lagging].addr.to_string();
    loop {
        let rows = cluster.status(via).unwrap_or_default();
        let commit = rows.iter().map(|r| r.commit).max().unwrap_or(0);
        if let Some(row) = rows.iter().find(|r| r.address == lagging_addr) {
            if row.applied >= commit && commit >= 25 && row.snapshot >= 20 {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "member did not catch up: {rows:?}\n{}",
            cluster.logs()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        cluster.log(lagging).contains("installing snapshot"),
        "{}",
        cluster.log(lagging)
    );
    assert_eq!(get(&cluster, lagging, "k24").as_deref(), Some("v"));
}

#[test]
fn a_peer_from_another_ca_is_refused_and_a_garbage_frame_does_not_stop_the_member() {
    let cluster = Cluster::start(1, 10_000);
    cluster.await_leader();
    let member = &cluster.members[0];
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        // A certificate from another CA: the handshake is refused.
        let foreign = ClusterCa::create("elsewhere")
            .unwrap()
            .issue("intruder", 99, &[])
            .unwrap();
        let refused = connect(&foreign, member.addr, node_id_from_name(&member.name)).await;
        let stream = match refused {
            Ok(conn) => conn.open_uni().await.map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        assert!(stream.is_err(), "a foreign certificate was accepted");
        // A valid certificate that sends a 16 MiB frame header and garbage: that
        // connection is closed.
        let insider = ClusterCa::load(&cluster.ca_dir())
            .unwrap()
            .issue("mallory", 98, &[])
            .unwrap();
        let conn = connect(&insider, member.addr, node_id_from_name(&member.name))
            .await
            .unwrap();
        let mut stream = conn.open_uni().await.unwrap();
        let header = (16u32 * 1024 * 1024).to_be_bytes();
        let _ = stream.write_all(&header).await;
        let _ = stream.write_all(&vec![0xAB; 64 * 1024]).await;
        let closed = tokio::time::timeout(Duration::from_secs(10), conn.closed()).await;
        assert!(closed.is_ok(), "the bad connection stays open");
    });
    assert!(
        cluster.log(0).contains("malformed frame"),
        "{}",
        cluster.log(0)
    );
    assert!(
        put(&cluster, 0, "still", "serving"),
        "the member kept serving"
    );
    assert_eq!(get(&cluster, 0, "still").as_deref(), Some("serving"));
}

async fn connect(
    identity: &kactor_transport::pki::NodeIdentity,
    server: SocketAddr,
    server_id: u64,
) -> Result<quinn::Connection, String> {
    let tls = identity.client_config().map_err(|e| e.to_string())?;
    let crypto =
        quinn::crypto::rustls::QuicClientConfig::try_from(tls).map_err(|e| e.to_string())?;
    let mut endpoint =
        quinn::Endpoint::client("127.0.0.1:0".parse().unwrap()).map_err(|e| e.to_string())?;
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    let connecting = endpoint
        .connect(server, &format!("kactor-node-{server_id}"))
        .map_err(|e| e.to_string())?;
    match tokio::time::timeout(Duration::from_secs(10), connecting).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("handshake timed out".to_string()),
    }
}

/// A watch through the leader resumes on another member when the leader is killed, and
/// delivers every write once, in order; a lease nobody keeps alive takes its key with it.
#[test]
fn a_watch_survives_the_leader_and_an_unkept_lease_expires() {
    let mut cluster = Cluster::start(3, 10_000);
    let leader = cluster.await_leader();
    let watch_out = cluster.root.path().join("watch.out");
    let mut watch = Command::new(KACTOR)
        .args(["store", "--data-dir"])
        .arg(&cluster.members[leader].dir)
        .args(["watch", "/w/", "--prefix", "--rev", "2", "--count", "12"])
        .stdout(std::fs::File::create(&watch_out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let other = (leader + 1) % 3;
    for i in 0..6 {
        assert!(put(&cluster, other, &format!("/w/{i:02}"), "v"), "put {i}");
    }
    cluster.kill(leader);
    cluster.await_leader();
    for i in 6..12 {
        assert!(put(&cluster, other, &format!("/w/{i:02}"), "v"), "put {i}");
    }
    let deadline = Instant::now() + SETTLE_MAX;
    while watch.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = watch.kill();
    let seen = std::fs::read_to_string(&watch_out).unwrap();
    let keys: Vec<&str> = seen
        .lines()
        .filter_map(|l| l.strip_prefix("PUT "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let expected: Vec<String> = (0..12).map(|i| format!("/w/{i:02}")).collect();
    assert_eq!(keys, expected, "watch output:\n{seen}\n{}", cluster.logs());

    let granted = cluster.store(other, &["lease", "grant", "2"]);
    let text = String::from_utf8_lossy(&granted.stdout).to_string();
    let id = text
        .split_whitespace()
        .nth(1)
        .expect("lease ID granted ...");
    let attached = cluster.store(other, &["put", "/leased", "v", "--lease", id]);
    assert!(attached.status.success());
    assert_eq!(get(&cluster, other, "/leased").as_deref(), Some("v"));
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(get(&cluster, other, "/leased"), None, "the lease expired");

    let file = cluster.root.path().join("saved.snapshot");
    let file_arg = file.to_str().unwrap();
    let saved = cluster.store(other, &["snapshot", "save", file_arg]);
    assert!(
        saved.status.success(),
        "{}",
        String::from_utf8_lossy(&saved.stderr)
    );
    let status = cluster.store(other, &["snapshot", "status", file_arg]);
    let text = String::from_utf8_lossy(&status.stdout).to_string();
    // The twelve watched keys, and the namespaces and RBAC policy the gateways bootstrap.
    let bootstrap = kactor_actors::gateway::bootstrap::bootstrap_objects(true).len();
    let expected = format!("keys={} ", 12 + bootstrap);
    assert!(text.contains(&expected), "{expected}: {text}");
}

/// A full disk fails writes with an error that says so, and the member stays up serving
/// serializable reads and status.
#[test]
fn a_full_disk_fails_writes_and_the_member_keeps_serving_reads() {
    let disk = match TinyDisk::mount("3m") {
        Ok(disk) => disk,
        Err(reason) => {
            eprintln!("skipping the full-disk test: cannot mount a tmpfs ({reason})");
            return;
        }
    };
    let dir = disk.path().join("n1");
    let addr = format!("127.0.0.1:{}", free_port());
    let mut server = Command::new(KACTOR)
        .args(["server", "--api-listen", "127.0.0.1:0", "--data-dir"])
        .arg(&dir)
        .args(["--listen", &addr])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let store = |args: &[&str]| {
        Command::new(KACTOR)
            .args(["store", "--data-dir"])
            .arg(&dir)
            .args(args)
            .env("KACTOR_LOG", "error")
            .output()
            .unwrap()
    };
    let deadline = Instant::now() + SETTLE_MAX;
    while !store(&["put", "first", "v"]).status.success() {
        assert!(Instant::now() < deadline, "the server never took a write");
        std::thread::sleep(Duration::from_millis(200));
    }
    let value = "x".repeat(100 * 1024);
    let mut failure = None;
    for i in 0..100 {
        let out = store(&["put", &format!("big{i}"), &value]);
        if !out.status.success() {
            failure = Some(String::from_utf8_lossy(&out.stderr).to_string());
            break;
        }
    }
    let failure = failure.expect("3 MiB fill up within 10 MB of puts");
    assert!(failure.contains("cannot write to its disk"), "{failure}");
    assert!(
        server.try_wait().unwrap().is_none(),
        "the member is still up"
    );
    let read = store(&["get", "first", "--serializable"]);
    assert_eq!(String::from_utf8_lossy(&read.stdout).trim(), "v");
    assert!(store(&["status"]).status.success());
    server.kill().unwrap();
    server.wait().unwrap();
}
