//! Per-key revision history in generations, as etcd's keyIndex: a generation
//! runs from a create to a tombstone; the last one is open (maybe empty).

use super::Revision;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Generation {
    /// Version of the newest revision in this generation.
    pub ver: i64,
    pub created: Revision,
    pub revs: Vec<Revision>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyIndex {
    generations: Vec<Generation>,
}

/// What a key looked like at some revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyAt {
    pub modified: Revision,
    pub created: Revision,
    pub version: i64,
}

impl KeyIndex {
    /// Records a put; `restored` overrides created/version when rebuilding from disk.
    pub fn put(&mut self, rev: Revision, restored: Option<(Revision, i64)>) {
        if self.generations.is_empty() {
            self.generations.push(Generation::default());
        }
        let Some(g) = self.generations.last_mut() else { return };
        if g.revs.is_empty() {
            g.created = rev;
        }
        g.revs.push(rev);
        g.ver += 1;
        if let Some((created, ver)) = restored {
            g.created = created;
            g.ver = ver;
        }
    }

    /// Records a delete: the revision ends the current generation.
    pub fn tombstone(&mut self, rev: Revision) {
        match self.generations.last_mut() {
            Some(g) if !g.revs.is_empty() => {
                g.revs.push(rev);
                g.ver += 1;
            }
            // A tombstone without a live generation (possible after restore of a
            // compacted history) still closes an otherwise empty generation.
            _ => {
                self.generations.clear();
                self.generations.push(Generation { ver: 1, created: rev, revs: vec![rev] });
            }
        }
        self.generations.push(Generation::default());
    }

    /// The key as of `at`, or `None` if it did not exist then.
    pub fn get(&self, at: i64) -> Option<KeyAt> {
        let g = self.find_generation(at)?;
        let n = g.revs.iter().rposition(|r| r.main <= at)?;
        Some(KeyAt { modified: g.revs[n], created: g.created, version: g.ver - (g.revs.len() - n - 1) as i64 })
    }

    pub fn is_empty(&self) -> bool {
        self.generations.iter().all(|g| g.revs.is_empty())
    }

    fn find_generation(&self, at: i64) -> Option<&Generation> {
        let last = self.generations.len().checked_sub(1)?;
        for (i, g) in self.generations.iter().enumerate().rev() {
            let (Some(first), Some(tomb)) = (g.revs.first(), g.revs.last()) else { continue };
            if i != last && tomb.main <= at {
                return None;
            }
            if first.main <= at {
                return Some(g);
            }
        }
        None
    }

    /// Drops history older than `at`, keeping the newest revision at or before
    /// it unless that is a tombstone. Pushes the dropped revisions to `removed`,
    /// each with whether it was a tombstone. Returns true when nothing is left.
    pub fn compact(&mut self, at: i64, removed: &mut Vec<(Revision, bool)>) -> bool {
        if self.generations.is_empty() {
            return true;
        }
        let last = self.generations.len() - 1;
        let mut gi = 0;
        while gi < last {
            match self.generations[gi].revs.last() {
                Some(tomb) if tomb.main > at => break,
                _ => gi += 1,
            }
        }
        for g in &self.generations[..gi] {
            let n = g.revs.len();
            removed.extend(g.revs.iter().enumerate().map(|(i, r)| (*r, i + 1 == n)));
        }
        let g = &mut self.generations[gi];
        if let Some(ri) = g.revs.iter().rposition(|r| r.main <= at) {
            removed.extend(g.revs.drain(..ri).map(|r| (r, false)));
            if g.revs.len() == 1 && gi != last {
                removed.push((g.revs[0], true));
                gi += 1;
            }
        }
        self.generations.drain(..gi);
        self.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(m: i64) -> Revision {
        Revision::new(m, 0)
    }

    #[test]
    fn generations_and_versions() {
        let mut ki = KeyIndex::default();
        ki.put(r(2), None);
        ki.put(r(4), None);
        ki.tombstone(r(6));
        ki.put(r(8), None);
        assert_eq!(ki.get(1), None);
        assert_eq!(ki.get(3), Some(KeyAt { modified: r(2), created: r(2), version: 1 }));
        assert_eq!(ki.get(5), Some(KeyAt { modified: r(4), created: r(2), version: 2 }));
        assert_eq!(ki.get(6), None);
        assert_eq!(ki.get(7), None);
        assert_eq!(ki.get(9), Some(KeyAt { modified: r(8), created: r(8), version: 1 }));
    }

    #[test]
    fn compaction_keeps_latest_and_drops_tombstoned_generations() {
        let mut ki = KeyIndex::default();
        ki.put(r(2), None);
        ki.put(r(3), None);
        ki.tombstone(r(5));
        ki.put(r(7), None);
        let mut removed = vec![];
        assert!(!ki.compact(3, &mut removed));
        assert_eq!(removed, vec![(r(2), false)]);
        assert_eq!(ki.get(4).map(|k| k.version), Some(2));
        removed.clear();
        assert!(!ki.compact(6, &mut removed));
        assert_eq!(removed, vec![(r(3), false), (r(5), true)]);
        assert_eq!(ki.get(7).map(|k| k.modified), Some(r(7)));
        removed.clear();
        ki.tombstone(r(9));
        assert!(ki.compact(10, &mut removed));
        assert_eq!(removed, vec![(r(7), false), (r(9), true)]);
    }
}
