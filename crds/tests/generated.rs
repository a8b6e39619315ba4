//! The committed CRD YAML (`crds/yaml/` and `charts/capstan/crds/`) must equal what the
//! types render to. On a mismatch, run `make crdgen` and commit the result.

use capstan_crds::render::{check_dir, render_all, repo_root, OUTPUT_DIRS, YAML_HEADER};

#[test]
fn committed_yaml_is_fresh() {
    let rendered = render_all();
    assert_eq!(rendered.len(), capstan_crds::crds().len());
    let root = repo_root();
    let mut stale = Vec::new();
    for dir in OUTPUT_DIRS {
        stale.extend(check_dir(&root.join(dir), &rendered).expect("read generated folder"));
    }
    assert!(
        stale.is_empty(),
        "generated CRD YAML is stale; run `make crdgen` (cargo run -p capstan-crds --bin crdgen) \
         and commit the result. Stale files: {stale:#?}"
    );
}

#[test]
fn rendered_files_are_named_and_headed() {
    let rendered = render_all();
    let names: Vec<&str> = rendered.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["machinepools.capstan.io.yaml", "workloadclusters.capstan.io.yaml"]);
    for (name, yaml) in &rendered {
        assert!(yaml.starts_with(YAML_HEADER), "{name} lacks the header");
        let doc: serde_json::Value = serde_yaml_ng::from_str(yaml).expect("valid YAML");
        assert_eq!(doc["kind"], "CustomResourceDefinition");
        assert_eq!(format!("{}.yaml", doc["metadata"]["name"].as_str().unwrap_or("")), *name);
    }
}

#[test]
fn rendering_is_deterministic() {
    assert_eq!(render_all(), render_all());
}
