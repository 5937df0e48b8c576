//! JSON merge patch (RFC 7386), through the `json-patch` crate.

use serde_json::Value;

use super::{parse_patch_body, PatchError};

// ---------------------------------------------------------------------------------------------
// JSON merge patch (RFC 7386)
// ---------------------------------------------------------------------------------------------

pub(super) fn apply_merge_patch(original: &Value, body: &[u8]) -> Result<Value, PatchError> {
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
