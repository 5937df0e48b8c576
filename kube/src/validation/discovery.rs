//! discovery.k8s.io/v1: EndpointSlice.

use std::collections::BTreeSet;
use std::net::IpAddr;

use k8s_openapi::api::discovery::v1 as discovery;
use serde_json::Value;

use crate::selector::{validate_dns1123_label, validate_dns1123_subdomain};
use crate::status::Cause;

use super::common::{
    check_name, child, index, one_of, quoted, too_many, typed, PORT_MAX, PROTOCOLS,
};

/// EndpointSlices are meant to stay small enough to watch cheaply.
pub(super) const ENDPOINTSLICE_ENDPOINTS_LIMIT: usize = 1000;
/// One endpoint is one backend; its addresses are that backend's IPs.
const ENDPOINT_ADDRESSES_LIMIT: usize = 100;
/// Ports per EndpointSlice, as discovery/v1 validation bounds them.
const ENDPOINTSLICE_PORTS_LIMIT: usize = 20000;

pub(super) fn validate_endpoint_slice(object: &Value, causes: &mut Vec<Cause>) {
    let Some(slice) = typed::<discovery::EndpointSlice>(object, causes) else {
        return;
    };
    let address_type = slice.address_type.as_str();
    if address_type.is_empty() {
        causes.push(Cause::required("addressType"));
    } else {
        one_of(
            "addressType",
            Some(address_type),
            &["FQDN", "IPv4", "IPv6"],
            causes,
        );
    }
    if slice.endpoints.len() > ENDPOINTSLICE_ENDPOINTS_LIMIT {
        causes.push(too_many(
            "endpoints",
            slice.endpoints.len(),
            ENDPOINTSLICE_ENDPOINTS_LIMIT,
        ));
    }
    for (position, endpoint) in slice.endpoints.iter().enumerate() {
        validate_slice_endpoint(
            endpoint,
            address_type,
            &index("endpoints", position),
            causes,
        );
    }
    let ports = slice.ports.unwrap_or_default();
    if ports.len() > ENDPOINTSLICE_PORTS_LIMIT {
        causes.push(too_many("ports", ports.len(), ENDPOINTSLICE_PORTS_LIMIT));
    }
    let mut names = BTreeSet::new();
    for (position, port) in ports.iter().enumerate() {
        let entry = index("ports", position);
        let name = port.name.as_deref().unwrap_or_default();
        if !name.is_empty() {
            check_name(&child(&entry, "name"), name, validate_dns1123_label, causes);
        }
        if !names.insert(name) {
            causes.push(Cause::duplicate(&child(&entry, "name"), &quoted(name)));
        }
        if let Some(number) = port
            .port
            .filter(|number| !(0..=PORT_MAX).contains(&i64::from(*number)))
        {
            causes.push(Cause::invalid(
                &child(&entry, "port"),
                &number.to_string(),
                "must be between 0 and 65535, inclusive",
            ));
        }
        one_of(
            &child(&entry, "protocol"),
            port.protocol.as_deref(),
            PROTOCOLS,
            causes,
        );
    }
}

fn validate_slice_endpoint(
    endpoint: &discovery::Endpoint,
    address_type: &str,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    let addresses_path = child(path, "addresses");
    if endpoint.addresses.is_empty() {
        causes.push(Cause {
            message: "Required value: must contain at least 1 address".into(),
            ..Cause::required(&addresses_path)
        });
    } else if endpoint.addresses.len() > ENDPOINT_ADDRESSES_LIMIT {
        causes.push(too_many(
            &addresses_path,
            endpoint.addresses.len(),
            ENDPOINT_ADDRESSES_LIMIT,
        ));
    }
    for (position, address) in endpoint.addresses.iter().enumerate() {
        let address_path = index(&addresses_path, position);
        let parsed = address.parse::<IpAddr>();
        let detail = match address_type {
            "IPv4" if !matches!(parsed, Ok(IpAddr::V4(_))) => Some("must be a valid IPv4 address"),
            "IPv6" if !matches!(parsed, Ok(IpAddr::V6(_))) => Some("must be a valid IPv6 address"),
            "FQDN" => validate_dns1123_subdomain(address.strip_suffix('.').unwrap_or(address))
                .err()
                .map(|_| "must be a valid fully qualified domain name"),
            _ => None,
        };
        if let Some(detail) = detail {
            causes.push(Cause::invalid(&address_path, &quoted(address), detail));
        }
    }
    if let Some(hostname) = endpoint.hostname.as_deref() {
        check_name(
            &child(path, "hostname"),
            hostname,
            validate_dns1123_label,
            causes,
        );
    }
    if let Some(node_name) = endpoint.node_name.as_deref() {
        check_name(
            &child(path, "nodeName"),
            node_name,
            validate_dns1123_subdomain,
            causes,
        );
    }
}
