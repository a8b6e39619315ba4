//! The peer gRPC service on `--listen-peer-urls`: openraft's RPCs into the
//! local Raft, plus what followers ask of the leader (proposals, read index,
//! lease keep-alives and TTLs, membership changes) and leadership transfer.

use std::pin::Pin;
use std::sync::Arc;

use futures::StreamExt;
use openraft::raft::{AppendEntriesRequest, VoteRequest};
use tonic::{Request, Response, Status, Streaming};

use super::network::MAX_PEER_MESSAGE;
use super::types::{decode, encode, encode_result, NodeId, Snapshot, SnapshotMeta, TypeConfig, Vote};
use crate::error::{Error, Result};
use crate::node::Node;
use crate::proto::capstanpb::peer_server::{Peer, PeerServer};
use crate::proto::capstanpb::*;
use crate::proto::etcdserverpb::{
    LeaseKeepAliveRequest, LeaseKeepAliveResponse, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse, MemberListRequest,
    MemberListResponse,
};

pub struct PeerService {
    node: Arc<Node>,
}

fn status(e: Error) -> Status {
    e.into()
}

fn reply<T: serde::Serialize>(v: &T) -> std::result::Result<Response<RaftMessage>, Status> {
    Ok(Response::new(RaftMessage { data: encode(v).map_err(status)? }))
}

#[tonic::async_trait]
impl Peer for PeerService {
    async fn append_entries(&self, r: Request<RaftMessage>) -> std::result::Result<Response<RaftMessage>, Status> {
        let req: AppendEntriesRequest<TypeConfig> = decode(&r.into_inner().data).map_err(status)?;
        reply(&self.node.raft().append_entries(req).await)
    }

    async fn vote(&self, r: Request<RaftMessage>) -> std::result::Result<Response<RaftMessage>, Status> {
        let req: VoteRequest<NodeId> = decode(&r.into_inner().data).map_err(status)?;
        reply(&self.node.raft().vote(req).await)
    }

    async fn install_snapshot(
        &self,
        r: Request<Streaming<SnapshotChunk>>,
    ) -> std::result::Result<Response<RaftMessage>, Status> {
        let mut stream = r.into_inner();
        let first = stream.next().await.ok_or_else(|| Status::invalid_argument("empty snapshot stream"))??;
        let (vote, meta): (Vote, SnapshotMeta) = decode(&first.header).map_err(status)?;
        let mut data = first.data;
        while let Some(chunk) = stream.next().await {
            data.extend_from_slice(&chunk?.data);
        }
        let snapshot = Snapshot { meta, snapshot: Box::new(data) };
        reply(&self.node.raft().install_full_snapshot(vote, snapshot).await)
    }

    async fn propose(&self, r: Request<Command>) -> std::result::Result<Response<ApplyResult>, Status> {
        let result = self.node.propose_local(r.into_inner()).await;
        Ok(Response::new(encode_result(&result)))
    }

    async fn read_index(
        &self,
        _r: Request<ReadIndexRequest>,
    ) -> std::result::Result<Response<ReadIndexResponse>, Status> {
        if !self.node.is_leader() {
            return Err(Error::LeaderChanged.into());
        }
        Ok(Response::new(ReadIndexResponse { index: self.node.read_index().await? }))
    }

    async fn lease_keep_alive(
        &self,
        r: Request<LeaseKeepAliveRequest>,
    ) -> std::result::Result<Response<LeaseKeepAliveResponse>, Status> {
        let id = r.into_inner().id;
        if !self.node.is_leader() {
            return Err(Error::LeaderChanged.into());
        }
        let ttl = self.node.lease_keepalive(id).await?;
        Ok(Response::new(LeaseKeepAliveResponse { header: Some(self.node.header()), id, ttl }))
    }

    async fn lease_time_to_live(
        &self,
        r: Request<LeaseTimeToLiveRequest>,
    ) -> std::result::Result<Response<LeaseTimeToLiveResponse>, Status> {
        if !self.node.is_leader() {
            return Err(Error::LeaderChanged.into());
        }
        Ok(Response::new(self.node.lease_time_to_live(r.into_inner()).await?))
    }

    async fn member_list(
        &self,
        _r: Request<MemberListRequest>,
    ) -> std::result::Result<Response<MemberListResponse>, Status> {
        Ok(Response::new(MemberListResponse { header: Some(self.node.header_at(0)), members: self.node.members() }))
    }

    async fn member_change(
        &self,
        r: Request<MemberChangeRequest>,
    ) -> std::result::Result<Response<MemberChangeResponse>, Status> {
        let change = r.into_inner().change.ok_or_else(|| Status::invalid_argument("empty member change"))?;
        if !self.node.is_leader() {
            return Err(Error::LeaderChanged.into());
        }
        Ok(Response::new(self.node.member_change_response(change).await))
    }

    async fn timeout_now(
        &self,
        r: Request<TimeoutNowRequest>,
    ) -> std::result::Result<Response<TimeoutNowResponse>, Status> {
        self.node.campaign(r.into_inner().leader);
        Ok(Response::new(TimeoutNowResponse {}))
    }

    async fn hold_election(
        &self,
        r: Request<HoldElectionRequest>,
    ) -> std::result::Result<Response<HoldElectionResponse>, Status> {
        self.node.hold_election(r.into_inner().millis.min(60_000));
        Ok(Response::new(HoldElectionResponse {}))
    }
}

type ServeFuture = Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Binds every listen-peer URL and serves the peer API until the process ends.
pub async fn spawn(node: Arc<Node>) -> Result<()> {
    let mut tasks: Vec<ServeFuture> = Vec::new();
    for u in &node.config().listen_peer_urls {
        let addr = crate::server::parse_listen_url(u)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::InvalidArgument(format!("listen-peer-urls {u}: {e}")))?;
        let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let svc = PeerServer::new(PeerService { node: node.clone() })
            .max_decoding_message_size(MAX_PEER_MESSAGE)
            .max_encoding_message_size(MAX_PEER_MESSAGE);
        let router = tonic::transport::Server::builder().tcp_nodelay(true).add_service(svc);
        let stopped = node.stopped();
        tasks.push(Box::pin(async move {
            if let Err(e) = router.serve_with_incoming_shutdown(incoming, stopped).await {
                tracing::error!(error = %e, "peer server stopped");
            }
        }));
    }
    for t in tasks {
        tokio::spawn(t);
    }
    Ok(())
}
