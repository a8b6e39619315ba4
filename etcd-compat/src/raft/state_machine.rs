//! The Raft state machine: committed entries go to one apply thread, which
//! runs them through [`Applier::apply`] and commits each batch to the engine
//! in one transaction together with Raft's applied log id and membership.
//! Those engine commits do not wait for the disk (the Raft log is already
//! durable); a periodic synced commit bounds how much a restart replays.
//! Snapshots are the engine's tables in the maintenance snapshot format.

use std::io::Cursor;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, RaftSnapshotBuilder, StorageIOError};
use tokio::sync::{mpsc, oneshot};

use super::types::{decode, encode, Entry, LogId, Reply, Snapshot, SnapshotMeta, StorageError, StoredMembership};
use super::TypeConfig;
use crate::apply::{Applier, Shared};
use crate::error::{Error, Result};
use crate::maintenance::format::{decode as decode_dump, Encoder};
use crate::mvcc::KeyRange;
use crate::proto::capstanpb::command::Op;
use crate::storage::{Engine, Table, WriteBatch};
use crate::watch::WatchHub;

const META_APPLIED: &[u8] = b"raft_applied";
const META_MEMBERSHIP: &[u8] = b"raft_membership";
/// Keys of the Meta table that belong to this member, not to the cluster.
pub const LOCAL_META: [&[u8]; 2] = [b"member_id", b"cluster_id"];
/// Longest a batch of applied entries stays only in the page cache.
const SYNC_EVERY: Duration = Duration::from_millis(200);

enum Msg {
    Apply(Vec<Entry>, oneshot::Sender<Result<Vec<Reply>>>),
    Build(oneshot::Sender<Result<Snapshot>>),
    Install(Box<SnapshotMeta>, Vec<u8>, oneshot::Sender<Result<()>>),
}

/// Called on the apply thread after a snapshot install replaced the state.
pub type OnInstall = Box<dyn Fn(&Shared) -> Result<()> + Send>;

/// The handle openraft drives; the work happens on the apply thread.
#[derive(Clone)]
pub struct StateMachine {
    tx: mpsc::UnboundedSender<Msg>,
    engine: Arc<dyn Engine>,
    current: Arc<parking_lot::Mutex<Option<Snapshot>>>,
    applied_index: Arc<AtomicU64>,
    applied_commands: Arc<AtomicU64>,
}

fn sm_err(e: Error) -> StorageError {
    StorageIOError::write_state_machine(openraft::AnyError::new(&e)).into()
}

fn read_meta<T: serde::de::DeserializeOwned>(engine: &dyn Engine, key: &[u8]) -> Result<Option<T>> {
    engine.get(Table::Meta, key)?.map(|v| decode(&v)).transpose()
}

impl StateMachine {
    /// Starts the apply thread. `on_install` rebuilds the in-memory state
    /// (lessor, watchers) after a snapshot replaced the engine's contents.
    pub fn start(shared: Shared, watch: Arc<WatchHub>, on_install: OnInstall) -> Result<StateMachine> {
        let engine = shared.store.engine().clone();
        let applied: Option<LogId> = read_meta(engine.as_ref(), META_APPLIED)?;
        let applied_index = Arc::new(AtomicU64::new(applied.map_or(0, |l| l.index)));
        let (tx, rx) = mpsc::unbounded_channel();
        let applied_commands = Arc::new(AtomicU64::new(0));
        let worker = Worker {
            applier: Applier::new(shared),
            watch,
            applied_index: applied_index.clone(),
            applied_commands: applied_commands.clone(),
            last_sync: Instant::now(),
            on_install,
        };
        std::thread::Builder::new().name("etcd-apply".into()).spawn(move || worker.run(rx))?;
        Ok(StateMachine { tx, engine, current: Default::default(), applied_index, applied_commands })
    }

    /// Commands applied since this member started (for the snapshot trigger).
    pub fn applied_commands(&self) -> u64 {
        self.applied_commands.load(Ordering::Relaxed)
    }

    /// Index of the newest applied entry.
    pub fn applied_index(&self) -> u64 {
        self.applied_index.load(Ordering::Acquire)
    }

    async fn call<T>(&self, make: impl FnOnce(oneshot::Sender<Result<T>>) -> Msg) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(make(tx)).map_err(|_| Error::Stopped)?;
        rx.await.map_err(|_| Error::Stopped)?
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> std::result::Result<Snapshot, StorageError> {
        let snap = self.call(Msg::Build).await.map_err(sm_err)?;
        *self.current.lock() = Some(Snapshot { meta: snap.meta.clone(), snapshot: snap.snapshot.clone() });
        Ok(snap)
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> std::result::Result<(Option<LogId>, StoredMembership), StorageError> {
        let applied = read_meta(self.engine.as_ref(), META_APPLIED).map_err(sm_err)?;
        let membership = read_meta(self.engine.as_ref(), META_MEMBERSHIP).map_err(sm_err)?.unwrap_or_default();
        Ok((applied, membership))
    }

    async fn apply<I>(&mut self, entries: I) -> std::result::Result<Vec<Reply>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        self.call(|tx| Msg::Apply(entries, tx)).await.map_err(sm_err)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> std::result::Result<Box<Vec<u8>>, StorageError> {
        Ok(Box::default())
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Vec<u8>>,
    ) -> std::result::Result<(), StorageError> {
        let data = *snapshot;
        let m = Box::new(meta.clone());
        let keep = data.clone();
        self.call(|tx| Msg::Install(m, data, tx)).await.map_err(sm_err)?;
        *self.current.lock() = Some(Snapshot { meta: meta.clone(), snapshot: Box::new(keep) });
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> std::result::Result<Option<Snapshot>, StorageError> {
        let cur = self.current.lock();
        Ok(cur.as_ref().map(|s| Snapshot { meta: s.meta.clone(), snapshot: s.snapshot.clone() }))
    }
}

struct Worker {
    applier: Applier,
    watch: Arc<WatchHub>,
    applied_index: Arc<AtomicU64>,
    applied_commands: Arc<AtomicU64>,
    last_sync: Instant,
    on_install: OnInstall,
}

impl Worker {
    fn run(mut self, mut rx: mpsc::UnboundedReceiver<Msg>) {
        while let Some(msg) = rx.blocking_recv() {
            match msg {
                Msg::Apply(entries, reply) => {
                    let r = self.apply(entries);
                    if let Err(e) = &r {
                        // The in-memory index may be ahead of the engine now; stop
                        // and let recovery replay the log.
                        tracing::error!(error = %e, "apply failed; stopping");
                        let _ = reply.send(r);
                        std::process::abort();
                    }
                    let _ = reply.send(r);
                }
                Msg::Build(reply) => {
                    let _ = reply.send(self.build());
                }
                Msg::Install(meta, data, reply) => {
                    let r = self.install(&meta, &data);
                    if let Err(e) = &r {
                        tracing::error!(error = %e, "snapshot install failed");
                    }
                    let _ = reply.send(r);
                }
            }
        }
        let _ = self.applier.shared().store.engine().sync();
    }

    fn apply(&mut self, entries: Vec<Entry>) -> Result<Vec<Reply>> {
        let mut replies = Vec::with_capacity(entries.len());
        let mut last = None;
        let mut membership = None;
        // A compaction frees pages only once a synced commit follows it.
        let mut sync = self.last_sync.elapsed() >= SYNC_EVERY;
        for entry in &entries {
            last = Some(entry.log_id);
            match &entry.payload {
                EntryPayload::Normal(req) => {
                    sync |= req.0.iter().any(|c| matches!(c.op, Some(Op::Compaction(_))));
                    self.applied_commands.fetch_add(req.0.len() as u64, Ordering::Relaxed);
                    replies.push(Reply(req.0.iter().map(|c| self.applier.apply(c)).collect()))
                }
                EntryPayload::Membership(m) => {
                    membership = Some(StoredMembership::new(Some(entry.log_id), m.clone()));
                    replies.push(Reply::default());
                }
                EntryPayload::Blank => replies.push(Reply::default()),
            }
        }
        let Some(last) = last else { return Ok(replies) };
        let batch = self.applier.batch_mut();
        batch.put(Table::Meta, META_APPLIED.to_vec(), encode(&last)?);
        if let Some(m) = membership {
            batch.put(Table::Meta, META_MEMBERSHIP.to_vec(), encode(&m)?);
        }
        let events = self.applier.flush_with(sync)?;
        if sync {
            self.last_sync = Instant::now();
        }
        self.applied_index.store(last.index, Ordering::Release);
        if !events.is_empty() {
            self.watch.notify(self.applier.rev(), events);
        }
        Ok(replies)
    }

    /// Dumps every table at the last applied entry. Synced first, so the log
    /// can be purged up to the snapshot without a restart needing it.
    fn build(&mut self) -> Result<Snapshot> {
        let engine = self.applier.shared().store.engine().clone();
        engine.sync()?;
        self.last_sync = Instant::now();
        let applied: Option<LogId> = read_meta(engine.as_ref(), META_APPLIED)?;
        let membership: StoredMembership = read_meta(engine.as_ref(), META_MEMBERSHIP)?.unwrap_or_default();
        let mut enc = Encoder::new(Vec::new())?;
        for table in Table::ALL {
            enc.table(table)?;
            let mut err = None;
            engine.scan(table, &[], None, &mut |k, v| {
                if table == Table::Meta && LOCAL_META.contains(&k) {
                    return true;
                }
                match enc.entry(k, v) {
                    Ok(()) => true,
                    Err(e) => {
                        err = Some(e);
                        false
                    }
                }
            })?;
            if let Some(e) = err {
                return Err(e);
            }
        }
        let (data, _) = enc.finish()?;
        let id = format!("{}-{}", applied.map_or(0, |l| l.leader_id.term), applied.map_or(0, |l| l.index));
        let meta = SnapshotMeta { last_log_id: applied, last_membership: membership, snapshot_id: id };
        tracing::info!(snapshot = %meta.snapshot_id, bytes = data.len(), "built raft snapshot");
        Ok(Snapshot { meta, snapshot: Box::new(data) })
    }

    /// Replaces every table with the snapshot's contents, keeping this
    /// member's identity, then rebuilds the in-memory state.
    fn install(&mut self, meta: &SnapshotMeta, data: &[u8]) -> Result<()> {
        let shared = self.applier.shared().clone();
        let engine = shared.store.engine().clone();
        let old_rev = shared.store.current_rev();
        let mut batch = WriteBatch::default();
        for table in Table::ALL {
            let mut keys = Vec::new();
            engine.scan(table, &[], None, &mut |k, _| {
                if !(table == Table::Meta && LOCAL_META.contains(&k)) {
                    keys.push(k.to_vec());
                }
                true
            })?;
            for k in keys {
                batch.delete(table, k);
            }
        }
        decode_dump(&mut Cursor::new(data), &mut |table, k, v| {
            if !(table == Table::Meta && LOCAL_META.contains(&k.as_slice())) {
                batch.put(table, k, v);
            }
            Ok(())
        })?;
        match meta.last_log_id {
            Some(l) => batch.put(Table::Meta, META_APPLIED.to_vec(), encode(&l)?),
            None => batch.delete(Table::Meta, META_APPLIED.to_vec()),
        }
        batch.put(Table::Meta, META_MEMBERSHIP.to_vec(), encode(&meta.last_membership)?);
        engine.commit(&batch)?;
        self.last_sync = Instant::now();
        (self.on_install)(&shared)?;
        // Watchers here have seen events up to `old_rev`; hand them what the
        // snapshot skipped, if its history still holds it.
        let new_rev = shared.store.current_rev();
        match shared.store.events(old_rev + 1, new_rev, KeyRange::Span(&[], None)) {
            Ok(events) if !events.is_empty() => self.watch.notify(new_rev, events),
            Ok(_) => self.watch.seed_rev(new_rev),
            Err(e) => {
                tracing::warn!(error = %e, old_rev, new_rev, "snapshot skipped history watchers had not seen");
                self.watch.seed_rev(new_rev);
            }
        }
        self.applier = Applier::new(shared);
        self.applied_index.store(meta.last_log_id.map_or(0, |l| l.index), Ordering::Release);
        tracing::info!(snapshot = %meta.snapshot_id, "installed raft snapshot");
        Ok(())
    }
}
