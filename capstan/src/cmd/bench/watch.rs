//! Watch delivery latency: one watcher on a prefix (its own connection) and a
//! few writers putting fresh keys whose values embed the send time. Latency is
//! measured from the Put's acknowledgement to the event's arrival at the
//! watcher (0 when the event overtakes the ack).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use etcd_compat::proto::etcdserverpb::kv_client::KvClient;
use etcd_compat::proto::etcdserverpb::watch_client::WatchClient;
use etcd_compat::proto::etcdserverpb::watch_request::RequestUnion;
use etcd_compat::proto::etcdserverpb::{PutRequest, WatchCreateRequest, WatchRequest};
use futures::StreamExt;
use tonic::Code;

use super::stats::{self, Latency, Sample};
use super::workload::{connect, connect_spread};

/// How long the watcher waits for stragglers after the writers stop.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
const CREATE_TIMEOUT: Duration = Duration::from_secs(5);

/// The result of a watch run.
pub enum WatchOutcome {
    /// Measured: ops are events delivered; latency from the Put's ack (`ack`)
    /// or from just before the Put was sent (`send`, the value's stamp).
    Measured { ack: Box<Sample>, send: Box<Sample> },
    /// The server has no working Watch (e.g. Unimplemented).
    Unavailable(String),
}

pub struct WatchSpec {
    pub prefix: String,
    pub writers: usize,
    pub value_size: usize,
    pub warmup: Duration,
    pub measure: Duration,
}

/// Key → the instant its Put was acknowledged.
#[derive(Default)]
struct AckLog(std::sync::Mutex<HashMap<Vec<u8>, Instant>>);

impl AckLog {
    fn insert(&self, key: Vec<u8>, at: Instant) {
        if let Ok(mut m) = self.0.lock() {
            m.insert(key, at);
        }
    }

    fn take(&self) -> HashMap<Vec<u8>, Instant> {
        self.0.lock().map(|mut m| std::mem::take(&mut *m)).unwrap_or_default()
    }
}

fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return end;
        }
    }
    vec![0]
}

/// A value of `size` bytes (at least 8) starting with `sent` as nanoseconds since `epoch`.
fn stamped_value(epoch: Instant, sent: Instant, size: usize) -> Vec<u8> {
    let nanos = u64::try_from(sent.duration_since(epoch).as_nanos()).unwrap_or(u64::MAX);
    let mut v = nanos.to_be_bytes().to_vec();
    v.resize(size.max(8), b'w');
    v
}

/// Watches on the last of `urls` (a cluster's members, leader first, so the
/// watcher is on a follower; processes `server_pids`); the writers share one
/// connection per member, writer `w` using member `w % urls.len()`.
pub async fn run(urls: &[String], server_pids: &[u32], spec: &WatchSpec) -> anyhow::Result<WatchOutcome> {
    let url = urls.last().context("no endpoints to watch")?;
    let watch_ch = connect(url, 1).await?.remove(0);
    let mut watcher = WatchClient::new(watch_ch);
    let create = WatchRequest {
        request_union: Some(RequestUnion::CreateRequest(WatchCreateRequest {
            key: spec.prefix.as_bytes().to_vec(),
            range_end: prefix_end(spec.prefix.as_bytes()),
            ..Default::default()
        })),
    };
    // Keep the request stream open for the life of the watch.
    let requests = futures::stream::iter(vec![create]).chain(futures::stream::pending());
    let mut inbound = match watcher.watch(requests).await {
        Ok(r) => r.into_inner(),
        Err(s) if s.code() == Code::Unimplemented => return Ok(WatchOutcome::Unavailable(unimplemented(&s))),
        Err(s) => return Err(s).context("opening a watch stream"),
    };
    match tokio::time::timeout(CREATE_TIMEOUT, inbound.message()).await {
        Ok(Ok(Some(r))) if r.created => {}
        Ok(Ok(Some(_))) => return Ok(WatchOutcome::Unavailable("first watch response was not `created`".into())),
        Ok(Ok(None)) => return Ok(WatchOutcome::Unavailable("watch stream closed before `created`".into())),
        Ok(Err(s)) if s.code() == Code::Unimplemented => return Ok(WatchOutcome::Unavailable(unimplemented(&s))),
        Ok(Err(s)) => return Err(s).context("waiting for the watch to be created"),
        Err(_) => return Ok(WatchOutcome::Unavailable(format!("no `created` response in {CREATE_TIMEOUT:?}"))),
    }

    let epoch = Instant::now();
    let measure_from = epoch + spec.warmup;
    let stop_at = measure_from + spec.measure;
    let cpu_from = tokio::spawn(stats::snapshot_at(server_pids.to_vec(), measure_from));
    let cpu_to = tokio::spawn(stats::snapshot_at(server_pids.to_vec(), stop_at));
    let acks = Arc::new(AckLog::default());
    let acked = Arc::new(AtomicU64::new(0));
    let writers_done = Arc::new(AtomicBool::new(false));
    let write_chs = connect_spread(urls, urls.len()).await?;
    let mut writers = Vec::new();
    for w in 0..spec.writers.max(1) {
        let mut kv = KvClient::new(write_chs[w % write_chs.len()].clone());
        let (acks, acked) = (acks.clone(), acked.clone());
        let (prefix, size) = (spec.prefix.clone(), spec.value_size);
        writers.push(tokio::spawn(async move {
            let mut errors = 0u64;
            for seq in 0u64.. {
                let sent = Instant::now();
                if sent >= stop_at {
                    break;
                }
                let key = format!("{prefix}{w:04}/{seq:010}").into_bytes();
                let req =
                    PutRequest { key: key.clone(), value: stamped_value(epoch, sent, size), ..Default::default() };
                match kv.put(req).await {
                    Ok(_) => {
                        acks.insert(key, Instant::now());
                        acked.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => errors += 1,
                }
            }
            errors
        }));
    }

    // Receive events until every acknowledged put has been seen (or a timeout).
    let mut received: Vec<(Vec<u8>, Instant, Option<Duration>)> = Vec::new();
    let mut watch_err = None;
    let mut drain_deadline = None;
    loop {
        if writers_done.load(Ordering::Relaxed) {
            if received.len() as u64 >= acked.load(Ordering::Relaxed) {
                break;
            }
            let deadline = *drain_deadline.get_or_insert_with(|| Instant::now() + DRAIN_TIMEOUT);
            if Instant::now() >= deadline {
                break;
            }
        } else if writers.iter().all(|w| w.is_finished()) {
            writers_done.store(true, Ordering::Relaxed);
            continue;
        }
        match tokio::time::timeout(Duration::from_millis(100), inbound.message()).await {
            Err(_) => continue,
            Ok(Ok(Some(resp))) => {
                let now = Instant::now();
                received.extend(resp.events.into_iter().filter_map(|e| {
                    e.kv.map(|kv| {
                        let sent = read_stamp(&kv.value);
                        (kv.key, now, sent)
                    })
                }));
            }
            Ok(Ok(None)) => {
                watch_err = Some("watch stream ended".to_string());
                break;
            }
            Ok(Err(s)) => {
                watch_err = Some(format!("{:?}: {}", s.code(), s.message()));
                break;
            }
        }
    }
    let mut errors = 0;
    for w in writers {
        errors += w.await.context("watch writer panicked")?;
    }

    let acks: HashMap<Vec<u8>, Instant> = acks.take();
    let mut latency = Latency::new()?;
    let mut from_send = Latency::new()?;
    let mut delivered = 0u64;
    for (key, at, sent) in &received {
        if let Some(acked_at) = acks.get(key) {
            if *acked_at >= measure_from {
                delivered += 1;
                latency.record(at.saturating_duration_since(*acked_at));
                if let Some(sent) = sent {
                    from_send.record(at.saturating_duration_since(epoch + *sent));
                }
            }
        }
    }
    let measured_acks = acks.values().filter(|t| **t >= measure_from).count() as u64;
    let missing = measured_acks.saturating_sub(delivered);
    let first_error = match (watch_err, missing) {
        (Some(e), _) => Some(e),
        (None, 0) => None,
        (None, n) => Some(format!("{n} acknowledged puts never arrived as events")),
    };
    let ack = Sample {
        ops: delivered,
        errors: errors + missing,
        elapsed: spec.measure,
        latency,
        first_error,
        cpu: stats::cpu_between(cpu_from.await?, cpu_to.await?),
    };
    let send = Sample { latency: from_send, ..ack.clone() };
    Ok(WatchOutcome::Measured { ack: Box::new(ack), send: Box::new(send) })
}

/// The send time [`stamped_value`] put at the start of a value.
fn read_stamp(value: &[u8]) -> Option<Duration> {
    let b: [u8; 8] = value.get(..8)?.try_into().ok()?;
    Some(Duration::from_nanos(u64::from_be_bytes(b)))
}

fn unimplemented(s: &tonic::Status) -> String {
    format!("watch unimplemented on this server ({})", s.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_increments_the_last_byte() {
        assert_eq!(prefix_end(b"bench/watch/"), b"bench/watch0".to_vec());
        assert_eq!(prefix_end(b"a\xff"), b"b".to_vec());
        assert_eq!(prefix_end(b"\xff\xff"), vec![0]);
    }

    #[test]
    fn stamped_values_carry_the_send_time() {
        let epoch = Instant::now();
        let v = stamped_value(epoch, epoch + Duration::from_micros(1500), 256);
        assert_eq!(v.len(), 256);
        assert_eq!(read_stamp(&v), Some(Duration::from_micros(1500)));
        assert_eq!(read_stamp(b"short"), None);
    }
}
