//! Lease service: Grant and Revoke are proposed; KeepAlive, TimeToLive and
//! Leases are served by the leader's lessor (followers forward).

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::apply::Response as Applied;
use crate::auth::Access;
use crate::error::Error;
use crate::node::Node;
use crate::proto::capstanpb::command::Op;
use crate::proto::etcdserverpb::lease_server::Lease;
use crate::proto::etcdserverpb::*;

pub struct LeaseService {
    node: Arc<Node>,
    next_id: AtomicU64,
}

impl LeaseService {
    pub fn new(node: Arc<Node>) -> Self {
        // etcd's idutil layout: member bits, then milliseconds, then a counter.
        let ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let start = ((node.member_id() & 0xffff) << 48) | ((ms & ((1 << 40) - 1)) << 8);
        Self { node, next_id: AtomicU64::new(start) }
    }

    fn fresh_id(&self) -> i64 {
        loop {
            let id = (self.next_id.fetch_add(1, Ordering::Relaxed).wrapping_add(1) & (i64::MAX as u64)) as i64;
            if id != 0 && !self.node.shared().lessor.lock().exists(id) {
                return id;
            }
        }
    }
}

type KeepAliveStream = Pin<Box<dyn Stream<Item = Result<LeaseKeepAliveResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Lease for LeaseService {
    async fn lease_grant(&self, request: Request<LeaseGrantRequest>) -> Result<Response<LeaseGrantResponse>, Status> {
        let user = self.node.authorize(request.metadata(), &[])?;
        let mut req = request.into_inner();
        if req.id == 0 {
            req.id = self.fresh_id();
        }
        if self.node.check_quota().await? {
            return Err(Error::NoSpace.into());
        }
        let cmd = crate::proto::capstanpb::Command { op: Some(Op::LeaseGrant(req)), user };
        match self.node.propose(cmd).await? {
            Applied::LeaseGrant(mut r) => {
                self.node.fill(&mut r.header);
                Ok(Response::new(r))
            }
            _ => Err(Status::internal("etcdserver: unexpected apply response")),
        }
    }

    async fn lease_revoke(
        &self,
        request: Request<LeaseRevokeRequest>,
    ) -> Result<Response<LeaseRevokeResponse>, Status> {
        let access = {
            let lessor = self.node.shared().lessor.lock();
            let lease = lessor.get(request.get_ref().id).ok_or(Error::LeaseNotFound)?;
            lease.keys.iter().map(|k| Access::write(k, &[])).collect::<Vec<_>>()
        };
        let user = self.node.authorize(request.metadata(), &access)?;
        let cmd = crate::proto::capstanpb::Command { op: Some(Op::LeaseRevoke(request.into_inner())), user };
        match self.node.propose(cmd).await? {
            Applied::LeaseRevoke(mut r) => {
                self.node.fill(&mut r.header);
                Ok(Response::new(r))
            }
            _ => Err(Status::internal("etcdserver: unexpected apply response")),
        }
    }

    type LeaseKeepAliveStream = KeepAliveStream;

    async fn lease_keep_alive(
        &self,
        request: Request<Streaming<LeaseKeepAliveRequest>>,
    ) -> Result<Response<KeepAliveStream>, Status> {
        let node = self.node.clone();
        let stream = request.into_inner();
        let out = stream.then(move |req| {
            let node = node.clone();
            async move {
                let req = req?;
                let ttl = match node.lease_keepalive(req.id).await {
                    Ok(ttl) => ttl,
                    Err(Error::LeaseNotFound) => 0,
                    Err(Error::Remote { message, .. }) if message == Error::LeaseNotFound.to_string() => 0,
                    Err(e) => return Err(e.into()),
                };
                Ok(LeaseKeepAliveResponse { header: Some(node.header()), id: req.id, ttl })
            }
        });
        Ok(Response::new(Box::pin(out)))
    }

    async fn lease_time_to_live(
        &self,
        request: Request<LeaseTimeToLiveRequest>,
    ) -> Result<Response<LeaseTimeToLiveResponse>, Status> {
        Ok(Response::new(self.node.lease_time_to_live(request.into_inner()).await?))
    }

    async fn lease_leases(
        &self,
        _request: Request<LeaseLeasesRequest>,
    ) -> Result<Response<LeaseLeasesResponse>, Status> {
        let leases = self.node.shared().lessor.lock().leases().iter().map(|l| LeaseStatus { id: l.id }).collect();
        Ok(Response::new(LeaseLeasesResponse { header: Some(self.node.header()), leases }))
    }
}
