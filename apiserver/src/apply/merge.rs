//! Go's `TypedValue.Merge` with `ruleKeepRHS`: the applied configuration
//! (rhs) merged onto the live object (lhs). Scalars, atomic lists and atomic
//! maps take the rhs value; granular maps merge key by key; associative lists
//! merge element by element in Go's order (rhs order for shared elements,
//! lhs-only elements kept near their lhs neighbours).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::path::PathElement;
use super::schema::{list_item_pe, Atom, ListRel, Ty};

/// Merges `rhs` onto `lhs`. `Err` lists elements that cannot be keyed.
pub fn merge(lhs: &Value, rhs: &Value, ty: Ty<'_>) -> Result<Value, Vec<String>> {
    let mut errs = Vec::new();
    let out = node(Some(lhs), Some(rhs), ty, &mut errs);
    if errs.is_empty() {
        Ok(out.unwrap_or(Value::Null))
    } else {
        Err(errs)
    }
}

fn node(lhs: Option<&Value>, rhs: Option<&Value>, ty: Ty<'_>, errs: &mut Vec<String>) -> Option<Value> {
    if lhs.is_none() && rhs.is_none() {
        return None;
    }
    let a = ty.atom();
    let (al, ar) = (a.deduce(lhs), a.deduce(rhs));
    if rhs.is_none() {
        handle(&al, lhs, rhs, errs)
    } else {
        // With differing shapes Go also walks the lhs atom, but only for
        // errors; the rhs atom's result is kept.
        handle(&ar, lhs, rhs, errs)
    }
}

fn leaf(lhs: Option<&Value>, rhs: Option<&Value>) -> Option<Value> {
    rhs.or(lhs).cloned()
}

fn handle(atom: &Atom<'_>, lhs: Option<&Value>, rhs: Option<&Value>, errs: &mut Vec<String>) -> Option<Value> {
    match atom {
        Atom::Scalar(_) | Atom::Any => leaf(lhs, rhs),
        Atom::List { rel, elem } => {
            let (l, r) = (lhs.and_then(Value::as_array), rhs.and_then(Value::as_array));
            let empty = l.is_none_or(|l| l.is_empty()) && r.is_none_or(|r| r.is_empty());
            if *rel == ListRel::Atomic || empty {
                return leaf(lhs, rhs);
            }
            if l.is_none() && r.is_none() {
                return None;
            }
            let out = list_items(rel, *elem, l.map_or(&[][..], |v| v), r.map_or(&[][..], |v| v), errs);
            (!out.is_empty()).then_some(Value::Array(out))
        }
        Atom::Map { atomic, ty } => {
            let (l, r) = (lhs.and_then(Value::as_object), rhs.and_then(Value::as_object));
            let empty = l.is_none_or(Map::is_empty) && r.is_none_or(Map::is_empty);
            if *atomic || empty {
                return leaf(lhs, rhs);
            }
            if l.is_none() && r.is_none() {
                return None;
            }
            let mut out = Map::new();
            let keys: BTreeSet<&String> =
                l.into_iter().flat_map(|m| m.keys()).chain(r.into_iter().flat_map(|m| m.keys())).collect();
            for k in keys {
                let merged = node(l.and_then(|m| m.get(k)), r.and_then(|m| m.get(k)), ty.field(k).0, errs);
                if let Some(v) = merged {
                    out.insert(k.clone(), v);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
    }
}

/// Keys the elements of one side; the lhs (live) may hold duplicates, whose
/// observed value becomes null as in Go.
fn index<'v>(
    rel: &ListRel<'_>,
    elem: Ty<'_>,
    list: &'v [Value],
    allow_duplicates: bool,
    errs: &mut Vec<String>,
) -> (Vec<PathElement>, BTreeMap<PathElement, Option<&'v Value>>) {
    let mut pes = Vec::with_capacity(list.len());
    let mut observed: BTreeMap<PathElement, Option<&Value>> = BTreeMap::new();
    for (i, child) in list.iter().enumerate() {
        let pe = match list_item_pe(rel, &elem, child) {
            Ok(pe) => pe,
            Err(e) => {
                errs.push(format!("element {i}: {e}"));
                continue;
            }
        };
        if observed.contains_key(&pe) {
            if !allow_duplicates {
                errs.push(format!("duplicate entries for key {pe}"));
                continue;
            }
            observed.insert(pe.clone(), None);
        } else {
            observed.insert(pe.clone(), Some(child));
        }
        pes.push(pe);
    }
    (pes, observed)
}

const NULL: Value = Value::Null;

fn observed_value<'v>(m: &BTreeMap<PathElement, Option<&'v Value>>, pe: &PathElement) -> Option<&'v Value> {
    // A duplicated lhs key is observed as an explicit null.
    m.get(pe).map(|v| v.unwrap_or(&NULL))
}

fn list_items(rel: &ListRel<'_>, elem: Ty<'_>, lhs: &[Value], rhs: &[Value], errs: &mut Vec<String>) -> Vec<Value> {
    let mut local = Vec::new();
    let (rpes, robs) = index(rel, elem, rhs, false, &mut local);
    let (lpes, lobs) = index(rel, elem, lhs, true, &mut local);
    if !local.is_empty() {
        errs.extend(local);
        return Vec::new();
    }
    let mut shared = rpes.iter().filter(|pe| lobs.contains_key(*pe));
    let mut next_shared = shared.next();
    let mut merged_rhs: BTreeSet<&PathElement> = BTreeSet::new();
    let mut out = Vec::with_capacity(lhs.len().max(rhs.len()));
    let push = |out: &mut Vec<Value>, l: Option<&Value>, r: Option<&Value>, errs: &mut Vec<String>| {
        if let Some(v) = node(l, r, elem, errs) {
            out.push(v);
        }
    };
    let (mut li, mut ri) = (0, 0);
    while li < lpes.len() || ri < rpes.len() {
        if li < lpes.len() && ri < rpes.len() {
            let pe = &lpes[li];
            if *pe == rpes[ri] {
                merged_rhs.insert(pe);
                push(&mut out, observed_value(&lobs, pe), observed_value(&robs, pe), errs);
                li += 1;
                ri += 1;
                next_shared = shared.next();
                continue;
            }
            if robs.contains_key(pe) && next_shared.is_some_and(|n| n != pe) {
                li += 1;
                continue;
            }
        }
        if li < lpes.len() {
            let pe = &lpes[li];
            if !robs.contains_key(pe) {
                push(&mut out, lhs.get(li), None, errs);
                li += 1;
                continue;
            } else if merged_rhs.contains(pe) {
                li += 1;
            }
        }
        if ri < rpes.len() {
            let pe = &rpes[ri];
            merged_rhs.insert(pe);
            push(&mut out, observed_value(&lobs, pe), observed_value(&robs, pe), errs);
            ri += 1;
            if next_shared == Some(pe) {
                next_shared = shared.next();
            }
        }
    }
    out
}
