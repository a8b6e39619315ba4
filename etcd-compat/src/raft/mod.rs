//! Replication: openraft's type config, the Raft log store (a WAL), the state
//! machine (the MVCC store behind the single apply path), the peer network and
//! its gRPC service, and bootstrap from etcd's cluster flags.

pub mod bootstrap;
pub mod faults;
pub mod log_store;
pub mod network;
pub mod service;
pub mod state_machine;
pub mod types;

pub use types::{Member, NodeId, Raft, Reply, Request, TypeConfig};
