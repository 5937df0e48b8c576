//! Authorization, in kube-apiserver's order: the `system:masters` group may do
//! anything; a kubelet (`system:node:<name>` in `system:nodes`) passes the Node
//! authorizer and NodeRestriction (its own Node, pods bound to it, what its pods read);
//! everyone else needs an RBAC rule (Role or ClusterRole, bound to the user, a group, or
//! a service account). Rules come from the watch caches.

use serde_json::{json, Value};

use super::actor::Gateway;
use super::api::*;
use super::calls::Call;
use super::object;
use kactor_kube::registry::by_plural;

/// ClusterRoles and bindings the server creates when they are missing, as
/// kube-apiserver's bootstrap policy does.
pub fn bootstrap_policy() -> Vec<(&'static str, Value)> {
    let rule_all = json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                          {"nonResourceURLs": ["*"], "verbs": ["*"]}]);
    let read = json!(["get", "list", "watch"]);
    let write = json!([
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection"
    ]);
    let everyday = json!([
        "pods",
        "pods/log",
        "pods/exec",
        "services",
        "endpoints",
        "configmaps",
        "secrets",
        "persistentvolumeclaims",
        "serviceaccounts",
        "events",
        "deployments",
        "deployments/scale",
        "replicasets",
        "replicasets/scale",
        "statefulsets",
        "statefulsets/scale",
        "daemonsets",
        "jobs",
        "cronjobs",
        "horizontalpodautoscalers",
        "leases",
        "endpointslices",
        "limitranges",
        "resourcequotas"
    ]);
    let groups = json!([
        "",
        "apps",
        "batch",
        "autoscaling",
        "coordination.k8s.io",
        "discovery.k8s.io"
    ]);
    let role = |name: &str, rules: Value| {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
               "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
               "rules": rules})
    };
    vec![
        ("clusterroles", role("cluster-admin", rule_all)),
        (
            "clusterroles",
            role(
                "admin",
                json!([{"apiGroups": groups, "resources": everyday, "verbs": write},
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles", "rolebindings"], "verbs": write}]),
            ),
        ),
        (
            "clusterroles",
            role(
                "edit",
                json!([{"apiGroups": groups, "resources": everyday, "verbs": write}]),
            ),
        ),
        (
            "clusterroles",
            role(
                "view",
                json!([{"apiGroups": groups, "resources": everyday, "verbs": read}]),
            ),
        ),
        (
            "clusterroles",
            role(
                "system:discovery",
                json!([{"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*",
            "/healthz", "/livez", "/readyz", "/version", "/version/", "/openapi", "/openapi/*"], "verbs": ["get"]}]),
            ),
        ),
        (
            "clusterroles",
            role(
                "system:basic-user",
                json!([{"apiGroups": ["authorization.k8s.io"],
                        "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
                        "verbs": ["create"]},
                       {"apiGroups": ["authentication.k8s.io"],
                        "resources": ["selfsubjectreviews"], "verbs": ["create"]}]),
            ),
        ),
        (
            "clusterroles",
            role(
                "system:public-info-viewer",
                json!([{"nonResourceURLs": ["/healthz", "/livez",
            "/readyz", "/version", "/version/"], "verbs": ["get"]}]),
            ),
        ),
        (
            "clusterroles",
            role(
                "system:monitoring",
                json!([{"nonResourceURLs": ["/healthz", "/healthz/*", "/livez", "/livez/*",
            "/readyz", "/readyz/*", "/metrics", "/metrics/slis"], "verbs": ["get"]}]),
            ),
        ),
        (
            "clusterrolebindings",
            binding("cluster-admin", "cluster-admin", &["system:masters"]),
        ),
        (
            "clusterrolebindings",
            binding(
                "system:monitoring",
                "system:monitoring",
                &["system:monitoring"],
            ),
        ),
        (
            "clusterrolebindings",
            binding(
                "system:basic-user",
                "system:basic-user",
                &["system:authenticated"],
            ),
        ),
        (
            "clusterrolebindings",
            binding(
                "system:discovery",
                "system:discovery",
                &["system:authenticated"],
            ),
        ),
        (
            "clusterrolebindings",
            binding(
                "system:public-info-viewer",
                "system:public-info-viewer",
                &["system:authenticated", "system:unauthenticated"],
            ),
        ),
    ]
}

fn binding(name: &str, role: &str, groups: &[&str]) -> Value {
    let subjects: Vec<Value> = groups
        .iter()
        .map(|g| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": g}))
        .collect();
    json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": {"kubernetes.io/bootstrapping": "rbac-defaults"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": subjects})
}

/// Whether `path` matches a rule's non-resource URL (`/apis/*` matches by prefix).
fn url_matches(pattern: &str, path: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => path.starts_with(prefix),
        None => pattern == path,
    }
}

/// Whether `user` may `verb` the non-resource URL `path` (`/version`, `/healthz`,
/// `/metrics`): ClusterRole rules with `nonResourceURLs`, through ClusterRoleBindings.
pub fn non_resource_allowed(
    gateway: &Gateway,
    user: &User,
    verb: &str,
    path: &str,
) -> Result<bool, ApiError> {
    if user.in_group("system:masters") {
        return Ok(true);
    }
    for binding in cached_values(gateway, "ClusterRoleBinding", None)? {
        let subjects = binding["subjects"].as_array().cloned().unwrap_or_default();
        if !subjects.iter().any(|s| subject_matches(s, user, None)) {
            continue;
        }
        for rule in role_rules(gateway, &binding["roleRef"], None)? {
            let urls = rule["nonResourceURLs"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let url_ok = urls
                .iter()
                .filter_map(Value::as_str)
                .any(|p| url_matches(p, path));
            if url_ok && listed(&rule["verbs"], verb) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// What a request asks to do, as RBAC sees it.
pub struct Attributes<'a> {
    pub user: &'a User,
    pub verb: &'a str,
    pub group: &'a str,
    /// `pods`, or `pods/status` for a subresource.
    pub resource: String,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
}

pub(crate) fn authorize(gateway: &Gateway, call: &Call) -> Result<(), ApiError> {
    authorize_verb(gateway, call, call.request.verb.rbac_name())
}

/// Whether the user may do `verb` to what `call` addresses: an apply that creates its object
/// must be allowed to `create` as well as `patch`, as kube-apiserver checks.
pub(crate) fn authorize_verb(gateway: &Gateway, call: &Call, verb: &str) -> Result<(), ApiError> {
    if !gateway.config.authorize || call.user.in_group("system:masters") {
        return Ok(());
    }
    let resource = match call.subresource() {
        Some(sub) => format!("{}/{sub}", call.resource.plural),
        None => call.resource.plural.to_string(),
    };
    let attributes = Attributes {
        user: &call.user,
        verb,
        group: call.resource.group,
        resource,
        namespace: call.namespace(),
        name: call.name(),
    };
    // kube's authorizer chain: the Node authorizer, then RBAC.
    let allowed = match call.user.node_name() {
        Some(node) if node_allows(gateway, call, node) => true,
        _ => rbac_allows(gateway, &attributes)?,
    };
    if allowed {
        return Ok(());
    }
    Err(forbidden(&attributes, &call.resource.qualified_plural()))
}

/// kube-apiserver's Forbidden for a resource request; `what` is the qualified plural.
fn forbidden(attributes: &Attributes, what: &str) -> ApiError {
    let scope = match attributes.namespace {
        Some(ns) => format!(" in the namespace \"{ns}\""),
        None => " at the cluster scope".to_string(),
    };
    // kube-apiserver's NewForbidden: the name only when the request has one.
    let what = match attributes.name {
        "" => what.to_string(),
        name => format!("{what} \"{name}\""),
    };
    ApiError::forbidden(format!(
        "{what} is forbidden: User \"{}\" cannot {} resource \"{}\" in API group \"{}\"{scope}",
        attributes.user.name, attributes.verb, attributes.resource, attributes.group
    ))
}

/// Whether `user` may `verb` a pod's connect subresource (`pods/log`, `pods/exec`). The
/// Node authorizer grants kubelets neither, so only RBAC can.
pub(crate) fn authorize_subresource(
    gateway: &Gateway,
    user: &User,
    verb: &str,
    subresource: &str,
    namespace: &str,
    name: &str,
) -> Result<(), ApiError> {
    if user.in_group("system:masters") {
        return Ok(());
    }
    let attributes = Attributes {
        user,
        verb,
        group: "",
        resource: format!("pods/{subresource}"),
        namespace: Some(namespace),
        name,
    };
    let allowed = user.node_name().is_none() && rbac_allows(gateway, &attributes)?;
    match allowed {
        true => Ok(()),
        false => Err(forbidden(&attributes, "pods")),
    }
}

fn cached_values(
    gateway: &Gateway,
    kind: &str,
    namespace: Option<&str>,
) -> Result<Vec<Value>, ApiError> {
    let feed = gateway.feeds.iter().find(|f| f.resource.kind == kind);
    let (Some(feed), Some(cache)) = (feed, gateway.cache(kind)) else {
        return Err(ApiError::unavailable(format!(
            "the authorizer has not loaded {kind} yet"
        )));
    };
    let prefix = object::type_prefix(feed.resource, namespace);
    Ok(cache
        .objects(&prefix, &[])
        .filter_map(|(_, o)| serde_json::from_slice(&o.json).ok())
        .collect())
}

fn subject_matches(subject: &Value, user: &User, binding_namespace: Option<&str>) -> bool {
    let name = subject["name"].as_str().unwrap_or("");
    match subject["kind"].as_str() {
        Some("User") => user.name == name,
        Some("Group") => user.in_group(name),
        Some("ServiceAccount") => {
            let namespace = subject["namespace"]
                .as_str()
                .or(binding_namespace)
                .unwrap_or("");
            user.name == format!("system:serviceaccount:{namespace}:{name}")
        }
        _ => false,
    }
}

fn listed(list: &Value, wanted: &str) -> bool {
    list.as_array()
        .is_some_and(|items| items.iter().any(|i| i == "*" || i == wanted))
}

fn rule_allows(rule: &Value, attributes: &Attributes) -> bool {
    // A subresource is granted only when named (`pods/status`), as in Kubernetes.
    let resource_ok = listed(&rule["resources"], &attributes.resource);
    let names = rule["resourceNames"].as_array().filter(|n| !n.is_empty());
    let name_ok = names.is_none_or(|names| names.iter().any(|n| n == attributes.name));
    listed(&rule["apiGroups"], attributes.group)
        && resource_ok
        && listed(&rule["verbs"], attributes.verb)
        && name_ok
}

fn role_rules(
    gateway: &Gateway,
    role_ref: &Value,
    namespace: Option<&str>,
) -> Result<Vec<Value>, ApiError> {
    let name = role_ref["name"].as_str().unwrap_or("");
    let (kind, scope) = match role_ref["kind"].as_str() {
        Some("Role") => ("Role", namespace),
        _ => ("ClusterRole", None),
    };
    Ok(cached_values(gateway, kind, scope)?
        .into_iter()
        .filter(|role| object::name(role) == name)
        .flat_map(|role| role["rules"].as_array().cloned().unwrap_or_default())
        .collect())
}

/// Whether `attributes.user` may do what the attributes describe: a member of
/// `system:masters`, or as RBAC grants. What access reviews answer; the Node authorizer
/// decides requests, not descriptions of them, so a kubelet's review is RBAC's alone.
pub(crate) fn user_may(gateway: &Gateway, attributes: &Attributes) -> Result<bool, ApiError> {
    Ok(attributes.user.in_group("system:masters") || rbac_allows(gateway, attributes)?)
}

/// The rules RBAC grants `user` in `namespace` (cluster-wide ones included), split into
/// resource rules and non-resource rules: what a SelfSubjectRulesReview lists.
pub(crate) fn rules_of(
    gateway: &Gateway,
    user: &User,
    namespace: &str,
) -> Result<(Vec<Value>, Vec<Value>), ApiError> {
    let namespace = Some(namespace).filter(|ns| !ns.is_empty());
    let (mut resource_rules, mut non_resource_rules) = (Vec::new(), Vec::new());
    for (binding, scope) in bindings_of(gateway, user, namespace)? {
        for rule in role_rules(gateway, &binding["roleRef"], scope)? {
            match rule.get("nonResourceURLs") {
                Some(urls) => non_resource_rules
                    .push(json!({"verbs": rule["verbs"], "nonResourceURLs": urls})),
                None => resource_rules.push(rule),
            }
        }
    }
    Ok((resource_rules, non_resource_rules))
}

/// Whether any binding grants the attributes.
pub fn rbac_allows(gateway: &Gateway, attributes: &Attributes) -> Result<bool, ApiError> {
    for (binding, namespace) in bindings_of(gateway, attributes.user, attributes.namespace)? {
        let rules = role_rules(gateway, &binding["roleRef"], namespace)?;
        if rules.iter().any(|rule| rule_allows(rule, attributes)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The ClusterRoleBindings, and the RoleBindings of `namespace`, that name `user`, each with
/// the namespace its rules apply in.
fn bindings_of<'a>(
    gateway: &Gateway,
    user: &User,
    namespace: Option<&'a str>,
) -> Result<Vec<(Value, Option<&'a str>)>, ApiError> {
    let mut bindings: Vec<(Value, Option<&str>)> =
        cached_values(gateway, "ClusterRoleBinding", None)?
            .into_iter()
            .map(|b| (b, None))
            .collect();
    if let Some(namespace) = namespace {
        let local = cached_values(gateway, "RoleBinding", Some(namespace))?;
        bindings.extend(local.into_iter().map(|b| (b, Some(namespace))));
    }
    bindings.retain(|(binding, scope)| {
        let subjects = binding["subjects"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        subjects.iter().any(|s| subject_matches(s, user, *scope))
    });
    Ok(bindings)
}

/// The node a cached pod is bound to.
fn pod_node(gateway: &Gateway, call: &Call) -> Option<String> {
    let pods = by_plural("", "pods")?;
    let key = object::object_key(pods, call.namespace(), call.name());
    let cached = gateway.cache("Pod")?.get(&key)?;
    let value: Value = serde_json::from_slice(&cached.json).ok()?;
    Some(value["spec"]["nodeName"].as_str()?.to_string())
}

/// The addressed name, or for a create the name in the body.
fn name_or_body_name(call: &Call) -> String {
    if !call.name().is_empty() {
        return call.name().to_string();
    }
    object::parse(&call.request.body)
        .map(|body| object::name(&body).to_string())
        .unwrap_or_default()
}

/// The Node authorizer and NodeRestriction: what a kubelet may do.
fn node_allows(gateway: &Gateway, call: &Call, node: &str) -> bool {
    let verb = call.request.verb;
    let reading = !verb.is_mutating();
    match (call.resource.plural, call.subresource()) {
        ("nodes", _) => reading || name_or_body_name(call) == node,
        ("pods", None | Some("status")) if reading => true,
        ("pods", Some("status")) => pod_node(gateway, call).as_deref() == Some(node),
        ("pods", None) if verb == Verb::Delete => pod_node(gateway, call).as_deref() == Some(node),
        ("events", _) => matches!(verb, Verb::Create | Verb::Patch(_) | Verb::Update),
        ("leases", _) => {
            call.namespace() == Some("kube-node-lease") && name_or_body_name(call) == node
        }
        ("services" | "endpoints" | "endpointslices" | "serviceaccounts", None) => reading,
        // The Node authorizer's graph: only what a pod bound to this node uses, by name.
        ("secrets" | "configmaps" | "persistentvolumeclaims" | "persistentvolumes", None) => {
            verb == Verb::Get && node_uses(gateway, call, node)
        }
        _ => false,
    }
}

/// Whether a pod bound to `node` references the secret, configmap or claim `call`
/// addresses (or, for a volume, the claim bound to it).
fn node_uses(gateway: &Gateway, call: &Call, node: &str) -> bool {
    let name = call.name();
    let plural = call.resource.plural;
    let pods = match plural {
        // A volume has no namespace: any bound pod's claim may lead to it.
        "persistentvolumes" => cached_values(gateway, "Pod", None),
        _ => cached_values(gateway, "Pod", call.namespace()),
    };
    let Ok(pods) = pods else { return false };
    pods.iter()
        .filter(|pod| pod["spec"]["nodeName"].as_str() == Some(node))
        .any(|pod| match plural {
            "persistentvolumes" => pod_claims(pod).any(|claim| {
                let namespace = pod["metadata"]["namespace"].as_str();
                claim_volume(gateway, namespace, claim).as_deref() == Some(name)
            }),
            "persistentvolumeclaims" => pod_claims(pod).any(|claim| claim == name),
            "secrets" => pod_references(pod, "secret").any(|n| n == name),
            _ => pod_references(pod, "configMap").any(|n| n == name),
        })
}

fn pod_claims(pod: &Value) -> impl Iterator<Item = &str> {
    pod["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["persistentVolumeClaim"]["claimName"].as_str())
}

/// The names of the secrets (`kind` "secret") or configmaps ("configMap") a pod uses:
/// volumes, projected sources, env, envFrom, and image pull secrets.
fn pod_references<'a>(pod: &'a Value, kind: &'static str) -> impl Iterator<Item = &'a str> {
    let spec = &pod["spec"];
    let (volume_field, key_ref, from_ref) = match kind {
        "secret" => ("secretName", "secretKeyRef", "secretRef"),
        _ => ("name", "configMapKeyRef", "configMapRef"),
    };
    let array = |v: &'a Value| v.as_array().into_iter().flatten();
    let volumes = array(&spec["volumes"]).flat_map(move |v| {
        let direct = v[kind][volume_field].as_str();
        let projected =
            array(&v["projected"]["sources"]).filter_map(move |s| s[kind]["name"].as_str());
        direct.into_iter().chain(projected)
    });
    let containers = ["initContainers", "containers", "ephemeralContainers"]
        .into_iter()
        .flat_map(move |field| array(&spec[field]));
    let env = containers.clone().flat_map(move |c| {
        array(&c["env"]).filter_map(move |e| e["valueFrom"][key_ref]["name"].as_str())
    });
    let env_from = containers
        .flat_map(move |c| array(&c["envFrom"]).filter_map(move |e| e[from_ref]["name"].as_str()));
    let pull = array(&spec["imagePullSecrets"])
        .filter(move |_| kind == "secret")
        .filter_map(|s| s["name"].as_str());
    volumes.chain(env).chain(env_from).chain(pull)
}

/// The volume a claim is bound to, from the cache.
fn claim_volume(gateway: &Gateway, namespace: Option<&str>, claim: &str) -> Option<String> {
    let claims = by_plural("", "persistentvolumeclaims")?;
    let key = object::object_key(claims, namespace, claim);
    let cached = gateway.cache("PersistentVolumeClaim")?.get(&key)?;
    let value: Value = serde_json::from_slice(&cached.json).ok()?;
    Some(value["spec"]["volumeName"].as_str()?.to_string())
}
