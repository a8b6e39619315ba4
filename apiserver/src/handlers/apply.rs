//! Server-side apply (`PATCH` with `application/apply-patch+yaml`) and the
//! managedFields bookkeeping of every other write (`operation: Update`).
//!
//! The merge itself lives in `crate::apply`; this file picks the schema
//! (built-in OpenAPI definition or the CRD version's schema), the manager
//! (`fieldManager`, else the User-Agent prefix as kube does) and the reset
//! fields of the endpoint (status vs main resource).

use std::sync::Arc;

use bytes::Bytes;
use serde_json::Value;

use super::codec::{self, Response};
use super::create::{check_unknown_fields, create_one, with_warnings, FieldValidation};
use super::get::respond_object;
use super::update::{check_identity, guaranteed_update};
use super::Ctx;
use crate::apply::{self as ssa, ApplyError, Manager, ResetFields, SsaSchema};
use crate::error::{ApiError, Cause};

/// kube's limit on field manager names.
const MAX_MANAGER_LEN: usize = 128;

/// Whether this request is a server-side apply.
pub fn is_apply(ctx: &Ctx<'_>) -> bool {
    ctx.header("content-type").is_some_and(|ct| ct.trim().to_ascii_lowercase().starts_with("application/apply-patch"))
}

/// The manager of a write: `fieldManager`, else the User-Agent up to its first `/`.
pub fn manager_name(ctx: &Ctx<'_>) -> String {
    if let Some(m) = ctx.query.get("fieldManager").filter(|m| !m.is_empty()) {
        return m.to_string();
    }
    let ua = ctx.header("user-agent").unwrap_or("");
    let prefix = ua.split('/').next().unwrap_or("");
    let mut out = String::new();
    for c in prefix.chars().filter(|c| !c.is_control()) {
        if out.len() + c.len_utf8() > MAX_MANAGER_LEN {
            break;
        }
        out.push(c);
    }
    out
}

fn reset_fields(ctx: &Ctx<'_>) -> ResetFields {
    match ctx.info.subresource.as_str() {
        "status" => ResetFields::AllButStatus,
        "" if ctx.ri.has_status() => ResetFields::Status,
        _ => ResetFields::None,
    }
}

/// The schema SSA walks: a CRD version's (with ObjectMeta) or the built-in definition.
struct Schema(Option<Arc<crate::crd::registry::CrdServing>>);

impl Schema {
    fn of(ctx: &Ctx<'_>) -> Schema {
        Schema(crate::crd::registry::serving(ctx.ri))
    }
    fn compiled<'a>(&'a self, ctx: &Ctx<'_>) -> Option<&'a SsaSchema> {
        match &self.0 {
            Some(s) => s.version(ctx.ri.version).map(|v| &v.ssa_schema),
            None => SsaSchema::builtin(ctx.ri.definition),
        }
    }
}

pub fn apply_error(e: ApplyError) -> ApiError {
    match e {
        ApplyError::Conflicts(_) => ApiError::ApplyConflict {
            message: e.message(),
            causes: e.causes().into_iter().map(|(reason, message, field)| Cause { reason, message, field }).collect(),
        },
        other => match other.code() {
            400 => ApiError::BadRequest(other.message()),
            422 => ApiError::Unprocessable(other.message()),
            _ => ApiError::Internal(other.message()),
        },
    }
}

/// Records a non-apply write by this request's manager on `new` (create: `live` None).
pub fn record_update(ctx: &Ctx<'_>, live: Option<&Value>, new: &mut Value) -> Result<(), ApiError> {
    if is_apply(ctx) || matches!(ctx.info.subresource.as_str(), "binding" | "eviction" | "finalize") {
        return Ok(());
    }
    let name = manager_name(ctx);
    let time = super::object::now_rfc3339();
    let api_version = ctx.ri.api_version();
    let mgr = Manager { name: &name, api_version: &api_version, subresource: &ctx.info.subresource, time: &time };
    let schema = Schema::of(ctx);
    ssa::update(live, new, &mgr, schema.compiled(ctx), reset_fields(ctx)).map_err(apply_error)
}

fn force(ctx: &Ctx<'_>) -> Result<bool, ApiError> {
    match ctx.query.get("force") {
        None | Some("false") | Some("") => Ok(false),
        Some("true") => Ok(true),
        Some(v) => Err(ApiError::BadRequest(format!("invalid force value {v:?}"))),
    }
}

/// PATCH with `application/apply-patch+yaml`: merge the applied configuration,
/// creating the object when it does not exist.
pub async fn apply(ctx: &Ctx<'_>, body: Bytes) -> Result<Response, ApiError> {
    let name = manager_name(ctx);
    if ctx.query.get("fieldManager").is_none_or(str::is_empty) {
        return Err(ApiError::Invalid {
            kind: "PatchOptions".into(),
            group: "meta.k8s.io".into(),
            name: String::new(),
            causes: vec![Cause {
                reason: "FieldValueRequired".into(),
                message: "Required value: is required for apply patch".into(),
                field: "fieldManager".into(),
            }],
        });
    }
    let force = force(ctx)?;
    let mode = FieldValidation::from_query(ctx)?;
    let dry_run = ctx.query.dry_run()?;
    let mut config = codec::decode(&body, Some("application/yaml"))?;
    codec::check_type(&mut config, &ctx.ri.api_version(), ctx.ri.kind)?;
    let cfg_name = super::object::name_of(&config);
    if !cfg_name.is_empty() && cfg_name != ctx.info.name {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({cfg_name}) does not match the name on the URL ({})",
            ctx.info.name
        )));
    }
    let warnings = check_unknown_fields(ctx, &config, mode)?;
    let time = super::object::now_rfc3339();
    let api_version = ctx.ri.api_version();
    let mgr = Manager { name: &name, api_version: &api_version, subresource: &ctx.info.subresource, time: &time };
    let schema = Schema::of(ctx);
    let reset = reset_fields(ctx);
    let pinned = config.pointer("/metadata/resourceVersion").and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    let updated = guaranteed_update(ctx, dry_run, pinned, |cur| {
        let out = ssa::apply(Some(cur), &config, &mgr, force, schema.compiled(ctx), reset).map_err(apply_error)?;
        check_identity(ctx, &out)?;
        Ok(out)
    })
    .await;
    let (obj, code) = match updated {
        Ok(r) => r,
        Err(ApiError::NotFound { .. }) if ctx.info.subresource.is_empty() => {
            let mut obj = ssa::apply(None, &config, &mgr, force, schema.compiled(ctx), reset).map_err(apply_error)?;
            let m = super::object::meta_mut(&mut obj);
            m.insert("name".into(), ctx.info.name.clone().into());
            if ctx.ri.namespaced {
                m.insert("namespace".into(), ctx.info.namespace.clone().into());
            }
            (create_one(ctx, obj, dry_run).await?, 201)
        }
        Err(e) => return Err(e),
    };
    let r = respond_object(ctx, code, codec::served(ctx.ri, obj))?;
    Ok(with_warnings(r, &warnings))
}
