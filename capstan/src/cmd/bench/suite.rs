//! One server's run: start it (a single member or an N-member cluster), run
//! the selected workloads one after the other, and (for clusters) the leader
//! failover runs, each on a fresh cluster.

use std::time::Duration;

use anyhow::Context;

use super::cluster::Cluster;
use super::failover::{self, FailoverRun, FailoverSpec};
use super::report::{self, Cell};
use super::server::{Flavor, Launch};
use super::workload::{self, Kind, Limit, Shape, Spec};
use super::{stats, watch, EtcdBench};

/// Concurrency levels for the KV workloads.
const SHAPES: [Shape; 3] = [Shape::new(1, 1), Shape::new(100, 10), Shape::new(1000, 100)];
const KV_KINDS: [Kind; 4] = [Kind::Put, Kind::RangeLinearizable, Kind::RangeSerializable, Kind::TxnUpdate];
/// The KV workloads of a cluster run: puts at every level, the rest at 100 clients.
const CLUSTER_KV: [(Kind, Shape); 6] = [
    (Kind::Put, SHAPES[0]),
    (Kind::Put, SHAPES[1]),
    (Kind::Put, SHAPES[2]),
    (Kind::RangeLinearizable, SHAPES[1]),
    (Kind::RangeSerializable, SHAPES[1]),
    (Kind::TxnUpdate, SHAPES[1]),
];
const KV_PREFIX: &str = "bench/kv/";
const WATCH_PREFIX: &str = "bench/watch/";
const MEM_PREFIX: &str = "bench/mem/";
const FAILOVER_PREFIX: &str = "bench/failover/";
/// Time given to a server to settle after the memory load before RSS is read.
const SETTLE: Duration = Duration::from_secs(2);

pub const FAILOVER_PRE: &str = "failover: pre-kill put (ops/s)";
pub const FAILOVER_ELECTED: &str = "failover: kill→new leader seen (ms)";
pub const FAILOVER_FIRST: &str = "failover: kill→first write (ms)";
pub const FAILOVER_MIN: &str = "failover: min 100 ms bucket (ops/s)";
pub const FAILOVER_RECOVERY: &str = "failover: recovery to 50% (ms)";

fn log_cell(flavor: Flavor, name: &str, c: &Cell) {
    if name.starts_with("failover") {
        eprintln!("{:>7} | {name:<36} | {}", flavor.name(), c.note.as_deref().unwrap_or(""));
        return;
    }
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
async fn settle(c: &Cluster, cfg: &EtcdBench) {
    if cfg.quiet_wait.is_zero() {
        return;
    }
    if let Some(bg) = stats::wait_quiet(&c.pids(), cfg.quiet_wait, cfg.quiet_below).await {
        if bg >= cfg.quiet_below {
            eprintln!("note: still {bg:.2} cores busy elsewhere after waiting {:?}", cfg.quiet_wait);
        }
    }
}

fn kv_workloads(members: usize) -> Vec<(Kind, Shape)> {
    if members > 1 {
        return CLUSTER_KV.to_vec();
    }
    KV_KINDS.iter().flat_map(|k| SHAPES.iter().map(move |s| (*k, *s))).collect()
}

fn push(out: &mut Vec<(String, Cell)>, flavor: Flavor, name: String, cell: Cell) {
    log_cell(flavor, &name, &cell);
    out.push((name, cell));
}

fn spec(cfg: &EtcdBench, kind: Kind, shape: Shape, limit: Limit, prefix: &str, key_space: u64) -> Spec {
    Spec { kind, shape, limit, prefix: prefix.into(), key_space, value_size: cfg.value_size }
}

/// Runs everything selected against `flavor`, appending each result to `out`
/// as it is measured (so a failure half-way keeps what was measured before it).
pub async fn bench_flavor(
    flavor: Flavor,
    launch: &Launch,
    cfg: &EtcdBench,
    out: &mut Vec<(String, Cell)>,
) -> anyhow::Result<()> {
    let members = usize::from(cfg.members);
    let kv: Vec<(Kind, Shape)> = kv_workloads(members)
        .into_iter()
        .filter(|(k, s)| cfg.selected(&format!("{} {}", k.label(), s.label())))
        .collect();
    let (wname, sname) = watch_names(cfg);
    let watch = cfg.selected(&wname) || cfg.selected(&sname);
    if !kv.is_empty() || watch {
        kv_and_watch(flavor, launch, cfg, &kv, watch, out).await?;
    }
    if members > 1 {
        if [FAILOVER_PRE, FAILOVER_ELECTED, FAILOVER_FIRST, FAILOVER_MIN, FAILOVER_RECOVERY]
            .iter()
            .any(|n| cfg.selected(n))
        {
            for (name, cell) in failover_rows(flavor, launch, cfg).await? {
                push(out, flavor, name, cell);
            }
        }
        return Ok(());
    }

    let load_shape = Shape::new(cfg.load_clients, cfg.load_conns);
    let name = format!("load {} keys×{} B {}, then RSS", cfg.memory_keys, cfg.value_size, load_shape.label());
    if !cfg.selected(&name) {
        return Ok(());
    }
    // Memory: a fresh server holding exactly `memory_keys` keys.
    let c = Cluster::start(flavor, launch, 1).await?;
    let load = spec(cfg, Kind::Load, load_shape, Limit::Ops(cfg.memory_keys), MEM_PREFIX, cfg.memory_keys);
    settle(&c, cfg).await;
    let sample = workload::run(&c.urls(), &c.pids(), &load).await.context("loading keys for the memory measurement")?;
    tokio::time::sleep(SETTLE).await;
    push(out, flavor, name, Cell::from_sample(&sample, c.rss_kib()));
    Ok(())
}

fn watch_names(cfg: &EtcdBench) -> (String, String) {
    (format!("watch {}w put-ack→event", cfg.watch_writers), format!("watch {}w put-send→event", cfg.watch_writers))
}

/// The KV workloads `kv` and (if `watch`) the watch workload, one after the
/// other on one cluster whose key space is loaded first.
async fn kv_and_watch(
    flavor: Flavor,
    launch: &Launch,
    cfg: &EtcdBench,
    kv: &[(Kind, Shape)],
    watch: bool,
    out: &mut Vec<(String, Cell)>,
) -> anyhow::Result<()> {
    let mut c = Cluster::start(flavor, launch, usize::from(cfg.members)).await?;
    if cfg.members > 1 {
        let leader = c.leader().await?;
        eprintln!("{} cluster ready, leader {}, data in {}", flavor.name(), c.name(leader), c.dir().display());
    }
    push(out, flavor, "idle after start".into(), Cell { rss_kib: c.rss_kib(), ..Default::default() });
    // Every key of the key space exists before the reads start.
    let load_shape = Shape::new(cfg.load_clients, cfg.load_conns);
    let preload = spec(cfg, Kind::Load, load_shape, Limit::Ops(cfg.key_space), KV_PREFIX, cfg.key_space);
    workload::run(&c.urls_leader_first().await?, &c.pids(), &preload).await.context("preloading the key space")?;
    for &(kind, shape) in kv {
        let name = format!("{} {}", kind.label(), shape.label());
        settle(&c, cfg).await;
        let s = spec(cfg, kind, shape, cfg.limit(), KV_PREFIX, cfg.key_space);
        let urls = c.urls_leader_first().await?;
        let sample = workload::run(&urls, &c.pids(), &s).await.with_context(|| format!("running {name}"))?;
        c.check_alive()?;
        push(out, flavor, name, Cell::from_sample(&sample, c.rss_kib()));
    }
    if !watch {
        return Ok(());
    }
    let wspec = watch::WatchSpec {
        prefix: WATCH_PREFIX.into(),
        writers: cfg.watch_writers,
        value_size: cfg.value_size,
        warmup: cfg.warmup,
        measure: cfg.duration,
    };
    let (wname, sname) = watch_names(cfg);
    settle(&c, cfg).await;
    let outcome = match c.urls_leader_first().await {
        Ok(urls) => watch::run(&urls, &c.pids(), &wspec).await,
        Err(e) => Err(e),
    };
    let rss = c.rss_kib();
    let (ack, send) = match outcome {
        Ok(watch::WatchOutcome::Measured { ack, send }) => {
            (Cell::from_sample(&ack, rss), Cell::from_sample(&send, rss))
        }
        Ok(watch::WatchOutcome::Unavailable(why)) => (Cell::unavailable(why.clone(), rss), Cell::unavailable(why, rss)),
        Err(e) => {
            let why = format!("watch failed: {e:#}");
            (Cell::unavailable(why.clone(), rss), Cell::unavailable(why, rss))
        }
    };
    push(out, flavor, wname, ack);
    push(out, flavor, sname, send);
    c.check_alive()
}

/// `--failover-runs` runs, each on a fresh cluster; one row per figure.
async fn failover_rows(flavor: Flavor, launch: &Launch, cfg: &EtcdBench) -> anyhow::Result<Vec<(String, Cell)>> {
    if cfg.members < 3 {
        let why =
            format!("needs --members 3 or more (a {}-member cluster has no quorum without its leader)", cfg.members);
        return Ok(vec![(FAILOVER_FIRST.into(), Cell::unavailable(why, None))]);
    }
    let spec = FailoverSpec {
        clients: cfg.failover_clients,
        request_timeout: cfg.failover_timeout,
        prefix: FAILOVER_PREFIX.into(),
        key_space: cfg.key_space,
        value_size: cfg.value_size,
    };
    let mut runs = Vec::new();
    for i in 1..=cfg.failover_runs.max(1) {
        let mut c = Cluster::start(flavor, launch, usize::from(cfg.members)).await?;
        settle(&c, cfg).await;
        let run = failover::run(&mut c, &spec).await.with_context(|| format!("failover run {i}"))?;
        drop(c);
        log_run(flavor, i, cfg.failover_runs, &run);
        runs.push(run);
    }
    Ok(summarize(&runs))
}

fn log_run(flavor: Flavor, i: usize, of: usize, r: &FailoverRun) {
    let a = &r.analysis;
    let ms = |d: Option<Duration>| d.map_or_else(|| "n/a (not within 5 s)".into(), |d| format!("{} ms", d.as_millis()));
    eprintln!(
        "{:>7} | failover run {i}/{of}: killed leader {}, new leader {} seen after {}; pre-kill {:.0} ops/s, \
         first write after {} (writers {}, probes {}), min bucket {:.0} ops/s, back to 50% after {} \
         ({} ms below 50% in all); {} failed/timed-out requests",
        flavor.name(),
        r.killed,
        r.new_leader,
        ms(r.new_leader_after),
        a.pre_kill_ops,
        ms(r.first_write()),
        ms(a.first_write),
        ms(r.first_probe),
        a.min_bucket_ops,
        ms(a.recovery),
        a.below_half.as_millis(),
        r.errors
    );
    let b: Vec<String> = a.buckets.iter().map(u64::to_string).collect();
    let split = b.len().min(10);
    eprintln!("{:>7} |   puts per 100 ms: {} | kill | {}", flavor.name(), b[..split].join(" "), b[split..].join(" "));
}

/// Median (in the value column) and every run's value (in the note) per figure.
fn summarize(runs: &[FailoverRun]) -> Vec<(String, Cell)> {
    let ms = |d: Option<Duration>| d.map(|d| d.as_secs_f64() * 1e3);
    let figures: [(&str, Vec<Option<f64>>, &str); 5] = [
        (FAILOVER_PRE, runs.iter().map(|r| Some(r.analysis.pre_kill_ops)).collect(), "ops/s"),
        (FAILOVER_ELECTED, runs.iter().map(|r| ms(r.new_leader_after)).collect(), "ms"),
        (FAILOVER_FIRST, runs.iter().map(|r| ms(r.first_write())).collect(), "ms"),
        (FAILOVER_MIN, runs.iter().map(|r| Some(r.analysis.min_bucket_ops)).collect(), "ops/s"),
        (FAILOVER_RECOVERY, runs.iter().map(|r| ms(r.analysis.recovery)).collect(), "ms"),
    ];
    figures
        .into_iter()
        .map(|(name, values, unit)| {
            let all: Vec<String> =
                values.iter().map(|v| v.map_or_else(|| ">5000".into(), |v| format!("{v:.0}"))).collect();
            let median = failover::median(&values);
            let note = format!(
                "median {} of {} runs: {} {unit}",
                median.map_or_else(|| "n/a".into(), |m| format!("{m:.0}")),
                values.len(),
                all.join(", ")
            );
            (name.to_string(), Cell { ops_per_sec: median, note: Some(note), ..Default::default() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::bench::failover::Analysis;

    #[test]
    fn cluster_runs_have_the_requested_workloads() {
        let names: Vec<String> = kv_workloads(3).iter().map(|(k, s)| format!("{} {}", k.label(), s.label())).collect();
        assert_eq!(
            names,
            [
                "put 1c/1conn",
                "put 100c/10conn",
                "put 1000c/100conn",
                "range linearizable 100c/10conn",
                "range serializable 100c/10conn",
                "txn-update 100c/10conn"
            ]
        );
        assert_eq!(kv_workloads(1).len(), 12);
    }

    #[test]
    fn failover_summary_reports_median_and_all_runs() {
        let run = |first: Option<u64>| FailoverRun {
            analysis: Analysis {
                pre_kill_ops: 1000.0,
                first_write: first.map(Duration::from_millis),
                min_bucket_ops: 0.0,
                recovery: first.map(Duration::from_millis),
                below_half: Duration::ZERO,
                buckets: Vec::new(),
            },
            new_leader_after: None,
            first_probe: None,
            killed: "n1".into(),
            new_leader: "n2".into(),
            errors: 0,
        };
        let rows = summarize(&[run(Some(1200)), run(None), run(Some(900))]);
        let first = rows.iter().find(|(n, _)| n == FAILOVER_FIRST).map(|(_, c)| c.clone()).unwrap();
        assert_eq!(first.ops_per_sec, Some(1200.0));
        assert_eq!(first.note.as_deref(), Some("median 1200 of 3 runs: 1200, >5000, 900 ms"));
        assert_eq!(rows.len(), 5);
    }
}
