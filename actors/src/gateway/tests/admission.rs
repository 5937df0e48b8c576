//! Admission: validation, namespace lifecycle, quota, limit ranges, defaults, unknown fields.

use super::*;

#[test]
fn invalid_objects_get_422_with_causes_and_bad_shapes_400() {
    let mut h = with_default_namespace();
    let mut bad = pod("Bad_Name");
    bad["spec"]["containers"][0]["name"] = json!("");
    let error = h.call(create("pods", Some("default"), bad)).unwrap_err();
    assert_eq!((error.code, error.reason.as_str()), (422, "Invalid"));
    let fields: Vec<&str> = error
        .details
        .causes
        .iter()
        .map(|c| c.field.as_str())
        .collect();
    assert!(fields.contains(&"metadata.name"), "{fields:?}");
    assert!(
        error.message.starts_with("Pod \"Bad_Name\" is invalid"),
        "{}",
        error.message
    );
    let mut wrong = pod("w");
    wrong["spec"]["containers"] = json!("not a list");
    assert_eq!(
        h.call(create("pods", Some("default"), wrong))
            .unwrap_err()
            .code,
        400
    );
    let mut request = create("pods", Some("default"), pod("x"));
    request.body = b"{not json".to_vec();
    assert_eq!(h.call(request).unwrap_err().code, 400);
}

#[test]
fn namespace_lifecycle_refuses_missing_and_terminating_namespaces() {
    let mut h = with_default_namespace();
    let missing = h
        .call(create("pods", Some("nowhere"), pod("a")))
        .unwrap_err();
    assert_eq!((missing.code, missing.details_kind()), (404, "namespaces"));
    h.call(create("namespaces", None, namespace("doomed")))
        .unwrap();
    h.call(create("pods", Some("doomed"), pod("a"))).unwrap();
    let (_, ns) = h
        .call(ApiRequest::new(
            Verb::Delete,
            path("", "namespaces", None, Some("doomed")),
        ))
        .unwrap();
    assert_eq!(ns["status"]["phase"], "Terminating");
    let refused = h
        .call(create("pods", Some("doomed"), pod("b")))
        .unwrap_err();
    assert_eq!(refused.code, 403, "{}", refused.message);
    // The collector empties the namespace, then the namespace goes.
    h.tick(40);
    let gone = h.call(get("namespaces", None, "doomed")).unwrap_err();
    assert_eq!(gone.code, 404);
}

#[test]
fn quota_is_charged_with_the_create_and_released_by_the_delete() {
    let mut h = with_default_namespace();
    let quota = json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
        "spec": {"hard": {"pods": "2", "requests.cpu": "1"}}});
    h.call(create("resourcequotas", Some("default"), quota))
        .unwrap();
    h.call(create("pods", Some("default"), pod("a"))).unwrap();
    h.call(create("pods", Some("default"), pod("b"))).unwrap();
    let exceeded = h
        .call(create("pods", Some("default"), pod("c")))
        .unwrap_err();
    assert_eq!(exceeded.code, 403);
    assert!(
        exceeded.message.contains("exceeded quota: q"),
        "{}",
        exceeded.message
    );
    let (_, q) = h.call(get("resourcequotas", Some("default"), "q")).unwrap();
    assert_eq!(q["status"]["used"]["pods"], "2");
    h.call(ApiRequest::new(
        Verb::Delete,
        path("", "pods", Some("default"), Some("a")),
    ))
    .unwrap();
    h.call(create("pods", Some("default"), pod("c"))).unwrap();
}

impl ApiError {
    fn details_kind(&self) -> &str {
        &self.details.kind
    }
}

#[test]
fn limit_ranger_defaults_and_bounds_containers() {
    let mut h = with_default_namespace();
    let range = json!({"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr"},
        "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"},
                             "defaultRequest": {"cpu": "250m"}, "max": {"cpu": "1"}}]}});
    h.call(create("limitranges", Some("default"), range))
        .unwrap();
    h.tick(1);
    let mut bare = pod("bare");
    bare["spec"]["containers"][0]["resources"] = json!({});
    let (_, created) = h.call(create("pods", Some("default"), bare)).unwrap();
    assert_eq!(
        created["spec"]["containers"][0]["resources"]["limits"]["cpu"],
        "500m"
    );
    assert_eq!(
        created["spec"]["containers"][0]["resources"]["requests"]["cpu"],
        "250m"
    );
    let mut greedy = pod("greedy");
    greedy["spec"]["containers"][0]["resources"] =
        json!({"limits": {"cpu": "2"}, "requests": {"cpu": "2"}});
    let refused = h.call(create("pods", Some("default"), greedy)).unwrap_err();
    assert_eq!(refused.code, 403, "{}", refused.message);
}

#[test]
fn always_pull_images_and_the_default_storage_class() {
    let mut h = Harness::new(|c| c.always_pull_images = true);
    h.call(create("namespaces", None, namespace("default")))
        .unwrap();
    let (_, created) = h.call(create("pods", Some("default"), pod("p"))).unwrap();
    assert_eq!(
        created["spec"]["containers"][0]["imagePullPolicy"],
        "Always"
    );
    let class = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": "local", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
        "provisioner": "kactor.io/local"});
    let mut request = create("storageclasses", None, class);
    request.path.group = "storage.k8s.io".into();
    h.call(request).unwrap();
    h.tick(1);
    let claim = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}});
    let (_, created) = h
        .call(create("persistentvolumeclaims", Some("default"), claim))
        .unwrap();
    assert_eq!(created["spec"]["storageClassName"], "local");
}

#[test]
fn strict_field_validation_refuses_unknown_fields_and_the_others_drop_them() {
    let mut h = with_default_namespace();
    let mut typo = pod("typo");
    typo["spec"]["bogusField"] = json!(1);
    typo["spec"]["containers"][0]["notAField"] = json!("x");
    let mut strict = create("pods", Some("default"), typo.clone());
    strict.field_validation = FieldValidation::Strict;
    let error = h.call(strict).unwrap_err();
    assert_eq!((error.code, error.reason.as_str()), (400, "BadRequest"));
    assert_eq!(
        error.message,
        "Pod in version \"v1\" cannot be handled as a Pod: strict decoding error: \
         unknown field \"spec.bogusField\", unknown field \"spec.containers[0].notAField\""
    );
    let warnings_of = |h: &mut Harness, request| match h.answer_as(request, admin()).1 {
        ApiOutcome::Ok { body, warnings, .. } => {
            let object: Value = serde_json::from_slice(&body).expect("JSON");
            assert!(object["spec"].get("bogusField").is_none(), "{object}");
            warnings.iter().map(str::to_string).collect::<Vec<_>>()
        }
        other => panic!("{other:?}"),
    };
    let mut ignore = create("pods", Some("default"), typo.clone());
    ignore.field_validation = FieldValidation::Ignore;
    assert_eq!(warnings_of(&mut h, ignore), Vec::<String>::new());
    // Warn, kube's default, drops them too and says which.
    typo["metadata"]["name"] = json!("typo-warned");
    let warn = create("pods", Some("default"), typo);
    assert_eq!(
        warnings_of(&mut h, warn),
        [
            r#"unknown field "spec.bogusField""#,
            r#"unknown field "spec.containers[0].notAField""#
        ]
    );
    let mut patch = ApiRequest::new(
        Verb::Patch(patch::PatchType::Merge),
        path("", "pods", Some("default"), Some("typo")),
    );
    patch.body = br#"{"spec":{"bogusField":2}}"#.to_vec();
    assert_eq!(
        warnings_of(&mut h, patch),
        [r#"unknown field "spec.bogusField""#]
    );
    // A patch that adds an unknown field is refused too.
    let mut patch = ApiRequest::new(
        Verb::Patch(patch::PatchType::Merge),
        path("", "pods", Some("default"), Some("typo")),
    );
    patch.body = br#"{"metadata":{"bogus":1}}"#.to_vec();
    patch.field_validation = FieldValidation::Strict;
    let error = h.call(patch).unwrap_err();
    assert!(
        error.message.contains(r#"unknown field "metadata.bogus""#),
        "{}",
        error.message
    );
}

#[test]
fn warnings_are_distinct_and_bounded_as_kube_bounds_them() {
    let mut warnings = Warnings::default();
    warnings.add("unknown field \"a\"".into());
    warnings.add("unknown field \"a\"".into());
    warnings.add(String::new());
    assert_eq!(warnings.iter().collect::<Vec<_>>(), ["unknown field \"a\""]);
    for i in 0..100 {
        warnings.add(format!("{i:0>300}"));
    }
    let lengths: Vec<usize> = warnings.iter().map(|w| w.chars().count()).collect();
    assert!(
        lengths.iter().sum::<usize>() <= WARNINGS_CHARS_MAX,
        "{lengths:?}"
    );
    // Past the bound every warning is cut, and those that still do not fit are dropped.
    assert!(
        lengths[1..].iter().all(|&n| n == WARNING_CHARS_MAX),
        "{lengths:?}"
    );
    assert_eq!(
        lengths.len(),
        1 + (WARNINGS_CHARS_MAX - lengths[0]) / WARNING_CHARS_MAX
    );
}
