//! `dapkit-codegen`: regenerate dapkit-types, vendor and check the DAP schema.
//! See `dapkit-codegen --help`.

use clap::Parser;
use dapkit_codegen::cli::Cli;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match std::env::current_dir() {
        Ok(cwd) => cli.run(&cwd),
        Err(e) => {
            eprintln!("error: cannot read the current directory: {e}");
            ExitCode::FAILURE
        }
    }
}
