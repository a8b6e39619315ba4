//! `capstan up`: an all-in-one cluster in one process — an embedded
//! etcd-compat member and the API server — keeping all state in `--data-dir`
//! and writing the admin kubeconfig to `<data-dir>/kubeconfig`.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::apiserver::ApiserverArgs;

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Directory for all state (etcd data, certificates, kubeconfig).
    #[arg(long, default_value = "capstan-data")]
    data_dir: PathBuf,
    /// HTTPS port of the Kubernetes API.
    #[arg(long, default_value_t = 6443)]
    https_port: u16,
    /// Client port of the embedded etcd (http://127.0.0.1:PORT, for etcdctl).
    #[arg(long, default_value_t = 2379)]
    etcd_client_port: u16,
    /// Peer port of the embedded etcd.
    #[arg(long, default_value_t = 2380)]
    etcd_peer_port: u16,
    /// Address the API listens on.
    #[arg(long, default_value = "127.0.0.1")]
    bind_address: IpAddr,
}

pub fn run(args: UpArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.data_dir).with_context(|| format!("creating {}", args.data_dir.display()))?;
    let data_dir = args.data_dir.canonicalize()?;
    let client = format!("http://127.0.0.1:{}", args.etcd_client_port);
    let peer = format!("http://127.0.0.1:{}", args.etcd_peer_port);
    let etcd = etcd_compat::Config {
        name: "capstan".into(),
        data_dir: data_dir.join("etcd"),
        listen_client_urls: vec![client.clone()],
        advertise_client_urls: vec![client.clone()],
        listen_peer_urls: vec![peer.clone()],
        initial_advertise_peer_urls: vec![peer.clone()],
        initial_cluster: format!("capstan={peer}"),
        // The API server compacts; keep etcd's own compactor off.
        auto_compaction_retention: "0".into(),
        ..etcd_compat::Config::default()
    };
    let host = if args.bind_address.is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { args.bind_address };
    let url = format!("https://{host}:{}", args.https_port);
    let api_args = ApiserverArgs {
        etcd_servers: client.clone(),
        etcd_prefix: "/registry".into(),
        secure_port: args.https_port,
        bind_address: args.bind_address,
        tls_cert_file: None,
        tls_private_key_file: None,
        client_ca_file: None,
        cert_dir: data_dir.join("pki"),
        service_cluster_ip_range: "10.96.0.0/12".into(),
        service_node_port_range: "30000-32767".into(),
        write_kubeconfig: Some(data_dir.join("kubeconfig")),
        etcd_compaction_interval: std::time::Duration::from_secs(300),
        authorization_mode: None,
        service_account_key_file: None,
        service_account_signing_key_file: None,
        service_account_issuer: None,
        encryption_provider_config: None,
        audit_log_path: None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let node = etcd_compat::Node::open(etcd).await.context("opening the embedded etcd")?;
        node.wait_published().await;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let etcd_task = tokio::spawn(etcd_compat::server::serve(node, async {
            let _ = stop_rx.await;
        }));
        let running = super::apiserver::serve(&api_args, url.clone()).await?;
        let kubeconfig = data_dir.join("kubeconfig");
        println!("capstan is up: API {url}, etcd {client}");
        println!("  export KUBECONFIG={}", kubeconfig.display());
        println!("  kubectl get namespaces");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            r = running.task => { r.context("API server task")?; }
        }
        let _ = stop_tx.send(());
        let _ = etcd_task.await;
        Ok(())
    })
}
