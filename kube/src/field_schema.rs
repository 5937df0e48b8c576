//! How server-side apply sees the structure of a kind: which lists are associative (and by
//! which key fields), which are sets, which are atomic, and which maps are owned whole. It
//! reads Kubernetes' OpenAPI schemas (`openapi::definitions`) as kube-openapi's `schemaconv`
//! turns them into structured-merge-diff's schema:
//! - `x-kubernetes-list-type: map` with `x-kubernetes-list-map-keys`: keyed by those fields;
//! - `x-kubernetes-list-type: set`: a set of scalars; `atomic`: owned whole;
//! - no list type, but `x-kubernetes-patch-strategy: merge`: keyed by the
//!   `x-kubernetes-patch-merge-key`, or a set without one;
//! - any other list: atomic;
//! - `x-kubernetes-map-type: atomic` (a label selector, say): owned whole.
//!
//! A field the schemas do not describe walks as JSON does: maps field by field, lists whole.

use serde_json::Value;

use crate::openapi;
use crate::registry::RESOURCES;

const REF_PREFIX: &str = "#/definitions/";

/// Key fields kube defaults when an element leaves them out (their `+default` markers, which
/// the swagger 2.0 schemas do not carry): a container port or service port without a
/// protocol is keyed as TCP. `(schema, field, default)`.
const KEY_FIELD_DEFAULTS: &[(&str, &str, &str)] = &[
    ("io.k8s.api.core.v1.ContainerPort", "protocol", "TCP"),
    ("io.k8s.api.core.v1.ServicePort", "protocol", "TCP"),
];

/// How a list's elements are owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ListType {
    /// Whole, as one leaf.
    Atomic,
    /// Element by element, scalars told apart by value.
    Set,
    /// Element by element, maps told apart by these fields.
    Map(Vec<&'static str>),
}

/// A position in a kind's schema, moved one field or list element at a time while walking an
/// object. `None` past what the schemas describe.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FieldSchema {
    schema: Option<&'static Value>,
    /// The schema's name when it came from a `$ref`.
    name: Option<&'static str>,
}

impl FieldSchema {
    const UNKNOWN: FieldSchema = FieldSchema {
        schema: None,
        name: None,
    };

    /// The schema at the root of an object of `kind` (a served kind; kinds are unique
    /// among them).
    pub(crate) fn of_kind(kind: &str) -> FieldSchema {
        let resource = RESOURCES.iter().find(|r| r.kind == kind);
        let name = resource.and_then(|r| openapi::kind_schema_name(r.group, r.version, r.kind));
        match name {
            Some(name) => FieldSchema::named(name),
            None => FieldSchema::UNKNOWN,
        }
    }

    fn named(name: &str) -> FieldSchema {
        match openapi::definitions().get_key_value(name) {
            Some((name, schema)) => FieldSchema {
                schema: Some(schema),
                name: Some(name.as_str()),
            },
            None => FieldSchema::UNKNOWN,
        }
    }

    /// `schema` itself, or the schema its `$ref` names.
    fn resolved(schema: Option<&'static Value>) -> FieldSchema {
        let Some(schema) = schema else {
            return FieldSchema::UNKNOWN;
        };
        match schema.get("$ref").and_then(Value::as_str) {
            Some(reference) => FieldSchema::named(reference.trim_start_matches(REF_PREFIX)),
            None => FieldSchema {
                schema: Some(schema),
                name: None,
            },
        }
    }

    fn extension(&self, name: &str) -> Option<&'static Value> {
        self.schema?.get(name)
    }

    /// The schema of field `name` of the map here: a declared property, or the value of a
    /// map with `additionalProperties` (labels, say).
    pub(crate) fn field(self, name: &str) -> FieldSchema {
        let Some(schema) = self.schema else {
            return FieldSchema::UNKNOWN;
        };
        let declared = schema.get("properties").and_then(|p| p.get(name));
        let additional = schema.get("additionalProperties").filter(|a| a.is_object());
        FieldSchema::resolved(declared.or(additional))
    }

    /// The schema of an element of the list here.
    pub(crate) fn items(self) -> FieldSchema {
        FieldSchema::resolved(self.schema.and_then(|schema| schema.get("items")))
    }

    /// How the list here is owned.
    pub(crate) fn list_type(self) -> ListType {
        let text = |name| self.extension(name).and_then(Value::as_str);
        match text("x-kubernetes-list-type") {
            Some("map") => {
                let keys = self.extension("x-kubernetes-list-map-keys");
                let keys = keys.and_then(Value::as_array).map(Vec::as_slice);
                let keys: Vec<&'static str> = keys
                    .unwrap_or_default()
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                match keys.is_empty() {
                    true => ListType::Atomic,
                    false => ListType::Map(keys),
                }
            }
            Some("set") => ListType::Set,
            Some(_) => ListType::Atomic,
            None => {
                let merges = text("x-kubernetes-patch-strategy")
                    .is_some_and(|strategy| strategy.split(',').any(|s| s == "merge"));
                match (merges, text("x-kubernetes-patch-merge-key")) {
                    (true, Some(key)) => ListType::Map(vec![key]),
                    (true, None) => ListType::Set,
                    (false, _) => ListType::Atomic,
                }
            }
        }
    }

    /// Whether the map here is owned whole.
    pub(crate) fn is_atomic_map(self) -> bool {
        self.extension("x-kubernetes-map-type")
            .and_then(Value::as_str)
            == Some("atomic")
    }

    /// The value kube gives key field `field` of an element (the schema here) that leaves
    /// it out.
    pub(crate) fn key_default(self, field: &str) -> Option<&'static str> {
        let name = self.name?;
        KEY_FIELD_DEFAULTS
            .iter()
            .find(|(schema, key, _)| *schema == name && *key == field)
            .map(|(_, _, default)| *default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_and_map_types_come_from_the_schemas() {
        let deployment = FieldSchema::of_kind("Deployment");
        let pod_spec = deployment.field("spec").field("template").field("spec");
        let containers = pod_spec.field("containers");
        assert_eq!(containers.list_type(), ListType::Map(vec!["name"]));
        let ports = containers.items().field("ports");
        assert_eq!(
            ports.list_type(),
            ListType::Map(vec!["containerPort", "protocol"])
        );
        assert_eq!(ports.items().key_default("protocol"), Some("TCP"));
        assert_eq!(ports.items().key_default("containerPort"), None);
        // A list with only a patch strategy: keyed by its merge key.
        let volumes = pod_spec.field("volumes");
        assert_eq!(volumes.list_type(), ListType::Map(vec!["name"]));
        assert_eq!(
            containers.items().field("args").list_type(),
            ListType::Atomic
        );
        assert_eq!(
            pod_spec.field("imagePullSecrets").list_type(),
            ListType::Map(vec!["name"])
        );
        assert!(deployment.field("spec").field("selector").is_atomic_map());
        assert!(!deployment.field("metadata").field("labels").is_atomic_map());
        let finalizers = deployment.field("metadata").field("finalizers");
        assert_eq!(finalizers.list_type(), ListType::Set);
        let service_ports = FieldSchema::of_kind("Service").field("spec").field("ports");
        assert_eq!(
            service_ports.list_type(),
            ListType::Map(vec!["port", "protocol"])
        );
        // Past the schemas: unknown, lists atomic.
        let unknown = deployment.field("spec").field("noSuchField");
        assert_eq!(unknown.list_type(), ListType::Atomic);
        assert!(!unknown.field("x").is_atomic_map());
        assert_eq!(
            FieldSchema::of_kind("NoSuchKind").list_type(),
            ListType::Atomic
        );
    }
}
