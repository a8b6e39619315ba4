//! Maintenance: member status, hashes, snapshots (our own dump format with
//! etcd's sha256 trailer) and restoring them. The gRPC service lives in
//! `server/maintenance.rs`; alarms go through the apply path.

pub mod format;
pub mod hash;
pub mod restore;
pub mod snapshot;
pub mod status;

pub use status::{alarm_text, SERVER_VERSION};
