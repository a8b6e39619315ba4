//! Container-level checks of a pod spec: names, images, ports, env, volume
//! mounts, probes and resources (kube's `validateContainerCommon` and friends).

use serde_json::Value;

use crate::error::Cause;

use super::names::{
    is_config_map_key, is_dns1123_label, is_dns1123_subdomain, is_env_var_name, is_http_header_name, is_qualified_name,
    is_valid_port_name, is_valid_port_num,
};
use super::quantity::Quantity;
use super::util::{
    arr, duplicate, get, int, invalid, invalid_raw, is_set, map, nonneg, not_found, not_supported, required_detail, s,
};

pub(crate) const PROTOCOLS: &[&str] = &["SCTP", "TCP", "UDP"];
const QUANTITY_RE: &str = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// Which list a container comes from; the rules differ slightly.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Regular,
    Init,
}

/// Checks shared by all container kinds. `volumes` are the pod's volume names.
pub(crate) fn validate_common(c: &Value, path: &str, volumes: &[String], pod_restart: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let name = s(c, &["name"]);
    if name.is_empty() {
        errs.push(Cause::required(format!("{path}.name")));
    } else {
        errs.extend(is_dns1123_label(name).into_iter().map(|m| invalid(format!("{path}.name"), name, m)));
    }
    if s(c, &["image"]).is_empty() {
        errs.push(Cause::required(format!("{path}.image")));
    }
    match s(c, &["terminationMessagePolicy"]) {
        "File" | "FallbackToLogsOnError" => {}
        "" => errs.push(Cause::required(format!("{path}.terminationMessagePolicy"))),
        other => errs.push(not_supported(
            format!("{path}.terminationMessagePolicy"),
            other,
            &["File", "FallbackToLogsOnError"],
        )),
    }
    errs.extend(validate_ports(arr(c, &["ports"]), &format!("{path}.ports")));
    errs.extend(validate_env(c, path));
    errs.extend(validate_volume_mounts(arr(c, &["volumeMounts"]), &format!("{path}.volumeMounts"), volumes));
    match s(c, &["imagePullPolicy"]) {
        "Always" | "IfNotPresent" | "Never" => {}
        "" => errs.push(Cause::required(format!("{path}.imagePullPolicy"))),
        other => {
            errs.push(not_supported(format!("{path}.imagePullPolicy"), other, &["Always", "IfNotPresent", "Never"]))
        }
    }
    errs.extend(validate_resources(c, &format!("{path}.resources")));
    for p in arr(c, &["resizePolicy"]) {
        if pod_restart == "Never" && s(p, &["restartPolicy"]) != "NotRequired" {
            errs.push(invalid(
                format!("{path}.resizePolicy"),
                s(p, &["restartPolicy"]),
                "must be 'NotRequired' when `restartPolicy` is 'Never'",
            ));
        }
    }
    for key in ["runAsUser", "runAsGroup"] {
        if let Some(id) = int(c, &["securityContext", key]).filter(|id| !(0..=2147483647).contains(id)) {
            errs.push(invalid_raw(
                format!("{path}.securityContext.{key}"),
                id,
                "must be between 0 and 2147483647, inclusive",
            ));
        }
    }
    errs
}

/// Probe and lifecycle rules, which differ between regular and init containers.
pub(crate) fn validate_handlers(c: &Value, path: &str, kind: Kind, grace: Option<i64>) -> Vec<Cause> {
    let mut errs = Vec::new();
    let sidecar = kind == Kind::Init && s(c, &["restartPolicy"]) == "Always";
    if kind == Kind::Init && !sidecar {
        for key in ["lifecycle", "livenessProbe", "readinessProbe", "startupProbe"] {
            if is_set(c, &[key]) {
                errs.push(Cause::forbidden(
                    format!("{path}.{key}"),
                    "may not be set for init containers without restartPolicy=Always",
                ));
            }
        }
        return errs;
    }
    for key in ["postStart", "preStop"] {
        if let Some(h) = get(c, &["lifecycle", key]).filter(|v| !v.is_null()) {
            errs.extend(validate_handler(h, &format!("{path}.lifecycle.{key}"), true, grace));
        }
    }
    for key in ["livenessProbe", "readinessProbe", "startupProbe"] {
        let Some(p) = get(c, &[key]).filter(|v| !v.is_null()) else { continue };
        let pp = format!("{path}.{key}");
        errs.extend(validate_handler(p, &pp, false, grace));
        for f in ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"] {
            nonneg(&mut errs, p, &[f], &format!("{pp}.{f}"));
        }
        if let Some(t) = int(p, &["terminationGracePeriodSeconds"]) {
            if key == "readinessProbe" {
                errs.push(invalid_raw(
                    format!("{pp}.terminationGracePeriodSeconds"),
                    t,
                    "must not be set for readinessProbes",
                ));
            } else if t <= 0 {
                errs.push(invalid_raw(format!("{pp}.terminationGracePeriodSeconds"), t, "must be greater than 0"));
            }
        }
        let st = int(p, &["successThreshold"]).unwrap_or(0);
        if key != "readinessProbe" && st != 1 {
            errs.push(invalid_raw(format!("{pp}.successThreshold"), st, "must be 1"));
        }
    }
    if kind == Kind::Regular && is_set(c, &["restartPolicy"]) {
        errs.push(Cause::forbidden(format!("{path}.restartPolicy"), "may not be set for non-init containers"));
    } else if kind == Kind::Init && is_set(c, &["restartPolicy"]) && !sidecar {
        errs.push(not_supported(format!("{path}.restartPolicy"), s(c, &["restartPolicy"]), &["Always"]));
    }
    errs
}

fn validate_handler(h: &Value, path: &str, lifecycle: bool, grace: Option<i64>) -> Vec<Cause> {
    let mut errs = Vec::new();
    let kinds: &[&str] =
        if lifecycle { &["exec", "httpGet", "tcpSocket", "sleep"] } else { &["exec", "httpGet", "tcpSocket", "grpc"] };
    let mut n = 0;
    for k in kinds {
        let Some(v) = get(h, &[k]).filter(|v| !v.is_null()) else { continue };
        let kp = format!("{path}.{k}");
        if n > 0 {
            errs.push(Cause::forbidden(kp, "may not specify more than 1 handler type"));
            continue;
        }
        n += 1;
        match *k {
            "exec" if arr(v, &["command"]).is_empty() => errs.push(Cause::required(format!("{kp}.command"))),
            "httpGet" => {
                if s(v, &["path"]).is_empty() {
                    errs.push(Cause::required(format!("{kp}.path")));
                }
                errs.extend(validate_port_num_or_name(get(v, &["port"]), &format!("{kp}.port")));
                let scheme = s(v, &["scheme"]);
                if scheme != "HTTP" && scheme != "HTTPS" {
                    errs.push(not_supported(format!("{kp}.scheme"), scheme, &["HTTP", "HTTPS"]));
                }
                for hdr in arr(v, &["httpHeaders"]) {
                    for m in is_http_header_name(s(hdr, &["name"])) {
                        errs.push(invalid(format!("{kp}.httpHeaders"), s(hdr, &["name"]), m));
                    }
                }
            }
            "tcpSocket" => errs.extend(validate_port_num_or_name(get(v, &["port"]), &format!("{kp}.port"))),
            "grpc" => errs.extend(validate_port_num_or_name(get(v, &["port"]), &format!("{kp}.port"))),
            "sleep" => {
                let secs = int(v, &["seconds"]).unwrap_or(0);
                if let Some(g) = grace.filter(|g| secs < 0 || secs > *g) {
                    errs.push(invalid_raw(
                        format!("{kp}.seconds"),
                        secs,
                        format!("must be non-negative and less than terminationGracePeriodSeconds ({g})"),
                    ));
                }
            }
            _ => {}
        }
    }
    if n == 0 {
        errs.push(required_detail(path, "must specify a handler type"));
    }
    errs
}

/// An IntOrString port: a number in range, or a valid port name.
pub(crate) fn validate_port_num_or_name(port: Option<&Value>, path: &str) -> Vec<Cause> {
    match port {
        Some(Value::String(name)) => is_valid_port_name(name).into_iter().map(|m| invalid(path, name, m)).collect(),
        other => {
            let n = other.and_then(Value::as_i64).unwrap_or(0);
            is_valid_port_num(n).into_iter().map(|m| invalid_raw(path, n, m)).collect()
        }
    }
}

fn validate_ports(ports: &[Value], path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let name = s(p, &["name"]);
        if !name.is_empty() {
            let msgs = is_valid_port_name(name);
            if !msgs.is_empty() {
                errs.extend(msgs.into_iter().map(|m| invalid(format!("{ip}.name"), name, m)));
            } else if names.contains(&name) {
                errs.push(duplicate(format!("{ip}.name"), name));
            } else {
                names.push(name);
            }
        }
        match int(p, &["containerPort"]).unwrap_or(0) {
            0 => errs.push(Cause::required(format!("{ip}.containerPort"))),
            n => {
                errs.extend(is_valid_port_num(n).into_iter().map(|m| invalid_raw(format!("{ip}.containerPort"), n, m)))
            }
        }
        if let Some(hp) = int(p, &["hostPort"]).filter(|hp| *hp != 0) {
            errs.extend(is_valid_port_num(hp).into_iter().map(|m| invalid_raw(format!("{ip}.hostPort"), hp, m)));
        }
        match s(p, &["protocol"]) {
            "" => errs.push(Cause::required(format!("{ip}.protocol"))),
            proto if !PROTOCOLS.contains(&proto) => {
                errs.push(not_supported(format!("{ip}.protocol"), proto, PROTOCOLS))
            }
            _ => {}
        }
    }
    errs
}

fn validate_env(c: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    for (i, ev) in arr(c, &["env"]).iter().enumerate() {
        let ip = format!("{path}.env[{i}]");
        let name = s(ev, &["name"]);
        if name.is_empty() {
            errs.push(Cause::required(format!("{ip}.name")));
        } else {
            errs.extend(is_env_var_name(name).into_iter().map(|m| invalid(format!("{ip}.name"), name, m)));
        }
        let Some(from) = get(ev, &["valueFrom"]).filter(|v| !v.is_null()) else { continue };
        let vp = format!("{ip}.valueFrom");
        let sources = ["fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef"];
        let n = sources.iter().filter(|k| is_set(from, &[k])).count();
        for key in ["configMapKeyRef", "secretKeyRef"] {
            if let Some(r) = get(from, &[key]).filter(|v| !v.is_null()) {
                let rname = s(r, &["name"]);
                errs.extend(
                    is_dns1123_subdomain(rname).into_iter().map(|m| invalid(format!("{vp}.{key}.name"), rname, m)),
                );
                let k = s(r, &["key"]);
                if k.is_empty() {
                    errs.push(Cause::required(format!("{vp}.{key}.key")));
                } else {
                    errs.extend(is_config_map_key(k).into_iter().map(|m| invalid(format!("{vp}.{key}.key"), k, m)));
                }
            }
        }
        if let Some(f) = get(from, &["fieldRef"]).filter(|v| !v.is_null()) {
            if s(f, &["apiVersion"]).is_empty() {
                errs.push(Cause::required(format!("{vp}.fieldRef.apiVersion")));
            } else if s(f, &["fieldPath"]).is_empty() {
                errs.push(Cause::required(format!("{vp}.fieldRef.fieldPath")));
            }
        }
        if n == 0 {
            errs.push(invalid(
                &vp,
                "",
                "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
            ));
        } else if !s(ev, &["value"]).is_empty() {
            errs.push(invalid(&vp, "", "may not be specified when `value` is not empty"));
        } else if n > 1 {
            errs.push(invalid(&vp, "", "may not have more than one field specified at a time"));
        }
    }
    for (i, ef) in arr(c, &["envFrom"]).iter().enumerate() {
        let ip = format!("{path}.envFrom[{i}]");
        let prefix = s(ef, &["prefix"]);
        if !prefix.is_empty() {
            errs.extend(is_env_var_name(prefix).into_iter().map(|m| invalid(format!("{ip}.prefix"), prefix, m)));
        }
        let n = ["configMapRef", "secretRef"].iter().filter(|k| is_set(ef, &[k])).count();
        for key in ["configMapRef", "secretRef"] {
            if let Some(r) = get(ef, &[key]).filter(|v| !v.is_null()) {
                if s(r, &["name"]).is_empty() {
                    errs.push(Cause::required(format!("{ip}.{key}.name")));
                }
            }
        }
        if n == 0 {
            errs.push(invalid(format!("{path}.envFrom"), "", "must specify one of: `configMapRef` or `secretRef`"));
        } else if n > 1 {
            errs.push(invalid(format!("{path}.envFrom"), "", "may not have more than one field specified at a time"));
        }
    }
    errs
}

fn validate_volume_mounts(mounts: &[Value], path: &str, volumes: &[String]) -> Vec<Cause> {
    let mut errs = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    for (i, m) in mounts.iter().enumerate() {
        let ip = format!("{path}[{i}]");
        let name = s(m, &["name"]);
        if name.is_empty() {
            errs.push(Cause::required(format!("{ip}.name")));
        }
        if !volumes.iter().any(|v| v == name) {
            errs.push(not_found(format!("{ip}.name"), name));
        }
        let mp = s(m, &["mountPath"]);
        if mp.is_empty() {
            errs.push(Cause::required(format!("{ip}.mountPath")));
        }
        if seen.contains(&mp) {
            errs.push(invalid(format!("{ip}.mountPath"), mp, "must be unique"));
        }
        seen.push(mp);
        let sub = s(m, &["subPath"]);
        if sub.starts_with('/') {
            errs.push(invalid(format!("{path}.subPath"), sub, "must be a relative path"));
        } else if sub.split('/').any(|p| p == "..") {
            errs.push(invalid(format!("{path}.subPath"), sub, "must not contain '..'"));
        }
    }
    errs
}

/// kube's standard container resources, `hugepages-*` and extended resources.
fn validate_resource_name(name: &str, path: &str) -> Vec<Cause> {
    let mut errs: Vec<Cause> = is_qualified_name(name).into_iter().map(|m| invalid(path, name, m)).collect();
    if !errs.is_empty() {
        return errs;
    }
    if !name.contains('/') {
        if !matches!(name, "cpu" | "memory" | "ephemeral-storage") && !name.starts_with("hugepages-") {
            errs.push(invalid(path, name, "must be a standard resource for containers"));
        }
    } else if !name.contains("kubernetes.io/") && name.starts_with("requests.") {
        errs.push(invalid(path, name, "doesn't follow extended resource name standard"));
    }
    errs
}

fn overcommit_allowed(name: &str) -> bool {
    let native = !name.contains('/') || name.contains("kubernetes.io/");
    native && !name.starts_with("hugepages-")
}

/// Request/limit checks of a container's `resources`.
pub(crate) fn validate_resources(c: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let limits = map(c, &["resources", "limits"]);
    for (name, q) in limits.into_iter().flatten() {
        let kp = format!("{path}.limits[{name}]");
        errs.extend(validate_resource_name(name, &kp));
        errs.extend(validate_quantity_value(q, &kp));
    }
    for (name, q) in map(c, &["resources", "requests"]).into_iter().flatten() {
        let kp = format!("{path}.requests[{name}]");
        errs.extend(validate_resource_name(name, &kp));
        errs.extend(validate_quantity_value(q, &kp));
        let (Some(req), limit) = (Quantity::from_json(q), limits.and_then(|l| l.get(name))) else { continue };
        match limit.and_then(Quantity::from_json) {
            Some(lim) if req.nanos != lim.nanos && !overcommit_allowed(name) => errs.push(invalid(
                format!("{path}.requests"),
                &req.canonical(),
                format!("must be equal to {name} limit of {}", lim.canonical()),
            )),
            Some(lim) if req.nanos > lim.nanos => errs.push(invalid(
                format!("{path}.requests"),
                &req.canonical(),
                format!("must be less than or equal to {name} limit of {}", lim.canonical()),
            )),
            None if limit.is_none() && !overcommit_allowed(name) => errs
                .push(required_detail(format!("{path}.limits"), "Limit must be set for non overcommitable resources")),
            _ => {}
        }
    }
    errs
}

/// A quantity must parse and must not be negative.
pub(crate) fn validate_quantity_value(q: &Value, path: &str) -> Vec<Cause> {
    match Quantity::from_json(q) {
        None => vec![invalid(path, q.as_str().unwrap_or(""), QUANTITY_RE)],
        Some(q) if q.nanos < 0 => vec![invalid(path, &q.canonical(), "must be greater than or equal to 0")],
        Some(_) => Vec::new(),
    }
}
