//! The validator: schema findings per message, session rules across messages.

use super::{Finding, capabilities, ids};
use crate::Direction;
use crate::summary::{Answer, Entry, Kind, Pairing};
use dapkit_types::traits::Direction as Sender;
use dapkit_types::validate::Rule as SchemaRule;
use dapkit_types::{Event, ProtocolMessage, Request, Response, Validate};
use serde_json::Value;
use std::collections::{HashMap, HashSet};

/// foldhash, seeded per process: these are looked up for every record.
type Hasher = foldhash::fast::RandomState;

/// The most clients whose session rules are followed (a proxy's trace has several).
pub const MAX_CLIENTS: usize = 1024;
/// The most capability names remembered per side and client.
pub const MAX_CAPABILITIES: usize = 1024;

/// What is known of one client's session.
#[derive(Debug, Default)]
struct Session {
    /// Whether the client has sent a request yet.
    client_requested: bool,
    /// Whether the `initialize` response has been seen.
    initialize_answered: bool,
    /// The client's capabilities that are true (from `initialize` arguments).
    client_caps: HashSet<String, Hasher>,
    /// The adapter's capabilities that are true (`initialize` response, `capabilities` events).
    adapter_caps: HashSet<String, Hasher>,
    /// Whether the client has sent `configurationDone`.
    configuration_done: bool,
    /// A `launch`/`attach` answered before any `configurationDone`: a finding if one comes.
    early_launch: Option<Finding>,
    /// The last `seq` per direction (c2a, a2c).
    last_seq: [Option<i64>; 2],
    /// Whether `seq` 0 was reported per direction.
    seq_zero_seen: [bool; 2],
}

/// Checks entries one at a time; see the [module docs](super) for the bounds.
#[derive(Debug, Default)]
pub struct Validator {
    sessions: HashMap<u32, Session, Hasher>,
    too_many_reported: bool,
    records: u64,
    violations: Vec<dapkit_types::Violation>,
}

fn dir_index(d: Direction) -> usize {
    match d {
        Direction::ClientToAdapter => 0,
        Direction::AdapterToClient => 1,
    }
}

fn side(d: Direction) -> &'static str {
    match d {
        Direction::ClientToAdapter => "the client",
        Direction::AdapterToClient => "the adapter",
    }
}

/// Notes the flags of `object` (its `true`/`false` members) in the set of names that are
/// true: a `true` adds its name (up to [`MAX_CAPABILITIES`]), a `false` takes it out.
fn note_flags(object: &impl dapkit_types::private::Members, into: &mut HashSet<String, Hasher>) {
    crate::flags::flags(object, |name, value| {
        if !value {
            into.remove(name);
        } else if into.len() < MAX_CAPABILITIES && !into.contains(name) {
            into.insert(name.to_owned());
        }
    });
}

/// Whether a message kept as JSON has `threadId: "*"` in its arguments or body.
fn has_thread_id_star(raw: &dapkit_types::RawMessage) -> bool {
    let star = |v: Option<&Value>| v.and_then(|v| v.get("threadId")).is_some_and(|t| t == "*");
    star(raw.arguments()) || star(raw.body())
}

impl Validator {
    /// A validator at the start of a trace.
    pub fn new() -> Validator {
        Validator::default()
    }

    /// How many entries were checked.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Checks one entry, passing findings to `out`.
    pub fn check(&mut self, entry: &Entry, out: &mut impl FnMut(Finding)) {
        self.records += 1;
        let msg = match &entry.message {
            Ok(m) => m,
            Err(e) => {
                out(Finding::at(ids::INVALID_MESSAGE, entry, e.clone()));
                return;
            }
        };
        let seq_zero = self.schema(entry, msg, out);
        let client = entry.record.client;
        if !self.sessions.contains_key(&client) && self.sessions.len() >= MAX_CLIENTS {
            if !self.too_many_reported {
                self.too_many_reported = true;
                out(Finding::at(
                    ids::TOO_MANY_CLIENTS,
                    entry,
                    format!(
                        "client {client} is past the {MAX_CLIENTS} clients followed; its session rules are not checked"
                    ),
                ));
            }
            return;
        }
        let session = self.sessions.entry(client).or_default();
        session.check(entry, msg, seq_zero, out);
    }

    /// Schema findings of one message; returns whether its `seq` is 0 (a quirk, reported
    /// once per side by the session).
    fn schema(
        &mut self,
        entry: &Entry,
        msg: &ProtocolMessage,
        out: &mut impl FnMut(Finding),
    ) -> bool {
        self.violations.clear();
        match msg {
            ProtocolMessage::Request(r) => {
                r.validate_into(&mut String::new(), &mut self.violations)
            }
            ProtocolMessage::Response(r) => {
                r.validate_into(&mut String::new(), &mut self.violations)
            }
            ProtocolMessage::Event(e) => e.validate_into(&mut String::new(), &mut self.violations),
            ProtocolMessage::Custom(raw) => {
                let mut f = Finding::at(
                    ids::SCHEMA,
                    entry,
                    match raw.kind() {
                        Some(k) => format!("/type: `{k}` is not request, response or event"),
                        None => "/type: missing".to_owned(),
                    },
                );
                f.path = Some("/type".to_owned());
                out(f);
            }
        }
        let raw = match msg {
            ProtocolMessage::Request(Request::Custom(raw))
            | ProtocolMessage::Response(Response::Custom(raw))
            | ProtocolMessage::Event(Event::Custom(raw)) => Some(raw),
            _ => None,
        };
        let mut seq_zero = false;
        for v in self.violations.drain(..) {
            match &v.rule {
                SchemaRule::Minimum { value, .. }
                    if v.path == "/seq" && value.as_i64() == Some(0) =>
                {
                    seq_zero = true;
                }
                SchemaRule::IllTyped { value } if value == "*" && v.path.ends_with("/threadId") => {
                    let mut f = Finding::at(
                        ids::THREAD_ID_STAR,
                        entry,
                        format!("{}: threadId is \"*\"", v.path),
                    );
                    f.path = Some(v.path.clone());
                    out(f);
                }
                SchemaRule::NotInEnum { value, .. }
                    if value == "process" && v.path == "/body/startMethod" =>
                {
                    let mut f = Finding::at(ids::START_METHOD_PROCESS, entry, v.to_string());
                    f.path = Some(v.path.clone());
                    out(f);
                }
                SchemaRule::Untyped { .. } if raw.is_some_and(has_thread_id_star) => {
                    out(Finding::at(
                        ids::THREAD_ID_STAR,
                        entry,
                        "threadId is \"*\" (the message is kept as JSON)",
                    ));
                }
                _ => {
                    let mut f = Finding::at(ids::SCHEMA, entry, v.to_string());
                    f.path = Some(if v.path.is_empty() {
                        "/".to_owned()
                    } else {
                        v.path.clone()
                    });
                    out(f);
                }
            }
        }
        if let ProtocolMessage::Response(Response::Error(e)) = msg {
            if e.body.is_none() && !e.extra.contains_key("body") {
                out(Finding::at(
                    ids::ERROR_WITHOUT_BODY,
                    entry,
                    "failed response without `body` (the schema requires `body`, with an optional `error`)",
                ));
            }
        }
        seq_zero
    }

    /// The findings that need the end of the trace: requests never answered (from
    /// `pairing`) and forgotten ones.
    pub fn finish(self, pairing: &Pairing, out: &mut impl FnMut(Finding)) {
        for p in pairing.waiting() {
            let mut f = Finding::general(
                ids::REQUEST_UNANSWERED,
                format!("request from {} was never answered", side(p.direction)),
            );
            f.record = Some(p.record);
            f.seq = Some(p.seq);
            f.command = p.command.as_deref().map(str::to_owned);
            out(f);
        }
        if pairing.evicted() > 0 {
            out(Finding::general(
                ids::PAIRING_LIMIT,
                format!(
                    "{} requests were forgotten unanswered: more than the pairing limit waited at once",
                    pairing.evicted()
                ),
            ));
        }
    }
}

impl Session {
    fn check(
        &mut self,
        entry: &Entry,
        msg: &ProtocolMessage,
        seq_zero: bool,
        out: &mut impl FnMut(Finding),
    ) {
        let dir = entry.record.direction;
        let f = &entry.facts;

        // seq strictly increasing per direction; 0 is the lldb-dap/delve quirk.
        let i = dir_index(dir);
        if seq_zero {
            if !self.seq_zero_seen[i] {
                self.seq_zero_seen[i] = true;
                out(Finding::at(
                    ids::SEQ_ZERO,
                    entry,
                    format!(
                        "seq 0 from {} (seq starts at 1); further ones from this side are not reported",
                        side(dir)
                    ),
                ));
            }
        } else if let Some(seq) = f.seq {
            if let Some(last) = self.last_seq[i] {
                if seq <= last {
                    out(Finding::at(
                        ids::SEQ_NOT_INCREASING,
                        entry,
                        format!(
                            "seq {seq} from {} is not greater than its previous seq {last}",
                            side(dir)
                        ),
                    ));
                }
            }
            self.last_seq[i] = Some(seq);
        }

        match f.kind {
            Kind::Request => self.request(entry, msg, out),
            Kind::Response => self.response(entry, msg, out),
            Kind::Event => self.event(entry, msg, out),
            Kind::Other | Kind::Invalid => {}
        }
    }

    fn request(&mut self, entry: &Entry, msg: &ProtocolMessage, out: &mut impl FnMut(Finding)) {
        let command = entry.facts.command.as_deref().unwrap_or_default();
        let gate = capabilities::gate(command);
        match entry.record.direction {
            Direction::ClientToAdapter => {
                if !self.client_requested {
                    self.client_requested = true;
                    if command != "initialize" {
                        out(Finding::at(
                            ids::INITIALIZE_FIRST,
                            entry,
                            format!("the client's first request is `{command}`, not `initialize`"),
                        ));
                    }
                }
                if let ProtocolMessage::Request(Request::Initialize(init)) = msg {
                    note_flags(&init.arguments, &mut self.client_caps);
                }
                if command == "configurationDone" {
                    self.configuration_done = true;
                    if let Some(f) = self.early_launch.take() {
                        out(f);
                    }
                }
                if let Some(cap) = gate
                    .filter(|g| g.direction == Sender::ToAdapter)
                    .and_then(|g| g.capability)
                {
                    if !self.adapter_caps.contains(cap) {
                        out(Finding::at(
                            ids::CAPABILITY_NOT_ADVERTISED,
                            entry,
                            format!(
                                "`{command}` needs the adapter capability `{cap}`, which it has not advertised"
                            ),
                        ));
                    }
                }
            }
            Direction::AdapterToClient => {
                if let Some(cap) = gate
                    .filter(|g| g.direction == Sender::ToClient)
                    .and_then(|g| g.capability)
                {
                    if !self.client_caps.contains(cap) {
                        out(Finding::at(
                            ids::REVERSE_REQUEST_CAPABILITY,
                            entry,
                            format!(
                                "reverse request `{command}` needs the client capability `{cap}`, which the client did not declare in `initialize`"
                            ),
                        ));
                    }
                }
            }
        }
    }

    fn response(&mut self, entry: &Entry, msg: &ProtocolMessage, out: &mut impl FnMut(Finding)) {
        let f = &entry.facts;
        let command = f.command.as_deref().unwrap_or_default();
        let request_seq = f
            .request_seq
            .map_or_else(|| "?".to_owned(), |s| s.to_string());
        let paired = match &entry.answer {
            Some(Answer::Paired(p)) => p,
            Some(Answer::Duplicate { first }) => {
                out(Finding::at(
                    ids::RESPONSE_DUPLICATE,
                    entry,
                    format!("request {request_seq} was already answered by record {first}"),
                ));
                return;
            }
            Some(Answer::Unknown) | None => {
                out(Finding::at(
                    ids::RESPONSE_UNKNOWN_REQUEST,
                    entry,
                    format!(
                        "response to request_seq {request_seq}, but {} sent no request with that seq that is waiting for an answer",
                        side(entry.record.direction.reverse())
                    ),
                ));
                return;
            }
        };
        let asked = paired.command.as_deref().unwrap_or_default();
        if asked != command {
            out(Finding::at(
                ids::RESPONSE_COMMAND_MISMATCH,
                entry,
                format!(
                    "response command `{command}` does not match `{asked}` of the request it answers (record {})",
                    paired.request_record
                ),
            ));
        }
        if entry.record.direction != Direction::AdapterToClient {
            return;
        }
        match asked {
            "initialize" => {
                self.initialize_answered = true;
                if let ProtocolMessage::Response(Response::Initialize(r)) = msg {
                    if let Some(caps) = &r.body {
                        note_flags(caps, &mut self.adapter_caps);
                    }
                }
            }
            "launch" | "attach" if f.success == Some(true) && !self.configuration_done => {
                // Only a finding if the client sends configurationDone later.
                self.early_launch = Some(Finding::at(
                    ids::LAUNCH_BEFORE_CONFIGURATION_DONE,
                    entry,
                    format!("`{asked}` was answered before the client sent `configurationDone`"),
                ));
            }
            _ => {}
        }
    }

    fn event(&mut self, entry: &Entry, msg: &ProtocolMessage, out: &mut impl FnMut(Finding)) {
        match msg {
            ProtocolMessage::Event(Event::Initialized(_)) if !self.initialize_answered => {
                out(Finding::at(
                    ids::INITIALIZED_EARLY,
                    entry,
                    "`initialized` event before the `initialize` response",
                ));
            }
            ProtocolMessage::Event(Event::Capabilities(c)) => {
                note_flags(&c.body.capabilities, &mut self.adapter_caps);
            }
            _ => {}
        }
    }
}
