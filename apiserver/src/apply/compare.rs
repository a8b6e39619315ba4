//! Go's `TypedValue.Compare`: which paths were added, modified or removed
//! between two versions of an object, walking both by schema (associative
//! list elements are matched by key, atomic lists and maps compared whole).

use serde_json::{Map, Value};

use super::fieldset::FieldSet;
use super::path::{values_equal, PathElement};
use super::schema::{keyed_items, list_item_pe, Atom, ListRel, Ty};

/// The result of comparing two objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Comparison {
    pub removed: FieldSet,
    pub modified: FieldSet,
    pub added: FieldSet,
}

impl Comparison {
    /// Go's `ExcludeFields`-style filtering, by any set transformation.
    pub fn filter(self, f: impl Fn(FieldSet) -> FieldSet) -> Comparison {
        Comparison { removed: f(self.removed), modified: f(self.modified), added: f(self.added) }
    }
}

/// Compares `lhs` (old) with `rhs` (new).
pub fn compare(lhs: &Value, rhs: &Value, ty: Ty<'_>) -> Comparison {
    let mut c = Comparison::default();
    // The root's own marks are dropped: the empty path is never tracked.
    node(Some(lhs), Some(rhs), ty, &mut c);
    c
}

/// Whether a node's own path was added, removed or modified.
#[derive(Debug, Clone, Copy, Default)]
struct Marks {
    added: bool,
    removed: bool,
    modified: bool,
}

impl Marks {
    const ADDED: Marks = Marks { added: true, removed: false, modified: false };
    const REMOVED: Marks = Marks { added: false, removed: true, modified: false };

    fn leaf(lhs: Option<&Value>, rhs: Option<&Value>) -> Marks {
        match (lhs, rhs) {
            (None, _) => Marks::ADDED,
            (_, None) => Marks::REMOVED,
            (Some(l), Some(r)) => Marks { modified: !values_equal(l, r), ..Marks::default() },
        }
    }

    fn or(self, o: Marks) -> Marks {
        Marks {
            added: self.added || o.added,
            removed: self.removed || o.removed,
            modified: self.modified || o.modified,
        }
    }
}

/// Files the comparison of the subtree at `pe` (`below`, and the marks of
/// `pe` itself) into `level`, the comparison one level up. The sets are built
/// bottom-up, so no insert walks down from the root.
fn attach(level: &mut Comparison, pe: PathElement, below: Comparison, m: Marks) {
    for (set, sub, mark) in [
        (&mut level.added, below.added, m.added),
        (&mut level.removed, below.removed, m.removed),
        (&mut level.modified, below.modified, m.modified),
    ] {
        if mark {
            set.members.insert(pe.clone());
        }
        if !sub.is_empty() {
            set.children.insert(pe.clone(), sub);
        }
    }
}

fn as_list(v: Option<&Value>) -> Option<&Vec<Value>> {
    v.and_then(Value::as_array)
}

fn as_map(v: Option<&Value>) -> Option<&Map<String, Value>> {
    v.and_then(Value::as_object)
}

/// Compares one node; what changed below it goes into `below`.
fn node(lhs: Option<&Value>, rhs: Option<&Value>, ty: Ty<'_>, below: &mut Comparison) -> Marks {
    match (lhs, rhs) {
        (None, None) => return Marks::default(),
        // Equal subtrees add, modify and remove nothing.
        (Some(l), Some(r)) if values_equal(l, r) => return Marks::default(),
        // A new subtree (all of a create): every node in it is added.
        (None, Some(r)) => {
            added(r, ty, &mut below.added);
            return Marks::ADDED;
        }
        _ => {}
    }
    let a = ty.atom();
    let (al, ar) = (a.deduce(lhs), a.deduce(rhs));
    let (in_leaf, marks) = if rhs.is_none() {
        handle(&al, lhs, rhs, below)
    } else if lhs.is_none() || al.shape() == ar.shape() {
        handle(&ar, lhs, rhs, below)
    } else {
        let (_, m1) = handle(&al, lhs, rhs, below);
        let (leaf, m2) = handle(&ar, lhs, rhs, below);
        (leaf, m1.or(m2))
    };
    if in_leaf {
        return marks;
    }
    if lhs.is_none() {
        marks.or(Marks::ADDED)
    } else if rhs.is_none() {
        marks.or(Marks::REMOVED)
    } else {
        marks
    }
}

/// Returns whether the node was compared as a leaf, and its own marks.
fn handle(atom: &Atom<'_>, lhs: Option<&Value>, rhs: Option<&Value>, below: &mut Comparison) -> (bool, Marks) {
    match atom {
        Atom::Scalar(_) | Atom::Any => (true, Marks::leaf(lhs, rhs)),
        Atom::List { rel, elem } => {
            let (l, r) = (as_list(lhs), as_list(rhs));
            let empty = l.is_none_or(|l| l.is_empty()) && r.is_none_or(|r| r.is_empty());
            if *rel == ListRel::Atomic || empty {
                return (true, Marks::leaf(lhs, rhs));
            }
            list_items(rel, *elem, l.map_or(&[][..], |v| v), r.map_or(&[][..], |v| v), below);
            (false, Marks::default())
        }
        Atom::Map { atomic, ty } => {
            let (l, r) = (as_map(lhs), as_map(rhs));
            let empty = l.is_none_or(Map::is_empty) && r.is_none_or(Map::is_empty);
            if *atomic || empty {
                return (true, Marks::leaf(lhs, rhs));
            }
            let mut keys: Vec<&String> = l.into_iter().flat_map(|m| m.keys()).collect();
            keys.extend(r.into_iter().flat_map(|m| m.keys()));
            keys.sort();
            keys.dedup();
            for k in keys {
                let mut sub = Comparison::default();
                let m = node(l.and_then(|m| m.get(k)), r.and_then(|m| m.get(k)), ty.field(k).0, &mut sub);
                attach(below, PathElement::Field(k.clone()), sub, m);
            }
            (false, Marks::default())
        }
    }
}

fn list_items(rel: &ListRel<'_>, elem: Ty<'_>, lhs: &[Value], rhs: &[Value], below: &mut Comparison) {
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
        let mut sub = Comparison::default();
        let m = match (l.len(), r.len()) {
            (0, 0) => Marks::default(),
            (0..=1, 0..=1) => node(l.first().copied(), r.first().copied(), elem, &mut sub),
            (2.., 2..) => {
                let same = l.len() == r.len() && l.iter().zip(r).all(|(a, b)| values_equal(a, b));
                Marks { modified: !same, ..Marks::default() }
            }
            (2.., _) => {
                let m = match r.first() {
                    Some(r0) => node(None, Some(r0), elem, &mut sub),
                    None => Marks::default(),
                };
                m.or(Marks::REMOVED)
            }
            (_, _) => {
                let m = match l.first() {
                    Some(l0) => node(Some(l0), None, elem, &mut sub),
                    None => Marks::default(),
                };
                m.or(Marks::ADDED)
            }
        };
        attach(below, pe, sub, m);
    }
}

/// The `added` set below a value that is new in `rhs` (what `node(None, r)`
/// would find, without pairing list elements against an empty side).
fn added(v: &Value, ty: Ty<'_>, node: &mut FieldSet) {
    match ty.atom().deduce(Some(v)) {
        Atom::Scalar(_) | Atom::Any => {}
        Atom::List { rel, elem } => {
            let Value::Array(items) = v else { return };
            if rel == ListRel::Atomic {
                return;
            }
            for (child, item) in items.iter().zip(keyed_items(&rel, &elem, items)) {
                let Some((pe, duplicated)) = item else { continue };
                // Duplicated keys are added once, as a whole.
                if !duplicated {
                    let mut sub = FieldSet::new();
                    added(child, elem, &mut sub);
                    if !sub.is_empty() {
                        node.children.insert(pe.clone(), sub);
                    }
                }
                node.members.insert(pe);
            }
        }
        Atom::Map { atomic, ty } => {
            let Value::Object(m) = v else { return };
            if atomic {
                return;
            }
            for (k, val) in m {
                let pe = PathElement::Field(k.clone());
                let mut sub = FieldSet::new();
                added(val, ty.field(k).0, &mut sub);
                if !sub.is_empty() {
                    node.children.insert(pe.clone(), sub);
                }
                node.members.insert(pe);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::apply::SsaSchema;

    fn f(name: &str) -> PathElement {
        PathElement::Field(name.into())
    }

    fn port(n: i64) -> PathElement {
        PathElement::key(vec![("containerPort".into(), json!(n)), ("protocol".into(), json!("TCP"))])
    }

    #[test]
    fn a_new_subtree_is_added_whole_and_duplicate_keys_only_as_members() {
        let ty = Ty::new(SsaSchema::builtin("io.k8s.api.core.v1.Pod"));
        let pod = json!({"spec": {"containers": [{"name": "c", "ports": [
            {"containerPort": 80, "protocol": "TCP"},
            {"containerPort": 80, "protocol": "TCP", "name": "again"},
            {"containerPort": 81, "protocol": "TCP"},
        ]}]}});
        let c = compare(&json!({}), &pod, ty);
        assert!(c.removed.is_empty() && c.modified.is_empty());
        let name = PathElement::key(vec![("name".into(), json!("c"))]);
        let ports = [f("spec"), f("containers"), name.clone(), f("ports")];
        for p in [&ports[..1], &ports[..2], &ports[..3], &ports[..]] {
            assert!(c.added.has(p), "{p:?} is added");
        }
        let dup = [&ports[..], &[port(80)]].concat();
        assert!(c.added.has(&dup));
        assert!(!c.added.has(&[&dup[..], &[f("containerPort")]].concat()), "a duplicate gets no children");
        let single = [&ports[..], &[port(81)], &[f("containerPort")]].concat();
        assert!(c.added.has(&single));

        // The same subtree under an existing but empty list is found the same way.
        let live = json!({"spec": {"containers": [{"name": "c", "ports": []}]}});
        let below = compare(&live, &pod, ty);
        assert!(below.added.has(&dup) && below.added.has(&single));
        assert!(!below.added.has(&ports), "the list itself existed");
        assert!(below.modified.is_empty() && below.removed.is_empty());
    }
}
