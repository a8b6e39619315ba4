//! Tests of pod and pod template validation and the pod update rules.

use serde_json::{json, Value};

use super::tests_meta::{create, expect_has, expect_one, update};

fn pod(spec: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"}, "spec": spec})
}

fn web() -> Value {
    pod(json!({"containers": [{"name": "web", "image": "nginx"}]}))
}

fn pod_create(obj: Value) -> Vec<crate::error::Cause> {
    create("", "v1", "pods", obj)
}

#[test]
fn defaulted_pod_is_valid() {
    assert!(pod_create(web()).is_empty());
    let full = pod(json!({
        "containers": [{
            "name": "web", "image": "nginx:1.25",
            "ports": [{"name": "http", "containerPort": 80}],
            "env": [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            "livenessProbe": {"httpGet": {"port": "http"}},
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
        }],
        "initContainers": [{"name": "init", "image": "busybox", "command": ["true"]}],
        "volumes": [{"name": "data"}, {"name": "cfg", "configMap": {"name": "c"}}],
        "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule"}],
    }));
    assert!(pod_create(full).is_empty());
}

#[test]
fn container_rules() {
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"containers": []}), "spec.containers", "Required value"),
        (json!({"containers": [{"name": "web"}]}), "spec.containers[0].image", "Required value"),
        (json!({"containers": [{"image": "nginx"}]}), "spec.containers[0].name", "Required value"),
        (
            json!({"containers": [{"name": "web", "image": "nginx"}, {"name": "web", "image": "nginx"}]}),
            "spec.containers[1].name",
            "Duplicate value: \"web\"",
        ),
        (
            json!({"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 70000}]}]}),
            "spec.containers[0].ports[0].containerPort",
            "Invalid value: 70000: must be between 1 and 65535, inclusive",
        ),
        (
            json!({"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80, "protocol": "tcp"}]}]}),
            "spec.containers[0].ports[0].protocol",
            "Unsupported value: \"tcp\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
        ),
        (
            json!({"containers": [{"name": "web", "image": "nginx"}], "restartPolicy": "Sometimes"}),
            "spec.restartPolicy",
            "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
        ),
        (
            json!({"containers": [{"name": "web", "image": "nginx"}], "dnsPolicy": "Cluster"}),
            "spec.dnsPolicy",
            "Unsupported value: \"Cluster\": supported values: \"ClusterFirstWithHostNet\", \"ClusterFirst\", \"Default\", \"None\"",
        ),
        (
            json!({"containers": [{"name": "web", "image": "nginx", "resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}}]}),
            "spec.containers[0].resources.requests",
            "Invalid value: \"2\": must be less than or equal to cpu limit of 1",
        ),
        (
            json!({"containers": [{"name": "web", "image": "nginx", "volumeMounts": [{"name": "nope", "mountPath": "/x"}]}]}),
            "spec.containers[0].volumeMounts[0].name",
            "Not found: \"nope\"",
        ),
        (
            json!({"containers": [{"name": "web", "image": "nginx"}], "volumes": [{"name": "a"}, {"name": "a"}]}),
            "spec.volumes[1].name",
            "Duplicate value: \"a\"",
        ),
        (
            json!({"containers": [{"name": "web", "image": "nginx", "imagePullPolicy": "Sometimes"}]}),
            "spec.containers[0].imagePullPolicy",
            "Unsupported value: \"Sometimes\": supported values: \"Always\", \"IfNotPresent\", \"Never\"",
        ),
        (
            json!({"containers": [{"name": "web", "image": " nginx"}]}),
            "spec.containers[0].image",
            "Invalid value: \" nginx\": must not have leading or trailing whitespace",
        ),
    ];
    for (spec, field, msg) in cases {
        expect_one(&pod_create(pod(spec)), field, msg);
    }
    let errs = pod_create(pod(json!({"containers": [{"name": "Web", "image": "nginx"}]})));
    expect_one(
        &errs,
        "spec.containers[0].name",
        "Invalid value: \"Web\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    );
    // Requests default from limits on pods, so a bare limit is fine; a bad quantity is not.
    let errs = pod_create(pod(
        json!({"containers": [{"name": "w", "image": "i", "resources": {"limits": {"memory": "1Gx"}}}]}),
    ));
    expect_has(
        &errs,
        "spec.containers[0].resources.limits[memory]",
        "Invalid value: \"1Gx\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    );
    // Init containers share the name space with regular ones and cannot have probes.
    let errs = pod_create(pod(json!({
        "containers": [{"name": "a", "image": "i"}],
        "initContainers": [{"name": "a", "image": "i", "readinessProbe": {"exec": {"command": ["x"]}}}],
    })));
    expect_has(&errs, "spec.initContainers[0].name", "Duplicate value: \"a\"");
    expect_has(
        &errs,
        "spec.initContainers[0].readinessProbe",
        "Forbidden: may not be set for init containers without restartPolicy=Always",
    );
}

#[test]
fn tolerations_and_probes() {
    let errs = pod_create(pod(json!({
        "containers": [{"name": "w", "image": "i", "livenessProbe": {"exec": {"command": ["x"]}, "successThreshold": 2}}],
        "tolerations": [{"operator": "Equal", "value": "x"}],
    })));
    expect_has(&errs, "spec.containers[0].livenessProbe.successThreshold", "Invalid value: 2: must be 1");
    expect_has(
        &errs,
        "spec.tolerations[0].operator",
        "Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
    );
    let errs = pod_create(pod(json!({"containers": [{"name": "w", "image": "i", "readinessProbe": {}}]})));
    expect_one(&errs, "spec.containers[0].readinessProbe", "Required value: must specify a handler type");
}

#[test]
fn pod_update_rules() {
    // Images may change (the pull policy defaulted from the old tag stays, as
    // a client editing the stored object would send it).
    let mut new = web();
    new["spec"]["containers"][0]["image"] = json!("nginx:2");
    new["spec"]["containers"][0]["imagePullPolicy"] = json!("Always");
    assert!(update("", "v1", "pods", new, web()).is_empty());
    // Anything else may not.
    let mut new = web();
    new["spec"]["containers"][0]["env"] = json!([{"name": "A", "value": "1"}]);
    let errs = update("", "v1", "pods", new, web());
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(errs[0].field, "spec");
    assert_eq!(errs[0].reason, "FieldValueForbidden");
    assert!(errs[0].message.starts_with("Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"), "{}", errs[0].message);
    // Containers can't be added.
    let mut new = web();
    new["spec"]["containers"] = json!([{"name": "web", "image": "nginx"}, {"name": "b", "image": "x"}]);
    expect_one(
        &update("", "v1", "pods", new, web()),
        "spec.containers",
        "Forbidden: pod updates may not add or remove containers",
    );
    // Tolerations may be added, not removed.
    let mut new = web();
    new["spec"]["tolerations"] = json!([{"key": "k", "operator": "Exists"}]);
    let old_with_defaults = web();
    assert!(update("", "v1", "pods", new.clone(), old_with_defaults).is_empty());
    let mut old = new;
    old["spec"]["tolerations"] = json!([{"key": "k", "operator": "Exists"}, {"key": "other", "operator": "Exists"}]);
    let mut removed = web();
    removed["spec"]["tolerations"] = json!([{"key": "k", "operator": "Exists"}]);
    expect_has(
        &update("", "v1", "pods", removed, old),
        "spec.tolerations",
        "Forbidden: existing toleration can not be modified except its tolerationSeconds",
    );
    // activeDeadlineSeconds may only shrink.
    let mut old = web();
    old["spec"]["activeDeadlineSeconds"] = json!(10);
    let mut new = old.clone();
    new["spec"]["activeDeadlineSeconds"] = json!(20);
    expect_one(
        &update("", "v1", "pods", new, old),
        "spec.activeDeadlineSeconds",
        "Invalid value: 20: must be less than or equal to previous value",
    );
}

#[test]
fn pod_template_object() {
    let obj = json!({"metadata": {"name": "t", "namespace": "default"}, "template": {"metadata": {"labels": {"a": "-"}}, "spec": {"containers": [{"name": "c"}]}}});
    let errs = create("", "v1", "podtemplates", obj);
    expect_has(&errs, "template.spec.containers[0].image", "Required value");
    assert!(errs.iter().any(|c| c.field == "template.labels"), "{errs:#?}");
}
