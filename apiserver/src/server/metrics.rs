//! Prometheus metrics under kube-apiserver's names, and a `Backend` wrapper
//! that times every etcd call (etcd_request_duration_seconds).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::storage::{Backend, KeyValue, ListResult, StorageResult, TxnOutcome, WatchEvent};

type Labels = Vec<(String, String)>;

pub struct Metrics {
    registry: Registry,
    pub requests: Family<Labels, Counter>,
    pub durations: Family<Labels, Histogram>,
    pub storage_objects: Family<Labels, Gauge<i64, std::sync::atomic::AtomicI64>>,
    pub etcd: Family<Labels, Histogram>,
    pub watchers: Family<Labels, Gauge<i64, std::sync::atomic::AtomicI64>>,
}

fn latency_buckets() -> impl Iterator<Item = f64> {
    [
        0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0,
        30.0, 45.0, 60.0,
    ]
    .into_iter()
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let mut registry = Registry::default();
        let requests = Family::<Labels, Counter>::default();
        let durations = Family::<Labels, Histogram>::new_with_constructor(|| Histogram::new(latency_buckets()));
        let storage_objects = Family::default();
        let etcd = Family::<Labels, Histogram>::new_with_constructor(|| Histogram::new(latency_buckets()));
        let watchers = Family::default();
        registry.register("apiserver_request", "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.", requests.clone());
        registry.register("apiserver_request_duration_seconds", "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.", durations.clone());
        registry.register(
            "apiserver_storage_objects",
            "Number of stored objects at the time of last check split by kind.",
            storage_objects.clone(),
        );
        registry.register(
            "etcd_request_duration_seconds",
            "Etcd request latency in seconds for each operation and object type.",
            etcd.clone(),
        );
        registry.register(
            "apiserver_registered_watchers",
            "Number of currently registered watchers for a given resources",
            watchers.clone(),
        );
        Arc::new(Metrics { registry, requests, durations, storage_objects, etcd, watchers })
    }

    pub fn encode(&self) -> String {
        let mut s = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut s, &self.registry);
        s
    }
}

/// Times every backend call.
pub struct InstrumentedBackend {
    pub inner: Arc<dyn Backend>,
    pub metrics: Arc<Metrics>,
}

fn object_type(key: &str) -> String {
    // "/registry/pods/ns/name" → "pods"; services/specs → "services".
    key.trim_start_matches('/').split('/').nth(1).unwrap_or("").to_string()
}

impl InstrumentedBackend {
    fn observe(&self, op: &str, key: &str, start: Instant) {
        self.metrics
            .etcd
            .get_or_create(&vec![("operation".into(), op.into()), ("type".into(), object_type(key))])
            .observe(start.elapsed().as_secs_f64());
    }
}

impl Backend for InstrumentedBackend {
    fn get(&self, key: &str) -> BoxFuture<'_, StorageResult<(Option<KeyValue>, i64)>> {
        let key = key.to_string();
        Box::pin(async move {
            let t = Instant::now();
            let r = self.inner.get(&key).await;
            self.observe("get", &key, t);
            r
        })
    }
    fn list(&self, prefix: &str, start: &str, limit: i64, revision: i64) -> BoxFuture<'_, StorageResult<ListResult>> {
        let (prefix, start) = (prefix.to_string(), start.to_string());
        Box::pin(async move {
            let t = Instant::now();
            let r = self.inner.list(&prefix, &start, limit, revision).await;
            self.observe("list", &prefix, t);
            r
        })
    }
    fn count(&self, prefix: &str) -> BoxFuture<'_, StorageResult<(i64, i64)>> {
        let prefix = prefix.to_string();
        Box::pin(async move {
            let t = Instant::now();
            let r = self.inner.count(&prefix).await;
            self.observe("count", &prefix, t);
            r
        })
    }
    fn create(&self, key: &str, value: Bytes) -> BoxFuture<'_, StorageResult<TxnOutcome>> {
        let key = key.to_string();
        Box::pin(async move {
            let t = Instant::now();
            let r = self.inner.create(&key, value).await;
            self.observe("create", &key, t);
            r
        })
    }
    fn update(&self, key: &str, value: Bytes, expected: i64) -> BoxFuture<'_, StorageResult<TxnOutcome>> {
        let key = key.to_string();
        Box::pin(async move {
            let t = Instant::now();
            let r = self.inner.update(&key, value, expected).await;
            self.observe("update", &key, t);
            r
        })
    }
    fn delete(&self, key: &str, expected: i64) -> BoxFuture<'_, StorageResult<TxnOutcome>> {
        let key = key.to_string();
        Box::pin(async move {
            let t = Instant::now();
            let r = self.inner.delete(&key, expected).await;
            self.observe("delete", &key, t);
            r
        })
    }
    fn watch(&self, prefix: &str, from_revision: i64) -> BoxStream<'static, StorageResult<Vec<WatchEvent>>> {
        self.inner.watch(prefix, from_revision)
    }
    fn watch_with_progress(&self, prefix: &str, from_revision: i64) -> crate::storage::ProgressWatch {
        self.inner.watch_with_progress(prefix, from_revision)
    }
    fn current_revision(&self) -> BoxFuture<'_, StorageResult<i64>> {
        Box::pin(async move {
            let t = Instant::now();
            let r = self.inner.current_revision().await;
            self.observe("get", "/registry/revision", t);
            r
        })
    }
    fn compact(&self, revision: i64) -> BoxFuture<'_, StorageResult<()>> {
        self.inner.compact(revision)
    }
}
