//! One downstream client connection: a reader task (frames in → the hub) and a writer task
//! (a bounded queue of messages → frames out, each given the client's next `seq` as it is
//! written, so every client sees its own strictly increasing `seq`).
//!
//! A response (or reverse request) for a client with nothing queued, whose writer task is
//! waiting, is written at once by the task that has it ([`ClientTx::push_now`]: the hub
//! on the adapter's reader task), without a hand-off to the writer task; what the
//! connection does not take at once is finished by the writer task. Events go through the
//! queue, so that a flood is written in large batches.
//!
//! The queue holds at most [`ProxyOptions::client_queue`](crate::ProxyOptions) messages.
//! The hub never waits for an observer: when an observer's queue is full it is
//! [killed](ClientTx::kill), and its writer drops what is queued, writes one last `output`
//! event saying why (given two seconds to get through) and closes the connection.

use crate::hub::{Hub, Table};
use crate::message::{compose_into, console_output_tail};
use crate::record::Recorder;
use bytes::{Buf, Bytes, BytesMut};
use dapkit_trace::Direction;
use dapkit_transport::BoxedWriter;
use dapkit_wireformat::{DapCodec, FrameStream, Limits};
use futures_util::StreamExt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio_util::codec::Encoder;

/// The writer sends what it has batched once this many bytes are waiting.
const WRITE_BATCH: usize = 256 * 1024;

/// How long a killed client's writer tries to get its last message out.
const LAST_WORDS: Duration = Duration::from_secs(2);

/// A message on its way to one client; the writer gives it the client's next `seq`.
#[derive(Debug)]
pub(crate) enum Out {
    /// A response (`request_seq` given) or an event (none): `{"seq":N[,"request_seq":M],tail}`.
    Msg {
        request_seq: Option<i64>,
        tail: Bytes,
    },
    /// A reverse request: the writer registers its client-side `seq` in the table (so the
    /// client's answer can be mapped back to `upstream_seq`) before writing it.
    Reverse { upstream_seq: i64, tail: Bytes },
    /// Everything before it is written; then the connection is closed.
    Close,
    /// Wakes the writer task to finish what [`ClientTx::push_now`] began writing.
    Resume,
}

/// The writer's side of a client connection: owned by the writer task while it writes,
/// left in [`Slot::idle`] while it waits, so that a message can be written at once by
/// whoever queues it ([`ClientTx::push_now`]) without a hand-off to the writer task.
struct WriterState {
    writer: BoxedWriter,
    seq: i64,
    codec: DapCodec,
    /// Frames not written yet (the rest of a partly written one first).
    buf: BytesMut,
    body: Vec<u8>,
    /// A write at once failed: the connection is closed.
    failed: bool,
}

#[derive(Default)]
struct Slot {
    /// The writer while its task waits for the queue.
    idle: Option<WriterState>,
    /// Messages queued and not yet taken by the writer task.
    queued: usize,
}

/// What a client's handle and its writer task share.
struct Shared {
    id: u32,
    table: Arc<Table>,
    recorder: Option<Recorder>,
    slot: Mutex<Slot>,
}

impl Shared {
    fn slot(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Frames `out` into the state's buffer with the client's next `seq`; false for
    /// [`Out::Close`].
    fn encode(&self, state: &mut WriterState, out: Out) -> bool {
        let WriterState {
            seq,
            codec,
            buf,
            body,
            ..
        } = state;
        body.clear();
        match out {
            Out::Msg { request_seq, tail } => {
                *seq += 1;
                compose_into(body, *seq, request_seq, &tail);
            }
            Out::Reverse { upstream_seq, tail } => {
                *seq += 1;
                self.table.register_reverse(self.id, *seq, upstream_seq);
                compose_into(body, *seq, None, &tail);
            }
            Out::Resume => return true,
            Out::Close => return false,
        }
        if let Some(r) = &self.recorder {
            r.message(Direction::AdapterToClient, self.id, body);
        }
        // Encoding into a buffer cannot fail.
        let _ = codec.encode(&body[..], buf);
        true
    }
}

/// How far a write at once got.
enum Now {
    /// All written and flushed.
    Done,
    /// The connection takes no more now: the writer task finishes.
    Later,
}

/// Writes the state's buffer without waiting (a no-op waker: nothing is woken, the writer
/// task takes over what is left).
fn write_now(state: &mut WriterState) -> Now {
    let mut cx = Context::from_waker(Waker::noop());
    while !state.buf.is_empty() {
        match Pin::new(&mut state.writer).poll_write(&mut cx, &state.buf) {
            Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                state.failed = true;
                return Now::Later;
            }
            Poll::Ready(Ok(n)) => state.buf.advance(n),
            Poll::Pending => return Now::Later,
        }
    }
    match Pin::new(&mut state.writer).poll_flush(&mut cx) {
        Poll::Ready(Ok(())) => Now::Done,
        Poll::Ready(Err(_)) => {
            state.failed = true;
            Now::Later
        }
        Poll::Pending => Now::Later,
    }
}

/// The hub's handle on one client's writer.
#[derive(Clone)]
pub(crate) struct ClientTx {
    tx: mpsc::Sender<Out>,
    kill: Arc<watch::Sender<Option<String>>>,
    shared: Arc<Shared>,
}

impl ClientTx {
    /// Queues `out` without waiting; gives it back if the queue is full or closed.
    pub fn try_push(&self, out: Out) -> Result<(), mpsc::error::TrySendError<Out>> {
        let mut slot = self.shared.slot();
        slot.queued += 1;
        let sent = self.tx.try_send(out);
        if sent.is_err() {
            slot.queued -= 1;
        }
        sent
    }

    /// Writes `out` at once when nothing is queued for the client and its writer task is
    /// waiting (the latency of a response: no hand-off to another task); otherwise, or for
    /// what the connection does not take at once, as [`try_push`](ClientTx::try_push).
    pub fn push_now(&self, out: Out) -> Result<(), mpsc::error::TrySendError<Out>> {
        if matches!(out, Out::Close | Out::Resume) || self.kill.borrow().is_some() {
            return self.try_push(out);
        }
        let mut slot = self.shared.slot();
        if slot.queued > 0 {
            drop(slot);
            return self.try_push(out);
        }
        let Some(state) = slot.idle.as_mut() else {
            drop(slot);
            return self.try_push(out);
        };
        self.shared.encode(state, out);
        if let Now::Later = write_now(state) {
            // The queue is empty: the writer task is woken to finish.
            slot.queued += 1;
            if self.tx.try_send(Out::Resume).is_err() {
                slot.queued -= 1;
            }
        }
        Ok(())
    }

    /// Queues `out`, waiting for room (for the controller, whose queue may make the
    /// adapter wait).
    pub async fn push(&self, out: Out) {
        self.shared.slot().queued += 1;
        if self.tx.send(out).await.is_err() {
            self.shared.slot().queued -= 1;
        }
    }

    /// [`kill`](ClientTx::kill), the reason made only by the first call (a full queue is
    /// met by every message until the client is gone).
    pub fn kill_with(&self, why: impl FnOnce() -> String) {
        if self.kill.borrow().is_none() {
            self.kill(why());
        }
    }

    /// Disconnects the client: queued messages are dropped, `why` is written as a last
    /// `output` event (category `console`), the connection is closed.
    pub fn kill(&self, why: String) {
        self.kill.send_if_modified(|k| {
            if k.is_some() {
                return false;
            }
            *k = Some(why);
            true
        });
    }
}

/// Starts the reader and writer tasks of client `id` and returns the writer's handle and
/// a future that ends when both tasks have.
pub(crate) fn start<R>(
    id: u32,
    reader: R,
    writer: BoxedWriter,
    hub: Arc<Hub>,
    queue: usize,
    limits: Limits,
) -> (ClientTx, tokio::task::JoinHandle<()>)
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::channel(queue.max(1));
    let (kill, kill_rx) = watch::channel(None);
    let shared = Arc::new(Shared {
        id,
        table: hub.table().clone(),
        recorder: hub.recorder().cloned(),
        slot: Mutex::new(Slot::default()),
    });
    let handle = ClientTx {
        tx,
        kill: Arc::new(kill),
        shared: shared.clone(),
    };
    let state = WriterState {
        writer,
        seq: 0,
        codec: DapCodec::new(),
        buf: BytesMut::with_capacity(16 * 1024),
        body: Vec::with_capacity(1024),
        failed: false,
    };
    let writer_task = tokio::spawn(write_loop(shared, state, rx, kill_rx.clone()));
    let both = tokio::spawn(async move {
        read_loop(id, reader, hub.clone(), kill_rx, limits).await;
        hub.client_gone(id).await;
        let _ = writer_task.await;
    });
    (handle, both)
}

async fn read_loop<R: AsyncRead + Unpin>(
    id: u32,
    reader: R,
    hub: Arc<Hub>,
    mut kill: watch::Receiver<Option<String>>,
    limits: Limits,
) {
    let mut frames = FrameStream::new(reader).with_limits(limits);
    loop {
        let next = tokio::select! {
            biased;
            _ = kill.wait_for(|k| k.is_some()) => return,
            next = frames.next() => next,
        };
        match next {
            None => return,
            Some(Ok(bytes)) => hub.on_client_message(id, bytes).await,
            Some(Err(e)) if e.is_recoverable() => {
                tracing::warn!("client {id}: skipped bad input: {e}");
                if let Some(r) = hub.recorder() {
                    r.invalid(Direction::ClientToAdapter, id, &[], &e.to_string());
                }
            }
            Some(Err(e)) => {
                tracing::info!("client {id}: cannot read on: {e}");
                return;
            }
        }
    }
}

async fn write_loop(
    shared: Arc<Shared>,
    state: WriterState,
    mut rx: mpsc::Receiver<Out>,
    mut kill: watch::Receiver<Option<String>>,
) {
    let id = shared.id;
    let mut mine = Some(state);
    let mut received = 0;
    let why = loop {
        // Nothing waits and nothing is half written: the writer is left where a message
        // can be written at once.
        {
            let mut slot = shared.slot();
            slot.queued = slot.queued.saturating_sub(received);
            received = 0;
            let parked =
                slot.queued == 0 && mine.as_ref().is_some_and(|s| s.buf.is_empty() && !s.failed);
            if parked {
                slot.idle = mine.take();
            }
        }
        let next = tokio::select! {
            biased;
            k = kill.wait_for(|k| k.is_some()) => Err(k.ok().and_then(|k| k.clone())),
            m = rx.recv() => Ok(m),
        };
        if mine.is_none() {
            mine = shared.slot().idle.take();
        }
        let Some(state) = mine.as_mut() else {
            break None;
        };
        let first = match next {
            Err(killed) => break killed,
            Ok(None) => break None,
            Ok(Some(first)) => first,
        };
        received += 1;
        let mut open = shared.encode(state, first);
        while open && state.buf.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(m) => {
                    received += 1;
                    open = shared.encode(state, m);
                }
                Err(_) => break,
            }
        }
        if state.failed {
            tracing::debug!("client {id}: the connection is closed");
            break None;
        }
        // Written piece by piece, so that a kill between two pieces leaves the rest of
        // the batch to finish (frames stay whole) before the last words.
        let mut killed = None;
        let mut failed = false;
        while !state.buf.is_empty() {
            tokio::select! {
                biased;
                k = kill.wait_for(|k| k.is_some()), if killed.is_none() => {
                    killed = k.ok().and_then(|k| k.clone());
                    break;
                }
                w = state.writer.write(&state.buf) => match w {
                    Ok(0) | Err(_) => { failed = true; break; }
                    Ok(n) => state.buf.advance(n),
                },
            }
        }
        if failed {
            tracing::debug!("client {id}: the connection is closed");
            break None;
        }
        if killed.is_some() {
            break killed;
        }
        if state.writer.flush().await.is_err() {
            break None;
        }
        if !open {
            break None;
        }
    };
    if mine.is_none() {
        mine = shared.slot().idle.take();
    }
    let Some(mut state) = mine else { return };
    if let Some(why) = why {
        rx.close();
        while rx.try_recv().is_ok() {}
        tracing::warn!("client {id} disconnected: {why}");
        // `buf` holds what is left of the batch being written: it goes first.
        let _ = shared.encode(
            &mut state,
            Out::Msg {
                request_seq: None,
                tail: console_output_tail(&format!("dapkit proxy: {why}")),
            },
        );
        let WriterState { writer, buf, .. } = &mut state;
        let _ = tokio::time::timeout(LAST_WORDS, async {
            writer.write_all(buf).await?;
            writer.flush().await
        })
        .await;
    }
    let _ = tokio::time::timeout(LAST_WORDS, state.writer.shutdown()).await;
}
