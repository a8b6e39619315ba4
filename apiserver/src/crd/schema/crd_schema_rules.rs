//! Checks of a CRD version's `openAPIV3Schema`: the root restrictions, structural-schema
//! invariants (`structuralschema.ValidateStructural`), the per-node rules of
//! `ValidateCustomResourceDefinitionOpenAPISchema`, and defaults (valid and pruned).
//! Paths follow kube: `….openAPIV3Schema.properties[spec].properties[x].type`.

use serde_json::{Map, Value};

use super::compiled::{compile, MAX_SCHEMA_DEPTH};
use super::messages::{forbidden, invalid, not_supported, required_detail, Bad};
use super::validate::validate_node;
use crate::error::Cause;

const ROOT_ALLOWED_WITH_STATUS: &[&str] = &[
    "description",
    "type",
    "format",
    "title",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "multipleOf",
    "required",
    "items",
    "properties",
    "externalDocs",
    "example",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-validations",
];
const ROOT_ALLOWED_GO: &str = "[Description Type Format Title Maximum ExclusiveMaximum Minimum ExclusiveMinimum MaxLength MinLength Pattern MaxItems MinItems UniqueItems MultipleOf Required Items Properties ExternalDocs Example XPreserveUnknownFields XValidations]";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

fn s<'a>(m: &'a Map<String, Value>, k: &str) -> &'a str {
    m.get(k).and_then(Value::as_str).unwrap_or("")
}

fn flag(m: &Map<String, Value>, k: &str) -> bool {
    m.get(k) == Some(&Value::Bool(true))
}

fn props(m: &Map<String, Value>) -> Option<&Map<String, Value>> {
    m.get("properties").and_then(Value::as_object).filter(|p| !p.is_empty())
}

/// Validates one version's schema at `path` (`spec.versions[i].schema.openAPIV3Schema`).
pub(crate) fn validate_version_schema(schema: &Value, path: &str, status: bool, out: &mut Vec<Cause>) {
    let Some(m) = schema.as_object() else {
        return;
    };
    if status {
        let t = s(m, "type");
        if !t.is_empty() && t != "object" {
            let msg =
                "only \"object\" is allowed as the type at the root of the schema if the status subresource is enabled";
            out.push(invalid(format!("{path}.type"), Bad::Str(t), msg));
        } else if m.iter().any(|(k, v)| !ROOT_ALLOWED_WITH_STATUS.contains(&k.as_str()) && !is_zero(v)) {
            let msg = format!("only {ROOT_ALLOWED_GO} fields are allowed at the root of the schema if the status subresource is enabled");
            out.push(invalid(path.to_owned(), Bad::Json(schema), &msg));
        }
    }
    if flag(m, "nullable") {
        out.push(forbidden(format!("{path}.nullable"), "nullable cannot be true at the root"));
    }
    let mut structural = Vec::new();
    invariants(m, Level::Root, path, 0, &mut structural);
    structural.sort_by(|a, b| (&a.field, &a.message).cmp(&(&b.field, &b.message)));
    let structural_ok = structural.is_empty();
    out.extend(structural);
    if structural_ok {
        defaults(m, path, true, 0, out);
    }
    schema_rules(m, path, true, Ctx::default(), 0, out);
}

fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) => false,
    }
}

const NESTED_FORBIDDEN: &[(&str, &str)] = &[
    ("type", "must be empty to be structural"),
    ("default", "must be undefined to be structural"),
    ("title", "must be empty to be structural"),
    ("description", "must be empty to be structural"),
    ("nullable", "must be false to be structural"),
    ("x-kubernetes-preserve-unknown-fields", "must be false to be structural"),
    ("x-kubernetes-embedded-resource", "must be false to be structural"),
    ("x-kubernetes-int-or-string", "must be false to be structural"),
    ("x-kubernetes-list-map-keys", "must be empty to be structural"),
    ("x-kubernetes-list-type", "must be undefined to be structural"),
    ("x-kubernetes-map-type", "must be undefined to be structural"),
    ("x-kubernetes-validations", "must be empty to be structural"),
];

fn is_int_or_string_any_of(v: Option<&Value>) -> bool {
    let Some(Value::Array(a)) = v else {
        return false;
    };
    a.len() == 2
        && a[0].as_object().is_some_and(|o| o.len() == 1 && s(o, "type") == "integer")
        && a[1].as_object().is_some_and(|o| o.len() == 1 && s(o, "type") == "string")
}

/// `validateStructuralInvariants`.
fn invariants(m: &Map<String, Value>, lvl: Level, path: &str, depth: usize, out: &mut Vec<Cause>) {
    if depth > MAX_SCHEMA_DEPTH {
        return;
    }
    let t = s(m, "type");
    let (ios, preserve, embedded) = (
        flag(m, "x-kubernetes-int-or-string"),
        flag(m, "x-kubernetes-preserve-unknown-fields"),
        flag(m, "x-kubernetes-embedded-resource"),
    );
    if t == "array" && !m.get("items").is_some_and(Value::is_object) {
        out.push(required_detail(format!("{path}.items"), "must be specified"));
    }
    if let Some(items) = m.get("items").and_then(Value::as_object) {
        invariants(items, Level::Item, &format!("{path}.items"), depth + 1, out);
    }
    for (k, p) in props(m).into_iter().flatten() {
        if let Some(p) = p.as_object() {
            invariants(p, Level::Field, &format!("{path}.properties[{k}]"), depth + 1, out);
        }
    }
    let ap = m.get("additionalProperties").filter(|v| !v.is_null());
    if let Some(ap) = ap {
        if lvl == Level::Root {
            out.push(forbidden(format!("{path}.additionalProperties"), "must not be used at the root"));
        }
        if let Some(a) = ap.as_object() {
            invariants(a, Level::Field, &format!("{path}.additionalProperties"), depth + 1, out);
        }
    }
    if ios && preserve {
        let msg = "must be false if x-kubernetes-int-or-string is true";
        out.push(invalid(format!("{path}.x-kubernetes-preserve-unknown-fields"), Bad::Json(&Value::Bool(true)), msg));
    }
    if ios && embedded {
        let msg = "must be false if x-kubernetes-int-or-string is true";
        out.push(invalid(format!("{path}.x-kubernetes-embedded-resource"), Bad::Json(&Value::Bool(true)), msg));
    }
    let skip_any_of = is_int_or_string_any_of(m.get("anyOf"));
    let skip_first_all_of = m
        .get("allOf")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .is_some_and(|f| is_int_or_string_any_of(f.get("anyOf")));
    value_validation(m, skip_any_of, skip_first_all_of, path, depth, out);
    let check_meta = lvl == Level::Root || embedded;
    if embedded && t != "object" {
        let msg = "must be object if x-kubernetes-embedded-resource is true";
        if t.is_empty() {
            out.push(required_detail(format!("{path}.type"), msg));
        } else {
            out.push(invalid(format!("{path}.type"), Bad::Str(t), msg));
        }
    } else if t.is_empty() && !ios && !preserve {
        let msg = match lvl {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        out.push(required_detail(format!("{path}.type"), msg));
    }
    if embedded && ap.is_some() {
        let msg = "must not be used if x-kubernetes-embedded-resource is set";
        out.push(forbidden(format!("{path}.additionalProperties"), msg));
    }
    if lvl == Level::Root && !t.is_empty() && t != "object" {
        out.push(invalid(format!("{path}.type"), Bad::Str(t), "must be object at the root"));
    }
    let p = props(m);
    for k in ["kind", "apiVersion"] {
        if let Some(kp) = p.and_then(|p| p.get(k)).and_then(Value::as_object).filter(|_| check_meta) {
            let kt = s(kp, "type");
            if kt != "string" {
                out.push(invalid(format!("{path}.properties[{k}].type"), Bad::Str(kt), "must be string"));
            }
        }
    }
    if let Some(meta) = p.and_then(|p| p.get("metadata")).and_then(Value::as_object) {
        let mp = format!("{path}.properties[metadata]");
        let mt = s(meta, "type");
        if check_meta && mt != "object" {
            out.push(invalid(format!("{mp}.type"), Bad::Str(mt), "must be object"));
        }
        if lvl == Level::Root && !root_metadata_ok(meta) {
            let msg =
                "must not specify anything other than name and generateName, but metadata is implicitly specified";
            out.push(forbidden(mp, msg));
        }
    }
    if embedded && !preserve && p.is_none() {
        let msg =
            "must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields";
        out.push(required_detail(format!("{path}.properties"), msg));
    }
}

fn root_metadata_ok(meta: &Map<String, Value>) -> bool {
    meta.iter().all(|(k, v)| match k.as_str() {
        "type" | "default" => true,
        "properties" => v.as_object().is_none_or(|p| {
            let (n, g) = (p.contains_key("name"), p.contains_key("generateName"));
            p.is_empty() || (n && g && p.len() == 2) || ((n || g) && p.len() == 1)
        }),
        _ => is_zero(v),
    })
}

/// `validateValueValidation` on a node's allOf/anyOf/oneOf/not (and its pattern).
fn value_validation(
    m: &Map<String, Value>,
    skip_any_of: bool,
    skip_first_all_of: bool,
    path: &str,
    depth: usize,
    out: &mut Vec<Cause>,
) {
    if depth > MAX_SCHEMA_DEPTH {
        return;
    }
    for (key, skip) in [("anyOf", skip_any_of), ("allOf", false), ("oneOf", false)] {
        if skip {
            continue;
        }
        for (i, n) in m.get(key).and_then(Value::as_array).into_iter().flatten().enumerate() {
            if let Some(n) = n.as_object() {
                let skip_nested = key == "allOf" && i == 0 && skip_first_all_of;
                nested(n, skip_nested, &format!("{path}.{key}[{i}]"), depth + 1, out);
            }
        }
    }
    if let Some(n) = m.get("not").and_then(Value::as_object) {
        nested(n, false, &format!("{path}.not"), depth + 1, out);
    }
    let pat = s(m, "pattern");
    if !pat.is_empty() {
        if let Err(e) = super::compiled::compile_go_regex(pat) {
            let msg = format!("must be a valid regular expression, but isn't: {}", e.lines().last().unwrap_or(""));
            out.push(invalid(format!("{path}.pattern"), Bad::Str(pat), &msg));
        }
    }
}

/// `validateNestedValueValidation`.
fn nested(m: &Map<String, Value>, skip_any_of: bool, path: &str, depth: usize, out: &mut Vec<Cause>) {
    if depth > MAX_SCHEMA_DEPTH {
        return;
    }
    value_validation(m, skip_any_of, false, path, depth, out);
    if let Some(items) = m.get("items").and_then(Value::as_object) {
        nested(items, false, &format!("{path}.items"), depth + 1, out);
    }
    for (k, p) in props(m).into_iter().flatten() {
        if let Some(p) = p.as_object() {
            nested(p, false, &format!("{path}.properties[{k}]"), depth + 1, out);
        }
    }
    if m.get("additionalProperties").is_some_and(|v| !v.is_null()) {
        out.push(forbidden(format!("{path}.additionalProperties"), "must be undefined to be structural"));
    }
    for (k, msg) in NESTED_FORBIDDEN {
        if m.get(*k).is_some_and(|v| !is_zero(v)) {
            out.push(forbidden(format!("{path}.{k}"), msg));
        }
    }
    if props(m).is_some_and(|p| p.contains_key("metadata")) {
        out.push(forbidden(format!("{path}.properties[metadata]"), "must not be specified in a nested context"));
    }
}

/// Defaults must validate against their schema and be pruned (`ValidateDefaults`).
fn defaults(m: &Map<String, Value>, path: &str, root: bool, depth: usize, out: &mut Vec<Cause>) {
    if depth > MAX_SCHEMA_DEPTH {
        return;
    }
    if let Some(d) = m.get("default").filter(|d| !d.is_null()) {
        let node = compile(&Value::Object(m.clone()), 0);
        let dp = format!("{path}.default");
        let mut errs = Vec::new();
        validate_node(&node, "", d, 0, &mut errs);
        for mut c in errs {
            c.field = if c.field == "<nil>" { dp.clone() } else { format!("{dp}.{}", c.field) };
            out.push(c);
        }
        if node.default.as_ref() != Some(d) {
            out.push(invalid(dp, Bad::Json(d), "must not have unknown fields"));
        }
    }
    if let Some(items) = m.get("items").and_then(Value::as_object) {
        defaults(items, &format!("{path}.items"), false, depth + 1, out);
    }
    if let Some(a) = m.get("additionalProperties").and_then(Value::as_object) {
        defaults(a, &format!("{path}.additionalProperties"), false, depth + 1, out);
    }
    for (k, p) in props(m).into_iter().flatten() {
        if root && matches!(k.as_str(), "metadata" | "apiVersion" | "kind") {
            continue;
        }
        if let Some(p) = p.as_object() {
            defaults(p, &format!("{path}.properties[{k}]"), false, depth + 1, out);
        }
    }
}

#[derive(Clone, Default)]
struct Ctx {
    inside_meta: bool,
    forbidden_defaults: Option<String>,
}

/// `ValidateCustomResourceDefinitionOpenAPISchema` (without the CEL part).
fn schema_rules(m: &Map<String, Value>, path: &str, root: bool, ctx: Ctx, depth: usize, out: &mut Vec<Cause>) {
    if depth > MAX_SCHEMA_DEPTH {
        return;
    }
    let t = s(m, "type");
    const TYPES: [&str; 6] = ["array", "boolean", "integer", "number", "object", "string"];
    if !t.is_empty() && !TYPES.contains(&t) {
        let list: Vec<String> = TYPES.iter().map(|x| x.to_string()).collect();
        out.push(not_supported(format!("{path}.type"), Bad::Str(t), &list));
    }
    if let (Some(_), Some(reason)) = (m.get("default"), &ctx.forbidden_defaults) {
        out.push(forbidden(format!("{path}.default"), &format!("must not be set {reason}")));
    }
    for (k, key, msg) in [
        ("id", "id", "id is not supported"),
        ("additionalItems", "additionalItems", "additionalItems is not supported"),
        ("patternProperties", "patternProperties", "patternProperties is not supported"),
        ("definitions", "definitions", "definitions is not supported"),
        ("dependencies", "dependencies", "dependencies is not supported"),
        ("$ref", "$ref", "$ref is not supported"),
    ] {
        if m.get(k).is_some_and(|v| !is_zero(v)) {
            out.push(forbidden(format!("{path}.{key}"), msg));
        }
    }
    if t == "null" {
        out.push(forbidden(format!("{path}.type"), "type cannot be set to null, use nullable as an alternative"));
    }
    if m.get("items").is_some_and(Value::is_array) {
        out.push(forbidden(format!("{path}.items"), "items must be a schema object and not an array"));
    }
    if ctx.inside_meta && flag(m, "x-kubernetes-embedded-resource") {
        out.push(forbidden(
            format!("{path}.x-kubernetes-embedded-resource"),
            "must not be used inside of resource meta",
        ));
    }
    if flag(m, "uniqueItems") {
        let msg = "uniqueItems cannot be set to true since the runtime complexity becomes quadratic";
        out.push(forbidden(format!("{path}.uniqueItems"), msg));
    }
    let p = props(m);
    if let Some(ap) = m.get("additionalProperties").filter(|v| !v.is_null()) {
        if p.is_some() && (ap.is_object() || ap == &Value::Bool(false)) {
            out.push(forbidden(
                format!("{path}.additionalProperties"),
                "additionalProperties and properties are mutual exclusive",
            ));
        }
        if let Some(a) = ap.as_object() {
            let mut sub = ctx.clone();
            if ctx.inside_meta {
                sub.forbidden_defaults = Some("inside additionalProperties applying to object metadata".into());
            }
            schema_rules(a, &format!("{path}.additionalProperties"), false, sub, depth + 1, out);
        }
    }
    let embedded = flag(m, "x-kubernetes-embedded-resource");
    for (k, pv) in p.into_iter().flatten() {
        let mut sub = ctx.clone();
        if (root || embedded) && matches!(k.as_str(), "metadata" | "kind" | "apiVersion") {
            sub.inside_meta = true;
            if root {
                sub.forbidden_defaults = Some(format!("in top-level {k}"));
            }
        }
        if let Some(pm) = pv.as_object() {
            schema_rules(pm, &format!("{path}.properties[{k}]"), false, sub, depth + 1, out);
        }
    }
    if let Some(n) = m.get("not").and_then(Value::as_object) {
        schema_rules(n, &format!("{path}.not"), false, ctx.clone(), depth + 1, out);
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for (i, n) in m.get(key).and_then(Value::as_array).into_iter().flatten().enumerate() {
            if let Some(n) = n.as_object() {
                schema_rules(n, &format!("{path}.{key}[{i}]"), false, ctx.clone(), depth + 1, out);
            }
        }
    }
    if let Some(items) = m.get("items").and_then(Value::as_object) {
        schema_rules(items, &format!("{path}.items"), false, ctx.clone(), depth + 1, out);
    }
    if m.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(false)) {
        let msg = "must be true or undefined";
        out.push(invalid(format!("{path}.x-kubernetes-preserve-unknown-fields"), Bad::Json(&Value::Bool(false)), msg));
    }
    super::crd_list_rules::list_and_map_rules(m, t, path, out);
}
