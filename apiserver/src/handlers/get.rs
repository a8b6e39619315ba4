//! GET of one object (and of its status or scale subresource).

use serde_json::Value;

use super::codec::{self, Format, Response};
use super::{store, subresource, Ctx};
use crate::error::ApiError;
use crate::table;

pub async fn get(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    match ctx.info.subresource.as_str() {
        "" | "status" => {}
        "scale" => return subresource::get_scale(ctx).await,
        other => {
            return Err(ApiError::MethodNotSupported(format!(
                "the server does not allow this method on the requested resource ({other})"
            )))
        }
    }
    let obj = if ctx.query.get("resourceVersion") == Some("0") {
        // "0" may be served from the cache.
        let cache = ctx.api.cache(ctx.ri)?;
        let o = cache.get(&ctx.key()).ok_or_else(|| ctx.not_found())?;
        serde_json::from_slice::<Value>(&o.json).map_err(|e| ApiError::Internal(e.to_string()))?
    } else {
        store::read(ctx).await?.obj
    };
    respond_object(ctx, 200, codec::served(ctx.ri, obj))
}

/// One object in the negotiated format.
pub fn respond_object(ctx: &Ctx<'_>, code: u16, obj: Value) -> Result<Response, ApiError> {
    Ok(match ctx.format() {
        Format::Json => codec::json(code, &obj),
        Format::Table => {
            let include = table::IncludeObject::parse(ctx.query.get("includeObject")).map_err(ApiError::BadRequest)?;
            let t = table::to_table(ctx.ri, std::slice::from_ref(&obj), include, jiff::Timestamp::now(), None);
            codec::json(code, &t)
        }
        Format::PartialMetadata => codec::json(code, &table::partial_object_metadata(&obj)),
    })
}
