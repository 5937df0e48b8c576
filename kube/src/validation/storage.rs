//! Storage: PersistentVolume and PersistentVolumeClaim (core/v1), StorageClass
//! (storage.k8s.io/v1).

use k8s_openapi::api::core::v1 as core;
use k8s_openapi::api::storage::v1 as storage;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity as ApiQuantity;
use serde_json::Value;

use crate::quantity::Quantity;
use crate::selector::validate_dns1123_subdomain;
use crate::status::Cause;

use super::common::{
    check_name, child, key, lookup, one_of, quoted, set_or_remove, typed, validate_immutable,
    validate_label_selector, validate_qualified_name,
};

// ---------------------------------------------------------------------------------------
// Storage: PersistentVolume, PersistentVolumeClaim, StorageClass.

/// StorageClass parameters are passed to provisioners verbatim; Kubernetes bounds them.
const STORAGECLASS_PARAMETERS_LIMIT_BYTES: usize = 256 * 1024;
/// The largest number of StorageClass parameters.
const STORAGECLASS_PARAMETERS_LIMIT_COUNT: usize = 512;
const ACCESS_MODES: &[&str] = &[
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOnce",
    "ReadWriteOncePod",
];
const VOLUME_MODES: &[&str] = &["Block", "Filesystem"];

/// PersistentVolumeSpec fields that are not a volume source.
const PV_NON_SOURCE_FIELDS: &[&str] = &[
    "accessModes",
    "capacity",
    "claimRef",
    "mountOptions",
    "nodeAffinity",
    "persistentVolumeReclaimPolicy",
    "storageClassName",
    "volumeAttributesClassName",
    "volumeMode",
];

fn validate_access_modes(path: &str, modes: &[String], causes: &mut Vec<Cause>) {
    for mode in modes {
        one_of(path, Some(mode), ACCESS_MODES, causes);
    }
    let once_pod = modes.iter().any(|mode| mode == "ReadWriteOncePod");
    if once_pod && modes.len() > 1 {
        causes.push(Cause::forbidden(
            path,
            "may not use ReadWriteOncePod with other access modes",
        ));
    }
}

fn positive_quantity(path: &str, quantity: &ApiQuantity, causes: &mut Vec<Cause>) {
    match Quantity::parse(&quantity.0) {
        Err(error) => causes.push(Cause::invalid(
            path,
            &quoted(&quantity.0),
            &error.to_string(),
        )),
        Ok(parsed) if parsed.milli_value() <= 0 => causes.push(Cause::invalid(
            path,
            &quoted(&quantity.0),
            "must be greater than zero",
        )),
        Ok(_) => {}
    }
}

pub(super) fn validate_persistent_volume(object: &Value, causes: &mut Vec<Cause>) {
    let Some(volume) = typed::<core::PersistentVolume>(object, causes) else {
        return;
    };
    let spec = volume.spec.unwrap_or_default();
    let modes = spec.access_modes.unwrap_or_default();
    if modes.is_empty() {
        causes.push(Cause::required("spec.accessModes"));
    }
    validate_access_modes("spec.accessModes", &modes, causes);
    let capacity = spec.capacity.unwrap_or_default();
    if capacity.is_empty() {
        causes.push(Cause::required("spec.capacity"));
    } else if !capacity.contains_key("storage") || capacity.len() > 1 {
        let shown = format!("{:?}", capacity.keys().collect::<Vec<_>>());
        causes.push(Cause::not_supported("spec.capacity", &shown, &["storage"]));
    }
    for (resource, quantity) in &capacity {
        positive_quantity(&key("spec.capacity", resource), quantity, causes);
    }
    let policies = ["Delete", "Recycle", "Retain"];
    let policy = spec
        .persistent_volume_reclaim_policy
        .as_deref()
        .filter(|policy| !policy.is_empty());
    one_of(
        "spec.persistentVolumeReclaimPolicy",
        policy,
        &policies,
        causes,
    );
    one_of(
        "spec.volumeMode",
        spec.volume_mode.as_deref(),
        VOLUME_MODES,
        causes,
    );
    if let Some(class) = spec
        .storage_class_name
        .as_deref()
        .filter(|class| !class.is_empty())
    {
        check_name(
            "spec.storageClassName",
            class,
            validate_dns1123_subdomain,
            causes,
        );
    }
    validate_single_volume_source(object.get("spec"), causes);
    if spec.local.is_some() && spec.node_affinity.is_none() {
        causes.push(Cause {
            message: "Required value: Local volume requires node affinity".into(),
            ..Cause::required("spec.nodeAffinity")
        });
    }
}

/// A PersistentVolume names exactly one volume source.
fn validate_single_volume_source(spec: Option<&Value>, causes: &mut Vec<Cause>) {
    let sources: Vec<&String> = spec
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(field, value)| {
            !PV_NON_SOURCE_FIELDS.contains(&field.as_str()) && !value.is_null()
        })
        .map(|(field, _)| field)
        .collect();
    match sources.as_slice() {
        [] => causes.push(Cause {
            message: "Required value: must specify a volume type".into(),
            ..Cause::required("spec")
        }),
        [_] => {}
        [_, extra, ..] => causes.push(Cause::forbidden(
            &child("spec", extra),
            "may not specify more than 1 volume type",
        )),
    }
}

/// `ValidatePersistentVolumeUpdate`: the volume source and mode are fixed; node affinity
/// may only be set when it was unset.
pub(super) fn validate_persistent_volume_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let source_of = |volume: &Value| {
        let mut spec = volume.get("spec").cloned().unwrap_or_default();
        for field in PV_NON_SOURCE_FIELDS {
            set_or_remove(&mut spec, field, None);
        }
        spec
    };
    if source_of(new) != source_of(old) {
        causes.push(Cause::forbidden(
            "spec.persistentvolumesource",
            "spec.persistentvolumesource is immutable after creation",
        ));
    }
    validate_immutable(new, old, &["spec", "volumeMode"], causes);
    if lookup(old, &["spec", "nodeAffinity"]).is_some() {
        validate_immutable(new, old, &["spec", "nodeAffinity"], causes);
    }
}

pub(super) fn validate_persistent_volume_claim(object: &Value, causes: &mut Vec<Cause>) {
    let Some(claim) = typed::<core::PersistentVolumeClaim>(object, causes) else {
        return;
    };
    let spec = claim.spec.unwrap_or_default();
    let modes = spec.access_modes.unwrap_or_default();
    if modes.is_empty() {
        causes.push(Cause {
            message: "Required value: at least 1 access mode is required".into(),
            ..Cause::required("spec.accessModes")
        });
    }
    validate_access_modes("spec.accessModes", &modes, causes);
    if let Some(selector) = &spec.selector {
        validate_label_selector(selector, "spec.selector", causes);
    }
    let requests = spec
        .resources
        .and_then(|resources| resources.requests)
        .unwrap_or_default();
    match requests.get("storage") {
        None => causes.push(Cause::required("spec.resources[storage]")),
        Some(storage) => positive_quantity("spec.resources[storage]", storage, causes),
    }
    if let Some(class) = spec
        .storage_class_name
        .as_deref()
        .filter(|class| !class.is_empty())
    {
        check_name(
            "spec.storageClassName",
            class,
            validate_dns1123_subdomain,
            causes,
        );
    }
    one_of(
        "spec.volumeMode",
        spec.volume_mode.as_deref(),
        VOLUME_MODES,
        causes,
    );
}

/// `ValidatePersistentVolumeClaimUpdate`: the spec is fixed except volumeName (once),
/// and, for bound claims, the storage request, which may only grow.
pub(super) fn validate_claim_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let (Some(new_spec), Some(old_spec)) = (new.get("spec"), old.get("spec")) else {
        return;
    };
    let mut munged = new_spec.clone();
    if lookup(old_spec, &["volumeName"]).is_none_or(|name| name == "") {
        set_or_remove(&mut munged, "volumeName", old_spec.get("volumeName"));
    }
    let bound = lookup(new, &["status", "phase"]).and_then(Value::as_str) == Some("Bound");
    let storage = ["resources", "requests", "storage"];
    if bound {
        if let Some(requests) = munged
            .get_mut("resources")
            .and_then(|resources| resources.get_mut("requests"))
        {
            set_or_remove(requests, "storage", lookup(old_spec, &storage));
        }
    }
    set_or_remove(
        &mut munged,
        "volumeAttributesClassName",
        old_spec.get("volumeAttributesClassName"),
    );
    if &munged != old_spec {
        causes.push(Cause::forbidden(
            "spec",
            "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
        ));
    }
    let size_of = |spec: &Value| {
        lookup(spec, &storage)
            .and_then(Value::as_str)
            .and_then(|text| Quantity::parse(text).ok())
    };
    if let (Some(new_size), Some(old_size)) = (size_of(new_spec), size_of(old_spec)) {
        if new_size < old_size {
            causes.push(Cause::forbidden(
                "spec.resources.requests.storage",
                "field can not be less than previous value",
            ));
        }
    }
}

pub(super) fn validate_storage_class(object: &Value, causes: &mut Vec<Cause>) {
    let Some(class) = typed::<storage::StorageClass>(object, causes) else {
        return;
    };
    if class.provisioner.is_empty() {
        causes.push(Cause::required("provisioner"));
    } else {
        check_name(
            "provisioner",
            &class.provisioner.to_lowercase(),
            validate_qualified_name,
            causes,
        );
    }
    let parameters = class.parameters.unwrap_or_default();
    if parameters.len() > STORAGECLASS_PARAMETERS_LIMIT_COUNT {
        causes.push(Cause::too_long(
            "parameters",
            STORAGECLASS_PARAMETERS_LIMIT_COUNT,
        ));
    }
    let mut total_bytes = 0usize;
    for (name, value) in &parameters {
        if name.is_empty() {
            causes.push(Cause::invalid(
                "parameters",
                "\"\"",
                "field can not be empty.",
            ));
        }
        total_bytes = total_bytes.saturating_add(name.len() + value.len());
    }
    if total_bytes > STORAGECLASS_PARAMETERS_LIMIT_BYTES {
        causes.push(Cause::too_long(
            "parameters",
            STORAGECLASS_PARAMETERS_LIMIT_BYTES,
        ));
    }
    let policy = class
        .reclaim_policy
        .as_deref()
        .filter(|policy| !policy.is_empty());
    one_of("reclaimPolicy", policy, &["Delete", "Retain"], causes);
    let modes = ["Immediate", "WaitForFirstConsumer"];
    one_of(
        "volumeBindingMode",
        class.volume_binding_mode.as_deref(),
        &modes,
        causes,
    );
}

pub(super) fn validate_storage_class_update(new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    let forbidden = [
        ("parameters", "updates to parameters are forbidden."),
        ("provisioner", "updates to provisioner are forbidden."),
        ("reclaimPolicy", "updates to reclaimPolicy are forbidden."),
    ];
    for (field, detail) in forbidden {
        if lookup(new, &[field]) != lookup(old, &[field]) {
            causes.push(Cause::forbidden(field, detail));
        }
    }
    validate_immutable(new, old, &["volumeBindingMode"], causes);
}
