//! The compiled form of a CRD's `openAPIV3Schema`: a tree of [`Node`]s built once per
//! CRD version, with regexes compiled, unsupported formats stripped (as kube's
//! `StripUnsupportedFormatsPostProcess` does) and defaults pruned.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value;

use super::format::StrFormat;

/// Schemas nested deeper than this are cut off (the deeper nodes accept anything).
pub(crate) const MAX_SCHEMA_DEPTH: usize = 128;

/// `additionalProperties` of a node.
#[derive(Debug, Clone, Default)]
pub(crate) enum Additional {
    /// Not set.
    #[default]
    Absent,
    /// `additionalProperties: true|false`.
    Bool(bool),
    /// `additionalProperties: {schema}`.
    Schema(Box<Node>),
}

/// A compiled `pattern`.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    /// The pattern as written in the schema (used in messages).
    pub src: String,
    /// The compiled regex, or the compile error.
    pub re: Result<Regex, String>,
}

/// One node of a compiled schema (one JSONSchemaProps).
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    /// `type` as kube-openapi sees it: `["integer","string"]` for int-or-string.
    pub types: Vec<&'static str>,
    /// Any `type` value that is not a JSON schema type (kept for the message).
    pub other_type: Option<String>,
    pub nullable: bool,
    /// The format after stripping unsupported ones (empty: none).
    pub format: String,
    /// The string format validator, for supported string formats.
    pub str_format: Option<StrFormat>,
    pub maximum: Option<f64>,
    pub exclusive_maximum: bool,
    pub minimum: Option<f64>,
    pub exclusive_minimum: bool,
    pub multiple_of: Option<f64>,
    pub max_length: Option<i64>,
    pub min_length: Option<i64>,
    pub pattern: Option<Pattern>,
    pub max_items: Option<i64>,
    pub min_items: Option<i64>,
    pub unique_items: bool,
    pub max_properties: Option<i64>,
    pub min_properties: Option<i64>,
    pub required: Vec<String>,
    pub enum_values: Vec<Value>,
    pub all_of: Vec<Node>,
    pub any_of: Vec<Node>,
    pub one_of: Vec<Node>,
    pub not: Option<Box<Node>>,
    pub properties: BTreeMap<String, Node>,
    pub additional: Additional,
    pub items: Option<Box<Node>>,
    /// The default, already pruned against this node.
    pub default: Option<Value>,
    pub preserve_unknown: bool,
    pub embedded_resource: bool,
    pub int_or_string: bool,
    pub list_type: Option<String>,
    pub list_map_keys: Vec<String>,
}

impl Node {
    /// The `type` list joined the way kube-openapi prints it (`integer,string`).
    pub fn type_names(&self) -> String {
        match &self.other_type {
            Some(t) if self.types.is_empty() => t.clone(),
            _ => self.types.join(","),
        }
    }

    /// Whether `type` lists `t`.
    pub fn has_type(&self, t: &str) -> bool {
        self.types.contains(&t)
    }

    /// Whether any `type` is set (the type validator applies).
    pub fn has_any_type(&self) -> bool {
        !self.types.is_empty() || self.other_type.is_some()
    }

    /// The schema of object field `key`: a property, else `additionalProperties`.
    pub fn field_schema(&self, key: &str) -> Option<&Node> {
        if let Some(p) = self.properties.get(key) {
            return Some(p);
        }
        match &self.additional {
            Additional::Schema(s) => Some(s),
            _ => None,
        }
    }
}

/// A CRD version's structural schema, compiled once and reused for every object.
#[derive(Debug, Clone)]
pub struct CompiledSchema {
    pub(crate) root: Node,
}

impl CompiledSchema {
    /// Compiles a JSONSchemaProps value (e.g. `spec.versions[i].schema.openAPIV3Schema`).
    /// Never fails: invalid parts (bad regexes, wrong-typed keywords) are kept as errors
    /// or ignored; `validate_crd` is where a schema is rejected.
    pub fn new(schema: &Value) -> Self {
        CompiledSchema { root: compile(schema, 0) }
    }
}

fn int_of(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        _ => None,
    }
}

fn float_of(v: Option<&Value>) -> Option<f64> {
    v?.as_f64()
}

fn bool_of(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Bool(true)))
}

fn compile_list(v: Option<&Value>, depth: usize) -> Vec<Node> {
    match v {
        Some(Value::Array(a)) => a.iter().map(|s| compile(s, depth + 1)).collect(),
        _ => Vec::new(),
    }
}

fn strings_of(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

/// Normalises the format as kube does before validation: unsupported formats are dropped.
fn effective_format(types: &[&'static str], format: &str) -> String {
    if format.is_empty() {
        return String::new();
    }
    let single = if types.len() == 1 { types[0] } else { "" };
    let keep = match single {
        "" | "string" => StrFormat::from_name(format).is_some(),
        "integer" => format == "int32" || format == "int64",
        "number" => format == "float" || format == "double",
        _ => false,
    };
    if keep {
        format.to_owned()
    } else {
        String::new()
    }
}

fn type_of(name: &str) -> Option<&'static str> {
    Some(match name {
        "object" => "object",
        "array" => "array",
        "string" => "string",
        "integer" => "integer",
        "number" => "number",
        "boolean" => "boolean",
        "null" => "null",
        _ => return None,
    })
}

/// Compiles one node (recursively). Beyond [`MAX_SCHEMA_DEPTH`] an empty node is returned.
pub(crate) fn compile(v: &Value, depth: usize) -> Node {
    let Some(m) = v.as_object() else {
        return Node::default();
    };
    if depth > MAX_SCHEMA_DEPTH {
        return Node { preserve_unknown: true, ..Node::default() };
    }
    let mut n = Node::default();
    if let Some(t) = m.get("type").and_then(Value::as_str).filter(|t| !t.is_empty()) {
        match type_of(t) {
            Some(t) => n.types.push(t),
            None => n.other_type = Some(t.to_owned()),
        }
    }
    n.int_or_string = bool_of(m.get("x-kubernetes-int-or-string"));
    if n.int_or_string {
        n.types = vec!["integer", "string"];
        n.other_type = None;
    }
    n.nullable = bool_of(m.get("nullable"));
    let fmt = m.get("format").and_then(Value::as_str).unwrap_or("");
    n.format = effective_format(&n.types, fmt);
    if !n.format.is_empty() {
        n.str_format = StrFormat::from_name(&n.format);
    }
    n.maximum = float_of(m.get("maximum"));
    n.exclusive_maximum = bool_of(m.get("exclusiveMaximum"));
    n.minimum = float_of(m.get("minimum"));
    n.exclusive_minimum = bool_of(m.get("exclusiveMinimum"));
    n.multiple_of = float_of(m.get("multipleOf"));
    n.max_length = int_of(m.get("maxLength"));
    n.min_length = int_of(m.get("minLength"));
    if let Some(p) = m.get("pattern").and_then(Value::as_str).filter(|p| !p.is_empty()) {
        n.pattern = Some(Pattern { src: p.to_owned(), re: compile_go_regex(p) });
    }
    n.max_items = int_of(m.get("maxItems"));
    n.min_items = int_of(m.get("minItems"));
    n.unique_items = bool_of(m.get("uniqueItems"));
    n.max_properties = int_of(m.get("maxProperties"));
    n.min_properties = int_of(m.get("minProperties"));
    n.required = strings_of(m.get("required"));
    if let Some(Value::Array(e)) = m.get("enum") {
        n.enum_values = e.clone();
    }
    n.all_of = compile_list(m.get("allOf"), depth);
    n.any_of = compile_list(m.get("anyOf"), depth);
    n.one_of = compile_list(m.get("oneOf"), depth);
    if let Some(not) = m.get("not").filter(|v| v.is_object()) {
        n.not = Some(Box::new(compile(not, depth + 1)));
    }
    if let Some(Value::Object(props)) = m.get("properties") {
        for (k, p) in props {
            n.properties.insert(k.clone(), compile(p, depth + 1));
        }
    }
    n.additional = match m.get("additionalProperties") {
        Some(Value::Bool(b)) => Additional::Bool(*b),
        Some(s @ Value::Object(_)) => Additional::Schema(Box::new(compile(s, depth + 1))),
        _ => Additional::Absent,
    };
    if let Some(items) = m.get("items").filter(|v| v.is_object()) {
        n.items = Some(Box::new(compile(items, depth + 1)));
    }
    n.preserve_unknown = bool_of(m.get("x-kubernetes-preserve-unknown-fields"));
    n.embedded_resource = bool_of(m.get("x-kubernetes-embedded-resource"));
    n.list_type = m.get("x-kubernetes-list-type").and_then(Value::as_str).map(str::to_owned);
    n.list_map_keys = strings_of(m.get("x-kubernetes-list-map-keys"));
    if let Some(d) = m.get("default") {
        let mut d = d.clone();
        // kube prunes defaults when the CRD is loaded (PruneDefaults).
        super::prune::prune_node(&mut d, Some(&n), n.embedded_resource, &mut None, &mut String::new());
        n.default = Some(d);
    }
    n
}

/// Compiles a Go (RE2) pattern with the `regex` crate. `\d`, `\w`, `\s` are ASCII-only in Go,
/// so they are rewritten to explicit ASCII classes.
pub(crate) fn compile_go_regex(p: &str) -> Result<Regex, String> {
    let mut out = String::with_capacity(p.len() + 8);
    let mut in_class = false;
    let mut chars = p.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let rep = match e {
                    'd' => Some("0-9"),
                    'w' => Some("0-9A-Za-z_"),
                    's' => Some("\\t\\n\\f\\r "),
                    _ => None,
                };
                match rep {
                    Some(r) if in_class => out.push_str(r),
                    Some(r) => {
                        out.push('[');
                        out.push_str(r);
                        out.push(']');
                    }
                    None => {
                        out.push('\\');
                        out.push(e);
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A leading `^` and/or `]` belong to the class.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            '[' => {
                // Go has no nested classes; `[` inside a class is literal (except `[:alpha:]`).
                if chars.peek() == Some(&':') {
                    out.push('[');
                    let mut prev = '[';
                    for c2 in chars.by_ref() {
                        out.push(c2);
                        if prev == ':' && c2 == ']' {
                            break;
                        }
                        prev = c2;
                    }
                } else {
                    out.push_str("\\[");
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    regex::RegexBuilder::new(&out).size_limit(1 << 24).build().map_err(|e| e.to_string())
}
