//! Every rule of the real-world CRDs in `shared/fixtures/crds` compiles, and each fixture's
//! example object passes them.

use super::CelRules;
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/crds")
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .filter(|doc| !doc.is_null())
        .collect()
}

fn count_rules(schema: &Value) -> usize {
    match schema {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| match (k.as_str(), v) {
                ("x-kubernetes-validations", Value::Array(rules)) => rules.len(),
                _ => count_rules(v),
            })
            .sum(),
        Value::Array(items) => items.iter().map(count_rules).sum(),
        _ => 0,
    }
}

/// Applies the schema's `default`s, as the server does before validating (a test stand-in for
/// the schema module's defaulting).
fn apply_defaults(obj: &mut Value, schema: &Value) {
    match obj {
        Value::Object(map) => {
            if let Some(props) = schema["properties"].as_object() {
                for (name, prop) in props {
                    if let (false, Some(default)) = (map.contains_key(name), prop.get("default")) {
                        map.insert(name.clone(), default.clone());
                    }
                    if let Some(child) = map.get_mut(name) {
                        apply_defaults(child, prop);
                    }
                }
            }
            if let Some(additional) = schema.get("additionalProperties").filter(|a| a.is_object()) {
                map.values_mut().for_each(|v| apply_defaults(v, additional));
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| apply_defaults(v, &schema["items"])),
        _ => {}
    }
}

#[test]
fn fixture_rules_compile_and_examples_pass() {
    let dir = fixtures_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("skipping: no CRD fixtures at {}", dir.display());
        return;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let (mut rules_total, mut examples_checked) = (0, 0);
    for file in &files {
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
        let example_path = dir.join("examples").join(format!("{stem}.example.yaml"));
        let examples = if example_path.exists() { yaml_docs(&example_path) } else { Vec::new() };
        for crd in yaml_docs(file).iter().filter(|d| d["kind"] == "CustomResourceDefinition") {
            let group = crd["spec"]["group"].as_str().unwrap_or_default();
            let kind = &crd["spec"]["names"]["kind"];
            for version in crd["spec"]["versions"].as_array().into_iter().flatten() {
                let name = version["name"].as_str().unwrap_or_default();
                let schema = &version["schema"]["openAPIV3Schema"];
                rules_total += count_rules(schema);
                let rules = CelRules::compile(schema).unwrap_or_else(|e| panic!("{stem} {kind} {name}: {e:#?}"));
                let api_version = format!("{group}/{name}");
                for example in examples.iter().filter(|e| e["kind"] == *kind && e["apiVersion"] == api_version.as_str())
                {
                    let mut example = example.clone();
                    apply_defaults(&mut example, schema);
                    let causes = rules.validate(&example, None);
                    assert!(causes.is_empty(), "{stem} {kind} {name}: {causes:#?}");
                    // An update to the same object passes the transition rules too.
                    let causes = rules.validate(&example, Some(&example));
                    assert!(causes.is_empty(), "{stem} {kind} {name} (update): {causes:#?}");
                    examples_checked += 1;
                }
            }
        }
    }
    assert!(rules_total > 0, "the fixtures have rules");
    assert!(examples_checked >= files.len(), "every fixture has an example: {examples_checked} < {}", files.len());
}
