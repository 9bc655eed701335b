//! The writer task of a session: it takes queued bodies ([`Outgoing`]), frames each whole
//! (`Content-Length` header + body) and writes them; several queued ones go out in one
//! write, up to [`WRITE_BATCH`] bytes (so besides the write-queue limit, at most one
//! batch, [`WRITE_BATCH`] bytes plus one frame, waits in the writer).
//!
//! **Write-through** (opt-in, [`Lend::new`] with `write_through`): while the writer task
//! waits with nothing queued, it leaves its state (the write half, the codec, the buffer)
//! in a [`Lend`], and a sender writes its frame there and then, on its own task, without
//! a hand-off to the writer task (the latency of a forwarded request). What the connection
//! does not take at once stays in the buffer, and the writer task is woken
//! ([`Outgoing::Resume`]) to finish it; from then on messages are queued until the writer
//! task has caught up. The [`Lend`]'s lock orders the frames written at once and the
//! messages queued: a message is either written under it or queued under it, never both.

use super::queue::{Outgoing, lock};
use bytes::{Buf, BytesMut};
use dapkit_wireformat::DapCodec;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::Encoder;

/// The writer sends what it has once this many bytes are batched.
const WRITE_BATCH: usize = 256 * 1024;

/// The write half of a session's connection, whatever its type.
type DynWriter = Box<dyn AsyncWrite + Send + Unpin>;

/// What the writer task owns while it writes, and lends while it waits.
pub(crate) struct WriterState {
    writer: DynWriter,
    codec: DapCodec,
    /// Frames not written yet (the rest of a partly written one first).
    buf: BytesMut,
    /// A write at once failed: the writer task reports it and stops.
    error: Option<io::Error>,
}

impl WriterState {
    pub fn new<W: AsyncWrite + Send + Unpin + 'static>(writer: W) -> WriterState {
        WriterState {
            writer: Box::new(writer),
            codec: DapCodec::new(),
            buf: BytesMut::with_capacity(8 * 1024),
            error: None,
        }
    }

    fn encode(&mut self, body: &[u8]) {
        // Encoding into a buffer cannot fail.
        let _ = self.codec.encode(body, &mut self.buf);
    }

    /// Writes the buffer and flushes without waiting (a no-op waker: nothing is woken;
    /// the writer task takes over what is left). True when all is written and flushed.
    fn write_now(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        while !self.buf.is_empty() {
            match Pin::new(&mut self.writer).poll_write(&mut cx, &self.buf) {
                Poll::Ready(Ok(0)) => {
                    self.error = Some(io::ErrorKind::WriteZero.into());
                    return false;
                }
                Poll::Ready(Err(e)) => {
                    self.error = Some(e);
                    return false;
                }
                Poll::Ready(Ok(n)) => self.buf.advance(n),
                Poll::Pending => return false,
            }
        }
        match Pin::new(&mut self.writer).poll_flush(&mut cx) {
            Poll::Ready(Ok(())) => true,
            Poll::Ready(Err(e)) => {
                self.error = Some(e);
                false
            }
            Poll::Pending => false,
        }
    }
}

/// Where the writer task leaves its state while it waits (when write-through is on), and
/// how many messages are queued for it: every message for the writer task goes through
/// [`Lent::queue`], so that the count is right.
pub(crate) struct Lend {
    write_through: bool,
    slot: Mutex<Slot>,
}

#[derive(Default)]
pub(crate) struct Slot {
    /// The writer's state while its task waits with nothing queued.
    idle: Option<WriterState>,
    /// Messages queued and not yet taken by the writer task.
    queued: usize,
}

/// The locked [`Lend`].
pub(crate) struct Lent<'a> {
    slot: MutexGuard<'a, Slot>,
    write_through: bool,
}

impl Lend {
    pub fn new(write_through: bool) -> Lend {
        Lend {
            write_through,
            slot: Mutex::new(Slot::default()),
        }
    }

    pub fn lock(&self) -> Lent<'_> {
        Lent {
            slot: lock(&self.slot),
            write_through: self.write_through,
        }
    }
}

impl Lent<'_> {
    /// Whether a message may be written at once: write-through is on and the writer task
    /// waits with nothing queued.
    pub fn can_write_through(&self) -> bool {
        self.write_through && self.slot.queued == 0 && self.slot.idle.is_some()
    }

    /// Writes `body` framed at once; call it only when
    /// [`can_write_through`](Lent::can_write_through) said so under this same lock. What
    /// the connection does not take at once is left to the writer task (woken through
    /// `outgoing`).
    pub fn write_through(&mut self, outgoing: &mpsc::UnboundedSender<Outgoing>, body: &[u8]) {
        let Some(state) = self.slot.idle.as_mut() else {
            return;
        };
        state.encode(body);
        if !state.write_now() {
            // The writer task finishes (or reports the error); if it is gone, the
            // session is closing and the frame cannot be written anyway.
            let _ = self.queue(outgoing, Outgoing::Resume);
        }
    }

    /// Queues `message` for the writer task; false if it is gone.
    pub fn queue(&mut self, outgoing: &mpsc::UnboundedSender<Outgoing>, message: Outgoing) -> bool {
        self.slot.queued += 1;
        if outgoing.send(message).is_err() {
            self.slot.queued -= 1;
            return false;
        }
        true
    }
}

/// Writes queued bodies, framed, until told to close, the queue ends or a write fails
/// (then `failed` is called with the error). A close (or the end of the queue) writes
/// what is batched, shuts the write half down and acknowledges.
pub(crate) async fn write_loop(
    lend: Arc<Lend>,
    state: WriterState,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
    failed: impl FnOnce(io::Error),
) {
    let mut mine = Some(state);
    let mut received = 0;
    let mut acks: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        {
            let mut slot = lend.lock();
            slot.slot.queued = slot.slot.queued.saturating_sub(received);
            received = 0;
            // Nothing queued and nothing half written: the state is lent out.
            if slot.write_through
                && slot.slot.queued == 0
                && mine
                    .as_ref()
                    .is_some_and(|s| s.buf.is_empty() && s.error.is_none())
            {
                slot.slot.idle = mine.take();
            }
        }
        let mut next = queue.recv().await;
        if mine.is_none() {
            mine = lend.lock().slot.idle.take();
        }
        let Some(state) = mine.as_mut() else {
            return;
        };
        received += 1;
        let mut close = None;
        loop {
            match next {
                Some(Outgoing::Frame(body)) => {
                    // Dropping the body frees its share of the write-queue limit.
                    state.encode(body.bytes());
                }
                Some(Outgoing::Flush(ack)) => acks.push(ack),
                Some(Outgoing::Resume) => {}
                Some(Outgoing::Close(ack)) => {
                    close = Some(ack);
                    break;
                }
                None => {
                    close = Some(None);
                    break;
                }
            }
            if state.buf.len() >= WRITE_BATCH {
                break;
            }
            match queue.try_recv() {
                Ok(m) => {
                    received += 1;
                    next = Some(m);
                }
                Err(_) => break,
            }
        }
        if let Some(e) = state.error.take() {
            failed(e);
            return;
        }
        if !state.buf.is_empty() || !acks.is_empty() {
            let written = match state.writer.write_all(&state.buf).await {
                Ok(()) => state.writer.flush().await,
                Err(e) => Err(e),
            };
            state.buf.clear();
            if let Err(e) = written {
                failed(e);
                return;
            }
            for ack in acks.drain(..) {
                let _ = ack.send(());
            }
        }
        if let Some(ack) = close {
            let _ = state.writer.shutdown().await;
            if let Some(ack) = ack {
                let _ = ack.send(());
            }
            return;
        }
    }
}
