//! Server-side printing: turns objects into the `meta.k8s.io/v1` Table that `kubectl get`
//! asks for, with the columns and cell text of kube-apiserver 1.33's printers
//! (`pkg/printers/internalversion/printers.go`). The server always prints the wide cells;
//! kubectl hides the priority-1 columns unless asked for `-o wide`.

use serde_json::{json, Value};

use crate::time::{days_from_civil, format_rfc3339};

// ---------------------------------------------------------------------------------------
// Table envelope.

/// `apiVersion` of the Table and of the `PartialObjectMetadata` rows it embeds.
const TABLE_API_VERSION: &str = "meta.k8s.io/v1";
const TABLE_KIND: &str = "Table";
const PARTIAL_OBJECT_METADATA_KIND: &str = "PartialObjectMetadata";

/// `includeObject` values (`metav1.IncludeObjectPolicy`); anything else prints metadata,
/// kube's default when the parameter is empty.
const INCLUDE_OBJECT: &str = "Object";
const INCLUDE_NONE: &str = "None";

/// The `ListMeta` fields a Table carries over from the list it prints.
const LIST_META_FIELDS: [&str; 3] = ["resourceVersion", "continue", "remainingItemCount"];

/// Builds the Table for `objects` of kind `kind` (e.g. "Pod"), as the list (or single
/// object) response. `now_unix_ms` is the server clock for the AGE column;
/// `include_object` is the request's `includeObject` ("None" | "Metadata" | "Object").
/// kubectl only sends "Object" when sorting (`--sort-by`); an empty or unknown value
/// embeds `PartialObjectMetadata`, kube's default. `list_metadata` is copied to the
/// Table's metadata (resourceVersion, continue, remainingItemCount).
pub fn to_table(
    kind: &str,
    objects: &[Value],
    list_metadata: Value,
    now_unix_ms: u64,
    include_object: &str,
) -> Value {
    let now = i64::try_from(now_unix_ms).unwrap_or(i64::MAX);
    let printer = printer_for(kind);
    let columns: Vec<Value> = printer.columns.iter().map(column_json).collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|object| table_row(&printer, object, now, include_object))
        .collect();
    json!({
        "kind": TABLE_KIND,
        "apiVersion": TABLE_API_VERSION,
        "metadata": table_metadata(&list_metadata),
        "columnDefinitions": columns,
        "rows": rows,
    })
}

/// Kubernetes' short duration form used in AGE (`duration.HumanDuration`): whole seconds
/// below two minutes ("90s"), then minutes with seconds below ten minutes ("5m3s"),
/// minutes below three hours, hours with minutes below eight hours, hours below two days,
/// days with hours below eight days, days below two years, years with days below eight
/// years, and years beyond.
pub fn human_duration(ms: u64) -> String {
    human_duration_signed(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// Only `ListMeta`'s own fields, and only when set: kube omits empty ones.
fn table_metadata(list_metadata: &Value) -> Value {
    let mut metadata = json!({});
    for field in LIST_META_FIELDS {
        let value = &list_metadata[field];
        let unset = value.is_null() || value.as_str() == Some("");
        if !unset {
            insert(&mut metadata, field, value.clone());
        }
    }
    metadata
}

fn table_row(printer: &Printer, object: &Value, now: i64, include_object: &str) -> Value {
    let mut row = json!({ "cells": (printer.cells)(object, now) });
    if let Some(conditions) = (printer.conditions)(object) {
        insert(&mut row, "conditions", conditions);
    }
    if let Some(embedded) = embedded_object(object, include_object) {
        insert(&mut row, "object", embedded);
    }
    row
}

/// What a row carries of its object, as `asTable` in the apiserver's response handler.
fn embedded_object(object: &Value, include_object: &str) -> Option<Value> {
    match include_object {
        INCLUDE_OBJECT => Some(object.clone()),
        INCLUDE_NONE => None,
        _ => {
            let metadata = nested(object, &["metadata"]).map_or_else(|| json!({}), Value::clone);
            Some(json!({
                "kind": PARTIAL_OBJECT_METADATA_KIND,
                "apiVersion": TABLE_API_VERSION,
                "metadata": metadata,
            }))
        }
    }
}

/// Sets `key` on a JSON object; does nothing to any other value.
fn insert(target: &mut Value, key: &str, value: Value) {
    if let Some(fields) = target.as_object_mut() {
        fields.insert(key.to_string(), value);
    }
}

// ---------------------------------------------------------------------------------------
// Columns.

const STRING: &str = "string";
const INTEGER: &str = "integer";
const BOOLEAN: &str = "boolean";
const DATE: &str = "date";
/// `format` of the column kubectl treats as the object's name.
const NAME_FORMAT: &str = "name";
const NO_FORMAT: &str = "";
/// Always shown.
const STANDARD: u8 = 0;
/// Shown by kubectl only for `-o wide`.
const WIDE: u8 = 1;

/// One `metav1.TableColumnDefinition`.
#[derive(Clone, Copy)]
struct Column {
    name: &'static str,
    kind: &'static str,
    format: &'static str,
    description: &'static str,
    priority: u8,
}

const fn column(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column {
        name,
        kind,
        format: NO_FORMAT,
        description,
        priority: STANDARD,
    }
}

const fn wide(name: &'static str, kind: &'static str, description: &'static str) -> Column {
    Column {
        priority: WIDE,
        ..column(name, kind, description)
    }
}

fn column_json(column: &Column) -> Value {
    json!({
        "name": column.name,
        "type": column.kind,
        "format": column.format,
        "description": column.description,
        "priority": column.priority,
    })
}

// Descriptions. The ObjectMeta ones and the literal ones are kube's exact text; kube
// fills the others from the API types' swagger docs, of which these are the gist.
const NAME_DOC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const CREATION_TIMESTAMP_DOC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const CONTAINERS_DOC: &str = "Names of each container in the template.";
const IMAGES_DOC: &str = "Images referenced by each container in the template.";
const READY_PODS_DOC: &str = "Number of the pod with ready state";
const SELECTOR_DOC: &str = "A label query over pods that should match the replica count.";
const REPLICAS_DOC: &str = "Replicas is the number of desired replicas.";
const CURRENT_REPLICAS_DOC: &str = "Replicas is the most recently observed number of replicas.";
const READY_REPLICAS_DOC: &str = "The number of ready replicas for this replica set.";
const STORAGE_CLASS_DOC: &str = "StorageClass of the pv";
const CLAIM_STORAGE_CLASS_DOC: &str = "StorageClass of the pvc";
const VOLUME_MODE_DOC: &str = "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.";
const ACCESS_MODES_DOC: &str =
    "accessModes contains all ways the volume can be mounted. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes";
const ROLE_REF_DOC: &str = "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.";

const NAME_COLUMN: Column = Column {
    format: NAME_FORMAT,
    ..column("Name", STRING, NAME_DOC)
};
const AGE_COLUMN: Column = column("Age", STRING, CREATION_TIMESTAMP_DOC);
const CONTAINERS_COLUMN: Column = wide("Containers", STRING, CONTAINERS_DOC);
const IMAGES_COLUMN: Column = wide("Images", STRING, IMAGES_DOC);
const SELECTOR_COLUMN: Column = wide("Selector", STRING, SELECTOR_DOC);

/// `rest.DefaultTableConvertor`: kinds without a printer.
const DEFAULT_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Created At", DATE, CREATION_TIMESTAMP_DOC),
];

const POD_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Ready", STRING, "The aggregate readiness state of this pod for accepting traffic."),
    column("Status", STRING, "The aggregate status of the containers in this pod."),
    column("Restarts", STRING, "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
    AGE_COLUMN,
    wide("IP", STRING, "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated."),
    wide("Node", STRING, "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName."),
    wide("Nominated Node", STRING, "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled."),
    wide("Readiness Gates", STRING, "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates"),
];

const POD_TEMPLATE_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Containers", STRING, CONTAINERS_DOC),
    column("Images", STRING, IMAGES_DOC),
    column("Pod Labels", STRING, "The labels for the pod template."),
];

const POD_DISRUPTION_BUDGET_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column(
        "Min Available",
        STRING,
        "The minimum number of pods that must be available.",
    ),
    column(
        "Max Unavailable",
        STRING,
        "The maximum number of pods that may be unavailable.",
    ),
    column(
        "Allowed Disruptions",
        INTEGER,
        "Calculated number of pods that may be disrupted at this time.",
    ),
    AGE_COLUMN,
];

const REPLICATION_CONTROLLER_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Desired", INTEGER, REPLICAS_DOC),
    column("Current", INTEGER, CURRENT_REPLICAS_DOC),
    column(
        "Ready",
        INTEGER,
        "The number of ready replicas for this replication controller.",
    ),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
];

const REPLICA_SET_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Desired", INTEGER, REPLICAS_DOC),
    column("Current", INTEGER, CURRENT_REPLICAS_DOC),
    column("Ready", INTEGER, READY_REPLICAS_DOC),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
];

const DAEMON_SET_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Desired", INTEGER, "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod)."),
    column("Current", INTEGER, "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod."),
    column("Ready", INTEGER, "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready."),
    column("Up-to-date", INTEGER, "The total number of nodes that are running updated daemon pod"),
    column("Available", INTEGER, "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)"),
    column("Node Selector", STRING, "NodeSelector is a selector which must be true for the pod to fit on a node."),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
];

const JOB_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Status", STRING, "Status of the job."),
    column(
        "Completions",
        STRING,
        "The number of pods which reached phase Succeeded.",
    ),
    column("Duration", STRING, "Time required to complete the job."),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
];

const CRON_JOB_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Schedule", STRING, "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron."),
    column("Timezone", STRING, "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones."),
    column("Suspend", BOOLEAN, "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions. Defaults to false."),
    column("Active", INTEGER, "A list of pointers to currently running jobs."),
    column("Last Schedule", STRING, "Information when was the last time the job was successfully scheduled."),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    SELECTOR_COLUMN,
];

const SERVICE_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Type", STRING, "type determines how the Service is exposed. Defaults to ClusterIP."),
    column("Cluster-IP", STRING, "clusterIP is the IP address of the service and is usually assigned randomly."),
    column("External-IP", STRING, "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
    column("Port(s)", STRING, "The list of ports that are exposed by this service."),
    AGE_COLUMN,
    wide("Selector", STRING, "Route service traffic to pods with label keys and values matching this selector."),
];

const INGRESS_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column(
        "Class",
        STRING,
        "The name of the IngressClass resource that should be used for additional configuration",
    ),
    column(
        "Hosts",
        STRING,
        "Hosts that incoming requests are matched against before the ingress rule",
    ),
    column(
        "Address",
        STRING,
        "Address is a list containing ingress points for the load-balancer",
    ),
    column("Ports", STRING, "Ports of TLS configurations that open"),
    AGE_COLUMN,
];

const INGRESS_CLASS_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column(
        "Controller",
        STRING,
        "Controller that is responsible for handling this class",
    ),
    column(
        "Parameters",
        STRING,
        "A reference to a resource with additional parameters",
    ),
    AGE_COLUMN,
];

const STATEFUL_SET_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Ready", STRING, READY_PODS_DOC),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
];

const ENDPOINTS_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column(
        "Endpoints",
        STRING,
        "The set of all endpoints is the union of all subsets.",
    ),
    AGE_COLUMN,
];

const NODE_ADDRESSES_DOC: &str = "List of addresses reachable to the node.";
const NODE_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Status", STRING, "The status of the node"),
    column("Roles", STRING, "The roles of the node"),
    AGE_COLUMN,
    column("Version", STRING, "Kubelet Version reported by the node."),
    wide("Internal-IP", STRING, NODE_ADDRESSES_DOC),
    wide("External-IP", STRING, NODE_ADDRESSES_DOC),
    wide("OS-Image", STRING, "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy))."),
    wide("Kernel-Version", STRING, "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64)."),
    wide("Container-Runtime", STRING, "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2)."),
];

const EVENT_COLUMNS: &[Column] = &[
    column("Last Seen", STRING, "The time at which the most recent occurrence of this event was recorded."),
    column("Type", STRING, "Type of this event (Normal, Warning), new types could be added in the future"),
    column("Reason", STRING, "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
    column("Object", STRING, "The object that this event is about."),
    wide("Subobject", STRING, "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]."),
    wide("Source", STRING, "The component reporting this event. Should be a short machine understandable string."),
    column("Message", STRING, "A human-readable description of the status of this operation."),
    wide("First Seen", STRING, "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)"),
    wide("Count", STRING, "The number of times this event has occurred."),
    Column {
        format: NAME_FORMAT,
        ..wide("Name", STRING, NAME_DOC)
    },
];

const NAMESPACE_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Status", STRING, "The status of the namespace"),
    AGE_COLUMN,
];

const SECRET_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Type", STRING, "Used to facilitate programmatic handling of secret data."),
    column("Data", STRING, "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'."),
    AGE_COLUMN,
];

const SERVICE_ACCOUNT_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Secrets", STRING, "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use."),
    AGE_COLUMN,
];

const PERSISTENT_VOLUME_COLUMNS: &[Column] = &[
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

const PERSISTENT_VOLUME_CLAIM_COLUMNS: &[Column] = &[
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

const DEPLOYMENT_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Ready", STRING, READY_PODS_DOC),
    column("Up-to-date", STRING, "Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
    column("Available", STRING, "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
    AGE_COLUMN,
    CONTAINERS_COLUMN,
    IMAGES_COLUMN,
    wide("Selector", STRING, "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment."),
];

const HORIZONTAL_POD_AUTOSCALER_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Reference", STRING, "scaleTargetRef points to the target resource to scale, and is used to the pods for which metrics should be collected, as well as to actually change the replica count."),
    column("Targets", STRING, "metrics contains the specifications for which to use to calculate the desired replica count (the maximum replica count across all metrics will be used)."),
    column("MinPods", STRING, "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down."),
    column("MaxPods", STRING, "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up."),
    column("Replicas", STRING, "currentReplicas is current number of replicas of pods managed by this autoscaler, as last seen by the autoscaler."),
    AGE_COLUMN,
];

const CONFIG_MAP_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Data", STRING, "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'."),
    AGE_COLUMN,
];

const NETWORK_POLICY_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column(
        "Pod-Selector",
        STRING,
        "Selects the pods to which this NetworkPolicy object applies.",
    ),
    AGE_COLUMN,
];

const ROLE_BINDING_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Role", STRING, ROLE_REF_DOC),
    AGE_COLUMN,
    wide("Users", STRING, "Users in the roleBinding"),
    wide("Groups", STRING, "Groups in the roleBinding"),
    wide(
        "ServiceAccounts",
        STRING,
        "ServiceAccounts in the roleBinding",
    ),
];

const CLUSTER_ROLE_BINDING_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Role", STRING, ROLE_REF_DOC),
    AGE_COLUMN,
    wide("Users", STRING, "Users in the clusterRoleBinding"),
    wide("Groups", STRING, "Groups in the clusterRoleBinding"),
    wide(
        "ServiceAccounts",
        STRING,
        "ServiceAccounts in the clusterRoleBinding",
    ),
];

const LEASE_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column(
        "Holder",
        STRING,
        "holderIdentity contains the identity of the holder of a current lease.",
    ),
    AGE_COLUMN,
];

const STORAGE_CLASS_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Provisioner", STRING, "provisioner indicates the type of the provisioner."),
    column("ReclaimPolicy", STRING, "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this storage class. Defaults to Delete."),
    column("VolumeBindingMode", STRING, "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound. When unset, VolumeBindingImmediate is used."),
    column("AllowVolumeExpansion", STRING, "allowVolumeExpansion shows whether the storage class allow volume expand."),
    AGE_COLUMN,
];

const CONTROLLER_REVISION_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Controller", STRING, "Controller of the object"),
    column(
        "Revision",
        STRING,
        "Revision indicates the revision of the state represented by Data.",
    ),
    AGE_COLUMN,
];

const RESOURCE_QUOTA_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Request", STRING, "Request represents a minimum amount of cpu/memory that a container may consume."),
    column("Limit", STRING, "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
    AGE_COLUMN,
];

const PRIORITY_CLASS_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Value", INTEGER, "value represents the integer value of this priority class."),
    column("Global-Default", BOOLEAN, "globalDefault specifies whether this PriorityClass should be considered as the default priority for pods that do not have any priority class."),
    AGE_COLUMN,
    column("PreemptionPolicy", STRING, "preemptionPolicy is the Policy for preempting pods with lower priority."),
];

const RUNTIME_CLASS_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column("Handler", STRING, "handler specifies the underlying runtime and configuration that the CRI implementation will use to handle pods of this class."),
    AGE_COLUMN,
];

const ENDPOINT_SLICE_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column(
        "AddressType",
        STRING,
        "addressType specifies the type of address carried by this EndpointSlice.",
    ),
    column(
        "Ports",
        STRING,
        "ports specifies the list of network ports exposed by each endpoint in this slice.",
    ),
    column(
        "Endpoints",
        STRING,
        "endpoints is a list of unique endpoints in this slice.",
    ),
    AGE_COLUMN,
];

const WEBHOOK_CONFIGURATION_COLUMNS: &[Column] = &[
    NAME_COLUMN,
    column(
        "Webhooks",
        INTEGER,
        "Webhooks indicates the number of webhooks registered in this configuration",
    ),
    AGE_COLUMN,
];

// ---------------------------------------------------------------------------------------
// Printers: which columns a kind has and how its cells are filled.

type CellsFn = fn(&Value, i64) -> Vec<Value>;
type ConditionsFn = fn(&Value) -> Option<Value>;

struct Printer {
    columns: &'static [Column],
    cells: CellsFn,
    conditions: ConditionsFn,
}

fn printer_for(kind: &str) -> Printer {
    let (columns, cells): (&'static [Column], CellsFn) = match kind {
        "Pod" => {
            return Printer {
                columns: POD_COLUMNS,
                cells: pod_cells,
                conditions: pod_row_conditions,
            }
        }
        "PodTemplate" => (POD_TEMPLATE_COLUMNS, pod_template_cells),
        "PodDisruptionBudget" => (POD_DISRUPTION_BUDGET_COLUMNS, pod_disruption_budget_cells),
        "ReplicationController" => (REPLICATION_CONTROLLER_COLUMNS, replication_controller_cells),
        "ReplicaSet" => (REPLICA_SET_COLUMNS, replica_set_cells),
        "DaemonSet" => (DAEMON_SET_COLUMNS, daemon_set_cells),
        "Job" => (JOB_COLUMNS, job_cells),
        "CronJob" => (CRON_JOB_COLUMNS, cron_job_cells),
        "Service" => (SERVICE_COLUMNS, service_cells),
        "Ingress" => (INGRESS_COLUMNS, ingress_cells),
        "IngressClass" => (INGRESS_CLASS_COLUMNS, ingress_class_cells),
        "StatefulSet" => (STATEFUL_SET_COLUMNS, stateful_set_cells),
        "Endpoints" => (ENDPOINTS_COLUMNS, endpoints_cells),
        "Node" => (NODE_COLUMNS, node_cells),
        "Event" => (EVENT_COLUMNS, event_cells),
        "Namespace" => (NAMESPACE_COLUMNS, namespace_cells),
        "Secret" => (SECRET_COLUMNS, secret_cells),
        "ServiceAccount" => (SERVICE_ACCOUNT_COLUMNS, service_account_cells),
        "PersistentVolume" => (PERSISTENT_VOLUME_COLUMNS, persistent_volume_cells),
        "PersistentVolumeClaim" => (
            PERSISTENT_VOLUME_CLAIM_COLUMNS,
            persistent_volume_claim_cells,
        ),
        "Deployment" => (DEPLOYMENT_COLUMNS, deployment_cells),
        "HorizontalPodAutoscaler" => (HORIZONTAL_POD_AUTOSCALER_COLUMNS, autoscaler_cells),
        "ConfigMap" => (CONFIG_MAP_COLUMNS, config_map_cells),
        "NetworkPolicy" => (NETWORK_POLICY_COLUMNS, network_policy_cells),
        "RoleBinding" => (ROLE_BINDING_COLUMNS, role_binding_cells),
        "ClusterRoleBinding" => (CLUSTER_ROLE_BINDING_COLUMNS, role_binding_cells),
        "Lease" => (LEASE_COLUMNS, lease_cells),
        "StorageClass" => (STORAGE_CLASS_COLUMNS, storage_class_cells),
        "ControllerRevision" => (CONTROLLER_REVISION_COLUMNS, controller_revision_cells),
        "ResourceQuota" => (RESOURCE_QUOTA_COLUMNS, resource_quota_cells),
        "PriorityClass" => (PRIORITY_CLASS_COLUMNS, priority_class_cells),
        "RuntimeClass" => (RUNTIME_CLASS_COLUMNS, runtime_class_cells),
        "EndpointSlice" => (ENDPOINT_SLICE_COLUMNS, endpoint_slice_cells),
        "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration" => {
            (WEBHOOK_CONFIGURATION_COLUMNS, webhook_configuration_cells)
        }
        // Role, ClusterRole, LimitRange and every kind kube has no printer for.
        _ => (DEFAULT_COLUMNS, default_cells),
    };
    Printer {
        columns,
        cells,
        conditions: no_conditions,
    }
}

fn no_conditions(_object: &Value) -> Option<Value> {
    None
}

// ---------------------------------------------------------------------------------------
// Shared cell text.

/// kube's placeholders for absent values.
const NONE: &str = "<none>";
const UNSET: &str = "<unset>";
const UNKNOWN: &str = "<unknown>";
const PENDING: &str = "<pending>";
const NOT_APPLICABLE: &str = "N/A";
/// `FormatLabelSelector` of a selector kube cannot parse.
const SELECTOR_ERROR: &str = "<error>";
/// `printDeployment`'s own word for the same.
const SELECTOR_INVALID: &str = "<invalid>";
/// `Quantity.String()` of a nil quantity pointer.
const NIL_QUANTITY: &str = "<nil>";
/// `Quantity.String()` of the zero quantity (a missing map entry).
const ZERO_QUANTITY: &str = "0";
/// How many endpoints, ports, hosts or metrics a cell lists before "+ N more...".
const LIST_LIMIT: usize = 3;
const METRICS_LIMIT: usize = 2;

fn text_cell(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

fn int_cell(number: i64) -> Value {
    Value::from(number)
}

/// The value at `path`, or `Null` when any step is missing or not an object.
fn at<'a>(value: &'a Value, path: &[&str]) -> &'a Value {
    path.iter().fold(value, |current, key| &current[*key])
}

fn text<'a>(value: &'a Value, path: &[&str]) -> &'a str {
    at(value, path).as_str().unwrap_or("")
}

/// An integer field; kube's zero value when missing or mistyped.
fn integer(value: &Value, path: &[&str]) -> i64 {
    optional_integer(value, path).unwrap_or(0)
}

/// An integer pointer field: `None` when missing.
fn optional_integer(value: &Value, path: &[&str]) -> Option<i64> {
    let field = at(value, path);
    field
        .as_i64()
        .or_else(|| field.as_u64().map(|_| i64::MAX))
        .or_else(|| field.as_f64().map(|float| float as i64))
}

fn boolean(value: &Value, path: &[&str]) -> bool {
    at(value, path).as_bool().unwrap_or(false)
}

fn items<'a>(value: &'a Value, path: &[&str]) -> &'a [Value] {
    at(value, path).as_array().map_or(&[], Vec::as_slice)
}

fn entry_count(value: &Value, path: &[&str]) -> usize {
    at(value, path).as_object().map_or(0, |fields| fields.len())
}

/// Whether a pointer field is set: present and not null.
fn is_set(value: &Value, path: &[&str]) -> bool {
    !at(value, path).is_null()
}

/// A struct pointer field (`*ContainerStateTerminated` and the like): set when an object.
fn nested<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    Some(at(value, path)).filter(|field| field.is_object())
}

fn name(object: &Value) -> &str {
    text(object, &["metadata", "name"])
}

fn is_deleting(object: &Value) -> bool {
    is_set(object, &["metadata", "deletionTimestamp"])
}

fn or_placeholder<'a>(text: &'a str, placeholder: &'a str) -> &'a str {
    if text.is_empty() {
        placeholder
    } else {
        text
    }
}

/// The AGE cell: `translateTimestampSince(metadata.creationTimestamp)`.
fn age(object: &Value, now: i64) -> Value {
    text_cell(since(
        timestamp(object, &["metadata", "creationTimestamp"]),
        now,
    ))
}

/// `translateTimestampSince`: "<unknown>" for a zero (missing or unreadable) time.
fn since(time_ms: Option<i64>, now: i64) -> String {
    match time_ms {
        Some(time_ms) => human_duration_signed(now.saturating_sub(time_ms)),
        None => UNKNOWN.to_string(),
    }
}

/// A timestamp field in unix ms; `None` for Go's zero time, as `IsZero` sees it.
fn timestamp(value: &Value, path: &[&str]) -> Option<i64> {
    time_value(at(value, path))
}

/// A timestamp value in unix ms; `None` when missing, unreadable or Go's zero time.
fn time_value(value: &Value) -> Option<i64> {
    value
        .as_str()
        .and_then(parse_rfc3339_ms)
        .filter(|time_ms| *time_ms != ZERO_TIME_MS)
}

/// `layoutContainerCells`: container names and images, comma-joined.
fn container_cells(pod_spec: &Value) -> [Value; 2] {
    let containers = items(pod_spec, &["containers"]);
    let names: Vec<&str> = containers.iter().map(|c| text(c, &["name"])).collect();
    let images: Vec<&str> = containers.iter().map(|c| text(c, &["image"])).collect();
    [text_cell(names.join(",")), text_cell(images.join(","))]
}

/// `labels.FormatLabels`: sorted "key=value" pairs, or "<none>".
fn format_labels(labels: &Value) -> String {
    let mut pairs: Vec<String> = labels
        .as_object()
        .map(|fields| {
            fields
                .iter()
                .map(|(key, value)| format!("{key}={}", value.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    pairs.sort();
    or_placeholder(&pairs.join(","), NONE).to_string()
}

/// `metav1.FormatLabelSelector`: "<error>" for an invalid selector, "<none>" for one
/// that selects everything or nothing.
fn format_label_selector(selector: &Value) -> String {
    match selector_string(selector) {
        Some(rendered) => or_placeholder(&rendered, NONE).to_string(),
        None => SELECTOR_ERROR.to_string(),
    }
}

/// `LabelSelectorAsSelector(selector).String()`: requirements sorted by key; `None` when
/// the selector is invalid. Label key and value syntax is validation's job, not checked.
fn selector_string(selector: &Value) -> Option<String> {
    let mut requirements: Vec<(String, String)> = Vec::new();
    if let Some(labels) = selector["matchLabels"].as_object() {
        for (key, value) in labels {
            requirements.push((key.clone(), format!("{key}={}", value.as_str()?)));
        }
    }
    for expression in items(selector, &["matchExpressions"]) {
        let key = text(expression, &["key"]);
        requirements.push((key.to_string(), expression_string(expression)?));
    }
    requirements.sort_by(|left, right| left.0.cmp(&right.0));
    let rendered: Vec<String> = requirements.into_iter().map(|(_, text)| text).collect();
    Some(rendered.join(","))
}

/// One `matchExpressions` entry as `labels.Requirement.String()` prints it.
fn expression_string(expression: &Value) -> Option<String> {
    let key = text(expression, &["key"]);
    let mut values = Vec::new();
    for value in items(expression, &["values"]) {
        values.push(value.as_str()?);
    }
    values.sort_unstable();
    let set = format!("({})", values.join(","));
    match (text(expression, &["operator"]), values.is_empty()) {
        ("In", false) => Some(format!("{key} in {set}")),
        ("NotIn", false) => Some(format!("{key} notin {set}")),
        ("Exists", true) => Some(key.to_string()),
        ("DoesNotExist", true) => Some(format!("!{key}")),
        _ => None,
    }
}

/// `resource.Quantity.String()` of a stored quantity. kube prints the canonical form;
/// this prints the text as stored, which is the same whenever the stored text is
/// canonical ("100m", "1Gi").
/// A quantity as kube prints it: canonical ("1000m" is "1"); as stored if it does not
/// parse.
fn quantity_text(quantity: &Value) -> Option<String> {
    let text = match quantity {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        _ => return None,
    };
    Some(match crate::quantity::parse_with_format(&text) {
        Ok((parsed, format)) => parsed.to_canonical_string(format),
        Err(_) => text,
    })
}

/// A quantity map entry (`map[ResourceName]Quantity`): "0" when missing.
fn quantity_entry(quantities: &Value, resource: &str) -> String {
    quantity_text(&quantities[resource]).unwrap_or_else(|| ZERO_QUANTITY.to_string())
}

/// A `*Quantity` field: "<nil>" when missing.
fn quantity_pointer(value: &Value, path: &[&str]) -> String {
    quantity_text(at(value, path)).unwrap_or_else(|| NIL_QUANTITY.to_string())
}

/// `listWithMoreString`: up to three items, then "+ N more...", or "<unset>".
fn list_with_more(all: &[String]) -> String {
    let shown = all
        .iter()
        .take(LIST_LIMIT)
        .cloned()
        .collect::<Vec<_>>()
        .join(",");
    if all.len() > LIST_LIMIT {
        return format!("{shown} + {} more...", all.len() - LIST_LIMIT);
    }
    or_placeholder(&shown, UNSET).to_string()
}

/// `net.JoinHostPort`: brackets around IPv6 hosts.
fn join_host_port(host: &str, port: i64) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `printBoolPtr`.
fn bool_pointer_text(value: &Value) -> &'static str {
    match value.as_bool() {
        Some(true) => "True",
        Some(false) => "False",
        None => UNSET,
    }
}

/// `IntOrString.String()` of a set field.
fn int_or_string_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The status of the first condition of `kind`, as the printers' `has*Condition` read it.
fn condition_is_true(conditions: &[Value], kind: &str) -> bool {
    conditions
        .iter()
        .find(|condition| text(condition, &["type"]) == kind)
        .is_some_and(|condition| text(condition, &["status"]) == "True")
}

// ---------------------------------------------------------------------------------------
// Pods.

const POD_SUCCEEDED: &str = "Succeeded";
const POD_FAILED: &str = "Failed";
/// Reason the node lifecycle controller gives pods on a node that stopped reporting.
const NODE_LOST_REASON: &str = "NodeLost";
const SCHEDULING_GATED_REASON: &str = "SchedulingGated";
const POD_INITIALIZING_REASON: &str = "PodInitializing";
const COMPLETED_REASON: &str = "Completed";
/// `restartPolicy` that makes an init container a sidecar.
const RESTART_ALWAYS: &str = "Always";

/// What `printPod` gathers from the container statuses.
struct PodSummary {
    ready: i64,
    total: i64,
    reason: String,
    restarts: i64,
    /// Latest `lastState.terminated.finishedAt`; `None` is Go's zero time.
    last_restart_ms: Option<i64>,
}

fn pod_cells(pod: &Value, now: i64) -> Vec<Value> {
    let summary = summarize_pod(pod);
    let restarts = match summary.last_restart_ms {
        Some(last) if summary.restarts != 0 => {
            format!("{} ({} ago)", summary.restarts, since(Some(last), now))
        }
        _ => summary.restarts.to_string(),
    };
    vec![
        text_cell(name(pod)),
        text_cell(format!("{}/{}", summary.ready, summary.total)),
        text_cell(summary.reason),
        text_cell(restarts),
        age(pod, now),
        text_cell(or_placeholder(pod_ip(pod), NONE)),
        text_cell(or_placeholder(text(pod, &["spec", "nodeName"]), NONE)),
        text_cell(or_placeholder(
            text(pod, &["status", "nominatedNodeName"]),
            NONE,
        )),
        text_cell(readiness_gates(pod)),
    ]
}

/// `printPod`'s status, readiness and restart logic (kube 1.33).
fn summarize_pod(pod: &Value) -> PodSummary {
    let phase = text(pod, &["status", "phase"]);
    let conditions = items(pod, &["status", "conditions"]);
    let sidecars = items(pod, &["spec", "initContainers"])
        .iter()
        .filter(|container| is_sidecar(container))
        .count();
    let mut summary = PodSummary {
        ready: 0,
        total: (items(pod, &["spec", "containers"]).len() + sidecars) as i64,
        reason: or_placeholder(text(pod, &["status", "reason"]), phase).to_string(),
        restarts: 0,
        last_restart_ms: None,
    };
    let gated = conditions.iter().any(|condition| {
        text(condition, &["type"]) == "PodScheduled"
            && text(condition, &["reason"]) == SCHEDULING_GATED_REASON
    });
    if gated {
        summary.reason = SCHEDULING_GATED_REASON.to_string();
    }
    let init_walk = summarize_init_containers(pod, &mut summary);
    if !init_walk.initializing || condition_is_true(conditions, "Initialized") {
        // Only sidecar restarts still count once the pod has initialized.
        summary.restarts = init_walk.count;
        summary.last_restart_ms = init_walk.last_ms;
        summarize_containers(pod, &mut summary);
    }
    if is_deleting(pod) && text(pod, &["status", "reason"]) == NODE_LOST_REASON {
        summary.reason = "Unknown".to_string();
    } else if is_deleting(pod) && phase != POD_SUCCEEDED && phase != POD_FAILED {
        summary.reason = "Terminating".to_string();
    }
    summary
}

/// An init container with `restartPolicy: Always` runs beside the app containers.
fn is_sidecar(container: &Value) -> bool {
    text(container, &["restartPolicy"]) == RESTART_ALWAYS
}

/// The spec of the init container a status reports on (the last of that name, as
/// kube's map keeps it).
fn init_container_spec<'a>(pod: &'a Value, container_name: &str) -> Option<&'a Value> {
    items(pod, &["spec", "initContainers"])
        .iter()
        .rev()
        .find(|container| text(container, &["name"]) == container_name)
}

/// What the init container walk found besides the pod summary.
struct InitContainerWalk {
    initializing: bool,
    /// Restarts of sidecars alone, and when one last stopped.
    count: i64,
    last_ms: Option<i64>,
}

/// Walks the init container statuses until the first one still initializing, counting
/// restarts (all of them into `summary`, the sidecars' also apart).
fn summarize_init_containers(pod: &Value, summary: &mut PodSummary) -> InitContainerWalk {
    let init_count = items(pod, &["spec", "initContainers"]).len();
    let mut walk = InitContainerWalk {
        initializing: false,
        count: 0,
        last_ms: None,
    };
    for (index, status) in items(pod, &["status", "initContainerStatuses"])
        .iter()
        .enumerate()
    {
        let restart_count = integer(status, &["restartCount"]);
        let finished = last_termination(status);
        summary.restarts = summary.restarts.saturating_add(restart_count);
        summary.last_restart_ms = later(summary.last_restart_ms, finished);
        let sidecar = init_container_spec(pod, text(status, &["name"])).is_some_and(is_sidecar);
        if sidecar {
            walk.count = walk.count.saturating_add(restart_count);
            walk.last_ms = later(walk.last_ms, finished);
        }
        let terminated = nested(status, &["state", "terminated"]);
        let waiting_reason = text(status, &["state", "waiting", "reason"]);
        if terminated.is_some_and(|state| integer(state, &["exitCode"]) == 0) {
            continue;
        }
        if sidecar && boolean(status, &["started"]) {
            if boolean(status, &["ready"]) {
                summary.ready += 1;
            }
            continue;
        }
        summary.reason = if let Some(state) = terminated {
            format!("Init:{}", termination_reason(state))
        } else if !waiting_reason.is_empty() && waiting_reason != POD_INITIALIZING_REASON {
            format!("Init:{waiting_reason}")
        } else {
            format!("Init:{index}/{init_count}")
        };
        walk.initializing = true;
        break;
    }
    walk
}

/// Walks the app container statuses from last to first, so the first container's state
/// wins the STATUS column.
fn summarize_containers(pod: &Value, summary: &mut PodSummary) {
    let mut has_running = false;
    for status in items(pod, &["status", "containerStatuses"]).iter().rev() {
        summary.restarts = summary
            .restarts
            .saturating_add(integer(status, &["restartCount"]));
        summary.last_restart_ms = later(summary.last_restart_ms, last_termination(status));
        let waiting_reason = text(status, &["state", "waiting", "reason"]);
        if !waiting_reason.is_empty() {
            summary.reason = waiting_reason.to_string();
        } else if let Some(terminated) = nested(status, &["state", "terminated"]) {
            summary.reason = termination_reason(terminated);
        } else if boolean(status, &["ready"]) && nested(status, &["state", "running"]).is_some() {
            has_running = true;
            summary.ready += 1;
        }
    }
    // A pod whose containers all exited reads "Completed" unless one is still running.
    if summary.reason == COMPLETED_REASON && has_running {
        let ready = condition_is_true(items(pod, &["status", "conditions"]), "Ready");
        summary.reason = if ready { "Running" } else { "NotReady" }.to_string();
    }
}

/// A terminated state's reason, else "Signal:N", else "ExitCode:N".
fn termination_reason(terminated: &Value) -> String {
    let reason = text(terminated, &["reason"]);
    let signal = integer(terminated, &["signal"]);
    if !reason.is_empty() {
        reason.to_string()
    } else if signal != 0 {
        format!("Signal:{signal}")
    } else {
        format!("ExitCode:{}", integer(terminated, &["exitCode"]))
    }
}

/// When the container last stopped, from `lastState.terminated.finishedAt`.
fn last_termination(status: &Value) -> Option<i64> {
    nested(status, &["lastState", "terminated"])
        .and_then(|terminated| timestamp(terminated, &["finishedAt"]))
}

/// The later of two times, where `None` (Go's zero time) is earliest.
fn later(current: Option<i64>, candidate: Option<i64>) -> Option<i64> {
    match (current, candidate) {
        (Some(current), Some(candidate)) => Some(current.max(candidate)),
        (current, candidate) => current.or(candidate),
    }
}

/// The first pod IP. `status.podIP` wins, as in kube's v1 to internal conversion.
fn pod_ip(pod: &Value) -> &str {
    let primary = text(pod, &["status", "podIP"]);
    if !primary.is_empty() {
        return primary;
    }
    items(pod, &["status", "podIPs"])
        .first()
        .map_or("", |entry| text(entry, &["ip"]))
}

/// "true/total" over the pod's readiness gates, or "<none>".
fn readiness_gates(pod: &Value) -> String {
    let gates = items(pod, &["spec", "readinessGates"]);
    if gates.is_empty() {
        return NONE.to_string();
    }
    let conditions = items(pod, &["status", "conditions"]);
    let passing = gates
        .iter()
        .filter(|gate| condition_is_true(conditions, text(gate, &["conditionType"])))
        .count();
    format!("{passing}/{}", gates.len())
}

/// Finished pods carry a `Completed` row condition, which kubectl reads.
fn pod_row_conditions(pod: &Value) -> Option<Value> {
    let (reason, message) = match text(pod, &["status", "phase"]) {
        POD_SUCCEEDED => (POD_SUCCEEDED, "The pod has completed successfully."),
        POD_FAILED => (POD_FAILED, "The pod failed."),
        _ => return None,
    };
    Some(json!([{
        "type": "Completed",
        "status": "True",
        "reason": reason,
        "message": message,
    }]))
}

fn pod_template_cells(template: &Value, _now: i64) -> Vec<Value> {
    let [names, images] = container_cells(at(template, &["template", "spec"]));
    vec![
        text_cell(name(template)),
        names,
        images,
        text_cell(format_labels(at(
            template,
            &["template", "metadata", "labels"],
        ))),
    ]
}

fn pod_disruption_budget_cells(budget: &Value, now: i64) -> Vec<Value> {
    let bound = |field: &str| {
        int_or_string_text(at(budget, &["spec", field]))
            .unwrap_or_else(|| NOT_APPLICABLE.to_string())
    };
    vec![
        text_cell(name(budget)),
        text_cell(bound("minAvailable")),
        text_cell(bound("maxUnavailable")),
        int_cell(integer(budget, &["status", "disruptionsAllowed"])),
        age(budget, now),
    ]
}

// ---------------------------------------------------------------------------------------
// Workloads.

fn replication_controller_cells(controller: &Value, now: i64) -> Vec<Value> {
    let [names, images] = container_cells(at(controller, &["spec", "template", "spec"]));
    vec![
        text_cell(name(controller)),
        int_cell(integer(controller, &["spec", "replicas"])),
        int_cell(integer(controller, &["status", "replicas"])),
        int_cell(integer(controller, &["status", "readyReplicas"])),
        age(controller, now),
        names,
        images,
        text_cell(format_labels(at(controller, &["spec", "selector"]))),
    ]
}

fn replica_set_cells(replica_set: &Value, now: i64) -> Vec<Value> {
    let [names, images] = container_cells(at(replica_set, &["spec", "template", "spec"]));
    vec![
        text_cell(name(replica_set)),
        int_cell(integer(replica_set, &["spec", "replicas"])),
        int_cell(integer(replica_set, &["status", "replicas"])),
        int_cell(integer(replica_set, &["status", "readyReplicas"])),
        age(replica_set, now),
        names,
        images,
        text_cell(format_label_selector(at(
            replica_set,
            &["spec", "selector"],
        ))),
    ]
}

fn deployment_cells(deployment: &Value, now: i64) -> Vec<Value> {
    let [names, images] = container_cells(at(deployment, &["spec", "template", "spec"]));
    // Unlike the other printers, an empty deployment selector prints as "".
    let selector = selector_string(at(deployment, &["spec", "selector"]))
        .unwrap_or_else(|| SELECTOR_INVALID.to_string());
    let ready = integer(deployment, &["status", "readyReplicas"]);
    let desired = integer(deployment, &["spec", "replicas"]);
    vec![
        text_cell(name(deployment)),
        text_cell(format!("{ready}/{desired}")),
        int_cell(integer(deployment, &["status", "updatedReplicas"])),
        int_cell(integer(deployment, &["status", "availableReplicas"])),
        age(deployment, now),
        names,
        images,
        text_cell(selector),
    ]
}

fn stateful_set_cells(stateful_set: &Value, now: i64) -> Vec<Value> {
    let [names, images] = container_cells(at(stateful_set, &["spec", "template", "spec"]));
    let ready = integer(stateful_set, &["status", "readyReplicas"]);
    let desired = integer(stateful_set, &["spec", "replicas"]);
    vec![
        text_cell(name(stateful_set)),
        text_cell(format!("{ready}/{desired}")),
        age(stateful_set, now),
        names,
        images,
    ]
}

fn daemon_set_cells(daemon_set: &Value, now: i64) -> Vec<Value> {
    let pod_spec = at(daemon_set, &["spec", "template", "spec"]);
    let [names, images] = container_cells(pod_spec);
    let count = |field: &str| int_cell(integer(daemon_set, &["status", field]));
    vec![
        text_cell(name(daemon_set)),
        count("desiredNumberScheduled"),
        count("currentNumberScheduled"),
        count("numberReady"),
        count("updatedNumberScheduled"),
        count("numberAvailable"),
        text_cell(format_labels(&pod_spec["nodeSelector"])),
        age(daemon_set, now),
        names,
        images,
        text_cell(format_label_selector(at(daemon_set, &["spec", "selector"]))),
    ]
}

fn job_cells(job: &Value, now: i64) -> Vec<Value> {
    let [names, images] = container_cells(at(job, &["spec", "template", "spec"]));
    vec![
        text_cell(name(job)),
        text_cell(job_status(job)),
        text_cell(job_completions(job)),
        text_cell(job_duration(job, now)),
        age(job, now),
        names,
        images,
        text_cell(format_label_selector(at(job, &["spec", "selector"]))),
    ]
}

/// The first of these that holds, in kube 1.33's order.
fn job_status(job: &Value) -> &'static str {
    let conditions = items(job, &["status", "conditions"]);
    if condition_is_true(conditions, "Complete") {
        "Complete"
    } else if condition_is_true(conditions, "Failed") {
        "Failed"
    } else if is_deleting(job) {
        "Terminating"
    } else if condition_is_true(conditions, "Suspended") {
        "Suspended"
    } else if condition_is_true(conditions, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

/// "succeeded/completions", or for a work queue "succeeded/1 of parallelism".
fn job_completions(job: &Value) -> String {
    let succeeded = integer(job, &["status", "succeeded"]);
    if let Some(completions) = optional_integer(job, &["spec", "completions"]) {
        return format!("{succeeded}/{completions}");
    }
    let parallelism = integer(job, &["spec", "parallelism"]);
    if parallelism > 1 {
        format!("{succeeded}/1 of {parallelism}")
    } else {
        format!("{succeeded}/1")
    }
}

/// Start to completion, or start to now while running; "" before the job starts.
fn job_duration(job: &Value, now: i64) -> String {
    let Some(started) = at(job, &["status", "startTime"]).as_str() else {
        return String::new();
    };
    let started = parse_rfc3339_ms(started).unwrap_or(ZERO_TIME_MS);
    let ended = match at(job, &["status", "completionTime"]).as_str() {
        Some(completed) => parse_rfc3339_ms(completed).unwrap_or(ZERO_TIME_MS),
        None => now,
    };
    human_duration_signed(ended.saturating_sub(started))
}

fn cron_job_cells(cron_job: &Value, now: i64) -> Vec<Value> {
    let job_spec = at(cron_job, &["spec", "jobTemplate", "spec"]);
    let [names, images] = container_cells(at(job_spec, &["template", "spec"]));
    let last_schedule = match at(cron_job, &["status", "lastScheduleTime"]) {
        Value::Null => NONE.to_string(),
        scheduled => since(time_value(scheduled), now),
    };
    let time_zone = at(cron_job, &["spec", "timeZone"]).as_str().unwrap_or(NONE);
    vec![
        text_cell(name(cron_job)),
        text_cell(text(cron_job, &["spec", "schedule"])),
        text_cell(time_zone),
        text_cell(bool_pointer_text(at(cron_job, &["spec", "suspend"]))),
        int_cell(items(cron_job, &["status", "active"]).len() as i64),
        text_cell(last_schedule),
        age(cron_job, now),
        names,
        images,
        text_cell(format_label_selector(&job_spec["selector"])),
    ]
}

fn autoscaler_cells(autoscaler: &Value, now: i64) -> Vec<Value> {
    let reference = format!(
        "{}/{}",
        text(autoscaler, &["spec", "scaleTargetRef", "kind"]),
        text(autoscaler, &["spec", "scaleTargetRef", "name"]),
    );
    let min_pods = optional_integer(autoscaler, &["spec", "minReplicas"])
        .map_or_else(|| UNSET.to_string(), |min| min.to_string());
    let (specs, statuses) = autoscaler_metrics(autoscaler);
    vec![
        text_cell(name(autoscaler)),
        text_cell(reference),
        text_cell(format_autoscaler_metrics(&specs, &statuses)),
        text_cell(min_pods),
        int_cell(integer(autoscaler, &["spec", "maxReplicas"])),
        int_cell(integer(autoscaler, &["status", "currentReplicas"])),
        age(autoscaler, now),
    ]
}

/// Metric specs and statuses in autoscaling/v2 form; an autoscaling/v1 object's CPU
/// target becomes the one Resource metric kube's conversion makes of it.
fn autoscaler_metrics(autoscaler: &Value) -> (Vec<Value>, Vec<Value>) {
    let specs = items(autoscaler, &["spec", "metrics"]).to_vec();
    let statuses = items(autoscaler, &["status", "currentMetrics"]).to_vec();
    let cpu_target = &autoscaler["spec"]["targetCPUUtilizationPercentage"];
    if !specs.is_empty() || cpu_target.is_null() {
        return (specs, statuses);
    }
    let cpu_spec = json!({"type": "Resource", "resource": {
        "name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu_target}}});
    let cpu_current = &autoscaler["status"]["currentCPUUtilizationPercentage"];
    let cpu_statuses = if cpu_current.is_null() {
        Vec::new()
    } else {
        vec![json!({"type": "Resource", "resource": {
            "name": "cpu", "current": {"averageUtilization": cpu_current}}})]
    };
    (vec![cpu_spec], cpu_statuses)
}

const UNKNOWN_METRIC_TYPE: &str = "<unknown type>";
/// A utilization metric without a target percentage.
const AUTO_TARGET: &str = "<auto>";

/// `formatHPAMetrics`: "current/target" per metric, two of them, then "+ N more...".
fn format_autoscaler_metrics(specs: &[Value], statuses: &[Value]) -> String {
    if specs.is_empty() {
        return NONE.to_string();
    }
    let all: Vec<String> = specs
        .iter()
        .enumerate()
        .map(|(index, spec)| metric_text(spec, statuses.get(index).unwrap_or(&Value::Null)))
        .collect();
    let shown = all
        .iter()
        .take(METRICS_LIMIT)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if all.len() > METRICS_LIMIT {
        return format!("{shown} + {} more...", all.len() - METRICS_LIMIT);
    }
    shown
}

/// One metric of `formatHPAMetrics`; `status` is the current metric at the same index.
fn metric_text(spec: &Value, status: &Value) -> String {
    match text(spec, &["type"]) {
        "External" => value_metric_text(&spec["external"], nested(status, &["external"])),
        "Object" => value_metric_text(&spec["object"], nested(status, &["object"])),
        "Pods" => {
            let current = nested(status, &["pods"]).map_or_else(
                || UNKNOWN.to_string(),
                |pods| quantity_pointer(pods, &["current", "averageValue"]),
            );
            let target = quantity_pointer(spec, &["pods", "target", "averageValue"]);
            format!("{current}/{target}")
        }
        "Resource" => resource_metric_text(&spec["resource"], nested(status, &["resource"])),
        "ContainerResource" => resource_metric_text(
            &spec["containerResource"],
            nested(status, &["containerResource"]),
        ),
        _ => UNKNOWN_METRIC_TYPE.to_string(),
    }
}

/// External and Object metrics: an average value target, else a plain value target.
fn value_metric_text(source: &Value, status: Option<&Value>) -> String {
    if is_set(source, &["target", "averageValue"]) {
        let current = status
            .filter(|status| is_set(status, &["current", "averageValue"]))
            .map_or_else(
                || UNKNOWN.to_string(),
                |status| quantity_pointer(status, &["current", "averageValue"]),
            );
        let target = quantity_pointer(source, &["target", "averageValue"]);
        return format!("{current}/{target} (avg)");
    }
    let current = status.map_or_else(
        || UNKNOWN.to_string(),
        |status| quantity_pointer(status, &["current", "value"]),
    );
    format!(
        "{current}/{}",
        quantity_pointer(source, &["target", "value"])
    )
}

/// Resource and ContainerResource metrics: "cpu: 45%/80%" or "memory: 10Mi/50Mi".
fn resource_metric_text(source: &Value, status: Option<&Value>) -> String {
    let resource = text(source, &["name"]);
    if is_set(source, &["target", "averageValue"]) {
        let current = status.map_or_else(
            || UNKNOWN.to_string(),
            |status| quantity_pointer(status, &["current", "averageValue"]),
        );
        let target = quantity_pointer(source, &["target", "averageValue"]);
        return format!("{resource}: {current}/{target}");
    }
    let current = status
        .and_then(|status| optional_integer(status, &["current", "averageUtilization"]))
        .map_or_else(|| UNKNOWN.to_string(), |percent| format!("{percent}%"));
    let target = optional_integer(source, &["target", "averageUtilization"])
        .map_or_else(|| AUTO_TARGET.to_string(), |percent| format!("{percent}%"));
    format!("{resource}: {current}/{target}")
}

fn controller_revision_cells(revision: &Value, now: i64) -> Vec<Value> {
    let controller = items(revision, &["metadata", "ownerReferences"])
        .iter()
        .find(|owner| boolean(owner, &["controller"]))
        .map_or_else(|| NONE.to_string(), controller_name);
    vec![
        text_cell(name(revision)),
        text_cell(controller),
        int_cell(integer(revision, &["revision"])),
        age(revision, now),
    ]
}

/// `formatResourceName` of a controller reference: "kind.group/name", lower-cased.
fn controller_name(owner: &Value) -> String {
    let owner_name = text(owner, &["name"]);
    let kind = text(owner, &["kind"]);
    let group = match text(owner, &["apiVersion"]).split_once('/') {
        Some((group, _version)) => group,
        None => "",
    };
    let group_kind = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    if group_kind.is_empty() {
        owner_name.to_string()
    } else {
        format!("{}/{owner_name}", group_kind.to_lowercase())
    }
}

// ---------------------------------------------------------------------------------------
// Services and networking.

fn service_cells(service: &Value, now: i64) -> Vec<Value> {
    let spec = &service["spec"];
    let ports = service_ports(items(spec, &["ports"]));
    vec![
        text_cell(name(service)),
        text_cell(text(spec, &["type"])),
        text_cell(service_cluster_ip(spec)),
        text_cell(service_external_ip(service)),
        text_cell(or_placeholder(&ports, NONE)),
        age(service, now),
        text_cell(format_labels(&spec["selector"])),
    ]
}

/// The primary cluster IP. `spec.clusterIP` wins, as in kube's v1 to internal conversion.
fn service_cluster_ip(spec: &Value) -> String {
    let primary = text(spec, &["clusterIP"]);
    if !primary.is_empty() {
        return primary.to_string();
    }
    items(spec, &["clusterIPs"]).first().map_or_else(
        || NONE.to_string(),
        |ip| ip.as_str().unwrap_or("").to_string(),
    )
}

/// `getServiceExternalIP`, in its wide form (no truncation).
fn service_external_ip(service: &Value) -> String {
    let spec = &service["spec"];
    let external_ips: Vec<&str> = items(spec, &["externalIPs"])
        .iter()
        .map(|ip| ip.as_str().unwrap_or(""))
        .collect();
    match text(spec, &["type"]) {
        "ClusterIP" | "NodePort" if external_ips.is_empty() => NONE.to_string(),
        "ClusterIP" | "NodePort" => external_ips.join(","),
        "LoadBalancer" => {
            let ingress = load_balancer_addresses(at(service, &["status", "loadBalancer"]));
            let mut addresses: Vec<&str> = ingress.iter().map(String::as_str).collect();
            addresses.extend(external_ips);
            if addresses.is_empty() {
                PENDING.to_string()
            } else {
                addresses.join(",")
            }
        }
        "ExternalName" => text(spec, &["externalName"]).to_string(),
        _ => UNKNOWN.to_string(),
    }
}

/// The sorted, distinct IPs (or else hostnames) of a load balancer's ingress points.
fn load_balancer_addresses(status: &Value) -> Vec<String> {
    let mut addresses: Vec<String> = items(status, &["ingress"])
        .iter()
        .map(|point| or_placeholder(text(point, &["ip"]), text(point, &["hostname"])))
        .filter(|address| !address.is_empty())
        .map(str::to_string)
        .collect();
    addresses.sort();
    addresses.dedup();
    addresses
}

/// `makePortString`: "port/protocol", or "port:nodePort/protocol".
fn service_ports(ports: &[Value]) -> String {
    let pieces: Vec<String> = ports
        .iter()
        .map(|port| {
            let number = integer(port, &["port"]);
            let protocol = text(port, &["protocol"]);
            let node_port = integer(port, &["nodePort"]);
            if node_port > 0 {
                format!("{number}:{node_port}/{protocol}")
            } else {
                format!("{number}/{protocol}")
            }
        })
        .collect();
    pieces.join(",")
}

fn endpoints_cells(endpoints: &Value, now: i64) -> Vec<Value> {
    vec![
        text_cell(name(endpoints)),
        text_cell(format_endpoints(items(endpoints, &["subsets"]))),
        age(endpoints, now),
    ]
}

/// `formatEndpoints`: ready "ip:port" pairs, three of them, then "+ N more...".
fn format_endpoints(subsets: &[Value]) -> String {
    if subsets.is_empty() {
        return NONE.to_string();
    }
    let mut all: Vec<String> = Vec::new();
    for subset in subsets {
        let addresses = items(subset, &["addresses"]);
        let ips = addresses.iter().map(|address| text(address, &["ip"]));
        let ports = items(subset, &["ports"]);
        if ports.is_empty() {
            // Headless services may have no ports.
            all.extend(ips.map(str::to_string));
            continue;
        }
        for port in ports {
            let number = integer(port, &["port"]);
            let ips = addresses.iter().map(|address| text(address, &["ip"]));
            all.extend(ips.map(|ip| join_host_port(ip, number)));
        }
    }
    let shown = all
        .iter()
        .take(LIST_LIMIT)
        .cloned()
        .collect::<Vec<_>>()
        .join(",");
    if all.len() > LIST_LIMIT {
        return format!("{shown} + {} more...", all.len() - LIST_LIMIT);
    }
    shown
}

fn endpoint_slice_cells(slice: &Value, now: i64) -> Vec<Value> {
    let ports: Vec<String> = items(slice, &["ports"])
        .iter()
        .map(
            |port| match (optional_integer(port, &["port"]), port["name"].as_str()) {
                (Some(number), _) => number.to_string(),
                (None, Some(port_name)) => port_name.to_string(),
                (None, None) => ANY_PORT.to_string(),
            },
        )
        .collect();
    let addresses: Vec<String> = items(slice, &["endpoints"])
        .iter()
        .flat_map(|endpoint| items(endpoint, &["addresses"]))
        .map(|address| address.as_str().unwrap_or("").to_string())
        .collect();
    vec![
        text_cell(name(slice)),
        text_cell(text(slice, &["addressType"])),
        text_cell(list_with_more(&ports)),
        text_cell(list_with_more(&addresses)),
        age(slice, now),
    ]
}

/// What `printIngress` says an ingress listens on, without and with TLS.
const INGRESS_HTTP_PORTS: &str = "80";
const INGRESS_HTTPS_PORTS: &str = "80, 443";
/// An ingress whose rules name no host, or a slice port without number or name.
const ANY_HOST: &str = "*";
const ANY_PORT: &str = "*";

fn ingress_cells(ingress: &Value, now: i64) -> Vec<Value> {
    let class = at(ingress, &["spec", "ingressClassName"])
        .as_str()
        .unwrap_or(NONE);
    let addresses = load_balancer_addresses(at(ingress, &["status", "loadBalancer"]));
    let ports = if items(ingress, &["spec", "tls"]).is_empty() {
        INGRESS_HTTP_PORTS
    } else {
        INGRESS_HTTPS_PORTS
    };
    vec![
        text_cell(name(ingress)),
        text_cell(class),
        text_cell(ingress_hosts(items(ingress, &["spec", "rules"]))),
        text_cell(addresses.join(",")),
        text_cell(ports),
        age(ingress, now),
    ]
}

/// `formatHosts`: the first three hosts named, "*" when none is.
fn ingress_hosts(rules: &[Value]) -> String {
    let mut hosts: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if hosts.len() == LIST_LIMIT {
            more = true;
            break;
        }
        let host = text(rule, &["host"]);
        if !host.is_empty() {
            hosts.push(host);
        }
    }
    if hosts.is_empty() {
        return ANY_HOST.to_string();
    }
    if more {
        return format!("{} + {} more...", hosts.join(","), rules.len() - LIST_LIMIT);
    }
    hosts.join(",")
}

fn ingress_class_cells(class: &Value, now: i64) -> Vec<Value> {
    let parameters = match nested(class, &["spec", "parameters"]) {
        None => NONE.to_string(),
        Some(reference) => {
            let group = match reference["apiGroup"].as_str() {
                Some(group) => format!(".{group}"),
                None => String::new(),
            };
            let kind = text(reference, &["kind"]);
            format!("{kind}{group}/{}", text(reference, &["name"]))
        }
    };
    vec![
        text_cell(name(class)),
        text_cell(text(class, &["spec", "controller"])),
        text_cell(parameters),
        age(class, now),
    ]
}

fn network_policy_cells(policy: &Value, now: i64) -> Vec<Value> {
    vec![
        text_cell(name(policy)),
        text_cell(format_label_selector(at(policy, &["spec", "podSelector"]))),
        age(policy, now),
    ]
}

// ---------------------------------------------------------------------------------------
// Cluster objects.

const NODE_ROLE_LABEL_PREFIX: &str = "node-role.kubernetes.io/";
const LEGACY_NODE_ROLE_LABEL: &str = "kubernetes.io/role";

fn node_cells(node: &Value, now: i64) -> Vec<Value> {
    let info = at(node, &["status", "nodeInfo"]);
    let reported = |field: &str| text_cell(or_placeholder(text(info, &[field]), UNKNOWN));
    vec![
        text_cell(name(node)),
        text_cell(node_status(node)),
        text_cell(or_placeholder(&node_roles(node).join(","), NONE)),
        age(node, now),
        text_cell(text(info, &["kubeletVersion"])),
        text_cell(node_address(node, "InternalIP")),
        text_cell(node_address(node, "ExternalIP")),
        reported("osImage"),
        reported("kernelVersion"),
        reported("containerRuntimeVersion"),
    ]
}

/// "Ready" or "NotReady" from the (last) Ready condition, "Unknown" without one, then
/// ",SchedulingDisabled" for a cordoned node.
fn node_status(node: &Value) -> String {
    let ready = items(node, &["status", "conditions"])
        .iter()
        .rev()
        .find(|condition| text(condition, &["type"]) == "Ready");
    let mut status = match ready {
        Some(condition) if text(condition, &["status"]) == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }
    .to_string();
    if boolean(node, &["spec", "unschedulable"]) {
        status.push_str(",SchedulingDisabled");
    }
    status
}

/// Sorted distinct roles from `node-role.kubernetes.io/<role>` and `kubernetes.io/role`.
fn node_roles(node: &Value) -> Vec<String> {
    let mut roles: Vec<String> = Vec::new();
    if let Some(labels) = at(node, &["metadata", "labels"]).as_object() {
        for (key, value) in labels {
            let role = match key.strip_prefix(NODE_ROLE_LABEL_PREFIX) {
                Some(role) => role,
                None if key == LEGACY_NODE_ROLE_LABEL => value.as_str().unwrap_or(""),
                None => "",
            };
            if !role.is_empty() {
                roles.push(role.to_string());
            }
        }
    }
    roles.sort();
    roles.dedup();
    roles
}

/// The first address of `kind`, or "<none>".
fn node_address(node: &Value, kind: &str) -> String {
    items(node, &["status", "addresses"])
        .iter()
        .find(|address| text(address, &["type"]) == kind)
        .map_or_else(
            || NONE.to_string(),
            |address| text(address, &["address"]).to_string(),
        )
}

fn namespace_cells(namespace: &Value, now: i64) -> Vec<Value> {
    vec![
        text_cell(name(namespace)),
        text_cell(text(namespace, &["status", "phase"])),
        age(namespace, now),
    ]
}

fn lease_cells(lease: &Value, now: i64) -> Vec<Value> {
    vec![
        text_cell(name(lease)),
        text_cell(text(lease, &["spec", "holderIdentity"])),
        age(lease, now),
    ]
}

fn priority_class_cells(class: &Value, now: i64) -> Vec<Value> {
    vec![
        text_cell(name(class)),
        int_cell(integer(class, &["value"])),
        Value::Bool(boolean(class, &["globalDefault"])),
        age(class, now),
        text_cell(text(class, &["preemptionPolicy"])),
    ]
}

fn runtime_class_cells(class: &Value, now: i64) -> Vec<Value> {
    vec![
        text_cell(name(class)),
        text_cell(text(class, &["handler"])),
        age(class, now),
    ]
}

fn webhook_configuration_cells(configuration: &Value, now: i64) -> Vec<Value> {
    vec![
        text_cell(name(configuration)),
        int_cell(items(configuration, &["webhooks"]).len() as i64),
        age(configuration, now),
    ]
}

/// `rest.DefaultTableConvertor`: the name and the creation time in RFC3339 (UTC).
fn default_cells(object: &Value, _now: i64) -> Vec<Value> {
    let created = text(object, &["metadata", "creationTimestamp"]);
    let created_ms = parse_rfc3339_ms(created).unwrap_or(ZERO_TIME_MS);
    vec![
        text_cell(name(object)),
        text_cell(format_rfc3339(created_ms)),
    ]
}

// ---------------------------------------------------------------------------------------
// Configuration and access.

fn config_map_cells(config_map: &Value, now: i64) -> Vec<Value> {
    let entries = entry_count(config_map, &["data"]) + entry_count(config_map, &["binaryData"]);
    vec![
        text_cell(name(config_map)),
        int_cell(entries as i64),
        age(config_map, now),
    ]
}

fn secret_cells(secret: &Value, now: i64) -> Vec<Value> {
    // kube's conversion merges stringData into data, so a key in both counts once.
    let mut keys: Vec<&String> = ["data", "stringData"]
        .iter()
        .filter_map(|field| secret[*field].as_object())
        .flat_map(|fields| fields.keys())
        .collect();
    keys.sort();
    keys.dedup();
    vec![
        text_cell(name(secret)),
        text_cell(text(secret, &["type"])),
        int_cell(keys.len() as i64),
        age(secret, now),
    ]
}

fn service_account_cells(account: &Value, now: i64) -> Vec<Value> {
    vec![
        text_cell(name(account)),
        int_cell(items(account, &["secrets"]).len() as i64),
        age(account, now),
    ]
}

fn role_binding_cells(binding: &Value, now: i64) -> Vec<Value> {
    let role = format!(
        "{}/{}",
        text(binding, &["roleRef", "kind"]),
        text(binding, &["roleRef", "name"]),
    );
    let [users, groups, service_accounts] = binding_subjects(items(binding, &["subjects"]));
    vec![
        text_cell(name(binding)),
        text_cell(role),
        age(binding, now),
        text_cell(users.join(", ")),
        text_cell(groups.join(", ")),
        text_cell(service_accounts.join(", ")),
    ]
}

/// `rbac.SubjectsStrings`: users, groups and "namespace/name" service accounts.
fn binding_subjects(subjects: &[Value]) -> [Vec<String>; 3] {
    let mut users = Vec::new();
    let mut groups = Vec::new();
    let mut service_accounts = Vec::new();
    for subject in subjects {
        let subject_name = text(subject, &["name"]).to_string();
        match text(subject, &["kind"]) {
            "User" => users.push(subject_name),
            "Group" => groups.push(subject_name),
            "ServiceAccount" => {
                let namespace = text(subject, &["namespace"]);
                service_accounts.push(format!("{namespace}/{subject_name}"));
            }
            _ => {}
        }
    }
    [users, groups, service_accounts]
}

/// Resource names whose first dotted part is this go to the Limit column.
const LIMITS_PREFIX: &str = "limits";

fn resource_quota_cells(quota: &Value, now: i64) -> Vec<Value> {
    let hard = at(quota, &["status", "hard"]);
    let used = at(quota, &["status", "used"]);
    let mut resources: Vec<&String> = hard
        .as_object()
        .map_or_else(Vec::new, |f| f.keys().collect());
    resources.sort();
    let mut requests = Vec::new();
    let mut limits = Vec::new();
    for resource in resources {
        let usage = format!(
            "{resource}: {}/{}",
            quantity_entry(used, resource),
            quantity_entry(hard, resource),
        );
        let mut pieces = resource.split('.');
        let first = pieces.next().unwrap_or("");
        if first == LIMITS_PREFIX && pieces.next().is_some() {
            limits.push(usage);
        } else {
            requests.push(usage);
        }
    }
    vec![
        text_cell(name(quota)),
        text_cell(requests.join(", ")),
        text_cell(limits.join(", ")),
        age(quota, now),
    ]
}

// ---------------------------------------------------------------------------------------
// Storage.

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

fn persistent_volume_cells(volume: &Value, now: i64) -> Vec<Value> {
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

fn persistent_volume_claim_cells(claim: &Value, now: i64) -> Vec<Value> {
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

fn storage_class_cells(class: &Value, now: i64) -> Vec<Value> {
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

// ---------------------------------------------------------------------------------------
// Events.

/// `events.k8s.io` events name some fields differently from core/v1 ones.
const EVENTS_GROUP_PREFIX: &str = "events.k8s.io/";

fn event_cells(event: &Value, now: i64) -> Vec<Value> {
    let field = |core: &str, events: &str| -> &Value {
        if text(event, &["apiVersion"]).starts_with(EVENTS_GROUP_PREFIX) {
            &event[events]
        } else {
            &event[core]
        }
    };
    let first_seen = match time_value(field("firstTimestamp", "deprecatedFirstTimestamp")) {
        Some(first) => since(Some(first), now),
        None => since(time_value(&event["eventTime"]), now),
    };
    let mut last_seen = match time_value(field("lastTimestamp", "deprecatedLastTimestamp")) {
        Some(last) => since(Some(last), now),
        None => first_seen.clone(),
    };
    let mut count = optional_integer(field("count", "deprecatedCount"), &[]).unwrap_or(0);
    if let Some(series) = nested(event, &["series"]) {
        last_seen = since(time_value(&series["lastObservedTime"]), now);
        count = integer(series, &["count"]);
    } else if count == 0 {
        // Events of the new API happen once unless they carry a series.
        count = 1;
    }
    let regarding = field("involvedObject", "regarding");
    vec![
        text_cell(last_seen),
        text_cell(text(event, &["type"])),
        text_cell(text(event, &["reason"])),
        text_cell(event_target(regarding)),
        text_cell(text(regarding, &["fieldPath"])),
        text_cell(event_source(event, field("source", "deprecatedSource"))),
        text_cell(field("message", "note").as_str().unwrap_or("").trim()),
        text_cell(first_seen),
        int_cell(count),
        text_cell(name(event)),
    ]
}

/// "kind/name" of the object an event is about, the kind lower-cased.
fn event_target(regarding: &Value) -> String {
    let kind = text(regarding, &["kind"]).to_lowercase();
    match text(regarding, &["name"]) {
        "" => kind,
        target => format!("{kind}/{target}"),
    }
}

/// `formatEventSource`: "component, host", falling back to the reporting controller and
/// instance.
fn event_source(event: &Value, source: &Value) -> String {
    let component = or_placeholder(
        text(source, &["component"]),
        or_placeholder(
            text(event, &["reportingComponent"]),
            text(event, &["reportingController"]),
        ),
    );
    let host = or_placeholder(text(source, &["host"]), text(event, &["reportingInstance"]));
    if host.is_empty() {
        component.to_string()
    } else {
        format!("{component}, {host}")
    }
}

// ---------------------------------------------------------------------------------------
// Time.

const MS_PER_SECOND: i64 = 1_000;
const SECONDS_PER_MINUTE: i64 = 60;
const MINUTES_PER_HOUR: i64 = 60;
const HOURS_PER_DAY: i64 = 24;
const DAYS_PER_YEAR: i64 = 365;
const SECONDS_PER_HOUR: i64 = 3_600;
const SECONDS_PER_DAY: i64 = 86_400;
/// Go's `time.Duration` saturates at ±2^63 ns, about 292 years.
const MAX_DURATION_MS: i64 = i64::MAX / 1_000_000;
/// Go's zero `time.Time` (0001-01-01T00:00:00Z), which kube prints as "<unknown>".
const ZERO_TIME_MS: i64 = -62_135_596_800_000;
/// Fractional-second digits that make up milliseconds.
const FRACTION_MS_DIGITS: usize = 3;

/// `HumanDuration` of a span more than a second negative.
const INVALID_DURATION: &str = "<invalid>";

/// `duration.HumanDuration` of a signed span: "<invalid>" for more than a second in the
/// future, "0s" for less (clock skew between machines). The unit thresholds (2 minutes,
/// 10 minutes, 3 hours, 8 hours, 2 days, 8 days, 2 years, 8 years) are kube's.
fn human_duration_signed(ms: i64) -> String {
    let ms = ms.clamp(-MAX_DURATION_MS, MAX_DURATION_MS);
    let seconds = ms / MS_PER_SECOND;
    if seconds < -1 {
        return INVALID_DURATION.to_string();
    }
    if seconds < 0 {
        return "0s".to_string();
    }
    if seconds < 2 * SECONDS_PER_MINUTE {
        return format!("{seconds}s");
    }
    let minutes = seconds / SECONDS_PER_MINUTE;
    if minutes < 10 {
        return with_remainder(minutes, "m", seconds % SECONDS_PER_MINUTE, "s");
    }
    if minutes < 3 * MINUTES_PER_HOUR {
        return format!("{minutes}m");
    }
    let hours = minutes / MINUTES_PER_HOUR;
    if hours < 8 {
        return with_remainder(hours, "h", minutes % MINUTES_PER_HOUR, "m");
    }
    if hours < 2 * HOURS_PER_DAY {
        return format!("{hours}h");
    }
    let days = hours / HOURS_PER_DAY;
    if hours < 8 * HOURS_PER_DAY {
        return with_remainder(days, "d", hours % HOURS_PER_DAY, "h");
    }
    if hours < 2 * DAYS_PER_YEAR * HOURS_PER_DAY {
        return format!("{days}d");
    }
    let years = days / DAYS_PER_YEAR;
    if hours < 8 * DAYS_PER_YEAR * HOURS_PER_DAY {
        return with_remainder(years, "y", days % DAYS_PER_YEAR, "d");
    }
    format!("{years}y")
}

/// "5m3s", or just "5m" when the smaller unit is zero.
fn with_remainder(whole: i64, unit: &str, remainder: i64, remainder_unit: &str) -> String {
    if remainder == 0 {
        format!("{whole}{unit}")
    } else {
        format!("{whole}{unit}{remainder}{remainder_unit}")
    }
}

/// RFC3339 ("2024-05-01T12:00:00Z", "…T12:00:00.123456+02:00") to unix milliseconds;
/// `None` for anything Go's `time.Parse(time.RFC3339, …)` would refuse.
fn parse_rfc3339_ms(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let field = |start: usize, len: usize| -> Option<i64> {
        let digits = bytes.get(start..start + len)?;
        digits.iter().try_fold(0_i64, |total, digit| {
            Some(total * 10 + digit_value(*digit)?)
        })
    };
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if separators
        .iter()
        .any(|(index, separator)| bytes.get(*index) != Some(separator))
    {
        return None;
    }
    let (year, month, day) = (field(0, 4)?, field(5, 2)?, field(8, 2)?);
    let (hour, minute, second) = (field(11, 2)?, field(14, 2)?, field(17, 2)?);
    let valid_date = (1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day);
    let valid_time =
        hour < HOURS_PER_DAY && minute < MINUTES_PER_HOUR && second < SECONDS_PER_MINUTE;
    if !valid_date || !valid_time {
        return None;
    }
    let (fraction_ms, zone_start) = parse_fraction(bytes, 19)?;
    let offset_seconds = parse_zone(bytes.get(zone_start..)?)?;
    let day_seconds = hour * SECONDS_PER_HOUR + minute * SECONDS_PER_MINUTE + second;
    let seconds =
        days_from_civil(year, month, day) * SECONDS_PER_DAY + day_seconds - offset_seconds;
    Some(seconds * MS_PER_SECOND + fraction_ms)
}

/// Optional ".digits" at `start`: the milliseconds it holds and where the zone begins.
fn parse_fraction(bytes: &[u8], start: usize) -> Option<(i64, usize)> {
    if bytes.get(start) != Some(&b'.') {
        return Some((0, start));
    }
    let digits = bytes
        .get(start + 1..)?
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    if digits == 0 {
        return None;
    }
    let fraction_ms = (0..FRACTION_MS_DIGITS).fold(0_i64, |total, place| {
        let digit = bytes.get(start + 1 + place).filter(|_| place < digits);
        total * 10 + digit.and_then(|digit| digit_value(*digit)).unwrap_or(0)
    });
    Some((fraction_ms, start + 1 + digits))
}

/// "Z" or "±hh:mm" as seconds east of UTC.
fn parse_zone(zone: &[u8]) -> Option<i64> {
    match zone {
        [b'Z'] => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let value = |tens: u8, ones: u8| Some(digit_value(tens)? * 10 + digit_value(ones)?);
            let (hours, minutes) = (value(*h1, *h2)?, value(*m1, *m2)?);
            if hours >= HOURS_PER_DAY || minutes >= MINUTES_PER_HOUR {
                return None;
            }
            let offset = hours * SECONDS_PER_HOUR + minutes * SECONDS_PER_MINUTE;
            Some(if *sign == b'-' { -offset } else { offset })
        }
        _ => None,
    }
}

fn digit_value(byte: u8) -> Option<i64> {
    char::from(byte).to_digit(10).map(i64::from)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server clock in every test: 2024-05-01T12:00:00Z.
    const NOW_MS: u64 = 1_714_564_800_000;
    const MINUTE: i64 = 60;
    const HOUR: i64 = 3_600;
    const DAY: i64 = 86_400;

    /// RFC3339 text of the time `seconds` before the test clock.
    fn ago(seconds: i64) -> String {
        format_rfc3339(NOW_MS as i64 - seconds * MS_PER_SECOND)
    }

    fn table(kind: &str, objects: &[Value]) -> Value {
        to_table(kind, objects, json!({}), NOW_MS, INCLUDE_NONE)
    }

    fn cells(kind: &str, object: Value) -> Value {
        table(kind, &[object])["rows"][0]["cells"].clone()
    }

    fn column_names(kind: &str) -> Vec<String> {
        let table = table(kind, &[]);
        items(&table, &["columnDefinitions"])
            .iter()
            .map(|column| text(column, &["name"]).to_string())
            .collect()
    }

    fn metadata(name: &str, age_seconds: i64) -> Value {
        json!({"name": name, "namespace": "default", "uid": "0b3c", "creationTimestamp": ago(age_seconds)})
    }

    fn running_pod() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": metadata("web-7d4b9", 5 * MINUTE),
            "spec": {"nodeName": "node-1", "containers": [{"name": "web", "image": "nginx:1.27"}]},
            "status": {
                "phase": "Running",
                "podIP": "10.244.1.5",
                "podIPs": [{"ip": "10.244.1.5"}],
                "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
                "containerStatuses": [{
                    "name": "web", "ready": true, "started": true, "restartCount": 0,
                    "state": {"running": {"startedAt": ago(5 * MINUTE)}},
                }],
            },
        })
    }

    /// A pod whose single container is in `state`, with the pod in `phase`.
    fn pod_with_container_state(phase: &str, state: Value) -> Value {
        let mut pod = running_pod();
        pod["status"]["phase"] = json!(phase);
        pod["status"]["containerStatuses"][0]["state"] = state;
        pod["status"]["containerStatuses"][0]["ready"] = json!(false);
        pod
    }

    fn pod_status(pod: Value) -> Value {
        cells("Pod", pod)[2].clone()
    }

    // --- Durations and timestamps -------------------------------------------------------

    #[test]
    fn human_duration_follows_kube_boundaries() {
        let cases = [
            (0, "0s"),
            (59, "59s"),
            (90, "90s"),
            (119, "119s"),
            (2 * MINUTE, "2m"),
            (5 * MINUTE + 3, "5m3s"),
            (9 * MINUTE + 59, "9m59s"),
            (10 * MINUTE + 30, "10m"),
            (179 * MINUTE, "179m"),
            (3 * HOUR, "3h"),
            (3 * HOUR + 5 * MINUTE, "3h5m"),
            (8 * HOUR + 5 * MINUTE, "8h"),
            (47 * HOUR, "47h"),
            (2 * DAY, "2d"),
            (2 * DAY + 5 * HOUR, "2d5h"),
            (8 * DAY + 5 * HOUR, "8d"),
            (729 * DAY, "729d"),
            (730 * DAY, "2y"),
            (3 * 365 * DAY + 45 * DAY, "3y45d"),
            (8 * 365 * DAY, "8y"),
        ];
        for (seconds, expected) in cases {
            assert_eq!(
                human_duration(seconds as u64 * 1_000),
                expected,
                "{seconds}s"
            );
        }
        assert_eq!(human_duration(999), "0s");
        // Go's durations saturate at about 292 years.
        assert_eq!(human_duration(u64::MAX), "292y");
    }

    #[test]
    fn signed_durations_tolerate_a_second_of_skew() {
        assert_eq!(human_duration_signed(-1_500), "0s");
        assert_eq!(human_duration_signed(-2_000), "<invalid>");
        assert_eq!(human_duration_signed(i64::MIN), "<invalid>");
    }

    #[test]
    fn rfc3339_parses_like_go() {
        let now = NOW_MS as i64;
        assert_eq!(parse_rfc3339_ms("2024-05-01T12:00:00Z"), Some(now));
        assert_eq!(parse_rfc3339_ms("2024-05-01T14:30:00+02:30"), Some(now));
        assert_eq!(parse_rfc3339_ms("2024-05-01T07:00:00-05:00"), Some(now));
        assert_eq!(
            parse_rfc3339_ms("2024-05-01T12:00:00.123456Z"),
            Some(now + 123)
        );
        assert_eq!(parse_rfc3339_ms("2024-05-01T12:00:00.5Z"), Some(now + 500));
        assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339_ms("1969-12-31T23:59:59Z"), Some(-1_000));
        assert_eq!(parse_rfc3339_ms("0001-01-01T00:00:00Z"), Some(ZERO_TIME_MS));
        assert!(parse_rfc3339_ms("2024-02-29T00:00:00Z").is_some());
        let invalid = [
            "",
            "garbage",
            "2023-02-29T00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-05-01T24:00:00Z",
            "2024-05-01T12:60:00Z",
            "2024-05-01T12:00:60Z",
            "2024-05-01 12:00:00Z",
            "2024-05-01T12:00:00",
            "2024-05-01T12:00:00.Z",
            "2024-05-01T12:00:00+2:00",
            "2024-05-01T12:00:00+24:00",
            "2024-05-01T12:00:00Zjunk",
            "+024-05-01T12:00:00Z",
            "２０２４-05-01T12:00:00Z",
        ];
        for text in invalid {
            assert_eq!(parse_rfc3339_ms(text), None, "{text:?}");
        }
    }

    #[test]
    fn rfc3339_formats_utc_whole_seconds() {
        assert_eq!(format_rfc3339(NOW_MS as i64 + 999), "2024-05-01T12:00:00Z");
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(format_rfc3339(ZERO_TIME_MS), "0001-01-01T00:00:00Z");
        for ms in [NOW_MS as i64, 951_782_400_000, 4_107_542_400_000] {
            assert_eq!(parse_rfc3339_ms(&format_rfc3339(ms)), Some(ms));
        }
    }

    #[test]
    fn age_is_unknown_without_a_readable_timestamp() {
        for created in [
            json!(null),
            json!(""),
            json!("yesterday"),
            json!(5),
            json!("0001-01-01T00:00:00Z"),
        ] {
            let mut namespace = json!({"metadata": {"name": "ns"}, "status": {"phase": "Active"}});
            namespace["metadata"]["creationTimestamp"] = created.clone();
            assert_eq!(cells("Namespace", namespace)[2], "<unknown>", "{created}");
        }
        let future = json!({"metadata": {"name": "ns", "creationTimestamp": ago(-5)}});
        assert_eq!(cells("Namespace", future)[2], "<invalid>");
    }

    // --- Table envelope -----------------------------------------------------------------

    #[test]
    fn table_envelope_matches_meta_v1() {
        let list_metadata = json!({"resourceVersion": "123", "continue": "", "remainingItemCount": 4, "selfLink": "/x"});
        let table = to_table("Namespace", &[], list_metadata, NOW_MS, "Metadata");
        assert_eq!(table["kind"], "Table");
        assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(
            table["metadata"],
            json!({"resourceVersion": "123", "remainingItemCount": 4})
        );
        assert_eq!(table["rows"], json!([]));
        assert_eq!(
            table["columnDefinitions"][0],
            json!({"name": "Name", "type": "string", "format": "name", "description": NAME_DOC, "priority": 0}),
        );
        assert_eq!(
            table["columnDefinitions"][2],
            json!({"name": "Age", "type": "string", "format": "", "description": CREATION_TIMESTAMP_DOC, "priority": 0}),
        );
        let odd_metadata = to_table("Namespace", &[], json!("not an object"), NOW_MS, "");
        assert_eq!(odd_metadata["metadata"], json!({}));
    }

    #[test]
    fn rows_embed_the_object_as_include_object_asks() {
        let pod = running_pod();
        let row = |include: &str| {
            to_table(
                "Pod",
                std::slice::from_ref(&pod),
                json!({}),
                NOW_MS,
                include,
            )["rows"][0]
                .clone()
        };
        assert_eq!(row("Object")["object"], pod);
        let partial = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": pod["metadata"]});
        for include in ["Metadata", "", "whatever"] {
            assert_eq!(row(include)["object"], partial, "{include:?}");
        }
        let bare = row("None");
        assert!(bare.get("object").is_none());
        assert!(bare.get("conditions").is_none());
        assert_eq!(
            bare["cells"].as_array().map(Vec::len),
            Some(POD_COLUMNS.len())
        );
        let no_metadata = to_table(
            "Pod",
            &[json!({"kind": "Pod"})],
            json!({}),
            NOW_MS,
            "Metadata",
        );
        assert_eq!(no_metadata["rows"][0]["object"]["metadata"], json!({}));
    }

    #[test]
    fn wide_columns_have_priority_one() {
        let table = table("Pod", &[]);
        let wide: Vec<&str> = items(&table, &["columnDefinitions"])
            .iter()
            .filter(|column| column["priority"] == 1)
            .map(|column| text(column, &["name"]))
            .collect();
        assert_eq!(wide, ["IP", "Node", "Nominated Node", "Readiness Gates"]);
    }

    // --- Pods ---------------------------------------------------------------------------

    #[test]
    fn running_pod_cells() {
        assert_eq!(
            cells("Pod", running_pod()),
            json!([
                "web-7d4b9",
                "1/1",
                "Running",
                "0",
                "5m",
                "10.244.1.5",
                "node-1",
                "<none>",
                "<none>"
            ]),
        );
        assert_eq!(
            column_names("Pod"),
            [
                "Name",
                "Ready",
                "Status",
                "Restarts",
                "Age",
                "IP",
                "Node",
                "Nominated Node",
                "Readiness Gates"
            ],
        );
    }

    #[test]
    fn deleting_pod_is_terminating_unless_its_node_is_lost() {
        let mut pod = running_pod();
        pod["metadata"]["deletionTimestamp"] = json!(ago(10));
        assert_eq!(pod_status(pod.clone()), "Terminating");
        pod["status"]["reason"] = json!("NodeLost");
        assert_eq!(pod_status(pod.clone()), "Unknown");
        pod["status"]["reason"] = json!(null);
        pod["status"]["phase"] = json!("Succeeded");
        pod["status"]["containerStatuses"][0]["state"] =
            json!({"terminated": {"exitCode": 0, "reason": "Completed"}});
        assert_eq!(pod_status(pod), "Completed");
    }

    #[test]
    fn waiting_container_reason_is_the_status() {
        let pod = pod_with_container_state(
            "Pending",
            json!({"waiting": {"reason": "ImagePullBackOff", "message": "Back-off"}}),
        );
        let row = cells("Pod", pod);
        assert_eq!(row[1], "0/1");
        assert_eq!(row[2], "ImagePullBackOff");
    }

    #[test]
    fn terminated_container_reason_signal_or_exit_code() {
        let terminated = |state: Value| {
            pod_status(pod_with_container_state(
                "Running",
                json!({"terminated": state}),
            ))
        };
        assert_eq!(
            terminated(json!({"exitCode": 137, "reason": "OOMKilled"})),
            "OOMKilled"
        );
        assert_eq!(
            terminated(json!({"exitCode": 143, "signal": 15})),
            "Signal:15"
        );
        assert_eq!(terminated(json!({"exitCode": 2})), "ExitCode:2");
    }

    #[test]
    fn restarts_show_when_the_last_one_was() {
        let mut pod = pod_with_container_state(
            "Running",
            json!({"waiting": {"reason": "CrashLoopBackOff"}}),
        );
        pod["status"]["containerStatuses"][0]["restartCount"] = json!(3);
        pod["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(3 * MINUTE)}});
        let row = cells("Pod", pod.clone());
        assert_eq!(row[2], "CrashLoopBackOff");
        assert_eq!(row[3], "3 (3m ago)");
        // Without a finish time kube prints the bare count.
        pod["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {"exitCode": 1}});
        assert_eq!(cells("Pod", pod)[3], "3");
    }

    #[test]
    fn init_containers_report_progress() {
        let mut pod = running_pod();
        pod["status"]["phase"] = json!("Pending");
        pod["status"]["conditions"] = json!([{"type": "Initialized", "status": "False"}]);
        pod["spec"]["initContainers"] =
            json!([{"name": "migrate", "image": "migrate:1"}, {"name": "seed", "image": "seed:1"}]);
        let with_init = |statuses: Value| {
            let mut pod = pod.clone();
            pod["status"]["initContainerStatuses"] = statuses;
            pod_status(pod)
        };
        let waiting = json!({"waiting": {"reason": "PodInitializing"}});
        assert_eq!(
            with_init(json!([{"name": "migrate", "state": waiting}])),
            "Init:0/2"
        );
        let done = json!({"terminated": {"exitCode": 0, "reason": "Completed"}});
        assert_eq!(
            with_init(
                json!([{"name": "migrate", "state": done}, {"name": "seed", "state": {"running": {}}}])
            ),
            "Init:1/2"
        );
        assert_eq!(
            with_init(
                json!([{"name": "migrate", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}])
            ),
            "Init:CrashLoopBackOff"
        );
        assert_eq!(
            with_init(
                json!([{"name": "migrate", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}])
            ),
            "Init:Error"
        );
        assert_eq!(
            with_init(json!([{"name": "migrate", "state": {"terminated": {"exitCode": 3}}}])),
            "Init:ExitCode:3"
        );
        assert_eq!(
            with_init(
                json!([{"name": "migrate", "state": {"terminated": {"exitCode": 3, "signal": 9}}}])
            ),
            "Init:Signal:9"
        );
    }

    #[test]
    fn sidecars_count_as_containers_and_restarts() {
        let mut pod = running_pod();
        pod["spec"]["initContainers"] =
            json!([{"name": "proxy", "image": "envoy:1", "restartPolicy": "Always"}]);
        pod["status"]["initContainerStatuses"] = json!([{
            "name": "proxy", "ready": true, "started": true, "restartCount": 2,
            "state": {"running": {}},
            "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(10 * MINUTE)}},
        }]);
        pod["status"]["containerStatuses"][0]["restartCount"] = json!(1);
        pod["status"]["containerStatuses"][0]["lastState"] =
            json!({"terminated": {"exitCode": 1, "finishedAt": ago(2 * MINUTE)}});
        let row = cells("Pod", pod);
        assert_eq!(row[1], "2/2");
        assert_eq!(row[2], "Running");
        assert_eq!(row[3], "3 (2m ago)");
    }

    #[test]
    fn completed_with_a_running_container_reads_running_or_not_ready() {
        let mut pod = running_pod();
        pod["spec"]["containers"] =
            json!([{"name": "job", "image": "job:1"}, {"name": "web", "image": "nginx"}]);
        pod["status"]["containerStatuses"] = json!([
            {"name": "job", "ready": false, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
            {"name": "web", "ready": true, "state": {"running": {}}},
        ]);
        let row = cells("Pod", pod.clone());
        assert_eq!(
            (row[1].clone(), row[2].clone()),
            (json!("1/2"), json!("Running"))
        );
        pod["status"]["conditions"] = json!([{"type": "Ready", "status": "False"}]);
        assert_eq!(pod_status(pod), "NotReady");
    }

    #[test]
    fn scheduling_gates_and_readiness_gates() {
        let mut gated = running_pod();
        gated["status"] = json!({"phase": "Pending", "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]});
        gated["spec"]["nodeName"] = json!(null);
        assert_eq!(
            cells("Pod", gated),
            json!([
                "web-7d4b9",
                "0/1",
                "SchedulingGated",
                "0",
                "5m",
                "<none>",
                "<none>",
                "<none>",
                "<none>"
            ]),
        );
        let mut gates = running_pod();
        gates["spec"]["readinessGates"] =
            json!([{"conditionType": "lb/ready"}, {"conditionType": "dns/ready"}]);
        gates["status"]["conditions"] = json!([
            {"type": "lb/ready", "status": "True"}, {"type": "dns/ready", "status": "False"}]);
        gates["status"]["nominatedNodeName"] = json!("node-2");
        let row = cells("Pod", gates);
        assert_eq!(
            (row[7].clone(), row[8].clone()),
            (json!("node-2"), json!("1/2"))
        );
    }

    #[test]
    fn pod_ip_falls_back_to_the_ip_list() {
        let mut pod = running_pod();
        pod["status"]["podIP"] = json!(null);
        pod["status"]["podIPs"] = json!([{"ip": "fd00::5"}, {"ip": "10.0.0.5"}]);
        assert_eq!(cells("Pod", pod)[5], "fd00::5");
    }

    #[test]
    fn finished_pods_carry_a_completed_row_condition() {
        let mut pod = pod_with_container_state(
            "Succeeded",
            json!({"terminated": {"exitCode": 0, "reason": "Completed"}}),
        );
        let table = to_table("Pod", &[pod.clone()], json!({}), NOW_MS, INCLUDE_NONE);
        assert_eq!(
            table["rows"][0]["conditions"],
            json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]),
        );
        pod["status"]["phase"] = json!("Failed");
        let table = to_table("Pod", &[pod], json!({}), NOW_MS, INCLUDE_NONE);
        assert_eq!(
            table["rows"][0]["conditions"][0]["message"],
            "The pod failed."
        );
    }

    // --- Workloads ----------------------------------------------------------------------

    fn pod_template(labels: Value) -> Value {
        json!({"metadata": {"labels": labels}, "spec": {"containers": [
            {"name": "web", "image": "nginx:1.27"}, {"name": "log", "image": "fluent-bit:3"}]}})
    }

    #[test]
    fn deployment_cells() {
        let deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": metadata("web", 2 * DAY + 5 * HOUR),
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}, "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["frontend", "edge"]},
                    {"key": "canary", "operator": "DoesNotExist"}]},
                "template": pod_template(json!({"app": "web"})),
            },
            "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2},
        });
        assert_eq!(
            cells("Deployment", deployment),
            json!([
                "web",
                "2/3",
                3,
                2,
                "2d5h",
                "web,log",
                "nginx:1.27,fluent-bit:3",
                "app=web,!canary,tier in (edge,frontend)"
            ]),
        );
        assert_eq!(
            column_names("Deployment"),
            [
                "Name",
                "Ready",
                "Up-to-date",
                "Available",
                "Age",
                "Containers",
                "Images",
                "Selector"
            ],
        );
        let fresh = json!({"metadata": metadata("new", 0), "spec": {"replicas": 1}});
        assert_eq!(
            cells("Deployment", fresh),
            json!(["new", "0/1", 0, 0, "0s", "", "", ""])
        );
        let invalid = json!({"metadata": metadata("bad", 0), "spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}});
        assert_eq!(cells("Deployment", invalid)[7], "<invalid>");
    }

    #[test]
    fn replica_set_stateful_set_and_daemon_set_cells() {
        let selector = json!({"matchLabels": {"app": "web", "pod-template-hash": "5d8f"}});
        let replica_set = json!({
            "metadata": metadata("web-5d8f", HOUR),
            "spec": {"replicas": 3, "selector": selector, "template": pod_template(json!({}))},
            "status": {"replicas": 3, "readyReplicas": 1},
        });
        assert_eq!(
            cells("ReplicaSet", replica_set),
            json!([
                "web-5d8f",
                3,
                3,
                1,
                "60m",
                "web,log",
                "nginx:1.27,fluent-bit:3",
                "app=web,pod-template-hash=5d8f"
            ]),
        );
        let stateful_set = json!({
            "metadata": metadata("db", 40),
            "spec": {"replicas": 3, "template": pod_template(json!({}))},
            "status": {"readyReplicas": 2},
        });
        assert_eq!(
            cells("StatefulSet", stateful_set),
            json!(["db", "2/3", "40s", "web,log", "nginx:1.27,fluent-bit:3"])
        );
        let mut template = pod_template(json!({}));
        template["spec"]["nodeSelector"] = json!({"kubernetes.io/os": "linux"});
        let daemon_set = json!({
            "metadata": metadata("logs", 3 * DAY),
            "spec": {"selector": {"matchLabels": {"app": "logs"}}, "template": template},
            "status": {"desiredNumberScheduled": 4, "currentNumberScheduled": 4, "numberReady": 3,
                       "updatedNumberScheduled": 4, "numberAvailable": 3},
        });
        assert_eq!(
            cells("DaemonSet", daemon_set),
            json!([
                "logs",
                4,
                4,
                3,
                4,
                3,
                "kubernetes.io/os=linux",
                "3d",
                "web,log",
                "nginx:1.27,fluent-bit:3",
                "app=logs"
            ]),
        );
        let bare = json!({"metadata": metadata("bare", 0)});
        assert_eq!(cells("DaemonSet", bare)[6], "<none>");
        assert_eq!(
            cells("ReplicaSet", json!({"metadata": metadata("rs", 0)}))[7],
            "<none>"
        );
    }

    #[test]
    fn job_cells() {
        let job = |spec: Value, status: Value| json!({"metadata": metadata("backup", 10 * MINUTE), "spec": spec, "status": status});
        let complete = job(
            json!({"completions": 1, "parallelism": 1, "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "0b3c"}},
                   "template": {"spec": {"containers": [{"name": "backup", "image": "restic:0.17"}]}}}),
            json!({"succeeded": 1, "startTime": ago(5 * MINUTE), "completionTime": ago(5 * MINUTE - 45),
                   "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}),
        );
        assert_eq!(
            cells("Job", complete),
            json!([
                "backup",
                "Complete",
                "1/1",
                "45s",
                "10m",
                "backup",
                "restic:0.17",
                "batch.kubernetes.io/controller-uid=0b3c"
            ]),
        );
        let queue = job(
            json!({"parallelism": 3}),
            json!({"succeeded": 1, "startTime": ago(90)}),
        );
        let row = cells("Job", queue);
        assert_eq!(
            (row[1].clone(), row[2].clone(), row[3].clone()),
            (json!("Running"), json!("1/1 of 3"), json!("90s"))
        );
        let unstarted = cells("Job", job(json!({}), json!({})));
        assert_eq!(
            (unstarted[2].clone(), unstarted[3].clone()),
            (json!("0/1"), json!(""))
        );
        let status_of = |conditions: Value| {
            cells("Job", job(json!({}), json!({"conditions": conditions})))[1].clone()
        };
        assert_eq!(
            status_of(json!([{"type": "Failed", "status": "True"}])),
            "Failed"
        );
        assert_eq!(
            status_of(json!([{"type": "Suspended", "status": "True"}])),
            "Suspended"
        );
        assert_eq!(
            status_of(json!([{"type": "FailureTarget", "status": "True"}])),
            "FailureTarget"
        );
        assert_eq!(
            status_of(json!([{"type": "Complete", "status": "False"}])),
            "Running"
        );
        let mut deleting = job(json!({}), json!({}));
        deleting["metadata"]["deletionTimestamp"] = json!(ago(1));
        assert_eq!(cells("Job", deleting)[1], "Terminating");
        assert_eq!(
            column_names("Job"),
            [
                "Name",
                "Status",
                "Completions",
                "Duration",
                "Age",
                "Containers",
                "Images",
                "Selector"
            ],
        );
    }

    #[test]
    fn cron_job_cells() {
        let cron_job = json!({
            "metadata": metadata("nightly", 20 * DAY),
            "spec": {"schedule": "*/5 * * * *", "suspend": false, "jobTemplate": {"spec": {
                "template": {"spec": {"containers": [{"name": "report", "image": "report:2"}]}}}}},
            "status": {"active": [{"kind": "Job", "name": "nightly-1"}], "lastScheduleTime": ago(2 * MINUTE)},
        });
        assert_eq!(
            cells("CronJob", cron_job.clone()),
            json!([
                "nightly",
                "*/5 * * * *",
                "<none>",
                "False",
                1,
                "2m",
                "20d",
                "report",
                "report:2",
                "<none>"
            ]),
        );
        let mut zoned = cron_job;
        zoned["spec"]["timeZone"] = json!("Europe/Paris");
        zoned["spec"]["suspend"] = json!(null);
        zoned["status"] = json!({});
        let row = cells("CronJob", zoned);
        assert_eq!(
            (
                row[2].clone(),
                row[3].clone(),
                row[4].clone(),
                row[5].clone()
            ),
            (
                json!("Europe/Paris"),
                json!("<unset>"),
                json!(0),
                json!("<none>")
            )
        );
    }

    #[test]
    fn autoscaler_cells() {
        let autoscaler = json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": metadata("web", 4 * HOUR),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                "minReplicas": 1, "maxReplicas": 10,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}],
            },
            "status": {"currentReplicas": 2, "currentMetrics": [
                {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 45, "averageValue": "45m"}}}]},
        });
        assert_eq!(
            cells("HorizontalPodAutoscaler", autoscaler.clone()),
            json!(["web", "Deployment/web", "cpu: 45%/80%", "1", 10, 2, "4h"]),
        );
        let mut many = autoscaler.clone();
        many["spec"]["metrics"] = json!([
            {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}},
            {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
            {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}},
        ]);
        many["spec"]["minReplicas"] = json!(null);
        let row = cells("HorizontalPodAutoscaler", many);
        assert_eq!(row[2], "cpu: 45%/80%, memory: <unknown>/500Mi + 1 more...");
        assert_eq!(row[3], "<unset>");
        let external = json!([
            {"type": "External", "external": {"metric": {"name": "queue"}, "target": {"type": "Value", "value": "30"}}},
            {"type": "Object", "object": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "2k"}}},
        ]);
        let mut queue = autoscaler.clone();
        queue["spec"]["metrics"] = external;
        queue["status"]["currentMetrics"] =
            json!([{"type": "External", "external": {"current": {"value": "12"}}}]);
        assert_eq!(
            cells("HorizontalPodAutoscaler", queue)[2],
            "12/30, <unknown>/2k (avg)"
        );
        let legacy = json!({
            "apiVersion": "autoscaling/v1", "metadata": metadata("old", HOUR),
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "old"}, "maxReplicas": 4, "targetCPUUtilizationPercentage": 70},
            "status": {"currentReplicas": 1, "currentCPUUtilizationPercentage": 12},
        });
        assert_eq!(cells("HorizontalPodAutoscaler", legacy)[2], "cpu: 12%/70%");
        let mut unset = autoscaler;
        unset["spec"]["metrics"] = json!([]);
        assert_eq!(cells("HorizontalPodAutoscaler", unset)[2], "<none>");
    }

    #[test]
    fn controller_revision_cells() {
        let mut revision = json!({"metadata": metadata("fluentd-6b8d", DAY), "revision": 2});
        revision["metadata"]["ownerReferences"] = json!([
            {"apiVersion": "v1", "kind": "Pod", "name": "other"},
            {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "fluentd", "controller": true}]);
        assert_eq!(
            cells("ControllerRevision", revision.clone()),
            json!(["fluentd-6b8d", "daemonset.apps/fluentd", 2, "24h"])
        );
        revision["metadata"]["ownerReferences"] =
            json!([{"apiVersion": "v1", "kind": "Widget", "name": "w", "controller": true}]);
        assert_eq!(cells("ControllerRevision", revision.clone())[1], "widget/w");
        revision["metadata"]["ownerReferences"] = json!([]);
        assert_eq!(cells("ControllerRevision", revision)[1], "<none>");
    }

    // --- Services and networking --------------------------------------------------------

    fn service(spec: Value, status: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Service", "metadata": metadata("web", 7 * MINUTE), "spec": spec, "status": status})
    }

    #[test]
    fn node_port_service_cells() {
        let node_port = service(
            json!({"type": "NodePort", "clusterIP": "10.96.0.12", "clusterIPs": ["10.96.0.12"], "selector": {"app": "web", "tier": "fe"},
                   "ports": [{"port": 80, "protocol": "TCP", "targetPort": 8080, "nodePort": 30080}]}),
            json!({"loadBalancer": {}}),
        );
        assert_eq!(
            cells("Service", node_port),
            json!([
                "web",
                "NodePort",
                "10.96.0.12",
                "<none>",
                "80:30080/TCP",
                "7m",
                "app=web,tier=fe"
            ]),
        );
    }

    #[test]
    fn service_external_ips_by_type() {
        let cluster = service(
            json!({"type": "ClusterIP", "clusterIP": "None", "externalIPs": ["198.51.100.1", "198.51.100.2"],
                   "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}),
            json!({}),
        );
        let row = cells("Service", cluster);
        assert_eq!(
            (
                row[2].clone(),
                row[3].clone(),
                row[4].clone(),
                row[6].clone()
            ),
            (
                json!("None"),
                json!("198.51.100.1,198.51.100.2"),
                json!("53/UDP,53/TCP"),
                json!("<none>")
            )
        );
        let pending = service(
            json!({"type": "LoadBalancer", "clusterIP": "10.96.0.7", "ports": []}),
            json!({}),
        );
        let row = cells("Service", pending);
        assert_eq!(
            (row[3].clone(), row[4].clone()),
            (json!("<pending>"), json!("<none>"))
        );
        let balanced = service(
            json!({"type": "LoadBalancer", "externalIPs": ["198.51.100.9"]}),
            json!({"loadBalancer": {"ingress": [{"hostname": "lb.example.com"}, {"ip": "203.0.113.7"}, {"ip": "203.0.113.7"}]}}),
        );
        assert_eq!(
            cells("Service", balanced)[3],
            "203.0.113.7,lb.example.com,198.51.100.9"
        );
        let external = service(
            json!({"type": "ExternalName", "externalName": "db.example.com"}),
            json!({}),
        );
        let row = cells("Service", external);
        assert_eq!(
            (row[2].clone(), row[3].clone()),
            (json!("<none>"), json!("db.example.com"))
        );
        assert_eq!(
            cells(
                "Service",
                service(json!({"clusterIPs": ["10.0.0.1"]}), json!({}))
            )[3],
            "<unknown>"
        );
    }

    #[test]
    fn endpoints_and_endpoint_slice_cells() {
        let endpoints = json!({"metadata": metadata("web", 30), "subsets": [
            {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}, {"port": 443}]},
            {"addresses": [{"ip": "fd00::1"}], "notReadyAddresses": [{"ip": "10.0.0.9"}], "ports": [{"port": 80}]}]});
        assert_eq!(
            cells("Endpoints", endpoints),
            json!([
                "web",
                "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 2 more...",
                "30s"
            ])
        );
        let few = json!({"metadata": metadata("db", 30), "subsets": [
            {"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 5432}]}, {"addresses": [{"ip": "10.0.0.3"}]}]});
        assert_eq!(cells("Endpoints", few)[1], "[fd00::1]:5432,10.0.0.3");
        assert_eq!(
            cells("Endpoints", json!({"metadata": metadata("none", 30)}))[1],
            "<none>"
        );
        assert_eq!(
            cells(
                "Endpoints",
                json!({"metadata": metadata("empty", 30), "subsets": [{}]})
            )[1],
            ""
        );
        let slice = json!({"metadata": metadata("web-x7k2p", 30), "addressType": "IPv4",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}, {"name": "metrics"}, {}],
            "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3", "10.0.0.4"]}]});
        assert_eq!(
            cells("EndpointSlice", slice),
            json!([
                "web-x7k2p",
                "IPv4",
                "80,metrics,*",
                "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...",
                "30s"
            ]),
        );
        let empty_slice = json!({"metadata": metadata("empty", 30), "addressType": "IPv6"});
        assert_eq!(
            cells("EndpointSlice", empty_slice),
            json!(["empty", "IPv6", "<unset>", "<unset>", "30s"])
        );
    }

    #[test]
    fn ingress_and_network_policy_cells() {
        let ingress = json!({"metadata": metadata("web", 30), "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a.example.com"]}],
            "rules": [{"host": "a.example.com"}, {}, {"host": "b.example.com"}, {"host": "c.example.com"}, {"host": "d.example.com"}]},
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}});
        assert_eq!(
            cells("Ingress", ingress),
            json!([
                "web",
                "nginx",
                "a.example.com,b.example.com,c.example.com + 2 more...",
                "203.0.113.7",
                "80, 443",
                "30s"
            ]),
        );
        let catch_all = json!({"metadata": metadata("all", 30), "spec": {"rules": [{}]}});
        assert_eq!(
            cells("Ingress", catch_all),
            json!(["all", "<none>", "*", "", "80", "30s"])
        );
        let class = json!({"metadata": metadata("nginx", 30), "spec": {"controller": "k8s.io/ingress-nginx",
            "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "external-lb"}}});
        assert_eq!(
            cells("IngressClass", class),
            json!([
                "nginx",
                "k8s.io/ingress-nginx",
                "IngressParameters.k8s.example.com/external-lb",
                "30s"
            ]),
        );
        let policy = json!({"metadata": metadata("deny", 30), "spec": {"podSelector": {}}});
        assert_eq!(
            cells("NetworkPolicy", policy),
            json!(["deny", "<none>", "30s"])
        );
    }

    // --- Cluster objects ----------------------------------------------------------------

    #[test]
    fn node_cells() {
        let mut node = json!({
            "metadata": metadata("node-1", 45 * DAY),
            "spec": {"unschedulable": true},
            "status": {
                "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
                "addresses": [{"type": "Hostname", "address": "node-1"}, {"type": "InternalIP", "address": "192.168.1.10"}],
                "nodeInfo": {"kubeletVersion": "v1.33.1", "osImage": "Ubuntu 24.04 LTS", "kernelVersion": "6.8.0-45-generic",
                             "containerRuntimeVersion": "containerd://2.0.0"},
            },
        });
        node["metadata"]["labels"] = json!({"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/control-plane": "",
            "kubernetes.io/role": "worker", "node-role.kubernetes.io/": "x", "kubernetes.io/hostname": "node-1"});
        assert_eq!(
            cells("Node", node),
            json!([
                "node-1",
                "Ready,SchedulingDisabled",
                "control-plane,worker",
                "45d",
                "v1.33.1",
                "192.168.1.10",
                "<none>",
                "Ubuntu 24.04 LTS",
                "6.8.0-45-generic",
                "containerd://2.0.0"
            ]),
        );
        let not_ready = json!({"metadata": metadata("node-2", DAY), "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
        assert_eq!(
            cells("Node", not_ready),
            json!([
                "node-2",
                "NotReady",
                "<none>",
                "24h",
                "",
                "<none>",
                "<none>",
                "<unknown>",
                "<unknown>",
                "<unknown>"
            ]),
        );
        assert_eq!(
            cells("Node", json!({"metadata": metadata("node-3", DAY)}))[1],
            "Unknown"
        );
    }

    #[test]
    fn event_cells() {
        let event = json!({
            "apiVersion": "v1", "kind": "Event",
            "metadata": metadata("web.17c9a1b2", HOUR),
            "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "fieldPath": "spec.containers{web}"},
            "reason": "Pulled", "message": " Successfully pulled image \"nginx:1.27\"\n", "type": "Normal",
            "source": {"component": "kubelet", "host": "node-1"},
            "firstTimestamp": ago(HOUR), "lastTimestamp": ago(60), "count": 4,
        });
        assert_eq!(
            cells("Event", event),
            json!([
                "60s",
                "Normal",
                "Pulled",
                "pod/web",
                "spec.containers{web}",
                "kubelet, node-1",
                "Successfully pulled image \"nginx:1.27\"",
                "60m",
                4,
                "web.17c9a1b2"
            ]),
        );
        let new_api = json!({
            "apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": metadata("sched.1", HOUR),
            "eventTime": "2024-05-01T11:50:00.000000Z",
            "series": {"count": 7, "lastObservedTime": "2024-05-01T11:58:00.000000Z"},
            "regarding": {"kind": "Node"},
            "reportingController": "default-scheduler", "reportingInstance": "sched-1",
            "reason": "Scheduled", "note": "Scheduled", "type": "Normal",
        });
        assert_eq!(
            cells("Event", new_api),
            json!([
                "2m",
                "Normal",
                "Scheduled",
                "node",
                "",
                "default-scheduler, sched-1",
                "Scheduled",
                "10m",
                7,
                "sched.1"
            ]),
        );
        let singleton = json!({"metadata": metadata("once", 0), "involvedObject": {"kind": "Pod", "name": "x"}});
        let row = cells("Event", singleton);
        assert_eq!(
            (row[0].clone(), row[7].clone(), row[8].clone()),
            (json!("<unknown>"), json!("<unknown>"), json!(1))
        );
        assert_eq!(
            column_names("Event"),
            [
                "Last Seen",
                "Type",
                "Reason",
                "Object",
                "Subobject",
                "Source",
                "Message",
                "First Seen",
                "Count",
                "Name"
            ],
        );
    }

    #[test]
    fn namespace_lease_priority_and_runtime_class_cells() {
        let namespace =
            json!({"metadata": metadata("team-a", 10 * DAY), "status": {"phase": "Active"}});
        assert_eq!(
            cells("Namespace", namespace),
            json!(["team-a", "Active", "10d"])
        );
        let lease = json!({"metadata": metadata("kube-scheduler", 3 * HOUR), "spec": {"holderIdentity": "sched-1_0b3c"}});
        assert_eq!(
            cells("Lease", lease),
            json!(["kube-scheduler", "sched-1_0b3c", "3h"])
        );
        let class = json!({"metadata": metadata("high", DAY), "value": 1_000_000, "globalDefault": false, "preemptionPolicy": "Never"});
        assert_eq!(
            cells("PriorityClass", class),
            json!(["high", 1_000_000, false, "24h", "Never"])
        );
        let runtime = json!({"metadata": metadata("gvisor", DAY), "handler": "runsc"});
        assert_eq!(
            cells("RuntimeClass", runtime),
            json!(["gvisor", "runsc", "24h"])
        );
        let webhooks = json!({"metadata": metadata("policy", DAY), "webhooks": [{"name": "a"}, {"name": "b"}]});
        assert_eq!(
            cells("ValidatingWebhookConfiguration", webhooks),
            json!(["policy", 2, "24h"])
        );
    }

    #[test]
    fn config_map_secret_and_service_account_cells() {
        let config_map = json!({"metadata": metadata("settings", 90), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
        assert_eq!(
            cells("ConfigMap", config_map),
            json!(["settings", 3, "90s"])
        );
        let secret = json!({"metadata": metadata("creds", 90), "type": "Opaque",
            "data": {"user": "YQ==", "pass": "Yg=="}, "stringData": {"pass": "b", "token": "c"}});
        assert_eq!(
            cells("Secret", secret),
            json!(["creds", "Opaque", 3, "90s"])
        );
        let account =
            json!({"metadata": metadata("builder", 90), "secrets": [{"name": "builder-token"}]});
        assert_eq!(
            cells("ServiceAccount", account),
            json!(["builder", 1, "90s"])
        );
        assert_eq!(column_names("ServiceAccount"), ["Name", "Secrets", "Age"]);
    }

    #[test]
    fn role_binding_and_default_table_cells() {
        let binding = json!({
            "metadata": metadata("readers", DAY),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
            "subjects": [{"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"}, {"kind": "Group", "name": "devs"},
                         {"kind": "ServiceAccount", "name": "builder", "namespace": "ci"}, {"kind": "Robot", "name": "r2"}],
        });
        assert_eq!(
            cells("RoleBinding", binding.clone()),
            json!([
                "readers",
                "ClusterRole/view",
                "24h",
                "alice, bob",
                "devs",
                "ci/builder"
            ]),
        );
        assert_eq!(cells("ClusterRoleBinding", binding)[1], "ClusterRole/view");
        assert_eq!(column_names("Role"), ["Name", "Created At"]);
        let table = table("ClusterRole", &[]);
        assert_eq!(table["columnDefinitions"][1]["type"], "date");
        let role = json!({"metadata": {"name": "reader", "creationTimestamp": "2024-05-01T13:00:00+02:00"}});
        assert_eq!(
            cells("Role", role),
            json!(["reader", "2024-05-01T11:00:00Z"])
        );
        assert_eq!(
            cells("LimitRange", json!({"metadata": {"name": "limits"}})),
            json!(["limits", "0001-01-01T00:00:00Z"])
        );
    }

    #[test]
    fn resource_quota_cells() {
        let quota = json!({"metadata": metadata("compute", 5 * DAY), "status": {
            "hard": {"requests.cpu": "1", "limits.memory": "2Gi", "pods": "10", "limits": "4"},
            "used": {"requests.cpu": "500m", "pods": "3", "limits": "1"}}});
        assert_eq!(
            cells("ResourceQuota", quota),
            json!([
                "compute",
                "limits: 1/4, pods: 3/10, requests.cpu: 500m/1",
                "limits.memory: 0/2Gi",
                "5d"
            ]),
        );
        assert_eq!(
            column_names("ResourceQuota"),
            ["Name", "Request", "Limit", "Age"]
        );
    }

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
        let template = json!({"metadata": metadata("tpl", 30), "template": pod_template(json!({"app": "web"}))});
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

    // --- Robustness ---------------------------------------------------------------------

    const ALL_KINDS: [&str; 37] = [
        "Pod",
        "PodTemplate",
        "PodDisruptionBudget",
        "ReplicationController",
        "ReplicaSet",
        "DaemonSet",
        "Job",
        "CronJob",
        "Service",
        "Ingress",
        "IngressClass",
        "StatefulSet",
        "Endpoints",
        "Node",
        "Event",
        "Namespace",
        "Secret",
        "ServiceAccount",
        "PersistentVolume",
        "PersistentVolumeClaim",
        "Deployment",
        "HorizontalPodAutoscaler",
        "ConfigMap",
        "NetworkPolicy",
        "RoleBinding",
        "ClusterRoleBinding",
        "Lease",
        "StorageClass",
        "ControllerRevision",
        "ResourceQuota",
        "PriorityClass",
        "RuntimeClass",
        "EndpointSlice",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "Role",
        "Widget",
    ];

    #[test]
    fn every_row_has_a_cell_per_column_whatever_the_object() {
        let odd = [
            json!(null),
            json!("text"),
            json!([1, 2]),
            json!({"metadata": 5, "spec": [], "status": "x"}),
            json!({"metadata": {"name": 7, "creationTimestamp": "2024-99-99T00:00:00Z", "deletionTimestamp": {},
                                "labels": {"node-role.kubernetes.io/x": 1}, "ownerReferences": [{"controller": true, "apiVersion": "a/b/c"}]},
                   "spec": {"containers": [1, null, "x"], "initContainers": [{"name": "a", "restartPolicy": "Always"}],
                            "replicas": "three", "completions": 1e300, "parallelism": -5,
                            "selector": {"matchLabels": {"a": 1}, "matchExpressions": [null, {"operator": "In"}]},
                            "ports": [{"port": -1, "nodePort": u64::MAX}], "metrics": [{"type": "Pods"}, {"type": "External"}, 5],
                            "type": "LoadBalancer", "capacity": {"storage": {}}, "claimRef": "x"},
                   "status": {"containerStatuses": [null, 5, {"state": "x", "restartCount": i64::MAX}, {"restartCount": i64::MAX}],
                              "initContainerStatuses": [{"name": "a", "started": true, "state": {"terminated": {"exitCode": "x"}}}],
                              "conditions": "x", "hard": {"limits.": 5}, "startTime": "x", "loadBalancer": {"ingress": [1]}},
                   "subsets": [{"addresses": [1], "ports": [{}]}], "endpoints": [{"addresses": [1]}], "series": {},
                   "subjects": [null], "webhooks": {}, "data": [], "rules": [null]}),
        ];
        for kind in ALL_KINDS {
            let table = to_table(kind, &odd, json!(null), NOW_MS, INCLUDE_OBJECT);
            let columns = items(&table, &["columnDefinitions"]).len();
            for row in items(&table, &["rows"]) {
                assert_eq!(items(row, &["cells"]).len(), columns, "{kind}: {row}");
            }
        }
    }

    #[test]
    fn clock_extremes_do_not_panic() {
        for now in [0, u64::MAX] {
            let table = to_table("Pod", &[running_pod()], json!({}), now, INCLUDE_NONE);
            assert!(table["rows"][0]["cells"][4].is_string());
        }
    }
}
