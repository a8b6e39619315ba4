//! [`SsaSchema`]: a schema compiled once into the shape the apply engine
//! walks (each node's atom, list keys, named fields and defaults), so the
//! walks of one request do hash lookups instead of following `$ref`s through
//! the OpenAPI JSON at every node.
//!
//! Built-in definitions compile on first use and stay for the process
//! ([`SsaSchema::builtin`]); a CRD version compiles its schema when it is
//! registered. The reading rules (kube-openapi's `schemaconv`) live in
//! [`compile`].

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use serde_json::Value;

use super::schema::{ScalarKind, LIST_MAP_KEYS, LIST_TYPE, MAP_TYPE};
use crate::patch::{PatchMeta, SchemaCursor};

/// A compiled schema: an arena of nodes and the root's index (`None`: the
/// root does not resolve, so everything is deduced).
#[derive(Debug, Default)]
pub struct SsaSchema {
    pub(super) nodes: Vec<Node>,
    pub(super) root: Option<u32>,
}

/// One schema node whose `$ref`/`allOf` resolved.
#[derive(Debug)]
pub(super) struct Node {
    pub atom: NodeAtom,
    /// Named fields (`properties`).
    pub props: HashMap<Box<str>, Prop>,
    /// `additionalProperties` when it is a schema: the value type.
    pub additional: Option<Option<u32>>,
}

/// A named field: its type (`None`: does not resolve) and default.
#[derive(Debug)]
pub(super) struct Prop {
    pub ty: Option<u32>,
    pub default: Option<Value>,
}

#[derive(Debug)]
pub(super) enum NodeAtom {
    Scalar(ScalarKind),
    List {
        rel: Rel,
        elem: Option<u32>,
    },
    /// `own`: the map's fields are this node's (else deduced).
    Map {
        atomic: bool,
        own: bool,
    },
    Any,
}

#[derive(Debug)]
pub(super) enum Rel {
    Atomic,
    Set,
    Map(Box<[Box<str>]>),
}

// Read-mostly: every write looks its type up here, so readers share the lock.
static BUILTIN: LazyLock<RwLock<HashMap<String, &'static SsaSchema>>> = LazyLock::new(Default::default);

impl SsaSchema {
    /// Compiles the schema at `cursor`.
    pub fn compile(cursor: SchemaCursor<'_>) -> SsaSchema {
        let mut c = Compiler { nodes: Vec::new(), memo: HashMap::new() };
        let root = c.compile(cursor);
        SsaSchema { nodes: c.nodes, root }
    }

    /// The compiled built-in definition `name` (`io.k8s.api.core.v1.Pod`),
    /// compiled once per process.
    pub fn builtin(name: &str) -> Option<&'static SsaSchema> {
        if let Some(s) = BUILTIN.read().unwrap_or_else(|e| e.into_inner()).get(name) {
            return Some(s);
        }
        let mut cache = BUILTIN.write().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = cache.get(name) {
            return Some(s);
        }
        let cursor = SchemaCursor::new(crate::openapi::definitions(), name)?;
        // Bounded: one entry per built-in definition asked for.
        let s: &'static SsaSchema = Box::leak(Box::new(SsaSchema::compile(cursor)));
        cache.insert(name.to_string(), s);
        Some(s)
    }

    pub(super) fn node(&self, id: u32) -> Option<&Node> {
        self.nodes.get(id as usize)
    }
}

struct Compiler {
    nodes: Vec<Node>,
    /// Schema node address → compiled index; also what ends `$ref` cycles.
    memo: HashMap<*const Value, Option<u32>>,
}

fn str_ext<'a>(node: &'a Value, name: &str) -> Option<&'a str> {
    node.get(name).and_then(Value::as_str)
}

impl Compiler {
    fn compile(&mut self, c: SchemaCursor<'_>) -> Option<u32> {
        let key: *const Value = c.node();
        if let Some(id) = self.memo.get(&key) {
            return *id;
        }
        let Some(resolved) = c.resolved() else {
            self.memo.insert(key, None);
            return None;
        };
        let id = u32::try_from(self.nodes.len()).ok()?;
        self.nodes.push(Node { atom: NodeAtom::Any, props: HashMap::new(), additional: None });
        self.memo.insert(key, Some(id));

        let atom = self.atom(c, resolved);
        let mut props = HashMap::new();
        if let Some(Value::Object(p)) = resolved.get("properties") {
            for (name, property) in p {
                let f = c.with_node(property);
                let default = property.get("default").or_else(|| f.resolved().and_then(|r| r.get("default"))).cloned();
                props.insert(name.as_str().into(), Prop { ty: self.compile(f), default });
            }
        }
        let additional = match resolved.get("additionalProperties") {
            Some(values @ Value::Object(_)) => Some(self.compile(c.with_node(values))),
            _ => None,
        };
        if let Some(n) = self.nodes.get_mut(id as usize) {
            *n = Node { atom, props, additional };
        }
        Some(id)
    }

    /// Reads an extension from the node itself, else from its `$ref` target.
    fn ext<'v>(c: SchemaCursor<'v>, resolved: &'v Value, name: &str) -> Option<&'v Value> {
        c.node().get(name).or_else(|| resolved.get(name))
    }

    fn atom(&mut self, c: SchemaCursor<'_>, node: &Value) -> NodeAtom {
        if Self::ext(c, node, "x-kubernetes-int-or-string").and_then(Value::as_bool) == Some(true) {
            return NodeAtom::Scalar(ScalarKind::Untyped);
        }
        let n = c.node();
        let reference = n.get("$ref").or_else(|| n.pointer("/allOf/0/$ref")).and_then(Value::as_str);
        if reference.is_some_and(|r| {
            r.ends_with("io.k8s.apimachinery.pkg.api.resource.Quantity")
                || r.ends_with("io.k8s.apimachinery.pkg.util.intstr.IntOrString")
        }) {
            return NodeAtom::Scalar(ScalarKind::Untyped);
        }
        let map_type = Self::ext(c, node, MAP_TYPE).and_then(Value::as_str);
        match node.get("type").and_then(Value::as_str).unwrap_or("") {
            "string" if str_ext(node, "format") == Some("int-or-string") => NodeAtom::Scalar(ScalarKind::Untyped),
            "string" => NodeAtom::Scalar(ScalarKind::String),
            "integer" | "number" => NodeAtom::Scalar(ScalarKind::Numeric),
            "boolean" => NodeAtom::Scalar(ScalarKind::Boolean),
            "array" => self.list_atom(c, node),
            _ if node.get("items").is_some() => self.list_atom(c, node),
            "object" | "" if node.get("properties").is_some() || node.get("additionalProperties").is_some() => {
                NodeAtom::Map { atomic: map_type == Some("atomic"), own: true }
            }
            "object" if map_type == Some("atomic") => NodeAtom::Map { atomic: true, own: false },
            _ => NodeAtom::Any,
        }
    }

    fn list_atom(&mut self, c: SchemaCursor<'_>, node: &Value) -> NodeAtom {
        let elem = match node.get("items") {
            Some(items @ Value::Object(_)) => self.compile(c.with_node(items)),
            _ => None,
        };
        let rel = match Self::ext(c, node, LIST_TYPE).and_then(Value::as_str) {
            Some("atomic") => Rel::Atomic,
            Some("set") => Rel::Set,
            Some("map") => {
                let keys = Self::ext(c, node, LIST_MAP_KEYS)
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(Box::from).collect())
                    .unwrap_or_default();
                Rel::Map(keys)
            }
            _ => {
                // Built-in lists without a list type: the patch strategy.
                let meta = PatchMeta::of(c.node());
                if meta.strategy.split(',').any(|s| s == "merge") {
                    if meta.merge_key.is_empty() {
                        Rel::Set
                    } else {
                        Rel::Map(Box::new([Box::from(meta.merge_key)]))
                    }
                } else {
                    Rel::Atomic
                }
            }
        };
        NodeAtom::List { rel, elem }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recursive_schemas_compile_once_per_node() {
        let defs = json!({
            "Tree": {"type": "object", "properties": {
                "name": {"type": "string", "default": "root"},
                "children": {"type": "array", "items": {"$ref": "#/definitions/Tree"},
                    "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            }}
        });
        let defs = defs.as_object().cloned().unwrap_or_default();
        let s = SsaSchema::compile(SchemaCursor::new(&defs, "Tree").expect("Tree"));
        // Tree, name, children, the items `$ref` (resolving to Tree's node
        // again is a distinct property node), labels and its values.
        assert_eq!(s.nodes.len(), 6, "{:#?}", s.nodes);
        let root = s.root.and_then(|r| s.node(r)).expect("root");
        assert!(matches!(root.atom, NodeAtom::Map { atomic: false, own: true }));
        assert_eq!(root.props.get("name").and_then(|p| p.default.clone()), Some(json!("root")));
        let children = root.props.get("children").and_then(|p| p.ty).and_then(|i| s.node(i)).expect("children");
        assert!(
            matches!(&children.atom, NodeAtom::List { rel: Rel::Map(k), elem: Some(_) } if k[0].as_ref() == "name")
        );
    }

    #[test]
    fn builtin_definitions_are_cached() {
        let a = SsaSchema::builtin("io.k8s.api.core.v1.Pod").expect("Pod");
        let b = SsaSchema::builtin("io.k8s.api.core.v1.Pod").expect("Pod");
        assert!(std::ptr::eq(a, b));
        assert!(SsaSchema::builtin("no.such.Definition").is_none());
    }
}
