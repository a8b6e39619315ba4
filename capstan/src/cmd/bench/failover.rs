//! Leader failover under load: clients spread over the members put
//! continuously (each moving on to the next member on any error or timeout),
//! the leader is SIGKILLed, and the successful writes around the kill tell how
//! long the cluster could not write and how deep and long the throughput dip was.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use etcd_compat::proto::etcdserverpb::kv_client::KvClient;
use etcd_compat::proto::etcdserverpb::maintenance_client::MaintenanceClient;
use etcd_compat::proto::etcdserverpb::{PutRequest, StatusRequest};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tonic::transport::{Channel, Endpoint};

use super::cluster::Cluster;
use super::workload::key;

/// Load before the kill (the last [`BEFORE`] of it is the baseline).
const LOAD_BEFORE_KILL: Duration = Duration::from_secs(2);
/// Baseline window before the kill.
const BEFORE: Duration = Duration::from_secs(1);
/// Observed window after the kill.
const AFTER: Duration = Duration::from_secs(5);
/// Throughput bucket width.
const BUCKET: Duration = Duration::from_millis(100);
/// Pause after a failed request before trying the next member.
const RETRY_PAUSE: Duration = Duration::from_millis(5);
/// How often the survivors' Status is polled for the new leader after the kill.
const LEADER_POLL: Duration = Duration::from_millis(10);
/// After the kill, a probe Put goes to the next survivor this often until one succeeds.
const PROBE_EVERY: Duration = Duration::from_millis(10);

#[derive(Clone, Debug)]
pub struct FailoverSpec {
    /// Concurrent writers, spread round-robin over the members.
    pub clients: usize,
    /// Each Put is abandoned (and retried on the next member) after this long,
    /// ±50 % at random so that the writers do not time out in lockstep.
    pub request_timeout: Duration,
    pub prefix: String,
    pub key_space: u64,
    pub value_size: usize,
}

/// What one failover run measured (times are from the kill).
#[derive(Clone, Debug, PartialEq)]
pub struct Analysis {
    /// Mean successful puts per second over the [`BEFORE`] window before the kill.
    pub pre_kill_ops: f64,
    /// First successful write by the writers among those sent after the kill.
    pub first_write: Option<Duration>,
    /// The lowest 100 ms bucket within [`AFTER`], as ops/s.
    pub min_bucket_ops: f64,
    /// Start of the first bucket, after the first bucket below 50 % of the
    /// baseline, that is back at ≥ 50 % (zero if there was no such dip).
    pub recovery: Option<Duration>,
    /// Total time in [`AFTER`] spent in buckets below 50 % of the baseline.
    pub below_half: Duration,
    /// Successful puts per bucket, from −[`BEFORE`] to +[`AFTER`].
    pub buckets: Vec<u64>,
}

/// One run: the analysis plus what happened.
pub struct FailoverRun {
    pub analysis: Analysis,
    /// First successful probe write (probes are only sent after the kill).
    pub first_probe: Option<Duration>,
    /// When a survivor's Status first named a new leader (polled every 10 ms).
    pub new_leader_after: Option<Duration>,
    pub killed: String,
    pub new_leader: String,
    pub errors: u64,
}

impl FailoverRun {
    /// Kill → the first successful write sent after it, by a writer or a probe.
    pub fn first_write(&self) -> Option<Duration> {
        match (self.analysis.first_write, self.first_probe) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// `t - kill` in signed microseconds.
fn offset_us(t: Instant, kill: Instant) -> i64 {
    match t.checked_duration_since(kill) {
        Some(d) => micros(d),
        None => -micros(kill.duration_since(t)),
    }
}

/// Analyses successful writes given as `(sent, done)` offsets from the kill in µs.
pub fn analyze(writes: &[(i64, i64)]) -> Analysis {
    let (before, after, width) = (micros(BEFORE), micros(AFTER), micros(BUCKET).max(1));
    let n_before = usize::try_from(before / width).unwrap_or(0);
    let n = usize::try_from((before + after) / width).unwrap_or(0);
    let mut buckets = vec![0u64; n];
    for &(_, done) in writes {
        if (-before..after).contains(&done) {
            if let Some(b) = usize::try_from((done + before) / width).ok().and_then(|i| buckets.get_mut(i)) {
                *b += 1;
            }
        }
    }
    let pre_count: u64 = buckets[..n_before.min(n)].iter().sum();
    let pre_kill_ops = pre_count as f64 / BEFORE.as_secs_f64();
    let per_bucket = |count: u64| count as f64 / BUCKET.as_secs_f64();
    let post = &buckets[n_before.min(n)..];
    let min_bucket_ops = post.iter().copied().min().map_or(0.0, per_bucket);
    let first_write = writes
        .iter()
        .filter(|(sent, _)| *sent >= 0)
        .map(|(_, done)| *done)
        .min()
        .map(|us| Duration::from_micros(u64::try_from(us).unwrap_or(0)));
    let threshold = 0.5 * pre_kill_ops;
    let recovery = match post.iter().position(|c| per_bucket(*c) < threshold) {
        None => Some(Duration::ZERO),
        Some(dip) => post[dip..]
            .iter()
            .position(|c| per_bucket(*c) >= threshold)
            .and_then(|i| u32::try_from(dip + i).ok())
            .map(|i| BUCKET * i),
    };
    let below_half = BUCKET * u32::try_from(post.iter().filter(|c| per_bucket(**c) < threshold).count()).unwrap_or(0);
    Analysis { pre_kill_ops, first_write, min_bucket_ops, recovery, below_half, buckets }
}

struct ClientResult {
    /// `(sent, done)` of every successful put.
    writes: Vec<(Instant, Instant)>,
    errors: u64,
}

async fn client(
    id: usize,
    channels: Arc<Vec<Channel>>,
    spec: Arc<FailoverSpec>,
    stop: Arc<AtomicBool>,
) -> ClientResult {
    let mut out = ClientResult { writes: Vec::new(), errors: 0 };
    let mut member = id % channels.len();
    let mut rng = StdRng::seed_from_u64(0xfa11 ^ id as u64);
    let value = vec![b'f'; spec.value_size];
    while !stop.load(Ordering::Relaxed) {
        let mut kv = KvClient::new(channels[member].clone());
        let req = PutRequest {
            key: key(&spec.prefix, rng.gen_range(0..spec.key_space.max(1))),
            value: value.clone(),
            ..Default::default()
        };
        let sent = Instant::now();
        let timeout = spec.request_timeout.mul_f64(rng.gen_range(0.5..1.5));
        match tokio::time::timeout(timeout, kv.put(req)).await {
            Ok(Ok(_)) => out.writes.push((sent, Instant::now())),
            _ => {
                out.errors += 1;
                member = (member + 1) % channels.len();
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
    out
}

/// Runs the put load on `cluster`, kills its leader, and analyses the writes.
pub async fn run(cluster: &mut Cluster, spec: &FailoverSpec) -> anyhow::Result<FailoverRun> {
    cluster.leader().await.context("finding the leader before the load")?;
    let mut channels = Vec::new();
    for url in cluster.urls() {
        let ep = Endpoint::from_shared(url.clone())?.tcp_nodelay(true).connect_timeout(Duration::from_secs(1));
        channels.push(ep.connect().await.with_context(|| format!("connecting to {url}"))?);
    }
    let channels = Arc::new(channels);
    let spec_arc = Arc::new(spec.clone());
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..spec.clients.max(1))
        .map(|id| tokio::spawn(client(id, channels.clone(), spec_arc.clone(), stop.clone())))
        .collect();
    // Stops the clients even if this future is dropped or fails half-way.
    struct StopOnDrop(Arc<AtomicBool>);
    impl Drop for StopOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let _stop_guard = StopOnDrop(stop.clone());

    tokio::time::sleep(LOAD_BEFORE_KILL).await;
    let (leader, leader_id) = cluster.leader_with_id().await.context("finding the leader to kill")?;
    let killed = cluster.name(leader).to_string();
    let survivors: Vec<Channel> =
        channels.iter().enumerate().filter(|(i, _)| *i != leader).map(|(_, c)| c.clone()).collect();
    let kill = cluster.kill(leader)?;
    let elected = tokio::spawn(new_leader_seen(survivors.clone(), leader_id, kill + AFTER));
    let probe = tokio::spawn(probe_writes(survivors, spec.clone(), kill + AFTER));
    tokio::time::sleep_until((kill + AFTER).into()).await;
    stop.store(true, Ordering::Relaxed);
    let new_leader_after = tokio::time::timeout(Duration::from_secs(5), elected)
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
        .map(|at| at.saturating_duration_since(kill));
    let first_probe = tokio::time::timeout(Duration::from_secs(5), probe)
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
        .map(|at| at.saturating_duration_since(kill));

    let mut writes = Vec::new();
    let mut errors = 0;
    let deadline = Instant::now() + spec.request_timeout + Duration::from_secs(5);
    for t in tasks {
        let r = tokio::time::timeout_at(deadline.into(), t)
            .await
            .context("failover clients did not stop in time")?
            .context("failover client panicked")?;
        errors += r.errors;
        writes.extend(r.writes.into_iter().map(|(s, d)| (offset_us(s, kill), offset_us(d, kill))));
    }
    cluster.check_alive().context("a surviving member died during the failover run")?;
    let new_leader = match cluster.leader().await {
        Ok(i) => cluster.name(i).to_string(),
        Err(e) => format!("none ({e:#})"),
    };
    let analysis = analyze(&writes);
    anyhow::ensure!(
        analysis.pre_kill_ops > 0.0,
        "no put succeeded in the second before the kill ({errors} failed or timed out): no baseline to compare with"
    );
    Ok(FailoverRun { analysis, first_probe, new_leader_after, killed, new_leader, errors })
}

/// Sends a Put to the next of `survivors` every [`PROBE_EVERY`] (each waiting
/// until `until`) until one succeeds; returns when the first one did.
async fn probe_writes(survivors: Vec<Channel>, spec: FailoverSpec, until: Instant) -> Option<Instant> {
    let mut probes = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(PROBE_EVERY);
    let prefix = format!("{}probe/", spec.prefix);
    let mut sent = 0u64;
    loop {
        tokio::select! {
            _ = tick.tick(), if Instant::now() < until && !survivors.is_empty() => {
                let ch = survivors[usize::try_from(sent).unwrap_or(0) % survivors.len()].clone();
                let value = vec![b'p'; spec.value_size];
                let req = PutRequest { key: key(&prefix, sent), value, ..Default::default() };
                sent += 1;
                probes.spawn(async move {
                    let put = tokio::time::timeout_at(until.into(), KvClient::new(ch).put(req)).await;
                    matches!(put, Ok(Ok(_))).then(Instant::now)
                });
            }
            Some(done) = probes.join_next() => {
                if let Ok(Some(at)) = done {
                    return Some(at); // dropping `probes` aborts the rest
                }
            }
            else => break,
        }
    }
    None
}

/// Polls the survivors' Maintenance.Status until one names a leader other
/// than `old` (or `until`); returns when it did.
async fn new_leader_seen(survivors: Vec<Channel>, old: u64, until: Instant) -> Option<Instant> {
    while Instant::now() < until {
        for ch in &survivors {
            let mut client = MaintenanceClient::new(ch.clone());
            if let Ok(Ok(r)) = tokio::time::timeout(LEADER_POLL * 10, client.status(StatusRequest {})).await {
                let leader = r.into_inner().leader;
                if leader != 0 && leader != old {
                    return Some(Instant::now());
                }
            }
        }
        tokio::time::sleep(LEADER_POLL).await;
    }
    None
}

/// The median of the values (`None` counts as larger than any value, e.g. "not
/// within the window"); `None` if the median is such a value or there are none.
pub fn median(values: &[Option<f64>]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().map(|x| x.unwrap_or(f64::INFINITY)).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    let m = if v.len() % 2 == 1 { v[mid] } else { (v[mid - 1] + v[mid]) / 2.0 };
    m.is_finite().then_some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1000;

    /// Steady writes every `step` ms from `from` to `to` (ms from the kill).
    fn steady(from: i64, to: i64, step: i64) -> Vec<(i64, i64)> {
        (0..).map(|i| from * MS + i * step * MS).take_while(|t| *t < to * MS).map(|t| (t - MS, t)).collect()
    }

    #[test]
    fn analysis_of_a_one_and_a_half_second_outage() {
        // 1000 ops/s until the kill, nothing until 1.5 s, then 1000 ops/s again.
        let mut w = steady(-2000, 0, 1);
        w.extend(steady(1500, 5000, 1).into_iter().map(|(_, d)| (d - 2, d)));
        let a = analyze(&w);
        assert_eq!(a.buckets.len(), 60);
        assert!((a.pre_kill_ops - 1000.0).abs() < 1e-9);
        assert_eq!(a.min_bucket_ops, 0.0);
        assert_eq!(a.first_write, Some(Duration::from_millis(1500)));
        assert_eq!(a.recovery, Some(Duration::from_millis(1500)));
        assert_eq!(a.below_half, Duration::from_millis(1500));
    }

    #[test]
    fn writes_sent_before_the_kill_do_not_count_as_first_write() {
        let mut w = steady(-1000, 0, 1);
        w.push((-10 * MS, 30 * MS)); // committed late, but sent before the kill
        w.push((200 * MS, 700 * MS));
        let a = analyze(&w);
        assert_eq!(a.first_write, Some(Duration::from_millis(700)));
        assert_eq!(a.recovery, None); // never back to 50 % within 5 s
    }

    #[test]
    fn no_dip_means_zero_recovery() {
        let a = analyze(&steady(-1000, 5000, 1));
        assert_eq!(a.recovery, Some(Duration::ZERO));
        assert!((a.min_bucket_ops - 1000.0).abs() < 1e-9);
        assert_eq!(a.first_write, Some(Duration::from_millis(1)));
    }

    #[test]
    fn recovery_needs_half_the_baseline() {
        // Baseline 1000 ops/s; after the kill 400 ops/s until 2 s, then 600 ops/s.
        let mut w = steady(-1000, 0, 1);
        w.extend(steady(0, 2000, 1).into_iter().step_by(5).flat_map(|x| [x, x]));
        w.extend(steady(2000, 5000, 5).into_iter().flat_map(|x| [x, x, x]));
        let a = analyze(&w);
        assert_eq!(a.recovery, Some(Duration::from_secs(2)));
        assert!((a.min_bucket_ops - 400.0).abs() < 1e-9);
    }

    #[test]
    fn offsets_are_signed() {
        let kill = Instant::now();
        assert_eq!(offset_us(kill + Duration::from_millis(3), kill), 3000);
        if let Some(before) = kill.checked_sub(Duration::from_millis(2)) {
            assert_eq!(offset_us(before, kill), -2000);
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[Some(3.0), Some(1.0), Some(2.0)]), Some(2.0));
        assert_eq!(median(&[Some(1.0), None, Some(2.0)]), Some(2.0));
        assert_eq!(median(&[Some(1.0), None, None]), None);
        assert_eq!(median(&[Some(1.0), Some(4.0)]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
