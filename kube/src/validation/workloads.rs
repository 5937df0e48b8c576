//! What the pod controllers of apps/v1 and batch/v1 share: a non-empty selector and a pod
//! template that satisfies it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use serde_json::Value;

use crate::selector::LabelSelector;
use crate::status::Cause;

use super::common::{child, one_of, validate_label_selector, validate_labels};
use super::core_pod::validate_pod_spec;
use super::meta::validate_annotations;

// ---------------------------------------------------------------------------------------
// Workloads (apps/validation and batch/validation).

/// What a controller's spec says about its pods, shared by the workload kinds.
pub(super) struct PodController<'a> {
    /// The word in "empty selector is invalid for ..." (Kubernetes names the kind).
    pub(super) noun: &'a str,
    /// The restart policies the controller's pods may use.
    pub(super) restart_policies: &'a [&'a str],
}

/// `ValidateNonEmptySelector` plus `ValidatePodTemplateSpecForReplicaSet`: the selector
/// is present and non-empty, and the template's labels satisfy it.
pub(super) fn validate_controller_pods(
    spec_value: Option<&Value>,
    selector: Option<&meta::LabelSelector>,
    template: Option<&core::PodTemplateSpec>,
    controller: &PodController,
    causes: &mut Vec<Cause>,
) {
    let selector_present = spec_value
        .and_then(|spec| spec.get("selector"))
        .is_some_and(|selector| !selector.is_null());
    match selector {
        Some(selector) if selector_present => {
            validate_label_selector(selector, "spec.selector", causes);
            let empty = selector
                .match_labels
                .as_ref()
                .is_none_or(BTreeMap::is_empty)
                && selector
                    .match_expressions
                    .as_ref()
                    .is_none_or(Vec::is_empty);
            if empty {
                causes.push(Cause::invalid(
                    "spec.selector",
                    "{}",
                    &format!("empty selector is invalid for {}", controller.noun),
                ));
            }
        }
        _ => causes.push(Cause::required("spec.selector")),
    }
    let Some(template) = template else {
        causes.push(Cause::required("spec.template"));
        return;
    };
    if let Some(selector) = selector.filter(|_| selector_present) {
        validate_template_matches(selector, template, "spec.template", causes);
    }
    validate_pod_template(
        template,
        "spec.template",
        controller.restart_policies,
        causes,
    );
}

pub(super) fn validate_template_matches(
    selector: &meta::LabelSelector,
    template: &core::PodTemplateSpec,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    let labels = template
        .metadata
        .as_ref()
        .and_then(|metadata| metadata.labels.clone())
        .unwrap_or_default();
    if let Ok(parsed) = LabelSelector::from_api(selector) {
        if !parsed.matches(&labels) {
            causes.push(Cause::invalid(
                &child(path, "metadata.labels"),
                &format!("{labels:?}"),
                "`selector` does not match template `labels`",
            ));
        }
    }
}

/// `ValidatePodTemplateSpec` with the controller's restart policy; an absent policy is
/// the default, Always.
pub(super) fn validate_pod_template(
    template: &core::PodTemplateSpec,
    path: &str,
    restart_policies: &[&str],
    causes: &mut Vec<Cause>,
) {
    if let Some(metadata) = &template.metadata {
        let metadata_path = child(path, "metadata");
        validate_labels(
            &child(&metadata_path, "labels"),
            metadata.labels.as_ref(),
            causes,
        );
        let annotations = metadata.annotations.as_ref();
        validate_annotations(&child(&metadata_path, "annotations"), annotations, causes);
    }
    let spec = template.spec.clone().unwrap_or_default();
    let spec_path = child(path, "spec");
    validate_pod_spec(&spec, &spec_path, causes);
    let restart_policy = spec.restart_policy.as_deref().unwrap_or("Always");
    let restart_path = child(&spec_path, "restartPolicy");
    // The pod-level check already rejects values outside Always/OnFailure/Never.
    if ["Always", "OnFailure", "Never"].contains(&restart_policy) {
        one_of(
            &restart_path,
            Some(restart_policy),
            restart_policies,
            causes,
        );
    }
    if restart_policies == ["Always"] && spec.active_deadline_seconds.is_some() {
        causes.push(Cause::forbidden(
            &child(&spec_path, "activeDeadlineSeconds"),
            "activeDeadlineSeconds in ReplicaSet is not Supported",
        ));
    }
}

pub(super) const LONG_RUNNING: PodController<'static> = PodController {
    noun: "deployment",
    restart_policies: &["Always"],
};
