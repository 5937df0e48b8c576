//! PersistentVolume, PersistentVolumeClaim and StorageClass rules.

use super::*;

// ---- Storage ------------------------------------------------------------------------

#[test]
fn persistent_volume_rules() {
    let volume = persistent_volume();
    assert_valid("v1", "PersistentVolume", &volume);
    let modes = "spec.accessModes";
    let edits = [
        ("spec.capacity", Value::Null, "spec.capacity", REQUIRED),
        (
            "spec.capacity",
            json!({"cpu": "1"}),
            "spec.capacity",
            NOT_SUPPORTED,
        ),
        (
            "spec.capacity.storage",
            json!("0"),
            "spec.capacity[storage]",
            INVALID,
        ),
        (modes, Value::Null, modes, REQUIRED),
        (modes, json!(["ReadSometimes"]), modes, NOT_SUPPORTED),
        (
            modes,
            json!(["ReadWriteOncePod", "ReadOnlyMany"]),
            modes,
            FORBIDDEN,
        ),
        ("spec.hostPath", Value::Null, "spec", REQUIRED),
        (
            "spec.nfs",
            json!({"server": "nfs", "path": "/"}),
            "spec.nfs",
            FORBIDDEN,
        ),
        (
            "spec.persistentVolumeReclaimPolicy",
            json!("Keep"),
            "spec.persistentVolumeReclaimPolicy",
            NOT_SUPPORTED,
        ),
    ];
    assert_edits("v1", "PersistentVolume", &volume, &edits);
    let local = with(volume.clone(), "spec.hostPath", Value::Null);
    let local = with(local, "spec.local", json!({"path": "/mnt/disks/ssd1"}));
    assert_cause(
        "v1",
        "PersistentVolume",
        &local,
        "spec.nodeAffinity",
        REQUIRED,
    );
}

#[test]
fn persistent_volume_update_rules() {
    let kind = "PersistentVolume";
    let volume = persistent_volume();
    let moved = with(volume.clone(), "spec.hostPath.path", json!("/mnt/other"));
    let causes = validate_update("v1", kind, &moved, &volume);
    assert!(has(&causes, "spec.persistentvolumesource", FORBIDDEN));
    let grown = with(volume.clone(), "spec.capacity.storage", json!("20Gi"));
    assert!(validate_update("v1", kind, &grown, &volume).is_empty());
    let block = with(volume.clone(), "spec.volumeMode", json!("Block"));
    assert!(has(
        &validate_update("v1", kind, &block, &volume),
        "spec.volumeMode",
        INVALID
    ));
}

#[test]
fn persistent_volume_claim_rules() {
    let claim = claim();
    assert_valid("v1", "PersistentVolumeClaim", &claim);
    let kind = "PersistentVolumeClaim";
    assert_cause(
        "v1",
        kind,
        &without(claim.clone(), "spec.accessModes"),
        "spec.accessModes",
        "FieldValueRequired",
    );
    assert_cause(
        "v1",
        kind,
        &without(claim.clone(), "spec.resources"),
        "spec.resources[storage]",
        "FieldValueRequired",
    );
    assert_cause(
        "v1",
        kind,
        &with(claim.clone(), "spec.resources.requests.storage", json!("0")),
        "spec.resources[storage]",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        kind,
        &with(claim.clone(), "spec.volumeMode", json!("Raw")),
        "spec.volumeMode",
        "FieldValueNotSupported",
    );
    assert_cause(
        "v1",
        kind,
        &with(claim.clone(), "spec.storageClassName", json!("Fast SSD")),
        "spec.storageClassName",
        "FieldValueInvalid",
    );
}

#[test]
fn persistent_volume_claim_update_rules() {
    let kind = "PersistentVolumeClaim";
    let pending = claim();
    let bound = with(pending.clone(), "status", json!({"phase": "Bound"}));
    let grown = with(
        bound.clone(),
        "spec.resources.requests.storage",
        json!("5Gi"),
    );
    assert!(validate_update("v1", kind, &grown, &bound).is_empty());
    let shrunk = with(
        bound.clone(),
        "spec.resources.requests.storage",
        json!("1Gi"),
    );
    assert!(has(
        &validate_update("v1", kind, &shrunk, &bound),
        "spec.resources.requests.storage",
        "FieldValueForbidden"
    ));
    let grown_pending = with(
        pending.clone(),
        "spec.resources.requests.storage",
        json!("5Gi"),
    );
    assert!(has(
        &validate_update("v1", kind, &grown_pending, &pending),
        "spec",
        "FieldValueForbidden"
    ));
    let reclassed = with(bound.clone(), "spec.storageClassName", json!("fast"));
    assert!(has(
        &validate_update("v1", kind, &reclassed, &bound),
        "spec",
        "FieldValueForbidden"
    ));
    let named = with(pending.clone(), "spec.volumeName", json!("task-pv-volume"));
    assert!(validate_update("v1", kind, &named, &pending).is_empty());
    let renamed = with(named.clone(), "spec.volumeName", json!("other"));
    assert!(has(
        &validate_update("v1", kind, &renamed, &named),
        "spec",
        "FieldValueForbidden"
    ));
}

#[test]
fn storage_class_rules() {
    let class = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "low-latency", "annotations": {"storageclass.kubernetes.io/is-default-class": "false"}},
        "provisioner": "csi-driver.example-vendor.example", "reclaimPolicy": "Retain",
        "allowVolumeExpansion": true, "mountOptions": ["discard"], "volumeBindingMode": "WaitForFirstConsumer",
        "parameters": {"guaranteedReadWriteLatency": "true"}});
    let group = "storage.k8s.io/v1";
    assert_valid(group, "StorageClass", &class);
    let edits = [
        ("provisioner", Value::Null, "provisioner", REQUIRED),
        (
            "provisioner",
            json!("bad provisioner"),
            "provisioner",
            INVALID,
        ),
        (
            "reclaimPolicy",
            json!("Recycle"),
            "reclaimPolicy",
            NOT_SUPPORTED,
        ),
        (
            "volumeBindingMode",
            json!("Later"),
            "volumeBindingMode",
            NOT_SUPPORTED,
        ),
        ("parameters", json!({"": "x"}), "parameters", INVALID),
    ];
    assert_edits(group, "StorageClass", &class, &edits);
    let updates = [
        ("parameters", json!({"type": "pd-ssd"}), FORBIDDEN),
        ("provisioner", json!("other.example.com"), FORBIDDEN),
        ("reclaimPolicy", json!("Delete"), FORBIDDEN),
        ("volumeBindingMode", json!("Immediate"), INVALID),
    ];
    for (field, value, reason) in updates {
        let changed = with(class.clone(), field, value);
        let causes = validate_update(group, "StorageClass", &changed, &class);
        assert!(has(&causes, field, reason), "{field}");
    }
    let expanded = with(class.clone(), "allowVolumeExpansion", json!(false));
    assert!(validate_update(group, "StorageClass", &expanded, &class).is_empty());
}
