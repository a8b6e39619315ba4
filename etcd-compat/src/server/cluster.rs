//! Cluster service: the member list and membership changes (run at the
//! leader through Raft; followers forward them).

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::node::Node;
use crate::proto::capstanpb::member_change_request::Change;
use crate::proto::etcdserverpb::cluster_server::Cluster;
use crate::proto::etcdserverpb::*;

pub struct ClusterService {
    node: Arc<Node>,
}

impl ClusterService {
    pub fn new(node: Arc<Node>) -> Self {
        Self { node }
    }

    fn check_admin<T>(&self, r: &Request<T>) -> Result<(), Status> {
        self.node.authorize(r.metadata(), &[crate::auth::Access::Admin])?;
        Ok(())
    }

    /// etcd sends membership headers without a revision.
    fn header(&self) -> Option<ResponseHeader> {
        Some(self.node.header_at(0))
    }
}

fn check_urls(urls: &[String]) -> Result<(), Status> {
    if urls.is_empty() {
        return Err(Status::invalid_argument("etcdserver: member peer URLs are empty"));
    }
    for u in urls {
        url::Url::parse(u).map_err(|e| Status::invalid_argument(format!("etcdserver: bad peer URL {u:?}: {e}")))?;
    }
    Ok(())
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn member_add(&self, r: Request<MemberAddRequest>) -> Result<Response<MemberAddResponse>, Status> {
        self.check_admin(&r)?;
        let req = r.into_inner();
        check_urls(&req.peer_ur_ls)?;
        let (member, members) = self.node.member_change(Change::Add(req)).await?;
        Ok(Response::new(MemberAddResponse { header: self.header(), member, members }))
    }

    async fn member_remove(&self, r: Request<MemberRemoveRequest>) -> Result<Response<MemberRemoveResponse>, Status> {
        self.check_admin(&r)?;
        let (_, members) = self.node.member_change(Change::Remove(r.into_inner())).await?;
        Ok(Response::new(MemberRemoveResponse { header: self.header(), members }))
    }

    async fn member_update(&self, r: Request<MemberUpdateRequest>) -> Result<Response<MemberUpdateResponse>, Status> {
        self.check_admin(&r)?;
        let req = r.into_inner();
        check_urls(&req.peer_ur_ls)?;
        let (_, members) = self.node.member_change(Change::Update(req)).await?;
        Ok(Response::new(MemberUpdateResponse { header: self.header(), members }))
    }

    async fn member_promote(
        &self,
        r: Request<MemberPromoteRequest>,
    ) -> Result<Response<MemberPromoteResponse>, Status> {
        self.check_admin(&r)?;
        let (_, members) = self.node.member_change(Change::Promote(r.into_inner())).await?;
        Ok(Response::new(MemberPromoteResponse { header: self.header(), members }))
    }

    async fn member_list(&self, r: Request<MemberListRequest>) -> Result<Response<MemberListResponse>, Status> {
        if r.get_ref().linearizable {
            self.node.linearize().await?;
        }
        Ok(Response::new(MemberListResponse { header: self.header(), members: self.node.members() }))
    }
}
