//! LimitRange and ResourceQuota rules.

use super::*;

// ---- Policy -------------------------------------------------------------------------

#[test]
fn limit_range_rules() {
    let range = json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "cpu-resource-constraint", "namespace": "default"},
        "spec": {"limits": [{"default": {"cpu": "500m"}, "defaultRequest": {"cpu": "500m"},
            "max": {"cpu": "1"}, "min": {"cpu": "100m"}, "type": "Container"}]}});
    assert_valid("v1", "LimitRange", &range);
    let twice = json!([{"type": "Container"}, {"type": "Container"}]);
    let edits = [
        (
            "spec.limits.0.type",
            json!("Namespace"),
            "spec.limits[0].type",
            INVALID,
        ),
        (
            "spec.limits.0.min.cpu",
            json!("2"),
            "spec.limits[0].min[cpu]",
            INVALID,
        ),
        (
            "spec.limits.0.default.cpu",
            json!("2"),
            "spec.limits[0].default[cpu]",
            INVALID,
        ),
        (
            "spec.limits.0.defaultRequest.cpu",
            json!("50m"),
            "spec.limits[0].defaultRequest[cpu]",
            INVALID,
        ),
        (
            "spec.limits.0.max.cpu",
            json!("-1"),
            "spec.limits[0].max[cpu]",
            INVALID,
        ),
        (
            "spec.limits.0.maxLimitRequestRatio",
            json!({"cpu": "500m"}),
            "spec.limits[0].maxLimitRequestRatio[cpu]",
            INVALID,
        ),
        (
            "spec.limits",
            json!([{"type": "Pod", "default": {"cpu": "1"}}]),
            "spec.limits[0].default",
            FORBIDDEN,
        ),
        ("spec.limits", twice, "spec.limits[1].type", DUPLICATE),
    ];
    assert_edits("v1", "LimitRange", &range, &edits);
}

#[test]
fn resource_quota_rules() {
    let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "pods-high", "namespace": "default"},
        "spec": {"hard": {"cpu": "1000", "memory": "200Gi", "pods": "10", "requests.nvidia.com/gpu": "4"}, "scopes": ["NotTerminating"]}});
    assert_valid("v1", "ResourceQuota", &quota);
    assert_cause(
        "v1",
        "ResourceQuota",
        &with(quota.clone(), "spec.hard.cpu", json!("-1")),
        "spec.hard[cpu]",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        "ResourceQuota",
        &with(quota.clone(), "spec.hard.memory", json!("a lot")),
        "spec.hard[memory]",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        "ResourceQuota",
        &with(quota.clone(), "spec.scopes", json!(["Sometimes"])),
        "spec.scopes",
        "FieldValueInvalid",
    );
    let conflicting = json!(["Terminating", "NotTerminating"]);
    assert_cause(
        "v1",
        "ResourceQuota",
        &with(quota, "spec.scopes", conflicting),
        "spec.scopes",
        "FieldValueInvalid",
    );
}
