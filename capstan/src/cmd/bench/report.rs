//! The side-by-side report: one row per workload, etcd's and capstan's
//! numbers next to each other and the capstan/etcd ratio, as a Markdown table.

use std::fmt::Write as _;
use std::time::Duration;

use super::stats::Sample;

/// One server's result for one workload.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cell {
    /// Operations per second; `None` when the workload only measures memory.
    pub ops_per_sec: Option<f64>,
    pub p50: Option<Duration>,
    pub p99: Option<Duration>,
    /// Server CPU time per successful operation.
    pub cpu_per_op: Option<Duration>,
    /// Load generator (client) CPU time per successful operation.
    pub client_cpu_per_op: Option<Duration>,
    /// Cores kept busy by other processes during the run (noise).
    pub background_cores: Option<f64>,
    /// Server RSS (KiB) right after the workload.
    pub rss_kib: Option<u64>,
    /// Why the workload could not run (e.g. watch unimplemented), or errors seen.
    pub note: Option<String>,
}

impl Cell {
    pub fn from_sample(s: &Sample, rss_kib: Option<u64>) -> Self {
        let note = (s.errors > 0).then(|| {
            let first = s.first_error.as_deref().unwrap_or("unknown error");
            format!("{} errors (first: {first})", s.errors)
        });
        let per_op = |d: Duration| d / u32::try_from(s.ops).unwrap_or(u32::MAX);
        let cpu = s.cpu.filter(|_| s.ops > 0);
        Cell {
            ops_per_sec: Some(s.ops_per_sec()),
            p50: s.latency.quantile(0.50),
            p99: s.latency.quantile(0.99),
            cpu_per_op: cpu.map(|c| per_op(c.server)),
            client_cpu_per_op: cpu.map(|c| per_op(c.bench)),
            background_cores: s.cpu.map(|c| c.background_cores),
            rss_kib,
            note,
        }
    }

    pub fn unavailable(why: impl Into<String>, rss_kib: Option<u64>) -> Self {
        Cell { rss_kib, note: Some(why.into()), ..Default::default() }
    }
}

/// A workload's row: `None` for a server that was not benchmarked.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub workload: String,
    pub etcd: Option<Cell>,
    pub capstan: Option<Cell>,
}

pub fn fmt_ops(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.0}"),
        _ => "n/a".into(),
    }
}

pub fn fmt_dur(d: Option<Duration>) -> String {
    let Some(d) = d else { return "n/a".into() };
    let us = d.as_micros();
    if us < 1000 {
        format!("{us} µs")
    } else if us < 100_000 {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.0} ms", d.as_secs_f64() * 1e3)
    }
}

pub fn fmt_rss(kib: Option<u64>) -> String {
    match kib {
        Some(k) => format!("{:.1} MiB", k as f64 / 1024.0),
        None => "n/a".into(),
    }
}

/// `capstan / etcd`, e.g. `1.53×`; `n/a` when either side is missing or zero.
pub fn fmt_ratio(capstan: Option<f64>, etcd: Option<f64>) -> String {
    match (capstan, etcd) {
        (Some(c), Some(e)) if e > 0.0 && c.is_finite() && e.is_finite() => format!("{:.2}×", c / e),
        _ => "n/a".into(),
    }
}

fn secs(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64())
}

fn kib(k: Option<u64>) -> Option<f64> {
    k.map(|k| k as f64)
}

/// Background load (cores) above which a cell gets a "noisy" note.
const NOISY_CORES: f64 = 0.25;

const HEADER: [&str; 16] = [
    "workload",
    "etcd ops/s",
    "etcd p50",
    "etcd p99",
    "etcd CPU/op",
    "etcd RSS",
    "capstan ops/s",
    "capstan p50",
    "capstan p99",
    "capstan CPU/op",
    "capstan RSS",
    "ops/s ×",
    "p50 ×",
    "p99 ×",
    "CPU/op ×",
    "RSS ×",
];

fn cells(c: Option<&Cell>) -> [String; 5] {
    match c {
        Some(c) => [fmt_ops(c.ops_per_sec), fmt_dur(c.p50), fmt_dur(c.p99), fmt_dur(c.cpu_per_op), fmt_rss(c.rss_kib)],
        None => ["-".into(), "-".into(), "-".into(), "-".into(), "-".into()],
    }
}

/// Renders the rows as a Markdown table followed by any notes.
pub fn render(rows: &[Row]) -> String {
    let mut table: Vec<Vec<String>> = vec![HEADER.iter().map(|s| s.to_string()).collect()];
    let mut notes = Vec::new();
    for r in rows {
        let (e, c) = (r.etcd.as_ref(), r.capstan.as_ref());
        let mut line = vec![r.workload.clone()];
        line.extend(cells(e));
        line.extend(cells(c));
        line.push(fmt_ratio(c.and_then(|c| c.ops_per_sec), e.and_then(|e| e.ops_per_sec)));
        line.push(fmt_ratio(secs(c.and_then(|c| c.p50)), secs(e.and_then(|e| e.p50))));
        line.push(fmt_ratio(secs(c.and_then(|c| c.p99)), secs(e.and_then(|e| e.p99))));
        line.push(fmt_ratio(secs(c.and_then(|c| c.cpu_per_op)), secs(e.and_then(|e| e.cpu_per_op))));
        line.push(fmt_ratio(kib(c.and_then(|c| c.rss_kib)), kib(e.and_then(|e| e.rss_kib))));
        table.push(line);
        for (server, cell) in [("etcd", e), ("capstan", c)] {
            if let Some(note) = cell.and_then(|c| c.note.as_ref()) {
                notes.push(format!("- {} / {server}: {note}", r.workload));
            }
            if let Some(bg) = cell.and_then(|c| c.background_cores).filter(|bg| *bg > NOISY_CORES) {
                notes.push(format!("- {} / {server}: noisy, other processes kept {bg:.2} cores busy", r.workload));
            }
        }
    }
    let widths: Vec<usize> =
        (0..HEADER.len()).map(|i| table.iter().map(|l| l[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for (n, line) in table.iter().enumerate() {
        out.push('|');
        for (i, cell) in line.iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            if i == 0 {
                let _ = write!(out, " {cell}{} |", " ".repeat(pad));
            } else {
                let _ = write!(out, " {}{cell} |", " ".repeat(pad));
            }
        }
        out.push('\n');
        if n == 0 {
            out.push('|');
            for (i, w) in widths.iter().enumerate() {
                let dashes = "-".repeat(*w);
                if i == 0 {
                    let _ = write!(out, " {dashes} |");
                } else {
                    let _ = write!(out, " {}: |", &dashes[1..]);
                }
            }
            out.push('\n');
        }
    }
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
    use crate::cmd::bench::stats::{CpuUse, Latency};

    #[test]
    fn formats() {
        assert_eq!(fmt_ops(Some(12345.6)), "12346");
        assert_eq!(fmt_ops(None), "n/a");
        assert_eq!(fmt_dur(Some(Duration::from_micros(412))), "412 µs");
        assert_eq!(fmt_dur(Some(Duration::from_micros(1234))), "1.23 ms");
        assert_eq!(fmt_dur(Some(Duration::from_millis(250))), "250 ms");
        assert_eq!(fmt_dur(None), "n/a");
        assert_eq!(fmt_rss(Some(2048 + 512)), "2.5 MiB");
        assert_eq!(fmt_rss(None), "n/a");
    }

    #[test]
    fn ratios() {
        assert_eq!(fmt_ratio(Some(3.0), Some(2.0)), "1.50×");
        assert_eq!(fmt_ratio(Some(1.0), Some(3.0)), "0.33×");
        assert_eq!(fmt_ratio(Some(1.0), Some(0.0)), "n/a");
        assert_eq!(fmt_ratio(None, Some(1.0)), "n/a");
        assert_eq!(fmt_ratio(Some(1.0), None), "n/a");
        assert_eq!(fmt_ratio(Some(f64::NAN), Some(1.0)), "n/a");
    }

    #[test]
    fn cell_from_sample_notes_errors() {
        let mut latency = Latency::new().unwrap();
        latency.record(Duration::from_micros(100));
        let s = Sample {
            ops: 10,
            errors: 2,
            elapsed: Duration::from_secs(1),
            latency,
            first_error: Some("boom".into()),
            cpu: Some(CpuUse {
                server: Duration::from_millis(5),
                bench: Duration::from_millis(2),
                background_cores: 0.5,
            }),
        };
        let c = Cell::from_sample(&s, Some(1024));
        assert_eq!(c.ops_per_sec, Some(10.0));
        assert_eq!(c.cpu_per_op, Some(Duration::from_micros(500)));
        assert_eq!(c.client_cpu_per_op, Some(Duration::from_micros(200)));
        assert_eq!(c.background_cores, Some(0.5));
        assert_eq!(c.p50, Some(Duration::from_micros(100)));
        assert_eq!(c.note.as_deref(), Some("2 errors (first: boom)"));
    }

    #[test]
    fn table_layout() {
        let etcd = Cell {
            ops_per_sec: Some(1000.0),
            p50: Some(Duration::from_micros(500)),
            p99: Some(Duration::from_millis(2)),
            cpu_per_op: Some(Duration::from_micros(100)),
            client_cpu_per_op: None,
            background_cores: Some(0.0),
            rss_kib: Some(4096),
            note: None,
        };
        let capstan = Cell {
            ops_per_sec: Some(1500.0),
            p50: Some(Duration::from_micros(250)),
            p99: Some(Duration::from_millis(1)),
            cpu_per_op: Some(Duration::from_micros(80)),
            client_cpu_per_op: None,
            background_cores: Some(0.6),
            rss_kib: Some(1024),
            note: None,
        };
        let rows = vec![
            Row { workload: "put 100c/10conn".into(), etcd: Some(etcd), capstan: Some(capstan) },
            Row {
                workload: "watch".into(),
                etcd: None,
                capstan: Some(Cell::unavailable("watch unimplemented", Some(1024))),
            },
        ];
        let out = render(&rows);
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines[0].starts_with("| workload "));
        assert!(lines[1].starts_with("| ---"));
        assert!(lines[1].ends_with(": |"));
        let put: Vec<&str> = lines[2].split('|').map(str::trim).collect();
        assert_eq!(
            put[1..17],
            [
                "put 100c/10conn",
                "1000",
                "500 µs",
                "2.00 ms",
                "100 µs",
                "4.0 MiB",
                "1500",
                "250 µs",
                "1.00 ms",
                "80 µs",
                "1.0 MiB",
                "1.50×",
                "0.50×",
                "0.50×",
                "0.80×",
                "0.25×"
            ]
        );
        let watch: Vec<&str> = lines[3].split('|').map(str::trim).collect();
        assert_eq!(watch[2], "-");
        assert_eq!(watch[7], "n/a");
        assert_eq!(watch[16], "n/a");
        // Every row has the same width.
        assert!(lines[..4].iter().all(|l| l.chars().count() == lines[0].chars().count()));
        assert!(out.contains("- watch / capstan: watch unimplemented"));
        assert!(out.contains("- put 100c/10conn / capstan: noisy, other processes kept 0.60 cores busy"));
        assert!(!out.contains("put 100c/10conn / etcd: noisy"));
    }
}
