//! `Cluster::new(n)`: in-process members on loopback ports with gRPC clients,
//! replicating through real peer gRPC, with a shared fault shim on the peer
//! network (drop, delay, partition, heal) and stop/restart of members.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_compat::config::EngineKind;
use etcd_compat::proto::etcdserverpb::kv_client::KvClient;
use etcd_compat::proto::etcdserverpb::lease_client::LeaseClient;
use etcd_compat::raft::faults::Faults;
use etcd_compat::{Config, Node};
use tokio::sync::oneshot;
use tonic::transport::Channel;

pub struct Member {
    pub node: Arc<Node>,
    pub url: String,
    pub config: Config,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
}

pub struct Cluster {
    pub members: Vec<Option<Member>>,
    pub configs: Vec<Config>,
    pub faults: Faults,
    _dir: tempfile::TempDir,
}

fn port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start(config: Config) -> Member {
    let url = config.listen_client_urls[0].clone();
    // A stopped member's apply and WAL threads may still be letting go of its
    // files for a moment after `stop`; retry opening for a bounded time.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let node = loop {
        match Node::open(config.clone()).await {
            Ok(n) => break n,
            Err(e) if std::time::Instant::now() < deadline => {
                eprintln!("reopening {}: {e}; retrying", config.name);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("opening {}: {e}", config.name),
        }
    };
    let (tx, rx) = oneshot::channel();
    let n2 = node.clone();
    let server = tokio::spawn(async move {
        etcd_compat::server::serve(n2, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    for _ in 0..200 {
        if Channel::from_shared(url.clone()).unwrap().connect().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Member { node, url, config, stop: Some(tx), server: Some(server) }
}

impl Cluster {
    /// Starts `n` members on the in-memory engine.
    pub async fn new(n: usize) -> Cluster {
        Self::with(n, |_| {}).await
    }

    /// Like [`Cluster::new`], with a hook to adjust each member's config.
    pub async fn with(n: usize, tweak: impl Fn(&mut Config)) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let faults = Faults::default();
        let ports: Vec<(u16, u16)> = (0..n).map(|_| (port(), port())).collect();
        let initial: Vec<String> =
            ports.iter().enumerate().map(|(i, (_, p))| format!("m{i}=http://127.0.0.1:{p}")).collect();
        let mut configs = Vec::new();
        for (i, (c, p)) in ports.iter().enumerate() {
            let url = format!("http://127.0.0.1:{c}");
            let peer = format!("http://127.0.0.1:{p}");
            let mut config = Config {
                name: format!("m{i}"),
                data_dir: dir.path().join(format!("m{i}")),
                listen_client_urls: vec![url.clone()],
                advertise_client_urls: vec![url],
                listen_peer_urls: vec![peer.clone()],
                initial_advertise_peer_urls: vec![peer],
                initial_cluster: initial.join(","),
                engine: EngineKind::Memory,
                heartbeat_interval_ms: 50,
                election_timeout_ms: 500,
                faults: faults.clone(),
                ..Config::default()
            };
            tweak(&mut config);
            configs.push(config);
        }
        let mut members = Vec::new();
        for config in &configs {
            members.push(Some(start(config.clone()).await));
        }
        let c = Cluster { members, configs, faults, _dir: dir };
        c.wait_leader(Duration::from_secs(10)).await;
        // As `capstan etcd` does before serving clients.
        for m in c.members.iter().flatten() {
            tokio::time::timeout(Duration::from_secs(10), m.node.wait_published()).await.expect("member published");
        }
        c
    }

    pub fn member(&self, i: usize) -> &Member {
        self.members[i].as_ref().expect("member is stopped")
    }

    pub fn node(&self, i: usize) -> &Arc<Node> {
        &self.member(i).node
    }

    pub fn ids(&self) -> Vec<u64> {
        self.members.iter().flatten().map(|m| m.node.member_id()).collect()
    }

    /// Index of the member every running member agrees leads, if any.
    pub fn leader(&self) -> Option<usize> {
        let mut leader = None;
        for m in self.members.iter().flatten() {
            if m.node.is_leader() {
                leader = Some(m.node.member_id());
            }
        }
        let id = leader?;
        self.members.iter().position(|m| m.as_ref().is_some_and(|m| m.node.member_id() == id))
    }

    pub async fn wait_leader(&self, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.leader() {
                return l;
            }
            assert!(Instant::now() < deadline, "no leader within {timeout:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Stops member `i` (its Raft, peer and client servers).
    pub async fn stop(&mut self, i: usize) {
        if let Some(mut m) = self.members[i].take() {
            m.node.shutdown().await;
            if let Some(tx) = m.stop.take() {
                let _ = tx.send(());
            }
            if let Some(s) = m.server.take() {
                let _ = s.await;
            }
        }
    }

    /// Starts member `i` again with its config (keeps data on the redb engine).
    pub async fn restart(&mut self, i: usize) {
        self.stop(i).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.members[i] = Some(start(self.configs[i].clone()).await);
    }

    pub async fn channel(&self, i: usize) -> Channel {
        Channel::from_shared(self.member(i).url.clone()).unwrap().connect().await.unwrap()
    }

    pub async fn kv(&self, i: usize) -> KvClient<Channel> {
        KvClient::new(self.channel(i).await)
    }

    pub async fn lease(&self, i: usize) -> LeaseClient<Channel> {
        LeaseClient::new(self.channel(i).await)
    }

    pub async fn maintenance(
        &self,
        i: usize,
    ) -> etcd_compat::proto::etcdserverpb::maintenance_client::MaintenanceClient<Channel> {
        etcd_compat::proto::etcdserverpb::maintenance_client::MaintenanceClient::new(self.channel(i).await)
    }

    pub async fn auth(&self, i: usize) -> etcd_compat::proto::etcdserverpb::auth_client::AuthClient<Channel> {
        etcd_compat::proto::etcdserverpb::auth_client::AuthClient::new(self.channel(i).await)
    }

    pub async fn cluster(&self, i: usize) -> etcd_compat::proto::etcdserverpb::cluster_client::ClusterClient<Channel> {
        etcd_compat::proto::etcdserverpb::cluster_client::ClusterClient::new(self.channel(i).await)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for m in self.members.iter_mut().flatten() {
            let node = m.node.clone();
            tokio::spawn(async move { node.shutdown().await });
            if let Some(tx) = m.stop.take() {
                let _ = tx.send(());
            }
        }
    }
}
