//! kube-apiserver's OpenAPI documents: `/openapi/v2` (swagger 2.0) and `/openapi/v3` (an
//! index, then one OpenAPI 3.0 document per served group-version). kubectl reads the v3
//! ones: `explain` finds a kind's schema by `x-kubernetes-group-version-kind`; `apply`
//! takes strategic merge patch keys from the schemas, and skips its client-side schema
//! validation in favour of `fieldValidation=Strict` once the kind's PATCH operation
//! lists that query parameter.
//!
//! The schemas are Kubernetes 1.33.0's, vendored gzipped in `openapi/definitions.json.gz`
//! (scripts/openapi/reconstruct.py rebuilds them). The `paths` are built here from the
//! resource registry, so they describe what the gateway serves, not what kube serves.
//!
//! Pure: decoding a constant compiled into the binary is neither IO nor a source of
//! nondeterminism, and the data lives beside the gateway because the gateway is what
//! will check request bodies against these schemas ([`Documents::schema`]). The HTTPS
//! shell builds [`Documents`] once, off its request path, and serves the bytes.
//!
//! `/openapi/v2` also comes as gnostic's protobuf (`gnostic.rs`), the only form client-go's
//! `OpenAPISchema()` takes: kubectl reads it to validate a `kind: List`'s items itself
//! (no PATCH operation lists `fieldValidation` for List) and for
//! `explain --output=plaintext-openapiv2`.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read as _;
use std::sync::OnceLock;

use serde_json::{json, Map, Value};

mod gnostic;

pub use self::gnostic::EncodeError;
use crate::discovery::{self, Subresource};
use crate::registry::{ResourceType, RESOURCES};

/// Kubernetes' schemas for the served kinds and all they reference, as swagger 2.0
/// `{"definitions": ...}`.
const DEFINITIONS_GZ: &[u8] = include_bytes!("openapi/definitions.json.gz");
/// The definitions decompress to about 0.5 MB; more than this is a broken build input.
const DEFINITIONS_BYTES_MAX: u64 = 8 << 20;
/// Where the group-version documents are served; the v3 index points below it.
pub const V3_PATH_PREFIX: &str = "/openapi/v3";
/// The release the schemas come from.
const SCHEMA_RELEASE: &str = "v1.33.0";
const V2_REF_PREFIX: &str = "#/definitions/";
const V3_REF_PREFIX: &str = "#/components/schemas/";
const GVK_EXTENSION: &str = "x-kubernetes-group-version-kind";
const ACTION_EXTENSION: &str = "x-kubernetes-action";
const STATUS_SCHEMA: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
const DELETE_OPTIONS_SCHEMA: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";
const PATCH_SCHEMA: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
/// The only media type the gateway answers in.
const JSON_MEDIA_TYPE: &str = "application/json";
/// Create and replace bodies: kube takes any serialization it can decode.
const ANY_MEDIA_TYPE: &str = "*/*";
/// The patch bodies the gateway takes. kubectl apply sends a strategic merge patch only
/// when a kind's PATCH operation lists that media type.
const PATCH_MEDIA_TYPES: &[&str] = &[
    "application/apply-patch+yaml",
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
];
/// Subresources whose bodies are objects with a schema (`log` and `exec` stream text).
const OBJECT_SUBRESOURCES: &[&str] = &[
    "binding", "eviction", "finalize", "scale", "status", "token",
];

/// Query parameters: name, type, and what it does.
const QUERY_PARAMETERS: &[(&str, &str, &str)] = &[
    ("allowWatchBookmarks", "boolean", "Asks a watch for BOOKMARK events, which a server may or may not send."),
    ("continue", "string", "The continue token of a previous page of a list, to read the next page."),
    ("dryRun", "string", "When present (the only value is All), the change is validated and answered but not stored."),
    ("fieldManager", "string", "The name of the actor making the change, recorded in managedFields."),
    ("fieldSelector", "string", "Restricts the answer to objects whose fields match."),
    ("fieldValidation", "string", "What to do with unknown or duplicate fields in the body: Ignore, Warn or Strict."),
    ("force", "boolean", "Lets an apply patch take fields another manager owns; for apply patches only."),
    ("gracePeriodSeconds", "integer", "Seconds before the object is deleted; zero deletes it at once."),
    ("labelSelector", "string", "Restricts the answer to objects whose labels match."),
    ("limit", "integer", "The most objects one list answer holds; continue reads the rest."),
    ("orphanDependents", "boolean", "Deprecated, use propagationPolicy: whether dependents are orphaned."),
    ("pretty", "string", "If 'true', the answer is indented."),
    ("propagationPolicy", "string", "How dependents are garbage collected: Orphan, Background or Foreground."),
    ("resourceVersion", "string", "The version a list answers at or a watch starts after; see resourceVersionMatch."),
    ("resourceVersionMatch", "string", "How resourceVersion applies to a list: Exact or NotOlderThan."),
    ("sendInitialEvents", "boolean", "Starts a watch with the current objects as ADDED events."),
    ("timeoutSeconds", "integer", "A time limit for a list or watch call."),
    ("watch", "boolean", "Watches for changes to the described objects instead of listing them."),
];
const LIST_PARAMETERS: &[&str] = &[
    "allowWatchBookmarks",
    "continue",
    "fieldSelector",
    "labelSelector",
    "limit",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
    "watch",
];
const WRITE_PARAMETERS: &[&str] = &["dryRun", "fieldManager", "fieldValidation"];
/// kubectl's `supportsQueryParamV3` looks for `fieldValidation` here, on every PATCH
/// operation tagged with the kind (status's too: the first one found decides).
const PATCH_PARAMETERS: &[&str] = &["dryRun", "fieldManager", "fieldValidation", "force"];
const DELETE_PARAMETERS: &[&str] = &[
    "dryRun",
    "gracePeriodSeconds",
    "orphanDependents",
    "propagationPolicy",
];
const DELETE_COLLECTION_PARAMETERS: &[&str] = &[
    "continue",
    "dryRun",
    "fieldSelector",
    "gracePeriodSeconds",
    "labelSelector",
    "limit",
    "orphanDependents",
    "propagationPolicy",
    "resourceVersion",
    "resourceVersionMatch",
    "sendInitialEvents",
    "timeoutSeconds",
];

/// `(group, version, kind)`.
type Gvk = (String, String, String);

/// Every OpenAPI document the server serves, assembled once.
pub struct Documents {
    /// Schema name to schema, swagger 2.0 form (`#/definitions/` refs).
    definitions: Map<String, Value>,
    /// Which schema describes a kind.
    kinds: BTreeMap<Gvk, String>,
    v2: Vec<u8>,
    /// The same document as gnostic's protobuf; an error is a bug in the document.
    v2_protobuf: Result<Vec<u8>, EncodeError>,
    /// By index key: `api/v1`, `apis/apps/v1`.
    v3: BTreeMap<String, GroupVersionDocument>,
}

struct GroupVersionDocument {
    bytes: Vec<u8>,
    /// A digest of `bytes`: clients cache a document by the URL that carries it.
    hash: String,
}

impl Documents {
    /// Decodes the vendored schemas and assembles every document. It takes a moment of
    /// CPU: run it off any latency-sensitive path.
    pub fn build() -> Documents {
        let (definitions, v3_forms) = decode_definitions();
        let kinds = kinds_of(&definitions);
        let mut v2_paths = Map::new();
        let mut v3 = BTreeMap::new();
        for (group, version) in group_versions() {
            let paths = group_version_paths(group, version, &kinds);
            assert!(
                !paths.is_empty(),
                "{group}/{version} is served but has no paths"
            );
            for (path, item) in &paths {
                v2_paths.insert(path.clone(), v2_path_item(item));
            }
            let bytes = to_bytes(&v3_document(&definitions, &v3_forms, paths));
            let hash = hex_digest(&bytes);
            v3.insert(
                index_key(group, version),
                GroupVersionDocument { bytes, hash },
            );
        }
        let mut v2 = json!({
            "swagger": "2.0",
            "info": {"title": "Kubernetes", "version": SCHEMA_RELEASE},
            "paths": v2_paths,
        });
        rewrite_refs(&mut v2, V3_REF_PREFIX, V2_REF_PREFIX);
        v2["definitions"] = Value::Object(definitions.clone());
        let documents = Documents {
            definitions,
            kinds,
            v2: to_bytes(&v2),
            v2_protobuf: gnostic::encode_document(&v2),
            v3,
        };
        assert!(!documents.v3.is_empty());
        documents
    }

    /// GET /openapi/v2, JSON.
    pub fn v2(&self) -> &[u8] {
        &self.v2
    }

    /// GET /openapi/v2 as gnostic's `openapi.v2.Document` protobuf (what
    /// `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf` asks for).
    /// An error means the document holds what the encoder has no field for: kube answers
    /// 503 when its own encoding fails.
    pub fn v2_protobuf(&self) -> Result<&[u8], &EncodeError> {
        self.v2_protobuf.as_deref()
    }

    /// GET /openapi/v3: each group-version's document, at a URL that changes with it.
    pub fn v3_index(&self) -> Value {
        let paths: Map<String, Value> = self
            .v3
            .iter()
            .map(|(key, document)| {
                let url = format!("{V3_PATH_PREFIX}/{key}?hash={}", document.hash);
                (key.clone(), json!({"serverRelativeURL": url}))
            })
            .collect();
        json!({"paths": paths})
    }

    /// GET /openapi/v3/api/v1 (group "") or /openapi/v3/apis/{group}/{version}; None for
    /// a group-version not served.
    pub fn v3(&self, group: &str, version: &str) -> Option<&[u8]> {
        self.v3
            .get(&index_key(group, version))
            .map(|document| document.bytes.as_slice())
    }

    /// The schema of a kind (`apps`, `v1`, `Deployment`), swagger 2.0 form; its `$ref`s
    /// name other entries of [`Documents::definitions`]. For checking request bodies.
    pub fn schema(&self, group: &str, version: &str, kind: &str) -> Option<&Value> {
        let key = (group.to_string(), version.to_string(), kind.to_string());
        self.definitions.get(self.kinds.get(&key)?)
    }

    /// Every schema, by name.
    pub fn definitions(&self) -> &Map<String, Value> {
        &self.definitions
    }
}

/// The swagger 2.0 schemas by name, decoded once per process: server-side apply walks
/// objects by them (`field_schema.rs`).
pub(crate) fn definitions() -> &'static Map<String, Value> {
    static DEFINITIONS: OnceLock<Map<String, Value>> = OnceLock::new();
    DEFINITIONS.get_or_init(|| decode_definitions().0)
}

/// The name of the schema that describes a kind, if the vendored schemas have it.
pub(crate) fn kind_schema_name(group: &str, version: &str, kind: &str) -> Option<&'static str> {
    static KINDS: OnceLock<BTreeMap<Gvk, String>> = OnceLock::new();
    let kinds = KINDS.get_or_init(|| kinds_of(definitions()));
    kinds.get(&gvk(group, version, kind)).map(String::as_str)
}

/// The swagger 2.0 schemas, and the v3 form of those that differ in v3.
fn decode_definitions() -> (Map<String, Value>, Map<String, Value>) {
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(DEFINITIONS_GZ)
        .take(DEFINITIONS_BYTES_MAX)
        .read_to_end(&mut text)
        .expect("the vendored OpenAPI definitions are gzip");
    assert!(
        (text.len() as u64) < DEFINITIONS_BYTES_MAX,
        "definitions truncated"
    );
    let mut document: Value =
        serde_json::from_slice(&text).expect("the vendored OpenAPI definitions are JSON");
    let v3_forms = match document["definitionsV3"].take() {
        Value::Object(forms) => forms,
        _ => panic!("the vendored OpenAPI document has no definitionsV3"),
    };
    match document["definitions"].take() {
        Value::Object(definitions) if !definitions.is_empty() => (definitions, v3_forms),
        _ => panic!("the vendored OpenAPI document has no definitions"),
    }
}

/// Every kind a schema is tagged with, to the schema's name.
fn kinds_of(definitions: &Map<String, Value>) -> BTreeMap<Gvk, String> {
    let mut kinds = BTreeMap::new();
    for (name, schema) in definitions {
        let tags = schema[GVK_EXTENSION]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        for tag in tags {
            let field = |key: &str| tag[key].as_str().unwrap_or_default().to_string();
            let gvk = (field("group"), field("version"), field("kind"));
            kinds.entry(gvk).or_insert_with(|| name.clone());
        }
    }
    assert!(!kinds.is_empty(), "no schema names its kind");
    kinds
}

fn gvk(group: &str, version: &str, kind: &str) -> Gvk {
    (group.to_string(), version.to_string(), kind.to_string())
}

/// The served group-versions, sorted.
fn group_versions() -> BTreeSet<(&'static str, &'static str)> {
    RESOURCES.iter().map(|r| (r.group, r.version)).collect()
}

/// `api/v1`, `apis/apps/v1`: how the v3 index names a group-version.
fn index_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn to_bytes(document: &Value) -> Vec<u8> {
    serde_json::to_vec(document).expect("a JSON value serializes")
}

/// FNV-1a (64 bits) in hex: stable across builds and platforms, unlike std's hasher.
/// It only has to change when a document does.
fn hex_digest(bytes: &[u8]) -> String {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = bytes.iter().fold(OFFSET_BASIS, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(PRIME)
    });
    format!("{hash:016X}")
}

// Documents.

/// An OpenAPI 3.0 document: `paths` and the schemas they reach.
fn v3_document(
    definitions: &Map<String, Value>,
    v3_forms: &Map<String, Value>,
    paths: Map<String, Value>,
) -> Value {
    let mut roots = BTreeSet::new();
    for item in paths.values() {
        collect_refs(item, V3_REF_PREFIX, &mut roots);
    }
    let mut schemas = Map::new();
    for name in closure(definitions, roots) {
        if let Some(schema) = v3_forms.get(&name).or_else(|| definitions.get(&name)) {
            schemas.insert(name, schema.clone());
        }
    }
    let mut components = json!({"schemas": schemas});
    rewrite_refs(&mut components, V2_REF_PREFIX, V3_REF_PREFIX);
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": SCHEMA_RELEASE},
        "paths": paths,
        "components": components,
    })
}

/// `roots` and every schema they reference, directly or not.
fn closure(definitions: &Map<String, Value>, roots: BTreeSet<String>) -> BTreeSet<String> {
    let mut kept = BTreeSet::new();
    let mut pending = roots;
    // Each name is pending at most once before it is kept, so this many rounds suffice.
    let rounds_max = definitions.len() + pending.len();
    for _ in 0..rounds_max {
        let Some(name) = pending.pop_first() else {
            break;
        };
        let mut refs = BTreeSet::new();
        if let Some(schema) = definitions.get(&name) {
            collect_refs(schema, V2_REF_PREFIX, &mut refs);
        }
        kept.insert(name);
        pending.extend(refs.into_iter().filter(|r| !kept.contains(r)));
    }
    assert!(pending.is_empty(), "schema closure did not finish");
    kept
}

/// The schema names `value` refers to with `prefix` (`#/definitions/`).
fn collect_refs(value: &Value, prefix: &str, refs: &mut BTreeSet<String>) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields {
                match (key.as_str(), field.as_str()) {
                    ("$ref", Some(target)) => {
                        if let Some(name) = target.strip_prefix(prefix) {
                            refs.insert(name.to_string());
                        }
                    }
                    _ => collect_refs(field, prefix, refs),
                }
            }
        }
        Value::Array(items) => items
            .iter()
            .for_each(|item| collect_refs(item, prefix, refs)),
        _ => {}
    }
}

/// Rewrites every `$ref` under `value` from prefix `from` to prefix `to`.
fn rewrite_refs(value: &mut Value, from: &str, to: &str) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                let target = field.as_str().filter(|_| key == "$ref");
                match target.and_then(|t| t.strip_prefix(from)) {
                    Some(name) => *field = Value::String(format!("{to}{name}")),
                    None => rewrite_refs(field, from, to),
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| rewrite_refs(item, from, to)),
        _ => {}
    }
}

// Paths.

/// The operations on one path, as kube-apiserver names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    List,
    Create,
    DeleteCollection,
    Read,
    Replace,
    Patch,
    Delete,
}

impl Action {
    /// The HTTP method, as OpenAPI spells it.
    fn method(self) -> &'static str {
        match self {
            Action::List | Action::Read => "get",
            Action::Create => "post",
            Action::Replace => "put",
            Action::Patch => "patch",
            Action::Delete | Action::DeleteCollection => "delete",
        }
    }

    /// `x-kubernetes-action`.
    fn name(self) -> &'static str {
        match self {
            Action::List => "list",
            Action::Create => "post",
            Action::DeleteCollection => "deletecollection",
            Action::Read => "get",
            Action::Replace => "put",
            Action::Patch => "patch",
            Action::Delete => "delete",
        }
    }

    /// The verb an operationId starts with.
    fn id_verb(self) -> &'static str {
        match self {
            Action::List => "list",
            Action::Create => "create",
            Action::Read => "read",
            Action::Replace => "replace",
            Action::Patch => "patch",
            Action::Delete | Action::DeleteCollection => "delete",
        }
    }

    fn query(self) -> &'static [&'static str] {
        match self {
            Action::List => LIST_PARAMETERS,
            Action::Create | Action::Replace => WRITE_PARAMETERS,
            Action::Patch => PATCH_PARAMETERS,
            Action::Delete => DELETE_PARAMETERS,
            Action::DeleteCollection => DELETE_COLLECTION_PARAMETERS,
            Action::Read => &[],
        }
    }

    /// The action for a discovery verb on a single object (subresources).
    fn of_object_verb(verb: &str) -> Option<Action> {
        match verb {
            "get" => Some(Action::Read),
            "update" => Some(Action::Replace),
            "patch" => Some(Action::Patch),
            "create" => Some(Action::Create),
            _ => None,
        }
    }
}

/// How far a path reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reach {
    Namespaced,
    Cluster,
    AllNamespaces,
}

/// What a path's operations are about.
struct Target<'a> {
    resource: &'a ResourceType,
    /// `status`, `scale`; None for the main resource.
    subresource: Option<&'a str>,
    /// The kind the operations are tagged with: the subresource's own for scale,
    /// binding and eviction.
    kind: Gvk,
    /// The schema of that kind, and of its list.
    object: String,
    list: Option<String>,
    reach: Reach,
}

/// Every path of one group-version, in v3 form.
fn group_version_paths(
    group: &str,
    version: &str,
    kinds: &BTreeMap<Gvk, String>,
) -> Map<String, Value> {
    let mut paths = Map::new();
    let served = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version);
    for resource in served {
        resource_paths(resource, kinds, &mut paths);
        for (name, subresource) in discovery::subresources_of(resource) {
            if OBJECT_SUBRESOURCES.contains(&name) {
                subresource_paths(resource, name, &subresource, kinds, &mut paths);
            }
        }
    }
    paths
}

/// The collection, the object and (for namespaced kinds) the all-namespaces list.
fn resource_paths(
    resource: &ResourceType,
    kinds: &BTreeMap<Gvk, String>,
    paths: &mut Map<String, Value>,
) {
    let kind = gvk(resource.group, resource.version, resource.kind);
    let Some(object) = kinds.get(&kind).cloned() else {
        return; // a kind without a schema goes undescribed; a test keeps this from happening
    };
    let list_kind = gvk(
        resource.group,
        resource.version,
        &format!("{}List", resource.kind),
    );
    let reach = if resource.namespaced {
        Reach::Namespaced
    } else {
        Reach::Cluster
    };
    let mut target = Target {
        resource,
        subresource: None,
        kind,
        object,
        list: kinds.get(&list_kind).cloned(),
        reach,
    };
    let verbs = discovery::verbs(resource);
    let served = |actions: &[(&str, Action)]| -> Vec<Action> {
        actions
            .iter()
            .filter(|(verb, _)| verbs.contains(verb))
            .map(|(_, action)| *action)
            .collect()
    };
    let collection = [
        ("list", Action::List),
        ("create", Action::Create),
        ("deletecollection", Action::DeleteCollection),
    ];
    let object_actions = [
        ("get", Action::Read),
        ("update", Action::Replace),
        ("patch", Action::Patch),
        ("delete", Action::Delete),
    ];
    let base = collection_path(resource, reach);
    paths.insert(
        base.clone(),
        path_item(&target, &served(&collection), false),
    );
    let object_served = served(&object_actions);
    if !object_served.is_empty() {
        paths.insert(
            format!("{base}/{{name}}"),
            path_item(&target, &object_served, true),
        );
    }
    if resource.namespaced && verbs.contains(&"list") {
        target.reach = Reach::AllNamespaces;
        let all = collection_path(resource, Reach::AllNamespaces);
        paths.insert(all, path_item(&target, &[Action::List], false));
    }
}

/// `/{object}/status`, `/scale` and the like.
fn subresource_paths(
    resource: &ResourceType,
    name: &str,
    subresource: &Subresource,
    kinds: &BTreeMap<Gvk, String>,
    paths: &mut Map<String, Value>,
) {
    let (group, version) = match subresource.group {
        "" => (resource.group, resource.version),
        group => (group, subresource.version),
    };
    let kind = gvk(group, version, subresource.kind);
    let Some(object) = kinds.get(&kind).cloned() else {
        return;
    };
    let reach = if resource.namespaced {
        Reach::Namespaced
    } else {
        Reach::Cluster
    };
    let target = Target {
        resource,
        subresource: Some(name),
        kind,
        object,
        list: None,
        reach,
    };
    let actions: Vec<Action> = subresource
        .verbs
        .iter()
        .filter_map(|v| Action::of_object_verb(v))
        .collect();
    let path = format!("{}/{{name}}/{name}", collection_path(resource, reach));
    paths.insert(path, path_item(&target, &actions, true));
}

/// `/api/v1/namespaces/{namespace}/pods`, `/apis/apps/v1/deployments`.
fn collection_path(resource: &ResourceType, reach: Reach) -> String {
    let prefix = if resource.group.is_empty() {
        format!("/api/{}", resource.version)
    } else {
        format!("/apis/{}/{}", resource.group, resource.version)
    };
    let scope = if reach == Reach::Namespaced {
        "/namespaces/{namespace}"
    } else {
        ""
    };
    format!("{prefix}{scope}/{}", resource.plural)
}

/// A path item: its parameters, then one operation per action.
fn path_item(target: &Target, actions: &[Action], named: bool) -> Value {
    let mut parameters = Vec::new();
    if named {
        let what = format!("name of the {}", target.resource.kind);
        parameters.push(path_parameter("name", &what));
    }
    if target.reach == Reach::Namespaced {
        parameters.push(path_parameter(
            "namespace",
            "object name and auth scope, such as for teams and projects",
        ));
    }
    parameters.push(query_parameter("pretty"));
    let mut item = Map::new();
    item.insert("parameters".into(), Value::Array(parameters));
    for action in actions {
        item.insert(action.method().into(), operation(target, *action));
    }
    Value::Object(item)
}

fn path_parameter(name: &str, description: &str) -> Value {
    json!({"name": name, "in": "path", "required": true, "description": description,
        "schema": {"type": "string"}})
}

fn query_parameter(name: &str) -> Value {
    let (_, kind, description) = QUERY_PARAMETERS
        .iter()
        .find(|(known, _, _)| *known == name)
        .expect("every query parameter named is described");
    json!({"name": name, "in": "query", "description": description, "schema": {"type": kind}})
}

/// One operation: what kube-apiserver publishes, with the gateway's media types.
fn operation(target: &Target, action: Action) -> Value {
    let (group, version, kind) = &target.kind;
    // kubectl decides per kind whether the server validates from the PATCH operations.
    let validated = action.query().contains(&"fieldValidation");
    assert!(
        action != Action::Patch || validated,
        "a PATCH without fieldValidation"
    );
    assert!(!kind.is_empty() && !target.object.is_empty());
    let parameters: Vec<Value> = action
        .query()
        .iter()
        .map(|name| query_parameter(name))
        .collect();
    let mut fields = Map::new();
    fields.insert("operationId".into(), json!(operation_id(target, action)));
    fields.insert("description".into(), json!(description(target, action)));
    fields.insert("tags".into(), json!([tag(target.resource)]));
    if !parameters.is_empty() {
        fields.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(body) = request_body(target, action) {
        fields.insert("requestBody".into(), body);
    }
    fields.insert("responses".into(), responses(target, action));
    fields.insert(ACTION_EXTENSION.into(), json!(action.name()));
    fields.insert(
        GVK_EXTENSION.into(),
        json!({"group": group, "version": version, "kind": kind}),
    );
    Value::Object(fields)
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("{V3_REF_PREFIX}{name}")})
}

fn request_body(target: &Target, action: Action) -> Option<Value> {
    let (required, media_types, schema): (bool, &[&str], &str) = match action {
        Action::Create | Action::Replace => (true, &[ANY_MEDIA_TYPE], &target.object),
        Action::Patch => (true, PATCH_MEDIA_TYPES, PATCH_SCHEMA),
        Action::Delete | Action::DeleteCollection => {
            (false, &[ANY_MEDIA_TYPE], DELETE_OPTIONS_SCHEMA)
        }
        Action::List | Action::Read => return None,
    };
    let content: Map<String, Value> = media_types
        .iter()
        .map(|media| (media.to_string(), json!({"schema": schema_ref(schema)})))
        .collect();
    Some(json!({"required": required, "content": content}))
}

fn responses(target: &Target, action: Action) -> Value {
    let answer = match action {
        Action::List => target.list.as_deref().unwrap_or(&target.object),
        Action::Delete | Action::DeleteCollection => STATUS_SCHEMA,
        _ => &target.object,
    };
    let codes: &[(&str, &str)] = match action {
        Action::Create => &[("200", "OK"), ("201", "Created"), ("202", "Accepted")],
        Action::Replace | Action::Patch => &[("200", "OK"), ("201", "Created")],
        Action::Delete => &[("200", "OK"), ("202", "Accepted")],
        _ => &[("200", "OK")],
    };
    let mut responses = Map::new();
    for (code, description) in codes {
        let content = json!({JSON_MEDIA_TYPE: {"schema": schema_ref(answer)}});
        responses.insert(
            code.to_string(),
            json!({"description": description, "content": content}),
        );
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    Value::Object(responses)
}

/// `patchAppsV1NamespacedDeploymentScale`, `listCoreV1PodForAllNamespaces`.
fn operation_id(target: &Target, action: Action) -> String {
    let resource = target.resource;
    let collection = if action == Action::DeleteCollection {
        "Collection"
    } else {
        ""
    };
    let namespaced = if target.reach == Reach::Namespaced {
        "Namespaced"
    } else {
        ""
    };
    let subresource = target.subresource.map(capitalized).unwrap_or_default();
    let all = if target.reach == Reach::AllNamespaces {
        "ForAllNamespaces"
    } else {
        ""
    };
    let group_version = group_version_name(resource.group, resource.version);
    format!(
        "{}{group_version}{collection}{namespaced}{}{subresource}{all}",
        action.id_verb(),
        resource.kind
    )
}

fn description(target: &Target, action: Action) -> String {
    let kind = target.resource.kind;
    let doing = match action {
        Action::List => return format!("list or watch objects of kind {kind}"),
        Action::DeleteCollection => return format!("delete collection of {kind}"),
        Action::Delete => return format!("delete a {kind}"),
        Action::Create if target.subresource.is_none() => return format!("create a {kind}"),
        Action::Create => "create",
        Action::Read => "read",
        Action::Replace => "replace",
        Action::Patch => "partially update",
    };
    match target.subresource {
        Some(subresource) => format!("{doing} {subresource} of the specified {kind}"),
        None => format!("{doing} the specified {kind}"),
    }
}

/// `CoreV1`, `AppsV1`, `RbacAuthorizationV1`: kube's operationId spelling of a group-version.
fn group_version_name(group: &str, version: &str) -> String {
    let group: String = match group {
        "" => "Core".into(),
        group => group
            .trim_end_matches(".k8s.io")
            .split('.')
            .map(capitalized)
            .collect(),
    };
    format!("{group}{}", capitalized(version))
}

/// `core_v1`, `rbacAuthorization_v1`: kube's operation tags.
fn tag(resource: &ResourceType) -> String {
    let name = group_version_name(resource.group, "");
    let mut chars = name.chars();
    let first = chars.next().map(|c| c.to_ascii_lowercase()).into_iter();
    format!(
        "{}_{}",
        first.chain(chars).collect::<String>(),
        resource.version
    )
}

fn capitalized(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

// Swagger 2.0.

/// A v3 path item in swagger 2.0's form.
fn v2_path_item(item: &Value) -> Value {
    let mut converted = Map::new();
    for (key, value) in item.as_object().into_iter().flatten() {
        let value = match key.as_str() {
            "parameters" => Value::Array(v2_parameters(value)),
            _ => v2_operation(value),
        };
        converted.insert(key.clone(), value);
    }
    Value::Object(converted)
}

/// Parameters carry their type inline in swagger 2.0, not in a `schema`.
fn v2_parameters(parameters: &Value) -> Vec<Value> {
    let list = parameters.as_array().map_or(&[][..], Vec::as_slice);
    list.iter()
        .map(|parameter| {
            let mut fields = parameter.as_object().cloned().unwrap_or_default();
            if let Some(Value::Object(schema)) = fields.remove("schema") {
                fields.extend(schema);
            }
            Value::Object(fields)
        })
        .collect()
}

/// A v3 operation in swagger 2.0's form: the body is a parameter, media types are
/// `consumes` and `produces`, a response names its schema directly.
fn v2_operation(operation: &Value) -> Value {
    let mut fields = operation.as_object().cloned().unwrap_or_default();
    let mut parameters = fields
        .remove("parameters")
        .map(|p| v2_parameters(&p))
        .unwrap_or_default();
    if let Some(body) = fields.remove("requestBody") {
        let content = body["content"].as_object().cloned().unwrap_or_default();
        let schema = content
            .values()
            .next()
            .map_or(Value::Null, |media| media["schema"].clone());
        parameters.push(json!({"name": "body", "in": "body", "required": true, "schema": schema}));
        fields.insert("consumes".into(), json!(content.keys().collect::<Vec<_>>()));
    }
    if !parameters.is_empty() {
        fields.insert("parameters".into(), Value::Array(parameters));
    }
    if let Some(Value::Object(responses)) = fields.get_mut("responses") {
        for response in responses.values_mut() {
            let schema = response["content"][JSON_MEDIA_TYPE]["schema"].take();
            if let Some(fields) = response.as_object_mut() {
                fields.remove("content");
                if !schema.is_null() {
                    fields.insert("schema".into(), schema);
                }
            }
        }
    }
    fields.insert("produces".into(), json!([JSON_MEDIA_TYPE]));
    fields.insert("schemes".into(), json!(["https"]));
    Value::Object(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Built once for all tests: a debug build takes a moment.
    pub(super) fn documents() -> &'static Documents {
        static DOCUMENTS: OnceLock<Documents> = OnceLock::new();
        DOCUMENTS.get_or_init(Documents::build)
    }

    fn v3(group: &str, version: &str) -> Value {
        serde_json::from_slice(documents().v3(group, version).expect("served")).unwrap()
    }

    #[test]
    fn every_served_kind_has_a_schema_and_a_patch_with_field_validation() {
        for resource in RESOURCES {
            let (group, version, kind) = (resource.group, resource.version, resource.kind);
            let schema = documents().schema(group, version, kind);
            assert!(
                schema.is_some_and(|s| s["properties"]["metadata"].is_object()),
                "{kind}"
            );
            let document = v3(group, version);
            let schemas = document["components"]["schemas"].as_object().unwrap();
            let tagged = schemas.values().any(|s| {
                s[GVK_EXTENSION]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|t| t["kind"] == kind)
            });
            assert!(tagged, "{kind} has no schema in its v3 document");
            // What kubectl's supportsQueryParamV3 checks: every PATCH tagged with the kind
            // lists fieldValidation in the query.
            let patches: Vec<&Value> = document["paths"]
                .as_object()
                .unwrap()
                .values()
                .filter_map(|item| item.get("patch"))
                .filter(|op| {
                    op[GVK_EXTENSION]["kind"] == kind && op[GVK_EXTENSION]["group"] == group
                })
                .collect();
            // A review is only ever created: it has no PATCH, but a POST.
            let posts = document["paths"].as_object().unwrap().values();
            let posted = posts
                .filter_map(|item| item.get("post"))
                .any(|op| op[GVK_EXTENSION]["kind"] == kind);
            assert!(posted, "{kind} has no POST");
            assert_eq!(patches.is_empty(), resource.is_review(), "{kind}'s PATCH");
            for patch in patches {
                let parameters = patch["parameters"].as_array().unwrap();
                assert!(parameters
                    .iter()
                    .any(|p| p["name"] == "fieldValidation" && p["in"] == "query"));
                assert!(
                    patch["requestBody"]["content"]["application/strategic-merge-patch+json"]
                        .is_object()
                );
            }
        }
    }

    #[test]
    fn v3_refs_resolve_within_their_document() {
        for (group, version) in group_versions() {
            let document = v3(group, version);
            let schemas = document["components"]["schemas"].as_object().unwrap();
            let mut refs = BTreeSet::new();
            collect_refs(&document, V3_REF_PREFIX, &mut refs);
            assert!(!refs.is_empty());
            for name in refs {
                assert!(
                    schemas.contains_key(&name),
                    "{group}/{version}: {name} dangles"
                );
            }
            let text = String::from_utf8(documents().v3(group, version).unwrap().to_vec()).unwrap();
            assert!(
                !text.contains(V2_REF_PREFIX),
                "{group}/{version} keeps a v2 ref"
            );
        }
    }

    #[test]
    fn paths_follow_kube_apiserver_naming() {
        let apps = v3("apps", "v1");
        let scale = &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"];
        assert_eq!(
            scale["patch"]["operationId"],
            "patchAppsV1NamespacedDeploymentScale"
        );
        assert_eq!(
            scale["patch"][GVK_EXTENSION],
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
        );
        assert!(apps["components"]["schemas"]["io.k8s.api.autoscaling.v1.Scale"].is_object());
        let all = &apps["paths"]["/apis/apps/v1/deployments"]["get"];
        assert_eq!(all["operationId"], "listAppsV1DeploymentForAllNamespaces");
        let core = v3("", "v1");
        let nodes = &core["paths"]["/api/v1/nodes/{name}"];
        assert_eq!(nodes["put"]["operationId"], "replaceCoreV1Node");
        assert_eq!(
            nodes["parameters"].as_array().unwrap().len(),
            2,
            "name and pretty"
        );
        let namespaces = &core["paths"]["/api/v1/namespaces"];
        assert!(
            namespaces["delete"].is_null(),
            "namespaces have no deletecollection"
        );
        let eviction = &core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/eviction"];
        assert_eq!(eviction["post"][GVK_EXTENSION]["group"], "policy");
        assert!(core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/log"].is_null());
        let rbac = v3("rbac.authorization.k8s.io", "v1");
        let role = &rbac["paths"]
            ["/apis/rbac.authorization.k8s.io/v1/namespaces/{namespace}/roles/{name}"];
        assert_eq!(
            role["delete"]["operationId"],
            "deleteRbacAuthorizationV1NamespacedRole"
        );
        assert_eq!(role["delete"]["tags"], json!(["rbacAuthorization_v1"]));
        assert!(documents().v3("apps", "v2").is_none());
    }

    #[test]
    fn index_names_every_group_version_with_a_hash() {
        let index = documents().v3_index();
        let paths = index["paths"].as_object().unwrap();
        assert_eq!(paths.len(), group_versions().len());
        let url = paths["apis/apps/v1"]["serverRelativeURL"].as_str().unwrap();
        assert!(url.starts_with("/openapi/v3/apis/apps/v1?hash="), "{url}");
        let core = paths["api/v1"]["serverRelativeURL"].as_str().unwrap();
        assert!(core.starts_with("/openapi/v3/api/v1?hash="));
        assert_ne!(url.split('=').nth(1), core.split('=').nth(1));
        assert_eq!(hex_digest(b""), "CBF29CE484222325");
    }

    #[test]
    fn v2_is_swagger_with_definitions_and_inline_parameters() {
        let v2: Value = serde_json::from_slice(documents().v2()).unwrap();
        assert_eq!(v2["swagger"], "2.0");
        let deployment = &v2["definitions"]["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(deployment[GVK_EXTENSION][0]["kind"], "Deployment");
        let patch =
            &v2["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        let parameters = patch["parameters"].as_array().unwrap();
        let validation = parameters
            .iter()
            .find(|p| p["name"] == "fieldValidation")
            .unwrap();
        assert_eq!(validation["type"], "string");
        let body = parameters.iter().find(|p| p["in"] == "body").unwrap();
        assert_eq!(
            body["schema"]["$ref"],
            "#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
        );
        assert!(patch["consumes"]
            .as_array()
            .unwrap()
            .contains(&json!("application/strategic-merge-patch+json")));
        let ok = &patch["responses"]["200"]["schema"]["$ref"];
        assert_eq!(ok, "#/definitions/io.k8s.api.apps.v1.Deployment");
        let text = String::from_utf8(documents().v2().to_vec()).unwrap();
        assert!(!text.contains(V3_REF_PREFIX));
    }

    #[test]
    fn schemas_keep_patch_strategies() {
        let pod_spec = &documents().definitions()["io.k8s.api.core.v1.PodSpec"];
        assert_eq!(
            pod_spec["properties"]["containers"]["x-kubernetes-patch-merge-key"],
            "name"
        );
        let deployment = documents().schema("apps", "v1", "Deployment").unwrap();
        assert_eq!(
            deployment["properties"]["spec"]["$ref"],
            "#/definitions/io.k8s.api.apps.v1.DeploymentSpec"
        );
        assert!(documents().schema("apps", "v1", "Widget").is_none());
        // kube's v3 IntOrString is a oneOf with no type (explain prints <IntOrString>).
        let int_or_string = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
        let v3_form = &v3("apps", "v1")["components"]["schemas"][int_or_string];
        assert!(v3_form["type"].is_null() && v3_form["oneOf"].is_array());
        assert_eq!(documents().definitions()[int_or_string]["type"], "string");
    }
}
