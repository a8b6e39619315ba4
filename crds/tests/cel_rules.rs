//! Every CEL rule in the CRDs compiles, and the rules accept and reject sample values as
//! intended (evaluated with the `cel` crate, as the API server does).

use capstan_crds::crds;
use std::collections::HashMap;
use std::sync::Arc;

use cel::objects::{Key, Map};
use cel::{Context, Program, Value as CelValue};
use serde_json::{json, Value};

/// JSON to CEL the way Kubernetes types it: integers are `int`, never `uint`.
fn to_cel(value: Value) -> CelValue {
    match value {
        Value::Null => CelValue::Null,
        Value::Bool(b) => CelValue::Bool(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => CelValue::Int(i),
            None => CelValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => CelValue::String(Arc::new(s)),
        Value::Array(items) => CelValue::List(Arc::new(items.into_iter().map(to_cel).collect())),
        Value::Object(fields) => {
            let map: HashMap<Key, CelValue> = fields.into_iter().map(|(k, v)| (Key::from(k), to_cel(v))).collect();
            CelValue::Map(Map::from(map))
        }
    }
}

/// (schema path, rule) of every `x-kubernetes-validations` entry under `node`.
fn rules(node: &Value, path: &str, out: &mut Vec<(String, String)>) {
    if let Some(list) = node.get("x-kubernetes-validations").and_then(Value::as_array) {
        for rule in list {
            let text = rule["rule"].as_str().expect("rule is a string");
            out.push((path.to_string(), text.to_string()));
            assert!(rule["message"].is_string(), "{path}: rule {text:?} has no message");
        }
    }
    if let Some(props) = node.get("properties").and_then(Value::as_object) {
        for (name, child) in props {
            rules(child, &format!("{path}.{name}"), out);
        }
    }
    if let Some(items) = node.get("items") {
        rules(items, &format!("{path}[]"), out);
    }
}

fn all_rules() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for crd in crds() {
        let schema = serde_json::to_value(&crd.spec.versions[0].schema).expect("schema");
        let name = crd.metadata.name.unwrap_or_default();
        rules(&schema["openAPIV3Schema"], &name, &mut out);
    }
    out
}

fn eval(rule: &str, this: Value, old: Option<Value>) -> bool {
    let program = Program::compile(rule).unwrap_or_else(|e| panic!("{rule}: {e}"));
    let mut ctx = Context::default();
    ctx.add_variable_from_value("self", to_cel(this));
    if let Some(old) = old {
        ctx.add_variable_from_value("oldSelf", to_cel(old));
    }
    match program.execute(&ctx) {
        Ok(CelValue::Bool(b)) => b,
        other => panic!("{rule}: not a bool: {other:?}"),
    }
}

fn rule_at(path: &str) -> String {
    all_rules().into_iter().find(|(p, _)| p == path).map(|(_, r)| r).unwrap_or_else(|| panic!("no rule at {path}"))
}

#[test]
fn every_rule_compiles() {
    let rules = all_rules();
    assert!(rules.len() >= 6, "{rules:#?}");
    for (path, rule) in rules {
        assert!(Program::compile(&rule).is_ok(), "{path}: {rule:?} does not compile");
    }
}

#[test]
fn control_plane_replicas_must_be_odd() {
    let rule = rule_at("workloadclusters.capstan.io.spec.controlPlane");
    assert!(eval(&rule, json!({"replicas": 3}), None));
    assert!(!eval(&rule, json!({"replicas": 2}), None));
}

#[test]
fn autoscaling_bounds_are_ordered() {
    let rule = rule_at("workloadclusters.capstan.io.spec.workers.autoscaling");
    assert!(eval(&rule, json!({"minReplicas": 1, "maxReplicas": 5}), None));
    assert!(!eval(&rule, json!({"minReplicas": 6, "maxReplicas": 5}), None));
}

#[test]
fn cluster_names_are_dns_labels() {
    let rule = rule_at("workloadclusters.capstan.io");
    let named = |n: &str| json!({"metadata": {"name": n}});
    assert!(eval(&rule, named("edge-001"), None));
    assert!(!eval(&rule, named(&"x".repeat(64)), None));
}

#[test]
fn immutable_fields_reject_changes() {
    for path in [
        "workloadclusters.capstan.io.spec.infrastructure",
        "workloadclusters.capstan.io.spec.clusterNetwork",
        "machinepools.capstan.io.spec.clusterName",
    ] {
        let rule = rule_at(path);
        assert!(eval(&rule, json!({"a": "x"}), Some(json!({"a": "x"}))), "{path}");
        assert!(!eval(&rule, json!({"a": "y"}), Some(json!({"a": "x"}))), "{path}");
    }
}
