//! Pruning of unknown fields (apiextensions' `pruning.PruneWithOptions`) and of
//! non-nullable nulls without a default (`PruneNonNullableNullsWithoutDefaults`).

use serde_json::Value;

use super::compiled::{Additional, CompiledSchema, Node};
use super::validate::MAX_VALUE_DEPTH;

const META_FIELDS: [&str; 3] = ["apiVersion", "kind", "metadata"];

fn is_meta(k: &str) -> bool {
    META_FIELDS.contains(&k)
}

impl CompiledSchema {
    /// Prunes `obj` as kube-apiserver does when decoding a custom object: fields not in
    /// the schema are removed (except under `x-kubernetes-preserve-unknown-fields`, and
    /// `apiVersion`/`kind`/`metadata` of the root and of embedded resources), then
    /// `null`s of non-nullable fields without a default are dropped.
    /// Returns the pruned paths, sorted, in kube's unknown-field form (`spec.foo`,
    /// `spec.items[0].bar`), as used for `fieldValidation=Strict|Warn`.
    pub fn prune(&self, obj: &mut Value) -> Vec<String> {
        let mut paths = Some(Vec::new());
        prune_node(obj, Some(&self.root), true, &mut paths, &mut String::new());
        self.prune_nulls(obj);
        let mut paths = paths.unwrap_or_default();
        paths.sort();
        paths
    }

    /// Only `PruneNonNullableNullsWithoutDefaults`.
    pub fn prune_nulls(&self, obj: &mut Value) {
        prune_nulls(obj, Some(&self.root), 0);
    }
}

fn additional_schema(s: &Node) -> Option<Option<&Node>> {
    match &s.additional {
        Additional::Absent => None,
        Additional::Bool(_) => Some(None),
        Additional::Schema(a) => Some(Some(a)),
    }
}

fn with_key<R>(path: &mut String, k: &str, f: impl FnOnce(&mut String) -> R) -> R {
    let len = path.len();
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(k);
    let r = f(path);
    path.truncate(len);
    r
}

fn with_index<R>(path: &mut String, i: usize, f: impl FnOnce(&mut String) -> R) -> R {
    let len = path.len();
    path.push_str(&format!("[{i}]"));
    let r = f(path);
    path.truncate(len);
    r
}

fn record(paths: &mut Option<Vec<String>>, path: &str, k: &str) {
    if let Some(p) = paths {
        p.push(if path.is_empty() { k.to_owned() } else { format!("{path}.{k}") });
    }
}

/// Prunes `x` against `s` (`None`: no schema, everything below is unknown).
/// `embedded` treats this node as an embedded resource (used for the root).
pub(crate) fn prune_node(
    x: &mut Value,
    s: Option<&Node>,
    embedded: bool,
    paths: &mut Option<Vec<String>>,
    path: &mut String,
) {
    prune_inner(x, s, embedded, paths, path, 0);
}

fn prune_inner(
    x: &mut Value,
    s: Option<&Node>,
    embedded: bool,
    paths: &mut Option<Vec<String>>,
    path: &mut String,
    depth: usize,
) {
    if depth > MAX_VALUE_DEPTH {
        return;
    }
    if let Some(s) = s.filter(|s| s.preserve_unknown) {
        skip_prune(x, s, embedded, paths, path, depth);
        return;
    }
    match x {
        Value::Object(m) => {
            let Some(s) = s else {
                for k in m.keys() {
                    record(paths, path, k);
                }
                m.clear();
                return;
            };
            let embedded = embedded || s.embedded_resource;
            let mut unknown = Vec::new();
            for (k, v) in m.iter_mut() {
                if embedded && is_meta(k) {
                    continue;
                }
                if let Some(p) = s.properties.get(k) {
                    with_key(path, k, |path| prune_inner(v, Some(p), false, paths, path, depth + 1));
                } else if let Some(a) = additional_schema(s) {
                    with_key(path, k, |path| prune_inner(v, a, false, paths, path, depth + 1));
                } else {
                    if !is_meta(k) || !path.is_empty() {
                        record(paths, path, k);
                    }
                    unknown.push(k.clone());
                }
            }
            for k in unknown {
                m.remove(&k);
            }
        }
        Value::Array(a) => {
            let items = s.and_then(|s| s.items.as_deref());
            for (i, v) in a.iter_mut().enumerate() {
                with_index(path, i, |path| prune_inner(v, items, false, paths, path, depth + 1));
            }
        }
        _ => {}
    }
}

fn skip_prune(
    x: &mut Value,
    s: &Node,
    embedded: bool,
    paths: &mut Option<Vec<String>>,
    path: &mut String,
    depth: usize,
) {
    match x {
        Value::Object(m) => {
            let embedded = embedded || s.embedded_resource;
            for (k, v) in m.iter_mut() {
                if embedded && is_meta(k) {
                    continue;
                }
                if let Some(p) = s.properties.get(k) {
                    with_key(path, k, |path| prune_inner(v, Some(p), false, paths, path, depth + 1));
                } else if let Some(a) = additional_schema(s) {
                    with_key(path, k, |path| prune_inner(v, a, false, paths, path, depth + 1));
                }
            }
        }
        Value::Array(a) => {
            if let Some(items) = s.items.as_deref() {
                for (i, v) in a.iter_mut().enumerate() {
                    with_index(path, i, |path| skip_prune(v, items, false, paths, path, depth + 1));
                }
            }
        }
        _ => {}
    }
}

fn prune_nulls(x: &mut Value, s: Option<&Node>, depth: usize) {
    if depth > MAX_VALUE_DEPTH {
        return;
    }
    match x {
        Value::Object(m) => {
            m.retain(|k, v| {
                let schema = s.and_then(|s| s.field_schema(k));
                if v.is_null() && schema.is_some_and(|p| !p.nullable && p.default.is_none()) {
                    return false;
                }
                prune_nulls(v, schema, depth + 1);
                true
            });
        }
        Value::Array(a) => {
            let items = s.and_then(|s| s.items.as_deref());
            for v in a.iter_mut() {
                prune_nulls(v, items, depth + 1);
            }
        }
        _ => {}
    }
}
