//! Namespace lifecycle: the default namespaces and the `kubernetes` service at
//! start, admission of new content (the namespace must exist and not be
//! terminating), and the finalizer that empties a Terminating namespace and
//! then removes it.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::delete::{delete_one, DeleteOptions};
use super::request::{Query, RequestInfo, Verb};
use super::{object, store, Api, Ctx};
use crate::catalog::{self, ResourceInfo};
use crate::error::ApiError;
use crate::registry::defaults;
use crate::storage::TxnOutcome;

fn namespaces() -> Result<&'static ResourceInfo, ApiError> {
    catalog::find("", "v1", "namespaces").ok_or_else(|| ApiError::Internal("namespaces missing from catalog".into()))
}

async fn ensure(api: &Api, ri: &ResourceInfo, ns: &str, mut obj: Value) -> Result<(), ApiError> {
    let key = api.key(ri, ns, object::name_of(&obj));
    if api.backend.get(&key).await?.0.is_some() {
        return Ok(());
    }
    {
        let m = object::meta_mut(&mut obj);
        m.insert("uid".into(), uuid::Uuid::new_v4().to_string().into());
        m.insert("creationTimestamp".into(), object::now_rfc3339().into());
    }
    defaults::apply_defaults(ri, &mut obj);
    let _ = api.backend.create(&key, store::encode(&obj)?).await?;
    Ok(())
}

/// Creates the namespaces and the `kubernetes` service every cluster has.
pub async fn bootstrap(api: &Arc<Api>) -> Result<(), ApiError> {
    let ns = namespaces()?;
    for name in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        ensure(api, ns, "", json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})).await?;
    }
    if let Some(svc) = catalog::find("", "v1", "services") {
        let ip = api.ips.first_ip();
        api.ips.mark_used(ip);
        let obj = json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"type": "ClusterIP", "clusterIP": ip.to_string(), "clusterIPs": [ip.to_string()],
                     "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}
        });
        ensure(api, svc, "default", obj).await?;
    }
    Ok(())
}

/// NamespaceLifecycle admission for a new namespaced object.
pub async fn admit_create(ctx: &Ctx<'_>, obj: &Value) -> Result<(), ApiError> {
    if !ctx.ri.namespaced {
        return Ok(());
    }
    let ns = object::meta_str(obj, "namespace");
    let nsri = namespaces()?;
    let key = ctx.api.key(nsri, "", ns);
    let cached = ctx.api.cache(nsri)?.get(&key);
    let deleting = match cached {
        Some(o) => serde_json::from_slice::<Value>(&o.json).map(|v| object::is_deleting(&v)).unwrap_or(false),
        None => match ctx.api.backend.get(&key).await?.0 {
            Some(kv) => object::is_deleting(&store::decode_kv(&kv)?.obj),
            None => {
                return Err(ApiError::NotFound {
                    resource: "namespaces".into(),
                    group: String::new(),
                    kind_plural: "namespaces".into(),
                    name: ns.into(),
                })
            }
        },
    };
    if deleting {
        return Err(ApiError::Forbidden(format!(
            "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
            ctx.ri.group_resource(),
            object::name_of(obj)
        )));
    }
    Ok(())
}

/// Runs the namespace finalizer loop in the background.
pub fn spawn_finalizer(api: Arc<Api>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            if let Err(e) = finalize_pass(&api).await {
                tracing::debug!(error = %e, "namespace finalizer pass failed");
            }
        }
    });
}

async fn finalize_pass(api: &Arc<Api>) -> Result<(), ApiError> {
    let nsri = namespaces()?;
    let cache = api.cache(nsri)?;
    let terminating: Vec<String> = cache
        .list("", None, 0, &|o| o.fields.iter().any(|(k, v)| *k == "status.phase" && v == "Terminating"))
        .items
        .iter()
        .map(|o| o.name.clone())
        .collect();
    let parts = http::Request::new(()).into_parts().0;
    let query = Query::default();
    for ns in terminating {
        let mut remaining = 0usize;
        let mut seen = std::collections::HashSet::new();
        for ri in catalog::all().into_iter().filter(|r| r.namespaced && r.is_stored()) {
            if !seen.insert(ri.storage) {
                continue;
            }
            let prefix = ri.key_prefix(&api.cfg.etcd_prefix, &ns);
            let items = api.cache(ri)?.list(&prefix, None, 0, &|_| true).items;
            remaining += items.len();
            for o in items {
                let info = RequestInfo {
                    group: ri.group.into(),
                    version: ri.version.into(),
                    namespace: ns.clone(),
                    resource: ri.plural.into(),
                    name: o.name.clone(),
                    subresource: String::new(),
                    verb: Verb::Delete,
                };
                let ctx = Ctx { api, ri, info: &info, query: &query, parts: &parts };
                let opts = DeleteOptions { grace_period: Some(0), ..Default::default() };
                match delete_one(&ctx, &opts).await {
                    Ok(_) | Err(ApiError::NotFound { .. }) => {}
                    Err(e) => tracing::debug!(error = %e, ns, name = o.name, "namespace content delete failed"),
                }
            }
        }
        if remaining == 0 {
            finalize_namespace(api, nsri, &ns).await?;
        }
    }
    Ok(())
}

async fn finalize_namespace(api: &Arc<Api>, nsri: &ResourceInfo, ns: &str) -> Result<(), ApiError> {
    let key = api.key(nsri, "", ns);
    let Some(kv) = api.backend.get(&key).await?.0 else { return Ok(()) };
    let cur = store::decode_kv(&kv)?;
    let mut obj = cur.obj.clone();
    if let Some(f) = obj.pointer_mut("/spec/finalizers").and_then(Value::as_array_mut) {
        f.retain(|x| x != "kubernetes");
    }
    let spec_left = obj.pointer("/spec/finalizers").and_then(Value::as_array).is_some_and(|a| !a.is_empty());
    let outcome = if !spec_left && object::finalizers(&obj).is_empty() {
        api.backend.delete(&key, cur.mod_revision).await?
    } else {
        api.backend.update(&key, store::encode(&obj)?, cur.mod_revision).await?
    };
    if let TxnOutcome::Conflict(_) = outcome {
        tracing::debug!(ns, "namespace changed while finalizing; retrying next pass");
    }
    Ok(())
}
