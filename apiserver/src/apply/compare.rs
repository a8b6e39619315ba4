//! Go's `TypedValue.Compare`: which paths were added, modified or removed
//! between two versions of an object, walking both by schema (associative
//! list elements are matched by key, atomic lists and maps compared whole).

use serde_json::{Map, Value};

use super::fieldset::FieldSet;
use super::path::{values_equal, Path, PathElement};
use super::schema::{list_item_pe, Atom, ListRel, Ty};

/// The result of comparing two objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    pub removed: FieldSet,
    pub modified: FieldSet,
    pub added: FieldSet,
}

impl Comparison {
    /// Go's `ExcludeFields`-style filtering, by any set transformation.
    pub fn filter(self, f: impl Fn(&FieldSet) -> FieldSet) -> Comparison {
        Comparison { removed: f(&self.removed), modified: f(&self.modified), added: f(&self.added) }
    }
}

/// Compares `lhs` (old) with `rhs` (new).
pub fn compare(lhs: &Value, rhs: &Value, ty: Ty<'_>) -> Comparison {
    let mut w = Walker { c: Comparison::default(), path: Vec::new() };
    w.node(Some(lhs), Some(rhs), ty);
    w.c
}

struct Walker {
    c: Comparison,
    path: Path,
}

fn as_list(v: Option<&Value>) -> Option<&Vec<Value>> {
    v.and_then(Value::as_array)
}

fn as_map(v: Option<&Value>) -> Option<&Map<String, Value>> {
    v.and_then(Value::as_object)
}

impl Walker {
    fn node(&mut self, lhs: Option<&Value>, rhs: Option<&Value>, ty: Ty<'_>) {
        match (lhs, rhs) {
            (None, None) => return,
            // Equal subtrees add, modify and remove nothing.
            (Some(l), Some(r)) if values_equal(l, r) => return,
            _ => {}
        }
        let a = ty.atom();
        let (al, ar) = (a.deduce(lhs), a.deduce(rhs));
        let in_leaf = if rhs.is_none() {
            self.handle(&al, lhs, rhs)
        } else if lhs.is_none() || al.shape() == ar.shape() {
            self.handle(&ar, lhs, rhs)
        } else {
            self.handle(&al, lhs, rhs);
            self.handle(&ar, lhs, rhs)
        };
        if !in_leaf {
            if lhs.is_none() {
                self.c.added.insert(&self.path);
            } else if rhs.is_none() {
                self.c.removed.insert(&self.path);
            }
        }
    }

    fn leaf(&mut self, lhs: Option<&Value>, rhs: Option<&Value>) -> bool {
        match (lhs, rhs) {
            (None, _) => self.c.added.insert(&self.path),
            (_, None) => self.c.removed.insert(&self.path),
            (Some(l), Some(r)) if !values_equal(l, r) => self.c.modified.insert(&self.path),
            _ => {}
        }
        true
    }

    fn handle(&mut self, atom: &Atom<'_>, lhs: Option<&Value>, rhs: Option<&Value>) -> bool {
        match atom {
            Atom::Scalar(_) | Atom::Any => self.leaf(lhs, rhs),
            Atom::List { rel, elem } => {
                let (l, r) = (as_list(lhs), as_list(rhs));
                let empty = l.is_none_or(|l| l.is_empty()) && r.is_none_or(|r| r.is_empty());
                if *rel == ListRel::Atomic || empty {
                    return self.leaf(lhs, rhs);
                }
                self.list_items(rel, *elem, l.map_or(&[][..], |v| v), r.map_or(&[][..], |v| v));
                false
            }
            Atom::Map { atomic, ty } => {
                let (l, r) = (as_map(lhs), as_map(rhs));
                let empty = l.is_none_or(Map::is_empty) && r.is_none_or(Map::is_empty);
                if *atomic || empty {
                    return self.leaf(lhs, rhs);
                }
                let mut keys: Vec<&String> = l.into_iter().flat_map(|m| m.keys()).collect();
                keys.extend(r.into_iter().flat_map(|m| m.keys()));
                keys.sort();
                keys.dedup();
                for k in keys {
                    self.path.push(PathElement::Field(k.clone()));
                    self.node(l.and_then(|m| m.get(k)), r.and_then(|m| m.get(k)), ty.field(k).0);
                    self.path.pop();
                }
                false
            }
        }
    }

    fn list_items(&mut self, rel: &ListRel<'_>, elem: Ty<'_>, lhs: &[Value], rhs: &[Value]) {
        let mut order: Vec<PathElement> = Vec::new();
        let mut lvals: std::collections::BTreeMap<PathElement, Vec<&Value>> = Default::default();
        let mut rvals: std::collections::BTreeMap<PathElement, Vec<&Value>> = Default::default();
        for child in lhs {
            let Ok(pe) = list_item_pe(rel, &elem, child) else { continue };
            let entry = lvals.entry(pe.clone()).or_default();
            if entry.is_empty() {
                order.push(pe);
            }
            entry.push(child);
        }
        for child in rhs {
            let Ok(pe) = list_item_pe(rel, &elem, child) else { continue };
            let entry = rvals.entry(pe.clone()).or_default();
            if entry.is_empty() && !lvals.contains_key(&pe) {
                order.push(pe);
            }
            entry.push(child);
        }
        for pe in order {
            let l = lvals.get(&pe).map_or(&[][..], |v| v.as_slice());
            let r = rvals.get(&pe).map_or(&[][..], |v| v.as_slice());
            self.path.push(pe);
            match (l.len(), r.len()) {
                (0, 0) => {}
                (0..=1, 0..=1) => self.node(l.first().copied(), r.first().copied(), elem),
                (2.., 2..) => {
                    let same = l.len() == r.len() && l.iter().zip(r).all(|(a, b)| values_equal(a, b));
                    if !same {
                        self.c.modified.insert(&self.path);
                    }
                }
                (2.., _) => {
                    if let Some(r0) = r.first() {
                        self.node(None, Some(r0), elem);
                    }
                    self.c.removed.insert(&self.path);
                }
                (_, _) => {
                    if let Some(l0) = l.first() {
                        self.node(Some(l0), None, elem);
                    }
                    self.c.added.insert(&self.path);
                }
            }
            self.path.pop();
        }
    }
}
