//! The one JSON ready line a server-like subcommand prints on stdout once it accepts
//! connections: `{"ready": {"listen": "127.0.0.1:PORT", …}}`.

use serde_json::{Map, Value};
use std::io::Write;

/// Prints the ready line (the listen address first, then `extra` members) and flushes.
pub fn print_ready(listen: &str, extra: Map<String, Value>) -> std::io::Result<()> {
    let mut ready = Map::new();
    ready.insert("listen".to_owned(), Value::String(listen.to_owned()));
    ready.extend(extra);
    let line = serde_json::json!({ "ready": ready });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()
}
