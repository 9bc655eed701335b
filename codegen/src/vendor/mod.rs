//! Schema vendoring: `dapkit-codegen schema update|check`.
//!
//! The vendored DAP schema lives in `<root>/schema/debugAdapterProtocol.json`, described by
//! `<root>/schema/UPSTREAM` (URL, protocol version, SHA-256, source, date).
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

/// Schema file, relative to the workspace root.
const SCHEMA_FILE: &str = "schema/debugAdapterProtocol.json";
/// Provenance record, relative to the workspace root.
const UPSTREAM_FILE: &str = "schema/UPSTREAM";

const USAGE: &str = "usage:
  dapkit-codegen schema update --from <URL|PATH> [--version X] [--source TEXT]
  dapkit-codegen schema check [--upstream <URL|PATH>]";

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
            VendorError::Usage(m) => write!(f, "{m}\n{USAGE}"),
            VendorError::Io { what, source } => write!(f, "{what}: {source}"),
            VendorError::Fetch(m) | VendorError::NotDapSchema(m) | VendorError::Integrity(m) => {
                f.write_str(m)
            }
            VendorError::Upstream(m) => write!(f, "{UPSTREAM_FILE}: {m}"),
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

/// Runs `dapkit-codegen schema <args>`; `root` is the workspace root.
pub fn run(root: &Path, args: &[String]) -> ExitCode {
    match execute(root, args) {
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
pub fn execute(root: &Path, args: &[String]) -> Result<Outcome, VendorError> {
    let Some((command, rest)) = args.split_first() else {
        return Err(VendorError::Usage("missing schema subcommand".into()));
    };
    match command.as_str() {
        "update" => {
            let opts = parse_options(rest, &["--from", "--version", "--source"])?;
            let from = opts.get("--from").ok_or_else(|| {
                VendorError::Usage("`schema update` needs --from <URL|PATH>".into())
            })?;
            update(
                root,
                from,
                opts.get("--version").map(String::as_str),
                opts.get("--source").map(String::as_str),
            )
        }
        "check" => {
            let opts = parse_options(rest, &["--upstream"])?;
            check(root, opts.get("--upstream").map(String::as_str))
        }
        "help" | "--help" | "-h" => Ok(Outcome {
            report: format!("{USAGE}\n"),
            code: 0,
        }),
        other => Err(VendorError::Usage(format!(
            "unknown schema subcommand `{other}`"
        ))),
    }
}

/// Parses `--name value` / `--name=value` pairs, each allowed at most once.
fn parse_options(
    args: &[String],
    allowed: &[&str],
) -> Result<std::collections::BTreeMap<String, String>, VendorError> {
    let mut out = std::collections::BTreeMap::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (arg.as_str(), None),
        };
        if !allowed.contains(&name) {
            return Err(VendorError::Usage(format!("unexpected argument `{arg}`")));
        }
        let value = match inline {
            Some(v) => v,
            None => iter
                .next()
                .cloned()
                .ok_or_else(|| VendorError::Usage(format!("{name} needs a value")))?,
        };
        if value.is_empty() {
            return Err(VendorError::Usage(format!(
                "{name} needs a non-empty value"
            )));
        }
        if out.insert(name.to_owned(), value).is_some() {
            return Err(VendorError::Usage(format!("{name} given twice")));
        }
    }
    Ok(out)
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

fn read_upstream(root: &Path) -> Result<Upstream, VendorError> {
    let bytes = read(&root.join(UPSTREAM_FILE))?;
    let text =
        String::from_utf8(bytes).map_err(|_| VendorError::Upstream("not UTF-8 text".into()))?;
    Upstream::parse(&text)
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
    root: &Path,
    from: &str,
    version: Option<&str>,
    source: Option<&str>,
) -> Result<Outcome, VendorError> {
    let bytes = fetch::fetch(from, fetch::DEFAULT_LIMITS)?;
    let new_schema = schema::parse_dap_schema(&bytes, from)?;
    let schema_path = root.join(SCHEMA_FILE);
    let mut report = String::new();

    let previous_bytes = read(&schema_path).ok();
    let previous_record = match read_upstream(root) {
        Ok(r) => Some(r),
        Err(e) => {
            if root.join(UPSTREAM_FILE).exists() {
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
            "{SCHEMA_FILE} is already up to date (sha256 {new_sha})\n"
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
    write_atomic(&root.join(UPSTREAM_FILE), record.to_json().as_bytes())?;

    report.push_str(&format!(
        "updated {SCHEMA_FILE} ({} bytes, {} definitions, sha256 {new_sha})\n",
        bytes.len(),
        schema::definition_count(&new_schema)
    ));
    report.push_str(&format!(
        "updated {UPSTREAM_FILE} (protocolVersion {}, date {})\n",
        record.protocol_version, record.date
    ));
    let previous_schema = previous_bytes
        .as_deref()
        .and_then(|b| schema::parse_dap_schema(b, SCHEMA_FILE).ok());
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

fn check(root: &Path, upstream_from: Option<&str>) -> Result<Outcome, VendorError> {
    let bytes = read(&root.join(SCHEMA_FILE))?;
    let record = read_upstream(root)?;
    let actual = upstream::sha256_hex(&bytes);
    if actual != record.sha256 {
        return Err(VendorError::Integrity(format!(
            "sha256 mismatch: {SCHEMA_FILE} hashes to {actual} but {UPSTREAM_FILE} records {}; \
             restore the file, or re-vendor it with `schema update --from <URL|PATH>`",
            record.sha256
        )));
    }
    let vendored = schema::parse_dap_schema(&bytes, SCHEMA_FILE)?;
    let mut report = format!(
        "ok: {SCHEMA_FILE} matches {UPSTREAM_FILE} (DAP {}, {} definitions, sha256 {actual})\n",
        record.protocol_version,
        schema::definition_count(&vendored)
    );
    for line in extensions::check(root)? {
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
