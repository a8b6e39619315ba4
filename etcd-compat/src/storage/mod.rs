//! The storage engine seam: a small ordered key-value store with named tables,
//! atomic durable batches and a size/defragment contract. MVCC sits on top.

mod memory;
mod redb_engine;

#[cfg(test)]
mod conformance;

pub use memory::MemoryEngine;
pub use redb_engine::RedbEngine;

use crate::error::Result;

/// Tables the MVCC store keeps. Each is an independent ordered map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// Revision-keyed key-values (like etcd's `key` bucket).
    Kv,
    /// Store metadata: current and compacted revisions, consistent index.
    Meta,
    /// Leases: id → ttl.
    Lease,
    /// Auth: users, roles, enabled flag, revision.
    Auth,
    /// Raised alarms.
    Alarm,
}

impl Table {
    pub const ALL: [Table; 5] = [Table::Kv, Table::Meta, Table::Lease, Table::Auth, Table::Alarm];

    pub fn name(self) -> &'static str {
        match self {
            Table::Kv => "key",
            Table::Meta => "meta",
            Table::Lease => "lease",
            Table::Auth => "auth",
            Table::Alarm => "alarm",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// One change inside a batch; `None` deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub table: Table,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

/// A set of changes applied atomically and durably by [`Engine::commit`].
#[derive(Debug, Default, Clone)]
pub struct WriteBatch {
    pub changes: Vec<Change>,
}

impl WriteBatch {
    pub fn put(&mut self, table: Table, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.changes.push(Change { table, key: key.into(), value: Some(value.into()) });
    }
    pub fn delete(&mut self, table: Table, key: impl Into<Vec<u8>>) {
        self.changes.push(Change { table, key: key.into(), value: None });
    }
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
    pub fn len(&self) -> usize {
        self.changes.len()
    }
    pub fn clear(&mut self) {
        self.changes.clear();
    }
}

/// Size of the engine's file: what etcd calls dbSize and dbSizeInUse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineSize {
    pub total: u64,
    pub in_use: u64,
}

/// Visitor for [`Engine::scan`]; return `false` to stop.
pub type Visit<'a> = &'a mut dyn FnMut(&[u8], &[u8]) -> bool;

/// The storage engine seam.
pub trait Engine: Send + Sync + 'static {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>>;
    /// Reads several keys under one read transaction.
    fn get_many(&self, table: Table, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>>;
    /// Visits `[start, end)` in key order (`end = None`: to the end of the table).
    fn scan(&self, table: Table, start: &[u8], end: Option<&[u8]>, visit: Visit<'_>) -> Result<()>;
    /// Applies the batch atomically; on return it is durable (fsynced).
    fn commit(&self, batch: &WriteBatch) -> Result<()>;
    /// Applies the batch atomically without waiting for the disk: a crash may
    /// lose it (never part of it) until the next [`Engine::sync`] or `commit`.
    /// The Raft log makes applied state durable, so the apply path uses this.
    fn commit_nosync(&self, batch: &WriteBatch) -> Result<()> {
        self.commit(batch)
    }
    /// Makes every earlier `commit_nosync` durable.
    fn sync(&self) -> Result<()> {
        Ok(())
    }
    fn size(&self) -> Result<EngineSize>;
    /// Just `size().total`, for hot paths (the quota check runs per write):
    /// engines where `in_use` is expensive override this.
    fn total_size(&self) -> Result<u64> {
        Ok(self.size()?.total)
    }
    /// Reclaims free space so `size().total` shrinks towards `in_use`.
    fn defragment(&self) -> Result<()>;
}
