//! N-member clusters on loopback: fresh ports and data dirs (in one temp
//! dir), etcd's cluster flags, readiness checks and leader lookup through
//! Maintenance.Status. Every member is killed and the data removed on drop.

use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use etcd_compat::proto::etcdserverpb::cluster_client::ClusterClient;
use etcd_compat::proto::etcdserverpb::kv_client::KvClient;
use etcd_compat::proto::etcdserverpb::maintenance_client::MaintenanceClient;
use etcd_compat::proto::etcdserverpb::{MemberListRequest, RangeRequest, StatusRequest};
use tonic::transport::{Channel, Endpoint};

use super::server::{free_port, Flavor, Launch, Member, MemberSpec};

/// How long a cluster may take to serve (and, with several members, agree on a leader).
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on each probe RPC (connect included).
const RPC_TIMEOUT: Duration = Duration::from_secs(2);
/// How long [`Cluster::leader`] waits for the members to agree on a leader.
const LEADER_TIMEOUT: Duration = Duration::from_secs(15);
/// Starts tried on fresh ports when a member exits during startup (a port clash).
const START_ATTEMPTS: usize = 3;

/// A running cluster. Field order matters: members are killed before the
/// temp dir holding their data is removed.
pub struct Cluster {
    pub flavor: Flavor,
    members: Vec<Member>,
    dir: tempfile::TempDir,
}

/// Why a start failed, and whether fresh ports might help.
struct StartError {
    error: anyhow::Error,
    retry: bool,
}

impl Cluster {
    /// Starts `n` members of `flavor` and waits until they serve (for `n > 1`:
    /// until every member reports the same leader and serves a linearizable read).
    pub async fn start(flavor: Flavor, launch: &Launch, n: usize) -> anyhow::Result<Cluster> {
        let mut attempt = 1;
        loop {
            match Self::start_once(flavor, launch, n).await {
                Ok(c) => return Ok(c),
                Err(e) if e.retry && attempt < START_ATTEMPTS => {
                    eprintln!("note: {:#}; retrying on fresh ports", e.error);
                    attempt += 1;
                }
                Err(e) => return Err(e.error),
            }
        }
    }

    async fn start_once(flavor: Flavor, launch: &Launch, n: usize) -> Result<Cluster, StartError> {
        let fatal = |error: anyhow::Error| StartError { error, retry: false };
        let dir = tempfile::Builder::new()
            .prefix(&format!("capstan-bench-{}-", flavor.name()))
            .tempdir_in(&launch.data_root)
            .with_context(|| format!("creating a data dir under {}", launch.data_root.display()))
            .map_err(fatal)?;
        let token = dir.path().file_name().map_or_else(|| "capstan-bench".into(), |s| s.to_string_lossy().into_owned());
        let mut specs = Vec::with_capacity(n);
        for i in 1..=n.max(1) {
            let name = format!("n{i}");
            specs.push(MemberSpec {
                client_url: format!("http://127.0.0.1:{}", free_port().map_err(fatal)?),
                peer_url: format!("http://127.0.0.1:{}", free_port().map_err(fatal)?),
                data_dir: dir.path().join(&name),
                log: dir.path().join(format!("{name}.log")),
                initial_cluster: String::new(),
                token: token.clone(),
                name,
            });
        }
        let initial = specs.iter().map(|s| format!("{}={}", s.name, s.peer_url)).collect::<Vec<_>>().join(",");
        let mut members = Vec::with_capacity(n);
        for mut spec in specs {
            spec.initial_cluster = initial.clone();
            members.push(Member::spawn(flavor, launch, spec).map_err(fatal)?);
        }
        let mut cluster = Cluster { flavor, members, dir };
        cluster.wait_ready().await?;
        Ok(cluster)
    }

    async fn wait_ready(&mut self) -> Result<(), StartError> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let what = format!("{}-member {} cluster", self.members.len(), self.flavor.name());
        loop {
            for m in &mut self.members {
                if let Err(e) = m.check_alive() {
                    return Err(StartError { error: e.context(format!("starting a {what}")), retry: true });
                }
            }
            let why = match self.probe().await {
                Ok(()) => return Ok(()),
                Err(why) => why,
            };
            if Instant::now() > deadline {
                let error = anyhow!("{what} not ready after {READY_TIMEOUT:?}: {why}");
                return Err(StartError { error, retry: false });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// `Ok` once the cluster is usable; otherwise why not (for the timeout message).
    async fn probe(&self) -> Result<(), String> {
        let urls = self.urls();
        if urls.len() == 1 {
            return range(&urls[0]).await;
        }
        let mut ids = Vec::new();
        let mut leaders = Vec::new();
        for url in &urls {
            let (id, leader) = status(url).await.map_err(|e| format!("Status on {url}: {e:#}"))?;
            ids.push(id);
            leaders.push(leader);
        }
        let hex = |v: &[u64]| v.iter().map(|x| format!("{x:x}")).collect::<Vec<_>>().join(", ");
        if leaders.contains(&0) {
            return Err(format!("no leader yet (members' leaders: {})", hex(&leaders)));
        }
        if leaders.iter().any(|l| *l != leaders[0]) || !ids.contains(&leaders[0]) {
            return Err(format!(
                "members disagree on the leader (member ids {}; leaders {}): do they form one cluster?",
                hex(&ids),
                hex(&leaders)
            ));
        }
        let listed = member_count(&urls[0]).await.map_err(|e| format!("MemberList on {}: {e:#}", urls[0]))?;
        if listed != urls.len() {
            return Err(format!("MemberList lists {listed} members, expected {}", urls.len()));
        }
        for url in &urls {
            range(url).await?;
        }
        Ok(())
    }

    /// Index of the current leader: the member whose Status says `leader ==
    /// header.member_id`, confirmed by a majority of the live members.
    pub async fn leader(&self) -> anyhow::Result<usize> {
        Ok(self.leader_with_id().await?.0)
    }

    /// [`Self::leader`] and the leader's member id.
    pub async fn leader_with_id(&self) -> anyhow::Result<(usize, u64)> {
        let deadline = Instant::now() + LEADER_TIMEOUT;
        let mut last = String::from("no member answered");
        loop {
            let mut answers = Vec::new();
            for (i, m) in self.members.iter().enumerate() {
                if m.pid().is_some() {
                    match status(&m.spec.client_url).await {
                        Ok((id, leader)) => answers.push((i, id, leader)),
                        Err(e) => last = format!("Status on {}: {e:#}", m.spec.client_url),
                    }
                }
            }
            let live = self.members.iter().filter(|m| m.pid().is_some()).count();
            if let Some(&(i, _, leader)) = answers.iter().find(|(_, id, leader)| id == leader && *leader != 0) {
                let agree = answers.iter().filter(|a| a.2 == leader).count();
                if agree > live / 2 {
                    return Ok((i, leader));
                }
                last = format!("only {agree} of {live} members follow {leader:x}");
            } else if !answers.is_empty() {
                last = String::from("no member says it is the leader");
            }
            if Instant::now() > deadline {
                bail!("{} cluster has no leader after {LEADER_TIMEOUT:?}: {last}", self.flavor.name());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILLs member `i`; returns the instant just before the signal.
    pub fn kill(&mut self, i: usize) -> anyhow::Result<Instant> {
        let m = self.members.get_mut(i).ok_or_else(|| anyhow!("no member {i}"))?;
        Ok(m.kill())
    }

    /// The client URLs rotated so that the leader's comes first (as is for one member).
    pub async fn urls_leader_first(&self) -> anyhow::Result<Vec<String>> {
        let mut urls = self.urls();
        if urls.len() > 1 {
            let leader = self.leader().await?;
            urls.rotate_left(leader);
        }
        Ok(urls)
    }

    /// Every member's client URL (killed members included).
    pub fn urls(&self) -> Vec<String> {
        self.members.iter().map(|m| m.spec.client_url.clone()).collect()
    }

    pub fn name(&self, i: usize) -> &str {
        self.members.get(i).map_or("?", |m| m.spec.name.as_str())
    }

    /// Process ids of the live members.
    pub fn pids(&self) -> Vec<u32> {
        self.members.iter().filter_map(Member::pid).collect()
    }

    /// Resident memory summed over the live members (KiB); `None` if any is unreadable.
    pub fn rss_kib(&self) -> Option<u64> {
        self.members.iter().filter(|m| m.pid().is_some()).map(Member::rss_kib).sum()
    }

    /// Fails if any member that was not killed on purpose has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        for m in self.members.iter_mut().filter(|m| m.pid().is_some()) {
            m.check_alive()?;
        }
        Ok(())
    }

    /// Where the members' data dirs are (removed on drop).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

async fn channel(url: &str) -> anyhow::Result<Channel> {
    let ep = Endpoint::from_shared(url.to_string())?.connect_timeout(RPC_TIMEOUT).timeout(RPC_TIMEOUT);
    Ok(ep.connect().await?)
}

/// Runs `fut` with [`RPC_TIMEOUT`].
async fn bounded<T>(fut: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::time::timeout(RPC_TIMEOUT, fut).await.map_err(|_| anyhow!("timed out after {RPC_TIMEOUT:?}"))?
}

/// `(header.member_id, leader)` from Maintenance.Status on `url`.
pub async fn status(url: &str) -> anyhow::Result<(u64, u64)> {
    bounded(async {
        let resp = MaintenanceClient::new(channel(url).await?).status(StatusRequest {}).await?.into_inner();
        let id = resp.header.map(|h| h.member_id).context("Status response has no header")?;
        Ok((id, resp.leader))
    })
    .await
}

async fn member_count(url: &str) -> anyhow::Result<usize> {
    bounded(async {
        let req = MemberListRequest { linearizable: false };
        Ok(ClusterClient::new(channel(url).await?).member_list(req).await?.into_inner().members.len())
    })
    .await
}

/// A linearizable single-key Range on `url`.
async fn range(url: &str) -> Result<(), String> {
    bounded(async {
        let req = RangeRequest { key: b"health".to_vec(), ..Default::default() };
        KvClient::new(channel(url).await?).range(req).await?;
        Ok(())
    })
    .await
    .map_err(|e| format!("Range on {url}: {e:#}"))
}
