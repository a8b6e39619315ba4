//! The Helm chart in `charts/capstan` lints and renders with the real helm v4 binary
//! (`<repo>/.tools/bin/helm`, installed by `scripts/test-deps.sh`), and ships exactly the
//! CRDs in `crds/yaml/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use capstan_crds::render::repo_root;
use serde::Deserialize;
use serde_json::Value;

fn chart_dir() -> PathBuf {
    repo_root().join("charts/capstan")
}

/// The helm binary, or `None` (with a note) when the test tools are not installed.
fn helm() -> Option<PathBuf> {
    let helm = repo_root().join(".tools/bin/helm");
    if helm.is_file() {
        Some(helm)
    } else {
        eprintln!("skipping: {} is missing; run `bash scripts/test-deps.sh` (part of `make test`)", helm.display());
        None
    }
}

fn run_helm(helm: &Path, args: &[&str]) -> String {
    let out = Command::new(helm).args(args).output().expect("run helm");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "helm {args:?} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn documents(yaml: &str) -> Vec<Value> {
    serde_yaml_ng::Deserializer::from_str(yaml)
        .map(|doc| Value::deserialize(doc).expect("rendered YAML parses"))
        .filter(|doc| !doc.is_null())
        .collect()
}

fn render(helm: &Path, extra: &[&str]) -> Vec<Value> {
    let chart = chart_dir();
    let chart = chart.to_str().expect("utf-8 path");
    let mut args = vec!["template", "rel", chart, "--namespace", "capstan-system"];
    args.extend_from_slice(extra);
    documents(&run_helm(helm, &args))
}

fn by_kind(docs: &[Value]) -> BTreeMap<String, Vec<&Value>> {
    let mut map: BTreeMap<String, Vec<&Value>> = BTreeMap::new();
    for doc in docs {
        let kind = doc["kind"].as_str().unwrap_or_default().to_string();
        map.entry(kind).or_default().push(doc);
    }
    map
}

fn names(docs: &[&Value]) -> Vec<String> {
    let mut names: Vec<String> =
        docs.iter().map(|d| d["metadata"]["name"].as_str().unwrap_or_default().to_string()).collect();
    names.sort();
    names
}

#[test]
fn chart_lints() {
    let Some(helm) = helm() else { return };
    let chart = chart_dir();
    let out = run_helm(&helm, &["lint", "--strict", chart.to_str().expect("utf-8 path")]);
    assert!(out.contains("0 chart(s) failed"), "{out}");
    assert!(!out.contains("[WARNING]") && !out.contains("[ERROR]"), "{out}");
}

#[test]
fn chart_renders_deployments_rbac_and_crds() {
    let Some(helm) = helm() else { return };
    let docs = render(&helm, &["--include-crds"]);
    let kinds = by_kind(&docs);

    let deployments = &kinds["Deployment"];
    assert_eq!(names(deployments), ["rel-capstan-capi", "rel-capstan-controller-manager"]);
    for d in deployments {
        assert_eq!(d["metadata"]["namespace"], "capstan-system");
        let container = &d["spec"]["template"]["spec"]["containers"][0];
        let args: Vec<&str> = container["args"].as_array().expect("args").iter().filter_map(Value::as_str).collect();
        assert!(args[0] == "controller-manager" || args[0] == "capi", "{args:?}");
        assert!(args.iter().any(|a| a.starts_with("--kube-api-qps=")), "{args:?}");
        assert!(args.iter().any(|a| a.starts_with("--concurrency=")), "{args:?}");
        let sa = d["spec"]["template"]["spec"]["serviceAccountName"].as_str();
        assert_eq!(sa, d["metadata"]["name"].as_str());
        // The selector must match the pod labels.
        let selector = d["spec"]["selector"]["matchLabels"].as_object().expect("selector");
        for (k, v) in selector {
            assert_eq!(&d["spec"]["template"]["metadata"]["labels"][k], v);
        }
    }
    let capi = deployments.iter().find(|d| d["metadata"]["name"] == "rel-capstan-capi").expect("capi deployment");
    let capi_args = capi["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(capi_args.contains("--kube-api-qps=100") && capi_args.contains("--kube-api-burst=200"));

    assert_eq!(names(&kinds["ServiceAccount"]), ["rel-capstan-capi", "rel-capstan-controller-manager"]);
    assert_eq!(names(&kinds["ClusterRole"]), ["rel-capstan-capi", "rel-capstan-controller-manager"]);
    for binding in &kinds["ClusterRoleBinding"] {
        assert_eq!(binding["roleRef"]["name"], binding["metadata"]["name"]);
        assert_eq!(binding["subjects"][0]["kind"], "ServiceAccount");
        assert_eq!(binding["subjects"][0]["namespace"], "capstan-system");
    }
    assert_eq!(kinds["ClusterRoleBinding"].len(), 2);

    // Each role covers its component's needs.
    let rules = |name: &str| {
        kinds["ClusterRole"]
            .iter()
            .find(|r| r["metadata"]["name"] == name)
            .map(|r| r["rules"].to_string())
            .expect("role")
    };
    let cm = rules("rel-capstan-controller-manager");
    for needed in ["pods", "nodes", "endpoints", "endpointslices", "leases", "events", "deployments", "capstan.io"] {
        assert!(cm.contains(&format!("\"{needed}\"")), "controller-manager role lacks {needed}");
    }
    let capi_rules = rules("rel-capstan-capi");
    for needed in ["workloadclusters", "machinepools", "workloadclusters/status", "secrets", "leases", "events"] {
        assert!(capi_rules.contains(&format!("\"{needed}\"")), "capi role lacks {needed}");
    }

    let crds = &kinds["CustomResourceDefinition"];
    assert_eq!(names(crds), ["machinepools.capstan.io", "workloadclusters.capstan.io"]);
}

#[test]
fn components_can_be_disabled() {
    let Some(helm) = helm() else { return };
    let docs = render(&helm, &["--set", "capi.enabled=false", "--set", "rbac.create=false"]);
    let kinds = by_kind(&docs);
    assert_eq!(names(&kinds["Deployment"]), ["rel-capstan-controller-manager"]);
    assert!(!kinds.contains_key("ClusterRole"));
    assert!(!kinds.contains_key("CustomResourceDefinition"), "CRDs only with --include-crds");
}

/// Runs without helm: the chart's `crds/` folder is a byte-for-byte copy of `crds/yaml/`.
#[test]
fn chart_crds_equal_generated_yaml() {
    let read = |dir: PathBuf| -> BTreeMap<String, String> {
        std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|entry| {
                let path = entry.expect("dir entry").path();
                let name = path.file_name().expect("file name").to_string_lossy().into_owned();
                let text = std::fs::read_to_string(&path).expect("read file");
                (name, text)
            })
            .collect()
    };
    let generated = read(repo_root().join("crds/yaml"));
    let in_chart = read(chart_dir().join("crds"));
    assert!(!generated.is_empty());
    assert_eq!(
        generated.keys().collect::<Vec<_>>(),
        in_chart.keys().collect::<Vec<_>>(),
        "file lists differ; run `make crdgen`"
    );
    for (name, text) in &generated {
        assert!(in_chart[name] == *text, "charts/capstan/crds/{name} differs from crds/yaml; run `make crdgen`");
    }
}
