//! Server-side apply bodies: reading an applied configuration (YAML or JSON), and applying
//! one alone, as an object's only field manager would.

use serde_json::Value;

use super::{
    nesting_depth, PatchError, APPLY_YAML_EXPANDED_BYTES_MAX, PATCH_BYTES_MAX, PATCH_DEPTH_MAX,
};

/// The merge of an applied configuration alone, without field managers: nothing is removed and
/// nothing conflicts, as for the only manager of an object applying for the first time.
pub(super) fn apply_server_side_apply(
    kind: &str,
    original: &Value,
    body: &[u8],
) -> Result<Value, PatchError> {
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
