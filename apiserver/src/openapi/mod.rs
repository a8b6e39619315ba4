//! OpenAPI documents generated from k8s-openapi's schemas (never from copied
//! specs): the v2 `definitions` ([`definitions`]), `/openapi/v2` ([`v2_json`]),
//! `/openapi/v3` ([`v3_index`], [`v3_document`]) and unknown-field detection
//! for server-side field validation ([`unknown_fields`]). Everything is built
//! on first use and cached, serialized documents included.

mod custom;
mod definitions;
mod params;
mod paths;
mod types;
mod unknown;
mod v2;
pub mod v2_proto;
mod v3;

pub use custom::object_definition as custom_object_definition;
pub use definitions::definitions;
pub use unknown::unknown_fields;
pub use v2::{v2_accepts_json, v2_json, V2_PROTOBUF};
pub use v2_proto::{v2_accepts_protobuf, v2_protobuf, V2_PROTOBUF_CONTENT_TYPE};
pub use v3::{v3_document, v3_index};

/// Builds and serializes every document now (they are otherwise built on
/// first request, which takes a moment); call from a background task at startup.
pub fn prebuild() {
    let _ = v2_json();
    let _ = v2_protobuf();
    let _ = v3_document("api/v1");
}

#[cfg(test)]
mod tests;
