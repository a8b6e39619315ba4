//! WATCH fan-out: many watch streams on the pods of one namespace, then M pods
//! created at a fixed rate; every watcher notes when each pod's ADDED event
//! arrives. Delivery latency is measured from the create's response (ack) and
//! from just before its request was sent, per watcher and event.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use http::Method;
use http_body_util::BodyExt;
use tokio::sync::{mpsc, watch};

use super::super::stats::{self, CpuUse, Latency};
use super::client::{self, Pool, Sender};
use super::load::pods_uri;
use super::pod;

#[derive(Clone, Debug)]
pub struct WatchSpec {
    pub ns: String,
    pub watchers: usize,
    pub events: usize,
    /// Creates per second.
    pub rate: f64,
    /// How long to wait for stragglers after the last create was acknowledged.
    pub drain: Duration,
}

pub struct WatchOutcome {
    pub ack_to_event: Latency,
    pub send_to_event: Latency,
    /// watchers × events.
    pub expected: u64,
    pub delivered: u64,
    /// Watchers that got every event.
    pub complete: usize,
    /// Watch streams whose response head arrived before the creates began.
    pub established: usize,
    pub setup: Duration,
    /// Events delivered per second, first create sent → last event.
    pub events_per_sec: f64,
    pub cpu: Option<CpuUse>,
    pub first_error: Option<String>,
}

const NAME_PREFIX: &str = "w-";

/// Per created pod: when its create was sent and when it was acknowledged.
type Times = Arc<Mutex<Vec<(Option<Instant>, Option<Instant>)>>>;

fn index_of(name: &str) -> Option<usize> {
    name.strip_prefix(NAME_PREFIX)?.parse().ok()
}

/// Marks in `arrivals` every ADDED event for a `w-N` pod in the complete lines of `buf`
/// (and drops them from `buf`); returns how many new events were seen.
fn scan(buf: &mut Vec<u8>, arrivals: &mut [Option<Instant>], at: Instant) -> usize {
    let mut seen = 0;
    let mut consumed = 0;
    while let Some(nl) = buf[consumed..].iter().position(|b| *b == b'\n') {
        let line = &buf[consumed..consumed + nl];
        let added = line.windows(14).any(|w| w == b"\"type\":\"ADDED\"");
        if let Some(i) = pod::marker_in(line).filter(|_| added).and_then(index_of) {
            if let Some(slot @ None) = arrivals.get_mut(i) {
                *slot = Some(at);
                seen += 1;
            }
        }
        consumed += nl + 1;
    }
    buf.drain(..consumed);
    seen
}

async fn watcher(
    mut tx: Sender,
    uri: String,
    events: usize,
    ready: mpsc::UnboundedSender<anyhow::Result<()>>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<Vec<Option<Instant>>> {
    let mut arrivals = vec![None; events];
    let opened = async {
        let resp = client::open(&mut tx, Method::GET, &uri, None).await?;
        anyhow::ensure!(resp.status().as_u16() == 200, "watch answered HTTP {}", resp.status().as_u16());
        Ok(resp)
    };
    let resp = tokio::select! {
        r = opened => r,
        _ = stop.changed() => return Ok(arrivals),
    };
    let mut body = match resp {
        Ok(r) => {
            let _ = ready.send(Ok(()));
            r.into_body()
        }
        Err(e) => {
            let msg = format!("{e:#}");
            let _ = ready.send(Err(e));
            anyhow::bail!(msg);
        }
    };
    let (mut buf, mut got) = (Vec::new(), 0);
    while got < events {
        let frame = tokio::select! {
            f = body.frame() => f,
            _ = stop.changed() => break,
        };
        let at = Instant::now();
        let Some(frame) = frame else { anyhow::bail!("the watch stream ended after {got} of {events} events") };
        if let Ok(data) = frame.context("reading the watch stream")?.into_data() {
            buf.extend_from_slice(&data);
            got += scan(&mut buf, &mut arrivals, at);
        }
    }
    Ok(arrivals)
}

/// Opens the watchers, creates the pods and collects every delivery.
pub async fn run(
    pool: &Pool,
    watch_pool: &Pool,
    spec: &WatchSpec,
    server_pids: &[u32],
) -> anyhow::Result<WatchOutcome> {
    let list =
        client::call(&mut pool.sender(0), Method::GET, &format!("{}?limit=1", pods_uri(pool, &spec.ns)), None).await?;
    list.expect(&[200], "list before watch")?;
    let rv = list.json()?.pointer("/metadata/resourceVersion").and_then(|v| v.as_str()).unwrap_or("0").to_string();
    let uri = format!("{}?watch=true&resourceVersion={rv}", pods_uri(watch_pool, &spec.ns));
    let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let t_setup = Instant::now();
    let mut watchers = Vec::with_capacity(spec.watchers);
    for w in 0..spec.watchers {
        let w = watcher(watch_pool.sender(w), uri.clone(), spec.events, ready_tx.clone(), stop_rx.clone());
        watchers.push(tokio::spawn(w));
    }
    drop(ready_tx);
    // Wait (up to 30 s) for every stream's response head; a server that holds
    // the head back until the first event is still measured.
    let (mut established, mut first_error) = (0, None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while established < spec.watchers {
        match tokio::time::timeout_at(deadline, ready_rx.recv()).await {
            Ok(Some(Ok(()))) => established += 1,
            Ok(Some(Err(e))) => {
                first_error.get_or_insert_with(|| format!("{e:#}"));
            }
            Ok(None) | Err(_) => break,
        }
    }
    let setup = t_setup.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let times: Times = Arc::new(Mutex::new(vec![(None, None); spec.events]));
    let cpu_a = (stats::cpu_snapshot(server_pids), Instant::now());
    let t0 = Instant::now();
    let mut creates = tokio::task::JoinSet::new();
    let create_uri = pods_uri(pool, &spec.ns);
    for k in 0..spec.events {
        tokio::time::sleep_until((t0 + Duration::from_secs_f64(k as f64 / spec.rate.max(0.001))).into()).await;
        let (mut tx, uri, ns, times) = (pool.sender(k), create_uri.clone(), spec.ns.clone(), times.clone());
        creates.spawn(async move {
            let body = pod::body(&ns, &format!("{NAME_PREFIX}{k:05}"));
            let sent = Instant::now();
            let r = client::call(&mut tx, Method::POST, &uri, Some(body)).await;
            let acked = Instant::now();
            if let Ok(mut t) = times.lock() {
                t[k] = (Some(sent), Some(acked));
            }
            r?.expect(&[201], "create")
        });
    }
    while let Some(r) = creates.join_next().await {
        if let Err(e) = r.context("create task panicked").and_then(|r| r) {
            first_error.get_or_insert_with(|| format!("{e:#}"));
        }
    }
    // Let stragglers arrive, then stop whoever is still waiting.
    let all = futures::future::join_all(watchers);
    tokio::pin!(all);
    let results = tokio::select! {
        r = &mut all => r,
        _ = tokio::time::sleep(spec.drain) => {
            let _ = stop_tx.send(true);
            all.await
        }
    };
    let cpu_b = (stats::cpu_snapshot(server_pids), Instant::now());
    let times = times.lock().map(|t| t.clone()).unwrap_or_default();
    let mut out = WatchOutcome {
        ack_to_event: Latency::new()?,
        send_to_event: Latency::new()?,
        expected: (spec.watchers * spec.events) as u64,
        delivered: 0,
        complete: 0,
        established,
        setup,
        events_per_sec: 0.0,
        cpu: stats::cpu_between(cpu_a, cpu_b),
        first_error,
    };
    let mut last = t0;
    for r in results {
        let arrivals = match r.context("watcher task panicked").and_then(|r| r) {
            Ok(a) => a,
            Err(e) => {
                out.first_error.get_or_insert_with(|| format!("{e:#}"));
                continue;
            }
        };
        let mut n = 0;
        for (k, at) in arrivals.iter().enumerate() {
            let (Some(at), (Some(sent), Some(acked))) = (at, times[k]) else { continue };
            out.ack_to_event.record(at.saturating_duration_since(acked));
            out.send_to_event.record(at.saturating_duration_since(sent));
            last = last.max(*at);
            n += 1;
        }
        out.delivered += n;
        if n as usize == spec.events {
            out.complete += 1;
        }
    }
    let span = last.saturating_duration_since(t0).as_secs_f64();
    out.events_per_sec = if span > 0.0 { out.delivered as f64 / span } else { 0.0 };
    Ok(out)
}
