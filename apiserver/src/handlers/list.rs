//! LIST: from the watch cache (resourceVersion "" after a consistent-read
//! wait, or "0"), or page by page from etcd (limit/continue, exact
//! resourceVersion), with label and field selectors and every response format.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};
use serde_json::{json, Value};

use super::codec::{self, Format, Response};
use super::{storage_row, Ctx};
use crate::error::ApiError;
use crate::registry::fields;
use crate::selectors::field::FieldSelector;
use crate::selectors::label::LabelSelector;
use crate::storage::cache::CachedObject;
use crate::storage::StorageError;
use crate::table;

/// Parsed selectors of a list or watch.
pub struct Selectors {
    pub labels: Option<LabelSelector>,
    pub fields: Option<FieldSelector>,
}

impl Selectors {
    pub fn parse(ctx: &Ctx<'_>) -> Result<Selectors, ApiError> {
        let labels = match ctx.query.get("labelSelector") {
            Some(s) => Some(LabelSelector::parse(s).map_err(|e| ApiError::BadRequest(e.to_string()))?)
                .filter(|l| !l.is_empty()),
            None => None,
        };
        let fields = match ctx.query.get("fieldSelector") {
            Some(s) => {
                let f = FieldSelector::parse(s).map_err(|e| ApiError::BadRequest(e.to_string()))?;
                Some(fields::convert_selector(ctx.ri, &f).map_err(ApiError::BadRequest)?).filter(|f| !f.is_empty())
            }
            None => None,
        };
        Ok(Selectors { labels, fields })
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_none() && self.fields.is_none()
    }
    pub fn matches(&self, o: &CachedObject) -> bool {
        self.labels.as_ref().is_none_or(|l| l.matches(&o.labels))
            && self.fields.as_ref().is_none_or(|f| f.matches(&o.fields))
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct ContinueToken {
    v: String,
    rv: i64,
    start: String,
}

fn encode_continue(rv: i64, start: &str) -> String {
    let t = ContinueToken { v: "meta.k8s.io/v1".into(), rv, start: start.into() };
    base64::engine::general_purpose::URL_SAFE.encode(serde_json::to_vec(&t).unwrap_or_default())
}

fn decode_continue(s: &str) -> Result<ContinueToken, ApiError> {
    let bad = |why: String| ApiError::BadRequest(format!("continue key is not valid: {why}"));
    let raw = base64::engine::general_purpose::URL_SAFE
        .decode(s)
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(s))
        .map_err(|e| bad(e.to_string()))?;
    let t: ContinueToken = serde_json::from_slice(&raw).map_err(|e| bad(e.to_string()))?;
    if t.v != "meta.k8s.io/v1" {
        return Err(bad("incorrect encoded start resourceVersion (version meta.k8s.io/v1)".into()));
    }
    if t.rv <= 0 || t.start.contains("..") {
        return Err(bad("invalid start key".into()));
    }
    Ok(t)
}

/// A page of matching objects and its list metadata.
pub struct Page {
    pub items: Vec<Arc<CachedObject>>,
    pub revision: i64,
    pub continue_token: Option<String>,
    pub remaining: Option<i64>,
}

pub async fn list(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let sel = Selectors::parse(ctx)?;
    let page = read_page(ctx, &sel).await?;
    respond_list(ctx, page)
}

pub async fn read_page(ctx: &Ctx<'_>, sel: &Selectors) -> Result<Page, ApiError> {
    let limit = ctx.query.int("limit")?.unwrap_or(0).max(0);
    let rv = ctx.query.get("resourceVersion");
    let rv_match = ctx.query.get("resourceVersionMatch");
    let prefix = ctx.ri.key_prefix(&ctx.api.cfg.etcd_prefix, &ctx.info.namespace);
    if let Some(m) = rv_match {
        if m != "Exact" && m != "NotOlderThan" {
            return Err(ApiError::BadRequest(format!(
                "resourceVersionMatch: Unsupported value: \"{m}\": supported values: \"Exact\", \"NotOlderThan\""
            )));
        }
        if rv.is_none() {
            return Err(ApiError::BadRequest(
                "resourceVersionMatch is forbidden unless resourceVersion is provided".into(),
            ));
        }
    }
    let parse_rv =
        |s: &str| s.parse::<i64>().map_err(|_| ApiError::BadRequest(format!("invalid resource version: \"{s}\"")));
    if let Some(tok) = ctx.query.get("continue") {
        if rv.is_some_and(|r| r != "0") {
            return Err(ApiError::BadRequest("specifying resource version is not allowed when using continue".into()));
        }
        let t = decode_continue(tok)?;
        let base = ctx.ri.key_prefix(&ctx.api.cfg.etcd_prefix, "");
        let start = format!("{base}{}", t.start);
        return from_etcd(ctx, sel, &prefix, &start, limit, t.rv).await.map_err(|e| match e {
            ApiError::Storage(StorageError::Compacted { .. }) => ApiError::Expired(
                "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.".into(),
            ),
            e => e,
        });
    }
    let exact = rv_match == Some("Exact");
    match rv {
        Some(r) if exact => {
            let n = parse_rv(r)?;
            from_etcd(ctx, sel, &prefix, &prefix, limit, n).await.map_err(too_old)
        }
        None if limit > 0 => from_etcd(ctx, sel, &prefix, &prefix, limit, 0).await,
        _ => {
            let cache = ctx.api.cache(ctx.ri)?;
            match rv {
                None => {
                    cache.consistent_revision(Duration::from_secs(10)).await?;
                }
                Some("0") => {}
                Some(r) => {
                    let n = parse_rv(r)?;
                    cache.wait_for_revision(n, Duration::from_secs(3)).await.map_err(|_| {
                        ApiError::Timeout(format!("Too large resource version: {n}, current: {}", cache.revision()))
                    })?;
                }
            }
            let l = cache.list(&prefix, None, limit as usize, &|o| sel.matches(o));
            let base = ctx.ri.key_prefix(&ctx.api.cfg.etcd_prefix, "");
            let continue_token = match (l.more, l.items.last()) {
                (true, Some(last)) => {
                    Some(encode_continue(l.revision, &format!("{}\u{0}", last.key.strip_prefix(&base).unwrap_or(""))))
                }
                _ => None,
            };
            let remaining = if l.more && sel.is_empty() { Some(l.remaining as i64) } else { None };
            Ok(Page { items: l.items, revision: l.revision, continue_token, remaining })
        }
    }
}

fn too_old(e: ApiError) -> ApiError {
    match e {
        ApiError::Storage(StorageError::Compacted { .. }) => {
            ApiError::Expired("The resourceVersion for the provided list is too old.".into())
        }
        e => e,
    }
}

async fn from_etcd(
    ctx: &Ctx<'_>,
    sel: &Selectors,
    prefix: &str,
    start: &str,
    limit: i64,
    mut rev: i64,
) -> Result<Page, ApiError> {
    let decode = super::decoder(storage_row(ctx.ri));
    let base = ctx.ri.key_prefix(&ctx.api.cfg.etcd_prefix, "");
    let mut items = Vec::new();
    let mut start = start.to_string();
    let fetch = if limit > 0 { limit.max(100) } else { 0 };
    loop {
        let page = ctx.api.backend.list(prefix, &start, fetch, rev).await?;
        rev = page.revision;
        let n = page.kvs.len();
        for (i, kv) in page.kvs.iter().enumerate() {
            let Some(o) = decode(kv) else { continue };
            if !sel.matches(&o) {
                continue;
            }
            items.push(Arc::new(o));
            if limit > 0 && items.len() as i64 == limit {
                let more = i + 1 < n || page.more;
                let continue_token =
                    more.then(|| encode_continue(rev, &format!("{}\u{0}", kv.key.strip_prefix(&base).unwrap_or(""))));
                let remaining = (more && sel.is_empty()).then(|| (page.count - (i as i64 + 1)).max(0));
                let remaining = remaining.filter(|_| start == prefix);
                return Ok(Page { items, revision: rev, continue_token, remaining });
            }
        }
        if !page.more || n == 0 {
            return Ok(Page { items, revision: rev, continue_token: None, remaining: None });
        }
        if let Some(last) = page.kvs.last() {
            start = format!("{}\u{0}", last.key);
        }
    }
}

fn list_meta(page: &Page) -> Value {
    let mut m = json!({"resourceVersion": page.revision.to_string()});
    if let Some(c) = &page.continue_token {
        m["continue"] = c.clone().into();
    }
    if let Some(r) = page.remaining {
        m["remainingItemCount"] = r.into();
    }
    m
}

pub fn respond_list(ctx: &Ctx<'_>, page: Page) -> Result<Response, ApiError> {
    let ri = ctx.ri;
    let needs_conversion = storage_row(ri).definition != ri.definition;
    let parse = |o: &CachedObject| -> Result<Value, ApiError> {
        let v: Value = serde_json::from_slice(&o.json).map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(codec::served(ri, v))
    };
    match ctx.format() {
        Format::Json if !needs_conversion => {
            // Items are spliced in as stored bytes: no per-object re-encoding.
            let head = json!({"kind": ri.list_kind(), "apiVersion": ri.api_version(), "metadata": list_meta(&page)});
            let head = serde_json::to_vec(&head).map_err(|e| ApiError::Internal(e.to_string()))?;
            let size: usize = page.items.iter().map(|o| o.json.len() + 1).sum();
            let mut b = BytesMut::with_capacity(head.len() + size + 16);
            b.put_slice(&head[..head.len() - 1]);
            b.put_slice(b",\"items\":[");
            for (i, o) in page.items.iter().enumerate() {
                if i > 0 {
                    b.put_u8(b',');
                }
                b.put_slice(&o.json);
            }
            b.put_slice(b"]}");
            Ok(codec::json_bytes(200, Bytes::from(b), "application/json"))
        }
        Format::Json => {
            let items = page.items.iter().map(|o| parse(o)).collect::<Result<Vec<_>, _>>()?;
            Ok(codec::json(
                200,
                &json!({"kind": ri.list_kind(), "apiVersion": ri.api_version(), "metadata": list_meta(&page), "items": items}),
            ))
        }
        Format::Table => {
            let include = table::IncludeObject::parse(ctx.query.get("includeObject")).map_err(ApiError::BadRequest)?;
            let items = page.items.iter().map(|o| parse(o)).collect::<Result<Vec<_>, _>>()?;
            let meta = list_meta(&page);
            Ok(codec::json(200, &table::to_table(ri, &items, include, jiff::Timestamp::now(), Some(&meta))))
        }
        Format::PartialMetadata => {
            let items = page
                .items
                .iter()
                .map(|o| parse(o).map(|v| table::partial_object_metadata(&v)))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(codec::json(200, &table::partial_object_metadata_list(items, list_meta(&page))))
        }
    }
}
