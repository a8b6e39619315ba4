//! `capstan bench apiserver`: the Kubernetes API server under load. Starts
//! `capstan up` (this binary, re-executed) on free ports in a temp dir and
//! drives it over HTTP/2 (TLS, the admin client certificate) from this process:
//! pod create, get, update (PUT with resourceVersion), LIST of 1,000 and 10,000
//! pods (consistent and `resourceVersion=0`), an open-loop mixed mutating load,
//! watch fan-out to many streams, and RSS per stored pod (also with etcd in its
//! own process). Prints each figure next to its S3 target and kube-apiserver's
//! published SLO. S4 (`ssa`, `crd`, on a fresh server): server-side apply
//! against PUT and a no-op re-apply of Deployments; a CRD's time to be served,
//! custom object creates against ConfigMaps of the same size, and their LISTs.

mod client;
mod crd;
mod load;
mod memory;
mod mixed;
mod pod;
mod proc;
mod s4;
mod ssa;
mod suite;
mod table;
mod watch;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::parse_duration;
use super::server::Launch;

#[derive(Debug, Clone, Args)]
pub struct ApiserverBench {
    /// Short smoke run (~1 min): 2 s per workload, fewer lists and watch events, 10,000 memory pods,
    /// 2 CRDs and 1,000 custom objects.
    #[arg(long)]
    quick: bool,
    /// Concurrent clients of the create/get/update workloads and the loads.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// HTTP/2 connections the clients share.
    #[arg(long, default_value_t = 10)]
    conns: usize,
    /// Measured time per create/get/update workload.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Unmeasured warm-up before each timed workload.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    warmup: Duration,
    /// LIST requests per list row.
    #[arg(long, default_value_t = 40)]
    list_requests: u64,
    /// Concurrent LIST clients (1: the latency of one LIST at a time).
    #[arg(long, default_value_t = 1)]
    list_clients: usize,
    /// Requests per second of the mixed (create/update/delete) open-loop load.
    #[arg(long, default_value_t = 1000.0)]
    mixed_rate: f64,
    /// How long the mixed load runs.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    mixed_duration: Duration,
    /// Concurrent watch streams in the fan-out workload.
    #[arg(long, default_value_t = 1000)]
    watchers: usize,
    /// Connections the watch streams share.
    #[arg(long, default_value_t = 100)]
    watch_conns: usize,
    /// Pods created while the watchers listen.
    #[arg(long, default_value_t = 200)]
    watch_events: usize,
    /// Creates per second while the watchers listen.
    #[arg(long, default_value_t = 20.0)]
    watch_rate: f64,
    /// Pods loaded before the memory (RSS) measurement.
    #[arg(long, default_value_t = 150_000)]
    memory_pods: u64,
    /// Skip the second memory run (etcd and the API server as two processes).
    #[arg(long)]
    no_memory_split: bool,
    /// CRDs created one at a time for the "CRD create → served" row (S4).
    #[arg(long, default_value_t = 5)]
    crds: usize,
    /// Custom objects (and ConfigMaps) created and listed by the crd workload (S4).
    #[arg(long, default_value_t = 5000)]
    crd_objects: u64,
    /// Run only these workloads (comma-separated): create,get,update,list,mixed,watch,memory (S3), ssa,crd (S4).
    #[arg(long, value_delimiter = ',')]
    filter: Vec<String>,
    /// Also write the report (Markdown) to this file.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Where the temporary data dirs go (defaults to the system temp dir).
    #[arg(long)]
    data_root: Option<PathBuf>,
    /// Before each workload, wait up to this long for other processes to go quiet.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    quiet_wait: Duration,
    /// "Quiet" means other processes keep fewer than this many cores busy.
    #[arg(long, default_value_t = 0.2)]
    quiet_below: f64,
}

impl ApiserverBench {
    fn effective(mut self) -> Self {
        if self.quick {
            self.duration = Duration::from_secs(2);
            self.warmup = Duration::from_millis(500);
            self.list_requests = self.list_requests.min(12);
            self.mixed_duration = Duration::from_secs(5);
            self.watch_events = self.watch_events.min(50);
            self.memory_pods = self.memory_pods.min(10_000);
            self.crds = self.crds.min(2);
            self.crd_objects = self.crd_objects.min(1000);
            self.quiet_wait = Duration::ZERO;
        }
        self
    }

    fn selected(&self, workload: &str) -> bool {
        self.filter.is_empty() || self.filter.iter().any(|f| workload.contains(f.trim()))
    }
}

pub fn run(cfg: ApiserverBench) -> anyhow::Result<()> {
    let cfg = cfg.effective();
    if cfg!(debug_assertions) {
        eprintln!("warning: this is a debug build; build with --release for meaningful numbers");
    }
    let launch = Launch {
        etcd_bin: PathBuf::from("/usr/bin/etcd"),
        capstan_bin: std::env::current_exe().context("locating the capstan binary")?,
        data_root: cfg.data_root.clone().unwrap_or_else(std::env::temp_dir),
    };
    let load_before = loadavg();
    let started = std::time::Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut results = suite::Results::default();
    let outcome = rt.block_on(async {
        tokio::select! {
            r = suite::bench(&cfg, &launch, &mut results) => Ok(r),
            sig = super::interrupted() => Err(sig),
        }
    });
    let failed = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(format!("{e:#}")),
        Err(sig) => Some(format!("interrupted by {sig}; servers stopped")),
    };
    let mut out =
        format!("{}\n{}", preamble(&cfg, &load_before, started.elapsed()), table::render(&results.lines, &results.mem));
    if let Some(f) = &failed {
        eprintln!("error: {f}");
        out.push_str(&format!("\nIncomplete: {f}\n"));
    }
    println!("{out}");
    if let Some(path) = &cfg.output {
        std::fs::write(path, &out).with_context(|| format!("writing {}", path.display()))?;
    }
    match failed {
        None => Ok(()),
        Some(_) => anyhow::bail!("the benchmark did not complete (see above)"),
    }
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn preamble(cfg: &ApiserverBench, load_before: &str, took: Duration) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().find_map(|l| {
                l.strip_prefix("MemTotal:").and_then(|r| r.split_whitespace().next()?.parse::<u64>().ok())
            })
        })
        .map_or_else(|| "?".into(), |kib| format!("{:.1}", kib as f64 / (1024.0 * 1024.0)));
    let s4 = if cfg.selected("ssa") || cfg.selected("crd") {
        format!(
            "S4 (fresh `capstan up`): ssa — {} clients each apply (PATCH application/apply-patch+yaml, \
             fieldManager=bench), PUT-update (GET once, then PUT with resourceVersion) and re-apply unchanged \
             their own ~2.3 KB Deployment, {:?} each after {:?} warm-up; crd — {} CRDs created one at a time and \
             polled every 1 ms until their list answers 200, then {} custom objects (13-field schema with a \
             default, an enum, a pattern and a CEL rule) and {} ConfigMaps of the same byte size created by {} \
             clients after {} untimed creates of each elsewhere, and {} LISTs of each.\n",
            cfg.clients,
            cfg.duration,
            cfg.warmup,
            cfg.crds,
            cfg.crd_objects,
            cfg.crd_objects,
            cfg.clients,
            cfg.clients * 2,
            cfg.list_requests,
        )
    } else {
        String::new()
    };
    format!(
        "capstan bench apiserver{}: {cores} cores, {mem_gib} GiB RAM; load average {load_before} before, {} after; \
         took {:.0} s. `capstan up` (embedded etcd + API server, one process) on loopback, HTTPS with the admin \
         client certificate, HTTP/2; load generator in this process ({} clients on {} connections; {:?} measured \
         after {:?} warm-up per create/get/update workload). Pods are ~1.7 KB manifests (labels, annotations, one \
         container with resources, env, ports, probe, volume). LIST: {} requests per row, {} at a time, whole \
         namespace, no limit, after one untimed LIST that checks the item count. Mixed: open loop at {} req/s for {:?} (create, update, delete in turn; latency from \
         the due time). Watch: {} streams on {} connections, {} creates at {}/s, latency per watcher and event. \
         kube-apiserver SLOs (sig-scalability): mutating and get p99 ≤ 1 s, list p99 ≤ 5 s (namespace) / \
         ≤ 30 s (cluster); measured here on a single small machine shared with the load generator.\n{s4}",
        if cfg.quick { " --quick" } else { "" },
        loadavg(),
        took.as_secs_f64(),
        cfg.clients,
        cfg.conns,
        cfg.duration,
        cfg.warmup,
        cfg.list_requests,
        cfg.list_clients,
        cfg.mixed_rate,
        cfg.mixed_duration,
        cfg.watchers,
        cfg.watch_conns,
        cfg.watch_events,
        cfg.watch_rate,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        b: ApiserverBench,
    }

    #[test]
    fn quick_shrinks_the_run() {
        let b = T::parse_from(["t", "--quick"]).b.effective();
        assert_eq!(b.duration, Duration::from_secs(2));
        assert_eq!(b.memory_pods, 10_000);
        assert_eq!(b.watch_events, 50);
        assert_eq!(b.quiet_wait, Duration::ZERO);
        let full = T::parse_from(["t"]).b.effective();
        assert_eq!(full.memory_pods, 150_000);
        assert_eq!(full.watchers, 1000);
        assert_eq!(full.mixed_rate, 1000.0);
    }

    #[test]
    fn filter_selects_workloads() {
        let b = T::parse_from(["t", "--filter", "list,watch"]).b;
        assert!(b.selected("list") && b.selected("watch"));
        assert!(!b.selected("create") && !b.selected("memory") && !b.selected("ssa"));
        let s4 = T::parse_from(["t", "--filter", "ssa,crd"]).b;
        assert!(s4.selected("ssa") && s4.selected("crd"));
        assert!(["create", "get", "update", "list", "mixed", "watch", "memory"].iter().all(|w| !s4.selected(w)));
        assert!(T::parse_from(["t"]).b.selected("memory"));
    }
}
