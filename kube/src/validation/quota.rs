//! Resource policy (core/v1): LimitRange and ResourceQuota.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;
use serde_json::Value;

use crate::quantity::Quantity;
use crate::status::Cause;

use super::common::{
    check_name, child, index, key, nonnegative_quantity, quoted, typed, validate_qualified_name,
};

// ---------------------------------------------------------------------------------------
// Policy: LimitRange, ResourceQuota.

pub(super) fn validate_limit_range(object: &Value, causes: &mut Vec<Cause>) {
    let Some(limit_range) = typed::<core::LimitRange>(object, causes) else {
        return;
    };
    let mut types = BTreeSet::new();
    let items = limit_range.spec.map(|spec| spec.limits).unwrap_or_default();
    for (position, item) in items.iter().enumerate() {
        let entry = index("spec.limits", position);
        let type_path = child(&entry, "type");
        if let Err(detail) = validate_qualified_name(&item.type_) {
            causes.push(Cause::invalid(&type_path, &quoted(&item.type_), &detail));
        } else if !item.type_.contains('/')
            && !["Container", "Pod", "PersistentVolumeClaim"].contains(&item.type_.as_str())
        {
            causes.push(Cause::invalid(
                &type_path,
                &quoted(&item.type_),
                "must be a standard limit type or fully qualified",
            ));
        }
        if !types.insert(item.type_.clone()) {
            causes.push(Cause::duplicate(&type_path, &quoted(&item.type_)));
        }
        validate_limit_range_item(item, &entry, causes);
    }
}

/// Reads one of a LimitRangeItem's resource lists into parsed quantities.
fn limit_list(
    list: Option<&BTreeMap<String, ApiQuantity>>,
    path: &str,
    causes: &mut Vec<Cause>,
) -> LimitList {
    let mut parsed = BTreeMap::new();
    for (resource, quantity) in list.into_iter().flatten() {
        check_name(
            &key(path, resource),
            resource,
            validate_qualified_name,
            causes,
        );
        if let Some(value) = nonnegative_quantity(&key(path, resource), quantity, causes) {
            parsed.insert(resource.clone(), (value, quantity.0.clone()));
        }
    }
    parsed
}

fn validate_limit_range_item(item: &core::LimitRangeItem, path: &str, causes: &mut Vec<Cause>) {
    let min = limit_list(item.min.as_ref(), &child(path, "min"), causes);
    let max = limit_list(item.max.as_ref(), &child(path, "max"), causes);
    let default = limit_list(item.default.as_ref(), &child(path, "default"), causes);
    let request = limit_list(
        item.default_request.as_ref(),
        &child(path, "defaultRequest"),
        causes,
    );
    let ratio = limit_list(
        item.max_limit_request_ratio.as_ref(),
        &child(path, "maxLimitRequestRatio"),
        causes,
    );
    if item.type_ == "Pod" {
        for (field, list) in [("default", &default), ("defaultRequest", &request)] {
            if !list.is_empty() {
                causes.push(Cause::forbidden(
                    &child(path, field),
                    "may not be specified when `type` is 'Pod'",
                ));
            }
        }
    }
    validate_limit_orderings([&min, &max, &default, &request], path, causes);
    for (resource, (value, text)) in &ratio {
        if value.milli_value() < 1000 {
            let detail = format!("ratio {text} is less than 1");
            causes.push(Cause::invalid(
                &key(&child(path, "maxLimitRequestRatio"), resource),
                &quoted(text),
                &detail,
            ));
        }
    }
}

type LimitList = BTreeMap<String, (Quantity, String)>;

/// Which LimitRangeItem list must not exceed which: (lower, upper, field reported,
/// whether the reported field is the lower one, message). Lists are indexed
/// min, max, default, defaultRequest.
const LIMIT_ORDERINGS: [(usize, usize, &str, bool, &str); 6] = [
    (
        0,
        1,
        "min",
        true,
        "min value {low} is greater than max value {high}",
    ),
    (
        0,
        3,
        "defaultRequest",
        false,
        "min value {low} is greater than default request value {high}",
    ),
    (
        3,
        1,
        "defaultRequest",
        true,
        "default request value {low} is greater than max value {high}",
    ),
    (
        3,
        2,
        "defaultRequest",
        true,
        "default request value {low} is greater than default limit value {high}",
    ),
    (
        0,
        2,
        "default",
        false,
        "min value {low} is greater than default value {high}",
    ),
    (
        2,
        1,
        "default",
        true,
        "default value {low} is greater than max value {high}",
    ),
];

fn validate_limit_orderings(lists: [&LimitList; 4], path: &str, causes: &mut Vec<Cause>) {
    for (lower, upper, field, reports_lower, template) in LIMIT_ORDERINGS {
        for (resource, (low, low_text)) in lists[lower] {
            let Some((high, high_text)) = lists[upper].get(resource) else {
                continue;
            };
            if low > high {
                let reported = if reports_lower { low_text } else { high_text };
                let detail = template
                    .replace("{low}", low_text)
                    .replace("{high}", high_text);
                let path = key(&child(path, field), resource);
                causes.push(Cause::invalid(&path, &quoted(reported), &detail));
            }
        }
    }
}

pub(super) fn validate_resource_quota(object: &Value, causes: &mut Vec<Cause>) {
    let Some(quota) = typed::<core::ResourceQuota>(object, causes) else {
        return;
    };
    let spec = quota.spec.unwrap_or_default();
    for (resource, quantity) in spec.hard.iter().flatten() {
        let path = key("spec.hard", resource);
        check_name(&path, resource, validate_qualified_name, causes);
        nonnegative_quantity(&path, quantity, causes);
    }
    let scopes = spec.scopes.unwrap_or_default();
    let supported = [
        "BestEffort",
        "CrossNamespacePodAffinity",
        "NotBestEffort",
        "NotTerminating",
        "PriorityClass",
        "Terminating",
        "VolumeAttributesClass",
    ];
    let shown = format!("{scopes:?}");
    if scopes
        .iter()
        .any(|scope| !supported.contains(&scope.as_str()))
    {
        causes.push(Cause::invalid("spec.scopes", &shown, "unsupported scope"));
    }
    let has = |scope: &str| scopes.iter().any(|listed| listed == scope);
    if (has("Terminating") && has("NotTerminating")) || (has("BestEffort") && has("NotBestEffort"))
    {
        causes.push(Cause::invalid("spec.scopes", &shown, "conflicting scopes"));
    }
}
