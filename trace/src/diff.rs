//! Semantic diff of two traces: the library behind `dapkit diff`.
//!
//! Each trace becomes two sequences, compared in order:
//! - **exchanges**: a request with its response (in the order the responses came), as
//!   `{"command", "arguments", "response": {"success", "message", "body"}}`; a request never
//!   answered has `"response": null`;
//! - **events** (and records that are not messages), as `{"event", "body"}`.
//!
//! Before comparing, `seq`, `request_seq`, times and handles ([`HANDLE_KEYS`]: thread,
//! frame, variables, source and breakpoint ids, process ids, memory references…) are
//! dropped; with [`Options::ignore_paths`], absolute paths keep only their file name.
//! When items differ, a look-ahead of [`Options::window`] items tells an inserted or
//! missing item from a changed one; the differences found are listed in record order. Memory is bounded: each side keeps at most
//! [`Options::window`] items waiting per sequence beyond what the other side has reached
//! (and [`Pairing`](crate::summary::Pairing)'s bound of waiting requests).
//!
//! ```
//! use dapkit_trace::diff::{Options, diff};
//! use dapkit_trace::{Direction, Header, TraceReader, TraceWriter};
//!
//! let trace = |thread: u32, line: u32| -> Vec<u8> {
//!     let mut file = Vec::new();
//!     let mut w = TraceWriter::new(&mut file, &Header::new(serde_json::Value::Null)).expect("header");
//!     let event = format!(r#"{{"seq":1,"type":"event","event":"stopped","body":{{"reason":"breakpoint","threadId":{thread},"line":{line}}}}}"#);
//!     w.message(Direction::AdapterToClient, 0, event.as_bytes()).expect("write");
//!     drop(w);
//!     file
//! };
//! let (a, b, c) = (trace(1, 10), trace(7, 10), trace(1, 11));
//! let same = diff(TraceReader::new(&a[..])?, TraceReader::new(&b[..])?, &Options::default())?;
//! assert!(same.differences.is_empty(), "thread ids are handles");
//! let changed = diff(TraceReader::new(&a[..])?, TraceReader::new(&c[..])?, &Options::default())?;
//! assert_eq!(changed.differences[0].to_string(),
//!     "record 1 of A, record 1 of B: event `stopped` differs at /body/line: 10 in A, 11 in B");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::summary::{Entry, Kind, Timeline};
use crate::{Direction, ReadError, TraceReader};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::io::BufRead;

/// Members whose values are handles a session chooses (they differ between runs of the
/// same session): replaced by `"<handle>"` before comparing.
pub const HANDLE_KEYS: &[&str] = &[
    "threadId",
    "frameId",
    "variablesReference",
    "sourceReference",
    "id",
    "hitBreakpointIds",
    "breakpointIds",
    "processId",
    "shellProcessId",
    "systemProcessId",
    "memoryReference",
    "instructionPointerReference",
    "targetId",
    "dataId",
    "moduleId",
    "progressId",
    "locationReference",
    "valueLocationReference",
    "declarationLocationReference",
];

/// How to compare.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// Absolute paths keep only their last component (`/src/demo/app.py` → `…/app.py`),
    /// in values and inside text.
    pub ignore_paths: bool,
    /// Stop after this many differences.
    pub max_differences: usize,
    /// How far ahead to look for an item missing on one side.
    pub window: usize,
    /// Events with these names are left out of both traces (an adapter's own events that
    /// differ by run, such as debugpy's `debugpySockets` with the ports it opened).
    pub ignore_events: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            ignore_paths: false,
            max_differences: 10,
            window: 32,
            ignore_events: Vec::new(),
        }
    }
}

impl Options {
    /// With or without `ignore_paths`.
    pub fn with_ignore_paths(mut self, ignore: bool) -> Self {
        self.ignore_paths = ignore;
        self
    }

    /// Leaving out the events with these names.
    pub fn with_ignore_events<S: Into<String>>(
        mut self,
        names: impl IntoIterator<Item = S>,
    ) -> Self {
        self.ignore_events = names.into_iter().map(Into::into).collect();
        self
    }

    /// With another limit on reported differences (at least 1).
    pub fn with_max_differences(mut self, max: usize) -> Self {
        self.max_differences = max.max(1);
        self
    }
}

/// One difference between the traces.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Difference {
    /// The record in trace A, when the item is there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a_record: Option<u64>,
    /// The record in trace B, when the item is there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b_record: Option<u64>,
    /// What the item is: ``request `setBreakpoints` ``, ``response to `evaluate` ``,
    /// ``event `stopped` ``.
    pub what: String,
    /// Where the item differs (a JSON pointer into the message), when in both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The value in A at `path` (absent: missing there).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub a: Option<Value>,
    /// The value in B at `path`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b: Option<Value>,
}

impl fmt::Display for Difference {
    /// One line: control characters a peer sent (in a name or a path) are spelled as escapes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write as _;
        let f = &mut crate::text::Escaping(f);
        match (self.a_record, self.b_record) {
            (Some(a), Some(b)) => {
                write!(f, "record {a} of A, record {b} of B: {} differs", self.what)?;
                if let Some(p) = &self.path {
                    write!(f, " at {}", if p.is_empty() { "/" } else { p })?;
                }
                let show = |v: &Option<Value>| match v {
                    Some(v) => short(v),
                    None => "(absent)".to_owned(),
                };
                write!(f, ": {} in A, {} in B", show(&self.a), show(&self.b))
            }
            (Some(a), None) => write!(f, "record {a} of A: {} is not in B", self.what),
            (None, Some(b)) => write!(f, "record {b} of B: {} is not in A", self.what),
            (None, None) => f.write_str(&self.what),
        }
    }
}

fn short(v: &Value) -> String {
    let mut s = v.to_string();
    if let Some((i, _)) = s.char_indices().nth(80) {
        s.truncate(i);
        s.push('…');
    }
    s
}

/// The result of a diff.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// The differences found, at most [`Options::max_differences`].
    pub differences: Vec<Difference>,
    /// Whether more differences were left unreported (the comparison stopped).
    pub truncated: bool,
}

impl Report {
    /// Whether the traces are the same (as compared).
    pub fn is_same(&self) -> bool {
        self.differences.is_empty()
    }
}

/// Which trace an error came from.
#[derive(Debug)]
pub struct DiffError {
    /// `A` or `B`.
    pub side: char,
    /// The error.
    pub error: ReadError,
}

impl fmt::Display for DiffError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "trace {}: {}", self.side, self.error)
    }
}

impl std::error::Error for DiffError {}

/// One item to compare.
#[derive(Clone, Debug)]
struct Item {
    /// The request's record (exchanges) or the record.
    record: u64,
    /// The response's record (exchanges).
    response_record: Option<u64>,
    what: String,
    value: Value,
}

impl Item {
    /// The record a difference at `path` is about.
    fn record_for(&self, path: &str) -> u64 {
        match self.response_record {
            Some(r) if path.starts_with("/response") => r,
            _ => self.record,
        }
    }
}

/// A request waiting for its response.
struct Waiting {
    record: u64,
    command: String,
    arguments: Value,
}

/// Turns one trace into its two sequences of items.
struct Side<R> {
    name: char,
    timeline: Timeline<R>,
    waiting: HashMap<(u32, Direction, i64), Waiting>,
    waiting_order: BTreeMap<u64, (u32, Direction, i64)>,
    ended: bool,
    queues: [VecDeque<Item>; 2],
}

const EXCHANGES: usize = 0;
const EVENTS: usize = 1;

impl<R: BufRead> Side<R> {
    fn new(name: char, reader: TraceReader<R>) -> Self {
        Side {
            name,
            timeline: Timeline::new(reader),
            waiting: HashMap::new(),
            waiting_order: BTreeMap::new(),
            ended: false,
            queues: [VecDeque::new(), VecDeque::new()],
        }
    }

    /// Reads one record into the queues; at the end, flushes unanswered requests.
    fn pull(&mut self, opts: &Options) -> Result<(), DiffError> {
        if self.ended {
            return Ok(());
        }
        let entry = loop {
            match self.timeline.next_entry() {
                Ok(Some(e)) => break e,
                Ok(None) => {
                    self.ended = true;
                    let order = std::mem::take(&mut self.waiting_order);
                    for key in order.values() {
                        if let Some(w) = self.waiting.remove(key) {
                            self.queues[EXCHANGES].push_back(exchange(w, None));
                        }
                    }
                    return Ok(());
                }
                Err(e) if e.is_recoverable() => continue,
                Err(error) => {
                    return Err(DiffError {
                        side: self.name,
                        error,
                    });
                }
            }
        };
        self.add(entry, opts);
        Ok(())
    }

    fn add(&mut self, entry: Entry, opts: &Options) {
        if entry.facts.kind == Kind::Event {
            if let Some(event) = entry.facts.event.as_deref() {
                if opts.ignore_events.iter().any(|e| e == event) {
                    return;
                }
            }
        }
        let data = match &entry.message {
            Ok(m) => m.as_data().map_err(|e| e.to_string()),
            Err(e) => Err(e.clone()),
        };
        let value = match data {
            Ok(data) => normalize(data, opts),
            Err(e) => {
                self.queues[EVENTS].push_back(Item {
                    record: entry.number,
                    response_record: None,
                    what: "invalid bytes".to_owned(),
                    value: Value::String(e),
                });
                return;
            }
        };
        let f = &entry.facts;
        let r = &entry.record;
        match f.kind {
            Kind::Request => {
                let Some(seq) = f.seq else { return };
                let key = (r.client, r.direction, seq);
                let arguments = value.get("arguments").cloned().unwrap_or(Value::Null);
                let command = f.command.as_deref().unwrap_or_default().to_owned();
                if let Some(old) = self.waiting.insert(
                    key,
                    Waiting {
                        record: entry.number,
                        command,
                        arguments,
                    },
                ) {
                    self.waiting_order.remove(&old.record);
                    self.queues[EXCHANGES].push_back(exchange(old, None));
                }
                self.waiting_order.insert(entry.number, key);
                while self.waiting.len() > crate::summary::Pairing::DEFAULT_LIMIT {
                    let Some((_, oldest)) = self.waiting_order.pop_first() else {
                        break;
                    };
                    if let Some(w) = self.waiting.remove(&oldest) {
                        self.queues[EXCHANGES].push_back(exchange(w, None));
                    }
                }
            }
            Kind::Response => {
                let key = f
                    .request_seq
                    .map(|rs| (r.client, r.direction.reverse(), rs));
                let waiting = key.and_then(|k| self.waiting.remove(&k));
                let mut response = Map::new();
                for k in ["success", "message", "body"] {
                    if let Some(v) = value.get(k) {
                        response.insert(k.to_owned(), v.clone());
                    }
                }
                let w = match waiting {
                    Some(w) => {
                        self.waiting_order.remove(&w.record);
                        w
                    }
                    // A response to nothing: compared on its own.
                    None => Waiting {
                        record: entry.number,
                        command: f.command.as_deref().unwrap_or_default().to_owned(),
                        arguments: Value::Null,
                    },
                };
                let mut item = exchange(w, Some(Value::Object(response)));
                item.response_record = Some(entry.number);
                self.queues[EXCHANGES].push_back(item);
            }
            _ => {
                let what = match &f.event {
                    Some(e) => format!("event `{e}`"),
                    None => "message".to_owned(),
                };
                self.queues[EVENTS].push_back(Item {
                    record: entry.number,
                    response_record: None,
                    what,
                    value,
                });
            }
        }
    }
}

fn exchange(w: Waiting, response: Option<Value>) -> Item {
    let what = if response.is_some() {
        format!("`{}`", w.command)
    } else {
        format!("unanswered request `{}`", w.command)
    };
    let mut v = Map::new();
    v.insert("command".to_owned(), Value::String(w.command));
    v.insert("arguments".to_owned(), w.arguments);
    v.insert("response".to_owned(), response.unwrap_or(Value::Null));
    Item {
        record: w.record,
        response_record: None,
        what,
        value: Value::Object(v),
    }
}

/// A message with `seq`, `request_seq` and handles dropped (and paths shortened).
pub fn normalize(mut value: Value, options: &Options) -> Value {
    if let Value::Object(m) = &mut value {
        m.remove("seq");
        m.remove("request_seq");
    }
    scrub(&mut value, options);
    value
}

fn scrub(value: &mut Value, options: &Options) {
    match value {
        Value::Object(m) => {
            // `id` is a handle everywhere but in an error `Message` (`{"id", "format"}`).
            let error_message = m.contains_key("format");
            for (k, v) in m.iter_mut() {
                let handle = HANDLE_KEYS.contains(&k.as_str()) && !(k == "id" && error_message);
                if handle && !v.is_null() {
                    *v = Value::String("<handle>".to_owned());
                } else {
                    scrub(v, options);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|v| scrub(v, options)),
        Value::String(s) if options.ignore_paths => {
            if let Some(short) = shorten_paths(s) {
                *s = short;
            }
        }
        _ => {}
    }
}

/// `s` with each absolute path replaced by `…/` and its last component, if it has one.
fn shorten_paths(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = String::new();
    let mut last = 0;
    let mut i = 0;
    let mut changed = false;
    while i < bytes.len() {
        let starts = i == 0
            || matches!(
                bytes[i - 1],
                b' ' | b'"' | b'\'' | b'(' | b'=' | b':' | b'\t' | b'\n' | b'[' | b','
            );
        let unix = bytes[i] == b'/';
        let windows = i + 2 < bytes.len()
            && bytes[i].is_ascii_alphabetic()
            && bytes[i + 1] == b':'
            && (bytes[i + 2] == b'\\' || bytes[i + 2] == b'/');
        if starts && (unix || windows) {
            let end = bytes[i..]
                .iter()
                .position(|b| matches!(b, b' ' | b'"' | b'\'' | b')' | b'\t' | b'\n' | b',' | b']'))
                .map_or(bytes.len(), |n| i + n);
            let token = &s[i..end];
            let body = if windows { &token[3..] } else { &token[1..] };
            if body.contains(['/', '\\']) || windows {
                let name = token.rsplit(['/', '\\']).next().unwrap_or(token);
                out.push_str(&s[last..i]);
                out.push('…');
                out.push('/');
                out.push_str(name);
                last = end;
                changed = true;
            }
            i = end.max(i + 1);
            continue;
        }
        i += 1;
    }
    if !changed {
        return None;
    }
    out.push_str(&s[last..]);
    Some(out)
}

/// The first place two values differ: (JSON pointer, value in a, value in b).
pub fn first_difference(a: &Value, b: &Value) -> Option<(String, Option<Value>, Option<Value>)> {
    fn walk(
        a: Option<&Value>,
        b: Option<&Value>,
        path: &mut String,
    ) -> Option<(String, Option<Value>, Option<Value>)> {
        match (a, b) {
            (Some(Value::Object(x)), Some(Value::Object(y))) => {
                for (k, va) in x {
                    let len = path.len();
                    path.push('/');
                    path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                    let found = walk(Some(va), y.get(k), path);
                    if found.is_some() {
                        return found;
                    }
                    path.truncate(len);
                }
                for (k, vb) in y {
                    if !x.contains_key(k) {
                        let mut p = path.clone();
                        p.push('/');
                        p.push_str(&k.replace('~', "~0").replace('/', "~1"));
                        return Some((p, None, Some(vb.clone())));
                    }
                }
                None
            }
            (Some(Value::Array(x)), Some(Value::Array(y))) => {
                for i in 0..x.len().max(y.len()) {
                    let len = path.len();
                    path.push('/');
                    path.push_str(&i.to_string());
                    let found = walk(x.get(i), y.get(i), path);
                    if found.is_some() {
                        return found;
                    }
                    path.truncate(len);
                }
                None
            }
            (x, y) if x == y => None,
            (x, y) => Some((path.clone(), x.cloned(), y.cloned())),
        }
    }
    walk(Some(a), Some(b), &mut String::new())
}

/// Compares two traces, streaming.
pub fn diff<RA: BufRead, RB: BufRead>(
    a: TraceReader<RA>,
    b: TraceReader<RB>,
    options: &Options,
) -> Result<Report, DiffError> {
    let mut a = Side::new('A', a);
    let mut b = Side::new('B', b);
    let mut report = Report::default();
    let window = options.window.max(1);
    loop {
        a.pull(options)?;
        b.pull(options)?;
        for q in [EXCHANGES, EVENTS] {
            compare(&mut a, &mut b, q, window, options, &mut report);
        }
        let done = a.ended
            && b.ended
            && a.queues
                .iter()
                .chain(b.queues.iter())
                .all(VecDeque::is_empty);
        if done || report.truncated {
            // Found per sequence (exchanges in the order of their responses); listed in
            // the order of the traces.
            report
                .differences
                .sort_by_key(|d| (d.a_record.or(d.b_record), d.b_record));
            return Ok(report);
        }
    }
}

fn push(report: &mut Report, d: Difference, options: &Options) {
    if report.differences.len() >= options.max_differences {
        report.truncated = true;
    } else {
        report.differences.push(d);
    }
}

/// Compares the fronts of queue `q` as far as the items read so far allow.
fn compare<RA: BufRead, RB: BufRead>(
    a: &mut Side<RA>,
    b: &mut Side<RB>,
    q: usize,
    window: usize,
    options: &Options,
    report: &mut Report,
) {
    loop {
        if report.truncated {
            return;
        }
        let (qa, qb) = (&a.queues[q], &b.queues[q]);
        match (qa.front(), qb.front()) {
            (Some(x), Some(y)) if x.value == y.value => {
                a.queues[q].pop_front();
                b.queues[q].pop_front();
            }
            (Some(_), Some(_)) => {
                // Wait for a full window on each side (or its end) before deciding.
                if (qa.len() < window && !a.ended) || (qb.len() < window && !b.ended) {
                    return;
                }
                let in_b = (1..qb.len().min(window)).find(|&k| qb[k].value == qa[0].value);
                let in_a = (1..qa.len().min(window)).find(|&k| qa[k].value == qb[0].value);
                match (in_b, in_a) {
                    (Some(k), other) if other.is_none_or(|j| k <= j) => {
                        for _ in 0..k {
                            if let Some(y) = b.queues[q].pop_front() {
                                push(report, only(None, Some(&y)), options);
                            }
                        }
                    }
                    (_, Some(j)) => {
                        for _ in 0..j {
                            if let Some(x) = a.queues[q].pop_front() {
                                push(report, only(Some(&x), None), options);
                            }
                        }
                    }
                    _ => {
                        let (Some(x), Some(y)) = (a.queues[q].pop_front(), b.queues[q].pop_front())
                        else {
                            return;
                        };
                        let (path, va, vb) =
                            first_difference(&x.value, &y.value).unwrap_or_default();
                        let what = if path.starts_with("/response") {
                            format!("response to {}", x.what)
                        } else if x.response_record.is_some() || path.starts_with("/arguments") {
                            format!("request {}", x.what)
                        } else {
                            x.what.clone()
                        };
                        push(
                            report,
                            Difference {
                                a_record: Some(x.record_for(&path)),
                                b_record: Some(y.record_for(&path)),
                                what,
                                path: Some(path),
                                a: va,
                                b: vb,
                            },
                            options,
                        );
                    }
                }
            }
            (Some(_), None) if b.ended => {
                if let Some(x) = a.queues[q].pop_front() {
                    push(report, only(Some(&x), None), options);
                }
            }
            (None, Some(_)) if a.ended => {
                if let Some(y) = b.queues[q].pop_front() {
                    push(report, only(None, Some(&y)), options);
                }
            }
            _ => return,
        }
    }
}

fn only(a: Option<&Item>, b: Option<&Item>) -> Difference {
    let item = a.or(b);
    let what = item.map_or_else(String::new, |i| {
        if i.response_record.is_some() {
            format!("request {} and its response", i.what)
        } else {
            i.what.clone()
        }
    });
    Difference {
        a_record: a.map(|i| i.record),
        b_record: b.map(|i| i.record),
        what,
        path: None,
        a: None,
        b: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_their_file_name() {
        assert_eq!(
            shorten_paths("File \"/src/demo/demo.py\", line 3").as_deref(),
            Some("File \"…/demo.py\", line 3")
        );
        assert_eq!(
            shorten_paths("C:\\work\\app.py").as_deref(),
            Some("…/app.py")
        );
        assert_eq!(shorten_paths("a/b and 3/4"), None);
        assert_eq!(shorten_paths("/"), None);
    }

    #[test]
    fn first_difference_names_the_path() {
        let a = serde_json::json!({"body": {"x": [1, 2], "y": true}});
        let b = serde_json::json!({"body": {"x": [1, 3], "y": true}});
        let d = first_difference(&a, &b);
        assert_eq!(
            d,
            Some(("/body/x/1".to_owned(), Some(2.into()), Some(3.into())))
        );
        let c = serde_json::json!({"body": {"x": [1, 2], "y": true, "z": 1}});
        assert_eq!(
            first_difference(&a, &c),
            Some(("/body/z".to_owned(), None, Some(1.into())))
        );
        assert_eq!(first_difference(&a, &a.clone()), None);
    }
}
