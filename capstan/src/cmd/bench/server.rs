//! One server process under test: Debian's etcd, or `capstan etcd` by
//! re-executing this binary, started with etcd's flags. Killed on drop;
//! [`super::cluster::Cluster`] groups members and owns their data dirs.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};

use super::stats;

/// Which server a cluster runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Etcd,
    Capstan,
}

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Etcd => "etcd",
            Flavor::Capstan => "capstan",
        }
    }
}

/// How to start each flavor.
#[derive(Debug, Clone)]
pub struct Launch {
    pub etcd_bin: PathBuf,
    pub capstan_bin: PathBuf,
    /// Parent of the temporary data dirs.
    pub data_root: PathBuf,
}

/// A free loopback port (bound and released; the caller retries on a clash).
pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Where and how one member runs: everything needed to (re)start it.
#[derive(Debug, Clone)]
pub struct MemberSpec {
    pub name: String,
    pub client_url: String,
    pub peer_url: String,
    pub data_dir: PathBuf,
    /// Its stderr goes here (unless `BENCH_VERBOSE` is set).
    pub log: PathBuf,
    /// `n1=http://…,n2=http://…`
    pub initial_cluster: String,
    pub token: String,
}

/// A running member process, killed (SIGKILL) on drop.
pub struct Member {
    pub flavor: Flavor,
    pub spec: MemberSpec,
    child: Option<Child>,
}

impl Member {
    /// Spawns the member; does not wait for it to serve.
    pub fn spawn(flavor: Flavor, launch: &Launch, spec: MemberSpec) -> anyhow::Result<Member> {
        let mut cmd = match flavor {
            Flavor::Etcd => Command::new(&launch.etcd_bin),
            Flavor::Capstan => {
                let mut c = Command::new(&launch.capstan_bin);
                c.arg("etcd");
                c
            }
        };
        cmd.args(["--name", &spec.name])
            .arg("--data-dir")
            .arg(&spec.data_dir)
            .args(["--listen-client-urls", &spec.client_url, "--advertise-client-urls", &spec.client_url])
            .args(["--listen-peer-urls", &spec.peer_url, "--initial-advertise-peer-urls", &spec.peer_url])
            .args(["--initial-cluster", &spec.initial_cluster])
            .args(["--initial-cluster-state", "new", "--initial-cluster-token", &spec.token])
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if std::env::var_os("BENCH_VERBOSE").is_some() {
            cmd.stderr(Stdio::inherit());
        } else {
            let log = File::create(&spec.log).with_context(|| format!("creating {}", spec.log.display()))?;
            cmd.stderr(log);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("spawning {} member {} ({:?})", flavor.name(), spec.name, cmd.get_program()))?;
        Ok(Member { flavor, spec, child: Some(child) })
    }

    /// The process id, `None` once killed.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Resident memory (KiB), `None` if killed or /proc is unreadable.
    pub fn rss_kib(&self) -> Option<u64> {
        stats::rss_kib(self.pid()?).ok()
    }

    /// Fails (with the tail of its log) if the process has exited or was killed.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        let Some(child) = self.child.as_mut() else {
            bail!("{} member {} was killed", self.flavor.name(), self.spec.name);
        };
        if let Some(status) = child.try_wait()? {
            bail!("{} member {} exited: {status}{}", self.flavor.name(), self.spec.name, self.log_tail());
        }
        Ok(())
    }

    /// SIGKILLs the process and reaps it; returns the instant just before the signal.
    pub fn kill(&mut self) -> Instant {
        let at = Instant::now();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        at
    }

    /// The last lines of the member's log, formatted for an error message.
    pub fn log_tail(&self) -> String {
        const LINES: usize = 8;
        match std::fs::read_to_string(&self.spec.log) {
            Ok(text) if !text.trim().is_empty() => {
                let lines: Vec<&str> = text.lines().collect();
                let tail = lines[lines.len().saturating_sub(LINES)..].join("\n    ");
                format!("\n  last lines of its log:\n    {tail}")
            }
            _ => String::from("\n  (no log output; BENCH_VERBOSE=1 passes the servers' stderr through)"),
        }
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The etcd binary to compare against, checked to exist.
pub fn check_bin(path: &Path) -> anyhow::Result<()> {
    if !path.is_file() {
        bail!("{} not found (install Debian's etcd-server or pass --etcd-bin)", path.display());
    }
    Ok(())
}
