//! S4, server-side apply: each client owns one Deployment and changes one label
//! per request, (a) by server-side apply (`PATCH ?fieldManager=bench` with
//! `application/apply-patch+yaml`; the body is JSON, which is YAML), (b) by the
//! PUT update path (read-modify-write with the resourceVersion, as the S3 update
//! row), and (c) re-applies the same body again, which must not write: every
//! response of a client must carry the same resourceVersion.

use std::sync::Arc;

use anyhow::{bail, Context};
use http::Method;
use serde_json::{json, Value};

use super::client::{self, Pool, Sender};
use super::load::Op;
use super::pod;

/// The namespace of the apply and update Deployments.
pub const NS: &str = "bench-ssa";
/// Server-side apply's content type.
pub const APPLY: &str = "application/apply-patch+yaml";
/// The field manager of the applies.
pub const MANAGER: &str = "bench";
/// The label each request changes (the same one the S3 update row changes).
pub const REV_LABEL: &str = "bench-rev";

/// The collection URI of Deployments in `ns`.
pub fn deployments_uri(pool: &Pool, ns: &str) -> String {
    pool.uri(&format!("/apis/apps/v1/namespaces/{ns}/deployments"))
}

/// A Deployment whose pod template is the bench pod (~2.3 KB as JSON), with
/// label `bench-rev` = `rev`.
pub fn deployment(ns: &str, name: &str, rev: u64) -> Value {
    let mut p = pod::pod(ns, name);
    let labels = p.pointer("/metadata/labels").cloned().unwrap_or_else(|| json!({}));
    let annotations = p.pointer("/metadata/annotations").cloned().unwrap_or_else(|| json!({}));
    let spec = p.get_mut("spec").map(Value::take).unwrap_or_else(|| json!({}));
    let mut d = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels, "annotations": annotations},
        "spec": {
            "replicas": 3,
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": {
                "app.kubernetes.io/name": "web-frontend",
                "app.kubernetes.io/instance": "web-frontend-prod",
                pod::MARKER: name,
            }},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {"metadata": {"labels": labels}, "spec": spec},
        },
    });
    pod::set_label(&mut d, REV_LABEL, &rev.to_string());
    d
}

/// One client's server-side apply of its own Deployment. Unless `noop`, each
/// request bumps the `bench-rev` label; with `noop` it re-applies the same
/// body and counts responses whose resourceVersion differs from the client's
/// first one.
pub struct Apply {
    pub tx: Sender,
    /// The object's URI with `?fieldManager=bench`.
    pub uri: String,
    pub ns: Arc<str>,
    pub name: String,
    /// The label value last sent.
    pub rev: u64,
    pub noop: bool,
    /// (no-op) The resourceVersion of the first response.
    pub first_rv: Option<String>,
    /// (no-op) Responses since then with another resourceVersion.
    pub rv_changes: u64,
    pub conflicts: u64,
}

impl Apply {
    pub fn new(tx: Sender, deployments_uri: &str, ns: Arc<str>, name: String) -> Apply {
        let uri = format!("{deployments_uri}/{name}?fieldManager={MANAGER}");
        Apply { tx, uri, ns, name, rev: 0, noop: false, first_rv: None, rv_changes: 0, conflicts: 0 }
    }

    /// The first apply, which creates the object (201), untimed.
    pub async fn create(&mut self) -> anyhow::Result<()> {
        let body = deployment(&self.ns, &self.name, self.rev).to_string();
        let r = client::call_as(&mut self.tx, Method::PATCH, &self.uri, Some(body.into()), APPLY).await?;
        r.expect(&[201], &format!("creating deployment {} by server-side apply", self.name))
    }
}

impl Op for Apply {
    async fn run(&mut self, _index: u64) -> anyhow::Result<()> {
        if !self.noop {
            self.rev += 1;
        }
        let body = deployment(&self.ns, &self.name, self.rev).to_string();
        let r = client::call_as(&mut self.tx, Method::PATCH, &self.uri, Some(body.into()), APPLY).await?;
        if r.status.as_u16() == 409 {
            self.conflicts += 1;
        }
        r.expect(&[200], "apply")?;
        if self.noop {
            let rv = resource_version(&r.json()?)?;
            match &self.first_rv {
                None => self.first_rv = Some(rv),
                Some(first) if *first != rv => self.rv_changes += 1,
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// `metadata.resourceVersion` of an object.
pub fn resource_version(obj: &Value) -> anyhow::Result<String> {
    obj.pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .map(str::to_string)
        .context("the object has no metadata.resourceVersion")
}

/// Creates the Deployment `name` by POST (for the update workload).
pub async fn post(tx: &mut Sender, deployments_uri: &str, ns: &str, name: &str) -> anyhow::Result<()> {
    let body = deployment(ns, name, 0).to_string();
    let r = client::call(tx, Method::POST, deployments_uri, Some(body.into())).await?;
    r.expect(&[201], &format!("creating deployment {name}"))
}

/// The stored object's size and its managedFields entries (GET of `uri`).
pub async fn stored_shape(tx: &mut Sender, uri: &str) -> anyhow::Result<(usize, usize, usize)> {
    let r = client::call(tx, Method::GET, uri, None).await?;
    r.expect(&[200], "get deployment")?;
    let obj = r.json()?;
    let Some(mf) = obj.pointer("/metadata/managedFields").and_then(Value::as_array) else {
        bail!("the applied Deployment has no metadata.managedFields");
    };
    let mf_bytes = serde_json::to_vec(mf)?.len();
    Ok((r.body.len(), mf.len(), mf_bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_is_pod_sized_and_labelled() {
        let d = deployment("bench-ssa", "apply-000", 7);
        let n = d.to_string().len();
        assert!((1800..=3000).contains(&n), "deployment body is {n} bytes");
        assert_eq!(d["metadata"]["labels"][REV_LABEL], "7");
        assert_eq!(d["spec"]["template"]["spec"]["containers"][0]["name"], "web");
        let sel = d["spec"]["selector"]["matchLabels"].as_object().map_or(0, |m| m.len());
        assert_eq!(sel, 3);
        for (k, v) in d["spec"]["selector"]["matchLabels"].as_object().into_iter().flatten() {
            assert_eq!(&d["spec"]["template"]["metadata"]["labels"][k], v, "selector {k} matches the template");
        }
        assert_ne!(deployment("n", "a", 1), deployment("n", "a", 2));
    }

    #[test]
    fn resource_version_is_read() {
        let o = json!({"metadata": {"resourceVersion": "42"}});
        assert_eq!(resource_version(&o).ok().as_deref(), Some("42"));
        assert!(resource_version(&json!({})).is_err());
    }
}
