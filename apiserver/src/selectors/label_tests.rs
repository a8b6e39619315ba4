//! Table-driven tests for the label selector grammar, errors and matching.

use super::*;
use serde_json::json;

const VALUE_ERR: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue' or 'my_value' or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const NAME_ERR: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName' or 'my.name' or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const SUBDOMAIN_ERR: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const OPS: &str = "in, notin, =, ==, !=, gt, lt";

fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    v.sort();
    v
}

#[test]
fn parses_and_restrings() {
    // (input, Go's String() of the parsed selector)
    let cases: &[(&str, &str)] = &[
        ("", ""),
        ("   ", ""),
        ("x=a,y=b,z=c", "x=a,y=b,z=c"),
        ("x!=a,y=b", "x!=a,y=b"),
        ("x=", "x="),
        ("x= ", "x="),
        ("x=,z= ", "x=,z="),
        ("x= ,z= ", "x=,z="),
        ("!x", "!x"),
        ("! x", "!x"),
        ("x>1", "x>1"),
        ("x>1,z<5", "x>1,z<5"),
        ("x==a", "x==a"),
        ("x = y", "x=y"),
        ("\tx\nin\r( b , a ) ", "x in (a,b)"),
        ("x notin (a)", "x notin (a)"),
        ("x in ()", "x in ()"),
        ("x in (,)", "x in ()"),
        ("x in (a,,b)", "x in (,a,b)"),
        ("x in (a,a)", "x in (a)"),
        ("x in (in,notin)", "x in (in,notin)"),
        ("in in (in)", "in in (in)"),
        ("notin=in", "notin=in"),
        ("z,a", "a,z"),
        ("x=a,a=x", "a=x,x=a"),
        ("example.com/app=web,k8s.io/x", "example.com/app=web,k8s.io/x"),
    ];
    for (input, want) in cases {
        let s = LabelSelector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
        assert_eq!(s.to_string(), *want, "{input:?}");
        assert_eq!(s.is_empty(), want.is_empty(), "{input:?}");
    }
}

#[test]
fn reports_go_errors() {
    let req = |m: &str| format!("unable to parse requirement: {m}");
    let long_key = "k".repeat(64);
    let cases: Vec<(&str, String)> = vec![
        ("x=a||y=b", req(&format!("values[0][x]: Invalid value: \"a||y\": {VALUE_ERR}"))),
        ("x==a==b", "found '==', expected: ',' or 'end of string'".into()),
        ("!x=a", "found '=', expected: ',' or 'end of string'".into()),
        ("x<a", req("values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer")),
        ("x>", req("values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer")),
        ("x>-1", req(&format!("values[0][x]: Invalid value: \"-1\": {VALUE_ERR}"))),
        (
            "x>a-",
            req(&format!(
                "[values[0]: Invalid value: \"a-\": for 'Gt', 'Lt' operators, the value must be an integer, values[0][x]: Invalid value: \"a-\": {VALUE_ERR}]"
            )),
        ),
        ("a b", req(&format!("found 'b', expected: {OPS}"))),
        ("x!!=a", req(&format!("found '!', expected: {OPS}"))),
        ("a in b", req("found 'b' expected: '('")),
        ("a in (b", req("found '', expected: ',' or ')'")),
        ("a in (b c)", req("found 'c', expected: ',' or ')'")),
        ("a in (b,,)", req("found ')', expected: ',', or identifier")),
        ("a in (=)", req("found '=', expected: ',', ')' or identifier")),
        ("a in (b,=)", req("found '=', expected: ',', or identifier")),
        ("x=(", req("found '(', expected: identifier")),
        ("x=>a", req("found '>', expected: identifier")),
        ("!", req("found '', expected: identifier")),
        ("! =a", req("found '=', expected: identifier")),
        ("!=a", "found '!=', expected: !, identifier, or 'end of string'".into()),
        (",a", "found ',', expected: !, identifier, or 'end of string'".into()),
        ("=a", "found '=', expected: !, identifier, or 'end of string'".into()),
        ("a,", "found '', expected: identifier after ','".into()),
        ("a=b,,c", "found ',', expected: identifier after ','".into()),
        ("x=a!", "found '!', expected: ',' or 'end of string'".into()),
        ("-x", req(&format!("<nil>: Invalid value: \"-x\": {NAME_ERR}"))),
        ("Ex.com/a", req(&format!("<nil>: Invalid value: \"Ex.com/a\": prefix part {SUBDOMAIN_ERR}"))),
        ("/a=b", req("<nil>: Invalid value: \"/a\": prefix part must be non-empty")),
        (
            &long_key,
            req(&format!("<nil>: Invalid value: \"{long_key}\": name part must be no more than 63 characters")),
        ),
        ("a\"b=c", req(&format!("<nil>: Invalid value: \"a\\\"b\": {NAME_ERR}"))),
        (
            "x in (a b)",
            req("found 'b', expected: ',' or ')'"),
        ),
        (
            "x in (-a,b-)",
            req(&format!(
                "[values[0][x]: Invalid value: \"-a\": {VALUE_ERR}, values[1][x]: Invalid value: \"b-\": {VALUE_ERR}]"
            )),
        ),
    ];
    for (input, want) in &cases {
        let e = LabelSelector::parse(input).expect_err(input);
        assert_eq!(e.to_string(), *want, "{input:?}");
    }
    let long_value = format!("a={}", "v".repeat(64));
    let e = LabelSelector::parse(&long_value).expect_err("long value");
    assert_eq!(
        e.to_string(),
        format!(
            "unable to parse requirement: values[0][a]: Invalid value: \"{}\": must be no more than 63 characters",
            "v".repeat(64)
        )
    );
}

#[test]
fn matching() {
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], bool);
    let cases: &[Case] = &[
        ("", &[("x", "y")], true),
        ("x=y", &[("x", "y")], true),
        ("x==y", &[("x", "y")], true),
        ("x=y,z=w", &[("x", "y"), ("z", "w")], true),
        ("x!=y,z!=w", &[("x", "z"), ("z", "a")], true),
        ("notin=in", &[("notin", "in")], true),
        ("x", &[("x", "z")], true),
        ("x", &[("x", "")], true),
        ("!x", &[("y", "z")], true),
        ("x>1", &[("x", "2")], true),
        ("x<1", &[("x", "0")], true),
        ("x<1", &[("x", "-5")], true),
        ("x=z", &[], false),
        ("x=y", &[("x", "z")], false),
        ("x=y,z=w", &[("x", "w"), ("z", "w")], false),
        ("x!=y,z!=w", &[("x", "z"), ("z", "w")], false),
        ("x!=y", &[], true),
        ("x", &[("y", "z")], false),
        ("!x", &[("x", "z")], false),
        ("x>1", &[("x", "0")], false),
        ("x>1", &[("x", "1")], false),
        ("x>1", &[("x", "abc")], false),
        ("x>1", &[], false),
        ("x<1", &[("x", "2")], false),
        ("x=", &[("x", "")], true),
        ("x=", &[], false),
        ("x in (a,b)", &[("x", "b")], true),
        ("x in (a,b)", &[("x", "c")], false),
        ("x in (a,b)", &[], false),
        ("x in ()", &[("x", "")], true),
        ("x notin (a,b)", &[("x", "c")], true),
        ("x notin (a,b)", &[("x", "a")], false),
        ("x notin (a,b)", &[], true),
        ("foo=bar,baz=blah", &[("foo", "bar"), ("baz", "blah")], true),
        ("foo=bar,baz=blah", &[("foo", "bar")], false),
    ];
    for (sel, ls, want) in cases {
        let s = LabelSelector::parse(sel).unwrap_or_else(|e| panic!("{sel}: {e}"));
        assert_eq!(s.matches(&labels(ls)), *want, "{sel} vs {ls:?}");
    }
}

#[test]
fn exact_match() {
    let s = LabelSelector::parse("a=1,b in (2),c in (3,4),d!=5").expect("parse");
    assert_eq!(s.requires_exact_match("a"), Some("1"));
    assert_eq!(s.requires_exact_match("b"), Some("2"));
    assert_eq!(s.requires_exact_match("c"), None);
    assert_eq!(s.requires_exact_match("d"), None);
    assert_eq!(s.requires_exact_match("e"), None);
    assert_eq!(s.requirements().len(), 4);
    assert_eq!(s.requirements()[2].operator(), Operator::In);
    assert_eq!(s.requirements()[2].values(), &["3".to_string(), "4".to_string()]);
}

#[test]
fn from_metav1_label_selector() {
    let nothing = LabelSelector::from_label_selector_json(&Value::Null).expect("null");
    assert!(nothing.matches_nothing());
    assert!(!nothing.is_empty());
    assert!(!nothing.matches(&labels(&[])));

    let every = LabelSelector::from_label_selector_json(&json!({})).expect("{}");
    assert!(every.is_empty());
    assert!(every.matches(&labels(&[("a", "b")])));

    let s = LabelSelector::from_label_selector_json(&json!({
        "matchLabels": {"app": "web"},
        "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["fe", "be"]},
            {"key": "canary", "operator": "DoesNotExist"},
            {"key": "env", "operator": "NotIn", "values": ["prod"]},
            {"key": "team", "operator": "Exists", "values": []}
        ]
    }))
    .expect("selector");
    assert_eq!(s.to_string(), "app=web,!canary,env notin (prod),team,tier in (be,fe)");
    assert!(s.matches(&labels(&[("app", "web"), ("tier", "be"), ("team", "x")])));
    assert!(!s.matches(&labels(&[("app", "web"), ("tier", "be"), ("team", "x"), ("canary", "1")])));
    assert!(!s.matches(&labels(&[("app", "web"), ("tier", "be"), ("team", "x"), ("env", "prod")])));
    assert!(!s.matches(&labels(&[("app", "web"), ("tier", "qa"), ("team", "x")])));

    let errs: &[(Value, String)] = &[
        (
            json!({"matchExpressions": [{"key": "a", "operator": "Foo"}]}),
            "\"Foo\" is not a valid label selector operator".into(),
        ),
        (
            json!({"matchExpressions": [{"key": "a", "operator": "In"}]}),
            "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty".into(),
        ),
        (
            json!({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]}),
            "values: Invalid value: [\"x\"]: values set must be empty for exists and does not exist".into(),
        ),
        (json!({"matchLabels": {"-x": "y"}}), format!("key: Invalid value: \"-x\": {NAME_ERR}")),
        (json!({"matchLabels": {"app": "a b"}}), format!("values[0][app]: Invalid value: \"a b\": {VALUE_ERR}")),
    ];
    for (v, want) in errs {
        let e = LabelSelector::from_label_selector_json(v).expect_err("invalid");
        assert_eq!(e.to_string(), *want, "{v}");
    }
}

#[test]
fn labels_of_object() {
    let obj = json!({"metadata": {"labels": {"b": "2", "a": "1", "n": 5}}});
    assert_eq!(labels_of(&obj), labels(&[("a", "1"), ("b", "2")]));
    assert!(labels_of(&json!({"metadata": {}})).is_empty());
}
