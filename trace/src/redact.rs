//! `--redact`: secrets out of a trace.
//!
//! Environment variables are where secrets live in a debug session (tokens, passwords in
//! `launch`/`attach` configurations, and in the `runInTerminal` request the adapter sends
//! to start the debuggee). [`redact`] replaces every value of those `env` objects with
//! `"<redacted>"` and leaves every other byte of the message as it was sent.

use dapkit_types::ProtocolMessage;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// What a redacted value becomes (a JSON string).
pub const REDACTED: &str = "<redacted>";

/// Where the `env` objects are, by request command: `launch`, `attach` and `runInTerminal`
/// have `arguments.env`; `startDebugging` carries a launch configuration in
/// `arguments.configuration`.
fn env_path(command: &str) -> Option<&'static [&'static str]> {
    match command {
        "launch" | "attach" | "runInTerminal" => Some(&["arguments", "env"]),
        "startDebugging" => Some(&["arguments", "configuration", "env"]),
        _ => None,
    }
}

/// The body with the values of its `env` replaced by `"<redacted>"`, when `body` is a
/// `launch`, `attach`, `runInTerminal` or `startDebugging` request that has an `env`
/// (an object: each value is replaced, keys kept; anything else: the whole value is
/// replaced). `None` when there is nothing to redact. Every other byte is kept as it was.
pub fn redact(body: &[u8]) -> Option<Vec<u8>> {
    // Cheap test first: no `env` key can hide in a body without these bytes.
    if memchr::memmem::find(body, b"env").is_none() && memchr::memmem::find(body, b"\\u").is_none()
    {
        return None;
    }
    let ProtocolMessage::Request(request) = ProtocolMessage::from_slice(body).ok()? else {
        return None;
    };
    let path = env_path(request.command()?)?;
    let text = std::str::from_utf8(body).ok()?;
    let mut spans = Vec::new();
    collect_spans(text, text, path, &mut spans);
    if spans.is_empty() {
        return None;
    }
    spans.sort_unstable();
    let mut out = Vec::with_capacity(body.len());
    let mut at = 0;
    for (start, end) in spans {
        if start < at {
            continue; // nested in a span already replaced
        }
        out.extend_from_slice(&body[at..start]);
        out.push(b'"');
        out.extend_from_slice(REDACTED.as_bytes());
        out.push(b'"');
        at = end;
    }
    out.extend_from_slice(&body[at..]);
    Some(out)
}

/// Byte ranges (in `whole`) of the values to replace: the members of the object at `path`
/// under `value`, or the value itself when it is not an object.
fn collect_spans(whole: &str, value: &str, path: &[&str], spans: &mut Vec<(usize, usize)>) {
    let Ok(Members(members)) = serde_json::from_str::<Members<'_>>(value) else {
        if path.is_empty() {
            spans.extend(span(whole, value));
        }
        return;
    };
    match path.split_first() {
        None => spans.extend(members.iter().filter_map(|(_, v)| span(whole, v.get()))),
        Some((first, rest)) => {
            // Every member of that name (a duplicate key must not leak a secret).
            for (key, member) in &members {
                if key == first {
                    collect_spans(whole, member.get(), rest, spans);
                }
            }
        }
    }
}

/// Where `part` (a sub-slice of `whole`) sits in `whole`.
fn span(whole: &str, part: &str) -> Option<(usize, usize)> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    let end = start + part.len();
    (end <= whole.len()).then_some((start, end))
}

/// The members of a JSON object in order, values borrowed raw from the input.
struct Members<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
                let mut members = Vec::new();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    members.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(V)
    }
}
