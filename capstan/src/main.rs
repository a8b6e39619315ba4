//! `capstan`: one binary, one subcommand per component.

mod cmd;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let cli = cmd::Cli::parse();
    cmd::init_tracing();
    cmd::run(cli)
}
