//! `capstan bench etcd`: the same workloads against Debian's etcd and against
//! `capstan etcd`, one server at a time (so they never compete for cores),
//! with the load generator in this process; prints a side-by-side table.
//!
//! Workloads: put, linearizable and serializable single-key range, and
//! kube-apiserver's txn-update, each at 1 client/1 connection, 100/10 and
//! 1000/100; watch delivery latency; and RSS after loading N keys. With
//! `--members N` (N > 1) each server runs as an N-member cluster on loopback,
//! connections are spread over the members, and (N ≥ 3) the leader is killed
//! under load to measure failover.

mod apiserver;
mod cluster;
mod failover;
mod report;
mod server;
mod stats;
mod suite;
mod watch;
mod workload;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use report::{Cell, Row};
use server::{Flavor, Launch};
use workload::Limit;

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    target: Target,
}

#[derive(Debug, Subcommand)]
enum Target {
    /// Compare `capstan etcd` with a real etcd on the same workloads.
    Etcd(EtcdBench),
    /// Load the Kubernetes API server (`capstan up`) and check it against the S3 targets.
    Apiserver(apiserver::ApiserverBench),
}

#[derive(Debug, Clone, Args)]
pub struct EtcdBench {
    /// Measured time per workload (e.g. `5s`, `500ms`).
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    duration: Duration,
    /// Unmeasured warm-up before each timed workload.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    warmup: Duration,
    /// Run exactly this many operations per KV workload instead of a duration.
    #[arg(long)]
    ops: Option<u64>,
    /// Short smoke run: 1 s per workload, a small key space and 10,000 memory keys.
    #[arg(long)]
    quick: bool,
    /// Number of distinct keys the put/range workloads pick from.
    #[arg(long, default_value_t = 10_000)]
    key_space: u64,
    /// Value size in bytes.
    #[arg(long, default_value_t = 256)]
    value_size: usize,
    /// Keys loaded before the memory (RSS) measurement.
    #[arg(long, default_value_t = 100_000)]
    memory_keys: u64,
    /// Concurrent clients for the loads.
    #[arg(long, default_value_t = 500)]
    load_clients: usize,
    /// Connections for the loads.
    #[arg(long, default_value_t = 50)]
    load_conns: usize,
    /// Before each workload, wait up to this long for other processes to go quiet.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    quiet_wait: Duration,
    /// "Quiet" means other processes keep fewer than this many cores busy.
    #[arg(long, default_value_t = 0.2)]
    quiet_below: f64,
    /// Concurrent writers in the watch latency workload.
    #[arg(long, default_value_t = 10)]
    watch_writers: usize,
    /// The etcd binary to compare against.
    #[arg(long, default_value = "/usr/bin/etcd")]
    etcd_bin: PathBuf,
    /// Where the temporary data dirs go (defaults to the system temp dir).
    #[arg(long)]
    data_root: Option<PathBuf>,
    /// Benchmark only one server.
    #[arg(long, value_parser = ["etcd", "capstan"])]
    only: Option<String>,
    /// Run only workloads whose name contains one of these (comma-separated) substrings.
    #[arg(long, value_delimiter = ',')]
    filter: Vec<String>,
    /// Also write the report (Markdown) to this file.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Members per server: 1 benchmarks single members; N > 1 starts an N-member
    /// cluster of each (clients spread over the members) and, for N ≥ 3, measures
    /// leader failover.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=9))]
    members: u16,
    /// Failover runs per server, each on a fresh cluster (median and all values reported; 1 with --quick).
    #[arg(long, default_value_t = 3)]
    failover_runs: usize,
    /// Writers putting during the failover runs, spread over the members.
    #[arg(long, default_value_t = 16)]
    failover_clients: usize,
    /// Failover writers abandon a Put after this long and retry on the next member.
    #[arg(long, default_value = "500ms", value_parser = parse_duration)]
    failover_timeout: Duration,
}

impl EtcdBench {
    fn effective(mut self) -> Self {
        if self.quick {
            self.duration = Duration::from_secs(1);
            self.warmup = Duration::from_millis(200);
            self.key_space = self.key_space.min(1000);
            self.memory_keys = self.memory_keys.min(10_000);
            self.quiet_wait = Duration::ZERO;
            self.failover_runs = 1;
        }
        self
    }

    fn selected(&self, workload: &str) -> bool {
        self.filter.is_empty() || self.filter.iter().any(|f| workload.contains(f.as_str()))
    }

    fn limit(&self) -> Limit {
        match self.ops {
            Some(n) => Limit::Ops(n),
            None => Limit::Time { warmup: self.warmup, measure: self.duration },
        }
    }
}

/// Parses `250ms`, `5s`, `1.5s`, `2m`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num.trim().parse().map_err(|_| format!("bad duration {s:?} (try 5s or 500ms)"))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("bad duration {s:?}"));
    }
    Ok(Duration::from_secs_f64(v * scale))
}

pub fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.target {
        Target::Etcd(b) => run_etcd(b.effective()),
        Target::Apiserver(b) => apiserver::run(b),
    }
}

fn run_etcd(cfg: EtcdBench) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; build with --release for meaningful numbers");
    }
    let launch = Launch {
        etcd_bin: cfg.etcd_bin.clone(),
        capstan_bin: std::env::current_exe().context("locating the capstan binary")?,
        data_root: cfg.data_root.clone().unwrap_or_else(std::env::temp_dir),
    };
    let flavors: Vec<Flavor> = match cfg.only.as_deref() {
        Some("etcd") => vec![Flavor::Etcd],
        Some(_) => vec![Flavor::Capstan],
        None => vec![Flavor::Etcd, Flavor::Capstan],
    };
    if flavors.contains(&Flavor::Etcd) {
        server::check_bin(&launch.etcd_bin)?;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut results: Vec<(Flavor, Vec<(String, Cell)>)> = Vec::new();
    let mut failed = Vec::new();
    for flavor in flavors {
        eprintln!("== {} ({} member{}) ==", flavor.name(), cfg.members, if cfg.members == 1 { "" } else { "s" });
        let mut cells = Vec::new();
        // On an interrupt the bench future is dropped, and with it every server (killed on drop).
        let outcome = rt.block_on(async {
            tokio::select! {
                r = suite::bench_flavor(flavor, &launch, &cfg, &mut cells) => Ok(r),
                sig = interrupted() => Err(sig),
            }
        });
        results.push((flavor, cells));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                eprintln!("error: {}: {e:#}", flavor.name());
                failed.push(format!("{}: {e:#}", flavor.name()));
            }
            Err(sig) => {
                eprintln!("error: {}: interrupted by {sig}; servers stopped", flavor.name());
                failed.push(format!("{}: interrupted by {sig}", flavor.name()));
                break;
            }
        }
    }
    let rows = merge_rows(&results);
    let mut out = format!("{}\n{}", preamble(&cfg), report::render(&rows));
    if !failed.is_empty() {
        out.push_str(&format!("\nIncomplete: {}\n", failed.join("; ")));
    }
    println!("{out}");
    if let Some(path) = &cfg.output {
        std::fs::write(path, &out).with_context(|| format!("writing {}", path.display()))?;
    }
    match failed.len() {
        0 => Ok(()),
        n => anyhow::bail!("the benchmark did not complete ({n} server(s) failed, see above)"),
    }
}

/// Resolves on SIGINT or SIGTERM, naming the signal.
async fn interrupted() -> &'static str {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term => "SIGTERM",
    }
}

/// Lines up each flavor's cells by workload name, in first-seen order.
fn merge_rows(results: &[(Flavor, Vec<(String, Cell)>)]) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for (flavor, cells) in results {
        for (name, cell) in cells {
            let idx = match rows.iter().position(|r| &r.workload == name) {
                Some(i) => i,
                None => {
                    rows.push(Row { workload: name.clone(), etcd: None, capstan: None });
                    rows.len() - 1
                }
            };
            match flavor {
                Flavor::Etcd => rows[idx].etcd = Some(cell.clone()),
                Flavor::Capstan => rows[idx].capstan = Some(cell.clone()),
            }
        }
    }
    rows
}

fn preamble(cfg: &EtcdBench) -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().find_map(|l| {
                l.strip_prefix("MemTotal:").and_then(|r| r.split_whitespace().next()?.parse::<u64>().ok())
            })
        })
        .map_or_else(|| "?".into(), |kib| format!("{:.1}", kib as f64 / (1024.0 * 1024.0)));
    let limit = match cfg.ops {
        Some(n) => format!("{n} ops per workload"),
        None => format!("{:?} per workload after {:?} warm-up", cfg.duration, cfg.warmup),
    };
    let mut text = format!(
        "capstan bench etcd: {cores} cores, {mem_gib} GiB RAM; {limit}; key space {}, values {} B; \
         etcd = {}; ratios are capstan/etcd (ops/s: higher is better; latency and RSS: lower is better)\n",
        cfg.key_space,
        cfg.value_size,
        cfg.etcd_bin.display()
    );
    if cfg.members > 1 {
        text.push_str(&format!(
            "\n{m}-member clusters on loopback, client connections spread round-robin over the members \
             (connection i to the i-th member (mod {m}) counting from the leader, so 1 connection = the \
             leader); watch: the watcher on a follower, the writers spread over all members; CPU/op and \
             RSS are summed over the members.\n",
            m = cfg.members
        ));
    }
    if cfg.members >= 3 {
        text.push_str(&format!(
            "Failover: {} runs per server on fresh clusters; {} writers spread over the members put \
             continuously (abandoning a Put after {:?} ±50 % and retrying on the next member); after 2 s \
             the leader (Maintenance.Status `leader` == `header.member_id`) is SIGKILLed. kill→new leader \
             seen = until a survivor's Status (polled every 10 ms) names a new leader; kill→first write = \
             until the first successful Put sent after the kill, by a writer or by a probe (one Put every \
             10 ms to the next survivor from the kill on); min bucket = the lowest 100 ms bucket in the 5 s \
             after the kill; recovery = until the first 100 ms bucket after the dip back at ≥ 50 % of the \
             mean over the second before the kill. Failover rows hold the median in the ops/s column (ms for \
             the (ms) rows: lower is better), every run's value in the notes.\n",
            cfg.failover_runs, cfg.failover_clients, cfg.failover_timeout
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn rows_merge_by_workload_name() {
        let cell = |ops: f64| Cell { ops_per_sec: Some(ops), ..Default::default() };
        let results = vec![
            (Flavor::Etcd, vec![("a".to_string(), cell(1.0)), ("b".to_string(), cell(2.0))]),
            (Flavor::Capstan, vec![("b".to_string(), cell(3.0)), ("c".to_string(), cell(4.0))]),
        ];
        let rows = merge_rows(&results);
        let names: Vec<&str> = rows.iter().map(|r| r.workload.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert_eq!(rows[1].etcd.as_ref().and_then(|c| c.ops_per_sec), Some(2.0));
        assert_eq!(rows[1].capstan.as_ref().and_then(|c| c.ops_per_sec), Some(3.0));
        assert!(rows[0].capstan.is_none() && rows[2].etcd.is_none());
    }

    #[test]
    fn quick_shrinks_the_run() {
        use clap::Parser;
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            b: EtcdBench,
        }
        let b = T::parse_from(["t", "--quick"]).b.effective();
        assert_eq!(b.duration, Duration::from_secs(1));
        assert_eq!(b.memory_keys, 10_000);
        assert_eq!(b.quiet_wait, Duration::ZERO);
        assert_eq!(b.limit(), Limit::Time { warmup: Duration::from_millis(200), measure: Duration::from_secs(1) });
        let b = T::parse_from(["t", "--ops", "100"]).b.effective();
        assert_eq!(b.limit(), Limit::Ops(100));
    }
}
