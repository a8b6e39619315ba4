//! Go's `TypedValue.ToFieldSet` (the fields a value sets, as an applier would
//! own them) and `Set.EnsureNamedFieldsAreMembers` (struct fields with
//! children also become members, so removal can drop them whole).

use std::collections::BTreeSet;

use serde_json::Value;

use super::fieldset::FieldSet;
use super::path::{Path, PathElement};
use super::schema::{list_item_pe, Atom, ListRel, Ty};

/// The field set of `v` under schema `ty`.
pub fn to_field_set(v: &Value, ty: Ty<'_>) -> FieldSet {
    let mut set = FieldSet::new();
    let mut path = Vec::new();
    walk(v, ty, &mut path, &mut set);
    set
}

fn walk(v: &Value, ty: Ty<'_>, path: &mut Path, set: &mut FieldSet) {
    match ty.atom().deduce(Some(v)) {
        Atom::Scalar(_) | Atom::Any => set.insert(path),
        Atom::List { rel, elem } => {
            if rel == ListRel::Atomic {
                set.insert(path);
                return;
            }
            let Value::Array(items) = v else { return };
            visit_list(items, &rel, elem, path, set);
        }
        Atom::Map { atomic, ty: mty } => {
            if atomic {
                set.insert(path);
                return;
            }
            let Value::Object(m) = v else { return };
            for (k, val) in m {
                let (fty, named) = mty.field(k);
                path.push(PathElement::Field(k.clone()));
                walk(val, fty, path, set);
                let empty_map = matches!(val, Value::Object(o) if o.is_empty());
                if val.is_null() || empty_map || !named {
                    set.insert(path);
                }
                path.pop();
            }
        }
    }
}

fn visit_list(items: &[Value], rel: &ListRel<'_>, elem: Ty<'_>, path: &mut Path, set: &mut FieldSet) {
    let pes: Vec<Option<PathElement>> = items.iter().map(|c| list_item_pe(rel, &elem, c).ok()).collect();
    let mut seen = BTreeSet::new();
    let mut duplicates = BTreeSet::new();
    for pe in pes.iter().flatten() {
        if !seen.insert(pe.clone()) && duplicates.insert(pe.clone()) {
            path.push(pe.clone());
            set.insert(path);
            path.pop();
        }
    }
    for (child, pe) in items.iter().zip(pes) {
        let Some(pe) = pe else { continue };
        if duplicates.contains(&pe) {
            continue;
        }
        path.push(pe);
        walk(child, elem, path, set);
        set.insert(path);
        path.pop();
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
