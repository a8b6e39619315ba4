//! Builds the OpenAPI v2 `definitions` map from k8s-openapi's schemars
//! implementations, then reshapes it into what kube-apiserver publishes:
//! list kinds, `x-kubernetes-group-version-kind`, patch strategies, and the
//! canonical forms of IntOrString and Quantity.

use std::sync::LazyLock;

use schemars::generate::SchemaSettings;
use serde_json::{json, Map, Value};

use super::types::{self, INT_OR_STRING, LIST_META, QUANTITY};
use crate::catalog::{self, RESOURCES};
use crate::patch::meta::PATCH_META;

/// Prefix of every reference in the v2 document.
pub(crate) const V2_REF: &str = "#/definitions/";

static DEFINITIONS: LazyLock<Map<String, Value>> = LazyLock::new(build);

/// All definitions, keyed by canonical name (`io.k8s.api.core.v1.Pod`).
pub fn definitions() -> &'static Map<String, Value> {
    &DEFINITIONS
}

fn build() -> Map<String, Value> {
    // k8s-openapi names each schema by its canonical definition name already;
    // draft-07 settings put them under `/definitions`. No transforms: kube keeps
    // `description` next to `$ref` in v2, which RemoveRefSiblings would undo.
    let mut gen = SchemaSettings::draft07()
        .with(|s| {
            s.meta_schema = None;
            s.transforms.clear();
        })
        .into_generator();
    types::register_all(&mut gen);
    let mut defs = gen.take_definitions(false);

    for def in defs.values_mut() {
        drop_required_metadata(def);
    }
    add_lists(&mut defs);
    add_group_version_kinds(&mut defs);
    inject_patch_meta(&mut defs);
    crate::apply::builtin::inject(&mut defs);
    if let Some(d) = defs.get_mut(INT_OR_STRING) {
        *d = json!({"description": description(d), "type": "string", "format": "int-or-string"});
    }
    if let Some(d) = defs.get_mut(QUANTITY) {
        *d = json!({"description": description(d), "type": "string"});
    }
    defs.sort_keys();
    defs
}

fn description(schema: &Value) -> Value {
    schema.get("description").cloned().unwrap_or_else(|| Value::String(String::new()))
}

/// k8s-openapi marks `metadata` required on top-level kinds because its Rust
/// field is not optional; kube's schema never requires it.
fn drop_required_metadata(def: &mut Value) {
    let Some(obj) = def.as_object_mut() else { return };
    let Some(Value::Array(req)) = obj.get_mut("required") else { return };
    req.retain(|r| r != "metadata");
    if req.is_empty() {
        obj.remove("required");
    }
}

/// `<Kind>List` for every catalog kind (k8s-openapi models lists generically).
fn add_lists(defs: &mut Map<String, Value>) {
    for r in RESOURCES {
        let name = format!("{}List", r.definition);
        if defs.contains_key(&name) || !defs.contains_key(r.definition) {
            continue;
        }
        let kind = r.kind;
        let list = json!({
            "description": format!("{kind}List is a list of {kind} objects."),
            "type": "object",
            "properties": {
                "apiVersion": {
                    "description": "APIVersion defines the versioned schema of this representation of an object. Servers should convert recognized schemas to the latest internal value, and may reject unrecognized values. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources",
                    "type": "string"
                },
                "items": {
                    "description": format!("Items is the list of {kind} objects."),
                    "type": "array",
                    "items": {"$ref": format!("{V2_REF}{}", r.definition)}
                },
                "kind": {
                    "description": "Kind is a string value representing the REST resource this object represents. Servers may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds",
                    "type": "string"
                },
                "metadata": {
                    "$ref": format!("{V2_REF}{LIST_META}"),
                    "description": "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
                }
            },
            "required": ["items"]
        });
        defs.insert(name, list);
    }
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "kind": kind, "version": version})
}

fn push_gvk(defs: &mut Map<String, Value>, def: &str, entry: Value) {
    let Some(Value::Object(obj)) = defs.get_mut(def) else { return };
    let list = obj.entry("x-kubernetes-group-version-kind").or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(items) = list {
        if !items.contains(&entry) {
            items.push(entry);
        }
    }
}

/// Every served (group, version), sorted as kube sorts the GVK lists.
pub(crate) fn served_group_versions() -> Vec<(&'static str, &'static str)> {
    let mut gvs: Vec<(&str, &str)> = Vec::new();
    // Built-in groups only: the definitions are built once, whatever CRDs exist then.
    for (g, versions) in catalog::groups().into_iter().filter(|(g, _)| catalog::is_builtin_group(g)) {
        for v in versions {
            gvs.push((g, v));
        }
    }
    gvs.sort();
    gvs
}

fn add_group_version_kinds(defs: &mut Map<String, Value>) {
    for r in RESOURCES {
        push_gvk(defs, r.definition, gvk(r.group, r.version, r.kind));
        push_gvk(defs, &format!("{}List", r.definition), gvk(r.group, r.version, &r.list_kind()));
    }
    for (def, g, v, k) in types::EXTRA_KINDS {
        push_gvk(defs, def, gvk(g, v, k));
    }
    for (g, v) in served_group_versions() {
        for (def, kind) in types::EVERY_GROUP_VERSION {
            push_gvk(defs, def, gvk(g, v, kind));
        }
    }
}

/// `x-kubernetes-patch-strategy` / `-merge-key` from the Go struct tags.
fn inject_patch_meta(defs: &mut Map<String, Value>) {
    for m in PATCH_META {
        let Some(prop) = defs
            .get_mut(m.definition)
            .and_then(|d| d.get_mut("properties"))
            .and_then(|p| p.get_mut(m.field))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        if !m.merge_key.is_empty() {
            prop.insert("x-kubernetes-patch-merge-key".into(), m.merge_key.into());
        }
        if !m.strategy.is_empty() {
            prop.insert("x-kubernetes-patch-strategy".into(), m.strategy.into());
        }
    }
}

/// The definition name a `$ref` points at.
pub(crate) fn ref_name(reference: &str) -> Option<&str> {
    reference.strip_prefix(V2_REF)
}
