//! Replication across in-process members: writes and linearizable reads at
//! any member, failover, partitions through the fault shim, membership
//! changes, leadership transfer, snapshots for a lagging member.

use std::time::{Duration, Instant};

use etcd_compat::config::EngineKind;
use etcd_compat::proto::etcdserverpb::*;
use tonic::Code;

use crate::cluster::Cluster;

fn put(k: &str, v: &str) -> PutRequest {
    PutRequest { key: k.into(), value: v.into(), ..Default::default() }
}

fn get(k: &str, serializable: bool) -> RangeRequest {
    RangeRequest { key: k.into(), serializable, ..Default::default() }
}

/// Reads `k` at member `i`, retrying while the cluster has no leader.
async fn value_at(c: &Cluster, i: usize, k: &str, serializable: bool) -> Option<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match c.kv(i).await.range(get(k, serializable)).await {
            Ok(r) => return r.into_inner().kvs.first().map(|kv| kv.value.clone()),
            Err(e) => assert!(Instant::now() < deadline, "read at member {i} kept failing: {e:?}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn eventually(what: &str, timeout: Duration, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn follower(c: &Cluster, leader: usize) -> usize {
    (0..c.members.len()).find(|i| *i != leader && c.members[*i].is_some()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_at_any_member_are_replicated_and_read_linearizably() {
    let c = Cluster::new(3).await;
    let leader = c.wait_leader(Duration::from_secs(5)).await;
    let f = follower(&c, leader);
    let r = c.kv(f).await.put(put("a", "1")).await.unwrap().into_inner();
    let h = r.header.unwrap();
    assert_eq!(h.member_id, c.node(f).member_id());
    assert!(h.raft_term >= 1);
    c.kv(leader).await.put(put("b", "2")).await.unwrap();
    // A linearizable read at any member sees both writes at once.
    for i in 0..3 {
        assert_eq!(value_at(&c, i, "a", false).await.as_deref(), Some(&b"1"[..]), "member {i}");
        assert_eq!(value_at(&c, i, "b", false).await.as_deref(), Some(&b"2"[..]), "member {i}");
    }
    // All members agree on the revision and the member list.
    let members = c.cluster(f).await.member_list(MemberListRequest::default()).await.unwrap().into_inner();
    assert_eq!(members.members.len(), 3);
    eventually("published client URLs", Duration::from_secs(5), async || {
        let m = c.cluster(0).await.member_list(MemberListRequest::default()).await.unwrap().into_inner();
        m.members.iter().all(|m| !m.client_ur_ls.is_empty() && !m.name.is_empty())
    })
    .await;
    let revs: Vec<i64> = (0..3).map(|i| c.node(i).store().current_rev()).collect();
    assert!(revs.iter().all(|r| *r == revs[0]), "{revs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_on_a_follower_sees_writes_made_at_the_leader() {
    let c = Cluster::new(3).await;
    let leader = c.wait_leader(Duration::from_secs(5)).await;
    let f = follower(&c, leader);
    let mut w = etcd_compat::proto::etcdserverpb::watch_client::WatchClient::new(c.channel(f).await);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let create = WatchRequest {
        request_union: Some(watch_request::RequestUnion::CreateRequest(WatchCreateRequest {
            key: "w".into(),
            ..Default::default()
        })),
    };
    tx.send(create).await.unwrap();
    let mut stream = w.watch(tokio_stream::wrappers::ReceiverStream::new(rx)).await.unwrap().into_inner();
    assert!(stream.message().await.unwrap().unwrap().created);
    c.kv(leader).await.put(put("w", "x")).await.unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(5), stream.message()).await.unwrap().unwrap().unwrap();
    assert_eq!(ev.events.len(), 1);
    assert_eq!(ev.events[0].kv.as_ref().unwrap().value, b"x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_loss_elects_a_new_leader_and_keeps_acknowledged_writes() {
    let mut c = Cluster::new(3).await;
    let leader = c.wait_leader(Duration::from_secs(5)).await;
    for i in 0..20 {
        c.kv(leader).await.put(put(&format!("k{i}"), "v")).await.unwrap();
    }
    let killed_at = Instant::now();
    c.stop(leader).await;
    let f = follower(&c, leader);
    // Writes at a survivor succeed again once a new leader is elected.
    let mut kv = c.kv(f).await;
    loop {
        match kv.put(put("after", "failover")).await {
            Ok(_) => break,
            Err(e) => {
                assert!(killed_at.elapsed() < Duration::from_secs(10), "no write after failover: {e:?}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    println!("first write {:?} after the leader stopped", killed_at.elapsed());
    let new_leader = c.wait_leader(Duration::from_secs(5)).await;
    assert_ne!(new_leader, leader);
    for i in 0..20 {
        assert!(value_at(&c, f, &format!("k{i}"), false).await.is_some(), "k{i} lost");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_minority_leader_cannot_write_or_serve_stale_linearizable_reads() {
    let c = Cluster::new(3).await;
    let leader = c.wait_leader(Duration::from_secs(5)).await;
    c.kv(leader).await.put(put("p", "old")).await.unwrap();
    let ids = c.ids();
    c.faults.isolate(c.node(leader).member_id(), &ids);
    // The old leader cannot commit a write.
    let mut old = c.kv(leader).await;
    let w = tokio::time::timeout(Duration::from_secs(2), old.put(put("p", "minority"))).await;
    assert!(!matches!(w, Ok(Ok(_))), "minority leader acknowledged a write: {w:?}");
    // The majority elects a leader and moves on.
    let f = follower(&c, leader);
    let mut kv = c.kv(f).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while kv.put(put("p", "new")).await.is_err() {
        assert!(Instant::now() < deadline, "majority never accepted a write");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A linearizable read at the old leader fails or times out; never "old".
    let r = tokio::time::timeout(Duration::from_secs(2), old.range(get("p", false))).await;
    if let Ok(Ok(resp)) = r {
        let v = resp.into_inner().kvs.first().map(|kv| kv.value.clone());
        assert_eq!(v.as_deref(), Some(&b"new"[..]), "stale linearizable read");
    }
    c.faults.heal();
    eventually("old leader catches up", Duration::from_secs(10), async || {
        value_at(&c, leader, "p", true).await.as_deref() == Some(&b"new"[..])
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn move_leader_transfers_leadership() {
    let c = Cluster::new(3).await;
    let leader = c.wait_leader(Duration::from_secs(5)).await;
    let target = follower(&c, leader);
    let target_id = c.node(target).member_id();
    let mut m = c.maintenance(leader).await;
    m.move_leader(MoveLeaderRequest { target_id }).await.unwrap();
    assert_eq!(c.node(leader).leader(), Some(target_id));
    // A follower refuses, as etcd does.
    let e = c.maintenance(leader).await.move_leader(MoveLeaderRequest { target_id: 1 }).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition);
    c.kv(leader).await.put(put("after", "move")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learner_add_promote_and_remove_with_snapshot_catch_up() {
    let mut c = Cluster::with(3, |cfg| {
        cfg.snapshot_count = 50;
        cfg.snapshot_catchup_entries = 10;
    })
    .await;
    let leader = c.wait_leader(Duration::from_secs(5)).await;
    for i in 0..200 {
        c.kv(leader).await.put(put(&format!("s{i:03}"), "v")).await.unwrap();
    }
    // A fourth member, added as a learner, catches up from a snapshot
    // (the log before the snapshot is purged).
    let mut cfg = c.configs[0].clone();
    let cport = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let pport = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let peer = format!("http://127.0.0.1:{pport}");
    let client = format!("http://127.0.0.1:{cport}");
    let added = c
        .cluster(leader)
        .await
        .member_add(MemberAddRequest { peer_ur_ls: vec![peer.clone()], is_learner: true })
        .await
        .unwrap()
        .into_inner();
    let new_id = added.member.unwrap().id;
    assert_eq!(added.members.len(), 4);
    cfg.name = "m3".into();
    cfg.data_dir = cfg.data_dir.with_file_name("m3");
    cfg.listen_client_urls = vec![client.clone()];
    cfg.advertise_client_urls = vec![client];
    cfg.listen_peer_urls = vec![peer.clone()];
    cfg.initial_advertise_peer_urls = vec![peer.clone()];
    cfg.initial_cluster = format!("{},m3={peer}", c.configs[0].initial_cluster);
    cfg.initial_cluster_state = "existing".into();
    cfg.engine = EngineKind::Memory;
    c.configs.push(cfg.clone());
    c.members.push(None);
    c.restart(3).await;
    assert_eq!(c.node(3).member_id(), new_id);
    eventually("learner catches up", Duration::from_secs(15), async || value_at(&c, 3, "s199", true).await.is_some())
        .await;
    assert!(c.node(3).is_learner());
    let promoted = c.cluster(leader).await.member_promote(MemberPromoteRequest { id: new_id }).await.unwrap();
    assert!(promoted.into_inner().members.iter().all(|m| !m.is_learner));
    // Promoting a voter is refused with etcd's error.
    let e = c.cluster(leader).await.member_promote(MemberPromoteRequest { id: new_id }).await.unwrap_err();
    assert_eq!(e.message(), "etcdserver: can only promote a learner member");
    // Remove it again.
    let removed = c.cluster(leader).await.member_remove(MemberRemoveRequest { id: new_id }).await.unwrap();
    assert_eq!(removed.into_inner().members.len(), 3);
    let e = c.cluster(leader).await.member_remove(MemberRemoveRequest { id: new_id }).await.unwrap_err();
    assert_eq!(e.message(), "etcdserver: member not found");
    c.kv(leader).await.put(put("still", "works")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leases_expire_only_through_the_leader_and_survive_a_leader_change() {
    let mut c = Cluster::new(3).await;
    let leader = c.wait_leader(Duration::from_secs(5)).await;
    let f = follower(&c, leader);
    let mut lease = c.lease(f).await;
    let g = lease.lease_grant(LeaseGrantRequest { ttl: 3, id: 0 }).await.unwrap().into_inner();
    c.kv(f)
        .await
        .put(PutRequest { key: "l".into(), value: "v".into(), lease: g.id, ..Default::default() })
        .await
        .unwrap();
    // Keep-alive and TTL at a follower are answered by the leader.
    let ttl = lease.lease_time_to_live(LeaseTimeToLiveRequest { id: g.id, keys: true }).await.unwrap().into_inner();
    assert_eq!(ttl.granted_ttl, 3);
    assert_eq!(ttl.keys, vec![b"l".to_vec()]);
    c.stop(leader).await;
    c.wait_leader(Duration::from_secs(10)).await;
    // The lease outlives the leader change (the new leader renews TTLs), then expires.
    assert!(value_at(&c, f, "l", false).await.is_some());
    eventually("lease expiry", Duration::from_secs(15), async || value_at(&c, f, "l", false).await.is_none()).await;
}
