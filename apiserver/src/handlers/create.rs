//! CREATE: decode, check type and namespace, generateName, system metadata,
//! defaults, allocation (services), validation, admission (namespace
//! lifecycle), then a create-if-absent transaction.

use bytes::Bytes;
use serde_json::Value;

use super::codec::{self, Response};
use super::get::respond_object;
use super::{object, store, subresource, Ctx};
use crate::error::{ApiError, Cause};
use crate::registry::{convert, defaults, validation};
use crate::storage::TxnOutcome;

/// How unknown fields are treated (`fieldValidation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

impl FieldValidation {
    pub fn from_query(ctx: &Ctx<'_>) -> Result<Self, ApiError> {
        match ctx.query.get("fieldValidation") {
            None | Some("Warn") => Ok(Self::Warn),
            Some("Ignore") => Ok(Self::Ignore),
            Some("Strict") => Ok(Self::Strict),
            Some(v) => Err(ApiError::BadRequest(format!(
                "fieldValidation: Unsupported value: \"{v}\": supported values: \"Ignore\", \"Strict\", \"Warn\""
            ))),
        }
    }
}

/// Applies fieldValidation to a decoded body; returns warnings.
pub fn check_unknown_fields(ctx: &Ctx<'_>, obj: &Value, mode: FieldValidation) -> Result<Vec<String>, ApiError> {
    if mode == FieldValidation::Ignore {
        return Ok(Vec::new());
    }
    let unknown = match crate::crd::strategy::unknown_fields(ctx.ri, obj) {
        Some(u) => u,
        None => crate::openapi::unknown_fields(ctx.ri.definition, obj),
    };
    if unknown.is_empty() {
        return Ok(Vec::new());
    }
    match mode {
        FieldValidation::Strict => Err(ApiError::BadRequest(format!(
            "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
            unknown.join(", "),
            kind = ctx.ri.kind,
            version = ctx.ri.version,
        ))),
        _ => Ok(unknown),
    }
}

pub fn with_warnings(mut r: Response, warnings: &[String]) -> Response {
    for w in warnings {
        let escaped = w.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(v) = http::HeaderValue::from_str(&format!("299 - \"{escaped}\"")) {
            r.headers_mut().append("warning", v);
        }
    }
    r
}

pub async fn create(ctx: &Ctx<'_>, body: Bytes) -> Result<Response, ApiError> {
    match ctx.info.subresource.as_str() {
        "" => {}
        "binding" => return subresource::bind_pod(ctx, body).await,
        "eviction" => return subresource::evict_pod(ctx, body).await,
        _ => {
            return Err(ApiError::MethodNotSupported(
                "the server does not allow this method on the requested resource".into(),
            ))
        }
    }
    if ctx.ri.plural == "bindings" && ctx.ri.group.is_empty() {
        return subresource::bind_pod(ctx, body).await;
    }
    let mode = FieldValidation::from_query(ctx)?;
    let dry_run = ctx.query.dry_run()?;
    let mut obj = codec::decode_as(&body, ctx.header("content-type"), ctx.ri.kind)?;
    codec::check_type(&mut obj, &ctx.ri.api_version(), ctx.ri.kind)?;
    let warnings = check_unknown_fields(ctx, &obj, mode)?;
    let ns = &ctx.info.namespace;
    {
        let m = object::meta_mut(&mut obj);
        if ctx.ri.namespaced {
            match m.get("namespace").and_then(Value::as_str) {
                None | Some("") => {
                    m.insert("namespace".into(), ns.clone().into());
                }
                Some(n) if n == ns => {}
                Some(_) => {
                    return Err(ApiError::BadRequest(
                        "the namespace of the provided object does not match the namespace sent on the request".into(),
                    ))
                }
            }
        } else {
            m.remove("namespace");
        }
    }
    let generate = object::name_of(&obj).is_empty();
    let generate_name = object::meta_str(&obj, "generateName").to_string();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut o = obj.clone();
        if generate && !generate_name.is_empty() {
            let name = format!("{generate_name}{}", object::name_suffix());
            object::meta_mut(&mut o).insert("name".into(), name.into());
        }
        match create_one(ctx, o, dry_run).await {
            Err(ApiError::AlreadyExists { .. }) if generate && !generate_name.is_empty() && attempts < 8 => continue,
            Err(e) => return Err(e),
            Ok(created) => {
                let r = respond_object(ctx, 201, codec::served(ctx.ri, created))?;
                return Ok(with_warnings(r, &warnings));
            }
        }
    }
}

/// Prepares and stores a new object (shared by create and PUT-create).
pub async fn create_one(ctx: &Ctx<'_>, mut obj: Value, dry_run: bool) -> Result<Value, ApiError> {
    let ri = ctx.ri;
    let name = object::name_of(&obj).to_string();
    if name.is_empty() {
        return Err(ApiError::Invalid {
            kind: ri.kind.into(),
            group: ri.group.into(),
            name: String::new(),
            causes: vec![Cause {
                reason: "FieldValueRequired".into(),
                message: "Required value: name or generateName is required".into(),
                field: "metadata.name".into(),
            }],
        });
    }
    {
        let m = object::meta_mut(&mut obj);
        for f in ["resourceVersion", "selfLink", "deletionTimestamp", "deletionGracePeriodSeconds"] {
            m.remove(f);
        }
        m.insert("uid".into(), uuid::Uuid::new_v4().to_string().into());
        m.insert("creationTimestamp".into(), object::now_rfc3339().into());
        if ri.generation {
            m.insert("generation".into(), 1.into());
        } else {
            m.remove("generation");
        }
    }
    if ri.has_status() && !matches!(ri.plural, "namespaces" | "nodes" | "persistentvolumes" | "persistentvolumeclaims")
    {
        // kube's PrepareForCreate drops client-set status for most types.
        if let Some(o) = obj.as_object_mut() {
            o.remove("status");
        }
    }
    defaults::apply_defaults(ri, &mut obj);
    defaults::prepare_create(ri, &mut obj);
    object::prune_empty(&mut obj, ri.definition);
    super::apply::record_update(ctx, None, &mut obj)?;
    let causes = validation::validate_create(ri, &obj);
    if !causes.is_empty() {
        return Err(ApiError::Invalid { kind: ri.kind.into(), group: ri.group.into(), name, causes });
    }
    super::namespace::admit_create(ctx, &obj).await?;
    let allocated = subresource::allocate_service(ctx, &mut obj, None, dry_run)?;
    if dry_run {
        return Ok(obj);
    }
    let key = ctx.api.key(ri, object::meta_str(&obj, "namespace"), &name);
    let encoded = store::encode(&convert::to_storage_ref(ri, &obj))?;
    let result = ctx.api.backend.create(&key, encoded).await;
    match result {
        Ok(TxnOutcome::Done(kv)) => {
            object::set_resource_version(&mut obj, kv.mod_revision);
            Ok(obj)
        }
        Ok(TxnOutcome::Conflict(_)) => {
            subresource::release_service(ctx, &allocated);
            Err(ApiError::AlreadyExists {
                resource: ri.plural.into(),
                group: ri.group.into(),
                kind_plural: ri.plural.into(),
                name,
            })
        }
        Err(e) => {
            subresource::release_service(ctx, &allocated);
            Err(e.into())
        }
    }
}
