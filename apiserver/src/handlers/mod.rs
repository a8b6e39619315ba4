//! The resource API: `Api` holds the storage backend, one watch cache per
//! stored resource and the allocators; `handle` dispatches a parsed request to
//! the verb in `<verb>.rs`.

mod apply;
pub mod codec;
mod create;
pub(crate) mod delete;
mod get;
mod list;
mod namespace;
pub mod object;
mod patch;
pub mod request;
pub(crate) mod store;
mod subresource;
mod update;
mod watch;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use crate::catalog::{self, ResourceInfo};
use crate::error::ApiError;
use crate::registry::ipalloc::{IpAllocator, PortAllocator};
use crate::storage::cache::{CachedObject, Decoder, WatchCache};
use crate::storage::{stored_json, Backend, KeyValue};
use codec::Response;
use request::{Query, RequestInfo, Verb};

/// Settings of the resource API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// etcd key prefix (`--etcd-prefix`, default `/registry`).
    pub etcd_prefix: String,
    /// `--service-cluster-ip-range`.
    pub service_cidr: String,
    /// `--service-node-port-range` as (first, last).
    pub node_ports: (u16, u16),
    /// Events kept per watch cache for watch resumption.
    pub watch_history: usize,
    /// `--etcd-compaction-interval` (zero: never compact).
    pub compaction_interval: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            etcd_prefix: "/registry".into(),
            service_cidr: "10.96.0.0/12".into(),
            node_ports: (30000, 32767),
            watch_history: 100_000,
            compaction_interval: Duration::from_secs(300),
        }
    }
}

/// The API state shared by all requests.
pub struct Api {
    pub backend: Arc<dyn Backend>,
    pub cfg: ApiConfig,
    /// One watch cache per storage path; custom resources add theirs while serving.
    caches: parking_lot::RwLock<HashMap<&'static str, Arc<WatchCache>>>,
    pub ips: IpAllocator,
    pub ports: PortAllocator,
}

/// The row that defines how a storage path is stored (first in the catalog).
pub fn storage_row(info: &ResourceInfo) -> &'static ResourceInfo {
    if let Some(s) = crate::crd::registry::serving(info) {
        if let Some(v) = s.version(&s.storage_version) {
            return v.row;
        }
    }
    catalog::RESOURCES.iter().find(|r| r.storage == info.storage).unwrap_or(&catalog::RESOURCES[0])
}

fn decoder(info: &'static ResourceInfo) -> Decoder {
    Arc::new(move |kv: &KeyValue| {
        // Every write passes through here: read only what the cache indexes
        // and stamp the resourceVersion into the stored bytes.
        let fast = match stored_json::skeleton(&kv.value) {
            Ok(v) if v.is_object() => stored_json::with_resource_version(&kv.value, kv.mod_revision).map(|j| (v, j)),
            _ => None,
        };
        let (v, json) = match fast {
            Some((v, json)) => (v, Bytes::from(json)),
            None => {
                let mut v: Value = serde_json::from_slice(&kv.value).ok()?;
                object::set_resource_version(&mut v, kv.mod_revision);
                let json = Bytes::from(serde_json::to_vec(&v).ok()?);
                (v, json)
            }
        };
        let namespace = object::meta_str(&v, "namespace").to_string();
        let name = object::meta_str(&v, "name").to_string();
        Some(CachedObject {
            key: kv.key.clone(),
            namespace,
            name,
            mod_revision: kv.mod_revision,
            json,
            labels: crate::selectors::label::labels_of(&v),
            fields: crate::registry::fields::field_set(info, &v),
        })
    })
}

impl Api {
    /// Starts one watch cache per stored resource and waits for their first list.
    pub async fn start(backend: Arc<dyn Backend>, cfg: ApiConfig) -> Result<Arc<Api>, ApiError> {
        let ips = IpAllocator::new(&cfg.service_cidr).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let ports = PortAllocator::new(&format!("{}-{}", cfg.node_ports.0, cfg.node_ports.1))
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let mut caches = HashMap::new();
        for r in catalog::RESOURCES.iter().filter(|r| r.is_stored()) {
            if caches.contains_key(r.storage) {
                continue;
            }
            let prefix = r.key_prefix(&cfg.etcd_prefix, "");
            let c = WatchCache::start(backend.clone(), prefix, decoder(r), cfg.watch_history);
            caches.insert(r.storage, c);
        }
        for c in caches.values() {
            c.ready().await;
        }
        let api = Arc::new(Api { backend, cfg, caches: parking_lot::RwLock::new(caches), ips, ports });
        api.seed_allocators();
        crate::crd::controller::serve_stored(&api).await;
        namespace::bootstrap(&api).await?;
        crate::crd::controller::spawn(api.clone());
        namespace::spawn_finalizer(api.clone());
        spawn_compactor(api.clone());
        Ok(api)
    }

    pub fn cache(&self, info: &ResourceInfo) -> Result<Arc<WatchCache>, ApiError> {
        self.caches
            .read()
            .get(info.storage)
            .cloned()
            .ok_or_else(|| ApiError::Internal(format!("no cache for {}", info.plural)))
    }

    /// Starts the watch cache of a custom resource's storage path (once) and waits for its first list.
    pub async fn ensure_cache(&self, info: &'static ResourceInfo) -> Arc<WatchCache> {
        let c = {
            let mut caches = self.caches.write();
            if let Some(c) = caches.get(info.storage) {
                return c.clone();
            }
            let prefix = info.key_prefix(&self.cfg.etcd_prefix, "");
            let c = WatchCache::start(self.backend.clone(), prefix, decoder(info), self.cfg.watch_history);
            caches.insert(info.storage, c.clone());
            c
        };
        c.ready().await;
        c
    }

    /// Stops caching a storage path (its CRD is gone).
    pub fn drop_cache(&self, storage: &str) {
        self.caches.write().remove(storage);
    }

    pub fn key(&self, info: &ResourceInfo, ns: &str, name: &str) -> String {
        info.key(&self.cfg.etcd_prefix, ns, name)
    }

    /// Marks the ClusterIPs and NodePorts of stored services as used.
    fn seed_allocators(&self) {
        let Some(svc) = catalog::find("", "v1", "services") else { return };
        let Ok(cache) = self.cache(svc) else { return };
        let list = cache.list("", None, 0, &|_| true);
        for o in list.items {
            let Ok(v) = serde_json::from_slice::<Value>(&o.json) else { continue };
            subresource::mark_service_allocations(self, &v);
        }
    }

    /// Objects per stored resource (apiserver_storage_objects).
    pub fn object_counts(&self) -> Vec<(String, usize)> {
        let mut v: Vec<(String, usize)> = catalog::all()
            .into_iter()
            .filter(|r| r.is_stored())
            .filter_map(|r| self.caches.read().get(r.storage).map(|c| (r.group_resource(), c.len())))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Waits until every cache has caught up with the store (used by tests and `up`).
    pub async fn wait_caches_fresh(&self, timeout: Duration) -> Result<(), ApiError> {
        let caches: Vec<Arc<WatchCache>> = self.caches.read().values().cloned().collect();
        for c in caches {
            c.consistent_revision(timeout).await?;
        }
        Ok(())
    }
}

/// Compacts etcd history like kube-apiserver: every interval, up to the
/// revision seen one interval earlier, so watchers have a full interval to catch up.
fn spawn_compactor(api: Arc<Api>) {
    let every = api.cfg.compaction_interval;
    if every.is_zero() {
        return;
    }
    tokio::spawn(async move {
        let mut previous = 0i64;
        loop {
            tokio::time::sleep(every).await;
            let Ok(now) = api.backend.current_revision().await else { continue };
            if previous > 0 {
                if let Err(e) = api.backend.compact(previous).await {
                    tracing::debug!(error = %e, revision = previous, "compaction failed");
                }
            }
            previous = now;
        }
    });
}

/// Serves one resource request.
pub async fn handle(
    api: &Arc<Api>,
    info: RequestInfo,
    query: Query,
    parts: &http::request::Parts,
    body: Bytes,
) -> Result<Response, ApiError> {
    let ri = catalog::find(&info.group, &info.version, &info.resource).ok_or_else(|| ApiError::NotFound {
        resource: String::new(),
        group: String::new(),
        kind_plural: String::new(),
        name: String::new(),
    })?;
    if ri.namespaced && info.namespace.is_empty() && !matches!(info.verb, Verb::List | Verb::Watch) {
        // kube answers e.g. GET /api/v1/pods/x with 404.
        return Err(ApiError::NotFound {
            resource: ri.plural.into(),
            group: ri.group.into(),
            kind_plural: ri.plural.into(),
            name: info.name.clone(),
        });
    }
    if !info.subresource.is_empty() && !ri.has_subresource(&info.subresource) {
        return Err(ApiError::NotFound {
            resource: format!("{}/{}", ri.plural, info.subresource),
            group: ri.group.into(),
            kind_plural: ri.plural.into(),
            name: info.name.clone(),
        });
    }
    let ctx = Ctx { api, ri, info: &info, query: &query, parts };
    match info.verb {
        Verb::Get => get::get(&ctx).await,
        Verb::List => list::list(&ctx).await,
        Verb::Watch => watch::watch(&ctx).await,
        Verb::Create => create::create(&ctx, body).await,
        Verb::Update => update::update(&ctx, body).await,
        Verb::Patch => patch::patch(&ctx, body).await,
        Verb::Delete => delete::delete(&ctx, body).await,
        Verb::DeleteCollection => delete::delete_collection(&ctx, body).await,
    }
}

/// Everything a verb needs about the request.
pub struct Ctx<'a> {
    pub api: &'a Arc<Api>,
    pub ri: &'static ResourceInfo,
    pub info: &'a RequestInfo,
    pub query: &'a Query,
    pub parts: &'a http::request::Parts,
}

impl Ctx<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.parts.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn format(&self) -> codec::Format {
        codec::negotiate(self.header("accept"))
    }
    pub fn not_found(&self) -> ApiError {
        ApiError::NotFound {
            resource: self.ri.plural.into(),
            group: self.ri.group.into(),
            kind_plural: self.ri.plural.into(),
            name: self.info.name.clone(),
        }
    }
    pub fn key(&self) -> String {
        self.api.key(self.ri, &self.info.namespace, &self.info.name)
    }
}
