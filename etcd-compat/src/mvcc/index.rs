//! The key index: key → [`KeyIndex`], ordered so ranges are tree walks.

use std::collections::BTreeMap;
use std::ops::Bound;

use super::key_index::KeyAt;
use super::{KeyIndex, KeyRange, Revision};

#[derive(Debug, Default)]
pub struct TreeIndex {
    keys: BTreeMap<Vec<u8>, KeyIndex>,
}

impl TreeIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a put at `rev`; returns the key as it was just before it
    /// (one tree lookup for existing keys: this is every write's hot path).
    pub fn put(&mut self, key: &[u8], rev: Revision) -> Option<KeyAt> {
        match self.keys.get_mut(key) {
            Some(ki) => {
                let before = ki.get(rev.main);
                ki.put(rev, None);
                before
            }
            None => {
                let mut ki = KeyIndex::default();
                ki.put(rev, None);
                self.keys.insert(key.to_vec(), ki);
                None
            }
        }
    }

    /// Rebuild from disk: a put whose created revision and version are known.
    pub fn restore_put(&mut self, key: &[u8], rev: Revision, created: Revision, ver: i64) {
        self.keys.entry(key.to_vec()).or_default().put(rev, Some((created, ver)));
    }

    pub fn tombstone(&mut self, key: &[u8], rev: Revision) {
        self.keys.entry(key.to_vec()).or_default().tombstone(rev);
    }

    pub fn get(&self, key: &[u8], at: i64) -> Option<KeyAt> {
        self.keys.get(key)?.get(at)
    }

    /// Visits keys live at `at` in key order; the visitor returns false to stop.
    pub fn visit(&self, range: KeyRange<'_>, at: i64, mut f: impl FnMut(&[u8], KeyAt) -> bool) {
        match range {
            KeyRange::Single(k) => {
                if let Some(ka) = self.get(k, at) {
                    f(k, ka);
                }
            }
            KeyRange::Span(start, end) => {
                if end.is_some_and(|e| e <= start) {
                    return;
                }
                let upper = end.map_or(Bound::Unbounded, Bound::Excluded);
                for (k, ki) in self.keys.range::<[u8], _>((Bound::Included(start), upper)) {
                    if let Some(ka) = ki.get(at) {
                        if !f(k, ka) {
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Keys live at `at` in the range, with their state.
    pub fn range(&self, range: KeyRange<'_>, at: i64, limit: usize) -> Vec<(Vec<u8>, KeyAt)> {
        let mut out = Vec::new();
        self.visit(range, at, |k, ka| {
            out.push((k.to_vec(), ka));
            limit == 0 || out.len() < limit
        });
        out
    }

    /// Compacts every key at `at`; returns the revisions (and whether each is a
    /// tombstone) whose values may be dropped.
    pub fn compact(&mut self, at: i64) -> Vec<(Revision, bool)> {
        let mut removed = Vec::new();
        self.keys.retain(|_, ki| !ki.compact(at, &mut removed));
        removed
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}
