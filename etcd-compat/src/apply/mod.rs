//! The single apply path: every state change is a [`Command`] and goes through
//! [`Applier::apply`], which returns the response. Nothing else writes.
//! Changes are buffered until [`Applier::flush`] makes them durable in one
//! engine commit (group commit), so a Raft log can sit in front unchanged.

pub(crate) mod alarm;
mod auth;
mod compact;
mod delete_range;
mod lease;
mod put;
pub mod range;
mod txn;

use std::sync::Arc;

use parking_lot::Mutex;

use crate::alarm::AlarmSet;
use crate::auth::AuthStore;
use crate::error::{Error, Result};
use crate::lease::Lessor;
use crate::mvcc::{KvStore, Writer};
use crate::proto::capstanpb::command::Op;
use crate::proto::capstanpb::Command;
use crate::proto::etcdserverpb as pb;
use crate::proto::mvccpb::Event;

pub use alarm::txn_has_put;
pub use txn::{check_intervals, check_txn_request};

/// The response to an applied [`Command`].
#[derive(Debug, Clone, PartialEq)]
pub enum Response {
    Put(pb::PutResponse),
    DeleteRange(pb::DeleteRangeResponse),
    Txn(pb::TxnResponse),
    Compaction(pb::CompactionResponse),
    LeaseGrant(pb::LeaseGrantResponse),
    LeaseRevoke(pb::LeaseRevokeResponse),
    Alarm(pb::AlarmResponse),
    /// Auth commands answer with the generic header-only shape; the server
    /// wraps it into the RPC's own response type.
    Auth(pb::ResponseHeader),
}

/// State shared between the applier and the read side of the servers.
#[derive(Clone)]
pub struct Shared {
    pub store: Arc<KvStore>,
    pub lessor: Arc<Mutex<Lessor>>,
    pub alarms: Arc<AlarmSet>,
    pub auth: Arc<AuthStore>,
    pub member_id: u64,
}

pub struct Applier {
    writer: Writer,
    shared: Shared,
}

pub(crate) fn header(revision: i64) -> Option<pb::ResponseHeader> {
    Some(pb::ResponseHeader { revision, ..Default::default() })
}

impl Applier {
    pub fn new(shared: Shared) -> Self {
        Self { writer: Writer::new(shared.store.clone()), shared }
    }

    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Applies one command. Errors leave no partial change behind.
    pub fn apply(&mut self, cmd: &Command) -> Result<Response> {
        let op = cmd.op.as_ref().ok_or_else(|| Error::InvalidArgument("empty command".into()))?;
        auth::check(self, cmd, op)?;
        alarm::check_capped(&self.shared.alarms, op)?;
        match op {
            Op::Put(r) => put::apply(self, r).map(Response::Put),
            Op::DeleteRange(r) => delete_range::apply(self, r).map(Response::DeleteRange),
            Op::Txn(r) => txn::apply(self, r).map(Response::Txn),
            Op::Compaction(r) => compact::apply(self, r).map(Response::Compaction),
            Op::LeaseGrant(r) => lease::grant(self, r).map(Response::LeaseGrant),
            Op::LeaseRevoke(r) => lease::revoke(self, r).map(Response::LeaseRevoke),
            Op::Alarm(r) => alarm::apply(self, r).map(Response::Alarm),
            Op::AuthEnable(_)
            | Op::AuthDisable(_)
            | Op::UserAdd(_)
            | Op::UserDelete(_)
            | Op::UserChangePassword(_)
            | Op::UserGrantRole(_)
            | Op::UserRevokeRole(_)
            | Op::RoleAdd(_)
            | Op::RoleDelete(_)
            | Op::RoleGrantPermission(_)
            | Op::RoleRevokePermission(_) => auth::apply(self, op).map(Response::Auth),
        }
    }

    /// Makes everything applied since the last flush durable; returns the
    /// events for watchers.
    pub fn flush(&mut self) -> Result<Vec<Event>> {
        self.writer.flush()
    }

    /// Like [`Applier::flush`], choosing whether the engine commit waits for the disk.
    pub fn flush_with(&mut self, sync: bool) -> Result<Vec<Event>> {
        self.writer.flush_with(sync)
    }

    /// Extra changes to commit with the next flush (Raft's applied state).
    pub fn batch_mut(&mut self) -> &mut crate::storage::WriteBatch {
        self.writer.batch_mut()
    }

    pub fn rev(&self) -> i64 {
        self.writer.rev()
    }
}
