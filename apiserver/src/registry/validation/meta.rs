//! ObjectMeta validation (create and update), labels, annotations, finalizers,
//! owner references and label selectors, after apimachinery's `ValidateObjectMeta`.

use serde_json::Value;

use crate::catalog::ResourceInfo;
use crate::error::Cause;

use super::names::{check_name, is_dns1123_label, is_qualified_name, is_valid_label_value, NameRule};
use super::util::{
    arr, boolean, get, go_json, int, invalid, invalid_raw, map, required_detail, s, same, str_map, too_long,
};

/// kube's 256 KiB limit on the sum of annotation keys and values.
const TOTAL_ANNOTATION_SIZE: usize = 256 * 1024;

/// The name rule of each resource (namespaces DNS labels, services DNS-1035,
/// RBAC and persistent volumes path segments, CSRs anything).
pub(crate) fn name_rule(info: &ResourceInfo) -> NameRule {
    match (info.group, info.kind) {
        ("", "Namespace") => NameRule::Label,
        ("", "Service") => NameRule::Dns1035,
        ("apps", "StatefulSet") => NameRule::Label,
        ("", "PersistentVolume") => NameRule::PathSegment,
        // core/v1 Events only get the generic path-segment check.
        ("", "Event") => NameRule::PathSegment,
        ("rbac.authorization.k8s.io", _) => NameRule::PathSegment,
        ("certificates.k8s.io", _) => NameRule::Any,
        _ => NameRule::Subdomain,
    }
}

/// `ValidateObjectMeta` plus core's finalizer-name check.
pub(crate) fn validate_create(info: &ResourceInfo, obj: &Value) -> Vec<Cause> {
    let rule = name_rule(info);
    let mut errs = Vec::new();
    let generate_name = s(obj, &["metadata", "generateName"]);
    if !generate_name.is_empty() {
        for msg in check_name(rule, generate_name, true) {
            errs.push(invalid("metadata.generateName", generate_name, msg));
        }
    }
    let name = s(obj, &["metadata", "name"]);
    if name.is_empty() {
        errs.push(required_detail("metadata.name", "name or generateName is required"));
    } else {
        for msg in check_name(rule, name, false) {
            errs.push(invalid("metadata.name", name, msg));
        }
    }
    let namespace = s(obj, &["metadata", "namespace"]);
    if info.namespaced {
        if namespace.is_empty() {
            errs.push(Cause::required("metadata.namespace"));
        } else {
            for msg in is_dns1123_label(namespace) {
                errs.push(invalid("metadata.namespace", namespace, msg));
            }
        }
    } else if !namespace.is_empty() {
        errs.push(Cause::forbidden("metadata.namespace", "not allowed on this type"));
    }
    if let Some(g) = int(obj, &["metadata", "generation"]).filter(|g| *g < 0) {
        errs.push(invalid_raw("metadata.generation", g, "must be greater than or equal to 0"));
    }
    errs.extend(common(obj));
    let finalizers = arr(obj, &["metadata", "finalizers"]);
    errs.extend(validate_finalizers(finalizers, "metadata.finalizers"));
    errs.extend(kube_finalizer_names(info, finalizers));
    errs
}

/// `ValidateObjectMetaUpdate`: identity fields are immutable; labels and the
/// rest are validated again (the name format is not).
pub(crate) fn validate_update(info: &ResourceInfo, new: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    if get(old, &["metadata", "deletionTimestamp"]).is_some_and(|v| !v.is_null()) {
        let old_f: Vec<&str> = arr(old, &["metadata", "finalizers"]).iter().filter_map(Value::as_str).collect();
        let mut extra: Vec<&str> = arr(new, &["metadata", "finalizers"])
            .iter()
            .filter_map(Value::as_str)
            .filter(|f| !old_f.contains(f))
            .collect();
        extra.sort();
        extra.dedup();
        if !extra.is_empty() {
            let list = extra.iter().map(|f| format!("{f:?}")).collect::<Vec<_>>().join(", ");
            errs.push(Cause::forbidden(
                "metadata.finalizers",
                format!("no new finalizers can be added if the object is being deleted, found new finalizers []string{{{list}}}"),
            ));
        }
    }
    if let (Some(n), Some(o)) = (int(new, &["metadata", "generation"]), int(old, &["metadata", "generation"])) {
        if n < o {
            errs.push(invalid_raw("metadata.generation", n, "must not be decremented"));
        }
    }
    // The lead fills unset system fields from the stored object; only a value
    // the client actually changed is an error.
    for key in ["name", "namespace", "uid", "creationTimestamp"] {
        let n = s(new, &["metadata", key]);
        let o = s(old, &["metadata", key]);
        if !n.is_empty() && n != o {
            errs.push(invalid(format!("metadata.{key}"), n, "field is immutable"));
        }
    }
    errs.extend(common(new));
    errs.extend(kube_finalizer_names(info, arr(new, &["metadata", "finalizers"])));
    errs
}

/// Labels, annotations and owner references (checked on create and update).
fn common(obj: &Value) -> Vec<Cause> {
    let mut errs = validate_labels(obj, &["metadata", "labels"], "metadata.labels");
    errs.extend(validate_annotations(obj, &["metadata", "annotations"], "metadata.annotations"));
    errs.extend(validate_owner_references(arr(obj, &["metadata", "ownerReferences"])));
    errs
}

/// `ValidateLabels`: qualified-name keys and label values, reported on the map's path.
pub(crate) fn validate_labels(obj: &Value, path: &[&str], field: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    for (k, v) in str_map(obj, path) {
        errs.extend(validate_label_name(&k, field));
        for msg in is_valid_label_value(&v) {
            errs.push(invalid(field, &v, msg));
        }
    }
    errs
}

pub(crate) fn validate_label_name(key: &str, field: &str) -> Vec<Cause> {
    is_qualified_name(key).into_iter().map(|msg| invalid(field, key, msg)).collect()
}

/// `ValidateAnnotations`: case-insensitive qualified-name keys and a total size cap.
pub(crate) fn validate_annotations(obj: &Value, path: &[&str], field: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let mut total = 0usize;
    for (k, v) in str_map(obj, path) {
        for msg in is_qualified_name(&k.to_lowercase()) {
            errs.push(invalid(field, &k, msg));
        }
        total += k.len() + v.len();
    }
    if total > TOTAL_ANNOTATION_SIZE {
        errs.push(too_long(field, TOTAL_ANNOTATION_SIZE));
    }
    errs
}

fn validate_finalizers(finalizers: &[Value], field: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let names: Vec<&str> = finalizers.iter().filter_map(Value::as_str).collect();
    for f in &names {
        for msg in is_qualified_name(f) {
            errs.push(invalid(field, f, msg));
        }
    }
    if names.contains(&"orphan") && names.contains(&"foregroundDeletion") {
        let rendered = go_json(&Value::Array(finalizers.to_vec()));
        errs.push(invalid_raw(field, rendered, "finalizer orphan and foregroundDeletion cannot be both set"));
    }
    errs
}

/// Types validated with core's `ValidateObjectMeta` (all built-ins but the
/// admission and CRD groups) also reject unqualified non-standard finalizers.
fn kube_finalizer_names(info: &ResourceInfo, finalizers: &[Value]) -> Vec<Cause> {
    if matches!(info.group, "admissionregistration.k8s.io" | "apiextensions.k8s.io") {
        return Vec::new();
    }
    finalizers
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let f = f.as_str().unwrap_or("");
            (!f.contains('/') && !is_standard_finalizer(f)).then(|| {
                invalid(
                    format!("metadata.finalizers[{i}]"),
                    f,
                    "name is neither a standard finalizer name nor is it fully qualified",
                )
            })
        })
        .collect()
}

pub(crate) fn is_standard_finalizer(f: &str) -> bool {
    matches!(f, "kubernetes" | "orphan" | "foregroundDeletion")
}

fn validate_owner_references(refs: &[Value]) -> Vec<Cause> {
    let field = "metadata.ownerReferences";
    let mut errs = Vec::new();
    let mut first_controller = String::new();
    for r in refs {
        let api_version = s(r, &["apiVersion"]);
        let kind = s(r, &["kind"]);
        // schema.FromAPIVersionAndKind: "a/b/c" does not parse, leaving no version.
        let version = match api_version.split('/').collect::<Vec<_>>().as_slice() {
            [v] => *v,
            [_, v] => *v,
            _ => "",
        };
        if version.is_empty() {
            errs.push(invalid(format!("{field}.apiVersion"), api_version, "version must not be empty"));
        }
        if kind.is_empty() {
            errs.push(invalid(format!("{field}.kind"), kind, "must not be empty"));
        }
        if s(r, &["name"]).is_empty() {
            errs.push(invalid(format!("{field}.name"), "", "must not be empty"));
        }
        if s(r, &["uid"]).is_empty() {
            errs.push(invalid(format!("{field}.uid"), "", "must not be empty"));
        }
        if api_version == "v1" && kind == "Event" {
            errs.push(invalid_raw(field, go_json(r), "/v1, Kind=Event is disallowed from being an owner"));
        }
        if boolean(r, &["controller"]) == Some(true) {
            let this = format!("{kind}/{}", s(r, &["name"]));
            if first_controller.is_empty() {
                first_controller = this;
            } else {
                errs.push(invalid_raw(
                    field,
                    go_json(&Value::Array(refs.to_vec())),
                    format!("Only one reference can have Controller set to true. Found \"true\" in references for {first_controller} and {this}"),
                ));
            }
        }
    }
    errs
}

/// `ValidateLabelSelector` for a `metav1.LabelSelector` at `field`.
pub(crate) fn validate_label_selector(sel: Option<&Value>, field: &str) -> Vec<Cause> {
    let Some(sel) = sel.filter(|v| v.is_object()) else { return Vec::new() };
    let mut errs = validate_labels(sel, &["matchLabels"], &format!("{field}.matchLabels"));
    for (i, e) in arr(sel, &["matchExpressions"]).iter().enumerate() {
        let path = format!("{field}.matchExpressions[{i}]");
        let values = arr(e, &["values"]);
        match s(e, &["operator"]) {
            "In" | "NotIn" => {
                if values.is_empty() {
                    errs.push(required_detail(
                        format!("{path}.values"),
                        "must be specified when `operator` is 'In' or 'NotIn'",
                    ));
                }
            }
            "Exists" | "DoesNotExist" => {
                if !values.is_empty() {
                    errs.push(Cause::forbidden(
                        format!("{path}.values"),
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    ));
                }
            }
            op => errs.push(invalid(format!("{path}.operator"), op, "not a valid selector operator")),
        }
        errs.extend(validate_label_name(s(e, &["key"]), &format!("{path}.key")));
        for (j, v) in values.iter().enumerate() {
            let v = v.as_str().unwrap_or("");
            for msg in is_valid_label_value(v) {
                errs.push(invalid(format!("{path}.values[{j}]"), v, msg));
            }
        }
    }
    errs
}

/// Whether a label selector matches a label set. `None` selects nothing (as
/// `LabelSelectorAsSelector(nil)`); an empty selector selects everything.
pub(crate) fn selector_matches(sel: Option<&Value>, labels: &[(String, String)]) -> bool {
    let Some(sel) = sel.filter(|v| v.is_object()) else { return false };
    let get_label = |k: &str| labels.iter().find(|(lk, _)| lk == k).map(|(_, v)| v.as_str());
    let labels_ok =
        map(sel, &["matchLabels"]).into_iter().flatten().all(|(k, v)| get_label(k) == Some(v.as_str().unwrap_or("")));
    let exprs_ok = arr(sel, &["matchExpressions"]).iter().all(|e| {
        let values: Vec<&str> = arr(e, &["values"]).iter().filter_map(Value::as_str).collect();
        let have = get_label(s(e, &["key"]));
        match s(e, &["operator"]) {
            "In" => have.is_some_and(|v| values.contains(&v)),
            "NotIn" => have.is_none_or(|v| !values.contains(&v)),
            "Exists" => have.is_some(),
            "DoesNotExist" => have.is_none(),
            _ => false,
        }
    });
    labels_ok && exprs_ok
}

/// Whether a selector has no requirements at all.
pub(crate) fn selector_is_empty(sel: Option<&Value>) -> bool {
    sel.is_none_or(|v| same(Some(v), None))
        || (map(v_or_null(sel), &["matchLabels"]).is_none_or(|m| m.is_empty())
            && arr(v_or_null(sel), &["matchExpressions"]).is_empty())
}

fn v_or_null(v: Option<&Value>) -> &Value {
    static NULL: Value = Value::Null;
    v.unwrap_or(&NULL)
}
