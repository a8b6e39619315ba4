//! Watch service: each bidirectional stream is served by its own task
//! ([`crate::watch::stream`]); responses flow back through a bounded channel.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use crate::node::Node;
use crate::proto::etcdserverpb::watch_server::Watch;
use crate::proto::etcdserverpb::{WatchRequest, WatchResponse};
use crate::watch::stream;

/// Responses buffered per stream before the stream task waits for the client.
const OUT_BUFFER: usize = 128;

pub struct WatchService {
    node: Arc<Node>,
}

impl WatchService {
    pub fn new(node: Arc<Node>) -> Self {
        // Everything committed before serving starts is history, not news.
        node.watch_hub().seed_rev(node.store().current_rev());
        Self { node }
    }
}

#[tonic::async_trait]
impl Watch for WatchService {
    type WatchStream = ReceiverStream<Result<WatchResponse, Status>>;

    async fn watch(&self, request: Request<Streaming<WatchRequest>>) -> Result<Response<Self::WatchStream>, Status> {
        let meta = request.metadata().clone();
        let incoming = request.into_inner();
        let (tx, rx) = mpsc::channel(OUT_BUFFER);
        tokio::spawn(stream::serve(self.node.clone(), meta, incoming, tx));
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
