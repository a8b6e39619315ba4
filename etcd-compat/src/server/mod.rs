//! tonic services for etcd's v3 API. Each translates, checks and proposes;
//! state changes happen only in [`crate::apply`].

mod auth;
mod authority;
mod cluster;
mod kv;
mod lease;
mod maintenance;
pub mod validate;
mod watch;

use std::net::SocketAddr;
use std::sync::Arc;

use tonic::transport::Server;

use crate::config::GRPC_OVERHEAD_BYTES;
use crate::error::{Error, Result};
use crate::node::Node;
use crate::proto::etcdserverpb::cluster_server::ClusterServer;
use crate::proto::etcdserverpb::kv_server::KvServer;
use crate::proto::etcdserverpb::lease_server::LeaseServer;

pub use cluster::ClusterService;
pub use kv::KvService;
pub use lease::LeaseService;

/// Parses an etcd client URL (`http://host:port`) into a socket address.
pub fn parse_listen_url(u: &str) -> Result<SocketAddr> {
    let url = url::Url::parse(u).map_err(|e| Error::InvalidArgument(format!("bad URL {u:?}: {e}")))?;
    if url.scheme() != "http" {
        return Err(Error::InvalidArgument(format!("unsupported URL scheme {:?} in {u:?} (only http)", url.scheme())));
    }
    let host = url.host_str().unwrap_or("127.0.0.1");
    let host = if host == "localhost" { "127.0.0.1" } else { host };
    let port = url.port().unwrap_or(2379);
    format!("{host}:{port}").parse().map_err(|e| Error::InvalidArgument(format!("bad listen address in {u:?}: {e}")))
}

/// Rejects a request larger than grpc-go would accept, with grpc-go's text.
pub(crate) fn check_grpc_size(node: &Node, len: usize) -> std::result::Result<(), tonic::Status> {
    let max = node.config().max_request_bytes + GRPC_OVERHEAD_BYTES;
    if len > max {
        return Err(tonic::Status::resource_exhausted(format!(
            "grpc: received message larger than max ({len} vs. {max})"
        )));
    }
    Ok(())
}

/// Rejects a command over --max-request-bytes (etcd checks the Raft entry).
pub(crate) fn check_request_size(node: &Node, len: usize) -> Result<()> {
    if len > node.config().max_request_bytes {
        return Err(Error::RequestTooLarge);
    }
    Ok(())
}

/// Serves the client API on every listen URL until `shutdown` resolves.
pub async fn serve(
    node: Arc<Node>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let limit = 64 << 20;
    let mut addrs = Vec::new();
    for u in &node.config().listen_client_urls {
        addrs.push(parse_listen_url(u)?);
    }
    let (stop_tx, _) = tokio::sync::broadcast::channel::<()>(1);
    let mut tasks = Vec::new();
    for addr in addrs {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        // tonic ignores the builder's tcp_nodelay with a custom incoming, so set it
        // here: without it small responses wait out the peer's delayed ACK (~40 ms).
        let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let incoming = futures::StreamExt::map(incoming, |conn| conn.map(authority::AuthorityFix::new));
        let router = Server::builder()
            .tcp_nodelay(true)
            .http2_adaptive_window(Some(true))
            .add_service(KvServer::new(KvService::new(node.clone())).max_decoding_message_size(limit))
            .add_service(LeaseServer::new(LeaseService::new(node.clone())).max_decoding_message_size(limit))
            .add_service(ClusterServer::new(ClusterService::new(node.clone())).max_decoding_message_size(limit))
            .add_service(
                crate::proto::etcdserverpb::auth_server::AuthServer::new(auth::AuthService::new(node.clone()))
                    .max_decoding_message_size(limit),
            )
            .add_service(maintenance::service(node.clone()).max_decoding_message_size(limit))
            .add_service(
                crate::proto::etcdserverpb::watch_server::WatchServer::new(watch::WatchService::new(node.clone()))
                    .max_decoding_message_size(limit),
            );
        let mut stop = stop_tx.subscribe();
        tasks.push(tokio::spawn(async move {
            router
                .serve_with_incoming_shutdown(incoming, async move {
                    let _ = stop.recv().await;
                })
                .await
        }));
    }
    shutdown.await;
    let _ = stop_tx.send(());
    for t in tasks {
        t.await??;
    }
    Ok(())
}
