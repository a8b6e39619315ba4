//! apps and batch printers.

use serde_json::{json, Value};

use super::{ago, cells, headers, strs};

fn meta(name: &str) -> Value {
    json!({"name": name, "namespace": "default", "creationTimestamp": ago(90)})
}

fn template() -> Value {
    json!({"metadata": {"labels": {"app": "web"}},
           "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}, {"name": "log", "image": "busybox"}]}})
}

#[test]
fn deployment() {
    assert_eq!(
        headers("apps", "deployments"),
        ["Name", "Ready", "Up-to-date", "Available", "Age", "*Containers", "*Images", "*Selector"]
    );
    let d = json!({"metadata": meta("web"),
        "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"},
                 "matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "edge"]},
                                      {"key": "canary", "operator": "DoesNotExist"}]},
                 "template": template()},
        "status": {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
    assert_eq!(
        cells("apps", "deployments", d),
        vec![
            json!("web"),
            json!("2/3"),
            json!(3),
            json!(2),
            json!("90s"),
            json!("nginx,log"),
            json!("nginx:1.27,busybox"),
            json!("app=web,!canary,tier in (edge,front)")
        ]
    );
    // A new deployment: no status yet, replicas defaulted, empty selector prints "".
    let fresh = json!({"metadata": meta("new"), "spec": {"selector": {}, "template": {"spec": {"containers": []}}}});
    assert_eq!(
        cells("apps", "deployments", fresh),
        vec![json!("new"), json!("0/1"), json!(0), json!(0), json!("90s"), json!(""), json!(""), json!("")]
    );
    let bad =
        json!({"metadata": meta("bad"), "spec": {"selector": {"matchExpressions": [{"key": "a", "operator": "In"}]}}});
    assert_eq!(cells("apps", "deployments", bad)[7], "<invalid>");
}

#[test]
fn replicaset_statefulset_daemonset() {
    let rs = json!({"metadata": meta("web-5d4"), "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
        "template": template()}, "status": {"replicas": 2, "readyReplicas": 1}});
    assert_eq!(
        cells("apps", "replicasets", rs),
        vec![
            json!("web-5d4"),
            json!(2),
            json!(2),
            json!(1),
            json!("90s"),
            json!("nginx,log"),
            json!("nginx:1.27,busybox"),
            json!("app=web")
        ]
    );
    assert_eq!(headers("apps", "statefulsets"), ["Name", "Ready", "Age", "*Containers", "*Images"]);
    let sts = json!({"metadata": meta("db"), "spec": {"replicas": 3, "template": template()}, "status": {"readyReplicas": 3}});
    assert_eq!(cells("apps", "statefulsets", sts), strs(&["db", "3/3", "90s", "nginx,log", "nginx:1.27,busybox"]));
    assert_eq!(
        headers("apps", "daemonsets"),
        [
            "Name",
            "Desired",
            "Current",
            "Ready",
            "Up-to-date",
            "Available",
            "Node Selector",
            "Age",
            "*Containers",
            "*Images",
            "*Selector"
        ]
    );
    let mut tpl = template();
    tpl["spec"]["nodeSelector"] = json!({"kubernetes.io/os": "linux"});
    let ds = json!({"metadata": meta("proxy"), "spec": {"selector": {"matchLabels": {"k8s-app": "proxy"}}, "template": tpl},
        "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                   "updatedNumberScheduled": 3, "numberAvailable": 2}});
    assert_eq!(
        cells("apps", "daemonsets", ds),
        vec![
            json!("proxy"),
            json!(3),
            json!(3),
            json!(2),
            json!(3),
            json!(2),
            json!("kubernetes.io/os=linux"),
            json!("90s"),
            json!("nginx,log"),
            json!("nginx:1.27,busybox"),
            json!("k8s-app=proxy")
        ]
    );
}

#[test]
fn controller_revision() {
    let cr = json!({"metadata": {"name": "web-7c9", "creationTimestamp": ago(90),
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web", "controller": true}]},
        "revision": 2});
    assert_eq!(
        cells("apps", "controllerrevisions", cr),
        vec![json!("web-7c9"), json!("statefulset.apps/web"), json!(2), json!("90s")]
    );
    let orphan = json!({"metadata": {"name": "o"}, "revision": 1});
    assert_eq!(cells("apps", "controllerrevisions", orphan)[1], "<none>");
}

#[test]
fn jobs() {
    assert_eq!(
        headers("batch", "jobs"),
        ["Name", "Status", "Completions", "Duration", "Age", "*Containers", "*Images", "*Selector"]
    );
    let done = json!({"metadata": meta("pi"), "spec": {"completions": 1, "parallelism": 1,
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "abc"}}, "template": template()},
        "status": {"succeeded": 1, "startTime": ago(80), "completionTime": ago(45),
                   "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]}});
    assert_eq!(
        cells("batch", "jobs", done),
        strs(&[
            "pi",
            "Complete",
            "1/1",
            "35s",
            "90s",
            "nginx,log",
            "nginx:1.27,busybox",
            "batch.kubernetes.io/controller-uid=abc"
        ])
    );
    let running = json!({"metadata": meta("work"), "spec": {"parallelism": 3, "template": template()},
        "status": {"active": 3, "startTime": ago(300)}});
    assert_eq!(cells("batch", "jobs", running)[1..4], strs(&["Running", "0/1 of 3", "5m"]));
    let failed = json!({"metadata": meta("f"), "spec": {"completions": 5},
        "status": {"failed": 6, "succeeded": 2, "conditions": [{"type": "Failed", "status": "True"}]}});
    assert_eq!(cells("batch", "jobs", failed)[1..4], strs(&["Failed", "2/5", ""]));
    let suspended = json!({"metadata": meta("s"), "spec": {"suspend": true},
        "status": {"conditions": [{"type": "Suspended", "status": "True"}]}});
    assert_eq!(cells("batch", "jobs", suspended)[1..3], strs(&["Suspended", "0/1"]));
}

#[test]
fn cron_job() {
    assert_eq!(
        headers("batch", "cronjobs"),
        [
            "Name",
            "Schedule",
            "Timezone",
            "Suspend",
            "Active",
            "Last Schedule",
            "Age",
            "*Containers",
            "*Images",
            "*Selector"
        ]
    );
    let cj = json!({"metadata": meta("hello"), "spec": {"schedule": "*/5 * * * *", "suspend": false,
            "jobTemplate": {"spec": {"template": template()}}},
        "status": {"active": [{"name": "hello-1"}], "lastScheduleTime": ago(61)}});
    assert_eq!(
        cells("batch", "cronjobs", cj),
        vec![
            json!("hello"),
            json!("*/5 * * * *"),
            json!("<none>"),
            json!("False"),
            json!(1),
            json!("61s"),
            json!("90s"),
            json!("nginx,log"),
            json!("nginx:1.27,busybox"),
            json!("<none>")
        ]
    );
    let never = json!({"metadata": meta("n"), "spec": {"schedule": "@daily", "timeZone": "Etc/UTC", "suspend": true}});
    assert_eq!(
        cells("batch", "cronjobs", never)[1..6],
        vec![json!("@daily"), json!("Etc/UTC"), json!("True"), json!(0), json!("<none>")]
    );
}
