//! LeaseGrant and LeaseRevoke (expiry is a revoke proposed by the primary).

use std::time::Instant;

use super::{header, Applier};
use crate::error::{Error, Result};
use crate::lease::lease_key;
use crate::mvcc::KeyRange;
use crate::proto::etcdserverpb::{LeaseGrantRequest, LeaseGrantResponse, LeaseRevokeRequest, LeaseRevokeResponse};
use crate::storage::Table;

pub(super) fn grant(a: &mut Applier, r: &LeaseGrantRequest) -> Result<LeaseGrantResponse> {
    if r.id == 0 {
        // IDs are chosen before proposing so that apply stays deterministic.
        return Err(Error::InvalidArgument("lease ID must be assigned before apply".into()));
    }
    let ttl = {
        let mut lessor = a.shared.lessor.lock();
        lessor.grant(r.id, r.ttl, Instant::now())?.ttl
    };
    a.writer.batch_mut().put(Table::Lease, lease_key(r.id), ttl.to_be_bytes().to_vec());
    Ok(LeaseGrantResponse { header: header(a.writer.rev()), id: r.id, ttl, error: String::new() })
}

pub(super) fn revoke(a: &mut Applier, r: &LeaseRevokeRequest) -> Result<LeaseRevokeResponse> {
    let keys = a.shared.lessor.lock().revoke(r.id)?;
    let mut txn = a.writer.begin();
    for k in &keys {
        txn.delete_range(KeyRange::Single(k));
    }
    let rev = txn.end();
    a.writer.batch_mut().delete(Table::Lease, lease_key(r.id));
    Ok(LeaseRevokeResponse { header: header(rev) })
}
