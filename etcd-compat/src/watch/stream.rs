//! One Watch RPC stream: a single task that reads create/cancel/progress
//! requests, takes its watchers' messages from the hub, replays history for
//! watchers that start in the past, and writes every response in order (so a
//! watcher's created response always comes before its events).
//!
//! Responses follow etcd 3.5's `serverWatchStream`: created/cancel responses
//! carry the current revision, event responses the revision they were
//! committed at (catch-up ones the revision history was read up to), a
//! compacted watcher gets `compact_revision` with `canceled` and header
//! revision 0, and progress responses go out only when every watcher of the
//! stream is synced.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt};
use rand::Rng;
use tokio::sync::mpsc;
use tonic::metadata::MetadataMap;
use tonic::Status;

use super::catchup::{CatchUp, Step};
use super::filter::{Filters, Target, EMPTY_RANGE};
use super::fragment;
use super::hub::{HubMsg, WatchHub};
use super::watcher::{by_revision, Phase, Watcher};
use crate::auth::Access;
use crate::config::GRPC_OVERHEAD_BYTES;
use crate::error::Error;
use crate::node::Node;
use crate::proto::etcdserverpb::watch_request::RequestUnion;
use crate::proto::etcdserverpb::{WatchCreateRequest, WatchRequest, WatchResponse};
use crate::proto::mvccpb::Event;

/// etcd's `ErrWatcherDuplicateID` text.
pub const DUPLICATE_ID: &str = "mvcc: duplicate watch ID provided on the WatchStream";
/// The watch id of responses not tied to one watcher (clientv3.InvalidWatchID).
pub const INVALID_WATCH_ID: i64 = -1;

pub type Out = mpsc::Sender<Result<WatchResponse, Status>>;

/// Why a stream stops.
enum Stop {
    /// The client is gone.
    Closed,
    /// A storage failure; the stream ends with this error.
    Failed(Error),
}

type Flow = Result<(), Stop>;

struct StreamTask {
    node: Arc<Node>,
    hub: Arc<WatchHub>,
    id: u64,
    meta: MetadataMap,
    out: Out,
    /// Responses over this size are fragmented for `fragment` watchers.
    fragment_limit: usize,
    watchers: BTreeMap<i64, Watcher>,
    /// Hub registration → watch id.
    regs: HashMap<u64, i64>,
    /// Watchers replaying history, served round-robin.
    catching: VecDeque<i64>,
    next_auto_id: i64,
}

/// Serves one Watch stream until the client goes away.
pub async fn serve<S>(node: Arc<Node>, meta: MetadataMap, mut incoming: S, out: Out)
where
    S: Stream<Item = Result<WatchRequest, Status>> + Unpin,
{
    let hub = node.watch_hub().clone();
    let (id, mut rx) = hub.open_stream();
    let interval = with_jitter(hub.progress_interval());
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let closed = out.clone();
    let fragment_limit = node.config().max_request_bytes + GRPC_OVERHEAD_BYTES;
    let mut task = StreamTask {
        node,
        hub: hub.clone(),
        id,
        meta,
        out,
        fragment_limit,
        watchers: BTreeMap::new(),
        regs: HashMap::new(),
        catching: VecDeque::new(),
        next_auto_id: 0,
    };
    let mut reading = true;
    let stop = loop {
        let catching = !task.catching.is_empty();
        let flow = tokio::select! {
            req = incoming.next(), if reading => match req {
                Some(Ok(req)) => task.handle(req).await,
                // A client that half-closes keeps receiving, as with etcd.
                None => {
                    reading = false;
                    Ok(())
                }
                Some(Err(_)) => Err(Stop::Closed),
            },
            Some(msg) = rx.recv() => task.dispatch(msg).await,
            _ = ticker.tick() => task.progress_tick(),
            _ = closed.closed() => Err(Stop::Closed),
            _ = std::future::ready(()), if catching => task.catch_up_step().await,
        };
        if let Err(stop) = flow {
            break stop;
        }
    };
    hub.close_stream(id);
    if let Stop::Failed(e) = stop {
        tracing::warn!(error = %e, "watch stream failed");
        let _ = task.out.send(Err(e.into())).await;
    }
}

/// The interval plus up to 10% jitter, as etcd spreads progress reports.
fn with_jitter(d: Duration) -> Duration {
    let max = (d.as_nanos() / 10).min(u64::MAX as u128) as u64;
    d + Duration::from_nanos(rand::thread_rng().gen_range(0..=max))
}

/// etcd's cancel reason for a refused watch permission.
/// etcd puts the whole gRPC error string (`rpc error: code = ... desc = ...`)
/// into the cancel reason.
fn auth_cancel_reason(e: &Error) -> String {
    let e = match e {
        Error::InvalidAuthToken | Error::UserEmpty => e.clone(),
        _ => Error::PermissionDenied,
    };
    let code = match e.code() {
        tonic::Code::Unauthenticated => "Unauthenticated",
        tonic::Code::InvalidArgument => "InvalidArgument",
        _ => "PermissionDenied",
    };
    format!("rpc error: code = {code} desc = {e}")
}

impl StreamTask {
    async fn send(&self, resp: WatchResponse, fragment: bool) -> Flow {
        if fragment {
            for part in fragment::split(resp, self.fragment_limit) {
                self.out.send(Ok(part)).await.map_err(|_| Stop::Closed)?;
            }
            Ok(())
        } else {
            self.out.send(Ok(resp)).await.map_err(|_| Stop::Closed)
        }
    }

    async fn handle(&mut self, req: WatchRequest) -> Flow {
        match req.request_union {
            Some(RequestUnion::CreateRequest(c)) => self.create(c).await,
            Some(RequestUnion::CancelRequest(c)) => self.cancel(c.watch_id).await,
            Some(RequestUnion::ProgressRequest(_)) => {
                self.progress_all();
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// A created-and-cancelled response for a refused create.
    async fn refuse(&self, reason: String) -> Flow {
        let resp = WatchResponse {
            header: Some(self.node.header()),
            watch_id: INVALID_WATCH_ID,
            created: true,
            canceled: true,
            cancel_reason: reason,
            ..Default::default()
        };
        self.send(resp, false).await
    }

    async fn create(&mut self, c: WatchCreateRequest) -> Flow {
        let target = Target::new(c.key, c.range_end);
        if c.start_revision < 0 {
            return self.refuse(Error::Compacted.to_string()).await;
        }
        if let Err(e) = self.node.authorize(&self.meta, &[Access::read(target.key(), target.end())]) {
            return self.refuse(auth_cancel_reason(&e)).await;
        }
        if target.is_empty_range() {
            return self.refuse(EMPTY_RANGE.into()).await;
        }
        let id = if c.watch_id == 0 {
            while self.watchers.contains_key(&self.next_auto_id) {
                self.next_auto_id += 1;
            }
            self.next_auto_id += 1;
            self.next_auto_id - 1
        } else if self.watchers.contains_key(&c.watch_id) {
            return self.refuse(DUPLICATE_ID.into()).await;
        } else {
            c.watch_id
        };
        let reg = self.hub.next_reg();
        let store = self.node.store().clone();
        let start = c.start_revision;
        let base =
            self.hub.register(self.id, reg, target.clone(), start, || store.current_rev()).ok_or(Stop::Closed)?;
        let phase = if start != 0 && start <= base {
            self.catching.push_back(id);
            Phase::CatchingUp(CatchUp::new(start, base))
        } else {
            Phase::Live
        };
        let watcher = Watcher {
            id,
            reg,
            target,
            filters: Filters::from_request(&c.filters),
            prev_kv: c.prev_kv,
            fragment: c.fragment,
            progress_due: c.progress_notify.then_some(true),
            phase,
        };
        self.watchers.insert(id, watcher);
        self.regs.insert(reg, id);
        let resp =
            WatchResponse { header: Some(self.node.header()), watch_id: id, created: true, ..Default::default() };
        self.send(resp, false).await
    }

    /// Cancels a watcher; an unknown id gets no response, as in etcd.
    async fn cancel(&mut self, id: i64) -> Flow {
        let Some(w) = self.watchers.remove(&id) else { return Ok(()) };
        self.regs.remove(&w.reg);
        self.hub.unregister(w.reg);
        self.catching.retain(|&c| c != id);
        let resp =
            WatchResponse { header: Some(self.node.header()), watch_id: id, canceled: true, ..Default::default() };
        self.send(resp, false).await
    }

    /// A progress request: answered (watch id -1) only if every watcher of
    /// the stream is synced, as etcd 3.5's `RequestProgressAll`.
    fn progress_all(&self) {
        if self.watchers.values().any(|w| !w.is_live()) {
            return;
        }
        let regs: Vec<u64> = self.watchers.values().map(|w| w.reg).collect();
        self.hub.progress(self.id, &regs, INVALID_WATCH_ID, false);
    }

    /// The progress-notify tick: idle synced `progress_notify` watchers get a
    /// progress notification with their own id.
    fn progress_tick(&mut self) -> Flow {
        for w in self.watchers.values_mut() {
            let live = w.is_live();
            if let Some(due) = w.progress_due.as_mut() {
                if *due && live {
                    self.hub.progress(self.id, &[w.reg], w.id, true);
                }
                *due = true;
            }
        }
        Ok(())
    }

    async fn dispatch(&mut self, msg: HubMsg) -> Flow {
        match msg {
            HubMsg::Events { reg, batch, picks } => {
                let Some(&id) = self.regs.get(&reg) else { return Ok(()) };
                let Some(w) = self.watchers.get_mut(&id) else { return Ok(()) };
                match &mut w.phase {
                    Phase::CatchingUp(c) => {
                        c.buffered.push_back(HubMsg::Events { reg, batch, picks });
                        Ok(())
                    }
                    Phase::Compacted => Ok(()),
                    Phase::Live => self.emit_live(id, &batch, &picks).await,
                }
            }
            HubMsg::Progress { reg, watch_id, rev } => {
                if reg.is_some_and(|r| !self.regs.contains_key(&r)) {
                    return Ok(());
                }
                let resp = WatchResponse { header: Some(self.node.header_at(rev)), watch_id, ..Default::default() };
                self.send(resp, false).await
            }
        }
    }

    async fn emit_live(&mut self, id: i64, batch: &[Event], picks: &[u32]) -> Flow {
        for (rev, events) in by_revision(batch, picks) {
            self.emit(id, rev, events).await?;
        }
        Ok(())
    }

    /// Sends `events` for watcher `id` with header revision `rev`, after its
    /// filters; nothing if they filter out entirely.
    async fn emit(&mut self, id: i64, rev: i64, events: Vec<Event>) -> Flow {
        let Some(w) = self.watchers.get(&id) else { return Ok(()) };
        let events = w.prepare(self.node.store(), events);
        if events.is_empty() {
            return Ok(());
        }
        let fragment = w.fragment;
        let resp = WatchResponse { header: Some(self.node.header_at(rev)), watch_id: id, events, ..Default::default() };
        self.send(resp, fragment).await?;
        if let Some(due) = self.watchers.get_mut(&id).and_then(|w| w.progress_due.as_mut()) {
            *due = false;
        }
        Ok(())
    }

    /// Replays one window of history for the next watcher that needs it.
    async fn catch_up_step(&mut self) -> Flow {
        let Some(id) = self.catching.pop_front() else { return Ok(()) };
        let store = self.node.store().clone();
        let Some(w) = self.watchers.get_mut(&id) else { return Ok(()) };
        let Phase::CatchingUp(c) = &mut w.phase else { return Ok(()) };
        let until = c.until();
        match c.step(&store, &w.target).map_err(Stop::Failed)? {
            Step::Pending => {
                self.catching.push_back(id);
                // A long replay with nothing to send must not hog the worker.
                tokio::task::yield_now().await;
                Ok(())
            }
            Step::Batch { events, done } => {
                self.emit(id, until, events).await?;
                if done {
                    self.go_live(id).await
                } else {
                    self.catching.push_back(id);
                    Ok(())
                }
            }
            Step::Done => self.go_live(id).await,
            Step::Compacted(compact_revision) => {
                w.phase = Phase::Compacted;
                self.hub.unregister(w.reg);
                let resp = WatchResponse {
                    header: Some(self.node.header_at(0)),
                    watch_id: id,
                    compact_revision,
                    canceled: true,
                    ..Default::default()
                };
                self.send(resp, false).await
            }
        }
    }

    /// History is done: deliver what arrived meanwhile, then go live.
    async fn go_live(&mut self, id: i64) -> Flow {
        let Some(w) = self.watchers.get_mut(&id) else { return Ok(()) };
        let Phase::CatchingUp(c) = std::mem::replace(&mut w.phase, Phase::Live) else { return Ok(()) };
        for msg in c.buffered {
            if let HubMsg::Events { batch, picks, .. } = msg {
                self.emit_live(id, &batch, &picks).await?;
            }
        }
        Ok(())
    }
}
