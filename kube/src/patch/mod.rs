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

mod apply;
mod json;
mod merge;
mod merge_keys;
mod strategic;
#[cfg(test)]
mod tests;

use serde_json::Value;

use self::apply::apply_server_side_apply;
pub use self::apply::parse_apply_configuration;
use self::json::apply_json_patch;
use self::merge::apply_merge_patch;
pub use self::merge_keys::{merge_key, MergeStrategy};
use self::strategic::apply_strategic_merge_patch;

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
