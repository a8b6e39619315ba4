//! Splitting a large watch response into fragments, for watchers created with
//! `fragment: true`, the way etcd's `sendFragments` does: every fragment but
//! the last has `fragment` set; a fragment is closed when adding one more
//! event would bring it to the limit (but always holds at least one event).

use prost::Message;

use crate::proto::etcdserverpb::WatchResponse;

/// Encoded size one event adds to a response's `events` field.
fn event_field_len(ev: &crate::proto::mvccpb::Event) -> usize {
    let len = ev.encoded_len();
    1 + prost::length_delimiter_len(len) + len
}

/// `resp` as the responses to send: itself if it is under `limit` bytes or
/// holds fewer than two events, else its fragments in order.
pub fn split(mut resp: WatchResponse, limit: usize) -> Vec<WatchResponse> {
    if resp.encoded_len() < limit || resp.events.len() < 2 {
        return vec![resp];
    }
    let events = std::mem::take(&mut resp.events);
    resp.fragment = true;
    let base = resp.encoded_len();
    let mut out = Vec::new();
    let mut cur = resp.clone();
    let mut size = base;
    for ev in events {
        let add = event_field_len(&ev);
        if !cur.events.is_empty() && size + add >= limit {
            out.push(std::mem::replace(&mut cur, resp.clone()));
            size = base;
        }
        size += add;
        cur.events.push(ev);
    }
    cur.fragment = false;
    out.push(cur);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::etcdserverpb::ResponseHeader;
    use crate::proto::mvccpb::{Event, KeyValue};

    fn resp(n: usize, value_len: usize) -> WatchResponse {
        let events = (0..n)
            .map(|i| Event {
                r#type: 0,
                kv: Some(KeyValue {
                    key: format!("k{i}").into_bytes(),
                    value: vec![b'v'; value_len],
                    mod_revision: 7,
                    create_revision: 7,
                    version: 1,
                    lease: 0,
                }),
                prev_kv: None,
            })
            .collect();
        WatchResponse {
            header: Some(ResponseHeader { cluster_id: 1, member_id: 2, revision: 7, raft_term: 2 }),
            watch_id: 3,
            events,
            ..Default::default()
        }
    }

    /// etcd's algorithm, written naively, to check the incremental sizes.
    fn naive(wr: &WatchResponse, limit: usize) -> Vec<WatchResponse> {
        if wr.encoded_len() < limit || wr.events.len() < 2 {
            return vec![wr.clone()];
        }
        let mut out = Vec::new();
        let mut idx = 0;
        loop {
            let mut cur = WatchResponse { events: vec![], fragment: true, ..wr.clone() };
            for ev in &wr.events[idx..] {
                cur.events.push(ev.clone());
                if cur.events.len() > 1 && cur.encoded_len() >= limit {
                    cur.events.pop();
                    break;
                }
                idx += 1;
            }
            if idx == wr.events.len() {
                cur.fragment = false;
            }
            let last = !cur.fragment;
            out.push(cur);
            if last {
                return out;
            }
        }
    }

    #[test]
    fn small_or_single_event_is_not_split() {
        let r = resp(3, 10);
        assert_eq!(split(r.clone(), 1 << 20), vec![r]);
        let big = resp(1, 4096);
        assert_eq!(split(big.clone(), 100), vec![big]);
    }

    #[test]
    fn fragments_match_etcd_and_keep_every_event() {
        for (n, vlen, limit) in [(10, 100, 300), (50, 1000, 4096), (7, 5000, 1000), (100, 1, 64), (3, 10, 90)] {
            let r = resp(n, vlen);
            let got = split(r.clone(), limit);
            assert_eq!(got, naive(&r, limit), "n={n} vlen={vlen} limit={limit}");
            let all: Vec<_> = got.iter().flat_map(|f| f.events.clone()).collect();
            assert_eq!(all, r.events);
            let (last, rest) = got.split_last().unwrap();
            assert!(!last.fragment);
            assert!(rest.iter().all(|f| f.fragment && f.watch_id == 3 && f.header == r.header));
            for f in rest {
                assert!(f.events.len() == 1 || f.encoded_len() < limit);
            }
        }
    }
}
