//! Watch semantics through the gRPC API of an in-process member.

use std::time::Duration;

use etcd_compat::proto::etcdserverpb::watch_client::WatchClient;
use etcd_compat::proto::etcdserverpb::watch_create_request::FilterType;
use etcd_compat::proto::etcdserverpb::watch_request::RequestUnion;
use etcd_compat::proto::etcdserverpb::*;
use etcd_compat::proto::mvccpb::Event;
use tokio::sync::mpsc;
use tonic::transport::Channel;

/// A client Watch stream: requests go in, responses are collected by a task.
pub struct Stream {
    tx: mpsc::UnboundedSender<WatchRequest>,
    rx: mpsc::UnboundedReceiver<WatchResponse>,
}

impl Stream {
    pub async fn open(ch: Channel) -> Stream {
        let (tx, req_rx) = mpsc::unbounded_channel();
        let (resp_tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut client = WatchClient::new(ch);
            let reqs = tokio_stream::wrappers::UnboundedReceiverStream::new(req_rx);
            let Ok(resp) = client.watch(reqs).await else { return };
            let mut inbound = resp.into_inner();
            while let Ok(Some(r)) = inbound.message().await {
                if resp_tx.send(r).is_err() {
                    return;
                }
            }
        });
        Stream { tx, rx }
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

/// Prints a scripted session against `PROBE_URL` (a real etcd or capstan),
/// to compare the two by eye.
#[tokio::test]
#[ignore]
async fn probe_endpoint() {
    use etcd_compat::proto::etcdserverpb::kv_client::KvClient;
    let url = std::env::var("PROBE_URL").unwrap();
    let ch = Channel::from_shared(url).unwrap().connect().await.unwrap();
    let mut kv = KvClient::new(ch.clone());
    let put = |k: &str, v: &str| PutRequest { key: k.into(), value: v.into(), ..Default::default() };
    kv.put(put("foo", "1")).await.unwrap();
    kv.put(put("foo", "2")).await.unwrap();
    kv.delete_range(DeleteRangeRequest { key: "foo".into(), ..Default::default() }).await.unwrap();
    kv.put(put("foo/a", "x")).await.unwrap();
    kv.put(put("bar", "1")).await.unwrap();
    let q = Duration::from_millis(400);
    let p = |tag: &str, rs: Vec<WatchResponse>| {
        println!("--- {tag}");
        for r in rs {
            println!("{}", show(&r));
        }
    };

    let mut empty = Stream::open(ch.clone()).await;
    empty.progress();
    p("progress, no watchers", empty.drain(q).await);

    let mut s = Stream::open(ch.clone()).await;
    s.create(WatchCreateRequest { prev_kv: true, ..create("foo", "", 2) });
    p("foo from 2 prev_kv", s.drain(q).await);
    s.create(create("foo", "fop", 0));
    p("prefix foo", s.drain(q).await);
    s.create(WatchCreateRequest { watch_id: 100, ..create("bar", "", 0) });
    p("id 100", s.drain(q).await);
    s.create(WatchCreateRequest { watch_id: 100, ..create("bar", "", 0) });
    p("dup 100", s.drain(q).await);
    s.create(create("b", "a", 0));
    p("empty range", s.drain(q).await);
    s.create(create("foo", "", -1));
    p("negative start", s.drain(q).await);
    s.create(WatchCreateRequest { filters: vec![FilterType::Noput as i32], ..create("", "\0", 1) });
    p("all deletes from 1", s.drain(q).await);
    s.create(create("", "", 0));
    p("empty key", s.drain(q).await);
    s.create(create("zzz", "", 100));
    p("future start", s.drain(q).await);
    s.progress();
    p("progress with future watcher", s.drain(q).await);
    s.cancel(6);
    p("cancel future watcher", s.drain(q).await);
    s.progress();
    p("progress", s.drain(q).await);
    kv.put(put("foo", "3")).await.unwrap();
    p("put foo=3", s.drain(q).await);
    let txn = TxnRequest {
        success: vec![
            RequestOp { request: Some(request_op::Request::RequestPut(put("foo/x", "1"))) },
            RequestOp { request: Some(request_op::Request::RequestPut(put("foo/y", "2"))) },
        ],
        ..Default::default()
    };
    kv.txn(txn).await.unwrap();
    p("txn foo/x foo/y", s.drain(q).await);
    s.cancel(1);
    p("cancel 1", s.drain(q).await);
    s.cancel(999);
    p("cancel 999", s.drain(q).await);
    s.create(create("foo", "", 0));
    p("auto id after cancel", s.drain(q).await);
    kv.delete_range(DeleteRangeRequest { key: "foo".into(), range_end: "fop".into(), ..Default::default() })
        .await
        .unwrap();
    p("delete prefix", s.drain(q).await);

    kv.compact(CompactionRequest { revision: 6, physical: true }).await.unwrap();
    let mut c = Stream::open(ch.clone()).await;
    c.create(create("foo", "", 3));
    p("compacted start 3 (compact 6)", c.drain(q).await);
    c.create(create("foo", "", 6));
    p("start 6 (compact 6)", c.drain(q).await);
    c.progress();
    p("progress with compacted watcher", c.drain(q).await);
    c.cancel(0);
    p("cancel compacted", c.drain(q).await);
    c.progress();
    p("progress after cancel", c.drain(q).await);

    let big = "v".repeat(300 * 1024);
    let txn = TxnRequest {
        success: (0..3)
            .map(|i| RequestOp { request: Some(request_op::Request::RequestPut(put(&format!("big{i}"), &big))) })
            .collect(),
        ..Default::default()
    };
    let r = kv.txn(txn).await.unwrap().into_inner();
    let rev = r.header.unwrap().revision;
    let mut f = Stream::open(ch.clone()).await;
    f.create(WatchCreateRequest { fragment: true, ..create("big", "bih", rev) });
    p("fragment", f.drain(q).await);
    f.create(WatchCreateRequest { fragment: false, ..create("big", "bih", rev) });
    p("no fragment", f.drain(q).await);
}
