//! RBAC, networking (Ingress, IngressClass, NetworkPolicy), PodDisruptionBudgets
//! and HorizontalPodAutoscalers.

use serde_json::Value;

use crate::error::Cause;

use super::containers::{validate_port_num_or_name, PROTOCOLS};
use super::meta::validate_label_selector;
use super::names::{
    is_dns1035_label, is_dns1123_subdomain, is_valid_path_segment_name, is_valid_port_name, is_valid_port_num,
    regex_error, valid_cidr,
};
use super::util::{
    arr, get, go_json, int, invalid, invalid_raw, invalid_value, is_set, not_supported, opt_s, required_detail, s, same,
};
use super::workloads::{int_or_percent, not_over_100};

const RBAC_GROUP: &str = "rbac.authorization.k8s.io";

/// Roles and ClusterRoles: every rule needs verbs, and resource rules need groups and resources.
pub(crate) fn validate_role(obj: &Value, namespaced: bool) -> Vec<Cause> {
    let mut errs = Vec::new();
    for (i, r) in arr(obj, &["rules"]).iter().enumerate() {
        let p = format!("rules[{i}]");
        if arr(r, &["verbs"]).is_empty() {
            errs.push(required_detail(format!("{p}.verbs"), "verbs must contain at least one value"));
        }
        let urls = get(r, &["nonResourceURLs"]);
        if !arr(r, &["nonResourceURLs"]).is_empty() {
            if namespaced {
                errs.push(invalid_value(
                    format!("{p}.nonResourceURLs"),
                    urls,
                    "namespaced rules cannot apply to non-resource URLs",
                ));
            }
            if !arr(r, &["apiGroups"]).is_empty()
                || !arr(r, &["resources"]).is_empty()
                || !arr(r, &["resourceNames"]).is_empty()
            {
                errs.push(invalid_value(
                    format!("{p}.nonResourceURLs"),
                    urls,
                    "rules cannot apply to both regular resources and non-resource URLs",
                ));
            }
            continue;
        }
        if arr(r, &["apiGroups"]).is_empty() {
            errs.push(required_detail(format!("{p}.apiGroups"), "resource rules must supply at least one api group"));
        }
        if arr(r, &["resources"]).is_empty() {
            errs.push(required_detail(format!("{p}.resources"), "resource rules must supply at least one resource"));
        }
    }
    if let Some(agg) = get(obj, &["aggregationRule"]).filter(|v| !v.is_null()) {
        let sels = arr(agg, &["clusterRoleSelectors"]);
        if sels.is_empty() {
            errs.push(required_detail(
                "aggregationRule.clusterRoleSelectors",
                "at least one clusterRoleSelector required if aggregationRule is non-nil",
            ));
        }
        for (i, sel) in sels.iter().enumerate() {
            errs.extend(validate_label_selector(Some(sel), &format!("aggregationRule.clusterRoleSelectors[{i}]")));
        }
    }
    errs
}

/// RoleBindings and ClusterRoleBindings; `roleRef` may not change.
pub(crate) fn validate_binding(obj: &Value, namespaced: bool, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    let group = s(obj, &["roleRef", "apiGroup"]);
    if group != RBAC_GROUP {
        errs.push(not_supported("roleRef.apiGroup", group, &[RBAC_GROUP]));
    }
    let kind = s(obj, &["roleRef", "kind"]);
    let kinds: &[&str] = if namespaced { &["Role", "ClusterRole"] } else { &["ClusterRole"] };
    if !kinds.contains(&kind) {
        errs.push(not_supported("roleRef.kind", kind, kinds));
    }
    let name = s(obj, &["roleRef", "name"]);
    if name.is_empty() {
        errs.push(Cause::required("roleRef.name"));
    } else {
        errs.extend(is_valid_path_segment_name(name, false).into_iter().map(|m| invalid("roleRef.name", name, m)));
    }
    for (i, sub) in arr(obj, &["subjects"]).iter().enumerate() {
        let p = format!("subjects[{i}]");
        let sname = s(sub, &["name"]);
        if sname.is_empty() {
            errs.push(Cause::required(format!("{p}.name")));
        }
        let api_group = s(sub, &["apiGroup"]);
        match s(sub, &["kind"]) {
            "ServiceAccount" => {
                if !sname.is_empty() {
                    errs.extend(
                        is_dns1123_subdomain(sname).into_iter().map(|m| invalid(format!("{p}.name"), sname, m)),
                    );
                }
                if !api_group.is_empty() {
                    errs.push(not_supported(format!("{p}.apiGroup"), api_group, &[""]));
                }
                if !namespaced && s(sub, &["namespace"]).is_empty() {
                    errs.push(Cause::required(format!("{p}.namespace")));
                }
            }
            "User" | "Group" => {
                if api_group != RBAC_GROUP {
                    errs.push(not_supported(format!("{p}.apiGroup"), api_group, &[RBAC_GROUP]));
                }
            }
            other => errs.push(not_supported(format!("{p}.kind"), other, &["ServiceAccount", "User", "Group"])),
        }
    }
    if let Some(old) = old {
        if !same(get(obj, &["roleRef"]), get(old, &["roleRef"])) {
            // kube prints the internal RoleRef struct (Go field names).
            let rendered = format!(
                "{{\"APIGroup\":{},\"Kind\":{},\"Name\":{}}}",
                go_json(&Value::String(group.into())),
                go_json(&Value::String(kind.into())),
                go_json(&Value::String(name.into()))
            );
            errs.push(invalid_raw("roleRef", rendered, "cannot change roleRef"));
        }
    }
    errs
}

pub(crate) fn validate_ingress(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let rules = arr(obj, &["spec", "rules"]);
    let default_backend = get(obj, &["spec", "defaultBackend"]).filter(|v| !v.is_null());
    if rules.is_empty() && default_backend.is_none() {
        errs.push(invalid_value(
            "spec",
            get(obj, &["spec", "rules"]),
            "either `defaultBackend` or `rules` must be specified",
        ));
    }
    if let Some(b) = default_backend {
        errs.extend(ingress_backend(b, "spec.defaultBackend"));
    }
    for (i, r) in rules.iter().enumerate() {
        let p = format!("spec.rules[{i}]");
        let host = s(r, &["host"]);
        if !host.is_empty() {
            errs.extend(ingress_host(host, &format!("{p}.host")));
        }
        let Some(http) = get(r, &["http"]).filter(|v| !v.is_null()) else { continue };
        let paths = arr(http, &["paths"]);
        if paths.is_empty() {
            errs.push(Cause::required(format!("{p}.http.paths")));
        }
        for (j, path) in paths.iter().enumerate() {
            let pp = format!("{p}.http.paths[{j}]");
            let value = s(path, &["path"]);
            match opt_s(path, &["pathType"]) {
                None => {
                    errs.push(required_detail(format!("{pp}.pathType"), "pathType must be specified"));
                    continue;
                }
                Some("Exact" | "Prefix") => {
                    if !value.starts_with('/') {
                        errs.push(invalid(format!("{pp}.path"), value, "must be an absolute path"));
                    }
                    for seq in ["//", "/./", "/../", "%2f", "%2F"] {
                        if value.contains(seq) {
                            errs.push(invalid(format!("{pp}.path"), value, format!("must not contain '{seq}'")));
                        }
                    }
                    for suffix in ["/..", "/."] {
                        if value.ends_with(suffix) {
                            errs.push(invalid(format!("{pp}.path"), value, format!("cannot end with '{suffix}'")));
                        }
                    }
                }
                Some("ImplementationSpecific") => {
                    if !value.is_empty() && !value.starts_with('/') {
                        errs.push(invalid(format!("{pp}.path"), value, "must be an absolute path"));
                    }
                }
                Some(other) => errs.push(not_supported(
                    format!("{pp}.pathType"),
                    other,
                    &["Exact", "ImplementationSpecific", "Prefix"],
                )),
            }
            let null = Value::Null;
            errs.extend(ingress_backend(get(path, &["backend"]).unwrap_or(&null), &format!("{pp}.backend")));
        }
    }
    for (i, tls) in arr(obj, &["spec", "tls"]).iter().enumerate() {
        for (j, h) in arr(tls, &["hosts"]).iter().enumerate() {
            errs.extend(ingress_host_format(h.as_str().unwrap_or(""), &format!("spec.tls[{i}].hosts[{j}]")));
        }
    }
    if let Some(class) = opt_s(obj, &["spec", "ingressClassName"]) {
        errs.extend(is_dns1123_subdomain(class).into_iter().map(|m| invalid("spec.ingressClassName", class, m)));
    }
    errs
}

fn ingress_host(host: &str, path: &str) -> Vec<Cause> {
    if host.parse::<std::net::IpAddr>().is_ok() {
        return vec![invalid(path, host, "must be a DNS name, not an IP address")];
    }
    ingress_host_format(host, path)
}

fn ingress_host_format(host: &str, path: &str) -> Vec<Cause> {
    if let Some(rest) = host.strip_prefix("*.") {
        if !is_dns1123_subdomain(rest).is_empty() || host.len() > 253 {
            let msg = "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character";
            let fmt = "\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
            return vec![invalid(path, host, regex_error(msg, fmt, &["*.example.com"]))];
        }
        return Vec::new();
    }
    is_dns1123_subdomain(host).into_iter().map(|m| invalid(path, host, m)).collect()
}

fn ingress_backend(b: &Value, path: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let (resource, service) = (is_set(b, &["resource"]), is_set(b, &["service"]));
    match (resource, service) {
        (true, true) => errs.push(invalid(path, "", "cannot set both resource and service backends")),
        (true, false) => {
            let r = get(b, &["resource"]).unwrap_or(&Value::Null);
            for key in ["kind", "name"] {
                if s(r, &[key]).is_empty() {
                    errs.push(Cause::required(format!("{path}.resource.{key}")));
                }
            }
        }
        (false, true) => {
            let name = s(b, &["service", "name"]);
            if name.is_empty() {
                errs.push(Cause::required(format!("{path}.service.name")));
            } else {
                errs.extend(
                    is_dns1035_label(name).into_iter().map(|m| invalid(format!("{path}.service.name"), name, m)),
                );
            }
            let pname = s(b, &["service", "port", "name"]);
            let pnum = int(b, &["service", "port", "number"]).unwrap_or(0);
            match (pname.is_empty(), pnum != 0) {
                (false, true) => errs.push(invalid(path, "", "cannot set both port name & port number")),
                (false, false) => errs.extend(
                    is_valid_port_name(pname)
                        .into_iter()
                        .map(|m| invalid(format!("{path}.service.port.name"), pname, m)),
                ),
                (true, true) => errs.extend(
                    is_valid_port_num(pnum)
                        .into_iter()
                        .map(|m| invalid_raw(format!("{path}.service.port.number"), pnum, m)),
                ),
                (true, false) => errs.push(required_detail(path, "port name or number is required")),
            }
        }
        (false, false) => errs.push(invalid(path, "", "resource or service backend is required")),
    }
    errs
}

pub(crate) fn validate_ingress_class(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    let controller = s(obj, &["spec", "controller"]);
    let path = "spec.controller";
    match controller.split_once('/') {
        _ if controller.is_empty() => errs.push(Cause::required(path)),
        Some((host, rest)) if !host.is_empty() && !rest.is_empty() => {
            errs.extend(is_dns1123_subdomain(host).into_iter().map(|m| invalid(path, host, m)));
        }
        _ => errs.push(invalid(path, controller, "must be a domain-prefixed path (such as \"acme.io/foo\")")),
    }
    if controller.len() > 250 {
        errs.push(super::util::too_long(path, 250));
    }
    if let Some(old) = old {
        let oc = s(old, &["spec", "controller"]);
        if oc != controller {
            errs.push(invalid(path, controller, "field is immutable"));
        }
    }
    errs
}

pub(crate) fn validate_network_policy(obj: &Value) -> Vec<Cause> {
    let mut errs = validate_label_selector(get(obj, &["spec", "podSelector"]), "spec.podSelector");
    for dir in ["ingress", "egress"] {
        let peers = if dir == "ingress" { "from" } else { "to" };
        for (i, rule) in arr(obj, &["spec", dir]).iter().enumerate() {
            let p = format!("spec.{dir}[{i}]");
            for (j, port) in arr(rule, &["ports"]).iter().enumerate() {
                let pp = format!("{p}.ports[{j}]");
                if let Some(proto) = opt_s(port, &["protocol"]).filter(|pr| !PROTOCOLS.contains(pr)) {
                    errs.push(not_supported(format!("{pp}.protocol"), proto, PROTOCOLS));
                }
                if let Some(v) = get(port, &["port"]).filter(|v| !v.is_null()) {
                    errs.extend(validate_port_num_or_name(Some(v), &format!("{pp}.port")));
                }
            }
            for (j, peer) in arr(rule, &[peers]).iter().enumerate() {
                let pp = format!("{p}.{peers}[{j}]");
                let n = ["podSelector", "namespaceSelector", "ipBlock"].iter().filter(|k| is_set(peer, &[k])).count();
                if n == 0 {
                    errs.push(required_detail(&pp, "must specify a peer"));
                }
                if is_set(peer, &["ipBlock"]) && n > 1 {
                    errs.push(Cause::forbidden(&pp, "may not specify both ipBlock and another peer"));
                }
                errs.extend(validate_label_selector(get(peer, &["podSelector"]), &format!("{pp}.podSelector")));
                errs.extend(validate_label_selector(
                    get(peer, &["namespaceSelector"]),
                    &format!("{pp}.namespaceSelector"),
                ));
                if let Some(block) = get(peer, &["ipBlock"]).filter(|v| !v.is_null()) {
                    let cidr = s(block, &["cidr"]);
                    if cidr.is_empty() {
                        errs.push(Cause::required(format!("{pp}.ipBlock.cidr")));
                    } else {
                        errs.extend(valid_cidr(&format!("{pp}.ipBlock.cidr"), cidr));
                    }
                }
            }
        }
    }
    let types = arr(obj, &["spec", "policyTypes"]);
    for (i, t) in types.iter().enumerate() {
        let t = t.as_str().unwrap_or("");
        if t != "Ingress" && t != "Egress" {
            errs.push(not_supported(format!("spec.policyTypes[{i}]"), t, &["Egress", "Ingress"]));
        }
    }
    if types.len() > 2 {
        errs.push(invalid_value(
            "spec.policyTypes",
            get(obj, &["spec", "policyTypes"]),
            "may not specify more than two policyTypes",
        ));
    }
    errs
}

pub(crate) fn validate_pdb(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let (min, max) = (get(obj, &["spec", "minAvailable"]), get(obj, &["spec", "maxUnavailable"]));
    if min.is_some_and(|v| !v.is_null()) && max.is_some_and(|v| !v.is_null()) {
        errs.push(invalid_value("spec", get(obj, &["spec"]), "minAvailable and maxUnavailable cannot be both set"));
    }
    for (v, key) in [(min, "minAvailable"), (max, "maxUnavailable")] {
        let p = format!("spec.{key}");
        errs.extend(int_or_percent(v, &p));
        errs.extend(not_over_100(v, &p));
    }
    errs.extend(validate_label_selector(get(obj, &["spec", "selector"]), "spec.selector"));
    if let Some(p) = opt_s(obj, &["spec", "unhealthyPodEvictionPolicy"]) {
        if p != "AlwaysAllow" && p != "IfHealthyBudget" {
            errs.push(not_supported("spec.unhealthyPodEvictionPolicy", p, &["AlwaysAllow", "IfHealthyBudget"]));
        }
    }
    errs
}

/// HPAs of autoscaling/v2 (`v1` = the autoscaling/v1 shape).
pub(crate) fn validate_hpa(obj: &Value, v1: bool) -> Vec<Cause> {
    let mut errs = Vec::new();
    let min = int(obj, &["spec", "minReplicas"]);
    let max = int(obj, &["spec", "maxReplicas"]).unwrap_or(0);
    if let Some(m) = min.filter(|m| *m < 1) {
        errs.push(invalid_raw("spec.minReplicas", m, "must be greater than or equal to 1"));
    }
    if max < 1 {
        errs.push(invalid_raw("spec.maxReplicas", max, "must be greater than 0"));
    }
    if min.is_some_and(|m| max < m) {
        errs.push(invalid_raw("spec.maxReplicas", max, "must be greater than or equal to `minReplicas`"));
    }
    for key in ["kind", "name"] {
        let v = s(obj, &["spec", "scaleTargetRef", key]);
        let p = format!("spec.scaleTargetRef.{key}");
        if v.is_empty() {
            errs.push(Cause::required(p));
        } else {
            errs.extend(is_valid_path_segment_name(v, false).into_iter().map(|m| invalid(&p, v, m)));
        }
    }
    if v1 {
        if let Some(t) = int(obj, &["spec", "targetCPUUtilizationPercentage"]).filter(|t| *t < 1) {
            errs.push(invalid_raw("spec.targetCPUUtilizationPercentage", t, "must be greater than 0"));
        }
        return errs;
    }
    const TYPES: &[&str] = &["ContainerResource", "External", "Object", "Pods", "Resource"];
    for (i, m) in arr(obj, &["spec", "metrics"]).iter().enumerate() {
        let p = format!("spec.metrics[{i}]");
        let typ = s(m, &["type"]);
        if typ.is_empty() {
            errs.push(required_detail(format!("{p}.type"), "must specify a metric source type"));
            continue;
        }
        if !TYPES.contains(&typ) {
            errs.push(not_supported(format!("{p}.type"), typ, TYPES));
            continue;
        }
        let key = format!("{}{}", typ[..1].to_lowercase(), &typ[1..]);
        let Some(src) = get(m, &[&key]).filter(|v| !v.is_null()) else {
            errs.push(required_detail(format!("{p}.{key}"), "must populate information for the given metric source"));
            continue;
        };
        if (typ == "Resource" || typ == "ContainerResource") && s(src, &["name"]).is_empty() {
            errs.push(required_detail(format!("{p}.{key}.name"), "must specify a resource name"));
        }
        let tp = format!("{p}.{key}.target");
        match s(src, &["target", "type"]) {
            "" => errs.push(required_detail(format!("{tp}.type"), "must specify a metric target type")),
            "Utilization" | "Value" | "AverageValue" => {}
            other => errs.push(not_supported(format!("{tp}.type"), other, &["AverageValue", "Utilization", "Value"])),
        }
        if let Some(u) = int(src, &["target", "averageUtilization"]).filter(|u| *u <= 0) {
            errs.push(invalid_raw(format!("{tp}.averageUtilization"), u, "must be greater than 0"));
        }
    }
    errs
}
