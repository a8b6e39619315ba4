//! Services (ports, types, traffic policies, cluster IPs and their update rules)
//! and EndpointSlices.

use std::net::IpAddr;

use serde_json::Value;

use crate::error::Cause;

use super::containers::{validate_port_num_or_name, PROTOCOLS};
use super::core_types::validate_endpoint_port;
use super::meta::validate_labels;
use super::names::{
    is_dns1123_label, is_dns1123_subdomain, is_qualified_name, is_valid_port_num, valid_cidr, valid_ip,
};
use super::util::{
    arr, duplicate, duplicate_raw, get, go_json, int, invalid, invalid_raw, invalid_value, is_set, not_supported,
    opt_s, s, too_many,
};

fn strings(v: &Value, path: &[&str]) -> Vec<String> {
    arr(v, path).iter().map(|x| x.as_str().unwrap_or("").to_string()).collect()
}

/// `spec.clusterIPs` as kube's strategy normalizes it from `spec.clusterIP`.
fn cluster_ips(obj: &Value) -> Vec<String> {
    let ips = strings(obj, &["spec", "clusterIPs"]);
    let ip = s(obj, &["spec", "clusterIP"]);
    if ips.is_empty() && !ip.is_empty() {
        return vec![ip.to_string()];
    }
    ips
}

fn is_headless(obj: &Value) -> bool {
    cluster_ips(obj) == ["None"]
}

fn ips_json(ips: &[String]) -> String {
    go_json(&Value::Array(ips.iter().map(|i| Value::String(i.clone())).collect()))
}

pub(crate) fn validate_service(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    let typ = s(obj, &["spec", "type"]);
    let ports = arr(obj, &["spec", "ports"]);
    let headless = is_headless(obj);
    if ports.is_empty() && !headless && typ != "ExternalName" {
        errs.push(Cause::required("spec.ports"));
    }
    match typ {
        "LoadBalancer" | "NodePort" if headless => {
            errs.push(invalid("spec.clusterIPs[0]", "None", format!("may not be set to 'None' for {typ} services")))
        }
        "ExternalName" => {
            for key in ["clusterIPs", "ipFamilies"] {
                if !cluster_ips_or(obj, key).is_empty() {
                    errs.push(Cause::forbidden(format!("spec.{key}"), "may not be set for ExternalName services"));
                }
            }
            if is_set(obj, &["spec", "ipFamilyPolicy"]) {
                errs.push(Cause::forbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"));
            }
            let cname = s(obj, &["spec", "externalName"]);
            let cname = cname.strip_suffix('.').unwrap_or(cname);
            if cname.is_empty() {
                errs.push(Cause::required("spec.externalName"));
            } else {
                errs.extend(is_dns1123_subdomain(cname).into_iter().map(|m| invalid("spec.externalName", cname, m)));
            }
        }
        _ => {}
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let pp = format!("spec.ports[{i}]");
        let name = s(p, &["name"]);
        if ports.len() > 1 && name.is_empty() {
            errs.push(Cause::required(format!("{pp}.name")));
        } else if !name.is_empty() {
            errs.extend(is_dns1123_label(name).into_iter().map(|m| invalid(format!("{pp}.name"), name, m)));
            if names.contains(&name) {
                errs.push(duplicate(format!("{pp}.name"), name));
            } else {
                names.push(name);
            }
        }
        let port = int(p, &["port"]).unwrap_or(0);
        errs.extend(is_valid_port_num(port).into_iter().map(|m| invalid_raw(format!("{pp}.port"), port, m)));
        match s(p, &["protocol"]) {
            "" => errs.push(Cause::required(format!("{pp}.protocol"))),
            proto if !PROTOCOLS.contains(&proto) => {
                errs.push(not_supported(format!("{pp}.protocol"), proto, PROTOCOLS))
            }
            _ => {}
        }
        errs.extend(validate_port_num_or_name(get(p, &["targetPort"]), &format!("{pp}.targetPort")));
        if let Some(ap) = opt_s(p, &["appProtocol"]) {
            errs.extend(is_qualified_name(ap).into_iter().map(|m| invalid(format!("{pp}.appProtocol"), ap, m)));
        }
    }
    errs.extend(validate_labels(obj, &["spec", "selector"], "spec.selector"));
    let affinity = s(obj, &["spec", "sessionAffinity"]);
    match affinity {
        "" => errs.push(Cause::required("spec.sessionAffinity")),
        "ClientIP" => {
            let t = int(obj, &["spec", "sessionAffinityConfig", "clientIP", "timeoutSeconds"]);
            match t {
                None => errs.push(super::util::required_detail(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    "when session affinity type is ClientIP",
                )),
                Some(t) if t <= 0 || t > 86400 => errs.push(invalid_raw(
                    "spec.sessionAffinityConfig.clientIP.timeoutSeconds",
                    t,
                    "must be greater than 0 and less than 86400",
                )),
                _ => {}
            }
        }
        "None" => {
            if is_set(obj, &["spec", "sessionAffinityConfig"]) {
                errs.push(Cause::forbidden(
                    "spec.sessionAffinityConfig",
                    "must not be set when session affinity is None",
                ));
            }
        }
        other => errs.push(not_supported("spec.sessionAffinity", other, &["ClientIP", "None"])),
    }
    if typ != "ExternalName" {
        errs.extend(cluster_ip_fields(obj));
    }
    for (i, ip) in arr(obj, &["spec", "externalIPs"]).iter().enumerate() {
        let p = format!("spec.externalIPs[{i}]");
        let ip = ip.as_str().unwrap_or("");
        let ip_errs = valid_ip(&p, ip);
        if ip_errs.is_empty() {
            errs.extend(non_special_ip(&p, ip));
        }
        errs.extend(ip_errs);
    }
    match typ {
        "" => errs.push(Cause::required("spec.type")),
        "ClusterIP" | "ExternalName" | "LoadBalancer" | "NodePort" => {}
        other => {
            errs.push(not_supported("spec.type", other, &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]))
        }
    }
    let mut node_ports: Vec<(String, i64)> = Vec::new();
    let mut port_keys: Vec<(String, i64)> = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let (proto, np, port) =
            (s(p, &["protocol"]), int(p, &["nodePort"]).unwrap_or(0), int(p, &["port"]).unwrap_or(0));
        if typ == "ClusterIP" && np != 0 {
            errs.push(Cause::forbidden(
                format!("spec.ports[{i}].nodePort"),
                "may not be used when `type` is 'ClusterIP'",
            ));
        }
        if np != 0 {
            if node_ports.contains(&(proto.to_string(), np)) {
                errs.push(duplicate_raw(format!("spec.ports[{i}].nodePort"), np));
            }
            node_ports.push((proto.to_string(), np));
        }
        if port_keys.contains(&(proto.to_string(), port)) {
            let key = format!(
                "{{\"Name\":\"\",\"Protocol\":{},\"AppProtocol\":null,\"Port\":{port},\"TargetPort\":0,\"NodePort\":0}}",
                go_json(&Value::String(proto.into()))
            );
            errs.push(duplicate_raw(format!("spec.ports[{i}]"), key));
        }
        port_keys.push((proto.to_string(), port));
    }
    let ranges = arr(obj, &["spec", "loadBalancerSourceRanges"]);
    if !ranges.is_empty() {
        if typ != "LoadBalancer" {
            errs.push(Cause::forbidden(
                "spec.LoadBalancerSourceRanges",
                "may only be used when `type` is 'LoadBalancer'",
            ));
        }
        for (i, r) in ranges.iter().enumerate() {
            errs.extend(valid_cidr(&format!("spec.LoadBalancerSourceRanges[{i}]"), r.as_str().unwrap_or("").trim()));
        }
    }
    if is_set(obj, &["spec", "allocateLoadBalancerNodePorts"]) && typ != "LoadBalancer" {
        errs.push(Cause::forbidden(
            "spec.allocateLoadBalancerNodePorts",
            "may only be used when `type` is 'LoadBalancer'",
        ));
    }
    if typ == "LoadBalancer" && !is_set(obj, &["spec", "allocateLoadBalancerNodePorts"]) {
        errs.push(Cause::required("allocateLoadBalancerNodePorts"));
    }
    errs.extend(traffic_policies(obj, typ));
    if let Some(old) = old {
        errs.extend(update_rules(obj, old));
    }
    errs
}

fn cluster_ips_or(obj: &Value, key: &str) -> Vec<String> {
    if key == "clusterIPs" {
        cluster_ips(obj)
    } else {
        strings(obj, &["spec", key])
    }
}

fn traffic_policies(obj: &Value, typ: &str) -> Vec<Cause> {
    let mut errs = Vec::new();
    let externally = typ == "LoadBalancer"
        || typ == "NodePort"
        || (typ == "ClusterIP" && !arr(obj, &["spec", "externalIPs"]).is_empty());
    let etp = s(obj, &["spec", "externalTrafficPolicy"]);
    if !externally {
        if !etp.is_empty() {
            errs.push(invalid("spec.externalTrafficPolicy", etp, "may only be set for externally-accessible services"));
        }
    } else if etp.is_empty() {
        errs.push(Cause::required("spec.externalTrafficPolicy"));
    } else if etp != "Cluster" && etp != "Local" {
        errs.push(not_supported("spec.externalTrafficPolicy", etp, &["Cluster", "Local"]));
    }
    let needs_hc = typ == "LoadBalancer" && etp == "Local";
    if let Some(hc) = int(obj, &["spec", "healthCheckNodePort"]).filter(|hc| *hc != 0) {
        if !needs_hc {
            errs.push(invalid_raw(
                "spec.healthCheckNodePort",
                hc,
                "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'",
            ));
        } else {
            errs.extend(is_valid_port_num(hc).into_iter().map(|m| invalid_raw("spec.healthCheckNodePort", hc, m)));
        }
    }
    match opt_s(obj, &["spec", "internalTrafficPolicy"]) {
        None if matches!(typ, "NodePort" | "LoadBalancer" | "ClusterIP") => {
            errs.push(Cause::required("spec.internalTrafficPolicy"))
        }
        Some(itp) if itp != "Cluster" && itp != "Local" => {
            errs.push(not_supported("spec.internalTrafficPolicy", itp, &["Cluster", "Local"]))
        }
        _ => {}
    }
    if let Some(td) = opt_s(obj, &["spec", "trafficDistribution"]) {
        const TD: &[&str] = &["PreferClose", "PreferSameZone", "PreferSameNode"];
        if !TD.contains(&td) {
            errs.push(not_supported("spec.trafficDistribution", td, TD));
        }
    }
    errs
}

/// `ValidateServiceClusterIPsRelatedFields`.
fn cluster_ip_fields(obj: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let raw_ips = strings(obj, &["spec", "clusterIPs"]);
    let ip = s(obj, &["spec", "clusterIP"]);
    if !ip.is_empty() {
        if !raw_ips.is_empty() && raw_ips[0] != ip {
            errs.push(invalid_raw("spec.clusterIPs", ips_json(&raw_ips), "first value must match `clusterIP`"));
        }
    } else if !raw_ips.is_empty() {
        errs.push(invalid_raw(
            "spec.clusterIPs",
            ips_json(&raw_ips),
            "must be empty when `clusterIP` is not specified",
        ));
    }
    let families = strings(obj, &["spec", "ipFamilies"]);
    for (i, f) in families.iter().enumerate() {
        if f != "IPv4" && f != "IPv6" {
            errs.push(not_supported(format!("spec.ipFamilies[{i}]"), f, &["IPv4", "IPv6"]));
        }
        if families[..i].contains(f) {
            errs.push(duplicate(format!("spec.ipFamilies[{i}]"), f));
        }
    }
    if let Some(p) = opt_s(obj, &["spec", "ipFamilyPolicy"]) {
        const POLICIES: &[&str] = &["PreferDualStack", "RequireDualStack", "SingleStack"];
        if !POLICIES.contains(&p) {
            errs.push(not_supported("spec.ipFamilyPolicy", p, POLICIES));
        }
    }
    let ips = cluster_ips(obj);
    let mut bad = false;
    for (i, cip) in ips.iter().enumerate() {
        if i == 0 && cip == "None" {
            if ips.len() > 1 {
                bad = true;
                errs.push(invalid_raw("spec.clusterIPs", ips_json(&ips), "'None' must be the first and only value"));
            }
            continue;
        }
        let e = valid_ip(&format!("spec.clusterIPs[{i}]"), cip);
        bad |= !e.is_empty();
        errs.extend(e);
    }
    if ips.len() > 2 {
        errs.push(invalid_raw("spec.clusterIPs", ips_json(&ips), "may only hold up to 2 values"));
    }
    if bad {
        return errs;
    }
    let v6 = |ip: &str| ip.parse::<IpAddr>().is_ok_and(|a| a.is_ipv6());
    if ips.len() == 2 && v6(&ips[0]) == v6(&ips[1]) {
        errs.push(invalid_raw("spec.clusterIPs", ips_json(&ips), "may specify no more than one IP for each IP family"));
    }
    if ips != ["None"] {
        for (i, (cip, fam)) in ips.iter().zip(&families).enumerate() {
            if fam == "IPv4" && v6(cip) {
                errs.push(invalid(
                    format!("spec.clusterIPs[{i}]"),
                    cip,
                    format!("expected an IPv4 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
            if fam == "IPv6" && !v6(cip) {
                errs.push(invalid(
                    format!("spec.clusterIPs[{i}]"),
                    cip,
                    format!("expected an IPv6 value as indicated by `ipFamilies[{i}]`"),
                ));
            }
        }
    }
    errs
}

/// Endpoint and external IPs may not be unspecified, loopback or link-local.
pub(crate) fn non_special_ip(path: &str, ip: &str) -> Vec<Cause> {
    let Ok(addr) = ip.parse::<IpAddr>() else { return vec![invalid(path, ip, "must be a valid IP address")] };
    let mut errs = Vec::new();
    if addr.is_unspecified() {
        errs.push(invalid(path, ip, format!("may not be unspecified ({ip})")));
    }
    if addr.is_loopback() {
        errs.push(invalid(path, ip, "may not be in the loopback range (127.0.0.0/8, ::1/128)"));
    }
    let link_local = match addr {
        IpAddr::V4(a) => a.is_link_local(),
        IpAddr::V6(a) => (a.segments()[0] & 0xffc0) == 0xfe80,
    };
    if link_local {
        errs.push(invalid(path, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"));
    }
    let ll_multicast = match addr {
        IpAddr::V4(a) => a.octets()[..3] == [224, 0, 0],
        IpAddr::V6(a) => (a.segments()[0] & 0xff0f) == 0xff02,
    };
    if ll_multicast {
        errs.push(invalid(path, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"));
    }
    errs
}

/// Cluster IPs and families may not change (except to/from ExternalName).
fn update_rules(new: &Value, old: &Value) -> Vec<Cause> {
    let mut errs = Vec::new();
    let (nt, ot) = (s(new, &["spec", "type"]), s(old, &["spec", "type"]));
    if nt == "ExternalName" || ot == "ExternalName" {
        return errs;
    }
    let old_ips = cluster_ips(old);
    let mut new_ips = cluster_ips(new);
    if new_ips.is_empty() {
        // kube patches allocated values a client left out before validating.
        new_ips = old_ips.clone();
    }
    let (nh, oh) = (new_ips == ["None"], old_ips == ["None"]);
    if !(nh && oh) {
        let changed = invalid_raw("spec.clusterIPs[0]", ips_json(&new_ips), "may not change once set");
        if old_ips.len() == new_ips.len() {
            for (i, ip) in old_ips.iter().enumerate() {
                if *ip != new_ips[i] {
                    errs.push(invalid_raw(
                        format!("spec.clusterIPs[{i}]"),
                        ips_json(&new_ips),
                        "may not change once set",
                    ));
                }
            }
        } else if old_ips.len() > new_ips.len() {
            if new_ips.first() != old_ips.first() {
                errs.push(changed);
            }
            if new_ips.len() == 1 && s(new, &["spec", "ipFamilyPolicy"]) != "SingleStack" {
                errs.push(invalid_value(
                    "spec.ipFamilyPolicy",
                    get(new, &["spec", "ipFamilyPolicy"]),
                    "must be set to 'SingleStack' when releasing the secondary clusterIP",
                ));
            }
        } else if !old_ips.is_empty() && new_ips[0] != old_ips[0] {
            errs.push(changed);
        }
    }
    let (nf, of) = (strings(new, &["spec", "ipFamilies"]), strings(old, &["spec", "ipFamilies"]));
    if nh == oh && !nh && !nf.is_empty() {
        let fams = go_json(get(new, &["spec", "ipFamilies"]).unwrap_or(&Value::Null));
        if (nf.len() == of.len() && nf != of) || (nf.len() != of.len() && !of.is_empty() && nf[0] != of[0]) {
            errs.push(invalid_raw("spec.ipFamilies[0]", fams, "may not change once set"));
        }
    }
    let needs_hc =
        |v: &Value| s(v, &["spec", "type"]) == "LoadBalancer" && s(v, &["spec", "externalTrafficPolicy"]) == "Local";
    if needs_hc(new) && needs_hc(old) {
        let (n, o) = (
            int(new, &["spec", "healthCheckNodePort"]).unwrap_or(0),
            int(old, &["spec", "healthCheckNodePort"]).unwrap_or(0),
        );
        if n != 0 && n != o {
            errs.push(Cause::forbidden("spec.healthCheckNodePort", "field is immutable"));
        }
    }
    errs
}

pub(crate) fn validate_endpoint_slice(obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut errs = Vec::new();
    let at = s(obj, &["addressType"]);
    match at {
        "" => errs.push(Cause::required("addressType")),
        "IPv4" | "IPv6" | "FQDN" => {}
        other => errs.push(not_supported("addressType", other, &["FQDN", "IPv4", "IPv6"])),
    }
    for (i, e) in arr(obj, &["endpoints"]).iter().enumerate() {
        let p = format!("endpoints[{i}].addresses");
        let addrs = arr(e, &["addresses"]);
        if addrs.is_empty() {
            errs.push(super::util::required_detail(&p, "must contain at least 1 address"));
        } else if addrs.len() > 100 {
            errs.push(too_many(&p, addrs.len(), 100));
        }
        for (j, a) in addrs.iter().enumerate() {
            let (ap, a) = (format!("{p}[{j}]"), a.as_str().unwrap_or(""));
            let parsed = a.parse::<IpAddr>();
            match at {
                "IPv4" if !parsed.as_ref().is_ok_and(IpAddr::is_ipv4) => {
                    errs.push(invalid(&ap, a, "must be a valid IPv4 address"))
                }
                "IPv6" if !parsed.as_ref().is_ok_and(IpAddr::is_ipv6) => {
                    errs.push(invalid(&ap, a, "must be a valid IPv6 address"))
                }
                "FQDN" => errs.extend(is_dns1123_subdomain(a).into_iter().map(|m| invalid(&ap, a, m))),
                _ => {}
            }
        }
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, p) in arr(obj, &["ports"]).iter().enumerate() {
        let pp = format!("ports[{i}]");
        let name = s(p, &["name"]);
        if !name.is_empty() {
            errs.extend(is_dns1123_label(name).into_iter().map(|m| invalid(format!("{pp}.name"), name, m)));
        }
        if names.contains(&name) {
            errs.push(duplicate(format!("{pp}.name"), name));
        }
        names.push(name);
        if is_set(p, &["port"]) {
            errs.extend(validate_endpoint_port(p, false, &pp).into_iter().filter(|c| !c.field.ends_with(".name")));
        } else if let Some(proto) = opt_s(p, &["protocol"]).filter(|p| !PROTOCOLS.contains(p)) {
            errs.push(not_supported(format!("{pp}.protocol"), proto, PROTOCOLS));
        }
    }
    if let Some(old) = old {
        let oat = s(old, &["addressType"]);
        if at != oat {
            errs.push(invalid("addressType", at, "field is immutable"));
        }
    }
    errs
}
