//! Printers of the named groups: networking, rbac, policy, autoscaling, certificates, ...

use serde_json::{json, Value};

use super::{ago, cells, cells_of, headers, info, strs};

fn meta(name: &str) -> Value {
    json!({"name": name, "namespace": "default", "creationTimestamp": ago(86400)})
}

#[test]
fn ingress_and_ingress_class() {
    assert_eq!(headers("networking.k8s.io", "ingresses"), ["Name", "Class", "Hosts", "Address", "Ports", "Age"]);
    let ing = json!({"metadata": meta("web"), "spec": {"ingressClassName": "nginx", "tls": [{"hosts": ["a.example.com"]}],
        "rules": [{"host": "a.example.com"}, {"host": "b.example.com"}, {}, {"host": "c.example.com"}, {"host": "d.example.com"}]},
        "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}});
    assert_eq!(
        cells("networking.k8s.io", "ingresses", ing),
        strs(&[
            "web",
            "nginx",
            "a.example.com,b.example.com,c.example.com + 2 more...",
            "203.0.113.9",
            "80, 443",
            "24h"
        ])
    );
    let bare = json!({"metadata": meta("b"), "spec": {"defaultBackend": {}}});
    assert_eq!(cells("networking.k8s.io", "ingresses", bare), strs(&["b", "<none>", "*", "", "80", "24h"]));
    let ic = json!({"metadata": meta("nginx"), "spec": {"controller": "k8s.io/ingress-nginx",
        "parameters": {"apiGroup": "k8s.example.com", "kind": "IngressParameters", "name": "p"}}});
    assert_eq!(
        cells("networking.k8s.io", "ingressclasses", ic),
        strs(&["nginx", "k8s.io/ingress-nginx", "IngressParameters.k8s.example.com/p", "24h"])
    );
}

#[test]
fn network_policy_lease_priority_class() {
    let np = json!({"metadata": meta("deny"), "spec": {"podSelector": {}}});
    assert_eq!(cells("networking.k8s.io", "networkpolicies", np), strs(&["deny", "<none>", "24h"]));
    let np = json!({"metadata": meta("web"), "spec": {"podSelector": {"matchLabels": {"app": "web"}}}});
    assert_eq!(cells("networking.k8s.io", "networkpolicies", np)[1], "app=web");
    let lease = json!({"metadata": meta("kube-scheduler"), "spec": {"holderIdentity": "cp-1_abc"}});
    assert_eq!(cells("coordination.k8s.io", "leases", lease), strs(&["kube-scheduler", "cp-1_abc", "24h"]));
    let pc = json!({"metadata": meta("system-node-critical"), "value": 2000001000, "preemptionPolicy": "PreemptLowerPriority"});
    assert_eq!(
        headers("scheduling.k8s.io", "priorityclasses"),
        ["Name", "Value", "Global-Default", "Age", "PreemptionPolicy"]
    );
    assert_eq!(
        cells("scheduling.k8s.io", "priorityclasses", pc),
        vec![
            json!("system-node-critical"),
            json!(2000001000),
            json!(false),
            json!("24h"),
            json!("PreemptLowerPriority")
        ]
    );
}

#[test]
fn role_bindings_and_default_rbac_columns() {
    let rb = json!({"metadata": meta("read"), "roleRef": {"kind": "ClusterRole", "name": "view", "apiGroup": "rbac.authorization.k8s.io"},
        "subjects": [{"kind": "User", "name": "jane"}, {"kind": "Group", "name": "devs"}, {"kind": "User", "name": "joe"},
                     {"kind": "ServiceAccount", "name": "ci", "namespace": "build"}]});
    assert_eq!(
        headers("rbac.authorization.k8s.io", "rolebindings"),
        ["Name", "Role", "Age", "*Users", "*Groups", "*ServiceAccounts"]
    );
    assert_eq!(
        cells("rbac.authorization.k8s.io", "rolebindings", rb.clone()),
        strs(&["read", "ClusterRole/view", "24h", "jane, joe", "devs", "build/ci"])
    );
    assert_eq!(cells("rbac.authorization.k8s.io", "clusterrolebindings", rb)[1], "ClusterRole/view");
    for plural in ["roles", "clusterroles"] {
        assert_eq!(headers("rbac.authorization.k8s.io", plural), ["Name", "Created At"]);
    }
    let crd = json!({"metadata": {"name": "widgets.example.com", "creationTimestamp": "2024-01-02T03:04:05Z"}});
    assert_eq!(headers("apiextensions.k8s.io", "customresourcedefinitions"), ["Name", "Created At"]);
    assert_eq!(
        cells("apiextensions.k8s.io", "customresourcedefinitions", crd),
        strs(&["widgets.example.com", "2024-01-02T03:04:05Z"])
    );
}

#[test]
fn pdb_and_hpa() {
    let pdb = json!({"metadata": meta("web"), "spec": {"minAvailable": "50%"}, "status": {"disruptionsAllowed": 1}});
    assert_eq!(
        cells("policy", "poddisruptionbudgets", pdb),
        vec![json!("web"), json!("50%"), json!("N/A"), json!(1), json!("24h")]
    );
    let hpa = json!({"metadata": meta("web"), "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"},
            "minReplicas": 2, "maxReplicas": 10,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}},
                        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "500Mi"}}},
                        {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1k"}}}]},
        "status": {"currentReplicas": 3, "currentMetrics": [
            {"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 45, "averageValue": "120m"}}}]}});
    assert_eq!(
        cells("autoscaling", "horizontalpodautoscalers", hpa),
        vec![
            json!("web"),
            json!("Deployment/web"),
            json!("cpu: 45%/60%, memory: <unknown>/500Mi + 1 more..."),
            json!("2"),
            json!(10),
            json!(3),
            json!("24h")
        ]
    );
    // No metrics: kube defaults to 80% CPU.
    let bare = json!({"metadata": meta("b"), "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "b"}, "maxReplicas": 3}});
    assert_eq!(cells("autoscaling", "horizontalpodautoscalers", bare)[2..4], strs(&["cpu: <unknown>/80%", "<unset>"]));
    let v1 = json!({"metadata": meta("v"), "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "v"}, "minReplicas": 1,
        "maxReplicas": 4, "targetCPUUtilizationPercentage": 70}, "status": {"currentReplicas": 1, "currentCPUUtilizationPercentage": 12}});
    assert_eq!(cells_of(info("autoscaling", "v1", "horizontalpodautoscalers"), v1)[2], "cpu: 12%/70%");
}

#[test]
fn certificate_signing_request() {
    let csr = json!({"metadata": {"name": "csr-1", "creationTimestamp": ago(30)},
        "spec": {"signerName": "kubernetes.io/kube-apiserver-client", "username": "jane", "expirationSeconds": 86400},
        "status": {"conditions": [{"type": "Approved", "status": "True"}], "certificate": "LS0t"}});
    assert_eq!(
        cells("certificates.k8s.io", "certificatesigningrequests", csr),
        strs(&["csr-1", "30s", "kubernetes.io/kube-apiserver-client", "jane", "24h", "Approved,Issued"])
    );
    let pending = json!({"metadata": {"name": "p"}, "spec": {"username": "u"}});
    assert_eq!(
        cells("certificates.k8s.io", "certificatesigningrequests", pending),
        strs(&["p", "<unknown>", "<none>", "u", "<none>", "Pending"])
    );
}

#[test]
fn admission_configurations() {
    let wh = json!({"metadata": meta("hooks"), "webhooks": [{"name": "a.example.com"}, {"name": "b.example.com"}]});
    for plural in ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"] {
        assert_eq!(
            cells("admissionregistration.k8s.io", plural, wh.clone()),
            vec![json!("hooks"), json!(2), json!("24h")]
        );
    }
    let vap = json!({"metadata": meta("p"), "spec": {"paramKind": {"apiVersion": "v1", "kind": "ConfigMap"},
        "validations": [{"expression": "true"}]}});
    assert_eq!(
        cells("admissionregistration.k8s.io", "validatingadmissionpolicies", vap),
        vec![json!("p"), json!(1), json!("v1/ConfigMap"), json!("24h")]
    );
    let binding = |param: Value| json!({"metadata": meta("b"), "spec": {"policyName": "p", "paramRef": param}});
    let param = |p| cells("admissionregistration.k8s.io", "validatingadmissionpolicybindings", binding(p))[2].clone();
    assert_eq!(param(json!({"name": "cfg", "namespace": "ns"})), "ns/cfg");
    assert_eq!(param(json!({"name": "cfg"})), "*/cfg");
    assert_eq!(param(Value::Null), "<unset>");
    assert_eq!(
        param(json!({"selector": {"matchLabels": {"a": "b"}}})),
        "&LabelSelector{MatchLabels:map[string]string{a: b,},MatchExpressions:[]LabelSelectorRequirement{},}"
    );
}

#[test]
fn endpoint_slice() {
    let eps = json!({"metadata": meta("web-abc"), "addressType": "IPv4",
        "ports": [{"name": "http", "port": 80}, {"name": "named"}, {}, {"port": 9090}],
        "endpoints": [{"addresses": ["10.0.0.1"]}, {"addresses": ["10.0.0.2", "10.0.0.3"]}]});
    assert_eq!(
        cells("discovery.k8s.io", "endpointslices", eps),
        strs(&["web-abc", "IPv4", "80,named,* + 1 more...", "10.0.0.1,10.0.0.2,10.0.0.3", "24h"])
    );
    let empty = json!({"metadata": meta("e"), "addressType": "IPv6"});
    assert_eq!(cells("discovery.k8s.io", "endpointslices", empty)[2..4], strs(&["<unset>", "<unset>"]));
}

#[test]
fn storage_group() {
    let sc = json!({"metadata": {"name": "standard", "creationTimestamp": ago(86400),
        "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}}, "provisioner": "rancher.io/local-path",
        "volumeBindingMode": "WaitForFirstConsumer"});
    assert_eq!(
        cells("storage.k8s.io", "storageclasses", sc),
        vec![
            json!("standard (default)"),
            json!("rancher.io/local-path"),
            json!("Delete"),
            json!("WaitForFirstConsumer"),
            json!(false),
            json!("24h")
        ]
    );
    let driver = json!({"metadata": meta("csi.example.com"), "spec": {"volumeLifecycleModes": ["Persistent", "Ephemeral"],
        "tokenRequests": [{"audience": "vault"}]}});
    assert_eq!(
        cells("storage.k8s.io", "csidrivers", driver),
        vec![
            json!("csi.example.com"),
            json!(true),
            json!(false),
            json!(false),
            json!("vault"),
            json!(false),
            json!("Persistent,Ephemeral"),
            json!("24h")
        ]
    );
    let node = json!({"metadata": meta("n1"), "spec": {"drivers": [{"name": "a"}]}});
    assert_eq!(cells("storage.k8s.io", "csinodes", node), vec![json!("n1"), json!(1), json!("24h")]);
    let va = json!({"metadata": meta("csi-123"), "spec": {"attacher": "csi.example.com", "nodeName": "n1",
        "source": {"persistentVolumeName": "pv-1"}}, "status": {"attached": true}});
    assert_eq!(
        cells("storage.k8s.io", "volumeattachments", va),
        vec![json!("csi-123"), json!("csi.example.com"), json!("pv-1"), json!("n1"), json!(true), json!("24h")]
    );
    let cap = json!({"metadata": meta("cap"), "storageClassName": "fast"});
    assert_eq!(cells("storage.k8s.io", "csistoragecapacities", cap), strs(&["cap", "fast", "<unset>"]));
}
