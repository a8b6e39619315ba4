//! The etcd3 [`Backend`]: etcd-compat or a real etcd (3.4/3.5) over the etcd v3
//! gRPC API, with kube-apiserver's transaction shapes:
//!
//! - create: `If(mod_revision == 0) Then(Put) Else(Range key)`
//! - update: `If(mod_revision == N) Then(Put, Range key keys_only) Else(Range key)`
//! - delete: `If(mod_revision == N | create_revision > 0) Then(DeleteRange prev_kv) Else(Range key)`
//!
//! Reads are linearizable. Every request has a deadline. Requests go to one
//! endpoint at a time and fail over to the next when it is unavailable; reads
//! are retried a few times on `Unavailable` (leader changes, a member going
//! away), writes only when the connection could not be made.
//! Watches live in `etcd/watch.rs`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use etcd_compat::proto::etcdserverpb::compare::{CompareResult, CompareTarget, TargetUnion};
use etcd_compat::proto::etcdserverpb::kv_client::KvClient;
use etcd_compat::proto::etcdserverpb::request_op::Request as Op;
use etcd_compat::proto::etcdserverpb::response_op::Response as OpResponse;
use etcd_compat::proto::etcdserverpb::{
    CompactionRequest, Compare, DeleteRangeRequest, PutRequest, RangeRequest, RangeResponse, RequestOp, TxnRequest,
    TxnResponse,
};
use etcd_compat::proto::mvccpb;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use tonic::transport::{Channel, Endpoint};

use super::{prefix_end, Backend, KeyValue, ListResult, ProgressWatch, StorageError, StorageResult, TxnOutcome};
use super::{WatchEvent, WatchItem};

mod watch;

/// Default per-request deadline.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest gRPC message either way: a page of 10,000 pods is tens of MiB, far
/// above tonic's 4 MiB default; etcd's own send limit is math.MaxInt32.
pub(crate) const MAX_MESSAGE_BYTES: usize = i32::MAX as usize;
/// Attempts for an idempotent read that fails with `Unavailable`.
const READ_ATTEMPTS: u32 = 3;

/// An etcd v3 client implementing [`Backend`]. Cheap to clone (shared channels).
#[derive(Clone)]
pub struct EtcdBackend {
    endpoints: Arc<Endpoints>,
    timeout: Duration,
}

/// One lazily connected channel per endpoint; requests go to the current one
/// and move to the next when it fails to connect. (tonic's balancer keeps
/// routing to an endpoint that refuses connections, so it is not used.)
pub(crate) struct Endpoints {
    first: Channel,
    channels: Vec<Channel>,
    current: AtomicUsize,
}

impl Endpoints {
    pub(crate) fn pick(&self) -> (usize, Channel) {
        let i = self.current.load(Ordering::Relaxed) % self.channels.len().max(1);
        (i, self.channels.get(i).unwrap_or(&self.first).clone())
    }

    /// Endpoint `i` failed: move on, unless another request already did.
    pub(crate) fn failed(&self, i: usize) {
        let next = (i + 1) % self.channels.len().max(1);
        let _ = self.current.compare_exchange(i, next, Ordering::Relaxed, Ordering::Relaxed);
    }

    fn len(&self) -> usize {
        self.channels.len()
    }
}

impl EtcdBackend {
    /// Connects to `endpoints` (e.g. `http://127.0.0.1:2379`; a bare
    /// `host:port` gets `http://`), failing over between them, and checks
    /// that the cluster answers.
    pub async fn connect(endpoints: &[String]) -> StorageResult<Self> {
        Self::connect_with_timeout(endpoints, DEFAULT_REQUEST_TIMEOUT).await
    }

    /// Like [`EtcdBackend::connect`], with a per-request deadline.
    pub async fn connect_with_timeout(endpoints: &[String], timeout: Duration) -> StorageResult<Self> {
        let mut channels = Vec::with_capacity(endpoints.len());
        for e in endpoints {
            let url = if e.contains("://") { e.clone() } else { format!("http://{e}") };
            let ep = Endpoint::from_shared(url)
                .map_err(|err| StorageError::Unavailable(format!("invalid etcd endpoint {e:?}: {err}")))?
                .connect_timeout(Duration::from_secs(3).min(timeout))
                .tcp_nodelay(true)
                .http2_keep_alive_interval(Duration::from_secs(30))
                .keep_alive_timeout(Duration::from_secs(10))
                .keep_alive_while_idle(true);
            channels.push(ep.connect_lazy());
        }
        let Some(first) = channels.first().cloned() else {
            return Err(StorageError::Unavailable("no etcd endpoints configured".into()));
        };
        let endpoints = Arc::new(Endpoints { first, channels, current: AtomicUsize::new(0) });
        let backend = Self { endpoints, timeout };
        backend.current_revision().await?;
        Ok(backend)
    }

    /// The per-request deadline.
    pub fn request_timeout(&self) -> Duration {
        self.timeout
    }

    fn kv(channel: Channel) -> KvClient<Channel> {
        KvClient::new(channel).max_decoding_message_size(MAX_MESSAGE_BYTES).max_encoding_message_size(MAX_MESSAGE_BYTES)
    }

    fn request<T>(&self, msg: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(msg);
        req.set_timeout(self.timeout);
        req
    }

    async fn deadline<T>(
        &self,
        fut: impl std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    ) -> StorageResult<T> {
        match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(resp)) => Ok(resp.into_inner()),
            Ok(Err(status)) => Err(map_status(&status)),
            Err(_) => Err(StorageError::Timeout(format!("etcd request exceeded {:?}", self.timeout))),
        }
    }

    /// Runs a request on the current endpoint, moving to the next one and
    /// retrying when it is unavailable. Writes (`idempotent` false) are
    /// retried only when the connection could not be made, so they were not sent.
    async fn call<T, F, Fut>(&self, idempotent: bool, f: F) -> StorageResult<T>
    where
        F: Fn(KvClient<Channel>) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let attempts = READ_ATTEMPTS.max(self.endpoints.len() as u32 + 1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (i, channel) = self.endpoints.pick();
            match self.deadline(f(Self::kv(channel))).await {
                Err(StorageError::Unavailable(m)) if attempt < attempts => {
                    let unsent = m.contains("connect error");
                    if unsent || self.endpoints.len() > 1 {
                        self.endpoints.failed(i);
                    }
                    if !idempotent && !unsent {
                        return Err(StorageError::Unavailable(m));
                    }
                    tracing::debug!(attempt, "etcd endpoint unavailable, retrying: {m}");
                    tokio::time::sleep(Duration::from_millis(50 * u64::from(attempt))).await;
                }
                other => return other,
            }
        }
    }

    async fn range(&self, req: RangeRequest) -> StorageResult<RangeResponse> {
        self.call(true, |mut kv| {
            let r = self.request(req.clone());
            async move { kv.range(r).await }
        })
        .await
    }

    async fn txn(&self, req: TxnRequest) -> StorageResult<TxnResponse> {
        // A write that may have reached etcd is not retried: it may have been applied.
        self.call(false, |mut kv| {
            let r = self.request(req.clone());
            async move { kv.txn(r).await }
        })
        .await
    }
}

/// Maps an etcd gRPC error to a [`StorageError`].
pub fn map_status(status: &tonic::Status) -> StorageError {
    let msg = status.message();
    if msg.contains("required revision has been compacted") {
        // A failed range carries no header, so the compact revision is unknown.
        return StorageError::Compacted { compact_revision: 0 };
    }
    if msg.contains("required revision is a future revision") {
        return StorageError::FutureRevision;
    }
    match status.code() {
        tonic::Code::DeadlineExceeded => StorageError::Timeout(msg.to_string()),
        // etcd reports its own internal timeouts as Unavailable.
        tonic::Code::Unavailable if msg.contains("timed out") => StorageError::Timeout(msg.to_string()),
        // A stream or call cut off by a server going away.
        tonic::Code::Unavailable | tonic::Code::Cancelled => StorageError::Unavailable(msg.to_string()),
        code => StorageError::Etcd { code: code as i32, message: msg.to_string() },
    }
}

pub(crate) fn convert_kv(kv: mvccpb::KeyValue) -> KeyValue {
    let key = String::from_utf8(kv.key).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    KeyValue { key, value: Bytes::from(kv.value), create_revision: kv.create_revision, mod_revision: kv.mod_revision }
}

fn header_revision(h: Option<&etcd_compat::proto::etcdserverpb::ResponseHeader>) -> i64 {
    h.map_or(0, |h| h.revision)
}

/// etcd rejects an empty key; `"\0"` with a range end starts at the first key.
fn range_start(key: &str) -> Vec<u8> {
    if key.is_empty() {
        vec![0]
    } else {
        key.as_bytes().to_vec()
    }
}

fn compare_mod(key: &str, rev: i64) -> Compare {
    Compare {
        result: CompareResult::Equal as i32,
        target: CompareTarget::Mod as i32,
        key: key.as_bytes().to_vec(),
        range_end: Vec::new(),
        target_union: Some(TargetUnion::ModRevision(rev)),
    }
}

fn get_op(key: &str, keys_only: bool) -> RequestOp {
    RequestOp { request: Some(Op::RequestRange(RangeRequest { key: key.into(), keys_only, ..Default::default() })) }
}

/// The first kv of the `idx`th response of a txn if it is a range.
fn txn_range_kv(resp: &mut TxnResponse, idx: usize) -> Option<KeyValue> {
    match resp.responses.get_mut(idx)?.response.as_mut()? {
        OpResponse::ResponseRange(r) if !r.kvs.is_empty() => Some(convert_kv(r.kvs.swap_remove(0))),
        _ => None,
    }
}

impl Backend for EtcdBackend {
    fn get(&self, key: &str) -> BoxFuture<'_, StorageResult<(Option<KeyValue>, i64)>> {
        let req = RangeRequest { key: range_start(key), ..Default::default() };
        async move {
            let resp = self.range(req).await?;
            let rev = header_revision(resp.header.as_ref());
            Ok((resp.kvs.into_iter().next().map(convert_kv), rev))
        }
        .boxed()
    }

    fn list(&self, prefix: &str, start: &str, limit: i64, revision: i64) -> BoxFuture<'_, StorageResult<ListResult>> {
        let key = range_start(if start.is_empty() { prefix } else { start });
        let req = RangeRequest { key, range_end: prefix_end(prefix), limit, revision, ..Default::default() };
        async move {
            let resp = self.range(req).await?;
            let header = header_revision(resp.header.as_ref());
            Ok(ListResult {
                kvs: resp.kvs.into_iter().map(convert_kv).collect(),
                revision: if revision > 0 { revision } else { header },
                more: resp.more,
                count: resp.count,
            })
        }
        .boxed()
    }

    fn count(&self, prefix: &str) -> BoxFuture<'_, StorageResult<(i64, i64)>> {
        let req = RangeRequest {
            key: range_start(prefix),
            range_end: prefix_end(prefix),
            count_only: true,
            ..Default::default()
        };
        async move {
            let resp = self.range(req).await?;
            Ok((resp.count, header_revision(resp.header.as_ref())))
        }
        .boxed()
    }

    fn create(&self, key: &str, value: Bytes) -> BoxFuture<'_, StorageResult<TxnOutcome>> {
        let key = key.to_string();
        async move {
            let put = PutRequest { key: key.clone().into_bytes(), value: value.to_vec(), ..Default::default() };
            let req = TxnRequest {
                compare: vec![compare_mod(&key, 0)],
                success: vec![RequestOp { request: Some(Op::RequestPut(put)) }],
                failure: vec![get_op(&key, false)],
            };
            let mut resp = self.txn(req).await?;
            if !resp.succeeded {
                return Ok(TxnOutcome::Conflict(txn_range_kv(&mut resp, 0)));
            }
            let rev = header_revision(resp.header.as_ref());
            Ok(TxnOutcome::Done(KeyValue { key, value, create_revision: rev, mod_revision: rev }))
        }
        .boxed()
    }

    fn update(&self, key: &str, value: Bytes, expected: i64) -> BoxFuture<'_, StorageResult<TxnOutcome>> {
        let key = key.to_string();
        async move {
            let put = PutRequest { key: key.clone().into_bytes(), value: value.to_vec(), ..Default::default() };
            // The keys-only range after the put returns the create revision
            // without sending the value back.
            let req = TxnRequest {
                compare: vec![compare_mod(&key, expected)],
                success: vec![RequestOp { request: Some(Op::RequestPut(put)) }, get_op(&key, true)],
                failure: vec![get_op(&key, false)],
            };
            let mut resp = self.txn(req).await?;
            if !resp.succeeded {
                return Ok(TxnOutcome::Conflict(txn_range_kv(&mut resp, 0)));
            }
            let rev = header_revision(resp.header.as_ref());
            let create_revision = txn_range_kv(&mut resp, 1).map_or(rev, |kv| kv.create_revision);
            Ok(TxnOutcome::Done(KeyValue { key, value, create_revision, mod_revision: rev }))
        }
        .boxed()
    }

    fn delete(&self, key: &str, expected: i64) -> BoxFuture<'_, StorageResult<TxnOutcome>> {
        let key = key.to_string();
        async move {
            let compare = if expected == 0 {
                // "Exists": a missing key compares with create_revision 0.
                Compare {
                    result: CompareResult::Greater as i32,
                    target: CompareTarget::Create as i32,
                    key: key.clone().into_bytes(),
                    range_end: Vec::new(),
                    target_union: Some(TargetUnion::CreateRevision(0)),
                }
            } else {
                compare_mod(&key, expected)
            };
            let del = DeleteRangeRequest { key: key.clone().into_bytes(), prev_kv: true, ..Default::default() };
            let req = TxnRequest {
                compare: vec![compare],
                success: vec![RequestOp { request: Some(Op::RequestDeleteRange(del)) }],
                failure: vec![get_op(&key, false)],
            };
            let mut resp = self.txn(req).await?;
            if !resp.succeeded {
                return Ok(TxnOutcome::Conflict(txn_range_kv(&mut resp, 0)));
            }
            let rev = header_revision(resp.header.as_ref());
            let prev = match resp.responses.get_mut(0).and_then(|r| r.response.as_mut()) {
                Some(OpResponse::ResponseDeleteRange(d)) if !d.prev_kvs.is_empty() => Some(d.prev_kvs.swap_remove(0)),
                _ => None,
            };
            Ok(match prev {
                Some(p) => TxnOutcome::Done(KeyValue { mod_revision: rev, ..convert_kv(p) }),
                None => TxnOutcome::Conflict(None),
            })
        }
        .boxed()
    }

    fn watch(&self, prefix: &str, from_revision: i64) -> BoxStream<'static, StorageResult<Vec<WatchEvent>>> {
        self.watch_with_progress(prefix, from_revision)
            .stream
            .filter_map(|item| {
                futures::future::ready(match item {
                    Ok(WatchItem::Events(evs)) => Some(Ok(evs)),
                    Ok(WatchItem::Progress(_)) => None,
                    Err(e) => Some(Err(e)),
                })
            })
            .boxed()
    }

    fn current_revision(&self) -> BoxFuture<'_, StorageResult<i64>> {
        // A count-only range of one key is the cheapest linearizable read.
        let req = RangeRequest { key: b"/".to_vec(), count_only: true, ..Default::default() };
        async move {
            let resp = self.range(req).await?;
            Ok(header_revision(resp.header.as_ref()))
        }
        .boxed()
    }

    fn compact(&self, revision: i64) -> BoxFuture<'_, StorageResult<()>> {
        async move {
            self.call(false, |mut kv| {
                let r = self.request(CompactionRequest { revision, physical: false });
                async move { kv.compact(r).await }
            })
            .await?;
            Ok(())
        }
        .boxed()
    }

    fn watch_with_progress(&self, prefix: &str, from_revision: i64) -> ProgressWatch {
        watch::spawn(self.endpoints.clone(), self.timeout, prefix, from_revision)
    }
}

#[cfg(test)]
mod tests {
    use tonic::{Code, Status};

    use super::*;

    #[test]
    fn maps_etcd_errors() {
        let s = Status::new(Code::OutOfRange, "etcdserver: mvcc: required revision has been compacted");
        assert!(matches!(map_status(&s), StorageError::Compacted { compact_revision: 0 }));
        let s = Status::new(Code::OutOfRange, "etcdserver: mvcc: required revision is a future revision");
        assert!(matches!(map_status(&s), StorageError::FutureRevision));
        assert!(matches!(map_status(&Status::new(Code::DeadlineExceeded, "x")), StorageError::Timeout(_)));
        let s = Status::new(Code::Unavailable, "etcdserver: request timed out");
        assert!(matches!(map_status(&s), StorageError::Timeout(_)));
        let s = Status::new(Code::Unavailable, "etcdserver: leader changed");
        assert!(matches!(map_status(&s), StorageError::Unavailable(_)));
        let s = Status::new(Code::InvalidArgument, "etcdserver: key is not provided");
        match map_status(&s) {
            StorageError::Etcd { code, message } => {
                assert_eq!(code, Code::InvalidArgument as i32);
                assert_eq!(message, "etcdserver: key is not provided");
            }
            other => panic!("{other:?}"),
        }
    }
}
