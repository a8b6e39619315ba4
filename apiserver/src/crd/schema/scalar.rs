//! The per-value checks of kube-openapi's `SchemaValidator`: type, string (length,
//! pattern), format, number (range, multipleOf) and enum, with kube's messages.

use serde_json::Value;

use super::compiled::Node;
use super::messages::{bad_number, field_of, invalid, not_supported, too_long, type_invalid, Bad};
use crate::error::Cause;

/// kube-openapi's name for the Go type of an unstructured value, and its "format".
fn schema_info(v: &Value) -> (&'static str, &'static str) {
    match v {
        Value::Bool(_) => ("boolean", ""),
        Value::String(_) => ("string", ""),
        Value::Number(n) if n.is_i64() => ("integer", "int64"),
        Value::Number(_) => ("number", "float64"),
        Value::Array(_) => ("array", ""),
        Value::Object(_) => ("object", ""),
        Value::Null => ("null", ""),
    }
}

/// swag's `IsFloat64AJSONInteger`.
pub(crate) fn is_json_integer(f: f64) -> bool {
    if !f.is_finite() || f.abs() > 9_007_199_254_740_991.0 {
        return false;
    }
    f == f.trunc() || (f - f.round()).abs() < 1e-9
}

/// `body` type errors: `<name> in body must be of type <t>: "<actual>"`.
fn type_error(name: &str, expected: &str, actual: &str) -> Cause {
    let detail = format!("{name} in body must be of type {expected}: {}", super::messages::go_quote(actual));
    type_invalid(field_of(name), Bad::Str(actual), &detail)
}

/// kube-openapi's `typeValidator`.
pub(crate) fn check_type(n: &Node, name: &str, v: &Value, out: &mut Vec<Cause>) {
    if !n.has_any_type() && n.format.is_empty() {
        return;
    }
    if v.is_null() {
        if n.has_any_type() && !n.has_type("null") && !n.nullable {
            out.push(type_error(name, &n.type_names(), "null"));
        }
        return;
    }
    let (sch_type, format) = schema_info(v);
    let is_float_int = sch_type == "number" && v.as_f64().is_some_and(is_json_integer) && n.has_type("integer");
    let is_int_float = sch_type == "integer" && n.has_type("number");
    let is_str_or_slice = matches!(v, Value::String(_) | Value::Array(_));
    let format_ok = is_str_or_slice
        || n.format.is_empty()
        || n.has_type(sch_type)
        || format == n.format
        || is_float_int
        || is_int_float;
    if !format_ok {
        out.push(type_error(name, &n.format, format));
        return;
    }
    let numeric = n.has_type("number") || n.has_type("integer");
    if is_str_or_slice && !numeric && !n.format.is_empty() {
        return;
    }
    if !(n.has_type(sch_type) || is_float_int || is_int_float) {
        out.push(type_error(name, &n.type_names(), sch_type));
    }
}

/// kube-openapi's `stringValidator` (only the first failure is reported).
pub(crate) fn check_string(n: &Node, name: &str, s: &str, out: &mut Vec<Cause>) {
    let field = || field_of(name);
    if let Some(max) = n.max_length {
        if s.chars().count() as i64 > max {
            out.push(too_long(field(), max));
            return;
        }
    }
    if let Some(min) = n.min_length {
        if (s.chars().count() as i64) < min {
            out.push(invalid(field(), Bad::Str(s), &format!("{name} in body should be at least {min} chars long")));
            return;
        }
    }
    if let Some(p) = &n.pattern {
        match &p.re {
            Ok(re) if re.is_match(s) => {}
            Ok(_) => out.push(invalid(field(), Bad::Str(s), &format!("{name} in body should match '{}'", p.src))),
            Err(e) => out.push(invalid(
                field(),
                Bad::Str(s),
                &format!("{name} in body should match '{}, but pattern is invalid: {e}'", p.src),
            )),
        }
    }
}

/// kube-openapi's `formatValidator`.
pub(crate) fn check_format(n: &Node, name: &str, s: &str, out: &mut Vec<Cause>) {
    if let Some(f) = n.str_format {
        if !f.validates(s) {
            let detail = format!("{name} in body must be of type {}: {}", n.format, super::messages::go_quote(s));
            out.push(type_invalid(field_of(name), Bad::Str(s), &detail));
        }
    }
}

/// The `(type, format)` pair kube-openapi's numberValidator checks bounds against.
fn number_kind(n: &Node) -> (&'static str, &str) {
    if n.types.len() != 1 {
        return ("", "");
    }
    match n.types[0] {
        "integer" => ("integer", if n.format == "int32" || n.format == "int64" { &n.format } else { "" }),
        "number" => ("number", if n.format == "float" || n.format == "double" { &n.format } else { "" }),
        _ => ("", ""),
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)` parsed back as an integer of `bits` bits.
fn fits_int(f: f64, bits: u32) -> bool {
    if !is_json_integer(f) || f != f.trunc() {
        return false;
    }
    let (lo, hi) = if bits == 32 {
        (i32::MIN as f64, i32::MAX as f64)
    } else {
        (-9.223_372_036_854_776e18, 9.223_372_036_854_775e18)
    };
    f >= lo && f <= hi
}

/// kube-openapi's `IsValueValidAgainstRange`: `None` if fine, else the error message.
fn range_error(val: f64, typ: &str, format: &str, prefix: &str, name: &str) -> Option<String> {
    let ok = match typ {
        "integer" => fits_int(val, if format == "int32" { 32 } else { 64 }),
        _ if format == "float" => val.abs() <= f32::MAX as f64,
        _ => true,
    };
    if ok {
        return None;
    }
    let typ = if typ.is_empty() { "number" } else { typ };
    Some(if format.is_empty() {
        format!("{prefix} value must be of type {typ} (default format) in {name}")
    } else {
        format!("{prefix} value must be of type {typ} with format {format} in {name}")
    })
}

fn num_str(bound: f64, int_path: bool) -> String {
    if int_path {
        (bound as i64).to_string()
    } else {
        super::messages::go_float_v(bound)
    }
}

/// kube-openapi's `numberValidator`.
pub(crate) fn check_number(n: &Node, name: &str, v: &Value, out: &mut Vec<Cause>) {
    let Value::Number(num) = v else {
        return;
    };
    let int_val = num.as_i64();
    let data = num.as_f64().unwrap_or(0.0);
    let (typ, format) = number_kind(n);
    let other = |msg: String| invalid("<nil>".to_owned(), Bad::Str(""), &msg);
    if let Some(m) = range_error(data, typ, format, "Checked", name) {
        out.push(other(m));
    }
    let bad = bad_number(v);
    let field = || field_of(name);
    let mut res_multiple = Vec::new();
    let mut res_min = Vec::new();
    let mut res_max = Vec::new();
    if let Some(factor) = n.multiple_of {
        let native = range_error(factor, typ, format, "MultipleOf", name);
        let int_path = native.is_none() && int_val.is_some();
        if let Some(m) = native {
            res_multiple.push(other(m));
        }
        if int_path {
            let f = factor as i64;
            let d = int_val.unwrap_or(0);
            if f <= 0 {
                let msg = format!("factor MultipleOf declared for {name} must be positive: {f}");
                res_multiple.push(invalid(field(), Bad::Int(f), &msg));
            } else if d % f != 0 {
                res_multiple.push(invalid(field(), bad, &format!("{name} in body should be a multiple of {f}")));
            }
        } else if factor <= 0.0 {
            let fs = super::messages::go_float_v(factor);
            let msg = format!("factor MultipleOf declared for {name} must be positive: {fs}");
            res_multiple.push(invalid(field(), Bad::Float(factor), &msg));
        } else {
            let mult = if factor < 1.0 { 1.0 / factor * data } else { data / factor };
            if !is_json_integer(mult) {
                let fs = super::messages::go_float_v(factor);
                res_multiple.push(invalid(field(), bad, &format!("{name} in body should be a multiple of {fs}")));
            }
        }
    }
    if let Some(max) = n.maximum {
        let native = range_error(max, typ, format, "Maximum boundary", name);
        let int_path = native.is_none() && int_val.is_some();
        if let Some(m) = native {
            res_max.push(other(m));
        }
        let (fails, bound) = if int_path {
            let (d, m) = (int_val.unwrap_or(0), max as i64);
            (if n.exclusive_maximum { d >= m } else { d > m }, num_str(max, true))
        } else {
            (if n.exclusive_maximum { data >= max } else { data > max }, num_str(max, false))
        };
        if fails {
            let op = if n.exclusive_maximum { "less than" } else { "less than or equal to" };
            res_max.push(invalid(field(), bad, &format!("{name} in body should be {op} {bound}")));
        }
    }
    if let Some(min) = n.minimum {
        let native = range_error(min, typ, format, "Minimum boundary", name);
        let int_path = native.is_none() && int_val.is_some();
        if let Some(m) = native {
            res_min.push(other(m));
        }
        let (fails, bound) = if int_path {
            let (d, m) = (int_val.unwrap_or(0), min as i64);
            (if n.exclusive_minimum { d <= m } else { d < m }, num_str(min, true))
        } else {
            (if n.exclusive_minimum { data <= min } else { data < min }, num_str(min, false))
        };
        if fails {
            let op = if n.exclusive_minimum { "greater than" } else { "greater than or equal to" };
            res_min.push(invalid(field(), bad, &format!("{name} in body should be {op} {bound}")));
        }
    }
    out.append(&mut res_multiple);
    out.append(&mut res_min);
    out.append(&mut res_max);
}

/// Whether `data` equals the enum value `e` the way kube-openapi compares them.
fn enum_eq(data: &Value, e: &Value) -> bool {
    match (data, e) {
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => a.as_f64() == b.as_f64(),
        },
        _ => data == e,
    }
}

/// kube-openapi's enum check (`basicCommonValidator`), reported as `Unsupported value`.
pub(crate) fn check_enum(n: &Node, name: &str, v: &Value, out: &mut Vec<Cause>) {
    if n.enum_values.is_empty() || n.enum_values.iter().any(|e| enum_eq(v, e)) {
        return;
    }
    let values: Vec<String> = n
        .enum_values
        .iter()
        .map(|e| match e {
            Value::String(s) => s.clone(),
            other => super::messages::go_json(other),
        })
        .collect();
    out.push(not_supported(field_of(name), Bad::Json(v), &values));
}
