//! In-memory engine: ordered maps per table. Used by unit tests and the
//! conformance suite; "durable" only for the life of the process.

use std::collections::BTreeMap;
use std::ops::Bound;

use parking_lot::RwLock;

use super::{Engine, EngineSize, Table, Visit, WriteBatch};
use crate::error::Result;

#[derive(Default)]
struct Inner {
    tables: [BTreeMap<Vec<u8>, Vec<u8>>; Table::ALL.len()],
    in_use: u64,
    /// Like a file, the footprint only shrinks on defragment.
    high_water: u64,
}

#[derive(Default)]
pub struct MemoryEngine {
    inner: RwLock<Inner>,
}

impl MemoryEngine {
    pub fn new() -> Self {
        Self::default()
    }
}

fn entry_size(k: &[u8], v: &[u8]) -> u64 {
    (k.len() + v.len() + 16) as u64
}

impl Engine for MemoryEngine {
    fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.read().tables[table.slot()].get(key).cloned())
    }

    fn get_many(&self, table: Table, keys: &[&[u8]]) -> Result<Vec<Option<Vec<u8>>>> {
        let inner = self.inner.read();
        let t = &inner.tables[table.slot()];
        Ok(keys.iter().map(|k| t.get(*k).cloned()).collect())
    }

    fn scan(&self, table: Table, start: &[u8], end: Option<&[u8]>, visit: Visit<'_>) -> Result<()> {
        let inner = self.inner.read();
        let upper = match end {
            Some(e) => Bound::Excluded(e),
            None => Bound::Unbounded,
        };
        if let Some(e) = end {
            if e <= start {
                return Ok(());
            }
        }
        for (k, v) in inner.tables[table.slot()].range::<[u8], _>((Bound::Included(start), upper)) {
            if !visit(k, v) {
                break;
            }
        }
        Ok(())
    }

    fn commit(&self, batch: &WriteBatch) -> Result<()> {
        let mut inner = self.inner.write();
        for c in &batch.changes {
            let t = &mut inner.tables[c.table.slot()];
            let old = match &c.value {
                Some(v) => t.insert(c.key.clone(), v.clone()),
                None => t.remove(&c.key),
            };
            let added = c.value.as_ref().map_or(0, |v| entry_size(&c.key, v));
            let removed = old.as_ref().map_or(0, |v| entry_size(&c.key, v));
            inner.in_use = inner.in_use + added - removed.min(inner.in_use + added);
        }
        inner.high_water = inner.high_water.max(inner.in_use);
        Ok(())
    }

    fn size(&self) -> Result<EngineSize> {
        let inner = self.inner.read();
        Ok(EngineSize { total: inner.high_water, in_use: inner.in_use })
    }

    fn defragment(&self) -> Result<()> {
        let mut inner = self.inner.write();
        inner.high_water = inner.in_use;
        Ok(())
    }
}
