//! Pod cells: status, readiness, restarts, init containers and sidecars, gates, IPs.

use super::*;

// --- Pods ---------------------------------------------------------------------------

#[test]
fn running_pod_cells() {
    assert_eq!(
        cells("Pod", running_pod()),
        json!([
            "web-7d4b9",
            "1/1",
            "Running",
            "0",
            "5m",
            "10.244.1.5",
            "node-1",
            "<none>",
            "<none>"
        ]),
    );
    assert_eq!(
        column_names("Pod"),
        [
            "Name",
            "Ready",
            "Status",
            "Restarts",
            "Age",
            "IP",
            "Node",
            "Nominated Node",
            "Readiness Gates"
        ],
    );
}

#[test]
fn deleting_pod_is_terminating_unless_its_node_is_lost() {
    let mut pod = running_pod();
    pod["metadata"]["deletionTimestamp"] = json!(ago(10));
    assert_eq!(pod_status(pod.clone()), "Terminating");
    pod["status"]["reason"] = json!("NodeLost");
    assert_eq!(pod_status(pod.clone()), "Unknown");
    pod["status"]["reason"] = json!(null);
    pod["status"]["phase"] = json!("Succeeded");
    pod["status"]["containerStatuses"][0]["state"] =
        json!({"terminated": {"exitCode": 0, "reason": "Completed"}});
    assert_eq!(pod_status(pod), "Completed");
}

#[test]
fn waiting_container_reason_is_the_status() {
    let pod = pod_with_container_state(
        "Pending",
        json!({"waiting": {"reason": "ImagePullBackOff", "message": "Back-off"}}),
    );
    let row = cells("Pod", pod);
    assert_eq!(row[1], "0/1");
    assert_eq!(row[2], "ImagePullBackOff");
}

#[test]
fn terminated_container_reason_signal_or_exit_code() {
    let terminated = |state: Value| {
        pod_status(pod_with_container_state(
            "Running",
            json!({"terminated": state}),
        ))
    };
    assert_eq!(
        terminated(json!({"exitCode": 137, "reason": "OOMKilled"})),
        "OOMKilled"
    );
    assert_eq!(
        terminated(json!({"exitCode": 143, "signal": 15})),
        "Signal:15"
    );
    assert_eq!(terminated(json!({"exitCode": 2})), "ExitCode:2");
}

#[test]
fn restarts_show_when_the_last_one_was() {
    let mut pod = pod_with_container_state(
        "Running",
        json!({"waiting": {"reason": "CrashLoopBackOff"}}),
    );
    pod["status"]["containerStatuses"][0]["restartCount"] = json!(3);
    pod["status"]["containerStatuses"][0]["lastState"] =
        json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(3 * MINUTE)}});
    let row = cells("Pod", pod.clone());
    assert_eq!(row[2], "CrashLoopBackOff");
    assert_eq!(row[3], "3 (3m ago)");
    // Without a finish time kube prints the bare count.
    pod["status"]["containerStatuses"][0]["lastState"] = json!({"terminated": {"exitCode": 1}});
    assert_eq!(cells("Pod", pod)[3], "3");
}

#[test]
fn init_containers_report_progress() {
    let mut pod = running_pod();
    pod["status"]["phase"] = json!("Pending");
    pod["status"]["conditions"] = json!([{"type": "Initialized", "status": "False"}]);
    pod["spec"]["initContainers"] =
        json!([{"name": "migrate", "image": "migrate:1"}, {"name": "seed", "image": "seed:1"}]);
    let with_init = |statuses: Value| {
        let mut pod = pod.clone();
        pod["status"]["initContainerStatuses"] = statuses;
        pod_status(pod)
    };
    let waiting = json!({"waiting": {"reason": "PodInitializing"}});
    assert_eq!(
        with_init(json!([{"name": "migrate", "state": waiting}])),
        "Init:0/2"
    );
    let done = json!({"terminated": {"exitCode": 0, "reason": "Completed"}});
    assert_eq!(
        with_init(
            json!([{"name": "migrate", "state": done}, {"name": "seed", "state": {"running": {}}}])
        ),
        "Init:1/2"
    );
    assert_eq!(
        with_init(
            json!([{"name": "migrate", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}])
        ),
        "Init:CrashLoopBackOff"
    );
    assert_eq!(
        with_init(
            json!([{"name": "migrate", "state": {"terminated": {"exitCode": 1, "reason": "Error"}}}])
        ),
        "Init:Error"
    );
    assert_eq!(
        with_init(json!([{"name": "migrate", "state": {"terminated": {"exitCode": 3}}}])),
        "Init:ExitCode:3"
    );
    assert_eq!(
        with_init(
            json!([{"name": "migrate", "state": {"terminated": {"exitCode": 3, "signal": 9}}}])
        ),
        "Init:Signal:9"
    );
}

#[test]
fn sidecars_count_as_containers_and_restarts() {
    let mut pod = running_pod();
    pod["spec"]["initContainers"] =
        json!([{"name": "proxy", "image": "envoy:1", "restartPolicy": "Always"}]);
    pod["status"]["initContainerStatuses"] = json!([{
        "name": "proxy", "ready": true, "started": true, "restartCount": 2,
        "state": {"running": {}},
        "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(10 * MINUTE)}},
    }]);
    pod["status"]["containerStatuses"][0]["restartCount"] = json!(1);
    pod["status"]["containerStatuses"][0]["lastState"] =
        json!({"terminated": {"exitCode": 1, "finishedAt": ago(2 * MINUTE)}});
    let row = cells("Pod", pod);
    assert_eq!(row[1], "2/2");
    assert_eq!(row[2], "Running");
    assert_eq!(row[3], "3 (2m ago)");
}

#[test]
fn completed_with_a_running_container_reads_running_or_not_ready() {
    let mut pod = running_pod();
    pod["spec"]["containers"] =
        json!([{"name": "job", "image": "job:1"}, {"name": "web", "image": "nginx"}]);
    pod["status"]["containerStatuses"] = json!([
        {"name": "job", "ready": false, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        {"name": "web", "ready": true, "state": {"running": {}}},
    ]);
    let row = cells("Pod", pod.clone());
    assert_eq!(
        (row[1].clone(), row[2].clone()),
        (json!("1/2"), json!("Running"))
    );
    pod["status"]["conditions"] = json!([{"type": "Ready", "status": "False"}]);
    assert_eq!(pod_status(pod), "NotReady");
}

#[test]
fn scheduling_gates_and_readiness_gates() {
    let mut gated = running_pod();
    gated["status"] = json!({"phase": "Pending", "conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]});
    gated["spec"]["nodeName"] = json!(null);
    assert_eq!(
        cells("Pod", gated),
        json!([
            "web-7d4b9",
            "0/1",
            "SchedulingGated",
            "0",
            "5m",
            "<none>",
            "<none>",
            "<none>",
            "<none>"
        ]),
    );
    let mut gates = running_pod();
    gates["spec"]["readinessGates"] =
        json!([{"conditionType": "lb/ready"}, {"conditionType": "dns/ready"}]);
    gates["status"]["conditions"] = json!([
        {"type": "lb/ready", "status": "True"}, {"type": "dns/ready", "status": "False"}]);
    gates["status"]["nominatedNodeName"] = json!("node-2");
    let row = cells("Pod", gates);
    assert_eq!(
        (row[7].clone(), row[8].clone()),
        (json!("node-2"), json!("1/2"))
    );
}

#[test]
fn pod_ip_falls_back_to_the_ip_list() {
    let mut pod = running_pod();
    pod["status"]["podIP"] = json!(null);
    pod["status"]["podIPs"] = json!([{"ip": "fd00::5"}, {"ip": "10.0.0.5"}]);
    assert_eq!(cells("Pod", pod)[5], "fd00::5");
}

#[test]
fn finished_pods_carry_a_completed_row_condition() {
    let mut pod = pod_with_container_state(
        "Succeeded",
        json!({"terminated": {"exitCode": 0, "reason": "Completed"}}),
    );
    let table = to_table("Pod", &[pod.clone()], json!({}), NOW_MS, INCLUDE_NONE);
    assert_eq!(
        table["rows"][0]["conditions"],
        json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}]),
    );
    pod["status"]["phase"] = json!("Failed");
    let table = to_table("Pod", &[pod], json!({}), NOW_MS, INCLUDE_NONE);
    assert_eq!(
        table["rows"][0]["conditions"][0]["message"],
        "The pod failed."
    );
}
