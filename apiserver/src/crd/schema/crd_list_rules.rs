//! `x-kubernetes-map-type`, `x-kubernetes-list-type` and `x-kubernetes-list-map-keys`
//! rules of `ValidateCustomResourceDefinitionOpenAPISchema`.

use serde_json::{Map, Value};

use super::messages::{invalid, not_supported, required_detail, Bad};
use crate::error::Cause;

fn s<'a>(m: &'a Map<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or("")
}

fn props(m: &Map<String, Value>) -> Option<&Map<String, Value>> {
    m.get("properties").and_then(Value::as_object).filter(|p| !p.is_empty())
}

pub(crate) fn list_and_map_rules(m: &Map<String, Value>, t: &str, path: &str, out: &mut Vec<Cause>) {
    if let Some(mt) = m.get("x-kubernetes-map-type").and_then(Value::as_str) {
        if t != "object" {
            let msg = "must be object if x-kubernetes-map-type is specified";
            if t.is_empty() {
                out.push(required_detail(format!("{path}.type"), msg));
            } else {
                out.push(invalid(format!("{path}.type"), Bad::Str(t), msg));
            }
        }
        if mt != "atomic" && mt != "granular" {
            out.push(not_supported(
                format!("{path}.x-kubernetes-map-type"),
                Bad::Str(mt),
                &["atomic".into(), "granular".into()],
            ));
        }
    }
    let lt = m.get("x-kubernetes-list-type").and_then(Value::as_str);
    let items = m.get("items").and_then(Value::as_object);
    if let Some(lt) = lt {
        if t != "array" {
            let msg = "must be array if x-kubernetes-list-type is specified";
            if t.is_empty() {
                out.push(required_detail(format!("{path}.type"), msg));
            } else {
                out.push(invalid(format!("{path}.type"), Bad::Str(t), msg));
            }
        } else if lt == "set" {
            if let Some(is) = items {
                let ilt = is.get("x-kubernetes-list-type").and_then(Value::as_str);
                if s(is, "type") == "array" && ilt.is_some_and(|l| l != "atomic") {
                    let msg = "must be atomic as item of a list with x-kubernetes-list-type=set";
                    out.push(invalid(format!("{path}.items.x-kubernetes-list-type"), Bad::Str(ilt.unwrap_or("")), msg));
                }
                if s(is, "type") == "object" && s(is, "x-kubernetes-map-type") != "atomic" {
                    let msg = "must be atomic as item of a list with x-kubernetes-list-type=set";
                    out.push(invalid(format!("{path}.items.x-kubernetes-map-type"), Bad::Json(&Value::Null), msg));
                }
            }
        }
        if !matches!(lt, "atomic" | "set" | "map") {
            let list = ["atomic".to_owned(), "set".to_owned(), "map".to_owned()];
            out.push(not_supported(format!("{path}.x-kubernetes-list-type"), Bad::Str(lt), &list));
        }
    }
    let keys = m.get("x-kubernetes-list-map-keys").and_then(Value::as_array).filter(|k| !k.is_empty());
    if keys.is_some() {
        let msg = "must be map if x-kubernetes-list-map-keys is non-empty";
        match lt {
            None => out.push(required_detail(format!("{path}.x-kubernetes-list-type"), msg)),
            Some(l) if l != "map" => out.push(invalid(format!("{path}.x-kubernetes-list-type"), Bad::Str(l), msg)),
            _ => {}
        }
    }
    if lt == Some("map") {
        let Some(keys) = keys else {
            let msg = "must not be empty if x-kubernetes-list-type is map";
            out.push(required_detail(format!("{path}.x-kubernetes-list-map-keys"), msg));
            return;
        };
        let Some(is) = items else {
            out.push(required_detail(format!("{path}.items"), "must have a schema if x-kubernetes-list-type is map"));
            return;
        };
        let it = s(is, "type");
        if it != "object" {
            let msg = "must be object if parent array's x-kubernetes-list-type is map";
            out.push(invalid(format!("{path}.items.type"), Bad::Str(it), msg));
            return;
        }
        let keys_val = Value::Array(keys.clone());
        let mut seen = std::collections::HashSet::new();
        for k in keys {
            let k = k.as_str().unwrap_or("");
            match props(is).and_then(|p| p.get(k)) {
                Some(kp) => {
                    let kt = kp.get("type").and_then(Value::as_str).unwrap_or("");
                    if kt == "array" || kt == "object" {
                        let msg = "must be a scalar type if parent array's x-kubernetes-list-type is map";
                        out.push(invalid(format!("{path}.items.properties[{k}].type"), Bad::Str(it), msg));
                    }
                }
                None => {
                    let msg = "entries must all be names of item properties";
                    out.push(invalid(format!("{path}.x-kubernetes-list-map-keys"), Bad::Json(&keys_val), msg));
                }
            }
            if !seen.insert(k) {
                let msg = "must not contain duplicate entries";
                out.push(invalid(format!("{path}.x-kubernetes-list-map-keys"), Bad::Json(&keys_val), msg));
            }
        }
    }
}
