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
