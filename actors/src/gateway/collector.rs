//! Garbage collection and namespace teardown, level-triggered from the watch caches
//! (Kubernetes runs these as controllers; the gateway already holds every object, so it
//! runs them itself as calls on its own behalf):
//! - a dependent whose owners (by uid) are all gone is deleted (Background propagation);
//! - an owner held by `foregroundDeletion` has its dependents deleted, then the
//!   finalizer removed, so it goes last;
//! - an owner held by `orphan` has its dependents' references to it removed, then the
//!   finalizer;
//! - a terminating namespace has its content deleted, then its `kubernetes` finalizer
//!   removed, so it goes last.
//!
//! Every action is a compare-and-swap on what the cache showed; a lost race is retried
//! by a later scan.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::actor::Gateway;
use super::api::*;
use super::cache::CachedObject;
use super::deletion::{FOREGROUND_FINALIZER, ORPHAN_FINALIZER};
use super::object;
use crate::kernel::Outbox;
use kactor_kube::patch::PatchType;
use kactor_kube::registry::ResourceType;

/// Ticks between scans: a second at the default tick.
pub const COLLECT_TICKS: u64 = 10;
/// Ticks before an action on one object is issued again (its call may have failed).
pub const COLLECT_RETRY_TICKS: u64 = 50;
/// Actions one scan issues at most: bounds the calls a scan adds at once.
pub const COLLECT_ACTIONS_MAX: usize = 256;

/// One object the scan found, with where it lives.
struct Found<'a> {
    resource: &'static ResourceType,
    key: &'a [u8],
    object: &'a CachedObject,
}

fn path_of(resource: &'static ResourceType, key: &[u8]) -> ResourcePath {
    let prefix = object::type_prefix(resource, None);
    let rest = String::from_utf8_lossy(&key[prefix.len().min(key.len())..]).to_string();
    let (namespace, name) = match rest.split_once('/') {
        Some((namespace, name)) if resource.namespaced => {
            (Some(namespace.to_string()), name.to_string())
        }
        _ => (None, rest),
    };
    ResourcePath {
        group: resource.group.to_string(),
        plural: resource.plural.to_string(),
        namespace,
        name: Some(name),
        subresource: None,
    }
}

fn delete(found: &Found) -> ApiRequest {
    let mut request = ApiRequest::new(Verb::Delete, path_of(found.resource, found.key));
    request.delete.propagation = Some(Propagation::Background);
    request
}

fn merge_patch(found: &Found, metadata: serde_json::Value) -> ApiRequest {
    let mut request = ApiRequest::new(
        Verb::Patch(PatchType::Merge),
        path_of(found.resource, found.key),
    );
    let mut metadata = metadata;
    metadata["resourceVersion"] = found.object.mod_revision.to_string().into();
    request.body = object::to_bytes(&json!({ "metadata": metadata }));
    request
}

fn without_finalizer(found: &Found, finalizer: &str) -> ApiRequest {
    let rest: Vec<&String> = found
        .object
        .summary
        .finalizers
        .iter()
        .filter(|f| *f != finalizer)
        .collect();
    merge_patch(found, json!({ "finalizers": rest }))
}

impl Gateway {
    /// One garbage-collection scan, when every cache is synced (an owner missing from an
    /// unsynced cache would look deleted).
    pub(crate) fn collect(&mut self, out: &mut Outbox<Self>) {
        if !self.ticks().is_multiple_of(COLLECT_TICKS)
            || !self.feeds.iter().all(|f| f.cache.synced())
        {
            return;
        }
        let now = self.ticks();
        let actions = self.scan();
        for (key, request) in actions.into_iter().take(COLLECT_ACTIONS_MAX) {
            let recent = self
                .collecting
                .get(&key)
                .is_some_and(|at| at + COLLECT_RETRY_TICKS > now);
            if !recent {
                self.collecting.insert(key, now);
                self.internal_call(request, out);
            }
        }
        self.collecting
            .retain(|_, at| *at + COLLECT_RETRY_TICKS > now);
    }

    fn all_objects(&self) -> Vec<Found<'_>> {
        let mut all = Vec::new();
        for feed in &self.feeds {
            for (key, object) in feed.cache.objects(b"/registry/", &[]) {
                all.push(Found {
                    resource: feed.resource,
                    key,
                    object,
                });
            }
        }
        all
    }

    /// The actions the caches call for, keyed by the object acted on.
    fn scan(&self) -> Vec<(Vec<u8>, ApiRequest)> {
        let all = self.all_objects();
        let live: BTreeSet<&str> = all.iter().map(|f| f.object.summary.uid.as_str()).collect();
        let mut dependents: BTreeMap<&str, Vec<&Found>> = BTreeMap::new();
        for found in &all {
            for owner in &found.object.summary.owners {
                dependents.entry(owner.as_str()).or_default().push(found);
            }
        }
        let mut actions = Vec::new();
        for found in &all {
            let summary = &found.object.summary;
            let orphaned = !summary.owners.is_empty()
                && summary.owners.iter().all(|o| !live.contains(o.as_str()));
            if orphaned && !summary.terminating {
                actions.push((found.key.to_vec(), delete(found)));
            }
            if !summary.terminating {
                continue;
            }
            let mine = dependents
                .get(summary.uid.as_str())
                .map(Vec::as_slice)
                .unwrap_or(&[]);
            if summary.finalizers.iter().any(|f| f == FOREGROUND_FINALIZER) {
                actions.extend(self.foreground(found, mine));
            }
            if summary.finalizers.iter().any(|f| f == ORPHAN_FINALIZER) {
                actions.extend(orphan(found, mine));
            }
            if found.resource.kind == "Namespace" {
                actions.extend(self.namespace_teardown(found, &all));
            }
        }
        actions
    }

    fn foreground(&self, owner: &Found, dependents: &[&Found]) -> Vec<(Vec<u8>, ApiRequest)> {
        if dependents.is_empty() {
            return vec![(
                owner.key.to_vec(),
                without_finalizer(owner, FOREGROUND_FINALIZER),
            )];
        }
        dependents
            .iter()
            .filter(|d| !d.object.summary.terminating)
            .map(|d| (d.key.to_vec(), delete(d)))
            .collect()
    }

    fn namespace_teardown(&self, namespace: &Found, all: &[Found]) -> Vec<(Vec<u8>, ApiRequest)> {
        let name = path_of(namespace.resource, namespace.key)
            .name
            .unwrap_or_default();
        let content: Vec<&Found> = all
            .iter()
            .filter(|f| {
                f.resource.namespaced
                    && path_of(f.resource, f.key).namespace.as_deref() == Some(name.as_str())
            })
            .collect();
        if content.is_empty() {
            let Ok(value) = serde_json::from_slice::<serde_json::Value>(&namespace.object.json)
            else {
                return Vec::new();
            };
            if value["spec"]["finalizers"]
                .as_array()
                .is_none_or(|f| f.is_empty())
            {
                return Vec::new();
            }
            let mut request = ApiRequest::new(
                Verb::Patch(PatchType::Merge),
                path_of(namespace.resource, namespace.key),
            );
            let rv = namespace.object.mod_revision.to_string();
            request.body = object::to_bytes(
                &json!({"metadata": {"resourceVersion": rv}, "spec": {"finalizers": []}}),
            );
            return vec![(namespace.key.to_vec(), request)];
        }
        content
            .iter()
            .filter(|f| !f.object.summary.terminating)
            .map(|f| (f.key.to_vec(), delete(f)))
            .collect()
    }
}

fn orphan(owner: &Found, dependents: &[&Found]) -> Vec<(Vec<u8>, ApiRequest)> {
    if dependents.is_empty() {
        return vec![(
            owner.key.to_vec(),
            without_finalizer(owner, ORPHAN_FINALIZER),
        )];
    }
    let uid = owner.object.summary.uid.as_str();
    dependents
        .iter()
        .filter_map(|d| {
            let value: serde_json::Value = serde_json::from_slice(&d.object.json).ok()?;
            let kept: Vec<&serde_json::Value> = value["metadata"]["ownerReferences"]
                .as_array()?
                .iter()
                .filter(|r| r["uid"] != uid)
                .collect();
            Some((
                d.key.to_vec(),
                merge_patch(d, json!({ "ownerReferences": kept })),
            ))
        })
        .collect()
}
