//! Service addresses, allocated as kube-apiserver's service storage allocates them: a
//! ClusterIP from `--service-cluster-ip-range` for every service but an ExternalName or a
//! headless one, and a node port from `--service-node-port-range` for each port of a
//! NodePort or LoadBalancer service.
//!
//! Each address held is a key of its own in the store (kube 1.33 keeps an `IPAddress`
//! object per ClusterIP the same way): it is created in the transaction that writes the
//! service, guarded on being absent, so two services can never hold one address, and it
//! is deleted in the transaction that deletes the service or lets the address go. A random
//! pick that another writer took first is picked again (`Call::chosen_addresses` tells the
//! gateway's picks from the user's); an address the user chose that is taken is refused.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::ops::RangeInclusive;
use std::str::FromStr;

use serde_json::{json, Map, Value};

use super::calls::GuardedWrite;
use crate::store::{DeleteRequest, KeySpan, TxnOp, TxnOpResponse};
use kactor_kube::status::Cause;

/// kubeadm's default `--service-cluster-ip-range`.
pub const DEFAULT_CLUSTER_IP_RANGE: &str = "10.96.0.0/12";
/// kube-apiserver's default `--service-node-port-range`.
pub const DEFAULT_NODE_PORTS: RangeInclusive<u16> = 30000..=32767;
/// kube-apiserver refuses a ClusterIP range wider than a /12 (its allocator's size).
pub const CLUSTER_IP_PREFIX_SHORTEST: u8 = 12;
/// A range must leave room for a few services: a /28 has 14 usable addresses.
pub const CLUSTER_IP_PREFIX_LONGEST: u8 = 28;
/// kube's static band (`calculateRangeOffset`): the lowest `min(max(16, size / 16), 256)`
/// addresses of a range are left to users who choose their ClusterIP (the `kubernetes`
/// service takes the first), and random picks come from above them; a range of 16
/// addresses or fewer has no band.
const STATIC_BAND_MIN: u32 = 16;
const STATIC_BAND_MAX: u32 = 256;

/// Where the ClusterIPs held are kept; the value is the holding service's key.
const CLUSTER_IP_KEYS: &str = "/registry/kactor/serviceips/";
/// Where the node ports held are kept; the value is the holding service's key.
const NODE_PORT_KEYS: &str = "/registry/kactor/servicenodeports/";

/// An IPv4 prefix, `10.96.0.0/12`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ipv4Range {
    network: u32,
    prefix: u8,
}

impl Ipv4Range {
    fn size(&self) -> u32 {
        1 << (32 - self.prefix)
    }

    fn offset_of(&self, ip: Ipv4Addr) -> Option<u32> {
        let offset = u32::from(ip).wrapping_sub(self.network);
        (offset < self.size()).then_some(offset)
    }

    /// An address a service may hold: inside the range, and neither the network address
    /// nor the broadcast address (kube reserves both).
    pub fn usable(&self, ip: Ipv4Addr) -> bool {
        self.offset_of(ip)
            .is_some_and(|offset| offset != 0 && offset != self.size() - 1)
    }

    /// The range's first usable address: the `kubernetes` service's in kube.
    pub fn first(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.network + 1)
    }

    /// The offsets random picks come from: above the static band (and the network
    /// address), below the broadcast. Never empty: the longest prefix leaves 14 addresses.
    fn dynamic_offsets(&self) -> RangeInclusive<u32> {
        let band = match self.size() <= STATIC_BAND_MIN {
            true => 1,
            false => (self.size() / 16).clamp(STATIC_BAND_MIN, STATIC_BAND_MAX),
        };
        let offsets = band..=self.size() - 2;
        assert!(!offsets.is_empty(), "a range has room above its band");
        offsets
    }
}

impl FromStr for Ipv4Range {
    type Err = String;

    fn from_str(text: &str) -> Result<Ipv4Range, String> {
        let (address, prefix) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not a CIDR (address/prefix)"))?;
        let address: Ipv4Addr = address
            .parse()
            .map_err(|_| format!("{address:?} is not an IPv4 address"))?;
        let prefix: u8 = prefix
            .parse()
            .map_err(|_| format!("{prefix:?} is not a prefix length"))?;
        let allowed = CLUSTER_IP_PREFIX_SHORTEST..=CLUSTER_IP_PREFIX_LONGEST;
        if !allowed.contains(&prefix) {
            return Err(format!(
                "a service ClusterIP range must be a /{CLUSTER_IP_PREFIX_SHORTEST} to a /{CLUSTER_IP_PREFIX_LONGEST}, not a /{prefix}"
            ));
        }
        let mask = u32::MAX << (32 - prefix);
        Ok(Ipv4Range {
            network: u32::from(address) & mask,
            prefix,
        })
    }
}

impl fmt::Display for Ipv4Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.network), self.prefix)
    }
}

/// The address ranges services draw from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServiceRanges {
    pub cluster_ips: Ipv4Range,
    pub node_ports: RangeInclusive<u16>,
}

impl Default for ServiceRanges {
    fn default() -> ServiceRanges {
        ServiceRanges {
            cluster_ips: DEFAULT_CLUSTER_IP_RANGE.parse().expect("a valid range"),
            node_ports: DEFAULT_NODE_PORTS,
        }
    }
}

/// Parses `--service-node-port-range`: `30000-32767`.
pub fn parse_port_range(text: &str) -> Result<RangeInclusive<u16>, String> {
    let parsed = text.split_once('-').and_then(|(low, high)| {
        let (low, high) = (
            low.trim().parse::<u16>().ok()?,
            high.trim().parse::<u16>().ok()?,
        );
        (0 < low && low <= high).then_some(low..=high)
    });
    parsed.ok_or_else(|| format!("{text:?} is not a port range (low-high)"))
}

fn spec(service: &Value) -> Option<&Map<String, Value>> {
    service.get("spec").and_then(Value::as_object)
}

fn service_type(service: &Value) -> &str {
    spec(service)
        .and_then(|spec| spec.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("ClusterIP")
}

fn needs_cluster_ip(service: &Value) -> bool {
    service_type(service) != "ExternalName"
}

fn needs_node_ports(service: &Value) -> bool {
    match service_type(service) {
        "NodePort" => true,
        "LoadBalancer" => {
            spec(service)
                .and_then(|spec| spec.get("allocateLoadBalancerNodePorts"))
                .and_then(Value::as_bool)
                != Some(false)
        }
        _ => false,
    }
}

fn cluster_ip(service: &Value) -> &str {
    spec(service)
        .and_then(|spec| spec.get("clusterIP"))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Each port's nodePort (0: none).
fn node_ports(service: &Value) -> Vec<u16> {
    let ports = spec(service).and_then(|spec| spec.get("ports"));
    let ports = ports.and_then(Value::as_array).map(Vec::as_slice);
    let port = |p: &Value| p.get("nodePort").and_then(Value::as_u64).unwrap_or(0);
    ports
        .unwrap_or_default()
        .iter()
        .map(|p| u16::try_from(port(p)).unwrap_or(0))
        .collect()
}

fn port_name(service: &Value, index: usize) -> String {
    let port = &service["spec"]["ports"][index];
    port["name"].as_str().unwrap_or_default().to_string()
}

fn ip_key(ip: &str) -> Vec<u8> {
    format!("{CLUSTER_IP_KEYS}{ip}").into_bytes()
}

fn port_key(port: u16) -> Vec<u8> {
    format!("{NODE_PORT_KEYS}{port}").into_bytes()
}

/// The keys of the addresses a service holds.
pub(crate) fn held(service: Option<&Value>) -> BTreeSet<Vec<u8>> {
    let Some(service) = service else {
        return BTreeSet::new();
    };
    let mut keys = BTreeSet::new();
    if needs_cluster_ip(service) && cluster_ip(service).parse::<Ipv4Addr>().is_ok() {
        keys.insert(ip_key(cluster_ip(service)));
    }
    keys.extend(
        node_ports(service)
            .into_iter()
            .filter(|&p| p != 0)
            .map(port_key),
    );
    keys
}

/// kube's `dropTypeDependentFields`: a service that changes to a type that no longer
/// needs a ClusterIP, node ports, a health check node port, `allocateLoadBalancerNodePorts`,
/// a `loadBalancerClass` or an `externalTrafficPolicy` loses the values it had, unless the
/// update changed them too (then validation speaks). Runs before validation, which refuses
/// e.g. a nodePort on a ClusterIP service.
pub(crate) fn drop_type_dependent_fields(old: &Value, new: &mut Value) {
    let old_spec = spec(old).cloned().unwrap_or_default();
    let new_spec = spec(new).cloned().unwrap_or_default();
    let same = |field: &str| old_spec.get(field) == new_spec.get(field);
    let is_load_balancer = |service: &Value| service_type(service) == "LoadBalancer";
    let externally_accessible = |service: &Value| {
        matches!(service_type(service), "NodePort" | "LoadBalancer")
            || spec(service)
                .and_then(|spec| spec.get("externalIPs"))
                .and_then(Value::as_array)
                .is_some_and(|ips| !ips.is_empty())
    };
    let needs_health_check_port = |service: &Value| {
        is_load_balancer(service)
            && spec(service).and_then(|spec| spec.get("externalTrafficPolicy"))
                == Some(&json!("Local"))
    };
    let mut dropped: Vec<&str> = Vec::new();
    if needs_cluster_ip(old) && !needs_cluster_ip(new) {
        if same("clusterIP") && same("clusterIPs") {
            dropped.extend(["clusterIP", "clusterIPs"]);
        }
        dropped.extend(
            ["ipFamilies", "ipFamilyPolicy"]
                .into_iter()
                .filter(|f| same(f)),
        );
    }
    if needs_health_check_port(old) && !needs_health_check_port(new) && same("healthCheckNodePort")
    {
        dropped.push("healthCheckNodePort");
    }
    if is_load_balancer(old) && !is_load_balancer(new) {
        dropped.extend(
            ["allocateLoadBalancerNodePorts", "loadBalancerClass"]
                .into_iter()
                .filter(|f| same(f)),
        );
    }
    if externally_accessible(old) && !externally_accessible(new) && same("externalTrafficPolicy") {
        dropped.push("externalTrafficPolicy");
    }
    let drop_node_ports =
        needs_node_ports(old) && !needs_node_ports(new) && node_ports(old) == node_ports(new);
    let Some(spec) = new.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    for field in dropped {
        spec.remove(field);
    }
    if drop_node_ports {
        let ports = spec.get_mut("ports").and_then(Value::as_array_mut);
        for port in ports.into_iter().flatten().filter_map(Value::as_object_mut) {
            port.remove("nodePort");
        }
    }
}

/// A deterministic stream of picks: splitmix64, seeded by the call (its entropy and the
/// attempt), so a model check replays the same addresses.
struct Picks(u64);

impl Picks {
    fn next(&mut self, range: RangeInclusive<u32>) -> u32 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let span = u64::from(range.end() - range.start()) + 1;
        range.start() + u32::try_from(z % span).expect("below a u32 span")
    }
}

/// Fills in the addresses a service needs and does not have: its ClusterIP (copied from
/// the old object on an update that left it out, as kube's `patchAllocatedValues` does,
/// else a random pick) and its node ports (likewise, matched by port name). Returns the
/// keys of the gateway's picks; an address the user chose outside the ranges is refused.
pub(crate) fn assign(
    ranges: &ServiceRanges,
    old: Option<&Value>,
    new: &mut Value,
    seed: u64,
) -> Result<BTreeSet<Vec<u8>>, Vec<Cause>> {
    let mut picks = Picks(seed);
    let mut chosen = BTreeSet::new();
    let mut causes = Vec::new();
    let held_before = held(old);
    if needs_cluster_ip(new) {
        let ip = match (cluster_ip(new), old) {
            ("", Some(old)) if needs_cluster_ip(old) && !cluster_ip(old).is_empty() => {
                cluster_ip(old).to_string()
            }
            ("", _) => {
                let offset = picks.next(ranges.cluster_ips.dynamic_offsets());
                let ip = Ipv4Addr::from(ranges.cluster_ips.network + offset).to_string();
                chosen.insert(ip_key(&ip));
                ip
            }
            (given, _) => given.to_string(),
        };
        let outside = ip
            .parse::<Ipv4Addr>()
            .map(|parsed| !ranges.cluster_ips.usable(parsed))
            .unwrap_or(ip != "None");
        if outside && !held_before.contains(&ip_key(&ip)) {
            causes.push(Cause::invalid(
                "spec.clusterIPs",
                &format!("[]string{{{ip:?}}}"),
                &format!(
                    "failed to allocate IP {ip}: the provided IP ({ip}) is not in the valid range. The range of valid IPs is {}",
                    ranges.cluster_ips
                ),
            ));
        }
        let spec = new["spec"].as_object_mut();
        if let Some(spec) = spec {
            spec.insert("clusterIP".into(), json!(ip));
            spec.insert("clusterIPs".into(), json!([ip]));
        }
    }
    if needs_node_ports(new) {
        let old_ports: Vec<(String, u16)> = match old.filter(|old| needs_node_ports(old)) {
            Some(old) => node_ports(old)
                .into_iter()
                .enumerate()
                .map(|(i, port)| (port_name(old, i), port))
                .collect(),
            None => Vec::new(),
        };
        let mut taken: BTreeSet<u16> = node_ports(new).into_iter().filter(|&p| p != 0).collect();
        let first = u32::from(*ranges.node_ports.start());
        let last = u32::from(*ranges.node_ports.end());
        for (index, given) in node_ports(new).into_iter().enumerate() {
            let port = match given {
                0 => {
                    let name = port_name(new, index);
                    let kept = old_ports
                        .iter()
                        .find(|(old_name, p)| *old_name == name && *p != 0 && !taken.contains(p));
                    match kept {
                        Some(&(_, port)) => port,
                        None => {
                            // A random start, then the next port this service does not use.
                            let start = picks.next(first..=last);
                            let free = (0..=last - first)
                                .map(|step| first + (start - first + step) % (last - first + 1))
                                .map(|p| u16::try_from(p).expect("a port"))
                                .find(|p| !taken.contains(p));
                            let Some(port) = free else { break };
                            chosen.insert(port_key(port));
                            port
                        }
                    }
                }
                given => {
                    if !ranges.node_ports.contains(&given)
                        && !held_before.contains(&port_key(given))
                    {
                        causes.push(Cause::invalid(
                            &format!("spec.ports[{index}].nodePort"),
                            &given.to_string(),
                            &format!(
                                "provided port is not in the valid range. The range of valid ports is {}-{}",
                                ranges.node_ports.start(),
                                ranges.node_ports.end()
                            ),
                        ));
                    }
                    given
                }
            };
            taken.insert(port);
            new["spec"]["ports"][index]["nodePort"] = json!(port);
        }
    }
    match causes.is_empty() {
        true => Ok(chosen),
        false => Err(causes),
    }
}

/// What a write of `new` over `old` does to the addresses: the ones newly held are claimed
/// (created, guarded on being absent), the ones let go are deleted.
pub(crate) fn claims(
    old: Option<&Value>,
    new: Option<&Value>,
    service_key: &[u8],
) -> (Vec<GuardedWrite>, Vec<TxnOp>) {
    let (before, after) = (held(old), held(new));
    let claimed = after.difference(&before).map(|key| GuardedWrite {
        key: key.clone(),
        mod_revision: 0,
        value: service_key.to_vec(),
    });
    let released = before.difference(&after).map(|key| {
        TxnOp::Delete(DeleteRequest {
            span: KeySpan::Key(key.clone()),
            prev_kv: false,
        })
    });
    (claimed.collect(), released.collect())
}

/// The address keys a failed transaction found already held.
pub(crate) fn taken(responses: &[TxnOpResponse]) -> Vec<Vec<u8>> {
    let ranges = responses.iter().filter_map(|response| match response {
        TxnOpResponse::Range(range) => Some(range),
        _ => None,
    });
    ranges
        .flat_map(|range| &range.kvs)
        .map(|kv| kv.key.clone())
        .filter(|key| {
            key.starts_with(CLUSTER_IP_KEYS.as_bytes())
                || key.starts_with(NODE_PORT_KEYS.as_bytes())
        })
        .collect()
}

/// kube's refusal of an address the user chose that another service holds.
pub(crate) fn already_allocated(service: &Value, key: &[u8]) -> Cause {
    let key = String::from_utf8_lossy(key);
    if let Some(ip) = key.strip_prefix(CLUSTER_IP_KEYS) {
        return Cause::invalid(
            "spec.clusterIPs",
            &format!("[]string{{{ip:?}}}"),
            &format!("failed to allocate IP {ip}: provided IP is already allocated"),
        );
    }
    let port = key.strip_prefix(NODE_PORT_KEYS).unwrap_or_default();
    let index = node_ports(service)
        .iter()
        .position(|p| p.to_string() == port)
        .unwrap_or(0);
    Cause::invalid(
        &format!("spec.ports[{index}].nodePort"),
        port,
        "provided port is already allocated",
    )
}

/// kube's answer when random picks keep landing on held addresses.
pub(crate) fn range_full(key: &[u8]) -> String {
    let what = match key.starts_with(CLUSTER_IP_KEYS.as_bytes()) {
        true => "serviceIP",
        false => "nodePort",
    };
    format!("Internal error occurred: failed to allocate a {what}: range is full")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(spec: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": spec})
    }

    #[test]
    fn every_allowed_range_has_room_for_random_picks() {
        for prefix in CLUSTER_IP_PREFIX_SHORTEST..=CLUSTER_IP_PREFIX_LONGEST {
            let range: Ipv4Range = format!("10.96.0.0/{prefix}").parse().unwrap();
            let offsets = range.dynamic_offsets();
            assert!(
                *offsets.start() >= 1 && *offsets.end() == range.size() - 2,
                "/{prefix}"
            );
            let mut picks = Picks(prefix.into());
            for _ in 0..100 {
                let ip = Ipv4Addr::from(range.network + picks.next(offsets.clone()));
                assert!(range.usable(ip), "/{prefix}: {ip}");
            }
        }
        let tiny: Ipv4Range = "10.0.0.0/28".parse().unwrap();
        assert_eq!(tiny.dynamic_offsets(), 1..=14);
    }

    #[test]
    fn ranges_parse_as_kube_flags_are_written() {
        let range: Ipv4Range = "10.96.0.0/12".parse().unwrap();
        assert_eq!(range.to_string(), "10.96.0.0/12");
        assert_eq!(range.first(), Ipv4Addr::new(10, 96, 0, 1));
        assert!(range.usable("10.111.255.254".parse().unwrap()));
        assert!(
            !range.usable("10.111.255.255".parse().unwrap()),
            "broadcast"
        );
        assert!(!range.usable("10.96.0.0".parse().unwrap()), "network");
        assert!(!range.usable("10.112.0.1".parse().unwrap()));
        assert_eq!(
            "10.96.3.4/24".parse::<Ipv4Range>().unwrap().to_string(),
            "10.96.3.0/24"
        );
        for bad in [
            "10.96.0.0",
            "10.96.0.0/8",
            "10.96.0.0/30",
            "x/12",
            "10.96.0.0/y",
        ] {
            assert!(bad.parse::<Ipv4Range>().is_err(), "{bad}");
        }
        assert_eq!(parse_port_range("30000-32767"), Ok(30000..=32767));
        for bad in ["30000", "2-1", "0-5", "a-b"] {
            assert!(parse_port_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_new_service_gets_a_cluster_ip_above_the_static_band_and_its_node_ports() {
        let ranges = ServiceRanges::default();
        let mut web = service(json!({"type": "NodePort", "ports": [
            {"name": "http", "port": 80}, {"name": "https", "port": 443, "nodePort": 30443}]}));
        let chosen = assign(&ranges, None, &mut web, 7).unwrap();
        let ip: Ipv4Addr = web["spec"]["clusterIP"].as_str().unwrap().parse().unwrap();
        assert!(ranges.cluster_ips.usable(ip));
        assert!(u32::from(ip) - u32::from(Ipv4Addr::new(10, 96, 0, 0)) >= 256);
        assert_eq!(web["spec"]["clusterIPs"], json!([ip.to_string()]));
        let port = web["spec"]["ports"][0]["nodePort"].as_u64().unwrap();
        assert!((30000..=32767).contains(&port) && port != 30443);
        assert_eq!(web["spec"]["ports"][1]["nodePort"], 30443);
        // The picks are the gateway's; the user's port is not.
        assert_eq!(
            chosen,
            BTreeSet::from([ip_key(&ip.to_string()), port_key(port as u16)])
        );
        assert_eq!(held(Some(&web)).len(), 3);
        // Another seed picks elsewhere; the same seed picks the same.
        let mut again =
            service(json!({"type": "NodePort", "ports": [{"name": "http", "port": 80}]}));
        assign(&ranges, None, &mut again, 7).unwrap();
        assert_eq!(again["spec"]["clusterIP"], web["spec"]["clusterIP"]);
        let mut other = service(json!({"ports": [{"port": 80}]}));
        assign(&ranges, None, &mut other, 8).unwrap();
        assert_ne!(other["spec"]["clusterIP"], web["spec"]["clusterIP"]);
    }

    #[test]
    fn headless_and_external_name_services_hold_no_ip() {
        let ranges = ServiceRanges::default();
        let mut headless = service(json!({"clusterIP": "None", "ports": [{"port": 80}]}));
        assert!(assign(&ranges, None, &mut headless, 1).unwrap().is_empty());
        assert_eq!(headless["spec"]["clusterIPs"], json!(["None"]));
        assert!(held(Some(&headless)).is_empty());
        let mut external = service(json!({"type": "ExternalName", "externalName": "example.com"}));
        assert!(assign(&ranges, None, &mut external, 1).unwrap().is_empty());
        assert!(external["spec"].get("clusterIP").is_none());
    }

    #[test]
    fn addresses_outside_the_ranges_are_refused_as_kube_refuses_them() {
        let ranges = ServiceRanges::default();
        let mut web = service(json!({"type": "NodePort", "clusterIP": "192.168.0.1",
            "ports": [{"port": 80, "nodePort": 80}]}));
        let causes = assign(&ranges, None, &mut web, 1).unwrap_err();
        let messages: Vec<String> = causes.iter().map(|c| c.message.clone()).collect();
        assert_eq!(messages, [
            "Invalid value: []string{\"192.168.0.1\"}: failed to allocate IP 192.168.0.1: the provided IP (192.168.0.1) is not in the valid range. The range of valid IPs is 10.96.0.0/12",
            "Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767",
        ]);
    }

    #[test]
    fn an_update_keeps_what_it_holds_and_a_type_change_lets_it_go() {
        let ranges = ServiceRanges::default();
        let mut old = service(json!({"type": "NodePort", "ports": [{"name": "http", "port": 80}]}));
        assign(&ranges, None, &mut old, 3).unwrap();
        // A replace without the allocated values gets them back.
        let mut replaced =
            service(json!({"type": "NodePort", "ports": [{"name": "http", "port": 8080}]}));
        assert!(assign(&ranges, Some(&old), &mut replaced, 4)
            .unwrap()
            .is_empty());
        assert_eq!(held(Some(&replaced)), held(Some(&old)));
        let (claimed, released) = claims(Some(&old), Some(&replaced), b"k");
        assert!(claimed.is_empty() && released.is_empty());
        // To ClusterIP: the node port goes, the ClusterIP stays.
        let mut cluster = old.clone();
        cluster["spec"]["type"] = json!("ClusterIP");
        drop_type_dependent_fields(&old, &mut cluster);
        assign(&ranges, Some(&old), &mut cluster, 5).unwrap();
        assert!(cluster["spec"]["ports"][0].get("nodePort").is_none());
        assert_eq!(cluster["spec"]["clusterIP"], old["spec"]["clusterIP"]);
        let (claimed, released) = claims(Some(&old), Some(&cluster), b"k");
        assert!(claimed.is_empty());
        assert_eq!(released.len(), 1);
        // To ExternalName: the ClusterIP goes too.
        let mut external = cluster.clone();
        external["spec"]["type"] = json!("ExternalName");
        external["spec"]["externalName"] = json!("example.com");
        drop_type_dependent_fields(&cluster, &mut external);
        assert!(external["spec"].get("clusterIP").is_none());
        assert!(held(Some(&external)).is_empty());
        // A deletion lets go of everything; a creation claims everything, guarded.
        let (claimed, released) = claims(None, Some(&old), b"/registry/core/services/d/web");
        assert_eq!((claimed.len(), released.len()), (2, 0));
        assert!(claimed.iter().all(|c| c.mod_revision == 0));
        let (claimed, released) = claims(Some(&old), None, b"k");
        assert_eq!((claimed.len(), released.len()), (0, 2));
    }

    #[test]
    fn a_taken_address_is_named_as_kube_names_it() {
        let web = service(json!({"type": "NodePort", "ports": [
            {"port": 80, "nodePort": 30080}, {"port": 81, "nodePort": 30081}]}));
        let ip = already_allocated(&web, &ip_key("10.96.0.10"));
        assert_eq!(ip.field, "spec.clusterIPs");
        assert_eq!(
            ip.message,
            "Invalid value: []string{\"10.96.0.10\"}: failed to allocate IP 10.96.0.10: provided IP is already allocated"
        );
        let port = already_allocated(&web, &port_key(30081));
        assert_eq!(port.field, "spec.ports[1].nodePort");
        assert_eq!(
            port.message,
            "Invalid value: 30081: provided port is already allocated"
        );
        assert_eq!(
            range_full(&ip_key("10.96.0.10")),
            "Internal error occurred: failed to allocate a serviceIP: range is full"
        );
    }
}
