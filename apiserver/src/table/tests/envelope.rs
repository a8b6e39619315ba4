//! The Table envelope, includeObject modes, watch event tables and PartialObjectMetadata.

use serde_json::{json, Value};

use super::{ago, info, now};
use crate::table::{
    column_definitions, partial_object_metadata, partial_object_metadata_list, to_table, to_table_row_event,
    IncludeObject,
};

fn secret(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret",
           "metadata": {"name": name, "namespace": "default", "resourceVersion": "42", "uid": "u-1",
                        "creationTimestamp": ago(5), "labels": {"a": "b"},
                        "managedFields": [{"manager": "kubectl", "operation": "Apply"}]},
           "type": "Opaque", "data": {"k": "dg=="}})
}

#[test]
fn include_object_parse() {
    assert_eq!(IncludeObject::parse(None), Ok(IncludeObject::Metadata));
    assert_eq!(IncludeObject::parse(Some("")), Ok(IncludeObject::Metadata));
    assert_eq!(IncludeObject::parse(Some("Metadata")), Ok(IncludeObject::Metadata));
    assert_eq!(IncludeObject::parse(Some("None")), Ok(IncludeObject::None));
    assert_eq!(IncludeObject::parse(Some("Object")), Ok(IncludeObject::Object));
    assert_eq!(IncludeObject::parse(Some("object")), Err("unrecognized includeObject value: \"object\"".to_string()));
}

#[test]
fn column_definition_shape() {
    let cols = column_definitions(info("", "v1", "secrets"));
    assert_eq!(cols.len(), 4);
    assert_eq!(cols[0]["name"], "Name");
    assert_eq!(cols[0]["type"], "string");
    assert_eq!(cols[0]["format"], "name");
    assert_eq!(cols[0]["priority"], 0);
    assert!(cols[0]["description"].as_str().is_some_and(|d| d.starts_with("Name must be unique within a namespace.")));
    assert_eq!(cols[3]["name"], "Age");
    assert_eq!(cols[3]["format"], "");
    let pods = column_definitions(info("", "v1", "pods"));
    assert_eq!(pods[3]["name"], "Restarts");
    assert_eq!(
        pods[5],
        json!({"name": "IP", "type": "string", "format": "", "priority": 1,
        "description": pods[5]["description"].clone()})
    );
    let roles = column_definitions(info("rbac.authorization.k8s.io", "v1", "roles"));
    assert_eq!(roles[1]["name"], "Created At");
    assert_eq!(roles[1]["type"], "date");
}

#[test]
fn list_table_envelope() {
    let list_meta = json!({"resourceVersion": "100", "continue": "tok", "remainingItemCount": 7, "selfLink": "x"});
    let t = to_table(
        info("", "v1", "secrets"),
        &[secret("a"), secret("b")],
        IncludeObject::Metadata,
        now(),
        Some(&list_meta),
    );
    assert_eq!(t["kind"], "Table");
    assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(t["metadata"], json!({"resourceVersion": "100", "continue": "tok", "remainingItemCount": 7}));
    assert_eq!(t["columnDefinitions"].as_array().map(Vec::len), Some(4));
    let rows = t["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["cells"], json!(["b", "Opaque", 1, "5s"]));
    assert!(rows[0].get("conditions").is_none());
    // Metadata: a PartialObjectMetadata with the whole metadata, managedFields included.
    assert_eq!(
        rows[0]["object"],
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": secret("a")["metadata"].clone()})
    );
    // An empty list keeps the envelope, with no rows.
    let empty = to_table(
        info("", "v1", "secrets"),
        &[],
        IncludeObject::Metadata,
        now(),
        Some(&json!({"resourceVersion": "9"})),
    );
    assert_eq!(empty["rows"], json!([]));
    assert_eq!(empty["metadata"], json!({"resourceVersion": "9"}));
}

#[test]
fn single_object_table_and_include_modes() {
    let secrets = info("", "v1", "secrets");
    let t = to_table(secrets, &[secret("a")], IncludeObject::None, now(), None);
    assert_eq!(t["metadata"], json!({"resourceVersion": "42"}));
    assert_eq!(t["rows"][0]["object"], Value::Null);
    assert!(t["rows"][0].as_object().is_some_and(|r| r.contains_key("object")));
    let t = to_table(secrets, &[secret("a")], IncludeObject::Object, now(), None);
    assert_eq!(t["rows"][0]["object"], secret("a"));
    // List items without type meta get it filled in.
    let mut bare = secret("a");
    if let Some(m) = bare.as_object_mut() {
        m.remove("kind");
        m.remove("apiVersion");
    }
    let t = to_table(info("apps", "v1", "deployments"), &[bare], IncludeObject::Object, now(), None);
    assert_eq!(t["rows"][0]["object"]["apiVersion"], "apps/v1");
    assert_eq!(t["rows"][0]["object"]["kind"], "Deployment");
}

#[test]
fn watch_event_tables() {
    let secrets = info("", "v1", "secrets");
    let first = to_table_row_event(secrets, &secret("a"), IncludeObject::Metadata, now(), true);
    assert_eq!(first["kind"], "Table");
    assert_eq!(first["metadata"], json!({"resourceVersion": "42"}));
    assert_eq!(first["columnDefinitions"], Value::from(column_definitions(secrets)));
    assert_eq!(first["rows"].as_array().map(Vec::len), Some(1));
    assert_eq!(first["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    let later = to_table_row_event(secrets, &secret("b"), IncludeObject::Metadata, now(), false);
    assert_eq!(later["columnDefinitions"], Value::Null);
    assert_eq!(later["rows"][0]["cells"], json!(["b", "Opaque", 1, "5s"]));
    // The list and the first watch event carry identical columns, so kubectl prints one header.
    let list = to_table(secrets, &[], IncludeObject::Metadata, now(), Some(&json!({})));
    assert_eq!(list["columnDefinitions"], first["columnDefinitions"]);
}

#[test]
fn partial_object_metadata_shapes() {
    let p = partial_object_metadata(&secret("a"));
    assert_eq!(p["kind"], "PartialObjectMetadata");
    assert_eq!(p["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(p["metadata"], secret("a")["metadata"]);
    assert!(p.get("data").is_none());
    assert_eq!(
        partial_object_metadata(&json!({})),
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": {}})
    );
    // Already-partial items pass through unchanged.
    assert_eq!(partial_object_metadata(&p), p);
    let list =
        partial_object_metadata_list(vec![secret("a"), secret("b")], json!({"resourceVersion": "77", "continue": ""}));
    assert_eq!(list["kind"], "PartialObjectMetadataList");
    assert_eq!(list["apiVersion"], "meta.k8s.io/v1");
    assert_eq!(list["metadata"], json!({"resourceVersion": "77"}));
    assert_eq!(list["items"][1]["metadata"]["name"], "b");
    assert_eq!(list["items"][1]["kind"], "PartialObjectMetadata");
    assert_eq!(partial_object_metadata_list(Vec::new(), json!({}))["items"], json!([]));
}
