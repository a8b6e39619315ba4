//! Restoring a snapshot file (`capstan etcd --restore-snapshot FILE`) into an
//! empty data dir before the member opens its store, like `etcdutl snapshot
//! restore`: the sha256 trailer and the whole structure are checked before
//! anything is written, and a non-empty data dir is refused.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::format::{check_padding, decode, ALIGN, CHECKSUM_LEN, MAGIC};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::storage::{Engine, WriteBatch};

/// Bytes of changes per engine commit while loading.
const LOAD_BATCH_BYTES: usize = 8 << 20;

/// A snapshot file that passed [`verify`].
#[derive(Debug, Clone)]
pub struct Verified {
    path: PathBuf,
    body_len: u64,
    entries: u64,
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Refuses a data dir that exists and has anything in it (etcdutl's check).
pub fn check_data_dir_empty(dir: &Path) -> Result<()> {
    match std::fs::read_dir(dir) {
        Ok(mut entries) => match entries.next() {
            None => Ok(()),
            Some(_) => {
                Err(Error::Restore(format!("data-dir {:?} not empty or could not be read", dir.display().to_string())))
            }
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) => {
            Err(Error::Restore(format!("data-dir {:?} not empty or could not be read", dir.display().to_string())))
        }
    }
}

/// Checks the sha256 trailer and the structure of a snapshot file.
pub fn verify(path: &Path) -> Result<Verified> {
    let open_err =
        |e: std::io::Error| Error::Restore(format!("cannot open snapshot {:?}: {e}", path.display().to_string()));
    let mut file = File::open(path).map_err(open_err)?;
    let len = file.metadata().map_err(open_err)?.len();
    let min = (MAGIC.len() + 4 + 9 + CHECKSUM_LEN) as u64;
    if len < min || len % ALIGN != CHECKSUM_LEN as u64 {
        return Err(Error::Restore(format!(
            "snapshot {:?} has no sha256 trailer ({len} bytes)",
            path.display().to_string()
        )));
    }
    let body_len = len - CHECKSUM_LEN as u64;
    let mut expected = [0u8; CHECKSUM_LEN];
    file.seek(SeekFrom::Start(body_len))?;
    file.read_exact(&mut expected)?;
    file.seek(SeekFrom::Start(0))?;
    let mut reader = HashingReader { inner: BufReader::new(file).take(body_len), hasher: Sha256::new() };
    let parsed = decode(&mut reader, &mut |_, _, _| Ok(())).and_then(|n| check_padding(&mut reader).map(|()| n));
    std::io::copy(&mut reader, &mut std::io::sink())?;
    let got = reader.hasher.finalize();
    if got.as_slice() != expected {
        return Err(Error::Restore(format!(
            "snapshot integrity check failed: expected sha256 {}, got {}",
            hex(&expected),
            hex(&got)
        )));
    }
    let entries = parsed?;
    Ok(Verified { path: path.to_path_buf(), body_len, entries })
}

/// For `Node::open`: if the config asks for a restore, checks the data dir
/// and the file. Call before the engine is opened (which creates the dir).
pub fn prepare(config: &Config) -> Result<Option<Verified>> {
    let Some(path) = &config.restore_snapshot else { return Ok(None) };
    check_data_dir_empty(&config.data_dir)?;
    verify(path).map(Some)
}

impl Verified {
    pub fn entries(&self) -> u64 {
        self.entries
    }

    /// Writes every entry of the snapshot into `engine` (which should be empty).
    pub fn load_into(&self, engine: &dyn Engine) -> Result<u64> {
        let file = File::open(&self.path)?;
        let mut reader = BufReader::new(file).take(self.body_len);
        let mut batch = WriteBatch::default();
        let mut pending = 0usize;
        let n = decode(&mut reader, &mut |table, k, v| {
            pending += k.len() + v.len();
            batch.put(table, k, v);
            if pending >= LOAD_BATCH_BYTES {
                engine.commit(&batch)?;
                batch.clear();
                pending = 0;
            }
            Ok(())
        })?;
        if !batch.is_empty() {
            engine.commit(&batch)?;
        }
        tracing::info!(path = %self.path.display(), entries = n, "restored snapshot");
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::maintenance::format::Encoder;
    use crate::storage::{MemoryEngine, Table};

    fn write_snapshot(path: &Path, corrupt_byte: Option<usize>) {
        let mut enc = Encoder::new(Vec::new()).unwrap();
        enc.table(Table::Kv).unwrap();
        enc.entry(b"k", b"v").unwrap();
        enc.table(Table::Lease).unwrap();
        enc.entry(b"l", b"t").unwrap();
        let (mut body, _) = enc.finish().unwrap();
        let sha = Sha256::digest(&body);
        if let Some(i) = corrupt_byte {
            body[i] ^= 0xff;
        }
        let mut f = File::create(path).unwrap();
        f.write_all(&body).unwrap();
        f.write_all(&sha).unwrap();
    }

    #[test]
    fn verifies_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.db");
        write_snapshot(&p, None);
        let v = verify(&p).unwrap();
        assert_eq!(v.entries(), 2);
        let engine = MemoryEngine::new();
        assert_eq!(v.load_into(&engine).unwrap(), 2);
        assert_eq!(engine.get(Table::Kv, b"k").unwrap(), Some(b"v".to_vec()));
        assert_eq!(engine.get(Table::Lease, b"l").unwrap(), Some(b"t".to_vec()));
    }

    #[test]
    fn rejects_bad_checksum() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.db");
        write_snapshot(&p, Some(30));
        let err = verify(&p).unwrap_err().to_string();
        assert!(err.starts_with("snapshot integrity check failed: expected sha256 "), "{err}");
    }

    #[test]
    fn refuses_non_empty_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        check_data_dir_empty(&dir.path().join("missing")).unwrap();
        check_data_dir_empty(dir.path()).unwrap();
        std::fs::write(dir.path().join("x"), b"1").unwrap();
        let err = check_data_dir_empty(dir.path()).unwrap_err().to_string();
        assert!(err.ends_with("not empty or could not be read"), "{err}");
    }
}
