//! Services' ClusterIPs and node ports: distinct, released, never shared or leaked.

use super::*;

fn node_port_service(name: &str, spec: Value) -> Value {
    let mut service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
        "spec": {"type": "NodePort", "selector": {"app": name}, "ports": [{"port": 80}]}});
    for (field, value) in spec.as_object().unwrap() {
        service["spec"][field] = value.clone();
    }
    service
}

fn addresses_of(service: &Value) -> (String, u64) {
    let ip = service["spec"]["clusterIP"].as_str().unwrap().to_string();
    (
        ip,
        service["spec"]["ports"][0]["nodePort"].as_u64().unwrap(),
    )
}

#[test]
fn services_hold_distinct_addresses_until_they_let_them_go() {
    let mut h = with_default_namespace();
    let services = |name: Option<&str>| path("", "services", Some("default"), name);
    let entropy = h.entropy;
    let (_, a) = h
        .call(create(
            "services",
            Some("default"),
            node_port_service("a", json!({})),
        ))
        .unwrap();
    let (a_ip, a_port) = addresses_of(&a);
    assert!(a_ip.starts_with("10."), "{a}");
    assert!((30000..=32767).contains(&a_port), "{a}");
    assert_eq!(a["spec"]["clusterIPs"], json!([a_ip]));
    // The same entropy picks the same addresses: the store refuses the second claim, and
    // the gateway picks again.
    h.entropy = entropy;
    let (_, b) = h
        .call(create(
            "services",
            Some("default"),
            node_port_service("b", json!({})),
        ))
        .unwrap();
    let (b_ip, b_port) = addresses_of(&b);
    assert_ne!((&b_ip, b_port), (&a_ip, a_port));
    assert!(b_ip != a_ip && b_port != a_port, "{a}\n{b}");
    // Addresses a user chooses that another service holds are refused, as kube words it.
    let wanted = json!({"clusterIP": a_ip, "ports": [{"port": 80, "nodePort": b_port}]});
    let error = h
        .call(create(
            "services",
            Some("default"),
            node_port_service("c", wanted.clone()),
        ))
        .unwrap_err();
    assert_eq!(error.code, 422);
    assert!(
        error.message.contains(&format!(
            "spec.clusterIPs: Invalid value: []string{{\"{a_ip}\"}}: failed to allocate IP {a_ip}: provided IP is already allocated"
        )) || error.message.contains(&format!(
            "spec.ports[0].nodePort: Invalid value: {b_port}: provided port is already allocated"
        )),
        "{}",
        error.message
    );
    // Deleting a lets its IP go; b changing to ClusterIP lets its node port go.
    h.call(ApiRequest::new(Verb::Delete, services(Some("a"))))
        .unwrap();
    let mut to_cluster_ip =
        ApiRequest::new(Verb::Patch(patch::PatchType::Merge), services(Some("b")));
    to_cluster_ip.body = br#"{"spec":{"type":"ClusterIP"}}"#.to_vec();
    let (_, b) = h.call(to_cluster_ip).unwrap();
    assert!(b["spec"]["ports"][0].get("nodePort").is_none(), "{b}");
    assert_eq!(b["spec"]["clusterIP"], json!(b_ip));
    let (_, c) = h
        .call(create(
            "services",
            Some("default"),
            node_port_service("c", wanted),
        ))
        .unwrap();
    assert_eq!(addresses_of(&c), (a_ip, b_port));
    // A replace that leaves the addresses out keeps them.
    let mut replace = node_port_service("c", json!({}));
    replace["metadata"]["resourceVersion"] = c["metadata"]["resourceVersion"].clone();
    let mut update = ApiRequest::new(Verb::Update, services(Some("c")));
    update.body = serde_json::to_vec(&replace).unwrap();
    let (_, replaced) = h.call(update).unwrap();
    assert_eq!(addresses_of(&replaced), addresses_of(&c));
    // Outside the ranges: refused.
    let outside = json!({"clusterIP": "192.168.1.1"});
    let error = h
        .call(create(
            "services",
            Some("default"),
            node_port_service("d", outside),
        ))
        .unwrap_err();
    assert!(
        error
            .message
            .contains("is not in the valid range. The range of valid IPs is 10.96.0.0/12"),
        "{}",
        error.message
    );
}

/// One step of the address property test: a service made, retyped or deleted.
#[derive(Clone, Debug)]
enum ServiceStep {
    Create {
        name: u8,
        kind: ServiceKind,
        cluster_ip: Option<u8>,
        node_port: Option<u8>,
    },
    Retype {
        name: u8,
        kind: ServiceKind,
    },
    Delete {
        name: u8,
    },
}

#[derive(Clone, Copy, Debug)]
enum ServiceKind {
    ClusterIp,
    NodePort,
    ExternalName,
    Headless,
}

fn service_step() -> impl proptest::strategy::Strategy<Value = ServiceStep> {
    use proptest::prelude::*;
    let kind = prop_oneof![
        Just(ServiceKind::ClusterIp),
        Just(ServiceKind::NodePort),
        Just(ServiceKind::ExternalName),
        Just(ServiceKind::Headless),
    ];
    prop_oneof![
        3 => (0..5u8, kind.clone(), proptest::option::of(1..15u8), proptest::option::of(0..8u8))
            .prop_map(|(name, kind, cluster_ip, node_port)| ServiceStep::Create { name, kind, cluster_ip, node_port }),
        1 => (0..5u8, kind).prop_map(|(name, kind)| ServiceStep::Retype { name, kind }),
        1 => (0..5u8).prop_map(|name| ServiceStep::Delete { name }),
    ]
}

fn service_of(name: u8, kind: ServiceKind, cluster_ip: Option<u8>, node_port: Option<u8>) -> Value {
    let mut spec = json!({"selector": {"app": "a"}, "ports": [{"port": 80}]});
    match kind {
        ServiceKind::ClusterIp => {}
        ServiceKind::NodePort => {
            spec["type"] = json!("NodePort");
            if let Some(port) = node_port {
                spec["ports"][0]["nodePort"] = json!(30000 + u32::from(port));
            }
        }
        ServiceKind::ExternalName => {
            spec = json!({"type": "ExternalName", "externalName": "example.com"});
        }
        ServiceKind::Headless => spec["clusterIP"] = json!("None"),
    }
    if let (Some(ip), ServiceKind::ClusterIp | ServiceKind::NodePort) = (cluster_ip, kind) {
        spec["clusterIP"] = json!(format!("10.96.0.{ip}"));
    }
    json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": format!("s{name}")}, "spec": spec})
}

/// The invariant: no two services hold one address, and the store's address keys are
/// exactly the addresses the services hold (none leaked, none missing).
fn check_addresses(h: &mut Harness) {
    let list = ApiRequest::new(Verb::List, path("", "services", Some("default"), None));
    let (_, listed) = h.call(list).unwrap();
    let services = listed["items"].as_array().unwrap().clone();
    let mut held = std::collections::BTreeSet::new();
    for service in &services {
        for key in allocation::held(Some(service)) {
            let key = String::from_utf8_lossy(&key).into_owned();
            assert!(held.insert(key.clone()), "two services hold {key}");
        }
    }
    let prefix = crate::store::KeySpan::Prefix(b"/registry/kactor/".to_vec());
    let stored = h
        .store
        .raft
        .machine
        .range(&crate::store::RangeRequest::latest(prefix))
        .unwrap();
    let stored: std::collections::BTreeSet<String> = stored
        .kvs
        .iter()
        .map(|kv| String::from_utf8_lossy(&kv.key).into_owned())
        .collect();
    assert_eq!(
        stored, held,
        "the store's address keys are the services' addresses"
    );
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 32, ..Default::default() })]

    /// In ranges small enough that picks collide (14 ClusterIPs, 8 node ports), whatever
    /// services are made, retyped and deleted, no address is shared or leaked.
    #[test]
    fn services_never_share_or_leak_an_address(steps in proptest::collection::vec(service_step(), 1..14)) {
        let mut h = Harness::new(|config| {
            config.service_ranges = allocation::ServiceRanges {
                cluster_ips: "10.96.0.0/28".parse().unwrap(),
                node_ports: 30000..=30007,
            };
        });
        h.tick(1);
        for step in steps {
            let _ = match step {
                ServiceStep::Create { name, kind, cluster_ip, node_port } => {
                    let body = service_of(name, kind, cluster_ip, node_port);
                    h.call(create("services", Some("default"), body))
                }
                ServiceStep::Retype { name, kind } => {
                    let mut request = ApiRequest::new(
                        Verb::Patch(patch::PatchType::Merge),
                        path("", "services", Some("default"), Some(&format!("s{name}"))),
                    );
                    let spec = service_of(name, kind, None, None)["spec"].clone();
                    request.body = serde_json::to_vec(&json!({"spec": {"type": spec["type"].clone()}})).unwrap();
                    h.call(request)
                }
                ServiceStep::Delete { name } => {
                    let name = format!("s{name}");
                    h.call(ApiRequest::new(Verb::Delete, path("", "services", Some("default"), Some(&name))))
                }
            };
            check_addresses(&mut h);
        }
    }
}
