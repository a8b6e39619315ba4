//! The real-world CRDs in `../shared/fixtures/crds/` (Argo CD, Flux, cert-manager,
//! Cluster API, Gateway API, Prometheus operator, VPA) installed with the real
//! kubectl, server-side, and one example object of each created and read back.
//! The fixtures live outside the repository; without them the test says so and
//! passes (CI clones may not have them).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use capstan_e2e::kube::{show, KubeCluster};
use capstan_e2e::repo_root;

fn fixtures() -> Option<PathBuf> {
    let dir = repo_root().join("../shared/fixtures/crds");
    dir.join("examples").is_dir().then_some(dir)
}

fn examples(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("examples"))
        .expect("examples dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    v.sort();
    v
}

#[test]
fn real_world_crds_install_and_examples_validate() {
    let Some(dir) = fixtures() else {
        eprintln!("note: ../shared/fixtures/crds is absent; skipping the real-world CRD test");
        return;
    };
    let c = KubeCluster::start_up();
    // Server-side: several of these are too big for the last-applied annotation.
    let out = c.kubectl_ok(&["apply", "--server-side", "-f", dir.to_str().unwrap()]);
    let applied = out.lines().filter(|l| l.contains("serverside-applied")).count();
    assert!(applied >= 17, "expected every CRD applied:\n{out}");
    let out = c.kubectl_timeout(
        &["wait", "--for", "condition=established", "crd", "--all", "--timeout=60s"],
        Duration::from_secs(70),
    );
    assert!(out.status.success(), "CRDs not established: {}", show(&out));

    for ex in examples(&dir) {
        let text = std::fs::read_to_string(&ex).unwrap();
        let doc: serde_json::Value = serde_yaml_ng::from_str(&text).unwrap();
        let ns = doc.pointer("/metadata/namespace").and_then(|v| v.as_str()).unwrap_or("");
        if !ns.is_empty() {
            // Ignore AlreadyExists: several examples share a namespace.
            let _ = c.kubectl(&["create", "namespace", ns]);
        }
        let out = c.kubectl(&["apply", "--server-side", "-f", ex.to_str().unwrap()]);
        assert!(out.status.success(), "{} rejected: {}", ex.display(), show(&out));
        let kind = doc["kind"].as_str().unwrap();
        let group = doc["apiVersion"].as_str().unwrap().split('/').next().unwrap();
        let name = doc.pointer("/metadata/name").and_then(|v| v.as_str()).unwrap();
        let resource = format!("{}.{group}", kind.to_lowercase());
        let mut args = vec!["get", resource.as_str(), name, "-o", "jsonpath={.metadata.managedFields[0].manager}"];
        if !ns.is_empty() {
            args.extend(["-n", ns]);
        }
        let got = c.kubectl_ok(&args);
        assert_eq!(got.trim(), "kubectl", "{}: managedFields of the applied object", ex.display());
    }

    // A wrong type in a real schema is rejected with its field path. (Through
    // server-side apply kube fails earlier, building the typed patch: a 500.)
    let bad = r#"{"apiVersion":"cert-manager.io/v1","kind":"Issuer","metadata":{"name":"bad","namespace":"default"},"spec":{"selfSigned":{"crlDistributionPoints":"not-a-list"}}}"#;
    let err = c.kubectl_stdin_err(&["create", "-f", "-"], bad);
    assert!(err.contains("spec.selfSigned.crlDistributionPoints"), "{err}");
    assert!(err.contains("must be of type array"), "{err}");
}
