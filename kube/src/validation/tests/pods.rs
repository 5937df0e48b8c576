//! Pod rules: containers, ports, env, resources, policies, volumes, probes, tolerations,
//! updates.

use super::*;

// ---- Pods ---------------------------------------------------------------------------

#[test]
fn documented_pod_is_valid() {
    assert_valid("v1", "Pod", &nginx_pod());
}

#[test]
fn pod_container_rules() {
    let pod = nginx_pod();
    assert_cause(
        "v1",
        "Pod",
        &with(pod.clone(), "spec.containers", json!([])),
        "spec.containers",
        "FieldValueRequired",
    );
    assert_cause(
        "v1",
        "Pod",
        &with(pod.clone(), "spec.containers.0.name", json!("Nginx")),
        "spec.containers[0].name",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        "Pod",
        &without(pod.clone(), "spec.containers.0.name"),
        "spec.containers[0].name",
        "FieldValueRequired",
    );
    assert_cause(
        "v1",
        "Pod",
        &without(pod.clone(), "spec.containers.0.image"),
        "spec.containers[0].image",
        "FieldValueRequired",
    );
    let init = json!([{"name": "nginx", "image": "busybox"}]);
    assert_cause(
        "v1",
        "Pod",
        &with(pod.clone(), "spec.initContainers", init),
        "spec.containers[0].name",
        "FieldValueDuplicate",
    );
    assert_cause(
        "v1",
        "Pod",
        &with(
            pod.clone(),
            "spec.containers.0.imagePullPolicy",
            json!("Sometimes"),
        ),
        "spec.containers[0].imagePullPolicy",
        "FieldValueNotSupported",
    );
    assert_cause(
        "v1",
        "Pod",
        &with(
            pod,
            "spec.containers.0.terminationMessagePolicy",
            json!("Log"),
        ),
        "spec.containers[0].terminationMessagePolicy",
        "FieldValueNotSupported",
    );
}

#[test]
fn pod_port_rules() {
    let pod = nginx_pod();
    let at = "spec.containers.0.ports.0";
    assert_cause(
        "v1",
        "Pod",
        &with(pod.clone(), &format!("{at}.containerPort"), json!(0)),
        "spec.containers[0].ports[0].containerPort",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        "Pod",
        &with(pod.clone(), &format!("{at}.containerPort"), json!(70000)),
        "spec.containers[0].ports[0].containerPort",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        "Pod",
        &with(pod.clone(), &format!("{at}.hostPort"), json!(-1)),
        "spec.containers[0].ports[0].hostPort",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        "Pod",
        &with(pod.clone(), &format!("{at}.protocol"), json!("HTTP")),
        "spec.containers[0].ports[0].protocol",
        "FieldValueNotSupported",
    );
    for bad in ["this-name-is-too-long", "UPPER", "1234", "a--b", "-ab"] {
        let named = with(pod.clone(), &format!("{at}.name"), json!(bad));
        assert_cause(
            "v1",
            "Pod",
            &named,
            "spec.containers[0].ports[0].name",
            "FieldValueInvalid",
        );
    }
    let ports =
        json!([{"name": "http", "containerPort": 80}, {"name": "http", "containerPort": 81}]);
    assert_cause(
        "v1",
        "Pod",
        &with(pod.clone(), "spec.containers.0.ports", ports),
        "spec.containers[0].ports[1].name",
        "FieldValueDuplicate",
    );
    let ports =
        json!([{"name": "http", "containerPort": 80, "hostPort": 8080, "protocol": "SCTP"}]);
    assert!(validate_create("v1", "Pod", &with(pod, "spec.containers.0.ports", ports)).is_empty());
}

#[test]
fn pod_env_rules() {
    let pod = nginx_pod();
    let env = |variables: Value| with(pod.clone(), "spec.containers.0.env", variables);
    let relaxed = env(json!([{"name": "1st.var-with:colon", "value": "x"}]));
    assert!(validate_create("v1", "Pod", &relaxed).is_empty());
    assert_cause(
        "v1",
        "Pod",
        &env(json!([{"name": "A=B"}])),
        "spec.containers[0].env[0].name",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        "Pod",
        &env(json!([{"name": ""}])),
        "spec.containers[0].env[0].name",
        "FieldValueRequired",
    );
    let both = json!([{"name": "A", "value": "x", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]);
    assert_cause(
        "v1",
        "Pod",
        &env(both),
        "spec.containers[0].env[0].valueFrom",
        "FieldValueInvalid",
    );
    let none = json!([{"name": "A", "valueFrom": {}}]);
    assert_cause(
        "v1",
        "Pod",
        &env(none),
        "spec.containers[0].env[0].valueFrom",
        "FieldValueInvalid",
    );
}

#[test]
fn pod_resource_rules() {
    let pod = nginx_pod();
    let resources = |value: Value| with(pod.clone(), "spec.containers.0.resources", value);
    let fine = resources(
        json!({"requests": {"cpu": "250m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "128Mi"}}),
    );
    assert!(validate_create("v1", "Pod", &fine).is_empty());
    let over = resources(json!({"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}));
    assert_cause(
        "v1",
        "Pod",
        &over,
        "spec.containers[0].resources.requests",
        "FieldValueInvalid",
    );
    let negative = resources(json!({"limits": {"memory": "-1Mi"}}));
    assert_cause(
        "v1",
        "Pod",
        &negative,
        "spec.containers[0].resources.limits[memory]",
        "FieldValueInvalid",
    );
    let garbage = resources(json!({"requests": {"cpu": "lots"}}));
    assert_cause(
        "v1",
        "Pod",
        &garbage,
        "spec.containers[0].resources.requests[cpu]",
        "FieldValueInvalid",
    );
    let unknown = resources(json!({"requests": {"gpu": "1"}}));
    assert_cause(
        "v1",
        "Pod",
        &unknown,
        "spec.containers[0].resources.requests[gpu]",
        "FieldValueInvalid",
    );
    let extended = resources(json!({"requests": {"example.com/gpu": "1"}}));
    assert_cause(
        "v1",
        "Pod",
        &extended,
        "spec.containers[0].resources.limits",
        "FieldValueRequired",
    );
}

#[test]
fn pod_policy_rules() {
    let pod = nginx_pod();
    assert_cause(
        "v1",
        "Pod",
        &with(pod.clone(), "spec.restartPolicy", json!("Sometimes")),
        "spec.restartPolicy",
        "FieldValueNotSupported",
    );
    assert_cause(
        "v1",
        "Pod",
        &with(pod.clone(), "spec.dnsPolicy", json!("Google")),
        "spec.dnsPolicy",
        "FieldValueNotSupported",
    );
    assert_cause(
        "v1",
        "Pod",
        &with(pod.clone(), "spec.dnsPolicy", json!("None")),
        "spec.dnsConfig",
        "FieldValueRequired",
    );
    assert_cause(
        "v1",
        "Pod",
        &with(pod.clone(), "spec.terminationGracePeriodSeconds", json!(-5)),
        "spec.terminationGracePeriodSeconds",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        "Pod",
        &with(pod.clone(), "spec.activeDeadlineSeconds", json!(0)),
        "spec.activeDeadlineSeconds",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        "Pod",
        &with(pod.clone(), "spec.nodeSelector", json!({"disk": "-ssd"})),
        "spec.nodeSelector",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        "Pod",
        &with(pod, "spec.serviceAccountName", json!("Bad")),
        "spec.serviceAccountName",
        "FieldValueInvalid",
    );
}

#[test]
fn pod_volume_rules() {
    let cache = json!({"name": "cache", "emptyDir": {}});
    let mount = |path: &str| json!({"name": "cache", "mountPath": path});
    let edits = [
        (
            "spec.volumes",
            json!([cache, cache]),
            "spec.volumes[1].name",
            DUPLICATE,
        ),
        (
            "spec.volumes",
            json!([{"name": "Cache", "emptyDir": {}}]),
            "spec.volumes[0].name",
            INVALID,
        ),
        (
            "spec.volumes",
            json!([{"name": "cache", "emptyDir": {}, "hostPath": {"path": "/tmp"}}]),
            "spec.volumes[0].hostPath",
            FORBIDDEN,
        ),
        (
            "spec.volumes",
            json!([{"name": "creds", "secret": {}}]),
            "spec.volumes[0].secret.secretName",
            REQUIRED,
        ),
        (
            "spec.containers.0.volumeMounts",
            json!([{"name": "missing", "mountPath": "/data"}]),
            "spec.containers[0].volumeMounts[0].name",
            "FieldValueNotFound",
        ),
    ];
    assert_edits("v1", "Pod", &nginx_pod(), &edits);
    let pod = with(nginx_pod(), "spec.volumes", json!([cache]));
    let mounts = "spec.containers.0.volumeMounts";
    let edits = [
        (
            mounts,
            json!([mount("/a"), mount("/a")]),
            "spec.containers[0].volumeMounts[1].mountPath",
            INVALID,
        ),
        (
            mounts,
            json!([{"name": "cache"}]),
            "spec.containers[0].volumeMounts[0].mountPath",
            REQUIRED,
        ),
        (
            mounts,
            json!([{"name": "cache", "mountPath": "/a", "subPath": "../etc"}]),
            "spec.containers[0].volumeMounts[0].subPath",
            INVALID,
        ),
    ];
    assert_edits("v1", "Pod", &pod, &edits);
}

#[test]
fn pod_probe_rules() {
    let pod = nginx_pod();
    let probe =
        |field: &str, value: Value| with(pod.clone(), &format!("spec.containers.0.{field}"), value);
    let fine = probe(
        "livenessProbe",
        json!({"httpGet": {"path": "/healthz", "port": 8080}, "initialDelaySeconds": 3, "periodSeconds": 3}),
    );
    assert!(validate_create("v1", "Pod", &fine).is_empty());
    let named = probe("readinessProbe", json!({"tcpSocket": {"port": "http"}}));
    assert!(validate_create("v1", "Pod", &named).is_empty());
    assert_cause(
        "v1",
        "Pod",
        &probe("livenessProbe", json!({"periodSeconds": 3})),
        "spec.containers[0].livenessProbe",
        "FieldValueRequired",
    );
    let two = json!({"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}});
    assert_cause(
        "v1",
        "Pod",
        &probe("livenessProbe", two),
        "spec.containers[0].livenessProbe.tcpSocket",
        "FieldValueForbidden",
    );
    let negative = json!({"exec": {"command": ["true"]}, "periodSeconds": -1});
    assert_cause(
        "v1",
        "Pod",
        &probe("readinessProbe", negative),
        "spec.containers[0].readinessProbe.periodSeconds",
        "FieldValueInvalid",
    );
    let threshold = json!({"exec": {"command": ["true"]}, "successThreshold": 2});
    assert_cause(
        "v1",
        "Pod",
        &probe("livenessProbe", threshold),
        "spec.containers[0].livenessProbe.successThreshold",
        "FieldValueInvalid",
    );
    let port = json!({"httpGet": {"port": 0}});
    assert_cause(
        "v1",
        "Pod",
        &probe("startupProbe", port),
        "spec.containers[0].startupProbe.httpGet.port",
        "FieldValueInvalid",
    );
    let empty = json!({"exec": {}});
    assert_cause(
        "v1",
        "Pod",
        &probe("livenessProbe", empty),
        "spec.containers[0].livenessProbe.exec.command",
        "FieldValueRequired",
    );
    let init = json!([{"name": "setup", "image": "busybox", "livenessProbe": {"exec": {"command": ["true"]}}}]);
    assert_cause(
        "v1",
        "Pod",
        &with(pod.clone(), "spec.initContainers", init),
        "spec.initContainers[0].livenessProbe",
        "FieldValueForbidden",
    );
}

#[test]
fn pod_toleration_rules() {
    let pod = nginx_pod();
    let tolerate = |value: Value| with(pod.clone(), "spec.tolerations", json!([value]));
    let fine = tolerate(
        json!({"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}),
    );
    assert!(validate_create("v1", "Pod", &fine).is_empty());
    assert_cause(
        "v1",
        "Pod",
        &tolerate(json!({"operator": "Equal", "value": "x"})),
        "spec.tolerations[0].operator",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        "Pod",
        &tolerate(json!({"key": "k", "operator": "Exists", "value": "x"})),
        "spec.tolerations[0].operator",
        "FieldValueInvalid",
    );
    assert_cause(
        "v1",
        "Pod",
        &tolerate(json!({"key": "k", "operator": "Like"})),
        "spec.tolerations[0].operator",
        "FieldValueNotSupported",
    );
    assert_cause(
        "v1",
        "Pod",
        &tolerate(json!({"key": "k", "effect": "Evict"})),
        "spec.tolerations[0].effect",
        "FieldValueNotSupported",
    );
    assert_cause(
        "v1",
        "Pod",
        &tolerate(json!({"key": "k", "effect": "NoSchedule", "tolerationSeconds": 5})),
        "spec.tolerations[0].effect",
        "FieldValueInvalid",
    );
}

#[test]
fn pod_update_rules() {
    let old = nginx_pod();
    let new_image = with(old.clone(), "spec.containers.0.image", json!("nginx:1.25"));
    assert!(validate_update("v1", "Pod", &new_image, &old).is_empty());
    let new_port = with(
        old.clone(),
        "spec.containers.0.ports.0.containerPort",
        json!(81),
    );
    assert!(has(
        &validate_update("v1", "Pod", &new_port, &old),
        "spec",
        "FieldValueForbidden"
    ));
    let deadline = with(old.clone(), "spec.activeDeadlineSeconds", json!(60));
    assert!(validate_update("v1", "Pod", &deadline, &old).is_empty());
    let longer = with(old.clone(), "spec.activeDeadlineSeconds", json!(120));
    assert!(has(
        &validate_update("v1", "Pod", &longer, &deadline),
        "spec.activeDeadlineSeconds",
        "FieldValueInvalid"
    ));
    assert!(has(
        &validate_update("v1", "Pod", &old, &deadline),
        "spec.activeDeadlineSeconds",
        "FieldValueInvalid"
    ));
    let toleration = json!({"key": "k", "operator": "Exists"});
    let tolerant = with(old.clone(), "spec.tolerations", json!([toleration.clone()]));
    assert!(validate_update("v1", "Pod", &tolerant, &old).is_empty());
    assert!(has(
        &validate_update("v1", "Pod", &old, &tolerant),
        "spec.tolerations[0]",
        "FieldValueForbidden"
    ));
    let grace = with(old.clone(), "spec.terminationGracePeriodSeconds", json!(5));
    assert!(validate_update("v1", "Pod", &grace, &old).is_empty());
    let containers = json!([old["spec"]["containers"][0], {"name": "sidecar", "image": "busybox"}]);
    let grown = with(old.clone(), "spec.containers", containers);
    assert!(has(
        &validate_update("v1", "Pod", &grown, &old),
        "spec",
        "FieldValueForbidden"
    ));
}
