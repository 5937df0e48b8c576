//! apps/v1 and batch/v1 rules: selectors, templates, strategies, jobs, cron jobs, updates.

use super::*;

// ---- Workloads ----------------------------------------------------------------------

#[test]
fn documented_workloads_are_valid() {
    assert_valid("apps/v1", "Deployment", &nginx_deployment());
    assert_valid(
        "apps/v1",
        "ReplicaSet",
        &as_kind(nginx_deployment(), "ReplicaSet"),
    );
    assert_valid("apps/v1", "StatefulSet", &stateful_set());
    assert_valid("apps/v1", "DaemonSet", &daemon_set());
    assert_valid("batch/v1", "Job", &job());
    assert_valid("batch/v1", "CronJob", &cron_job());
}

#[test]
fn workload_selector_rules() {
    let deployment = nginx_deployment();
    for kind in ["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"] {
        let deployment = as_kind(deployment.clone(), kind);
        let object = with(
            deployment.clone(),
            "spec.template.metadata.labels",
            json!({"app": "web"}),
        );
        assert_cause(
            "apps/v1",
            kind,
            &object,
            "spec.template.metadata.labels",
            "FieldValueInvalid",
        );
        assert_cause(
            "apps/v1",
            kind,
            &without(deployment.clone(), "spec.selector"),
            "spec.selector",
            "FieldValueRequired",
        );
        assert_cause(
            "apps/v1",
            kind,
            &with(deployment.clone(), "spec.selector", json!({})),
            "spec.selector",
            "FieldValueInvalid",
        );
    }
    let expression = |value: Value| {
        with(
            deployment.clone(),
            "spec.selector",
            json!({"matchExpressions": [value]}),
        )
    };
    let missing_values = expression(json!({"key": "app", "operator": "In"}));
    assert_cause(
        "apps/v1",
        "Deployment",
        &missing_values,
        "spec.selector.matchExpressions[0].values",
        "FieldValueRequired",
    );
    let extra_values = expression(json!({"key": "app", "operator": "Exists", "values": ["x"]}));
    assert_cause(
        "apps/v1",
        "Deployment",
        &extra_values,
        "spec.selector.matchExpressions[0].values",
        "FieldValueForbidden",
    );
    let bad_operator = expression(json!({"key": "app", "operator": "Near"}));
    assert_cause(
        "apps/v1",
        "Deployment",
        &bad_operator,
        "spec.selector.matchExpressions[0].operator",
        "FieldValueInvalid",
    );
    let matching = expression(json!({"key": "app", "operator": "In", "values": ["nginx", "web"]}));
    assert!(validate_create("apps/v1", "Deployment", &matching).is_empty());
}

#[test]
fn workload_template_rules() {
    let deployment = nginx_deployment();
    let never = with(
        deployment.clone(),
        "spec.template.spec.restartPolicy",
        json!("Never"),
    );
    assert_cause(
        "apps/v1",
        "Deployment",
        &never,
        "spec.template.spec.restartPolicy",
        "FieldValueNotSupported",
    );
    let deadline = with(
        deployment.clone(),
        "spec.template.spec.activeDeadlineSeconds",
        json!(5),
    );
    assert_cause(
        "apps/v1",
        "ReplicaSet",
        &as_kind(deadline, "ReplicaSet"),
        "spec.template.spec.activeDeadlineSeconds",
        "FieldValueForbidden",
    );
    let bad_container = with(
        deployment.clone(),
        "spec.template.spec.containers.0.name",
        json!("Nginx"),
    );
    assert_cause(
        "apps/v1",
        "Deployment",
        &bad_container,
        "spec.template.spec.containers[0].name",
        "FieldValueInvalid",
    );
    assert_cause(
        "apps/v1",
        "Deployment",
        &with(deployment, "spec.replicas", json!(-1)),
        "spec.replicas",
        "FieldValueInvalid",
    );
    let always = with(job(), "spec.template.spec.restartPolicy", json!("Always"));
    assert_cause(
        "batch/v1",
        "Job",
        &always,
        "spec.template.spec.restartPolicy",
        "FieldValueNotSupported",
    );
    // An absent policy defaults to Always, which a Job may not use.
    let absent = without(job(), "spec.template.spec.restartPolicy");
    assert_cause(
        "batch/v1",
        "Job",
        &absent,
        "spec.template.spec.restartPolicy",
        "FieldValueNotSupported",
    );
}

#[test]
fn deployment_strategy_rules() {
    let deployment = nginx_deployment();
    let rolling = |update: Value| json!({"type": "RollingUpdate", "rollingUpdate": update});
    let fine = rolling(json!({"maxSurge": 1, "maxUnavailable": "50%"}));
    let fine = with(deployment.clone(), "spec.strategy", fine);
    assert!(validate_create("apps/v1", "Deployment", &fine).is_empty());
    let unavailable = "spec.strategy.rollingUpdate.maxUnavailable";
    let surge = "spec.strategy.rollingUpdate.maxSurge";
    let edits = [
        (
            "spec.strategy",
            json!({"type": "BlueGreen"}),
            "spec.strategy.type",
            NOT_SUPPORTED,
        ),
        (
            "spec.strategy",
            rolling(json!({"maxSurge": 0, "maxUnavailable": "0%"})),
            unavailable,
            INVALID,
        ),
        (
            "spec.strategy",
            rolling(json!({"maxUnavailable": "150%"})),
            unavailable,
            INVALID,
        ),
        (
            "spec.strategy",
            rolling(json!({"maxSurge": "half"})),
            surge,
            INVALID,
        ),
        (
            "spec.strategy",
            rolling(json!({"maxSurge": -1})),
            surge,
            INVALID,
        ),
        (
            "spec.strategy",
            json!({"type": "Recreate", "rollingUpdate": {"maxSurge": 1}}),
            "spec.strategy.rollingUpdate",
            FORBIDDEN,
        ),
        (
            "spec.revisionHistoryLimit",
            json!(-2),
            "spec.revisionHistoryLimit",
            INVALID,
        ),
        (
            "spec.progressDeadlineSeconds",
            json!(0),
            "spec.progressDeadlineSeconds",
            INVALID,
        ),
    ];
    assert_edits("apps/v1", "Deployment", &deployment, &edits);
}

#[test]
fn stateful_set_and_daemon_set_rules() {
    let set = stateful_set();
    assert_cause(
        "apps/v1",
        "StatefulSet",
        &with(set.clone(), "spec.podManagementPolicy", json!("Random")),
        "spec.podManagementPolicy",
        "FieldValueNotSupported",
    );
    assert_cause(
        "apps/v1",
        "StatefulSet",
        &with(set.clone(), "spec.serviceName", json!("Bad.Name")),
        "spec.serviceName",
        "FieldValueInvalid",
    );
    let strategy = json!({"type": "OnDelete", "rollingUpdate": {"partition": 1}});
    assert_cause(
        "apps/v1",
        "StatefulSet",
        &with(set.clone(), "spec.updateStrategy", strategy),
        "spec.updateStrategy.rollingUpdate",
        "FieldValueForbidden",
    );
    let partition = json!({"type": "RollingUpdate", "rollingUpdate": {"partition": -1}});
    assert_cause(
        "apps/v1",
        "StatefulSet",
        &with(set, "spec.updateStrategy", partition),
        "spec.updateStrategy.rollingUpdate.partition",
        "FieldValueInvalid",
    );
    let daemons = daemon_set();
    assert_cause(
        "apps/v1",
        "DaemonSet",
        &with(
            daemons.clone(),
            "spec.updateStrategy",
            json!({"type": "Parallel"}),
        ),
        "spec.updateStrategy.type",
        "FieldValueNotSupported",
    );
    let zero =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}});
    assert_cause(
        "apps/v1",
        "DaemonSet",
        &with(daemons, "spec.updateStrategy", zero),
        "spec.updateStrategy.rollingUpdate.maxUnavailable",
        "FieldValueInvalid",
    );
}

#[test]
fn job_rules() {
    let job = job();
    for field in [
        "parallelism",
        "completions",
        "backoffLimit",
        "activeDeadlineSeconds",
        "ttlSecondsAfterFinished",
    ] {
        let object = with(job.clone(), &format!("spec.{field}"), json!(-1));
        assert_cause(
            "batch/v1",
            "Job",
            &object,
            &format!("spec.{field}"),
            "FieldValueInvalid",
        );
    }
    assert_cause(
        "batch/v1",
        "Job",
        &with(job.clone(), "spec.completionMode", json!("Sometimes")),
        "spec.completionMode",
        "FieldValueNotSupported",
    );
    assert_cause(
        "batch/v1",
        "Job",
        &with(job.clone(), "spec.completionMode", json!("Indexed")),
        "spec.completions",
        "FieldValueRequired",
    );
    assert_cause(
        "batch/v1",
        "Job",
        &with(job.clone(), "spec.manualSelector", json!(true)),
        "spec.selector",
        "FieldValueRequired",
    );
    let selector = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}});
    assert_cause(
        "batch/v1",
        "Job",
        &with(job, "spec.selector", selector),
        "spec.template.metadata.labels",
        "FieldValueInvalid",
    );
}

#[test]
fn cron_job_rules() {
    let cron = cron_job();
    let valid = [
        "*/5 * * * *",
        "0 0 1,15 * mon-fri",
        "@hourly",
        "@every 1h30m",
        "0 9 * JAN-MAR SUN",
        "30 2 ? * *",
    ];
    for schedule in valid {
        let object = with(cron.clone(), "spec.schedule", json!(schedule));
        assert!(
            validate_create("batch/v1", "CronJob", &object).is_empty(),
            "{schedule}"
        );
    }
    let invalid = [
        "* * * *",
        "60 * * * *",
        "* 24 * * *",
        "* * 0 * *",
        "* * * 13 *",
        "* * * * 7",
        "@fortnightly",
        "*/0 * * * *",
        "a * * * *",
        "5-1 * * * *",
        "TZ=UTC * * * * *",
    ];
    let edits: Vec<Edit> = invalid
        .iter()
        .map(|schedule| ("spec.schedule", json!(schedule), "spec.schedule", INVALID))
        .collect();
    assert_edits("batch/v1", "CronJob", &cron, &edits);
    let restart = "spec.jobTemplate.spec.template.spec.restartPolicy";
    let edits = [
        ("spec.schedule", json!(""), "spec.schedule", REQUIRED),
        (
            "spec.concurrencyPolicy",
            json!("Queue"),
            "spec.concurrencyPolicy",
            NOT_SUPPORTED,
        ),
        (
            "spec.successfulJobsHistoryLimit",
            json!(-1),
            "spec.successfulJobsHistoryLimit",
            INVALID,
        ),
        (restart, json!("Always"), restart, NOT_SUPPORTED),
    ];
    assert_edits("batch/v1", "CronJob", &cron, &edits);
}

#[test]
fn controller_revision_rules() {
    let revision = json!({"metadata": {"name": "web-6d4cf56db6", "namespace": "default"}, "data": {"spec": {}}, "revision": 1});
    assert_valid("apps/v1", "ControllerRevision", &revision);
    assert_cause(
        "apps/v1",
        "ControllerRevision",
        &without(revision.clone(), "data"),
        "data",
        "FieldValueRequired",
    );
    assert_cause(
        "apps/v1",
        "ControllerRevision",
        &with(revision.clone(), "revision", json!(-1)),
        "revision",
        "FieldValueInvalid",
    );
    let changed = with(revision.clone(), "data", json!({"spec": {"x": 1}}));
    assert!(has(
        &validate_update("apps/v1", "ControllerRevision", &changed, &revision),
        "data",
        "FieldValueInvalid"
    ));
}

#[test]
fn workload_update_rules() {
    let old = nginx_deployment();
    let scaled = with(old.clone(), "spec.replicas", json!(5));
    assert!(validate_update("apps/v1", "Deployment", &scaled, &old).is_empty());
    let labels = json!({"app": "nginx", "tier": "web"});
    let reselected = with(
        with(old.clone(), "spec.selector.matchLabels", labels.clone()),
        "spec.template.metadata.labels",
        labels,
    );
    for kind in ["Deployment", "ReplicaSet", "DaemonSet"] {
        let (new, old) = (
            as_kind(reselected.clone(), kind),
            as_kind(old.clone(), kind),
        );
        assert!(has(
            &validate_update("apps/v1", kind, &new, &old),
            "spec.selector",
            "FieldValueInvalid"
        ));
    }
    let set = stateful_set();
    let scaled = with(set.clone(), "spec.replicas", json!(5));
    assert!(validate_update("apps/v1", "StatefulSet", &scaled, &set).is_empty());
    let renamed = with(set.clone(), "spec.serviceName", json!("other"));
    assert!(has(
        &validate_update("apps/v1", "StatefulSet", &renamed, &set),
        "spec",
        "FieldValueForbidden"
    ));
    let job = job();
    let new_image = with(
        job.clone(),
        "spec.template.spec.containers.0.image",
        json!("perl:5.36"),
    );
    assert!(has(
        &validate_update("batch/v1", "Job", &new_image, &job),
        "spec.template",
        "FieldValueInvalid"
    ));
    let selector = json!({"matchLabels": {"x": "y"}});
    let selected = with(job.clone(), "spec.selector", selector);
    assert!(has(
        &validate_update("batch/v1", "Job", &selected, &job),
        "spec.selector",
        "FieldValueInvalid"
    ));
}
