//! Real-world CRDs from `shared/fixtures/crds`: each must pass `validate_crd`, its example
//! object must default/prune/validate cleanly, and broken copies must be rejected.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{validate_crd, CompiledSchema};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/crds")
}

fn load_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("read fixture");
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("parse yaml"))
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// The schema of the CRD version an object's apiVersion/kind names.
fn schema_for<'a>(crds: &'a [Value], obj: &Value) -> Option<&'a Value> {
    let api_version = obj["apiVersion"].as_str()?;
    let (group, version) = api_version.split_once('/')?;
    let crd = crds.iter().find(|c| c["spec"]["group"] == group && c["spec"]["names"]["kind"] == obj["kind"])?;
    let v = crd["spec"]["versions"].as_array()?.iter().find(|v| v["name"] == version)?;
    v.pointer("/schema/openAPIV3Schema")
}

/// Finds a mutation of `spec` that the schema must reject: a string field set to a
/// number (type error) or a required property removed.
fn break_object(schema: &Value, obj: &Value) -> Option<(Value, String)> {
    let spec_schema = schema.pointer("/properties/spec")?;
    let spec = obj.get("spec")?.as_object()?;
    for (k, v) in spec {
        let t = spec_schema.pointer(&format!("/properties/{k}/type")).and_then(Value::as_str);
        if v.is_string() && t == Some("string") {
            let mut bad = obj.clone();
            bad["spec"][k] = Value::from(42);
            return Some((bad, format!("spec.{k}")));
        }
    }
    for r in spec_schema.get("required")?.as_array()? {
        let r = r.as_str()?;
        if spec.contains_key(r) {
            let mut bad = obj.clone();
            bad["spec"].as_object_mut()?.remove(r);
            return Some((bad, format!("spec.{r}")));
        }
    }
    None
}

#[test]
fn fixture_crds_and_examples() {
    let dir = fixtures_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        println!("note: {} not found; skipping CRD fixture tests", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut broken_checked = 0;
    for file in &files {
        let crds = load_docs(file);
        for crd in &crds {
            let causes = validate_crd(crd, None);
            assert!(causes.is_empty(), "{}: {causes:#?}", file.display());
            let update = validate_crd(crd, Some(crd));
            assert!(update.is_empty(), "{} (update): {update:#?}", file.display());
        }
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let example = dir.join("examples").join(format!("{stem}.example.yaml"));
        if !example.exists() {
            continue;
        }
        for obj in load_docs(&example) {
            let schema = schema_for(&crds, &obj).unwrap_or_else(|| panic!("{stem}: no CRD version for example"));
            let compiled = CompiledSchema::new(schema);
            let mut o = obj.clone();
            compiled.apply_defaults(&mut o);
            let pruned = compiled.prune(&mut o);
            assert!(pruned.is_empty(), "{stem}: pruned {pruned:?}");
            let causes = compiled.validate(&o);
            assert!(causes.is_empty(), "{stem}: {causes:#?}");
            if let Some((bad, field)) = break_object(schema, &obj) {
                let causes = compiled.validate(&bad);
                assert!(causes.iter().any(|c| c.field == field), "{stem}: no cause at {field}: {causes:#?}");
                broken_checked += 1;
            }
        }
    }
    assert!(broken_checked > 0);
}

#[test]
fn fixture_crd_mutations_are_rejected() {
    let file = fixtures_dir().join("vpa.yaml");
    if !file.exists() {
        println!("note: {} not found; skipping", file.display());
        return;
    }
    let crds = load_docs(&file);
    let crd = &crds[0];
    let mut bad = crd.clone();
    bad["metadata"]["name"] = Value::from("wrong.example.com");
    let causes = validate_crd(&bad, None);
    assert_eq!(causes.len(), 1, "{causes:#?}");
    assert_eq!(causes[0].field, "metadata.name");
    assert!(causes[0].message.ends_with("must be spec.names.plural+\".\"+spec.group"));

    let mut bad = crd.clone();
    for v in bad["spec"]["versions"].as_array_mut().into_iter().flatten() {
        v["storage"] = Value::Bool(true);
    }
    let causes = validate_crd(&bad, None);
    assert!(causes.iter().any(|c| c.field == "spec.versions"
        && c.message.ends_with("must have exactly one version marked as storage version")));

    let mut bad = crd.clone();
    bad["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
        .as_object_mut()
        .map(|m| m.remove("type"));
    let causes = validate_crd(&bad, None);
    assert!(
        causes.iter().any(|c| c.field == "spec.versions[0].schema.openAPIV3Schema.properties[spec].type"
            && c.message == "Required value: must not be empty for specified object fields"),
        "{causes:#?}"
    );
}
