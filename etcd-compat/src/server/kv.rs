//! KV service: Range and RangeStream read committed state; Put, DeleteRange,
//! Txn and Compact are proposed through the apply path.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use prost::Message;
use tonic::{Request, Response, Status};

use super::{check_grpc_size, check_request_size, validate};
use crate::apply::{check_intervals, check_txn_request, range, Response as Applied};
use crate::auth::Access;
use crate::error::Error;
use crate::node::Node;
use crate::proto::capstanpb::command::Op;
use crate::proto::capstanpb::Command;
use crate::proto::etcdserverpb::kv_server::Kv;
use crate::proto::etcdserverpb::*;

/// Keys per RangeStream chunk.
const STREAM_CHUNK: usize = 1000;

pub struct KvService {
    node: Arc<Node>,
}

impl KvService {
    pub fn new(node: Arc<Node>) -> Self {
        Self { node }
    }

    async fn propose(&self, op: Op, user: String) -> Result<Applied, Status> {
        let cmd = Command { op: Some(op), user };
        check_request_size(&self.node, cmd.encoded_len())?;
        Ok(self.node.propose(cmd).await?)
    }

    /// Raises NOSPACE and refuses the write when over quota (etcd's quota check).
    async fn check_quota(&self) -> Result<(), Status> {
        if self.node.check_quota().await? {
            return Err(Error::NoSpace.into());
        }
        Ok(())
    }

    fn do_range(&self, req: &RangeRequest) -> Result<RangeResponse, Status> {
        let mut resp = range::range(self.node.store().as_ref(), req)?;
        self.node.fill(&mut resp.header);
        Ok(resp)
    }
}

fn unexpected() -> Status {
    Status::internal("etcdserver: unexpected apply response")
}

type RangeStream = Pin<Box<dyn Stream<Item = Result<RangeStreamResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Kv for KvService {
    async fn range(&self, request: Request<RangeRequest>) -> Result<Response<RangeResponse>, Status> {
        let req = request.get_ref();
        check_grpc_size(&self.node, req.encoded_len())?;
        validate::check_range(req)?;
        self.node.authorize(request.metadata(), &[Access::read(&req.key, &req.range_end)])?;
        if !req.serializable {
            self.node.linearize().await?;
        }
        Ok(Response::new(self.do_range(req)?))
    }

    type RangeStreamStream = RangeStream;

    async fn range_stream(&self, request: Request<RangeRequest>) -> Result<Response<RangeStream>, Status> {
        let req = request.get_ref();
        validate::check_range(req)?;
        self.node.authorize(request.metadata(), &[Access::read(&req.key, &req.range_end)])?;
        if !req.serializable {
            self.node.linearize().await?;
        }
        let full = self.do_range(req)?;
        let mut chunks: Vec<Result<RangeStreamResponse, Status>> = Vec::new();
        let mut kvs = full.kvs.into_iter().peekable();
        loop {
            let chunk: Vec<_> = kvs.by_ref().take(STREAM_CHUNK).collect();
            let last = kvs.peek().is_none();
            let range_response = if last {
                RangeResponse { header: full.header, kvs: chunk, more: full.more, count: full.count }
            } else {
                RangeResponse { kvs: chunk, ..Default::default() }
            };
            chunks.push(Ok(RangeStreamResponse { range_response: Some(range_response) }));
            if last {
                break;
            }
        }
        Ok(Response::new(Box::pin(futures::stream::iter(chunks))))
    }

    async fn put(&self, request: Request<PutRequest>) -> Result<Response<PutResponse>, Status> {
        let user = {
            let req = request.get_ref();
            check_grpc_size(&self.node, req.encoded_len())?;
            validate::check_put(req)?;
            self.node.authorize(request.metadata(), &[Access::write(&req.key, &[])])?
        };
        self.check_quota().await?;
        match self.propose(Op::Put(request.into_inner()), user).await? {
            Applied::Put(mut r) => {
                self.node.fill(&mut r.header);
                Ok(Response::new(r))
            }
            _ => Err(unexpected()),
        }
    }

    async fn delete_range(
        &self,
        request: Request<DeleteRangeRequest>,
    ) -> Result<Response<DeleteRangeResponse>, Status> {
        let user = {
            let req = request.get_ref();
            check_grpc_size(&self.node, req.encoded_len())?;
            validate::check_delete(req)?;
            self.node.authorize(request.metadata(), &[Access::write(&req.key, &req.range_end)])?
        };
        match self.propose(Op::DeleteRange(request.into_inner()), user).await? {
            Applied::DeleteRange(mut r) => {
                self.node.fill(&mut r.header);
                Ok(Response::new(r))
            }
            _ => Err(unexpected()),
        }
    }

    async fn txn(&self, request: Request<TxnRequest>) -> Result<Response<TxnResponse>, Status> {
        let user = {
            let req = request.get_ref();
            check_grpc_size(&self.node, req.encoded_len())?;
            check_txn_request(req, self.node.config().max_txn_ops)?;
            check_intervals(&req.success)?;
            check_intervals(&req.failure)?;
            let mut access = Vec::new();
            Access::of_txn(req, &mut access);
            self.node.authorize(request.metadata(), &access)?
        };
        if crate::apply::txn_has_put(request.get_ref()) {
            self.check_quota().await?;
        }
        match self.propose(Op::Txn(request.into_inner()), user).await? {
            Applied::Txn(mut r) => {
                self.node.fill(&mut r.header);
                Ok(Response::new(r))
            }
            _ => Err(unexpected()),
        }
    }

    async fn compact(&self, request: Request<CompactionRequest>) -> Result<Response<CompactionResponse>, Status> {
        // etcd checks no permission on Compact; only the token must be valid.
        let user = self.node.authorize(request.metadata(), &[])?;
        match self.propose(Op::Compaction(request.into_inner()), user).await? {
            Applied::Compaction(mut r) => {
                self.node.fill(&mut r.header);
                Ok(Response::new(r))
            }
            _ => Err(unexpected()),
        }
    }
}
