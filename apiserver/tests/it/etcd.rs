//! The etcd3 backend: the conformance suite against etcd-compat and a real
//! etcd, plus what only a network backend has (large pages, reconnects,
//! several endpoints, connection errors).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use capstan_apiserver::storage::conformance;
use capstan_apiserver::storage::{Backend, EtcdBackend, StorageError, TxnOutcome};

use crate::servers::{Compat, RealEtcd};

#[tokio::test]
async fn conformance_etcd_compat() {
    let c = Compat::start().await;
    conformance::run_all(Arc::new(c.backend().await)).await;
}

#[tokio::test]
async fn conformance_real_etcd() {
    let Some(etcd) = RealEtcd::start().await else { return };
    conformance::run_all(Arc::new(etcd.backend().await)).await;
}

/// A page far above tonic's 4 MiB default message size.
#[tokio::test]
async fn large_list_page() {
    let c = Compat::start().await;
    let be = c.backend().await;
    let value = Bytes::from(vec![b'x'; 16 * 1024]);
    for i in 0..400 {
        let out = be.create(&format!("/big/{i:04}"), value.clone()).await.unwrap();
        assert!(matches!(out, TxnOutcome::Done(_)));
    }
    let all = be.list("/big/", "", 0, 0).await.unwrap();
    assert_eq!(all.kvs.len(), 400);
    assert_eq!(all.count, 400);
    assert!(all.kvs.iter().all(|kv| kv.value.len() == 16 * 1024));
}

/// A watch reconnects from the next revision when the server goes away and comes back.
#[tokio::test]
async fn watch_survives_a_server_restart() {
    let mut c = Compat::start().await;
    let be = c.backend().await;
    let TxnOutcome::Done(a) = be.create("/w/a", Bytes::from_static(b"1")).await.unwrap() else { panic!() };
    let mut w = be.watch("/w/", a.mod_revision);
    let evs = conformance::collect_events(&mut w, 1).await;
    assert_eq!(evs[0].kv, a);

    c.stop_serving().await;
    let r = be.get("/w/a").await;
    assert!(matches!(r, Err(StorageError::Unavailable(_) | StorageError::Timeout(_))), "{r:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    c.serve().await;

    let mut next = a.clone();
    let mut want = Vec::new();
    for i in 2..5 {
        let out = be.update("/w/a", Bytes::from(format!("{i}")), next.mod_revision).await;
        let out = match out {
            Ok(o) => o,
            // The first request after the restart may race the reconnect.
            Err(StorageError::Unavailable(_)) => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                be.update("/w/a", Bytes::from(format!("{i}")), next.mod_revision).await.unwrap()
            }
            Err(e) => panic!("{e:?}"),
        };
        let TxnOutcome::Done(kv) = out else { panic!("conflict") };
        want.push(kv.clone());
        next = kv;
    }
    let got = conformance::collect_events(&mut w, 3).await;
    assert_eq!(got.into_iter().map(|e| e.kv).collect::<Vec<_>>(), want, "no gap and no duplicate");
}

/// Requests are balanced over the endpoints; a dead one is passed over.
#[tokio::test]
async fn several_endpoints_with_one_dead() {
    let c = Compat::start().await;
    let dead = format!("http://127.0.0.1:{}", {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    });
    let be = EtcdBackend::connect(&[dead, c.url.clone()]).await.unwrap();
    for i in 0..20 {
        be.create(&format!("/multi/{i}"), Bytes::from_static(b"x")).await.unwrap();
    }
    assert_eq!(be.count("/multi/").await.unwrap().0, 20);
}

#[tokio::test]
async fn connect_errors() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let r = EtcdBackend::connect_with_timeout(&[format!("127.0.0.1:{port}")], Duration::from_secs(2)).await;
    assert!(matches!(r, Err(StorageError::Unavailable(_) | StorageError::Timeout(_))), "{:?}", r.err());
    assert!(matches!(EtcdBackend::connect(&[]).await, Err(StorageError::Unavailable(_))));
    assert!(EtcdBackend::connect(&["http://bad url".to_string()]).await.is_err());
}
