//! Integrity of the vendored extension schemas: every directory
//! `schema/extensions/<feature>/` holds exactly one `.json` schema (the one `generate` reads
//! for that feature) and an `UPSTREAM` record whose `sha256` and `size` must match it.
//!
//! An extension's `UPSTREAM` is a JSON object with at least `sha256` (64 lower-case hex
//! digits) and `size` (bytes); `path` (the file's path upstream) is optional, and when given
//! its last component must be the vendored file's name. `package` and `version`, when given,
//! are shown in the report.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::VendorError;
use super::upstream::sha256_hex;
use crate::generate::{Layout, show};

/// The parts of an extension's `UPSTREAM` record that `schema check` uses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ExtensionRecord {
    sha256: String,
    size: u64,
    /// The file's path in the upstream package, if recorded.
    path: Option<String>,
    /// `package version`, if recorded, for the report.
    label: Option<String>,
}

impl ExtensionRecord {
    /// Parses an extension `UPSTREAM` text; `what` names the file in errors.
    fn parse(text: &str, what: &str) -> Result<Self, VendorError> {
        let bad = |why: String| VendorError::Integrity(format!("{what}: {why}"));
        let value: Value =
            serde_json::from_str(text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| bad("top level is not a JSON object".into()))?;
        let string = |name: &str| -> Result<Option<String>, VendorError> {
            match obj.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(format!("field `{name}` is not a string"))),
            }
        };
        let sha256 = string("sha256")?.ok_or_else(|| bad("field `sha256` is missing".into()))?;
        let hex_ok = sha256.len() == 64
            && sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex_ok {
            return Err(bad(format!(
                "field `sha256` is not 64 lower-case hex digits: {sha256:?}"
            )));
        }
        let size = match obj.get("size") {
            Some(v) => v
                .as_u64()
                .ok_or_else(|| bad(format!("field `size` is not a byte count: {v}")))?,
            None => return Err(bad("field `size` is missing".into())),
        };
        let label = match (string("package")?, string("version")?) {
            (Some(p), Some(v)) => Some(format!("{p} {v}")),
            (Some(p), None) => Some(p),
            (None, _) => None,
        };
        Ok(ExtensionRecord {
            sha256,
            size,
            path: string("path")?,
            label,
        })
    }
}

fn io_error(what: String) -> impl FnOnce(std::io::Error) -> VendorError {
    move |source| VendorError::Io { what, source }
}

/// Sorted entries of `dir` (as paths) that satisfy `keep`.
fn entries(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>, VendorError> {
    let mut out = Vec::new();
    let listing = std::fs::read_dir(dir).map_err(io_error(format!("listing {}", dir.display())))?;
    for entry in listing {
        let path = entry
            .map_err(io_error(format!("listing {}", dir.display())))?
            .path();
        if keep(&path) {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

fn file_name(path: &Path) -> Result<String, VendorError> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            VendorError::Integrity(format!("{}: name is not UTF-8 text", path.display()))
        })
}

/// Checks one extension directory; `Ok` holds the report line, `Err` the reason it fails.
fn check_one(layout: &Layout, feature: &str) -> Result<String, VendorError> {
    let rel = layout.extensions.join(feature);
    let dir = layout.path(&rel);
    let rel_dir = show(&rel);
    let upstream_rel = format!("{rel_dir}/UPSTREAM");
    let upstream_path = dir.join("UPSTREAM");
    if !upstream_path.is_file() {
        return Err(VendorError::Integrity(format!(
            "{upstream_rel} is missing: every extension schema needs a provenance record with \
             its sha256 and size"
        )));
    }
    let text = std::fs::read_to_string(&upstream_path)
        .map_err(io_error(format!("reading {upstream_rel}")))?;
    let record = ExtensionRecord::parse(&text, &upstream_rel)?;

    let json_files = entries(&dir, |p| {
        p.is_file() && p.extension().is_some_and(|x| x == "json")
    })?;
    let names = json_files
        .iter()
        .map(|p| file_name(p))
        .collect::<Result<Vec<String>, VendorError>>()?;
    let name = match names.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(VendorError::Integrity(format!(
                "{rel_dir}: no .json schema next to its UPSTREAM"
            )));
        }
        more => {
            return Err(VendorError::Integrity(format!(
                "{rel_dir}: {} .json files ({}), but UPSTREAM describes one",
                more.len(),
                more.join(", ")
            )));
        }
    };
    if let Some(upstream_path) = &record.path {
        let upstream_name = upstream_path.rsplit('/').next().unwrap_or(upstream_path);
        if upstream_name != name {
            return Err(VendorError::Integrity(format!(
                "{rel_dir}/{name}: {upstream_rel} records upstream path {upstream_path:?}, \
                 whose file name is not {name}"
            )));
        }
    }

    let file_rel = format!("{rel_dir}/{name}");
    let bytes = std::fs::read(dir.join(&name)).map_err(io_error(format!("reading {file_rel}")))?;
    let actual = sha256_hex(&bytes);
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if actual != record.sha256 || size != record.size {
        return Err(VendorError::Integrity(format!(
            "sha256 mismatch: {file_rel} hashes to {actual} ({size} bytes) but {upstream_rel} \
             records {} ({} bytes); restore the file byte-for-byte from upstream",
            record.sha256, record.size
        )));
    }
    let label = record.label.map(|l| format!("{l}, ")).unwrap_or_default();
    Ok(format!(
        "ok: {file_rel} matches {upstream_rel} ({label}{size} bytes, sha256 {actual})"
    ))
}

/// Checks every extension under the layout's extensions directory (none is fine).
///
/// Returns one `ok:` line per extension; if any extension fails, the error lists one line
/// per failing extension.
pub(crate) fn check(layout: &Layout) -> Result<Vec<String>, VendorError> {
    let dir = layout.path(&layout.extensions);
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for feature_dir in entries(&dir, Path::is_dir)? {
        let line = file_name(&feature_dir).and_then(|feature| check_one(layout, &feature));
        match line {
            Ok(line) => ok.push(line),
            Err(e) => failed.push(e.to_string()),
        }
    }
    if failed.is_empty() {
        Ok(ok)
    } else {
        Err(VendorError::Integrity(failed.join("\n")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "36628cfdb379b3aa3350f5c815cfd0df0eae9e4e997f585bd698328efc6fe103";

    fn parse_err(text: &str) -> String {
        ExtensionRecord::parse(text, "x/UPSTREAM")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn parses_a_record() {
        let text = format!(
            r#"{{"package":"debugpy","version":"1.8.22","path":"a/b.json","sha256":"{SHA}","size":10616}}"#
        );
        let rec = ExtensionRecord::parse(&text, "x/UPSTREAM").ok();
        assert_eq!(
            rec,
            Some(ExtensionRecord {
                sha256: SHA.into(),
                size: 10616,
                path: Some("a/b.json".into()),
                label: Some("debugpy 1.8.22".into()),
            })
        );
    }

    #[test]
    fn rejects_bad_records_naming_the_file_and_field() {
        assert!(parse_err("[").starts_with("x/UPSTREAM: not valid JSON"));
        assert!(parse_err(r#"{"size":1}"#).contains("`sha256` is missing"));
        let e = parse_err(r#"{"sha256":"ABC","size":1}"#);
        assert!(e.contains("not 64 lower-case hex digits"), "{e}");
        let e = parse_err(&format!(r#"{{"sha256":"{SHA}"}}"#));
        assert!(e.contains("`size` is missing"), "{e}");
        let e = parse_err(&format!(r#"{{"sha256":"{SHA}","size":"1"}}"#));
        assert!(e.contains("`size` is not a byte count"), "{e}");
        let e = parse_err(&format!(r#"{{"sha256":"{SHA}","size":1,"path":3}}"#));
        assert!(e.contains("`path` is not a string"), "{e}");
    }
}
