//! Tests of the log store: openraft's conformance suite (WAL and memory), reopen,
//! torn tails, group commit and segment rotation/purge.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use openraft::storage::RaftLogStorage;
use openraft::testing::{StoreBuilder, Suite};
use openraft::{AnyError, EntryPayload, LogState, RaftLogReader, StorageIOError};
use tempfile::TempDir;

use super::test_sm::TestSm;
use super::LogStore;
use crate::proto::capstanpb::command::Op;
use crate::proto::capstanpb::Command;
use crate::proto::etcdserverpb::PutRequest;
use crate::raft::types::{Entry, LogId, Request, StorageError, TypeConfig, Vote};

struct WalBuilder;

impl StoreBuilder<TypeConfig, LogStore, TestSm, TempDir> for WalBuilder {
    async fn build(&self) -> Result<(TempDir, LogStore, TestSm), StorageError> {
        let dir = tempfile::tempdir().map_err(|e| StorageIOError::write(AnyError::new(&e)))?;
        let store = LogStore::open(dir.path()).map_err(|e| StorageIOError::write(AnyError::new(&e)))?;
        Ok((dir, store, TestSm::default()))
    }
}

struct MemBuilder;

impl StoreBuilder<TypeConfig, LogStore, TestSm> for MemBuilder {
    async fn build(&self) -> Result<((), LogStore, TestSm), StorageError> {
        Ok(((), LogStore::memory(), TestSm::default()))
    }
}

#[test]
fn conformance_suite_wal() {
    Suite::test_all(WalBuilder).unwrap();
}

#[test]
fn conformance_suite_memory() {
    Suite::test_all(MemBuilder).unwrap();
}

fn log_id(term: u64, index: u64) -> LogId {
    openraft::testing::log_id(term, 1, index)
}

/// A put entry carrying `value_len` bytes.
fn entry(term: u64, index: u64, value_len: usize) -> Entry {
    let put =
        PutRequest { key: format!("k{index}").into_bytes(), value: vec![index as u8; value_len], ..Default::default() };
    let cmd = Command { op: Some(Op::Put(put)), ..Default::default() };
    Entry { log_id: log_id(term, index), payload: EntryPayload::Normal(Request(vec![cmd])) }
}

fn entries(term: u64, range: std::ops::RangeInclusive<u64>, value_len: usize) -> Vec<Entry> {
    range.map(|i| entry(term, i, value_len)).collect()
}

/// Appends and waits for the flush callback.
async fn append(store: &LogStore, entries: Vec<Entry>) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    store
        .append_with(
            entries,
            Box::new(move |r| {
                let _ = tx.send(r);
            }),
        )
        .unwrap();
    rx.await.unwrap().unwrap();
}

#[derive(Debug, PartialEq)]
struct Dump {
    state: LogState<TypeConfig>,
    entries: Vec<Entry>,
    vote: Option<Vote>,
    committed: Option<LogId>,
}

async fn dump(store: &LogStore) -> Dump {
    let mut s = store.clone();
    Dump {
        state: s.get_log_state().await.unwrap(),
        entries: s.try_get_log_entries(..).await.unwrap(),
        vote: s.read_vote().await.unwrap(),
        committed: s.read_committed().await.unwrap(),
    }
}

/// Votes, appends, a truncate, a purge and a committed id, in the order openraft may issue them.
async fn scripted(store: &LogStore) {
    let mut s = store.clone();
    for b in 0..5 {
        append(store, entries(1, b * 10 + 1..=b * 10 + 10, 32)).await;
    }
    s.save_vote(&Vote::new(1, 1)).await.unwrap();
    append(store, entries(1, 51..=100, 32)).await;
    s.truncate(log_id(1, 91)).await.unwrap();
    s.save_vote(&Vote::new_committed(2, 1)).await.unwrap();
    append(store, entries(2, 91..=95, 32)).await;
    s.purge(log_id(1, 10)).await.unwrap();
    s.save_committed(Some(log_id(2, 93))).await.unwrap();
}

#[tokio::test]
async fn reopen_restores_state() {
    let dir = tempfile::tempdir().unwrap();
    let mem = LogStore::memory();
    scripted(&mem).await;
    let want = dump(&mem).await;
    assert_eq!(want.entries.len(), 85);
    assert_eq!(want.entries.first().map(|e| e.log_id), Some(log_id(1, 11)));
    assert_eq!(want.state.last_log_id, Some(log_id(2, 95)));
    assert_eq!(want.state.last_purged_log_id, Some(log_id(1, 10)));

    let store = LogStore::open(dir.path()).unwrap();
    scripted(&store).await;
    assert_eq!(dump(&store).await, want);
    drop(store);

    let store = LogStore::open(dir.path()).unwrap();
    assert_eq!(dump(&store).await, want, "state after reopen");
    let stats = store.stats();
    assert_eq!((stats.first_index, stats.last_index), (11, 95));
    assert!(stats.disk_bytes > 0);

    // Keeps working after a reopen, and a second reopen sees both runs.
    append(&store, entries(2, 96..=99, 32)).await;
    store.clone().save_vote(&Vote::new(3, 2)).await.unwrap();
    let want = dump(&store).await;
    drop(store);
    let store = LogStore::open(dir.path()).unwrap();
    assert_eq!(dump(&store).await, want);
    assert_eq!(want.vote, Some(Vote::new(3, 2)));
    assert_eq!(want.entries.len(), 89);
}

fn wal_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "wal"))
        .collect();
    files.sort();
    files
}

fn last_wal(dir: &Path) -> PathBuf {
    wal_files(dir).pop().unwrap()
}

async fn indexes(store: &LogStore) -> Vec<u64> {
    store.clone().try_get_log_entries(..).await.unwrap().iter().map(|e| e.log_id.index).collect()
}

#[tokio::test]
async fn torn_tail_is_cut_off() {
    // Corruptions of the last record (its length given), and how many entries survive.
    type Corrupt = fn(&Path, u64);
    let cases: [(&str, Corrupt, u64); 5] = [
        ("cut last bytes", |p, _| cut(p, 5), 19),
        ("flip a payload byte", |p, _| flip(p, 3), 19),
        ("cut inside the frame header", |p, len| cut(p, len - 4), 19),
        ("trailing zeros", |p, _| extend(p, &[0; 100]), 20),
        ("trailing half frame", |p, _| extend(p, &[7, 0, 0]), 20),
    ];
    let mut last_record = Vec::new();
    super::wal::put(&mut last_record, super::wal::KIND_ENTRY, &entry(1, 20, 100)).unwrap();
    for (name, corrupt, kept) in cases {
        let dir = tempfile::tempdir().unwrap();
        let store = LogStore::open(dir.path()).unwrap();
        for i in 1..=20 {
            append(&store, vec![entry(1, i, 100)]).await;
        }
        drop(store);
        corrupt(&last_wal(dir.path()), last_record.len() as u64);

        let store = LogStore::open(dir.path()).unwrap();
        assert_eq!(indexes(&store).await, (1..=kept).collect::<Vec<_>>(), "{name}");
        assert_eq!(store.stats().disk_bytes, fs::metadata(last_wal(dir.path())).unwrap().len(), "{name}");
        // Writing continues after the cut, and is replayed.
        append(&store, entries(1, kept + 1..=kept + 3, 100)).await;
        drop(store);
        let store = LogStore::open(dir.path()).unwrap();
        assert_eq!(indexes(&store).await, (1..=kept + 3).collect::<Vec<_>>(), "{name} after rewrite");
    }
}

/// Removes the last `n` bytes.
fn cut(path: &Path, n: u64) {
    let len = fs::metadata(path).unwrap().len();
    fs::OpenOptions::new().write(true).open(path).unwrap().set_len(len - n).unwrap();
}

/// Flips the byte `back` bytes before the end.
fn flip(path: &Path, back: usize) {
    let mut data = fs::read(path).unwrap();
    let at = data.len() - back;
    data[at] ^= 0xff;
    fs::write(path, data).unwrap();
}

fn extend(path: &Path, bytes: &[u8]) {
    let mut data = fs::read(path).unwrap();
    data.extend_from_slice(bytes);
    fs::write(path, data).unwrap();
}

#[tokio::test]
async fn torn_segment_header_and_sealed_corruption() {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open_with_segment_size(dir.path(), 16 * 1024).unwrap();
    for i in 1..=100 {
        append(&store, vec![entry(1, i, 500)]).await;
    }
    drop(store);
    let files = wal_files(dir.path());
    assert!(files.len() >= 3, "{files:?}");

    // A crash while a new segment's header was being written.
    cut(&files[files.len() - 1], fs::metadata(&files[files.len() - 1]).unwrap().len() - 4);
    let store = LogStore::open_with_segment_size(dir.path(), 16 * 1024).unwrap();
    let got = indexes(&store).await;
    let k = got.len() as u64;
    assert!(k > 0 && k < 100);
    assert_eq!(got, (1..=k).collect::<Vec<_>>());
    append(&store, entries(1, k + 1..=k + 5, 500)).await;
    drop(store);
    let store = LogStore::open_with_segment_size(dir.path(), 16 * 1024).unwrap();
    assert_eq!(indexes(&store).await, (1..=k + 5).collect::<Vec<_>>());
    drop(store);

    // Damage inside a sealed segment is not a torn tail: refuse to open.
    flip(&wal_files(dir.path())[0], 10);
    assert!(LogStore::open(dir.path()).is_err());
}

/// `TASKS` tasks append `PER_TASK` single-entry batches each, keeping up to `window`
/// appends in flight; returns how many fsyncs the writer made.
async fn concurrent_appends(window: usize) -> u64 {
    const TASKS: u64 = 10;
    const PER_TASK: u64 = 100;
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(dir.path()).unwrap();
    let before = store.stats().fsyncs;
    // Index allocation and submission under one lock keep the log contiguous.
    let next = Arc::new(parking_lot::Mutex::new(1u64));
    let completed = Arc::new(parking_lot::Mutex::new(Vec::new()));

    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (store, next, completed) = (store.clone(), next.clone(), completed.clone());
        tasks.push(tokio::spawn(async move {
            let mut pending = std::collections::VecDeque::new();
            for _ in 0..PER_TASK {
                let (tx, rx) = tokio::sync::oneshot::channel();
                let index = {
                    let mut n = next.lock();
                    let index = *n;
                    *n += 1;
                    let completed = completed.clone();
                    let done = Box::new(move |r: std::io::Result<()>| {
                        completed.lock().push(index);
                        let _ = tx.send(r);
                    });
                    store.append_with(vec![entry(1, index, 100)], done).unwrap();
                    index
                };
                // Readable as soon as append returns, flushed or not.
                let got = store.clone().try_get_log_entries(index..=index).await.unwrap();
                assert_eq!(got.len(), 1);
                pending.push_back(rx);
                while pending.len() >= window {
                    pending.pop_front().unwrap().await.unwrap().unwrap();
                }
                tokio::task::yield_now().await;
            }
            for rx in pending {
                rx.await.unwrap().unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let appends = TASKS * PER_TASK;
    let fsyncs = store.stats().fsyncs - before;
    println!(
        "group commit, window {window}: {appends} appends, {fsyncs} fsyncs ({:.1} appends per fsync)",
        appends as f64 / fsyncs as f64
    );
    // Callbacks fire in log order.
    assert_eq!(*completed.lock(), (1..=appends).collect::<Vec<_>>());
    assert_eq!(indexes(&store).await, (1..=appends).collect::<Vec<_>>());
    drop(store);
    let store = LogStore::open(dir.path()).unwrap();
    assert_eq!(indexes(&store).await, (1..=appends).collect::<Vec<_>>());
    assert!(fsyncs < appends, "{fsyncs} fsyncs for {appends} appends");
    fsyncs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_batches_fsyncs() {
    // How much batching happens depends on the fsync latency (a lot on a disk, little
    // on tmpfs); the numbers are printed, the assertion is only "fewer".
    concurrent_appends(1).await; // every task waits for each append
    concurrent_appends(4).await; // pipelined, as openraft does
}

/// Deterministic: while the writer is busy, everything queued shares one fsync.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn group_commit_one_fsync_covers_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open(dir.path()).unwrap();
    let before = store.stats().fsyncs;
    // The first append's callback holds the writer thread until released.
    let (release, hold) = std::sync::mpsc::channel::<()>();
    store
        .append_with(
            vec![entry(1, 1, 100)],
            Box::new(move |r| {
                r.unwrap();
                let _ = hold.recv();
            }),
        )
        .unwrap();
    let mut rxs = Vec::new();
    for i in 2..=1000 {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let done = Box::new(move |r| {
            let _ = tx.send(r);
        });
        store.append_with(vec![entry(1, i, 100)], done).unwrap();
        rxs.push(rx);
    }
    release.send(()).unwrap();
    for rx in rxs {
        rx.await.unwrap().unwrap();
    }
    let fsyncs = store.stats().fsyncs - before;
    println!("stalled writer: 1000 appends, {fsyncs} fsyncs");
    assert!(fsyncs <= 2, "{fsyncs} fsyncs");
    drop(store);
    let store = LogStore::open(dir.path()).unwrap();
    assert_eq!(indexes(&store).await, (1..=1000).collect::<Vec<_>>());
}

#[tokio::test]
async fn rotation_and_purge_keep_disk_bounded() {
    const SEG: u64 = 64 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let store = LogStore::open_with_segment_size(dir.path(), SEG).unwrap();
    let mut last = 0;
    for round in 0..10 {
        for _ in 0..20 {
            append(&store, entries(1, last + 1..=last + 10, 1000)).await;
            last += 10;
        }
        store.clone().purge(log_id(1, last - 50)).await.unwrap();
        store.flush().await.unwrap();
        let files = wal_files(dir.path());
        let on_disk: u64 = files.iter().map(|f| fs::metadata(f).unwrap().len()).sum();
        let stats = store.stats();
        println!("round {round}: {} segments, {} bytes, {:?}", files.len(), on_disk, stats);
        assert_eq!(stats.disk_bytes, on_disk);
        assert!(files.len() <= 3, "round {round}: {files:?}");
        assert!(on_disk <= 3 * SEG + 16 * 1024, "round {round}: {on_disk} bytes");
        assert_eq!((stats.first_index, stats.last_index), (last - 49, last));
    }
    // ~2 MB went through 64 KiB segments: many rotations, the old ones are gone.
    let first = wal_files(dir.path())[0].file_stem().unwrap().to_str().unwrap().to_string();
    assert!(u64::from_str_radix(&first, 16).unwrap() >= 20, "first segment {first}");

    let want = dump(&store).await;
    drop(store);
    let store = LogStore::open_with_segment_size(dir.path(), SEG).unwrap();
    assert_eq!(dump(&store).await, want);
    assert_eq!(indexes(&store).await, (last - 49..=last).collect::<Vec<_>>());
    assert_eq!(want.state.last_purged_log_id, Some(log_id(1, last - 50)));

    // Purging everything leaves only the current segment.
    store.clone().purge(log_id(1, last)).await.unwrap();
    append(&store, entries(1, last + 1..=last + 100, 1000)).await;
    store.clone().purge(log_id(1, last + 100)).await.unwrap();
    store.flush().await.unwrap();
    assert_eq!(wal_files(dir.path()).len(), 1);
    drop(store);
    let store = LogStore::open_with_segment_size(dir.path(), SEG).unwrap();
    let st = store.clone().get_log_state().await.unwrap();
    assert_eq!(st.last_purged_log_id, Some(log_id(1, last + 100)));
    assert_eq!(st.last_log_id, Some(log_id(1, last + 100)));
    assert!(indexes(&store).await.is_empty());
}
