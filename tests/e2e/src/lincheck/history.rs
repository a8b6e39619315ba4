//! A thread-safe recorder of invocations and results.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::{checker, CheckResult, Op, Ret};

/// Handle of one recorded op, returned by [`History::invoke`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpId(usize);

impl OpId {
    /// Position of the op in its history (the `#index` used in reports).
    pub fn index(self) -> usize {
        self.0
    }
}

/// How a recorded op ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Invoked, not yet resolved (checked as [`Outcome::Ambiguous`] for writes,
    /// dropped for reads).
    Pending,
    /// Returned `ret` at time `at`.
    Ok { at: u64, ret: Ret },
    /// May or may not have taken effect, at any time after the call.
    Ambiguous,
    /// Had no effect; not checked.
    Discarded,
}

#[derive(Clone, Debug)]
pub(crate) struct Record {
    pub(crate) client: usize,
    pub(crate) op: Op,
    /// Call time, ns since [`History::new`].
    pub(crate) call: u64,
    pub(crate) outcome: Outcome,
}

struct Inner {
    start: Instant,
    /// Last timestamp handed out; timestamps are strictly increasing.
    last: u64,
    records: Vec<Record>,
}

impl Inner {
    /// A timestamp taken under the lock: strictly increasing and consistent with
    /// the order in which threads got here, so an `ok` that happened before an
    /// `invoke` always gets the smaller time.
    fn now(&mut self) -> u64 {
        let t = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX).max(self.last + 1);
        self.last = t;
        t
    }
}

/// A concurrent history of KV ops. Cheap to clone (clones share the record);
/// every method takes `&self`, so one `History` can be handed to many clients.
///
/// Call [`invoke`](History::invoke) right before sending a request and one of
/// [`ok`](History::ok), [`ambiguous`](History::ambiguous) or
/// [`discard`](History::discard) once its fate is known. Resolving an op only
/// widens its interval (the return time is taken when `ok` is called), which
/// can hide a violation but never invent one.
#[derive(Clone)]
pub struct History {
    inner: Arc<Mutex<Inner>>,
}

impl Default for History {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.lock();
        f.debug_struct("History").field("ops", &g.records.len()).finish()
    }
}

impl History {
    pub fn new() -> Self {
        Self { inner: Arc::new(Mutex::new(Inner { start: Instant::now(), last: 0, records: Vec::new() })) }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A client thread that panicked mid-record leaves nothing half-written.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records the call of `op` by `client` (now) and returns its id.
    pub fn invoke(&self, client: usize, op: Op) -> OpId {
        let mut g = self.lock();
        let call = g.now();
        let id = OpId(g.records.len());
        g.records.push(Record { client, op, call, outcome: Outcome::Pending });
        id
    }

    fn resolve(&self, id: OpId, f: impl FnOnce(&mut Inner, usize)) {
        let mut g = self.lock();
        if id.0 < g.records.len() {
            f(&mut g, id.0);
        }
    }

    /// Records that op `id` returned `ret` (now).
    pub fn ok(&self, id: OpId, ret: Ret) {
        self.resolve(id, |g, i| {
            let at = g.now();
            g.records[i].outcome = Outcome::Ok { at, ret };
        });
    }

    /// Records that op `id` failed in a way that may or may not have applied
    /// (timeout, connection reset after sending): it may take effect at any time
    /// after its call, or never. On a `Get` this is the same as
    /// [`discard`](History::discard).
    pub fn ambiguous(&self, id: OpId) {
        self.resolve(id, |g, i| {
            let r = &mut g.records[i];
            r.outcome = if r.op.is_write() { Outcome::Ambiguous } else { Outcome::Discarded };
        });
    }

    /// Records that op `id` certainly had no effect; it is left out of the check.
    pub fn discard(&self, id: OpId) {
        self.resolve(id, |g, i| g.records[i].outcome = Outcome::Discarded);
    }

    /// Number of recorded ops that take part in the check (everything but
    /// discarded ops).
    pub fn len(&self) -> usize {
        self.lock().records.iter().filter(|r| r.outcome != Outcome::Discarded).count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Decides whether the history is linearizable, giving up after `timeout`.
    /// Works on a snapshot, so recording may go on meanwhile.
    pub fn check(&self, timeout: Duration) -> CheckResult {
        let records = self.lock().records.clone();
        checker::check_records(&records, timeout)
    }

    /// Appends a record with explicit times (tests build exact histories with it).
    #[cfg(test)]
    pub(crate) fn push_record(&self, client: usize, op: Op, call: u64, outcome: Outcome) -> OpId {
        let mut g = self.lock();
        let id = OpId(g.records.len());
        g.records.push(Record { client, op, call, outcome });
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lincheck_history_records_times_and_outcomes() {
        let h = History::new();
        assert!(h.is_empty());
        let a = h.invoke(0, Op::Put { key: "k".into(), value: "v".into() });
        let b = h.invoke(1, Op::Get { key: "k".into() });
        let c = h.invoke(2, Op::Delete { key: "k".into() });
        let d = h.invoke(3, Op::Get { key: "k".into() });
        let e = h.invoke(3, Op::Put { key: "j".into(), value: "w".into() });
        h.ok(a, Ret::Put);
        h.ambiguous(b); // a read: dropped
        h.ambiguous(c);
        h.discard(d);
        h.ok(OpId(99), Ret::Put); // unknown id: ignored
        assert_eq!(h.len(), 3);
        assert_eq!(a.index(), 0);
        let recs = h.lock().records.clone();
        assert!(recs.windows(2).all(|w| w[0].call < w[1].call));
        let Outcome::Ok { at, ref ret } = recs[0].outcome else { panic!("{:?}", recs[0].outcome) };
        assert_eq!(*ret, Ret::Put);
        assert!(at > recs[4].call, "return after every earlier call");
        assert_eq!(recs[1].outcome, Outcome::Discarded);
        assert_eq!(recs[2].outcome, Outcome::Ambiguous);
        assert_eq!(recs[3].outcome, Outcome::Discarded);
        assert_eq!(recs[4].outcome, Outcome::Pending);
        assert_eq!(recs[4].client, 3);
        let _ = e;
    }

    #[test]
    fn lincheck_history_is_shared_across_threads() {
        let h = History::new();
        std::thread::scope(|s| {
            for c in 0..4 {
                let h = h.clone();
                s.spawn(move || {
                    for i in 0..100 {
                        let id = h.invoke(c, Op::Put { key: format!("k{c}"), value: format!("{i}") });
                        h.ok(id, Ret::Put);
                    }
                });
            }
        });
        assert_eq!(h.len(), 400);
        let recs = h.lock().records.clone();
        let mut times: Vec<u64> = recs.iter().map(|r| r.call).collect();
        times.extend(recs.iter().filter_map(|r| match r.outcome {
            Outcome::Ok { at, .. } => Some(at),
            _ => None,
        }));
        times.sort_unstable();
        times.dedup();
        assert_eq!(times.len(), 800, "timestamps are unique");
        assert_eq!(h.check(Duration::from_secs(10)), CheckResult::Ok);
    }
}
