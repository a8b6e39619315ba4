//! JSON values to CEL values, typed by their [`Shape`], as kube's `UnstructuredToVal` does:
//!
//! - an object with `properties` (or a resource root) is a map of its declared properties,
//!   named by their escaped CEL names; undeclared and unescapable ones are invisible;
//! - an object with `additionalProperties` is a map of all its keys;
//! - any other object (`x-kubernetes-preserve-unknown-fields`, untyped) is a map of all its
//!   keys, converted without a schema;
//! - `type: number` is always a double, `type: integer` an int; `x-kubernetes-int-or-string`
//!   stays whichever it is;
//! - strings with `format: date-time`/`date` are timestamps, `duration` durations, `byte` bytes
//!   (a string that doesn't parse stays a string).
//!
//! Values borrow strings from the JSON they are converted from.

use super::shape::{Format, Property, Shape, MAX_DEPTH};
use base64::Engine as _;
use cel::common::types::{CelBool, CelBytes, CelDouble, CelInt, CelList, CelMap, CelMapKey, CelNull, CelString};
use cel::common::value::{CowVal, Val};
use serde_json::Value;
use std::collections::HashMap;

/// Converts `value` (at `shape`) to a CEL value.
pub(super) fn to_val<'a>(value: &'a Value, shape: &'a Shape) -> Box<dyn Val + 'a> {
    convert(value, Some(shape), 0)
}

fn convert<'a>(value: &'a Value, shape: Option<&'a Shape>, depth: usize) -> Box<dyn Val + 'a> {
    if depth > MAX_DEPTH {
        return Box::new(CelNull);
    }
    match value {
        Value::Null => Box::new(CelNull),
        Value::Bool(b) => Box::new(CelBool::from(*b)),
        Value::Number(n) => {
            let double = shape.is_some_and(|s| s.ty == "number" && !s.int_or_string);
            match n.as_i64() {
                Some(i) if !double => Box::new(CelInt::from(i)),
                _ => Box::new(CelDouble::from(n.as_f64().unwrap_or(f64::NAN))),
            }
        }
        Value::String(s) => {
            let format = shape.filter(|s| !s.int_or_string).and_then(|s| s.format);
            format.and_then(|f| formatted(s, f)).unwrap_or_else(|| Box::new(CelString::from(s.as_str())))
        }
        Value::Array(items) => {
            let item_shape = shape.and_then(|s| s.items.as_deref());
            Box::new(CelList::from(items.iter().map(|v| convert(v, item_shape, depth + 1)).collect::<Vec<_>>()))
        }
        Value::Object(map) => {
            let mut out: HashMap<CelMapKey<'a>, Box<dyn Val + 'a>> = HashMap::with_capacity(map.len());
            match shape {
                Some(Shape { properties: Some(props), .. }) => {
                    for (k, v) in map {
                        if let Some(Property { cel_name: Some(name), shape }) = props.get(k) {
                            out.insert(CelMapKey::from(name.as_str()), convert(v, Some(shape), depth + 1));
                        }
                    }
                }
                Some(Shape { additional: Some(additional), .. }) => {
                    for (k, v) in map {
                        out.insert(CelMapKey::from(k.as_str()), convert(v, Some(additional), depth + 1));
                    }
                }
                _ => {
                    for (k, v) in map {
                        out.insert(CelMapKey::from(k.as_str()), convert(v, None, depth + 1));
                    }
                }
            }
            Box::new(CelMap::from(out))
        }
    }
}

/// A string of a `format` CEL has a type for; `None` if it doesn't parse as one.
fn formatted<'a>(s: &'a str, format: Format) -> Option<Box<dyn Val + 'a>> {
    match format {
        Format::Byte => {
            let bytes = base64::engine::general_purpose::STANDARD.decode(s).ok()?;
            Some(Box::new(CelBytes::from(bytes)))
        }
        Format::DateTime => call_stdlib("timestamp", s.to_owned()),
        Format::Date => {
            let valid = s.len() == 10
                && s.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 { b == b'-' } else { b.is_ascii_digit() });
            valid.then(|| call_stdlib("timestamp", format!("{s}T00:00:00Z"))).flatten()
        }
        Format::Duration => call_stdlib("duration", s.to_owned()),
    }
}

/// Calls the standard `timestamp(string)`/`duration(string)` conversion (the `cel` crate's
/// types for them are only constructible through it).
fn call_stdlib<'a>(function: &str, arg: String) -> Option<Box<dyn Val + 'a>> {
    let args = vec![CowVal::owned(CelString::from(arg))];
    let op = super::functions::env().find_overload(function, &args)?;
    op(args).ok().map(CowVal::into_owned)
}
