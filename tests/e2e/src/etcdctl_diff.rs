//! Differential etcdctl runs: the same `etcdctl` command against a fresh Debian
//! etcd 3.4 and a fresh `capstan etcd`, compared after normalising only what
//! legitimately differs between two independent servers (IDs, addresses, sizes,
//! versions, Raft indexes, durations, hashes, auto-assigned lease IDs).
//!
//! Mismatches are collected, not thrown: [`Pair::finish`] panics with all of
//! them, so one run shows every incompatible command of a test.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use std::path::{Path, PathBuf};

use crate::{etcdctl_bin, repo_root, Flavor, Member};

/// Output of one etcdctl run.
#[derive(Debug, Clone, Default)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }
}

/// Per-call normalisation options.
#[derive(Debug, Clone, Default)]
pub struct Opts {
    /// Masks these 0-based fields of comma-separated (simple format) lines.
    pub csv_mask: Vec<usize>,
    /// Compares stdout only (for commands whose stderr is pure logging).
    pub stdout_only: bool,
    /// Compares exit code and stderr only (stdout depends on engine details).
    pub ignore_stdout: bool,
    /// Masks `revision` in JSON (when the revisions legitimately diverged).
    pub mask_revision: bool,
}

/// Normalised output: text plus numbers compared with ±1 tolerance.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Norm {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub approx: Vec<i64>,
}

/// JSON keys whose values legitimately differ between two servers.
const MASK_KEYS: &[&str] =
    &["raft_term", "raftTerm", "raftIndex", "raftAppliedIndex", "dbSize", "dbSizeInUse", "totalSize", "hash", "took"];

/// Table columns that legitimately differ.
const MASK_COLUMNS: &[&str] = &["VERSION", "DB SIZE", "RAFT TERM", "RAFT INDEX", "RAFT APPLIED INDEX", "TOOK", "HASH"];

/// One server plus the values that name it (substituted back when normalising).
pub struct Side {
    pub label: &'static str,
    pub member: Member,
    /// name → value; `{name}` in arguments expands to the value and the value
    /// normalises back to `{name}` in output.
    pub vars: BTreeMap<String, String>,
    pub dir: tempfile::TempDir,
}

/// etcdctl 3.5 (from `scripts/test-deps.sh`), for flags 3.4's lacks (`--count-only`).
/// A txn for etcdctl's stdin format: compares, blank, success ops, blank,
/// failure ops, blank.
pub fn txn(compares: &[&str], success: &[&str], failure: &[&str]) -> Vec<u8> {
    let mut s = String::new();
    for part in [compares, success, failure] {
        for l in part {
            s.push_str(l);
            s.push('\n');
        }
        s.push('\n');
    }
    s.into_bytes()
}

pub fn etcdctl35_bin() -> PathBuf {
    repo_root().join(".tools/etcd-3.5/etcdctl")
}

fn run_cmd(bin: &Path, endpoint: &str, args: &[String], stdin: Option<&[u8]>, timeout: Duration) -> Out {
    let mut cmd = Command::new(bin);
    cmd.env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoint}"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
    let mut child = cmd.spawn().expect("spawning etcdctl");
    let mut so = child.stdout.take().expect("stdout");
    let mut se = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = so.read_to_end(&mut b);
        b
    });
    let t_err = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = se.read_to_end(&mut b);
        b
    });
    if let Some(input) = stdin {
        let mut w = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = w.write_all(&input);
        });
    }
    let deadline = Instant::now() + timeout;
    let code = loop {
        match child.try_wait().expect("wait etcdctl") {
            Some(st) => break st.code(),
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
    Out { code, stdout, stderr }
}

impl Side {
    fn start(label: &'static str, flavor: Flavor, extra: &[&str]) -> Side {
        let member = Member::start(flavor, extra).unwrap_or_else(|e| panic!("starting {label}: {e:#}"));
        let mut s = Side { label, member, vars: BTreeMap::new(), dir: tempfile::tempdir().expect("tempdir") };
        s.vars.insert("EP".into(), s.member.endpoint());
        s.vars.insert("DIR".into(), s.dir.path().display().to_string());
        // Identity from MemberList (the one RPC every build serves).
        let out = s.run(&["member", "list", "-w", "json"], None);
        assert!(out.ok(), "{label}: member list failed: {out:?}");
        let v: Value = serde_json::from_str(out.stdout.trim()).expect("member list json");
        let h = &v["header"];
        let member_id = h["member_id"].as_u64().expect("member_id");
        let cluster_id = h["cluster_id"].as_u64().expect("cluster_id");
        s.vars.insert("MEMBER".into(), format!("{member_id:x}"));
        s.vars.insert("MEMBER#d".into(), member_id.to_string());
        s.vars.insert("CLUSTER".into(), format!("{cluster_id:x}"));
        s.vars.insert("CLUSTER#d".into(), cluster_id.to_string());
        if let Some(peer) = v["members"][0]["peerURLs"][0].as_str() {
            s.vars.insert("PEER".into(), peer.to_string());
        }
        s
    }

    /// Expands `{NAME}` placeholders in an argument.
    pub fn expand(&self, arg: &str) -> String {
        let mut s = arg.to_string();
        for (k, v) in &self.vars {
            s = s.replace(&format!("{{{k}}}"), v);
        }
        s
    }

    pub fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Out {
        self.run_bin(&etcdctl_bin(), args, stdin)
    }

    pub fn run_bin(&self, bin: &Path, args: &[&str], stdin: Option<&[u8]>) -> Out {
        let args: Vec<String> = args.iter().map(|a| self.expand(a)).collect();
        run_cmd(bin, &self.member.endpoint(), &args, stdin, Duration::from_secs(30))
    }

    /// Values to substitute, longest first so that no value eats part of another.
    fn subs(&self) -> Vec<(&str, String)> {
        let mut v: Vec<(&str, String)> =
            self.vars.iter().filter(|(_, v)| !v.is_empty()).map(|(k, v)| (v.as_str(), format!("{{{k}}}"))).collect();
        v.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(b.0)));
        v
    }

    fn subst_text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (val, name) in self.subs() {
            out = out.replace(val, &name);
        }
        // Whatever loopback address is left (peer URLs of the other build, say).
        mask_loopback(&out)
    }

    pub fn normalize(&self, out: &Out, opts: &Opts) -> Norm {
        let mut approx = Vec::new();
        let stdout =
            if opts.ignore_stdout { String::new() } else { self.normalize_stream(&out.stdout, opts, &mut approx) };
        let stderr =
            if opts.stdout_only { String::new() } else { self.normalize_stream(&out.stderr, opts, &mut approx) };
        Norm { code: out.code, stdout, stderr, approx }
    }

    fn normalize_stream(&self, s: &str, opts: &Opts, approx: &mut Vec<i64>) -> String {
        let mut lines = Vec::new();
        let mut header: Option<Vec<String>> = None;
        for line in s.split('\n') {
            let t = line.trim_end_matches('\r');
            if t.starts_with("goroutine ") && t.ends_with(':') {
                // A Go panic in etcdctl itself: the trace is addresses.
                lines.push("goroutine …".into());
                break;
            }
            if t.starts_with("{\"level\":") {
                lines.push(self.normalize_log(t));
            } else if (t.starts_with('{') || t.starts_with('[')) && serde_json::from_str::<Value>(t).is_ok() {
                let mut v: Value = serde_json::from_str(t).unwrap_or(Value::Null);
                self.normalize_json(&mut v, approx);
                if opts.mask_revision {
                    mask_key(&mut v, "revision");
                }
                lines.push(v.to_string());
            } else if t.starts_with('+') && t.ends_with('+') && t.chars().all(|c| c == '+' || c == '-') {
                lines.push("+".into());
            } else if t.starts_with('|') && t.ends_with('|') && t.len() > 1 {
                let cells: Vec<String> = t[1..t.len() - 1].split('|').map(|c| self.subst_text(c.trim())).collect();
                match &header {
                    None => {
                        header = Some(cells.clone());
                        lines.push(format!("| {} |", cells.join(" | ")));
                    }
                    Some(h) => {
                        let cells: Vec<String> = cells
                            .iter()
                            .enumerate()
                            .map(|(i, c)| {
                                if h.get(i).is_some_and(|n| MASK_COLUMNS.contains(&n.as_str())) {
                                    "~".to_string()
                                } else {
                                    mask_took(c)
                                }
                            })
                            .collect();
                        lines.push(format!("| {} |", cells.join(" | ")));
                    }
                }
            } else {
                header = None;
                let mut l = self.subst_text(t);
                if !opts.csv_mask.is_empty() && l.contains(", ") {
                    l = l
                        .split(", ")
                        .enumerate()
                        .map(|(i, f)| if opts.csv_mask.contains(&i) { "~" } else { f })
                        .collect::<Vec<_>>()
                        .join(", ");
                }
                l = mask_took(&l);
                l = approx_remaining(&l, approx);
                l = sort_attached_keys(&l);
                lines.push(l);
            }
        }
        lines.join("\n")
    }

    /// Client log lines: keep level, message and error (the server's code and
    /// text); drop timestamps, callers, targets and attempt counters.
    fn normalize_log(&self, line: &str) -> String {
        let Ok(v) = serde_json::from_str::<Value>(line) else { return self.subst_text(line) };
        let get = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        let mut s = format!("LOG {}: {}", get("level"), get("msg"));
        let err = get("error");
        if !err.is_empty() {
            s.push_str(&format!(" error={err}"));
        }
        self.subst_text(&s)
    }

    fn normalize_json(&self, v: &mut Value, approx: &mut Vec<i64>) {
        match v {
            Value::Object(m) => {
                for (k, val) in m.iter_mut() {
                    if MASK_KEYS.contains(&k.as_str()) || (k == "version" && val.is_string()) {
                        *val = Value::String("~".into());
                    } else if k == "keys" && val.is_array() {
                        // A lease's keys come from a Go map: no order.
                        self.normalize_json(val, approx);
                        if let Value::Array(a) = val {
                            a.sort_by_key(|x| x.to_string());
                        }
                    } else if k == "ttl" && val.is_i64() {
                        approx.push(val.as_i64().unwrap_or_default());
                        *val = Value::String("~".into());
                    } else {
                        self.normalize_json(val, approx);
                    }
                }
            }
            Value::Array(a) => {
                for x in a {
                    self.normalize_json(x, approx);
                }
            }
            Value::Number(n) => {
                let s = n.to_string();
                if let Some((_, name)) = self.subs().into_iter().find(|(val, _)| *val == s) {
                    *v = Value::String(name);
                }
            }
            Value::String(s) => {
                *s = self.subst_text(s);
            }
            _ => {}
        }
    }
}

fn mask_key(v: &mut Value, key: &str) {
    match v {
        Value::Object(m) => {
            for (k, val) in m.iter_mut() {
                if k == key {
                    *val = Value::String("~".into());
                } else {
                    mask_key(val, key);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| mask_key(x, key)),
        _ => {}
    }
}

/// `attached keys([k2 k1])` → sorted: etcd lists a lease's keys from a Go map.
pub fn sort_attached_keys(s: &str) -> String {
    let pat = "attached keys([";
    let Some(i) = s.find(pat) else { return s.to_string() };
    let after = &s[i + pat.len()..];
    let Some(j) = after.find("])") else { return s.to_string() };
    let mut keys: Vec<&str> = after[..j].split(' ').collect();
    keys.sort_unstable();
    format!("{}{}{}", &s[..i + pat.len()], keys.join(" "), &after[j..])
}

/// `127.0.0.1:<port>` → `127.0.0.1:PORT`.
fn mask_loopback(s: &str) -> String {
    let pat = "127.0.0.1:";
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(pat) {
        out.push_str(&rest[..i + pat.len()]);
        rest = &rest[i + pat.len()..];
        let digits = rest.chars().take_while(|c| c.is_ascii_digit()).count();
        if digits > 0 {
            out.push_str("PORT");
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// Durations after `took = ` or in a table cell like `1.2ms`.
fn mask_took(s: &str) -> String {
    let is_dur = |t: &str| {
        let t = t.trim();
        !t.is_empty()
            && t.chars().next().is_some_and(|c| c.is_ascii_digit())
            && (t.ends_with("ms") || t.ends_with("µs") || t.ends_with("ns") || t.ends_with('s'))
            && t.chars().all(|c| c.is_ascii_digit() || c == '.' || "mµns".contains(c))
    };
    if is_dur(s) {
        return "~".into();
    }
    mask_took_field(s)
}

/// `took = 1.2ms` → `took = ~`.
pub fn mask_took_field(s: &str) -> String {
    let pat = "took = ";
    match s.find(pat) {
        Some(i) => {
            let after = &s[i + pat.len()..];
            let end = after.find(|c: char| c.is_whitespace() || c == ',').unwrap_or(after.len());
            format!("{}~{}", &s[..i + pat.len()], &after[end..])
        }
        None => s.to_string(),
    }
}

/// `remaining(59s)` → `remaining(~s)`, the number kept for a ±1 comparison.
fn approx_remaining(s: &str, approx: &mut Vec<i64>) -> String {
    let pat = "remaining(";
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(pat) {
        out.push_str(&rest[..i + pat.len()]);
        rest = &rest[i + pat.len()..];
        let digits = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '-').count();
        if let Ok(n) = rest[..digits].parse::<i64>() {
            approx.push(n);
            out.push('~');
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// A line diff of two texts (for readable failure messages).
pub fn diff(a: &str, b: &str) -> String {
    let al: Vec<&str> = a.lines().collect();
    let bl: Vec<&str> = b.lines().collect();
    let mut out = String::new();
    let n = al.len().max(bl.len());
    for i in 0..n {
        match (al.get(i), bl.get(i)) {
            (Some(x), Some(y)) if x == y => out.push_str(&format!("    {x}\n")),
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!("  - {x}\n"));
                }
                if let Some(y) = y {
                    out.push_str(&format!("  + {y}\n"));
                }
            }
        }
    }
    out
}

fn short(s: &str) -> String {
    if s.len() > 200 {
        format!("{}…({} bytes)", &s[..s.char_indices().nth(200).map_or(s.len(), |(i, _)| i)], s.len())
    } else {
        s.to_string()
    }
}

/// A running etcdctl watch.
pub struct WatchProc {
    child: std::process::Child,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
}

impl WatchProc {
    pub fn output_len(&self) -> usize {
        self.out.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Waits until the output has been quiet for `quiet` (or `max` passed, or
    /// the process exited and its output drained), then kills it.
    pub fn finish(mut self, quiet: Duration, max: Duration) -> Out {
        let start = Instant::now();
        let mut last_len = self.output_len();
        let mut last_change = Instant::now();
        let mut exited = None;
        while start.elapsed() < max {
            std::thread::sleep(Duration::from_millis(20));
            let len = self.output_len();
            if len != last_len {
                last_len = len;
                last_change = Instant::now();
            }
            if exited.is_none() {
                if let Ok(Some(st)) = self.child.try_wait() {
                    exited = Some(st.code());
                    last_change = Instant::now();
                }
            }
            // Quiet only counts once something arrived (etcdctl may be slow to
            // connect on a loaded machine), or after a while of nothing at all.
            let settled = len > 0 || exited.is_some() || start.elapsed() > Duration::from_secs(5);
            if settled && last_change.elapsed() >= quiet {
                break;
            }
        }
        let code = match exited {
            Some(c) => c,
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                None
            }
        };
        std::thread::sleep(Duration::from_millis(50));
        let stdout = self.out.lock().map(|s| s.clone()).unwrap_or_default();
        let stderr = self.err.lock().map(|s| s.clone()).unwrap_or_default();
        Out { code, stdout, stderr }
    }
}

impl Drop for WatchProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Side {
    /// Starts `etcdctl watch ...` in the background.
    pub fn spawn_watch(&self, args: &[&str]) -> WatchProc {
        let mut cmd = Command::new(etcdctl_bin());
        cmd.env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={}", self.member.endpoint()))
            .arg("watch")
            .args(args.iter().map(|a| self.expand(a)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawning etcdctl watch");
        let out = Arc::new(Mutex::new(String::new()));
        let err = Arc::new(Mutex::new(String::new()));
        for (pipe, buf) in [
            (Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>, out.clone()),
            (Box::new(child.stderr.take().expect("stderr")) as Box<dyn Read + Send>, err.clone()),
        ] {
            let mut pipe = pipe;
            std::thread::spawn(move || {
                let mut chunk = [0u8; 8192];
                loop {
                    match pipe.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if let Ok(mut b) = buf.lock() {
                                b.push_str(&String::from_utf8_lossy(&chunk[..n]));
                            }
                        }
                    }
                }
            });
        }
        WatchProc { child, out, err }
    }
}

/// Which sides a call runs on.
pub struct Pair {
    pub etcd: Side,
    pub capstan: Side,
    pub failures: Vec<String>,
    pub checks: usize,
    name: String,
}

impl Pair {
    /// A fresh etcd 3.4 and a fresh capstan, both with `extra` flags.
    pub fn start(name: &str, extra: &[&str]) -> Pair {
        Self::start_against(name, extra, Flavor::Etcd34)
    }

    /// Like [`Pair::start`] with another reference server (for behaviour that
    /// changed between etcd 3.4 and 3.5, where capstan follows 3.5).
    pub fn start_against(name: &str, extra: &[&str], reference: Flavor) -> Pair {
        let (etcd, capstan) = std::thread::scope(|s| {
            let e = s.spawn(|| Side::start("etcd", reference, extra));
            let c = s.spawn(|| Side::start("capstan", Flavor::Capstan, extra));
            (e.join().expect("etcd start"), c.join().expect("capstan start"))
        });
        Pair { etcd, capstan, failures: Vec::new(), checks: 0, name: name.to_string() }
    }

    /// Runs `args` on both sides and records a mismatch. Returns both raw outputs.
    pub fn check(&mut self, args: &[&str]) -> (Out, Out) {
        self.check_full(args, None, &Opts::default())
    }

    pub fn check_stdin(&mut self, args: &[&str], stdin: &[u8]) -> (Out, Out) {
        self.check_full(args, Some(stdin), &Opts::default())
    }

    pub fn check_opts(&mut self, args: &[&str], opts: &Opts) -> (Out, Out) {
        self.check_full(args, None, opts)
    }

    pub fn check_full(&mut self, args: &[&str], stdin: Option<&[u8]>, opts: &Opts) -> (Out, Out) {
        let e = self.etcd.run(args, stdin);
        let c = self.capstan.run(args, stdin);
        self.compare(&args.join(" "), &e, &c, opts);
        (e, c)
    }

    /// Like [`Pair::check`] with etcdctl 3.5 (skipped if it is not installed).
    pub fn check35(&mut self, args: &[&str]) {
        let bin = etcdctl35_bin();
        if !bin.exists() {
            eprintln!(
                "[{}] skipping `{}`: {} missing (run scripts/test-deps.sh)",
                self.name,
                args.join(" "),
                bin.display()
            );
            return;
        }
        let e = self.etcd.run_bin(&bin, args, None);
        let c = self.capstan.run_bin(&bin, args, None);
        self.compare(&format!("(3.5) {}", args.join(" ")), &e, &c, &Opts::default());
    }

    /// Compares two outputs of the same command; records a readable mismatch.
    pub fn compare(&mut self, what: &str, e: &Out, c: &Out, opts: &Opts) {
        self.checks += 1;
        let ne = self.etcd.normalize(e, opts);
        let nc = self.capstan.normalize(c, opts);
        let approx_ok =
            ne.approx.len() == nc.approx.len() && ne.approx.iter().zip(&nc.approx).all(|(a, b)| (a - b).abs() <= 1);
        if std::env::var_os("E2E_SHOW").is_some() {
            eprintln!("[{}] `etcdctl {}` → {:?}\n{}\n{}", self.name, short(what), ne.code, ne.stdout, ne.stderr);
        }
        if ne.code == nc.code && ne.stdout == nc.stdout && ne.stderr == nc.stderr && approx_ok {
            return;
        }
        let mut msg = format!("[{}] `etcdctl {}`\n", self.name, short(what));
        if ne.code != nc.code {
            msg.push_str(&format!("  exit code: etcd {:?}, capstan {:?}\n", ne.code, nc.code));
        }
        if ne.stdout != nc.stdout {
            msg.push_str(&format!(" stdout (- etcd, + capstan):\n{}", diff(&ne.stdout, &nc.stdout)));
        }
        if ne.stderr != nc.stderr {
            msg.push_str(&format!(" stderr (- etcd, + capstan):\n{}", diff(&ne.stderr, &nc.stderr)));
        }
        if !approx_ok {
            msg.push_str(&format!("  ±1 values: etcd {:?}, capstan {:?}\n", ne.approx, nc.approx));
        }
        eprintln!("MISMATCH {msg}");
        self.failures.push(msg);
    }

    /// Runs a setup command on both sides that must succeed on etcd; a
    /// capstan difference is recorded like any other check.
    pub fn setup(&mut self, args: &[&str]) {
        let (e, _) = self.check(args);
        assert!(e.ok(), "[{}] setup `{}` failed on etcd: {e:?}", self.name, args.join(" "));
    }

    /// `lease grant <ttl>` on both sides; registers the IDs as `{name}` (hex)
    /// and `{name#d}` (decimal) before comparing.
    pub fn lease_grant(&mut self, name: &str, ttl: u32) {
        let ttl = ttl.to_string();
        let args = ["lease", "grant", ttl.as_str()];
        let e = self.etcd.run(&args, None);
        let c = self.capstan.run(&args, None);
        for (side, out) in [(&mut self.etcd, &e), (&mut self.capstan, &c)] {
            // "lease 694d7d4b3b0a1f04 granted with TTL(60s)"
            if let Some(hex) = out.stdout.split_whitespace().nth(1) {
                if let Ok(id) = i64::from_str_radix(hex, 16) {
                    side.vars.insert(name.to_string(), hex.to_string());
                    side.vars.insert(format!("{name}#d"), id.to_string());
                }
            }
        }
        assert!(e.ok(), "lease grant failed on etcd: {e:?}");
        self.compare(&args.join(" "), &e, &c, &Opts::default());
    }

    /// Runs a watch on both sides: starts `etcdctl watch args`, runs `during`
    /// (with the side), waits for the output to settle and compares.
    pub fn watch(&mut self, args: &[&str], during: &dyn Fn(&Side)) {
        let we = self.etcd.spawn_watch(args);
        let wc = self.capstan.spawn_watch(args);
        during(&self.etcd);
        during(&self.capstan);
        let (e, c) = std::thread::scope(|s| {
            let settle = |w: WatchProc| w.finish(Duration::from_millis(1200), Duration::from_secs(10));
            let e = s.spawn(move || settle(we));
            let c = s.spawn(move || settle(wc));
            (e.join().unwrap_or_default(), c.join().unwrap_or_default())
        });
        self.compare(&format!("watch {}", args.join(" ")), &e, &c, &Opts::default());
    }

    /// Both servers must still be running.
    pub fn assert_alive(&mut self) {
        assert!(self.etcd.member.is_running(), "[{}] etcd died", self.name);
        if !self.capstan.member.is_running() {
            self.failures.push(format!("[{}] capstan process is not running any more", self.name));
        }
    }

    /// Panics with every mismatch seen.
    pub fn finish(mut self) {
        self.assert_alive();
        let n = self.checks;
        if !self.failures.is_empty() {
            panic!(
                "{} of {n} etcdctl commands differ between etcd 3.4 and capstan:\n\n{}",
                self.failures.len(),
                self.failures.join("\n")
            );
        }
        eprintln!("[{}] {n} etcdctl commands match", self.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_loopback("http://127.0.0.1:2380, x"), "http://127.0.0.1:PORT, x");
        assert_eq!(mask_took("127.0.0.1 is healthy: took = 1.2ms"), "127.0.0.1 is healthy: took = ~");
        assert_eq!(mask_took("1.250396ms"), "~");
        let mut v = Vec::new();
        assert_eq!(approx_remaining("TTL(60s), remaining(59s), x", &mut v), "TTL(60s), remaining(~s), x");
        assert_eq!(v, vec![59]);
        assert_eq!(sort_attached_keys("x, attached keys([k2 k1])"), "x, attached keys([k1 k2])");
    }
}
