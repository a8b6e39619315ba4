//! Remaining groups: scheduling (PriorityClass), storage (StorageClass,
//! VolumeAttachment), coordination (Lease), admission webhooks, CRDs and CSRs.

use serde_json::Value;

use crate::error::Cause;

use super::meta::validate_label_selector;
use super::names::{is_dns1035_label, is_dns1123_subdomain, is_qualified_name};
use super::util::{
    arr, boolean, get, go_json, int, invalid, invalid_raw, invalid_value, is_set, not_supported, opt_s,
    required_detail, s, same, too_long,
};

/// Built-in system priority classes (name, value).
pub(crate) const SYSTEM_PRIORITY_CLASSES: &[(&str, i64)] =
    &[("system-node-critical", 2_000_001_000), ("system-cluster-critical", 2_000_000_000)];

pub(crate) fn validate_priority_class(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    let name = s(obj, &["metadata", "name"]);
    let value = int(obj, &["value"]).unwrap_or(0);
    if name.starts_with("system-") {
        let detail = match SYSTEM_PRIORITY_CLASSES.iter().find(|(n, _)| *n == name) {
            None => Some(format!("{name} is not a known system priority class")),
            Some((n, v)) if *v != value => Some(format!("value of {n} PriorityClass must be {v}")),
            Some((n, _)) if boolean(obj, &["globalDefault"]) == Some(true) => {
                Some(format!("globalDefault of {n} PriorityClass must be false"))
            }
            Some(_) => None,
        };
        if let Some(d) = detail {
            errs.push(Cause::forbidden(
                "metadata.name",
                format!("priority class names with 'system-' prefix are reserved for system use only. error: {d}"),
            ));
        }
    } else if value > 1_000_000_000 {
        errs.push(Cause::forbidden("value", "maximum allowed value of a user defined priority is 1000000000"));
    }
    if let Some(pp) = opt_s(obj, &["preemptionPolicy"]) {
        match pp {
            "PreemptLowerPriority" | "Never" => {}
            "" => errs.push(Cause::required("preemptionPolicy")),
            other => errs.push(not_supported("preemptionPolicy", other, &["PreemptLowerPriority", "Never"])),
        }
    }
    if let Some(old) = old {
        if int(old, &["value"]).unwrap_or(0) != value {
            errs.push(Cause::forbidden("value", "may not be changed in an update."));
        }
        if !same(get(obj, &["preemptionPolicy"]), get(old, &["preemptionPolicy"])) {
            errs.push(invalid_value("preemptionPolicy", get(obj, &["preemptionPolicy"]), "field is immutable"));
        }
    }
    errs
}

pub(crate) fn validate_storage_class(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    let prov = s(obj, &["provisioner"]);
    if prov.is_empty() {
        errs.push(Cause::required("provisioner"));
    } else {
        errs.extend(
            is_qualified_name(&prov.to_lowercase())
                .into_iter()
                .map(|m| invalid("provisioner", &prov.to_lowercase(), m)),
        );
    }
    let size: usize = super::util::str_map(obj, &["parameters"]).iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > 256 * 1024 {
        errs.push(too_long("parameters", 256 * 1024));
    }
    if let Some(rp) = opt_s(obj, &["reclaimPolicy"]).filter(|rp| !rp.is_empty() && *rp != "Delete" && *rp != "Retain") {
        errs.push(not_supported("reclaimPolicy", rp, &["Delete", "Retain"]));
    }
    match opt_s(obj, &["volumeBindingMode"]) {
        None => errs.push(Cause::required("volumeBindingMode")),
        Some("Immediate" | "WaitForFirstConsumer") => {}
        Some(other) => errs.push(not_supported("volumeBindingMode", other, &["Immediate", "WaitForFirstConsumer"])),
    }
    if let Some(old) = old {
        if !same(get(obj, &["parameters"]), get(old, &["parameters"])) {
            errs.push(Cause::forbidden("parameters", "updates to parameters are forbidden."));
        }
        if prov != s(old, &["provisioner"]) {
            errs.push(Cause::forbidden("provisioner", "updates to provisioner are forbidden."));
        }
        if s(obj, &["reclaimPolicy"]) != s(old, &["reclaimPolicy"]) {
            errs.push(Cause::forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."));
        }
        if !same(get(obj, &["volumeBindingMode"]), get(old, &["volumeBindingMode"])) {
            errs.push(invalid_value("volumeBindingMode", get(obj, &["volumeBindingMode"]), "field is immutable"));
        }
    }
    errs
}

pub(crate) fn validate_volume_attachment(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    for key in ["attacher", "nodeName"] {
        if s(obj, &["spec", key]).is_empty() {
            errs.push(Cause::required(format!("spec.{key}")));
        }
    }
    let n = ["inlineVolumeSpec", "persistentVolumeName"].iter().filter(|k| is_set(obj, &["spec", "source", k])).count();
    if n != 1 {
        errs.push(required_detail(
            "spec.source",
            "must specify exactly one of inlineVolumeSpec and persistentVolumeName",
        ));
    }
    if let Some(old) = old {
        if !same(get(obj, &["spec"]), get(old, &["spec"])) {
            errs.push(invalid_value("spec", get(obj, &["spec"]), "field is immutable"));
        }
    }
    errs
}

pub(crate) fn validate_lease(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    if let Some(d) = int(obj, &["spec", "leaseDurationSeconds"]).filter(|d| *d <= 0) {
        errs.push(invalid_raw("spec.leaseDurationSeconds", d, "must be greater than 0"));
    }
    if let Some(t) = int(obj, &["spec", "leaseTransitions"]).filter(|t| *t < 0) {
        errs.push(invalid_raw("spec.leaseTransitions", t, "must be greater than or equal to 0"));
    }
    errs
}

/// Mutating and validating webhook configurations (admissionregistration/v1).
pub(crate) fn validate_webhook_configuration(obj: &Value, mutating: bool) -> Vec<Cause> {
    let mut errs = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (i, h) in arr(obj, &["webhooks"]).iter().enumerate() {
        let p = format!("webhooks[{i}]");
        let name = s(h, &["name"]);
        if name.is_empty() {
            errs.push(Cause::required(format!("{p}.name")));
        } else if let msgs @ [_, ..] = is_dns1123_subdomain(name).as_slice() {
            errs.push(invalid(format!("{p}.name"), name, msgs.join(",")));
        } else if name.split('.').count() < 3 {
            errs.push(invalid(
                format!("{p}.name"),
                name,
                "should be a domain with at least three segments separated by dots",
            ));
        }
        for (j, r) in arr(h, &["rules"]).iter().enumerate() {
            errs.extend(webhook_rule(r, &format!("{p}.rules[{j}]")));
        }
        let checks: [(&str, &[&str]); 3] = [
            ("failurePolicy", &["Fail", "Ignore"]),
            ("matchPolicy", &["Equivalent", "Exact"]),
            ("sideEffects", &["None", "NoneOnDryRun"]),
        ];
        for (key, allowed) in checks {
            match opt_s(h, &[key]) {
                None if key == "sideEffects" => {
                    errs.push(required_detail(format!("{p}.sideEffects"), "must specify one of None, NoneOnDryRun"))
                }
                Some(v) if !allowed.contains(&v) => errs.push(not_supported(format!("{p}.{key}"), v, allowed)),
                _ => {}
            }
        }
        if mutating {
            if let Some(v) = opt_s(h, &["reinvocationPolicy"]).filter(|v| *v != "Never" && *v != "IfNeeded") {
                errs.push(not_supported(format!("{p}.reinvocationPolicy"), v, &["IfNeeded", "Never"]));
            }
        }
        if let Some(t) = int(h, &["timeoutSeconds"]).filter(|t| !(1..=30).contains(t)) {
            errs.push(invalid_raw(
                format!("{p}.timeoutSeconds"),
                t,
                "the timeout value must be between 1 and 30 seconds",
            ));
        }
        errs.extend(validate_label_selector(get(h, &["namespaceSelector"]), &format!("{p}.namespaceSelector")));
        errs.extend(validate_label_selector(get(h, &["objectSelector"]), &format!("{p}.objectSelector")));
        errs.extend(client_config(h, &format!("{p}.clientConfig")));
        errs.extend(review_versions(h, &format!("{p}.admissionReviewVersions")));
        if !name.is_empty() {
            if names.contains(&name) {
                errs.push(super::util::duplicate(format!("{p}.name"), name));
            } else {
                names.push(name);
            }
        }
    }
    errs
}

fn webhook_rule(r: &Value, p: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let ops = arr(r, &["operations"]);
    if ops.is_empty() {
        errs.push(Cause::required(format!("{p}.operations")));
    }
    for (i, op) in ops.iter().enumerate() {
        let op = op.as_str().unwrap_or("");
        const OPS: &[&str] = &["*", "CONNECT", "CREATE", "DELETE", "UPDATE"];
        if !OPS.contains(&op) {
            errs.push(not_supported(format!("{p}.operations[{i}]"), op, OPS));
        }
    }
    for key in ["apiGroups", "apiVersions", "resources"] {
        if arr(r, &[key]).is_empty() {
            errs.push(Cause::required(format!("{p}.{key}")));
        }
    }
    if let Some(scope) = opt_s(r, &["scope"]).filter(|sc| !["*", "Cluster", "Namespaced"].contains(sc)) {
        errs.push(not_supported(format!("{p}.scope"), scope, &["*", "Cluster", "Namespaced"]));
    }
    errs
}

fn client_config(h: &Value, p: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let url = opt_s(h, &["clientConfig", "url"]);
    let svc = get(h, &["clientConfig", "service"]).filter(|v| !v.is_null());
    match (url, svc) {
        (Some(u), None) => match url::Url::parse(u) {
            Err(e) => errs.push(invalid(format!("{p}.url"), u, format!("url must be a valid URL: {e}"))),
            Ok(parsed) => {
                if parsed.scheme() != "https" {
                    errs.push(invalid(format!("{p}.url"), u, "'https' is the only allowed URL scheme"));
                }
                if parsed.host_str().is_none_or(str::is_empty) {
                    errs.push(invalid(format!("{p}.url"), u, "host must be specified"));
                }
            }
        },
        (None, Some(svc)) => {
            let sp = format!("{p}.service");
            if s(svc, &["name"]).is_empty() {
                errs.push(required_detail(format!("{sp}.name"), "service name is required"));
            }
            if s(svc, &["namespace"]).is_empty() {
                errs.push(required_detail(format!("{sp}.namespace"), "service namespace is required"));
            }
            if let Some(port) = int(svc, &["port"]).filter(|p| !(1..=65535).contains(p)) {
                errs.push(invalid_raw(
                    format!("{sp}.port"),
                    port,
                    "port is not valid: must be between 1 and 65535, inclusive",
                ));
            }
            if let Some(path) = opt_s(svc, &["path"]).filter(|p| !p.is_empty() && !p.starts_with('/')) {
                errs.push(invalid(format!("{sp}.path"), path, "must start with a '/'"));
            }
        }
        _ => errs.push(required_detail(p, "exactly one of url or service is required")),
    }
    errs
}

fn review_versions(h: &Value, p: &str) -> Vec<Cause> {
    let versions = arr(h, &["admissionReviewVersions"]);
    if versions.is_empty() {
        return vec![required_detail(p, "must specify one of v1, v1beta1")];
    }
    let mut errs = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        let v = v.as_str().unwrap_or("");
        if seen.contains(&v) {
            errs.push(invalid(format!("{p}[{i}]"), v, "duplicate version"));
            continue;
        }
        seen.push(v);
        errs.extend(is_dns1035_label(v).into_iter().map(|m| invalid(format!("{p}[{i}]"), v, m)));
    }
    if !seen.iter().any(|v| *v == "v1" || *v == "v1beta1") {
        errs.push(invalid_raw(
            p,
            go_json(&Value::Array(versions.to_vec())),
            "must include at least one of v1, v1beta1",
        ));
    }
    errs
}

pub(crate) fn validate_csr(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let signer = s(obj, &["spec", "signerName"]);
    if signer.is_empty() {
        errs.push(Cause::required("spec.signerName"));
    }
    if s(obj, &["spec", "request"]).is_empty() {
        errs.push(invalid_raw("spec.request", "null", "PEM block type must be CERTIFICATE REQUEST"));
    }
    if arr(obj, &["spec", "usages"]).is_empty() {
        errs.push(Cause::required("spec.usages"));
    }
    errs
}
