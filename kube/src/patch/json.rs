//! JSON patch (RFC 6902), through the `json-patch` crate, within kube's bounds on operations,
//! copied bytes and nesting.

use serde_json::Value;

use super::{
    nesting_depth, parse_patch_body, PatchError, JSON_PATCH_COPY_BYTES_MAX, JSON_PATCH_OPS_MAX,
    PATCH_DEPTH_MAX,
};

// ---------------------------------------------------------------------------------------------
// JSON patch (RFC 6902)
// ---------------------------------------------------------------------------------------------

pub(super) fn apply_json_patch(original: &Value, body: &[u8]) -> Result<Value, PatchError> {
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
