//! KV workloads: many concurrent client tasks sharing a few gRPC connections,
//! each issuing one request at a time and timing it, for a fixed duration
//! (after a short unmeasured warm-up) or a fixed number of operations.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use etcd_compat::proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_compat::proto::etcdserverpb::kv_client::KvClient;
use etcd_compat::proto::etcdserverpb::request_op::Request as ReqOp;
use etcd_compat::proto::etcdserverpb::response_op::Response as RespOp;
use etcd_compat::proto::etcdserverpb::{Compare, PutRequest, RangeRequest, RequestOp, TxnRequest};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tonic::transport::{Channel, Endpoint};

use super::stats::{self, Latency, Sample};

/// Concurrent clients and the connections they share (round-robin).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub clients: usize,
    pub conns: usize,
}

impl Shape {
    pub const fn new(clients: usize, conns: usize) -> Self {
        Shape { clients, conns }
    }

    pub fn label(self) -> String {
        format!("{}c/{}conn", self.clients, self.conns)
    }
}

/// What each client does per operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Put a value under a random key of the key space.
    Put,
    /// Linearizable single-key Range on a random key of the key space.
    RangeLinearizable,
    /// Serializable single-key Range on a random key of the key space.
    RangeSerializable,
    /// kube-apiserver's optimistic update: `Txn(MOD(key) == rev) put else range`
    /// on the client's own key, tracking its mod revision.
    TxnUpdate,
    /// Put key number `i` for the i-th operation (use with [`Limit::Ops`]).
    Load,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Put => "put",
            Kind::RangeLinearizable => "range linearizable",
            Kind::RangeSerializable => "range serializable",
            Kind::TxnUpdate => "txn-update",
            Kind::Load => "load",
        }
    }
}

/// When a run stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// Run for `warmup` unmeasured, then measure for `measure`.
    Time { warmup: Duration, measure: Duration },
    /// Run exactly this many operations in total, all measured.
    Ops(u64),
}

#[derive(Clone, Debug)]
pub struct Spec {
    pub kind: Kind,
    pub shape: Shape,
    pub limit: Limit,
    /// Keys are `{prefix}{n:08}` for `n` in `0..key_space`.
    pub prefix: String,
    pub key_space: u64,
    pub value_size: usize,
}

pub fn key(prefix: &str, n: u64) -> Vec<u8> {
    format!("{prefix}{n:08}").into_bytes()
}

/// Opens `n` separate HTTP/2 connections to `url`.
pub async fn connect(url: &str, n: usize) -> anyhow::Result<Vec<Channel>> {
    let ep = Endpoint::from_shared(url.to_string())?
        .tcp_nodelay(true)
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(60));
    let mut out = Vec::with_capacity(n);
    for _ in 0..n.max(1) {
        out.push(ep.connect().await.with_context(|| format!("connecting to {url}"))?);
    }
    Ok(out)
}

/// Opens `n` connections spread round-robin over `urls` (connection `i` goes
/// to `urls[i % urls.len()]`), as etcd's benchmark does with several endpoints.
pub async fn connect_spread(urls: &[String], n: usize) -> anyhow::Result<Vec<Channel>> {
    anyhow::ensure!(!urls.is_empty(), "no endpoints to connect to");
    let mut out = Vec::with_capacity(n);
    for i in 0..n.max(1) {
        out.extend(connect(&urls[i % urls.len()], 1).await?);
    }
    Ok(out)
}

/// Per-client state.
struct Client {
    kv: KvClient<Channel>,
    rng: StdRng,
    value: Vec<u8>,
    /// This client's key for [`Kind::TxnUpdate`] and its last known mod revision.
    own_key: Vec<u8>,
    own_rev: i64,
}

impl Client {
    async fn op(&mut self, spec: &Spec, index: u64) -> Result<(), tonic::Status> {
        match spec.kind {
            Kind::Put | Kind::Load => {
                let n = if spec.kind == Kind::Load { index } else { self.rng.gen_range(0..spec.key_space.max(1)) };
                let req = PutRequest { key: key(&spec.prefix, n), value: self.value.clone(), ..Default::default() };
                self.kv.put(req).await?;
            }
            Kind::RangeLinearizable | Kind::RangeSerializable => {
                let n = self.rng.gen_range(0..spec.key_space.max(1));
                let req = RangeRequest {
                    key: key(&spec.prefix, n),
                    serializable: spec.kind == Kind::RangeSerializable,
                    ..Default::default()
                };
                self.kv.range(req).await?;
            }
            Kind::TxnUpdate => self.txn_update().await?,
        }
        Ok(())
    }

    async fn txn_update(&mut self) -> Result<(), tonic::Status> {
        let req = TxnRequest {
            compare: vec![Compare {
                result: CompareResult::Equal as i32,
                target: CompareTarget::Mod as i32,
                key: self.own_key.clone(),
                range_end: Vec::new(),
                target_union: Some(TargetUnion::ModRevision(self.own_rev)),
            }],
            success: vec![RequestOp {
                request: Some(ReqOp::RequestPut(PutRequest {
                    key: self.own_key.clone(),
                    value: self.value.clone(),
                    ..Default::default()
                })),
            }],
            failure: vec![RequestOp {
                request: Some(ReqOp::RequestRange(RangeRequest { key: self.own_key.clone(), ..Default::default() })),
            }],
        };
        let resp = self.kv.txn(req).await?.into_inner();
        if resp.succeeded {
            self.own_rev = resp.header.map_or(0, |h| h.revision);
        } else {
            // Someone else moved the key (or our revision was stale): take the
            // current one from the failure branch's range, as kube-apiserver does.
            let current = resp.responses.into_iter().find_map(|r| match r.response {
                Some(RespOp::ResponseRange(rr)) => Some(rr.kvs.first().map_or(0, |kv| kv.mod_revision)),
                _ => None,
            });
            self.own_rev = current.unwrap_or(0);
        }
        Ok(())
    }
}

struct Outcome {
    ops: u64,
    errors: u64,
    latency: Latency,
    first_error: Option<String>,
    last_done: Instant,
}

/// Shared stop/measure state for one run.
struct Control {
    next_op: AtomicU64,
    measure_from: Instant,
    stop_at: Option<Instant>,
}

async fn client_loop(mut client: Client, spec: Arc<Spec>, ctl: Arc<Control>) -> anyhow::Result<Outcome> {
    let mut out =
        Outcome { ops: 0, errors: 0, latency: Latency::new()?, first_error: None, last_done: ctl.measure_from };
    loop {
        let index = match spec.limit {
            Limit::Ops(n) => {
                let i = ctl.next_op.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                i
            }
            Limit::Time { .. } => 0,
        };
        let start = Instant::now();
        if ctl.stop_at.is_some_and(|stop| start >= stop) {
            break;
        }
        let result = client.op(&spec, index).await;
        let done = Instant::now();
        if start < ctl.measure_from {
            continue; // warm-up
        }
        out.last_done = out.last_done.max(done);
        match result {
            Ok(()) => {
                out.ops += 1;
                out.latency.record(done - start);
            }
            Err(status) => {
                out.errors += 1;
                if out.first_error.is_none() {
                    out.first_error = Some(format!("{:?}: {}", status.code(), status.message()));
                }
            }
        }
    }
    Ok(out)
}

/// Runs `spec` against `urls` (the members of a cluster whose processes are
/// `server_pids`; connections spread over them) and returns what was measured.
pub async fn run(urls: &[String], server_pids: &[u32], spec: &Spec) -> anyhow::Result<Sample> {
    let channels = connect_spread(urls, spec.shape.conns).await?;
    let spec = Arc::new(spec.clone());
    let start = Instant::now();
    let (measure_from, stop_at) = match spec.limit {
        Limit::Time { warmup, measure } => (start + warmup, Some(start + warmup + measure)),
        Limit::Ops(_) => (start, None),
    };
    let ctl = Arc::new(Control { next_op: AtomicU64::new(0), measure_from, stop_at });
    let cpu_from = tokio::spawn(stats::snapshot_at(server_pids.to_vec(), measure_from));
    let cpu_to = stop_at.map(|stop| tokio::spawn(stats::snapshot_at(server_pids.to_vec(), stop)));
    let mut tasks = Vec::with_capacity(spec.shape.clients);
    for id in 0..spec.shape.clients {
        let client = Client {
            kv: KvClient::new(channels[id % channels.len()].clone()).max_decoding_message_size(64 << 20),
            rng: StdRng::seed_from_u64(0x5eed ^ id as u64),
            value: vec![b'v'; spec.value_size],
            own_key: format!("{}txn/{id:06}", spec.prefix).into_bytes(),
            own_rev: 0,
        };
        tasks.push(tokio::spawn(client_loop(client, spec.clone(), ctl.clone())));
    }
    let mut latency = Latency::new()?;
    let (mut ops, mut errors, mut first_error, mut last_done) = (0, 0, None, measure_from);
    for t in tasks {
        let o = t.await.context("bench client task panicked")??;
        ops += o.ops;
        errors += o.errors;
        latency.merge(&o.latency)?;
        first_error = first_error.or(o.first_error);
        last_done = last_done.max(o.last_done);
    }
    let elapsed = match spec.limit {
        Limit::Time { measure, .. } => measure,
        Limit::Ops(_) => last_done - measure_from,
    };
    let cpu_to = match cpu_to {
        Some(t) => t.await?,
        None => (stats::cpu_snapshot(server_pids), Instant::now()),
    };
    let cpu = stats::cpu_between(cpu_from.await?, cpu_to);
    Ok(Sample { ops, errors, elapsed, latency, first_error, cpu })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_in_numeric_order() {
        assert_eq!(key("bench/kv/", 42), b"bench/kv/00000042".to_vec());
        assert!(key("p/", 9) < key("p/", 10));
    }

    #[test]
    fn shape_label() {
        assert_eq!(Shape::new(100, 10).label(), "100c/10conn");
    }
}
