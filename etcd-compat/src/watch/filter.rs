//! What a watcher looks at: its key range ([`Target`]) and the event filters
//! (`NOPUT`/`NODELETE`) of its create request, with etcd's normalisation.

use crate::mvcc::KeyRange;
use crate::proto::etcdserverpb::watch_create_request::FilterType;
use crate::proto::mvccpb::{event::EventType, Event};

/// etcd's `ErrEmptyWatcherRange` text.
pub const EMPTY_RANGE: &str = "mvcc: watcher range is empty";

/// A watcher's keys, owned. `end` follows etcd's range-end conventions:
/// empty = the single key, `"\0"` = every key >= `key`, else `[key, end)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    key: Vec<u8>,
    end: Vec<u8>,
}

impl Target {
    /// Normalises a create request's range as etcd's v3rpc layer does: an
    /// empty key stands for `"\0"`, the smallest key.
    pub fn new(key: Vec<u8>, end: Vec<u8>) -> Self {
        let key = if key.is_empty() { vec![0] } else { key };
        Self { key, end }
    }

    pub fn key(&self) -> &[u8] {
        &self.key
    }

    pub fn end(&self) -> &[u8] {
        &self.end
    }

    /// True for a bounded range whose end is not after its start (etcd
    /// refuses such a watch with [`EMPTY_RANGE`]).
    pub fn is_empty_range(&self) -> bool {
        !self.end.is_empty() && self.end != [0] && self.key >= self.end
    }

    /// True when the watcher is on exactly one key.
    pub fn is_single(&self) -> bool {
        self.end.is_empty()
    }

    pub fn range(&self) -> KeyRange<'_> {
        KeyRange::new(&self.key, &self.end)
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        self.range().contains(key)
    }
}

/// The event types a watcher does not want.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filters {
    pub no_put: bool,
    pub no_delete: bool,
}

impl Filters {
    /// From a create request's `filters`; unknown values are ignored, as etcd does.
    pub fn from_request(filters: &[i32]) -> Self {
        let mut f = Filters::default();
        for &v in filters {
            match FilterType::try_from(v) {
                Ok(FilterType::Noput) => f.no_put = true,
                Ok(FilterType::Nodelete) => f.no_delete = true,
                Err(_) => {}
            }
        }
        f
    }

    /// True if the watcher should see `ev`.
    pub fn keeps(&self, ev: &Event) -> bool {
        let put = ev.r#type == EventType::Put as i32;
        !(put && self.no_put || !put && self.no_delete)
    }
}

/// A put that created its key (etcd skips prev_kv for these).
pub fn is_create_event(ev: &Event) -> bool {
    ev.r#type == EventType::Put as i32 && ev.kv.as_ref().is_some_and(|kv| kv.create_revision == kv.mod_revision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::mvccpb::KeyValue;

    fn ev(t: EventType, key: &[u8], create: i64, modr: i64) -> Event {
        let kv = KeyValue { key: key.to_vec(), create_revision: create, mod_revision: modr, ..Default::default() };
        Event { r#type: t as i32, kv: Some(kv), prev_kv: None }
    }

    #[test]
    fn single_prefix_and_from_key() {
        let one = Target::new(b"foo".to_vec(), vec![]);
        assert!(one.is_single());
        assert!(one.contains(b"foo"));
        assert!(!one.contains(b"foo1"));
        assert!(!one.contains(b"fo"));

        let prefix = Target::new(b"foo".to_vec(), b"fop".to_vec());
        assert!(prefix.contains(b"foo"));
        assert!(prefix.contains(b"foo/bar"));
        assert!(!prefix.contains(b"fop"));
        assert!(!prefix.contains(b"fo"));

        let from = Target::new(b"m".to_vec(), vec![0]);
        assert!(from.contains(b"m"));
        assert!(from.contains(b"zzz"));
        assert!(!from.contains(b"a"));
    }

    #[test]
    fn empty_key_is_the_smallest_key() {
        let all = Target::new(vec![], vec![0]);
        assert_eq!(all.key(), &[0]);
        assert!(all.contains(b"a"));
        assert!(all.contains(&[0]));
        let one = Target::new(vec![], vec![]);
        assert!(one.contains(&[0]));
        assert!(!one.contains(b"a"));
    }

    #[test]
    fn empty_ranges() {
        assert!(Target::new(b"b".to_vec(), b"a".to_vec()).is_empty_range());
        assert!(Target::new(b"b".to_vec(), b"b".to_vec()).is_empty_range());
        assert!(!Target::new(b"b".to_vec(), b"c".to_vec()).is_empty_range());
        assert!(!Target::new(b"b".to_vec(), vec![0]).is_empty_range());
        assert!(!Target::new(b"b".to_vec(), vec![]).is_empty_range());
    }

    #[test]
    fn filters_drop_their_type() {
        let put = ev(EventType::Put, b"k", 2, 3);
        let del = ev(EventType::Delete, b"k", 0, 4);
        let none = Filters::from_request(&[]);
        assert!(none.keeps(&put) && none.keeps(&del));
        let no_put = Filters::from_request(&[FilterType::Noput as i32]);
        assert!(!no_put.keeps(&put) && no_put.keeps(&del));
        let no_del = Filters::from_request(&[FilterType::Nodelete as i32, 7]);
        assert!(no_del.keeps(&put) && !no_del.keeps(&del));
        let both = Filters::from_request(&[0, 1]);
        assert!(!both.keeps(&put) && !both.keeps(&del));
    }

    #[test]
    fn create_events() {
        assert!(is_create_event(&ev(EventType::Put, b"k", 5, 5)));
        assert!(!is_create_event(&ev(EventType::Put, b"k", 5, 6)));
        assert!(!is_create_event(&ev(EventType::Delete, b"k", 0, 0)));
    }
}
