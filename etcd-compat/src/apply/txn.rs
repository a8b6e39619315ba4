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
    check_path(&txn, &lessor, r, &path, &mut 0)?;
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

/// etcd's checkRequestPut and checkRequestRange along the chosen path.
fn check_path(txn: &TxnWrite<'_>, lessor: &Lessor, r: &TxnRequest, path: &[bool], pos: &mut usize) -> Result<()> {
    let ok = path.get(*pos).copied().unwrap_or(false);
    *pos += 1;
    for op in branch(r, ok) {
        match &op.request {
            Some(Request::RequestPut(p)) => put::check(txn, lessor, p)?,
            Some(Request::RequestRange(rr)) if rr.revision != 0 => {
                if rr.revision > txn.begin_rev() {
                    return Err(Error::FutureRevision);
                }
                if rr.revision < txn.compact_rev() {
                    return Err(Error::Compacted);
                }
            }
            Some(Request::RequestTxn(t)) => check_path(txn, lessor, t, path, pos)?,
            _ => {}
        }
    }
    Ok(())
}

pub fn is_read_only(r: &TxnRequest) -> bool {
    r.success.iter().chain(r.failure.iter()).all(|op| match &op.request {
        Some(Request::RequestRange(_)) | None => true,
        Some(Request::RequestTxn(t)) => is_read_only(t),
        _ => false,
    })
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
    let target = CompareTarget::try_from(c.target).unwrap_or(CompareTarget::Version);
    let ord = match (target, &c.target_union) {
        (CompareTarget::Value, tu) => {
            let v: &[u8] = match tu {
                Some(TargetUnion::Value(v)) => v,
                _ => &[],
            };
            kv.value.as_slice().cmp(v)
        }
        (CompareTarget::Version, tu) => kv.version.cmp(&int_target(tu)),
        (CompareTarget::Create, tu) => kv.create_revision.cmp(&int_target(tu)),
        (CompareTarget::Mod, tu) => kv.mod_revision.cmp(&int_target(tu)),
        (CompareTarget::Lease, tu) => kv.lease.cmp(&int_target(tu)),
    };
    match CompareResult::try_from(c.result) {
        Ok(CompareResult::Equal) => ord == Ordering::Equal,
        Ok(CompareResult::NotEqual) => ord != Ordering::Equal,
        Ok(CompareResult::Greater) => ord == Ordering::Greater,
        Ok(CompareResult::Less) => ord == Ordering::Less,
        Err(_) => true,
    }
}

fn int_target(tu: &Option<TargetUnion>) -> i64 {
    match tu {
        Some(TargetUnion::Version(v))
        | Some(TargetUnion::CreateRevision(v))
        | Some(TargetUnion::ModRevision(v))
        | Some(TargetUnion::Lease(v)) => *v,
        _ => 0,
    }
}

/// etcd's checkTxnRequest: op counts and empty keys, recursively.
pub fn check_txn_request(r: &TxnRequest, max_txn_ops: usize) -> Result<()> {
    let opc = r.compare.len().max(r.success.len()).max(r.failure.len());
    if opc > max_txn_ops {
        return Err(Error::TooManyOps);
    }
    if r.compare.iter().any(|c| c.key.is_empty()) {
        return Err(Error::EmptyKey);
    }
    for op in r.success.iter().chain(r.failure.iter()) {
        check_request_op(op, max_txn_ops)?;
    }
    Ok(())
}

fn check_request_op(op: &RequestOp, max_txn_ops: usize) -> Result<()> {
    match &op.request {
        Some(Request::RequestRange(r)) => crate::server::validate::check_range(r),
        Some(Request::RequestPut(r)) => crate::server::validate::check_put(r),
        Some(Request::RequestDeleteRange(r)) => crate::server::validate::check_delete(r),
        Some(Request::RequestTxn(t)) => check_txn_request(t, max_txn_ops),
        None => Ok(()),
    }
}

/// A delete interval: a point, or `[start, end)` with `None` = unbounded.
#[derive(Debug, Clone)]
struct Interval {
    start: Vec<u8>,
    end: Option<Vec<u8>>,
    point: bool,
}

impl Interval {
    fn contains(&self, k: &[u8]) -> bool {
        if self.point {
            return k == self.start.as_slice();
        }
        k >= self.start.as_slice() && self.end.as_ref().is_none_or(|e| k < e.as_slice())
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
            dels.push(if d.range_end.is_empty() {
                Interval { start: d.key.clone(), end: None, point: true }
            } else {
                let end = if d.range_end == [0] { None } else { Some(d.range_end.clone()) };
                Interval { start: d.key.clone(), end, point: false }
            });
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
