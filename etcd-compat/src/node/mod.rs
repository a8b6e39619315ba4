//! A member: opens storage, recovers state, joins or bootstraps the Raft
//! group, and serves peers. Writes go through Raft ([`Node::propose`]);
//! linearizable reads wait on a read index ([`Node::linearize`]).

mod identity;
mod leader;
mod members;
mod propose;
mod reads;

use std::net::IpAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::alarm::AlarmSet;
use crate::apply::Shared;
use crate::auth::AuthStore;
use crate::config::{Config, EngineKind};
use crate::error::{Error, Result};
use crate::lease::Lessor;
use crate::mvcc::KvStore;
use crate::proto::capstanpb::command::Op;
use crate::proto::etcdserverpb::{AlarmMember, AlarmType, ResponseHeader};
use crate::raft::log_store::LogStore;
use crate::raft::network::PeerPool;
use crate::raft::state_machine::StateMachine;
use crate::raft::types::Raft;
use crate::storage::{Engine, MemoryEngine, RedbEngine, Table};
use crate::watch::WatchHub;

pub use reads::ReadBatcher;

pub struct Node {
    config: Config,
    shared: Shared,
    watch: Arc<WatchHub>,
    cluster_id: u64,
    member_id: u64,
    raft: Raft,
    sm: StateMachine,
    log: LogStore,
    peers: PeerPool,
    reads: ReadBatcher,
    /// Proposals for [`propose::batch_proposals`].
    batcher: tokio::sync::mpsc::UnboundedSender<propose::Pending>,
    /// Set on the leader while it hands leadership over; proposals wait.
    transferring: AtomicBool,
    /// Flips to true on [`Node::shutdown`]; the peer server stops on it.
    stop: tokio::sync::watch::Sender<bool>,
    started: Instant,
}

pub fn open_engine(config: &Config) -> Result<Arc<dyn Engine>> {
    Ok(match config.engine {
        EngineKind::Memory => Arc::new(MemoryEngine::new()),
        EngineKind::Redb => {
            let dir = config.data_dir.join("member");
            std::fs::create_dir_all(&dir)?;
            Arc::new(RedbEngine::open(dir.join("db"))?)
        }
    })
}

fn restore_lessor(engine: &dyn Engine, leased: Vec<(Vec<u8>, i64)>) -> Result<Lessor> {
    let mut lessor = Lessor::new();
    let now = Instant::now();
    let mut grants = Vec::new();
    engine.scan(Table::Lease, &[], None, &mut |k, v| {
        if let (Ok(id), Ok(ttl)) = (<[u8; 8]>::try_from(k), <[u8; 8]>::try_from(v)) {
            grants.push((i64::from_be_bytes(id), i64::from_be_bytes(ttl)));
        }
        true
    })?;
    for (id, ttl) in grants {
        lessor.grant(id, ttl, now)?;
    }
    for (key, id) in leased {
        lessor.attach(id, &key);
    }
    Ok(lessor)
}

fn restore_alarms(engine: &dyn Engine) -> Result<Vec<AlarmMember>> {
    let mut out = Vec::new();
    engine.scan(Table::Alarm, &[], None, &mut |k, _| {
        if k.len() == 12 {
            let mut m = [0u8; 8];
            m.copy_from_slice(&k[..8]);
            let mut a = [0u8; 4];
            a.copy_from_slice(&k[8..]);
            out.push(AlarmMember { member_id: u64::from_be_bytes(m), alarm: i32::from_be_bytes(a) });
        }
        true
    })?;
    Ok(out)
}

/// Rebuilds lessor, alarms and auth from the engine (after a snapshot install).
fn reload_shared(shared: &Shared) -> Result<()> {
    let leased = shared.store.reload()?;
    let engine = shared.store.engine().clone();
    *shared.lessor.lock() = restore_lessor(engine.as_ref(), leased)?;
    shared.alarms.replace(restore_alarms(engine.as_ref())?);
    shared.auth.reload(engine.as_ref())
}

/// The local address for outgoing peer connections: the host of the first
/// listen-peer URL, when it names one.
fn peer_bind(config: &Config) -> Option<IpAddr> {
    let u = url::Url::parse(config.listen_peer_urls.first()?).ok()?;
    let ip: IpAddr = u.host_str()?.trim_matches(|c| c == '[' || c == ']').parse().ok()?;
    (!ip.is_unspecified()).then_some(ip)
}

impl Node {
    /// Opens (or creates) the member's data, starts Raft and the peer server.
    pub async fn open(config: Config) -> Result<Arc<Node>> {
        let compaction = crate::compactor::Policy::from_config(&config)?;
        let raft_config = crate::raft::bootstrap::raft_config(&config)?;
        let restore = crate::maintenance::restore::prepare(&config)?;
        let engine = open_engine(&config)?;
        if let Some(snapshot) = restore {
            snapshot.load_into(engine.as_ref())?;
            identity::forget_cluster(engine.as_ref())?;
        }
        let (member_id, cluster_id, bootstrap) = identity::resolve(engine.as_ref(), &config).await?;
        let (store, leased) = KvStore::open(engine.clone())?;
        let lessor = restore_lessor(engine.as_ref(), leased)?;
        let alarms = restore_alarms(engine.as_ref())?;
        let auth = AuthStore::open(engine.as_ref())?;
        let shared = Shared {
            store: Arc::new(store),
            lessor: Arc::new(Mutex::new(lessor)),
            alarms: Arc::new(AlarmSet::new(alarms)),
            auth: Arc::new(auth),
            member_id,
        };
        let watch = Arc::new(WatchHub::at(shared.store.current_rev()));
        let log = match config.engine {
            EngineKind::Memory => LogStore::memory(),
            EngineKind::Redb => LogStore::open(&config.data_dir.join("member").join("wal"))?,
        };
        let sm = StateMachine::start(shared.clone(), watch.clone(), Box::new(reload_shared))?;
        let peers = PeerPool::new(member_id, peer_bind(&config), config.faults.clone());
        let raft = Raft::new(member_id, Arc::new(raft_config), peers.clone(), log.clone(), sm.clone())
            .await
            .map_err(|e| Error::Raft(e.to_string()))?;
        if let Some(members) = bootstrap {
            let initialized = raft.is_initialized().await.map_err(|e| Error::Raft(e.to_string()))?;
            if !initialized {
                if let Err(e) = raft.initialize(members).await {
                    tracing::debug!(error = %e, "raft initialize");
                }
            }
        }
        let (batcher, batch_rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(propose::batch_proposals(raft.clone(), batch_rx));
        let node = Arc::new(Node {
            config,
            shared,
            watch,
            cluster_id,
            member_id,
            raft,
            sm,
            log,
            peers,
            reads: ReadBatcher::default(),
            batcher,
            transferring: AtomicBool::new(false),
            stop: tokio::sync::watch::channel(false).0,
            started: Instant::now(),
        });
        crate::raft::service::spawn(node.clone()).await?;
        tokio::spawn(leader::watch_leadership(Arc::downgrade(&node)));
        tokio::spawn(leader::lease_expiry_loop(Arc::downgrade(&node)));
        tokio::spawn(leader::snapshot_trigger(Arc::downgrade(&node)));
        tokio::spawn(members::publish_self(Arc::downgrade(&node)));
        if let Some(policy) = compaction {
            tokio::spawn(crate::compactor::run(Arc::downgrade(&node), policy));
        }
        Ok(node)
    }

    /// Stops Raft and the peer server.
    pub async fn shutdown(&self) {
        let _ = self.stop.send(true);
        let _ = self.raft.shutdown().await;
    }

    /// Resolves once [`Node::shutdown`] was called.
    pub fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.stop.subscribe();
        async move {
            let _ = rx.wait_for(|v| *v).await;
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    pub fn store(&self) -> &Arc<KvStore> {
        &self.shared.store
    }

    pub fn watch_hub(&self) -> &Arc<WatchHub> {
        &self.watch
    }

    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    pub fn peers(&self) -> &PeerPool {
        &self.peers
    }

    pub fn log_store(&self) -> &LogStore {
        &self.log
    }

    pub fn member_id(&self) -> u64 {
        self.member_id
    }

    pub fn cluster_id(&self) -> u64 {
        self.cluster_id
    }

    pub fn applied_index(&self) -> u64 {
        self.sm.applied_index()
    }

    /// The Raft term as etcd reports it. etcd's bootstrap entries sit in
    /// term 1 and its first election makes term 2; openraft bootstraps in
    /// term 0, so its terms are one behind etcd's for the same history.
    pub fn raft_term(&self) -> u64 {
        self.raft.metrics().borrow().current_term + 1
    }

    /// The last index in this member's Raft log.
    pub fn raft_index(&self) -> u64 {
        self.raft.metrics().borrow().last_log_index.unwrap_or(0)
    }

    /// The leader this member knows of, if any.
    pub fn leader(&self) -> Option<u64> {
        self.raft.metrics().borrow().current_leader
    }

    pub fn is_leader(&self) -> bool {
        self.leader() == Some(self.member_id)
    }

    pub fn is_learner(&self) -> bool {
        let m = self.raft.metrics().borrow().membership_config.clone();
        m.membership().get_node(&self.member_id).is_some() && !m.voter_ids().any(|v| v == self.member_id)
    }

    /// etcd's request timeout: 5 s plus two election timeouts.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(5) + Duration::from_millis(2 * self.config.election_timeout_ms)
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// A response header for the current state.
    pub fn header(&self) -> ResponseHeader {
        self.header_at(self.shared.store.current_rev())
    }

    pub fn header_at(&self, revision: i64) -> ResponseHeader {
        ResponseHeader { cluster_id: self.cluster_id, member_id: self.member_id, revision, raft_term: self.raft_term() }
    }

    /// Fills the cluster fields of a header the apply path produced.
    pub fn fill(&self, h: &mut Option<ResponseHeader>) {
        let rev = h.as_ref().map_or_else(|| self.shared.store.current_rev(), |h| h.revision);
        *h = Some(self.header_at(rev));
    }

    pub async fn propose_op(&self, op: Op) -> Result<crate::apply::Response> {
        self.propose(crate::proto::capstanpb::Command { op: Some(op), user: String::new() }).await
    }

    /// Raises NOSPACE if the engine is over quota; returns true if over.
    pub async fn check_quota(&self) -> Result<bool> {
        let total = self.shared.store.engine().total_size()?;
        if total <= self.config.effective_quota() {
            return Ok(false);
        }
        if !self.shared.alarms.is_active(AlarmType::Nospace) {
            let req = crate::proto::etcdserverpb::AlarmRequest {
                action: crate::proto::etcdserverpb::alarm_request::AlarmAction::Activate as i32,
                member_id: self.member_id,
                alarm: AlarmType::Nospace as i32,
            };
            self.propose_op(Op::Alarm(req)).await?;
        }
        Ok(true)
    }

    /// Checks the caller's token (gRPC metadata `token`) against `access`.
    /// Returns the token's user name, or "" for a request without a token.
    pub fn authorize(&self, meta: &tonic::metadata::MetadataMap, access: &[crate::auth::Access]) -> Result<String> {
        self.shared.auth.authorize(meta, access)
    }
}
