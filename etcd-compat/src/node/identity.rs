//! Who this member is: IDs persisted in the data dir, derived from the
//! bootstrap flags on first start (`new`), or learned from the running
//! cluster when joining one (`existing`, after `etcdctl member add`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::error::{Error, Result};
use crate::proto::capstanpb::peer_client::PeerClient;
use crate::proto::etcdserverpb::MemberListRequest;
use crate::raft::bootstrap::{cluster_id, find_self, initial_members};
use crate::raft::types::{Member, NodeId};
use crate::storage::{Engine, Table, WriteBatch};

const META_MEMBER_ID: &[u8] = b"member_id";
const META_CLUSTER_ID: &[u8] = b"cluster_id";
/// How long a joining member keeps asking the existing members who it is.
const JOIN_TIMEOUT: Duration = Duration::from_secs(30);

fn read_u64(engine: &dyn Engine, k: &[u8]) -> Result<Option<u64>> {
    Ok(engine.get(Table::Meta, k)?.and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok()).map(u64::from_be_bytes))
}

/// Drops the source cluster's identity and Raft state after a snapshot
/// restore: the restored member starts a new cluster.
pub fn forget_cluster(engine: &dyn Engine) -> Result<()> {
    let mut b = WriteBatch::default();
    for k in [META_MEMBER_ID, META_CLUSTER_ID, b"raft_applied", b"raft_membership"] {
        b.delete(Table::Meta, k.to_vec());
    }
    engine.commit(&b)
}

/// Returns (member ID, cluster ID, members to bootstrap Raft with).
pub async fn resolve(engine: &dyn Engine, config: &Config) -> Result<(u64, u64, Option<BTreeMap<NodeId, Member>>)> {
    if let (Some(m), Some(c)) = (read_u64(engine, META_MEMBER_ID)?, read_u64(engine, META_CLUSTER_ID)?) {
        return Ok((m, c, None));
    }
    let (member_id, cid, bootstrap) = match config.initial_cluster_state.as_str() {
        "new" => {
            let members = initial_members(config)?;
            let me = find_self(config, &members)?;
            (me, cluster_id(&members, &config.initial_cluster_token), Some(members))
        }
        "existing" => {
            let (me, cid) = join(config).await?;
            (me, cid, None)
        }
        other => {
            return Err(Error::InvalidArgument(format!(
                "unexpected --initial-cluster-state {other:?} (want \"new\" or \"existing\")"
            )))
        }
    };
    let mut batch = WriteBatch::default();
    batch.put(Table::Meta, META_MEMBER_ID.to_vec(), member_id.to_be_bytes().to_vec());
    batch.put(Table::Meta, META_CLUSTER_ID.to_vec(), cid.to_be_bytes().to_vec());
    engine.commit(&batch)?;
    Ok((member_id, cid, bootstrap))
}

/// Asks the other members in `--initial-cluster` for the member list and
/// finds this member (added beforehand) by its peer URLs.
async fn join(config: &Config) -> Result<(u64, u64)> {
    let members = initial_members(config)?;
    let mut want = config.initial_advertise_peer_urls.clone();
    want.sort();
    let deadline = Instant::now() + JOIN_TIMEOUT;
    let mut last_err = String::from("no other member in --initial-cluster");
    while Instant::now() < deadline {
        for m in members.values().filter(|m| m.name != config.name) {
            for url in &m.peer_urls {
                let Ok(endpoint) = tonic::transport::Endpoint::from_shared(url.clone()) else { continue };
                let channel = match endpoint.connect_timeout(Duration::from_secs(1)).connect().await {
                    Ok(c) => c,
                    Err(e) => {
                        last_err = format!("{url}: {e}");
                        continue;
                    }
                };
                match PeerClient::new(channel).member_list(MemberListRequest { linearizable: false }).await {
                    Ok(resp) => {
                        let resp = resp.into_inner();
                        let cid = resp.header.map_or(0, |h| h.cluster_id);
                        for member in resp.members {
                            let mut have = member.peer_ur_ls.clone();
                            have.sort();
                            if have == want {
                                return Ok((member.id, cid));
                            }
                        }
                        return Err(Error::InvalidArgument(format!(
                            "member with peer URLs {} has not been added to the cluster (etcdctl member add)",
                            want.join(",")
                        )));
                    }
                    Err(e) => last_err = format!("{url}: {}", e.message()),
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(Error::InvalidArgument(format!("could not reach the existing cluster to join it: {last_err}")))
}
