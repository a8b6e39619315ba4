//! Tests of defaulting and create/update preparation.

use serde_json::{json, Value};

use super::{apply_defaults, prepare_create, prepare_update};
use crate::catalog::{find, ResourceInfo};

fn info(group: &str, version: &str, plural: &str) -> &'static ResourceInfo {
    find(group, version, plural).expect("catalog row")
}

fn defaulted(group: &str, version: &str, plural: &str, mut obj: Value) -> Value {
    let i = info(group, version, plural);
    apply_defaults(i, &mut obj);
    let once = obj.clone();
    apply_defaults(i, &mut obj);
    assert_eq!(obj, once, "defaults are idempotent");
    obj
}

fn created(group: &str, version: &str, plural: &str, obj: Value) -> Value {
    let mut obj = defaulted(group, version, plural, obj);
    prepare_create(info(group, version, plural), &mut obj);
    obj
}

#[test]
fn bare_pod_gets_all_pod_defaults() {
    let pod = json!({"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}});
    let got = created("", "v1", "pods", pod);
    let want = json!({
        "metadata": {"name": "p", "namespace": "default"},
        "spec": {
            "containers": [{
                "name": "c", "image": "nginx", "imagePullPolicy": "Always", "resources": {},
                "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
            }],
            "dnsPolicy": "ClusterFirst",
            "enableServiceLinks": true,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": "default",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [
                {"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300},
                {"effect": "NoExecute", "key": "node.kubernetes.io/unreachable", "operator": "Exists", "tolerationSeconds": 300},
            ],
        },
        "status": {"phase": "Pending", "qosClass": "BestEffort"},
    });
    assert_eq!(got, want);
}

#[test]
fn container_probe_volume_defaults() {
    let pod = json!({"metadata": {"name": "p"}, "spec": {
        "containers": [{
            "name": "c", "image": "nginx:1.25",
            "ports": [{"containerPort": 80}],
            "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            "readinessProbe": {"httpGet": {"port": 80}},
            "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
        }],
        "volumes": [{"name": "scratch"}, {"name": "cfg", "configMap": {"name": "c"}}, {"name": "s", "secret": {"secretName": "s"}}],
        "tolerations": [{"operator": "Exists"}],
    }});
    let got = created("", "v1", "pods", pod);
    let c = &got["spec"]["containers"][0];
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(c["ports"][0]["protocol"], "TCP");
    assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["apiVersion"], "v1");
    assert_eq!(
        c["readinessProbe"],
        json!({"httpGet": {"port": 80, "path": "/", "scheme": "HTTP"}, "timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3})
    );
    assert_eq!(c["resources"]["requests"], json!({"cpu": "1", "memory": "1Gi"}));
    assert_eq!(got["spec"]["volumes"][0]["emptyDir"], json!({}));
    assert_eq!(got["spec"]["volumes"][1]["configMap"]["defaultMode"], 420);
    assert_eq!(got["spec"]["volumes"][2]["secret"]["defaultMode"], 420);
    // A match-everything toleration already covers the NoExecute taints.
    assert_eq!(got["spec"]["tolerations"], json!([{"operator": "Exists"}]));
    assert_eq!(got["status"]["qosClass"], "Guaranteed");
}

#[test]
fn image_pull_policy_follows_the_tag() {
    let cases = [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("docker.io/library/nginx", "Always"),
        ("localhost:5000/app", "Always"),
        ("nginx:1.25", "IfNotPresent"),
        ("registry.k8s.io/pause:3.10", "IfNotPresent"),
        ("nginx@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "IfNotPresent"),
        ("Bad/Image", "IfNotPresent"),
    ];
    for (image, want) in cases {
        let pod = json!({"spec": {"containers": [{"name": "c", "image": image}]}});
        let got = defaulted("", "v1", "pods", pod);
        assert_eq!(got["spec"]["containers"][0]["imagePullPolicy"], want, "{image}");
    }
    // An explicit policy stays.
    let pod = json!({"spec": {"containers": [{"name": "c", "image": "nginx", "imagePullPolicy": "Never"}]}});
    assert_eq!(defaulted("", "v1", "pods", pod)["spec"]["containers"][0]["imagePullPolicy"], "Never");
}

#[test]
fn qos_classes() {
    let qos = |resources: Value| {
        let pod = json!({"spec": {"containers": [{"name": "c", "image": "i", "resources": resources}]}});
        created("", "v1", "pods", pod)["status"]["qosClass"].clone()
    };
    assert_eq!(qos(json!({})), "BestEffort");
    assert_eq!(qos(json!({"requests": {"cpu": "100m"}})), "Burstable");
    assert_eq!(qos(json!({"limits": {"cpu": "1", "memory": "1Gi"}})), "Guaranteed");
    assert_eq!(qos(json!({"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": "500m"}})), "Burstable");
}

#[test]
fn bare_deployment_gets_strategy_and_template_defaults() {
    let d = json!({"metadata": {"name": "web"}, "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}});
    let got = defaulted("apps", "v1", "deployments", d);
    let spec = &got["spec"];
    assert_eq!(spec["replicas"], 1);
    assert_eq!(
        spec["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
    );
    assert_eq!(spec["revisionHistoryLimit"], 10);
    assert_eq!(spec["progressDeadlineSeconds"], 600);
    let t = &spec["template"]["spec"];
    assert_eq!(t["restartPolicy"], "Always");
    assert_eq!(t["dnsPolicy"], "ClusterFirst");
    assert_eq!(t["terminationGracePeriodSeconds"], 30);
    assert_eq!(t["containers"][0]["terminationMessagePolicy"], "File");
    // Pod-only defaults stay out of templates.
    assert!(t.get("enableServiceLinks").is_none());
    assert!(t.get("serviceAccountName").is_none());
    assert_eq!(got["status"], json!({}));
    // Recreate gets no rolling update block.
    let r = json!({"spec": {"strategy": {"type": "Recreate"}}});
    assert_eq!(defaulted("apps", "v1", "deployments", r)["spec"]["strategy"], json!({"type": "Recreate"}));
}

#[test]
fn other_workload_defaults() {
    let sts = defaulted(
        "apps",
        "v1",
        "statefulsets",
        json!({"spec": {"volumeClaimTemplates": [{"metadata": {"name": "d"}, "spec": {}}]}}),
    );
    assert_eq!(sts["spec"]["podManagementPolicy"], "OrderedReady");
    assert_eq!(sts["spec"]["updateStrategy"], json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}));
    assert_eq!(
        sts["spec"]["persistentVolumeClaimRetentionPolicy"],
        json!({"whenDeleted": "Retain", "whenScaled": "Retain"})
    );
    assert_eq!(sts["spec"]["volumeClaimTemplates"][0]["spec"]["volumeMode"], "Filesystem");
    assert_eq!(sts["spec"]["volumeClaimTemplates"][0]["status"]["phase"], "Pending");
    let ds = defaulted("apps", "v1", "daemonsets", json!({"spec": {}}));
    assert_eq!(
        ds["spec"]["updateStrategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
    );
    assert_eq!(ds["spec"]["revisionHistoryLimit"], 10);
    let rs = defaulted("apps", "v1", "replicasets", json!({"spec": {}}));
    assert_eq!(rs["spec"]["replicas"], 1);
    let rc = defaulted(
        "",
        "v1",
        "replicationcontrollers",
        json!({"spec": {"template": {"metadata": {"labels": {"app": "a"}}}}}),
    );
    assert_eq!(rc["spec"]["selector"], json!({"app": "a"}));
    assert_eq!(rc["metadata"]["labels"], json!({"app": "a"}));
    assert_eq!(rc["spec"]["replicas"], 1);
    let cj = defaulted(
        "batch",
        "v1",
        "cronjobs",
        json!({"spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}}}),
    );
    assert_eq!(cj["spec"]["concurrencyPolicy"], "Allow");
    assert_eq!(cj["spec"]["suspend"], false);
    assert_eq!(cj["spec"]["successfulJobsHistoryLimit"], 3);
    assert_eq!(cj["spec"]["failedJobsHistoryLimit"], 1);
    assert_eq!(cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"], "Always");
    assert!(cj["spec"]["jobTemplate"]["spec"].get("backoffLimit").is_none());
}

#[test]
fn job_defaults_and_generated_selector() {
    let job = json!({"metadata": {"name": "pi", "uid": "u-1"}, "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "perl"}]}}}});
    let got = created("batch", "v1", "jobs", job);
    let spec = &got["spec"];
    for (k, v) in [
        ("parallelism", json!(1)),
        ("completions", json!(1)),
        ("backoffLimit", json!(6)),
        ("completionMode", json!("NonIndexed")),
        ("suspend", json!(false)),
        ("podReplacementPolicy", json!("TerminatingOrFailed")),
    ] {
        assert_eq!(spec[k], v, "{k}");
    }
    let labels = json!({"batch.kubernetes.io/controller-uid": "u-1", "batch.kubernetes.io/job-name": "pi", "controller-uid": "u-1", "job-name": "pi"});
    assert_eq!(spec["template"]["metadata"]["labels"], labels);
    assert_eq!(spec["selector"], json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}));
    assert_eq!(got["metadata"]["labels"], labels);
    // Explicit parallelism leaves completions unset.
    let par = defaulted("batch", "v1", "jobs", json!({"spec": {"parallelism": 3}}));
    assert!(par["spec"].get("completions").is_none());
}

#[test]
fn service_defaults() {
    let svc = json!({"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}, {"port": 443, "targetPort": "https", "protocol": "UDP"}]}});
    let got = defaulted("", "v1", "services", svc);
    let spec = &got["spec"];
    assert_eq!(spec["type"], "ClusterIP");
    assert_eq!(spec["sessionAffinity"], "None");
    assert_eq!(spec["internalTrafficPolicy"], "Cluster");
    assert!(spec.get("externalTrafficPolicy").is_none());
    assert_eq!(spec["ipFamilyPolicy"], "SingleStack");
    assert_eq!(spec["ipFamilies"], json!(["IPv4"]));
    assert_eq!(spec["ports"][0], json!({"port": 80, "protocol": "TCP", "targetPort": 80}));
    assert_eq!(spec["ports"][1], json!({"port": 443, "protocol": "UDP", "targetPort": "https"}));
    assert_eq!(got["status"], json!({"loadBalancer": {}}));
    let lb = defaulted("", "v1", "services", json!({"spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}));
    assert_eq!(lb["spec"]["externalTrafficPolicy"], "Cluster");
    assert_eq!(lb["spec"]["allocateLoadBalancerNodePorts"], true);
    let aff = defaulted("", "v1", "services", json!({"spec": {"sessionAffinity": "ClientIP"}}));
    assert_eq!(aff["spec"]["sessionAffinityConfig"], json!({"clientIP": {"timeoutSeconds": 10800}}));
    let ext = defaulted("", "v1", "services", json!({"spec": {"type": "ExternalName", "externalName": "x.y"}}));
    assert!(ext["spec"].get("ipFamilies").is_none());
}

#[test]
fn service_update_keeps_allocations() {
    let i = info("", "v1", "services");
    let old = json!({"spec": {"type": "NodePort", "clusterIP": "10.0.0.9", "clusterIPs": ["10.0.0.9"], "ports": [{"name": "http", "port": 80, "nodePort": 30080}]}});
    let mut new = json!({"spec": {"type": "NodePort", "ports": [{"name": "http", "port": 80}]}});
    apply_defaults(i, &mut new);
    prepare_update(i, &mut new, &old);
    assert_eq!(new["spec"]["clusterIP"], "10.0.0.9");
    assert_eq!(new["spec"]["clusterIPs"], json!(["10.0.0.9"]));
    assert_eq!(new["spec"]["ports"][0]["nodePort"], 30080);
    let mut to_cluster_ip = json!({"spec": {"type": "ClusterIP", "clusterIP": "10.0.0.9", "ports": [{"name": "http", "port": 80, "nodePort": 30080}], "externalTrafficPolicy": "Cluster"}});
    let mut old_defaulted = old.clone();
    apply_defaults(i, &mut old_defaulted);
    apply_defaults(i, &mut to_cluster_ip);
    prepare_update(i, &mut to_cluster_ip, &old_defaulted);
    assert!(to_cluster_ip["spec"]["ports"][0].get("nodePort").is_none());
    assert!(to_cluster_ip["spec"].get("externalTrafficPolicy").is_none());
}

#[test]
fn namespace_secret_storage_and_misc_defaults() {
    let ns = created("", "v1", "namespaces", json!({"metadata": {"name": "team"}}));
    assert_eq!(ns["metadata"]["labels"], json!({"kubernetes.io/metadata.name": "team"}));
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
    assert_eq!(ns["status"], json!({"phase": "Active"}));
    // Updates don't bring the finalizer back.
    let upd = defaulted("", "v1", "namespaces", json!({"metadata": {"name": "team"}, "spec": {"finalizers": []}}));
    assert_eq!(upd["spec"]["finalizers"], json!([]));

    let s = defaulted("", "v1", "secrets", json!({"stringData": {"user": "admin"}, "data": {"x": "eA=="}}));
    assert_eq!(s["type"], "Opaque");
    assert_eq!(s["data"], json!({"user": "YWRtaW4=", "x": "eA=="}));
    assert!(s.get("stringData").is_none());

    let pvc = defaulted("", "v1", "persistentvolumeclaims", json!({"spec": {}}));
    assert_eq!(pvc["spec"]["volumeMode"], "Filesystem");
    assert_eq!(pvc["status"]["phase"], "Pending");
    let pv = defaulted("", "v1", "persistentvolumes", json!({"spec": {"hostPath": {"path": "/x"}}}));
    assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
    assert_eq!(pv["spec"]["hostPath"]["type"], "");
    let sc = defaulted("storage.k8s.io", "v1", "storageclasses", json!({"provisioner": "x"}));
    assert_eq!((&sc["reclaimPolicy"], &sc["volumeBindingMode"]), (&json!("Delete"), &json!("Immediate")));
    let pc = defaulted("scheduling.k8s.io", "v1", "priorityclasses", json!({"value": 5}));
    assert_eq!(pc["preemptionPolicy"], "PreemptLowerPriority");
    let crb = defaulted(
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        json!({"roleRef": {"kind": "ClusterRole", "name": "x"}, "subjects": [{"kind": "Group", "name": "g"}, {"kind": "ServiceAccount", "name": "s", "namespace": "n"}]}),
    );
    assert_eq!(crb["roleRef"]["apiGroup"], "rbac.authorization.k8s.io");
    assert_eq!(crb["subjects"][0]["apiGroup"], "rbac.authorization.k8s.io");
    assert!(crb["subjects"][1].get("apiGroup").is_none());
    let hpa = defaulted("autoscaling", "v2", "horizontalpodautoscalers", json!({"spec": {"maxReplicas": 3}}));
    assert_eq!(hpa["spec"]["minReplicas"], 1);
    assert_eq!(hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"], 80);
    let np = defaulted(
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        json!({"spec": {"egress": [{"ports": [{"port": 53}]}]}}),
    );
    assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(np["spec"]["egress"][0]["ports"][0]["protocol"], "TCP");
    let ep = defaulted("", "v1", "endpoints", json!({"subsets": [{"ports": [{"port": 80}]}]}));
    assert_eq!(ep["subsets"][0]["ports"][0]["protocol"], "TCP");
    let crd = defaulted(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        json!({"spec": {"names": {"kind": "Widget", "plural": "widgets"}, "versions": [{"name": "v1", "storage": true}]}}),
    );
    assert_eq!(crd["spec"]["names"]["singular"], "widget");
    assert_eq!(crd["spec"]["names"]["listKind"], "WidgetList");
    assert_eq!(crd["spec"]["conversion"], json!({"strategy": "None"}));
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]));
    let wh = defaulted(
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        json!({"webhooks": [{"name": "a.b.c", "clientConfig": {"service": {"name": "s", "namespace": "n"}}, "rules": [{}]}]}),
    );
    let h = &wh["webhooks"][0];
    assert_eq!(
        (&h["failurePolicy"], &h["timeoutSeconds"], &h["reinvocationPolicy"]),
        (&json!("Fail"), &json!(10), &json!("Never"))
    );
    assert_eq!(h["clientConfig"]["service"]["port"], 443);
    assert_eq!(h["rules"][0]["scope"], "*");
}
