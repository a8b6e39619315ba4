//! The report: one row per workload with its figures, the S3 target it is
//! held to and kube-apiserver's published SLO for that kind of call, then the
//! memory figures; Markdown tables followed by notes.

use std::fmt::Write as _;
use std::time::Duration;

use super::super::report::{fmt_dur, fmt_ops};
use super::super::stats::Sample;

/// Background load (cores) above which a row gets a "noisy" note.
const NOISY_CORES: f64 = 0.25;

/// kube-apiserver's API call latency SLOs (sig-scalability), by kind of call.
pub const SLO_MUTATING: &str = "mutating p99 ≤ 1 s";
pub const SLO_GET: &str = "get p99 ≤ 1 s";
pub const SLO_LIST_NS: &str = "list (namespace) p99 ≤ 5 s";
pub const SLO_NONE: &str = "none published";

/// One workload's row.
#[derive(Clone, Debug, Default)]
pub struct Line {
    pub workload: String,
    pub ops_per_sec: Option<f64>,
    pub p50: Option<Duration>,
    pub p99: Option<Duration>,
    pub max: Option<Duration>,
    pub cpu_per_op: Option<Duration>,
    /// The load generator's (this process's) CPU per op: it shares the machine.
    pub client_cpu_per_op: Option<Duration>,
    pub target: String,
    pub meets_target: Option<bool>,
    pub slo: &'static str,
    pub meets_slo: Option<bool>,
    pub notes: Vec<String>,
}

impl Line {
    /// A row from a sample: throughput, percentiles, server CPU per op, and
    /// notes for errors and background noise.
    pub fn from_sample(workload: impl Into<String>, s: &Sample) -> Line {
        let mut notes = Vec::new();
        if s.errors > 0 {
            notes.push(format!("{} errors (first: {})", s.errors, s.first_error.as_deref().unwrap_or("unknown")));
        }
        if let Some(bg) = s.cpu.map(|c| c.background_cores).filter(|bg| *bg > NOISY_CORES) {
            notes.push(format!("noisy: other processes kept {bg:.2} cores busy"));
        }
        let per_op = |d: Duration| d / u32::try_from(s.ops).unwrap_or(u32::MAX);
        let cpu = s.cpu.filter(|_| s.ops > 0);
        Line {
            workload: workload.into(),
            ops_per_sec: Some(s.ops_per_sec()),
            p50: s.latency.quantile(0.50),
            p99: s.latency.quantile(0.99),
            max: s.latency.quantile(1.0),
            cpu_per_op: cpu.map(|c| per_op(c.server)),
            client_cpu_per_op: cpu.map(|c| per_op(c.bench)),
            notes,
            ..Default::default()
        }
    }

    /// Sets the target text and whether it was met.
    pub fn target(mut self, text: impl Into<String>, met: Option<bool>) -> Line {
        self.target = text.into();
        self.meets_target = met;
        self
    }

    /// Sets the SLO; met when p99 ≤ `limit`.
    pub fn slo(mut self, slo: &'static str, limit: Option<Duration>) -> Line {
        self.slo = slo;
        self.meets_slo = limit.and_then(|l| self.p99.map(|p| p <= l));
        self
    }

    pub fn note(mut self, n: impl Into<String>) -> Line {
        self.notes.push(n.into());
        self
    }
}

/// One memory figure.
#[derive(Clone, Debug, Default)]
pub struct MemLine {
    pub what: String,
    pub value: String,
    pub target: String,
    pub meets: Option<bool>,
}

pub fn yes_no(v: Option<bool>) -> String {
    match v {
        Some(true) => "yes".into(),
        Some(false) => "**no**".into(),
        None => "—".into(),
    }
}

pub fn fmt_bytes(b: f64) -> String {
    const KIB: f64 = 1024.0;
    if !b.is_finite() {
        "n/a".into()
    } else if b >= KIB * KIB * KIB {
        format!("{:.2} GiB", b / (KIB * KIB * KIB))
    } else if b >= KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else if b >= KIB {
        format!("{:.1} KiB", b / KIB)
    } else {
        format!("{b:.0} B")
    }
}

/// A Markdown table; the first column left-aligned, the rest right-aligned.
pub fn markdown(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(widths.len()) {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    let head: Vec<String> = header.iter().map(|s| s.to_string()).collect();
    for (n, line) in std::iter::once(&head).chain(rows.iter()).enumerate() {
        out.push('|');
        for (i, w) in widths.iter().enumerate() {
            let cell = line.get(i).map_or("", String::as_str);
            let pad = " ".repeat(w - cell.chars().count().min(*w));
            if i == 0 {
                let _ = write!(out, " {cell}{pad} |");
            } else {
                let _ = write!(out, " {pad}{cell} |");
            }
        }
        out.push('\n');
        if n == 0 {
            out.push('|');
            for (i, w) in widths.iter().enumerate() {
                let dashes = "-".repeat((*w).max(2));
                if i == 0 {
                    let _ = write!(out, " {dashes} |");
                } else {
                    let _ = write!(out, " {}: |", &dashes[1..]);
                }
            }
            out.push('\n');
        }
    }
    out
}

const HEADER: [&str; 11] = [
    "workload",
    "ops/s",
    "p50",
    "p99",
    "max",
    "server CPU/op",
    "client CPU/op",
    "S3 target",
    "meets target",
    "kube-apiserver SLO",
    "meets SLO",
];

/// Renders the workload rows, the memory rows and the notes.
pub fn render(lines: &[Line], mem: &[MemLine]) -> String {
    let rows: Vec<Vec<String>> = lines
        .iter()
        .map(|l| {
            vec![
                l.workload.clone(),
                fmt_ops(l.ops_per_sec),
                fmt_dur(l.p50),
                fmt_dur(l.p99),
                fmt_dur(l.max),
                fmt_dur(l.cpu_per_op),
                fmt_dur(l.client_cpu_per_op),
                if l.target.is_empty() { "—".into() } else { l.target.clone() },
                yes_no(l.meets_target),
                if l.slo.is_empty() { "—".into() } else { l.slo.into() },
                yes_no(l.meets_slo),
            ]
        })
        .collect();
    let mut out = markdown(&HEADER, &rows);
    if !mem.is_empty() {
        out.push('\n');
        let rows: Vec<Vec<String>> = mem
            .iter()
            .map(|m| {
                let target = if m.target.is_empty() { "—".into() } else { m.target.clone() };
                vec![m.what.clone(), m.value.clone(), target, yes_no(m.meets)]
            })
            .collect();
        out.push_str(&markdown(&["memory", "value", "S3 target", "meets target"], &rows));
    }
    let notes: Vec<String> =
        lines.iter().flat_map(|l| l.notes.iter().map(move |n| format!("- {}: {n}", l.workload))).collect();
    if !notes.is_empty() {
        out.push_str("\nNotes:\n");
        for n in notes {
            out.push_str(&n);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::bench::stats::Latency;

    fn sample(ops: u64, errors: u64) -> Sample {
        let mut latency = Latency::new().unwrap();
        for us in 1..=100 {
            latency.record(Duration::from_micros(us * 100));
        }
        Sample { ops, errors, elapsed: Duration::from_secs(1), latency, first_error: Some("boom".into()), cpu: None }
    }

    #[test]
    fn line_from_sample_and_verdicts() {
        let l = Line::from_sample("get", &sample(12_000, 0))
            .target("≥ 10,000/s", Some(true))
            .slo(SLO_GET, Some(Duration::from_secs(1)));
        assert_eq!(l.ops_per_sec, Some(12_000.0));
        assert_eq!(l.meets_slo, Some(true));
        assert!(l.notes.is_empty());
        let bad = Line::from_sample("create", &sample(10, 3)).slo(SLO_MUTATING, Some(Duration::from_micros(10)));
        assert_eq!(bad.meets_slo, Some(false));
        assert!(bad.notes[0].starts_with("3 errors (first: boom)"));
    }

    #[test]
    fn tables_line_up() {
        let lines = vec![
            Line::from_sample("create 100c/10conn", &sample(2500, 0)).target("≥ 2,000/s", Some(true)),
            Line::from_sample("update", &sample(100, 1)),
        ];
        let mem =
            vec![MemLine { what: "bytes per pod".into(), value: fmt_bytes(3000.0), target: "—".into(), meets: None }];
        let out = render(&lines, &mem);
        let table: Vec<&str> = out.lines().take(4).collect();
        assert!(table[0].starts_with("| workload"));
        assert!(table[1].ends_with(": |"));
        assert!(table.iter().all(|l| l.chars().count() == table[0].chars().count()));
        assert!(out.contains("| bytes per pod | 2.9 KiB |"));
        assert!(out.contains("- update: 1 errors (first: boom)"));
        assert!(out.contains("**no**") || out.contains("yes"));
    }

    #[test]
    fn byte_units() {
        assert_eq!(fmt_bytes(512.0), "512 B");
        assert_eq!(fmt_bytes(2048.0), "2.0 KiB");
        assert_eq!(fmt_bytes(3.0 * 1024.0 * 1024.0), "3.0 MiB");
        assert_eq!(fmt_bytes(1.5 * 1024.0 * 1024.0 * 1024.0), "1.50 GiB");
    }
}
