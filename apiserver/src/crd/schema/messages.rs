//! Go-compatible rendering of values in field errors (`%q`, `%v` of floats, `json.Marshal`)
//! and the constructors of [`Cause`]s the way apimachinery's `field.Error.ErrorBody` prints them.

use serde_json::Value;

use crate::error::Cause;

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

/// Go's `strconv.Quote`.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() || c == '\u{feff}' => {
                if (c as u32) <= 0xffff {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Shortest decimal digits and decimal-point position of a finite, non-zero `f`.
fn digits(f: f64) -> (String, i32) {
    // `{:e}` prints the shortest round-trip representation, e.g. `1.5e3`.
    let e = format!("{:e}", f.abs());
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    (digits, exp + 1)
}

fn fmt_e(neg: bool, d: &str, exp: i32) -> String {
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    s.push_str(&d[..1]);
    if d.len() > 1 {
        s.push('.');
        s.push_str(&d[1..]);
    }
    s.push('e');
    s.push(if exp < 0 { '-' } else { '+' });
    s.push_str(&format!("{:02}", exp.abs()));
    s
}

fn fmt_f(neg: bool, d: &str, dp: i32) -> String {
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    if dp <= 0 {
        s.push_str("0.");
        s.push_str(&"0".repeat((-dp) as usize));
        s.push_str(d);
    } else if dp as usize >= d.len() {
        s.push_str(d);
        s.push_str(&"0".repeat(dp as usize - d.len()));
    } else {
        s.push_str(&d[..dp as usize]);
        s.push('.');
        s.push_str(&d[dp as usize..]);
    }
    s
}

/// Go's `fmt.Sprintf("%v", f)` for a float64 (`%g` with the shortest precision).
pub(crate) fn go_float_v(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_owned();
    }
    let (d, dp) = digits(f);
    let exp = dp - 1;
    // Shortest %g uses %e when the exponent is < -4 or >= 6 (eprec = 6).
    if !(-4..6).contains(&exp) {
        return fmt_e(f < 0.0, &d, exp);
    }
    fmt_f(f < 0.0, &d, dp)
}

/// Go's `json.Marshal` of a float64 (`'f'` format unless the exponent is < -6 or >= 21).
fn go_json_float(f: f64) -> String {
    if !f.is_finite() {
        return "null".to_owned();
    }
    if f == 0.0 {
        return "0".to_owned();
    }
    let (d, dp) = digits(f);
    let exp = dp - 1;
    if !(-6..21).contains(&exp) {
        let mut s = fmt_e(f < 0.0, &d, exp);
        // Go trims `e-07` to `e-7`.
        if let Some(pos) = s.find("e-0") {
            s.remove(pos + 2);
        } else if let Some(pos) = s.find("e+0") {
            s.remove(pos + 2);
        }
        return s;
    }
    fmt_f(f < 0.0, &d, dp)
}

/// Go's `json.Marshal` of an unstructured value: sorted keys, HTML-safe escaping.
pub(crate) fn go_json(v: &Value) -> String {
    let mut s = String::new();
    write_json(v, &mut s);
    s
}

fn write_json_str(x: &str, out: &mut String) {
    out.push('"');
    for c in x.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_i64() {
            Some(i) => out.push_str(&i.to_string()),
            None => out.push_str(&go_json_float(n.as_f64().unwrap_or(0.0))),
        },
        Value::String(s) => write_json_str(s, out),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(x, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_str(k, out);
                out.push(':');
                if let Some(x) = m.get(k) {
                    write_json(x, out);
                }
            }
            out.push('}');
        }
    }
}
