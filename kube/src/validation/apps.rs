//! apps/v1: Deployment, ReplicaSet, StatefulSet, DaemonSet and ControllerRevision.

use k8s_openapi::api::apps::v1 as apps;
use k8s_openapi::api::core::v1 as core;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::selector::{validate_dns1123_label, validate_dns1123_subdomain};
use crate::status::Cause;

use super::common::{
    check_name, child, index, int_or_string_text, nonnegative, one_of, quoted, require_name,
    set_or_remove, typed,
};
use super::workloads::{validate_controller_pods, PodController, LONG_RUNNING};

pub(super) fn validate_deployment(object: &Value, causes: &mut Vec<Cause>) {
    let Some(deployment) = typed::<apps::Deployment>(object, causes) else {
        return;
    };
    let spec = deployment.spec.unwrap_or_default();
    let spec_value = object.get("spec");
    validate_controller_pods(
        spec_value,
        Some(&spec.selector),
        Some(&spec.template),
        &LONG_RUNNING,
        causes,
    );
    nonnegative("spec.replicas", spec.replicas.map(i64::from), causes);
    nonnegative(
        "spec.minReadySeconds",
        spec.min_ready_seconds.map(i64::from),
        causes,
    );
    nonnegative(
        "spec.revisionHistoryLimit",
        spec.revision_history_limit.map(i64::from),
        causes,
    );
    if let Some(deadline) = spec.progress_deadline_seconds {
        nonnegative(
            "spec.progressDeadlineSeconds",
            Some(i64::from(deadline)),
            causes,
        );
        if deadline <= spec.min_ready_seconds.unwrap_or_default() {
            causes.push(Cause::invalid(
                "spec.progressDeadlineSeconds",
                &deadline.to_string(),
                "must be greater than minReadySeconds",
            ));
        }
    }
    if let Some(strategy) = &spec.strategy {
        validate_deployment_strategy(strategy, causes);
    }
}

fn validate_deployment_strategy(strategy: &apps::DeploymentStrategy, causes: &mut Vec<Cause>) {
    let strategy_type = strategy.type_.as_deref();
    one_of(
        "spec.strategy.type",
        strategy_type,
        &["Recreate", "RollingUpdate"],
        causes,
    );
    let Some(rolling) = &strategy.rolling_update else {
        return;
    };
    if strategy_type == Some("Recreate") {
        causes.push(Cause::forbidden(
            "spec.strategy.rollingUpdate",
            "may not be specified when strategy `type` is 'Recreate'",
        ));
    }
    let base = "spec.strategy.rollingUpdate";
    validate_surge_and_unavailable(
        base,
        rolling.max_surge.as_ref(),
        rolling.max_unavailable.as_ref(),
        causes,
    );
}

/// `ValidateRollingUpdateDeployment` (also used by DaemonSets): both are non-negative
/// ints or percents, maxUnavailable ≤ 100%, and not both zero. An absent value is the
/// default (25% or 1), never zero.
fn validate_surge_and_unavailable(
    path: &str,
    surge: Option<&IntOrString>,
    unavailable: Option<&IntOrString>,
    causes: &mut Vec<Cause>,
) {
    let surge_path = child(path, "maxSurge");
    let unavailable_path = child(path, "maxUnavailable");
    let surge_value = surge.map(|surge| validate_int_or_percent(&surge_path, surge, causes));
    let unavailable_value = unavailable
        .map(|unavailable| validate_int_or_percent(&unavailable_path, unavailable, causes));
    if let (Some(unavailable), Some((value, true))) = (unavailable, unavailable_value) {
        if value > 100 {
            causes.push(Cause::invalid(
                &unavailable_path,
                &int_or_string_text(unavailable),
                "must not be greater than 100%",
            ));
        }
    }
    if let (Some((0, _)), Some((0, _)), Some(unavailable)) =
        (surge_value, unavailable_value, unavailable)
    {
        causes.push(Cause::invalid(
            &unavailable_path,
            &int_or_string_text(unavailable),
            "may not be 0 when `maxSurge` is 0",
        ));
    }
}

/// `ValidatePositiveIntOrPercent`; returns the number and whether it was a percent.
fn validate_int_or_percent(
    path: &str,
    value: &IntOrString,
    causes: &mut Vec<Cause>,
) -> (i64, bool) {
    match value {
        IntOrString::Int(number) => {
            nonnegative(path, Some(i64::from(*number)), causes);
            (i64::from(*number), false)
        }
        IntOrString::String(text) => {
            let digits = text.strip_suffix('%').unwrap_or_default();
            match digits.parse::<i64>() {
                Ok(percent) if digits.bytes().all(|byte| byte.is_ascii_digit()) => (percent, true),
                _ => {
                    causes.push(Cause::invalid(
                        path,
                        &quoted(text),
                        "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
                    ));
                    (-1, true)
                }
            }
        }
    }
}

pub(super) fn validate_replica_set(object: &Value, causes: &mut Vec<Cause>) {
    let Some(replica_set) = typed::<apps::ReplicaSet>(object, causes) else {
        return;
    };
    let spec = replica_set.spec.unwrap_or_default();
    let controller = PodController {
        noun: "deployment",
        ..LONG_RUNNING
    };
    let spec_value = object.get("spec");
    validate_controller_pods(
        spec_value,
        Some(&spec.selector),
        spec.template.as_ref(),
        &controller,
        causes,
    );
    nonnegative("spec.replicas", spec.replicas.map(i64::from), causes);
    nonnegative(
        "spec.minReadySeconds",
        spec.min_ready_seconds.map(i64::from),
        causes,
    );
}

pub(super) fn validate_stateful_set(object: &Value, causes: &mut Vec<Cause>) {
    let Some(stateful_set) = typed::<apps::StatefulSet>(object, causes) else {
        return;
    };
    let spec = stateful_set.spec.unwrap_or_default();
    let controller = PodController {
        noun: "statefulset",
        ..LONG_RUNNING
    };
    let spec_value = object.get("spec");
    let template = with_claim_volumes(&spec);
    validate_controller_pods(
        spec_value,
        Some(&spec.selector),
        Some(&template),
        &controller,
        causes,
    );
    nonnegative("spec.replicas", spec.replicas.map(i64::from), causes);
    nonnegative(
        "spec.minReadySeconds",
        spec.min_ready_seconds.map(i64::from),
        causes,
    );
    if let Some(service_name) = spec.service_name.as_deref().filter(|name| !name.is_empty()) {
        check_name(
            "spec.serviceName",
            service_name,
            validate_dns1123_label,
            causes,
        );
    }
    let policies = ["OrderedReady", "Parallel"];
    one_of(
        "spec.podManagementPolicy",
        spec.pod_management_policy.as_deref(),
        &policies,
        causes,
    );
    if let Some(strategy) = &spec.update_strategy {
        validate_stateful_set_strategy(strategy, causes);
    }
    let templates_path = "spec.volumeClaimTemplates";
    for (position, claim) in spec.volume_claim_templates.iter().flatten().enumerate() {
        let entry = index(templates_path, position);
        let name = claim.metadata.name.as_deref().unwrap_or_default();
        require_name(
            &child(&entry, "metadata.name"),
            name,
            validate_dns1123_subdomain,
            causes,
        );
    }
}

/// The template as the StatefulSet controller stamps it out: each volumeClaimTemplate
/// becomes a volume of the same name, which the containers may mount.
fn with_claim_volumes(spec: &apps::StatefulSetSpec) -> core::PodTemplateSpec {
    let mut template = spec.template.clone();
    let pod_spec = template.spec.get_or_insert_with(Default::default);
    let volumes = pod_spec.volumes.get_or_insert_with(Vec::new);
    for claim in spec.volume_claim_templates.iter().flatten() {
        let name = claim.metadata.name.clone().unwrap_or_default();
        if name.is_empty() || volumes.iter().any(|volume| volume.name == name) {
            continue;
        }
        volumes.push(core::Volume {
            name: name.clone(),
            persistent_volume_claim: Some(core::PersistentVolumeClaimVolumeSource {
                claim_name: name,
                read_only: None,
            }),
            ..Default::default()
        });
    }
    template
}

fn validate_stateful_set_strategy(
    strategy: &apps::StatefulSetUpdateStrategy,
    causes: &mut Vec<Cause>,
) {
    let strategy_type = strategy.type_.as_deref();
    one_of(
        "spec.updateStrategy.type",
        strategy_type,
        &["OnDelete", "RollingUpdate"],
        causes,
    );
    if strategy_type == Some("OnDelete") && strategy.rolling_update.is_some() {
        causes.push(Cause::forbidden(
            "spec.updateStrategy.rollingUpdate",
            "only allowed for updateStrategy 'RollingUpdate'",
        ));
    }
    let partition = strategy
        .rolling_update
        .as_ref()
        .and_then(|rolling| rolling.partition);
    nonnegative(
        "spec.updateStrategy.rollingUpdate.partition",
        partition.map(i64::from),
        causes,
    );
}

pub(super) fn validate_stateful_set_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let (Some(new_spec), Some(old_spec)) = (new.get("spec"), old.get("spec")) else {
        return;
    };
    let mut munged = new_spec.clone();
    let mutable = [
        "replicas",
        "ordinals",
        "template",
        "updateStrategy",
        "minReadySeconds",
        "revisionHistoryLimit",
        "persistentVolumeClaimRetentionPolicy",
    ];
    for field in mutable {
        set_or_remove(&mut munged, field, old_spec.get(field));
    }
    if &munged != old_spec {
        causes.push(Cause::forbidden(
            "spec",
            "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
        ));
    }
}

pub(super) fn validate_daemon_set(object: &Value, causes: &mut Vec<Cause>) {
    let Some(daemon_set) = typed::<apps::DaemonSet>(object, causes) else {
        return;
    };
    let spec = daemon_set.spec.unwrap_or_default();
    let controller = PodController {
        noun: "daemonset",
        ..LONG_RUNNING
    };
    let spec_value = object.get("spec");
    validate_controller_pods(
        spec_value,
        Some(&spec.selector),
        Some(&spec.template),
        &controller,
        causes,
    );
    nonnegative(
        "spec.minReadySeconds",
        spec.min_ready_seconds.map(i64::from),
        causes,
    );
    nonnegative(
        "spec.revisionHistoryLimit",
        spec.revision_history_limit.map(i64::from),
        causes,
    );
    let Some(strategy) = &spec.update_strategy else {
        return;
    };
    let strategy_type = strategy.type_.as_deref();
    one_of(
        "spec.updateStrategy.type",
        strategy_type,
        &["OnDelete", "RollingUpdate"],
        causes,
    );
    if let Some(rolling) = &strategy.rolling_update {
        let base = "spec.updateStrategy.rollingUpdate";
        validate_surge_and_unavailable(
            base,
            rolling.max_surge.as_ref(),
            rolling.max_unavailable.as_ref(),
            causes,
        );
    }
}

pub(super) fn validate_controller_revision(object: &Value, causes: &mut Vec<Cause>) {
    let Some(revision) = typed::<apps::ControllerRevision>(object, causes) else {
        return;
    };
    if revision.data.is_none() {
        causes.push(Cause {
            message: "Required value: data is mandatory".into(),
            ..Cause::required("data")
        });
    }
    nonnegative("revision", Some(revision.revision), causes);
}
