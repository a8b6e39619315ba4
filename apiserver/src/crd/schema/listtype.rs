//! The checks kube-apiserver runs on custom objects besides the openAPIV3Schema:
//! `x-kubernetes-list-type: set|map` uniqueness (`structurallisttype`) and `apiVersion` /
//! `kind` of nested `x-kubernetes-embedded-resource` objects (`objectmeta.Validate`).
//! Paths are apimachinery field paths: `spec.map[key]`, `spec.list[0]`.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::compiled::{Additional, Node};
use super::messages::{duplicate, go_json, invalid, required, Bad};
use super::validate::MAX_VALUE_DEPTH;
use crate::error::Cause;

fn child(path: &str, k: &str) -> String {
    if path.is_empty() {
        k.to_owned()
    } else {
        format!("{path}.{k}")
    }
}

/// `ValidateListSetsAndMaps` from the root object.
pub(crate) fn validate_lists(root: &Node, obj: &Value, out: &mut Vec<Cause>) {
    if let Value::Object(m) = obj {
        lists_in_object("", root, m, 0, out);
    }
}

fn lists_in_object(path: &str, s: &Node, m: &Map<String, Value>, depth: usize, out: &mut Vec<Cause>) {
    if depth > MAX_VALUE_DEPTH {
        return;
    }
    if let Additional::Schema(a) = &s.additional {
        for (k, v) in m {
            lists_in_value(&format!("{path}[{k}]"), a, v, depth, out);
        }
    }
    for (k, v) in m {
        if let Some(p) = s.properties.get(k) {
            lists_in_value(&child(path, k), p, v, depth, out);
        }
    }
}

fn lists_in_value(path: &str, s: &Node, v: &Value, depth: usize, out: &mut Vec<Cause>) {
    match v {
        Value::Array(a) => lists_in_array(path, s, a, depth + 1, out),
        Value::Object(m) => lists_in_object(path, s, m, depth + 1, out),
        _ => {}
    }
}

fn lists_in_array(path: &str, s: &Node, a: &[Value], depth: usize, out: &mut Vec<Cause>) {
    match s.list_type.as_deref() {
        Some("set") => {
            for i in non_unique(a.iter().map(Some)) {
                out.push(duplicate(format!("{path}[{i}]"), Bad::Json(&a[i])));
            }
        }
        Some("map") => validate_list_map(path, s, a, out),
        _ => {}
    }
    if let Some(items) = &s.items {
        for (i, x) in a.iter().enumerate() {
            lists_in_value(&format!("{path}[{i}]"), items, x, depth, out);
        }
    }
}

/// Indices of the second occurrence of each repeated value (`validateListSet`).
/// `None` stands for an unspecified key.
fn non_unique<'a>(values: impl Iterator<Item = Option<&'a Value>>) -> Vec<usize> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, v) in values.enumerate() {
        let key = v.map_or_else(|| "\u{0}unspecified".to_owned(), go_json);
        let n = seen.entry(key).or_insert(0);
        *n += 1;
        if *n == 2 {
            out.push(i);
        }
    }
    out
}

fn validate_list_map(path: &str, s: &Node, a: &[Value], out: &mut Vec<Cause>) {
    for (i, x) in a.iter().enumerate() {
        if !x.is_null() && !x.is_object() {
            out.push(invalid(format!("{path}[{i}]"), Bad::Json(x), "must be an object for an array of list-type map"));
            return;
        }
    }
    if a.len() <= 1 {
        return;
    }
    if s.list_map_keys.len() == 1 {
        let key = &s.list_map_keys[0];
        let keys: Vec<Option<&Value>> = a.iter().map(|x| x.get(key)).collect();
        for i in non_unique(keys.iter().copied()) {
            let mut m = Map::new();
            if let Some(k) = keys[i] {
                m.insert(key.clone(), k.clone());
            }
            out.push(duplicate(format!("{path}[{i}]"), Bad::Json(&Value::Object(m))));
        }
        return;
    }
    let keys: Vec<Value> = a
        .iter()
        .map(|x| {
            let mut m = Map::new();
            for k in &s.list_map_keys {
                if let Some(v) = x.get(k) {
                    m.insert(k.clone(), v.clone());
                }
            }
            Value::Object(m)
        })
        .collect();
    for i in non_unique(keys.iter().map(Some)) {
        out.push(duplicate(format!("{path}[{i}]"), Bad::Json(&keys[i])));
    }
}

/// `objectmeta.Validate` (not at the root): `apiVersion` and `kind` of embedded resources.
pub(crate) fn validate_embedded(root: &Node, obj: &Value, out: &mut Vec<Cause>) {
    embedded_in("", root, obj, 0, out);
}

fn embedded_in(path: &str, s: &Node, x: &Value, depth: usize, out: &mut Vec<Cause>) {
    if depth > MAX_VALUE_DEPTH {
        return;
    }
    match x {
        Value::Object(m) => {
            if s.embedded_resource && depth > 0 {
                check_embedded(path, m, out);
            }
            for (k, v) in m {
                if let Some(p) = s.properties.get(k) {
                    embedded_in(&child(path, k), p, v, depth + 1, out);
                } else if let Additional::Schema(a) = &s.additional {
                    embedded_in(&format!("{path}[{k}]"), a, v, depth + 1, out);
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = &s.items {
                for (i, v) in a.iter().enumerate() {
                    embedded_in(&format!("{path}[{i}]"), items, v, depth + 1, out);
                }
            }
        }
        _ => {}
    }
}

const DNS1035_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name' or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

fn dns1035_errors(v: &str) -> Vec<String> {
    let mut errs = Vec::new();
    if v.len() > 63 {
        errs.push("must be no more than 63 characters".to_owned());
    }
    let b = v.as_bytes();
    let ok = !b.is_empty()
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[b.len() - 1] != b'-';
    if !ok {
        errs.push(DNS1035_MSG.to_owned());
    }
    errs
}

fn check_embedded(path: &str, m: &Map<String, Value>, out: &mut Vec<Cause>) {
    if !m.contains_key("apiVersion") {
        out.push(required(child(path, "apiVersion")));
    }
    if !m.contains_key("kind") {
        out.push(required(child(path, "kind")));
    }
    if let Some(v) = m.get("apiVersion") {
        let f = child(path, "apiVersion");
        match v.as_str() {
            None => out.push(invalid(f, Bad::Json(v), "must be a string")),
            Some("") => out.push(invalid(f, Bad::Str(""), "must not be empty")),
            Some(s) if s.matches('/').count() > 1 => {
                out.push(invalid(f, Bad::Str(s), &format!("unexpected GroupVersion string: {s}")));
            }
            Some(_) => {}
        }
    }
    if let Some(v) = m.get("kind") {
        let f = child(path, "kind");
        match v.as_str() {
            None => out.push(invalid(f, Bad::Json(v), "must be a string")),
            Some("") => out.push(invalid(f, Bad::Str(""), "must not be empty")),
            Some(s) => {
                let errs = dns1035_errors(&s.to_lowercase());
                if !errs.is_empty() {
                    let msg = format!("may have mixed case, but should otherwise match: {}", errs.join(","));
                    out.push(invalid(f, Bad::Str(s), &msg));
                }
            }
        }
    }
}
