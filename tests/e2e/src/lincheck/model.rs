//! The sequential specification: a key-value map that starts empty.
//!
//! [`apply_to`] is the reference semantics of one op on one key's value. The
//! search runs on a compact copy of it, [`step`], over interned values: per key
//! every distinct string gets a `u32` id and [`ABSENT`] stands for "no key", so a
//! model state is a single `u32`.

use std::collections::HashMap;

use super::{Op, Ret};

/// Interned id of "key absent".
pub(crate) const ABSENT: u32 = 0;

/// Applies `op` to the current value of its key (`None` = absent) and returns
/// what a linearizable store answers.
pub(crate) fn apply_to(value: &mut Option<String>, op: &Op) -> Ret {
    match op {
        Op::Put { value: v, .. } => {
            *value = Some(v.clone());
            Ret::Put
        }
        Op::Get { .. } => Ret::Get(value.clone()),
        Op::Delete { .. } => Ret::Delete(value.take().is_some()),
        Op::Cas { expect, value: v, .. } => {
            if value == expect {
                *value = Some(v.clone());
                Ret::Cas(true)
            } else {
                Ret::Cas(false)
            }
        }
    }
}

/// A sequential key-value map: the reference the checker compares against, also
/// handy for generating expected answers in tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KvModel {
    map: HashMap<String, String>,
}

impl KvModel {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies `op` and returns its answer.
    pub fn apply(&mut self, op: &Op) -> Ret {
        let key = op.key();
        let mut cur = self.map.remove(key);
        let ret = apply_to(&mut cur, op);
        if let Some(v) = cur {
            self.map.insert(key.to_string(), v);
        }
        ret
    }

    /// The current value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }
}

/// An op on one key with interned values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum KOp {
    Put(u32),
    Get,
    Delete,
    Cas { expect: u32, value: u32 },
}

/// A result with interned values; `Unknown` for ambiguous ops (any answer is
/// fine), `Mismatch` when the recorded result is of the wrong kind for the op
/// (never legal).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum KRet {
    Put,
    Get(u32),
    Delete(bool),
    Cas(bool),
    Unknown,
    Mismatch,
}

/// The state after applying `op` in `state`, if that yields `ret`.
#[inline]
pub(crate) fn step(state: u32, op: KOp, ret: KRet) -> Option<u32> {
    match (op, ret) {
        (KOp::Put(v), KRet::Put | KRet::Unknown) => Some(v),
        (KOp::Get, KRet::Get(v)) => (v == state).then_some(state),
        (KOp::Get, KRet::Unknown) => Some(state),
        (KOp::Delete, KRet::Delete(deleted)) => (deleted == (state != ABSENT)).then_some(ABSENT),
        (KOp::Delete, KRet::Unknown) => Some(ABSENT),
        (KOp::Cas { expect, value }, KRet::Cas(ok)) => {
            (ok == (state == expect)).then_some(if ok { value } else { state })
        }
        (KOp::Cas { expect, value }, KRet::Unknown) => Some(if state == expect { value } else { state }),
        _ => None,
    }
}

/// Per-key value interning; id 0 is [`ABSENT`].
pub(crate) struct Interner<'a> {
    ids: HashMap<&'a str, u32>,
    values: Vec<&'a str>,
}

impl<'a> Interner<'a> {
    pub(crate) fn new() -> Self {
        Self { ids: HashMap::new(), values: vec![""] }
    }

    fn id(&mut self, v: &'a str) -> u32 {
        if let Some(&id) = self.ids.get(v) {
            return id;
        }
        // Ids are bounded by the number of ops, far below u32::MAX.
        let id = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        self.ids.insert(v, id);
        self.values.push(v);
        id
    }

    fn opt(&mut self, v: Option<&'a str>) -> u32 {
        v.map_or(ABSENT, |v| self.id(v))
    }

    /// The value behind an id (`None` for [`ABSENT`]).
    pub(crate) fn value(&self, id: u32) -> Option<&'a str> {
        if id == ABSENT {
            return None;
        }
        self.values.get(id as usize).copied()
    }

    /// Compiles an op and its result (`None` = ambiguous) to the compact form.
    pub(crate) fn compile(&mut self, op: &'a Op, ret: Option<&'a Ret>) -> (KOp, KRet) {
        let kop = match op {
            Op::Put { value, .. } => KOp::Put(self.id(value)),
            Op::Get { .. } => KOp::Get,
            Op::Delete { .. } => KOp::Delete,
            Op::Cas { expect, value, .. } => KOp::Cas { expect: self.opt(expect.as_deref()), value: self.id(value) },
        };
        let kret = match (op, ret) {
            (_, None) => KRet::Unknown,
            (Op::Put { .. }, Some(Ret::Put)) => KRet::Put,
            (Op::Get { .. }, Some(Ret::Get(v))) => KRet::Get(self.opt(v.as_deref())),
            (Op::Delete { .. }, Some(Ret::Delete(d))) => KRet::Delete(*d),
            (Op::Cas { .. }, Some(Ret::Cas(ok))) => KRet::Cas(*ok),
            _ => KRet::Mismatch,
        };
        (kop, kret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(v: &str) -> Op {
        Op::Put { key: "k".into(), value: v.into() }
    }
    fn get() -> Op {
        Op::Get { key: "k".into() }
    }
    fn del() -> Op {
        Op::Delete { key: "k".into() }
    }
    fn cas(e: Option<&str>, v: &str) -> Op {
        Op::Cas { key: "k".into(), expect: e.map(Into::into), value: v.into() }
    }

    #[test]
    fn lincheck_model_semantics() {
        let mut m = KvModel::new();
        assert_eq!(m.apply(&get()), Ret::Get(None));
        assert_eq!(m.apply(&del()), Ret::Delete(false));
        assert_eq!(m.apply(&cas(Some("a"), "b")), Ret::Cas(false));
        assert_eq!(m.get("k"), None);
        assert_eq!(m.apply(&cas(None, "a")), Ret::Cas(true));
        assert_eq!(m.apply(&get()), Ret::Get(Some("a".into())));
        assert_eq!(m.apply(&cas(None, "x")), Ret::Cas(false));
        assert_eq!(m.apply(&cas(Some("a"), "b")), Ret::Cas(true));
        assert_eq!(m.apply(&put("c")), Ret::Put);
        assert_eq!(m.get("k"), Some("c"));
        assert_eq!(m.apply(&Op::Get { key: "other".into() }), Ret::Get(None));
        assert_eq!(m.apply(&del()), Ret::Delete(true));
        assert_eq!(m.apply(&get()), Ret::Get(None));
        assert_eq!(m, KvModel::new());
    }

    /// `step` over interned values agrees with `apply_to` for every state, op and
    /// (right or wrong) result over a small alphabet.
    #[test]
    fn lincheck_step_agrees_with_reference() {
        let vals = ["a", "b", "c"];
        let states: Vec<Option<String>> =
            std::iter::once(None).chain(vals.iter().map(|v| Some(v.to_string()))).collect();
        let mut ops = vec![get(), del()];
        for v in vals {
            ops.push(put(v));
            ops.push(cas(None, v));
            for e in vals {
                ops.push(cas(Some(e), v));
            }
        }
        let mut rets = vec![Ret::Put, Ret::Delete(true), Ret::Delete(false), Ret::Cas(true), Ret::Cas(false)];
        rets.extend(states.iter().map(|s| Ret::Get(s.clone())));
        let (mut accepted, mut rejected) = (0, 0);
        for s in &states {
            for op in &ops {
                let mut after = s.clone();
                let want = apply_to(&mut after, op);
                for r in &rets {
                    let mut int = Interner::new();
                    let sid = int.opt(s.as_deref());
                    let aid = int.opt(after.as_deref());
                    let (kop, kret) = int.compile(op, Some(r));
                    let got = step(sid, kop, kret);
                    if *r == want {
                        assert_eq!(got, Some(aid), "{s:?} {op:?} {r:?}");
                        accepted += 1;
                    } else {
                        assert_eq!(got, None, "{s:?} {op:?} {r:?} (want {want:?})");
                        rejected += 1;
                    }
                    // Ambiguous: always accepted, with the reference effect.
                    let (kop, kret) = int.compile(op, None);
                    assert_eq!(kret, KRet::Unknown);
                    assert_eq!(step(sid, kop, kret), Some(aid), "{s:?} {op:?} ambiguous");
                }
            }
        }
        assert_eq!(accepted, states.len() * ops.len());
        assert!(rejected > accepted);
    }

    #[test]
    fn lincheck_interner_ids() {
        let (a, b) = (put("a"), put("b"));
        let mut int = Interner::new();
        let (ka, _) = int.compile(&a, None);
        let (kb, _) = int.compile(&b, None);
        let (ka2, _) = int.compile(&a, None);
        assert_eq!(ka, ka2);
        assert_ne!(ka, kb);
        let KOp::Put(id) = ka else { panic!("{ka:?}") };
        assert_ne!(id, ABSENT);
        assert_eq!(int.value(id), Some("a"));
        assert_eq!(int.value(ABSENT), None);
        let g = get();
        let wrong = Ret::Put;
        assert_eq!(int.compile(&g, Some(&wrong)).1, KRet::Mismatch);
    }
}
