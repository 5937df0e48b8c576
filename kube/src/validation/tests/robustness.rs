//! Robustness: no object, however mangled, makes validation panic.

use super::*;

// ---- Robustness ---------------------------------------------------------------------

use proptest::prelude::*;

const KINDS: &[(&str, &str)] = &[
    ("v1", "Namespace"),
    ("v1", "Pod"),
    ("v1", "Node"),
    ("v1", "Service"),
    ("v1", "Endpoints"),
    ("v1", "ConfigMap"),
    ("v1", "Secret"),
    ("v1", "Event"),
    ("v1", "ServiceAccount"),
    ("v1", "PersistentVolume"),
    ("v1", "PersistentVolumeClaim"),
    ("v1", "LimitRange"),
    ("v1", "ResourceQuota"),
    ("apps/v1", "Deployment"),
    ("apps/v1", "ReplicaSet"),
    ("apps/v1", "StatefulSet"),
    ("apps/v1", "DaemonSet"),
    ("apps/v1", "ControllerRevision"),
    ("batch/v1", "Job"),
    ("batch/v1", "CronJob"),
    ("autoscaling/v2", "HorizontalPodAutoscaler"),
    ("coordination.k8s.io/v1", "Lease"),
    (RBAC_V1, "Role"),
    (RBAC_V1, "ClusterRole"),
    (RBAC_V1, "RoleBinding"),
    (RBAC_V1, "ClusterRoleBinding"),
    ("storage.k8s.io/v1", "StorageClass"),
    ("discovery.k8s.io/v1", "EndpointSlice"),
    ("example.com/v1", "Widget"),
];

/// Field names the validators look at, so random objects reach past the first check.
const FIELD_NAMES: &[&str] = &[
    "metadata",
    "name",
    "namespace",
    "labels",
    "annotations",
    "ownerReferences",
    "uid",
    "spec",
    "containers",
    "initContainers",
    "image",
    "ports",
    "containerPort",
    "port",
    "targetPort",
    "protocol",
    "selector",
    "matchLabels",
    "matchExpressions",
    "template",
    "replicas",
    "strategy",
    "rollingUpdate",
    "maxSurge",
    "maxUnavailable",
    "type",
    "volumes",
    "volumeMounts",
    "mountPath",
    "env",
    "resources",
    "requests",
    "limits",
    "livenessProbe",
    "httpGet",
    "tcpSocket",
    "data",
    "stringData",
    "immutable",
    "schedule",
    "jobTemplate",
    "rules",
    "verbs",
    "roleRef",
    "subjects",
    "kind",
    "apiGroup",
    "capacity",
    "accessModes",
    "hostPath",
    "path",
    "hard",
    "min",
    "max",
    "default",
    "clusterIP",
    "endpoints",
    "addresses",
    "addressType",
    "tolerations",
    "taints",
    "effect",
    "status",
    "phase",
    "storage",
    "cpu",
    "metrics",
    "scaleTargetRef",
    "maxReplicas",
    "provisioner",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-70000i64..70000).prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-zA-Z0-9./%:@*=_ -]{0,12}".prop_map(Value::from),
        prop::sample::select(FIELD_NAMES).prop_map(Value::from),
    ];
    leaf.prop_recursive(5, 96, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(prop::sample::select(FIELD_NAMES), inner, 0..6).prop_map(
                |fields| {
                    Value::Object(
                        fields
                            .into_iter()
                            .map(|(k, v)| (k.to_string(), v))
                            .collect(),
                    )
                }
            ),
        ]
    })
}

fn documented_manifests() -> Vec<(&'static str, &'static str, Value)> {
    vec![
        ("v1", "Pod", nginx_pod()),
        ("apps/v1", "Deployment", nginx_deployment()),
        ("v1", "Service", service()),
        ("apps/v1", "StatefulSet", stateful_set()),
        ("apps/v1", "DaemonSet", daemon_set()),
        ("batch/v1", "Job", job()),
        ("batch/v1", "CronJob", cron_job()),
        ("v1", "PersistentVolume", persistent_volume()),
        ("v1", "PersistentVolumeClaim", claim()),
    ]
}

/// Replaces the node reached by following `choices` (modulo each container's size).
fn mutate(value: &mut Value, choices: &[usize], replacement: Value) {
    let Some((choice, rest)) = choices.split_first() else {
        *value = replacement;
        return;
    };
    let next = match value {
        Value::Object(fields) if !fields.is_empty() => {
            let position = choice % fields.len();
            fields.values_mut().nth(position)
        }
        Value::Array(items) if !items.is_empty() => {
            let position = choice % items.len();
            items.get_mut(position)
        }
        _ => None,
    };
    match next {
        Some(next) => mutate(next, rest, replacement),
        None => *value = replacement,
    }
}

fn exercise(api_version: &str, kind: &str, object: &Value, old: &Value) {
    let _ = validate_create(api_version, kind, object);
    let _ = validate_update(api_version, kind, object, old);
    let _ = validate_update(api_version, kind, old, object);
    let mut defaulted = object.clone();
    crate::defaults::apply_defaults(api_version, kind, &mut defaulted);
    let _ = validate_create(api_version, kind, &defaulted);
}

proptest! {
    #[test]
    fn arbitrary_objects_never_panic(kind in prop::sample::select(KINDS), object in json_value(), old in json_value()) {
        exercise(kind.0, kind.1, &object, &old);
    }

    #[test]
    fn mutated_manifests_never_panic(
        pick in any::<prop::sample::Index>(),
        choices in prop::collection::vec(any::<usize>(), 0..7),
        replacement in json_value(),
    ) {
        let manifests = documented_manifests();
        let (api_version, kind, original) = pick.get(&manifests).clone();
        let mut object = original.clone();
        mutate(&mut object, &choices, replacement);
        exercise(api_version, kind, &object, &original);
    }
}
