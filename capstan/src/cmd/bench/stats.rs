//! Measurement primitives: latency histograms (microsecond resolution),
//! per-workload samples, and a server's resident memory from `/proc`.

use std::time::Duration;

use anyhow::Context;
use hdrhistogram::Histogram;

/// Highest latency the histograms track (longer ones are clamped to it).
const MAX_LATENCY_US: u64 = 120_000_000;

/// A latency histogram in microseconds.
#[derive(Clone)]
pub struct Latency {
    hist: Histogram<u64>,
}

impl Latency {
    pub fn new() -> anyhow::Result<Self> {
        let hist = Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).context("creating a latency histogram")?;
        Ok(Self { hist })
    }

    pub fn record(&mut self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX).clamp(1, MAX_LATENCY_US);
        // Within bounds by the clamp, so this cannot fail.
        let _ = self.hist.record(us);
    }

    pub fn merge(&mut self, other: &Latency) -> anyhow::Result<()> {
        self.hist.add(&other.hist).context("merging latency histograms")
    }

    #[cfg(test)]
    pub fn count(&self) -> u64 {
        self.hist.len()
    }

    /// The latency at quantile `q` (0.0..=1.0); `None` if nothing was recorded.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        if self.hist.is_empty() {
            return None;
        }
        Some(Duration::from_micros(self.hist.value_at_quantile(q)))
    }
}

/// What one workload run measured.
#[derive(Clone)]
pub struct Sample {
    /// Operations that completed successfully inside the measured window.
    pub ops: u64,
    /// Operations that failed inside the measured window.
    pub errors: u64,
    /// Length of the measured window.
    pub elapsed: Duration,
    pub latency: Latency,
    /// The first error seen, for the report's notes.
    pub first_error: Option<String>,
}

impl Sample {
    pub fn ops_per_sec(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs <= 0.0 {
            return 0.0;
        }
        self.ops as f64 / secs
    }
}

/// Parses `VmRSS` (in KiB) out of the text of `/proc/<pid>/status`.
pub fn parse_vm_rss_kib(status: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix("VmRSS:")?;
        let mut parts = rest.split_whitespace();
        let n = parts.next()?.parse::<u64>().ok()?;
        match parts.next() {
            Some("kB") | None => Some(n),
            Some(_) => None,
        }
    })
}

/// Resident set size of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_vm_rss_kib(&status).with_context(|| format!("no VmRSS line in {path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_uniform_spread() {
        let mut l = Latency::new().unwrap();
        for us in 1..=1000u64 {
            l.record(Duration::from_micros(us));
        }
        assert_eq!(l.count(), 1000);
        let p50 = l.quantile(0.5).unwrap().as_micros() as i64;
        let p99 = l.quantile(0.99).unwrap().as_micros() as i64;
        // Three significant figures: within 0.1 % of the exact answer.
        assert!((p50 - 500).abs() <= 1, "p50 = {p50}");
        assert!((p99 - 990).abs() <= 1, "p99 = {p99}");
    }

    #[test]
    fn empty_histogram_has_no_percentiles() {
        assert_eq!(Latency::new().unwrap().quantile(0.5), None);
    }

    #[test]
    fn merge_adds_counts_and_clamps_extremes() {
        let mut a = Latency::new().unwrap();
        let mut b = Latency::new().unwrap();
        a.record(Duration::ZERO);
        b.record(Duration::from_secs(100_000));
        a.merge(&b).unwrap();
        assert_eq!(a.count(), 2);
        assert_eq!(a.quantile(0.0).unwrap(), Duration::from_micros(1));
        assert!(a.quantile(1.0).unwrap() >= Duration::from_secs(119));
    }

    #[test]
    fn ops_per_sec() {
        let s = Sample {
            ops: 500,
            errors: 0,
            elapsed: Duration::from_millis(250),
            latency: Latency::new().unwrap(),
            first_error: None,
        };
        assert!((s.ops_per_sec() - 2000.0).abs() < 1e-9);
        let zero = Sample { elapsed: Duration::ZERO, ..s };
        assert_eq!(zero.ops_per_sec(), 0.0);
    }

    #[test]
    fn vm_rss_parsing() {
        let status = "Name:\tetcd\nVmPeak:\t  900000 kB\nVmRSS:\t   51234 kB\nThreads:\t12\n";
        assert_eq!(parse_vm_rss_kib(status), Some(51234));
        assert_eq!(parse_vm_rss_kib("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss_kib("VmRSS:\tlots kB\n"), None);
    }

    #[test]
    fn rss_of_this_process() {
        assert!(rss_kib(std::process::id()).unwrap() > 0);
    }
}
