//! Leases: the lessor (TTL bookkeeping and key attachments) and lease ID
//! generation. Grants and revokes are applied through the apply path; renewals
//! and expiry checks are the primary's job and never touch the log.

mod lessor;

pub use lessor::{Lease, Lessor, LEASE_MAX_TTL, LEASE_MIN_TTL};

/// etcd's `clientv3.NoLease`.
pub const NO_LEASE: i64 = 0;

/// Encodes a persisted lease record (id → granted TTL).
pub fn lease_key(id: i64) -> Vec<u8> {
    id.to_be_bytes().to_vec()
}
