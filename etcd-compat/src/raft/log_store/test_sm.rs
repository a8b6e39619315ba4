//! A minimal in-memory state machine, only so openraft's storage conformance suite
//! can run against the log store (the real state machine lives elsewhere).

use std::collections::BTreeMap;
use std::sync::Arc;

use openraft::storage::RaftStateMachine;
use openraft::{AnyError, EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};
use parking_lot::Mutex;
use prost::Message;
use serde::{Deserialize, Serialize};

use crate::raft::types::{
    decode, encode, Entry, LogId, Reply, Snapshot, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};

#[derive(Default, Clone, Serialize, Deserialize)]
struct State {
    last_applied: Option<LogId>,
    last_membership: StoredMembership,
    /// Applied normal entries: index -> command bytes.
    data: BTreeMap<u64, Vec<u8>>,
}

#[derive(Default)]
struct Inner {
    state: State,
    snapshot: Option<(SnapshotMeta, Vec<u8>)>,
    snapshot_seq: u64,
}

#[derive(Clone, Default)]
pub(super) struct TestSm(Arc<Mutex<Inner>>);

fn sm_err(e: crate::Error) -> StorageError {
    StorageIOError::write_state_machine(AnyError::new(&e)).into()
}

impl RaftSnapshotBuilder<TypeConfig> for TestSm {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let mut inner = self.0.lock();
        let data = encode(&inner.state).map_err(sm_err)?;
        inner.snapshot_seq += 1;
        let meta = SnapshotMeta {
            last_log_id: inner.state.last_applied,
            last_membership: inner.state.last_membership.clone(),
            snapshot_id: format!("snap-{}", inner.snapshot_seq),
        };
        inner.snapshot = Some((meta.clone(), data.clone()));
        Ok(Snapshot { meta, snapshot: Box::new(data) })
    }
}

impl RaftStateMachine<TypeConfig> for TestSm {
    type SnapshotBuilder = TestSm;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let inner = self.0.lock();
        Ok((inner.state.last_applied, inner.state.last_membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Reply>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut inner = self.0.lock();
        let mut replies = Vec::new();
        for e in entries {
            inner.state.last_applied = Some(e.log_id);
            match e.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(req) => {
                    inner.state.data.insert(e.log_id.index, req.0.iter().flat_map(|c| c.encode_to_vec()).collect());
                }
                EntryPayload::Membership(m) => {
                    inner.state.last_membership = StoredMembership::new(Some(e.log_id), m);
                }
            }
            replies.push(Reply::default());
        }
        Ok(replies)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Vec<u8>>, StorageError> {
        Ok(Box::default())
    }

    async fn install_snapshot(&mut self, meta: &SnapshotMeta, snapshot: Box<Vec<u8>>) -> Result<(), StorageError> {
        let state: State = decode(&snapshot).map_err(sm_err)?;
        let mut inner = self.0.lock();
        inner.state = state;
        inner.snapshot = Some((meta.clone(), *snapshot));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        let inner = self.0.lock();
        Ok(inner
            .snapshot
            .as_ref()
            .map(|(meta, data)| Snapshot { meta: meta.clone(), snapshot: Box::new(data.clone()) }))
    }
}
