//! The other core/v1 kinds: Namespace, Node, Service, Endpoints, ConfigMap, Secret, Event
//! and ServiceAccount.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1 as core;
use serde_json::Value;

use crate::selector::{
    validate_dns1123_label, validate_dns1123_subdomain, validate_label_key, validate_label_value,
};
use crate::status::Cause;

use super::common::{
    check_name, child, index, is_cidr, key, lookup, one_of, quoted, require_name, typed,
    validate_immutable, validate_ip, validate_labels, validate_port_number,
    validate_port_number_or_name, validate_qualified_name, PROTOCOLS, TAINT_EFFECTS,
};

// ---------------------------------------------------------------------------------------
// Other core/v1 kinds.

/// ConfigMaps and Secrets are stored and watched whole; etcd's request limit bounds them.
pub(super) const CONFIG_DATA_LIMIT_BYTES: usize = 1024 * 1024;
/// A ConfigMap or Secret key becomes a file name, so it is held to a subdomain's length.
const CONFIG_KEY_LIMIT_CHARS: usize = 253;
/// Events' short fields are indexed and displayed in tables; Kubernetes bounds them.
pub(super) const EVENT_SHORT_FIELD_LIMIT_CHARS: usize = 128;
/// An event's note is for humans; Kubernetes bounds it to keep events cheap.
const EVENT_NOTE_LIMIT_CHARS: usize = 1024;

pub(super) fn validate_namespace(object: &Value, causes: &mut Vec<Cause>) {
    let Some(namespace) = typed::<core::Namespace>(object, causes) else {
        return;
    };
    let finalizers = namespace
        .spec
        .and_then(|spec| spec.finalizers)
        .unwrap_or_default();
    for finalizer in &finalizers {
        check_name(
            "spec.finalizers",
            finalizer,
            validate_qualified_name,
            causes,
        );
        // A finalizer without a domain must be one Kubernetes defines.
        if !finalizer.contains('/')
            && finalizer != "kubernetes"
            && validate_qualified_name(finalizer).is_ok()
        {
            causes.push(Cause::invalid(
                "spec.finalizers",
                &quoted(finalizer),
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
}

pub(super) fn validate_node(object: &Value, causes: &mut Vec<Cause>) {
    let Some(node) = typed::<core::Node>(object, causes) else {
        return;
    };
    let spec = node.spec.unwrap_or_default();
    for (position, cidr) in spec.pod_cidrs.iter().flatten().enumerate() {
        if !is_cidr(cidr) {
            causes.push(Cause::invalid(
                &index("spec.podCIDRs", position),
                &quoted(cidr),
                "must be a valid CIDR",
            ));
        }
    }
    let mut seen = BTreeSet::new();
    for (position, taint) in spec.taints.iter().flatten().enumerate() {
        let entry = index("spec.taints", position);
        check_name(
            &child(&entry, "key"),
            &taint.key,
            validate_label_key,
            causes,
        );
        let value = taint.value.as_deref().unwrap_or_default();
        check_name(&child(&entry, "value"), value, validate_label_value, causes);
        let effect_path = child(&entry, "effect");
        if taint.effect.is_empty() {
            causes.push(Cause::required(&effect_path));
        } else {
            one_of(&effect_path, Some(&taint.effect), TAINT_EFFECTS, causes);
        }
        if !seen.insert((taint.key.clone(), taint.effect.clone())) {
            causes.push(Cause {
                message: format!(
                    "Duplicate value: {}: taints must be unique by key and effect pair",
                    quoted(&format!("{}:{}", taint.key, taint.effect))
                ),
                ..Cause::duplicate(&entry, "")
            });
        }
    }
}

/// `ValidateNodeUpdate`: podCIDRs and providerID may only go from unset to set.
pub(super) fn validate_node_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let fields = [
        (
            "podCIDRs",
            "spec.podCIDRs",
            "node updates may not change podCIDR except from \"\" to valid",
        ),
        (
            "providerID",
            "spec.providerID",
            "node updates may not change providerID except from \"\" to valid",
        ),
    ];
    for (field, path, detail) in fields {
        let old_value = lookup(old, &["spec", field]);
        let emptied =
            old_value.is_some_and(|value| value == "" || value == &Value::Array(Vec::new()));
        if old_value.is_some() && !emptied && old_value != lookup(new, &["spec", field]) {
            causes.push(Cause::forbidden(path, detail));
        }
    }
}

pub(super) fn validate_service(object: &Value, causes: &mut Vec<Cause>) {
    let Some(service) = typed::<core::Service>(object, causes) else {
        return;
    };
    let spec = service.spec.unwrap_or_default();
    let service_type = spec.type_.as_deref().unwrap_or("ClusterIP");
    let types = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    one_of("spec.type", Some(service_type), &types, causes);
    let cluster_ip = spec.cluster_ip.as_deref().unwrap_or_default();
    let headless = cluster_ip == "None";
    let ports = spec.ports.as_deref().unwrap_or_default();
    if ports.is_empty() && !headless && service_type != "ExternalName" {
        causes.push(Cause::required("spec.ports"));
    }
    validate_service_ports(ports, service_type, causes);
    if service_type == "ExternalName" {
        validate_external_name(&spec, causes);
    } else if !cluster_ip.is_empty() && !headless {
        validate_ip("spec.clusterIPs[0]", cluster_ip, causes);
    }
    if let Some(first) = spec.cluster_ips.as_ref().and_then(|ips| ips.first()) {
        if !cluster_ip.is_empty() && first != cluster_ip {
            causes.push(Cause::invalid(
                "spec.clusterIPs",
                &quoted(first),
                "element [0] must match clusterIP",
            ));
        }
    }
    validate_labels("spec.selector", spec.selector.as_ref(), causes);
    validate_service_policies(&spec, service_type, causes);
}

/// The traffic, affinity and IP-family policy fields, each a closed set of values.
fn validate_service_policies(
    spec: &core::ServiceSpec,
    service_type: &str,
    causes: &mut Vec<Cause>,
) {
    one_of(
        "spec.sessionAffinity",
        spec.session_affinity.as_deref(),
        &["ClientIP", "None"],
        causes,
    );
    let policies = ["Cluster", "Local"];
    let external_policy = spec.external_traffic_policy.as_deref();
    one_of(
        "spec.externalTrafficPolicy",
        external_policy,
        &policies,
        causes,
    );
    if external_policy.is_some() && !["NodePort", "LoadBalancer"].contains(&service_type) {
        causes.push(Cause::invalid(
            "spec.externalTrafficPolicy",
            &quoted(external_policy.unwrap_or_default()),
            "may only be set when `type` is 'NodePort' or 'LoadBalancer'",
        ));
    }
    let internal_policy = spec.internal_traffic_policy.as_deref();
    one_of(
        "spec.internalTrafficPolicy",
        internal_policy,
        &policies,
        causes,
    );
    let family_policies = ["PreferDualStack", "RequireDualStack", "SingleStack"];
    one_of(
        "spec.ipFamilyPolicy",
        spec.ip_family_policy.as_deref(),
        &family_policies,
        causes,
    );
    for (position, family) in spec.ip_families.iter().flatten().enumerate() {
        one_of(
            &index("spec.ipFamilies", position),
            Some(family),
            &["IPv4", "IPv6"],
            causes,
        );
    }
}

fn validate_external_name(spec: &core::ServiceSpec, causes: &mut Vec<Cause>) {
    if !spec.cluster_ip.as_deref().unwrap_or_default().is_empty() {
        causes.push(Cause::forbidden(
            "spec.clusterIP",
            "may not be set for ExternalName services",
        ));
    }
    let external_name = spec.external_name.as_deref().unwrap_or_default();
    let trimmed = external_name.strip_suffix('.').unwrap_or(external_name);
    require_name(
        "spec.externalName",
        trimmed,
        validate_dns1123_subdomain,
        causes,
    );
}

fn validate_service_ports(
    ports: &[core::ServicePort],
    service_type: &str,
    causes: &mut Vec<Cause>,
) {
    let mut names = BTreeSet::new();
    let mut endpoints = BTreeSet::new();
    for (position, port) in ports.iter().enumerate() {
        let entry = index("spec.ports", position);
        let name = port.name.as_deref().unwrap_or_default();
        let name_path = child(&entry, "name");
        if name.is_empty() && ports.len() > 1 {
            causes.push(Cause::required(&name_path));
        } else if !name.is_empty() {
            check_name(&name_path, name, validate_dns1123_label, causes);
            if !names.insert(name) {
                causes.push(Cause::duplicate(&name_path, &quoted(name)));
            }
        }
        validate_port_number(&child(&entry, "port"), i64::from(port.port), causes);
        one_of(
            &child(&entry, "protocol"),
            port.protocol.as_deref(),
            PROTOCOLS,
            causes,
        );
        if let Some(target) = &port.target_port {
            validate_port_number_or_name(&child(&entry, "targetPort"), target, causes);
        }
        let protocol = port.protocol.as_deref().unwrap_or("TCP");
        if !endpoints.insert((port.port, protocol)) {
            causes.push(Cause::duplicate(
                &entry,
                &format!("{}/{protocol}", port.port),
            ));
        }
        let node_port_path = child(&entry, "nodePort");
        match port.node_port.filter(|node_port| *node_port != 0) {
            Some(_) if ["ClusterIP", "ExternalName"].contains(&service_type) => {
                causes.push(Cause::forbidden(
                    &node_port_path,
                    &format!("may not be used when `type` is '{service_type}'"),
                ))
            }
            Some(node_port) => validate_port_number(&node_port_path, i64::from(node_port), causes),
            None => {}
        }
    }
}

/// `ValidateServiceUpdate`: cluster IPs may not change once allocated, unless the
/// service moves to or from ExternalName. An omitted clusterIP is copied from the old one.
pub(super) fn validate_service_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let type_of = |service: &Value| {
        lookup(service, &["spec", "type"])
            .and_then(Value::as_str)
            .unwrap_or("ClusterIP")
            .to_string()
    };
    if type_of(new) == "ExternalName" || type_of(old) == "ExternalName" {
        return;
    }
    let ip_of = |service: &Value| {
        lookup(service, &["spec", "clusterIP"])
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let (new_ip, old_ip) = (ip_of(new), ip_of(old));
    if !old_ip.is_empty() && !new_ip.is_empty() && new_ip != old_ip {
        causes.push(Cause::invalid(
            "spec.clusterIPs[0]",
            &quoted(&new_ip),
            "may not change once set",
        ));
    }
}

pub(super) fn validate_endpoints(object: &Value, causes: &mut Vec<Cause>) {
    let Some(endpoints) = typed::<core::Endpoints>(object, causes) else {
        return;
    };
    for (position, subset) in endpoints.subsets.iter().flatten().enumerate() {
        let entry = index("subsets", position);
        let addresses = subset.addresses.as_deref().unwrap_or_default();
        let not_ready = subset.not_ready_addresses.as_deref().unwrap_or_default();
        if addresses.is_empty() && not_ready.is_empty() {
            causes.push(Cause {
                message: "Required value: must specify `addresses` or `notReadyAddresses`".into(),
                ..Cause::required(&entry)
            });
        }
        for (field, list) in [("addresses", addresses), ("notReadyAddresses", not_ready)] {
            for (address_position, address) in list.iter().enumerate() {
                let address_path = index(&child(&entry, field), address_position);
                validate_ip(&child(&address_path, "ip"), &address.ip, causes);
                if let Some(hostname) = address.hostname.as_deref().filter(|name| !name.is_empty())
                {
                    check_name(
                        &child(&address_path, "hostname"),
                        hostname,
                        validate_dns1123_label,
                        causes,
                    );
                }
            }
        }
        let ports = subset.ports.as_deref().unwrap_or_default();
        for (port_position, port) in ports.iter().enumerate() {
            let port_path = index(&child(&entry, "ports"), port_position);
            let name = port.name.as_deref().unwrap_or_default();
            if name.is_empty() && ports.len() > 1 {
                causes.push(Cause::required(&child(&port_path, "name")));
            } else if !name.is_empty() {
                check_name(
                    &child(&port_path, "name"),
                    name,
                    validate_dns1123_label,
                    causes,
                );
            }
            validate_port_number(&child(&port_path, "port"), i64::from(port.port), causes);
            one_of(
                &child(&port_path, "protocol"),
                port.protocol.as_deref(),
                PROTOCOLS,
                causes,
            );
        }
    }
}

/// apimachinery's `IsConfigMapKey`: keys become file names when mounted.
fn validate_config_key(path: &str, name: &str, causes: &mut Vec<Cause>) {
    let mut details = Vec::new();
    if name.len() > CONFIG_KEY_LIMIT_CHARS {
        details.push("must be no more than 253 characters");
    }
    if name.is_empty()
        || !name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-._".contains(&byte))
    {
        details.push("a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
    }
    if name == "." {
        details.push("must not be '.'");
    } else if name == ".." {
        details.push("must not be '..'");
    } else if name.starts_with("..") {
        details.push("must not start with '..'");
    }
    for detail in details {
        causes.push(Cause::invalid(path, &quoted(name), detail));
    }
}

pub(super) fn validate_config_map(object: &Value, causes: &mut Vec<Cause>) {
    let Some(config_map) = typed::<core::ConfigMap>(object, causes) else {
        return;
    };
    let mut total_bytes = 0usize;
    let data = config_map.data.unwrap_or_default();
    let binary = config_map.binary_data.unwrap_or_default();
    for (name, value) in &data {
        validate_config_key(&key("data", name), name, causes);
        total_bytes = total_bytes.saturating_add(value.len());
    }
    for (name, value) in &binary {
        let path = key("binaryData", name);
        validate_config_key(&path, name, causes);
        if data.contains_key(name) {
            causes.push(Cause::invalid(
                &path,
                &quoted(name),
                "duplicate of key present in data",
            ));
        }
        total_bytes = total_bytes.saturating_add(value.0.len());
    }
    if total_bytes > CONFIG_DATA_LIMIT_BYTES {
        causes.push(Cause::too_long("", CONFIG_DATA_LIMIT_BYTES));
    }
}

pub(super) fn validate_secret(object: &Value, causes: &mut Vec<Cause>) {
    let Some(secret) = typed::<core::Secret>(object, causes) else {
        return;
    };
    let mut total_bytes = 0usize;
    let mut keys = BTreeSet::new();
    for (name, value) in secret.data.iter().flatten() {
        validate_config_key(&key("data", name), name, causes);
        total_bytes = total_bytes.saturating_add(value.0.len());
        keys.insert(name.clone());
    }
    // kube-apiserver merges stringData into data before validating.
    for (name, value) in secret.string_data.iter().flatten() {
        validate_config_key(&key("stringData", name), name, causes);
        total_bytes = total_bytes.saturating_add(value.len());
        keys.insert(name.clone());
    }
    if total_bytes > CONFIG_DATA_LIMIT_BYTES {
        causes.push(Cause::too_long("data", CONFIG_DATA_LIMIT_BYTES));
    }
    let annotations = secret.metadata.annotations.unwrap_or_default();
    validate_secret_type(
        secret.type_.as_deref().unwrap_or("Opaque"),
        &keys,
        &annotations,
        causes,
    );
}

/// The keys each built-in Secret type must carry (`ValidateSecret`'s switch on type).
fn validate_secret_type(
    secret_type: &str,
    keys: &BTreeSet<String>,
    annotations: &BTreeMap<String, String>,
    causes: &mut Vec<Cause>,
) {
    let required: &[&str] = match secret_type {
        "kubernetes.io/dockercfg" => &[".dockercfg"],
        "kubernetes.io/dockerconfigjson" => &[".dockerconfigjson"],
        "kubernetes.io/ssh-auth" => &["ssh-privatekey"],
        "kubernetes.io/tls" => &["tls.crt", "tls.key"],
        _ => &[],
    };
    for name in required.iter().filter(|name| !keys.contains(**name)) {
        causes.push(Cause::required(&key("data", name)));
    }
    let has_credentials = keys.contains("username") || keys.contains("password");
    if secret_type == "kubernetes.io/basic-auth" && !has_credentials {
        causes.push(Cause::required("data[username]"));
        causes.push(Cause::required("data[password]"));
    }
    let account_annotation = "kubernetes.io/service-account.name";
    if secret_type == "kubernetes.io/service-account-token"
        && !annotations.contains_key(account_annotation)
    {
        causes.push(Cause::required(&key(
            "metadata.annotations",
            account_annotation,
        )));
    }
}

pub(super) fn validate_secret_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    validate_immutable(new, old, &["type"], causes);
    validate_immutable_data(new, old, &["data"], causes);
}

/// ConfigMaps and Secrets marked `immutable: true` keep their data and the mark.
pub(super) fn validate_immutable_data(
    new: &Value,
    old: &Value,
    fields: &[&str],
    causes: &mut Vec<Cause>,
) {
    if lookup(old, &["immutable"]) != Some(&Value::Bool(true)) {
        return;
    }
    if lookup(new, &["immutable"]) != Some(&Value::Bool(true)) {
        causes.push(Cause::forbidden(
            "immutable",
            "field is immutable when `immutable` is set",
        ));
    }
    for field in fields {
        if lookup(new, &[field]) != lookup(old, &[field]) {
            causes.push(Cause::forbidden(
                field,
                "field is immutable when `immutable` is set",
            ));
        }
    }
}

pub(super) fn validate_event(object: &Value, causes: &mut Vec<Cause>) {
    let Some(event) = typed::<core::Event>(object, causes) else {
        return;
    };
    let namespace = event.metadata.namespace.as_deref().unwrap_or_default();
    let involved = event
        .involved_object
        .namespace
        .as_deref()
        .unwrap_or_default();
    let mismatch = if event.event_time.is_none() {
        if involved.is_empty() {
            !namespace.is_empty() && namespace != "default"
        } else {
            namespace != involved
        }
    } else {
        involved.is_empty() && namespace != "default" && namespace != "kube-system"
    };
    if mismatch {
        causes.push(Cause::invalid(
            "involvedObject.namespace",
            &quoted(involved),
            "does not match event.namespace",
        ));
    }
    if event.event_time.is_some() {
        validate_series_event(&event, causes);
    }
}

/// Events with an eventTime are "new" events and carry their reporting fields.
fn validate_series_event(event: &core::Event, causes: &mut Vec<Cause>) {
    let short_fields = [
        (
            "reportingComponent",
            &event.reporting_component,
            EVENT_SHORT_FIELD_LIMIT_CHARS,
        ),
        (
            "reportingInstance",
            &event.reporting_instance,
            EVENT_SHORT_FIELD_LIMIT_CHARS,
        ),
        ("action", &event.action, EVENT_SHORT_FIELD_LIMIT_CHARS),
        ("reason", &event.reason, EVENT_SHORT_FIELD_LIMIT_CHARS),
    ];
    for (path, value, limit) in short_fields {
        let value = value.as_deref().unwrap_or_default();
        if value.is_empty() {
            causes.push(Cause::required(path));
        } else if value.len() > limit {
            causes.push(Cause::invalid(
                path,
                &quoted(value),
                &format!("can have at most {limit} characters"),
            ));
        }
    }
    let message = event.message.as_deref().unwrap_or_default();
    if message.len() > EVENT_NOTE_LIMIT_CHARS {
        causes.push(Cause::invalid(
            "message",
            "<message>",
            &format!("can have at most {EVENT_NOTE_LIMIT_CHARS} characters"),
        ));
    }
    if let Some(component) = event
        .reporting_component
        .as_deref()
        .filter(|value| !value.is_empty())
    {
        check_name(
            "reportingComponent",
            component,
            validate_qualified_name,
            causes,
        );
    }
}

pub(super) fn validate_service_account(object: &Value, causes: &mut Vec<Cause>) {
    let Some(account) = typed::<core::ServiceAccount>(object, causes) else {
        return;
    };
    for (position, secret) in account.secrets.iter().flatten().enumerate() {
        if let Some(name) = secret.name.as_deref().filter(|name| !name.is_empty()) {
            check_name(
                &index("secrets", position),
                name,
                validate_dns1123_subdomain,
                causes,
            );
        }
    }
}
