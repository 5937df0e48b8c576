//! Service, Endpoints and EndpointSlice rules.

use super::*;

// ---- Services and endpoints ---------------------------------------------------------

#[test]
fn documented_services_are_valid() {
    assert_valid("v1", "Service", &service());
    let external = json!({"metadata": {"name": "my-service", "namespace": "prod"},
        "spec": {"type": "ExternalName", "externalName": "my.database.example.com"}});
    assert_valid("v1", "Service", &external);
    let headless = json!({"metadata": {"name": "nginx", "namespace": "default"},
        "spec": {"clusterIP": "None", "selector": {"app": "nginx"}}});
    assert_valid("v1", "Service", &headless);
    let node_port = json!({"metadata": {"name": "my-service", "namespace": "default"},
        "spec": {"type": "NodePort", "selector": {"app": "MyApp"},
            "ports": [{"port": 80, "targetPort": 80, "nodePort": 30007}]}});
    assert_valid("v1", "Service", &node_port);
    let endpoints = json!({"metadata": {"name": "my-service", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "192.0.2.42"}], "ports": [{"port": 9376}]}]});
    assert_valid("v1", "Endpoints", &endpoints);
}

#[test]
fn service_port_rules() {
    let two = json!([{"port": 80}, {"port": 443}]);
    let same = json!([{"name": "web", "port": 80}, {"name": "web", "port": 443}]);
    let clash = json!([{"name": "a", "port": 80}, {"name": "b", "port": 80}]);
    let edits = [
        ("spec.ports", Value::Null, "spec.ports", REQUIRED),
        ("spec.ports.0.port", json!(0), "spec.ports[0].port", INVALID),
        (
            "spec.ports.0.targetPort",
            json!(70000),
            "spec.ports[0].targetPort",
            INVALID,
        ),
        (
            "spec.ports.0.targetPort",
            json!("HTTP_PORT"),
            "spec.ports[0].targetPort",
            INVALID,
        ),
        (
            "spec.ports.0.protocol",
            json!("ICMP"),
            "spec.ports[0].protocol",
            NOT_SUPPORTED,
        ),
        (
            "spec.ports.0.nodePort",
            json!(30001),
            "spec.ports[0].nodePort",
            FORBIDDEN,
        ),
        ("spec.ports", two, "spec.ports[0].name", REQUIRED),
        ("spec.ports", same, "spec.ports[1].name", DUPLICATE),
        ("spec.ports", clash, "spec.ports[1]", DUPLICATE),
    ];
    assert_edits("v1", "Service", &service(), &edits);
}

#[test]
fn service_rules() {
    let external =
        json!({"type": "ExternalName", "externalName": "Not A Host", "clusterIP": "10.0.0.1"});
    let edits = [
        ("spec.type", json!("Ingress"), "spec.type", NOT_SUPPORTED),
        (
            "spec.clusterIP",
            json!("10.0.0.300"),
            "spec.clusterIPs[0]",
            INVALID,
        ),
        (
            "spec.sessionAffinity",
            json!("Cookie"),
            "spec.sessionAffinity",
            NOT_SUPPORTED,
        ),
        (
            "spec.externalTrafficPolicy",
            json!("Local"),
            "spec.externalTrafficPolicy",
            INVALID,
        ),
        (
            "spec.ipFamilyPolicy",
            json!("DualStack"),
            "spec.ipFamilyPolicy",
            NOT_SUPPORTED,
        ),
        (
            "spec.selector",
            json!({"app": "a b"}),
            "spec.selector",
            INVALID,
        ),
        ("spec", external.clone(), "spec.externalName", INVALID),
        ("spec", external, "spec.clusterIP", FORBIDDEN),
    ];
    assert_edits("v1", "Service", &service(), &edits);
}

#[test]
fn service_update_rules() {
    let old = with(service(), "spec.clusterIP", json!("10.96.0.10"));
    let moved = with(old.clone(), "spec.clusterIP", json!("10.96.0.11"));
    assert!(has(
        &validate_update("v1", "Service", &moved, &old),
        "spec.clusterIPs[0]",
        "FieldValueInvalid"
    ));
    let omitted = service();
    assert!(validate_update("v1", "Service", &omitted, &old).is_empty());
    let retargeted = with(old.clone(), "spec.ports.0.targetPort", json!(8080));
    assert!(validate_update("v1", "Service", &retargeted, &old).is_empty());
}

#[test]
fn endpoints_rules() {
    let endpoints = json!({"metadata": {"name": "svc", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "not-an-ip"}], "ports": [{"port": 80}, {"port": 81, "protocol": "TCP"}]}]});
    assert_cause(
        "v1",
        "Endpoints",
        &endpoints,
        "subsets[0].addresses[0].ip",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        "Endpoints",
        &endpoints,
        "subsets[0].ports[0].name",
        "FieldValueRequired",
    );
    let empty = with(endpoints, "subsets.0", json!({"ports": [{"port": 80}]}));
    assert_cause(
        "v1",
        "Endpoints",
        &empty,
        "subsets[0]",
        "FieldValueRequired",
    );
}

#[test]
fn endpoint_slice_rules() {
    let slice = json!({
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": "example-abc", "namespace": "default", "labels": {"kubernetes.io/service-name": "example"}},
        "addressType": "IPv4",
        "ports": [{"name": "http", "protocol": "TCP", "port": 80}],
        "endpoints": [{"addresses": ["10.1.2.3"], "conditions": {"ready": true}, "hostname": "pod-1", "nodeName": "node-1", "zone": "us-west2-a"}],
    });
    assert_valid("discovery.k8s.io/v1", "EndpointSlice", &slice);
    let kind = "EndpointSlice";
    let group = "discovery.k8s.io/v1";
    assert_cause(
        group,
        kind,
        &with(slice.clone(), "addressType", json!("IPv5")),
        "addressType",
        "FieldValueNotSupported",
    );
    assert_cause(
        group,
        kind,
        &with(slice.clone(), "endpoints.0.addresses", json!([])),
        "endpoints[0].addresses",
        "FieldValueRequired",
    );
    assert_cause(
        group,
        kind,
        &with(slice.clone(), "endpoints.0.addresses", json!(["fe80::1"])),
        "endpoints[0].addresses[0]",
        "FieldValueInvalid",
    );
    assert_cause(
        group,
        kind,
        &with(slice.clone(), "ports.0.name", json!("HTTP")),
        "ports[0].name",
        "FieldValueInvalid",
    );
    assert_cause(
        group,
        kind,
        &with(slice.clone(), "ports.0.protocol", json!("QUIC")),
        "ports[0].protocol",
        "FieldValueNotSupported",
    );
    let many = json!(vec![
        json!({"addresses": ["10.0.0.1"]});
        ENDPOINTSLICE_ENDPOINTS_LIMIT + 1
    ]);
    assert_cause(
        group,
        kind,
        &with(slice.clone(), "endpoints", many),
        "endpoints",
        "FieldValueTooMany",
    );
    let retyped = with(slice.clone(), "addressType", json!("IPv6"));
    let retyped = with(retyped, "endpoints.0.addresses", json!(["fe80::1"]));
    assert!(has(
        &validate_update(group, kind, &retyped, &slice),
        "addressType",
        "FieldValueInvalid"
    ));
}
