//! coordination.k8s.io/v1: Lease.

use k8s_openapi::api::coordination::v1 as coordination;
use serde_json::Value;

use crate::status::Cause;

use super::common::{nonnegative, one_of, typed};

pub(super) fn validate_lease(object: &Value, causes: &mut Vec<Cause>) {
    let Some(lease) = typed::<coordination::Lease>(object, causes) else {
        return;
    };
    let spec = lease.spec.unwrap_or_default();
    if let Some(duration) = spec
        .lease_duration_seconds
        .filter(|duration| *duration <= 0)
    {
        causes.push(Cause::invalid(
            "spec.leaseDurationSeconds",
            &duration.to_string(),
            "must be greater than 0",
        ));
    }
    nonnegative(
        "spec.leaseTransitions",
        spec.lease_transitions.map(i64::from),
        causes,
    );
    one_of(
        "spec.strategy",
        spec.strategy.as_deref(),
        &["OldestEmulationVersion"],
        causes,
    );
    if spec.preferred_holder.is_some() && spec.strategy.is_none() {
        causes.push(Cause::forbidden(
            "spec.preferredHolder",
            "may only be specified if `strategy` is defined",
        ));
    }
}
