//! Auto compaction (`--auto-compaction-mode`, `--auto-compaction-retention`),
//! with etcd's semantics:
//!
//! * `periodic`: retention is a Go duration (`1h`, `30m`, `90s`) or a plain
//!   number of hours. The current revision is sampled every tenth of the
//!   period (capped at an hour); once a whole period has passed, the store is
//!   compacted at the revision sampled a period ago, then again every
//!   `min(period, 1h)`.
//! * `revision`: retention is a number of revisions; every five minutes the
//!   store is compacted at `current - retention` if that moved.
//!
//! Compactions are proposed through the apply path like a client's.

use std::collections::VecDeque;
use std::sync::Weak;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::node::Node;
use crate::proto::capstanpb::command::Op;
use crate::proto::etcdserverpb::CompactionRequest;

const HOUR: Duration = Duration::from_secs(3600);
/// etcd's revInterval: how often revision mode checks.
pub const REVISION_INTERVAL: Duration = Duration::from_secs(300);
/// Periodic mode samples the revision this many times per period.
const SAMPLES_PER_PERIOD: u32 = 10;

/// What the flags ask for; `None` from [`Policy::from_config`] means off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    Periodic(Duration),
    Revision(i64),
}

fn bad(msg: String) -> Error {
    Error::InvalidArgument(msg)
}

/// Parses a Go `time.Duration` string; negative durations are refused.
pub fn parse_go_duration(s: &str) -> Option<Duration> {
    let body = s.strip_prefix('+').unwrap_or(s);
    if body == "0" {
        return Some(Duration::ZERO);
    }
    if body.is_empty() {
        return None;
    }
    let mut total: u128 = 0;
    let mut rest = body;
    while !rest.is_empty() {
        let int_len = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let (int, after) = rest.split_at(int_len);
        let (frac, after) = match after.strip_prefix('.') {
            Some(a) => {
                let n = a.find(|c: char| !c.is_ascii_digit()).unwrap_or(a.len());
                a.split_at(n)
            }
            None => ("", after),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        let unit_len = after.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let nanos: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => return None,
        };
        let whole: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
        total = total.checked_add(whole.checked_mul(nanos)?)?;
        if !frac.is_empty() {
            let digits = frac.len().min(30) as u32;
            let scale = 10u128.checked_pow(digits)?;
            let f: u128 = frac[..digits as usize].parse().ok()?;
            total = total.checked_add(f.checked_mul(nanos)? / scale)?;
        }
        rest = after;
    }
    // Go durations are int64 nanoseconds.
    if total > i64::MAX as u128 {
        return None;
    }
    Some(Duration::from_nanos(total as u64))
}

impl Policy {
    /// etcd's parseCompactionRetention plus the mode check; `Ok(None)` = off.
    pub fn parse(mode: &str, retention: &str) -> Result<Option<Policy>> {
        let retention = retention.trim();
        let plain: Option<u64> = retention.parse().ok();
        let policy = match mode {
            "periodic" | "" => {
                let period = match plain {
                    Some(h) => Duration::from_secs(h.checked_mul(3600).ok_or_else(|| {
                        bad(format!("error parsing CompactionRetention: {retention:?} hours is too long"))
                    })?),
                    None => parse_go_duration(retention).ok_or_else(|| {
                        bad(format!("error parsing CompactionRetention: invalid duration {retention:?}"))
                    })?,
                };
                if period.is_zero() {
                    return Ok(None);
                }
                if mode.is_empty() {
                    return Err(bad("--auto-compaction-mode is undefined".into()));
                }
                Policy::Periodic(period)
            }
            "revision" => match plain.map(i64::try_from) {
                Some(Ok(0)) => return Ok(None),
                Some(Ok(n)) => Policy::Revision(n),
                _ => {
                    return Err(bad(format!(
                    "error parsing CompactionRetention: revision mode needs a number of revisions, got {retention:?}"
                )))
                }
            },
            other => return Err(bad(format!("unknown auto-compaction-mode {other:?}"))),
        };
        Ok(Some(policy))
    }

    pub fn from_config(config: &Config) -> Result<Option<Policy>> {
        Self::parse(&config.auto_compaction_mode, &config.auto_compaction_retention)
    }
}

/// Periodic mode's state: the sliding window of sampled revisions.
#[derive(Debug)]
pub struct Periodic {
    period: Duration,
    /// Samples, oldest first; the front is the revision one period ago.
    revs: VecDeque<i64>,
    /// Until the first compaction this is the period, then min(period, 1h).
    wait: Duration,
    last_success: Instant,
    last_rev: i64,
}

impl Periodic {
    pub fn new(period: Duration, now: Instant) -> Self {
        Self { period, revs: VecDeque::new(), wait: period, last_success: now, last_rev: 0 }
    }

    /// How often to sample (and retry): a tenth of min(period, 1h).
    pub fn tick(&self) -> Duration {
        self.period.min(HOUR) / SAMPLES_PER_PERIOD
    }

    fn window(&self) -> usize {
        let tick = self.tick().as_nanos().max(1);
        (self.period.as_nanos() / tick) as usize + 1
    }

    /// Records the current revision at the start of a tick.
    pub fn sample(&mut self, rev: i64) {
        self.revs.push_back(rev);
        while self.revs.len() > self.window() {
            self.revs.pop_front();
        }
    }

    /// After a tick has passed: the revision to compact at, if one is due.
    pub fn due(&self, now: Instant) -> Option<i64> {
        let rev = *self.revs.front()?;
        if now.duration_since(self.last_success) < self.wait || rev == self.last_rev {
            return None;
        }
        Some(rev)
    }

    /// Call when a compaction at `rev` succeeded (or it was already compacted).
    pub fn done(&mut self, rev: i64, now: Instant) {
        self.wait = self.period.min(HOUR);
        self.last_success = now;
        self.last_rev = rev;
    }
}

/// Revision mode's state.
#[derive(Debug)]
pub struct RevisionKeeper {
    retention: i64,
    last_rev: i64,
}

impl RevisionKeeper {
    pub fn new(retention: i64) -> Self {
        Self { retention, last_rev: 0 }
    }

    /// The revision to compact at given the current one, if any.
    pub fn due(&self, current: i64) -> Option<i64> {
        let rev = current - self.retention;
        (rev > 0 && rev != self.last_rev).then_some(rev)
    }

    pub fn done(&mut self, rev: i64) {
        self.last_rev = rev;
    }
}

/// Proposes a compaction; `true` when it succeeded or was already done.
/// Only the leader compacts, as in etcd (followers report success so their
/// schedule keeps moving; the leader's compaction reaches them through Raft).
async fn compact(node: &Node, rev: i64, mode: &str) -> bool {
    if !node.is_leader() {
        return true;
    }
    tracing::info!(revision = rev, mode, "starting auto compaction");
    match node.propose_op(Op::Compaction(CompactionRequest { revision: rev, physical: false })).await {
        Ok(_) | Err(Error::Compacted) => {
            tracing::info!(revision = rev, mode, "completed auto compaction");
            true
        }
        Err(e) => {
            tracing::warn!(revision = rev, mode, error = %e, "failed auto compaction");
            false
        }
    }
}

/// Runs the compactor until the node is dropped. Spawn on the runtime.
pub async fn run(node: Weak<Node>, policy: Policy) {
    match policy {
        Policy::Periodic(period) => run_periodic(node, period).await,
        Policy::Revision(retention) => run_revision(node, retention, REVISION_INTERVAL).await,
    }
}

async fn run_periodic(node: Weak<Node>, period: Duration) {
    let mut state = Periodic::new(period, Instant::now());
    loop {
        match node.upgrade() {
            Some(n) => state.sample(n.store().current_rev()),
            None => return,
        }
        tokio::time::sleep(state.tick()).await;
        let Some(n) = node.upgrade() else { return };
        let now = Instant::now();
        if let Some(rev) = state.due(now) {
            if compact(&n, rev, "periodic").await {
                state.done(rev, Instant::now());
            }
        }
    }
}

async fn run_revision(node: Weak<Node>, retention: i64, every: Duration) {
    let mut state = RevisionKeeper::new(retention);
    loop {
        tokio::time::sleep(every).await;
        let Some(n) = node.upgrade() else { return };
        if let Some(rev) = state.due(n.store().current_rev()) {
            if compact(&n, rev, "revision").await {
                state.done(rev);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        let d = |s| parse_go_duration(s);
        assert_eq!(d("1h"), Some(HOUR));
        assert_eq!(d("30m"), Some(Duration::from_secs(1800)));
        assert_eq!(d("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(d("1.5h"), Some(Duration::from_secs(5400)));
        assert_eq!(d(".5s"), Some(Duration::from_millis(500)));
        assert_eq!(d("100ms"), Some(Duration::from_millis(100)));
        assert_eq!(d("2us"), Some(Duration::from_micros(2)));
        assert_eq!(d("3µs"), Some(Duration::from_micros(3)));
        assert_eq!(d("0"), Some(Duration::ZERO));
        assert_eq!(d("+5s"), Some(Duration::from_secs(5)));
        for bad in ["", "1", "h", "1x", "-1h", "1.h.", "99999999999h"] {
            assert_eq!(d(bad), None, "{bad}");
        }
    }

    #[test]
    fn retention_parsing() {
        let p = Policy::parse;
        assert_eq!(p("periodic", "0").unwrap(), None);
        assert_eq!(p("periodic", "1").unwrap(), Some(Policy::Periodic(HOUR)));
        assert_eq!(p("periodic", "72").unwrap(), Some(Policy::Periodic(72 * HOUR)));
        assert_eq!(p("periodic", "30m").unwrap(), Some(Policy::Periodic(Duration::from_secs(1800))));
        assert_eq!(p("periodic", "1h").unwrap(), Some(Policy::Periodic(HOUR)));
        assert_eq!(p("revision", "1000").unwrap(), Some(Policy::Revision(1000)));
        assert_eq!(p("revision", "0").unwrap(), None);
        assert!(p("revision", "1h").is_err());
        assert!(p("revision", "-5").is_err());
        assert!(p("periodic", "-1").is_err());
        assert!(p("periodic", "soon").is_err());
        let e = p("hourly", "1").unwrap_err();
        assert_eq!(e.to_string(), "etcdserver: unknown auto-compaction-mode \"hourly\"");
        assert_eq!(p("", "0").unwrap(), None);
        assert!(p("", "1").is_err());
    }

    #[test]
    fn revision_mode_decision() {
        let mut k = RevisionKeeper::new(100);
        assert_eq!(k.due(50), None, "not enough history");
        assert_eq!(k.due(100), None, "compacting at 0 is a no-op");
        assert_eq!(k.due(101), Some(1));
        k.done(1);
        assert_eq!(k.due(101), None, "nothing new since the last compaction");
        assert_eq!(k.due(350), Some(250));
        // A failure leaves the state alone, so the same revision is retried.
        assert_eq!(k.due(350), Some(250));
    }

    #[test]
    fn periodic_waits_a_period_then_compacts_the_oldest_sample() {
        let start = Instant::now();
        let period = Duration::from_secs(600);
        let mut p = Periodic::new(period, start);
        assert_eq!(p.tick(), Duration::from_secs(60));
        let mut now = start;
        let mut rev = 10;
        let mut compacted = Vec::new();
        for _ in 0..30 {
            p.sample(rev);
            now += p.tick();
            rev += 5;
            if let Some(r) = p.due(now) {
                compacted.push((now.duration_since(start).as_secs(), r));
                p.done(r, now);
            }
        }
        // First after a full period, at the first sample; then every period
        // (600s < 1h) at the oldest sample of the window (period + one tick).
        assert_eq!(compacted, vec![(600, 10), (1200, 55), (1800, 105)]);
    }

    #[test]
    fn periodic_long_retention_compacts_hourly() {
        let start = Instant::now();
        let mut p = Periodic::new(Duration::from_secs(5 * 3600), start);
        assert_eq!(p.tick(), Duration::from_secs(360));
        let mut now = start;
        let mut firsts = Vec::new();
        for i in 0..80 {
            p.sample(i + 1);
            now += p.tick();
            if let Some(r) = p.due(now) {
                firsts.push((now.duration_since(start).as_secs() / 60, r));
                p.done(r, now);
            }
        }
        // 5h window: first at 300 minutes, then hourly, each time at the
        // oldest sample of the window.
        assert_eq!(firsts, vec![(300, 1), (360, 10), (420, 20), (480, 30)]);
    }
}
