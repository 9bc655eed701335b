//! The tap: raw bytes seen going one way, split into trace records as they arrive.
//!
//! [`FrameSplitter`] is a push decoder over wireformat's [`DapCodec`] (its framing rules,
//! resync mode on): feed it bytes in whatever chunks they come and it hands back
//! [`Piece`]s — every frame body byte-exact, and every byte that is not a frame body (junk
//! between frames, a bad or non-canonical header, a truncated or over-limit frame) as an
//! invalid piece with the error. Concatenated in order, the pieces give back the stream
//! exactly ([`StreamRebuilder`]); nothing is lost.
//!
//! [`Tap`] runs one splitter per direction and client and writes what they find to a
//! [`TraceWriter`], redacting secrets if asked ([`crate::redact`]).

use crate::format::{Direction, Payload, Record, format_time};
use crate::writer::TraceWriter;
use bytes::{Bytes, BytesMut};
use dapkit_wireformat::{DapCodec, Limits};
use std::collections::HashMap;
use std::io::{self, Write};
use std::time::{Instant, SystemTime};
use tokio_util::codec::Decoder;

/// The error of a piece holding a frame header that is not `Content-Length: N\r\n\r\n`
/// (other headers, another case or line end): the header is kept as sent, and the frame's
/// body is the next piece. Records with this error start with this text.
pub const NON_CANONICAL_HEADER: &str =
    "frame header kept as sent (not `Content-Length: N\\r\\n\\r\\n`); the frame body follows";

/// The start of the error of a piece that is a frame body but not valid JSON (as written by
/// [`Payload::from_body`]).
pub const INVALID_BODY: &str = "body is not valid JSON";

/// The longest run of bytes that are not a frame held back before it is recorded: a
/// longer run (junk, an over-limit body being skipped) is recorded in several pieces of at
/// most this size, so that a peer cannot grow the splitter's memory without bound.
pub const MAX_RUN: usize = 1 << 20;

/// A part of a byte stream: a frame body, or bytes that are not one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    /// The body of a frame, byte-exact (its header was `Content-Length: N\r\n\r\n`, or
    /// was given as the [`Piece::Invalid`] just before).
    Frame(Bytes),
    /// Bytes that are not a frame body, in full, and why.
    Invalid {
        /// The bytes as they were on the wire.
        bytes: Bytes,
        /// What they are: skipped junk, a bad header, a truncated frame, an over-limit
        /// frame, or [`NON_CANONICAL_HEADER`].
        error: String,
    },
}

/// Splits a byte stream into [`Piece`]s incrementally, with wireformat's framing rules.
///
/// Memory: the bytes of the frame being received (bounded by
/// [`Limits::max_body_bytes`] plus the header limit) and at most [`MAX_RUN`] bytes of a
/// run that is not a frame.
pub struct FrameSplitter {
    codec: DapCodec,
    /// The codec's read buffer.
    src: BytesMut,
    /// Every byte fed and not yet handed out in a piece: the bytes the codec consumed
    /// without reporting them yet, followed by the codec's buffer (`src`).
    window: BytesMut,
    limits: Limits,
}

impl std::fmt::Debug for FrameSplitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameSplitter")
            .field("buffered", &self.window.len())
            .finish_non_exhaustive()
    }
}

impl Default for FrameSplitter {
    fn default() -> Self {
        FrameSplitter::new()
    }
}

impl FrameSplitter {
    /// A splitter with wireformat's default limits (8 KiB of header, 64 MiB of body).
    pub fn new() -> Self {
        FrameSplitter::with_limits(Limits::DEFAULT)
    }

    /// A splitter with other limits; a frame over them is recorded as invalid bytes.
    pub fn with_limits(limits: Limits) -> Self {
        FrameSplitter {
            codec: DapCodec::new().with_limits(limits).with_resync(true),
            src: BytesMut::new(),
            window: BytesMut::new(),
            limits,
        }
    }

    /// How many bytes are held, waiting for the rest of their frame or run.
    pub fn buffered(&self) -> usize {
        self.window.len()
    }

    /// Feeds the next bytes of the stream; `out` receives every piece they complete.
    pub fn push(&mut self, data: &[u8], out: &mut impl FnMut(Piece)) {
        if data.is_empty() {
            return;
        }
        self.window.extend_from_slice(data);
        self.src.extend_from_slice(data);
        self.drain(false, out);
    }

    /// Ends the stream: whatever is held (a truncated frame, pending junk) comes out as
    /// invalid pieces.
    pub fn finish(&mut self, out: &mut impl FnMut(Piece)) {
        self.drain(true, out);
        if !self.window.is_empty() {
            let bytes = self.window.split().freeze();
            out(Piece::Invalid {
                bytes,
                error: "stream ended inside a frame".to_owned(),
            });
        }
        self.src.clear();
        self.codec = DapCodec::new().with_limits(self.limits).with_resync(true);
    }

    /// Bytes the codec consumed and has not reported yet.
    fn consumed(&self) -> usize {
        self.window.len() - self.src.len()
    }

    fn drain(&mut self, at_eof: bool, out: &mut impl FnMut(Piece)) {
        loop {
            let before = (self.src.len(), self.consumed());
            let step = if at_eof {
                self.codec.decode_eof(&mut self.src)
            } else {
                self.codec.decode(&mut self.src)
            };
            match step {
                Ok(Some(body)) => {
                    let mut frame = self.window.split_to(self.consumed());
                    let header_len = frame.len().saturating_sub(body.len());
                    let header = frame.split_to(header_len);
                    if header[..] != canonical_header(body.len())[..] {
                        out(Piece::Invalid {
                            bytes: header.freeze(),
                            error: NON_CANONICAL_HEADER.to_owned(),
                        });
                    }
                    out(Piece::Frame(frame.freeze()));
                }
                Ok(None) => {
                    // A header waiting for its body is at most `max_header_bytes`; more
                    // consumed bytes are a run that is not a frame: record it in parts.
                    let run = self.consumed();
                    if run > MAX_RUN.max(self.limits.max_header_bytes) {
                        let bytes = self.window.split_to(run).freeze();
                        out(Piece::Invalid {
                            error: format!(
                                "{} bytes that are not a frame; the run goes on in the next record",
                                bytes.len()
                            ),
                            bytes,
                        });
                    }
                    if !at_eof || before == (self.src.len(), self.consumed()) {
                        return;
                    }
                }
                Err(error) => {
                    // Empty only when the run was recorded in parts already: this record
                    // then says how it ended.
                    let bytes = self.window.split_to(self.consumed()).freeze();
                    out(Piece::Invalid {
                        bytes,
                        error: error.to_string(),
                    });
                }
            }
        }
    }
}

/// `Content-Length: N\r\n\r\n`.
fn canonical_header(len: usize) -> Vec<u8> {
    format!("Content-Length: {len}\r\n\r\n").into_bytes()
}

/// Gives back the bytes of one direction of a trace written by a [`Tap`] (unredacted):
/// feed it that direction's records in order and it appends to `out` exactly the bytes
/// that went over the wire.
///
/// A record holding a frame body (`msg`, `bytes` without `error`, or `bytes` whose error
/// starts with [`INVALID_BODY`]) stands for `Content-Length: N\r\n\r\n` and the body,
/// unless the record before it was a [`NON_CANONICAL_HEADER`]; every other record holds
/// its bytes as they were.
#[derive(Debug, Default)]
pub struct StreamRebuilder {
    after_header: bool,
}

impl StreamRebuilder {
    /// A rebuilder at the start of a stream.
    pub fn new() -> Self {
        StreamRebuilder::default()
    }

    /// Appends the wire bytes `record` stands for.
    pub fn push(&mut self, record: &Record, out: &mut Vec<u8>) {
        let bytes = record.bytes();
        let is_body = match record.error() {
            None => true,
            Some(error) => error.starts_with(INVALID_BODY),
        };
        if is_body {
            if !std::mem::take(&mut self.after_header) {
                out.extend_from_slice(&canonical_header(bytes.len()));
            }
        } else {
            self.after_header = record
                .error()
                .is_some_and(|e| e.starts_with(NON_CANONICAL_HEADER));
        }
        out.extend_from_slice(&bytes);
    }
}

/// Writes what two peers send each other to a trace: one [`FrameSplitter`] per direction
/// and client, each piece written (and flushed, unless [`Tap::set_flush_each`] says
/// otherwise) as it completes.
///
/// Records are stamped with the time given to [`seen_at`](Tap::seen_at) (or now), and
/// offsets count from the tap's creation.
pub struct Tap<W: Write> {
    writer: TraceWriter<W>,
    splitters: HashMap<(Direction, u32), FrameSplitter>,
    redact: bool,
    start: Instant,
    limits: Limits,
    flush_each: bool,
}

impl<W: Write> std::fmt::Debug for Tap<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap")
            .field("streams", &self.splitters.len())
            .field("redact", &self.redact)
            .finish_non_exhaustive()
    }
}

impl<W: Write> Tap<W> {
    /// A tap writing to `writer` (whose header should say `redacted` when `redact` is on).
    /// With `redact`, the `env` of launch/attach/runInTerminal requests is replaced by
    /// `"<redacted>"` in the trace ([`crate::redact::redact`]).
    pub fn new(writer: TraceWriter<W>, redact: bool) -> Self {
        Tap {
            writer,
            splitters: HashMap::new(),
            redact,
            start: Instant::now(),
            limits: Limits::DEFAULT,
            flush_each: true,
        }
    }

    /// Whether each record is flushed as it is written (the default). Off, records wait
    /// in the writer's buffer until [`flush`](Tap::flush): for a caller that flushes each
    /// batch it writes (the recorder, before it waits for more bytes).
    pub fn set_flush_each(&mut self, on: bool) {
        self.flush_each = on;
    }

    /// Flushes the records written so far.
    pub fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }

    /// Replaces the framing limits for the streams not yet seen.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// When the tap started; offsets count from here.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Records bytes seen now going `direction` for `client`.
    pub fn seen(&mut self, direction: Direction, client: u32, data: &[u8]) -> io::Result<()> {
        self.seen_at(direction, client, data, SystemTime::now(), Instant::now())
    }

    /// Records bytes seen at `time` (wall clock) / `instant` (monotonic) going `direction`
    /// for `client`. The records they complete carry that time.
    pub fn seen_at(
        &mut self,
        direction: Direction,
        client: u32,
        data: &[u8],
        time: SystemTime,
        instant: Instant,
    ) -> io::Result<()> {
        let limits = self.limits;
        let splitter = self
            .splitters
            .entry((direction, client))
            .or_insert_with(|| FrameSplitter::with_limits(limits));
        let mut pieces = Vec::new();
        splitter.push(data, &mut |p| pieces.push(p));
        self.write_pieces(direction, client, pieces, time, instant)
    }

    /// The stream going `direction` for `client` ended: what it held is recorded.
    pub fn end(&mut self, direction: Direction, client: u32) -> io::Result<()> {
        let Some(mut splitter) = self.splitters.remove(&(direction, client)) else {
            return Ok(());
        };
        let mut pieces = Vec::new();
        splitter.finish(&mut |p| pieces.push(p));
        self.write_pieces(direction, client, pieces, SystemTime::now(), Instant::now())
    }

    /// Ends every stream still open and returns the writer.
    pub fn finish(mut self) -> io::Result<TraceWriter<W>> {
        let mut open: Vec<_> = self.splitters.keys().copied().collect();
        open.sort_by_key(|(d, c)| (*c, d.as_str()));
        for (direction, client) in open {
            self.end(direction, client)?;
        }
        Ok(self.writer)
    }

    fn write_pieces(
        &mut self,
        direction: Direction,
        client: u32,
        pieces: Vec<Piece>,
        time: SystemTime,
        instant: Instant,
    ) -> io::Result<()> {
        if pieces.is_empty() {
            return Ok(());
        }
        let time = format_time(time);
        let offset_us = u64::try_from(instant.saturating_duration_since(self.start).as_micros())
            .unwrap_or(u64::MAX);
        for piece in pieces {
            let payload = match piece {
                Piece::Frame(body) => {
                    let redacted = if self.redact {
                        crate::redact::redact(&body)
                    } else {
                        None
                    };
                    Payload::from_body(redacted.as_deref().unwrap_or(&body))
                }
                Piece::Invalid { bytes, error } => Payload::Bytes {
                    bytes: bytes.to_vec(),
                    error: Some(error),
                },
            };
            let record = Record {
                time: time.clone(),
                offset_us,
                direction,
                client,
                payload,
            };
            if self.flush_each {
                self.writer.write(&record)?;
            } else {
                self.writer.write_unflushed(&record)?;
            }
        }
        Ok(())
    }

    /// The trace writer.
    pub fn writer_mut(&mut self) -> &mut TraceWriter<W> {
        &mut self.writer
    }
}
