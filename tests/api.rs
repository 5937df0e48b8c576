//! End-to-end: the real kubectl against `kactor server`'s HTTPS API: who may connect
//! (client certificates, bearer tokens, anonymous) and what RBAC lets them do.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use kactor_transport::pki::{ClusterCa, KubeUser};
use kactor_verify::cluster::LocalCluster;
use kactor_verify::kubectl::Kubectl;

const KACTOR: &str = env!("CARGO_BIN_EXE_kactor");
/// How long the server may take to bootstrap the system namespaces.
const SETTLE_MAX: Duration = Duration::from_secs(30);

struct Api {
    root: tempfile::TempDir,
    _cluster: LocalCluster,
    admin: Kubectl,
}

impl Api {
    fn start(extra_args: &[&str]) -> Api {
        let root = tempfile::tempdir().unwrap();
        let cluster =
            LocalCluster::start_with(Path::new(KACTOR), 1, root.path(), extra_args).unwrap();
        let admin = Kubectl::admin(root.path(), 1)
            .unwrap_or_else(|e| panic!("{e:#}\n{}", cluster.log_tails()));
        Api {
            root,
            _cluster: cluster,
            admin,
        }
    }

    /// kubectl as `user`, by client certificate.
    fn kubectl_for(&self, user: &KubeUser) -> Kubectl {
        let ca = ClusterCa::load(&self.root.path().join("ca")).unwrap();
        self.admin.as_user(&ca, user).unwrap()
    }

    /// kubectl with a bearer token.
    fn kubectl_with_token(&self, token: &str) -> Kubectl {
        let name = format!("token-{}", token.len());
        self.admin
            .with_credentials(&name, serde_json::json!({"token": token}))
            .unwrap()
    }

    /// kubectl without credentials. kubectl prompts for a user name when a kubeconfig
    /// has none; basic-auth fields stop it, and the API (like kube-apiserver's) ignores
    /// them.
    fn kubectl_anonymous(&self) -> Kubectl {
        let credentials = serde_json::json!({"username": "nobody", "password": "none"});
        self.admin
            .with_credentials("anonymous", credentials)
            .unwrap()
    }

    fn manifest(&self, name: &str, yaml: &str) -> PathBuf {
        let path = self.root.path().join(name);
        std::fs::write(&path, yaml).unwrap();
        path
    }
}

fn stderr(output: &Output) -> String {
    assert!(!output.status.success(), "unexpectedly succeeded");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

const READER_ROLE: &str = r#"
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: configmap-reader, namespace: team}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: jane-reads, namespace: team}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: configmap-reader}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: jane}
"#;

const CONFIGMAP: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: team}
data: {mode: fast}
"#;

#[test]
fn kubectl_authenticates_by_certificate_and_token_and_rbac_decides() {
    let api = Api::start(&[]);
    let admin = &api.admin;
    // The server bootstraps the system namespaces soon after it starts.
    let deadline = Instant::now() + SETTLE_MAX;
    loop {
        let namespaces = admin.run_ok(&["get", "namespaces", "-o", "name"]).unwrap();
        let system = ["default", "kube-system", "kube-public", "kube-node-lease"];
        if system
            .iter()
            .all(|s| namespaces.contains(&format!("namespace/{s}")))
        {
            break;
        }
        assert!(Instant::now() < deadline, "{namespaces}");
        std::thread::sleep(Duration::from_millis(200));
    }
    admin
        .run_ok(&[
            "create",
            "namespace",
            "team",
            "--dry-run=client",
            "-o",
            "json",
        ])
        .unwrap();
    let team = api.manifest(
        "team.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n",
    );
    let role = api.manifest("role.yaml", READER_ROLE);
    let configmap = api.manifest("cm.yaml", CONFIGMAP);
    let file = |p: &PathBuf| p.to_str().unwrap().to_string();
    admin.run_ok(&["create", "-f", &file(&team)]).unwrap();
    admin.run_ok(&["create", "-f", &file(&role)]).unwrap();

    // jane, by client certificate, may read configmaps in team and nothing more.
    let jane = api.kubectl_for(&KubeUser::new("jane", &["dev"]));
    let listed = jane.run_ok(&["get", "configmaps", "-n", "team"]).unwrap();
    assert!(listed.is_empty(), "{listed}");
    let refused = stderr(&jane.run(&["create", "-f", &file(&configmap)]).unwrap());
    assert!(
        refused.contains(r#"Error from server (Forbidden): error when creating"#)
            && refused.contains(r#"configmaps is forbidden: User "jane" cannot create resource "configmaps" in API group "" in the namespace "team""#),
        "{refused}"
    );
    let refused = stderr(&jane.run(&["get", "secrets", "-n", "team"]).unwrap());
    assert!(
        refused.contains(r#"secrets is forbidden: User "jane" cannot list resource "secrets" in API group "" in the namespace "team""#),
        "{refused}"
    );
    admin.run_ok(&["create", "-f", &file(&configmap)]).unwrap();
    let read = jane
        .run_ok(&[
            "get",
            "configmap",
            "settings",
            "-n",
            "team",
            "-o",
            "jsonpath={.data.mode}",
        ])
        .unwrap();
    assert_eq!(read, "fast");
    // kubectl asks for Table form and prints the server's columns.
    let table = jane.run_ok(&["get", "configmaps", "-n", "team"]).unwrap();
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["NAME", "DATA", "AGE"], "{table}");
    assert_eq!(lines[1][..2], ["settings", "1"], "{table}");

    // A service account's token (kubectl create token) is that account, until the account
    // is deleted.
    admin
        .run_ok(&["create", "serviceaccount", "robot", "-n", "team"])
        .unwrap();
    let token = admin
        .run_ok(&["create", "token", "robot", "-n", "team"])
        .unwrap();
    let robot = api.kubectl_with_token(token.trim());
    let whoami = robot.run_ok(&["auth", "whoami"]).unwrap();
    assert!(
        whoami.contains("system:serviceaccount:team:robot"),
        "{whoami}"
    );
    let refused = stderr(&robot.run(&["get", "configmaps", "-n", "team"]).unwrap());
    assert!(
        refused.contains(
            r#"User "system:serviceaccount:team:robot" cannot list resource "configmaps""#
        ),
        "{refused}"
    );
    let short = stderr(
        &admin
            .run(&["create", "token", "robot", "-n", "team", "--duration=1m"])
            .unwrap(),
    );
    assert!(
        short.contains("may not specify a duration less than 10 minutes"),
        "{short}"
    );
    admin
        .run_ok(&["delete", "serviceaccount", "robot", "-n", "team"])
        .unwrap();
    let revoked = stderr(&robot.run(&["auth", "whoami"]).unwrap());
    assert!(revoked.contains("Unauthorized"), "{revoked}");
    // Health as kube reports it: terse, verbose, one check.
    assert_eq!(admin.run_ok(&["get", "--raw", "/readyz"]).unwrap(), "ok");
    let verbose = admin.run_ok(&["get", "--raw", "/readyz?verbose"]).unwrap();
    assert!(
        verbose.contains("[+]etcd ok\n[+]informer-sync ok")
            && verbose.ends_with("readyz check passed\n"),
        "{verbose}"
    );
    assert_eq!(
        admin.run_ok(&["get", "--raw", "/livez/etcd"]).unwrap(),
        "ok"
    );
    // kubectl auth: jane may ask what she may do, and the answers are RBAC's.
    let may = |who: &Kubectl, args: &[&str]| who.run(args).unwrap().status.success();
    assert!(may(
        &jane,
        &["auth", "can-i", "list", "configmaps", "-n", "team"]
    ));
    assert!(!may(
        &jane,
        &["auth", "can-i", "create", "configmaps", "-n", "team"]
    ));
    assert!(!may(
        &jane,
        &["auth", "can-i", "list", "secrets", "-n", "team"]
    ));
    let whoami = jane.run_ok(&["auth", "whoami"]).unwrap();
    assert!(
        whoami.contains("jane") && whoami.contains("[dev system:authenticated]"),
        "{whoami}"
    );
    let rules = jane
        .run_ok(&["auth", "can-i", "--list", "-n", "team"])
        .unwrap();
    assert!(
        rules.contains("configmaps") && !rules.contains("secrets"),
        "{rules}"
    );
    // Impersonation: the administrator may act as jane and gets jane's answers; jane may
    // not act as anyone.
    assert!(!may(
        admin,
        &[
            "auth",
            "can-i",
            "create",
            "configmaps",
            "-n",
            "team",
            "--as=jane"
        ]
    ));
    let as_jane = stderr(
        &admin
            .run(&[
                "get",
                "secrets",
                "-n",
                "team",
                "--as=jane",
                "--as-group=dev",
            ])
            .unwrap(),
    );
    assert!(
        as_jane.contains(r#"User "jane" cannot list resource "secrets""#),
        "{as_jane}"
    );
    let refused = stderr(
        &jane
            .run(&["get", "configmaps", "-n", "team", "--as=admin"])
            .unwrap(),
    );
    assert!(
        refused.contains(r#"users "admin" is forbidden: User "jane" cannot impersonate resource "users" in API group "" at the cluster scope"#),
        "{refused}"
    );

    // The administrator's bearer token from the static token file.
    let tokens = std::fs::read_to_string(api.root.path().join("n1").join("tokens.csv")).unwrap();
    let token = tokens.split(',').next().unwrap();
    let by_token = api.kubectl_with_token(token);
    let team = by_token
        .run_ok(&["get", "namespace", "team", "-o", "name"])
        .unwrap();
    assert_eq!(team.trim(), "namespace/team");
    let wrong = api.kubectl_with_token("not-a-token");
    let refused = stderr(&wrong.run(&["get", "namespaces"]).unwrap());
    assert!(refused.contains("Unauthorized"), "{refused}");
    let nobody = api.kubectl_anonymous();
    // No credentials at all: anonymous requests are off by default, but for health, which
    // load balancers probe without any.
    let refused = stderr(&nobody.run(&["get", "namespaces"]).unwrap());
    assert!(refused.contains("Unauthorized"), "{refused}");
    assert_eq!(nobody.run_ok(&["get", "--raw", "/readyz"]).unwrap(), "ok");
}

#[test]
fn anonymous_requests_when_enabled_are_only_what_rbac_grants() {
    let api = Api::start(&["--anonymous-auth"]);
    api.admin.run_ok(&["get", "namespace", "default"]).unwrap();
    let nobody = api.kubectl_anonymous();
    let version = nobody.run_ok(&["version", "-o", "json"]).unwrap();
    assert!(version.contains(r#""minor": "33""#), "{version}");
    let refused = stderr(&nobody.run(&["get", "pods", "-n", "default"]).unwrap());
    assert!(
        refused.contains(r#"pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default""#),
        "{refused}"
    );
}

/// kube-apiserver's limits, as kubectl meets them over HTTP/2 (its default): a body over
/// 3 MiB gets the 413 Status (not a reset stream), headers up to 1 MiB are read (here a
/// 200 KB bearer token, refused for what it is), and larger ones get 431.
#[test]
fn oversized_bodies_and_headers_get_kube_apiservers_answers() {
    let api = Api::start(&[]);
    api.admin.run_ok(&["get", "namespace", "default"]).unwrap();
    let huge = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "huge", "namespace": "default"},
        "data": {"blob": "x".repeat(10_000_000)}});
    let path = api.manifest("huge.json", &huge.to_string());
    let refused = stderr(
        &api.admin
            .run(&["create", "-f", path.to_str().unwrap()])
            .unwrap(),
    );
    assert!(
        refused.contains("(RequestEntityTooLarge)") && refused.contains("3145728 bytes"),
        "{refused}"
    );
    let long = api.kubectl_with_token(&"a".repeat(200_000));
    let refused = stderr(&long.run(&["get", "namespaces"]).unwrap());
    assert!(refused.contains("Unauthorized"), "{refused}");
    let too_long = api.kubectl_with_token(&"a".repeat(1_200_000));
    let refused = stderr(&too_long.run(&["get", "namespaces"]).unwrap());
    assert!(refused.contains("431"), "{refused}");
}

/// The families an operator's dashboards read, under Kubernetes' and etcd's names.
const METRIC_FAMILIES: &[&str] = &[
    "apiserver_request_total",
    "apiserver_request_duration_seconds",
    "apiserver_watch_events_total",
    "etcd_server_has_leader",
    "etcd_server_leader_changes_seen_total",
    "etcd_server_proposals_committed_total",
    "etcd_disk_wal_fsync_duration_seconds",
    "etcd_mvcc_db_total_size_in_bytes",
    "kactor_mesh_connections",
    "kactor_mesh_queued_frames",
    "kactor_mesh_frames_dropped_total",
    "process_resident_memory_bytes",
];

/// `promtool check metrics` (Debian's prometheus package) on `text`: its lint's findings.
fn promtool_findings(text: &str) -> String {
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; the test command installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let findings = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        String::new()
    } else {
        findings
    }
}

/// One plain HTTP/1.1 GET; the whole response.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read as _, Write as _};
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn metrics_are_served_to_whom_rbac_allows_and_promtool_accepts_them() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let plain = format!("127.0.0.1:{port}");
    let api = Api::start(&["--metrics-listen", &plain]);
    let admin = &api.admin;
    admin.run_ok(&["get", "namespace", "default"]).unwrap();
    admin
        .run_ok(&["create", "configmap", "counted", "--from-literal=k=v"])
        .unwrap();
    admin
        .run_ok(&["get", "configmaps", "-w", "--request-timeout=1s"])
        .ok();
    let text = admin.run_ok(&["get", "--raw", "/metrics"]).unwrap();
    for family in METRIC_FAMILIES {
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family} missing:\n{text}"
        );
    }
    assert!(text.contains("etcd_server_has_leader 1"), "{text}");
    assert!(
        text.contains(r#"apiserver_request_total{code="201",resource="configmaps",subresource="",verb="POST"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"apiserver_watch_events_total{group="",kind="ConfigMap",version="v1"}"#),
        "{text}"
    );
    let findings = promtool_findings(&text);
    assert!(findings.is_empty(), "promtool check metrics:\n{findings}");

    // RBAC decides, as for kube's /metrics: jane has no rule for it, system:monitoring has.
    let jane = api.kubectl_for(&KubeUser::new("jane", &["dev"]));
    let refused = stderr(&jane.run(&["get", "--raw", "/metrics"]).unwrap());
    assert!(refused.contains("Forbidden"), "{refused}");
    let monitor = api.kubectl_for(&KubeUser::new("prometheus", &["system:monitoring"]));
    let scraped = monitor.run_ok(&["get", "--raw", "/metrics"]).unwrap();
    assert!(
        scraped.contains("# TYPE etcd_server_has_leader gauge"),
        "{scraped}"
    );

    // The plain listener, as etcd's --listen-metrics-urls.
    let response = http_get(&plain, "/metrics");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        response.contains("etcd_disk_wal_fsync_duration_seconds_bucket"),
        "{response}"
    );
    assert!(http_get(&plain, "/secrets").starts_with("HTTP/1.1 404"));
}
