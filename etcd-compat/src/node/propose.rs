//! Proposals: a write becomes a Raft entry at the leader; a follower forwards
//! it over the peer API. The caller gets the applied result or etcd's error.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use std::sync::Arc;

use openraft::error::{ClientWriteError, RaftError};
use prost::Message;
use tokio::sync::{mpsc, oneshot, Semaphore};

use super::Node;
use crate::apply::Response;
use crate::error::{Error, Result};
use crate::proto::capstanpb::Command;
use crate::raft::types::{decode_result, Member, Raft, Request};

/// A proposal waiting for its batch to be applied.
pub(crate) type Pending = (Command, oneshot::Sender<Result<Response>>);
/// Raft appends in flight at once: one being fsynced and replicated while
/// the next batch forms (openraft 0.9 waits for each append's fsync).
const APPENDS_IN_FLIGHT: usize = 2;
/// Most bytes of commands in one Raft entry.
const MAX_BATCH_BYTES: usize = 8 << 20;
const MAX_BATCH_COMMANDS: usize = 4096;

/// Takes `first` and whatever else is queued, within the batch limits.
fn drain(first: Pending, rx: &mut mpsc::UnboundedReceiver<Pending>) -> Vec<Pending> {
    let mut bytes = first.0.encoded_len();
    let mut batch = vec![first];
    while batch.len() < MAX_BATCH_COMMANDS && bytes < MAX_BATCH_BYTES {
        match rx.try_recv() {
            Ok(p) => {
                bytes += p.0.encoded_len();
                batch.push(p);
            }
            Err(_) => break,
        }
    }
    batch
}

/// Turns every proposal queued at the leader into one Raft entry per
/// append, so one fsync and one replication round serve them all.
pub(crate) async fn batch_proposals(raft: Raft, mut rx: mpsc::UnboundedReceiver<Pending>) {
    let slots = Arc::new(Semaphore::new(APPENDS_IN_FLIGHT));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        let Some(first) = rx.recv().await else { return };
        let batch = drain(first, &mut rx);
        let raft = raft.clone();
        tokio::spawn(async move {
            let (cmds, waiters): (Vec<Command>, Vec<_>) = batch.into_iter().unzip();
            let n = cmds.len();
            let results = match raft.client_write(Request(cmds)).await {
                Ok(r) => r.data.0,
                Err(e) => {
                    let e = match e {
                        RaftError::APIError(ClientWriteError::ForwardToLeader(_)) => Error::LeaderChanged,
                        RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => Error::Raft(e.to_string()),
                        RaftError::Fatal(_) => Error::Stopped,
                    };
                    vec![Err(e); n]
                }
            };
            drop(slot);
            let mut results = results.into_iter();
            for w in waiters {
                let _ = w.send(results.next().unwrap_or(Err(Error::Corrupt("missing apply result".into()))));
            }
        });
    }
}

impl Node {
    /// Proposes a command and waits until it is committed and applied here
    /// or at the leader.
    pub async fn propose(&self, cmd: Command) -> Result<Response> {
        if self.is_learner() {
            return Err(Error::NotSupportedForLearner);
        }
        let deadline = Instant::now() + self.request_timeout();
        match tokio::time::timeout_at(deadline.into(), self.propose_until(cmd, deadline)).await {
            Ok(r) => r,
            Err(_) => Err(Error::Timeout),
        }
    }

    async fn propose_until(&self, cmd: Command, deadline: Instant) -> Result<Response> {
        loop {
            match self.leader() {
                Some(l) if l == self.member_id => return self.propose_local(cmd).await,
                Some(l) => {
                    if let Some(member) = self.member_info(l) {
                        return self.forward(&member, cmd).await;
                    }
                }
                None => {}
            }
            // No leader known yet: wait for one, up to an election or two.
            let wait = deadline
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(3 * self.config.election_timeout_ms.max(100)));
            let r = self.raft.wait(Some(wait)).metrics(|m| m.current_leader.is_some(), "a leader").await;
            if r.is_err() {
                return Err(Error::NoLeader);
            }
        }
    }

    /// Appends at this member, which must lead. Used for forwarded proposals
    /// too, so it never forwards again.
    pub async fn propose_local(&self, cmd: Command) -> Result<Response> {
        while self.transferring.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.enqueue_local(cmd)?.await.map_err(|_| Error::Stopped)?
    }

    /// Queues a proposal for the leader's batcher without waiting (a batch
    /// forwarded by a follower keeps its order this way).
    pub(crate) fn enqueue_local(&self, cmd: Command) -> Result<oneshot::Receiver<Result<Response>>> {
        let (tx, rx) = oneshot::channel();
        self.batcher.send((cmd, tx)).map_err(|_| Error::Stopped)?;
        Ok(rx)
    }

    async fn forward(&self, leader: &Member, cmd: Command) -> Result<Response> {
        let mut client = self.peers.client(leader)?;
        match client.propose(cmd).await {
            Ok(r) => decode_result(r.into_inner()),
            Err(s) => Err(remote_error(s)),
        }
    }

    /// A peer client to the leader this member knows of.
    pub(crate) fn leader_client(
        &self,
    ) -> Result<crate::proto::capstanpb::peer_client::PeerClient<tonic::transport::Channel>> {
        let leader = self.leader().and_then(|l| self.member_info(l)).ok_or(Error::NoLeader)?;
        self.peers.client(&leader)
    }

    /// The member record of `id` in the current membership.
    pub fn member_info(&self, id: u64) -> Option<Member> {
        self.raft.metrics().borrow().membership_config.membership().get_node(&id).cloned()
    }
}

/// An error from a peer call: the peer's own etcd error as it sent it, or,
/// for a transport failure, etcd's answer for a leader lost mid-request.
pub(crate) fn remote_error(s: tonic::Status) -> Error {
    if s.message().starts_with("etcdserver:") {
        Error::Remote { code: s.code() as i32, message: s.message().to_string() }
    } else {
        Error::LeaderChanged
    }
}
