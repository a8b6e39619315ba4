//! The Raft log store: owns the replicated log that has not been purged yet, the
//! vote, the last committed log id and the last purged log id.
//!
//! Everything lives in memory (a `BTreeMap` behind a mutex, like etcd's unstable +
//! unsnapshotted log) so reads never touch the disk. When opened on a directory every
//! change is also framed into a write-ahead log (`wal.rs`) that one dedicated
//! writer thread ("raft-wal") writes and fdatasyncs in batches: `append` returns as
//! soon as the entries are in memory and queued, and its callback fires after the
//! fsync that covers it (group commit). `save_vote` and `truncate` wait for their
//! fsync; `save_committed` and `purge` do not.
//!
//! Memory and disk are changed under the same lock, so the WAL records are in the
//! same order as the changes, and replaying them on open rebuilds the same state.

mod wal;

#[cfg(test)]
mod test_sm;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{AnyError, LogState, OptionalSend, RaftLogReader, StorageIOError};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use self::wal::{Done, Job, WalHandle};
use crate::raft::types::{Entry, LogId, StorageError, TypeConfig, Vote};

/// Default size after which the writer starts a new segment file.
const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// Figures for status and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Index of the first entry still kept (the next index when the log is empty).
    pub first_index: u64,
    /// Index of the last entry (or of the last purged one when the log is empty).
    pub last_index: u64,
    /// Bytes of WAL segments on disk (0 in memory).
    pub disk_bytes: u64,
    /// fsync calls made by the writer so far (0 in memory).
    pub fsyncs: u64,
}

/// The Raft log store. Cheap to clone: every clone is a handle on the same log.
/// Dropping the last handle lets the writer finish what is queued, fsync and exit,
/// and waits for it (so the directory can be reopened right after).
#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Inner>,
}

struct Inner {
    log: Mutex<MemLog>,
    /// `None` for the in-memory store.
    wal: Option<WalHandle>,
}

/// The vote and log pointers; also the header of every WAL segment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Meta {
    vote: Option<Vote>,
    committed: Option<LogId>,
    last_purged: Option<LogId>,
}

/// The in-memory state. Live calls and WAL replay both change it only through
/// these methods, so both end in the same state.
#[derive(Default)]
struct MemLog {
    entries: BTreeMap<u64, Entry>,
    meta: Meta,
}

impl MemLog {
    fn append(&mut self, entry: Entry) {
        self.entries.insert(entry.log_id.index, entry);
    }

    /// Deletes entries with index >= `index`.
    fn truncate(&mut self, index: u64) {
        drop(self.entries.split_off(&index));
    }

    /// Deletes entries up to `log_id` inclusive and remembers it as purged.
    fn purge(&mut self, log_id: LogId) {
        if self.meta.last_purged.as_ref().is_some_and(|p| p.index > log_id.index) {
            return;
        }
        self.entries = match log_id.index.checked_add(1) {
            Some(next) => self.entries.split_off(&next),
            None => BTreeMap::new(),
        };
        self.meta.last_purged = Some(log_id);
    }

    /// A segment header: the state as of the segment's start.
    fn set_meta(&mut self, meta: Meta) {
        let purged = meta.last_purged;
        self.meta = Meta { last_purged: None, ..meta };
        if let Some(p) = purged {
            self.purge(p);
        }
    }

    fn range<RB: RangeBounds<u64>>(&self, range: RB) -> Vec<Entry> {
        let start = match range.start_bound() {
            Bound::Included(&s) => s,
            Bound::Excluded(&s) => match s.checked_add(1) {
                Some(s) => s,
                None => return Vec::new(),
            },
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(&e) if e < start => return Vec::new(),
            Bound::Excluded(&e) if e <= start => return Vec::new(),
            Bound::Included(&e) => Bound::Included(e),
            Bound::Excluded(&e) => Bound::Excluded(e),
            Bound::Unbounded => Bound::Unbounded,
        };
        self.entries.range((Bound::Included(start), end)).map(|(_, e)| e.clone()).collect()
    }

    fn log_state(&self) -> LogState<TypeConfig> {
        let last = self.entries.values().next_back().map(|e| e.log_id);
        LogState { last_purged_log_id: self.meta.last_purged, last_log_id: last.or(self.meta.last_purged) }
    }
}

impl LogStore {
    /// Opens or creates the WAL in `dir` (e.g. `<data-dir>/member/wal`), replaying it.
    pub fn open(dir: &Path) -> crate::Result<LogStore> {
        Self::open_with_segment_size(dir, SEGMENT_BYTES)
    }

    /// [`LogStore::open`] with a chosen segment size (small ones in tests).
    pub(crate) fn open_with_segment_size(dir: &Path, segment_bytes: u64) -> crate::Result<LogStore> {
        let (log, wal) = wal::open(dir, segment_bytes)?;
        Ok(LogStore { inner: Arc::new(Inner { log: Mutex::new(log), wal: Some(wal) }) })
    }

    /// Same behaviour, nothing on disk (tests, `--storage-engine memory`).
    pub fn memory() -> LogStore {
        LogStore { inner: Arc::new(Inner { log: Mutex::new(MemLog::default()), wal: None }) }
    }

    /// Figures for status/metrics.
    pub fn stats(&self) -> LogStats {
        let (first_index, last_index) = {
            let log = self.inner.log.lock();
            let purged = log.meta.last_purged.map(|p| p.index);
            let first = log.entries.keys().next().copied();
            let last = log.entries.keys().next_back().copied();
            (first.unwrap_or_else(|| purged.map_or(0, |p| p.saturating_add(1))), last.or(purged).unwrap_or(0))
        };
        let (disk_bytes, fsyncs) = match &self.inner.wal {
            Some(w) => (w.counters.disk_bytes.load(Ordering::Relaxed), w.counters.fsyncs.load(Ordering::Relaxed)),
            None => (0, 0),
        };
        LogStats { first_index, last_index, disk_bytes, fsyncs }
    }

    /// Appends entries; they are readable when this returns, and `done` is called once
    /// they are durable (right away in memory).
    pub(crate) fn append_with<I>(&self, entries: I, done: Done) -> io::Result<()>
    where
        I: IntoIterator<Item = Entry>,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        let mut bytes = Vec::new();
        if self.inner.wal.is_some() {
            if let Err(e) = entries.iter().try_for_each(|e| wal::put(&mut bytes, wal::KIND_ENTRY, e)) {
                done(Err(io::Error::other(e.clone())));
                return Err(io::Error::other(e));
            }
        }
        let max_index = entries.iter().map(|e| e.log_id.index).max();
        self.change(bytes, max_index, true, Some(done), move |log| entries.into_iter().for_each(|e| log.append(e)))
    }

    /// Applies `mutate` to memory and queues `bytes` (its WAL records) under one lock,
    /// so the WAL order is the order of the changes.
    fn change(
        &self,
        bytes: Vec<u8>,
        max_index: Option<u64>,
        sync: bool,
        done: Option<Done>,
        mutate: impl FnOnce(&mut MemLog),
    ) -> io::Result<()> {
        let mut log = self.inner.log.lock();
        mutate(&mut log);
        let Some(w) = &self.inner.wal else {
            drop(log);
            if let Some(done) = done {
                done(Ok(()));
            }
            return Ok(());
        };
        let job = Job { bytes, max_index, meta: log.meta.clone(), sync, done };
        w.submit(job)
    }

    /// [`Self::change`], then waits until the writer has fsynced it.
    async fn change_durably(&self, bytes: Vec<u8>, mutate: impl FnOnce(&mut MemLog)) -> io::Result<()> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let done: Done = Box::new(move |r| {
            let _ = tx.send(r);
        });
        self.change(bytes, None, true, Some(done), mutate)?;
        rx.await.unwrap_or_else(|_| Err(io::Error::other("raft-wal writer has stopped")))
    }

    /// Waits until everything queued before is on disk.
    #[cfg(test)]
    pub(crate) async fn flush(&self) -> io::Result<()> {
        self.change_durably(Vec::new(), |_| {}).await
    }

    /// One framed record, or nothing for the in-memory store.
    fn record<T: Serialize>(&self, kind: u8, v: &T) -> crate::Result<Vec<u8>> {
        let mut buf = Vec::new();
        if self.inner.wal.is_some() {
            wal::put(&mut buf, kind, v)?;
        }
        Ok(buf)
    }
}

fn write_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::write(AnyError::new(&e)).into()
}

fn write_logs_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::write_logs(AnyError::new(&e)).into()
}

fn write_vote_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::write_vote(AnyError::new(&e)).into()
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        Ok(self.inner.log.lock().range(range))
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        Ok(self.inner.log.lock().log_state())
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        let bytes = self.record(wal::KIND_VOTE, vote).map_err(write_vote_err)?;
        let vote = *vote;
        self.change_durably(bytes, move |log| log.meta.vote = Some(vote)).await.map_err(write_vote_err)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        Ok(self.inner.log.lock().meta.vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        let bytes = self.record(wal::KIND_COMMITTED, &committed).map_err(write_err)?;
        self.change(bytes, None, false, None, move |log| log.meta.committed = committed).map_err(write_err)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.inner.log.lock().meta.committed)
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        self.append_with(entries, Box::new(move |r| callback.log_io_completed(r))).map_err(write_logs_err)
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let bytes = self.record(wal::KIND_TRUNCATE, &log_id).map_err(write_logs_err)?;
        self.change_durably(bytes, move |log| log.truncate(log_id.index)).await.map_err(write_logs_err)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let bytes = self.record(wal::KIND_PURGE, &log_id).map_err(write_logs_err)?;
        // Not waited for; the writer fsyncs it on its own so old segments can go.
        self.change(bytes, None, true, None, move |log| log.purge(log_id)).map_err(write_logs_err)
    }
}
