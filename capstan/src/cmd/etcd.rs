//! `capstan etcd`: an etcd member, configured with etcd's flag names.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use etcd_compat::config::EngineKind;
use etcd_compat::Config;

fn split_urls(s: &str) -> Vec<String> {
    s.split(',').map(|u| u.trim().to_string()).filter(|u| !u.is_empty()).collect()
}

#[derive(Debug, Args)]
pub struct EtcdArgs {
    /// Human-readable name for this member.
    #[arg(long, default_value = "default")]
    name: String,
    /// Path to the data directory (defaults to `<name>.etcd`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Comma-separated URLs to listen on for client traffic.
    #[arg(long, default_value = "http://localhost:2379")]
    listen_client_urls: String,
    /// Comma-separated client URLs to advertise to the rest of the cluster.
    #[arg(long, default_value = "http://localhost:2379")]
    advertise_client_urls: String,
    /// Comma-separated URLs to listen on for peer traffic .
    #[arg(long, default_value = "http://localhost:2380")]
    listen_peer_urls: String,
    /// Comma-separated peer URLs to advertise .
    #[arg(long, default_value = "http://localhost:2380")]
    initial_advertise_peer_urls: String,
    /// Initial cluster configuration for bootstrapping .
    #[arg(long)]
    initial_cluster: Option<String>,
    /// `new` or `existing` .
    #[arg(long, default_value = "new")]
    initial_cluster_state: String,
    /// Initial cluster token.
    #[arg(long, default_value = "etcd-cluster")]
    initial_cluster_token: String,
    /// Raise an alarm when the backend exceeds this many bytes (0 = 2 GiB).
    #[arg(long, default_value_t = 0)]
    quota_backend_bytes: u64,
    /// Maximum client request size in bytes the server accepts.
    #[arg(long, default_value_t = etcd_compat::config::DEFAULT_MAX_REQUEST_BYTES)]
    max_request_bytes: usize,
    /// Maximum number of operations permitted in a transaction.
    #[arg(long, default_value_t = 128)]
    max_txn_ops: usize,
    /// `periodic` or `revision`.
    #[arg(long, default_value = "periodic")]
    auto_compaction_mode: String,
    /// Auto compaction retention (a duration like `1h` for periodic, a count for revision; 0 = off).
    #[arg(long, default_value = "0")]
    auto_compaction_retention: String,
    /// Committed entries between Raft snapshots.
    #[arg(long, default_value_t = 100_000)]
    snapshot_count: u64,
    /// Time (in milliseconds) of a heartbeat interval.
    #[arg(long, default_value_t = 100)]
    heartbeat_interval: u64,
    /// Time (in milliseconds) for an election to timeout.
    #[arg(long, default_value_t = 1000)]
    election_timeout: u64,
    /// Restore the data dir from an `etcdctl snapshot save` file before starting.
    #[arg(long)]
    restore_snapshot: Option<PathBuf>,
    /// Storage engine: `redb` (durable) or `memory` (tests only).
    #[arg(long, default_value = "redb", value_parser = ["redb", "memory"])]
    storage_engine: String,
}

impl EtcdArgs {
    pub fn into_config(self) -> Config {
        let data_dir = self.data_dir.unwrap_or_else(|| PathBuf::from(format!("{}.etcd", self.name)));
        let peer = split_urls(&self.initial_advertise_peer_urls);
        let initial_cluster = self
            .initial_cluster
            .unwrap_or_else(|| peer.iter().map(|u| format!("{}={u}", self.name)).collect::<Vec<_>>().join(","));
        Config {
            name: self.name,
            data_dir,
            listen_client_urls: split_urls(&self.listen_client_urls),
            advertise_client_urls: split_urls(&self.advertise_client_urls),
            listen_peer_urls: split_urls(&self.listen_peer_urls),
            initial_advertise_peer_urls: peer,
            initial_cluster,
            initial_cluster_state: self.initial_cluster_state,
            initial_cluster_token: self.initial_cluster_token,
            quota_backend_bytes: self.quota_backend_bytes,
            max_request_bytes: self.max_request_bytes,
            max_txn_ops: self.max_txn_ops,
            auto_compaction_mode: self.auto_compaction_mode,
            auto_compaction_retention: self.auto_compaction_retention,
            restore_snapshot: self.restore_snapshot,
            engine: if self.storage_engine == "memory" { EngineKind::Memory } else { EngineKind::Redb },
            snapshot_count: self.snapshot_count,
            heartbeat_interval_ms: self.heartbeat_interval,
            election_timeout_ms: self.election_timeout,
            ..Config::default()
        }
    }
}

pub fn run(args: EtcdArgs) -> anyhow::Result<()> {
    let config = args.into_config();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let node = etcd_compat::Node::open(config.clone()).await.context("opening the store")?;
        // Like etcd, serve clients once this member is published in the cluster.
        node.wait_published().await;
        tracing::info!(
            name = %config.name,
            data_dir = %config.data_dir.display(),
            clients = ?config.listen_client_urls,
            member_id = format!("{:x}", node.member_id()),
            "capstan etcd serving"
        );
        let shutdown = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        etcd_compat::server::serve(node, shutdown).await.map_err(|e| anyhow::anyhow!(e))
    })
}
