//! S4, custom resources: a namespaced CRD whose schema has 13 typed spec
//! fields (a default, an enum, a pattern, bounds) and one CEL rule
//! (`self.replicas <= self.maxReplicas`); the time from its POST to its
//! collection answering 200; creates of custom objects next to ConfigMaps of
//! the same size (so the ratio is the cost of the schema engine, defaulting,
//! pruning and CEL); and LISTs of both.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use bytes::Bytes;
use http::Method;
use serde_json::{json, Value};

use super::client::{self, Pool, Sender};
use super::load::Op;

/// The custom objects' namespace.
pub const NS_CR: &str = "bench-crd";
/// The ConfigMaps' namespace (same length as [`NS_CR`], so bodies match in size).
pub const NS_CM: &str = "bench-cmp";
/// Untimed warm-up creates of both kinds go here, so the LISTs see exactly N.
pub const NS_WARM: &str = "bench-wrm";
pub const GROUP: &str = "bench.capstan.io";
/// How long a new CRD may take to be served.
const SERVE_TIMEOUT: Duration = Duration::from_secs(60);
/// Pause between polls of a new CRD's collection.
const POLL: Duration = Duration::from_millis(1);
/// The CEL rule and its message.
pub const RULE: &str = "self.replicas <= self.maxReplicas";
const RULE_MESSAGE: &str = "replicas must not exceed maxReplicas";
/// The `tier` field's default (objects leave it out).
pub const TIER_DEFAULT: &str = "standard";

/// Names of CRD number `i` (0 is the one the objects use): (plural, kind).
pub fn names(i: usize) -> (String, String) {
    if i == 0 {
        ("gizmos".into(), "Gizmo".into())
    } else {
        (format!("gizmo{i}s"), format!("Gizmo{i}"))
    }
}

/// The 13 typed fields of the custom objects' spec.
fn spec_properties() -> Value {
    json!({
        "image": {"type": "string", "maxLength": 256},
        "replicas": {"type": "integer", "format": "int32", "minimum": 0},
        "maxReplicas": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 1000},
        "size": {"type": "string", "enum": ["small", "medium", "large"]},
        "color": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 20},
        "tier": {"type": "string", "default": TIER_DEFAULT},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "enabled": {"type": "boolean"},
        "weight": {"type": "number", "minimum": 0},
        "owner": {"type": "string", "maxLength": 128},
        "schedule": {"type": "string"},
        "tags": {"type": "array", "maxItems": 16, "items": {"type": "string"}},
        "resources": {
            "type": "object",
            "properties": {"cpu": {"type": "string"}, "memory": {"type": "string"}},
        },
    })
}

/// The CustomResourceDefinition number `i`.
pub fn crd(i: usize) -> Value {
    let (plural, kind) = names(i);
    let singular = plural.trim_end_matches('s').to_string();
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{GROUP}")},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": singular, "kind": kind, "listKind": format!("{kind}List")},
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "required": ["spec"],
                    "properties": {
                        "spec": {
                            "type": "object",
                            "required": ["image", "replicas", "maxReplicas", "size"],
                            "x-kubernetes-validations": [{"rule": RULE, "message": RULE_MESSAGE}],
                            "properties": spec_properties(),
                        },
                        "status": {
                            "type": "object",
                            "properties": {"phase": {"type": "string"}, "replicas": {"type": "integer"}},
                        },
                    },
                }},
            }],
        },
    })
}

/// The collection path of CRD `i`'s objects in `ns`.
pub fn cr_path(i: usize, ns: &str) -> String {
    format!("/apis/{GROUP}/v1/namespaces/{ns}/{}", names(i).0)
}

pub fn cm_path(ns: &str) -> String {
    format!("/api/v1/namespaces/{ns}/configmaps")
}

fn meta(ns: &str, name: &str) -> Value {
    json!({
        "name": name,
        "namespace": ns,
        "labels": {
            "app.kubernetes.io/name": "web-frontend",
            "app.kubernetes.io/instance": "web-frontend-prod",
            "app.kubernetes.io/part-of": "storefront",
            "team": "platform",
        },
        "annotations": {"kubernetes.io/description": "Storefront web frontend serving the public catalogue pages"},
    })
}

/// A valid custom object of CRD 0 (`tier` left to its default), or, with
/// `replicas` above 10, one the CEL rule rejects.
pub fn gizmo(ns: &str, name: &str, replicas: u32) -> Value {
    json!({
        "apiVersion": format!("{GROUP}/v1"),
        "kind": "Gizmo",
        "metadata": meta(ns, name),
        "spec": {
            "image": "registry.example.com/storefront/web-frontend:1.27.3",
            "replicas": replicas,
            "maxReplicas": 10,
            "size": "medium",
            "color": "blue",
            "port": 8080,
            "enabled": true,
            "weight": 0.75,
            "owner": "platform-team@example.com",
            "schedule": "*/5 * * * *",
            "tags": ["frontend", "public", "storefront"],
            "resources": {"cpu": "250m", "memory": "256Mi"},
        },
    })
}

/// A ConfigMap carrying the same settings as strings, padded by `pad` bytes.
pub fn configmap(ns: &str, name: &str, pad: usize) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(ns, name),
        "data": {
            "image": "registry.example.com/storefront/web-frontend:1.27.3",
            "replicas": "3",
            "maxReplicas": "10",
            "size": "medium",
            "color": "blue",
            "port": "8080",
            "enabled": "true",
            "weight": "0.75",
            "owner": "platform-team@example.com",
            "schedule": "*/5 * * * *",
            "tags": "frontend,public,storefront",
            "resources": "cpu=250m,memory=256Mi",
            "notes": "x".repeat(pad),
        },
    })
}

/// The padding that makes a ConfigMap body as long as a custom object's.
pub fn matching_pad() -> usize {
    let cr = gizmo(NS_CR, "o-0000000", 3).to_string().len();
    let cm = configmap(NS_CM, "o-0000000", 0).to_string().len();
    cr.saturating_sub(cm)
}

/// What a [`Post`] creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Gizmo,
    ConfigMap { pad: usize },
}

impl Kind {
    fn body(self, ns: &str, name: &str) -> Bytes {
        match self {
            Kind::Gizmo => gizmo(ns, name, 3),
            Kind::ConfigMap { pad } => configmap(ns, name, pad),
        }
        .to_string()
        .into()
    }
}

/// POST a new object per request, named `{prefix}{index:07}`.
pub struct Post {
    pub tx: Sender,
    pub uri: Arc<str>,
    pub ns: Arc<str>,
    pub prefix: Arc<str>,
    pub kind: Kind,
}

impl Op for Post {
    async fn run(&mut self, index: u64) -> anyhow::Result<()> {
        let name = format!("{}{index:07}", self.prefix);
        let r = client::call(&mut self.tx, Method::POST, &self.uri, Some(self.kind.body(&self.ns, &name))).await?;
        r.expect(&[201], "create")
    }
}

/// `clients` Post ops of `kind` into the collection at `path`.
pub fn posts(pool: &Pool, clients: usize, path: &str, ns: &str, prefix: &str, kind: Kind) -> Vec<Post> {
    let (uri, ns, prefix): (Arc<str>, Arc<str>, Arc<str>) = (pool.uri(path).into(), ns.into(), prefix.into());
    (0..clients.max(1))
        .map(|c| Post { tx: pool.sender(c), uri: uri.clone(), ns: ns.clone(), prefix: prefix.clone(), kind })
        .collect()
}

/// How long CRD `i` took from its POST to its collection in `ns` answering 200.
pub struct Served {
    /// The POST of the CRD alone.
    pub post: Duration,
    /// From sending the POST to the first 200 of the collection.
    pub served: Duration,
    /// GETs of the collection that did not answer 200 first.
    pub misses: u64,
}

/// POSTs CRD `i`, then polls its collection in `ns` until it answers 200.
pub async fn create_and_wait(pool: &Pool, i: usize, ns: &str) -> anyhow::Result<Served> {
    let mut tx = pool.sender(0);
    let crds = pool.uri("/apis/apiextensions.k8s.io/v1/customresourcedefinitions");
    let list = pool.uri(&cr_path(i, ns));
    let t0 = Instant::now();
    let r = client::call(&mut tx, Method::POST, &crds, Some(crd(i).to_string().into())).await?;
    let post = t0.elapsed();
    r.expect(&[201], &format!("creating CRD {}.{GROUP}", names(i).0))?;
    let mut misses = 0;
    loop {
        let r = client::call(&mut tx, Method::GET, &list, None).await?;
        if r.status.as_u16() == 200 {
            return Ok(Served { post, served: t0.elapsed(), misses });
        }
        misses += 1;
        if t0.elapsed() > SERVE_TIMEOUT {
            bail!("CRD {}.{GROUP} was not served within {SERVE_TIMEOUT:?} (last: HTTP {})", names(i).0, r.status);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Whether the server enforces the CEL rule and the default: POSTs an object
/// that breaks the rule (expects 422 quoting the rule's message) and reads back
/// `spec.tier` of the valid object `probe` (expects the default).
pub async fn check_semantics(pool: &Pool, ns: &str, probe: &str) -> anyhow::Result<(bool, bool)> {
    let mut tx = pool.sender(0);
    let uri = pool.uri(&cr_path(0, ns));
    let bad = gizmo(ns, "breaks-the-rule", 11).to_string();
    let r = client::call(&mut tx, Method::POST, &uri, Some(bad.into())).await?;
    let cel = r.status.as_u16() == 422 && String::from_utf8_lossy(&r.body).contains(RULE_MESSAGE);
    if !cel {
        let text = String::from_utf8_lossy(&r.body[..r.body.len().min(300)]).into_owned();
        eprintln!("note: the CEL rule was not enforced: HTTP {}: {text}", r.status.as_u16());
    }
    let r = client::call(&mut tx, Method::GET, &format!("{uri}/{probe}"), None).await?;
    r.expect(&[200], "get a custom object")?;
    let obj: Value = r.json()?;
    let defaulted = obj.pointer("/spec/tier").and_then(Value::as_str) == Some(TIER_DEFAULT);
    Ok((cel, defaulted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configmap_matches_the_custom_object_in_size() {
        let pad = matching_pad();
        assert!(pad > 0);
        let cr = gizmo(NS_CR, "c-0001234", 3).to_string().len();
        let cm = configmap(NS_CM, "c-0001234", pad).to_string().len();
        assert_eq!(cr, cm);
        assert!((600..=1200).contains(&cr), "custom object is {cr} bytes");
    }

    #[test]
    fn crd_names_and_schema() {
        assert_eq!(names(0), ("gizmos".to_string(), "Gizmo".to_string()));
        assert_eq!(names(3), ("gizmo3s".to_string(), "Gizmo3".to_string()));
        let c = crd(2);
        assert_eq!(c["metadata"]["name"], "gizmo2s.bench.capstan.io");
        assert_eq!(c["spec"]["names"]["singular"], "gizmo2");
        let spec = &c["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
        assert_eq!(spec["properties"].as_object().map_or(0, |p| p.len()), 13);
        assert_eq!(spec["x-kubernetes-validations"][0]["rule"], RULE);
        assert_eq!(cr_path(0, "ns"), "/apis/bench.capstan.io/v1/namespaces/ns/gizmos");
    }

    #[test]
    fn gizmo_leaves_the_default_out() {
        let g = gizmo("ns", "a", 3);
        assert!(g["spec"].get("tier").is_none());
        assert!(g["spec"]["replicas"].as_u64() <= g["spec"]["maxReplicas"].as_u64());
    }
}
