//! Tests of apps/v1, ReplicationController, Job and CronJob validation.

use serde_json::{json, Value};

use super::batch::parse_schedule;
use super::tests_meta::{create, expect_has, expect_one, update};

fn deploy(selector: Value, labels: Value) -> Value {
    json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": selector, "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}},
    })
}

fn apps(plural: &str, obj: Value) -> Vec<crate::error::Cause> {
    create("apps", "v1", plural, obj)
}

#[test]
fn deployment_selector_and_template() {
    assert!(apps("deployments", deploy(json!({"matchLabels": {"app": "web"}}), json!({"app": "web"}))).is_empty());
    expect_one(
        &apps("deployments", deploy(json!({"matchLabels": {"app": "api"}}), json!({"app": "web"}))),
        "spec.template.metadata.labels",
        "Invalid value: {\"app\":\"web\"}: `selector` does not match template `labels`",
    );
    let mut obj = deploy(json!({"matchLabels": {"app": "web"}}), json!({"app": "web"}));
    obj["spec"].as_object_mut().expect("spec").remove("selector");
    expect_one(&apps("deployments", obj), "spec.selector", "Required value");
    expect_has(
        &apps("deployments", deploy(json!({}), json!({"app": "web"}))),
        "spec.selector",
        "Invalid value: {}: empty selector is invalid for deployment",
    );
    let sel = json!({"matchExpressions": [{"key": "app", "operator": "In"}]});
    expect_has(
        &apps("deployments", deploy(sel, json!({"app": "web"}))),
        "spec.selector.matchExpressions[0].values",
        "Required value: must be specified when `operator` is 'In' or 'NotIn'",
    );
    let mut obj = deploy(json!({"matchLabels": {"app": "web"}}), json!({"app": "web"}));
    obj["spec"]["template"]["spec"]["restartPolicy"] = json!("OnFailure");
    expect_one(
        &apps("deployments", obj),
        "spec.template.spec.restartPolicy",
        "Unsupported value: \"OnFailure\": supported values: \"Always\"",
    );
    let mut obj = deploy(json!({"matchLabels": {"app": "web"}}), json!({"app": "web"}));
    obj["spec"]["replicas"] = json!(-1);
    expect_one(&apps("deployments", obj), "spec.replicas", "Invalid value: -1: must be greater than or equal to 0");
    let mut obj = deploy(json!({"matchLabels": {"app": "web"}}), json!({"app": "web"}));
    obj["spec"]["template"]["spec"]["containers"][0].as_object_mut().expect("c").remove("image");
    expect_one(&apps("deployments", obj), "spec.template.spec.containers[0].image", "Required value");
}

#[test]
fn deployment_strategy() {
    let mut obj = deploy(json!({"matchLabels": {"app": "web"}}), json!({"app": "web"}));
    obj["spec"]["strategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "abc"}});
    expect_one(
        &apps("deployments", obj),
        "spec.strategy.rollingUpdate.maxSurge",
        "Invalid value: \"abc\": a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')",
    );
    let mut obj = deploy(json!({"matchLabels": {"app": "web"}}), json!({"app": "web"}));
    obj["spec"]["strategy"] = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 0}});
    expect_one(
        &apps("deployments", obj),
        "spec.strategy.rollingUpdate.maxUnavailable",
        "Invalid value: 0: may not be 0 when `maxSurge` is 0",
    );
    let mut obj = deploy(json!({"matchLabels": {"app": "web"}}), json!({"app": "web"}));
    obj["spec"]["strategy"] = json!({"type": "Recreate", "rollingUpdate": {"maxSurge": 1}});
    expect_one(
        &apps("deployments", obj),
        "spec.strategy.rollingUpdate",
        "Forbidden: may not be specified when strategy `type` is 'Recreate'",
    );
    let mut obj = deploy(json!({"matchLabels": {"app": "web"}}), json!({"app": "web"}));
    obj["spec"]["strategy"] = json!({"type": "Blue"});
    expect_one(
        &apps("deployments", obj),
        "spec.strategy",
        "Unsupported value: {\"Type\":\"Blue\",\"RollingUpdate\":null}: supported values: \"Recreate\", \"RollingUpdate\"",
    );
}

#[test]
fn selectors_are_immutable() {
    let old = deploy(json!({"matchLabels": {"app": "web"}}), json!({"app": "web", "b": "x"}));
    let new = deploy(json!({"matchLabels": {"app": "web", "b": "x"}}), json!({"app": "web", "b": "x"}));
    expect_one(
        &update("apps", "v1", "deployments", new, old.clone()),
        "spec.selector",
        "Invalid value: {\"matchLabels\":{\"app\":\"web\",\"b\":\"x\"}}: field is immutable",
    );
    let mut scaled = old.clone();
    scaled["spec"]["replicas"] = json!(5);
    assert!(update("apps", "v1", "deployments", scaled, old).is_empty());
}

#[test]
fn statefulset_daemonset_replicaset_rc() {
    let sts = |service: &str| {
        let mut o = deploy(json!({"matchLabels": {"app": "db"}}), json!({"app": "db"}));
        o["spec"]["serviceName"] = json!(service);
        o["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = json!([{"name": "data", "mountPath": "/d"}]);
        o["spec"]["volumeClaimTemplates"] = json!([{"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]);
        o
    };
    assert!(apps("statefulsets", sts("db")).is_empty());
    expect_one(
        &update("apps", "v1", "statefulsets", sts("other"), sts("db")),
        "spec",
        "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    );
    let mut scaled = sts("db");
    scaled["spec"]["replicas"] = json!(3);
    assert!(update("apps", "v1", "statefulsets", scaled, sts("db")).is_empty());
    let mut bad = sts("db");
    bad["spec"]["podManagementPolicy"] = json!("Random");
    expect_one(
        &apps("statefulsets", bad),
        "spec.podManagementPolicy",
        "Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
    );

    let ds = deploy(json!({"matchLabels": {"app": "a"}}), json!({"app": "b"}));
    expect_one(
        &apps("daemonsets", ds),
        "spec.template.metadata.labels",
        "Invalid value: {\"app\":\"b\"}: `selector` does not match template `labels`",
    );
    assert!(apps("replicasets", deploy(json!({"matchLabels": {"app": "a"}}), json!({"app": "a"}))).is_empty());

    // RCs take their selector from the template labels.
    let rc = json!({"metadata": {"name": "rc", "namespace": "default"}, "spec": {"template": {"metadata": {"labels": {"app": "a"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
    assert!(create("", "v1", "replicationcontrollers", rc).is_empty());
    let rc = json!({"metadata": {"name": "rc", "namespace": "default"}, "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}});
    expect_one(&create("", "v1", "replicationcontrollers", rc), "spec.selector", "Required value");
}

fn job(restart: &str) -> Value {
    json!({
        "metadata": {"name": "pi", "namespace": "default", "uid": "1234"},
        "spec": {"template": {"spec": {"restartPolicy": restart, "containers": [{"name": "pi", "image": "perl"}]}}},
    })
}

#[test]
fn jobs() {
    assert!(create("batch", "v1", "jobs", job("Never")).is_empty());
    expect_one(
        &create("batch", "v1", "jobs", job("Always")),
        "spec.template.spec.restartPolicy",
        "Required value: valid values: \"OnFailure\", \"Never\"",
    );
    let mut manual = job("Never");
    manual["spec"]["selector"] = json!({"matchLabels": {"x": "y"}});
    expect_has(&create("batch", "v1", "jobs", manual), "spec.selector", "Invalid value: {\"matchLabels\":{\"batch.kubernetes.io/controller-uid\":\"1234\",\"x\":\"y\"}}: `selector` not auto-generated");
    let mut changed = job("Never");
    changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("perl:2");
    let errs = update("batch", "v1", "jobs", changed, job("Never"));
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(errs[0].field, "spec.template");
    assert!(errs[0].message.ends_with(": field is immutable"), "{}", errs[0].message);
}

#[test]
fn cron_jobs() {
    let cj = |schedule: &str| json!({"metadata": {"name": "c", "namespace": "default"}, "spec": {"schedule": schedule, "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure", "containers": [{"name": "c", "image": "busybox"}]}}}}}});
    assert!(create("batch", "v1", "cronjobs", cj("*/5 * * * *")).is_empty());
    expect_one(
        &create("batch", "v1", "cronjobs", cj("* * *")),
        "spec.schedule",
        "Invalid value: \"* * *\": expected exactly 5 fields, found 3: [* * *]",
    );
    expect_one(&create("batch", "v1", "cronjobs", cj("")), "spec.schedule", "Required value");
    let long = "c".repeat(53);
    let mut obj = cj("@hourly");
    obj["metadata"]["name"] = json!(long);
    expect_one(
        &create("batch", "v1", "cronjobs", obj),
        "metadata.name",
        &format!("Invalid value: \"{long}\": must be no more than 52 characters"),
    );
    let cases = [
        ("0 0 * * *", Ok(())),
        ("@every 1h30m", Ok(())),
        ("@weekly", Ok(())),
        ("0 9 * JAN-MAR MON-FRI", Ok(())),
        ("61 * * * *", Err("end of range (61) above maximum (59): 61")),
        ("* * 0 * *", Err("beginning of range (0) below minimum (1): 0")),
        ("5-1 * * * *", Err("beginning of range (5) beyond end of range (1): 5-1")),
        ("*/0 * * * *", Err("step of range should be a positive number: */0")),
        ("x * * * *", Err("failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax")),
        ("@yearlyish", Err("unrecognized descriptor: @yearlyish")),
    ];
    for (spec, want) in cases {
        assert_eq!(parse_schedule(spec), want.map_err(String::from), "{spec}");
    }
}
