//! What each record of a trace is, which request each response answers, and a one-line
//! summary a person can read: the library behind `dapkit show` (and the HTML viewer).
//!
//! Each record is decoded once with `dapkit-types` (its text parsed as a
//! [`ProtocolMessage`]); its [`Facts`] (kind, `seq`, command or event, `request_seq`,
//! success, error message) come from that one decoding. [`Pairing`] matches responses to requests by direction, client
//! and `request_seq`, keeping at most [`Pairing::DEFAULT_LIMIT`] requests waiting for an
//! answer. [`Timeline`] streams a trace as [`Entry`]s, each with its facts, its pairing and
//! its [`Summary`] (or, with no strings built, [`Entry::write_summary`]):
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

use crate::text::{escape_controls, printable_ascii};
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
        Payload::Message(raw) => raw
            .get()
            .parse()
            .map_err(|e: dapkit_types::Error| e.to_string()),
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

    /// An entry of nothing, to be read into: allocates nothing.
    fn blank() -> Entry {
        Entry {
            number: 0,
            line: 0,
            record: Record::blank(),
            message: Err(String::new()),
            facts: Facts::invalid(String::new()),
            answer: None,
        }
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

    /// Writes the one-line summary, the text `summary().to_string()` gives, straight into
    /// `out` (no strings of its own: for output on a tool's hot path).
    pub fn write_summary<W: fmt::Write + ?Sized>(&self, out: &mut W) -> fmt::Result {
        let mut num = itoa::Buffer::new();
        let seq = shown_seq(self).map_or("", |n| num.format(n));
        write_layout(out, arrow(self), seq, name_parts(self), |w| {
            write_detail(self, true, w)
        })
    }
}

/// Reads a trace as [`Entry`]s, pairing responses with requests as it goes.
#[derive(Debug)]
pub struct Timeline<R> {
    reader: TraceReader<R>,
    pairing: Pairing,
    number: u64,
    /// The entry [`next_ref`](Timeline::next_ref) lent last, whose memory the next is read into.
    lent: Option<Entry>,
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
            lent: None,
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
        let mut entry = Entry::blank();
        let read = read_entry(
            &mut self.reader,
            &mut self.pairing,
            &mut self.number,
            &mut entry,
        )?;
        Ok(read.then_some(entry))
    }

    /// Like [`next_entry`](Self::next_entry) (the same entries, the same errors), the
    /// entry lent instead of given: it stays in the timeline, and the next call reads the
    /// next record into its memory (the time's and the message text's). For a pass that
    /// looks at each entry once (`dapkit show`, validation): no allocation of its own per
    /// record, no entry moved out. The kept buffers are as large as the longest message
    /// read so far: bounded, like the reader's own line buffer, by the line limit.
    ///
    /// ```
    /// use dapkit_trace::summary::Timeline;
    /// use dapkit_trace::{Direction, Header, TraceReader, TraceWriter};
    ///
    /// let mut file = Vec::new();
    /// let mut w = TraceWriter::new(&mut file, &Header::new(serde_json::Value::Null))?;
    /// w.message(Direction::ClientToAdapter, 0, br#"{"seq":1,"type":"request","command":"threads"}"#)?;
    /// w.message(Direction::AdapterToClient, 0, br#"{"seq":1,"type":"response","request_seq":1,"success":true,"command":"threads","body":{"threads":[]}}"#)?;
    /// drop(w);
    ///
    /// let mut timeline = Timeline::new(TraceReader::new(&file[..])?);
    /// let mut summaries = Vec::new();
    /// while let Some(entry) = timeline.next_ref()? {
    ///     summaries.push(entry.summary().to_string());
    /// }
    /// assert_eq!(summaries[0], "→ 1 threads");
    /// assert!(summaries[1].starts_with("← 1 threads ok: 0 threads [] ("));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn next_ref(&mut self) -> Result<Option<&Entry>, ReadError> {
        let entry = self.lent.get_or_insert_with(Entry::blank);
        let read = read_entry(&mut self.reader, &mut self.pairing, &mut self.number, entry)?;
        Ok(read.then_some(&*entry))
    }
}

/// Reads the next record of `reader` into `entry` (every member of it set anew, its
/// memory reused), decoded once and paired. `false` at the end.
fn read_entry<R: BufRead>(
    reader: &mut TraceReader<R>,
    pairing: &mut Pairing,
    number: &mut u64,
    entry: &mut Entry,
) -> Result<bool, ReadError> {
    // Each message is decoded once, straight from the line it is on, as text (the reader
    // has checked that the line is UTF-8), into the entry.
    let message = &mut entry.message;
    let read = reader.next_decoded(&mut entry.record, |text| {
        match text.parse::<ProtocolMessage>() {
            Ok(m) => {
                *message = Ok(m);
                true
            }
            Err(_) => false,
        }
    })?;
    let Some(decoded) = read else {
        return Ok(false);
    };
    *number += 1;
    entry.number = *number;
    entry.line = reader.line_number();
    if !decoded {
        entry.message = decode(&entry.record);
    }
    entry.facts = match &entry.message {
        Ok(m) => Facts::of(m),
        Err(e) => Facts::invalid(e.clone()),
    };
    entry.answer = None;
    pair(pairing, entry);
    Ok(true)
}

/// Notes a request in `pairing`, or pairs a response (its `answer`).
fn pair(pairing: &mut Pairing, entry: &mut Entry) {
    let r = &entry.record;
    match entry.facts.kind {
        Kind::Request => {
            if let Some(seq) = entry.facts.seq {
                pairing.request(Pending {
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
                Some(rs) => pairing.response(r.client, r.direction, rs, entry.number, r.offset_us),
                None => Answer::Unknown,
            });
        }
        _ => {}
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
        let mut detail = String::new();
        // Writing into a `String` cannot fail.
        let _ = write_detail(entry, pairing_note, &mut detail);
        Summary {
            arrow: arrow(entry),
            seq: shown_seq(entry)
                .map(|n| itoa::Buffer::new().format(n).to_owned())
                .unwrap_or_default(),
            name: {
                let mut name = String::new();
                for part in name_parts(entry) {
                    // Writing into a `String` cannot fail.
                    let _ = escape_controls(part, usize::MAX, &mut name);
                }
                name
            },
            detail,
            tone: tone(entry),
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_layout(f, self.arrow, &self.seq, [&self.name, ""], |w| {
            w.write_str(&self.detail)
        })
    }
}

/// `→` (client to adapter) or `←` (adapter to client).
fn arrow(entry: &Entry) -> &'static str {
    match entry.record.direction {
        Direction::ClientToAdapter => "→",
        Direction::AdapterToClient => "←",
    }
}

/// The number a summary shows: a response's `request_seq` (the number of its request),
/// anything else's `seq`.
fn shown_seq(entry: &Entry) -> Option<i64> {
    match entry.message {
        Ok(ProtocolMessage::Response(_)) => entry.facts.request_seq,
        _ => entry.facts.seq,
    }
}

/// The name a summary shows, in two parts: `["event ", NAME]` for events, `["invalid", ""]`
/// for bytes that are not a message, the command (or nothing) otherwise.
fn name_parts(entry: &Entry) -> [&str; 2] {
    let name = entry.facts.name().unwrap_or_default();
    match entry.message {
        Err(_) => ["invalid", ""],
        Ok(ProtocolMessage::Event(_)) => ["event ", name],
        Ok(_) => [name, ""],
    }
}

fn tone(entry: &Entry) -> Tone {
    match &entry.message {
        Err(_) | Ok(ProtocolMessage::Custom(_)) => Tone::Invalid,
        Ok(ProtocolMessage::Request(_)) => Tone::Request,
        Ok(ProtocolMessage::Response(r)) if r.success() => Tone::Ok,
        Ok(ProtocolMessage::Response(_)) => Tone::Failed,
        Ok(ProtocolMessage::Event(_)) => Tone::Event,
    }
}

/// The one layout of a summary line: the arrow, then the seq, the name and the detail,
/// each after a space when it is not empty. [`Summary`]'s `Display` and
/// [`Entry::write_summary`] both write through it.
fn write_layout<W: fmt::Write + ?Sized>(
    out: &mut W,
    arrow: &str,
    seq: &str,
    name: [&str; 2],
    detail: impl FnOnce(&mut Lead<'_, W>) -> fmt::Result,
) -> fmt::Result {
    out.write_str(arrow)?;
    if !seq.is_empty() {
        out.write_str(" ")?;
        out.write_str(seq)?;
    }
    if !name[0].is_empty() || !name[1].is_empty() {
        out.write_str(" ")?;
        escape_controls(name[0], usize::MAX, out)?;
        escape_controls(name[1], usize::MAX, out)?;
    }
    detail(&mut Lead::new(out, " "))
}

/// Writes through to `out`, putting `lead` before the first text that is not empty (and
/// nothing at all when no text comes).
struct Lead<'a, W: ?Sized> {
    out: &'a mut W,
    lead: Option<&'static str>,
}

impl<'a, W: fmt::Write + ?Sized> Lead<'a, W> {
    fn new(out: &'a mut W, lead: &'static str) -> Self {
        Lead {
            out,
            lead: Some(lead),
        }
    }

    /// Whether any text came.
    fn started(&self) -> bool {
        self.lead.is_none()
    }
}

impl<W: fmt::Write + ?Sized> fmt::Write for Lead<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if s.is_empty() {
            return Ok(());
        }
        if let Some(lead) = self.lead.take() {
            self.out.write_str(lead)?;
        }
        self.out.write_str(s)
    }
}

/// Writes through to `out` at most [`DETAIL_MAX`] characters; if more come, `…` instead
/// of them (so a detail is cut as one text however it is written).
struct Cut<'a, W: ?Sized> {
    out: &'a mut W,
    left: usize,
    full: bool,
}

impl<'a, W: fmt::Write + ?Sized> Cut<'a, W> {
    fn new(out: &'a mut W) -> Self {
        Cut {
            out,
            left: DETAIL_MAX,
            full: false,
        }
    }

    /// The writer, for what is never cut off.
    fn into_inner(self) -> &'a mut W {
        self.out
    }
}

impl<W: fmt::Write + ?Sized> fmt::Write for Cut<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.full {
            return Ok(());
        }
        // Most texts are printable ASCII: a byte count is their character count.
        let n = if printable_ascii(s) {
            s.len()
        } else if s.chars().any(char::is_control) {
            // Escaped first (the escapes count), and only as much as can still be shown.
            return escape_controls(s, self.left + 1, self);
        } else {
            s.chars().count()
        };
        if n <= self.left {
            self.left -= n;
            return self.out.write_str(s);
        }
        let end = s.char_indices().nth(self.left).map_or(s.len(), |(i, _)| i);
        self.full = true;
        self.out.write_str(&s[..end])?;
        self.out.write_str("…")
    }
}

/// Writes an entry's summary detail: cut to [`DETAIL_MAX`] characters, then, for a
/// response and if `pairing_note`, its latency or pairing note (never cut off).
fn write_detail<W: fmt::Write + ?Sized>(
    entry: &Entry,
    pairing_note: bool,
    out: &mut W,
) -> fmt::Result {
    let mut cut = Cut::new(out);
    match &entry.message {
        Err(e) => cut.write_str(e),
        Ok(ProtocolMessage::Request(r)) => request_detail(r, &mut cut),
        Ok(ProtocolMessage::Event(e)) => event_detail(e, &mut cut),
        Ok(ProtocolMessage::Custom(raw)) => match raw.kind() {
            Some(k) => write!(cut, "message of unknown type `{k}`"),
            None => cut.write_str("message without a `type`"),
        },
        Ok(ProtocolMessage::Response(r)) => {
            if r.success() {
                let mut body = Lead::new(&mut cut, "ok: ");
                response_detail(r, &mut body)?;
                if !body.started() {
                    cut.write_str("ok")?;
                }
            } else {
                cut.write_str("failed")?;
                if let Some(m) = &entry.facts.message {
                    cut.write_str(": ")?;
                    head(m, &mut cut)?;
                }
            }
            let out = cut.into_inner();
            match entry.answer.as_ref().filter(|_| pairing_note) {
                Some(Answer::Paired(p)) => {
                    out.write_str(" (")?;
                    write_latency(p.latency_us, out)?;
                    out.write_str(")")
                }
                Some(Answer::Duplicate { first }) => {
                    write!(out, " (already answered by record {first})")
                }
                Some(Answer::Unknown) => out.write_str(" (no such request)"),
                None => Ok(()),
            }
        }
    }
}

/// An integer, as `{}` formats it (through itoa: `write!` costs more than the rest of a
/// short summary).
fn int<W: fmt::Write + ?Sized>(n: impl itoa::Integer, out: &mut W) -> fmt::Result {
    out.write_str(itoa::Buffer::new().format(n))
}

/// `label` then an integer.
fn labelled<W: fmt::Write + ?Sized>(
    label: &str,
    n: impl itoa::Integer,
    out: &mut W,
) -> fmt::Result {
    out.write_str(label)?;
    int(n, out)
}

/// `3.1 ms`, `1.25 s`.
pub fn latency(us: u64) -> String {
    let mut text = String::new();
    // Writing into a `String` cannot fail.
    let _ = write_latency(us, &mut text);
    text
}

fn write_latency<W: fmt::Write + ?Sized>(us: u64, out: &mut W) -> fmt::Result {
    // Integer arithmetic, rounded half up: float formatting is slow on this hot path.
    let hundredths_s = (us + 5_000) / 10_000;
    if hundredths_s >= 100 {
        int(hundredths_s / 100, out)?;
        out.write_str(if hundredths_s % 100 < 10 { ".0" } else { "." })?;
        int(hundredths_s % 100, out)?;
        out.write_str(" s")
    } else {
        let tenths_ms = (us + 50) / 100;
        int(tenths_ms / 10, out)?;
        out.write_str(".")?;
        int(tenths_ms % 10, out)?;
        out.write_str(" ms")
    }
}

/// Writes the first `DETAIL_MAX + 1` characters of a peer's text: every detail goes
/// through the cutting writer ([`Cut`]), which spells control characters as escapes and
/// cuts at `DETAIL_MAX`, so a long `output` event's text need not be walked to its end.
fn head<W: fmt::Write + ?Sized>(s: &str, out: &mut W) -> fmt::Result {
    // Up to that many bytes are at most that many characters; so are ASCII bytes.
    let end = if s.len() <= DETAIL_MAX + 1 {
        s.len()
    } else if s.as_bytes()[..=DETAIL_MAX].is_ascii() {
        DETAIL_MAX + 1
    } else {
        s.char_indices()
            .nth(DETAIL_MAX + 1)
            .map_or(s.len(), |(i, _)| i)
    };
    out.write_str(&s[..end])
}

fn quoted<W: fmt::Write + ?Sized>(s: &str, out: &mut W) -> fmt::Result {
    out.write_str("\"")?;
    head(s, out)?;
    out.write_str("\"")
}

/// The file name of a source: its `name`, else the last part of its `path`.
fn source_name<W: fmt::Write + ?Sized>(
    source: &dapkit_types::types::Source,
    out: &mut W,
) -> fmt::Result {
    if let Some(name) = &source.name {
        return out.write_str(name);
    }
    match &source.path {
        Some(p) => out.write_str(p.rsplit(['/', '\\']).next().unwrap_or(p)),
        None => match source.source_reference {
            Some(r) => write!(out, "source {r}"),
            None => Ok(()),
        },
    }
}

/// The items, `, ` between them.
fn join<W: fmt::Write + ?Sized, T: fmt::Display>(
    items: impl IntoIterator<Item = T>,
    out: &mut W,
) -> fmt::Result {
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.write_str(", ")?;
        }
        write!(out, "{item}")?;
    }
    Ok(())
}

/// `[a, b]`.
fn list<W: fmt::Write + ?Sized, T: fmt::Display>(
    items: impl IntoIterator<Item = T>,
    out: &mut W,
) -> fmt::Result {
    out.write_str("[")?;
    join(items, out)?;
    out.write_str("]")
}

fn request_detail<W: fmt::Write + ?Sized>(r: &Request, out: &mut W) -> fmt::Result {
    match r {
        Request::Initialize(m) => {
            let a = &m.arguments;
            write!(out, "adapterID={}", a.adapter_id)?;
            match a.client_id.as_ref().or(a.client_name.as_ref()) {
                Some(c) => write!(out, " client={c}"),
                None => Ok(()),
            }
        }
        Request::Launch(m) => program(&m.arguments.extra, out),
        Request::Attach(m) => program(&m.arguments.extra, out),
        Request::SetBreakpoints(m) => {
            let a = &m.arguments;
            source_name(&a.source, out)?;
            out.write_str(" ")?;
            match (&a.breakpoints, &a.lines) {
                (Some(b), _) => list(b.iter().map(|b| b.line), out),
                (None, Some(l)) => list(l, out),
                (None, None) => out.write_str("[]"),
            }
        }
        Request::SetFunctionBreakpoints(m) => {
            list(m.arguments.breakpoints.iter().map(|b| &b.name), out)
        }
        Request::SetExceptionBreakpoints(m) => list(&m.arguments.filters, out),
        Request::Continue(m) => labelled("thread ", m.arguments.thread_id, out),
        Request::Next(m) => labelled("thread ", m.arguments.thread_id, out),
        Request::StepIn(m) => labelled("thread ", m.arguments.thread_id, out),
        Request::StepOut(m) => labelled("thread ", m.arguments.thread_id, out),
        Request::Pause(m) => labelled("thread ", m.arguments.thread_id, out),
        Request::StackTrace(m) => labelled("thread ", m.arguments.thread_id, out),
        Request::Scopes(m) => labelled("frame ", m.arguments.frame_id, out),
        Request::Variables(m) => labelled("ref ", m.arguments.variables_reference, out),
        Request::Evaluate(m) => {
            let a = &m.arguments;
            quoted(&a.expression, out)?;
            match &a.context {
                Some(c) => write!(out, " ({})", c.as_str()),
                None => Ok(()),
            }
        }
        Request::Source(m) => match &m.arguments.source {
            Some(s) => source_name(s, out),
            None => write!(out, "source {}", m.arguments.source_reference),
        },
        Request::RunInTerminal(m) => {
            // The arguments joined by spaces, as one text.
            for (i, arg) in m.arguments.args.iter().enumerate() {
                if i > 0 {
                    out.write_str(" ")?;
                }
                head(arg, out)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `program` (or `module`, `name`) of launch/attach arguments, which the schema leaves open.
fn program<W: fmt::Write + ?Sized>(
    extra: &serde_json::Map<String, serde_json::Value>,
    out: &mut W,
) -> fmt::Result {
    match ["program", "module", "name"]
        .iter()
        .find_map(|k| extra.get(*k).and_then(serde_json::Value::as_str))
    {
        Some(p) => head(p, out),
        None => Ok(()),
    }
}

fn response_detail<W: fmt::Write + ?Sized>(r: &Response, out: &mut W) -> fmt::Result {
    match r {
        Response::Initialize(m) => match &m.body {
            Some(caps) => {
                int(true_members(caps), out)?;
                out.write_str(" capabilities")
            }
            None => Ok(()),
        },
        Response::SetBreakpoints(m) => verified(&m.body.breakpoints, out),
        Response::SetFunctionBreakpoints(m) => verified(&m.body.breakpoints, out),
        Response::Threads(m) => {
            let threads = &m.body.threads;
            count(threads.len(), "thread", out)?;
            out.write_str(" [")?;
            for (i, t) in threads.iter().enumerate() {
                if i > 0 {
                    out.write_str(", ")?;
                }
                int(t.id, out)?;
                out.write_str(" ")?;
                out.write_str(&t.name)?;
            }
            out.write_str("]")
        }
        Response::StackTrace(m) => {
            let frames = &m.body.stack_frames;
            count(frames.len(), "frame", out)?;
            if let Some(top) = frames.first() {
                out.write_str(", top ")?;
                out.write_str(&top.name)?;
                if let Some(src) = &top.source {
                    out.write_str(" (")?;
                    source_name(src, out)?;
                    out.write_str(":")?;
                    int(top.line, out)?;
                    out.write_str(")")?;
                }
            }
            Ok(())
        }
        Response::Scopes(m) => list(m.body.scopes.iter().map(|s| &s.name), out),
        Response::Variables(m) => {
            let vars = &m.body.variables;
            count(vars.len(), "variable", out)?;
            if !vars.is_empty() {
                out.write_str(": ")?;
                for (i, v) in vars.iter().take(4).enumerate() {
                    if i > 0 {
                        out.write_str(", ")?;
                    }
                    out.write_str(&v.name)?;
                    out.write_str("=")?;
                    head(&v.value, out)?;
                }
                if vars.len() > 4 {
                    out.write_str(", …")?;
                }
            }
            Ok(())
        }
        Response::Evaluate(m) => head(&m.body.result, out),
        _ => Ok(()),
    }
}

/// How many members of the capabilities are `true` (unknown members included).
fn true_members(caps: &dapkit_types::types::Capabilities) -> usize {
    let mut n = 0;
    crate::flags::flags(caps, |_, value| n += usize::from(value));
    n
}

fn count<W: fmt::Write + ?Sized>(n: usize, what: &str, out: &mut W) -> fmt::Result {
    int(n, out)?;
    out.write_str(" ")?;
    out.write_str(what)?;
    if n == 1 { Ok(()) } else { out.write_str("s") }
}

fn verified<W: fmt::Write + ?Sized>(
    breakpoints: &[dapkit_types::types::Breakpoint],
    out: &mut W,
) -> fmt::Result {
    let v = breakpoints.iter().filter(|b| b.verified).count();
    if v == breakpoints.len() {
        int(v, out)?;
        out.write_str(" verified")
    } else {
        int(v, out)?;
        labelled(" of ", breakpoints.len(), out)?;
        out.write_str(" verified")
    }
}

fn event_detail<W: fmt::Write + ?Sized>(e: &Event, out: &mut W) -> fmt::Result {
    match e {
        Event::Stopped(m) => {
            let b = &m.body;
            out.write_str(b.reason.as_str())?;
            if let Some(t) = b.thread_id {
                labelled(", thread ", t, out)?;
            }
            if let Some(text) = b.description.as_ref().or(b.text.as_ref()) {
                out.write_str(": ")?;
                head(text, out)?;
            }
            Ok(())
        }
        Event::Continued(m) => labelled("thread ", m.body.thread_id, out),
        Event::Exited(m) => labelled("exit code ", m.body.exit_code, out),
        Event::Thread(m) => {
            out.write_str(m.body.reason.as_str())?;
            labelled(" thread ", m.body.thread_id, out)
        }
        Event::Output(m) => {
            let b = &m.body;
            if let Some(c) = &b.category {
                out.write_str(c.as_str())?;
                out.write_str(": ")?;
            }
            quoted(&b.output, out)
        }
        Event::Breakpoint(m) => {
            let bp = &m.body.breakpoint;
            out.write_str(m.body.reason.as_str())?;
            if let Some(id) = bp.id {
                labelled(" ", id, out)?;
            }
            out.write_str(if bp.verified {
                " verified"
            } else {
                " not verified"
            })
        }
        Event::Module(m) => {
            out.write_str(m.body.reason.as_str())?;
            out.write_str(" ")?;
            out.write_str(&m.body.module.name)
        }
        Event::LoadedSource(m) => {
            out.write_str(m.body.reason.as_str())?;
            out.write_str(" ")?;
            source_name(&m.body.source, out)
        }
        Event::Process(m) => out.write_str(&m.body.name),
        _ => Ok(()),
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
#[allow(clippy::expect_used)]
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

    /// The summaries of a trace of these messages (client to adapter when `c2a`), through
    /// `Summary` and through `write_summary`, which must agree.
    fn summaries(messages: &[(bool, String)]) -> Vec<String> {
        let mut file = Vec::new();
        let header = crate::Header::new(serde_json::Value::Null);
        let mut w = crate::TraceWriter::new(&mut file, &header).expect("header");
        for (i, (c2a, m)) in (0u64..).zip(messages) {
            let dir = if *c2a {
                Direction::ClientToAdapter
            } else {
                Direction::AdapterToClient
            };
            // A millisecond apart.
            let record = Record::from_body(String::new(), i * 1000, dir, 0, m.as_bytes());
            w.write(&record).expect("write");
        }
        drop(w);
        let reader = TraceReader::new(&file[..]).expect("header");
        Timeline::new(reader)
            .map(|entry| {
                let entry = entry.expect("entry");
                let mut written = String::new();
                entry.write_summary(&mut written).expect("write");
                assert_eq!(written, entry.summary().to_string());
                written
            })
            .collect()
    }

    #[test]
    fn details_are_cut_at_100_characters_as_one_text() {
        let output = |text: &str| {
            let body = serde_json::json!({"category": "stdout", "output": text});
            let m = serde_json::json!({"seq": 1, "type": "event", "event": "output", "body": body});
            (false, m.to_string())
        };
        // `stdout: "` is 9 characters: 91 more fill the detail exactly, 92 go past it.
        let exact = "é".repeat(90);
        let over = "é".repeat(91);
        let long = "日".repeat(500);
        let result = "x\n".repeat(60);
        let evaluate = serde_json::json!({"seq": 2, "type": "request", "command": "evaluate",
            "arguments": {"expression": "e"}});
        let answer = serde_json::json!({"seq": 3, "type": "response", "request_seq": 2,
            "success": true, "command": "evaluate", "body": {"result": result, "variablesReference": 0}});
        let got = summaries(&[
            output(&exact),
            output(&over),
            output(&long),
            (true, evaluate.to_string()),
            (false, answer.to_string()),
        ]);
        assert_eq!(got[0], format!("← 1 event output stdout: \"{exact}\""));
        assert_eq!(
            got[1],
            format!("← 1 event output stdout: \"{}…", "é".repeat(91))
        );
        assert_eq!(
            got[2],
            format!("← 1 event output stdout: \"{}…", "日".repeat(91))
        );
        assert_eq!(got[3], "→ 2 evaluate \"e\"");
        // `ok: ` and the result's newlines spelled `\n` count; the latency is never cut off.
        let shown: String = format!("ok: {}", "x\\n".repeat(60))
            .chars()
            .take(100)
            .collect();
        assert_eq!(got[4], format!("← 2 evaluate {shown}… (1.0 ms)"));
    }

    #[test]
    fn control_characters_from_the_peer_are_spelled_out_in_every_part_of_a_summary() {
        let esc = "\u{1b}[2J";
        let messages = [
            // A message without a type whose command (the summary's name) has a line end.
            (true, serde_json::json!({"seq": 1, "command": "ug\r\nx"})),
            // Its unknown type, in the detail.
            (
                true,
                serde_json::json!({"seq": 2, "type": format!("t{esc}"), "command": "c"}),
            ),
            // An event name and a request's argument.
            (
                false,
                serde_json::json!({"seq": 3, "type": "event", "event": format!("e\n{esc}")}),
            ),
            (
                true,
                serde_json::json!({"seq": 4, "type": "request", "command": "initialize",
                "arguments": {"adapterID": format!("py{esc}"), "clientID": "a\tb"}}),
            ),
            // Names in a response body, and a C1 control.
            (
                false,
                serde_json::json!({"seq": 5, "type": "response", "request_seq": 9,
                "success": true, "command": "threads",
                "body": {"threads": [{"id": 1, "name": "main\u{85}\u{7f}"}]}}),
            ),
        ];
        let messages: Vec<(bool, String)> =
            messages.iter().map(|(c, m)| (*c, m.to_string())).collect();
        let got = summaries(&messages);
        for line in &got {
            assert!(!line.chars().any(char::is_control), "{line:?}");
        }
        assert_eq!(got[0], "→ 1 ug\\r\\nx message without a `type`");
        assert_eq!(got[1], "→ 2 c message of unknown type `t\\u{1b}[2J`");
        assert_eq!(got[2], "← 3 event e\\n\\u{1b}[2J");
        assert_eq!(got[3], "→ 4 initialize adapterID=py\\u{1b}[2J client=a\\tb");
        assert_eq!(
            got[4],
            "← 9 threads ok: 1 thread [1 main\\u{85}\\u{7f}] (no such request)"
        );
    }

    #[test]
    fn an_initialize_response_counts_its_true_members_only() {
        let response = |body: serde_json::Value| {
            let m = serde_json::json!({"seq": 1, "type": "response", "request_seq": 1,
                "success": true, "command": "initialize", "body": body});
            (false, m.to_string())
        };
        let got = summaries(&[
            // Two known members true, one false, one unknown member true; the filters'
            // `default: true` and the unknown object's `true` are nested, not members; a
            // label holding `":true` and escaped quotes is text.
            response(serde_json::json!({
                "supportsConfigurationDoneRequest": true,
                "supportsStepBack": false,
                "supportsEvaluateForHovers": true,
                "exceptionBreakpointFilters": [
                    {"filter": "raised", "label": "a \"quoted\":true \\", "default": true},
                    {"filter": "uncaught", "label": "b", "default": true}
                ],
                "vendorFlag": true,
                "vendorObject": {"nested": true, "list": [true, {"deep": true}]}
            })),
            response(serde_json::json!({})),
            response(serde_json::json!({"supportsStepBack": false})),
        ]);
        assert_eq!(
            got[0],
            "← 1 initialize ok: 3 capabilities (no such request)"
        );
        assert_eq!(
            got[1],
            "← 1 initialize ok: 0 capabilities (no such request)"
        );
        assert_eq!(
            got[2],
            "← 1 initialize ok: 0 capabilities (no such request)"
        );
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
