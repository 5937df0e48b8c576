//! Delete, as Kubernetes does it: preconditions, then either at once, or gracefully
//! (`deletionTimestamp` set, the object kept until its finalizers are gone and, for a
//! pod on a node, until its kubelet confirms). Propagation Orphan and Foreground are
//! finalizers that the collector (`collector.rs`) carries out; Background deletes the
//! owner at once and the collector removes its dependents after.

use serde_json::Value;

use super::actor::Gateway;
use super::api::*;
use super::calls::{guarded_txn, ok, put_op, Call, Next, Step};
use super::object;
use crate::store::KeyValue;

pub(crate) const ORPHAN_FINALIZER: &str = "orphan";
pub(crate) const FOREGROUND_FINALIZER: &str = "foregroundDeletion";
/// A pod's grace period when neither the request nor the pod names one.
const POD_GRACE_SECONDS_DEFAULT: i64 = 30;

/// The options of a delete: the query's, overridden by a DeleteOptions body.
fn options(call: &Call) -> Result<DeleteOptions, ApiError> {
    let mut options = call.request.delete.clone();
    if call.request.body.is_empty() {
        return Ok(options);
    }
    let body = object::parse(&call.request.body)?;
    if let Some(grace) = body["gracePeriodSeconds"].as_i64() {
        options.grace_period_seconds = Some(grace);
    }
    match body["propagationPolicy"].as_str() {
        Some("Orphan") => options.propagation = Some(Propagation::Orphan),
        Some("Background") => options.propagation = Some(Propagation::Background),
        Some("Foreground") => options.propagation = Some(Propagation::Foreground),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "propagationPolicy {other:?} is not one of Orphan, Background, Foreground"
            )))
        }
        None => {}
    }
    if body["orphanDependents"].as_bool() == Some(true) {
        options.propagation = Some(Propagation::Orphan);
    }
    if let Some(uid) = body["preconditions"]["uid"].as_str() {
        options.precondition_uid = Some(uid.into());
    }
    if let Some(rv) = body["preconditions"]["resourceVersion"].as_str() {
        options.precondition_resource_version = Some(rv.into());
    }
    Ok(options)
}

fn check_preconditions(
    call: &Call,
    options: &DeleteOptions,
    kv: &KeyValue,
    current: &Value,
) -> Result<(), ApiError> {
    let uid = object::meta_str(current, "uid").unwrap_or("");
    if let Some(expected) = options.precondition_uid.as_deref().filter(|u| *u != uid) {
        return Err(ApiError::new(
            409,
            "Conflict",
            format!(
                "Precondition failed: UID in precondition: {expected}, UID in object meta: {uid}"
            ),
        ));
    }
    let revision = kv.mod_revision.to_string();
    if let Some(expected) = options
        .precondition_resource_version
        .as_deref()
        .filter(|r| *r != revision)
    {
        return Err(ApiError::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{}\": Precondition failed: ResourceVersion in precondition: {expected}, ResourceVersion in object meta: {revision}",
                call.resource.qualified_plural(),
                call.name()
            ),
        ));
    }
    Ok(())
}

/// Whether anything still holds the object back: finalizers, or a namespace's
/// `spec.finalizers` (its content is being removed).
pub(crate) fn held(value: &Value) -> bool {
    let namespace_finalizers = value["kind"] == "Namespace"
        && value["spec"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
    !object::finalizers(value).is_empty() || namespace_finalizers
}

impl Gateway {
    pub(crate) fn delete_existing(
        &mut self,
        call: &mut Call,
        kv: KeyValue,
        current: Value,
    ) -> Result<Next, ApiError> {
        let options = options(call)?;
        check_preconditions(call, &options, &kv, &current)?;
        let mut marked = current.clone();
        let mut finalizers = object::finalizers(&current);
        let add = match options.propagation {
            Some(Propagation::Orphan) => Some(ORPHAN_FINALIZER),
            Some(Propagation::Foreground) => Some(FOREGROUND_FINALIZER),
            _ => None,
        };
        if let Some(add) = add {
            if !finalizers.iter().any(|f| f == add) && !object::is_terminating(&current) {
                finalizers.push(add.to_string());
            }
        }
        object::set_finalizers(&mut marked, &finalizers);
        let grace = pod_grace(call, &options, &current);
        if !held(&marked) && grace == 0 {
            return Ok(self.read_quotas(call, None, Some(kv)));
        }
        if object::is_terminating(&current) && marked == current {
            return ok(200, &current); // already being deleted: nothing to add
        }
        let meta = object::metadata_mut(&mut marked);
        if !meta.contains_key("deletionTimestamp") {
            let at = call.stamp.unix_ms + 1000 * grace.max(0) as u64;
            meta.insert(
                "deletionTimestamp".into(),
                kactor_kube::time::timestamp(at).into(),
            );
            meta.insert("deletionGracePeriodSeconds".into(), grace.into());
        }
        meta.remove("resourceVersion");
        if call.resource.kind == "Namespace" {
            marked["status"]["phase"] = "Terminating".into();
        }
        if call.request.dry_run {
            return self.answer(call, object::with_revision(marked, kv.mod_revision), false);
        }
        let bytes = object::to_bytes(&marked);
        let sealed = self.seal(call, &bytes);
        let body = guarded_txn(
            &call.key(),
            kv.mod_revision,
            vec![put_op(call.key(), sealed)],
            &[],
        );
        Ok(Next::Store(
            body,
            Step::Commit {
                written: Some(bytes),
                existing: Some(kv),
                created: false,
            },
        ))
    }
}

/// A pod on a node is deleted gracefully: its kubelet stops it, then deletes it with
/// grace 0. A pod never scheduled has nothing to stop.
fn pod_grace(call: &Call, options: &DeleteOptions, current: &Value) -> i64 {
    if call.resource.kind != "Pod" {
        return 0;
    }
    let on_node = current["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    if !on_node {
        return 0;
    }
    if let Some(already) = current["metadata"]["deletionGracePeriodSeconds"].as_i64() {
        return options
            .grace_period_seconds
            .map_or(already, |g| g.min(already));
    }
    options.grace_period_seconds.unwrap_or_else(|| {
        current["spec"]["terminationGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(POD_GRACE_SECONDS_DEFAULT)
    })
}
