//! Turning etcd's cluster flags into a Raft membership: member and cluster
//! IDs, the initial member set, and openraft's timing configuration.

use std::collections::BTreeMap;
use std::time::Duration;

use sha2::{Digest, Sha256};

use super::types::{Member, NodeId};
use crate::config::Config;
use crate::error::{Error, Result};

pub fn hash64(parts: &[&[u8]]) -> u64 {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
        h.update([0u8]);
    }
    let d = h.finalize();
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_be_bytes(b)
}

/// A member ID from its peer URLs and the cluster token, as etcd derives it
/// (`extra` salts IDs of members added later, like etcd's timestamp).
pub fn member_id(peer_urls: &[String], token: &str, extra: &[u8]) -> NodeId {
    let mut urls = peer_urls.to_vec();
    urls.sort();
    // 0 is "no member" on etcd's wire.
    hash64(&[urls.join(",").as_bytes(), token.as_bytes(), extra]).max(1)
}

pub fn cluster_id(members: &BTreeMap<NodeId, Member>, token: &str) -> u64 {
    let mut parts: Vec<Vec<u8>> = members.keys().map(|id| id.to_be_bytes().to_vec()).collect();
    parts.push(token.as_bytes().to_vec());
    let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
    hash64(&refs)
}

/// Parses `--initial-cluster` (`name=url[,name=url...]`, a name may repeat
/// for several URLs) into members keyed by ID.
pub fn initial_members(config: &Config) -> Result<BTreeMap<NodeId, Member>> {
    let mut by_name: Vec<(String, Vec<String>)> = Vec::new();
    for part in config.initial_cluster.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, url) = part
            .split_once('=')
            .ok_or_else(|| Error::InvalidArgument(format!("--initial-cluster: {part:?} is not name=url")))?;
        url::Url::parse(url).map_err(|e| Error::InvalidArgument(format!("--initial-cluster: bad URL {url:?}: {e}")))?;
        match by_name.iter_mut().find(|(n, _)| n == name) {
            Some((_, urls)) => urls.push(url.to_string()),
            None => by_name.push((name.to_string(), vec![url.to_string()])),
        }
    }
    if by_name.is_empty() {
        return Err(Error::InvalidArgument("--initial-cluster is empty".into()));
    }
    let mut out = BTreeMap::new();
    for (name, peer_urls) in by_name {
        let id = member_id(&peer_urls, &config.initial_cluster_token, &[]);
        // Every member must bootstrap with the same membership, so client
        // URLs start empty; each member publishes its own once running.
        if out.insert(id, Member { name: name.clone(), peer_urls, client_urls: Vec::new() }).is_some() {
            return Err(Error::InvalidArgument(format!("--initial-cluster: duplicate peer URLs for {name:?}")));
        }
    }
    Ok(out)
}

/// This member's entry in the initial cluster: matched by name, and its
/// advertised peer URLs must be the ones listed (etcd checks the same).
pub fn find_self(config: &Config, members: &BTreeMap<NodeId, Member>) -> Result<NodeId> {
    let (id, m) = members.iter().find(|(_, m)| m.name == config.name).ok_or_else(|| {
        Error::InvalidArgument(format!(
            "couldn't find local name {:?} in the initial cluster configuration",
            config.name
        ))
    })?;
    let mut want = config.initial_advertise_peer_urls.clone();
    want.sort();
    let mut have = m.peer_urls.clone();
    have.sort();
    if want != have {
        return Err(Error::InvalidArgument(format!(
            "--initial-cluster has {}={} but --initial-advertise-peer-urls is {}",
            config.name,
            have.join(","),
            want.join(",")
        )));
    }
    Ok(*id)
}

/// openraft timing from etcd's `--heartbeat-interval` and `--election-timeout`.
/// openraft waits out a leader lease before it starts an election; the lease
/// (0.5×) plus the randomized timeout (0.25–0.45×) lands the first election
/// at 0.75–0.95× the election timeout after the last heartbeat (etcd: 1–2×).
pub fn raft_config(config: &Config) -> Result<openraft::Config> {
    let et = config.election_timeout_ms.max(10);
    let hb = config.heartbeat_interval_ms.clamp(1, et / 5).max(1);
    let c = openraft::Config {
        cluster_name: config.initial_cluster_token.clone(),
        heartbeat_interval: hb / 2 + 1,
        // openraft's lease is election_timeout_max; its timer adds a random
        // pick in [min, max), so keep both ends apart from the lease itself.
        election_timeout_min: et / 4,
        election_timeout_max: et / 2,
        max_payload_entries: 4096,
        replication_lag_threshold: config.snapshot_count.max(1000),
        // Entries carry batches of commands, so snapshots are triggered by the
        // node on applied *commands* (etcd's --snapshot-count), not by openraft.
        snapshot_policy: openraft::SnapshotPolicy::Never,
        max_in_snapshot_log_to_keep: config.snapshot_catchup_entries.min(1000),
        purge_batch_size: 256,
        install_snapshot_timeout: Duration::from_secs(30).as_millis() as u64,
        ..Default::default()
    };
    c.validate().map_err(|e| Error::InvalidArgument(format!("raft timing: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_cluster_parses_and_ids_are_stable() {
        let config = Config {
            name: "b".into(),
            initial_cluster: "a=http://127.0.0.1:1,b=http://127.0.0.1:2,c=http://127.0.0.1:3".into(),
            initial_advertise_peer_urls: vec!["http://127.0.0.1:2".into()],
            ..Config::default()
        };
        let m = initial_members(&config).unwrap();
        assert_eq!(m.len(), 3);
        let me = find_self(&config, &m).unwrap();
        assert_eq!(m[&me].name, "b");
        assert_eq!(me, member_id(&["http://127.0.0.1:2".to_string()], "etcd-cluster", &[]));
        let again = initial_members(&config).unwrap();
        assert_eq!(cluster_id(&m, "t"), cluster_id(&again, "t"));
        assert_ne!(cluster_id(&m, "t"), cluster_id(&m, "u"));
    }

    #[test]
    fn mismatched_advertise_url_is_refused() {
        let config = Config {
            name: "a".into(),
            initial_cluster: "a=http://127.0.0.1:1".into(),
            initial_advertise_peer_urls: vec!["http://127.0.0.1:9".into()],
            ..Config::default()
        };
        let m = initial_members(&config).unwrap();
        assert!(find_self(&config, &m).is_err());
        let bad = Config { initial_cluster: "a".into(), ..Config::default() };
        assert!(initial_members(&bad).is_err());
    }
}
