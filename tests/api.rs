//! End-to-end: the real kubectl against `kactor server`'s HTTPS API: who may connect
//! (client certificates, bearer tokens, anonymous) and what RBAC lets them do.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use base64::Engine as _;
use kactor_transport::pki::{ClusterCa, KubeUser};
use kactor_verify::cluster::LocalCluster;

const KACTOR: &str = env!("CARGO_BIN_EXE_kactor");
/// How long the server may take to write its kubeconfig and bootstrap its policy.
const SETTLE_MAX: Duration = Duration::from_secs(30);

struct Api {
    root: tempfile::TempDir,
    _cluster: LocalCluster,
    /// The server's address, from the admin kubeconfig.
    server: String,
}

impl Api {
    fn start(extra_args: &[&str]) -> Api {
        let root = tempfile::tempdir().unwrap();
        let cluster =
            LocalCluster::start_with(Path::new(KACTOR), 1, root.path(), extra_args).unwrap();
        let kubeconfig = root.path().join("n1").join("admin.kubeconfig");
        let deadline = Instant::now() + SETTLE_MAX;
        while !kubeconfig.exists() {
            assert!(Instant::now() < deadline, "{}", cluster.log_tails());
            std::thread::sleep(Duration::from_millis(50));
        }
        let config: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&kubeconfig).unwrap()).unwrap();
        let server = config["clusters"][0]["cluster"]["server"]
            .as_str()
            .unwrap()
            .to_string();
        Api {
            root,
            _cluster: cluster,
            server,
        }
    }

    fn admin_kubeconfig(&self) -> PathBuf {
        self.root.path().join("n1").join("admin.kubeconfig")
    }

    fn ca(&self) -> ClusterCa {
        ClusterCa::load(&self.root.path().join("ca")).unwrap()
    }

    /// A kubeconfig for `user` with a client certificate.
    fn kubeconfig_for(&self, user: &KubeUser) -> PathBuf {
        let cert = self.ca().issue_client(user).unwrap();
        let credentials = serde_json::json!({"client-certificate-data": b64(&cert.cert_pem),
                                             "client-key-data": b64(&cert.key_pem)});
        self.kubeconfig_with(&user.name, credentials)
    }

    /// A kubeconfig with a bearer token.
    fn kubeconfig_with_token(&self, token: &str) -> PathBuf {
        self.kubeconfig_with(
            &format!("token-{}", token.len()),
            serde_json::json!({"token": token}),
        )
    }

    /// A kubeconfig without credentials. kubectl prompts for a user name when a
    /// kubeconfig has none; basic-auth fields stop it, and the API (like
    /// kube-apiserver's) ignores them.
    fn kubeconfig_anonymous(&self) -> PathBuf {
        let credentials = serde_json::json!({"username": "nobody", "password": "none"});
        self.kubeconfig_with("anonymous", credentials)
    }

    fn kubeconfig_with(&self, name: &str, credentials: serde_json::Value) -> PathBuf {
        let config = serde_json::json!({
            "apiVersion": "v1", "kind": "Config", "current-context": "c",
            "clusters": [{"name": "k", "cluster": {"server": self.server,
                "certificate-authority-data": b64(&self.ca().cert_pem)}}],
            "users": [{"name": "u", "user": credentials}],
            "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
        });
        let path = self.root.path().join(format!("{name}.kubeconfig"));
        std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
        path
    }

    fn kubectl(&self, kubeconfig: &Path, args: &[&str]) -> Output {
        Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .arg("--cache-dir")
            .arg(self.root.path().join("kubectl-cache"))
            .args(args)
            .output()
            .expect("kubectl on the PATH")
    }

    /// Runs kubectl until it succeeds (the server may still be electing and
    /// bootstrapping); returns its stdout.
    fn kubectl_ok(&self, kubeconfig: &Path, args: &[&str]) -> String {
        let deadline = Instant::now() + SETTLE_MAX;
        loop {
            let output = self.kubectl(kubeconfig, args);
            if output.status.success() {
                return String::from_utf8_lossy(&output.stdout).into_owned();
            }
            assert!(
                Instant::now() < deadline,
                "kubectl {args:?}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn manifest(&self, name: &str, yaml: &str) -> PathBuf {
        let path = self.root.path().join(name);
        std::fs::write(&path, yaml).unwrap();
        path
    }
}

fn b64(pem: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(pem)
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
    let admin = api.admin_kubeconfig();
    // The server bootstraps the system namespaces soon after it starts.
    let deadline = Instant::now() + SETTLE_MAX;
    loop {
        let namespaces = api.kubectl_ok(&admin, &["get", "namespaces", "-o", "name"]);
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
    api.kubectl_ok(
        &admin,
        &[
            "create",
            "namespace",
            "team",
            "--dry-run=client",
            "-o",
            "json",
        ],
    );
    let team = api.manifest(
        "team.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: team}\n",
    );
    let role = api.manifest("role.yaml", READER_ROLE);
    let configmap = api.manifest("cm.yaml", CONFIGMAP);
    let file = |p: &PathBuf| p.to_str().unwrap().to_string();
    api.kubectl_ok(&admin, &["create", "--validate=false", "-f", &file(&team)]);
    api.kubectl_ok(&admin, &["create", "--validate=false", "-f", &file(&role)]);

    // jane, by client certificate, may read configmaps in team and nothing more.
    let jane = api.kubeconfig_for(&KubeUser::new("jane", &["dev"]));
    let listed = api.kubectl_ok(&jane, &["get", "configmaps", "-n", "team"]);
    assert!(listed.is_empty(), "{listed}");
    let refused = stderr(&api.kubectl(
        &jane,
        &["create", "--validate=false", "-f", &file(&configmap)],
    ));
    assert!(
        refused.contains(r#"Error from server (Forbidden): error when creating"#)
            && refused.contains(r#"configmaps is forbidden: User "jane" cannot create resource "configmaps" in API group "" in the namespace "team""#),
        "{refused}"
    );
    let refused = stderr(&api.kubectl(&jane, &["get", "secrets", "-n", "team"]));
    assert!(
        refused.contains(r#"secrets is forbidden: User "jane" cannot list resource "secrets" in API group "" in the namespace "team""#),
        "{refused}"
    );
    api.kubectl_ok(
        &admin,
        &["create", "--validate=false", "-f", &file(&configmap)],
    );
    let read = api.kubectl_ok(
        &jane,
        &[
            "get",
            "configmap",
            "settings",
            "-n",
            "team",
            "-o",
            "jsonpath={.data.mode}",
        ],
    );
    assert_eq!(read, "fast");
    // kubectl asks for Table form and prints the server's columns.
    let table = api.kubectl_ok(&jane, &["get", "configmaps", "-n", "team"]);
    let lines: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(lines[0], ["NAME", "DATA", "AGE"], "{table}");
    assert_eq!(lines[1][..2], ["settings", "1"], "{table}");

    // The administrator's bearer token from the static token file.
    let tokens = std::fs::read_to_string(api.root.path().join("n1").join("tokens.csv")).unwrap();
    let token = tokens.split(',').next().unwrap();
    let by_token = api.kubeconfig_with_token(token);
    let team = api.kubectl_ok(&by_token, &["get", "namespace", "team", "-o", "name"]);
    assert_eq!(team.trim(), "namespace/team");
    let wrong = api.kubeconfig_with_token("not-a-token");
    let refused = stderr(&api.kubectl(&wrong, &["get", "namespaces"]));
    assert!(refused.contains("Unauthorized"), "{refused}");
    let nobody = api.kubeconfig_anonymous();
    // No credentials at all: anonymous requests are off by default.
    let refused = stderr(&api.kubectl(&nobody, &["get", "namespaces"]));
    assert!(refused.contains("Unauthorized"), "{refused}");
}

#[test]
fn anonymous_requests_when_enabled_are_only_what_rbac_grants() {
    let api = Api::start(&["--anonymous-auth"]);
    api.kubectl_ok(&api.admin_kubeconfig(), &["get", "namespace", "default"]);
    let nobody = api.kubeconfig_anonymous();
    let version = api.kubectl_ok(&nobody, &["version", "-o", "json"]);
    assert!(version.contains(r#""minor": "33""#), "{version}");
    let refused = stderr(&api.kubectl(&nobody, &["get", "pods", "-n", "default"]));
    assert!(
        refused.contains(r#"pods is forbidden: User "system:anonymous" cannot list resource "pods" in API group "" in the namespace "default""#),
        "{refused}"
    );
}
