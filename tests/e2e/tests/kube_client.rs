//! kube-rs against `capstan up`: 10,000 ConfigMaps created in concurrent batches
//! while two reflectors watch them, one riding through a kill -9 + restart of the
//! server, the other forced to relist while writes are in flight; both stores must
//! end equal to a paginated list, and the event streams must be consistent. Then a
//! metadata-only watcher lists the lot as PartialObjectMetadata and sees an update.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use capstan_e2e::kube::KubeCluster;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use kube::runtime::reflector::{self, Store};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Client, ResourceExt};

const NS: &str = "bulk";

/// How many objects (KUBE_CLIENT_OBJECTS overrides, for quick local runs).
fn total() -> usize {
    std::env::var("KUBE_CLIENT_OBJECTS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000)
}

const CONCURRENCY: usize = 64;
const UPDATED: usize = 500;

/// What a watcher stream delivered, in order.
#[derive(Debug, Clone)]
enum Rec {
    Init,
    InitApply(String, u64),
    InitDone,
    Apply(String, u64),
    Delete(String, u64),
    Error(String),
}

type Log = Arc<Mutex<Vec<Rec>>>;

fn rv_of<K: ResourceExt>(o: &K) -> u64 {
    let rv = o.resource_version().unwrap_or_default();
    rv.parse().unwrap_or_else(|e| panic!("resourceVersion {rv:?} of {} is not a number: {e}", o.name_any()))
}

fn record(log: &Log, ev: &Result<watcher::Event<ConfigMap>, watcher::Error>) {
    let r = match ev {
        Ok(watcher::Event::Init) => Rec::Init,
        Ok(watcher::Event::InitApply(o)) => Rec::InitApply(o.name_any(), rv_of(o)),
        Ok(watcher::Event::InitDone) => Rec::InitDone,
        Ok(watcher::Event::Apply(o)) => Rec::Apply(o.name_any(), rv_of(o)),
        Ok(watcher::Event::Delete(o)) => Rec::Delete(o.name_any(), rv_of(o)),
        Err(e) => Rec::Error(e.to_string()),
    };
    log.lock().unwrap().push(r);
}

fn cm(i: usize) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(format!("cm-{i:05}")),
            labels: Some([("batch".to_string(), (i / 1000).to_string())].into()),
            ..Default::default()
        },
        data: Some([("i".to_string(), i.to_string())].into()),
        ..Default::default()
    }
}

async fn create_range(api: &Api<ConfigMap>, range: std::ops::Range<usize>) {
    futures::stream::iter(range)
        .map(|i| {
            let api = api.clone();
            async move {
                api.create(&PostParams::default(), &cm(i)).await.unwrap_or_else(|e| panic!("creating cm-{i:05}: {e}"))
            }
        })
        .buffer_unordered(CONCURRENCY)
        .for_each(|_| async {})
        .await;
}

async fn update_range(api: &Api<ConfigMap>, range: std::ops::Range<usize>) {
    futures::stream::iter(range)
        .map(|i| {
            let api = api.clone();
            async move {
                let p = serde_json::json!({"data": {"updated": "yes"}});
                api.patch(&format!("cm-{i:05}"), &PatchParams::default(), &Patch::Merge(&p))
                    .await
                    .unwrap_or_else(|e| panic!("patching cm-{i:05}: {e}"))
            }
        })
        .buffer_unordered(CONCURRENCY)
        .for_each(|_| async {})
        .await;
}

/// Every object by name, via a paginated list (asserting no name is listed twice).
async fn list_all(api: &Api<ConfigMap>) -> BTreeMap<String, u64> {
    let mut all = BTreeMap::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut lp = ListParams::default().limit(1000);
        if let Some(t) = &token {
            lp = lp.continue_token(t);
        }
        let page = api.list(&lp).await.expect("list page");
        pages += 1;
        for o in &page.items {
            assert!(all.insert(o.name_any(), rv_of(o)).is_none(), "{} listed twice", o.name_any());
        }
        token = page.metadata.continue_.filter(|t| !t.is_empty());
        if token.is_none() {
            break;
        }
        assert!(pages < 1000, "pagination does not end");
    }
    all
}

fn store_map(store: &Store<ConfigMap>) -> BTreeMap<String, u64> {
    store.state().iter().map(|o| (o.name_any(), rv_of(o.as_ref()))).collect()
}

/// Waits until `store` holds exactly `want` (names and resourceVersions).
async fn converge(what: &str, store: &Store<ConfigMap>, want: &BTreeMap<String, u64>, log: &Log) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = store_map(store);
        if &got == want {
            return;
        }
        if Instant::now() > deadline {
            let missing: Vec<_> = want.keys().filter(|k| !got.contains_key(*k)).take(10).collect();
            let extra: Vec<_> = got.keys().filter(|k| !want.contains_key(*k)).take(10).collect();
            let stale: Vec<_> = want.iter().filter(|(k, v)| got.get(*k).is_some_and(|g| g != *v)).take(10).collect();
            let errors: Vec<String> = log
                .lock()
                .unwrap()
                .iter()
                .filter_map(|r| if let Rec::Error(e) = r { Some(e.clone()) } else { None })
                .take(10)
                .collect();
            panic!(
                "{what}: store did not converge: {} objects, want {}; missing {missing:?}, extra {extra:?}, \
                 stale (name, want rv) {stale:?}; watcher errors {errors:?}",
                got.len(),
                want.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The event stream's invariants: watch events come in strictly increasing resourceVersion
/// order (no event twice, none out of order), each object's versions never go back, no
/// deletes happened, and every object was seen.
fn check_log(what: &str, log: &Log, want: &BTreeMap<String, u64>) -> (usize, usize, usize) {
    let log = log.lock().unwrap();
    let mut last_apply = 0u64;
    let mut per_object: HashMap<&str, u64> = HashMap::new();
    let (mut applies, mut inits, mut errors) = (0, 0, 0);
    let mut in_init = false;
    for (i, r) in log.iter().enumerate() {
        match r {
            Rec::Init => {
                in_init = true;
                inits += 1;
            }
            Rec::InitDone => in_init = false,
            Rec::InitApply(n, rv) => {
                assert!(in_init, "{what}: #{i} InitApply outside Init");
                let prev = per_object.insert(n, *rv).unwrap_or(0);
                assert!(*rv >= prev, "{what}: #{i} {n} went back from rv {prev} to {rv} in a relist");
            }
            Rec::Apply(n, rv) => {
                applies += 1;
                assert!(*rv > last_apply, "{what}: #{i} watch event {n}@{rv} after an event at rv {last_apply}");
                last_apply = *rv;
                let prev = per_object.insert(n, *rv).unwrap_or(0);
                assert!(*rv > prev, "{what}: #{i} {n} modified at rv {rv}, not after its rv {prev}");
            }
            Rec::Delete(n, rv) => panic!("{what}: #{i} unexpected delete of {n} at rv {rv}"),
            Rec::Error(_) => errors += 1,
        }
    }
    for (n, rv) in want {
        assert_eq!(per_object.get(n.as_str()), Some(rv), "{what}: last event seen for {n}");
    }
    assert_eq!(per_object.len(), want.len(), "{what}: objects seen");
    (applies, inits, errors)
}

/// Runs `fut` on `rt`, panicking (so the cluster is torn down and its log shown) if it
/// takes more than three minutes: a hung server must fail the test, not stall the suite.
#[track_caller]
fn bounded<F: std::future::Future>(rt: &tokio::runtime::Runtime, fut: F) -> F::Output {
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(180), fut).await }).expect("timed out after 180s")
}

#[test]
fn reflectors_10k_configmaps_up() {
    reflectors_10k_configmaps(KubeCluster::start_up());
}

/// The same against Debian's etcd 3.4; the restart is of `capstan apiserver` alone.
#[test]
fn reflectors_10k_configmaps_etcd34() {
    reflectors_10k_configmaps(KubeCluster::start_on_etcd34());
}

fn reflectors_10k_configmaps(mut c: KubeCluster) {
    let n = total();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let client: Client = bounded(&rt, c.client()).expect("kube client");
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
    bounded(&rt, async {
        let ns =
            Namespace { metadata: ObjectMeta { name: Some(NS.into()), ..Default::default() }, ..Default::default() };
        Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.expect("namespace");
    });
    let t0 = Instant::now();

    // Reflector A: from the start, through the restart.
    let (store_a, writer_a) = reflector::store();
    let log_a: Log = Arc::default();
    {
        let log = log_a.clone();
        let stream = watcher(api.clone(), watcher::Config::default().page_size(500)).default_backoff();
        rt.spawn(reflector::reflector(writer_a, stream).for_each(move |ev| {
            record(&log, &ev);
            async {}
        }));
    }

    let half = n / 2;
    bounded(&rt, create_range(&api, 0..half));
    let t_first = t0.elapsed();
    let after_first = bounded(&rt, list_all(&api));
    assert_eq!(after_first.len(), half);
    bounded(&rt, converge("reflector A before restart", &store_a, &after_first, &log_a));

    // kill -9 the server and bring it back; A must resume (or relist) on its own.
    c.restart();
    let t_restart = t0.elapsed();

    // Reflector B: starts with a paginated list of the first half, is forced to relist mid-write.
    let (store_b, mut writer_b) = reflector::store::<ConfigMap>();
    let log_b: Log = Arc::default();
    let relist = Arc::new(tokio::sync::Notify::new());
    {
        let log = log_b.clone();
        let api = api.clone();
        let relist = relist.clone();
        rt.spawn(async move {
            let cfg = || watcher::Config::default().page_size(700);
            let mut stream = watcher(api.clone(), cfg()).default_backoff().boxed();
            loop {
                tokio::select! {
                    ev = stream.next() => {
                        let Some(ev) = ev else { break };
                        record(&log, &ev);
                        if let Ok(ev) = &ev {
                            writer_b.apply_watcher_event(ev);
                        }
                    }
                    _ = relist.notified() => {
                        stream = watcher(api.clone(), cfg()).default_backoff().boxed();
                    }
                }
            }
        });
    }
    bounded(&rt, async {
        tokio::time::timeout(Duration::from_secs(60), store_b.wait_until_ready())
            .await
            .expect("reflector B never finished its first list")
            .unwrap();
    });

    bounded(&rt, async {
        let relist = relist.clone();
        let trigger = async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            relist.notify_one();
        };
        let writes = async {
            futures::join!(create_range(&api, half..n), update_range(&api, 0..UPDATED.min(half)));
        };
        futures::join!(writes, trigger);
    });
    let t_second = t0.elapsed();

    let want = bounded(&rt, list_all(&api));
    assert_eq!(want.len(), n, "paginated list after all writes");
    bounded(&rt, converge("reflector A", &store_a, &want, &log_a));
    bounded(&rt, converge("reflector B", &store_b, &want, &log_b));
    let (applies_a, inits_a, errors_a) = check_log("reflector A", &log_a, &want);
    let (applies_b, inits_b, errors_b) = check_log("reflector B", &log_b, &want);
    assert!(inits_b >= 2, "reflector B was forced to relist: {inits_b} Init events");
    eprintln!(
        "created {half} in {t_first:?}, restarted by {t_restart:?}, rest written by {t_second:?}; \
         A: {applies_a} watch events, {inits_a} lists, {errors_a} errors; \
         B: {applies_b} watch events, {inits_b} lists, {errors_b} errors"
    );

    // Metadata-only: the whole set as PartialObjectMetadata, then one update.
    bounded(&rt, async {
        let raw = http::Request::get(format!("/api/v1/namespaces/{NS}/configmaps?limit=2"))
            .header("Accept", "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1")
            .body(Vec::new())
            .unwrap();
        let text = client.request_text(raw).await.expect("metadata-only list");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        assert_eq!(v["kind"], "PartialObjectMetadataList", "{text}");
        assert_eq!(v["apiVersion"], "meta.k8s.io/v1", "{text}");
        let items = v["items"].as_array().unwrap_or_else(|| panic!("{text}"));
        assert_eq!(items.len(), 2, "{text}");
        assert!(items.iter().all(|i| i.get("data").is_none() && i["metadata"]["uid"].is_string()), "{text}");
        assert!(v["metadata"]["continue"].as_str().is_some_and(|s| !s.is_empty()), "{text}");

        #[allow(deprecated)]
        let mut meta = kube::runtime::metadata_watcher(api.clone(), watcher::Config::default().page_size(1000)).boxed();
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        let listed = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(ev) = meta.try_next().await.expect("metadata watcher") {
                match ev {
                    watcher::Event::InitApply(o) => {
                        assert!(o.metadata.uid.as_deref().is_some_and(|u| !u.is_empty()), "uid of {}", o.name_any());
                        assert!(seen.insert(o.name_any(), rv_of(&o)).is_none(), "{} listed twice", o.name_any());
                    }
                    watcher::Event::InitDone => return,
                    _ => {}
                }
            }
        })
        .await;
        assert!(listed.is_ok(), "metadata watcher: no InitDone within 60s ({} objects)", seen.len());
        assert_eq!(seen, want, "metadata watcher's initial list");

        let p = serde_json::json!({"metadata": {"labels": {"touched": "yes"}}});
        let patched = api.patch("cm-00000", &PatchParams::default(), &Patch::Merge(&p)).await.expect("patch");
        let rv = rv_of(&patched);
        let got = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(ev) = meta.try_next().await.expect("metadata watcher") {
                if let watcher::Event::Apply(o) = ev {
                    if o.name_any() == "cm-00000" {
                        return o;
                    }
                }
            }
            panic!("metadata watcher ended");
        })
        .await
        .expect("metadata watcher: no event for the update within 30s");
        assert_eq!(rv_of(&got), rv);
        assert_eq!(got.labels().get("touched").map(String::as_str), Some("yes"));
        let types = got.types.as_ref().expect("watch event object carries apiVersion/kind");
        assert_eq!((types.api_version.as_str(), types.kind.as_str()), ("meta.k8s.io/v1", "PartialObjectMetadata"));
    });
    eprintln!("total {:?}", t0.elapsed());
    rt.shutdown_timeout(Duration::from_secs(1));
}
