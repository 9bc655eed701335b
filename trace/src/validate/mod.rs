//! Checking a trace: every message against the schema (through dapkit-types' decoding and
//! [`Validate`](dapkit_types::Validate)) and the session against the protocol's rules, each
//! finding under a stable rule id ([`RULES`]).
//!
//! Validation streams: [`Validator::check`] takes one [`Entry`] at a time (as
//! [`Timeline`] gives them) and its state is bounded — per client a few flags, two
//! capability sets of at most [`MAX_CAPABILITIES`] names, and one deferred finding; at most
//! [`MAX_CLIENTS`] clients are followed. Request/response pairing is [`Timeline`]'s
//! ([`Pairing`](crate::summary::Pairing), bounded by its limit).
//!
//! ```
//! use dapkit_trace::validate::{Severity, validate};
//! use dapkit_trace::{Direction, Header, TraceReader, TraceWriter};
//!
//! let mut file = Vec::new();
//! let mut w = TraceWriter::new(&mut file, &Header::new(serde_json::Value::Null))?;
//! w.message(Direction::ClientToAdapter, 0, br#"{"seq":1,"type":"request","command":"threads"}"#)?;
//! drop(w);
//!
//! let mut findings = Vec::new();
//! validate(TraceReader::new(&file[..])?, |f| findings.push(f))?;
//! let rules: Vec<&str> = findings.iter().map(|f| f.rule).collect();
//! assert_eq!(rules, ["initialize-first", "request-unanswered"]);
//! assert!(findings.iter().all(|f| f.severity == Severity::Error));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod capabilities;
mod session;

pub use capabilities::{GATES, Gate, gate};
pub use session::{MAX_CAPABILITIES, MAX_CLIENTS, Validator};

use crate::summary::{Entry, Timeline};
use crate::{ReadError, ReadErrorKind, TraceReader};
use serde::Serialize;
use std::fmt;
use std::io::BufRead;

/// How bad a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A known real-world quirk: peers cope with it, but it breaks the protocol's letter.
    Warning,
    /// The protocol is broken.
    Error,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A validation rule: its stable id, its severity and what it checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    /// The stable id (`seq-not-increasing`), used by `--allow`.
    pub id: &'static str,
    /// The severity of its findings.
    pub severity: Severity,
    /// What it checks, in one sentence.
    pub description: &'static str,
}

macro_rules! rules {
    ($($name:ident = $id:literal, $sev:ident, $desc:literal;)*) => {
        /// The ids of the rules, as constants.
        pub mod ids {
            $(#[doc = $desc] pub const $name: &str = $id;)*
        }
        /// Every rule, errors first.
        pub const RULES: &[Rule] = &[$(Rule { id: $id, severity: Severity::$sev, description: $desc }),*];
    };
}

rules! {
    UNREADABLE = "unreadable-record", Error, "A line of the trace is not a readable record (or the trace ends inside one).";
    INVALID_MESSAGE = "invalid-message", Error, "The bytes of a record are not a JSON object (a frame that is not JSON, or junk between frames).";
    SCHEMA = "schema", Error, "A message breaks the DAP schema (named by its JSON pointer path).";
    INITIALIZE_FIRST = "initialize-first", Error, "The client's first request is `initialize`.";
    SEQ_NOT_INCREASING = "seq-not-increasing", Error, "Each side's `seq` is strictly increasing.";
    RESPONSE_UNKNOWN_REQUEST = "response-unknown-request", Error, "A response answers a request that was sent (its `request_seq` names one).";
    RESPONSE_DUPLICATE = "response-duplicate", Error, "A request is answered only once.";
    RESPONSE_COMMAND_MISMATCH = "response-command-mismatch", Error, "A response carries the `command` of the request it answers.";
    REQUEST_UNANSWERED = "request-unanswered", Error, "Every request is answered before the trace ends.";
    INITIALIZED_EARLY = "initialized-before-initialize-response", Error, "The `initialized` event comes only after the `initialize` response.";
    LAUNCH_BEFORE_CONFIGURATION_DONE = "launch-before-configuration-done", Error, "Where the client sends `configurationDone`, `launch`/`attach` is answered only after it.";
    REVERSE_REQUEST_CAPABILITY = "reverse-request-without-capability", Error, "A reverse request (`runInTerminal`, `startDebugging`) is sent only if the client declared its capability in `initialize`.";
    CAPABILITY_NOT_ADVERTISED = "request-without-capability", Error, "A request gated by a capability is sent only when the adapter advertised it.";
    SEQ_ZERO = "quirk-seq-zero", Warning, "`seq` is 0 (lldb-dap and delve send 0 on every message); reported once per side.";
    ERROR_WITHOUT_BODY = "quirk-error-response-without-body", Warning, "A failed response has no `body` (the schema requires one; debugpy and gdb omit it).";
    START_METHOD_PROCESS = "quirk-start-method-process", Warning, "The `process` event's `startMethod` is \"process\" (gdb sends it; the schema's values are launch, attach, attachForSuspendedLaunch).";
    THREAD_ID_STAR = "quirk-thread-id-star", Warning, "`threadId` is the string \"*\" (meaning all threads) instead of a number.";
    PAIRING_LIMIT = "pairing-limit", Warning, "More requests waited for an answer than the validator follows; the oldest were forgotten.";
    TOO_MANY_CLIENTS = "too-many-clients", Warning, "More clients than the validator follows; the others' session rules are not checked.";
}

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// One thing validation found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Finding {
    /// How bad it is.
    pub severity: Severity,
    /// The rule id (one of [`RULES`]).
    pub rule: &'static str,
    /// The record it is about (from 1), when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
    /// The line of the trace that record is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The message's `seq`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    /// The message's command or event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// The JSON pointer into the message, for schema findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl Finding {
    /// A finding of `rule` (its severity from [`RULES`]) about an entry.
    pub fn at(rule: &'static str, entry: &Entry, message: impl Into<String>) -> Finding {
        Finding {
            severity: severity_of(rule),
            rule,
            record: Some(entry.number),
            line: Some(entry.line),
            seq: entry.facts.seq,
            command: entry.facts.name().map(str::to_owned),
            path: None,
            message: message.into(),
        }
    }

    /// A finding of `rule` about the trace as a whole, or about no single record.
    pub fn general(rule: &'static str, message: impl Into<String>) -> Finding {
        Finding {
            severity: severity_of(rule),
            rule,
            record: None,
            line: None,
            seq: None,
            command: None,
            path: None,
            message: message.into(),
        }
    }
}

fn severity_of(id: &str) -> Severity {
    rule(id).map_or(Severity::Error, |r| r.severity)
}

impl fmt::Display for Finding {
    /// `error[seq-not-increasing] record 12 (seq 5 setBreakpoints): …` on one line: control
    /// characters a peer sent (in a command, in the message) are spelled as escapes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write as _;
        let f = &mut crate::text::Escaping(f);
        write!(f, "{}[{}]", self.severity.as_str(), self.rule)?;
        match (self.record, self.line) {
            (Some(r), _) => write!(f, " record {r}")?,
            (None, Some(l)) => write!(f, " line {l}")?,
            (None, None) => {}
        }
        match (self.seq, &self.command) {
            (Some(s), Some(c)) => write!(f, " (seq {s} {c})")?,
            (Some(s), None) => write!(f, " (seq {s})")?,
            (None, Some(c)) => write!(f, " ({c})")?,
            (None, None) => {}
        }
        write!(f, ": {}", self.message)
    }
}

/// Counts of a validation run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Stats {
    /// Records read.
    pub records: u64,
    /// Findings of severity error.
    pub errors: u64,
    /// Findings of severity warning.
    pub warnings: u64,
}

/// What [`validate_each`] passes on, in trace order.
#[derive(Debug)]
pub enum Step<'a> {
    /// A record as it is read (before the findings about it).
    Entry(&'a Entry),
    /// A finding: about the entry just passed on, an earlier one, or the trace as a whole.
    Finding(Finding),
}

/// Validates a whole trace, streaming, passing each finding to `sink` as it is found.
///
/// Bad lines and a trace that ends inside a record are findings ([`ids::UNREADABLE`]);
/// only an I/O error stops the reading (`Err`). The returned counts include every finding.
pub fn validate<R: BufRead>(
    reader: TraceReader<R>,
    mut sink: impl FnMut(Finding),
) -> Result<Stats, ReadError> {
    validate_each(reader, |step| {
        if let Step::Finding(f) = step {
            sink(f);
        }
    })
}

/// Like [`validate`], also passing on every entry as it is read (before its findings): one
/// streaming pass for views that show the records with what validation found.
pub fn validate_each<R: BufRead>(
    reader: TraceReader<R>,
    mut visit: impl FnMut(Step<'_>),
) -> Result<Stats, ReadError> {
    let mut timeline = Timeline::new(reader);
    let mut validator = Validator::new();
    let mut stats = Stats::default();
    let mut emit = |f: Finding, visit: &mut dyn FnMut(Step<'_>)| {
        match f.severity {
            Severity::Error => stats.errors += 1,
            Severity::Warning => stats.warnings += 1,
        }
        visit(Step::Finding(f));
    };
    loop {
        match timeline.next_ref() {
            Ok(Some(entry)) => {
                visit(Step::Entry(entry));
                validator.check(entry, &mut |f| emit(f, &mut visit));
            }
            Ok(None) => break,
            Err(e) if e.is_recoverable() || e.kind() == ReadErrorKind::Truncated => {
                let mut f = Finding::general(ids::UNREADABLE, e.message());
                f.line = Some(e.line());
                emit(f, &mut visit);
                if !e.is_recoverable() {
                    break;
                }
            }
            Err(e) => return Err(e),
        }
    }
    let records = validator.records();
    validator.finish(timeline.pairing(), &mut |f| emit(f, &mut visit));
    stats.records = records;
    Ok(stats)
}
