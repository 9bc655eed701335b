//! What each record of a trace is, which request each response answers, and a one-line
//! summary a person can read: the library behind `dapkit show` (and the HTML viewer).
//!
//! Each record is decoded once with `dapkit-types` ([`ProtocolMessage::from_slice`]); its
//! [`Facts`] (kind, `seq`, command or event, `request_seq`, success, error message) come
//! from that one decoding. [`Pairing`] matches responses to requests by direction, client
//! and `request_seq`, keeping at most [`Pairing::DEFAULT_LIMIT`] requests waiting for an
//! answer. [`Timeline`] streams a trace as [`Entry`]s, each with its facts, its pairing and
//! its [`Summary`]:
//!
//! ```
//! use dapkit_trace::summary::Timeline;
//! use dapkit_trace::{Direction, Header, TraceReader, TraceWriter};
//!
//! let mut file = Vec::new();
//! let mut w = TraceWriter::new(&mut file, &Header::new(serde_json::Value::Null))?;
//! w.message(Direction::ClientToAdapter, 0, br#"{"seq":12,"type":"request","command":"setBreakpoints","arguments":{"source":{"path":"/src/app.py"},"breakpoints":[{"line":12},{"line":20}]}}"#)?;
//! w.message(Direction::AdapterToClient, 0, br#"{"seq":30,"type":"response","request_seq":12,"success":true,"command":"setBreakpoints","body":{"breakpoints":[{"verified":true},{"verified":true}]}}"#)?;
//! drop(w);
//!
//! let mut timeline = Timeline::new(TraceReader::new(&file[..])?);
//! let request = timeline.next().expect("a record")?;
//! assert_eq!(request.summary().to_string(), "→ 12 setBreakpoints app.py [12, 20]");
//! let response = timeline.next().expect("a record")?;
//! assert_eq!(response.pair().map(|p| p.request_record), Some(1));
//! assert!(response.summary().to_string().starts_with("← 12 setBreakpoints ok: 2 verified ("));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::{Direction, Payload, ReadError, Record, TraceReader};
use dapkit_types::{Event, ProtocolMessage, Request, Response};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::fmt::{self, Write as _};
use std::io::BufRead;

/// What kind of record it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `"type": "request"`.
    Request,
    /// `"type": "response"`.
    Response,
    /// `"type": "event"`.
    Event,
    /// A JSON object whose `type` is missing or unknown.
    Other,
    /// Bytes that are not a JSON object (not JSON, or JSON of another shape).
    Invalid,
}

impl Kind {
    /// `request`, `response`, `event`, `other` or `invalid`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Request => "request",
            Kind::Response => "response",
            Kind::Event => "event",
            Kind::Other => "other",
            Kind::Invalid => "invalid",
        }
    }
}

/// A command or event name: borrowed for the names dapkit-types knows, owned for others.
pub type Name = Cow<'static, str>;

fn name(known: Option<&'static str>, any: Option<&str>) -> Option<Name> {
    match known {
        Some(k) => Some(Cow::Borrowed(k)),
        None => any.map(|n| Cow::Owned(n.to_owned())),
    }
}

/// The envelope facts of one record, from its one decoding.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Facts {
    /// What kind of record.
    pub kind: Kind,
    /// The message's `seq`.
    pub seq: Option<i64>,
    /// The `command` of a request or response.
    pub command: Option<Name>,
    /// The `event` name of an event.
    pub event: Option<Name>,
    /// The `request_seq` of a response.
    pub request_seq: Option<i64>,
    /// The `success` of a response.
    pub success: Option<bool>,
    /// Why a response failed (its error text or `message`), or why bytes are not a message.
    pub message: Option<String>,
}

impl Facts {
    fn invalid(message: String) -> Facts {
        Facts {
            kind: Kind::Invalid,
            seq: None,
            command: None,
            event: None,
            request_seq: None,
            success: None,
            message: Some(message),
        }
    }

    /// The facts of a decoded message.
    pub fn of(message: &ProtocolMessage) -> Facts {
        let mut facts = Facts {
            kind: Kind::Other,
            seq: message.seq(),
            command: None,
            event: None,
            request_seq: None,
            success: None,
            message: None,
        };
        match message {
            ProtocolMessage::Request(r) => {
                facts.kind = Kind::Request;
                facts.command = name(r.known_name(), r.command());
            }
            ProtocolMessage::Response(r) => {
                facts.kind = Kind::Response;
                facts.command = name(r.known_name(), r.command());
                facts.request_seq = r.request_seq();
                facts.success = Some(r.success());
                if !r.success() {
                    facts.message = error_text(r);
                }
            }
            ProtocolMessage::Event(e) => {
                facts.kind = Kind::Event;
                facts.event = name(e.known_name(), e.event());
            }
            ProtocolMessage::Custom(raw) => {
                facts.command = name(None, raw.command());
                facts.event = name(None, raw.event_name());
            }
        }
        facts
    }

    /// The command or event name, if any.
    pub fn name(&self) -> Option<&str> {
        self.command.as_deref().or(self.event.as_deref())
    }
}

/// The text a failed response gives: its error message (`body.error.format`, with its
/// `{variables}` filled in) or its `message`.
fn error_text(response: &Response) -> Option<String> {
    match response {
        Response::Error(e) => {
            if let Some(m) = e.body.as_ref().and_then(|b| b.error.as_ref()) {
                let mut text = m.format.clone();
                if let Some(vars) = &m.variables {
                    for (k, v) in vars {
                        text = text.replace(&format!("{{{k}}}"), v);
                    }
                }
                return Some(text);
            }
            e.message.as_ref().map(|m| m.as_str().to_owned())
        }
        Response::Custom(raw) => raw
            .0
            .get("message")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned),
        _ => None,
    }
}

/// A record decoded: the message, or why its bytes are not one.
pub fn decode(record: &Record) -> Result<ProtocolMessage, String> {
    match &record.payload {
        Payload::Message(raw) => {
            ProtocolMessage::from_slice(raw.get().as_bytes()).map_err(|e| e.to_string())
        }
        Payload::Bytes { bytes, error: None } => {
            ProtocolMessage::from_slice(bytes).map_err(|e| e.to_string())
        }
        Payload::Bytes {
            bytes,
            error: Some(error),
        } => Err(format!(
            "{} bytes that are not a message: {error}",
            bytes.len()
        )),
    }
}

/// The request a response answers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pair {
    /// The record number of the request.
    pub request_record: u64,
    /// Microseconds from the request to the response (0 if the clock went back).
    pub latency_us: u64,
    /// The request's command.
    pub command: Option<Name>,
}

/// What [`Pairing`] made of a response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// It answers a waiting request.
    Paired(Pair),
    /// It answers a request that was already answered (by the response at `first`).
    Duplicate {
        /// The record number of the first response.
        first: u64,
    },
    /// No request with its `request_seq` was sent (or it was forgotten, see
    /// [`Pairing::evicted`]).
    Unknown,
}

/// A request waiting for its response.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pending {
    /// The request's record number.
    pub record: u64,
    /// The request's offset.
    pub offset_us: u64,
    /// Its `seq`.
    pub seq: i64,
    /// The direction it went.
    pub direction: Direction,
    /// The client.
    pub client: u32,
    /// Its command.
    pub command: Option<Name>,
}

type Key = (u32, Direction, i64);

/// The pairing maps: foldhash, seeded per process, instead of SipHash (a lookup per
/// record is on the hot path of every tool; the maps are bounded, see [`Pairing`]).
type Map<V> = HashMap<Key, V, foldhash::fast::RandomState>;

/// Keys in the order they were added, with lazy removal: an entry whose record no longer
/// matches the map is stale and skipped; stale entries are dropped when they outnumber the
/// live ones, so the queue stays within twice the map's bound.
#[derive(Debug, Default)]
struct Order(VecDeque<(u64, Key)>);

impl Order {
    fn push(&mut self, record: u64, key: Key, live: usize, is_live: impl Fn(u64, &Key) -> bool) {
        self.0.push_back((record, key));
        if self.0.len() > 2 * live.max(16) {
            self.0.retain(|(r, k)| is_live(*r, k));
        }
    }

    /// The oldest live entry, taken out.
    fn pop_oldest(&mut self, is_live: impl Fn(u64, &Key) -> bool) -> Option<Key> {
        while let Some((r, k)) = self.0.pop_front() {
            if is_live(r, &k) {
                return Some(k);
            }
        }
        None
    }
}

/// Matches responses to requests by client, direction and `request_seq`, streaming.
///
/// Memory is bounded: at most `limit` requests wait for an answer and at most `limit`
/// answered requests are remembered (to tell a second answer from an answer to nothing);
/// past that the oldest are forgotten and counted in [`evicted`](Pairing::evicted).
#[derive(Debug)]
pub struct Pairing {
    pending: Map<Pending>,
    pending_order: Order,
    answered: Map<u64>,
    answered_order: Order,
    limit: usize,
    evicted: u64,
}

impl Default for Pairing {
    fn default() -> Self {
        Pairing::new(Pairing::DEFAULT_LIMIT)
    }
}

impl Pairing {
    /// The default bound on waiting (and on remembered answered) requests: 4096 each.
    pub const DEFAULT_LIMIT: usize = 4096;

    /// A pairing that keeps at most `limit` waiting requests (at least 1).
    pub fn new(limit: usize) -> Pairing {
        Pairing {
            pending: Map::default(),
            pending_order: Order::default(),
            answered: Map::default(),
            answered_order: Order::default(),
            limit: limit.max(1),
            evicted: 0,
        }
    }

    /// Notes a request. Returns the request it replaces, if one with the same `seq` was
    /// still waiting.
    pub fn request(&mut self, pending: Pending) -> Option<Pending> {
        let key = (pending.client, pending.direction, pending.seq);
        self.answered.remove(&key);
        let record = pending.record;
        let replaced = self.pending.insert(key, pending);
        let pending_map = &self.pending;
        self.pending_order
            .push(record, key, pending_map.len(), |r, k| {
                pending_map.get(k).is_some_and(|p| p.record == r)
            });
        while self.pending.len() > self.limit {
            let pending_map = &self.pending;
            let oldest = self
                .pending_order
                .pop_oldest(|r, k| pending_map.get(k).is_some_and(|p| p.record == r));
            let Some(oldest) = oldest else { break };
            self.pending.remove(&oldest);
            self.evicted += 1;
        }
        replaced
    }

    /// Pairs a response (sent in `direction` by `client`, at `record` and `offset_us`)
    /// with the request it names.
    pub fn response(
        &mut self,
        client: u32,
        direction: Direction,
        request_seq: i64,
        record: u64,
        offset_us: u64,
    ) -> Answer {
        let key = (client, direction.reverse(), request_seq);
        if let Some(p) = self.pending.remove(&key) {
            self.answered.insert(key, record);
            let answered = &self.answered;
            self.answered_order
                .push(record, key, answered.len(), |r, k| {
                    answered.get(k) == Some(&r)
                });
            while self.answered.len() > self.limit {
                let answered = &self.answered;
                let oldest = self
                    .answered_order
                    .pop_oldest(|r, k| answered.get(k) == Some(&r));
                let Some(oldest) = oldest else { break };
                self.answered.remove(&oldest);
            }
            return Answer::Paired(Pair {
                request_record: p.record,
                latency_us: offset_us.saturating_sub(p.offset_us),
                command: p.command,
            });
        }
        match self.answered.get(&key) {
            Some(&first) => Answer::Duplicate { first },
            None => Answer::Unknown,
        }
    }

    /// How many requests were forgotten unanswered because more than the limit waited.
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// The requests still waiting, oldest first (at the end of a trace: never answered).
    pub fn waiting(&self) -> impl Iterator<Item = &Pending> {
        let mut all: Vec<&Pending> = self.pending.values().collect();
        all.sort_by_key(|p| p.record);
        all.into_iter()
    }
}

/// One record of a trace with what it is, decoded once.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Entry {
    /// The record's number, from 1 (the header is not a record).
    pub number: u64,
    /// The line of the trace it is on (the header is line 1).
    pub line: u64,
    /// The record.
    pub record: Record,
    /// The decoded message, or why the bytes are not one.
    pub message: Result<ProtocolMessage, String>,
    /// Its envelope facts.
    pub facts: Facts,
    /// For a response: what pairing made of it.
    pub answer: Option<Answer>,
}

impl Entry {
    /// Decodes a record; `answer` is left to the caller ([`Timeline`] fills it).
    pub fn new(number: u64, line: u64, record: Record) -> Entry {
        let message = decode(&record);
        Entry::with_message(number, line, record, message)
    }

    fn with_message(
        number: u64,
        line: u64,
        record: Record,
        message: Result<ProtocolMessage, String>,
    ) -> Entry {
        let facts = match &message {
            Ok(m) => Facts::of(m),
            Err(e) => Facts::invalid(e.clone()),
        };
        Entry {
            number,
            line,
            record,
            message,
            facts,
            answer: None,
        }
    }

    /// The request this response answers, when it was found.
    pub fn pair(&self) -> Option<&Pair> {
        match &self.answer {
            Some(Answer::Paired(p)) => Some(p),
            _ => None,
        }
    }

    /// The one-line summary.
    pub fn summary(&self) -> Summary {
        Summary::of(self)
    }
}

/// Reads a trace as [`Entry`]s, pairing responses with requests as it goes.
#[derive(Debug)]
pub struct Timeline<R> {
    reader: TraceReader<R>,
    pairing: Pairing,
    number: u64,
}

impl<R: BufRead> Timeline<R> {
    /// A timeline with the default pairing bound.
    pub fn new(reader: TraceReader<R>) -> Timeline<R> {
        Timeline::with_pairing(reader, Pairing::default())
    }

    /// A timeline with the given pairing (and so its bound).
    pub fn with_pairing(reader: TraceReader<R>, pairing: Pairing) -> Timeline<R> {
        Timeline {
            reader,
            pairing,
            number: 0,
        }
    }

    /// The pairing state (requests still waiting, evictions).
    pub fn pairing(&self) -> &Pairing {
        &self.pairing
    }

    /// The reader.
    pub fn reader(&self) -> &TraceReader<R> {
        &self.reader
    }

    /// The next entry; `Ok(None)` at the end. After a recoverable read error the next call
    /// reads on (see [`ReadError::is_recoverable`]).
    pub fn next_entry(&mut self) -> Result<Option<Entry>, ReadError> {
        // Each message is decoded once, straight from the line it is on.
        let read = self
            .reader
            .next_decoded(|msg| ProtocolMessage::from_slice(msg.as_bytes()))?;
        let Some((record, decoded)) = read else {
            return Ok(None);
        };
        self.number += 1;
        let line = self.reader.line_number();
        let mut entry = match decoded {
            Some(message) => Entry::with_message(self.number, line, record, Ok(message)),
            None => Entry::new(self.number, line, record),
        };
        self.pair(&mut entry);
        Ok(Some(entry))
    }

    fn pair(&mut self, entry: &mut Entry) {
        let r = &entry.record;
        match entry.facts.kind {
            Kind::Request => {
                if let Some(seq) = entry.facts.seq {
                    self.pairing.request(Pending {
                        record: entry.number,
                        offset_us: r.offset_us,
                        seq,
                        direction: r.direction,
                        client: r.client,
                        command: entry.facts.command.clone(),
                    });
                }
            }
            Kind::Response => {
                entry.answer = Some(match entry.facts.request_seq {
                    Some(rs) => {
                        self.pairing
                            .response(r.client, r.direction, rs, entry.number, r.offset_us)
                    }
                    None => Answer::Unknown,
                });
            }
            _ => {}
        }
    }
}

impl<R: BufRead> Iterator for Timeline<R> {
    type Item = Result<Entry, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}

/// How a summary line should look (the CLI colours by it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// A request.
    Request,
    /// A successful response.
    Ok,
    /// A failed response.
    Failed,
    /// An event.
    Event,
    /// Bytes that are not a message, or a message of no known kind.
    Invalid,
}

/// The one-line summary of a record: `→ 12 setBreakpoints app.py [12, 20]`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Summary {
    /// `→` (client to adapter) or `←` (adapter to client).
    pub arrow: &'static str,
    /// The `seq` of requests and events, the `request_seq` of responses (so a response
    /// shows the number of its request); empty when there is none.
    pub seq: String,
    /// The command or event name (events are shown as `event NAME`).
    pub name: String,
    /// The rest: arguments or results in brief.
    pub detail: String,
    /// How it should look.
    pub tone: Tone,
}

/// The longest detail text, in characters.
const DETAIL_MAX: usize = 100;

impl Summary {
    /// The summary of an entry.
    pub fn of(entry: &Entry) -> Summary {
        Summary::build(entry, true)
    }

    /// The summary without the pairing note a response's detail ends with (its latency,
    /// or that it answers nothing): for views that show the pairing on their own.
    pub fn without_pairing(entry: &Entry) -> Summary {
        Summary::build(entry, false)
    }

    fn build(entry: &Entry, pairing_note: bool) -> Summary {
        let arrow = match entry.record.direction {
            Direction::ClientToAdapter => "→",
            Direction::AdapterToClient => "←",
        };
        let f = &entry.facts;
        let num = |n: Option<i64>| {
            n.map(|n| itoa::Buffer::new().format(n).to_owned())
                .unwrap_or_default()
        };
        let shown_seq = match entry.message {
            Ok(ProtocolMessage::Response(_)) => f.request_seq,
            _ => f.seq,
        };
        let mut s = Summary {
            arrow,
            seq: num(shown_seq),
            name: f.name().unwrap_or_default().to_owned(),
            detail: String::new(),
            tone: Tone::Invalid,
        };
        match &entry.message {
            Err(e) => {
                s.name = "invalid".to_owned();
                s.detail = e.clone();
            }
            Ok(ProtocolMessage::Request(r)) => {
                s.tone = Tone::Request;
                s.detail = request_detail(r);
            }
            Ok(ProtocolMessage::Response(r)) => {
                let mut d = if r.success() {
                    s.tone = Tone::Ok;
                    let body = response_detail(r, entry);
                    if body.is_empty() {
                        "ok".to_owned()
                    } else {
                        format!("ok: {body}")
                    }
                } else {
                    s.tone = Tone::Failed;
                    match &f.message {
                        Some(m) => format!("failed: {}", one_line(m)),
                        None => "failed".to_owned(),
                    }
                };
                // The latency (or pairing note) is never cut off.
                d = truncate(d);
                match entry.answer.as_ref().filter(|_| pairing_note) {
                    Some(Answer::Paired(p)) => {
                        let _ = write!(d, " ({})", latency(p.latency_us));
                    }
                    Some(Answer::Duplicate { first }) => {
                        let _ = write!(d, " (already answered by record {first})");
                    }
                    Some(Answer::Unknown) => d.push_str(" (no such request)"),
                    None => {}
                }
                s.detail = d;
            }
            Ok(ProtocolMessage::Event(e)) => {
                s.tone = Tone::Event;
                s.name.insert_str(0, "event ");
                s.detail = event_detail(e);
            }
            Ok(ProtocolMessage::Custom(raw)) => {
                s.detail = match raw.kind() {
                    Some(k) => format!("message of unknown type `{k}`"),
                    None => "message without a `type`".to_owned(),
                };
            }
        }
        if s.tone != Tone::Ok && s.tone != Tone::Failed {
            s.detail = truncate(s.detail);
        }
        s
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.arrow)?;
        for part in [&self.seq, &self.name, &self.detail] {
            if !part.is_empty() {
                write!(f, " {part}")?;
            }
        }
        Ok(())
    }
}

/// `3.1 ms`, `1.25 s`.
pub fn latency(us: u64) -> String {
    // Integer arithmetic, rounded half up: float formatting is slow on this hot path.
    let hundredths_s = (us + 5_000) / 10_000;
    if hundredths_s >= 100 {
        format!("{}.{:02} s", hundredths_s / 100, hundredths_s % 100)
    } else {
        let tenths_ms = (us + 50) / 100;
        format!("{}.{} ms", tenths_ms / 10, tenths_ms % 10)
    }
}

fn truncate(mut s: String) -> String {
    // At most DETAIL_MAX bytes is at most DETAIL_MAX characters: nothing to walk.
    if s.len() <= DETAIL_MAX {
        return s;
    }
    if let Some((i, _)) = s.char_indices().nth(DETAIL_MAX) {
        s.truncate(i);
        s.push('…');
    }
    s
}

/// Control characters spelled as escapes, so a summary stays on one line. Only the first
/// `DETAIL_MAX + 1` characters are taken: every summary detail is cut to `DETAIL_MAX`
/// anyway, and a long `output` event's text need not be walked to its end.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len().min(4 * DETAIL_MAX));
    for c in s.chars().take(DETAIL_MAX + 1) {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

fn quoted(s: &str) -> String {
    format!("\"{}\"", one_line(s))
}

/// The file name of a source: its `name`, else the last part of its `path`.
fn source_name(source: &dapkit_types::types::Source) -> String {
    if let Some(name) = &source.name {
        return name.clone();
    }
    match &source.path {
        Some(p) => p.rsplit(['/', '\\']).next().unwrap_or(p).to_owned(),
        None => match source.source_reference {
            Some(r) => format!("source {r}"),
            None => String::new(),
        },
    }
}

fn join<T: fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let mut out = String::new();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "{item}");
    }
    out
}

fn request_detail(r: &Request) -> String {
    match r {
        Request::Initialize(m) => {
            let a = &m.arguments;
            let mut d = format!("adapterID={}", a.adapter_id);
            if let Some(c) = a.client_id.as_ref().or(a.client_name.as_ref()) {
                let _ = write!(d, " client={c}");
            }
            d
        }
        Request::Launch(m) => program(&m.arguments.extra),
        Request::Attach(m) => program(&m.arguments.extra),
        Request::SetBreakpoints(m) => {
            let a = &m.arguments;
            let lines: Vec<u64> = match (&a.breakpoints, &a.lines) {
                (Some(b), _) => b.iter().map(|b| b.line).collect(),
                (None, Some(l)) => l.clone(),
                (None, None) => Vec::new(),
            };
            format!("{} [{}]", source_name(&a.source), join(lines))
        }
        Request::SetFunctionBreakpoints(m) => {
            format!(
                "[{}]",
                join(m.arguments.breakpoints.iter().map(|b| &b.name))
            )
        }
        Request::SetExceptionBreakpoints(m) => format!("[{}]", join(&m.arguments.filters)),
        Request::Continue(m) => format!("thread {}", m.arguments.thread_id),
        Request::Next(m) => format!("thread {}", m.arguments.thread_id),
        Request::StepIn(m) => format!("thread {}", m.arguments.thread_id),
        Request::StepOut(m) => format!("thread {}", m.arguments.thread_id),
        Request::Pause(m) => format!("thread {}", m.arguments.thread_id),
        Request::StackTrace(m) => format!("thread {}", m.arguments.thread_id),
        Request::Scopes(m) => format!("frame {}", m.arguments.frame_id),
        Request::Variables(m) => format!("ref {}", m.arguments.variables_reference),
        Request::Evaluate(m) => {
            let a = &m.arguments;
            match &a.context {
                Some(c) => format!("{} ({})", quoted(&a.expression), c.as_str()),
                None => quoted(&a.expression),
            }
        }
        Request::Source(m) => match &m.arguments.source {
            Some(s) => source_name(s),
            None => format!("source {}", m.arguments.source_reference),
        },
        Request::RunInTerminal(m) => one_line(&m.arguments.args.join(" ")),
        _ => String::new(),
    }
}

/// `program` (or `module`, `name`) of launch/attach arguments, which the schema leaves open.
fn program(extra: &serde_json::Map<String, serde_json::Value>) -> String {
    ["program", "module", "name"]
        .iter()
        .find_map(|k| extra.get(*k).and_then(serde_json::Value::as_str))
        .map(one_line)
        .unwrap_or_default()
}

fn response_detail(r: &Response, entry: &Entry) -> String {
    match r {
        Response::Initialize(m) => match &m.body {
            Some(caps) => {
                // The members sent as `true`, counted in the message as sent (no JSON value
                // built); through the typed body when the text does not read that way.
                let n = entry
                    .record
                    .json()
                    .and_then(|text| true_members_of_body(&text))
                    .or_else(|| {
                        serde_json::to_value(caps).ok().and_then(|v| {
                            v.as_object()
                                .map(|o| o.values().filter(|v| **v == true).count())
                        })
                    })
                    .unwrap_or(0);
                format!("{n} capabilities")
            }
            None => String::new(),
        },
        Response::SetBreakpoints(m) => verified(&m.body.breakpoints),
        Response::SetFunctionBreakpoints(m) => verified(&m.body.breakpoints),
        Response::Threads(m) => format!(
            "{} [{}]",
            count(m.body.threads.len(), "thread"),
            join(
                m.body
                    .threads
                    .iter()
                    .map(|t| format!("{} {}", t.id, t.name))
            )
        ),
        Response::StackTrace(m) => {
            let frames = &m.body.stack_frames;
            let mut d = count(frames.len(), "frame");
            if let Some(top) = frames.first() {
                let _ = write!(d, ", top {}", top.name);
                if let Some(src) = &top.source {
                    let _ = write!(d, " ({}:{})", source_name(src), top.line);
                }
            }
            d
        }
        Response::Scopes(m) => format!("[{}]", join(m.body.scopes.iter().map(|s| &s.name))),
        Response::Variables(m) => {
            let vars = &m.body.variables;
            let mut d = count(vars.len(), "variable");
            if !vars.is_empty() {
                let shown: Vec<String> = vars
                    .iter()
                    .take(4)
                    .map(|v| format!("{}={}", v.name, one_line(&v.value)))
                    .collect();
                let _ = write!(d, ": {}", shown.join(", "));
                if vars.len() > 4 {
                    d.push_str(", …");
                }
            }
            d
        }
        Response::Evaluate(m) => one_line(&m.body.result),
        _ => String::new(),
    }
}

/// How many members of the message's `body` object are `true` (the last of a repeated
/// name counts, as in decoding).
fn true_members_of_body(text: &str) -> Option<usize> {
    #[derive(serde::Deserialize)]
    struct Message<'a> {
        #[serde(borrow)]
        body: std::collections::HashMap<Cow<'a, str>, &'a serde_json::value::RawValue>,
    }
    let m: Message<'_> = serde_json::from_str(text).ok()?;
    Some(m.body.values().filter(|v| v.get() == "true").count())
}

fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn verified(breakpoints: &[dapkit_types::types::Breakpoint]) -> String {
    let v = breakpoints.iter().filter(|b| b.verified).count();
    if v == breakpoints.len() {
        format!("{v} verified")
    } else {
        format!("{v} of {} verified", breakpoints.len())
    }
}

fn event_detail(e: &Event) -> String {
    match e {
        Event::Stopped(m) => {
            let b = &m.body;
            let mut d = b.reason.as_str().to_owned();
            if let Some(t) = b.thread_id {
                let _ = write!(d, ", thread {t}");
            }
            if let Some(text) = b.description.as_ref().or(b.text.as_ref()) {
                let _ = write!(d, ": {}", one_line(text));
            }
            d
        }
        Event::Continued(m) => format!("thread {}", m.body.thread_id),
        Event::Exited(m) => format!("exit code {}", m.body.exit_code),
        Event::Thread(m) => format!("{} thread {}", m.body.reason.as_str(), m.body.thread_id),
        Event::Output(m) => {
            let b = &m.body;
            let text = quoted(&b.output);
            match &b.category {
                Some(c) => format!("{}: {text}", c.as_str()),
                None => text,
            }
        }
        Event::Breakpoint(m) => {
            let bp = &m.body.breakpoint;
            let mut d = m.body.reason.as_str().to_owned();
            if let Some(id) = bp.id {
                let _ = write!(d, " {id}");
            }
            d.push_str(if bp.verified {
                " verified"
            } else {
                " not verified"
            });
            d
        }
        Event::Module(m) => format!("{} {}", m.body.reason.as_str(), m.body.module.name),
        Event::LoadedSource(m) => {
            format!("{} {}", m.body.reason.as_str(), source_name(&m.body.source))
        }
        Event::Process(m) => m.body.name.clone(),
        _ => String::new(),
    }
}

/// A filter on entries, parsed from `dir=c2a`, `dir=a2c`, `command=NAME` or `event=NAME`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Filter {
    /// Records going one way.
    Direction(Direction),
    /// Requests and responses with this command.
    Command(String),
    /// Events with this name.
    Event(String),
}

impl std::str::FromStr for Filter {
    type Err = String;

    fn from_str(s: &str) -> Result<Filter, String> {
        let Some((key, value)) = s.split_once('=') else {
            return Err(format!(
                "`{s}` is not KEY=VALUE (dir=c2a|a2c, command=NAME, event=NAME)"
            ));
        };
        match key {
            "dir" => match value {
                "c2a" => Ok(Filter::Direction(Direction::ClientToAdapter)),
                "a2c" => Ok(Filter::Direction(Direction::AdapterToClient)),
                _ => Err(format!("dir must be c2a or a2c, not `{value}`")),
            },
            "command" if !value.is_empty() => Ok(Filter::Command(value.to_owned())),
            "event" if !value.is_empty() => Ok(Filter::Event(value.to_owned())),
            "command" | "event" => Err(format!("{key}= needs a name")),
            _ => Err(format!(
                "unknown filter key `{key}` (use dir, command or event)"
            )),
        }
    }
}

/// Whether an entry passes a set of filters: it must match one of the `dir` filters (if
/// any) and one of the `command`/`event` filters (if any).
pub fn passes(filters: &[Filter], entry: &Entry) -> bool {
    let mut dir_seen = false;
    let mut dir_ok = false;
    let mut name_seen = false;
    let mut name_ok = false;
    for f in filters {
        match f {
            Filter::Direction(d) => {
                dir_seen = true;
                dir_ok |= entry.record.direction == *d;
            }
            Filter::Command(c) => {
                name_seen = true;
                name_ok |= entry.facts.command.as_deref() == Some(c.as_str())
                    && matches!(entry.facts.kind, Kind::Request | Kind::Response);
            }
            Filter::Event(e) => {
                name_seen = true;
                name_ok |= entry.facts.event.as_deref() == Some(e.as_str())
                    && entry.facts.kind == Kind::Event;
            }
        }
    }
    (!dir_seen || dir_ok) && (!name_seen || name_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(record: u64, seq: i64) -> Pending {
        Pending {
            record,
            offset_us: record * 10,
            seq,
            direction: Direction::ClientToAdapter,
            client: 0,
            command: Some(Cow::Borrowed("threads")),
        }
    }

    #[test]
    fn pairing_state_stays_bounded_over_a_long_session() {
        let mut p = Pairing::new(8);
        for seq in 1..100_000i64 {
            let record = seq as u64 * 2;
            p.request(pending(record, seq));
            let answer = p.response(
                0,
                Direction::AdapterToClient,
                seq,
                record + 1,
                record * 10 + 7,
            );
            assert!(
                matches!(answer, Answer::Paired(Pair { latency_us: 7, .. })),
                "{answer:?}"
            );
        }
        assert!(p.pending.is_empty());
        assert_eq!(p.answered.len(), 8);
        assert!(p.pending_order.0.len() <= 32, "{}", p.pending_order.0.len());
        assert!(
            p.answered_order.0.len() <= 32,
            "{}",
            p.answered_order.0.len()
        );
        // The most recent answers are remembered; older ones are forgotten.
        let recent = p.response(0, Direction::AdapterToClient, 99_999, 1, 1);
        assert_eq!(recent, Answer::Duplicate { first: 199_999 });
        assert_eq!(
            p.response(0, Direction::AdapterToClient, 5, 1, 1),
            Answer::Unknown
        );
        assert_eq!(p.evicted(), 0);
    }

    #[test]
    fn latency_is_rounded_half_up() {
        let cases = [
            (0, "0.0 ms"),
            (49, "0.0 ms"),
            (50, "0.1 ms"),
            (3_100, "3.1 ms"),
            (3_149, "3.1 ms"),
            (3_150, "3.2 ms"),
            (994_949, "994.9 ms"),
            (995_000, "1.00 s"),
            (1_150_000, "1.15 s"),
            (61_234_567, "61.23 s"),
        ];
        for (us, text) in cases {
            assert_eq!(latency(us), text, "{us} µs");
        }
    }

    #[test]
    fn pairing_evicts_the_oldest_waiting_request() {
        let mut p = Pairing::new(3);
        for seq in 1..=5 {
            p.request(pending(seq as u64, seq));
        }
        assert_eq!(p.evicted(), 2);
        let waiting: Vec<i64> = p.waiting().map(|w| w.seq).collect();
        assert_eq!(waiting, [3, 4, 5]);
        assert_eq!(
            p.response(0, Direction::AdapterToClient, 1, 9, 9),
            Answer::Unknown
        );
        assert!(matches!(
            p.response(0, Direction::AdapterToClient, 4, 9, 90),
            Answer::Paired(Pair {
                request_record: 4,
                latency_us: 50,
                ..
            })
        ));
    }
}
