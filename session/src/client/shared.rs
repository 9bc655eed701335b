//! [`Shared`]: the state the client handle, the reader task, the writer task and the
//! reverse-request tasks share: the next `seq`, the pending requests, the outgoing queue,
//! the session status and the adapter's capabilities.
//!
//! Allocating a `seq`, registering the waiter and queueing the frame happen under one
//! lock, so frames leave in `seq` order even when many tasks send at once.

use super::envelope::Envelope;
use super::error::{Diagnostic, RequestError};
use bytes::Bytes;
use dapkit_types::types::Capabilities;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, oneshot, watch};

/// Called with every [`Diagnostic`] the session reports.
pub type DiagnosticHandler = Arc<dyn Fn(Diagnostic) + Send + Sync>;

/// A response on its way to the request that waits for it: the routing members and the
/// frame bytes (decoded into their typed form by the waiting task).
#[derive(Debug)]
pub(crate) struct Reply {
    pub envelope: Envelope,
    pub bytes: Bytes,
    /// The command of the request it answers.
    pub command: Cow<'static, str>,
}

pub(crate) type ReplySender = oneshot::Sender<Result<Reply, RequestError>>;
pub(crate) type ReplyReceiver = oneshot::Receiver<Result<Reply, RequestError>>;

/// A request waiting for its response.
pub(crate) struct Waiter {
    pub tx: ReplySender,
    pub command: Cow<'static, str>,
}

/// What the reader found for a response's `request_seq`.
pub(crate) enum Claim {
    /// A request waits for it.
    Waiting(Waiter),
    /// The request timed out or was cancelled.
    Abandoned,
    /// This client never sent such a request.
    Unknown,
}

/// What goes to the writer task.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// One message body (JSON); the writer frames it.
    Frame(Vec<u8>),
    /// Flush, shut the write half down and stop; acknowledge when done.
    Close(Option<oneshot::Sender<()>>),
}

/// What the session has seen of the debuggee's and the connection's end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionStatus {
    /// A `terminated` event arrived.
    pub terminated: bool,
    /// An `exited` event arrived, with this exit code.
    pub exit_code: Option<i32>,
    /// The session is closed: nothing more can be sent.
    pub closed: bool,
}

struct State {
    next_seq: i32,
    pending: HashMap<i64, Waiter>,
    abandoned: HashSet<i64>,
    closed: bool,
}

pub(crate) struct Shared {
    state: Mutex<State>,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    status: watch::Sender<SessionStatus>,
    capabilities: Mutex<Option<Capabilities>>,
    diagnostics: Option<DiagnosticHandler>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    pub fn new(
        outgoing: mpsc::UnboundedSender<Outgoing>,
        diagnostics: Option<DiagnosticHandler>,
    ) -> Self {
        Shared {
            state: Mutex::new(State {
                next_seq: 1,
                pending: HashMap::new(),
                abandoned: HashSet::new(),
                closed: false,
            }),
            outgoing,
            status: watch::Sender::new(SessionStatus::default()),
            capabilities: Mutex::new(None),
            diagnostics,
        }
    }

    /// Allocates the next `seq`, builds the message body with it, registers `waiter` (if
    /// any) under that `seq` and queues the body, all under one lock.
    pub fn send(
        &self,
        build: impl FnOnce(i32) -> Result<Vec<u8>, String>,
        waiter: Option<Waiter>,
    ) -> Result<i64, RequestError> {
        let mut state = lock(&self.state);
        if state.closed {
            return Err(RequestError::Closed);
        }
        let seq = state.next_seq;
        if seq == i32::MAX {
            return Err(RequestError::Encode(
                "the session has used every seq number up to 2147483647".into(),
            ));
        }
        let body = build(seq).map_err(RequestError::Encode)?;
        self.outgoing
            .send(Outgoing::Frame(body))
            .map_err(|_| RequestError::Closed)?;
        state.next_seq = seq + 1;
        let seq = i64::from(seq);
        if let Some(w) = waiter {
            state.pending.insert(seq, w);
        }
        Ok(seq)
    }

    /// Queues a control message for the writer (no `seq`).
    pub fn send_control(&self, message: Outgoing) -> bool {
        self.outgoing.send(message).is_ok()
    }

    /// Takes the waiter of `request_seq`.
    pub fn claim(&self, request_seq: i64) -> Claim {
        let mut state = lock(&self.state);
        if let Some(w) = state.pending.remove(&request_seq) {
            Claim::Waiting(w)
        } else if state.abandoned.remove(&request_seq) {
            Claim::Abandoned
        } else {
            Claim::Unknown
        }
    }

    /// Forgets the request `seq` (timed out, cancelled or dropped) and resolves its waiter
    /// with `why`, if given. Returns whether it was still pending.
    pub fn abandon(&self, seq: i64, why: Option<RequestError>) -> bool {
        let waiter = {
            let mut state = lock(&self.state);
            let waiter = state.pending.remove(&seq);
            if waiter.is_some() && !state.closed {
                state.abandoned.insert(seq);
            }
            waiter
        };
        match (waiter, why) {
            (Some(w), Some(why)) => {
                let _ = w.tx.send(Err(why));
                true
            }
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// Closes the session once: later sends fail with `Closed`, pending requests fail with
    /// `Closed` (or `Io` when `io` is given), and a [`Diagnostic::Closed`] is reported.
    pub fn close(&self, reason: impl Into<String>, io: Option<Arc<std::io::Error>>) {
        let pending = {
            let mut state = lock(&self.state);
            if state.closed {
                return;
            }
            state.closed = true;
            state.abandoned.clear();
            std::mem::take(&mut state.pending)
        };
        for (_, waiter) in pending {
            let error = match &io {
                Some(e) => RequestError::Io(e.clone()),
                None => RequestError::Closed,
            };
            let _ = waiter.tx.send(Err(error));
        }
        self.status.send_modify(|s| s.closed = true);
        self.diagnose(Diagnostic::Closed {
            reason: reason.into(),
        });
    }

    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    pub fn diagnose(&self, diagnostic: Diagnostic) {
        if let Some(handler) = &self.diagnostics {
            handler(diagnostic);
        }
    }

    pub fn status(&self) -> &watch::Sender<SessionStatus> {
        &self.status
    }

    pub fn capabilities(&self) -> Option<Capabilities> {
        lock(&self.capabilities).clone()
    }

    pub fn set_capabilities(&self, caps: Capabilities) {
        *lock(&self.capabilities) = Some(caps);
    }

    /// Merges a `capabilities` event into what is known: members it carries replace.
    pub fn merge_capabilities(&self, update: &Capabilities) {
        let mut current = lock(&self.capabilities);
        let merged = match current.as_ref() {
            None => update.clone(),
            Some(old) => {
                let (Ok(serde_json::Value::Object(mut base)), Ok(serde_json::Value::Object(new))) =
                    (serde_json::to_value(old), serde_json::to_value(update))
                else {
                    return;
                };
                base.extend(new);
                match serde_json::from_value(serde_json::Value::Object(base)) {
                    Ok(c) => c,
                    Err(_) => update.clone(),
                }
            }
        };
        *current = Some(merged);
    }
}
