//! Differential testing: one seeded random sequence of KV, lease, compaction
//! and watch operations runs against a reference server (Debian etcd 3.4) and
//! a subject (`capstan etcd`), both fresh; every answer is compared after
//! [`Outcome::normalize`]. The first difference stops the run with the op
//! index, the request and both answers.
//!
//! Watches: each watch op opens a stream with a start revision at or below
//! the current one, then makes "sentinel" writes to the watched range's start
//! key that the watch's filters let through; once the sentinel's event has
//! arrived, everything before it has too, so event lists compare exactly
//! without waiting on timers. If the subject does not implement Watch yet,
//! watch ops (and their sentinels) are skipped on both servers.

pub mod gen;
pub mod outcome;

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Debug;
use std::time::{Duration, Instant};

use etcd_compat::proto::etcdserverpb::kv_client::KvClient;
use etcd_compat::proto::etcdserverpb::lease_client::LeaseClient;
use etcd_compat::proto::etcdserverpb::watch_client::WatchClient;
use etcd_compat::proto::etcdserverpb::watch_request::RequestUnion;
use etcd_compat::proto::etcdserverpb::*;
use futures::channel::mpsc;
use tonic::transport::Channel;
use tonic::Streaming;

pub use gen::Gen;
pub use outcome::{Outcome, WatchOutcome};

const RPC_TIMEOUT: Duration = Duration::from_secs(30);
const WATCH_TIMEOUT: Duration = Duration::from_secs(10);
const HISTORY: usize = 8;

/// One generated operation.
#[derive(Debug, Clone)]
pub enum Op {
    Put(PutRequest),
    Delete(DeleteRangeRequest),
    Txn(TxnRequest),
    Range(RangeRequest),
    Compact(CompactionRequest),
    LeaseGrant(LeaseGrantRequest),
    LeaseRevoke(LeaseRevokeRequest),
    LeaseTtl(LeaseTimeToLiveRequest),
    Leases,
    Watch(Box<WatchOp>),
}

/// A watch from a past revision plus the writes that end its collection.
#[derive(Debug, Clone)]
pub struct WatchOp {
    pub create: WatchCreateRequest,
    /// Writes to the watched range's start key; the last one's event must arrive.
    pub sentinel: Vec<Op>,
}

impl Op {
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Put(_) => "put",
            Op::Delete(_) => "delete",
            Op::Txn(_) => "txn",
            Op::Range(_) => "range",
            Op::Compact(_) => "compact",
            Op::LeaseGrant(_) => "lease-grant",
            Op::LeaseRevoke(_) => "lease-revoke",
            Op::LeaseTtl(_) => "lease-ttl",
            Op::Leases => "lease-list",
            Op::Watch(_) => "watch",
        }
    }
}

/// gRPC clients for one server.
pub struct Conn {
    kv: KvClient<Channel>,
    lease: LeaseClient<Channel>,
    watch: WatchClient<Channel>,
}

/// An open watch stream after its `created` message.
pub struct WatchSession {
    _requests: mpsc::UnboundedSender<WatchRequest>,
    stream: Streaming<WatchResponse>,
    pub created: WatchResponse,
}

impl Conn {
    pub fn new(ch: Channel) -> Self {
        Self { kv: KvClient::new(ch.clone()), lease: LeaseClient::new(ch.clone()), watch: WatchClient::new(ch) }
    }

    /// Runs a unary op; returns its normalised outcome.
    pub async fn exec(&mut self, op: &Op) -> Outcome {
        let fut = async {
            let r = match op {
                Op::Put(r) => self.kv.put(r.clone()).await.map(|x| Outcome::Put(x.into_inner())),
                Op::Delete(r) => self.kv.delete_range(r.clone()).await.map(|x| Outcome::Delete(x.into_inner())),
                Op::Txn(r) => self.kv.txn(r.clone()).await.map(|x| Outcome::Txn(x.into_inner())),
                Op::Range(r) => self.kv.range(r.clone()).await.map(|x| Outcome::Range(x.into_inner())),
                Op::Compact(r) => self.kv.compact(*r).await.map(|x| Outcome::Compact(x.into_inner())),
                Op::LeaseGrant(r) => self.lease.lease_grant(*r).await.map(|x| Outcome::LeaseGrant(x.into_inner())),
                Op::LeaseRevoke(r) => self.lease.lease_revoke(*r).await.map(|x| Outcome::LeaseRevoke(x.into_inner())),
                Op::LeaseTtl(r) => self.lease.lease_time_to_live(*r).await.map(|x| Outcome::LeaseTtl(x.into_inner())),
                Op::Leases => {
                    self.lease.lease_leases(LeaseLeasesRequest {}).await.map(|x| Outcome::Leases(x.into_inner()))
                }
                Op::Watch(_) => Err(tonic::Status::internal("watch ops run through open_watch")),
            };
            r.unwrap_or_else(Outcome::status)
        };
        match tokio::time::timeout(RPC_TIMEOUT, fut).await {
            Ok(o) => o.normalize(),
            Err(_) => Outcome::Timeout,
        }
    }

    /// Opens a watch stream with one create request; waits for `created`.
    pub async fn open_watch(&mut self, create: &WatchCreateRequest) -> Result<WatchSession, Outcome> {
        let (tx, rx) = mpsc::unbounded();
        let req = WatchRequest { request_union: Some(RequestUnion::CreateRequest(create.clone())) };
        tx.unbounded_send(req).map_err(|e| Outcome::Err { code: tonic::Code::Internal, message: e.to_string() })?;
        let fut = async {
            let mut stream = self.watch.watch(rx).await.map_err(Outcome::status)?.into_inner();
            match stream.message().await {
                Ok(Some(created)) => Ok(WatchSession { _requests: tx, stream, created }),
                Ok(None) => Err(Outcome::Err { code: tonic::Code::Unknown, message: "stream ended".into() }),
                Err(s) => Err(Outcome::status(s)),
            }
        };
        match tokio::time::timeout(RPC_TIMEOUT, fut).await {
            Ok(r) => r,
            Err(_) => Err(Outcome::Timeout),
        }
    }
}

impl WatchSession {
    /// Collects events until one at or past `until_rev`, a cancel, or the
    /// deadline. Without `until_rev` it waits only for an expected cancel.
    pub async fn collect(mut self, until_rev: Option<i64>, expect_cancel: bool) -> WatchOutcome {
        let mut out = WatchOutcome::default();
        if until_rev.is_none() && !expect_cancel {
            return out;
        }
        let deadline = tokio::time::Instant::now() + WATCH_TIMEOUT;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.message()).await {
                Err(_) => {
                    out.timed_out = true;
                    return out;
                }
                Ok(Ok(Some(mut msg))) => {
                    out.events.append(&mut msg.events);
                    if msg.canceled {
                        out.canceled = Some(msg);
                        return out;
                    }
                    let last = out.events.last().and_then(|e| e.kv.as_ref()).map_or(0, |kv| kv.mod_revision);
                    if until_rev.is_some_and(|r| last >= r) {
                        return out;
                    }
                }
                Ok(Ok(None)) => {
                    out.canceled = Some(WatchResponse { cancel_reason: "stream ended".into(), ..Default::default() });
                    return out;
                }
                Ok(Err(s)) => {
                    out.canceled = Some(WatchResponse {
                        cancel_reason: format!("stream error {:?}: {}", s.code(), s.message()),
                        ..Default::default()
                    });
                    return out;
                }
            }
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Settings {
    pub seed: u64,
    pub ops: usize,
    pub reference: String,
    pub subject: String,
}

/// What ran.
#[derive(Debug, Default)]
pub struct Report {
    pub ops: usize,
    /// Requests compared, sentinel writes and watch creations included.
    pub compared: usize,
    /// Answers that were gRPC errors (on both sides).
    pub errors: usize,
    pub by_kind: BTreeMap<&'static str, usize>,
    /// Error answers by gRPC code and message.
    pub by_error: BTreeMap<String, usize>,
    /// Watch events compared, and watches both servers cancelled (compacted start).
    pub watch_events: usize,
    pub watch_cancels: usize,
    /// Set when the subject has no Watch service: why, and how many watch ops were skipped.
    pub watch_skipped: Option<(String, usize)>,
    pub final_revision: i64,
    pub elapsed: Duration,
}

fn clip(s: String, n: usize) -> String {
    if s.len() <= n {
        return s;
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &s[..end], s.len())
}

/// Rewrites Debug's byte lists (`[97, 47]`) as byte strings (`b"a/"`); watch
/// filter lists stay numeric.
pub fn bytes_readable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find(']');
        let bytes: Option<Vec<u8>> = close.and_then(|c| {
            let inner = &after[..c];
            if inner.is_empty() || out.ends_with("filters: ") {
                return None;
            }
            inner.split(", ").map(|n| n.parse::<u8>().ok()).collect()
        });
        match (bytes, close) {
            (Some(b), Some(c)) => {
                out.push_str(&format!("b\"{}\"", b.escape_ascii()));
                rest = &after[c + 1..];
            }
            _ => {
                out.push('[');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

struct Runner<'a> {
    settings: &'a Settings,
    a: Conn,
    b: Conn,
    gen: Gen,
    history: VecDeque<String>,
    report: Report,
}

impl Runner<'_> {
    fn compare(&mut self, i: usize, what: &str, req: &dyn Debug, x: &Outcome, y: &Outcome) -> Result<(), String> {
        self.report.compared += 1;
        for (who, o) in [(&self.settings.reference, x), (&self.settings.subject, y)] {
            if o.is_transport_error() {
                return Err(format!(
                    "{who} is unreachable after op #{i} ({what}, seed {seed}): {o:?}\nrequest: {req}\n\
                     (it probably crashed: re-run with E2E_VERBOSE=1 DIFF_SEED={seed} for its log)",
                    seed = self.settings.seed,
                    req = bytes_readable(&format!("{req:?}")),
                ));
            }
        }
        if x.equivalent(y) {
            if let Outcome::Err { code, message } = x {
                self.report.errors += 1;
                *self.report.by_error.entry(format!("{code:?}: {message}")).or_default() += 1;
            }
            if self.history.len() == HISTORY {
                self.history.pop_front();
            }
            self.history.push_back(clip(bytes_readable(&format!("#{i} {what} {req:?}\n      -> {x:?}")), 1500));
            return Ok(());
        }
        let s = self.settings;
        let mut msg = format!(
            "DIFFERENCE at op #{i} ({what}), seed {seed} (re-run with DIFF_SEED={seed})\n\
             request: {req}\n\
             {ra}: {x}\n\
             {rb}: {y}\n\
             preceding ops (with the {ra} answer):\n",
            seed = s.seed,
            req = bytes_readable(&format!("{req:?}")),
            x = bytes_readable(&format!("{x:?}")),
            y = bytes_readable(&format!("{y:?}")),
            ra = s.reference,
            rb = s.subject,
        );
        for h in &self.history {
            msg.push_str("  ");
            msg.push_str(h);
            msg.push('\n');
        }
        Err(msg)
    }

    async fn unary(&mut self, i: usize, what: &str, op: &Op) -> Result<Outcome, String> {
        let (x, y) = tokio::join!(self.a.exec(op), self.b.exec(op));
        self.compare(i, what, op, &x, &y)?;
        self.gen.observe(op, &x);
        Ok(x)
    }

    async fn watch(&mut self, i: usize, w: &WatchOp) -> Result<(), String> {
        let (sa, sb) = tokio::join!(self.a.open_watch(&w.create), self.b.open_watch(&w.create));
        let created = |s: &Result<WatchSession, Outcome>| match s {
            Ok(s) => Outcome::WatchCreated(s.created.clone()).normalize(),
            Err(e) => e.clone(),
        };
        self.compare(i, "watch create", &w.create, &created(&sa), &created(&sb))?;
        let (Ok(sa), Ok(sb)) = (sa, sb) else { return Ok(()) };
        let mut until = None;
        for s in &w.sentinel {
            let x = self.unary(i, "watch sentinel", s).await?;
            until = x.header_revision();
        }
        // Compacted start: etcd cancels with compact_revision instead of events.
        let expect_cancel = w.create.start_revision < self.gen.compact_rev();
        let (wa, wb) = tokio::join!(sa.collect(until, expect_cancel), sb.collect(until, expect_cancel));
        self.report.watch_events += wa.events.len();
        self.report.watch_cancels += usize::from(wa.canceled.is_some());
        self.compare(i, "watch events", &w.create, &Outcome::Watch(wa).normalize(), &Outcome::Watch(wb).normalize())
    }
}

/// Probes the subject's Watch service; `Some(reason)` if it is not implemented.
async fn watch_unimplemented(c: &mut Conn) -> Option<String> {
    let probe = WatchCreateRequest { key: b"\xfe/diff-probe".to_vec(), ..Default::default() };
    match c.open_watch(&probe).await {
        Err(Outcome::Err { code: tonic::Code::Unimplemented, message }) => {
            Some(format!("Watch returned Unimplemented ({message})"))
        }
        _ => None,
    }
}

/// Runs the sequence; `Err` carries the first difference, fully described.
pub async fn run(settings: &Settings, reference: Channel, subject: Channel) -> Result<Report, String> {
    let start = Instant::now();
    let mut r = Runner {
        settings,
        a: Conn::new(reference),
        b: Conn::new(subject),
        gen: Gen::new(settings.seed),
        history: VecDeque::new(),
        report: Report::default(),
    };
    let skip_watch = watch_unimplemented(&mut r.b).await;
    if let Some(why) = &skip_watch {
        println!(
            "differential: WATCH OPS SKIPPED: {} on {}; re-run once its Watch service lands",
            why, settings.subject
        );
    }
    let mut skipped = 0;
    for i in 0..settings.ops {
        let op = r.gen.next_op();
        *r.report.by_kind.entry(op.kind()).or_default() += 1;
        match &op {
            Op::Watch(w) => {
                if skip_watch.is_some() {
                    skipped += 1;
                    continue;
                }
                r.watch(i, w).await?;
            }
            _ => {
                r.unary(i, "op", &op).await?;
            }
        }
    }
    let final_rev = r
        .unary(
            settings.ops,
            "final range",
            &Op::Range(RangeRequest { key: vec![0], range_end: vec![0], ..Default::default() }),
        )
        .await?;
    r.report.final_revision = final_rev.header_revision().unwrap_or(0);
    r.report.ops = settings.ops;
    r.report.watch_skipped = skip_watch.map(|why| (why, skipped));
    r.report.elapsed = start.elapsed();
    Ok(r.report)
}
