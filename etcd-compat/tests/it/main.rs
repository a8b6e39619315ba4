//! In-process integration tests for etcd-compat: one binary, one module per area.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod cluster;
mod kv;
mod maintenance;
mod raft;
mod raft_faults;
mod watch;
