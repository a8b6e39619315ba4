//! The real kubectl (v1.34, and Debian's 1.20) against `capstan up` and against
//! Debian's etcd 3.4 + `capstan apiserver`. Each scenario is one function run
//! on both backends; assertions are on what kubectl prints, as a user sees it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::Ipv4Addr;
use std::time::Duration;

use capstan_e2e::kube::{
    assert_has, assert_lacks, describe_field, get_json, header, row_of, show, starts, testdata_arg, KubeCluster,
};

/// One `#[test]` per backend for a scenario `fn(&mut KubeCluster)`.
macro_rules! on_both {
    ($body:ident: $up:ident, $etcd34:ident) => {
        #[test]
        fn $up() {
            let mut c = KubeCluster::start_up();
            $body(&mut c);
        }
        #[test]
        fn $etcd34() {
            let mut c = KubeCluster::start_on_etcd34();
            $body(&mut c);
        }
    };
}

on_both!(discovery: discovery_up, discovery_etcd34);
on_both!(create_and_get: create_and_get_up, create_and_get_etcd34);
on_both!(apply_and_dry_run: apply_and_dry_run_up, apply_and_dry_run_etcd34);
on_both!(mutate: mutate_up, mutate_etcd34);
on_both!(wait_and_watch: wait_and_watch_up, wait_and_watch_etcd34);
on_both!(error_paths: error_paths_up, error_paths_etcd34);
on_both!(restart_keeps_objects: restart_keeps_objects_up, restart_keeps_objects_etcd34);
on_both!(kubectl_1_20: kubectl_1_20_up, kubectl_1_20_etcd34);

const SHORT: Duration = Duration::from_secs(30);

/// `kubectl get KIND NAME -o jsonpath=EXPR`, trimmed.
#[track_caller]
fn jsonpath(c: &KubeCluster, kind: &str, name: &str, expr: &str) -> String {
    c.kubectl_ok(&["get", kind, name, &format!("-o=jsonpath={expr}")]).trim().to_string()
}

#[track_caller]
fn assert_not_found(c: &KubeCluster, kind_plural: &str, name: &str) {
    let err = c.kubectl_err(&["get", kind_plural, name]);
    assert_has(&err, "Error from server (NotFound)");
    assert_has(&err, &format!("{kind_plural} \"{name}\" not found"));
}

fn create_app(c: &KubeCluster) {
    let out = c.kubectl_ok(&["create", "-f", &testdata_arg("kubectl/app")]);
    assert_has(&out, "configmap/web-config created");
    assert_has(&out, "deployment.apps/web created");
    assert_has(&out, "service/web created");
}

// ---------------------------------------------------------------------------

/// api-resources, api-versions, explain, version and the health endpoints.
fn discovery(c: &mut KubeCluster) {
    let out = c.kubectl_ok(&["api-resources"]);
    assert_eq!(header(&out), ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"], "{out}");
    assert_eq!(row_of(&out, "deployments"), ["deployments", "deploy", "apps/v1", "true", "Deployment"]);
    assert_eq!(row_of(&out, "pods"), ["pods", "po", "v1", "true", "Pod"]);
    assert_eq!(row_of(&out, "namespaces"), ["namespaces", "ns", "v1", "false", "Namespace"]);
    assert_eq!(row_of(&out, "configmaps"), ["configmaps", "cm", "v1", "true", "ConfigMap"]);
    assert_eq!(row_of(&out, "services"), ["services", "svc", "v1", "true", "Service"]);
    assert_eq!(row_of(&out, "secrets"), ["secrets", "v1", "true", "Secret"]);
    assert_eq!(
        row_of(&out, "horizontalpodautoscalers"),
        ["horizontalpodautoscalers", "hpa", "autoscaling/v2", "true", "HorizontalPodAutoscaler"]
    );

    let wide = c.kubectl_ok(&["api-resources", "-o", "wide"]);
    assert_eq!(header(&wide), ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND", "VERBS", "CATEGORIES"]);
    assert_eq!(row_of(&wide, "pods")[5..], ["create,delete,deletecollection,get,list,patch,update,watch", "all"]);

    let apps = c.kubectl_ok(&["api-resources", "--api-group=apps", "-o", "name"]);
    let apps: Vec<&str> = apps.lines().collect();
    for r in ["deployments.apps", "replicasets.apps", "statefulsets.apps", "daemonsets.apps"] {
        assert!(apps.contains(&r), "{r} missing from --api-group=apps: {apps:?}");
    }
    assert!(!apps.iter().any(|r| !r.ends_with(".apps")), "non-apps resource listed: {apps:?}");

    let cluster_scoped = c.kubectl_ok(&["api-resources", "--namespaced=false", "-o", "name"]);
    let cluster_scoped: Vec<&str> = cluster_scoped.lines().collect();
    assert!(cluster_scoped.contains(&"namespaces"), "{cluster_scoped:?}");
    assert!(!cluster_scoped.contains(&"pods"), "{cluster_scoped:?}");

    let versions = c.kubectl_ok(&["api-versions"]);
    let versions: Vec<&str> = versions.lines().collect();
    for v in ["v1", "apps/v1", "autoscaling/v2"] {
        assert!(versions.contains(&v), "{v} missing from api-versions: {versions:?}");
    }

    let explain = c.kubectl_ok(&["explain", "deployment.spec.strategy"]);
    assert_eq!(describe_field(&explain, "KIND"), Some("Deployment"), "{explain}");
    assert_eq!(describe_field(&explain, "VERSION"), Some("v1"), "{explain}");
    let field = describe_field(&explain, "FIELD").unwrap_or_else(|| panic!("no FIELD: in:\n{explain}"));
    assert!(field.starts_with("strategy"), "{explain}");
    let fields: Vec<Vec<&str>> = explain.lines().map(|l| l.split_whitespace().collect()).collect();
    assert!(fields.iter().any(|f| f.first() == Some(&"rollingUpdate")), "no rollingUpdate field in:\n{explain}");
    assert!(fields.iter().any(|f| f[..] == ["type", "<string>"]), "no `type <string>` field in:\n{explain}");

    let explain = c.kubectl_ok(&["explain", "configmap"]);
    assert_eq!(describe_field(&explain, "KIND"), Some("ConfigMap"), "{explain}");
    let fields: Vec<Vec<&str>> = explain.lines().map(|l| l.split_whitespace().collect()).collect();
    assert!(fields.iter().any(|f| f[..] == ["data", "<map[string]string>"]), "{explain}");
    assert!(fields.iter().any(|f| f[..] == ["immutable", "<boolean>"]), "{explain}");

    assert_eq!(c.kubectl_ok(&["get", "--raw", "/healthz"]).trim(), "ok");
    assert_eq!(c.kubectl_ok(&["get", "--raw", "/livez"]).trim(), "ok");
    assert_eq!(c.kubectl_ok(&["get", "--raw", "/readyz"]).trim(), "ok");
    let verbose = c.kubectl_ok(&["get", "--raw", "/readyz?verbose"]);
    assert_has(&verbose, "[+]ping ok");
    assert_has(&verbose, "[+]etcd ok");
    assert_eq!(verbose.trim().lines().last(), Some("readyz check passed"), "{verbose}");
    let verbose = c.kubectl_ok(&["get", "--raw", "/livez?verbose"]);
    assert_eq!(verbose.trim().lines().last(), Some("livez check passed"), "{verbose}");

    let version = c.kubectl_ok(&["get", "--raw", "/version"]);
    let v: serde_json::Value = serde_json::from_str(&version).unwrap_or_else(|e| panic!("{e}: {version}"));
    assert_eq!(v["major"], "1", "{version}");
    assert!(v["minor"].as_str().is_some_and(|m| !m.is_empty()), "{version}");
    assert!(v["gitVersion"].as_str().is_some_and(|g| g.starts_with("v1.")), "{version}");
    let out = c.kubectl_ok(&["version"]);
    assert_has(&out, "Client Version: v1.34");
    assert_has(&out, "Server Version: v1.");
}

/// `create -f`, every `get` output format, `get all`, chunked lists and `describe`.
fn create_and_get(c: &mut KubeCluster) {
    create_app(c);
    let err = c.kubectl_err(&["create", "-f", &testdata_arg("kubectl/app/deployment.yaml")]);
    assert_has(&err, "Error from server (AlreadyExists)");
    assert_has(&err, "deployments.apps \"web\" already exists");
    assert_has(&c.kubectl_ok(&["create", "-f", &testdata_arg("kubectl/pod.yaml")]), "pod/bare created");

    // Default tables (server-side Table columns).
    let out = c.kubectl_ok(&["get", "deployments"]);
    assert_eq!(header(&out), ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], "{out}");
    assert_eq!(row_of(&out, "web")[..4], ["web", "0/2", "0", "0"], "{out}");
    let out = c.kubectl_ok(&["get", "deployment", "web", "-o", "wide"]);
    assert_eq!(
        header(&out),
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"],
        "{out}"
    );
    assert_eq!(row_of(&out, "web")[5..], ["nginx", "nginx:1.27", "app=web"], "{out}");

    let out = c.kubectl_ok(&["get", "pods"]);
    assert_eq!(header(&out), ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], "{out}");
    assert_eq!(row_of(&out, "bare")[..4], ["bare", "0/1", "Pending", "0"], "{out}");
    let out = c.kubectl_ok(&["get", "pods", "-o", "wide"]);
    assert_eq!(
        header(&out),
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED", "NODE", "READINESS", "GATES"],
        "{out}"
    );
    assert_eq!(row_of(&out, "bare")[5..], ["<none>", "<none>", "<none>", "<none>"], "{out}");

    let out = c.kubectl_ok(&["get", "services"]);
    assert_eq!(header(&out), ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"], "{out}");
    let svc = row_of(&out, "web");
    assert_eq!([svc[1], svc[3], svc[4]], ["ClusterIP", "<none>", "80/TCP"], "{out}");
    let ip: Ipv4Addr = svc[2].parse().unwrap_or_else(|e| panic!("CLUSTER-IP {:?}: {e}\n{out}", svc[2]));
    let o = ip.octets();
    assert!(o[0] == 10 && (96..112).contains(&o[1]), "{ip} is outside 10.96.0.0/12");

    let out = c.kubectl_ok(&["get", "configmaps"]);
    assert_eq!(header(&out), ["NAME", "DATA", "AGE"], "{out}");
    assert_eq!(row_of(&out, "web-config")[..2], ["web-config", "2"], "{out}");

    // -o yaml: the stored object, with the server's defaults.
    let out = c.kubectl_ok(&["get", "deployment", "web", "-o", "yaml"]);
    let d: serde_yaml_ng::Value = serde_yaml_ng::from_str(&out).unwrap_or_else(|e| panic!("{e}:\n{out}"));
    assert_eq!(d["apiVersion"].as_str(), Some("apps/v1"), "{out}");
    assert_eq!(d["kind"].as_str(), Some("Deployment"), "{out}");
    assert_eq!(d["metadata"]["name"].as_str(), Some("web"), "{out}");
    assert_eq!(d["metadata"]["namespace"].as_str(), Some("default"), "{out}");
    for f in ["uid", "resourceVersion", "creationTimestamp"] {
        assert!(d["metadata"][f].as_str().is_some_and(|s| !s.is_empty()), "metadata.{f} missing:\n{out}");
    }
    assert_eq!(d["metadata"]["generation"].as_u64(), Some(1), "{out}");
    assert_eq!(d["spec"]["replicas"].as_u64(), Some(2), "{out}");
    assert_eq!(d["spec"]["strategy"]["type"].as_str(), Some("RollingUpdate"), "{out}");
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"]["maxSurge"].as_str(), Some("25%"), "{out}");
    assert_eq!(d["spec"]["revisionHistoryLimit"].as_u64(), Some(10), "{out}");
    assert_eq!(d["spec"]["progressDeadlineSeconds"].as_u64(), Some(600), "{out}");
    let pod_spec = &d["spec"]["template"]["spec"];
    assert_eq!(pod_spec["restartPolicy"].as_str(), Some("Always"), "{out}");
    assert_eq!(pod_spec["dnsPolicy"].as_str(), Some("ClusterFirst"), "{out}");
    assert_eq!(pod_spec["containers"][0]["imagePullPolicy"].as_str(), Some("IfNotPresent"), "{out}");
    assert_eq!(pod_spec["containers"][0]["ports"][0]["protocol"].as_str(), Some("TCP"), "{out}");
    assert_eq!(pod_spec["containers"][0]["terminationMessagePath"].as_str(), Some("/dev/termination-log"), "{out}");

    // -o json: a single object, then a list.
    let d = get_json(c, &["service", "web"]);
    assert_eq!(d["kind"], "Service");
    assert_eq!(d["spec"]["type"], "ClusterIP");
    assert_eq!(d["spec"]["ports"][0]["targetPort"], 80);
    assert_eq!(d["spec"]["clusterIP"], d["spec"]["clusterIPs"][0]);
    let list = get_json(c, &["configmaps"]);
    assert_eq!(list["kind"], "List");
    let names: Vec<&str> =
        list["items"].as_array().unwrap().iter().filter_map(|i| i["metadata"]["name"].as_str()).collect();
    assert!(names.contains(&"web-config"), "{names:?}");
    assert!(list["items"].as_array().unwrap().iter().all(|i| i["kind"] == "ConfigMap" && i["apiVersion"] == "v1"));

    // jsonpath and custom columns.
    assert_eq!(jsonpath(c, "deployment", "web", "{.spec.replicas}"), "2");
    assert_eq!(jsonpath(c, "pod", "bare", "{.status.phase}"), "Pending");
    let names = c.kubectl_ok(&["get", "pods", "-o=jsonpath={.items[*].metadata.name}"]);
    assert_eq!(names.split_whitespace().collect::<Vec<_>>(), ["bare"]);
    let out = c.kubectl_ok(&["get", "deployments", "-o", "custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas"]);
    assert_eq!(header(&out), ["NAME", "REPLICAS"], "{out}");
    assert_eq!(row_of(&out, "web"), ["web", "2"], "{out}");

    // Labels: --show-labels, -L, -l and -o name over several kinds.
    let out = c.kubectl_ok(&["get", "deployment", "web", "--show-labels"]);
    assert_eq!(header(&out).last(), Some(&"LABELS"), "{out}");
    assert_eq!(row_of(&out, "web").last(), Some(&"app=web,tier=frontend"), "{out}");
    let out = c.kubectl_ok(&["get", "deployments", "-L", "tier"]);
    assert_eq!(header(&out).last(), Some(&"TIER"), "{out}");
    assert_eq!(row_of(&out, "web").last(), Some(&"frontend"), "{out}");
    let out = c.kubectl_ok(&["get", "deployments,services,configmaps", "-l", "app=web", "-o", "name"]);
    let mut got: Vec<&str> = out.lines().collect();
    got.sort_unstable();
    assert_eq!(got, ["configmap/web-config", "deployment.apps/web", "service/web"], "{out}");
    let out = c.kubectl_ok(&["get", "pods", "-l", "app!=web,app in (bare,other)", "-o", "name"]);
    assert_eq!(out.trim(), "pod/bare");
    let out = c.kubectl_ok(&["get", "pods", "--field-selector", "status.phase=Pending", "-o", "name"]);
    assert_eq!(out.trim(), "pod/bare");

    // The `all` category.
    let out = c.kubectl_ok(&["get", "all", "-o", "name"]);
    for n in ["pod/bare", "service/web", "deployment.apps/web"] {
        assert!(out.lines().any(|l| l == n), "{n} missing from get all:\n{out}");
    }
    assert_lacks(&out, "configmap/");

    // describe (no controllers or scheduler: nothing ready, the pod stays Pending).
    let out = c.kubectl_ok(&["describe", "deployment/web"]);
    assert_eq!(describe_field(&out, "Name"), Some("web"), "{out}");
    assert_eq!(describe_field(&out, "Namespace"), Some("default"), "{out}");
    assert_eq!(describe_field(&out, "Labels"), Some("app=web"), "{out}");
    assert_eq!(describe_field(&out, "Selector"), Some("app=web"), "{out}");
    assert_eq!(
        describe_field(&out, "Replicas"),
        Some("2 desired | 0 updated | 0 total | 0 available | 0 unavailable"),
        "{out}"
    );
    assert_eq!(describe_field(&out, "StrategyType"), Some("RollingUpdate"), "{out}");
    assert_eq!(describe_field(&out, "RollingUpdateStrategy"), Some("25% max unavailable, 25% max surge"), "{out}");
    assert!(out.lines().any(|l| l.split_whitespace().eq(["Image:", "nginx:1.27"])), "{out}");
    assert_eq!(describe_field(&out, "Events"), Some("<none>"), "{out}");

    let out = c.kubectl_ok(&["describe", "pod", "bare"]);
    assert_eq!(describe_field(&out, "Name"), Some("bare"), "{out}");
    assert_eq!(describe_field(&out, "Namespace"), Some("default"), "{out}");
    assert_eq!(describe_field(&out, "Labels"), Some("app=bare"), "{out}");
    assert_eq!(describe_field(&out, "Status"), Some("Pending"), "{out}");
    assert_eq!(describe_field(&out, "Node"), Some("<none>"), "{out}");
    assert_eq!(describe_field(&out, "QoS Class"), Some("BestEffort"), "{out}");
    assert!(out.lines().any(|l| l.split_whitespace().eq(["Image:", "busybox:1.36"])), "{out}");

    // Chunked list: 7 configmaps in their own namespace, 2 per page.
    assert_has(&c.kubectl_ok(&["create", "namespace", "chunks"]), "namespace/chunks created");
    let docs: Vec<String> = (0..7)
        .map(|i| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: chunk-{i}\n  namespace: chunks\ndata:\n  i: \"{i}\"\n"))
        .collect();
    let out = c.kubectl_stdin_ok(&["create", "-f", "-"], &docs.join("---\n"));
    assert_eq!(out.lines().filter(|l| l.ends_with(" created")).count(), 7, "{out}");
    let out = c.kubectl(&["get", "configmaps", "-n", "chunks", "--chunk-size=2", "-v=6"]);
    assert!(out.status.success(), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stdout.lines().filter(|l| l.starts_with("NAME")).count(), 1, "one header:\n{stdout}");
    for i in 0..7 {
        let n = format!("chunk-{i}");
        assert_eq!(
            stdout.lines().filter(|l| l.split_whitespace().next() == Some(n.as_str())).count(),
            1,
            "{n}:\n{stdout}"
        );
    }
    let pages: Vec<&str> =
        stderr.lines().filter(|l| l.contains("/namespaces/chunks/configmaps?") && l.contains("limit=2")).collect();
    let continued = pages.iter().filter(|l| l.contains("continue=")).count();
    assert!(
        pages.len() >= 4 && continued >= 3,
        "expected >= 4 pages of 2 (>= 3 with continue=), got:\n{}",
        pages.join("\n")
    );
    let names = c.kubectl_ok(&["get", "configmaps", "-n", "chunks", "--chunk-size=3", "-o", "name"]);
    let chunk_names: Vec<&str> = names.lines().filter(|l| l.starts_with("configmap/chunk-")).collect();
    assert_eq!(chunk_names.len(), 7, "{names}");
}

/// Client-side apply (created / unchanged / configured, three-way pruning) and server dry-run.
fn apply_and_dry_run(c: &mut KubeCluster) {
    let out = c.kubectl_ok(&["apply", "-f", &testdata_arg("kubectl/apply-v1.yaml")]);
    assert_has(&out, "deployment.apps/applied created");
    assert_has(&out, "configmap/applied created");
    let out = c.kubectl_ok(&["apply", "-f", &testdata_arg("kubectl/apply-v1.yaml")]);
    assert_has(&out, "deployment.apps/applied unchanged");
    assert_has(&out, "configmap/applied unchanged");
    let rv_before = jsonpath(c, "deployment", "applied", "{.metadata.resourceVersion}");
    let out = c.kubectl_ok(&["apply", "-f", &testdata_arg("kubectl/apply-v2.yaml")]);
    assert_has(&out, "deployment.apps/applied configured");
    assert_has(&out, "configmap/applied configured");
    let d = get_json(c, &["deployment", "applied"]);
    assert_eq!(d["spec"]["replicas"], 3);
    assert_eq!(d["metadata"]["generation"], 2);
    assert_ne!(d["metadata"]["resourceVersion"].as_str(), Some(rv_before.as_str()));
    let containers = d["spec"]["template"]["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1, "{d:#}");
    assert_eq!(containers[0]["image"], "nginx:1.27");
    assert_eq!(containers[0]["env"], serde_json::json!([{"name": "LEVEL", "value": "two"}]));
    let last = d["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"].as_str().unwrap_or("");
    assert_has(last, "nginx:1.27");
    assert_eq!(jsonpath(c, "configmap", "applied", "{.data.mode}"), "two");
    assert_eq!(jsonpath(c, "configmap", "applied", "{.data.extra}"), "added");
    // Back to v1: the key that only v2 had is pruned by the three-way merge.
    let out = c.kubectl_ok(&["apply", "-f", &testdata_arg("kubectl/apply-v1.yaml")]);
    assert_has(&out, "configmap/applied configured");
    let cm = get_json(c, &["configmap", "applied"]);
    assert_eq!(cm["data"], serde_json::json!({"mode": "one"}));

    // Server-side dry run: the answer looks real, nothing is stored or changed.
    let out = c.kubectl_ok(&["create", "configmap", "dry", "--from-literal=a=b", "--dry-run=server", "-o", "yaml"]);
    let d: serde_yaml_ng::Value = serde_yaml_ng::from_str(&out).unwrap_or_else(|e| panic!("{e}:\n{out}"));
    assert_eq!(d["metadata"]["name"].as_str(), Some("dry"), "{out}");
    assert!(d["metadata"]["uid"].as_str().is_some_and(|u| !u.is_empty()), "dry-run create gets a uid:\n{out}");
    assert_not_found(c, "configmaps", "dry");
    let out = c.kubectl_ok(&["delete", "configmap", "applied", "--dry-run=server"]);
    assert_has(&out, "configmap \"applied\" deleted");
    assert_has(&out, "(server dry run)");
    assert_eq!(jsonpath(c, "configmap", "applied", "{.data.mode}"), "one");
    let out = c.kubectl_ok(&[
        "patch",
        "deployment",
        "applied",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":9}}"#,
        "--dry-run=server",
    ]);
    // kubectl patch prints no dry-run suffix (its printer drops it); the object must be unchanged.
    assert_has(&out, "deployment.apps/applied patched");
    assert_eq!(jsonpath(c, "deployment", "applied", "{.spec.replicas}"), "1");
    let out = c.kubectl_ok(&["apply", "-f", &testdata_arg("kubectl/app/configmap.yaml"), "--dry-run=server"]);
    assert_has(&out, "configmap/web-config created (server dry run)");
    assert_not_found(c, "configmaps", "web-config");
}

/// label, annotate, the three patch types, replace, conflicts, finalizers, secrets and configmaps from files.
fn mutate(c: &mut KubeCluster) {
    create_app(c);

    assert_has(&c.kubectl_ok(&["label", "deployment", "web", "env=prod"]), "deployment.apps/web labeled");
    assert_eq!(jsonpath(c, "deployment", "web", "{.metadata.labels.env}"), "prod");
    assert_has(&c.kubectl_ok(&["label", "deployment", "web", "env-"]), "deployment.apps/web unlabeled");
    assert_eq!(jsonpath(c, "deployment", "web", "{.metadata.labels.env}"), "");
    let err = c.kubectl_err(&["label", "deployment", "web", "app=other"]);
    assert_has(&err, "--overwrite is false");
    assert_has(&c.kubectl_ok(&["label", "configmaps", "-l", "app=web", "owner=team"]), "configmap/web-config labeled");
    assert_eq!(jsonpath(c, "configmap", "web-config", "{.metadata.labels.owner}"), "team");

    assert_has(&c.kubectl_ok(&["annotate", "deployment", "web", "note=hello"]), "deployment.apps/web annotated");
    assert_eq!(jsonpath(c, "deployment", "web", "{.metadata.annotations.note}"), "hello");
    assert_has(
        &c.kubectl_ok(&["annotate", "deployment", "web", "note=bye", "--overwrite"]),
        "deployment.apps/web annotated",
    );
    assert_eq!(jsonpath(c, "deployment", "web", "{.metadata.annotations.note}"), "bye");

    // Strategic merge: containers merge by name, so this adds env to the one container.
    let out = c.kubectl_ok(&[
        "patch",
        "deployment",
        "web",
        "--type=strategic",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"nginx","env":[{"name":"MODE","value":"x"}]}]}}}}"#,
    ]);
    assert_has(&out, "deployment.apps/web patched");
    let d = get_json(c, &["deployment", "web"]);
    let containers = d["spec"]["template"]["spec"]["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1, "strategic merge must merge containers by name:\n{d:#}");
    assert_eq!(containers[0]["image"], "nginx:1.27");
    assert_eq!(containers[0]["ports"][0]["containerPort"], 80);
    assert_eq!(containers[0]["env"], serde_json::json!([{"name": "MODE", "value": "x"}]));
    assert_eq!(d["metadata"]["generation"], 2);
    let out = c.kubectl_ok(&[
        "patch",
        "deployment",
        "web",
        "--type=strategic",
        "-p",
        r#"{"metadata":{"labels":{"patched":"strategic"}},"spec":{"template":{"spec":{"containers":[{"name":"nginx","env":[{"name":"MODE","$patch":"delete"}]}]}}}}"#,
    ]);
    assert_has(&out, "deployment.apps/web patched");
    assert_eq!(jsonpath(c, "deployment", "web", "{.metadata.labels.patched}"), "strategic");
    assert_eq!(jsonpath(c, "deployment", "web", "{.metadata.labels.app}"), "web");
    assert_eq!(jsonpath(c, "deployment", "web", "{.spec.template.spec.containers[0].env}"), "");

    // JSON merge patch.
    let out = c.kubectl_ok(&["patch", "deployment", "web", "--type=merge", "-p", r#"{"spec":{"replicas":5}}"#]);
    assert_has(&out, "deployment.apps/web patched");
    assert_eq!(jsonpath(c, "deployment", "web", "{.spec.replicas}"), "5");
    let out = c.kubectl_ok(&["patch", "deployment", "web", "--type=merge", "-p", r#"{"spec":{"replicas":5}}"#]);
    assert_has(&out, "deployment.apps/web patched (no change)");
    c.kubectl_ok(&["patch", "configmap", "web-config", "--type=merge", "-p", r#"{"data":{"k2":null,"k3":"v3"}}"#]);
    assert_eq!(get_json(c, &["configmap", "web-config"])["data"], serde_json::json!({"k1": "v1", "k3": "v3"}));

    // JSON patch, and a failing `test` op that must leave the object alone.
    let out = c.kubectl_ok(&[
        "patch",
        "deployment",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":3},{"op":"add","path":"/metadata/labels/patched","value":"json"}]"#,
    ]);
    assert_has(&out, "deployment.apps/web patched");
    assert_eq!(jsonpath(c, "deployment", "web", "{.spec.replicas}"), "3");
    assert_eq!(jsonpath(c, "deployment", "web", "{.metadata.labels.patched}"), "json");
    c.kubectl_err(&[
        "patch",
        "deployment",
        "web",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":7},{"op":"test","path":"/spec/replicas","value":99}]"#,
    ]);
    assert_eq!(jsonpath(c, "deployment", "web", "{.spec.replicas}"), "3");

    // replace -f with a fresh copy, then with a stale one (optimistic concurrency).
    let fresh = c.kubectl_ok(&["get", "configmap", "web-config", "-o", "yaml"]);
    let mut v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&fresh).unwrap();
    v["data"]["k1"] = "replaced".into();
    let f = c.write_file("fresh.yaml", &serde_yaml_ng::to_string(&v).unwrap());
    assert_has(&c.kubectl_ok(&["replace", "-f", f.to_str().unwrap()]), "configmap/web-config replaced");
    assert_eq!(jsonpath(c, "configmap", "web-config", "{.data.k1}"), "replaced");
    let stale = c.kubectl_ok(&["get", "configmap", "web-config", "-o", "yaml"]);
    assert_has(&c.kubectl_ok(&["label", "configmap", "web-config", "bump=1"]), "configmap/web-config labeled");
    let mut v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&stale).unwrap();
    v["data"]["k1"] = "stale".into();
    let f = c.write_file("stale.yaml", &serde_yaml_ng::to_string(&v).unwrap());
    let err = c.kubectl_err(&["replace", "-f", f.to_str().unwrap()]);
    assert_has(&err, "Error from server (Conflict)");
    assert_has(&err, "Operation cannot be fulfilled on configmaps \"web-config\"");
    assert_has(&err, "the object has been modified; please apply your changes to the latest version and try again");
    assert_eq!(jsonpath(c, "configmap", "web-config", "{.data.k1}"), "replaced");

    // Finalizers hold a deleted object until they are removed.
    assert_has(&c.kubectl_ok(&["create", "-f", &testdata_arg("kubectl/finalizer.yaml")]), "configmap/held created");
    assert_has(&c.kubectl_ok(&["delete", "configmap", "held", "--wait=false"]), "configmap \"held\" deleted");
    assert!(!jsonpath(c, "configmap", "held", "{.metadata.deletionTimestamp}").is_empty());
    assert_eq!(jsonpath(c, "configmap", "held", "{.metadata.finalizers[0]}"), "example.com/hold");
    let err = c.kubectl_err(&[
        "patch",
        "configmap",
        "held",
        "--type=json",
        "-p",
        r#"[{"op":"add","path":"/metadata/finalizers/-","value":"example.com/more"}]"#,
    ]);
    assert_has(&err, "no new finalizers can be added if the object is being deleted");
    let out =
        c.kubectl_ok(&["patch", "configmap", "held", "--type=merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
    assert_has(&out, "configmap/held patched");
    assert_not_found(c, "configmaps", "held");

    // Secrets and configmaps from the command line.
    assert_has(&c.kubectl_ok(&["create", "secret", "generic", "s", "--from-literal=a=b"]), "secret/s created");
    assert_eq!(jsonpath(c, "secret", "s", "{.data.a}"), "Yg==");
    assert_eq!(jsonpath(c, "secret", "s", "{.type}"), "Opaque");
    let out = c.kubectl_ok(&["get", "secret", "s"]);
    assert_eq!(header(&out), ["NAME", "TYPE", "DATA", "AGE"], "{out}");
    assert_eq!(row_of(&out, "s")[..3], ["s", "Opaque", "1"], "{out}");
    let file = c.write_file("settings.conf", "x=1\ny=2\n");
    let out = c.kubectl_ok(&["create", "configmap", "c", &format!("--from-file={}", file.display())]);
    assert_has(&out, "configmap/c created");
    assert_eq!(get_json(c, &["configmap", "c"])["data"], serde_json::json!({"settings.conf": "x=1\ny=2\n"}));
}

/// `wait` for conditions and deletion, `get -w` with and without watch events.
fn wait_and_watch(c: &mut KubeCluster) {
    assert_has(&c.kubectl_ok(&["create", "-f", &testdata_arg("kubectl/pod.yaml")]), "pod/bare created");
    assert_has(
        &c.kubectl_ok(&["create", "-f", &testdata_arg("kubectl/app/deployment.yaml")]),
        "deployment.apps/web created",
    );

    let err = c.kubectl_err(&["wait", "--for=condition=Ready", "pod/bare", "--timeout=2s"]);
    assert_has(&err, "timed out waiting for the condition on pods/bare");
    let out = c.kubectl_ok(&["wait", "--for=jsonpath={.status.phase}=Pending", "pod/bare", "--timeout=20s"]);
    assert_has(&out, "pod/bare condition met");

    // Status is only written through the status subresource.
    let out = c.kubectl_ok(&["patch", "pod", "bare", "--type=merge", "-p", r#"{"status":{"phase":"Running"}}"#]);
    assert_has(&out, "pod/bare patched (no change)");
    assert_eq!(jsonpath(c, "pod", "bare", "{.status.phase}"), "Pending");
    let mut waiter = c.kubectl_spawn(&["wait", "--for=condition=Ready", "pod/bare", "--timeout=40s", "-v=6"]);
    // Best effort: let it reach its watch before the condition appears.
    waiter.wait_stderr(Duration::from_secs(10), "watch=true");
    let out = c.kubectl_ok(&[
        "patch",
        "pod",
        "bare",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"conditions":[{"type":"Ready","status":"True"}]}}"#,
    ]);
    assert_has(&out, "pod/bare patched");
    let (st, lines) = waiter.wait_exit(Duration::from_secs(45));
    assert!(st.success(), "wait for Ready: {st}\n{lines:?}\n{}", waiter.stderr_text());
    assert!(lines.iter().any(|l| l == "pod/bare condition met"), "{lines:?}");

    let out = c.kubectl_ok(&[
        "patch",
        "deployment",
        "web",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":7},"status":{"conditions":[{"type":"Available","status":"True","reason":"Test","message":"patched"}]}}"#,
    ]);
    assert_has(&out, "deployment.apps/web patched");
    assert_eq!(jsonpath(c, "deployment", "web", "{.spec.replicas}"), "2", "status writes ignore spec");
    let out = c.kubectl_ok(&["wait", "--for=condition=Available", "deployment/web", "--timeout=20s"]);
    assert_has(&out, "deployment.apps/web condition met");

    // wait --for=delete, started before the delete.
    c.kubectl_ok(&["create", "configmap", "doomed", "--from-literal=a=b"]);
    let mut waiter = c.kubectl_spawn(&["wait", "--for=delete", "configmap/doomed", "--timeout=40s", "-v=6"]);
    waiter.wait_stderr(Duration::from_secs(10), "watch=true");
    assert_has(&c.kubectl_ok(&["delete", "configmap", "doomed"]), "configmap \"doomed\" deleted");
    let (st, lines) = waiter.wait_exit(Duration::from_secs(45));
    assert!(st.success(), "wait --for=delete: {st}\n{lines:?}\n{}", waiter.stderr_text());
    assert!(lines.iter().any(|l| l == "configmap/doomed condition met"), "{lines:?}");

    // get -w: one watcher with event types, one plain.
    c.kubectl_ok(&["create", "namespace", "watched"]);
    let mut events = c.kubectl_spawn(&["get", "configmaps", "-n", "watched", "-w", "--output-watch-events"]);
    let mut plain = c.kubectl_spawn(&["get", "configmaps", "-n", "watched", "-w"]);
    c.kubectl_ok(&["create", "configmap", "w1", "-n", "watched", "--from-literal=a=1"]);
    events.wait_line(SHORT, starts(&["ADDED", "w1", "1"]));
    plain.wait_line(SHORT, starts(&["w1", "1"]));
    c.kubectl_ok(&["patch", "configmap", "w1", "-n", "watched", "--type=merge", "-p", r#"{"data":{"b":"2"}}"#]);
    events.wait_line(SHORT, starts(&["MODIFIED", "w1", "2"]));
    plain.wait_line(SHORT, starts(&["w1", "2"]));
    c.kubectl_ok(&["delete", "configmap", "w1", "-n", "watched"]);
    events.wait_line(SHORT, starts(&["DELETED", "w1", "2"]));
    assert!(
        events.seen.iter().any(|l| l.split_whitespace().eq(["EVENT", "NAME", "DATA", "AGE"])),
        "header with EVENT column: {:?}",
        events.seen
    );
    events.kill();
    plain.kill();
}

/// What the server answers to bad input.
fn error_paths(c: &mut KubeCluster) {
    let cms = "/api/v1/namespaces/default/configmaps";
    // kube-apiserver: `the object provided is unrecognized (must be of type ConfigMap): couldn't get
    // version/kind; json parse error: unexpected end of JSON input (...)`.
    let err = c.kubectl_err(&["create", "--raw", cms, "-f", &testdata_arg("kubectl/malformed.json")]);
    assert_has(&err, "Error from server (BadRequest)");
    assert_has(&err, "the object provided is unrecognized (must be of type ConfigMap)");
    // kube-apiserver: `Secret in version "v1" cannot be handled as a ConfigMap: ...`.
    let err = c.kubectl_err(&["create", "--raw", cms, "-f", &testdata_arg("kubectl/kind-mismatch.json")]);
    assert_has(&err, "Error from server (BadRequest)");
    assert_has(&err, "cannot be handled as a ConfigMap");
    assert_not_found(c, "configmaps", "mismatch");
    assert_not_found(c, "secrets", "mismatch");
    let err = c.kubectl_err(&["create", "--raw", cms, "-f", &testdata_arg("kubectl/namespace-mismatch.json")]);
    assert_has(&err, "BadRequest");
    assert_has(&err, "the namespace of the provided object does not match the namespace sent on the request");

    let err = c.kubectl_err(&["apply", "--validate=strict", "-f", &testdata_arg("kubectl/unknown-field.yaml")]);
    assert_has(&err, "unknown field");
    assert_has(&err, "replicaz");
    assert_not_found(c, "deployments.apps", "typo");
    let out = c.kubectl(&["create", "--validate=warn", "-f", &testdata_arg("kubectl/unknown-field.yaml")]);
    assert!(out.status.success(), "{}", show(&out));
    assert_has(&String::from_utf8_lossy(&out.stdout), "deployment.apps/typo created");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_has(&stderr, "Warning: unknown field \"spec.replicaz\"");

    let err = c.kubectl_err(&["get", "pods", "-l", "a in (b"]);
    assert_has(&err, "Error from server (BadRequest)");
    assert_has(&err, "label selector \"a in (b\"");
    let err = c.kubectl_err(&["get", "--raw", "/api/v1/configmaps?limit=1&continue=garbage"]);
    assert_has(&err, "Error from server (BadRequest)");
    assert_has(&err, "continue");

    let err = c.kubectl_err(&["get", "foos"]);
    assert_has(&err, "the server doesn't have a resource type \"foos\"");
    let err = c.kubectl_err(&["create", "configmap", "Bad_Name"]);
    // `kubectl create configmap` wraps the error: `failed to create configmap: ConfigMap "Bad_Name" is invalid`.
    assert_has(&err, "ConfigMap \"Bad_Name\" is invalid");
    assert_has(&err, "metadata.name: Invalid value: \"Bad_Name\"");
    let err = c.kubectl_err(&["create", "configmap", "x", "-n", "no-such-namespace"]);
    assert_has(&err, "namespaces \"no-such-namespace\" not found");
    assert_not_found(c, "configmaps", "nope");
    let err = c.kubectl_err(&["get", "--raw", "/api/v1/namespaces/default/nothings"]);
    assert_has(&err, "NotFound");
}

/// Objects, uids and resourceVersions survive a kill -9 and restart.
fn restart_keeps_objects(c: &mut KubeCluster) {
    create_app(c);
    c.kubectl_ok(&["create", "secret", "generic", "s", "--from-literal=a=b"]);
    c.kubectl_ok(&["create", "namespace", "kept"]);
    let before = get_json(c, &["deployment", "web"]);
    c.restart();
    let after = get_json(c, &["deployment", "web"]);
    assert_eq!(before["metadata"]["uid"], after["metadata"]["uid"]);
    assert_eq!(before["metadata"]["resourceVersion"], after["metadata"]["resourceVersion"]);
    assert_eq!(before["spec"], after["spec"]);
    assert_eq!(jsonpath(c, "secret", "s", "{.data.a}"), "Yg==");
    assert_eq!(jsonpath(c, "configmap", "web-config", "{.data.k1}"), "v1");
    assert_eq!(jsonpath(c, "namespace", "kept", "{.status.phase}"), "Active");
    let out = c.kubectl_ok(&[
        "create",
        "configmap",
        "after",
        "--from-literal=a=b",
        "-o",
        "jsonpath={.metadata.resourceVersion}",
    ]);
    let rv_new: u64 = out.trim().parse().unwrap_or_else(|e| panic!("rv {out:?}: {e}"));
    let rv_old: u64 = before["metadata"]["resourceVersion"].as_str().unwrap().parse().unwrap();
    assert!(rv_new > rv_old, "resourceVersion went back after restart: {rv_new} <= {rv_old}");
    let out = c.kubectl_ok(&["get", "configmaps", "-o", "name"]);
    assert!(out.lines().any(|l| l == "configmap/after") && out.lines().any(|l| l == "configmap/web-config"), "{out}");
}

/// Debian's kubectl 1.20: older discovery, OpenAPI v2 (protobuf) for validation and explain.
fn kubectl_1_20(c: &mut KubeCluster) {
    let out = c.kubectl120_ok(&["version"]);
    assert_has(&out, "Server Version");
    let out = c.kubectl120_ok(&["api-resources"]);
    let deploy = out.lines().find(|l| l.starts_with("deployments ")).unwrap_or_else(|| panic!("{out}"));
    assert!(deploy.split_whitespace().eq(["deployments", "deploy", "apps/v1", "true", "Deployment"]), "{deploy}");
    let out = c.kubectl120_ok(&["get", "namespaces"]);
    assert_eq!(header(&out), ["NAME", "STATUS", "AGE"], "{out}");
    assert_eq!(row_of(&out, "default")[..2], ["default", "Active"], "{out}");

    let out = c.kubectl120_ok(&["apply", "-f", &testdata_arg("kubectl/apply-v1.yaml")]);
    assert_has(&out, "deployment.apps/applied created");
    assert_has(&out, "configmap/applied created");
    let out = c.kubectl120_ok(&["apply", "-f", &testdata_arg("kubectl/apply-v1.yaml")]);
    assert_has(&out, "deployment.apps/applied unchanged");
    assert_has(&out, "configmap/applied unchanged");
    let out = c.kubectl120_ok(&["apply", "-f", &testdata_arg("kubectl/apply-v2.yaml")]);
    assert_has(&out, "deployment.apps/applied configured");
    assert_eq!(c.kubectl120_ok(&["get", "deployment", "applied", "-o=jsonpath={.spec.replicas}"]).trim(), "3");

    let out = c.kubectl120_ok(&["get", "deployments"]);
    assert_eq!(header(&out), ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], "{out}");
    assert_eq!(row_of(&out, "applied")[..4], ["applied", "0/3", "0", "0"], "{out}");
    let out = c.kubectl120_ok(&["get", "configmap", "applied", "-o", "yaml"]);
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&out).unwrap_or_else(|e| panic!("{e}:\n{out}"));
    assert_eq!(v["data"]["extra"].as_str(), Some("added"), "{out}");
    let out = c.kubectl120_ok(&["describe", "deployment", "applied"]);
    assert_eq!(describe_field(&out, "Name"), Some("applied"), "{out}");
    let out = c.kubectl120_ok(&["explain", "deployment.spec.strategy"]);
    assert_eq!(describe_field(&out, "KIND"), Some("Deployment"), "{out}");
    assert_has(&out, "rollingUpdate");
    assert!(out.lines().any(|l| l.split_whitespace().eq(["type", "<string>"])), "{out}");

    let out = c.kubectl120_ok(&["delete", "-f", &testdata_arg("kubectl/apply-v2.yaml")]);
    assert_has(&out, "deployment.apps \"applied\" deleted");
    assert_has(&out, "configmap \"applied\" deleted");
    let out = c.kubectl120(&["get", "deployment", "applied"]);
    assert!(!out.status.success(), "{}", show(&out));
    assert_has(&String::from_utf8_lossy(&out.stderr), "deployments.apps \"applied\" not found");
}
