//! [`Shared`]: the state the session handle, the reader and writer tasks and every
//! [`Incoming`](super::Incoming) share: the outgoing queue with the next `seq` and the
//! reverse requests waiting for their responses (a [`SendQueue`] keyed by `seq`), the
//! client's `initialize` arguments.

use super::error::{Diagnostic, DiagnosticHandler, ReverseRequestError, SendError};
use crate::wire::queue::lock;
use crate::wire::{Claim, Outgoing, QueueError, SendQueue};
use bytes::Bytes;
use dapkit_types::types::InitializeRequestArguments;
use std::sync::Mutex;
use tokio::sync::{mpsc, oneshot};

/// What a reverse request's waiter receives: the response frame, or why none will come.
pub(crate) type Reply = Result<Bytes, ReverseRequestError>;

pub(crate) struct Shared {
    queue: SendQueue<oneshot::Sender<Reply>>,
    client: Mutex<Option<InitializeRequestArguments>>,
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
        self.queue.send(build, waiter).map_err(|e| match e {
            QueueError::Closed => SendError::Closed,
            QueueError::Encode(e) => SendError::Encode(e),
            QueueError::Full { queued, limit } => SendError::WriteQueueFull { queued, limit },
        })
    }

    /// What the writer task shares with the senders.
    pub fn lend(&self) -> std::sync::Arc<crate::wire::writer::Lend> {
        self.queue.lend()
    }

    /// Queues a control message for the writer (no `seq`); false if the writer is gone.
    pub fn send_control(&self, message: Outgoing) -> bool {
        self.queue.send_control(message)
    }

    /// Takes the waiter of the reverse request `request_seq`.
    pub fn claim(&self, request_seq: i64) -> Option<oneshot::Sender<Reply>> {
        match self.queue.claim(request_seq) {
            Claim::Waiting(w) => Some(w),
            Claim::Abandoned | Claim::Unknown => None,
        }
    }

    /// Forgets the reverse request `seq` (timed out or dropped).
    pub fn abandon(&self, seq: i64) {
        self.queue.abandon(seq, false);
    }

    /// Closes the session once: later sends fail with `Closed`, waiting reverse requests
    /// fail with `Closed`, the writer writes what is queued and shuts the write half down,
    /// and a [`Diagnostic::Closed`] is reported.
    pub fn close(&self, reason: impl Into<String>) {
        // The writer's close is queued under the queue's lock: nothing can follow it.
        let Some(pending) = self.queue.close(true) else {
            return;
        };
        for waiter in pending {
            let _ = waiter.send(Err(ReverseRequestError::Closed));
        }
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
