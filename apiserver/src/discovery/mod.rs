//! API discovery documents built from the catalog: the legacy (unaggregated)
//! `/api`, `/apis`, `/apis/<group>` and `/api[s]/<gv>` answers, and the
//! aggregated `APIGroupDiscoveryList` (see [`aggregated`]). All functions are
//! pure; the HTTP layer picks one with [`negotiate`] and sends the bytes with
//! the returned content type (plus `Vary: Accept`).

mod aggregated;
pub mod hash;
pub mod subresources;

pub use aggregated::{aggregated, aggregated_as, aggregated_bytes, negotiate, DiscoveryFormat};
pub use subresources::{subresource, subresources_of, SubresourceInfo};

use serde_json::{json, Map, Value};

use crate::catalog::{self, ResourceInfo, RESOURCES};

/// `/api`: the core group's versions.
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_version_for_discovery(group: &str, version: &str) -> Value {
    json!({"groupVersion": format!("{group}/{version}"), "version": version})
}

fn group_value(group: &str, versions: &[&str]) -> Value {
    let vs: Vec<Value> = versions.iter().map(|v| group_version_for_discovery(group, v)).collect();
    let preferred = versions.first().map(|v| group_version_for_discovery(group, v)).unwrap_or(Value::Null);
    json!({"name": group, "versions": vs, "preferredVersion": preferred})
}

/// `/apis`: every named group, preferred version first.
pub fn api_group_list() -> Value {
    let groups: Vec<Value> =
        catalog::groups().iter().filter(|(g, _)| !g.is_empty()).map(|(g, vs)| group_value(g, vs)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`, or `None` for an unknown (or the core) group.
pub fn api_group(group: &str) -> Option<Value> {
    let groups = catalog::groups();
    let (name, versions) = groups.iter().find(|(g, _)| !g.is_empty() && *g == group)?;
    let mut v = group_value(name, versions);
    if let Value::Object(obj) = &mut v {
        obj.insert("kind".into(), "APIGroup".into());
        obj.insert("apiVersion".into(), "v1".into());
    }
    Some(v)
}

/// The catalog row whose storage version a resource is persisted as: the
/// first row with the same etcd path (e.g. events.k8s.io events are stored as
/// core/v1 Events, autoscaling/v1 HPAs as autoscaling/v2).
pub(crate) fn storage_row(r: &'static ResourceInfo) -> Option<&'static ResourceInfo> {
    if !r.is_stored() {
        return None;
    }
    if crate::crd::registry::is_custom(r) {
        return Some(crate::handlers::storage_row(r));
    }
    RESOURCES.iter().find(|s| s.storage == r.storage)
}

pub(crate) fn storage_version_hash(r: &'static ResourceInfo) -> Option<String> {
    storage_row(r).map(|s| hash::storage_version_hash(s.group, s.version, s.kind))
}

fn insert_non_empty(obj: &mut Map<String, Value>, key: &str, items: &[&str]) {
    if !items.is_empty() {
        obj.insert(key.into(), json!(items));
    }
}

fn resource_entry(r: &'static ResourceInfo) -> Value {
    let mut obj = Map::new();
    obj.insert("name".into(), r.plural.into());
    obj.insert("singularName".into(), r.singular.into());
    obj.insert("namespaced".into(), r.namespaced.into());
    obj.insert("kind".into(), r.kind.into());
    obj.insert("verbs".into(), json!(r.verbs));
    insert_non_empty(&mut obj, "shortNames", r.short_names);
    insert_non_empty(&mut obj, "categories", r.categories);
    if let Some(h) = storage_version_hash(r) {
        obj.insert("storageVersionHash".into(), h.into());
    }
    Value::Object(obj)
}

fn subresource_entry(r: &'static ResourceInfo, s: &SubresourceInfo) -> Value {
    let mut obj = Map::new();
    obj.insert("name".into(), format!("{}/{}", r.plural, s.name).into());
    obj.insert("singularName".into(), "".into());
    obj.insert("namespaced".into(), r.namespaced.into());
    // group/version are only spelled out when they differ from the list's.
    if (s.group, s.version) != (r.group, r.version) {
        obj.insert("group".into(), s.group.into());
        obj.insert("version".into(), s.version.into());
    }
    obj.insert("kind".into(), s.kind.into());
    obj.insert("verbs".into(), json!(s.verbs));
    Value::Object(obj)
}

/// `/api/v1` or `/apis/<group>/<version>`, or `None` if not served.
pub fn api_resource_list(group: &str, version: &str) -> Option<Value> {
    let rows: Vec<&'static ResourceInfo> = catalog::resources_of(group, version).collect();
    if rows.is_empty() {
        return None;
    }
    let mut entries: Vec<(String, Value)> = Vec::new();
    for r in rows {
        entries.push((r.plural.to_string(), resource_entry(r)));
        for s in subresources_of(r) {
            entries.push((format!("{}/{}", r.plural, s.name), subresource_entry(r, &s)));
        }
    }
    // kube lists resources and subresources sorted by name.
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let resources: Vec<Value> = entries.into_iter().map(|(_, v)| v).collect();
    let mut obj = Map::new();
    obj.insert("kind".into(), "APIResourceList".into());
    if group.is_empty() {
        obj.insert("groupVersion".into(), version.into());
    } else {
        obj.insert("apiVersion".into(), "v1".into());
        obj.insert("groupVersion".into(), format!("{group}/{version}").into());
    }
    obj.insert("resources".into(), Value::Array(resources));
    Some(Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(list: &'a Value, name: &str) -> &'a Value {
        list["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["name"] == name))
            .unwrap_or_else(|| panic!("{name} missing"))
    }

    #[test]
    fn deployments_scale_is_autoscaling_v1_scale() {
        let list = api_resource_list("apps", "v1").expect("apps/v1");
        assert_eq!(list["groupVersion"], "apps/v1");
        let scale = entry(&list, "deployments/scale");
        assert_eq!(scale["kind"], "Scale");
        assert_eq!(scale["group"], "autoscaling");
        assert_eq!(scale["version"], "v1");
        assert_eq!(scale["verbs"], json!(["get", "patch", "update"]));
        let status = entry(&list, "deployments/status");
        assert_eq!(status["kind"], "Deployment");
        assert!(status.get("group").is_none());
        let d = entry(&list, "deployments");
        assert_eq!(d["shortNames"], json!(["deploy"]));
        assert_eq!(d["storageVersionHash"], "8aSe+NMegvE=");
    }

    #[test]
    fn core_v1_lists_pod_subresources_sorted() {
        let list = api_resource_list("", "v1").expect("v1");
        assert!(list.get("apiVersion").is_none());
        let names: Vec<&str> =
            list["resources"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
        assert_eq!(entry(&list, "pods")["storageVersionHash"], "xPOwRZ+Yhw8=");
        assert_eq!(entry(&list, "pods/binding")["verbs"], json!(["create"]));
        assert!(entry(&list, "pods/binding").get("group").is_none());
        let ev = entry(&list, "pods/eviction");
        assert_eq!((ev["group"].as_str(), ev["kind"].as_str()), (Some("policy"), Some("Eviction")));
        assert_eq!(entry(&list, "namespaces/finalize")["verbs"], json!(["update"]));
        assert!(entry(&list, "bindings").get("storageVersionHash").is_none());
    }

    #[test]
    fn csr_approval_and_shared_storage_hashes() {
        let list = api_resource_list("certificates.k8s.io", "v1").expect("certificates");
        assert_eq!(entry(&list, "certificatesigningrequests/approval")["verbs"], json!(["get", "patch", "update"]));
        let core = api_resource_list("", "v1").expect("v1");
        let events = api_resource_list("events.k8s.io", "v1").expect("events");
        assert_eq!(entry(&core, "events")["storageVersionHash"], entry(&events, "events")["storageVersionHash"]);
        assert!(api_resource_list("apps", "v9").is_none());
    }

    #[test]
    fn groups_and_versions() {
        let list = api_group_list();
        let groups = list["groups"].as_array().expect("groups");
        assert!(groups.iter().all(|g| g["name"] != ""));
        let autoscaling = groups.iter().find(|g| g["name"] == "autoscaling").expect("autoscaling");
        assert_eq!(autoscaling["preferredVersion"]["groupVersion"], "autoscaling/v2");
        assert_eq!(autoscaling["versions"][1]["version"], "v1");
        let apps = api_group("apps").expect("apps");
        assert_eq!(apps["kind"], "APIGroup");
        assert!(api_group("").is_none() && api_group("nope").is_none());
        let v = api_versions("10.0.0.1:6443");
        assert_eq!(v["serverAddressByClientCIDRs"][0]["serverAddress"], "10.0.0.1:6443");
    }
}
