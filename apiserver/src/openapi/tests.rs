//! Tests of the generated definitions and the v2/v3 documents.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::*;
use crate::catalog::RESOURCES;
use crate::patch::meta::PATCH_META;

fn refs(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(obj) => {
            for (k, x) in obj {
                match (k.as_str(), x) {
                    ("$ref", Value::String(r)) => {
                        assert!(r.starts_with(prefix), "foreign ref {r}");
                        out.insert(r[prefix.len()..].to_string());
                    }
                    _ => refs(x, prefix, out),
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|x| refs(x, prefix, out)),
        _ => {}
    }
}

fn has_gvk(def: &Value, group: &str, version: &str, kind: &str) -> bool {
    def["x-kubernetes-group-version-kind"]
        .as_array()
        .is_some_and(|l| l.contains(&json!({"group": group, "version": version, "kind": kind})))
}

#[test]
fn every_catalog_row_has_a_definition_with_its_gvk() {
    let defs = definitions();
    for r in RESOURCES {
        let def = defs.get(r.definition).unwrap_or_else(|| panic!("{} missing", r.definition));
        assert!(has_gvk(def, r.group, r.version, r.kind), "{}", r.definition);
        let list = &defs[&format!("{}List", r.definition)];
        assert!(has_gvk(list, r.group, r.version, &r.list_kind()), "{} list", r.definition);
        assert!(def.get("required").is_none_or(|req| !req.as_array().is_some_and(|a| a.contains(&json!("metadata")))));
    }
    // HPA v1/v2 and the two Event kinds stay apart.
    assert!(has_gvk(
        &defs["io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler"],
        "autoscaling",
        "v1",
        "HorizontalPodAutoscaler"
    ));
    assert!(!has_gvk(
        &defs["io.k8s.api.autoscaling.v1.HorizontalPodAutoscaler"],
        "autoscaling",
        "v2",
        "HorizontalPodAutoscaler"
    ));
    assert!(has_gvk(&defs["io.k8s.api.events.v1.Event"], "events.k8s.io", "v1", "Event"));
    assert!(!has_gvk(&defs["io.k8s.api.core.v1.Event"], "events.k8s.io", "v1", "Event"));
    let delete = &defs["io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"];
    assert!(has_gvk(delete, "", "v1", "DeleteOptions") && has_gvk(delete, "apps", "v1", "DeleteOptions"));
    assert!(has_gvk(&defs["io.k8s.api.autoscaling.v1.Scale"], "autoscaling", "v1", "Scale"));
}

#[test]
fn canonical_names_and_int_or_string() {
    let defs = definitions();
    for name in [
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        "io.k8s.apimachinery.pkg.runtime.RawExtension",
    ] {
        assert!(defs.contains_key(name), "{name}");
    }
    let ios = &defs["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
    assert_eq!((ios["type"].as_str(), ios["format"].as_str()), (Some("string"), Some("int-or-string")));
    assert_eq!(defs["io.k8s.apimachinery.pkg.api.resource.Quantity"]["type"], "string");
}

#[test]
fn v2_refs_resolve_and_strategy_is_reachable() {
    let doc: Value = serde_json::from_slice(&v2_json()).expect("v2 json");
    assert_eq!(doc["swagger"], "2.0");
    let mut seen = BTreeSet::new();
    refs(&doc, "#/definitions/", &mut seen);
    let defs = doc["definitions"].as_object().expect("definitions");
    for r in &seen {
        assert!(defs.contains_key(r), "unresolved {r}");
    }
    let spec_ref = defs["io.k8s.api.apps.v1.Deployment"]["properties"]["spec"]["$ref"].as_str().expect("spec ref");
    let spec = &defs[spec_ref.trim_start_matches("#/definitions/")];
    let strategy = spec["properties"]["strategy"]["$ref"].as_str().expect("strategy");
    assert_eq!(strategy, "#/definitions/io.k8s.api.apps.v1.DeploymentStrategy");
    let op = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
    assert_eq!(op["x-kubernetes-action"], "patch");
    assert!(op["consumes"].as_array().is_some_and(|c| c.contains(&json!("application/strategic-merge-patch+json"))));
    let ids: Vec<&str> = doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
        .filter_map(Value::as_object)
        .flat_map(|item| item.values().filter_map(|o| o["operationId"].as_str()))
        .collect();
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "operationIds are unique");
}

#[test]
fn patch_meta_is_injected() {
    let defs = definitions();
    for m in PATCH_META {
        let Some(prop) = defs.get(m.definition).and_then(|d| d.get("properties")).and_then(|p| p.get(m.field)) else {
            continue;
        };
        if !m.strategy.is_empty() {
            assert_eq!(prop["x-kubernetes-patch-strategy"], m.strategy, "{}.{}", m.definition, m.field);
        }
        if !m.merge_key.is_empty() {
            assert_eq!(prop["x-kubernetes-patch-merge-key"], m.merge_key, "{}.{}", m.definition, m.field);
        }
    }
    if PATCH_META.iter().any(|m| m.definition == "io.k8s.api.core.v1.PodSpec" && m.field == "containers") {
        let c = &defs["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
        assert_eq!(
            (c["x-kubernetes-patch-strategy"].as_str(), c["x-kubernetes-patch-merge-key"].as_str()),
            (Some("merge"), Some("name"))
        );
    }
}

fn v3(path: &str) -> Value {
    let (bytes, hash) = v3_document(path).unwrap_or_else(|| panic!("{path}"));
    assert_eq!(hash.len(), 64);
    serde_json::from_slice(&bytes).expect("v3 json")
}

#[test]
fn v3_index_points_at_every_document() {
    let index = v3_index();
    let paths = index["paths"].as_object().expect("paths");
    for key in ["api", "api/v1", "apis", "apis/apps", "apis/apps/v1", "apis/autoscaling/v1", "apis/autoscaling/v2"] {
        let url = paths[key]["serverRelativeURL"].as_str().expect("url");
        let (_, hash) = v3_document(key).expect("doc");
        assert_eq!(url, format!("/openapi/v3/{key}?hash={hash}"));
    }
    assert!(v3_document("apis/apps/v9").is_none());
    assert!(v3_document("/apis/apps/v1").is_some());
}

#[test]
fn v3_documents_resolve_and_carry_what_kubectl_reads() {
    for key in v3_index()["paths"].as_object().expect("paths").keys() {
        let doc = v3(key);
        assert_eq!(doc["openapi"], "3.0.0");
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        let mut seen = BTreeSet::new();
        refs(&doc, "#/components/schemas/", &mut seen);
        for r in &seen {
            assert!(schemas.contains_key(r), "{key}: unresolved {r}");
        }
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in ["post", "put", "patch"] {
                let Some(op) = item.get(method) else { continue };
                let names: Vec<&str> =
                    op["parameters"].as_array().into_iter().flatten().filter_map(|p| p["name"].as_str()).collect();
                assert!(names.contains(&"fieldValidation"), "{path} {method}");
                if method == "patch" {
                    assert!(op["requestBody"]["content"].get("application/strategic-merge-patch+json").is_some());
                }
            }
        }
    }
    let apps = v3("apis/apps/v1");
    let schemas = &apps["components"]["schemas"];
    assert!(has_gvk(&schemas["io.k8s.api.apps.v1.Deployment"], "apps", "v1", "Deployment"));
    let strategy = &schemas["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"];
    assert_eq!(strategy["allOf"][0]["$ref"], "#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy");
    assert!(strategy["description"].is_string());
    let ios = &schemas["io.k8s.apimachinery.pkg.util.intstr.IntOrString"];
    assert_eq!(ios["oneOf"], json!([{"type": "integer"}, {"type": "string"}]));
    let list = &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]["get"];
    assert_eq!(
        list["x-kubernetes-group-version-kind"],
        json!({"group": "apps", "version": "v1", "kind": "Deployment"})
    );
    let core = v3("api/v1");
    let containers = &core["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"]["properties"]["containers"];
    assert_eq!(containers["items"]["$ref"], "#/components/schemas/io.k8s.api.core.v1.Container");
    assert!(core["components"]["schemas"].get("io.k8s.api.apps.v1.Deployment").is_none());
}
