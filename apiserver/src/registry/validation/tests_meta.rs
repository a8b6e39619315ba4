//! Tests of ObjectMeta validation and the name/label format messages, plus the
//! helpers the other validation test modules share.

use serde_json::{json, Value};

use crate::catalog::{find, ResourceInfo};
use crate::error::Cause;
use crate::registry::defaults::{apply_defaults, prepare_create};
use crate::registry::validation::{validate_create, validate_update};

pub(super) fn info(group: &str, version: &str, plural: &str) -> &'static ResourceInfo {
    find(group, version, plural).expect("catalog row")
}

/// Defaults + create preparation + create validation, as the lead runs them.
pub(super) fn create(group: &str, version: &str, plural: &str, mut obj: Value) -> Vec<Cause> {
    let i = info(group, version, plural);
    apply_defaults(i, &mut obj);
    prepare_create(i, &mut obj);
    validate_create(i, &obj)
}

/// Defaults on both (the new body as if derived from the stored object), then
/// update preparation and validation.
pub(super) fn update(group: &str, version: &str, plural: &str, mut new: Value, mut old: Value) -> Vec<Cause> {
    let i = info(group, version, plural);
    apply_defaults(i, &mut old);
    prepare_create(i, &mut old);
    apply_defaults(i, &mut new);
    prepare_create(i, &mut new);
    crate::registry::defaults::prepare_update(i, &mut new, &old);
    validate_update(i, &new, &old)
}

/// `(field, message)` pairs for readable assertions.
pub(super) fn pairs(errs: &[Cause]) -> Vec<(String, String)> {
    errs.iter().map(|c| (c.field.clone(), c.message.clone())).collect()
}

/// Asserts exactly one cause on `field` with `message`.
#[track_caller]
pub(super) fn expect_one(errs: &[Cause], field: &str, message: &str) {
    let got = pairs(errs);
    assert_eq!(got, vec![(field.to_string(), message.to_string())], "causes: {got:#?}");
}

/// Asserts some cause on `field` with `message`.
#[track_caller]
pub(super) fn expect_has(errs: &[Cause], field: &str, message: &str) {
    let got = pairs(errs);
    assert!(got.contains(&(field.to_string(), message.to_string())), "missing {field}: {message}\ncauses: {got:#?}");
}

pub(super) fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"}})
}

const SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const LABEL_VALUE_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

#[test]
fn name_formats_per_resource() {
    let cases: Vec<(&str, &str, &str, Value, &str, String)> = vec![
        ("", "v1", "configmaps", cm("Foo_bar"), "metadata.name", format!("Invalid value: \"Foo_bar\": {SUBDOMAIN_MSG}")),
        (
            "",
            "v1",
            "namespaces",
            json!({"metadata": {"name": "a.b"}}),
            "metadata.name",
            "Invalid value: \"a.b\": must not contain dots".into(),
        ),
        ("", "v1", "namespaces", json!({"metadata": {"name": "Ab"}}), "metadata.name", format!("Invalid value: \"Ab\": {LABEL_MSG}")),
        (
            "",
            "v1",
            "services",
            json!({"metadata": {"name": "1abc", "namespace": "default"}, "spec": {"ports": [{"port": 80}]}}),
            "metadata.name",
            "Invalid value: \"1abc\": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')".into(),
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "clusterroles",
            json!({"metadata": {"name": "a/b"}}),
            "metadata.name",
            "Invalid value: \"a/b\": may not contain '/'".into(),
        ),
        (
            "rbac.authorization.k8s.io",
            "v1",
            "roles",
            json!({"metadata": {"name": "..", "namespace": "default"}}),
            "metadata.name",
            "Invalid value: \"..\": may not be '..'".into(),
        ),
    ];
    for (g, v, plural, obj, field, msg) in cases {
        expect_one(&create(g, v, plural, obj), field, &msg);
    }
    // Colons are fine in RBAC names, and a long DNS label is reported by length.
    assert!(
        create("rbac.authorization.k8s.io", "v1", "clusterroles", json!({"metadata": {"name": "system:x"}})).is_empty()
    );
    let long = "a".repeat(64);
    expect_has(
        &create("", "v1", "namespaces", json!({"metadata": {"name": long}})),
        "metadata.name",
        &format!("Invalid value: \"{long}\": must be no more than 63 characters"),
    );
}

#[test]
fn name_and_namespace_presence() {
    let errs = create("", "v1", "configmaps", json!({"metadata": {"namespace": "default"}}));
    expect_one(&errs, "metadata.name", "Required value: name or generateName is required");
    let errs = create("", "v1", "configmaps", json!({"metadata": {"name": "x"}}));
    expect_one(&errs, "metadata.namespace", "Required value");
    let errs = create("", "v1", "namespaces", json!({"metadata": {"name": "x", "namespace": "y"}}));
    expect_one(&errs, "metadata.namespace", "Forbidden: not allowed on this type");
    let mut obj = cm("x");
    obj["metadata"]["generateName"] = json!("web-");
    assert!(create("", "v1", "configmaps", obj).is_empty());
}

#[test]
fn labels_and_annotations() {
    let mut obj = cm("x");
    obj["metadata"]["labels"] = json!({"app": "-bad"});
    expect_one(
        &create("", "v1", "configmaps", obj),
        "metadata.labels",
        &format!("Invalid value: \"-bad\": {LABEL_VALUE_MSG}"),
    );

    let mut obj = cm("x");
    obj["metadata"]["labels"] = json!({"a/b/c": "v"});
    expect_one(
        &create("", "v1", "configmaps", obj),
        "metadata.labels",
        "Invalid value: \"a/b/c\": a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    );

    let mut obj = cm("x");
    obj["metadata"]["labels"] = json!({"Example.com/x": "v"});
    expect_one(
        &create("", "v1", "configmaps", obj),
        "metadata.labels",
        &format!("Invalid value: \"Example.com/x\": prefix part {SUBDOMAIN_MSG}"),
    );

    let mut obj = cm("x");
    obj["metadata"]["labels"] = json!({"v": "a".repeat(64)});
    expect_one(
        &create("", "v1", "configmaps", obj),
        "metadata.labels",
        &format!("Invalid value: \"{}\": must be no more than 63 characters", "a".repeat(64)),
    );

    let mut obj = cm("x");
    obj["metadata"]["annotations"] = json!({"big": "x".repeat(256 * 1024)});
    expect_one(
        &create("", "v1", "configmaps", obj),
        "metadata.annotations",
        "Too long: may not be more than 262144 bytes",
    );

    // Annotation keys are checked case-insensitively but reported as given.
    let mut obj = cm("x");
    obj["metadata"]["annotations"] = json!({"Kubectl.Kubernetes.io/Restart": "x"});
    assert!(create("", "v1", "configmaps", obj).is_empty());
}

#[test]
fn finalizers_and_owner_references() {
    let mut obj = cm("x");
    obj["metadata"]["finalizers"] = json!(["foo", "example.com/ok"]);
    expect_one(
        &create("", "v1", "configmaps", obj),
        "metadata.finalizers[0]",
        "Invalid value: \"foo\": name is neither a standard finalizer name nor is it fully qualified",
    );
    let mut obj = cm("x");
    obj["metadata"]["finalizers"] = json!(["orphan", "foregroundDeletion"]);
    expect_one(
        &create("", "v1", "configmaps", obj),
        "metadata.finalizers",
        "Invalid value: [\"orphan\",\"foregroundDeletion\"]: finalizer orphan and foregroundDeletion cannot be both set",
    );
    let mut obj = cm("x");
    obj["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs"}]);
    expect_one(
        &create("", "v1", "configmaps", obj),
        "metadata.ownerReferences.uid",
        "Invalid value: \"\": must not be empty",
    );
    let mut obj = cm("x");
    obj["metadata"]["ownerReferences"] = json!([{"apiVersion": "", "kind": "", "name": "a", "uid": "u"}]);
    let errs = create("", "v1", "configmaps", obj);
    expect_has(&errs, "metadata.ownerReferences.apiVersion", "Invalid value: \"\": version must not be empty");
    expect_has(&errs, "metadata.ownerReferences.kind", "Invalid value: \"\": must not be empty");
}

#[test]
fn metadata_update_rules() {
    let old = json!({"metadata": {"name": "x", "namespace": "default", "uid": "u1"}});
    let new = json!({"metadata": {"name": "x", "namespace": "default", "uid": "u2"}});
    expect_one(
        &update("", "v1", "configmaps", new, old.clone()),
        "metadata.uid",
        "Invalid value: \"u2\": field is immutable",
    );
    let new = json!({"metadata": {"name": "y", "namespace": "default"}});
    expect_one(
        &update("", "v1", "configmaps", new, old.clone()),
        "metadata.name",
        "Invalid value: \"y\": field is immutable",
    );
    // Labels are re-validated on update; unset system fields are fine.
    let new = json!({"metadata": {"name": "x", "namespace": "default", "labels": {"a": "b c"}}});
    let errs = update("", "v1", "configmaps", new, old);
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].field, "metadata.labels");
}

#[test]
fn format_checks() {
    use super::names::{check_name, is_valid_port_name, valid_cidr, valid_ip, NameRule};
    assert!(check_name(NameRule::Subdomain, "web-", true).is_empty());
    assert!(!check_name(NameRule::Subdomain, "é-", true).is_empty());
    assert_eq!(is_valid_port_name("http--x"), vec!["must not contain consecutive hyphens".to_string()]);
    assert_eq!(is_valid_port_name("8080"), vec!["must contain at least one letter (a-z)".to_string()]);
    let msg = |c: Vec<Cause>| c.into_iter().map(|c| c.message).collect::<Vec<_>>();
    assert_eq!(
        msg(valid_ip("f", "010.0.0.1")),
        vec!["Invalid value: \"010.0.0.1\": must not have leading 0s".to_string()]
    );
    assert_eq!(
        msg(valid_ip("f", "::ffff:1.2.3.4")),
        vec!["Invalid value: \"::ffff:1.2.3.4\": must not be an IPv4-mapped IPv6 address".to_string()]
    );
    assert_eq!(
        msg(valid_ip("f", "2001:DB8::1")),
        vec!["Invalid value: \"2001:DB8::1\": must be in canonical form (\"2001:db8::1\")".to_string()]
    );
    assert!(valid_cidr("f", "10.0.0.0/8").is_empty());
    assert_eq!(
        msg(valid_cidr("f", "10.0.0.1/8")),
        vec!["Invalid value: \"10.0.0.1/8\": must not have bits set beyond the prefix length".to_string()]
    );
}

#[test]
fn label_selector_matching() {
    use super::meta::selector_matches;
    let labels = vec![("app".to_string(), "web".to_string()), ("tier".to_string(), "fe".to_string())];
    let sel = json!({"matchLabels": {"app": "web"}, "matchExpressions": [
        {"key": "tier", "operator": "In", "values": ["fe", "be"]},
        {"key": "canary", "operator": "DoesNotExist"},
        {"key": "env", "operator": "NotIn", "values": ["prod"]},
    ]});
    assert!(selector_matches(Some(&sel), &labels));
    assert!(!selector_matches(
        Some(
            &json!({"matchExpressions": [{"key": "tier", "operator": "Exists"}, {"key": "app", "operator": "NotIn", "values": ["web"]}]})
        ),
        &labels
    ));
    assert!(selector_matches(Some(&json!({})), &labels));
    assert!(!selector_matches(None, &labels));
}

#[test]
fn statefulset_names_are_dns_labels() {
    let sts = json!({"metadata": {"name": "a.b", "namespace": "default"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}}}});
    // The template's pod spec is not validated for StatefulSets (no image is fine), the name is.
    expect_one(
        &create("apps", "v1", "statefulsets", sts),
        "metadata.name",
        "Invalid value: \"a.b\": must not contain dots",
    );
}
