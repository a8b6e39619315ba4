//! The structural view of a schema that the apply engine needs, read from a
//! [`SchemaCursor`] (built-in OpenAPI definitions with `$ref`, or inline CRD
//! JSONSchemaProps): is a node a scalar, a list (atomic, set, or map keyed by
//! fields) or a map (granular or atomic, with named fields or not)?
//!
//! The rules follow kube-openapi's `schemaconv` (OpenAPI → structured-merge-diff
//! schema): `x-kubernetes-list-type` / `-list-map-keys` / `-map-type` win;
//! built-in lists without a list type fall back to the patch strategy (`merge`
//! with a merge key ⇒ map keyed by it, `merge` alone ⇒ set, else atomic).
//! Missing schemas, unknown fields and `x-kubernetes-preserve-unknown-fields`
//! nodes without properties are "deduced": maps granular, lists atomic.

use serde_json::Value;

use super::compiled::{NodeAtom, Rel, SsaSchema};
use super::path::PathElement;

/// `x-kubernetes-list-type`.
pub const LIST_TYPE: &str = "x-kubernetes-list-type";
/// `x-kubernetes-list-map-keys`.
pub const LIST_MAP_KEYS: &str = "x-kubernetes-list-map-keys";
/// `x-kubernetes-map-type` (also used for `+structType`).
pub const MAP_TYPE: &str = "x-kubernetes-map-type";

/// A node's schema in a compiled [`SsaSchema`]; no schema means deduced.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ty<'a> {
    node: Option<(&'a SsaSchema, u32)>,
}

/// How a list's elements relate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListRel<'a> {
    /// Replaced as a whole.
    Atomic,
    /// Associative list of scalars, keyed by value.
    Set,
    /// Associative list of maps, keyed by these fields.
    Map(&'a [Box<str>]),
}

/// What a schema node is (Go's `schema.Atom`, with `Any` for deduced types).
#[derive(Debug, Clone)]
pub enum Atom<'a> {
    Scalar(ScalarKind),
    List {
        rel: ListRel<'a>,
        elem: Ty<'a>,
    },
    Map {
        atomic: bool,
        ty: Ty<'a>,
    },
    /// Deduced: behaves as a granular map, an atomic list or a scalar,
    /// depending on the value.
    Any,
}

/// Which scalar values a node accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    Numeric,
    String,
    Boolean,
    Untyped,
}

/// The shape of a value, to pick an atom for deduced nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Scalar,
    List,
    Map,
}

impl<'a> Atom<'a> {
    /// Go's `deduceAtom`: narrows a deduced atom by the value's shape. A
    /// missing or null value of a deduced node is handled as a map.
    pub fn deduce(&self, v: Option<&Value>) -> Atom<'a> {
        match self {
            Atom::Any => match v {
                Some(Value::Array(_)) => Atom::List { rel: ListRel::Atomic, elem: Ty::deduced() },
                Some(Value::Bool(_) | Value::Number(_) | Value::String(_)) => Atom::Scalar(ScalarKind::Untyped),
                _ => Atom::Map { atomic: false, ty: Ty::deduced() },
            },
            other => other.clone(),
        }
    }

    /// Which of Go's atom kinds this is (for `alhs.Equals(arhs)`).
    pub fn shape(&self) -> Option<Shape> {
        match self {
            Atom::Scalar(_) => Some(Shape::Scalar),
            Atom::List { .. } => Some(Shape::List),
            Atom::Map { .. } => Some(Shape::Map),
            Atom::Any => None,
        }
    }
}

impl<'a> Ty<'a> {
    /// A deduced (schema-less) node.
    pub fn deduced() -> Self {
        Ty { node: None }
    }

    /// The root of `schema` (`None`: deduced).
    pub fn new(schema: Option<&'a SsaSchema>) -> Self {
        Ty { node: schema.and_then(|s| Some((s, s.root?))) }
    }

    fn at(s: &'a SsaSchema, id: Option<u32>) -> Self {
        Ty { node: id.map(|id| (s, id)) }
    }

    fn get(&self) -> Option<(&'a SsaSchema, &'a super::compiled::Node)> {
        let (s, id) = self.node?;
        Some((s, s.node(id)?))
    }

    /// The atom of this node.
    pub fn atom(&self) -> Atom<'a> {
        let Some((s, n)) = self.get() else { return Atom::Any };
        match &n.atom {
            NodeAtom::Scalar(k) => Atom::Scalar(*k),
            NodeAtom::List { rel, elem } => {
                let rel = match rel {
                    Rel::Atomic => ListRel::Atomic,
                    Rel::Set => ListRel::Set,
                    Rel::Map(keys) => ListRel::Map(keys),
                };
                Atom::List { rel, elem: Ty::at(s, *elem) }
            }
            NodeAtom::Map { atomic, own: true } => Atom::Map { atomic: *atomic, ty: *self },
            NodeAtom::Map { atomic, own: false } => Atom::Map { atomic: *atomic, ty: Ty::deduced() },
            NodeAtom::Any => Atom::Any,
        }
    }

    /// The schema of field `name` of a map node, and whether it is a named
    /// (struct) field. Unknown fields are deduced.
    pub fn field(&self, name: &str) -> (Ty<'a>, bool) {
        let Some((s, n)) = self.get() else { return (Ty::deduced(), false) };
        if let Some(p) = n.props.get(name) {
            return (Ty::at(s, p.ty), true);
        }
        match n.additional {
            Some(values) => (Ty::at(s, values), false),
            None => (Ty::deduced(), false),
        }
    }

    /// Whether `name` is a named field of this (struct) node.
    pub fn has_named_field(&self, name: &str) -> bool {
        self.get().is_some_and(|(_, n)| n.props.contains_key(name))
    }

    /// The default of field `name` of this node (list-map key defaults).
    pub fn field_default(&self, name: &str) -> Option<&'a Value> {
        self.get()?.1.props.get(name)?.default.as_ref()
    }
}

/// Go's `listItemToPathElement`: the path element of one element of an
/// associative list.
pub fn list_item_pe(rel: &ListRel<'_>, elem: &Ty<'_>, child: &Value) -> Result<PathElement, String> {
    match rel {
        ListRel::Atomic => Err("invalid indexing of non-associative list".into()),
        ListRel::Map(keys) => {
            let m = match child {
                Value::Null => return Err("associative list with keys may not have a null element".into()),
                Value::Object(m) => m,
                _ => return Err("associative list with keys may not have non-map elements".into()),
            };
            let mut fields = Vec::with_capacity(keys.len());
            for k in keys.iter() {
                let k: &str = k;
                if let Some(v) = m.get(k) {
                    fields.push((k.to_string(), v.clone()));
                } else if let Some(d) = elem.field_default(k) {
                    fields.push((k.to_string(), d.clone()));
                }
            }
            if !keys.is_empty() && fields.is_empty() {
                let quoted: Vec<String> = keys.iter().map(|k| super::path::go_quote(k)).collect();
                return Err(format!(
                    "associative list with keys has an element that omits all key fields [{}] (and doesn't have default values for any key fields)",
                    quoted.join(" ")
                ));
            }
            Ok(PathElement::key(fields))
        }
        ListRel::Set => match child {
            Value::Object(_) => Err("associative list without keys has an element that's a map type".into()),
            Value::Array(_) => Err("not supported: associative list with lists as elements".into()),
            Value::Null => Err("associative list without keys has an element that's an explicit null".into()),
            v => Ok(PathElement::Value(v.clone())),
        },
    }
}

/// Each element's path element (`None` when it has none, as Go skips it) and
/// whether another element has the same one: a duplicated key is tracked only
/// as a whole, never field by field.
pub fn keyed_items(rel: &ListRel<'_>, elem: &Ty<'_>, items: &[Value]) -> Vec<Option<(PathElement, bool)>> {
    let pes: Vec<Option<PathElement>> = items.iter().map(|c| list_item_pe(rel, elem, c).ok()).collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut duplicated = std::collections::BTreeSet::new();
    for pe in pes.iter().flatten() {
        if !seen.insert(pe) {
            duplicated.insert(pe.clone());
        }
    }
    drop(seen);
    pes.into_iter()
        .map(|pe| {
            pe.map(|pe| {
                let d = duplicated.contains(&pe);
                (pe, d)
            })
        })
        .collect()
}
