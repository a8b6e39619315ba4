//! Core/v1 kinds other than pods, workloads, services and volumes: ConfigMaps,
//! Secrets, Namespaces, Nodes, Events, quotas, limit ranges and Endpoints.

use base64::Engine;
use serde_json::Value;

use crate::catalog::RESOURCES;
use crate::error::Cause;

use super::containers::{validate_quantity_value, PROTOCOLS};
use super::meta::is_standard_finalizer;
use super::names::{
    is_config_map_key, is_dns1123_label, is_dns1123_subdomain, is_qualified_name, is_valid_label_value,
    is_valid_port_num, valid_cidr, valid_ip,
};
use super::podspec::validate_taint_effect;
use super::util::{
    arr, duplicate, get, go_json, int, invalid, invalid_raw, map, not_supported, opt_s, required_detail, s, same,
    too_long,
};

/// kube's `MaxSecretSize`, also the ConfigMap limit.
const MAX_SECRET_SIZE: usize = 1024 * 1024;

fn immutable_flag(errs: &mut Vec<Cause>, new: &Value, old: &Value, bags: &[&str]) {
    if get(old, &["immutable"]).and_then(Value::as_bool) != Some(true) {
        return;
    }
    if get(new, &["immutable"]).and_then(Value::as_bool) != Some(true) {
        errs.push(Cause::forbidden("immutable", "field is immutable when `immutable` is set"));
    }
    for bag in bags {
        if !same(get(new, &[bag]), get(old, &[bag])) {
            errs.push(Cause::forbidden(*bag, "field is immutable when `immutable` is set"));
        }
    }
}

pub(crate) fn validate_config_map(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    if let Some(old) = old {
        immutable_flag(&mut errs, obj, old, &["data", "binaryData"]);
    }
    let mut total = 0;
    let binary = map(obj, &["binaryData"]);
    for (k, v) in map(obj, &["data"]).into_iter().flatten() {
        errs.extend(is_config_map_key(k).into_iter().map(|m| invalid(format!("data[{k}]"), k, m)));
        if binary.is_some_and(|b| b.contains_key(k)) {
            errs.push(invalid(format!("data[{k}]"), k, "duplicate of key present in binaryData"));
        }
        total += v.as_str().map_or(0, str::len);
    }
    for (k, v) in binary.into_iter().flatten() {
        errs.extend(is_config_map_key(k).into_iter().map(|m| invalid(format!("binaryData[{k}]"), k, m)));
        match decoded_len(v) {
            Ok(n) => total += n,
            Err(e) => errs.push(invalid(format!("binaryData[{k}]"), "<value redacted>", e)),
        }
    }
    if total > MAX_SECRET_SIZE {
        errs.push(too_long("", MAX_SECRET_SIZE));
    }
    errs
}

/// Length of a base64 `[]byte` field, or Go's decode error.
fn decoded_len(v: &Value) -> Result<usize, String> {
    let text = v.as_str().unwrap_or("");
    base64::engine::general_purpose::STANDARD.decode(text).map(|b| b.len()).map_err(|e| {
        let at = match e {
            base64::DecodeError::InvalidByte(i, _) | base64::DecodeError::InvalidLastSymbol(i, _) => i,
            _ => text.len(),
        };
        format!("illegal base64 data at input byte {at}")
    })
}

pub(crate) fn validate_secret(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    if let Some(old) = old {
        let (nt, ot) = (s(obj, &["type"]), s(old, &["type"]));
        if nt != ot {
            errs.push(invalid("type", nt, "field is immutable"));
        }
        immutable_flag(&mut errs, obj, old, &["data"]);
    }
    let mut total = 0;
    let data = map(obj, &["data"]);
    let string_data = map(obj, &["stringData"]);
    for (k, v) in data.into_iter().flatten() {
        errs.extend(is_config_map_key(k).into_iter().map(|m| invalid(format!("data[{k}]"), k, m)));
        match decoded_len(v) {
            Ok(n) => total += n,
            Err(e) => errs.push(invalid(format!("data[{k}]"), "<secret contents redacted>", e)),
        }
    }
    // stringData is merged into data by kube's conversion; check it the same way.
    for (k, v) in string_data.into_iter().flatten() {
        if data.is_some_and(|d| d.contains_key(k)) {
            continue;
        }
        errs.extend(is_config_map_key(k).into_iter().map(|m| invalid(format!("data[{k}]"), k, m)));
        total += v.as_str().map_or(0, str::len);
    }
    if total > MAX_SECRET_SIZE {
        errs.push(too_long("data", MAX_SECRET_SIZE));
    }
    let has = |k: &str| data.is_some_and(|d| d.contains_key(k)) || string_data.is_some_and(|d| d.contains_key(k));
    let non_empty = |k: &str| {
        data.and_then(|d| d.get(k)).and_then(Value::as_str).is_some_and(|v| !v.is_empty())
            || string_data.and_then(|d| d.get(k)).and_then(Value::as_str).is_some_and(|v| !v.is_empty())
    };
    match s(obj, &["type"]) {
        "kubernetes.io/service-account-token"
            if s(obj, &["metadata", "annotations", "kubernetes.io/service-account.name"]).is_empty() =>
        {
            errs.push(Cause::required("metadata.annotations[kubernetes.io/service-account.name]"));
        }
        "kubernetes.io/dockercfg" if !has(".dockercfg") => errs.push(Cause::required("data[.dockercfg]")),
        "kubernetes.io/dockerconfigjson" if !has(".dockerconfigjson") => {
            errs.push(Cause::required("data[.dockerconfigjson]"))
        }
        "kubernetes.io/basic-auth" if !has("username") && !has("password") => {
            errs.push(Cause::required("data[username]"));
            errs.push(Cause::required("data[password]"));
        }
        "kubernetes.io/ssh-auth" if !non_empty("ssh-privatekey") => errs.push(Cause::required("data[ssh-privatekey]")),
        "kubernetes.io/tls" => {
            for k in ["tls.crt", "tls.key"] {
                if !has(k) {
                    errs.push(Cause::required(format!("data[{k}]")));
                }
            }
        }
        _ => {}
    }
    errs
}

pub(crate) fn validate_namespace(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    for f in arr(obj, &["spec", "finalizers"]) {
        let f = f.as_str().unwrap_or("");
        errs.extend(is_qualified_name(f).into_iter().map(|m| invalid("spec.finalizers", f, m)));
        if !f.contains('/') && !is_standard_finalizer(f) {
            errs.push(invalid(
                "spec.finalizers",
                f,
                "name is neither a standard finalizer name nor is it fully qualified",
            ));
        }
    }
    errs
}

pub(crate) fn validate_node(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    for (i, t) in arr(obj, &["spec", "taints"]).iter().enumerate() {
        // kube reports node taints under metadata (sic).
        let p = format!("metadata.taints[{i}]");
        let (key, value, effect) = (s(t, &["key"]), s(t, &["value"]), s(t, &["effect"]));
        errs.extend(is_qualified_name(key).into_iter().map(|m| invalid(format!("{p}.key"), key, m)));
        let msgs = is_valid_label_value(value);
        if !msgs.is_empty() {
            errs.push(invalid(format!("{p}.value"), value, msgs.join(";")));
        }
        errs.extend(validate_taint_effect(effect, &format!("{p}.effect")));
        let pair = (key.to_string(), effect.to_string());
        if seen.contains(&pair) {
            let mut c = super::util::duplicate_raw(&p, go_json(t));
            c.message.push_str(": taints must be unique by key and effect pair");
            errs.push(c);
        } else {
            seen.push(pair);
        }
    }
    for (i, c) in arr(obj, &["spec", "podCIDRs"]).iter().enumerate() {
        errs.extend(valid_cidr(&format!("spec.podCIDRs[{i}]"), c.as_str().unwrap_or("")));
    }
    for bag in ["capacity", "allocatable"] {
        for (k, q) in map(obj, &["status", bag]).into_iter().flatten() {
            errs.extend(validate_quantity_value(q, &format!("status.{bag}.{k}")));
        }
    }
    if let Some(old) = old {
        let forbid = "node updates may not change podCIDR except from \"\" to valid";
        let (n, o) = (arr(obj, &["spec", "podCIDRs"]), arr(old, &["spec", "podCIDRs"]));
        if !o.is_empty() && (n.len() != o.len() || n.iter().zip(o).any(|(a, b)| a != b)) {
            errs.push(Cause::forbidden("spec.podCIDRs", forbid));
        }
        let (np, op) = (s(obj, &["spec", "providerID"]), s(old, &["spec", "providerID"]));
        if !op.is_empty() && np != op {
            errs.push(Cause::forbidden(
                "spec.providerID",
                "node updates may not change providerID except from \"\" to valid",
            ));
        }
    }
    errs
}

/// core/v1 Events (`events_v1` = created through events.k8s.io/v1, in that shape).
pub(crate) fn validate_event(obj: &Value, events_v1: bool) -> Vec<Cause> {
    let mut errs = Vec::new();
    let ns = s(obj, &["metadata", "namespace"]);
    let (inv, reporting, message) = if events_v1 {
        ("regarding", "reportingController", "note")
    } else {
        ("involvedObject", "reportingComponent", "message")
    };
    let inv_ns = s(obj, &[inv, "namespace"]);
    let event_time = s(obj, &["eventTime"]);
    let mismatch = || invalid("involvedObject.namespace", inv_ns, "does not match event.namespace");
    if event_time.is_empty() {
        if events_v1 {
            errs.push(Cause::required("eventTime"));
        }
        if (inv_ns.is_empty() && !ns.is_empty() && ns != "default") || (!inv_ns.is_empty() && ns != inv_ns) {
            errs.push(mismatch());
        }
    } else {
        if inv_ns.is_empty() && ns != "default" && ns != "kube-system" {
            errs.push(mismatch());
        }
        let rc = s(obj, &[reporting]);
        if rc.is_empty() {
            errs.push(Cause::required(reporting));
        }
        errs.extend(is_qualified_name(rc).into_iter().map(|m| invalid(reporting, rc, m)));
        for (key, limit) in [("reportingInstance", 128), ("action", 128), ("reason", 128)] {
            let v = s(obj, &[key]);
            if v.is_empty() {
                errs.push(Cause::required(key));
            }
            if v.len() > limit {
                errs.push(invalid(key, "", format!("can have at most {limit} characters")));
            }
        }
        if s(obj, &[message]).len() > 1024 {
            errs.push(invalid(message, "", "can have at most 1024 characters"));
        }
    }
    // Namespaced kinds we know need involvedObject.namespace; cluster kinds must not have it.
    let kind = s(obj, &[inv, "kind"]);
    let group = s(obj, &[inv, "apiVersion"]).rsplit_once('/').map(|(g, _)| g).unwrap_or("");
    if let Some(r) = RESOURCES.iter().find(|r| r.kind == kind && r.group == group) {
        if r.namespaced && inv_ns.is_empty() {
            errs.push(required_detail("involvedObject.namespace", &format!("required for kind {kind}")));
        }
        if !r.namespaced && !inv_ns.is_empty() {
            errs.push(invalid("involvedObject.namespace", inv_ns, format!("not allowed for kind {kind}")));
        }
    }
    if events_v1 {
        let t = s(obj, &["type"]);
        if t != "Normal" && t != "Warning" {
            errs.push(invalid("type", "", format!("has invalid value: {t}")));
        }
    }
    errs.extend(is_dns1123_subdomain(ns).into_iter().map(|m| invalid("namespace", ns, m)));
    errs
}

pub(crate) fn validate_resource_quota(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    for (k, q) in map(obj, &["spec", "hard"]).into_iter().flatten() {
        errs.extend(validate_quantity_value(q, &format!("spec.hard[{k}]")));
    }
    if let Some(old) = old {
        let scopes = |v: &Value| {
            let mut s: Vec<String> =
                arr(v, &["spec", "scopes"]).iter().filter_map(Value::as_str).map(String::from).collect();
            s.sort();
            s.dedup();
            s
        };
        if scopes(obj) != scopes(old) {
            errs.push(invalid_raw(
                "spec.scopes",
                go_json(get(obj, &["spec", "scopes"]).unwrap_or(&Value::Null)),
                "field is immutable",
            ));
        }
    }
    errs
}

pub(crate) fn validate_limit_range(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let mut types: Vec<&str> = Vec::new();
    for (i, l) in arr(obj, &["spec", "limits"]).iter().enumerate() {
        let p = format!("spec.limits[{i}]");
        let t = s(l, &["type"]);
        if types.contains(&t) {
            errs.push(duplicate(format!("{p}.type"), t));
        }
        types.push(t);
        for bag in ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"] {
            for (k, q) in map(l, &[bag]).into_iter().flatten() {
                errs.extend(validate_quantity_value(q, &format!("{p}.{bag}[{k}]")));
            }
        }
    }
    errs
}

pub(crate) fn validate_endpoints(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    for (i, ss) in arr(obj, &["subsets"]).iter().enumerate() {
        let p = format!("subsets[{i}]");
        if arr(ss, &["addresses"]).is_empty() && arr(ss, &["notReadyAddresses"]).is_empty() {
            errs.push(required_detail(&p, "must specify `addresses` or `notReadyAddresses`"));
        }
        for list in ["addresses", "notReadyAddresses"] {
            for (j, a) in arr(ss, &[list]).iter().enumerate() {
                let ap = format!("{p}.{list}[{j}]");
                errs.extend(valid_ip(&format!("{ap}.ip"), s(a, &["ip"])));
                let host = s(a, &["hostname"]);
                if !host.is_empty() {
                    errs.extend(is_dns1123_label(host).into_iter().map(|m| invalid(format!("{ap}.hostname"), host, m)));
                }
            }
        }
        let ports = arr(ss, &["ports"]);
        for (j, port) in ports.iter().enumerate() {
            errs.extend(validate_endpoint_port(port, ports.len() > 1, &format!("{p}.ports[{j}]")));
        }
    }
    errs
}

pub(crate) fn validate_endpoint_port(port: &Value, require_name: bool, p: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let name = s(port, &["name"]);
    if require_name && name.is_empty() {
        errs.push(Cause::required(format!("{p}.name")));
    } else if !name.is_empty() {
        errs.extend(is_dns1123_label(name).into_iter().map(|m| invalid(format!("{p}.name"), name, m)));
    }
    let n = int(port, &["port"]).unwrap_or(0);
    errs.extend(is_valid_port_num(n).into_iter().map(|m| invalid_raw(format!("{p}.port"), n, m)));
    match s(port, &["protocol"]) {
        "" => errs.push(Cause::required(format!("{p}.protocol"))),
        proto if !PROTOCOLS.contains(&proto) => errs.push(not_supported(format!("{p}.protocol"), proto, PROTOCOLS)),
        _ => {}
    }
    if let Some(ap) = opt_s(port, &["appProtocol"]) {
        errs.extend(is_qualified_name(ap).into_iter().map(|m| invalid(format!("{p}.appProtocol"), ap, m)));
    }
    errs
}
