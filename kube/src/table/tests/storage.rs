//! Cells of persistent volumes, claims and storage classes (and of pod templates and
//! disruption budgets).

use super::*;

// --- Storage ------------------------------------------------------------------------

#[test]
fn persistent_volume_cells() {
    let volume = json!({"metadata": metadata("pv-1", 6 * DAY),
        "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                 "persistentVolumeReclaimPolicy": "Retain", "claimRef": {"namespace": "default", "name": "data"},
                 "storageClassName": "standard", "volumeMode": "Filesystem"},
        "status": {"phase": "Bound"}});
    assert_eq!(
        cells("PersistentVolume", volume.clone()),
        json!([
            "pv-1",
            "10Gi",
            "RWO,RWX",
            "Retain",
            "Bound",
            "default/data",
            "standard",
            "<unset>",
            "",
            "6d",
            "Filesystem"
        ]),
    );
    let mut released = volume;
    released["metadata"]["deletionTimestamp"] = json!(ago(1));
    released["metadata"]["annotations"] =
        json!({"volume.beta.kubernetes.io/storage-class": "legacy"});
    released["spec"] = json!({});
    assert_eq!(
        cells("PersistentVolume", released),
        json!([
            "pv-1",
            "0",
            "",
            "",
            "Terminating",
            "",
            "legacy",
            "<unset>",
            "",
            "6d",
            "<unset>"
        ]),
    );
}

#[test]
fn persistent_volume_claim_cells() {
    let bound = json!({"metadata": metadata("data", DAY),
        "spec": {"volumeName": "pv-1", "storageClassName": "standard", "volumeMode": "Block",
                 "resources": {"requests": {"storage": "5Gi"}}},
        "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOncePod"]}});
    assert_eq!(
        cells("PersistentVolumeClaim", bound),
        json!(["data", "Bound", "pv-1", "10Gi", "RWOP", "standard", "<unset>", "24h", "Block"]),
    );
    let pending = json!({"metadata": metadata("new", 30), "spec": {"volumeAttributesClassName": "fast"},
        "status": {"phase": "Pending"}});
    assert_eq!(
        cells("PersistentVolumeClaim", pending),
        json!(["new", "Pending", "", "", "", "", "fast", "30s", "<unset>"]),
    );
}

#[test]
fn storage_class_cells() {
    let mut class = json!({"metadata": metadata("standard", DAY), "provisioner": "rancher.io/local-path",
        "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": true});
    class["metadata"]["annotations"] =
        json!({"storageclass.kubernetes.io/is-default-class": "true"});
    assert_eq!(
        cells("StorageClass", class),
        json!([
            "standard (default)",
            "rancher.io/local-path",
            "Delete",
            "WaitForFirstConsumer",
            true,
            "24h"
        ]),
    );
}

#[test]
fn pod_template_and_disruption_budget_cells() {
    let template =
        json!({"metadata": metadata("tpl", 30), "template": pod_template(json!({"app": "web"}))});
    assert_eq!(
        cells("PodTemplate", template),
        json!(["tpl", "web,log", "nginx:1.27,fluent-bit:3", "app=web"])
    );
    let budget = json!({"metadata": metadata("web", 30), "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}});
    assert_eq!(
        cells("PodDisruptionBudget", budget),
        json!(["web", "50%", "N/A", 1, "30s"])
    );
    let controller = json!({"metadata": metadata("rc", 30), "spec": {"replicas": 2, "selector": {"app": "rc"}},
        "status": {"replicas": 2, "readyReplicas": 2}});
    assert_eq!(
        cells("ReplicationController", controller),
        json!(["rc", 2, 2, 2, "30s", "", "", "app=rc"])
    );
}
