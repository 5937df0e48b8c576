//! Patch tests, one module per kind of patch; here the helpers they share and the tests of
//! content types and errors.

mod apply;
mod docs;
mod json;
mod limits;
mod merge;
mod properties;
mod strategic;

use super::MergeStrategy::{ByKey, Union};
use super::*;
use proptest::prelude::*;
use serde_json::json;

fn patch_with(kind: &str, patch_type: PatchType, original: &Value, patch: &Value) -> Value {
    let body = serde_json::to_vec(patch).expect("test patch serializes");
    match apply_patch(kind, patch_type, original, &body) {
        Ok(patched) => patched,
        Err(error) => panic!("patch {patch} failed: {error}"),
    }
}

fn strategic(kind: &str, original: &Value, patch: Value) -> Value {
    patch_with(kind, PatchType::StrategicMerge, original, &patch)
}

fn error_of(kind: &str, patch_type: PatchType, original: &Value, body: &[u8]) -> PatchError {
    match apply_patch(kind, patch_type, original, body) {
        Ok(patched) => panic!("patch unexpectedly applied: {patched}"),
        Err(error) => error,
    }
}

/// The Deployment of the Kubernetes task "Update API Objects in Place Using kubectl patch".
fn patch_demo() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "patch-demo"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {
                    "containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
                    "tolerations": [
                        {"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}
                    ]
                }
            }
        }
    })
}

fn containers_of(deployment: &Value) -> &Value {
    &deployment["spec"]["template"]["spec"]["containers"]
}

#[test]
fn content_types_round_trip() {
    for patch_type in [
        PatchType::Json,
        PatchType::Merge,
        PatchType::StrategicMerge,
        PatchType::Apply,
    ] {
        assert_eq!(
            PatchType::from_content_type(patch_type.content_type()),
            Some(patch_type)
        );
    }
    assert_eq!(
        PatchType::from_content_type("Application/Merge-Patch+JSON; charset=utf-8"),
        Some(PatchType::Merge)
    );
    assert_eq!(PatchType::from_content_type("application/json"), None);
    assert_eq!(PatchType::from_content_type(""), None);
}

#[test]
fn errors_carry_kube_statuses() {
    let malformed = PatchError::Malformed("m".into());
    let conflict = PatchError::Conflict("c".into());
    let too_large = PatchError::TooLarge("t".into());
    assert_eq!(
        (malformed.http_status(), malformed.reason()),
        (400, "BadRequest")
    );
    assert_eq!(
        (conflict.http_status(), conflict.reason()),
        (422, "Invalid")
    );
    assert_eq!(
        (too_large.http_status(), too_large.reason()),
        (413, "RequestEntityTooLarge")
    );
    assert_eq!(conflict.to_string(), "c");
}

const ALL_TYPES: [PatchType; 4] = [
    PatchType::Json,
    PatchType::Merge,
    PatchType::StrategicMerge,
    PatchType::Apply,
];
