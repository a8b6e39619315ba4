//! Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`),
//! decoded into the same JSON a client would have sent.
//!
//! kubectl's typed clients send bodies as protobuf and do not fall back to
//! JSON. A body is the magic `k8s\0` followed by a `runtime.Unknown`:
//! `typeMeta` (1: apiVersion, kind), `raw` (2: the object's own message),
//! `contentEncoding` (3) and `contentType` (4). The type named by `typeMeta`
//! selects the message in a table generated from the k8s-pb crate
//! (`schema_gen.rs`, see `scripts/gen-protobuf-schema.py`); the OpenAPI
//! definitions supply the JSON field names (`schema.rs`). Responses stay JSON.

mod decode;
mod schema;
#[rustfmt::skip]
#[allow(clippy::all)]
mod schema_gen;
mod wire;

use serde_json::Value;

pub use schema_gen::K8S_PB_VERSION;
use wire::{Payload, Reader};

/// The four bytes every Kubernetes protobuf body starts with.
pub const MAGIC: &[u8] = b"k8s\0";

/// The media type of Kubernetes protobuf.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// Why a protobuf body could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtobufError {
    #[error("the body does not start with the Kubernetes protobuf prefix")]
    Magic,
    #[error("the protobuf body is truncated")]
    Truncated,
    #[error("invalid protobuf body: {0}")]
    Malformed(String),
    #[error("no protobuf schema for apiVersion {api_version:?}, kind {kind:?}")]
    UnknownType { api_version: String, kind: String },
    #[error("unsupported protobuf body: {0}")]
    Unsupported(String),
}

impl From<ProtobufError> for crate::error::ApiError {
    fn from(e: ProtobufError) -> Self {
        crate::error::ApiError::BadRequest(e.to_string())
    }
}

/// Whether a Content-Type header names Kubernetes protobuf (parameters and
/// case ignored).
pub fn is_protobuf(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case(CONTENT_TYPE))
}

/// Builds the schema now (it is otherwise built on the first protobuf body,
/// after the OpenAPI definitions); call from a background task at startup.
pub fn prebuild() {
    let _ = schema::schema();
}

/// Decodes a whole protobuf request body into its Kubernetes JSON object,
/// `apiVersion` and `kind` included.
pub fn decode(body: &[u8]) -> Result<Value, ProtobufError> {
    decode_at(body, 0)
}

/// Like [`decode`], but a body whose `typeMeta` is empty is read as
/// `api_version`/`kind` (the endpoint's type).
pub fn decode_as(body: &[u8], api_version: &str, kind: &str) -> Result<Value, ProtobufError> {
    let env = envelope(body)?;
    let (v, k) =
        if env.kind.is_empty() { (api_version.to_string(), kind.to_string()) } else { (env.api_version, env.kind) };
    object(&v, &k, env.raw, 0)
}

/// The parts of a `runtime.Unknown` that matter here.
struct Envelope<'a> {
    api_version: String,
    kind: String,
    raw: &'a [u8],
}

fn envelope(body: &[u8]) -> Result<Envelope<'_>, ProtobufError> {
    let rest = body.strip_prefix(MAGIC).ok_or(ProtobufError::Magic)?;
    let mut env = Envelope { api_version: String::new(), kind: String::new(), raw: &[] };
    let mut r = Reader::new(rest);
    while let Some((tag, p)) = r.field()? {
        let b = match p {
            Payload::Bytes(b) => b,
            _ if tag <= 4 => {
                return Err(ProtobufError::Malformed(format!("Unknown field {tag} must be length-delimited")))
            }
            _ => continue,
        };
        match tag {
            1 => {
                let mut tm = Reader::new(b);
                while let Some((t, p)) = tm.field()? {
                    match (t, p) {
                        (1, Payload::Bytes(s)) => env.api_version = String::from_utf8_lossy(s).into_owned(),
                        (2, Payload::Bytes(s)) => env.kind = String::from_utf8_lossy(s).into_owned(),
                        (1 | 2, _) => return Err(ProtobufError::Malformed("typeMeta fields must be strings".into())),
                        _ => {}
                    }
                }
            }
            2 => env.raw = b,
            3 if !b.is_empty() => {
                return Err(ProtobufError::Unsupported(format!("content encoding {:?}", String::from_utf8_lossy(b))))
            }
            4 if !b.is_empty() && !is_protobuf(&String::from_utf8_lossy(b)) => {
                return Err(ProtobufError::Unsupported(format!("content type {:?}", String::from_utf8_lossy(b))))
            }
            _ => {}
        }
    }
    Ok(env)
}

pub(crate) fn decode_at(body: &[u8], depth: usize) -> Result<Value, ProtobufError> {
    let env = envelope(body)?;
    object(&env.api_version, &env.kind, env.raw, depth)
}

fn object(api_version: &str, kind: &str, raw: &[u8], depth: usize) -> Result<Value, ProtobufError> {
    let unknown = || ProtobufError::UnknownType { api_version: api_version.to_string(), kind: kind.to_string() };
    if kind.is_empty() {
        return Err(unknown());
    }
    let idx = schema::schema().for_type(api_version, kind).ok_or_else(unknown)?;
    let mut v = decode::message(idx, raw, depth)?;
    let Some(obj) = v.as_object_mut() else {
        return Err(ProtobufError::Unsupported(format!("{kind} does not decode to an object")));
    };
    if !api_version.is_empty() {
        obj.insert("apiVersion".into(), api_version.into());
    }
    obj.insert("kind".into(), kind.into());
    Ok(v)
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_input;
