//! The CRD controller: turns stored CustomResourceDefinitions into served
//! resources, as kube-apiserver's naming, establishing and finalizer
//! controllers do together.
//!
//! On every CRD event it re-reads all CRDs from the watch cache and, for each:
//! checks its names against the other CRDs of the group (NamesAccepted), starts
//! serving it (registry row + watch cache), writes `status` (conditions,
//! acceptedNames, storedVersions) and the `customresourcecleanup` finalizer.
//! A CRD being deleted stops taking new objects, has its custom resources
//! deleted, then loses the finalizer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::registry::{self, CrdServing};
use crate::catalog::{self, ResourceInfo};
use crate::error::ApiError;
use crate::handlers::delete::{delete_one, DeleteOptions};
use crate::handlers::request::{Query, RequestInfo, Verb};
use crate::handlers::{object, store, Api, Ctx};
use crate::storage::TxnOutcome;

/// The finalizer kube puts on every CRD so its objects are deleted first.
pub const CLEANUP_FINALIZER: &str = "customresourcecleanup.apiextensions.k8s.io";

fn crd_row() -> Result<&'static ResourceInfo, ApiError> {
    catalog::find("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .ok_or_else(|| ApiError::Internal("customresourcedefinitions missing from catalog".into()))
}

fn stored_crds(api: &Api) -> Vec<Value> {
    let Ok(row) = crd_row() else { return Vec::new() };
    let Ok(cache) = api.cache(row) else { return Vec::new() };
    cache.list("", None, 0, &|_| true).items.iter().filter_map(|o| serde_json::from_slice(&o.json).ok()).collect()
}

/// What identifies a CRD's served shape: a change means re-registering.
type Fingerprint = (String, i64);

fn fingerprint(crd: &Value) -> Fingerprint {
    let gen = object::meta(crd).and_then(|m| m.get("generation")).and_then(Value::as_i64).unwrap_or(0);
    (object::meta_str(crd, "uid").to_string(), gen)
}

/// Serves every stored CRD before the API takes requests (restart path).
pub async fn serve_stored(api: &Arc<Api>) {
    let mut seen = HashMap::new();
    reconcile_all(api, &mut seen).await;
}

/// Runs the controller until the process ends.
pub fn spawn(api: Arc<Api>) {
    tokio::spawn(async move {
        let mut seen: HashMap<String, Fingerprint> = HashMap::new();
        loop {
            let watch = crd_row().and_then(|r| api.cache(r)).and_then(|c| c.watch(0).map_err(ApiError::from));
            let mut watch = match watch {
                Ok(w) => w,
                Err(e) => {
                    tracing::debug!(error = %e, "CRD watch unavailable");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            loop {
                reconcile_all(&api, &mut seen).await;
                // Events wake us at once; the tick retries cleanups and lost writes.
                match tokio::time::timeout(Duration::from_secs(2), watch.next()).await {
                    Ok(Some(_)) => while let Ok(Some(_)) = watch.try_next() {},
                    Ok(None) => break,
                    Err(_) => {}
                }
            }
        }
    });
}

async fn reconcile_all(api: &Arc<Api>, seen: &mut HashMap<String, Fingerprint>) {
    let crds = stored_crds(api);
    let names: Vec<String> = crds.iter().map(|c| object::name_of(c).to_string()).collect();
    for gone in registry::names().into_iter().filter(|n| !names.contains(n)) {
        stop_serving(api, &gone);
        seen.remove(&gone);
    }
    for crd in &crds {
        let name = object::name_of(crd).to_string();
        if object::meta(crd).and_then(|m| m.get("deletionTimestamp")).is_some() {
            if let Err(e) = cleanup(api, crd).await {
                tracing::debug!(error = %e, crd = name, "CRD cleanup pending");
            }
            continue;
        }
        let conflict = names_conflict(crd, &crds);
        if conflict.is_none() && seen.get(&name) != Some(&fingerprint(crd)) {
            match registry::build(crd) {
                Ok(s) => {
                    start_serving(api, s).await;
                    seen.insert(name.clone(), fingerprint(crd));
                }
                Err(e) => tracing::warn!(crd = name, error = %e, "CRD cannot be served"),
            }
        }
        if let Err(e) = write_status(api, crd, conflict.as_deref()).await {
            tracing::debug!(error = %e, crd = name, "CRD status write failed; retrying");
        }
    }
}

async fn start_serving(api: &Arc<Api>, s: CrdServing) {
    let rows: Vec<&'static ResourceInfo> = s.versions.iter().map(|v| v.row).collect();
    let name = s.name.clone();
    let old_storage = registry::by_name(&name).and_then(|o| o.versions.first().map(|v| v.row.storage));
    // Cache first, so the resource answers as soon as discovery lists it.
    if let Some(r) = rows.first() {
        api.ensure_cache(r).await;
    }
    if let Some(old) = old_storage {
        if rows.first().map(|r| r.storage) != Some(old) {
            api.drop_cache(old);
        }
    }
    registry::register(s);
    tracing::info!(crd = name, "serving custom resource");
}

fn stop_serving(api: &Api, name: &str) {
    if let Some(s) = registry::by_name(name) {
        if let Some(v) = s.versions.first() {
            api.drop_cache(v.row.storage);
        }
    }
    registry::unregister(name);
}

/// Another CRD of the same group already owns the plural or kind: kube's NamesAccepted=False.
fn names_conflict(crd: &Value, all: &[Value]) -> Option<String> {
    let me = object::name_of(crd);
    let group = crd.pointer("/spec/group").and_then(Value::as_str).unwrap_or("");
    let plural = crd.pointer("/spec/names/plural").and_then(Value::as_str).unwrap_or("");
    let kind = crd.pointer("/spec/names/kind").and_then(Value::as_str).unwrap_or("");
    for other in all.iter().filter(|o| object::name_of(o) != me) {
        if other.pointer("/spec/group").and_then(Value::as_str) != Some(group) {
            continue;
        }
        if other.pointer("/status/acceptedNames/plural").and_then(Value::as_str) == Some(plural) {
            return Some(format!("\"{plural}\" is already in use"));
        }
        if other.pointer("/status/acceptedNames/kind").and_then(Value::as_str) == Some(kind) {
            return Some(format!("\"{kind}\" is already in use"));
        }
    }
    None
}

fn condition(kind: &str, ok: bool, reason: &str, message: &str, prev: Option<&Value>) -> Value {
    let status = if ok { "True" } else { "False" };
    // Keep the transition time while the status stays the same.
    let time = prev
        .and_then(|c| c.as_array())
        .and_then(|a| a.iter().find(|c| c.get("type").and_then(Value::as_str) == Some(kind)))
        .filter(|c| c.get("status").and_then(Value::as_str) == Some(status))
        .and_then(|c| c.get("lastTransitionTime").cloned())
        .unwrap_or_else(|| object::now_rfc3339().into());
    json!({"type": kind, "status": status, "lastTransitionTime": time, "reason": reason, "message": message})
}

fn accepted_names(crd: &Value) -> Value {
    let mut names = crd.pointer("/spec/names").cloned().unwrap_or_else(|| json!({}));
    if let Some(m) = names.as_object_mut() {
        let kind = m.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
        if !m.contains_key("singular") {
            m.insert("singular".into(), kind.to_lowercase().into());
        }
        if !m.contains_key("listKind") {
            m.insert("listKind".into(), format!("{kind}List").into());
        }
    }
    names
}

fn desired_status(crd: &Value, conflict: Option<&str>) -> Value {
    let prev = crd.pointer("/status/conditions");
    let mut stored: Vec<Value> =
        crd.pointer("/status/storedVersions").and_then(Value::as_array).cloned().unwrap_or_default();
    let storage = crd
        .pointer("/spec/versions")
        .and_then(Value::as_array)
        .and_then(|vs| vs.iter().find(|v| v.get("storage").and_then(Value::as_bool) == Some(true)))
        .and_then(|v| v.get("name").cloned());
    if let Some(s) = storage {
        if !stored.contains(&s) {
            stored.push(s);
        }
    }
    let (conditions, names) = match conflict {
        None => (
            vec![
                condition("NamesAccepted", true, "NoConflicts", "no conflicts found", prev),
                condition("Established", true, "InitialNamesAccepted", "the initial names have been accepted", prev),
            ],
            accepted_names(crd),
        ),
        Some(msg) => (
            vec![
                condition("NamesAccepted", false, "MultipleNamesConflict", msg, prev),
                condition("Established", false, "NotAccepted", "not all names are accepted", prev),
            ],
            crd.pointer("/status/acceptedNames").cloned().unwrap_or_else(|| json!({"plural": "", "kind": ""})),
        ),
    };
    json!({"conditions": conditions, "acceptedNames": names, "storedVersions": stored})
}

fn has_cleanup_finalizer(crd: &Value) -> bool {
    object::finalizers(crd).iter().any(|f| f == CLEANUP_FINALIZER)
}

/// Status and finalizer are already what the controller would write.
fn settled(crd: &Value, conflict: Option<&str>) -> bool {
    has_cleanup_finalizer(crd) && crd.get("status") == Some(&desired_status(crd, conflict))
}

/// Writes status and the cleanup finalizer when they differ from what is stored.
async fn write_status(api: &Arc<Api>, crd: &Value, conflict: Option<&str>) -> Result<(), ApiError> {
    // The cached copy answers the common case (nothing to write) without an etcd read.
    if settled(crd, conflict) {
        return Ok(());
    }
    let row = crd_row()?;
    let key = api.key(row, "", object::name_of(crd));
    let Some(kv) = api.backend.get(&key).await?.0 else { return Ok(()) };
    let cur = store::decode_kv(&kv)?;
    let mut obj = cur.obj.clone();
    if settled(&obj, conflict) {
        return Ok(());
    }
    let status = desired_status(&obj, conflict);
    let has_finalizer = has_cleanup_finalizer(&obj);
    if let Some(o) = obj.as_object_mut() {
        o.insert("status".into(), status);
    }
    if !has_finalizer {
        let m = object::meta_mut(&mut obj);
        let list = m.entry("finalizers").or_insert_with(|| json!([]));
        if let Some(a) = list.as_array_mut() {
            a.push(CLEANUP_FINALIZER.into());
        }
    }
    if let TxnOutcome::Conflict(_) = api.backend.update(&key, store::encode(&obj)?, cur.mod_revision).await? {
        tracing::debug!("CRD changed while writing status; retrying");
    }
    Ok(())
}

/// Deletes a terminating CRD's objects, then drops its finalizer.
async fn cleanup(api: &Arc<Api>, crd: &Value) -> Result<(), ApiError> {
    let name = object::name_of(crd).to_string();
    let serving = registry::by_name(&name).or_else(|| registry::build(crd).ok().map(Arc::new));
    let mut remaining = 0usize;
    if let Some(s) = &serving {
        if let Some(v) = s.versions.first() {
            let ri = v.row;
            let cache = api.ensure_cache(ri).await;
            let prefix = ri.key_prefix(&api.cfg.etcd_prefix, "");
            let items = cache.list(&prefix, None, 0, &|_| true).items;
            remaining = items.len();
            let parts = http::Request::new(()).into_parts().0;
            let query = Query::default();
            for o in items {
                let info = RequestInfo {
                    group: ri.group.into(),
                    version: ri.version.into(),
                    namespace: o.namespace.clone(),
                    resource: ri.plural.into(),
                    name: o.name.clone(),
                    subresource: String::new(),
                    verb: Verb::Delete,
                };
                let ctx = Ctx { api, ri, info: &info, query: &query, parts: &parts };
                let opts = DeleteOptions { grace_period: Some(0), ..Default::default() };
                match delete_one(&ctx, &opts).await {
                    Ok((_, true)) | Err(ApiError::NotFound { .. }) => remaining -= 1,
                    Ok(_) => {}
                    Err(e) => tracing::debug!(error = %e, name = o.name, "custom resource delete failed"),
                }
            }
        }
    }
    if remaining > 0 {
        return Err(ApiError::Internal(format!("{remaining} custom resources remain")));
    }
    stop_serving(api, &name);
    let row = crd_row()?;
    let key = api.key(row, "", &name);
    let Some(kv) = api.backend.get(&key).await?.0 else { return Ok(()) };
    let cur = store::decode_kv(&kv)?;
    let mut obj = cur.obj.clone();
    if let Some(f) = object::meta_mut(&mut obj).get_mut("finalizers").and_then(Value::as_array_mut) {
        f.retain(|x| x != CLEANUP_FINALIZER);
    }
    let outcome = if object::finalizers(&obj).is_empty() {
        api.backend.delete(&key, cur.mod_revision).await?
    } else {
        api.backend.update(&key, store::encode(&obj)?, cur.mod_revision).await?
    };
    if let TxnOutcome::Conflict(_) = outcome {
        tracing::debug!(crd = name, "CRD changed while finalizing; retrying");
    }
    Ok(())
}
