//! `dapkit-codegen`: regenerate dapkit-types, vendor and check the DAP schema.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage:
  dapkit-codegen generate [--check]
  dapkit-codegen schema update --from <URL|PATH> [--version X] [--source TEXT]
  dapkit-codegen schema check [--upstream <URL|PATH>]";

fn workspace_root() -> PathBuf {
    // The binary lives in codegen/; the workspace root is its parent.
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    match args.first().map(String::as_str) {
        Some("generate") => dapkit_codegen::generate::run(&root, &args[1..]),
        Some("schema") => dapkit_codegen::vendor::run(&root, &args[1..]),
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
