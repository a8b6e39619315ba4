//! Strategic merge patch cases on a schema shaped like the `MergeItem` test type
//! of Go's strategicpatch package; the expected results are the ones Go's
//! tests assert for the same situations.

use serde_json::{json, Map, Value};

use super::strategic_tests::object;
use super::{apply_patch, PatchError, PatchType, SchemaCursor};

fn defs() -> Map<String, Value> {
    let item = json!({"$ref": "#/definitions/mergeItem"});
    let ints = json!({"type": "integer"});
    object(json!({
        "mergeItem": {"properties": {
            "name": {"type": "string"}, "value": {"type": "string"}, "other": {"type": "string"},
            "mergingList": {"type": "array", "items": item, "x-kubernetes-patch-strategy": "merge",
                            "x-kubernetes-patch-merge-key": "name"},
            "nonMergingList": {"type": "array", "items": item},
            "mergingIntList": {"type": "array", "items": ints, "x-kubernetes-patch-strategy": "merge"},
            "nonMergingIntList": {"type": "array", "items": ints},
            "simpleMap": {"type": "object", "additionalProperties": {"type": "string"}},
            "replacingItem": {"type": "object", "x-kubernetes-patch-strategy": "replace"},
            "retainKeysMap": {"allOf": [{"$ref": "#/definitions/retainKeysMergeItem"}],
                              "x-kubernetes-patch-strategy": "retainKeys"},
            "retainKeysMergingList": {"type": "array", "items": item,
                                      "x-kubernetes-patch-strategy": "merge,retainKeys",
                                      "x-kubernetes-patch-merge-key": "name"},
        }},
        "retainKeysMergeItem": {"properties": {
            "name": {"type": "string"}, "value": {"type": "string"}, "other": {"type": "string"},
            "simpleMap": {"type": "object", "additionalProperties": {"type": "string"}},
            "mergingIntList": {"type": "array", "items": ints, "x-kubernetes-patch-strategy": "merge"},
            "mergingList": {"type": "array", "items": item, "x-kubernetes-patch-strategy": "merge",
                            "x-kubernetes-patch-merge-key": "name"},
        }},
    }))
}

fn smp(original: &Value, patch: &Value) -> Result<Value, PatchError> {
    let defs = defs();
    let schema = SchemaCursor::new(&defs, "mergeItem");
    apply_patch(PatchType::StrategicMerge, original, patch.to_string().as_bytes(), schema)
}

#[test]
fn go_cases() {
    let cases: Vec<(&str, Value, Value, Value)> = vec![
        (
            "delete all duplicate entries in a merging list",
            json!({"mergingList": [{"name": "1"}, {"name": "1"}, {"name": "2", "value": "a"}, {"name": "3"}, {"name": "3"}]}),
            json!({"mergingList": [{"name": "1", "$patch": "delete"}, {"name": "3", "$patch": "delete"}]}),
            json!({"mergingList": [{"name": "2", "value": "a"}]}),
        ),
        (
            "preserve the order from the patch in a merging int list",
            json!({"mergingIntList": [1, 2, 3]}),
            json!({"mergingIntList": [3, 1]}),
            json!({"mergingIntList": [2, 3, 1]}),
        ),
        (
            "$deleteFromPrimitiveList works without merge strategy",
            json!({"nonMergingIntList": [1, 2, 3]}),
            json!({"$deleteFromPrimitiveList/nonMergingIntList": [2]}),
            json!({"nonMergingIntList": [1, 3]}),
        ),
        (
            "$deleteFromPrimitiveList keeps a null list",
            json!({"mergingIntList": null}),
            json!({"$deleteFromPrimitiveList/mergingIntList": [3]}),
            json!({"mergingIntList": null}),
        ),
        (
            "non-merging list of maps is replaced",
            json!({"nonMergingList": [{"name": "1", "value": "a"}, {"name": "2"}]}),
            json!({"nonMergingList": [{"name": "1", "other": "b"}]}),
            json!({"nonMergingList": [{"name": "1", "other": "b"}]}),
        ),
        (
            "replace strategy map is replaced",
            json!({"replacingItem": {"a": 1, "b": {"c": 2}}}),
            json!({"replacingItem": {"b": {"d": 3}}}),
            json!({"replacingItem": {"b": {"d": 3}}}),
        ),
        (
            "retainKeys map clears a defaulted field",
            json!({"retainKeysMap": {"name": "type1", "value": "foo"}}),
            json!({"retainKeysMap": {"$retainKeys": ["name", "other"], "name": "type2", "other": "bar"}}),
            json!({"retainKeysMap": {"name": "type2", "other": "bar"}}),
        ),
        (
            "retainKeys map merges nested merging int list",
            json!({"retainKeysMap": {"name": "foo", "mergingIntList": [1, 2]}}),
            json!({"retainKeysMap": {"$retainKeys": ["name", "mergingIntList"], "mergingIntList": [3],
                                     "$setElementOrder/mergingIntList": [1, 2, 3]}}),
            json!({"retainKeysMap": {"name": "foo", "mergingIntList": [1, 2, 3]}}),
        ),
        (
            "retainKeys list of maps clears a field",
            json!({"retainKeysMergingList": [{"name": "bar"}, {"name": "foo", "value": "a", "other": "x"}]}),
            json!({"$setElementOrder/retainKeysMergingList": [{"name": "bar"}, {"name": "foo"}],
                   "retainKeysMergingList": [{"$retainKeys": ["name", "value"], "name": "foo"}]}),
            json!({"retainKeysMergingList": [{"name": "bar"}, {"name": "foo", "value": "a"}]}),
        ),
        (
            "delete and reorder in one list",
            json!({"mergingList": [{"name": "a", "value": "a"}, {"name": "b", "value": "b"}]}),
            json!({"$setElementOrder/mergingList": [{"name": "b"}], "mergingList": [{"$patch": "delete", "name": "a"}]}),
            json!({"mergingList": [{"name": "b", "value": "b"}]}),
        ),
        (
            "merge lists of maps with order",
            json!({"mergingList": [{"name": "1", "other": "a"}, {"name": "2", "value": "2", "other": "b"}]}),
            json!({"$setElementOrder/mergingList": [{"name": "4"}, {"name": "1"}, {"name": "2"}, {"name": "3"}],
                   "mergingList": [{"name": "4", "value": "4"}, {"name": "3", "value": "3"}]}),
            json!({"mergingList": [{"name": "4", "value": "4"}, {"name": "1", "other": "a"},
                                   {"name": "2", "value": "2", "other": "b"}, {"name": "3", "value": "3"}]}),
        ),
        (
            "server-only elements between reordered ones",
            json!({"mergingList": [{"name": "1", "other": "a"}, {"name": "2"}, {"name": "7"}, {"name": "9"},
                                   {"name": "8"}, {"name": "3"}, {"name": "4"}]}),
            json!({"$setElementOrder/mergingList": [{"name": "2"}, {"name": "1"}, {"name": "4"}, {"name": "3"}]}),
            json!({"mergingList": [{"name": "2"}, {"name": "1", "other": "a"}, {"name": "7"}, {"name": "9"},
                                   {"name": "8"}, {"name": "4"}, {"name": "3"}]}),
        ),
        (
            "delete map from nested map",
            json!({"simpleMap": {"key1": "1", "key2": "1"}}),
            json!({"simpleMap": {"$patch": "delete"}}),
            json!({"simpleMap": {}}),
        ),
        (
            "add key and delete all keys from map",
            json!({"name": "1", "value": "1"}),
            json!({"other": "a", "$patch": "replace"}),
            json!({"other": "a"}),
        ),
    ];
    for (name, original, patch, want) in cases {
        assert_eq!(smp(&original, &patch).unwrap(), want, "{name}");
    }
}

#[test]
fn go_error_cases() {
    let err = smp(&json!({"mergingIntList": [[1]]}), &json!({"mergingIntList": [[2]]})).unwrap_err();
    assert_eq!(err, PatchError::Apply("lists of lists are not supported".into()));
    assert_eq!(err.code(), 422);
    // A merge list of maps with no merge key declared cannot merge.
    let err = smp(&json!({"mergingIntList": [{"a": 1}]}), &json!({"mergingIntList": [{"a": 2}]})).unwrap_err();
    assert!(err.to_string().starts_with("cannot merge lists without merge key"), "{err}");
    let err = smp(&json!({"mergingIntList": [1]}), &json!({"mergingIntList": ["x"]})).unwrap_err();
    assert!(err.to_string().starts_with("list element types are not identical"), "{err}");
    let err = smp(&json!({"mergingList": [{"name": "1", "value": "a"}]}), &json!({"mergingList": [{"value": "b"}]}));
    assert_eq!(err.unwrap_err().to_string(), "map: map[value:b] does not contain declared merge key: name");
}
