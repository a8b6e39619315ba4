//! Aggregated discovery (`apidiscovery.k8s.io` `APIGroupDiscoveryList`): the
//! whole of `/api` or `/apis` in one document, which kubectl 1.34 asks for first
//! (client-go sends `Accept: <v2>,<v2beta1>,application/json` and decodes by
//! the response Content-Type's `g`/`v`/`as` parameters).

use std::sync::LazyLock;

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::subresources_of;
use crate::catalog::{self, ResourceInfo};

const GROUP: &str = "apidiscovery.k8s.io";
const KIND: &str = "APIGroupDiscoveryList";

/// The representation a discovery request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryFormat {
    /// `apidiscovery.k8s.io/v2` aggregated document.
    AggregatedV2,
    /// `apidiscovery.k8s.io/v2beta1` aggregated document (same shape).
    AggregatedV2Beta1,
    /// Legacy per-endpoint documents (`APIVersions`, `APIGroupList`, ...).
    Plain,
}

impl DiscoveryFormat {
    /// The exact `Content-Type` to answer with; clients match its parameters.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::AggregatedV2 => "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
            Self::AggregatedV2Beta1 => "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
            Self::Plain => "application/json",
        }
    }

    /// `apiVersion` of the aggregated document, `None` for plain.
    pub fn api_version(self) -> Option<&'static str> {
        match self {
            Self::AggregatedV2 => Some("apidiscovery.k8s.io/v2"),
            Self::AggregatedV2Beta1 => Some("apidiscovery.k8s.io/v2beta1"),
            Self::Plain => None,
        }
    }
}

/// Picks the format from an `Accept` header: the highest-q acceptable media
/// range wins, ties go to the earliest. Unknown or unsupported types (protobuf,
/// other `g`/`v`) are skipped; with nothing acceptable the answer is plain JSON,
/// which is what kube-apiserver falls back to for `*/*` too.
pub fn negotiate(accept: &str) -> DiscoveryFormat {
    let mut best: Option<(f32, DiscoveryFormat)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let base = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let (mut g, mut v, mut as_kind, mut q) = (None, None, None, 1.0f32);
        for p in parts {
            let Some((k, val)) = p.split_once('=') else { continue };
            let val = val.trim().trim_matches('"');
            match k.trim().to_ascii_lowercase().as_str() {
                "g" => g = Some(val.to_string()),
                "v" => v = Some(val.to_string()),
                "as" => as_kind = Some(val.to_string()),
                "q" => q = val.parse().unwrap_or(0.0),
                _ => {}
            }
        }
        let format = match (base.as_str(), g.as_deref(), v.as_deref(), as_kind.as_deref()) {
            ("application/json", Some(GROUP), Some("v2"), Some(KIND)) => DiscoveryFormat::AggregatedV2,
            ("application/json", Some(GROUP), Some("v2beta1"), Some(KIND)) => DiscoveryFormat::AggregatedV2Beta1,
            ("application/json" | "*/*" | "application/*", None, None, None) => DiscoveryFormat::Plain,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, format));
        }
    }
    best.map(|(_, f)| f).unwrap_or(DiscoveryFormat::Plain)
}

fn kind_ref(group: &str, version: &str, kind: &str) -> Value {
    json!({"group": group, "version": version, "kind": kind})
}

fn resource(r: &'static ResourceInfo) -> Value {
    let mut obj = Map::new();
    obj.insert("resource".into(), r.plural.into());
    obj.insert("responseKind".into(), kind_ref(r.group, r.version, r.kind));
    obj.insert("scope".into(), (if r.namespaced { "Namespaced" } else { "Cluster" }).into());
    obj.insert("singularResource".into(), r.singular.into());
    obj.insert("verbs".into(), json!(r.verbs));
    if !r.short_names.is_empty() {
        obj.insert("shortNames".into(), json!(r.short_names));
    }
    if !r.categories.is_empty() {
        obj.insert("categories".into(), json!(r.categories));
    }
    let subs: Vec<Value> = subresources_of(r)
        .iter()
        .map(|s| {
            json!({
                "subresource": s.name,
                "responseKind": kind_ref(s.group, s.version, s.kind),
                "verbs": s.verbs,
            })
        })
        .collect();
    if !subs.is_empty() {
        obj.insert("subresources".into(), Value::Array(subs));
    }
    Value::Object(obj)
}

fn group_discovery(group: &str, versions: &[&str]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| {
            let mut rows: Vec<&'static ResourceInfo> = catalog::resources_of(group, v).collect();
            rows.sort_by_key(|r| r.plural);
            let resources: Vec<Value> = rows.into_iter().map(resource).collect();
            json!({"version": v, "resources": resources, "freshness": "Current"})
        })
        .collect();
    let metadata = if group.is_empty() { json!({}) } else { json!({"name": group}) };
    json!({"metadata": metadata, "versions": versions})
}

fn build(core: bool, api_version: &str) -> Value {
    let items: Vec<Value> = catalog::groups()
        .iter()
        .filter(|(g, _)| g.is_empty() == core)
        .map(|(g, versions)| group_discovery(g, versions))
        .collect();
    json!({"kind": KIND, "apiVersion": api_version, "metadata": {}, "items": items})
}

/// The `apidiscovery.k8s.io/v2` document for `/api` (`core`) or `/apis`.
pub fn aggregated(core: bool) -> Value {
    build(core, "apidiscovery.k8s.io/v2")
}

/// The aggregated document in the requested version (`Plain` gives v2).
pub fn aggregated_as(core: bool, format: DiscoveryFormat) -> Value {
    build(core, format.api_version().unwrap_or("apidiscovery.k8s.io/v2"))
}

/// Serialized [`aggregated_as`], built once per (core, version) and served-CRD generation.
pub fn aggregated_bytes(core: bool, format: DiscoveryFormat) -> Bytes {
    type Documents = Option<(u64, [Bytes; 4])>;
    static CACHE: LazyLock<parking_lot::Mutex<Documents>> = LazyLock::new(Default::default);
    let gen = crate::crd::registry::generation();
    let idx = usize::from(!core) + if format == DiscoveryFormat::AggregatedV2Beta1 { 2 } else { 0 };
    let mut cache = CACHE.lock();
    if let Some((g, docs)) = cache.as_ref() {
        if *g == gen {
            return docs[idx].clone();
        }
    }
    let ser = |core, f| Bytes::from(serde_json::to_vec(&aggregated_as(core, f)).unwrap_or_default());
    let docs = [
        ser(true, DiscoveryFormat::AggregatedV2),
        ser(false, DiscoveryFormat::AggregatedV2),
        ser(true, DiscoveryFormat::AggregatedV2Beta1),
        ser(false, DiscoveryFormat::AggregatedV2Beta1),
    ];
    let out = docs[idx].clone();
    *cache = Some((gen, docs));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT_GO: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

    #[test]
    fn negotiates_what_client_go_sends() {
        assert_eq!(negotiate(CLIENT_GO), DiscoveryFormat::AggregatedV2);
        assert_eq!(
            negotiate("application/json;as=APIGroupDiscoveryList;v=v2beta1;g=apidiscovery.k8s.io"),
            DiscoveryFormat::AggregatedV2Beta1
        );
        assert_eq!(negotiate("application/json"), DiscoveryFormat::Plain);
        assert_eq!(negotiate(""), DiscoveryFormat::Plain);
        assert_eq!(negotiate("*/*"), DiscoveryFormat::Plain);
        assert_eq!(
            negotiate("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList;q=0.5, application/json"),
            DiscoveryFormat::Plain
        );
        assert_eq!(
            negotiate("application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"),
            DiscoveryFormat::Plain
        );
        assert_eq!(
            DiscoveryFormat::AggregatedV2.content_type(),
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
        );
    }

    #[test]
    fn core_has_pods_with_verbs_short_names_and_categories() {
        let doc = aggregated(true);
        assert_eq!(doc["apiVersion"], "apidiscovery.k8s.io/v2");
        assert_eq!(doc["items"].as_array().map(Vec::len), Some(1));
        let v1 = &doc["items"][0]["versions"][0];
        assert_eq!(v1["version"], "v1");
        assert_eq!(v1["freshness"], "Current");
        let pods = v1["resources"].as_array().and_then(|rs| rs.iter().find(|r| r["resource"] == "pods")).expect("pods");
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert_eq!(pods["categories"], json!(["all"]));
        assert_eq!(pods["scope"], "Namespaced");
        assert_eq!(pods["singularResource"], "pod");
        assert_eq!(pods["responseKind"], json!({"group": "", "version": "v1", "kind": "Pod"}));
        assert!(pods["verbs"].as_array().is_some_and(|v| v.contains(&json!("watch"))));
        let subs = pods["subresources"].as_array().expect("subresources");
        let eviction = subs.iter().find(|s| s["subresource"] == "eviction").expect("eviction");
        assert_eq!(eviction["responseKind"]["group"], "policy");
    }

    #[test]
    fn apis_lists_groups_with_preferred_version_first() {
        let doc = aggregated_as(false, DiscoveryFormat::AggregatedV2Beta1);
        assert_eq!(doc["apiVersion"], "apidiscovery.k8s.io/v2beta1");
        let items = doc["items"].as_array().expect("items");
        assert!(items.iter().all(|g| g["metadata"]["name"] != ""));
        let autoscaling = items.iter().find(|g| g["metadata"]["name"] == "autoscaling").expect("autoscaling");
        assert_eq!(autoscaling["versions"][0]["version"], "v2");
        let apps = items.iter().find(|g| g["metadata"]["name"] == "apps").expect("apps");
        let deploy = apps["versions"][0]["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["resource"] == "deployments"))
            .expect("deployments");
        let scale = deploy["subresources"]
            .as_array()
            .and_then(|s| s.iter().find(|s| s["subresource"] == "scale"))
            .expect("scale");
        assert_eq!(scale["responseKind"], json!({"group": "autoscaling", "version": "v1", "kind": "Scale"}));
        let bytes = aggregated_bytes(false, DiscoveryFormat::AggregatedV2Beta1);
        let parsed: Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(parsed, doc);
    }
}
