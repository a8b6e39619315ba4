//! Cases on the real built-in definitions (`crate::openapi::definitions()`):
//! Deployment and Pod managedFields as kube-apiserver writes them, conflict
//! wording, no-op re-apply, before-first-apply, client-side apply upgrade,
//! status reset, the Update-manager cap and config errors.

use serde_json::{json, Value};

use super::super::fields_v1::{from_value, to_json_string};
use super::super::{apply, update, ApplyError, Manager, ResetFields, SsaSchema, LAST_APPLIED};
use super::T0;
use crate::patch::SchemaCursor;

const T1: &str = "2024-01-01T00:01:00Z";

fn deployment_schema() -> Option<&'static SsaSchema> {
    SsaSchema::builtin("io.k8s.api.apps.v1.Deployment")
}

fn mgr<'a>(name: &'a str, time: &'a str) -> Manager<'a> {
    Manager { name, api_version: "apps/v1", subresource: "", time }
}

fn deployment(replicas: i64, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "nginx", "namespace": "default"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "nginx"}},
            "template": {
                "metadata": {"labels": {"app": "nginx"}},
                "spec": {"containers": [{"name": "nginx", "image": image, "ports": [{"containerPort": 80}]}]}
            }
        }
    })
}

fn entries(obj: &Value) -> Vec<Value> {
    obj.pointer("/metadata/managedFields").and_then(Value::as_array).cloned().unwrap_or_default()
}

fn fields_bytes(entry: &Value) -> String {
    to_json_string(&from_value(entry.get("fieldsV1").unwrap_or(&Value::Null)).unwrap_or_default())
}

fn apply_ok(live: Option<&Value>, cfg: &Value, m: &Manager<'_>, force: bool) -> Value {
    match apply(live, cfg, m, force, deployment_schema(), ResetFields::Status) {
        Ok(v) => v,
        Err(e) => panic!("{}", e.message()),
    }
}

#[test]
fn deployment_apply_records_kube_fields_v1() {
    let obj = apply_ok(None, &deployment(2, "nginx:1.14.2"), &mgr("kubectl", T0), false);
    let e = entries(&obj);
    assert_eq!(e.len(), 1);
    assert_eq!(
        fields_bytes(&e[0]),
        r#"{"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}"#
    );
    let mut meta = e[0].clone();
    if let Value::Object(m) = &mut meta {
        m.remove("fieldsV1");
    }
    assert_eq!(
        meta,
        json!({"apiVersion": "apps/v1", "fieldsType": "FieldsV1", "manager": "kubectl", "operation": "Apply", "time": T0})
    );
    assert_eq!(obj.pointer("/spec/replicas"), Some(&json!(2)));

    // An identical apply later changes nothing, not even the time.
    let again = apply_ok(Some(&obj), &deployment(2, "nginx:1.14.2"), &mgr("kubectl", T1), false);
    assert_eq!(again, obj);
    // A changing apply stamps the new time.
    let changed = apply_ok(Some(&obj), &deployment(3, "nginx:1.14.2"), &mgr("kubectl", T1), false);
    assert_eq!(entries(&changed)[0].get("time"), Some(&json!(T1)));
}

#[test]
fn conflict_wording_matches_kube() {
    let mut live = deployment(2, "nginx:1.14.2");
    let m = mgr("kubectl-client-side-apply", T0);
    assert!(update(None, &mut live, &m, deployment_schema(), ResetFields::Status).is_ok());
    let cse = &entries(&live)[0];
    assert_eq!(cse.get("operation"), Some(&json!("Update")));
    assert!(fields_bytes(cse).contains(
        r#""f:ports":{".":{},"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}"#
    ));

    let one = apply(
        Some(&live),
        &deployment(3, "nginx:1.14.2"),
        &mgr("other", T1),
        false,
        deployment_schema(),
        ResetFields::Status,
    );
    let Err(err) = one else { panic!("expected a conflict") };
    assert_eq!(err.code(), 409);
    assert_eq!(
        err.message(),
        r#"Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas"#
    );
    assert_eq!(
        err.causes(),
        vec![(
            "FieldManagerConflict".to_string(),
            r#"conflict with "kubectl-client-side-apply" using apps/v1"#.to_string(),
            ".spec.replicas".to_string()
        )]
    );

    let two = apply(
        Some(&live),
        &deployment(3, "nginx:2"),
        &mgr("other", T1),
        false,
        deployment_schema(),
        ResetFields::Status,
    );
    let Err(err) = two else { panic!("expected conflicts") };
    assert_eq!(
        err.message(),
        "Apply failed with 2 conflicts: conflicts with \"kubectl-client-side-apply\" using apps/v1:\n- .spec.replicas\n- .spec.template.spec.containers[name=\"nginx\"].image"
    );

    // Forcing moves the fields; the same value stays shared.
    let forced = apply_ok(Some(&live), &deployment(3, "nginx:1.14.2"), &mgr("other", T1), true);
    let e = entries(&forced);
    assert_eq!(e.len(), 2);
    assert_eq!(e[0].get("manager"), Some(&json!("other")));
    assert!(!fields_bytes(&e[1]).contains("f:replicas"));
    assert!(fields_bytes(&e[1]).contains("f:image"));
}

#[test]
fn apply_to_object_without_managed_fields_blames_before_first_apply() {
    let mut live = deployment(2, "nginx:1.14.2");
    live["metadata"]["uid"] = json!("u-1");
    let err = apply(
        Some(&live),
        &deployment(5, "nginx:1.14.2"),
        &mgr("a", T0),
        false,
        deployment_schema(),
        ResetFields::Status,
    );
    let Err(err) = err else { panic!("expected a conflict") };
    assert_eq!(
        err.message(),
        r#"Apply failed with 1 conflict: conflict with "before-first-apply" using apps/v1: .spec.replicas"#
    );
    // Non-apply writes to an object without managedFields are not tracked.
    let mut new = deployment(3, "nginx:1.14.2");
    new["metadata"]["uid"] = json!("u-1");
    assert!(update(Some(&live), &mut new, &mgr("kubectl-edit", T0), deployment_schema(), ResetFields::Status).is_ok());
    assert!(new.pointer("/metadata/managedFields").is_none());
}

#[test]
fn kubectl_upgrades_from_client_side_apply() {
    let cfg = deployment(2, "nginx:1.14.2");
    let mut live = cfg.clone();
    live["metadata"]["annotations"] = json!({LAST_APPLIED: serde_json::to_string(&cfg).unwrap_or_default()});
    assert!(update(None, &mut live, &mgr("kubectl-client-side-apply", T0), deployment_schema(), ResetFields::Status)
        .is_ok());

    // Server-side apply by "kubectl" takes over fields recorded in last-applied.
    let obj = apply_ok(Some(&live), &deployment(4, "nginx:1.14.2"), &mgr("kubectl", T1), false);
    assert_eq!(obj.pointer("/spec/replicas"), Some(&json!(4)));
    let annotation = obj.pointer("/metadata/annotations").and_then(|a| a.get(LAST_APPLIED)).and_then(Value::as_str);
    let annotation = annotation.unwrap_or_default();
    assert!(annotation.ends_with('\n') && annotation.contains(r#""replicas":4"#), "{annotation}");

    // Another manager does not get that pass.
    let err = apply(
        Some(&live),
        &deployment(4, "nginx:1.14.2"),
        &mgr("other", T1),
        false,
        deployment_schema(),
        ResetFields::Status,
    );
    assert!(matches!(err, Err(ApplyError::Conflicts(_))));
}

#[test]
fn status_is_reset_on_the_main_resource_and_only_status_on_the_subresource() {
    let mut cfg = deployment(1, "nginx:1");
    cfg["status"] = json!({"replicas": 7});
    let obj = apply_ok(None, &cfg, &mgr("a", T0), false);
    assert!(obj.get("status").is_none());
    assert!(!fields_bytes(&entries(&obj)[0]).contains("f:status"));

    let status_cfg = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "nginx"},
        "spec": {"replicas": 9}, "status": {"replicas": 1}});
    let m = Manager { name: "ctrl", api_version: "apps/v1", subresource: "status", time: T1 };
    let res = apply(Some(&obj), &status_cfg, &m, false, deployment_schema(), ResetFields::AllButStatus);
    let Ok(with_status) = res else { panic!("{res:?}") };
    assert_eq!(with_status.pointer("/status/replicas"), Some(&json!(1)));
    assert_eq!(with_status.pointer("/spec/replicas"), Some(&json!(1)));
    let e = entries(&with_status);
    let ctrl = e.iter().find(|e| e.get("manager") == Some(&json!("ctrl"))).cloned().unwrap_or_default();
    assert_eq!(ctrl.get("subresource"), Some(&json!("status")));
    assert_eq!(fields_bytes(&ctrl), r#"{"f:status":{"f:replicas":{}}}"#);
}

#[test]
fn pod_ports_keyed_by_port_and_protocol() {
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "i", "ports": [
            {"containerPort": 53, "protocol": "UDP"}, {"containerPort": 53}, {"containerPort": 443}]}]}});
    let schema = SsaSchema::builtin("io.k8s.api.core.v1.Pod");
    let m = Manager { name: "kubectl", api_version: "v1", subresource: "", time: T0 };
    let res = apply(None, &pod, &m, false, schema, ResetFields::Status);
    let Ok(obj) = res else { panic!("{res:?}") };
    assert_eq!(
        fields_bytes(&entries(&obj)[0]),
        r#"{"f:spec":{"f:containers":{"k:{\"name\":\"c\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":53,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}},"k:{\"containerPort\":53,\"protocol\":\"UDP\"}":{".":{},"f:containerPort":{},"f:protocol":{}},"k:{\"containerPort\":443,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}"#
    );
}

#[test]
fn updates_stamp_time_only_on_change_and_are_capped() {
    let mut live = deployment(1, "i");
    assert!(update(None, &mut live, &mgr("creator", T0), deployment_schema(), ResetFields::Status).is_ok());
    let mut same = live.clone();
    assert!(update(Some(&live), &mut same, &mgr("noop", T1), deployment_schema(), ResetFields::Status).is_ok());
    assert_eq!(same, live);
    for i in 0..12 {
        let mut new = live.clone();
        new["metadata"]["labels"] = json!({format!("l{i}"): "x"});
        if let Some(Value::Object(l)) = live.pointer("/metadata/labels") {
            for (k, v) in l {
                new["metadata"]["labels"][k] = v.clone();
            }
        }
        let name = format!("m{i:02}");
        let t = format!("2024-01-01T00:{:02}:00Z", i + 2);
        assert!(update(Some(&live), &mut new, &mgr(&name, &t), deployment_schema(), ResetFields::Status).is_ok());
        live = new;
    }
    let names: Vec<String> =
        entries(&live).iter().filter_map(|e| e.get("manager").and_then(Value::as_str).map(String::from)).collect();
    assert_eq!(names.len(), 10, "{names:?}");
    assert!(names.contains(&"ancient-changes".to_string()), "{names:?}");
    assert!(!names.contains(&"creator".to_string()));
}

#[test]
fn config_errors_use_kube_wording() {
    let s = deployment_schema;
    let m = mgr("a", T0);
    let mut dup = deployment(1, "i");
    dup["spec"]["template"]["spec"]["containers"] = json!([{"name": "nginx"}, {"name": "nginx"}]);
    let err = apply(None, &dup, &m, false, s(), ResetFields::Status).err().map(|e| (e.code(), e.message()));
    assert_eq!(
        err,
        Some((500, "failed to create typed patch object (default/nginx; apps/v1, Kind=Deployment): .spec.template.spec.containers: duplicate entries for key [name=\"nginx\"]".to_string()))
    );
    let mut nokey = deployment(1, "i");
    nokey["spec"]["template"]["spec"]["containers"] = json!([{"image": "x"}]);
    let err = apply(None, &nokey, &m, false, s(), ResetFields::Status).err().map(|e| e.message());
    assert_eq!(
        err.as_deref(),
        Some("failed to create typed patch object (default/nginx; apps/v1, Kind=Deployment): .spec.template.spec.containers: element 0: associative list with keys has an element that omits all key fields [\"name\"] (and doesn't have default values for any key fields)")
    );
    let mut bad = deployment(1, "i");
    bad["spec"]["replicas"] = json!("3");
    let err = apply(None, &bad, &m, false, s(), ResetFields::Status).err().map(|e| e.message());
    assert!(
        err.as_deref().is_some_and(|e| e.ends_with(".spec.replicas: expected numeric (int or float), got string")),
        "{err:?}"
    );

    let mut with_mf = deployment(1, "i");
    with_mf["metadata"]["managedFields"] = json!([]);
    let err = apply(None, &with_mf, &m, false, s(), ResetFields::Status).err().map(|e| (e.code(), e.message()));
    assert_eq!(err, Some((400, "metadata.managedFields must be nil".to_string())));
    let mut old = deployment(1, "i");
    old["apiVersion"] = json!("apps/v1beta1");
    let err = apply(None, &old, &m, false, s(), ResetFields::Status).err().map(|e| e.message());
    assert_eq!(err.as_deref(), Some("invalid object type: apps/v1beta1, Kind=Deployment"));

    let mut live = deployment(1, "i");
    live["metadata"]["managedFields"] =
        json!([{"manager": "x", "operation": "Bad", "apiVersion": "v1", "fieldsType": "FieldsV1"}]);
    let err = apply(Some(&live), &deployment(1, "i"), &m, false, s(), ResetFields::Status).err().map(|e| e.message());
    assert_eq!(err.as_deref(), Some("failed to decode managed fields: operation must be `Apply` or `Update`"));
}

#[test]
fn custom_resource_inline_schema() {
    let schema = json!({"type": "object", "properties": {
        "spec": {"type": "object", "properties": {
            "items": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                "items": {"type": "object", "properties": {"name": {"type": "string"}, "size": {"type": "integer"}}}},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
        }}
    }});
    let defs = serde_json::Map::new();
    let compiled = SsaSchema::compile(SchemaCursor::from_node(&defs, &schema));
    let cursor = || Some(&compiled);
    let m = Manager { name: "a", api_version: "example.com/v1", subresource: "", time: T0 };
    let cfg = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
        "spec": {"items": [{"name": "x", "size": 1}], "free": {"k": {"n": [1]}}}});
    let res = apply(None, &cfg, &m, false, cursor(), ResetFields::Status);
    let Ok(obj) = res else { panic!("{res:?}") };
    assert_eq!(
        fields_bytes(&entries(&obj)[0]),
        r#"{"f:spec":{"f:free":{"f:k":{".":{},"f:n":{}}},"f:items":{"k:{\"name\":\"x\"}":{".":{},"f:name":{},"f:size":{}}}}}"#
    );
    let m2 = Manager { name: "b", ..m };
    let cfg2 = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
        "spec": {"items": [{"name": "y", "size": 2}]}});
    let res = apply(Some(&obj), &cfg2, &m2, false, cursor(), ResetFields::Status);
    let Ok(obj2) = res else { panic!("{res:?}") };
    assert_eq!(obj2.pointer("/spec/items"), Some(&json!([{"name": "x", "size": 1}, {"name": "y", "size": 2}])));
    let mut bad = cfg2.clone();
    bad["spec"]["items"] = json!([{"size": 3}]);
    let err = apply(Some(&obj), &bad, &m2, false, cursor(), ResetFields::Status).err().map(|e| e.message());
    assert!(err.is_some_and(|e| e.starts_with(
        "failed to create typed patch object (/w; example.com/v1, Kind=Widget): .spec.items: element 0:"
    )));
}

#[test]
fn odd_inputs_do_not_panic() {
    let m = mgr("a", T0);
    let mut odd_live = deployment(1, "i");
    odd_live["metadata"]["managedFields"] = json!([{"manager": "x", "operation": "Update", "apiVersion": "apps/v1",
        "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"k:not json": {}}}}]);
    let configs = [
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": []}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {"containers": "x"}}}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"template": {"spec": {"containers": [null, 1, []]}}}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": null, "spec": {"replicas": null}}),
        json!([1, 2]),
        json!({}),
    ];
    let lives = [
        None,
        Some(deployment(1, "i")),
        Some(odd_live),
        Some(json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": 3})),
    ];
    for cfg in &configs {
        for live in &lives {
            for schema in [deployment_schema(), None] {
                let _ = apply(live.as_ref(), cfg, &m, false, schema, ResetFields::Status);
                let _ = apply(live.as_ref(), cfg, &m, true, schema, ResetFields::AllButStatus);
                let mut new = cfg.clone();
                let _ = update(live.as_ref(), &mut new, &m, schema, ResetFields::None);
            }
        }
    }
}
