#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Real `etcdctl` (API v3) against 3-member clusters of real processes
//! (`capstan_e2e::cluster::ProcCluster`): KV, txn, watch and leases through
//! followers, compaction, `endpoint status/health --cluster`, `member
//! add/promote/remove/update` and `move-leader`.
//!
//! Every scenario runs on one cluster and checks what must hold on its own
//! (writes at a follower are visible everywhere, the leader moved, …). The
//! `etcd34_*` tests run each scenario on Debian etcd 3.4, the reference. The
//! `capstan_*` tests run it on etcd 3.4 *and* on the subject (capstan; set
//! `CLUSTER_SUBJECT=etcd34` to check the harness against itself) and also diff
//! the etcdctl outputs command by command, after normalising member/cluster/
//! lease IDs (by role: `{R0}` is the leader at the start, `{R1}` and `{R2}` the
//! followers, `{R3}`… members added later), addresses, terms, raft indexes,
//! sizes, versions, durations and TTLs, and sorting what etcdctl prints in
//! member order.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use capstan_e2e::cluster::{parse_member_add, ClusterOpts, ProcCluster};
use capstan_e2e::etcdctl_bin;
use capstan_e2e::etcdctl_diff::{diff, mask_took_field, sort_attached_keys, txn, Out};
use capstan_e2e::Flavor;
use serde_json::Value;

/// How an output is compared across clusters.
#[derive(Debug, Clone)]
enum How {
    /// As printed (after substitutions).
    Exact,
    /// Lines sorted (etcdctl prints members in ID order or completion order).
    Sorted,
    /// Comma-separated fields masked, then lines sorted.
    CsvSorted(Vec<usize>),
    /// Exit code only (output legitimately differs, e.g. timings).
    CodeOnly,
}

/// One member's line of `endpoint status --cluster -w json`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct MemberStatus {
    index: usize,
    raft_term: u64,
    raft_index: u64,
    learner: bool,
}

struct Step {
    what: String,
    out: Out,
    how: How,
}

/// One scenario's run on one cluster.
struct Run {
    name: String,
    c: ProcCluster,
    /// Role → member index: 0 is the leader at the start, then the followers, then added members.
    roles: Vec<usize>,
    /// Extra names for values seen in output (leases, peer URL aliases).
    vars: Vec<(String, String)>,
    steps: Vec<Step>,
    failures: Vec<String>,
}

fn run_with_stdin(endpoints: &str, args: &[&str], stdin: &[u8]) -> Out {
    let mut child = Command::new(etcdctl_bin())
        .env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoints}"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn etcdctl");
    {
        use std::io::Write;
        let mut w = child.stdin.take().unwrap();
        w.write_all(stdin).unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let out = loop {
        if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
            let _ = child.kill();
            break child.wait_with_output().unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Out {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A background etcdctl (watch, lease keep-alive).
struct Bg {
    child: Child,
    out: Arc<Mutex<String>>,
    err: Arc<Mutex<String>>,
}

impl Bg {
    fn spawn(endpoint: &str, args: &[&str]) -> Bg {
        let mut child = Command::new(etcdctl_bin())
            .env("ETCDCTL_API", "3")
            .arg(format!("--endpoints={endpoint}"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn etcdctl");
        let out = Arc::new(Mutex::new(String::new()));
        let err = Arc::new(Mutex::new(String::new()));
        type Sink = Arc<Mutex<String>>;
        let pipes: [(Box<dyn Read + Send>, Sink); 2] = [
            (Box::new(child.stdout.take().unwrap()), out.clone()),
            (Box::new(child.stderr.take().unwrap()), err.clone()),
        ];
        for (mut pipe, buf) in pipes {
            std::thread::spawn(move || {
                let mut chunk = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    buf.lock().unwrap().push_str(&String::from_utf8_lossy(&chunk[..n]));
                }
            });
        }
        Bg { child, out, err }
    }

    fn stdout(&self) -> String {
        self.out.lock().unwrap().clone()
    }

    /// Polls until the output satisfies `pred` (true) or the deadline passes (false).
    fn wait_for(&self, timeout: Duration, pred: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if pred(&self.stdout()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        pred(&self.stdout())
    }

    fn stop(mut self) -> Out {
        let _ = self.child.kill();
        let st = self.child.wait().ok();
        // The reader threads see EOF right after the kill.
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline && Arc::strong_count(&self.out) > 1 {
            std::thread::sleep(Duration::from_millis(5));
        }
        Out { code: st.and_then(|s| s.code()), stdout: self.stdout(), stderr: self.err.lock().unwrap().clone() }
    }
}

impl Drop for Bg {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Run {
    fn start(flavor: Flavor, name: &str) -> Run {
        let mut c = ProcCluster::start(flavor, 3, ClusterOpts::default())
            .unwrap_or_else(|e| panic!("[{name}] starting a 3-member {flavor:?} cluster: {e:#}"));
        let leader = c.wait_leader(Duration::from_secs(15)).unwrap_or_else(|e| panic!("[{name}] {e:#}"));
        let mut roles = vec![leader];
        roles.extend((0..3).filter(|&i| i != leader));
        eprintln!("[{name}] {flavor:?}: leader m{leader}, roles {roles:?}");
        Run { name: name.to_string(), c, roles, vars: Vec::new(), steps: Vec::new(), failures: Vec::new() }
    }

    /// Member index of role `r`.
    fn m(&self, role: usize) -> usize {
        self.roles[role]
    }

    fn record(&mut self, what: String, out: Out, how: How) -> Out {
        if std::env::var_os("E2E_SHOW").is_some() {
            eprintln!("[{}] {:?} `{what}` → {:?}\n{}{}", self.name, self.c.flavor, out.code, out.stdout, out.stderr);
        }
        self.steps.push(Step { what, out: out.clone(), how });
        out
    }

    /// etcdctl at the member in role `role`.
    fn at(&mut self, role: usize, args: &[&str]) -> Out {
        self.at_how(role, args, How::Exact)
    }

    fn at_how(&mut self, role: usize, args: &[&str], how: How) -> Out {
        let out = self.c.ctl_at(self.m(role), args);
        self.record(format!("@R{role} {}", args.join(" ")), out, how)
    }

    /// etcdctl with every member as an endpoint.
    fn all(&mut self, args: &[&str], how: How) -> Out {
        let out = self.c.ctl(args);
        self.record(format!("@all {}", args.join(" ")), out, how)
    }

    fn at_stdin(&mut self, role: usize, args: &[&str], stdin: &[u8]) -> Out {
        let out = run_with_stdin(&self.c.endpoint(self.m(role)), args, stdin);
        self.record(format!("@R{role} {} <<{:?}", args.join(" "), String::from_utf8_lossy(stdin)), out, How::Exact)
    }

    fn expect(&mut self, ok: bool, msg: impl FnOnce() -> String) {
        if !ok {
            let m = format!("[{}] {:?}: {}", self.name, self.c.flavor, msg());
            eprintln!("FAILED {m}");
            self.failures.push(m);
        }
    }

    /// Expects a successful command whose stdout is exactly `want`.
    fn expect_out(&mut self, out: &Out, want: &str) {
        let what = self.steps.last().map(|s| s.what.clone()).unwrap_or_default();
        self.expect(out.ok() && out.stdout == want, || format!("`{what}`: want {want:?}, got {out:?}"));
    }

    fn expect_ok(&mut self, out: &Out) {
        let what = self.steps.last().map(|s| s.what.clone()).unwrap_or_default();
        self.expect(out.ok(), || format!("`{what}` failed: {out:?}"));
    }

    /// The current revision, by a linearizable read at role `role`.
    fn revision(&self, role: usize) -> i64 {
        let out = self.c.ctl_at(self.m(role), &["get", "nothing-here", "-w", "json"]);
        let v: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
        v["header"]["revision"].as_i64().unwrap_or_else(|| panic!("[{}] no revision in {out:?}", self.name))
    }

    /// Registers a name for a value printed by etcdctl (lease ID as hex; the
    /// decimal form is registered too).
    fn name_lease(&mut self, name: &str, hex: &str) {
        self.vars.push((format!("{{{name}}}"), hex.to_string()));
        if let Ok(d) = i64::from_str_radix(hex, 16) {
            self.vars.push((format!("{{{name}#d}}"), d.to_string()));
        }
    }

    /// `lease grant` at `role`; returns the hex ID (also registered as `name`).
    fn lease_grant(&mut self, role: usize, name: &str, ttl: u32) -> String {
        let ttl = ttl.to_string();
        let out = self.at(role, &["lease", "grant", &ttl]);
        self.expect_ok(&out);
        // "lease 694d7d4b3b0a1f04 granted with TTL(60s)"
        let hex = out.stdout.split_whitespace().nth(1).unwrap_or_default().to_string();
        self.name_lease(name, &hex);
        hex
    }

    /// `endpoint status --cluster -w json`, parsed and checked: every active
    /// member answers, all agree on one leader that is one of them, terms and
    /// indexes are set. Returns the leader's index and one row per member.
    fn cluster_status(&mut self, record: bool) -> (Option<usize>, Vec<MemberStatus>) {
        let args = ["endpoint", "status", "--cluster", "-w", "json"];
        let out = self.c.ctl(&args);
        if record {
            self.record(format!("@all {}", args.join(" ")), out.clone(), How::Exact);
        }
        let v: Value = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
        let mut rows = Vec::new();
        let mut leaders = std::collections::BTreeSet::new();
        for e in v.as_array().cloned().unwrap_or_default() {
            let s = &e["Status"];
            let id = s["header"]["member_id"].as_u64().unwrap_or(0);
            let (term, index) = (s["raftTerm"].as_u64().unwrap_or(0), s["raftIndex"].as_u64().unwrap_or(0));
            leaders.insert(s["leader"].as_u64().unwrap_or(0));
            match self.c.index_of_id(id) {
                Some(i) => rows.push(MemberStatus {
                    index: i,
                    raft_term: term,
                    raft_index: index,
                    learner: s["isLearner"].as_bool().unwrap_or(false),
                }),
                None => self.expect(false, || format!("endpoint status names unknown member {id:x}: {e}")),
            }
            self.expect(term > 0 && index > 0, || format!("endpoint status: raft term/index not set: {e}"));
        }
        rows.sort();
        let active = self.c.active();
        let listed: Vec<usize> = rows.iter().map(|r| r.index).collect();
        self.expect(listed == active, || {
            format!("endpoint status --cluster lists {listed:?}, active members {active:?}: {out:?}")
        });
        self.expect(leaders.len() == 1, || format!("members disagree on the leader: {leaders:?}"));
        let leader = leaders.iter().next().and_then(|&l| self.c.index_of_id(l));
        self.expect(leader.is_some(), || format!("the leader is not a member: {leaders:?}"));
        (leader, rows)
    }
}

// ---------------------------------------------------------------------------
// Normalisation for the cross-cluster diff.

const MASK_JSON: &[&str] = &[
    "raft_term",
    "raftTerm",
    "raftIndex",
    "raftAppliedIndex",
    "dbSize",
    "dbSizeInUse",
    "hash",
    "took",
    "leader",
    "ttl",
    "TTL",
    "grantedTTL",
];
const MASK_COLUMNS: &[&str] =
    &["VERSION", "DB SIZE", "IS LEADER", "RAFT TERM", "RAFT INDEX", "RAFT APPLIED INDEX", "TOOK", "HASH"];

#[derive(Clone)]
struct Norm {
    /// (value, placeholder), longest value first.
    subs: Vec<(String, String)>,
    /// The command went to every member: any of them may have answered
    /// (`header.member_id` is masked).
    any_member: bool,
}

impl Norm {
    fn of(r: &Run) -> Norm {
        let mut subs = Vec::new();
        let mut roles = r.roles.clone();
        roles.extend((0..r.c.len()).filter(|i| !r.roles.contains(i)));
        for (role, &i) in roles.iter().enumerate() {
            let m = &r.c.members[i];
            if m.id != 0 {
                subs.push((format!("{:x}", m.id), format!("{{R{role}}}")));
                subs.push((m.id.to_string(), format!("{{R{role}#d}}")));
            }
            subs.push((m.endpoint(), format!("{{EP{role}}}")));
            subs.push((format!("{}:{}", m.ip, m.peer_port), format!("{{PEER{role}}}")));
            subs.push((format!("{}:{}", m.ip, m.listen_peer_port), format!("{{LPEER{role}}}")));
            subs.push((m.name.clone(), format!("{{NAME{role}}}")));
        }
        subs.push((format!("{:x}", r.c.cluster_id), "{CLUSTER}".into()));
        subs.push((r.c.cluster_id.to_string(), "{CLUSTER#d}".into()));
        for (name, v) in &r.vars {
            subs.push((v.clone(), name.clone()));
        }
        subs.retain(|(v, _)| v.len() > 1);
        subs.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        Norm { subs, any_member: false }
    }

    fn text(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (v, name) in &self.subs {
            if v.chars().all(|c| c.is_ascii_digit()) {
                out = replace_number(&out, v, name);
            } else {
                out = out.replace(v.as_str(), name);
            }
        }
        // etcdctl pads member IDs to 16 columns with spaces (`%16x`).
        while out.contains("  {") {
            out = out.replace("  {", " {");
        }
        sort_attached_keys(&mask_took_field(&mask_remaining(&out)))
    }

    fn json(&self, v: &mut Value) {
        match v {
            Value::Object(m) => {
                for (k, val) in m.iter_mut() {
                    let any = self.any_member && k == "member_id";
                    if any || MASK_JSON.contains(&k.as_str()) || (k == "version" && val.is_string()) {
                        *val = Value::String("~".into());
                    } else {
                        self.json(val);
                        // Members come in ID order and a lease's keys from a Go
                        // map: neither order is comparable across clusters.
                        if let (true, Value::Array(a)) = (k == "members" || k == "keys", val) {
                            a.sort_by_key(|x| x.to_string());
                        }
                    }
                }
            }
            Value::Array(a) => {
                for x in a.iter_mut() {
                    self.json(x);
                }
            }
            Value::Number(n) => {
                let s = n.to_string();
                if let Some((_, name)) = self.subs.iter().find(|(val, _)| *val == s) {
                    *v = Value::String(name.clone());
                }
            }
            Value::String(s) => *s = self.text(s),
            _ => {}
        }
    }

    fn stream(&self, s: &str, how: &How) -> String {
        let mut lines: Vec<String> = Vec::new();
        let mut header: Option<Vec<String>> = None;
        for line in s.lines() {
            if line.starts_with("{\"level\":") {
                // A client log line: keep level, message and error; drop times,
                // client IDs and attempt counters; one line per run of retries.
                let l = self.log_line(line);
                if lines.last() != Some(&l) {
                    lines.push(l);
                }
            } else if (line.starts_with('{') || line.starts_with('[')) && serde_json::from_str::<Value>(line).is_ok() {
                let mut v: Value = serde_json::from_str(line).unwrap();
                self.json(&mut v);
                // `endpoint status/health --cluster -w json`: one entry per member.
                if let Value::Array(a) = &mut v {
                    a.sort_by_key(|x| x.to_string());
                }
                lines.push(v.to_string());
            } else if line.starts_with('+') && line.ends_with('+') {
                lines.push("+".into());
            } else if line.starts_with('|') && line.ends_with('|') && line.len() > 1 {
                let cells: Vec<String> = line[1..line.len() - 1].split('|').map(|c| self.text(c.trim())).collect();
                match &header {
                    None => {
                        lines.push(format!("| {} |", cells.join(" | ")));
                        header = Some(cells);
                    }
                    Some(h) => {
                        let cells: Vec<String> = cells
                            .iter()
                            .enumerate()
                            .map(|(i, c)| {
                                if h.get(i).is_some_and(|n| MASK_COLUMNS.contains(&n.as_str())) {
                                    "~".to_string()
                                } else {
                                    c.clone()
                                }
                            })
                            .collect();
                        lines.push(format!("| {} |", cells.join(" | ")));
                    }
                }
            } else if let Some(v) = line.strip_prefix("ETCD_INITIAL_CLUSTER=") {
                // Printed in member-ID order.
                let mut parts: Vec<String> = v.trim_matches('"').split(',').map(|p| self.text(p)).collect();
                parts.sort();
                lines.push(format!("ETCD_INITIAL_CLUSTER=\"{}\"", parts.join(",")));
            } else {
                header = None;
                let mut l = self.text(line);
                if let How::CsvSorted(mask) = how {
                    if l.contains(", ") {
                        l = l
                            .split(", ")
                            .enumerate()
                            .map(|(i, f)| if mask.contains(&i) { "~" } else { f })
                            .collect::<Vec<_>>()
                            .join(", ");
                    }
                }
                lines.push(l);
            }
        }
        if matches!(how, How::Sorted | How::CsvSorted(_)) {
            // Keep table borders and headers in place; sort the rest.
            let (mut fixed, mut rows): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
            for (i, l) in lines.into_iter().enumerate() {
                if l == "+" || (i == 1 && l.starts_with('|')) {
                    fixed.push(l);
                } else {
                    rows.push(l);
                }
            }
            rows.sort();
            fixed.extend(rows);
            lines = fixed;
        }
        lines.join("\n")
    }

    fn log_line(&self, line: &str) -> String {
        let Ok(v) = serde_json::from_str::<Value>(line) else { return self.text(line) };
        let get = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        self.text(&format!("LOG {}: {} error={}", get("level"), get("msg"), get("error")))
    }

    fn out(&self, out: &Out, how: &How) -> String {
        if matches!(how, How::CodeOnly) {
            return format!("exit {:?}", out.code);
        }
        format!("exit {:?}\n{}\n--- stderr\n{}", out.code, self.stream(&out.stdout, how), self.stream(&out.stderr, how))
    }
}

/// Replaces `num` where it is a whole number (not part of a longer one).
fn replace_number(s: &str, num: &str, name: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(num) {
        let before = rest[..i].chars().last();
        let after = rest[i + num.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(|c| c.is_ascii_alphanumeric()) || after.is_some_and(|c| c.is_ascii_alphanumeric()) {
            out.push_str(num);
        } else {
            out.push_str(name);
        }
        rest = &rest[i + num.len()..];
    }
    out.push_str(rest);
    out
}

/// `remaining(59s)` → `remaining(~)`; TTLs are checked by the scenarios.
fn mask_remaining(s: &str) -> String {
    let pat = "remaining(";
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find(pat) {
        out.push_str(&rest[..i + pat.len()]);
        rest = &rest[i + pat.len()..];
        let n = rest.find(')').unwrap_or(0);
        out.push('~');
        rest = &rest[n..];
    }
    out.push_str(rest);
    out
}

// ---------------------------------------------------------------------------
// Runners.

fn subject_flavor() -> Flavor {
    match std::env::var("CLUSTER_SUBJECT").as_deref() {
        Ok("etcd34") => Flavor::Etcd34,
        Ok("etcd35") => Flavor::Etcd35,
        _ => Flavor::Capstan,
    }
}

/// Runs a scenario on one cluster; fails on its own checks.
fn run_alone(flavor: Flavor, name: &str, scenario: fn(&mut Run)) {
    let mut r = Run::start(flavor, name);
    scenario(&mut r);
    assert!(r.steps.len() > 3, "[{name}] scenario ran too few commands");
    assert!(r.failures.is_empty(), "{} failed checks:\n{}", r.failures.len(), r.failures.join("\n"));
    eprintln!("[{name}] {flavor:?}: {} etcdctl commands, all checks passed", r.steps.len());
}

/// Runs a scenario on etcd 3.4 and on the subject; fails on either's checks
/// and on every output that differs after normalisation.
fn run_pair(name: &str, scenario: fn(&mut Run)) {
    let mut reference = Run::start(Flavor::Etcd34, name);
    scenario(&mut reference);
    reference.c.kill_all();
    let mut subject = Run::start(subject_flavor(), name);
    scenario(&mut subject);
    let (nr, ns) = (Norm::of(&reference), Norm::of(&subject));
    let mut failures = reference.failures.clone();
    failures.extend(subject.failures.iter().cloned());
    if reference.steps.len() != subject.steps.len() {
        failures.push(format!(
            "[{name}] the scenario ran {} commands on etcd and {} on {:?}",
            reference.steps.len(),
            subject.steps.len(),
            subject.c.flavor
        ));
    }
    let mut diffs = 0;
    for (a, b) in reference.steps.iter().zip(&subject.steps) {
        let any = a.what.starts_with("@all");
        let (nr, ns) = (Norm { any_member: any, ..nr.clone() }, Norm { any_member: any, ..ns.clone() });
        let (x, y) = (nr.out(&a.out, &a.how), ns.out(&b.out, &b.how));
        let (wa, wb) = (nr.text(&a.what), ns.text(&b.what));
        let x = format!("{wa}\n{x}");
        let y = format!("{wb}\n{y}");
        if x != y {
            diffs += 1;
            failures.push(format!(
                "[{name}] `etcdctl {}` differs (- etcd 3.4, + {:?}):\n{}",
                a.what,
                subject.c.flavor,
                diff(&x, &y)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures ({diffs} of {} commands differ):\n\n{}",
        failures.len(),
        reference.steps.len(),
        failures.join("\n\n")
    );
    eprintln!("[{name}] {} etcdctl commands match between etcd 3.4 and {:?}", subject.steps.len(), subject.c.flavor);
}

macro_rules! cluster_tests {
    ($($name:ident),* $(,)?) => {
        mod etcd34 {
            $(
                #[test]
                fn $name() {
                    super::run_alone(capstan_e2e::Flavor::Etcd34, stringify!($name), super::$name);
                }
            )*
        }
        mod capstan {
            $(
                #[test]
                fn $name() {
                    super::run_pair(stringify!($name), super::$name);
                }
            )*
        }
    };
}

cluster_tests!(kv, watch, lease, status, membership, move_leader, maintenance_auth);

// ---------------------------------------------------------------------------
// Scenarios.

/// The rest of the S1 etcdctl surface on a cluster: defrag, snapshot save,
/// alarms, hashkv, and auth set up at one member and used at the others.
fn maintenance_auth(r: &mut Run) {
    r.at(1, &["put", "foo", "0"]);
    r.at(2, &["put", "pre/a", "1"]);
    let o = r.at_how(1, &["defrag"], How::CodeOnly);
    r.expect_ok(&o);
    let o = r.at_how(0, &["alarm", "list"], How::Exact);
    r.expect_out(&o, "");
    r.at_how(2, &["alarm", "disarm"], How::Exact);
    // One path for both flavors (they run in this process one after the
    // other), so the recorded commands compare equal.
    let file = std::env::temp_dir().join(format!("capstan-e2e-snap-{}.db", std::process::id()));
    let _ = std::fs::remove_file(&file);
    let path = file.to_string_lossy().into_owned();
    let o = r.at_how(2, &["snapshot", "save", &path], How::CodeOnly);
    r.expect_ok(&o);
    r.expect(file.metadata().map(|m| m.len() > 0).unwrap_or(false), || "snapshot file is empty".into());
    let _ = std::fs::remove_file(&file);
    for args in [
        &["user", "add", "root", "--new-user-password=rootpw"][..],
        &["role", "add", "r1"],
        &["role", "grant-permission", "r1", "readwrite", "foo"],
        &["role", "grant-permission", "r1", "read", "--prefix", "pre/"],
        &["user", "add", "alice", "--new-user-password=apw"],
        &["user", "grant-role", "alice", "r1"],
    ] {
        r.at(1, args);
    }
    for role in 0..3 {
        r.at(role, &["user", "list"]);
        r.at(role, &["role", "get", "r1"]);
    }
    let o = r.at(2, &["auth", "enable"]);
    r.expect_ok(&o);
    for role in 0..3 {
        let o = r.at(role, &["--user", "alice:apw", "get", "foo"]);
        r.expect_out(&o, "foo\n0\n");
        r.at(role, &["--user", "alice:apw", "put", "bar", "1"]);
        r.at(role, &["--user", "alice:wrong", "get", "foo"]);
        r.at(role, &["get", "foo"]);
    }
    let o = r.at(0, &["--user", "alice:apw", "put", "foo", "2"]);
    r.expect_out(&o, "OK\n");
    let o = r.at(2, &["--user", "root:rootpw", "get", "foo"]);
    r.expect_out(&o, "foo\n2\n");
    r.at(1, &["--user", "root:rootpw", "auth", "disable"]);
    let o = r.at(0, &["get", "foo"]);
    r.expect_out(&o, "foo\n2\n");
}

/// Puts, gets, deletes and txns spread over the leader and both followers.
fn kv(r: &mut Run) {
    let o = r.at(1, &["put", "foo", "bar"]);
    r.expect_out(&o, "OK\n");
    let o = r.at(2, &["put", "foo", "bar2"]);
    r.expect_out(&o, "OK\n");
    let o = r.at(0, &["put", "fop", "x"]);
    r.expect_out(&o, "OK\n");
    for role in 0..3 {
        let o = r.at(role, &["get", "foo"]);
        r.expect_out(&o, "foo\nbar2\n");
        let o = r.at(role, &["get", "fo", "--prefix"]);
        r.expect_out(&o, "foo\nbar2\nfop\nx\n");
        // Serializable after a linearizable read at the same member: not older.
        let o = r.at(role, &["get", "foo", "--consistency=s"]);
        r.expect_out(&o, "foo\nbar2\n");
    }
    r.at(1, &["get", "foo", "-w", "json"]);
    r.at(2, &["put", "--prev-kv", "foo", "bar3"]);
    r.at(1, &["put", "--prev-kv", "-w", "json", "foo", "bar4"]);
    let o = r.at(2, &["del", "fop"]);
    r.expect_out(&o, "1\n");
    let o = r.at(1, &["get", "fop"]);
    r.expect_out(&o, "");
    r.at(0, &["del", "nothing"]);
    r.at(1, &["put", "a1", "1"]);
    r.at(1, &["put", "a2", "2"]);
    r.at(2, &["del", "a", "--prefix", "--prev-kv"]);
    // txn at a follower: success and failure branches.
    let t = txn(&["value(\"foo\") = \"bar4\""], &["put foo bar5", "put t1 v1"], &["get foo"]);
    let o = r.at_stdin(1, &["txn"], &t);
    r.expect_out(&o, "SUCCESS\n\nOK\n\nOK\n");
    let t = txn(&["value(\"foo\") = \"bar4\""], &["put foo never"], &["get foo"]);
    let o = r.at_stdin(2, &["txn"], &t);
    r.expect_out(&o, "FAILURE\n\nfoo\nbar5\n");
    r.at_stdin(2, &["txn", "-w", "json"], &txn(&["mod(\"t1\") > \"0\""], &["get t1"], &[]));
    let o = r.at(0, &["get", "t1"]);
    r.expect_out(&o, "t1\nv1\n");
    // Compaction at a follower; history reads at the others.
    let rev = r.revision(0);
    let o = r.at(2, &["get", "foo", "--rev=3"]);
    r.expect_out(&o, "foo\nbar2\n");
    let keep = (rev - 2).to_string();
    let o = r.at(1, &["compaction", &keep]);
    r.expect_out(&o, &format!("compacted revision {keep}\n"));
    let o = r.at(0, &["get", "foo", "--rev=3"]);
    r.expect(!o.ok() && o.stderr.contains("compacted"), || format!("read below the compaction: {o:?}"));
    r.at(2, &["get", "foo", "--rev=3"]);
    r.at(2, &["get", "foo", &format!("--rev={keep}"), "-w", "json"]);
    r.at(0, &["compaction", "2"]);
    r.all(&["get", "", "--prefix", "-w", "json"], How::Exact);
}

/// A watch on a follower sees writes done at the leader and the other follower.
fn watch(r: &mut Run) {
    r.at(0, &["put", "w/seed", "0"]);
    let from = (r.revision(0) + 1).to_string();
    let ep = r.c.endpoint(r.m(2));
    let w = Bg::spawn(&ep, &["watch", "--prefix", "w/", "--rev", &from]);
    let wj = Bg::spawn(&ep, &["watch", "--prefix", "w/", "--rev", &from, "-w", "json", "--prev-kv"]);
    r.at(1, &["put", "w/a", "1"]);
    r.at(0, &["put", "w/b", "2"]);
    r.at(1, &["del", "w/a"]);
    r.at_stdin(0, &["txn"], &txn(&[], &["put w/c 3", "put w/d 4"], &[]));
    r.at(1, &["put", "w/b", "last"]);
    let want = "PUT\nw/a\n1\nPUT\nw/b\n2\nDELETE\nw/a\n\nPUT\nw/c\n3\nPUT\nw/d\n4\nPUT\nw/b\nlast\n";
    let done = w.wait_for(Duration::from_secs(15), |s| s.len() >= want.len());
    let done_j = wj.wait_for(Duration::from_secs(15), |s| s.matches("\"Events\"").count() >= 5);
    let (o, oj) = (w.stop(), wj.stop());
    r.expect(done && o.stdout == want, || format!("watch at a follower: want {want:?}, got {o:?}"));
    r.expect(done_j, || format!("json watch at a follower saw {:?}", oj.stdout));
    r.record("watch --prefix w/ (at R2)".into(), Out { code: Some(0), ..o }, How::Exact);
    r.record("watch --prefix w/ -w json --prev-kv (at R2)".into(), Out { code: Some(0), ..oj }, How::Exact);
    // A watch from an old revision replays history, at every member.
    for role in 0..3 {
        let ep = r.c.endpoint(r.m(role));
        let w = Bg::spawn(&ep, &["watch", "--prefix", "w/", "--rev", &from]);
        let done = w.wait_for(Duration::from_secs(15), |s| s.len() >= want.len());
        let o = w.stop();
        r.expect(done && o.stdout == want, || format!("history watch at R{role}: {o:?}"));
    }
}

/// Lease grant, attach, keep-alive, time-to-live and expiry across members.
fn lease(r: &mut Run) {
    let id = r.lease_grant(1, "L1", 60);
    r.expect(!id.is_empty(), || "lease grant printed no ID".into());
    let o = r.at(2, &["put", "lk1", "v", "--lease", &id]);
    r.expect_out(&o, "OK\n");
    r.at(0, &["put", "lk2", "v", &format!("--lease={id}")]);
    for role in 0..3 {
        let o = r.at(role, &["lease", "timetolive", &id, "--keys"]);
        let ok = o.ok()
            && o.stdout.contains("granted with TTL(60s)")
            && o.stdout.contains("lk1")
            && o.stdout.contains("lk2");
        r.expect(ok, || format!("timetolive at R{role}: {o:?}"));
        let remaining = o
            .stdout
            .split("remaining(")
            .nth(1)
            .and_then(|s| s.split('s').next())
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(-1);
        r.expect((40..=60).contains(&remaining), || format!("timetolive at R{role}: remaining {remaining}"));
    }
    let o = r.at(2, &["lease", "keep-alive", "--once", &id]);
    r.expect_out(&o, &format!("lease {id} keepalived with TTL(60)\n"));
    r.at(1, &["lease", "timetolive", &id, "-w", "json"]);
    let o = r.at(0, &["lease", "list"]);
    r.expect_out(&o, &format!("found 1 leases\n{id}\n"));
    let o = r.at(0, &["lease", "revoke", &id]);
    r.expect_out(&o, &format!("lease {id} revoked\n"));
    let o = r.at(1, &["get", "lk", "--prefix"]);
    r.expect_out(&o, "");
    r.at(2, &["lease", "timetolive", &id]);

    // A short lease kept alive by a streaming keep-alive at a follower outlives its TTL...
    let short = r.lease_grant(2, "L2", 2);
    r.at(1, &["put", "ka", "v", "--lease", &short]);
    let granted = Instant::now();
    let ka = Bg::spawn(&r.c.endpoint(r.m(1)), &["lease", "keep-alive", &short]);
    let kept = ka.wait_for(Duration::from_secs(15), |s| s.matches("keepalived with TTL(2)").count() >= 3);
    r.expect(kept, || format!("streaming keep-alive printed {:?}", ka.stdout()));
    while granted.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let o = r.c.ctl_at(r.m(0), &["get", "ka", "--print-value-only"]);
    r.expect(o.stdout == "v\n", || format!("key lost while its lease was kept alive for 5 s (TTL 2 s): {o:?}"));
    drop(ka.stop());
    // ...and expires once the keep-alive stops: gone at every member.
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut gone = false;
    while Instant::now() < deadline && !gone {
        gone = (0..3).all(|role| r.c.ctl_at(r.m(role), &["get", "ka"]).stdout.is_empty());
        std::thread::sleep(Duration::from_millis(200));
    }
    r.expect(gone, || "key of an expired lease still there 15 s after its keep-alive stopped".into());
    let o = r.at(0, &["lease", "timetolive", &short]);
    r.expect_out(&o, &format!("lease {short} already expired\n"));
    r.at(2, &["lease", "list"]);
}

/// endpoint status / health with `--cluster`, member list, in every format.
fn status(r: &mut Run) {
    r.at(1, &["put", "k", "v"]);
    let (leader, rows) = r.cluster_status(true);
    let m0 = r.m(0);
    r.expect(leader == Some(m0), || format!("endpoint status says leader {leader:?}, Status RPC said m{m0}"));
    r.expect(rows.iter().all(|x| !x.learner), || format!("learners in a fresh cluster: {rows:?}"));
    // ENDPOINT, ID, VERSION, DB SIZE, IS LEADER, IS LEARNER, RAFT TERM, RAFT INDEX, RAFT APPLIED INDEX, ERRORS
    let o = r.all(&["endpoint", "status", "--cluster"], How::CsvSorted(vec![2, 3, 4, 6, 7, 8]));
    r.expect(o.ok() && o.stdout.lines().count() == 3, || format!("endpoint status --cluster: {o:?}"));
    let leader_lines = o.stdout.lines().filter(|l| l.split(", ").nth(4) == Some("true")).count();
    r.expect(leader_lines == 1, || format!("endpoint status --cluster: {leader_lines} leaders: {o:?}"));
    r.all(&["endpoint", "status", "--cluster", "-w", "table"], How::Sorted);
    let o = r.at_how(2, &["endpoint", "status"], How::CsvSorted(vec![2, 3, 4, 6, 7, 8]));
    r.expect(o.ok() && o.stdout.lines().count() == 1, || format!("endpoint status at one member: {o:?}"));
    let o = r.all(&["endpoint", "health", "--cluster"], How::Sorted);
    r.expect(o.ok() && o.stderr.matches("is healthy").count() + o.stdout.matches("is healthy").count() == 3, || {
        format!("endpoint health --cluster: {o:?}")
    });
    r.all(&["endpoint", "health", "--cluster", "-w", "json"], How::Sorted);
    r.all(&["endpoint", "health", "--cluster", "-w", "table"], How::Sorted);
    r.all(&["endpoint", "hashkv", "--cluster"], How::CodeOnly);
    let o = r.all(&["member", "list"], How::Sorted);
    r.expect(o.ok() && o.stdout.lines().filter(|l| l.contains(", started, ")).count() == 3, || {
        format!("member list: {o:?}")
    });
    r.all(&["member", "list", "-w", "json"], How::Exact);
    r.all(&["member", "list", "-w", "table"], How::Sorted);
    // Every member's view: three members, same cluster, raft index moving with writes.
    let before = r.cluster_status(false).1;
    for i in 0..5 {
        r.c.ctl_at(r.m(i % 3), &["put", &format!("more{i}"), "x"]);
    }
    let after = r.cluster_status(false).1;
    let grew = before.iter().zip(&after).all(|(b, a)| a.raft_index > b.raft_index);
    r.expect(grew, || format!("raft index did not advance with 5 writes: before {before:?}, after {after:?}"));
}

/// Polls until `f` returns Some, or fails the run after `timeout`.
fn poll<T>(r: &mut Run, what: &str, timeout: Duration, mut f: impl FnMut(&mut Run) -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f(r) {
            return Some(v);
        }
        if Instant::now() > deadline {
            r.expect(false, || format!("{what}: not reached within {timeout:?}"));
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs etcdctl at `role` until it succeeds (membership changes: etcd refuses
/// them with "unhealthy cluster" until every member has been connected for 5 s,
/// and promotes only learners that caught up); records the last answer.
fn at_until_ok(r: &mut Run, role: usize, args: &[&str], timeout: Duration) -> Out {
    let deadline = Instant::now() + timeout;
    loop {
        let o = r.c.ctl_at(r.m(role), args);
        if o.ok() || Instant::now() > deadline {
            return r.record(format!("@R{role} {} (until ok)", args.join(" ")), o, How::Exact);
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// member add (voter and learner), promote, remove and update.
fn membership(r: &mut Run) {
    r.at(0, &["put", "before", "add"]);
    // A voter: `member add`, then start it with `--initial-cluster-state existing`.
    let v = r.c.reserve_member().unwrap();
    r.roles.push(v);
    let name = r.c.members[v].name.clone();
    let peer = format!("--peer-urls={}", r.c.peer_url(v));
    let o = at_until_ok(r, 1, &["member", "add", &name, &peer], Duration::from_secs(20));
    r.expect_ok(&o);
    let added = parse_member_add(&o.stdout).unwrap_or_else(|e| panic!("[membership] {e:#}"));
    r.c.members[v].id = added.id;
    let o = r.all(&["member", "list"], How::Sorted);
    r.expect(o.stdout.contains(", unstarted, "), || format!("added member not listed as unstarted: {o:?}"));
    r.c.start_added(v, &added.initial_cluster).unwrap_or_else(|e| panic!("[membership] starting {name}: {e:#}"));
    let o = r.at(3, &["get", "before"]);
    r.expect_out(&o, "before\nadd\n");
    let o = r.at(3, &["put", "from-new", "1"]);
    r.expect_out(&o, "OK\n");
    let o = r.at(0, &["get", "from-new", "--print-value-only"]);
    r.expect_out(&o, "1\n");
    poll(r, "4 started members", Duration::from_secs(10), |r| {
        let o = r.c.ctl(&["member", "list"]);
        (o.stdout.matches(", started, ").count() == 4).then_some(())
    });
    r.all(&["member", "list"], How::Sorted);

    // A learner: add, start, serves serializable reads only, then promote.
    let (l, o) = r.c.add_member(true).unwrap_or_else(|e| panic!("[membership] adding a learner: {e:#}"));
    r.roles.push(l);
    let name = r.c.members[l].name.clone();
    r.record(format!("@all member add {name} --peer-urls={{PEER4}} --learner"), o, How::Exact);
    poll(r, "learner caught up", Duration::from_secs(10), |r| {
        let o = r.c.ctl_at(r.m(4), &["get", "from-new", "--consistency=s", "--print-value-only"]);
        (o.stdout == "1\n").then_some(())
    });
    let o = r.at(4, &["get", "from-new"]);
    r.expect(!o.ok(), || format!("a learner served a linearizable read: {o:?}"));
    let o = r.at(4, &["put", "to-learner", "x"]);
    r.expect(!o.ok(), || format!("a learner accepted a write: {o:?}"));
    r.all(&["member", "list", "-w", "json"], How::Exact);
    let (_, rows) = r.cluster_status(true);
    r.expect(rows.iter().filter(|x| x.learner).map(|x| x.index).collect::<Vec<_>>() == vec![l], || {
        format!("learners: {rows:?}")
    });
    let id = format!("{:x}", r.c.members[l].id);
    let o = at_until_ok(r, 1, &["member", "promote", &id], Duration::from_secs(20));
    r.expect_out(&o, &format!("Member {:>16} promoted in cluster {:16x}\n", id, r.c.cluster_id));
    r.c.members[l].learner = false;
    let o = r.at(4, &["put", "from-promoted", "1"]);
    r.expect_out(&o, "OK\n");
    let o = r.at(4, &["get", "from-promoted", "--print-value-only"]);
    r.expect_out(&o, "1\n");
    r.at(1, &["member", "promote", &id]);

    // Remove the added voter: the others go on without it.
    let vid = format!("{:x}", r.c.members[v].id);
    let o = at_until_ok(r, 0, &["member", "remove", &vid], Duration::from_secs(20));
    r.expect_out(&o, &format!("Member {:>16} removed from cluster {:16x}\n", vid, r.c.cluster_id));
    r.c.mark_removed(v);
    r.at(1, &["member", "remove", &vid]);
    let o = r.all(&["member", "list"], How::Sorted);
    r.expect(o.stdout.lines().count() == 4 && !o.stdout.contains(&vid), || format!("member list after remove: {o:?}"));
    let o = r.at(2, &["put", "after-remove", "1"]);
    r.expect_out(&o, "OK\n");

    // Update a follower's peer URL to another proxy in front of it.
    let f = r.m(2);
    let alias = r.c.add_peer_alias(f).unwrap();
    r.vars.push(("{ALIAS}".into(), alias.trim_start_matches("http://").to_string()));
    let fid = format!("{:x}", r.c.members[f].id);
    let o = at_until_ok(r, 1, &["member", "update", &fid, &format!("--peer-urls={alias}")], Duration::from_secs(20));
    r.expect_out(&o, &format!("Member {:>16} updated in cluster {:16x}\n", fid, r.c.cluster_id));
    let o = r.all(&["member", "list"], How::Sorted);
    r.expect(o.stdout.contains(&alias), || format!("member list after update: {o:?}"));
    let o = r.at(2, &["put", "after-update", "1"]);
    r.expect_out(&o, "OK\n");
    let o = r.at(0, &["get", "after-update", "--print-value-only"]);
    r.expect_out(&o, "1\n");
    r.at(0, &["member", "update", "1234", "--peer-urls=http://127.0.0.1:1"]);
    let (_, rows) = r.cluster_status(true);
    r.expect(rows.len() == 4, || format!("endpoint status after remove: {rows:?}"));
    let o = r.all(&["endpoint", "health", "--cluster"], How::Sorted);
    r.expect(o.ok(), || format!("endpoint health --cluster: {o:?}"));
}

/// move-leader to a follower; endpoint status shows the new leader.
fn move_leader(r: &mut Run) {
    r.at(1, &["put", "k", "v"]);
    let target = r.m(1);
    let tid = format!("{:x}", r.c.members[target].id);
    let lid = format!("{:x}", r.c.members[r.m(0)].id);
    let o = r.all(&["move-leader", &tid], How::Exact);
    r.expect_out(&o, &format!("Leadership transferred from {lid} to {tid}\n"));
    let moved = poll(r, "leader moved (endpoint status)", Duration::from_secs(10), |r| {
        let (leader, _) = r.cluster_status(false);
        (leader == Some(target)).then_some(())
    });
    if moved.is_some() {
        r.cluster_status(true);
    }
    let l = r.c.wait_leader(Duration::from_secs(10)).ok();
    r.expect(l == Some(target), || format!("Status RPC: leader {l:?}, moved to m{target}"));
    let o = r.at(2, &["put", "k", "after-move"]);
    r.expect_out(&o, "OK\n");
    let o = r.at(0, &["get", "k", "--print-value-only"]);
    r.expect_out(&o, "after-move\n");
    // Errors: an unknown target, a target that already leads, and no leader among the endpoints.
    r.all(&["move-leader", "1234"], How::Exact);
    r.all(&["move-leader", &tid], How::Exact);
    r.at(2, &["move-leader", &lid]);
    // And back to the first leader.
    let o = r.all(&["move-leader", &lid], How::Exact);
    r.expect_out(&o, &format!("Leadership transferred from {tid} to {lid}\n"));
    poll(r, "leader moved back", Duration::from_secs(10), |r| {
        let (leader, _) = r.cluster_status(false);
        (leader == Some(r.m(0))).then_some(())
    });
}
