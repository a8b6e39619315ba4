//! Table-driven tests of compiling and running rules.

use super::CelRules;
use crate::error::Cause;
use serde_json::{json, Value};

/// A root schema whose `spec` is `spec_schema`.
fn with_spec(spec_schema: Value) -> Value {
    json!({"type": "object", "properties": {"spec": spec_schema}})
}

fn compile(schema: &Value) -> CelRules {
    match CelRules::compile(schema) {
        Ok(rules) => rules,
        Err(errs) => panic!("compile failed: {errs:?}"),
    }
}

/// `(field, message)` of each cause, for compact assertions.
fn summary(causes: &[Cause]) -> Vec<(String, String)> {
    causes.iter().map(|c| (c.field.clone(), c.message.clone())).collect()
}

fn rule(r: &str) -> Value {
    json!([{"rule": r}])
}

#[test]
fn self_rules() {
    let int = json!({"type": "integer"});
    let spec = with_spec(json!({
        "type": "object",
        "properties": {
            "replicas": int, "maxReplicas": int, "name": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "namespace": {"type": "string"}, "x-y": {"type": "string"},
            "ratio": {"type": "number"},
        },
        "x-kubernetes-validations": [
            {"rule": "self.replicas <= self.maxReplicas", "message": "replicas must not exceed maxReplicas"},
            {"rule": "!has(self.name) || self.name.matches('^[a-z]+$')"},
            {"rule": "!has(self.tags) || (size(self.tags) <= 3 && self.tags.all(t, t.startsWith('t-')))"},
            {"rule": "!has(self.__namespace__) || self.__namespace__ != 'kube-system'"},
            {"rule": "!has(self.x__dash__y) || self.x__dash__y.endsWith('z')"},
            {"rule": "!has(self.ratio) || self.ratio < 1.0"},
        ],
    }));
    let rules = compile(&spec);
    let invalid = |detail: &str| vec![("spec".to_owned(), format!("Invalid value: \"object\": {detail}"))];
    let cases: Vec<(Value, Vec<(String, String)>)> = vec![
        (json!({"replicas": 1, "maxReplicas": 2}), vec![]),
        (json!({"replicas": 3, "maxReplicas": 2}), invalid("replicas must not exceed maxReplicas")),
        (json!({"replicas": 1, "maxReplicas": 2, "name": "abc"}), vec![]),
        (
            json!({"replicas": 1, "maxReplicas": 2, "name": "ABC"}),
            invalid("failed rule: !has(self.name) || self.name.matches('^[a-z]+$')"),
        ),
        (json!({"replicas": 1, "maxReplicas": 2, "tags": ["t-a", "t-b"]}), vec![]),
        (
            json!({"replicas": 1, "maxReplicas": 2, "tags": ["t-a", "b"]}),
            invalid("failed rule: !has(self.tags) || (size(self.tags) <= 3 && self.tags.all(t, t.startsWith('t-')))"),
        ),
        (
            json!({"replicas": 1, "maxReplicas": 2, "namespace": "kube-system"}),
            invalid("failed rule: !has(self.__namespace__) || self.__namespace__ != 'kube-system'"),
        ),
        (json!({"replicas": 1, "maxReplicas": 2, "x-y": "az"}), vec![]),
        (
            json!({"replicas": 1, "maxReplicas": 2, "ratio": 1}),
            invalid("failed rule: !has(self.ratio) || self.ratio < 1.0"),
        ),
        (json!({"replicas": 1, "maxReplicas": 2, "ratio": 0.5}), vec![]),
        // A missing field is an evaluation error, as in kube.
        (
            json!({"replicas": 1}),
            invalid("no such key: maxReplicas evaluating rule: replicas must not exceed maxReplicas"),
        ),
    ];
    for (spec, want) in cases {
        let obj = json!({"apiVersion": "x/v1", "kind": "X", "spec": spec});
        assert_eq!(summary(&rules.validate(&obj, None)), want, "spec {spec}");
    }
}

#[test]
fn reasons_field_paths_and_messages() {
    let spec = with_spec(json!({
        "type": "object",
        "properties": {"a": {"type": "integer"}, "labels": {"type": "object", "additionalProperties": {"type": "string"}}},
        "x-kubernetes-validations": [
            {"rule": "self.a > 0", "reason": "FieldValueForbidden", "message": "a must be positive", "fieldPath": ".a"},
            {"rule": "self.a > 1", "reason": "FieldValueRequired", "messageExpression": "'a is ' + string(self.a)"},
            {"rule": "self.a > 2", "reason": "FieldValueDuplicate"},
            {"rule": "self.a > 3", "messageExpression": "'a too small'", "message": "unused", "fieldPath": ".labels['x.y']"},
            {"rule": "self.a > 4", "messageExpression": "1", "message": "fallback"},
        ],
    }));
    let rules = compile(&spec);
    let causes = rules.validate(&json!({"spec": {"a": 0}}), None);
    let got: Vec<(&str, &str, &str)> =
        causes.iter().map(|c| (c.reason.as_str(), c.field.as_str(), c.message.as_str())).collect();
    assert_eq!(
        got,
        vec![
            ("FieldValueForbidden", "spec.a", "Forbidden: a must be positive"),
            ("FieldValueRequired", "spec", "Required value: a is 0"),
            ("FieldValueDuplicate", "spec", "Duplicate value: \"object\""),
            ("FieldValueInvalid", "spec.labels[x.y]", "Invalid value: \"object\": a too small"),
            ("FieldValueInvalid", "spec", "Invalid value: \"object\": fallback"),
        ]
    );
    assert!(rules.validate(&json!({"spec": {"a": 5}}), None).is_empty());
}

#[test]
fn node_types_in_messages_and_root_rules() {
    let schema = json!({
        "type": "object",
        "x-kubernetes-validations": [{"rule": "self.metadata.name.startsWith('ok-')", "fieldPath": ".spec"}],
        "properties": {"spec": {"type": "object", "properties": {
            "s": {"type": "string", "x-kubernetes-validations": rule("self != 'bad'")},
            "n": {"type": "integer", "x-kubernetes-validations": rule("self != 13")},
            "l": {"type": "array", "items": {"type": "integer"}, "x-kubernetes-validations": rule("self.isSorted()")},
            "b": {"type": "boolean", "x-kubernetes-validations": rule("self")},
        }}},
    });
    let rules = compile(&schema);
    let obj = json!({"metadata": {"name": "x", "labels": {"a": "b"}}, "spec": {"s": "bad", "n": 13, "l": [2, 1], "b": false}});
    let mut got = summary(&rules.validate(&obj, None));
    got.sort();
    let want: Vec<(String, String)> = [
        ("spec", "Invalid value: \"object\": failed rule: self.metadata.name.startsWith('ok-')"),
        ("spec.b", "Invalid value: \"boolean\": failed rule: self"),
        ("spec.l", "Invalid value: \"array\": failed rule: self.isSorted()"),
        ("spec.n", "Invalid value: \"integer\": failed rule: self != 13"),
        ("spec.s", "Invalid value: \"string\": failed rule: self != 'bad'"),
    ]
    .iter()
    .map(|(f, m)| (f.to_string(), m.to_string()))
    .collect();
    assert_eq!(got, want);
    let root_only = compile(&json!({"type": "object", "x-kubernetes-validations": rule("self.kind == 'X'")}));
    assert_eq!(
        summary(&root_only.validate(&json!({"kind": "Y"}), None)),
        vec![("<nil>".to_owned(), "Invalid value: \"object\": failed rule: self.kind == 'X'".to_owned())]
    );
}

#[test]
fn transition_rules() {
    let schema = with_spec(json!({
        "type": "object",
        "properties": {
            "immutable": {"type": "string", "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "is immutable"}]},
            "count": {"type": "integer", "x-kubernetes-validations": [
                {"rule": "!oldSelf.hasValue() || self >= oldSelf.value()", "optionalOldSelf": true, "message": "may not decrease"},
            ]},
        },
    }));
    let rules = compile(&schema);
    let obj = |v: &str| json!({"spec": {"immutable": v}});
    assert!(rules.validate(&obj("a"), None).is_empty(), "create ignores transition rules");
    assert!(rules.validate(&obj("a"), Some(&obj("a"))).is_empty(), "unchanged passes");
    assert_eq!(
        summary(&rules.validate(&obj("b"), Some(&obj("a")))),
        vec![("spec.immutable".to_owned(), "Invalid value: \"string\": is immutable".to_owned())]
    );
    assert!(rules.validate(&obj("b"), Some(&json!({"spec": {}}))).is_empty(), "no old value at the node");
    let count = |n: i64| json!({"spec": {"count": n}});
    assert!(rules.validate(&count(1), None).is_empty());
    assert!(rules.validate(&count(2), Some(&count(1))).is_empty());
    assert_eq!(rules.validate(&count(1), Some(&count(2))).len(), 1);
}

#[test]
fn list_map_correlation() {
    let item = json!({
        "type": "object",
        "properties": {"name": {"type": "string"}, "port": {"type": "integer",
            "x-kubernetes-validations": [{"rule": "self == oldSelf", "message": "port is immutable"}]}},
    });
    let list = |list_type: &str| {
        let mut l = json!({"type": "array", "items": item, "x-kubernetes-list-type": list_type});
        if list_type == "map" {
            l["x-kubernetes-list-map-keys"] = json!(["name"]);
        }
        with_spec(json!({"type": "object", "properties": {"ports": l}}))
    };
    let old = json!({"spec": {"ports": [{"name": "a", "port": 1}, {"name": "b", "port": 2}]}});
    let reordered_changed =
        json!({"spec": {"ports": [{"name": "b", "port": 3}, {"name": "a", "port": 1}, {"name": "c", "port": 9}]}});
    let map_rules = compile(&list("map"));
    assert_eq!(
        summary(&map_rules.validate(&reordered_changed, Some(&old))),
        vec![("spec.ports[0].port".to_owned(), "Invalid value: \"integer\": port is immutable".to_owned())]
    );
    let reordered = json!({"spec": {"ports": [{"name": "b", "port": 2}, {"name": "a", "port": 1}]}});
    assert!(map_rules.validate(&reordered, Some(&old)).is_empty());
    // Atomic lists never correlate: transition rules under them don't run.
    assert!(compile(&list("atomic")).validate(&reordered_changed, Some(&old)).is_empty());
}

#[test]
fn nested_items_additional_properties_and_all_of() {
    let schema = with_spec(json!({
        "type": "object",
        "properties": {
            "matrix": {"type": "array", "items": {"type": "array", "items": {"type": "integer",
                "x-kubernetes-validations": rule("self >= 0")}}},
            "limits": {"type": "object", "additionalProperties": {"type": "object",
                "properties": {"min": {"type": "integer"}, "max": {"type": "integer"}},
                "x-kubernetes-validations": [{"rule": "self.min <= self.max", "message": "min > max"}]}},
        },
        "allOf": [{"x-kubernetes-validations": rule("has(self.matrix) || has(self.limits)"),
                   "properties": {"limits": {"x-kubernetes-validations": rule("self.size() < 3")}}}],
    }));
    let rules = compile(&schema);
    let obj = json!({"spec": {"matrix": [[1, -1], [2]], "limits": {"cpu": {"min": 2, "max": 1}, "mem": {"min": 1, "max": 2}, "x": {"min": 0, "max": 0}}}});
    let mut got = summary(&rules.validate(&obj, None));
    got.sort();
    assert_eq!(
        got,
        vec![
            ("spec.limits".to_owned(), "Invalid value: \"object\": failed rule: self.size() < 3".to_owned()),
            ("spec.limits[cpu]".to_owned(), "Invalid value: \"object\": min > max".to_owned()),
            ("spec.matrix[0][1]".to_owned(), "Invalid value: \"integer\": failed rule: self >= 0".to_owned()),
        ]
    );
    assert_eq!(
        summary(&rules.validate(&json!({"spec": {}}), None)),
        vec![(
            "spec".to_owned(),
            "Invalid value: \"object\": failed rule: has(self.matrix) || has(self.limits)".to_owned()
        )]
    );
}

#[test]
fn value_typing() {
    let schema = with_spec(json!({
        "type": "object",
        "properties": {
            "at": {"type": "string", "format": "date-time"},
            "timeout": {"type": "string", "format": "duration"},
            "port": {"x-kubernetes-int-or-string": true},
            "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
            "hidden": {"type": "object", "properties": {"a": {"type": "string"}}},
        },
        "x-kubernetes-validations": [
            {"rule": "!has(self.at) || self.at > timestamp('2020-01-01T00:00:00Z')"},
            {"rule": "!has(self.timeout) || self.timeout <= duration('1h')"},
            {"rule": "!has(self.port) || type(self.port) == int ? self.port > 0 : self.port.endsWith('%')"},
            {"rule": "!has(self.extra) || self.extra.foo == 'bar'"},
            {"rule": "!has(self.hidden) || !has(self.hidden.b)"},
        ],
    }));
    let rules = compile(&schema);
    let ok = json!({"spec": {"at": "2024-05-01T10:00:00Z", "timeout": "30m", "port": "50%", "extra": {"foo": "bar"}, "hidden": {"a": "x", "b": "y"}}});
    assert_eq!(summary(&rules.validate(&ok, None)), vec![]);
    let bad = json!({"spec": {"at": "2019-05-01T10:00:00Z", "timeout": "2h", "port": 0}});
    assert_eq!(rules.validate(&bad, None).len(), 3);
}

#[test]
fn runtime_errors_and_unknown_functions() {
    let schema = with_spec(json!({
        "type": "object",
        "properties": {"a": {"x-kubernetes-int-or-string": true}},
        "x-kubernetes-validations": [
            {"rule": "self.a > 1"},
            {"rule": "self.a.frobnicate()"},
            {"rule": "someUnknownFunction(self.a)"},
            {"rule": "1 / (self.a - self.a) == 0", "message": "division"},
        ],
    }));
    let rules = compile(&schema);
    assert_eq!(
        summary(&rules.validate(&json!({"spec": {"a": "x"}}), None)),
        vec![
            ("spec".to_owned(), "Invalid value: \"object\": 'no such overload': call arguments did not match a supported operator, function or macro signature for rule: self.a > 1".to_owned()),
            ("spec".to_owned(), "Invalid value: \"object\": 'no such overload': call arguments did not match a supported operator, function or macro signature for rule: division".to_owned()),
        ]
    );
    assert_eq!(
        summary(&rules.validate(&json!({"spec": {"a": 2}}), None)),
        vec![("spec".to_owned(), "Invalid value: \"object\": division by zero evaluating rule: division".to_owned())]
    );
}

#[test]
fn compile_errors() {
    let schema = with_spec(json!({
        "type": "object",
        "properties": {"a": {"type": "array", "items": {"type": "string", "x-kubernetes-validations": rule("self <")}}},
        "x-kubernetes-validations": [
            {"rule": "self.a.size() > 0"},
            {"rule": ""},
            {"rule": "true", "messageExpression": "'x' +"},
            {"rule": "true", "fieldPath": ".nope"},
        ],
    }));
    let errs = CelRules::compile(&schema).expect_err("invalid rules");
    let fields: Vec<&str> = errs.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(
        fields,
        vec![
            "properties[spec].x-kubernetes-validations[1].rule",
            "properties[spec].x-kubernetes-validations[2].messageExpression",
            "properties[spec].x-kubernetes-validations[3].fieldPath",
            "properties[spec].properties[a].items.x-kubernetes-validations[0].rule",
        ]
    );
    assert_eq!(errs[0].message, "Required value: rule is not specified");
    assert!(
        errs[3].message.starts_with(
            "Invalid value: apiextensions.ValidationRule{Rule:\"self <\", Message:\"\", MessageExpression:\"\", Reason:(*apiextensions.FieldValueErrorReason)(nil), FieldPath:\"\", OptionalOldSelf:(*bool)(nil)}: compilation failed: ERROR: <input>:1:7: Syntax error:"
        ),
        "{}",
        errs[3].message
    );
    assert_eq!(
        errs[2].message,
        "Invalid value: \".nope\": fieldPath must be a valid path: does not refer to a valid field"
    );
}

#[test]
fn empty_and_cheap() {
    let rules = compile(&with_spec(json!({"type": "object", "properties": {"a": {"type": "string"}}})));
    assert!(rules.is_empty());
    assert!(rules.validate(&json!({"spec": {"a": "x"}}), None).is_empty());
    assert!(!compile(&with_spec(json!({"type": "string", "x-kubernetes-validations": rule("true")}))).is_empty());
    fn send_sync<T: Send + Sync>() {}
    send_sync::<CelRules>();
}

#[test]
fn null_values_and_deep_objects_are_safe() {
    let rules = compile(&with_spec(
        json!({"type": "object", "nullable": true, "x-kubernetes-validations": rule("self.x == 1")}),
    ));
    assert!(rules.validate(&json!({"spec": null}), None).is_empty());
    let mut deep = json!(1);
    for _ in 0..200 {
        deep = json!({"x": deep});
    }
    let open = compile(&with_spec(json!({"type": "object", "x-kubernetes-preserve-unknown-fields": true,
        "x-kubernetes-validations": rule("has(self.x)")})));
    assert!(open.validate(&json!({"spec": deep}), None).is_empty());
}
