//! Maintenance service: Status, Hash, HashKV, Snapshot and Defragment read or
//! rework the engine directly; Alarm goes through the apply path. MoveLeader
//! and Downgrade answer as a single etcd 3.5 member does.

use std::pin::Pin;
use std::sync::Arc;

use futures::Stream;
use tonic::{Request, Response, Status};

use crate::apply::Response as Applied;
use crate::auth::Access;
use crate::config::EngineKind;
use crate::error::Error;
use crate::maintenance::{hash, snapshot, status};
use crate::node::Node;
use crate::proto::capstanpb::command::Op;
use crate::proto::etcdserverpb::downgrade_request::DowngradeAction;
use crate::proto::etcdserverpb::maintenance_server::{Maintenance, MaintenanceServer};
use crate::proto::etcdserverpb::*;

/// etcd's maintenance server checks admin rights with the raw auth error, so
/// clients see `code = Unknown desc = auth: ...` (both 3.4 and 3.5 do this).
fn admin_only<T>(node: &Node, request: &Request<T>) -> Result<(), Status> {
    node.authorize(request.metadata(), &[Access::Admin]).map(|_| ()).map_err(|e| match e {
        Error::PermissionDenied => Status::unknown("auth: permission denied"),
        Error::UserEmpty => Status::unknown("auth: user name is empty"),
        Error::InvalidAuthToken => Status::unknown("auth: invalid auth token"),
        other => other.into(),
    })
}

pub struct MaintenanceService {
    node: Arc<Node>,
}

impl MaintenanceService {
    pub fn new(node: Arc<Node>) -> Self {
        Self { node }
    }

    /// Where snapshot dumps are staged: next to the db, like etcd's member/snap.
    fn snapshot_dir(&self) -> std::path::PathBuf {
        let c = self.node.config();
        match c.engine {
            EngineKind::Redb => c.data_dir.join("member").join("snap"),
            EngineKind::Memory => std::env::temp_dir(),
        }
    }
}

/// The tonic service for `server::serve`.
pub(super) fn service(node: Arc<Node>) -> MaintenanceServer<MaintenanceService> {
    MaintenanceServer::new(MaintenanceService::new(node))
}

/// Runs blocking engine work off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> crate::Result<T> + Send + 'static) -> Result<T, Status> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(Status::from),
        Err(e) => Err(Status::internal(format!("etcdserver: maintenance task failed: {e}"))),
    }
}

/// The cluster version a 3.5 member reports (major.minor.0).
const CLUSTER_VERSION: &str = "3.5.0";

/// etcd 3.5's target check: a semver (`3.4` is read as `3.4.0`) exactly one
/// minor below the cluster version.
fn check_downgrade_target(version: &str) -> Result<(), Status> {
    let core = version.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    let numeric = (2..=3).contains(&parts.len()) && parts.iter().all(|p| !p.is_empty() && p.parse::<u64>().is_ok());
    if !numeric || (parts.len() == 2 && core.len() != version.len()) {
        return Err(Status::invalid_argument("etcdserver: wrong downgrade target version format"));
    }
    if parts[0] != "3" || parts[1] != "4" {
        return Err(Status::invalid_argument("etcdserver: invalid downgrade target version"));
    }
    Ok(())
}

type SnapshotStream = Pin<Box<dyn Stream<Item = Result<SnapshotResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Maintenance for MaintenanceService {
    async fn alarm(&self, request: Request<AlarmRequest>) -> Result<Response<AlarmResponse>, Status> {
        match self.node.propose_op(Op::Alarm(request.into_inner())).await? {
            Applied::Alarm(mut r) => {
                self.node.fill(&mut r.header);
                Ok(Response::new(r))
            }
            _ => Err(Status::internal("etcdserver: unexpected apply response")),
        }
    }

    async fn status(&self, _request: Request<StatusRequest>) -> Result<Response<StatusResponse>, Status> {
        let node = self.node.clone();
        Ok(Response::new(blocking(move || status::status(&node)).await?))
    }

    async fn defragment(&self, request: Request<DefragmentRequest>) -> Result<Response<DefragmentResponse>, Status> {
        admin_only(&self.node, &request)?;
        let engine = self.node.store().engine().clone();
        tracing::info!("starting defragment");
        blocking(move || {
            engine.sync()?;
            engine.defragment()
        })
        .await?;
        tracing::info!("finished defragment");
        Ok(Response::new(DefragmentResponse { header: None }))
    }

    async fn hash(&self, request: Request<HashRequest>) -> Result<Response<HashResponse>, Status> {
        admin_only(&self.node, &request)?;
        let store = self.node.store().clone();
        let (h, rev) = blocking(move || {
            let rev = store.current_rev();
            Ok((hash::hash_all(store.engine().as_ref())?, rev))
        })
        .await?;
        Ok(Response::new(HashResponse { header: Some(self.node.header_at(rev)), hash: h }))
    }

    async fn hash_kv(&self, request: Request<HashKvRequest>) -> Result<Response<HashKvResponse>, Status> {
        admin_only(&self.node, &request)?;
        let store = self.node.store().clone();
        let rev = request.get_ref().revision;
        let h = blocking(move || hash::hash_kv(&store, rev)).await?;
        Ok(Response::new(HashKvResponse {
            header: Some(self.node.header_at(h.current_revision)),
            hash: h.hash,
            compact_revision: h.compact_revision,
            hash_revision: h.hash_revision,
        }))
    }

    type SnapshotStream = SnapshotStream;

    async fn snapshot(&self, request: Request<SnapshotRequest>) -> Result<Response<SnapshotStream>, Status> {
        admin_only(&self.node, &request)?;
        let store = self.node.store().clone();
        let dir = self.snapshot_dir();
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<SnapshotResponse, Status>>(4);
        tokio::task::spawn_blocking(move || {
            let sent = snapshot::take(&store, &dir).and_then(|dump| {
                tracing::info!(total_bytes = dump.len(), "sending database snapshot to client");
                dump.stream(&mut |r| tx.blocking_send(Ok(r)).is_ok())
            });
            if let Err(e) = sent {
                tracing::warn!(error = %e, "snapshot failed");
                let _ = tx.blocking_send(Err(e.into()));
            }
        });
        Ok(Response::new(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))))
    }

    async fn move_leader(&self, request: Request<MoveLeaderRequest>) -> Result<Response<MoveLeaderResponse>, Status> {
        admin_only(&self.node, &request)?;
        self.node.move_leader(request.get_ref().target_id).await?;
        Ok(Response::new(MoveLeaderResponse { header: Some(self.node.header()) }))
    }

    async fn downgrade(&self, request: Request<DowngradeRequest>) -> Result<Response<DowngradeResponse>, Status> {
        admin_only(&self.node, &request)?;
        let req = request.into_inner();
        match DowngradeAction::try_from(req.action) {
            Ok(DowngradeAction::Validate) => {
                check_downgrade_target(&req.version)?;
                Ok(Response::new(DowngradeResponse {
                    header: Some(self.node.header()),
                    version: CLUSTER_VERSION.into(),
                }))
            }
            Ok(DowngradeAction::Enable) => {
                check_downgrade_target(&req.version)?;
                Err(Status::unimplemented("etcdserver: downgrade is not supported by this server"))
            }
            Ok(DowngradeAction::Cancel) => Err(Status::failed_precondition("etcdserver: no inflight downgrade job")),
            Err(_) => Err(Status::unknown("etcdserver: unknown method")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downgrade_targets() {
        assert_eq!(
            check_downgrade_target("3.5x").unwrap_err().message(),
            "etcdserver: wrong downgrade target version format"
        );
        assert_eq!(
            check_downgrade_target("3.3").unwrap_err().message(),
            "etcdserver: invalid downgrade target version"
        );
        check_downgrade_target("3.4").unwrap();
        check_downgrade_target("3.4.0").unwrap();
        check_downgrade_target("3.4.0-rc1").unwrap();
        for bad in ["v3.4", "3", "3.4.1.2"] {
            assert_eq!(
                check_downgrade_target(bad).unwrap_err().message(),
                "etcdserver: wrong downgrade target version format"
            );
        }
    }
}
