//! Hash (crc32 over every engine table) and HashKV (crc32 over the KV table up
//! to a revision), with etcd's revision checks. The values are over our own
//! encoding: stable across our members, not equal to etcd's numbers.

use crc32fast::Hasher;

use crate::error::{Error, Result};
use crate::mvcc::{KvStore, Revision};
use crate::storage::{Engine, Table};

/// Attempts before giving up when compactions keep racing a HashKV scan.
const MAX_ATTEMPTS: usize = 8;

/// What HashKV answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvHash {
    pub hash: u32,
    /// The store's compacted revision when hashed (-1: never compacted).
    pub compact_revision: i64,
    /// The revision the hash covers.
    pub hash_revision: i64,
    /// The store's current revision (the response header's).
    pub current_revision: i64,
}

/// crc32 over every table: its name, then each key and value in order.
/// Like etcd's, not atomic across tables; meant for tests and tooling.
pub fn hash_all(engine: &dyn Engine) -> Result<u32> {
    let mut h = Hasher::new();
    for table in Table::ALL {
        h.update(table.name().as_bytes());
        engine.scan(table, &[], None, &mut |k, v| {
            h.update(k);
            h.update(v);
            true
        })?;
    }
    Ok(h.finalize())
}

/// etcd's checks for a HashKV revision: 0 = current, below the compacted
/// revision = compacted, above current = future.
pub fn resolve(rev: i64, current: i64, compacted: i64) -> Result<i64> {
    if rev > 0 && rev < compacted {
        return Err(Error::Compacted);
    }
    if rev > 0 && rev > current {
        return Err(Error::FutureRevision);
    }
    Ok(if rev <= 0 { current } else { rev })
}

/// crc32 over the KV table's name and every record with main revision <= `rev`.
pub fn hash_kv(store: &KvStore, rev: i64) -> Result<KvHash> {
    for _ in 0..MAX_ATTEMPTS {
        let compacted = store.compact_rev();
        let current = store.current_rev();
        let at = resolve(rev, current, compacted)?;
        let hash = hash_kv_table(store.engine().as_ref(), at)?;
        // A compaction in between removed records: hash again so the value
        // matches the compacted revision we report.
        if store.compact_rev() == compacted {
            return Ok(KvHash { hash, compact_revision: compacted, hash_revision: at, current_revision: current });
        }
    }
    Err(Error::Timeout)
}

fn hash_kv_table(engine: &dyn Engine, at: i64) -> Result<u32> {
    let mut h = Hasher::new();
    h.update(Table::Kv.name().as_bytes());
    let end = Revision::start_key(at.saturating_add(1));
    engine.scan(Table::Kv, &[], Some(&end), &mut |k, v| {
        h.update(k);
        h.update(v);
        true
    })?;
    Ok(h.finalize())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::mvcc::Writer;
    use crate::storage::MemoryEngine;

    fn store() -> (Arc<KvStore>, Writer) {
        let store = Arc::new(KvStore::open(Arc::new(MemoryEngine::new())).unwrap().0);
        let w = Writer::new(store.clone());
        (store, w)
    }

    fn put(w: &mut Writer, k: &str, v: &str) {
        let mut t = w.begin();
        t.put(k.as_bytes(), v.as_bytes().to_vec(), 0);
        t.end();
        w.flush().unwrap();
    }

    #[test]
    fn resolve_matches_etcd() {
        assert_eq!(resolve(0, 6, 4).unwrap(), 6);
        assert_eq!(resolve(4, 6, 4).unwrap(), 4);
        assert_eq!(resolve(3, 6, 4).unwrap_err(), Error::Compacted);
        assert_eq!(resolve(7, 6, 4).unwrap_err(), Error::FutureRevision);
        assert_eq!(resolve(1, 6, -1).unwrap(), 1);
    }

    #[test]
    fn hash_kv_is_deterministic_and_revision_bound() {
        let (s1, mut w1) = store();
        let (s2, mut w2) = store();
        for (k, v) in [("a", "1"), ("b", "2"), ("a", "3")] {
            put(&mut w1, k, v);
            put(&mut w2, k, v);
        }
        let h1 = hash_kv(&s1, 0).unwrap();
        assert_eq!(h1, hash_kv(&s2, 0).unwrap());
        assert_eq!((h1.hash_revision, h1.current_revision, h1.compact_revision), (4, 4, -1));
        let at3 = hash_kv(&s1, 3).unwrap();
        assert_ne!(at3.hash, h1.hash);
        put(&mut w1, "c", "4");
        assert_eq!(hash_kv(&s1, 3).unwrap().hash, at3.hash, "later writes do not change a past hash");
        assert_ne!(hash_all(s1.engine().as_ref()).unwrap(), hash_all(s2.engine().as_ref()).unwrap());
        put(&mut w2, "c", "4");
        assert_eq!(hash_all(s1.engine().as_ref()).unwrap(), hash_all(s2.engine().as_ref()).unwrap());
    }
}
