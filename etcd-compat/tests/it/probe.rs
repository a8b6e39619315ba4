use etcd_compat::proto::etcdserverpb::maintenance_client::MaintenanceClient;
use etcd_compat::proto::etcdserverpb::*;

#[tokio::test]
#[ignore]
async fn probe() {
    let url = std::env::var("PROBE_URL").unwrap();
    let mut m = MaintenanceClient::connect(url).await.unwrap();
    for (a, v) in
        [(1, "3.4"), (0, "3.4"), (1, "3.4"), (2, ""), (2, ""), (0, "v3.4"), (0, "3.4.0-rc1"), (0, "3"), (0, "3.4.1.2")]
    {
        let r = m.downgrade(DowngradeRequest { action: a, version: v.into() }).await;
        println!("downgrade {a} {v:?}: {r:?}");
    }
    println!("hash: {:?}", m.hash(HashRequest {}).await);
    println!("alarm activate none: {:?}", m.alarm(AlarmRequest { action: 1, member_id: 5, alarm: 0 }).await);
    println!("alarm deactivate missing: {:?}", m.alarm(AlarmRequest { action: 2, member_id: 5, alarm: 1 }).await);
    println!("alarm get: {:?}", m.alarm(AlarmRequest { action: 0, member_id: 0, alarm: 0 }).await);
    println!("move leader: {:?}", m.move_leader(MoveLeaderRequest { target_id: 0 }).await);
    println!("defrag: {:?}", m.defragment(DefragmentRequest {}).await);
    println!("status: {:?}", m.status(StatusRequest {}).await);
    let mut s = m.snapshot(SnapshotRequest {}).await.unwrap().into_inner();
    let mut n = 0;
    while let Some(r) = s.message().await.unwrap() {
        if n < 2 {
            println!(
                "snap msg: header={:?} rem={} len={} ver={:?}",
                r.header,
                r.remaining_bytes,
                r.blob.len(),
                r.version
            );
        }
        n += 1;
    }
    println!("snap msgs {n}");
}
