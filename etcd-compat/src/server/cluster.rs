//! Cluster service: MemberList for the single member; membership changes
//! are refused until replication lands.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use crate::node::Node;
use crate::proto::etcdserverpb::cluster_server::Cluster;
use crate::proto::etcdserverpb::*;

pub struct ClusterService {
    node: Arc<Node>,
}

impl ClusterService {
    pub fn new(node: Arc<Node>) -> Self {
        Self { node }
    }

    fn self_member(&self) -> Member {
        let c = self.node.config();
        Member {
            id: self.node.member_id(),
            name: c.name.clone(),
            peer_ur_ls: c.initial_advertise_peer_urls.clone(),
            client_ur_ls: c.advertise_client_urls.clone(),
            is_learner: false,
        }
    }
}

fn single_member() -> Status {
    Status::unavailable("etcdserver: membership changes are not supported by this single-member server yet")
}

#[tonic::async_trait]
impl Cluster for ClusterService {
    async fn member_add(&self, _r: Request<MemberAddRequest>) -> Result<Response<MemberAddResponse>, Status> {
        Err(single_member())
    }
    async fn member_remove(&self, _r: Request<MemberRemoveRequest>) -> Result<Response<MemberRemoveResponse>, Status> {
        Err(single_member())
    }
    async fn member_update(&self, _r: Request<MemberUpdateRequest>) -> Result<Response<MemberUpdateResponse>, Status> {
        Err(single_member())
    }
    async fn member_promote(
        &self,
        _r: Request<MemberPromoteRequest>,
    ) -> Result<Response<MemberPromoteResponse>, Status> {
        Err(single_member())
    }
    async fn member_list(&self, _r: Request<MemberListRequest>) -> Result<Response<MemberListResponse>, Status> {
        // etcd sends MemberList headers without a revision.
        Ok(Response::new(MemberListResponse {
            header: Some(self.node.header_at(0)),
            members: vec![self.self_member()],
        }))
    }
}
