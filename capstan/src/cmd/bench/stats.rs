//! Measurement primitives: latency histograms (microsecond resolution),
//! per-workload samples, and a server's resident memory from `/proc`.

use std::time::{Duration, Instant};

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
    /// CPU use over the measured window, if it could be read.
    pub cpu: Option<CpuUse>,
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

/// CPU time counters (in clock ticks) for the machine, this process and the server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// Busy ticks summed over every CPU (steal included: time the host took away).
    pub machine_busy: u64,
    /// All ticks summed over every CPU.
    pub machine_total: u64,
    pub bench: u64,
    pub server: u64,
}

/// What happened on the CPUs between two [`CpuTimes`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CpuUse {
    /// CPU time the server used.
    pub server: Duration,
    /// CPU time this process (the load generator) used.
    pub bench: Duration,
    /// Average number of cores kept busy by anything other than the bench and the
    /// server (other processes, the hypervisor): the run's noise.
    pub background_cores: f64,
}

/// (busy, total) ticks from the aggregate `cpu` line of `/proc/stat`.
pub fn parse_proc_stat(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).take(8).map(|f| f.parse().ok()).collect::<Option<_>>()?;
    if v.len() < 8 {
        return None;
    }
    // user nice system idle iowait irq softirq steal
    let total: u64 = v.iter().sum();
    Some((total - v[3] - v[4], total))
}

/// utime + stime ticks from the text of `/proc/<pid>/stat`.
pub fn parse_pid_stat(stat: &str) -> Option<u64> {
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime and stime are fields 14 and 15.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn pid_ticks(pid: u32) -> Option<u64> {
    parse_pid_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// Reads the counters now (`server` summed over `server_pids`, a cluster's
/// members); `None` where /proc is unreadable.
pub fn cpu_snapshot(server_pids: &[u32]) -> Option<CpuTimes> {
    let (machine_busy, machine_total) = parse_proc_stat(&std::fs::read_to_string("/proc/stat").ok()?)?;
    Some(CpuTimes {
        machine_busy,
        machine_total,
        bench: pid_ticks(std::process::id())?,
        server: server_pids.iter().map(|p| pid_ticks(*p)).sum::<Option<u64>>()?,
    })
}

/// CPU use between `a` and `b` on a machine with `cores` CPUs over `wall`.
pub fn cpu_use(a: &CpuTimes, b: &CpuTimes, cores: usize, wall: Duration) -> Option<CpuUse> {
    let total = b.machine_total.checked_sub(a.machine_total)?;
    if total == 0 || cores == 0 {
        return None;
    }
    let busy = b.machine_busy.saturating_sub(a.machine_busy);
    let ours = b.bench.saturating_sub(a.bench) + b.server.saturating_sub(a.server);
    let background_cores = busy.saturating_sub(ours) as f64 / total as f64 * cores as f64;
    // Ticks per second of one CPU, measured rather than assumed (USER_HZ).
    let tick = wall.as_secs_f64() * cores as f64 / total as f64;
    let server = Duration::from_secs_f64(b.server.saturating_sub(a.server) as f64 * tick);
    let bench = Duration::from_secs_f64(b.bench.saturating_sub(a.bench) as f64 * tick);
    Some(CpuUse { server, bench, background_cores })
}

/// Number of CPUs this process may run on.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Sleeps until `at`, then reads the counters; returns them with the read time.
pub async fn snapshot_at(server_pids: Vec<u32>, at: Instant) -> (Option<CpuTimes>, Instant) {
    tokio::time::sleep_until(at.into()).await;
    (cpu_snapshot(&server_pids), Instant::now())
}

/// CPU use between two timed snapshots.
pub fn cpu_between(a: (Option<CpuTimes>, Instant), b: (Option<CpuTimes>, Instant)) -> Option<CpuUse> {
    cpu_use(&a.0?, &b.0?, cores(), b.1.checked_duration_since(a.1)?)
}

/// Waits (up to `max_wait`) until other processes keep fewer than
/// `threshold` cores busy, sampling every half second. Returns the last
/// background load seen.
pub async fn wait_quiet(server_pids: &[u32], max_wait: Duration, threshold: f64) -> Option<f64> {
    let deadline = Instant::now() + max_wait;
    let mut last = None;
    while Instant::now() < deadline {
        let a = (cpu_snapshot(server_pids), Instant::now());
        let b = snapshot_at(server_pids.to_vec(), Instant::now() + Duration::from_millis(500)).await;
        last = cpu_between(a, b).map(|u| u.background_cores);
        if last.is_none_or(|bg| bg < threshold) {
            break;
        }
    }
    last
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
            cpu: None,
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
    fn proc_stat_parsing() {
        let stat = "cpu  100 5 50 800 20 1 2 3 0 0\ncpu0 50 2 25 400 10 0 1 1 0 0\n";
        assert_eq!(parse_proc_stat(stat), Some((161, 981)));
        assert_eq!(parse_proc_stat("intr 1 2\n"), None);
        let pid = "4242 (tokio (rt) x) S 1 2 3 4 5 6 7 8 9 10 31 17 0 0 20 0 8 0 100 0 0";
        assert_eq!(parse_pid_stat(pid), Some(48));
        assert_eq!(parse_pid_stat("garbage"), None);
    }

    #[test]
    fn cpu_use_splits_out_background_load() {
        // 2 cores, 1 s, 100 ticks/s/core: 200 ticks; 150 busy, of which ours 40 + 60.
        let a = CpuTimes { machine_busy: 1000, machine_total: 5000, bench: 10, server: 20 };
        let b = CpuTimes { machine_busy: 1150, machine_total: 5200, bench: 50, server: 80 };
        let u = cpu_use(&a, &b, 2, Duration::from_secs(1)).unwrap();
        assert_eq!(u.server, Duration::from_millis(600));
        assert_eq!(u.bench, Duration::from_millis(400));
        assert!((u.background_cores - 0.5).abs() < 1e-9);
        assert_eq!(cpu_use(&a, &a, 2, Duration::from_secs(1)), None);
    }

    #[test]
    fn cpu_snapshot_of_this_process() {
        let s = cpu_snapshot(&[std::process::id()]).unwrap();
        assert!(s.machine_total >= s.machine_busy && s.machine_total > 0);
    }

    #[test]
    fn rss_of_this_process() {
        assert!(rss_kib(std::process::id()).unwrap() > 0);
    }
}
