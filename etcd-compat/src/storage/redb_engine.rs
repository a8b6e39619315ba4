//! redb-backed engine: one file, copy-on-write B-trees, one fsync per commit.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;
use redb::{Database, Durability, ReadableDatabase, TableDefinition};

use super::{Engine, EngineSize, Table, Visit, WriteBatch};
use crate::error::{Error, Result};

type RedbTable<'t> = redb::Table<'t, &'static [u8], &'static [u8]>;

const CACHE_BYTES: usize = 256 << 20;

fn def(table: Table) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
    TableDefinition::new(table.name())
}

fn engine_err(e: impl std::fmt::Display) -> Error {
    Error::Engine(e.to_string())
}

pub struct RedbEngine {
    path: PathBuf,
    // Write-locked only by defragment, which needs `&mut Database`.
    db: RwLock<Database>,
    /// The file's length as of the last commit or defragment, for the per-write
    /// quota check (one stat per group commit instead of one per request).
    file_len: AtomicU64,
}

impl RedbEngine {
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let db = redb::Builder::new().set_cache_size(CACHE_BYTES).create(&path).map_err(engine_err)?;
        let txn = db.begin_write().map_err(engine_err)?;
        for t in Table::ALL {
            txn.open_table(def(t)).map_err(engine_err)?;
        }
        txn.commit().map_err(engine_err)?;
        let file_len = AtomicU64::new(std::fs::metadata(&path)?.len());
        Ok(Self { path, db: RwLock::new(db), file_len })
    }

    fn refresh_file_len(&self) -> Result<()> {
        self.file_len.store(std::fs::metadata(&self.path)?.len(), Ordering::Release);
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl RedbEngine {
    fn commit_with(&self, batch: &WriteBatch, durability: Durability) -> Result<()> {
        let db = self.db.read();
        let mut txn = db.begin_write().map_err(engine_err)?;
        txn.set_durability(durability).map_err(engine_err)?;
        {
            let mut open: Vec<(Table, RedbTable<'_>)> = Vec::new();
            for c in &batch.changes {
                let idx = match open.iter().position(|(t, _)| *t == c.table) {
                    Some(i) => i,
                    None => {
                        open.push((c.table, txn.open_table(def(c.table)).map_err(engine_err)?));
                        open.len() - 1
                    }
                };
                let t = &mut open[idx].1;
                match &c.value {
                    Some(v) => {
                        t.insert(c.key.as_slice(), v.as_slice()).map_err(engine_err)?;
                    }
                    None => {
                        t.remove(c.key.as_slice()).map_err(engine_err)?;
                    }
                }
            }
        }
        txn.commit().map_err(engine_err)?;
        self.refresh_file_len()
    }
}

impl Engine for RedbEngine {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let db = self.db.read();
        let txn = db.begin_read().map_err(engine_err)?;
        let t = txn.open_table(def(table)).map_err(engine_err)?;
        Ok(t.get(key).map_err(engine_err)?.map(|g| g.value().to_vec()))
    }

    fn get_many(&self, table: Table, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        let db = self.db.read();
        let txn = db.begin_read().map_err(engine_err)?;
        let t = txn.open_table(def(table)).map_err(engine_err)?;
        keys.iter().map(|k| Ok(t.get(*k).map_err(engine_err)?.map(|g| g.value().to_vec()))).collect()
    }

    fn scan(&self, table: Table, start: &[u8], end: Option<&[u8]>, visit: Visit<'_>) -> Result<()> {
        if let Some(e) = end {
            if e <= start {
                return Ok(());
            }
        }
        let db = self.db.read();
        let txn = db.begin_read().map_err(engine_err)?;
        let t = txn.open_table(def(table)).map_err(engine_err)?;
        let iter = match end {
            Some(e) => t.range::<&[u8]>(start..e),
            None => t.range::<&[u8]>(start..),
        }
        .map_err(engine_err)?;
        for item in iter {
            let (k, v) = item.map_err(engine_err)?;
            if !visit(k.value(), v.value()) {
                break;
            }
        }
        Ok(())
    }

    fn commit(&self, batch: &WriteBatch) -> Result<()> {
        self.commit_with(batch, Durability::Immediate)
    }

    fn commit_nosync(&self, batch: &WriteBatch) -> Result<()> {
        self.commit_with(batch, Durability::None)
    }

    fn sync(&self) -> Result<()> {
        self.commit_with(&WriteBatch::default(), Durability::Immediate)
    }

    fn size(&self) -> Result<EngineSize> {
        let total = std::fs::metadata(&self.path)?.len();
        let db = self.db.read();
        let txn = db.begin_write().map_err(engine_err)?;
        let stats = txn.stats().map_err(engine_err)?;
        let in_use = stats.allocated_pages() * stats.page_size() as u64;
        txn.abort().map_err(engine_err)?;
        Ok(EngineSize { total, in_use: in_use.min(total) })
    }

    /// The file's length only: `size()` walks every tree for `in_use` and
    /// takes the write lock, far too slow for the per-write quota check.
    fn total_size(&self) -> Result<u64> {
        Ok(self.file_len.load(Ordering::Acquire))
    }

    fn defragment(&self) -> Result<()> {
        let mut db = self.db.write();
        while db.compact().map_err(engine_err)? {}
        self.refresh_file_len()
    }
}
