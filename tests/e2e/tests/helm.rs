//! Helm 4 (`.tools/bin/helm`) against `capstan up`: install (server-side apply,
//! Helm 4's default) of `testdata/helm/demo` — a CRD in `crds/`, a custom resource,
//! a Deployment, a Service, a ConfigMap, a Secret and two ConfigMap hooks — then
//! upgrade, rollback and uninstall, each checked with kubectl; and `helm template`
//! piped into `kubectl apply --server-side`.
//!
//! No `--wait` anywhere: there are no controllers yet, so a Deployment never
//! becomes ready (and a Job hook would never complete, hence ConfigMap hooks).
//! Helm 4's default wait strategy (`hookOnly`) only waits for hooks, and a
//! ConfigMap hook is ready as soon as it exists.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use capstan_e2e::kube::{assert_has, assert_lacks, managed_entry, poll_until, show, starts, testdata, KubeCluster};
use serde_json::{json, Value};

const NS: &str = "demo-ns";
const SHORT: Duration = Duration::from_secs(30);
const GREETINGS: &str = "greetings.demo.e2e.capstan.io";

fn chart() -> String {
    testdata("helm/demo").to_string_lossy().into_owned()
}

/// `kubectl get KIND NAME -n NS -o json --show-managed-fields`.
#[track_caller]
fn get(c: &KubeCluster, kind: &str, name: &str) -> Value {
    let out = c.kubectl_ok(&["get", kind, name, "-n", NS, "-o", "json", "--show-managed-fields"]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("kubectl get {kind} {name} printed no JSON ({e}):\n{out}"))
}

/// `helm ARGS -o json`, parsed.
#[track_caller]
fn helm_json(c: &KubeCluster, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.extend_from_slice(&["-o", "json"]);
    let out = c.helm_ok(&a);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("helm {a:?} printed no JSON ({e}):\n{out}"))
}

/// Polls until `kubectl get KIND NAME -n NS` answers NotFound.
#[track_caller]
fn wait_gone(c: &KubeCluster, kind: &str, name: &str) {
    poll_until(SHORT, &format!("{kind}/{name} deleted"), || {
        let out = c.kubectl(&["get", kind, name, "-n", NS]);
        let err = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() && err.contains("not found") {
            Ok(())
        } else {
            Err(show(&out))
        }
    });
}

#[track_caller]
fn assert_not_found(c: &KubeCluster, kind: &str, name: &str) {
    let err = c.kubectl_err(&["get", kind, name, "-n", NS]);
    assert_has(&err, "not found");
}

fn rv(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"].as_str().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{obj:#}"))
}

/// Labels of Helm's release Secret `sh.helm.release.v1.demo.v{version}`.
#[track_caller]
fn release_secret(c: &KubeCluster, version: u32) -> Value {
    let s = get(c, "secret", &format!("sh.helm.release.v1.demo.v{version}"));
    assert_eq!(s["type"], "helm.sh/release.v1", "{s:#}");
    assert!(s["data"]["release"].as_str().is_some_and(|r| !r.is_empty()), "release payload: {s:#}");
    s["metadata"]["labels"].clone()
}

/// `helm history` as (revision, status, description).
#[track_caller]
fn history(c: &KubeCluster) -> Vec<(u64, String, String)> {
    let h = helm_json(c, &["history", "demo", "-n", NS]);
    h.as_array()
        .unwrap_or_else(|| panic!("{h:#}"))
        .iter()
        .map(|r| {
            assert_eq!(r["chart"], "demo-0.1.0", "{r:#}");
            assert_eq!(r["app_version"], "1.0.0", "{r:#}");
            (
                r["revision"].as_u64().unwrap(),
                r["status"].as_str().unwrap().to_string(),
                r["description"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The `last_run.phase` of hook `name` in `helm status -o json`.
#[track_caller]
fn hook_phase(c: &KubeCluster, name: &str) -> String {
    let st = helm_json(c, &["status", "demo", "-n", NS]);
    let hooks = st["hooks"].as_array().unwrap_or_else(|| panic!("no hooks in helm status:\n{st:#}"));
    let h = hooks.iter().find(|h| h["name"] == name).unwrap_or_else(|| panic!("no hook {name}:\n{st:#}"));
    h["last_run"]["phase"].as_str().unwrap_or_default().to_string()
}

/// Checks the release's objects against `replicas` and `message`.
#[track_caller]
fn assert_release_objects(c: &KubeCluster, replicas: u64, message: &str) {
    let d = get(c, "deployment", "demo-web");
    assert_eq!(d["spec"]["replicas"], replicas, "deployment replicas");
    let cm = get(c, "configmap", "demo-config");
    assert_eq!(cm["data"], json!({"message": message, "replicas": replicas.to_string()}), "{cm:#}");
    let g = get(c, "greeting", "demo-greeting");
    assert_eq!(g["spec"], json!({"message": message, "replicas": replicas}), "{g:#}");
}

// ---------------------------------------------------------------------------

/// install → upgrade → rollback → uninstall, with kubectl checking every step.
#[test]
fn helm_release_lifecycle() {
    let c = KubeCluster::start_up();
    let chart = chart();

    // --- install (revision 1) ---
    let out = c.helm_ok(&["install", "demo", &chart, "-n", NS, "--create-namespace"]);
    assert_has(&out, "NAME: demo");
    assert_has(&out, &format!("NAMESPACE: {NS}"));
    assert_has(&out, "STATUS: deployed");
    assert_has(&out, "REVISION: 1");

    let ns = c.kubectl_ok(&["get", "namespace", NS, "-o=jsonpath={.status.phase}"]);
    assert_eq!(ns.trim(), "Active");
    let out =
        c.kubectl_ok(&["get", "crd", GREETINGS, "-o=jsonpath={.status.conditions[?(@.type==\"Established\")].status}"]);
    assert_eq!(out.trim(), "True", "the chart's CRD (crds/) must be established");

    let d = get(&c, "deployment", "demo-web");
    assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27", "{d:#}");
    assert_eq!(d["metadata"]["labels"]["app.kubernetes.io/managed-by"], "Helm", "{d:#}");
    assert_eq!(d["metadata"]["annotations"]["meta.helm.sh/release-name"], "demo", "{d:#}");
    assert_eq!(d["metadata"]["annotations"]["meta.helm.sh/release-namespace"], NS, "{d:#}");
    // Helm 4 installs with server-side apply; its field manager is its binary's name.
    let e = managed_entry(&d, "helm", "Apply", None).unwrap_or_else(|| panic!("no helm/Apply entry: {d:#}"));
    assert!(!e["fieldsV1"]["f:spec"]["f:replicas"].is_null(), "helm must own spec.replicas: {e:#}");
    assert_release_objects(&c, 1, "hello");
    let svc = get(&c, "service", "demo-web");
    assert_eq!(svc["spec"]["ports"][0]["port"], 80, "{svc:#}");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], "http", "{svc:#}");
    assert!(svc["spec"]["clusterIP"].as_str().is_some_and(|ip| !ip.is_empty()), "{svc:#}");
    let secret = get(&c, "secret", "demo-secret");
    assert_eq!(secret["type"], "Opaque");
    assert_eq!(secret["data"], json!({"password": "czNjcmV0"}), "base64 of s3cret: {secret:#}");
    let out = c.kubectl_ok(&["get", "greetings", "-n", NS]);
    assert!(out.lines().any(|l| l.split_whitespace().eq(["demo-greeting", "hello"])), "printer column:\n{out}");

    // The pre-install hook ran (before the release's objects) and, per
    // before-hook-creation, is still there.
    let hook = get(&c, "configmap", "demo-pre-install");
    assert_eq!(hook["data"], json!({"phase": "pre-install", "message": "hello", "revision": "1"}), "{hook:#}");
    assert_eq!(hook["metadata"]["annotations"]["helm.sh/hook"], "pre-install");
    assert!(rv(&hook) < rv(&d), "the pre-install hook must be created before the Deployment");
    assert_eq!(hook_phase(&c, "demo-pre-install"), "Succeeded");
    assert_not_found(&c, "configmap", "demo-post-upgrade");

    // The release record: Secret sh.helm.release.v1.demo.v1, owner=helm.
    let labels = release_secret(&c, 1);
    for (k, v) in [("owner", "helm"), ("name", "demo"), ("status", "deployed"), ("version", "1")] {
        assert_eq!(labels[k], v, "release secret label {k}: {labels:#}");
    }
    let out = c.kubectl_ok(&["get", "secrets", "-n", NS, "-l", "owner=helm,name=demo", "-o", "name"]);
    assert_eq!(out.trim(), "secret/sh.helm.release.v1.demo.v1", "{out}");

    let list = helm_json(&c, &["list", "-n", NS]);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list:#}");
    assert_eq!(list[0]["name"], "demo");
    assert_eq!(list[0]["namespace"], NS);
    assert_eq!(list[0]["revision"], "1");
    assert_eq!(list[0]["status"], "deployed");
    assert_eq!(list[0]["chart"], "demo-0.1.0");
    assert_eq!(list[0]["app_version"], "1.0.0");
    let table = c.helm_ok(&["list", "-n", NS]);
    let row = table.lines().find(|l| l.starts_with("demo")).unwrap_or_else(|| panic!("{table}"));
    assert_has(row, "deployed");
    assert_has(row, "demo-0.1.0");
    assert_eq!(history(&c), [(1, "deployed".into(), "Install complete".into())]);
    let manifest = c.helm_ok(&["get", "manifest", "demo", "-n", NS]);
    for k in
        ["kind: Deployment", "kind: Service", "kind: ConfigMap", "kind: Secret", "kind: Greeting", "name: demo-web"]
    {
        assert_has(&manifest, k);
    }
    assert_lacks(&manifest, "demo-pre-install"); // hooks are not part of the manifest
    assert_lacks(&manifest, "kind: CustomResourceDefinition"); // nor are crds/
    let st = helm_json(&c, &["status", "demo", "-n", NS]);
    assert_eq!(st["info"]["status"], "deployed", "{st:#}");
    assert_eq!(st["version"], 1, "{st:#}");
    assert_eq!(st["apply_method"], "ssa", "Helm 4 records server-side apply: {st:#}");
    assert_has(&c.helm_ok(&["status", "demo", "-n", NS]), "STATUS: deployed");

    // --- upgrade (revision 2) ---
    let mut cms = c.kubectl_spawn(&["get", "configmaps", "-n", NS, "-w", "--output-watch-events"]);
    cms.wait_line(SHORT, starts(&["ADDED", "demo-config"]));
    let out = c.helm_ok(&["upgrade", "demo", &chart, "-n", NS, "--set", "replicaCount=3", "--set", "message=upgraded"]);
    assert_has(&out, "Release \"demo\" has been upgraded. Happy Helming!");
    assert_has(&out, "REVISION: 2");
    assert_release_objects(&c, 3, "upgraded");
    let d = get(&c, "deployment", "demo-web");
    assert_eq!(d["metadata"]["generation"], 2, "{d:#}");
    assert!(managed_entry(&d, "helm", "Apply", None).is_some(), "upgrade keeps server-side apply: {d:#}");
    // The post-upgrade hook was created, then deleted once ready (hook-succeeded).
    cms.wait_line(SHORT, starts(&["ADDED", "demo-post-upgrade"]));
    cms.wait_line(SHORT, starts(&["DELETED", "demo-post-upgrade"]));
    cms.kill();
    assert_not_found(&c, "configmap", "demo-post-upgrade");
    assert_eq!(hook_phase(&c, "demo-post-upgrade"), "Succeeded");
    // The pre-install hook did not run again.
    let hook = get(&c, "configmap", "demo-pre-install");
    assert_eq!(hook["data"]["revision"], "1", "{hook:#}");
    assert_eq!(hook["data"]["message"], "hello", "{hook:#}");

    assert_eq!(release_secret(&c, 1)["status"], "superseded");
    let labels = release_secret(&c, 2);
    assert_eq!(labels["status"], "deployed", "{labels:#}");
    assert_eq!(labels["version"], "2", "{labels:#}");
    assert_eq!(
        history(&c),
        [(1, "superseded".into(), "Install complete".into()), (2, "deployed".into(), "Upgrade complete".into())]
    );
    let values = helm_json(&c, &["get", "values", "demo", "-n", NS]);
    assert_eq!(values, json!({"message": "upgraded", "replicaCount": 3}));

    // --- rollback to 1 (revision 3) ---
    let out = c.helm_ok(&["rollback", "demo", "1", "-n", NS]);
    assert_has(&out, "Rollback was a success! Happy Helming!");
    assert_release_objects(&c, 1, "hello");
    assert_eq!(
        history(&c),
        [
            (1, "superseded".into(), "Install complete".into()),
            (2, "superseded".into(), "Upgrade complete".into()),
            (3, "deployed".into(), "Rollback to 1".into()),
        ]
    );
    let labels = release_secret(&c, 3);
    assert_eq!(labels["status"], "deployed", "{labels:#}");
    let list = helm_json(&c, &["list", "-n", NS]);
    assert_eq!(list[0]["revision"], "3", "{list:#}");
    assert_not_found(&c, "configmap", "demo-post-upgrade"); // a rollback runs no post-upgrade hook

    // --- uninstall ---
    let out = c.helm_ok(&["uninstall", "demo", "-n", NS]);
    assert_has(&out, "release \"demo\" uninstalled");
    for (kind, name) in [
        ("deployment", "demo-web"),
        ("service", "demo-web"),
        ("configmap", "demo-config"),
        ("secret", "demo-secret"),
        ("greeting", "demo-greeting"),
    ] {
        wait_gone(&c, kind, name);
    }
    let out = c.kubectl_ok(&["get", "secrets", "-n", NS, "-l", "owner=helm", "-o", "name"]);
    assert_eq!(out.trim(), "", "release secrets must be gone:\n{out}");
    assert_eq!(helm_json(&c, &["list", "-n", NS]), json!([]));
    assert_has(&c.helm_err(&["history", "demo", "-n", NS]), "not found");
    // Helm never deletes CRDs; the CRD (now without objects) stays.
    c.kubectl_ok(&["get", "crd", GREETINGS]);
    let out = c.kubectl(&["get", "greetings", "-n", NS]);
    assert!(out.status.success(), "{}", show(&out));
    assert_has(&String::from_utf8_lossy(&out.stderr), "No resources found");
    // Hook resources are not part of the release: Helm leaves the pre-install hook.
    c.kubectl_ok(&["get", "configmap", "demo-pre-install", "-n", NS]);
}

/// `helm show crds` and `helm template` piped into `kubectl apply --server-side`
/// (CRDs first: kubectl cannot map a custom resource whose CRD is in the same apply).
#[test]
fn helm_template_piped_to_kubectl() {
    let c = KubeCluster::start_up();
    let chart = chart();
    let crds = c.helm_ok(&["show", "crds", &chart]);
    assert_has(&crds, "kind: CustomResourceDefinition");
    let out = c.kubectl_stdin_ok(&["apply", "--server-side", "-f", "-"], &crds);
    assert_has(&out, &format!("customresourcedefinition.apiextensions.k8s.io/{GREETINGS} serverside-applied"));
    c.kubectl_ok(&["wait", "--for=condition=Established", &format!("crd/{GREETINGS}"), "--timeout=20s"]);

    c.kubectl_ok(&["create", "namespace", "fresh"]);
    let manifest = c.helm_ok(&["template", "demo", &chart, "-n", "fresh", "--set", "replicaCount=2"]);
    let out = c.kubectl_stdin_ok(&["apply", "--server-side", "-n", "fresh", "-f", "-"], &manifest);
    for o in [
        "secret/demo-secret",
        "configmap/demo-config",
        "service/demo-web",
        "deployment.apps/demo-web",
        "greeting.demo.e2e.capstan.io/demo-greeting",
        // helm template renders hooks as plain manifests.
        "configmap/demo-pre-install",
        "configmap/demo-post-upgrade",
    ] {
        assert_has(&out, &format!("{o} serverside-applied"));
    }
    let get = |kind: &str, name: &str| -> Value {
        let out = c.kubectl_ok(&["get", kind, name, "-n", "fresh", "-o", "json", "--show-managed-fields"]);
        serde_json::from_str(&out).unwrap()
    };
    let d = get("deployment", "demo-web");
    assert_eq!(d["spec"]["replicas"], 2, "{d:#}");
    assert!(managed_entry(&d, "kubectl", "Apply", None).is_some(), "{d:#}");
    assert_eq!(get("greeting", "demo-greeting")["spec"], json!({"message": "hello", "replicas": 2}));
    assert_eq!(get("secret", "demo-secret")["data"]["password"], "czNjcmV0");

    // Applying the same rendering again changes nothing.
    let before = rv(&d);
    c.kubectl_stdin_ok(&["apply", "--server-side", "-n", "fresh", "-f", "-"], &manifest);
    assert_eq!(rv(&get("deployment", "demo-web")), before, "re-apply of an unchanged rendering wrote");
    // No release was recorded.
    assert_eq!(helm_json(&c, &["list", "-n", "fresh"]), json!([]));
}
