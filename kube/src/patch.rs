//! PATCH bodies applied to objects held as JSON, as kube-apiserver applies them.
//!
//! Four patch types exist, chosen by the request's `Content-Type`:
//! - JSON patch (RFC 6902) and JSON merge patch (RFC 7386), done by the `json-patch` crate;
//! - strategic merge patch, Kubernetes' own merge (k8s.io/apimachinery/pkg/util/strategicpatch):
//!   lists tagged `patchStrategy:"merge"` in k8s.io/api are merged by their `patchMergeKey`,
//!   every other list is replaced, maps merge recursively, `null` deletes, and the `$patch`,
//!   `$retainKeys`, `$setElementOrder/<field>` and `$deleteFromPrimitiveList/<field>`
//!   directives are honoured. The struct tags live in [`merge_key`]'s tables;
//! - server-side apply (see [`PatchType::Apply`]): [`parse_apply_configuration`] reads the body
//!   (YAML or JSON); the gateway's `ownership` module merges it by field managers, through
//!   `managed_fields`. [`apply_patch`] with `Apply` merges the configuration alone, as if by
//!   the object's only manager applying it for the first time.
//!
//! kube-apiserver refuses strategic merge patches on custom resources (415
//! UnsupportedMediaType); the caller decides that, since only it knows which kinds are custom.
//! Every input is bounded (body size, operation count, copied bytes, nesting depth), and no
//! input can panic or overflow the stack.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

/// The largest patch body accepted, in bytes. kube-apiserver reads at most
/// `--max-request-body-bytes` (3 MiB by default) of any request body and answers 413 beyond.
pub const PATCH_BYTES_MAX: usize = 3 * 1024 * 1024;

/// The most a YAML apply body may expand to, in bytes of the JSON it reads as. YAML aliases
/// repeat whole nodes, so a small document can stand for a huge one; and plain YAML is terser
/// than JSON (no quotes or braces), so an honest body's JSON may outgrow [`PATCH_BYTES_MAX`].
pub const APPLY_YAML_EXPANDED_BYTES_MAX: usize = 4 * PATCH_BYTES_MAX;

/// The most operations one JSON patch may hold. kube-apiserver's `maxJSONPatchOperations`:
/// each operation walks the document, so the count bounds the work one request can cause.
pub const JSON_PATCH_OPS_MAX: usize = 10_000;

/// The most bytes all `copy` operations of one JSON patch may duplicate, in total.
/// kube-apiserver's `JSONPatchMaxCopyBytes` (3 MiB by default): without it a small patch
/// could double the object with every operation.
pub const JSON_PATCH_COPY_BYTES_MAX: usize = 3 * 1024 * 1024;

/// The deepest nesting of arrays and objects a patch or a patched object may have, in levels.
/// serde_json, which parses every object kactor stores, refuses documents nested deeper than
/// this, so a deeper result could be stored but never read back; it also bounds the recursion
/// of the strategic merge here.
pub const PATCH_DEPTH_MAX: usize = 127;

const DIRECTIVE_MARKER: &str = "$patch";
const RETAIN_KEYS_DIRECTIVE: &str = "$retainKeys";
const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder";
const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList";

/// How a PATCH body is to be read, from its `Content-Type`.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum PatchType {
    /// RFC 6902 JSON patch: a list of operations (`add`, `remove`, `replace`, `move`, `copy`,
    /// `test`) on JSON pointers.
    Json,
    /// RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, lists are replaced.
    Merge,
    /// Kubernetes' strategic merge patch.
    StrategicMerge,
    /// Server-side apply: the body is an applied configuration (YAML or JSON) with
    /// `apiVersion` and `kind`; it is merged into the object by the structure of the kind
    /// (maps by field, lists with a merge key by that key, other lists replaced), its manager
    /// (the request's field manager, required) comes to own exactly the fields it sets, a
    /// change to a field another manager owns is a 409 conflict unless forced, and fields the
    /// manager applied before but no longer does are removed unless someone else owns them.
    /// An apply to an object that does not exist creates it.
    Apply,
}

impl PatchType {
    /// The patch type a request's `Content-Type` names; parameters such as `charset` are ignored.
    pub fn from_content_type(content_type: &str) -> Option<PatchType> {
        let media_type = content_type.split(';').next()?.trim().to_ascii_lowercase();
        match media_type.as_str() {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::StrategicMerge),
            "application/apply-patch+yaml" => Some(PatchType::Apply),
            _ => None,
        }
    }

    /// The media type a client sends for this patch type.
    pub fn content_type(self) -> &'static str {
        match self {
            PatchType::Json => "application/json-patch+json",
            PatchType::Merge => "application/merge-patch+json",
            PatchType::StrategicMerge => "application/strategic-merge-patch+json",
            PatchType::Apply => "application/apply-patch+yaml",
        }
    }
}

/// Why a patch was not applied, with the HTTP status kube-apiserver answers for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatchError {
    /// The body is not valid for its patch type: not JSON, the wrong JSON shape, or a malformed
    /// directive. kube answers 400 BadRequest. kube answers 500 for a few of these (a list
    /// element without its merge key, an unknown `$patch` value, `$setElementOrder` disagreeing
    /// with the patch list) because it forgets to classify them; they are the client's fault,
    /// so kactor answers 400.
    Malformed(String),
    /// The patch is well-formed but cannot apply to this object: a JSON patch `test` failed or
    /// an operation's path is missing, a strategic merge met a list of lists, or the result is
    /// not an object. Despite the name this is not 409: kube answers 422 with reason `Invalid`
    /// ("the server rejected our request due to an error in our request").
    Conflict(String),
    /// The body, or the work it asks for, is beyond a limit: more than [`PATCH_BYTES_MAX`]
    /// bytes or more than [`JSON_PATCH_OPS_MAX`] operations. kube answers 413
    /// RequestEntityTooLarge.
    TooLarge(String),
}

impl PatchError {
    /// The HTTP status kube-apiserver answers for this error.
    pub fn http_status(&self) -> u16 {
        match self {
            PatchError::Malformed(_) => 400,
            PatchError::Conflict(_) => 422,
            PatchError::TooLarge(_) => 413,
        }
    }

    /// The `reason` of the `Status` kube-apiserver answers for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            PatchError::Malformed(_) => "BadRequest",
            PatchError::Conflict(_) => "Invalid",
            PatchError::TooLarge(_) => "RequestEntityTooLarge",
        }
    }
}

impl std::fmt::Display for PatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PatchError::Malformed(message)
            | PatchError::Conflict(message)
            | PatchError::TooLarge(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for PatchError {}

/// Applies `patch`, read as `patch_type`, to `original`, an object of kind `kind`, and returns
/// the patched object; `original` is left untouched. `kind` selects the strategic merge keys.
pub fn apply_patch(
    kind: &str,
    patch_type: PatchType,
    original: &Value,
    patch: &[u8],
) -> Result<Value, PatchError> {
    let patched = match patch_type {
        PatchType::Json => apply_json_patch(original, patch)?,
        PatchType::Merge => apply_merge_patch(original, patch)?,
        PatchType::StrategicMerge => apply_strategic_merge_patch(kind, original, patch)?,
        PatchType::Apply => apply_server_side_apply(kind, original, patch)?,
    };
    if !patched.is_object() {
        // kube decodes the result into the kind's type and answers 422 when it cannot.
        return Err(PatchError::Conflict(
            "the patched object is not a JSON object".into(),
        ));
    }
    Ok(patched)
}

/// Reads a body as JSON, within the size and depth limits.
fn parse_patch_body(body: &[u8]) -> Result<Value, PatchError> {
    if body.len() > PATCH_BYTES_MAX {
        return Err(PatchError::TooLarge(format!(
            "the patch body is {} bytes; the limit is {PATCH_BYTES_MAX}",
            body.len()
        )));
    }
    let value: Value = serde_json::from_slice(body)
        .map_err(|error| PatchError::Malformed(format!("error decoding patch: {error}")))?;
    // serde_json already stops at its recursion limit; checking here keeps the bound ours.
    if nesting_depth(&value) > PATCH_DEPTH_MAX {
        return Err(PatchError::Malformed(format!(
            "the patch nests deeper than {PATCH_DEPTH_MAX} levels"
        )));
    }
    Ok(value)
}

/// How many arrays and objects nest at the deepest point of `value`; a scalar is 0.
/// Iterative, so any depth is measured without recursion.
fn nesting_depth(value: &Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 0usize)];
    while let Some((value, depth)) = pending.pop() {
        match value {
            Value::Array(items) => {
                deepest = deepest.max(depth + 1);
                pending.extend(items.iter().map(|item| (item, depth + 1)));
            }
            Value::Object(fields) => {
                deepest = deepest.max(depth + 1);
                pending.extend(fields.values().map(|field| (field, depth + 1)));
            }
            _ => {}
        }
    }
    deepest
}

// ---------------------------------------------------------------------------------------------
// JSON patch (RFC 6902)
// ---------------------------------------------------------------------------------------------

fn apply_json_patch(original: &Value, body: &[u8]) -> Result<Value, PatchError> {
    let operations = decode_json_patch(body)?;
    let mut document = original.clone();
    let mut depth_bound = nesting_depth(original);
    let mut copied_bytes = 0usize;
    for (index, operation) in operations.iter().enumerate() {
        depth_bound = depth_bound_after(depth_bound, operation);
        if depth_bound > PATCH_DEPTH_MAX {
            return Err(PatchError::Conflict(format!(
                "json patch operation {index} could nest the object deeper than \
                 {PATCH_DEPTH_MAX} levels"
            )));
        }
        if let json_patch::PatchOperation::Copy(copy) = operation {
            copied_bytes = copied_bytes.saturating_add(serialized_len(
                document.pointer(copy.from.as_str()).unwrap_or(&Value::Null),
            ));
            if copied_bytes > JSON_PATCH_COPY_BYTES_MAX {
                return Err(PatchError::Conflict(format!(
                    "Unable to copy, accumulated size increased to {copied_bytes}, exceeding \
                     the limit {JSON_PATCH_COPY_BYTES_MAX}"
                )));
            }
        }
        // One operation at a time, without the crate's undo log: a failed patch discards
        // `document` anyway, and the undo of some move sequences panics in json-patch 5.
        json_patch::patch_unsafe(&mut document, std::slice::from_ref(operation)).map_err(
            |error| {
                PatchError::Conflict(format!(
                    "json patch operation {index} failed at path '{}': {}",
                    error.path, error.kind
                ))
            },
        )?;
    }
    Ok(document)
}

/// Decodes a JSON patch body as kube does: a body that is not a list of objects, or whose
/// `op`, `path` or `from` are not strings, is 400; an operation that is otherwise unusable
/// (unknown `op`, missing field, bad pointer) fails when applied, so 422.
fn decode_json_patch(body: &[u8]) -> Result<Vec<json_patch::PatchOperation>, PatchError> {
    let Value::Array(items) = parse_patch_body(body)? else {
        return Err(PatchError::Malformed(
            "error decoding patch: a JSON patch must be a list of operations".into(),
        ));
    };
    if items.len() > JSON_PATCH_OPS_MAX {
        return Err(PatchError::TooLarge(format!(
            "The allowed maximum operations in a JSON patch is {JSON_PATCH_OPS_MAX}, got {}",
            items.len()
        )));
    }
    let mut operations = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let Value::Object(fields) = &item else {
            return Err(PatchError::Malformed(format!(
                "error decoding patch: operation {index} is not an object"
            )));
        };
        for name in ["op", "path", "from"] {
            if fields.get(name).is_some_and(|value| !value.is_string()) {
                return Err(PatchError::Malformed(format!(
                    "error decoding patch: operation {index}: \"{name}\" is not a string"
                )));
            }
        }
        let operation = serde_json::from_value(item).map_err(|error| {
            PatchError::Conflict(format!("json patch operation {index} is invalid: {error}"))
        })?;
        operations.push(operation);
    }
    Ok(operations)
}

/// An upper bound on the object's nesting depth after `operation`, given a bound before it.
/// Cheap (no walk of the object), so every operation can be checked before it runs.
fn depth_bound_after(bound: usize, operation: &json_patch::PatchOperation) -> usize {
    use json_patch::PatchOperation as Operation;
    match operation {
        Operation::Add(add) => bound.max(add.path.count() + nesting_depth(&add.value)),
        Operation::Replace(replace) => {
            bound.max(replace.path.count() + nesting_depth(&replace.value))
        }
        // The subtree at `from` is at most `bound - count(from)` deep; it lands under `path`.
        Operation::Move(moved) => {
            bound.max(moved.path.count() + bound.saturating_sub(moved.from.count()))
        }
        Operation::Copy(copy) => {
            bound.max(copy.path.count() + bound.saturating_sub(copy.from.count()))
        }
        Operation::Remove(_) | Operation::Test(_) => bound,
    }
}

/// The length of `value` serialized as compact JSON, counted without allocating it.
fn serialized_len(value: &Value) -> usize {
    struct ByteCounter(usize);
    impl std::io::Write for ByteCounter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(bytes.len());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = ByteCounter(0);
    // Serializing a Value cannot fail (its keys are strings, its numbers finite); if it did,
    // the bytes counted so far still stand.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

// ---------------------------------------------------------------------------------------------
// JSON merge patch (RFC 7386)
// ---------------------------------------------------------------------------------------------

fn apply_merge_patch(original: &Value, body: &[u8]) -> Result<Value, PatchError> {
    let patch = parse_patch_body(body)?;
    match patch {
        Value::Object(_) => {
            let mut document = original.clone();
            json_patch::merge(&mut document, &patch);
            Ok(document)
        }
        // kube's merge turns the object into the list, then fails to decode it: 422.
        Value::Array(_) => Err(PatchError::Conflict(
            "a merge patch that is a list replaces the whole object with a list".into(),
        )),
        _ => Err(PatchError::Malformed(
            "error decoding patch: a merge patch must be a JSON object".into(),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Strategic merge patch and apply
// ---------------------------------------------------------------------------------------------

fn apply_strategic_merge_patch(
    kind: &str,
    original: &Value,
    body: &[u8],
) -> Result<Value, PatchError> {
    match parse_patch_body(body)? {
        Value::Object(patch) => strategic_merge(kind, original, patch),
        // kube decodes `null` into an empty patch.
        Value::Null => Ok(original.clone()),
        _ => Err(PatchError::Malformed(
            "error decoding patch: a strategic merge patch must be a JSON object".into(),
        )),
    }
}

/// The merge of an applied configuration alone, without field managers: nothing is removed and
/// nothing conflicts, as for the only manager of an object applying for the first time.
fn apply_server_side_apply(kind: &str, original: &Value, body: &[u8]) -> Result<Value, PatchError> {
    let configuration = parse_apply_configuration(body)?;
    if !original.is_object() {
        return Ok(configuration);
    }
    Ok(crate::managed_fields::merge(kind, original, &configuration))
}

/// Reads a server-side apply body: YAML, or JSON (which YAML includes), within
/// [`PATCH_BYTES_MAX`] and [`PATCH_DEPTH_MAX`], holding one object. `null` fields are dropped:
/// kactor does not give a `null` in a configuration kube's meaning (own the field, unset).
pub fn parse_apply_configuration(body: &[u8]) -> Result<Value, PatchError> {
    if body.len() > PATCH_BYTES_MAX {
        return Err(PatchError::TooLarge(format!(
            "the patch body is {} bytes; the limit is {PATCH_BYTES_MAX}",
            body.len()
        )));
    }
    // kubectl, client-go and kube-rs send JSON, read fastest as JSON; anything else is YAML.
    let looks_like_json = body.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'{');
    let parsed = match looks_like_json.then(|| serde_json::from_slice::<Value>(body)) {
        Some(Ok(value)) => value,
        _ => crate::yaml::to_json(body, APPLY_YAML_EXPANDED_BYTES_MAX)
            .map_err(|error| PatchError::Malformed(format!("error decoding YAML: {error}")))?,
    };
    if nesting_depth(&parsed) > PATCH_DEPTH_MAX {
        return Err(PatchError::Malformed(format!(
            "the patch nests deeper than {PATCH_DEPTH_MAX} levels"
        )));
    }
    let mut configuration = parsed;
    if !configuration.is_object() {
        return Err(PatchError::Malformed(
            "error decoding YAML: an apply configuration must be an object".into(),
        ));
    }
    strip_nulls(&mut configuration);
    assert!(configuration.is_object(), "stripping nulls keeps the root");
    Ok(configuration)
}

/// Drops null fields everywhere in `value`. Iterative, so any depth is safe.
fn strip_nulls(value: &mut Value) {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(fields) => {
                fields.retain(|_, field| !field.is_null());
                pending.extend(fields.values_mut());
            }
            Value::Array(items) => pending.extend(items.iter_mut()),
            _ => {}
        }
    }
}

fn strategic_merge(
    kind: &str,
    original: &Value,
    patch: Map<String, Value>,
) -> Result<Value, PatchError> {
    let original = match original {
        Value::Object(fields) => fields.clone(),
        _ => Map::new(),
    };
    let merged = merge_map(original, patch, Some(kind_schema(kind)), 0)?;
    let mut merged = Value::Object(merged);
    // kube decodes the merged map into the kind's Go type, which drops leftover directive keys
    // and nulls; kactor stores JSON, so it drops them here.
    strip_directives_and_nulls(&mut merged);
    Ok(merged)
}

/// Merges `patch` into the map `original`, whose type is described by `schema`: apimachinery's
/// `mergeMap`.
fn merge_map(
    mut original: Map<String, Value>,
    mut patch: Map<String, Value>,
    schema: Option<&'static Schema>,
    depth: usize,
) -> Result<Map<String, Value>, PatchError> {
    if depth > PATCH_DEPTH_MAX {
        return Err(PatchError::Malformed(format!(
            "the patch nests deeper than {PATCH_DEPTH_MAX} levels"
        )));
    }
    match patch.remove(DIRECTIVE_MARKER) {
        None => {}
        // kube rejects `$patch: merge`; merging is what happens anyway, so kactor accepts it.
        Some(Value::String(directive)) if directive == "merge" => {}
        Some(Value::String(directive)) if directive == "replace" => return Ok(patch),
        Some(Value::String(directive)) if directive == "delete" => return Ok(Map::new()),
        Some(other) => {
            return Err(PatchError::Malformed(format!(
                "unknown patch type: {other} in map"
            )))
        }
    }
    apply_retain_keys(&mut original, &mut patch)?;
    apply_set_element_orders(&mut original, &mut patch, schema, depth)?;
    // Deletions from primitive lists run after additions, so a patch both adding and deleting
    // a value deletes it whatever the key order.
    let mut deletions = Vec::new();
    for (key, value) in patch {
        if key.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX) {
            deletions.push((key, value));
        } else {
            merge_field(&mut original, key, value, schema, depth)?;
        }
    }
    for (key, value) in deletions {
        delete_from_primitive_list(&mut original, &key, value, schema, depth)?;
    }
    Ok(original)
}

/// Merges one field of a patch map into `original`.
fn merge_field(
    original: &mut Map<String, Value>,
    key: String,
    value: Value,
    schema: Option<&'static Schema>,
    depth: usize,
) -> Result<(), PatchError> {
    if value.is_null() {
        original.remove(&key);
        return Ok(());
    }
    let (strategy, field_schema) = field_of(schema, &key);
    let Some(existing) = original.get_mut(&key) else {
        insert_patch_value(original, key, value);
        return Ok(());
    };
    match value {
        Value::Object(fields) if existing.is_object() => {
            let current = take_map(existing);
            *existing = Value::Object(merge_map(current, fields, field_schema, depth + 1)?);
        }
        Value::Array(items) if existing.is_array() => {
            let current = take_list(existing);
            *existing = Value::Array(match strategy {
                Some(strategy) => merge_list(current, items, strategy, field_schema, false, depth)?,
                None => items,
            });
        }
        // Scalars, and values whose JSON type changed, replace what was there.
        other => insert_patch_value(original, key, other),
    }
    Ok(())
}

/// Stores a patch value where the original has nothing to merge it with, as kube does: a map
/// carrying `$patch` is dropped, with the field.
fn insert_patch_value(original: &mut Map<String, Value>, key: String, value: Value) {
    match remove_directive_maps(value, 0) {
        Some(value) => {
            original.insert(key, value);
        }
        None => {
            original.remove(&key);
        }
    }
}

/// apimachinery's `removeDirectives`: drops every map that carries `$patch`, returning `None`
/// when `value` itself is one.
fn remove_directive_maps(value: Value, depth: usize) -> Option<Value> {
    if depth > PATCH_DEPTH_MAX {
        // Unreachable for parsed patches; stopping keeps the recursion bounded regardless.
        return Some(value);
    }
    match value {
        Value::Object(fields) => {
            if fields.contains_key(DIRECTIVE_MARKER) {
                return None;
            }
            let kept = fields
                .into_iter()
                .filter_map(|(key, field)| Some((key, remove_directive_maps(field, depth + 1)?)))
                .collect();
            Some(Value::Object(kept))
        }
        Value::Array(items) => Some(Value::Array(
            items
                .into_iter()
                .filter_map(|item| remove_directive_maps(item, depth + 1))
                .collect(),
        )),
        scalar => Some(scalar),
    }
}

/// `$retainKeys: [..]`: fields of `original` not listed are cleared, and the patch may only
/// set listed fields.
fn apply_retain_keys(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
) -> Result<(), PatchError> {
    let Some(retained) = patch.remove(RETAIN_KEYS_DIRECTIVE) else {
        return Ok(());
    };
    let bad_format = || PatchError::Malformed("invalid patch format of retainKeys".into());
    let Value::Array(retained) = retained else {
        return Err(bad_format());
    };
    let retained: HashSet<&str> = retained.iter().filter_map(Value::as_str).collect();
    for (key, value) in patch.iter() {
        let is_directive = key.starts_with(DELETE_FROM_PRIMITIVE_LIST_PREFIX)
            || key.starts_with(SET_ELEMENT_ORDER_PREFIX);
        if !value.is_null() && !is_directive && !retained.contains(key.as_str()) {
            return Err(bad_format());
        }
    }
    original.retain(|key, _| retained.contains(key.as_str()));
    Ok(())
}

/// `$deleteFromPrimitiveList/<field>: [..]` removes the listed values from the list `field`.
fn delete_from_primitive_list(
    original: &mut Map<String, Value>,
    directive_key: &str,
    value: Value,
    schema: Option<&'static Schema>,
    depth: usize,
) -> Result<(), PatchError> {
    let field = directive_field(directive_key, DELETE_FROM_PRIMITIVE_LIST_PREFIX)
        .ok_or_else(|| PatchError::Malformed("invalid patch format of primitive list".into()))?;
    if field.is_empty() {
        // kube keeps the whole key as the field name, finds no such field, and skips it.
        return Ok(());
    }
    if value.is_null() {
        // kube's quirk: a null deletion list deletes the field itself.
        original.remove(field);
        return Ok(());
    }
    let (strategy, field_schema) = field_of(schema, field);
    let (Some(existing), Value::Array(listed)) = (original.get_mut(field), value) else {
        return Ok(());
    };
    if !existing.is_array() {
        return Ok(());
    }
    let current = take_list(existing);
    let strategy = strategy.unwrap_or(MergeStrategy::Union);
    *existing = Value::Array(merge_list(
        current,
        listed,
        strategy,
        field_schema,
        true,
        depth,
    )?);
    Ok(())
}

/// The field a `<prefix>/<field>` directive key names, or `None` when the key is malformed.
fn directive_field<'a>(key: &'a str, prefix: &str) -> Option<&'a str> {
    let (head, field) = key.split_once('/')?;
    (head == prefix).then_some(field)
}

/// Processes every `$setElementOrder/<field>` of `patch`: apimachinery's
/// `mergePatchIntoOriginal`.
fn apply_set_element_orders(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    schema: Option<&'static Schema>,
    depth: usize,
) -> Result<(), PatchError> {
    let keys: Vec<String> = patch
        .keys()
        .filter(|key| key.starts_with(SET_ELEMENT_ORDER_PREFIX))
        .cloned()
        .collect();
    for key in keys {
        let Some(order) = patch.remove(&key) else {
            continue;
        };
        let bad_format =
            || PatchError::Malformed("invalid patch format of setElementOrder list".into());
        let field = directive_field(&key, SET_ELEMENT_ORDER_PREFIX).ok_or_else(bad_format)?;
        let Value::Array(order) = order else {
            return Err(bad_format());
        };
        apply_set_element_order(original, patch, field, &order, schema, depth)?;
    }
    Ok(())
}

/// Merges the list `field` of `patch` into `original` and orders the result by `order`.
fn apply_set_element_order(
    original: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    field: &str,
    order: &[Value],
    schema: Option<&'static Schema>,
    depth: usize,
) -> Result<(), PatchError> {
    let not_a_list = || PatchError::Malformed(format!("{field} is not a list"));
    let original_list = match original.get(field) {
        None => None,
        Some(Value::Array(items)) => Some(items.clone()),
        Some(_) => return Err(not_a_list()),
    };
    let patch_list = match patch.remove(field) {
        None => None,
        Some(Value::Array(items)) => Some(items),
        Some(_) => return Err(not_a_list()),
    };
    let (strategy, field_schema) = field_of(schema, field);
    let key = strategy.and_then(MergeStrategy::key);
    check_order_consistent(patch_list.as_deref().unwrap_or_default(), order, key)?;
    let server_order = original_list.clone().unwrap_or_default();
    let merged = match (original_list, patch_list) {
        (None, None) => return Ok(()),
        (Some(current), None) => current,
        (None, Some(items)) => match remove_directive_maps(Value::Array(items), 0) {
            Some(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        (Some(current), Some(items)) => match strategy {
            Some(strategy) => merge_list(current, items, strategy, field_schema, false, depth)?,
            None => items,
        },
    };
    require_merge_key(order, key)?;
    let ordered = order_list(
        merged,
        &identity_index(order, key),
        &identity_index(&server_order, key),
        key,
    );
    original.insert(field.to_owned(), Value::Array(ordered));
    Ok(())
}

/// apimachinery's `validatePatchWithSetOrderList`: the patch list's elements must appear in
/// `$setElementOrder` in the same relative order.
fn check_order_consistent(
    patch_list: &[Value],
    order: &[Value],
    key: Option<&str>,
) -> Result<(), PatchError> {
    let kept: Vec<&Value> = patch_list
        .iter()
        .filter(|item| key.is_none() || directive_of(item) != Some("delete"))
        .collect();
    let (mut patch_index, mut order_index) = (0, 0);
    while let (Some(item), Some(ordered)) = (kept.get(patch_index), order.get(order_index)) {
        if item.get(DIRECTIVE_MARKER).is_some() {
            patch_index += 1;
            continue;
        }
        if identity_text(item, key) == identity_text(ordered, key) {
            patch_index += 1;
        }
        order_index += 1;
    }
    if patch_index < kept.len() {
        return Err(PatchError::Malformed(format!(
            "the order in the patch list does not match the {SET_ELEMENT_ORDER_PREFIX} list"
        )));
    }
    Ok(())
}

/// Merges two lists under a merge strategy: apimachinery's `mergeSlice`. `deleting` marks a
/// `$deleteFromPrimitiveList` list, whose values are removed rather than added.
fn merge_list(
    original: Vec<Value>,
    patch: Vec<Value>,
    strategy: MergeStrategy,
    schema: Option<&'static Schema>,
    deleting: bool,
    depth: usize,
) -> Result<Vec<Value>, PatchError> {
    if original.is_empty() && patch.is_empty() {
        return Ok(original);
    }
    if !elements_are_objects(&original, &patch)? {
        if deleting {
            let listed = identity_index(&patch, None);
            let mut kept = original;
            kept.retain(|item| !listed.contains_key(&identity_text(item, None)));
            return Ok(kept);
        }
        let patch_order = identity_index(&patch, None);
        let server_order = identity_index(&original, None);
        let merged = union(original, patch);
        return Ok(order_list(merged, &patch_order, &server_order, None));
    }
    let Some(key) = strategy.key() else {
        return Err(PatchError::Malformed(
            "cannot merge lists without merge key".into(),
        ));
    };
    let (original, patch) = apply_list_directives(original, patch, key)?;
    require_merge_key(&original, Some(key))?;
    require_merge_key(&patch, Some(key))?;
    let patch_order = identity_index(&patch, Some(key));
    let server_order = identity_index(&original, Some(key));
    let merged = merge_by_key(original, patch, key, schema, depth)?;
    Ok(order_list(merged, &patch_order, &server_order, Some(key)))
}

/// Whether the lists' elements are all objects (`true`) or all scalars of one JSON type
/// (`false`); lists of lists and mixed lists cannot be merged.
fn elements_are_objects(original: &[Value], patch: &[Value]) -> Result<bool, PatchError> {
    let mut elements = original.iter().chain(patch);
    let Some(first) = elements.next() else {
        return Ok(false);
    };
    if first.is_array() {
        return Err(PatchError::Conflict(
            "lists of lists are not supported".into(),
        ));
    }
    let first_type = json_type(first);
    if elements.any(|element| json_type(element) != first_type) {
        return Err(PatchError::Malformed(
            "list element types are not identical".into(),
        ));
    }
    Ok(first.is_object())
}

fn json_type(value: &Value) -> u8 {
    match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    }
}

/// Handles the `$patch` elements of a keyed patch list (apimachinery's
/// `mergeSliceWithSpecialElements`) and returns the original and patch lists left to merge.
fn apply_list_directives(
    mut original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
) -> Result<(Vec<Value>, Vec<Value>), PatchError> {
    let mut plain = Vec::with_capacity(patch.len());
    let mut replace = false;
    for element in patch {
        match element.get(DIRECTIVE_MARKER) {
            None => plain.push(element),
            Some(Value::String(directive)) if directive == "delete" => {
                let Some(deleted) = element.get(key) else {
                    return Err(missing_merge_key(key));
                };
                original.retain(|item| item.get(key) != Some(deleted));
            }
            // Continue, so that other directives in the list are still dropped.
            Some(Value::String(directive)) if directive == "replace" => replace = true,
            // kube rejects `$patch: merge` here; merging is the default, so it changes nothing.
            Some(Value::String(directive)) if directive == "merge" => {}
            Some(other) => {
                return Err(PatchError::Malformed(format!(
                    "unknown patch type: {other} in list"
                )))
            }
        }
    }
    if replace {
        return Ok((plain, Vec::new()));
    }
    Ok((original, plain))
}

/// Merges each patch element into the original element with the same merge key value, or
/// appends it: apimachinery's `mergeSliceWithoutSpecialElements`.
fn merge_by_key(
    original: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
    schema: Option<&'static Schema>,
    depth: usize,
) -> Result<Vec<Value>, PatchError> {
    let mut merged = original;
    let mut positions = identity_index(&merged, Some(key));
    for element in patch {
        let identity = identity_text(&element, Some(key));
        let Value::Object(fields) = element else {
            return Err(PatchError::Malformed(
                "list element is not an object".into(),
            ));
        };
        match positions
            .get(&identity)
            .and_then(|&index| merged.get_mut(index))
        {
            Some(slot) => {
                let current = take_map(slot);
                *slot = Value::Object(merge_map(current, fields, schema, depth + 1)?);
            }
            None => {
                positions.insert(identity, merged.len());
                merged.push(Value::Object(fields));
            }
        }
    }
    Ok(merged)
}

/// The union of two scalar lists, each value once, original values first.
fn union(original: Vec<Value>, patch: Vec<Value>) -> Vec<Value> {
    let mut seen = HashSet::new();
    original
        .into_iter()
        .chain(patch)
        .filter(|item| seen.insert(identity_text(item, None)))
        .collect()
}

/// Orders a merged list as kube does (`normalizeElementOrder`): elements named by the patch
/// (or `$setElementOrder`) in the patch's order, the others in the original's order, the two
/// interleaved by their original positions. So an element new to the list comes before the
/// original ones unless an order says otherwise.
fn order_list(
    merged: Vec<Value>,
    patch_order: &HashMap<String, usize>,
    server_order: &HashMap<String, usize>,
    key: Option<&str>,
) -> Vec<Value> {
    let (mut from_patch, mut server_only): (Vec<_>, Vec<_>) = merged
        .into_iter()
        .map(|item| (identity_text(&item, key), item))
        .partition(|(identity, _)| patch_order.contains_key(identity));
    let position = |order: &HashMap<String, usize>, identity: &String| {
        order.get(identity).copied().unwrap_or(usize::MAX)
    };
    from_patch.sort_by_key(|(identity, _)| position(patch_order, identity));
    server_only.sort_by_key(|(identity, _)| position(server_order, identity));
    let mut ordered = Vec::with_capacity(from_patch.len() + server_only.len());
    let mut from_patch = from_patch.into_iter().peekable();
    let mut server_only = server_only.into_iter().peekable();
    loop {
        let take_server_only = match (server_only.peek(), from_patch.peek()) {
            (Some((left, _)), Some((right, _))) => {
                matches!((server_order.get(left), server_order.get(right)),
                    (Some(left), Some(right)) if left < right)
            }
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_server_only {
            server_only.next()
        } else {
            from_patch.next()
        };
        ordered.extend(next.map(|(_, item)| item));
    }
    ordered
}

/// Each element's identity mapped to its first position in `items`.
fn identity_index(items: &[Value], key: Option<&str>) -> HashMap<String, usize> {
    let mut index = HashMap::with_capacity(items.len());
    for (position, item) in items.iter().enumerate() {
        index.entry(identity_text(item, key)).or_insert(position);
    }
    index
}

/// What identifies a list element, as text so lookups can be hashed: its merge key's value
/// when merging by key, else the element itself. Missing keys yield "", which no JSON text is.
fn identity_text(item: &Value, key: Option<&str>) -> String {
    match (key, item) {
        (Some(key), Value::Object(fields)) => fields.get(key).map(Value::to_string),
        _ => Some(item.to_string()),
    }
    .unwrap_or_default()
}

fn require_merge_key(items: &[Value], key: Option<&str>) -> Result<(), PatchError> {
    let Some(key) = key else {
        return Ok(());
    };
    match items.iter().find(|item| item.get(key).is_none()) {
        Some(_) => Err(missing_merge_key(key)),
        None => Ok(()),
    }
}

fn missing_merge_key(key: &str) -> PatchError {
    PatchError::Malformed(format!(
        "a list element does not contain declared merge key: {key}"
    ))
}

fn directive_of(item: &Value) -> Option<&str> {
    item.get(DIRECTIVE_MARKER).and_then(Value::as_str)
}

fn take_map(value: &mut Value) -> Map<String, Value> {
    match std::mem::take(value) {
        Value::Object(fields) => fields,
        _ => Map::new(),
    }
}

fn take_list(value: &mut Value) -> Vec<Value> {
    match std::mem::take(value) {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

/// Whether `key` is a strategic merge directive rather than a field.
fn is_directive_key(key: &str) -> bool {
    key == DIRECTIVE_MARKER
        || key == RETAIN_KEYS_DIRECTIVE
        || directive_field(key, SET_ELEMENT_ORDER_PREFIX).is_some()
        || directive_field(key, DELETE_FROM_PRIMITIVE_LIST_PREFIX).is_some()
}

/// Drops directive keys and null fields everywhere in `value`. Iterative, so any depth is safe.
fn strip_directives_and_nulls(value: &mut Value) {
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(fields) => {
                fields.retain(|key, field| !field.is_null() && !is_directive_key(key));
                pending.extend(fields.values_mut());
            }
            Value::Array(items) => pending.extend(items.iter_mut()),
            _ => {}
        }
    }
}

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
    fn key(self) -> Option<&'static str> {
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
struct Field {
    name: &'static str,
    strategy: Option<MergeStrategy>,
    schema: Option<&'static Schema>,
}

/// The merge-relevant fields of one Go type; fields not listed merge as plain maps or are
/// replaced as plain lists.
type Schema = [Field];

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

fn field_of(
    schema: Option<&'static Schema>,
    name: &str,
) -> (Option<MergeStrategy>, Option<&'static Schema>) {
    schema
        .and_then(|fields| fields.iter().find(|field| field.name == name))
        .map_or((None, None), |field| (field.strategy, field.schema))
}

fn kind_schema(kind: &str) -> &'static Schema {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn patch_with(kind: &str, patch_type: PatchType, original: &Value, patch: &Value) -> Value {
        let body = serde_json::to_vec(patch).expect("test patch serializes");
        match apply_patch(kind, patch_type, original, &body) {
            Ok(patched) => patched,
            Err(error) => panic!("patch {patch} failed: {error}"),
        }
    }

    fn strategic(kind: &str, original: &Value, patch: Value) -> Value {
        patch_with(kind, PatchType::StrategicMerge, original, &patch)
    }

    fn error_of(kind: &str, patch_type: PatchType, original: &Value, body: &[u8]) -> PatchError {
        match apply_patch(kind, patch_type, original, body) {
            Ok(patched) => panic!("patch unexpectedly applied: {patched}"),
            Err(error) => error,
        }
    }

    /// The Deployment of the Kubernetes task "Update API Objects in Place Using kubectl patch".
    fn patch_demo() -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "patch-demo"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "nginx"}},
                "template": {
                    "metadata": {"labels": {"app": "nginx"}},
                    "spec": {
                        "containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
                        "tolerations": [
                            {"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}
                        ]
                    }
                }
            }
        })
    }

    fn containers_of(deployment: &Value) -> &Value {
        &deployment["spec"]["template"]["spec"]["containers"]
    }

    #[test]
    fn content_types_round_trip() {
        for patch_type in [
            PatchType::Json,
            PatchType::Merge,
            PatchType::StrategicMerge,
            PatchType::Apply,
        ] {
            assert_eq!(
                PatchType::from_content_type(patch_type.content_type()),
                Some(patch_type)
            );
        }
        assert_eq!(
            PatchType::from_content_type("Application/Merge-Patch+JSON; charset=utf-8"),
            Some(PatchType::Merge)
        );
        assert_eq!(PatchType::from_content_type("application/json"), None);
        assert_eq!(PatchType::from_content_type(""), None);
    }

    #[test]
    fn errors_carry_kube_statuses() {
        let malformed = PatchError::Malformed("m".into());
        let conflict = PatchError::Conflict("c".into());
        let too_large = PatchError::TooLarge("t".into());
        assert_eq!(
            (malformed.http_status(), malformed.reason()),
            (400, "BadRequest")
        );
        assert_eq!(
            (conflict.http_status(), conflict.reason()),
            (422, "Invalid")
        );
        assert_eq!(
            (too_large.http_status(), too_large.reason()),
            (413, "RequestEntityTooLarge")
        );
        assert_eq!(conflict.to_string(), "c");
    }

    // --- The examples of "Update API Objects in Place Using kubectl patch" ---

    #[test]
    fn docs_strategic_merge_adds_a_container_by_name() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "patch-demo-ctr-2", "image": "redis"}
        ]}}}});
        let patched = strategic("Deployment", &patch_demo(), patch);
        // As the page shows, the new container comes first and the old one is kept.
        assert_eq!(
            containers_of(&patched),
            &json!([
                {"name": "patch-demo-ctr-2", "image": "redis"},
                {"name": "patch-demo-ctr", "image": "nginx"}
            ])
        );
        assert_eq!(patched["spec"]["replicas"], json!(2));
    }

    #[test]
    fn docs_strategic_merge_replaces_tolerations() {
        let patch = json!({"spec": {"template": {"spec": {"tolerations": [
            {"effect": "NoSchedule", "key": "disktype", "value": "ssd"}
        ]}}}});
        let patched = strategic("Deployment", &patch_demo(), patch);
        assert_eq!(
            patched["spec"]["template"]["spec"]["tolerations"],
            json!([{"effect": "NoSchedule", "key": "disktype", "value": "ssd"}])
        );
        assert_eq!(containers_of(&patched), containers_of(&patch_demo()));
    }

    #[test]
    fn docs_merge_patch_replaces_the_container_list() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "patch-demo-ctr-3", "image": "gcr.io/google-samples/hello-app:2.0"}
        ]}}}});
        let patched = patch_with("Deployment", PatchType::Merge, &patch_demo(), &patch);
        assert_eq!(
            containers_of(&patched),
            &json!([{"name": "patch-demo-ctr-3", "image": "gcr.io/google-samples/hello-app:2.0"}])
        );
    }

    #[test]
    fn docs_retain_keys_clears_the_other_strategy_fields() {
        let original = json!({
            "kind": "Deployment",
            "spec": {"strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "30%", "maxUnavailable": "30%"}
            }}
        });
        // Without the directive the rolling update parameters stay (and kube's validation
        // then refuses them); with it only the listed keys survive.
        let plain = strategic(
            "Deployment",
            &original,
            json!({"spec": {"strategy": {"type": "Recreate"}}}),
        );
        assert_eq!(
            plain["spec"]["strategy"]["rollingUpdate"]["maxSurge"],
            "30%"
        );
        let retained = strategic(
            "Deployment",
            &original,
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        );
        assert_eq!(retained["spec"]["strategy"], json!({"type": "Recreate"}));
    }

    #[test]
    fn docs_alternate_forms_and_scale_subresource_patch() {
        let patched = strategic(
            "Deployment",
            &patch_demo(),
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "patch-demo-ctr-2", "image": "redis"}
            ]}}}}),
        );
        assert_eq!(containers_of(&patched)[0]["image"], "redis");
        let scaled = patch_with(
            "Deployment",
            PatchType::Merge,
            &patch_demo(),
            &json!({"spec": {"replicas": 3}}),
        );
        assert_eq!(scaled["spec"]["replicas"], 3);
    }

    // --- Strategic merge directives ---

    #[test]
    fn patch_delete_in_a_list_element_removes_it_by_merge_key() {
        let mut original = patch_demo();
        original["spec"]["template"]["spec"]["containers"] = json!([
            {"name": "a", "image": "nginx"},
            {"name": "b", "image": "redis"}
        ]);
        let patched = strategic(
            "Deployment",
            &original,
            json!({"spec": {"template": {"spec": {"containers": [
                {"name": "a", "$patch": "delete"}
            ]}}}}),
        );
        assert_eq!(
            containers_of(&patched),
            &json!([{"name": "b", "image": "redis"}])
        );
    }

    #[test]
    fn patch_delete_in_a_map_empties_it() {
        let patched = strategic(
            "Deployment",
            &patch_demo(),
            json!({"spec": {"selector": {"$patch": "delete"}}}),
        );
        assert_eq!(patched["spec"]["selector"], json!({}));
        assert_eq!(patched["spec"]["replicas"], 2);
    }

    #[test]
    fn patch_replace_in_a_map_replaces_it() {
        let patched = strategic(
            "Deployment",
            &patch_demo(),
            json!({"spec": {"template": {"metadata": {
                "$patch": "replace", "annotations": {"a": "b"}
            }}}}),
        );
        assert_eq!(
            patched["spec"]["template"]["metadata"],
            json!({"annotations": {"a": "b"}})
        );
    }

    #[test]
    fn patch_replace_in_a_list_replaces_it() {
        let original = json!({"spec": {"containers": [
            {"name": "a", "image": "nginx"}, {"name": "b", "image": "redis"}
        ]}});
        let patched = strategic(
            "Pod",
            &original,
            json!({"spec": {"containers": [
                {"$patch": "replace"}, {"name": "c", "image": "busybox"}
            ]}}),
        );
        assert_eq!(
            patched["spec"]["containers"],
            json!([{"name": "c", "image": "busybox"}])
        );
    }

    #[test]
    fn patch_merge_merges_as_usual() {
        let patched = strategic(
            "Deployment",
            &patch_demo(),
            json!({"spec": {"$patch": "merge", "replicas": 5}}),
        );
        assert_eq!(patched["spec"]["replicas"], 5);
        assert_eq!(containers_of(&patched), containers_of(&patch_demo()));
    }

    #[test]
    fn unknown_patch_directive_is_malformed() {
        let body = br#"{"spec": {"$patch": "explode"}}"#;
        let error = error_of("Deployment", PatchType::StrategicMerge, &patch_demo(), body);
        assert!(matches!(error, PatchError::Malformed(_)), "{error:?}");
    }

    #[test]
    fn null_deletes_a_field() {
        let patched = strategic(
            "Deployment",
            &patch_demo(),
            json!({"spec": {"replicas": null, "paused": null}}),
        );
        assert!(patched["spec"].get("replicas").is_none());
        assert!(patched["spec"].get("paused").is_none());
    }

    #[test]
    fn containers_merge_recursively_with_nested_merge_keys() {
        let original = json!({"spec": {"containers": [{
            "name": "app",
            "image": "app:1",
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "ports": [{"containerPort": 80, "protocol": "TCP"}],
            "args": ["--x"]
        }]}});
        let patched = strategic(
            "Pod",
            &original,
            json!({"spec": {"containers": [{
                "name": "app",
                "image": "app:2",
                "env": [{"name": "B", "value": "3"}],
                "ports": [{"containerPort": 443}],
                "args": ["--y"]
            }]}}),
        );
        let container = &patched["spec"]["containers"][0];
        assert_eq!(container["image"], "app:2");
        assert_eq!(
            container["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "3"}])
        );
        assert_eq!(
            container["ports"],
            json!([{"containerPort": 443}, {"containerPort": 80, "protocol": "TCP"}])
        );
        // args has no patchStrategy: replaced.
        assert_eq!(container["args"], json!(["--y"]));
    }

    #[test]
    fn finalizers_are_unioned_and_deleted_from() {
        let original = json!({"metadata": {"finalizers": ["a", "b"]}});
        let added = strategic(
            "ConfigMap",
            &original,
            json!({"metadata": {"finalizers": ["b", "c"]}}),
        );
        // `a` sits before `b` in the original, so it stays before it; `c` follows the patch.
        assert_eq!(added["metadata"]["finalizers"], json!(["a", "b", "c"]));
        let removed = strategic(
            "ConfigMap",
            &original,
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
        );
        assert_eq!(removed["metadata"]["finalizers"], json!(["b"]));
    }

    #[test]
    fn set_element_order_orders_the_merged_list() {
        let original = json!({"spec": {"containers": [
            {"name": "a", "image": "1"}, {"name": "b", "image": "1"}
        ]}});
        // What kubectl's client-side apply sends to append `c` after `a` and `b`.
        let patched = strategic(
            "Pod",
            &original,
            json!({"spec": {
                "$setElementOrder/containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}],
                "containers": [{"name": "c", "image": "2"}]
            }}),
        );
        let names: Vec<&Value> = patched["spec"]["containers"]
            .as_array()
            .map(|items| items.iter().map(|item| &item["name"]).collect())
            .unwrap_or_default();
        assert_eq!(names, [&json!("a"), &json!("b"), &json!("c")]);
        let reordered = strategic(
            "Pod",
            &original,
            json!({"spec": {"$setElementOrder/containers": [{"name": "b"}, {"name": "a"}]}}),
        );
        assert_eq!(reordered["spec"]["containers"][0]["name"], "b");
    }

    #[test]
    fn set_element_order_for_primitive_lists() {
        let original = json!({"metadata": {"finalizers": ["x", "y"]}});
        let patched = strategic(
            "Pod",
            &original,
            json!({"metadata": {
                "$setElementOrder/finalizers": ["y", "x", "z"],
                "finalizers": ["z"]
            }}),
        );
        assert_eq!(patched["metadata"]["finalizers"], json!(["y", "x", "z"]));
    }

    #[test]
    fn set_element_order_disagreeing_with_the_patch_is_malformed() {
        let original = json!({"spec": {"containers": [{"name": "a"}]}});
        let body = serde_json::to_vec(&json!({"spec": {
            "$setElementOrder/containers": [{"name": "a"}],
            "containers": [{"name": "z"}]
        }}))
        .unwrap_or_default();
        let error = error_of("Pod", PatchType::StrategicMerge, &original, &body);
        assert!(matches!(error, PatchError::Malformed(_)), "{error:?}");
    }

    #[test]
    fn malformed_directive_keys_are_bad_requests() {
        let original = json!({"metadata": {"finalizers": ["a"]}});
        for body in [
            &br#"{"metadata": {"$deleteFromPrimitiveListX/finalizers": ["a"]}}"#[..],
            br#"{"metadata": {"$setElementOrder": ["a"]}}"#,
            br#"{"metadata": {"$retainKeys": "finalizers"}}"#,
            br#"{"metadata": {"$retainKeys": ["labels"], "finalizers": ["b"]}}"#,
        ] {
            let error = error_of("Pod", PatchType::StrategicMerge, &original, body);
            assert_eq!(error.http_status(), 400, "{error:?}");
        }
    }

    #[test]
    fn directives_never_reach_the_stored_object() {
        let patched = strategic(
            "Pod",
            &json!({"spec": {}}),
            json!({"spec": {
                "containers": [{"name": "a", "env": [{"name": "X", "$patch": "delete"}]}],
                "newMap": {"$patch": "replace", "a": 1},
                "nested": {"keep": {"$retainKeys": ["x"], "x": 1}}
            }}),
        );
        // kube drops a new map carrying `$patch` (removeDirectives), and strips the rest.
        assert!(patched["spec"].get("newMap").is_none());
        assert_eq!(patched["spec"]["containers"][0]["env"], json!([]));
        assert_eq!(patched["spec"]["nested"]["keep"], json!({"x": 1}));
    }

    #[test]
    fn owner_references_merge_by_uid() {
        let original = json!({"metadata": {"ownerReferences": [
            {"uid": "1", "name": "a"}, {"uid": "2", "name": "b"}
        ]}});
        let patched = strategic(
            "Secret",
            &original,
            json!({"metadata": {"ownerReferences": [{"uid": "2", "controller": true}]}}),
        );
        assert_eq!(
            patched["metadata"]["ownerReferences"],
            json!([{"uid": "1", "name": "a"}, {"uid": "2", "name": "b", "controller": true}])
        );
    }

    #[test]
    fn status_conditions_merge_by_type() {
        let original = json!({"status": {
            "conditions": [{"type": "Ready", "status": "False"}],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}]
        }});
        let patched = strategic(
            "Node",
            &original,
            json!({"status": {
                "conditions": [{"type": "Ready", "status": "True"}],
                "addresses": [{"type": "Hostname", "address": "n1"}]
            }}),
        );
        assert_eq!(
            patched["status"]["conditions"],
            json!([{"type": "Ready", "status": "True"}])
        );
        assert_eq!(
            patched["status"]["addresses"].as_array().map(Vec::len),
            Some(2)
        );
    }

    #[test]
    fn service_ports_merge_by_port_and_endpoints_subsets_are_replaced() {
        let service = json!({"spec": {"ports": [{"port": 80, "name": "http"}]}});
        let patched = strategic(
            "Service",
            &service,
            json!({"spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}}),
        );
        assert_eq!(
            patched["spec"]["ports"],
            json!([{"port": 80, "name": "http", "targetPort": 8080}, {"port": 443}])
        );
        let endpoints = json!({"subsets": [{"addresses": [{"ip": "10.0.0.1"}]}]});
        let replaced = strategic(
            "Endpoints",
            &endpoints,
            json!({"subsets": [{"addresses": [{"ip": "10.0.0.2"}]}]}),
        );
        assert_eq!(
            replaced["subsets"],
            json!([{"addresses": [{"ip": "10.0.0.2"}]}])
        );
    }

    #[test]
    fn deleting_a_list_element_needs_its_merge_key() {
        let body = br#"{"spec": {"template": {"spec": {"containers": [{"$patch": "delete"}]}}}}"#;
        let error = error_of("Deployment", PatchType::StrategicMerge, &patch_demo(), body);
        assert!(matches!(error, PatchError::Malformed(_)), "{error:?}");
    }

    #[test]
    fn cron_job_pod_template_merges_containers() {
        let original = json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "a", "image": "1"}]
        }}}}}});
        let patched = strategic(
            "CronJob",
            &original,
            json!({"spec": {"jobTemplate": {"spec": {"template": {"spec": {
                "containers": [{"name": "b", "image": "2"}]
            }}}}}}),
        );
        assert_eq!(
            patched["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
    }

    #[test]
    fn unknown_kinds_replace_lists_but_merge_metadata() {
        let original = json!({
            "metadata": {"finalizers": ["a"]},
            "spec": {"items": [{"name": "a"}]}
        });
        let patched = strategic(
            "Widget",
            &original,
            json!({"metadata": {"finalizers": ["b"]}, "spec": {"items": [{"name": "b"}]}}),
        );
        assert_eq!(patched["metadata"]["finalizers"], json!(["b", "a"]));
        assert_eq!(patched["spec"]["items"], json!([{"name": "b"}]));
    }

    #[test]
    fn changed_json_types_are_replaced() {
        let patched = strategic(
            "Pod",
            &json!({"spec": {"a": [1], "b": {"c": 1}, "d": "x"}}),
            json!({"spec": {"a": {"x": 1}, "b": [1], "d": 5}}),
        );
        assert_eq!(patched["spec"], json!({"a": {"x": 1}, "b": [1], "d": 5}));
    }

    #[test]
    fn unmergeable_lists_are_refused() {
        // Against a list of objects a list element is a type mismatch; only an empty
        // original lets kube see (and refuse) the list of lists itself.
        let empty = json!({"spec": {"containers": []}});
        let list_of_lists = br#"{"spec": {"containers": [[1]]}}"#;
        let error = error_of("Pod", PatchType::StrategicMerge, &empty, list_of_lists);
        assert_eq!(
            error,
            PatchError::Conflict("lists of lists are not supported".into())
        );
        let original = json!({"spec": {"containers": [{"name": "a"}]}});
        let mixed = br#"{"spec": {"containers": ["a"]}}"#;
        let error = error_of("Pod", PatchType::StrategicMerge, &original, mixed);
        assert!(matches!(error, PatchError::Malformed(_)), "{error:?}");
        let keyless = br#"{"spec": {"containers": [{"image": "x"}]}}"#;
        let error = error_of("Pod", PatchType::StrategicMerge, &original, keyless);
        assert!(matches!(error, PatchError::Malformed(_)), "{error:?}");
    }

    #[test]
    fn strategic_merge_body_shapes() {
        let original = patch_demo();
        assert_eq!(
            apply_patch("Deployment", PatchType::StrategicMerge, &original, b"null"),
            Ok(original.clone())
        );
        for body in [&b"[1]"[..], b"5", b"", b"{", b"\"x\""] {
            let error = error_of("Deployment", PatchType::StrategicMerge, &original, body);
            assert!(
                matches!(error, PatchError::Malformed(_)),
                "{body:?}: {error:?}"
            );
        }
    }

    /// Paths and the strategies k8s.io/api 1.33 tags them with.
    const MERGE_KEY_CASES: &[(&str, &[&str], Option<MergeStrategy>)] = &[
        ("Pod", &["metadata", "finalizers"], Some(Union)),
        ("Pod", &["metadata", "ownerReferences"], Some(ByKey("uid"))),
        ("Pod", &["spec", "containers"], Some(ByKey("name"))),
        (
            "Pod",
            &["spec", "initContainers", "env"],
            Some(ByKey("name")),
        ),
        ("Pod", &["spec", "ephemeralContainers"], Some(ByKey("name"))),
        ("Pod", &["spec", "volumes"], Some(ByKey("name"))),
        ("Pod", &["spec", "imagePullSecrets"], Some(ByKey("name"))),
        ("Pod", &["spec", "hostAliases"], Some(ByKey("ip"))),
        ("Pod", &["spec", "tolerations"], None),
        (
            "Pod",
            &["spec", "containers", "ports"],
            Some(ByKey("containerPort")),
        ),
        (
            "Pod",
            &["spec", "containers", "volumeMounts"],
            Some(ByKey("mountPath")),
        ),
        (
            "Pod",
            &["spec", "containers", "volumeDevices"],
            Some(ByKey("devicePath")),
        ),
        ("Pod", &["spec", "containers", "args"], None),
        ("Pod", &["status", "conditions"], Some(ByKey("type"))),
        ("Node", &["status", "conditions"], Some(ByKey("type"))),
        ("Node", &["status", "addresses"], Some(ByKey("type"))),
        ("Service", &["spec", "ports"], Some(ByKey("port"))),
        ("Endpoints", &["subsets"], None),
        (
            "Deployment",
            &["spec", "template", "spec", "containers"],
            Some(ByKey("name")),
        ),
        ("Deployment", &["status", "conditions"], Some(ByKey("type"))),
        (
            "ReplicaSet",
            &["spec", "template", "metadata", "finalizers"],
            Some(Union),
        ),
        (
            "StatefulSet",
            &["spec", "template", "spec", "volumes"],
            Some(ByKey("name")),
        ),
        ("DaemonSet", &["status", "conditions"], Some(ByKey("type"))),
        (
            "Job",
            &["spec", "template", "spec", "initContainers"],
            Some(ByKey("name")),
        ),
        (
            "CronJob",
            &[
                "spec",
                "jobTemplate",
                "spec",
                "template",
                "spec",
                "containers",
                "env",
            ],
            Some(ByKey("name")),
        ),
        ("Deployment", &["spec", "containers"], None),
        ("Pod", &[], None),
    ];

    #[test]
    fn merge_key_table_follows_the_k8s_api_tags() {
        for (kind, path, expected) in MERGE_KEY_CASES {
            assert_eq!(merge_key(kind, path), *expected, "{kind} {path:?}");
        }
    }

    // --- JSON patch ---

    #[test]
    fn json_patch_operations_apply_in_order() {
        let body = json!([
            {"op": "test", "path": "/spec/replicas", "value": 2},
            {"op": "replace", "path": "/spec/replicas", "value": 4},
            {"op": "add", "path": "/metadata/labels", "value": {"tier": "web"}},
            {"op": "copy", "from": "/metadata/labels", "path": "/metadata/annotations"},
            {"op": "move", "from": "/metadata/annotations", "path": "/spec/annotations"},
            {"op": "remove", "path": "/spec/template/spec/tolerations"}
        ]);
        let patched = patch_with("Deployment", PatchType::Json, &patch_demo(), &body);
        assert_eq!(patched["spec"]["replicas"], 4);
        assert_eq!(patched["metadata"]["labels"], json!({"tier": "web"}));
        assert_eq!(patched["spec"]["annotations"], json!({"tier": "web"}));
        assert!(patched["spec"]["template"]["spec"]
            .get("tolerations")
            .is_none());
    }

    #[test]
    fn json_patch_failures_are_unprocessable() {
        let original = patch_demo();
        for body in [
            &br#"[{"op": "test", "path": "/spec/replicas", "value": 3}]"#[..],
            br#"[{"op": "remove", "path": "/spec/missing"}]"#,
            br#"[{"op": "replace", "path": "/nope/deeper", "value": 1}]"#,
            br#"[{"op": "bogus", "path": "/spec"}]"#,
            br#"[{"op": "add", "value": 1}]"#,
            br#"[{"op": "add", "path": "no-slash", "value": 1}]"#,
            br#"[{"op": "replace", "path": "", "value": [1]}]"#,
        ] {
            let error = error_of("Deployment", PatchType::Json, &original, body);
            assert!(matches!(error, PatchError::Conflict(_)), "{error:?}");
        }
    }

    #[test]
    fn json_patch_bodies_of_the_wrong_shape_are_bad_requests() {
        let original = patch_demo();
        for body in [
            &b"{}"[..],
            b"[1]",
            b"[{\"op\": 1, \"path\": \"/a\"}]",
            b"[{\"op\": \"add\", \"path\": 7, \"value\": 1}]",
            b"not json",
        ] {
            let error = error_of("Deployment", PatchType::Json, &original, body);
            assert!(matches!(error, PatchError::Malformed(_)), "{error:?}");
        }
    }

    #[test]
    fn failed_move_sequences_do_not_panic() {
        // json-patch's undo log panics undoing this pair; kactor applies without it.
        let original = json!({"a": {"b": {"c": 1}}});
        let body = br#"[
            {"op": "move", "from": "/a/b", "path": "/a"},
            {"op": "test", "path": "/missing", "value": 1}
        ]"#;
        let error = error_of("ConfigMap", PatchType::Json, &original, body);
        assert!(matches!(error, PatchError::Conflict(_)), "{error:?}");
        assert_eq!(original, json!({"a": {"b": {"c": 1}}}));
    }

    #[test]
    fn json_patch_operation_count_is_bounded() {
        let operation = json!({"op": "test", "path": "/kind", "value": "Deployment"});
        let at_limit = Value::Array(vec![operation.clone(); JSON_PATCH_OPS_MAX]);
        patch_with("Deployment", PatchType::Json, &patch_demo(), &at_limit);
        let over = Value::Array(vec![operation; JSON_PATCH_OPS_MAX + 1]);
        let body = serde_json::to_vec(&over).unwrap_or_default();
        let error = error_of("Deployment", PatchType::Json, &patch_demo(), &body);
        assert!(matches!(error, PatchError::TooLarge(_)), "{error:?}");
    }

    #[test]
    fn json_patch_copies_are_bounded() {
        let original = json!({"data": {"blob": "x".repeat(1024 * 1024)}});
        let copy = |index: usize| json!({"op": "copy", "from": "/data/blob", "path": format!("/data/c{index}")});
        let two = Value::Array((0..2).map(copy).collect());
        patch_with("ConfigMap", PatchType::Json, &original, &two);
        let four = Value::Array((0..4).map(copy).collect());
        let body = serde_json::to_vec(&four).unwrap_or_default();
        let error = error_of("ConfigMap", PatchType::Json, &original, &body);
        assert!(matches!(error, PatchError::Conflict(_)), "{error:?}");
    }

    #[test]
    fn json_patch_cannot_nest_the_object_too_deep() {
        // Each copy of the root into itself adds a level.
        let operations: Vec<Value> = (0..PATCH_DEPTH_MAX + 1)
            .map(|_| json!({"op": "copy", "from": "", "path": "/a"}))
            .collect();
        let body = serde_json::to_vec(&operations).unwrap_or_default();
        let error = error_of("ConfigMap", PatchType::Json, &json!({}), &body);
        assert!(matches!(error, PatchError::Conflict(_)), "{error:?}");
    }

    // --- Merge patch ---

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let original = json!({
            "title": "Goodbye!",
            "author": {"givenName": "John", "familyName": "Doe"},
            "tags": ["example", "sample"],
            "content": "This will be unchanged"
        });
        let patch = json!({
            "title": "Hello!",
            "phoneNumber": "+01-123-456-7890",
            "author": {"familyName": null},
            "tags": ["example"]
        });
        let patched = patch_with("ConfigMap", PatchType::Merge, &original, &patch);
        assert_eq!(
            patched,
            json!({
                "title": "Hello!",
                "author": {"givenName": "John"},
                "tags": ["example"],
                "content": "This will be unchanged",
                "phoneNumber": "+01-123-456-7890"
            })
        );
    }

    #[test]
    fn merge_patch_body_shapes() {
        let original = patch_demo();
        for body in [&b"null"[..], b"5", b"\"x\"", b"", b"{"] {
            let error = error_of("Deployment", PatchType::Merge, &original, body);
            assert!(
                matches!(error, PatchError::Malformed(_)),
                "{body:?}: {error:?}"
            );
        }
        let error = error_of("Deployment", PatchType::Merge, &original, b"[1]");
        assert!(matches!(error, PatchError::Conflict(_)), "{error:?}");
    }

    // --- Apply ---

    #[test]
    fn apply_merges_the_configuration_and_ignores_nulls() {
        let configuration = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "patch-demo"},
            "spec": {
                "replicas": null,
                "template": {"spec": {"containers": [{"name": "patch-demo-ctr", "image": "nginx:2"}]}}
            }
        });
        let patched = patch_with(
            "Deployment",
            PatchType::Apply,
            &patch_demo(),
            &configuration,
        );
        assert_eq!(patched["spec"]["replicas"], 2);
        assert_eq!(
            containers_of(&patched),
            &json!([{"name": "patch-demo-ctr", "image": "nginx:2"}])
        );
    }

    #[test]
    fn apply_reads_yaml_and_json_objects_only() {
        let body = b"apiVersion: v1\nkind: ConfigMap\ndata:\n  a: \"1\"\n";
        let patched = apply_patch(
            "ConfigMap",
            PatchType::Apply,
            &json!({"data": {"b": "2"}}),
            body,
        );
        assert_eq!(patched.unwrap()["data"], json!({"a": "1", "b": "2"}));
        for body in [&b"[]"[..], b"- a\n", b"just text", b"a: [\n"] {
            let error = error_of("ConfigMap", PatchType::Apply, &json!({}), body);
            assert!(matches!(error, PatchError::Malformed(_)), "{error:?}");
        }
    }

    // --- Limits ---

    #[test]
    fn oversized_bodies_are_too_large() {
        let body = vec![b' '; PATCH_BYTES_MAX + 1];
        for patch_type in [
            PatchType::Json,
            PatchType::Merge,
            PatchType::StrategicMerge,
            PatchType::Apply,
        ] {
            let error = error_of("Pod", patch_type, &json!({}), &body);
            assert_eq!(error.http_status(), 413, "{patch_type:?}");
        }
    }

    fn nested_patch(levels: usize) -> Vec<u8> {
        let mut body = Vec::new();
        for _ in 0..levels {
            body.extend_from_slice(b"{\"a\":");
        }
        body.extend_from_slice(b"1");
        body.extend(std::iter::repeat_n(b'}', levels));
        body
    }

    #[test]
    fn deep_patches_merge_at_the_limit_and_are_refused_beyond() {
        // This runs on a test harness thread, whose stack is Rust's default 2 MiB, unoptimised:
        // the deepest legal patch must parse and merge there.
        let at_limit = nested_patch(PATCH_DEPTH_MAX);
        let deep_original: Value =
            serde_json::from_slice(&nested_patch(PATCH_DEPTH_MAX - 1)).unwrap_or_default();
        assert_eq!(nesting_depth(&deep_original), PATCH_DEPTH_MAX - 1);
        for patch_type in [
            PatchType::Merge,
            PatchType::StrategicMerge,
            PatchType::Apply,
        ] {
            let merged = apply_patch("Pod", patch_type, &deep_original, &at_limit);
            assert_eq!(
                merged.map(|value| nesting_depth(&value)),
                Ok(PATCH_DEPTH_MAX)
            );
        }
        let beyond = nested_patch(PATCH_DEPTH_MAX + 1);
        for patch_type in ALL_TYPES {
            let error = error_of("Pod", patch_type, &json!({}), &beyond);
            assert!(matches!(error, PatchError::Malformed(_)), "{error:?}");
        }
    }

    // --- Properties: no input panics ---

    /// Field names, most of them ones the merge tables or the directives give a meaning to.
    fn arbitrary_key() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "metadata",
            "spec",
            "template",
            "containers",
            "name",
            "env",
            "ports",
            "finalizers",
            "conditions",
            "type",
            "$patch",
            "$retainKeys",
            "$setElementOrder/containers",
            "$setElementOrder/finalizers",
            "$deleteFromPrimitiveList/finalizers",
            "$deleteFromPrimitiveList/containers",
            "$setElementOrder",
            "containerPort",
        ])
        .prop_map(str::to_owned)
    }

    fn object_of(fields: Vec<(String, Value)>) -> Value {
        Value::Object(fields.into_iter().collect())
    }

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (0i64..4).prop_map(|n| json!(n)),
            prop::sample::select(vec!["a", "b", "replace", "delete", "merge", "name", "spec"])
                .prop_map(|text| json!(text)),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((arbitrary_key(), inner), 0..5).prop_map(object_of),
            ]
        })
    }

    fn arbitrary_object() -> impl Strategy<Value = Value> {
        prop::collection::vec((arbitrary_key(), arbitrary_json()), 0..5).prop_map(object_of)
    }

    fn arbitrary_operation() -> impl Strategy<Value = Value> {
        let ops = prop::sample::select(vec![
            "add", "remove", "replace", "move", "copy", "test", "x",
        ]);
        let paths = prop::sample::select(vec![
            "",
            "/",
            "/spec",
            "/spec/containers",
            "/spec/containers/0",
            "/spec/containers/-",
            "/metadata/finalizers/1",
            "/a/b",
            "/a",
            "bad",
            "/spec/containers/01",
        ]);
        (ops, paths.clone(), paths, arbitrary_json()).prop_map(
            |(op, path, from, value)| json!({"op": op, "path": path, "from": from, "value": value}),
        )
    }

    const ALL_TYPES: [PatchType; 4] = [
        PatchType::Json,
        PatchType::Merge,
        PatchType::StrategicMerge,
        PatchType::Apply,
    ];

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(body in prop::collection::vec(any::<u8>(), 0..256)) {
            for patch_type in ALL_TYPES {
                let _ = apply_patch("Deployment", patch_type, &patch_demo(), &body);
            }
        }

        #[test]
        fn arbitrary_json_patches_never_panic(original in arbitrary_json(), patch in arbitrary_json()) {
            let body = serde_json::to_vec(&patch).unwrap_or_default();
            for kind in ["Pod", "Deployment", "Widget"] {
                for patch_type in ALL_TYPES {
                    if let Ok(patched) = apply_patch(kind, patch_type, &original, &body) {
                        prop_assert!(patched.is_object());
                    }
                }
            }
        }

        #[test]
        fn arbitrary_json_patch_operations_never_panic(
            original in arbitrary_json(),
            operations in prop::collection::vec(arbitrary_operation(), 0..6),
        ) {
            let body = serde_json::to_vec(&operations).unwrap_or_default();
            let _ = apply_patch("Pod", PatchType::Json, &original, &body);
        }

        #[test]
        fn strategic_results_hold_no_directives(original in arbitrary_json(), patch in arbitrary_object()) {
            let body = serde_json::to_vec(&patch).unwrap_or_default();
            if let Ok(patched) = apply_patch("Pod", PatchType::StrategicMerge, &original, &body) {
                let text = patched.to_string();
                prop_assert!(!text.contains("\"$patch\""), "{}", text);
                prop_assert!(!text.contains("\"$retainKeys\""), "{}", text);
            }
        }
    }
}
