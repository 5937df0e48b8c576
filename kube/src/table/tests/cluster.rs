//! Cells of nodes, events, namespaces, leases, priority and runtime classes, config maps,
//! secrets, service accounts, bindings, quotas, and the default table.

use super::*;

// --- Cluster objects ----------------------------------------------------------------

#[test]
fn node_cells() {
    let mut node = json!({
        "metadata": metadata("node-1", 45 * DAY),
        "spec": {"unschedulable": true},
        "status": {
            "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
            "addresses": [{"type": "Hostname", "address": "node-1"}, {"type": "InternalIP", "address": "192.168.1.10"}],
            "nodeInfo": {"kubeletVersion": "v1.33.1", "osImage": "Ubuntu 24.04 LTS", "kernelVersion": "6.8.0-45-generic",
                         "containerRuntimeVersion": "containerd://2.0.0"},
        },
    });
    node["metadata"]["labels"] = json!({"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/control-plane": "",
        "kubernetes.io/role": "worker", "node-role.kubernetes.io/": "x", "kubernetes.io/hostname": "node-1"});
    assert_eq!(
        cells("Node", node),
        json!([
            "node-1",
            "Ready,SchedulingDisabled",
            "control-plane,worker",
            "45d",
            "v1.33.1",
            "192.168.1.10",
            "<none>",
            "Ubuntu 24.04 LTS",
            "6.8.0-45-generic",
            "containerd://2.0.0"
        ]),
    );
    let not_ready = json!({"metadata": metadata("node-2", DAY), "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
    assert_eq!(
        cells("Node", not_ready),
        json!([
            "node-2",
            "NotReady",
            "<none>",
            "24h",
            "",
            "<none>",
            "<none>",
            "<unknown>",
            "<unknown>",
            "<unknown>"
        ]),
    );
    assert_eq!(
        cells("Node", json!({"metadata": metadata("node-3", DAY)}))[1],
        "Unknown"
    );
}

#[test]
fn event_cells() {
    let event = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": metadata("web.17c9a1b2", HOUR),
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "fieldPath": "spec.containers{web}"},
        "reason": "Pulled", "message": " Successfully pulled image \"nginx:1.27\"\n", "type": "Normal",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(HOUR), "lastTimestamp": ago(60), "count": 4,
    });
    assert_eq!(
        cells("Event", event),
        json!([
            "60s",
            "Normal",
            "Pulled",
            "pod/web",
            "spec.containers{web}",
            "kubelet, node-1",
            "Successfully pulled image \"nginx:1.27\"",
            "60m",
            4,
            "web.17c9a1b2"
        ]),
    );
    let new_api = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": metadata("sched.1", HOUR),
        "eventTime": "2024-05-01T11:50:00.000000Z",
        "series": {"count": 7, "lastObservedTime": "2024-05-01T11:58:00.000000Z"},
        "regarding": {"kind": "Node"},
        "reportingController": "default-scheduler", "reportingInstance": "sched-1",
        "reason": "Scheduled", "note": "Scheduled", "type": "Normal",
    });
    assert_eq!(
        cells("Event", new_api),
        json!([
            "2m",
            "Normal",
            "Scheduled",
            "node",
            "",
            "default-scheduler, sched-1",
            "Scheduled",
            "10m",
            7,
            "sched.1"
        ]),
    );
    let singleton =
        json!({"metadata": metadata("once", 0), "involvedObject": {"kind": "Pod", "name": "x"}});
    let row = cells("Event", singleton);
    assert_eq!(
        (row[0].clone(), row[7].clone(), row[8].clone()),
        (json!("<unknown>"), json!("<unknown>"), json!(1))
    );
    assert_eq!(
        column_names("Event"),
        [
            "Last Seen",
            "Type",
            "Reason",
            "Object",
            "Subobject",
            "Source",
            "Message",
            "First Seen",
            "Count",
            "Name"
        ],
    );
}

#[test]
fn namespace_lease_priority_and_runtime_class_cells() {
    let namespace =
        json!({"metadata": metadata("team-a", 10 * DAY), "status": {"phase": "Active"}});
    assert_eq!(
        cells("Namespace", namespace),
        json!(["team-a", "Active", "10d"])
    );
    let lease = json!({"metadata": metadata("kube-scheduler", 3 * HOUR), "spec": {"holderIdentity": "sched-1_0b3c"}});
    assert_eq!(
        cells("Lease", lease),
        json!(["kube-scheduler", "sched-1_0b3c", "3h"])
    );
    let class = json!({"metadata": metadata("high", DAY), "value": 1_000_000, "globalDefault": false, "preemptionPolicy": "Never"});
    assert_eq!(
        cells("PriorityClass", class),
        json!(["high", 1_000_000, false, "24h", "Never"])
    );
    let runtime = json!({"metadata": metadata("gvisor", DAY), "handler": "runsc"});
    assert_eq!(
        cells("RuntimeClass", runtime),
        json!(["gvisor", "runsc", "24h"])
    );
    let webhooks =
        json!({"metadata": metadata("policy", DAY), "webhooks": [{"name": "a"}, {"name": "b"}]});
    assert_eq!(
        cells("ValidatingWebhookConfiguration", webhooks),
        json!(["policy", 2, "24h"])
    );
}

#[test]
fn config_map_secret_and_service_account_cells() {
    let config_map = json!({"metadata": metadata("settings", 90), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
    assert_eq!(
        cells("ConfigMap", config_map),
        json!(["settings", 3, "90s"])
    );
    let secret = json!({"metadata": metadata("creds", 90), "type": "Opaque",
        "data": {"user": "YQ==", "pass": "Yg=="}, "stringData": {"pass": "b", "token": "c"}});
    assert_eq!(
        cells("Secret", secret),
        json!(["creds", "Opaque", 3, "90s"])
    );
    let account =
        json!({"metadata": metadata("builder", 90), "secrets": [{"name": "builder-token"}]});
    assert_eq!(
        cells("ServiceAccount", account),
        json!(["builder", 1, "90s"])
    );
    assert_eq!(column_names("ServiceAccount"), ["Name", "Secrets", "Age"]);
}

#[test]
fn role_binding_and_default_table_cells() {
    let binding = json!({
        "metadata": metadata("readers", DAY),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [{"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"}, {"kind": "Group", "name": "devs"},
                     {"kind": "ServiceAccount", "name": "builder", "namespace": "ci"}, {"kind": "Robot", "name": "r2"}],
    });
    assert_eq!(
        cells("RoleBinding", binding.clone()),
        json!([
            "readers",
            "ClusterRole/view",
            "24h",
            "alice, bob",
            "devs",
            "ci/builder"
        ]),
    );
    assert_eq!(cells("ClusterRoleBinding", binding)[1], "ClusterRole/view");
    assert_eq!(column_names("Role"), ["Name", "Created At"]);
    let table = table("ClusterRole", &[]);
    assert_eq!(table["columnDefinitions"][1]["type"], "date");
    let role =
        json!({"metadata": {"name": "reader", "creationTimestamp": "2024-05-01T13:00:00+02:00"}});
    assert_eq!(
        cells("Role", role),
        json!(["reader", "2024-05-01T11:00:00Z"])
    );
    assert_eq!(
        cells("LimitRange", json!({"metadata": {"name": "limits"}})),
        json!(["limits", "0001-01-01T00:00:00Z"])
    );
}

#[test]
fn resource_quota_cells() {
    let quota = json!({"metadata": metadata("compute", 5 * DAY), "status": {
        "hard": {"requests.cpu": "1", "limits.memory": "2Gi", "pods": "10", "limits": "4"},
        "used": {"requests.cpu": "500m", "pods": "3", "limits": "1"}}});
    assert_eq!(
        cells("ResourceQuota", quota),
        json!([
            "compute",
            "limits: 1/4, pods: 3/10, requests.cpu: 500m/1",
            "limits.memory: 0/2Gi",
            "5d"
        ]),
    );
    assert_eq!(
        column_names("ResourceQuota"),
        ["Name", "Request", "Limit", "Age"]
    );
}
