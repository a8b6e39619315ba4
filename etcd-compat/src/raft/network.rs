//! The peer network: openraft's RPCs over the `capstanpb.Peer` gRPC service,
//! one lazily connected channel per peer URL, and a fault shim that tests use
//! to drop, delay or partition traffic between members.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use openraft::error::{
    Fatal, NetworkError, RPCError, RaftError, RemoteError, ReplicationClosed, StreamingError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse};
use parking_lot::Mutex;
use tonic::transport::{Channel, Endpoint};

use super::faults::{Faults, Verdict};
use super::types::{decode, encode, Member, NodeId, Snapshot, TypeConfig, Vote};
use crate::error::{Error, Result};
use crate::proto::capstanpb::peer_client::PeerClient;
use crate::proto::capstanpb::{RaftMessage, SnapshotChunk};

/// Largest peer message either side accepts (snapshots are chunked below it).
pub const MAX_PEER_MESSAGE: usize = 256 << 20;
const SNAPSHOT_CHUNK: usize = 1 << 20;

/// Channels to peers, keyed by URL, shared by replication and forwarding.
#[derive(Clone)]
pub struct PeerPool {
    channels: Arc<Mutex<HashMap<String, Channel>>>,
    bind: Option<IpAddr>,
    pub faults: Faults,
    pub me: NodeId,
}

impl PeerPool {
    /// `bind`: the local address outgoing connections use (the host of this
    /// member's listen-peer URL), so a proxy can tell members apart.
    pub fn new(me: NodeId, bind: Option<IpAddr>, faults: Faults) -> Self {
        Self { channels: Default::default(), bind, faults, me }
    }

    pub fn channel(&self, url: &str) -> Result<Channel> {
        let mut map = self.channels.lock();
        if let Some(c) = map.get(url) {
            return Ok(c.clone());
        }
        let endpoint = Endpoint::from_shared(url.to_string())
            .map_err(|e| Error::InvalidArgument(format!("bad peer URL {url:?}: {e}")))?
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_millis(500))
            .http2_keep_alive_interval(Duration::from_secs(5))
            .keep_alive_timeout(Duration::from_secs(5))
            .local_address(self.bind);
        let channel = endpoint.connect_lazy();
        map.insert(url.to_string(), channel.clone());
        Ok(channel)
    }

    pub fn client(&self, member: &Member) -> Result<PeerClient<Channel>> {
        let url = member.peer_urls.first().ok_or_else(|| Error::InvalidArgument("member has no peer URL".into()))?;
        Ok(PeerClient::new(self.channel(url)?)
            .max_decoding_message_size(MAX_PEER_MESSAGE)
            .max_encoding_message_size(MAX_PEER_MESSAGE))
    }

    /// Applies the fault shim to one message from this member to `to`.
    pub async fn pass(&self, to: NodeId) -> bool {
        match self.faults.verdict(self.me, to) {
            Verdict::Pass => true,
            Verdict::Drop => false,
            Verdict::Delay(d) => {
                tokio::time::sleep(d).await;
                true
            }
        }
    }
}

impl RaftNetworkFactory<TypeConfig> for PeerPool {
    type Network = PeerNetwork;

    async fn new_client(&mut self, target: NodeId, node: &Member) -> PeerNetwork {
        PeerNetwork { pool: self.clone(), target, node: node.clone() }
    }
}

pub struct PeerNetwork {
    pool: PeerPool,
    target: NodeId,
    node: Member,
}

type RpcErr<E = openraft::error::Infallible> = RPCError<NodeId, Member, RaftError<NodeId, E>>;

fn unreachable<E: std::error::Error>(e: &Error) -> RPCError<NodeId, Member, E> {
    RPCError::Unreachable(Unreachable::new(e))
}

/// One unary peer call taking and returning a bincode message.
type PeerRpc = fn(
    PeerClient<Channel>,
    RaftMessage,
) -> std::pin::Pin<
    Box<dyn Future<Output = std::result::Result<tonic::Response<RaftMessage>, tonic::Status>> + Send>,
>;

impl PeerNetwork {
    async fn call<Req, Resp, E>(
        &mut self,
        req: &Req,
        option: &RPCOption,
        rpc: PeerRpc,
    ) -> std::result::Result<Resp, RPCError<NodeId, Member, RaftError<NodeId, E>>>
    where
        Req: serde::Serialize,
        Resp: serde::de::DeserializeOwned,
        E: std::error::Error + serde::de::DeserializeOwned,
    {
        if !self.pool.pass(self.target).await {
            return Err(unreachable(&Error::Raft("dropped by the fault shim".into())));
        }
        let client = self.pool.client(&self.node).map_err(|e| unreachable(&e))?;
        let data = encode(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let fut = rpc(client, RaftMessage { data });
        let resp = match tokio::time::timeout(option.hard_ttl(), fut).await {
            Err(_) => return Err(unreachable(&Error::Timeout)),
            Ok(Err(status)) => return Err(unreachable(&Error::Raft(status.message().to_string()))),
            Ok(Ok(r)) => r.into_inner(),
        };
        let result: std::result::Result<Resp, RaftError<NodeId, E>> =
            decode(&resp.data).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new_with_node(self.target, self.node.clone(), e)))
    }
}

impl RaftNetwork<TypeConfig> for PeerNetwork {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> std::result::Result<AppendEntriesResponse<NodeId>, RpcErr> {
        self.call(&rpc, &option, |mut c, m| Box::pin(async move { c.append_entries(m).await })).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> std::result::Result<VoteResponse<NodeId>, RpcErr> {
        self.call(&rpc, &option, |mut c, m| Box::pin(async move { c.vote(m).await })).await
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + Send + 'static,
        option: RPCOption,
    ) -> std::result::Result<SnapshotResponse<NodeId>, StreamingError<TypeConfig, Fatal<NodeId>>> {
        if !self.pool.pass(self.target).await {
            return Err(StreamingError::Unreachable(Unreachable::new(&Error::Raft(
                "dropped by the fault shim".into(),
            ))));
        }
        let client = self.pool.client(&self.node);
        let mut client = client.map_err(|e| StreamingError::Unreachable(Unreachable::new(&e)))?;
        let header =
            encode(&(vote, snapshot.meta.clone())).map_err(|e| StreamingError::Network(NetworkError::new(&e)))?;
        let data = *snapshot.snapshot;
        let mut chunks = vec![SnapshotChunk { header, data: Vec::new() }];
        chunks.extend(data.chunks(SNAPSHOT_CHUNK).map(|c| SnapshotChunk { header: Vec::new(), data: c.to_vec() }));
        let send = client.install_snapshot(tokio_stream::iter(chunks));
        // A snapshot may take far longer than one append; allow a generous multiple.
        let ttl = option.hard_ttl().max(Duration::from_secs(30));
        let resp = tokio::select! {
            closed = cancel => return Err(StreamingError::Closed(closed)),
            r = tokio::time::timeout(ttl, send) => r,
        };
        let resp = match resp {
            Err(_) => return Err(StreamingError::Unreachable(Unreachable::new(&Error::Timeout))),
            Ok(Err(status)) => {
                return Err(StreamingError::Unreachable(Unreachable::new(&Error::Raft(status.message().to_string()))))
            }
            Ok(Ok(r)) => r.into_inner(),
        };
        let result: std::result::Result<SnapshotResponse<NodeId>, Fatal<NodeId>> =
            decode(&resp.data).map_err(|e| StreamingError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| StreamingError::RemoteError(RemoteError::new_with_node(self.target, self.node.clone(), e)))
    }
}
