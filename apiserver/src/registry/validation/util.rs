//! JSON accessors and `Cause` builders shared by validation and defaulting.
//!
//! kube renders a bad value by its Go type: strings with `%q`, integers bare and
//! anything else as `json.Marshal` output; the builders here reproduce that.

use serde_json::{Map, Value};

use crate::error::Cause;

/// The value at `path` (object keys only).
pub(crate) fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut cur = v;
    for key in path {
        cur = cur.as_object()?.get(*key)?;
    }
    Some(cur)
}

/// The string at `path`, `""` when absent or not a string (Go's zero value).
pub(crate) fn s<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    get(v, path).and_then(Value::as_str).unwrap_or("")
}

/// The string at `path` if it is set (pointer fields).
pub(crate) fn opt_s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    get(v, path).and_then(Value::as_str)
}

/// The array at `path`, empty when absent.
pub(crate) fn arr<'a>(v: &'a Value, path: &[&str]) -> &'a [Value] {
    get(v, path).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// The object at `path`.
pub(crate) fn map<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Map<String, Value>> {
    get(v, path).and_then(Value::as_object)
}

/// The integer at `path` (floats with no fraction count, as Go's decoder allows).
pub(crate) fn int(v: &Value, path: &[&str]) -> Option<i64> {
    let x = get(v, path)?;
    x.as_i64().or_else(|| x.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
}

/// The boolean at `path`.
pub(crate) fn boolean(v: &Value, path: &[&str]) -> Option<bool> {
    get(v, path).and_then(Value::as_bool)
}

/// Present and not null.
pub(crate) fn is_set(v: &Value, path: &[&str]) -> bool {
    get(v, path).is_some_and(|x| !x.is_null())
}

/// A string-to-string map (labels, selectors), keys sorted as Go prints them.
pub(crate) fn str_map(v: &Value, path: &[&str]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = map(v, path)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string())).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// Go's `strconv.Quote` body (without the surrounding quotes).
pub(crate) fn go_quote_inner(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

pub(crate) use crate::gofmt::go_json;

/// A `metav1.LabelSelector` as Go marshals it (matchLabels before matchExpressions).
pub(crate) fn selector_json(sel: Option<&Value>) -> String {
    let Some(sel) = sel.filter(|v| v.is_object()) else { return "null".into() };
    let mut parts = Vec::new();
    if let Some(ml) = map(sel, &["matchLabels"]).filter(|m| !m.is_empty()) {
        parts.push(format!("\"matchLabels\":{}", go_json(&Value::Object(ml.clone()))));
    }
    let exprs = arr(sel, &["matchExpressions"]);
    if !exprs.is_empty() {
        let rendered: Vec<String> = exprs
            .iter()
            .map(|e| {
                let mut f = vec![
                    format!("\"key\":{}", go_json(&Value::String(s(e, &["key"]).into()))),
                    format!("\"operator\":{}", go_json(&Value::String(s(e, &["operator"]).into()))),
                ];
                if !arr(e, &["values"]).is_empty() {
                    f.push(format!("\"values\":{}", go_json(get(e, &["values"]).unwrap_or(&Value::Null))));
                }
                format!("{{{}}}", f.join(","))
            })
            .collect();
        parts.push(format!("\"matchExpressions\":[{}]", rendered.join(",")));
    }
    format!("{{{}}}", parts.join(","))
}

/// `Invalid value: "x": detail` with Go quoting of the string.
pub(crate) fn invalid(field: impl Into<String>, value: &str, detail: impl std::fmt::Display) -> Cause {
    Cause::invalid(field, go_quote_inner(value), detail)
}

/// `Invalid value: <rendered>: detail` for non-string values (numbers, JSON).
pub(crate) fn invalid_raw(
    field: impl Into<String>,
    rendered: impl std::fmt::Display,
    detail: impl std::fmt::Display,
) -> Cause {
    Cause {
        reason: "FieldValueInvalid".into(),
        message: format!("Invalid value: {rendered}: {detail}"),
        field: field.into(),
    }
}

/// `Invalid value: <json>: detail` for a JSON value (strings stay quoted).
pub(crate) fn invalid_value(field: impl Into<String>, value: Option<&Value>, detail: impl std::fmt::Display) -> Cause {
    match value {
        Some(Value::String(s)) => invalid(field, s, detail),
        Some(v) => invalid_raw(field, go_json(v), detail),
        None => invalid_raw(field, "null", detail),
    }
}

/// `Required value: detail`.
pub(crate) fn required_detail(field: impl Into<String>, detail: &str) -> Cause {
    let mut c = Cause::required(field);
    if !detail.is_empty() {
        c.message = format!("{}: {detail}", c.message);
    }
    c
}

/// `Unsupported value: "x": supported values: ...` with Go quoting.
pub(crate) fn not_supported(field: impl Into<String>, value: &str, supported: &[&str]) -> Cause {
    Cause::not_supported(field, go_quote_inner(value), supported)
}

/// `Unsupported value: <rendered>: supported values: ...` for non-string values.
pub(crate) fn not_supported_raw(
    field: impl Into<String>,
    rendered: impl std::fmt::Display,
    supported: &[&str],
) -> Cause {
    let list = supported.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", ");
    Cause {
        reason: "FieldValueNotSupported".into(),
        message: format!("Unsupported value: {rendered}: supported values: {list}"),
        field: field.into(),
    }
}

/// `Duplicate value: "x"` with Go quoting.
pub(crate) fn duplicate(field: impl Into<String>, value: &str) -> Cause {
    Cause::duplicate(field, go_quote_inner(value))
}

/// `Duplicate value: <rendered>` for non-string values.
pub(crate) fn duplicate_raw(field: impl Into<String>, rendered: impl std::fmt::Display) -> Cause {
    Cause { reason: "FieldValueDuplicate".into(), message: format!("Duplicate value: {rendered}"), field: field.into() }
}

/// `Not found: "x"`.
pub(crate) fn not_found(field: impl Into<String>, value: &str) -> Cause {
    Cause {
        reason: "FieldValueNotFound".into(),
        message: format!("Not found: \"{}\"", go_quote_inner(value)),
        field: field.into(),
    }
}

/// `Too long: may not be more than N bytes`.
pub(crate) fn too_long(field: impl Into<String>, max: usize) -> Cause {
    let unit = if max == 1 { "byte" } else { "bytes" };
    Cause {
        reason: "FieldValueTooLong".into(),
        message: format!("Too long: may not be more than {max} {unit}"),
        field: field.into(),
    }
}

/// `Too many: N: must have at most M items`.
pub(crate) fn too_many(field: impl Into<String>, actual: usize, max: usize) -> Cause {
    Cause {
        reason: "FieldValueTooMany".into(),
        message: format!("Too many: {actual}: must have at most {max} items"),
        field: field.into(),
    }
}

/// `must be greater than or equal to 0` for a set integer field.
pub(crate) fn nonneg(errs: &mut Vec<Cause>, v: &Value, path: &[&str], field: &str) {
    if let Some(n) = int(v, path).filter(|n| *n < 0) {
        errs.push(invalid_raw(field, n, "must be greater than or equal to 0"));
    }
}

/// Field-wise equality that treats null, absent, `""`, `false`, `0`, `{}` and `[]`
/// alike: after decoding into Go structs those are all the zero value, which is
/// what kube's DeepEqual compares. (Pointer fields lose that distinction here.)
pub(crate) fn same(a: Option<&Value>, b: Option<&Value>) -> bool {
    fn empty(v: Option<&Value>) -> bool {
        match v {
            None | Some(Value::Null) | Some(Value::Bool(false)) => true,
            Some(Value::String(s)) => s.is_empty(),
            Some(Value::Number(n)) => n.as_f64() == Some(0.0),
            Some(Value::Object(m)) => m.is_empty(),
            Some(Value::Array(a)) => a.is_empty(),
            _ => false,
        }
    }
    if empty(a) && empty(b) {
        return true;
    }
    match (a, b) {
        (Some(Value::Object(x)), Some(Value::Object(y))) => x.keys().chain(y.keys()).all(|k| same(x.get(k), y.get(k))),
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(Some(p), Some(q)))
        }
        (Some(Value::Number(x)), Some(Value::Number(y))) => x.as_f64() == y.as_f64(),
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}
