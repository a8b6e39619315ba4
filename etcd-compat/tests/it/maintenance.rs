//! Maintenance service: status, alarms and the NOSPACE quota, hashes,
//! defragment, snapshot save → restore, MoveLeader/Downgrade, auto compaction.

use std::path::Path;
use std::time::Duration;

use etcd_compat::config::EngineKind;
use etcd_compat::proto::etcdserverpb::alarm_request::AlarmAction;
use etcd_compat::proto::etcdserverpb::maintenance_client::MaintenanceClient;
use etcd_compat::proto::etcdserverpb::request_op::Request;
use etcd_compat::proto::etcdserverpb::*;
use etcd_compat::{Config, Node};
use tonic::transport::Channel;
use tonic::Code;

use crate::cluster::Cluster;

const NOSPACE: &str = "etcdserver: mvcc: database space exceeded";

fn put(k: &str, v: impl Into<Vec<u8>>) -> PutRequest {
    PutRequest { key: k.into(), value: v.into(), ..Default::default() }
}

fn alarm(action: AlarmAction, member_id: u64, a: AlarmType) -> AlarmRequest {
    AlarmRequest { action: action as i32, member_id, alarm: a as i32 }
}

async fn status(m: &mut MaintenanceClient<Channel>) -> StatusResponse {
    m.status(StatusRequest {}).await.unwrap().into_inner()
}

fn redb(c: &mut Config) {
    c.engine = EngineKind::Redb;
}

#[tokio::test]
async fn status_reports_the_member() {
    let c = Cluster::with(1, redb).await;
    let mut kv = c.kv(0).await;
    kv.put(put("a", "1")).await.unwrap();
    let mut m = c.maintenance(0).await;
    let s = status(&mut m).await;
    let id = c.node(0).member_id();
    let h = s.header.unwrap();
    assert_eq!((h.member_id, h.revision), (id, 2));
    assert!(s.version.starts_with("3.5."), "{}", s.version);
    assert_eq!(s.leader, id);
    assert!(s.raft_index >= 1 && s.raft_index == s.raft_applied_index);
    assert_eq!(s.raft_term, h.raft_term);
    assert!(s.db_size > 0 && s.db_size_in_use > 0 && s.db_size_in_use <= s.db_size, "{s:?}");
    assert!(s.errors.is_empty());
    assert!(!s.is_learner);
}

#[tokio::test]
async fn alarms_cap_writes_until_disarmed() {
    let c = Cluster::new(1).await;
    let id = c.node(0).member_id();
    let (mut kv, mut m, mut lease) = (c.kv(0).await, c.maintenance(0).await, c.lease(0).await);
    kv.put(put("k", "v")).await.unwrap();

    let r = m.alarm(alarm(AlarmAction::Activate, id, AlarmType::Nospace)).await.unwrap().into_inner();
    assert_eq!(r.alarms, vec![AlarmMember { member_id: id, alarm: AlarmType::Nospace as i32 }]);
    assert_eq!(r.header.unwrap().member_id, id);
    let listed = m.alarm(alarm(AlarmAction::Get, 0, AlarmType::None)).await.unwrap().into_inner();
    assert_eq!(listed.alarms, r.alarms);
    assert_eq!(status(&mut m).await.errors, vec![format!("memberID:{id} alarm:NOSPACE ")]);

    let e = kv.put(put("k", "v2")).await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::ResourceExhausted, NOSPACE));
    let txn_put = TxnRequest {
        success: vec![RequestOp { request: Some(Request::RequestPut(put("k", "v3"))) }],
        ..Default::default()
    };
    assert_eq!(kv.txn(txn_put.clone()).await.unwrap_err().code(), Code::ResourceExhausted);
    let e = lease.lease_grant(LeaseGrantRequest { ttl: 10, id: 0 }).await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::ResourceExhausted, NOSPACE));
    // Reads, deletes and compaction still work.
    kv.range(RangeRequest { key: "k".into(), ..Default::default() }).await.unwrap();
    kv.delete_range(DeleteRangeRequest { key: "k".into(), ..Default::default() }).await.unwrap();
    kv.compact(CompactionRequest { revision: 3, physical: true }).await.unwrap();

    // Deactivating something not raised answers with nothing.
    let none = m.alarm(alarm(AlarmAction::Deactivate, id, AlarmType::Corrupt)).await.unwrap().into_inner();
    assert!(none.alarms.is_empty());
    let off = m.alarm(alarm(AlarmAction::Deactivate, id, AlarmType::Nospace)).await.unwrap().into_inner();
    assert_eq!(off.alarms, r.alarms);
    assert!(m.alarm(alarm(AlarmAction::Get, 0, AlarmType::None)).await.unwrap().into_inner().alarms.is_empty());
    kv.txn(txn_put).await.unwrap();
    lease.lease_grant(LeaseGrantRequest { ttl: 10, id: 0 }).await.unwrap();
}

/// Puts 100 KB values until the quota trips; returns how many went in.
async fn fill_until_nospace(kv: &mut etcd_compat::proto::etcdserverpb::kv_client::KvClient<Channel>) -> usize {
    let value = vec![b'x'; 100_000];
    for i in 0..200 {
        match kv.put(put(&format!("big{}", i % 3), value.clone())).await {
            Ok(_) => {}
            Err(e) => {
                assert_eq!((e.code(), e.message()), (Code::ResourceExhausted, NOSPACE));
                return i;
            }
        }
    }
    panic!("quota never reached");
}

#[tokio::test]
async fn quota_raises_nospace_and_recovers_after_compact_defrag_disarm() {
    let quota = 2_000_000u64;
    let c = Cluster::with(1, |c| {
        c.engine = EngineKind::Redb;
        c.quota_backend_bytes = quota;
    })
    .await;
    let id = c.node(0).member_id();
    let (mut kv, mut m) = (c.kv(0).await, c.maintenance(0).await);
    let n = fill_until_nospace(&mut kv).await;
    assert!(n >= 5, "the quota tripped after only {n} puts");
    let s = status(&mut m).await;
    assert!(s.db_size as u64 > quota / 2, "{s:?}");
    assert_eq!(s.errors, vec![format!("memberID:{id} alarm:NOSPACE ")]);
    assert_eq!(kv.put(put("small", "v")).await.unwrap_err().code(), Code::ResourceExhausted);

    // etcd 3.4 and 3.5: disarming while still over quota works, but the next
    // write trips the quota again and re-raises the alarm.
    let off = m.alarm(alarm(AlarmAction::Deactivate, id, AlarmType::Nospace)).await.unwrap().into_inner();
    assert_eq!(off.alarms.len(), 1);
    assert_eq!(kv.put(put("small", "v")).await.unwrap_err().message(), NOSPACE);
    assert_eq!(m.alarm(alarm(AlarmAction::Get, 0, AlarmType::None)).await.unwrap().into_inner().alarms.len(), 1);

    // Compact everything and defragment: the file shrinks, but the alarm
    // stays until disarmed.
    kv.delete_range(DeleteRangeRequest { key: "big".into(), range_end: "bih".into(), ..Default::default() })
        .await
        .unwrap();
    let rev = status(&mut m).await.header.unwrap().revision;
    kv.compact(CompactionRequest { revision: rev, physical: true }).await.unwrap();
    m.defragment(DefragmentRequest {}).await.unwrap();
    let after = status(&mut m).await;
    assert!(after.db_size < s.db_size / 2, "before {} after {}", s.db_size, after.db_size);
    assert!((after.db_size as u64) < quota);
    assert_eq!(kv.put(put("small", "v")).await.unwrap_err().code(), Code::ResourceExhausted);
    m.alarm(alarm(AlarmAction::Deactivate, id, AlarmType::Nospace)).await.unwrap();
    kv.put(put("small", "v")).await.unwrap();
    assert!(status(&mut m).await.errors.is_empty());
}

#[tokio::test]
async fn defragment_shrinks_the_db_after_compaction() {
    let c = Cluster::with(1, redb).await;
    let (mut kv, mut m) = (c.kv(0).await, c.maintenance(0).await);
    let value = vec![b'y'; 50_000];
    for i in 0..100 {
        kv.put(put(&format!("d{i:03}"), value.clone())).await.unwrap();
    }
    let full = status(&mut m).await;
    assert!(full.db_size > 4_000_000, "{full:?}");
    let d = kv
        .delete_range(DeleteRangeRequest { key: "d".into(), range_end: "e".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    kv.compact(CompactionRequest { revision: d.header.unwrap().revision, physical: true }).await.unwrap();
    let compacted = status(&mut m).await;
    assert!(compacted.db_size_in_use < full.db_size_in_use / 4, "{compacted:?}");
    let r = m.defragment(DefragmentRequest {}).await.unwrap().into_inner();
    assert_eq!(r.header, None);
    let after = status(&mut m).await;
    assert!(after.db_size < full.db_size / 4, "before {} after {}", full.db_size, after.db_size);
    // Still a working store.
    kv.put(put("after", "defrag")).await.unwrap();
    let got = kv.range(RangeRequest { key: "after".into(), ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(got.kvs[0].value, b"defrag");
}

#[tokio::test]
async fn hash_and_hash_kv() {
    let c = Cluster::new(1).await;
    let (mut kv, mut m) = (c.kv(0).await, c.maintenance(0).await);
    for i in 0..4 {
        kv.put(put(&format!("k{i}"), "v")).await.unwrap();
    }
    let h = m.hash_kv(HashKvRequest { revision: 0 }).await.unwrap().into_inner();
    assert_eq!((h.header.unwrap().revision, h.hash_revision, h.compact_revision), (5, 5, -1));
    let again = m.hash_kv(HashKvRequest { revision: 5 }).await.unwrap().into_inner();
    assert_eq!(again.hash, h.hash);
    let at3 = m.hash_kv(HashKvRequest { revision: 3 }).await.unwrap().into_inner();
    assert_eq!(at3.hash_revision, 3);
    assert_ne!(at3.hash, h.hash);
    let e = m.hash_kv(HashKvRequest { revision: 6 }).await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::OutOfRange, "etcdserver: mvcc: required revision is a future revision"));

    kv.compact(CompactionRequest { revision: 4, physical: true }).await.unwrap();
    let e = m.hash_kv(HashKvRequest { revision: 3 }).await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::OutOfRange, "etcdserver: mvcc: required revision has been compacted"));
    let at4 = m.hash_kv(HashKvRequest { revision: 4 }).await.unwrap().into_inner();
    assert_eq!((at4.compact_revision, at4.hash_revision), (4, 4));

    let whole = m.hash(HashRequest {}).await.unwrap().into_inner();
    assert_eq!(whole.header.unwrap().revision, 5);
    assert_eq!(m.hash(HashRequest {}).await.unwrap().into_inner().hash, whole.hash);
    kv.put(put("k9", "v")).await.unwrap();
    assert_ne!(m.hash(HashRequest {}).await.unwrap().into_inner().hash, whole.hash);
}

async fn save_snapshot(m: &mut MaintenanceClient<Channel>, path: &Path) -> Vec<SnapshotResponse> {
    let mut stream = m.snapshot(SnapshotRequest {}).await.unwrap().into_inner();
    let mut msgs = Vec::new();
    while let Some(r) = stream.message().await.unwrap() {
        msgs.push(r);
    }
    let bytes: Vec<u8> = msgs.iter().flat_map(|r| r.blob.iter().copied()).collect();
    std::fs::write(path, bytes).unwrap();
    msgs
}

#[tokio::test]
async fn snapshot_save_then_restore_round_trip() {
    let src = Cluster::with(1, redb).await;
    let (mut kv, mut m, mut lease) = (src.kv(0).await, src.maintenance(0).await, src.lease(0).await);
    let l = lease.lease_grant(LeaseGrantRequest { ttl: 600, id: 0 }).await.unwrap().into_inner();
    for i in 0..300 {
        kv.put(put(&format!("key{i:03}"), vec![b'v'; 300])).await.unwrap();
    }
    kv.put(PutRequest { key: "leased".into(), value: "x".into(), lease: l.id, ..Default::default() }).await.unwrap();
    kv.delete_range(DeleteRangeRequest { key: "key000".into(), ..Default::default() }).await.unwrap();
    kv.compact(CompactionRequest { revision: 100, physical: true }).await.unwrap();
    let want_hash = m.hash_kv(HashKvRequest { revision: 0 }).await.unwrap().into_inner();

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.db");
    let msgs = save_snapshot(&mut m, &file).await;
    // etcd's framing: 32 KiB chunks counting down, then the sha256 alone.
    assert!(msgs.len() > 3);
    assert_eq!(msgs[0].blob.len(), 32 * 1024);
    assert_eq!(msgs[msgs.len() - 2].remaining_bytes, 0);
    assert_eq!(msgs[msgs.len() - 1].blob.len(), 32);
    drop(src);

    let file2 = file.clone();
    let dst = Cluster::with(1, move |c| {
        c.engine = EngineKind::Redb;
        c.restore_snapshot = Some(file2.clone());
    })
    .await;
    let (mut kv2, mut m2) = (dst.kv(0).await, dst.maintenance(0).await);
    let got = m2.hash_kv(HashKvRequest { revision: 0 }).await.unwrap().into_inner();
    assert_eq!((got.hash, got.hash_revision, got.compact_revision), (want_hash.hash, want_hash.hash_revision, 100));
    let all = kv2
        .range(RangeRequest { key: "key".into(), range_end: "kez".into(), count_only: true, ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.count, 299);
    let leased = kv2.range(RangeRequest { key: "leased".into(), ..Default::default() }).await.unwrap().into_inner();
    assert_eq!(leased.kvs[0].lease, l.id);
    let ttl = dst.lease(0).await.lease_time_to_live(LeaseTimeToLiveRequest { id: l.id, keys: true }).await.unwrap();
    assert_eq!(ttl.into_inner().keys, vec![b"leased".to_vec()]);
    let e = kv2.range(RangeRequest { key: "key001".into(), revision: 50, ..Default::default() }).await.unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange);
    // And it takes writes where the source left off.
    let r = kv2.put(put("new", "1")).await.unwrap().into_inner();
    assert_eq!(r.header.unwrap().revision, want_hash.header.unwrap().revision + 1);
}

#[tokio::test]
async fn snapshot_under_writes_and_compactions_is_one_revision() {
    let src = Cluster::with(1, redb).await;
    let mut kv = src.kv(0).await;
    let writes = 600i64;
    let writer = tokio::spawn(async move {
        for i in 0..writes {
            // Put i lands at revision i + 2.
            kv.put(put(&format!("w{:02}", i % 40), i.to_string())).await.unwrap();
            if i % 50 == 49 {
                let _ = kv.compact(CompactionRequest { revision: i - 5, physical: true }).await;
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.db");
    tokio::time::sleep(Duration::from_millis(100)).await;
    save_snapshot(&mut src.maintenance(0).await, &file).await;
    writer.await.unwrap();

    let file2 = file.clone();
    let dst = Cluster::with(1, move |c| c.restore_snapshot = Some(file2.clone())).await;
    let got = dst
        .kv(0)
        .await
        .range(RangeRequest { key: "w".into(), range_end: "x".into(), ..Default::default() })
        .await
        .unwrap()
        .into_inner();
    let rev = got.header.unwrap().revision;
    assert!(rev > 2 && rev < writes + 1, "snapshot at {rev} was not taken mid-stream");
    // Exactly the state at `rev`: every key holds the last value written by then.
    let last = rev - 2;
    let expect: Vec<(String, String)> = (0..40i64.min(last + 1))
        .map(|j| {
            let i = (0..=last).rev().find(|i| i % 40 == j).unwrap();
            (format!("w{j:02}"), i.to_string())
        })
        .collect();
    let have: Vec<(String, String)> = got
        .kvs
        .iter()
        .map(|kv| (String::from_utf8(kv.key.clone()).unwrap(), String::from_utf8(kv.value.clone()).unwrap()))
        .collect();
    assert_eq!(have, expect);
}

#[tokio::test]
async fn restore_refuses_a_non_empty_data_dir_and_a_bad_checksum() {
    let src = Cluster::new(1).await;
    src.kv(0).await.put(put("a", "1")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("snap.db");
    save_snapshot(&mut src.maintenance(0).await, &file).await;

    let data = dir.path().join("data");
    std::fs::create_dir_all(data.join("member")).unwrap();
    let config = Config {
        data_dir: data.clone(),
        restore_snapshot: Some(file.clone()),
        engine: EngineKind::Redb,
        ..Config::default()
    };
    let err = Node::open(config.clone()).await.err().unwrap();
    assert_eq!(err.to_string(), format!("data-dir {:?} not empty or could not be read", data.display().to_string()));

    let mut bytes = std::fs::read(&file).unwrap();
    let i = bytes.len() / 2;
    bytes[i] ^= 0x55;
    std::fs::write(&file, bytes).unwrap();
    let err = Node::open(Config { data_dir: dir.path().join("fresh"), ..config }).await.err().unwrap();
    assert!(err.to_string().starts_with("snapshot integrity check failed"), "{err}");
}

#[tokio::test]
async fn move_leader_and_downgrade_answer_like_a_single_etcd_member() {
    let c = Cluster::new(1).await;
    let mut m = c.maintenance(0).await;
    let id = c.node(0).member_id();
    m.move_leader(MoveLeaderRequest { target_id: id }).await.unwrap();
    let e = m.move_leader(MoveLeaderRequest { target_id: id + 1 }).await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::FailedPrecondition, "etcdserver: bad leader transferee"));

    use etcd_compat::proto::etcdserverpb::downgrade_request::DowngradeAction;
    let dg = |action: DowngradeAction, v: &str| DowngradeRequest { action: action as i32, version: v.into() };
    let ok = m.downgrade(dg(DowngradeAction::Validate, "3.4")).await.unwrap().into_inner();
    assert_eq!(ok.version, "3.5.0");
    let e = m.downgrade(dg(DowngradeAction::Validate, "3.3")).await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::InvalidArgument, "etcdserver: invalid downgrade target version"));
    let e = m.downgrade(dg(DowngradeAction::Cancel, "")).await.unwrap_err();
    assert_eq!((e.code(), e.message()), (Code::FailedPrecondition, "etcdserver: no inflight downgrade job"));
    assert!(m.downgrade(dg(DowngradeAction::Enable, "3.4")).await.is_err());
}

#[tokio::test]
async fn periodic_auto_compaction_compacts_behind_the_retention() {
    let c = Cluster::with(1, |c| {
        c.auto_compaction_mode = "periodic".into();
        c.auto_compaction_retention = "1s".into();
    })
    .await;
    let mut kv = c.kv(0).await;
    for i in 0..5 {
        kv.put(put(&format!("k{i}"), "v")).await.unwrap();
    }
    let store = c.node(0).store().clone();
    // The first compaction comes a period after start, at the revision seen
    // at start; the next a period later, at a revision sampled after the puts.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while store.compact_rev() < 6 {
        assert!(std::time::Instant::now() < deadline, "compacted only to {}", store.compact_rev());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(store.compact_rev(), 6);
}

#[tokio::test]
async fn bad_auto_compaction_flags_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().join("d"),
        engine: EngineKind::Memory,
        auto_compaction_mode: "hourly".into(),
        auto_compaction_retention: "1".into(),
        ..Config::default()
    };
    let err = Node::open(config).await.err().unwrap();
    assert_eq!(err.to_string(), "etcdserver: unknown auto-compaction-mode \"hourly\"");
}
