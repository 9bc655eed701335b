//! The recorder: forwards the bytes of a session unchanged and records them.
//!
//! [`forward`] copies one direction on a thread of its own with plain blocking reads and
//! writes (read → write → flush: one thread wake-up per hop, no async runtime in the
//! path), and only then hands a copy of the bytes to the [`Recorder`], whose thread splits
//! them into records ([`Tap`]) and writes them, each record flushed as it is written.
//! Recording never touches the forwarded bytes and runs beside the forwarding, not in its
//! path; the only coupling is the bounded queue between them ([`QUEUE_CHUNKS`] chunks of
//! at most [`CHUNK`] bytes, so at most 16 MiB): if the disk falls that far behind,
//! forwarding waits for it rather than letting memory grow, and nothing is dropped. A
//! recorder that failed keeps draining the queue, so forwarding never waits on it; the
//! failure is reported by [`Recorder::finish`].
//!
//! Handing a chunk over does not wake the recorder thread while a session is active (a
//! wake-up per chunk is a system call in the forwarding path and one more thread to
//! schedule at once): the recorder looks at the queue every [`RECORD_DELAY`] while bytes
//! keep coming, and only after [`IDLE_AFTER`] without any does it sleep until the next
//! chunk wakes it. It writes what it found and flushes the trace once the queue is empty,
//! before it waits (one flush per batch rather than per record). So a record is written and
//! flushed at most about [`RECORD_DELAY`] after its bytes were forwarded, and a killed
//! recorder loses at most what it was handed in that time; the records' times are those
//! of the forwarding all the same.

use crate::format::Direction;
use crate::tap::Tap;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, SystemTime};

/// The largest chunk [`forward`] reads at once.
pub const CHUNK: usize = 64 * 1024;

/// How many chunks may wait for the recorder thread (at most 16 MiB with [`CHUNK`]).
pub const QUEUE_CHUNKS: usize = 256;

/// While a session is active, how often the recorder looks for bytes to record: the
/// longest a record waits before it is written.
pub const RECORD_DELAY: Duration = Duration::from_millis(1);

/// How long the recorder goes on looking every [`RECORD_DELAY`] after the last chunk
/// before it sleeps until woken by the next one.
pub const IDLE_AFTER: Duration = Duration::from_millis(100);

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
    /// [`Recorder::finish`]: write what came before, then stop.
    Finish,
}

impl std::fmt::Debug for Event {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Event::Bytes {
                direction, data, ..
            } => write!(f, "Bytes({direction}, {} bytes)", data.len()),
            Event::End { direction, .. } => write!(f, "End({direction})"),
            Event::Finish => f.write_str("Finish"),
        }
    }
}

/// Where [`forward`] sends what it copied; cheap to clone (one per direction/client).
#[derive(Clone, Debug)]
pub struct RecordHandle {
    tx: mpsc::SyncSender<Event>,
    /// Whether the recorder sleeps until woken (idle), rather than looking every
    /// [`RECORD_DELAY`].
    asleep: Arc<AtomicBool>,
    /// The recorder thread, to wake it.
    thread: std::thread::Thread,
}

impl RecordHandle {
    /// Records bytes seen now (they should already be forwarded). Waits only when
    /// [`QUEUE_CHUNKS`] chunks are already waiting for the recorder.
    pub fn seen(&self, direction: Direction, client: u32, data: &[u8]) {
        let event = Event::Bytes {
            direction,
            client,
            data: data.to_vec(),
            time: SystemTime::now(),
            instant: Instant::now(),
        };
        self.send(event);
    }

    /// The stream going `direction` for `client` ended.
    pub fn end(&self, direction: Direction, client: u32) {
        self.send(Event::End { direction, client });
    }

    fn send(&self, event: Event) {
        // The recorder is gone only after `finish` (later bytes are past the recording's
        // end) or after a panic that `finish` reports.
        let _ = self.tx.send(event);
        // Pairs with the recorder's fence between setting `asleep` and looking at the
        // queue: either it sees this event, or this sees it asleep and wakes it.
        fence(Ordering::SeqCst);
        if self.asleep.load(Ordering::Relaxed) {
            self.thread.unpark();
        }
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
        let (tx, rx) = mpsc::sync_channel::<Event>(QUEUE_CHUNKS);
        let asleep = Arc::new(AtomicBool::new(false));
        let sleeper = Arc::clone(&asleep);
        let thread = std::thread::Builder::new()
            .name("dapkit-recorder".into())
            .spawn(move || {
                let mut tap = tap;
                tap.set_flush_each(false);
                let mut failed: Option<io::Error> = None;
                // Since when records wait in the writer's buffer: they are flushed before
                // the recorder waits for more, or once the oldest is RECORD_DELAY old.
                let mut unflushed: Option<Instant> = None;
                let flush = |tap: &mut Tap<W>,
                             unflushed: &mut Option<Instant>,
                             failed: &mut Option<io::Error>| {
                    if unflushed.take().is_some() && failed.is_none() {
                        if let Err(e) = tap.flush() {
                            *failed = Some(e);
                        }
                    }
                };
                loop {
                    let event = match rx.try_recv() {
                        Ok(event) => event,
                        Err(mpsc::TryRecvError::Disconnected) => break,
                        Err(mpsc::TryRecvError::Empty) => {
                            flush(&mut tap, &mut unflushed, &mut failed);
                            match next_event(&rx, &sleeper) {
                                Some(event) => event,
                                None => break,
                            }
                        }
                    };
                    if unflushed.is_some_and(|since| since.elapsed() >= RECORD_DELAY) {
                        flush(&mut tap, &mut unflushed, &mut failed);
                    }
                    if failed.is_some() {
                        if matches!(event, Event::Finish) {
                            break;
                        }
                        continue; // keep draining so forwarding never waits on a dead recorder
                    }
                    unflushed.get_or_insert_with(Instant::now);
                    let result = match event {
                        Event::Bytes {
                            direction,
                            client,
                            data,
                            time,
                            instant,
                        } => tap.seen_at(direction, client, &data, time, instant),
                        Event::End { direction, client } => tap.end(direction, client),
                        Event::Finish => break,
                    };
                    if let Err(e) = result {
                        failed = Some(e);
                    }
                }
                flush(&mut tap, &mut unflushed, &mut failed);
                if let Some(e) = failed {
                    return Err(e);
                }
                finish(tap.finish()?)
            })?;
        Ok(Recorder {
            handle: RecordHandle {
                tx,
                asleep,
                thread: thread.thread().clone(),
            },
            thread,
        })
    }

    /// A handle for [`forward`].
    pub fn handle(&self) -> RecordHandle {
        self.handle.clone()
    }

    /// Ends the recording and waits until everything handed over before is written;
    /// returns the first write error, if any. Handles still in use (a forwarding thread
    /// given up on, blocked in a read) may live on: what they hand over afterwards is past
    /// the end of the recording and is not written. Blocks the calling thread.
    pub fn finish(self) -> io::Result<()> {
        let Recorder { handle, thread } = self;
        handle.send(Event::Finish);
        drop(handle);
        thread
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the recorder thread panicked")))
    }
}

/// The recorder's next event, `None` once every handle is gone: looks at the queue every
/// [`RECORD_DELAY`] while events keep coming, sleeps until woken after [`IDLE_AFTER`]
/// without any.
fn next_event(rx: &mpsc::Receiver<Event>, asleep: &AtomicBool) -> Option<Event> {
    let idle_polls = IDLE_AFTER.as_micros() / RECORD_DELAY.as_micros().max(1);
    let mut polls = 0;
    loop {
        match rx.try_recv() {
            Ok(event) => return Some(event),
            Err(mpsc::TryRecvError::Disconnected) => return None,
            Err(mpsc::TryRecvError::Empty) => {}
        }
        if polls < idle_polls {
            polls += 1;
            std::thread::park_timeout(RECORD_DELAY);
            continue;
        }
        asleep.store(true, Ordering::Relaxed);
        // Pairs with the fence in `RecordHandle::send`.
        fence(Ordering::SeqCst);
        let event = match rx.try_recv() {
            Ok(event) => Some(event),
            Err(mpsc::TryRecvError::Disconnected) => None,
            Err(mpsc::TryRecvError::Empty) => {
                std::thread::park(); // woken by the next event (or spuriously)
                polls = 0;
                asleep.store(false, Ordering::Relaxed);
                continue;
            }
        };
        asleep.store(false, Ordering::Relaxed);
        return event;
    }
}

/// Copies `from` to `to` until `from` ends, then drops `to` (for a pipe or a socket's
/// write half, the peer reads EOF). Blocking: run it on a thread of its own, one per
/// direction. Every chunk is written and flushed before it is handed to `record`. Returns
/// the number of bytes copied; a failed write ends the copy with that error (the bytes
/// read are recorded all the same: the peer sent them).
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
#[cfg(target_os = "linux")]
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

#[cfg(target_os = "linux")]
type SpinRef<'a> = Option<&'a crate::spin::Spin>;
#[cfg(not(target_os = "linux"))]
type SpinRef<'a> = Option<&'a std::convert::Infallible>;

fn copy<R, W>(
    mut from: R,
    mut to: W,
    direction: Direction,
    client: u32,
    record: RecordHandle,
    spin: SpinRef<'_>,
) -> io::Result<u64>
where
    R: Read,
    W: Write,
{
    #[cfg(not(target_os = "linux"))]
    let _ = spin;
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    let result = loop {
        #[cfg(target_os = "linux")]
        if let Some(spin) = spin {
            spin.wait_readable();
        }
        let n = match from.read(&mut buf) {
            Ok(0) => break Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(e),
        };
        let sent = to.write_all(&buf[..n]).and_then(|()| to.flush());
        #[cfg(target_os = "linux")]
        if let Some(spin) = spin {
            spin.forwarded();
        }
        record.seen(direction, client, &buf[..n]);
        total += n as u64;
        if let Err(e) = sent {
            break Err(e);
        }
    };
    drop(to);
    record.end(direction, client);
    result
}
