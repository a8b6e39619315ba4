//! Memory per stored pod: a fresh server is loaded with N pods and its RSS
//! (`VmRSS`) read before and after. `capstan up` holds the embedded etcd too,
//! so the same load is repeated against `capstan etcd` + `capstan apiserver`
//! as two processes to split the growth between them.

use std::time::Duration;

use super::super::server::Launch;
use super::super::stats::Sample;
use super::client::{self, Pool};
use super::load::{self, Limit};
use super::proc::ApiProc;

const NS: &str = "bench-mem";
/// Time given to a server to settle after starting and after the load.
const SETTLE: Duration = Duration::from_secs(3);

/// RSS (KiB) of one process before and after the load.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rss {
    pub before: u64,
    pub after: u64,
}

impl Rss {
    /// Growth per pod, in bytes.
    pub fn bytes_per_pod(&self, pods: u64) -> f64 {
        if pods == 0 {
            return 0.0;
        }
        self.after.saturating_sub(self.before) as f64 * 1024.0 / pods as f64
    }

    /// RSS (bytes) projected for `n` pods: the idle RSS plus `n` times the growth per pod.
    pub fn projected_bytes(&self, pods: u64, n: u64) -> f64 {
        self.before as f64 * 1024.0 + self.bytes_per_pod(pods) * n as f64
    }
}

/// The load and the RSS of each process.
pub struct MemoryRun {
    pub load: Sample,
    /// The API server (with `capstan up`: the one process, etcd included).
    pub api: Rss,
    /// The separate etcd (split run only).
    pub etcd: Option<Rss>,
}

fn rss(p: &ApiProc) -> anyhow::Result<(u64, Option<u64>)> {
    let api = p.rss_kib().ok_or_else(|| anyhow::anyhow!("cannot read the API server's RSS"))?;
    Ok((api, p.etcd_rss_kib()))
}

/// Loads `pods` pods into a fresh server (`split`: two processes) and reads RSS.
pub async fn run(launch: &Launch, split: bool, pods: u64, clients: usize, conns: usize) -> anyhow::Result<MemoryRun> {
    let mut p = if split { ApiProc::split(launch).await? } else { ApiProc::up(launch).await? };
    let pool = Pool::connect(p.addr, p.tls.clone(), conns).await?;
    client::ensure_namespace(&pool, NS).await?;
    tokio::time::sleep(SETTLE).await;
    let (api0, etcd0) = rss(&p)?;
    eprintln!(
        "memory ({}): loading {pods} pods with {clients} clients on {conns} connections",
        if split { "capstan etcd + capstan apiserver" } else { "capstan up" }
    );
    let creates = load::creates(&pool, clients, NS, "m-", false);
    let (load, _) = load::run(creates, Limit::Count(pods), &p.pids()).await?;
    p.check_alive()?;
    tokio::time::sleep(SETTLE).await;
    let (api1, etcd1) = rss(&p)?;
    let etcd = match (etcd0, etcd1) {
        (Some(before), Some(after)) => Some(Rss { before, after }),
        _ => None,
    };
    Ok(MemoryRun { load, api: Rss { before: api0, after: api1 }, etcd })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_pod_and_projection() {
        let r = Rss { before: 100 * 1024, after: 100 * 1024 + 10_000 };
        // 10,000 KiB over 10,000 pods: 1 KiB each.
        assert!((r.bytes_per_pod(10_000) - 1024.0).abs() < 1e-9);
        let p = r.projected_bytes(10_000, 150_000);
        assert!((p - (100.0 * 1024.0 * 1024.0 + 150_000.0 * 1024.0)).abs() < 1e-6);
        assert_eq!(Rss { before: 5, after: 3 }.bytes_per_pod(10), 0.0);
        assert_eq!(r.bytes_per_pod(0), 0.0);
    }
}
