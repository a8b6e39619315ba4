//! OpenAPI of custom resources: each served CRD version becomes a definition
//! (`com.example.v1.Widget`, plus its `…List`) built from its
//! `openAPIV3Schema`, with `metadata` pointing at ObjectMeta and the
//! group-version-kind extension kubectl looks for. Documents that include
//! them are rebuilt when the served CRDs change (`registry::generation`).

use serde_json::{json, Map, Value};

use crate::catalog;
use crate::crd::registry;

const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
const API_VERSION_DOC: &str = "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources";
const KIND_DOC: &str = "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";
const METADATA_DOC: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";

/// Groups served only by custom resources, with their versions (preferred first).
pub(crate) fn custom_groups() -> Vec<(&'static str, Vec<&'static str>)> {
    catalog::groups().into_iter().filter(|(g, _)| !catalog::is_builtin_group(g)).collect()
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!([{"group": group, "kind": kind, "version": version}])
}

pub fn object_definition(group: &str, version: &str, kind: &str, schema: &Value) -> Value {
    let mut def = match schema {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    def.entry("type").or_insert_with(|| "object".into());
    let props = def.entry("properties").or_insert_with(|| json!({}));
    if let Some(p) = props.as_object_mut() {
        p.insert("apiVersion".into(), json!({"description": API_VERSION_DOC, "type": "string"}));
        p.insert("kind".into(), json!({"description": KIND_DOC, "type": "string"}));
        p.insert(
            "metadata".into(),
            json!({"description": METADATA_DOC, "allOf": [{"$ref": format!("#/definitions/{OBJECT_META}")}]}),
        );
    }
    def.insert("x-kubernetes-group-version-kind".into(), gvk(group, version, kind));
    Value::Object(def)
}

fn list_definition(group: &str, version: &str, kind: &str, item_def: &str) -> Value {
    json!({
        "description": format!("{kind}List is a list of {kind}"),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": {"description": API_VERSION_DOC, "type": "string"},
            "items": {
                "description": format!("List of {}. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md", kind.to_lowercase()),
                "type": "array",
                "items": {"$ref": format!("#/definitions/{item_def}")},
            },
            "kind": {"description": KIND_DOC, "type": "string"},
            "metadata": {"description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds", "allOf": [{"$ref": format!("#/definitions/{LIST_META}")}]},
        },
        "x-kubernetes-group-version-kind": gvk(group, version, &format!("{kind}List")),
    })
}

/// v2-shaped definitions of every served custom resource version.
pub(crate) fn custom_definitions() -> Map<String, Value> {
    let mut defs = Map::new();
    for row in registry::rows() {
        let Some(s) = registry::serving(row) else { continue };
        let Some(v) = s.version(row.version) else { continue };
        defs.insert(row.definition.to_string(), object_definition(row.group, row.version, row.kind, &v.schema));
        defs.insert(
            format!("{}List", row.definition),
            list_definition(row.group, row.version, row.kind, row.definition),
        );
    }
    defs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_definition_points_metadata_at_object_meta() {
        let d = object_definition(
            "example.com",
            "v1",
            "Widget",
            &json!({"type": "object", "properties": {"spec": {"type": "object"}}}),
        );
        assert_eq!(
            d.pointer("/properties/metadata/allOf/0/$ref"),
            Some(&json!(format!("#/definitions/{OBJECT_META}")))
        );
        assert_eq!(d.pointer("/properties/spec/type"), Some(&json!("object")));
        assert_eq!(d.pointer("/x-kubernetes-group-version-kind/0/kind"), Some(&json!("Widget")));
        let l = list_definition("example.com", "v1", "Widget", "com.example.v1.Widget");
        assert_eq!(l.pointer("/properties/items/items/$ref"), Some(&json!("#/definitions/com.example.v1.Widget")));
    }
}
