//! Table-driven tests of the apply engine: a small operation runner shared by
//! the ported structured-merge-diff cases (`smd`, `merge_order`), the built-in type cases
//! (`kube`) and the FieldsV1 wire format cases (`wire`).

mod kube;
mod merge_order;
mod smd;
mod wire;

use serde_json::{json, Map, Value};

use super::{apply, update, ApplyError, Manager, ResetFields, SsaSchema};
use crate::patch::SchemaCursor;

pub(super) const T0: &str = "2024-01-01T00:00:00Z";

/// One request of a scenario.
pub(super) enum Op {
    /// Apply by manager (force = false).
    Apply(&'static str, Value),
    /// Apply by manager with force.
    Force(&'static str, Value),
    /// Non-apply write of the full object by manager.
    Update(&'static str, Value),
    /// Apply that must fail with conflicts on these (manager, path) pairs.
    Conflict(&'static str, Value, &'static [(&'static str, &'static str)]),
}

/// The outcome of a scenario: the final object (without apiVersion and
/// managedFields) and each manager's fieldsV1.
pub(super) struct Outcome {
    pub object: Value,
    pub managed: Vec<(String, String, Value)>,
}

fn with_version(v: &Value, api_version: &str) -> Value {
    let mut v = v.clone();
    if let Value::Object(m) = &mut v {
        m.entry("apiVersion").or_insert_with(|| api_version.into());
    }
    v
}

/// Runs `ops` from an absent object against `schema` (a root node whose
/// `$ref`s resolve in `defs`), at apiVersion `v1` unless the objects say otherwise.
pub(super) fn run(defs: &Map<String, Value>, schema: Option<&Value>, ops: &[Op]) -> Outcome {
    let mut live: Option<Value> = None;
    let compiled = schema.map(|s| SsaSchema::compile(SchemaCursor::from_node(defs, s)));
    let cursor = compiled.as_ref();
    for (i, op) in ops.iter().enumerate() {
        let (name, obj) = match op {
            Op::Apply(n, o) | Op::Force(n, o) | Op::Update(n, o) | Op::Conflict(n, o, _) => (*n, o),
        };
        let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or("v1").to_string();
        let mgr = Manager { name, api_version: &api_version, subresource: "", time: T0 };
        let obj = with_version(obj, &api_version);
        match op {
            Op::Apply(..) | Op::Force(..) => {
                let force = matches!(op, Op::Force(..));
                match apply(live.as_ref(), &obj, &mgr, force, cursor, ResetFields::None) {
                    Ok(v) => live = Some(v),
                    Err(e) => panic!("op {i}: {}", e.message()),
                }
            }
            Op::Update(..) => {
                let mut new = obj.clone();
                if let (Some(Value::Object(l)), Value::Object(n)) =
                    (live.as_ref().and_then(|l| l.get("metadata")), &mut new)
                {
                    let meta = n.entry("metadata").or_insert_with(|| json!({}));
                    if let (Some(mf), Value::Object(meta)) = (l.get("managedFields"), meta) {
                        meta.insert("managedFields".into(), mf.clone());
                    }
                }
                if let Err(e) = update(live.as_ref(), &mut new, &mgr, cursor, ResetFields::None) {
                    panic!("op {i}: {}", e.message());
                }
                live = Some(new);
            }
            Op::Conflict(_, _, want) => match apply(live.as_ref(), &obj, &mgr, false, cursor, ResetFields::None) {
                Err(ApplyError::Conflicts(cs)) => {
                    let mut got: Vec<(String, String)> =
                        cs.iter().map(|c| (c.manager.clone(), c.path.clone())).collect();
                    let mut want: Vec<(String, String)> =
                        want.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
                    got.sort();
                    want.sort();
                    assert_eq!(got, want, "op {i}");
                }
                other => panic!("op {i}: expected conflicts, got {other:?}"),
            },
        }
    }
    let raw = live.unwrap_or(Value::Null);
    let mut object = raw.clone();
    let mut managed = Vec::new();
    if let Value::Object(o) = &mut object {
        o.remove("apiVersion");
        if let Some(Value::Object(meta)) = o.get_mut("metadata") {
            if let Some(Value::Array(entries)) = meta.remove("managedFields") {
                for e in entries {
                    let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    managed.push((s("manager"), s("operation"), e.get("fieldsV1").cloned().unwrap_or(Value::Null)));
                }
            }
            if meta.is_empty() {
                o.remove("metadata");
            }
        }
    }
    Outcome { object, managed }
}

/// Asserts the final object and every manager's (operation, fieldsV1).
pub(super) fn check(out: &Outcome, object: Value, managed: &[(&str, &str, Value)]) {
    assert_eq!(out.object, object, "object");
    let mut got: Vec<(String, String, Value)> = out.managed.clone();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want: Vec<(String, String, Value)> =
        managed.iter().map(|(m, o, f)| (m.to_string(), o.to_string(), f.clone())).collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want, "managed fields");
}
