//! FieldsV1 wire-format cases: Go's byte order, `"."` markers, escaping,
//! round trips and decode errors.

use serde_json::{json, Value};

use super::super::fields_v1::{deserialize_pe, from_value, serialize_pe, to_json_string, to_value};
use super::super::path::PathElement;
use super::super::FieldSet;

fn roundtrip(text: &str) -> String {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let set = from_value(&v).unwrap_or_default();
    assert_eq!(from_value(&to_value(&set)).ok(), Some(set.clone()));
    to_json_string(&set)
}

#[test]
fn go_byte_order_and_dot_markers() {
    let cases = [
        // (input in any order, Go's bytes)
        (r#"{"f:b":{},"f:a":{}}"#, r#"{"f:a":{},"f:b":{}}"#),
        (r#"{"f:spec":{"f:replicas":{}}}"#, r#"{"f:spec":{"f:replicas":{}}}"#),
        (r#"{"f:a":{"f:b":{},".":{}}}"#, r#"{"f:a":{".":{},"f:b":{}}}"#),
        (r#"{"f:a":{".":{}}}"#, r#"{"f:a":{}}"#),
        // Fields < keys < values < indices; keys compare numerically.
        (
            r#"{"i:0":{},"v:\"x\"":{},"k:{\"port\":8443}":{},"k:{\"port\":443}":{},"k:{\"port\":80}":{},"f:z":{}}"#,
            r#"{"f:z":{},"k:{\"port\":80}":{},"k:{\"port\":443}":{},"k:{\"port\":8443}":{},"v:\"x\"":{},"i:0":{}}"#,
        ),
        // Key fields are sorted by name whatever the input order.
        (
            r#"{"k:{\"protocol\":\"TCP\",\"containerPort\":80}":{}}"#,
            r#"{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{}}"#,
        ),
        // Values: float < int < string < bool.
        (r#"{"v:true":{},"v:\"a\"":{},"v:2":{},"v:1.5":{}}"#, r#"{"v:1.5":{},"v:2":{},"v:\"a\"":{},"v:true":{}}"#),
        // Unknown element types are skipped.
        (r#"{"x:what":{},"f:a":{}}"#, r#"{"f:a":{}}"#),
        (r#"{}"#, r#"{}"#),
    ];
    for (input, want) in cases {
        assert_eq!(roundtrip(input), want, "{input}");
    }
}

#[test]
fn deployment_fields_v1_bytes() {
    let text = r#"{"f:spec":{"f:replicas":{},"f:selector":{},"f:template":{"f:metadata":{"f:labels":{"f:app":{}}},"f:spec":{"f:containers":{"k:{\"name\":\"nginx\"}":{".":{},"f:image":{},"f:name":{},"f:ports":{"k:{\"containerPort\":80,\"protocol\":\"TCP\"}":{".":{},"f:containerPort":{}}}}}}}}}"#;
    assert_eq!(roundtrip(text), text);
}

#[test]
fn path_elements_escape_like_go() {
    let key = PathElement::key(vec![("name".into(), json!("a<b&c"))]);
    assert_eq!(serialize_pe(&key), r#"k:{"name":"a\u003cb\u0026c"}"#);
    let mut set = FieldSet::new();
    set.insert(std::slice::from_ref(&key));
    assert_eq!(to_json_string(&set), r#"{"k:{\"name\":\"a\\u003cb\\u0026c\"}":{}}"#);
    assert_eq!(deserialize_pe(&serialize_pe(&key)).ok().flatten(), Some(key));
    assert_eq!(serialize_pe(&PathElement::Value(json!(1.0e-7))), "v:1e-7");
    assert_eq!(serialize_pe(&PathElement::Value(json!(0.5))), "v:0.5");
    assert_eq!(serialize_pe(&PathElement::Index(3)), "i:3");
    assert_eq!(serialize_pe(&PathElement::Field("a\"b".into())), "f:a\"b");
}

#[test]
fn decode_errors() {
    assert!(deserialize_pe("f").is_err());
    assert_eq!(deserialize_pe("fx").err().as_deref(), Some("missing colon: fx"));
    assert!(deserialize_pe("k:[1]").is_err());
    assert!(deserialize_pe("i:x").is_err());
    assert_eq!(deserialize_pe("q:1"), Ok(None));
    assert!(from_value(&json!({"f:a": 1})).is_err());
    assert!(from_value(&json!([1])).is_err());
    assert_eq!(from_value(&Value::Null), Ok(FieldSet::new()));
}

#[test]
fn value_form_matches_go_bytes_with_members_between_children() {
    let f = |s: &str| PathElement::Field(s.into());
    let k = |n: &str| PathElement::key(vec![("name".into(), json!(n))]);
    let set: FieldSet = [
        vec![f("a")],
        vec![f("b")],
        vec![f("b"), f("x")],
        vec![f("c")],
        vec![f("d"), f("y")],
        vec![f("e")],
        vec![f("l"), k("p")],
        vec![f("l"), k("p"), f("z")],
        vec![f("l"), k("q")],
        vec![f("l"), PathElement::Value(json!("v"))],
        vec![f("l"), PathElement::Index(0)],
    ]
    .into_iter()
    .collect();
    let go: Value = serde_json::from_str(&to_json_string(&set)).expect("valid JSON");
    assert_eq!(to_value(&set), go);
    assert_eq!(to_value(&set)["f:b"], json!({".": {}, "f:x": {}}));
    assert_eq!(to_value(&set)["f:d"], json!({"f:y": {}}));
}
