//! Go's `TypedValue.ToFieldSet` (the fields a value sets, as an applier would
//! own them) and `Set.EnsureNamedFieldsAreMembers` (struct fields with
//! children also become members, so removal can drop them whole).

use serde_json::Value;

use super::fieldset::FieldSet;
use super::path::PathElement;
use super::schema::{keyed_items, Atom, ListRel, Ty};

/// The field set of `v` under schema `ty`.
pub fn to_field_set(v: &Value, ty: Ty<'_>) -> FieldSet {
    let mut set = FieldSet::new();
    // The empty path (the whole object) is never a member.
    walk(v, ty, &mut set);
    set
}

/// Fills `node` (the set below `v`'s path) bottom-up, so no insert walks
/// down from the root; returns whether `v`'s path is itself a member.
fn walk(v: &Value, ty: Ty<'_>, node: &mut FieldSet) -> bool {
    match ty.atom().deduce(Some(v)) {
        Atom::Scalar(_) | Atom::Any => true,
        Atom::List { rel, elem } => {
            if rel == ListRel::Atomic {
                return true;
            }
            if let Value::Array(items) = v {
                visit_list(items, &rel, elem, node);
            }
            false
        }
        Atom::Map { atomic, ty: mty } => {
            if atomic {
                return true;
            }
            let Value::Object(m) = v else { return false };
            for (k, val) in m {
                let (fty, named) = mty.field(k);
                let pe = PathElement::Field(k.clone());
                let mut child = FieldSet::new();
                let leaf = walk(val, fty, &mut child);
                let empty_map = matches!(val, Value::Object(o) if o.is_empty());
                if leaf || val.is_null() || empty_map || !named {
                    node.members.insert(pe.clone());
                }
                if !child.is_empty() {
                    node.children.insert(pe, child);
                }
            }
            false
        }
    }
}

fn visit_list(items: &[Value], rel: &ListRel<'_>, elem: Ty<'_>, node: &mut FieldSet) {
    for (child, item) in items.iter().zip(keyed_items(rel, &elem, items)) {
        let Some((pe, duplicated)) = item else { continue };
        if !duplicated {
            let mut set = FieldSet::new();
            walk(child, elem, &mut set);
            if !set.is_empty() {
                node.children.insert(pe.clone(), set);
            }
        }
        node.members.insert(pe);
    }
}

/// Go's `EnsureNamedFieldsAreMembers`: every child that is a named field of
/// a struct also becomes a member.
pub fn ensure_named_fields_are_members(set: &FieldSet, ty: Ty<'_>) -> FieldSet {
    let atom = ty.atom();
    let mut out = FieldSet { members: set.members.clone(), children: Default::default() };
    for (pe, child) in &set.children {
        let child_ty = match (pe, &atom) {
            (PathElement::Field(name), Atom::Map { ty: mty, .. }) => {
                let (fty, named) = mty.field(name);
                if named {
                    out.members.insert(pe.clone());
                }
                fty
            }
            (PathElement::Key(_), Atom::List { elem, .. }) => *elem,
            _ => Ty::deduced(),
        };
        out.children.insert(pe.clone(), ensure_named_fields_are_members(child, child_ty));
    }
    out
}
