#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Crash safety: many concurrent clients write to `capstan etcd` (redb) while
//! the process is killed with SIGKILL at random moments and restarted on the
//! same data dir and port. Every write the server acknowledged must survive:
//! its value at its revision, revisions strictly ordered in real time, and
//! the current revision never behind an acknowledged one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use capstan_e2e::{Flavor, Member};
use etcd_compat::proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_compat::proto::etcdserverpb::kv_client::KvClient;
use etcd_compat::proto::etcdserverpb::request_op::Request;
use etcd_compat::proto::etcdserverpb::{Compare, PutRequest, RangeRequest, RequestOp, TxnRequest};
use rand::Rng;
use tonic::transport::{Channel, Endpoint};

const WRITERS: usize = 48;
const CHANNELS: usize = 4;
const CYCLES: usize = 24;

/// One acknowledged write: the keys it set and the revision the server gave it.
#[derive(Debug, Clone)]
struct Ack {
    writer: usize,
    seq: u64,
    kvs: Vec<(String, String)>,
    rev: i64,
    sent: Instant,
    acked: Instant,
}

fn channel(url: &str) -> Channel {
    Endpoint::from_shared(url.to_string())
        .unwrap()
        .connect_timeout(Duration::from_millis(500))
        .timeout(Duration::from_secs(3))
        .connect_lazy()
}

fn put(k: &str, v: &str) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestPut(PutRequest { key: k.into(), value: v.into(), ..Default::default() })),
    }
}

async fn writer(
    id: usize,
    mut kv: KvClient<Channel>,
    stop: Arc<AtomicBool>,
    max_acked: Arc<AtomicI64>,
    attempts: Arc<AtomicU64>,
) -> Vec<Ack> {
    let mut acks = Vec::new();
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        attempts.fetch_add(1, Ordering::Relaxed);
        let sent = Instant::now();
        let counter = format!("c/{id:02}");
        let result = match seq % 3 {
            // A put of a key written exactly once.
            0 => {
                let k = format!("u/{id:02}/{seq:06}");
                let v = format!("u-{id}-{seq}");
                kv.put(PutRequest { key: k.clone().into(), value: v.clone().into(), ..Default::default() })
                    .await
                    .map(|r| (r.into_inner().header.map_or(0, |h| h.revision), vec![(k, v)], true))
            }
            // A txn: two fresh keys and the writer's counter, guarded by a compare.
            1 => {
                let (a, b) = (format!("t/{id:02}/{seq:06}/a"), format!("t/{id:02}/{seq:06}/b"));
                let (va, vb, vc) = (format!("ta-{id}-{seq}"), format!("tb-{id}-{seq}"), format!("{seq:06}"));
                let req = TxnRequest {
                    compare: vec![Compare {
                        key: a.clone().into(),
                        target: CompareTarget::Create as i32,
                        result: CompareResult::Equal as i32,
                        target_union: Some(TargetUnion::CreateRevision(0)),
                        ..Default::default()
                    }],
                    success: vec![put(&a, &va), put(&b, &vb), put(&counter, &vc)],
                    failure: vec![],
                };
                kv.txn(req).await.map(|r| {
                    let r = r.into_inner();
                    let kvs = vec![(a, va), (b, vb), (counter.clone(), vc)];
                    (r.header.map_or(0, |h| h.revision), kvs, r.succeeded)
                })
            }
            // An overwrite of the writer's counter key.
            _ => {
                let v = format!("{seq:06}");
                kv.put(PutRequest { key: counter.clone().into(), value: v.clone().into(), ..Default::default() })
                    .await
                    .map(|r| (r.into_inner().header.map_or(0, |h| h.revision), vec![(counter.clone(), v)], true))
            }
        };
        match result {
            Ok((rev, kvs, succeeded)) => {
                assert!(succeeded, "writer {id}: txn {seq} on fresh keys did not succeed");
                assert!(rev > 0, "writer {id}: acknowledged write {seq} without a revision");
                max_acked.fetch_max(rev, Ordering::AcqRel);
                acks.push(Ack { writer: id, seq, kvs, rev, sent, acked: Instant::now() });
            }
            // The server is down or restarting: the write may or may not have landed.
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    acks
}

async fn current_rev(kv: &mut KvClient<Channel>) -> (i64, u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match kv.range(RangeRequest { key: b"probe".to_vec(), ..Default::default() }).await {
            Ok(r) => {
                let h = r.into_inner().header.unwrap();
                return (h.revision, h.member_id);
            }
            Err(e) => {
                assert!(Instant::now() < deadline, "server not answering after restart: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

#[test]
fn kill9_loses_no_acknowledged_write() {
    let mut member = Member::start(Flavor::Capstan, &["--storage-engine", "redb"]).expect("start capstan");
    // Timed from the first start (building capstan is the harness's cost).
    let started = Instant::now();
    let url = member.url();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(4).enable_all().build().unwrap();
    let channels: Vec<Channel> = {
        let _g = rt.enter();
        (0..CHANNELS).map(|_| channel(&url)).collect()
    };
    let mut probe = KvClient::new(channels[0].clone());
    let (_, first_member_id) = rt.block_on(current_rev(&mut probe));

    let stop = Arc::new(AtomicBool::new(false));
    let max_acked = Arc::new(AtomicI64::new(0));
    let attempts = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| {
            let kv = KvClient::new(channels[i % CHANNELS].clone());
            rt.spawn(writer(i, kv, stop.clone(), max_acked.clone(), attempts.clone()))
        })
        .collect();

    let mut rng = rand::thread_rng();
    let mut member_ids = vec![first_member_id];
    let mut restart_times = Vec::new();
    for cycle in 0..CYCLES {
        std::thread::sleep(Duration::from_millis(rng.gen_range(50..=400)));
        member.kill9();
        let acked_before_kill = max_acked.load(Ordering::Acquire);
        let t = Instant::now();
        member.restart().unwrap_or_else(|e| panic!("cycle {cycle}: restart failed: {e:#}"));
        restart_times.push(t.elapsed());
        let (rev, member_id) = rt.block_on(current_rev(&mut probe));
        assert!(
            rev >= acked_before_kill,
            "cycle {cycle}: after restart the revision is {rev}, but {acked_before_kill} was acknowledged before the kill"
        );
        member_ids.push(member_id);
    }
    // Let the writers see the last restart, then stop them.
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::Relaxed);
    let mut acks: Vec<Ack> = Vec::new();
    for t in tasks {
        acks.extend(rt.block_on(t).expect("writer task"));
    }
    // One more crash: whatever was acknowledged after the last one must be durable too.
    let max_rev = max_acked.load(Ordering::Acquire);
    member.kill9();
    member.restart().expect("final restart");
    let mut kv = KvClient::new(channels[1].clone());
    let (rev, _) = rt.block_on(current_rev(&mut kv));
    assert!(rev >= max_rev, "final revision {rev} is behind the newest acknowledged one {max_rev}");
    assert!(acks.len() > WRITERS, "too few acknowledged writes ({}) to mean anything", acks.len());

    // 1. Each writer's acknowledged revisions grow (its writes are sequential).
    let mut by_writer: HashMap<usize, Vec<&Ack>> = HashMap::new();
    for a in &acks {
        by_writer.entry(a.writer).or_default().push(a);
    }
    for (w, list) in &by_writer {
        for pair in list.windows(2) {
            assert!(
                pair[0].seq < pair[1].seq && pair[0].rev < pair[1].rev,
                "writer {w}: write {} got revision {} after write {} got {}",
                pair[1].seq,
                pair[1].rev,
                pair[0].seq,
                pair[0].rev
            );
        }
    }
    // 2. Every acknowledged write has its own revision.
    let mut by_rev: HashMap<i64, &Ack> = HashMap::new();
    for a in &acks {
        if let Some(other) = by_rev.insert(a.rev, a) {
            panic!(
                "revision {} acknowledged twice: writer {} write {} and writer {} write {}",
                a.rev, other.writer, other.seq, a.writer, a.seq
            );
        }
    }
    // 3. Real-time order: a write sent after another was acknowledged has a
    //    higher revision, across crashes too.
    let mut by_ack: Vec<&Ack> = acks.iter().collect();
    by_ack.sort_by_key(|a| a.acked);
    let mut by_send: Vec<&Ack> = acks.iter().collect();
    by_send.sort_by_key(|a| a.sent);
    let (mut i, mut max_before) = (0usize, (0i64, None::<&Ack>));
    for b in &by_send {
        while i < by_ack.len() && by_ack[i].acked < b.sent {
            if by_ack[i].rev > max_before.0 {
                max_before = (by_ack[i].rev, Some(by_ack[i]));
            }
            i += 1;
        }
        if let (rev, Some(a)) = max_before {
            assert!(
                b.rev > rev,
                "writer {} write {} was sent after writer {} write {} was acknowledged at revision {rev}, \
                 but got revision {}",
                b.writer,
                b.seq,
                a.writer,
                a.seq,
                b.rev
            );
        }
    }

    // 4. Final state: every acknowledged key holds its value (or, for the
    //    counters, a later write's), and every acknowledged revision is in history.
    let state: HashMap<String, (String, i64, i64)> = rt.block_on(async {
        let r = kv
            .range(RangeRequest { key: b"\0".to_vec(), range_end: b"\0".to_vec(), ..Default::default() })
            .await
            .expect("final range")
            .into_inner();
        r.kvs
            .into_iter()
            .map(|kv| {
                (
                    String::from_utf8(kv.key).unwrap(),
                    (String::from_utf8(kv.value).unwrap(), kv.mod_revision, kv.create_revision),
                )
            })
            .collect()
    });
    let mut last_counter: HashMap<&str, (&str, i64)> = HashMap::new();
    let mut counter_acks = Vec::new();
    for a in &acks {
        for (k, v) in &a.kvs {
            if k.starts_with("c/") {
                let e = last_counter.entry(k.as_str()).or_insert((v.as_str(), a.rev));
                if a.rev > e.1 {
                    *e = (v.as_str(), a.rev);
                }
                counter_acks.push((k.clone(), v.clone(), a.rev));
                continue;
            }
            match state.get(k) {
                None => panic!("acknowledged key {k} (revision {}) is missing", a.rev),
                Some((got, m, c)) => assert!(
                    got == v && *m == a.rev && *c == a.rev,
                    "acknowledged key {k}: want {v:?} at revision {}, have {got:?} mod {m} create {c}",
                    a.rev
                ),
            }
        }
    }
    for (k, (v, rev)) in &last_counter {
        let (got, m, _) = state.get(*k).unwrap_or_else(|| panic!("acknowledged counter {k} is missing"));
        // Values are the writer's sequence numbers: a later (maybe unacknowledged) write may win.
        assert!(
            got.as_str() > *v || (got == v && *m == *rev),
            "counter {k}: last acknowledged {v:?} at revision {rev}, now {got:?} at {m}"
        );
        assert!(*m >= *rev, "counter {k}: mod revision {m} is behind acknowledged revision {rev}");
    }
    let history_checked = counter_acks.len();
    rt.block_on(async {
        let sem = Arc::new(tokio::sync::Semaphore::new(32));
        let mut set = tokio::task::JoinSet::new();
        for (k, v, rev) in counter_acks {
            let mut kv = kv.clone();
            let permit = sem.clone().acquire_owned().await.unwrap();
            set.spawn(async move {
                let _permit = permit;
                let r = kv
                    .range(RangeRequest { key: k.clone().into(), revision: rev, ..Default::default() })
                    .await
                    .unwrap_or_else(|e| panic!("range {k} at {rev}: {e}"))
                    .into_inner();
                let kv0 = r.kvs.first().unwrap_or_else(|| panic!("{k} missing at acknowledged revision {rev}"));
                assert_eq!(
                    (kv0.value.as_slice(), kv0.mod_revision),
                    (v.as_bytes(), rev),
                    "{k} at acknowledged revision {rev}"
                );
            });
        }
        while let Some(r) = set.join_next().await {
            r.expect("history check");
        }
    });

    let member_id_changes = member_ids.windows(2).filter(|w| w[0] != w[1]).count();
    restart_times.sort();
    println!(
        "crash test: {} acknowledged writes ({} attempted) over {CYCLES} kill -9 cycles (+1 final) with {WRITERS} \
         writers on {CHANNELS} channels; {history_checked} counter revisions checked in history; final revision \
         {rev}; restart median {:?}, max {:?}; took {:?}",
        acks.len(),
        attempts.load(Ordering::Relaxed),
        restart_times[restart_times.len() / 2],
        restart_times.last().unwrap(),
        started.elapsed()
    );
    if member_id_changes > 0 {
        println!(
            "note: the member ID changed across {member_id_changes} restarts (the harness passes a new peer URL \
             each start; etcd keeps the ID in its data dir)"
        );
    }
    assert!(started.elapsed() < Duration::from_secs(120), "crash test took {:?}", started.elapsed());
}
