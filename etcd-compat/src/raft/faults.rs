//! A fault shim on the peer network: tests partition members, drop a share of
//! messages, or delay them. Every member of an in-process cluster shares one
//! [`Faults`]; a process started from the command line has an empty one.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rand::Rng;

use super::types::NodeId;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    Pass,
    Drop,
    Delay(Duration),
}

#[derive(Debug, Default)]
struct Rules {
    /// Directed pairs that cannot talk.
    blocked: HashSet<(NodeId, NodeId)>,
    /// Share of messages dropped on every link, 0.0..=1.0.
    drop_rate: f64,
    /// Random delay bounds on every link (reorders concurrent messages).
    delay: Option<(Duration, Duration)>,
    per_link_delay: HashMap<(NodeId, NodeId), Duration>,
}

#[derive(Debug, Clone, Default)]
pub struct Faults {
    rules: Arc<Mutex<Rules>>,
}

impl Faults {
    pub fn verdict(&self, from: NodeId, to: NodeId) -> Verdict {
        let r = self.rules.lock();
        if r.blocked.contains(&(from, to)) {
            return Verdict::Drop;
        }
        let mut rng = rand::thread_rng();
        if r.drop_rate > 0.0 && rng.gen_bool(r.drop_rate.clamp(0.0, 1.0)) {
            return Verdict::Drop;
        }
        let mut d = r.per_link_delay.get(&(from, to)).copied().unwrap_or_default();
        if let Some((lo, hi)) = r.delay {
            d += if hi > lo { rng.gen_range(lo..hi) } else { lo };
        }
        if d.is_zero() {
            Verdict::Pass
        } else {
            Verdict::Delay(d)
        }
    }

    /// Cuts every link between members of different groups.
    pub fn partition(&self, groups: &[&[NodeId]]) {
        let mut r = self.rules.lock();
        r.blocked.clear();
        for (i, a) in groups.iter().enumerate() {
            for (j, b) in groups.iter().enumerate() {
                if i != j {
                    for &x in a.iter() {
                        for &y in b.iter() {
                            r.blocked.insert((x, y));
                        }
                    }
                }
            }
        }
    }

    /// Cuts one member off from `others` in both directions.
    pub fn isolate(&self, member: NodeId, others: &[NodeId]) {
        let mut r = self.rules.lock();
        for &o in others {
            if o != member {
                r.blocked.insert((member, o));
                r.blocked.insert((o, member));
            }
        }
    }

    pub fn block(&self, from: NodeId, to: NodeId) {
        self.rules.lock().blocked.insert((from, to));
    }

    pub fn set_drop_rate(&self, rate: f64) {
        self.rules.lock().drop_rate = rate;
    }

    pub fn set_delay(&self, range: Option<(Duration, Duration)>) {
        self.rules.lock().delay = range;
    }

    pub fn delay_link(&self, from: NodeId, to: NodeId, d: Duration) {
        self.rules.lock().per_link_delay.insert((from, to), d);
    }

    /// Removes every fault.
    pub fn heal(&self) {
        *self.rules.lock() = Rules::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_blocks_across_groups_only() {
        let f = Faults::default();
        f.partition(&[&[1], &[2, 3]]);
        assert_eq!(f.verdict(1, 2), Verdict::Drop);
        assert_eq!(f.verdict(3, 1), Verdict::Drop);
        assert_eq!(f.verdict(2, 3), Verdict::Pass);
        f.heal();
        assert_eq!(f.verdict(1, 2), Verdict::Pass);
        f.delay_link(1, 2, Duration::from_millis(5));
        assert_eq!(f.verdict(1, 2), Verdict::Delay(Duration::from_millis(5)));
    }
}
