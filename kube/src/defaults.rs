//! kube-apiserver's defaulting for built-in kinds: the `SetDefaults_*` functions of
//! `pkg/apis/*/v1/defaults.go`, applied to the JSON object in place. Only absent (or null)
//! fields are filled; a present value is never changed, and an object of the wrong shape
//! is left as it is for validation to reject.

use serde_json::{json, Map, Value};

/// Kubernetes' default grace period for a pod's containers to stop.
const TERMINATION_GRACE_PERIOD_SECONDS: i64 = 30;
/// Probes run every 10 seconds unless told otherwise.
const PROBE_PERIOD_SECONDS: i64 = 10;
/// A probe that takes longer than a second has failed.
const PROBE_TIMEOUT_SECONDS: i64 = 1;
/// Three failures in a row before a probe's container is considered failed.
const PROBE_FAILURE_THRESHOLD: i64 = 3;
/// Old ReplicaSets (or revisions) kept for rollback.
const REVISION_HISTORY_LIMIT: i64 = 10;
/// A Deployment that makes no progress for ten minutes is reported as stalled.
const PROGRESS_DEADLINE_SECONDS: i64 = 600;
/// A Job's pods are retried six times before the Job fails.
const JOB_BACKOFF_LIMIT: i64 = 6;
/// Finished CronJob runs kept for inspection.
const SUCCESSFUL_JOBS_HISTORY_LIMIT: i64 = 3;
const FAILED_JOBS_HISTORY_LIMIT: i64 = 1;
/// ClientIP session affinity sticks for three hours.
const CLIENT_IP_AFFINITY_TIMEOUT_SECONDS: i64 = 10800;
/// File modes are written in decimal in JSON: 420 is 0644.
const VOLUME_DEFAULT_MODE: i64 = 420;
/// The HPA's target CPU utilization when no metric is given.
const HPA_CPU_UTILIZATION_PERCENT: i64 = 80;

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Applies Kubernetes' defaulting (SetDefaults_*) in place.
pub fn apply_defaults(api_version: &str, kind: &str, object: &mut Value) {
    match (api_version, kind) {
        ("v1", "Pod") => default_pod(object),
        ("v1", "Service") => default_service(object),
        ("v1", "Secret") => default_secret(object),
        ("v1", "Namespace") => default_namespace(object),
        ("v1", "Node") => default_node(object),
        ("v1", "Endpoints") => default_endpoints(object),
        ("v1", "PersistentVolume") => default_persistent_volume(object),
        ("v1", "PersistentVolumeClaim") => default_persistent_volume_claim(object),
        ("v1", "LimitRange") => default_limit_range(object),
        ("apps/v1", "Deployment") => default_deployment(object),
        ("apps/v1", "ReplicaSet") => default_replica_set(object),
        ("apps/v1", "StatefulSet") => default_stateful_set(object),
        ("apps/v1", "DaemonSet") => default_daemon_set(object),
        ("batch/v1", "Job") => default_job(object),
        ("batch/v1", "CronJob") => default_cron_job(object),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => default_hpa(object),
        ("rbac.authorization.k8s.io/v1", "RoleBinding" | "ClusterRoleBinding") => {
            default_role_binding(object)
        }
        ("storage.k8s.io/v1", "StorageClass") => default_storage_class(object),
        ("discovery.k8s.io/v1", "EndpointSlice") => default_endpoint_slice(object),
        _ => {}
    }
}

/// The type, and `stringData` merged into `data` (kube does this when it decodes a
/// Secret: "stringData is never output when reading from the API").
fn default_secret(object: &mut Value) {
    set_default(object, "type", json!("Opaque"));
    let Some(fields) = object.as_object_mut() else {
        return;
    };
    let Some(Value::Object(strings)) = fields.get("stringData").cloned() else {
        return;
    };
    let Some(data) = object_at(object, "data").and_then(Value::as_object_mut) else {
        return;
    };
    for (key, value) in strings {
        // A non-string value is left in stringData for validation to reject.
        if let Value::String(text) = value {
            let encoded = k8s_openapi::ByteString(text.into_bytes());
            data.insert(key, serde_json::to_value(encoded).expect("bytes encode"));
        }
    }
    if let Some(fields) = object.as_object_mut() {
        if let Some(Value::Object(rest)) = fields.get_mut("stringData") {
            rest.retain(|_, value| !value.is_string());
            if rest.is_empty() {
                fields.remove("stringData");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// JSON helpers: every step tolerates a missing or mistyped field by doing nothing.

/// Sets `field` to `value` when the object lacks it (or holds null).
fn set_default(object: &mut Value, field: &str, value: Value) {
    if let Some(fields) = object.as_object_mut() {
        let slot = fields.entry(field).or_insert(Value::Null);
        if slot.is_null() {
            *slot = value;
        }
    }
}

/// The object at `field`, created empty when absent; None when `object` is not an
/// object or `field` holds something else.
fn object_at<'a>(object: &'a mut Value, field: &str) -> Option<&'a mut Value> {
    set_default(object, field, Value::Object(Map::new()));
    object.get_mut(field).filter(|value| value.is_object())
}

/// The object at `field` only when it is already present.
fn existing<'a>(object: &'a mut Value, field: &str) -> Option<&'a mut Value> {
    object.get_mut(field).filter(|value| value.is_object())
}

/// Every element of the array at `field`, if there is one.
fn each<'a>(object: &'a mut Value, field: &str) -> impl Iterator<Item = &'a mut Value> {
    object
        .get_mut(field)
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
}

fn text_at<'a>(object: &'a Value, field: &str) -> Option<&'a str> {
    object.get(field).and_then(Value::as_str)
}

// ---------------------------------------------------------------------------------------
// Pods and pod templates.

/// `SetDefaults_Pod`: the pod-only defaults, then those every pod spec gets.
fn default_pod(pod: &mut Value) {
    let Some(spec) = object_at(pod, "spec") else {
        return;
    };
    default_pod_spec(spec);
    set_default(spec, "enableServiceLinks", json!(true));
    let host_network = spec.get("hostNetwork") == Some(&Value::Bool(true));
    for list in ["initContainers", "containers"] {
        for container in each(spec, list) {
            default_requests_from_limits(container);
            if host_network {
                default_host_ports(container);
            }
        }
    }
}

/// A container's requests default to its limits, resource by resource.
fn default_requests_from_limits(container: &mut Value) {
    let Some(resources) = existing(container, "resources") else {
        return;
    };
    let Some(limits) = resources.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    let Some(requests) = object_at(resources, "requests") else {
        return;
    };
    for (resource, quantity) in limits {
        set_default(requests, &resource, quantity);
    }
}

/// With hostNetwork, a container's ports are its host's ports.
fn default_host_ports(container: &mut Value) {
    for port in each(container, "ports") {
        if let Some(container_port) = port.get("containerPort").cloned() {
            set_default(port, "hostPort", container_port);
        }
    }
}

/// `SetDefaults_PodSpec` and the defaults of everything inside a pod spec.
fn default_pod_spec(spec: &mut Value) {
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "securityContext", json!({}));
    let grace = json!(TERMINATION_GRACE_PERIOD_SECONDS);
    set_default(spec, "terminationGracePeriodSeconds", grace);
    set_default(spec, "schedulerName", json!("default-scheduler"));
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for container in each(spec, list) {
            default_container(container);
        }
    }
    for volume in each(spec, "volumes") {
        default_volume(volume);
    }
}

fn default_pod_template(owner_spec: &mut Value) {
    if let Some(template) = object_at(owner_spec, "template") {
        if let Some(spec) = object_at(template, "spec") {
            default_pod_spec(spec);
        }
    }
}

/// `SetDefaults_Container` and the defaults of its ports, probes and env.
fn default_container(container: &mut Value) {
    let pull_policy = image_pull_policy(text_at(container, "image").unwrap_or_default());
    set_default(container, "imagePullPolicy", json!(pull_policy));
    let message_path = json!("/dev/termination-log");
    set_default(container, "terminationMessagePath", message_path);
    set_default(container, "terminationMessagePolicy", json!("File"));
    for port in each(container, "ports") {
        set_default(port, "protocol", json!("TCP"));
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(probe) = existing(container, probe) {
            default_probe(probe);
        }
    }
    for hook in ["postStart", "preStop"] {
        if let Some(handler) =
            existing(container, "lifecycle").and_then(|hooks| existing(hooks, hook))
        {
            default_http_get(handler);
        }
    }
    for variable in each(container, "env") {
        let field_ref = existing(variable, "valueFrom").and_then(|from| existing(from, "fieldRef"));
        if let Some(field_ref) = field_ref {
            set_default(field_ref, "apiVersion", json!("v1"));
        }
    }
}

/// Images tagged `latest`, or untagged without a digest, are re-pulled every start.
fn image_pull_policy(image: &str) -> &'static str {
    let (reference, digest) = match image.split_once('@') {
        Some((reference, _)) => (reference, true),
        None => (image, false),
    };
    let last_segment = reference.rsplit('/').next().unwrap_or_default();
    let tag = match last_segment.split_once(':') {
        Some((_, tag)) => tag,
        None if digest => "",
        None => "latest",
    };
    if tag == "latest" {
        "Always"
    } else {
        "IfNotPresent"
    }
}

/// `SetDefaults_Probe` and `SetDefaults_HTTPGetAction`.
fn default_probe(probe: &mut Value) {
    set_default(probe, "timeoutSeconds", json!(PROBE_TIMEOUT_SECONDS));
    set_default(probe, "periodSeconds", json!(PROBE_PERIOD_SECONDS));
    set_default(probe, "successThreshold", json!(1));
    set_default(probe, "failureThreshold", json!(PROBE_FAILURE_THRESHOLD));
    default_http_get(probe);
}

fn default_http_get(handler: &mut Value) {
    if let Some(http_get) = existing(handler, "httpGet") {
        set_default(http_get, "path", json!("/"));
        set_default(http_get, "scheme", json!("HTTP"));
    }
}

/// `SetDefaults_Volume` and the volume sources' defaults: no source means emptyDir.
fn default_volume(volume: &mut Value) {
    let Some(fields) = volume.as_object() else {
        return;
    };
    let has_source = fields
        .iter()
        .any(|(field, value)| field != "name" && !value.is_null());
    if !has_source {
        set_default(volume, "emptyDir", json!({}));
    }
    for source in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(source) = existing(volume, source) {
            set_default(source, "defaultMode", json!(VOLUME_DEFAULT_MODE));
        }
    }
    if let Some(host_path) = existing(volume, "hostPath") {
        set_default(host_path, "type", json!(""));
    }
}

// ---------------------------------------------------------------------------------------
// Workloads.

fn default_deployment(deployment: &mut Value) {
    let Some(spec) = object_at(deployment, "spec") else {
        return;
    };
    set_default(spec, "replicas", json!(1));
    set_default(spec, "revisionHistoryLimit", json!(REVISION_HISTORY_LIMIT));
    set_default(
        spec,
        "progressDeadlineSeconds",
        json!(PROGRESS_DEADLINE_SECONDS),
    );
    if let Some(strategy) = object_at(spec, "strategy") {
        set_default(strategy, "type", json!("RollingUpdate"));
        if text_at(strategy, "type") == Some("RollingUpdate") {
            if let Some(rolling) = object_at(strategy, "rollingUpdate") {
                set_default(rolling, "maxUnavailable", json!("25%"));
                set_default(rolling, "maxSurge", json!("25%"));
            }
        }
    }
    default_pod_template(spec);
}

fn default_replica_set(replica_set: &mut Value) {
    let Some(spec) = object_at(replica_set, "spec") else {
        return;
    };
    set_default(spec, "replicas", json!(1));
    default_pod_template(spec);
}

fn default_stateful_set(stateful_set: &mut Value) {
    let Some(spec) = object_at(stateful_set, "spec") else {
        return;
    };
    set_default(spec, "replicas", json!(1));
    set_default(spec, "podManagementPolicy", json!("OrderedReady"));
    set_default(spec, "revisionHistoryLimit", json!(REVISION_HISTORY_LIMIT));
    let retention = json!({"whenDeleted": "Retain", "whenScaled": "Retain"});
    set_default(spec, "persistentVolumeClaimRetentionPolicy", retention);
    if let Some(strategy) = object_at(spec, "updateStrategy") {
        set_default(strategy, "type", json!("RollingUpdate"));
        if text_at(strategy, "type") == Some("RollingUpdate") {
            if let Some(rolling) = object_at(strategy, "rollingUpdate") {
                set_default(rolling, "partition", json!(0));
            }
        }
    }
    for claim in each(spec, "volumeClaimTemplates") {
        default_persistent_volume_claim(claim);
    }
    default_pod_template(spec);
}

fn default_daemon_set(daemon_set: &mut Value) {
    let Some(spec) = object_at(daemon_set, "spec") else {
        return;
    };
    set_default(spec, "revisionHistoryLimit", json!(REVISION_HISTORY_LIMIT));
    if let Some(strategy) = object_at(spec, "updateStrategy") {
        set_default(strategy, "type", json!("RollingUpdate"));
        if text_at(strategy, "type") == Some("RollingUpdate") {
            if let Some(rolling) = object_at(strategy, "rollingUpdate") {
                set_default(rolling, "maxUnavailable", json!(1));
                set_default(rolling, "maxSurge", json!(0));
            }
        }
    }
    default_pod_template(spec);
}

/// `SetDefaults_Job`: one pod at a time, six retries, and the template's labels on the
/// Job when it has none.
fn default_job(job: &mut Value) {
    let template_labels = job
        .get("spec")
        .and_then(|spec| spec.get("template"))
        .and_then(|template| template.get("metadata"))
        .and_then(|metadata| metadata.get("labels"))
        .filter(|labels| labels.as_object().is_some_and(|labels| !labels.is_empty()))
        .cloned();
    let Some(spec) = object_at(job, "spec") else {
        return;
    };
    if spec.get("completions").is_none_or(Value::is_null)
        && spec.get("parallelism").is_none_or(Value::is_null)
    {
        set_default(spec, "completions", json!(1));
    }
    set_default(spec, "parallelism", json!(1));
    let per_index = spec
        .get("backoffLimitPerIndex")
        .is_some_and(|limit| !limit.is_null());
    let backoff = if per_index {
        json!(i32::MAX)
    } else {
        json!(JOB_BACKOFF_LIMIT)
    };
    set_default(spec, "backoffLimit", backoff);
    set_default(spec, "completionMode", json!("NonIndexed"));
    set_default(spec, "suspend", json!(false));
    let failure_policy = spec
        .get("podFailurePolicy")
        .is_some_and(|policy| !policy.is_null());
    let replacement = if failure_policy {
        "Failed"
    } else {
        "TerminatingOrFailed"
    };
    set_default(spec, "podReplacementPolicy", json!(replacement));
    default_pod_template(spec);
    if let (Some(labels), Some(metadata)) = (template_labels, object_at(job, "metadata")) {
        let empty = metadata
            .get("labels")
            .and_then(Value::as_object)
            .is_none_or(Map::is_empty);
        if empty {
            if let Some(fields) = metadata.as_object_mut() {
                fields.insert("labels".into(), labels);
            }
        }
    }
}

fn default_cron_job(cron_job: &mut Value) {
    let Some(spec) = object_at(cron_job, "spec") else {
        return;
    };
    set_default(spec, "concurrencyPolicy", json!("Allow"));
    set_default(spec, "suspend", json!(false));
    let successful = json!(SUCCESSFUL_JOBS_HISTORY_LIMIT);
    set_default(spec, "successfulJobsHistoryLimit", successful);
    set_default(
        spec,
        "failedJobsHistoryLimit",
        json!(FAILED_JOBS_HISTORY_LIMIT),
    );
    let job_spec = object_at(spec, "jobTemplate").and_then(|template| object_at(template, "spec"));
    if let Some(job_spec) = job_spec {
        default_pod_template(job_spec);
    }
}

fn default_hpa(autoscaler: &mut Value) {
    let Some(spec) = object_at(autoscaler, "spec") else {
        return;
    };
    set_default(spec, "minReplicas", json!(1));
    let cpu = json!([{
        "type": "Resource",
        "resource": {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": HPA_CPU_UTILIZATION_PERCENT},
        },
    }]);
    let no_metrics = spec
        .get("metrics")
        .and_then(Value::as_array)
        .is_none_or(Vec::is_empty);
    if no_metrics {
        if let Some(fields) = spec.as_object_mut() {
            fields.insert("metrics".into(), cpu);
        }
    }
    if let Some(behavior) = existing(spec, "behavior") {
        default_hpa_behavior(behavior);
    }
}

/// `SetDefaults_HorizontalPodAutoscalerBehavior`: scale up fast, scale down after five
/// minutes of stability.
fn default_hpa_behavior(behavior: &mut Value) {
    if let Some(scale_up) = object_at(behavior, "scaleUp") {
        set_default(scale_up, "stabilizationWindowSeconds", json!(0));
        set_default(scale_up, "selectPolicy", json!("Max"));
        let policies = json!([
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ]);
        set_default(scale_up, "policies", policies);
    }
    if let Some(scale_down) = object_at(behavior, "scaleDown") {
        set_default(scale_down, "stabilizationWindowSeconds", json!(300));
        set_default(scale_down, "selectPolicy", json!("Max"));
        let policies = json!([{"type": "Percent", "value": 100, "periodSeconds": 15}]);
        set_default(scale_down, "policies", policies);
    }
}

// ---------------------------------------------------------------------------------------
// Other kinds.

fn default_service(service: &mut Value) {
    let Some(spec) = object_at(service, "spec") else {
        return;
    };
    set_default(spec, "type", json!("ClusterIP"));
    set_default(spec, "sessionAffinity", json!("None"));
    let service_type = text_at(spec, "type").unwrap_or_default().to_string();
    if text_at(spec, "sessionAffinity") == Some("ClientIP") {
        let config = object_at(spec, "sessionAffinityConfig")
            .and_then(|config| object_at(config, "clientIP"));
        if let Some(client_ip) = config {
            set_default(
                client_ip,
                "timeoutSeconds",
                json!(CLIENT_IP_AFFINITY_TIMEOUT_SECONDS),
            );
        }
    }
    for port in each(spec, "ports") {
        set_default(port, "protocol", json!("TCP"));
        let unset = match port.get("targetPort") {
            None | Some(Value::Null) => true,
            Some(target) => target == &json!(0) || target == &json!(""),
        };
        if let (true, Some(number)) = (unset, port.get("port").cloned()) {
            if let Some(fields) = port.as_object_mut() {
                fields.insert("targetPort".into(), number);
            }
        }
    }
    if service_type == "ExternalName" {
        return;
    }
    if ["NodePort", "LoadBalancer"].contains(&service_type.as_str()) {
        set_default(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if service_type == "LoadBalancer" {
        set_default(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    set_default(spec, "internalTrafficPolicy", json!("Cluster"));
    set_default(spec, "ipFamilyPolicy", json!("SingleStack"));
    let family = if text_at(spec, "clusterIP").is_some_and(|ip| ip.contains(':')) {
        "IPv6"
    } else {
        "IPv4"
    };
    set_default(spec, "ipFamilies", json!([family]));
}

fn default_namespace(namespace: &mut Value) {
    // The namespace's own name is a label, so selectors can pick namespaces by name.
    let name = namespace
        .get("metadata")
        .and_then(|metadata| text_at(metadata, "name"))
        .map(str::to_string);
    if let Some(name) = name {
        let labels =
            object_at(namespace, "metadata").and_then(|metadata| object_at(metadata, "labels"));
        if let Some(fields) = labels.and_then(Value::as_object_mut) {
            fields.insert("kubernetes.io/metadata.name".into(), json!(name));
        }
    }
    if let Some(spec) = object_at(namespace, "spec") {
        set_default(spec, "finalizers", json!(["kubernetes"]));
    }
    if let Some(status) = object_at(namespace, "status") {
        set_default(status, "phase", json!("Active"));
    }
}

/// `SetDefaults_NodeStatus`: allocatable defaults to capacity.
fn default_node(node: &mut Value) {
    let Some(status) = existing(node, "status") else {
        return;
    };
    if let Some(capacity) = status.get("capacity").cloned() {
        set_default(status, "allocatable", capacity);
    }
}

fn default_endpoints(endpoints: &mut Value) {
    for subset in each(endpoints, "subsets") {
        for port in each(subset, "ports") {
            set_default(port, "protocol", json!("TCP"));
        }
    }
}

fn default_persistent_volume(volume: &mut Value) {
    if let Some(spec) = object_at(volume, "spec") {
        set_default(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
        set_default(spec, "volumeMode", json!("Filesystem"));
    }
    if let Some(status) = object_at(volume, "status") {
        set_default(status, "phase", json!("Pending"));
    }
}

fn default_persistent_volume_claim(claim: &mut Value) {
    if let Some(spec) = object_at(claim, "spec") {
        set_default(spec, "volumeMode", json!("Filesystem"));
    }
    if let Some(status) = object_at(claim, "status") {
        set_default(status, "phase", json!("Pending"));
    }
}

/// `SetDefaults_LimitRangeItem`: for containers, max fills default, which fills
/// defaultRequest, which min fills last.
fn default_limit_range(limit_range: &mut Value) {
    let Some(spec) = existing(limit_range, "spec") else {
        return;
    };
    for item in each(spec, "limits") {
        if text_at(item, "type") != Some("Container") {
            continue;
        }
        for (source, target) in [
            ("max", "default"),
            ("default", "defaultRequest"),
            ("min", "defaultRequest"),
        ] {
            let Some(values) = item.get(source).and_then(Value::as_object).cloned() else {
                continue;
            };
            if let Some(target) = object_at(item, target) {
                for (resource, quantity) in values {
                    set_default(target, &resource, quantity);
                }
            }
        }
    }
}

/// `SetDefaults_RoleBinding`/`SetDefaults_Subject`: RBAC's group for roles, users and
/// groups; the core group for service accounts.
fn default_role_binding(binding: &mut Value) {
    if let Some(role_ref) = existing(binding, "roleRef") {
        default_unless_filled(role_ref, "apiGroup", RBAC_GROUP);
    }
    for subject in each(binding, "subjects") {
        let group = match text_at(subject, "kind") {
            Some("ServiceAccount") => "",
            Some("User" | "Group") => RBAC_GROUP,
            _ => continue,
        };
        default_unless_filled(subject, "apiGroup", group);
    }
}

/// Like `set_default`, but Go's zero value (an empty string) also counts as unset.
fn default_unless_filled(object: &mut Value, field: &str, value: &str) {
    if text_at(object, field) == Some("") {
        if let Some(fields) = object.as_object_mut() {
            fields.insert(field.into(), json!(value));
        }
    }
    set_default(object, field, json!(value));
}

fn default_storage_class(class: &mut Value) {
    set_default(class, "reclaimPolicy", json!("Delete"));
    set_default(class, "volumeBindingMode", json!("Immediate"));
}

fn default_endpoint_slice(slice: &mut Value) {
    for port in each(slice, "ports") {
        set_default(port, "name", json!(""));
        set_default(port, "protocol", json!("TCP"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaulted(api_version: &str, kind: &str, mut object: Value) -> Value {
        apply_defaults(api_version, kind, &mut object);
        object
    }

    fn pod() -> Value {
        json!({"metadata": {"name": "nginx"}, "spec": {
            "containers": [{
                "name": "nginx",
                "image": "nginx:1.14.2",
                "ports": [{"containerPort": 80}],
                "livenessProbe": {"httpGet": {"port": 80}},
                "resources": {"limits": {"cpu": "500m"}, "requests": {"memory": "64Mi"}},
                "env": [{"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
            }],
            "volumes": [{"name": "cache"}, {"name": "config", "configMap": {"name": "app"}}],
        }})
    }

    #[test]
    fn pod_defaults() {
        let pod = defaulted("v1", "Pod", pod());
        let spec = &pod["spec"];
        assert_eq!(spec["restartPolicy"], "Always");
        assert_eq!(spec["dnsPolicy"], "ClusterFirst");
        assert_eq!(spec["schedulerName"], "default-scheduler");
        assert_eq!(spec["terminationGracePeriodSeconds"], 30);
        assert_eq!(spec["enableServiceLinks"], true);
        assert_eq!(spec["securityContext"], json!({}));
        let container = &spec["containers"][0];
        assert_eq!(container["imagePullPolicy"], "IfNotPresent");
        assert_eq!(container["terminationMessagePath"], "/dev/termination-log");
        assert_eq!(container["terminationMessagePolicy"], "File");
        assert_eq!(container["ports"][0]["protocol"], "TCP");
        let probe = &container["livenessProbe"];
        assert_eq!(
            (&probe["periodSeconds"], &probe["timeoutSeconds"]),
            (&json!(10), &json!(1))
        );
        assert_eq!(
            (&probe["successThreshold"], &probe["failureThreshold"]),
            (&json!(1), &json!(3))
        );
        assert_eq!(probe["httpGet"]["path"], "/");
        assert_eq!(probe["httpGet"]["scheme"], "HTTP");
        let requests = json!({"cpu": "500m", "memory": "64Mi"});
        assert_eq!(container["resources"]["requests"], requests);
        let field_ref = &container["env"][0]["valueFrom"]["fieldRef"];
        assert_eq!(field_ref["apiVersion"], "v1");
        assert_eq!(spec["volumes"][0]["emptyDir"], json!({}));
        assert_eq!(spec["volumes"][1]["configMap"]["defaultMode"], 420);
        assert!(spec["volumes"][1].get("emptyDir").is_none());
    }

    #[test]
    fn host_network_pods_get_host_ports() {
        let pod = json!({"spec": {"hostNetwork": true,
            "containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 9100}]}]}});
        let pod = defaulted("v1", "Pod", pod);
        assert_eq!(pod["spec"]["containers"][0]["ports"][0]["hostPort"], 9100);
    }

    #[test]
    fn image_pull_policy_follows_the_tag() {
        let cases = [
            ("nginx", "Always"),
            ("nginx:latest", "Always"),
            ("nginx:1.25", "IfNotPresent"),
            ("registry.example.com:5000/team/app", "Always"),
            ("registry.example.com:5000/team/app:v2", "IfNotPresent"),
            ("nginx@sha256:0123abcd", "IfNotPresent"),
            ("nginx:latest@sha256:0123abcd", "Always"),
        ];
        for (image, policy) in cases {
            assert_eq!(image_pull_policy(image), policy, "{image}");
        }
    }

    #[test]
    fn present_values_are_kept() {
        let pod = json!({"spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "c", "image": "x", "imagePullPolicy": "Never",
                "ports": [{"containerPort": 53, "protocol": "UDP"}]}]}});
        let pod = defaulted("v1", "Pod", pod);
        assert_eq!(pod["spec"]["restartPolicy"], "Never");
        assert_eq!(pod["spec"]["terminationGracePeriodSeconds"], 0);
        assert_eq!(pod["spec"]["containers"][0]["imagePullPolicy"], "Never");
        assert_eq!(pod["spec"]["containers"][0]["ports"][0]["protocol"], "UDP");
    }

    #[test]
    fn deployment_defaults() {
        let deployment =
            json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}}});
        let deployment = defaulted("apps/v1", "Deployment", deployment);
        let spec = &deployment["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(spec["revisionHistoryLimit"], 10);
        assert_eq!(spec["progressDeadlineSeconds"], 600);
        let strategy = json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}});
        assert_eq!(spec["strategy"], strategy);
        let pod_spec = &spec["template"]["spec"];
        assert_eq!(pod_spec["restartPolicy"], "Always");
        assert_eq!(pod_spec["containers"][0]["imagePullPolicy"], "Always");
        // enableServiceLinks is a Pod default only, not a template one.
        assert!(pod_spec.get("enableServiceLinks").is_none());
        let recreate = json!({"spec": {"strategy": {"type": "Recreate"}}});
        let recreate = defaulted("apps/v1", "Deployment", recreate);
        assert!(recreate["spec"]["strategy"].get("rollingUpdate").is_none());
    }

    #[test]
    fn replica_set_stateful_set_and_daemon_set_defaults() {
        let replica_set = defaulted("apps/v1", "ReplicaSet", json!({"spec": {}}));
        assert_eq!(replica_set["spec"]["replicas"], 1);
        let claim =
            json!({"metadata": {"name": "www"}, "spec": {"accessModes": ["ReadWriteOnce"]}});
        let stateful_set = json!({"spec": {"volumeClaimTemplates": [claim]}});
        let stateful_set = defaulted("apps/v1", "StatefulSet", stateful_set);
        let spec = &stateful_set["spec"];
        assert_eq!(spec["replicas"], 1);
        assert_eq!(spec["podManagementPolicy"], "OrderedReady");
        let strategy = json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}});
        assert_eq!(spec["updateStrategy"], strategy);
        assert_eq!(
            spec["volumeClaimTemplates"][0]["spec"]["volumeMode"],
            "Filesystem"
        );
        let daemon_set = defaulted("apps/v1", "DaemonSet", json!({"spec": {}}));
        let strategy =
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}});
        assert_eq!(daemon_set["spec"]["updateStrategy"], strategy);
        assert_eq!(daemon_set["spec"]["revisionHistoryLimit"], 10);
    }

    #[test]
    fn job_and_cron_job_defaults() {
        let job = json!({"spec": {"template": {"metadata": {"labels": {"app": "pi"}},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "pi", "image": "perl:5.34.0"}]}}}});
        let job = defaulted("batch/v1", "Job", job);
        let spec = &job["spec"];
        assert_eq!(
            (&spec["completions"], &spec["parallelism"]),
            (&json!(1), &json!(1))
        );
        assert_eq!(spec["backoffLimit"], 6);
        assert_eq!(spec["completionMode"], "NonIndexed");
        assert_eq!(spec["suspend"], false);
        assert_eq!(spec["podReplacementPolicy"], "TerminatingOrFailed");
        assert_eq!(job["metadata"]["labels"], json!({"app": "pi"}));
        assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");
        let parallel = defaulted("batch/v1", "Job", json!({"spec": {"parallelism": 3}}));
        assert!(parallel["spec"].get("completions").is_none());
        let cron = json!({"spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": {"spec": {}}}}}});
        let cron = defaulted("batch/v1", "CronJob", cron);
        let spec = &cron["spec"];
        assert_eq!(spec["concurrencyPolicy"], "Allow");
        assert_eq!(spec["suspend"], false);
        assert_eq!(spec["successfulJobsHistoryLimit"], 3);
        assert_eq!(spec["failedJobsHistoryLimit"], 1);
        assert_eq!(
            spec["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"],
            "ClusterFirst"
        );
    }

    #[test]
    fn service_defaults() {
        let service = json!({"spec": {"selector": {"app": "x"}, "ports": [{"port": 80}, {"port": 443, "targetPort": "https"}]}});
        let service = defaulted("v1", "Service", service);
        let spec = &service["spec"];
        assert_eq!(spec["type"], "ClusterIP");
        assert_eq!(spec["sessionAffinity"], "None");
        assert_eq!(spec["ports"][0]["protocol"], "TCP");
        assert_eq!(spec["ports"][0]["targetPort"], 80);
        assert_eq!(spec["ports"][1]["targetPort"], "https");
        assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
        assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
        assert_eq!(spec["internalTrafficPolicy"], "Cluster");
        assert!(spec.get("externalTrafficPolicy").is_none());
        let balancer = defaulted(
            "v1",
            "Service",
            json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}),
        );
        assert_eq!(balancer["spec"]["externalTrafficPolicy"], "Cluster");
        assert_eq!(balancer["spec"]["allocateLoadBalancerNodePorts"], true);
        let external = defaulted(
            "v1",
            "Service",
            json!({"spec": {"type": "ExternalName", "externalName": "db.example.com"}}),
        );
        assert!(external["spec"].get("ipFamilyPolicy").is_none());
        let sticky = defaulted(
            "v1",
            "Service",
            json!({"spec": {"sessionAffinity": "ClientIP"}}),
        );
        assert_eq!(
            sticky["spec"]["sessionAffinityConfig"]["clientIP"]["timeoutSeconds"],
            10800
        );
    }

    #[test]
    fn core_object_defaults() {
        assert_eq!(defaulted("v1", "Secret", json!({}))["type"], "Opaque");
        let merged = defaulted(
            "v1",
            "Secret",
            json!({"data": {"a": "eA==", "b": "eQ=="}, "stringData": {"b": "hunter2"}}),
        );
        assert_eq!(merged["data"], json!({"a": "eA==", "b": "aHVudGVyMg=="}));
        assert!(merged.get("stringData").is_none(), "{merged}");
        let namespace = defaulted("v1", "Namespace", json!({"metadata": {"name": "dev"}}));
        assert_eq!(namespace["spec"]["finalizers"], json!(["kubernetes"]));
        assert_eq!(namespace["status"]["phase"], "Active");
        assert_eq!(
            namespace["metadata"]["labels"]["kubernetes.io/metadata.name"],
            "dev"
        );
        let claim = defaulted("v1", "PersistentVolumeClaim", json!({"spec": {}}));
        assert_eq!(claim["spec"]["volumeMode"], "Filesystem");
        assert_eq!(claim["status"]["phase"], "Pending");
        let volume = defaulted(
            "v1",
            "PersistentVolume",
            json!({"spec": {"hostPath": {"path": "/mnt"}}}),
        );
        assert_eq!(volume["spec"]["persistentVolumeReclaimPolicy"], "Retain");
        assert_eq!(volume["spec"]["volumeMode"], "Filesystem");
        let node = defaulted("v1", "Node", json!({"status": {"capacity": {"cpu": "4"}}}));
        assert_eq!(node["status"]["allocatable"], json!({"cpu": "4"}));
        let endpoints = defaulted(
            "v1",
            "Endpoints",
            json!({"subsets": [{"ports": [{"port": 80}]}]}),
        );
        assert_eq!(endpoints["subsets"][0]["ports"][0]["protocol"], "TCP");
        let range = json!({"spec": {"limits": [{"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "64Mi"}}]}});
        let range = defaulted("v1", "LimitRange", range);
        let item = &range["spec"]["limits"][0];
        assert_eq!(item["default"], json!({"cpu": "2"}));
        assert_eq!(
            item["defaultRequest"],
            json!({"cpu": "2", "memory": "64Mi"})
        );
    }

    #[test]
    fn other_group_defaults() {
        let hpa = defaulted(
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            json!({"spec": {"behavior": {"scaleDown": {}}}}),
        );
        assert_eq!(hpa["spec"]["minReplicas"], 1);
        assert_eq!(
            hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"],
            80
        );
        assert_eq!(
            hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"],
            300
        );
        let binding = json!({"roleRef": {"kind": "Role", "name": "r"},
            "subjects": [{"kind": "User", "name": "jane"}, {"kind": "ServiceAccount", "name": "sa"}]});
        let binding = defaulted("rbac.authorization.k8s.io/v1", "RoleBinding", binding);
        assert_eq!(binding["roleRef"]["apiGroup"], RBAC_GROUP);
        assert_eq!(binding["subjects"][0]["apiGroup"], RBAC_GROUP);
        assert_eq!(binding["subjects"][1]["apiGroup"], "");
        let class = defaulted(
            "storage.k8s.io/v1",
            "StorageClass",
            json!({"provisioner": "x"}),
        );
        assert_eq!(class["reclaimPolicy"], "Delete");
        assert_eq!(class["volumeBindingMode"], "Immediate");
        let slice = defaulted(
            "discovery.k8s.io/v1",
            "EndpointSlice",
            json!({"ports": [{"port": 80}]}),
        );
        assert_eq!(
            slice["ports"][0],
            json!({"port": 80, "name": "", "protocol": "TCP"})
        );
    }

    #[test]
    fn defaulting_is_idempotent_and_tolerates_odd_shapes() {
        let once = defaulted("v1", "Pod", pod());
        assert_eq!(defaulted("v1", "Pod", once.clone()), once);
        let odd_shapes = [
            json!(null),
            json!([1, 2]),
            json!({"spec": "text"}),
            json!({"spec": {"containers": "nginx", "volumes": [7]}}),
            json!({"spec": {"template": 3, "strategy": []}}),
            json!({"metadata": {"name": 5}, "spec": {"ports": [null]}}),
        ];
        for (api_version, kind) in [
            ("v1", "Pod"),
            ("apps/v1", "Deployment"),
            ("v1", "Service"),
            ("v1", "Namespace"),
            ("batch/v1", "Job"),
        ] {
            for object in &odd_shapes {
                let _ = defaulted(api_version, kind, object.clone());
            }
        }
        let unknown = json!({"spec": {}});
        assert_eq!(
            defaulted("example.com/v1", "Widget", unknown.clone()),
            unknown
        );
    }
}
