//! In-memory MVCC double of the etcd v3 surface, for unit tests of the API
//! server. It mirrors etcd's semantics closely enough for the conformance
//! suite: one revision per write (starting at 1, like an empty etcd), reads at
//! past revisions, compaction (`Compacted` below the compact revision,
//! `FutureRevision` above the current one), and watches that replay history
//! from a revision with previous values before going live.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio_stream::wrappers::UnboundedReceiverStream;

use super::{
    prefix_end, Backend, EventKind, KeyValue, ListResult, ProgressWatch, StorageError, StorageResult, TxnOutcome,
    WatchEvent, WatchItem,
};

/// The in-memory backend. Cloning shares the store.
#[derive(Clone, Default)]
pub struct MemoryBackend {
    state: Arc<Mutex<State>>,
}

struct Watcher {
    id: u64,
    prefix: String,
    tx: mpsc::UnboundedSender<StorageResult<WatchItem>>,
}

struct State {
    rev: i64,
    compacted: i64,
    current: BTreeMap<String, KeyValue>,
    /// Every change with revision >= `compacted`, oldest first (one per revision).
    log: VecDeque<WatchEvent>,
    watchers: Vec<Watcher>,
    next_watcher: u64,
}

impl Default for State {
    fn default() -> Self {
        // An empty etcd is at revision 1.
        Self {
            rev: 1,
            compacted: 0,
            current: BTreeMap::new(),
            log: VecDeque::new(),
            watchers: Vec::new(),
            next_watcher: 0,
        }
    }
}

/// `key` in `[start, end)`, where an end of `[0]` means "no upper bound" (etcd).
fn in_range(key: &str, start: &[u8], end: &[u8]) -> bool {
    let k = key.as_bytes();
    k >= start && (end == [0] || k < end)
}

impl State {
    fn record(&mut self, ev: WatchEvent) {
        self.watchers.retain(|w| !w.tx.is_closed());
        for w in &self.watchers {
            if ev.kv.key.starts_with(&w.prefix) {
                let _ = w.tx.send(Ok(WatchItem::Events(vec![ev.clone()])));
            }
        }
        self.log.push_back(ev);
    }

    fn put(&mut self, key: &str, value: Bytes) -> KeyValue {
        self.rev += 1;
        let prev = self.current.get(key).cloned();
        let kv = KeyValue {
            key: key.to_string(),
            value,
            create_revision: prev.as_ref().map_or(self.rev, |p| p.create_revision),
            mod_revision: self.rev,
        };
        self.current.insert(key.to_string(), kv.clone());
        self.record(WatchEvent { kind: EventKind::Put, kv: kv.clone(), prev });
        kv
    }

    fn delete(&mut self, key: &str) -> Option<KeyValue> {
        let prev = self.current.remove(key)?;
        self.rev += 1;
        let tombstone =
            KeyValue { key: key.to_string(), value: Bytes::new(), create_revision: 0, mod_revision: self.rev };
        let done = KeyValue { mod_revision: self.rev, ..prev.clone() };
        self.record(WatchEvent { kind: EventKind::Delete, kv: tombstone, prev: Some(prev) });
        Some(done)
    }

    fn check_read_revision(&self, revision: i64) -> StorageResult<()> {
        if revision > self.rev {
            return Err(StorageError::FutureRevision);
        }
        if revision > 0 && revision < self.compacted {
            return Err(StorageError::Compacted { compact_revision: self.compacted });
        }
        Ok(())
    }

    /// The first `limit` keys in `[start, end)` as of `revision` (0 = now),
    /// and how many there are: the current keys merged with the state before
    /// every later change (the oldest later change's previous value wins).
    fn page_at(&self, start: &str, end: &[u8], revision: i64, limit: usize) -> (Vec<KeyValue>, i64) {
        let below_end = |k: &str| end == [0] || k.as_bytes() < end;
        let mut now = self
            .current
            .range::<str, _>((Bound::Included(start), Bound::Unbounded))
            .take_while(|(k, _)| below_end(k))
            .peekable();
        let mut then: BTreeMap<&str, Option<&KeyValue>> = BTreeMap::new();
        if revision != 0 && revision != self.rev {
            for ev in self.log.iter().rev().take_while(|e| e.kv.mod_revision > revision) {
                if in_range(&ev.kv.key, start.as_bytes(), end) {
                    then.insert(&ev.kv.key, ev.prev.as_ref());
                }
            }
        }
        let mut then = then.into_iter().peekable();
        let (mut out, mut count) = (Vec::new(), 0);
        loop {
            let item = match (now.peek(), then.peek()) {
                (None, None) => break,
                (Some((a, _)), Some((b, _))) if a.as_str() == *b => {
                    now.next();
                    then.next().and_then(|(_, v)| v)
                }
                (Some((a, _)), Some((b, _))) if a.as_str() > *b => then.next().and_then(|(_, v)| v),
                (Some(_), _) => now.next().map(|(_, v)| v),
                (None, Some(_)) => then.next().and_then(|(_, v)| v),
            };
            if let Some(kv) = item {
                count += 1;
                if out.len() < limit {
                    out.push(kv.clone());
                }
            }
        }
        (out, count)
    }
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    fn start_watch(&self, prefix: &str, from_revision: i64) -> ProgressWatch {
        let (tx, rx) = mpsc::unbounded_channel();
        let stream = UnboundedReceiverStream::new(rx).boxed();
        let mut st = self.state.lock();
        if from_revision > 0 && from_revision < st.compacted {
            let _ = tx.send(Err(StorageError::Compacted { compact_revision: st.compacted }));
            return ProgressWatch { stream, request_progress: Arc::new(|| {}) };
        }
        let min = if from_revision == 0 { st.rev + 1 } else { from_revision };
        let backlog: Vec<WatchEvent> =
            st.log.iter().filter(|e| e.kv.mod_revision >= min && e.kv.key.starts_with(prefix)).cloned().collect();
        if !backlog.is_empty() {
            let _ = tx.send(Ok(WatchItem::Events(backlog)));
        }
        let id = st.next_watcher;
        st.next_watcher += 1;
        st.watchers.push(Watcher { id, prefix: prefix.to_string(), tx });
        drop(st);
        let state = Arc::downgrade(&self.state);
        // Sent under the store lock, so a progress item never overtakes an event.
        let request_progress = Arc::new(move || {
            if let Some(state) = state.upgrade() {
                let st = state.lock();
                if let Some(w) = st.watchers.iter().find(|w| w.id == id) {
                    let _ = w.tx.send(Ok(WatchItem::Progress(st.rev)));
                }
            }
        });
        ProgressWatch { stream, request_progress }
    }
}

impl Backend for MemoryBackend {
    fn get(&self, key: &str) -> BoxFuture<'_, StorageResult<(Option<KeyValue>, i64)>> {
        let st = self.state.lock();
        let out = (st.current.get(key).cloned(), st.rev);
        futures::future::ready(Ok(out)).boxed()
    }

    fn list(&self, prefix: &str, start: &str, limit: i64, revision: i64) -> BoxFuture<'_, StorageResult<ListResult>> {
        let st = self.state.lock();
        let result = st.check_read_revision(revision).map(|()| {
            let start = if start.is_empty() { prefix } else { start };
            let take = if limit > 0 { limit as usize } else { usize::MAX };
            let (kvs, count) = st.page_at(start, &prefix_end(prefix), revision, take);
            let more = (kvs.len() as i64) < count;
            ListResult { kvs, revision: if revision > 0 { revision } else { st.rev }, more, count }
        });
        futures::future::ready(result).boxed()
    }

    fn count(&self, prefix: &str) -> BoxFuture<'_, StorageResult<(i64, i64)>> {
        let st = self.state.lock();
        let end = prefix_end(prefix);
        let n = st.current.keys().filter(|k| in_range(k, prefix.as_bytes(), &end)).count() as i64;
        futures::future::ready(Ok((n, st.rev))).boxed()
    }

    fn create(&self, key: &str, value: Bytes) -> BoxFuture<'_, StorageResult<TxnOutcome>> {
        let mut st = self.state.lock();
        let out = match st.current.get(key) {
            Some(kv) => TxnOutcome::Conflict(Some(kv.clone())),
            None => TxnOutcome::Done(st.put(key, value)),
        };
        futures::future::ready(Ok(out)).boxed()
    }

    fn update(&self, key: &str, value: Bytes, expected: i64) -> BoxFuture<'_, StorageResult<TxnOutcome>> {
        let mut st = self.state.lock();
        let cur = st.current.get(key).cloned();
        let out = match cur {
            Some(kv) if kv.mod_revision == expected => TxnOutcome::Done(st.put(key, value)),
            other => TxnOutcome::Conflict(other),
        };
        futures::future::ready(Ok(out)).boxed()
    }

    fn delete(&self, key: &str, expected: i64) -> BoxFuture<'_, StorageResult<TxnOutcome>> {
        let mut st = self.state.lock();
        let cur = st.current.get(key).cloned();
        let out = match cur {
            Some(kv) if expected == 0 || kv.mod_revision == expected => match st.delete(key) {
                Some(done) => TxnOutcome::Done(done),
                None => TxnOutcome::Conflict(None),
            },
            other => TxnOutcome::Conflict(other),
        };
        futures::future::ready(Ok(out)).boxed()
    }

    fn watch(&self, prefix: &str, from_revision: i64) -> BoxStream<'static, StorageResult<Vec<WatchEvent>>> {
        self.start_watch(prefix, from_revision)
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
        let rev = self.state.lock().rev;
        futures::future::ready(Ok(rev)).boxed()
    }

    fn compact(&self, revision: i64) -> BoxFuture<'_, StorageResult<()>> {
        let mut st = self.state.lock();
        let result = if revision <= st.compacted {
            Err(StorageError::Compacted { compact_revision: st.compacted })
        } else if revision > st.rev {
            Err(StorageError::FutureRevision)
        } else {
            // Keep the change at `revision` itself: etcd still serves reads at
            // the compact revision and watches starting there.
            while st.log.front().is_some_and(|e| e.kv.mod_revision < revision) {
                st.log.pop_front();
            }
            st.compacted = revision;
            Ok(())
        };
        futures::future::ready(result).boxed()
    }

    fn watch_with_progress(&self, prefix: &str, from_revision: i64) -> ProgressWatch {
        self.start_watch(prefix, from_revision)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rand::{Rng, SeedableRng};

    use super::*;

    /// Reads at every past revision, from every start and with small limits,
    /// match snapshots taken as the writes happened.
    #[tokio::test]
    async fn reads_at_past_revisions_match_snapshots() {
        let be = MemoryBackend::new();
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut snapshots: BTreeMap<i64, BTreeMap<String, KeyValue>> = BTreeMap::new();
        for i in 0..300 {
            let key = format!("/p/{:02}", rng.gen_range(0..20));
            let (cur, _) = be.get(&key).await.unwrap();
            let out = match (cur, rng.gen_bool(0.3)) {
                (Some(c), true) => be.delete(&key, c.mod_revision).await.unwrap(),
                (Some(c), false) => be.update(&key, Bytes::from(format!("{i}")), c.mod_revision).await.unwrap(),
                (None, _) => be.create(&key, Bytes::from(format!("{i}"))).await.unwrap(),
            };
            assert!(matches!(out, TxnOutcome::Done(_)));
            let all = be.list("/p/", "", 0, 0).await.unwrap();
            snapshots.insert(all.revision, all.kvs.into_iter().map(|kv| (kv.key.clone(), kv)).collect());
        }
        be.compact(100).await.unwrap();
        for (rev, snap) in snapshots.range(100..) {
            for start in ["", "/p/05", "/p/10\0", "/p/19"] {
                let want: Vec<&KeyValue> =
                    snap.values().filter(|kv| start.is_empty() || kv.key.as_str() >= start).collect();
                let got = be.list("/p/", start, 3, *rev).await.unwrap();
                assert_eq!(got.count as usize, want.len(), "count at {rev} from {start:?}");
                assert_eq!(got.kvs.iter().collect::<Vec<_>>(), want.iter().take(3).copied().collect::<Vec<_>>());
                assert_eq!(got.more, want.len() > 3);
            }
        }
        assert!(matches!(be.list("/p/", "", 0, 99).await, Err(StorageError::Compacted { compact_revision: 100 })));
    }
}
