//! The strategic merge keys of the built-in kinds: k8s.io/api's `patchStrategy` and
//! `patchMergeKey` struct tags, as tables.

// ---------------------------------------------------------------------------------------------
// Merge keys of the built-in kinds
// ---------------------------------------------------------------------------------------------

/// How a list field merges under a strategic merge patch: its `patchStrategy:"merge"` tag.
/// A list without one is replaced whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MergeStrategy {
    /// A list of objects: elements with equal values of this field (`patchMergeKey`) merge.
    ByKey(&'static str),
    /// A list of scalars: the lists are unioned, each value kept once.
    Union,
}

impl MergeStrategy {
    pub(super) fn key(self) -> Option<&'static str> {
        match self {
            MergeStrategy::ByKey(key) => Some(key),
            MergeStrategy::Union => None,
        }
    }
}

/// The merge strategy of the field at `path` (field names from the object's root; list
/// elements are passed through, so `spec.containers[0].env` is `["spec", "containers", "env"]`)
/// in objects of `kind`, or `None` when the field is replaced whole or unknown.
pub fn merge_key(kind: &str, path: &[&str]) -> Option<MergeStrategy> {
    let mut schema = Some(kind_schema(kind));
    let mut strategy = None;
    for name in path {
        let field = schema?.iter().find(|field| field.name == *name)?;
        strategy = field.strategy;
        schema = field.schema;
    }
    strategy
}

/// One field of a Go type that matters to a strategic merge: its merge strategy, and the type
/// of its value (of its elements, for a list) when that type has such fields itself.
pub(super) struct Field {
    name: &'static str,
    strategy: Option<MergeStrategy>,
    schema: Option<&'static Schema>,
}

/// The merge-relevant fields of one Go type; fields not listed merge as plain maps or are
/// replaced as plain lists.
pub(super) type Schema = [Field];

impl Field {
    const fn merged(name: &'static str, strategy: MergeStrategy) -> Field {
        Field {
            name,
            strategy: Some(strategy),
            schema: None,
        }
    }
    const fn nested(name: &'static str, schema: &'static Schema) -> Field {
        Field {
            name,
            strategy: None,
            schema: Some(schema),
        }
    }
    const fn merged_nested(
        name: &'static str,
        strategy: MergeStrategy,
        schema: &'static Schema,
    ) -> Field {
        Field {
            name,
            strategy: Some(strategy),
            schema: Some(schema),
        }
    }
}

pub(super) fn field_of(
    schema: Option<&'static Schema>,
    name: &str,
) -> (Option<MergeStrategy>, Option<&'static Schema>) {
    schema
        .and_then(|fields| fields.iter().find(|field| field.name == name))
        .map_or((None, None), |field| (field.strategy, field.schema))
}

pub(super) fn kind_schema(kind: &str) -> &'static Schema {
    KIND_SCHEMAS
        .iter()
        .find(|(name, _)| *name == kind)
        .map_or(OBJECT, |(_, schema)| schema)
}

// The tables below transcribe the patchStrategy/patchMergeKey struct tags of k8s.io/api 1.33.
use MergeStrategy::{ByKey, Union};

/// metav1.ObjectMeta, in every object and template.
const OBJECT_META: &Schema = &[
    Field::merged("finalizers", Union),
    Field::merged("ownerReferences", ByKey("uid")),
];

/// core/v1 Container; EphemeralContainer carries the same tags.
const CONTAINER: &Schema = &[
    Field::merged("ports", ByKey("containerPort")),
    Field::merged("env", ByKey("name")),
    Field::merged("volumeMounts", ByKey("mountPath")),
    Field::merged("volumeDevices", ByKey("devicePath")),
];

/// PersistentVolumeClaim, and the claim templates of ephemeral volumes and StatefulSets.
const CLAIM: &Schema = &[
    Field::nested("metadata", OBJECT_META),
    Field::nested("status", CONDITIONS),
];

const EPHEMERAL_VOLUME_SOURCE: &Schema = &[Field::nested("volumeClaimTemplate", CLAIM)];

const VOLUME: &Schema = &[Field::nested("ephemeral", EPHEMERAL_VOLUME_SOURCE)];

/// core/v1 PodSpec. `tolerations`, `readinessGates` and the like have no patchStrategy, so
/// they are replaced whole.
const POD_SPEC: &Schema = &[
    Field::merged_nested("containers", ByKey("name"), CONTAINER),
    Field::merged_nested("initContainers", ByKey("name"), CONTAINER),
    Field::merged_nested("ephemeralContainers", ByKey("name"), CONTAINER),
    Field::merged_nested("volumes", ByKey("name"), VOLUME),
    Field::merged("imagePullSecrets", ByKey("name")),
    Field::merged("hostAliases", ByKey("ip")),
    Field::merged("topologySpreadConstraints", ByKey("topologyKey")),
    Field::merged("resourceClaims", ByKey("name")),
    Field::merged("schedulingGates", ByKey("name")),
];

const POD_STATUS: &Schema = &[
    Field::merged("conditions", ByKey("type")),
    Field::merged("podIPs", ByKey("ip")),
    Field::merged("hostIPs", ByKey("ip")),
    Field::merged("resourceClaimStatuses", ByKey("name")),
];

/// The `status` of every kind whose only merged status list is `conditions`.
const CONDITIONS: &Schema = &[Field::merged("conditions", ByKey("type"))];

const POD_TEMPLATE_SPEC: &Schema = &[
    Field::nested("metadata", OBJECT_META),
    Field::nested("spec", POD_SPEC),
];

/// The spec of Deployment, ReplicaSet, DaemonSet, Job and ReplicationController.
const TEMPLATED_SPEC: &Schema = &[Field::nested("template", POD_TEMPLATE_SPEC)];

const STATEFUL_SET_SPEC: &Schema = &[
    Field::nested("template", POD_TEMPLATE_SPEC),
    Field::nested("volumeClaimTemplates", CLAIM),
];

const JOB_TEMPLATE_SPEC: &Schema = &[
    Field::nested("metadata", OBJECT_META),
    Field::nested("spec", TEMPLATED_SPEC),
];

const CRON_JOB_SPEC: &Schema = &[Field::nested("jobTemplate", JOB_TEMPLATE_SPEC)];

const NODE_SPEC: &Schema = &[Field::merged("podCIDRs", Union)];

const NODE_STATUS: &Schema = &[
    Field::merged("conditions", ByKey("type")),
    Field::merged("addresses", ByKey("type")),
];

const SERVICE_SPEC: &Schema = &[Field::merged("ports", ByKey("port"))];

const POD: &Schema = &[
    Field::nested("metadata", OBJECT_META),
    Field::nested("spec", POD_SPEC),
    Field::nested("status", POD_STATUS),
];

const POD_TEMPLATE: &Schema = &[
    Field::nested("metadata", OBJECT_META),
    Field::nested("template", POD_TEMPLATE_SPEC),
];

const WORKLOAD: &Schema = &[
    Field::nested("metadata", OBJECT_META),
    Field::nested("spec", TEMPLATED_SPEC),
    Field::nested("status", CONDITIONS),
];

const STATEFUL_SET: &Schema = &[
    Field::nested("metadata", OBJECT_META),
    Field::nested("spec", STATEFUL_SET_SPEC),
    Field::nested("status", CONDITIONS),
];

const CRON_JOB: &Schema = &[
    Field::nested("metadata", OBJECT_META),
    Field::nested("spec", CRON_JOB_SPEC),
];

const NODE: &Schema = &[
    Field::nested("metadata", OBJECT_META),
    Field::nested("spec", NODE_SPEC),
    Field::nested("status", NODE_STATUS),
];

const SERVICE: &Schema = &[
    Field::nested("metadata", OBJECT_META),
    Field::nested("spec", SERVICE_SPEC),
    Field::nested("status", CONDITIONS),
];

/// Namespace and PersistentVolumeClaim: merged status conditions only.
const CONDITIONED_OBJECT: &Schema = &[
    Field::nested("metadata", OBJECT_META),
    Field::nested("status", CONDITIONS),
];

/// Every other kind, Endpoints included (its `subsets` have no patchStrategy): only the
/// metadata lists merge.
const OBJECT: &Schema = &[Field::nested("metadata", OBJECT_META)];

const KIND_SCHEMAS: &[(&str, &Schema)] = &[
    ("Pod", POD),
    ("PodTemplate", POD_TEMPLATE),
    ("ReplicationController", WORKLOAD),
    ("Deployment", WORKLOAD),
    ("ReplicaSet", WORKLOAD),
    ("DaemonSet", WORKLOAD),
    ("Job", WORKLOAD),
    ("StatefulSet", STATEFUL_SET),
    ("CronJob", CRON_JOB),
    ("Node", NODE),
    ("Service", SERVICE),
    ("Namespace", CONDITIONED_OBJECT),
    ("PersistentVolumeClaim", CLAIM),
    ("Endpoints", OBJECT),
];
