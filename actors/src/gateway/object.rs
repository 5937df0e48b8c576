//! Objects as the gateway handles them: JSON values with Kubernetes' metadata rules, the
//! store keys they live under, and the typed round trip that makes a manifest's shape
//! exactly Kubernetes' (unknown fields dropped, as kube-apiserver prunes them).

use serde_json::{Map, Value};

use super::api::ApiError;
use crate::store::Revision;
use kactor_kube::k8s_openapi::api;
use kactor_kube::registry::ResourceType;

/// The store key prefix of one type (and namespace): `/registry/{group}/{plural}/[{ns}/]`.
/// The core group is spelled `core` so that every type has the same depth.
pub fn type_prefix(resource: &ResourceType, namespace: Option<&str>) -> Vec<u8> {
    let group = if resource.group.is_empty() {
        "core"
    } else {
        resource.group
    };
    let mut prefix = format!("/registry/{group}/{}/", resource.plural);
    if let Some(namespace) = namespace.filter(|_| resource.namespaced) {
        prefix.push_str(namespace);
        prefix.push('/');
    }
    prefix.into_bytes()
}

pub fn object_key(resource: &ResourceType, namespace: Option<&str>, name: &str) -> Vec<u8> {
    let mut key = type_prefix(resource, namespace);
    key.extend_from_slice(name.as_bytes());
    key
}

/// The first key after every key with this prefix (etcd's prefix range end).
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

pub fn parse(body: &[u8]) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "the body is not a JSON object".into(),
        ));
    }
    Ok(value)
}

pub fn to_bytes(value: &Value) -> Vec<u8> {
    serde_json::to_vec(value).expect("a JSON value always serializes")
}

fn round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(
    value: Value,
) -> Result<Value, String> {
    let typed: T = serde_json::from_value(value).map_err(|e| e.to_string())?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

/// The object as its Kubernetes type shapes it: unknown fields dropped, wrong shapes
/// refused (`"replicas": "three"`), with the decoder's message.
pub fn shape(resource: &ResourceType, value: Value) -> Result<Value, String> {
    use api::{apps, authentication, authorization, autoscaling, batch};
    use api::{coordination, core, discovery, rbac, storage};
    match resource.kind {
        "Namespace" => round_trip::<core::v1::Namespace>(value),
        "Pod" => round_trip::<core::v1::Pod>(value),
        "Node" => round_trip::<core::v1::Node>(value),
        "Service" => round_trip::<core::v1::Service>(value),
        "Endpoints" => round_trip::<core::v1::Endpoints>(value),
        "ConfigMap" => round_trip::<core::v1::ConfigMap>(value),
        "Secret" => round_trip::<core::v1::Secret>(value),
        "Event" => round_trip::<core::v1::Event>(value),
        "ServiceAccount" => round_trip::<core::v1::ServiceAccount>(value),
        "PersistentVolume" => round_trip::<core::v1::PersistentVolume>(value),
        "PersistentVolumeClaim" => round_trip::<core::v1::PersistentVolumeClaim>(value),
        "LimitRange" => round_trip::<core::v1::LimitRange>(value),
        "ResourceQuota" => round_trip::<core::v1::ResourceQuota>(value),
        "Deployment" => round_trip::<apps::v1::Deployment>(value),
        "ReplicaSet" => round_trip::<apps::v1::ReplicaSet>(value),
        "StatefulSet" => round_trip::<apps::v1::StatefulSet>(value),
        "DaemonSet" => round_trip::<apps::v1::DaemonSet>(value),
        "ControllerRevision" => round_trip::<apps::v1::ControllerRevision>(value),
        "Job" => round_trip::<batch::v1::Job>(value),
        "CronJob" => round_trip::<batch::v1::CronJob>(value),
        "HorizontalPodAutoscaler" => round_trip::<autoscaling::v2::HorizontalPodAutoscaler>(value),
        "Lease" => round_trip::<coordination::v1::Lease>(value),
        "Role" => round_trip::<rbac::v1::Role>(value),
        "ClusterRole" => round_trip::<rbac::v1::ClusterRole>(value),
        "RoleBinding" => round_trip::<rbac::v1::RoleBinding>(value),
        "ClusterRoleBinding" => round_trip::<rbac::v1::ClusterRoleBinding>(value),
        "StorageClass" => round_trip::<storage::v1::StorageClass>(value),
        "EndpointSlice" => round_trip::<discovery::v1::EndpointSlice>(value),
        "SelfSubjectReview" => round_trip::<authentication::v1::SelfSubjectReview>(value),
        "SelfSubjectAccessReview" => {
            round_trip::<authorization::v1::SelfSubjectAccessReview>(value)
        }
        "SelfSubjectRulesReview" => round_trip::<authorization::v1::SelfSubjectRulesReview>(value),
        "SubjectAccessReview" => round_trip::<authorization::v1::SubjectAccessReview>(value),
        "LocalSubjectAccessReview" => {
            round_trip::<authorization::v1::LocalSubjectAccessReview>(value)
        }
        other => Err(format!("kind {other} is not served")),
    }
}

/// The fields of `sent` that shaping dropped, as kube names them in a strict decoding
/// error (`spec.template.spec.containers[0].bogus`): the fields the kind does not have.
/// A `null` is no field.
pub fn unknown_fields(sent: &Value, shaped: &Value) -> Vec<String> {
    let mut unknown = Vec::new();
    let mut pending = vec![(String::new(), sent, shaped)];
    while let Some((path, sent, shaped)) = pending.pop() {
        match (sent, shaped) {
            (Value::Object(sent), Value::Object(shaped)) => {
                for (name, value) in sent.iter().filter(|(_, v)| !v.is_null()) {
                    let at = if path.is_empty() {
                        name.clone()
                    } else {
                        format!("{path}.{name}")
                    };
                    match shaped.get(name) {
                        Some(kept) => pending.push((at, value, kept)),
                        None => unknown.push(at),
                    }
                }
            }
            (Value::Array(sent), Value::Array(shaped)) if sent.len() == shaped.len() => {
                for (i, (value, kept)) in sent.iter().zip(shaped).enumerate() {
                    pending.push((format!("{path}[{i}]"), value, kept));
                }
            }
            _ => {}
        }
    }
    unknown.sort();
    unknown
}

pub fn metadata(value: &Value) -> Option<&Map<String, Value>> {
    value.get("metadata")?.as_object()
}

pub fn metadata_mut(value: &mut Value) -> &mut Map<String, Value> {
    let root = value.as_object_mut().expect("objects are JSON objects");
    let meta = root
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    meta.as_object_mut().expect("just made an object")
}

pub fn meta_str<'a>(value: &'a Value, field: &str) -> Option<&'a str> {
    metadata(value)?.get(field)?.as_str()
}

pub fn name(value: &Value) -> &str {
    meta_str(value, "name").unwrap_or("")
}

pub fn labels(value: &Value) -> std::collections::BTreeMap<String, String> {
    metadata(value)
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

pub fn finalizers(value: &Value) -> Vec<String> {
    metadata(value)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|f| Some(f.as_str()?.to_string()))
                .collect()
        })
        .unwrap_or_default()
}

pub fn set_finalizers(value: &mut Value, finalizers: &[String]) {
    let meta = metadata_mut(value);
    if finalizers.is_empty() {
        meta.remove("finalizers");
    } else {
        meta.insert("finalizers".into(), finalizers.into());
    }
}

pub fn is_terminating(value: &Value) -> bool {
    metadata(value).is_some_and(|m| m.contains_key("deletionTimestamp"))
}

/// A version-4-shaped UUID from the host's randomness.
pub fn uid(entropy: u128) -> String {
    let bits = (entropy & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// The 5 random characters kube-apiserver appends to `generateName`, from the
/// alphabet it uses (no vowels, no digits that look like letters).
pub fn name_suffix(entropy: u128) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut bits = entropy >> 64;
    (0..5)
        .map(|_| {
            let c = ALPHABET[(bits % ALPHABET.len() as u128) as usize] as char;
            bits /= ALPHABET.len() as u128;
            c
        })
        .collect()
}

/// The stored JSON as served: `metadata.resourceVersion` is the store revision.
pub fn with_revision(mut value: Value, revision: Revision) -> Value {
    metadata_mut(&mut value).insert("resourceVersion".into(), revision.to_string().into());
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use kactor_kube::registry::by_kind;

    #[test]
    fn keys_and_prefixes() {
        let pods = by_kind("v1", "Pod").unwrap();
        assert_eq!(
            object_key(pods, Some("default"), "web"),
            b"/registry/core/pods/default/web"
        );
        let nodes = by_kind("v1", "Node").unwrap();
        assert_eq!(
            type_prefix(nodes, Some("ignored")),
            b"/registry/core/nodes/"
        );
        assert_eq!(prefix_end(b"/a/"), b"/a0");
    }

    #[test]
    fn uids_and_name_suffixes_have_kubernetes_shapes() {
        let uid = uid(u128::MAX);
        assert_eq!(uid.len(), 36);
        assert_eq!(&uid[14..15], "4");
        assert_eq!(name_suffix(12345).len(), 5);
    }

    #[test]
    fn shape_drops_unknown_fields_and_refuses_wrong_types() {
        let deployments = by_kind("apps/v1", "Deployment").unwrap();
        let value = serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a"}, "spec": {"replicas": 2, "bogus": 1,
            "selector": {}, "template": {}}});
        let shaped = shape(deployments, value).unwrap();
        assert!(shaped["spec"].get("bogus").is_none());
        assert_eq!(shaped["spec"]["replicas"], 2);
        let wrong = serde_json::json!({"metadata": {"name": "a"}, "spec": {"replicas": "x",
            "selector": {}, "template": {}}});
        assert!(shape(deployments, wrong).is_err());
    }
}
