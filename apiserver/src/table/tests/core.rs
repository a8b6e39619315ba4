//! Core group printers: services, nodes, secrets, events, endpoints, volumes, ...

use serde_json::{json, Value};

use super::{ago, cells, headers, strs};

fn meta(name: &str) -> Value {
    json!({"name": name, "namespace": "default", "creationTimestamp": ago(3 * 3600 + 5 * 60)})
}

#[test]
fn node_port_service() {
    assert_eq!(headers("", "services"), ["Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "*Selector"]);
    let svc = json!({"metadata": meta("web"), "spec": {"type": "NodePort", "clusterIP": "10.96.12.34",
        "clusterIPs": ["10.96.12.34"], "selector": {"tier": "front", "app": "web"},
        "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"},
                  {"name": "dns", "port": 53, "protocol": "UDP"}]}});
    assert_eq!(
        cells("", "services", svc),
        strs(&["web", "NodePort", "10.96.12.34", "<none>", "80:30080/TCP,53/UDP", "3h5m", "app=web,tier=front"])
    );
}

#[test]
fn service_external_ips() {
    let svc = |spec: Value, status: Value| json!({"metadata": meta("s"), "spec": spec, "status": status});
    let ext = |spec, status| cells("", "services", svc(spec, status))[3].clone();
    assert_eq!(ext(json!({"type": "ClusterIP", "externalIPs": ["1.2.3.4", "5.6.7.8"]}), json!({})), "1.2.3.4,5.6.7.8");
    assert_eq!(ext(json!({"type": "LoadBalancer"}), json!({"loadBalancer": {}})), "<pending>");
    assert_eq!(
        ext(
            json!({"type": "LoadBalancer"}),
            json!({"loadBalancer": {"ingress": [{"ip": "9.9.9.9"}, {"hostname": "lb.example.com"}]}})
        ),
        "9.9.9.9,lb.example.com"
    );
    assert_eq!(
        ext(
            json!({"type": "LoadBalancer", "externalIPs": ["1.1.1.1"]}),
            json!({"loadBalancer": {"ingress": [{"ip": "9.9.9.9"}]}})
        ),
        "9.9.9.9,1.1.1.1"
    );
    assert_eq!(ext(json!({"type": "ExternalName", "externalName": "db.example.com"}), json!({})), "db.example.com");
    // A headless service with no ports and no selector.
    let headless = cells("", "services", svc(json!({"type": "ClusterIP", "clusterIP": "None"}), json!({})));
    assert_eq!(headless[1..5], strs(&["ClusterIP", "None", "<none>", "<none>"]));
    assert_eq!(headless[6], "<none>");
}

#[test]
fn ready_control_plane_node() {
    assert_eq!(
        headers("", "nodes"),
        [
            "Name",
            "Status",
            "Roles",
            "Age",
            "Version",
            "*Internal-IP",
            "*External-IP",
            "*OS-Image",
            "*Kernel-Version",
            "*Container-Runtime"
        ]
    );
    let node = json!({
        "metadata": {"name": "cp-1", "creationTimestamp": ago(2 * 86400 + 3 * 3600),
                     "labels": {"node-role.kubernetes.io/control-plane": "", "kubernetes.io/role": "master", "kubernetes.io/os": "linux"}},
        "spec": {},
        "status": {
            "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True"}],
            "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}, {"type": "Hostname", "address": "cp-1"}],
            "nodeInfo": {"kubeletVersion": "v1.34.0", "osImage": "Debian GNU/Linux 12 (bookworm)",
                         "kernelVersion": "6.8.0", "containerRuntimeVersion": "containerd://2.1.3"}
        }
    });
    assert_eq!(
        cells("", "nodes", node),
        strs(&[
            "cp-1",
            "Ready",
            "control-plane,master",
            "2d3h",
            "v1.34.0",
            "172.18.0.2",
            "<none>",
            "Debian GNU/Linux 12 (bookworm)",
            "6.8.0",
            "containerd://2.1.3"
        ])
    );
    let cordoned = json!({"metadata": {"name": "n2"}, "spec": {"unschedulable": true},
        "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}});
    assert_eq!(
        cells("", "nodes", cordoned),
        strs(&[
            "n2",
            "NotReady,SchedulingDisabled",
            "<none>",
            "<unknown>",
            "",
            "<none>",
            "<none>",
            "<unknown>",
            "<unknown>",
            "<unknown>"
        ])
    );
    assert_eq!(cells("", "nodes", json!({"metadata": {"name": "n3"}}))[1], "Unknown");
}

#[test]
fn secrets_configmaps_namespaces_serviceaccounts() {
    let secret =
        json!({"metadata": meta("tls"), "type": "kubernetes.io/tls", "data": {"tls.crt": "YQ==", "tls.key": "Yg=="}});
    assert_eq!(headers("", "secrets"), ["Name", "Type", "Data", "Age"]);
    assert_eq!(cells("", "secrets", secret), vec![json!("tls"), json!("kubernetes.io/tls"), json!(2), json!("3h5m")]);
    let cm = json!({"metadata": meta("cfg"), "data": {"a": "1"}, "binaryData": {"b": "AA=="}});
    assert_eq!(cells("", "configmaps", cm), vec![json!("cfg"), json!(2), json!("3h5m")]);
    let ns = json!({"metadata": {"name": "kube-system", "creationTimestamp": ago(45 * 86400)}, "status": {"phase": "Active"}});
    assert_eq!(cells("", "namespaces", ns), strs(&["kube-system", "Active", "45d"]));
    let sa = json!({"metadata": meta("default")});
    assert_eq!(cells("", "serviceaccounts", sa), vec![json!("default"), json!(0), json!("3h5m")]);
}

#[test]
fn core_v1_event() {
    assert_eq!(
        headers("", "events"),
        ["Last Seen", "Type", "Reason", "Object", "*Subobject", "*Source", "Message", "*First Seen", "*Count", "*Name"]
    );
    let ev = json!({
        "metadata": {"name": "web.17c", "namespace": "default", "creationTimestamp": ago(600)},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default", "fieldPath": "spec.containers{app}"},
        "reason": "BackOff", "message": "Back-off restarting failed container\n", "type": "Warning",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(600), "lastTimestamp": ago(65), "count": 7
    });
    assert_eq!(
        cells("", "events", ev),
        vec![
            json!("65s"),
            json!("Warning"),
            json!("BackOff"),
            json!("pod/web"),
            json!("spec.containers{app}"),
            json!("kubelet, node-1"),
            json!("Back-off restarting failed container"),
            json!("10m"),
            json!(7),
            json!("web.17c")
        ]
    );
    // A new-API event: eventTime, a series, and the reporting controller as source.
    let series = json!({
        "metadata": {"name": "e2"}, "involvedObject": {"kind": "Node"}, "reason": "Scaled", "type": "Normal",
        "eventTime": "2024-05-01T11:00:00.123456Z", "series": {"count": 4, "lastObservedTime": ago(30)},
        "reportingComponent": "scheduler", "reportingInstance": ""
    });
    let c = cells("", "events", series);
    assert_eq!(c[..4], strs(&["30s", "Normal", "Scaled", "node"]));
    assert_eq!(c[5..], vec![json!("scheduler"), json!(""), json!("59m"), json!(4), json!("e2")]);
}

#[test]
fn events_k8s_io_event() {
    let ev = json!({
        "metadata": {"name": "x"}, "regarding": {"kind": "Deployment", "name": "web"}, "note": "Scaled up",
        "reason": "ScalingReplicaSet", "type": "Normal", "eventTime": ago(120), "reportingController": "deployment-controller",
        "reportingInstance": "cm-1"
    });
    let c = cells("events.k8s.io", "events", ev);
    assert_eq!(
        c,
        vec![
            json!("2m"),
            json!("Normal"),
            json!("ScalingReplicaSet"),
            json!("deployment/web"),
            json!(""),
            json!("deployment-controller, cm-1"),
            json!("Scaled up"),
            json!("2m"),
            json!(1),
            json!("x")
        ]
    );
}

#[test]
fn endpoints() {
    let ep = |subsets: Value| json!({"metadata": meta("web"), "subsets": subsets});
    assert_eq!(cells("", "endpoints", ep(json!([])))[1], "<none>");
    let many =
        ep(json!([{"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}], "ports": [{"port": 80}, {"port": 443}]}]));
    assert_eq!(cells("", "endpoints", many)[1], "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...");
    let v6 =
        ep(json!([{"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 80}]}, {"addresses": [{"ip": "10.0.0.9"}]}]));
    assert_eq!(cells("", "endpoints", v6)[1], "[fd00::1]:80,10.0.0.9");
}

#[test]
fn volumes() {
    let pv = json!({"metadata": {"name": "pv-1", "creationTimestamp": ago(60)},
        "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce"],
                 "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "fast", "volumeMode": "Filesystem",
                 "claimRef": {"namespace": "default", "name": "data"}},
        "status": {"phase": "Bound"}});
    assert_eq!(
        cells("", "persistentvolumes", pv),
        strs(&[
            "pv-1",
            "10Gi",
            "RWO,RWX",
            "Retain",
            "Bound",
            "default/data",
            "fast",
            "<unset>",
            "",
            "60s",
            "Filesystem"
        ])
    );
    let pvc = json!({"metadata": meta("data"), "spec": {"volumeName": "pv-1", "storageClassName": "fast",
            "resources": {"requests": {"storage": "5Gi"}}, "volumeMode": "Filesystem"},
        "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOnce"]}});
    assert_eq!(
        cells("", "persistentvolumeclaims", pvc),
        strs(&["data", "Bound", "pv-1", "10Gi", "RWO", "fast", "<unset>", "3h5m", "Filesystem"])
    );
    let pending = json!({"metadata": meta("p"), "spec": {}, "status": {"phase": "Pending"}});
    assert_eq!(
        cells("", "persistentvolumeclaims", pending),
        strs(&["p", "Pending", "", "", "", "", "<unset>", "3h5m", "<unset>"])
    );
}

#[test]
fn replication_controllers_templates_quotas() {
    let rc = json!({"metadata": meta("rc"), "spec": {"replicas": 3, "selector": {"app": "x"},
        "template": {"spec": {"containers": [{"name": "a", "image": "img:1"}]}}}, "status": {"replicas": 3, "readyReplicas": 2}});
    assert_eq!(
        cells("", "replicationcontrollers", rc),
        vec![json!("rc"), json!(3), json!(3), json!(2), json!("3h5m"), json!("a"), json!("img:1"), json!("app=x")]
    );
    let pt = json!({"metadata": meta("pt"), "template": {"metadata": {"labels": {"b": "2", "a": "1"}},
        "spec": {"containers": [{"name": "a", "image": "i1"}, {"name": "b", "image": "i2"}]}}});
    assert_eq!(headers("", "podtemplates"), ["Name", "Containers", "Images", "Pod Labels"]);
    assert_eq!(cells("", "podtemplates", pt), strs(&["pt", "a,b", "i1,i2", "a=1,b=2"]));
    let rq = json!({"metadata": meta("q"), "status": {
        "hard": {"pods": "10", "requests.cpu": "2", "limits.memory": "2Gi", "limits.cpu": "4"},
        "used": {"pods": "3", "requests.cpu": "500m", "limits.cpu": "1"}}});
    assert_eq!(
        cells("", "resourcequotas", rq),
        strs(&["q", "pods: 3/10, requests.cpu: 500m/2", "limits.cpu: 1/4, limits.memory: 0/2Gi", "3h5m"])
    );
}

#[test]
fn limitranges_use_default_columns() {
    assert_eq!(headers("", "limitranges"), ["Name", "Created At"]);
    let lr = json!({"metadata": {"name": "lr", "creationTimestamp": "2024-04-30T08:09:10Z"}});
    assert_eq!(cells("", "limitranges", lr), strs(&["lr", "2024-04-30T08:09:10Z"]));
}
