//! Seeded fault schedules on the in-process network (partitions, drops,
//! delays, a member stopped and restarted) under concurrent writers. After
//! healing, every acknowledged write is present, and every member holds the
//! same history, revision by revision. `RAFT_FAULT_SEED=N` replays a run;
//! `RAFT_FAULT_RUNS=N` runs N schedules.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_compat::config::EngineKind;
use etcd_compat::mvcc::KeyRange;
use etcd_compat::proto::etcdserverpb::PutRequest;
use parking_lot::Mutex;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::cluster::Cluster;

const WRITERS: usize = 4;

async fn run_schedule(seed: u64) {
    println!("raft fault schedule: RAFT_FAULT_SEED={seed}");
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().to_path_buf();
    let mut c = Cluster::with(3, |cfg| {
        cfg.engine = EngineKind::Redb;
        cfg.data_dir = base.join(&cfg.name);
        cfg.snapshot_count = 300;
        cfg.snapshot_catchup_entries = 50;
    })
    .await;
    let mut rng = StdRng::seed_from_u64(seed);
    let acked: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let urls: Vec<String> = (0..3).map(|i| c.member(i).url.clone()).collect();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (acked, stop, urls) = (acked.clone(), stop.clone(), urls.clone());
        let mut wrng = StdRng::seed_from_u64(seed ^ (w as u64 + 1));
        writers.push(tokio::spawn(async move {
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let url = &urls[wrng.gen_range(0..urls.len())];
                let Ok(ch) = tonic::transport::Channel::from_shared(url.clone()).unwrap().connect().await else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let mut kv = etcd_compat::proto::etcdserverpb::kv_client::KvClient::new(ch);
                let (k, v) = (format!("w{w}/{i:06}"), format!("{seed}-{i}"));
                let put = PutRequest { key: k.clone().into(), value: v.clone().into(), ..Default::default() };
                if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_secs(3), kv.put(put)).await {
                    acked.lock().insert(k, v);
                }
                i += 1;
            }
        }));
    }
    let ids = c.ids();
    let mut faults = 0;
    for _ in 0..6 {
        let victim = rng.gen_range(0..3usize);
        match rng.gen_range(0..4) {
            0 => c.faults.isolate(ids[victim], &ids),
            1 => c.faults.set_drop_rate(rng.gen_range(0.05..0.3)),
            2 => c.faults.set_delay(Some((Duration::from_millis(0), Duration::from_millis(rng.gen_range(5..40))))),
            _ => {
                c.stop(victim).await;
                tokio::time::sleep(Duration::from_millis(rng.gen_range(100..600))).await;
                c.restart(victim).await;
            }
        }
        faults += 1;
        tokio::time::sleep(Duration::from_millis(rng.gen_range(200..800))).await;
        c.faults.heal();
        tokio::time::sleep(Duration::from_millis(rng.gen_range(50..300))).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    c.faults.heal();
    // Converge: one leader, every member at the same applied revision.
    let deadline = Instant::now() + Duration::from_secs(20);
    let leader = c.wait_leader(Duration::from_secs(10)).await;
    let mut kv = c.kv(leader).await;
    kv.put(PutRequest { key: "barrier".into(), value: "x".into(), ..Default::default() }).await.unwrap();
    let target = c.node(leader).store().current_rev();
    for i in 0..3 {
        while c.node(i).store().current_rev() < target {
            assert!(Instant::now() < deadline, "seed {seed}: member {i} stuck below revision {target}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    // Every acknowledged write is there.
    let acked = acked.lock().clone();
    let store = c.node(leader).store().clone();
    for (k, v) in &acked {
        let r = store.range(KeyRange::Single(k.as_bytes()), Default::default()).unwrap();
        assert_eq!(r.kvs.first().map(|kv| kv.value.clone()), Some(v.clone().into_bytes()), "seed {seed}: lost {k}");
    }
    // Same history everywhere, from the oldest revision all members keep.
    let from = (0..3).map(|i| c.node(i).store().compact_rev()).max().unwrap().max(1);
    let history: Vec<_> =
        (0..3).map(|i| c.node(i).store().events(from, target, KeyRange::Span(&[], None)).unwrap()).collect();
    assert!(history.iter().all(|h| h == &history[0]), "seed {seed}: members disagree on history");
    println!(
        "seed {seed}: {faults} faults, {} acknowledged writes, revision {target}, history from {from}",
        acked.len()
    );
    assert!(!acked.is_empty(), "seed {seed}: no write was acknowledged at all");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeded_fault_schedules_lose_nothing_and_converge() {
    let runs: u64 = std::env::var("RAFT_FAULT_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let first: u64 = std::env::var("RAFT_FAULT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| rand::thread_rng().gen_range(1..1_000_000));
    for seed in first..first + runs {
        run_schedule(seed).await;
    }
}
