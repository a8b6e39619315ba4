//! `/openapi/v2`: the swagger 2.0 document (JSON), built and serialized once.
//!
//! client-go only ever asks `/openapi/v2` for the protobuf form
//! (`discovery.OpenAPISchema` sends `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`
//! and `proto.Unmarshal`s the body): kubectl 1.34 on fallback paths, older
//! kubectl (1.20) for apply, explain and validation. `v2_proto.rs` encodes this
//! document as gnostic's `openapi.v2.Document` for those requests.

use std::sync::LazyLock;

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::definitions::{definitions, V2_REF};
use super::params::Param;
use super::paths::{self, Operation, PathItem};
use crate::catalog;

/// The media type client-go requests from `/openapi/v2` (served by `v2_proto`).
pub const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";

/// Title and version in `info`.
pub(crate) const INFO: (&str, &str) = ("Kubernetes", "unversioned");

fn reference(def: &str) -> Value {
    json!({"$ref": format!("{V2_REF}{def}")})
}

fn param(p: &Param) -> Value {
    let mut obj = Map::new();
    obj.insert("description".into(), p.description.into());
    obj.insert("in".into(), (if p.in_path { "path" } else { "query" }).into());
    obj.insert("name".into(), p.name.into());
    if p.in_path {
        obj.insert("required".into(), true.into());
    }
    obj.insert("type".into(), p.ty.as_str().into());
    obj.insert("uniqueItems".into(), true.into());
    Value::Object(obj)
}

fn gvk_value(gvk: (&str, &str, &str)) -> Value {
    json!({"group": gvk.0, "kind": gvk.2, "version": gvk.1})
}

pub(crate) fn status_text(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        _ => "Unauthorized",
    }
}

fn operation(op: &Operation) -> Value {
    let mut params: Vec<Value> = Vec::new();
    if let Some((def, required)) = &op.body {
        params.push(json!({"in": "body", "name": "body", "required": required, "schema": reference(def)}));
    }
    params.extend(op.params.iter().map(param));
    let mut responses = Map::new();
    for (code, def) in &op.responses {
        responses.insert(code.to_string(), json!({"description": status_text(*code), "schema": reference(def)}));
    }
    responses.insert("401".into(), json!({"description": "Unauthorized"}));
    let mut obj = Map::new();
    obj.insert("consumes".into(), json!(op.consumes()));
    obj.insert("description".into(), op.description.clone().into());
    obj.insert("operationId".into(), op.id.clone().into());
    if !params.is_empty() {
        obj.insert("parameters".into(), Value::Array(params));
    }
    obj.insert("produces".into(), json!(op.produces.media_types()));
    obj.insert("responses".into(), Value::Object(responses));
    obj.insert("schemes".into(), json!(["https"]));
    obj.insert("tags".into(), json!([op.tag]));
    if !op.action.is_empty() {
        obj.insert("x-kubernetes-action".into(), op.action.into());
    }
    if let Some(gvk) = op.gvk {
        obj.insert("x-kubernetes-group-version-kind".into(), gvk_value(gvk));
    }
    Value::Object(obj)
}

fn path_item(item: &PathItem) -> Value {
    let mut obj = Map::new();
    if !item.params.is_empty() {
        obj.insert("parameters".into(), item.params.iter().map(param).collect());
    }
    for op in &item.ops {
        obj.insert(op.method.into(), operation(op));
    }
    Value::Object(obj)
}

/// Every path of the server: discovery roots and each group/version.
pub(crate) fn all_paths() -> Vec<PathItem> {
    let mut items: Vec<PathItem> = Vec::new();
    items.extend(paths::discovery_root(None));
    items.extend(paths::discovery_root(Some("")));
    items.extend(group_paths(catalog::groups().into_iter().filter(|(g, _)| catalog::is_builtin_group(g)).collect()));
    items
}

/// Paths of `groups`: their discovery roots and each group/version.
fn group_paths(groups: Vec<(&'static str, Vec<&'static str>)>) -> Vec<PathItem> {
    let mut items: Vec<PathItem> = Vec::new();
    for (g, versions) in groups {
        if !g.is_empty() {
            items.extend(paths::discovery_root(Some(g)));
        }
        for v in versions {
            items.extend(paths::group_version_paths(g, v));
        }
    }
    items
}

/// Definitions in their v2 form: kube publishes the OrArray/OrBool/OrStringArray
/// helper types of apiextensions as description-only (gnostic has no `oneOf`).
fn v2_definitions() -> Map<String, Value> {
    let mut defs = definitions().clone();
    for def in defs.values_mut() {
        if let Some(obj) = def.as_object_mut() {
            if obj.contains_key("oneOf") {
                obj.retain(|k, _| k == "description");
            }
        }
    }
    defs
}

fn build() -> Value {
    let mut paths = Map::new();
    for item in all_paths() {
        paths.insert(item.path.clone(), path_item(&item));
    }
    json!({
        "swagger": "2.0",
        "info": {"title": INFO.0, "version": INFO.1},
        "paths": paths,
        "definitions": v2_definitions(),
        "securityDefinitions": {
            "BearerToken": {"description": "Bearer Token authentication", "in": "header", "name": "authorization", "type": "apiKey"}
        },
        "security": [{"BearerToken": []}],
    })
}

static BASE: LazyLock<Value> = LazyLock::new(build);
static V2: LazyLock<Bytes> = LazyLock::new(|| Bytes::from(serde_json::to_vec(&*BASE).unwrap_or_default()));

/// The built-in document plus the served custom resources' paths and definitions.
fn with_custom_resources() -> Value {
    let mut doc = BASE.clone();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in group_paths(super::custom::custom_groups()) {
            paths.insert(item.path.clone(), path_item(&item));
        }
    }
    if let Some(defs) = doc.get_mut("definitions").and_then(Value::as_object_mut) {
        defs.extend(super::custom::custom_definitions());
        defs.sort_keys();
    }
    doc
}

/// The `/openapi/v2` document and the CRD generation it was built at.
pub(crate) fn v2_current() -> (u64, Bytes) {
    static CACHE: LazyLock<parking_lot::Mutex<Option<(u64, Bytes)>>> = LazyLock::new(Default::default);
    let gen = crate::crd::registry::generation();
    if crate::crd::registry::rows().is_empty() {
        return (gen, V2.clone());
    }
    let mut cache = CACHE.lock();
    if let Some((g, b)) = cache.as_ref() {
        if *g == gen {
            return (gen, b.clone());
        }
    }
    let b = Bytes::from(serde_json::to_vec(&with_custom_resources()).unwrap_or_default());
    *cache = Some((gen, b.clone()));
    (gen, b)
}

/// The serialized `/openapi/v2` document (`application/json`).
pub fn v2_json() -> Bytes {
    v2_current().1
}

/// Whether an `/openapi/v2` request's `Accept` header admits the JSON
/// document (empty, `application/json`, `application/*` or `*/*` with q > 0).
/// When it does not (client-go's protobuf-only request), answer 406.
pub fn v2_accepts_json(accept: &str) -> bool {
    if accept.trim().is_empty() {
        return true;
    }
    accept.split(',').any(|range| {
        let mut parts = range.split(';');
        let base = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let zero_q = parts.any(|p| {
            p.split_once('=').is_some_and(|(k, v)| k.trim() == "q" && v.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
        });
        matches!(base.as_str(), "application/json" | "application/*" | "*/*") && !zero_q
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protobuf_only_requests_get_no_json() {
        assert!(!v2_accepts_json(V2_PROTOBUF));
        assert!(v2_accepts_json(""));
        assert!(v2_accepts_json("application/json"));
        assert!(v2_accepts_json(&format!("{V2_PROTOBUF}, application/json;q=0.5")));
        assert!(v2_accepts_json("*/*"));
        assert!(!v2_accepts_json("application/json;q=0"));
    }
}
