//! Membership: the member list from the Raft membership, member add
//! (voter or learner), promote, remove and update (run at the leader,
//! forwarded there by followers), members publishing their client URLs, and
//! leadership transfer (`move-leader`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use openraft::error::{ClientWriteError, RaftError};
use openraft::ChangeMembers;

use super::Node;
use crate::error::{Error, Result};
use crate::proto::capstanpb::member_change_request::Change;
use crate::proto::capstanpb::{HoldElectionRequest, MemberChangeRequest, MemberChangeResponse, TimeoutNowRequest};
use crate::proto::etcdserverpb as pb;
use crate::raft::bootstrap::member_id;
use crate::raft::types::{decode_error, encode_error, Member, NodeId};

impl Node {
    /// Every member, voters and learners, in etcd's wire shape.
    pub fn members(&self) -> Vec<pb::Member> {
        let m = self.raft.metrics().borrow().membership_config.clone();
        let voters: BTreeSet<NodeId> = m.voter_ids().collect();
        m.nodes()
            .map(|(id, n)| pb::Member {
                id: *id,
                name: n.name.clone(),
                peer_ur_ls: n.peer_urls.clone(),
                client_ur_ls: n.client_urls.clone(),
                is_learner: !voters.contains(id),
            })
            .collect()
    }

    /// Runs a membership change at the leader (forwarding if need be);
    /// returns the member changed (for add) and the new member list.
    pub async fn member_change(self: &Arc<Self>, change: Change) -> Result<(Option<pb::Member>, Vec<pb::Member>)> {
        if !self.is_leader() {
            let mut client = self.leader_client()?;
            let resp = client
                .member_change(MemberChangeRequest { change: Some(change) })
                .await
                .map_err(super::propose::remote_error)?
                .into_inner();
            if let Some(e) = resp.error {
                return Err(decode_error(e));
            }
            // Wait until this member has applied the change, so a member list
            // right after shows it.
            let _ = self.linearize().await;
            return Ok((resp.member, resp.members));
        }
        let changed = self.member_change_local(change).await?;
        Ok((changed, self.members()))
    }

    /// The leader side of [`Node::member_change`], for the peer service.
    pub async fn member_change_response(self: &Arc<Self>, change: Change) -> MemberChangeResponse {
        match self.member_change(change).await {
            Ok((member, members)) => MemberChangeResponse { member, members, error: None },
            Err(e) => MemberChangeResponse { member: None, members: vec![], error: Some(encode_error(&e)) },
        }
    }

    async fn member_change_local(&self, change: Change) -> Result<Option<pb::Member>> {
        // A membership entry during a leadership transfer would leave the
        // target behind; wait like proposals do.
        while self.transferring.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let current = self.raft.metrics().borrow().membership_config.clone();
        let voters: BTreeSet<NodeId> = current.voter_ids().collect();
        let known = |id: u64| current.membership().get_node(&id).cloned();
        match change {
            Change::Add(req) => {
                for (_, n) in current.nodes() {
                    if n.peer_urls.iter().any(|u| req.peer_ur_ls.contains(u)) {
                        return Err(Error::PeerUrlExists);
                    }
                }
                if req.is_learner && current.nodes().count() - voters.len() >= 1 {
                    return Err(Error::TooManyLearners);
                }
                let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
                let id = member_id(&req.peer_ur_ls, &self.config.initial_cluster_token, &nanos.to_be_bytes());
                let member = Member { name: String::new(), peer_urls: req.peer_ur_ls.clone(), client_urls: vec![] };
                let change = if req.is_learner {
                    ChangeMembers::AddNodes(BTreeMap::from([(id, member)]))
                } else {
                    ChangeMembers::AddVoters(BTreeMap::from([(id, member)]))
                };
                self.change(change, true).await?;
                Ok(Some(pb::Member {
                    id,
                    name: String::new(),
                    peer_ur_ls: req.peer_ur_ls,
                    client_ur_ls: vec![],
                    is_learner: req.is_learner,
                }))
            }
            Change::Remove(req) => {
                known(req.id).ok_or(Error::MemberNotFound)?;
                if voters.contains(&req.id) {
                    if voters.len() == 1 {
                        return Err(Error::Raft("cannot remove the last voting member".into()));
                    }
                    self.change(ChangeMembers::RemoveVoters(BTreeSet::from([req.id])), false).await?;
                } else {
                    self.change(ChangeMembers::RemoveNodes(BTreeSet::from([req.id])), false).await?;
                }
                Ok(None)
            }
            Change::Update(req) => {
                let mut m = known(req.id).ok_or(Error::MemberNotFound)?;
                for (id, n) in current.nodes() {
                    if *id != req.id && n.peer_urls.iter().any(|u| req.peer_ur_ls.contains(u)) {
                        return Err(Error::PeerUrlExists);
                    }
                }
                m.peer_urls = req.peer_ur_ls;
                self.change(ChangeMembers::SetNodes(BTreeMap::from([(req.id, m)])), true).await?;
                Ok(None)
            }
            Change::Promote(req) => {
                known(req.id).ok_or(Error::MemberNotFound)?;
                if voters.contains(&req.id) {
                    return Err(Error::MemberNotLearner);
                }
                if !self.in_sync(req.id) {
                    return Err(Error::LearnerNotReady);
                }
                self.change(ChangeMembers::AddVoterIds(BTreeSet::from([req.id])), true).await?;
                Ok(None)
            }
            Change::Publish(p) => {
                let mut m = known(p.id).ok_or(Error::MemberNotFound)?;
                m.name = p.name;
                m.client_urls = p.client_ur_ls;
                self.change(ChangeMembers::SetNodes(BTreeMap::from([(p.id, m)])), true).await?;
                Ok(None)
            }
        }
    }

    async fn change(&self, change: ChangeMembers<NodeId, Member>, retain: bool) -> Result<()> {
        match self.raft.change_membership(change, retain).await {
            Ok(_) => Ok(()),
            Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_))) => Err(Error::LeaderChanged),
            Err(RaftError::APIError(ClientWriteError::ChangeMembershipError(e))) => Err(Error::Raft(e.to_string())),
            Err(RaftError::Fatal(_)) => Err(Error::Stopped),
        }
    }

    /// (index `id` has matched, if known; leader's last index), from the
    /// leader's replication metrics.
    fn replication_of(&self, id: NodeId) -> (Option<u64>, u64) {
        let m = self.raft.metrics().borrow().clone();
        let last = m.last_log_index.unwrap_or(0);
        let matched = m.replication.as_ref().and_then(|r| r.get(&id).cloned().flatten()).map(|l| l.index);
        (matched, last)
    }

    /// Whether the leader has replicated (nearly) everything to `id`
    /// (etcd: a learner within 90% of the leader's log).
    fn in_sync(&self, id: NodeId) -> bool {
        let (matched, last) = self.replication_of(id);
        matched.unwrap_or(0) * 10 >= last * 9
    }

    /// Whether `target` has every entry of the leader's log.
    fn caught_up(&self, target: NodeId) -> bool {
        let (matched, last) = self.replication_of(target);
        matched.is_some_and(|m| m >= last)
    }

    /// Hands leadership to `target`: stop proposals and heartbeats, ask the
    /// other voters to hold their elections, and tell the target to run one.
    pub async fn move_leader(self: &Arc<Self>, target: NodeId) -> Result<()> {
        if target == self.member_id {
            return Ok(());
        }
        if !self.is_leader() {
            return Err(Error::NotLeader);
        }
        let voters: Vec<NodeId> = self.raft.metrics().borrow().membership_config.voter_ids().collect();
        if !voters.contains(&target) {
            return Err(Error::BadLeaderTransferee);
        }
        // Half of etcd's request timeout to catch up, half to hand over.
        let hold = (self.request_timeout().as_millis() / 2) as u64;
        // Let the target catch up fully first, as etcd does; give up cleanly
        // (nothing disturbed) if it cannot.
        let catch_up = Instant::now() + Duration::from_millis(hold);
        while !self.caught_up(target) {
            if Instant::now() >= catch_up {
                return Err(Error::LeaderTransferTimeout);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let deadline = Instant::now() + Duration::from_millis(hold);
        self.transferring.store(true, Ordering::Release);
        self.raft.runtime_config().heartbeat(false);
        for v in voters.iter().filter(|v| **v != target && **v != self.member_id) {
            if let Some(m) = self.member_info(*v) {
                if let Ok(mut c) = self.peers.client(&m) {
                    let _ = c.hold_election(HoldElectionRequest { millis: hold }).await;
                }
            }
        }
        let told = match self.member_info(target).map(|m| self.peers.client(&m)) {
            Some(Ok(mut c)) => c.timeout_now(TimeoutNowRequest { leader: self.member_id }).await.is_ok(),
            _ => false,
        };
        let moved = told
            && self
                .raft
                .wait(Some(deadline.saturating_duration_since(Instant::now())))
                .metrics(|m| m.current_leader == Some(target), "leader moved")
                .await
                .is_ok();
        self.raft.runtime_config().heartbeat(true);
        self.transferring.store(false, Ordering::Release);
        if moved {
            Ok(())
        } else {
            Err(Error::LeaderTransferTimeout)
        }
    }

    /// The target side of a transfer: campaign until elected or the old
    /// leader's lease runs out twice over.
    pub fn campaign(self: &Arc<Self>, old_leader: NodeId) {
        let node = self.clone();
        tokio::spawn(async move {
            let until = Instant::now() + node.request_timeout() / 2;
            let step = Duration::from_millis((node.config.election_timeout_ms / 10).clamp(20, 100));
            while Instant::now() < until {
                // Stop once anyone but the old leader leads (us, or another
                // member that won meanwhile).
                match node.leader() {
                    Some(l) if l != old_leader => return,
                    _ => {}
                }
                let _ = node.raft.trigger().elect().await;
                tokio::time::sleep(step).await;
            }
        });
    }

    /// Whether the membership holds this member's name and client URLs.
    pub fn is_published(&self) -> bool {
        self.member_info(self.member_id)
            .is_some_and(|m| m.name == self.config.name && m.client_urls == self.config.advertise_client_urls)
    }

    /// Waits until this member has published itself (etcd serves clients
    /// only after that, so `member list` never shows it without client URLs).
    pub async fn wait_published(&self) {
        let mut rx = self.raft.metrics();
        let mut last_log = Instant::now();
        while !self.is_published() {
            if last_log.elapsed() > Duration::from_secs(5) {
                tracing::warn!("waiting for a leader to publish this member's client URLs");
                last_log = Instant::now();
            }
            let _ = tokio::time::timeout(Duration::from_millis(200), rx.changed()).await;
        }
    }

    /// Stops this member from starting elections for a while (during a
    /// leadership transfer to another member).
    pub fn hold_election(self: &Arc<Self>, millis: u64) {
        self.raft.runtime_config().elect(false);
        let node = Arc::downgrade(self);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(millis)).await;
            if let Some(n) = node.upgrade() {
                n.raft.runtime_config().elect(true);
            }
        });
    }
}

/// Publishes this member's name and client URLs into the membership once a
/// leader exists, like etcd's publish on start.
pub async fn publish_self(node: Weak<Node>) {
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let Some(n) = node.upgrade() else { return };
        let Some(current) = n.member_info(n.member_id) else { continue };
        let want_urls = n.config.advertise_client_urls.clone();
        if current.name == n.config.name && current.client_urls == want_urls {
            return;
        }
        if n.leader().is_none() {
            continue;
        }
        let me = pb::Member {
            id: n.member_id,
            name: n.config.name.clone(),
            peer_ur_ls: current.peer_urls.clone(),
            client_ur_ls: want_urls,
            is_learner: false,
        };
        if let Err(e) = n.member_change(Change::Publish(me)).await {
            tracing::debug!(error = %e, "publishing member attributes; will retry");
            drop(n);
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
    }
}
