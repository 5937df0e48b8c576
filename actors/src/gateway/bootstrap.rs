//! What a fresh cluster holds before anyone writes, as kube-apiserver's bootstrap
//! controllers create it: the system namespaces and (when RBAC decides) the bootstrap
//! policy. The gateway creates whatever its caches show missing, once.

use serde_json::{json, Value};

use super::rbac;
use kactor_kube::registry::{by_plural, ResourceType};

/// kube-apiserver's system namespaces: `default` for everyone's objects, `kube-system`
/// for the control plane, `kube-public` readable by all, `kube-node-lease` for node
/// heartbeats.
pub const SYSTEM_NAMESPACES: &[&str] =
    &["default", "kube-system", "kube-public", "kube-node-lease"];

/// Every bootstrap object with its type; the RBAC policy only when `authorize`.
pub fn bootstrap_objects(authorize: bool) -> Vec<(&'static ResourceType, Value)> {
    let namespaces = by_plural("", "namespaces").expect("served");
    let mut objects: Vec<(&'static ResourceType, Value)> = SYSTEM_NAMESPACES
        .iter()
        .map(|name| {
            let namespace =
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
            (namespaces, namespace)
        })
        .collect();
    if authorize {
        objects.extend(rbac::bootstrap_policy().into_iter().map(|(plural, value)| {
            let resource = by_plural("rbac.authorization.k8s.io", plural).expect("served");
            (resource, value)
        }));
    }
    objects
}
