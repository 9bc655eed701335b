//! The `dapkit-codegen` command line (clap): global path options, then `generate [--check]`
//! or `schema update|check`.
//!
//! Paths: `--root DIR` names the workspace; without it the workspace is the first directory
//! from the current directory upward that holds `schema/debugAdapterProtocol.json`. Never a
//! path compiled into the binary, so an installed binary works on the checkout it runs in.
//! `--schema`, `--extensions` and `--out` override single paths (relative to the current
//! directory); given `--schema` (and `--out` for `generate`), no workspace is needed.

use crate::generate::{self, BASE_SCHEMA, Layout, OUTPUT_DIR};
use crate::vendor::{self, SchemaCommand};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Generates dapkit-types from the Debug Adapter Protocol JSON schema, and vendors that
/// schema.
#[derive(Clone, Debug, Parser)]
#[command(name = "dapkit-codegen", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 success; 1 failure (stale files, integrity mismatch, \
    drift, I/O or fetch error); 2 bad command line."
)]
pub struct Cli {
    /// The workspace to work on (default: the first directory from the current one upward
    /// holding schema/debugAdapterProtocol.json).
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// The base DAP schema (default: schema/debugAdapterProtocol.json in the workspace); its
    /// UPSTREAM record sits beside it.
    #[arg(long, global = true, value_name = "FILE")]
    pub schema: Option<PathBuf>,
    /// The extension schemas, as DIR/FEATURE/FILE.json (default: the `extensions` directory
    /// beside the schema).
    #[arg(long, alias = "extension", global = true, value_name = "DIR")]
    pub extensions: Option<PathBuf>,
    /// Where `generate` writes types.rs and messages.rs (default: dap-types/src/generated in
    /// the workspace).
    #[arg(long, global = true, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// A `dapkit-codegen` command.
#[derive(Clone, Debug, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Generate types.rs and messages.rs from the schema and its extensions.
    Generate {
        /// Only compare the files with a fresh generation: exit 1 naming the stale ones,
        /// write nothing.
        #[arg(long)]
        check: bool,
    },
    /// Vendor the DAP schema (`update`) or verify it (`check`).
    #[command(subcommand)]
    Schema(SchemaCommand),
}

impl Cli {
    /// The paths this command line means, with `cwd` as the current directory; an error
    /// names what is missing.
    pub fn layout(&self, cwd: &Path) -> Result<Layout, String> {
        let given = |p: &Option<PathBuf>| p.as_ref().map(|p| cwd.join(p));
        let root = match given(&self.root) {
            Some(root) => {
                if !root.is_dir() {
                    return Err(format!("--root {}: not a directory", root.display()));
                }
                Some(root)
            }
            None => Layout::find_root(cwd),
        };
        let schema = match (given(&self.schema), &root) {
            (Some(s), _) => s,
            (None, Some(root)) => root.join(BASE_SCHEMA),
            (None, None) => {
                return Err(format!(
                    "no dapkit workspace found from {} upward (no {BASE_SCHEMA}); \
                     pass --root DIR, or --schema FILE (and --out DIR for generate)",
                    cwd.display()
                ));
            }
        };
        let extensions =
            given(&self.extensions).unwrap_or_else(|| schema.with_file_name("extensions"));
        let out = match (given(&self.out), &root, &self.command) {
            (Some(out), _, _) => out,
            (None, Some(root), _) => root.join(OUTPUT_DIR),
            (None, None, Command::Generate { .. }) => {
                return Err(format!(
                    "no dapkit workspace found from {} upward to generate into; \
                     pass --root DIR or --out DIR",
                    cwd.display()
                ));
            }
            (None, None, Command::Schema(_)) => PathBuf::new(),
        };
        // Show paths inside the workspace relative to it, as the reports always have.
        let base = root.unwrap_or_else(|| cwd.to_path_buf());
        let rel = |p: PathBuf| p.strip_prefix(&base).map(Path::to_path_buf).unwrap_or(p);
        Ok(Layout {
            schema: rel(schema),
            extensions: rel(extensions),
            out: rel(out),
            root: base,
        })
    }

    /// Runs the command with `cwd` as the current directory.
    pub fn run(&self, cwd: &Path) -> ExitCode {
        let layout = match self.layout(cwd) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        };
        match &self.command {
            Command::Generate { check } => generate::run(&layout, *check),
            Command::Schema(command) => vendor::run(&layout, command),
        }
    }
}
