//! Watch: the hub that fans committed events out to watchers, and the
//! per-stream logic of etcd's Watch RPC.
//!
//! - [`hub`]: registry of watchers; `notify` from the applier, never blocking.
//! - [`stream`]: one RPC stream (create, cancel, progress, ordered responses).
//! - [`watcher`]: one watcher's options and phase; response preparation.
//! - [`catchup`]: replay of history for watchers that start in the past.
//! - [`filter`]: key ranges and event filters; [`fragment`]: response splitting.

pub mod catchup;
pub mod filter;
pub mod fragment;
pub mod hub;
pub mod stream;
pub mod watcher;

pub use hub::{WatchHub, DEFAULT_PROGRESS_INTERVAL};
