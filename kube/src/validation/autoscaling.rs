//! autoscaling/v2: HorizontalPodAutoscaler and its metrics.

use k8s_openapi::api::autoscaling::v2 as autoscaling;
use serde_json::Value;

use crate::status::Cause;

use super::common::{child, index, one_of, require_name, typed, validate_path_segment_name};

pub(super) fn validate_hpa(object: &Value, causes: &mut Vec<Cause>) {
    let Some(autoscaler) = typed::<autoscaling::HorizontalPodAutoscaler>(object, causes) else {
        return;
    };
    let spec = autoscaler.spec.unwrap_or_default();
    if let Some(min) = spec.min_replicas.filter(|min| *min < 1) {
        causes.push(Cause::invalid(
            "spec.minReplicas",
            &min.to_string(),
            "must be greater than or equal to 1",
        ));
    }
    if spec.max_replicas < 1 {
        causes.push(Cause::invalid(
            "spec.maxReplicas",
            &spec.max_replicas.to_string(),
            "must be greater than 0",
        ));
    } else if spec.min_replicas.is_some_and(|min| spec.max_replicas < min) {
        causes.push(Cause::invalid(
            "spec.maxReplicas",
            &spec.max_replicas.to_string(),
            "must be greater than or equal to `minReplicas`",
        ));
    }
    let target = &spec.scale_target_ref;
    for (field, value) in [("kind", &target.kind), ("name", &target.name)] {
        let path = child("spec.scaleTargetRef", field);
        require_name(&path, value, validate_path_segment_name, causes);
    }
    for (position, metric) in spec.metrics.iter().flatten().enumerate() {
        validate_metric(metric, &index("spec.metrics", position), causes);
    }
}

fn validate_metric(metric: &autoscaling::MetricSpec, path: &str, causes: &mut Vec<Cause>) {
    let sources = [
        (
            "ContainerResource",
            "containerResource",
            metric.container_resource.is_some(),
        ),
        ("External", "external", metric.external.is_some()),
        ("Object", "object", metric.object.is_some()),
        ("Pods", "pods", metric.pods.is_some()),
        ("Resource", "resource", metric.resource.is_some()),
    ];
    let type_path = child(path, "type");
    if metric.type_.is_empty() {
        causes.push(Cause {
            message: "Required value: must specify a metric source type".into(),
            ..Cause::required(&type_path)
        });
    }
    let types: Vec<&str> = sources.iter().map(|(name, _, _)| *name).collect();
    if !metric.type_.is_empty() {
        one_of(&type_path, Some(&metric.type_), &types, causes);
    }
    for (type_name, field, present) in sources {
        if type_name == metric.type_ && !present {
            causes.push(Cause {
                message: "Required value: must populate information for the given metric source"
                    .into(),
                ..Cause::required(&child(path, field))
            });
        } else if type_name != metric.type_ && present {
            causes.push(Cause::forbidden(
                &child(path, field),
                "must populate the given metric source only",
            ));
        }
    }
    if let Some(resource) = &metric.resource {
        let resource_path = child(path, "resource");
        if resource.name.is_empty() {
            causes.push(Cause::required(&child(&resource_path, "name")));
        }
        validate_metric_target(&resource.target, &child(&resource_path, "target"), causes);
    }
}

fn validate_metric_target(target: &autoscaling::MetricTarget, path: &str, causes: &mut Vec<Cause>) {
    let type_path = child(path, "type");
    if target.type_.is_empty() {
        causes.push(Cause::required(&type_path));
        return;
    }
    one_of(
        &type_path,
        Some(&target.type_),
        &["AverageValue", "Utilization", "Value"],
        causes,
    );
    let missing = match target.type_.as_str() {
        "Utilization" => target
            .average_utilization
            .is_none()
            .then_some("averageUtilization"),
        "Value" => target.value.is_none().then_some("value"),
        "AverageValue" => target.average_value.is_none().then_some("averageValue"),
        _ => None,
    };
    if let Some(field) = missing {
        causes.push(Cause::required(&child(path, field)));
    }
    if let Some(utilization) = target.average_utilization.filter(|value| *value <= 0) {
        causes.push(Cause::invalid(
            &child(path, "averageUtilization"),
            &utilization.to_string(),
            "must be greater than 0",
        ));
    }
}
