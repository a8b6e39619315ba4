//! DELETE and DELETECOLLECTION: preconditions, propagation policy finalizers,
//! graceful pod deletion, finalizers (deletionTimestamp), namespaces going
//! Terminating, and immediate removal otherwise.

use bytes::Bytes;
use serde_json::Value;

use super::codec::{self, Response};
use super::get::respond_object;
use super::list::{read_page, Selectors};
use super::store::{self, Current};
use super::{object, Ctx};
use crate::error::ApiError;
use crate::status;
use crate::storage::TxnOutcome;

/// DeleteOptions from the body and the query.
#[derive(Debug, Default, Clone)]
pub struct DeleteOptions {
    pub grace_period: Option<i64>,
    pub propagation: Option<String>,
    pub uid: Option<String>,
    pub resource_version: Option<String>,
    pub dry_run: bool,
}

fn options(ctx: &Ctx<'_>, body: &[u8]) -> Result<DeleteOptions, ApiError> {
    let mut o = DeleteOptions { dry_run: ctx.query.dry_run()?, ..Default::default() };
    if !body.iter().all(u8::is_ascii_whitespace) {
        let v = codec::decode(body, ctx.header("content-type"))?;
        o.grace_period = v.get("gracePeriodSeconds").and_then(Value::as_i64);
        o.propagation = v.get("propagationPolicy").and_then(Value::as_str).map(str::to_string);
        if v.get("orphanDependents").and_then(Value::as_bool) == Some(true) && o.propagation.is_none() {
            o.propagation = Some("Orphan".into());
        }
        o.uid = v.pointer("/preconditions/uid").and_then(Value::as_str).map(str::to_string);
        o.resource_version = v.pointer("/preconditions/resourceVersion").and_then(Value::as_str).map(str::to_string);
        if v.get("dryRun").and_then(Value::as_array).is_some_and(|a| a.iter().any(|x| x == "All")) {
            o.dry_run = true;
        }
    }
    if let Some(g) = ctx.query.int("gracePeriodSeconds")? {
        o.grace_period = Some(g);
    }
    if let Some(p) = ctx.query.get("propagationPolicy") {
        o.propagation = Some(p.to_string());
    }
    if ctx.query.get("orphanDependents") == Some("true") && o.propagation.is_none() {
        o.propagation = Some("Orphan".into());
    }
    if let Some(p) = &o.propagation {
        if !matches!(p.as_str(), "Orphan" | "Background" | "Foreground") {
            return Err(ApiError::BadRequest(format!(
                "propagationPolicy: Unsupported value: \"{p}\": supported values: \"Foreground\", \"Background\", \"Orphan\""
            )));
        }
    }
    Ok(o)
}

fn precondition_failed(ctx: &Ctx<'_>, what: &str, want: &str, have: &str) -> ApiError {
    ApiError::Conflict {
        resource: ctx.ri.plural.into(),
        group: ctx.ri.group.into(),
        name: ctx.info.name.clone(),
        message: format!(
            "Operation cannot be fulfilled on {} \"{}\": Precondition failed: {what} in precondition: {want}, {what} in object meta: {have}",
            ctx.ri.group_resource(),
            ctx.info.name
        ),
    }
}

pub async fn delete(ctx: &Ctx<'_>, body: Bytes) -> Result<Response, ApiError> {
    if !ctx.info.subresource.is_empty() {
        return Err(ApiError::MethodNotSupported(
            "the server does not allow this method on the requested resource".into(),
        ));
    }
    let opts = options(ctx, &body)?;
    let (obj, gone) = delete_one(ctx, &opts).await?;
    let served = codec::served(ctx.ri, obj);
    // Like kube, core pods, services, serviceaccounts, podtemplates, quotas and
    // volumes return the deleted object; everything else a Status.
    let returns_object = ctx.ri.group.is_empty()
        && matches!(
            ctx.ri.plural,
            "pods"
                | "services"
                | "serviceaccounts"
                | "podtemplates"
                | "resourcequotas"
                | "persistentvolumes"
                | "persistentvolumeclaims"
        );
    if gone && !returns_object {
        let uid = object::meta_str(&served, "uid").to_string();
        return Ok(codec::json(200, &status::success_status(&ctx.info.name, ctx.ri.group, ctx.ri.plural, Some(&uid))));
    }
    respond_object(ctx, 200, served)
}

/// Deletes (or starts deleting) the named object. Returns the object and
/// whether it is gone from storage.
pub async fn delete_one(ctx: &Ctx<'_>, opts: &DeleteOptions) -> Result<(Value, bool), ApiError> {
    for _ in 0..16 {
        let cur = store::read(ctx).await?;
        let obj = &cur.obj;
        if let Some(u) = &opts.uid {
            let have = object::meta_str(obj, "uid");
            if u != have {
                return Err(precondition_failed(ctx, "UID", u, have));
            }
        }
        if let Some(rv) = &opts.resource_version {
            let have = cur.mod_revision.to_string();
            if *rv != have {
                return Err(precondition_failed(ctx, "ResourceVersion", rv, &have));
            }
        }
        let mut next = obj.clone();
        let mut changed = false;
        let mut fins = object::finalizers(obj);
        let add = match opts.propagation.as_deref() {
            Some("Orphan") => Some("orphan"),
            Some("Foreground") => Some("foregroundDeletion"),
            _ => None,
        };
        if let Some(f) = add {
            if !fins.iter().any(|x| x == f) {
                fins.push(f.to_string());
                object::meta_mut(&mut next).insert("finalizers".into(), fins.clone().into());
                changed = true;
            }
        }
        let is_ns = ctx.ri.group.is_empty() && ctx.ri.plural == "namespaces";
        let graceful = graceful_seconds(ctx, obj, opts);
        let wait = !fins.is_empty() || is_ns || graceful > 0;
        if wait {
            if !object::is_deleting(obj) {
                let m = object::meta_mut(&mut next);
                m.insert("deletionTimestamp".into(), object::rfc3339_in(graceful).into());
                m.insert("deletionGracePeriodSeconds".into(), graceful.into());
                changed = true;
            }
            if is_ns && next.pointer("/status/phase").and_then(Value::as_str) != Some("Terminating") {
                if let Some(o) = next.as_object_mut() {
                    let st = o.entry("status").or_insert_with(|| Value::Object(Default::default()));
                    if let Some(s) = st.as_object_mut() {
                        s.insert("phase".into(), "Terminating".into());
                    }
                }
                changed = true;
            }
            if !changed || opts.dry_run {
                return Ok((next, false));
            }
            let key = ctx.key();
            match ctx.api.backend.update(&key, store::encode(&next)?, cur.mod_revision).await? {
                TxnOutcome::Done(kv) => {
                    object::set_resource_version(&mut next, kv.mod_revision);
                    return Ok((next, false));
                }
                TxnOutcome::Conflict(_) => continue,
            }
        }
        if opts.dry_run {
            return Ok((cur.obj, true));
        }
        match remove(ctx, &cur).await? {
            Some(v) => {
                super::subresource::release_deleted_service(ctx, &v);
                return Ok((v, true));
            }
            None => continue,
        }
    }
    Err(store::conflict(ctx.ri, &ctx.info.name))
}

async fn remove(ctx: &Ctx<'_>, cur: &Current) -> Result<Option<Value>, ApiError> {
    match ctx.api.backend.delete(&ctx.key(), cur.mod_revision).await? {
        TxnOutcome::Done(kv) => {
            let mut v = cur.obj.clone();
            object::set_resource_version(&mut v, kv.mod_revision);
            Ok(Some(v))
        }
        TxnOutcome::Conflict(_) => Ok(None),
    }
}

/// Pods bound to a node get a grace period (default: the pod's
/// terminationGracePeriodSeconds); everything else is deleted at once.
fn graceful_seconds(ctx: &Ctx<'_>, obj: &Value, opts: &DeleteOptions) -> i64 {
    if !(ctx.ri.group.is_empty() && ctx.ri.plural == "pods") {
        return 0;
    }
    let node = obj.pointer("/spec/nodeName").and_then(Value::as_str).unwrap_or("");
    let phase = obj.pointer("/status/phase").and_then(Value::as_str).unwrap_or("");
    if node.is_empty() || phase == "Succeeded" || phase == "Failed" {
        return 0;
    }
    let g = opts
        .grace_period
        .or_else(|| obj.pointer("/spec/terminationGracePeriodSeconds").and_then(Value::as_i64))
        .unwrap_or(30);
    if object::is_deleting(obj) {
        // A second delete can only shorten the grace period (0 = now).
        let cur =
            object::meta(obj).and_then(|m| m.get("deletionGracePeriodSeconds")).and_then(Value::as_i64).unwrap_or(g);
        return if g < cur { g } else { cur.max(0) };
    }
    g.max(0)
}

pub async fn delete_collection(ctx: &Ctx<'_>, body: Bytes) -> Result<Response, ApiError> {
    let opts = options(ctx, &body)?;
    let sel = Selectors::parse(ctx)?;
    let page = read_page(ctx, &sel).await?;
    let mut items = Vec::new();
    for o in page.items {
        let info =
            super::request::RequestInfo { name: o.name.clone(), namespace: o.namespace.clone(), ..ctx.info.clone() };
        let sub = Ctx { api: ctx.api, ri: ctx.ri, info: &info, query: ctx.query, parts: ctx.parts };
        match delete_one(&sub, &opts).await {
            Ok((v, _)) => items.push(codec::served(ctx.ri, v)),
            Err(ApiError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    let list = serde_json::json!({
        "kind": ctx.ri.list_kind(),
        "apiVersion": ctx.ri.api_version(),
        "metadata": {"resourceVersion": page.revision.to_string()},
        "items": items,
    });
    Ok(codec::json(200, &list))
}
