//! Integration tests of the apiserver's storage layer: the Backend conformance
//! suite and the watch cache against an in-process etcd-compat member and, when
//! `/usr/bin/etcd` exists, a real etcd process.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cache;
mod etcd;
mod servers;
