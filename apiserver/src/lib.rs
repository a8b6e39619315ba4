//! capstan-apiserver: a lightweight Kubernetes API server over the etcd v3 API.
//!
//! Request path: `server/` (TLS, client certificates, HTTP) → `request` (URL and
//! query parsing) → `handlers/<verb>.rs` → `registry/` (per-resource strategy:
//! defaults, validation, field sets) → `storage/` (etcd3 store and watch cache).
//! `discovery/`, `openapi/`, `table/` and `patch/` answer the metadata and format
//! questions kubectl asks.

pub mod apply;
pub mod catalog;
pub mod crd;
pub mod discovery;
pub mod error;
pub mod gofmt;
pub mod handlers;
pub mod openapi;
pub mod patch;
pub mod protobuf;
pub mod registry;
pub mod selectors;
pub mod server;
pub mod status;
pub mod storage;
pub mod table;
#[cfg(test)]
mod testing;

pub use error::{ApiError, Result};
