//! `capstan`: one binary, one subcommand per component.

mod cmd;

use clap::Parser;

// Allocation-heavy gRPC paths spend ~10% less CPU than with glibc malloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = cmd::Cli::parse();
    cmd::init_tracing();
    cmd::run(cli)
}
