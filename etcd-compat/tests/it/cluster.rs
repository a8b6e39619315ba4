//! `Cluster::new(n)`: in-process members on loopback ports with gRPC clients.
#![allow(dead_code)]

use std::sync::Arc;

use etcd_compat::config::EngineKind;
use etcd_compat::proto::etcdserverpb::kv_client::KvClient;
use etcd_compat::proto::etcdserverpb::lease_client::LeaseClient;
use etcd_compat::{Config, Node};
use tokio::sync::oneshot;
use tonic::transport::Channel;

pub struct Member {
    pub node: Arc<Node>,
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
}

pub struct Cluster {
    pub members: Vec<Member>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    /// Starts `n` members (S1: n must be 1) on the in-memory engine.
    pub async fn new(n: usize) -> Cluster {
        Self::with(n, |_| {}).await
    }

    /// Like [`Cluster::new`], with a hook to adjust each member's config.
    pub async fn with(n: usize, tweak: impl Fn(&mut Config)) -> Cluster {
        assert_eq!(n, 1, "replication arrives with S2");
        let dir = tempfile::tempdir().unwrap();
        let mut members = Vec::new();
        for i in 0..n {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let url = format!("http://127.0.0.1:{port}");
            let mut config = Config {
                name: format!("m{i}"),
                data_dir: dir.path().join(format!("m{i}")),
                listen_client_urls: vec![url.clone()],
                advertise_client_urls: vec![url.clone()],
                engine: EngineKind::Memory,
                ..Config::default()
            };
            tweak(&mut config);
            let node = Node::open(config).unwrap();
            let (tx, rx) = oneshot::channel();
            let n2 = node.clone();
            tokio::spawn(async move {
                etcd_compat::server::serve(n2, async {
                    let _ = rx.await;
                })
                .await
                .unwrap();
            });
            members.push(Member { node, url, stop: Some(tx) });
        }
        let c = Cluster { members, _dir: dir };
        for m in &c.members {
            for _ in 0..100 {
                if Channel::from_shared(m.url.clone()).unwrap().connect().await.is_ok() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
        c
    }

    pub async fn channel(&self, i: usize) -> Channel {
        Channel::from_shared(self.members[i].url.clone()).unwrap().connect().await.unwrap()
    }

    pub async fn kv(&self, i: usize) -> KvClient<Channel> {
        KvClient::new(self.channel(i).await)
    }

    pub async fn lease(&self, i: usize) -> LeaseClient<Channel> {
        LeaseClient::new(self.channel(i).await)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(tx) = m.stop.take() {
                let _ = tx.send(());
            }
        }
    }
}

impl Cluster {
    pub async fn maintenance(
        &self,
        i: usize,
    ) -> etcd_compat::proto::etcdserverpb::maintenance_client::MaintenanceClient<Channel> {
        etcd_compat::proto::etcdserverpb::maintenance_client::MaintenanceClient::new(self.channel(i).await)
    }
}

impl Cluster {
    pub async fn auth(&self, i: usize) -> etcd_compat::proto::etcdserverpb::auth_client::AuthClient<Channel> {
        etcd_compat::proto::etcdserverpb::auth_client::AuthClient::new(self.channel(i).await)
    }
}
