//! JSON patch (RFC 6902, `application/json-patch+json`) on top of the
//! `json-patch` crate, with kube-apiserver's error split: a body that is not an
//! array of objects is a 400; an operation that cannot be decoded or applied is
//! a 422 (Go decodes operations lazily, at apply time); more than
//! [`MAX_JSON_PATCH_OPERATIONS`] operations is a 413.

use json_patch::PatchOperation;
use serde_json::{Map, Value};

use super::{PatchError, MAX_JSON_PATCH_OPERATIONS};

pub(super) fn apply_json_patch(original: &Value, body: &[u8]) -> Result<Value, PatchError> {
    let raw: Vec<Map<String, Value>> = serde_json::from_slice(body).map_err(|e| {
        if serde_json::from_slice::<Value>(body).is_err() {
            PatchError::Decode("invalid JSON patch".into())
        } else {
            PatchError::Decode(format!("error decoding patch: {e}"))
        }
    })?;
    if raw.len() > MAX_JSON_PATCH_OPERATIONS {
        return Err(PatchError::TooManyOperations { max: MAX_JSON_PATCH_OPERATIONS, got: raw.len() });
    }
    let ops = raw
        .into_iter()
        .enumerate()
        .map(|(i, op)| {
            let kind = op.get("op").and_then(Value::as_str).unwrap_or_default().to_string();
            serde_json::from_value::<PatchOperation>(Value::Object(op))
                .map_err(|e| PatchError::Apply(format!("operation {i} ({kind:?}) is invalid: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut doc = original.clone();
    json_patch::patch(&mut doc, &ops).map_err(|e| PatchError::Apply(e.to_string()))?;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apply(original: Value, patch: Value) -> Result<Value, PatchError> {
        apply_json_patch(&original, patch.to_string().as_bytes())
    }

    #[test]
    fn add_remove_replace_move_copy() {
        let original = json!({"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"ports": [80, 443]}});
        let patched = apply(
            original,
            json!([
                {"op": "add", "path": "/metadata/labels/y", "value": "2"},
                {"op": "remove", "path": "/metadata/labels/x"},
                {"op": "replace", "path": "/metadata/name", "value": "b"},
                {"op": "add", "path": "/spec/ports/-", "value": 8080},
                {"op": "add", "path": "/spec/ports/0", "value": 22},
                {"op": "copy", "from": "/metadata/name", "path": "/metadata/generateName"},
                {"op": "move", "from": "/spec/ports", "path": "/spec/p"},
                {"op": "test", "path": "/spec/p/1", "value": 80}
            ]),
        )
        .unwrap();
        assert_eq!(
            patched,
            json!({"metadata": {"name": "b", "generateName": "b", "labels": {"y": "2"}}, "spec": {"p": [22, 80, 443, 8080]}})
        );
    }

    #[test]
    fn failures_to_apply_are_422() {
        let original = json!({"metadata": {"name": "a"}});
        let cases = [
            json!([{"op": "test", "path": "/metadata/name", "value": "b"}]),
            json!([{"op": "remove", "path": "/metadata/labels"}]),
            json!([{"op": "replace", "path": "/spec/x", "value": 1}]),
            json!([{"op": "add", "path": "/spec/x", "value": 1}]),
            json!([{"op": "frobnicate", "path": "/metadata/name"}]),
            json!([{"op": "add", "path": "metadata"}]),
        ];
        for patch in cases {
            let err = apply(original.clone(), patch.clone()).unwrap_err();
            assert!(matches!(err, PatchError::Apply(_)), "{patch}: {err:?}");
            assert_eq!(err.code(), 422);
        }
        // A failing later operation fails the whole patch.
        let err = apply(
            original.clone(),
            json!([{"op": "add", "path": "/metadata/x", "value": 1}, {"op": "test", "path": "/metadata/x", "value": 2}]),
        );
        assert!(err.is_err());
    }

    #[test]
    fn undecodable_bodies_are_400() {
        for body in [&b"not json"[..], b"{\"op\": \"add\"}", b"[1, 2]", b""] {
            let err = apply_json_patch(&json!({}), body).unwrap_err();
            assert!(matches!(err, PatchError::Decode(_)), "{body:?}: {err:?}");
            assert_eq!(err.code(), 400);
        }
    }

    #[test]
    fn too_many_operations_is_413() {
        let ops: Vec<Value> =
            (0..=MAX_JSON_PATCH_OPERATIONS).map(|_| json!({"op": "test", "path": "", "value": {}})).collect();
        let err = apply(json!({}), Value::Array(ops)).unwrap_err();
        assert_eq!(err, PatchError::TooManyOperations { max: 10_000, got: 10_001 });
    }
}
