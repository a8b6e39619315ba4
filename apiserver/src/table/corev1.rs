//! Printers of the core (`v1`) group: services, nodes, namespaces, configmaps,
//! secrets, serviceaccounts, endpoints, replicationcontrollers, podtemplates and
//! resourcequotas. Pods, events and volumes live in their own modules.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde_json::Value;

use super::util::{
    age, at, container_cells, format_labels, int_at, join_host_port, list_at, map_at, map_len, name, opt_int, quantity,
    str_at,
};
use super::{docs, events, pod, storage};
use super::{Column, Printer, Row, AGE, CONTAINERS, IMAGES, NAME};

/// The printer of a core resource, if kube registers one.
pub(super) fn printer(plural: &str) -> Option<&'static Printer> {
    Some(match plural {
        "pods" => &pod::PODS,
        "services" => &SERVICES,
        "nodes" => &NODES,
        "namespaces" => &NAMESPACES,
        "configmaps" => &CONFIGMAPS,
        "secrets" => &SECRETS,
        "serviceaccounts" => &SERVICE_ACCOUNTS,
        "endpoints" => &ENDPOINTS,
        "events" => &events::CORE_EVENTS,
        "persistentvolumes" => &storage::PERSISTENT_VOLUMES,
        "persistentvolumeclaims" => &storage::PERSISTENT_VOLUME_CLAIMS,
        "replicationcontrollers" => &REPLICATION_CONTROLLERS,
        "podtemplates" => &POD_TEMPLATES,
        "resourcequotas" => &RESOURCE_QUOTAS,
        // limitranges, bindings: the default convertor.
        _ => return None,
    })
}

static SERVICES: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Type", docs::SVC_TYPE),
        Column::s("Cluster-IP", docs::SVC_CLUSTER_IP),
        Column::s("External-IP", docs::SVC_EXTERNAL_IPS),
        Column::s("Port(s)", docs::SVC_PORTS),
        AGE,
        Column::s("Selector", docs::SVC_SELECTOR).wide(),
    ],
    print: print_service,
};

/// `loadBalancerStatusStringer` (wide, so never clipped): sorted, de-duplicated IPs or hostnames.
pub(super) fn load_balancer_ingress(ingress: &[Value]) -> String {
    let set: BTreeSet<&str> = ingress
        .iter()
        .filter_map(|i| {
            let ip = str_at(i, &["ip"]);
            let host = str_at(i, &["hostname"]);
            if !ip.is_empty() {
                Some(ip)
            } else if !host.is_empty() {
                Some(host)
            } else {
                None
            }
        })
        .collect();
    set.into_iter().collect::<Vec<_>>().join(",")
}

fn service_external_ip(svc: &Value) -> String {
    let external: Vec<&str> = list_at(svc, &["spec", "externalIPs"]).iter().filter_map(Value::as_str).collect();
    match str_at(svc, &["spec", "type"]) {
        "ClusterIP" | "NodePort" if !external.is_empty() => external.join(","),
        "ClusterIP" | "NodePort" => "<none>".to_string(),
        "LoadBalancer" => {
            let lb = load_balancer_ingress(list_at(svc, &["status", "loadBalancer", "ingress"]));
            if !external.is_empty() {
                let mut all: Vec<&str> = if lb.is_empty() { Vec::new() } else { lb.split(',').collect() };
                all.extend(external);
                all.join(",")
            } else if !lb.is_empty() {
                lb
            } else {
                "<pending>".to_string()
            }
        }
        "ExternalName" => str_at(svc, &["spec", "externalName"]).to_string(),
        _ => "<unknown>".to_string(),
    }
}

/// `makePortString`: `port/proto` or `port:nodePort/proto`.
fn service_ports(svc: &Value) -> String {
    let pieces: Vec<String> = list_at(svc, &["spec", "ports"])
        .iter()
        .map(|p| {
            // The registry defaults protocol to TCP; print that if a stored port lacks it.
            let proto = Some(str_at(p, &["protocol"])).filter(|s| !s.is_empty()).unwrap_or("TCP");
            let port = int_at(p, &["port"]);
            match int_at(p, &["nodePort"]) {
                np if np > 0 => format!("{port}:{np}/{proto}"),
                _ => format!("{port}/{proto}"),
            }
        })
        .collect();
    if pieces.is_empty() {
        "<none>".to_string()
    } else {
        pieces.join(",")
    }
}

fn print_service(svc: &Value, now: Timestamp) -> Row {
    // The internal ClusterIPs[0]: v1 clusterIP is authoritative, then clusterIPs.
    let cluster_ip = Some(str_at(svc, &["spec", "clusterIP"]))
        .filter(|s| !s.is_empty())
        .or_else(|| list_at(svc, &["spec", "clusterIPs"]).first().and_then(Value::as_str))
        .unwrap_or("<none>");
    vec![
        name(svc),
        Value::from(str_at(svc, &["spec", "type"])),
        Value::from(cluster_ip),
        Value::from(service_external_ip(svc)),
        Value::from(service_ports(svc)),
        age(svc, now),
        Value::from(format_labels(map_at(svc, &["spec", "selector"]))),
    ]
    .into()
}

static NODES: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Status", "The status of the node"),
        Column::s("Roles", "The roles of the node"),
        AGE,
        Column::s("Version", docs::NODE_KUBELET_VERSION),
        Column::s("Internal-IP", docs::NODE_ADDRESSES).wide(),
        Column::s("External-IP", docs::NODE_ADDRESSES).wide(),
        Column::s("OS-Image", docs::NODE_OS_IMAGE).wide(),
        Column::s("Kernel-Version", docs::NODE_KERNEL).wide(),
        Column::s("Container-Runtime", docs::NODE_RUNTIME).wide(),
    ],
    print: print_node,
};

const NODE_ROLE_PREFIX: &str = "node-role.kubernetes.io/";
const NODE_ROLE_LABEL: &str = "kubernetes.io/role";

/// `findNodeRoles`: `node-role.kubernetes.io/<role>` keys and the `kubernetes.io/role` value, sorted.
fn node_roles(node: &Value) -> String {
    let mut roles = BTreeSet::new();
    for (k, v) in map_at(node, &["metadata", "labels"]).into_iter().flatten() {
        if let Some(role) = k.strip_prefix(NODE_ROLE_PREFIX).filter(|r| !r.is_empty()) {
            roles.insert(role.to_string());
        } else if k == NODE_ROLE_LABEL {
            if let Some(role) = v.as_str().filter(|r| !r.is_empty()) {
                roles.insert(role.to_string());
            }
        }
    }
    if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.into_iter().collect::<Vec<_>>().join(",")
    }
}

fn node_address(node: &Value, kind: &str) -> String {
    list_at(node, &["status", "addresses"])
        .iter()
        .find(|a| str_at(a, &["type"]) == kind)
        .map_or_else(|| "<none>".to_string(), |a| str_at(a, &["address"]).to_string())
}

fn print_node(node: &Value, now: Timestamp) -> Row {
    // Only the Ready condition counts; Go keeps the last one of a type.
    let ready = list_at(node, &["status", "conditions"]).iter().rfind(|c| str_at(c, &["type"]) == "Ready");
    let mut status = vec![match ready {
        Some(c) if str_at(c, &["status"]) == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }];
    if at(node, &["spec", "unschedulable"]).and_then(Value::as_bool) == Some(true) {
        status.push("SchedulingDisabled");
    }
    let info = |field: &str| {
        let v = str_at(node, &["status", "nodeInfo", field]);
        Value::from(if v.is_empty() { "<unknown>" } else { v })
    };
    vec![
        name(node),
        Value::from(status.join(",")),
        Value::from(node_roles(node)),
        age(node, now),
        Value::from(str_at(node, &["status", "nodeInfo", "kubeletVersion"])),
        Value::from(node_address(node, "InternalIP")),
        Value::from(node_address(node, "ExternalIP")),
        info("osImage"),
        info("kernelVersion"),
        info("containerRuntimeVersion"),
    ]
    .into()
}

static NAMESPACES: Printer = Printer {
    columns: &[NAME, Column::s("Status", "The status of the namespace"), AGE],
    print: |ns, now| vec![name(ns), Value::from(str_at(ns, &["status", "phase"])), age(ns, now)].into(),
};

static CONFIGMAPS: Printer = Printer {
    columns: &[NAME, Column::s("Data", docs::CM_DATA), AGE],
    print: |cm, now| {
        let count = map_len(cm, &["data"]) + map_len(cm, &["binaryData"]);
        vec![name(cm), Value::from(count), age(cm, now)].into()
    },
};

static SECRETS: Printer = Printer {
    columns: &[NAME, Column::s("Type", docs::SECRET_TYPE), Column::s("Data", docs::SECRET_DATA), AGE],
    print: |s, now| {
        vec![name(s), Value::from(str_at(s, &["type"])), Value::from(map_len(s, &["data"])), age(s, now)].into()
    },
};

static SERVICE_ACCOUNTS: Printer = Printer {
    columns: &[NAME, Column::s("Secrets", docs::SA_SECRETS), AGE],
    print: |sa, now| vec![name(sa), Value::from(list_at(sa, &["secrets"]).len()), age(sa, now)].into(),
};

static ENDPOINTS: Printer = Printer {
    columns: &[NAME, Column::s("Endpoints", docs::EP_SUBSETS), AGE],
    print: |ep, now| vec![name(ep), Value::from(format_endpoints(ep)), age(ep, now)].into(),
};

/// `formatEndpoints` (all ports): up to three `ip:port`s, then ` + N more...`.
fn format_endpoints(ep: &Value) -> String {
    let subsets = list_at(ep, &["subsets"]);
    if subsets.is_empty() {
        return "<none>".to_string();
    }
    const MAX: usize = 3;
    let mut list: Vec<String> = Vec::new();
    let mut more = false;
    let mut count = 0usize;
    for ss in subsets {
        let addresses = list_at(ss, &["addresses"]);
        let ports = list_at(ss, &["ports"]);
        if ports.is_empty() {
            // Headless services may have no ports.
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(str_at(a, &["ip"]).to_string());
            }
            continue;
        }
        for p in ports {
            count += addresses.len();
            for a in addresses {
                if list.len() == MAX {
                    more = true;
                    break;
                }
                list.push(join_host_port(str_at(a, &["ip"]), int_at(p, &["port"])));
            }
        }
    }
    let ret = list.join(",");
    if more {
        format!("{ret} + {} more...", count - MAX)
    } else {
        ret
    }
}

static REPLICATION_CONTROLLERS: Printer = Printer {
    columns: &[
        NAME,
        Column::i("Desired", docs::RC_SPEC_REPLICAS),
        Column::i("Current", docs::RC_STATUS_REPLICAS),
        Column::i("Ready", docs::RC_READY_REPLICAS),
        AGE,
        CONTAINERS,
        IMAGES,
        Column::s("Selector", docs::RC_SELECTOR).wide(),
    ],
    print: |rc, now| {
        let (names, images) = container_cells(list_at(rc, &["spec", "template", "spec", "containers"]));
        vec![
            name(rc),
            // spec.replicas defaults to 1.
            Value::from(opt_int(rc, &["spec", "replicas"]).unwrap_or(1)),
            Value::from(int_at(rc, &["status", "replicas"])),
            Value::from(int_at(rc, &["status", "readyReplicas"])),
            age(rc, now),
            names,
            images,
            Value::from(format_labels(map_at(rc, &["spec", "selector"]))),
        ]
        .into()
    },
};

static POD_TEMPLATES: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Containers", "Names of each container in the template."),
        Column::s("Images", "Images referenced by each container in the template."),
        Column::s("Pod Labels", "The labels for the pod template."),
    ],
    print: |pt, _| {
        let (names, images) = container_cells(list_at(pt, &["template", "spec", "containers"]));
        let labels = format_labels(map_at(pt, &["template", "metadata", "labels"]));
        vec![name(pt), names, images, Value::from(labels)].into()
    },
};

static RESOURCE_QUOTAS: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
        Column::s(
            "Limit",
            "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
        ),
        AGE,
    ],
    print: print_resource_quota,
};

/// REQUEST / LIMIT: `resource: used/hard` per hard limit, `limits.*` in the second column.
fn print_resource_quota(rq: &Value, now: Timestamp) -> Row {
    let mut requests = Vec::new();
    let mut limits = Vec::new();
    // Go sorts the resource names.
    let mut hard: Vec<(&String, &Value)> = map_at(rq, &["status", "hard"]).into_iter().flatten().collect();
    hard.sort_by(|a, b| a.0.cmp(b.0));
    for (resource, hard) in hard {
        let used = quantity(at(rq, &["status", "used", resource.as_str()]));
        let entry = format!("{resource}: {used}/{}", quantity(Some(hard)));
        match resource.split_once('.') {
            Some(("limits", _)) => limits.push(entry),
            _ => requests.push(entry),
        }
    }
    vec![name(rq), Value::from(requests.join(", ")), Value::from(limits.join(", ")), age(rq, now)].into()
}
