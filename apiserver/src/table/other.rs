//! Printers of the remaining named groups: networking, rbac (bindings only; roles
//! use the default columns), policy, autoscaling, coordination, scheduling,
//! certificates, admissionregistration, discovery and events.k8s.io.

use jiff::Timestamp;
use serde_json::Value;

use super::corev1::load_balancer_ingress;
use super::duration::human_duration;
use super::util::{
    age, at, format_label_selector, int_at, int_or_string, list_at, list_with_more, map_at, name, opt_int, opt_str,
    str_at,
};
use super::{autoscaling, docs, events, storage};
use super::{Column, Printer, Row, AGE, NAME};

/// The printer of a resource of a named group other than apps and batch.
pub(super) fn printer(group: &str, version: &str, plural: &str) -> Option<&'static Printer> {
    Some(match (group, plural) {
        ("networking.k8s.io", "ingresses") => &INGRESSES,
        ("networking.k8s.io", "ingressclasses") => &INGRESS_CLASSES,
        ("networking.k8s.io", "networkpolicies") => &NETWORK_POLICIES,
        ("rbac.authorization.k8s.io", "rolebindings") => &ROLE_BINDINGS,
        ("rbac.authorization.k8s.io", "clusterrolebindings") => &CLUSTER_ROLE_BINDINGS,
        ("policy", "poddisruptionbudgets") => &POD_DISRUPTION_BUDGETS,
        ("autoscaling", "horizontalpodautoscalers") if version == "v1" => &autoscaling::HPAS_V1,
        ("autoscaling", "horizontalpodautoscalers") => &autoscaling::HPAS,
        ("coordination.k8s.io", "leases") => &LEASES,
        ("scheduling.k8s.io", "priorityclasses") => &PRIORITY_CLASSES,
        ("certificates.k8s.io", "certificatesigningrequests") => &CSRS,
        ("admissionregistration.k8s.io", "mutatingwebhookconfigurations" | "validatingwebhookconfigurations") => {
            &WEBHOOK_CONFIGURATIONS
        }
        ("admissionregistration.k8s.io", "validatingadmissionpolicies") => &VALIDATING_ADMISSION_POLICIES,
        ("admissionregistration.k8s.io", "validatingadmissionpolicybindings") => &POLICY_BINDINGS,
        ("discovery.k8s.io", "endpointslices") => &ENDPOINT_SLICES,
        ("events.k8s.io", "events") => &events::EVENTS_V1,
        ("storage.k8s.io", plural) => return storage::printer(plural),
        // roles, clusterroles, customresourcedefinitions: the default convertor.
        _ => return None,
    })
}

static INGRESSES: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Class", "The name of the IngressClass resource that should be used for additional configuration"),
        Column::s("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
        Column::s("Address", "Address is a list containing ingress points for the load-balancer"),
        Column::s("Ports", "Ports of TLS configurations that open"),
        AGE,
    ],
    print: print_ingress,
};

/// `formatHosts`: up to three rule hosts, `*` when none names a host.
fn format_hosts(rules: &[Value]) -> String {
    const MAX: usize = 3;
    let mut list: Vec<&str> = Vec::new();
    let mut more = false;
    for rule in rules {
        if list.len() == MAX {
            more = true;
        }
        let host = str_at(rule, &["host"]);
        if !more && !host.is_empty() {
            list.push(host);
        }
    }
    if list.is_empty() {
        return "*".to_string();
    }
    let ret = list.join(",");
    if more {
        format!("{ret} + {} more...", rules.len() - MAX)
    } else {
        ret
    }
}

fn print_ingress(ing: &Value, now: Timestamp) -> Row {
    let ports = if list_at(ing, &["spec", "tls"]).is_empty() { "80" } else { "80, 443" };
    vec![
        name(ing),
        Value::from(opt_str(ing, &["spec", "ingressClassName"]).unwrap_or("<none>")),
        Value::from(format_hosts(list_at(ing, &["spec", "rules"]))),
        Value::from(load_balancer_ingress(list_at(ing, &["status", "loadBalancer", "ingress"]))),
        Value::from(ports),
        age(ing, now),
    ]
    .into()
}

static INGRESS_CLASSES: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Controller", "Controller that is responsible for handling this class"),
        Column::s("Parameters", "A reference to a resource with additional parameters"),
        AGE,
    ],
    print: |ic, now| {
        let parameters = match at(ic, &["spec", "parameters"]) {
            Some(p) => {
                let kind = match opt_str(p, &["apiGroup"]) {
                    Some(g) => format!("{}.{g}", str_at(p, &["kind"])),
                    None => str_at(p, &["kind"]).to_string(),
                };
                format!("{kind}/{}", str_at(p, &["name"]))
            }
            None => "<none>".to_string(),
        };
        vec![name(ic), Value::from(str_at(ic, &["spec", "controller"])), Value::from(parameters), age(ic, now)].into()
    },
};

static NETWORK_POLICIES: Printer = Printer {
    columns: &[NAME, Column::s("Pod-Selector", docs::NP_POD_SELECTOR), AGE],
    print: |np, now| {
        // podSelector is a value in Go: absent is the empty selector, `<none>`.
        let selector = format_label_selector(at(np, &["spec", "podSelector"]));
        vec![name(np), Value::from(selector), age(np, now)].into()
    },
};

static ROLE_BINDINGS: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Role", docs::RB_ROLE_REF),
        AGE,
        Column::s("Users", "Users in the roleBinding").wide(),
        Column::s("Groups", "Groups in the roleBinding").wide(),
        Column::s("ServiceAccounts", "ServiceAccounts in the roleBinding").wide(),
    ],
    print: print_role_binding,
};

static CLUSTER_ROLE_BINDINGS: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Role", docs::CRB_ROLE_REF),
        AGE,
        Column::s("Users", "Users in the clusterRoleBinding").wide(),
        Column::s("Groups", "Groups in the clusterRoleBinding").wide(),
        Column::s("ServiceAccounts", "ServiceAccounts in the clusterRoleBinding").wide(),
    ],
    print: print_role_binding,
};

/// `rbac.SubjectsStrings`: users, groups and `namespace/name` service accounts.
fn print_role_binding(rb: &Value, now: Timestamp) -> Row {
    let (mut users, mut groups, mut sas) = (Vec::new(), Vec::new(), Vec::new());
    for s in list_at(rb, &["subjects"]) {
        let subject = str_at(s, &["name"]);
        match str_at(s, &["kind"]) {
            "ServiceAccount" => sas.push(format!("{}/{subject}", str_at(s, &["namespace"]))),
            "User" => users.push(subject.to_string()),
            "Group" => groups.push(subject.to_string()),
            _ => {}
        }
    }
    let role = format!("{}/{}", str_at(rb, &["roleRef", "kind"]), str_at(rb, &["roleRef", "name"]));
    vec![
        name(rb),
        Value::from(role),
        age(rb, now),
        Value::from(users.join(", ")),
        Value::from(groups.join(", ")),
        Value::from(sas.join(", ")),
    ]
    .into()
}

static POD_DISRUPTION_BUDGETS: Printer = Printer {
    columns: &[
        NAME,
        Column::s("Min Available", "The minimum number of pods that must be available."),
        Column::s("Max Unavailable", "The maximum number of pods that may be unavailable."),
        Column::i("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time."),
        AGE,
    ],
    print: |pdb, now| {
        let bound = |f: &str| Value::from(at(pdb, &["spec", f]).map_or("N/A".to_string(), int_or_string));
        vec![
            name(pdb),
            bound("minAvailable"),
            bound("maxUnavailable"),
            Value::from(int_at(pdb, &["status", "disruptionsAllowed"])),
            age(pdb, now),
        ]
        .into()
    },
};

static LEASES: Printer = Printer {
    columns: &[NAME, Column::s("Holder", docs::LEASE_HOLDER), AGE],
    print: |l, now| vec![name(l), Value::from(str_at(l, &["spec", "holderIdentity"])), age(l, now)].into(),
};

static PRIORITY_CLASSES: Printer = Printer {
    columns: &[
        NAME,
        Column::i("Value", docs::PC_VALUE),
        Column::b("Global-Default", docs::PC_GLOBAL_DEFAULT),
        AGE,
        Column::s("PreemptionPolicy", docs::PC_PREEMPTION),
    ],
    print: |pc, now| {
        vec![
            name(pc),
            Value::from(int_at(pc, &["value"])),
            Value::from(at(pc, &["globalDefault"]).and_then(Value::as_bool).unwrap_or(false)),
            age(pc, now),
            Value::from(str_at(pc, &["preemptionPolicy"])),
        ]
        .into()
    },
};

static CSRS: Printer = Printer {
    columns: &[
        NAME,
        AGE,
        Column::s("SignerName", docs::CSR_SIGNER),
        Column::s("Requestor", docs::CSR_REQUEST),
        Column::s("RequestedDuration", docs::CSR_EXPIRATION),
        Column::s("Condition", docs::CSR_CONDITIONS),
    ],
    print: print_csr,
};

/// `extractCSRStatus`: Denied, Approved or Pending, then `,Failed` and `,Issued`.
fn csr_status(csr: &Value) -> String {
    let has = |kind: &str| list_at(csr, &["status", "conditions"]).iter().any(|c| str_at(c, &["type"]) == kind);
    let mut status = if has("Denied") {
        "Denied"
    } else if has("Approved") {
        "Approved"
    } else {
        "Pending"
    }
    .to_string();
    if has("Failed") {
        status.push_str(",Failed");
    }
    if !str_at(csr, &["status", "certificate"]).is_empty() {
        status.push_str(",Issued");
    }
    status
}

fn print_csr(csr: &Value, now: Timestamp) -> Row {
    let signer = Some(str_at(csr, &["spec", "signerName"])).filter(|s| !s.is_empty()).unwrap_or("<none>");
    let duration = opt_int(csr, &["spec", "expirationSeconds"])
        .map_or("<none>".to_string(), |s| human_duration(jiff::SignedDuration::from_secs(s)));
    vec![
        name(csr),
        age(csr, now),
        Value::from(signer),
        Value::from(str_at(csr, &["spec", "username"])),
        Value::from(duration),
        Value::from(csr_status(csr)),
    ]
    .into()
}

static WEBHOOK_CONFIGURATIONS: Printer = Printer {
    columns: &[
        NAME,
        Column::i("Webhooks", "Webhooks indicates the number of webhooks registered in this configuration"),
        AGE,
    ],
    print: |w, now| vec![name(w), Value::from(list_at(w, &["webhooks"]).len()), age(w, now)].into(),
};

static VALIDATING_ADMISSION_POLICIES: Printer = Printer {
    columns: &[
        NAME,
        Column::i("Validations", "Validations indicates the number of validation rules defined in this configuration"),
        Column::s("ParamKind", "ParamKind specifies the kind of resources used to parameterize this policy"),
        AGE,
    ],
    print: |p, now| {
        let param_kind = match at(p, &["spec", "paramKind"]) {
            Some(k) => format!("{}/{}", str_at(k, &["apiVersion"]), str_at(k, &["kind"])),
            None => "<unset>".to_string(),
        };
        let validations = list_at(p, &["spec", "validations"]).len();
        vec![name(p), Value::from(validations), Value::from(param_kind), age(p, now)].into()
    },
};

static POLICY_BINDINGS: Printer = Printer {
    columns: &[
        NAME,
        Column::s("PolicyName", "PolicyName indicates the policy definition which the policy binding binded to"),
        Column::s("ParamRef", "ParamRef indicates the param resource which sets the configration param"),
        AGE,
    ],
    print: |b, now| {
        let param = match at(b, &["spec", "paramRef"]) {
            None => "<unset>".to_string(),
            Some(pr) => match (str_at(pr, &["name"]), str_at(pr, &["namespace"])) {
                ("", _) => at(pr, &["selector"]).map_or("<unset>".to_string(), go_selector_debug),
                // Cluster-scoped or not is unknown here, so unnamespaced params get `*/`.
                (n, "") => format!("*/{n}"),
                (n, ns) => format!("{ns}/{n}"),
            },
        };
        vec![name(b), Value::from(str_at(b, &["spec", "policyName"])), Value::from(param), age(b, now)].into()
    },
};

/// The generated Go `(*LabelSelector).String()` debug form kube prints for a
/// binding's param selector.
fn go_selector_debug(sel: &Value) -> String {
    let mut labels: Vec<(&String, &str)> =
        map_at(sel, &["matchLabels"]).into_iter().flatten().map(|(k, v)| (k, v.as_str().unwrap_or(""))).collect();
    labels.sort();
    let labels: String = labels.iter().map(|(k, v)| format!("{k}: {v},")).collect();
    let exprs: String = list_at(sel, &["matchExpressions"])
        .iter()
        .map(|e| {
            let values: Vec<&str> = list_at(e, &["values"]).iter().filter_map(Value::as_str).collect();
            format!(
                "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}},",
                str_at(e, &["key"]),
                str_at(e, &["operator"]),
                values.join(" ")
            )
        })
        .collect();
    format!("&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}")
}

static ENDPOINT_SLICES: Printer = Printer {
    columns: &[
        NAME,
        Column::s("AddressType", docs::EPS_ADDRESS_TYPE),
        Column::s("Ports", docs::EPS_PORTS),
        Column::s("Endpoints", docs::EPS_ENDPOINTS),
        AGE,
    ],
    print: print_endpoint_slice,
};

fn print_endpoint_slice(eps: &Value, now: Timestamp) -> Row {
    const MAX: usize = 3;
    let ports = list_at(eps, &["ports"]);
    let port_list: Vec<String> = ports
        .iter()
        .take(MAX)
        .map(|p| match (opt_int(p, &["port"]), opt_str(p, &["name"])) {
            (Some(n), _) => n.to_string(),
            (None, Some(n)) => n.to_string(),
            (None, None) => "*".to_string(),
        })
        .collect();
    let addresses: Vec<String> = list_at(eps, &["endpoints"])
        .iter()
        .flat_map(|e| list_at(e, &["addresses"]).iter().filter_map(Value::as_str).map(str::to_string))
        .collect();
    let address_list: Vec<String> = addresses.iter().take(MAX).cloned().collect();
    vec![
        name(eps),
        Value::from(str_at(eps, &["addressType"])),
        Value::from(list_with_more(&port_list, ports.len() > MAX, ports.len(), MAX)),
        Value::from(list_with_more(&address_list, addresses.len() > MAX, addresses.len(), MAX)),
        age(eps, now),
    ]
    .into()
}
