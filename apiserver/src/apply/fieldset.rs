//! [`FieldSet`]: a set of field paths stored as a trie (structured-merge-diff's
//! `fieldpath.Set`). A path is a *member* when it is in the set itself; a node
//! may also have *children* (paths below it). Set algebra follows Go exactly,
//! including `Difference` (which removes only exact members) versus
//! `RecursiveDifference` (which removes whole subtrees under members).

use std::collections::{BTreeMap, BTreeSet};

use super::path::{Path, PathElement};

/// A set of paths. Children never hold empty sets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    pub(crate) members: BTreeSet<PathElement>,
    pub(crate) children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> Self {
        FieldSet::default()
    }

    /// Whether the set holds no path.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.children.values().all(FieldSet::is_empty)
    }

    /// Adds a path; the empty path (the whole object) is never tracked.
    pub fn insert(&mut self, path: &[PathElement]) {
        let Some((last, prefix)) = path.split_last() else { return };
        let mut node = self;
        for pe in prefix {
            // Clone the element only when the child is new.
            if !node.children.contains_key(pe) {
                node.children.insert(pe.clone(), FieldSet::default());
            }
            let Some(child) = node.children.get_mut(pe) else { return };
            node = child;
        }
        if !node.members.contains(last) {
            node.members.insert(last.clone());
        }
    }

    /// Whether `path` is a member.
    pub fn has(&self, path: &[PathElement]) -> bool {
        let Some((last, prefix)) = path.split_last() else { return false };
        let mut node = self;
        for pe in prefix {
            match node.children.get(pe) {
                Some(child) => node = child,
                None => return false,
            }
        }
        node.members.contains(last)
    }

    /// The paths below `pe`, without the prefix.
    pub fn with_prefix(&self, pe: &PathElement) -> FieldSet {
        self.children.get(pe).cloned().unwrap_or_default()
    }

    /// Borrowing form of [`FieldSet::with_prefix`].
    pub fn child(&self, pe: &PathElement) -> Option<&FieldSet> {
        self.children.get(pe)
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.union_in_place(other);
        out
    }

    fn union_in_place(&mut self, other: &FieldSet) {
        self.members.extend(other.members.iter().cloned());
        for (pe, set) in &other.children {
            self.children.entry(pe.clone()).or_default().union_in_place(set);
        }
    }

    /// Owned union: no copy of either set when one is empty.
    pub fn union_with(mut self, other: FieldSet) -> FieldSet {
        if self.is_empty() {
            return other;
        }
        if !other.is_empty() {
            self.union_in_place(&other);
        }
        self
    }

    /// In-place [`FieldSet::difference`] (children left empty are dropped).
    pub fn subtract(&mut self, other: &FieldSet) {
        for m in &other.members {
            self.members.remove(m);
        }
        for (pe, o) in &other.children {
            if let Some(c) = self.children.get_mut(pe) {
                c.subtract(o);
                if c.is_empty() {
                    self.children.remove(pe);
                }
            }
        }
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.intersection(&other.members).cloned().collect();
        let mut children = BTreeMap::new();
        for (pe, set) in &self.children {
            if let Some(o) = other.children.get(pe) {
                let i = set.intersection(o);
                if !i.is_empty() {
                    children.insert(pe.clone(), i);
                }
            }
        }
        FieldSet { members, children }
    }

    /// Go's `Difference`: members of `self` not members of `other`; children
    /// are subtracted node by node (a member of `other` does not remove the
    /// children of the same path in `self`).
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = self.clone();
        out.subtract(other);
        out
    }

    /// Go's `RecursiveDifference`: like [`FieldSet::difference`], but a member
    /// of `other` also removes every path below it.
    pub fn recursive_difference(&self, other: &FieldSet) -> FieldSet {
        let members = self.members.difference(&other.members).cloned().collect();
        let mut children = BTreeMap::new();
        for (pe, set) in &self.children {
            if other.members.contains(pe) {
                continue;
            }
            let d = match other.children.get(pe) {
                Some(o) => set.recursive_difference(o),
                None => set.clone(),
            };
            if !d.is_empty() {
                children.insert(pe.clone(), d);
            }
        }
        FieldSet { members, children }
    }

    /// Every member path, in Go's `Iterate` order: a node's members (sorted),
    /// then its children (sorted), depth first.
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        let mut prefix = Vec::new();
        self.collect(&mut prefix, &mut out);
        out
    }

    fn collect(&self, prefix: &mut Path, out: &mut Vec<Path>) {
        for pe in &self.members {
            let mut p = prefix.clone();
            p.push(pe.clone());
            out.push(p);
        }
        for (pe, set) in &self.children {
            prefix.push(pe.clone());
            set.collect(prefix, out);
            prefix.pop();
        }
    }
}

/// Builds a set from paths (test and table convenience).
impl FromIterator<Path> for FieldSet {
    fn from_iter<I: IntoIterator<Item = Path>>(iter: I) -> Self {
        let mut s = FieldSet::new();
        for p in iter {
            s.insert(&p);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str) -> PathElement {
        PathElement::Field(name.into())
    }

    #[test]
    fn algebra_matches_go() {
        let a: FieldSet = [vec![f("a")], vec![f("a"), f("b")], vec![f("c"), f("d")]].into_iter().collect();
        let b: FieldSet = [vec![f("a")], vec![f("c")]].into_iter().collect();
        // Difference removes the member `a` but keeps `a.b`; `c.d` stays.
        let d = a.difference(&b);
        assert!(!d.has(&[f("a")]) && d.has(&[f("a"), f("b")]) && d.has(&[f("c"), f("d")]));
        // RecursiveDifference drops whole subtrees under members of b.
        let r = a.recursive_difference(&b);
        assert!(r.is_empty(), "{r:?}");
        let i = a.intersection(&b);
        assert_eq!(i.paths(), vec![vec![f("a")]]);
        let u = b.union(&a);
        assert_eq!(u.paths().len(), 4);
        assert_eq!(u.paths(), vec![vec![f("a")], vec![f("c")], vec![f("a"), f("b")], vec![f("c"), f("d")]]);
        let mut e = FieldSet::new();
        e.insert(&[]);
        assert!(e.is_empty());
    }
}
