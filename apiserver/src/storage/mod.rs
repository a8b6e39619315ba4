//! The apiserver's storage seam. `Backend` is the etcd v3 surface the API
//! server needs, in kube-apiserver's transaction shapes (create = compare
//! mod_revision == 0; update/delete = compare mod_revision == N). `etcd.rs`
//! talks to etcd-compat or a real etcd; `memory.rs` is the in-memory double for
//! unit tests; `cache.rs` is the watch cache that serves lists and watches.

pub mod cache;
/// Shared Backend conformance suite (test support; public so `tests/it` can run it).
#[doc(hidden)]
pub mod conformance;
pub mod etcd;
pub mod memory;
pub mod stored_json;

pub use cache::{CacheEvent, CacheList, CacheWatch, CachedObject, Decoder, WatchCache};
pub use etcd::EtcdBackend;
pub use memory::MemoryBackend;

use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::StreamExt;

/// One stored key, as etcd returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Bytes,
    pub create_revision: i64,
    pub mod_revision: i64,
}

/// One page of a range read.
#[derive(Debug, Clone, Default)]
pub struct ListResult {
    pub kvs: Vec<KeyValue>,
    /// The store revision the read was served at: etcd's header revision for a
    /// read at the latest revision, else the requested revision.
    pub revision: i64,
    /// More keys remain after the last one returned.
    pub more: bool,
    /// Keys in the whole range `[start, prefix_end)` (etcd's count), including
    /// ones not returned.
    pub count: i64,
}

/// Result of a guarded write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnOutcome {
    /// The write happened; the key's new state (for a delete: the deleted
    /// value, with `mod_revision` set to the revision of the delete).
    Done(KeyValue),
    /// The compare failed; the key's current state (None: absent).
    Conflict(Option<KeyValue>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Put,
    Delete,
}

/// One change from a watch, with the previous value (etcd's `prev_kv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEvent {
    pub kind: EventKind,
    /// For a delete: the key, an empty value and `mod_revision` = the delete's revision.
    pub kv: KeyValue,
    pub prev: Option<KeyValue>,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StorageError {
    /// The requested revision was compacted (etcd: `mvcc: required revision has been compacted`).
    #[error("required revision has been compacted (compact revision {compact_revision})")]
    Compacted { compact_revision: i64 },
    /// The requested revision is newer than the store's.
    #[error("required revision is a future revision")]
    FutureRevision,
    #[error("storage request timed out: {0}")]
    Timeout(String),
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Any other error from etcd, with its gRPC code and message.
    #[error("etcd error {code}: {message}")]
    Etcd { code: i32, message: String },
}

pub type StorageResult<T> = Result<T, StorageError>;

/// One item of a progress-aware watch ([`Backend::watch_with_progress`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchItem {
    /// Changes, in revision order (what [`Backend::watch`] yields).
    Events(Vec<WatchEvent>),
    /// Every change under the prefix up to this revision has been delivered
    /// (etcd's progress notification).
    Progress(i64),
}

/// A watch that can be asked for progress notifications; the watch cache uses
/// it to learn that the store moved on without changes under its prefix.
pub struct ProgressWatch {
    pub stream: BoxStream<'static, StorageResult<WatchItem>>,
    /// Asks for a [`WatchItem::Progress`] as soon as the watch is caught up
    /// (etcd answers a progress request only when its watchers are synced, so
    /// callers repeat it while they wait).
    pub request_progress: Arc<dyn Fn() + Send + Sync>,
}

/// The etcd operations the API server uses. Keys are full etcd keys (prefix included).
pub trait Backend: Send + Sync + 'static {
    /// Linearizable read of one key; also returns the store revision.
    fn get(&self, key: &str) -> BoxFuture<'_, StorageResult<(Option<KeyValue>, i64)>>;

    /// Keys in `[start, prefix_end(prefix))` in key order, at most `limit` (0 = all),
    /// at `revision` (0 = latest, linearizable).
    fn list(&self, prefix: &str, start: &str, limit: i64, revision: i64) -> BoxFuture<'_, StorageResult<ListResult>>;

    /// Number of keys under a prefix, and the revision.
    fn count(&self, prefix: &str) -> BoxFuture<'_, StorageResult<(i64, i64)>>;

    /// Create if absent (compare mod_revision == 0).
    fn create(&self, key: &str, value: Bytes) -> BoxFuture<'_, StorageResult<TxnOutcome>>;

    /// Replace if the key's mod_revision is `expected` (compare mod_revision == expected).
    fn update(&self, key: &str, value: Bytes, expected: i64) -> BoxFuture<'_, StorageResult<TxnOutcome>>;

    /// Delete if the key's mod_revision is `expected` (0 = unconditionally, if present).
    fn delete(&self, key: &str, expected: i64) -> BoxFuture<'_, StorageResult<TxnOutcome>>;

    /// Changes under `prefix` from `from_revision` (inclusive) onward, with prev values.
    /// A compacted start yields one `Err(Compacted)` and ends.
    fn watch(&self, prefix: &str, from_revision: i64) -> BoxStream<'static, StorageResult<Vec<WatchEvent>>>;

    /// The current store revision (linearizable).
    fn current_revision(&self) -> BoxFuture<'_, StorageResult<i64>>;

    /// Compact history up to `revision`.
    fn compact(&self, revision: i64) -> BoxFuture<'_, StorageResult<()>>;

    /// Like [`Backend::watch`], plus progress notifications on request. The
    /// default adapts `watch` and never reports progress, so a wrapper around
    /// another backend must forward this method: the watch cache's consistent
    /// reads (`consistent_revision`) rely on it.
    fn watch_with_progress(&self, prefix: &str, from_revision: i64) -> ProgressWatch {
        let stream = self.watch(prefix, from_revision).map(|r| r.map(WatchItem::Events)).boxed();
        ProgressWatch { stream, request_progress: Arc::new(|| {}) }
    }
}

/// The end of the range of keys starting with `prefix` (etcd's prefix_end).
pub fn prefix_end(prefix: &str) -> Vec<u8> {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}
