//! Printers of Service, Endpoints, EndpointSlice, Ingress, IngressClass and NetworkPolicy.

use serde_json::Value;

use super::cells::{
    age, at, format_label_selector, format_labels, integer, items, join_host_port, list_with_more,
    name, nested, optional_integer, or_placeholder, text, text_cell, LIST_LIMIT, NONE, PENDING,
    UNKNOWN,
};
use super::columns::{column, wide, Column, AGE_COLUMN, NAME_COLUMN, STRING};

// ---------------------------------------------------------------------------------------
// Services and networking.

pub(super) const SERVICE_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Type", STRING, "type determines how the Service is exposed. Defaults to ClusterIP."),
    column("Cluster-IP", STRING, "clusterIP is the IP address of the service and is usually assigned randomly."),
    column("External-IP", STRING, "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
    column("Port(s)", STRING, "The list of ports that are exposed by this service."),
    AGE_COLUMN,
    wide("Selector", STRING, "Route service traffic to pods with label keys and values matching this selector."),
];

pub(super) const ENDPOINTS_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column(
        "Endpoints",
        STRING,
        "The set of all endpoints is the union of all subsets.",
    ),
    AGE_COLUMN,
];

pub(super) const ENDPOINT_SLICE_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column(
        "AddressType",
        STRING,
        "addressType specifies the type of address carried by this EndpointSlice.",
    ),
    column(
        "Ports",
        STRING,
        "ports specifies the list of network ports exposed by each endpoint in this slice.",
    ),
    column(
        "Endpoints",
        STRING,
        "endpoints is a list of unique endpoints in this slice.",
    ),
    AGE_COLUMN,
];

pub(super) const INGRESS_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column(
        "Class",
        STRING,
        "The name of the IngressClass resource that should be used for additional configuration",
    ),
    column(
        "Hosts",
        STRING,
        "Hosts that incoming requests are matched against before the ingress rule",
    ),
    column(
        "Address",
        STRING,
        "Address is a list containing ingress points for the load-balancer",
    ),
    column("Ports", STRING, "Ports of TLS configurations that open"),
    AGE_COLUMN,
];

pub(super) const INGRESS_CLASS_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column(
        "Controller",
        STRING,
        "Controller that is responsible for handling this class",
    ),
    column(
        "Parameters",
        STRING,
        "A reference to a resource with additional parameters",
    ),
    AGE_COLUMN,
];

pub(super) const NETWORK_POLICY_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column(
        "Pod-Selector",
        STRING,
        "Selects the pods to which this NetworkPolicy object applies.",
    ),
    AGE_COLUMN,
];

pub(super) fn service_cells(service: &Value, now: i64) -> Vec<Value> {
    let spec = &service["spec"];
    let ports = service_ports(items(spec, &["ports"]));
    vec![
        text_cell(name(service)),
        text_cell(text(spec, &["type"])),
        text_cell(service_cluster_ip(spec)),
        text_cell(service_external_ip(service)),
        text_cell(or_placeholder(&ports, NONE)),
        age(service, now),
        text_cell(format_labels(&spec["selector"])),
    ]
}

/// The primary cluster IP. `spec.clusterIP` wins, as in kube's v1 to internal conversion.
fn service_cluster_ip(spec: &Value) -> String {
    let primary = text(spec, &["clusterIP"]);
    if !primary.is_empty() {
        return primary.to_string();
    }
    items(spec, &["clusterIPs"]).first().map_or_else(
        || NONE.to_string(),
        |ip| ip.as_str().unwrap_or("").to_string(),
    )
}

/// `getServiceExternalIP`, in its wide form (no truncation).
fn service_external_ip(service: &Value) -> String {
    let spec = &service["spec"];
    let external_ips: Vec<&str> = items(spec, &["externalIPs"])
        .iter()
        .map(|ip| ip.as_str().unwrap_or(""))
        .collect();
    match text(spec, &["type"]) {
        "ClusterIP" | "NodePort" if external_ips.is_empty() => NONE.to_string(),
        "ClusterIP" | "NodePort" => external_ips.join(","),
        "LoadBalancer" => {
            let ingress = load_balancer_addresses(at(service, &["status", "loadBalancer"]));
            let mut addresses: Vec<&str> = ingress.iter().map(String::as_str).collect();
            addresses.extend(external_ips);
            if addresses.is_empty() {
                PENDING.to_string()
            } else {
                addresses.join(",")
            }
        }
        "ExternalName" => text(spec, &["externalName"]).to_string(),
        _ => UNKNOWN.to_string(),
    }
}

/// The sorted, distinct IPs (or else hostnames) of a load balancer's ingress points.
fn load_balancer_addresses(status: &Value) -> Vec<String> {
    let mut addresses: Vec<String> = items(status, &["ingress"])
        .iter()
        .map(|point| or_placeholder(text(point, &["ip"]), text(point, &["hostname"])))
        .filter(|address| !address.is_empty())
        .map(str::to_string)
        .collect();
    addresses.sort();
    addresses.dedup();
    addresses
}

/// `makePortString`: "port/protocol", or "port:nodePort/protocol".
fn service_ports(ports: &[Value]) -> String {
    let pieces: Vec<String> = ports
        .iter()
        .map(|port| {
            let number = integer(port, &["port"]);
            let protocol = text(port, &["protocol"]);
            let node_port = integer(port, &["nodePort"]);
            if node_port > 0 {
                format!("{number}:{node_port}/{protocol}")
            } else {
                format!("{number}/{protocol}")
            }
        })
        .collect();
    pieces.join(",")
}

pub(super) fn endpoints_cells(endpoints: &Value, now: i64) -> Vec<Value> {
    vec![
        text_cell(name(endpoints)),
        text_cell(format_endpoints(items(endpoints, &["subsets"]))),
        age(endpoints, now),
    ]
}

/// `formatEndpoints`: ready "ip:port" pairs, three of them, then "+ N more...".
fn format_endpoints(subsets: &[Value]) -> String {
    if subsets.is_empty() {
        return NONE.to_string();
    }
    let mut all: Vec<String> = Vec::new();
    for subset in subsets {
        let addresses = items(subset, &["addresses"]);
        let ips = addresses.iter().map(|address| text(address, &["ip"]));
        let ports = items(subset, &["ports"]);
        if ports.is_empty() {
            // Headless services may have no ports.
            all.extend(ips.map(str::to_string));
            continue;
        }
        for port in ports {
            let number = integer(port, &["port"]);
            let ips = addresses.iter().map(|address| text(address, &["ip"]));
            all.extend(ips.map(|ip| join_host_port(ip, number)));
        }
    }
    let shown = all
        .iter()
        .take(LIST_LIMIT)
        .cloned()
        .collect::<Vec<_>>()
        .join(",");
    if all.len() > LIST_LIMIT {
        return format!("{shown} + {} more...", all.len() - LIST_LIMIT);
    }
    shown
}

pub(super) fn endpoint_slice_cells(slice: &Value, now: i64) -> Vec<Value> {
    let ports: Vec<String> = items(slice, &["ports"])
        .iter()
        .map(
            |port| match (optional_integer(port, &["port"]), port["name"].as_str()) {
                (Some(number), _) => number.to_string(),
                (None, Some(port_name)) => port_name.to_string(),
                (None, None) => ANY_PORT.to_string(),
            },
        )
        .collect();
    let addresses: Vec<String> = items(slice, &["endpoints"])
        .iter()
        .flat_map(|endpoint| items(endpoint, &["addresses"]))
        .map(|address| address.as_str().unwrap_or("").to_string())
        .collect();
    vec![
        text_cell(name(slice)),
        text_cell(text(slice, &["addressType"])),
        text_cell(list_with_more(&ports)),
        text_cell(list_with_more(&addresses)),
        age(slice, now),
    ]
}

/// What `printIngress` says an ingress listens on, without and with TLS.
const INGRESS_HTTP_PORTS: &str = "80";
const INGRESS_HTTPS_PORTS: &str = "80, 443";
/// An ingress whose rules name no host, or a slice port without number or name.
const ANY_HOST: &str = "*";
const ANY_PORT: &str = "*";

pub(super) fn ingress_cells(ingress: &Value, now: i64) -> Vec<Value> {
    let class = at(ingress, &["spec", "ingressClassName"])
        .as_str()
        .unwrap_or(NONE);
    let addresses = load_balancer_addresses(at(ingress, &["status", "loadBalancer"]));
    let ports = if items(ingress, &["spec", "tls"]).is_empty() {
        INGRESS_HTTP_PORTS
    } else {
        INGRESS_HTTPS_PORTS
    };
    vec![
        text_cell(name(ingress)),
        text_cell(class),
        text_cell(ingress_hosts(items(ingress, &["spec", "rules"]))),
        text_cell(addresses.join(",")),
        text_cell(ports),
        age(ingress, now),
    ]
}

/// `formatHosts`: the first three hosts named, "*" when none is.
fn ingress_hosts(rules: &[Value]) -> String {
    let mut hosts: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if hosts.len() == LIST_LIMIT {
            more = true;
            break;
        }
        let host = text(rule, &["host"]);
        if !host.is_empty() {
            hosts.push(host);
        }
    }
    if hosts.is_empty() {
        return ANY_HOST.to_string();
    }
    if more {
        return format!("{} + {} more...", hosts.join(","), rules.len() - LIST_LIMIT);
    }
    hosts.join(",")
}

pub(super) fn ingress_class_cells(class: &Value, now: i64) -> Vec<Value> {
    let parameters = match nested(class, &["spec", "parameters"]) {
        None => NONE.to_string(),
        Some(reference) => {
            let group = match reference["apiGroup"].as_str() {
                Some(group) => format!(".{group}"),
                None => String::new(),
            };
            let kind = text(reference, &["kind"]);
            format!("{kind}{group}/{}", text(reference, &["name"]))
        }
    };
    vec![
        text_cell(name(class)),
        text_cell(text(class, &["spec", "controller"])),
        text_cell(parameters),
        age(class, now),
    ]
}

pub(super) fn network_policy_cells(policy: &Value, now: i64) -> Vec<Value> {
    vec![
        text_cell(name(policy)),
        text_cell(format_label_selector(at(policy, &["spec", "podSelector"]))),
        age(policy, now),
    ]
}
