//! Robustness: every kind prints a cell per column whatever the object, at any clock.

use super::*;

// --- Robustness ---------------------------------------------------------------------

const ALL_KINDS: [&str; 37] = [
    "Pod",
    "PodTemplate",
    "PodDisruptionBudget",
    "ReplicationController",
    "ReplicaSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "Service",
    "Ingress",
    "IngressClass",
    "StatefulSet",
    "Endpoints",
    "Node",
    "Event",
    "Namespace",
    "Secret",
    "ServiceAccount",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "HorizontalPodAutoscaler",
    "ConfigMap",
    "NetworkPolicy",
    "RoleBinding",
    "ClusterRoleBinding",
    "Lease",
    "StorageClass",
    "ControllerRevision",
    "ResourceQuota",
    "PriorityClass",
    "RuntimeClass",
    "EndpointSlice",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "Role",
    "Widget",
];

#[test]
fn every_row_has_a_cell_per_column_whatever_the_object() {
    let odd = [
        json!(null),
        json!("text"),
        json!([1, 2]),
        json!({"metadata": 5, "spec": [], "status": "x"}),
        json!({"metadata": {"name": 7, "creationTimestamp": "2024-99-99T00:00:00Z", "deletionTimestamp": {},
                            "labels": {"node-role.kubernetes.io/x": 1}, "ownerReferences": [{"controller": true, "apiVersion": "a/b/c"}]},
               "spec": {"containers": [1, null, "x"], "initContainers": [{"name": "a", "restartPolicy": "Always"}],
                        "replicas": "three", "completions": 1e300, "parallelism": -5,
                        "selector": {"matchLabels": {"a": 1}, "matchExpressions": [null, {"operator": "In"}]},
                        "ports": [{"port": -1, "nodePort": u64::MAX}], "metrics": [{"type": "Pods"}, {"type": "External"}, 5],
                        "type": "LoadBalancer", "capacity": {"storage": {}}, "claimRef": "x"},
               "status": {"containerStatuses": [null, 5, {"state": "x", "restartCount": i64::MAX}, {"restartCount": i64::MAX}],
                          "initContainerStatuses": [{"name": "a", "started": true, "state": {"terminated": {"exitCode": "x"}}}],
                          "conditions": "x", "hard": {"limits.": 5}, "startTime": "x", "loadBalancer": {"ingress": [1]}},
               "subsets": [{"addresses": [1], "ports": [{}]}], "endpoints": [{"addresses": [1]}], "series": {},
               "subjects": [null], "webhooks": {}, "data": [], "rules": [null]}),
    ];
    for kind in ALL_KINDS {
        let table = to_table(kind, &odd, json!(null), NOW_MS, INCLUDE_OBJECT);
        let columns = items(&table, &["columnDefinitions"]).len();
        for row in items(&table, &["rows"]) {
            assert_eq!(items(row, &["cells"]).len(), columns, "{kind}: {row}");
        }
    }
}

#[test]
fn clock_extremes_do_not_panic() {
    for now in [0, u64::MAX] {
        let table = to_table("Pod", &[running_pod()], json!({}), now, INCLUDE_NONE);
        assert!(table["rows"][0]["cells"][4].is_string());
    }
}
