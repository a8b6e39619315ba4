//! What a server answered, normalised so that two independent servers can be
//! compared with `==`: header cluster_id, member_id and raft_term are zeroed
//! (recursively, nested txn responses included) and lease keys are sorted
//! (etcd lists them from a Go map). Remaining TTLs compare within ±1 s.

use etcd_compat::proto::etcdserverpb::response_op::Response as OpResponse;
use etcd_compat::proto::etcdserverpb::*;
use etcd_compat::proto::mvccpb::Event;

/// One answer, or the gRPC error instead of it.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Put(PutResponse),
    Delete(DeleteRangeResponse),
    Txn(TxnResponse),
    Range(RangeResponse),
    Compact(CompactionResponse),
    LeaseGrant(LeaseGrantResponse),
    LeaseRevoke(LeaseRevokeResponse),
    LeaseTtl(LeaseTimeToLiveResponse),
    Leases(LeaseLeasesResponse),
    /// The first message on a new watch stream.
    WatchCreated(WatchResponse),
    /// Everything a watcher delivered up to the sentinel write.
    Watch(WatchOutcome),
    Err {
        code: tonic::Code,
        message: String,
    },
    Timeout,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct WatchOutcome {
    /// Every event, across however many messages the server used.
    pub events: Vec<Event>,
    /// The cancel message (events moved to `events`), if the server cancelled.
    pub canceled: Option<WatchResponse>,
    /// No sentinel event and no cancel before the deadline.
    pub timed_out: bool,
}

pub fn norm_header(h: &mut Option<ResponseHeader>) {
    if let Some(h) = h {
        h.cluster_id = 0;
        h.member_id = 0;
        h.raft_term = 0;
    }
}

fn norm_txn(t: &mut TxnResponse) {
    norm_header(&mut t.header);
    for r in &mut t.responses {
        match &mut r.response {
            Some(OpResponse::ResponseRange(x)) => norm_header(&mut x.header),
            Some(OpResponse::ResponsePut(x)) => norm_header(&mut x.header),
            Some(OpResponse::ResponseDeleteRange(x)) => norm_header(&mut x.header),
            Some(OpResponse::ResponseTxn(x)) => norm_txn(x),
            None => {}
        }
    }
}

impl Outcome {
    pub fn status(s: tonic::Status) -> Self {
        Outcome::Err { code: s.code(), message: s.message().to_string() }
    }

    /// Zeroes what legitimately differs between two servers.
    pub fn normalize(mut self) -> Self {
        match &mut self {
            Outcome::Put(r) => norm_header(&mut r.header),
            Outcome::Delete(r) => norm_header(&mut r.header),
            Outcome::Txn(r) => norm_txn(r),
            Outcome::Range(r) => norm_header(&mut r.header),
            Outcome::Compact(r) => norm_header(&mut r.header),
            Outcome::LeaseGrant(r) => norm_header(&mut r.header),
            Outcome::LeaseRevoke(r) => norm_header(&mut r.header),
            Outcome::LeaseTtl(r) => {
                norm_header(&mut r.header);
                r.keys.sort();
            }
            Outcome::Leases(r) => norm_header(&mut r.header),
            Outcome::WatchCreated(r) => norm_header(&mut r.header),
            Outcome::Watch(w) => {
                if let Some(c) = &mut w.canceled {
                    norm_header(&mut c.header);
                }
            }
            Outcome::Err { .. } | Outcome::Timeout => {}
        }
        self
    }

    /// Equal after normalisation; a lease's remaining TTL may differ by 1 s.
    pub fn equivalent(&self, other: &Outcome) -> bool {
        match (self, other) {
            (Outcome::LeaseTtl(a), Outcome::LeaseTtl(b)) if a.ttl >= 0 && b.ttl >= 0 && (a.ttl - b.ttl).abs() <= 1 => {
                let b = LeaseTimeToLiveResponse { ttl: a.ttl, ..b.clone() };
                *a == b
            }
            _ => self == other,
        }
    }

    /// The server is gone (crashed or not listening), not answering.
    pub fn is_transport_error(&self) -> bool {
        match self {
            Outcome::Err { code: tonic::Code::Unavailable | tonic::Code::Unknown, message } => {
                message.contains("transport error") || message.contains("tcp connect error")
            }
            Outcome::Timeout => true,
            _ => false,
        }
    }

    /// The store revision in a successful answer's header (not for watches).
    pub fn header_revision(&self) -> Option<i64> {
        let h = match self {
            Outcome::Put(r) => &r.header,
            Outcome::Delete(r) => &r.header,
            Outcome::Txn(r) => &r.header,
            Outcome::Range(r) => &r.header,
            Outcome::Compact(r) => &r.header,
            Outcome::LeaseGrant(r) => &r.header,
            Outcome::LeaseRevoke(r) => &r.header,
            Outcome::LeaseTtl(r) => &r.header,
            Outcome::Leases(r) => &r.header,
            _ => return None,
        };
        h.as_ref().map(|h| h.revision)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hdr(rev: i64) -> Option<ResponseHeader> {
        Some(ResponseHeader { cluster_id: 1, member_id: 2, revision: rev, raft_term: 3 })
    }

    #[test]
    fn nested_headers_are_normalised() {
        let inner = TxnResponse {
            header: hdr(0),
            responses: vec![ResponseOp {
                response: Some(OpResponse::ResponseRange(RangeResponse { header: hdr(5), ..Default::default() })),
            }],
            ..Default::default()
        };
        let t = TxnResponse {
            header: hdr(5),
            responses: vec![ResponseOp { response: Some(OpResponse::ResponseTxn(inner)) }],
            ..Default::default()
        };
        let Outcome::Txn(n) = Outcome::Txn(t).normalize() else { panic!() };
        assert_eq!(n.header.unwrap().cluster_id, 0);
        let Some(OpResponse::ResponseTxn(inner)) = &n.responses[0].response else { panic!() };
        let Some(OpResponse::ResponseRange(r)) = &inner.responses[0].response else { panic!() };
        assert_eq!(r.header, Some(ResponseHeader { revision: 5, ..Default::default() }));
    }

    #[test]
    fn ttl_tolerance() {
        let a = Outcome::LeaseTtl(LeaseTimeToLiveResponse { ttl: 10, granted_ttl: 11, ..Default::default() });
        let b = Outcome::LeaseTtl(LeaseTimeToLiveResponse { ttl: 9, granted_ttl: 11, ..Default::default() });
        let c = Outcome::LeaseTtl(LeaseTimeToLiveResponse { ttl: 8, granted_ttl: 11, ..Default::default() });
        assert!(a.equivalent(&b));
        assert!(!a.equivalent(&c));
        let gone = Outcome::LeaseTtl(LeaseTimeToLiveResponse { ttl: -1, ..Default::default() });
        let zero = Outcome::LeaseTtl(LeaseTimeToLiveResponse { ttl: 0, ..Default::default() });
        assert!(!gone.equivalent(&zero));
    }
}
