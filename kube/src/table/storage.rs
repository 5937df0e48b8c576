//! Printers of PersistentVolume, PersistentVolumeClaim and StorageClass.

use serde_json::Value;

use super::cells::{
    age, at, boolean, is_deleting, items, name, nested, quantity_entry, text, text_cell, UNSET,
};
use super::columns::{
    column, wide, Column, ACCESS_MODES_DOC, AGE_COLUMN, CLAIM_STORAGE_CLASS_DOC, NAME_COLUMN,
    STORAGE_CLASS_DOC, STRING, VOLUME_MODE_DOC,
};

// ---------------------------------------------------------------------------------------
// Storage.

pub(super) const PERSISTENT_VOLUME_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Capacity", STRING, "capacity is the description of the persistent volume's resources and capacity."),
    column("Access Modes", STRING, ACCESS_MODES_DOC),
    column("Reclaim Policy", STRING, "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim."),
    column("Status", STRING, "phase indicates if a volume is available, bound to a claim, or released by a claim."),
    column("Claim", STRING, "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim."),
    column("StorageClass", STRING, STORAGE_CLASS_DOC),
    column("VolumeAttributesClass", STRING, "VolumeAttributesClass of the pv"),
    column("Reason", STRING, "reason is a brief CamelCase string that describes any failure and is meant for machine parsing and tidy display in the CLI."),
    AGE_COLUMN,
    wide("VolumeMode", STRING, VOLUME_MODE_DOC),
];

pub(super) const PERSISTENT_VOLUME_CLAIM_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column(
        "Status",
        STRING,
        "phase represents the current phase of PersistentVolumeClaim.",
    ),
    column(
        "Volume",
        STRING,
        "volumeName is the binding reference to the PersistentVolume backing this claim.",
    ),
    column(
        "Capacity",
        STRING,
        "capacity represents the actual resources of the underlying volume.",
    ),
    column("Access Modes", STRING, ACCESS_MODES_DOC),
    column("StorageClass", STRING, CLAIM_STORAGE_CLASS_DOC),
    column(
        "VolumeAttributesClass",
        STRING,
        "VolumeAttributesClass of the pvc",
    ),
    AGE_COLUMN,
    wide("VolumeMode", STRING, VOLUME_MODE_DOC),
];

pub(super) const STORAGE_CLASS_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Provisioner", STRING, "provisioner indicates the type of the provisioner."),
    column("ReclaimPolicy", STRING, "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete."),
    column("VolumeBindingMode", STRING, "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound. When unset, VolumeBindingImmediate is used."),
    column("AllowVolumeExpansion", STRING, "allowVolumeExpansion shows whether the storage class allow volume expand."),
    AGE_COLUMN,
];

/// The beta annotation takes precedence over `storageClassName` in kube's helpers.
const BETA_STORAGE_CLASS_ANNOTATION: &str = "volume.beta.kubernetes.io/storage-class";
const DEFAULT_CLASS_ANNOTATIONS: [&str; 2] = [
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
];
/// What a storage class does when it does not say.
const DEFAULT_RECLAIM_POLICY: &str = "Delete";
const DEFAULT_BINDING_MODE: &str = "Immediate";
/// `GetAccessModesAsString`'s fixed order and short names.
const ACCESS_MODES: [(&str, &str); 4] = [
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
];

pub(super) fn persistent_volume_cells(volume: &Value, now: i64) -> Vec<Value> {
    let spec = &volume["spec"];
    let claim = match nested(spec, &["claimRef"]) {
        Some(claim) => format!("{}/{}", text(claim, &["namespace"]), text(claim, &["name"])),
        None => String::new(),
    };
    vec![
        text_cell(name(volume)),
        text_cell(quantity_entry(&spec["capacity"], "storage")),
        text_cell(access_modes(items(spec, &["accessModes"]))),
        text_cell(text(spec, &["persistentVolumeReclaimPolicy"])),
        text_cell(volume_phase(volume)),
        text_cell(claim),
        text_cell(storage_class_of(volume)),
        text_cell(spec["volumeAttributesClassName"].as_str().unwrap_or(UNSET)),
        text_cell(text(volume, &["status", "reason"])),
        age(volume, now),
        text_cell(spec["volumeMode"].as_str().unwrap_or(UNSET)),
    ]
}

pub(super) fn persistent_volume_claim_cells(claim: &Value, now: i64) -> Vec<Value> {
    let spec = &claim["spec"];
    let volume_name = text(spec, &["volumeName"]);
    // Capacity and access modes are the bound volume's, so blank until bound.
    let (capacity, modes) = if volume_name.is_empty() {
        (String::new(), String::new())
    } else {
        (
            quantity_entry(at(claim, &["status", "capacity"]), "storage"),
            access_modes(items(claim, &["status", "accessModes"])),
        )
    };
    vec![
        text_cell(name(claim)),
        text_cell(volume_phase(claim)),
        text_cell(volume_name),
        text_cell(capacity),
        text_cell(modes),
        text_cell(storage_class_of(claim)),
        text_cell(spec["volumeAttributesClassName"].as_str().unwrap_or(UNSET)),
        age(claim, now),
        text_cell(spec["volumeMode"].as_str().unwrap_or(UNSET)),
    ]
}

/// `status.phase`, or "Terminating" once deletion has begun.
fn volume_phase(object: &Value) -> &str {
    if is_deleting(object) {
        "Terminating"
    } else {
        text(object, &["status", "phase"])
    }
}

fn storage_class_of(object: &Value) -> &str {
    let annotations = at(object, &["metadata", "annotations"]);
    match annotations[BETA_STORAGE_CLASS_ANNOTATION].as_str() {
        Some(class) => class,
        None => text(object, &["spec", "storageClassName"]),
    }
}

/// "RWO,ROX,RWX,RWOP" in that order, whatever the object's.
fn access_modes(modes: &[Value]) -> String {
    let short: Vec<&str> = ACCESS_MODES
        .iter()
        .filter(|(mode, _)| modes.iter().any(|listed| listed.as_str() == Some(mode)))
        .map(|(_, short)| *short)
        .collect();
    short.join(",")
}

pub(super) fn storage_class_cells(class: &Value, now: i64) -> Vec<Value> {
    let annotations = at(class, &["metadata", "annotations"]);
    let is_default = DEFAULT_CLASS_ANNOTATIONS
        .iter()
        .any(|annotation| annotations[*annotation].as_str() == Some("true"));
    let mut class_name = name(class).to_string();
    if is_default {
        class_name.push_str(" (default)");
    }
    vec![
        text_cell(class_name),
        text_cell(text(class, &["provisioner"])),
        text_cell(
            class["reclaimPolicy"]
                .as_str()
                .unwrap_or(DEFAULT_RECLAIM_POLICY),
        ),
        text_cell(
            class["volumeBindingMode"]
                .as_str()
                .unwrap_or(DEFAULT_BINDING_MODE),
        ),
        Value::Bool(boolean(class, &["allowVolumeExpansion"])),
        age(class, now),
    ]
}
