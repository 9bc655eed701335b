//! Schema vendoring: `dapkit-codegen schema update|check`.
//!
//! The vendored DAP schema lives in `<root>/schema/debugAdapterProtocol.json` (or where
//! `--schema` says), described by the `UPSTREAM` file beside it
//! (URL, protocol version, SHA-256, source, date).
//!
//! - `schema update --from <URL|PATH> [--version X] [--source TEXT]`: fetch, check it is a
//!   DAP schema, write the exact bytes, rewrite UPSTREAM, print the drift.
//! - `schema check [--upstream <URL|PATH>]`: verify the vendored file against UPSTREAM, and
//!   every extension schema `schema/extensions/<feature>/<file>.json` against the `sha256`
//!   and `size` in its own `UPSTREAM` (one `ok:` line each; exit 1 naming the file, expected
//!   and actual sha256 on a mismatch); with `--upstream`, also report drift of the base
//!   schema against that copy (exit 1 on drift).
//!
//! Submodules: `fetch` (file/http/https), `schema` (recognizing a DAP schema), `drift`
//! (drift reports), `upstream` (the UPSTREAM record), `extensions` (extension integrity).

mod drift;
mod extensions;
mod fetch;
mod schema;
mod upstream;

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use upstream::Upstream;

use crate::generate::{Layout, show};

/// A `schema` subcommand.
#[derive(Clone, Debug, PartialEq, Eq, clap::Subcommand)]
pub enum SchemaCommand {
    /// Fetch a DAP schema, check it is one, write its exact bytes and a new `UPSTREAM`
    /// record, and print the drift from the previous copy.
    Update {
        /// Where to fetch it: an `http://` or `https://` URL, `file://...` or a local path.
        #[arg(long, value_name = "URL|PATH")]
        from: String,
        /// The protocol version to record (default: keep the recorded one).
        #[arg(long, value_name = "X")]
        version: Option<String>,
        /// A free-text `source` to record (default: describes `--from`).
        #[arg(long, value_name = "TEXT")]
        source: Option<String>,
    },
    /// Verify the vendored schema and every extension schema against their `UPSTREAM`
    /// records; with `--upstream`, also report drift against that copy (exit 1 on drift).
    Check {
        /// A copy to compare the vendored schema with: URL or local path.
        #[arg(long, value_name = "URL|PATH")]
        upstream: Option<String>,
    },
}

/// Why a `schema` command failed.
#[derive(Debug)]
pub enum VendorError {
    /// Bad command line.
    Usage(String),
    /// A file could not be read or written.
    Io {
        /// What was being done, naming the file.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A URL or file could not be fetched.
    Fetch(String),
    /// The input is not a DAP JSON schema.
    NotDapSchema(String),
    /// `schema/UPSTREAM` is malformed.
    Upstream(String),
    /// A vendored file does not match its `UPSTREAM` record (the base schema's or an
    /// extension's), or an extension's record is missing or malformed.
    Integrity(String),
}

impl fmt::Display for VendorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VendorError::Usage(m) => f.write_str(m),
            VendorError::Io { what, source } => write!(f, "{what}: {source}"),
            VendorError::Fetch(m) | VendorError::NotDapSchema(m) | VendorError::Integrity(m) => {
                f.write_str(m)
            }
            VendorError::Upstream(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for VendorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            VendorError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl VendorError {
    /// Process exit code for this error: 2 for usage errors, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            VendorError::Usage(_) => 2,
            _ => 1,
        }
    }
}

/// Result of a successful `schema` command.
#[derive(Debug)]
pub struct Outcome {
    /// Human-readable report for stdout.
    pub report: String,
    /// Process exit code: 0, or 1 when `check --upstream` found drift.
    pub code: u8,
}

/// Runs `dapkit-codegen schema <command>` on `layout`, printing the report.
pub fn run(layout: &Layout, command: &SchemaCommand) -> ExitCode {
    match execute(layout, command) {
        Ok(outcome) => {
            print!("{}", outcome.report);
            ExitCode::from(outcome.code)
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Like [`run`], but returns the report instead of printing it.
pub fn execute(layout: &Layout, command: &SchemaCommand) -> Result<Outcome, VendorError> {
    match command {
        SchemaCommand::Update {
            from,
            version,
            source,
        } => {
            if from.is_empty() {
                return Err(VendorError::Usage("--from needs a non-empty value".into()));
            }
            update(layout, from, version.as_deref(), source.as_deref())
        }
        SchemaCommand::Check { upstream } => check(layout, upstream.as_deref()),
    }
}

fn read(path: &Path) -> Result<Vec<u8>, VendorError> {
    std::fs::read(path).map_err(|source| VendorError::Io {
        what: format!("reading {}", path.display()),
        source,
    })
}

/// Writes via a temporary sibling file and a rename, so readers never see half a file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), VendorError> {
    let io = |what: String| move |source| VendorError::Io { what, source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, bytes).map_err(io(format!("writing {}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(io(format!("replacing {}", path.display())))
}

fn read_upstream(layout: &Layout) -> Result<Upstream, VendorError> {
    let rel = layout.upstream();
    let shown = show(&rel);
    let bytes = read(&layout.path(&rel))?;
    let text = String::from_utf8(bytes)
        .map_err(|_| VendorError::Upstream(format!("{shown}: not UTF-8 text")))?;
    Upstream::parse(&text).map_err(|e| match e {
        VendorError::Upstream(m) => VendorError::Upstream(format!("{shown}: {m}")),
        other => other,
    })
}

/// Describes where a fetched copy came from, without recording local directory paths.
fn describe_source(from: &str) -> String {
    if fetch::is_url(from) && !from.starts_with("file://") {
        format!("fetched from {from}")
    } else {
        let path = PathBuf::from(from.strip_prefix("file://").unwrap_or(from));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| from.to_owned());
        format!("copied from a local file named {name}")
    }
}

fn update(
    layout: &Layout,
    from: &str,
    version: Option<&str>,
    source: Option<&str>,
) -> Result<Outcome, VendorError> {
    let bytes = fetch::fetch(from, fetch::DEFAULT_LIMITS)?;
    let new_schema = schema::parse_dap_schema(&bytes, from)?;
    let schema_path = layout.path(&layout.schema);
    let upstream_path = layout.path(&layout.upstream());
    let (schema_file, upstream_file) = (show(&layout.schema), show(&layout.upstream()));
    let mut report = String::new();

    let previous_bytes = read(&schema_path).ok();
    let previous_record = match read_upstream(layout) {
        Ok(r) => Some(r),
        Err(e) => {
            if upstream_path.exists() {
                report.push_str(&format!("warning: ignoring previous record: {e}\n"));
            }
            None
        }
    };
    let new_sha = upstream::sha256_hex(&bytes);
    let unchanged_bytes = previous_bytes.as_deref() == Some(bytes.as_slice());
    let record_matches = previous_record.as_ref().is_some_and(|r| {
        r.sha256 == new_sha && version.is_none_or(|v| v == r.protocol_version) && source.is_none()
    });
    if unchanged_bytes && record_matches {
        report.push_str(&format!(
            "{schema_file} is already up to date (sha256 {new_sha})\n"
        ));
        return Ok(Outcome { report, code: 0 });
    }

    let protocol_version = version
        .map(str::to_owned)
        .or_else(|| previous_record.as_ref().map(|r| r.protocol_version.clone()))
        .unwrap_or_else(|| "unknown".into());
    let upstream_url = if from.starts_with("http://") || from.starts_with("https://") {
        from.to_owned()
    } else {
        previous_record
            .as_ref()
            .map(|r| r.upstream.clone())
            .unwrap_or_else(|| upstream::CANONICAL_URL.into())
    };
    let record = Upstream {
        upstream: upstream_url,
        protocol_version,
        sha256: new_sha.clone(),
        source: source.map_or_else(|| describe_source(from), str::to_owned),
        date: upstream::today_utc(),
    };

    write_atomic(&schema_path, &bytes)?;
    write_atomic(&upstream_path, record.to_json().as_bytes())?;

    report.push_str(&format!(
        "updated {schema_file} ({} bytes, {} definitions, sha256 {new_sha})\n",
        bytes.len(),
        schema::definition_count(&new_schema)
    ));
    report.push_str(&format!(
        "updated {upstream_file} (protocolVersion {}, date {})\n",
        record.protocol_version, record.date
    ));
    let previous_schema = previous_bytes
        .as_deref()
        .and_then(|b| schema::parse_dap_schema(b, &schema_file).ok());
    match previous_schema {
        Some(old) => {
            let d = drift::compare(&old, &new_schema);
            if old == new_schema {
                report.push_str("drift: none (same content as the previous copy)\n");
            } else {
                report.push_str(&format!("drift: {}\n", d.summary()));
                for line in &d.lines {
                    report.push_str(line);
                    report.push('\n');
                }
                if version.is_none() {
                    report.push_str(&format!(
                        "note: protocolVersion kept at {}; pass --version if upstream moved on\n",
                        record.protocol_version
                    ));
                }
            }
        }
        None => report.push_str("drift: no previous valid copy to compare with\n"),
    }
    report.push_str("next: cargo run -p dapkit-codegen -- generate\n");
    Ok(Outcome { report, code: 0 })
}

fn check(layout: &Layout, upstream_from: Option<&str>) -> Result<Outcome, VendorError> {
    let (schema_file, upstream_file) = (show(&layout.schema), show(&layout.upstream()));
    let bytes = read(&layout.path(&layout.schema))?;
    let record = read_upstream(layout)?;
    let actual = upstream::sha256_hex(&bytes);
    if actual != record.sha256 {
        return Err(VendorError::Integrity(format!(
            "sha256 mismatch: {schema_file} hashes to {actual} but {upstream_file} records {}; \
             restore the file, or re-vendor it with `schema update --from <URL|PATH>`",
            record.sha256
        )));
    }
    let vendored = schema::parse_dap_schema(&bytes, &schema_file)?;
    let mut report = format!(
        "ok: {schema_file} matches {upstream_file} (DAP {}, {} definitions, sha256 {actual})\n",
        record.protocol_version,
        schema::definition_count(&vendored)
    );
    for line in extensions::check(layout)? {
        report.push_str(&line);
        report.push('\n');
    }
    let Some(from) = upstream_from else {
        return Ok(Outcome { report, code: 0 });
    };
    let upstream_bytes = fetch::fetch(from, fetch::DEFAULT_LIMITS)?;
    let theirs = schema::parse_dap_schema(&upstream_bytes, from)?;
    let their_sha = upstream::sha256_hex(&upstream_bytes);
    if theirs == vendored {
        let how = if their_sha == actual {
            "byte-identical"
        } else {
            "same content, different formatting"
        };
        report.push_str(&format!("no drift: {from} is {how} (sha256 {their_sha})\n"));
        return Ok(Outcome { report, code: 0 });
    }
    let d = drift::compare(&vendored, &theirs);
    report.push_str(&format!(
        "drift: {from} (sha256 {their_sha}) differs from the vendored copy: {}\n",
        d.summary()
    ));
    for line in &d.lines {
        report.push_str(line);
        report.push('\n');
    }
    Ok(Outcome { report, code: 1 })
}
