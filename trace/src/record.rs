//! The recorder: forwards the bytes of a session unchanged and records them.
//!
//! [`forward`] copies one direction (read → write → flush) and only then hands a copy of
//! the bytes to the [`Recorder`], whose thread splits them into records ([`Tap`]) and
//! writes them. Recording never touches the forwarded bytes and runs beside the
//! forwarding, not in its path; the only coupling is the bounded queue between them
//! ([`QUEUE_CHUNKS`] chunks of at most [`CHUNK`] bytes): if the disk falls that far
//! behind, forwarding waits for it rather than letting memory grow.

use crate::format::Direction;
use crate::tap::Tap;
use std::io::{self, Write};
use std::time::{Instant, SystemTime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// The largest chunk [`forward`] reads at once.
pub const CHUNK: usize = 64 * 1024;

/// How many chunks may wait for the recorder thread (at most 16 MiB with [`CHUNK`]).
pub const QUEUE_CHUNKS: usize = 256;

enum Event {
    Bytes {
        direction: Direction,
        client: u32,
        data: Vec<u8>,
        time: SystemTime,
        instant: Instant,
    },
    End {
        direction: Direction,
        client: u32,
    },
}

/// Where [`forward`] sends what it copied; cheap to clone (one per direction/client).
#[derive(Clone, Debug)]
pub struct RecordHandle {
    tx: mpsc::Sender<Event>,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Bytes {
                direction, data, ..
            } => write!(f, "Bytes({direction}, {} bytes)", data.len()),
            Event::End { direction, .. } => write!(f, "End({direction})"),
        }
    }
}

impl RecordHandle {
    /// Records bytes seen now (they should already be forwarded).
    pub async fn seen(&self, direction: Direction, client: u32, data: &[u8]) {
        let event = Event::Bytes {
            direction,
            client,
            data: data.to_vec(),
            time: SystemTime::now(),
            instant: Instant::now(),
        };
        // The recorder thread is gone only after a failure that `finish` reports.
        let _ = self.tx.send(event).await;
    }

    /// The stream going `direction` for `client` ended.
    pub async fn end(&self, direction: Direction, client: u32) {
        let _ = self.tx.send(Event::End { direction, client }).await;
    }
}

/// A thread writing a trace from what [`forward`] copies.
#[derive(Debug)]
pub struct Recorder {
    handle: RecordHandle,
    thread: std::thread::JoinHandle<io::Result<()>>,
}

impl Recorder {
    /// Starts the recorder thread over `tap`; `finish` runs once the tap is done.
    pub fn start<W, F>(tap: Tap<W>, finish: F) -> io::Result<Recorder>
    where
        W: Write + Send + 'static,
        F: FnOnce(crate::TraceWriter<W>) -> io::Result<()> + Send + 'static,
    {
        let (tx, mut rx) = mpsc::channel::<Event>(QUEUE_CHUNKS);
        let thread = std::thread::Builder::new()
            .name("dapkit-recorder".into())
            .spawn(move || {
                let mut tap = tap;
                let mut failed: Option<io::Error> = None;
                while let Some(event) = rx.blocking_recv() {
                    if failed.is_some() {
                        continue; // keep draining so forwarding never waits on a dead recorder
                    }
                    let result = match event {
                        Event::Bytes {
                            direction,
                            client,
                            data,
                            time,
                            instant,
                        } => tap.seen_at(direction, client, &data, time, instant),
                        Event::End { direction, client } => tap.end(direction, client),
                    };
                    if let Err(e) = result {
                        failed = Some(e);
                    }
                }
                if let Some(e) = failed {
                    return Err(e);
                }
                finish(tap.finish()?)
            })?;
        Ok(Recorder {
            handle: RecordHandle { tx },
            thread,
        })
    }

    /// A handle for [`forward`].
    pub fn handle(&self) -> RecordHandle {
        self.handle.clone()
    }

    /// Waits until every handle is dropped and everything is written; returns the first
    /// write error, if any.
    pub async fn finish(self) -> io::Result<()> {
        let Recorder { handle, thread } = self;
        drop(handle);
        tokio::task::spawn_blocking(move || {
            thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the recorder thread panicked")))
        })
        .await
        .unwrap_or_else(|e| Err(io::Error::other(e)))
    }
}

/// Copies `from` to `to` until `from` ends, then shuts `to` down (its peer reads EOF).
/// Every chunk is written and flushed before it is handed to `record`. Returns the number
/// of bytes copied; a failed write ends the copy with that error (the bytes read are
/// recorded all the same: the peer sent them).
pub async fn forward<R, W>(
    mut from: R,
    mut to: W,
    direction: Direction,
    client: u32,
    record: RecordHandle,
) -> io::Result<u64>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    let result = loop {
        let n = match from.read(&mut buf).await {
            Ok(0) => break to.shutdown().await.map(|()| total),
            Ok(n) => n,
            Err(e) => break Err(e),
        };
        let sent = async {
            to.write_all(&buf[..n]).await?;
            to.flush().await
        }
        .await;
        record.seen(direction, client, &buf[..n]).await;
        total += n as u64;
        if let Err(e) = sent {
            break Err(e);
        }
    };
    record.end(direction, client).await;
    result
}
