//! PATCH: JSON patch, merge patch and strategic merge patch, applied to the
//! current object inside the guarded-update loop.

use bytes::Bytes;
use serde_json::Value;

use super::codec::{self, Response};
use super::create::{check_unknown_fields, with_warnings, FieldValidation};
use super::get::respond_object;
use super::update::{check_identity, guaranteed_update};
use super::{subresource, Ctx};
use crate::error::ApiError;
use crate::patch::{self, PatchError, PatchType, SchemaCursor};

pub fn patch_error(e: PatchError) -> ApiError {
    match e {
        PatchError::Decode(m) => ApiError::BadRequest(m),
        PatchError::Apply(m) => ApiError::Unprocessable(m),
        PatchError::Merge(m) => ApiError::Internal(m),
        e @ PatchError::TooManyOperations { .. } => ApiError::TooLarge(e.to_string()),
        PatchError::Unsupported(m) => ApiError::UnsupportedMediaType(m),
    }
}

/// Applies a PATCH body of the request's content type to `cur`.
pub fn apply(ctx: &Ctx<'_>, cur: &Value, body: &[u8]) -> Result<Value, ApiError> {
    let ct = ctx.header("content-type").unwrap_or("");
    let kind = PatchType::from_content_type(ct).ok_or_else(|| {
        ApiError::UnsupportedMediaType(format!(
            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {ct})"
        ))
    })?;
    let schema = SchemaCursor::new(crate::openapi::definitions(), ctx.ri.definition);
    patch::apply_patch(kind, cur, body, schema).map_err(patch_error)
}

pub async fn patch(ctx: &Ctx<'_>, body: Bytes) -> Result<Response, ApiError> {
    if body.len() > codec::MAX_BODY_BYTES {
        return Err(ApiError::TooLarge(format!("Request entity too large: limit is {}", codec::MAX_BODY_BYTES)));
    }
    match ctx.info.subresource.as_str() {
        "" | "status" | "approval" => {}
        "scale" => return subresource::patch_scale(ctx, body).await,
        _ => {
            return Err(ApiError::MethodNotSupported(
                "the server does not allow this method on the requested resource".into(),
            ))
        }
    }
    if super::apply::is_apply(ctx) {
        if ctx.info.subresource == "approval" {
            return Err(ApiError::MethodNotSupported(
                "the server does not allow this method on the requested resource".into(),
            ));
        }
        return super::apply::apply(ctx, body).await;
    }
    if ctx.query.get("force").is_some() {
        return Err(ApiError::Invalid {
            kind: "PatchOptions".into(),
            group: "meta.k8s.io".into(),
            name: String::new(),
            causes: vec![crate::error::Cause::forbidden("force", "may not be specified for non-apply patch")],
        });
    }
    let mode = FieldValidation::from_query(ctx)?;
    let dry_run = ctx.query.dry_run()?;
    // A patch that sets metadata.resourceVersion is a precondition.
    let pinned = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.pointer("/metadata/resourceVersion").and_then(Value::as_str).map(|s| !s.is_empty()))
        .unwrap_or(false);
    let warnings = std::sync::Mutex::new(Vec::new());
    let (obj, code) = guaranteed_update(ctx, dry_run, pinned, |cur| {
        let out = apply(ctx, cur, &body)?;
        check_identity(ctx, &out)?;
        let w = check_unknown_fields(ctx, &out, mode)?;
        if let Ok(mut g) = warnings.lock() {
            *g = w;
        }
        Ok(out)
    })
    .await?;
    let r = respond_object(ctx, code, codec::served(ctx.ri, obj))?;
    let w = warnings.into_inner().unwrap_or_default();
    Ok(with_warnings(r, &w))
}

/// Applies a PATCH body to a Scale object (no schema-driven list merging needed).
pub fn apply_scale(ctx: &Ctx<'_>, scale: &Value, body: &[u8]) -> Result<Value, ApiError> {
    let ct = ctx.header("content-type").unwrap_or("");
    let kind = PatchType::from_content_type(ct)
        .ok_or_else(|| ApiError::UnsupportedMediaType(format!("unsupported patch type {ct}")))?;
    patch::apply_patch(kind, scale, body, None).map_err(patch_error)
}
