//! [`Shared`]: the state the session handle, the reader and writer tasks and every
//! [`Incoming`](super::Incoming) share: the next `seq`, the reverse requests waiting for
//! their responses, the outgoing queue, the client's `initialize` arguments.
//!
//! Allocating a `seq` and queueing the frame happen under one lock, so frames leave in
//! `seq` order even when many tasks send at once.

use super::error::{Diagnostic, DiagnosticHandler, ReverseRequestError, SendError};
use bytes::Bytes;
use dapkit_types::types::InitializeRequestArguments;
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use tokio::sync::{mpsc, oneshot};

/// What a reverse request's waiter receives: the response frame, or why none will come.
pub(crate) type Reply = Result<Bytes, ReverseRequestError>;

/// What goes to the writer task.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// One message body (JSON); the writer frames it.
    Frame(Vec<u8>),
    /// Acknowledge once everything queued before is written and flushed.
    Flush(oneshot::Sender<()>),
    /// Flush, shut the write half down and stop; acknowledge (if asked) when done.
    Close(Option<oneshot::Sender<()>>),
}

struct State {
    next_seq: i32,
    pending: HashMap<i64, oneshot::Sender<Reply>>,
    closed: bool,
}

pub(crate) struct Shared {
    state: Mutex<State>,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    client: Mutex<Option<InitializeRequestArguments>>,
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
                closed: false,
            }),
            outgoing,
            client: Mutex::new(None),
            diagnostics,
        }
    }

    /// Allocates the next `seq`, builds the message body with it, registers `waiter` (for
    /// a reverse request) under that `seq` and queues the body, all under one lock.
    pub fn send(
        &self,
        build: impl FnOnce(i32) -> Result<Vec<u8>, String>,
        waiter: Option<oneshot::Sender<Reply>>,
    ) -> Result<i32, SendError> {
        let mut state = lock(&self.state);
        if state.closed {
            return Err(SendError::Closed);
        }
        let seq = state.next_seq;
        if seq == i32::MAX {
            return Err(SendError::Encode(
                "the session has used every seq number up to 2147483647".into(),
            ));
        }
        let body = build(seq).map_err(SendError::Encode)?;
        self.outgoing
            .send(Outgoing::Frame(body))
            .map_err(|_| SendError::Closed)?;
        state.next_seq = seq + 1;
        if let Some(w) = waiter {
            state.pending.insert(i64::from(seq), w);
        }
        Ok(seq)
    }

    /// Queues a control message for the writer (no `seq`); false if the writer is gone.
    pub fn send_control(&self, message: Outgoing) -> bool {
        self.outgoing.send(message).is_ok()
    }

    /// Takes the waiter of the reverse request `request_seq`.
    pub fn claim(&self, request_seq: i64) -> Option<oneshot::Sender<Reply>> {
        lock(&self.state).pending.remove(&request_seq)
    }

    /// Forgets the reverse request `seq` (timed out or dropped).
    pub fn abandon(&self, seq: i64) {
        lock(&self.state).pending.remove(&seq);
    }

    /// Closes the session once: later sends fail with `Closed`, waiting reverse requests
    /// fail with `Closed`, the writer writes what is queued and shuts the write half down,
    /// and a [`Diagnostic::Closed`] is reported.
    pub fn close(&self, reason: impl Into<String>) {
        let pending = {
            let mut state = lock(&self.state);
            if state.closed {
                return;
            }
            state.closed = true;
            // Under the lock: nothing can be queued after it.
            let _ = self.outgoing.send(Outgoing::Close(None));
            std::mem::take(&mut state.pending)
        };
        for (_, waiter) in pending {
            let _ = waiter.send(Err(ReverseRequestError::Closed));
        }
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

    pub fn client(&self) -> Option<InitializeRequestArguments> {
        lock(&self.client).clone()
    }

    /// Reads a client capability: `None` before `initialize`.
    pub fn client_flag(&self, read: impl Fn(&InitializeRequestArguments) -> bool) -> Option<bool> {
        lock(&self.client).as_ref().map(read)
    }

    pub fn set_client(&self, arguments: InitializeRequestArguments) {
        *lock(&self.client) = Some(arguments);
    }
}
