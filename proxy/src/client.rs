//! One downstream client connection: a reader task (frames in → the hub) and a writer task
//! (a bounded queue of messages → frames out, each given the client's next `seq` as it is
//! written, so every client sees its own strictly increasing `seq`).
//!
//! The queue holds at most [`ProxyOptions::client_queue`](crate::ProxyOptions) messages.
//! The hub never waits for an observer: when an observer's queue is full it is
//! [killed](ClientTx::kill), and its writer drops what is queued, writes one last `output`
//! event saying why (given two seconds to get through) and closes the connection.

use crate::hub::{Hub, Table};
use crate::message::{compose_into, console_output_tail};
use crate::record::Recorder;
use bytes::{Bytes, BytesMut};
use dapkit_trace::Direction;
use dapkit_wireformat::{DapCodec, FrameStream, Limits};
use futures_util::StreamExt;
use std::sync::Arc;
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
}

/// The hub's handle on one client's writer.
#[derive(Clone)]
pub(crate) struct ClientTx {
    tx: mpsc::Sender<Out>,
    kill: Arc<watch::Sender<Option<String>>>,
}

impl ClientTx {
    /// Queues `out` without waiting; gives it back if the queue is full or closed.
    pub fn try_push(&self, out: Out) -> Result<(), mpsc::error::TrySendError<Out>> {
        self.tx.try_send(out)
    }

    /// Queues `out`, waiting for room (for the controller, whose queue may make the
    /// adapter wait).
    pub async fn push(&self, out: Out) {
        let _ = self.tx.send(out).await;
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
pub(crate) fn start<R, W>(
    id: u32,
    reader: R,
    writer: W,
    hub: Arc<Hub>,
    queue: usize,
    limits: Limits,
) -> (ClientTx, tokio::task::JoinHandle<()>)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, rx) = mpsc::channel(queue.max(1));
    let (kill, kill_rx) = watch::channel(None);
    let handle = ClientTx {
        tx,
        kill: Arc::new(kill),
    };
    let writer_task = tokio::spawn(write_loop(
        id,
        writer,
        rx,
        kill_rx.clone(),
        hub.table().clone(),
        hub.recorder().cloned(),
    ));
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

async fn write_loop<W: AsyncWrite + Unpin>(
    id: u32,
    mut writer: W,
    mut rx: mpsc::Receiver<Out>,
    mut kill: watch::Receiver<Option<String>>,
    table: Arc<Table>,
    recorder: Option<Recorder>,
) {
    let mut seq: i64 = 0;
    let mut codec = DapCodec::new();
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut body = Vec::with_capacity(1024);
    let mut encode = |out: Out, buf: &mut BytesMut, seq: &mut i64| -> bool {
        *seq += 1;
        body.clear();
        match out {
            Out::Msg { request_seq, tail } => compose_into(&mut body, *seq, request_seq, &tail),
            Out::Reverse { upstream_seq, tail } => {
                table.register_reverse(id, *seq, upstream_seq);
                compose_into(&mut body, *seq, None, &tail);
            }
            Out::Close => return false,
        }
        if let Some(r) = &recorder {
            r.message(Direction::AdapterToClient, id, &body);
        }
        // Encoding into a buffer cannot fail.
        let _ = codec.encode(&body[..], buf);
        true
    };
    let why = loop {
        let first = tokio::select! {
            biased;
            k = kill.wait_for(|k| k.is_some()) => break k.ok().and_then(|k| k.clone()),
            m = rx.recv() => m,
        };
        let Some(first) = first else { break None };
        let mut open = encode(first, &mut buf, &mut seq);
        while open && buf.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(m) => open = encode(m, &mut buf, &mut seq),
                Err(_) => break,
            }
        }
        // Written piece by piece, so that a kill between two pieces leaves the rest of
        // the batch to finish (frames stay whole) before the last words.
        let mut pos = 0;
        let mut killed = None;
        let mut failed = false;
        while pos < buf.len() {
            tokio::select! {
                biased;
                k = kill.wait_for(|k| k.is_some()), if killed.is_none() => {
                    killed = k.ok().and_then(|k| k.clone());
                    break;
                }
                w = writer.write(&buf[pos..]) => match w {
                    Ok(0) | Err(_) => { failed = true; break; }
                    Ok(n) => pos += n,
                },
            }
        }
        if failed {
            tracing::debug!("client {id}: the connection is closed");
            break None;
        }
        if killed.is_some() {
            let rest = buf.split_off(pos);
            buf.clear();
            buf = rest;
            break killed;
        }
        if writer.flush().await.is_err() {
            break None;
        }
        buf.clear();
        if !open {
            break None;
        }
    };
    if let Some(why) = why {
        rx.close();
        while rx.try_recv().is_ok() {}
        tracing::warn!("client {id} disconnected: {why}");
        // `buf` holds what is left of the batch being written: it goes first.
        let _ = encode(
            Out::Msg {
                request_seq: None,
                tail: console_output_tail(&format!("dapkit proxy: {why}")),
            },
            &mut buf,
            &mut seq,
        );
        let _ = tokio::time::timeout(LAST_WORDS, async {
            writer.write_all(&buf).await?;
            writer.flush().await
        })
        .await;
    }
    let _ = tokio::time::timeout(LAST_WORDS, writer.shutdown()).await;
}
