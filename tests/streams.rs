//! End-to-end: the real kubectl's `logs` and `exec` against `kactor server`, through the
//! gateway to a kubelet on the mesh. The kubelet is the test double
//! (`kactor_verify::kubelet_double`), joined as `system:node:n1`; exec runs over
//! WebSockets (`v5.channel.k8s.io`), and kubectl must not fall back to SPDY.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kactor_transport::kubelet_streams::KubeletStreams;
use kactor_transport::pki::{node_id_from_name, ClusterCa, KubeUser};
use kactor_verify::cluster::{self, LocalCluster};
use kactor_verify::kubectl::Kubectl;
use kactor_verify::kubelet_double::KubeletDouble;

const KACTOR: &str = env!("CARGO_BIN_EXE_kactor");
/// How long the server may take to write its kubeconfig and bootstrap its policy.
const SETTLE_MAX: Duration = Duration::from_secs(30);

/// Pods: p1 on n1 (whose kubelet is the double), p2 not scheduled, p3 on n2 (no kubelet).
const PODS: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: p1}
spec:
  nodeName: n1
  containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata: {name: p2}
spec:
  containers: [{name: c, image: busybox}]
---
apiVersion: v1
kind: Pod
metadata: {name: p3}
spec:
  nodeName: n2
  containers: [{name: c, image: busybox}]
"#;

/// bob may view: get pods, pods/log, even get pods/exec; not create pods/exec.
const BOB_VIEWS: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: bob-views}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: bob}
"#;

/// Dropped in this order: the kubelet, its runtime, the server, then its directory.
struct Streams {
    admin: Kubectl,
    _kubelet: KubeletStreams,
    double: Arc<KubeletDouble>,
    _runtime: tokio::runtime::Runtime,
    _cluster: LocalCluster,
    root: tempfile::TempDir,
}

impl Streams {
    fn start() -> Streams {
        let root = tempfile::tempdir().unwrap();
        let cluster = LocalCluster::start(Path::new(KACTOR), 1, root.path()).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let ca = load_ca_when_ready(&root.path().join("ca"));
        let user = KubeUser::new("system:node:n1", &["system:nodes"]);
        let cert = ca
            .issue_for(
                "n1-kubelet",
                node_id_from_name("n1-kubelet"),
                &[],
                Some(&user),
            )
            .unwrap();
        let double = Arc::new(KubeletDouble::default());
        let kubelet = runtime
            .block_on(cluster::kubelet_streams_as(
                root.path(),
                1,
                cert,
                double.clone(),
            ))
            .unwrap_or_else(|e| panic!("{e:#}\n{}", cluster.log_tails()));
        let admin = Kubectl::admin(root.path(), 1)
            .unwrap_or_else(|e| panic!("{e:#}\n{}", cluster.log_tails()));
        let pods = root.path().join("pods.yaml");
        std::fs::write(&pods, PODS).unwrap();
        // apply, not create: a retry after a partly failed first attempt still lands.
        admin
            .run_ok(&["apply", "-f", pods.to_str().unwrap()])
            .unwrap();
        Streams {
            admin,
            _kubelet: kubelet,
            double,
            _runtime: runtime,
            _cluster: cluster,
            root,
        }
    }

    /// Waits until the kubelet serves no stream: every one ended at both ends.
    fn wait_idle(&self) {
        let deadline = Instant::now() + SETTLE_MAX;
        while self.double.active_streams() > 0 {
            assert!(Instant::now() < deadline, "a stream was never ended");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `kubectl exec` with stdin, verbose enough to name the subprotocol it spoke.
    fn exec(&self, kubectl: &Kubectl, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = kubectl
            .command(&[&["exec", "-v=4"], args].concat())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl on the PATH");
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    }
}

/// The cluster CA, once the server has created it.
fn load_ca_when_ready(dir: &Path) -> ClusterCa {
    let deadline = Instant::now() + SETTLE_MAX;
    loop {
        match ClusterCa::load(dir) {
            Ok(ca) => return ca,
            Err(e) if Instant::now() > deadline => panic!("no cluster CA: {e:#}"),
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// kubectl spoke WebSockets (v5) and never fell back to SPDY.
fn assert_websocket(output: &Output) {
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("The subprotocol is v5.channel.k8s.io"),
        "{stderr}"
    );
    assert!(!stderr.contains("fallback"), "{stderr}");
}

#[test]
fn kubectl_logs_reads_the_kubelets_lines() {
    let s = Streams::start();
    let admin = &s.admin;
    assert_eq!(
        admin.run_ok(&["logs", "p1"]).unwrap(),
        "line 1\nline 2\nline 3\n"
    );
    assert_eq!(
        admin.run_ok(&["logs", "p1", "--tail=1"]).unwrap(),
        "line 3\n"
    );
    assert_eq!(
        admin.run_ok(&["logs", "p1", "--timestamps"]).unwrap(),
        "2025-01-01T00:00:01.000000000Z line 1\n2025-01-01T00:00:02.000000000Z line 2\n2025-01-01T00:00:03.000000000Z line 3\n"
    );
    assert_eq!(
        admin.run_ok(&["logs", "p1", "--limit-bytes=9"]).unwrap(),
        "line 1\nli"
    );
    // The log of a pod no node runs is empty; a container that never restarted has no
    // previous log (the kubelet's error); a node without a kubelet is unavailable.
    assert_eq!(admin.run_ok(&["logs", "p2"]).unwrap(), "");
    let previous = text(&admin.run(&["logs", "p1", "--previous"]).unwrap().stderr);
    assert!(
        previous.contains(r#"previous terminated container "c" in pod "p1" not found"#),
        "{previous}"
    );
    let absent = text(&admin.run(&["logs", "p3"]).unwrap().stderr);
    assert!(
        absent.contains(r#"no kubelet is connected for node "n2""#),
        "{absent}"
    );
    let missing = text(&admin.run(&["logs", "nope"]).unwrap().stderr);
    assert!(missing.contains(r#"pods "nope" not found"#), "{missing}");

    // Follow: the fixed lines, then one every 100 ms, until kubectl is killed.
    let mut follow = admin
        .command(&["logs", "-f", "p1"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines_tx, lines) = std::sync::mpsc::channel();
    let stdout = follow.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let got: Vec<String> = (0..6)
        .map(|_| {
            lines
                .recv_timeout(Duration::from_secs(10))
                .expect("a followed line")
        })
        .collect();
    assert_eq!(
        got,
        ["line 1", "line 2", "line 3", "line 4", "line 5", "line 6"]
    );
    assert_eq!(s.double.active_streams(), 1);
    follow.kill().unwrap();
    follow.wait().unwrap();
    // The stream is gone with it, at the kubelet too; the next ones work.
    s.wait_idle();
    assert_eq!(
        admin.run_ok(&["logs", "p1", "--tail=2"]).unwrap(),
        "line 2\nline 3\n"
    );
}

#[test]
fn kubectl_exec_runs_over_websockets() {
    let s = Streams::start();
    let admin = &s.admin;
    admin.run_ok(&["get", "pod", "p1"]).unwrap();
    let echo = s.exec(admin, &["p1", "--", "echo", "hi"], b"");
    assert!(echo.status.success(), "{}", text(&echo.stderr));
    assert_eq!(text(&echo.stdout), "hi\n");
    assert_websocket(&echo);
    // stdin flows in, and its end (v5's close signal) ends `cat`.
    let cat = s.exec(admin, &["-i", "p1", "--", "cat"], b"data\n");
    assert!(cat.status.success(), "{}", text(&cat.stderr));
    assert_eq!(text(&cat.stdout), "data\n");
    assert_websocket(&cat);
    // More than a window of stdin comes back whole.
    let big: Vec<u8> = (0..1_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let copied = s.exec(admin, &["-i", "p1", "--", "cat"], &big);
    assert!(copied.status.success(), "{}", text(&copied.stderr));
    assert!(copied.stdout == big, "{} bytes back", copied.stdout.len());
    let failed = s.exec(admin, &["p1", "--", "false"], b"");
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed.stderr));
    assert!(
        text(&failed.stderr).contains("command terminated with exit code 1"),
        "{}",
        text(&failed.stderr)
    );
    assert_websocket(&failed);
    let exited = s.exec(admin, &["p1", "--", "exit", "7"], b"");
    assert_eq!(exited.status.code(), Some(7), "{}", text(&exited.stderr));
    // Refusals are kube's, whichever protocol kubectl tried.
    let unscheduled = s.exec(admin, &["p2", "--", "echo"], b"");
    assert!(
        text(&unscheduled.stderr).contains("pod p2 does not have a host assigned"),
        "{}",
        text(&unscheduled.stderr)
    );
    let wrong = s.exec(admin, &["p1", "-c", "x", "--", "echo"], b"");
    assert!(
        text(&wrong.stderr).contains("container x is not valid for pod p1"),
        "{}",
        text(&wrong.stderr)
    );
    s.wait_idle();
}

#[test]
fn kubectl_exec_on_a_terminal_relays_its_size() {
    let s = Streams::start();
    // `script` gives kubectl a terminal of 100x40, so `-t` is honoured: kubectl asks for a
    // tty and sends the terminal's size, which reaches the kubelet through the gateway.
    let exec = s.admin.shell_line(&["exec", "-it", "p1", "--", "size"]);
    let line = format!("stty rows 40 cols 100; {exec}");
    let output = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) on the PATH");
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(stdout.contains("100x40"), "{stdout}");
    s.wait_idle();
}

#[test]
fn kubectl_exec_needs_create_on_pods_exec() {
    let s = Streams::start();
    let admin = &s.admin;
    // bob may view (get pods, pods/log, even get pods/exec) but not create pods/exec.
    let binding = s.root.path().join("bob.yaml");
    std::fs::write(&binding, BOB_VIEWS).unwrap();
    admin
        .run_ok(&["apply", "-f", binding.to_str().unwrap()])
        .unwrap();
    let ca = ClusterCa::load(&s.root.path().join("ca")).unwrap();
    let bob = s.admin.as_user(&ca, &KubeUser::new("bob", &[])).unwrap();
    assert_eq!(bob.run_ok(&["logs", "p1", "--tail=1"]).unwrap(), "line 3\n");
    let refused = s.exec(&bob, &["p1", "--", "echo", "hi"], b"");
    assert!(!refused.status.success());
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains(r#"pods "p1" is forbidden: User "bob" cannot create resource "pods/exec" in API group "" in the namespace "default""#),
        "{stderr}"
    );
    assert!(text(&refused.stdout).is_empty());
}
