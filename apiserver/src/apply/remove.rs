//! Go's `TypedValue.RemoveItems`: drops the member paths of a set from a
//! value (a member removes its whole subtree; children descend). Like Go, a
//! map or list left empty becomes null; the caller strips nulls at the end.

use serde_json::{Map, Value};

use super::fieldset::FieldSet;
use super::path::PathElement;
use super::schema::{list_item_pe, Atom, ListRel, Ty};

/// `v` without the paths in `to_remove`.
pub fn remove_items(v: &Value, to_remove: &FieldSet, ty: Ty<'_>) -> Value {
    match ty.atom().deduce(Some(v)) {
        Atom::Scalar(_) | Atom::Any => v.clone(),
        Atom::List { rel, elem } => {
            let Value::Array(items) = v else { return Value::Null };
            if items.is_empty() || rel == ListRel::Atomic {
                return Value::Null;
            }
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let Ok(pe) = list_item_pe(&rel, &elem, item) else {
                    out.push(item.clone());
                    continue;
                };
                if to_remove.has(std::slice::from_ref(&pe)) {
                    continue;
                }
                match to_remove.child(&pe) {
                    Some(sub) if !sub.is_empty() => out.push(remove_items(item, sub, elem)),
                    _ => out.push(item.clone()),
                }
            }
            if out.is_empty() {
                Value::Null
            } else {
                Value::Array(out)
            }
        }
        Atom::Map { atomic, ty: mty } => {
            let Value::Object(m) = v else { return Value::Null };
            if m.is_empty() || atomic {
                return Value::Null;
            }
            let mut out = Map::new();
            for (k, val) in m {
                let pe = PathElement::Field(k.clone());
                if to_remove.has(std::slice::from_ref(&pe)) {
                    continue;
                }
                match to_remove.child(&pe) {
                    Some(sub) if !sub.is_empty() => {
                        out.insert(k.clone(), remove_items(val, sub, mty.field(k).0));
                    }
                    _ => {
                        out.insert(k.clone(), val.clone());
                    }
                }
            }
            if out.is_empty() {
                Value::Null
            } else {
                Value::Object(out)
            }
        }
    }
}

/// Removes null values from maps, recursively (nulls in lists are kept):
/// kube drops them when it converts to typed objects or prunes custom resources.
pub fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}
