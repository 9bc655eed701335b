//! Schema vendoring: `dapkit-codegen schema update|check`.

use std::process::ExitCode;

/// Runs `dapkit-codegen schema <args>`; `root` is the workspace root.
pub fn run(_root: &std::path::Path, _args: &[String]) -> ExitCode {
    eprintln!("schema: not implemented yet");
    ExitCode::FAILURE
}
