//! Object metadata helpers shared by the verbs: timestamps, resourceVersion,
//! uid, generation, and the storage form of an object.

use serde_json::{Map, Value};

/// Now as kube writes timestamps (RFC 3339, seconds, UTC).
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// RFC 3339 of now + `secs`.
pub fn rfc3339_in(secs: i64) -> String {
    let ts = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(secs))
        .unwrap_or_else(|_| jiff::Timestamp::now());
    ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn meta(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

/// metadata as a mutable map, created if missing or not an object.
pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let Value::Object(root) = obj else { unreachable_map() };
    let m = root.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !m.is_object() {
        *m = Value::Object(Map::new());
    }
    match m {
        Value::Object(map) => map,
        _ => unreachable_map(),
    }
}

// Both call sites have just made the value an object.
#[allow(clippy::panic)]
fn unreachable_map() -> ! {
    panic!("value was just made an object")
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    meta(obj).and_then(|m| m.get(field)).and_then(Value::as_str).unwrap_or("")
}

pub fn name_of(obj: &Value) -> &str {
    meta_str(obj, "name")
}

pub fn set_resource_version(obj: &mut Value, rev: i64) {
    meta_mut(obj).insert("resourceVersion".into(), Value::String(rev.to_string()));
}

/// The form written to etcd: no resourceVersion, no selfLink (kube clears both).
pub fn storage_bytes(obj: &Value) -> Result<bytes::Bytes, serde_json::Error> {
    serde_json::to_vec(&Stored(obj)).map(bytes::Bytes::from)
}

/// Serializes an object without `metadata.resourceVersion` and `selfLink`
/// (no copy of the object is made).
struct Stored<'a>(&'a Value);

/// The metadata map without the fields storage drops.
struct StoredMeta<'a>(&'a serde_json::Map<String, Value>);

impl serde::Serialize for Stored<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Value::Object(o) = self.0 else { return self.0.serialize(s) };
        let mut m = s.serialize_map(Some(o.len()))?;
        for (k, v) in o {
            match v {
                Value::Object(meta) if k == "metadata" => m.serialize_entry(k, &StoredMeta(meta))?,
                _ => m.serialize_entry(k, v)?,
            }
        }
        m.end()
    }
}

impl serde::Serialize for StoredMeta<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for (k, v) in self.0 {
            if k != "resourceVersion" && k != "selfLink" {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    meta(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

pub fn is_deleting(obj: &Value) -> bool {
    meta(obj).is_some_and(|m| m.get("deletionTimestamp").is_some_and(|v| !v.is_null()))
}

/// Everything but metadata and status: a change here bumps generation.
pub fn spec_changed(new: &Value, old: &Value) -> bool {
    const NOT_SPEC: [&str; 4] = ["metadata", "status", "apiVersion", "kind"];
    match (new.as_object(), old.as_object()) {
        (Some(n), Some(o)) => {
            let spec = |(k, _): &(&String, &Value)| !NOT_SPEC.contains(&k.as_str());
            !n.iter().filter(spec).eq(o.iter().filter(spec))
        }
        _ => new != old,
    }
}

/// A random 5-character suffix for generateName, from kube's alphabet.
pub fn name_suffix() -> String {
    use rand::Rng;
    const ALPHA: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::thread_rng();
    (0..5).map(|_| ALPHA[rng.gen_range(0..ALPHA.len())] as char).collect()
}

/// Drops empty lists and empty maps that are not required, as a round trip
/// through kube's typed objects does (Go's `omitempty`): e.g. the `env: []` a
/// strategic-merge `$patch: delete` leaves behind. Structs (`resources: {}`) stay.
pub fn prune_empty(obj: &mut Value, definition: &str) {
    if let Some(c) = crate::patch::SchemaCursor::new(crate::openapi::definitions(), definition) {
        prune(obj, c, 0);
    }
}

fn prune(v: &mut Value, c: crate::patch::SchemaCursor<'_>, depth: usize) {
    if depth > 64 {
        return;
    }
    match v {
        Value::Object(map) => {
            let Some(node) = c.resolved() else { return };
            let required = node.get("required").and_then(Value::as_array);
            let is_required = |k: &str| required.is_some_and(|r| r.iter().any(|x| x.as_str() == Some(k)));
            let mut empty: Vec<String> = Vec::new();
            for (k, val) in map.iter_mut() {
                let Some((child, _)) = c.field(k) else { continue };
                let is_empty = match val {
                    Value::Array(a) => a.is_empty(),
                    // Only maps (not structs) are dropped when empty.
                    Value::Object(o) => {
                        o.is_empty()
                            && child.resolved().is_some_and(|n| {
                                n.get("additionalProperties").is_some() && n.get("properties").is_none()
                            })
                    }
                    _ => false,
                };
                if is_empty && !is_required(k) {
                    empty.push(k.clone());
                } else {
                    prune(val, child, depth + 1);
                }
            }
            for k in empty {
                map.remove(&k);
            }
        }
        Value::Array(items) => {
            if let Some(item) = c.items() {
                for i in items {
                    prune(i, item, depth + 1);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn storage_form_drops_resource_version() {
        let o = json!({"kind": "Pod", "metadata": {"name": "a", "resourceVersion": "5", "selfLink": "/x", "uid": "u"}, "spec": {}});
        let b = storage_bytes(&o).unwrap();
        let back: Value = serde_json::from_slice(&b).unwrap();
        assert!(back["metadata"].get("resourceVersion").is_none());
        let want = json!({"kind": "Pod", "metadata": {"name": "a", "uid": "u"}, "spec": {}});
        assert_eq!(b, serde_json::to_vec(&want).unwrap(), "same bytes as the object without those fields");
    }

    #[test]
    fn prunes_empty_lists_like_omitempty() {
        let mut d = json!({"metadata": {"labels": {}, "finalizers": []}, "spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "i", "env": [], "resources": {}}]}}}});
        prune_empty(&mut d, "io.k8s.api.apps.v1.Deployment");
        assert!(d["metadata"].get("labels").is_none());
        assert!(d["metadata"].get("finalizers").is_none());
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert!(c.get("env").is_none());
        assert_eq!(c["resources"], json!({}));
    }

    #[test]
    fn generation_ignores_metadata_and_status() {
        let a = json!({"metadata": {"labels": {"a": "b"}}, "spec": {"x": 1}, "status": {"y": 1}});
        let b = json!({"metadata": {}, "spec": {"x": 1}, "status": {"y": 2}});
        assert!(!spec_changed(&a, &b));
        let c = json!({"spec": {"x": 2}});
        assert!(spec_changed(&a, &c));
        let d = json!({"metadata": {}, "spec": {"x": 1}, "data": {}});
        assert!(spec_changed(&d, &b) && spec_changed(&b, &d), "a top-level field only one side has");
        assert_eq!(name_suffix().len(), 5);
    }
}
