//! Mixed mutating load at a fixed rate (open loop): request `i` is due at
//! `t0 + i / rate` whatever happened to the earlier ones, cycling create,
//! update, delete. Latency runs from the due time (so queueing behind a slow
//! server counts, no coordinated omission) to the response.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use http::Method;
use serde_json::Value;

use super::super::stats::{self, Latency, Sample};
use super::client::{self, Pool, Sender};
use super::load::pods_uri;
use super::pod;

/// What the mixed run measured.
pub struct Mixed {
    /// All requests together.
    pub all: Sample,
    /// Per kind: create, update, delete.
    pub by_kind: [Latency; 3],
    /// Requests issued per second (the schedule kept, or not).
    pub issued_per_sec: f64,
    /// The worst lag of the scheduler behind the schedule.
    pub max_lag: Duration,
}

#[derive(Clone, Copy)]
enum Kind {
    Create,
    Update,
    Delete,
}

/// Pods the updates and deletes pick from (front = least recently used).
type Objects = Arc<Mutex<VecDeque<Value>>>;

fn take(objects: &Objects) -> Option<Value> {
    objects.lock().ok()?.pop_front()
}

fn give(objects: &Objects, v: Value) {
    if let Ok(mut q) = objects.lock() {
        q.push_back(v);
    }
}

fn name_of(v: &Value) -> anyhow::Result<String> {
    v.pointer("/metadata/name").and_then(Value::as_str).map(str::to_string).context("object without a name")
}

struct Ctx {
    uri: String,
    ns: String,
    objects: Objects,
}

async fn one(ctx: &Ctx, mut tx: Sender, kind: Kind, i: u64) -> anyhow::Result<()> {
    match kind {
        Kind::Create => {
            let name = format!("mx-{i:08}");
            let r = client::call(&mut tx, Method::POST, &ctx.uri, Some(pod::body(&ctx.ns, &name))).await?;
            r.expect(&[201], "create")?;
            give(&ctx.objects, r.json()?);
        }
        Kind::Update => {
            let mut obj = take(&ctx.objects).context("no pod left to update")?;
            let uri = format!("{}/{}", ctx.uri, name_of(&obj)?);
            pod::set_label(&mut obj, "bench-rev", &i.to_string());
            let r = client::call(&mut tx, Method::PUT, &uri, Some(obj.to_string().into())).await?;
            if r.status.as_u16() == 409 {
                // Someone else changed it: refresh and hand it back, then report the conflict.
                if let Ok(fresh) = client::call(&mut tx, Method::GET, &uri, None).await {
                    if let Ok(v) = fresh.json() {
                        give(&ctx.objects, v);
                    }
                }
            }
            r.expect(&[200], "update")?;
            give(&ctx.objects, r.json()?);
        }
        Kind::Delete => {
            let obj = take(&ctx.objects).context("no pod left to delete")?;
            let uri = format!("{}/{}", ctx.uri, name_of(&obj)?);
            let r = client::call(&mut tx, Method::DELETE, &uri, None).await?;
            r.expect(&[200, 202], "delete")?;
        }
    }
    Ok(())
}

/// Runs the schedule for `duration` at `rate` requests/s against `ns`,
/// whose existing pods (`seed`, as returned by the server) are updated and deleted.
pub async fn run(
    pool: &Pool,
    ns: &str,
    seed: Vec<Value>,
    rate: f64,
    duration: Duration,
    server_pids: &[u32],
) -> anyhow::Result<Mixed> {
    anyhow::ensure!(rate > 0.0, "--mixed-rate must be positive");
    let ctx = Arc::new(Ctx { uri: pods_uri(pool, ns), ns: ns.to_string(), objects: Arc::new(Mutex::new(seed.into())) });
    let (tx_res, mut rx_res) = tokio::sync::mpsc::unbounded_channel::<(usize, anyhow::Result<Duration>)>();
    let total = (rate * duration.as_secs_f64()).round() as u64;
    let cpu_a = (stats::cpu_snapshot(server_pids), Instant::now());
    let t0 = Instant::now();
    let mut max_lag = Duration::ZERO;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = t0 + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        while tasks.try_join_next().is_some() {}
        max_lag = max_lag.max(Instant::now().saturating_duration_since(due));
        let kind = [Kind::Create, Kind::Update, Kind::Delete][(i % 3) as usize];
        let (ctx, tx, res) = (ctx.clone(), pool.sender(i as usize), tx_res.clone());
        tasks.spawn(async move {
            let r = one(&ctx, tx, kind, i).await.map(|()| due.elapsed());
            let _ = res.send((kind as usize, r));
        });
    }
    let issued = t0.elapsed();
    drop(tx_res);
    while tasks.join_next().await.is_some() {}
    let elapsed = t0.elapsed();
    let cpu_b = (stats::cpu_snapshot(server_pids), Instant::now());
    let mut all = Latency::new()?;
    let mut by_kind = [Latency::new()?, Latency::new()?, Latency::new()?];
    let (mut ops, mut errors, mut first_error) = (0, 0, None);
    while let Some((k, r)) = rx_res.recv().await {
        match r {
            Ok(d) => {
                all.record(d);
                by_kind[k].record(d);
                ops += 1;
            }
            Err(e) => {
                errors += 1;
                first_error.get_or_insert_with(|| format!("{e:#}"));
            }
        }
    }
    let issued_per_sec = if issued.is_zero() { 0.0 } else { total as f64 / issued.as_secs_f64() };
    let cpu = stats::cpu_between(cpu_a, cpu_b);
    let all = Sample { ops, errors, elapsed, latency: all, first_error, cpu };
    Ok(Mixed { all, by_kind, issued_per_sec, max_lag })
}
