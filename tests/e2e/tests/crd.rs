//! CustomResourceDefinitions with the real kubectl v1.34: establishing, discovery,
//! CRUD and watch of namespaced and cluster-scoped custom resources, CRD deletion
//! removing its objects (on `capstan up` and on Debian etcd 3.4 + `capstan apiserver`);
//! and on `capstan up`: OpenAPI schema validation (required, enum, pattern,
//! min/max, CEL and transition rules) with kubectl's field paths, defaulting,
//! pruning, `--validate=strict`, `kubectl explain`, printer columns, the status
//! and scale subresources, and reading objects across the two served versions.
//! Test data: `testdata/crd/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use capstan_e2e::kube::{
    assert_has, assert_lacks, describe_field, get_json, header, row_of, show, starts, testdata, testdata_arg,
    KubeCluster,
};
use serde_json::{json, Value};

const WIDGETS: &str = "widgets.e2e.capstan.io";
const GADGETS: &str = "gadgets.e2e.capstan.io";
const SHORT: Duration = Duration::from_secs(30);

#[track_caller]
fn raw_json(c: &KubeCluster, url: &str) -> Value {
    let out = c.kubectl_ok(&["get", "--raw", url]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("GET {url} is not JSON ({e}):\n{out}"))
}

/// The status of condition `type_` of a CRD, e.g. `Established` → `True`.
fn condition(crd: &Value, type_: &str) -> Option<String> {
    crd["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .and_then(|c| c["status"].as_str().map(str::to_string))
}

/// `kubectl wait` for Established, asserting it takes only a few seconds.
#[track_caller]
fn wait_established(c: &KubeCluster, crds: &[&str]) {
    let mut args = vec!["wait".to_string(), "--for=condition=Established".into(), "--timeout=10s".into()];
    args.extend(crds.iter().map(|n| format!("crd/{n}")));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let t = Instant::now();
    let out = c.kubectl_ok(&args);
    for n in crds {
        assert_has(&out, &format!("customresourcedefinition.apiextensions.k8s.io/{n} condition met"));
    }
    assert!(t.elapsed() < Duration::from_secs(10), "establishing took {:?}", t.elapsed());
}

fn create_widgets_crd(c: &KubeCluster) {
    let out = c.kubectl_ok(&["apply", "-f", &testdata_arg("crd/widgets.yaml")]);
    assert_has(&out, &format!("customresourcedefinition.apiextensions.k8s.io/{WIDGETS} created"));
    wait_established(c, &[WIDGETS]);
}

/// The stderr line about object `name` from a multi-document `kubectl create`.
#[track_caller]
fn error_line<'a>(stderr: &'a str, name: &str) -> &'a str {
    let needle = format!("\"{name}\" is invalid");
    stderr.lines().find(|l| l.contains(&needle)).unwrap_or_else(|| panic!("no error for {name} in:\n{stderr}"))
}

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

on_both!(lifecycle: lifecycle_up, lifecycle_etcd34);

// ---------------------------------------------------------------------------

/// Establish two CRDs, discover them, create/get/patch/watch/delete their objects,
/// then delete the namespaced CRD: its objects go with it and a re-created CRD is empty.
fn lifecycle(c: &mut KubeCluster) {
    let out =
        c.kubectl_ok(&["apply", "-f", &testdata_arg("crd/widgets.yaml"), "-f", &testdata_arg("crd/gadgets.yaml")]);
    assert_has(&out, &format!("customresourcedefinition.apiextensions.k8s.io/{WIDGETS} created"));
    assert_has(&out, &format!("customresourcedefinition.apiextensions.k8s.io/{GADGETS} created"));
    wait_established(c, &[WIDGETS, GADGETS]);

    let crd = get_json(c, &["crd", WIDGETS]);
    assert_eq!(condition(&crd, "Established").as_deref(), Some("True"), "{crd:#}");
    assert_eq!(condition(&crd, "NamesAccepted").as_deref(), Some("True"), "{crd:#}");
    assert_eq!(crd["status"]["acceptedNames"]["kind"], "Widget", "{crd:#}");
    assert_eq!(crd["status"]["acceptedNames"]["plural"], "widgets", "{crd:#}");
    assert_eq!(crd["status"]["acceptedNames"]["shortNames"], json!(["wd"]), "{crd:#}");
    assert_eq!(crd["status"]["storedVersions"], json!(["v1"]), "{crd:#}");
    let out = c.kubectl_ok(&["get", "crds"]);
    assert_eq!(header(&out), ["NAME", "CREATED", "AT"], "{out}");
    row_of(&out, WIDGETS);
    row_of(&out, GADGETS);

    // Discovery.
    let out = c.kubectl_ok(&["api-resources", "--api-group=e2e.capstan.io"]);
    assert_eq!(row_of(&out, "widgets"), ["widgets", "wd", "e2e.capstan.io/v1", "true", "Widget"], "{out}");
    assert_eq!(row_of(&out, "gadgets"), ["gadgets", "gd", "e2e.capstan.io/v1", "false", "Gadget"], "{out}");
    let wide = c.kubectl_ok(&["api-resources", "--api-group=e2e.capstan.io", "-o", "wide"]);
    assert_eq!(row_of(&wide, "widgets")[5], "create,delete,deletecollection,get,list,patch,update,watch", "{wide}");
    let versions = c.kubectl_ok(&["api-versions"]);
    for v in ["e2e.capstan.io/v1", "e2e.capstan.io/v1beta1"] {
        assert!(versions.lines().any(|l| l == v), "{v} missing from api-versions:\n{versions}");
    }
    let group = raw_json(c, "/apis/e2e.capstan.io");
    assert_eq!(group["preferredVersion"]["version"], "v1", "{group:#}");
    let list = raw_json(c, "/apis/e2e.capstan.io/v1");
    let names: Vec<&str> = list["resources"].as_array().unwrap().iter().filter_map(|r| r["name"].as_str()).collect();
    for r in ["widgets", "widgets/status", "widgets/scale", "gadgets"] {
        assert!(names.contains(&r), "{r} missing from /apis/e2e.capstan.io/v1: {names:?}");
    }

    // Namespaced CRUD (and a watcher started before the changes).
    let mut watch = c.kubectl_spawn(&["get", "widgets", "-w", "--output-watch-events"]);
    let out = c.kubectl_ok(&["create", "-f", &testdata_arg("crd/widget.yaml")]);
    assert_has(&out, "widget.e2e.capstan.io/w1 created");
    watch.wait_line(SHORT, starts(&["ADDED", "w1", "small", "3"]));
    let w = get_json(c, &["widget", "w1"]);
    assert_eq!(w["apiVersion"], "e2e.capstan.io/v1", "{w:#}");
    assert_eq!(w["kind"], "Widget", "{w:#}");
    assert_eq!(w["metadata"]["namespace"], "default", "{w:#}");
    assert_eq!(w["metadata"]["generation"], 1, "{w:#}");
    assert!(w["metadata"]["uid"].as_str().is_some_and(|u| !u.is_empty()), "{w:#}");
    assert_eq!(w["spec"]["size"], "small", "{w:#}");
    assert_eq!(w["spec"]["replicas"], 3, "{w:#}");
    assert_eq!(c.kubectl_ok(&["get", "wd", "-o", "name"]).trim(), "widget.e2e.capstan.io/w1");
    assert_eq!(c.kubectl_ok(&["get", "widgets", "-l", "app=widgets", "-o", "name"]).trim(), "widget.e2e.capstan.io/w1");
    let err = c.kubectl_err(&["create", "-f", &testdata_arg("crd/widget.yaml")]);
    assert_has(&err, "AlreadyExists");

    let out = c.kubectl_ok(&["patch", "widget", "w1", "--type=merge", "-p", r#"{"spec":{"replicas":4}}"#]);
    assert_has(&out, "widget.e2e.capstan.io/w1 patched");
    watch.wait_line(SHORT, starts(&["MODIFIED", "w1", "small", "4"]));
    let w = get_json(c, &["widget", "w1"]);
    assert_eq!(w["spec"]["replicas"], 4);
    assert_eq!(w["metadata"]["generation"], 2);
    let out = c.kubectl_ok(&["label", "widget", "w1", "stage=two"]);
    assert_has(&out, "widget.e2e.capstan.io/w1 labeled");
    assert_eq!(get_json(c, &["widget", "w1"])["metadata"]["generation"], 2, "metadata changes keep generation");

    let w2 =
        "apiVersion: e2e.capstan.io/v1\nkind: Widget\nmetadata:\n  name: w2\nspec:\n  size: medium\n  replicas: 1\n";
    assert_has(&c.kubectl_stdin_ok(&["create", "-f", "-"], w2), "widget.e2e.capstan.io/w2 created");
    watch.wait_line(SHORT, starts(&["ADDED", "w2", "medium", "1"]));
    let out = c.kubectl_ok(&["get", "widgets"]);
    assert_eq!(row_of(&out, "w2")[..4], ["w2", "medium", "1", "blue"], "{out}");
    assert_has(&c.kubectl_ok(&["delete", "widget", "w2"]), "widget.e2e.capstan.io \"w2\" deleted");
    watch.wait_line(SHORT, starts(&["DELETED", "w2"]));
    let err = c.kubectl_err(&["get", "widget", "w2"]);
    assert_has(&err, "widgets.e2e.capstan.io \"w2\" not found");
    watch.kill();

    // In another namespace, and listed across namespaces.
    c.kubectl_ok(&["create", "namespace", "other"]);
    c.kubectl_ok(&["create", "-n", "other", "-f", &testdata_arg("crd/widget.yaml")]);
    let out = c.kubectl_ok(&["get", "widgets", "-A", "-o", "name"]);
    assert_eq!(out.lines().filter(|l| *l == "widget.e2e.capstan.io/w1").count(), 2, "{out}");
    let list = raw_json(c, "/apis/e2e.capstan.io/v1/widgets");
    assert_eq!(list["kind"], "WidgetList", "{list:#}");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2), "{list:#}");

    // Cluster-scoped.
    assert_has(&c.kubectl_ok(&["create", "-f", &testdata_arg("crd/gadget.yaml")]), "gadget.e2e.capstan.io/g1 created");
    let g = get_json(c, &["gadget", "g1"]);
    assert!(g["metadata"]["namespace"].is_null(), "a cluster-scoped object has no namespace: {g:#}");
    assert_eq!(g["spec"]["settings"]["anything"], "goes", "x-kubernetes-preserve-unknown-fields: {g:#}");
    let out = c.kubectl_ok(&["get", "gadgets"]);
    assert_eq!(header(&out), ["NAME", "OWNER", "AGE"], "{out}");
    assert_eq!(row_of(&out, "g1")[..2], ["g1", "team-a"], "{out}");
    let g = raw_json(c, "/apis/e2e.capstan.io/v1/gadgets/g1");
    assert_eq!(g["metadata"]["name"], "g1", "{g:#}");
    let out = c.kubectl_ok(&["api-resources", "--namespaced=false", "--api-group=e2e.capstan.io", "-o", "name"]);
    assert_eq!(out.trim(), "gadgets.e2e.capstan.io", "{out}");

    // Deleting the CRD deletes its objects (kubectl waits for the CRD to be gone).
    let out = c.kubectl_ok(&["delete", "crd", WIDGETS, "--timeout=60s"]);
    assert_has(&out, &format!("customresourcedefinition.apiextensions.k8s.io \"{WIDGETS}\" deleted"));
    let err = c.kubectl_err(&["get", "crd", WIDGETS]);
    assert_has(&err, "not found");
    // api-resources refreshes kubectl's discovery cache.
    let out = c.kubectl_ok(&["api-resources", "--api-group=e2e.capstan.io", "-o", "name"]);
    assert_eq!(out.trim(), "gadgets.e2e.capstan.io", "widgets must leave discovery:\n{out}");
    let err = c.kubectl_err(&["get", "widgets"]);
    assert_has(&err, "the server doesn't have a resource type \"widgets\"");
    let out = c.kubectl(&["get", "--raw", "/apis/e2e.capstan.io/v1/namespaces/default/widgets"]);
    assert!(!out.status.success(), "widgets still served after the CRD is gone:\n{}", show(&out));
    assert_has(&String::from_utf8_lossy(&out.stderr), "NotFound");
    assert_eq!(get_json(c, &["gadget", "g1"])["spec"]["owner"], "team-a", "gadgets are not affected");

    // Re-created: no old objects come back.
    let out = c.kubectl_ok(&["apply", "-f", &testdata_arg("crd/widgets.yaml")]);
    assert_has(&out, &format!("customresourcedefinition.apiextensions.k8s.io/{WIDGETS} created"));
    wait_established(c, &[WIDGETS]);
    let out = c.kubectl(&["get", "widgets", "-A"]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "", "{}", show(&out));
    assert_has(&String::from_utf8_lossy(&out.stderr), "No resources found");
    let list = raw_json(c, "/apis/e2e.capstan.io/v1/widgets");
    assert_eq!(list["items"], json!([]), "{list:#}");
    assert_has(&c.kubectl_ok(&["create", "-f", &testdata_arg("crd/widget.yaml")]), "widget.e2e.capstan.io/w1 created");
    assert_eq!(get_json(c, &["widget", "w1"])["metadata"]["generation"], 1, "a fresh object, not the old one");
}

/// Schema validation with field paths, CEL and transition rules, defaulting,
/// pruning, `--validate=strict`, and `kubectl explain` from the CRD's schema.
#[test]
fn schema_validation_defaults_and_explain() {
    let c = KubeCluster::start_up();
    create_widgets_crd(&c);

    let out = c.kubectl(&["create", "-f", &testdata_arg("crd/invalid.yaml")]);
    assert!(!out.status.success(), "invalid widgets were accepted:\n{}", show(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (name, needles) in [
        ("bad-max", &["spec.replicas: Invalid value: 200", "should be less than or equal to 100"][..]),
        ("bad-min", &["spec.replicas: Invalid value: -1", "should be greater than or equal to 0"]),
        ("bad-enum", &["spec.size: Unsupported value: \"huge\"", "supported values: \"small\", \"medium\", \"large\""]),
        ("bad-required", &["spec.size: Required value"]),
        ("bad-pattern", &["spec.color: Invalid value: \"Not-Lower\"", "should match '^[a-z]+$'"]),
        ("bad-cel", &["spec: Invalid value: \"object\": minReplicas must not exceed replicas"]),
    ] {
        let line = error_line(&stderr, name);
        assert_has(line, "Error from server (Invalid)");
        assert_has(line, &format!("Widget.e2e.capstan.io \"{name}\" is invalid"));
        for n in needles {
            assert_has(line, n);
        }
    }
    let out = c.kubectl(&["get", "widgets", "-o", "name"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "", "no invalid widget may be stored:\n{}", show(&out));

    // Transition rule: serial may not change; other updates still pass it.
    c.kubectl_ok(&["create", "-f", &testdata_arg("crd/widget.yaml")]);
    let err = c.kubectl_err(&["patch", "widget", "w1", "--type=merge", "-p", r#"{"spec":{"serial":"SN-9999"}}"#]);
    // kubectl patch words it `The Widget "w1" is invalid: <cause>` (from the status details).
    assert_has(&err, "\"w1\" is invalid");
    assert_has(&err, "spec.serial: Invalid value: \"string\": serial is immutable");
    let out = c.kubectl_ok(&["patch", "widget", "w1", "--type=merge", "-p", r#"{"spec":{"replicas":5}}"#]);
    assert_has(&out, "widget.e2e.capstan.io/w1 patched");
    let w = get_json(&c, &["widget", "w1"]);
    assert_eq!(w["spec"]["serial"], "SN-0001");
    assert_eq!(w["spec"]["replicas"], 5);
    // The CEL rule holds on updates too.
    let err = c.kubectl_err(&["patch", "widget", "w1", "--type=merge", "-p", r#"{"spec":{"minReplicas":9}}"#]);
    assert_has(&err, "spec: Invalid value: \"object\": minReplicas must not exceed replicas");
    assert_eq!(get_json(&c, &["widget", "w1"])["spec"]["minReplicas"], 0);

    // Defaults: on create (color, minReplicas) and for w1 (created without them).
    assert_eq!(w["spec"]["color"], "blue", "{w:#}");
    assert_eq!(w["spec"]["minReplicas"], 0, "{w:#}");

    // Unknown fields: kubectl's default --validate=strict makes the server reject them...
    let defaults = testdata_arg("crd/defaults.yaml");
    let err = c.kubectl_err(&["create", "-f", &defaults]);
    assert_has(&err, "unknown field \"spec.bogus\"");
    assert_has(&c.kubectl_err(&["get", "widget", "w-defaults"]), "not found");
    let err = c.kubectl_err(&["apply", "--validate=strict", "-f", &defaults]);
    assert_has(&err, "unknown field \"spec.bogus\"");
    // ...--validate=warn stores the object pruned, with a warning.
    let out = c.kubectl(&["create", "--validate=warn", "-f", &defaults]);
    assert!(out.status.success(), "{}", show(&out));
    assert_has(&String::from_utf8_lossy(&out.stdout), "widget.e2e.capstan.io/w-defaults created");
    assert_has(&String::from_utf8_lossy(&out.stderr), "Warning: unknown field \"spec.bogus\"");
    let d = get_json(&c, &["widget", "w-defaults"]);
    assert_eq!(d["spec"]["color"], "blue", "default: {d:#}");
    assert_eq!(d["spec"]["minReplicas"], 0, "default: {d:#}");
    assert!(d["spec"].get("bogus").is_none(), "spec.bogus must be pruned: {d:#}");
    assert_eq!(d["spec"]["config"], json!({"kept": true}), "preserve-unknown-fields: {d:#}");
    // ...and --validate=false silently.
    let stdin = std::fs::read_to_string(testdata("crd/defaults.yaml")).unwrap().replace("w-defaults", "w-quiet");
    let out = c.kubectl_stdin(&["create", "--validate=false", "-f", "-"], &stdin);
    assert!(out.status.success(), "{}", show(&out));
    assert_lacks(&String::from_utf8_lossy(&out.stderr), "bogus");
    assert!(get_json(&c, &["widget", "w-quiet"])["spec"].get("bogus").is_none());

    // kubectl explain reads the CRD's schema (OpenAPI v3).
    let out = c.kubectl_ok(&["explain", "widgets.spec"]);
    assert_eq!(describe_field(&out, "GROUP"), Some("e2e.capstan.io"), "{out}");
    assert_eq!(describe_field(&out, "KIND"), Some("Widget"), "{out}");
    assert_eq!(describe_field(&out, "VERSION"), Some("v1"), "{out}");
    assert_eq!(describe_field(&out, "FIELD"), Some("spec <Object>"), "{out}");
    for d in [
        "WidgetSpec is the desired state of a Widget.",
        "Size of the widget, one of small, medium, large.",
        "Desired number of widget replicas.",
        "Paint color in lower-case letters.",
        "Serial number, immutable once set.",
    ] {
        assert_has(&out, d);
    }
    let fields: Vec<Vec<&str>> = out.lines().map(|l| l.split_whitespace().collect()).collect();
    for f in [&["replicas", "<integer>", "-required-"][..], &["size", "<string>", "-required-"], &["color", "<string>"]]
    {
        assert!(fields.iter().any(|l| l[..] == *f), "no field line {f:?} in:\n{out}");
    }
    let out = c.kubectl_ok(&["explain", "widget"]);
    assert_has(&out, "A Widget is a test object for the CRD end-to-end suite.");
    let fields: Vec<Vec<&str>> = out.lines().map(|l| l.split_whitespace().collect()).collect();
    for f in ["spec", "status", "metadata", "apiVersion", "kind"] {
        assert!(fields.iter().any(|l| l.first() == Some(&f)), "no field {f} in:\n{out}");
    }
}

/// Printer columns, the scale and status subresources, and both served versions.
#[test]
fn subresources_columns_and_versions() {
    let c = KubeCluster::start_up();
    create_widgets_crd(&c);
    c.kubectl_ok(&["create", "-f", &testdata_arg("crd/widget.yaml")]);

    // Scale subresource.
    let out = c.kubectl_ok(&["scale", "widget/w1", "--replicas=5"]);
    assert_has(&out, "widget.e2e.capstan.io/w1 scaled");
    let w = get_json(&c, &["widget", "w1"]);
    assert_eq!(w["spec"]["replicas"], 5, "{w:#}");
    assert_eq!(w["metadata"]["generation"], 2, "{w:#}");
    let s = get_json(&c, &["widget", "w1", "--subresource=scale"]);
    assert_eq!(s["kind"], "Scale", "{s:#}");
    assert_eq!(s["apiVersion"], "autoscaling/v1", "{s:#}");
    assert_eq!(s["metadata"]["name"], "w1", "{s:#}");
    assert_eq!(s["spec"]["replicas"], 5, "{s:#}");
    assert_eq!(s["status"]["replicas"], 0, "no .status.replicas yet: {s:#}");
    let out = c.kubectl_ok(&["get", "widget", "w1", "--subresource=scale", "-o=jsonpath={.spec.replicas}"]);
    assert_eq!(out.trim(), "5");
    // Scaling validates the whole object against the schema (maximum: 100).
    let err = c.kubectl_err(&["scale", "widget/w1", "--replicas=500"]);
    assert_has(&err, "spec.replicas: Invalid value: 500");
    assert_has(&err, "should be less than or equal to 100");
    assert_eq!(get_json(&c, &["widget", "w1"])["spec"]["replicas"], 5);

    // Status subresource: status only through /status, spec only through the main resource.
    let out = c.kubectl_ok(&[
        "patch",
        "widget",
        "w1",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"spec":{"replicas":50},"status":{"phase":"Ready","replicas":5,"selector":"app=widgets"}}"#,
    ]);
    assert_has(&out, "widget.e2e.capstan.io/w1 patched");
    let w = get_json(&c, &["widget", "w1"]);
    assert_eq!(w["status"], json!({"phase": "Ready", "replicas": 5, "selector": "app=widgets"}), "{w:#}");
    assert_eq!(w["spec"]["replicas"], 5, "a status write must not change spec: {w:#}");
    assert_eq!(w["metadata"]["generation"], 2, "a status write must not bump generation: {w:#}");
    c.kubectl_ok(&["patch", "widget", "w1", "--type=merge", "-p", r#"{"status":{"phase":"Hacked"}}"#]);
    assert_eq!(get_json(&c, &["widget", "w1"])["status"]["phase"], "Ready", "main resource must ignore status");
    let s = get_json(&c, &["widget", "w1", "--subresource=scale"]);
    assert_eq!(s["status"]["replicas"], 5, "statusReplicasPath: {s:#}");
    assert_eq!(s["status"]["selector"], "app=widgets", "labelSelectorPath: {s:#}");
    let st = get_json(&c, &["widget", "w1", "--subresource=status"]);
    assert_eq!(st["status"]["phase"], "Ready", "{st:#}");

    // Printer columns (Phase has priority 1: only in -o wide).
    c.kubectl_ok(&["create", "-f", &testdata_arg("crd/widget-beta.yaml")]);
    let out = c.kubectl_ok(&["get", "widgets"]);
    assert_eq!(header(&out), ["NAME", "SIZE", "REPLICAS", "COLOR", "AGE"], "{out}");
    assert_eq!(row_of(&out, "w1")[..4], ["w1", "small", "5", "blue"], "{out}");
    assert_eq!(row_of(&out, "w-beta")[..4], ["w-beta", "large", "7", "red"], "{out}");
    let out = c.kubectl_ok(&["get", "widgets", "-o", "wide"]);
    assert_eq!(header(&out), ["NAME", "SIZE", "REPLICAS", "COLOR", "PHASE", "AGE"], "{out}");
    assert_eq!(row_of(&out, "w1")[..5], ["w1", "small", "5", "blue", "Ready"], "{out}");
    let out = c.kubectl_ok(&["get", "widget", "w1", "-o", "custom-columns=N:.metadata.name,R:.spec.replicas"]);
    assert_eq!(row_of(&out, "w1"), ["w1", "5"], "{out}");

    // Versions (conversion None): v1beta1-created objects read as v1 and v1 ones as v1beta1.
    let b = get_json(&c, &["widgets.v1.e2e.capstan.io", "w-beta"]);
    assert_eq!(b["apiVersion"], "e2e.capstan.io/v1", "{b:#}");
    assert_eq!(b["spec"], json!({"size": "large", "replicas": 7, "minReplicas": 2, "color": "red"}), "{b:#}");
    let a = get_json(&c, &["widgets.v1beta1.e2e.capstan.io", "w1"]);
    assert_eq!(a["apiVersion"], "e2e.capstan.io/v1beta1", "{a:#}");
    let v1 = get_json(&c, &["widget", "w1"]);
    assert_eq!(a["spec"], v1["spec"], "same spec in both versions");
    assert_eq!(a["status"], v1["status"], "same status in both versions");
    let raw = raw_json(&c, "/apis/e2e.capstan.io/v1beta1/namespaces/default/widgets/w-beta");
    assert_eq!(raw["apiVersion"], "e2e.capstan.io/v1beta1", "{raw:#}");
    let list = raw_json(&c, "/apis/e2e.capstan.io/v1beta1/namespaces/default/widgets");
    let versions: Vec<&str> =
        list["items"].as_array().unwrap().iter().filter_map(|i| i["apiVersion"].as_str()).collect();
    assert_eq!(versions, ["e2e.capstan.io/v1beta1", "e2e.capstan.io/v1beta1"], "{list:#}");
    let out = c.kubectl_ok(&[
        "patch",
        "widgets.v1beta1.e2e.capstan.io",
        "w1",
        "--type=merge",
        "-p",
        r#"{"spec":{"color":"green"}}"#,
    ]);
    assert_has(&out, "widget.e2e.capstan.io/w1 patched");
    assert_eq!(get_json(&c, &["widget", "w1"])["spec"]["color"], "green");
    let list = get_json(&c, &["widgets"]);
    assert!(
        list["items"].as_array().unwrap().iter().all(|i| i["apiVersion"] == "e2e.capstan.io/v1"),
        "the preferred version is v1: {list:#}"
    );
    assert_eq!(get_json(&c, &["crd", WIDGETS])["status"]["storedVersions"], json!(["v1"]));
}
