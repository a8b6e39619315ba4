//! The pod printer: READY, STATUS reasons and RESTARTS.

use serde_json::{json, Value};

use super::{ago, cells, headers, now, strs};
use crate::table::{to_table, IncludeObject};

fn pod(spec: Value, status: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "creationTimestamp": ago(600)},
        "spec": spec,
        "status": status,
    })
}

fn two_containers() -> Value {
    json!({"nodeName": "node-1", "containers": [{"name": "app", "image": "nginx"}, {"name": "sidecar", "image": "envoy"}]})
}

fn running(name: &str, restarts: i64) -> Value {
    json!({"name": name, "ready": true, "restartCount": restarts, "started": true,
           "state": {"running": {"startedAt": ago(300)}}})
}

#[test]
fn pod_columns() {
    assert_eq!(
        headers("", "pods"),
        ["Name", "Ready", "Status", "Restarts", "Age", "*IP", "*Node", "*Nominated Node", "*Readiness Gates"]
    );
}

#[test]
fn running_pod_with_restarts() {
    let mut restarted = running("sidecar", 3);
    restarted["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(300)}});
    let p = pod(
        two_containers(),
        json!({"phase": "Running", "podIP": "10.244.0.5", "podIPs": [{"ip": "10.244.0.5"}],
               "conditions": [{"type": "Ready", "status": "True"}],
               "containerStatuses": [running("app", 0), restarted]}),
    );
    assert_eq!(
        cells("", "pods", p),
        strs(&["web", "2/2", "Running", "3 (5m ago)", "10m", "10.244.0.5", "node-1", "<none>", "<none>"])
    );
}

#[test]
fn crash_loop_back_off() {
    let p = pod(
        json!({"containers": [{"name": "app", "image": "busybox"}], "nodeName": "node-1"}),
        json!({"phase": "Running", "podIPs": [{"ip": "10.244.0.7"}],
               "containerStatuses": [{"name": "app", "ready": false, "restartCount": 5,
                   "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 2m40s"}},
                   "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(30)}}}]}),
    );
    let c = cells("", "pods", p);
    assert_eq!(c[..5], strs(&["web", "0/1", "CrashLoopBackOff", "5 (30s ago)", "10m"]));
    assert_eq!(c[5], "10.244.0.7");
}

#[test]
fn terminating_pod() {
    let mut p = pod(
        two_containers(),
        json!({"phase": "Running", "containerStatuses": [running("app", 0), running("sidecar", 0)]}),
    );
    p["metadata"]["deletionTimestamp"] = json!(ago(5));
    assert_eq!(cells("", "pods", p)[..4], strs(&["web", "2/2", "Terminating", "0"]));
}

#[test]
fn node_lost_pod_being_deleted_is_unknown() {
    let mut p = pod(two_containers(), json!({"phase": "Running", "reason": "NodeLost"}));
    p["metadata"]["deletionTimestamp"] = json!(ago(5));
    assert_eq!(cells("", "pods", p)[2], "Unknown");
}

#[test]
fn completed_pod_has_completed_row_condition() {
    let p = pod(
        json!({"containers": [{"name": "job", "image": "busybox"}]}),
        json!({"phase": "Succeeded", "containerStatuses": [{"name": "job", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": ago(60)}}}]}),
    );
    let table = to_table(super::info("", "v1", "pods"), &[p], IncludeObject::None, now(), None);
    let row = &table["rows"][0];
    assert_eq!(row["cells"].as_array().expect("cells")[..4], strs(&["web", "0/1", "Completed", "0"]));
    assert_eq!(
        row["conditions"],
        json!([{"type": "Completed", "status": "True", "reason": "Succeeded", "message": "The pod has completed successfully."}])
    );
    // A deleted pod in a terminal phase keeps its reason.
    let mut failed = pod(json!({"containers": [{"name": "job"}]}), json!({"phase": "Failed"}));
    failed["metadata"]["deletionTimestamp"] = json!(ago(1));
    let table = to_table(super::info("", "v1", "pods"), &[failed], IncludeObject::None, now(), None);
    assert_eq!(table["rows"][0]["cells"][2], "Failed");
    assert_eq!(table["rows"][0]["conditions"][0]["reason"], "Failed");
}

#[test]
fn pending_pod_without_statuses() {
    let p = pod(json!({"containers": [{"name": "app"}]}), json!({"phase": "Pending"}));
    assert_eq!(
        cells("", "pods", p),
        strs(&["web", "0/1", "Pending", "0", "10m", "<none>", "<none>", "<none>", "<none>"])
    );
}

#[test]
fn scheduling_gated_pod() {
    let p = pod(
        json!({"containers": [{"name": "app"}], "schedulingGates": [{"name": "example.com/gate"}]}),
        json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]}),
    );
    assert_eq!(cells("", "pods", p)[2], "SchedulingGated");
}

#[test]
fn terminated_container_without_reason() {
    let terminated = |state: Value| {
        pod(
            json!({"containers": [{"name": "app"}]}),
            json!({"phase": "Running", "containerStatuses": [{"name": "app", "restartCount": 0, "state": {"terminated": state}}]}),
        )
    };
    assert_eq!(cells("", "pods", terminated(json!({"exitCode": 137})))[2], "ExitCode:137");
    assert_eq!(cells("", "pods", terminated(json!({"exitCode": 137, "signal": 9})))[2], "Signal:9");
    assert_eq!(cells("", "pods", terminated(json!({"exitCode": 1, "reason": "OOMKilled"})))[2], "OOMKilled");
}

#[test]
fn completed_container_with_one_still_running() {
    let statuses = |ready: &str| {
        json!({"phase": "Running", "conditions": [{"type": "Ready", "status": ready}],
               "containerStatuses": [running("app", 0),
                   {"name": "sidecar", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]})
    };
    assert_eq!(cells("", "pods", pod(two_containers(), statuses("True")))[1..3], strs(&["1/2", "Running"]));
    assert_eq!(cells("", "pods", pod(two_containers(), statuses("False")))[1..3], strs(&["1/2", "NotReady"]));
}

fn with_init(status: Value) -> Value {
    pod(json!({"initContainers": [{"name": "migrate"}, {"name": "seed"}], "containers": [{"name": "app"}]}), status)
}

#[test]
fn init_container_states() {
    let waiting = |reason: &str| json!({"waiting": {"reason": reason}});
    let init = |first: Value, restarts: i64| {
        with_init(json!({"phase": "Pending",
            "initContainerStatuses": [{"name": "migrate", "restartCount": restarts, "state": first},
                                      {"name": "seed", "restartCount": 0, "state": waiting("PodInitializing")}],
            "containerStatuses": [{"name": "app", "restartCount": 0, "state": waiting("PodInitializing")}]}))
    };
    assert_eq!(cells("", "pods", init(json!({"running": {}}), 0))[1..4], strs(&["0/1", "Init:0/2", "0"]));
    assert_eq!(cells("", "pods", init(waiting("PodInitializing"), 0))[2], "Init:0/2");
    assert_eq!(
        cells("", "pods", init(waiting("CrashLoopBackOff"), 4))[1..4],
        strs(&["0/1", "Init:CrashLoopBackOff", "4"])
    );
    assert_eq!(cells("", "pods", init(json!({"terminated": {"exitCode": 2, "reason": "Error"}}), 0))[2], "Init:Error");
    assert_eq!(cells("", "pods", init(json!({"terminated": {"exitCode": 2}}), 0))[2], "Init:ExitCode:2");
    assert_eq!(cells("", "pods", init(json!({"terminated": {"exitCode": 2, "signal": 15}}), 0))[2], "Init:Signal:15");
    // The first init container done, the second running.
    let second = with_init(json!({"phase": "Pending", "initContainerStatuses": [
        {"name": "migrate", "restartCount": 0, "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}},
        {"name": "seed", "restartCount": 0, "state": {"running": {}}}]}));
    assert_eq!(cells("", "pods", second)[2], "Init:1/2");
}

#[test]
fn sidecar_init_container_counts_as_container() {
    let p = pod(
        json!({"initContainers": [{"name": "proxy", "restartPolicy": "Always"}], "containers": [{"name": "app"}]}),
        json!({"phase": "Running",
               "conditions": [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}],
               "initContainerStatuses": [{"name": "proxy", "ready": true, "started": true, "restartCount": 2,
                   "state": {"running": {}},
                   "lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(4 * 3600)}}}],
               "containerStatuses": [running("app", 1)]}),
    );
    assert_eq!(cells("", "pods", p)[1..4], strs(&["2/2", "Running", "3 (4h ago)"]));
}

#[test]
fn wide_cells() {
    let p = pod(
        json!({"containers": [{"name": "app"}], "readinessGates": [{"conditionType": "a.io/x"}, {"conditionType": "a.io/y"}]}),
        json!({"phase": "Pending", "nominatedNodeName": "node-2", "podIPs": [{"ip": "fd00::5"}],
               "conditions": [{"type": "a.io/x", "status": "True"}, {"type": "a.io/y", "status": "False"}]}),
    );
    assert_eq!(cells("", "pods", p)[5..], strs(&["fd00::5", "<none>", "node-2", "1/2"]));
}
