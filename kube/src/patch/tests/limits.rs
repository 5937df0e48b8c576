//! Size and nesting limits of every patch type.

use super::*;

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
