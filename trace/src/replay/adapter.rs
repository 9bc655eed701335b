//! The fake adapter: answers a live client from the recording.

use super::edit::set_seq;
use super::normalize::normalize_arguments;
use super::{Entry, Kind, Script, kind_of, pair_responses};
use crate::Direction;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};

/// How the fake adapter matches requests.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct AdapterOptions {
    /// When no recorded request of the same command has equal normalized arguments, take
    /// the first unused one of that command anyway (default true). Off: such a request
    /// gets an error response.
    pub loose: bool,
}

impl Default for AdapterOptions {
    fn default() -> Self {
        AdapterOptions { loose: true }
    }
}

impl AdapterOptions {
    /// Loose matching on or off.
    pub fn with_loose(mut self, loose: bool) -> Self {
        self.loose = loose;
        self
    }
}

/// A live request the recording could not answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Unanswered {
    /// The live request's `seq`.
    pub seq: i64,
    /// Its command.
    pub command: String,
    /// Why it could not be answered (also the error response's `message`).
    pub message: String,
}

/// A fake debug adapter driven by a recording. Feed it what the live client sends
/// ([`on_message`](Self::on_message)); it returns the messages to send back, already
/// re-sequenced (`seq` counts from 1, `request_seq` names the live request), every other
/// byte as recorded.
///
/// - A live request is matched to a recorded request of the same command: first an unused
///   one with equal normalized arguments ([`normalize_arguments`]), then a used one with
///   equal arguments (a repeated request is answered again, at once), then (loose
///   matching) the first unused one of that command. No match: an error response naming
///   the command ([`unanswered`](Self::unanswered) lists them).
/// - Its recorded response is sent once the last message the client had sent before that
///   response in the recording has arrived live (usually the request itself; debugpy's
///   `launch` response waits for `configurationDone`).
/// - Recorded events and reverse requests are sent in their recorded order, each once the
///   last response the adapter sent before it in the recording has been sent live and the
///   last message the client sent before it has arrived live (a matched request, or the
///   answer to a reverse request).
/// - Whatever is ready goes out earliest recorded first. A held response can be released
///   early ([`release_held`](Self::release_held)) when the client goes quiet.
#[derive(Debug)]
pub struct AdapterReplay {
    entries: Vec<Entry>,
    answer: Vec<Option<usize>>,
    by_args: HashMap<(String, String), usize>,
    slots: Vec<Matches>,
    slot_of: HashMap<usize, usize>,
    by_command: HashMap<String, Matches>,
    unused: usize,
    used: Vec<bool>,
    done: Vec<bool>,
    anchors: Vec<(Option<usize>, Option<usize>)>,
    queue: VecDeque<usize>,
    held: Vec<(usize, i64)>,
    reverse_sent: HashMap<i64, usize>,
    out_seq: i64,
    options: AdapterOptions,
    unanswered: Vec<Unanswered>,
    notes: Vec<String>,
}

/// The recorded requests of one key, in recorded order: those not yet used, and the last
/// one used.
#[derive(Debug, Default)]
struct Matches {
    unused: VecDeque<usize>,
    last_used: Option<usize>,
    total: usize,
}

/// The key of a request's normalized arguments (serde_json writes object members in
/// sorted order, so equal values give equal text).
fn args_key(arguments: Option<&Value>) -> String {
    normalize_arguments(arguments).to_string()
}

/// A message to send, and the recorded entry it replays (none for made-up errors).
#[derive(Clone, Debug)]
pub struct Outgoing {
    /// The frame body.
    pub body: Vec<u8>,
    /// The record it replays.
    pub record: Option<u64>,
}

impl AdapterReplay {
    /// A fake adapter for `script`.
    pub fn new(script: Script, options: AdapterOptions) -> AdapterReplay {
        let entries = script.entries;
        let answer = pair_responses(&entries);
        let mut by_args: HashMap<(String, String), usize> = HashMap::new();
        let mut slots: Vec<Matches> = Vec::new();
        let mut slot_of = HashMap::new();
        let mut by_command: HashMap<String, Matches> = HashMap::new();
        let mut unused = 0;
        for (i, e) in entries.iter().enumerate() {
            if let (Kind::Request { command, .. }, Direction::ClientToAdapter) =
                (&e.kind, e.direction)
            {
                let key = (command.clone(), args_key(e.value().get("arguments")));
                let slot = *by_args.entry(key).or_insert_with(|| {
                    slots.push(Matches::default());
                    slots.len() - 1
                });
                slot_of.insert(i, slot);
                slots[slot].unused.push_back(i);
                slots[slot].total += 1;
                let m = by_command.entry(command.clone()).or_default();
                m.unused.push_back(i);
                m.total += 1;
                unused += 1;
            }
        }
        let mut anchors = vec![(None, None); entries.len()];
        let mut queue = VecDeque::new();
        let (mut last_response, mut last_client) = (None, None);
        for (i, e) in entries.iter().enumerate() {
            match (e.direction, &e.kind) {
                (Direction::ClientToAdapter, _) => last_client = Some(i),
                (Direction::AdapterToClient, Kind::Response { .. }) => {
                    // A response waits for the client message the adapter had seen.
                    anchors[i] = (None, last_client);
                    last_response = Some(i);
                }
                (Direction::AdapterToClient, _) => {
                    anchors[i] = (last_response, last_client);
                    queue.push_back(i);
                }
            }
        }
        let n = entries.len();
        AdapterReplay {
            entries,
            answer,
            by_args,
            slots,
            slot_of,
            by_command,
            unused,
            used: vec![false; n],
            done: vec![false; n],
            anchors,
            queue,
            held: Vec::new(),
            reverse_sent: HashMap::new(),
            out_seq: 0,
            options,
            unanswered: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// What to send as soon as the client is connected (events recorded before any
    /// request).
    pub fn start(&mut self) -> Vec<Outgoing> {
        let mut out = Vec::new();
        self.flush(&mut out);
        out
    }

    /// Takes one message from the live client; returns what to send back. A body that is
    /// not a DAP message is noted ([`take_notes`](Self::take_notes)) and ignored.
    pub fn on_message(&mut self, body: &[u8]) -> Vec<Outgoing> {
        let mut out = Vec::new();
        let value: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                self.notes.push(format!(
                    "ignored a message from the client that is not JSON: {e}"
                ));
                return out;
            }
        };
        match kind_of(&value) {
            Ok(Kind::Request { seq, command }) => self.on_request(seq, &command, &value, &mut out),
            Ok(Kind::Response { request_seq, .. }) => {
                match self.reverse_sent.remove(&request_seq) {
                    Some(i) => {
                        if let Some(reply) = self.answer[i] {
                            self.done[reply] = true;
                        }
                    }
                    None => self.notes.push(format!(
                        "ignored a response to request_seq {request_seq}, which is no reverse request sent by the replay"
                    )),
                }
            }
            Ok(Kind::Event { event }) => self
                .notes
                .push(format!("ignored an event `{event}` from the client")),
            Err(why) => self
                .notes
                .push(format!("ignored a message from the client: {why}")),
        }
        self.flush(&mut out);
        out
    }

    fn on_request(&mut self, seq: i64, command: &str, value: &Value, out: &mut Vec<Outgoing>) {
        let key = (command.to_owned(), args_key(value.get("arguments")));
        let used = &self.used;
        let first_unused = |m: &mut Matches| {
            while m.unused.front().is_some_and(|&i| used[i]) {
                m.unused.pop_front();
            }
            m.unused.front().copied()
        };
        let exact = match self.by_args.get(&key) {
            Some(&slot) => self.slots.get_mut(slot),
            None => None,
        };
        let chosen = match exact {
            Some(m) => first_unused(m)
                .map(|i| (i, "equal arguments"))
                .or_else(|| m.last_used.map(|i| (i, "a repeated request"))),
            None => None,
        };
        let chosen = chosen.or_else(|| {
            if !self.options.loose {
                return None;
            }
            self.by_command
                .get_mut(command)
                .and_then(first_unused)
                .map(|i| (i, "the command only (arguments differ)"))
        });
        let Some((i, how)) = chosen else {
            let (recorded, used) = self.by_command.get(command).map_or((0, 0), |m| {
                let unused = m.unused.iter().filter(|&&i| !self.used[i]).count();
                (m.total, m.total - unused)
            });
            let message = if recorded == 0 {
                format!("dapkit replay: the trace has no `{command}` request")
            } else {
                format!(
                    "dapkit replay: no `{command}` request of the trace matches these arguments ({recorded} recorded, {used} used)"
                )
            };
            let error = serde_json::json!({
                "seq": self.next_seq(),
                "type": "response",
                "request_seq": seq,
                "success": false,
                "command": command,
                "message": message,
            });
            out.push(Outgoing {
                body: error.to_string().into_bytes(),
                record: None,
            });
            self.unanswered.push(Unanswered {
                seq,
                command: command.to_owned(),
                message,
            });
            return;
        };
        let repeated = self.used[i];
        if !repeated {
            self.unused -= 1;
        }
        self.used[i] = true;
        if let Some(m) = self.slot_of.get(&i).and_then(|&s| self.slots.get_mut(s)) {
            m.last_used = Some(i);
        }
        self.done[i] = true;
        if how != "equal arguments" {
            self.notes.push(format!(
                "live request {seq} ({command}) matched {} by {how}",
                self.entries[i].label()
            ));
        }
        let Some(r) = self.answer[i] else {
            self.notes.push(format!(
                "{} was never answered in the recording; no response is sent",
                self.entries[i].label()
            ));
            return;
        };
        if repeated {
            // Asked again: answered again at once, nothing else moves.
            self.send_response(r, seq, out);
        } else {
            self.held.push((r, seq));
        }
    }

    fn send_response(&mut self, r: usize, request_seq: i64, out: &mut Vec<Outgoing>) {
        let seq_out = self.next_seq();
        let response = &self.entries[r];
        match set_seq(&response.text, seq_out, Some(request_seq)) {
            Ok(text) => out.push(Outgoing {
                body: text.into_bytes(),
                record: Some(response.record),
            }),
            Err(e) => self
                .notes
                .push(format!("{}: cannot re-sequence: {e}", response.label())),
        }
        self.done[r] = true;
    }

    fn next_seq(&mut self) -> i64 {
        self.out_seq += 1;
        self.out_seq
    }

    fn met(&self, i: usize) -> bool {
        let (response, client) = self.anchors[i];
        response.is_none_or(|a| self.done[a]) && client.is_none_or(|a| self.done[a])
    }

    /// Sends the held responses and queued events and reverse requests whose anchors are
    /// met, earliest recorded first.
    fn flush(&mut self, out: &mut Vec<Outgoing>) {
        loop {
            let held = (0..self.held.len())
                .filter(|&h| self.met(self.held[h].0))
                .min_by_key(|&h| self.held[h].0);
            let queued = self.queue.front().copied().filter(|&i| self.met(i));
            match (held, queued) {
                (Some(h), q) if q.is_none_or(|q| self.held[h].0 < q) => {
                    let (r, request_seq) = self.held.swap_remove(h);
                    self.send_response(r, request_seq, out);
                }
                (_, Some(i)) => {
                    self.queue.pop_front();
                    self.send_queued(i, out);
                }
                (_, None) => return,
            }
        }
    }

    fn send_queued(&mut self, i: usize, out: &mut Vec<Outgoing>) {
        self.done[i] = true;
        let seq = self.next_seq();
        let entry = &self.entries[i];
        match set_seq(&entry.text, seq, None) {
            Ok(text) => {
                if matches!(entry.kind, Kind::Request { .. }) {
                    self.reverse_sent.insert(seq, i);
                }
                out.push(Outgoing {
                    body: text.into_bytes(),
                    record: Some(entry.record),
                });
            }
            Err(e) => self
                .notes
                .push(format!("{}: cannot re-sequence: {e}", entry.label())),
        }
    }

    /// True when a matched request's response is held back, waiting for a client message
    /// the recording had seen before it.
    pub fn is_holding(&self) -> bool {
        !self.held.is_empty()
    }

    /// Sends the earliest held response even though its anchor has not arrived (for when
    /// the client has gone quiet: it may be waiting for that very response, unlike the
    /// recorded client), then whatever that unblocks.
    pub fn release_held(&mut self) -> Vec<Outgoing> {
        let mut out = Vec::new();
        if let Some(h) = (0..self.held.len()).min_by_key(|&h| self.held[h].0) {
            let (r, request_seq) = self.held.swap_remove(h);
            self.notes.push(format!(
                "{}: sent without waiting longer for {}",
                self.entries[r].label(),
                self.anchors[r]
                    .1
                    .map_or_else(String::new, |a| self.entries[a].label())
            ));
            self.send_response(r, request_seq, &mut out);
        }
        self.flush(&mut out);
        out
    }

    /// True when everything recorded has been sent and every recorded request that was
    /// answered has been asked for: the recorded session is over.
    pub fn is_finished(&self) -> bool {
        self.queue.is_empty() && self.held.is_empty() && self.unused == 0
    }

    /// What is still waiting (for a log line when the client leaves early).
    pub fn pending(&self) -> String {
        let unused = self
            .entries
            .iter()
            .enumerate()
            .filter(|(i, e)| {
                e.direction == Direction::ClientToAdapter
                    && matches!(e.kind, Kind::Request { .. })
                    && !self.used[*i]
            })
            .count();
        let next = self
            .queue
            .front()
            .map(|&i| format!("; next message to send: {}", self.entries[i].label()))
            .unwrap_or_default();
        format!(
            "{unused} recorded requests never asked for, {} messages never sent{next}",
            self.queue.len()
        )
    }

    /// The live requests that got an error response because the recording could not
    /// answer them.
    pub fn unanswered(&self) -> &[Unanswered] {
        &self.unanswered
    }

    /// Notes gathered since the last call (loose matches, ignored messages).
    pub fn take_notes(&mut self) -> Vec<String> {
        std::mem::take(&mut self.notes)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::replay::entry_for_test as e;

    fn texts(out: &[Outgoing]) -> Vec<String> {
        out.iter()
            .map(|o| String::from_utf8(o.body.clone()).expect("utf-8"))
            .collect()
    }

    fn script() -> Script {
        use Direction::{AdapterToClient as A, ClientToAdapter as C};
        Script::from_entries(vec![
            e(
                1,
                C,
                r#"{"seq":1,"type":"request","command":"initialize","arguments":{"clientID":"x"}}"#,
            ),
            e(
                2,
                A,
                r#"{"seq":1,"type":"response","request_seq":1,"success":true,"command":"initialize","body":{"a":1}}"#,
            ),
            e(
                3,
                C,
                r#"{"seq":2,"type":"request","command":"launch","arguments":{"program":"p"}}"#,
            ),
            e(4, A, r#"{"seq":2,"type":"event","event":"initialized"}"#),
            e(
                5,
                C,
                r#"{"seq":3,"type":"request","command":"configurationDone"}"#,
            ),
            e(
                6,
                A,
                r#"{"seq":3,"type":"response","request_seq":3,"success":true,"command":"configurationDone"}"#,
            ),
            e(
                7,
                A,
                r#"{"seq":4,"type":"response","request_seq":2,"success":true,"command":"launch"}"#,
            ),
            e(
                8,
                A,
                r#"{"seq":5, "type":"event","event":"stopped","body":{"threadId":1}}"#,
            ),
            e(9, C, r#"{"seq":4,"type":"request","command":"threads"}"#),
            e(
                10,
                A,
                r#"{"seq":6,"type":"response","request_seq":4,"success":true,"command":"threads","body":{"threads":[{"id":1,"name":"main"}]}}"#,
            ),
        ])
    }

    #[test]
    fn responses_are_resequenced_and_events_wait_for_their_anchors() {
        let mut r = AdapterReplay::new(script(), AdapterOptions::default());
        assert!(r.start().is_empty());
        let out = r.on_message(br#"{"seq":10,"type":"request","command":"initialize","arguments":{"clientID":"x","__sessionId":"s"}}"#);
        assert_eq!(
            texts(&out),
            [
                r#"{"seq":1,"type":"response","request_seq":10,"success":true,"command":"initialize","body":{"a":1}}"#
            ]
        );
        // `initialized` was recorded after `launch` arrived: it waits for the live launch;
        // the launch response was recorded after `configurationDone` arrived: it waits too.
        let out = r.on_message(
            br#"{"seq":11,"type":"request","command":"launch","arguments":{"program":"p"}}"#,
        );
        assert_eq!(
            texts(&out),
            [r#"{"seq":2,"type":"event","event":"initialized"}"#]
        );
        // `stopped` was recorded after the launch response and configurationDone.
        let out = r.on_message(br#"{"seq":12,"type":"request","command":"configurationDone"}"#);
        assert_eq!(
            texts(&out),
            [
                r#"{"seq":3,"type":"response","request_seq":12,"success":true,"command":"configurationDone"}"#,
                r#"{"seq":4,"type":"response","request_seq":11,"success":true,"command":"launch"}"#,
                r#"{"seq":5, "type":"event","event":"stopped","body":{"threadId":1}}"#
            ]
        );
        assert!(!r.is_finished());
        let out = r.on_message(br#"{"seq":13,"type":"request","command":"threads"}"#);
        assert_eq!(out.len(), 1);
        assert!(r.is_finished());
        // Asked again: answered again.
        let out = r.on_message(br#"{"seq":14,"type":"request","command":"threads"}"#);
        assert_eq!(
            texts(&out),
            [
                r#"{"seq":7,"type":"response","request_seq":14,"success":true,"command":"threads","body":{"threads":[{"id":1,"name":"main"}]}}"#
            ]
        );
        assert!(r.unanswered().is_empty());
    }

    #[test]
    fn a_request_the_trace_cannot_answer_gets_an_error_naming_it() {
        let mut r = AdapterReplay::new(script(), AdapterOptions::default().with_loose(false));
        let out = r.on_message(
            br#"{"seq":1,"type":"request","command":"evaluate","arguments":{"expression":"x"}}"#,
        );
        let v: Value = serde_json::from_slice(&out[0].body).expect("JSON");
        assert_eq!(v["success"], false);
        assert_eq!(v["request_seq"], 1);
        assert_eq!(v["command"], "evaluate");
        assert!(
            v["message"]
                .as_str()
                .is_some_and(|m| m.contains("no `evaluate` request"))
        );
        // Strict: different arguments do not match.
        let out = r.on_message(
            br#"{"seq":2,"type":"request","command":"launch","arguments":{"program":"q"}}"#,
        );
        let v: Value = serde_json::from_slice(&out[0].body).expect("JSON");
        assert_eq!(v["success"], false);
        assert_eq!(r.unanswered().len(), 2);
        assert_eq!(r.unanswered()[1].command, "launch");
        assert_eq!(
            r.unanswered()[1].message,
            "dapkit replay: no `launch` request of the trace matches these arguments (1 recorded, 0 used)"
        );
        // Loose: the first unused launch answers (its response, and `initialized`, once
        // their anchors are met).
        let mut r = AdapterReplay::new(script(), AdapterOptions::default());
        let out = r.on_message(
            br#"{"seq":2,"type":"request","command":"launch","arguments":{"program":"q"}}"#,
        );
        assert!(out.is_empty(), "initialize was not asked for yet");
        assert!(r.unanswered().is_empty());
        assert!(r.take_notes()[0].contains("arguments differ"));
        let out = r.on_message(
            br#"{"seq":3,"type":"request","command":"initialize","arguments":{"clientID":"x"}}"#,
        );
        assert_eq!(out.len(), 2, "initialize response and initialized");
        assert!(
            r.is_holding(),
            "the launch response waits for configurationDone"
        );
        let out = r.release_held();
        let v: Value = serde_json::from_slice(&out[0].body).expect("JSON");
        assert_eq!(
            (v["command"].as_str(), v["request_seq"].as_i64()),
            (Some("launch"), Some(2))
        );
    }

    #[test]
    fn reverse_requests_are_sent_and_the_live_answer_unblocks_what_followed_it() {
        use Direction::{AdapterToClient as A, ClientToAdapter as C};
        let script = Script::from_entries(vec![
            e(1, C, r#"{"seq":1,"type":"request","command":"launch"}"#),
            e(
                2,
                A,
                r#"{"seq":1,"type":"request","command":"runInTerminal","arguments":{"args":["x"]}}"#,
            ),
            e(
                3,
                C,
                r#"{"seq":2,"type":"response","request_seq":1,"success":true,"command":"runInTerminal","body":{"processId":9}}"#,
            ),
            e(
                4,
                A,
                r#"{"seq":2,"type":"event","event":"process","body":{"name":"x"}}"#,
            ),
            e(
                5,
                A,
                r#"{"seq":3,"type":"response","request_seq":1,"success":true,"command":"launch"}"#,
            ),
        ]);
        let mut r = AdapterReplay::new(script, AdapterOptions::default());
        let out = r.on_message(br#"{"seq":7,"type":"request","command":"launch"}"#);
        assert_eq!(
            texts(&out),
            [r#"{"seq":1,"type":"request","command":"runInTerminal","arguments":{"args":["x"]}}"#]
        );
        // An answer to something never asked is ignored.
        assert!(
            r.on_message(
                br#"{"seq":8,"type":"response","request_seq":5,"success":true,"command":"x"}"#
            )
            .is_empty()
        );
        assert!(r.take_notes()[0].contains("request_seq 5"));
        let out = r.on_message(br#"{"seq":9,"type":"response","request_seq":1,"success":true,"command":"runInTerminal","body":{"processId":1}}"#);
        assert_eq!(
            texts(&out),
            [
                r#"{"seq":2,"type":"event","event":"process","body":{"name":"x"}}"#,
                r#"{"seq":3,"type":"response","request_seq":7,"success":true,"command":"launch"}"#
            ]
        );
        assert!(r.is_finished());
    }
}
