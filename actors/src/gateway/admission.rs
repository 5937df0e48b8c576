//! What happens to an object between the request and the store: type checks, metadata
//! the server owns, defaulting, the admission plugins in kube-apiserver's order
//! (NamespaceLifecycle, ServiceAccount, LimitRanger, AlwaysPullImages,
//! DefaultStorageClass, then ResourceQuota), and validation. ResourceQuota is charged
//! inside the same store transaction as the create (see `calls.rs`), so concurrent
//! creates can never overshoot a quota.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::actor::Gateway;
use super::api::*;
use super::calls::{Call, GuardedWrite};
use super::{object, ownership};
use crate::store::KeyValue;
use kactor_kube::patch::{PatchError, PatchType};
use kactor_kube::quantity::{Quantity, QuantityFormat};
use kactor_kube::registry::{by_plural, ResourceType};
use kactor_kube::{defaults, validation};

/// The annotation that marks the default StorageClass.
const DEFAULT_CLASS_ANNOTATION: &str = "storageclass.kubernetes.io/is-default-class";

/// `apiVersion` and `kind` must name the addressed type; they are filled in if absent.
fn check_type(resource: &ResourceType, value: &mut Value) -> Result<(), ApiError> {
    let expected_version = resource.api_version();
    let root = value
        .as_object_mut()
        .expect("parsed objects are JSON objects");
    for (field, expected) in [
        ("apiVersion", expected_version.as_str()),
        ("kind", resource.kind),
    ] {
        match root.get(field).and_then(Value::as_str) {
            None | Some("") => {
                root.insert(field.into(), expected.into());
            }
            Some(given) if given == expected => {}
            Some(given) => {
                return Err(ApiError::bad_request(format!(
                    "the {field} in the data ({given}) does not match the expected {field} ({expected})"
                )))
            }
        }
    }
    Ok(())
}

/// The body in its kind's typed form, and the warnings for what that form dropped: fields the
/// kind does not have are refused under `Strict`, reported under `Warn`, dropped silently
/// under `Ignore`.
fn shaped(call: &Call, body: Value) -> Result<(Value, Warnings), ApiError> {
    let resource = call.resource;
    let mut value = body;
    check_type(resource, &mut value)?;
    let validation = call.request.field_validation;
    let sent = (validation != FieldValidation::Ignore).then(|| value.clone());
    let shaped = object::shape(resource, value).map_err(|e| {
        ApiError::bad_request(format!(
            "the object does not decode as a {}: {e}",
            resource.kind
        ))
    })?;
    let unknown = sent.map_or_else(Vec::new, |sent| object::unknown_fields(&sent, &shaped));
    let fields: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field {f:?}"))
        .collect();
    if validation == FieldValidation::Strict && !fields.is_empty() {
        let (kind, version) = (resource.kind, resource.version);
        return Err(ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: strict decoding error: {}",
            fields.join(", ")
        )));
    }
    let mut warnings = Warnings::default();
    fields.into_iter().for_each(|field| warnings.add(field));
    Ok((shaped, warnings))
}

fn invalid(
    call: &Call,
    value: &Value,
    causes: Vec<kactor_kube::status::Cause>,
) -> Result<(), ApiError> {
    if causes.is_empty() {
        return Ok(());
    }
    let name = object::name(value);
    Err(ApiError::invalid(
        call.resource.group,
        call.resource.kind,
        name,
        causes,
    ))
}

/// The object a create will write (everything but the quota charge), and the warnings for the
/// caller. A create is a POST, or an apply to an object that does not exist.
pub(crate) fn prepare_create(
    gateway: &Gateway,
    call: &Call,
) -> Result<(Value, Warnings), ApiError> {
    let resource = call.resource;
    let writer = ownership::writer_of(call);
    let (body, applied) = creation_body(call, &writer)?;
    let (mut value, warnings) = shaped(call, body)?;
    let sent = object::metadata_mut(&mut value).remove("managedFields");
    set_server_metadata(call, &mut value)?;
    reset_status(resource, &mut value);
    defaults::apply_defaults(&resource.api_version(), resource.kind, &mut value);
    // Fields are credited before the admission plugins run, as kube runs its field manager
    // before admission: what a plugin sets belongs to no manager.
    let nothing = json!({});
    match applied {
        Some(managers) => ownership::attach(&nothing, &mut value, managers),
        None => ownership::record_update(&writer, &nothing, &mut value, sent.as_ref()),
    }
    mutate(gateway, call, &mut value)?;
    let causes = validation::validate_create(&resource.api_version(), resource.kind, &value);
    invalid(call, &value, causes)?;
    Ok((value, warnings))
}

/// The object a create starts from: the request's body, or for an apply the configuration
/// applied to nothing, with its managers.
fn creation_body(
    call: &Call,
    writer: &ownership::Writer,
) -> Result<(Value, Option<ownership::Managers>), ApiError> {
    if call.request.verb != Verb::Patch(PatchType::Apply) {
        return Ok((object::parse(&call.request.body)?, None));
    }
    let config =
        kactor_kube::patch::parse_apply_configuration(&call.request.body).map_err(patch_error)?;
    let applied = ownership::apply(writer, &json!({}), &config, call.request.force)?;
    let name = object::name(&applied.object);
    if name != call.name() {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({name}) does not match the name on the URL ({})",
            call.name()
        )));
    }
    Ok((applied.object, Some(applied.managers)))
}

/// The metadata the server owns on a new object: namespace, a generated name, uid, creation
/// time, generation; what the client may not set is dropped.
fn set_server_metadata(call: &Call, value: &mut Value) -> Result<(), ApiError> {
    let resource = call.resource;
    let stamp = call.stamp;
    let meta = object::metadata_mut(value);
    if resource.namespaced {
        let namespace = call.namespace().unwrap_or("");
        match meta.get("namespace").and_then(Value::as_str) {
            Some(given) if !given.is_empty() && given != namespace => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request".into(),
                ))
            }
            _ => meta.insert("namespace".into(), namespace.into()),
        };
    } else {
        meta.remove("namespace");
    }
    let name = meta
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if name.is_empty() {
        if let Some(prefix) = meta.get("generateName").and_then(Value::as_str) {
            let generated = format!("{prefix}{}", object::name_suffix(stamp.entropy));
            meta.insert("name".into(), generated.into());
        }
    }
    for owned in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
        "managedFields",
    ] {
        meta.remove(owned);
    }
    meta.insert("uid".into(), object::uid(stamp.entropy).into());
    meta.insert(
        "creationTimestamp".into(),
        kactor_kube::time::timestamp(stamp.unix_ms).into(),
    );
    match resource.tracks_generation() {
        true => meta.insert("generation".into(), 1.into()),
        false => meta.remove("generation"),
    };
    assert!(meta.contains_key("uid"), "a new object has a uid");
    Ok(())
}

/// Whether the main resource's writes leave the status alone (kube's reset fields): a kind
/// with a status subresource, but Node, whose kubelet registers it with its status.
pub(crate) fn status_is_reset(resource: &ResourceType) -> bool {
    resource.subresources.contains(&"status") && resource.kind != "Node"
}

/// What the server sets as the status of a new object.
fn reset_status(resource: &ResourceType, value: &mut Value) {
    let root = value.as_object_mut().expect("objects are JSON objects");
    match resource.kind {
        "Pod" | "PersistentVolumeClaim" | "PersistentVolume" => {
            root.insert("status".into(), json!({"phase": "Pending"}));
        }
        "Namespace" => {
            root.insert("status".into(), json!({"phase": "Active"}));
        }
        // A kubelet registers its Node with its status.
        "Node" => {}
        _ if resource.subresources.contains(&"status") => {
            root.remove("status");
        }
        _ => {}
    }
}

/// The mutating admission plugins, in kube-apiserver's order.
fn mutate(gateway: &Gateway, call: &Call, value: &mut Value) -> Result<(), ApiError> {
    match call.resource.kind {
        "Pod" => {
            let spec = value["spec"].as_object_mut();
            if let Some(spec) = spec {
                // ServiceAccount: every pod runs as one.
                let account = spec
                    .get("serviceAccountName")
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
                    .unwrap_or("default")
                    .to_string();
                spec.insert("serviceAccountName".into(), account.clone().into());
                spec.insert("serviceAccount".into(), account.into());
            }
            limit_ranger(gateway, call, value)?;
            if gateway.config.always_pull_images {
                always_pull_images(value);
            }
        }
        "PersistentVolumeClaim" => default_storage_class(gateway, value),
        "ResourceQuota" => initial_quota_usage(gateway, call, value),
        _ => {}
    }
    Ok(())
}

fn containers_mut(value: &mut Value) -> Vec<&mut Map<String, Value>> {
    let Some(spec) = value.get_mut("spec").and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    let mut all = Vec::new();
    for (field, list) in spec.iter_mut() {
        if field == "containers" || field == "initContainers" {
            if let Some(list) = list.as_array_mut() {
                all.extend(list.iter_mut().filter_map(Value::as_object_mut));
            }
        }
    }
    all
}

fn always_pull_images(value: &mut Value) {
    for container in containers_mut(value) {
        container.insert("imagePullPolicy".into(), "Always".into());
    }
}

fn default_storage_class(gateway: &Gateway, value: &mut Value) {
    let has_class = value["spec"].get("storageClassName").is_some();
    let Some(classes) = gateway.cache("StorageClass") else {
        return;
    };
    if has_class {
        return;
    }
    let default = classes
        .objects(b"/registry/", &[])
        .filter_map(|(_, o)| serde_json::from_slice::<Value>(&o.json).ok())
        .find(|class| {
            class["metadata"]["annotations"][DEFAULT_CLASS_ANNOTATION].as_str() == Some("true")
        });
    if let (Some(class), Some(spec)) = (default, value["spec"].as_object_mut()) {
        spec.insert("storageClassName".into(), object::name(&class).into());
    }
}

fn namespace_objects(gateway: &Gateway, kind: &str, namespace: &str) -> Vec<Value> {
    let (Some(cache), Some(resource)) = (
        gateway.cache(kind),
        gateway.feeds.iter().find(|f| f.resource.kind == kind),
    ) else {
        return Vec::new();
    };
    let prefix = object::type_prefix(resource.resource, Some(namespace));
    cache
        .objects(&prefix, &[])
        .filter_map(|(_, o)| serde_json::from_slice(&o.json).ok())
        .collect()
}

/// LimitRanger: container defaults from the namespace's LimitRanges, then their bounds.
fn limit_ranger(gateway: &Gateway, call: &Call, value: &mut Value) -> Result<(), ApiError> {
    let namespace = call.namespace().unwrap_or("");
    for range in namespace_objects(gateway, "LimitRange", namespace) {
        let limits = range["spec"]["limits"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for limit in limits.iter().filter(|l| l["type"] == "Container") {
            for container in containers_mut(value) {
                apply_container_limits(container, limit, object::name(&range))?;
            }
        }
    }
    Ok(())
}

fn apply_container_limits(
    container: &mut Map<String, Value>,
    limit: &Value,
    range: &str,
) -> Result<(), ApiError> {
    let resources = container.entry("resources").or_insert_with(|| json!({}));
    for (section, defaults) in [("limits", "default"), ("requests", "defaultRequest")] {
        if let Some(defaults) = limit[defaults].as_object() {
            let target = resources.as_object_mut().expect("resources is an object");
            let target = target.entry(section).or_insert_with(|| json!({}));
            for (name, quantity) in defaults {
                if target.get(name).is_none() {
                    target[name] = quantity.clone();
                }
            }
        }
    }
    let container_name = container
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let resources = &container["resources"];
    for (bound, section, too) in [("max", "limits", "maximum"), ("min", "requests", "minimum")] {
        let Some(bounds) = limit[bound].as_object() else {
            continue;
        };
        for (name, bound_value) in bounds {
            let given = resources[section][name]
                .as_str()
                .and_then(|q| Quantity::parse(q).ok());
            let bound_quantity = bound_value.as_str().and_then(|q| Quantity::parse(q).ok());
            let (Some(given), Some(bound_quantity)) = (given, bound_quantity) else {
                continue;
            };
            let breaks = if bound == "max" {
                given > bound_quantity
            } else {
                given < bound_quantity
            };
            if breaks {
                return Err(ApiError::forbidden(format!(
                    "{too} {name} usage per Container is {}, but {section} is {} (container {container_name}, LimitRange {range})",
                    bound_value.as_str().unwrap_or(""),
                    resources[section][name].as_str().unwrap_or("")
                )));
            }
        }
    }
    Ok(())
}

/// A new quota starts with what its namespace already uses.
fn initial_quota_usage(gateway: &Gateway, call: &Call, value: &mut Value) {
    let namespace = call.namespace().unwrap_or("").to_string();
    let hard = value["spec"]["hard"].clone();
    let Some(hard_map) = hard.as_object() else {
        return;
    };
    let mut used: BTreeMap<String, Quantity> = hard_map
        .keys()
        .map(|k| (k.clone(), Quantity::zero()))
        .collect();
    for feed in &gateway.feeds {
        if !feed.resource.namespaced || !feed.cache.synced() {
            continue;
        }
        for object in namespace_objects(gateway, feed.resource.kind, &namespace) {
            for (name, amount) in usage_of(feed.resource, &object) {
                if let Some(total) = used.get_mut(&name) {
                    *total = total.checked_add(amount).unwrap_or(*total);
                }
            }
        }
    }
    value["status"] = json!({"hard": hard, "used": format_quantities(&used)});
}

/// The object's namespace is known to exist and be active (true), or must be read from
/// the store because the cache has not seen it (false).
pub(crate) fn namespace_known(gateway: &Gateway, call: &Call) -> Result<bool, ApiError> {
    if !call.resource.namespaced {
        return Ok(true);
    }
    let Some(cache) = gateway.cache("Namespace") else {
        return Ok(false);
    };
    let namespaces = by_plural("", "namespaces").expect("served");
    let key = object::object_key(namespaces, None, call.namespace().unwrap_or(""));
    match cache.get(&key) {
        None => Ok(false),
        Some(cached) => {
            let value: Value = serde_json::from_slice(&cached.json)
                .map_err(|e| ApiError::internal(e.to_string()))?;
            check_namespace(call, Some(&value)).map(|()| true)
        }
    }
}

/// NamespaceLifecycle: no new objects in a namespace that is missing or terminating.
pub(crate) fn check_namespace(call: &Call, namespace: Option<&Value>) -> Result<(), ApiError> {
    let name = call.namespace().unwrap_or("");
    match namespace {
        None => Err(ApiError::not_found("", "namespaces", name)),
        Some(ns) if object::is_terminating(ns) || ns["status"]["phase"] == "Terminating" => {
            Err(ApiError::forbidden(format!(
                "{} \"{}\" is forbidden: unable to create new content in namespace {name} because it is being terminated",
                call.resource.plural,
                call.name()
            )))
        }
        Some(_) => Ok(()),
    }
}

fn sum_containers(value: &Value, section: &str, resource: &str) -> Option<Quantity> {
    let containers = value["spec"]["containers"].as_array()?;
    let mut total = Quantity::zero();
    let mut any = false;
    for container in containers {
        if let Some(q) = container["resources"][section][resource]
            .as_str()
            .and_then(|q| Quantity::parse(q).ok())
        {
            total = total.checked_add(q)?;
            any = true;
        }
    }
    any.then_some(total)
}

/// What an object counts against quotas, by quota resource name.
pub(crate) fn usage_of(resource: &ResourceType, value: &Value) -> BTreeMap<String, Quantity> {
    let one = Quantity::from_milli(1000);
    let mut usage = BTreeMap::new();
    usage.insert(format!("count/{}", resource.qualified_plural()), one);
    let legacy = match resource.kind {
        "Pod" => Some("pods"),
        "Service" => Some("services"),
        "Secret" => Some("secrets"),
        "ConfigMap" => Some("configmaps"),
        "PersistentVolumeClaim" => Some("persistentvolumeclaims"),
        "ResourceQuota" => Some("resourcequotas"),
        _ => None,
    };
    if let Some(legacy) = legacy {
        usage.insert(legacy.to_string(), one);
    }
    if resource.kind == "Pod" {
        for (section, name, keys) in [
            ("requests", "cpu", &["requests.cpu", "cpu"][..]),
            ("requests", "memory", &["requests.memory", "memory"][..]),
            ("limits", "cpu", &["limits.cpu"][..]),
            ("limits", "memory", &["limits.memory"][..]),
        ] {
            if let Some(total) = sum_containers(value, section, name) {
                for key in keys {
                    usage.insert(key.to_string(), total);
                }
            }
        }
    }
    if resource.kind == "PersistentVolumeClaim" {
        if let Some(q) = value["spec"]["resources"]["requests"]["storage"]
            .as_str()
            .and_then(|q| Quantity::parse(q).ok())
        {
            usage.insert("requests.storage".into(), q);
        }
    }
    usage
}

fn quantities(map: &Value) -> BTreeMap<String, Quantity> {
    map.as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.clone(), Quantity::parse(v.as_str()?).ok()?)))
                .collect()
        })
        .unwrap_or_default()
}

fn format_quantities(map: &BTreeMap<String, Quantity>) -> Value {
    let object: Map<String, Value> = map
        .iter()
        .map(|(k, q)| {
            (
                k.clone(),
                q.to_canonical_string(QuantityFormat::DecimalSI).into(),
            )
        })
        .collect();
    Value::Object(object)
}

/// One quota resource a create would take past its hard limit.
struct Exceeded {
    name: String,
    requested: Quantity,
    used: Quantity,
    limited: Quantity,
}

/// ResourceQuota: the quotas `value` is charged to (`sign` 1) or released from (-1),
/// with their new usage, each to be written in the same transaction as the object and
/// guarded by the revision it was read at.
pub(crate) fn charge_quotas(
    resource: &ResourceType,
    value: &Value,
    sign: i64,
    quotas: &[(KeyValue, Value)],
) -> Result<Vec<GuardedWrite>, ApiError> {
    let usage = usage_of(resource, value);
    let mut writes = Vec::new();
    for (kv, quota) in quotas {
        let hard = quantities(&quota["spec"]["hard"]);
        let mut used = quantities(&quota["status"]["used"]);
        let mut exceeded = Vec::new();
        let mut touched = false;
        for (name, amount) in usage.iter().filter(|(name, _)| hard.contains_key(*name)) {
            touched = true;
            let before = used.get(name).copied().unwrap_or_else(Quantity::zero);
            let after = if sign > 0 {
                before.checked_add(*amount).unwrap_or(before)
            } else {
                before
                    .checked_sub(*amount)
                    .filter(|q| !q.is_negative())
                    .unwrap_or_else(Quantity::zero)
            };
            if sign > 0 && after > hard[name] {
                exceeded.push(Exceeded {
                    name: name.clone(),
                    requested: *amount,
                    used: before,
                    limited: hard[name],
                });
            }
            used.insert(name.clone(), after);
        }
        if !exceeded.is_empty() {
            return Err(quota_exceeded(
                resource,
                value,
                object::name(quota),
                &exceeded,
            ));
        }
        if touched {
            let mut updated = quota.clone();
            object::metadata_mut(&mut updated).remove("resourceVersion");
            updated["status"] =
                json!({"hard": quota["spec"]["hard"], "used": format_quantities(&used)});
            writes.push(GuardedWrite {
                key: kv.key.clone(),
                mod_revision: kv.mod_revision,
                value: object::to_bytes(&updated),
            });
        }
    }
    Ok(writes)
}

fn quota_exceeded(
    resource: &ResourceType,
    value: &Value,
    quota: &str,
    exceeded: &[Exceeded],
) -> ApiError {
    let show = |pick: fn(&Exceeded) -> Quantity| {
        exceeded
            .iter()
            .map(|e| {
                format!(
                    "{}={}",
                    e.name,
                    pick(e).to_canonical_string(QuantityFormat::DecimalSI)
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    ApiError::forbidden(format!(
        "{} \"{}\" is forbidden: exceeded quota: {quota}, requested: {}, used: {}, limited: {}",
        resource.plural,
        object::name(value),
        show(|e| e.requested),
        show(|e| e.used),
        show(|e| e.limited)
    ))
}

/// The object an update, patch or status call proposes, made whole: server-owned
/// metadata carried over, status or spec kept by the subresource rules, generation
/// bumped on spec changes, then validated against the current object; with the warnings for
/// the caller.
pub(crate) fn prepare_update(
    call: &Call,
    current: &Value,
    proposed: Value,
) -> Result<(Value, Warnings), ApiError> {
    let resource = call.resource;
    let (mut new, warnings) = shaped(call, proposed)?;
    let name = object::name(&new).to_string();
    if !name.is_empty() && name != call.name() {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({name}) does not match the name on the URL ({})",
            call.name()
        )));
    }
    if call.subresource() == Some("status") {
        let status = new.get("status").cloned();
        let rv = object::meta_str(&new, "resourceVersion").map(str::to_string);
        new = current.clone();
        let root = new.as_object_mut().expect("objects are JSON objects");
        match status {
            Some(status) => root.insert("status".into(), status),
            None => root.remove("status"),
        };
        let meta = object::metadata_mut(&mut new);
        match rv {
            Some(rv) => meta.insert("resourceVersion".into(), rv.into()),
            None => meta.remove("resourceVersion"),
        };
    } else if status_is_reset(resource) {
        let root = new.as_object_mut().expect("objects are JSON objects");
        match current.get("status") {
            Some(status) => root.insert("status".into(), status.clone()),
            None => root.remove("status"),
        };
    }
    carry_metadata(current, &mut new, call)?;
    // A kind without a generation keeps what its stored object has: nothing, unless an
    // older kactor gave it one.
    let generation = current["metadata"].get("generation").cloned();
    let generation = match (resource.tracks_generation(), generation) {
        (true, generation) => {
            let generation = generation.and_then(|g| g.as_i64()).unwrap_or(1);
            Some((generation + i64::from(current.get("spec") != new.get("spec"))).into())
        }
        (false, generation) => generation,
    };
    let meta = object::metadata_mut(&mut new);
    match generation {
        Some(generation) => meta.insert("generation".into(), generation),
        None => meta.remove("generation"),
    };
    if resource.kind == "Service" {
        super::allocation::drop_type_dependent_fields(current, &mut new);
    }
    defaults::apply_defaults(&resource.api_version(), resource.kind, &mut new);
    let causes = validation::validate_update(&resource.api_version(), resource.kind, &new, current);
    invalid(call, &new, causes)?;
    Ok((new, warnings))
}

fn carry_metadata(current: &Value, new: &mut Value, call: &Call) -> Result<(), ApiError> {
    let old_meta = object::metadata(current).cloned().unwrap_or_default();
    let meta = object::metadata_mut(new);
    meta.insert("name".into(), call.name().into());
    if let Some(namespace) = call.namespace() {
        meta.insert("namespace".into(), namespace.into());
    }
    for owned in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    ] {
        match old_meta.get(owned) {
            Some(value) => meta.insert(owned.into(), value.clone()),
            None => meta.remove(owned),
        };
    }
    meta.remove("managedFields");
    meta.remove("selfLink");
    if old_meta.contains_key("deletionTimestamp") {
        let before: Vec<&Value> = old_meta
            .get("finalizers")
            .and_then(Value::as_array)
            .map(|f| f.iter().collect())
            .unwrap_or_default();
        let added = meta
            .get("finalizers")
            .and_then(Value::as_array)
            .is_some_and(|now| now.iter().any(|f| !before.contains(&f)));
        if added {
            let cause = kactor_kube::status::Cause::forbidden(
                "metadata.finalizers",
                "no new finalizers can be added if the object is being deleted",
            );
            return Err(ApiError::invalid(
                call.resource.group,
                call.resource.kind,
                call.name(),
                vec![cause],
            ));
        }
    }
    Ok(())
}

/// autoscaling/v1 Scale of a scalable object.
pub(crate) fn scale_of(value: &Value) -> Value {
    let meta = &value["metadata"];
    let selector = value["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|labels| {
            labels
                .iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": value["spec"]["replicas"].as_i64().unwrap_or(0)},
        "status": {"replicas": value["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector},
    })
}

/// The object with the replicas a Scale asks for.
pub(crate) fn apply_scale(current: &Value, scale: &Value) -> Result<Value, ApiError> {
    let replicas = scale["spec"]["replicas"].as_i64().unwrap_or(0);
    let mut new = current.clone();
    new["spec"]["replicas"] = replicas.into();
    let meta = object::metadata_mut(&mut new);
    match scale["metadata"]["resourceVersion"].as_str() {
        Some(rv) if !rv.is_empty() => meta.insert("resourceVersion".into(), rv.into()),
        _ => meta.remove("resourceVersion"),
    };
    Ok(new)
}

/// pods/binding: a pod is bound to a node once, by the scheduler.
pub(crate) fn apply_binding(
    call: &Call,
    current: &Value,
    binding: &Value,
) -> Result<Value, ApiError> {
    let node = binding["target"]["name"].as_str().unwrap_or("");
    if node.is_empty() {
        let cause = kactor_kube::status::Cause::required("target.name");
        return Err(ApiError::invalid("", "Binding", call.name(), vec![cause]));
    }
    if let Some(bound) = current["spec"]["nodeName"]
        .as_str()
        .filter(|n| !n.is_empty())
    {
        return Err(ApiError::new(
            409,
            "Conflict",
            format!("Operation cannot be fulfilled on pods/binding \"{}\": pod {} is already assigned to node \"{bound}\"", call.name(), call.name()),
        ));
    }
    if object::is_terminating(current) {
        return Err(ApiError::new(
            409,
            "Conflict",
            format!(
                "pod {} is being deleted, cannot be assigned to a host",
                call.name()
            ),
        ));
    }
    let mut new = current.clone();
    new["spec"]["nodeName"] = node.into();
    object::metadata_mut(&mut new).remove("resourceVersion");
    Ok(new)
}

pub(crate) fn patch_error(error: PatchError) -> ApiError {
    ApiError::new(error.http_status(), error.reason(), error.to_string())
}
