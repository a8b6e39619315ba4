//! Defaulting (apiextensions' `structuraldefaulting.Default`): a property's `default` is
//! set where its parent object exists and the field is absent (or a non-nullable `null`),
//! recursively, including in array items and `additionalProperties` values.

use serde_json::Value;

use super::compiled::{Additional, CompiledSchema, Node};
use super::validate::MAX_VALUE_DEPTH;

impl CompiledSchema {
    /// Applies the schema's defaults to `obj`. The root's `apiVersion`, `kind` and
    /// `metadata` are left alone (metadata is the caller's business).
    pub fn apply_defaults(&self, obj: &mut Value) {
        default_node(obj, &self.root, true, 0);
    }
}

fn is_non_nullable_null(x: &Value, s: &Node) -> bool {
    x.is_null() && !s.nullable
}

fn skip_root_key(root: bool, k: &str) -> bool {
    root && matches!(k, "apiVersion" | "kind" | "metadata")
}

fn default_node(x: &mut Value, s: &Node, root: bool, depth: usize) {
    if depth > MAX_VALUE_DEPTH {
        return;
    }
    match x {
        Value::Object(m) => {
            for (k, prop) in &s.properties {
                let Some(d) = &prop.default else {
                    continue;
                };
                if skip_root_key(root, k) {
                    continue;
                }
                match m.get_mut(k) {
                    None => {
                        m.insert(k.clone(), d.clone());
                    }
                    Some(v) if is_non_nullable_null(v, prop) => *v = d.clone(),
                    Some(_) => {}
                }
            }
            for (k, v) in m.iter_mut() {
                if skip_root_key(root, k) {
                    continue;
                }
                if let Some(prop) = s.properties.get(k) {
                    default_node(v, prop, false, depth + 1);
                } else if let Additional::Schema(a) = &s.additional {
                    if is_non_nullable_null(v, a) {
                        if let Some(d) = &a.default {
                            *v = d.clone();
                        }
                    }
                    default_node(v, a, false, depth + 1);
                }
            }
        }
        Value::Array(arr) => {
            let Some(items) = s.items.as_deref() else {
                return;
            };
            for v in arr.iter_mut() {
                if is_non_nullable_null(v, items) {
                    if let Some(d) = &items.default {
                        *v = d.clone();
                    }
                }
                default_node(v, items, false, depth + 1);
            }
        }
        _ => {}
    }
}
