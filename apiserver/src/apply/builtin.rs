//! Copies the generated list/map markers ([`super::list_meta`]) onto the
//! built-in OpenAPI definitions as `x-kubernetes-list-type`,
//! `x-kubernetes-list-map-keys` and `x-kubernetes-map-type` (and the
//! `default` of list-map key fields), as kube-apiserver publishes them, so
//! both kubectl and the apply engine see them.
//!
//! The table uses k8s-pb's names; definitions are matched case-insensitively
//! (`HttpGetAction` ↔ `HTTPGetAction`) and properties by their letters and
//! digits (`hostIp` ↔ `hostIP`). Rows of an inline-embedded Go struct
//! (`EphemeralContainerCommon`) also apply to the definitions that embed it,
//! recognized by the embedding field missing from their OpenAPI properties.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::list_meta::{ListMeta, EMBEDDED, KEY_DEFAULTS, LIST_META};
use super::schema::{LIST_MAP_KEYS, LIST_TYPE, MAP_TYPE};

fn norm(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// Resolves a (k8s-pb definition, field) pair to the (definition, property)
/// names in `defs`; property "" for the definition itself.
fn resolve(
    defs: &Map<String, Value>,
    index: &HashMap<String, String>,
    def: &str,
    field: &str,
) -> Option<(String, String)> {
    let name = index.get(&def.to_ascii_lowercase())?;
    if field.is_empty() {
        return Some((name.clone(), String::new()));
    }
    let props = defs.get(name)?.get("properties")?.as_object()?;
    let wanted = norm(field);
    let prop = props.keys().find(|k| *k == field).or_else(|| props.keys().find(|k| norm(k) == wanted))?;
    Some((name.clone(), prop.clone()))
}

fn index(defs: &Map<String, Value>) -> HashMap<String, String> {
    defs.keys().map(|k| (k.to_ascii_lowercase(), k.clone())).collect()
}

fn target<'d>(defs: &'d mut Map<String, Value>, def: &str, prop: &str) -> Option<&'d mut Map<String, Value>> {
    let d = defs.get_mut(def)?;
    let node = if prop.is_empty() { d } else { d.get_mut("properties")?.get_mut(prop)? };
    node.as_object_mut()
}

fn apply_row(defs: &mut Map<String, Value>, idx: &HashMap<String, String>, definition: &str, row: &ListMeta) {
    let Some((def, prop)) = resolve(defs, idx, definition, row.field) else { return };
    let Some(node) = target(defs, &def, &prop) else { return };
    if !row.list_type.is_empty() {
        node.insert(LIST_TYPE.into(), row.list_type.into());
    }
    if row.list_type == "map" && !row.keys.is_empty() {
        node.insert(LIST_MAP_KEYS.into(), Value::Array(row.keys.iter().map(|k| (*k).into()).collect()));
    }
    if !row.map_type.is_empty() {
        node.insert(MAP_TYPE.into(), row.map_type.into());
    }
}

/// The k8s-pb messages whose rows apply to `def`: itself, and the structs
/// it embeds inline (transitively).
fn embedders(defs: &Map<String, Value>, idx: &HashMap<String, String>) -> HashMap<&'static str, Vec<&'static str>> {
    let mut inline: HashMap<&'static str, Vec<&'static str>> = HashMap::new();
    for (outer, field, inner) in EMBEDDED {
        let Some(name) = idx.get(&outer.to_ascii_lowercase()) else { continue };
        let props = defs.get(name).and_then(|d| d.get("properties")).and_then(Value::as_object);
        let has_prop = props.is_some_and(|p| p.keys().any(|k| norm(k) == norm(field)));
        if !has_prop {
            inline.entry(*inner).or_default().push(*outer);
        }
    }
    // Close over chains (NamedRuleWithOperations ⊃ RuleWithOperations ⊃ Rule).
    for _ in 0..4 {
        let snapshot = inline.clone();
        for outers in inline.values_mut() {
            let extra: Vec<&str> = outers.iter().filter_map(|o| snapshot.get(o)).flatten().copied().collect();
            for e in extra {
                if !outers.contains(&e) {
                    outers.push(e);
                }
            }
        }
    }
    inline
}

/// Adds the list and map type extensions to the definitions they name.
pub fn inject(defs: &mut Map<String, Value>) {
    let idx = index(defs);
    let inline = embedders(defs, &idx);
    for row in LIST_META {
        let mut names = vec![row.definition];
        names.extend(inline.get(row.definition).into_iter().flatten());
        for name in names {
            apply_row(defs, &idx, name, row);
        }
    }

    for (def, field, default) in KEY_DEFAULTS {
        let Ok(value) = serde_json::from_str::<Value>(default) else { continue };
        let Some((def, prop)) = resolve(defs, &idx, def, field) else { continue };
        if let Some(node) = target(defs, &def, &prop) {
            node.entry("default").or_insert(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::list_meta::K8S_PB_VERSION;
    use super::*;

    #[test]
    fn builtin_definitions_carry_list_types() {
        let defs = crate::openapi::definitions();
        let prop = |d: &str, p: &str| defs.get(d).and_then(|d| d.pointer(&format!("/properties/{p}"))).cloned();
        let ports = prop("io.k8s.api.core.v1.Container", "ports").unwrap_or_default();
        assert_eq!(ports.get(LIST_TYPE), Some(&Value::from("map")));
        assert_eq!(ports.get(LIST_MAP_KEYS), Some(&serde_json::json!(["containerPort", "protocol"])));
        let protocol = prop("io.k8s.api.core.v1.ContainerPort", "protocol").unwrap_or_default();
        assert_eq!(protocol.get("default"), Some(&Value::from("TCP")));
        let args = prop("io.k8s.api.core.v1.Container", "args").unwrap_or_default();
        assert_eq!(args.get(LIST_TYPE), Some(&Value::from("atomic")));
        let fin = prop("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "finalizers").unwrap_or_default();
        assert_eq!(fin.get(LIST_TYPE), Some(&Value::from("set")));
        let selector = defs.get("io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector").cloned().unwrap_or_default();
        assert_eq!(selector.get(MAP_TYPE), Some(&Value::from("atomic")));
        let eph = prop("io.k8s.api.core.v1.EphemeralContainer", "ports").unwrap_or_default();
        assert_eq!(eph.get(LIST_MAP_KEYS), Some(&serde_json::json!(["containerPort", "protocol"])));
        let vol = prop("io.k8s.api.core.v1.Volume", "projected").unwrap_or_default();
        assert!(vol.get(LIST_TYPE).is_none());
        let rule = prop("io.k8s.api.admissionregistration.v1.NamedRuleWithOperations", "apiGroups").unwrap_or_default();
        assert_eq!(rule.get(LIST_TYPE), Some(&Value::from("atomic")));
        let host_ips = prop("io.k8s.api.core.v1.PodStatus", "hostIPs").unwrap_or_default();
        assert_eq!(host_ips.get(LIST_TYPE), Some(&Value::from("atomic")));
    }

    #[test]
    fn most_rows_resolve() {
        let mut defs = crate::openapi::definitions().clone();
        let idx = index(&defs);
        let inline = embedders(&defs, &idx);
        let core: Vec<_> = LIST_META
            .iter()
            .filter(|r| {
                r.definition.starts_with("io.k8s.api.core.v1.") || r.definition.starts_with("io.k8s.api.apps.v1.")
            })
            .collect();
        // Messages without an OpenAPI definition (options kinds) are skipped.
        let missing: Vec<_> = core
            .iter()
            .filter(|r| idx.contains_key(&r.definition.to_ascii_lowercase()) || inline.contains_key(r.definition))
            .filter(|r| {
                let mut names = vec![r.definition];
                names.extend(inline.get(r.definition).into_iter().flatten());
                names.iter().all(|n| resolve(&defs, &idx, n, r.field).is_none())
            })
            .collect();
        assert!(missing.is_empty(), "{missing:?}");
        inject(&mut defs);
    }

    #[test]
    fn generated_table_is_up_to_date() {
        crate::testing::assert_k8s_pb_generator_fresh("gen-list-types.py", K8S_PB_VERSION);
    }
}
