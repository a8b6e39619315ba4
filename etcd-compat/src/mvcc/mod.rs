//! Multi-version concurrency control: revisions, the in-memory key index, and
//! the revision-keyed store on top of a storage [`Engine`](crate::storage::Engine).

mod index;
mod key_index;
mod revision;
mod store;

pub use index::TreeIndex;
pub use key_index::KeyIndex;
pub use revision::Revision;
pub use store::{
    KvStore, LeasedKeys, RangeOptions, RangeResult, ReadView, TxnWrite, Writer, META_COMPACT_REV, META_CURRENT_REV,
};

/// Normalises etcd's range end: empty = single key, "\0" = every key >= key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRange<'a> {
    Single(&'a [u8]),
    /// `[start, end)`; `end = None` means unbounded.
    Span(&'a [u8], Option<&'a [u8]>),
}

impl<'a> KeyRange<'a> {
    pub fn new(key: &'a [u8], range_end: &'a [u8]) -> Self {
        if range_end.is_empty() {
            KeyRange::Single(key)
        } else if range_end == [0] {
            KeyRange::Span(key, None)
        } else {
            KeyRange::Span(key, Some(range_end))
        }
    }

    pub fn contains(&self, k: &[u8]) -> bool {
        match *self {
            KeyRange::Single(key) => k == key,
            KeyRange::Span(start, end) => k >= start && end.is_none_or(|e| k < e),
        }
    }
}
