//! Linearizable reads: a read index from the leader (one quorum check shared
//! by every read waiting at that moment), then wait until this member has
//! applied up to it. Followers ask the leader for the index over the peer API.

use std::sync::Arc;
use std::time::Duration;

use openraft::error::{CheckIsLeaderError, RaftError};
use parking_lot::Mutex;
use tokio::sync::oneshot;

use super::Node;
use crate::error::{Error, Result};
use crate::proto::capstanpb::ReadIndexRequest;

type Waiter = oneshot::Sender<Result<u64>>;

/// Coalesces concurrent read-index requests: a request that arrives while a
/// check is in flight waits for the next one (the running check may have
/// started before the request, so its answer is not enough).
#[derive(Default)]
pub struct ReadBatcher {
    inner: Mutex<(bool, Vec<Waiter>)>,
}

impl Node {
    /// Waits until a read on this member sees every write acknowledged before
    /// the call (etcd's linearizable read).
    pub async fn linearize(self: &Arc<Self>) -> Result<()> {
        if self.is_learner() {
            return Err(Error::NotSupportedForLearner);
        }
        let timeout = self.request_timeout();
        let index = tokio::time::timeout(timeout, self.read_index()).await.map_err(|_| Error::Timeout)??;
        self.wait_applied(index, timeout).await
    }

    pub async fn wait_applied(&self, index: u64, timeout: Duration) -> Result<()> {
        if self.applied_index() >= index {
            return Ok(());
        }
        self.raft
            .wait(Some(timeout))
            .applied_index_at_least(Some(index), "linearizable read")
            .await
            .map(|_| ())
            .map_err(|_| Error::Timeout)
    }

    /// The batched read index.
    pub async fn read_index(self: &Arc<Self>) -> Result<u64> {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut g = self.reads.inner.lock();
            g.1.push(tx);
            !std::mem::replace(&mut g.0, true)
        };
        if start {
            let node = self.clone();
            tokio::spawn(async move {
                loop {
                    let batch = {
                        let mut g = node.reads.inner.lock();
                        if g.1.is_empty() {
                            g.0 = false;
                            break;
                        }
                        std::mem::take(&mut g.1)
                    };
                    let r = node.fetch_read_index().await;
                    for w in batch {
                        let _ = w.send(r.clone());
                    }
                }
            });
        }
        rx.await.map_err(|_| Error::Stopped)?
    }

    /// One quorum-confirmed read index, from this member if it leads, else
    /// from the leader.
    pub async fn fetch_read_index(&self) -> Result<u64> {
        match self.leader() {
            Some(l) if l == self.member_id => self.local_read_index().await,
            Some(_) => {
                let mut client = self.leader_client()?;
                let resp = client.read_index(ReadIndexRequest {}).await.map_err(super::propose::remote_error)?;
                Ok(resp.into_inner().index)
            }
            None => Err(Error::NoLeader),
        }
    }

    /// The leader's read index: the commit index once a quorum confirmed
    /// this member still leads.
    pub async fn local_read_index(&self) -> Result<u64> {
        match self.raft.get_read_log_id().await {
            Ok((read, applied)) => Ok(read.max(applied).map_or(0, |l| l.index)),
            Err(RaftError::APIError(CheckIsLeaderError::ForwardToLeader(_))) => Err(Error::LeaderChanged),
            Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(_))) => Err(Error::Timeout),
            Err(RaftError::Fatal(_)) => Err(Error::Stopped),
        }
    }
}
