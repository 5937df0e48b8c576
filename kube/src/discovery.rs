//! kube-apiserver's discovery documents (`/version`, `/api`, `/apis`, the per
//! group-version resource lists and the aggregated `apidiscovery.k8s.io/v2` form), built
//! from the resource registry so that kubectl's get, apply, explain and api-resources
//! find every served type. Pure functions: the HTTPS shell does the IO.

use serde_json::{json, Map, Value};

use crate::registry::{ResourceType, RESOURCES};

/// The Kubernetes release whose API our types follow (k8s-openapi's `v1_33`).
const KUBE_MAJOR: &str = "1";
const KUBE_MINOR: &str = "33";
/// A 1.33 server stays compatible with 1.32 clients and peers, as kube reports.
const KUBE_MIN_COMPATIBILITY_MINOR: &str = "32";
const GIT_VERSION: &str = "v1.33.0-kactor";
/// Fixed so the document is reproducible.
const BUILD_DATE: &str = "2026-01-01T00:00:00Z";
const COMPILER: &str = "rustc";

/// The `Content-Type` of an aggregated discovery answer: kubectl asks for it first and
/// reads the body as `APIGroupDiscoveryList` only when the answer carries this type.
pub const AGGREGATED_DISCOVERY_CONTENT_TYPE: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// The CIDR that matches every client: one server address for everyone.
const ALL_CLIENTS_CIDR: &str = "0.0.0.0/0";

/// Verbs, sorted as kube-apiserver sorts them.
const FULL_VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
/// Namespaces have no collection delete in kube-apiserver.
const NAMESPACE_VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
const CREATE_ONLY: &[&str] = &["create"];
const GET_ONLY: &[&str] = &["get"];
const UPDATE_ONLY: &[&str] = &["update"];
/// `status`, `scale` and the other object-shaped subresources.
const READ_WRITE_VERBS: &[&str] = &["get", "patch", "update"];
/// Streaming subresources (exec, attach, portforward): POST or GET upgrades.
const CONNECT_VERBS: &[&str] = &["create", "get"];

/// `(group, plural)` of the types kube-apiserver puts in the `all` category
/// (`kubectl get all`).
const ALL_CATEGORY: &[(&str, &str)] = &[
    ("", "pods"),
    ("", "replicationcontrollers"),
    ("", "services"),
    ("apps", "daemonsets"),
    ("apps", "deployments"),
    ("apps", "replicasets"),
    ("apps", "statefulsets"),
    ("autoscaling", "horizontalpodautoscalers"),
    ("batch", "cronjobs"),
    ("batch", "jobs"),
];
const CATEGORY_ALL: &str = "all";

/// Groups in kube-apiserver's order of `/apis` (kube-aggregator's group priorities,
/// highest first). kubectl resolves a short name claimed by two groups to the earlier
/// one, so the order is behaviour, not cosmetics. Groups missing here come after, by name.
const GROUP_ORDER: &[&str] = &[
    "apps",
    "events.k8s.io",
    "authentication.k8s.io",
    "authorization.k8s.io",
    "autoscaling",
    "batch",
    "certificates.k8s.io",
    "networking.k8s.io",
    "policy",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "admissionregistration.k8s.io",
    "apiextensions.k8s.io",
    "scheduling.k8s.io",
    "coordination.k8s.io",
    "node.k8s.io",
    "discovery.k8s.io",
    "flowcontrol.apiserver.k8s.io",
    "internal.apiserver.k8s.io",
    "resource.k8s.io",
    "storagemigration.k8s.io",
];

/// The core group's name.
const CORE_GROUP: &str = "";
/// The core group's only version.
const CORE_VERSION: &str = "v1";
/// Discovery documents are `meta/v1` types.
const META_API_VERSION: &str = "v1";
const DISCOVERY_API_VERSION: &str = "apidiscovery.k8s.io/v2";
/// Every version we list is served from the registry itself, never from a stale peer.
const FRESHNESS_CURRENT: &str = "Current";
const SCOPE_NAMESPACED: &str = "Namespaced";
const SCOPE_CLUSTER: &str = "Cluster";

/// Pods' streaming subresources the HTTPS shell serves whether or not the registry
/// lists them, so kubectl logs and exec find them in discovery.
const POD_SHELL_SUBRESOURCES: &[&str] = &["log", "exec"];

/// GET /version.
pub fn version_info() -> Value {
    json!({
        "major": KUBE_MAJOR,
        "minor": KUBE_MINOR,
        "emulationMajor": KUBE_MAJOR,
        "emulationMinor": KUBE_MINOR,
        "minCompatibilityMajor": KUBE_MAJOR,
        "minCompatibilityMinor": KUBE_MIN_COMPATIBILITY_MINOR,
        "gitVersion": GIT_VERSION,
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": BUILD_DATE,
        "goVersion": "",
        "compiler": COMPILER,
        "platform": platform(),
    })
}

/// `linux/amd64`: Go's names for the OS and architecture, as kube reports them.
fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}/{}", std::env::consts::OS, arch)
}

/// GET /api: the core group's versions.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": [CORE_VERSION],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": ALL_CLIENTS_CIDR, "serverAddress": server_address}
        ],
    })
}

/// GET /apis: every named group, in kube-apiserver's order.
pub fn api_group_list() -> Value {
    let groups: Vec<Value> = named_groups().into_iter().map(group_body).collect();
    json!({"kind": "APIGroupList", "apiVersion": META_API_VERSION, "groups": groups})
}

/// GET /apis/{group}; None for an unknown group (and for the core group, which lives
/// at /api).
pub fn api_group(group: &str) -> Option<Value> {
    let name = named_groups().into_iter().find(|g| *g == group)?;
    let mut body = group_body(name);
    let fields = body.as_object_mut()?;
    fields.insert("kind".into(), json!("APIGroup"));
    fields.insert("apiVersion".into(), json!(META_API_VERSION));
    Some(body)
}

/// GET /api/v1 (group "") or /apis/{group}/{version}; None for an unknown one.
pub fn api_resource_list(group: &str, version: &str) -> Option<Value> {
    let types = types_of(group, version);
    if types.is_empty() {
        return None;
    }
    // kube-apiserver lists resources and subresources together, sorted by name.
    let mut entries: Vec<(String, Value)> = Vec::new();
    for resource in types {
        entries.push((resource.plural.to_string(), api_resource(resource)));
        for (name, subresource) in subresources_of(resource) {
            let path = format!("{}/{}", resource.plural, name);
            entries.push((path.clone(), api_subresource(resource, &path, &subresource)));
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let resources: Vec<Value> = entries.into_iter().map(|(_, entry)| entry).collect();
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": META_API_VERSION,
        "groupVersion": group_version(group, version),
        "resources": resources,
    }))
}

/// The aggregated discovery form: `core` for GET /api (the core group only), otherwise
/// GET /apis (every named group).
pub fn aggregated_discovery(core: bool) -> Value {
    let groups = if core {
        vec![CORE_GROUP]
    } else {
        named_groups()
    };
    let items: Vec<Value> = groups.into_iter().map(group_discovery).collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": DISCOVERY_API_VERSION,
        "metadata": {},
        "items": items,
    })
}

/// The verbs served on a resource type's main resource.
pub fn verbs(resource: &ResourceType) -> &'static [&'static str] {
    match (resource.group, resource.kind) {
        (CORE_GROUP, "Binding") => CREATE_ONLY,
        _ if resource.is_review() => CREATE_ONLY,
        (CORE_GROUP, "Namespace") => NAMESPACE_VERBS,
        _ => FULL_VERBS,
    }
}

// Groups and versions.

/// Every group but the core one, in kube-apiserver's order.
fn named_groups() -> Vec<&'static str> {
    let mut groups: Vec<&'static str> = Vec::new();
    for resource in RESOURCES {
        if resource.group != CORE_GROUP && !groups.contains(&resource.group) {
            groups.push(resource.group);
        }
    }
    groups.sort_by_key(|group| (group_rank(group), *group));
    groups
}

/// A group's place in `GROUP_ORDER`; unknown groups after every known one.
fn group_rank(group: &str) -> usize {
    GROUP_ORDER
        .iter()
        .position(|known| *known == group)
        .unwrap_or(GROUP_ORDER.len())
}

/// A group's served versions, preferred first.
fn versions_of(group: &str) -> Vec<&'static str> {
    let mut versions: Vec<&'static str> = Vec::new();
    for resource in RESOURCES {
        if resource.group == group && !versions.contains(&resource.version) {
            versions.push(resource.version);
        }
    }
    versions.sort_by(|a, b| compare_versions(a, b));
    versions
}

/// Stability of a Kubernetes version string: GA above beta above alpha.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Stability {
    Alpha,
    Beta,
    Ga,
}

/// `v2` → (Ga, 2, 0), `v1beta3` → (Beta, 1, 3); None for a string that is not a
/// Kubernetes version.
fn parse_version(version: &str) -> Option<(Stability, u64, u64)> {
    let rest = version.strip_prefix('v')?;
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let (major, suffix) = rest.split_at(digits);
    let major = major.parse().ok()?;
    if suffix.is_empty() {
        return Some((Stability::Ga, major, 0));
    }
    let (stability, minor) = if let Some(minor) = suffix.strip_prefix("beta") {
        (Stability::Beta, minor)
    } else {
        (Stability::Alpha, suffix.strip_prefix("alpha")?)
    };
    Some((stability, major, minor.parse().ok()?))
}

/// kube's version priority: GA, then beta, then alpha, higher numbers first; strings
/// that are not Kubernetes versions last, by name.
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    match (parse_version(a), parse_version(b)) {
        (Some(a), Some(b)) => b.cmp(&a),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// `v1` for the core group, `apps/v1` otherwise.
fn group_version(group: &str, version: &str) -> String {
    if group == CORE_GROUP {
        version.to_string()
    } else {
        format!("{group}/{version}")
    }
}

/// The resource types served at one group-version, in registry order.
fn types_of(group: &str, version: &str) -> Vec<&'static ResourceType> {
    RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect()
}

/// An APIGroup's fields without its type meta (APIGroupList items carry none).
fn group_body(group: &str) -> Value {
    let versions: Vec<Value> = versions_of(group)
        .into_iter()
        .map(|version| version_ref(group, version))
        .collect();
    let preferred = versions.first().cloned().unwrap_or(Value::Null);
    json!({"name": group, "versions": versions, "preferredVersion": preferred})
}

/// A GroupVersionForDiscovery.
fn version_ref(group: &str, version: &str) -> Value {
    json!({"groupVersion": group_version(group, version), "version": version})
}

// Resources and subresources.

/// What a subresource answers with and what it allows. An empty group and version
/// mean the parent's group-version; kube-apiserver fills them only for a kind from
/// another group (Scale, Eviction, TokenRequest).
pub(crate) struct Subresource {
    pub(crate) group: &'static str,
    pub(crate) version: &'static str,
    pub(crate) kind: &'static str,
    pub(crate) verbs: &'static [&'static str],
}

impl Subresource {
    fn same_group(kind: &'static str, verbs: &'static [&'static str]) -> Self {
        Subresource {
            group: "",
            version: "",
            kind,
            verbs,
        }
    }
}

/// kube-apiserver's description of subresource `name` of `parent`; None for one it
/// does not define (such a subresource is left out of discovery rather than guessed).
fn describe_subresource(parent: &ResourceType, name: &str) -> Option<Subresource> {
    let described = match name {
        "status" | "ephemeralcontainers" | "resize" => {
            Subresource::same_group(parent.kind, READ_WRITE_VERBS)
        }
        "finalize" => Subresource::same_group(parent.kind, UPDATE_ONLY),
        "log" => Subresource::same_group(parent.kind, GET_ONLY),
        "binding" => Subresource::same_group("Binding", CREATE_ONLY),
        "exec" => Subresource::same_group("PodExecOptions", CONNECT_VERBS),
        "attach" => Subresource::same_group("PodAttachOptions", CONNECT_VERBS),
        "portforward" => Subresource::same_group("PodPortForwardOptions", CONNECT_VERBS),
        "scale" => Subresource {
            group: "autoscaling",
            version: "v1",
            kind: "Scale",
            verbs: READ_WRITE_VERBS,
        },
        "eviction" => Subresource {
            group: "policy",
            version: "v1",
            kind: "Eviction",
            verbs: CREATE_ONLY,
        },
        "token" => Subresource {
            group: "authentication.k8s.io",
            version: "v1",
            kind: "TokenRequest",
            verbs: CREATE_ONLY,
        },
        _ => return None,
    };
    Some(described)
}

/// A type's subresources as discovery lists them, sorted by name.
pub(crate) fn subresources_of(resource: &ResourceType) -> Vec<(&'static str, Subresource)> {
    let mut names: Vec<&'static str> = resource.subresources.to_vec();
    if is_pods(resource) {
        // The HTTPS shell serves pods/log and pods/exec itself, so they are listed even
        // when the registry (which routes the store's subresources) does not name them.
        for name in POD_SHELL_SUBRESOURCES {
            if !names.contains(name) {
                names.push(name);
            }
        }
    }
    names.sort_unstable();
    names
        .into_iter()
        .filter_map(|name| Some((name, describe_subresource(resource, name)?)))
        .collect()
}

fn is_pods(resource: &ResourceType) -> bool {
    resource.group == CORE_GROUP && resource.plural == "pods"
}

/// The categories a type belongs to.
fn categories(resource: &ResourceType) -> Vec<&'static str> {
    if ALL_CATEGORY.contains(&(resource.group, resource.plural)) {
        vec![CATEGORY_ALL]
    } else {
        Vec::new()
    }
}

/// The singular name kube derives for a type: its kind, lowercased.
fn singular_name(resource: &ResourceType) -> String {
    resource.kind.to_ascii_lowercase()
}

/// Adds `key: values` unless `values` is empty, as Go's `omitempty` does.
fn insert_unless_empty(fields: &mut Map<String, Value>, key: &str, values: &[&str]) {
    if !values.is_empty() {
        fields.insert(key.into(), json!(values));
    }
}

/// An APIResourceList entry for a type's main resource.
fn api_resource(resource: &ResourceType) -> Value {
    let mut fields = Map::new();
    fields.insert("name".into(), json!(resource.plural));
    fields.insert("singularName".into(), json!(singular_name(resource)));
    fields.insert("namespaced".into(), json!(resource.namespaced));
    fields.insert("kind".into(), json!(resource.kind));
    fields.insert("verbs".into(), json!(verbs(resource)));
    insert_unless_empty(&mut fields, "shortNames", resource.short_names);
    insert_unless_empty(&mut fields, "categories", &categories(resource));
    Value::Object(fields)
}

/// An APIResourceList entry for subresource `path` (`pods/status`) of `parent`.
fn api_subresource(parent: &ResourceType, path: &str, subresource: &Subresource) -> Value {
    let mut fields = Map::new();
    fields.insert("name".into(), json!(path));
    // kube-apiserver gives subresources no singular name, but still sends the field.
    fields.insert("singularName".into(), json!(""));
    fields.insert("namespaced".into(), json!(parent.namespaced));
    if !subresource.group.is_empty() {
        fields.insert("group".into(), json!(subresource.group));
        fields.insert("version".into(), json!(subresource.version));
    }
    fields.insert("kind".into(), json!(subresource.kind));
    fields.insert("verbs".into(), json!(subresource.verbs));
    Value::Object(fields)
}

// The aggregated form (k8s.io/api/apidiscovery/v2).

/// An APIGroupDiscovery: one group, its versions preferred first.
fn group_discovery(group: &str) -> Value {
    let versions: Vec<Value> = versions_of(group)
        .into_iter()
        .map(|version| version_discovery(group, version))
        .collect();
    json!({"metadata": {"name": group}, "versions": versions})
}

/// An APIVersionDiscovery: one group-version's resources, in name order.
fn version_discovery(group: &str, version: &str) -> Value {
    let mut types = types_of(group, version);
    types.sort_by_key(|resource| resource.plural);
    let resources: Vec<Value> = types.into_iter().map(resource_discovery).collect();
    json!({"version": version, "resources": resources, "freshness": FRESHNESS_CURRENT})
}

/// A GroupVersionKind as `responseKind`. Like kube-apiserver, the group and version
/// are empty when they are those of the enclosing group-version.
fn response_kind(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "version": version, "kind": kind})
}

/// An APIResourceDiscovery: a type's main resource with its subresources inside.
fn resource_discovery(resource: &ResourceType) -> Value {
    let scope = if resource.namespaced {
        SCOPE_NAMESPACED
    } else {
        SCOPE_CLUSTER
    };
    let subresources: Vec<Value> = subresources_of(resource)
        .into_iter()
        .map(|(name, subresource)| subresource_discovery(name, &subresource))
        .collect();
    let mut fields = Map::new();
    fields.insert("resource".into(), json!(resource.plural));
    fields.insert("responseKind".into(), response_kind("", "", resource.kind));
    fields.insert("scope".into(), json!(scope));
    fields.insert("singularResource".into(), json!(singular_name(resource)));
    fields.insert("verbs".into(), json!(verbs(resource)));
    insert_unless_empty(&mut fields, "shortNames", resource.short_names);
    insert_unless_empty(&mut fields, "categories", &categories(resource));
    if !subresources.is_empty() {
        fields.insert("subresources".into(), Value::Array(subresources));
    }
    Value::Object(fields)
}

/// An APISubresourceDiscovery.
fn subresource_discovery(name: &str, subresource: &Subresource) -> Value {
    json!({
        "subresource": name,
        "responseKind": response_kind(subresource.group, subresource.version, subresource.kind),
        "verbs": subresource.verbs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The entry named `name` in an APIResourceList.
    fn entry<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
        list["resources"]
            .as_array()?
            .iter()
            .find(|r| r["name"] == name)
    }

    fn core_list() -> Value {
        api_resource_list("", "v1").expect("the core group-version is served")
    }

    #[test]
    fn every_registry_type_is_listed_in_its_group_version() {
        for resource in RESOURCES {
            let list = api_resource_list(resource.group, resource.version)
                .unwrap_or_else(|| panic!("no list for {resource:?}"));
            assert_eq!(list["kind"], "APIResourceList");
            assert_eq!(list["groupVersion"], resource.api_version());
            let found = entry(&list, resource.plural).expect("listed");
            assert_eq!(found["kind"], resource.kind);
            assert_eq!(found["namespaced"], resource.namespaced);
            assert_eq!(found["singularName"], resource.kind.to_lowercase());
        }
    }

    #[test]
    fn pods_list_their_subresources_as_kube_apiserver_does() {
        let list = core_list();
        for name in [
            "pods/status",
            "pods/binding",
            "pods/eviction",
            "pods/log",
            "pods/exec",
        ] {
            assert!(entry(&list, name).is_some(), "{name} missing");
        }
        let status = entry(&list, "pods/status").unwrap();
        assert_eq!(status["kind"], "Pod");
        assert_eq!(status["verbs"], json!(["get", "patch", "update"]));
        assert_eq!(status["singularName"], "");
        let binding = entry(&list, "pods/binding").unwrap();
        assert_eq!(binding["kind"], "Binding");
        assert_eq!(binding["verbs"], json!(["create"]));
        let eviction = entry(&list, "pods/eviction").unwrap();
        assert_eq!(eviction["group"], "policy");
        assert_eq!(eviction["version"], "v1");
        assert_eq!(eviction["kind"], "Eviction");
        assert_eq!(entry(&list, "pods/log").unwrap()["verbs"], json!(["get"]));
        let exec = entry(&list, "pods/exec").unwrap();
        assert_eq!(exec["kind"], "PodExecOptions");
        assert_eq!(exec["verbs"], json!(["create", "get"]));
        assert!(
            status.get("group").is_none(),
            "same-group kinds carry no group"
        );
    }

    #[test]
    fn scale_answers_with_autoscaling_scale() {
        let list = api_resource_list("apps", "v1").unwrap();
        let scale = entry(&list, "deployments/scale").expect("deployments/scale");
        assert_eq!(scale["kind"], "Scale");
        assert_eq!(scale["group"], "autoscaling");
        assert_eq!(scale["version"], "v1");
        assert_eq!(scale["verbs"], json!(["get", "patch", "update"]));
    }

    #[test]
    fn resource_lists_are_sorted_by_name() {
        for resource in RESOURCES {
            let list = api_resource_list(resource.group, resource.version).unwrap();
            let names: Vec<&str> = list["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap())
                .collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            assert_eq!(names, sorted);
        }
    }

    #[test]
    fn unknown_groups_and_versions_are_none() {
        assert!(api_resource_list("nope", "v1").is_none());
        assert!(api_resource_list("apps", "v9").is_none());
        assert!(api_resource_list("", "v2").is_none());
        assert!(api_group("nope").is_none());
        assert!(api_group("").is_none(), "the core group lives at /api");
    }

    #[test]
    fn every_entry_has_verbs() {
        for resource in RESOURCES {
            let list = api_resource_list(resource.group, resource.version).unwrap();
            for listed in list["resources"].as_array().unwrap() {
                let verbs = listed["verbs"].as_array().unwrap();
                assert!(!verbs.is_empty(), "{listed}");
            }
        }
    }

    #[test]
    fn every_registry_subresource_is_described() {
        for resource in RESOURCES {
            for name in resource.subresources {
                assert!(
                    describe_subresource(resource, name).is_some(),
                    "{}/{name} would be left out of discovery",
                    resource.plural
                );
            }
        }
    }

    #[test]
    fn short_names_and_categories_come_through() {
        let core = core_list();
        assert_eq!(entry(&core, "pods").unwrap()["shortNames"], json!(["po"]));
        assert_eq!(entry(&core, "pods").unwrap()["categories"], json!(["all"]));
        assert!(entry(&core, "secrets").unwrap().get("shortNames").is_none());
        assert!(entry(&core, "configmaps")
            .unwrap()
            .get("categories")
            .is_none());
        let apps = api_resource_list("apps", "v1").unwrap();
        let deployments = entry(&apps, "deployments").unwrap();
        assert_eq!(deployments["shortNames"], json!(["deploy"]));
        assert_eq!(deployments["categories"], json!(["all"]));
        for resource in RESOURCES {
            let list = api_resource_list(resource.group, resource.version).unwrap();
            let listed = entry(&list, resource.plural).unwrap();
            if !resource.short_names.is_empty() {
                assert_eq!(listed["shortNames"], json!(resource.short_names));
            }
        }
    }

    #[test]
    fn namespaces_have_no_collection_delete() {
        let namespace = crate::registry::by_plural("", "namespaces").unwrap();
        assert!(!verbs(namespace).contains(&"deletecollection"));
        let pod = crate::registry::by_plural("", "pods").unwrap();
        assert_eq!(verbs(pod), FULL_VERBS);
    }

    #[test]
    fn aggregated_core_has_only_the_core_group() {
        let list = aggregated_discovery(true);
        assert_eq!(list["kind"], "APIGroupDiscoveryList");
        assert_eq!(list["apiVersion"], "apidiscovery.k8s.io/v2");
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0]["metadata"]["name"], "");
        let version = &items[0]["versions"][0];
        assert_eq!(version["version"], "v1");
        assert_eq!(version["freshness"], "Current");
        let pods = version["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "pods")
            .unwrap();
        assert_eq!(pods["scope"], "Namespaced");
        assert_eq!(pods["singularResource"], "pod");
        assert_eq!(pods["responseKind"]["kind"], "Pod");
        let subresources: Vec<&str> = pods["subresources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["subresource"].as_str().unwrap())
            .collect();
        for name in ["binding", "eviction", "exec", "log", "status"] {
            assert!(subresources.contains(&name), "{name}");
        }
    }

    #[test]
    fn aggregated_apis_has_every_named_group_and_no_core() {
        let list = aggregated_discovery(false);
        let items = list["items"].as_array().unwrap();
        assert!(items.iter().all(|item| item["metadata"]["name"] != ""));
        let names: Vec<&str> = items
            .iter()
            .map(|item| item["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, named_groups());
        let nodes = aggregated_discovery(true);
        let node = nodes["items"][0]["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "nodes")
            .unwrap();
        assert_eq!(node["scope"], "Cluster");
    }

    #[test]
    fn aggregated_scale_responds_with_autoscaling_scale() {
        let list = aggregated_discovery(false);
        let apps = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|item| item["metadata"]["name"] == "apps")
            .unwrap();
        let deployments = apps["versions"][0]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["resource"] == "deployments")
            .unwrap();
        let scale = deployments["subresources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["subresource"] == "scale")
            .unwrap();
        assert_eq!(
            scale["responseKind"],
            json!({"group": "autoscaling", "version": "v1", "kind": "Scale"})
        );
    }

    #[test]
    fn group_list_follows_kube_order_and_prefers_the_newest_version() {
        let list = api_group_list();
        assert_eq!(list["kind"], "APIGroupList");
        let names: Vec<&str> = list["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["name"].as_str().unwrap())
            .collect();
        assert_eq!(names.first(), Some(&"apps"));
        assert!(!names.contains(&""));
        let apps = api_group("apps").unwrap();
        assert_eq!(apps["kind"], "APIGroup");
        assert_eq!(
            apps["preferredVersion"],
            json!({"groupVersion": "apps/v1", "version": "v1"})
        );
        let mut versions = vec!["v1", "v2beta2", "v1alpha1", "v2", "v1beta1", "x"];
        versions.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            versions,
            ["v2", "v1", "v2beta2", "v1beta1", "v1alpha1", "x"]
        );
    }

    #[test]
    fn api_versions_and_version_info_have_kube_fields() {
        let api = api_versions("10.0.0.1:6443");
        assert_eq!(api["versions"], json!(["v1"]));
        assert_eq!(
            api["serverAddressByClientCIDRs"][0]["serverAddress"],
            "10.0.0.1:6443"
        );
        let version = version_info();
        assert_eq!(version["major"], "1");
        assert_eq!(version["minor"], "33");
        assert!(version["platform"].as_str().unwrap().contains('/'));
    }
}
