//! UPDATE (PUT) and the shared guarded-update loop used by PATCH, status and
//! scale: read, mutate, carry over system metadata, defaults, generation,
//! validation, then compare-and-swap on the mod_revision.

use bytes::Bytes;
use serde_json::Value;

use super::codec::{self, Response};
use super::create::{check_unknown_fields, with_warnings, FieldValidation};
use super::get::respond_object;
use super::store::{self, Current, Written};
use super::{object, subresource, Ctx};
use crate::error::ApiError;
use crate::registry::{convert, defaults, validation};

pub async fn update(ctx: &Ctx<'_>, body: Bytes) -> Result<Response, ApiError> {
    match ctx.info.subresource.as_str() {
        "" | "status" | "finalize" | "approval" => {}
        "scale" => return subresource::update_scale(ctx, body).await,
        _ => {
            return Err(ApiError::MethodNotSupported(
                "the server does not allow this method on the requested resource".into(),
            ))
        }
    }
    let mode = FieldValidation::from_query(ctx)?;
    let dry_run = ctx.query.dry_run()?;
    let mut desired = codec::decode_as(&body, ctx.header("content-type"), ctx.ri.kind)?;
    codec::check_type(&mut desired, &ctx.ri.api_version(), ctx.ri.kind)?;
    let warnings = check_unknown_fields(ctx, &desired, mode)?;
    check_identity(ctx, &desired)?;
    let pinned = !object::meta_str(&desired, "resourceVersion").is_empty();
    let (obj, code) = guaranteed_update(ctx, dry_run, pinned, |_cur| Ok(desired.clone())).await?;
    let r = respond_object(ctx, code, codec::served(ctx.ri, obj))?;
    Ok(with_warnings(r, &warnings))
}

/// The body's name and namespace must agree with the URL.
pub fn check_identity(ctx: &Ctx<'_>, obj: &Value) -> Result<(), ApiError> {
    let name = object::name_of(obj);
    if !name.is_empty() && name != ctx.info.name {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({name}) does not match the name on the URL ({})",
            ctx.info.name
        )));
    }
    let ns = object::meta_str(obj, "namespace");
    if ctx.ri.namespaced && !ns.is_empty() && ns != ctx.info.namespace {
        return Err(ApiError::BadRequest(
            "the namespace of the provided object does not match the namespace sent on the request".into(),
        ));
    }
    Ok(())
}

/// Carries over what clients may not change through this endpoint.
fn merge_for_endpoint(ctx: &Ctx<'_>, mut new: Value, cur: &Value) -> Value {
    let sub = ctx.info.subresource.as_str();
    let ri = ctx.ri;
    if sub == "binding" {
        // pods/binding sets spec.nodeName and the PodScheduled condition itself.
        return new;
    }
    if sub == "status" {
        // Only status moves; everything else stays as stored.
        let mut out = cur.clone();
        if let (Some(o), Some(s)) = (out.as_object_mut(), new.get("status")) {
            o.insert("status".into(), s.clone());
        }
        // Labels and annotations may change through status too (kube allows metadata there);
        // managedFields carry a status apply's ownership.
        for f in ["labels", "annotations", "managedFields"] {
            if let Some(v) = object::meta(&new).and_then(|m| m.get(f)).cloned() {
                object::meta_mut(&mut out).insert(f.into(), v);
            }
        }
        return out;
    }
    if sub == "finalize" {
        let mut out = cur.clone();
        if let (Some(o), Some(s)) = (out.as_object_mut(), new.get("spec")) {
            o.insert("spec".into(), s.clone());
        }
        return out;
    }
    if ri.has_status() && !matches!(ri.plural, "certificatesigningrequests") {
        if let Some(o) = new.as_object_mut() {
            match cur.get("status") {
                Some(s) => o.insert("status".into(), s.clone()),
                None => o.remove("status"),
            };
        }
    }
    let cur_meta = object::meta(cur).cloned().unwrap_or_default();
    let m = object::meta_mut(&mut new);
    for f in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "generation",
        "namespace",
        "name",
    ] {
        match cur_meta.get(f) {
            Some(v) => m.insert(f.into(), v.clone()),
            None => m.remove(f),
        };
    }
    m.remove("selfLink");
    // A deleting object may drop finalizers but not gain new ones (kube forbids additions).
    new
}

/// Read–mutate–write until the write lands. `pinned`: the caller set a
/// resourceVersion, so a lost race is a 409 instead of a retry.
pub async fn guaranteed_update<F>(
    ctx: &Ctx<'_>,
    dry_run: bool,
    pinned: bool,
    mutate: F,
) -> Result<(Value, u16), ApiError>
where
    F: Fn(&Value) -> Result<Value, ApiError>,
{
    let ri = ctx.ri;
    for _ in 0..16 {
        let Current { obj: cur_obj, mod_revision: cur_rev } = store::read(ctx).await?;
        let cur_served = convert::from_storage(ri, cur_obj);
        let mut desired = mutate(&cur_served)?;
        codec::check_type(&mut desired, &ri.api_version(), ri.kind)?;
        let want_rv = object::meta_str(&desired, "resourceVersion").to_string();
        if !want_rv.is_empty() && want_rv != cur_rev.to_string() {
            return Err(store::conflict(ri, &ctx.info.name));
        }
        let mut new = merge_for_endpoint(ctx, desired, &cur_served);
        defaults::apply_defaults(ri, &mut new);
        defaults::prepare_update(ri, &mut new, &cur_served);
        object::prune_empty(&mut new, ri.definition);
        if ri.generation && object::spec_changed(&new, &cur_served) {
            let g = object::meta(&cur_served).and_then(|m| m.get("generation")).and_then(Value::as_i64).unwrap_or(0);
            object::meta_mut(&mut new).insert("generation".into(), (g + 1).into());
        }
        super::apply::record_update(ctx, Some(&cur_served), &mut new)?;
        object::set_resource_version(&mut new, cur_rev);
        // A binding changes spec.nodeName, which pod update validation forbids.
        let causes = if ctx.info.subresource == "binding" {
            Vec::new()
        } else {
            validation::validate_update(ri, &new, &cur_served)
        };
        if !causes.is_empty() {
            return Err(ApiError::Invalid {
                kind: ri.kind.into(),
                group: ri.group.into(),
                name: ctx.info.name.clone(),
                causes,
            });
        }
        let alloc = subresource::allocate_service(ctx, &mut new, Some(&cur_served), dry_run)?;
        if new == cur_served {
            // No change: no write, same resourceVersion (kube skips the txn too).
            return Ok((cur_served, 200));
        }
        if dry_run {
            return Ok((new, 200));
        }
        let stored = convert::to_storage_ref(ri, &new);
        match store::write_update(ctx, &stored, cur_rev).await {
            Ok(Some(Written::Stored(rev) | Written::Deleted(rev))) => {
                drop(stored);
                let mut out = new;
                object::set_resource_version(&mut out, rev);
                return Ok((out, 200));
            }
            Ok(None) => {
                subresource::release_service(ctx, &alloc);
                if pinned {
                    return Err(store::conflict(ri, &ctx.info.name));
                }
            }
            Err(e) => {
                subresource::release_service(ctx, &alloc);
                return Err(e);
            }
        }
    }
    Err(store::conflict(ri, &ctx.info.name))
}
