//! Cells of the replicated workloads, jobs, cron jobs, autoscalers and revisions.

use super::*;

// --- Workloads ----------------------------------------------------------------------

#[test]
fn deployment_cells() {
    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": metadata("web", 2 * DAY + 5 * HOUR),
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["frontend", "edge"]},
                {"key": "canary", "operator": "DoesNotExist"}]},
            "template": pod_template(json!({"app": "web"})),
        },
        "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
    });
    assert_eq!(
        cells("Deployment", deployment),
        json!([
            "web",
            "2/3",
            3,
            2,
            "2d5h",
            "web,log",
            "nginx:1.27,fluent-bit:3",
            "app=web,!canary,tier in (edge,frontend)"
        ]),
    );
    assert_eq!(
        column_names("Deployment"),
        [
            "Name",
            "Ready",
            "Up-to-date",
            "Available",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ],
    );
    let fresh = json!({"metadata": metadata("new", 0), "spec": {"replicas": 1}});
    assert_eq!(
        cells("Deployment", fresh),
        json!(["new", "0/1", 0, 0, "0s", "", "", ""])
    );
    let invalid = json!({"metadata": metadata("bad", 0), "spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}});
    assert_eq!(cells("Deployment", invalid)[7], "<invalid>");
}

#[test]
fn replica_set_stateful_set_and_daemon_set_cells() {
    let selector = json!({"matchLabels": {"app": "web", "pod-template-hash": "5d8f"}});
    let replica_set = json!({
        "metadata": metadata("web-5d8f", HOUR),
        "spec": {"replicas": 3, "selector": selector, "template": pod_template(json!({}))},
        "status": {"replicas": 3, "readyReplicas": 1},
    });
    assert_eq!(
        cells("ReplicaSet", replica_set),
        json!([
            "web-5d8f",
            3,
            3,
            1,
            "60m",
            "web,log",
            "nginx:1.27,fluent-bit:3",
            "app=web,pod-template-hash=5d8f"
        ]),
    );
    let stateful_set = json!({
        "metadata": metadata("db", 40),
        "spec": {"replicas": 3, "template": pod_template(json!({}))},
        "status": {"readyReplicas": 2},
    });
    assert_eq!(
        cells("StatefulSet", stateful_set),
        json!(["db", "2/3", "40s", "web,log", "nginx:1.27,fluent-bit:3"])
    );
    let mut template = pod_template(json!({}));
    template["spec"]["nodeSelector"] = json!({"kubernetes.io/os": "linux"});
    let daemon_set = json!({
        "metadata": metadata("logs", 3 * DAY),
        "spec": {"selector": {"matchLabels": {"app": "logs"}}, "template": template},
        "status": {"desiredNumberScheduled": 4, "currentNumberScheduled": 4, "numberReady": 3,
                   "updatedNumberScheduled": 4, "numberAvailable": 3},
    });
    assert_eq!(
        cells("DaemonSet", daemon_set),
        json!([
            "logs",
            4,
            4,
            3,
            4,
            3,
            "kubernetes.io/os=linux",
            "3d",
            "web,log",
            "nginx:1.27,fluent-bit:3",
            "app=logs"
        ]),
    );
    let bare = json!({"metadata": metadata("bare", 0)});
    assert_eq!(cells("DaemonSet", bare)[6], "<none>");
    assert_eq!(
        cells("ReplicaSet", json!({"metadata": metadata("rs", 0)}))[7],
        "<none>"
    );
}

#[test]
fn job_cells() {
    let job = |spec: Value, status: Value| json!({"metadata": metadata("backup", 10 * MINUTE), "spec": spec, "status": status});
    let complete = job(
        json!({"completions": 1, "parallelism": 1, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "0b3c"}},
               "template": {"spec": {"containers": [{"name": "backup", "image": "restic:0.17"}]}}}),
        json!({"succeeded": 1, "startTime": ago(5 * MINUTE), "completionTime": ago(5 * MINUTE - 45),
               "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}),
    );
    assert_eq!(
        cells("Job", complete),
        json!([
            "backup",
            "Complete",
            "1/1",
            "45s",
            "10m",
            "backup",
            "restic:0.17",
            "batch.kubernetes.io/controller-uid=0b3c"
        ]),
    );
    let queue = job(
        json!({"parallelism": 3}),
        json!({"succeeded": 1, "startTime": ago(90)}),
    );
    let row = cells("Job", queue);
    assert_eq!(
        (row[1].clone(), row[2].clone(), row[3].clone()),
        (json!("Running"), json!("1/1 of 3"), json!("90s"))
    );
    let unstarted = cells("Job", job(json!({}), json!({})));
    assert_eq!(
        (unstarted[2].clone(), unstarted[3].clone()),
        (json!("0/1"), json!(""))
    );
    let status_of = |conditions: Value| {
        cells("Job", job(json!({}), json!({"conditions": conditions})))[1].clone()
    };
    assert_eq!(
        status_of(json!([{"type": "Failed", "status": "True"}])),
        "Failed"
    );
    assert_eq!(
        status_of(json!([{"type": "Suspended", "status": "True"}])),
        "Suspended"
    );
    assert_eq!(
        status_of(json!([{"type": "FailureTarget", "status": "True"}])),
        "FailureTarget"
    );
    assert_eq!(
        status_of(json!([{"type": "Complete", "status": "False"}])),
        "Running"
    );
    let mut deleting = job(json!({}), json!({}));
    deleting["metadata"]["deletionTimestamp"] = json!(ago(1));
    assert_eq!(cells("Job", deleting)[1], "Terminating");
    assert_eq!(
        column_names("Job"),
        [
            "Name",
            "Status",
            "Completions",
            "Duration",
            "Age",
            "Containers",
            "Images",
            "Selector"
        ],
    );
}

#[test]
fn cron_job_cells() {
    let cron_job = json!({
        "metadata": metadata("nightly", 20 * DAY),
        "spec": {"schedule": "*/5 * * * *", "suspend": false, "jobTemplate": {"spec": {
            "template": {"spec": {"containers": [{"name": "report", "image": "report:2"}]}}}}},
        "status": {"active": [{"kind": "Job", "name": "nightly-1"}], "lastScheduleTime": ago(2 * MINUTE)},
    });
    assert_eq!(
        cells("CronJob", cron_job.clone()),
        json!([
            "nightly",
            "*/5 * * * *",
            "<none>",
            "False",
            1,
            "2m",
            "20d",
            "report",
            "report:2",
            "<none>"
        ]),
    );
    let mut zoned = cron_job;
    zoned["spec"]["timeZone"] = json!("Europe/Paris");
    zoned["spec"]["suspend"] = json!(null);
    zoned["status"] = json!({});
    let row = cells("CronJob", zoned);
    assert_eq!(
        (
            row[2].clone(),
            row[3].clone(),
            row[4].clone(),
            row[5].clone()
        ),
        (
            json!("Europe/Paris"),
            json!("<unset>"),
            json!(0),
            json!("<none>")
        )
    );
}

#[test]
fn autoscaler_cells() {
    let autoscaler = json!({
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": metadata("web", 4 * HOUR),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
            "minReplicas": 1, "maxReplicas": 10,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}],
        },
        "status": {"currentReplicas": 2, "currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 45, "averageValue": "45m"}}}]},
    });
    assert_eq!(
        cells("HorizontalPodAutoscaler", autoscaler.clone()),
        json!(["web", "Deployment/web", "cpu: 45%/80%", "1", 10, 2, "4h"]),
    );
    let mut many = autoscaler.clone();
    many["spec"]["metrics"] = json!([
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
        {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}},
    ]);
    many["spec"]["minReplicas"] = json!(null);
    let row = cells("HorizontalPodAutoscaler", many);
    assert_eq!(row[2], "cpu: 45%/80%, memory: <unknown>/500Mi + 1 more...");
    assert_eq!(row[3], "<unset>");
    let external = json!([
        {"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "Value", "value": "30"}}},
        {"type": "Object", "object": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "2k"}}},
    ]);
    let mut queue = autoscaler.clone();
    queue["spec"]["metrics"] = external;
    queue["status"]["currentMetrics"] =
        json!([{"type": "External", "external": {"current": {"value": "12"}}}]);
    assert_eq!(
        cells("HorizontalPodAutoscaler", queue)[2],
        "12/30, <unknown>/2k (avg)"
    );
    let legacy = json!({
        "apiVersion": "autoscaling/v1", "metadata": metadata("old", HOUR),
        "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "old"}, "maxReplicas": 4, "targetCPUUtilizationPercentage": 70},
        "status": {"currentReplicas": 1, "currentCPUUtilizationPercentage": 12},
    });
    assert_eq!(cells("HorizontalPodAutoscaler", legacy)[2], "cpu: 12%/70%");
    let mut unset = autoscaler;
    unset["spec"]["metrics"] = json!([]);
    assert_eq!(cells("HorizontalPodAutoscaler", unset)[2], "<none>");
}

#[test]
fn controller_revision_cells() {
    let mut revision = json!({"metadata": metadata("fluentd-6b8d", DAY), "revision": 2});
    revision["metadata"]["ownerReferences"] = json!([
        {"apiVersion": "v1", "kind": "Pod", "name": "other"},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "fluentd", "controller": true}]);
    assert_eq!(
        cells("ControllerRevision", revision.clone()),
        json!(["fluentd-6b8d", "daemonset.apps/fluentd", 2, "24h"])
    );
    revision["metadata"]["ownerReferences"] =
        json!([{"apiVersion": "v1", "kind": "Widget", "name": "w", "controller": true}]);
    assert_eq!(cells("ControllerRevision", revision.clone())[1], "widget/w");
    revision["metadata"]["ownerReferences"] = json!([]);
    assert_eq!(cells("ControllerRevision", revision)[1], "<none>");
}
