//! The `Backend` conformance suite, shared by the in-memory double (unit
//! tests) and by etcd-compat and a real etcd (`apiserver/tests/it`). It is test
//! support: failures panic with a message, like assertions.
//!
//! Each check works under its own key prefix, so the checks can share one
//! store; [`run_all`] runs the compaction checks last because compaction is
//! store-wide.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;

use super::{Backend, EventKind, KeyValue, StorageError, StorageResult, TxnOutcome, WatchEvent, WatchItem};

const WAIT: Duration = Duration::from_secs(10);

fn ok<T>(r: StorageResult<T>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("{what}: unexpected error {e:?}"),
    }
}

fn done(o: TxnOutcome, what: &str) -> KeyValue {
    match o {
        TxnOutcome::Done(kv) => kv,
        TxnOutcome::Conflict(c) => panic!("{what}: expected Done, got Conflict({c:?})"),
    }
}

fn conflict(o: TxnOutcome, what: &str) -> Option<KeyValue> {
    match o {
        TxnOutcome::Conflict(c) => c,
        TxnOutcome::Done(kv) => panic!("{what}: expected Conflict, got Done({kv:?})"),
    }
}

fn b(s: &str) -> Bytes {
    Bytes::copy_from_slice(s.as_bytes())
}

/// Collects `n` events from a watch stream (panics after 10 s).
pub async fn collect_events(
    stream: &mut BoxStream<'static, StorageResult<Vec<WatchEvent>>>,
    n: usize,
) -> Vec<WatchEvent> {
    let mut out = Vec::new();
    while out.len() < n {
        match tokio::time::timeout(WAIT, stream.next()).await {
            Ok(Some(Ok(batch))) => out.extend(batch),
            Ok(Some(Err(e))) => panic!("watch failed after {} events: {e:?}", out.len()),
            Ok(None) => panic!("watch ended after {} events", out.len()),
            Err(_) => panic!("timed out waiting for events ({} of {n})", out.len()),
        }
    }
    assert_eq!(out.len(), n, "more events than expected: {out:?}");
    out
}

/// Runs every check, the store-wide compaction checks last.
pub async fn run_all(backend: Arc<dyn Backend>) {
    let be = backend.as_ref();
    create_get(be).await;
    update(be).await;
    delete(be).await;
    list_paging(be).await;
    count(be).await;
    revision_monotonic(be).await;
    watch_replays_history(be).await;
    watch_from_now(be).await;
    watch_progress(be).await;
    compaction(be).await;
}

/// Create returns the new kv; a second create conflicts with the current kv.
pub async fn create_get(be: &dyn Backend) {
    let key = "/conformance/create/a";
    let kv = done(ok(be.create(key, b("v1")).await, "create"), "create");
    assert_eq!(kv.key, key);
    assert_eq!(kv.value, b("v1"));
    assert!(kv.mod_revision > 0);
    assert_eq!(kv.create_revision, kv.mod_revision);
    let (got, rev) = ok(be.get(key).await, "get");
    assert_eq!(got.as_ref(), Some(&kv));
    assert!(rev >= kv.mod_revision);
    let cur = conflict(ok(be.create(key, b("v2")).await, "second create"), "second create");
    assert_eq!(cur.as_ref(), Some(&kv), "a create conflict returns the current kv");
    let (missing, _) = ok(be.get("/conformance/create/missing").await, "get missing");
    assert_eq!(missing, None);
}

/// Update with the current revision succeeds; a stale one conflicts.
pub async fn update(be: &dyn Backend) {
    let key = "/conformance/update/a";
    let v1 = done(ok(be.create(key, b("v1")).await, "create"), "create");
    let v2 = done(ok(be.update(key, b("v2"), v1.mod_revision).await, "update"), "update");
    assert_eq!(v2.value, b("v2"));
    assert!(v2.mod_revision > v1.mod_revision);
    assert_eq!(v2.create_revision, v1.create_revision);
    let cur = conflict(ok(be.update(key, b("v3"), v1.mod_revision).await, "stale update"), "stale update");
    assert_eq!(cur.as_ref(), Some(&v2), "a stale update returns the current kv");
    let (got, _) = ok(be.get(key).await, "get");
    assert_eq!(got, Some(v2.clone()));
    let absent = conflict(ok(be.update("/conformance/update/missing", b("x"), 5).await, "update missing"), "missing");
    assert_eq!(absent, None);
}

/// Delete with a revision precondition, and unconditionally (0).
pub async fn delete(be: &dyn Backend) {
    let key = "/conformance/delete/a";
    let v1 = done(ok(be.create(key, b("v1")).await, "create"), "create");
    let v2 = done(ok(be.update(key, b("v2"), v1.mod_revision).await, "update"), "update");
    let cur = conflict(ok(be.delete(key, v1.mod_revision).await, "stale delete"), "stale delete");
    assert_eq!(cur.as_ref(), Some(&v2));
    let gone = done(ok(be.delete(key, v2.mod_revision).await, "delete"), "delete");
    assert_eq!(gone.value, b("v2"), "a delete returns the deleted value");
    assert_eq!(gone.create_revision, v1.create_revision);
    assert!(gone.mod_revision > v2.mod_revision, "with the delete's revision");
    let (got, rev) = ok(be.get(key).await, "get");
    assert_eq!(got, None);
    assert!(rev >= gone.mod_revision);
    assert_eq!(conflict(ok(be.delete(key, 0).await, "delete absent"), "delete absent"), None);
    let v3 = done(ok(be.create(key, b("v3")).await, "recreate"), "recreate");
    assert!(v3.create_revision > gone.mod_revision);
    let gone = done(ok(be.delete(key, 0).await, "unconditional delete"), "unconditional delete");
    assert_eq!(gone.value, b("v3"));
}

/// Paging with limit/more/count at a fixed revision; later writes stay out of it.
pub async fn list_paging(be: &dyn Backend) {
    let prefix = "/conformance/list/";
    for i in 0..5 {
        done(ok(be.create(&format!("{prefix}k{i}"), b(&format!("v{i}"))).await, "create"), "create");
    }
    // Siblings outside the prefix.
    done(ok(be.create("/conformance/list0", b("x")).await, "create sibling"), "sibling");
    done(ok(be.create("/conformance/lis", b("x")).await, "create sibling"), "sibling");

    let p1 = ok(be.list(prefix, "", 2, 0).await, "page 1");
    assert_eq!(
        p1.kvs.iter().map(|kv| kv.key.as_str()).collect::<Vec<_>>(),
        ["/conformance/list/k0", "/conformance/list/k1"]
    );
    assert!(p1.more);
    assert_eq!(p1.count, 5);
    let at = p1.revision;
    assert!(at > 0);

    // A write between pages is not seen at the first page's revision.
    done(ok(be.create(&format!("{prefix}k2a"), b("late")).await, "late create"), "late");
    done(ok(be.delete(&format!("{prefix}k3"), 0).await, "late delete"), "late delete");

    let start = format!("{}\0", p1.kvs[1].key);
    let p2 = ok(be.list(prefix, &start, 2, at).await, "page 2");
    assert_eq!(
        p2.kvs.iter().map(|kv| kv.key.as_str()).collect::<Vec<_>>(),
        ["/conformance/list/k2", "/conformance/list/k3"]
    );
    assert!(p2.more);
    assert_eq!(p2.count, 3, "count covers the rest of the range");
    assert_eq!(p2.revision, at);
    assert_eq!(p2.kvs[1].value, b("v3"));
    let start = format!("{}\0", p2.kvs[1].key);
    let p3 = ok(be.list(prefix, &start, 2, at).await, "page 3");
    assert_eq!(p3.kvs.len(), 1);
    assert!(!p3.more);
    assert_eq!(p3.count, 1);

    let now = ok(be.list(prefix, "", 0, 0).await, "list all");
    let keys: Vec<_> = now.kvs.iter().map(|kv| kv.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "/conformance/list/k0",
            "/conformance/list/k1",
            "/conformance/list/k2",
            "/conformance/list/k2a",
            "/conformance/list/k4"
        ]
    );
    assert!(!now.more);
    assert_eq!(now.count, 5);
    assert!(now.revision > at);

    let future = be.list(prefix, "", 0, now.revision + 1000).await;
    assert!(matches!(future, Err(StorageError::FutureRevision)), "future revision: {future:?}");
}

/// Count of keys under a prefix.
pub async fn count(be: &dyn Backend) {
    let prefix = "/conformance/count/";
    let (n, _) = ok(be.count(prefix).await, "count empty");
    assert_eq!(n, 0);
    for i in 0..3 {
        done(ok(be.create(&format!("{prefix}{i}"), b("x")).await, "create"), "create");
    }
    let (n, rev) = ok(be.count(prefix).await, "count");
    assert_eq!(n, 3);
    assert!(rev > 0);
}

/// The current revision never goes back and moves with each write.
pub async fn revision_monotonic(be: &dyn Backend) {
    let r1 = ok(be.current_revision().await, "revision");
    let kv = done(ok(be.create("/conformance/rev/a", b("x")).await, "create"), "create");
    let r2 = ok(be.current_revision().await, "revision");
    assert!(r2 > r1);
    assert!(r2 >= kv.mod_revision);
    let r3 = ok(be.current_revision().await, "revision");
    assert!(r3 >= r2);
}

/// A watch from an old revision replays history in order, with previous values, then goes live.
pub async fn watch_replays_history(be: &dyn Backend) {
    let prefix = "/conformance/watch/";
    let a1 = done(ok(be.create(&format!("{prefix}a"), b("1")).await, "create a"), "create a");
    let a2 = done(ok(be.update(&format!("{prefix}a"), b("2"), a1.mod_revision).await, "update a"), "update a");
    done(ok(be.create("/conformance/watchx", b("outside")).await, "outside"), "outside");
    let del = done(ok(be.delete(&format!("{prefix}a"), a2.mod_revision).await, "delete a"), "delete a");
    let b1 = done(ok(be.create(&format!("{prefix}b"), b("1")).await, "create b"), "create b");

    let mut w = be.watch(prefix, a1.mod_revision);
    let evs = collect_events(&mut w, 4).await;
    assert_eq!(evs[0].kind, EventKind::Put);
    assert_eq!(evs[0].kv, a1);
    assert_eq!(evs[0].prev, None);
    assert_eq!(evs[1].kind, EventKind::Put);
    assert_eq!(evs[1].kv, a2);
    assert_eq!(evs[1].prev.as_ref(), Some(&a1));
    assert_eq!(evs[2].kind, EventKind::Delete);
    assert_eq!(evs[2].kv.key, format!("{prefix}a"));
    assert_eq!(evs[2].kv.mod_revision, del.mod_revision);
    assert!(evs[2].kv.value.is_empty());
    assert_eq!(evs[2].prev.as_ref(), Some(&a2));
    assert_eq!(evs[3].kv, b1);

    // Live.
    let b2 = done(ok(be.update(&format!("{prefix}b"), b("2"), b1.mod_revision).await, "update b"), "update b");
    let live = collect_events(&mut w, 1).await;
    assert_eq!(live[0].kv, b2);
    assert_eq!(live[0].prev.as_ref(), Some(&b1));

    // From the middle: only later revisions.
    let mut w2 = be.watch(prefix, del.mod_revision);
    let evs = collect_events(&mut w2, 3).await;
    assert_eq!(
        evs.iter().map(|e| e.kv.mod_revision).collect::<Vec<_>>(),
        [del.mod_revision, b1.mod_revision, b2.mod_revision]
    );
}

/// A watch from revision 0 sees only later changes.
pub async fn watch_from_now(be: &dyn Backend) {
    let prefix = "/conformance/watchnow/";
    done(ok(be.create(&format!("{prefix}old"), b("x")).await, "create old"), "create old");
    let mut w = be.watch(prefix, 0);
    // Let the watch register before the write (etcd creates it asynchronously).
    tokio::time::sleep(Duration::from_millis(200)).await;
    let kv = done(ok(be.create(&format!("{prefix}new"), b("y")).await, "create new"), "create new");
    let evs = collect_events(&mut w, 1).await;
    assert_eq!(evs[0].kv, kv);
}

/// A progress request is answered with a revision covering every write so far.
pub async fn watch_progress(be: &dyn Backend) {
    let prefix = "/conformance/progress/";
    let start = ok(be.current_revision().await, "revision");
    let pw = be.watch_with_progress(prefix, start + 1);
    let mut stream = pw.stream;
    // A write elsewhere moves the store, not this prefix.
    let other = done(ok(be.create("/conformance/progress-other", b("x")).await, "create"), "create");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        (pw.request_progress)();
        let next = tokio::time::timeout_at(
            deadline.min(tokio::time::Instant::now() + Duration::from_millis(100)),
            stream.next(),
        )
        .await;
        match next {
            Ok(Some(Ok(WatchItem::Progress(rev)))) if rev >= other.mod_revision => break,
            Ok(Some(Ok(WatchItem::Progress(_)))) | Err(_) => {}
            Ok(other) => panic!("unexpected watch item {other:?}"),
        }
        assert!(tokio::time::Instant::now() < deadline, "no progress notification");
    }
}

/// Reads and watches below the compact revision fail with `Compacted`.
pub async fn compaction(be: &dyn Backend) {
    let prefix = "/conformance/compact/";
    let a1 = done(ok(be.create(&format!("{prefix}a"), b("1")).await, "create"), "create");
    let a2 = done(ok(be.update(&format!("{prefix}a"), b("2"), a1.mod_revision).await, "update"), "update");
    let old = ok(be.list(prefix, "", 0, a1.mod_revision).await, "list at old revision");
    assert_eq!(old.kvs, vec![a1.clone()], "a read at a past revision sees the past value");
    ok(be.compact(a2.mod_revision).await, "compact");
    let r = be.list(prefix, "", 0, a1.mod_revision).await;
    assert!(matches!(r, Err(StorageError::Compacted { .. })), "list below the compact revision: {r:?}");
    let at = ok(be.list(prefix, "", 0, a2.mod_revision).await, "list at the compact revision");
    assert_eq!(at.kvs, vec![a2.clone()]);
    let again = be.compact(a1.mod_revision).await;
    assert!(matches!(again, Err(StorageError::Compacted { .. })), "compacting an old revision: {again:?}");

    let mut w = be.watch(prefix, a1.mod_revision);
    match tokio::time::timeout(WAIT, w.next()).await {
        Ok(Some(Err(StorageError::Compacted { compact_revision }))) => {
            assert!(compact_revision == 0 || compact_revision == a2.mod_revision, "compact revision {compact_revision}")
        }
        other => panic!("watch below the compact revision: {other:?}"),
    }
    match tokio::time::timeout(WAIT, w.next()).await {
        Ok(None) => {}
        other => panic!("the watch goes on after Compacted: {other:?}"),
    }
    // From the compact revision itself: still served.
    let mut w = be.watch(prefix, a2.mod_revision);
    let a3 = done(ok(be.update(&format!("{prefix}a"), b("3"), a2.mod_revision).await, "update"), "update");
    let evs = collect_events(&mut w, 2).await;
    assert_eq!(evs[0].kv, a2);
    assert_eq!(evs[1].kv, a3);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::storage::memory::MemoryBackend;

    #[tokio::test]
    async fn memory_backend_conforms() {
        super::run_all(Arc::new(MemoryBackend::new())).await;
    }
}
