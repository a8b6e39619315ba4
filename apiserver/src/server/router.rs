//! HTTP routing: health, version, metrics, discovery and OpenAPI, then the
//! resource API. Also authentication (client certificate required except on
//! public endpoints) and request metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::Incoming;
use serde_json::json;

use super::tls::UserInfo;
use super::State;
use crate::error::ApiError;
use crate::handlers::codec::{self, Response};
use crate::handlers::request::{self, Query};
use crate::{discovery, handlers, openapi};

const PUBLIC: &[&str] = &["/healthz", "/livez", "/readyz", "/version"];

fn is_public(path: &str) -> bool {
    PUBLIC.iter().any(|p| path == *p || path.starts_with(&format!("{p}/")))
}

pub async fn route(state: Arc<State>, req: http::Request<Incoming>, user: Option<UserInfo>) -> Response {
    let start = Instant::now();
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    if user.is_none() && !is_public(&path) {
        return codec::error(&ApiError::Unauthorized);
    }
    let query = Query::parse(parts.uri.query());
    let body = match http_body_util::Limited::new(body, codec::MAX_BODY_BYTES + 1).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return codec::error(&ApiError::TooLarge(format!(
                "Request entity too large: limit is {}",
                codec::MAX_BODY_BYTES
            )))
        }
    };
    if body.len() > codec::MAX_BODY_BYTES {
        return codec::error(&ApiError::TooLarge(format!(
            "Request entity too large: limit is {}",
            codec::MAX_BODY_BYTES
        )));
    }
    if let Some(r) = non_resource(&state, &parts, &path, &query).await {
        return r;
    }
    let Some(info) = request::parse(&parts.method, &path, &query) else {
        return not_found();
    };
    let watchers_labels = vec![
        ("group".to_string(), info.group.clone()),
        ("version".to_string(), info.version.clone()),
        ("kind".to_string(), info.resource.clone()),
    ];
    let is_watch = info.verb == request::Verb::Watch;
    let labels_base = vec![
        ("verb".to_string(), info.verb.metric().to_string()),
        ("group".to_string(), info.group.clone()),
        ("version".to_string(), info.version.clone()),
        ("resource".to_string(), info.resource.clone()),
        ("subresource".to_string(), info.subresource.clone()),
        (
            "scope".to_string(),
            if !info.name.is_empty() {
                "resource".into()
            } else if !info.namespace.is_empty() {
                "namespace".into()
            } else {
                "cluster".into()
            },
        ),
        ("component".to_string(), "apiserver".into()),
    ];
    let resp = match handlers::handle(&state.api, info, query, &parts, body).await {
        Ok(r) => r,
        Err(e) => codec::error(&e),
    };
    let mut labels = labels_base.clone();
    labels.push(("code".into(), resp.status().as_u16().to_string()));
    state.metrics.requests.get_or_create(&labels).inc();
    state.metrics.durations.get_or_create(&labels_base).observe(start.elapsed().as_secs_f64());
    if is_watch && resp.status().is_success() {
        // Counted while the stream is open; the guard lives in the body.
        let g = state.metrics.watchers.get_or_create(&watchers_labels).clone();
        g.inc();
        let (p, b) = resp.into_parts();
        let guard = WatchGuard(g);
        let body = b
            .map_frame(move |f| {
                let _keep = &guard;
                f
            })
            .boxed();
        return http::Response::from_parts(p, body);
    }
    resp
}

struct WatchGuard(prometheus_client::metrics::gauge::Gauge<i64, std::sync::atomic::AtomicI64>);

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn not_found() -> Response {
    codec::json(
        404,
        &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": "the server could not find the requested resource", "reason": "NotFound",
                "details": {}, "code": 404}),
    )
}

async fn health(state: &State, name: &str, path: &str, query: &Query) -> Response {
    let etcd_ok =
        matches!(tokio::time::timeout(Duration::from_secs(2), state.api.backend.current_revision()).await, Ok(Ok(_)));
    let checks: Vec<(&str, bool)> =
        vec![("ping", true), ("log", true), ("etcd", etcd_ok), ("poststarthook/start-apiserver", true)];
    let sub = path.strip_prefix(&format!("/{name}/")).unwrap_or("");
    if !sub.is_empty() {
        return match checks.iter().find(|(n, _)| *n == sub) {
            Some((_, true)) => codec::text(200, "ok"),
            Some((_, false)) => codec::text(500, format!("internal server error: {sub} check failed")),
            None => not_found(),
        };
    }
    let ok = checks.iter().all(|(_, ok)| *ok);
    if query.0.contains_key("verbose") || !ok {
        let mut s = String::new();
        for (n, c) in &checks {
            s.push_str(&format!(
                "[{}]{n} {}\n",
                if *c { "+" } else { "-" },
                if *c { "ok" } else { "failed: reason withheld" }
            ));
        }
        s.push_str(&if ok { format!("{name} check passed\n") } else { format!("{name} check failed\n") });
        return codec::text(if ok { 200 } else { 500 }, s);
    }
    codec::text(200, "ok")
}

fn version() -> serde_json::Value {
    json!({
        "major": "1", "minor": "34", "emulationMajor": "1", "emulationMinor": "34",
        "minCompatibilityMajor": "1", "minCompatibilityMinor": "33",
        "gitVersion": concat!("v1.34.0+capstan-", env!("CARGO_PKG_VERSION")),
        "gitCommit": "capstan", "gitTreeState": "clean", "buildDate": "2026-11-23T00:00:00Z",
        "goVersion": "rust", "compiler": "rustc", "platform": format!("{}/{}", std::env::consts::OS, if std::env::consts::ARCH == "x86_64" { "amd64" } else { std::env::consts::ARCH }),
    })
}

async fn non_resource(state: &State, parts: &http::request::Parts, path: &str, query: &Query) -> Option<Response> {
    let accept = parts.headers.get("accept").and_then(|v| v.to_str().ok()).unwrap_or("");
    let p = path.trim_end_matches('/');
    let r = match p {
        "/version" => codec::json(200, &version()),
        "/healthz" | "/livez" | "/readyz" => health(state, &p[1..], path, query).await,
        _ if p.starts_with("/healthz/") => health(state, "healthz", p, query).await,
        _ if p.starts_with("/livez/") => health(state, "livez", p, query).await,
        _ if p.starts_with("/readyz/") => health(state, "readyz", p, query).await,
        "/metrics" => {
            for (res, n) in state.api.object_counts() {
                state.metrics.storage_objects.get_or_create(&vec![("resource".into(), res)]).set(n as i64);
            }
            let mut r = codec::text(200, state.metrics.encode());
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            r
        }
        "/api" | "/apis" => {
            let fmt = discovery::negotiate(accept);
            match fmt {
                discovery::DiscoveryFormat::Plain if p == "/api" => {
                    codec::json(200, &discovery::api_versions(&state.server_address))
                }
                discovery::DiscoveryFormat::Plain => codec::json(200, &discovery::api_group_list()),
                f => {
                    let mut r = codec::json_bytes(200, discovery::aggregated_bytes(p == "/api", f), f.content_type());
                    r.headers_mut().insert(http::header::VARY, http::HeaderValue::from_static("Accept"));
                    r
                }
            }
        }
        "/api/v1" => codec::json(200, &discovery::api_resource_list("", "v1")?),
        "/openapi/v2" => {
            if openapi::v2_accepts_protobuf(accept) {
                codec::json_bytes(200, openapi::v2_protobuf(), openapi::V2_PROTOBUF_CONTENT_TYPE)
            } else if openapi::v2_accepts_json(accept) {
                codec::json_bytes(200, openapi::v2_json(), "application/json")
            } else {
                codec::error(&ApiError::NotAcceptable(
                    "only application/json and the gnostic protobuf are served for /openapi/v2".into(),
                ))
            }
        }
        "/openapi/v3" => codec::json(200, &openapi::v3_index()),
        _ if p.starts_with("/openapi/v3/") => match openapi::v3_document(&p["/openapi/v3/".len()..]) {
            Some((b, etag)) => {
                let mut r = codec::json_bytes(200, b, "application/json");
                if let Ok(v) = http::HeaderValue::from_str(&format!("\"{etag}\"")) {
                    r.headers_mut().insert(http::header::ETAG, v);
                }
                r
            }
            None => not_found(),
        },
        _ => {
            let segs: Vec<&str> = p.trim_start_matches('/').split('/').collect();
            match segs.as_slice() {
                ["apis", g] => codec::json(200, &discovery::api_group(g)?),
                ["apis", g, v] => codec::json(200, &discovery::api_resource_list(g, v)?),
                ["api", _] => not_found(),
                _ => return None,
            }
        }
    };
    Some(r)
}
