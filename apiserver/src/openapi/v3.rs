//! `/openapi/v3`: the index of per-group-version documents and the OpenAPI
//! 3.0 documents themselves, each built and serialized once with its hash.
//!
//! kubectl 1.34 reads these (`Accept: application/json`) for `explain`
//! (finds the GVK on the list path's operations, then the component schema
//! carrying that GVK), for client-side apply (a PATCH operation with the GVK
//! whose requestBody accepts `application/strategic-merge-patch+json`, then
//! `x-kubernetes-patch-*` on component properties, `allOf[0]` / `$ref`
//! resolved), and to decide whether server-side field validation exists
//! (a `fieldValidation` query parameter on that PATCH operation).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::definitions::{definitions, ref_name};
use super::params::Param;
use super::paths::{self, Operation, PathItem};
use super::types::{INT_OR_STRING, QUANTITY};
use super::v2::{status_text, INFO};
use crate::catalog;
use crate::discovery::hash::sha256_hex_upper;

const V3_REF: &str = "#/components/schemas/";

/// Rewrites a v2 schema into its v3 form: component references, and a `$ref`
/// with siblings (description, patch extensions) wrapped in `allOf` as kube does.
fn to_v3(schema: &Value) -> Value {
    let Value::Object(obj) = schema else { return schema.clone() };
    let mut out = Map::new();
    for (k, v) in obj {
        let converted = match k.as_str() {
            "properties" => match v {
                Value::Object(props) => Value::Object(props.iter().map(|(n, s)| (n.clone(), to_v3(s))).collect()),
                other => other.clone(),
            },
            "items" | "additionalProperties" | "not" => to_v3(v),
            "allOf" | "anyOf" | "oneOf" => match v {
                Value::Array(list) => Value::Array(list.iter().map(to_v3).collect()),
                other => other.clone(),
            },
            "$ref" => match v.as_str().and_then(ref_name) {
                Some(name) => Value::String(format!("{V3_REF}{name}")),
                None => v.clone(),
            },
            _ => v.clone(),
        };
        out.insert(k.clone(), converted);
    }
    if out.len() > 1 {
        if let Some(r @ Value::String(_)) = out.remove("$ref") {
            out.insert("allOf".into(), json!([{"$ref": r}]));
        }
    }
    Value::Object(out)
}

fn description(name: &str) -> Value {
    definitions().get(name).and_then(|d| d.get("description")).cloned().unwrap_or(Value::Null)
}

/// One component schema in v3 form.
fn component(name: &str, def: &Value) -> Value {
    match name {
        INT_OR_STRING => json!({
            "description": description(name),
            "format": "int-or-string",
            "oneOf": [{"type": "integer"}, {"type": "string"}],
        }),
        QUANTITY => json!({
            "description": description(name),
            "oneOf": [{"type": "string"}, {"type": "number"}],
        }),
        _ => to_v3(def),
    }
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(obj) => {
            for (k, x) in obj {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => out.extend(ref_name(r).map(str::to_string)),
                    _ => collect_refs(x, out),
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// The named definitions and everything they reference, in v3 form
/// (`extra`: custom resource definitions, looked up first).
fn components(roots: BTreeSet<String>, extra: &Map<String, Value>) -> Map<String, Value> {
    let builtin = definitions();
    let lookup = |n: &str| extra.get(n).or_else(|| builtin.get(n));
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: Vec<String> = roots.into_iter().collect();
    while let Some(name) = queue.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        if let Some(def) = lookup(&name) {
            let mut refs = Vec::new();
            collect_refs(def, &mut refs);
            queue.extend(refs.into_iter().filter(|r| !seen.contains(r)));
        }
    }
    seen.into_iter().filter_map(|n| lookup(&n).map(|d| (n.clone(), component(&n, d)))).collect()
}

fn reference(def: &str) -> Value {
    json!({"$ref": format!("{V3_REF}{def}")})
}

fn param(p: &Param) -> Value {
    let mut obj = Map::new();
    obj.insert("description".into(), p.description.into());
    obj.insert("in".into(), (if p.in_path { "path" } else { "query" }).into());
    obj.insert("name".into(), p.name.into());
    if p.in_path {
        obj.insert("required".into(), true.into());
    }
    obj.insert("schema".into(), json!({"type": p.ty.as_str(), "uniqueItems": true}));
    Value::Object(obj)
}

fn content(media_types: &[&str], def: &str) -> Value {
    Value::Object(media_types.iter().map(|mt| (mt.to_string(), json!({"schema": reference(def)}))).collect())
}

fn operation(op: &Operation) -> Value {
    let mut obj = Map::new();
    obj.insert("description".into(), op.description.clone().into());
    obj.insert("operationId".into(), op.id.clone().into());
    if !op.params.is_empty() {
        obj.insert("parameters".into(), op.params.iter().map(param).collect());
    }
    if let Some((def, required)) = &op.body {
        let mut body = Map::new();
        body.insert("content".into(), content(op.consumes(), def));
        if *required {
            body.insert("required".into(), true.into());
        }
        obj.insert("requestBody".into(), Value::Object(body));
    }
    let mut responses = Map::new();
    for (code, def) in &op.responses {
        responses.insert(
            code.to_string(),
            json!({"description": status_text(*code), "content": content(op.produces.media_types(), def)}),
        );
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    obj.insert("responses".into(), Value::Object(responses));
    obj.insert("tags".into(), json!([op.tag]));
    if !op.action.is_empty() {
        obj.insert("x-kubernetes-action".into(), op.action.into());
    }
    if let Some((g, v, k)) = op.gvk {
        obj.insert("x-kubernetes-group-version-kind".into(), json!({"group": g, "kind": k, "version": v}));
    }
    Value::Object(obj)
}

fn document(items: Vec<PathItem>, extra: &Map<String, Value>) -> Value {
    let mut roots = BTreeSet::new();
    let mut paths = Map::new();
    for item in &items {
        let mut obj = Map::new();
        if !item.params.is_empty() {
            obj.insert("parameters".into(), item.params.iter().map(param).collect());
        }
        for op in &item.ops {
            roots.extend(op.body.iter().map(|(d, _)| d.clone()));
            roots.extend(op.responses.iter().map(|(_, d)| d.clone()));
            obj.insert(op.method.into(), operation(op));
        }
        paths.insert(item.path.clone(), Value::Object(obj));
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": INFO.0, "version": INFO.1},
        "paths": paths,
        "components": {
            "schemas": components(roots, extra),
            "securitySchemes": {
                "BearerToken": {"type": "apiKey", "description": "Bearer Token authentication", "name": "authorization", "in": "header"}
            }
        },
    })
}

/// Relative document path (`api/v1`, `apis/apps`) → its path items, for
/// `groups` (plus the roots when `roots`).
fn document_sources(groups: Vec<(&'static str, Vec<&'static str>)>, roots: bool) -> Vec<(String, Vec<PathItem>)> {
    let mut out: Vec<(String, Vec<PathItem>)> = Vec::new();
    if roots {
        out.push(("api".into(), paths::discovery_root(None).into_iter().collect()));
        out.push(("apis".into(), paths::discovery_root(Some("")).into_iter().collect()));
    }
    for (g, versions) in groups {
        if !g.is_empty() {
            out.push((format!("apis/{g}"), paths::discovery_root(Some(g)).into_iter().collect()));
        }
        for v in versions {
            let key = if g.is_empty() { format!("api/{v}") } else { format!("apis/{g}/{v}") };
            out.push((key, paths::group_version_paths(g, v)));
        }
    }
    out
}

type Documents = BTreeMap<String, (Bytes, String)>;

fn build_documents(sources: Vec<(String, Vec<PathItem>)>, extra: &Map<String, Value>) -> Documents {
    sources
        .into_iter()
        .map(|(key, items)| {
            let bytes = serde_json::to_vec(&document(items, extra)).unwrap_or_default();
            let hash = sha256_hex_upper(&bytes);
            (key, (Bytes::from(bytes), hash))
        })
        .collect()
}

/// Documents of the built-in groups, built once.
static DOCUMENTS: LazyLock<Documents> = LazyLock::new(|| {
    let builtin = catalog::groups().into_iter().filter(|(g, _)| catalog::is_builtin_group(g)).collect();
    build_documents(document_sources(builtin, true), &Map::new())
});

/// Documents of custom resource groups, rebuilt when the served CRDs change.
fn custom_documents() -> std::sync::Arc<Documents> {
    static CACHE: LazyLock<parking_lot::Mutex<(u64, std::sync::Arc<Documents>)>> =
        LazyLock::new(|| parking_lot::Mutex::new((u64::MAX, Default::default())));
    let gen = crate::crd::registry::generation();
    let mut cache = CACHE.lock();
    if cache.0 != gen {
        let docs = build_documents(
            document_sources(super::custom::custom_groups(), false),
            &super::custom::custom_definitions(),
        );
        *cache = (gen, std::sync::Arc::new(docs));
    }
    cache.1.clone()
}

/// `/openapi/v3`: every document with its hash-pinned URL.
pub fn v3_index() -> Value {
    let custom = custom_documents();
    let paths: Map<String, Value> = DOCUMENTS
        .iter()
        .chain(custom.iter())
        .map(|(key, (_, hash))| (key.clone(), json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={hash}")})))
        .collect();
    json!({"paths": paths})
}

/// `/openapi/v3/<path>` (`api/v1`, `apis/apps/v1`, `apis/apps`, `api`,
/// `apis`): the JSON document and its hash (serve it as a quoted `ETag`; when
/// the request's `hash` query matches, kube also sends
/// `Cache-Control: public, immutable`).
pub fn v3_document(path: &str) -> Option<(Bytes, String)> {
    let key = path.trim_matches('/');
    DOCUMENTS.get(key).cloned().or_else(|| custom_documents().get(key).cloned())
}
