//! Cheap reads of a stored object's JSON for the watch cache, which sees every
//! write: [`skeleton`] parses only what the cache indexes (metadata without
//! managedFields, and the scalar fields of top-level objects that field
//! selectors read), and [`with_resource_version`] writes
//! `metadata.resourceVersion` into the stored bytes without re-serializing.
//! Either returns `None`/`Err` on input it does not expect; callers then fall
//! back to a full parse.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The parts of an object the cache indexes: top-level scalars, the scalar
/// members of `metadata`, `spec`, `status` and the event objects, plus
/// `metadata.labels` and `status.podIPs` whole. `metadata.managedFields` and every other nested
/// list or object are skipped unparsed.
pub fn skeleton(json: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(json);
    let v = Level::Root.deserialize(&mut de)?;
    de.end()?;
    Ok(v.unwrap_or(Value::Null))
}

/// How much of a value is kept.
#[derive(Clone, Copy)]
enum Level<'k> {
    /// The object: every member, objects one level down.
    Root,
    /// A member of the object, named: scalars and (for objects) scalar members.
    Top(&'k str),
    /// Below that: scalars only.
    Scalar,
}

/// Top-level objects whose scalar members are kept (what field selectors
/// read); others (a ConfigMap's `data`, say) are skipped.
fn indexed(top: &str) -> bool {
    matches!(top, "metadata" | "spec" | "status" | "involvedObject" | "source" | "regarding" | "deprecatedSource")
}

/// Nested values kept whole under a top-level object.
fn kept_whole(top: &str, key: &str) -> bool {
    matches!((top, key), ("metadata", "labels") | ("status", "podIPs"))
}

impl<'de> DeserializeSeed<'de> for Level<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Level<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(Value::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(Value::Number(v.into())))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(Value::Number(v.into())))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(Number::from_f64(v).map_or(Value::Null, Value::Number)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Value::String(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Value::String(v)))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Some(Value::Null))
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Some(Value::Null))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        if let Level::Scalar = self {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(None);
        }
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let kept = match self {
                Level::Root if indexed(&key) => map.next_value_seed(Level::Top(&key))?,
                Level::Root => map.next_value_seed(Level::Scalar)?,
                Level::Top(top) if top == "metadata" && key == "managedFields" => {
                    map.next_value::<IgnoredAny>()?;
                    None
                }
                Level::Top(top) if kept_whole(top, &key) => Some(map.next_value::<Value>()?),
                Level::Top(_) | Level::Scalar => map.next_value_seed(Level::Scalar)?,
            };
            if let Some(v) = kept {
                out.insert(key, v);
            }
        }
        Ok(Some(Value::Object(out)))
    }
}

/// The stored object's bytes with `metadata.resourceVersion` set to `rv`,
/// placed where serde_json's sorted maps put it, so the result equals
/// re-serializing the parsed object. `None` when the bytes are not an object
/// with a `metadata` object whose keys are sorted and need no unescaping.
pub fn with_resource_version(json: &[u8], rv: i64) -> Option<Vec<u8>> {
    let mut s = Scanner { b: json, i: 0 };
    s.ws();
    s.expect(b'{')?;
    loop {
        s.ws();
        let key = s.key()?;
        s.ws();
        s.expect(b':')?;
        s.ws();
        if key == b"metadata" {
            return splice_metadata(s, rv);
        }
        s.skip_value()?;
        s.ws();
        s.expect(b',')?;
    }
}

const RV_KEY: &[u8] = b"resourceVersion";

/// Where `resourceVersion` goes in the metadata object.
enum Edit {
    /// Into an empty object, at this offset.
    Empty(usize),
    /// Before the first key that sorts after it.
    Before(usize),
    /// Over the existing value's bytes.
    Replace(usize, usize),
    /// After the last member (before the closing brace at this offset).
    After(usize),
}

fn splice_metadata(mut s: Scanner<'_>, rv: i64) -> Option<Vec<u8>> {
    s.expect(b'{')?;
    s.ws();
    let mut edit = None;
    if s.peek()? == b'}' {
        edit = Some(Edit::Empty(s.i));
    } else {
        let mut last: Option<&[u8]> = None;
        loop {
            let key_start = s.i;
            let key = s.key()?;
            // Only sorted keys (serde_json's own output) say where the key belongs.
            if last.is_some_and(|l| l >= key) {
                return None;
            }
            last = Some(key);
            if key > RV_KEY && edit.is_none() {
                edit = Some(Edit::Before(key_start));
            }
            s.ws();
            s.expect(b':')?;
            s.ws();
            let value_start = s.i;
            s.skip_value()?;
            if key == RV_KEY {
                edit = Some(Edit::Replace(value_start, s.i));
            }
            s.ws();
            match s.next()? {
                b',' => s.ws(),
                b'}' => break,
                _ => return None,
            }
        }
        if edit.is_none() {
            edit = Some(Edit::After(s.i - 1));
        }
    }
    let value = format!("\"{rv}\"");
    let (from, to, text) = match edit? {
        Edit::Empty(at) => (at, at, format!("\"resourceVersion\":{value}")),
        Edit::Before(at) => (at, at, format!("\"resourceVersion\":{value},")),
        Edit::Replace(from, to) => (from, to, value),
        Edit::After(at) => (at, at, format!(",\"resourceVersion\":{value}")),
    };
    let json = s.b;
    let mut out = Vec::with_capacity(json.len() + text.len());
    out.extend_from_slice(&json[..from]);
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&json[to..]);
    Some(out)
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// A key's raw bytes; `None` if it has escapes (its bytes are not its text).
    fn key(&mut self) -> Option<&'a [u8]> {
        self.expect(b'"')?;
        let start = self.i;
        loop {
            match self.next()? {
                b'"' => return Some(&self.b[start..self.i - 1]),
                b'\\' => return None,
                _ => {}
            }
        }
    }

    fn skip_string(&mut self) -> Option<()> {
        self.expect(b'"')?;
        loop {
            match self.next()? {
                b'"' => return Some(()),
                b'\\' => {
                    self.next()?;
                }
                _ => {}
            }
        }
    }

    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => self.skip_string()?,
                        b'{' | b'[' => {
                            depth += 1;
                            self.i += 1;
                        }
                        b'}' | b']' => {
                            depth -= 1;
                            self.i += 1;
                            if depth == 0 {
                                return Some(());
                            }
                        }
                        _ => self.i += 1,
                    }
                }
            }
            _ => {
                let start = self.i;
                while !matches!(self.peek(), None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')) {
                    self.i += 1;
                }
                (self.i > start).then_some(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn stamped(v: &Value, rv: i64) -> Vec<u8> {
        let mut v = v.clone();
        if let Some(m) = v.get_mut("metadata").and_then(Value::as_object_mut) {
            m.insert("resourceVersion".into(), rv.to_string().into());
        }
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn splicing_equals_reserializing() {
        let cases = [
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "namespace": "d", "uid": "u",
                "labels": {"x": "}\"]"}, "annotations": {"n": "{[\\\""}}, "spec": {"containers": [{"name": "c"}]}}),
            json!({"metadata": {}}),
            json!({"metadata": {"annotations": {"a": 1}}}),
            json!({"metadata": {"uid": "u", "zz": [1, 2.5, null, true]}, "z": false}),
            json!({"a": [{"b": "]"}], "metadata": {"name": "n", "resourceVersion": "7"}, "s": -1.5e3}),
            json!({"metadata": {"managedFields": [{"fieldsV1": {"f:a": {}}}], "name": "é"}}),
        ];
        for v in cases {
            let bytes = serde_json::to_vec(&v).unwrap();
            let got = with_resource_version(&bytes, 42).expect("spliced");
            assert_eq!(String::from_utf8(got).unwrap(), String::from_utf8(stamped(&v, 42)).unwrap());
        }
    }

    #[test]
    fn unexpected_shapes_are_refused() {
        for bad in [
            &b"[1]"[..],
            b"{\"a\":1}",
            b"{\"metadata\":[]}",
            b"{\"metadata\":{\"a\\u0062\":1}}",
            b"{\"a\":1",
            b"",
            b"{\"metadata\":{\"uid\":\"u\",\"name\":\"n\"}}",
            b"{\"metadata\":{\"a\":1,\"a\":2}}",
        ] {
            assert!(with_resource_version(bad, 1).is_none(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn skeleton_keeps_what_the_cache_indexes() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod", "type": "t",
            "metadata": {"name": "a", "namespace": "d", "labels": {"app": "x"}, "generation": 2,
                "managedFields": [{"manager": "m"}], "ownerReferences": [{"name": "o"}]},
            "spec": {"nodeName": "n1", "hostNetwork": true, "containers": [{"name": "c"}], "securityContext": {}},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}], "conditions": [{"type": "Ready"}]},
            "involvedObject": {"kind": "Pod", "name": "a"},
            "data": {"big": "x"},
        });
        let s = skeleton(&serde_json::to_vec(&pod).unwrap()).unwrap();
        assert_eq!(
            s,
            json!({
                "apiVersion": "v1", "kind": "Pod", "type": "t",
                "metadata": {"name": "a", "namespace": "d", "labels": {"app": "x"}, "generation": 2},
                "spec": {"nodeName": "n1", "hostNetwork": true},
                "status": {"phase": "Running", "podIPs": [{"ip": "10.0.0.1"}]},
                "involvedObject": {"kind": "Pod", "name": "a"},
            })
        );
        assert!(skeleton(b"{\"a\":1} x").is_err());
    }
}
