//! `dapkit`: the command line of the dapkit Debug Adapter Protocol toolkit.
//!
//! Results go to stdout, logs to stderr (`-v`, `-q`, `RUST_LOG`). Exit codes: 0 ok, 1
//! findings or differences, 2 usage or I/O error; errors are printed as one line
//! `dapkit: error: …`.

mod error;
mod logging;
mod ready;

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
enum Command {}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return error::clap_exit(&e),
    };
    logging::init(&cli.log);
    let result: Result<Exit, CliError> = match cli.command {};
    match result {
        Ok(exit) => exit.code(),
        Err(e) => e.report(),
    }
}
