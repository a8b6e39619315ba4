//! Closed-loop workloads: concurrent clients (Tokio tasks) spread over the
//! pool's connections, each sending one request at a time and timing it, for
//! a fixed time after a warm-up or a fixed number of requests. The requests:
//! create, get, update (read-modify-write with the resourceVersion) and list.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use http::Method;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

use super::super::stats::{self, Latency, Sample};
use super::client::{self, Pool, Sender};
use super::pod;

/// One client's request.
pub trait Op: Send + 'static {
    /// Performs request number `index` (global across clients).
    fn run(&mut self, index: u64) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// When a run stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Run for `warmup` unmeasured, then measure for `measure`.
    Time { warmup: Duration, measure: Duration },
    /// Exactly this many requests in total, all measured.
    Count(u64),
}

struct ClientResult<O> {
    op: O,
    latency: Latency,
    ops: u64,
    errors: u64,
    first_error: Option<String>,
    last_done: Instant,
}

/// Runs every op concurrently until `limit`; returns the sample and the ops
/// (with whatever state they gathered). `server_pids` are measured for CPU.
pub async fn run<O: Op>(ops: Vec<O>, limit: Limit, server_pids: &[u32]) -> anyhow::Result<(Sample, Vec<O>)> {
    let next = Arc::new(AtomicU64::new(0));
    let t0 = Instant::now();
    let (start, end) = match limit {
        Limit::Time { warmup, measure } => (t0 + warmup, Some(t0 + warmup + measure)),
        Limit::Count(_) => (t0, None),
    };
    let snap_start = tokio::spawn(stats::snapshot_at(server_pids.to_vec(), start));
    let snap_end = end.map(|e| tokio::spawn(stats::snapshot_at(server_pids.to_vec(), e)));
    let mut tasks = Vec::with_capacity(ops.len());
    for op in ops {
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut r =
                ClientResult { op, latency: Latency::new()?, ops: 0, errors: 0, first_error: None, last_done: t0 };
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if matches!(limit, Limit::Count(total) if i >= total) {
                    break;
                }
                let t = Instant::now();
                if end.is_some_and(|e| t >= e) {
                    break;
                }
                let res = r.op.run(i).await;
                let done = Instant::now();
                if t < start || end.is_some_and(|e| done > e) {
                    continue;
                }
                r.last_done = r.last_done.max(done);
                match res {
                    Ok(()) => {
                        r.latency.record(done - t);
                        r.ops += 1;
                    }
                    Err(e) => {
                        r.errors += 1;
                        r.first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
            }
            Ok::<_, anyhow::Error>(r)
        }));
    }
    let mut latency = Latency::new()?;
    let (mut n, mut errors, mut first_error, mut last) = (0, 0, None, t0);
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        let r = t.await.context("client task panicked")??;
        latency.merge(&r.latency)?;
        n += r.ops;
        errors += r.errors;
        if first_error.is_none() {
            first_error = r.first_error;
        }
        last = last.max(r.last_done);
        out.push(r.op);
    }
    let a = snap_start.await?;
    let (elapsed, b) = match (limit, snap_end) {
        (Limit::Time { measure, .. }, Some(s)) => (measure, s.await?),
        _ => (last.saturating_duration_since(t0), (stats::cpu_snapshot(server_pids), Instant::now())),
    };
    let cpu = stats::cpu_between(a, b);
    Ok((Sample { ops: n, errors, elapsed, latency, first_error, cpu }, out))
}

/// The collection URI of pods in `ns`.
pub fn pods_uri(pool: &Pool, ns: &str) -> String {
    pool.uri(&format!("/api/v1/namespaces/{ns}/pods"))
}

/// POST a new pod per request.
pub struct Create {
    pub tx: Sender,
    pub uri: Arc<str>,
    pub ns: Arc<str>,
    /// Names are `{prefix}{index:07}` (global index), unique across clients.
    pub prefix: Arc<str>,
    /// Keep the created pods' names (for get/update), or not (bulk loads).
    pub keep: bool,
    pub created: Vec<String>,
}

impl Op for Create {
    async fn run(&mut self, index: u64) -> anyhow::Result<()> {
        let name = format!("{}{index:07}", self.prefix);
        let r = client::call(&mut self.tx, Method::POST, &self.uri, Some(pod::body(&self.ns, &name))).await?;
        r.expect(&[201], "create")?;
        if self.keep {
            self.created.push(name);
        }
        Ok(())
    }
}

/// GET a random pod of `names`.
pub struct Get {
    pub tx: Sender,
    pub uri: Arc<str>,
    pub names: Arc<Vec<String>>,
    pub rng: StdRng,
}

impl Op for Get {
    async fn run(&mut self, _index: u64) -> anyhow::Result<()> {
        if self.names.is_empty() {
            bail!("no pods to get");
        }
        let name = &self.names[self.rng.gen_range(0..self.names.len())];
        let r = client::call(&mut self.tx, Method::GET, &format!("{}/{name}", self.uri), None).await?;
        r.expect(&[200], "get")
    }
}

/// Read-modify-write of the client's own pod: GET once, then PUT the object
/// with a changed label and the resourceVersion from the previous response.
pub struct Update {
    pub tx: Sender,
    pub uri: String,
    pub current: Option<Value>,
    pub n: u64,
    pub conflicts: u64,
}

impl Update {
    pub fn new(tx: Sender, pods_uri: &str, name: &str) -> Self {
        Update { tx, uri: format!("{pods_uri}/{name}"), current: None, n: 0, conflicts: 0 }
    }
}

impl Op for Update {
    async fn run(&mut self, _index: u64) -> anyhow::Result<()> {
        let mut obj = match self.current.take() {
            Some(o) => o,
            None => {
                let r = client::call(&mut self.tx, Method::GET, &self.uri, None).await?;
                r.expect(&[200], "get before update")?;
                r.json()?
            }
        };
        self.n += 1;
        pod::set_label(&mut obj, "bench-rev", &self.n.to_string());
        let r = client::call(&mut self.tx, Method::PUT, &self.uri, Some(obj.to_string().into())).await?;
        if r.status.as_u16() == 409 {
            self.conflicts += 1;
        }
        r.expect(&[200], "update")?;
        self.current = Some(r.json()?);
        Ok(())
    }
}

/// GET a whole collection (check its item count first with [`check_list`]).
pub struct List {
    pub tx: Sender,
    pub uri: Arc<str>,
    /// Bytes of the last response.
    pub bytes: usize,
}

impl Op for List {
    async fn run(&mut self, _index: u64) -> anyhow::Result<()> {
        let r = client::call(&mut self.tx, Method::GET, &self.uri, None).await?;
        r.expect(&[200], "list")?;
        self.bytes = r.body.len();
        Ok(())
    }
}

/// One untimed LIST of `path_and_query`, checked to hold `expect` items.
pub async fn check_list(pool: &Pool, path_and_query: &str, expect: usize) -> anyhow::Result<()> {
    let r = client::call(&mut pool.sender(0), Method::GET, &pool.uri(path_and_query), None).await?;
    r.expect(&[200], "list")?;
    let items = r.json()?.get("items").and_then(Value::as_array).map_or(0, Vec::len);
    if items != expect {
        bail!("GET {path_and_query} returned {items} items, expected {expect}");
    }
    Ok(())
}

/// `clients` Create ops over the pool.
pub fn creates(pool: &Pool, clients: usize, ns: &str, prefix: &str, keep: bool) -> Vec<Create> {
    let (uri, ns, prefix): (Arc<str>, Arc<str>, Arc<str>) = (pods_uri(pool, ns).into(), ns.into(), prefix.into());
    (0..clients.max(1))
        .map(|c| Create {
            tx: pool.sender(c),
            uri: uri.clone(),
            ns: ns.clone(),
            prefix: prefix.clone(),
            keep,
            created: Vec::new(),
        })
        .collect()
}

/// `clients` Get ops over the pool, picking from `names`.
pub fn gets(pool: &Pool, clients: usize, ns: &str, names: Arc<Vec<String>>) -> Vec<Get> {
    let uri: Arc<str> = pods_uri(pool, ns).into();
    (0..clients.max(1))
        .map(|c| Get {
            tx: pool.sender(c),
            uri: uri.clone(),
            names: names.clone(),
            rng: StdRng::seed_from_u64(c as u64),
        })
        .collect()
}

/// `clients` List ops of `path_and_query`.
pub fn lists(pool: &Pool, clients: usize, path_and_query: &str) -> Vec<List> {
    let uri: Arc<str> = pool.uri(path_and_query).into();
    (0..clients.max(1)).map(|c| List { tx: pool.sender(c), uri: uri.clone(), bytes: 0 }).collect()
}
