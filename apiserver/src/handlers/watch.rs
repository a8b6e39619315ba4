//! WATCH from the watch cache: initial events (resourceVersion ""/"0" or
//! sendInitialEvents), then live events filtered by namespace and selectors,
//! bookmarks, and a 410 ERROR event for a resourceVersion older than the
//! cache's history window.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures::StreamExt;
use http_body_util::BodyExt;
use serde_json::{json, Value};

use super::codec::{self, Format, Response};
use super::list::Selectors;
use super::{storage_row, Ctx};
use crate::catalog::ResourceInfo;
use crate::error::ApiError;
use crate::status;
use crate::storage::cache::{CacheEvent, CachedObject};
use crate::storage::{EventKind, StorageError};
use crate::table;

const BOOKMARK_EVERY: Duration = Duration::from_secs(15);

struct Encoder {
    ri: &'static ResourceInfo,
    format: Format,
    include: table::IncludeObject,
    convert: bool,
    columns_sent: bool,
}

impl Encoder {
    fn object(&mut self, json: &Bytes) -> Option<Bytes> {
        if self.format == Format::Json && !self.convert {
            return Some(json.clone());
        }
        let v: Value = serde_json::from_slice(json).ok()?;
        let v = codec::served(self.ri, v);
        let out = match self.format {
            Format::Json => v,
            Format::Table => {
                let t =
                    table::to_table_row_event(self.ri, &v, self.include, jiff::Timestamp::now(), !self.columns_sent);
                self.columns_sent = true;
                t
            }
            Format::PartialMetadata => table::partial_object_metadata(&v),
        };
        serde_json::to_vec(&out).ok().map(Bytes::from)
    }

    fn event(&mut self, kind: &str, json: &Bytes) -> Option<Bytes> {
        let obj = self.object(json)?;
        let mut b = BytesMut::with_capacity(obj.len() + 32);
        b.put_slice(b"{\"type\":\"");
        b.put_slice(kind.as_bytes());
        b.put_slice(b"\",\"object\":");
        b.put_slice(&obj);
        b.put_slice(b"}\n");
        Some(b.freeze())
    }

    fn bookmark(&self, rev: i64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rev.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        let o = json!({"type": "BOOKMARK", "object": {"kind": self.ri.kind, "apiVersion": self.ri.api_version(), "metadata": meta}});
        let mut v = serde_json::to_vec(&o).unwrap_or_default();
        v.push(b'\n');
        Bytes::from(v)
    }
}

fn restamp(o: &CachedObject, rev: i64) -> Bytes {
    match serde_json::from_slice::<Value>(&o.json) {
        Ok(mut v) => {
            super::object::set_resource_version(&mut v, rev);
            serde_json::to_vec(&v).map(Bytes::from).unwrap_or_else(|_| o.json.clone())
        }
        Err(_) => o.json.clone(),
    }
}

/// The watch event type a filtered watcher sees, and the object bytes.
fn classify(ev: &CacheEvent, prefix: &str, sel: &Selectors) -> Option<(&'static str, Bytes)> {
    let in_scope = |o: &CachedObject| o.key.starts_with(prefix) && sel.matches(o);
    let cur = in_scope(&ev.object);
    let prev = ev.prev.as_deref().is_some_and(in_scope);
    match ev.kind {
        EventKind::Delete if cur || prev => Some(("DELETED", ev.object.json.clone())),
        EventKind::Delete => None,
        EventKind::Put => match (cur, prev) {
            (true, true) => Some(("MODIFIED", ev.object.json.clone())),
            (true, false) => Some(("ADDED", ev.object.json.clone())),
            (false, true) => ev.prev.as_deref().map(|p| ("DELETED", restamp(p, ev.revision))),
            (false, false) => None,
        },
    }
}

pub async fn watch(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let sel = Selectors::parse(ctx)?;
    let q = ctx.query;
    let cache = ctx.api.cache(ctx.ri)?.clone();
    let prefix = if ctx.info.name.is_empty() {
        ctx.ri.key_prefix(&ctx.api.cfg.etcd_prefix, &ctx.info.namespace)
    } else {
        ctx.key()
    };
    let send_initial = match q.get("sendInitialEvents") {
        Some("true") => {
            if q.get("resourceVersionMatch") != Some("NotOlderThan") {
                return Err(ApiError::Invalid {
                    kind: "ListOptions".into(),
                    group: "meta.k8s.io".into(),
                    name: String::new(),
                    causes: vec![crate::error::Cause::forbidden(
                        "sendInitialEvents",
                        "sendInitialEvents is forbidden for watch unless resourceVersionMatch is set to NotOlderThan",
                    )],
                });
            }
            true
        }
        _ => false,
    };
    let allow_bookmarks = q.flag("allowWatchBookmarks");
    let timeout = q.int("timeoutSeconds")?.filter(|t| *t > 0).map(|t| Duration::from_secs(t as u64));
    let rv = q.get("resourceVersion");
    let (initial, start) = match rv {
        Some("0") => {
            let l = cache.list(&prefix, None, 0, &|o| o.key.starts_with(&prefix) && sel.matches(o));
            (l.items, l.revision)
        }
        None => {
            cache.consistent_revision(Duration::from_secs(10)).await?;
            let l = cache.list(&prefix, None, 0, &|o| o.key.starts_with(&prefix) && sel.matches(o));
            (l.items, l.revision)
        }
        Some(r) => {
            let n: i64 = r.parse().map_err(|_| ApiError::BadRequest(format!("invalid resource version: \"{r}\"")))?;
            if send_initial {
                cache.wait_for_revision(n, Duration::from_secs(3)).await?;
                let l = cache.list(&prefix, None, 0, &|o| o.key.starts_with(&prefix) && sel.matches(o));
                (l.items, l.revision)
            } else {
                (Vec::new(), n)
            }
        }
    };
    let mut enc = Encoder {
        ri: ctx.ri,
        format: ctx.format(),
        include: table::IncludeObject::parse(q.get("includeObject")).map_err(ApiError::BadRequest)?,
        convert: storage_row(ctx.ri).definition != ctx.ri.definition,
        columns_sent: false,
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(256);
    match cache.watch(start) {
        Err(StorageError::Compacted { .. }) => {
            let err = ApiError::Expired(format!("too old resource version: {start} ({})", cache.revision()));
            let (_, st) = status::error_status(&err);
            let line = json!({"type": "ERROR", "object": st});
            let mut v = serde_json::to_vec(&line).unwrap_or_default();
            v.push(b'\n');
            let _ = tx.try_send(Bytes::from(v));
        }
        Err(e) => return Err(e.into()),
        Ok(mut w) => {
            tokio::spawn(async move {
                for o in initial {
                    if let Some(b) = enc.event("ADDED", &o.json) {
                        if tx.send(b).await.is_err() {
                            return;
                        }
                    }
                }
                if send_initial && tx.send(enc.bookmark(start, true)).await.is_err() {
                    return;
                }
                let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
                let mut tick = tokio::time::interval(BOOKMARK_EVERY);
                tick.tick().await;
                loop {
                    let sleep = async {
                        match deadline {
                            Some(d) => tokio::time::sleep_until(d).await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        ev = w.next() => {
                            let Some(ev) = ev else { return };
                            if let Some((kind, json)) = classify(&ev, &prefix, &sel) {
                                if let Some(b) = enc.event(kind, &json) {
                                    if tx.send(b).await.is_err() { return; }
                                }
                            }
                        }
                        _ = tick.tick() => {
                            if allow_bookmarks && tx.send(enc.bookmark(w.current_revision(), false)).await.is_err() {
                                return;
                            }
                        }
                        _ = sleep => return,
                        _ = tx.closed() => return,
                    }
                }
            });
        }
    }
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx)
        .map(|b| Ok::<_, std::convert::Infallible>(hyper::body::Frame::data(b)));
    let body = BodyExt::boxed(http_body_util::StreamBody::new(stream));
    let mut resp = http::Response::new(body);
    resp.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    Ok(resp)
}
