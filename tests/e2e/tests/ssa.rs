//! Server-side apply with the real kubectl v1.34 (and kube-rs) against `capstan up`:
//! no-op re-apply, managedFields, conflicts and `--force-conflicts`, Update
//! operations (`kubectl patch`/`label`/`scale`), the client-side → server-side
//! upgrade, `kubectl diff` (a server-side dry run), apply to the status
//! subresource of a custom resource, and kube-rs' `Patch::Apply` recording the
//! same fieldsV1 as kubectl.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use capstan_e2e::kube::{assert_has, assert_lacks, managed_entry, managed_fields, show, testdata_arg, KubeCluster};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::{json, Value};

/// `kubectl get ARGS -o json --show-managed-fields` (kubectl hides managedFields otherwise).
#[track_caller]
fn get_json(c: &KubeCluster, args: &[&str]) -> Value {
    let mut a = args.to_vec();
    a.push("--show-managed-fields");
    capstan_e2e::kube::get_json(c, &a)
}

fn rv(obj: &Value) -> String {
    obj["metadata"]["resourceVersion"].as_str().unwrap_or_default().to_string()
}

/// The managedFields of `obj`, pretty-printed for failure messages.
fn mf(obj: &Value) -> String {
    serde_json::to_string_pretty(&managed_fields(obj)).unwrap_or_default()
}

#[track_caller]
fn entry(obj: &Value, manager: &str, operation: &str, subresource: Option<&str>) -> Value {
    managed_entry(obj, manager, operation, subresource).unwrap_or_else(|| {
        panic!(
            "no managedFields entry manager={manager} operation={operation} subresource={subresource:?}:\n{}",
            mf(obj)
        )
    })
}

/// Whether a managedFields entry's fieldsV1 contains `path` (e.g. `["f:spec", "f:replicas"]`).
fn owns(entry: &Value, path: &[&str]) -> bool {
    let mut v = &entry["fieldsV1"];
    for p in path {
        v = &v[*p];
        if v.is_null() {
            return false;
        }
    }
    true
}

#[track_caller]
fn assert_owns(obj: &Value, manager: &str, operation: &str, subresource: Option<&str>, path: &[&str]) {
    let e = entry(obj, manager, operation, subresource);
    assert!(owns(&e, path), "{manager}/{operation} should own {path:?}; managedFields:\n{}", mf(obj));
}

#[track_caller]
fn assert_not_owns(obj: &Value, manager: &str, operation: &str, subresource: Option<&str>, path: &[&str]) {
    let e = entry(obj, manager, operation, subresource);
    assert!(!owns(&e, path), "{manager}/{operation} should NOT own {path:?}; managedFields:\n{}", mf(obj));
}

/// `kubectl apply -f <crd file>` and `kubectl wait` for Established.
fn establish(c: &KubeCluster, file: &str, crd: &str) {
    c.kubectl_ok(&["apply", "-f", &testdata_arg(file)]);
    let out = c.kubectl_ok(&["wait", "--for=condition=Established", &format!("crd/{crd}"), "--timeout=20s"]);
    assert_has(&out, "condition met");
}

// ---------------------------------------------------------------------------

/// Applying the same file twice is a no-op (same resourceVersion, same managedFields);
/// the one `kubectl`/`Apply` entry owns what the file sets and nothing the server
/// defaulted; dropping a field from the file removes it from the object.
#[test]
fn apply_twice_is_a_no_op() {
    let c = KubeCluster::start_up();
    let web = testdata_arg("ssa/web.yaml");
    let out = c.kubectl_ok(&["apply", "--server-side", "-f", &web]);
    assert_has(&out, "deployment.apps/ssa-web serverside-applied");
    let first = get_json(&c, &["deployment", "ssa-web"]);
    assert_eq!(first["spec"]["replicas"], 2, "{first:#}");
    assert_eq!(first["metadata"]["generation"], 1, "{first:#}");
    // Server defaults are still applied on the SSA create path.
    assert_eq!(first["spec"]["strategy"]["type"], "RollingUpdate", "{first:#}");

    let entries = managed_fields(&first);
    assert_eq!(entries.len(), 1, "exactly one manager after one apply:\n{}", mf(&first));
    let e = entry(&first, "kubectl", "Apply", None);
    assert_eq!(e["apiVersion"], "apps/v1", "{e:#}");
    assert_eq!(e["fieldsType"], "FieldsV1", "{e:#}");
    assert!(e["time"].as_str().is_some_and(|t| t.ends_with('Z')), "time: {e:#}");
    for p in [
        &["f:spec", "f:replicas"][..],
        &["f:spec", "f:selector"],
        &["f:metadata", "f:labels", "f:app"],
        &["f:metadata", "f:labels", "f:tier"],
        &["f:spec", "f:template", "f:spec", "f:containers", r#"k:{"name":"nginx"}"#, "f:image"],
        &[
            "f:spec",
            "f:template",
            "f:spec",
            "f:containers",
            r#"k:{"name":"nginx"}"#,
            "f:ports",
            r#"k:{"containerPort":80,"protocol":"TCP"}"#,
        ],
    ] {
        assert!(owns(&e, p), "kubectl should own {p:?}:\n{}", mf(&first));
    }
    for p in
        [&["f:spec", "f:strategy"][..], &["f:spec", "f:revisionHistoryLimit"], &["f:status"], &["f:metadata", "f:name"]]
    {
        assert!(!owns(&e, p), "kubectl should not own {p:?} (not in the file):\n{}", mf(&first));
    }

    // The second apply changes nothing: no write, no new resourceVersion, same managedFields (and times).
    let out = c.kubectl_ok(&["apply", "--server-side", "-f", &web]);
    assert_has(&out, "deployment.apps/ssa-web serverside-applied");
    let second = get_json(&c, &["deployment", "ssa-web"]);
    assert_eq!(rv(&second), rv(&first), "a no-op apply must not write:\n{}", mf(&second));
    assert_eq!(second["metadata"]["generation"], 1);
    assert_eq!(managed_fields(&second), managed_fields(&first), "managedFields changed on a no-op apply");

    // A server-side dry run of a change reports it but stores nothing.
    let out = c.kubectl_ok(&["apply", "--server-side", "--dry-run=server", "-f", &testdata_arg("ssa/web-v2.yaml")]);
    assert_has(&out, "deployment.apps/ssa-web serverside-applied (server dry run)");
    assert_eq!(rv(&get_json(&c, &["deployment", "ssa-web"])), rv(&first), "dry run wrote");

    // v2 drops the `tier` label (only `kubectl` owned it: removed) and changes the image.
    let out = c.kubectl_ok(&["apply", "--server-side", "-f", &testdata_arg("ssa/web-v2.yaml")]);
    assert_has(&out, "deployment.apps/ssa-web serverside-applied");
    let third = get_json(&c, &["deployment", "ssa-web"]);
    assert_ne!(rv(&third), rv(&first));
    assert_eq!(third["metadata"]["generation"], 2, "{third:#}");
    assert_eq!(third["metadata"]["labels"], json!({"app": "ssa-web"}), "the dropped label must be removed");
    assert_eq!(third["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.28");
    assert_eq!(third["spec"]["replicas"], 2);
    assert_not_owns(&third, "kubectl", "Apply", None, &["f:metadata", "f:labels", "f:tier"]);
    assert_eq!(managed_fields(&third).len(), 1, "{}", mf(&third));
}

/// A second manager changing a field kubectl owns gets a 409 naming kubectl;
/// `--force-conflicts` moves the field to it; then kubectl conflicts with it;
/// a third manager applying the *same* value co-owns the field without conflict.
#[test]
fn conflicts_and_force() {
    let c = KubeCluster::start_up();
    let web = testdata_arg("ssa/web.yaml");
    let five = testdata_arg("ssa/web-replicas-5.yaml");
    c.kubectl_ok(&["apply", "--server-side", "-f", &web]);
    let before = get_json(&c, &["deployment", "ssa-web"]);

    let out = c.kubectl(&["apply", "--server-side", "--field-manager=team-b", "-f", &five, "-v=6"]);
    assert!(!out.status.success(), "a conflicting apply must fail:\n{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_has(&err, "409 Conflict");
    assert_has(&err, "error: Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas");
    assert_has(&err, "--force-conflicts"); // kubectl's advice, printed for a 409 from an apply
    let after = get_json(&c, &["deployment", "ssa-web"]);
    assert_eq!(after["spec"]["replicas"], 2);
    assert_eq!(rv(&after), rv(&before), "a rejected apply must not write");
    assert!(managed_entry(&after, "team-b", "Apply", None).is_none(), "{}", mf(&after));

    let out = c.kubectl_ok(&["apply", "--server-side", "--field-manager=team-b", "--force-conflicts", "-f", &five]);
    assert_has(&out, "deployment.apps/ssa-web serverside-applied");
    let forced = get_json(&c, &["deployment", "ssa-web"]);
    assert_eq!(forced["spec"]["replicas"], 5);
    assert_eq!(forced["metadata"]["generation"], 2);
    // The field moved: team-b owns it, kubectl no longer does but keeps the rest.
    assert_owns(&forced, "team-b", "Apply", None, &["f:spec", "f:replicas"]);
    assert_not_owns(&forced, "kubectl", "Apply", None, &["f:spec", "f:replicas"]);
    assert_owns(&forced, "kubectl", "Apply", None, &["f:spec", "f:selector"]);
    assert_owns(&forced, "kubectl", "Apply", None, &["f:spec", "f:template"]);
    let b = entry(&forced, "team-b", "Apply", None);
    assert!(!owns(&b, &["f:spec", "f:template"]), "team-b applied only replicas:\n{}", mf(&forced));

    // Now kubectl's own file conflicts, naming team-b.
    let err = c.kubectl_err(&["apply", "--server-side", "-f", &web]);
    assert_has(&err, "Apply failed with 1 conflict: conflict with \"team-b\": .spec.replicas");
    assert_eq!(get_json(&c, &["deployment", "ssa-web"])["spec"]["replicas"], 5);

    // Applying the value the field already has is no conflict: team-c co-owns it.
    let out = c.kubectl_ok(&["apply", "--server-side", "--field-manager=team-c", "-f", &five]);
    assert_has(&out, "deployment.apps/ssa-web serverside-applied");
    let shared = get_json(&c, &["deployment", "ssa-web"]);
    assert_owns(&shared, "team-b", "Apply", None, &["f:spec", "f:replicas"]);
    assert_owns(&shared, "team-c", "Apply", None, &["f:spec", "f:replicas"]);
}

/// Non-apply writes are recorded as `Update` entries under kubectl's per-command
/// managers; `kubectl scale` records an Update on the `scale` subresource that
/// takes `.spec.replicas` from the applier; client-side apply then server-side
/// apply of the same file succeeds without a conflict.
#[test]
fn update_operations_and_client_side_upgrade() {
    let c = KubeCluster::start_up();

    c.kubectl_ok(&["create", "configmap", "upd", "--from-literal=a=1"]);
    let cm = get_json(&c, &["configmap", "upd"]);
    let e = entry(&cm, "kubectl-create", "Update", None);
    assert_eq!(e["apiVersion"], "v1", "{e:#}");
    assert!(owns(&e, &["f:data", "f:a"]), "{}", mf(&cm));

    let out = c.kubectl_ok(&["patch", "configmap", "upd", "--type=merge", "-p", r#"{"data":{"b":"2"}}"#]);
    assert_has(&out, "configmap/upd patched");
    let cm = get_json(&c, &["configmap", "upd"]);
    assert_owns(&cm, "kubectl-patch", "Update", None, &["f:data", "f:b"]);
    assert_not_owns(&cm, "kubectl-patch", "Update", None, &["f:data", "f:a"]);
    assert_owns(&cm, "kubectl-create", "Update", None, &["f:data", "f:a"]);

    c.kubectl_ok(&["label", "configmap", "upd", "team=x"]);
    let cm = get_json(&c, &["configmap", "upd"]);
    assert_owns(&cm, "kubectl-label", "Update", None, &["f:metadata", "f:labels", "f:team"]);

    // Updates of a field take it over: kubectl-patch now owns `a` too.
    c.kubectl_ok(&["patch", "configmap", "upd", "--type=merge", "-p", r#"{"data":{"a":"changed"}}"#]);
    let cm = get_json(&c, &["configmap", "upd"]);
    assert_owns(&cm, "kubectl-patch", "Update", None, &["f:data", "f:a"]);
    assert!(
        managed_entry(&cm, "kubectl-create", "Update", None).is_none_or(|e| !owns(&e, &["f:data", "f:a"])),
        "kubectl-create must lose `a`:\n{}",
        mf(&cm)
    );

    // kubectl scale writes the scale subresource (manager from its user agent: `kubectl`).
    c.kubectl_ok(&["apply", "--server-side", "-f", &testdata_arg("ssa/web.yaml")]);
    let out = c.kubectl_ok(&["scale", "deployment", "ssa-web", "--replicas=4"]);
    assert_has(&out, "deployment.apps/ssa-web scaled");
    let d = get_json(&c, &["deployment", "ssa-web"]);
    assert_eq!(d["spec"]["replicas"], 4);
    let s = entry(&d, "kubectl", "Update", Some("scale"));
    assert_eq!(s["apiVersion"], "apps/v1", "{s:#}");
    assert!(owns(&s, &["f:spec", "f:replicas"]), "{}", mf(&d));
    assert_not_owns(&d, "kubectl", "Apply", None, &["f:spec", "f:replicas"]);
    let err = c.kubectl_err(&["apply", "--server-side", "-f", &testdata_arg("ssa/web.yaml")]);
    assert_has(
        &err,
        "Apply failed with 1 conflict: conflict with \"kubectl\" with subresource \"scale\" using apps/v1: .spec.replicas",
    );

    // Client-side apply, then server-side apply of the same file: no conflict
    // (same values), kubectl becomes an Apply manager of the file's fields.
    let csa = testdata_arg("ssa/csa.yaml");
    assert_has(&c.kubectl_ok(&["apply", "-f", &csa]), "deployment.apps/csa-web created");
    let d = get_json(&c, &["deployment", "csa-web"]);
    assert_owns(&d, "kubectl-client-side-apply", "Update", None, &["f:spec", "f:replicas"]);
    assert_owns(
        &d,
        "kubectl-client-side-apply",
        "Update",
        None,
        &["f:metadata", "f:annotations", "f:kubectl.kubernetes.io/last-applied-configuration"],
    );
    let out = c.kubectl(&["apply", "--server-side", "-f", &csa]);
    assert!(out.status.success(), "client-side → server-side apply of the same file:\n{}", show(&out));
    assert_has(&String::from_utf8_lossy(&out.stdout), "deployment.apps/csa-web serverside-applied");
    assert_lacks(&String::from_utf8_lossy(&out.stderr), "conflict");
    let d = get_json(&c, &["deployment", "csa-web"]);
    assert_eq!(d["spec"]["replicas"], 2);
    assert_owns(&d, "kubectl", "Apply", None, &["f:spec", "f:replicas"]);
    assert_owns(&d, "kubectl", "Apply", None, &["f:spec", "f:template", "f:spec", "f:containers"]);
}

/// The `-`/`+` lines of a unified diff (without the `---`/`+++` file headers).
fn changed_lines(diff: &str) -> Vec<String> {
    diff.lines()
        .filter(|l| (l.starts_with('-') && !l.starts_with("---")) || (l.starts_with('+') && !l.starts_with("+++")))
        .map(str::to_string)
        .collect()
}

/// `kubectl diff` (server-side dry run, with and without `--server-side`): exit 0
/// and no output when nothing changes, exit 1 with the changed line otherwise, and
/// nothing is persisted either way.
#[test]
fn diff_is_a_dry_run() {
    let c = KubeCluster::start_up();
    let v1 = testdata_arg("ssa/diff-v1.yaml");
    let v2 = testdata_arg("ssa/diff-v2.yaml");

    // Server-side flavour, against an object created by server-side apply.
    c.kubectl_ok(&["apply", "--server-side", "-f", &v1]);
    let before = get_json(&c, &["configmap", "diffme"]);
    let out = c.kubectl(&["diff", "--server-side", "-f", &v1]);
    assert_eq!(out.status.code(), Some(0), "no change: exit 0\n{}", show(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "", "{}", show(&out));
    let out = c.kubectl(&["diff", "--server-side", "-f", &v2]);
    assert_eq!(out.status.code(), Some(1), "a change: exit 1\n{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(changed_lines(&stdout), ["-  mode: one", "+  mode: two"], "diff:\n{stdout}");
    let after = get_json(&c, &["configmap", "diffme"]);
    assert_eq!(after["data"]["mode"], "one", "kubectl diff must not persist");
    assert_eq!(rv(&after), rv(&before), "kubectl diff must not write");
    assert_eq!(managed_fields(&after), managed_fields(&before));

    // Default flavour (client-computed patch, sent as a server dry run), against client-side apply.
    c.kubectl_ok(&["create", "namespace", "csa-diff"]);
    c.kubectl_ok(&["apply", "-n", "csa-diff", "-f", &v1]);
    let before = get_json(&c, &["configmap", "diffme", "-n", "csa-diff"]);
    let out = c.kubectl(&["diff", "-n", "csa-diff", "-f", &v1]);
    assert_eq!(out.status.code(), Some(0), "no change: exit 0\n{}", show(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "", "{}", show(&out));
    let out = c.kubectl(&["diff", "-n", "csa-diff", "-f", &v2]);
    assert_eq!(out.status.code(), Some(1), "a change: exit 1\n{}", show(&out));
    let lines = changed_lines(&String::from_utf8_lossy(&out.stdout));
    // The last-applied annotation changes too, so only require the data lines.
    assert!(lines.iter().any(|l| l == "-  mode: one"), "{lines:#?}");
    assert!(lines.iter().any(|l| l == "+  mode: two"), "{lines:#?}");
    assert!(!lines.iter().any(|l| l.contains("keep: same")), "{lines:#?}");
    let after = get_json(&c, &["configmap", "diffme", "-n", "csa-diff"]);
    assert_eq!(after["data"]["mode"], "one", "kubectl diff must not persist");
    assert_eq!(rv(&after), rv(&before), "kubectl diff must not write");

    // A diff of an object that does not exist yet: exit 1, all `+`, nothing created.
    let out = c.kubectl(&["diff", "--server-side", "-n", "csa-diff", "-f", &testdata_arg("ssa/web.yaml")]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(changed_lines(&stdout).iter().all(|l| l.starts_with('+')), "{stdout}");
    assert_has(&stdout, "+  replicas: 2");
    let err = c.kubectl_err(&["get", "deployment", "ssa-web", "-n", "csa-diff"]);
    assert_has(&err, "not found");
}

/// `kubectl apply --server-side --subresource=status` of a custom resource changes
/// status only, under its own managedFields entry (subresource `status`).
#[test]
fn status_subresource_apply() {
    let c = KubeCluster::start_up();
    establish(&c, "crd/widgets.yaml", "widgets.e2e.capstan.io");
    let out = c.kubectl_ok(&["apply", "--server-side", "-f", &testdata_arg("crd/widget.yaml")]);
    assert_has(&out, "widget.e2e.capstan.io/w1 serverside-applied");
    let before = get_json(&c, &["widget", "w1"]);
    assert!(before["status"].is_null() || before["status"]["phase"].is_null(), "{before:#}");

    let status = testdata_arg("ssa/widget-status.yaml");
    let out = c.kubectl_ok(&["apply", "--server-side", "--subresource=status", "-f", &status]);
    assert_has(&out, "widget.e2e.capstan.io/w1 serverside-applied");
    let after = get_json(&c, &["widget", "w1"]);
    assert_eq!(after["status"]["phase"], "Ready", "{after:#}");
    assert_eq!(after["status"]["replicas"], 3, "{after:#}");
    assert_eq!(after["spec"], before["spec"], "a status apply must not change spec");
    assert_eq!(after["metadata"]["labels"], before["metadata"]["labels"], "nor labels");
    assert_eq!(after["metadata"]["generation"], before["metadata"]["generation"], "nor bump generation");
    assert_ne!(rv(&after), rv(&before));
    assert_owns(&after, "kubectl", "Apply", Some("status"), &["f:status", "f:phase"]);
    assert_not_owns(&after, "kubectl", "Apply", None, &["f:status"]);
    // The main-resource entry is untouched by the status apply.
    assert_eq!(
        managed_entry(&after, "kubectl", "Apply", None).map(|e| e["fieldsV1"].clone()),
        managed_entry(&before, "kubectl", "Apply", None).map(|e| e["fieldsV1"].clone())
    );

    // Applying the same status again is a no-op.
    c.kubectl_ok(&["apply", "--server-side", "--subresource=status", "-f", &status]);
    assert_eq!(rv(&get_json(&c, &["widget", "w1"])), rv(&after), "no-op status apply wrote");

    // The main resource ignores status: applying the spec again keeps it.
    c.kubectl_ok(&["apply", "--server-side", "-f", &testdata_arg("crd/widget.yaml")]);
    assert_eq!(get_json(&c, &["widget", "w1"])["status"]["phase"], "Ready");
}

/// kube-rs `Patch::Apply` (`PatchParams::apply("e2e-manager")`) and
/// `kubectl apply --server-side --field-manager=e2e-manager` of the same content
/// under two names record the same fieldsV1 (a custom resource and a ConfigMap).
#[test]
fn kube_rs_apply_matches_kubectl() {
    let c = KubeCluster::start_up();
    establish(&c, "crd/widgets.yaml", "widgets.e2e.capstan.io");
    let file = testdata_arg("ssa/same-content.yaml");
    let out = c.kubectl_ok(&["apply", "--server-side", "--field-manager=e2e-manager", "-f", &file]);
    assert_has(&out, "widget.e2e.capstan.io/same-kubectl serverside-applied");
    assert_has(&out, "configmap/same-kubectl serverside-applied");

    let text = std::fs::read_to_string(&file).unwrap();
    let docs: Vec<Value> = text
        .split("\n---\n")
        .map(|d| serde_yaml_ng::from_str(d).unwrap_or_else(|e| panic!("same-content.yaml: {e}")))
        .collect();
    assert_eq!(docs.len(), 2);
    let widget = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("e2e.capstan.io", "v1", "Widget"), "widgets");
    let configmap = ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "ConfigMap"), "configmaps");

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let returned: Vec<DynamicObject> = rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(60), async {
            let client = c.client().await.expect("kube client");
            let mut returned = Vec::new();
            for (doc, ar) in docs.iter().zip([&widget, &configmap]) {
                let mut body = doc.clone();
                body["metadata"]["name"] = json!("same-kube-rs");
                let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", ar);
                let obj = api
                    .patch("same-kube-rs", &PatchParams::apply("e2e-manager"), &Patch::Apply(&body))
                    .await
                    .unwrap_or_else(|e| panic!("kube-rs apply of {}: {e}", ar.kind));
                returned.push(obj);
            }
            returned
        })
        .await
        .expect("kube-rs timed out")
    });

    for (kind, ret) in [("widget", &returned[0]), ("configmap", &returned[1])] {
        let by_kubectl = get_json(&c, &[kind, "same-kubectl"]);
        let by_kube_rs = get_json(&c, &[kind, "same-kube-rs"]);
        let a = entry(&by_kubectl, "e2e-manager", "Apply", None);
        let b = entry(&by_kube_rs, "e2e-manager", "Apply", None);
        assert_eq!(a["apiVersion"], b["apiVersion"], "{kind}");
        assert_eq!(a["fieldsType"], "FieldsV1");
        assert_eq!(
            a["fieldsV1"],
            b["fieldsV1"],
            "{kind}: fieldsV1 differ\nkubectl:\n{}\nkube-rs:\n{}",
            serde_json::to_string_pretty(&a["fieldsV1"]).unwrap(),
            serde_json::to_string_pretty(&b["fieldsV1"]).unwrap()
        );
        assert_eq!(managed_fields(&by_kubectl).len(), 1, "{kind}: {}", mf(&by_kubectl));
        assert_eq!(managed_fields(&by_kube_rs).len(), 1, "{kind}: {}", mf(&by_kube_rs));
        assert_eq!(by_kubectl["spec"], by_kube_rs["spec"], "{kind}");
        assert_eq!(by_kubectl["data"], by_kube_rs["data"], "{kind}");
        // What the PATCH returned to kube-rs carries the same fieldsV1 as a later GET.
        let ret = serde_json::to_value(ret).unwrap();
        assert_eq!(
            entry(&ret, "e2e-manager", "Apply", None)["fieldsV1"],
            b["fieldsV1"],
            "{kind}: PATCH response vs GET"
        );
    }
    let w = get_json(&c, &["widget", "same-kube-rs"]);
    assert!(
        owns(&entry(&w, "e2e-manager", "Apply", None), &["f:spec", "f:config", "f:nested", "f:depth"]),
        "{}",
        mf(&w)
    );
}
