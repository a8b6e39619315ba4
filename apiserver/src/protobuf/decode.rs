//! Message → Kubernetes JSON, following the schema: JSON field names, Go's
//! JSON forms of the special types (Time, Quantity, IntOrString, ...), base64
//! `bytes`, maps, repeated (packed or not) fields and inlined structs.
//!
//! Zero values: Go's protobuf encoder writes every non-pointer scalar, so the
//! wire cannot tell `minReadySeconds: 0` (omitted from JSON) from `replicas: 0`
//! (a pointer, kept). Numbers and booleans are kept (the registry treats a
//! zero like an absent value where Go does); empty strings are dropped unless
//! the field is required, as `omitempty` does.

use base64::Engine;
use serde_json::{Map, Number, Value};

use super::schema::{schema, RField, RMessage, RTy, Shape, Special};
use super::wire::{Payload, Reader, FIXED64, LEN, VARINT};
use super::{ProtobufError, MAGIC};

/// Nesting bound for messages and embedded objects.
const MAX_DEPTH: usize = 100;

/// Pointer strings where `""` differs from unset: (message, JSON field).
const KEEP_EMPTY: &[(&str, &str)] = &[("io.k8s.api.core.v1.PersistentVolumeClaimSpec", "storageClassName")];

fn message_at(idx: usize) -> Result<&'static RMessage, ProtobufError> {
    schema().messages.get(idx).ok_or_else(|| ProtobufError::Malformed(format!("no message #{idx}")))
}

/// Decodes `buf` as message `idx` into its JSON value.
pub(super) fn message(idx: usize, buf: &[u8], depth: usize) -> Result<Value, ProtobufError> {
    if depth > MAX_DEPTH {
        return Err(ProtobufError::Malformed("message nesting too deep".into()));
    }
    let msg = message_at(idx)?;
    match msg.special {
        Special::None => object(msg, buf, depth).map(Value::Object),
        Special::Time => time(buf, false),
        Special::MicroTime => time(buf, true),
        Special::Duration => {
            let d = last_varint(buf, 1)?.unwrap_or(0) as i64;
            Ok(Value::String(go_duration(d)))
        }
        Special::Quantity => Ok(Value::String(last_str(buf, 1)?.unwrap_or_else(|| "0".into()))),
        Special::IntOrString => {
            let (mut typ, mut int, mut s) = (0i64, 0i32, String::new());
            let mut r = Reader::new(buf);
            while let Some((tag, p)) = r.field()? {
                match (tag, p) {
                    (1, Payload::Varint(v)) => typ = v as i64,
                    (2, Payload::Varint(v)) => int = v as i64 as i32,
                    (3, Payload::Bytes(b)) => s = String::from_utf8_lossy(b).into_owned(),
                    (1..=3, _) => return Err(wrong_type(msg.name, tag)),
                    _ => {}
                }
            }
            Ok(if typ == 1 { Value::String(s) } else { Value::from(int) })
        }
        Special::RawJson => match last_bytes(buf, 1)? {
            None | Some([]) => Ok(Value::Null),
            Some(raw) => embedded(raw, depth),
        },
        Special::Items => {
            let mut items = Vec::new();
            let mut r = Reader::new(buf);
            while let Some((tag, p)) = r.field()? {
                match (tag, p) {
                    (1, Payload::Bytes(b)) => items.push(Value::String(String::from_utf8_lossy(b).into_owned())),
                    (1, _) => return Err(wrong_type(msg.name, tag)),
                    _ => {}
                }
            }
            Ok(Value::Array(items))
        }
        Special::PropsOrArray | Special::PropsOrBool | Special::PropsOrStringArray => props_or(msg, buf, depth),
    }
}

/// JSONSchemaPropsOr{Array,Bool,StringArray}, as their Go MarshalJSON writes them.
fn props_or(msg: &RMessage, buf: &[u8], depth: usize) -> Result<Value, ProtobufError> {
    let (mut schema_obj, mut list, mut allows) = (None, Vec::new(), false);
    let target = |tag: u32| match msg.field(tag).map(|f| f.ty) {
        Some(RTy::Msg(t)) => Ok(t),
        _ => Err(wrong_type(msg.name, tag)),
    };
    let schema_tag = if msg.special == Special::PropsOrBool { 2 } else { 1 };
    let mut r = Reader::new(buf);
    while let Some((tag, p)) = r.field()? {
        match (tag, p) {
            (t, Payload::Bytes(b)) if t == schema_tag => schema_obj = Some(message(target(t)?, b, depth + 1)?),
            (1, Payload::Varint(v)) if msg.special == Special::PropsOrBool => allows = v != 0,
            (2, Payload::Bytes(b)) if msg.special == Special::PropsOrArray => {
                list.push(message(target(2)?, b, depth + 1)?)
            }
            (2, Payload::Bytes(b)) => list.push(Value::String(String::from_utf8_lossy(b).into_owned())),
            (1 | 2, _) => return Err(wrong_type(msg.name, tag)),
            _ => {}
        }
    }
    Ok(match msg.special {
        Special::PropsOrBool => schema_obj.unwrap_or(Value::Bool(allows)),
        _ if !list.is_empty() => Value::Array(list),
        _ => schema_obj.unwrap_or(Value::Null),
    })
}

/// The JSON held in a RawExtension-like field: JSON text, or a nested
/// protobuf-encoded object (`k8s\0` envelope).
fn embedded(raw: &[u8], depth: usize) -> Result<Value, ProtobufError> {
    if raw.starts_with(MAGIC) {
        return super::decode_at(raw, depth + 1);
    }
    serde_json::from_slice(raw).map_err(|e| ProtobufError::Malformed(format!("embedded object is not JSON: {e}")))
}

fn wrong_type(msg: &str, tag: u32) -> ProtobufError {
    ProtobufError::Malformed(format!("wrong wire type for field {tag} of {msg}"))
}

fn last_varint(buf: &[u8], want: u32) -> Result<Option<u64>, ProtobufError> {
    let mut out = None;
    let mut r = Reader::new(buf);
    while let Some((tag, p)) = r.field()? {
        match (tag == want, p) {
            (true, Payload::Varint(v)) => out = Some(v),
            (true, _) => return Err(ProtobufError::Malformed(format!("field {tag} must be a varint"))),
            _ => {}
        }
    }
    Ok(out)
}

fn last_bytes(buf: &[u8], want: u32) -> Result<Option<&[u8]>, ProtobufError> {
    let mut out = None;
    let mut r = Reader::new(buf);
    while let Some((tag, p)) = r.field()? {
        match (tag == want, p) {
            (true, Payload::Bytes(b)) => out = Some(b),
            (true, _) => return Err(ProtobufError::Malformed(format!("field {tag} must be length-delimited"))),
            _ => {}
        }
    }
    Ok(out)
}

fn last_str(buf: &[u8], want: u32) -> Result<Option<String>, ProtobufError> {
    Ok(last_bytes(buf, want)?.map(|b| String::from_utf8_lossy(b).into_owned()))
}

/// metav1.Time (seconds only, as Go's Unmarshal keeps) or MicroTime.
fn time(buf: &[u8], micro: bool) -> Result<Value, ProtobufError> {
    if buf.is_empty() {
        return Ok(Value::Null);
    }
    let (mut secs, mut nanos) = (0i64, 0i32);
    let mut r = Reader::new(buf);
    while let Some((tag, p)) = r.field()? {
        match (tag, p) {
            (1, Payload::Varint(v)) => secs = v as i64,
            (2, Payload::Varint(v)) => nanos = v as i64 as i32,
            (1 | 2, _) => return Err(ProtobufError::Malformed("time fields must be varints".into())),
            _ => {}
        }
    }
    let nanos = if micro { nanos.clamp(0, 999_999_999) / 1000 * 1000 } else { 0 };
    let ts =
        jiff::Timestamp::new(secs, nanos).map_err(|e| ProtobufError::Malformed(format!("time out of range: {e}")))?;
    let fmt = if micro { "%Y-%m-%dT%H:%M:%S%.6fZ" } else { "%Y-%m-%dT%H:%M:%SZ" };
    jiff::fmt::strtime::format(fmt, ts)
        .map(Value::String)
        .map_err(|e| ProtobufError::Malformed(format!("time out of range: {e}")))
}

/// Go's `time.Duration.String()`: `1h2m3.5s`, `1.5ms`, `0s`.
pub(super) fn go_duration(d: i64) -> String {
    fn frac(mut v: u64, prec: u32, out: &mut String) -> u64 {
        let mut digits = String::new();
        let mut printed = false;
        for _ in 0..prec {
            let digit = v % 10;
            printed = printed || digit != 0;
            if printed {
                digits.insert(0, char::from(b'0' + digit as u8));
            }
            v /= 10;
        }
        if printed {
            out.push('.');
            out.push_str(&digits);
        }
        v
    }
    if d == 0 {
        return "0s".into();
    }
    let mut u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0..=999 => (0, "ns"),
            1_000..=999_999 => (3, "µs"),
            _ => (6, "ms"),
        };
        let mut f = String::new();
        let whole = frac(u, prec, &mut f);
        out = format!("{whole}{f}{unit}");
    } else {
        let mut f = String::new();
        u = frac(u, 9, &mut f);
        let secs = format!("{}{f}s", u % 60);
        u /= 60;
        if u > 0 {
            let mins = u % 60;
            u /= 60;
            if u > 0 {
                out.push_str(&format!("{u}h"));
            }
            out.push_str(&format!("{mins}m"));
        }
        out.push_str(&secs);
    }
    if d < 0 {
        out.insert(0, '-');
    }
    out
}

/// An ordinary message as a JSON object.
fn object(msg: &RMessage, buf: &[u8], depth: usize) -> Result<Map<String, Value>, ProtobufError> {
    let mut obj = Map::new();
    let mut r = Reader::new(buf);
    while let Some((tag, p)) = r.field()? {
        let Some(f) = msg.field(tag) else { continue };
        match f.shape {
            Shape::One => one(msg, f, p, &mut obj, depth)?,
            Shape::Many => many(msg, f, p, &mut obj, depth)?,
            Shape::Map => entry(msg, f, p, &mut obj, depth)?,
        }
    }
    Ok(obj)
}

fn one(
    msg: &RMessage,
    f: &RField,
    p: Payload<'_>,
    obj: &mut Map<String, Value>,
    depth: usize,
) -> Result<(), ProtobufError> {
    let v = scalar_or_message(msg, f, f.ty, p, depth)?;
    if f.inline {
        if let Value::Object(inner) = v {
            obj.extend(inner);
        }
        return Ok(());
    }
    let empty_str = v.as_str().is_some_and(str::is_empty);
    if empty_str && !f.required && !KEEP_EMPTY.contains(&(msg.name, f.json.as_str())) {
        obj.remove(&f.json);
        return Ok(());
    }
    // A message field repeated on the wire merges into the earlier one.
    match (obj.get_mut(&f.json), v) {
        (Some(Value::Object(prev)), Value::Object(next)) => prev.extend(next),
        (_, v) => {
            obj.insert(f.json.clone(), v);
        }
    }
    Ok(())
}

fn many(
    msg: &RMessage,
    f: &RField,
    p: Payload<'_>,
    obj: &mut Map<String, Value>,
    depth: usize,
) -> Result<(), ProtobufError> {
    let mut items = Vec::new();
    match (f.ty, p) {
        // Packed numbers (proto3 style); k8s writes them unpacked.
        (RTy::I32 | RTy::I64 | RTy::Bool, Payload::Bytes(b)) => {
            let mut r = Reader::new(b);
            while !r.is_empty() {
                items.push(scalar_or_message(msg, f, f.ty, Payload::Varint(r.varint()?), depth)?);
            }
        }
        (RTy::F64, Payload::Bytes(b)) => {
            let mut r = Reader::new(b);
            while !r.is_empty() {
                items.push(scalar_or_message(msg, f, f.ty, Payload::Fixed64(r.fixed64()?), depth)?);
            }
        }
        _ => items.push(scalar_or_message(msg, f, f.ty, p, depth)?),
    }
    let slot = obj.entry(f.json.clone()).or_insert_with(|| Value::Array(Vec::new()));
    match slot {
        Value::Array(a) => a.extend(items),
        other => *other = Value::Array(items),
    }
    Ok(())
}

fn entry(
    msg: &RMessage,
    f: &RField,
    p: Payload<'_>,
    obj: &mut Map<String, Value>,
    depth: usize,
) -> Result<(), ProtobufError> {
    let Payload::Bytes(b) = p else { return Err(wrong_type(msg.name, f.tag)) };
    let (mut key, mut val) = (String::new(), None);
    let mut r = Reader::new(b);
    while let Some((tag, p)) = r.field()? {
        match tag {
            1 => match p {
                Payload::Bytes(k) => key = String::from_utf8_lossy(k).into_owned(),
                _ => return Err(wrong_type(msg.name, f.tag)),
            },
            2 => val = Some(scalar_or_message(msg, f, f.ty, p, depth)?),
            _ => {}
        }
    }
    let val = match val {
        Some(v) => v,
        None => match f.ty {
            RTy::Msg(t) => message(t, &[], depth + 1)?,
            RTy::Str | RTy::Bytes => Value::String(String::new()),
            RTy::Bool => Value::Bool(false),
            RTy::I32 | RTy::I64 | RTy::F64 => Value::from(0),
        },
    };
    let slot = obj.entry(f.json.clone()).or_insert_with(|| Value::Object(Map::new()));
    match slot {
        Value::Object(m) => {
            m.insert(key, val);
        }
        other => *other = Value::Object(Map::from_iter([(key, val)])),
    }
    Ok(())
}

fn scalar_or_message(
    msg: &RMessage,
    f: &RField,
    ty: RTy,
    p: Payload<'_>,
    depth: usize,
) -> Result<Value, ProtobufError> {
    Ok(match (ty, p) {
        (RTy::Str, Payload::Bytes(b)) => Value::String(String::from_utf8_lossy(b).into_owned()),
        (RTy::Bytes, Payload::Bytes(b)) => Value::String(base64::engine::general_purpose::STANDARD.encode(b)),
        (RTy::Msg(t), Payload::Bytes(b)) => message(t, b, depth + 1)?,
        (RTy::I32, Payload::Varint(v)) => Value::from(v as i64 as i32),
        (RTy::I64, Payload::Varint(v)) => Value::from(v as i64),
        (RTy::Bool, Payload::Varint(v)) => Value::Bool(v != 0),
        (RTy::F64, Payload::Fixed64(v)) => {
            let x = f64::from_bits(v);
            // Go writes integral floats without a fraction (`1`, not `1.0`).
            if x.fract() == 0.0 && x.abs() < 9.0e15 {
                Value::from(x as i64)
            } else {
                Number::from_f64(x).map(Value::Number).ok_or_else(|| {
                    ProtobufError::Malformed(format!("field {} of {} is not a finite number", f.tag, msg.name))
                })?
            }
        }
        (_, p) => {
            let want = match ty {
                RTy::I32 | RTy::I64 | RTy::Bool => VARINT,
                RTy::F64 => FIXED64,
                _ => LEN,
            };
            return Err(ProtobufError::Malformed(format!(
                "field {} ({}) of {}: wire type {} where {want} was expected",
                f.tag,
                f.json,
                msg.name,
                p.wire_type()
            )));
        }
    })
}
