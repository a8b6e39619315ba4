//! Serving: TLS with client certificates (`tls`), PKI and kubeconfig
//! (`certs`), routing (`router`) and metrics (`metrics`). `start` binds the
//! secure port and serves until the process ends.

pub mod certs;
pub mod metrics;
pub mod router;
pub mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::CertificateDer;

use crate::handlers::{Api, ApiConfig};
use crate::storage::Backend;
use metrics::{InstrumentedBackend, Metrics};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Cert(#[from] certs::CertError),
    #[error("binding {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("starting the API: {0}")]
    Api(#[from] crate::error::ApiError),
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    /// Where generated certificates live (`--cert-dir`).
    pub cert_dir: PathBuf,
    pub tls_cert_file: Option<PathBuf>,
    pub tls_private_key_file: Option<PathBuf>,
    pub client_ca_file: Option<PathBuf>,
    /// Write an admin kubeconfig here once serving.
    pub kubeconfig_out: Option<PathBuf>,
    /// The URL written into the kubeconfig.
    pub external_url: String,
    pub api: ApiConfig,
}

pub struct State {
    pub api: Arc<Api>,
    pub metrics: Arc<Metrics>,
    pub server_address: String,
}

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub api: Arc<Api>,
    pub task: tokio::task::JoinHandle<()>,
}

fn read_file(p: &PathBuf) -> Result<String, certs::CertError> {
    std::fs::read_to_string(p).map_err(|source| certs::CertError::Io { path: p.clone(), source })
}

/// Starts the API over `backend` and serves HTTPS on `cfg.bind`.
pub async fn start(backend: Arc<dyn Backend>, cfg: ServerConfig) -> Result<Running, ServerError> {
    let pki = certs::ensure_pki(&cfg.cert_dir, &[cfg.bind.ip().to_string()])?;
    let cert = match &cfg.tls_cert_file {
        Some(p) => read_file(p)?,
        None => pki.serving_cert_pem.clone(),
    };
    let key = match &cfg.tls_private_key_file {
        Some(p) => read_file(p)?,
        None => pki.serving_key_pem.clone(),
    };
    let ca = match &cfg.client_ca_file {
        Some(p) => read_file(p)?,
        None => pki.ca_cert_pem.clone(),
    };
    let tls = tls::server_config(&cert, &key, &ca)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    // Build the OpenAPI documents now rather than on kubectl's first request.
    tokio::task::spawn_blocking(|| {
        crate::openapi::prebuild();
        crate::protobuf::prebuild();
    });
    let metrics = Metrics::new();
    let backend: Arc<dyn Backend> = Arc::new(InstrumentedBackend { inner: backend, metrics: metrics.clone() });
    let api = Api::start(backend, cfg.api.clone()).await?;
    let listener =
        tokio::net::TcpListener::bind(cfg.bind).await.map_err(|source| ServerError::Bind { addr: cfg.bind, source })?;
    let addr = listener.local_addr().map_err(|source| ServerError::Bind { addr: cfg.bind, source })?;
    if let Some(out) = &cfg.kubeconfig_out {
        let url = if cfg.external_url.is_empty() { format!("https://{addr}") } else { cfg.external_url.clone() };
        certs::write_kubeconfig(out, &certs::admin_kubeconfig(&url, &pki)?)?;
    }
    let state = Arc::new(State { api: api.clone(), metrics, server_address: addr.to_string() });
    let task = tokio::spawn(async move {
        loop {
            let (tcp, _) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = tcp.set_nodelay(true);
            let acceptor = acceptor.clone();
            let state = state.clone();
            tokio::spawn(async move {
                let tls = match acceptor.accept(tcp).await {
                    Ok(t) => t,
                    Err(e) => {
                        tracing::debug!(error = %e, "TLS handshake failed");
                        return;
                    }
                };
                let user = tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(|c: &CertificateDer<'_>| tls::user_from_cert(c));
                let svc = hyper::service::service_fn(move |req| {
                    let state = state.clone();
                    let user = user.clone();
                    async move { Ok::<_, std::convert::Infallible>(router::route(state, req, user).await) }
                });
                let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                builder.http2().max_concurrent_streams(1000);
                if let Err(e) = builder.serve_connection(TokioIo::new(tls), svc).await {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
            });
        }
    });
    Ok(Running { addr, api, task })
}
