//! The hub: every registered watcher, and the fan-out of committed events.
//!
//! The applier calls [`WatchHub::notify`] after each durable commit, in
//! revision order. Under the hub lock each matching watcher gets its events
//! queued on its stream's unbounded channel, so a slow client never blocks
//! the applier. A watcher only accepts events at or after its `next_rev`;
//! registering reads the store's revision under the same lock, so history up
//! to that revision comes from storage and everything after it from here,
//! without gap or overlap.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::mpsc;

use super::filter::Target;
use crate::proto::mvccpb::Event;

/// etcd's default progress report interval.
pub const DEFAULT_PROGRESS_INTERVAL: Duration = Duration::from_secs(600);
/// etcd's floor for the progress interval.
pub const MIN_PROGRESS_INTERVAL: Duration = Duration::from_millis(100);

/// What the hub queues for a stream.
#[derive(Debug)]
pub enum HubMsg {
    /// Events of one commit for one watcher: the positions in `batch`
    /// (shared by every watcher of the commit) that match it.
    Events { reg: u64, batch: Arc<[Event]>, picks: Vec<u32> },
    /// A progress notification at `rev`: every event up to `rev` for the
    /// watchers it covers has been queued before it. `reg` names the one
    /// watcher it is for, or is `None` for a whole-stream progress request.
    Progress { reg: Option<u64>, watch_id: i64, rev: i64 },
}

struct Entry {
    stream: u64,
    target: Target,
    /// The requested start revision (0 = from now).
    start_rev: i64,
    /// The smallest revision this watcher still accepts.
    next_rev: i64,
    tx: mpsc::UnboundedSender<HubMsg>,
}

#[derive(Default)]
struct Inner {
    /// Newest revision whose events have all been handed out.
    rev: i64,
    streams: HashMap<u64, mpsc::UnboundedSender<HubMsg>>,
    entries: HashMap<u64, Entry>,
    /// Single-key watchers by key.
    by_key: HashMap<Vec<u8>, HashSet<u64>>,
    /// Range watchers.
    ranges: HashSet<u64>,
}

/// Receives every committed batch of events, in revision order, and hands
/// them to the watchers they match.
pub struct WatchHub {
    inner: Mutex<Inner>,
    next_id: AtomicU64,
    progress_interval: Mutex<Duration>,
}

impl Default for WatchHub {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            next_id: AtomicU64::new(1),
            progress_interval: Mutex::new(DEFAULT_PROGRESS_INTERVAL),
        }
    }
}

impl WatchHub {
    pub fn new() -> Self {
        Self::default()
    }

    /// A hub that knows every event up to `rev` is already durable and
    /// needs no fan-out (the store's revision when it was opened).
    pub fn at(rev: i64) -> Self {
        let hub = Self::default();
        hub.inner.lock().rev = rev;
        hub
    }

    /// Raises the revision the hub considers handed out, if it was created
    /// without one (see [`WatchHub::at`]). Never lowers it.
    pub fn seed_rev(&self, rev: i64) {
        let mut inner = self.inner.lock();
        inner.rev = inner.rev.max(rev);
    }

    /// Newest revision whose events have all been handed out.
    pub fn rev(&self) -> i64 {
        self.inner.lock().rev
    }

    /// How often watchers with `progress_notify` get a progress notification
    /// when idle (etcd's `--experimental-watch-progress-notify-interval`).
    /// Applies to streams opened afterwards; the floor is 100 ms, as in etcd.
    pub fn set_progress_interval(&self, d: Duration) {
        *self.progress_interval.lock() = d.max(MIN_PROGRESS_INTERVAL);
    }

    pub fn progress_interval(&self) -> Duration {
        *self.progress_interval.lock()
    }

    /// Number of registered watchers (all streams).
    pub fn watcher_count(&self) -> usize {
        self.inner.lock().entries.len()
    }

    /// Opens a stream: its id and the channel its watchers' messages arrive on.
    pub fn open_stream(&self) -> (u64, mpsc::UnboundedReceiver<HubMsg>) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::unbounded_channel();
        self.inner.lock().streams.insert(id, tx);
        (id, rx)
    }

    /// Drops a stream and every watcher on it.
    pub fn close_stream(&self, stream: u64) {
        let mut inner = self.inner.lock();
        inner.streams.remove(&stream);
        let regs: Vec<u64> = inner.entries.iter().filter(|(_, e)| e.stream == stream).map(|(r, _)| *r).collect();
        for reg in regs {
            inner.remove(reg);
        }
    }

    /// A fresh registration id (unique in this hub).
    pub fn next_reg(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers watcher `reg` on `stream`. `current_rev` is read under the
    /// hub lock; the watcher then accepts live events after that revision
    /// (and not before `start_rev`). Returns that revision: events up to it
    /// must come from storage. Returns `None` if the stream is closed.
    pub fn register(
        &self,
        stream: u64,
        reg: u64,
        target: Target,
        start_rev: i64,
        current_rev: impl FnOnce() -> i64,
    ) -> Option<i64> {
        let mut inner = self.inner.lock();
        let tx = inner.streams.get(&stream)?.clone();
        let base = current_rev();
        let next_rev = (base + 1).max(start_rev);
        if target.is_single() {
            inner.by_key.entry(target.key().to_vec()).or_default().insert(reg);
        } else {
            inner.ranges.insert(reg);
        }
        inner.entries.insert(reg, Entry { stream, target, start_rev, next_rev, tx });
        Some(base)
    }

    pub fn unregister(&self, reg: u64) {
        self.inner.lock().remove(reg);
    }

    /// Queues a progress notification for `regs` (all on `stream`), answered
    /// as `watch_id`, if each has reached its start revision. Returns false
    /// (and queues nothing) otherwise. With no watchers, nothing is queued.
    pub fn progress(&self, stream: u64, regs: &[u64], watch_id: i64, single: bool) -> bool {
        let inner = self.inner.lock();
        let rev = inner.rev;
        let ready = regs.iter().all(|r| inner.entries.get(r).is_some_and(|e| e.start_rev <= rev));
        if !ready {
            return false;
        }
        if let (Some(first), Some(tx)) = (regs.first(), inner.streams.get(&stream)) {
            let reg = single.then_some(*first);
            let _ = tx.send(HubMsg::Progress { reg, watch_id, rev });
        }
        true
    }

    /// Called by the applier after each durable flush, in revision order;
    /// `rev` is the newest revision in `events`. Never blocks on watchers.
    pub fn notify(&self, rev: i64, events: Vec<Event>) {
        let batch: Arc<[Event]> = events.into();
        let mut inner = self.inner.lock();
        inner.rev = inner.rev.max(rev);
        if inner.entries.is_empty() {
            return;
        }
        let Inner { entries, by_key, ranges, .. } = &mut *inner;
        let mut hits: HashMap<u64, Vec<u32>> = HashMap::new();
        for (i, ev) in batch.iter().enumerate() {
            let Some(kv) = &ev.kv else { continue };
            let mut hit = |reg: u64| {
                if entries.get(&reg).is_some_and(|e| kv.mod_revision >= e.next_rev) {
                    hits.entry(reg).or_default().push(i as u32);
                }
            };
            if let Some(regs) = by_key.get(&kv.key) {
                regs.iter().for_each(|&r| hit(r));
            }
            for &r in ranges.iter() {
                if entries.get(&r).is_some_and(|e| e.target.contains(&kv.key)) {
                    hit(r);
                }
            }
        }
        for (reg, picks) in hits {
            if let Some(e) = entries.get_mut(&reg) {
                e.next_rev = e.next_rev.max(rev + 1);
                let _ = e.tx.send(HubMsg::Events { reg, batch: batch.clone(), picks });
            }
        }
    }
}

impl Inner {
    fn remove(&mut self, reg: u64) {
        let Some(e) = self.entries.remove(&reg) else { return };
        if e.target.is_single() {
            if let Some(set) = self.by_key.get_mut(e.target.key()) {
                set.remove(&reg);
                if set.is_empty() {
                    self.by_key.remove(e.target.key());
                }
            }
        } else {
            self.ranges.remove(&reg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::mvccpb::{event::EventType, KeyValue};

    fn put(key: &str, rev: i64) -> Event {
        let kv =
            KeyValue { key: key.into(), mod_revision: rev, create_revision: rev, version: 1, ..Default::default() };
        Event { r#type: EventType::Put as i32, kv: Some(kv), prev_kv: None }
    }

    fn drain(rx: &mut mpsc::UnboundedReceiver<HubMsg>) -> Vec<(u64, Vec<i64>)> {
        let mut out = Vec::new();
        while let Ok(m) = rx.try_recv() {
            if let HubMsg::Events { reg, batch, picks } = m {
                let revs = picks.iter().map(|&i| batch[i as usize].kv.as_ref().unwrap().mod_revision).collect();
                out.push((reg, revs));
            }
        }
        out.sort();
        out
    }

    #[test]
    fn routes_by_key_and_range() {
        let hub = WatchHub::at(1);
        let (s, mut rx) = hub.open_stream();
        let one = hub.next_reg();
        let pre = hub.next_reg();
        assert_eq!(hub.register(s, one, Target::new(b"a".to_vec(), vec![]), 0, || 1), Some(1));
        hub.register(s, pre, Target::new(b"b".to_vec(), b"c".to_vec()), 0, || 1);
        hub.notify(4, vec![put("a", 2), put("b1", 3), put("c", 3), put("a", 4)]);
        assert_eq!(drain(&mut rx), vec![(one, vec![2, 4]), (pre, vec![3])]);
        assert_eq!(hub.rev(), 4);
        hub.unregister(one);
        hub.notify(5, vec![put("a", 5)]);
        assert!(drain(&mut rx).is_empty());
        hub.close_stream(s);
        assert_eq!(hub.watcher_count(), 0);
    }

    #[test]
    fn no_event_at_or_before_the_registration_revision() {
        let hub = WatchHub::at(1);
        let (s, mut rx) = hub.open_stream();
        let r = hub.next_reg();
        // The store is at 3 but the hub has only seen 1: events 2..=3 are in
        // storage, so a late notify of them must not reach the watcher.
        assert_eq!(hub.register(s, r, Target::new(b"k".to_vec(), vec![0]), 2, || 3), Some(3));
        hub.notify(4, vec![put("k", 2), put("k", 3), put("k", 4)]);
        assert_eq!(drain(&mut rx), vec![(r, vec![4])]);
    }

    #[test]
    fn future_start_revision_waits() {
        let hub = WatchHub::at(1);
        let (s, mut rx) = hub.open_stream();
        let r = hub.next_reg();
        hub.register(s, r, Target::new(b"k".to_vec(), vec![]), 4, || 1);
        assert!(!hub.progress(s, &[r], -1, false));
        hub.notify(3, vec![put("k", 2), put("k", 3)]);
        assert!(drain(&mut rx).is_empty());
        hub.notify(4, vec![put("k", 4)]);
        assert_eq!(drain(&mut rx), vec![(r, vec![4])]);
        assert!(hub.progress(s, &[r], -1, false));
        match rx.try_recv() {
            Ok(HubMsg::Progress { reg: None, watch_id: -1, rev: 4 }) => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn progress_without_watchers_sends_nothing() {
        let hub = WatchHub::at(7);
        let (s, mut rx) = hub.open_stream();
        assert!(hub.progress(s, &[], -1, false));
        assert!(rx.try_recv().is_err());
    }
}
