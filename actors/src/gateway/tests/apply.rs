//! managedFields and server-side apply: owners, conflicts, force, pruning, refusals.

use super::*;

fn deployment_path(name: &str) -> ResourcePath {
    path("apps", "deployments", Some("default"), Some(name))
}

fn apply_as(manager: &str, config: &Value) -> ApiRequest {
    let name = config["metadata"]["name"].as_str().unwrap();
    let mut request = ApiRequest::new(Verb::Patch(patch::PatchType::Apply), deployment_path(name));
    request.field_manager = manager.into();
    request.body = serde_json::to_vec(config).unwrap();
    request
}

fn update_as(manager: &str, object: &Value) -> ApiRequest {
    let name = object["metadata"]["name"].as_str().unwrap();
    let mut request = ApiRequest::new(Verb::Update, deployment_path(name));
    request.field_manager = manager.into();
    request.body = serde_json::to_vec(object).unwrap();
    request
}

/// The applied configuration of a one-container nginx Deployment.
fn nginx_config(replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nginx", "labels": {"app": "nginx"}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "nginx"}},
            "template": {"metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}})
}

/// (manager, operation, subresource) of each managedFields entry, in order.
fn managers_of(object: &Value) -> Vec<(String, String, String)> {
    let entries = object["metadata"]["managedFields"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    entries
        .iter()
        .map(|e| {
            let text = |name: &str| e[name].as_str().unwrap_or("").to_string();
            (text("manager"), text("operation"), text("subresource"))
        })
        .collect()
}

fn entry<'a>(object: &'a Value, manager: &str, operation: &str) -> &'a Value {
    object["metadata"]["managedFields"]
        .as_array()
        .and_then(|entries| {
            entries
                .iter()
                .find(|e| e["manager"] == manager && e["operation"] == operation)
        })
        .unwrap_or_else(|| panic!("no {operation} entry of {manager}: {object}"))
}

fn owns(object: &Value, manager: &str, operation: &str, path: &[&str]) -> bool {
    let mut fields = &entry(object, manager, operation)["fieldsV1"];
    for element in path {
        fields = &fields[*element];
    }
    fields.is_object()
}

fn named(manager: &str, operation: &str, subresource: &str) -> (String, String, String) {
    (manager.into(), operation.into(), subresource.into())
}

#[test]
fn create_and_updates_record_their_managers() {
    let mut h = with_default_namespace();
    let mut request = create("deployments", Some("default"), deployment("d"));
    request.field_manager = "kubectl-create".into();
    let (_, created) = h.call(request).unwrap();
    let first = entry(&created, "kubectl-create", "Update");
    assert_eq!(first["apiVersion"], "apps/v1");
    assert_eq!(first["fieldsType"], "FieldsV1");
    assert_eq!(first["time"], created["metadata"]["creationTimestamp"]);
    assert!(first.get("subresource").is_none());
    // The creator owns what it sent and what defaulting filled in, not server metadata.
    assert!(owns(
        &created,
        "kubectl-create",
        "Update",
        &["f:spec", "f:replicas"]
    ));
    assert!(owns(
        &created,
        "kubectl-create",
        "Update",
        &["f:spec", "f:progressDeadlineSeconds"]
    ));
    let container = [
        "f:spec",
        "f:template",
        "f:spec",
        "f:containers",
        "k:{\"name\":\"web\"}",
    ];
    assert!(owns(
        &created,
        "kubectl-create",
        "Update",
        &[&container[..], &["."]].concat()
    ));
    assert!(!owns(
        &created,
        "kubectl-create",
        "Update",
        &["f:metadata", "f:uid"]
    ));
    // An update takes only the fields it changes, from their owner.
    let mut scaled = created.clone();
    scaled["spec"]["replicas"] = json!(3);
    let (_, updated) = h.call(update_as("kubectl-edit", &scaled)).unwrap();
    assert_eq!(
        managers_of(&updated),
        vec![
            named("kubectl-create", "Update", ""),
            named("kubectl-edit", "Update", "")
        ]
    );
    assert_eq!(
        entry(&updated, "kubectl-edit", "Update")["fieldsV1"],
        json!({"f:spec": {"f:replicas": {}}})
    );
    assert!(!owns(
        &updated,
        "kubectl-create",
        "Update",
        &["f:spec", "f:replicas"]
    ));
    // A write that changes nothing credits nobody and keeps the resourceVersion.
    let (_, again) = h.call(update_as("someone-else", &updated)).unwrap();
    assert_eq!(again, updated);
}

#[test]
fn subresource_and_anonymous_writes_record_their_managers() {
    let mut h = with_default_namespace();
    let mut request = create("deployments", Some("default"), deployment("d"));
    request.field_manager = "kubectl-create".into();
    let (_, updated) = h.call(request).unwrap();
    // A status write is recorded under its subresource, owning only status fields.
    let mut status = updated.clone();
    status["status"] = json!({"replicas": 3});
    let mut request = update_as("deployment-controller", &status);
    request.path.subresource = Some("status".into());
    let (_, after) = h.call(request).unwrap();
    assert_eq!(
        entry(&after, "deployment-controller", "Update")["fieldsV1"],
        json!({"f:status": {"f:replicas": {}}})
    );
    assert_eq!(
        entry(&after, "deployment-controller", "Update")["subresource"],
        "status"
    );
    // A write with no field manager is "unknown"'s.
    let mut relabel = after.clone();
    relabel["metadata"]["labels"] = json!({"team": "a"});
    let (_, relabeled) = h.call(update_as("", &relabel)).unwrap();
    assert!(owns(
        &relabeled,
        "unknown",
        "Update",
        &["f:metadata", "f:labels", "f:team"]
    ));
}

#[test]
fn clients_may_reset_managed_fields_but_not_break_them() {
    let mut h = with_default_namespace();
    let mut request = create("deployments", Some("default"), deployment("d"));
    request.field_manager = "kubectl-create".into();
    let (_, created) = h.call(request).unwrap();
    let mut garbage = created.clone();
    garbage["metadata"]["managedFields"] = json!([{"manager": "x", "operation": "Steal", "apiVersion": "apps/v1",
            "fieldsType": "FieldsV1", "fieldsV1": {"nonsense": 1}}]);
    garbage["spec"]["replicas"] = json!(2);
    let (_, kept) = h.call(update_as("kubectl-edit", &garbage)).unwrap();
    assert_eq!(
        managers_of(&kept),
        vec![
            named("kubectl-create", "Update", ""),
            named("kubectl-edit", "Update", "")
        ]
    );
    let mut reset = kept.clone();
    reset["metadata"]["managedFields"] = json!([{}]);
    let (_, cleared) = h.call(update_as("kubectl-edit", &reset)).unwrap();
    assert!(
        cleared["metadata"].get("managedFields").is_none(),
        "{cleared}"
    );
    // The first apply to an object without managedFields finds its fields owned by
    // "before-first-apply", as kube does.
    let mut config = deployment("d");
    config["spec"]["replicas"] = json!(5);
    let conflict = h.call(apply_as("ci", &config)).unwrap_err();
    assert_eq!(
        conflict.message,
        "Apply failed with 1 conflict: conflict with \"before-first-apply\" using apps/v1: .spec.replicas"
    );
}

#[test]
fn apply_creates_a_missing_object_and_owns_exactly_its_configuration() {
    let mut h = with_default_namespace();
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nginx\n  labels:\n    app: nginx\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: nginx\n  template:\n    metadata:\n      labels:\n        app: nginx\n    spec:\n      containers:\n      - name: nginx\n        image: nginx:1.27\n";
    let mut request = apply_as("kubectl", &nginx_config(2));
    request.body = yaml.as_bytes().to_vec();
    let (code, created) = h.call(request).unwrap();
    assert_eq!(code, 201);
    assert_eq!(created["spec"]["replicas"], 2);
    assert_eq!(created["spec"]["progressDeadlineSeconds"], 600, "defaulted");
    assert_eq!(created["metadata"]["uid"].as_str().map(str::len), Some(36));
    assert_eq!(managers_of(&created), vec![named("kubectl", "Apply", "")]);
    let fields = &entry(&created, "kubectl", "Apply")["fieldsV1"];
    assert_eq!(
        fields["f:spec"]["f:template"]["f:spec"]["f:containers"],
        json!({"k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {}}})
    );
    assert_eq!(fields["f:metadata"], json!({"f:labels": {"f:app": {}}}));
    assert!(
        fields["f:spec"].get("f:progressDeadlineSeconds").is_none(),
        "defaults are nobody's"
    );
    // Applying the same configuration again changes nothing, not even the resourceVersion.
    let (code, again) = h.call(apply_as("kubectl", &nginx_config(2))).unwrap();
    assert_eq!((code, &again), (200, &created));
}

#[test]
fn apply_conflicts_name_the_owner_and_force_takes_the_field() {
    let mut h = with_default_namespace();
    let mut request = create("deployments", Some("default"), nginx_config(2));
    request.field_manager = "kubectl-client-side-apply".into();
    h.call(request).unwrap();
    let error = h.call(apply_as("kubectl", &nginx_config(3))).unwrap_err();
    assert_eq!((error.code, error.reason.as_str()), (409, "Conflict"));
    assert_eq!(
        error.message,
        "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using apps/v1: .spec.replicas"
    );
    let causes: Vec<(&str, &str, &str)> = error
        .details
        .causes
        .iter()
        .map(|c| (c.reason.as_str(), c.message.as_str(), c.field.as_str()))
        .collect();
    assert_eq!(
        causes,
        vec![(
            "FieldManagerConflict",
            "conflict with \"kubectl-client-side-apply\" using apps/v1",
            ".spec.replicas"
        )]
    );
    // Applying the values the object has is no conflict: the fields become shared.
    let (_, shared) = h.call(apply_as("kubectl", &nginx_config(2))).unwrap();
    assert!(owns(&shared, "kubectl", "Apply", &["f:spec", "f:replicas"]));
    assert!(owns(
        &shared,
        "kubectl-client-side-apply",
        "Update",
        &["f:spec", "f:replicas"]
    ));
    // Two managers' fields in one conflict, listed by manager.
    let mut both = nginx_config(4);
    both["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.28");
    let error = h.call(apply_as("ci", &both)).unwrap_err();
    assert_eq!(
        error.message,
        "Apply failed with 4 conflicts: conflicts with \"kubectl\":\n\
         - .spec.replicas\n\
         - .spec.template.spec.containers[name=\"nginx\"].image\n\
         conflicts with \"kubectl-client-side-apply\" using apps/v1:\n\
         - .spec.replicas\n\
         - .spec.template.spec.containers[name=\"nginx\"].image"
    );
    assert_eq!(error.details.causes.len(), 4);
    assert_eq!(
        error.details.causes[1].field,
        ".spec.template.spec.containers[name=\"nginx\"].image"
    );
}

#[test]
fn a_forced_apply_takes_the_fields_it_changes() {
    let mut h = with_default_namespace();
    let mut request = create("deployments", Some("default"), nginx_config(2));
    request.field_manager = "kubectl-client-side-apply".into();
    h.call(request).unwrap();
    h.call(apply_as("kubectl", &nginx_config(2))).unwrap();
    let mut both = nginx_config(4);
    both["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:1.28");
    let mut forced = apply_as("ci", &both);
    forced.force = true;
    let (_, taken) = h.call(forced).unwrap();
    assert_eq!(taken["spec"]["replicas"], 4);
    assert!(owns(&taken, "ci", "Apply", &["f:spec", "f:replicas"]));
    assert!(!owns(&taken, "kubectl", "Apply", &["f:spec", "f:replicas"]));
    assert!(!owns(
        &taken,
        "kubectl-client-side-apply",
        "Update",
        &["f:spec", "f:replicas"]
    ));
    assert!(owns(
        &taken,
        "kubectl",
        "Apply",
        &["f:metadata", "f:labels", "f:app"]
    ));
}

#[test]
fn fields_dropped_from_a_configuration_are_removed_unless_someone_else_owns_them() {
    let mut h = with_default_namespace();
    let mut config = nginx_config(2);
    config["metadata"]["labels"] = json!({"app": "nginx", "tier": "web", "team": "a"});
    config["spec"]["template"]["spec"]["containers"] = json!([
        {"name": "nginx", "image": "nginx:1.27"},
        {"name": "sidecar", "image": "busybox:1", "args": ["sleep"]}
    ]);
    h.call(apply_as("kubectl", &config)).unwrap();
    // Another manager applies the same team label: shared, no conflict.
    let other = json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nginx", "labels": {"team": "a"}}});
    h.call(apply_as("labeller", &other)).unwrap();
    // kubectl drops the tier and team labels and the sidecar.
    let (_, pruned) = h.call(apply_as("kubectl", &nginx_config(2))).unwrap();
    assert_eq!(
        pruned["metadata"]["labels"],
        json!({"app": "nginx", "team": "a"})
    );
    let names: Vec<&str> = pruned["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["nginx"]);
    assert!(!owns(
        &pruned,
        "kubectl",
        "Apply",
        &["f:metadata", "f:labels", "f:team"]
    ));
    assert!(owns(
        &pruned,
        "labeller",
        "Apply",
        &["f:metadata", "f:labels", "f:team"]
    ));
    // A field the applier never applied is not removed by dropping it.
    assert_eq!(pruned["spec"]["progressDeadlineSeconds"], 600);
}

#[test]
fn apply_refuses_what_kube_refuses() {
    let mut h = with_default_namespace();
    let mut nameless = apply_as("kubectl", &nginx_config(1));
    nameless.field_manager.clear();
    let error = h.call(nameless).unwrap_err();
    assert_eq!((error.code, error.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        error.message,
        "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
    );
    assert_eq!(error.details.causes[0].field, "fieldManager");
    let mut forced_merge = apply_as("kubectl", &nginx_config(1));
    forced_merge.verb = Verb::Patch(patch::PatchType::Merge);
    forced_merge.force = true;
    assert_eq!(h.call(forced_merge).unwrap_err().code, 422);
    let mut too_long = apply_as(&"m".repeat(129), &nginx_config(1));
    too_long.verb = Verb::Update;
    assert_eq!(h.call(too_long).unwrap_err().code, 422);
    let mut wrong_kind = nginx_config(1);
    wrong_kind["kind"] = json!("StatefulSet");
    let error = h.call(apply_as("kubectl", &wrong_kind)).unwrap_err();
    assert_eq!(
        (error.code, error.message.as_str()),
        (400, "invalid object type: apps/v1, Kind=StatefulSet")
    );
    let mut with_managers = nginx_config(1);
    with_managers["metadata"]["managedFields"] = json!([]);
    let error = h.call(apply_as("kubectl", &with_managers)).unwrap_err();
    assert_eq!(
        (error.code, error.message.as_str()),
        (400, "metadata.managedFields must be nil")
    );
    let mut unknown = nginx_config(1);
    unknown["spec"]["replicaz"] = json!(1);
    let error = h.call(apply_as("kubectl", &unknown)).unwrap_err();
    assert_eq!(error.code, 400);
    assert!(
        error
            .message
            .ends_with(".spec.replicaz: field not declared in schema"),
        "{}",
        error.message
    );
    let mut keyless = nginx_config(1);
    keyless["spec"]["template"]["spec"]["containers"][0] = json!({"image": "nginx"});
    assert_eq!(h.call(apply_as("kubectl", &keyless)).unwrap_err().code, 400);
    let mut yaml = apply_as("kubectl", &nginx_config(1));
    yaml.body = b"kind: [unclosed\n".to_vec();
    assert_eq!(h.call(yaml).unwrap_err().code, 400);
    assert_eq!(
        h.call(get("deployments", Some("default"), "nginx"))
            .unwrap_err()
            .code,
        404,
        "nothing was created"
    );
}

#[test]
fn dry_run_writes_nothing() {
    let mut h = with_default_namespace();
    let mut dry = apply_as("kubectl", &nginx_config(2));
    dry.dry_run = true;
    let (code, would) = h.call(dry.clone()).unwrap();
    assert_eq!((code, &would["spec"]["replicas"]), (201, &json!(2)));
    assert_eq!(
        h.call(get("deployments", Some("default"), "nginx"))
            .unwrap_err()
            .code,
        404
    );
    let (_, created) = h.call(apply_as("kubectl", &nginx_config(2))).unwrap();
    dry.body = serde_json::to_vec(&nginx_config(7)).unwrap();
    let (_, would) = h.call(dry).unwrap();
    assert_eq!(would["spec"]["replicas"], 7);
    let mut read = get("deployments", Some("default"), "nginx");
    read.path.group = "apps".into();
    let (_, now) = h.call(read).unwrap();
    assert_eq!(now, created);
}

#[test]
fn an_apply_that_creates_needs_create_permission() {
    let mut h = with_default_namespace();
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": {"name": "patcher"},
        "rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]}]});
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "alice-patches"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "patcher"},
        "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}]});
    for (plural, object) in [("roles", role), ("rolebindings", binding)] {
        let mut request = create(plural, Some("default"), object);
        request.path.group = "rbac.authorization.k8s.io".into();
        h.call(request).unwrap();
    }
    h.tick(1);
    let alice = User::new("alice", &["system:authenticated"]);
    let denied = h
        .call_as(apply_as("alice", &nginx_config(2)), alice.clone())
        .unwrap_err();
    assert_eq!(denied.code, 403);
    assert!(
        denied
            .message
            .contains("cannot create resource \"deployments\""),
        "{}",
        denied.message
    );
    h.call(create("deployments", Some("default"), nginx_config(2)))
        .unwrap();
    let (code, applied) = h
        .call_as(apply_as("alice", &nginx_config(2)), alice)
        .unwrap();
    assert_eq!(code, 200);
    assert!(owns(&applied, "alice", "Apply", &["f:spec", "f:replicas"]));
}

#[test]
fn past_ten_update_managers_the_oldest_merge_into_ancient_changes() {
    let mut h = with_default_namespace();
    let mut request = create("deployments", Some("default"), deployment("d"));
    request.field_manager = "creator".into();
    let (_, mut object) = h.call(request).unwrap();
    for writer in 0..ownership::UPDATE_MANAGERS_MAX {
        object["metadata"]["labels"][format!("l{writer}")] = json!("x");
        let (_, updated) = h
            .call(update_as(&format!("writer-{writer}"), &object))
            .unwrap();
        object = updated;
    }
    let managers = managers_of(&object);
    assert_eq!(managers.len(), ownership::UPDATE_MANAGERS_MAX);
    assert_eq!(managers[0], named("ancient-changes", "Update", ""));
    // The bucket holds what the two oldest owned.
    assert!(owns(
        &object,
        "ancient-changes",
        "Update",
        &["f:spec", "f:replicas"]
    ));
    assert!(owns(
        &object,
        "ancient-changes",
        "Update",
        &["f:metadata", "f:labels", "f:l0"]
    ));
    assert!(!managers.contains(&named("creator", "Update", "")));
    assert!(managers.contains(&named("writer-9", "Update", "")));
}

#[test]
fn scale_and_status_writes_are_owned_under_their_subresource() {
    let mut h = with_default_namespace();
    h.call(apply_as("kubectl", &nginx_config(2))).unwrap();
    let mut scale = ApiRequest::new(Verb::Update, deployment_path("nginx"));
    scale.path.subresource = Some("scale".into());
    scale.field_manager = "hpa".into();
    scale.body = serde_json::to_vec(&json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": "nginx", "namespace": "default"}, "spec": {"replicas": 5}}))
    .unwrap();
    h.call(scale).unwrap();
    let mut status = apply_as(
        "controller",
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "nginx"}, "status": {"replicas": 5}}),
    );
    status.path.subresource = Some("status".into());
    let (_, after) = h.call(status).unwrap();
    assert_eq!(after["spec"]["replicas"], 5);
    assert_eq!(after["status"]["replicas"], 5);
    assert_eq!(
        managers_of(&after),
        vec![
            named("kubectl", "Apply", ""),
            named("controller", "Apply", "status"),
            named("hpa", "Update", "scale"),
        ]
    );
    assert_eq!(
        entry(&after, "hpa", "Update")["fieldsV1"],
        json!({"f:spec": {"f:replicas": {}}})
    );
    assert_eq!(
        entry(&after, "controller", "Apply")["fieldsV1"],
        json!({"f:status": {"f:replicas": {}}})
    );
    // kubectl's next apply of its old replicas conflicts with the scaler.
    let error = h.call(apply_as("kubectl", &nginx_config(2))).unwrap_err();
    assert_eq!(
        error.message,
        "Apply failed with 1 conflict: conflict with \"hpa\" with subresource \"scale\" using apps/v1: .spec.replicas"
    );
}
