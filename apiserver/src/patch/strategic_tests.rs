//! Table-driven strategic merge patch tests on a hand-written Pod/Deployment
//! schema. Expected results follow Go's `strategicpatch` (merge order included).
//! Cases on Go's own `mergeItem` test type live in `strategic_go_tests.rs`.

use serde_json::{json, Map, Value};

use super::{apply_patch, PatchError, PatchType, SchemaCursor};

pub(super) fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn merge_list(items: Value, key: &str) -> Value {
    let mut v = json!({"type": "array", "items": items, "x-kubernetes-patch-strategy": "merge"});
    if !key.is_empty() {
        v["x-kubernetes-patch-merge-key"] = json!(key);
    }
    v
}

fn r(name: &str) -> Value {
    json!({"$ref": format!("#/definitions/{name}")})
}

/// A cut-down Pod and Deployment, shaped like kube's OpenAPI v2 definitions.
fn defs() -> Map<String, Value> {
    let string_list = json!({"type": "array", "items": {"type": "string"}});
    object(json!({
        "Pod": {"properties": {"metadata": r("ObjectMeta"), "spec": {"allOf": [r("PodSpec")], "description": "spec"}}},
        "ObjectMeta": {"properties": {
            "name": {"type": "string"},
            "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
            "finalizers": merge_list(json!({"type": "string"}), ""),
            "ownerReferences": merge_list(r("OwnerReference"), "uid"),
        }},
        "OwnerReference": {"properties": {"uid": {"type": "string"}, "name": {"type": "string"}}},
        "PodSpec": {"properties": {
            "containers": merge_list(r("Container"), "name"),
            "initContainers": merge_list(r("Container"), "name"),
            "volumes": {
                "type": "array", "items": r("Volume"),
                "x-kubernetes-patch-strategy": "merge,retainKeys", "x-kubernetes-patch-merge-key": "name"
            },
            "tolerations": {"type": "array", "items": {"type": "object"}},
            "nodeSelector": {"type": "object", "additionalProperties": {"type": "string"}},
        }},
        "Container": {"properties": {
            "name": {"type": "string"},
            "image": {"type": "string"},
            "args": string_list,
            "ports": merge_list(r("ContainerPort"), "containerPort"),
            "env": merge_list(r("EnvVar"), "name"),
            "volumeMounts": merge_list(json!({"type": "object"}), "mountPath"),
        }},
        "ContainerPort": {"properties": {"containerPort": {"type": "integer"}, "name": {"type": "string"}}},
        "EnvVar": {"properties": {"name": {"type": "string"}, "value": {"type": "string"}}},
        "Volume": {"properties": {
            "name": {"type": "string"}, "configMap": {"type": "object"}, "secret": {"type": "object"},
            "emptyDir": {"type": "object"}
        }},
        "Deployment": {"properties": {"spec": r("DeploymentSpec")}},
        "DeploymentSpec": {"properties": {
            "replicas": {"type": "integer"},
            "strategy": {"allOf": [r("DeploymentStrategy")], "x-kubernetes-patch-strategy": "retainKeys"},
            "template": {"properties": {"spec": r("PodSpec")}},
        }},
        "DeploymentStrategy": {"properties": {"type": {"type": "string"}, "rollingUpdate": {"type": "object"}}},
    }))
}

fn smp(def: &str, original: &Value, patch: &Value) -> Result<Value, PatchError> {
    let defs = defs();
    let schema = SchemaCursor::new(&defs, def);
    assert!(schema.is_some(), "no definition {def}");
    apply_patch(PatchType::StrategicMerge, original, patch.to_string().as_bytes(), schema)
}

fn c(name: &str, image: &str) -> Value {
    json!({"name": name, "image": image})
}

fn pod(containers: Value) -> Value {
    json!({"metadata": {"name": "p"}, "spec": {"containers": containers}})
}

fn containers_patch(items: Value) -> Value {
    json!({"spec": {"containers": items}})
}

#[test]
fn merge_by_key_lists() {
    let ab = pod(json!([c("a", "x"), c("b", "y")]));
    let cases: Vec<(&str, Value, Value, Value)> = vec![
        // Go puts an element new to the list before the server-only elements.
        (
            "add prepends",
            ab.clone(),
            containers_patch(json!([c("c", "z")])),
            pod(json!([c("c", "z"), c("a", "x"), c("b", "y")])),
        ),
        (
            "update keeps position",
            ab.clone(),
            containers_patch(json!([c("b", "y2")])),
            pod(json!([c("a", "x"), c("b", "y2")])),
        ),
        (
            "update then add",
            ab.clone(),
            containers_patch(json!([c("b", "y2"), c("c", "z")])),
            pod(json!([c("a", "x"), c("b", "y2"), c("c", "z")])),
        ),
        (
            "add then update",
            ab.clone(),
            containers_patch(json!([c("c", "z"), {"name": "a", "args": ["1"]}])),
            pod(json!([c("c", "z"), {"name": "a", "image": "x", "args": ["1"]}, c("b", "y")])),
        ),
        (
            "patch order wins over live order",
            pod(json!([c("a", "x"), c("b", "y"), c("c", "z")])),
            containers_patch(json!([{"name": "c"}, {"name": "a"}])),
            pod(json!([c("b", "y"), c("c", "z"), c("a", "x")])),
        ),
        (
            "$patch delete element",
            ab.clone(),
            containers_patch(json!([{"name": "a", "$patch": "delete"}])),
            pod(json!([c("b", "y")])),
        ),
        (
            "$patch delete missing element",
            ab.clone(),
            containers_patch(json!([{"name": "q", "$patch": "delete"}])),
            ab.clone(),
        ),
        (
            "$patch replace list",
            ab.clone(),
            containers_patch(json!([{"$patch": "replace"}, c("z", "q")])),
            pod(json!([c("z", "q")])),
        ),
        ("$patch replace list to empty", ab.clone(), containers_patch(json!([{"$patch": "replace"}])), pod(json!([]))),
        (
            "null field inside merged element",
            ab.clone(),
            containers_patch(json!([{"name": "a", "image": null}])),
            pod(json!([{"name": "a"}, c("b", "y")])),
        ),
        (
            "nested ports merge by containerPort",
            pod(json!([{"name": "a", "ports": [{"containerPort": 80, "name": "http"}]}])),
            containers_patch(json!([{"name": "a", "ports": [{"containerPort": 443, "name": "https"}]}])),
            pod(
                json!([{"name": "a", "ports": [{"containerPort": 443, "name": "https"}, {"containerPort": 80, "name": "http"}]}]),
            ),
        ),
        (
            "nested env update and delete field",
            pod(json!([{"name": "a", "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}])),
            containers_patch(
                json!([{"name": "a", "env": [{"name": "B", "value": "3"}, {"name": "A", "value": null}]}]),
            ),
            pod(json!([{"name": "a", "env": [{"name": "B", "value": "3"}, {"name": "A"}]}])),
        ),
        (
            "list without strategy is replaced",
            pod(json!([{"name": "a", "args": ["1", "2"]}])),
            containers_patch(json!([{"name": "a", "args": ["3"]}])),
            pod(json!([{"name": "a", "args": ["3"]}])),
        ),
        (
            "new list drops $patch elements",
            json!({"spec": {}}),
            json!({"spec": {"initContainers": [{"name": "x", "$patch": "delete"}, c("y", "i")]}}),
            json!({"spec": {"initContainers": [c("y", "i")]}}),
        ),
        (
            "directives copied verbatim are stripped",
            ab.clone(),
            containers_patch(json!([{"name": "c", "$setElementOrder/env": [{"name": "E"}], "env": [{"name": "E"}]}])),
            pod(json!([{"name": "c", "env": [{"name": "E"}]}, c("a", "x"), c("b", "y")])),
        ),
    ];
    for (name, original, patch, want) in cases {
        assert_eq!(smp("Pod", &original, &patch).unwrap(), want, "{name}");
    }
}

#[test]
fn maps_and_nulls() {
    let original = json!({
        "metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "annotations": {"k": "v"}},
        "spec": {"tolerations": [{"key": "x"}], "containers": [c("a", "x")]}
    });
    let cases: Vec<(&str, Value, Value)> = vec![
        (
            "null deletes, nested maps merge",
            json!({"metadata": {"labels": {"a": null, "c": "3"}}}),
            json!({"metadata": {"name": "p", "labels": {"b": "2", "c": "3"}, "annotations": {"k": "v"}},
                   "spec": {"tolerations": [{"key": "x"}], "containers": [c("a", "x")]}}),
        ),
        (
            "$patch replace on a map",
            json!({"metadata": {"labels": {"$patch": "replace", "c": "3"}}}),
            json!({"metadata": {"name": "p", "labels": {"c": "3"}, "annotations": {"k": "v"}},
                   "spec": {"tolerations": [{"key": "x"}], "containers": [c("a", "x")]}}),
        ),
        (
            "$patch delete on a map empties it",
            json!({"metadata": {"annotations": {"$patch": "delete"}}}),
            json!({"metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "annotations": {}},
                   "spec": {"tolerations": [{"key": "x"}], "containers": [c("a", "x")]}}),
        ),
        (
            "null removes a whole field; lists without strategy replaced",
            json!({"metadata": {"annotations": null}, "spec": {"tolerations": [{"key": "y"}]}}),
            json!({"metadata": {"name": "p", "labels": {"a": "1", "b": "2"}},
                   "spec": {"tolerations": [{"key": "y"}], "containers": [c("a", "x")]}}),
        ),
        (
            "new nested map loses its nulls",
            json!({"spec": {"nodeSelector": {"x": "1", "y": null}}}),
            json!({"metadata": {"name": "p", "labels": {"a": "1", "b": "2"}, "annotations": {"k": "v"}},
                   "spec": {"tolerations": [{"key": "x"}], "containers": [c("a", "x")], "nodeSelector": {"x": "1"}}}),
        ),
        (
            // Go's removeDirectives drops a new map that carries `$patch`.
            "new map with $patch is dropped",
            json!({"spec": {"nodeSelector": {"$patch": "replace", "x": "1"}}}),
            original.clone(),
        ),
        (
            "value of another type replaces",
            json!({"metadata": {"labels": "oops"}, "spec": {"containers": {"name": "x"}}}),
            json!({"metadata": {"name": "p", "labels": "oops", "annotations": {"k": "v"}},
                   "spec": {"tolerations": [{"key": "x"}], "containers": {"name": "x"}}}),
        ),
        ("null patch is a no-op", Value::Null, original.clone()),
    ];
    for (name, patch, want) in cases {
        assert_eq!(smp("Pod", &original, &patch).unwrap(), want, "{name}");
    }
}

fn meta(v: Value) -> Value {
    json!({ "metadata": v })
}

#[test]
fn primitive_lists() {
    let cases: Vec<(&str, Value, Value, Value)> = vec![
        ("union keeps live order", json!(["a", "b"]), json!({"finalizers": ["b", "c"]}), json!(["a", "b", "c"])),
        ("new primitive goes first", json!(["a", "b"]), json!({"finalizers": ["c"]}), json!(["c", "a", "b"])),
        (
            "$deleteFromPrimitiveList",
            json!(["a", "b", "c"]),
            json!({"$deleteFromPrimitiveList/finalizers": ["b", "x"]}),
            json!(["a", "c"]),
        ),
        (
            "delete and add together",
            json!(["a", "b", "c"]),
            json!({"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["d"]}),
            json!(["d", "b", "c"]),
        ),
        (
            // Go: the values are those of the $setElementOrder test "merge lists of scalars".
            "$setElementOrder on primitives",
            json!(["1", "2", "4"]),
            json!({"$setElementOrder/finalizers": ["1", "2", "3"], "finalizers": ["3"]}),
            json!(["1", "2", "3", "4"]),
        ),
        (
            "$setElementOrder reorders only",
            json!(["1", "3", "2"]),
            json!({"$setElementOrder/finalizers": ["3", "2", "1"]}),
            json!(["3", "2", "1"]),
        ),
    ];
    for (name, original, patch, want) in cases {
        let got = smp("Pod", &meta(json!({ "finalizers": original })), &meta(patch)).unwrap();
        assert_eq!(got, meta(json!({ "finalizers": want })), "{name}");
    }
    // A delete list for a field the object lacks adds nothing.
    let got = smp("Pod", &meta(json!({"name": "p"})), &meta(json!({"$deleteFromPrimitiveList/finalizers": ["a"]})));
    assert_eq!(got.unwrap(), meta(json!({"name": "p"})));
}

fn names(list: &[(&str, Option<&str>)]) -> Value {
    let items = list
        .iter()
        .map(|(n, v)| match v {
            Some(v) => json!({"name": n, "image": v}),
            None => json!({"name": n}),
        })
        .collect();
    Value::Array(items)
}

#[test]
fn set_element_order() {
    let order = |list: &[&str]| Value::Array(list.iter().map(|n| json!({ "name": n })).collect());
    let cases: Vec<(&str, Value, Value, Value)> = vec![
        (
            "reorder without list changes",
            names(&[("a", None), ("b", Some("2")), ("c", None)]),
            json!({"$setElementOrder/containers": order(&["c", "a", "b"])}),
            names(&[("c", None), ("a", None), ("b", Some("2"))]),
        ),
        (
            "server-only elements stay next to their live neighbours",
            names(&[("1", Some("a")), ("2", Some("2")), ("9", None), ("3", Some("3")), ("4", Some("4"))]),
            json!({"$setElementOrder/containers": order(&["2", "1", "4", "3"])}),
            names(&[("2", Some("2")), ("1", Some("a")), ("9", None), ("4", Some("4")), ("3", Some("3"))]),
        ),
        (
            "add and delete with order",
            names(&[("1", Some("a")), ("2", Some("b")), ("3", Some("3"))]),
            json!({"$setElementOrder/containers": order(&["4", "2", "1"]),
                   "containers": [{"name": "4", "image": "4"}, {"name": "3", "$patch": "delete"}]}),
            names(&[("4", Some("4")), ("2", Some("b")), ("1", Some("a"))]),
        ),
        (
            "order names an element missing from the list",
            names(&[("1", None), ("3", None)]),
            json!({"$setElementOrder/containers": order(&["3", "2", "1"]),
                   "containers": [{"name": "3", "image": "3"}, {"name": "1", "image": "1"}]}),
            names(&[("3", Some("3")), ("1", Some("1"))]),
        ),
    ];
    for (name, original, patch, want) in cases {
        let got = smp("Pod", &json!({ "spec": { "containers": original } }), &json!({ "spec": patch })).unwrap();
        assert_eq!(got, json!({ "spec": { "containers": want } }), "{name}");
    }
    // The list did not exist before.
    let list = json!([{"name": "b"}, {"name": "x", "$patch": "delete"}, {"name": "a"}]);
    let patch = json!({"spec": {"$setElementOrder/initContainers": order(&["b", "a"]), "initContainers": list}});
    assert_eq!(
        smp("Pod", &json!({"spec": {}}), &patch).unwrap(),
        json!({"spec": {"initContainers": order(&["b", "a"])}})
    );
}

#[test]
fn retain_keys() {
    let dep = |strategy: Value| json!({"spec": {"replicas": 1, "strategy": strategy}});
    let rolling = dep(json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}));
    let got = smp("Deployment", &rolling, &dep(json!({"$retainKeys": ["type"], "type": "Recreate"})));
    assert_eq!(got.unwrap(), json!({"spec": {"replicas": 1, "strategy": {"type": "Recreate"}}}));
    // Without the directive a retainKeys field merges like any map.
    let got = smp("Deployment", &rolling, &json!({"spec": {"strategy": {"type": "Recreate"}}}));
    assert_eq!(got.unwrap(), dep(json!({"type": "Recreate", "rollingUpdate": {"maxSurge": 1}})));
    // A patch key missing from $retainKeys is a bad request.
    let bad = dep(json!({"$retainKeys": ["type"], "type": "Recreate", "rollingUpdate": {}}));
    let err = smp("Deployment", &rolling, &bad).unwrap_err();
    assert_eq!(err, PatchError::Decode("invalid patch format of retainKeys".into()));
    assert_eq!(err.code(), 400);

    // Volumes: merge by name, and the element's $retainKeys switches the source.
    let original =
        json!({"spec": {"volumes": [{"name": "v", "configMap": {"name": "cm"}}, {"name": "w", "emptyDir": {}}]}});
    let patch =
        json!({"spec": {"volumes": [{"name": "v", "$retainKeys": ["name", "secret"], "secret": {"secretName": "s"}}]}});
    let want =
        json!({"spec": {"volumes": [{"name": "v", "secret": {"secretName": "s"}}, {"name": "w", "emptyDir": {}}]}});
    assert_eq!(smp("Pod", &original, &patch).unwrap(), want);
}

#[test]
fn errors() {
    let original = pod(json!([c("a", "x"), c("b", "y")]));
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "missing merge key",
            containers_patch(json!([{"image": "x"}])),
            500,
            "does not contain declared merge key: name",
        ),
        (
            "$patch merge on element",
            containers_patch(json!([{"name": "a", "$patch": "merge"}])),
            500,
            "merging lists cannot",
        ),
        (
            "unknown element directive",
            containers_patch(json!([{"name": "a", "$patch": "frob"}])),
            500,
            "unknown patch type: frob",
        ),
        ("$patch merge on map", json!({"metadata": {"$patch": "merge"}}), 500, "unknown patch type: merge in map"),
        (
            "$setElementOrder disagrees with the patch",
            json!({"spec": {"$setElementOrder/containers": [{"name": "a"}, {"name": "b"}], "containers": [{"name": "b"}, {"name": "a"}]}}),
            500,
            "doesn't match $setElementOrder list",
        ),
        (
            "malformed delete list key",
            json!({"metadata": {"$deleteFromPrimitiveListfinalizers": ["a"]}}),
            400,
            "primitive list",
        ),
        ("malformed order key", json!({"spec": {"$setElementOrder": []}}), 400, "setElementOrder list"),
        ("$retainKeys not a list", json!({"spec": {"$retainKeys": "x"}}), 400, "retainKeys"),
    ];
    for (name, patch, code, text) in cases {
        let err = smp("Pod", &original, &patch).unwrap_err();
        assert_eq!(err.code(), code, "{name}: {err}");
        assert!(err.to_string().contains(text), "{name}: {err}");
    }
}

#[test]
fn bodies_and_untyped_data() {
    let original = json!({"a": {"b": 1, "c": [1, 2]}, "l": [{"k": 1}]});
    let patch = br#"{"a": {"c": [3], "d": 2}, "l": [{"k": 2}]}"#;
    let want = json!({"a": {"b": 1, "c": [3], "d": 2}, "l": [{"k": 2}]});
    // No schema (or an unknown field): maps merge, lists are replaced.
    assert_eq!(apply_patch(PatchType::StrategicMerge, &original, patch, None).unwrap(), want);
    let defs = defs();
    let schema = SchemaCursor::new(&defs, "Pod");
    assert_eq!(apply_patch(PatchType::StrategicMerge, &original, patch, schema).unwrap(), want);

    // YAML bodies are accepted too.
    let yaml = b"metadata:\n  labels:\n    a: \"1\"\n";
    let got = apply_patch(PatchType::StrategicMerge, &json!({"metadata": {}}), yaml, schema).unwrap();
    assert_eq!(got, json!({"metadata": {"labels": {"a": "1"}}}));

    for body in [&b"[1]"[..], b"\"x\"", b"{not: [valid"] {
        let err = apply_patch(PatchType::StrategicMerge, &original, body, schema).unwrap_err();
        assert!(matches!(err, PatchError::Decode(_)), "{body:?}: {err:?}");
    }
}
