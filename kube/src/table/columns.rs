//! Column definitions: the `TableColumnDefinition` shape, kube's descriptions, and the
//! columns many printers share.

use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------
// Columns.

pub(super) const STRING: &str = "string";
pub(super) const INTEGER: &str = "integer";
pub(super) const BOOLEAN: &str = "boolean";
pub(super) const DATE: &str = "date";
/// `format` of the column kubectl treats as the object's name.
pub(super) const NAME_FORMAT: &str = "name";
const NO_FORMAT: &str = "";
/// Always shown.
const STANDARD: u8 = 0;
/// Shown by kubectl only for `-o wide`.
const WIDE: u8 = 1;

/// One `metav1.TableColumnDefinition`.
#[derive(Clone, Copy)]
pub(super) struct Column {
    pub(super) name: &'static str,
    pub(super) kind: &'static str,
    pub(super) format: &'static str,
    pub(super) description: &'static str,
    pub(super) priority: u8,
}

pub(super) const fn column(
    name: &'static str,
    kind: &'static str,
    description: &'static str,
) -> Column {
    Column {
        name,
        kind,
        format: NO_FORMAT,
        description,
        priority: STANDARD,
    }
}

pub(super) const fn wide(
    name: &'static str,
    kind: &'static str,
    description: &'static str,
) -> Column {
    Column {
        priority: WIDE,
        ..column(name, kind, description)
    }
}

pub(super) fn column_json(column: &Column) -> Value {
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
pub(super) const NAME_DOC: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
pub(super) const CREATION_TIMESTAMP_DOC: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
pub(super) const CONTAINERS_DOC: &str = "Names of each container in the template.";
pub(super) const IMAGES_DOC: &str = "Images referenced by each container in the template.";
pub(super) const READY_PODS_DOC: &str = "Number of the pod with ready state";
const SELECTOR_DOC: &str = "A label query over pods that should match the replica count.";
pub(super) const REPLICAS_DOC: &str = "Replicas is the number of desired replicas.";
pub(super) const CURRENT_REPLICAS_DOC: &str =
    "Replicas is the most recently observed number of replicas.";
pub(super) const READY_REPLICAS_DOC: &str = "The number of ready replicas for this replica set.";
pub(super) const STORAGE_CLASS_DOC: &str = "StorageClass of the pv";
pub(super) const CLAIM_STORAGE_CLASS_DOC: &str = "StorageClass of the pvc";
pub(super) const VOLUME_MODE_DOC: &str = "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain in raw block state.";
pub(super) const ACCESS_MODES_DOC: &str =
    "accessModes contains all ways the volume can be mounted. More info: https://kubernetes.io/docs/concepts/storage/persistent-volumes#access-modes";
pub(super) const ROLE_REF_DOC: &str = "RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.";

pub(super) const NAME_COLUMN: Column = Column {
    format: NAME_FORMAT,
    ..column("Name", STRING, NAME_DOC)
};
pub(super) const AGE_COLUMN: Column = column("Age", STRING, CREATION_TIMESTAMP_DOC);
pub(super) const CONTAINERS_COLUMN: Column = wide("Containers", STRING, CONTAINERS_DOC);
pub(super) const IMAGES_COLUMN: Column = wide("Images", STRING, IMAGES_DOC);
pub(super) const SELECTOR_COLUMN: Column = wide("Selector", STRING, SELECTOR_DOC);
