//! The seeded operation generator. It only ever looks at the reference
//! server's answers (through [`Gen::observe`]), so a seed always produces the
//! same sequence as long as the reference answers the same way.

use std::collections::HashMap;

use etcd_compat::proto::etcdserverpb::compare::{CompareTarget, TargetUnion};
use etcd_compat::proto::etcdserverpb::request_op::Request;
use etcd_compat::proto::etcdserverpb::response_op::Response as OpResponse;
use etcd_compat::proto::etcdserverpb::watch_create_request::FilterType;
use etcd_compat::proto::etcdserverpb::*;
use etcd_compat::proto::mvccpb::KeyValue;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Op, Outcome, WatchOp};

/// Every key that is ever written. Small, so compares and ranges hit existing
/// keys; it includes each prefix in [`PREFIXES`] (watch sentinels write to the
/// start key of the watched range) and bytes at both ends of the alphabet.
pub const KEYS: &[&[u8]] = &[
    b"\x00",
    b"a/",
    b"a/0",
    b"a/1",
    b"a/2",
    b"a/3",
    b"a/4",
    b"a/5",
    b"a/6",
    b"a/7",
    b"b/",
    b"b/0",
    b"b/1",
    b"b/2",
    b"b/3",
    b"b/4",
    b"b/5",
    b"b/x/",
    b"b/x/0",
    b"b/x/1",
    b"b/x/2",
    b"c",
    b"c0",
    b"c1",
    b"c\xff",
    b"c\xff\xff",
    b"d",
    b"\xff",
];

/// Prefixes used for prefix ranges; each is also a key in [`KEYS`].
pub const PREFIXES: &[&[u8]] = &[b"a/", b"b/", b"b/x/", b"c", b"c\xff", b"\xff", b"a/1", b"\x00"];

/// Keys that are read, compared and deleted but never written.
const MISSING: &[&[u8]] = &[b"a/9", b"b/x", b"zz", b"c\xff\xff\xff", b"\x00\x00"];

const VALUES: &[&[u8]] = &[b"x", b"y", b"v1", b"v2", b"\x00", b"\xff", b"xx"];

/// Go's sort.Sort insertion-sorts (stably) up to this many elements; above it
/// ties may come out in any order, so ranges sorted by a non-key target stay
/// within it.
const STABLE_SORT_MAX: usize = 12;

/// etcd's MaxLeaseTTL.
const MAX_LEASE_TTL: i64 = 9_000_000_000;

/// clientv3.GetPrefixRangeEnd.
pub fn prefix_end(p: &[u8]) -> Vec<u8> {
    let mut end = p.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

fn covers(key: &[u8], end: &[u8], k: &[u8]) -> bool {
    if end.is_empty() {
        k == key
    } else if end == [0] {
        k >= key
    } else {
        k >= key && k < end
    }
}

/// How many keys of [`KEYS`] a range can ever return.
pub fn universe_count(key: &[u8], end: &[u8]) -> usize {
    KEYS.iter().filter(|k| covers(key, end, k)).count()
}

fn ops_of(t: &TxnRequest) -> impl Iterator<Item = &RequestOp> {
    t.success.iter().chain(t.failure.iter())
}

fn has_from_key_delete(t: &TxnRequest) -> bool {
    ops_of(t).any(|op| match &op.request {
        Some(Request::RequestDeleteRange(d)) => d.range_end == [0],
        Some(Request::RequestTxn(t)) => has_from_key_delete(t),
        _ => false,
    })
}

fn strip_ignore_flags(t: &mut TxnRequest) {
    for op in t.success.iter_mut().chain(t.failure.iter_mut()) {
        match &mut op.request {
            Some(Request::RequestPut(p)) => {
                p.ignore_value = false;
                p.ignore_lease = false;
            }
            Some(Request::RequestTxn(t)) => strip_ignore_flags(t),
            _ => {}
        }
    }
}

pub struct Gen {
    rng: StdRng,
    /// Current revision as the reference last reported it.
    rev: i64,
    /// Last successful compaction (0 = none) and whether it was physical.
    compact_rev: i64,
    compact_physical: bool,
    live_leases: Vec<i64>,
    dead_leases: Vec<i64>,
    next_lease: i64,
    grants: i64,
    /// The last state seen of each key (stale on purpose: compares then both hit and miss).
    seen: HashMap<Vec<u8>, KeyValue>,
}

impl Gen {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            rev: 1,
            compact_rev: 0,
            compact_physical: true,
            live_leases: Vec::new(),
            dead_leases: Vec::new(),
            next_lease: 1000,
            grants: 0,
            seen: HashMap::new(),
        }
    }

    /// The last successful compaction revision (0 = none).
    pub fn compact_rev(&self) -> i64 {
        self.compact_rev
    }

    fn pct(&mut self, p: u32) -> bool {
        self.rng.gen_range(0..100) < p
    }

    fn pick<T: Clone>(&mut self, xs: &[T]) -> T {
        xs[self.rng.gen_range(0..xs.len())].clone()
    }

    fn key(&mut self) -> Vec<u8> {
        self.pick(KEYS).to_vec()
    }

    fn key_any(&mut self) -> Vec<u8> {
        if self.pct(10) {
            self.pick(MISSING).to_vec()
        } else {
            self.key()
        }
    }

    fn value(&mut self) -> Vec<u8> {
        match self.rng.gen_range(0..10) {
            0 => Vec::new(),
            1..=5 => self.pick(VALUES).to_vec(),
            _ => {
                let n = self.rng.gen_range(1..=8);
                (0..n).map(|_| self.rng.gen()).collect()
            }
        }
    }

    /// A (key, range_end) pair: single keys, prefixes, spans (maybe empty or
    /// inverted), from-key ("\0") and everything.
    fn range_spec(&mut self) -> (Vec<u8>, Vec<u8>) {
        match self.rng.gen_range(0..100) {
            0..=34 => (self.key_any(), Vec::new()),
            35..=54 => {
                let p = self.pick(PREFIXES);
                (p.to_vec(), prefix_end(p))
            }
            55..=69 => (self.key_any(), self.key_any()),
            70..=81 => (self.key_any(), vec![0]),
            82..=89 => (vec![0], vec![0]),
            90..=94 => {
                let k = self.key();
                (k.clone(), k)
            }
            _ => (self.pick(MISSING).to_vec(), Vec::new()),
        }
    }

    /// A range that can never hold more keys than Go sorts stably.
    fn small_range_spec(&mut self) -> (Vec<u8>, Vec<u8>) {
        loop {
            let (k, e) = self.range_spec();
            if universe_count(&k, &e) <= STABLE_SORT_MAX {
                return (k, e);
            }
        }
    }

    fn delete_spec(&mut self) -> (Vec<u8>, Vec<u8>) {
        match self.rng.gen_range(0..100) {
            0..=59 => (self.key_any(), Vec::new()),
            60..=74 => {
                let p = self.pick(PREFIXES);
                (p.to_vec(), prefix_end(p))
            }
            75..=84 => (self.key_any(), self.key_any()),
            85..=92 => (self.key_any(), vec![0]),
            93..=94 => (vec![0], vec![0]),
            _ => (self.pick(MISSING).to_vec(), Vec::new()),
        }
    }

    /// A revision for reads: mostly current, some past, future and compacted.
    fn read_rev(&mut self) -> i64 {
        let lo = self.compact_rev.max(1);
        match self.rng.gen_range(0..100) {
            0..=59 => 0,
            60..=74 => self.rng.gen_range(lo..=self.rev),
            75..=82 => self.rev,
            83..=87 => self.rev + self.rng.gen_range(1..=3),
            88..=94 if self.compact_rev > 1 => self.rng.gen_range(1..self.compact_rev),
            95..=96 => -1,
            _ => 0,
        }
    }

    fn some_rev(&mut self) -> i64 {
        self.rng.gen_range(0..=self.rev + 1)
    }

    fn gen_range(&mut self) -> RangeRequest {
        let sort_order = if self.pct(35) { self.rng.gen_range(1..=2) } else { 0 };
        let sort_target = if self.pct(35) { self.rng.gen_range(1..=4) } else { 0 };
        let (key, range_end) = if sort_target != 0 { self.small_range_spec() } else { self.range_spec() };
        let limit = match self.rng.gen_range(0..100) {
            0..=54 => 0,
            55..=89 => self.rng.gen_range(1..=6),
            90..=94 => -self.rng.gen_range(1..=5),
            _ => 100,
        };
        let mut r = RangeRequest {
            key,
            range_end,
            limit,
            revision: self.read_rev(),
            sort_order,
            sort_target,
            serializable: self.pct(25),
            keys_only: self.pct(15),
            count_only: self.pct(10),
            ..Default::default()
        };
        if self.pct(8) {
            r.min_mod_revision = self.some_rev();
        }
        if self.pct(8) {
            r.max_mod_revision = self.some_rev();
        }
        if self.pct(8) {
            r.min_create_revision = self.some_rev();
        }
        if self.pct(8) {
            r.max_create_revision = self.some_rev();
        }
        r
    }

    /// A lease for a put: mostly live, sometimes revoked or never granted.
    fn lease_ref(&mut self) -> i64 {
        match self.rng.gen_range(0..100) {
            0..=79 if !self.live_leases.is_empty() => self.pick(&self.live_leases.clone()),
            80..=89 if !self.dead_leases.is_empty() => self.pick(&self.dead_leases.clone()),
            _ => 0x7777,
        }
    }

    fn gen_put_for(&mut self, key: Vec<u8>) -> PutRequest {
        let mut p = PutRequest { key, value: self.value(), prev_kv: self.pct(50), ..Default::default() };
        if self.pct(25) {
            p.lease = self.lease_ref();
        }
        if self.pct(12) {
            p.ignore_value = true;
            if !self.pct(10) {
                p.value.clear();
            }
        }
        if self.pct(12) {
            p.ignore_lease = true;
            if !self.pct(10) {
                p.lease = 0;
            }
        }
        p
    }

    fn gen_delete(&mut self) -> DeleteRangeRequest {
        let (key, range_end) = self.delete_spec();
        DeleteRangeRequest { key, range_end, prev_kv: self.pct(50) }
    }

    fn gen_compare(&mut self) -> Compare {
        let (key, range_end) = match self.rng.gen_range(0..100) {
            0..=79 => (self.key(), Vec::new()),
            80..=84 => (self.pick(MISSING).to_vec(), Vec::new()),
            85..=96 => {
                let p = self.pick(PREFIXES);
                (p.to_vec(), prefix_end(p))
            }
            _ => (self.key(), vec![0]),
        };
        let seen = self.seen.get(&key).cloned().unwrap_or_default();
        let target = self.rng.gen_range(0..=4);
        let result = self.rng.gen_range(0..=3);
        let delta = self.rng.gen_range(-1..=1);
        let mut union = match CompareTarget::try_from(target).unwrap_or(CompareTarget::Version) {
            CompareTarget::Value => TargetUnion::Value(match self.rng.gen_range(0..10) {
                0..=4 => seen.value.clone(),
                5 => Vec::new(),
                _ => self.value(),
            }),
            CompareTarget::Version => TargetUnion::Version(match self.rng.gen_range(0..10) {
                0..=3 => seen.version,
                4..=5 => seen.version + delta,
                6..=7 => 0,
                _ => self.rng.gen_range(0..=5),
            }),
            CompareTarget::Create => TargetUnion::CreateRevision(match self.rng.gen_range(0..10) {
                0..=3 => seen.create_revision,
                4..=5 => 0,
                _ => self.some_rev(),
            }),
            CompareTarget::Mod => TargetUnion::ModRevision(match self.rng.gen_range(0..10) {
                0..=3 => seen.mod_revision,
                4..=5 => seen.mod_revision + delta,
                _ => self.some_rev(),
            }),
            CompareTarget::Lease => TargetUnion::Lease(match self.rng.gen_range(0..10) {
                0..=3 => seen.lease,
                4..=6 if !self.live_leases.is_empty() => self.pick(&self.live_leases.clone()),
                _ => 0,
            }),
        };
        // A union that does not match the target (etcd then compares with zero).
        if self.pct(3) {
            union = match self.rng.gen_range(0..3) {
                0 => TargetUnion::ModRevision(self.some_rev()),
                1 => TargetUnion::Version(self.rng.gen_range(0..3)),
                _ => TargetUnion::Value(self.value()),
            };
        }
        let target_union = if self.pct(2) { None } else { Some(union) };
        Compare { result, target, key, range_end, target_union }
    }

    /// A txn. `clean` keeps every written key distinct across the whole tree
    /// (so it passes etcd's duplicate-key check); otherwise keys are random.
    fn gen_txn(&mut self, depth: u32, clean: bool, used: &mut Vec<Vec<u8>>) -> TxnRequest {
        let ncmp = match self.rng.gen_range(0..100) {
            0..=14 => 0,
            15..=59 => 1,
            60..=84 => 2,
            _ => 3,
        };
        let compare = (0..ncmp).map(|_| self.gen_compare()).collect();
        let nsucc = self.rng.gen_range(0..=4);
        let nfail = self.rng.gen_range(0..=4);
        let success = (0..nsucc).map(|_| self.gen_request_op(depth, clean, used)).collect();
        let failure = (0..nfail).map(|_| self.gen_request_op(depth, clean, used)).collect();
        TxnRequest { compare, success, failure }
    }

    fn unused_key(&mut self, used: &[Vec<u8>]) -> Option<Vec<u8>> {
        let free: Vec<&[u8]> = KEYS.iter().copied().filter(|k| !used.iter().any(|u| u == k)).collect();
        if free.is_empty() {
            None
        } else {
            Some(self.pick(&free).to_vec())
        }
    }

    fn gen_request_op(&mut self, depth: u32, clean: bool, used: &mut Vec<Vec<u8>>) -> RequestOp {
        let kind = self.rng.gen_range(0..100);
        let request = match kind {
            0..=34 => {
                let key = if clean { self.unused_key(used) } else { Some(self.key()) };
                match key {
                    Some(k) => {
                        used.push(k.clone());
                        Request::RequestPut(self.gen_put_for(k))
                    }
                    None => Request::RequestRange(self.gen_range()),
                }
            }
            35..=49 => {
                let mut d = self.gen_delete();
                if clean {
                    // Only ranges that hold no key written elsewhere in the tree;
                    // everything they cover is then off limits.
                    let free = |d: &DeleteRangeRequest, used: &[Vec<u8>]| {
                        !used.iter().any(|u| covers(&d.key, &d.range_end, u))
                    };
                    let mut tries = 0;
                    while !free(&d, used) && tries < 20 {
                        d = self.gen_delete();
                        tries += 1;
                    }
                    if !free(&d, used) {
                        return RequestOp { request: Some(Request::RequestRange(self.gen_range())) };
                    }
                    used.extend(KEYS.iter().filter(|k| covers(&d.key, &d.range_end, k)).map(|k| k.to_vec()));
                }
                Request::RequestDeleteRange(d)
            }
            50..=84 => Request::RequestRange(self.gen_range()),
            _ if depth < 2 => Request::RequestTxn(self.gen_txn(depth + 1, clean, used)),
            _ => Request::RequestRange(self.gen_range()),
        };
        RequestOp { request: Some(request) }
    }

    fn gen_txn_op(&mut self) -> TxnRequest {
        let clean = self.pct(80);
        let mut used = Vec::new();
        let mut t = self.gen_txn(0, clean, &mut used);
        // Occasionally a request etcd's v3rpc layer rejects somewhere inside.
        if self.pct(4) {
            let bad = match self.rng.gen_range(0..4) {
                0 => RequestOp { request: None },
                1 => RequestOp {
                    request: Some(Request::RequestPut(PutRequest { value: b"v".to_vec(), ..Default::default() })),
                },
                2 => RequestOp { request: Some(Request::RequestRange(RangeRequest::default())) },
                _ => RequestOp {
                    request: Some(Request::RequestPut(PutRequest {
                        key: self.key(),
                        value: b"v".to_vec(),
                        ignore_value: true,
                        ..Default::default()
                    })),
                },
            };
            let branch = if self.pct(50) { &mut t.success } else { &mut t.failure };
            let at = self.rng.gen_range(0..=branch.len());
            branch.insert(at, bad);
        }
        if self.pct(1) {
            t.compare.push(Compare { key: Vec::new(), ..Default::default() });
        }
        // etcd's duplicate-key check treats a "\0" range end literally (an
        // empty interval), so such a delete may precede a put of a key it
        // removed; with ignore_value/ignore_lease that put then panics etcd
        // 3.4 mid-apply ("unexpected error during txn"). Never send that.
        if has_from_key_delete(&t) {
            strip_ignore_flags(&mut t);
        }
        t
    }

    /// Txns at and over --max-txn-ops (128), flat and nested.
    fn gen_big_txn(&mut self) -> TxnRequest {
        let range = || RequestOp {
            request: Some(Request::RequestRange(RangeRequest { key: b"a/0".to_vec(), ..Default::default() })),
        };
        match self.rng.gen_range(0..4) {
            0 => TxnRequest { success: (0..129).map(|_| range()).collect(), ..Default::default() },
            1 => TxnRequest { failure: (0..128).map(|_| range()).collect(), ..Default::default() },
            _ => {
                let outer = self.rng.gen_range(90..=110);
                let inner = self.rng.gen_range(10..=40);
                let nested = TxnRequest { success: (0..inner).map(|_| range()).collect(), ..Default::default() };
                let mut success: Vec<RequestOp> = (0..outer).map(|_| range()).collect();
                success.push(RequestOp { request: Some(Request::RequestTxn(nested)) });
                TxnRequest { success, ..Default::default() }
            }
        }
    }

    fn gen_compact(&mut self) -> CompactionRequest {
        let physical = self.pct(50);
        let revision = match self.rng.gen_range(0..100) {
            0..=9 if self.compact_rev > 0 => self.rng.gen_range(1..=self.compact_rev),
            10..=19 => self.rev + self.rng.gen_range(1..=3),
            _ => {
                let lo = self.compact_rev + 1;
                if lo > self.rev {
                    self.rev + 1
                } else {
                    let hi = (self.rev - 30).max(lo);
                    self.rng.gen_range(lo..=hi)
                }
            }
        };
        CompactionRequest { revision, physical }
    }

    fn gen_lease_grant(&mut self) -> LeaseGrantRequest {
        self.grants += 1;
        // Distinct TTLs far apart: the two servers list leases in the same
        // expiry order, and nothing expires during the run.
        let ttl = 1_000_000 + self.grants * 10_000;
        match self.rng.gen_range(0..100) {
            0..=9 if !self.live_leases.is_empty() => {
                LeaseGrantRequest { id: self.pick(&self.live_leases.clone()), ttl }
            }
            10..=14 => LeaseGrantRequest { id: self.fresh_lease(), ttl: MAX_LEASE_TTL + 1 },
            15..=19 => LeaseGrantRequest { id: -self.fresh_lease(), ttl },
            _ => LeaseGrantRequest { id: self.fresh_lease(), ttl },
        }
    }

    fn fresh_lease(&mut self) -> i64 {
        self.next_lease += 1;
        self.next_lease
    }

    fn lease_target(&mut self) -> i64 {
        match self.rng.gen_range(0..100) {
            0..=74 if !self.live_leases.is_empty() => self.pick(&self.live_leases.clone()),
            75..=89 if !self.dead_leases.is_empty() => self.pick(&self.dead_leases.clone()),
            _ => 0x7777,
        }
    }

    fn gen_watch(&mut self) -> Option<WatchOp> {
        let (key, range_end) = match self.rng.gen_range(0..100) {
            0..=29 => (self.key(), Vec::new()),
            30..=59 => {
                let p = self.pick(PREFIXES);
                (p.to_vec(), prefix_end(p))
            }
            60..=74 => (self.key(), vec![0]),
            75..=84 => (vec![0], vec![0]),
            _ => {
                let (a, b) = (self.key(), self.key());
                if a == b {
                    (a, Vec::new())
                } else {
                    (a.clone().min(b.clone()), a.max(b))
                }
            }
        };
        // A watch from the compacted revision itself would race etcd's
        // background compaction unless that compaction was physical.
        let c = self.compact_rev;
        let lo = if c == 0 {
            1
        } else if self.compact_physical {
            c
        } else {
            c + 1
        };
        let start_revision = match self.rng.gen_range(0..100) {
            0..=69 if lo <= self.rev => self.rng.gen_range(lo.max(self.rev - 40)..=self.rev),
            70..=84 if lo <= self.rev => self.rng.gen_range(lo..=self.rev),
            _ if c > 1 => self.rng.gen_range(1..c),
            _ if lo <= self.rev => self.rev,
            _ => return None,
        };
        let filters = match self.rng.gen_range(0..100) {
            0..=54 => vec![],
            55..=74 => vec![FilterType::Noput as i32],
            75..=94 => vec![FilterType::Nodelete as i32],
            _ => vec![FilterType::Noput as i32, FilterType::Nodelete as i32],
        };
        let create = WatchCreateRequest {
            key: key.clone(),
            range_end,
            start_revision,
            prev_kv: self.pct(50),
            filters: filters.clone(),
            ..Default::default()
        };
        // Writes whose last event every watcher of this op must deliver: then
        // everything up to it has been delivered too.
        let put = Op::Put(PutRequest { key: key.clone(), value: b"sentinel".to_vec(), ..Default::default() });
        let sentinel = match (filters.contains(&(FilterType::Noput as i32)), filters.len()) {
            (_, 2) => vec![],
            (true, _) => vec![put, Op::Delete(DeleteRangeRequest { key, ..Default::default() })],
            (false, _) => vec![put],
        };
        Some(WatchOp { create, sentinel })
    }

    /// The next operation.
    pub fn next_op(&mut self) -> Op {
        match self.rng.gen_range(0..1000) {
            0..=279 => {
                let key = if self.pct(1) { Vec::new() } else { self.key() };
                Op::Put(self.gen_put_for(key))
            }
            280..=349 => {
                let mut d = self.gen_delete();
                if self.pct(1) {
                    d.key.clear();
                }
                Op::Delete(d)
            }
            350..=569 => Op::Txn(self.gen_txn_op()),
            570..=919 => {
                let mut r = self.gen_range();
                if self.pct(1) {
                    r.key.clear();
                }
                Op::Range(r)
            }
            920..=924 => Op::Compact(self.gen_compact()),
            925..=944 => {
                if self.live_leases.len() >= 10 {
                    Op::LeaseRevoke(LeaseRevokeRequest { id: self.lease_target() })
                } else {
                    Op::LeaseGrant(self.gen_lease_grant())
                }
            }
            945..=954 => Op::LeaseRevoke(LeaseRevokeRequest { id: self.lease_target() }),
            955..=974 => Op::LeaseTtl(LeaseTimeToLiveRequest { id: self.lease_target(), keys: self.pct(60) }),
            975..=981 => Op::Leases,
            982..=991 => match self.gen_watch() {
                Some(w) => Op::Watch(Box::new(w)),
                None => Op::Range(self.gen_range()),
            },
            _ => Op::Txn(self.gen_big_txn()),
        }
    }

    fn see_kvs<'a>(&mut self, kvs: impl IntoIterator<Item = &'a KeyValue>) {
        for kv in kvs {
            self.seen.insert(kv.key.clone(), kv.clone());
        }
    }

    fn see_txn(&mut self, t: &TxnResponse) {
        for r in &t.responses {
            match &r.response {
                Some(OpResponse::ResponseRange(x)) => self.see_kvs(&x.kvs),
                Some(OpResponse::ResponsePut(x)) => self.see_kvs(&x.prev_kv),
                Some(OpResponse::ResponseDeleteRange(x)) => self.see_kvs(&x.prev_kvs),
                Some(OpResponse::ResponseTxn(x)) => self.see_txn(x),
                None => {}
            }
        }
    }

    /// Learns from the reference server's answer to `op`.
    pub fn observe(&mut self, op: &Op, out: &Outcome) {
        if let Some(rev) = out.header_revision() {
            self.rev = self.rev.max(rev);
        }
        match (op, out) {
            (Op::Put(p), Outcome::Put(r)) => {
                let mut kv = self.seen.get(&p.key).cloned().unwrap_or_default();
                if let Some(prev) = &r.prev_kv {
                    kv = prev.clone();
                }
                kv.key = p.key.clone();
                kv.version += 1;
                kv.mod_revision = r.header.as_ref().map_or(0, |h| h.revision);
                if !p.ignore_value {
                    kv.value = p.value.clone();
                }
                if !p.ignore_lease {
                    kv.lease = p.lease;
                }
                self.seen.insert(p.key.clone(), kv);
            }
            (_, Outcome::Range(r)) => self.see_kvs(&r.kvs),
            (_, Outcome::Delete(r)) => self.see_kvs(&r.prev_kvs),
            (_, Outcome::Txn(t)) => self.see_txn(t),
            (Op::Compact(c), Outcome::Compact(_)) => {
                self.compact_rev = c.revision;
                self.compact_physical = c.physical;
            }
            (Op::LeaseGrant(g), Outcome::LeaseGrant(_)) => self.live_leases.push(g.id),
            (Op::LeaseRevoke(r), Outcome::LeaseRevoke(_)) => {
                self.live_leases.retain(|&id| id != r.id);
                self.dead_leases.push(r.id);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_ends_and_universe() {
        assert_eq!(prefix_end(b"a/"), b"a0".to_vec());
        assert_eq!(prefix_end(b"c\xff"), b"d".to_vec());
        assert_eq!(prefix_end(b"\xff"), vec![0]);
        assert_eq!(universe_count(b"a/", &prefix_end(b"a/")), 9);
        assert_eq!(universe_count(&[0], &[0]), KEYS.len());
        assert_eq!(universe_count(b"zz", b""), 0);
        for p in PREFIXES {
            assert!(KEYS.contains(p), "prefix {p:?} must be a key (watch sentinels write it)");
        }
    }

    #[test]
    fn same_seed_same_ops() {
        let (mut a, mut b) = (Gen::new(7), Gen::new(7));
        for _ in 0..500 {
            assert_eq!(format!("{:?}", a.next_op()), format!("{:?}", b.next_op()));
        }
    }
}
