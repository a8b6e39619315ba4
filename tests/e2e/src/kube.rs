//! Harness for the Kubernetes API end-to-end tests: starts `capstan up`
//! (embedded etcd + API server) or Debian's etcd 3.4 + `capstan apiserver`
//! on free loopback ports in a temp dir, and runs the real kubectl (v1.34 from
//! `.tools/bin`, Debian's 1.20 from `.tools/kubectl-1.20`) and helm v4 (from
//! `.tools/bin`) against it.
//!
//! On a failing test the temp dir is kept and the tail of the server log is
//! printed, so the failure can be read next to what the server said.

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::{capstan_bin, free_port, repo_root, Flavor, Member};

/// How long one kubectl invocation may take before it is killed.
pub const KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a server gets to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(90);

/// kubectl v1.34, installed by scripts/test-deps.sh.
pub fn kubectl_bin() -> PathBuf {
    repo_root().join(".tools/bin/kubectl")
}

/// helm v4, installed by scripts/test-deps.sh.
pub fn helm_bin() -> PathBuf {
    repo_root().join(".tools/bin/helm")
}

/// How long one helm invocation may take before it is killed.
pub const HELM_TIMEOUT: Duration = Duration::from_secs(120);

/// Debian's kubectl 1.20 (package kubernetes-client), unpacked by scripts/test-deps.sh.
pub fn kubectl120_bin() -> PathBuf {
    repo_root().join(".tools/kubectl-1.20/usr/bin/kubectl")
}

/// A file under `tests/e2e/testdata`.
pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata").join(rel)
}

/// Which way the API server is backed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `capstan up`: embedded etcd-compat and the API server in one process.
    Up,
    /// Debian's etcd 3.4 and `capstan apiserver --etcd-servers`.
    Etcd34,
}

/// A running API server (and its etcd), killed on drop.
pub struct KubeCluster {
    pub backend: Backend,
    /// Root of everything this cluster writes (temp dir).
    pub dir: PathBuf,
    /// `--data-dir` of `capstan up` (for [`Backend::Etcd34`], the cert/kubeconfig dir).
    pub data_dir: PathBuf,
    pub kubeconfig: PathBuf,
    pub https_port: u16,
    pub etcd_client_port: u16,
    pub etcd_peer_port: u16,
    /// Server stdout+stderr (appended across restarts).
    pub log: PathBuf,
    server: Option<Child>,
    etcd: Option<Member>,
    tmp: Option<tempfile::TempDir>,
}

impl KubeCluster {
    /// `capstan up` on free ports in a fresh temp dir.
    pub fn start_up() -> KubeCluster {
        Self::start(Backend::Up).expect("starting capstan up")
    }

    /// Debian's etcd 3.4 on free ports, then `capstan apiserver` against it.
    pub fn start_on_etcd34() -> KubeCluster {
        Self::start(Backend::Etcd34).expect("starting etcd 3.4 + capstan apiserver")
    }

    /// Starts a cluster of the given backend.
    pub fn start(backend: Backend) -> Result<KubeCluster> {
        let tmp = tempfile::Builder::new().prefix("capstan-kube-").tempdir()?;
        let dir = tmp.path().to_path_buf();
        let data_dir = dir.join("data");
        std::fs::create_dir_all(dir.join("home"))?;
        let mut c = KubeCluster {
            backend,
            kubeconfig: data_dir.join("kubeconfig"),
            data_dir,
            log: dir.join("capstan.log"),
            dir,
            https_port: 0,
            etcd_client_port: 0,
            etcd_peer_port: 0,
            server: None,
            etcd: None,
            tmp: Some(tmp),
        };
        if backend == Backend::Etcd34 {
            let m = Member::start(Flavor::Etcd34, &[]).context("starting etcd 3.4")?;
            c.etcd_client_port = m.port;
            c.etcd = Some(m);
        }
        // Free ports are picked one at a time, so parallel tests can race for one:
        // on a failed start, try again on fresh ports with a clean data dir.
        let mut last = None;
        for _ in 0..3 {
            c.https_port = free_port();
            if backend == Backend::Up {
                c.etcd_client_port = free_port();
                c.etcd_peer_port = free_port();
            }
            match c.spawn_server() {
                Ok(()) => return Ok(c),
                Err(e) => {
                    c.kill_server();
                    if backend == Backend::Up {
                        let _ = std::fs::remove_dir_all(&c.data_dir);
                    }
                    c.print_log_tail(40);
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("{backend:?} did not start")))
    }

    /// The API's base URL.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.https_port)
    }

    /// The etcd client URL (embedded for [`Backend::Up`], Debian's for [`Backend::Etcd34`]).
    pub fn etcd_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.etcd_client_port)
    }

    fn spawn_server(&mut self) -> Result<()> {
        let log = OpenOptions::new().create(true).append(true).open(&self.log)?;
        let mut cmd = Command::new(capstan_bin());
        match self.backend {
            Backend::Up => {
                cmd.arg("up")
                    .arg("--data-dir")
                    .arg(&self.data_dir)
                    .args(["--https-port", &self.https_port.to_string()])
                    .args(["--etcd-client-port", &self.etcd_client_port.to_string()])
                    .args(["--etcd-peer-port", &self.etcd_peer_port.to_string()])
                    .args(["--bind-address", "127.0.0.1"]);
            }
            Backend::Etcd34 => {
                std::fs::create_dir_all(&self.data_dir)?;
                cmd.arg("apiserver")
                    .args(["--etcd-servers", &self.etcd_url()])
                    .args(["--secure-port", &self.https_port.to_string()])
                    .args(["--bind-address", "127.0.0.1"])
                    .arg("--cert-dir")
                    .arg(self.data_dir.join("pki"))
                    .arg("--write-kubeconfig")
                    .arg(&self.kubeconfig);
            }
        }
        cmd.env("NO_COLOR", "1");
        writeln!(&log, "=== {} ===", describe_cmd(&cmd))?;
        cmd.stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
        self.server = Some(cmd.spawn().context("spawning capstan")?);
        self.wait_ready(READY_TIMEOUT)
    }

    /// Waits until the process said it is up (for `up`) and `/readyz` answers `ok`.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        loop {
            if let Some(c) = self.server.as_mut() {
                if let Some(st) = c.try_wait()? {
                    bail!("capstan exited early: {st}; log tail:\n{}", self.log_tail(30));
                }
            }
            if self.kubeconfig.exists() {
                let out = self.kubectl_timeout(&["get", "--raw", "/readyz"], Duration::from_secs(10));
                let stdout = String::from_utf8_lossy(&out.stdout).to_string();
                if out.status.success() && stdout.trim() == "ok" {
                    return Ok(());
                }
                last = format!("{}{}", stdout, String::from_utf8_lossy(&out.stderr));
            }
            if Instant::now() > deadline {
                bail!("API server on {} not ready after {timeout:?}; last /readyz: {last}", self.url());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn kill_server(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// kill -9 the server and start it again on the same ports and data dir
    /// (`capstan up`: etcd and API; etcd 3.4: only `capstan apiserver`, etcd keeps running).
    pub fn restart(&mut self) {
        self.kill_server();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.spawn_server() {
                Ok(()) => return,
                Err(e) if Instant::now() < deadline => {
                    // The killed process may still hold its ports or files for a moment.
                    eprintln!("restart: {e:#}; retrying");
                    self.kill_server();
                    std::thread::sleep(Duration::from_millis(300));
                }
                Err(e) => panic!("restarting capstan: {e:#}"),
            }
        }
    }

    /// kill -9 the server without restarting it.
    pub fn stop(&mut self) {
        self.kill_server();
    }

    /// The last `n` lines of the server log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    fn print_log_tail(&self, n: usize) {
        eprintln!("----- capstan log tail ({}) -----\n{}\n-----", self.log.display(), self.log_tail(n));
    }

    /// A command for a kubectl binary with this cluster's kubeconfig and a private $HOME
    /// (so the discovery cache is per cluster).
    pub fn kubectl_command(&self, bin: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin);
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.join("home"))
            .env_remove("KUBECTL_EXTERNAL_DIFF")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .current_dir(&self.dir);
        cmd
    }

    /// Runs kubectl v1.34 and captures its output (killed after [`KUBECTL_TIMEOUT`]).
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_timeout(args, KUBECTL_TIMEOUT)
    }

    /// Runs kubectl v1.34 with a timeout.
    pub fn kubectl_timeout(&self, args: &[&str], timeout: Duration) -> Output {
        run_with_timeout(self.kubectl_command(&kubectl_bin(), args), None, timeout)
    }

    /// Runs kubectl v1.34 with `input` on stdin (e.g. `-f -`).
    pub fn kubectl_stdin(&self, args: &[&str], input: &str) -> Output {
        run_with_timeout(self.kubectl_command(&kubectl_bin(), args), Some(input.as_bytes()), KUBECTL_TIMEOUT)
    }

    /// Runs kubectl v1.34, asserts it succeeded and returns its stdout.
    #[track_caller]
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        self.expect_ok("kubectl", args, &out)
    }

    /// Runs kubectl v1.34 with stdin, asserts it succeeded and returns its stdout.
    #[track_caller]
    pub fn kubectl_stdin_ok(&self, args: &[&str], input: &str) -> String {
        let out = self.kubectl_stdin(args, input);
        self.expect_ok("kubectl", args, &out)
    }

    /// Runs kubectl v1.34, asserts it FAILED and returns its stderr.
    #[track_caller]
    pub fn kubectl_err(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        self.expect_err("kubectl", args, &out)
    }

    /// Runs kubectl v1.34 with stdin, asserts it FAILED and returns its stderr.
    #[track_caller]
    pub fn kubectl_stdin_err(&self, args: &[&str], input: &str) -> String {
        let out = self.kubectl_stdin(args, input);
        self.expect_err("kubectl", args, &out)
    }

    /// Runs Debian's kubectl 1.20.
    pub fn kubectl120(&self, args: &[&str]) -> Output {
        run_with_timeout(self.kubectl_command(&kubectl120_bin(), args), None, KUBECTL_TIMEOUT)
    }

    /// Runs Debian's kubectl 1.20, asserts it succeeded and returns its stdout.
    #[track_caller]
    pub fn kubectl120_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl120(args);
        self.expect_ok("kubectl-1.20", args, &out)
    }

    /// Starts kubectl v1.34 in the background (for `get -w`, `wait`), reading its stdout by line.
    pub fn kubectl_spawn(&self, args: &[&str]) -> Background {
        let mut cmd = self.kubectl_command(&kubectl_bin(), args);
        Background::spawn(&mut cmd, format!("kubectl {}", args.join(" ")))
    }

    /// A command for helm v4 with this cluster's kubeconfig, a private $HOME and
    /// private Helm cache/config/data dirs under the cluster's temp dir (so tests
    /// share no repositories, plugins or registry logins).
    pub fn helm_command(&self, args: &[&str]) -> Command {
        let helm_home = self.dir.join("helm");
        let mut cmd = Command::new(helm_bin());
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", self.dir.join("home"))
            .env("HELM_CACHE_HOME", helm_home.join("cache"))
            .env("HELM_CONFIG_HOME", helm_home.join("config"))
            .env("HELM_DATA_HOME", helm_home.join("data"))
            .env("NO_COLOR", "1")
            .env_remove("HELM_NAMESPACE")
            .env_remove("HELM_KUBECONTEXT")
            .env_remove("HELM_DRIVER")
            .env_remove("HELM_DEBUG")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .current_dir(&self.dir);
        cmd
    }

    /// Runs helm v4 and captures its output (killed after [`HELM_TIMEOUT`]).
    pub fn helm(&self, args: &[&str]) -> Output {
        run_with_timeout(self.helm_command(args), None, HELM_TIMEOUT)
    }

    /// Runs helm v4, asserts it succeeded and returns its stdout.
    #[track_caller]
    pub fn helm_ok(&self, args: &[&str]) -> String {
        let out = self.helm(args);
        self.expect_ok("helm", args, &out)
    }

    /// Runs helm v4, asserts it FAILED and returns its stderr.
    #[track_caller]
    pub fn helm_err(&self, args: &[&str]) -> String {
        let out = self.helm(args);
        self.expect_err("helm", args, &out)
    }

    #[track_caller]
    fn expect_ok(&self, what: &str, args: &[&str], out: &Output) -> String {
        if !out.status.success() {
            panic!("`{what} {}` failed ({}):\n{}", args.join(" "), out.status, show(out));
        }
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    #[track_caller]
    fn expect_err(&self, what: &str, args: &[&str], out: &Output) -> String {
        if out.status.success() {
            panic!("`{what} {}` succeeded but should have failed:\n{}", args.join(" "), show(out));
        }
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Writes `contents` to `name` in the cluster's dir and returns the path.
    pub fn write_file(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.dir.join(name);
        std::fs::write(&p, contents).expect("writing a test file");
        p
    }

    /// A kube-rs client from the admin kubeconfig.
    pub async fn client(&self) -> Result<::kube::Client> {
        let kc = ::kube::config::Kubeconfig::read_from(&self.kubeconfig)?;
        let cfg = ::kube::Config::from_custom_kubeconfig(kc, &::kube::config::KubeConfigOptions::default()).await?;
        Ok(::kube::Client::try_from(cfg)?)
    }
}

impl Drop for KubeCluster {
    fn drop(&mut self) {
        self.kill_server();
        if let Some(mut m) = self.etcd.take() {
            m.kill9();
        }
        if std::thread::panicking() {
            self.print_log_tail(80);
            if let Some(t) = self.tmp.take() {
                eprintln!("keeping {} for inspection", t.keep().display());
            }
        }
    }
}

/// stdout and stderr of a finished command, for messages.
pub fn show(out: &Output) -> String {
    format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn describe_cmd(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Runs `cmd` to completion, feeding `stdin`, killing it after `timeout`.
pub fn run_with_timeout(mut cmd: Command, stdin: Option<&[u8]>, timeout: Duration) -> Output {
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let what = describe_cmd(&cmd);
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawning `{what}`: {e}"));
    if let Some(input) = stdin {
        let mut w = child.stdin.take().expect("stdin");
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = w.write_all(&input);
        });
    }
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out_pipe.read_to_end(&mut v);
        v
    });
    let err_t = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err_pipe.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        if let Some(st) = child.try_wait().expect("waiting for a child") {
            break st;
        }
        if Instant::now() > deadline {
            timed_out = true;
            let _ = child.kill();
            break child.wait().expect("waiting for a killed child");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out_t.join().unwrap_or_default();
    let mut stderr = err_t.join().unwrap_or_default();
    if timed_out {
        stderr.extend_from_slice(format!("\n[harness: `{what}` killed after {timeout:?}]\n").as_bytes());
    }
    Output { status, stdout, stderr }
}

/// A background process whose stdout is read line by line.
pub struct Background {
    pub what: String,
    child: Child,
    lines: Receiver<String>,
    /// Every stdout line read so far.
    pub seen: Vec<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
}

impl Background {
    fn spawn(cmd: &mut Command, what: String) -> Background {
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawning `{what}`: {e}"));
        let out = child.stdout.take().expect("stdout");
        let mut err = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            loop {
                match err.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sink.lock().expect("stderr buffer").extend_from_slice(&buf[..n]),
                }
            }
        });
        Background { what, child, lines: rx, seen: Vec::new(), stderr }
    }

    /// Reads lines until one satisfies `pred` (returned), or panics after `timeout`.
    #[track_caller]
    pub fn wait_line(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if pred(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!(
                        "`{}`: no matching line after {timeout:?}; lines so far:\n{}\nstderr:\n{}",
                        self.what,
                        self.seen.join("\n"),
                        self.stderr_text()
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(Duration::from_millis(50));
                    panic!(
                        "`{}`: stdout closed (exit {:?}) before a matching line; lines:\n{}\nstderr:\n{}",
                        self.what,
                        self.child.try_wait().ok().flatten(),
                        self.seen.join("\n"),
                        self.stderr_text()
                    )
                }
            }
        }
    }

    /// Waits until stderr contains `needle`; returns whether it did within `timeout`.
    pub fn wait_stderr(&self, timeout: Duration, needle: &str) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.stderr_text().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// What the process wrote to stderr so far.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().expect("stderr buffer")).into_owned()
    }

    /// Waits for the process to exit; returns its status and all of its stdout lines.
    #[track_caller]
    pub fn wait_exit(&mut self, timeout: Duration) -> (ExitStatus, Vec<String>) {
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                break st;
            }
            if Instant::now() > deadline {
                panic!(
                    "`{}` still running after {timeout:?}; stdout:\n{}\nstderr:\n{}",
                    self.what,
                    self.seen.join("\n"),
                    self.stderr_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            self.seen.push(line);
        }
        (status, self.seen.clone())
    }

    /// Kills the process.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The whitespace-separated columns of the first line of `table` whose first column is `name`.
pub fn row<'a>(table: &'a str, name: &str) -> Option<Vec<&'a str>> {
    table.lines().map(|l| l.split_whitespace().collect::<Vec<_>>()).find(|cols| cols.first() == Some(&name))
}

/// The value after `key:` on the first line of a `kubectl describe` that starts with it.
pub fn describe_field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let prefix = format!("{key}:");
    text.lines().find_map(|l| l.strip_prefix(prefix.as_str())).map(str::trim)
}

/// Calls `f` every 100 ms until it returns `Ok`, panicking with `what` and the
/// last `Err` after `timeout`.
#[track_caller]
pub fn poll_until<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        match f() {
            Ok(v) => return v,
            Err(last) if Instant::now() > deadline => panic!("{what}: not reached after {timeout:?}; last: {last}"),
            Err(_) => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

/// `metadata.managedFields` of an object (as printed by `kubectl get -o json --show-managed-fields`).
pub fn managed_fields(obj: &serde_json::Value) -> Vec<serde_json::Value> {
    obj["metadata"]["managedFields"].as_array().cloned().unwrap_or_default()
}

/// The managedFields entry of `manager` with `operation` (`Apply`/`Update`) on
/// `subresource` (`None`: the main resource, i.e. no or an empty `subresource`).
pub fn managed_entry(
    obj: &serde_json::Value,
    manager: &str,
    operation: &str,
    subresource: Option<&str>,
) -> Option<serde_json::Value> {
    managed_fields(obj).into_iter().find(|e| {
        e["manager"] == manager
            && e["operation"] == operation
            && e["subresource"].as_str().filter(|s| !s.is_empty()) == subresource
    })
}

/// A file under `tests/e2e/testdata` as a kubectl argument.
pub fn testdata_arg(rel: &str) -> String {
    testdata(rel).to_string_lossy().into_owned()
}

#[track_caller]
pub fn assert_has(haystack: &str, needle: &str) {
    assert!(haystack.contains(needle), "expected {needle:?} in:\n{haystack}");
}

#[track_caller]
pub fn assert_lacks(haystack: &str, needle: &str) {
    assert!(!haystack.contains(needle), "did not expect {needle:?} in:\n{haystack}");
}

/// The columns of a table's first line.
pub fn header(table: &str) -> Vec<&str> {
    table.lines().next().unwrap_or_default().split_whitespace().collect()
}

/// [`row`], or a panic showing the table.
#[track_caller]
pub fn row_of<'a>(table: &'a str, name: &str) -> Vec<&'a str> {
    row(table, name).unwrap_or_else(|| panic!("no row {name:?} in:\n{table}"))
}

/// A line predicate: the first columns are `want`.
pub fn starts(want: &'static [&'static str]) -> impl Fn(&str) -> bool {
    move |l: &str| l.split_whitespace().take(want.len()).eq(want.iter().copied())
}

/// `kubectl get ARGS -o json`, parsed.
#[track_caller]
pub fn get_json(c: &KubeCluster, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["get"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["-o", "json"]);
    let out = c.kubectl_ok(&a);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("kubectl {a:?} printed no JSON ({e}):\n{out}"))
}
