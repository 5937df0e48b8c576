//! JSON merge patch (RFC 7386).

use super::*;

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
