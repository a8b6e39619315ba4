//! `capstan apiserver`: the Kubernetes API server, with kube-apiserver's flag names.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use capstan_apiserver::handlers::ApiConfig;
use capstan_apiserver::server::{self, ServerConfig};
use capstan_apiserver::storage::etcd::EtcdBackend;
use clap::Args;

#[derive(Debug, Args)]
pub struct ApiserverArgs {
    /// Comma-separated etcd client URLs.
    #[arg(long, default_value = "http://127.0.0.1:2379")]
    pub etcd_servers: String,
    /// The prefix of every key in etcd.
    #[arg(long, default_value = "/registry")]
    pub etcd_prefix: String,
    /// The port on which to serve HTTPS.
    #[arg(long, default_value_t = 6443)]
    pub secure_port: u16,
    /// The IP address on which to listen for the secure port.
    #[arg(long, default_value = "0.0.0.0")]
    pub bind_address: IpAddr,
    /// File containing the default x509 serving certificate (generated when absent).
    #[arg(long)]
    pub tls_cert_file: Option<PathBuf>,
    /// File containing the default x509 private key matching --tls-cert-file.
    #[arg(long)]
    pub tls_private_key_file: Option<PathBuf>,
    /// CA bundle that client certificates are checked against.
    #[arg(long)]
    pub client_ca_file: Option<PathBuf>,
    /// Where generated certificates are kept.
    #[arg(long, default_value = "apiserver.local.config/certificates")]
    pub cert_dir: PathBuf,
    /// A CIDR notation IP range from which to assign service cluster IPs.
    #[arg(long, default_value = "10.96.0.0/12")]
    pub service_cluster_ip_range: String,
    /// A port range to reserve for services with NodePort visibility.
    #[arg(long, default_value = "30000-32767")]
    pub service_node_port_range: String,
    /// Interval of etcd compaction requests (e.g. `5m`; `0` disables).
    #[arg(long, default_value = "5m", value_parser = parse_interval)]
    pub etcd_compaction_interval: std::time::Duration,
    /// Write an admin kubeconfig (client certificate) to this path once serving.
    #[arg(long)]
    pub write_kubeconfig: Option<PathBuf>,
    /// Accepted for compatibility; authentication and authorization arrive later.
    #[arg(long)]
    pub authorization_mode: Option<String>,
    #[arg(long)]
    pub service_account_key_file: Option<PathBuf>,
    #[arg(long)]
    pub service_account_signing_key_file: Option<PathBuf>,
    #[arg(long)]
    pub service_account_issuer: Option<String>,
    #[arg(long)]
    pub encryption_provider_config: Option<PathBuf>,
    #[arg(long)]
    pub audit_log_path: Option<PathBuf>,
}

fn parse_interval(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().map_err(|_| format!("invalid duration {s:?}"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("invalid duration {s:?} (use s, m or h)")),
    };
    Ok(std::time::Duration::from_secs(secs))
}

fn port_range(s: &str) -> anyhow::Result<(u16, u16)> {
    let (a, b) = s.split_once('-').context("--service-node-port-range must look like 30000-32767")?;
    let (a, b): (u16, u16) = (a.trim().parse()?, b.trim().parse()?);
    anyhow::ensure!(a <= b, "--service-node-port-range: {a} > {b}");
    Ok((a, b))
}

impl ApiserverArgs {
    pub fn server_config(&self, external_url: String) -> anyhow::Result<ServerConfig> {
        Ok(ServerConfig {
            bind: SocketAddr::new(self.bind_address, self.secure_port),
            cert_dir: self.cert_dir.clone(),
            tls_cert_file: self.tls_cert_file.clone(),
            tls_private_key_file: self.tls_private_key_file.clone(),
            client_ca_file: self.client_ca_file.clone(),
            kubeconfig_out: self.write_kubeconfig.clone(),
            external_url,
            api: ApiConfig {
                etcd_prefix: self.etcd_prefix.clone(),
                service_cidr: self.service_cluster_ip_range.clone(),
                node_ports: port_range(&self.service_node_port_range)?,
                compaction_interval: self.etcd_compaction_interval,
                ..ApiConfig::default()
            },
        })
    }
}

/// Connects to etcd and serves until interrupted.
pub async fn serve(args: &ApiserverArgs, external_url: String) -> anyhow::Result<server::Running> {
    let endpoints: Vec<String> =
        args.etcd_servers.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    let backend = EtcdBackend::connect(&endpoints).await.context("connecting to etcd")?;
    let cfg = args.server_config(external_url)?;
    let running = server::start(Arc::new(backend), cfg).await.context("starting the API server")?;
    tracing::info!(addr = %running.addr, "capstan apiserver serving");
    Ok(running)
}

pub fn run(args: ApiserverArgs) -> anyhow::Result<()> {
    for (flag, set) in [
        ("--authorization-mode", args.authorization_mode.is_some()),
        ("--service-account-key-file", args.service_account_key_file.is_some()),
        ("--encryption-provider-config", args.encryption_provider_config.is_some()),
        ("--audit-log-path", args.audit_log_path.is_some()),
    ] {
        if set {
            tracing::warn!("{flag} is accepted but not enforced yet");
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let running = serve(&args, String::new()).await?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => Ok(()),
            r = running.task => r.context("server task"),
        }
    })
}
