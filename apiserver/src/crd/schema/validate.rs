//! Validation of a custom object against its compiled schema, mirroring kube-openapi's
//! `SchemaValidator` (validators run in its order: type, allOf/anyOf/oneOf/not, string,
//! format, number, array, enum, object) and apiextensions' conversion of its results
//! into field errors (`kubeOpenAPIResultToFieldErrors`).

use std::collections::HashSet;

use serde_json::Value;

use super::compiled::{Additional, CompiledSchema, Node};
use super::messages::{field_of, go_quote, invalid, required, too_many, Bad};
use super::scalar::{check_enum, check_format, check_number, check_string, check_type};
use crate::error::Cause;

/// Objects nested deeper than this are not validated further.
pub(crate) const MAX_VALUE_DEPTH: usize = 256;

impl CompiledSchema {
    /// Validates `obj` (a whole custom object) as kube-apiserver does on create/update:
    /// the openAPIV3Schema checks, then `x-kubernetes-list-type` set/map uniqueness, then
    /// `apiVersion`/`kind` of nested `x-kubernetes-embedded-resource` objects.
    /// Metadata (of the root and of embedded objects) is left to the caller.
    pub fn validate(&self, obj: &Value) -> Vec<Cause> {
        let mut out = Vec::new();
        validate_node(&self.root, "", obj, 0, &mut out);
        super::listtype::validate_lists(&self.root, obj, &mut out);
        super::listtype::validate_embedded(&self.root, obj, &mut out);
        dedup(out)
    }

    /// Only the openAPIV3Schema checks (no list-type or embedded-resource checks).
    pub fn validate_schema_only(&self, obj: &Value) -> Vec<Cause> {
        let mut out = Vec::new();
        validate_node(&self.root, "", obj, 0, &mut out);
        dedup(out)
    }
}

/// Drops repeated causes (kube-openapi's `Result.AddErrors` keeps one per message).
fn dedup(causes: Vec<Cause>) -> Vec<Cause> {
    if causes.len() < 2 {
        return causes;
    }
    let mut seen = HashSet::new();
    causes.into_iter().filter(|c| seen.insert((c.field.clone(), c.message.clone(), c.reason.clone()))).collect()
}

/// A non-field error of kube-openapi (`errors.New`), reported on the nil path.
fn composite(msg: String) -> Cause {
    invalid("<nil>".to_owned(), Bad::Str(""), &msg)
}

/// Validates `v` at kube-openapi path `name` against node `n`.
pub(crate) fn validate_node(n: &Node, name: &str, v: &Value, depth: usize, out: &mut Vec<Cause>) {
    if depth > MAX_VALUE_DEPTH {
        return;
    }
    if v.is_null() {
        check_type(n, name, v, out);
        check_enum(n, name, v, out);
        return;
    }
    check_type(n, name, v, out);
    validate_combinators(n, name, v, depth, out);
    if let Value::String(s) = v {
        check_string(n, name, s, out);
        check_format(n, name, s, out);
    }
    if v.is_number() {
        check_number(n, name, v, out);
    }
    if let Value::Array(a) = v {
        validate_array(n, name, a, depth, out);
    }
    check_enum(n, name, v, out);
    if let Value::Object(m) = v {
        validate_object(n, name, m, depth, out);
    }
}

fn run(n: &Node, name: &str, v: &Value, depth: usize) -> Vec<Cause> {
    let mut r = Vec::new();
    validate_node(n, name, v, depth + 1, &mut r);
    r
}

fn validate_combinators(n: &Node, name: &str, v: &Value, depth: usize, out: &mut Vec<Cause>) {
    if !n.any_of.is_empty() {
        let mut best: Option<Vec<Cause>> = None;
        let mut ok = false;
        for alt in &n.any_of {
            let r = run(alt, name, v, depth);
            if r.is_empty() {
                ok = true;
                break;
            }
            if best.is_none() {
                best = Some(r);
            }
        }
        if !ok {
            out.push(composite(format!("{} must validate at least one schema (anyOf)", go_quote(name))));
            out.extend(best.unwrap_or_default());
        }
    }
    if !n.one_of.is_empty() {
        let mut best: Option<Vec<Cause>> = None;
        let mut validated = 0;
        for alt in &n.one_of {
            let r = run(alt, name, v, depth);
            if r.is_empty() {
                validated += 1;
            } else if validated == 0 && best.is_none() {
                best = Some(r);
            }
        }
        if validated != 1 {
            let extra = if validated == 0 {
                "Found none valid".to_owned()
            } else {
                format!("Found {validated} valid alternatives")
            };
            out.push(composite(format!("{} must validate one and only one schema (oneOf). {extra}", go_quote(name))));
            if validated == 0 {
                out.extend(best.unwrap_or_default());
            }
        }
    }
    if !n.all_of.is_empty() {
        let mut validated = 0;
        for alt in &n.all_of {
            let r = run(alt, name, v, depth);
            if r.is_empty() {
                validated += 1;
            }
            out.extend(r);
        }
        if validated != n.all_of.len() {
            let extra = if validated == 0 { ". None validated" } else { "" };
            out.push(composite(format!("{} must validate all the schemas (allOf){extra}", go_quote(name))));
        }
    }
    if let Some(not) = &n.not {
        if run(not, name, v, depth).is_empty() {
            out.push(composite(format!("{} must not validate the schema (not)", go_quote(name))));
        }
    }
}

fn validate_array(n: &Node, name: &str, a: &[Value], depth: usize, out: &mut Vec<Cause>) {
    if let Some(items) = &n.items {
        for (i, x) in a.iter().enumerate() {
            validate_node(items, &format!("{name}[{i}]"), x, depth + 1, out);
        }
    }
    let size = a.len() as i64;
    if let Some(min) = n.min_items {
        if size < min {
            let msg = format!("{name} in body should have at least {min} items");
            out.push(invalid(field_of(name), Bad::Int(size), &msg));
        }
    }
    if let Some(max) = n.max_items {
        if size > max {
            out.push(too_many(field_of(name), size, max));
        }
    }
    if n.unique_items && has_duplicates(a) {
        let msg = format!("{name} in body shouldn't contain duplicates");
        out.push(invalid(field_of(name), Bad::Str(""), &msg));
    }
}

fn has_duplicates(a: &[Value]) -> bool {
    if a.len() > 64 {
        let mut seen = HashSet::new();
        return !a.iter().all(|x| seen.insert(super::messages::go_json(x)));
    }
    a.iter().enumerate().any(|(i, x)| a[..i].contains(x))
}

fn validate_object(n: &Node, name: &str, m: &serde_json::Map<String, Value>, depth: usize, out: &mut Vec<Cause>) {
    let size = m.len() as i64;
    if let Some(min) = n.min_properties {
        if size < min {
            let msg = format!("{name} in body should have at least {min} properties");
            out.push(invalid(field_of(name), Bad::Int(size), &msg));
        }
    }
    if let Some(max) = n.max_properties {
        if size > max {
            out.push(too_many(field_of(name), size, max));
        }
    }
    match &n.additional {
        Additional::Bool(false) => {
            for k in m.keys().filter(|k| !n.properties.contains_key(*k)) {
                let msg = format!("{name}.{k} in body is a forbidden property");
                out.push(invalid(field_of(name), Bad::Str(k), &msg));
            }
        }
        Additional::Schema(s) => {
            for (k, x) in m.iter().filter(|(k, _)| !n.properties.contains_key(*k)) {
                validate_node(s, &format!("{name}.{k}"), x, depth + 1, out);
            }
        }
        _ => {}
    }
    if m.len() < n.properties.len() {
        for (k, x) in m {
            if let Some(p) = n.properties.get(k) {
                validate_node(p, &child(name, k), x, depth + 1, out);
            }
        }
    } else {
        for (k, p) in &n.properties {
            if let Some(x) = m.get(k) {
                validate_node(p, &child(name, k), x, depth + 1, out);
            }
        }
    }
    for k in &n.required {
        if !m.contains_key(k) {
            out.push(required(field_of(&format!("{name}.{k}"))));
        }
    }
}

fn child(name: &str, k: &str) -> String {
    if name.is_empty() {
        k.to_owned()
    } else {
        format!("{name}.{k}")
    }
}
