//! Tests of Services, ConfigMaps, Secrets, storage and the other groups.

use serde_json::{json, Value};

use super::tests_meta::{cm, create, expect_has, expect_one, update};

fn svc(spec: Value) -> Value {
    json!({"metadata": {"name": "web", "namespace": "default"}, "spec": spec})
}

#[test]
fn services() {
    assert!(create("", "v1", "services", svc(json!({"ports": [{"port": 80}], "selector": {"app": "web"}}))).is_empty());
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({}), "spec.ports", "Required value"),
        (
            json!({"ports": [{"port": 80, "protocol": "HTTP"}]}),
            "spec.ports[0].protocol",
            "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
        ),
        (
            json!({"ports": [{"port": 80}], "type": "Cluster"}),
            "spec.type",
            "Unsupported value: \"Cluster\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
        ),
        (
            json!({"ports": [{"port": 80, "nodePort": 30080}]}),
            "spec.ports[0].nodePort",
            "Forbidden: may not be used when `type` is 'ClusterIP'",
        ),
        (json!({"type": "ExternalName"}), "spec.externalName", "Required value"),
        (
            json!({"ports": [{"port": 80}], "clusterIP": "10.0.0.300"}),
            "spec.clusterIPs[0]",
            "Invalid value: \"10.0.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
        ),
    ];
    for (spec, field, msg) in cases {
        expect_one(&create("", "v1", "services", svc(spec)), field, msg);
    }
    // targetPort defaults to port, so a zero port is reported twice, as in kube.
    let errs = create("", "v1", "services", svc(json!({"ports": [{"port": 0}]})));
    expect_has(&errs, "spec.ports[0].port", "Invalid value: 0: must be between 1 and 65535, inclusive");
    expect_has(&errs, "spec.ports[0].targetPort", "Invalid value: 0: must be between 1 and 65535, inclusive");
    let errs = create("", "v1", "services", svc(json!({"ports": [{"name": "a", "port": 80}, {"port": 81}]})));
    expect_one(&errs, "spec.ports[1].name", "Required value");
    let errs =
        create("", "v1", "services", svc(json!({"ports": [{"name": "a", "port": 80}, {"name": "a", "port": 81}]})));
    expect_one(&errs, "spec.ports[1].name", "Duplicate value: \"a\"");
    // Headless and ExternalName services need no ports.
    assert!(create("", "v1", "services", svc(json!({"clusterIP": "None"}))).is_empty());
    assert!(
        create("", "v1", "services", svc(json!({"type": "ExternalName", "externalName": "example.com."}))).is_empty()
    );
}

#[test]
fn service_cluster_ip_is_immutable() {
    let old = svc(json!({"ports": [{"port": 80}], "clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"]}));
    let new = svc(json!({"ports": [{"port": 80}], "clusterIP": "10.0.0.2", "clusterIPs": ["10.0.0.2"]}));
    expect_one(
        &update("", "v1", "services", new, old.clone()),
        "spec.clusterIPs[0]",
        "Invalid value: [\"10.0.0.2\"]: may not change once set",
    );
    // Leaving the allocated IP out keeps it; switching NodePort -> ClusterIP drops node ports.
    assert!(update("", "v1", "services", svc(json!({"ports": [{"port": 80}]})), old).is_empty());
    let np_old = svc(json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}], "clusterIP": "10.0.0.1"}));
    let np_new = svc(json!({"type": "ClusterIP", "ports": [{"port": 80, "nodePort": 30080}], "clusterIP": "10.0.0.1"}));
    assert!(update("", "v1", "services", np_new, np_old).is_empty());
}

#[test]
fn config_maps_and_secrets() {
    let mut obj = cm("c");
    obj["data"] = json!({"bad key": "v", "ok.key": "v"});
    expect_one(
        &create("", "v1", "configmaps", obj),
        "data[bad key]",
        "Invalid value: \"bad key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
    );
    let mut big = cm("c");
    big["data"] = json!({"a": "x".repeat(1024 * 1024 + 1)});
    expect_one(&create("", "v1", "configmaps", big), "", "Too long: may not be more than 1048576 bytes");

    let mut old = cm("c");
    old["immutable"] = json!(true);
    old["data"] = json!({"a": "1"});
    let mut new = old.clone();
    new["data"] = json!({"a": "2"});
    expect_one(
        &update("", "v1", "configmaps", new, old.clone()),
        "data",
        "Forbidden: field is immutable when `immutable` is set",
    );
    let mut unset = old.clone();
    unset["immutable"] = json!(false);
    expect_one(
        &update("", "v1", "configmaps", unset, old),
        "immutable",
        "Forbidden: field is immutable when `immutable` is set",
    );

    let secret = |data: Value| json!({"metadata": {"name": "s", "namespace": "default"}, "data": data});
    assert!(create("", "v1", "secrets", secret(json!({"k": "dmFsdWU="}))).is_empty());
    expect_one(
        &create("", "v1", "secrets", secret(json!({"k": "not base64!"}))),
        "data[k]",
        "Invalid value: \"<secret contents redacted>\": illegal base64 data at input byte 3",
    );
    let mut tls = secret(json!({"tls.crt": "YQ=="}));
    tls["type"] = json!("kubernetes.io/tls");
    expect_one(&create("", "v1", "secrets", tls.clone()), "data[tls.key]", "Required value");
    let mut retyped = secret(json!({}));
    retyped["type"] = json!("kubernetes.io/tls");
    expect_has(
        &update("", "v1", "secrets", retyped, secret(json!({}))),
        "type",
        "Invalid value: \"kubernetes.io/tls\": field is immutable",
    );
    let mut sd = secret(json!({}));
    sd["stringData"] = json!({"bad/key": "x"});
    expect_has(&create("", "v1", "secrets", sd), "data[bad/key]", "Invalid value: \"bad/key\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
}

#[test]
fn storage_claims_and_volumes() {
    let pvc = |spec: Value| json!({"metadata": {"name": "c", "namespace": "default"}, "spec": spec});
    let errs = create("", "v1", "persistentvolumeclaims", pvc(json!({})));
    expect_has(&errs, "spec.accessModes", "Required value: at least 1 access mode is required");
    expect_has(&errs, "spec.resources[storage]", "Required value");
    assert!(create(
        "",
        "v1",
        "persistentvolumeclaims",
        pvc(json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}))
    )
    .is_empty());
    let claim = |size: &str, mode: &str| json!({"metadata": {"name": "c", "namespace": "default"}, "spec": {"accessModes": [mode], "resources": {"requests": {"storage": size}}}, "status": {"phase": "Bound"}});
    // Bound claims may grow, may gain a volume name and a class, may not change modes.
    let mut grown = claim("2Gi", "ReadWriteOnce");
    grown["spec"]["volumeName"] = json!("pv-1");
    grown["spec"]["storageClassName"] = json!("standard");
    assert!(update("", "v1", "persistentvolumeclaims", grown, claim("1Gi", "ReadWriteOnce")).is_empty());
    let errs = update("", "v1", "persistentvolumeclaims", claim("1Gi", "ReadWriteMany"), claim("1Gi", "ReadWriteOnce"));
    expect_one(&errs, "spec", "Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims");
    let pv = json!({"metadata": {"name": "v"}, "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}, "hostPath": {"path": "/tmp"}}});
    assert!(create("", "v1", "persistentvolumes", pv).is_empty());
    let errs = create("", "v1", "persistentvolumes", json!({"metadata": {"name": "v"}, "spec": {}}));
    expect_has(&errs, "spec.accessModes", "Required value");
    expect_has(&errs, "spec.capacity", "Required value");
    expect_has(&errs, "spec", "Required value: must specify a volume type");
}

#[test]
fn rbac_and_others() {
    let role = json!({"metadata": {"name": "r", "namespace": "default"}, "rules": [{"apiGroups": [""], "resources": ["pods"]}]});
    expect_one(
        &create("rbac.authorization.k8s.io", "v1", "roles", role),
        "rules[0].verbs",
        "Required value: verbs must contain at least one value",
    );
    let binding = |role: &str| json!({"metadata": {"name": "b"}, "roleRef": {"kind": "ClusterRole", "name": role}, "subjects": [{"kind": "User", "name": "alice"}]});
    assert!(create("rbac.authorization.k8s.io", "v1", "clusterrolebindings", binding("view")).is_empty());
    expect_one(
        &update("rbac.authorization.k8s.io", "v1", "clusterrolebindings", binding("edit"), binding("view")),
        "roleRef",
        "Invalid value: {\"APIGroup\":\"rbac.authorization.k8s.io\",\"Kind\":\"ClusterRole\",\"Name\":\"edit\"}: cannot change roleRef",
    );

    let ns = json!({"metadata": {"name": "team"}, "spec": {"finalizers": ["custom"]}});
    expect_one(
        &create("", "v1", "namespaces", ns),
        "spec.finalizers",
        "Invalid value: \"custom\": name is neither a standard finalizer name nor is it fully qualified",
    );

    let ing = json!({"metadata": {"name": "i", "namespace": "default"}, "spec": {"rules": [{"host": "example.com", "http": {"paths": [{"path": "/", "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}});
    expect_one(
        &create("networking.k8s.io", "v1", "ingresses", ing),
        "spec.rules[0].http.paths[0].pathType",
        "Required value: pathType must be specified",
    );

    let pc = json!({"metadata": {"name": "system-mine"}, "value": 10});
    expect_one(
        &create("scheduling.k8s.io", "v1", "priorityclasses", pc),
        "metadata.name",
        "Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class",
    );

    let crd = json!({"metadata": {"name": "widgets.example.com"}, "spec": {
        "group": "example.com", "scope": "Namespaced",
        "names": {"plural": "widgets", "kind": "Widget"},
        "versions": [{"name": "v1", "served": true, "storage": false, "schema": {"openAPIV3Schema": {"type": "object"}}}]}});
    let errs = create("apiextensions.k8s.io", "v1", "customresourcedefinitions", crd);
    assert_eq!(errs.len(), 1, "{errs:#?}");
    assert_eq!(errs[0].field, "spec.versions");
    assert!(errs[0].message.ends_with(": must have exactly one version marked as storage version"));

    let ev = json!({"metadata": {"name": "e.1", "namespace": "default"}, "involvedObject": {"kind": "Pod", "apiVersion": "v1", "name": "p", "namespace": "other"}});
    expect_one(
        &create("", "v1", "events", ev),
        "involvedObject.namespace",
        "Invalid value: \"other\": does not match event.namespace",
    );

    let hpa = json!({"metadata": {"name": "h", "namespace": "default"}, "spec": {"maxReplicas": 0, "scaleTargetRef": {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}}});
    let errs = create("autoscaling", "v2", "horizontalpodautoscalers", hpa);
    expect_has(&errs, "spec.maxReplicas", "Invalid value: 0: must be greater than 0");
    expect_has(&errs, "spec.maxReplicas", "Invalid value: 0: must be greater than or equal to `minReplicas`");
}
