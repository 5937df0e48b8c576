//! End-to-end: a table of scenarios, each a real kubectl command line against one
//! `kactor server`, with the output or effect Kubernetes users expect. Run in order: later
//! rows see what earlier rows did.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kactor_verify::cluster::LocalCluster;

const KACTOR: &str = env!("CARGO_BIN_EXE_kactor");
/// How long the server may take to start and bootstrap the default namespace.
const SETTLE_MAX: Duration = Duration::from_secs(30);

const APP: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: nginx, image: "nginx:1.27", ports: [{containerPort: 80}]}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 80, nodePort: 30080}]
---
apiVersion: v1
kind: Pod
metadata: {name: p1}
spec:
  containers: [{name: c, image: busybox}]
"#;

const INVALID: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: Not_Valid}
"#;

/// What a scenario expects.
enum Expect {
    /// Success, and stdout contains every string.
    Out(&'static [&'static str]),
    /// Failure, and stderr contains every string.
    Err(&'static [&'static str]),
}

struct Scenario {
    args: &'static [&'static str],
    expect: Expect,
}

use Expect::{Err, Out};

/// `{app}` in an argument is the deployment manifest, `{edited}` the same with 4
/// replicas, `{invalid}` an invalid ConfigMap.
const SCENARIOS: &[Scenario] = &[
    Scenario {
        args: &["apply", "--validate=false", "-f", "{app}"],
        expect: Out(&[
            "deployment.apps/web created",
            "service/web created",
            "pod/p1 created",
        ]),
    },
    Scenario {
        args: &["get", "deployments"],
        expect: Out(&[
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "web",
            "0/2",
        ]),
    },
    Scenario {
        args: &["get", "services"],
        expect: Out(&[
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "NodePort",
            "80:30080/TCP",
        ]),
    },
    Scenario {
        args: &["get", "pods"],
        expect: Out(&[
            "NAME", "READY", "STATUS", "RESTARTS", "AGE", "p1", "0/1", "Pending",
        ]),
    },
    Scenario {
        args: &["get", "pods", "-o", "wide"],
        expect: Out(&["IP", "NODE", "NOMINATED NODE", "READINESS GATES"]),
    },
    Scenario {
        args: &["get", "pods", "-A"],
        expect: Out(&["NAMESPACE", "default", "p1"]),
    },
    Scenario {
        args: &["label", "pod", "p1", "tier=a"],
        expect: Out(&["pod/p1 labeled"]),
    },
    Scenario {
        args: &["annotate", "pod", "p1", "note=x"],
        expect: Out(&["pod/p1 annotated"]),
    },
    Scenario {
        args: &["get", "pods", "-l", "tier=a", "-o", "name"],
        expect: Out(&["pod/p1"]),
    },
    Scenario {
        args: &["get", "pods", "--show-labels"],
        expect: Out(&["LABELS", "tier=a"]),
    },
    Scenario {
        args: &[
            "get",
            "pods",
            "--field-selector",
            "metadata.name=p1",
            "-o",
            "name",
        ],
        expect: Out(&["pod/p1"]),
    },
    Scenario {
        args: &["get", "pod", "p1", "-o", "yaml"],
        expect: Out(&["kind: Pod", "note: x", "resourceVersion:"]),
    },
    Scenario {
        args: &["get", "pod", "p1", "-o", "json"],
        expect: Out(&[r#""kind": "Pod""#]),
    },
    Scenario {
        args: &["get", "pod", "p1", "-o", "jsonpath={.metadata.labels.tier}"],
        expect: Out(&["a"]),
    },
    Scenario {
        args: &["get", "pods", "--chunk-size=1", "-A", "-o", "name"],
        expect: Out(&["pod/p1"]),
    },
    Scenario {
        args: &["scale", "deployment", "web", "--replicas=3"],
        expect: Out(&["deployment.apps/web scaled"]),
    },
    Scenario {
        args: &[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.replicas}",
        ],
        expect: Out(&["3"]),
    },
    Scenario {
        args: &["label", "deployment", "web", "owner=ops"],
        expect: Out(&["deployment.apps/web labeled"]),
    },
    // Re-applied after an edit: the change lands, and what the user did not touch (the
    // label set by hand) stays.
    Scenario {
        args: &["apply", "--validate=false", "-f", "{edited}"],
        expect: Out(&["deployment.apps/web configured"]),
    },
    Scenario {
        args: &[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.replicas} {.metadata.labels.owner}",
        ],
        expect: Out(&["4 ops"]),
    },
    Scenario {
        args: &["create", "--validate=false", "-f", "{app}"],
        expect: Err(&[
            "Error from server (AlreadyExists)",
            r#"deployments.apps "web" already exists"#,
        ]),
    },
    Scenario {
        args: &["apply", "--validate=false", "-f", "{invalid}"],
        expect: Err(&[
            r#"The ConfigMap "Not_Valid" is invalid"#,
            "metadata.name: Invalid value: \"Not_Valid\"",
        ]),
    },
    Scenario {
        args: &["get", "pod", "nope"],
        expect: Err(&[r#"Error from server (NotFound): pods "nope" not found"#]),
    },
    Scenario {
        args: &["delete", "pod", "p1", "--wait=true", "--timeout=20s"],
        expect: Out(&[r#"pod "p1" deleted"#]),
    },
    Scenario {
        args: &["delete", "deployment", "web", "--cascade=foreground"],
        expect: Out(&[r#"deployment.apps "web" deleted"#]),
    },
    Scenario {
        args: &["delete", "service", "web"],
        expect: Out(&[r#"service "web" deleted"#]),
    },
    Scenario {
        args: &["get", "pods,deployments,services"],
        expect: Out(&[]),
    },
];

struct Kubectl {
    kubeconfig: PathBuf,
    cache: PathBuf,
}

impl Kubectl {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("kubectl");
        command
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(&self.cache)
            .args(args);
        command
    }

    fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl on the PATH")
    }
}

fn wait_for_server(root: &Path, cluster: &LocalCluster) -> Kubectl {
    let kubectl = Kubectl {
        kubeconfig: root.join("n1").join("admin.kubeconfig"),
        cache: root.join("kubectl-cache"),
    };
    let deadline = Instant::now() + SETTLE_MAX;
    loop {
        let ready = kubectl.kubeconfig.exists()
            && kubectl
                .command(&["get", "namespace", "default"])
                .output()
                .is_ok_and(|o| o.status.success());
        if ready {
            return kubectl;
        }
        assert!(Instant::now() < deadline, "{}", cluster.log_tails());
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn kubectl_scenarios() {
    let root = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(Path::new(KACTOR), 1, root.path()).unwrap();
    let kubectl = wait_for_server(root.path(), &cluster);
    let manifest = |name: &str, text: &str| {
        let path = root.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let app = manifest("app.yaml", APP);
    let edited = manifest("edited.yaml", &APP.replace("replicas: 2", "replicas: 4"));
    let invalid = manifest("invalid.yaml", INVALID);
    for (row, scenario) in SCENARIOS.iter().enumerate() {
        let args: Vec<String> = scenario
            .args
            .iter()
            .map(|a| {
                a.replace("{app}", &app)
                    .replace("{edited}", &edited)
                    .replace("{invalid}", &invalid)
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = kubectl
            .command(&args)
            .output()
            .expect("kubectl on the PATH");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
        let (wanted, text) = match scenario.expect {
            Out(wanted) => (wanted, &stdout),
            Err(wanted) => (wanted, &stderr),
        };
        let succeeded = matches!(scenario.expect, Out(_));
        assert_eq!(
            output.status.success(),
            succeeded,
            "row {row}: kubectl {args:?}\nstdout: {stdout}\nstderr: {stderr}"
        );
        for w in wanted {
            assert!(
                text.contains(w),
                "row {row}: kubectl {args:?}: no {w:?} in\n{text}\n{stderr}"
            );
        }
    }
}

#[test]
fn kubectl_get_watch_sees_another_clients_change() {
    let root = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(Path::new(KACTOR), 1, root.path()).unwrap();
    let kubectl = wait_for_server(root.path(), &cluster);
    let watcher = kubectl.spawn(&["get", "configmaps", "-w", "--request-timeout=15s"]);
    // Give the watch time to start, then change something through another client.
    std::thread::sleep(Duration::from_millis(1500));
    let path = root.path().join("cm.yaml");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: seen}\ndata: {a: b}\n",
    )
    .unwrap();
    let created = kubectl
        .command(&["create", "--validate=false", "-f", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let output = watcher.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout
            .lines()
            .any(|l| l.split_whitespace().next() == Some("seen")),
        "the watch did not show the new configmap:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// With the OpenAPI documents served, kubectl explains fields and applies with its
/// default validation (no `--validate=false`): it finds `fieldValidation` on the kind's
/// PATCH operation and leaves validation to the server.
#[test]
fn kubectl_explain_and_apply_with_default_validation() {
    let root = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(Path::new(KACTOR), 1, root.path()).unwrap();
    let kubectl = wait_for_server(root.path(), &cluster);
    let path = root.path().join("app.yaml");
    std::fs::write(&path, APP).unwrap();
    let runs: [(&[&str], &str); 2] = [
        (
            &["explain", "deployment.spec.replicas"],
            "FIELD: replicas <integer>",
        ),
        (
            &["apply", "-f", path.to_str().unwrap()],
            "deployment.apps/web created",
        ),
    ];
    for (args, wanted) in runs {
        let output = kubectl.command(args).output().expect("kubectl on the PATH");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "kubectl {args:?}\n{stdout}\n{stderr}"
        );
        assert!(
            stdout.contains(wanted),
            "kubectl {args:?}: no {wanted:?} in\n{stdout}\n{stderr}"
        );
    }
}
