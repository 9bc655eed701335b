//! Replaying a trace: as a fake adapter that answers a live client from the recording
//! ([`AdapterReplay`]), or as a client that sends the recorded requests to a live adapter
//! ([`AgainstReplay`]). Both are plain state machines (messages in, messages out) with no
//! I/O; with the `tokio` feature, `serve_adapter` and `drive_adapter` run them over
//! any `AsyncRead`/`AsyncWrite`.
//!
//! The rules (how requests are matched, how events are ordered, which numbers are
//! handles) are documented in `trace/README.md`, section "Replay".
//!
//! A replay first loads one client's messages into a [`Script`]: replay needs to look
//! ahead (a request may match any recorded request of its command), so the script holds
//! that client's messages in memory: their text as recorded plus an index (a fake adapter
//! adds the normalized arguments of each request). The trace file is the bound; nothing a
//! live peer sends makes it grow.

mod adapter;
mod against;
mod edit;
mod handles;
#[cfg(feature = "tokio")]
mod io;
mod normalize;

pub use adapter::{AdapterOptions, AdapterReplay, Outgoing, Unanswered};
pub use against::{
    AWAITED_EVENTS, AgainstOptions, AgainstReplay, Divergence, Reaction, Step, Waiting,
};
pub use handles::{HandleKind, HandleMap};
#[cfg(feature = "tokio")]
pub use io::{AgainstReport, HOLD_GRACE, RunInTerminal, drive_adapter, serve_adapter};
pub use normalize::normalize_arguments;

use crate::{Direction, ReadError, Record, TraceReader};
use serde_json::Value;
use std::fmt;
use std::io::BufRead;

/// What a scripted message is, from its envelope.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A request (from the client, or a reverse request from the adapter).
    Request {
        /// Its `seq`.
        seq: i64,
        /// Its `command`.
        command: String,
    },
    /// A response.
    Response {
        /// The `seq` of the request it answers.
        request_seq: i64,
        /// Its `command`.
        command: String,
        /// Its `success`.
        success: bool,
    },
    /// An event.
    Event {
        /// Its `event`.
        event: String,
    },
}

/// One message of a [`Script`].
#[derive(Clone, Debug)]
pub struct Entry {
    /// The record number in the trace (1 is the first record after the header).
    pub record: u64,
    /// Which way it went.
    pub direction: Direction,
    /// The message, byte-exact as recorded (valid JSON).
    pub text: String,
    /// What it is.
    pub kind: Kind,
}

impl Entry {
    /// The command of a request or response, the event name of an event.
    pub fn name(&self) -> &str {
        match &self.kind {
            Kind::Request { command, .. } | Kind::Response { command, .. } => command,
            Kind::Event { event } => event,
        }
    }

    /// The message parsed (parsed again at each call: entries keep only the text).
    pub fn value(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// `record 12 (stackTrace)`.
    pub fn label(&self) -> String {
        format!("record {} ({})", self.record, self.name())
    }
}

/// The messages of one client of a trace, in recorded order, ready to replay.
#[derive(Clone, Debug)]
pub struct Script {
    entries: Vec<Entry>,
    client: u32,
    skipped: Vec<String>,
}

/// A trace that cannot be replayed: unreadable, or with nothing to replay.
#[derive(Debug)]
pub struct ScriptError {
    message: String,
}

impl fmt::Display for ScriptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScriptError {}

impl From<ReadError> for ScriptError {
    fn from(e: ReadError) -> ScriptError {
        ScriptError {
            message: e.to_string(),
        }
    }
}

impl Script {
    /// Reads the messages of `client` (by default the client of the first record) from a
    /// trace. Records that hold bytes rather than a message, and messages that are not DAP
    /// messages (no `type`, or a request without `command`), are skipped and listed in
    /// [`skipped`](Self::skipped); a bad record line is an error naming its line.
    pub fn read<R: BufRead>(
        mut reader: TraceReader<R>,
        client: Option<u32>,
    ) -> Result<Script, ScriptError> {
        let mut entries = Vec::new();
        let mut skipped = Vec::new();
        let mut chosen = client;
        let mut number = 0u64;
        while let Some(record) = reader.next_record()? {
            number += 1;
            let client = *chosen.get_or_insert(record.client);
            if record.client != client {
                continue;
            }
            match entry(number, &record) {
                Ok(entry) => entries.push(entry),
                Err(why) => skipped.push(format!("record {number}: {why}")),
            }
        }
        let client = chosen.unwrap_or(0);
        if entries.is_empty() {
            return Err(ScriptError {
                message: format!("the trace holds no DAP messages of client {client} to replay"),
            });
        }
        Ok(Script {
            entries,
            client,
            skipped,
        })
    }

    /// Builds a script from entries (for tests and tools that make their own).
    pub fn from_entries(entries: Vec<Entry>) -> Script {
        Script {
            entries,
            client: 0,
            skipped: Vec::new(),
        }
    }

    /// The messages, in recorded order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The client whose messages these are.
    pub fn client(&self) -> u32 {
        self.client
    }

    /// Records that were skipped, and why.
    pub fn skipped(&self) -> &[String] {
        &self.skipped
    }
}

/// Parses one record into an entry (the message text kept byte-exact).
fn entry(record: u64, r: &Record) -> Result<Entry, String> {
    let Some(text) = r.json() else {
        return Err(format!(
            "bytes that are not a message ({})",
            r.error().unwrap_or("not JSON")
        ));
    };
    let value: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let kind = kind_of(&value)?;
    Ok(Entry {
        record,
        direction: r.direction,
        text: text.into_owned(),
        kind,
    })
}

/// The kind of a DAP message, from its envelope.
pub(crate) fn kind_of(value: &Value) -> Result<Kind, String> {
    let str_of = |key: &str| value.get(key).and_then(Value::as_str);
    let int_of = |key: &str| value.get(key).and_then(Value::as_i64);
    match str_of("type") {
        Some("request") => Ok(Kind::Request {
            seq: int_of("seq").unwrap_or(0),
            command: str_of("command")
                .ok_or("a request without `command`")?
                .to_owned(),
        }),
        Some("response") => Ok(Kind::Response {
            request_seq: int_of("request_seq").ok_or("a response without `request_seq`")?,
            command: str_of("command").unwrap_or_default().to_owned(),
            success: value
                .get("success")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        }),
        Some("event") => Ok(Kind::Event {
            event: str_of("event")
                .ok_or("an event without `event`")?
                .to_owned(),
        }),
        Some(other) => Err(format!("a message of unknown type `{other}`")),
        None => Err("a JSON value that is not a DAP message (no `type`)".to_owned()),
    }
}

/// For every entry, the index of the entry that answers it (a request's response, found by
/// direction and `request_seq`; the first answer wins).
pub(crate) fn pair_responses(entries: &[Entry]) -> Vec<Option<usize>> {
    let mut answer = vec![None; entries.len()];
    let mut open: std::collections::HashMap<(Direction, i64), usize> =
        std::collections::HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        match &e.kind {
            Kind::Request { seq, .. } => {
                open.insert((e.direction, *seq), i);
            }
            Kind::Response { request_seq, .. } => {
                if let Some(req) = open.remove(&(e.direction.reverse(), *request_seq)) {
                    answer[req] = Some(i);
                }
            }
            Kind::Event { .. } => {}
        }
    }
    answer
}

#[cfg(test)]
#[allow(clippy::expect_used)]
pub(crate) fn entry_for_test(record: u64, direction: Direction, text: &str) -> Entry {
    let value: Value = serde_json::from_str(text).expect("test message is JSON");
    let kind = kind_of(&value).expect("test message is a DAP message");
    Entry {
        record,
        direction,
        text: text.to_owned(),
        kind,
    }
}
