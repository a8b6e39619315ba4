//! The S4 workloads on a fresh `capstan up` (so what the S3 workloads loaded
//! does not weigh on them): `ssa` (apply vs update vs no-op re-apply of
//! Deployments) and `crd` (CRD served time, custom object vs ConfigMap
//! creates, LISTs of both). There is no kube-apiserver here, so the figures
//! that matter are the ratios within one run.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use http::Method;

use super::super::report::{fmt_dur, fmt_ratio};
use super::super::server::Launch;
use super::super::stats::{Latency, Sample};
use super::client::{self, Pool};
use super::load::{self, Limit};
use super::proc::ApiProc;
use super::suite::{settle, Results};
use super::table::{self, Line};
use super::{crd, ssa, ApiserverBench};

const SECOND: Option<Duration> = Some(Duration::from_secs(1));

/// Runs `ssa` and `crd` if selected.
pub async fn bench(cfg: &ApiserverBench, launch: &Launch, out: &mut Results) -> anyhow::Result<()> {
    if !cfg.selected("ssa") && !cfg.selected("crd") {
        return Ok(());
    }
    let mut p = ApiProc::up(launch).await?;
    eprintln!("capstan up (S4): API https://{} (pid {})", p.addr, p.pid());
    let pool = Pool::connect(p.addr, p.tls.clone(), cfg.conns).await?;
    for ns in [ssa::NS, crd::NS_CR, crd::NS_CM, crd::NS_WARM] {
        client::ensure_namespace(&pool, ns).await?;
    }
    if cfg.selected("ssa") {
        apply_vs_update(cfg, &p, &pool, out).await?;
        p.check_alive()?;
    }
    if cfg.selected("crd") {
        custom_resources(cfg, &p, &pool, out).await?;
        p.check_alive()?;
    }
    Ok(())
}

/// `a / b` of two optional durations, as `1.23×`.
fn dur_ratio(a: Option<Duration>, b: Option<Duration>) -> String {
    fmt_ratio(a.map(|d| d.as_secs_f64()), b.map(|d| d.as_secs_f64()))
}

/// "x/y: ops/s 0.80×, p50 1.20×, p99 1.30×, server CPU/op 1.40×".
fn ratios(what: &str, a: &Line, b: &Line) -> String {
    format!(
        "{what}: ops/s {}, p50 {}, p99 {}, server CPU/op {}",
        fmt_ratio(a.ops_per_sec, b.ops_per_sec),
        dur_ratio(a.p50, b.p50),
        dur_ratio(a.p99, b.p99),
        dur_ratio(a.cpu_per_op, b.cpu_per_op),
    )
}

/// (a) apply, (b) PUT update, (c) no-op re-apply, each client on its own Deployment.
async fn apply_vs_update(cfg: &ApiserverBench, p: &ApiProc, pool: &Pool, out: &mut Results) -> anyhow::Result<()> {
    let pids = p.pids();
    let limit = Limit::Time { warmup: cfg.warmup, measure: cfg.duration };
    let clients = cfg.clients.max(1);
    let uri = ssa::deployments_uri(pool, ssa::NS);
    let ns: Arc<str> = ssa::NS.into();
    let mut applies = Vec::with_capacity(clients);
    for c in 0..clients {
        let mut a = ssa::Apply::new(pool.sender(c), &uri, ns.clone(), format!("apply-{c:04}"));
        a.create().await?;
        applies.push(a);
        ssa::post(&mut pool.sender(c), &uri, ssa::NS, &format!("put-{c:04}")).await?;
    }
    let manifest = ssa::deployment(ssa::NS, "apply-0000", 1).to_string().len();

    settle(&pids, cfg).await;
    let (s_apply, applies) = load::run(applies, limit, &pids).await?;
    let conflicts: u64 = applies.iter().map(|a| a.conflicts).sum();
    let (stored, mf_entries, mf_bytes) = ssa::stored_shape(&mut pool.sender(0), &format!("{uri}/apply-0000")).await?;
    let updates: Vec<load::Update> =
        (0..clients).map(|c| load::Update::new(pool.sender(c), &uri, &format!("put-{c:04}"))).collect();
    let (s_update, updates) = load::run(updates, limit, &pids).await?;
    let update_conflicts: u64 = updates.iter().map(|u| u.conflicts).sum();

    let mut noops = applies;
    for a in &mut noops {
        a.noop = true;
    }
    let (s_noop, noops) = load::run(noops, limit, &pids).await?;
    // Each client's first response set its baseline; a later GET must still show it.
    let mut unchanged = 0usize;
    let mut rv_changes: u64 = noops.iter().map(|a| a.rv_changes).sum();
    for a in &noops {
        let r = client::call(&mut pool.sender(0), Method::GET, &format!("{uri}/{}", a.name), None).await?;
        r.expect(&[200], "get deployment")?;
        let rv = ssa::resource_version(&r.json()?)?;
        match &a.first_rv {
            Some(first) if *first == rv => unchanged += 1,
            Some(_) => rv_changes += 1,
            None => {}
        }
    }
    let no_write = unchanged == noops.len() && rv_changes == 0 && s_noop.errors == 0;
    eprintln!(
        "check: no-op re-apply kept the resourceVersion of {unchanged}/{} Deployments over {} re-applies \
         ({rv_changes} changes): {}",
        noops.len(),
        s_noop.ops,
        if no_write { "ok" } else { "FAILED" }
    );

    let name = |what: &str| format!("{what} deployment {clients}c");
    let mut apply = Line::from_sample(name("server-side apply (1 label changed)"), &s_apply)
        .slo(table::SLO_MUTATING, SECOND)
        .note(format!(
            "applied manifest {}; stored object {} with {mf_entries} managedFields entries ({})",
            table::fmt_bytes(manifest as f64),
            table::fmt_bytes(stored as f64),
            table::fmt_bytes(mf_bytes as f64)
        ));
    if conflicts > 0 {
        apply = apply.note(format!("{conflicts} unexpected 409 conflicts"));
    }
    let mut update = Line::from_sample(name("update (PUT with resourceVersion, 1 label changed)"), &s_update)
        .slo(table::SLO_MUTATING, SECOND);
    if update_conflicts > 0 {
        update =
            update.note(format!("{update_conflicts} unexpected 409 conflicts (each client updates its own object)"));
    }
    let noop = Line::from_sample(name("server-side apply, no-op re-apply (same body)"), &s_noop)
        .target("no write: resourceVersion unchanged", Some(no_write))
        .slo(table::SLO_MUTATING, SECOND)
        .note(format!(
            "resourceVersion unchanged on {unchanged}/{} objects over {} re-applies",
            noops.len(),
            s_noop.ops
        ));
    let note = ratios("no-op apply/apply", &noop, &apply);
    let noop = noop.note(note);
    let note = ratios("apply/update", &apply, &update);
    let apply = apply.note(note);
    out.push(apply);
    out.push(update);
    out.push(noop);
    Ok(())
}

/// A row of latencies without a throughput (the CRD served times).
fn latency_line(workload: String, lat: &Latency) -> Line {
    Line {
        workload,
        ops_per_sec: None,
        p50: lat.quantile(0.5),
        p99: lat.quantile(0.99),
        max: lat.quantile(1.0),
        slo: table::SLO_NONE,
        ..Default::default()
    }
}

fn ensure_clean(s: &Sample, what: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        s.errors == 0,
        "{what}: {} errors (first: {})",
        s.errors,
        s.first_error.clone().unwrap_or_default()
    );
    Ok(())
}

/// CRD served time, custom object vs ConfigMap creates, LISTs of both.
async fn custom_resources(cfg: &ApiserverBench, p: &ApiProc, pool: &Pool, out: &mut Results) -> anyhow::Result<()> {
    let pids = p.pids();
    let n = cfg.crd_objects.max(1);
    let shape = format!("{}c/{}conn", cfg.clients.max(1), cfg.conns);

    let mut served = Latency::new()?;
    let mut posts = Latency::new()?;
    let mut misses = 0;
    for i in 0..cfg.crds.max(1) {
        let s = crd::create_and_wait(pool, i, crd::NS_CR).await?;
        eprintln!(
            "CRD {}.{}: POST {}, served after {} ({} polls answered non-200)",
            crd::names(i).0,
            crd::GROUP,
            fmt_dur(Some(s.post)),
            fmt_dur(Some(s.served)),
            s.misses
        );
        served.record(s.served);
        posts.record(s.post);
        misses += s.misses;
    }
    out.push(
        latency_line(
            format!("CRD create → served (GET of its list 200), {} CRDs one at a time", cfg.crds.max(1)),
            &served,
        )
        .note(format!(
            "the POST itself: p50 {}, max {}; polled every {} ms ({misses} non-200 answers in all)",
            fmt_dur(posts.quantile(0.5)),
            fmt_dur(posts.quantile(1.0)),
            1
        )),
    );

    let pad = crd::matching_pad();
    let body = crd::gizmo(crd::NS_CR, "o-0000000", 3).to_string().len();
    let cr_path = crd::cr_path(0, crd::NS_CR);
    let cm_path = crd::cm_path(crd::NS_CM);
    let clients = cfg.clients.max(1);
    // Warm both paths (first CEL program, caches) in a namespace the LISTs do not read.
    let warm = Limit::Count(clients as u64 * 2);
    for (path, kind) in
        [(crd::cr_path(0, crd::NS_WARM), crd::Kind::Gizmo), (crd::cm_path(crd::NS_WARM), crd::Kind::ConfigMap { pad })]
    {
        let (s, _) = load::run(crd::posts(pool, clients, &path, crd::NS_WARM, "w-", kind), warm, &pids).await?;
        ensure_clean(&s, "warm-up creates")?;
    }
    settle(&pids, cfg).await;
    let ops = crd::posts(pool, clients, &cr_path, crd::NS_CR, "o-", crd::Kind::Gizmo);
    let (s_cr, _) = load::run(ops, Limit::Count(n), &pids).await?;
    ensure_clean(&s_cr, "creating custom objects")?;
    let ops = crd::posts(pool, clients, &cm_path, crd::NS_CM, "o-", crd::Kind::ConfigMap { pad });
    let (s_cm, _) = load::run(ops, Limit::Count(n), &pids).await?;
    ensure_clean(&s_cm, "creating ConfigMaps")?;
    let (cel, defaulted) = crd::check_semantics(pool, crd::NS_CR, "o-0000000").await?;
    eprintln!(
        "check: CEL rule `{}` rejects a breaking object: {}; default spec.tier applied: {}",
        crd::RULE,
        if cel { "ok" } else { "FAILED" },
        if defaulted { "ok" } else { "FAILED" }
    );

    let cr = Line::from_sample(format!("create custom object (13-field schema, CEL rule): {n} {shape}"), &s_cr)
        .target("CEL rule enforced, default applied", Some(cel && defaulted))
        .slo(table::SLO_MUTATING, SECOND);
    let cm = Line::from_sample(format!("create ConfigMap of the same size: {n} {shape}"), &s_cm)
        .slo(table::SLO_MUTATING, SECOND);
    let note = ratios("custom object/ConfigMap", &cr, &cm);
    let cr = cr.note(format!("{} bodies for both kinds", table::fmt_bytes(body as f64))).note(note);
    out.push(cr);
    out.push(cm);

    settle(&pids, cfg).await;
    let n_items = usize::try_from(n).context("object count")?;
    let mut rows = Vec::new();
    for (path, what) in [(cr_path, "custom objects"), (cm_path, "ConfigMaps")] {
        load::check_list(pool, &path, n_items).await?;
        let (s, ops) =
            load::run(load::lists(pool, cfg.list_clients, &path), Limit::Count(cfg.list_requests), &pids).await?;
        let bytes = ops.iter().map(|o| o.bytes).max().unwrap_or(0);
        rows.push(
            Line::from_sample(format!("list {n} {what}, consistent ({}c)", cfg.list_clients.max(1)), &s)
                .slo(table::SLO_LIST_NS, Some(Duration::from_secs(5)))
                .note(format!("{} requests, {} per response", s.ops, table::fmt_bytes(bytes as f64))),
        );
    }
    if let [cr_list, cm_list] = &mut rows[..] {
        let note = ratios("custom object/ConfigMap list", cr_list, cm_list);
        cr_list.notes.push(note);
    }
    for r in rows {
        out.push(r);
    }
    Ok(())
}
