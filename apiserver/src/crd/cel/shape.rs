//! The typing of a schema node, as CEL sees it: what each JSON value under a rule converts to
//! (see [`convert`](super::convert)). Built from the structural part of an `openAPIV3Schema`
//! (`type`, `format`, `properties`, `items`, `additionalProperties` and the `x-kubernetes-*`
//! extensions); `allOf`/`anyOf`/`oneOf`/`not` don't type values, as in kube.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// Schemas nested deeper than this are treated as untyped.
pub(super) const MAX_DEPTH: usize = 64;

/// How a string is presented to CEL, after its `format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    /// `date-time`: a timestamp.
    DateTime,
    /// `date`: a timestamp at midnight UTC.
    Date,
    /// `duration`: a duration.
    Duration,
    /// `byte`: bytes, base64-decoded.
    Byte,
}

/// One schema node.
#[derive(Debug, Default)]
pub(super) struct Shape {
    /// The schema's `type`, as kube prints it in `Invalid value: "<type>"`.
    pub ty: String,
    pub format: Option<Format>,
    pub int_or_string: bool,
    /// Declared properties by JSON name: their CEL name (escaped), if they have one, and shape.
    pub properties: Option<HashMap<String, Property>>,
    pub additional: Option<Arc<Shape>>,
    pub items: Option<Arc<Shape>>,
    /// `x-kubernetes-list-type: map` keys.
    pub map_keys: Option<Vec<String>>,
}

/// A declared property.
#[derive(Debug)]
pub(super) struct Property {
    /// The escaped name rules reach it by; `None` if it has none (it is then invisible).
    pub cel_name: Option<String>,
    pub shape: Arc<Shape>,
}

impl Property {
    fn new(name: &str, shape: Arc<Shape>) -> Property {
        Property { cel_name: escape(name), shape }
    }
}

/// Builds shapes, sharing the shape of a schema node reached several times (the compile walk
/// asks for a node's shape once per rule-bearing ancestor).
#[derive(Default)]
pub(super) struct ShapeCache {
    built: HashMap<(usize, bool), Arc<Shape>>,
}

impl ShapeCache {
    pub(super) fn shape(&mut self, schema: &Value, resource_root: bool, depth: usize) -> Arc<Shape> {
        let key = (schema as *const Value as usize, resource_root);
        if let Some(shape) = self.built.get(&key) {
            return shape.clone();
        }
        let shape = Arc::new(self.build(schema, resource_root, depth));
        self.built.insert(key, shape.clone());
        shape
    }

    fn build(&mut self, schema: &Value, resource_root: bool, depth: usize) -> Shape {
        let Some(obj) = schema.as_object().filter(|_| depth < MAX_DEPTH) else {
            return Shape::default();
        };
        let flag = |name: &str| obj.get(name).and_then(Value::as_bool).unwrap_or(false);
        let resource_root = resource_root || flag("x-kubernetes-embedded-resource");
        let mut shape = Shape {
            ty: str_field(obj, "type").to_owned(),
            format: match str_field(obj, "format") {
                "date-time" => Some(Format::DateTime),
                "date" => Some(Format::Date),
                "duration" => Some(Format::Duration),
                "byte" => Some(Format::Byte),
                _ => None,
            },
            int_or_string: flag("x-kubernetes-int-or-string"),
            ..Shape::default()
        };
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            let mut properties = HashMap::with_capacity(props.len());
            for (name, prop) in props {
                let embedded = prop.get("x-kubernetes-embedded-resource").and_then(Value::as_bool) == Some(true);
                properties.insert(name.clone(), Property::new(name, self.shape(prop, embedded, depth + 1)));
            }
            shape.properties = Some(properties);
        }
        match obj.get("additionalProperties") {
            Some(Value::Bool(true)) => shape.additional = Some(Arc::new(Shape::default())),
            Some(ap @ Value::Object(_)) => shape.additional = Some(self.shape(ap, false, depth + 1)),
            _ => {}
        }
        if let Some(items) = obj.get("items").filter(|i| i.is_object()) {
            shape.items = Some(self.shape(items, false, depth + 1));
        }
        if str_field(obj, "x-kubernetes-list-type") == "map" {
            let keys = obj.get("x-kubernetes-list-map-keys").and_then(Value::as_array);
            let keys = keys.map(|k| k.iter().filter_map(Value::as_str).map(str::to_owned).collect());
            shape.map_keys = Some(keys.unwrap_or_default());
        }
        // The root of a resource (the CRD's root, or an embedded resource): `apiVersion`, `kind`
        // and `metadata.name`/`metadata.generateName` are typed whatever the schema says.
        if resource_root {
            add_type_and_object_meta(&mut shape);
        }
        shape
    }
}

fn str_field<'a>(obj: &'a Map<String, Value>, name: &str) -> &'a str {
    obj.get(name).and_then(Value::as_str).unwrap_or("")
}

/// kube's `WithTypeAndObjectMeta`: a resource's `apiVersion` and `kind` are strings, its
/// `metadata` an object of which only `name` and `generateName` are visible.
fn add_type_and_object_meta(shape: &mut Shape) {
    let string = || Arc::new(Shape { ty: "string".into(), ..Shape::default() });
    let metadata = Shape {
        ty: "object".into(),
        properties: Some(HashMap::from([
            ("name".to_owned(), Property::new("name", string())),
            ("generateName".to_owned(), Property::new("generateName", string())),
        ])),
        ..Shape::default()
    };
    let props = shape.properties.get_or_insert_with(HashMap::new);
    props.insert("apiVersion".into(), Property::new("apiVersion", string()));
    props.insert("kind".into(), Property::new("kind", string()));
    props.insert("metadata".into(), Property::new("metadata", Arc::new(metadata)));
    if shape.ty.is_empty() {
        shape.ty = "object".into();
    }
}

/// CEL's reserved words: a property named so is reached as `__<word>__`.
const RESERVED: &[&str] = &[
    "true",
    "false",
    "null",
    "in",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "for",
    "function",
    "if",
    "import",
    "let",
    "loop",
    "package",
    "namespace",
    "return",
    "var",
    "void",
    "while",
];

/// kube's `cel.Escape`: the CEL identifier of a property name, or `None` if it has none (the
/// property is then invisible to rules). `__` → `__underscores__`, `.` → `__dot__`,
/// `-` → `__dash__`, `/` → `__slash__`, a reserved word `w` → `__w__`.
pub(super) fn escape(name: &str) -> Option<String> {
    if RESERVED.contains(&name) {
        return Some(format!("__{name}__"));
    }
    let mut chars = name.chars();
    let first = chars.next()?;
    let ident = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/');
    if !(first.is_ascii_alphabetic() || matches!(first, '_' | '.' | '-' | '/')) || !chars.all(ident) {
        return None;
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("__") {
            out.push_str("__underscores__");
            rest = after;
            continue;
        }
        match c {
            '.' => out.push_str("__dot__"),
            '-' => out.push_str("__dash__"),
            '/' => out.push_str("__slash__"),
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    Some(out)
}
