#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Randomized fault schedules against a 3-member cluster of real processes.
//!
//! Per schedule: a fresh cluster; several concurrent clients doing put / get /
//! delete / compare-and-set (txn) on a small key set, each retrying on the next
//! member after a failure, recording every operation in a
//! [`capstan_e2e::lincheck::History`]; one watcher per member, started at
//! revision 1, that reconnects (to the next member) after an error with
//! `start_revision = last seen + 1`; and a seeded fault schedule: kill -9 and
//! restart of the leader or a follower, and (capstan only, through the
//! proxies) isolating the leader or a follower and delaying a pair of members.
//!
//! After the faults: heal, restart what is down, wait for convergence, then
//! * the history must be linearizable (per key, Wing–Gong–Lowe search);
//! * the final history (a watch from revision 1) must have exactly one event per
//!   revision 2..=final, and every acknowledged write must be in it at the
//!   revision it was acknowledged with; every put's value must have been written
//!   by some client;
//! * every watcher must have seen exactly the final history: in revision order,
//!   no gaps, no duplicates, across its reconnections.
//!
//! Environment: `ROBUSTNESS_FLAVOR=etcd34|capstan` (default capstan; etcd 3.4
//! gets kill/restart faults only, since it does not bind its peer source IP),
//! `ROBUSTNESS_SCHEDULES=N` (default 3; long mode prints a line per schedule and
//! a final summary), `ROBUSTNESS_SEED=S` replays the one schedule with that seed
//! (the seed of every schedule is printed), `ROBUSTNESS_SECS` (fault phase per
//! schedule, default 8). Client timing is not replayed, only the RNG choices.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use capstan_e2e::cluster::{lazy_channel, ClusterOpts, ProcCluster};
use capstan_e2e::lincheck::{History, Op, Ret};
use capstan_e2e::Flavor;
use etcd_compat::proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_compat::proto::etcdserverpb::kv_client::KvClient;
use etcd_compat::proto::etcdserverpb::request_op::Request;
use etcd_compat::proto::etcdserverpb::watch_client::WatchClient;
use etcd_compat::proto::etcdserverpb::watch_request::RequestUnion;
use etcd_compat::proto::etcdserverpb::{
    Compare, DeleteRangeRequest, PutRequest, RangeRequest, RequestOp, TxnRequest, WatchCreateRequest, WatchRequest,
};
use futures::StreamExt;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tonic::transport::{Channel, Endpoint};

const MEMBERS: usize = 3;
const CLIENTS: usize = 4;
const KEYS: usize = 4;
/// Client timeout per attempt.
const OP_TIMEOUT: Duration = Duration::from_secs(1);
/// A watcher with no message for this long reconnects (its member may be cut off).
const WATCH_IDLE: Duration = Duration::from_secs(3);
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| v.trim().parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a number")))
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

// ---------------------------------------------------------------------------
// Faults.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Leader,
    Follower,
}

#[derive(Debug, Clone, Copy)]
enum Fault {
    /// SIGKILL, stay down for `down`, restart on the same data dir.
    Kill(Target, Duration),
    /// Cut one member off from the others for `hold`, then heal.
    Isolate(Target, Duration),
    /// Delay both directions between two members for `hold`.
    Delay(usize, usize, Duration, Duration),
}

#[derive(Debug, Clone, Copy)]
struct Planned {
    /// Pause before the fault.
    pause: Duration,
    fault: Fault,
}

fn plan(rng: &mut StdRng, flavor: Flavor, phase: Duration) -> Vec<Planned> {
    let mut out = Vec::new();
    let mut t = Duration::ZERO;
    loop {
        let pause = Duration::from_millis(rng.gen_range(200..1000));
        let hold = Duration::from_millis(rng.gen_range(300..2000));
        let target = if rng.gen_bool(0.5) { Target::Leader } else { Target::Follower };
        let fault = match (flavor, rng.gen_range(0..10)) {
            (Flavor::Capstan, 5..=7) => Fault::Isolate(target, hold),
            (Flavor::Capstan, 8..=9) => {
                let a = rng.gen_range(0..MEMBERS);
                let b = (a + rng.gen_range(1..MEMBERS)) % MEMBERS;
                Fault::Delay(a, b, Duration::from_millis(rng.gen_range(10..150)), hold)
            }
            _ => Fault::Kill(target, hold),
        };
        t += pause + hold;
        if t > phase && !out.is_empty() {
            return out;
        }
        out.push(Planned { pause, fault });
    }
}

fn resolve(c: &mut ProcCluster, target: Target, rng: &mut StdRng) -> usize {
    let leader = c.leader().unwrap_or_else(|| rng.gen_range(0..MEMBERS));
    match target {
        Target::Leader => leader,
        Target::Follower => (leader + rng.gen_range(1..MEMBERS)) % MEMBERS,
    }
}

/// Runs the plan; returns a description of what was injected.
fn inject(c: &mut ProcCluster, planned: &[Planned], rng: &mut StdRng, seed: u64) -> Vec<String> {
    let mut done = Vec::new();
    for p in planned {
        std::thread::sleep(p.pause);
        match p.fault {
            Fault::Kill(t, down) => {
                let i = resolve(c, t, rng);
                c.kill9(i);
                std::thread::sleep(down);
                c.restart(i).unwrap_or_else(|e| panic!("seed {seed}: restarting m{i}: {e:#}"));
                done.push(format!("kill {t:?} m{i} for {down:?}"));
            }
            Fault::Isolate(t, hold) => {
                let i = resolve(c, t, rng);
                c.net.isolate(i);
                std::thread::sleep(hold);
                c.net.heal();
                done.push(format!("isolate {t:?} m{i} for {hold:?}"));
            }
            Fault::Delay(a, b, d, hold) => {
                c.net.delay(a, b, d);
                c.net.delay(b, a, d);
                std::thread::sleep(hold);
                c.net.heal();
                done.push(format!("delay m{a}<->m{b} {d:?} for {hold:?}"));
            }
        }
    }
    done
}

// ---------------------------------------------------------------------------
// Clients.

/// A write acknowledged with a revision: what the final history must hold there.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Acked {
    rev: i64,
    key: String,
    /// None for a delete.
    value: Option<String>,
}

#[derive(Default)]
struct ClientLog {
    acked: Vec<Acked>,
    /// Every value a client tried to write.
    written: HashSet<String>,
    ok: u64,
    failed: u64,
}

fn put_op(k: &str, v: &str) -> RequestOp {
    RequestOp {
        request: Some(Request::RequestPut(PutRequest { key: k.into(), value: v.into(), ..Default::default() })),
    }
}

/// One op against one member: Ok((result, revision)) or an error.
async fn execute(kv: &mut KvClient<Channel>, op: &Op) -> Result<(Ret, i64), tonic::Status> {
    let rev = |h: Option<etcd_compat::proto::etcdserverpb::ResponseHeader>| h.map_or(0, |h| h.revision);
    match op {
        Op::Put { key, value } => {
            let r = kv.put(PutRequest { key: key.clone().into(), value: value.clone().into(), ..Default::default() });
            let r = r.await?.into_inner();
            Ok((Ret::Put, rev(r.header)))
        }
        Op::Get { key } => {
            let r = kv.range(RangeRequest { key: key.clone().into(), ..Default::default() }).await?.into_inner();
            let v = r.kvs.first().map(|kv| String::from_utf8_lossy(&kv.value).into_owned());
            Ok((Ret::Get(v), rev(r.header)))
        }
        Op::Delete { key } => {
            let r = kv.delete_range(DeleteRangeRequest { key: key.clone().into(), ..Default::default() });
            let r = r.await?.into_inner();
            Ok((Ret::Delete(r.deleted > 0), rev(r.header)))
        }
        Op::Cas { key, expect, value } => {
            let cmp = match expect {
                Some(v) => Compare {
                    key: key.clone().into(),
                    target: CompareTarget::Value as i32,
                    result: CompareResult::Equal as i32,
                    target_union: Some(TargetUnion::Value(v.clone().into())),
                    ..Default::default()
                },
                None => Compare {
                    key: key.clone().into(),
                    target: CompareTarget::Create as i32,
                    result: CompareResult::Equal as i32,
                    target_union: Some(TargetUnion::CreateRevision(0)),
                    ..Default::default()
                },
            };
            let req = TxnRequest { compare: vec![cmp], success: vec![put_op(key, value)], failure: vec![] };
            let r = kv.txn(req).await?.into_inner();
            Ok((Ret::Cas(r.succeeded), rev(r.header)))
        }
    }
}

async fn client(
    id: usize,
    seed: u64,
    kvs: Vec<KvClient<Channel>>,
    history: History,
    stop: Arc<AtomicBool>,
) -> ClientLog {
    let mut rng = StdRng::seed_from_u64(splitmix(seed ^ (id as u64 + 1)));
    let mut log = ClientLog::default();
    let mut member = id % kvs.len();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        let key = format!("k{}", rng.gen_range(0..KEYS));
        let value = format!("c{id}-{seq}");
        let op = match rng.gen_range(0..100) {
            0..=34 => Op::Get { key },
            35..=64 => Op::Put { key, value },
            65..=74 => Op::Delete { key },
            _ => {
                let expect = if rng.gen_bool(0.8) { seen.get(&key).cloned() } else { None };
                Op::Cas { key, expect, value }
            }
        };
        if let Op::Put { value, .. } | Op::Cas { value, .. } = &op {
            log.written.insert(value.clone());
        }
        let call = history.invoke(id, op.clone());
        let mut kv = kvs[member].clone();
        match tokio::time::timeout(OP_TIMEOUT, execute(&mut kv, &op)).await {
            Ok(Ok((ret, rev))) => {
                log.ok += 1;
                match (&op, &ret) {
                    (Op::Put { key, value }, _) | (Op::Cas { key, value, .. }, Ret::Cas(true)) => {
                        seen.insert(key.clone(), value.clone());
                        log.acked.push(Acked { rev, key: key.clone(), value: Some(value.clone()) });
                    }
                    (Op::Delete { key }, Ret::Delete(true)) => {
                        seen.remove(key);
                        log.acked.push(Acked { rev, key: key.clone(), value: None });
                    }
                    (Op::Get { key }, Ret::Get(v)) => match v {
                        Some(v) => {
                            seen.insert(key.clone(), v.clone());
                        }
                        None => {
                            seen.remove(key);
                        }
                    },
                    _ => {}
                }
                history.ok(call, ret);
            }
            _ => {
                log.failed += 1;
                if op.is_write() {
                    history.ambiguous(call);
                } else {
                    history.discard(call);
                }
                member = (member + 1) % kvs.len();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        if rng.gen_bool(0.5) {
            tokio::time::sleep(Duration::from_millis(rng.gen_range(0..4))).await;
        }
    }
    log
}

// ---------------------------------------------------------------------------
// Watchers.

#[derive(Debug, Clone, PartialEq, Eq)]
struct Ev {
    rev: i64,
    key: String,
    /// None for a delete.
    value: Option<String>,
}

#[derive(Debug, Default)]
struct WatchLog {
    events: Vec<Ev>,
    reconnects: u64,
    /// Events that arrived out of revision order (a gap is found against the final history).
    disorder: Vec<String>,
    last_error: String,
}

fn watch_channel(url: &str) -> Channel {
    Endpoint::from_shared(url.to_string()).unwrap().connect_timeout(Duration::from_millis(500)).connect_lazy()
}

/// Watches every key from revision 1, reconnecting to the next member after
/// an error (or `WATCH_IDLE` without a message) from last seen + 1. Stops once
/// `stop` is set and it has seen `until` (when set), or on `abort`.
async fn watcher(
    start_member: usize,
    urls: Vec<String>,
    log: Arc<Mutex<WatchLog>>,
    until: Arc<AtomicU64>,
    abort: Arc<AtomicBool>,
) {
    let mut member = start_member;
    let mut last = 0i64;
    let done = |last: i64| {
        let u = until.load(Ordering::Relaxed) as i64;
        u > 0 && last >= u
    };
    while !abort.load(Ordering::Relaxed) && !done(last) {
        let req = WatchRequest {
            request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
                key: vec![0],
                range_end: vec![0],
                start_revision: last + 1,
                ..Default::default()
            })),
        };
        let mut wc = WatchClient::new(watch_channel(&urls[member]));
        let outbound = futures::stream::once(async move { req }).chain(futures::stream::pending());
        let stream = tokio::time::timeout(Duration::from_secs(2), wc.watch(outbound)).await;
        let mut stream = match stream {
            Ok(Ok(s)) => s.into_inner(),
            Ok(Err(e)) => {
                log.lock().unwrap().last_error = format!("m{member}: {e}");
                member = (member + 1) % urls.len();
                log.lock().unwrap().reconnects += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(_) => {
                member = (member + 1) % urls.len();
                log.lock().unwrap().reconnects += 1;
                continue;
            }
        };
        loop {
            if abort.load(Ordering::Relaxed) || done(last) {
                return;
            }
            let msg = match tokio::time::timeout(WATCH_IDLE, stream.next()).await {
                Ok(Some(Ok(m))) => m,
                Ok(Some(Err(e))) => {
                    log.lock().unwrap().last_error = format!("m{member}: {e}");
                    break;
                }
                Ok(None) | Err(_) => break,
            };
            if msg.canceled {
                log.lock().unwrap().last_error = format!("m{member}: canceled: {}", msg.cancel_reason);
                break;
            }
            let mut l = log.lock().unwrap();
            for ev in msg.events {
                let Some(kv) = ev.kv else { continue };
                let rev = kv.mod_revision;
                let key = String::from_utf8_lossy(&kv.key).into_owned();
                if rev <= last {
                    l.disorder.push(format!("revision {rev} ({key}) after {last}, from m{member}"));
                }
                let value = (ev.r#type == 0).then(|| String::from_utf8_lossy(&kv.value).into_owned());
                l.events.push(Ev { rev, key, value });
                last = last.max(rev);
            }
        }
        member = (member + 1) % urls.len();
        log.lock().unwrap().reconnects += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------
// One schedule.

#[derive(Debug, Default)]
struct Outcome {
    ops: usize,
    ok: u64,
    failed: u64,
    faults: usize,
    events: usize,
    reconnects: u64,
    check_time: Duration,
}

fn run_schedule(flavor: Flavor, seed: u64, phase: Duration, label: &str) -> Result<Outcome, String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let planned = plan(&mut rng, flavor, phase);
    let mut c = ProcCluster::start(flavor, MEMBERS, ClusterOpts::fast_election())
        .map_err(|e| format!("starting {flavor:?}: {e:#}"))?;
    c.wait_leader(Duration::from_secs(15)).map_err(|e| format!("{e:#}"))?;
    let urls = c.urls();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let history = History::new();
    let stop = Arc::new(AtomicBool::new(false));
    let until = Arc::new(AtomicU64::new(0));
    let abort = Arc::new(AtomicBool::new(false));
    let watch_logs: Vec<Arc<Mutex<WatchLog>>> = (0..MEMBERS).map(|_| Arc::default()).collect();
    let (clients, watchers) = {
        let _g = rt.enter();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| {
                let kvs = urls.iter().map(|u| KvClient::new(lazy_channel(u, OP_TIMEOUT).unwrap())).collect();
                rt.spawn(client(id, seed, kvs, history.clone(), stop.clone()))
            })
            .collect();
        let watchers: Vec<_> = (0..MEMBERS)
            .map(|m| rt.spawn(watcher(m, urls.clone(), watch_logs[m].clone(), until.clone(), abort.clone())))
            .collect();
        (clients, watchers)
    };
    // Make sure the clients are going before the first fault.
    let warm = Instant::now();
    while history.len() < 20 && warm.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let injected = inject(&mut c, &planned, &mut rng, seed);
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let mut logs = Vec::new();
    for t in clients {
        logs.push(rt.block_on(t).map_err(|e| format!("client task: {e}"))?);
    }

    // Quiesce: healed, everyone up, converged.
    c.net.heal();
    for i in 0..MEMBERS {
        if !c.is_running(i) {
            c.restart(i).map_err(|e| format!("restarting m{i}: {e:#}"))?;
        }
    }
    let leader = c.wait_leader(Duration::from_secs(20)).map_err(|e| format!("after the faults: {e:#}"))?;
    let final_rev = c.wait_converged(leader, Duration::from_secs(30)).map_err(|e| format!("{e:#}"))?;

    let result = (|| -> Result<(usize, Vec<String>), String> {
        let mut problems = Vec::new();
        // The final history: one event per revision 2..=final.
        let hist = rt.block_on(full_history(&urls[leader], final_rev))?;
        for (i, e) in hist.iter().enumerate() {
            if e.rev != i as i64 + 2 {
                problems.push(format!("final history: event #{i} has revision {}, want {} ({e:?})", e.rev, i + 2));
                break;
            }
        }
        if hist.len() as i64 != final_rev - 1 {
            problems.push(format!("final history has {} events for revisions 2..={final_rev}", hist.len()));
        }
        let by_rev: BTreeMap<i64, &Ev> = hist.iter().map(|e| (e.rev, e)).collect();
        let written: HashSet<&String> = logs.iter().flat_map(|l| l.written.iter()).collect();
        for e in &hist {
            if let Some(v) = &e.value {
                if !written.contains(v) {
                    problems.push(format!("revision {} put {}={v:?}, a value no client wrote", e.rev, e.key));
                }
            }
        }
        for a in logs.iter().flat_map(|l| l.acked.iter()) {
            let want = Ev { rev: a.rev, key: a.key.clone(), value: a.value.clone() };
            if by_rev.get(&a.rev) != Some(&&want) {
                problems
                    .push(format!("acknowledged {a:?}, but the history has {:?} at that revision", by_rev.get(&a.rev)));
            }
        }
        // Every watcher saw exactly that history.
        until.store(final_rev as u64, Ordering::Relaxed);
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline && !watchers.iter().all(|w| w.is_finished()) {
            std::thread::sleep(Duration::from_millis(50));
        }
        abort.store(true, Ordering::Relaxed);
        for (m, w) in watch_logs.iter().enumerate() {
            let w = w.lock().unwrap();
            if !w.disorder.is_empty() {
                problems.push(format!("watcher {m}: out of order: {:?}", &w.disorder[..w.disorder.len().min(3)]));
            }
            if w.events != hist {
                let i = w.events.iter().zip(&hist).position(|(a, b)| a != b).unwrap_or(w.events.len().min(hist.len()));
                problems.push(format!(
                    "watcher {m} ({} reconnects, last error {:?}): {} events vs {} in the history; first \
                     difference at #{i}: {:?} vs {:?}",
                    w.reconnects,
                    w.last_error,
                    w.events.len(),
                    hist.len(),
                    w.events.get(i),
                    hist.get(i)
                ));
            }
        }
        Ok((hist.len(), problems))
    })();
    abort.store(true, Ordering::Relaxed);
    for w in watchers {
        w.abort();
    }
    let (events, mut problems) = result?;

    let t = Instant::now();
    let verdict = history.check(CHECK_TIMEOUT);
    let check_time = t.elapsed();
    let out = Outcome {
        ops: history.len(),
        ok: logs.iter().map(|l| l.ok).sum(),
        failed: logs.iter().map(|l| l.failed).sum(),
        faults: injected.len(),
        events,
        reconnects: watch_logs.iter().map(|w| w.lock().unwrap().reconnects).sum(),
        check_time,
    };
    println!(
        "{label} seed={seed}: {} ops checked ({} answered, {} failed), {} events (final revision {final_rev}), {} watch reconnects, \
         faults [{}], lincheck {} in {:.1?}",
        out.ops,
        out.ok,
        out.failed,
        out.events,
        out.reconnects,
        injected.join("; "),
        verdict,
        check_time
    );
    if !verdict.is_ok() {
        problems.push(verdict.to_string());
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems.join("\n"))
    }
}

/// Every event from revision 1 up to `final_rev`, from one watch.
async fn full_history(url: &str, final_rev: i64) -> Result<Vec<Ev>, String> {
    let mut wc = WatchClient::new(watch_channel(url));
    let req = WatchRequest {
        request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
            key: vec![0],
            range_end: vec![0],
            start_revision: 1,
            ..Default::default()
        })),
    };
    let outbound = futures::stream::once(async move { req }).chain(futures::stream::pending());
    let mut stream = wc.watch(outbound).await.map_err(|e| format!("final watch: {e}"))?.into_inner();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while out.last().map_or(final_rev > 1, |e: &Ev| e.rev < final_rev) {
        let msg = tokio::time::timeout_at(deadline, stream.next())
            .await
            .map_err(|_| format!("final watch: stuck at {:?} of {final_rev}", out.last()))?
            .ok_or("final watch ended")?
            .map_err(|e| format!("final watch: {e}"))?;
        for ev in msg.events {
            let Some(kv) = ev.kv else { continue };
            let value = (ev.r#type == 0).then(|| String::from_utf8_lossy(&kv.value).into_owned());
            out.push(Ev { rev: kv.mod_revision, key: String::from_utf8_lossy(&kv.key).into_owned(), value });
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Runner.

fn run(flavor: Flavor, default_schedules: u64) {
    let replay = env_u64("ROBUSTNESS_SEED");
    let schedules = if replay.is_some() { 1 } else { env_u64("ROBUSTNESS_SCHEDULES").unwrap_or(default_schedules) };
    let phase = Duration::from_secs(env_u64("ROBUSTNESS_SECS").unwrap_or(8));
    let base = {
        let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        d.as_secs() ^ u64::from(d.subsec_nanos()).rotate_left(32)
    };
    println!(
        "robustness: {flavor:?}, {schedules} schedules of {phase:?}, base seed {base} (ROBUSTNESS_SEED=<schedule \
         seed> replays one)"
    );
    let started = Instant::now();
    let (mut passed, mut ops, mut faults, mut events) = (0u64, 0usize, 0usize, 0usize);
    let mut check_time = Duration::ZERO;
    let mut failures = Vec::new();
    for s in 0..schedules {
        let seed = replay.unwrap_or_else(|| splitmix(base.wrapping_add(s)));
        let label = format!("schedule {}/{schedules}", s + 1);
        match run_schedule(flavor, seed, phase, &label) {
            Ok(o) => {
                passed += 1;
                ops += o.ops;
                faults += o.faults;
                events += o.events;
                check_time += o.check_time;
            }
            Err(e) => {
                println!("{label} seed={seed}: FAILED\n{e}");
                failures.push(format!("seed {seed} (replay: ROBUSTNESS_SEED={seed}): {e}"));
            }
        }
    }
    println!(
        "robustness summary: {flavor:?}: {passed}/{schedules} schedules passed, {ops} ops checked, {events} events \
         compared per watcher, {faults} faults injected, {:.1?} (lincheck {check_time:.1?})",
        started.elapsed()
    );
    assert!(failures.is_empty(), "{} of {schedules} schedules failed:\n{}", failures.len(), failures.join("\n\n"));
    assert!(ops > 0 && faults > 0, "nothing was checked");
}

fn flavor_from_env() -> Flavor {
    match std::env::var("ROBUSTNESS_FLAVOR").as_deref() {
        Ok("etcd34") => Flavor::Etcd34,
        Ok("etcd35") => Flavor::Etcd35,
        Ok("capstan") | Err(_) => Flavor::Capstan,
        Ok(other) => panic!("ROBUSTNESS_FLAVOR={other:?}: want capstan, etcd34 or etcd35"),
    }
}

/// The subject (capstan unless `ROBUSTNESS_FLAVOR` says otherwise).
#[test]
fn robustness() {
    run(flavor_from_env(), 3);
}

/// The same harness on etcd 3.4 with kill/restart faults: it must pass there.
#[test]
fn robustness_etcd34_reference() {
    run(Flavor::Etcd34, 2);
}
