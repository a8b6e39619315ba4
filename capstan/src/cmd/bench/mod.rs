//! `capstan bench etcd`: the same workloads against Debian's etcd and against
//! `capstan etcd`, one server at a time (so they never compete for cores),
//! with the load generator in this process; prints a side-by-side table.
//!
//! Workloads: put, linearizable and serializable single-key range, and
//! kube-apiserver's txn-update, each at 1 client/1 connection, 100/10 and
//! 1000/100; watch delivery latency; and RSS after loading N keys.

mod report;
mod server;
mod stats;
mod watch;
mod workload;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};

use report::{Cell, Row};
use server::{Flavor, Launch, Server};
use workload::{Kind, Limit, Shape, Spec};

/// Concurrency levels for the KV workloads.
const SHAPES: [Shape; 3] = [Shape::new(1, 1), Shape::new(100, 10), Shape::new(1000, 100)];
const KV_KINDS: [Kind; 4] = [Kind::Put, Kind::RangeLinearizable, Kind::RangeSerializable, Kind::TxnUpdate];
const KV_PREFIX: &str = "bench/kv/";
const WATCH_PREFIX: &str = "bench/watch/";
const MEM_PREFIX: &str = "bench/mem/";
/// Time given to a server to settle after the memory load before RSS is read.
const SETTLE: Duration = Duration::from_secs(2);

#[derive(Debug, Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    target: Target,
}

#[derive(Debug, Subcommand)]
enum Target {
    /// Compare `capstan etcd` with a real etcd on the same workloads.
    Etcd(EtcdBench),
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
}

impl EtcdBench {
    fn effective(mut self) -> Self {
        if self.quick {
            self.duration = Duration::from_secs(1);
            self.warmup = Duration::from_millis(200);
            self.key_space = self.key_space.min(1000);
            self.memory_keys = self.memory_keys.min(10_000);
            self.quiet_wait = Duration::ZERO;
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
    for flavor in flavors {
        eprintln!("== {} ==", flavor.name());
        let cells = rt.block_on(bench_server(flavor, &launch, &cfg))?;
        results.push((flavor, cells));
    }
    let rows = merge_rows(&results);
    let out = format!("{}\n{}", preamble(&cfg), report::render(&rows));
    println!("{out}");
    if let Some(path) = &cfg.output {
        std::fs::write(path, &out).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
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

fn log_cell(flavor: Flavor, name: &str, c: &Cell) {
    eprintln!(
        "{:>7} | {name:<36} | {:>8} ops/s | p50 {:>9} | p99 {:>9} | CPU/op {:>8} (client {:>8}) | RSS {:>10} | bg {:.2}{}",
        flavor.name(),
        report::fmt_ops(c.ops_per_sec),
        report::fmt_dur(c.p50),
        report::fmt_dur(c.p99),
        report::fmt_dur(c.cpu_per_op),
        report::fmt_dur(c.client_cpu_per_op),
        report::fmt_rss(c.rss_kib),
        c.background_cores.unwrap_or(f64::NAN),
        c.note.as_deref().map(|n| format!(" | {n}")).unwrap_or_default(),
    );
}

/// Waits for the machine to go quiet before a measurement (see `--quiet-wait`).
async fn settle(srv: &Server, cfg: &EtcdBench) {
    if cfg.quiet_wait.is_zero() {
        return;
    }
    if let Some(bg) = stats::wait_quiet(srv.pid(), cfg.quiet_wait, cfg.quiet_below).await {
        if bg >= cfg.quiet_below {
            eprintln!("note: still {bg:.2} cores busy elsewhere after waiting {:?}", cfg.quiet_wait);
        }
    }
}

async fn bench_server(flavor: Flavor, launch: &Launch, cfg: &EtcdBench) -> anyhow::Result<Vec<(String, Cell)>> {
    let mut out = Vec::new();
    let mut push = |name: String, cell: Cell| {
        log_cell(flavor, &name, &cell);
        out.push((name, cell));
    };
    let load_shape = Shape::new(cfg.load_clients, cfg.load_conns);

    let mut srv = Server::start(flavor, launch).await?;
    push("idle after start".into(), Cell { rss_kib: srv.rss_kib(), ..Default::default() });
    // Every key of the key space exists before the reads start.
    let preload = Spec {
        kind: Kind::Load,
        shape: load_shape,
        limit: Limit::Ops(cfg.key_space),
        prefix: KV_PREFIX.into(),
        key_space: cfg.key_space,
        value_size: cfg.value_size,
    };
    workload::run(srv.url(), srv.pid(), &preload).await.context("preloading the key space")?;
    for kind in KV_KINDS {
        for shape in SHAPES {
            let spec = Spec {
                kind,
                shape,
                limit: cfg.limit(),
                prefix: KV_PREFIX.into(),
                key_space: cfg.key_space,
                value_size: cfg.value_size,
            };
            let name = format!("{} {}", kind.label(), shape.label());
            if !cfg.selected(&name) {
                continue;
            }
            settle(&srv, cfg).await;
            let sample = workload::run(srv.url(), srv.pid(), &spec).await.with_context(|| format!("running {name}"))?;
            srv.check_alive()?;
            push(name, Cell::from_sample(&sample, srv.rss_kib()));
        }
    }
    let wspec = watch::WatchSpec {
        prefix: WATCH_PREFIX.into(),
        writers: cfg.watch_writers,
        value_size: cfg.value_size,
        warmup: cfg.warmup,
        measure: cfg.duration,
    };
    let wname = format!("watch {}w put-ack→event", cfg.watch_writers);
    let sname = format!("watch {}w put-send→event", cfg.watch_writers);
    if cfg.selected(&wname) || cfg.selected(&sname) {
        settle(&srv, cfg).await;
        let outcome = watch::run(srv.url(), srv.pid(), &wspec).await;
        let rss = srv.rss_kib();
        match outcome {
            Ok(watch::WatchOutcome::Measured { ack, send }) => {
                push(wname, Cell::from_sample(&ack, rss));
                push(sname, Cell::from_sample(&send, rss));
            }
            Ok(watch::WatchOutcome::Unavailable(why)) => {
                push(wname, Cell::unavailable(why.clone(), rss));
                push(sname, Cell::unavailable(why, rss));
            }
            Err(e) => {
                push(wname, Cell::unavailable(format!("watch failed: {e:#}"), rss));
                push(sname, Cell::unavailable(format!("watch failed: {e:#}"), rss));
            }
        }
    }
    drop(srv);
    let name = format!("load {} keys×{} B {}, then RSS", cfg.memory_keys, cfg.value_size, load_shape.label());
    if !cfg.selected(&name) {
        return Ok(out);
    }

    // Memory: a fresh server holding exactly `memory_keys` keys.
    let srv = Server::start(flavor, launch).await?;
    let load = Spec {
        kind: Kind::Load,
        shape: load_shape,
        limit: Limit::Ops(cfg.memory_keys),
        prefix: MEM_PREFIX.into(),
        key_space: cfg.memory_keys,
        value_size: cfg.value_size,
    };
    settle(&srv, cfg).await;
    let sample = workload::run(srv.url(), srv.pid(), &load).await.context("loading keys for the memory measurement")?;
    tokio::time::sleep(SETTLE).await;
    push(name, Cell::from_sample(&sample, srv.rss_kib()));
    Ok(out)
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
    format!(
        "capstan bench etcd: {cores} cores, {mem_gib} GiB RAM; {limit}; key space {}, values {} B; \
         etcd = {}; ratios are capstan/etcd (ops/s: higher is better; latency and RSS: lower is better)\n",
        cfg.key_space,
        cfg.value_size,
        cfg.etcd_bin.display()
    )
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
