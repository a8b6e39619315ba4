//! DeleteRange: tombstones every live key in the range, with prev_kv.

use super::{header, Applier};
use crate::error::Result;
use crate::lease::Lessor;
use crate::mvcc::{KeyRange, RangeOptions, TxnWrite};
use crate::proto::etcdserverpb::{DeleteRangeRequest, DeleteRangeResponse};

pub(super) fn apply(a: &mut Applier, r: &DeleteRangeRequest) -> Result<DeleteRangeResponse> {
    let lessor = a.shared.lessor.clone();
    let mut lessor = lessor.lock();
    let mut txn = a.writer.begin();
    let resp = exec(&mut txn, &mut lessor, r)?;
    txn.end();
    Ok(resp)
}

pub(super) fn exec(txn: &mut TxnWrite<'_>, lessor: &mut Lessor, r: &DeleteRangeRequest) -> Result<DeleteRangeResponse> {
    let range = KeyRange::new(&r.key, &r.range_end);
    let prev_kvs = if r.prev_kv { txn.range(range, RangeOptions::default())?.kvs } else { Vec::new() };
    let deleted = txn.delete_range(range);
    for k in &deleted {
        lessor.detach(k);
    }
    // etcd reports the new revision if this or an earlier op in the txn wrote.
    let rev = if txn.has_changes() { txn.begin_rev() + 1 } else { txn.begin_rev() };
    Ok(DeleteRangeResponse { header: header(rev), deleted: deleted.len() as i64, prev_kvs })
}
