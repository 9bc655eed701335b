//! [`Shared`]: the state the client handle, the reader task, the writer task and the
//! reverse-request tasks share: the outgoing queue with the next `seq` and the pending
//! requests (a [`SendQueue`] keyed by `seq`; a timed-out or cancelled request is
//! remembered, so its late response is told apart), the session status and the adapter's
//! capabilities.

use super::error::{Diagnostic, RequestError};
use crate::wire::queue::lock;
use crate::wire::{Claim, Outgoing, QueueError, SendQueue};
use bytes::Bytes;
use dapkit_types::Envelope;
use dapkit_types::types::Capabilities;
use std::borrow::Cow;
use std::sync::{Arc, Mutex};
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

/// The client capabilities this client declared in the `initialize` it sent (reverse
/// requests are refused unless their capability was declared).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Declared {
    pub run_in_terminal: bool,
    pub start_debugging: bool,
}

impl Declared {
    /// Reads the flags from the body of an `initialize` request about to be sent.
    fn from_initialize(body: &[u8]) -> Declared {
        let arguments = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|mut v| v.get_mut("arguments").map(serde_json::Value::take))
            .unwrap_or_default();
        let flag =
            |name: &str| arguments.get(name).and_then(serde_json::Value::as_bool) == Some(true);
        Declared {
            run_in_terminal: flag("supportsRunInTerminalRequest"),
            start_debugging: flag("supportsStartDebuggingRequest"),
        }
    }
}

pub(crate) struct Shared {
    queue: SendQueue<Waiter>,
    status: watch::Sender<SessionStatus>,
    capabilities: Mutex<Option<Capabilities>>,
    declared: Mutex<Declared>,
    diagnostics: Option<DiagnosticHandler>,
}

impl Shared {
    pub fn new(
        outgoing: mpsc::UnboundedSender<Outgoing>,
        write_queue_limit: usize,
        write_through: bool,
        diagnostics: Option<DiagnosticHandler>,
    ) -> Self {
        Shared {
            queue: SendQueue::new(outgoing, write_queue_limit, write_through),
            status: watch::Sender::new(SessionStatus::default()),
            capabilities: Mutex::new(None),
            declared: Mutex::new(Declared::default()),
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
        match self.queue.send(build, waiter) {
            Ok(seq) => Ok(i64::from(seq)),
            Err(QueueError::Closed) => Err(RequestError::Closed),
            Err(QueueError::Encode(e)) => Err(RequestError::Encode(e)),
            Err(QueueError::Full { queued, limit }) => {
                Err(RequestError::WriteQueueFull { queued, limit })
            }
        }
    }

    /// Like [`send`](Shared::send) for a request with `command`; an `initialize` request
    /// also records the client capabilities it declares.
    pub fn send_request(
        &self,
        command: &str,
        build: impl FnOnce(i32) -> Result<Vec<u8>, String>,
        waiter: Waiter,
    ) -> Result<i64, RequestError> {
        if command != "initialize" {
            return self.send(build, Some(waiter));
        }
        self.send(
            |seq| {
                let body = build(seq)?;
                *lock(&self.declared) = Declared::from_initialize(&body);
                Ok(body)
            },
            Some(waiter),
        )
    }

    /// The client capabilities declared in the last `initialize` sent.
    pub fn declared(&self) -> Declared {
        *lock(&self.declared)
    }

    /// What the writer task shares with the senders.
    pub fn lend(&self) -> std::sync::Arc<crate::wire::writer::Lend> {
        self.queue.lend()
    }

    /// Queues a control message for the writer (no `seq`).
    pub fn send_control(&self, message: Outgoing) -> bool {
        self.queue.send_control(message)
    }

    /// Takes the waiter of `request_seq`.
    pub fn claim(&self, request_seq: i64) -> Claim<Waiter> {
        self.queue.claim(request_seq)
    }

    /// Forgets the request `seq` (timed out, cancelled or dropped) and resolves its waiter
    /// with `why`, if given. Returns whether it was still pending.
    pub fn abandon(&self, seq: i64, why: Option<RequestError>) -> bool {
        match (self.queue.abandon(seq, true), why) {
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
        let Some(pending) = self.queue.close(false) else {
            return;
        };
        for waiter in pending {
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
        self.queue.is_closed()
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
