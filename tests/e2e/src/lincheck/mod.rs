//! A linearizability checker for key-value histories (Wing–Gong–Lowe search,
//! the way [Porcupine](https://github.com/anishathalye/porcupine) does it).
//!
//! Concurrent clients record every operation in a shared [`History`]:
//! [`History::invoke`] just *before* the request is sent, then exactly one of
//! [`History::ok`] (the answer arrived), [`History::ambiguous`] (a write failed
//! in a way that may or may not have applied: timeout, connection reset after
//! sending, server crash) or [`History::discard`] (the op certainly had no effect,
//! e.g. rejected before sending, or any failed read). [`History::check`] then
//! decides whether some total order of the operations exists that
//!
//! * respects real time: an op that returned before another was invoked comes
//!   first, and
//! * is legal for a sequential key-value map starting empty ([`KvModel`]):
//!   every completed op returns exactly what it returned in the history.
//!
//! Ambiguous ops have no return time (it is +infinity): they may take effect at
//! any point after their call, or never. Ops still pending when `check` runs are
//! treated as ambiguous (writes) or dropped (reads).
//!
//! Every op touches one key, so the history is split by key and each key is
//! checked on its own (P-compositionality), in parallel on std threads. Per key
//! the search walks a doubly linked list of call/return entries in time order,
//! tries to linearize each call that precedes the first pending return, undoes on
//! dead ends, and prunes with a cache of (set of linearized ops, model state)
//! already explored. Values are interned per key, so a state is one `u32` and the
//! linearized set a `Vec<u64>` bitset with an incremental (Zobrist) hash.
//!
//! On top of plain Wing–Gong–Lowe, a few sound prunings keep histories with
//! many ambiguous ops tractable:
//! * ambiguous ops are tried only after every completed candidate, and the
//!   search ends as soon as all completed ops are linearized;
//! * values no op ever reads or compares against are merged into one (the model
//!   cannot tell them apart), and identical ambiguous ops are applied in call
//!   order only (an earlier call can stand in for a later one);
//! * a node is skipped if a fully explored node with the same completed ops and
//!   state had applied a subset of its ambiguous ops (they are optional);
//! * a step that overwrites a value some remaining op must still read, when
//!   nothing left can write that value again before that op returns, is refused
//!   at once.
//!
//! On failure, [`CheckResult::Illegal`] names the key and explains the deepest
//! point the search reached: how many ops it could linearize and the value then,
//! the last of those ops, every op that could have come next and why it cannot
//! (what the model would have answered instead, or which read it would make
//! impossible), and the earliest pending return that forced the search back.
//! If several keys fail, the first one found is reported.
//!
//! ```
//! use std::time::Duration;
//! use capstan_e2e::lincheck::{CheckResult, History, Op, Ret};
//!
//! let h = History::new();
//! let put = h.invoke(0, Op::Put { key: "k".into(), value: "v1".into() });
//! h.ok(put, Ret::Put);
//! let get = h.invoke(1, Op::Get { key: "k".into() });
//! h.ok(get, Ret::Get(None)); // stale: the put had already returned
//! assert!(matches!(h.check(Duration::from_secs(5)), CheckResult::Illegal { .. }));
//! ```
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod checker;
mod history;
mod model;

use std::fmt;

pub use history::{History, OpId};
pub use model::KvModel;

/// One operation on one key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Put {
        key: String,
        value: String,
    },
    Get {
        key: String,
    },
    Delete {
        key: String,
    },
    /// An etcd txn: if the key's current value equals `expect` (`None` = key
    /// absent, i.e. `create_revision == 0`) then put `value`. Returns whether
    /// the comparison succeeded.
    Cas {
        key: String,
        expect: Option<String>,
        value: String,
    },
}

impl Op {
    /// The key this op touches.
    pub fn key(&self) -> &str {
        match self {
            Op::Put { key, .. } | Op::Get { key } | Op::Delete { key } | Op::Cas { key, .. } => key,
        }
    }

    /// True for every op but `Get`.
    pub fn is_write(&self) -> bool {
        !matches!(self, Op::Get { .. })
    }
}

/// What a completed op returned.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ret {
    Put,
    Get(Option<String>),
    /// Whether something was deleted.
    Delete(bool),
    /// Whether the comparison succeeded (and the put applied).
    Cas(bool),
}

/// The verdict of [`History::check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckResult {
    /// Some linearization exists.
    Ok,
    /// No linearization exists for the ops on `key`; `detail` explains where the
    /// search got stuck (ops as `#index client N [call .. return] op -> result`).
    Illegal { key: String, detail: String },
    /// The search did not finish in time (no verdict).
    Timeout,
}

impl CheckResult {
    pub fn is_ok(&self) -> bool {
        matches!(self, CheckResult::Ok)
    }
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckResult::Ok => write!(f, "linearizable"),
            CheckResult::Illegal { key, detail } => write!(f, "not linearizable on key {key:?}:\n{detail}"),
            CheckResult::Timeout => write!(f, "linearizability check timed out"),
        }
    }
}

#[cfg(test)]
mod tests {
    //! End-to-end tests of the public API on generated histories.
    use super::history::Outcome;
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::BTreeMap;
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};

    const T: Duration = Duration::from_secs(60);

    /// One op of a generated history, kept alongside the [`History`] so tests can
    /// mutate and rebuild it.
    #[derive(Clone, Debug)]
    struct GenOp {
        client: usize,
        op: Op,
        call: u64,
        /// `Some((return time, result))` when completed; `None` when ambiguous.
        ret: Option<(u64, Ret)>,
    }

    struct GenCfg {
        clients: usize,
        keys: usize,
        ops: usize,
        /// Probability that an in-flight write ends ambiguous.
        ambiguous: f64,
        /// Percentages of Get, Put and Cas (the rest are Deletes).
        mix: [u32; 3],
        /// Distinct values written per key; 0 = every write is unique.
        alphabet: usize,
        seed: u64,
    }

    const MIX: [u32; 3] = [40, 25, 20];
    const CAS_HEAVY: [u32; 3] = [30, 10, 50];

    enum Client {
        Idle,
        /// In flight; `applied` is the model's answer once its linearization point passed.
        Busy {
            op: Op,
            call: u64,
            applied: Option<Ret>,
        },
    }

    /// Runs a real sequential [`KvModel`] under simulated concurrency: each op
    /// takes effect at a random instant inside [call, return]; ambiguous writes
    /// take effect at a random later instant (even after the client moved on),
    /// or never. Values are unique per write. Times are unique.
    fn generate(cfg: &GenCfg) -> Vec<GenOp> {
        let mut rng = StdRng::seed_from_u64(cfg.seed);
        let mut model = KvModel::new();
        let mut clients: Vec<Client> = (0..cfg.clients).map(|_| Client::Idle).collect();
        let mut floating: Vec<Op> = Vec::new();
        let mut out = Vec::with_capacity(cfg.ops);
        let mut issued = 0;
        let mut t = 0u64;
        let mut serial = 0u64;
        loop {
            let all_idle = clients.iter().all(|c| matches!(c, Client::Idle));
            if issued == cfg.ops && all_idle {
                break;
            }
            t += rng.gen_range(1..4);
            if !floating.is_empty() && rng.gen_bool(0.05) {
                let i = rng.gen_range(0..floating.len());
                let op = floating.swap_remove(i);
                model.apply(&op);
                continue;
            }
            let c = rng.gen_range(0..cfg.clients);
            match &mut clients[c] {
                Client::Idle => {
                    if issued == cfg.ops {
                        continue;
                    }
                    issued += 1;
                    let key = format!("k{}", rng.gen_range(0..cfg.keys));
                    serial += 1;
                    let value = match cfg.alphabet {
                        0 => format!("c{c}-{serial}"),
                        n => format!("v{}", rng.gen_range(0..n)),
                    };
                    let [get, put, cas] = cfg.mix;
                    let dice = rng.gen_range(0..100);
                    let op = match dice {
                        _ if dice < get => Op::Get { key },
                        _ if dice < get + put => Op::Put { key, value },
                        _ if dice < get + put + cas => {
                            let expect = match rng.gen_range(0..3) {
                                0 => None,
                                _ => model.get(&key).map(str::to_string),
                            };
                            Op::Cas { key, expect, value }
                        }
                        _ => Op::Delete { key },
                    };
                    clients[c] = Client::Busy { op, call: t, applied: None };
                }
                Client::Busy { op, call, applied } => {
                    if op.is_write() && rng.gen_bool(cfg.ambiguous) {
                        if applied.is_none() && rng.gen_bool(0.5) {
                            floating.push(op.clone());
                        }
                        out.push(GenOp { client: c, op: op.clone(), call: *call, ret: None });
                        clients[c] = Client::Idle;
                    } else if let Some(ret) = applied.take() {
                        out.push(GenOp { client: c, op: op.clone(), call: *call, ret: Some((t, ret)) });
                        clients[c] = Client::Idle;
                    } else {
                        *applied = Some(model.apply(op));
                    }
                }
            }
        }
        out
    }

    fn build(ops: &[GenOp]) -> History {
        let h = History::new();
        for g in ops {
            let outcome = match &g.ret {
                Some((at, ret)) => Outcome::Ok { at: *at, ret: ret.clone() },
                None => Outcome::Ambiguous,
            };
            h.push_record(g.client, g.op.clone(), g.call, outcome);
        }
        h
    }

    /// Reference checker: exhaustive search over every order that respects
    /// real time, memoized on (ops done, whole map), with none of the checker's
    /// machinery (no partitioning, linked list, pruning rules); only for small
    /// histories (at most 64 ops).
    fn brute_force(ops: &[GenOp]) -> bool {
        type Seen = std::collections::HashSet<(u64, BTreeMap<String, String>)>;
        fn go(ops: &[GenOp], done: u64, state: &BTreeMap<String, String>, seen: &mut Seen) -> bool {
            let pending = (0..ops.len()).filter(|&i| done & (1 << i) == 0);
            let Some(min_ret) = pending.clone().filter_map(|i| ops[i].ret.as_ref().map(|r| r.0)).min() else {
                return true; // every completed op is done
            };
            if !seen.insert((done, state.clone())) {
                return false;
            }
            for i in pending.filter(|&i| ops[i].call < min_ret) {
                let mut cur = state.get(ops[i].op.key()).cloned();
                let ret = model::apply_to(&mut cur, &ops[i].op);
                if ops[i].ret.as_ref().is_some_and(|(_, want)| *want != ret) {
                    continue;
                }
                let mut next = state.clone();
                match cur {
                    Some(v) => next.insert(ops[i].op.key().to_string(), v),
                    None => next.remove(ops[i].op.key()),
                };
                if go(ops, done | (1 << i), &next, seen) {
                    return true;
                }
            }
            false
        }
        assert!(ops.len() <= 64);
        go(ops, 0, &BTreeMap::new(), &mut Seen::new())
    }

    /// Makes one completed read stale: reads a value `u` written by a completed
    /// Put `a` that was overwritten by a completed Put `b` with
    /// `a.ret < b.call` and `b.ret < read.call`. Values are unique, so no
    /// linearization can have the read see `u`.
    fn make_stale_read(ops: &mut [GenOp], rng: &mut StdRng) -> Option<(usize, String)> {
        let reads: Vec<usize> =
            (0..ops.len()).filter(|&i| matches!(ops[i].op, Op::Get { .. }) && ops[i].ret.is_some()).collect();
        let puts = |key: &str| -> Vec<(u64, u64, String)> {
            ops.iter()
                .filter_map(|g| match (&g.op, &g.ret) {
                    (Op::Put { key: k, value }, Some((at, _))) if k == key => Some((g.call, *at, value.clone())),
                    _ => None,
                })
                .collect()
        };
        for _ in 0..200 {
            let r = reads[rng.gen_range(0..reads.len())];
            let key = ops[r].op.key().to_string();
            let ps = puts(&key);
            let found = ps
                .iter()
                .find_map(|a| ps.iter().any(|b| a.1 < b.0 && b.1 < ops[r].call && a.2 != b.2).then(|| a.2.clone()));
            if let Some(u) = found {
                if let Some((_, ret)) = &mut ops[r].ret {
                    *ret = Ret::Get(Some(u.clone()));
                }
                return Some((r, u));
            }
        }
        None
    }

    #[test]
    fn lincheck_random_histories_are_linearizable_and_mutations_are_not() {
        for seed in 0..20 {
            let cfg = GenCfg { clients: 6, keys: 4, ops: 400, ambiguous: 0.03, mix: MIX, alphabet: 0, seed };
            let mut ops = generate(&cfg);
            assert_eq!(ops.len(), 400);
            let h = build(&ops);
            assert_eq!(h.len(), 400);
            let res = h.check(T);
            assert_eq!(res, CheckResult::Ok, "seed {seed}: {res}");

            // A read of a value never written.
            let mut rng = StdRng::seed_from_u64(seed ^ 0xabcdef);
            let reads: Vec<usize> =
                (0..ops.len()).filter(|&i| matches!(ops[i].op, Op::Get { .. }) && ops[i].ret.is_some()).collect();
            let r = reads[rng.gen_range(0..reads.len())];
            let mut bad = ops.clone();
            bad[r].ret = bad[r].ret.as_ref().map(|(at, _)| (*at, Ret::Get(Some("never-written".into()))));
            match build(&bad).check(T) {
                CheckResult::Illegal { key, detail } => {
                    assert_eq!(key, ops[r].op.key(), "seed {seed}");
                    assert!(!detail.is_empty());
                }
                other => panic!("seed {seed}: mutated read accepted: {other}"),
            }

            // A stale read.
            let (r, u) = make_stale_read(&mut ops, &mut rng).expect("a stale-read mutation exists");
            match build(&ops).check(T) {
                CheckResult::Illegal { key, .. } => assert_eq!(key, ops[r].op.key(), "seed {seed}, stale {u}"),
                other => panic!("seed {seed}: stale read of {u} accepted: {other}"),
            }
        }
    }

    #[test]
    fn lincheck_agrees_with_brute_force_on_small_mutated_histories() {
        let (mut legal, mut illegal) = (0, 0);
        for seed in 0..1000u64 {
            let mut rng = StdRng::seed_from_u64(seed ^ 0x5eed);
            let cfg = GenCfg {
                clients: rng.gen_range(2..6),
                keys: rng.gen_range(1..3),
                ops: rng.gen_range(5..17),
                ambiguous: [0.0, 0.15, 0.4][rng.gen_range(0..3)],
                mix: if rng.gen_bool(0.3) { CAS_HEAVY } else { MIX },
                // Unique values, or few so that writes repeat them.
                alphabet: [0, 2, 3][rng.gen_range(0..3)],
                seed,
            };
            let mut ops = generate(&cfg);
            // Mutate one completed op's result at random (may or may not stay legal).
            if seed % 4 != 0 {
                let done: Vec<usize> = (0..ops.len()).filter(|&i| ops[i].ret.is_some()).collect();
                if !done.is_empty() {
                    let i = done[rng.gen_range(0..done.len())];
                    let vals: Vec<String> = ops
                        .iter()
                        .filter_map(|g| match &g.op {
                            Op::Put { value, .. } | Op::Cas { value, .. } => Some(value.clone()),
                            _ => None,
                        })
                        .collect();
                    if let Some((_, ret)) = &mut ops[i].ret {
                        *ret = match ret {
                            Ret::Put => Ret::Put,
                            Ret::Get(_) => Ret::Get(
                                (!vals.is_empty() && rng.gen_bool(0.8))
                                    .then(|| vals[rng.gen_range(0..vals.len())].clone()),
                            ),
                            Ret::Delete(b) => Ret::Delete(!*b),
                            Ret::Cas(b) => Ret::Cas(!*b),
                        };
                    }
                }
            }
            let want = brute_force(&ops);
            let got = build(&ops).check(T);
            assert_eq!(got.is_ok(), want, "seed {seed}: checker says {got}, brute force says {want}\n{ops:#?}");
            assert!(!matches!(got, CheckResult::Timeout));
            if want {
                legal += 1;
            } else {
                illegal += 1;
            }
        }
        // Both verdicts must be exercised for the comparison to mean anything.
        assert!(legal > 200 && illegal > 200, "legal {legal}, illegal {illegal}");
    }

    #[test]
    fn lincheck_real_threads_against_a_locked_model() {
        let h = History::new();
        let model = Arc::new(Mutex::new(KvModel::new()));
        std::thread::scope(|s| {
            for c in 0..8 {
                let (h, model) = (h.clone(), model.clone());
                s.spawn(move || {
                    let mut rng = StdRng::seed_from_u64(c as u64);
                    for i in 0..250 {
                        let key = format!("k{}", rng.gen_range(0..5));
                        let op = match rng.gen_range(0..4) {
                            0 => Op::Put { key, value: format!("{c}-{i}") },
                            1 => Op::Delete { key },
                            2 => Op::Cas { key, expect: None, value: format!("{c}-{i}") },
                            _ => Op::Get { key },
                        };
                        let id = h.invoke(c, op.clone());
                        let ret = model.lock().unwrap().apply(&op);
                        h.ok(id, ret);
                    }
                });
            }
        });
        assert_eq!(h.len(), 2000);
        assert_eq!(h.check(T), CheckResult::Ok);
    }

    fn timed(label: &str, cfg: &GenCfg) -> Duration {
        let ops = generate(cfg);
        let h = build(&ops);
        let started = Instant::now();
        let res = h.check(T);
        let took = started.elapsed();
        assert_eq!(res, CheckResult::Ok, "{label}: {res}");
        println!(
            "lincheck {label}: {} ops, {} keys, {} clients, {} ambiguous: checked in {took:?}",
            h.len(),
            cfg.keys,
            cfg.clients,
            ops.iter().filter(|g| g.ret.is_none()).count()
        );
        took
    }

    #[test]
    fn lincheck_timing_10k_ops() {
        timed("10k", &GenCfg { clients: 8, keys: 20, ops: 10_000, ambiguous: 0.01, mix: MIX, alphabet: 0, seed: 42 });
        timed(
            "20k/50 keys/16 clients",
            &GenCfg { clients: 16, keys: 50, ops: 20_000, ambiguous: 0.01, mix: MIX, alphabet: 0, seed: 43 },
        );
        timed(
            "5k/1 key/16 clients",
            &GenCfg { clients: 16, keys: 1, ops: 5_000, ambiguous: 0.01, mix: MIX, alphabet: 0, seed: 45 },
        );
        timed(
            "20k/2 keys/16 clients",
            &GenCfg { clients: 16, keys: 2, ops: 20_000, ambiguous: 0.02, mix: MIX, alphabet: 0, seed: 46 },
        );
        timed(
            "10k/2 keys/16 clients, Cas-heavy",
            &GenCfg { clients: 16, keys: 2, ops: 10_000, ambiguous: 0.02, mix: CAS_HEAVY, alphabet: 0, seed: 47 },
        );
        timed(
            "20k/10 keys/16 clients",
            &GenCfg { clients: 16, keys: 10, ops: 20_000, ambiguous: 0.01, mix: MIX, alphabet: 0, seed: 44 },
        );
    }

    #[test]
    fn lincheck_timeout_is_reported() {
        // 40 concurrent ambiguous writes of distinct values (each compared
        // against by a Cas at the end, so none is interchangeable with another),
        // then reads of a value only written after they return: no linearization
        // exists, but proving it means exploring the subsets of those writes.
        let h = History::new();
        for i in 0..40 {
            h.push_record(i, Op::Put { key: "k".into(), value: format!("v{i}") }, 1 + i as u64, Outcome::Ambiguous);
        }
        for i in 0..40 {
            let (call, at) = (1000 + 2 * i as u64, 1001 + 2 * i as u64);
            h.push_record(
                100 + i,
                Op::Get { key: "k".into() },
                call,
                Outcome::Ok { at, ret: Ret::Get(Some("late".into())) },
            );
        }
        let late = Op::Put { key: "k".into(), value: "late".into() };
        h.push_record(200, late, 5000, Outcome::Ok { at: 5001, ret: Ret::Put });
        for i in 0..40 {
            let (call, at) = (6000 + 2 * i as u64, 6001 + 2 * i as u64);
            let op = Op::Cas { key: "k".into(), expect: Some(format!("v{i}")), value: format!("w{i}") };
            h.push_record(300 + i, op, call, Outcome::Ok { at, ret: Ret::Cas(false) });
        }
        let started = Instant::now();
        let res = h.check(Duration::from_millis(200));
        assert_eq!(res, CheckResult::Timeout);
        assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
    }
}
