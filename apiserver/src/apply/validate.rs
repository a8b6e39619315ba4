//! Go's `TypedValue.Validate` for the applied configuration (kube's
//! `ObjectToTyped` of the patch object): scalar types, list and map shapes,
//! associative list keys and duplicate keys. Errors carry Go's wording and
//! path prefixes (`.spec.replicas: expected numeric (int or float), got string`).
//! Unknown fields are accepted (our schemas may lack fields kube knows).

use serde_json::Value;

use super::path::PathElement;
use super::schema::{list_item_pe, Atom, ListRel, ScalarKind, Ty};

/// Validation errors joined as Go's `ValidationErrors.Error()` does, or `Ok`.
pub fn validate(v: &Value, ty: Ty<'_>) -> Result<(), String> {
    let mut errs = Vec::new();
    walk(v, ty, "", &mut errs);
    match errs.len() {
        0 => Ok(()),
        1 => Err(errs.swap_remove(0)),
        _ => Err(std::iter::once("errors:".to_string())
            .chain(errs.iter().map(|e| format!("  {e}")))
            .collect::<Vec<_>>()
            .join("\n")),
    }
}

fn err(path: &str, msg: String) -> String {
    if path.is_empty() {
        msg
    } else {
        format!("{path}: {msg}")
    }
}

fn walk(v: &Value, ty: Ty<'_>, path: &str, errs: &mut Vec<String>) {
    match ty.atom().deduce(Some(v)) {
        Atom::Scalar(kind) => {
            if let Some(msg) = check_scalar(kind, v) {
                errs.push(err(path, msg));
            }
        }
        Atom::Any => {}
        Atom::List { rel, elem } => {
            let items = match v {
                Value::Null => return,
                Value::Array(items) => items,
                other => return errs.push(err(path, format!("expected list, got {}", go_value_v(other)))),
            };
            let mut seen = std::collections::BTreeSet::new();
            for (i, child) in items.iter().enumerate() {
                let pe = if rel == ListRel::Atomic {
                    PathElement::Index(i as i64)
                } else {
                    match list_item_pe(&rel, &elem, child) {
                        Ok(pe) => pe,
                        Err(e) => return errs.push(err(path, format!("element {i}: {e}"))),
                    }
                };
                if rel != ListRel::Atomic && !seen.insert(pe.clone()) {
                    errs.push(err(path, format!("duplicate entries for key {pe}")));
                }
                walk(child, elem, &format!("{path}{pe}"), errs);
            }
        }
        Atom::Map { ty: mty, .. } => {
            let m = match v {
                Value::Null => return,
                Value::Object(m) => m,
                other => return errs.push(err(path, format!("expected map, got {}", go_value_v(other)))),
            };
            for (k, val) in m {
                walk(val, mty.field(k).0, &format!("{path}.{k}"), errs);
            }
        }
    }
}

fn check_scalar(kind: ScalarKind, v: &Value) -> Option<String> {
    let ok = matches!(
        (kind, v),
        (_, Value::Null)
            | (ScalarKind::Numeric, Value::Number(_))
            | (ScalarKind::String, Value::String(_))
            | (ScalarKind::Boolean, Value::Bool(_))
            | (ScalarKind::Untyped, Value::Number(_) | Value::String(_) | Value::Bool(_))
    );
    if ok {
        return None;
    }
    Some(match kind {
        ScalarKind::Numeric => format!("expected numeric (int or float), got {}", go_type(v)),
        ScalarKind::String => format!("expected string, got &value.valueUnstructured{{Value:{}}}", go_sharp_v(v)),
        ScalarKind::Boolean => format!("expected boolean, got {}", go_value_v(v)),
        ScalarKind::Untyped => format!("expected any scalar, got {}", go_value_v(v)),
    })
}

/// Go's `%T` of an unstructured value.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int64",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// Go's `%v` of an unstructured value.
fn go_v(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) => format!("[{}]", items.iter().map(go_v).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            format!("map[{}]", m.iter().map(|(k, x)| format!("{k}:{}", go_v(x))).collect::<Vec<_>>().join(" "))
        }
        other => other.to_string(),
    }
}

/// Go's `%v` of a `value.Value` (a pointer to a struct holding the value).
fn go_value_v(v: &Value) -> String {
    format!("&{{{}}}", go_v(v))
}

/// Go's `%#v` of an unstructured value.
fn go_sharp_v(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".into(),
        Value::String(s) => super::path::go_quote(s),
        Value::Array(items) => {
            format!("[]interface {{}}{{{}}}", items.iter().map(go_sharp_v).collect::<Vec<_>>().join(", "))
        }
        Value::Object(m) => format!(
            "map[string]interface {{}}{{{}}}",
            m.iter()
                .map(|(k, x)| format!("{}:{}", super::path::go_quote(k), go_sharp_v(x)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}
