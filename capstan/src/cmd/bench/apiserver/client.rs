//! The load generator's HTTP/2 client: N TLS connections (rustls, the admin
//! client certificate, the cluster CA, ALPN `h2`), each driven by hyper's
//! HTTP/2 connection task; workloads spread their requests over the
//! connections' [`Sender`] handles.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// A handle that sends requests on one HTTP/2 connection (cheap to clone).
pub type Sender = hyper::client::conn::http2::SendRequest<Full<Bytes>>;

/// Bound on one request (response body included).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// TLS client config from `pki_dir/{ca.crt,admin.crt,admin.key}`, offering only `h2`.
pub fn tls_config(pki_dir: &Path) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    let read = |name: &str| {
        let p = pki_dir.join(name);
        std::fs::read(&p).with_context(|| format!("reading {}", p.display()))
    };
    let (ca, crt, key) = (read("ca.crt")?, read("admin.crt")?, read("admin.key")?);
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(&ca) {
        roots.add(c.context("parsing ca.crt")?).context("adding ca.crt")?;
    }
    let chain: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(&crt).collect::<Result<_, _>>().context("parsing admin.crt")?;
    let key = PrivateKeyDer::from_pem_slice(&key).context("parsing admin.key")?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, key)
        .context("admin client certificate")?;
    cfg.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(cfg))
}

/// N HTTP/2 connections to one API server.
pub struct Pool {
    senders: Vec<Sender>,
    base: String,
}

impl Pool {
    pub async fn connect(addr: SocketAddr, tls: Arc<rustls::ClientConfig>, n: usize) -> anyhow::Result<Pool> {
        let mut senders = Vec::with_capacity(n.max(1));
        for _ in 0..n.max(1) {
            senders.push(connect_one(addr, tls.clone()).await?);
        }
        Ok(Pool { senders, base: format!("https://{addr}") })
    }

    /// The sender of connection `i` (mod the pool size).
    pub fn sender(&self, i: usize) -> Sender {
        self.senders[i % self.senders.len()].clone()
    }

    pub fn conns(&self) -> usize {
        self.senders.len()
    }

    /// An absolute URI for `path` (HTTP/2 needs scheme and authority).
    pub fn uri(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

async fn connect_one(addr: SocketAddr, tls: Arc<rustls::ClientConfig>) -> anyhow::Result<Sender> {
    let tcp = tokio::net::TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
    tcp.set_nodelay(true)?;
    let name = ServerName::IpAddress(addr.ip().into());
    let stream = tokio_rustls::TlsConnector::from(tls).connect(name, tcp).await.context("TLS handshake")?;
    if stream.get_ref().1.alpn_protocol() != Some(b"h2".as_slice()) {
        bail!("the API server did not negotiate HTTP/2 (ALPN h2)");
    }
    let (sender, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .initial_stream_window_size(8 << 20)
        .initial_connection_window_size(32 << 20)
        .max_frame_size(1 << 20)
        .max_send_buf_size(4 << 20)
        .handshake(TokioIo::new(stream))
        .await
        .context("HTTP/2 handshake")?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!(error = %e, "bench connection ended");
        }
    });
    Ok(sender)
}

/// A response with its whole body.
pub struct Resp {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Resp {
    /// Fails unless the status is one of `ok`, quoting the start of the body.
    pub fn expect(&self, ok: &[u16], what: &str) -> anyhow::Result<()> {
        if ok.contains(&self.status.as_u16()) {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.body[..self.body.len().min(300)]).into_owned();
        bail!("{what}: HTTP {}: {text}", self.status.as_u16())
    }

    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_slice(&self.body).context("decoding a JSON response")
    }
}

/// The content type of request bodies unless a caller names another.
const JSON: &str = "application/json";

fn request(method: Method, uri: &str, body: Option<Bytes>, content_type: &str) -> anyhow::Result<Request<Full<Bytes>>> {
    let mut b = Request::builder().method(method).uri(uri).header(http::header::ACCEPT, "application/json");
    if body.is_some() {
        b = b.header(http::header::CONTENT_TYPE, content_type);
    }
    Ok(b.body(Full::new(body.unwrap_or_default()))?)
}

/// Sends a request and returns the response head with the body still streaming.
pub async fn open(
    tx: &mut Sender,
    method: Method,
    uri: &str,
    body: Option<Bytes>,
) -> anyhow::Result<http::Response<Incoming>> {
    let req = request(method, uri, body, JSON)?;
    tx.ready().await.context("connection closed")?;
    Ok(tx.send_request(req).await?)
}

/// Sends a request and reads the whole response (bounded by a 60 s timeout).
pub async fn call(tx: &mut Sender, method: Method, uri: &str, body: Option<Bytes>) -> anyhow::Result<Resp> {
    call_as(tx, method, uri, body, JSON).await
}

/// [`call`] with the body sent as `content_type` (e.g. `application/apply-patch+yaml`).
pub async fn call_as(
    tx: &mut Sender,
    method: Method,
    uri: &str,
    body: Option<Bytes>,
    content_type: &str,
) -> anyhow::Result<Resp> {
    let fut = async {
        let req = request(method, uri, body, content_type)?;
        tx.ready().await.context("connection closed")?;
        let resp = tx.send_request(req).await?;
        let status = resp.status();
        let body = resp.into_body().collect().await.context("reading a response body")?.to_bytes();
        Ok(Resp { status, body })
    };
    tokio::time::timeout(REQUEST_TIMEOUT, fut).await.context("request timed out")?
}

/// Creates a namespace (an existing one is fine).
pub async fn ensure_namespace(pool: &Pool, ns: &str) -> anyhow::Result<()> {
    let body = serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
    let r =
        call(&mut pool.sender(0), Method::POST, &pool.uri("/api/v1/namespaces"), Some(body.to_string().into())).await?;
    r.expect(&[200, 201, 202, 409], &format!("creating namespace {ns}"))
}

/// Polls until the API answers `GET /api/v1/namespaces/default` with 200.
pub async fn wait_ready(addr: SocketAddr, tls: Arc<rustls::ClientConfig>, timeout: Duration) -> anyhow::Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last = String::from("no attempt");
    while tokio::time::Instant::now() < deadline {
        let attempt = async {
            let pool = Pool::connect(addr, tls.clone(), 1).await?;
            let r = call(&mut pool.sender(0), Method::GET, &pool.uri("/api/v1/namespaces/default"), None).await?;
            r.expect(&[200], "GET namespace default")
        };
        match tokio::time::timeout(Duration::from_secs(5), attempt).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => last = format!("{e:#}"),
            Err(_) => last = "probe timed out".into(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the API server at {addr} did not become ready in {timeout:?} (last: {last})")
}
