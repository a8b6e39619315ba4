//! The revision-keyed KV store: committed reads for servers, and the write side
//! ([`Writer`]/[`TxnWrite`]) that only the apply path uses.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use parking_lot::{RwLock, RwLockWriteGuard};
use prost::Message;

use super::key_index::KeyAt;
use super::{KeyRange, Revision, TreeIndex};
use crate::error::{Error, Result};
use crate::proto::mvccpb::{event::EventType, Event, KeyValue};
use crate::storage::{Engine, Table, WriteBatch};

/// Live keys with their lease, as found when the store was opened.
pub type LeasedKeys = Vec<(Vec<u8>, i64)>;

pub const META_CURRENT_REV: &[u8] = b"current_rev";
pub const META_COMPACT_REV: &[u8] = b"compact_rev";

#[derive(Debug, Clone, Copy, Default)]
pub struct RangeOptions {
    /// 0 = no limit.
    pub limit: usize,
    /// 0 = current revision.
    pub rev: i64,
    pub count_only: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RangeResult {
    pub kvs: Vec<KeyValue>,
    /// Keys in the range at the read revision, regardless of limit.
    pub count: usize,
    /// The store's current revision (what etcd puts in the header).
    pub rev: i64,
}

pub struct KvStore {
    engine: Arc<dyn Engine>,
    index: RwLock<TreeIndex>,
    /// Newest durable revision; readers never look past it.
    committed_rev: AtomicI64,
    compact_rev: AtomicI64,
}

fn decode_kv(bytes: &[u8]) -> Result<KeyValue> {
    Ok(KeyValue::decode(bytes)?)
}

fn read_i64(engine: &dyn Engine, key: &[u8], default: i64) -> Result<i64> {
    Ok(match engine.get(Table::Meta, key)? {
        Some(v) if v.len() == 8 => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&v);
            i64::from_be_bytes(b)
        }
        _ => default,
    })
}

/// Checks a requested read revision against the current and compacted ones.
fn resolve_rev(requested: i64, current: i64, compacted: i64) -> Result<i64> {
    if requested > current {
        return Err(Error::FutureRevision);
    }
    if requested <= 0 {
        return Ok(current);
    }
    if requested < compacted {
        return Err(Error::Compacted);
    }
    Ok(requested)
}

impl KvStore {
    /// Opens the store, rebuilding the index from the engine. Also returns the
    /// live keys that carry a lease, for the lessor to re-attach.
    pub fn open(engine: Arc<dyn Engine>) -> Result<(Self, LeasedKeys)> {
        let mut index = TreeIndex::new();
        let mut leased: HashMap<Vec<u8>, i64> = HashMap::new();
        let mut last = 0i64;
        let mut err = None;
        engine.scan(Table::Kv, &[], None, &mut |k, v| {
            let step = (|| -> Result<()> {
                let (rev, tomb) = Revision::from_key(k)?;
                let kv = decode_kv(v)?;
                if tomb {
                    index.tombstone(&kv.key, rev);
                    leased.remove(&kv.key);
                } else {
                    index.restore_put(&kv.key, rev, Revision::new(kv.create_revision, 0), kv.version);
                    if kv.lease != 0 {
                        leased.insert(kv.key, kv.lease);
                    } else {
                        leased.remove(&kv.key);
                    }
                }
                last = last.max(rev.main);
                Ok(())
            })();
            match step {
                Ok(()) => true,
                Err(e) => {
                    err = Some(e);
                    false
                }
            }
        })?;
        if let Some(e) = err {
            return Err(e);
        }
        let current = last.max(read_i64(engine.as_ref(), META_CURRENT_REV, 1)?).max(1);
        // -1: never compacted, as etcd's compactMainRev starts.
        let compacted = read_i64(engine.as_ref(), META_COMPACT_REV, -1)?;
        let store = Self {
            engine,
            index: RwLock::new(index),
            committed_rev: AtomicI64::new(current),
            compact_rev: AtomicI64::new(compacted),
        };
        Ok((store, leased.into_iter().collect()))
    }

    /// Rebuilds the index from the engine after its contents were replaced
    /// (a Raft snapshot install); returns the leased keys like [`KvStore::open`].
    pub fn reload(&self) -> Result<LeasedKeys> {
        let (fresh, leased) = Self::open(self.engine.clone())?;
        *self.index.write() = fresh.index.into_inner();
        self.committed_rev.store(fresh.committed_rev.into_inner(), Ordering::Release);
        self.compact_rev.store(fresh.compact_rev.into_inner(), Ordering::Release);
        Ok(leased)
    }

    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.engine
    }

    pub fn current_rev(&self) -> i64 {
        self.committed_rev.load(Ordering::Acquire)
    }

    pub fn compact_rev(&self) -> i64 {
        self.compact_rev.load(Ordering::Acquire)
    }

    /// A committed read.
    pub fn range(&self, range: KeyRange<'_>, opts: RangeOptions) -> Result<RangeResult> {
        let current = self.current_rev();
        let at = resolve_rev(opts.rev, current, self.compact_rev())?;
        let (count, picked) = {
            let index = self.index.read();
            collect(&index, range, at, opts)
        };
        let kvs = if opts.count_only { Vec::new() } else { self.fetch(&picked, |_| None)? };
        Ok(RangeResult { kvs, count, rev: current })
    }

    /// Values for `picked`: from `pending` (not yet durable) or from the engine.
    fn fetch(&self, picked: &[KeyAt], pending: impl Fn(&Revision) -> Option<KeyValue>) -> Result<Vec<KeyValue>> {
        let mut out: Vec<Option<KeyValue>> = picked.iter().map(|ka| pending(&ka.modified)).collect();
        let missing: Vec<usize> = (0..picked.len()).filter(|&i| out[i].is_none()).collect();
        if !missing.is_empty() {
            let keys: Vec<Vec<u8>> = missing.iter().map(|&i| picked[i].modified.to_key(false)).collect();
            let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
            let vals = self.engine.get_many(Table::Kv, &refs)?;
            for (&i, v) in missing.iter().zip(vals) {
                // A value gone from under a read means a compaction overtook it.
                let v = v.ok_or(Error::Compacted)?;
                out[i] = Some(decode_kv(&v)?);
            }
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// Events with revisions in `[from, to]` and keys in `range`, in revision order.
    pub fn events(&self, from: i64, to: i64, range: KeyRange<'_>) -> Result<Vec<Event>> {
        if from > to {
            return Ok(Vec::new());
        }
        let start = Revision::start_key(from.max(0));
        let end = Revision::start_key(to.saturating_add(1));
        let mut out = Vec::new();
        let mut err = None;
        self.engine.scan(Table::Kv, &start, Some(&end), &mut |k, v| match Revision::from_key(k)
            .and_then(|(rev, tomb)| Ok((rev, tomb, decode_kv(v)?)))
        {
            Ok((rev, tomb, mut kv)) => {
                if range.contains(&kv.key) {
                    let r#type = if tomb { EventType::Delete } else { EventType::Put };
                    if tomb {
                        kv.mod_revision = rev.main;
                    }
                    out.push(Event { r#type: r#type as i32, kv: Some(kv), prev_kv: None });
                }
                true
            }
            Err(e) => {
                err = Some(e);
                false
            }
        })?;
        match err {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// The value of `key` just before revision `rev` (for watch prev_kv).
    pub fn prev_kv(&self, key: &[u8], rev: i64) -> Result<Option<KeyValue>> {
        let ka = self.index.read().get(key, rev - 1);
        match ka {
            Some(ka) => Ok(self.fetch(&[ka], |_| None)?.pop()),
            None => Ok(None),
        }
    }
}

/// Picks the keys of a range at `at`: returns (count, picked up to limit).
fn collect(index: &TreeIndex, range: KeyRange<'_>, at: i64, opts: RangeOptions) -> (usize, Vec<KeyAt>) {
    let mut count = 0usize;
    let mut picked = Vec::new();
    index.visit(range, at, |_, ka| {
        count += 1;
        if !opts.count_only && (opts.limit == 0 || picked.len() < opts.limit) {
            picked.push(ka);
        }
        true
    });
    (count, picked)
}

/// The write side. Only the apply path owns one.
pub struct Writer {
    store: Arc<KvStore>,
    state: WriterState,
}

#[derive(Default)]
struct WriterState {
    /// Newest applied revision, durable or not.
    rev: i64,
    /// Values written since the last flush, readable by later txns in the batch
    /// (as indexes into `events`, so values are not copied twice).
    pending: HashMap<Revision, usize>,
    batch: WriteBatch,
    events: Vec<Event>,
}

impl Writer {
    pub fn new(store: Arc<KvStore>) -> Self {
        let rev = store.current_rev();
        Self { store, state: WriterState { rev, ..Default::default() } }
    }

    pub fn store(&self) -> &Arc<KvStore> {
        &self.store
    }

    /// Newest applied revision (may be ahead of the durable one until flush).
    pub fn rev(&self) -> i64 {
        self.state.rev
    }

    pub fn begin(&mut self) -> TxnWrite<'_> {
        let begin_rev = self.state.rev;
        TxnWrite { index: self.store.index.write(), store: &self.store, st: &mut self.state, begin_rev, changes: 0 }
    }

    /// Extra non-KV changes to commit with the batch (leases, auth, alarms).
    pub fn batch_mut(&mut self) -> &mut WriteBatch {
        &mut self.state.batch
    }

    /// Compacts history at `rev`; etcd's checks happen in the caller.
    pub fn compact(&mut self, rev: i64) {
        let removed = self.store.index.write().compact(rev);
        for (r, tomb) in removed {
            self.state.batch.delete(Table::Kv, r.to_key(tomb));
        }
        self.state.batch.put(Table::Meta, META_COMPACT_REV.to_vec(), rev.to_be_bytes().to_vec());
        // The newest revision is otherwise the last key of the KV table; a
        // compaction may delete that key, so record the revision here (and
        // only here: it saves a second B-tree update on every commit).
        let current = self.state.rev;
        self.state.batch.put(Table::Meta, META_CURRENT_REV.to_vec(), current.to_be_bytes().to_vec());
        self.store.compact_rev.store(rev, Ordering::Release);
    }

    /// Makes the batch durable, publishes the new revision, and returns the
    /// events to deliver to watchers.
    pub fn flush(&mut self) -> Result<Vec<Event>> {
        self.flush_with(true)
    }

    /// Like [`Writer::flush`]; with `sync == false` the engine commit does not
    /// wait for the disk (the Raft log already holds what was applied).
    pub fn flush_with(&mut self, sync: bool) -> Result<Vec<Event>> {
        if self.state.batch.is_empty() {
            return Ok(Vec::new());
        }
        let rev = self.state.rev;
        if sync {
            self.store.engine.commit(&self.state.batch)?;
        } else {
            self.store.engine.commit_nosync(&self.state.batch)?;
        }
        self.state.batch.clear();
        self.state.pending.clear();
        self.store.committed_rev.store(rev, Ordering::Release);
        Ok(std::mem::take(&mut self.state.events))
    }
}

/// One etcd write txn: every change gets `begin_rev + 1` with a growing sub.
pub struct TxnWrite<'a> {
    index: RwLockWriteGuard<'a, TreeIndex>,
    store: &'a KvStore,
    st: &'a mut WriterState,
    begin_rev: i64,
    changes: i64,
}

impl TxnWrite<'_> {
    /// The revision reads see: the txn's own writes are visible.
    pub fn read_rev(&self) -> i64 {
        if self.changes > 0 {
            self.begin_rev + 1
        } else {
            self.begin_rev
        }
    }

    pub fn begin_rev(&self) -> i64 {
        self.begin_rev
    }

    pub fn compact_rev(&self) -> i64 {
        self.store.compact_rev()
    }

    pub fn has_changes(&self) -> bool {
        self.changes > 0
    }

    pub fn range(&self, range: KeyRange<'_>, opts: RangeOptions) -> Result<RangeResult> {
        let current = self.read_rev();
        let at = resolve_rev(opts.rev, current, self.store.compact_rev())?;
        let (count, picked) = collect(&self.index, range, at, opts);
        let kvs = if opts.count_only {
            Vec::new()
        } else {
            let st = &*self.st;
            self.store
                .fetch(&picked, |rev| st.pending.get(rev).and_then(|&i| st.events.get(i)).and_then(|e| e.kv.clone()))?
        };
        Ok(RangeResult { kvs, count, rev: current })
    }

    /// Writes `key`; returns the new revision.
    pub fn put(&mut self, key: &[u8], value: Vec<u8>, lease: i64) -> i64 {
        let rev = self.begin_rev + 1;
        let idx = Revision::new(rev, self.changes);
        let (created, version) = match self.index.put(key, idx) {
            Some(ka) => (ka.created.main, ka.version + 1),
            None => (rev, 1),
        };
        let kv = KeyValue { key: key.to_vec(), create_revision: created, mod_revision: rev, version, value, lease };
        self.st.batch.put(Table::Kv, idx.to_key(false), kv.encode_to_vec());
        self.st.pending.insert(idx, self.st.events.len());
        self.st.events.push(Event { r#type: EventType::Put as i32, kv: Some(kv), prev_kv: None });
        self.changes += 1;
        rev
    }

    /// Deletes the live keys in `range`; returns them.
    pub fn delete_range(&mut self, range: KeyRange<'_>) -> Vec<Vec<u8>> {
        let keys: Vec<Vec<u8>> = self.index.range(range, self.read_rev(), 0).into_iter().map(|(k, _)| k).collect();
        let rev = self.begin_rev + 1;
        for key in &keys {
            let idx = Revision::new(rev, self.changes);
            let tomb = KeyValue { key: key.clone(), mod_revision: rev, ..Default::default() };
            self.index.tombstone(key, idx);
            self.st.batch.put(Table::Kv, idx.to_key(true), tomb.encode_to_vec());
            self.st.events.push(Event { r#type: EventType::Delete as i32, kv: Some(tomb), prev_kv: None });
            self.changes += 1;
        }
        keys
    }

    /// Ends the txn; returns the store revision after it.
    pub fn end(self) -> i64 {
        if self.changes > 0 {
            self.st.rev = self.begin_rev + 1;
        }
        self.st.rev
    }
}

/// Anything a range can be served from: committed state or an open write txn.
pub trait ReadView {
    fn range(&self, range: KeyRange<'_>, opts: RangeOptions) -> Result<RangeResult>;
}

impl ReadView for KvStore {
    fn range(&self, range: KeyRange<'_>, opts: RangeOptions) -> Result<RangeResult> {
        KvStore::range(self, range, opts)
    }
}

impl ReadView for TxnWrite<'_> {
    fn range(&self, range: KeyRange<'_>, opts: RangeOptions) -> Result<RangeResult> {
        TxnWrite::range(self, range, opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::MemoryEngine;

    fn reopen(engine: &Arc<dyn Engine>) -> KvStore {
        KvStore::open(engine.clone()).unwrap().0
    }

    #[test]
    fn revision_survives_reopen_even_when_compaction_empties_the_kv_table() {
        let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new());
        let mut w = Writer::new(Arc::new(reopen(&engine)));
        let mut t = w.begin();
        t.put(b"a", b"1".to_vec(), 0);
        t.end();
        let mut t = w.begin();
        assert_eq!(t.delete_range(KeyRange::Single(b"a")).len(), 1);
        t.end();
        w.flush().unwrap();
        assert_eq!(reopen(&engine).current_rev(), 3);
        w.compact(3);
        w.flush().unwrap();
        let mut empty = true;
        engine
            .scan(Table::Kv, &[], None, &mut |_, _| {
                empty = false;
                false
            })
            .unwrap();
        assert!(empty, "the tombstoned key's history is gone");
        let store = reopen(&engine);
        assert_eq!((store.current_rev(), store.compact_rev()), (3, 3));
    }
}
