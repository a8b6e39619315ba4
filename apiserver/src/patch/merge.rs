//! JSON merge patch (RFC 7396, `application/merge-patch+json`) with the exact
//! behaviour of the evanphx/json-patch library kube-apiserver uses: `null`
//! deletes a key, objects merge recursively, anything else replaces; `null`s are
//! pruned from values that land where there was no object before, but kept in
//! a non-object value that replaces an object.

use serde_json::{Map, Value};

use super::PatchError;

pub(super) fn apply_merge_patch(original: &Value, body: &[u8]) -> Result<Value, PatchError> {
    let patch: Value = serde_json::from_slice(body).map_err(|_| PatchError::Decode("invalid JSON patch".into()))?;
    match patch {
        Value::Object(patch) => {
            let mut doc = original.clone();
            match &mut doc {
                Value::Object(doc) => merge_docs(doc, patch),
                // Go: the document is not an object, so the (pruned) patch becomes it.
                _ => doc = prune_nulls(Value::Object(patch)),
            }
            Ok(doc)
        }
        // Go turns an array patch into the whole document, which can never decode
        // back into the object kind: kube answers 422.
        Value::Array(_) => Err(PatchError::Apply(
            "a merge patch that is a JSON array replaces the whole object with a non-object".into(),
        )),
        _ => Err(PatchError::Decode("Invalid JSON Patch".into())),
    }
}

fn merge_docs(doc: &mut Map<String, Value>, patch: Map<String, Value>) {
    for (key, value) in patch {
        if value.is_null() {
            doc.remove(&key);
            continue;
        }
        match doc.get_mut(&key) {
            Some(current) if !current.is_null() => {
                let cur = std::mem::take(current);
                *current = merge(cur, value);
            }
            _ => {
                doc.insert(key, prune_nulls(value));
            }
        }
    }
}

fn merge(current: Value, patch: Value) -> Value {
    match (current, patch) {
        (Value::Object(mut cur), Value::Object(patch)) => {
            merge_docs(&mut cur, patch);
            Value::Object(cur)
        }
        // An object replaced by a non-object: taken verbatim (no pruning), as Go does.
        (Value::Object(_), patch) => patch,
        (_, patch) => prune_nulls(patch),
    }
}

/// Drops `null` members of objects, recursively (also inside arrays; `null`
/// array elements themselves stay).
fn prune_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            Value::Object(map.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k, prune_nulls(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(prune_nulls).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn apply(original: Value, patch: Value) -> Value {
        apply_merge_patch(&original, patch.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn rfc7396_examples() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": "b", "b": "c"}), json!({"a": null}), json!({"b": "c"})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (json!({"a": {"b": "c"}}), json!({"a": {"b": "d", "c": null}}), json!({"a": {"b": "d"}})),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!({}), json!({"a": {"bb": {"ccc": null}}}), json!({"a": {"bb": {}}})),
        ];
        for (original, patch, want) in cases {
            assert_eq!(apply(original.clone(), patch.clone()), want, "{original} + {patch}");
        }
    }

    #[test]
    fn nulls_are_pruned_like_evanphx() {
        // A list replacing a list: nulls inside its objects are pruned.
        let got = apply(json!({"l": [{"a": 1}]}), json!({"l": [{"a": null, "b": 2}, null]}));
        assert_eq!(got, json!({"l": [{"b": 2}, null]}));
        // A list replacing an object is taken verbatim.
        let got = apply(json!({"l": {"x": 1}}), json!({"l": [{"a": null}]}));
        assert_eq!(got, json!({"l": [{"a": null}]}));
        // A key that was null in the document counts as absent.
        let got = apply(json!({"m": null}), json!({"m": {"a": null, "b": 1}}));
        assert_eq!(got, json!({"m": {"b": 1}}));
    }

    #[test]
    fn kube_object_patch() {
        let original = json!({
            "metadata": {"name": "web", "labels": {"app": "web", "tier": "fe"}},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [{"name": "a", "image": "x"}]}}}
        });
        let patch = json!({
            "metadata": {"labels": {"tier": null, "env": "prod"}},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "b", "image": "y"}]}}}
        });
        let want = json!({
            "metadata": {"name": "web", "labels": {"app": "web", "env": "prod"}},
            "spec": {"replicas": 3, "template": {"spec": {"containers": [{"name": "b", "image": "y"}]}}}
        });
        assert_eq!(apply(original, patch), want);
    }

    #[test]
    fn bad_bodies() {
        for body in [&b"{not json"[..], b"null", b"\"str\"", b"12"] {
            let err = apply_merge_patch(&json!({}), body).unwrap_err();
            assert_eq!(err.code(), 400, "{body:?}");
        }
        let err = apply_merge_patch(&json!({}), b"[1]").unwrap_err();
        assert_eq!(err.code(), 422);
    }
}
