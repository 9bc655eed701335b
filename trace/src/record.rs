//! The recorder: forwards the bytes of a session unchanged and records them.
//!
//! [`forward`] copies one direction on a thread of its own with plain blocking reads and
//! writes (read → write → flush: one thread wake-up per hop, no async runtime in the
//! path). Each chunk read is first *announced* to the [`Recorder`] (a copy of the bytes
//! and their time, queued under a short lock), then forwarded, then the forwarding thread
//! writes every announced chunk, its own and any the other direction announced before,
//! into the trace ([`Tap`]: split into records, each flushed as it is written). So:
//!
//! - **A killed recorder loses at most the message in flight**: once a chunk is forwarded,
//!   its records are written by the thread that forwarded it before that thread reads
//!   again; no thread, timer or batch stands between forwarding and the trace.
//! - **The trace keeps the order of the wire**: chunks are announced in the order they were
//!   read, and a reply can only be read after its request was forwarded, so after it was
//!   announced; records are written in announcement order, whichever thread writes them.
//! - **Forwarding never waits for another direction's peer**: no lock is held while
//!   writing to a peer, so a peer that does not read stalls only its own direction; a
//!   chunk announced by a direction stuck in such a write is written by the other one.
//! - **Memory is bounded**: each direction announces one chunk (at most [`CHUNK`] bytes)
//!   before it writes the queue out, so at most two chunks per client wait (the tap's
//!   framing limits bound a frame in progress).
//! - **A failing trace never stalls forwarding**: after a write error nothing more is
//!   recorded (announcements are dropped) and [`Recorder::finish`] reports the error.
//!
//! The price of recording in the forwarding threads: a slow trace file slows forwarding
//! (writes go to the page cache: `benches/record.rs` measured about 2 µs more per round
//! trip of two records than a plain relay), and the records of a chunk are written after
//! it was forwarded, while the peer works on it.

use crate::format::Direction;
use crate::tap::Tap;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

/// The largest chunk [`forward`] reads at once.
pub const CHUNK: usize = 64 * 1024;

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

/// The trace side of a [`Recorder`], whatever its writer.
trait Sink: Send {
    fn write(&mut self, event: Event) -> io::Result<()>;
    fn finish(self: Box<Self>) -> io::Result<()>;
}

struct TapSink<W: Write, F> {
    tap: Tap<W>,
    finish: F,
}

impl<W, F> Sink for TapSink<W, F>
where
    W: Write + Send,
    F: FnOnce(crate::TraceWriter<W>) -> io::Result<()> + Send,
{
    fn write(&mut self, event: Event) -> io::Result<()> {
        match event {
            Event::Bytes {
                direction,
                client,
                data,
                time,
                instant,
            } => self.tap.seen_at(direction, client, &data, time, instant),
            Event::End { direction, client } => self.tap.end(direction, client),
        }
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        let TapSink { tap, finish } = *self;
        finish(tap.finish()?)
    }
}

/// What the forwarding threads share: the announced chunks and the trace.
struct Shared {
    /// Announced, not yet written, in the order they were announced.
    pending: VecDeque<Event>,
    /// `None` once finished: later chunks are past the end of the recording.
    sink: Option<Box<dyn Sink>>,
    /// The first write error; nothing is recorded after it.
    failed: Option<io::Error>,
}

impl Shared {
    fn write_pending(&mut self) {
        while let Some(event) = self.pending.pop_front() {
            let Some(sink) = self.sink.as_mut() else {
                self.pending.clear();
                return;
            };
            if let Err(e) = sink.write(event) {
                self.failed = Some(e);
                self.sink = None;
            }
        }
    }
}

/// Where [`forward`] announces and writes what it copies; cheap to clone (one per
/// direction/client).
#[derive(Clone)]
pub struct RecordHandle {
    shared: Arc<Mutex<Shared>>,
}

impl std::fmt::Debug for RecordHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordHandle").finish_non_exhaustive()
    }
}

impl RecordHandle {
    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic while holding the lock leaves at worst a chunk unwritten.
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records bytes seen now going `direction` for `client` (and everything announced
    /// before them), before returning.
    pub fn seen(&self, direction: Direction, client: u32, data: &[u8]) {
        self.announce(direction, client, data);
        self.write_pending();
    }

    /// The stream going `direction` for `client` ended: what it held is recorded.
    pub fn end(&self, direction: Direction, client: u32) {
        let mut shared = self.lock();
        if shared.sink.is_some() {
            shared.pending.push_back(Event::End { direction, client });
        }
        shared.write_pending();
    }

    /// Queues bytes read now, to be written by the next [`write_pending`](Self::write_pending)
    /// of either direction (a copy; nothing is queued once the trace failed or ended).
    fn announce(&self, direction: Direction, client: u32, data: &[u8]) {
        let (time, instant) = (SystemTime::now(), Instant::now());
        let mut shared = self.lock();
        if shared.sink.is_some() {
            shared.pending.push_back(Event::Bytes {
                direction,
                client,
                data: data.to_vec(),
                time,
                instant,
            });
        }
    }

    /// Writes every announced chunk into the trace.
    fn write_pending(&self) {
        self.lock().write_pending();
    }
}

/// A trace written by the forwarding threads from what [`forward`] copies.
#[derive(Debug)]
pub struct Recorder {
    handle: RecordHandle,
}

impl Recorder {
    /// A recorder writing through `tap`; `finish` runs once the tap is done.
    pub fn start<W, F>(tap: Tap<W>, finish: F) -> io::Result<Recorder>
    where
        W: Write + Send + 'static,
        F: FnOnce(crate::TraceWriter<W>) -> io::Result<()> + Send + 'static,
    {
        let mut tap = tap;
        tap.set_flush_each(true);
        let sink: Box<dyn Sink> = Box::new(TapSink { tap, finish });
        Ok(Recorder {
            handle: RecordHandle {
                shared: Arc::new(Mutex::new(Shared {
                    pending: VecDeque::new(),
                    sink: Some(sink),
                    failed: None,
                })),
            },
        })
    }

    /// A handle for [`forward`].
    pub fn handle(&self) -> RecordHandle {
        self.handle.clone()
    }

    /// Ends the recording: writes what was announced, ends the streams still open and
    /// runs `finish`; returns the first write error, if any. Handles still in use (a
    /// forwarding thread given up on, blocked in a read) may live on: what they see
    /// afterwards is past the end of the recording and is not written.
    pub fn finish(self) -> io::Result<()> {
        let (sink, failed) = {
            let mut shared = self.handle.lock();
            shared.write_pending();
            (shared.sink.take(), shared.failed.take())
        };
        if let Some(e) = failed {
            return Err(e);
        }
        match sink {
            Some(sink) => sink.finish(),
            None => Ok(()),
        }
    }
}

/// Copies `from` to `to` until `from` ends, then drops `to` (for a pipe or a socket's
/// write half, the peer reads EOF). Blocking: run it on a thread of its own, one per
/// direction. Every chunk is announced to `record`, written and flushed to `to`, and then
/// recorded (see the module). Returns the number of bytes copied; a failed write ends the
/// copy with that error (the bytes read are recorded all the same: the peer sent them).
pub fn forward<R, W>(
    from: R,
    to: W,
    direction: Direction,
    client: u32,
    record: RecordHandle,
) -> io::Result<u64>
where
    R: Read,
    W: Write,
{
    copy(from, to, direction, client, record, None)
}

/// [`forward`], with `spin` (this direction's side of a [`crate::spin::pair`] whose
/// descriptor is `from`'s) polling `from` without sleeping for a while after the other
/// direction forwarded, and telling the other direction when this one forwarded: the
/// relay's wake-ups leave a request's round trip (see [`crate::spin`]).
pub fn forward_spinning<R, W>(
    from: R,
    to: W,
    direction: Direction,
    client: u32,
    record: RecordHandle,
    spin: &crate::spin::Spin,
) -> io::Result<u64>
where
    R: Read,
    W: Write,
{
    copy(from, to, direction, client, record, Some(spin))
}

fn copy<R, W>(
    mut from: R,
    mut to: W,
    direction: Direction,
    client: u32,
    record: RecordHandle,
    spin: Option<&crate::spin::Spin>,
) -> io::Result<u64>
where
    R: Read,
    W: Write,
{
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    let result = loop {
        if let Some(spin) = spin {
            spin.wait_readable();
        }
        let n = match from.read(&mut buf) {
            Ok(0) => break Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(e),
        };
        // Announced first (the trace keeps the wire's order), written after forwarding.
        record.announce(direction, client, &buf[..n]);
        let sent = to.write_all(&buf[..n]).and_then(|()| to.flush());
        if let Some(spin) = spin {
            spin.forwarded();
        }
        record.write_pending();
        total += n as u64;
        if let Err(e) = sent {
            break Err(e);
        }
    };
    drop(to);
    record.end(direction, client);
    result
}
