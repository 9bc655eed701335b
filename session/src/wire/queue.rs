//! [`SendQueue`]: the outgoing side of a session's shared state. It allocates the next
//! `seq`, builds the message body with it, registers the waiter of a request under that
//! `seq` and queues the body for the writer, all under one lock, so frames leave in `seq`
//! order even when many tasks send at once. Responses are routed back to their waiters
//! by `request_seq` ([`SendQueue::claim`]).
//!
//! Memory bounds: the bodies queued for the writer and not yet taken by it add up to at
//! most the write-queue limit (a send that would pass it fails with
//! [`QueueError::Full`], nothing queued); a frame written through
//! ([`super::writer`]) is never queued, and what the connection did not take of it (at
//! most that one frame) waits in the writer's buffer, counted as a queued message until
//! the writer task has written it; at most [`ABANDONED_LIMIT`] abandoned requests
//! are remembered (the oldest is forgotten first).

use super::writer::Lend;
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::{mpsc, oneshot};

/// How many abandoned (timed-out, cancelled, dropped) requests are remembered so that a
/// late response to one is told apart; past it the oldest is forgotten and its response,
/// should it still come, is reported as unknown.
pub(crate) const ABANDONED_LIMIT: usize = 1024;

/// The default write-queue limit: bytes of message bodies waiting for the writer.
pub(crate) const DEFAULT_WRITE_QUEUE_LIMIT: usize = 16 << 20;

/// A queued message body; its bytes count against the write-queue limit until the writer
/// has taken it (dropped).
#[derive(Debug)]
pub(crate) struct Body {
    bytes: Vec<u8>,
    queued: Arc<AtomicUsize>,
}

impl Body {
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        self.queued.fetch_sub(self.bytes.len(), Ordering::Relaxed);
    }
}

/// What goes to the writer task.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// One message body (JSON); the writer frames it.
    Frame(Body),
    /// Acknowledge once everything queued before is written and flushed.
    Flush(oneshot::Sender<()>),
    /// Flush, shut the write half down and stop; acknowledge (if asked) when done.
    Close(Option<oneshot::Sender<()>>),
    /// Finish what a write-through left half written.
    Resume,
}

/// Why [`SendQueue::send`] queued nothing.
#[derive(Debug)]
pub(crate) enum QueueError {
    /// The session is closed, or the writer is gone.
    Closed,
    /// The body could not be built, or the `seq` numbers are exhausted.
    Encode(String),
    /// The peer does not read fast enough: `queued` bytes wait for the writer, and this
    /// body would pass the `limit`.
    Full { queued: usize, limit: usize },
}

/// What a response's `request_seq` finds.
pub(crate) enum Claim<W> {
    /// A request waits for it.
    Waiting(W),
    /// The request was abandoned with `remember` (timed out or cancelled).
    Abandoned,
    /// No request with that `seq` waits (never sent, or forgotten).
    Unknown,
}

struct State<W> {
    next_seq: i32,
    pending: HashMap<i64, W>,
    /// `seq`s grow, so the first is the oldest.
    abandoned: BTreeSet<i64>,
    closed: bool,
}

/// The `seq` counter, the waiters of the requests sent (of type `W`) and the sender of
/// the writer's queue.
pub(crate) struct SendQueue<W> {
    state: Mutex<State<W>>,
    outgoing: mpsc::UnboundedSender<Outgoing>,
    /// The writer task's count of queued messages, and its state while it waits.
    lend: Arc<Lend>,
    /// Bytes of bodies queued and not yet taken by the writer.
    queued: Arc<AtomicUsize>,
    limit: usize,
}

/// Locks `m`, going on with the data of a poisoned lock (the data stays consistent: no
/// code path panics half-way through an update).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<W> SendQueue<W> {
    /// A queue feeding `outgoing`, holding at most `limit` bytes of bodies the writer has
    /// not taken yet; with `write_through`, a body is written by its sender when the
    /// writer task waits with nothing queued (see [`super::writer`]).
    pub fn new(
        outgoing: mpsc::UnboundedSender<Outgoing>,
        limit: usize,
        write_through: bool,
    ) -> Self {
        SendQueue {
            lend: Arc::new(Lend::new(write_through)),
            state: Mutex::new(State {
                next_seq: 1,
                pending: HashMap::new(),
                abandoned: BTreeSet::new(),
                closed: false,
            }),
            outgoing,
            queued: Arc::new(AtomicUsize::new(0)),
            limit,
        }
    }

    /// Allocates the next `seq`, builds the message body with it, registers `waiter` (if
    /// any) under that `seq` and queues the body, all under one lock.
    pub fn send(
        &self,
        build: impl FnOnce(i32) -> Result<Vec<u8>, String>,
        waiter: Option<W>,
    ) -> Result<i32, QueueError> {
        let mut state = lock(&self.state);
        if state.closed {
            return Err(QueueError::Closed);
        }
        let seq = state.next_seq;
        if seq == i32::MAX {
            return Err(QueueError::Encode(
                "the session has used every seq number up to 2147483647".into(),
            ));
        }
        let bytes = build(seq).map_err(QueueError::Encode)?;
        let mut lent = self.lend.lock();
        if lent.can_write_through() {
            state.next_seq = seq + 1;
            if let Some(w) = waiter {
                state.pending.insert(i64::from(seq), w);
            }
            // The write call is made without the state lock (the reader task claims
            // responses under it), under the writer's lock alone, which the next sender
            // takes after this one: frames still leave in `seq` order.
            drop(state);
            lent.write_through(&self.outgoing, &bytes);
            return Ok(seq);
        }
        // Under the state lock, so two senders cannot both pass the check.
        let queued = self.queued.load(Ordering::Relaxed);
        if queued > 0 && queued + bytes.len() > self.limit {
            // One body is always let through (however large) when nothing waits.
            return Err(QueueError::Full {
                queued,
                limit: self.limit,
            });
        }
        self.queued.fetch_add(bytes.len(), Ordering::Relaxed);
        let body = Body {
            bytes,
            queued: self.queued.clone(),
        };
        if !lent.queue(&self.outgoing, Outgoing::Frame(body)) {
            return Err(QueueError::Closed);
        }
        state.next_seq = seq + 1;
        if let Some(w) = waiter {
            state.pending.insert(i64::from(seq), w);
        }
        Ok(seq)
    }

    /// Queues a control message for the writer (no `seq`); false if the writer is gone.
    pub fn send_control(&self, message: Outgoing) -> bool {
        self.lend.lock().queue(&self.outgoing, message)
    }

    /// What the writer task shares with the senders ([`super::writer::write_loop`]).
    pub fn lend(&self) -> Arc<Lend> {
        self.lend.clone()
    }

    /// Takes the waiter of `request_seq`.
    pub fn claim(&self, request_seq: i64) -> Claim<W> {
        let mut state = lock(&self.state);
        if let Some(w) = state.pending.remove(&request_seq) {
            Claim::Waiting(w)
        } else if state.abandoned.remove(&request_seq) {
            Claim::Abandoned
        } else {
            Claim::Unknown
        }
    }

    /// Forgets the request `seq` and returns its waiter if it was still pending. With
    /// `remember` (and the session open), a response that still comes is claimed as
    /// [`Claim::Abandoned`] rather than [`Claim::Unknown`]; of the requests remembered so,
    /// only the latest [`ABANDONED_LIMIT`] are kept.
    pub fn abandon(&self, seq: i64, remember: bool) -> Option<W> {
        let mut state = lock(&self.state);
        let waiter = state.pending.remove(&seq);
        if remember && waiter.is_some() && !state.closed {
            state.abandoned.insert(seq);
            while state.abandoned.len() > ABANDONED_LIMIT {
                state.abandoned.pop_first();
            }
        }
        waiter
    }

    /// Closes the queue once: later sends fail with [`QueueError::Closed`]. Returns the
    /// waiters still pending, or `None` if it was closed already. With `close_writer`,
    /// [`Outgoing::Close`] is queued under the lock, so nothing can be queued after it.
    pub fn close(&self, close_writer: bool) -> Option<Vec<W>> {
        let mut state = lock(&self.state);
        if state.closed {
            return None;
        }
        state.closed = true;
        if close_writer {
            let _ = self
                .lend
                .lock()
                .queue(&self.outgoing, Outgoing::Close(None));
        }
        state.abandoned.clear();
        Some(std::mem::take(&mut state.pending).into_values().collect())
    }

    pub fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }
}
