//! Service defaults and the Service strategy's create/update preparation
//! (cluster IP normalization, allocated-value patching, type-dependent fields).

use serde_json::{json, Map, Value};

use super::other::str_of;
use super::{at, child, each, is_unset, set_if_absent, set_if_unset, status_shell};

pub(super) fn service(obj: &mut Value) {
    let Some(spec) = child(obj, "spec") else { return };
    set_if_unset(spec, "sessionAffinity", json!("None"));
    let affinity = str_of(spec, &["sessionAffinity"]).to_string();
    match affinity.as_str() {
        "None" => {
            if let Some(m) = spec.as_object_mut() {
                m.remove("sessionAffinityConfig");
            }
        }
        "ClientIP"
            if at(spec, &["sessionAffinityConfig", "clientIP"]).is_none_or(|c| is_unset(c.get("timeoutSeconds"))) =>
        {
            if let Some(m) = spec.as_object_mut() {
                m.insert("sessionAffinityConfig".into(), json!({"clientIP": {"timeoutSeconds": 10800}}));
            }
        }
        _ => {}
    }
    set_if_unset(spec, "type", json!("ClusterIP"));
    for p in each(spec, "ports") {
        set_if_unset(p, "protocol", json!("TCP"));
        if is_unset(p.get("targetPort")) {
            let port = p.get("port").cloned().unwrap_or(json!(0));
            if let Some(m) = p.as_object_mut() {
                m.insert("targetPort".into(), port);
            }
        }
    }
    let typ = str_of(spec, &["type"]).to_string();
    let has_external_ips = spec.get("externalIPs").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    if typ == "NodePort" || typ == "LoadBalancer" || (typ == "ClusterIP" && has_external_ips) {
        set_if_unset(spec, "externalTrafficPolicy", json!("Cluster"));
    }
    if matches!(typ.as_str(), "NodePort" | "LoadBalancer" | "ClusterIP") {
        set_if_absent(spec, "internalTrafficPolicy", json!("Cluster"));
    }
    if typ == "LoadBalancer" {
        set_if_absent(spec, "allocateLoadBalancerNodePorts", json!(true));
    }
    if typ != "ExternalName" {
        // The allocator's family defaults on a single-stack IPv4 cluster;
        // headless services without a selector prefer every family.
        let headless = str_of(spec, &["clusterIP"]) == "None";
        let selectorless = spec.get("selector").and_then(Value::as_object).is_none_or(Map::is_empty);
        let policy = if headless && selectorless { "RequireDualStack" } else { "SingleStack" };
        set_if_absent(spec, "ipFamilyPolicy", json!(policy));
        if spec.get("ipFamilies").and_then(Value::as_array).is_none_or(Vec::is_empty) {
            if let Some(m) = spec.as_object_mut() {
                m.insert("ipFamilies".into(), json!(["IPv4"]));
            }
        }
    }
    if let Some(status) = at(obj, &["status", "loadBalancer"]) {
        if typ == "LoadBalancer" {
            for ing in each(status, "ingress") {
                if !str_of(ing, &["ip"]).is_empty() {
                    set_if_absent(ing, "ipMode", json!("VIP"));
                }
            }
        }
    }
    status_shell(obj, json!({"loadBalancer": {}}));
}

/// kube's create-time `normalizeClusterIPs`: an old client's `clusterIP` seeds `clusterIPs`.
pub(super) fn service_create(obj: &mut Value) {
    let Some(spec) = at(obj, &["spec"]) else { return };
    let ip = str_of(spec, &["clusterIP"]).to_string();
    if !ip.is_empty() && spec.get("clusterIPs").and_then(Value::as_array).is_none_or(Vec::is_empty) {
        if let Some(m) = spec.as_object_mut() {
            m.insert("clusterIPs".into(), json!([ip]));
        }
    }
}

fn needs_cluster_ip(spec: &Value) -> bool {
    str_of(spec, &["type"]) != "ExternalName"
}

fn needs_node_port(spec: &Value) -> bool {
    matches!(str_of(spec, &["type"]), "NodePort" | "LoadBalancer")
}

/// kube's Service `PrepareForUpdate` and `patchAllocatedValues`: keep allocated
/// IPs and ports a client left out, and drop the ones a type change makes moot.
pub(super) fn service_update(new: &mut Value, old: &Value) {
    let null = Value::Null;
    let os = old.get("spec").unwrap_or(&null);
    let Some(mut ns) = new.get("spec").filter(|v| v.is_object()).cloned() else { return };
    normalize_cluster_ips(&mut ns, os);
    patch_allocated(&mut ns, os);
    drop_type_dependent(&mut ns, os);
    let lb = str_of(&ns, &["type"]) == "LoadBalancer";
    if let Some(m) = new.as_object_mut() {
        m.insert("spec".into(), ns);
    }
    if !lb {
        if let Some(m) = at(new, &["status"]).and_then(Value::as_object_mut) {
            m.insert("loadBalancer".into(), json!({}));
        }
    }
}

fn ips(v: &Value) -> Vec<Value> {
    v.get("clusterIPs").and_then(Value::as_array).cloned().unwrap_or_default()
}

fn set(v: &mut Value, key: &str, value: Value) {
    if let Some(m) = v.as_object_mut() {
        m.insert(key.into(), value);
    }
}

fn unset(v: &mut Value, key: &str) {
    if let Some(m) = v.as_object_mut() {
        m.remove(key);
    }
}

/// `normalizeClusterIPs` on update: reconcile `clusterIP` and `clusterIPs`.
fn normalize_cluster_ips(ns: &mut Value, os: &Value) {
    let (old_ip, new_ip) = (str_of(os, &["clusterIP"]).to_string(), str_of(ns, &["clusterIP"]).to_string());
    if !ips(os).is_empty() && ips(ns).is_empty() && old_ip == new_ip {
        set(ns, "clusterIPs", Value::Array(ips(os)));
    }
    if old_ip != new_ip && ips(ns) == ips(os) {
        if !old_ip.is_empty() && new_ip.is_empty() {
            unset(ns, "clusterIPs");
        } else {
            set(ns, "clusterIPs", json!([new_ip]));
        }
    }
}

/// `patchAllocatedValues`: values the allocator handed out survive an update
/// that omits them.
fn patch_allocated(ns: &mut Value, os: &Value) {
    if needs_cluster_ip(os) && needs_cluster_ip(ns) {
        if str_of(ns, &["clusterIP"]).is_empty() && !str_of(os, &["clusterIP"]).is_empty() {
            set(ns, "clusterIP", json!(str_of(os, &["clusterIP"])));
        }
        if ips(ns).is_empty() && !ips(os).is_empty() {
            set(ns, "clusterIPs", Value::Array(ips(os)));
        }
    }
    let node_port = |p: &Value| p.get("nodePort").and_then(Value::as_i64).unwrap_or(0);
    if needs_node_port(os) && needs_node_port(ns) {
        let old_ports = os.get("ports").and_then(Value::as_array).cloned().unwrap_or_default();
        let used: Vec<i64> = ns
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(node_port)
            .filter(|n| *n != 0)
            .collect();
        for p in each(ns, "ports") {
            if node_port(p) != 0 {
                continue;
            }
            let name = str_of(p, &["name"]);
            let old_np = old_ports.iter().find(|o| str_of(o, &["name"]) == name).map(node_port).unwrap_or(0);
            if old_np != 0 && !used.contains(&old_np) {
                set(p, "nodePort", json!(old_np));
            }
        }
    }
    let hc = |v: &Value| v.get("healthCheckNodePort").and_then(Value::as_i64).unwrap_or(0);
    let needs_hc =
        |v: &Value| str_of(v, &["type"]) == "LoadBalancer" && str_of(v, &["externalTrafficPolicy"]) == "Local";
    if needs_hc(os) && needs_hc(ns) && hc(ns) == 0 && hc(os) != 0 {
        set(ns, "healthCheckNodePort", json!(hc(os)));
    }
}

/// kube's `dropTypeDependentFields`: on a type change, unchanged allocated
/// values the new type cannot have are cleared.
fn drop_type_dependent(ns: &mut Value, os: &Value) {
    if str_of(ns, &["type"]) == str_of(os, &["type"]) {
        return;
    }
    let same = |k: &str, n: &Value| n.get(k) == os.get(k);
    let snapshot = ns.clone();
    let Some(m) = ns.as_object_mut() else { return };
    if needs_cluster_ip(os) && !needs_cluster_ip(&snapshot) {
        if same("clusterIPs", &snapshot) && same("clusterIP", &snapshot) {
            m.remove("clusterIP");
            m.remove("clusterIPs");
        }
        for k in ["ipFamilies", "ipFamilyPolicy"] {
            if same(k, &snapshot) {
                m.remove(k);
            }
        }
    }
    let node_ports = |v: &Value| -> Vec<i64> {
        v.get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|p| p.get("nodePort").and_then(Value::as_i64).unwrap_or(0))
            .collect()
    };
    if needs_node_port(os) && !needs_node_port(&snapshot) && node_ports(os) == node_ports(&snapshot) {
        if let Some(ports) = m.get_mut("ports").and_then(Value::as_array_mut) {
            for p in ports {
                unset(p, "nodePort");
            }
        }
    }
    let lb_local =
        |v: &Value| str_of(v, &["type"]) == "LoadBalancer" && str_of(v, &["externalTrafficPolicy"]) == "Local";
    if lb_local(os) && !lb_local(&snapshot) && same("healthCheckNodePort", &snapshot) {
        m.remove("healthCheckNodePort");
    }
    if str_of(&snapshot, &["type"]) != "LoadBalancer" {
        m.remove("allocateLoadBalancerNodePorts");
        if same("loadBalancerClass", &snapshot) {
            m.remove("loadBalancerClass");
        }
    }
    let external = |v: &Value| {
        let t = str_of(v, &["type"]);
        t == "NodePort"
            || t == "LoadBalancer"
            || (t == "ClusterIP" && v.get("externalIPs").and_then(Value::as_array).is_some_and(|a| !a.is_empty()))
    };
    if external(os) && !external(&snapshot) && same("externalTrafficPolicy", &snapshot) {
        m.remove("externalTrafficPolicy");
    }
    if str_of(&snapshot, &["type"]) == "ExternalName" && same("internalTrafficPolicy", &snapshot) {
        m.remove("internalTrafficPolicy");
    }
}
