//! Taking a snapshot: a consistent dump of the engine into an unlinked temp
//! file, then streamed to the client in etcd's 32 KiB chunks with the sha256
//! trailer last.
//!
//! The engine scans one table per read transaction, so consistency comes from
//! the data: the KV table is revision-keyed, so filtering it at the revision
//! read from `meta` first gives exactly that revision's state, unless a
//! compaction ran meanwhile (then we retry). Leases are read before and after
//! and merged, so no surviving key can point at a lease missing from the file.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

use super::format::Encoder;
use crate::error::{Error, Result};
use crate::mvcc::{KvStore, Revision, META_COMPACT_REV, META_CURRENT_REV};
use crate::proto::etcdserverpb::SnapshotResponse;
use crate::storage::{Engine, Table};

/// etcd's snapshotSendBufferSize.
pub const CHUNK_BYTES: usize = 32 * 1024;
/// Dump attempts before giving up when compactions keep racing the scan.
const MAX_ATTEMPTS: usize = 8;

static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// A dump on disk, ready to stream. The file is unlinked already (or on drop).
pub struct Dump {
    file: File,
    len: u64,
    path: PathBuf,
}

impl Drop for Dump {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Dump {
    /// Size of the dump without the checksum trailer (etcd's "total").
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Streams the dump as etcd's Snapshot responses: chunks with the bytes
    /// still to come, then the sha256 of all of them. Stops early (Ok) when
    /// `send` returns false (the client went away).
    pub fn stream(mut self, send: &mut dyn FnMut(SnapshotResponse) -> bool) -> Result<()> {
        self.file.seek(SeekFrom::Start(0))?;
        let mut hasher = Sha256::new();
        let mut sent = 0u64;
        while sent < self.len {
            let want = (self.len - sent).min(CHUNK_BYTES as u64) as usize;
            let mut buf = vec![0u8; want];
            self.file.read_exact(&mut buf)?;
            sent += want as u64;
            hasher.update(&buf);
            let resp = SnapshotResponse { remaining_bytes: self.len - sent, blob: buf, ..Default::default() };
            if !send(resp) {
                return Ok(());
            }
        }
        let sha = hasher.finalize().to_vec();
        send(SnapshotResponse { remaining_bytes: 0, blob: sha, ..Default::default() });
        Ok(())
    }
}

fn read_meta_i64(engine: &dyn Engine, key: &[u8]) -> Result<Option<i64>> {
    Ok(match engine.get(Table::Meta, key)? {
        Some(v) => Some(i64::from_be_bytes(
            v.as_slice().try_into().map_err(|_| Error::Corrupt(format!("meta {:?}", String::from_utf8_lossy(key))))?,
        )),
        None => None,
    })
}

fn scan_table(engine: &dyn Engine, table: Table) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    engine.scan(table, &[], None, &mut |k, v| {
        out.push((k.to_vec(), v.to_vec()));
        true
    })?;
    Ok(out)
}

fn create_temp(dir: &Path) -> Result<(File, PathBuf)> {
    std::fs::create_dir_all(dir)?;
    let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
    let path = dir.join(format!(".capstan-snapshot-{}-{n}.tmp", std::process::id()));
    let file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
    // Unlinked now so a crash leaves nothing behind; the handle keeps it alive.
    #[cfg(unix)]
    let _ = std::fs::remove_file(&path);
    Ok((file, path))
}

/// Dumps `store`'s engine into a temp file under `dir`.
pub fn take(store: &KvStore, dir: &Path) -> Result<Dump> {
    let (mut file, path) = create_temp(dir)?;
    let mut dump = Dump { file: file.try_clone()?, len: 0, path };
    for _ in 0..MAX_ATTEMPTS {
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        if let Some(len) = try_dump(store.engine().as_ref(), store.current_rev(), BufWriter::new(&mut file))? {
            file.sync_data()?;
            dump.len = len;
            return Ok(dump);
        }
    }
    Err(Error::Io("snapshot: compactions kept racing the dump; try again".into()))
}

/// One attempt; `None` if a compaction changed the KV table under the scan.
/// `current` is the durable revision read before the scan: the KV table is cut there.
fn try_dump(engine: &dyn Engine, current: i64, out: impl Write) -> Result<Option<u64>> {
    let leases_before = scan_table(engine, Table::Lease)?;
    let mut meta = scan_table(engine, Table::Meta)?;
    // The store only persists its revision when a compaction could hide it;
    // the snapshot records the cut explicitly.
    meta.retain(|(k, _)| k != META_CURRENT_REV);
    meta.push((META_CURRENT_REV.to_vec(), current.to_be_bytes().to_vec()));
    meta.sort();
    let compacted = read_meta_value(&meta, META_COMPACT_REV);

    let mut enc = Encoder::new(out)?;
    enc.table(Table::Kv)?;
    let mut err = None;
    engine.scan(Table::Kv, &[], None, &mut |k, v| {
        let keep = match Revision::from_key(k) {
            Ok((rev, _)) => rev.main <= current,
            Err(e) => {
                err = Some(e);
                return false;
            }
        };
        if !keep {
            // Revision order: everything after is newer too.
            return false;
        }
        if let Err(e) = enc.entry(k, v) {
            err = Some(e);
            return false;
        }
        true
    })?;
    if let Some(e) = err {
        return Err(e);
    }
    if read_meta_i64(engine, META_COMPACT_REV)? != compacted {
        return Ok(None);
    }

    enc.table(Table::Meta)?;
    for (k, v) in &meta {
        enc.entry(k, v)?;
    }
    let mut leases: BTreeMap<Vec<u8>, Vec<u8>> = leases_before.into_iter().collect();
    leases.extend(scan_table(engine, Table::Lease)?);
    enc.table(Table::Lease)?;
    for (k, v) in &leases {
        enc.entry(k, v)?;
    }
    for table in Table::ALL {
        if matches!(table, Table::Kv | Table::Meta | Table::Lease) {
            continue;
        }
        enc.table(table)?;
        for (k, v) in scan_table(engine, table)? {
            enc.entry(&k, &v)?;
        }
    }
    let (_, len) = enc.finish()?;
    Ok(Some(len))
}

fn read_meta_value(meta: &[(Vec<u8>, Vec<u8>)], key: &[u8]) -> Option<i64> {
    meta.iter()
        .find(|(k, _)| k == key)
        .and_then(|(_, v)| <[u8; 8]>::try_from(v.as_slice()).ok())
        .map(i64::from_be_bytes)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::maintenance::format::{decode, CHECKSUM_LEN};
    use crate::mvcc::{KeyRange, Writer};
    use crate::storage::{MemoryEngine, WriteBatch};

    fn store_with(n: usize) -> Arc<KvStore> {
        let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new());
        let mut b = WriteBatch::default();
        b.put(Table::Lease, 7i64.to_be_bytes(), 60i64.to_be_bytes());
        engine.commit(&b).unwrap();
        let store = Arc::new(KvStore::open(engine).unwrap().0);
        let mut w = Writer::new(store.clone());
        for i in 0..n {
            let mut t = w.begin();
            t.put(format!("k{i}").as_bytes(), vec![b'x'; 1000], 0);
            t.end();
        }
        let mut t = w.begin();
        t.delete_range(KeyRange::new(b"k0", &[]));
        t.end();
        w.flush().unwrap();
        store
    }

    #[test]
    fn dump_streams_in_chunks_with_sha_trailer() {
        let store = store_with(100);
        let dir = tempfile::tempdir().unwrap();
        let dump = take(&store, dir.path()).unwrap();
        let total = dump.len();
        let mut msgs = Vec::new();
        dump.stream(&mut |r| {
            msgs.push(r);
            true
        })
        .unwrap();
        assert!(msgs.len() >= 4, "{} messages", msgs.len());
        let body: Vec<u8> = msgs[..msgs.len() - 1].iter().flat_map(|m| m.blob.clone()).collect();
        assert_eq!(body.len() as u64, total);
        assert!(msgs[..msgs.len() - 2].iter().all(|m| m.blob.len() == CHUNK_BYTES));
        assert_eq!(msgs[msgs.len() - 2].remaining_bytes, 0);
        let sha = &msgs[msgs.len() - 1].blob;
        assert_eq!(sha.len(), CHECKSUM_LEN);
        assert_eq!(sha.as_slice(), Sha256::digest(&body).as_slice());
        let mut kv = 0;
        let mut leases = 0;
        decode(&mut body.as_slice(), &mut |t, _, _| {
            kv += usize::from(t == Table::Kv);
            leases += usize::from(t == Table::Lease);
            Ok(())
        })
        .unwrap();
        assert_eq!((kv, leases), (101, 1));
        // Nothing left behind in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn empty_store_dumps() {
        let store = Arc::new(KvStore::open(Arc::new(MemoryEngine::new())).unwrap().0);
        let dir = tempfile::tempdir().unwrap();
        let dump = take(&store, dir.path()).unwrap();
        let mut n = 0;
        dump.stream(&mut |_| {
            n += 1;
            true
        })
        .unwrap();
        assert_eq!(n, 2);
    }
}
