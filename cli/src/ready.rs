//! The one JSON ready line a server-like subcommand prints on stdout once it accepts
//! connections: `{"ready": {"listen": "127.0.0.1:PORT", …}}`.

use serde_json::{Map, Value};
use std::io::Write;

/// The ready line: `listen` first, then the `extra` members in their map's order.
pub fn ready_line(listen: &str, extra: &Map<String, Value>) -> String {
    let mut line = format!(
        "{{\"ready\":{{\"listen\":{}",
        Value::String(listen.to_owned())
    );
    for (key, value) in extra {
        if key != "listen" {
            line.push_str(&format!(",{}:{value}", Value::String(key.clone())));
        }
    }
    line.push_str("}}");
    line
}

/// Prints the ready line and flushes.
pub fn print_ready(listen: &str, extra: Map<String, Value>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", ready_line(listen, &extra))?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_comes_first_and_the_line_is_json() {
        let mut extra = Map::new();
        extra.insert(
            "adapter".to_owned(),
            Value::String("connect \"x\"".to_owned()),
        );
        let line = ready_line("127.0.0.1:9", &extra);
        assert_eq!(
            line,
            r#"{"ready":{"listen":"127.0.0.1:9","adapter":"connect \"x\""}}"#
        );
        let parsed: Value = serde_json::from_str(&line).unwrap_or_default();
        assert_eq!(parsed["ready"]["adapter"], "connect \"x\"");
    }
}
