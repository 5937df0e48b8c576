//! End-to-end: a table of scenarios, each a real kubectl command line against one
//! `kactor server`, with the output or effect Kubernetes users expect. Run in order: later
//! rows see what earlier rows did.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use kactor_verify::cluster::LocalCluster;
use kactor_verify::kubectl::Kubectl;

const KACTOR: &str = env!("CARGO_BIN_EXE_kactor");

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

/// Kubernetes' documentation examples, unchanged but for the namespace.
const STANDARD: &str = r#"
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: team}
data: {mode: fast}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: team}
type: Opaque
stringData: {password: hunter2}
---
apiVersion: batch/v1
kind: Job
metadata: {name: pi, namespace: team}
spec:
  template:
    spec:
      containers:
      - name: pi
        image: perl:5.34.0
        command: ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]
      restartPolicy: Never
  backoffLimit: 4
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: hello, namespace: team}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: hello
            image: busybox:1.28
            imagePullPolicy: IfNotPresent
            command: [/bin/sh, -c, date; echo Hello from the Kubernetes cluster]
          restartPolicy: OnFailure
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web, namespace: team}
spec:
  selector: {matchLabels: {app: nginx}}
  serviceName: nginx
  replicas: 3
  minReadySeconds: 10
  template:
    metadata: {labels: {app: nginx}}
    spec:
      terminationGracePeriodSeconds: 10
      containers:
      - name: nginx
        image: registry.k8s.io/nginx-slim:0.24
        ports: [{containerPort: 80, name: web}]
        volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: ["ReadWriteOnce"]
      storageClassName: my-storage-class
      resources: {requests: {storage: 1Gi}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: fluentd-elasticsearch
  namespace: team
  labels: {k8s-app: fluentd-logging}
spec:
  selector: {matchLabels: {name: fluentd-elasticsearch}}
  template:
    metadata: {labels: {name: fluentd-elasticsearch}}
    spec:
      tolerations:
      - key: node-role.kubernetes.io/control-plane
        operator: Exists
        effect: NoSchedule
      containers:
      - name: fluentd-elasticsearch
        image: quay.io/fluentd_elasticsearch/fluentd:v2.5.2
        resources:
          limits: {memory: 200Mi}
          requests: {cpu: 100m, memory: 200Mi}
        volumeMounts: [{name: varlog, mountPath: /var/log}]
      terminationGracePeriodSeconds: 30
      volumes:
      - name: varlog
        hostPath: {path: /var/log}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: php-apache, namespace: team}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: php-apache}
  minReplicas: 1
  maxReplicas: 10
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {namespace: team, name: pod-reader}
rules:
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "watch", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-pods, namespace: team}
subjects:
- {kind: User, name: jane, apiGroup: rbac.authorization.k8s.io}
roleRef: {kind: Role, name: pod-reader, apiGroup: rbac.authorization.k8s.io}
"#;

/// A ConfigMap that names a resourceVersion long gone: a replace must be refused.
const STALE: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: team, resourceVersion: "2"}
data: {mode: slow}
"#;

const DRY: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: dry}
data: {a: b}
"#;

const UNKNOWN_FIELD: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: typo}
spec:
  bogusField: 1
  selector: {matchLabels: {app: typo}}
  template:
    metadata: {labels: {app: typo}}
    spec: {containers: [{name: c, image: nginx}]}
"#;

/// Re-applied with an env var, a finalizer and the rolling update dropped: kubectl's
/// three-way patch carries `$setElementOrder` and `$patch: delete` (env),
/// `$deleteFromPrimitiveList` (finalizers) and `$retainKeys` (the strategy).
const DIRECTIVES: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: dir}
spec:
  selector: {matchLabels: {app: dir}}
  template:
    metadata: {labels: {app: dir}}
    spec:
      containers:
      - name: c
        image: nginx
        env: [{name: A, value: "1"}, {name: B, value: "2"}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: fin, finalizers: [example.com/a, example.com/b]}
"#;
/// A List: kubectl validates its items itself, as no PATCH operation says the server
/// validates Lists.
const UNKNOWN_IN_LIST: &str = "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: listed}, dta: {a: b}}\n";

const SSA: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {a: \"1\"}\n";

const INVALID: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: Not_Valid}
"#;

/// What a scenario expects.
enum Expect {
    /// Success, and stdout contains every string.
    Out(&'static [&'static str]),
    /// Success with warnings: stdout contains every string of the first list, stderr every
    /// string of the second.
    Warned(&'static [&'static str], &'static [&'static str]),
    /// Failure, and stderr contains every string.
    Err(&'static [&'static str]),
}

struct Scenario {
    args: &'static [&'static str],
    expect: Expect,
}

use Expect::{Err, Out, Warned};

/// `{app}` in an argument is the deployment manifest, `{edited}` the same with 4
/// replicas, `{invalid}` an invalid ConfigMap, `{standard}` the documentation examples
/// and `{standard-edited}` the same with another schedule, `{stale}` a replace with a
/// stale resourceVersion, `{dry}` a ConfigMap for a server-side dry run, `{many}` 1,100
/// ConfigMaps, `{unknown}` a Deployment with a field it does not have, `{unknown-list}` a
/// List of a ConfigMap with a field it does not have, `{ssa}` and `{ssa-2}` a ConfigMap
/// to apply server-side, with two values, `{directives}` and its edits `{directives-2}`,
/// `{directives-3}` what kubectl's patch directives are for.
const SCENARIOS: &[Scenario] = &[
    Scenario {
        args: &["apply", "-f", "{app}"],
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
        args: &["apply", "-f", "{edited}"],
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
        args: &["create", "-f", "{app}"],
        expect: Err(&[
            "Error from server (AlreadyExists)",
            r#"deployments.apps "web" already exists"#,
        ]),
    },
    Scenario {
        args: &["apply", "-f", "{invalid}"],
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
    // Kubernetes' documentation examples, applied unchanged, then again after an edit.
    Scenario {
        args: &["apply", "-f", "{standard}"],
        expect: Out(&[
            "namespace/team created",
            "configmap/settings created",
            "secret/creds created",
            "job.batch/pi created",
            "cronjob.batch/hello created",
            "statefulset.apps/web created",
            "daemonset.apps/fluentd-elasticsearch created",
            "horizontalpodautoscaler.autoscaling/php-apache created",
            "role.rbac.authorization.k8s.io/pod-reader created",
            "rolebinding.rbac.authorization.k8s.io/read-pods created",
        ]),
    },
    Scenario {
        args: &["apply", "-f", "{standard-edited}"],
        expect: Out(&[
            "namespace/team unchanged",
            "configmap/settings unchanged",
            "cronjob.batch/hello configured",
            // Not the StatefulSet: its claim templates are defaulted (volumeMode, status)
            // and replaced whole by a patch, so kubectl always finds it changed, as on kube.
            "daemonset.apps/fluentd-elasticsearch unchanged",
            "rolebinding.rbac.authorization.k8s.io/read-pods unchanged",
        ]),
    },
    Scenario {
        args: &["get", "cronjobs", "-n", "team"],
        expect: Out(&[
            "SCHEDULE",
            "SUSPEND",
            "ACTIVE",
            "hello",
            "*/5 * * * *",
            "False",
        ]),
    },
    Scenario {
        args: &["get", "statefulsets,daemonsets", "-n", "team"],
        expect: Out(&[
            "statefulset.apps/web",
            "0/3",
            "daemonset.apps/fluentd-elasticsearch",
        ]),
    },
    Scenario {
        args: &["get", "hpa", "-n", "team"],
        expect: Out(&["REFERENCE", "Deployment/php-apache", "MINPODS", "MAXPODS"]),
    },
    Scenario {
        args: &["get", "jobs", "-n", "team"],
        expect: Out(&["STATUS", "COMPLETIONS", "pi", "0/1"]),
    },
    Scenario {
        args: &[
            "get",
            "secret",
            "creds",
            "-n",
            "team",
            "-o",
            "jsonpath={.data.password}",
        ],
        expect: Out(&["aHVudGVyMg=="]),
    },
    Scenario {
        args: &["get", "roles,rolebindings", "-n", "team"],
        expect: Out(&[
            "role.rbac.authorization.k8s.io/pod-reader",
            "Role/pod-reader",
        ]),
    },
    // kubectl edit, with an "editor" that changes one value.
    Scenario {
        args: &["edit", "configmap", "settings", "-n", "team"],
        expect: Out(&["configmap/settings edited"]),
    },
    Scenario {
        args: &[
            "get",
            "configmap",
            "settings",
            "-n",
            "team",
            "-o",
            "jsonpath={.data.mode}",
        ],
        expect: Out(&["edited"]),
    },
    Scenario {
        args: &["explain", "deployment.spec.replicas"],
        expect: Out(&["GROUP:      apps", "FIELD: replicas <integer>"]),
    },
    // The v2 document, which kubectl reads as protobuf only.
    Scenario {
        args: &[
            "explain",
            "--output=plaintext-openapiv2",
            "deployment.spec.replicas",
        ],
        expect: Out(&["VERSION:  apps/v1", "FIELD:    replicas <integer>"]),
    },
    // The typed create commands, which send protobuf bodies.
    Scenario {
        args: &["create", "namespace", "proto"],
        expect: Out(&["namespace/proto created"]),
    },
    Scenario {
        args: &[
            "create",
            "configmap",
            "c1",
            "-n",
            "proto",
            "--from-literal=a=b",
        ],
        expect: Out(&["configmap/c1 created"]),
    },
    Scenario {
        args: &[
            "create",
            "secret",
            "generic",
            "s1",
            "-n",
            "proto",
            "--from-literal=k=v",
        ],
        expect: Out(&["secret/s1 created"]),
    },
    Scenario {
        args: &[
            "create",
            "deployment",
            "web2",
            "-n",
            "proto",
            "--image=nginx",
            "--replicas=2",
            "--port=80",
        ],
        expect: Out(&["deployment.apps/web2 created"]),
    },
    Scenario {
        args: &[
            "create",
            "service",
            "clusterip",
            "svc1",
            "-n",
            "proto",
            "--tcp=80:8080",
        ],
        expect: Out(&["service/svc1 created"]),
    },
    // Services get their addresses from the gateway, and one held is refused to another.
    Scenario {
        args: &[
            "get",
            "service",
            "svc1",
            "-n",
            "proto",
            "-o",
            "jsonpath={.spec.clusterIP}",
        ],
        expect: Out(&["10."]),
    },
    Scenario {
        args: &[
            "create",
            "service",
            "nodeport",
            "np1",
            "-n",
            "proto",
            "--tcp=80:8080",
        ],
        expect: Out(&["service/np1 created"]),
    },
    Scenario {
        args: &["get", "service", "np1", "-n", "proto"],
        expect: Out(&["NodePort", "80:3", "/TCP"]),
    },
    Scenario {
        args: &[
            "create",
            "service",
            "clusterip",
            "fixed1",
            "-n",
            "proto",
            "--clusterip=10.96.0.50",
            "--tcp=80",
        ],
        expect: Out(&["service/fixed1 created"]),
    },
    Scenario {
        args: &[
            "create",
            "service",
            "clusterip",
            "fixed2",
            "-n",
            "proto",
            "--clusterip=10.96.0.50",
            "--tcp=80",
        ],
        expect: Err(&[
            r#"Service "fixed2" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.50"}: failed to allocate IP 10.96.0.50: provided IP is already allocated"#,
        ]),
    },
    Scenario {
        args: &[
            "create",
            "service",
            "nodeport",
            "np2",
            "-n",
            "proto",
            "--tcp=80",
            "--node-port=30999",
        ],
        expect: Out(&["service/np2 created"]),
    },
    Scenario {
        args: &[
            "create",
            "service",
            "nodeport",
            "np3",
            "-n",
            "proto",
            "--tcp=80",
            "--node-port=30999",
        ],
        expect: Err(&[
            "spec.ports[0].nodePort: Invalid value: 30999: provided port is already allocated",
        ]),
    },
    Scenario {
        args: &[
            "create",
            "service",
            "clusterip",
            "headless",
            "-n",
            "proto",
            "--clusterip=None",
        ],
        expect: Out(&["service/headless created"]),
    },
    Scenario {
        args: &["get", "service", "headless", "-n", "proto"],
        expect: Out(&["ClusterIP", "None"]),
    },
    Scenario {
        args: &[
            "get",
            "deployment",
            "web2",
            "-n",
            "proto",
            "-o",
            "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].ports[0].containerPort}",
        ],
        expect: Out(&["2 80"]),
    },
    Scenario {
        args: &[
            "get",
            "secret",
            "s1",
            "-n",
            "proto",
            "-o",
            "jsonpath={.data.k}",
        ],
        expect: Out(&["dg=="]),
    },
    // Merge and JSON patches, as kubectl patch sends them.
    Scenario {
        args: &[
            "patch",
            "deployment",
            "web2",
            "-n",
            "proto",
            "--type=merge",
            "-p",
            r#"{"spec":{"replicas":3},"metadata":{"labels":{"patched":"merge"}}}"#,
        ],
        expect: Out(&["deployment.apps/web2 patched"]),
    },
    Scenario {
        args: &[
            "patch",
            "deployment",
            "web2",
            "-n",
            "proto",
            "--type=json",
            "-p",
            r#"[{"op":"test","path":"/spec/replicas","value":3},{"op":"replace","path":"/spec/replicas","value":1}]"#,
        ],
        expect: Out(&["deployment.apps/web2 patched"]),
    },
    Scenario {
        args: &[
            "get",
            "deployment",
            "web2",
            "-n",
            "proto",
            "-o",
            "jsonpath={.spec.replicas} {.metadata.labels.patched}",
        ],
        expect: Out(&["1 merge"]),
    },
    Scenario {
        args: &["replace", "-f", "{stale}"],
        expect: Err(&[
            "Error from server (Conflict)",
            r#"Operation cannot be fulfilled on configmaps "settings": the object has been modified; please apply your changes to the latest version and try again"#,
        ]),
    },
    Scenario {
        args: &["apply", "--dry-run=server", "-f", "{dry}"],
        expect: Out(&["configmap/dry created (server dry run)"]),
    },
    Scenario {
        args: &["get", "configmap", "dry"],
        expect: Err(&[r#"configmaps "dry" not found"#]),
    },
    Scenario {
        args: &["apply", "-f", "{directives}"],
        expect: Out(&["deployment.apps/dir created", "configmap/fin created"]),
    },
    Scenario {
        args: &["apply", "-f", "{directives-2}"],
        expect: Out(&["deployment.apps/dir configured", "configmap/fin configured"]),
    },
    Scenario {
        args: &[
            "get",
            "deployment",
            "dir",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].env[*].name} {.spec.strategy}",
        ],
        expect: Out(&[r#"A {"type":"Recreate"}"#]),
    },
    Scenario {
        args: &[
            "get",
            "configmap",
            "fin",
            "-o",
            "jsonpath={.metadata.finalizers}",
        ],
        expect: Out(&[r#"["example.com/a"]"#]),
    },
    // Without finalizers in the manifest the list goes, so the delete completes.
    Scenario {
        args: &["apply", "-f", "{directives-3}"],
        expect: Out(&["configmap/fin configured"]),
    },
    Scenario {
        args: &["delete", "-f", "{directives-3}", "--timeout=20s"],
        expect: Out(&[r#"configmap "fin" deleted"#]),
    },
    // Strict field validation (kubectl's default): an unknown field is refused.
    Scenario {
        args: &["apply", "-f", "{unknown}"],
        expect: Err(&[
            "Error from server (BadRequest)",
            r#"strict decoding error: unknown field "spec.bogusField""#,
        ]),
    },
    // Warn (kube's default when kubectl does not ask): the field is dropped, with a warning.
    Scenario {
        args: &["apply", "--validate=warn", "-f", "{unknown}"],
        expect: Warned(
            &["deployment.apps/typo created"],
            &[r#"Warning: unknown field "spec.bogusField""#],
        ),
    },
    Scenario {
        args: &["get", "deployment", "typo", "-o", "jsonpath={.spec}"],
        expect: Out(&[r#""replicas":1"#]),
    },
    Scenario {
        args: &["delete", "-f", "{unknown}", "--timeout=20s"],
        expect: Out(&[r#"deployment.apps "typo" deleted"#]),
    },
    Scenario {
        args: &["create", "-f", "{unknown-list}"],
        expect: Err(&[
            "error validating data",
            r#"ValidationError(ConfigMap): unknown field "dta" in io.k8s.api.core.v1.ConfigMap"#,
        ]),
    },
    // Server-side apply: field managers, a conflict, and taking the field by force.
    Scenario {
        args: &["apply", "--server-side", "-f", "{ssa}"],
        expect: Out(&["configmap/ssa serverside-applied"]),
    },
    Scenario {
        args: &[
            "apply",
            "--server-side",
            "--field-manager=other",
            "-f",
            "{ssa-2}",
        ],
        expect: Err(&[
            r#"Apply failed with 1 conflict: conflict with "kubectl""#,
            ".data.a",
        ]),
    },
    Scenario {
        args: &[
            "apply",
            "--server-side",
            "--field-manager=other",
            "--force-conflicts",
            "-f",
            "{ssa-2}",
        ],
        expect: Out(&["configmap/ssa serverside-applied"]),
    },
    Scenario {
        args: &[
            "get",
            "configmap",
            "ssa",
            "--show-managed-fields",
            "-o",
            "jsonpath={.data.a} {.metadata.managedFields[*].manager}",
        ],
        expect: Out(&["2 other"]),
    },
    // More changes than the watch cache keeps: a watch from the first revision is
    // Expired, as on kube once etcd has compacted.
    Scenario {
        args: &["create", "-f", "{many}", "-o", "name"],
        expect: Out(&["configmap/many-1099"]),
    },
    Scenario {
        args: &[
            "get",
            "--raw",
            "/api/v1/configmaps?watch=1&resourceVersion=1",
            "--request-timeout=20s",
        ],
        expect: Err(&["Error from server (Expired)", "too old resource version"]),
    },
    Scenario {
        args: &["delete", "namespace", "team", "proto", "--timeout=30s"],
        expect: Out(&[
            r#"namespace "team" deleted"#,
            r#"namespace "proto" deleted"#,
        ]),
    },
];

/// A List of `count` ConfigMaps, `many-0` to `many-{count - 1}`.
fn many_configmaps(count: usize) -> String {
    let items: Vec<String> = (0..count)
        .map(|i| format!("- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: many-{i}}}}}"))
        .collect();
    format!("apiVersion: v1\nkind: List\nitems:\n{}\n", items.join("\n"))
}

/// Each placeholder of `SCENARIOS` and its manifest's text.
fn manifests() -> [(&'static str, String); 15] {
    [
        ("{app}", APP.to_string()),
        ("{edited}", APP.replace("replicas: 2", "replicas: 4")),
        ("{invalid}", INVALID.to_string()),
        ("{standard}", STANDARD.to_string()),
        (
            "{standard-edited}",
            STANDARD.replace(r#"schedule: "* * * * *""#, r#"schedule: "*/5 * * * *""#),
        ),
        ("{stale}", STALE.to_string()),
        ("{dry}", DRY.to_string()),
        ("{many}", many_configmaps(1100)),
        ("{unknown}", UNKNOWN_FIELD.to_string()),
        ("{unknown-list}", UNKNOWN_IN_LIST.to_string()),
        ("{ssa}", SSA.to_string()),
        ("{ssa-2}", SSA.replace("\"1\"", "\"2\"")),
        ("{directives}", DIRECTIVES.to_string()),
        (
            "{directives-2}",
            DIRECTIVES
                .replace(r#", {name: B, value: "2"}"#, "")
                .replace(", example.com/b", "")
                .replace(
                    "spec:\n  selector",
                    "spec:\n  strategy: {type: Recreate}\n  selector",
                ),
        ),
        (
            "{directives-3}",
            DIRECTIVES.replace(", finalizers: [example.com/a, example.com/b]", ""),
        ),
    ]
}

#[test]
fn kubectl_scenarios() {
    let root = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(Path::new(KACTOR), 1, root.path()).unwrap();
    let kubectl =
        Kubectl::admin(root.path(), 1).unwrap_or_else(|e| panic!("{e}\n{}", cluster.log_tails()));
    let manifest = |name: &str, text: &str| {
        let path = root.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    // Each placeholder's manifest becomes a file, and the placeholder in an argument its path.
    let files: Vec<(&str, String)> = manifests()
        .into_iter()
        .map(|(placeholder, text)| {
            let name = placeholder.trim_matches(|c| c == '{' || c == '}');
            (placeholder, manifest(&format!("{name}.yaml"), &text))
        })
        .collect();
    let editor = manifest(
        "editor.sh",
        "#!/bin/sh\nsed -i 's/mode: fast/mode: edited/' \"$1\"\n",
    );
    std::fs::set_permissions(&editor, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    for (row, scenario) in SCENARIOS.iter().enumerate() {
        let args: Vec<String> = scenario
            .args
            .iter()
            .map(|arg| {
                let replace = |arg: String, (placeholder, path): &(&str, String)| {
                    arg.replace(placeholder, path)
                };
                files.iter().fold(arg.to_string(), replace)
            })
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = kubectl
            .command(&args)
            .env("KUBE_EDITOR", &editor)
            .output()
            .expect("kubectl on the PATH");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr),
        );
        let wanted: &[(&[&str], &str)] = match scenario.expect {
            Out(out) => &[(out, &stdout)],
            Warned(out, err) => &[(out, &stdout), (err, &stderr)],
            Err(err) => &[(err, &stderr)],
        };
        let succeeded = !matches!(scenario.expect, Err(_));
        assert_eq!(
            output.status.success(),
            succeeded,
            "row {row}: kubectl {args:?}\nstdout: {stdout}\nstderr: {stderr}"
        );
        for (strings, text) in wanted {
            for w in *strings {
                assert!(
                    text.contains(w),
                    "row {row}: kubectl {args:?}: no {w:?} in\n{text}\n{stderr}"
                );
            }
        }
    }
}

#[test]
fn kubectl_get_watch_sees_another_clients_change() {
    let root = tempfile::tempdir().unwrap();
    let cluster = LocalCluster::start(Path::new(KACTOR), 1, root.path()).unwrap();
    let kubectl =
        Kubectl::admin(root.path(), 1).unwrap_or_else(|e| panic!("{e}\n{}", cluster.log_tails()));
    let watcher = kubectl
        .command(&["get", "configmaps", "-w", "--request-timeout=15s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl on the PATH");
    // Give the watch time to start, then change something through another client.
    std::thread::sleep(Duration::from_millis(1500));
    let path = root.path().join("cm.yaml");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: seen}\ndata: {a: b}\n",
    )
    .unwrap();
    let created = kubectl
        .command(&["create", "-f", path.to_str().unwrap()])
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
    // The single-object form starts with the object as it is (kube's synthetic ADDED),
    // then shows the change another client makes.
    let single = kubectl
        .command(&[
            "get",
            "configmap",
            "seen",
            "-w",
            "-o",
            "jsonpath={.data.a}{\"\\n\"}",
            "--request-timeout=10s",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl on the PATH");
    std::thread::sleep(Duration::from_millis(1500));
    let patched = kubectl
        .command(&["patch", "configmap", "seen", "-p", r#"{"data":{"a":"c"}}"#])
        .output()
        .unwrap();
    assert!(
        patched.status.success(),
        "{}",
        String::from_utf8_lossy(&patched.stderr)
    );
    let output = single.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let values: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        values,
        ["b", "c"],
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
