//! One etcd Watch RPC per backend watch, run by a task that feeds a bounded
//! channel (so a slow consumer pushes back on the gRPC stream rather than
//! buffering). The task reconnects from the next unseen revision when the
//! stream breaks (member restart, leader change) for up to [`RETRY_BUDGET`],
//! turns a compacted start into one `Err(Compacted)`, forwards progress
//! notifications as [`WatchItem::Progress`], and ends when the consumer drops
//! the stream.

use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_compat::proto::etcdserverpb::watch_client::WatchClient;
use etcd_compat::proto::etcdserverpb::watch_request::RequestUnion;
use etcd_compat::proto::etcdserverpb::{WatchCreateRequest, WatchProgressRequest, WatchRequest, WatchResponse};
use etcd_compat::proto::mvccpb::event::EventType;
use futures::StreamExt;
use tokio::sync::{mpsc, Notify};
use tokio_stream::wrappers::{ReceiverStream, UnboundedReceiverStream};

use super::{convert_kv, map_status, Endpoints, MAX_MESSAGE_BYTES};
use crate::storage::{prefix_end, EventKind, ProgressWatch, StorageError, StorageResult, WatchEvent, WatchItem};

/// How long a broken watch keeps trying to reconnect before it reports the error.
const RETRY_BUDGET: Duration = Duration::from_secs(30);
/// Responses buffered between the gRPC stream and the consumer.
const CHANNEL_DEPTH: usize = 64;

pub(super) fn spawn(endpoints: Arc<Endpoints>, timeout: Duration, prefix: &str, from_revision: i64) -> ProgressWatch {
    let (tx, rx) = mpsc::channel(CHANNEL_DEPTH);
    let notify = Arc::new(Notify::new());
    let key = if prefix.is_empty() { vec![0] } else { prefix.as_bytes().to_vec() };
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        let err = StorageError::Unavailable("etcd watch started outside a tokio runtime".into());
        return ProgressWatch {
            stream: futures::stream::once(async move { Err(err) }).boxed(),
            request_progress: Arc::new(|| {}),
        };
    };
    let task = WatchTask {
        endpoints,
        timeout,
        key,
        range_end: prefix_end(prefix),
        next_rev: from_revision,
        tx,
        notify: notify.clone(),
        connected: false,
    };
    rt.spawn(task.run());
    ProgressWatch { stream: ReceiverStream::new(rx).boxed(), request_progress: Arc::new(move || notify.notify_one()) }
}

struct WatchTask {
    endpoints: Arc<Endpoints>,
    timeout: Duration,
    key: Vec<u8>,
    range_end: Vec<u8>,
    /// Where a new session starts: one past the last revision delivered (0 = now).
    next_rev: i64,
    tx: mpsc::Sender<StorageResult<WatchItem>>,
    notify: Arc<Notify>,
    /// The current session was created (so the failure budget restarts).
    connected: bool,
}

/// Why a session ended.
enum End {
    /// The consumer is gone, or a terminal item was delivered.
    Done,
    /// The stream broke; reconnect.
    Broken(StorageError),
}

impl WatchTask {
    async fn run(mut self) {
        let mut failing_since: Option<Instant> = None;
        let mut backoff = Duration::from_millis(50);
        loop {
            self.connected = false;
            let (endpoint, channel) = self.endpoints.pick();
            let err = match self.session(channel).await {
                End::Done => return,
                End::Broken(e) => e,
            };
            // Try the next endpoint; with one endpoint this is a no-op.
            self.endpoints.failed(endpoint);
            if self.connected {
                failing_since = None;
                backoff = Duration::from_millis(50);
            }
            let since = *failing_since.get_or_insert_with(Instant::now);
            if since.elapsed() >= RETRY_BUDGET {
                let _ = self.tx.send(Err(err)).await;
                return;
            }
            tracing::debug!(next_rev = self.next_rev, "etcd watch broke, reconnecting: {err}");
            tokio::select! {
                _ = self.tx.closed() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    async fn session(&mut self, channel: tonic::transport::Channel) -> End {
        let (req_tx, req_rx) = mpsc::unbounded_channel();
        let create = WatchCreateRequest {
            key: self.key.clone(),
            range_end: self.range_end.clone(),
            start_revision: self.next_rev,
            prev_kv: true,
            ..Default::default()
        };
        // The request side stays open for the session: etcd keeps a watch only
        // while its stream lives, and progress requests go this way.
        let _ = req_tx.send(WatchRequest { request_union: Some(RequestUnion::CreateRequest(create)) });
        let mut client = WatchClient::new(channel).max_decoding_message_size(MAX_MESSAGE_BYTES);
        let opened = tokio::select! {
            _ = self.tx.closed() => return End::Done,
            r = tokio::time::timeout(self.timeout, client.watch(UnboundedReceiverStream::new(req_rx))) => r,
        };
        let mut inbound = match opened {
            Ok(Ok(resp)) => resp.into_inner(),
            Ok(Err(status)) => return self.failed(map_status(&status)).await,
            Err(_) => return End::Broken(StorageError::Timeout("opening etcd watch timed out".into())),
        };
        loop {
            let msg = tokio::select! {
                biased;
                _ = self.tx.closed() => return End::Done,
                _ = self.notify.notified() => {
                    let progress = RequestUnion::ProgressRequest(WatchProgressRequest {});
                    let _ = req_tx.send(WatchRequest { request_union: Some(progress) });
                    continue;
                }
                m = inbound.message() => m,
            };
            match msg {
                Ok(Some(resp)) => {
                    if let Some(end) = self.handle(resp).await {
                        return end;
                    }
                }
                Ok(None) => return End::Broken(StorageError::Unavailable("etcd closed the watch stream".into())),
                Err(status) => return self.failed(map_status(&status)).await,
            }
        }
    }

    /// A session error: compaction, a bad request or missing permissions end
    /// the watch; anything else (the connection or server going away) reconnects.
    async fn failed(&mut self, err: StorageError) -> End {
        use tonic::Code;
        let terminal = match &err {
            StorageError::Compacted { .. } | StorageError::FutureRevision => true,
            StorageError::Etcd { code, .. } => [
                Code::InvalidArgument,
                Code::PermissionDenied,
                Code::Unauthenticated,
                Code::FailedPrecondition,
                Code::Unimplemented,
                Code::OutOfRange,
            ]
            .iter()
            .any(|c| *c as i32 == *code),
            StorageError::Timeout(_) | StorageError::Unavailable(_) => false,
        };
        if !terminal {
            return End::Broken(err);
        }
        let _ = self.tx.send(Err(err)).await;
        End::Done
    }

    async fn send(&self, item: StorageResult<WatchItem>) -> Option<End> {
        match self.tx.send(item).await {
            Ok(()) => None,
            Err(_) => Some(End::Done),
        }
    }

    async fn handle(&mut self, resp: WatchResponse) -> Option<End> {
        let header_rev = resp.header.as_ref().map_or(0, |h| h.revision);
        if resp.compact_revision > 0 {
            let _ = self.tx.send(Err(StorageError::Compacted { compact_revision: resp.compact_revision })).await;
            return Some(End::Done);
        }
        if resp.canceled {
            let message = if resp.cancel_reason.is_empty() { "watch canceled".into() } else { resp.cancel_reason };
            let err = if message.contains("future revision") {
                StorageError::FutureRevision
            } else {
                StorageError::Etcd { code: tonic::Code::Cancelled as i32, message }
            };
            let _ = self.tx.send(Err(err)).await;
            return Some(End::Done);
        }
        if resp.created {
            self.connected = true;
            if self.next_rev == 0 {
                // Started "from now": etcd watches from header revision + 1.
                self.next_rev = header_rev + 1;
            }
            return None;
        }
        if resp.events.is_empty() {
            // A progress notification: nothing at or below header_rev is pending.
            self.next_rev = self.next_rev.max(header_rev + 1);
            return self.send(Ok(WatchItem::Progress(header_rev))).await;
        }
        let mut events = Vec::with_capacity(resp.events.len());
        for ev in resp.events {
            let Some(kv) = ev.kv else { continue };
            let kind = if ev.r#type == EventType::Delete as i32 { EventKind::Delete } else { EventKind::Put };
            events.push(WatchEvent { kind, kv: convert_kv(kv), prev: ev.prev_kv.map(convert_kv) });
        }
        if let Some(last) = events.last() {
            self.next_rev = self.next_rev.max(last.kv.mod_revision + 1);
        }
        self.send(Ok(WatchItem::Events(events))).await
    }
}
