//! Strategic merge patch: apimachinery's `strategicpatch` merge of maps and lists, with the
//! `$patch`, `$retainKeys`, `$setElementOrder` and `$deleteFromPrimitiveList` directives.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::merge_keys::{field_of, kind_schema, MergeStrategy, Schema};
use super::{parse_patch_body, PatchError, PATCH_DEPTH_MAX};

const DIRECTIVE_MARKER: &str = "$patch";
const RETAIN_KEYS_DIRECTIVE: &str = "$retainKeys";
const SET_ELEMENT_ORDER_PREFIX: &str = "$setElementOrder";
const DELETE_FROM_PRIMITIVE_LIST_PREFIX: &str = "$deleteFromPrimitiveList";

pub(super) fn apply_strategic_merge_patch(
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
