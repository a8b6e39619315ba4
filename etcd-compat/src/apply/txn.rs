//! Txn: compares, both branches, nested txns; request checks as etcd's v3rpc.

use std::collections::HashSet;

use super::{delete_range, header, put, range, Applier};
use crate::error::{Error, Result};
use crate::lease::Lessor;
use crate::mvcc::{KeyRange, RangeOptions, ReadView, TxnWrite};
use crate::proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use crate::proto::etcdserverpb::request_op::Request;
use crate::proto::etcdserverpb::response_op::Response as OpResponse;
use crate::proto::etcdserverpb::{Compare, RequestOp, ResponseOp, TxnRequest, TxnResponse};
use crate::proto::mvccpb::KeyValue;

pub(super) fn apply(a: &mut Applier, r: &TxnRequest) -> Result<TxnResponse> {
    let lessor = a.shared.lessor.clone();
    let mut lessor = lessor.lock();
    let mut txn = a.writer.begin();
    // Every compare, nested ones included, sees the state before the txn.
    let mut path = Vec::new();
    compare_to_path(&txn, r, &mut path);
    // As etcd: every put along the path is checked before any range.
    check_puts(&txn, &lessor, r, &path, &mut 0, &mut Vec::new())?;
    check_ranges(&txn, r, &path, &mut 0)?;
    let mut resp = exec(&mut txn, &mut lessor, r, &path, &mut 0)?;
    let rev = txn.end();
    resp.header = header(rev);
    Ok(resp)
}

fn branch(r: &TxnRequest, succeeded: bool) -> &[RequestOp] {
    if succeeded {
        &r.success
    } else {
        &r.failure
    }
}

fn compare_to_path(view: &impl ReadView, r: &TxnRequest, path: &mut Vec<bool>) {
    let ok = r.compare.iter().all(|c| compare(view, c));
    path.push(ok);
    for op in branch(r, ok) {
        if let Some(Request::RequestTxn(t)) = &op.request {
            compare_to_path(view, t, path);
        }
    }
}

/// etcd's checkRequestPut along the chosen path, in execution order.
///
/// `deleted` collects the deletes run before each put. etcd's duplicate-key
/// check reads a "\0" range end literally (an empty interval), so a from-key
/// delete may remove a key a later ignore_value/ignore_lease put of the same
/// txn needs; etcd 3.4 panics mid-apply there. This rejects such a txn
/// before anything is written.
fn check_puts(
    txn: &TxnWrite<'_>,
    lessor: &Lessor,
    r: &TxnRequest,
    path: &[bool],
    pos: &mut usize,
    deleted: &mut Vec<(Vec<u8>, Vec<u8>)>,
) -> Result<()> {
    let ok = path.get(*pos).copied().unwrap_or(false);
    *pos += 1;
    for op in branch(r, ok) {
        match &op.request {
            Some(Request::RequestPut(p)) => {
                put::check(txn, lessor, p)?;
                if (p.ignore_value || p.ignore_lease)
                    && deleted.iter().any(|(k, e)| KeyRange::new(k, e).contains(&p.key))
                {
                    return Err(Error::KeyNotFound);
                }
            }
            Some(Request::RequestDeleteRange(d)) => deleted.push((d.key.clone(), d.range_end.clone())),
            Some(Request::RequestTxn(t)) => check_puts(txn, lessor, t, path, pos, deleted)?,
            _ => {}
        }
    }
    Ok(())
}

/// etcd's checkRequestRange along the chosen path.
fn check_ranges(txn: &TxnWrite<'_>, r: &TxnRequest, path: &[bool], pos: &mut usize) -> Result<()> {
    let ok = path.get(*pos).copied().unwrap_or(false);
    *pos += 1;
    for op in branch(r, ok) {
        match &op.request {
            Some(Request::RequestRange(rr)) if rr.revision != 0 => {
                if rr.revision > txn.begin_rev() {
                    return Err(Error::FutureRevision);
                }
                if rr.revision < txn.compact_rev() {
                    return Err(Error::Compacted);
                }
            }
            Some(Request::RequestTxn(t)) => check_ranges(txn, t, path, pos)?,
            _ => {}
        }
    }
    Ok(())
}

fn exec(
    txn: &mut TxnWrite<'_>,
    lessor: &mut Lessor,
    r: &TxnRequest,
    path: &[bool],
    pos: &mut usize,
) -> Result<TxnResponse> {
    let ok = path.get(*pos).copied().unwrap_or(false);
    *pos += 1;
    let mut responses = Vec::new();
    for op in branch(r, ok) {
        let resp = match &op.request {
            Some(Request::RequestRange(rr)) => Some(OpResponse::ResponseRange(range::range(&*txn, rr)?)),
            Some(Request::RequestPut(p)) => Some(OpResponse::ResponsePut(put::exec(txn, lessor, p)?)),
            Some(Request::RequestDeleteRange(d)) => {
                Some(OpResponse::ResponseDeleteRange(delete_range::exec(txn, lessor, d)?))
            }
            Some(Request::RequestTxn(t)) => {
                let mut inner = exec(txn, lessor, t, path, pos)?;
                // Nested responses carry an empty header, as etcd's do.
                inner.header = Some(Default::default());
                Some(OpResponse::ResponseTxn(inner))
            }
            None => None,
        };
        responses.push(ResponseOp { response: resp });
    }
    Ok(TxnResponse { header: None, succeeded: ok, responses })
}

fn compare(view: &impl ReadView, c: &Compare) -> bool {
    let Ok(rr) = view.range(KeyRange::new(&c.key, &c.range_end), RangeOptions::default()) else {
        return false;
    };
    if rr.kvs.is_empty() {
        // A value compare on a missing key always fails: nil == "" in gRPC.
        if c.target == CompareTarget::Value as i32 {
            return false;
        }
        return compare_kv(c, &KeyValue::default());
    }
    rr.kvs.iter().all(|kv| compare_kv(c, kv))
}

fn compare_kv(c: &Compare, kv: &KeyValue) -> bool {
    use std::cmp::Ordering;
    // As etcd: only the union member matching the target counts; any other
    // (or none) compares against zero / the empty value.
    let tu = &c.target_union;
    let ord = match CompareTarget::try_from(c.target) {
        Ok(CompareTarget::Value) => {
            let v: &[u8] = match tu {
                Some(TargetUnion::Value(v)) => v,
                _ => &[],
            };
            kv.value.as_slice().cmp(v)
        }
        Ok(CompareTarget::Version) => kv.version.cmp(&if let Some(TargetUnion::Version(v)) = tu { *v } else { 0 }),
        Ok(CompareTarget::Create) => {
            kv.create_revision.cmp(&if let Some(TargetUnion::CreateRevision(v)) = tu { *v } else { 0 })
        }
        Ok(CompareTarget::Mod) => kv.mod_revision.cmp(&if let Some(TargetUnion::ModRevision(v)) = tu { *v } else { 0 }),
        Ok(CompareTarget::Lease) => kv.lease.cmp(&if let Some(TargetUnion::Lease(v)) = tu { *v } else { 0 }),
        Err(_) => Ordering::Equal,
    };
    match CompareResult::try_from(c.result) {
        Ok(CompareResult::Equal) => ord == Ordering::Equal,
        Ok(CompareResult::NotEqual) => ord != Ordering::Equal,
        Ok(CompareResult::Greater) => ord == Ordering::Greater,
        Ok(CompareResult::Less) => ord == Ordering::Less,
        Err(_) => true,
    }
}

/// etcd's checkTxnRequest: op counts and empty keys, recursively. A nested
/// txn may use only what its parent's largest list leaves of `max_txn_ops`.
pub fn check_txn_request(r: &TxnRequest, max_txn_ops: usize) -> Result<()> {
    let opc = r.compare.len().max(r.success.len()).max(r.failure.len());
    if opc > max_txn_ops {
        return Err(Error::TooManyOps);
    }
    if r.compare.iter().any(|c| c.key.is_empty()) {
        return Err(Error::EmptyKey);
    }
    for op in r.success.iter().chain(r.failure.iter()) {
        check_request_op(op, max_txn_ops - opc)?;
    }
    Ok(())
}

fn check_request_op(op: &RequestOp, max_txn_ops: usize) -> Result<()> {
    match &op.request {
        Some(Request::RequestRange(r)) => crate::server::validate::check_range(r),
        Some(Request::RequestPut(r)) => crate::server::validate::check_put(r),
        Some(Request::RequestDeleteRange(r)) => crate::server::validate::check_delete(r),
        Some(Request::RequestTxn(t)) => check_txn_request(t, max_txn_ops),
        // etcd answers an empty op with "key not found".
        None => Err(Error::KeyNotFound),
    }
}

/// A delete interval as etcd's checkIntervals sees it: a point, or
/// `[start, end)` compared bytewise. The end is taken literally, so "\0"
/// (from-key) and any end <= start make an interval that holds no key.
#[derive(Debug, Clone)]
struct Interval {
    start: Vec<u8>,
    /// Empty for a point.
    end: Vec<u8>,
}

impl Interval {
    fn contains(&self, k: &[u8]) -> bool {
        if self.end.is_empty() {
            return k == self.start.as_slice();
        }
        k >= self.start.as_slice() && k < self.end.as_slice()
    }
}

/// etcd's checkIntervals: no key may be put twice or put and deleted in one
/// branch (then/else of a nested txn are exclusive, so they may overlap).
pub fn check_intervals(reqs: &[RequestOp]) -> Result<()> {
    intervals(reqs).map(|_| ())
}

fn intervals(reqs: &[RequestOp]) -> Result<(HashSet<Vec<u8>>, Vec<Interval>)> {
    let mut dels: Vec<Interval> = Vec::new();
    for op in reqs {
        if let Some(Request::RequestDeleteRange(d)) = &op.request {
            dels.push(Interval { start: d.key.clone(), end: d.range_end.clone() });
        }
    }
    let mut puts: HashSet<Vec<u8>> = HashSet::new();
    for op in reqs {
        let Some(Request::RequestTxn(t)) = &op.request else { continue };
        let (puts_then, dels_then) = intervals(&t.success)?;
        let (puts_else, dels_else) = intervals(&t.failure)?;
        for k in &puts_then {
            if puts.contains(k) || dels.iter().any(|d| d.contains(k)) {
                return Err(Error::DuplicateKey);
            }
            puts.insert(k.clone());
        }
        for k in &puts_else {
            if puts.contains(k) && !puts_then.contains(k) {
                return Err(Error::DuplicateKey);
            }
            if dels.iter().any(|d| d.contains(k)) {
                return Err(Error::DuplicateKey);
            }
            puts.insert(k.clone());
        }
        dels.extend(dels_then);
        dels.extend(dels_else);
    }
    for op in reqs {
        let Some(Request::RequestPut(p)) = &op.request else { continue };
        if puts.contains(&p.key) || dels.iter().any(|d| d.contains(&p.key)) {
            return Err(Error::DuplicateKey);
        }
        puts.insert(p.key.clone());
    }
    Ok((puts, dels))
}
