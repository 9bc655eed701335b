//! `dapkit`: the command line of the dapkit Debug Adapter Protocol toolkit.
//!
//! Results go to stdout, logs to stderr (`-v`, `-q`, `RUST_LOG`). Exit codes: 0 ok, 1
//! findings or differences, 2 usage or I/O error; errors are printed as one line
//! `dapkit: error: …`.

mod diff;
mod error;
mod import;
mod jupyter;
mod logging;
mod mcp;
mod proxy;
mod ready;
mod record;
mod replay;
mod show;
mod show_html;
mod signals;
mod trace_open;
mod validate;

use clap::{Parser, Subcommand};
use error::{CliError, Exit};
use std::process::ExitCode;

/// A toolkit for the Debug Adapter Protocol: see, keep, check and reproduce the traffic
/// between an editor and a debug adapter.
#[derive(Debug, Parser)]
#[command(name = "dapkit", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    log: logging::LogArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Show(show::ShowArgs),
    Validate(validate::ValidateArgs),
    Diff(diff::DiffArgs),
    /// Record a session between an editor and a debug adapter (stdio or TCP).
    Record(record::RecordArgs),
    /// Build a trace from two raw byte captures (client → adapter, adapter → client).
    Import(import::ImportArgs),
    Replay(replay::ReplayArgs),
    /// Share one debug session between several clients (controller and observers).
    Proxy(proxy::ProxyArgs),
    Jupyter(jupyter::JupyterArgs),
    Mcp(mcp::McpArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return error::clap_exit(&e),
    };
    logging::init(&cli.log);
    let result: Result<Exit, CliError> = match cli.command {
        Command::Show(args) => show::run(args),
        Command::Validate(args) => validate::run(args),
        Command::Diff(args) => diff::run(args),
        Command::Record(args) => record::run(args),
        Command::Import(args) => import::run(args),
        Command::Replay(args) => replay::run(args),
        Command::Proxy(args) => proxy::run(args),
        Command::Jupyter(args) => jupyter::run(args),
        Command::Mcp(args) => mcp::run(args),
    };
    match result {
        Ok(exit) => exit.code(),
        Err(e) => e.report(),
    }
}
