//! Cells of services, endpoints, endpoint slices, ingresses and network policies.

use super::*;

// --- Services and networking --------------------------------------------------------

fn service(spec: Value, status: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Service", "metadata": metadata("web", 7 * MINUTE), "spec": spec, "status": status})
}

#[test]
fn node_port_service_cells() {
    let node_port = service(
        json!({"type": "NodePort", "clusterIP": "10.96.0.12", "clusterIPs": ["10.96.0.12"], "selector": {"app": "web", "tier": "fe"},
               "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080, "nodePort": 30080}]}),
        json!({"loadBalancer": {}}),
    );
    assert_eq!(
        cells("Service", node_port),
        json!([
            "web",
            "NodePort",
            "10.96.0.12",
            "<none>",
            "80:30080/TCP",
            "7m",
            "app=web,tier=fe"
        ]),
    );
}

#[test]
fn service_external_ips_by_type() {
    let cluster = service(
        json!({"type": "ClusterIP", "clusterIP": "None", "externalIPs": ["198.51.100.1", "198.51.100.2"],
               "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}),
        json!({}),
    );
    let row = cells("Service", cluster);
    assert_eq!(
        (
            row[2].clone(),
            row[3].clone(),
            row[4].clone(),
            row[6].clone()
        ),
        (
            json!("None"),
            json!("198.51.100.1,198.51.100.2"),
            json!("53/UDP,53/TCP"),
            json!("<none>")
        )
    );
    let pending = service(
        json!({"type": "LoadBalancer", "clusterIP": "10.96.0.7", "ports": []}),
        json!({}),
    );
    let row = cells("Service", pending);
    assert_eq!(
        (row[3].clone(), row[4].clone()),
        (json!("<pending>"), json!("<none>"))
    );
    let balanced = service(
        json!({"type": "LoadBalancer", "externalIPs": ["198.51.100.9"]}),
        json!({"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}, {"ip": "203.0.113.7"}, {"ip": "203.0.113.7"}]}}),
    );
    assert_eq!(
        cells("Service", balanced)[3],
        "203.0.113.7,lb.example.com,198.51.100.9"
    );
    let external = service(
        json!({"type": "ExternalName", "externalName": "db.example.com"}),
        json!({}),
    );
    let row = cells("Service", external);
    assert_eq!(
        (row[2].clone(), row[3].clone()),
        (json!("<none>"), json!("db.example.com"))
    );
    assert_eq!(
        cells(
            "Service",
            service(json!({"clusterIPs": ["10.0.0.1"]}), json!({}))
        )[3],
        "<unknown>"
    );
}

#[test]
fn endpoints_and_endpoint_slice_cells() {
    let endpoints = json!({"metadata": metadata("web", 30), "subsets": [
        {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}, {"port": 443}]},
        {"addresses": [{"ip": "fd00::1"}], "notReadyAddresses": [{"ip": "10.0.0.9"}], "ports": [{"port": 80}]}]});
    assert_eq!(
        cells("Endpoints", endpoints),
        json!([
            "web",
            "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 2 more...",
            "30s"
        ])
    );
    let few = json!({"metadata": metadata("db", 30), "subsets": [
        {"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 5432}]}, {"addresses": [{"ip": "10.0.0.3"}]}]});
    assert_eq!(cells("Endpoints", few)[1], "[fd00::1]:5432,10.0.0.3");
    assert_eq!(
        cells("Endpoints", json!({"metadata": metadata("none", 30)}))[1],
        "<none>"
    );
    assert_eq!(
        cells(
            "Endpoints",
            json!({"metadata": metadata("empty", 30), "subsets": [{}]})
        )[1],
        ""
    );
    let slice = json!({"metadata": metadata("web-x7k2p", 30), "addressType": "IPv4",
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"name": "metrics"}, {}],
        "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3", "10.0.0.4"]}]});
    assert_eq!(
        cells("EndpointSlice", slice),
        json!([
            "web-x7k2p",
            "IPv4",
            "80,metrics,*",
            "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...",
            "30s"
        ]),
    );
    let empty_slice = json!({"metadata": metadata("empty", 30), "addressType": "IPv6"});
    assert_eq!(
        cells("EndpointSlice", empty_slice),
        json!(["empty", "IPv6", "<unset>", "<unset>", "30s"])
    );
}

#[test]
fn ingress_and_network_policy_cells() {
    let ingress = json!({"metadata": metadata("web", 30), "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a.example.com"]}],
        "rules": [{"host": "a.example.com"}, {}, {"host": "b.example.com"}, {"host": "c.example.com"}, {"host": "d.example.com"}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}});
    assert_eq!(
        cells("Ingress", ingress),
        json!([
            "web",
            "nginx",
            "a.example.com,b.example.com,c.example.com + 2 more...",
            "203.0.113.7",
            "80, 443",
            "30s"
        ]),
    );
    let catch_all = json!({"metadata": metadata("all", 30), "spec": {"rules": [{}]}});
    assert_eq!(
        cells("Ingress", catch_all),
        json!(["all", "<none>", "*", "", "80", "30s"])
    );
    let class = json!({"metadata": metadata("nginx", 30), "spec": {"controller": "k8s.io/ingress-nginx",
        "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}}});
    assert_eq!(
        cells("IngressClass", class),
        json!([
            "nginx",
            "k8s.io/ingress-nginx",
            "IngressParameters.k8s.example.com/external-lb",
            "30s"
        ]),
    );
    let policy = json!({"metadata": metadata("deny", 30), "spec": {"podSelector": {}}});
    assert_eq!(
        cells("NetworkPolicy", policy),
        json!(["deny", "<none>", "30s"])
    );
}
