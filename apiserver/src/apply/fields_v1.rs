//! The `FieldsV1` wire form of a [`FieldSet`] (structured-merge-diff's
//! `fieldpath/serialize.go` and `serialize-pe.go`): a JSON object whose keys
//! are serialized path elements (`f:name`, `k:{"name":"x"}`, `v:"a"`, `i:0`)
//! and whose values are the child sets; `".": {}` marks a path that is both a
//! member and has children. Path elements and whole sets are written with
//! Go's `encoding/json` conventions (HTML-safe escaping, sorted map keys, Go
//! float formatting) so [`to_json_string`] matches kube-apiserver byte for byte.

use serde_json::{Map, Value};

use super::fieldset::FieldSet;
use super::path::PathElement;
pub use crate::gofmt::{go_json, write_go_json, write_go_string};

/// Serializes one path element (`f:spec`, `k:{"name":"nginx"}`, `v:"a"`, `i:0`).
pub fn serialize_pe(pe: &PathElement) -> String {
    let mut out = String::with_capacity(match pe {
        PathElement::Field(name) => name.len() + 2,
        _ => 16,
    });
    match pe {
        // Go writes field names raw (no escaping) after the prefix.
        PathElement::Field(name) => {
            out.push_str("f:");
            out.push_str(name);
        }
        PathElement::Key(fields) => {
            out.push_str("k:{");
            for (i, (name, value)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(&mut out, name);
                out.push(':');
                write_go_json(&mut out, value);
            }
            out.push('}');
        }
        PathElement::Value(v) => {
            out.push_str("v:");
            write_go_json(&mut out, v);
        }
        PathElement::Index(i) => {
            out.push_str("i:");
            out.push_str(&i.to_string());
        }
    }
    out
}

/// Parses one serialized path element. `Ok(None)` for an unknown element
/// type (Go skips those); `Err` for malformed input.
pub fn deserialize_pe(s: &str) -> Result<Option<PathElement>, String> {
    let bytes = s.as_bytes();
    if bytes.len() < 2 {
        return Err("key must be 2 characters long:".into());
    }
    if bytes[1] != b':' {
        return Err(format!("missing colon: {s}"));
    }
    let rest = &s[2..];
    match bytes[0] {
        b'f' => Ok(Some(PathElement::Field(rest.to_string()))),
        b'v' => {
            let v: Value = serde_json::from_str(rest).map_err(|e| e.to_string())?;
            Ok(Some(PathElement::Value(v)))
        }
        b'k' => match serde_json::from_str::<Value>(rest).map_err(|e| e.to_string())? {
            Value::Object(m) => Ok(Some(PathElement::key(m.into_iter().collect()))),
            _ => Err(format!("expected a JSON object in key {s}")),
        },
        b'i' => {
            let i: i64 = rest.parse().map_err(|_| format!("strconv.Atoi: parsing {}: invalid syntax", go_q(rest)))?;
            Ok(Some(PathElement::Index(i)))
        }
        _ => Ok(None),
    }
}

fn go_q(s: &str) -> String {
    super::path::go_quote(s)
}

/// The FieldsV1 object of a set, as a JSON value (map keys in serde's order).
pub fn to_value(set: &FieldSet) -> Value {
    Value::Object(contents(set, false))
}

fn contents(set: &FieldSet, include_self: bool) -> Map<String, Value> {
    let mut m = Map::new();
    if include_self && !set.is_empty() {
        m.insert(".".into(), Value::Object(Map::new()));
    }
    // Members and children are both sorted: walk them together instead of
    // looking each one up in the other.
    let mut members = set.members.iter().peekable();
    for (pe, child) in &set.children {
        let mut member = false;
        while let Some(&m_pe) = members.peek() {
            if m_pe > pe {
                break;
            }
            members.next();
            if m_pe == pe {
                member = true;
            } else {
                m.insert(serialize_pe(m_pe), Value::Object(Map::new()));
            }
        }
        m.insert(serialize_pe(pe), Value::Object(contents(child, member)));
    }
    for pe in members {
        m.insert(serialize_pe(pe), Value::Object(Map::new()));
    }
    m
}

/// The exact bytes Go's `Set.ToJSON` writes: elements in Go's path-element
/// order, members merged with children, `"."` first.
pub fn to_json_string(set: &FieldSet) -> String {
    let mut out = String::new();
    out.push('{');
    write_contents(&mut out, set, false);
    out.push('}');
    out
}

fn write_contents(out: &mut String, set: &FieldSet, include_self: bool) {
    let mut first = true;
    let mut sep = |out: &mut String| {
        if !std::mem::take(&mut first) {
            out.push(',');
        }
    };
    if include_self && !set.is_empty() {
        sep(out);
        out.push_str("\".\":{}");
    }
    let mut members = set.members.iter().peekable();
    let mut children = set.children.iter().peekable();
    loop {
        let (pe, child, member) = match (members.peek(), children.peek()) {
            (None, None) => break,
            (Some(m), Some((c, _))) if *m < *c => (members.next(), None, true),
            (Some(m), Some((c, _))) if *m == *c => {
                members.next();
                let (c, s) = children.next().map_or((None, None), |(c, s)| (Some(c), Some(s)));
                (c, s, true)
            }
            (_, Some(_)) => {
                let (c, s) = children.next().map_or((None, None), |(c, s)| (Some(c), Some(s)));
                (c, s, false)
            }
            (Some(_), None) => (members.next(), None, true),
        };
        let Some(pe) = pe else { break };
        sep(out);
        write_go_string(out, &serialize_pe(pe));
        out.push_str(":{");
        if let Some(child) = child {
            write_contents(out, child, member);
        }
        out.push('}');
    }
}

/// Parses a FieldsV1 object (Go's `Set.FromJSON`); `null` is the empty set.
pub fn from_value(v: &Value) -> Result<FieldSet, String> {
    match v {
        Value::Null => Ok(FieldSet::new()),
        Value::Object(m) => read_object(m, 0).map(|(set, _)| set),
        other => Err(format!("ReadMapCB: expect {{ or n, but found {}", first_char(other))),
    }
}

fn first_char(v: &Value) -> char {
    v.to_string().chars().next().unwrap_or(' ')
}

/// Returns the child set and whether the node itself is a member.
fn read_object(m: &Map<String, Value>, depth: usize) -> Result<(FieldSet, bool), String> {
    if depth > 512 {
        return Err("managedFields parsing: nesting too deep".into());
    }
    let mut set = FieldSet::new();
    let mut member = false;
    for (key, value) in m {
        if key == "." {
            member = true;
            continue;
        }
        let Some(pe) = deserialize_pe(key).map_err(|e| format!("parsing key as path element: {e}"))? else {
            continue;
        };
        let (child, child_member) = match value {
            Value::Object(cm) => read_object(cm, depth + 1)?,
            Value::Null => (FieldSet::new(), true),
            other => return Err(format!("ReadMapCB: expect {{ or n, but found {}", first_char(other))),
        };
        if child_member {
            set.members.insert(pe.clone());
        }
        if !child.is_empty() {
            set.children.insert(pe, child);
        }
    }
    if set.is_empty() {
        member = true;
    }
    Ok((set, member))
}
