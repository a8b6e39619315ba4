//! PodSpec and PodTemplateSpec validation (kube's `ValidatePodSpec` and
//! `ValidatePodTemplateSpec`), volumes and tolerations.

use serde_json::Value;

use crate::error::Cause;

use super::containers::{self, Kind};
use super::meta::{validate_annotations, validate_label_name, validate_labels};
use super::names::{is_dns1123_label, is_dns1123_subdomain, is_qualified_name, is_valid_label_value, valid_ip};
use super::util::{arr, duplicate, get, int, invalid, invalid_raw, is_set, not_supported, required_detail, s};

/// Volume source keys in kube's checking order, with the child name kube
/// reports for a second source (two of them carry kube's own typos).
const VOLUME_SOURCES: &[(&str, &str)] = &[
    ("emptyDir", "emptyDir"),
    ("hostPath", "hostPath"),
    ("gitRepo", "gitRepo"),
    ("gcePersistentDisk", "gcePersistentDisk"),
    ("awsElasticBlockStore", "awsElasticBlockStore"),
    ("secret", "secret"),
    ("nfs", "nfs"),
    ("iscsi", "iscsi"),
    ("glusterfs", "glusterfs"),
    ("flocker", "flocker"),
    ("persistentVolumeClaim", "persistentVolumeClaim"),
    ("rbd", "rbd"),
    ("cinder", "cinder"),
    ("cephfs", "cephFS"),
    ("quobyte", "quobyte"),
    ("downwardAPI", "downwarAPI"),
    ("fc", "fc"),
    ("flexVolume", "flexVolume"),
    ("configMap", "configMap"),
    ("azureFile", "azureFile"),
    ("vsphereVolume", "vsphereVolume"),
    ("photonPersistentDisk", "photonPersistentDisk"),
    ("portworxVolume", "portworxVolume"),
    ("azureDisk", "azureDisk"),
    ("storageos", "storageos"),
    ("projected", "projected"),
    ("scaleIO", "scaleIO"),
    ("csi", "csi"),
    ("ephemeral", "ephemeral"),
    ("image", "image"),
];

/// Options that differ between pods and pod templates.
#[derive(Default)]
pub(crate) struct Opts {
    /// The spec belongs to a Pod (not a template).
    pub is_pod: bool,
}

/// `ValidatePodTemplateSpec` at `path` (e.g. `spec.template`).
pub(crate) fn validate_template(t: &Value, path: &str, opts: &Opts) -> Vec<Cause> {
    let mut errs = validate_labels(t, &["metadata", "labels"], &format!("{path}.labels"));
    errs.extend(validate_annotations(t, &["metadata", "annotations"], &format!("{path}.annotations")));
    let empty = Value::Null;
    let spec = get(t, &["spec"]).unwrap_or(&empty);
    errs.extend(validate_spec(spec, &format!("{path}.spec"), opts));
    if !arr(spec, &["ephemeralContainers"]).is_empty() {
        errs.push(Cause::forbidden(
            format!("{path}.spec.ephemeralContainers"),
            "ephemeral containers not allowed in pod template",
        ));
    }
    errs
}

/// `ValidatePodSpec` at `path` (e.g. `spec`).
pub(crate) fn validate_spec(spec: &Value, path: &str, opts: &Opts) -> Vec<Cause> {
    let mut errs = Vec::new();
    let grace = int(spec, &["terminationGracePeriodSeconds"]);
    if grace.is_none() {
        errs.push(Cause::required(format!("{path}.terminationGracePeriodSeconds")));
    }
    let (volumes, vol_errs) = validate_volumes(arr(spec, &["volumes"]), &format!("{path}.volumes"));
    errs.extend(vol_errs);
    let restart = s(spec, &["restartPolicy"]);

    let containers = arr(spec, &["containers"]);
    let cpath = format!("{path}.containers");
    if containers.is_empty() {
        errs.push(Cause::required(&cpath));
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        let p = format!("{cpath}[{i}]");
        errs.extend(containers::validate_common(c, &p, &volumes, restart));
        let name = s(c, &["name"]);
        if names.contains(&name) {
            errs.push(duplicate(format!("{p}.name"), name));
        } else {
            names.push(name);
        }
        errs.extend(containers::validate_handlers(c, &p, Kind::Regular, grace));
    }
    errs.extend(host_port_conflicts(containers, &cpath));
    for (i, c) in arr(spec, &["initContainers"]).iter().enumerate() {
        let p = format!("{path}.initContainers[{i}]");
        errs.extend(containers::validate_common(c, &p, &volumes, restart));
        errs.extend(containers::validate_handlers(c, &p, Kind::Init, grace));
        let name = s(c, &["name"]);
        if names.contains(&name) {
            errs.push(duplicate(format!("{p}.name"), name));
        } else if !name.is_empty() {
            names.push(name);
        }
    }

    if boolean_true(spec, "hostNetwork") {
        for (i, c) in containers.iter().enumerate() {
            for (j, port) in arr(c, &["ports"]).iter().enumerate() {
                let hp = int(port, &["hostPort"]).unwrap_or(0);
                let cp = int(port, &["containerPort"]).unwrap_or(0);
                if (opts.is_pod || hp != 0) && hp != cp {
                    errs.push(invalid_raw(
                        format!("{cpath}[{i}].ports[{j}].hostPort"),
                        hp,
                        "must match `containerPort` when `hostNetwork` is true",
                    ));
                }
            }
        }
    }
    match restart {
        "Always" | "OnFailure" | "Never" => {}
        "" => errs.push(Cause::required(format!("{path}.restartPolicy"))),
        other => errs.push(not_supported(format!("{path}.restartPolicy"), other, &["Always", "OnFailure", "Never"])),
    }
    let dns_policy = s(spec, &["dnsPolicy"]);
    match dns_policy {
        "ClusterFirstWithHostNet" | "ClusterFirst" | "Default" | "None" => {}
        "" => errs.push(Cause::required(format!("{path}.dnsPolicy"))),
        other => errs.push(not_supported(
            format!("{path}.dnsPolicy"),
            other,
            &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
        )),
    }
    errs.extend(validate_labels(spec, &["nodeSelector"], &format!("{path}.nodeSelector")));
    if dns_policy == "None" {
        if !is_set(spec, &["dnsConfig"]) {
            errs.push(required_detail(
                format!("{path}.dnsConfig"),
                "must provide `dnsConfig` when `dnsPolicy` is None",
            ));
        } else if arr(spec, &["dnsConfig", "nameservers"]).is_empty() {
            errs.push(required_detail(
                format!("{path}.dnsConfig.nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            ));
        }
    }
    for (i, ns) in arr(spec, &["dnsConfig", "nameservers"]).iter().enumerate() {
        errs.extend(valid_ip(&format!("{path}.dnsConfig.nameservers[{i}]"), ns.as_str().unwrap_or("")));
    }
    for (i, g) in arr(spec, &["readinessGates"]).iter().enumerate() {
        let ct = s(g, &["conditionType"]);
        let p = format!("{path}.readinessGates[{i}].conditionType");
        errs.extend(is_qualified_name(ct).into_iter().map(|m| invalid(&p, ct, m)));
    }
    let mut gates: Vec<&str> = Vec::new();
    for (i, g) in arr(spec, &["schedulingGates"]).iter().enumerate() {
        let name = s(g, &["name"]);
        let p = format!("{path}.schedulingGates[{i}]");
        errs.extend(is_qualified_name(name).into_iter().map(|m| invalid(&p, name, m)));
        if gates.contains(&name) {
            errs.push(duplicate(&p, name));
        }
        gates.push(name);
    }
    errs.extend(validate_spread(spec, path));
    for (key, check) in [
        ("serviceAccountName", is_dns1123_subdomain as fn(&str) -> Vec<String>),
        ("nodeName", is_dns1123_subdomain),
        ("hostname", is_dns1123_label),
        ("subdomain", is_dns1123_label),
        ("priorityClassName", is_dns1123_subdomain),
        ("runtimeClassName", is_dns1123_subdomain),
    ] {
        let v = s(spec, &[key]);
        if !v.is_empty() || (key == "runtimeClassName" && get(spec, &[key]).is_some_and(Value::is_string)) {
            errs.extend(check(v).into_iter().map(|m| invalid(format!("{path}.{key}"), v, m)));
        }
    }
    if let Some(ads) = int(spec, &["activeDeadlineSeconds"]).filter(|v| !(1..=2147483647).contains(v)) {
        errs.push(invalid_raw(
            format!("{path}.activeDeadlineSeconds"),
            ads,
            "must be between 1 and 2147483647, inclusive",
        ));
    }
    errs.extend(validate_tolerations(arr(spec, &["tolerations"]), &format!("{path}.tolerations")));
    for (i, ha) in arr(spec, &["hostAliases"]).iter().enumerate() {
        errs.extend(valid_ip(&format!("{path}.hostAliases[{i}].ip"), s(ha, &["ip"])));
        for (j, h) in arr(ha, &["hostnames"]).iter().enumerate() {
            let h = h.as_str().unwrap_or("");
            let p = format!("{path}.hostAliases[{i}].hostnames[{j}]");
            errs.extend(is_dns1123_subdomain(h).into_iter().map(|m| invalid(&p, h, m)));
        }
    }
    if let Some(pp) = get(spec, &["preemptionPolicy"]).and_then(Value::as_str) {
        match pp {
            "PreemptLowerPriority" | "Never" => {}
            "" => errs.push(Cause::required(format!("{path}.preemptionPolicy"))),
            other => {
                errs.push(not_supported(format!("{path}.preemptionPolicy"), other, &["PreemptLowerPriority", "Never"]))
            }
        }
    }
    if let Some(os) = get(spec, &["os"]).filter(|v| !v.is_null()) {
        let name = s(os, &["name"]);
        if name.is_empty() {
            errs.push(Cause::required(format!("{path}.os.name")));
        } else if name != "linux" && name != "windows" {
            errs.push(not_supported(format!("{path}.os.name"), name, &["linux", "windows"]));
        }
    }
    errs
}

fn boolean_true(v: &Value, key: &str) -> bool {
    get(v, &[key]).and_then(Value::as_bool) == Some(true)
}

fn host_port_conflicts(containers: &[Value], path: &str) -> Vec<Cause> {
    let mut seen: Vec<String> = Vec::new();
    let mut errs = Vec::new();
    for (i, c) in containers.iter().enumerate() {
        for (j, p) in arr(c, &["ports"]).iter().enumerate() {
            let hp = int(p, &["hostPort"]).unwrap_or(0);
            if hp == 0 {
                continue;
            }
            let key = format!("{}/{}/{hp}", s(p, &["protocol"]), s(p, &["hostIP"]));
            if seen.contains(&key) {
                errs.push(duplicate(format!("{path}[{i}].ports[{j}].hostPort"), &key));
            } else {
                seen.push(key);
            }
        }
    }
    errs
}

fn validate_spread(spec: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    for (i, c) in arr(spec, &["topologySpreadConstraints"]).iter().enumerate() {
        let p = format!("{path}.topologySpreadConstraints[{i}]");
        let skew = int(c, &["maxSkew"]).unwrap_or(0);
        if skew <= 0 {
            errs.push(invalid_raw(format!("{p}.maxSkew"), skew, "must be greater than zero"));
        }
        let key = s(c, &["topologyKey"]);
        if key.is_empty() {
            errs.push(required_detail(format!("{p}.topologyKey"), "can not be empty"));
        } else {
            errs.extend(validate_label_name(key, &format!("{p}.topologyKey")));
        }
        let action = s(c, &["whenUnsatisfiable"]);
        if action != "DoNotSchedule" && action != "ScheduleAnyway" {
            errs.push(not_supported(format!("{p}.whenUnsatisfiable"), action, &["DoNotSchedule", "ScheduleAnyway"]));
        }
        errs.extend(super::meta::validate_label_selector(get(c, &["labelSelector"]), &format!("{p}.labelSelector")));
    }
    errs
}

/// Volume names (for mounts) and the volume errors.
fn validate_volumes(volumes: &[Value], path: &str) -> (Vec<String>, Vec<Cause>) {
    let mut names: Vec<String> = Vec::new();
    let mut errs = Vec::new();
    for (i, v) in volumes.iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let mut el = Vec::new();
        let mut count = 0;
        for (key, child) in VOLUME_SOURCES {
            let Some(src) = get(v, &[key]).filter(|x| !x.is_null()) else { continue };
            if count > 0 {
                el.push(Cause::forbidden(format!("{ip}.{child}"), "may not specify more than 1 volume type"));
                continue;
            }
            count += 1;
            el.extend(validate_volume_source(key, src, &format!("{ip}.{key}")));
        }
        if count == 0 {
            el.push(required_detail(&ip, "must specify a volume type"));
        }
        let name = s(v, &["name"]);
        if name.is_empty() {
            el.push(Cause::required(format!("{ip}.name")));
        } else {
            el.extend(is_dns1123_label(name).into_iter().map(|m| invalid(format!("{ip}.name"), name, m)));
        }
        if names.iter().any(|n| n == name) {
            el.push(duplicate(format!("{ip}.name"), name));
        }
        if el.is_empty() {
            names.push(name.to_string());
        } else {
            errs.extend(el);
        }
    }
    (names, errs)
}

fn validate_volume_source(key: &str, src: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let required = |errs: &mut Vec<Cause>, f: &str| {
        if s(src, &[f]).is_empty() {
            errs.push(Cause::required(format!("{path}.{f}")));
        }
    };
    match key {
        "hostPath" => required(&mut errs, "path"),
        "secret" => required(&mut errs, "secretName"),
        "persistentVolumeClaim" => required(&mut errs, "claimName"),
        "nfs" => {
            required(&mut errs, "server");
            required(&mut errs, "path");
        }
        "csi" => required(&mut errs, "driver"),
        "gitRepo" => required(&mut errs, "repository"),
        _ => {}
    }
    if let Some(mode) = int(src, &["defaultMode"]).filter(|m| !(0..=0o777).contains(m)) {
        errs.push(invalid_raw(
            format!("{path}.defaultMode"),
            mode,
            "must be a number between 0 and 0777 (octal), both inclusive",
        ));
    }
    for (i, item) in arr(src, &["items"]).iter().enumerate() {
        let p = format!("{path}.items[{i}]");
        if key != "downwardAPI" && s(item, &["key"]).is_empty() {
            errs.push(Cause::required(format!("{p}.key")));
        }
        let ipath = s(item, &["path"]);
        if ipath.is_empty() {
            errs.push(Cause::required(format!("{p}.path")));
        } else if ipath.starts_with('/') {
            errs.push(invalid(format!("{p}.path"), ipath, "must be a relative path"));
        } else if ipath.split('/').any(|seg| seg == "..") {
            errs.push(invalid(format!("{p}.path"), ipath, "must not contain '..'"));
        }
    }
    errs
}

/// `ValidateTolerations`.
pub(crate) fn validate_tolerations(tolerations: &[Value], path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    for (i, t) in tolerations.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let key = s(t, &["key"]);
        let op = s(t, &["operator"]);
        let effect = s(t, &["effect"]);
        let value = s(t, &["value"]);
        if !key.is_empty() {
            errs.extend(validate_label_name(key, &format!("{p}.key")));
        }
        if key.is_empty() && op != "Exists" {
            errs.push(invalid(
                format!("{p}.operator"),
                op,
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            ));
        }
        if is_set(t, &["tolerationSeconds"]) && effect != "NoExecute" {
            errs.push(invalid(
                format!("{p}.effect"),
                effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            ));
        }
        match op {
            "Equal" | "" => {
                let msgs = is_valid_label_value(value);
                if !msgs.is_empty() {
                    errs.push(invalid(format!("{p}.operator"), value, msgs.join(";")));
                }
            }
            "Exists" => {
                if !value.is_empty() {
                    errs.push(invalid(
                        format!("{p}.operator"),
                        value,
                        "value must be empty when `operator` is 'Exists'",
                    ));
                }
            }
            other => errs.push(not_supported(format!("{p}.operator"), other, &["Equal", "Exists"])),
        }
        if !effect.is_empty() {
            errs.extend(validate_taint_effect(effect, &format!("{p}.effect")));
        }
    }
    errs
}

pub(crate) fn validate_taint_effect(effect: &str, path: &str) -> Vec<Cause> {
    match effect {
        "NoSchedule" | "PreferNoSchedule" | "NoExecute" => Vec::new(),
        "" => vec![Cause::required(path)],
        other => vec![not_supported(path, other, &["NoSchedule", "PreferNoSchedule", "NoExecute"])],
    }
}
