//! Multi-member clusters of real server processes (capstan or etcd), each
//! member on its own loopback IP, with a controllable TCP proxy in front of
//! every member's peer port (see [`crate::proxy`]).
//!
//! Member `i` (0-based, named `m{i}`) uses `127.0.0.(10+i)` for everything:
//!
//! * client URL `http://127.0.0.(10+i):C`,
//! * `--listen-peer-urls http://127.0.0.(10+i):L` (the real peer port),
//! * `--initial-advertise-peer-urls http://127.0.0.(10+i):P`, where `P` is the
//!   proxy that forwards to `L`. Every peer dials `P`, so the proxy sees (and,
//!   for servers that bind their outgoing source IP, can fault) all traffic
//!   into member `i`.
//!
//! RPC helpers here are synchronous: each runs its own small runtime on a
//! scoped thread, so they work from plain tests and from inside a runtime.
//! The `*_client` constructors return lazily connecting tonic clients and
//! must be called inside a tokio runtime.
//!
//! Dropping a [`ProcCluster`] kills every member (SIGKILL), stops the proxies
//! and removes the data dirs.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use etcd_compat::proto::etcdserverpb::cluster_client::ClusterClient;
use etcd_compat::proto::etcdserverpb::kv_client::KvClient;
use etcd_compat::proto::etcdserverpb::lease_client::LeaseClient;
use etcd_compat::proto::etcdserverpb::maintenance_client::MaintenanceClient;
use etcd_compat::proto::etcdserverpb::watch_client::WatchClient;
use etcd_compat::proto::etcdserverpb::{RangeRequest, RangeResponse, StatusRequest, StatusResponse};
use tonic::transport::{Channel, Endpoint};

use crate::etcdctl_diff::Out;
use crate::proxy::{member_ip, Net};
use crate::{capstan_bin, etcd34_bin, etcd35_bin, etcdctl_bin, Flavor};

/// How a cluster is started.
#[derive(Debug, Clone)]
pub struct ClusterOpts {
    /// Extra flags for every member (appended after the cluster flags).
    pub extra_args: Vec<String>,
    /// `--snapshot-count`.
    pub snapshot_count: Option<u64>,
    /// `--heartbeat-interval` and `--election-timeout`, in milliseconds.
    pub timing: Option<(u64, u64)>,
    /// How long a start or restart may take to become ready.
    pub ready_timeout: Duration,
}

impl Default for ClusterOpts {
    fn default() -> Self {
        ClusterOpts {
            extra_args: Vec::new(),
            snapshot_count: None,
            timing: None,
            ready_timeout: Duration::from_secs(30),
        }
    }
}

impl ClusterOpts {
    /// Faster failure detection: 50 ms heartbeats, 500 ms election timeout
    /// (etcd's defaults are 100/1000; its elections then take 1–2 s).
    pub fn fast_election() -> Self {
        ClusterOpts { timing: Some((50, 500)), ..Default::default() }
    }
}

/// What "ready" means when waiting for a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ready {
    /// A linearizable Range succeeds (the member reached a leader and caught up to a read index).
    Linearizable,
    /// Status and a serializable Range succeed (learners serve no linearizable reads).
    Serving,
}

/// One member process.
#[derive(Debug)]
pub struct ProcMember {
    pub index: usize,
    pub name: String,
    pub ip: Ipv4Addr,
    pub client_port: u16,
    /// The real `--listen-peer-urls` port.
    pub listen_peer_port: u16,
    /// The advertised peer port (the proxy).
    pub peer_port: u16,
    pub data_dir: PathBuf,
    /// stdout and stderr of every run of this member, appended.
    pub log: PathBuf,
    /// Member ID (0 until known).
    pub id: u64,
    pub learner: bool,
    /// Removed from the cluster (its process is not restarted).
    pub removed: bool,
    /// The full command line after the binary (and `etcd` for capstan).
    pub args: Vec<String>,
    child: Option<Child>,
}

impl ProcMember {
    pub fn client_url(&self) -> String {
        format!("http://{}:{}", self.ip, self.client_port)
    }

    /// `ip:port` as etcdctl's `--endpoints` takes it.
    pub fn endpoint(&self) -> String {
        format!("{}:{}", self.ip, self.client_port)
    }

    /// The advertised peer URL (the proxy).
    pub fn peer_url(&self) -> String {
        format!("http://{}:{}", self.ip, self.peer_port)
    }

    pub fn listen_peer_url(&self) -> String {
        format!("http://{}:{}", self.ip, self.listen_peer_port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A cluster of real member processes.
pub struct ProcCluster {
    pub flavor: Flavor,
    pub members: Vec<ProcMember>,
    /// The proxies' rules.
    pub net: Net,
    pub token: String,
    /// Cluster ID (from the first member's Status).
    pub cluster_id: u64,
    pub opts: ClusterOpts,
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for ProcCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcCluster")
            .field("flavor", &self.flavor)
            .field("members", &self.members)
            .field("net", &self.net)
            .finish()
    }
}

/// Free ports on `ip`, distinct from each other (the listeners are held until all are picked).
fn free_ports_on(ip: Ipv4Addr, n: usize) -> Result<Vec<u16>> {
    let ls: Vec<TcpListener> = (0..n).map(|_| TcpListener::bind((ip, 0))).collect::<std::io::Result<_>>()?;
    ls.iter().map(|l| Ok(l.local_addr()?.port())).collect()
}

/// Runs `fut` to completion on a fresh current-thread runtime on its own thread.
fn block<T: Send>(fut: impl std::future::Future<Output = T> + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(rt) => rt.block_on(fut),
            Err(e) => panic!("cannot build a tokio runtime: {e}"),
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// A tonic channel with bounded connect and request times (lazily connected;
/// needs a runtime context).
pub fn lazy_channel(url: &str, timeout: Duration) -> Result<Channel> {
    Ok(Endpoint::from_shared(url.to_string())?
        .connect_timeout(Duration::from_millis(500).min(timeout))
        .timeout(timeout)
        .tcp_nodelay(true)
        .connect_lazy())
}

async fn status_at(url: &str, timeout: Duration) -> Result<StatusResponse> {
    let ch = lazy_channel(url, timeout)?;
    let mut client = MaintenanceClient::new(ch);
    let fut = client.status(StatusRequest {});
    Ok(tokio::time::timeout(timeout, fut).await.map_err(|_| anyhow!("status timed out"))??.into_inner())
}

async fn range_at(url: &str, req: RangeRequest, timeout: Duration) -> Result<RangeResponse> {
    let ch = lazy_channel(url, timeout)?;
    let mut client = KvClient::new(ch);
    let fut = client.range(req);
    Ok(tokio::time::timeout(timeout, fut).await.map_err(|_| anyhow!("range timed out"))??.into_inner())
}

static CLUSTER_SEQ: AtomicU64 = AtomicU64::new(0);

/// The header of a response (zeroes when missing).
fn header_of(s: &StatusResponse) -> (u64, u64) {
    s.header.as_ref().map_or((0, 0), |h| (h.member_id, h.raft_term))
}

impl ProcCluster {
    /// Starts `n` members of `flavor` as a new cluster and waits until every
    /// member answers a linearizable read. Retries on fresh ports when a start
    /// fails (ports are picked before the servers bind them, so parallel tests
    /// can collide).
    pub fn start(flavor: Flavor, n: usize, opts: ClusterOpts) -> Result<ProcCluster> {
        let mut last = None;
        for attempt in 0..3 {
            match Self::try_start(flavor, n, opts.clone()) {
                Ok(c) => return Ok(c),
                Err(e) => {
                    eprintln!("cluster: starting {n} {flavor:?} members failed (attempt {}): {e:#}", attempt + 1);
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("cluster did not start")))
    }

    fn try_start(flavor: Flavor, n: usize, opts: ClusterOpts) -> Result<ProcCluster> {
        let dir = tempfile::tempdir()?;
        let token = format!("e2e-{}-{}", std::process::id(), CLUSTER_SEQ.fetch_add(1, Ordering::Relaxed));
        let mut c = ProcCluster { flavor, members: Vec::new(), net: Net::new()?, token, cluster_id: 0, opts, dir };
        for _ in 0..n {
            c.reserve_member()?;
        }
        let initial = c.initial_cluster(0..n);
        for i in 0..n {
            c.members[i].args = c.member_args(i, &initial, "new");
        }
        for i in 0..n {
            c.spawn(i)?;
        }
        let timeout = c.opts.ready_timeout;
        for i in 0..n {
            c.wait_ready(i, Ready::Linearizable, timeout)?;
        }
        c.learn_ids()?;
        Ok(c)
    }

    /// Allocates the next member slot (IP, ports, proxy, data dir) without
    /// starting anything. Returns its index.
    pub fn reserve_member(&mut self) -> Result<usize> {
        let i = self.members.len();
        let ip = member_ip(i);
        let ports = free_ports_on(ip, 2)?;
        let (client_port, listen_peer_port) = (ports[0], ports[1]);
        let proxy =
            self.net.add_proxy(i, SocketAddr::new(ip.into(), 0), SocketAddr::new(ip.into(), listen_peer_port))?;
        let name = format!("m{i}");
        self.members.push(ProcMember {
            index: i,
            data_dir: self.dir.path().join(&name),
            log: self.dir.path().join(format!("{name}.log")),
            name,
            ip,
            client_port,
            listen_peer_port,
            peer_port: proxy.port(),
            id: 0,
            learner: false,
            removed: false,
            args: Vec::new(),
            child: None,
        });
        Ok(i)
    }

    /// Another proxy in front of member `i`'s peer port (for `member update`).
    /// Returns its URL.
    pub fn add_peer_alias(&mut self, i: usize) -> Result<String> {
        let m = &self.members[i];
        let addr =
            self.net.add_proxy(i, SocketAddr::new(m.ip.into(), 0), SocketAddr::new(m.ip.into(), m.listen_peer_port))?;
        Ok(format!("http://{addr}"))
    }

    /// `m0=http://…,m1=…` for the given members.
    pub fn initial_cluster(&self, members: impl IntoIterator<Item = usize>) -> String {
        members
            .into_iter()
            .map(|i| format!("{}={}", self.members[i].name, self.members[i].peer_url()))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn member_args(&self, i: usize, initial_cluster: &str, state: &str) -> Vec<String> {
        let m = &self.members[i];
        let mut a: Vec<String> = vec![
            "--name".into(),
            m.name.clone(),
            "--data-dir".into(),
            m.data_dir.display().to_string(),
            "--listen-client-urls".into(),
            m.client_url(),
            "--advertise-client-urls".into(),
            m.client_url(),
            "--listen-peer-urls".into(),
            m.listen_peer_url(),
            "--initial-advertise-peer-urls".into(),
            m.peer_url(),
            "--initial-cluster".into(),
            initial_cluster.to_string(),
            "--initial-cluster-state".into(),
            state.to_string(),
            "--initial-cluster-token".into(),
            self.token.clone(),
        ];
        if let Some(n) = self.opts.snapshot_count {
            a.push(format!("--snapshot-count={n}"));
        }
        if let Some((hb, el)) = self.opts.timing {
            a.push(format!("--heartbeat-interval={hb}"));
            a.push(format!("--election-timeout={el}"));
        }
        a.extend(self.opts.extra_args.iter().cloned());
        a
    }

    fn spawn(&mut self, i: usize) -> Result<()> {
        let flavor = self.flavor;
        let m = &mut self.members[i];
        if m.is_running() {
            bail!("{} is already running", m.name);
        }
        let mut cmd = match flavor {
            Flavor::Capstan => {
                let mut c = Command::new(capstan_bin());
                c.arg("etcd");
                c
            }
            Flavor::Etcd34 => Command::new(etcd34_bin()),
            Flavor::Etcd35 => Command::new(etcd35_bin()),
        };
        let log = OpenOptions::new().create(true).append(true).open(&m.log)?;
        cmd.args(&m.args).stdin(Stdio::null()).stdout(log.try_clone()?).stderr(log);
        if std::env::var_os("E2E_VERBOSE").is_some() {
            cmd.stderr(Stdio::inherit());
        }
        m.child = Some(cmd.spawn().with_context(|| format!("spawning {flavor:?} {}", m.name))?);
        Ok(())
    }

    /// The last `lines` lines of member `i`'s log.
    pub fn log_tail(&self, i: usize, lines: usize) -> String {
        let mut s = String::new();
        if let Ok(mut f) = File::open(&self.members[i].log) {
            let _ = f.read_to_string(&mut s);
        }
        let all: Vec<&str> = s.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    /// Waits until member `i` is ready in the given sense.
    pub fn wait_ready(&mut self, i: usize, ready: Ready, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let url = self.members[i].client_url();
        loop {
            if let Some(c) = self.members[i].child.as_mut() {
                if let Some(st) = c.try_wait()? {
                    self.members[i].child = None;
                    bail!(
                        "{:?} member {} exited early: {st}\n--- log tail ---\n{}",
                        self.flavor,
                        self.members[i].name,
                        self.log_tail(i, 30)
                    );
                }
            } else {
                bail!("member {} is not running", self.members[i].name);
            }
            let ok = block(async {
                let t = Duration::from_secs(1);
                match ready {
                    Ready::Linearizable => {
                        range_at(&url, RangeRequest { key: b"health".to_vec(), ..Default::default() }, t).await.is_ok()
                    }
                    Ready::Serving => {
                        status_at(&url, t).await.is_ok()
                            && range_at(
                                &url,
                                RangeRequest { key: b"health".to_vec(), serializable: true, ..Default::default() },
                                t,
                            )
                            .await
                            .is_ok()
                    }
                }
            });
            if ok {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{:?} member {} on {url} not ready ({ready:?}) after {timeout:?}\n--- log tail ---\n{}",
                    self.flavor,
                    self.members[i].name,
                    self.log_tail(i, 30)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Reads every running member's ID and the cluster ID from Status.
    fn learn_ids(&mut self) -> Result<()> {
        for i in 0..self.members.len() {
            if self.members[i].child.is_none() {
                continue;
            }
            let s = self.status(i, Duration::from_secs(5))?;
            let h = s.header.ok_or_else(|| anyhow!("status without a header"))?;
            self.members[i].id = h.member_id;
            self.cluster_id = h.cluster_id;
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn url(&self, i: usize) -> String {
        self.members[i].client_url()
    }

    pub fn endpoint(&self, i: usize) -> String {
        self.members[i].endpoint()
    }

    pub fn peer_url(&self, i: usize) -> String {
        self.members[i].peer_url()
    }

    /// Indexes of members that are part of the cluster (not removed).
    pub fn active(&self) -> Vec<usize> {
        self.members.iter().filter(|m| !m.removed).map(|m| m.index).collect()
    }

    /// Indexes of members whose process runs.
    pub fn live(&mut self) -> Vec<usize> {
        self.members.iter_mut().filter_map(|m| m.is_running().then_some(m.index)).collect()
    }

    /// Voting members (not removed, not learners).
    pub fn voters(&self) -> Vec<usize> {
        self.members.iter().filter(|m| !m.removed && !m.learner).map(|m| m.index).collect()
    }

    /// Client endpoints (`ip:port`) of every member in the cluster.
    pub fn endpoints(&self) -> Vec<String> {
        self.active().into_iter().map(|i| self.endpoint(i)).collect()
    }

    /// Client URLs of every member in the cluster.
    pub fn urls(&self) -> Vec<String> {
        self.active().into_iter().map(|i| self.url(i)).collect()
    }

    pub fn is_running(&mut self, i: usize) -> bool {
        self.members[i].is_running()
    }

    pub fn pid(&self, i: usize) -> Option<u32> {
        self.members[i].pid()
    }

    /// The member with this ID.
    pub fn index_of_id(&self, id: u64) -> Option<usize> {
        (id != 0).then(|| self.members.iter().position(|m| m.id == id)).flatten()
    }

    /// SIGKILL member `i`.
    pub fn kill9(&mut self, i: usize) {
        self.members[i].kill9();
    }

    /// Starts member `i` again on the same data dir and flags without waiting.
    pub fn spawn_again(&mut self, i: usize) -> Result<()> {
        self.members[i].kill9();
        self.spawn(i)
    }

    /// Starts member `i` again on the same data dir and flags and waits until
    /// it serves linearizable reads (learners: serializable reads).
    pub fn restart(&mut self, i: usize) -> Result<()> {
        self.spawn_again(i)?;
        let ready = if self.members[i].learner { Ready::Serving } else { Ready::Linearizable };
        self.wait_ready(i, ready, self.opts.ready_timeout)
    }

    /// Maintenance.Status of member `i`.
    pub fn status(&self, i: usize, timeout: Duration) -> Result<StatusResponse> {
        let url = self.url(i);
        block(status_at(&url, timeout))
    }

    /// Status of every running member, concurrently (None for members not running or not answering).
    pub fn statuses(&mut self, timeout: Duration) -> Vec<Option<StatusResponse>> {
        let urls: Vec<Option<String>> =
            self.members.iter_mut().map(|m| (!m.removed && m.is_running()).then(|| m.client_url())).collect();
        block(async {
            let futs = urls.iter().map(|u| async move {
                match u {
                    Some(u) => status_at(u, timeout).await.ok(),
                    None => None,
                }
            });
            futures::future::join_all(futs).await
        })
    }

    /// The member that claims leadership in the highest term (`Status.leader
    /// == header.member_id`), among the running members that answer.
    pub fn leader(&mut self) -> Option<usize> {
        let st = self.statuses(Duration::from_secs(1));
        self.claimed_leader(&st)
    }

    fn claimed_leader(&self, st: &[Option<StatusResponse>]) -> Option<usize> {
        st.iter()
            .flatten()
            .filter_map(|s| {
                let (id, term) = header_of(s);
                (s.leader != 0 && s.leader == id).then_some((s.raft_term.max(term), id))
            })
            .max()
            .and_then(|(_, id)| self.index_of_id(id))
    }

    /// Waits for a leader that a majority of the voting members acknowledge.
    pub fn wait_leader(&mut self, timeout: Duration) -> Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            let st = self.statuses(Duration::from_secs(1));
            if let Some(l) = self.claimed_leader(&st) {
                let id = self.members[l].id;
                let agree = st.iter().flatten().filter(|s| s.leader == id && !s.is_learner).count();
                if agree > self.voters().len() / 2 {
                    return Ok(l);
                }
            }
            if Instant::now() > deadline {
                let seen: Vec<String> = st
                    .iter()
                    .enumerate()
                    .map(|(i, s)| match s {
                        Some(s) => format!("m{i}: leader {:x} term {}", s.leader, s.raft_term),
                        None => format!("m{i}: -"),
                    })
                    .collect();
                bail!("no leader acknowledged by a majority after {timeout:?} ({})", seen.join(", "));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits for a leader among `members` acknowledged by a majority of the voters
    /// (e.g. the majority side of a partition).
    pub fn wait_leader_among(&mut self, members: &[usize], timeout: Duration) -> Result<usize> {
        let deadline = Instant::now() + timeout;
        loop {
            let st = self.statuses(Duration::from_secs(1));
            let mut votes: std::collections::BTreeMap<u64, usize> = Default::default();
            for &i in members {
                if let Some(Some(s)) = st.get(i) {
                    if s.leader != 0 {
                        *votes.entry(s.leader).or_default() += 1;
                    }
                }
            }
            for (id, n) in votes {
                if let Some(l) = self.index_of_id(id) {
                    let self_claims = st.get(l).and_then(Option::as_ref).is_some_and(|s| s.leader == id);
                    if members.contains(&l) && self_claims && n > self.voters().len() / 2 {
                        return Ok(l);
                    }
                }
            }
            if Instant::now() > deadline {
                bail!("no leader among {members:?} after {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A Range on member `i` (serializable or linearizable) with a timeout.
    pub fn range(&self, i: usize, req: RangeRequest, timeout: Duration) -> Result<RangeResponse> {
        let url = self.url(i);
        block(range_at(&url, req, timeout))
    }

    /// Waits until every running member reports the same revision on a
    /// serializable read as a linearizable read on `reference` returns, and
    /// returns it. Only meaningful once writes have stopped.
    pub fn wait_converged(&mut self, reference: usize, timeout: Duration) -> Result<i64> {
        let deadline = Instant::now() + timeout;
        let all = RangeRequest { key: vec![0], range_end: vec![0], count_only: true, ..Default::default() };
        loop {
            let mut last = String::new();
            let target = self.range(reference, all.clone(), Duration::from_secs(2));
            match target {
                Ok(t) => {
                    let rev = t.header.as_ref().map_or(0, |h| h.revision);
                    let mut ok = true;
                    for i in self.live() {
                        if self.members[i].removed {
                            continue;
                        }
                        let req = RangeRequest { serializable: true, ..all.clone() };
                        match self.range(i, req, Duration::from_secs(2)) {
                            Ok(r) => {
                                let (ri, ci) = (r.header.as_ref().map_or(0, |h| h.revision), r.count);
                                if ri != rev || ci != t.count {
                                    ok = false;
                                    last = format!(
                                        "m{i} at revision {ri} with {ci} keys, m{reference} at {rev} with {}",
                                        t.count
                                    );
                                }
                            }
                            Err(e) => {
                                ok = false;
                                last = format!("m{i}: {e:#}");
                            }
                        }
                    }
                    if ok {
                        return Ok(rev);
                    }
                }
                Err(e) => last = format!("m{reference}: {e:#}"),
            }
            if Instant::now() > deadline {
                bail!("members did not converge within {timeout:?}: {last}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A lazily connecting channel to member `i` with a request timeout
    /// (needs a tokio runtime context).
    pub fn channel(&self, i: usize, timeout: Duration) -> Result<Channel> {
        lazy_channel(&self.url(i), timeout)
    }

    pub fn kv_client(&self, i: usize, timeout: Duration) -> Result<KvClient<Channel>> {
        Ok(KvClient::new(self.channel(i, timeout)?))
    }

    /// Watch streams are long-lived: no request timeout.
    pub fn watch_client(&self, i: usize) -> Result<WatchClient<Channel>> {
        let ch = Endpoint::from_shared(self.url(i))?.connect_timeout(Duration::from_millis(500)).connect_lazy();
        Ok(WatchClient::new(ch))
    }

    pub fn lease_client(&self, i: usize, timeout: Duration) -> Result<LeaseClient<Channel>> {
        Ok(LeaseClient::new(self.channel(i, timeout)?))
    }

    pub fn maintenance_client(&self, i: usize, timeout: Duration) -> Result<MaintenanceClient<Channel>> {
        Ok(MaintenanceClient::new(self.channel(i, timeout)?))
    }

    pub fn cluster_client(&self, i: usize, timeout: Duration) -> Result<ClusterClient<Channel>> {
        Ok(ClusterClient::new(self.channel(i, timeout)?))
    }

    /// etcdctl against every voting member (`--endpoints` lists them all;
    /// learners are left out, as they refuse most RPCs).
    pub fn ctl(&self, args: &[&str]) -> Out {
        let eps: Vec<String> = self.voters().into_iter().map(|i| self.endpoint(i)).collect();
        run_etcdctl(&eps.join(","), args, Duration::from_secs(30))
    }

    /// etcdctl against member `i` only.
    pub fn ctl_at(&self, i: usize, args: &[&str]) -> Out {
        run_etcdctl(&self.endpoint(i), args, Duration::from_secs(30))
    }

    /// Starts a member reserved with [`reserve_member`](Self::reserve_member)
    /// and announced with `member add`: `--initial-cluster-state existing` and
    /// the `ETCD_INITIAL_CLUSTER` string that `member add` printed. Waits until
    /// it serves (linearizable reads for voters, serializable ones for learners).
    pub fn start_added(&mut self, i: usize, initial_cluster: &str) -> Result<()> {
        self.members[i].args = self.member_args(i, initial_cluster, "existing");
        self.spawn(i)?;
        let ready = if self.members[i].learner { Ready::Serving } else { Ready::Linearizable };
        self.wait_ready(i, ready, self.opts.ready_timeout)?;
        let s = self.status(i, Duration::from_secs(5))?;
        let id = s.header.map_or(0, |h| h.member_id);
        if self.members[i].id != 0 && id != self.members[i].id {
            bail!(
                "member {} started with ID {id:x}, but member add assigned {:x}",
                self.members[i].name,
                self.members[i].id
            );
        }
        self.members[i].id = id;
        Ok(())
    }

    /// `etcdctl member add` (optionally `--learner`) for a fresh member slot,
    /// then starts it with `--initial-cluster-state existing`. Retries the add
    /// for up to 20 s while it is refused (etcd refuses membership changes until
    /// every member has been connected for 5 s). Returns the new member's index
    /// and what the successful `member add` printed.
    pub fn add_member(&mut self, learner: bool) -> Result<(usize, Out)> {
        let i = self.reserve_member()?;
        let name = self.members[i].name.clone();
        let peer = format!("--peer-urls={}", self.peer_url(i));
        let mut args = vec!["member", "add", name.as_str(), peer.as_str()];
        if learner {
            args.push("--learner");
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        let out = loop {
            let out = self.ctl(&args);
            if out.ok() {
                break out;
            }
            if Instant::now() > deadline {
                bail!("member add failed: {out:?}");
            }
            std::thread::sleep(Duration::from_millis(250));
        };
        let added = parse_member_add(&out.stdout)?;
        self.members[i].id = added.id;
        self.members[i].learner = learner;
        self.start_added(i, &added.initial_cluster)?;
        Ok((i, out))
    }

    /// Marks member `i` removed (after `member remove`) and kills its process.
    pub fn mark_removed(&mut self, i: usize) {
        self.members[i].removed = true;
        self.members[i].kill9();
    }

    /// Kills every member.
    pub fn kill_all(&mut self) {
        for m in &mut self.members {
            m.kill9();
        }
    }

    /// The cluster's temp dir (logs, data dirs).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for ProcCluster {
    fn drop(&mut self) {
        self.kill_all();
        if std::env::var_os("E2E_KEEP").is_some() {
            let kept = std::mem::replace(
                &mut self.dir,
                match tempfile::tempdir() {
                    Ok(d) => d,
                    Err(_) => return,
                },
            );
            eprintln!("cluster: keeping {}", kept.keep().display());
        }
    }
}

/// What `etcdctl member add` printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAdded {
    pub id: u64,
    pub cluster_id: u64,
    /// The `ETCD_INITIAL_CLUSTER` value.
    pub initial_cluster: String,
}

/// Parses `etcdctl member add` output:
///
/// ```text
/// Member 8e9e05c52164694d added to cluster cdf818194e3a8c32
///
/// ETCD_NAME="m3"
/// ETCD_INITIAL_CLUSTER="m0=http://…,m3=http://…"
/// ```
pub fn parse_member_add(stdout: &str) -> Result<MemberAdded> {
    let mut id = None;
    let mut cluster_id = 0;
    let mut initial = None;
    for line in stdout.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        if let ["Member", hex, "added", "to", "cluster", cluster] = w.as_slice() {
            id = u64::from_str_radix(hex, 16).ok();
            cluster_id = u64::from_str_radix(cluster, 16).unwrap_or(0);
        }
        if let Some(v) = line.strip_prefix("ETCD_INITIAL_CLUSTER=") {
            initial = Some(v.trim_matches('"').to_string());
        }
    }
    Ok(MemberAdded {
        id: id.ok_or_else(|| anyhow!("no member ID in {stdout:?}"))?,
        cluster_id,
        initial_cluster: initial.ok_or_else(|| anyhow!("no ETCD_INITIAL_CLUSTER in {stdout:?}"))?,
    })
}

/// Runs etcdctl (API v3) against `endpoints` with a deadline.
pub fn run_etcdctl(endpoints: &str, args: &[&str], timeout: Duration) -> Out {
    let mut cmd = Command::new(etcdctl_bin());
    cmd.env("ETCDCTL_API", "3")
        .arg(format!("--endpoints={endpoints}"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Out { code: None, stdout: String::new(), stderr: format!("spawning etcdctl: {e}") },
    };
    let pipes = (child.stdout.take(), child.stderr.take());
    let read = |p: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut b = Vec::new();
            if let Some(mut p) = p {
                let _ = p.read_to_end(&mut b);
            }
            String::from_utf8_lossy(&b).into_owned()
        })
    };
    let t_out = read(pipes.0.map(|p| Box::new(p) as Box<dyn Read + Send>));
    let t_err = read(pipes.1.map(|p| Box::new(p) as Box<dyn Read + Send>));
    let deadline = Instant::now() + timeout;
    let code = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st.code(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    Out { code, stdout: t_out.join().unwrap_or_default(), stderr: t_err.join().unwrap_or_default() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_member_add() {
        let out = "Member 8e9e05c52164694d added to cluster cdf818194e3a8c32\n\nETCD_NAME=\"m3\"\n\
                   ETCD_INITIAL_CLUSTER=\"m0=http://127.0.0.10:1,m3=http://127.0.0.13:2\"\n\
                   ETCD_INITIAL_ADVERTISE_PEER_URLS=\"http://127.0.0.13:2\"\nETCD_INITIAL_CLUSTER_STATE=\"existing\"\n";
        let m = parse_member_add(out).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(m.id, 0x8e9e05c52164694d);
        assert_eq!(m.cluster_id, 0xcdf818194e3a8c32);
        assert_eq!(m.initial_cluster, "m0=http://127.0.0.10:1,m3=http://127.0.0.13:2");
        assert!(parse_member_add("Error: etcdserver: unhealthy cluster").is_err());
    }
}
