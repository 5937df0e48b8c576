//! The Table envelope: metadata, embedded objects, column priorities.

use super::*;

// --- Table envelope -----------------------------------------------------------------

#[test]
fn table_envelope_matches_meta_v1() {
    let list_metadata = json!({"resourceVersion": "123", "continue": "", "remainingItemCount": 4, "selfLink": "/x"});
    let table = to_table("Namespace", &[], list_metadata, NOW_MS, "Metadata");
    assert_eq!(table["kind"], "Table");
    assert_eq!(table["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(
        table["metadata"],
        json!({"resourceVersion": "123", "remainingItemCount": 4})
    );
    assert_eq!(table["rows"], json!([]));
    assert_eq!(
        table["columnDefinitions"][0],
        json!({"name": "Name", "type": "string", "format": "name", "description": NAME_DOC, "priority": 0}),
    );
    assert_eq!(
        table["columnDefinitions"][2],
        json!({"name": "Age", "type": "string", "format": "", "description": CREATION_TIMESTAMP_DOC, "priority": 0}),
    );
    let odd_metadata = to_table("Namespace", &[], json!("not an object"), NOW_MS, "");
    assert_eq!(odd_metadata["metadata"], json!({}));
}

#[test]
fn rows_embed_the_object_as_include_object_asks() {
    let pod = running_pod();
    let row = |include: &str| {
        to_table(
            "Pod",
            std::slice::from_ref(&pod),
            json!({}),
            NOW_MS,
            include,
        )["rows"][0]
            .clone()
    };
    assert_eq!(row("Object")["object"], pod);
    let partial = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": pod["metadata"]});
    for include in ["Metadata", "", "whatever"] {
        assert_eq!(row(include)["object"], partial, "{include:?}");
    }
    let bare = row("None");
    assert!(bare.get("object").is_none());
    assert!(bare.get("conditions").is_none());
    assert_eq!(
        bare["cells"].as_array().map(Vec::len),
        Some(POD_COLUMNS.len())
    );
    let no_metadata = to_table(
        "Pod",
        &[json!({"kind": "Pod"})],
        json!({}),
        NOW_MS,
        "Metadata",
    );
    assert_eq!(no_metadata["rows"][0]["object"]["metadata"], json!({}));
}

#[test]
fn wide_columns_have_priority_one() {
    let table = table("Pod", &[]);
    let wide: Vec<&str> = items(&table, &["columnDefinitions"])
        .iter()
        .filter(|column| column["priority"] == 1)
        .map(|column| text(column, &["name"]))
        .collect();
    assert_eq!(wide, ["IP", "Node", "Nominated Node", "Readiness Gates"]);
}
