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

use super::path::PathElement;
use crate::patch::{SchemaCursor, PATCH_MERGE_KEY_EXTENSION, PATCH_STRATEGY_EXTENSION};

/// `x-kubernetes-list-type`.
pub const LIST_TYPE: &str = "x-kubernetes-list-type";
/// `x-kubernetes-list-map-keys`.
pub const LIST_MAP_KEYS: &str = "x-kubernetes-list-map-keys";
/// `x-kubernetes-map-type` (also used for `+structType`).
pub const MAP_TYPE: &str = "x-kubernetes-map-type";

/// A node's schema: `None` means deduced (no schema information). The
/// node's `$ref`/`allOf` resolution is done once, when the `Ty` is built.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ty<'a> {
    cursor: Option<SchemaCursor<'a>>,
    resolved: Option<&'a Value>,
}

/// How a list's elements relate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListRel<'a> {
    /// Replaced as a whole.
    Atomic,
    /// Associative list of scalars, keyed by value.
    Set,
    /// Associative list of maps, keyed by these fields.
    Map(Vec<&'a str>),
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

fn str_ext<'a>(node: &'a Value, name: &str) -> Option<&'a str> {
    node.get(name).and_then(Value::as_str)
}

impl<'a> Ty<'a> {
    /// A deduced (schema-less) node.
    pub fn deduced() -> Self {
        Ty { cursor: None, resolved: None }
    }

    /// The schema at `cursor` (`None`: deduced).
    pub fn new(cursor: Option<SchemaCursor<'a>>) -> Self {
        Ty { cursor, resolved: cursor.and_then(|c| c.resolved()) }
    }

    /// The cursor this schema was built from.
    pub fn cursor(&self) -> Option<SchemaCursor<'a>> {
        self.cursor
    }

    /// Reads an extension from the node itself, else from its `$ref` target.
    fn ext(&self, name: &str) -> Option<&'a Value> {
        let c = self.cursor?;
        c.node().get(name).or_else(|| self.resolved.and_then(|r| r.get(name)))
    }

    /// The atom of this node.
    pub fn atom(&self) -> Atom<'a> {
        let Some(c) = self.cursor else { return Atom::Any };
        let Some(node) = self.resolved else { return Atom::Any };
        if self.ext("x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true) {
            return Atom::Scalar(ScalarKind::Untyped);
        }
        // `SchemaCursor::name` without its allocation: the `$ref` (direct or
        // in the first `allOf`) names the definition.
        let n = c.node();
        let reference = n.get("$ref").or_else(|| n.pointer("/allOf/0/$ref")).and_then(Value::as_str);
        if reference.is_some_and(|r| {
            r.ends_with("io.k8s.apimachinery.pkg.api.resource.Quantity")
                || r.ends_with("io.k8s.apimachinery.pkg.util.intstr.IntOrString")
        }) {
            return Atom::Scalar(ScalarKind::Untyped);
        }
        let ty = node.get("type").and_then(Value::as_str).unwrap_or("");
        match ty {
            "string" if str_ext(node, "format") == Some("int-or-string") => Atom::Scalar(ScalarKind::Untyped),
            "string" => Atom::Scalar(ScalarKind::String),
            "integer" | "number" => Atom::Scalar(ScalarKind::Numeric),
            "boolean" => Atom::Scalar(ScalarKind::Boolean),
            "array" => self.list_atom(c),
            _ if node.get("items").is_some() => self.list_atom(c),
            "object" | "" if node.get("properties").is_some() || node.get("additionalProperties").is_some() => {
                let atomic = self.ext(MAP_TYPE).and_then(Value::as_str) == Some("atomic");
                Atom::Map { atomic, ty: *self }
            }
            "object" if self.ext(MAP_TYPE).and_then(Value::as_str) == Some("atomic") => {
                Atom::Map { atomic: true, ty: Ty::deduced() }
            }
            _ => Atom::Any,
        }
    }

    fn list_atom(&self, c: SchemaCursor<'a>) -> Atom<'a> {
        let elem = Ty::new(node_items(c, self.resolved));
        let rel = match self.ext(LIST_TYPE).and_then(Value::as_str) {
            Some("atomic") => ListRel::Atomic,
            Some("set") => ListRel::Set,
            Some("map") => {
                let keys: Vec<&'a str> = self
                    .ext(LIST_MAP_KEYS)
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                ListRel::Map(keys)
            }
            _ => {
                let strategy = c.node().get(PATCH_STRATEGY_EXTENSION).and_then(Value::as_str).unwrap_or("");
                let key = c.node().get(PATCH_MERGE_KEY_EXTENSION).and_then(Value::as_str).unwrap_or("");
                if strategy.split(',').any(|s| s == "merge") {
                    if key.is_empty() {
                        ListRel::Set
                    } else {
                        ListRel::Map(vec![key])
                    }
                } else {
                    ListRel::Atomic
                }
            }
        };
        Atom::List { rel, elem }
    }

    /// The schema of field `name` of a map node, and whether it is a named
    /// (struct) field. Unknown fields are deduced.
    pub fn field(&self, name: &str) -> (Ty<'a>, bool) {
        let Some(c) = self.cursor else { return (Ty::deduced(), false) };
        let Some(node) = self.resolved else { return (Ty::deduced(), false) };
        let named = self.has_named_field(name);
        let known = named || matches!(node.get("additionalProperties"), Some(Value::Object(_)));
        if !known {
            return (Ty::deduced(), false);
        }
        match c.field(name) {
            Some((f, _)) => (Ty::new(Some(f)), named),
            None => (Ty::deduced(), false),
        }
    }

    /// Whether `name` is a named field of this (struct) node.
    pub fn has_named_field(&self, name: &str) -> bool {
        self.resolved.and_then(|n| n.get("properties")).and_then(|p| p.get(name)).is_some()
    }

    /// The default of field `name` of this node (list-map key defaults).
    pub fn field_default(&self, name: &str) -> Option<&'a Value> {
        let (f, named) = self.field(name);
        if !named {
            return None;
        }
        let c = f.cursor?;
        c.node().get("default").or_else(|| f.resolved.and_then(|r| r.get("default")))
    }
}

/// `SchemaCursor::items` given the cursor's already resolved node: skips
/// the resolution when the node has no array `items` (nothing to find).
fn node_items<'a>(c: SchemaCursor<'a>, resolved: Option<&'a Value>) -> Option<SchemaCursor<'a>> {
    match resolved.and_then(|r| r.get("items")) {
        Some(Value::Object(_)) => c.items(),
        _ => None,
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
            for k in keys {
                if let Some(v) = m.get(*k) {
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
