//! Watch cache tests over the in-memory backend.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::StreamExt;

use super::*;
use crate::storage::memory::MemoryBackend;
use crate::storage::{ListResult, TxnOutcome};

const T: Duration = Duration::from_secs(5);
const PODS: &str = "/registry/pods/";

/// Keys are `/registry/pods/<ns>/<name>`; values are `k=v,k=v` labels.
fn decoder() -> Decoder {
    Arc::new(|kv: &KeyValue| {
        let rest = kv.key.strip_prefix(PODS)?;
        let (ns, name) = rest.split_once('/')?;
        let text = std::str::from_utf8(&kv.value).ok()?;
        let mut labels: Vec<(String, String)> =
            text.split(',').filter_map(|p| p.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect();
        labels.sort();
        Some(CachedObject {
            key: kv.key.clone(),
            namespace: ns.into(),
            name: name.into(),
            mod_revision: kv.mod_revision,
            json: Bytes::from(format!("{{\"rv\":\"{}\",\"labels\":\"{text}\"}}", kv.mod_revision)),
            labels,
            fields: vec![("metadata.name", name.into())],
        })
    })
}

fn key(ns: &str, name: &str) -> String {
    format!("{PODS}{ns}/{name}")
}

async fn put(be: &MemoryBackend, k: &str, v: &str) -> KeyValue {
    let (cur, _) = be.get(k).await.unwrap();
    let out = match cur {
        Some(c) => be.update(k, Bytes::from(v.to_string()), c.mod_revision).await.unwrap(),
        None => be.create(k, Bytes::from(v.to_string())).await.unwrap(),
    };
    match out {
        TxnOutcome::Done(kv) => kv,
        TxnOutcome::Conflict(c) => panic!("conflict {c:?}"),
    }
}

async fn del(be: &MemoryBackend, k: &str) -> KeyValue {
    match be.delete(k, 0).await.unwrap() {
        TxnOutcome::Done(kv) => kv,
        TxnOutcome::Conflict(c) => panic!("conflict {c:?}"),
    }
}

async fn started(be: &MemoryBackend, opts: CacheOptions) -> Arc<WatchCache> {
    let cache = WatchCache::start_with(Arc::new(be.clone()), PODS.into(), decoder(), opts);
    tokio::time::timeout(T, cache.ready()).await.unwrap();
    cache
}

async fn next(w: &mut CacheWatch) -> Arc<CacheEvent> {
    tokio::time::timeout(T, w.next()).await.expect("timed out waiting for an event").expect("watch ended")
}

#[tokio::test]
async fn list_pages_and_filters() {
    let be = MemoryBackend::new();
    for i in 0..15 {
        put(&be, &key("a", &format!("p{i:02}")), if i % 3 == 0 { "app=web" } else { "app=db" }).await;
    }
    for i in 0..5 {
        put(&be, &key("b", &format!("p{i}")), "app=web").await;
    }
    put(&be, "/registry/podsx/a/zzz", "app=web").await;
    // Small pages exercise the paged initial list.
    let cache = started(&be, CacheOptions { page_size: 4, ..CacheOptions::default() }).await;
    assert_eq!(cache.len(), 20);
    assert_eq!(cache.revision(), be.current_revision().await.unwrap());

    let all = cache.list(PODS, None, 0, &|_| true);
    assert_eq!(all.items.len(), 20);
    assert!(!all.more);
    assert_eq!(all.revision, cache.revision());

    let ns_a = format!("{PODS}a/");
    let p1 = cache.list(&ns_a, None, 6, &|_| true);
    assert_eq!(p1.items.len(), 6);
    assert!(p1.more);
    assert_eq!(p1.remaining, 9);
    let last = p1.items[5].key.clone();
    let p2 = cache.list(&ns_a, Some(&last), 6, &|_| true);
    assert_eq!(p2.items[0].name, "p06");
    assert_eq!(p2.remaining, 3);
    let p3 = cache.list(&ns_a, Some(&p2.items[5].key), 6, &|_| true);
    assert_eq!(p3.items.len(), 3);
    assert!(!p3.more);
    assert_eq!(p3.remaining, 0);

    let web = |o: &CachedObject| o.labels.iter().any(|(k, v)| k == "app" && v == "web");
    let w = cache.list(&ns_a, None, 0, &web);
    assert_eq!(w.items.iter().map(|o| o.name.as_str()).collect::<Vec<_>>(), ["p00", "p03", "p06", "p09", "p12"]);
    let w = cache.list(PODS, None, 3, &web);
    assert_eq!(w.items.len(), 3);
    assert_eq!(w.remaining, 7);
    assert!(cache.get(&key("b", "p1")).is_some());
    assert!(cache.get(&key("b", "nope")).is_none());
}

#[tokio::test]
async fn watch_replays_history_then_goes_live() {
    let be = MemoryBackend::new();
    put(&be, &key("a", "x"), "v=0").await;
    let cache = started(&be, CacheOptions::default()).await;
    let r0 = cache.revision();
    let x1 = put(&be, &key("a", "x"), "v=1").await;
    let y1 = put(&be, &key("a", "y"), "v=1").await;
    cache.wait_for_revision(y1.mod_revision, T).await.unwrap();

    let mut w = cache.watch(r0).unwrap();
    let e = next(&mut w).await;
    assert_eq!((e.kind, e.revision), (EventKind::Put, x1.mod_revision));
    assert_eq!(e.object.labels, vec![("v".to_string(), "1".to_string())]);
    assert_eq!(e.prev.as_ref().map(|p| p.mod_revision), Some(r0));
    let e = next(&mut w).await;
    assert_eq!((e.revision, e.prev.is_none()), (y1.mod_revision, true));
    assert_eq!(w.current_revision(), y1.mod_revision);

    let gone = del(&be, &key("a", "x")).await;
    let e = next(&mut w).await;
    assert_eq!(e.kind, EventKind::Delete);
    assert_eq!(e.revision, gone.mod_revision);
    assert_eq!(e.object.mod_revision, gone.mod_revision, "a delete is re-stamped with its revision");
    assert!(e.object.json.starts_with(format!("{{\"rv\":\"{}\"", gone.mod_revision).as_bytes()));
    assert_eq!(e.prev.as_ref().map(|p| p.mod_revision), Some(x1.mod_revision));
    assert!(cache.get(&key("a", "x")).is_none());

    // From the newest revision and from "now": only later events.
    let mut w_now = cache.watch(0).unwrap();
    let mut w_rev = cache.watch(gone.mod_revision).unwrap();
    let z = put(&be, &key("b", "z"), "").await;
    assert_eq!(next(&mut w_now).await.revision, z.mod_revision);
    assert_eq!(next(&mut w_rev).await.revision, z.mod_revision);
    assert_eq!(next(&mut w).await.revision, z.mod_revision);
}

#[tokio::test]
async fn watch_older_than_history_is_compacted() {
    let be = MemoryBackend::new();
    let cache = started(&be, CacheOptions { history: 3, ..CacheOptions::default() }).await;
    let r0 = cache.revision();
    let mut revs = Vec::new();
    for i in 0..10 {
        revs.push(put(&be, &key("a", &format!("p{i}")), "").await.mod_revision);
    }
    cache.wait_for_revision(revs[9], T).await.unwrap();
    assert!(matches!(cache.watch(r0), Err(StorageError::Compacted { .. })));
    assert!(matches!(cache.watch(revs[5]), Err(StorageError::Compacted { .. })));
    // The window holds the last three events: a watch from revs[6] gets 7, 8, 9.
    let mut w = cache.watch(revs[6]).unwrap();
    for want in &revs[7..] {
        assert_eq!(next(&mut w).await.revision, *want);
    }
}

#[tokio::test]
async fn future_start_revision_skips_older_events() {
    let be = MemoryBackend::new();
    let cache = started(&be, CacheOptions::default()).await;
    let r0 = cache.revision();
    let mut w = cache.watch(r0 + 2).unwrap();
    for i in 0..3 {
        put(&be, &key("a", &format!("p{i}")), "").await;
    }
    assert_eq!(next(&mut w).await.revision, r0 + 3);
}

#[tokio::test]
async fn many_watchers_see_every_event_in_order() {
    let be = MemoryBackend::new();
    let cache = started(&be, CacheOptions::default()).await;
    let start = cache.revision();
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        let mut w = cache.watch(0).unwrap();
        tasks.push(tokio::spawn(async move {
            let mut last = start;
            for _ in 0..100 {
                let e = next(&mut w).await;
                assert!(e.revision > last);
                last = e.revision;
            }
            last
        }));
    }
    for i in 0..100 {
        put(&be, &key("a", &format!("p{}", i % 10)), &format!("i={i}")).await;
    }
    let want = be.current_revision().await.unwrap();
    for t in tasks {
        assert_eq!(t.await.unwrap(), want);
    }
}

#[tokio::test]
async fn lagging_watcher_is_ended() {
    let be = MemoryBackend::new();
    let cache = started(&be, CacheOptions { fanout: 8, ..CacheOptions::default() }).await;
    let mut slow = cache.watch(0).unwrap();
    let mut last = 0;
    for i in 0..50 {
        last = put(&be, &key("a", &format!("p{i}")), "").await.mod_revision;
    }
    cache.wait_for_revision(last, T).await.unwrap();
    assert!(tokio::time::timeout(T, slow.next()).await.unwrap().is_none());
}

#[tokio::test]
async fn bookmark_revision_waits_for_pending_events() {
    let be = MemoryBackend::new();
    let cache = started(&be, CacheOptions::default()).await;
    let mut w = cache.watch(0).unwrap();
    let start = cache.revision();
    assert_eq!(w.current_revision(), start);
    let kv = put(&be, &key("a", "p"), "").await;
    cache.wait_for_revision(kv.mod_revision, T).await.unwrap();
    assert_eq!(w.current_revision(), start, "an undelivered event holds the bookmark back");
    assert_eq!(next(&mut w).await.revision, kv.mod_revision);
    assert_eq!(w.current_revision(), kv.mod_revision);
    assert!(matches!(w.try_next(), Ok(None)));
}

#[tokio::test]
async fn consistent_revision_uses_progress() {
    let be = MemoryBackend::new();
    let cache = started(&be, CacheOptions::default()).await;
    // Writes outside the prefix move the store but not the cache's events.
    let mut last = 0;
    for i in 0..5 {
        last = put(&be, &format!("/registry/services/a/s{i}"), "").await.mod_revision;
    }
    let t = std::time::Instant::now();
    let rev = cache.consistent_revision(T).await.unwrap();
    assert!(rev >= last);
    assert!(t.elapsed() < Duration::from_secs(1), "took {:?}", t.elapsed());
    assert_eq!(cache.list(PODS, None, 0, &|_| true).revision, rev);
    // And a revision that does not exist yet times out.
    let err = cache.wait_for_revision(rev + 100, Duration::from_millis(100)).await;
    assert!(matches!(err, Err(StorageError::Timeout(_))), "{err:?}");
}

/// A backend whose watches can be broken on demand.
struct Flaky {
    inner: MemoryBackend,
    broken: Arc<AtomicBool>,
}

impl Backend for Flaky {
    fn get(&self, key: &str) -> BoxFuture<'_, StorageResult<(Option<KeyValue>, i64)>> {
        self.inner.get(key)
    }
    fn list(&self, prefix: &str, start: &str, limit: i64, revision: i64) -> BoxFuture<'_, StorageResult<ListResult>> {
        self.inner.list(prefix, start, limit, revision)
    }
    fn count(&self, prefix: &str) -> BoxFuture<'_, StorageResult<(i64, i64)>> {
        self.inner.count(prefix)
    }
    fn create(&self, key: &str, value: Bytes) -> BoxFuture<'_, StorageResult<TxnOutcome>> {
        self.inner.create(key, value)
    }
    fn update(&self, key: &str, value: Bytes, expected: i64) -> BoxFuture<'_, StorageResult<TxnOutcome>> {
        self.inner.update(key, value, expected)
    }
    fn delete(&self, key: &str, expected: i64) -> BoxFuture<'_, StorageResult<TxnOutcome>> {
        self.inner.delete(key, expected)
    }
    fn watch(&self, prefix: &str, from_revision: i64) -> BoxStream<'static, StorageResult<Vec<WatchEvent>>> {
        self.inner.watch(prefix, from_revision)
    }
    fn current_revision(&self) -> BoxFuture<'_, StorageResult<i64>> {
        self.inner.current_revision()
    }
    fn compact(&self, revision: i64) -> BoxFuture<'_, StorageResult<()>> {
        self.inner.compact(revision)
    }
    fn watch_with_progress(&self, prefix: &str, from_revision: i64) -> ProgressWatch {
        let pw = self.inner.watch_with_progress(prefix, from_revision);
        let broken = self.broken.clone();
        // Ends with Compacted on the first item after the flag is set.
        let stream = pw
            .stream
            .map(move |item| match broken.swap(false, Ordering::SeqCst) {
                true => Err(StorageError::Compacted { compact_revision: 0 }),
                false => item,
            })
            .boxed();
        ProgressWatch { stream, request_progress: pw.request_progress }
    }
}

#[tokio::test]
async fn relists_after_a_watch_error_and_ends_watchers() {
    let inner = MemoryBackend::new();
    let broken = Arc::new(AtomicBool::new(false));
    put(&inner, &key("a", "keep"), "").await;
    let be: Arc<dyn Backend> = Arc::new(Flaky { inner: inner.clone(), broken: broken.clone() });
    let cache = WatchCache::start(be, PODS.into(), decoder(), 100);
    tokio::time::timeout(T, cache.ready()).await.unwrap();
    let r0 = cache.revision();
    let mut w = cache.watch(0).unwrap();
    broken.store(true, Ordering::SeqCst);
    // This event breaks the watch; the relist picks it up instead.
    let kv = put(&inner, &key("a", "new"), "v=2").await;
    assert!(tokio::time::timeout(T, w.next()).await.unwrap().is_none(), "the watcher is ended");
    cache.wait_for_revision(kv.mod_revision, T).await.unwrap();
    assert_eq!(cache.get(&key("a", "new")).map(|o| o.mod_revision), Some(kv.mod_revision));
    assert_eq!(cache.len(), 2);
    assert!(matches!(cache.watch(r0), Err(StorageError::Compacted { .. })), "history restarts at the relist");
    // And it follows the new watch.
    let mut w = cache.watch(cache.revision()).unwrap();
    let kv = put(&inner, &key("a", "later"), "").await;
    assert_eq!(next(&mut w).await.revision, kv.mod_revision);
}

/// Watchers started at random points while writes stream in, from "now" and
/// from revisions in the history window, each see every later revision once,
/// in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_watch_starts_have_no_gap_or_duplicate() {
    let be = MemoryBackend::new();
    let cache = started(&be, CacheOptions { history: 500, ..CacheOptions::default() }).await;
    const WRITES: i64 = 2000;
    let first = cache.revision();
    let last = first + WRITES;
    let writer = {
        let be = be.clone();
        tokio::spawn(async move {
            for i in 0..WRITES {
                put(&be, &key("a", &format!("p{}", i % 50)), "").await;
                if i % 20 == 0 {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
        })
    };
    let mut checkers = Vec::new();
    let mut overlapping = 0;
    for i in 0..40 {
        let rev = cache.revision();
        let from = match i % 3 {
            0 => 0,
            1 => rev,
            _ => (rev - 200).max(first),
        };
        let Ok(mut w) = cache.watch(from) else { continue };
        // Every event up to here is delivered or pending for this watcher.
        let start = w.current_revision();
        overlapping += usize::from(start < last);
        checkers.push(tokio::spawn(async move {
            let mut prev = start;
            while prev < last {
                let e = next(&mut w).await;
                assert_eq!(e.revision, prev + 1, "gap or duplicate after {prev}");
                prev = e.revision;
            }
        }));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    writer.await.unwrap();
    for c in checkers {
        c.await.unwrap();
    }
    assert!(overlapping >= 10, "only {overlapping} watchers started while writing");
}
