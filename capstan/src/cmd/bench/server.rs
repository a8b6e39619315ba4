//! Starting the servers under test: Debian's etcd, or `capstan etcd` by
//! re-executing this binary, both with etcd's flags on free loopback ports and
//! a fresh data dir. Each is killed (and its data removed) on drop.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use etcd_compat::proto::etcdserverpb::kv_client::KvClient;
use etcd_compat::proto::etcdserverpb::RangeRequest;
use tonic::transport::Endpoint;

use super::stats;

const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Which server a [`Server`] runs.
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

/// A running server process, killed on drop.
pub struct Server {
    pub flavor: Flavor,
    url: String,
    child: Child,
    _dir: tempfile::TempDir,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Server {
    /// Starts `flavor` in a fresh data dir and waits until it serves a Range.
    pub async fn start(flavor: Flavor, launch: &Launch) -> anyhow::Result<Server> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("capstan-bench-{}-", flavor.name()))
            .tempdir_in(&launch.data_root)
            .with_context(|| format!("creating a data dir under {}", launch.data_root.display()))?;
        let data_dir = dir.path().join("data");
        let url = format!("http://127.0.0.1:{}", free_port()?);
        let peer = format!("http://127.0.0.1:{}", free_port()?);
        let mut cmd = match flavor {
            Flavor::Etcd => Command::new(&launch.etcd_bin),
            Flavor::Capstan => {
                let mut c = Command::new(&launch.capstan_bin);
                c.arg("etcd");
                c
            }
        };
        cmd.args(["--name", "bench"])
            .arg("--data-dir")
            .arg(&data_dir)
            .args(["--listen-client-urls", &url, "--advertise-client-urls", &url])
            .args(["--listen-peer-urls", &peer, "--initial-advertise-peer-urls", &peer])
            .arg("--initial-cluster")
            .arg(format!("bench={peer}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if std::env::var_os("BENCH_VERBOSE").is_some() {
            cmd.stderr(Stdio::inherit());
        }
        let child = cmd.spawn().with_context(|| format!("spawning {} ({:?})", flavor.name(), cmd.get_program()))?;
        let mut server = Server { flavor, url, child, _dir: dir };
        server.wait_ready().await?;
        Ok(server)
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("{} exited during startup: {status}", self.flavor.name());
            }
            if let Ok(ep) = Endpoint::from_shared(self.url.clone()) {
                if let Ok(ch) = ep.connect().await {
                    let req = RangeRequest { key: b"health".to_vec(), ..Default::default() };
                    if KvClient::new(ch).range(req).await.is_ok() {
                        return Ok(());
                    }
                }
            }
            if Instant::now() > deadline {
                bail!("{} on {} not ready after {READY_TIMEOUT:?}", self.flavor.name(), self.url);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Current resident memory (KiB), `None` if /proc could not be read.
    pub fn rss_kib(&self) -> Option<u64> {
        stats::rss_kib(self.pid()).ok()
    }

    /// Fails if the process has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited: {status}", self.flavor.name());
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The etcd binary to compare against, checked to exist.
pub fn check_bin(path: &Path) -> anyhow::Result<()> {
    if !path.is_file() {
        bail!("{} not found (install Debian's etcd-server or pass --etcd-bin)", path.display());
    }
    Ok(())
}
