//! Server configuration, named after etcd's flags.

use std::path::PathBuf;

/// Which storage engine backs the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EngineKind {
    #[default]
    Redb,
    Memory,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub name: String,
    pub data_dir: PathBuf,
    pub listen_client_urls: Vec<String>,
    pub advertise_client_urls: Vec<String>,
    pub listen_peer_urls: Vec<String>,
    pub initial_advertise_peer_urls: Vec<String>,
    pub initial_cluster: String,
    pub initial_cluster_state: String,
    pub initial_cluster_token: String,
    pub quota_backend_bytes: u64,
    pub max_request_bytes: usize,
    pub max_txn_ops: usize,
    pub auto_compaction_mode: String,
    pub auto_compaction_retention: String,
    /// Restore the data dir from an `etcdctl snapshot save` file before starting.
    pub restore_snapshot: Option<PathBuf>,
    pub engine: EngineKind,
    /// Entries between Raft snapshots (etcd's --snapshot-count).
    pub snapshot_count: u64,
    /// Entries kept after a snapshot so slow followers catch up from the log.
    pub snapshot_catchup_entries: u64,
    /// etcd's --heartbeat-interval, in milliseconds.
    pub heartbeat_interval_ms: u64,
    /// etcd's --election-timeout, in milliseconds.
    pub election_timeout_ms: u64,
    /// Peer-network fault shim (in-process tests); empty otherwise.
    pub faults: crate::raft::faults::Faults,
}

/// etcd's DefaultQuotaBytes (2 GiB).
pub const DEFAULT_QUOTA_BYTES: u64 = 2 << 30;
/// etcd's default --max-request-bytes (1.5 MiB).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 1536 * 1024;
/// What grpc-go adds on top of max-request-bytes for its receive limit.
pub const GRPC_OVERHEAD_BYTES: usize = 512 * 1024;

impl Default for Config {
    fn default() -> Self {
        Self {
            name: "default".into(),
            data_dir: PathBuf::from("default.etcd"),
            listen_client_urls: vec!["http://localhost:2379".into()],
            advertise_client_urls: vec!["http://localhost:2379".into()],
            listen_peer_urls: vec!["http://localhost:2380".into()],
            initial_advertise_peer_urls: vec!["http://localhost:2380".into()],
            initial_cluster: "default=http://localhost:2380".into(),
            initial_cluster_state: "new".into(),
            initial_cluster_token: "etcd-cluster".into(),
            quota_backend_bytes: DEFAULT_QUOTA_BYTES,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            max_txn_ops: 128,
            auto_compaction_mode: "periodic".into(),
            auto_compaction_retention: "0".into(),
            restore_snapshot: None,
            engine: EngineKind::Redb,
            snapshot_count: 100_000,
            snapshot_catchup_entries: 5_000,
            heartbeat_interval_ms: 100,
            election_timeout_ms: 1000,
            faults: Default::default(),
        }
    }
}

impl Config {
    /// The quota etcd enforces: 0 means the default, and it is capped at 8 GiB.
    pub fn effective_quota(&self) -> u64 {
        match self.quota_backend_bytes {
            0 => DEFAULT_QUOTA_BYTES,
            q => q.min(8 << 30),
        }
    }
}
