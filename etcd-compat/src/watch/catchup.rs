//! History replay for a watcher whose start revision is in the past: reads
//! events from storage up to the revision it registered at, in batches of at
//! most 1000 distinct revisions per response (etcd's `watchBatchMaxRevs`).
//! Live events that arrive meanwhile wait in `buffered`.

use std::collections::VecDeque;

use super::filter::Target;
use super::hub::HubMsg;
use crate::error::Result;
use crate::mvcc::KvStore;
use crate::proto::mvccpb::Event;

/// Most distinct revisions in one catch-up response.
pub const MAX_REVS_PER_BATCH: usize = 1000;
/// Revisions read from storage per step.
const WINDOW: i64 = 1000;

pub struct CatchUp {
    /// Next revision to read.
    next: i64,
    /// Last revision to read (the store revision at registration).
    until: i64,
    /// Events read but not yet sent.
    pending: Vec<Event>,
    /// Distinct revisions in `pending`.
    revs: usize,
    /// Live messages for this watcher, delivered once history is done.
    pub buffered: VecDeque<HubMsg>,
}

/// The outcome of one [`CatchUp::step`].
#[derive(Debug, PartialEq)]
pub enum Step {
    /// Nothing to send yet; call again.
    Pending,
    /// Send these events; `done` says history is complete after them.
    Batch { events: Vec<Event>, done: bool },
    /// History is complete with nothing more to send.
    Done,
    /// The next revision needed is below this compaction revision.
    Compacted(i64),
}

impl CatchUp {
    pub fn new(start: i64, until: i64) -> Self {
        Self { next: start, until, pending: Vec::new(), revs: 0, buffered: VecDeque::new() }
    }

    /// The revision history is read up to (the header revision etcd gives
    /// catch-up responses: the store revision they were read at).
    pub fn until(&self) -> i64 {
        self.until
    }

    /// Reads one window of history.
    pub fn step(&mut self, store: &KvStore, target: &Target) -> Result<Step> {
        if self.next > self.until {
            return Ok(self.finish());
        }
        let compacted = store.compact_rev();
        if self.next < compacted {
            return Ok(Step::Compacted(compacted));
        }
        let to = self.until.min(self.next.saturating_add(WINDOW - 1));
        let events = store.events(self.next, to, target.range())?;
        // A compaction that ran during the read may have removed part of it.
        let compacted = store.compact_rev();
        if self.next < compacted {
            return Ok(Step::Compacted(compacted));
        }
        self.next = to + 1;
        for ev in events {
            let rev = ev.kv.as_ref().map_or(0, |kv| kv.mod_revision);
            let last = self.pending.last().and_then(|e| e.kv.as_ref()).map(|kv| kv.mod_revision);
            if last != Some(rev) {
                if self.revs == MAX_REVS_PER_BATCH {
                    // Full: resume at this revision next time.
                    self.next = rev;
                    return Ok(self.take(false));
                }
                self.revs += 1;
            }
            self.pending.push(ev);
        }
        if self.next > self.until {
            return Ok(self.finish());
        }
        Ok(Step::Pending)
    }

    fn take(&mut self, done: bool) -> Step {
        self.revs = 0;
        Step::Batch { events: std::mem::take(&mut self.pending), done }
    }

    fn finish(&mut self) -> Step {
        if self.pending.is_empty() {
            Step::Done
        } else {
            self.take(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::mvcc::Writer;
    use crate::storage::MemoryEngine;

    fn store_with(revs: i64, key: impl Fn(i64) -> String) -> Arc<KvStore> {
        let (store, _) = KvStore::open(Arc::new(MemoryEngine::new())).unwrap();
        let store = Arc::new(store);
        let mut w = Writer::new(store.clone());
        for _ in 0..revs {
            let mut t = w.begin();
            let rev = t.begin_rev() + 1;
            t.put(key(rev).as_bytes(), b"v".to_vec(), 0);
            t.end();
        }
        w.flush().unwrap();
        store
    }

    fn revs(evs: &[Event]) -> Vec<i64> {
        evs.iter().map(|e| e.kv.as_ref().unwrap().mod_revision).collect()
    }

    #[test]
    fn replays_in_batches_of_at_most_1000_revisions() {
        let store = store_with(2500, |_| "k".into());
        let target = Target::new(b"k".to_vec(), vec![]);
        let mut c = CatchUp::new(2, store.current_rev());
        let mut got = Vec::new();
        loop {
            match c.step(&store, &target).unwrap() {
                Step::Pending => {}
                Step::Batch { events, done } => {
                    assert!(events.len() <= MAX_REVS_PER_BATCH);
                    got.push(revs(&events));
                    if done {
                        break;
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        assert_eq!(got.iter().map(Vec::len).collect::<Vec<_>>(), vec![1000, 1000, 500]);
        let all: Vec<i64> = got.concat();
        assert_eq!(all, (2..=2501).collect::<Vec<_>>());
    }

    #[test]
    fn sparse_keys_are_gathered_across_windows() {
        let store = store_with(3000, |rev| if rev % 500 == 0 { "hit".into() } else { "miss".into() });
        let target = Target::new(b"hit".to_vec(), vec![]);
        let mut c = CatchUp::new(1, store.current_rev());
        let mut steps = 0;
        let events = loop {
            steps += 1;
            match c.step(&store, &target).unwrap() {
                Step::Pending => {}
                Step::Batch { events, done: true } => break events,
                other => panic!("unexpected {other:?}"),
            }
        };
        assert!(steps > 1);
        assert_eq!(revs(&events), vec![500, 1000, 1500, 2000, 2500, 3000]);
    }

    #[test]
    fn nothing_to_replay_and_compaction() {
        let store = store_with(5, |_| "k".into());
        let other = Target::new(b"zzz".to_vec(), vec![]);
        let mut c = CatchUp::new(2, store.current_rev());
        assert_eq!(c.step(&store, &other).unwrap(), Step::Done);

        let mut w = Writer::new(store.clone());
        w.compact(4);
        w.flush().unwrap();
        let mut c = CatchUp::new(3, store.current_rev());
        assert_eq!(c.step(&store, &other).unwrap(), Step::Compacted(4));
        let mut c = CatchUp::new(4, store.current_rev());
        let target = Target::new(b"k".to_vec(), vec![]);
        match c.step(&store, &target).unwrap() {
            Step::Batch { events, done: true } => assert_eq!(revs(&events), vec![4, 5, 6]),
            other => panic!("unexpected {other:?}"),
        }
    }
}
