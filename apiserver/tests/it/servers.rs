//! Test servers: an in-process single-member etcd-compat, and a real etcd
//! process on free ports with a temporary data dir.

use std::sync::Arc;
use std::time::Duration;

use capstan_apiserver::storage::EtcdBackend;
use etcd_compat::config::EngineKind;
use etcd_compat::{Config, Node};
use tokio::sync::oneshot;

pub const REAL_ETCD: &str = "/usr/bin/etcd";

fn port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A single etcd-compat member serving gRPC on a loopback port.
pub struct Compat {
    pub url: String,
    pub node: Arc<Node>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Compat {
    pub async fn start() -> Compat {
        let dir = tempfile::tempdir().unwrap();
        let (c, p) = (port(), port());
        let url = format!("http://127.0.0.1:{c}");
        let peer = format!("http://127.0.0.1:{p}");
        let config = Config {
            name: "m0".into(),
            data_dir: dir.path().join("m0"),
            listen_client_urls: vec![url.clone()],
            advertise_client_urls: vec![url.clone()],
            listen_peer_urls: vec![peer.clone()],
            initial_advertise_peer_urls: vec![peer.clone()],
            initial_cluster: format!("m0={peer}"),
            engine: EngineKind::Memory,
            heartbeat_interval_ms: 50,
            election_timeout_ms: 500,
            ..Config::default()
        };
        let node = Node::open(config).await.unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !node.is_leader() {
            assert!(tokio::time::Instant::now() < deadline, "no leader");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::timeout(Duration::from_secs(10), node.wait_published()).await.unwrap();
        let mut me = Compat { url, node, stop: None, server: None, _dir: dir };
        me.serve().await;
        me
    }

    /// (Re)starts the gRPC server on the same URL.
    pub async fn serve(&mut self) {
        let (tx, rx) = oneshot::channel();
        let node = self.node.clone();
        self.server = Some(tokio::spawn(async move {
            etcd_compat::server::serve(node, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        }));
        self.stop = Some(tx);
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(self.url.trim_start_matches("http://")).await.is_ok() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("etcd-compat did not start serving");
    }

    /// Stops the gRPC server (the member keeps running).
    pub async fn stop_serving(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
    }

    pub async fn backend(&self) -> EtcdBackend {
        EtcdBackend::connect(std::slice::from_ref(&self.url)).await.unwrap()
    }
}

/// A real etcd process, killed on drop.
pub struct RealEtcd {
    pub url: String,
    _child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl RealEtcd {
    /// None (with a note) when the binary is missing.
    pub async fn start() -> Option<RealEtcd> {
        if !std::path::Path::new(REAL_ETCD).exists() {
            eprintln!("note: {REAL_ETCD} is missing; skipping the real-etcd test");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let (c, p) = (port(), port());
        let url = format!("http://127.0.0.1:{c}");
        let peer = format!("http://127.0.0.1:{p}");
        let log = std::fs::File::create(dir.path().join("etcd.log")).unwrap();
        let child = tokio::process::Command::new(REAL_ETCD)
            .arg("--name=default")
            .arg(format!("--data-dir={}", dir.path().join("data").display()))
            .arg(format!("--listen-client-urls={url}"))
            .arg(format!("--advertise-client-urls={url}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=default={peer}"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            if EtcdBackend::connect(std::slice::from_ref(&url)).await.is_ok() {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "etcd did not start; see its log");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Some(RealEtcd { url, _child: child, _dir: dir })
    }

    pub async fn backend(&self) -> EtcdBackend {
        EtcdBackend::connect(std::slice::from_ref(&self.url)).await.unwrap()
    }
}
