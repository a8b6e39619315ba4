//! A member: opens storage, recovers state, runs the applier thread (group
//! commit: many proposals, one engine commit) and the lease expiry loop.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use crate::alarm::AlarmSet;
use crate::apply::{Applier, Response, Shared};
use crate::auth::AuthStore;
use crate::config::{Config, EngineKind};
use crate::error::{Error, Result};
use crate::lease::Lessor;
use crate::mvcc::KvStore;
use crate::proto::capstanpb::command::Op;
use crate::proto::capstanpb::Command;
use crate::proto::etcdserverpb::{AlarmMember, AlarmType, LeaseRevokeRequest, ResponseHeader};
use crate::storage::{Engine, MemoryEngine, RedbEngine, Table};
use crate::watch::WatchHub;

/// Most proposals applied under one engine commit.
const MAX_BATCH: usize = 4096;
const LEASE_CHECK_INTERVAL: Duration = Duration::from_millis(500);

struct Proposal {
    cmd: Command,
    reply: oneshot::Sender<Result<Response>>,
}

pub struct Node {
    config: Config,
    shared: Shared,
    watch: Arc<WatchHub>,
    proposals: mpsc::Sender<Proposal>,
    cluster_id: u64,
    member_id: u64,
    /// Commands applied; stands in for the Raft index until S2.
    applied_index: Arc<AtomicU64>,
    started: Instant,
}

fn hash64(parts: &[&[u8]]) -> u64 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
        h.update([0u8]);
    }
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b)
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

const META_MEMBER_ID: &[u8] = b"member_id";
const META_CLUSTER_ID: &[u8] = b"cluster_id";

/// Member and cluster IDs: derived once from the bootstrap flags, then kept in
/// the data dir so they survive restarts with other flags, as etcd's do.
fn identity(engine: &dyn Engine, config: &Config) -> Result<(u64, u64)> {
    let read = |k: &[u8]| -> Result<Option<u64>> {
        Ok(engine.get(Table::Meta, k)?.and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok()).map(u64::from_be_bytes))
    };
    if let (Some(m), Some(c)) = (read(META_MEMBER_ID)?, read(META_CLUSTER_ID)?) {
        return Ok((m, c));
    }
    let peer = config.initial_advertise_peer_urls.join(",");
    let member_id = hash64(&[config.name.as_bytes(), peer.as_bytes(), config.initial_cluster_token.as_bytes()]);
    let cluster_id = hash64(&[&member_id.to_be_bytes(), config.initial_cluster_token.as_bytes()]);
    let mut batch = crate::storage::WriteBatch::default();
    batch.put(Table::Meta, META_MEMBER_ID.to_vec(), member_id.to_be_bytes().to_vec());
    batch.put(Table::Meta, META_CLUSTER_ID.to_vec(), cluster_id.to_be_bytes().to_vec());
    engine.commit(&batch)?;
    Ok((member_id, cluster_id))
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

impl Node {
    /// Opens (or creates) the member's data and starts its background work.
    /// Must be called inside a Tokio runtime.
    pub fn open(config: Config) -> Result<Arc<Node>> {
        let compaction = crate::compactor::Policy::from_config(&config)?;
        let restore = crate::maintenance::restore::prepare(&config)?;
        let engine = open_engine(&config)?;
        if let Some(snapshot) = restore {
            snapshot.load_into(engine.as_ref())?;
        }
        let (store, leased) = KvStore::open(engine.clone())?;
        let lessor = restore_lessor(engine.as_ref(), leased)?;
        let alarms = restore_alarms(engine.as_ref())?;
        let auth = AuthStore::open(engine.as_ref())?;
        let (member_id, cluster_id) = identity(engine.as_ref(), &config)?;
        let shared = Shared {
            store: Arc::new(store),
            lessor: Arc::new(Mutex::new(lessor)),
            alarms: Arc::new(AlarmSet::new(alarms)),
            auth: Arc::new(auth),
            member_id,
        };
        let watch = Arc::new(WatchHub::at(shared.store.current_rev()));
        let (tx, rx) = mpsc::channel(MAX_BATCH * 4);
        let applied_index = Arc::new(AtomicU64::new(shared.store.current_rev() as u64));
        let node = Arc::new(Node {
            config,
            shared: shared.clone(),
            watch: watch.clone(),
            proposals: tx,
            cluster_id,
            member_id,
            applied_index: applied_index.clone(),
            started: Instant::now(),
        });
        let applier = Applier::new(shared);
        std::thread::Builder::new()
            .name("etcd-apply".into())
            .spawn(move || apply_loop(applier, rx, watch, applied_index))?;
        tokio::spawn(lease_expiry_loop(Arc::downgrade(&node)));
        if let Some(policy) = compaction {
            tokio::spawn(crate::compactor::run(Arc::downgrade(&node), policy));
        }
        Ok(node)
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

    pub fn member_id(&self) -> u64 {
        self.member_id
    }

    pub fn cluster_id(&self) -> u64 {
        self.cluster_id
    }

    pub fn applied_index(&self) -> u64 {
        self.applied_index.load(Ordering::Acquire)
    }

    pub fn raft_term(&self) -> u64 {
        2
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

    /// Proposes a command and waits until it is applied and durable.
    pub async fn propose(&self, cmd: Command) -> Result<Response> {
        let (reply, rx) = oneshot::channel();
        self.proposals.send(Proposal { cmd, reply }).await.map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }

    pub async fn propose_op(&self, op: Op) -> Result<Response> {
        self.propose(Command { op: Some(op), user: String::new() }).await
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
}

fn apply_loop(
    mut applier: Applier,
    mut rx: mpsc::Receiver<Proposal>,
    watch: Arc<WatchHub>,
    applied_index: Arc<AtomicU64>,
) {
    let mut batch: Vec<Proposal> = Vec::with_capacity(MAX_BATCH);
    let mut results = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        for p in &batch {
            results.push(applier.apply(&p.cmd));
        }
        let applied = started.elapsed();
        let flushed = applier.flush();
        tracing::trace!(
            batch = batch.len(),
            apply_us = applied.as_micros(),
            commit_us = (started.elapsed() - applied).as_micros(),
            "group commit"
        );
        match flushed {
            Ok(events) => {
                applied_index.fetch_add(batch.len() as u64, Ordering::AcqRel);
                if !events.is_empty() {
                    watch.notify(applier.rev(), events);
                }
                for (p, r) in batch.drain(..).zip(results.drain(..)) {
                    let _ = p.reply.send(r);
                }
            }
            Err(e) => {
                // The in-memory index is ahead of the disk now; the only safe
                // move is to stop and let recovery rebuild from the engine.
                tracing::error!(error = %e, "storage commit failed; stopping");
                for p in batch.drain(..) {
                    let _ = p.reply.send(Err(e.clone()));
                }
                std::process::abort();
            }
        }
    }
}

async fn lease_expiry_loop(node: std::sync::Weak<Node>) {
    let mut tick = tokio::time::interval(LEASE_CHECK_INTERVAL);
    loop {
        tick.tick().await;
        let Some(node) = node.upgrade() else { return };
        let expired = node.shared.lessor.lock().expired(Instant::now());
        for id in expired {
            let r = node.propose_op(Op::LeaseRevoke(LeaseRevokeRequest { id })).await;
            if let Err(e) = r {
                if e != Error::LeaseNotFound {
                    tracing::warn!(lease = id, error = %e, "lease expiry revoke failed");
                }
            }
        }
    }
}

impl Node {
    /// Checks the caller's token (gRPC metadata `token`) against `access`.
    /// Returns the token's user name, or "" for a request without a token.
    pub fn authorize(&self, meta: &tonic::metadata::MetadataMap, access: &[crate::auth::Access]) -> Result<String> {
        self.shared.auth.authorize(meta, access)
    }
}
