//! The server under test as child processes: `capstan up` (embedded etcd and
//! API server in one process, on free ports in a temp dir), or, to separate
//! their memory, `capstan etcd` plus `capstan apiserver` as two processes.
//! Everything is killed and the data removed on drop.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::super::cluster::Cluster;
use super::super::server::{free_port, Flavor, Launch};
use super::super::stats;
use super::client;

/// How long the server may take to print "capstan is up" and serve.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// Starts tried on fresh ports when the server exits during startup (a port clash).
const START_ATTEMPTS: usize = 3;

/// A running API server. Field order matters: the processes die before the
/// temp dir holding their data is removed.
pub struct ApiProc {
    child: Child,
    pid: u32,
    pub addr: SocketAddr,
    pub tls: Arc<rustls::ClientConfig>,
    log: PathBuf,
    /// The separate etcd of a split setup.
    etcd: Option<Cluster>,
    _dir: tempfile::TempDir,
}

fn verbose() -> bool {
    std::env::var_os("BENCH_VERBOSE").is_some()
}

fn stderr_to(log: &Path) -> anyhow::Result<Stdio> {
    if verbose() {
        return Ok(Stdio::inherit());
    }
    Ok(File::create(log).with_context(|| format!("creating {}", log.display()))?.into())
}

impl ApiProc {
    /// `capstan up` on free ports; retried on fresh ports if it dies while starting.
    pub async fn up(launch: &Launch) -> anyhow::Result<ApiProc> {
        let mut attempt = 1;
        loop {
            match Self::up_once(launch).await {
                Ok(p) => return Ok(p),
                Err(e) if attempt < START_ATTEMPTS => {
                    eprintln!("note: {e:#}; retrying on fresh ports");
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn up_once(launch: &Launch) -> anyhow::Result<ApiProc> {
        let dir = tempfile::Builder::new().prefix("capstan-bench-apiserver-").tempdir_in(&launch.data_root)?;
        let data = dir.path().join("data");
        let log = dir.path().join("up.log");
        let port = free_port()?;
        let mut cmd = Command::new(&launch.capstan_bin);
        cmd.arg("up")
            .arg("--data-dir")
            .arg(&data)
            .args(["--https-port", &port.to_string()])
            .args(["--etcd-client-port", &free_port()?.to_string()])
            .args(["--etcd-peer-port", &free_port()?.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr_to(&log)?)
            .kill_on_drop(true);
        let mut child = cmd.spawn().with_context(|| format!("spawning {} up", launch.capstan_bin.display()))?;
        let pid = child.id().context("capstan up exited at once")?;
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let mut lines = BufReader::new(stdout).lines();
        let wait_up = async {
            while let Some(line) = lines.next_line().await? {
                if line.contains("capstan is up") {
                    return Ok(true);
                }
            }
            Ok::<_, std::io::Error>(false)
        };
        let up = tokio::time::timeout(START_TIMEOUT, wait_up).await;
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        match up {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) | Ok(Err(_)) => {
                let status = child.try_wait()?.map(|s| format!(" ({s})")).unwrap_or_default();
                bail!("capstan up closed its stdout without printing \"capstan is up\"{status}{}", log_tail(&log))
            }
            Err(_) => bail!("capstan up did not print \"capstan is up\" in {START_TIMEOUT:?}{}", log_tail(&log)),
        }
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        let tls = client::tls_config(&data.join("pki"))?;
        client::wait_ready(addr, tls.clone(), START_TIMEOUT).await.map_err(|e| e.context(log_tail(&log)))?;
        Ok(ApiProc { child, pid, addr, tls, log, etcd: None, _dir: dir })
    }

    /// `capstan etcd` (one member) and `capstan apiserver` against it, as two processes.
    pub async fn split(launch: &Launch) -> anyhow::Result<ApiProc> {
        let etcd = Cluster::start(Flavor::Capstan, launch, 1).await.context("starting capstan etcd")?;
        let url = etcd.urls().first().cloned().context("etcd has no client URL")?;
        let dir = tempfile::Builder::new().prefix("capstan-bench-apiserver-split-").tempdir_in(&launch.data_root)?;
        let pki = dir.path().join("pki");
        let log = dir.path().join("apiserver.log");
        let port = free_port()?;
        let mut cmd = Command::new(&launch.capstan_bin);
        cmd.arg("apiserver")
            .args(["--etcd-servers", &url, "--secure-port", &port.to_string(), "--bind-address", "127.0.0.1"])
            .arg("--cert-dir")
            .arg(&pki)
            .arg("--write-kubeconfig")
            .arg(dir.path().join("kubeconfig"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr_to(&log)?)
            .kill_on_drop(true);
        let mut child = cmd.spawn().with_context(|| format!("spawning {} apiserver", launch.capstan_bin.display()))?;
        let pid = child.id().context("capstan apiserver exited at once")?;
        let addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port);
        // The PKI is written before the server listens; wait for it, then for the API.
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        while !pki.join("admin.key").exists() {
            if let Some(status) = child.try_wait()? {
                bail!("capstan apiserver exited: {status}{}", log_tail(&log));
            }
            if tokio::time::Instant::now() > deadline {
                bail!("capstan apiserver wrote no PKI in {START_TIMEOUT:?}{}", log_tail(&log));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let tls = client::tls_config(&pki)?;
        client::wait_ready(addr, tls.clone(), START_TIMEOUT).await.map_err(|e| e.context(log_tail(&log)))?;
        Ok(ApiProc { child, pid, addr, tls, log, etcd: Some(etcd), _dir: dir })
    }

    /// The API server's process (for `up`: the one process holding both).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Every server process (API server, and etcd when split).
    pub fn pids(&self) -> Vec<u32> {
        let mut v = vec![self.pid];
        if let Some(e) = &self.etcd {
            v.extend(e.pids());
        }
        v
    }

    pub fn rss_kib(&self) -> Option<u64> {
        stats::rss_kib(self.pid).ok()
    }

    /// The separate etcd's RSS (split setup only).
    pub fn etcd_rss_kib(&self) -> Option<u64> {
        self.etcd.as_ref()?.rss_kib()
    }

    /// Fails (with the tail of its log) if a server process has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the API server exited: {status}{}", log_tail(&self.log));
        }
        if let Some(e) = self.etcd.as_mut() {
            e.check_alive()?;
        }
        Ok(())
    }
}

/// The last lines of a server log, formatted for an error message.
fn log_tail(log: &Path) -> String {
    const LINES: usize = 12;
    match std::fs::read_to_string(log) {
        Ok(text) if !text.trim().is_empty() => {
            let lines: Vec<&str> = text.lines().collect();
            let tail = lines[lines.len().saturating_sub(LINES)..].join("\n    ");
            format!("\n  last lines of its log:\n    {tail}")
        }
        _ => String::from("\n  (no log output; BENCH_VERBOSE=1 passes the servers' stderr through)"),
    }
}
