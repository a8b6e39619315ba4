//! Defaults of Namespaces, Secrets, storage, RBAC, networking, autoscaling,
//! admission webhooks and CRDs.

use base64::Engine;
use serde_json::{json, Map, Value};

use super::pod::source_defaults;
use super::{at, child, each, set_if_absent, set_if_unset, status_shell};

pub(super) fn str_of<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for k in path {
        match cur.get(*k) {
            Some(x) => cur = x,
            None => return "",
        }
    }
    cur.as_str().unwrap_or("")
}

pub(super) fn namespace(obj: &mut Value) {
    let name = str_of(obj, &["metadata", "name"]).to_string();
    if !name.is_empty() {
        if let Some(labels) = child(obj, "metadata").and_then(|m| child(m, "labels")) {
            if let Some(m) = labels.as_object_mut() {
                m.insert("kubernetes.io/metadata.name".into(), json!(name));
            }
        }
    }
    if let Some(status) = child(obj, "status") {
        set_if_unset(status, "phase", json!("Active"));
    }
}

/// Namespace `PrepareForCreate`: active, with the `kubernetes` finalizer.
pub(super) fn namespace_create(obj: &mut Value) {
    if let Some(m) = obj.as_object_mut() {
        m.insert("status".into(), json!({"phase": "Active"}));
    }
    let Some(spec) = child(obj, "spec") else { return };
    let Some(m) = spec.as_object_mut() else { return };
    let list = m.entry("finalizers").or_insert_with(|| Value::Array(Vec::new()));
    if !list.is_array() {
        *list = Value::Array(Vec::new());
    }
    if let Some(a) = list.as_array_mut() {
        if !a.iter().any(|f| f.as_str() == Some("kubernetes")) {
            a.push(json!("kubernetes"));
        }
    }
}

/// Type Opaque; `stringData` is merged into `data` (base64) as v1 conversion does.
pub(super) fn secret(obj: &mut Value) {
    set_if_unset(obj, "type", json!("Opaque"));
    let Some(m) = obj.as_object_mut() else { return };
    let Some(Value::Object(string_data)) = m.remove("stringData") else { return };
    let data = m.entry("data").or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    if let Some(d) = data.as_object_mut() {
        for (k, v) in string_data {
            let text = v.as_str().unwrap_or("");
            d.insert(k, json!(base64::engine::general_purpose::STANDARD.encode(text)));
        }
    }
}

pub(super) fn pvc(obj: &mut Value) {
    if let Some(spec) = child(obj, "spec") {
        set_if_absent(spec, "volumeMode", json!("Filesystem"));
    }
    if let Some(status) = child(obj, "status") {
        set_if_unset(status, "phase", json!("Pending"));
    }
}

pub(super) fn pv(obj: &mut Value) {
    if let Some(spec) = child(obj, "spec") {
        set_if_unset(spec, "persistentVolumeReclaimPolicy", json!("Retain"));
        set_if_absent(spec, "volumeMode", json!("Filesystem"));
        source_defaults(spec);
        if let Some(hp) = at(spec, &["hostPath"]) {
            set_if_absent(hp, "type", json!(""));
        }
    }
    if let Some(status) = child(obj, "status") {
        set_if_unset(status, "phase", json!("Pending"));
    }
}

/// `SetDefaults_NodeStatus`: allocatable defaults to capacity.
pub(super) fn node(obj: &mut Value) {
    if let Some(status) = at(obj, &["status"]) {
        if let Some(cap) = status.get("capacity").filter(|c| c.is_object()).cloned() {
            set_if_absent(status, "allocatable", cap);
        }
    }
}

pub(super) fn endpoints(obj: &mut Value) {
    for ss in each(obj, "subsets") {
        for p in each(ss, "ports") {
            set_if_unset(p, "protocol", json!("TCP"));
        }
    }
}

pub(super) fn endpoint_slice(obj: &mut Value) {
    for p in each(obj, "ports") {
        set_if_absent(p, "name", json!(""));
        set_if_absent(p, "protocol", json!("TCP"));
    }
}

/// Container limit items: default from max, defaultRequest from default, then min.
pub(super) fn limit_range(obj: &mut Value) {
    let Some(spec) = at(obj, &["spec"]) else { return };
    for item in each(spec, "limits") {
        if str_of(item, &["type"]) != "Container" {
            continue;
        }
        let bag = |v: &Value, k: &str| v.get(k).and_then(Value::as_object).cloned().unwrap_or_default();
        let (max, min) = (bag(item, "max"), bag(item, "min"));
        let mut default = bag(item, "default");
        let mut default_request = bag(item, "defaultRequest");
        for (k, v) in max {
            default.entry(k).or_insert(v);
        }
        for (k, v) in default.clone().into_iter().chain(min) {
            default_request.entry(k).or_insert(v);
        }
        if let Some(m) = item.as_object_mut() {
            m.insert("default".into(), Value::Object(default));
            m.insert("defaultRequest".into(), Value::Object(default_request));
        }
    }
}

pub(super) fn role_binding(obj: &mut Value) {
    if let Some(r) = child(obj, "roleRef") {
        set_if_unset(r, "apiGroup", json!("rbac.authorization.k8s.io"));
    }
    for s in each(obj, "subjects") {
        if matches!(str_of(s, &["kind"]), "User" | "Group") {
            set_if_unset(s, "apiGroup", json!("rbac.authorization.k8s.io"));
        }
    }
}

pub(super) fn storage_class(obj: &mut Value) {
    set_if_absent(obj, "reclaimPolicy", json!("Delete"));
    set_if_absent(obj, "volumeBindingMode", json!("Immediate"));
}

pub(super) fn csi_driver(obj: &mut Value) {
    let Some(spec) = child(obj, "spec") else { return };
    for (k, v) in [
        ("attachRequired", json!(true)),
        ("podInfoOnMount", json!(false)),
        ("storageCapacity", json!(false)),
        ("fsGroupPolicy", json!("ReadWriteOnceWithFSType")),
        ("requiresRepublish", json!(false)),
        ("seLinuxMount", json!(false)),
    ] {
        set_if_absent(spec, k, v);
    }
    if spec.get("volumeLifecycleModes").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        if let Some(m) = spec.as_object_mut() {
            m.insert("volumeLifecycleModes".into(), json!(["Persistent"]));
        }
    }
}

pub(super) fn network_policy(obj: &mut Value) {
    let Some(spec) = child(obj, "spec") else { return };
    for dir in ["ingress", "egress"] {
        for rule in each(spec, dir) {
            for p in each(rule, "ports") {
                set_if_absent(p, "protocol", json!("TCP"));
            }
        }
    }
    if spec.get("policyTypes").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        let egress = spec.get("egress").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
        let types = if egress { json!(["Ingress", "Egress"]) } else { json!(["Ingress"]) };
        if let Some(m) = spec.as_object_mut() {
            m.insert("policyTypes".into(), types);
        }
    }
}

pub(super) fn ingress_class(obj: &mut Value) {
    if let Some(p) = at(obj, &["spec", "parameters"]) {
        set_if_absent(p, "scope", json!("Cluster"));
    }
}

/// HPA defaults: minReplicas 1; on v2 a CPU 80% target when no metrics, and
/// full scaling rules once `behavior` is given.
pub(super) fn hpa(obj: &mut Value, v1: bool) {
    if let Some(spec) = child(obj, "spec") {
        set_if_absent(spec, "minReplicas", json!(1));
        if !v1 {
            if spec.get("metrics").and_then(Value::as_array).is_none_or(Vec::is_empty) {
                if let Some(m) = spec.as_object_mut() {
                    m.insert(
                        "metrics".into(),
                        json!([{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]),
                    );
                }
            }
            if let Some(b) = at(spec, &["behavior"]) {
                scaling_rules(
                    b,
                    "scaleUp",
                    json!(0),
                    json!([{"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]),
                );
                scaling_rules(
                    b,
                    "scaleDown",
                    Value::Null,
                    json!([{"type": "Percent", "value": 100, "periodSeconds": 15}]),
                );
            }
        }
    }
    let shell = if v1 { json!({"currentReplicas": 0, "desiredReplicas": 0}) } else { json!({"desiredReplicas": 0}) };
    status_shell(obj, shell);
}

fn scaling_rules(behavior: &mut Value, key: &str, window: Value, policies: Value) {
    let Some(rules) = child(behavior, key) else { return };
    set_if_absent(rules, "selectPolicy", json!("Max"));
    if !window.is_null() {
        set_if_absent(rules, "stabilizationWindowSeconds", window);
    }
    set_if_absent(rules, "policies", policies);
}

/// Webhook configuration defaults (admissionregistration/v1).
pub(super) fn webhooks(obj: &mut Value, mutating: bool) {
    for h in each(obj, "webhooks") {
        set_if_absent(h, "failurePolicy", json!("Fail"));
        set_if_absent(h, "matchPolicy", json!("Equivalent"));
        set_if_absent(h, "namespaceSelector", json!({}));
        set_if_absent(h, "objectSelector", json!({}));
        set_if_absent(h, "timeoutSeconds", json!(10));
        if mutating {
            set_if_absent(h, "reinvocationPolicy", json!("Never"));
        }
        for r in each(h, "rules") {
            set_if_absent(r, "scope", json!("*"));
        }
        if let Some(svc) = at(h, &["clientConfig", "service"]) {
            set_if_absent(svc, "port", json!(443));
        }
    }
}

pub(super) fn admission_policy(obj: &mut Value) {
    let Some(spec) = child(obj, "spec") else { return };
    set_if_absent(spec, "failurePolicy", json!("Fail"));
    if let Some(mc) = at(spec, &["matchConstraints"]) {
        match_resources(mc);
    }
}

pub(super) fn match_resources(mr: &mut Value) {
    set_if_absent(mr, "matchPolicy", json!("Equivalent"));
    set_if_absent(mr, "namespaceSelector", json!({}));
    set_if_absent(mr, "objectSelector", json!({}));
    for list in ["resourceRules", "excludeResourceRules"] {
        for r in each(mr, list) {
            set_if_absent(r, "scope", json!("*"));
        }
    }
}

/// CRD defaults: singular and listKind from kind, conversion None, storedVersions.
pub(super) fn crd(obj: &mut Value) {
    let storage = obj
        .get("spec")
        .and_then(|s| s.get("versions"))
        .and_then(Value::as_array)
        .and_then(|vs| vs.iter().find(|v| v.get("storage").and_then(Value::as_bool) == Some(true)))
        .map(|v| str_of(v, &["name"]).to_string());
    if let Some(spec) = child(obj, "spec") {
        let kind = str_of(spec, &["names", "kind"]).to_string();
        if let Some(names) = child(spec, "names") {
            set_if_unset(names, "singular", json!(kind.to_lowercase()));
            if !kind.is_empty() {
                set_if_unset(names, "listKind", json!(format!("{kind}List")));
            }
        }
        set_if_absent(spec, "conversion", json!({"strategy": "None"}));
        if let Some(svc) = at(spec, &["conversion", "webhook", "clientConfig", "service"]) {
            set_if_absent(svc, "port", json!(443));
        }
    }
    if let Some(status) = child(obj, "status") {
        set_if_absent(status, "acceptedNames", json!({"kind": "", "plural": ""}));
        if let Some(v) = storage {
            if status.get("storedVersions").and_then(Value::as_array).is_none_or(Vec::is_empty) {
                if let Some(m) = status.as_object_mut() {
                    m.insert("storedVersions".into(), json!([v]));
                }
            }
        }
    }
}
