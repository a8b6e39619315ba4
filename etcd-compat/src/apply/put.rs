//! Put: prev_kv, lease attach/detach, ignore_value and ignore_lease.

use super::{header, Applier};
use crate::error::{Error, Result};
use crate::lease::{Lessor, NO_LEASE};
use crate::mvcc::{KeyRange, RangeOptions, TxnWrite};
use crate::proto::etcdserverpb::{PutRequest, PutResponse};

pub(super) fn apply(a: &mut Applier, r: &PutRequest) -> Result<PutResponse> {
    let lessor = a.shared.lessor.clone();
    let mut lessor = lessor.lock();
    // A plain put checks its lease before anything else (etcd's applier does
    // so before it opens the write txn): a missing lease wins over a missing key.
    if r.lease != NO_LEASE && !lessor.exists(r.lease) {
        return Err(Error::LeaseNotFound);
    }
    let mut txn = a.writer.begin();
    check(&txn, &lessor, r)?;
    let resp = exec(&mut txn, &mut lessor, r)?;
    txn.end();
    Ok(resp)
}

/// Checks that must pass before anything is written (etcd's checkRequestPut).
pub(super) fn check(txn: &TxnWrite<'_>, lessor: &Lessor, r: &PutRequest) -> Result<()> {
    if r.ignore_value || r.ignore_lease {
        let rr = txn.range(KeyRange::Single(&r.key), RangeOptions::default())?;
        if rr.kvs.is_empty() {
            return Err(Error::KeyNotFound);
        }
    }
    if r.lease != NO_LEASE && !r.ignore_lease && !lessor.exists(r.lease) {
        return Err(Error::LeaseNotFound);
    }
    Ok(())
}

pub(super) fn exec(txn: &mut TxnWrite<'_>, lessor: &mut Lessor, r: &PutRequest) -> Result<PutResponse> {
    let prev = if r.ignore_value || r.ignore_lease || r.prev_kv {
        txn.range(KeyRange::Single(&r.key), RangeOptions::default())?.kvs.pop()
    } else {
        None
    };
    let mut value = r.value.clone();
    let mut lease = r.lease;
    if r.ignore_value || r.ignore_lease {
        let p = prev.as_ref().ok_or(Error::KeyNotFound)?;
        if r.ignore_value {
            value = p.value.clone();
        }
        if r.ignore_lease {
            lease = p.lease;
        }
    }
    if lease != NO_LEASE && !lessor.exists(lease) {
        return Err(Error::LeaseNotFound);
    }
    let rev = txn.put(&r.key, value, lease);
    if lease == NO_LEASE {
        lessor.detach(&r.key);
    } else {
        lessor.attach(lease, &r.key);
    }
    Ok(PutResponse { header: header(rev), prev_kv: if r.prev_kv { prev } else { None } })
}
