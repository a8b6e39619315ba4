//! The run: one `capstan up` for create, get, update, list, mixed and watch
//! (in that order, each on its own namespace), a fresh one for the S4
//! workloads (`s4.rs`), then fresh servers for the memory measurements. Each result is appended as soon as it is measured, so
//! a failure half-way keeps what came before.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use http::Method;
use serde_json::Value;

use super::super::report::{fmt_dur, fmt_ops};
use super::super::server::Launch;
use super::super::stats;
use super::client::{self, Pool};
use super::load::{self, Limit};
use super::memory::{self, MemoryRun};
use super::proc::ApiProc;
use super::table::{self, Line, MemLine};
use super::watch::{self, WatchSpec};
use super::{mixed, ApiserverBench};

const NS_CRUD: &str = "bench";
const NS_1K: &str = "bench-list-1k";
const NS_10K: &str = "bench-list-10k";
const NS_MIXED: &str = "bench-mixed";
const NS_WATCH: &str = "bench-watch";
/// Pods in the mixed workload's namespace before it starts.
const MIXED_SEED: u64 = 500;
/// The S3 memory target: the API server's RSS with 150,000 pods.
const MEMORY_TARGET_PODS: u64 = 150_000;
const MEMORY_TARGET_BYTES: f64 = 2.0 * 1024.0 * 1024.0 * 1024.0;
const SECOND: Option<Duration> = Some(Duration::from_secs(1));

/// Everything measured so far.
#[derive(Default)]
pub struct Results {
    pub lines: Vec<Line>,
    pub mem: Vec<MemLine>,
}

impl Results {
    pub(super) fn push(&mut self, l: Line) {
        eprintln!(
            "{:<44} | {:>8} ops/s | p50 {:>9} | p99 {:>9} | max {:>9} | CPU/op {:>8} (client {:>8}){}",
            l.workload,
            fmt_ops(l.ops_per_sec),
            fmt_dur(l.p50),
            fmt_dur(l.p99),
            fmt_dur(l.max),
            fmt_dur(l.cpu_per_op),
            fmt_dur(l.client_cpu_per_op),
            if l.notes.is_empty() { String::new() } else { format!(" | {}", l.notes.join("; ")) },
        );
        self.lines.push(l);
    }

    fn push_mem(&mut self, what: impl Into<String>, value: String, target: &str, meets: Option<bool>) {
        let m = MemLine { what: what.into(), value, target: target.into(), meets };
        eprintln!("{:<60} | {}", m.what, m.value);
        self.mem.push(m);
    }
}

/// Waits for the machine to go quiet before a measurement (see `--quiet-wait`).
pub(super) async fn settle(pids: &[u32], cfg: &ApiserverBench) {
    if cfg.quiet_wait.is_zero() {
        return;
    }
    if let Some(bg) = stats::wait_quiet(pids, cfg.quiet_wait, cfg.quiet_below).await {
        if bg >= cfg.quiet_below {
            eprintln!("note: still {bg:.2} cores busy elsewhere after waiting {:?}", cfg.quiet_wait);
        }
    }
}

/// Runs everything selected.
pub async fn bench(cfg: &ApiserverBench, launch: &Launch, out: &mut Results) -> anyhow::Result<()> {
    if ["create", "get", "update", "list", "mixed", "watch"].iter().any(|w| cfg.selected(w)) {
        let mut p = ApiProc::up(launch).await?;
        eprintln!("capstan up: API https://{} (pid {})", p.addr, p.pid());
        let pool = Pool::connect(p.addr, p.tls.clone(), cfg.conns).await?;
        for ns in [NS_CRUD, NS_1K, NS_10K, NS_MIXED, NS_WATCH] {
            client::ensure_namespace(&pool, ns).await?;
        }
        crud(cfg, &p, &pool, out).await?;
        p.check_alive()?;
        if cfg.selected("list") {
            lists(cfg, &p, &pool, out).await?;
            p.check_alive()?;
        }
        if cfg.selected("mixed") {
            mixed_load(cfg, &p, &pool, out).await?;
            p.check_alive()?;
        }
        if cfg.selected("watch") {
            watch_fan_out(cfg, &p, &pool, out).await?;
            p.check_alive()?;
        }
    }
    super::s4::bench(cfg, launch, out).await?;
    if cfg.selected("memory") {
        let up = memory::run(launch, false, cfg.memory_pods, cfg.clients, cfg.conns).await?;
        memory_lines(cfg, "capstan up (etcd + API server, one process)", &up, out);
        if !cfg.no_memory_split {
            let split = memory::run(launch, true, cfg.memory_pods, cfg.clients, cfg.conns).await?;
            memory_lines(cfg, "capstan apiserver (etcd in its own process)", &split, out);
        }
    }
    Ok(())
}

fn shape(cfg: &ApiserverBench) -> String {
    format!("{}c/{}conn", cfg.clients, cfg.conns)
}

/// Create, get and update in the `bench` namespace.
async fn crud(cfg: &ApiserverBench, p: &ApiProc, pool: &Pool, out: &mut Results) -> anyhow::Result<()> {
    if !["create", "get", "update"].iter().any(|w| cfg.selected(w)) {
        return Ok(());
    }
    let pids = p.pids();
    let limit = Limit::Time { warmup: cfg.warmup, measure: cfg.duration };
    settle(&pids, cfg).await;
    let (s, ops) = load::run(load::creates(pool, cfg.clients, NS_CRUD, "c-", true), limit, &pids).await?;
    let names: Vec<String> = ops.into_iter().flat_map(|o| o.created).collect();
    if cfg.selected("create") {
        let ops = s.ops_per_sec();
        out.push(
            Line::from_sample(format!("create pod {}", shape(cfg)), &s)
                .target("≥ 2,000/s", Some(ops >= 2000.0 && s.errors == 0))
                .slo(table::SLO_MUTATING, SECOND),
        );
    }
    anyhow::ensure!(!names.is_empty(), "no pod was created; cannot run get or update");
    let names = Arc::new(names);
    if cfg.selected("get") {
        settle(&pids, cfg).await;
        let (s, _) = load::run(load::gets(pool, cfg.clients, NS_CRUD, names.clone()), limit, &pids).await?;
        let p99_ok = s.latency.quantile(0.99).is_some_and(|p| p < Duration::from_millis(20));
        out.push(
            Line::from_sample(format!("get pod {} (of {} pods)", shape(cfg), names.len()), &s)
                .target("≥ 10,000/s, p99 < 20 ms", Some(s.ops_per_sec() >= 10_000.0 && p99_ok && s.errors == 0))
                .slo(table::SLO_GET, SECOND),
        );
    }
    if cfg.selected("update") {
        settle(&pids, cfg).await;
        let uri = load::pods_uri(pool, NS_CRUD);
        let clients = cfg.clients.min(names.len());
        let ops: Vec<load::Update> = (0..clients).map(|c| load::Update::new(pool.sender(c), &uri, &names[c])).collect();
        let (s, ops) = load::run(ops, limit, &pids).await?;
        let conflicts: u64 = ops.iter().map(|o| o.conflicts).sum();
        let mut line = Line::from_sample(format!("update pod (PUT with resourceVersion) {clients}c"), &s)
            .slo(table::SLO_MUTATING, SECOND);
        if conflicts > 0 {
            line = line.note(format!("{conflicts} unexpected 409 conflicts (each client updates its own pod)"));
        }
        out.push(line);
    }
    Ok(())
}

/// Loads exactly 1,000 and 10,000 pods into their namespaces and lists them.
async fn lists(cfg: &ApiserverBench, p: &ApiProc, pool: &Pool, out: &mut Results) -> anyhow::Result<()> {
    let pids = p.pids();
    for (ns, n) in [(NS_1K, 1_000u64), (NS_10K, 10_000)] {
        let (s, _) = load::run(load::creates(pool, cfg.clients, ns, "l-", false), Limit::Count(n), &pids).await?;
        anyhow::ensure!(s.errors == 0, "loading {n} pods into {ns}: {}", s.first_error.unwrap_or_default());
        out.push(
            Line::from_sample(format!("create pod: load {n} pods {}", shape(cfg)), &s).slo(table::SLO_MUTATING, SECOND),
        );
    }
    for (ns, n) in [(NS_1K, 1_000usize), (NS_10K, 10_000)] {
        for (rv0, label) in [(false, "consistent"), (true, "resourceVersion=0")] {
            settle(&pids, cfg).await;
            let query = if rv0 { "?resourceVersion=0" } else { "" };
            let path = format!("/api/v1/namespaces/{ns}/pods{query}");
            // One untimed LIST first: checks the count and warms whatever the server caches.
            load::check_list(pool, &path, n).await?;
            let ops = load::lists(pool, cfg.list_clients, &path);
            let (s, ops) = load::run(ops, Limit::Count(cfg.list_requests), &pids).await?;
            let bytes = ops.iter().map(|o| o.bytes).max().unwrap_or(0);
            let name = format!("list {n} pods, {label} ({}c)", cfg.list_clients.max(1));
            out.push(Line::from_sample(name, &s).slo(table::SLO_LIST_NS, Some(Duration::from_secs(5))).note(format!(
                "{} requests, {} per response",
                s.ops,
                table::fmt_bytes(bytes as f64)
            )));
        }
    }
    Ok(())
}

/// Open-loop creates + updates + deletes at `--mixed-rate`.
async fn mixed_load(cfg: &ApiserverBench, p: &ApiProc, pool: &Pool, out: &mut Results) -> anyhow::Result<()> {
    let pids = p.pids();
    let (s, _) =
        load::run(load::creates(pool, cfg.clients, NS_MIXED, "seed-", false), Limit::Count(MIXED_SEED), &pids).await?;
    anyhow::ensure!(s.errors == 0, "seeding {NS_MIXED}: {}", s.first_error.unwrap_or_default());
    let list = client::call(&mut pool.sender(0), Method::GET, &load::pods_uri(pool, NS_MIXED), None).await?;
    list.expect(&[200], "listing the mixed workload's seed")?;
    let seed: Vec<Value> = list
        .json()?
        .get_mut("items")
        .map(Value::take)
        .and_then(|v| match v {
            Value::Array(a) => Some(a),
            _ => None,
        })
        .context("the seed list has no items")?;
    settle(&pids, cfg).await;
    let m = mixed::run(pool, NS_MIXED, seed, cfg.mixed_rate, cfg.mixed_duration, &pids).await?;
    let p99_ok = m.all.latency.quantile(0.99).is_some_and(|p| p < Duration::from_millis(100));
    let target = format!("p99 < 100 ms at {} req/s", cfg.mixed_rate);
    let name = format!("mixed create/update/delete at {} req/s (open loop)", cfg.mixed_rate);
    let mut line = Line::from_sample(name, &m.all)
        .target(target, Some(p99_ok && m.all.errors == 0))
        .slo(table::SLO_MUTATING, SECOND)
        .note(format!("issued {:.0} req/s; scheduler lag up to {}", m.issued_per_sec, fmt_dur(Some(m.max_lag))));
    for (k, l) in ["create", "update", "delete"].iter().zip(m.by_kind.iter()) {
        line = line.note(format!("{k}: p50 {} p99 {}", fmt_dur(l.quantile(0.5)), fmt_dur(l.quantile(0.99))));
    }
    out.push(line);
    Ok(())
}

/// Watch fan-out in its own namespace.
async fn watch_fan_out(cfg: &ApiserverBench, p: &ApiProc, pool: &Pool, out: &mut Results) -> anyhow::Result<()> {
    let pids = p.pids();
    let watch_pool = Pool::connect(p.addr, p.tls.clone(), cfg.watch_conns).await?;
    let spec = WatchSpec {
        ns: NS_WATCH.into(),
        watchers: cfg.watchers,
        events: cfg.watch_events,
        rate: cfg.watch_rate,
        drain: Duration::from_secs(30),
    };
    settle(&pids, cfg).await;
    let w = watch::run(pool, &watch_pool, &spec, &pids).await?;
    let all = w.delivered == w.expected;
    let base = format!("watch {} streams/{} conns, {} creates", cfg.watchers, watch_pool.conns(), cfg.watch_events);
    let mut notes = vec![
        format!(
            "{}/{} events delivered, {}/{} watchers got every event",
            w.delivered, w.expected, w.complete, cfg.watchers
        ),
        format!("{}/{} streams established in {}", w.established, cfg.watchers, fmt_dur(Some(w.setup))),
    ];
    if let Some(e) = &w.first_error {
        notes.push(format!("first error: {e}"));
    }
    let per_event = |d: Duration| d / u32::try_from(w.delivered).unwrap_or(u32::MAX);
    let cpu = w.cpu.filter(|_| w.delivered > 0);
    for (label, lat) in [("create-ack→event", &w.ack_to_event), ("create-send→event", &w.send_to_event)] {
        let mut line = Line {
            workload: format!("{base}: {label}"),
            ops_per_sec: Some(w.events_per_sec),
            p50: lat.quantile(0.5),
            p99: lat.quantile(0.99),
            max: lat.quantile(1.0),
            cpu_per_op: cpu.map(|c| per_event(c.server)),
            client_cpu_per_op: cpu.map(|c| per_event(c.bench)),
            slo: table::SLO_NONE,
            ..Default::default()
        }
        .target("every watcher gets every event", Some(all));
        if label.starts_with("create-ack") {
            line.notes = notes.clone();
        }
        out.push(line);
    }
    Ok(())
}

fn mib(kib: u64) -> String {
    table::fmt_bytes(kib as f64 * 1024.0)
}

/// Memory rows for one run (`what` names the process measured).
fn memory_lines(cfg: &ApiserverBench, what: &str, m: &MemoryRun, out: &mut Results) {
    let pods = cfg.memory_pods;
    out.push(
        Line::from_sample(format!("create pod: load {pods} pods, {what}"), &m.load).slo(table::SLO_MUTATING, SECOND),
    );
    let target = format!("< 2 GiB at {MEMORY_TARGET_PODS} pods");
    let proj = m.api.projected_bytes(pods, MEMORY_TARGET_PODS);
    out.push_mem(
        format!("{what}: RSS idle → with {pods} pods"),
        format!("{} → {}", mib(m.api.before), mib(m.api.after)),
        "",
        None,
    );
    out.push_mem(format!("{what}: RSS growth per pod"), table::fmt_bytes(m.api.bytes_per_pod(pods)), "", None);
    out.push_mem(
        format!("{what}: RSS projected at {MEMORY_TARGET_PODS} pods"),
        table::fmt_bytes(proj),
        &target,
        Some(proj < MEMORY_TARGET_BYTES),
    );
    if let Some(e) = m.etcd {
        out.push_mem(
            format!("capstan etcd: RSS idle → with {pods} pods"),
            format!("{} → {}", mib(e.before), mib(e.after)),
            "",
            None,
        );
        out.push_mem("capstan etcd: RSS growth per pod", table::fmt_bytes(e.bytes_per_pod(pods)), "", None);
        let (a, b) = (m.api.bytes_per_pod(pods), e.bytes_per_pod(pods));
        if a + b > 0.0 {
            out.push_mem(
                "etcd's share of the growth per pod (split run)",
                format!("{:.0} %", b / (a + b) * 100.0),
                "",
                None,
            );
        }
    }
}
