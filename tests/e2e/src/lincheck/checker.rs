//! The search: per key, Wing–Gong–Lowe with Porcupine's linked list of entries
//! and cache of (linearized set, state).

use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::history::{Outcome, Record};
use super::model::{self, Interner, KOp, KRet, ABSENT};
use super::CheckResult;

const NIL: usize = usize::MAX;
/// How many search steps between looks at the clock and the abort flag (a power of two).
const CLOCK_EVERY: u32 = 1 << 12;
/// Lines of context in an `Illegal` report.
const SHOW_PREFIX: usize = 10;
const SHOW_CANDIDATES: usize = 16;

/// One op of a key's sub-history in compact form.
#[derive(Clone, Copy, Debug)]
struct Event {
    call: u64,
    /// Return time; `None` for ambiguous ops (+infinity, may never take effect).
    ret: Option<u64>,
    op: KOp,
    result: KRet,
}

/// The ops on one key.
struct KeyHistory<'a> {
    key: &'a str,
    events: Vec<Event>,
    /// Index into the checked records, per event.
    records: Vec<usize>,
    values: Interner<'a>,
}

enum SearchOutcome {
    Ok,
    /// No linearization; `best` is the longest linearizable prefix found (event indices).
    Illegal {
        best: Vec<usize>,
    },
    Timeout,
    /// Stopped because another key already failed.
    Aborted,
}

/// Checks a snapshot of a history.
pub(crate) fn check_records(records: &[Record], timeout: Duration) -> CheckResult {
    let deadline = Instant::now().checked_add(timeout);
    let keys = partition(records);
    for kh in &keys {
        if let Some(detail) = impossible_read(kh, records) {
            return CheckResult::Illegal { key: kh.key.to_string(), detail };
        }
    }
    // Biggest keys first, so the slowest searches start early.
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by_key(|&i| Reverse(keys[i].events.len()));
    let abort = AtomicBool::new(false);
    let next = AtomicUsize::new(0);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(&k) = order.get(i) else { break };
            let out = search(&keys[k].events, deadline, &abort);
            if matches!(out, SearchOutcome::Illegal { .. }) {
                abort.store(true, Ordering::Relaxed);
            }
            done.push((k, out));
            if abort.load(Ordering::Relaxed) {
                break;
            }
        }
        done
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(keys.len());
    let mut outcomes: Vec<(usize, SearchOutcome)> = if threads <= 1 {
        work()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect::<Vec<_>>()
        })
    };
    // Report the first failing key (in key order) among those searched.
    outcomes.sort_by_key(|(k, _)| *k);
    let mut timed_out = false;
    for (k, out) in outcomes {
        match out {
            SearchOutcome::Ok => {}
            SearchOutcome::Illegal { best } => {
                let kh = &keys[k];
                return CheckResult::Illegal { key: kh.key.to_string(), detail: explain(kh, records, &best) };
            }
            SearchOutcome::Timeout | SearchOutcome::Aborted => timed_out = true,
        }
    }
    if timed_out {
        CheckResult::Timeout
    } else {
        CheckResult::Ok
    }
}

/// Splits the checked records by key (in key order) and compiles them.
fn partition(records: &[Record]) -> Vec<KeyHistory<'_>> {
    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        let checked = match r.outcome {
            Outcome::Ok { .. } => true,
            Outcome::Discarded => false,
            // Unresolved reads constrain nothing; unresolved writes may have applied.
            Outcome::Pending | Outcome::Ambiguous => r.op.is_write(),
        };
        if checked {
            by_key.entry(r.op.key()).or_default().push(i);
        }
    }
    by_key
        .into_iter()
        .map(|(key, idx)| {
            let mut values = Interner::new();
            let events = idx
                .iter()
                .map(|&i| {
                    let r = &records[i];
                    let (at, ret) = match &r.outcome {
                        Outcome::Ok { at, ret } => (Some(*at), Some(ret)),
                        _ => (None, None),
                    };
                    let (op, result) = values.compile(&r.op, ret);
                    Event { call: r.call, ret: at, op, result }
                })
                .collect();
            KeyHistory { key, events, records: idx, values }
        })
        .collect()
}

/// A completed read of a value no op on the key ever writes: illegal in every
/// order, and cheap to report precisely before any search (which could otherwise
/// drown in ambiguous writes before proving it).
fn impossible_read(kh: &KeyHistory<'_>, records: &[Record]) -> Option<String> {
    let mut ever_written = Vec::new();
    for e in &kh.events {
        if let KOp::Put(v) | KOp::Cas { value: v, .. } = e.op {
            let v = v as usize;
            if ever_written.len() <= v {
                ever_written.resize(v + 1, false);
            }
            ever_written[v] = true;
        }
    }
    kh.events.iter().zip(&kh.records).find_map(|(e, &r)| match e.result {
        KRet::Get(v) if v != ABSENT && !ever_written.get(v as usize).copied().unwrap_or(false) => {
            Some(format!("read of a value no op ever wrote to key {:?}:\n  {}", kh.key, describe(records, r)))
        }
        _ => None,
    })
}

/// Unlinks entry `e` from the doubly linked list (its own links stay, for [`relink`]).
#[inline]
fn unlink(next: &mut [usize], prev: &mut [usize], e: usize) {
    let (p, n) = (prev[e], next[e]);
    next[p] = n;
    if n != NIL {
        prev[n] = p;
    }
}

/// Puts entry `e` back where it was (undoes [`unlink`] in LIFO order).
#[inline]
fn relink(next: &mut [usize], prev: &mut [usize], e: usize) {
    let (p, n) = (prev[e], next[e]);
    next[p] = e;
    if n != NIL {
        prev[n] = e;
    }
}

/// SplitMix64's finalizer: a good 64-bit mix.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Zobrist key of op `i`: the hash of a linearized set is the XOR of its ops' keys.
#[inline]
fn zobrist(i: usize) -> u64 {
    mix((i as u64).wrapping_add(0x9e37_79b9_7f4a_7c15))
}

/// How many finished nodes of a group [`Cache::visit`] compares against for dominance.
const DOMINANCE_SCAN: usize = 32;

/// Explored search nodes: which completed ops are linearized (C), which
/// ambiguous ops have been applied (X) and the state. Open addressing over
/// arenas of bitsets, so a visit allocates nothing but amortized arena growth.
///
/// A node is pruned if it was seen before, or if a *finished* node (its whole
/// subtree explored, in vain) had the same C and state and applied a subset of
/// its X: ambiguous ops are optional, so every continuation of the new node is
/// one of that node too. Finished nodes are chained per (C, state) group for
/// that check, most recent first.
struct Cache {
    /// Words per C and per X bitset.
    cw: usize,
    aw: usize,
    /// Slots of the (C, X, state) table and of the (C, state) group table:
    /// 0 = empty, else entry index + 1 (for groups: the group's latest finished node).
    exact: Vec<usize>,
    groups: Vec<usize>,
    group_count: usize,
    /// Per entry: hash of (C, X, state), hash of (C, state), state, bitsets,
    /// the next older finished entry of its group.
    hashes: Vec<u64>,
    ghashes: Vec<u64>,
    states: Vec<u32>,
    cbits: Vec<u64>,
    abits: Vec<u64>,
    group_next: Vec<usize>,
}

impl Cache {
    fn new(cw: usize, aw: usize) -> Self {
        Self {
            cw,
            aw,
            exact: vec![0; 1024],
            groups: vec![0; if aw > 0 { 1024 } else { 0 }],
            group_count: 0,
            hashes: Vec::new(),
            ghashes: Vec::new(),
            states: Vec::new(),
            cbits: Vec::new(),
            abits: Vec::new(),
            group_next: Vec::new(),
        }
    }

    fn same_group(&self, e: usize, gh: u64, state: u32, cbits: &[u64]) -> bool {
        let cw = self.cw;
        self.ghashes[e] == gh && self.states[e] == state && self.cbits[e * cw..(e + 1) * cw] == *cbits
    }

    /// Records a visit to the node (`cbits`, `abits`, `state`), where `zc` and
    /// `za` are the Zobrist hashes of the two sets. Returns the new entry, or
    /// `None` if the node is pruned.
    fn visit(&mut self, zc: u64, za: u64, state: u32, cbits: &[u64], abits: &[u64]) -> Option<usize> {
        let gh = mix(zc ^ u64::from(state).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let h = mix(gh ^ za);
        if (self.states.len() + 1) * 2 > self.exact.len() {
            self.exact = rehash(self.exact.len() * 2, &self.hashes, 0..self.hashes.len());
        }
        let aw = self.aw;
        let mask = self.exact.len() - 1;
        let mut i = h as usize & mask;
        loop {
            let s = self.exact[i];
            if s == 0 {
                break;
            }
            let e = s - 1;
            if self.hashes[e] == h && self.same_group(e, gh, state, cbits) && self.abits[e * aw..(e + 1) * aw] == *abits
            {
                return None;
            }
            i = (i + 1) & mask;
        }
        if abits.iter().any(|&w| w != 0) {
            let mut e = self.group_slot(gh, state, cbits).0.map_or(NIL, |slot| self.groups[slot] - 1);
            for _ in 0..DOMINANCE_SCAN {
                if e == NIL {
                    break;
                }
                if self.abits[e * aw..(e + 1) * aw].iter().zip(abits).all(|(seen, now)| seen & !now == 0) {
                    return None;
                }
                e = self.group_next[e];
            }
        }
        let e = self.states.len();
        self.exact[i] = e + 1;
        self.hashes.push(h);
        self.ghashes.push(gh);
        self.states.push(state);
        self.cbits.extend_from_slice(cbits);
        self.abits.extend_from_slice(abits);
        self.group_next.push(NIL);
        Some(e)
    }

    /// The group table slot holding (C, `state`)'s group, or the empty slot
    /// where it would go if absent (`None` then, or when there are no groups).
    fn group_slot(&self, gh: u64, state: u32, cbits: &[u64]) -> (Option<usize>, usize) {
        if self.groups.is_empty() {
            return (None, 0);
        }
        let mask = self.groups.len() - 1;
        let mut i = gh as usize & mask;
        loop {
            let s = self.groups[i];
            if s == 0 {
                return (None, i);
            }
            if self.same_group(s - 1, gh, state, cbits) {
                return (Some(i), i);
            }
            i = (i + 1) & mask;
        }
    }

    /// Marks entry `e`'s subtree as fully explored (and failed).
    fn finish(&mut self, e: usize) {
        if self.aw == 0 {
            // Without ambiguous ops there is nothing to dominate.
            return;
        }
        if (self.group_count + 1) * 2 > self.groups.len() {
            let heads: Vec<usize> = self.groups.iter().filter(|&&s| s != 0).map(|&s| s - 1).collect();
            self.groups = rehash(self.groups.len() * 2, &self.ghashes, heads);
        }
        let cw = self.cw;
        let (gh, state) = (self.ghashes[e], self.states[e]);
        match self.group_slot(gh, state, &self.cbits[e * cw..(e + 1) * cw]) {
            (Some(slot), _) => {
                self.group_next[e] = self.groups[slot] - 1;
                self.groups[slot] = e + 1;
            }
            (None, slot) => {
                self.groups[slot] = e + 1;
                self.group_count += 1;
            }
        }
    }
}

/// A fresh open-addressing table of `size` slots holding `entries` (by their `hashes`).
fn rehash(size: usize, hashes: &[u64], entries: impl IntoIterator<Item = usize>) -> Vec<usize> {
    let mut slots = vec![0; size];
    let mask = size - 1;
    for e in entries {
        let mut i = hashes[e] as usize & mask;
        while slots[i] != 0 {
            i = (i + 1) & mask;
        }
        slots[i] = e + 1;
    }
    slots
}

/// The node with the most completed ops linearized so far, as its stack of ops,
/// kept up to date in amortized O(1) per push/pop: `ops[..common]` always
/// equals the bottom of the current stack.
#[derive(Default)]
struct Deepest {
    ops: Vec<usize>,
    completed: usize,
    common: usize,
}

/// Where the search looks for the next op to linearize.
#[derive(Clone, Copy)]
enum Cursor {
    /// At an entry of the list of completed ops' calls and returns.
    Main(usize),
    /// At an ambiguous op (or `NIL`), with every completed candidate tried; the
    /// window ends at return entry `limit`.
    Ambiguous { at: usize, limit: usize },
}

/// One choice on the search stack.
struct Frame {
    op: usize,
    before: u32,
    entry: usize,
    /// For ambiguous ops, the window's end when chosen.
    limit: usize,
}

/// Sort key of a list entry: time, calls before returns on ties, then id.
fn entry_key(events: &[Event], e: usize) -> u128 {
    let ev = &events[e >> 1];
    let (t, kind) = if e & 1 == 0 { (ev.call, 0) } else { (ev.ret.unwrap_or(u64::MAX), 1) };
    (u128::from(t) << 64) | (kind << 63) | e as u128
}

/// One key's call and return entries (call of op i = 2i, return = 2i + 1;
/// ambiguous ops have no return entry) in time order, and each entry's rank in
/// that order, so the hot loop compares plain integers.
struct Timeline {
    order: Vec<usize>,
    rank: Vec<usize>,
}

impl Timeline {
    fn new(events: &[Event]) -> Self {
        let mut keys: Vec<u128> = Vec::with_capacity(2 * events.len());
        for (i, e) in events.iter().enumerate() {
            keys.push(entry_key(events, 2 * i));
            if e.ret.is_some() {
                keys.push(entry_key(events, 2 * i + 1));
            }
        }
        keys.sort_unstable();
        let order: Vec<usize> = keys.iter().map(|&k| (k as u64 & (u64::MAX >> 1)) as usize).collect();
        let mut rank = vec![NIL; 2 * events.len()];
        for (r, &e) in order.iter().enumerate() {
            rank[e] = r;
        }
        Self { order, rank }
    }
}

#[inline]
fn flip(bits: &mut [u64], i: usize) {
    bits[i >> 6] ^= 1u64 << (i & 63);
}

#[inline]
fn has(bits: &[u64], i: usize) -> bool {
    bits[i >> 6] & (1u64 << (i & 63)) != 0
}

/// The value (or [`ABSENT`]) a completed op needs as state to be linearized:
/// a read of it, a delete that found nothing, a successful Cas expecting it.
fn observed(e: &Event) -> Option<u32> {
    match (e.op, e.result) {
        (KOp::Get, KRet::Get(v)) | (KOp::Cas { expect: v, .. }, KRet::Cas(true)) => Some(v),
        (KOp::Delete, KRet::Delete(false)) => Some(ABSENT),
        _ => None,
    }
}

/// The value (or [`ABSENT`]) an op may set, ambiguous ops included.
fn written(e: &Event) -> Option<u32> {
    match (e.op, e.result) {
        (KOp::Put(v), _) | (KOp::Cas { value: v, .. }, KRet::Cas(true) | KRet::Unknown) => Some(v),
        (KOp::Delete, KRet::Delete(true) | KRet::Unknown) => Some(ABSENT),
        _ => None,
    }
}

/// For each value (and [`ABSENT`]), the ops not yet linearized that need it
/// as state, by return time, and those that could still write it, by call time.
/// Leaving a value while its most urgent reader returns before anything left
/// could write it again is a dead end: the search refuses that step at once
/// instead of finding out many levels deeper.
struct Observers {
    n: usize,
    observes: Vec<bool>,
    writes: Vec<bool>,
    /// Linked lists over nodes 0..n (ops), the list of value `v` headed by node `n + v`.
    need_next: Vec<usize>,
    need_prev: Vec<usize>,
    write_next: Vec<usize>,
    write_prev: Vec<usize>,
}

impl Observers {
    fn new(events: &[Event], timeline: &Timeline) -> Self {
        let n = events.len();
        let reads: Vec<Option<u32>> = events.iter().map(|e| observed(e).filter(|_| e.ret.is_some())).collect();
        let writes: Vec<Option<u32>> = events.iter().map(written).collect();
        let values = reads.iter().chain(&writes).flatten().max().map_or(0, |&v| v as usize + 1);
        let (mut need_next, mut need_prev) = (vec![NIL; n + values], vec![NIL; n + values]);
        let (mut write_next, mut write_prev) = (vec![NIL; n + values], vec![NIL; n + values]);
        let mut need_tail: Vec<usize> = (n..n + values).collect();
        let mut write_tail = need_tail.clone();
        // Readers in return order, writers in call order.
        for &e in &timeline.order {
            let i = e >> 1;
            let (of, tail, next, prev) = if e & 1 == 1 {
                (reads[i], &mut need_tail, &mut need_next, &mut need_prev)
            } else {
                (writes[i], &mut write_tail, &mut write_next, &mut write_prev)
            };
            if let Some(v) = of {
                let t = &mut tail[v as usize];
                next[*t] = i;
                prev[i] = *t;
                *t = i;
            }
        }
        Self {
            n,
            observes: reads.iter().map(Option::is_some).collect(),
            writes: writes.iter().map(Option::is_some).collect(),
            need_next,
            need_prev,
            write_next,
            write_prev,
        }
    }

    /// Takes op `i` out (it is being linearized).
    #[inline]
    fn take(&mut self, i: usize) {
        if self.observes[i] {
            unlink(&mut self.need_next, &mut self.need_prev, i);
        }
        if self.writes[i] {
            unlink(&mut self.write_next, &mut self.write_prev, i);
        }
    }

    /// Puts op `i` back, undoing the last [`Observers::take`].
    #[inline]
    fn put_back(&mut self, i: usize) {
        if self.writes[i] {
            relink(&mut self.write_next, &mut self.write_prev, i);
        }
        if self.observes[i] {
            relink(&mut self.need_next, &mut self.need_prev, i);
        }
    }

    /// Whether moving from `state` to `after` (with the op already taken out)
    /// leaves an op that needs `state` unable ever to see it again.
    #[inline]
    fn strands(&self, state: u32, after: u32, rank: &[usize]) -> bool {
        let head = self.n + state as usize;
        if state == after || head >= self.need_next.len() {
            return false;
        }
        let reader = self.need_next[head];
        if reader == NIL {
            return false;
        }
        let writer = self.write_next[head];
        writer == NIL || rank[2 * writer] > rank[2 * reader + 1]
    }
}

/// Merges every value that no op reads or compares against (no `Get` returns
/// it, no Cas expects it) into one value: the model cannot tell them apart, so
/// states differing only in which of them is current are the same state.
fn canonical(events: &[Event]) -> Vec<Event> {
    let top = events
        .iter()
        .flat_map(|e| {
            let op = match e.op {
                KOp::Put(v) => v,
                KOp::Cas { expect, value } => expect.max(value),
                KOp::Get | KOp::Delete => ABSENT,
            };
            let ret = match e.result {
                KRet::Get(v) => v,
                _ => ABSENT,
            };
            [op, ret]
        })
        .max()
        .unwrap_or(ABSENT) as usize;
    let mut mentioned = vec![false; top + 1];
    mentioned[ABSENT as usize] = true;
    for e in events {
        if let KRet::Get(v) = e.result {
            mentioned[v as usize] = true;
        }
        if let KOp::Cas { expect, .. } = e.op {
            mentioned[expect as usize] = true;
        }
    }
    // `top + 1` is no interned value.
    let unseen = u32::try_from(top + 1).unwrap_or(u32::MAX);
    let map = |v: u32| if mentioned[v as usize] { v } else { unseen };
    events
        .iter()
        .map(|e| {
            let op = match e.op {
                KOp::Put(v) => KOp::Put(map(v)),
                KOp::Cas { expect, value } => KOp::Cas { expect, value: map(value) },
                op => op,
            };
            Event { op, ..*e }
        })
        .collect()
}

/// Wing–Gong–Lowe over one key's events. Completed ops sit in a doubly linked
/// list of call and return entries in time order; at each node the candidates
/// are the calls before the first return, tried first, then the ambiguous ops
/// called before that return. The search succeeds once every *completed* op is
/// linearized: ambiguous ops left over never took effect.
fn search(events: &[Event], deadline: Option<Instant>, abort: &AtomicBool) -> SearchOutcome {
    let events = &canonical(events)[..];
    let n = events.len();
    let mut remaining = events.iter().filter(|e| e.ret.is_some()).count();
    if remaining == 0 {
        return SearchOutcome::Ok;
    }
    let timeline = Timeline::new(events);
    let rank = &timeline.rank[..];
    // Bit of each op in its class's bitset (completed or ambiguous).
    let mut slot = vec![0usize; n];
    let (mut nc, mut na) = (0, 0);
    for (i, e) in events.iter().enumerate() {
        let counter = if e.ret.is_some() { &mut nc } else { &mut na };
        slot[i] = *counter;
        *counter += 1;
    }
    // Main list over entries 0..2n with head 2n; ambiguous list over ops 0..n with head n.
    // Ambiguous ops that are the same op (after `canonical`) are interchangeable,
    // except that an earlier call can go anywhere a later one can: they are
    // applied in call order only, each once the one before it (`prev_same`) is.
    let head = 2 * n;
    let (mut next, mut prev) = (vec![NIL; 2 * n + 1], vec![NIL; 2 * n + 1]);
    let amb_head = n;
    let (mut anext, mut aprev) = (vec![NIL; n + 1], vec![NIL; n + 1]);
    let mut prev_same = vec![NIL; n];
    let mut last_of: HashMap<KOp, usize> = HashMap::new();
    let (mut last, mut alast) = (head, amb_head);
    for &e in &timeline.order {
        let i = e >> 1;
        if events[i].ret.is_some() {
            next[last] = e;
            prev[e] = last;
            last = e;
        } else {
            anext[alast] = i;
            aprev[i] = alast;
            alast = i;
            if let Some(p) = last_of.insert(events[i].op, i) {
                prev_same[i] = p;
            }
        }
    }
    drop(last_of);

    let mut observers = Observers::new(events, &timeline);
    let mut cbits = vec![0u64; nc.div_ceil(64)];
    let mut abits = vec![0u64; na.div_ceil(64)];
    // Zobrist hashes of the linearized completed ops and of the applied ambiguous ones.
    let (mut zc, mut za) = (0u64, 0u64);
    let mut cache = Cache::new(cbits.len(), abits.len());
    let mut stack: Vec<Frame> = Vec::with_capacity(n);
    let mut deepest = Deepest::default();
    let mut state = ABSENT;
    let mut cursor = Cursor::Main(next[head]);
    let mut tick = 0u32;
    while remaining > 0 {
        tick = tick.wrapping_add(1);
        if tick & (CLOCK_EVERY - 1) == 0 {
            if abort.load(Ordering::Relaxed) {
                return SearchOutcome::Aborted;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return SearchOutcome::Timeout;
            }
        }
        let (i, limit) = match cursor {
            Cursor::Main(e) if e != NIL && e & 1 == 0 => (e >> 1, NIL),
            Cursor::Main(e) => {
                // The first return: every completed candidate has been tried.
                cursor = Cursor::Ambiguous { at: anext[amb_head], limit: e };
                continue;
            }
            Cursor::Ambiguous { at, limit } if at != NIL && (limit == NIL || rank[2 * at] < rank[limit]) => (at, limit),
            Cursor::Ambiguous { .. } => {
                // No candidate left: undo the last choice, try the one after it.
                let Some(f) = stack.pop() else {
                    return SearchOutcome::Illegal { best: deepest.ops };
                };
                cache.finish(f.entry);
                deepest.common = deepest.common.min(stack.len());
                state = f.before;
                let i = f.op;
                observers.put_back(i);
                if events[i].ret.is_some() {
                    flip(&mut cbits, slot[i]);
                    zc ^= zobrist(slot[i]);
                    relink(&mut next, &mut prev, 2 * i + 1);
                    relink(&mut next, &mut prev, 2 * i);
                    remaining += 1;
                    cursor = Cursor::Main(next[2 * i]);
                } else {
                    flip(&mut abits, slot[i]);
                    za ^= zobrist(nc + slot[i]);
                    relink(&mut anext, &mut aprev, i);
                    cursor = Cursor::Ambiguous { at: anext[i], limit: f.limit };
                }
                continue;
            }
        };
        let e = &events[i];
        let completed = e.ret.is_some();
        let skip = match cursor {
            Cursor::Main(_) => Cursor::Main(next[2 * i]),
            Cursor::Ambiguous { limit, .. } => Cursor::Ambiguous { at: anext[i], limit },
        };
        if !completed && prev_same[i] != NIL && !has(&abits, slot[prev_same[i]]) {
            cursor = skip;
            continue;
        }
        let Some(after) = model::step(state, e.op, e.result) else {
            cursor = skip;
            continue;
        };
        observers.take(i);
        if observers.strands(state, after, rank) {
            observers.put_back(i);
            cursor = skip;
            continue;
        }
        let (new_zc, new_za) = if completed {
            flip(&mut cbits, slot[i]);
            (zc ^ zobrist(slot[i]), za)
        } else {
            flip(&mut abits, slot[i]);
            (zc, za ^ zobrist(nc + slot[i]))
        };
        let Some(entry) = cache.visit(new_zc, new_za, after, &cbits, &abits) else {
            observers.put_back(i);
            flip(if completed { &mut cbits } else { &mut abits }, slot[i]);
            cursor = skip;
            continue;
        };
        (zc, za) = (new_zc, new_za);
        stack.push(Frame { op: i, before: state, entry, limit });
        state = after;
        if completed {
            unlink(&mut next, &mut prev, 2 * i);
            unlink(&mut next, &mut prev, 2 * i + 1);
            remaining -= 1;
            let done = nc - remaining;
            if done > deepest.completed {
                deepest.ops.truncate(deepest.common);
                deepest.ops.extend(stack[deepest.common..].iter().map(|f| f.op));
                deepest.common = stack.len();
                deepest.completed = done;
            }
        } else {
            unlink(&mut anext, &mut aprev, i);
        }
        cursor = Cursor::Main(next[head]);
    }
    SearchOutcome::Ok
}

fn fmt_ns(ns: u64) -> String {
    format!("{}.{:06}ms", ns / 1_000_000, ns % 1_000_000)
}

/// `#index client N [call .. return] op -> result`.
fn describe(records: &[Record], r: usize) -> String {
    let rec = &records[r];
    let (ret_at, result) = match &rec.outcome {
        Outcome::Ok { at, ret } => (fmt_ns(*at), format!("{ret:?}")),
        Outcome::Ambiguous | Outcome::Pending => ("inf".to_string(), "ambiguous".to_string()),
        Outcome::Discarded => ("-".to_string(), "discarded".to_string()),
    };
    format!("#{r} client {} [{} .. {ret_at}] {:?} -> {result}", rec.client, fmt_ns(rec.call), rec.op)
}

/// Explains a failed search from the node with the most completed ops
/// linearized: the search got no further because every completed op that could
/// come next (its call precedes the earliest pending return) either disagrees
/// with the model in that state or would overwrite a value that an op left over
/// still has to read, with nothing left that could write it again.
fn explain(kh: &KeyHistory<'_>, records: &[Record], best: &[usize]) -> String {
    let events = &kh.events;
    let ambiguous = events.iter().filter(|e| e.ret.is_none()).count();
    let line = |i: usize| describe(records, kh.records[i]);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "no linearization of the {} ops on key {:?} ({} completed, {ambiguous} ambiguous).",
        events.len(),
        kh.key,
        events.len() - ambiguous
    );
    let mut state = ABSENT;
    let mut set_by = None;
    let mut in_best = vec![false; events.len()];
    for (n, &i) in best.iter().enumerate() {
        let after = model::step(state, events[i].op, events[i].result).unwrap_or(state);
        if after != state || written(&events[i]).is_some() {
            set_by = Some(n);
        }
        state = after;
        in_best[i] = true;
    }
    let value = kh.values.value(state);
    let _ = writeln!(out, "Longest linearizable prefix: {} ops; value after it: {value:?}.", best.len());
    let from = best.len().saturating_sub(SHOW_PREFIX);
    if let Some(n) = set_by.filter(|&n| n < from) {
        let _ = writeln!(out, "That value was set by prefix op {}: {}", n + 1, line(best[n]));
    }
    if !best.is_empty() {
        let _ = writeln!(out, "The prefix's last {} ops, in linearization order:", best.len() - from);
        for &i in &best[from..] {
            let _ = writeln!(out, "  {}", line(i));
        }
    }
    // The earliest return among the ops left over, in the search's entry order.
    let Some((block_at, b)) = (0..events.len())
        .filter(|&i| !in_best[i] && events[i].ret.is_some())
        .map(|i| (entry_key(events, 2 * i + 1), i))
        .min()
    else {
        return out;
    };
    let candidates: Vec<usize> =
        (0..events.len()).filter(|&i| !in_best[i] && entry_key(events, 2 * i) < block_at).collect::<Vec<_>>();
    // Ops left over that need the current value, and whether anything left can rewrite it.
    let needers: Vec<usize> =
        (0..events.len()).filter(|&i| !in_best[i] && observed(&events[i]) == Some(state)).collect();
    let _ = writeln!(out, "None of the {} ops that could come next can go there:", candidates.len());
    let mut strands = false;
    for &i in candidates.iter().take(SHOW_CANDIDATES) {
        let e = &events[i];
        let why = if e.ret.is_none() {
            "ambiguous: may apply here or never".to_string()
        } else if model::step(state, e.op, e.result).is_some() {
            strands = true;
            let others: Vec<String> =
                needers.iter().filter(|&&j| j != i).take(3).map(|&j| format!("#{}", kh.records[j])).collect();
            format!(
                "fits, but overwrites {value:?}, which {} must still see, and nothing left can write it again in time",
                others.join(", ")
            )
        } else {
            let mut cur = value.map(str::to_string);
            format!("model: {:?}", model::apply_to(&mut cur, &records[kh.records[i]].op))
        };
        let _ = writeln!(out, "  {}   ({why})", line(i));
    }
    if candidates.len() > SHOW_CANDIDATES {
        let _ = writeln!(out, "  ... and {} more", candidates.len() - SHOW_CANDIDATES);
    }
    if let Some(&j) = needers.first().filter(|_| strands) {
        let _ = writeln!(out, "Still to see {value:?}: {}", line(j));
    }
    let _ = write!(out, "One of them must precede the return of {}", line(b));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lincheck::{History, Op, Ret};

    const T: Duration = Duration::from_secs(10);

    fn put(k: &str, v: &str) -> Op {
        Op::Put { key: k.into(), value: v.into() }
    }
    fn get(k: &str) -> Op {
        Op::Get { key: k.into() }
    }
    fn del(k: &str) -> Op {
        Op::Delete { key: k.into() }
    }
    fn cas(k: &str, e: Option<&str>, v: &str) -> Op {
        Op::Cas { key: k.into(), expect: e.map(Into::into), value: v.into() }
    }
    fn some(v: &str) -> Ret {
        Ret::Get(Some(v.into()))
    }

    /// `(client, op, call, Some((return, result)))`, or `None` for ambiguous.
    type Spec = (usize, Op, u64, Option<(u64, Ret)>);

    fn hist(ops: Vec<Spec>) -> History {
        let h = History::new();
        for (c, op, call, ret) in ops {
            let outcome = match ret {
                Some((at, ret)) => Outcome::Ok { at, ret },
                None => Outcome::Ambiguous,
            };
            h.push_record(c, op, call, outcome);
        }
        h
    }

    fn illegal(h: &History) -> (String, String) {
        match h.check(T) {
            CheckResult::Illegal { key, detail } => (key, detail),
            other => panic!("expected Illegal, got {other}"),
        }
    }

    #[test]
    fn lincheck_empty_and_sequential() {
        assert_eq!(History::new().check(T), CheckResult::Ok);
        let h = hist(vec![
            (0, get("a"), 1, Some((2, Ret::Get(None)))),
            (0, put("a", "1"), 3, Some((4, Ret::Put))),
            (0, get("a"), 5, Some((6, some("1")))),
            (0, cas("a", Some("1"), "2"), 7, Some((8, Ret::Cas(true)))),
            (0, cas("a", None, "3"), 9, Some((10, Ret::Cas(false)))),
            (0, del("a"), 11, Some((12, Ret::Delete(true)))),
            (0, del("a"), 13, Some((14, Ret::Delete(false)))),
            (0, cas("a", None, "4"), 15, Some((16, Ret::Cas(true)))),
            (0, get("a"), 17, Some((18, some("4")))),
        ]);
        assert_eq!(h.check(T), CheckResult::Ok);
    }

    #[test]
    fn lincheck_stale_read_after_completed_write() {
        let h = hist(vec![
            (0, put("k", "old"), 1, Some((2, Ret::Put))),
            (0, put("k", "new"), 3, Some((4, Ret::Put))),
            (1, get("k"), 5, Some((6, some("old")))),
        ]);
        let (key, detail) = illegal(&h);
        assert_eq!(key, "k");
        assert!(detail.contains("value after it: Some(\"old\")"), "{detail}");
        assert!(
            detail.contains("#1 client 0 [0.000003ms .. 0.000004ms] Put { key: \"k\", value: \"new\" } -> Put"),
            "{detail}"
        );
        assert!(detail.contains("which #2 must still see"), "{detail}");
        assert!(detail.contains("Still to see Some(\"old\"): #2 client 1 [0.000005ms .. 0.000006ms] Get"), "{detail}");
        // The same read concurrent with the second put is fine.
        let h = hist(vec![
            (0, put("k", "old"), 1, Some((2, Ret::Put))),
            (0, put("k", "new"), 3, Some((6, Ret::Put))),
            (1, get("k"), 4, Some((5, some("old")))),
        ]);
        assert_eq!(h.check(T), CheckResult::Ok);
    }

    #[test]
    fn lincheck_lost_write() {
        // Two sequential puts, but a later read sees neither the second put
        // nor the value after it: the acknowledged write was lost.
        let h = hist(vec![
            (0, put("k", "a"), 1, Some((2, Ret::Put))),
            (1, put("k", "b"), 3, Some((4, Ret::Put))),
            (2, get("k"), 5, Some((6, some("a")))),
            (2, get("k"), 7, Some((8, some("b")))),
        ]);
        assert_eq!(illegal(&h).0, "k");
        // Acknowledged delete lost: the key is back.
        let h = hist(vec![
            (0, put("k", "a"), 1, Some((2, Ret::Put))),
            (1, del("k"), 3, Some((4, Ret::Delete(true)))),
            (2, get("k"), 5, Some((6, some("a")))),
        ]);
        assert_eq!(illegal(&h).0, "k");
        // Delete that claims to have deleted nothing while the key exists.
        let h = hist(vec![(0, put("k", "a"), 1, Some((2, Ret::Put))), (1, del("k"), 3, Some((4, Ret::Delete(false))))]);
        assert_eq!(illegal(&h).0, "k");
    }

    #[test]
    fn lincheck_read_of_value_never_written() {
        let h = hist(vec![
            (0, put("k", "a"), 1, Some((2, Ret::Put))),
            (1, get("j"), 3, Some((4, Ret::Get(None)))),
            (1, get("k"), 5, Some((6, some("zzz")))),
        ]);
        let (key, detail) = illegal(&h);
        assert_eq!(key, "k");
        assert!(detail.contains("no op ever wrote"), "{detail}");
        assert!(detail.contains("#2 client 1"), "{detail}");
        // A value written only to another key is also never written to this one.
        let h = hist(vec![(0, put("j", "a"), 1, Some((2, Ret::Put))), (1, get("k"), 3, Some((4, some("a"))))]);
        assert_eq!(illegal(&h).0, "k");
        // A value written only by a failed Cas: the search proves it.
        let h = hist(vec![
            (0, cas("k", Some("x"), "a"), 1, Some((2, Ret::Cas(false)))),
            (1, get("k"), 3, Some((4, some("a")))),
        ]);
        let (key, detail) = illegal(&h);
        assert_eq!(key, "k");
        assert!(detail.contains("Longest linearizable prefix"), "{detail}");
    }

    #[test]
    fn lincheck_cas_success_when_precondition_false() {
        let h = hist(vec![
            (0, put("k", "a"), 1, Some((2, Ret::Put))),
            (1, cas("k", Some("b"), "c"), 3, Some((4, Ret::Cas(true)))),
        ]);
        assert_eq!(illegal(&h).0, "k");
        // Create-if-absent succeeding on an existing key.
        let h = hist(vec![
            (0, put("k", "a"), 1, Some((2, Ret::Put))),
            (1, cas("k", None, "c"), 3, Some((4, Ret::Cas(true)))),
        ]);
        assert_eq!(illegal(&h).0, "k");
        // And failing when it should have succeeded.
        let h = hist(vec![(1, cas("k", None, "c"), 3, Some((4, Ret::Cas(false))))]);
        assert_eq!(illegal(&h).0, "k");
        // Two concurrent creates cannot both win...
        let h = hist(vec![
            (0, cas("k", None, "x"), 1, Some((4, Ret::Cas(true)))),
            (1, cas("k", None, "y"), 2, Some((3, Ret::Cas(true)))),
        ]);
        assert_eq!(illegal(&h).0, "k");
        // ...but one of them can.
        let h = hist(vec![
            (0, cas("k", None, "x"), 1, Some((4, Ret::Cas(false)))),
            (1, cas("k", None, "y"), 2, Some((3, Ret::Cas(true)))),
            (2, get("k"), 5, Some((6, some("y")))),
        ]);
        assert_eq!(h.check(T), CheckResult::Ok);
    }

    #[test]
    fn lincheck_concurrent_ops_fine_in_one_order() {
        // Four overlapping ops; only put(b), get->b, put(c), get->c... works:
        //   c0: put a  [1, 10]
        //   c1: put b  [2, 11]
        //   c2: get -> a [3, 12]
        //   c3: get -> b [4, 13]
        //   c4: get -> a [14, 15]  => a must be last: b, get->b, a, get->a, get->a
        let h = hist(vec![
            (0, put("k", "a"), 1, Some((10, Ret::Put))),
            (1, put("k", "b"), 2, Some((11, Ret::Put))),
            (2, get("k"), 3, Some((12, some("a")))),
            (3, get("k"), 4, Some((13, some("b")))),
            (4, get("k"), 14, Some((15, some("a")))),
        ]);
        assert_eq!(h.check(T), CheckResult::Ok);
        // The final read of b instead contradicts it (a was read after b).
        let h = hist(vec![
            (0, put("k", "a"), 1, Some((10, Ret::Put))),
            (1, put("k", "b"), 2, Some((11, Ret::Put))),
            (3, get("k"), 4, Some((5, some("b")))),
            (2, get("k"), 6, Some((7, some("a")))),
            (4, get("k"), 14, Some((15, some("b")))),
        ]);
        assert_eq!(illegal(&h).0, "k");
        // Keys are independent: the same pattern on two keys, one broken.
        let h = hist(vec![
            (0, put("x", "1"), 1, Some((4, Ret::Put))),
            (1, get("x"), 2, Some((3, Ret::Get(None)))),
            (0, put("y", "1"), 5, Some((6, Ret::Put))),
            (1, get("y"), 7, Some((8, Ret::Get(None)))),
        ]);
        assert_eq!(illegal(&h).0, "y");
    }

    #[test]
    fn lincheck_ambiguous_writes() {
        // Ambiguous put that shows up later: fine.
        let h = hist(vec![
            (0, put("k", "a"), 1, Some((2, Ret::Put))),
            (1, put("k", "b"), 3, None),
            (2, get("k"), 4, Some((5, some("a")))),
            (2, get("k"), 6, Some((7, some("b")))),
            (2, get("k"), 8, Some((9, some("b")))),
        ]);
        assert_eq!(h.check(T), CheckResult::Ok);
        // Ambiguous put that never shows up: fine.
        let h = hist(vec![
            (0, put("k", "a"), 1, Some((2, Ret::Put))),
            (1, put("k", "b"), 3, None),
            (2, get("k"), 4, Some((5, some("a")))),
            (2, get("k"), 100, Some((101, some("a")))),
        ]);
        assert_eq!(h.check(T), CheckResult::Ok);
        // Ambiguous put seen before it was invoked: illegal.
        let h = hist(vec![
            (0, put("k", "a"), 1, Some((2, Ret::Put))),
            (2, get("k"), 3, Some((4, some("b")))),
            (1, put("k", "b"), 5, None),
        ]);
        assert_eq!(illegal(&h).0, "k");
        // Seen, then gone without another write: it cannot apply twice.
        let h = hist(vec![
            (0, put("k", "a"), 1, Some((2, Ret::Put))),
            (1, put("k", "b"), 3, None),
            (2, get("k"), 4, Some((5, some("b")))),
            (2, get("k"), 6, Some((7, some("a")))),
        ]);
        assert_eq!(illegal(&h).0, "k");
        // Ambiguous delete and cas, taking effect or not.
        let h = hist(vec![
            (0, put("k", "a"), 1, Some((2, Ret::Put))),
            (1, del("k"), 3, None),
            (1, cas("k", None, "c"), 4, None),
            (2, get("k"), 5, Some((6, some("a")))),
            (2, get("k"), 7, Some((8, some("c")))),
        ]);
        assert_eq!(h.check(T), CheckResult::Ok);
        // A pending (never resolved) write counts as ambiguous, a pending read as nothing.
        let h = History::new();
        h.push_record(0, put("k", "a"), 1, Outcome::Ok { at: 2, ret: Ret::Put });
        h.push_record(1, put("k", "b"), 3, Outcome::Pending);
        h.push_record(1, get("k"), 4, Outcome::Pending);
        h.push_record(2, get("k"), 5, Outcome::Ok { at: 6, ret: some("b") });
        assert_eq!(h.check(T), CheckResult::Ok);
        // Discarded writes are gone.
        let h = History::new();
        h.push_record(0, put("k", "a"), 1, Outcome::Ok { at: 2, ret: Ret::Put });
        h.push_record(1, put("k", "b"), 3, Outcome::Discarded);
        h.push_record(2, get("k"), 5, Outcome::Ok { at: 6, ret: some("b") });
        assert_eq!(illegal(&h).0, "k");
    }

    #[test]
    fn lincheck_wrong_result_kind_is_illegal() {
        let h = hist(vec![(0, put("k", "a"), 1, Some((2, Ret::Cas(true))))]);
        let (key, detail) = illegal(&h);
        assert_eq!(key, "k");
        assert!(detail.contains("(model: Put)"), "{detail}");
    }

    #[test]
    fn lincheck_cache_and_deepest_prefix() {
        // Hashes are arbitrary but equal for equal sets: here the first word.
        let visit = |c: &mut Cache, state: u32, cb: &[u64], ab: &[u64]| c.visit(cb[0], ab[0], state, cb, ab);
        let mut c = Cache::new(2, 1);
        assert!(visit(&mut c, 1, &[1, 0], &[0]).is_some());
        assert!(visit(&mut c, 1, &[1, 0], &[0]).is_none(), "identical node");
        assert!(visit(&mut c, 2, &[1, 0], &[0]).is_some(), "other state");
        assert!(visit(&mut c, 1, &[1, 1], &[0]).is_some(), "same hash, other completed set");
        // Dominance: only a finished node prunes nodes with more ambiguous ops applied.
        let e = visit(&mut c, 3, &[2, 0], &[0b01]).unwrap();
        assert!(visit(&mut c, 3, &[2, 0], &[0b11]).is_some(), "unfinished: no dominance");
        c.finish(e);
        assert!(visit(&mut c, 3, &[2, 0], &[0b101]).is_none(), "superset of a finished node");
        assert!(visit(&mut c, 3, &[2, 0], &[0b100]).is_some(), "not a superset");
        assert!(visit(&mut c, 4, &[2, 0], &[0b111]).is_some(), "other state");
        assert!(visit(&mut c, 3, &[2, 1], &[0b111]).is_some(), "other completed set");
        let mut finished = Vec::new();
        for i in 0..5000u64 {
            let e = visit(&mut c, 7, &[i, !i], &[1 << (i % 64)]).unwrap();
            if i % 2 == 0 {
                c.finish(e);
                finished.push(i);
            }
        }
        for i in 0..5000u64 {
            assert!(visit(&mut c, 7, &[i, !i], &[1 << (i % 64)]).is_none(), "{i} survives growth");
        }
        for i in finished {
            assert!(visit(&mut c, 7, &[i, !i], &[(1 << (i % 64)) | 1 << ((i + 1) % 64)]).is_none(), "{i} dominates");
        }
        // No ambiguous ops at all: finishing is a no-op.
        let mut c = Cache::new(1, 0);
        let e = c.visit(1, 0, 0, &[1], &[]).unwrap();
        c.finish(e);
        assert!(c.visit(1, 0, 0, &[1], &[]).is_none());
        assert!(c.visit(1, 0, 1, &[1], &[]).is_some());
        // The explanation's prefix is a real linearization of the ops before
        // the stale read.
        let h = hist(vec![
            (0, put("k", "a"), 1, Some((2, Ret::Put))),
            (1, get("k"), 3, Some((4, some("a")))),
            (0, put("k", "b"), 5, Some((6, Ret::Put))),
            (1, get("k"), 7, Some((8, some("a")))),
        ]);
        let (_, detail) = illegal(&h);
        assert!(detail.contains("Longest linearizable prefix: 2 ops"), "{detail}");
        assert!(detail.contains("must precede the return of #2 client 0"), "{detail}");
        assert!(detail.contains("which #3 must still see"), "{detail}");
    }
}
