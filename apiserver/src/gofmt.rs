//! Go's text formats, where kube's output must match byte for byte:
//! `strconv.Quote` (`%q`), `%v` of a float64, and `encoding/json` (compact,
//! sorted object keys, HTML-safe strings, Go's float format).

use serde_json::Value;

/// Go's `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
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
pub fn go_float_v(f: f64) -> String {
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
pub fn go_json(v: &Value) -> String {
    let mut s = String::new();
    write_go_json(&mut s, v);
    s
}

/// Writes `x` as a JSON string with Go's `encoding/json` escaping (HTML-safe).
pub fn write_go_string(out: &mut String, x: &str) {
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

/// Writes a value as Go's `encoding/json` would (sorted keys, HTML-safe strings).
pub fn write_go_json(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_i64() {
            Some(i) => out.push_str(&i.to_string()),
            None => out.push_str(&go_json_float(n.as_f64().unwrap_or(0.0))),
        },
        Value::String(s) => write_go_string(out, s),
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(out, x);
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
                write_go_string(out, k);
                out.push(':');
                if let Some(x) = m.get(k) {
                    write_go_json(out, x);
                }
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quotes_like_strconv() {
        assert_eq!(go_quote("a\"b\\c\n\u{7}\u{1}\u{7f}\u{feff}é"), r#""a\"b\\c\n\a\x01\x7f\ufeffé""#);
    }

    #[test]
    fn floats_like_fmt_and_encoding_json() {
        assert_eq!(go_float_v(100000.0), "100000");
        assert_eq!(go_float_v(1e6), "1e+06");
        assert_eq!(go_float_v(0.00001), "1e-05");
        assert_eq!(go_float_v(2.5), "2.5");
        assert_eq!(go_json(&json!(1e20)), "100000000000000000000");
        assert_eq!(go_json(&json!(1e21)), "1e+21");
        assert_eq!(go_json(&json!(1.5e-7)), "1.5e-7");
        assert_eq!(go_json(&json!(0.000001)), "0.000001");
    }

    #[test]
    fn json_sorts_keys_and_escapes_html() {
        assert_eq!(
            go_json(&json!({"b": "<&>", "a": [1, true, null]})),
            r#"{"a":[1,true,null],"b":"\u003c\u0026\u003e"}"#
        );
    }
}
