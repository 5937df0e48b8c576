//! Pods (core/v1): the pod spec with its containers, ports, env, resources, volumes,
//! probes and tolerations, and what a pod update may change.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1 as core;
use serde_json::Value;

use crate::selector::{
    validate_dns1123_label, validate_dns1123_subdomain, validate_label_key, validate_label_value,
};
use crate::status::Cause;

use super::common::{
    check_name, child, index, key, nonnegative, nonnegative_quantity, not_found, one_of, quoted,
    require_name, set_or_remove, typed, validate_labels, validate_port_name, validate_port_number,
    validate_port_number_or_name, validate_qualified_name, NameCheck, PROTOCOLS, TAINT_EFFECTS,
};

// ---------------------------------------------------------------------------------------
// Pods (core/validation: ValidatePodSpec and its helpers).

pub(super) fn validate_pod(object: &Value, causes: &mut Vec<Cause>) {
    let Some(pod) = typed::<core::Pod>(object, causes) else {
        return;
    };
    let spec = pod.spec.unwrap_or_default();
    validate_pod_spec(&spec, "spec", causes);
}

pub(super) fn validate_pod_spec(spec: &core::PodSpec, path: &str, causes: &mut Vec<Cause>) {
    let volumes = validate_volumes(spec.volumes.as_deref(), &child(path, "volumes"), causes);
    let containers_path = child(path, "containers");
    if spec.containers.is_empty() {
        causes.push(Cause::required(&containers_path));
    }
    let mut names = BTreeSet::new();
    let init_path = child(path, "initContainers");
    for (position, container) in spec.init_containers.iter().flatten().enumerate() {
        let entry = index(&init_path, position);
        validate_container(container, &entry, &volumes, &mut names, causes);
        validate_init_container_probes(container, &entry, causes);
    }
    for (position, container) in spec.containers.iter().enumerate() {
        let entry = index(&containers_path, position);
        validate_container(container, &entry, &volumes, &mut names, causes);
    }
    let restart_policies = ["Always", "OnFailure", "Never"];
    let restart_policy = spec.restart_policy.as_deref();
    one_of(
        &child(path, "restartPolicy"),
        restart_policy,
        &restart_policies,
        causes,
    );
    let dns_policies = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
    one_of(
        &child(path, "dnsPolicy"),
        spec.dns_policy.as_deref(),
        &dns_policies,
        causes,
    );
    if spec.dns_policy.as_deref() == Some("None") && spec.dns_config.is_none() {
        causes.push(Cause {
            message: "Required value: must provide `dnsConfig` when `dnsPolicy` is None".into(),
            ..Cause::required(&child(path, "dnsConfig"))
        });
    }
    let grace_path = child(path, "terminationGracePeriodSeconds");
    nonnegative(&grace_path, spec.termination_grace_period_seconds, causes);
    if let Some(deadline) = spec.active_deadline_seconds {
        if !(1..=i64::from(i32::MAX)).contains(&deadline) {
            causes.push(Cause::invalid(
                &child(path, "activeDeadlineSeconds"),
                &deadline.to_string(),
                "must be between 1 and 2147483647, inclusive",
            ));
        }
    }
    validate_labels(
        &child(path, "nodeSelector"),
        spec.node_selector.as_ref(),
        causes,
    );
    validate_tolerations(
        spec.tolerations.as_deref(),
        &child(path, "tolerations"),
        causes,
    );
    validate_pod_names(spec, path, causes);
}

fn validate_pod_names(spec: &core::PodSpec, path: &str, causes: &mut Vec<Cause>) {
    let optional_names: [(&str, &Option<String>, NameCheck); 4] = [
        (
            "serviceAccountName",
            &spec.service_account_name,
            validate_dns1123_subdomain,
        ),
        ("hostname", &spec.hostname, validate_dns1123_label),
        ("subdomain", &spec.subdomain, validate_dns1123_label),
        ("nodeName", &spec.node_name, validate_dns1123_subdomain),
    ];
    for (field, value, check) in optional_names {
        if let Some(value) = value.as_deref().filter(|value| !value.is_empty()) {
            check_name(&child(path, field), value, check, causes);
        }
    }
}

/// Validates the volumes and returns their names, which volumeMounts must refer to.
fn validate_volumes(
    volumes: Option<&[core::Volume]>,
    path: &str,
    causes: &mut Vec<Cause>,
) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (position, volume) in volumes.into_iter().flatten().enumerate() {
        let entry = index(path, position);
        let name_path = child(&entry, "name");
        require_name(&name_path, &volume.name, validate_dns1123_label, causes);
        if !volume.name.is_empty() && !names.insert(volume.name.clone()) {
            causes.push(Cause::duplicate(&name_path, &quoted(&volume.name)));
        }
        let sources = serde_json::to_value(volume).unwrap_or_default();
        let source_names: Vec<&String> = sources
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(field, value)| field.as_str() != "name" && !value.is_null())
            .map(|(field, _)| field)
            .collect();
        // No source at all is defaulted to emptyDir, so only extra sources are rejected.
        if let Some(extra) = source_names.get(1) {
            causes.push(Cause::forbidden(
                &child(&entry, extra),
                "may not specify more than 1 volume type",
            ));
        }
        validate_volume_source(volume, &entry, causes);
    }
    names
}

fn validate_volume_source(volume: &core::Volume, path: &str, causes: &mut Vec<Cause>) {
    if let Some(secret) = &volume.secret {
        if secret.secret_name.as_deref().unwrap_or_default().is_empty() {
            causes.push(Cause::required(&child(path, "secret.secretName")));
        }
    }
    if let Some(config_map) = &volume.config_map {
        if config_map.name.is_empty() {
            causes.push(Cause::required(&child(path, "configMap.name")));
        }
    }
    if let Some(claim) = &volume.persistent_volume_claim {
        if claim.claim_name.is_empty() {
            causes.push(Cause::required(&child(
                path,
                "persistentVolumeClaim.claimName",
            )));
        }
    }
    if let Some(host_path) = &volume.host_path {
        if host_path.path.is_empty() {
            causes.push(Cause::required(&child(path, "hostPath.path")));
        }
    }
    if let Some(limit) = volume
        .empty_dir
        .as_ref()
        .and_then(|dir| dir.size_limit.as_ref())
    {
        nonnegative_quantity(&child(path, "emptyDir.sizeLimit"), limit, causes);
    }
}

fn validate_container(
    container: &core::Container,
    path: &str,
    volumes: &BTreeSet<String>,
    names: &mut BTreeSet<String>,
    causes: &mut Vec<Cause>,
) {
    let name_path = child(path, "name");
    require_name(&name_path, &container.name, validate_dns1123_label, causes);
    if !container.name.is_empty() && !names.insert(container.name.clone()) {
        causes.push(Cause::duplicate(&name_path, &quoted(&container.name)));
    }
    if container
        .image
        .as_deref()
        .unwrap_or_default()
        .trim()
        .is_empty()
    {
        causes.push(Cause::required(&child(path, "image")));
    }
    let pull_policies = ["Always", "IfNotPresent", "Never"];
    let pull_policy = container.image_pull_policy.as_deref();
    one_of(
        &child(path, "imagePullPolicy"),
        pull_policy,
        &pull_policies,
        causes,
    );
    let message_policies = ["File", "FallbackToLogsOnError"];
    let message_policy = container.termination_message_policy.as_deref();
    one_of(
        &child(path, "terminationMessagePolicy"),
        message_policy,
        &message_policies,
        causes,
    );
    validate_container_ports(container.ports.as_deref(), &child(path, "ports"), causes);
    validate_env(container.env.as_deref(), &child(path, "env"), causes);
    if let Some(resources) = &container.resources {
        validate_resource_requirements(resources, &child(path, "resources"), causes);
    }
    let mounts = container.volume_mounts.as_deref();
    validate_volume_mounts(mounts, volumes, &child(path, "volumeMounts"), causes);
    validate_container_probes(container, path, causes);
}

fn validate_container_ports(
    ports: Option<&[core::ContainerPort]>,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    let mut names = BTreeSet::new();
    for (position, port) in ports.into_iter().flatten().enumerate() {
        let entry = index(path, position);
        if let Some(name) = port.name.as_deref().filter(|name| !name.is_empty()) {
            let name_path = child(&entry, "name");
            validate_port_name(&name_path, name, causes);
            if !names.insert(name.to_string()) {
                causes.push(Cause::duplicate(&name_path, &quoted(name)));
            }
        }
        let container_port = i64::from(port.container_port);
        validate_port_number(&child(&entry, "containerPort"), container_port, causes);
        if let Some(host_port) = port.host_port.filter(|host_port| *host_port != 0) {
            validate_port_number(&child(&entry, "hostPort"), i64::from(host_port), causes);
        }
        one_of(
            &child(&entry, "protocol"),
            port.protocol.as_deref(),
            PROTOCOLS,
            causes,
        );
    }
}

/// Kubernetes 1.33 enables RelaxedEnvironmentVariableValidation: any printable ASCII but '='.
fn validate_env(env: Option<&[core::EnvVar]>, path: &str, causes: &mut Vec<Cause>) {
    for (position, variable) in env.into_iter().flatten().enumerate() {
        let entry = index(path, position);
        let name_path = child(&entry, "name");
        if variable.name.is_empty() {
            causes.push(Cause::required(&name_path));
        } else if !variable
            .name
            .bytes()
            .all(|byte| (32..=126).contains(&byte) && byte != b'=')
        {
            causes.push(Cause::invalid(
                &name_path,
                &quoted(&variable.name),
                "a valid environment variable name must consist only of printable ASCII characters other than '='",
            ));
        }
        let Some(source) = &variable.value_from else {
            continue;
        };
        let from_path = child(&entry, "valueFrom");
        let count = [
            source.field_ref.is_some(),
            source.resource_field_ref.is_some(),
            source.config_map_key_ref.is_some(),
            source.secret_key_ref.is_some(),
        ]
        .into_iter()
        .filter(|present| *present)
        .count();
        let detail = match count {
            0 => Some("must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"),
            1 => None,
            _ => Some("may not have more than one field specified at a time"),
        };
        if let Some(detail) = detail {
            causes.push(Cause::invalid(&from_path, "\"\"", detail));
        }
        if count != 0 && !variable.value.as_deref().unwrap_or_default().is_empty() {
            causes.push(Cause::invalid(
                &from_path,
                "\"\"",
                "may not be specified when `value` is not empty",
            ));
        }
    }
}

/// Resources that may not be overcommitted (extended resources, hugepages) need
/// requests equal to limits; Kubernetes' `IsOvercommitAllowed`.
fn overcommit_allowed(resource: &str) -> bool {
    let native = match resource.split_once('/') {
        None => true,
        Some((domain, _)) => domain == "kubernetes.io" || domain.ends_with(".kubernetes.io"),
    };
    native && !resource.starts_with("hugepages-")
}

fn validate_container_resource_name(path: &str, resource: &str, causes: &mut Vec<Cause>) {
    let standard = ["cpu", "memory", "ephemeral-storage"].contains(&resource)
        || resource.starts_with("hugepages-");
    if resource.contains('/') {
        check_name(path, resource, validate_qualified_name, causes);
    } else if !standard {
        causes.push(Cause::invalid(
            path,
            &quoted(resource),
            "must be a standard resource for containers",
        ));
    }
}

fn validate_resource_requirements(
    resources: &core::ResourceRequirements,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    let limits_path = child(path, "limits");
    let requests_path = child(path, "requests");
    let mut limits = BTreeMap::new();
    for (resource, quantity) in resources.limits.iter().flatten() {
        let entry = key(&limits_path, resource);
        validate_container_resource_name(&entry, resource, causes);
        if let Some(parsed) = nonnegative_quantity(&entry, quantity, causes) {
            limits.insert(resource.as_str(), (parsed, quantity.0.as_str()));
        }
    }
    for (resource, quantity) in resources.requests.iter().flatten() {
        let entry = key(&requests_path, resource);
        validate_container_resource_name(&entry, resource, causes);
        let Some(request) = nonnegative_quantity(&entry, quantity, causes) else {
            continue;
        };
        let shown = quoted(&quantity.0);
        match limits.get(resource.as_str()) {
            Some((limit, text)) if request != *limit && !overcommit_allowed(resource) => {
                let detail = format!("must be equal to {resource} limit of {text}");
                causes.push(Cause::invalid(&requests_path, &shown, &detail));
            }
            Some((limit, text)) if request > *limit => {
                let detail = format!("must be less than or equal to {resource} limit of {text}");
                causes.push(Cause::invalid(&requests_path, &shown, &detail));
            }
            None if !overcommit_allowed(resource) => causes.push(Cause {
                message: "Required value: Limit must be set for non overcommitable resources"
                    .into(),
                ..Cause::required(&limits_path)
            }),
            _ => {}
        }
    }
}

fn validate_volume_mounts(
    mounts: Option<&[core::VolumeMount]>,
    volumes: &BTreeSet<String>,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    let mut mount_paths = BTreeSet::new();
    for (position, mount) in mounts.into_iter().flatten().enumerate() {
        let entry = index(path, position);
        let name_path = child(&entry, "name");
        if mount.name.is_empty() {
            causes.push(Cause::required(&name_path));
        } else if !volumes.contains(&mount.name) {
            causes.push(not_found(&name_path, &mount.name));
        }
        let mount_path = child(&entry, "mountPath");
        if mount.mount_path.is_empty() {
            causes.push(Cause::required(&mount_path));
        } else if !mount_paths.insert(mount.mount_path.clone()) {
            causes.push(Cause::invalid(
                &mount_path,
                &quoted(&mount.mount_path),
                "must be unique",
            ));
        }
        let sub_path = mount.sub_path.as_deref().unwrap_or_default();
        if sub_path.starts_with('/') || sub_path.split('/').any(|part| part == "..") {
            causes.push(Cause::invalid(
                &child(&entry, "subPath"),
                &quoted(sub_path),
                "must be a relative path without '..'",
            ));
        }
    }
}

fn validate_container_probes(container: &core::Container, path: &str, causes: &mut Vec<Cause>) {
    let probes = [
        ("livenessProbe", &container.liveness_probe),
        ("readinessProbe", &container.readiness_probe),
        ("startupProbe", &container.startup_probe),
    ];
    for (field, probe) in probes {
        let Some(probe) = probe else {
            continue;
        };
        let probe_path = child(path, field);
        validate_probe(probe, &probe_path, causes);
        let threshold = probe.success_threshold;
        if field != "readinessProbe" && threshold.is_some_and(|threshold| threshold != 1) {
            causes.push(Cause::invalid(
                &child(&probe_path, "successThreshold"),
                &threshold.unwrap_or_default().to_string(),
                "must be 1",
            ));
        }
        if field == "readinessProbe" && probe.termination_grace_period_seconds.is_some() {
            causes.push(Cause::invalid(
                &child(&probe_path, "terminationGracePeriodSeconds"),
                &probe
                    .termination_grace_period_seconds
                    .unwrap_or_default()
                    .to_string(),
                "must not be set for readinessProbes",
            ));
        }
    }
}

/// Only sidecars (init containers with restartPolicy Always) may carry probes.
fn validate_init_container_probes(
    container: &core::Container,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    if container.restart_policy.as_deref() == Some("Always") {
        return;
    }
    one_of(
        &child(path, "restartPolicy"),
        container.restart_policy.as_deref(),
        &["Always"],
        causes,
    );
    let probes = [
        ("livenessProbe", container.liveness_probe.is_some()),
        ("readinessProbe", container.readiness_probe.is_some()),
        ("startupProbe", container.startup_probe.is_some()),
    ];
    for (field, present) in probes {
        if present {
            causes.push(Cause::forbidden(
                &child(path, field),
                "may not be set for init containers without restartPolicy=Always",
            ));
        }
    }
}

fn validate_probe(probe: &core::Probe, path: &str, causes: &mut Vec<Cause>) {
    let handlers = [
        ("exec", probe.exec.is_some()),
        ("httpGet", probe.http_get.is_some()),
        ("tcpSocket", probe.tcp_socket.is_some()),
        ("grpc", probe.grpc.is_some()),
    ];
    let present: Vec<&str> = handlers
        .iter()
        .filter(|(_, present)| *present)
        .map(|(name, _)| *name)
        .collect();
    match present.as_slice() {
        [] => causes.push(Cause {
            message: "Required value: must specify a handler type".into(),
            ..Cause::required(path)
        }),
        [_] => {}
        [_, extra, ..] => causes.push(Cause::forbidden(
            &child(path, extra),
            "may not specify more than 1 handler type",
        )),
    }
    validate_probe_handlers(probe, path, causes);
    let counters = [
        ("initialDelaySeconds", probe.initial_delay_seconds),
        ("timeoutSeconds", probe.timeout_seconds),
        ("periodSeconds", probe.period_seconds),
        ("successThreshold", probe.success_threshold),
        ("failureThreshold", probe.failure_threshold),
    ];
    for (field, value) in counters {
        nonnegative(&child(path, field), value.map(i64::from), causes);
    }
    if let Some(grace) = probe
        .termination_grace_period_seconds
        .filter(|grace| *grace <= 0)
    {
        causes.push(Cause::invalid(
            &child(path, "terminationGracePeriodSeconds"),
            &grace.to_string(),
            "must be greater than 0",
        ));
    }
}

fn validate_probe_handlers(probe: &core::Probe, path: &str, causes: &mut Vec<Cause>) {
    if let Some(exec) = &probe.exec {
        if exec.command.as_ref().is_none_or(Vec::is_empty) {
            causes.push(Cause::required(&child(path, "exec.command")));
        }
    }
    if let Some(http_get) = &probe.http_get {
        validate_port_number_or_name(&child(path, "httpGet.port"), &http_get.port, causes);
        let scheme = http_get.scheme.as_deref();
        one_of(
            &child(path, "httpGet.scheme"),
            scheme,
            &["HTTP", "HTTPS"],
            causes,
        );
    }
    if let Some(tcp_socket) = &probe.tcp_socket {
        validate_port_number_or_name(&child(path, "tcpSocket.port"), &tcp_socket.port, causes);
    }
    if let Some(grpc) = &probe.grpc {
        validate_port_number(&child(path, "grpc.port"), i64::from(grpc.port), causes);
    }
}

fn validate_tolerations(
    tolerations: Option<&[core::Toleration]>,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    for (position, toleration) in tolerations.into_iter().flatten().enumerate() {
        let entry = index(path, position);
        let toleration_key = toleration.key.as_deref().unwrap_or_default();
        let operator = toleration.operator.as_deref().unwrap_or_default();
        let value = toleration.value.as_deref().unwrap_or_default();
        let effect = toleration.effect.as_deref().unwrap_or_default();
        let operator_path = child(&entry, "operator");
        if !toleration_key.is_empty() {
            check_name(
                &child(&entry, "key"),
                toleration_key,
                validate_label_key,
                causes,
            );
        } else if operator != "Exists" {
            causes.push(Cause::invalid(
                &operator_path,
                &quoted(operator),
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if toleration.toleration_seconds.is_some() && effect != "NoExecute" {
            causes.push(Cause::invalid(
                &child(&entry, "effect"),
                &quoted(effect),
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match operator {
            "" | "Equal" => check_name(&operator_path, value, validate_label_value, causes),
            "Exists" if !value.is_empty() => causes.push(Cause::invalid(
                &operator_path,
                &quoted(value),
                "value must be empty when `operator` is 'Exists'",
            )),
            "Exists" => {}
            other => causes.push(Cause::not_supported(
                &operator_path,
                &quoted(other),
                &["Equal", "Exists"],
            )),
        }
        if !effect.is_empty() {
            one_of(
                &child(&entry, "effect"),
                Some(effect),
                TAINT_EFFECTS,
                causes,
            );
        }
    }
}

/// `ValidatePodUpdate`: after the mutable fields are copied from the old spec, nothing
/// else in the spec may differ.
pub(super) fn validate_pod_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let (Some(new_spec), Some(old_spec)) = (new.get("spec"), old.get("spec")) else {
        return;
    };
    let mut munged = new_spec.clone();
    for list in ["containers", "initContainers"] {
        copy_container_images(&mut munged, old_spec, list);
    }
    validate_active_deadline_update(new_spec, old_spec, causes);
    validate_tolerations_update(new_spec, old_spec, causes);
    for field in [
        "activeDeadlineSeconds",
        "tolerations",
        "terminationGracePeriodSeconds",
    ] {
        set_or_remove(&mut munged, field, old_spec.get(field));
    }
    if &munged != old_spec {
        causes.push(Cause::forbidden(
            "spec",
            "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
        ));
    }
}

fn copy_container_images(munged: &mut Value, old_spec: &Value, list: &str) {
    let old_containers = old_spec.get(list).and_then(Value::as_array);
    let new_containers = munged.get_mut(list).and_then(Value::as_array_mut);
    let (Some(old_containers), Some(new_containers)) = (old_containers, new_containers) else {
        return;
    };
    if old_containers.len() != new_containers.len() {
        return;
    }
    for (new_container, old_container) in new_containers.iter_mut().zip(old_containers) {
        set_or_remove(new_container, "image", old_container.get("image"));
    }
}

fn validate_active_deadline_update(new_spec: &Value, old_spec: &Value, causes: &mut Vec<Cause>) {
    let path = "spec.activeDeadlineSeconds";
    let new_deadline = new_spec
        .get("activeDeadlineSeconds")
        .and_then(Value::as_i64);
    let old_deadline = old_spec
        .get("activeDeadlineSeconds")
        .and_then(Value::as_i64);
    match (new_deadline, old_deadline) {
        (None, Some(_)) => causes.push(Cause::invalid(
            path,
            "null",
            "must not update from a positive integer to nil value",
        )),
        (Some(new_deadline), Some(old_deadline)) if new_deadline > old_deadline => {
            causes.push(Cause::invalid(
                path,
                &new_deadline.to_string(),
                "must be less than or equal to previous value",
            ))
        }
        _ => {}
    }
}

/// Existing tolerations may not be removed or changed, except their tolerationSeconds.
fn validate_tolerations_update(new_spec: &Value, old_spec: &Value, causes: &mut Vec<Cause>) {
    let without_seconds = |toleration: &Value| {
        let mut toleration = toleration.clone();
        set_or_remove(&mut toleration, "tolerationSeconds", None);
        toleration
    };
    let new_tolerations: Vec<Value> = new_spec
        .get("tolerations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(without_seconds)
        .collect();
    let old_tolerations = old_spec.get("tolerations").and_then(Value::as_array);
    for (position, toleration) in old_tolerations.into_iter().flatten().enumerate() {
        if !new_tolerations.contains(&without_seconds(toleration)) {
            causes.push(Cause::forbidden(
                &index("spec.tolerations", position),
                "existing toleration can not be modified except its tolerationSeconds",
            ));
        }
    }
}
