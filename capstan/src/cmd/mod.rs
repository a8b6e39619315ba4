//! Subcommands of the `capstan` binary.

mod apiserver;
mod bench;
mod etcd;
mod up;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "capstan", version, about = "Kubernetes-compatible control plane")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run an etcd v3 API-compatible member (takes etcd's own flags).
    Etcd(Box<etcd::EtcdArgs>),
    /// Run the Kubernetes API server (takes kube-apiserver's flags).
    Apiserver(Box<apiserver::ApiserverArgs>),
    /// Start an all-in-one cluster (embedded etcd + API server) and write a kubeconfig.
    Up(Box<up::UpArgs>),
    /// Benchmarks (`capstan bench etcd`: capstan vs. etcd, side by side).
    Bench(Box<bench::BenchArgs>),
}

pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CAPSTAN_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Etcd(args) => etcd::run(*args),
        Command::Bench(args) => bench::run(*args),
        Command::Apiserver(args) => apiserver::run(*args),
        Command::Up(args) => up::run(*args),
    }
}
