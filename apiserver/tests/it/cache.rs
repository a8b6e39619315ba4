//! The watch cache over etcd-compat and a real etcd: initial paged list,
//! consistent reads through etcd progress notifications, watch replay and
//! live events, delete re-stamping.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use capstan_apiserver::storage::cache::{CacheOptions, CachedObject, Decoder, WatchCache};
use capstan_apiserver::storage::{Backend, EventKind, KeyValue, TxnOutcome};

use crate::servers::{Compat, RealEtcd};

const T: Duration = Duration::from_secs(10);
const PODS: &str = "/registry/pods/";

fn decoder() -> Decoder {
    Arc::new(|kv: &KeyValue| {
        let (ns, name) = kv.key.strip_prefix(PODS)?.split_once('/')?;
        Some(CachedObject {
            key: kv.key.clone(),
            namespace: ns.into(),
            name: name.into(),
            mod_revision: kv.mod_revision,
            json: Bytes::from(format!("{{\"rv\":\"{}\"}}", kv.mod_revision)),
            labels: Vec::new(),
            fields: Vec::new(),
        })
    })
}

async fn create(be: &dyn Backend, key: &str) -> KeyValue {
    match be.create(key, Bytes::from_static(b"{}")).await.unwrap() {
        TxnOutcome::Done(kv) => kv,
        TxnOutcome::Conflict(c) => panic!("conflict {c:?}"),
    }
}

async fn exercise(be: Arc<dyn Backend>) {
    for i in 0..30 {
        create(be.as_ref(), &format!("{PODS}{}/p{i:02}", if i % 2 == 0 { "a" } else { "b" })).await;
    }
    let opts = CacheOptions { page_size: 7, ..CacheOptions::default() };
    let cache = WatchCache::start_with(be.clone(), PODS.into(), decoder(), opts);
    tokio::time::timeout(T, cache.ready()).await.unwrap();
    assert_eq!(cache.len(), 30);
    let ns_a = cache.list(&format!("{PODS}a/"), None, 0, &|_| true);
    assert_eq!(ns_a.items.len(), 15);
    let listed_at = ns_a.revision;

    // The store moves elsewhere; a consistent read still answers promptly.
    let mut other = 0;
    for i in 0..5 {
        other = create(be.as_ref(), &format!("/registry/services/a/s{i}")).await.mod_revision;
    }
    let t = Instant::now();
    let rev = cache.consistent_revision(T).await.unwrap();
    assert!(rev >= other, "{rev} < {other}");
    assert!(t.elapsed() < Duration::from_secs(2), "consistent read took {:?}", t.elapsed());

    // Changes under the prefix: replayed from the list revision, then live.
    let new = create(be.as_ref(), &format!("{PODS}a/new")).await;
    let gone = match be.delete(&format!("{PODS}a/p00"), 0).await.unwrap() {
        TxnOutcome::Done(kv) => kv,
        TxnOutcome::Conflict(c) => panic!("conflict {c:?}"),
    };
    cache.wait_for_revision(gone.mod_revision, T).await.unwrap();
    assert!(cache.get(&format!("{PODS}a/p00")).is_none());
    let mut w = cache.watch(listed_at).unwrap();
    let e = tokio::time::timeout(T, w.next()).await.unwrap().unwrap();
    assert_eq!((e.kind, e.revision, e.object.mod_revision), (EventKind::Put, new.mod_revision, new.mod_revision));
    let e = tokio::time::timeout(T, w.next()).await.unwrap().unwrap();
    assert_eq!(e.kind, EventKind::Delete);
    assert_eq!(e.revision, gone.mod_revision);
    assert_eq!(e.object.mod_revision, gone.mod_revision);
    assert_eq!(e.object.json, Bytes::from(format!("{{\"rv\":\"{}\"}}", gone.mod_revision)));
    assert!(e.prev.as_ref().is_some_and(|p| p.mod_revision < gone.mod_revision));

    let live = create(be.as_ref(), &format!("{PODS}b/live")).await;
    let e = tokio::time::timeout(T, w.next()).await.unwrap().unwrap();
    assert_eq!(e.revision, live.mod_revision);
    assert_eq!(w.current_revision(), live.mod_revision);
    assert_eq!(cache.len(), 31);
}

#[tokio::test]
async fn cache_over_etcd_compat() {
    let c = Compat::start().await;
    exercise(Arc::new(c.backend().await)).await;
}

#[tokio::test]
async fn cache_over_real_etcd() {
    let Some(etcd) = RealEtcd::start().await else { return };
    exercise(Arc::new(etcd.backend().await)).await;
}
