//! etcd-compat: an etcd v3 API-compatible store.
//!
//! Layout: `server/` holds the tonic services (translate and propose only),
//! `apply/` the single apply path (command → response), `mvcc/` revisions and the
//! key index, `storage/` the engine seam (redb and in-memory), `lease/`, `watch/`
//! and `auth/` their own state. `node` ties them together with group commit.

pub mod alarm;
pub mod apply;
pub mod auth;
pub mod compactor;
pub mod config;
pub mod error;
pub mod lease;
pub mod maintenance;
pub mod mvcc;
pub mod node;
pub mod proto;
pub mod raft;
pub mod server;
pub mod storage;
pub mod watch;

pub use config::Config;
pub use error::{Error, Result};
pub use node::Node;
