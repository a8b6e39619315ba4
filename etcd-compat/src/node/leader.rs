//! Leader-only duties: lease expiry (as in etcd, only the leader revokes
//! expired leases, and a new leader gives every lease a fresh TTL), and
//! serving lease keep-alives and TTL queries, forwarded from followers.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::Node;
use crate::error::{Error, Result};
use crate::proto::capstanpb::command::Op;
use crate::proto::etcdserverpb::{
    LeaseKeepAliveRequest, LeaseRevokeRequest, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse,
};

const LEASE_CHECK_INTERVAL: Duration = Duration::from_millis(500);

/// Renews every lease when this member becomes leader.
pub async fn watch_leadership(node: Weak<Node>) {
    let Some(mut rx) = node.upgrade().map(|n| n.raft.metrics()) else { return };
    let mut leading = false;
    loop {
        let now_leading = {
            let Some(n) = node.upgrade() else { return };
            let m = rx.borrow_and_update();
            m.current_leader == Some(n.member_id) && m.state.is_leader()
        };
        if now_leading && !leading {
            if let Some(n) = node.upgrade() {
                n.shared.lessor.lock().promote(Instant::now());
                tracing::info!(member = format!("{:x}", n.member_id), term = n.raft_term(), "became leader");
            }
        }
        leading = now_leading;
        if rx.changed().await.is_err() {
            return;
        }
    }
}

/// Takes a Raft snapshot (and so purges the log) every `--snapshot-count`
/// applied commands, as etcd counts them.
pub async fn snapshot_trigger(node: Weak<Node>) {
    let mut last = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    loop {
        tick.tick().await;
        let Some(node) = node.upgrade() else { return };
        let applied = node.sm.applied_commands();
        if applied.saturating_sub(last) >= node.config.snapshot_count.max(1) {
            last = applied;
            if node.raft.trigger().snapshot().await.is_err() {
                return;
            }
        }
    }
}

pub async fn lease_expiry_loop(node: Weak<Node>) {
    let mut tick = tokio::time::interval(LEASE_CHECK_INTERVAL);
    loop {
        tick.tick().await;
        let Some(node) = node.upgrade() else { return };
        if !node.is_leader() {
            continue;
        }
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
    /// Renews a lease at the leader; returns its TTL.
    pub async fn lease_keepalive(self: &Arc<Self>, id: i64) -> Result<i64> {
        if self.is_leader() {
            return self.shared.lessor.lock().renew(id, Instant::now());
        }
        let mut client = self.leader_client()?;
        let resp = client
            .lease_keep_alive(LeaseKeepAliveRequest { id })
            .await
            .map_err(super::propose::remote_error)?
            .into_inner();
        Ok(resp.ttl)
    }

    /// A lease's remaining TTL as the leader counts it. Without `local`, a
    /// follower asks the leader.
    pub async fn lease_time_to_live(self: &Arc<Self>, req: LeaseTimeToLiveRequest) -> Result<LeaseTimeToLiveResponse> {
        if !self.is_leader() {
            let mut client = self.leader_client()?;
            let mut resp = client.lease_time_to_live(req).await.map_err(super::propose::remote_error)?.into_inner();
            resp.header = Some(self.header());
            return Ok(resp);
        }
        let lessor = self.shared.lessor.lock();
        let header = Some(self.header());
        Ok(match lessor.get(req.id) {
            // etcd answers an unknown lease with TTL -1, not an error.
            None => LeaseTimeToLiveResponse { header, id: req.id, ttl: -1, granted_ttl: 0, keys: vec![] },
            Some(lease) => LeaseTimeToLiveResponse {
                header,
                id: req.id,
                ttl: lease.remaining_secs(Instant::now()),
                granted_ttl: lease.ttl,
                keys: if req.keys { lease.keys.iter().cloned().collect() } else { Vec::new() },
            },
        })
    }
}
