//! The served custom resources: one [`CrdServing`] per established
//! CustomResourceDefinition, with a catalog row per served version.
//!
//! The registry is process-wide, like the built-in catalog it extends: the
//! catalog's lookups, discovery and OpenAPI consult it, and its `generation`
//! tells their caches when to rebuild. Rows are interned `&'static` values, so
//! re-registering an unchanged CRD (every status write) leaks nothing new.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

use parking_lot::{Mutex, RwLock};
use serde_json::Value;

use crate::catalog::{ResourceInfo, STANDARD_VERBS};

/// An additionalPrinterColumn.
#[derive(Debug, Clone, PartialEq)]
pub struct PrinterColumn {
    pub name: String,
    /// integer, number, string, boolean or date.
    pub kind: String,
    pub format: String,
    pub description: String,
    pub priority: i64,
    pub json_path: String,
}

/// The scale subresource's paths (`.spec.replicas` style).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalePaths {
    pub spec_replicas: String,
    pub status_replicas: String,
    pub label_selector: Option<String>,
}

/// One served version of a CRD.
pub struct CrdVersion {
    pub row: &'static ResourceInfo,
    pub storage: bool,
    pub deprecated: bool,
    pub deprecation_warning: Option<String>,
    /// `openAPIV3Schema` (Null when the version has none).
    pub schema: Value,
    /// The schema as an OpenAPI definition (metadata → ObjectMeta), compiled
    /// for server-side apply.
    pub ssa_schema: crate::apply::SsaSchema,
    pub engine: Arc<super::engine::Engine>,
    pub columns: Vec<PrinterColumn>,
    pub scale: Option<ScalePaths>,
}

/// An established CRD, as served.
pub struct CrdServing {
    /// `metadata.name`, `<plural>.<group>`.
    pub name: String,
    pub uid: String,
    pub group: String,
    pub plural: String,
    pub kind: String,
    pub namespaced: bool,
    pub storage_version: String,
    pub versions: Vec<CrdVersion>,
}

impl CrdServing {
    pub fn version(&self, v: &str) -> Option<&CrdVersion> {
        self.versions.iter().find(|x| x.row.version == v)
    }
    /// `group/version` of the storage version.
    pub fn storage_api_version(&self) -> String {
        format!("{}/{}", self.group, self.storage_version)
    }
}

#[derive(Default)]
struct Registry {
    /// (group, plural) → serving; keys are interned, so lookups by a row's fields allocate nothing.
    by_resource: HashMap<(&'static str, &'static str), Arc<CrdServing>>,
    /// Every served row, grouped by group then version priority.
    rows: Vec<&'static ResourceInfo>,
}

static REGISTRY: LazyLock<RwLock<Registry>> = LazyLock::new(Default::default);
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// Bumped on every change of what is served; caches of discovery/OpenAPI key on it.
pub fn generation() -> u64 {
    GENERATION.load(Ordering::Acquire)
}

/// Every served custom resource row.
pub fn rows() -> Vec<&'static ResourceInfo> {
    REGISTRY.read().rows.clone()
}

pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    REGISTRY.read().rows.iter().copied().find(|r| r.group == group && r.version == version && r.plural == plural)
}

pub fn preferred(group: &str, plural: &str) -> Option<&'static ResourceInfo> {
    REGISTRY.read().rows.iter().copied().find(|r| r.group == group && r.plural == plural)
}

/// The serving facts of a custom resource row, `None` for a built-in.
pub fn serving(info: &ResourceInfo) -> Option<Arc<CrdServing>> {
    if crate::catalog::is_builtin_group(info.group) {
        return None;
    }
    REGISTRY.read().by_resource.get(&(info.group, info.plural)).cloned()
}

/// The serving of the CRD named `<plural>.<group>`.
pub fn by_name(name: &str) -> Option<Arc<CrdServing>> {
    REGISTRY.read().by_resource.values().find(|s| s.name == name).cloned()
}

pub fn is_custom(info: &ResourceInfo) -> bool {
    serving(info).is_some()
}

/// kube's version priority: GA > beta > alpha > other, higher numbers first.
pub fn version_order(a: &str, b: &str) -> std::cmp::Ordering {
    fn key(v: &str) -> (u8, u64, u64, String) {
        let parse = |s: &str| -> Option<(u64, u8, u64)> {
            let rest = s.strip_prefix('v')?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            let major: u64 = digits.parse().ok()?;
            let tail = &rest[digits.len()..];
            if tail.is_empty() {
                return Some((major, 3, 0));
            }
            let (level, n) = if let Some(n) = tail.strip_prefix("beta") {
                (2, n)
            } else if let Some(n) = tail.strip_prefix("alpha") {
                (1, n)
            } else {
                return None;
            };
            let minor: u64 = n.parse().ok()?;
            Some((major, level, minor))
        };
        match parse(v) {
            Some((major, level, minor)) => (level, major, minor, String::new()),
            None => (0, 0, 0, v.to_string()),
        }
    }
    let (ka, kb) = (key(a), key(b));
    // Higher level/major/minor first; non-kube versions alphabetically.
    kb.0.cmp(&ka.0).then(kb.1.cmp(&ka.1)).then(kb.2.cmp(&ka.2)).then(ka.3.cmp(&kb.3))
}

/// Interns a row so unchanged registrations reuse the same `&'static`.
fn intern(row: ResourceInfo) -> &'static ResourceInfo {
    static ROWS: LazyLock<Mutex<Vec<&'static ResourceInfo>>> = LazyLock::new(Default::default);
    let mut rows = ROWS.lock();
    if let Some(r) = rows.iter().find(|r| ***r == row) {
        return r;
    }
    let leaked: &'static ResourceInfo = Box::leak(Box::new(row));
    rows.push(leaked);
    leaked
}

fn leak_str(s: &str) -> &'static str {
    static STRS: LazyLock<Mutex<BTreeMap<String, &'static str>>> = LazyLock::new(Default::default);
    let mut m = STRS.lock();
    if let Some(v) = m.get(s) {
        return v;
    }
    let leaked: &'static str = Box::leak(s.to_string().into_boxed_str());
    m.insert(s.to_string(), leaked);
    leaked
}

fn leak_strs(v: Option<&Value>) -> &'static [&'static str] {
    let items: Vec<&'static str> = v
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(leak_str).collect())
        .unwrap_or_default();
    if items.is_empty() {
        return &[];
    }
    static SLICES: LazyLock<Mutex<Vec<&'static [&'static str]>>> = LazyLock::new(Default::default);
    let mut all = SLICES.lock();
    if let Some(s) = all.iter().find(|s| **s == items.as_slice()) {
        return s;
    }
    let leaked: &'static [&'static str] = Box::leak(items.into_boxed_slice());
    all.push(leaked);
    leaked
}

/// The OpenAPI definition name kube gives a custom kind: reversed group, version, kind.
pub fn definition_name(group: &str, version: &str, kind: &str) -> String {
    let rev: Vec<&str> = group.split('.').rev().collect();
    format!("{}.{version}.{kind}", rev.join("."))
}

/// Compiles a CRD version's apply schema (its `$ref`s resolve in the built-in definitions).
fn compile_ssa(definition: &Value) -> crate::apply::SsaSchema {
    crate::apply::SsaSchema::compile(crate::patch::SchemaCursor::from_node(crate::openapi::definitions(), definition))
}

fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

fn columns_of(v: &Value) -> Vec<PrinterColumn> {
    let Some(cols) = v.get("additionalPrinterColumns").and_then(Value::as_array) else {
        return vec![PrinterColumn {
            name: "Age".into(),
            kind: "date".into(),
            format: String::new(),
            description: String::new(),
            priority: 0,
            json_path: ".metadata.creationTimestamp".into(),
        }];
    };
    cols.iter()
        .map(|c| PrinterColumn {
            name: str_at(c, "/name").to_string(),
            kind: str_at(c, "/type").to_string(),
            format: str_at(c, "/format").to_string(),
            description: str_at(c, "/description").to_string(),
            priority: c.get("priority").and_then(Value::as_i64).unwrap_or(0),
            json_path: str_at(c, "/jsonPath").to_string(),
        })
        .collect()
}

/// Builds the serving of an (accepted) CRD object.
pub fn build(crd: &Value) -> Result<CrdServing, String> {
    let spec = crd.get("spec").ok_or("spec missing")?;
    let group = str_at(spec, "/group").to_string();
    let names = spec.get("names").ok_or("spec.names missing")?;
    let plural = str_at(names, "/plural").to_string();
    let kind = str_at(names, "/kind").to_string();
    let singular = match str_at(names, "/singular") {
        "" => kind.to_lowercase(),
        s => s.to_string(),
    };
    if group.is_empty() || plural.is_empty() || kind.is_empty() {
        return Err("group, plural and kind are required".into());
    }
    let namespaced = str_at(spec, "/scope") != "Cluster";
    let storage_path = format!("{group}/{plural}");
    let mut versions = Vec::new();
    let mut storage_version = String::new();
    for v in spec.get("versions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default() {
        let name = str_at(v, "/name");
        if name.is_empty() {
            continue;
        }
        let storage = v.get("storage").and_then(Value::as_bool).unwrap_or(false);
        if storage {
            storage_version = name.to_string();
        }
        if !v.get("served").and_then(Value::as_bool).unwrap_or(false) {
            continue;
        }
        let subresources = v.get("subresources");
        let mut subs: Vec<Value> = Vec::new();
        if subresources.and_then(|s| s.get("scale")).is_some() {
            subs.push("scale".into());
        }
        if subresources.and_then(|s| s.get("status")).is_some() {
            subs.push("status".into());
        }
        subs.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        let subs = Value::Array(subs);
        let row = intern(ResourceInfo {
            group: leak_str(&group),
            version: leak_str(name),
            kind: leak_str(&kind),
            plural: leak_str(&plural),
            singular: leak_str(&singular),
            namespaced,
            short_names: leak_strs(names.get("shortNames")),
            categories: leak_strs(names.get("categories")),
            verbs: STANDARD_VERBS,
            subresources: leak_strs(Some(&subs)),
            storage: leak_str(&storage_path),
            definition: leak_str(&definition_name(&group, name, &kind)),
            generation: true,
        });
        let schema = v.pointer("/schema/openAPIV3Schema").cloned().unwrap_or(Value::Null);
        let scale = subresources.and_then(|s| s.get("scale")).map(|s| ScalePaths {
            spec_replicas: str_at(s, "/specReplicasPath").to_string(),
            status_replicas: str_at(s, "/statusReplicasPath").to_string(),
            label_selector: Some(str_at(s, "/labelSelectorPath").to_string()).filter(|p| !p.is_empty()),
        });
        versions.push(CrdVersion {
            row,
            storage,
            deprecated: v.get("deprecated").and_then(Value::as_bool).unwrap_or(false),
            deprecation_warning: v.get("deprecationWarning").and_then(Value::as_str).map(str::to_string),
            engine: Arc::new(super::engine::Engine::new(&schema)),
            ssa_schema: compile_ssa(&crate::openapi::custom_object_definition(&group, name, &kind, &schema)),
            schema,
            columns: columns_of(v),
            scale,
        });
    }
    if storage_version.is_empty() {
        return Err("no storage version".into());
    }
    versions.sort_by(|a, b| version_order(a.row.version, b.row.version));
    Ok(CrdServing {
        name: crate::handlers::object::name_of(crd).to_string(),
        uid: crate::handlers::object::meta_str(crd, "uid").to_string(),
        group,
        plural,
        kind,
        namespaced,
        storage_version,
        versions,
    })
}

fn rebuild_rows(reg: &mut Registry) {
    let mut all: Vec<Arc<CrdServing>> = reg.by_resource.values().cloned().collect();
    all.sort_by(|a, b| a.group.cmp(&b.group).then(a.plural.cmp(&b.plural)));
    // Group-wide version order: a group's preferred version is its highest.
    let mut rows: Vec<&'static ResourceInfo> = all.iter().flat_map(|s| s.versions.iter().map(|v| v.row)).collect();
    rows.sort_by(|a, b| a.group.cmp(b.group).then(version_order(a.version, b.version)).then(a.plural.cmp(b.plural)));
    reg.rows = rows;
}

/// Serves (or re-serves) a CRD.
pub fn register(s: CrdServing) {
    let mut reg = REGISTRY.write();
    reg.by_resource.insert((leak_str(&s.group), leak_str(&s.plural)), Arc::new(s));
    rebuild_rows(&mut reg);
    GENERATION.fetch_add(1, Ordering::AcqRel);
}

/// Stops serving the CRD named `name`.
pub fn unregister(name: &str) -> bool {
    let mut reg = REGISTRY.write();
    let before = reg.by_resource.len();
    reg.by_resource.retain(|_, s| s.name != name);
    if reg.by_resource.len() == before {
        return false;
    }
    rebuild_rows(&mut reg);
    GENERATION.fetch_add(1, Ordering::AcqRel);
    true
}

/// Names of every served CRD.
pub fn names() -> Vec<String> {
    REGISTRY.read().by_resource.values().map(|s| s.name.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_version_priority() {
        let mut v = vec!["v1alpha1", "v2", "foo", "v1beta2", "v1", "v1beta1", "v10", "bar"];
        v.sort_by(|a, b| version_order(a, b));
        assert_eq!(v, ["v10", "v2", "v1", "v1beta2", "v1beta1", "v1alpha1", "bar", "foo"]);
    }

    #[test]
    fn definition_names_reverse_the_group() {
        assert_eq!(definition_name("stable.example.com", "v1", "CronTab"), "com.example.stable.v1.CronTab");
    }

    #[test]
    fn builds_rows_per_served_version() {
        let crd = serde_json::json!({
            "metadata": {"name": "widgets.example.com", "uid": "u"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
                "versions": [
                    {"name": "v1beta1", "served": true, "storage": false},
                    {"name": "v1", "served": true, "storage": true,
                     "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}}},
                    {"name": "v1alpha1", "served": false, "storage": false}
                ]}
        });
        let s = build(&crd).expect("build");
        assert_eq!(s.versions.len(), 2);
        assert_eq!(s.versions[0].row.version, "v1");
        assert_eq!(s.versions[0].row.subresources, &["scale", "status"]);
        assert_eq!(s.versions[0].row.storage, "example.com/widgets");
        assert_eq!(s.versions[0].row.singular, "widget");
        assert_eq!(s.versions[0].row.short_names, &["wd"]);
        assert_eq!(s.storage_version, "v1");
        let again = build(&crd).expect("build");
        assert!(std::ptr::eq(s.versions[0].row, again.versions[0].row), "rows are interned");
    }
}
