//! Watch semantics through the gRPC API of an in-process member.

use std::time::Duration;

use etcd_compat::proto::etcdserverpb::watch_client::WatchClient;
use etcd_compat::proto::etcdserverpb::watch_create_request::FilterType;
use etcd_compat::proto::etcdserverpb::watch_request::RequestUnion;
use etcd_compat::proto::etcdserverpb::*;
use etcd_compat::proto::mvccpb::Event;
use futures::StreamExt;
use tokio::sync::mpsc;
use tonic::transport::Channel;

use crate::cluster::Cluster;

/// A client Watch stream: requests go in, responses are collected by a task.
pub struct Stream {
    tx: mpsc::UnboundedSender<WatchRequest>,
    rx: mpsc::UnboundedReceiver<WatchResponse>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Stream {
    /// Dropping the stream cancels the RPC, as a client going away does.
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Stream {
    pub async fn open(ch: Channel) -> Stream {
        let (tx, req_rx) = mpsc::unbounded_channel();
        let (resp_tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut client = WatchClient::new(ch);
            let reqs = tokio_stream::wrappers::UnboundedReceiverStream::new(req_rx);
            let resp = match client.watch(reqs).await {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("watch call failed: {e}");
                    return;
                }
            };
            let mut inbound = resp.into_inner();
            loop {
                match inbound.message().await {
                    Ok(Some(r)) => {
                        if resp_tx.send(r).is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(e) => {
                        eprintln!("watch stream failed: {e}");
                        return;
                    }
                }
            }
        });
        Stream { tx, rx, task }
    }

    pub fn send(&self, r: RequestUnion) {
        self.tx.send(WatchRequest { request_union: Some(r) }).unwrap();
    }

    pub fn create(&self, c: WatchCreateRequest) {
        self.send(RequestUnion::CreateRequest(c));
    }

    pub fn cancel(&self, watch_id: i64) {
        self.send(RequestUnion::CancelRequest(WatchCancelRequest { watch_id }));
    }

    pub fn progress(&self) {
        self.send(RequestUnion::ProgressRequest(WatchProgressRequest {}));
    }

    /// The next response (panics after 10 s).
    pub async fn next(&mut self) -> WatchResponse {
        tokio::time::timeout(Duration::from_secs(10), self.rx.recv())
            .await
            .expect("no watch response within 10s")
            .expect("watch stream ended")
    }

    /// Every response until none arrives for `quiet`.
    pub async fn drain(&mut self, quiet: Duration) -> Vec<WatchResponse> {
        let mut out = Vec::new();
        while let Ok(Some(r)) = tokio::time::timeout(quiet, self.rx.recv()).await {
            out.push(r);
        }
        out
    }
}

pub fn create(key: &str, end: &str, start: i64) -> WatchCreateRequest {
    WatchCreateRequest { key: key.into(), range_end: end.into(), start_revision: start, ..Default::default() }
}

/// A compact one-line rendering of a response, without cluster/member ids.
pub fn show(r: &WatchResponse) -> String {
    let mut s = format!("rev={} id={}", r.header.as_ref().map_or(-99, |h| h.revision), r.watch_id);
    if r.created {
        s += " created";
    }
    if r.canceled {
        s += " canceled";
    }
    if r.compact_revision != 0 {
        s += &format!(" compact={}", r.compact_revision);
    }
    if !r.cancel_reason.is_empty() {
        s += &format!(" reason={:?}", r.cancel_reason);
    }
    if r.fragment {
        s += " fragment";
    }
    for e in &r.events {
        s += &format!(" [{}]", show_event(e));
    }
    s
}

fn show_event(e: &Event) -> String {
    let kv = e.kv.clone().unwrap_or_default();
    let t = if e.r#type == 0 { "PUT" } else { "DEL" };
    let mut s = format!("{t} {}@{}", String::from_utf8_lossy(&kv.key), kv.mod_revision);
    if kv.value.len() > 32 {
        s += &format!("={}B", kv.value.len());
    } else if e.r#type == 0 {
        s += &format!("={}", String::from_utf8_lossy(&kv.value));
    }
    if let Some(p) = &e.prev_kv {
        s += &format!(" prev={}@{}", String::from_utf8_lossy(&p.value), p.mod_revision);
    }
    s
}

fn put(k: &str, v: &str) -> PutRequest {
    PutRequest { key: k.into(), value: v.into(), ..Default::default() }
}

fn revs(r: &WatchResponse) -> Vec<i64> {
    r.events.iter().map(|e| e.kv.as_ref().unwrap().mod_revision).collect()
}

const QUIET: Duration = Duration::from_millis(300);

#[tokio::test]
async fn live_events_and_headers() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    kv.put(put("other", "x")).await.unwrap();
    let mut s = Stream::open(c.channel(0).await).await;
    s.create(create("foo", "", 0));
    let created = s.next().await;
    assert_eq!(show(&created), "rev=2 id=0 created");
    assert_eq!(created.header.as_ref().unwrap().member_id, c.node(0).member_id());
    kv.put(put("foo", "1")).await.unwrap();
    kv.put(put("other", "y")).await.unwrap();
    kv.delete_range(DeleteRangeRequest { key: "foo".into(), ..Default::default() }).await.unwrap();
    assert_eq!(show(&s.next().await), "rev=3 id=0 [PUT foo@3=1]");
    assert_eq!(show(&s.next().await), "rev=5 id=0 [DEL foo@5]");
    assert!(s.drain(QUIET).await.is_empty());
}

#[tokio::test]
async fn replay_from_past_revision_with_prev_kv() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    kv.put(put("foo", "1")).await.unwrap();
    kv.put(put("foo", "2")).await.unwrap();
    kv.delete_range(DeleteRangeRequest { key: "foo".into(), ..Default::default() }).await.unwrap();
    kv.put(put("foo/a", "x")).await.unwrap();
    let mut s = Stream::open(c.channel(0).await).await;
    s.create(WatchCreateRequest { prev_kv: true, ..create("foo", "", 2) });
    assert_eq!(show(&s.next().await), "rev=5 id=0 created");
    // What etcd 3.4/3.5 send: one catch-up response at the current revision.
    assert_eq!(show(&s.next().await), "rev=5 id=0 [PUT foo@2=1] [PUT foo@3=2 prev=1@2] [DEL foo@4 prev=2@3]");
    kv.put(put("foo", "3")).await.unwrap();
    assert_eq!(show(&s.next().await), "rev=6 id=0 [PUT foo@6=3]");
}

/// Watchers created at past revisions while writes are in flight see every
/// revision exactly once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replay_concurrent_with_writes_has_no_gap_or_duplicate() {
    const N: i64 = 3000;
    let c = Cluster::new(1).await;
    let mut writers = Vec::new();
    for w in 0..4 {
        let mut kv = c.kv(0).await;
        writers.push(tokio::spawn(async move {
            for i in 0..N / 4 {
                kv.put(put(&format!("k/{w}/{i}"), "v")).await.unwrap();
            }
        }));
    }
    let mut streams = Vec::new();
    // Each watcher starts in the past once the store is well past its start,
    // so it replays history while the writers keep going.
    for (start, after) in [(2, 500), (300, 1200), (1000, 2000), (0, 2500)] {
        while c.node(0).store().current_rev() < after {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let s = Stream::open(c.channel(0).await).await;
        s.create(create("k/", "k0", start));
        streams.push((start, s));
    }
    for w in writers {
        w.await.unwrap();
    }
    let last = N + 1;
    for (start, mut s) in streams {
        let created = s.next().await;
        assert!(created.created);
        let mut expect = if start == 0 { created.header.unwrap().revision + 1 } else { start };
        while expect <= last {
            let r = s.next().await;
            assert!(!r.events.is_empty(), "{}", show(&r));
            for rev in revs(&r) {
                assert_eq!(rev, expect, "start {start}: gap or duplicate");
                expect += 1;
            }
        }
        assert!(s.drain(QUIET).await.is_empty());
    }
}

#[tokio::test]
async fn prefix_from_key_and_filters() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    let mut s = Stream::open(c.channel(0).await).await;
    s.create(create("a/", "a0", 0));
    s.create(create("m", "\0", 0));
    s.create(WatchCreateRequest { filters: vec![FilterType::Noput as i32], ..create("", "\0", 0) });
    s.create(WatchCreateRequest { filters: vec![FilterType::Nodelete as i32], ..create("a/1", "", 0) });
    for id in 0..4 {
        assert_eq!(show(&s.next().await), format!("rev=1 id={id} created"));
    }
    kv.put(put("a/1", "x")).await.unwrap();
    kv.put(put("z", "y")).await.unwrap();
    kv.delete_range(DeleteRangeRequest { key: "a/1".into(), ..Default::default() }).await.unwrap();
    let mut got: Vec<String> = s.drain(QUIET).await.iter().map(show).collect();
    got.sort();
    assert_eq!(
        got,
        [
            "rev=2 id=0 [PUT a/1@2=x]",
            "rev=2 id=3 [PUT a/1@2=x]",
            "rev=3 id=1 [PUT z@3=y]",
            "rev=4 id=0 [DEL a/1@4]",
            "rev=4 id=2 [DEL a/1@4]",
        ]
    );
}

#[tokio::test]
async fn txn_events_share_one_response() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    let mut s = Stream::open(c.channel(0).await).await;
    s.create(WatchCreateRequest { prev_kv: true, ..create("t/", "t0", 0) });
    s.next().await;
    kv.put(put("t/x", "0")).await.unwrap();
    let op = |k: &str| RequestOp { request: Some(request_op::Request::RequestPut(put(k, "1"))) };
    kv.txn(TxnRequest { success: vec![op("t/x"), op("t/y")], ..Default::default() }).await.unwrap();
    assert_eq!(show(&s.next().await), "rev=2 id=0 [PUT t/x@2=0]");
    assert_eq!(show(&s.next().await), "rev=3 id=0 [PUT t/x@3=1 prev=0@2] [PUT t/y@3=1]");
}

#[tokio::test]
async fn cancel_stops_events() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    let mut s = Stream::open(c.channel(0).await).await;
    s.create(create("foo", "", 0));
    s.create(create("foo", "", 0));
    s.next().await;
    s.next().await;
    s.cancel(0);
    assert_eq!(show(&s.next().await), "rev=1 id=0 canceled");
    // Unknown ids get no answer, as in etcd.
    s.cancel(42);
    kv.put(put("foo", "1")).await.unwrap();
    assert_eq!(show(&s.next().await), "rev=2 id=1 [PUT foo@2=1]");
    assert!(s.drain(QUIET).await.is_empty());
    // The freed id is not reused before the counter passes it.
    s.create(create("foo", "", 0));
    assert_eq!(show(&s.next().await), "rev=2 id=2 created");
    assert_eq!(c.node(0).watch_hub().watcher_count(), 2);
    drop(s);
    for _ in 0..100 {
        if c.node(0).watch_hub().watcher_count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(c.node(0).watch_hub().watcher_count(), 0, "closing a stream drops its watchers");
}

#[tokio::test]
async fn compacted_start_revision() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    for v in ["1", "2", "3", "4"] {
        kv.put(put("foo", v)).await.unwrap();
    }
    kv.compact(CompactionRequest { revision: 4, physical: true }).await.unwrap();
    let mut s = Stream::open(c.channel(0).await).await;
    s.create(create("foo", "", 3));
    assert_eq!(show(&s.next().await), "rev=5 id=0 created");
    assert_eq!(show(&s.next().await), "rev=0 id=0 canceled compact=4");
    // The id stays taken until cancelled, as in etcd.
    s.create(WatchCreateRequest { watch_id: 0, ..create("foo", "", 4) });
    assert_eq!(show(&s.next().await), "rev=5 id=1 created");
    assert_eq!(show(&s.next().await), "rev=5 id=1 [PUT foo@4=3] [PUT foo@5=4]");
    s.cancel(0);
    assert_eq!(show(&s.next().await), "rev=5 id=0 canceled");
    // etcd 3.5 refuses a negative start revision.
    s.create(create("foo", "", -1));
    assert_eq!(
        show(&s.next().await),
        "rev=5 id=-1 created canceled reason=\"etcdserver: mvcc: required revision has been compacted\""
    );
}

#[tokio::test]
async fn progress_requests() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    kv.put(put("x", "1")).await.unwrap();
    let mut s = Stream::open(c.channel(0).await).await;
    // etcd 3.5 answers only for a stream whose watchers are all synced.
    s.progress();
    assert!(s.drain(QUIET).await.is_empty());
    s.create(create("foo", "", 0));
    s.next().await;
    s.progress();
    assert_eq!(show(&s.next().await), "rev=2 id=-1");
    kv.put(put("x", "2")).await.unwrap();
    s.progress();
    assert_eq!(show(&s.next().await), "rev=3 id=-1");
    // A watcher waiting for a future revision is not synced yet.
    s.create(create("foo", "", 10));
    assert_eq!(show(&s.next().await), "rev=3 id=1 created");
    s.progress();
    assert!(s.drain(QUIET).await.is_empty());
}

#[tokio::test]
async fn progress_notify_interval() {
    let c = Cluster::new(1).await;
    c.node(0).watch_hub().set_progress_interval(Duration::from_millis(200));
    let mut kv = c.kv(0).await;
    let mut s = Stream::open(c.channel(0).await).await;
    s.create(WatchCreateRequest { progress_notify: true, ..create("foo", "", 0) });
    s.create(create("bar", "", 0));
    s.next().await;
    s.next().await;
    kv.put(put("zzz", "1")).await.unwrap();
    // Only the progress_notify watcher gets one, under its own id.
    assert_eq!(show(&s.next().await), "rev=2 id=0");
    assert_eq!(show(&s.next().await), "rev=2 id=0");
}

#[tokio::test]
async fn many_watches_per_stream_and_ids() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    let mut s = Stream::open(c.channel(0).await).await;
    s.create(WatchCreateRequest { watch_id: 1, ..create("a", "", 0) });
    s.create(create("b", "", 0));
    s.create(create("c", "", 0));
    s.create(WatchCreateRequest { watch_id: 1, ..create("d", "", 0) });
    s.create(create("b", "a", 0));
    let mut got = Vec::new();
    for _ in 0..5 {
        got.push(show(&s.next().await));
    }
    assert_eq!(
        got,
        [
            "rev=1 id=1 created",
            "rev=1 id=0 created",
            "rev=1 id=2 created",
            "rev=1 id=-1 created canceled reason=\"mvcc: duplicate watch ID provided on the WatchStream\"",
            "rev=1 id=-1 created canceled reason=\"mvcc: watcher range is empty\"",
        ]
    );
    for k in ["c", "b", "a"] {
        kv.put(put(k, k)).await.unwrap();
    }
    assert_eq!(show(&s.next().await), "rev=2 id=2 [PUT c@2=c]");
    assert_eq!(show(&s.next().await), "rev=3 id=0 [PUT b@3=b]");
    assert_eq!(show(&s.next().await), "rev=4 id=1 [PUT a@4=a]");
}

#[tokio::test]
async fn large_responses_fragment() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    let big = "v".repeat(300 * 1024);
    for i in 0..8 {
        kv.put(put(&format!("big{i}"), &big)).await.unwrap();
    }
    let mut s = Stream::open(c.channel(0).await).await;
    s.create(WatchCreateRequest { fragment: true, ..create("big", "bih", 2) });
    s.next().await;
    let a = s.next().await;
    let b = s.next().await;
    assert!(a.fragment && !b.fragment);
    // etcd splits at max-request-bytes + 512 KiB: 6 + 2 events here.
    assert_eq!((revs(&a), revs(&b)), ((2..=7).collect(), vec![8, 9]));
    s.create(create("big", "bih", 2));
    s.next().await;
    let whole = s.next().await;
    assert!(!whole.fragment);
    assert_eq!(whole.events.len(), 8);
}

#[tokio::test]
async fn lease_revoke_and_expiry_deliver_deletes() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    let mut lease = c.lease(0).await;
    let mut s = Stream::open(c.channel(0).await).await;
    s.create(WatchCreateRequest { prev_kv: true, ..create("l/", "l0", 0) });
    s.next().await;
    let short = lease.lease_grant(LeaseGrantRequest { ttl: 2, id: 0 }).await.unwrap().into_inner().id;
    let long = lease.lease_grant(LeaseGrantRequest { ttl: 60, id: 0 }).await.unwrap().into_inner().id;
    kv.put(PutRequest { lease: short, ..put("l/short", "s") }).await.unwrap();
    kv.put(PutRequest { lease: long, ..put("l/long", "l") }).await.unwrap();
    assert_eq!(show(&s.next().await), "rev=2 id=0 [PUT l/short@2=s]");
    assert_eq!(show(&s.next().await), "rev=3 id=0 [PUT l/long@3=l]");
    lease.lease_revoke(LeaseRevokeRequest { id: long }).await.unwrap();
    assert_eq!(show(&s.next().await), "rev=4 id=0 [DEL l/long@4 prev=l@3]");
    assert_eq!(show(&s.next().await), "rev=5 id=0 [DEL l/short@5 prev=s@2]");
}

/// A client that never reads must not hold up writes.
#[tokio::test]
async fn stalled_watcher_does_not_block_writes() {
    let c = Cluster::new(1).await;
    let mut kv = c.kv(0).await;
    let mut client = WatchClient::new(c.channel(0).await);
    let req = WatchRequest { request_union: Some(RequestUnion::CreateRequest(create("", "\0", 0))) };
    let stalled = client.watch(futures::stream::iter(vec![req]).chain(futures::stream::pending())).await.unwrap();
    let value = "x".repeat(16 * 1024);
    let writes = async {
        for i in 0..1000 {
            kv.put(put(&format!("k{i}"), &value)).await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(60), writes).await.expect("writes stalled behind a watcher");
    drop(stalled);
}
