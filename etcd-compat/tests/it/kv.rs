//! KV semantics through the gRPC API of an in-process member.

use etcd_compat::proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_compat::proto::etcdserverpb::request_op::Request;
use etcd_compat::proto::etcdserverpb::*;
use tonic::Code;

use crate::cluster::Cluster;

fn put(k: &str, v: &str) -> PutRequest {
    PutRequest { key: k.into(), value: v.into(), ..Default::default() }
}

#[tokio::test]
async fn put_range_delete_revisions() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    let r = kv.put(put("a", "1")).await.unwrap().into_inner();
    assert_eq!(r.header.unwrap().revision, 2);
    kv.put(put("a", "2")).await.unwrap();
    kv.put(put("b", "3")).await.unwrap();
    let got = kv
        .range(RangeRequest { key: "a".into(), range_end: "c".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.count, 2);
    assert_eq!(got.kvs[0].version, 2);
    assert_eq!(got.kvs[0].create_revision, 2);
    assert_eq!(got.kvs[0].mod_revision, 3);
    // Past revision.
    let old = kv.range(RangeRequest { key: "a".into(), revision: 2, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(old.kvs[0].value, b"1");
    let fut = kv.range(RangeRequest { key: "a".into(), revision: 99, ..Default::default() }).await.unwrap_err();
    assert_eq!(fut.code(), Code::OutOfRange);
    assert_eq!(fut.message(), "etcdserver: mvcc: required revision is a future revision");
    let d = kv
        .delete_range(DeleteRangeRequest { key: "a".into(), range_end: vec![0], prev_kv: true })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(d.deleted, 2);
    assert_eq!(d.prev_kvs.len(), 2);
    assert_eq!(d.header.unwrap().revision, 5);
}

#[tokio::test]
async fn limit_more_and_count() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    for i in 0..5 {
        kv.put(put(&format!("k{i}"), "v")).await.unwrap();
    }
    let r = kv
        .range(RangeRequest { key: "k".into(), range_end: "l".into(), limit: 2, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.kvs.len(), r.more, r.count), (2, true, 5));
    let r = kv
        .range(RangeRequest { key: "k".into(), range_end: "l".into(), count_only: true, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.kvs.len(), r.count), (0, 5));
}

#[tokio::test]
async fn txn_compare_and_errors() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    kv.put(put("x", "1")).await.unwrap();
    let cmp = Compare {
        key: "x".into(),
        target: CompareTarget::Mod as i32,
        result: CompareResult::Equal as i32,
        target_union: Some(TargetUnion::ModRevision(2)),
        ..Default::default()
    };
    let op = RequestOp { request: Some(Request::RequestPut(put("x", "2"))) };
    let t = TxnRequest { compare: vec![cmp.clone()], success: vec![op.clone()], failure: vec![] };
    let r = kv.txn(t.clone()).await.unwrap().into_inner();
    assert!(r.succeeded);
    let r = kv.txn(t).await.unwrap().into_inner();
    assert!(!r.succeeded, "mod revision moved on");
    // Duplicate keys and too many ops get etcd's errors.
    let dup = TxnRequest { success: vec![op.clone(), op.clone()], ..Default::default() };
    let e = kv.txn(dup).await.unwrap_err();
    assert_eq!(e.message(), "etcdserver: duplicate key given in txn request");
    let many: Vec<RequestOp> =
        (0..200).map(|i| RequestOp { request: Some(Request::RequestPut(put(&format!("m{i}"), "v"))) }).collect();
    let e = kv.txn(TxnRequest { success: many, ..Default::default() }).await.unwrap_err();
    assert_eq!(e.message(), "etcdserver: too many operations in txn request");
    assert_eq!(e.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn bad_input_gets_etcd_errors() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    let big = PutRequest { key: "big".into(), value: vec![0u8; 2 << 20], ..Default::default() };
    let e = kv.put(big).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    let large = PutRequest { key: "big".into(), value: vec![0u8; 1600 * 1024], ..Default::default() };
    let e = kv.put(large).await.unwrap_err();
    assert_eq!(e.message(), "etcdserver: request is too large");
    let e = kv.put(PutRequest { key: "k".into(), lease: 12345, ..Default::default() }).await.unwrap_err();
    assert_eq!(e.message(), "etcdserver: requested lease not found");
    assert_eq!(e.code(), Code::NotFound);
    let r = kv.range(RangeRequest { key: "k".into(), limit: -1, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(r.count, 0);
    let e = kv.put(PutRequest::default()).await.unwrap_err();
    assert_eq!(e.message(), "etcdserver: key is not provided");
}

#[tokio::test]
async fn compaction_rules() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    for i in 0..4 {
        kv.put(put("c", &i.to_string())).await.unwrap();
    }
    kv.compact(CompactionRequest { revision: 3, physical: true }).await.unwrap();
    let e = kv.range(RangeRequest { key: "c".into(), revision: 2, ..Default::default() }).await.unwrap_err();
    assert_eq!(e.message(), "etcdserver: mvcc: required revision has been compacted");
    let r = kv.range(RangeRequest { key: "c".into(), revision: 3, ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(r.kvs[0].value, b"1");
    let e = kv.compact(CompactionRequest { revision: 3, physical: false }).await.unwrap_err();
    assert_eq!(e.message(), "etcdserver: mvcc: required revision has been compacted");
    let e = kv.compact(CompactionRequest { revision: 100, physical: false }).await.unwrap_err();
    assert_eq!(e.message(), "etcdserver: mvcc: required revision is a future revision");
}

// Regressions found by the differential test against etcd 3.4
// (tests/e2e/tests/differential.rs).

fn op(r: Request) -> RequestOp {
    RequestOp { request: Some(r) }
}

fn put_op(k: &str, v: &str) -> RequestOp {
    op(Request::RequestPut(put(k, v)))
}

#[tokio::test]
async fn txn_checks_every_put_before_any_range() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    kv.put(put("a", "1")).await.unwrap();
    // A future-revision range first, a put of a missing lease after it: etcd
    // runs all put checks along the path before the range checks.
    let t = TxnRequest {
        success: vec![
            op(Request::RequestRange(RangeRequest { key: "a".into(), revision: 99, ..Default::default() })),
            op(Request::RequestTxn(TxnRequest {
                success: vec![op(Request::RequestPut(PutRequest { lease: 777, ..put("b", "2") }))],
                ..Default::default()
            })),
        ],
        ..Default::default()
    };
    let e = kv.txn(t).await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::NotFound, "etcdserver: requested lease not found"));
}

#[tokio::test]
async fn nested_txn_gets_what_its_parent_leaves_of_max_txn_ops() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    let range = || op(Request::RequestRange(RangeRequest { key: "a".into(), ..Default::default() }));
    let nested = |outer: usize, inner: usize| {
        let mut success: Vec<RequestOp> = (0..outer).map(|_| range()).collect();
        success.push(op(Request::RequestTxn(TxnRequest {
            success: (0..inner).map(|_| range()).collect(),
            ..Default::default()
        })));
        TxnRequest { success, ..Default::default() }
    };
    // 100 + 1 ops outside leave 27 of 128 for the nested txn.
    kv.txn(nested(100, 27)).await.unwrap();
    let e = kv.txn(nested(100, 28)).await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::InvalidArgument, "etcdserver: too many operations in txn request"));
}

#[tokio::test]
async fn empty_txn_op_is_key_not_found() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    let bad_later = op(Request::RequestPut(PutRequest { ignore_value: true, ..put("k", "v") }));
    let t = TxnRequest { failure: vec![RequestOp { request: None }, bad_later], ..Default::default() };
    let e = kv.txn(t).await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::InvalidArgument, "etcdserver: key not found"));
}

#[tokio::test]
async fn from_key_delete_does_not_clash_with_puts_in_a_txn() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    kv.put(put("a", "0")).await.unwrap();
    kv.put(put("b", "0")).await.unwrap();
    // etcd's duplicate-key check reads a "\0" range end literally (an empty
    // interval), so this passes and runs in order: delete a.., then put b.
    let from_a =
        || op(Request::RequestDeleteRange(DeleteRangeRequest { key: "a".into(), range_end: vec![0], prev_kv: false }));
    let t = TxnRequest { success: vec![from_a(), put_op("b", "1")], ..Default::default() };
    let r = kv.txn(t).await.unwrap().into_inner();
    assert_eq!(r.header.unwrap().revision, 4);
    let got = kv.range(RangeRequest { key: vec![0], range_end: vec![0], ..Default::default() }).await.unwrap();
    let got = got.into_inner();
    assert_eq!(got.kvs.len(), 1);
    assert_eq!((got.kvs[0].key.as_slice(), got.kvs[0].value.as_slice(), got.kvs[0].version), (&b"b"[..], &b"1"[..], 1));
    // A real range still clashes.
    let span =
        op(Request::RequestDeleteRange(DeleteRangeRequest { key: "a".into(), range_end: "c".into(), prev_kv: false }));
    let e = kv.txn(TxnRequest { success: vec![span, put_op("b", "2")], ..Default::default() }).await.unwrap_err();
    assert_eq!(e.message(), "etcdserver: duplicate key given in txn request");
    // ignore_value after the key was deleted earlier in the same txn: etcd 3.4
    // panics mid-apply; this refuses the whole txn and writes nothing.
    let keep = op(Request::RequestPut(PutRequest { ignore_value: true, ..put("b", "") }));
    let t = TxnRequest { success: vec![put_op("0", "x"), from_a(), keep], ..Default::default() };
    let e = kv.txn(t).await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::InvalidArgument, "etcdserver: key not found"));
    let after = kv.range(RangeRequest { key: vec![0], range_end: vec![0], ..Default::default() }).await.unwrap();
    let after = after.into_inner();
    assert_eq!((after.header.unwrap().revision, after.count), (4, 1));
}

#[tokio::test]
async fn compare_uses_only_the_union_member_of_its_target() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    kv.put(put("x", "1")).await.unwrap();
    // Target CREATE with a mod_revision union: etcd compares create_revision with 0.
    let cmp = |target: CompareTarget, union: TargetUnion| Compare {
        key: "x".into(),
        target: target as i32,
        result: CompareResult::Equal as i32,
        target_union: Some(union),
        ..Default::default()
    };
    let succeeded = |c: Compare| TxnRequest { compare: vec![c], ..Default::default() };
    let r = kv.txn(succeeded(cmp(CompareTarget::Create, TargetUnion::ModRevision(2)))).await.unwrap();
    assert!(!r.into_inner().succeeded, "create_revision 2 is not 0");
    let r = kv.txn(succeeded(cmp(CompareTarget::Create, TargetUnion::CreateRevision(2)))).await.unwrap();
    assert!(r.into_inner().succeeded);
    let r = kv.txn(succeeded(cmp(CompareTarget::Lease, TargetUnion::Version(1)))).await.unwrap();
    assert!(r.into_inner().succeeded, "lease 0 equals the zero a mismatched union stands for");
    let mut none = cmp(CompareTarget::Version, TargetUnion::Version(1));
    none.target_union = None;
    none.result = CompareResult::Greater as i32;
    assert!(kv.txn(succeeded(none)).await.unwrap().into_inner().succeeded, "version 1 > 0");
}

#[tokio::test]
async fn put_reports_a_missing_lease_before_a_missing_key() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    let p = PutRequest { key: "nokey".into(), lease: 4242, ignore_value: true, ..Default::default() };
    let e = kv.put(p.clone()).await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::NotFound, "etcdserver: requested lease not found"));
    // Inside a txn etcd checks the key first.
    let e = kv.txn(TxnRequest { success: vec![op(Request::RequestPut(p))], ..Default::default() }).await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::InvalidArgument, "etcdserver: key not found"));
}
