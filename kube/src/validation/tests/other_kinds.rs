//! HorizontalPodAutoscaler, Lease, Node, Namespace, Event and ServiceAccount rules.

use super::*;

// ---- Autoscaling, coordination, nodes, namespaces, events, accounts --------------------

#[test]
fn hpa_rules() {
    let hpa = json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "php-apache", "namespace": "default"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "php-apache"},
            "minReplicas": 1, "maxReplicas": 10,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}});
    let group = "autoscaling/v2";
    let kind = "HorizontalPodAutoscaler";
    assert_valid(group, kind, &hpa);
    assert_cause(
        group,
        kind,
        &with(hpa.clone(), "spec.minReplicas", json!(0)),
        "spec.minReplicas",
        "FieldValueInvalid",
    );
    assert_cause(
        group,
        kind,
        &with(hpa.clone(), "spec.maxReplicas", json!(0)),
        "spec.maxReplicas",
        "FieldValueInvalid",
    );
    let inverted = with(hpa.clone(), "spec.minReplicas", json!(20));
    assert_cause(
        group,
        kind,
        &inverted,
        "spec.maxReplicas",
        "FieldValueInvalid",
    );
    assert_cause(
        group,
        kind,
        &without(hpa.clone(), "spec.scaleTargetRef.name"),
        "spec.scaleTargetRef.name",
        "FieldValueRequired",
    );
    assert_cause(
        group,
        kind,
        &with(hpa.clone(), "spec.scaleTargetRef.kind", json!("")),
        "spec.scaleTargetRef.kind",
        "FieldValueRequired",
    );
    assert_cause(
        group,
        kind,
        &with(hpa.clone(), "spec.metrics.0.type", json!("Memory")),
        "spec.metrics[0].type",
        "FieldValueNotSupported",
    );
    assert_cause(
        group,
        kind,
        &with(hpa.clone(), "spec.metrics.0.type", json!("Pods")),
        "spec.metrics[0].pods",
        "FieldValueRequired",
    );
    let target = with(hpa, "spec.metrics.0.resource.target.type", json!("Percent"));
    assert_cause(
        group,
        kind,
        &target,
        "spec.metrics[0].resource.target.type",
        "FieldValueNotSupported",
    );
}

#[test]
fn lease_rules() {
    let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "kube-scheduler", "namespace": "kube-system"},
        "spec": {"holderIdentity": "node-1_1234", "leaseDurationSeconds": 15, "leaseTransitions": 3,
            "acquireTime": "2024-01-01T00:00:00.000000Z", "renewTime": "2024-01-01T00:00:10.000000Z"}});
    let group = "coordination.k8s.io/v1";
    assert_valid(group, "Lease", &lease);
    assert_cause(
        group,
        "Lease",
        &with(lease.clone(), "spec.leaseDurationSeconds", json!(0)),
        "spec.leaseDurationSeconds",
        "FieldValueInvalid",
    );
    assert_cause(
        group,
        "Lease",
        &with(lease.clone(), "spec.leaseTransitions", json!(-1)),
        "spec.leaseTransitions",
        "FieldValueInvalid",
    );
    assert_cause(
        group,
        "Lease",
        &with(lease.clone(), "spec.strategy", json!("Newest")),
        "spec.strategy",
        "FieldValueNotSupported",
    );
    assert_cause(
        group,
        "Lease",
        &with(lease, "spec.preferredHolder", json!("node-2")),
        "spec.preferredHolder",
        "FieldValueForbidden",
    );
}

#[test]
fn node_rules() {
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "10.240.79.157", "labels": {"name": "my-first-k8s-node"}},
        "spec": {"podCIDRs": ["10.244.1.0/24"], "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}});
    assert_valid("v1", "Node", &node);
    assert_cause(
        "v1",
        "Node",
        &with(node.clone(), "spec.podCIDRs", json!(["10.244.1.0"])),
        "spec.podCIDRs[0]",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        "Node",
        &with(node.clone(), "spec.taints.0.effect", json!("")),
        "spec.taints[0].effect",
        "FieldValueRequired",
    );
    assert_cause(
        "v1",
        "Node",
        &with(node.clone(), "spec.taints.0.effect", json!("Evict")),
        "spec.taints[0].effect",
        "FieldValueNotSupported",
    );
    assert_cause(
        "v1",
        "Node",
        &with(node.clone(), "spec.taints.0.key", json!("bad key")),
        "spec.taints[0].key",
        "FieldValueInvalid",
    );
    let twice = json!([{"key": "a", "effect": "NoSchedule"}, {"key": "a", "value": "b", "effect": "NoSchedule"}]);
    assert_cause(
        "v1",
        "Node",
        &with(node.clone(), "spec.taints", twice),
        "spec.taints[1]",
        "FieldValueDuplicate",
    );
    let recidr = with(node.clone(), "spec.podCIDRs", json!(["10.244.2.0/24"]));
    assert!(has(
        &validate_update("v1", "Node", &recidr, &node),
        "spec.podCIDRs",
        "FieldValueForbidden"
    ));
    let fresh = without(node.clone(), "spec.podCIDRs");
    assert!(validate_update("v1", "Node", &node, &fresh).is_empty());
    let provided = with(node.clone(), "spec.providerID", json!("aws://a"));
    let reprovided = with(node.clone(), "spec.providerID", json!("aws://b"));
    assert!(has(
        &validate_update("v1", "Node", &reprovided, &provided),
        "spec.providerID",
        "FieldValueForbidden"
    ));
    let tainted = with(node.clone(), "spec.taints", json!([]));
    assert!(validate_update("v1", "Node", &tainted, &node).is_empty());
}

#[test]
fn namespace_rules() {
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "development", "labels": {"name": "development"}}});
    assert_valid("v1", "Namespace", &namespace);
    assert_cause(
        "v1",
        "Namespace",
        &with(
            namespace.clone(),
            "spec.finalizers",
            json!(["bad finalizer"]),
        ),
        "spec.finalizers",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        "Namespace",
        &with(namespace.clone(), "spec.finalizers", json!(["custom"])),
        "spec.finalizers",
        "FieldValueInvalid",
    );
    let qualified = with(namespace, "spec.finalizers", json!(["example.com/cleanup"]));
    assert!(validate_create("v1", "Namespace", &qualified).is_empty());
}

#[test]
fn event_rules() {
    let event = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "nginx.17a8b9c0d1e2f3a4", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "name": "nginx", "namespace": "default"},
        "reason": "Scheduled", "message": "Successfully assigned default/nginx to node-1", "type": "Normal",
        "source": {"component": "default-scheduler"}, "count": 1});
    assert_valid("v1", "Event", &event);
    let elsewhere = with(
        event.clone(),
        "involvedObject.namespace",
        json!("kube-system"),
    );
    assert_cause(
        "v1",
        "Event",
        &elsewhere,
        "involvedObject.namespace",
        "FieldValueInvalid",
    );
    let series = with(
        event.clone(),
        "eventTime",
        json!("2024-01-01T00:00:00.000000Z"),
    );
    assert_cause(
        "v1",
        "Event",
        &series,
        "reportingComponent",
        "FieldValueRequired",
    );
    assert_cause("v1", "Event", &series, "action", "FieldValueRequired");
    let long = with(
        event,
        "reason",
        json!("x".repeat(EVENT_SHORT_FIELD_LIMIT_CHARS + 1)),
    );
    let long = with(long, "eventTime", json!("2024-01-01T00:00:00.000000Z"));
    assert_cause("v1", "Event", &long, "reason", "FieldValueInvalid");
}

#[test]
fn service_account_rules() {
    let account = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "build-robot", "namespace": "default"},
        "automountServiceAccountToken": false});
    assert_valid("v1", "ServiceAccount", &account);
    assert_cause(
        "v1",
        "ServiceAccount",
        &with(account.clone(), "metadata.name", json!("Build_Robot")),
        "metadata.name",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        "ServiceAccount",
        &with(account, "secrets", json!([{"name": "Bad Name"}])),
        "secrets[0]",
        "FieldValueInvalid",
    );
}
