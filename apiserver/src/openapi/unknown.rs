//! Unknown-field detection for `fieldValidation=Warn|Strict`, reporting paths
//! the way kube-apiserver's strict JSON decoder (sigs.k8s.io/json) does: struct
//! fields and map keys joined with `.`, list items as `[i]`, each as
//! `unknown field "<path>"`.

use serde_json::Value;

use super::definitions::{definitions, ref_name};
use crate::gofmt::go_quote as quote;

/// Nesting bound; deeper documents are not inspected further.
const MAX_DEPTH: usize = 128;

/// Every field of `obj` that definition `definition` does not declare, e.g.
/// `unknown field "spec.containers[0].imagee"`. Values kube decodes without
/// strictness are skipped: free-form objects (RawExtension, FieldsV1, JSON),
/// int-or-string / Quantity, `oneOf` unions and preserve-unknown-fields
/// schemas; map values are checked against their value schema. An unknown
/// definition yields nothing.
pub fn unknown_fields(definition: &str, obj: &Value) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(schema) = definitions().get(definition) {
        walk(schema, obj, &mut String::new(), &mut out, 0);
    }
    out
}

/// Follows `$ref`s (and single-element `allOf` wrappers) to the schema body.
fn resolve(mut schema: &Value) -> &Value {
    let defs = definitions();
    for _ in 0..MAX_DEPTH {
        if let Some(Value::Array(all)) = schema.get("allOf") {
            if let [only] = all.as_slice() {
                schema = only;
                continue;
            }
        }
        match schema.get("$ref").and_then(Value::as_str).and_then(ref_name).and_then(|n| defs.get(n)) {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

fn walk(schema: &Value, value: &Value, path: &mut String, out: &mut Vec<String>, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    let schema = resolve(schema);
    if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
        || schema.get("oneOf").is_some()
        || schema.get("anyOf").is_some()
    {
        return;
    }
    let len = path.len();
    match value {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            if props.is_none() && additional.is_none() {
                return; // free-form object
            }
            for (key, v) in map {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                match props.and_then(|p| p.get(key)).or(additional) {
                    Some(child) => walk(child, v, path, out, depth + 1),
                    None => out.push(format!("unknown field {}", quote(path))),
                }
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = schema.get("items") else { return };
            for (i, v) in items.iter().enumerate() {
                path.push_str(&format!("[{i}]"));
                walk(item_schema, v, path, out, depth + 1);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_unknown_fields_like_kube() {
        let deploy = json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}, "bogus": 1},
            "spec": {
                "foo": true,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [
                            {"name": "a", "image": "nginx", "resources": {"limits": {"cpu": "1", "memory": 5}}},
                            {"name": "b", "imagee": "busybox", "ports": [{"containerPort": 80, "nope": "x"}]}
                        ]
                    }
                }
            },
            "status": null
        });
        let got = unknown_fields("io.k8s.api.apps.v1.Deployment", &deploy);
        assert_eq!(
            got,
            vec![
                "unknown field \"metadata.bogus\"",
                "unknown field \"spec.foo\"",
                "unknown field \"spec.template.spec.containers[1].imagee\"",
                "unknown field \"spec.template.spec.containers[1].ports[0].nope\"",
            ]
        );
    }

    #[test]
    fn skips_free_form_values_and_checks_map_values() {
        let rev = json!({"metadata": {"name": "r"}, "revision": 1, "data": {"anything": {"goes": true}}});
        assert!(unknown_fields("io.k8s.api.apps.v1.ControllerRevision", &rev).is_empty());
        let pod = json!({
            "spec": {"containers": [{"name": "a", "env": [{"name": "X", "valueFrom": {"fieldRef": {"fieldPath": "x", "extra": 1}}}]}]},
            "metadata": {"managedFields": [{"fieldsV1": {"f:metadata": {}}}]}
        });
        assert_eq!(
            unknown_fields("io.k8s.api.core.v1.Pod", &pod),
            vec!["unknown field \"spec.containers[0].env[0].valueFrom.fieldRef.extra\""]
        );
        let crd = json!({"spec": {"versions": [{"name": "v1", "schema": {"openAPIV3Schema": {
            "type": "object",
            "properties": {"spec": {"type": "object", "x-whatever": 1}},
            "weird": true
        }}}]}});
        assert_eq!(
            unknown_fields("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinition", &crd),
            vec![
                "unknown field \"spec.versions[0].schema.openAPIV3Schema.properties.spec.x-whatever\"",
                "unknown field \"spec.versions[0].schema.openAPIV3Schema.weird\"",
            ]
        );
        assert!(unknown_fields("io.k8s.api.core.v1.Nope", &pod).is_empty());
        assert_eq!(quote("a\"b"), "\"a\\\"b\"");
    }
}
