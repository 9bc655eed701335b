//! Shared helpers for dapkit's cross-crate tests and benches: locating the workspace, the
//! recorded traffic fixtures, and splitting them into frames.

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

/// One recorded stream: a session and the side that sent it.
#[derive(Clone, Debug)]
pub struct Stream {
    /// Session directory name (`debugpy-launch`, ...).
    pub session: String,
    /// `from-client` or `from-adapter`.
    pub side: String,
    /// The frames' bodies, in order.
    pub bodies: Vec<Vec<u8>>,
    /// The stream's raw bytes, headers included.
    pub raw: Vec<u8>,
}

/// Every recorded stream under `tests/fixtures/traffic/`, sorted by session and side.
///
/// Fails (with the path) if the directory is missing or a file does not frame cleanly.
pub fn traffic() -> Result<Vec<Stream>, String> {
    let dir = workspace_root().join("tests/fixtures/traffic");
    let mut sessions: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    sessions.sort();
    let mut out = Vec::new();
    for session in sessions {
        for side in ["from-client", "from-adapter"] {
            let path = session.join(format!("{side}.dap"));
            let raw = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let bodies = split_frames(&raw).map_err(|e| format!("{}: {e}", path.display()))?;
            out.push(Stream {
                session: session
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                side: side.to_owned(),
                bodies,
                raw,
            });
        }
    }
    if out.is_empty() {
        return Err(format!("no recorded sessions under {}", dir.display()));
    }
    Ok(out)
}

/// Splits a Content-Length framed stream into bodies with dapkit-wireformat.
pub fn split_frames(raw: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut reader = dapkit_wireformat::FrameReader::new(raw);
    let mut bodies = Vec::new();
    loop {
        match reader.read_frame() {
            Ok(Some(frame)) => bodies.push(frame.to_vec()),
            Ok(None) => return Ok(bodies),
            Err(e) => return Err(e.to_string()),
        }
    }
}

/// Joins `description`s written as arrays of lines (as debugpy's extension schema does) into
/// strings: the draft-04 meta-schema rejects arrays there, and descriptions are annotations
/// only, so nothing that validation checks changes.
pub fn join_descriptions(node: &mut serde_json::Value) {
    use serde_json::Value;
    match node {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                match v {
                    Value::Array(lines) if k == "description" => {
                        let text: Vec<&str> = lines.iter().filter_map(Value::as_str).collect();
                        *v = Value::String(text.join("\n"));
                    }
                    _ => join_descriptions(v),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(join_descriptions),
        _ => {}
    }
}

/// The Rust examples of the root README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
