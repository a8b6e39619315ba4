//! The message schema: the generated table ([`super::schema_gen`]) joined at
//! first use with the OpenAPI definitions, which give every field its exact
//! JSON name (`podIPs` for k8s-pb's `pod_ips`), tell required fields apart
//! and reveal Go's inlined embedded structs (`Volume.volumeSource`).

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;

use super::schema_gen::{GROUPS, MESSAGES, RESOURCES};
use crate::openapi::definitions;

/// Cardinality of a generated field (map keys are always strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    One,
    Many,
    Map,
}

/// Wire type of a generated field (or of a map's values).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    Str,
    Bytes,
    I32,
    I64,
    Bool,
    F64,
    Msg(&'static str),
}

/// One generated field: tag, prost's snake_case name, shape and type.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Field {
    pub tag: u32,
    pub name: &'static str,
    pub shape: Shape,
    pub ty: Ty,
}

/// One generated message, by canonical name with k8s-pb's struct casing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Message {
    pub name: &'static str,
    pub fields: &'static [Field],
}

/// (apiVersion, kind, message) of a resource.
pub(crate) type Resource = (&'static str, &'static str, &'static str);

/// Types whose JSON form is not their protobuf structure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Special {
    None,
    /// metav1.Time: RFC 3339, seconds precision; empty → null.
    Time,
    /// metav1.MicroTime: RFC 3339 with microseconds; empty → null.
    MicroTime,
    /// metav1.Duration: Go duration string.
    Duration,
    /// resource.Quantity: its string.
    Quantity,
    /// intstr.IntOrString: number or string.
    IntOrString,
    /// RawExtension, FieldsV1, apiextensions JSON: embedded JSON bytes.
    RawJson,
    /// JSONSchemaPropsOrArray: schema object or array of schemas.
    PropsOrArray,
    /// JSONSchemaPropsOrBool: schema object or bool.
    PropsOrBool,
    /// JSONSchemaPropsOrStringArray: schema object or array of strings.
    PropsOrStringArray,
    /// `type X []string` casts (ExtraValue, Verbs): the bare array.
    Items,
}

/// A resolved field type: messages by index into [`Schema::messages`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RTy {
    Str,
    Bytes,
    I32,
    I64,
    Bool,
    F64,
    Msg(usize),
}

#[derive(Debug, Clone)]
pub(crate) struct RField {
    pub tag: u32,
    pub json: String,
    pub shape: Shape,
    pub ty: RTy,
    /// Listed in the definition's `required` (Go: no `omitempty`).
    pub required: bool,
    /// A Go embedded struct (`json:",inline"`): its fields join the parent's.
    pub inline: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct RMessage {
    pub name: &'static str,
    pub special: Special,
    /// Sorted by tag.
    pub fields: Vec<RField>,
}

impl RMessage {
    pub(crate) fn field(&self, tag: u32) -> Option<&RField> {
        self.fields.binary_search_by_key(&tag, |f| f.tag).ok().and_then(|i| self.fields.get(i))
    }
}

pub(crate) struct Schema {
    pub messages: Vec<RMessage>,
    by_lower: HashMap<String, usize>,
}

static SCHEMA: LazyLock<Schema> = LazyLock::new(build);

pub(crate) fn schema() -> &'static Schema {
    &SCHEMA
}

impl Schema {
    /// A message by canonical name, case-insensitively (`io.k8s.api.core.v1.CSIDriver`).
    pub(crate) fn find(&self, name: &str) -> Option<usize> {
        self.by_lower.get(&name.to_ascii_lowercase()).copied()
    }

    /// The message a body of `apiVersion`/`kind` holds.
    pub(crate) fn for_type(&self, api_version: &str, kind: &str) -> Option<usize> {
        if let Some((_, _, m)) = RESOURCES.iter().find(|(v, k, _)| *v == api_version && *k == kind) {
            return self.find(m);
        }
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let mut packages: Vec<String> =
            GROUPS.iter().filter(|(g, _)| *g == group).map(|(_, p)| p.to_string()).collect();
        if group == "meta.k8s.io" {
            packages.push("io.k8s.apimachinery.pkg.apis.meta".into());
        } else if let Some(first) = group.split('.').next().filter(|f| !f.is_empty()) {
            packages.push(format!("io.k8s.api.{first}"));
        }
        packages
            .iter()
            .find_map(|p| self.find(&format!("{p}.{version}.{kind}")))
            // DeleteOptions, CreateOptions, ... are registered in every group version.
            .or_else(|| self.find(&format!("io.k8s.apimachinery.pkg.apis.meta.v1.{kind}")))
    }
}

/// A name reduced to its lowercase letters and digits, so JSON names meet
/// k8s-pb's snake_case ones (`podIPs` and `pod_ips`, `$ref` and `ref`).
pub(crate) fn norm(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

/// `pod_ip` → `podIp`: the last resort for names no definition knows.
fn lower_camel(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    for (i, w) in snake.split('_').filter(|w| !w.is_empty()).enumerate() {
        let mut cs = w.chars();
        match cs.next() {
            Some(c) if i > 0 => {
                out.extend(c.to_uppercase());
                out.push_str(cs.as_str());
            }
            _ => out.push_str(w),
        }
    }
    out
}

fn special(m: &Message) -> Special {
    let lower = m.name.to_ascii_lowercase();
    let (pkg, short) = lower.rsplit_once('.').unwrap_or(("", &lower));
    let meta = pkg == "io.k8s.apimachinery.pkg.apis.meta.v1";
    let apiext = pkg.starts_with("io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.");
    match short {
        "time" if meta => Special::Time,
        "microtime" if meta => Special::MicroTime,
        "duration" if meta => Special::Duration,
        "fieldsv1" if meta => Special::RawJson,
        "quantity" if pkg == "io.k8s.apimachinery.pkg.api.resource" => Special::Quantity,
        "intorstring" if pkg == "io.k8s.apimachinery.pkg.util.intstr" => Special::IntOrString,
        "rawextension" if pkg == "io.k8s.apimachinery.pkg.runtime" => Special::RawJson,
        "json" if apiext => Special::RawJson,
        "jsonschemapropsorarray" if apiext => Special::PropsOrArray,
        "jsonschemapropsorbool" if apiext => Special::PropsOrBool,
        "jsonschemapropsorstringarray" if apiext => Special::PropsOrStringArray,
        _ => match m.fields {
            [only] if only.tag == 1 && only.name == "items" && only.shape == Shape::Many && only.ty == Ty::Str => {
                if short.ends_with("list") {
                    Special::None
                } else {
                    Special::Items
                }
            }
            _ => Special::None,
        },
    }
}

/// A definition's properties keyed by [`norm`], and its `required` names.
type Props = (HashMap<String, String>, Vec<String>);

/// The [`Props`] of one definition.
fn properties(def: &Value) -> Props {
    let props = def
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.keys().map(|k| (norm(k), k.clone())).collect())
        .unwrap_or_default();
    let required = def
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    (props, required)
}

fn build() -> Schema {
    let defs = definitions();
    let def_lower: HashMap<String, &Value> = defs.iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect();
    // Every JSON property name in any definition, for messages without one.
    let mut global: HashMap<String, String> = HashMap::new();
    for def in defs.values() {
        for (s, j) in properties(def).0 {
            global.entry(s).or_insert(j);
        }
    }
    let by_lower: HashMap<String, usize> =
        MESSAGES.iter().enumerate().map(|(i, m)| (m.name.to_ascii_lowercase(), i)).collect();
    let index = |name: &str| by_lower.get(&name.to_ascii_lowercase()).copied();
    let prop_sets: Vec<Option<Props>> =
        MESSAGES.iter().map(|m| def_lower.get(&m.name.to_ascii_lowercase()).map(|d| properties(d))).collect();

    let mut messages = Vec::with_capacity(MESSAGES.len());
    for (mi, m) in MESSAGES.iter().enumerate() {
        let own = prop_sets.get(mi).and_then(Option::as_ref);
        let mut fields = Vec::with_capacity(m.fields.len());
        for f in m.fields {
            let ty = match f.ty {
                Ty::Str => RTy::Str,
                Ty::Bytes => RTy::Bytes,
                Ty::I32 => RTy::I32,
                Ty::I64 => RTy::I64,
                Ty::Bool => RTy::Bool,
                Ty::F64 => RTy::F64,
                Ty::Msg(target) => match index(target) {
                    Some(t) => RTy::Msg(t),
                    // The generator checks every reference; skip the field if not.
                    None => continue,
                },
            };
            let name = f.name.trim_end_matches('_');
            let key = norm(name);
            let (mut json, mut required, mut inline) = (None, false, false);
            if let Some((props, req)) = own {
                if let Some(j) = props.get(&key) {
                    required = req.contains(j);
                    json = Some(j.clone());
                } else if let (RTy::Msg(t), Shape::One) = (ty, f.shape) {
                    // Embedded struct: most of its fields are the parent's.
                    let child = MESSAGES.get(t).map(|c| c.fields).unwrap_or_default();
                    let shared = child.iter().filter(|c| props.contains_key(&norm(c.name))).count();
                    inline = shared > 0 && shared * 2 >= child.len();
                }
            }
            let json = json.or_else(|| global.get(&key).cloned()).unwrap_or_else(|| lower_camel(name));
            fields.push(RField { tag: f.tag, json, shape: f.shape, ty, required, inline });
        }
        fields.sort_by_key(|f| f.tag);
        messages.push(RMessage { name: m.name, special: special(m), fields });
    }
    Schema { messages, by_lower }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_meet() {
        assert_eq!(norm("podIPs"), norm("pod_ips"));
        assert_eq!(norm("openAPIV3Schema"), norm("open_apiv3_schema"));
        assert_eq!(norm("x-kubernetes-preserve-unknown-fields"), norm("x_kubernetes_preserve_unknown_fields"));
        assert_eq!(norm("$ref"), "ref");
        assert_eq!(lower_camel("pod_ip"), "podIp");
    }

    #[test]
    fn resolves_json_names_and_types() {
        let s = schema();
        let pod_status = s.find("io.k8s.api.core.v1.PodStatus").and_then(|i| s.messages.get(i));
        let names: Vec<&str> =
            pod_status.map(|m| m.fields.iter().map(|f| f.json.as_str()).collect()).unwrap_or_default();
        assert!(names.contains(&"podIPs") && names.contains(&"hostIPs") && names.contains(&"podIP"), "{names:?}");
        let vol = s.find("io.k8s.api.core.v1.Volume").and_then(|i| s.messages.get(i));
        assert!(vol.is_some_and(|v| v.field(2).is_some_and(|f| f.inline)));
        assert_eq!(s.for_type("apps/v1", "Deployment"), s.find("io.k8s.api.apps.v1.Deployment"));
        assert_eq!(s.for_type("policy/v1", "Eviction"), s.find("io.k8s.api.policy.v1.Eviction"));
        assert_eq!(
            s.for_type("apps/v1", "DeleteOptions"),
            s.find("io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions")
        );
        assert_eq!(s.for_type("rbac.authorization.k8s.io/v1", "Role"), s.find("io.k8s.api.rbac.v1.Role"));
        assert_eq!(s.for_type("storage.k8s.io/v1", "CSIDriver"), s.find("io.k8s.api.storage.v1.CSIDriver"));
        assert!(s.for_type("v1", "NoSuchKind").is_none());
        let items = s.find("io.k8s.api.authentication.v1.ExtraValue").and_then(|i| s.messages.get(i));
        assert_eq!(items.map(|m| m.special), Some(Special::Items));
    }
}
