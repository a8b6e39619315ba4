//! Auth: users, roles, key-range permissions and tokens, as etcd v3 has them.
//! [`AuthStore`] holds the state; the applier changes it (`user.rs`,
//! `role.rs`), the services read it and check requests with [`Access`].

mod permission;
mod role;
mod store;
#[cfg(test)]
mod tests;
pub mod token;
mod user;

pub use permission::{Interval, IntervalSet, RangePerms};
pub use store::{AuthStore, DEFAULT_BCRYPT_COST, ROOT_ROLE, ROOT_USER};

use crate::proto::etcdserverpb::request_op::Request;
use crate::proto::etcdserverpb::TxnRequest;

/// What a request needs permission for: key ranges (`end` empty = one key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Access {
    Read {
        key: Vec<u8>,
        end: Vec<u8>,
    },
    Write {
        key: Vec<u8>,
        end: Vec<u8>,
    },
    /// Root-only operations (auth management, compaction, alarms, defrag...).
    Admin,
}

impl Access {
    pub fn read(key: &[u8], end: &[u8]) -> Self {
        Access::Read { key: key.to_vec(), end: end.to_vec() }
    }
    pub fn write(key: &[u8], end: &[u8]) -> Self {
        Access::Write { key: key.to_vec(), end: end.to_vec() }
    }

    /// Everything a txn touches, as etcd's checkTxnAuth collects it (a delete
    /// returning its previous values also reads them).
    pub fn of_txn(t: &TxnRequest, out: &mut Vec<Access>) {
        for c in &t.compare {
            out.push(Access::read(&c.key, &c.range_end));
        }
        for op in t.success.iter().chain(t.failure.iter()) {
            match &op.request {
                Some(Request::RequestRange(r)) => out.push(Access::read(&r.key, &r.range_end)),
                Some(Request::RequestPut(r)) => out.push(Access::write(&r.key, &[])),
                Some(Request::RequestDeleteRange(r)) => {
                    if r.prev_kv {
                        out.push(Access::read(&r.key, &r.range_end));
                    }
                    out.push(Access::write(&r.key, &r.range_end));
                }
                Some(Request::RequestTxn(t)) => Access::of_txn(t, out),
                None => {}
            }
        }
    }
}
