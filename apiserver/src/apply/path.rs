//! Path elements and paths of a field set (structured-merge-diff's
//! `fieldpath.PathElement` / `fieldpath.Path`), with Go's total order on
//! elements and values and Go's human-readable rendering (`.spec.replicas`,
//! `[name="nginx"]`, `[="a"]`, `[0]`) used in conflict messages.

use std::cmp::Ordering;
use std::fmt;

use serde_json::{Map, Value};

use crate::gofmt::go_float_v;
pub use crate::gofmt::go_quote;

/// One step into an object: a field of a map, the element of an associative
/// list with the given key fields, the element of a set with the given value,
/// or an element of a list by index.
#[derive(Debug, Clone)]
pub enum PathElement {
    /// `f:name`.
    Field(String),
    /// `k:{"name":"x"}`: key fields sorted by name.
    Key(Vec<(String, Value)>),
    /// `v:"a"`: a scalar element of a set.
    Value(Value),
    /// `i:0`.
    Index(i64),
}

/// A sequence of path elements from the object root.
pub type Path = Vec<PathElement>;

impl PathElement {
    fn rank(&self) -> u8 {
        match self {
            PathElement::Field(_) => 0,
            PathElement::Key(_) => 1,
            PathElement::Value(_) => 2,
            PathElement::Index(_) => 3,
        }
    }

    /// A key element from unsorted key fields (sorted here, as Go does).
    pub fn key(mut fields: Vec<(String, Value)>) -> Self {
        fields.sort_by(|a, b| a.0.cmp(&b.0));
        PathElement::Key(fields)
    }

    /// The field name of a `Field` element.
    pub fn field_name(&self) -> Option<&str> {
        match self {
            PathElement::Field(f) => Some(f),
            _ => None,
        }
    }
}

impl Ord for PathElement {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (PathElement::Field(a), PathElement::Field(b)) => a.cmp(b),
            (PathElement::Key(a), PathElement::Key(b)) => compare_field_lists(a, b),
            (PathElement::Value(a), PathElement::Value(b)) => compare_values(a, b),
            (PathElement::Index(a), PathElement::Index(b)) => a.cmp(b),
            _ => self.rank().cmp(&other.rank()),
        }
    }
}

impl PartialOrd for PathElement {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for PathElement {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for PathElement {}

impl fmt::Display for PathElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(fields) => {
                let parts: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", value_to_string(v))).collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(v) => write!(f, "[={}]", value_to_string(v)),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// Go's `Path.String()`: the elements' renderings concatenated.
pub fn path_string(path: &[PathElement]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// Go's `FieldList.Compare`: lexical over (name, value) pairs, shorter first.
fn compare_field_lists(a: &[(String, Value)], b: &[(String, Value)]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let c = x.0.cmp(&y.0).then_with(|| compare_values(&x.1, &y.1));
        if c != Ordering::Equal {
            return c;
        }
    }
    a.len().cmp(&b.len())
}

fn type_rank(v: &Value) -> u8 {
    match v {
        Value::Number(n) if n.is_f64() => 0,
        Value::Number(_) => 1,
        Value::String(_) => 2,
        Value::Bool(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
        Value::Null => 6,
    }
}

fn number_cmp(a: &serde_json::Number, b: &serde_json::Number) -> Ordering {
    if let (Some(x), Some(y)) = (a.as_i64(), b.as_i64()) {
        return x.cmp(&y);
    }
    if let (Some(x), Some(y)) = (a.as_u64(), b.as_u64()) {
        return x.cmp(&y);
    }
    let x = a.as_f64().unwrap_or_default();
    let y = b.as_f64().unwrap_or_default();
    x.partial_cmp(&y).unwrap_or(Ordering::Equal)
}

/// Go's `value.Compare`: a total order over values of any type. Floats and
/// ints compare numerically with each other; otherwise float < int < string <
/// bool < list < map < null.
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number_cmp(x, y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Array(x), Value::Array(y)) => {
            for (p, q) in x.iter().zip(y) {
                let c = compare_values(p, q);
                if c != Ordering::Equal {
                    return c;
                }
            }
            x.len().cmp(&y.len())
        }
        (Value::Object(x), Value::Object(y)) => compare_maps(x, y),
        (Value::Null, Value::Null) => Ordering::Equal,
        _ => type_rank(a).cmp(&type_rank(b)),
    }
}

fn compare_maps(x: &Map<String, Value>, y: &Map<String, Value>) -> Ordering {
    // serde_json's map iterates in key order, as Go's MapCompare sorts keys.
    for ((ka, va), (kb, vb)) in x.iter().zip(y.iter()) {
        let c = ka.cmp(kb).then_with(|| compare_values(va, vb));
        if c != Ordering::Equal {
            return c;
        }
    }
    x.len().cmp(&y.len())
}

/// Go's `value.Equals`: deep equality where numbers compare numerically.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number_cmp(x, y) == Ordering::Equal,
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => a == b,
    }
}

/// Go's `value.ToString`: strings quoted with `%q`, numbers and bools bare.
pub fn value_to_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => go_float_v(f),
            _ => n.to_string(),
        },
        Value::String(s) => go_quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => format!("[{}]", items.iter().map(value_to_string).collect::<Vec<_>>().join(",")),
        Value::Object(m) => m.iter().map(|(k, v)| format!("{k}={}", value_to_string(v))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn orders_like_go() {
        let mut pes = [
            PathElement::Index(0),
            PathElement::Value(json!("a")),
            PathElement::key(vec![("name".into(), json!("b"))]),
            PathElement::Field("z".into()),
            PathElement::Field("a".into()),
            PathElement::key(vec![("name".into(), json!("a"))]),
        ];
        pes.sort();
        let s: Vec<String> = pes.iter().map(ToString::to_string).collect();
        assert_eq!(s, [".a", ".z", "[name=\"a\"]", "[name=\"b\"]", "[=\"a\"]", "[0]"]);
        assert_eq!(compare_values(&json!(80), &json!(443)), Ordering::Less);
        assert_eq!(compare_values(&json!(1.5), &json!(1)), Ordering::Greater);
        assert_eq!(compare_values(&json!(1), &json!("a")), Ordering::Less);
        assert_eq!(compare_values(&json!(true), &json!("a")), Ordering::Greater);
        assert_eq!(compare_values(&json!(null), &json!({})), Ordering::Greater);
        assert!(values_equal(&json!({"a": [1.0]}), &json!({"a": [1]})));
    }

    #[test]
    fn renders_paths_like_go() {
        let p = vec![
            PathElement::Field("spec".into()),
            PathElement::Field("ports".into()),
            PathElement::key(vec![("protocol".into(), json!("TCP")), ("containerPort".into(), json!(80))]),
        ];
        assert_eq!(path_string(&p), ".spec.ports[containerPort=80,protocol=\"TCP\"]");
        assert_eq!(go_quote("a\"b\n"), "\"a\\\"b\\n\"");
        assert_eq!(value_to_string(&json!(1.5)), "1.5");
        assert_eq!(value_to_string(&json!(1e21)), "1e+21");
    }
}
