//! The watch cache: one per resource prefix, it lists the prefix once (paged,
//! at one revision), then follows a watch from the list revision + 1 and
//! serves GET, LIST and WATCH from memory.
//!
//! - Objects live in a `BTreeMap<key, Arc<CachedObject>>` under a
//!   `parking_lot::RwLock`, so a namespace is a key range and a LIST clones
//!   `Arc`s only. Objects keep their JSON as `Bytes` (no parsed value).
//! - A bounded ring of recent events lets a watch resume from an older
//!   revision; older than the ring → `Compacted` (the client relists).
//! - Fan-out is one `tokio::sync::broadcast` channel: a send is O(1) whatever
//!   the number of watchers, and a watcher that falls more than its capacity
//!   behind is ended (not buffered without bound).
//! - Events are applied and broadcast under the write lock, and a watch takes
//!   its backlog and subscribes under the read lock, so backlog and live events
//!   join without gap or duplicate.
//! - On a watch error or compaction the cache relists; current watchers see
//!   their stream end and relist too.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use parking_lot::RwLock;
use tokio::sync::{broadcast, watch, Notify};
use tokio::time::Instant;

use super::{Backend, EventKind, KeyValue, ProgressWatch, StorageError, StorageResult, WatchEvent, WatchItem};

mod watcher;
pub use watcher::CacheWatch;

#[cfg(test)]
mod tests;

/// One cached object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedObject {
    /// Full etcd key.
    pub key: String,
    pub namespace: String,
    pub name: String,
    pub mod_revision: i64,
    /// The object's JSON with `metadata.resourceVersion` already set.
    pub json: bytes::Bytes,
    /// Sorted.
    pub labels: Vec<(String, String)>,
    /// Selectable fields.
    pub fields: Vec<(&'static str, String)>,
}

/// Turns a stored key-value into a cached object (None: skip it).
pub type Decoder = Arc<dyn Fn(&KeyValue) -> Option<CachedObject> + Send + Sync>;

/// One change. For a delete, `object` is the last state re-stamped with the
/// delete revision and `prev` the last state as it was.
#[derive(Debug)]
pub struct CacheEvent {
    pub kind: EventKind,
    pub object: Arc<CachedObject>,
    pub prev: Option<Arc<CachedObject>>,
    pub revision: i64,
}

/// One LIST answer.
#[derive(Debug, Clone, Default)]
pub struct CacheList {
    pub items: Vec<Arc<CachedObject>>,
    /// The cache revision the list was read at.
    pub revision: i64,
    /// More matching objects follow the last item.
    pub more: bool,
    /// How many matching objects follow the last item.
    pub remaining: usize,
}

/// Tuning for [`WatchCache::start_with`].
#[derive(Debug, Clone, Copy)]
pub struct CacheOptions {
    /// Recent events kept for watches that resume from an older revision.
    pub history: usize,
    /// Events a watcher may fall behind before it is ended. The broadcast
    /// ring is allocated up front (about 40 bytes a slot), so size it per
    /// resource: large for pods, small for rarely changing kinds.
    pub fanout: usize,
    /// Keys per page of the initial list.
    pub page_size: i64,
}

impl Default for CacheOptions {
    fn default() -> Self {
        Self { history: 10_000, fanout: 8_192, page_size: 10_000 }
    }
}

struct Store {
    objects: BTreeMap<String, Arc<CachedObject>>,
    history: VecDeque<Arc<CacheEvent>>,
    /// The oldest revision a watch can start from (events after it are all in `history`).
    floor: i64,
    revision: i64,
    fanout: broadcast::Sender<Arc<CacheEvent>>,
    ready: bool,
}

struct Shared {
    backend: Arc<dyn Backend>,
    prefix: String,
    decoder: Decoder,
    opts: CacheOptions,
    store: RwLock<Store>,
    /// The newest revision applied, published after the events are broadcast.
    rev_tx: watch::Sender<i64>,
    ready_tx: watch::Sender<bool>,
    /// Coalesced requests for an etcd progress notification.
    progress_wanted: Notify,
}

/// The watch cache of one prefix. Dropping the last handle stops it.
pub struct WatchCache {
    shared: Arc<Shared>,
    task: Option<tokio::task::AbortHandle>,
}

impl Drop for WatchCache {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

/// How often a waiter repeats its progress request (etcd ignores one sent
/// while the watch is catching up).
const PROGRESS_RETRY: Duration = Duration::from_millis(25);

impl WatchCache {
    /// Starts caching `prefix` with `history` events of resumable history.
    pub fn start(backend: Arc<dyn Backend>, prefix: String, decoder: Decoder, history: usize) -> Arc<Self> {
        Self::start_with(backend, prefix, decoder, CacheOptions { history, ..CacheOptions::default() })
    }

    /// Like [`WatchCache::start`], with all the knobs.
    pub fn start_with(backend: Arc<dyn Backend>, prefix: String, decoder: Decoder, opts: CacheOptions) -> Arc<Self> {
        let (fanout, _) = broadcast::channel(opts.fanout.max(1));
        let store =
            Store { objects: BTreeMap::new(), history: VecDeque::new(), floor: 0, revision: 0, fanout, ready: false };
        let shared = Arc::new(Shared {
            backend,
            prefix,
            decoder,
            opts,
            store: RwLock::new(store),
            rev_tx: watch::Sender::new(0),
            ready_tx: watch::Sender::new(false),
            progress_wanted: Notify::new(),
        });
        let task = match tokio::runtime::Handle::try_current() {
            Ok(rt) => Some(rt.spawn(shared.clone().run()).abort_handle()),
            Err(e) => {
                // Never ready: its watches fail with Unavailable.
                tracing::error!(prefix = %shared.prefix, "watch cache started outside a tokio runtime: {e}");
                None
            }
        };
        Arc::new(Self { shared, task })
    }

    /// Resolves once the initial list is loaded.
    pub async fn ready(&self) {
        let mut rx = self.shared.ready_tx.subscribe();
        let _ = rx.wait_for(|r| *r).await;
    }

    /// The newest revision applied.
    pub fn revision(&self) -> i64 {
        *self.shared.rev_tx.borrow()
    }

    /// Waits until the cache has applied `rev`, asking etcd for progress so a
    /// revision from a write elsewhere in the store is reached too.
    pub async fn wait_for_revision(&self, rev: i64, timeout: Duration) -> StorageResult<()> {
        self.shared.wait_for(rev, Instant::now() + timeout).await.map(|_| ())
    }

    /// Kube's consistent read from cache: the store's current revision, once
    /// the cache has caught up with it. Returns the cache revision (>= it).
    pub async fn consistent_revision(&self, timeout: Duration) -> StorageResult<i64> {
        let deadline = Instant::now() + timeout;
        let rev = match tokio::time::timeout_at(deadline, self.shared.backend.current_revision()).await {
            Ok(r) => r?,
            Err(_) => return Err(StorageError::Timeout("reading the current revision timed out".into())),
        };
        self.shared.wait_for(rev, deadline).await
    }

    pub fn get(&self, key: &str) -> Option<Arc<CachedObject>> {
        self.shared.store.read().objects.get(key).cloned()
    }

    /// Objects whose key starts with `key_prefix`, after `start_after`
    /// (exclusive), matching `filter`, at most `limit` (0 = all).
    pub fn list(
        &self,
        key_prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        filter: &dyn Fn(&CachedObject) -> bool,
    ) -> CacheList {
        let st = self.shared.store.read();
        let lower = match start_after {
            Some(s) if s >= key_prefix => Bound::Excluded(s),
            _ => Bound::Included(key_prefix),
        };
        let mut out = CacheList { revision: st.revision, ..CacheList::default() };
        for (key, obj) in st.objects.range::<str, _>((lower, Bound::Unbounded)) {
            if !key.starts_with(key_prefix) {
                break;
            }
            if !filter(obj) {
                continue;
            }
            if limit == 0 || out.items.len() < limit {
                out.items.push(obj.clone());
            } else {
                out.more = true;
                out.remaining += 1;
            }
        }
        out
    }

    /// Events after `from_revision` (0 = from now): the backlog from history,
    /// then live. Older than the history window → `Compacted`; a revision
    /// newer than the cache's is accepted (events up to it are skipped).
    pub fn watch(&self, from_revision: i64) -> StorageResult<CacheWatch> {
        let st = self.shared.store.read();
        if !st.ready {
            return Err(StorageError::Unavailable("the watch cache is not ready".into()));
        }
        let rx = st.fanout.subscribe();
        let rev_rx = self.shared.rev_tx.subscribe();
        if from_revision == 0 {
            return Ok(CacheWatch::new(VecDeque::new(), rx, st.revision, rev_rx));
        }
        if from_revision < st.floor {
            return Err(StorageError::Compacted { compact_revision: st.floor });
        }
        let idx = st.history.partition_point(|e| e.revision <= from_revision);
        let backlog: VecDeque<_> = st.history.range(idx..).cloned().collect();
        Ok(CacheWatch::new(backlog, rx, from_revision, rev_rx))
    }

    /// Objects cached.
    pub fn len(&self) -> usize {
        self.shared.store.read().objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The prefix this cache holds.
    pub fn prefix(&self) -> &str {
        &self.shared.prefix
    }
}

/// A decoded change, ready to apply under the lock.
struct Decoded {
    kind: EventKind,
    key: String,
    revision: i64,
    /// Put: the new state; delete: the last state re-stamped with the delete revision.
    object: Option<Arc<CachedObject>>,
}

impl Shared {
    async fn run(self: Arc<Self>) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let rev = match self.relist().await {
                Ok(rev) => {
                    backoff = Duration::from_millis(100);
                    rev
                }
                Err(e) => {
                    tracing::warn!(prefix = %self.prefix, "watch cache list failed: {e}");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                    continue;
                }
            };
            let err = self.follow(rev).await;
            tracing::warn!(prefix = %self.prefix, "watch cache relisting: {err}");
        }
    }

    /// Lists the prefix page by page at one revision, then swaps it in.
    async fn relist(self: &Arc<Self>) -> StorageResult<i64> {
        let mut objects = BTreeMap::new();
        let mut rev = 0;
        let mut start = String::new();
        loop {
            let page = self.backend.list(&self.prefix, &start, self.opts.page_size, rev).await?;
            if rev == 0 {
                rev = page.revision;
            }
            let next = match (page.more, page.kvs.last()) {
                (true, Some(kv)) => Some(format!("{}\0", kv.key)),
                _ => None,
            };
            // Decoding is CPU work (JSON); keep it off the async workers.
            let me = self.clone();
            let decoded = tokio::task::spawn_blocking(move || me.decode_page(page.kvs))
                .await
                .map_err(|e| StorageError::Unavailable(format!("decoding a list page failed: {e}")))?;
            objects.extend(decoded);
            match next {
                Some(n) => start = n,
                None => break,
            }
        }
        let mut st = self.store.write();
        st.objects = objects;
        st.history.clear();
        st.floor = rev;
        st.revision = rev;
        st.ready = true;
        // A new channel: current watchers drain and see their stream end.
        st.fanout = broadcast::channel(self.opts.fanout.max(1)).0;
        drop(st);
        self.rev_tx.send_replace(rev);
        self.ready_tx.send_replace(true);
        Ok(rev)
    }

    /// Decodes a list page, reusing cached objects that did not change.
    fn decode_page(&self, kvs: Vec<KeyValue>) -> Vec<(String, Arc<CachedObject>)> {
        let mut out = Vec::with_capacity(kvs.len());
        let st = self.store.read();
        for kv in kvs {
            if let Some(old) = st.objects.get(&kv.key).filter(|o| o.mod_revision == kv.mod_revision) {
                out.push((kv.key, old.clone()));
            } else if let Some(obj) = (self.decoder)(&kv) {
                out.push((kv.key, Arc::new(obj)));
            } else {
                tracing::warn!(key = %kv.key, "watch cache could not decode an object; skipping it");
            }
        }
        out
    }

    /// Follows the watch from `rev + 1` until it fails.
    async fn follow(&self, rev: i64) -> StorageError {
        let ProgressWatch { mut stream, request_progress } = self.backend.watch_with_progress(&self.prefix, rev + 1);
        loop {
            tokio::select! {
                item = stream.next() => match item {
                    Some(Ok(WatchItem::Events(events))) => self.apply(events),
                    Some(Ok(WatchItem::Progress(r))) => self.advance(r),
                    Some(Err(e)) => return e,
                    None => return StorageError::Unavailable("the watch ended".into()),
                },
                _ = self.progress_wanted.notified() => request_progress(),
            }
        }
    }

    fn decode_event(&self, ev: WatchEvent) -> Decoded {
        let object = match (ev.kind, &ev.prev) {
            (EventKind::Put, _) => (self.decoder)(&ev.kv),
            (EventKind::Delete, Some(prev)) => {
                (self.decoder)(&KeyValue { mod_revision: ev.kv.mod_revision, ..prev.clone() })
            }
            (EventKind::Delete, None) => None,
        };
        Decoded { kind: ev.kind, key: ev.kv.key, revision: ev.kv.mod_revision, object: object.map(Arc::new) }
    }

    fn apply(&self, events: Vec<WatchEvent>) {
        // Decode before taking the lock: readers are not held up by JSON work.
        let decoded: Vec<Decoded> = events.into_iter().map(|e| self.decode_event(e)).collect();
        let mut guard = self.store.write();
        let st = &mut *guard;
        for d in decoded {
            st.revision = st.revision.max(d.revision);
            let event = match (d.kind, d.object) {
                (EventKind::Put, Some(obj)) => {
                    let prev = st.objects.insert(d.key, obj.clone());
                    CacheEvent { kind: EventKind::Put, object: obj, prev, revision: d.revision }
                }
                (EventKind::Put, None) => {
                    tracing::warn!(key = %d.key, "watch cache could not decode an update; dropping the object");
                    st.objects.remove(&d.key);
                    continue;
                }
                (EventKind::Delete, restamped) => {
                    let Some(prev) = st.objects.remove(&d.key) else { continue };
                    let object = restamped.unwrap_or_else(|| prev.clone());
                    CacheEvent { kind: EventKind::Delete, object, prev: Some(prev), revision: d.revision }
                }
            };
            let event = Arc::new(event);
            if self.opts.history == 0 {
                st.floor = d.revision;
            } else {
                st.history.push_back(event.clone());
                while st.history.len() > self.opts.history {
                    if let Some(old) = st.history.pop_front() {
                        st.floor = old.revision;
                    }
                }
            }
            // No receivers is not an error.
            let _ = st.fanout.send(event);
        }
        let rev = st.revision;
        drop(guard);
        self.rev_tx.send_if_modified(|r| {
            let changed = rev > *r;
            *r = (*r).max(rev);
            changed
        });
    }

    /// A progress notification: nothing at or below `rev` is pending.
    fn advance(&self, rev: i64) {
        {
            let mut st = self.store.write();
            if rev <= st.revision {
                return;
            }
            st.revision = rev;
        }
        self.rev_tx.send_if_modified(|r| {
            let changed = rev > *r;
            *r = (*r).max(rev);
            changed
        });
    }

    /// Waits until the cache reaches `rev`, repeating progress requests.
    async fn wait_for(&self, rev: i64, deadline: Instant) -> StorageResult<i64> {
        let mut rx = self.rev_tx.subscribe();
        loop {
            let cur = *rx.borrow_and_update();
            if cur >= rev {
                return Ok(cur);
            }
            if Instant::now() >= deadline {
                return Err(StorageError::Timeout(format!("Too large resource version: {rev}, current: {cur}")));
            }
            self.progress_wanted.notify_one();
            let wake = deadline.min(Instant::now() + PROGRESS_RETRY);
            if let Ok(Err(_)) = tokio::time::timeout_at(wake, rx.changed()).await {
                return Err(StorageError::Unavailable("the watch cache stopped".into()));
            }
        }
    }
}
