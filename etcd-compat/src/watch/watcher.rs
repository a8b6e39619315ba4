//! One watcher of a stream: its options, its phase (replaying history, live,
//! or cancelled by compaction), and how its events are prepared for a
//! response (filters, then prev_kv as etcd's send loop fills it).

use super::catchup::CatchUp;
use super::filter::{is_create_event, Filters, Target};
use crate::mvcc::KvStore;
use crate::proto::mvccpb::Event;

pub enum Phase {
    /// Replaying history from storage; live events wait in the catch-up.
    CatchingUp(CatchUp),
    /// Receiving live events.
    Live,
    /// Its start revision was compacted; it gets nothing more but keeps its
    /// id until cancelled, as in etcd.
    Compacted,
}

pub struct Watcher {
    pub id: i64,
    /// Its registration in the hub.
    pub reg: u64,
    pub target: Target,
    pub filters: Filters,
    pub prev_kv: bool,
    pub fragment: bool,
    /// For `progress_notify` watchers: whether the next tick should send a
    /// progress notification (cleared when events were sent since).
    pub progress_due: Option<bool>,
    pub phase: Phase,
}

impl Watcher {
    pub fn is_live(&self) -> bool {
        matches!(self.phase, Phase::Live)
    }

    /// Drops filtered events and fills prev_kv if asked for.
    pub fn prepare(&self, store: &KvStore, events: Vec<Event>) -> Vec<Event> {
        let mut out: Vec<Event> = events.into_iter().filter(|e| self.filters.keeps(e)).collect();
        if self.prev_kv {
            for ev in &mut out {
                attach_prev_kv(store, ev);
            }
        }
        out
    }
}

/// Sets `prev_kv` to the key's value just before the event, as etcd does: not
/// for creations, and not when that revision is compacted or unreadable.
pub fn attach_prev_kv(store: &KvStore, ev: &mut Event) {
    if is_create_event(ev) {
        return;
    }
    let Some(kv) = &ev.kv else { return };
    if kv.mod_revision - 1 < store.compact_rev() {
        return;
    }
    if let Ok(prev) = store.prev_kv(&kv.key, kv.mod_revision) {
        ev.prev_kv = prev;
    }
}

/// The picked events of a commit, grouped by revision (one response each,
/// as etcd notifies once per write txn).
pub fn by_revision(batch: &[Event], picks: &[u32]) -> Vec<(i64, Vec<Event>)> {
    let mut out: Vec<(i64, Vec<Event>)> = Vec::new();
    for ev in picks.iter().filter_map(|&i| batch.get(i as usize)) {
        let rev = ev.kv.as_ref().map_or(0, |kv| kv.mod_revision);
        match out.last_mut() {
            Some((r, evs)) if *r == rev => evs.push(ev.clone()),
            _ => out.push((rev, vec![ev.clone()])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::mvcc::{KeyRange, Writer};
    use crate::proto::mvccpb::event::EventType;
    use crate::proto::mvccpb::KeyValue;
    use crate::storage::MemoryEngine;

    fn ev(t: EventType, key: &str, rev: i64) -> Event {
        let kv = KeyValue { key: key.into(), mod_revision: rev, ..Default::default() };
        Event { r#type: t as i32, kv: Some(kv), prev_kv: None }
    }

    #[test]
    fn groups_by_revision() {
        let batch = vec![
            ev(EventType::Put, "a", 2),
            ev(EventType::Put, "b", 2),
            ev(EventType::Put, "a", 3),
            ev(EventType::Delete, "a", 4),
        ];
        let g = by_revision(&batch, &[0, 1, 3]);
        assert_eq!(g.iter().map(|(r, e)| (*r, e.len())).collect::<Vec<_>>(), vec![(2, 2), (4, 1)]);
    }

    #[test]
    fn prev_kv_and_filters() {
        let (store, _) = KvStore::open(Arc::new(MemoryEngine::new())).unwrap();
        let store = Arc::new(store);
        let mut w = Writer::new(store.clone());
        for v in ["1", "2"] {
            let mut t = w.begin();
            t.put(b"k", v.into(), 0);
            t.end();
        }
        let mut t = w.begin();
        t.delete_range(KeyRange::Single(b"k"));
        t.end();
        let events = w.flush().unwrap();
        assert_eq!(events.len(), 3);

        let watcher = Watcher {
            id: 0,
            reg: 1,
            target: Target::new(b"k".to_vec(), vec![]),
            filters: Filters::default(),
            prev_kv: true,
            fragment: false,
            progress_due: None,
            phase: Phase::Live,
        };
        let out = watcher.prepare(&store, events.clone());
        assert_eq!(out[0].prev_kv, None, "a creation has no prev_kv");
        assert_eq!(out[1].prev_kv.as_ref().map(|kv| kv.value.clone()), Some(b"1".to_vec()));
        assert_eq!(out[2].prev_kv.as_ref().map(|kv| kv.value.clone()), Some(b"2".to_vec()));

        let no_put = Watcher { filters: Filters { no_put: true, no_delete: false }, prev_kv: false, ..watcher };
        let out = no_put.prepare(&store, events);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].r#type, EventType::Delete as i32);
        assert_eq!(out[0].prev_kv, None);
    }
}
