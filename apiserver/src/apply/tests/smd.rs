//! Cases ported from structured-merge-diff's `merge/*_test.go` (leaf, set,
//! key, multiple appliers, nested, atomic, deduced), run through the kube
//! wrapper (`apply`/`update`) on inline schemas.

use serde_json::{json, Map, Value};

use super::Op::{Apply, Conflict, Force, Update};
use super::{check, run, Op};

fn leaf() -> Value {
    json!({"type": "object", "properties": {
        "numeric": {"type": "integer"}, "string": {"type": "string"}, "bool": {"type": "boolean"}
    }})
}

fn sets() -> Value {
    json!({"type": "object", "properties": {
        "list": {"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"}
    }})
}

fn keyed() -> Value {
    json!({"type": "object", "properties": {
        "list": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "properties": {
                "name": {"type": "string"}, "value": {"type": "integer"},
                "tags": {"type": "array", "items": {"type": "string"}}
            }}},
        "atomicList": {"type": "array", "items": {"type": "string"}},
        "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["port", "protocol"],
            "items": {"type": "object", "properties": {
                "port": {"type": "integer"}, "protocol": {"type": "string", "default": "TCP"}, "name": {"type": "string"}
            }}},
        "atomicMap": {"type": "object", "x-kubernetes-map-type": "atomic", "properties": {
            "a": {"type": "string"}, "b": {"type": "string"}
        }},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}}
    }})
}

fn scenario(schema: Option<Value>, ops: Vec<Op>, object: Value, managed: &[(&str, &str, Value)]) {
    let defs = Map::new();
    let out = run(&defs, schema.as_ref(), &ops);
    check(&out, object, managed);
}

#[test]
fn leaf_apply_twice() {
    scenario(
        Some(leaf()),
        vec![
            Apply("default", json!({"numeric": 1, "string": "string"})),
            Apply("default", json!({"numeric": 2, "string": "string", "bool": false})),
        ],
        json!({"numeric": 2, "string": "string", "bool": false}),
        &[("default", "Apply", json!({"f:bool": {}, "f:numeric": {}, "f:string": {}}))],
    );
}

#[test]
fn leaf_apply_update_apply_no_conflict() {
    scenario(
        Some(leaf()),
        vec![
            Apply("default", json!({"numeric": 1, "string": "string"})),
            Update("controller", json!({"numeric": 1, "string": "string", "bool": true})),
            Apply("default", json!({"numeric": 2, "string": "string"})),
        ],
        json!({"numeric": 2, "string": "string", "bool": true}),
        &[
            ("default", "Apply", json!({"f:numeric": {}, "f:string": {}})),
            ("controller", "Update", json!({"f:bool": {}})),
        ],
    );
}

#[test]
fn leaf_apply_update_apply_with_conflict_then_force() {
    scenario(
        Some(leaf()),
        vec![
            Apply("default", json!({"numeric": 1, "string": "string"})),
            Update("controller", json!({"numeric": 1, "string": "controller string", "bool": true})),
            Conflict("default", json!({"numeric": 2, "string": "user string"}), &[("controller", ".string")]),
            Force("default", json!({"numeric": 2, "string": "user string"})),
        ],
        json!({"numeric": 2, "string": "user string", "bool": true}),
        &[
            ("default", "Apply", json!({"f:numeric": {}, "f:string": {}})),
            ("controller", "Update", json!({"f:bool": {}})),
        ],
    );
}

#[test]
fn leaf_two_appliers_share_same_value_then_one_leaves() {
    // Same value: no conflict, both own it; dropping it from one config keeps
    // the field because the other still owns it.
    scenario(
        Some(leaf()),
        vec![
            Apply("a", json!({"numeric": 1, "string": "x"})),
            Apply("b", json!({"numeric": 1})),
            Apply("a", json!({"string": "x"})),
        ],
        json!({"numeric": 1, "string": "x"}),
        &[("a", "Apply", json!({"f:string": {}})), ("b", "Apply", json!({"f:numeric": {}}))],
    );
}

#[test]
fn leaf_apply_vs_apply_conflict() {
    scenario(
        Some(leaf()),
        vec![
            Apply("a", json!({"numeric": 1})),
            Conflict("b", json!({"numeric": 2, "bool": true}), &[("a", ".numeric")]),
            Force("b", json!({"numeric": 2})),
        ],
        json!({"numeric": 2}),
        &[("b", "Apply", json!({"f:numeric": {}}))],
    );
}

#[test]
fn leaf_removed_when_applier_stops_applying() {
    scenario(
        Some(leaf()),
        vec![Apply("a", json!({"numeric": 1, "string": "x"})), Apply("a", json!({"numeric": 1}))],
        json!({"numeric": 1}),
        &[("a", "Apply", json!({"f:numeric": {}}))],
    );
}

#[test]
fn leaf_update_removal_drops_ownership() {
    scenario(
        Some(leaf()),
        vec![Apply("a", json!({"numeric": 1, "string": "x"})), Update("controller", json!({"numeric": 1}))],
        json!({"numeric": 1}),
        &[("a", "Apply", json!({"f:numeric": {}}))],
    );
}

#[test]
fn set_apply_twice() {
    scenario(
        Some(sets()),
        vec![Apply("default", json!({"list": ["a", "c"]})), Apply("default", json!({"list": ["a", "b", "c", "d"]}))],
        json!({"list": ["a", "b", "c", "d"]}),
        &[("default", "Apply", json!({"f:list": {"v:\"a\"": {}, "v:\"b\"": {}, "v:\"c\"": {}, "v:\"d\"": {}}}))],
    );
}

#[test]
fn set_apply_update_apply_no_overlap() {
    scenario(
        Some(sets()),
        vec![
            Apply("default", json!({"list": ["a", "c"]})),
            Update("controller", json!({"list": ["a", "b", "c", "d"]})),
            Apply("default", json!({"list": ["a", "aprime", "c", "cprime"]})),
        ],
        json!({"list": ["a", "b", "aprime", "c", "d", "cprime"]}),
        &[
            (
                "default",
                "Apply",
                json!({"f:list": {"v:\"a\"": {}, "v:\"aprime\"": {}, "v:\"c\"": {}, "v:\"cprime\"": {}}}),
            ),
            ("controller", "Update", json!({"f:list": {"v:\"b\"": {}, "v:\"d\"": {}}})),
        ],
    );
}

#[test]
fn set_remove_one_keeps_others() {
    scenario(
        Some(sets()),
        vec![
            Apply("a", json!({"list": ["x", "y"]})),
            Apply("b", json!({"list": ["z"]})),
            Apply("a", json!({"list": ["x"]})),
        ],
        json!({"list": ["x", "z"]}),
        &[("a", "Apply", json!({"f:list": {"v:\"x\"": {}}})), ("b", "Apply", json!({"f:list": {"v:\"z\"": {}}}))],
    );
}

#[test]
fn set_reorder_by_applier() {
    scenario(
        Some(sets()),
        vec![Apply("a", json!({"list": ["a", "b", "c"]})), Apply("a", json!({"list": ["c", "b", "a"]}))],
        json!({"list": ["c", "b", "a"]}),
        &[("a", "Apply", json!({"f:list": {"v:\"a\"": {}, "v:\"b\"": {}, "v:\"c\"": {}}}))],
    );
}

#[test]
fn keyed_list_two_appliers_and_removal() {
    scenario(
        Some(keyed()),
        vec![
            Apply("a", json!({"list": [{"name": "x", "value": 1}, {"name": "y", "value": 2}]})),
            Apply("b", json!({"list": [{"name": "z", "value": 3}]})),
            Apply("a", json!({"list": [{"name": "x", "value": 5}]})),
        ],
        json!({"list": [{"name": "x", "value": 5}, {"name": "z", "value": 3}]}),
        &[
            ("a", "Apply", json!({"f:list": {"k:{\"name\":\"x\"}": {".": {}, "f:name": {}, "f:value": {}}}})),
            ("b", "Apply", json!({"f:list": {"k:{\"name\":\"z\"}": {".": {}, "f:name": {}, "f:value": {}}}})),
        ],
    );
}

#[test]
fn keyed_list_conflict_path_and_shared_element() {
    scenario(
        Some(keyed()),
        vec![
            Apply("a", json!({"list": [{"name": "x", "value": 1}]})),
            Conflict("b", json!({"list": [{"name": "x", "value": 2}]}), &[("a", ".list[name=\"x\"].value")]),
            Apply("b", json!({"list": [{"name": "x", "tags": ["t"]}]})),
            // a stops applying x: x.value goes, but x stays (b owns x and x.tags).
            Apply("a", json!({"list": []})),
        ],
        json!({"list": [{"name": "x", "tags": ["t"]}]}),
        &[("b", "Apply", json!({"f:list": {"k:{\"name\":\"x\"}": {".": {}, "f:name": {}, "f:tags": {}}}}))],
    );
}

#[test]
fn multi_key_list_with_default_key() {
    scenario(
        Some(keyed()),
        vec![
            Apply("a", json!({"ports": [{"port": 80}, {"port": 80, "protocol": "UDP", "name": "u"}]})),
            Apply("b", json!({"ports": [{"port": 80, "protocol": "TCP", "name": "t"}]})),
        ],
        json!({"ports": [{"port": 80, "protocol": "TCP", "name": "t"}, {"port": 80, "protocol": "UDP", "name": "u"}]}),
        &[
            (
                "a",
                "Apply",
                json!({"f:ports": {
                    "k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}},
                    "k:{\"port\":80,\"protocol\":\"UDP\"}": {".": {}, "f:name": {}, "f:port": {}, "f:protocol": {}}
                }}),
            ),
            (
                "b",
                "Apply",
                json!({"f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:name": {}, "f:port": {}, "f:protocol": {}}}}),
            ),
        ],
    );
}

#[test]
fn atomic_list_and_map_are_replaced_whole() {
    scenario(
        Some(keyed()),
        vec![
            Apply("a", json!({"atomicList": ["1", "2"], "atomicMap": {"a": "x", "b": "y"}})),
            Conflict(
                "b",
                json!({"atomicList": ["3"], "atomicMap": {"a": "x"}}),
                &[("a", ".atomicList"), ("a", ".atomicMap")],
            ),
            Force("b", json!({"atomicList": ["3"], "atomicMap": {"a": "x"}})),
        ],
        json!({"atomicList": ["3"], "atomicMap": {"a": "x"}}),
        &[("b", "Apply", json!({"f:atomicList": {}, "f:atomicMap": {}}))],
    );
}

#[test]
fn granular_map_keys_are_owned_separately() {
    scenario(
        Some(keyed()),
        vec![
            Apply("a", json!({"labels": {"x": "1"}})),
            Apply("b", json!({"labels": {"y": "2"}})),
            Update("c", json!({"labels": {"x": "1", "y": "3"}})),
            Conflict("b", json!({"labels": {"y": "2"}}), &[("c", ".labels.y")]),
        ],
        json!({"labels": {"x": "1", "y": "3"}}),
        &[("a", "Apply", json!({"f:labels": {"f:x": {}}})), ("c", "Update", json!({"f:labels": {"f:y": {}}}))],
    );
}

#[test]
fn deduced_nested_maps_and_atomic_lists() {
    scenario(
        None,
        vec![
            Apply("a", json!({"a": {"b": {"c": 1}}, "l": [1, 2]})),
            Apply("b", json!({"a": {"b": {"d": 2}}})),
            Apply("a", json!({"l": [1]})),
        ],
        json!({"a": {"b": {"d": 2}}, "l": [1]}),
        &[("a", "Apply", json!({"f:l": {}})), ("b", "Apply", json!({"f:a": {".": {}, "f:b": {".": {}, "f:d": {}}}}))],
    );
}

#[test]
fn update_then_apply_takes_over_with_force_only() {
    scenario(
        Some(keyed()),
        vec![
            Update("controller", json!({"list": [{"name": "x", "value": 1}]})),
            Conflict("a", json!({"list": [{"name": "x", "value": 2}]}), &[("controller", ".list[name=\"x\"].value")]),
            Apply("a", json!({"list": [{"name": "x", "value": 1}]})),
        ],
        json!({"list": [{"name": "x", "value": 1}]}),
        &[
            ("a", "Apply", json!({"f:list": {"k:{\"name\":\"x\"}": {".": {}, "f:name": {}, "f:value": {}}}})),
            (
                "controller",
                "Update",
                json!({"f:list": {".": {}, "k:{\"name\":\"x\"}": {".": {}, "f:name": {}, "f:value": {}}}}),
            ),
        ],
    );
}
