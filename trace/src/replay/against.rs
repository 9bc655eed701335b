//! The replaying client: sends the recorded requests to a live adapter.

use super::adapter::Outgoing;
use super::edit::set_seq;
use super::handles::HandleMap;
use super::{Entry, Kind, Script, kind_of, pair_responses};
use crate::Direction;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

/// The events a replay waits for: the DAP events that report a change of the session's
/// state. The others (`output`, `module`, `loadedSource`, `progress*`, `invalidated`,
/// `memory`, and adapters' custom events) report background activity whose count varies
/// between runs and between ways of starting the adapter, so replay does not wait for them.
pub const AWAITED_EVENTS: &[&str] = &[
    "initialized",
    "stopped",
    "continued",
    "exited",
    "terminated",
    "thread",
    "process",
    "breakpoint",
    "capabilities",
];

/// How the replaying client behaves.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct AgainstOptions {
    /// Run `runInTerminal` reverse requests (the caller runs the command, see
    /// [`Reaction::RunInTerminal`]). Off by default: they are answered `success: false`.
    pub allow_run_in_terminal: bool,
}

impl AgainstOptions {
    /// Allows (or not) running `runInTerminal`.
    pub fn with_run_in_terminal(mut self, allow: bool) -> Self {
        self.allow_run_in_terminal = allow;
        self
    }
}

/// What the replaying client does next.
#[derive(Debug)]
pub enum Step {
    /// Send this request.
    Send(Outgoing),
    /// Wait for messages from the adapter (see [`Waiting`]).
    Wait(Waiting),
    /// Everything was sent and everything the recording waited for came.
    Done,
}

/// What the next request waits for: the live session has not yet produced the events,
/// responses or reverse requests the recording had seen by then.
#[derive(Clone, Debug, PartialEq)]
pub struct Waiting {
    /// The request that waits (`record 12 (stackTrace)`), or `None` at the end of the trace.
    pub before: Option<String>,
    /// What is missing, one item each (``event `stopped` (1 of 2 came)``).
    pub missing: Vec<String>,
}

impl fmt::Display for Waiting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.before {
            Some(label) => write!(f, "before {label}: ")?,
            None => write!(f, "at the end of the trace: ")?,
        }
        write!(f, "{}", self.missing.join(", "))
    }
}

/// The live session went another way than the recording.
#[derive(Clone, Debug, PartialEq)]
pub struct Divergence {
    /// The record number in the trace.
    pub record: u64,
    /// The command (or event) concerned.
    pub command: String,
    /// What happened.
    pub message: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "record {} ({}): {}",
            self.record, self.command, self.message
        )
    }
}

impl std::error::Error for Divergence {}

/// What to do about a message from the live adapter.
#[derive(Debug)]
pub enum Reaction {
    /// Nothing to send.
    Nothing,
    /// Send this (the answer to a reverse request).
    Reply(Outgoing),
    /// A `runInTerminal` the user allowed: run it with these arguments, then pass the
    /// result to [`AgainstReplay::run_in_terminal_reply`].
    RunInTerminal {
        /// The live request's `seq`.
        seq: i64,
        /// Its `arguments`.
        arguments: Value,
    },
}

/// A client that replays the recorded requests against a live adapter.
///
/// - Requests go out in recorded order with fresh `seq`s (1, 2, …) and their handles
///   rewritten to the live ones ([`HandleMap`]), every other byte as recorded.
/// - Before each request it waits ([`Step::Wait`]) until the live session has produced
///   what the recording had seen by then: as many events of each name in
///   [`AWAITED_EVENTS`], the responses to earlier requests that had come, as many reverse
///   requests of each command. After the last request it waits likewise for what the
///   recording saw last (the adapter closing the connection then ends the replay without
///   divergence).
/// - Handles are learned by laying each live response over its recorded response, and the
///   n-th live event of a name over the n-th recorded one.
/// - Reverse requests are answered with the recorded answer (re-sequenced);
///   `runInTerminal` only when allowed ([`AgainstOptions`]), otherwise `success: false`.
/// - A request that fails live but succeeded in the recording is a [`Divergence`].
#[derive(Debug)]
pub struct AgainstReplay {
    entries: Vec<Entry>,
    answer: Vec<Option<usize>>,
    cursor: usize,
    out_seq: i64,
    options: AgainstOptions,
    handles: HandleMap,
    expected_events: BTreeMap<String, usize>,
    live_events: HashMap<String, usize>,
    expected_reverse: BTreeMap<String, usize>,
    live_reverse: HashMap<String, usize>,
    awaited: BTreeSet<usize>,
    answered: HashSet<usize>,
    question: Vec<Option<usize>>,
    sent: HashMap<i64, usize>,
    events_by_name: HashMap<String, Vec<usize>>,
    reverse_by_command: HashMap<String, Vec<usize>>,
    notes: Vec<String>,
}

impl AgainstReplay {
    /// A replaying client for `script`.
    pub fn new(script: Script, options: AgainstOptions) -> AgainstReplay {
        let entries = script.entries;
        let answer = pair_responses(&entries);
        let mut question = vec![None; entries.len()];
        for (request, response) in answer.iter().enumerate() {
            if let Some(response) = response {
                question[*response] = Some(request);
            }
        }
        let mut events_by_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut reverse_by_command: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            if e.direction != Direction::AdapterToClient {
                continue;
            }
            match &e.kind {
                Kind::Event { event } => events_by_name.entry(event.clone()).or_default().push(i),
                Kind::Request { command, .. } => reverse_by_command
                    .entry(command.clone())
                    .or_default()
                    .push(i),
                Kind::Response { .. } => {}
            }
        }
        AgainstReplay {
            entries,
            answer,
            cursor: 0,
            out_seq: 0,
            options,
            handles: HandleMap::new(),
            expected_events: BTreeMap::new(),
            live_events: HashMap::new(),
            expected_reverse: BTreeMap::new(),
            live_reverse: HashMap::new(),
            awaited: BTreeSet::new(),
            answered: HashSet::new(),
            question,
            sent: HashMap::new(),
            events_by_name,
            reverse_by_command,
            notes: Vec::new(),
        }
    }

    /// The handles learned so far.
    pub fn handles(&self) -> &HandleMap {
        &self.handles
    }

    /// The next step. Call it again after each [`Step::Send`], and after each message from
    /// the adapter while it says [`Step::Wait`].
    pub fn next_step(&mut self) -> Step {
        while let Some(entry) = self.entries.get(self.cursor) {
            let i = self.cursor;
            match (entry.direction, &entry.kind) {
                (Direction::AdapterToClient, Kind::Event { event }) => {
                    if AWAITED_EVENTS.contains(&event.as_str()) {
                        *self.expected_events.entry(event.clone()).or_default() += 1;
                    }
                }
                (Direction::AdapterToClient, Kind::Request { command, .. }) => {
                    *self.expected_reverse.entry(command.clone()).or_default() += 1;
                }
                (Direction::AdapterToClient, Kind::Response { .. }) => {
                    if let Some(request) = self.question[i]
                        && !self.answered.contains(&request)
                    {
                        self.awaited.insert(request);
                    }
                }
                (Direction::ClientToAdapter, Kind::Request { .. }) => {
                    let missing = self.missing();
                    if !missing.is_empty() {
                        return Step::Wait(Waiting {
                            before: Some(entry.label()),
                            missing,
                        });
                    }
                    self.cursor += 1;
                    return match self.request(i) {
                        Ok(out) => Step::Send(out),
                        Err(e) => {
                            self.notes
                                .push(format!("{}: not sent: {e}", self.entries[i].label()));
                            continue;
                        }
                    };
                }
                // Answers to reverse requests are made when the live one comes; the client
                // sends no events.
                (Direction::ClientToAdapter, _) => {}
            }
            self.cursor += 1;
        }
        let missing = self.missing();
        if missing.is_empty() {
            Step::Done
        } else {
            Step::Wait(Waiting {
                before: None,
                missing,
            })
        }
    }

    fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        for (name, &want) in &self.expected_events {
            let got = self.live_events.get(name).copied().unwrap_or(0);
            if got < want {
                missing.push(format!("event `{name}` ({got} of {want} came)"));
            }
        }
        for &r in &self.awaited {
            missing.push(format!("the response to {}", self.entries[r].label()));
        }
        for (command, &want) in &self.expected_reverse {
            let got = self.live_reverse.get(command).copied().unwrap_or(0);
            if got < want {
                missing.push(format!(
                    "reverse request `{command}` ({got} of {want} came)"
                ));
            }
        }
        missing
    }

    fn next_seq(&mut self) -> i64 {
        self.out_seq += 1;
        self.out_seq
    }

    fn request(&mut self, i: usize) -> Result<Outgoing, String> {
        let (text, changed) = self.handles.rewrite(&self.entries[i].text)?;
        let seq = self.next_seq();
        let text = set_seq(&text, seq, None)?;
        if changed > 0 {
            self.notes.push(format!(
                "{}: {changed} handle(s) remapped",
                self.entries[i].label()
            ));
        }
        self.sent.insert(seq, i);
        Ok(Outgoing {
            body: text.into_bytes(),
            record: Some(self.entries[i].record),
        })
    }

    /// Takes one message from the live adapter.
    pub fn on_message(&mut self, body: &[u8]) -> Result<Reaction, Divergence> {
        let value: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                self.notes.push(format!(
                    "ignored a message from the adapter that is not JSON: {e}"
                ));
                return Ok(Reaction::Nothing);
            }
        };
        match kind_of(&value) {
            Ok(Kind::Response {
                request_seq,
                success,
                ..
            }) => self.on_response(request_seq, success, &value),
            Ok(Kind::Event { event }) => {
                let n = self.live_events.entry(event.clone()).or_default();
                *n += 1;
                let nth = *n - 1;
                if let Some(&r) = self.events_by_name.get(&event).and_then(|v| v.get(nth)) {
                    self.handles.learn(&self.entries[r].value(), &value);
                }
                Ok(Reaction::Nothing)
            }
            Ok(Kind::Request { seq, command }) => Ok(self.on_reverse(seq, &command, &value)),
            Err(why) => {
                self.notes
                    .push(format!("ignored a message from the adapter: {why}"));
                Ok(Reaction::Nothing)
            }
        }
    }

    fn on_response(
        &mut self,
        request_seq: i64,
        success: bool,
        value: &Value,
    ) -> Result<Reaction, Divergence> {
        let Some(&i) = self.sent.get(&request_seq) else {
            self.notes.push(format!(
                "ignored a response to request_seq {request_seq}, which the replay did not send"
            ));
            return Ok(Reaction::Nothing);
        };
        self.awaited.remove(&i);
        if !self.answered.insert(i) {
            self.notes
                .push(format!("a second response to {}", self.entries[i].label()));
            return Ok(Reaction::Nothing);
        }
        let Some(r) = self.answer[i] else {
            return Ok(Reaction::Nothing);
        };
        let recorded = &self.entries[r];
        let recorded_success = matches!(recorded.kind, Kind::Response { success: true, .. });
        if recorded_success && !success {
            // A multi-line message (a traceback) is named by its last line.
            let why = value
                .get("message")
                .and_then(Value::as_str)
                .and_then(|m| m.lines().rev().map(str::trim).find(|l| !l.is_empty()))
                .unwrap_or("no message");
            let detail = value
                .pointer("/body/error/format")
                .and_then(Value::as_str)
                .map(|f| format!(": {f}"))
                .unwrap_or_default();
            return Err(Divergence {
                record: self.entries[i].record,
                command: self.entries[i].name().to_owned(),
                message: format!(
                    "the live adapter answered success: false ({why}{detail}); the recording succeeded"
                ),
            });
        }
        if success == recorded_success {
            self.handles.learn(&recorded.value(), value);
        } else {
            self.notes.push(format!(
                "{} succeeded live but failed in the recording",
                self.entries[i].label()
            ));
        }
        Ok(Reaction::Nothing)
    }

    fn on_reverse(&mut self, seq: i64, command: &str, value: &Value) -> Reaction {
        let n = self.live_reverse.entry(command.to_owned()).or_default();
        *n += 1;
        let nth = *n - 1;
        if command == "runInTerminal" {
            if self.options.allow_run_in_terminal {
                return Reaction::RunInTerminal {
                    seq,
                    arguments: value.get("arguments").cloned().unwrap_or(Value::Null),
                };
            }
            return Reaction::Reply(self.error_reply(
                seq,
                command,
                "dapkit replay does not run runInTerminal unless allowed (--allow-run-in-terminal)",
            ));
        }
        let recorded_reply = self
            .reverse_by_command
            .get(command)
            .and_then(|v| v.get(nth))
            .and_then(|&r| self.answer[r]);
        match recorded_reply {
            Some(reply) => {
                let seq_out = self.next_seq();
                match set_seq(&self.entries[reply].text, seq_out, Some(seq)) {
                    Ok(text) => Reaction::Reply(Outgoing {
                        body: text.into_bytes(),
                        record: Some(self.entries[reply].record),
                    }),
                    Err(e) => {
                        self.out_seq -= 1;
                        let message = format!("the recorded answer cannot be re-sequenced: {e}");
                        Reaction::Reply(self.error_reply(seq, command, &message))
                    }
                }
            }
            None => Reaction::Reply(self.error_reply(
                seq,
                command,
                &format!(
                    "the trace has no answer to reverse request `{command}` number {}",
                    nth + 1
                ),
            )),
        }
    }

    /// The answer to a `runInTerminal` the caller ran: its response body (`processId`, …)
    /// or the error message.
    pub fn run_in_terminal_reply(&mut self, seq: i64, result: Result<Value, String>) -> Outgoing {
        match result {
            Ok(body) => {
                let reply = serde_json::json!({
                    "seq": self.next_seq(),
                    "type": "response",
                    "request_seq": seq,
                    "success": true,
                    "command": "runInTerminal",
                    "body": body,
                });
                Outgoing {
                    body: reply.to_string().into_bytes(),
                    record: None,
                }
            }
            Err(message) => self.error_reply(seq, "runInTerminal", &message),
        }
    }

    fn error_reply(&mut self, seq: i64, command: &str, message: &str) -> Outgoing {
        let reply = serde_json::json!({
            "seq": self.next_seq(),
            "type": "response",
            "request_seq": seq,
            "success": false,
            "command": command,
            "message": message,
        });
        Outgoing {
            body: reply.to_string().into_bytes(),
            record: None,
        }
    }

    /// True when the replay has sent every request and only waits for what the recording saw
    /// after the last one.
    pub fn at_end(&self) -> bool {
        self.cursor >= self.entries.len()
    }

    /// The divergence a wait that timed out (or was cut short by the adapter closing the
    /// connection) amounts to; `why` says how it ended (`timed out after 30 s`).
    pub fn wait_failed(&self, waiting: &Waiting, why: &str) -> Divergence {
        let entry = self
            .entries
            .get(self.cursor)
            .filter(|_| waiting.before.is_some())
            .or_else(|| self.entries.last());
        Divergence {
            record: entry.map_or(0, |e| e.record),
            command: entry.map_or_else(String::new, |e| e.name().to_owned()),
            message: format!("{why}; waited for {}", waiting.missing.join(", ")),
        }
    }

    /// Notes gathered since the last call (remapped handles, ignored messages).
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::replay::entry_for_test as e;

    fn script() -> Script {
        use Direction::{AdapterToClient as A, ClientToAdapter as C};
        Script::from_entries(vec![
            e(
                1,
                C,
                r#"{"seq":1,"type":"request","command":"initialize","arguments":{}}"#,
            ),
            e(
                2,
                A,
                r#"{"seq":1,"type":"response","request_seq":1,"success":true,"command":"initialize"}"#,
            ),
            e(3, A, r#"{"seq":2,"type":"event","event":"initialized"}"#),
            e(
                4,
                A,
                r#"{"seq":3,"type":"event","event":"output","body":{"output":"hi"}}"#,
            ),
            e(
                5,
                C,
                r#"{"seq":2,"type":"request","command":"configurationDone"}"#,
            ),
            e(
                6,
                A,
                r#"{"seq":4,"type":"event","event":"stopped","body":{"threadId":1}}"#,
            ),
            e(
                7,
                A,
                r#"{"seq":5,"type":"request","command":"runInTerminal","arguments":{"args":["x"]}}"#,
            ),
            e(
                8,
                C,
                r#"{"seq":3,"type":"response","request_seq":5,"success":true,"command":"runInTerminal","body":{"processId":9}}"#,
            ),
            e(
                9,
                A,
                r#"{"seq":6,"type":"request","command":"startDebugging","arguments":{}}"#,
            ),
            e(
                10,
                C,
                r#"{"seq":4,"type":"response","request_seq":6,"success":true,"command":"startDebugging"}"#,
            ),
            e(
                11,
                C,
                r#"{"seq":5,"type":"request","command":"stackTrace","arguments":{"threadId":1}}"#,
            ),
            e(
                12,
                A,
                r#"{"seq":7,"type":"response","request_seq":5,"success":true,"command":"stackTrace","body":{"stackFrames":[{"id":3}]}}"#,
            ),
            e(
                13,
                A,
                r#"{"seq":8,"type":"response","request_seq":2,"success":true,"command":"configurationDone"}"#,
            ),
            e(
                14,
                C,
                r#"{"seq":6,"type":"request","command":"scopes","arguments":{"frameId":3}}"#,
            ),
            e(
                15,
                A,
                r#"{"seq":9,"type":"response","request_seq":6,"success":true,"command":"scopes"}"#,
            ),
        ])
    }

    fn sent(step: Step) -> String {
        match step {
            Step::Send(o) => String::from_utf8(o.body).expect("utf-8"),
            other => panic!("expected a request to send, got {other:?}"),
        }
    }

    fn waiting(step: Step) -> Waiting {
        match step {
            Step::Wait(w) => w,
            other => panic!("expected a wait, got {other:?}"),
        }
    }

    #[test]
    fn requests_wait_for_what_the_recording_had_seen_and_handles_are_remapped() {
        let mut r = AgainstReplay::new(script(), AgainstOptions::default());
        assert_eq!(
            sent(r.next_step()),
            r#"{"seq":1,"type":"request","command":"initialize","arguments":{}}"#
        );
        let w = waiting(r.next_step());
        assert_eq!(w.before.as_deref(), Some("record 5 (configurationDone)"));
        assert_eq!(
            w.missing,
            [
                "event `initialized` (0 of 1 came)",
                "the response to record 1 (initialize)"
            ],
            "output events are not waited for"
        );
        r.on_message(
            br#"{"seq":1,"type":"response","request_seq":1,"success":true,"command":"initialize"}"#,
        )
        .expect("no divergence");
        r.on_message(br#"{"seq":2,"type":"event","event":"initialized"}"#)
            .expect("ok");
        assert_eq!(
            sent(r.next_step()),
            r#"{"seq":2,"type":"request","command":"configurationDone"}"#
        );
        let w = waiting(r.next_step());
        assert_eq!(
            w.missing,
            [
                "event `stopped` (0 of 1 came)",
                "reverse request `runInTerminal` (0 of 1 came)",
                "reverse request `startDebugging` (0 of 1 came)"
            ]
        );
        r.on_message(br#"{"seq":3,"type":"event","event":"stopped","body":{"threadId":17}}"#)
            .expect("ok");
        // runInTerminal is refused unless allowed.
        let Ok(Reaction::Reply(reply)) = r.on_message(
            br#"{"seq":4,"type":"request","command":"runInTerminal","arguments":{"args":["x"]}}"#,
        ) else {
            panic!("a reply to runInTerminal")
        };
        let reply: Value = serde_json::from_slice(&reply.body).expect("JSON");
        assert_eq!(reply["success"], false);
        assert_eq!(reply["request_seq"], 4);
        assert_eq!(reply["seq"], 3);
        // Other reverse requests get the recorded answer, re-sequenced.
        let Ok(Reaction::Reply(reply)) = r
            .on_message(br#"{"seq":5,"type":"request","command":"startDebugging","arguments":{}}"#)
        else {
            panic!("a reply to startDebugging")
        };
        assert_eq!(
            String::from_utf8(reply.body).expect("utf-8"),
            r#"{"seq":4,"type":"response","request_seq":5,"success":true,"command":"startDebugging"}"#
        );
        // The thread id learned from `stopped` is used.
        assert_eq!(
            sent(r.next_step()),
            r#"{"seq":5,"type":"request","command":"stackTrace","arguments":{"threadId":17}}"#
        );
        r.on_message(br#"{"seq":6,"type":"response","request_seq":5,"success":true,"command":"stackTrace","body":{"stackFrames":[{"id":1000}]}}"#)
            .expect("ok");
        let w = waiting(r.next_step());
        assert_eq!(w.missing, ["the response to record 5 (configurationDone)"]);
        r.on_message(br#"{"seq":7,"type":"response","request_seq":2,"success":true,"command":"configurationDone"}"#)
            .expect("ok");
        assert_eq!(
            sent(r.next_step()),
            r#"{"seq":6,"type":"request","command":"scopes","arguments":{"frameId":1000}}"#
        );
        let w = waiting(r.next_step());
        assert_eq!(w.before, None);
        // A failure where the recording succeeded is a divergence naming the record.
        let d = r
            .on_message(br#"{"seq":8,"type":"response","request_seq":6,"success":false,"command":"scopes","message":"Traceback:\n  x\nbad frame\n"}"#)
            .expect_err("diverged");
        assert_eq!(d.record, 14);
        assert_eq!(d.command, "scopes");
        assert!(
            d.to_string().starts_with(
                "record 14 (scopes): the live adapter answered success: false (bad frame)"
            ),
            "{d}"
        );
    }

    #[test]
    fn the_end_is_reached_once_everything_came() {
        let mut r = AgainstReplay::new(
            script(),
            AgainstOptions::default().with_run_in_terminal(true),
        );
        let _ = r.next_step();
        let reaction = r
            .on_message(br#"{"seq":4,"type":"request","command":"runInTerminal","arguments":{"args":["x"]}}"#)
            .expect("ok");
        assert!(matches!(reaction, Reaction::RunInTerminal { seq: 4, .. }));
        let w = Waiting {
            before: None,
            missing: vec!["event `x` (0 of 1 came)".into()],
        };
        let d = r.wait_failed(&w, "timed out after 1 s");
        assert_eq!(
            d.to_string(),
            "record 15 (scopes): timed out after 1 s; waited for event `x` (0 of 1 came)"
        );
    }
}
