//! Key-range permissions as etcd checks them: every user's roles are merged
//! into one read and one write interval set, a single key is allowed when an
//! interval overlaps it, and a range when overlapping intervals cover it
//! without a gap. Bounds order like etcd's `BytesAffineComparable`: an empty
//! bound sorts after every key, so an empty end means "to the end of the keyspace".

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::proto::authpb::permission::Type as PermType;
use crate::proto::authpb::{Role, User};

/// Compares two bounds with the empty bound as +infinity.
fn affine_cmp(a: &[u8], b: &[u8]) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.cmp(b),
    }
}

/// `[begin, end)` with an empty `end` unbounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interval {
    begin: Vec<u8>,
    end: Vec<u8>,
}

impl Interval {
    /// The one-key interval `[key, key + "\0")`.
    pub fn point(key: &[u8]) -> Self {
        let mut end = Vec::with_capacity(key.len() + 1);
        end.extend_from_slice(key);
        end.push(0);
        Self { begin: key.to_vec(), end }
    }

    /// A key and etcd range end: empty = the key alone, "\0" = every key from `key` on.
    pub fn of_range(key: &[u8], range_end: &[u8]) -> Self {
        match range_end {
            [] => Self::point(key),
            [0] => Self { begin: key.to_vec(), end: Vec::new() },
            end => Self { begin: key.to_vec(), end: end.to_vec() },
        }
    }

    /// etcd's interval comparison: neither wholly left nor wholly right of `other`.
    fn overlaps(&self, other: &Interval) -> bool {
        let left = affine_cmp(&self.begin, &other.begin) == Ordering::Less
            && affine_cmp(&self.end, &other.begin) != Ordering::Greater;
        let right = affine_cmp(&self.begin, &other.end) != Ordering::Less;
        !left && !right
    }
}

/// Intervals kept in begin order (ties in insertion order), like etcd's interval tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IntervalSet {
    ivs: Vec<Interval>,
}

impl IntervalSet {
    pub fn insert(&mut self, iv: Interval) {
        let at = self.ivs.partition_point(|x| affine_cmp(&x.begin, &iv.begin) != Ordering::Greater);
        self.ivs.insert(at, iv);
    }

    /// Whether any interval overlaps `q`.
    pub fn intersects(&self, q: &Interval) -> bool {
        self.ivs.iter().any(|x| q.overlaps(x))
    }

    /// Whether the intervals overlapping `q` cover it contiguously.
    pub fn contains(&self, q: &Interval) -> bool {
        let mut hits = self.ivs.iter().filter(|x| q.overlaps(x));
        let Some(first) = hits.next() else { return false };
        let mut max_end = &first.end;
        for x in hits {
            if affine_cmp(max_end, &x.begin) == Ordering::Less {
                return false;
            }
            if affine_cmp(&x.end, max_end) == Ordering::Greater {
                max_end = &x.end;
            }
        }
        affine_cmp(max_end, &q.end) != Ordering::Less && affine_cmp(&first.begin, &q.begin) != Ordering::Greater
    }
}

/// A user's merged permissions over all of its roles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RangePerms {
    read: IntervalSet,
    write: IntervalSet,
}

impl RangePerms {
    /// Merges the permissions of every role the user has; unknown roles add nothing.
    pub fn merged(user: &User, roles: &BTreeMap<String, Role>) -> Self {
        let mut out = RangePerms::default();
        for role in user.roles.iter().filter_map(|name| roles.get(name)) {
            for perm in &role.key_permission {
                let iv = Interval::of_range(&perm.key, &perm.range_end);
                match PermType::try_from(perm.perm_type) {
                    Ok(PermType::Read) => out.read.insert(iv),
                    Ok(PermType::Write) => out.write.insert(iv),
                    Ok(PermType::Readwrite) => {
                        out.read.insert(iv.clone());
                        out.write.insert(iv);
                    }
                    Err(_) => {}
                }
            }
        }
        out
    }

    /// Whether `[key, range_end)` (etcd's range encoding) may be read or written.
    pub fn permits(&self, key: &[u8], range_end: &[u8], write: bool) -> bool {
        let set = if write { &self.write } else { &self.read };
        if range_end.is_empty() {
            set.intersects(&Interval::point(key))
        } else {
            set.contains(&Interval::of_range(key, range_end))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::authpb::Permission;

    fn perms(list: &[(PermType, &str, &str)]) -> RangePerms {
        let role = Role {
            name: b"r".to_vec(),
            key_permission: list
                .iter()
                .map(|(t, k, e)| Permission {
                    perm_type: *t as i32,
                    key: k.as_bytes().to_vec(),
                    range_end: e.as_bytes().to_vec(),
                })
                .collect(),
        };
        let user = User { name: b"u".to_vec(), roles: vec!["r".into(), "missing".into()], ..Default::default() };
        RangePerms::merged(&user, &BTreeMap::from([("r".to_string(), role)]))
    }

    #[test]
    fn single_key_permission() {
        let p = perms(&[(PermType::Read, "foo", "")]);
        assert!(p.permits(b"foo", b"", false));
        assert!(!p.permits(b"foo", b"", true));
        assert!(!p.permits(b"fo", b"", false));
        assert!(!p.permits(b"foo0", b"", false));
        // A range exactly covering the key is allowed, a wider one is not.
        assert!(p.permits(b"foo", b"foo\0", false));
        assert!(!p.permits(b"foo", b"fop", false));
    }

    #[test]
    fn range_and_prefix_permission() {
        let p = perms(&[(PermType::Readwrite, "pre/", "pre0"), (PermType::Write, "a", "c")]);
        assert!(p.permits(b"pre/x", b"", false));
        assert!(p.permits(b"pre/x", b"", true));
        assert!(p.permits(b"pre/", b"pre0", false));
        assert!(p.permits(b"pre/a", b"pre/b", false));
        assert!(!p.permits(b"pre", b"pre0", false));
        assert!(!p.permits(b"pre/", b"pre1", false));
        assert!(p.permits(b"b", b"", true));
        assert!(!p.permits(b"b", b"", false));
        assert!(!p.permits(b"c", b"", true));
        assert!(!p.permits(b"\0", b"\0", false));
    }

    #[test]
    fn from_key_permission() {
        let p = perms(&[(PermType::Read, "z", "\0")]);
        assert!(p.permits(b"z", b"", false));
        assert!(p.permits(b"zzz", b"", false));
        assert!(p.permits(b"z", b"\0", false));
        assert!(p.permits(b"zz", b"\0", false));
        assert!(!p.permits(b"y", b"\0", false));
        assert!(!p.permits(b"y", b"", false));
    }

    #[test]
    fn adjacent_ranges_cover_contiguously() {
        let p = perms(&[(PermType::Read, "a", "c"), (PermType::Read, "c", "e"), (PermType::Read, "g", "\0")]);
        assert!(p.permits(b"a", b"e", false));
        assert!(p.permits(b"b", b"d", false));
        assert!(!p.permits(b"a", b"f", false));
        assert!(!p.permits(b"d", b"h", false));
        assert!(p.permits(b"g", b"\0", false));
        assert!(!p.permits(b"a", b"\0", false));
        // A point interval [c, c\0) joins ranges ending at c and starting at c\0.
        let p = perms(&[(PermType::Read, "a", "c"), (PermType::Read, "c", ""), (PermType::Read, "c\0", "d")]);
        assert!(p.permits(b"a", b"d", false));
    }

    #[test]
    fn nothing_granted_denies() {
        let p = RangePerms::default();
        assert!(!p.permits(b"a", b"", false));
        assert!(!p.permits(b"a", b"b", true));
    }
}
