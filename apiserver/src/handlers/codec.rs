//! Request body decoding (JSON or YAML, size limit, kind/apiVersion checks)
//! and response encoding (JSON, Table, PartialObjectMetadata negotiation).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;

use crate::catalog::ResourceInfo;
use crate::error::ApiError;
use crate::status;

pub type Body = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;
pub type Response = http::Response<Body>;

/// kube-apiserver's limit on a request body.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

pub fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).boxed()
}

pub fn json_bytes(code: u16, body: Bytes, content_type: &str) -> Response {
    let mut r = http::Response::new(full(body));
    *r.status_mut() = http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::OK);
    if let Ok(v) = http::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r
}

pub fn json(code: u16, v: &Value) -> Response {
    let body = serde_json::to_vec(v).unwrap_or_default();
    json_bytes(code, Bytes::from(body), "application/json")
}

pub fn error(e: &ApiError) -> Response {
    let (code, s) = status::error_status(e);
    json(code, &s)
}

pub fn text(code: u16, s: impl Into<String>) -> Response {
    let mut r = http::Response::new(full(Bytes::from(s.into())));
    *r.status_mut() = http::StatusCode::from_u16(code).unwrap_or(http::StatusCode::OK);
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain; charset=utf-8"));
    r
}

/// Decodes a request body into a JSON value.
pub fn decode(body: &[u8], content_type: Option<&str>) -> Result<Value, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::TooLarge(format!("Request entity too large: limit is {MAX_BODY_BYTES}")));
    }
    let ct = content_type.unwrap_or("application/json").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let v: Value = match ct.as_str() {
        "application/yaml" | "application/x-yaml" | "text/yaml" => serde_yaml_ng::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("error converting YAML to JSON: {e}")))?,
        "application/json" | "" | "*/*" => serde_json::from_slice(body)
            .map_err(|e| ApiError::BadRequest(format!("couldn't get version/kind; json parse error: {e}")))?,
        "application/vnd.kubernetes.protobuf" => crate::protobuf::decode(body)?,
        other => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got {other})"
            )))
        }
    };
    if !v.is_object() {
        return Err(ApiError::BadRequest(
            "Object 'Kind' is missing in the request body: the body must be a JSON object".into(),
        ));
    }
    Ok(v)
}

/// Decodes the body of a write to `kind`, with kube's wording for bodies that
/// do not parse.
pub fn decode_as(body: &[u8], content_type: Option<&str>, kind: &str) -> Result<Value, ApiError> {
    decode(body, content_type).map_err(|e| match e {
        ApiError::BadRequest(m) if m.starts_with("couldn't get version/kind") => {
            let text = String::from_utf8_lossy(&body[..body.len().min(30)]).trim().to_string();
            let more = if body.len() > 30 { " ..." } else { "" };
            ApiError::BadRequest(format!(
                "the object provided is unrecognized (must be of type {kind}): {m} ({text}{more})"
            ))
        }
        e => e,
    })
}

/// Checks (and fills in) apiVersion and kind against the endpoint.
pub fn check_type(obj: &mut Value, api_version: &str, kind: &str) -> Result<(), ApiError> {
    let Some(o) = obj.as_object_mut() else { return Err(ApiError::BadRequest("body must be an object".into())) };
    match o.get("apiVersion").and_then(Value::as_str) {
        None | Some("") => {
            o.insert("apiVersion".into(), api_version.into());
        }
        Some(v) if v == api_version => {}
        Some(v) => {
            return Err(ApiError::BadRequest(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )))
        }
    }
    match o.get("kind").and_then(Value::as_str) {
        None | Some("") => {
            o.insert("kind".into(), kind.into());
        }
        Some(k) if k == kind => {}
        Some(k) => {
            let version = api_version.rsplit('/').next().unwrap_or(api_version);
            return Err(ApiError::BadRequest(format!(
                "{k} in version \"{version}\" cannot be handled as a {kind}: the kind in the data ({k}) does not match the expected kind ({kind})"
            )));
        }
    }
    Ok(())
}

/// The response form the Accept header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Table,
    PartialMetadata,
}

pub fn negotiate(accept: Option<&str>) -> Format {
    let Some(a) = accept else { return Format::Json };
    // The first acceptable alternative wins, as kube's negotiation does.
    for alt in a.split(',') {
        let params: Vec<&str> = alt.split(';').map(str::trim).collect();
        let mt = params.first().copied().unwrap_or("");
        if mt != "application/json" && mt != "*/*" && mt != "application/*" {
            continue;
        }
        let get = |k: &str| params.iter().find_map(|p| p.strip_prefix(k).and_then(|r| r.strip_prefix('=')));
        match (get("as"), get("g")) {
            (Some("Table"), Some("meta.k8s.io")) => return Format::Table,
            (Some("PartialObjectMetadata" | "PartialObjectMetadataList"), Some("meta.k8s.io")) => {
                return Format::PartialMetadata
            }
            (Some(_), _) => continue,
            (None, _) => return Format::Json,
        }
    }
    Format::Json
}

/// An object served in the version asked for (storage may hold another version).
pub fn served(info: &ResourceInfo, stored: Value) -> Value {
    crate::registry::convert::from_storage(info, stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiates_kubectl_table_accept() {
        let a = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(negotiate(Some(a)), Format::Table);
        assert_eq!(negotiate(Some("application/json")), Format::Json);
        assert_eq!(
            negotiate(Some("application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1")),
            Format::PartialMetadata
        );
        assert_eq!(negotiate(Some("application/vnd.kubernetes.protobuf, */*")), Format::Json);
    }

    #[test]
    fn rejects_bad_bodies() {
        assert!(matches!(decode(b"{", None), Err(ApiError::BadRequest(_))));
        assert!(matches!(decode(b"kind: [", Some("application/yaml")), Err(ApiError::BadRequest(_))));
        assert!(matches!(decode(b"[1]", None), Err(ApiError::BadRequest(_))));
        let mut v = decode(b"{\"apiVersion\":\"apps/v1\",\"kind\":\"Pod\"}", None).unwrap();
        assert!(check_type(&mut v, "v1", "Pod").is_err());
        let mut v = decode(b"{}", None).unwrap();
        check_type(&mut v, "v1", "Pod").unwrap();
        assert_eq!(v["kind"], "Pod");
    }
}
