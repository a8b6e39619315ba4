//! Unit tests: one or more per keyword, with the exact causes kube-apiserver reports.

use serde_json::{json, Value};

use super::messages::{go_float_v, go_quote};
use super::{apply_defaults, prune, validate, validate_crd};
use crate::error::Cause;

fn c(reason: &str, field: &str, message: &str) -> Cause {
    Cause { reason: reason.into(), message: message.into(), field: field.into() }
}

fn spec_schema(props: Value) -> Value {
    json!({"type": "object", "properties": {"spec": {"type": "object", "properties": props}}})
}

fn one(props: Value, spec: Value) -> Vec<Cause> {
    validate(&spec_schema(props), &json!({"apiVersion": "a/v1", "kind": "K", "spec": spec}))
}

#[test]
fn type_mismatch() {
    let r = one(json!({"replicas": {"type": "integer"}}), json!({"replicas": "3"}));
    assert_eq!(
        r,
        vec![c(
            "FieldValueTypeInvalid",
            "spec.replicas",
            "Invalid value: \"string\": spec.replicas in body must be of type integer: \"string\""
        )]
    );
    let r = one(json!({"f": {"type": "integer"}}), json!({"f": 1.5}));
    assert_eq!(r[0].message, "Invalid value: \"number\": spec.f in body must be of type integer: \"number\"");
    assert_eq!(
        r[1],
        c(
            "FieldValueInvalid",
            "<nil>",
            "Invalid value: \"\": Checked value must be of type integer (default format) in spec.f"
        )
    );
    assert!(one(json!({"f": {"type": "integer"}}), json!({"f": 2.0})).is_empty());
    assert!(one(json!({"f": {"type": "number"}}), json!({"f": 2})).is_empty());
    let r = one(json!({"b": {"type": "boolean"}}), json!({"b": {"x": 1}}));
    assert_eq!(r[0].message, "Invalid value: \"object\": spec.b in body must be of type boolean: \"object\"");
}

#[test]
fn null_and_nullable() {
    let r = one(json!({"items": {"type": "array", "items": {"type": "string"}}}), json!({"items": [null]}));
    assert_eq!(
        r,
        vec![c(
            "FieldValueTypeInvalid",
            "spec.items[0]",
            "Invalid value: \"null\": spec.items[0] in body must be of type string: \"null\""
        )]
    );
    assert!(one(json!({"s": {"type": "string", "nullable": true}}), json!({"s": null})).is_empty());
    // Nulls of non-nullable fields without defaults are pruned.
    let schema = spec_schema(json!({"s": {"type": "string"}, "n": {"type": "string", "nullable": true}}));
    let mut obj = json!({"spec": {"s": null, "n": null}});
    assert!(prune(&schema, &mut obj).is_empty());
    assert_eq!(obj, json!({"spec": {"n": null}}));
}

#[test]
fn required() {
    let schema = json!({"type": "object", "required": ["spec"], "properties": {"spec": {"type": "object", "required": ["foo"], "properties": {"foo": {"type": "string"}}}}});
    assert_eq!(validate(&schema, &json!({})), vec![c("FieldValueRequired", "spec", "Required value")]);
    assert_eq!(validate(&schema, &json!({"spec": {}})), vec![c("FieldValueRequired", "spec.foo", "Required value")]);
}

#[test]
fn enums() {
    let r = one(json!({"mode": {"type": "string", "enum": ["a", "b"]}}), json!({"mode": "x"}));
    assert_eq!(
        r,
        vec![c("FieldValueNotSupported", "spec.mode", "Unsupported value: \"x\": supported values: \"a\", \"b\"")]
    );
    let r = one(json!({"n": {"type": "integer", "enum": [1, 2]}}), json!({"n": 3}));
    assert_eq!(r, vec![c("FieldValueNotSupported", "spec.n", "Unsupported value: 3: supported values: \"1\", \"2\"")]);
    assert!(one(json!({"n": {"type": "integer", "enum": [1.0, 2]}}), json!({"n": 1})).is_empty());
}

#[test]
fn strings() {
    let p = json!({"name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5, "minLength": 2}});
    assert_eq!(
        one(p.clone(), json!({"name": "X"})),
        vec![c(
            "FieldValueInvalid",
            "spec.name",
            "Invalid value: \"X\": spec.name in body should be at least 2 chars long"
        )]
    );
    assert_eq!(
        one(p.clone(), json!({"name": "XY"})),
        vec![c("FieldValueInvalid", "spec.name", "Invalid value: \"XY\": spec.name in body should match '^[a-z]+$'")]
    );
    assert_eq!(
        one(p.clone(), json!({"name": "abcdefg"})),
        vec![c("FieldValueTooLong", "spec.name", "Too long: may not be more than 5 bytes")]
    );
    assert!(one(p, json!({"name": "abc"})).is_empty());
    // Go's \d is ASCII only.
    let r = one(json!({"d": {"type": "string", "pattern": "^\\d+$"}}), json!({"d": "١٢"}));
    assert_eq!(r.len(), 1);
}

#[test]
fn formats() {
    let r = one(json!({"id": {"type": "string", "format": "uuid"}}), json!({"id": "abc"}));
    assert_eq!(
        r,
        vec![c(
            "FieldValueTypeInvalid",
            "spec.id",
            "Invalid value: \"abc\": spec.id in body must be of type uuid: \"abc\""
        )]
    );
    let r = one(json!({"t": {"type": "string", "format": "date-time"}}), json!({"t": "yesterday"}));
    assert_eq!(r[0].message, "Invalid value: \"yesterday\": spec.t in body must be of type date-time: \"yesterday\"");
    // Unsupported formats are ignored.
    assert!(one(json!({"x": {"type": "string", "format": "int-or-string"}}), json!({"x": "?"})).is_empty());
    assert!(one(json!({"x": {"type": "integer", "format": "int32"}}), json!({"x": 5})).is_empty());
    let r = one(json!({"x": {"type": "integer", "format": "int32"}}), json!({"x": 5_000_000_000_i64}));
    assert_eq!(
        r,
        vec![c(
            "FieldValueInvalid",
            "<nil>",
            "Invalid value: \"\": Checked value must be of type integer with format int32 in spec.x"
        )]
    );
}

#[test]
fn numbers() {
    let p = json!({"r": {"type": "integer", "minimum": 1, "maximum": 10, "multipleOf": 2}});
    assert_eq!(
        one(p.clone(), json!({"r": 12})),
        vec![c("FieldValueInvalid", "spec.r", "Invalid value: 12: spec.r in body should be less than or equal to 10")]
    );
    assert_eq!(
        one(p.clone(), json!({"r": 0})),
        vec![c("FieldValueInvalid", "spec.r", "Invalid value: 0: spec.r in body should be greater than or equal to 1")]
    );
    assert_eq!(
        one(p, json!({"r": 3})),
        vec![c("FieldValueInvalid", "spec.r", "Invalid value: 3: spec.r in body should be a multiple of 2")]
    );
    let p = json!({"f": {"type": "number", "exclusiveMaximum": true, "maximum": 1.5, "exclusiveMinimum": true, "minimum": 0}});
    assert_eq!(
        one(p.clone(), json!({"f": 1.5}))[0].message,
        "Invalid value: 1.5: spec.f in body should be less than 1.5"
    );
    assert_eq!(one(p, json!({"f": 0}))[0].message, "Invalid value: 0: spec.f in body should be greater than 0");
    let r = one(json!({"f": {"type": "number", "maximum": 1000000.5}}), json!({"f": 2e6}));
    assert_eq!(r[0].message, "Invalid value: 2e+06: spec.f in body should be less than or equal to 1.0000005e+06");
}

#[test]
fn arrays_and_objects() {
    let p = json!({"l": {"type": "array", "maxItems": 2, "minItems": 1, "items": {"type": "string"}}});
    assert_eq!(
        one(p.clone(), json!({"l": ["a", "b", "c"]})),
        vec![c("FieldValueTooMany", "spec.l", "Too many: 3: must have at most 2 items")]
    );
    assert_eq!(
        one(p, json!({"l": []})),
        vec![c("FieldValueInvalid", "spec.l", "Invalid value: 0: spec.l in body should have at least 1 items")]
    );
    let p = json!({"m": {"type": "object", "maxProperties": 1, "minProperties": 1, "additionalProperties": {"type": "integer"}}});
    assert_eq!(
        one(p.clone(), json!({"m": {"a": 1, "b": "x"}})),
        vec![
            c("FieldValueTooMany", "spec.m", "Too many: 2: must have at most 1 item"),
            c(
                "FieldValueTypeInvalid",
                "spec.m.b",
                "Invalid value: \"string\": spec.m.b in body must be of type integer: \"string\""
            ),
        ]
    );
    assert_eq!(
        one(p, json!({"m": {}})),
        vec![c("FieldValueInvalid", "spec.m", "Invalid value: 0: spec.m in body should have at least 1 properties")]
    );
    let r =
        one(json!({"u": {"type": "array", "uniqueItems": true, "items": {"type": "integer"}}}), json!({"u": [1, 1]}));
    assert_eq!(
        r,
        vec![c("FieldValueInvalid", "spec.u", "Invalid value: \"\": spec.u in body shouldn't contain duplicates")]
    );
}

#[test]
fn int_or_string_and_preserve() {
    let p = json!({"port": {"x-kubernetes-int-or-string": true}, "any": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}});
    assert!(one(p.clone(), json!({"port": 80, "any": {"x": [1]}})).is_empty());
    assert!(one(p.clone(), json!({"port": "http"})).is_empty());
    let r = one(p, json!({"port": true}));
    assert_eq!(
        r,
        vec![c(
            "FieldValueTypeInvalid",
            "spec.port",
            "Invalid value: \"boolean\": spec.port in body must be of type integer,string: \"boolean\""
        )]
    );
}

#[test]
fn combinators() {
    let p = json!({"x": {"type": "string", "anyOf": [{"pattern": "^a"}, {"pattern": "^b"}]}});
    assert!(one(p.clone(), json!({"x": "bb"})).is_empty());
    assert_eq!(
        one(p, json!({"x": "c"})),
        vec![
            c(
                "FieldValueInvalid",
                "<nil>",
                "Invalid value: \"\": \"spec.x\" must validate at least one schema (anyOf)"
            ),
            c("FieldValueInvalid", "spec.x", "Invalid value: \"c\": spec.x in body should match '^a'"),
        ]
    );
    let p = json!({"x": {"type": "integer", "oneOf": [{"minimum": 0}, {"maximum": 10}]}});
    assert_eq!(
        one(p, json!({"x": 5})),
        vec![c(
            "FieldValueInvalid",
            "<nil>",
            "Invalid value: \"\": \"spec.x\" must validate one and only one schema (oneOf). Found 2 valid alternatives"
        )]
    );
    let p = json!({"x": {"type": "integer", "not": {"minimum": 0}}});
    assert_eq!(
        one(p, json!({"x": 5}))[0].message,
        "Invalid value: \"\": \"spec.x\" must not validate the schema (not)"
    );
    let p = json!({"x": {"type": "integer", "allOf": [{"minimum": 0}, {"maximum": 3}]}});
    assert_eq!(
        one(p, json!({"x": 5})),
        vec![
            c("FieldValueInvalid", "spec.x", "Invalid value: 5: spec.x in body should be less than or equal to 3"),
            c("FieldValueInvalid", "<nil>", "Invalid value: \"\": \"spec.x\" must validate all the schemas (allOf)"),
        ]
    );
}

#[test]
fn list_types_and_embedded() {
    let p = json!({
        "s": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
        "m": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
              "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
        "e": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true},
    });
    let r = one(p, json!({"s": ["a", "a"], "m": [{"name": "x"}, {"name": "x"}], "e": {"kind": "Foo_Bar"}}));
    assert_eq!(
        r,
        vec![
            c("FieldValueDuplicate", "spec.m[1]", "Duplicate value: {\"name\":\"x\"}"),
            c("FieldValueDuplicate", "spec.s[1]", "Duplicate value: \"a\""),
            c("FieldValueRequired", "spec.e.apiVersion", "Required value"),
            c("FieldValueInvalid", "spec.e.kind", "Invalid value: \"Foo_Bar\": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name' or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"),
        ]
    );
}

#[test]
fn pruning() {
    let schema = json!({"type": "object", "properties": {
    "spec": {"type": "object", "properties": {
        "a": {"type": "string"},
        "l": {"type": "array", "items": {"type": "object", "properties": {"k": {"type": "string"}}}},
        "p": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {"inner": {"type": "object", "properties": {}}}},
        "e": {"type": "object", "x-kubernetes-embedded-resource": true, "properties": {"spec": {"type": "object"}}},
    }}}});
    let mut obj = json!({"apiVersion": "v1", "kind": "K", "metadata": {"name": "x"}, "top": 1,
        "spec": {"a": "x", "foo": 1, "l": [{"k": "v", "bar": 2}], "p": {"kept": 1, "inner": {"gone": 1}},
                 "e": {"apiVersion": "v1", "kind": "Pod", "metadata": {}, "status": {}}}});
    let paths = prune(&schema, &mut obj);
    assert_eq!(paths, vec!["spec.e.status", "spec.foo", "spec.l[0].bar", "spec.p.inner.gone", "top"]);
    assert_eq!(
        obj,
        json!({"apiVersion": "v1", "kind": "K", "metadata": {"name": "x"},
            "spec": {"a": "x", "l": [{"k": "v"}], "p": {"kept": 1, "inner": {}}, "e": {"apiVersion": "v1", "kind": "Pod", "metadata": {}}}})
    );
}

#[test]
fn defaulting() {
    let schema = json!({"type": "object", "properties": {
    "spec": {"type": "object", "properties": {
        "replicas": {"type": "integer", "default": 1},
        "nested": {"type": "object", "default": {"a": "x", "unknown": 1}, "properties": {"a": {"type": "string"}, "b": {"type": "string", "default": "bee"}}},
        "list": {"type": "array", "items": {"type": "object", "properties": {"p": {"type": "integer", "default": 80}}}},
        "map": {"type": "object", "additionalProperties": {"type": "object", "properties": {"on": {"type": "boolean", "default": true}}}},
        "nul": {"type": "string", "default": "d"},
    }}}});
    let mut obj = json!({"spec": {"list": [{}, {"p": 1}], "map": {"k": {}}, "nul": null}});
    apply_defaults(&schema, &mut obj);
    assert_eq!(
        obj,
        json!({"spec": {"replicas": 1, "nested": {"a": "x", "b": "bee"}, "list": [{"p": 80}, {"p": 1}], "map": {"k": {"on": true}}, "nul": "d"}})
    );
    // No spec, no defaults below it.
    let mut obj = json!({});
    apply_defaults(&schema, &mut obj);
    assert_eq!(obj, json!({}));
}

#[test]
fn go_formatting() {
    assert_eq!(go_float_v(1.5), "1.5");
    assert_eq!(go_float_v(1e6), "1e+06");
    assert_eq!(go_float_v(123456.0), "123456");
    assert_eq!(go_float_v(0.0001), "0.0001");
    assert_eq!(go_float_v(0.00001), "1e-05");
    assert_eq!(go_quote("a\"b\n"), "\"a\\\"b\\n\"");
}

#[test]
fn deep_input_does_not_panic() {
    let mut deep = json!("x");
    for _ in 0..100 {
        deep = json!({"a": deep});
    }
    let schema = spec_schema(json!({"any": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}));
    assert!(validate(&schema, &json!({"spec": {"any": deep}})).is_empty());
    let mut s = json!({"type": "object"});
    for _ in 0..200 {
        s = json!({"type": "object", "properties": {"a": s}});
    }
    let _ = validate(&s, &json!({"a": {"a": 1}}));
    let _ = validate_crd(&json!({"spec": {"versions": [{"schema": {"openAPIV3Schema": s}}]}}), None);
}

fn crd() -> Value {
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "foos.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "foos", "singular": "foo", "kind": "Foo", "listKind": "FooList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}}},
                "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}},
                "additionalPrinterColumns": [{"name": "R", "type": "integer", "jsonPath": ".spec.replicas"}]}]}})
}

#[test]
fn crd_valid() {
    assert_eq!(validate_crd(&crd(), None), vec![]);
}

#[test]
fn crd_invalid() {
    let mut bad = crd();
    bad["metadata"]["name"] = json!("foo");
    bad["spec"]["group"] = json!("example");
    bad["spec"]["scope"] = json!("Global");
    bad["spec"]["names"]["listKind"] = json!("Foo");
    bad["spec"]["versions"][0]["storage"] = json!(false);
    bad["spec"]["versions"][0]["subresources"]["scale"]["specReplicasPath"] = json!(".status.x");
    bad["spec"]["versions"][0]["additionalPrinterColumns"][0]["type"] = json!("date-time");
    bad["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["l"] =
        json!({"type": "array", "uniqueItems": true});
    let r = validate_crd(&bad, None);
    let fields: Vec<(&str, &str)> = r.iter().map(|c| (c.field.as_str(), c.message.as_str())).collect();
    let expect = [
        ("metadata.name", "Invalid value: \"foo\": must be spec.names.plural+\".\"+spec.group"),
        ("spec.group", "Invalid value: \"example\": should be a domain with at least one dot"),
        ("spec.scope", "Unsupported value: \"Global\": supported values: \"Cluster\", \"Namespaced\""),
        (
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[l].items",
            "Required value: must be specified",
        ),
        (
            "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties[l].uniqueItems",
            "Forbidden: uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
        ),
        (
            "spec.versions[0].subresources.scale.specReplicasPath",
            "Invalid value: \".status.x\": should be a json path under .spec",
        ),
        (
            "spec.versions[0].additionalPrinterColumns[0].type",
            "Invalid value: \"date-time\": must be one of boolean,date,integer,number,string",
        ),
        ("spec.names.listKind", "Invalid value: \"Foo\": kind and listKind may not be the same"),
    ];
    for e in expect {
        assert!(fields.contains(&e), "missing {e:?} in {fields:#?}");
    }
    let storage = r.iter().find(|c| c.field == "spec.versions").expect("storage cause");
    assert!(storage.message.starts_with("Invalid value: [{"));
    assert!(storage.message.ends_with(": must have exactly one version marked as storage version"));
}

#[test]
fn crd_update() {
    let old = {
        let mut o = crd();
        o["status"] = json!({"storedVersions": ["v1beta1", "v1"]});
        o
    };
    let mut new = crd();
    new["spec"]["names"]["plural"] = json!("bars");
    new["metadata"]["name"] = json!("bars.example.com");
    let r = validate_crd(&new, Some(&old));
    assert_eq!(
        r,
        vec![
            c("FieldValueInvalid", "spec.names.plural", "Invalid value: \"bars\": field is immutable"),
            c("FieldValueInvalid", "status.storedVersions[0]", "Invalid value: \"v1beta1\": missing from spec.versions; v1beta1 was previously a storage version, and must remain in spec.versions until a storage migration ensures no data remains persisted in v1beta1 and removes v1beta1 from status.storedVersions"),
        ]
    );
}
