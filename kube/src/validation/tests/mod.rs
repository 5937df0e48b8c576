//! Validation tests, one module per family of kinds; here the helpers and manifests they
//! share.

mod config;
mod meta;
mod other_kinds;
mod pods;
mod policy;
mod rbac;
mod robustness;
mod services;
mod storage;
mod workloads;

use super::core::{CONFIG_DATA_LIMIT_BYTES, EVENT_SHORT_FIELD_LIMIT_CHARS};
use super::discovery::ENDPOINTSLICE_ENDPOINTS_LIMIT;
use super::meta::ANNOTATIONS_LIMIT_BYTES;
use super::rbac::RBAC_GROUP;
use super::*;
use serde_json::json;

fn has(causes: &[Cause], field: &str, reason: &str) -> bool {
    causes
        .iter()
        .any(|cause| cause.field == field && cause.reason == reason)
}

#[track_caller]
fn assert_cause(api_version: &str, kind: &str, object: &Value, field: &str, reason: &str) {
    let causes = validate_create(api_version, kind, object);
    assert!(
        has(&causes, field, reason),
        "expected {reason} at {field}, got {causes:#?}"
    );
}

#[track_caller]
fn assert_valid(api_version: &str, kind: &str, object: &Value) {
    let causes = validate_create(api_version, kind, object);
    assert!(causes.is_empty(), "{kind} should be valid: {causes:#?}");
    let mut defaulted = object.clone();
    crate::defaults::apply_defaults(api_version, kind, &mut defaulted);
    let causes = validate_create(api_version, kind, &defaulted);
    assert!(
        causes.is_empty(),
        "defaulted {kind} should be valid: {causes:#?}"
    );
    let causes = validate_update(api_version, kind, &defaulted, object);
    assert!(
        causes.is_empty(),
        "{kind} update to its defaults: {causes:#?}"
    );
}

/// Sets the value at a dotted path (numbers index arrays), creating objects as needed.
fn with(mut object: Value, path: &str, value: Value) -> Value {
    let mut slot = &mut object;
    for part in path.split('.') {
        slot = match part.parse::<usize>() {
            Ok(position) => &mut slot[position],
            Err(_) => &mut slot[part],
        };
    }
    *slot = value;
    object
}

fn without(mut object: Value, path: &str) -> Value {
    let (parent, field) = path.rsplit_once('.').unwrap_or(("", path));
    let mut slot = &mut object;
    for part in parent.split('.').filter(|part| !part.is_empty()) {
        slot = match part.parse::<usize>() {
            Ok(position) => &mut slot[position],
            Err(_) => &mut slot[part],
        };
    }
    if let Some(fields) = slot.as_object_mut() {
        fields.remove(field);
    }
    object
}

pub(super) fn nginx_pod() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "nginx", "namespace": "default", "labels": {"app": "nginx"}},
        "spec": {
            "containers": [{
                "name": "nginx",
                "image": "nginx:1.14.2",
                "ports": [{"containerPort": 80}],
            }],
        },
    })
}

pub(super) fn nginx_deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "nginx-deployment", "namespace": "default", "labels": {"app": "nginx"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{
                    "name": "nginx",
                    "image": "nginx:1.14.2",
                    "ports": [{"containerPort": 80}],
                }]},
            },
        },
    })
}

fn service() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "my-service", "namespace": "default"},
        "spec": {
            "selector": {"app.kubernetes.io/name": "MyApp"},
            "ports": [{"protocol": "TCP", "port": 80, "targetPort": 9376}],
        },
    })
}

const REQUIRED: &str = "FieldValueRequired";
const INVALID: &str = "FieldValueInvalid";
const NOT_SUPPORTED: &str = "FieldValueNotSupported";
const FORBIDDEN: &str = "FieldValueForbidden";
const DUPLICATE: &str = "FieldValueDuplicate";

/// One broken variant of a manifest: (dotted path to set, value — null removes the
/// field for the typed reads, field the cause names, its reason).
type Edit<'a> = (&'a str, Value, &'a str, &'a str);

#[track_caller]
fn assert_edits(api_version: &str, kind: &str, base: &Value, edits: &[Edit]) {
    for (path, value, field, reason) in edits {
        let object = with(base.clone(), path, value.clone());
        let causes = validate_create(api_version, kind, &object);
        assert!(
            has(&causes, field, reason),
            "{path}={value}: expected {reason} at {field}, got {causes:#?}"
        );
    }
}

/// Objects say their own kind; typed reads reject a mismatch.
fn as_kind(object: Value, kind: &str) -> Value {
    with(object, "kind", json!(kind))
}

fn stateful_set() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "nginx"}},
            "serviceName": "nginx",
            "replicas": 3,
            "minReadySeconds": 10,
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {
                    "terminationGracePeriodSeconds": 10,
                    "containers": [{
                        "name": "nginx",
                        "image": "registry.k8s.io/nginx-slim:0.24",
                        "ports": [{"containerPort": 80, "name": "web"}],
                        "volumeMounts": [{"name": "www", "mountPath": "/usr/share/nginx/html"}],
                    }],
                },
            },
            "volumeClaimTemplates": [{
                "metadata": {"name": "www"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": "my-storage-class",
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            }],
        },
    })
}

fn daemon_set() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "fluentd-elasticsearch", "namespace": "kube-system", "labels": {"k8s-app": "fluentd-logging"}},
        "spec": {
            "selector": {"matchLabels": {"name": "fluentd-elasticsearch"}},
            "template": {
                "metadata": {"labels": {"name": "fluentd-elasticsearch"}},
                "spec": {
                    "tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}],
                    "containers": [{
                        "name": "fluentd-elasticsearch",
                        "image": "quay.io/fluentd_elasticsearch/fluentd:v2.5.2",
                        "resources": {"limits": {"memory": "200Mi"}, "requests": {"cpu": "100m", "memory": "200Mi"}},
                        "volumeMounts": [{"name": "varlog", "mountPath": "/var/log"}],
                    }],
                    "terminationGracePeriodSeconds": 30,
                    "volumes": [{"name": "varlog", "hostPath": {"path": "/var/log"}}],
                },
            },
        },
    })
}

fn job() -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "pi", "namespace": "default"},
        "spec": {
            "template": {"spec": {
                "containers": [{"name": "pi", "image": "perl:5.34.0", "command": ["perl", "-Mbignum=bpi", "-wle", "print bpi(2000)"]}],
                "restartPolicy": "Never",
            }},
            "backoffLimit": 4,
        },
    })
}

fn cron_job() -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": "hello", "namespace": "default"},
        "spec": {
            "schedule": "* * * * *",
            "jobTemplate": {"spec": {"template": {"spec": {
                "containers": [{"name": "hello", "image": "busybox:1.28", "imagePullPolicy": "IfNotPresent",
                    "command": ["/bin/sh", "-c", "date; echo Hello from the Kubernetes cluster"]}],
                "restartPolicy": "OnFailure",
            }}}},
        },
    })
}

fn persistent_volume() -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": "task-pv-volume", "labels": {"type": "local"}},
        "spec": {"storageClassName": "manual", "capacity": {"storage": "10Gi"},
            "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/mnt/data"}}})
}

fn claim() -> Value {
    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "task-pv-claim", "namespace": "default"},
        "spec": {"storageClassName": "manual", "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "3Gi"}}}})
}
