//! How bad values appear in field errors (with `crate::gofmt`'s `%q`, `%v` and
//! `json.Marshal`) and the constructors of [`Cause`]s the way apimachinery's `field.Error.ErrorBody` prints them.

use serde_json::Value;

use crate::error::Cause;
pub(crate) use crate::gofmt::{go_float_v, go_json, go_quote};

/// A bad value as it is stored in a Go `field.Error` (`BadValue`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Bad<'a> {
    Str(&'a str),
    Int(i64),
    Float(f64),
    /// Any JSON value (rendered by type: string quoted, numbers `%v`, others JSON).
    Json(&'a Value),
}

impl Bad<'_> {
    pub fn render(&self) -> String {
        match *self {
            Bad::Str(s) => go_quote(s),
            Bad::Int(i) => i.to_string(),
            Bad::Float(f) => go_float_v(f),
            Bad::Json(v) => match v {
                Value::String(s) => go_quote(s),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => match n.as_i64() {
                    Some(i) => i.to_string(),
                    None => go_float_v(n.as_f64().unwrap_or(0.0)),
                },
                other => go_json(other),
            },
        }
    }
}

/// A JSON number as Go's unstructured decoding holds it: int64 when integral and in range.
pub(crate) fn bad_number(v: &Value) -> Bad<'_> {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Bad::Int(i),
            None => Bad::Float(n.as_f64().unwrap_or(0.0)),
        },
        other => Bad::Json(other),
    }
}

/// The field path of a kube-openapi error name: `""`/`"."` is the nil path (`<nil>`).
pub(crate) fn field_of(name: &str) -> String {
    if name.is_empty() || name == "." {
        return "<nil>".to_owned();
    }
    name.strip_prefix('.').unwrap_or(name).to_owned()
}

fn cause(reason: &str, message: String, field: String) -> Cause {
    Cause { reason: reason.to_owned(), message, field }
}

/// `FieldValueInvalid`: `Invalid value: <v>: <detail>`.
pub(crate) fn invalid(field: String, v: Bad<'_>, detail: &str) -> Cause {
    let mut m = format!("Invalid value: {}", v.render());
    if !detail.is_empty() {
        m.push_str(": ");
        m.push_str(detail);
    }
    cause("FieldValueInvalid", m, field)
}

/// `FieldValueTypeInvalid`: `Invalid value: <v>: <detail>`.
pub(crate) fn type_invalid(field: String, v: Bad<'_>, detail: &str) -> Cause {
    let mut c = invalid(field, v, detail);
    c.reason = "FieldValueTypeInvalid".to_owned();
    c
}

/// `FieldValueRequired`: `Required value`.
pub(crate) fn required(field: String) -> Cause {
    cause("FieldValueRequired", "Required value".to_owned(), field)
}

/// `FieldValueRequired` with a detail.
pub(crate) fn required_detail(field: String, detail: &str) -> Cause {
    cause("FieldValueRequired", format!("Required value: {detail}"), field)
}

/// `FieldValueForbidden`: `Forbidden: <detail>`.
pub(crate) fn forbidden(field: String, detail: &str) -> Cause {
    cause("FieldValueForbidden", format!("Forbidden: {detail}"), field)
}

/// `FieldValueDuplicate`: `Duplicate value: <v>`.
pub(crate) fn duplicate(field: String, v: Bad<'_>) -> Cause {
    cause("FieldValueDuplicate", format!("Duplicate value: {}", v.render()), field)
}

/// `FieldValueNotSupported`: `Unsupported value: <v>: supported values: "a", "b"`.
pub(crate) fn not_supported(field: String, v: Bad<'_>, supported: &[String]) -> Cause {
    let mut m = format!("Unsupported value: {}", v.render());
    if !supported.is_empty() {
        let list: Vec<String> = supported.iter().map(|s| go_quote(s)).collect();
        m.push_str(": supported values: ");
        m.push_str(&list.join(", "));
    }
    cause("FieldValueNotSupported", m, field)
}

/// `FieldValueTooLong`: `Too long: may not be more than N bytes`.
pub(crate) fn too_long(field: String, max: i64) -> Cause {
    let unit = if max == 1 { "byte" } else { "bytes" };
    cause("FieldValueTooLong", format!("Too long: may not be more than {max} {unit}"), field)
}

/// `FieldValueTooMany`: `Too many: <actual>: must have at most N items`.
pub(crate) fn too_many(field: String, actual: i64, max: i64) -> Cause {
    let unit = if max == 1 { "item" } else { "items" };
    cause("FieldValueTooMany", format!("Too many: {actual}: must have at most {max} {unit}"), field)
}
