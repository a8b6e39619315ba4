//! The write-ahead log on disk: record framing, segment files, replay on open, and
//! the "raft-wal" writer thread.
//!
//! A record is `[u32 len][u32 crc32][u8 kind][payload]` (little endian; `len` is the
//! payload's length, the CRC covers kind and payload, the payload is bincode). The
//! log is a run of segment files `NNNNNNNNNNNNNNNN.wal` (16 hex digits, increasing);
//! each starts with a header record holding the vote and log pointers as of then, so
//! older segments whose entries are all purged can be deleted. Only the last segment
//! is ever written; a torn or corrupt tail there ends the log and is cut off on open.
//!
//! The writer takes everything queued, writes it with one `write`, calls `fdatasync`
//! once if any of it asked for durability, and then runs the callbacks in order.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

use serde::Serialize;

use super::{MemLog, Meta};
use crate::error::Error;
use crate::raft::types::{decode, encode, Entry, LogId};

pub(super) const KIND_HEADER: u8 = 1;
pub(super) const KIND_ENTRY: u8 = 2;
pub(super) const KIND_VOTE: u8 = 3;
pub(super) const KIND_COMMITTED: u8 = 4;
pub(super) const KIND_TRUNCATE: u8 = 5;
pub(super) const KIND_PURGE: u8 = 6;

/// `len` + `crc` + `kind`.
const FRAME: usize = 9;

/// Called by the writer with the outcome once a job is on disk.
pub(super) type Done = Box<dyn FnOnce(io::Result<()>) + Send>;

/// One change's records, queued for the writer.
pub(super) struct Job {
    pub bytes: Vec<u8>,
    /// The highest entry index in `bytes`, if any.
    pub max_index: Option<u64>,
    /// The vote and pointers after this change (for headers of new segments).
    pub meta: Meta,
    /// Whether the batch holding this job must be fsynced.
    pub sync: bool,
    pub done: Option<Done>,
}

#[derive(Default)]
pub(super) struct Counters {
    pub fsyncs: AtomicU64,
    pub disk_bytes: AtomicU64,
}

/// The queue into the writer thread. Dropping it lets the writer finish what is
/// queued, fsync, and exit, and waits for that.
pub(super) struct WalHandle {
    tx: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    pub counters: Arc<Counters>,
}

impl WalHandle {
    /// Queues a job. If the writer is gone, fails it (its callback too).
    pub fn submit(&self, job: Job) -> io::Result<()> {
        let job = match &self.tx {
            Some(tx) => match tx.send(job) {
                Ok(()) => return Ok(()),
                Err(e) => e.0,
            },
            None => job,
        };
        let e = || io::Error::other("raft-wal writer has stopped");
        if let Some(done) = job.done {
            done(Err(e()));
        }
        Err(e())
    }
}

impl Drop for WalHandle {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                tracing::error!("raft-wal writer thread panicked");
            }
        }
    }
}

/// Appends one framed record to `buf`.
pub(super) fn put<T: Serialize>(buf: &mut Vec<u8>, kind: u8, v: &T) -> crate::Result<()> {
    let payload = encode(v)?;
    let len = u32::try_from(payload.len()).map_err(|_| Error::Corrupt("raft wal record too large".into()))?;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&[kind]);
    crc.update(&payload);
    buf.reserve(FRAME + payload.len());
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(&crc.finalize().to_le_bytes());
    buf.push(kind);
    buf.extend_from_slice(&payload);
    Ok(())
}

/// The record at `pos`: `(kind, payload, next pos)`, or `None` at the end of the
/// valid data (end of file, short read, bad length or CRC).
fn next_record(data: &[u8], pos: usize) -> Option<(u8, &[u8], usize)> {
    let rest = data.get(pos..)?;
    let len = u32::from_le_bytes(rest.get(0..4)?.try_into().ok()?) as usize;
    let crc = u32::from_le_bytes(rest.get(4..8)?.try_into().ok()?);
    let kind = *rest.get(8)?;
    let end = FRAME.checked_add(len)?;
    let payload = rest.get(FRAME..end)?;
    let mut h = crc32fast::Hasher::new();
    h.update(&[kind]);
    h.update(payload);
    (h.finalize() == crc).then_some((kind, payload, pos + end))
}

/// What replay learned about one segment file.
struct Segment {
    seq: u64,
    /// Valid bytes (written bytes, for the current segment).
    size: u64,
    /// Length of its header record (0 if it has none).
    header_len: u64,
    max_index: Option<u64>,
}

fn segment_path(dir: &Path, seq: u64) -> PathBuf {
    dir.join(format!("{seq:016x}.wal"))
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    File::open(dir)?.sync_all()
}

/// Segment sequence numbers in `dir`, ascending; other files are ignored.
fn list_segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut seqs = Vec::new();
    for ent in fs::read_dir(dir)? {
        let name = ent?.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".wal")) else { continue };
        if stem.len() == 16 {
            if let Ok(seq) = u64::from_str_radix(stem, 16) {
                seqs.push(seq);
            }
        }
    }
    seqs.sort_unstable();
    Ok(seqs)
}

/// Applies a segment's records to `log`; returns `(valid bytes, header length, max entry index)`.
fn replay_segment(data: &[u8], log: &mut MemLog) -> crate::Result<(usize, u64, Option<u64>)> {
    let (mut pos, mut header_len, mut max_index) = (0, 0, None::<u64>);
    while let Some((kind, payload, next)) = next_record(data, pos) {
        match kind {
            KIND_HEADER => {
                log.set_meta(decode(payload)?);
                if pos == 0 {
                    header_len = next as u64;
                }
            }
            KIND_ENTRY => {
                let e: Entry = decode(payload)?;
                max_index = Some(max_index.map_or(e.log_id.index, |m| m.max(e.log_id.index)));
                log.append(e);
            }
            KIND_VOTE => log.meta.vote = Some(decode(payload)?),
            KIND_COMMITTED => log.meta.committed = decode(payload)?,
            KIND_TRUNCATE => log.truncate(decode::<LogId>(payload)?.index),
            KIND_PURGE => log.purge(decode(payload)?),
            k => return Err(Error::Corrupt(format!("raft wal: unknown record kind {k} at offset {pos}"))),
        }
        pos = next;
    }
    Ok((pos, header_len, max_index))
}

/// Creates (or empties) segment `seq` holding just a header for `meta`, durably.
fn create_segment(dir: &Path, seq: u64, meta: &Meta) -> io::Result<(File, u64)> {
    let mut buf = Vec::new();
    put(&mut buf, KIND_HEADER, meta).map_err(io::Error::other)?;
    let mut f = OpenOptions::new().create(true).write(true).truncate(true).open(segment_path(dir, seq))?;
    f.write_all(&buf)?;
    f.sync_data()?;
    sync_dir(dir)?;
    Ok((f, buf.len() as u64))
}

/// Replays the WAL in `dir` (creating it if needed) and starts the writer thread.
pub(super) fn open(dir: &Path, segment_bytes: u64) -> crate::Result<(MemLog, WalHandle)> {
    if !dir.exists() {
        fs::create_dir_all(dir)?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
    }
    let seqs = list_segments(dir)?;
    let mut log = MemLog::default();
    let mut segments = VecDeque::with_capacity(seqs.len());
    for (i, &seq) in seqs.iter().enumerate() {
        if i > 0 && seqs[i - 1].checked_add(1) != Some(seq) {
            return Err(Error::Corrupt(format!(
                "raft wal: segment {:016x} missing in {}",
                seqs[i - 1] + 1,
                dir.display()
            )));
        }
        let path = segment_path(dir, seq);
        let data = fs::read(&path)?;
        let (valid, header_len, max_index) = replay_segment(&data, &mut log)?;
        if valid < data.len() {
            if i + 1 < seqs.len() {
                return Err(Error::Corrupt(format!("raft wal: {} is corrupt at offset {valid}", path.display())));
            }
            tracing::warn!(path = %path.display(), valid, len = data.len(), "raft wal: cutting off a torn tail");
            let f = OpenOptions::new().write(true).open(&path)?;
            f.set_len(valid as u64)?;
            f.sync_all()?;
        }
        segments.push_back(Segment { seq, size: valid as u64, header_len, max_index });
    }
    let counters = Arc::new(Counters::default());
    let file = match segments.back_mut() {
        Some(seg) if seg.size > 0 => {
            // What was replayed may have been written but never fsynced before a
            // crash; make it durable before acting on it (deleting segments).
            let f = OpenOptions::new().append(true).open(segment_path(dir, seg.seq))?;
            f.sync_data()?;
            counters.fsyncs.fetch_add(1, Ordering::Relaxed);
            f
        }
        // A new WAL, or a last segment torn inside its header: write the header afresh.
        last => {
            let seq = last.as_ref().map_or(0, |s| s.seq);
            let (f, header_len) = create_segment(dir, seq, &log.meta)?;
            counters.fsyncs.fetch_add(2, Ordering::Relaxed);
            let seg = Segment { seq, size: header_len, header_len, max_index: None };
            match last {
                Some(s) => *s = seg,
                None => segments.push_back(seg),
            }
            f
        }
    };
    counters.disk_bytes.store(segments.iter().map(|s| s.size).sum(), Ordering::Relaxed);
    let mut writer = Writer {
        dir: dir.to_path_buf(),
        segment_bytes,
        segments,
        file,
        meta: log.meta.clone(),
        counters: counters.clone(),
        dirty: false,
        failed: None,
    };
    // Delete segments a purge made obsolete before a crash.
    writer.delete_purged()?;
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::Builder::new().name("raft-wal".into()).spawn(move || writer.run(rx))?;
    Ok((log, WalHandle { tx: Some(tx), thread: Some(thread), counters }))
}

struct Writer {
    dir: PathBuf,
    segment_bytes: u64,
    /// Oldest first; the last one is being written.
    segments: VecDeque<Segment>,
    file: File,
    meta: Meta,
    counters: Arc<Counters>,
    /// Bytes were written since the last fsync.
    dirty: bool,
    /// Set after an I/O error: nothing more is written (the file's state is unknown).
    failed: Option<String>,
}

impl Writer {
    fn run(mut self, rx: Receiver<Job>) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            batch.extend(rx.try_iter());
            let res = self.write_batch(&mut batch);
            if let Err(e) = &res {
                tracing::error!("raft wal write failed: {e}");
                self.failed.get_or_insert_with(|| e.to_string());
            }
            for job in batch {
                if let Some(done) = job.done {
                    done(res.as_ref().map(|_| ()).map_err(|e| io::Error::new(e.kind(), e.to_string())));
                }
            }
        }
        // Every handle is gone: make what was written lazily durable too.
        if self.dirty && self.failed.is_none() {
            if let Err(e) = self.fsync() {
                tracing::error!("raft wal: final fsync failed: {e}");
            }
        }
    }

    fn write_batch(&mut self, batch: &mut [Job]) -> io::Result<()> {
        if let Some(e) = &self.failed {
            return Err(io::Error::other(format!("raft wal failed earlier: {e}")));
        }
        let mut buf = Vec::with_capacity(batch.iter().map(|j| j.bytes.len()).sum());
        let mut sync = false;
        for job in batch.iter_mut() {
            let cur = self.current()?;
            let size = cur.size + buf.len() as u64;
            if size > cur.header_len && size + job.bytes.len() as u64 > self.segment_bytes {
                self.write_out(&mut buf)?;
                self.rotate()?;
            }
            buf.extend_from_slice(&job.bytes);
            if let Some(i) = job.max_index {
                let cur = self.current()?;
                cur.max_index = Some(cur.max_index.map_or(i, |m| m.max(i)));
            }
            self.meta = std::mem::take(&mut job.meta);
            sync |= job.sync;
        }
        self.write_out(&mut buf)?;
        if sync {
            if self.dirty {
                self.fsync()?;
            }
            self.delete_purged()?;
        }
        Ok(())
    }

    fn current(&mut self) -> io::Result<&mut Segment> {
        self.segments.back_mut().ok_or_else(|| io::Error::other("raft wal has no segment"))
    }

    fn write_out(&mut self, buf: &mut Vec<u8>) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        self.file.write_all(buf)?;
        let n = buf.len() as u64;
        self.current()?.size += n;
        self.counters.disk_bytes.fetch_add(n, Ordering::Relaxed);
        self.dirty = true;
        buf.clear();
        Ok(())
    }

    fn fsync(&mut self) -> io::Result<()> {
        self.file.sync_data()?;
        self.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
        self.dirty = false;
        Ok(())
    }

    /// Seals the current segment (fsynced) and starts the next with a header.
    fn rotate(&mut self) -> io::Result<()> {
        if self.dirty {
            self.fsync()?;
        }
        let seq = self.current()?.seq + 1;
        let (file, header_len) = create_segment(&self.dir, seq, &self.meta)?;
        self.counters.fsyncs.fetch_add(2, Ordering::Relaxed);
        self.counters.disk_bytes.fetch_add(header_len, Ordering::Relaxed);
        self.file = file;
        self.segments.push_back(Segment { seq, size: header_len, header_len, max_index: None });
        tracing::debug!(seq, "raft wal: new segment");
        Ok(())
    }

    /// Deletes the oldest sealed segments whose entries are all purged. Only called
    /// when the purge is durable: the next segment's header then covers them.
    fn delete_purged(&mut self) -> io::Result<()> {
        let Some(purged) = self.meta.last_purged.map(|p| p.index) else { return Ok(()) };
        let mut removed = false;
        while self.segments.len() > 1 {
            let Some(old) = self.segments.front() else { break };
            if old.max_index.is_some_and(|m| m > purged) {
                break;
            }
            fs::remove_file(segment_path(&self.dir, old.seq))?;
            self.counters.disk_bytes.fetch_sub(old.size, Ordering::Relaxed);
            tracing::debug!(seq = old.seq, "raft wal: deleted purged segment");
            self.segments.pop_front();
            removed = true;
        }
        if removed {
            sync_dir(&self.dir)?;
            self.counters.fsyncs.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}
