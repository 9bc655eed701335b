//! The records of a trace and how each is spelled as one JSON line.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::time::SystemTime;

/// The version of the trace format this crate writes, and the only one it reads.
pub const FORMAT_VERSION: u64 = 1;

/// The first line of a trace.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Header {
    /// The format version ([`FORMAT_VERSION`]), spelled `dapkitTrace`.
    #[serde(rename = "dapkitTrace")]
    pub version: u64,
    /// When the trace was started (RFC 3339).
    pub created: String,
    /// The program that wrote the trace, e.g. `dapkit 0.1.0`.
    pub tool: String,
    /// How the adapter was reached or started, e.g. `{"command": ["python", "-m", "debugpy.adapter"]}`
    /// or `{"connect": "127.0.0.1:5678"}`.
    #[serde(default)]
    pub adapter: Value,
    /// True when secrets were replaced by `"<redacted>"` while recording.
    #[serde(default, skip_serializing_if = "is_false")]
    pub redacted: bool,
    /// Other members, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl Header {
    /// A header for a trace created now by this version of dapkit.
    pub fn new(adapter: Value) -> Header {
        Header {
            version: FORMAT_VERSION,
            created: format_time(SystemTime::now()),
            tool: concat!("dapkit ", env!("CARGO_PKG_VERSION")).to_owned(),
            adapter,
            redacted: false,
            extra: Map::new(),
        }
    }

    /// Sets the name of the program writing the trace.
    pub fn with_tool(mut self, tool: impl Into<String>) -> Header {
        self.tool = tool.into();
        self
    }

    /// Marks the trace as redacted.
    pub fn with_redacted(mut self, redacted: bool) -> Header {
        self.redacted = redacted;
        self
    }
}

/// Which way a message went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// From the client (the editor) to the adapter, spelled `c2a`.
    #[serde(rename = "c2a")]
    ClientToAdapter,
    /// From the adapter to the client, spelled `a2c`.
    #[serde(rename = "a2c")]
    AdapterToClient,
}

impl Direction {
    /// `c2a` or `a2c`.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ClientToAdapter => "c2a",
            Direction::AdapterToClient => "a2c",
        }
    }

    /// The other direction.
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ClientToAdapter => Direction::AdapterToClient,
            Direction::AdapterToClient => Direction::ClientToAdapter,
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message's JSON text exactly as it was sent: one JSON value on one line, without
/// surrounding white space (so it can be embedded in a record as it is).
///
/// Made by [`RawJson::new`], which checks it, or by the trace reader, whose decoding of
/// each message checks it on the way (the text is not scanned twice).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RawJson(String);

impl RawJson {
    /// Checks that `text` is one JSON value on one line with no white space around it.
    pub fn new(text: impl Into<String>) -> Result<RawJson, serde_json::Error> {
        let text = text.into();
        check_embeddable(text.as_bytes())?;
        Ok(RawJson(text))
    }

    /// Text already known to be embeddable (checked by a JSON parse or a decoding).
    pub(crate) fn trusted(text: &str) -> RawJson {
        RawJson(text.into())
    }

    /// Replaces the text with `text`, already known to be embeddable, in the memory this
    /// one holds (no allocation when it fits).
    fn set_trusted(&mut self, text: &str) {
        self.0.clear();
        self.0.push_str(text);
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::fmt::Display for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `body` can be embedded as is: valid JSON, one line, no white space around it.
fn check_embeddable(body: &[u8]) -> Result<(), serde_json::Error> {
    use serde::de::Error as _;
    let raw = serde_json::from_slice::<&RawValue>(body)?;
    if body.contains(&b'\n') || body.contains(&b'\r') {
        return Err(serde_json::Error::custom(
            "the JSON text spans several lines",
        ));
    }
    // `from_slice` trims surrounding white space; the text must be exactly the value.
    if raw.get().len() != body.len() {
        return Err(serde_json::Error::custom(
            "the JSON text has white space around it",
        ));
    }
    Ok(())
}

/// What a record holds.
#[derive(Clone, Debug)]
pub enum Payload {
    /// A frame whose body is one line of valid JSON, embedded in the record as it was
    /// sent (never re-encoded).
    Message(RawJson),
    /// Bytes that could not be embedded as JSON, kept as base64: with `error: None` a
    /// frame whose body is valid JSON but spans several lines; otherwise a frame whose
    /// body is not valid JSON, or bytes between frames that are not a frame, and why.
    Bytes {
        /// The bytes as they were on the wire.
        bytes: Vec<u8>,
        /// Why they are not a message, if they are not.
        error: Option<String>,
    },
}

/// One message (or run of bytes) of a trace.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Record {
    /// Wall-clock time the bytes were seen (RFC 3339 with microseconds).
    pub time: String,
    /// Microseconds since the trace started, from a monotonic clock.
    pub offset_us: u64,
    /// Which way the bytes went.
    pub direction: Direction,
    /// Which client: 0 when there is one; the proxy numbers its clients from 1.
    pub client: u32,
    /// The message or bytes.
    pub payload: Payload,
}

impl Record {
    /// A record of a frame body as it was sent. A body that is one line of valid JSON is
    /// embedded as is; any other body is kept as base64 (with the JSON error, if any).
    pub fn from_body(
        time: String,
        offset_us: u64,
        direction: Direction,
        client: u32,
        body: &[u8],
    ) -> Record {
        Record {
            time,
            offset_us,
            direction,
            client,
            payload: Payload::from_body(body),
        }
    }

    /// The bytes as they were on the wire (the frame body, or the bytes that were not a
    /// frame).
    pub fn bytes(&self) -> Cow<'_, [u8]> {
        match &self.payload {
            Payload::Message(raw) => Cow::Borrowed(raw.get().as_bytes()),
            Payload::Bytes { bytes, .. } => Cow::Borrowed(bytes),
        }
    }

    /// The message as JSON text, when the record holds valid JSON (embedded, or kept as
    /// bytes because it spans several lines).
    pub fn json(&self) -> Option<Cow<'_, str>> {
        match &self.payload {
            Payload::Message(raw) => Some(Cow::Borrowed(raw.get())),
            Payload::Bytes { bytes, error: None } => {
                std::str::from_utf8(bytes).ok().map(Cow::Borrowed)
            }
            Payload::Bytes { .. } => None,
        }
    }

    /// Why the bytes are not a message, for records that hold bytes that are not valid JSON.
    pub fn error(&self) -> Option<&str> {
        match &self.payload {
            Payload::Bytes { error, .. } => error.as_deref(),
            Payload::Message(_) => None,
        }
    }

    /// The record as one JSON line, without the line end.
    pub fn to_line(&self) -> String {
        let (bytes, error) = match &self.payload {
            Payload::Message(_) => (None, None),
            Payload::Bytes { bytes, error } => (Some(BASE64.encode(bytes)), error.as_deref()),
        };
        let line = RecordLine {
            time: Cow::Borrowed(&self.time),
            offset_us: self.offset_us,
            dir: self.direction,
            client: self.client,
            msg: None,
            bytes: bytes.map(Cow::Owned),
            error: error.map(Cow::Borrowed),
        };
        // Every member is a string or a number: this cannot fail.
        let mut text = serde_json::to_string(&line).unwrap_or_default();
        if let Payload::Message(raw) = &self.payload {
            // `msg` comes last (the order of `RecordLine`), embedded as it is.
            text.pop();
            text.reserve(raw.get().len() + 8);
            text.push_str(",\"msg\":");
            text.push_str(raw.get());
            text.push('}');
        }
        text
    }

    /// This record made the record of a message line's parts, reusing its memory (the
    /// time's and the message's, when it held one): the reader's path for callers that
    /// keep one record across many lines.
    pub(crate) fn refill(&mut self, parts: &LineParts<'_>) {
        self.time.clear();
        self.time.push_str(parts.time);
        self.offset_us = parts.offset_us;
        self.direction = parts.direction;
        self.client = parts.client;
        match &mut self.payload {
            Payload::Message(raw) => raw.set_trusted(parts.msg),
            other => *other = Payload::Message(RawJson::trusted(parts.msg)),
        }
    }

    /// A record of nothing (no bytes, no time), to be read into: allocates nothing.
    pub(crate) fn blank() -> Record {
        Record {
            time: String::new(),
            offset_us: 0,
            direction: Direction::ClientToAdapter,
            client: 0,
            payload: Payload::Bytes {
                bytes: Vec::new(),
                error: None,
            },
        }
    }

    /// Parses one record line. The error is a short description, without line number.
    pub(crate) fn from_line(line: &str) -> Result<Record, String> {
        let parsed: RecordLine<'_> =
            serde_json::from_str(line).map_err(|e| format!("not a trace record: {e}"))?;
        let payload = match (parsed.msg, parsed.bytes) {
            (Some(raw), None) => {
                if parsed.error.is_some() {
                    return Err("a record with `msg` has no `error`".to_owned());
                }
                Payload::Message(RawJson::trusted(raw.get()))
            }
            (None, Some(text)) => Payload::Bytes {
                bytes: BASE64
                    .decode(text.as_bytes())
                    .map_err(|e| format!("`bytes` is not base64: {e}"))?,
                error: parsed.error.map(Cow::into_owned),
            },
            (Some(_), Some(_)) => return Err("a record has both `msg` and `bytes`".to_owned()),
            (None, None) => return Err("a record has neither `msg` nor `bytes`".to_owned()),
        };
        Ok(Record {
            time: parsed.time.into_owned(),
            offset_us: parsed.offset_us,
            direction: parsed.dir,
            client: parsed.client,
            payload,
        })
    }
}

impl Payload {
    /// Chooses how to keep a frame body: embedded when it is one line of valid JSON.
    pub fn from_body(body: &[u8]) -> Payload {
        match serde_json::from_slice::<&RawValue>(body) {
            Ok(raw) if !body.contains(&b'\n') && !body.contains(&b'\r') => {
                // `from_slice` trims surrounding white space; keep the body exactly.
                if raw.get().len() == body.len() {
                    Payload::Message(RawJson::trusted(raw.get()))
                } else {
                    Payload::Bytes {
                        bytes: body.to_vec(),
                        error: None,
                    }
                }
            }
            Ok(_) => Payload::Bytes {
                bytes: body.to_vec(),
                error: None,
            },
            Err(e) => Payload::Bytes {
                bytes: body.to_vec(),
                error: Some(format!("body is not valid JSON: {e}")),
            },
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecordLine<'a> {
    #[serde(borrow)]
    time: Cow<'a, str>,
    offset_us: u64,
    dir: Direction,
    #[serde(default)]
    client: u32,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    msg: Option<&'a RawValue>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    bytes: Option<Cow<'a, str>>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    error: Option<Cow<'a, str>>,
}

/// RFC 3339 with microseconds, in UTC: `2026-11-26T13:30:00.123456Z`.
pub fn format_time(time: SystemTime) -> String {
    humantime::format_rfc3339_micros(time).to_string()
}

/// A message record's members, borrowed from its line: what [`split_line`] finds.
pub(crate) struct LineParts<'a> {
    pub(crate) time: &'a str,
    pub(crate) offset_us: u64,
    pub(crate) direction: Direction,
    pub(crate) client: u32,
    /// The embedded message, not checked.
    pub(crate) msg: &'a str,
}

/// The members of a message record spelled exactly as [`Record::to_line`] writes them
/// (`{"time":"…","offsetUs":N,"dir":"c2a","client":N,"msg":…}`), without parsing the
/// message: the caller's decoding of `msg` checks it, and a line this declines (any other
/// spelling) is parsed in full instead. Nothing is decided here that the full parse would
/// decide otherwise: a `msg` followed by other members is not a JSON value, so decoding
/// it fails and the line goes to the full parse.
pub(crate) fn split_line(line: &str) -> Option<LineParts<'_>> {
    let rest = line.strip_prefix(r#"{"time":""#)?;
    // The time ends at the first `"`; a `\` before it (an escape) is for the full parse.
    let end = memchr::memchr2(b'"', b'\\', rest.as_bytes())?;
    if rest.as_bytes()[end] != b'"' {
        return None;
    }
    let time = &rest[..end];
    let rest = rest[end..].strip_prefix(r#"","offsetUs":"#)?;
    let (offset_us, rest) = number(rest)?;
    let rest = rest.strip_prefix(r#","dir":""#)?;
    let (direction, rest) = if let Some(r) = rest.strip_prefix("c2a") {
        (Direction::ClientToAdapter, r)
    } else {
        (Direction::AdapterToClient, rest.strip_prefix("a2c")?)
    };
    let rest = rest.strip_prefix(r#"","client":"#)?;
    let (client, rest) = number(rest)?;
    let client = u32::try_from(client).ok()?;
    let msg = rest.strip_prefix(r#","msg":"#)?.strip_suffix('}')?;
    let (first, last) = (msg.as_bytes().first()?, msg.as_bytes().last()?);
    if first.is_ascii_whitespace() || last.is_ascii_whitespace() {
        return None;
    }
    Some(LineParts {
        time,
        offset_us,
        direction,
        client,
        msg,
    })
}

/// A JSON integer at the start of `text` (no sign, no leading zero, fits in `u64`).
fn number(text: &str) -> Option<(u64, &str)> {
    let bytes = text.as_bytes();
    let mut n: u64 = 0;
    let mut digits = 0;
    while let Some(d) = bytes.get(digits).filter(|b| b.is_ascii_digit()) {
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        digits += 1;
    }
    if digits == 0 || (digits > 1 && bytes[0] == b'0') {
        return None;
    }
    Some((n, &text[digits..]))
}
