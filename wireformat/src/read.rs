//! The synchronous reader: frames and typed messages out of any [`BufRead`].

use crate::error::{Error, ErrorKind};
use crate::header::{Junk, Step, canonical_header, scan};
use crate::limits::Limits;
use serde::de::DeserializeOwned;
use std::io::{self, BufRead};
use std::ops::Deref;

/// The body of one message, borrowed from the reader until the next read.
///
/// When the whole body already sits in the [`BufRead`]'s buffer the frame points into it
/// (no copy); otherwise it points into a buffer of the reader that is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    body: &'a [u8],
}

impl<'a> Frame<'a> {
    /// The body bytes.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.body
    }
}

impl Deref for Frame<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.body
    }
}

impl AsRef<[u8]> for Frame<'_> {
    fn as_ref(&self) -> &[u8] {
        self.body
    }
}

/// How a header step ends `read_header`.
enum Outcome {
    /// Consume this many bytes, then return the result.
    Done(usize, Result<Option<u64>, Error>),
    /// Consume this many bytes, then drain the rest of the line and return the error.
    DrainLine(usize, Error),
}

fn outcome(step: Step, junk: &mut Option<Junk>) -> Outcome {
    if let Some(junk) = junk.take() {
        // Report the junk first; the block here is looked at again on the next call.
        return Outcome::Done(0, Err(junk.into_error()));
    }
    match step {
        Step::Header {
            header_len,
            body_len,
        } => Outcome::Done(header_len, Ok(Some(body_len))),
        Step::Fail { consume, error } => Outcome::Done(consume, Err(error)),
        Step::FailDrainLine { consume, error } => Outcome::DrainLine(consume, error),
        // Not produced without junk pending, or handled by the caller.
        Step::Found | Step::NeedMore | Step::Skip(_) => {
            Outcome::Done(0, Err(Error::new(ErrorKind::Skipped, "resync state lost")))
        }
    }
}

/// Reads DAP frames (`Content-Length` header block + body) from a [`BufRead`].
///
/// Header names are matched case-insensitively, other headers are ignored, and line ends
/// may be `\r\n` or `\n`. Errors for which [`Error::is_recoverable`] is true leave the
/// reader in a known place, and reading may go on. With [`FrameReader::with_resync`],
/// bytes that are not a header block are skipped up to the next `Content-Length` and
/// reported once as [`ErrorKind::Skipped`].
///
/// A [`std::io::BufReader`] around a socket, or a `&[u8]`, are typical inputs.
pub struct FrameReader<R> {
    inner: R,
    limits: Limits,
    resync: bool,
    /// Bytes of `inner`'s buffer lent out as the last frame, consumed on the next call.
    lent: usize,
    /// Bytes taken out of `inner` but not yet used; they come before `inner`'s bytes.
    pending: Vec<u8>,
    /// Body assembled over several reads.
    body: Vec<u8>,
    junk: Option<Junk>,
}

impl<R: BufRead> FrameReader<R> {
    /// A reader with [`Limits::DEFAULT`] and resync off.
    pub fn new(inner: R) -> Self {
        FrameReader {
            inner,
            limits: Limits::DEFAULT,
            resync: false,
            lent: 0,
            pending: Vec::new(),
            body: Vec::new(),
            junk: None,
        }
    }

    /// Replaces the limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Turns resync mode on or off. When on, bytes where a header block should start but
    /// which are not one are skipped up to the next `Content-Length` (in any case), and
    /// one [`ErrorKind::Skipped`] error reports how many bytes were skipped and what they
    /// began with. When off, each such line is an [`ErrorKind::InvalidHeader`] error.
    pub fn with_resync(mut self, resync: bool) -> Self {
        self.resync = resync;
        self
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The underlying reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// Gives back the underlying reader. Bytes the frame reader had taken out of it but
    /// not yet used are lost.
    pub fn into_inner(mut self) -> R {
        self.release();
        self.inner
    }

    /// Reads the next frame; `Ok(None)` is a clean end of stream between frames.
    pub fn read_frame(&mut self) -> Result<Option<Frame<'_>>, Error> {
        self.release();
        if self.pending.is_empty() && self.junk.is_none() {
            // Fast path: a canonical header and its whole body in the reader's buffer.
            let buf = fill(&mut self.inner)?;
            let max_body = self.limits.max_body_bytes as u64;
            if let Some((header_len, body_len)) =
                canonical_header(buf, self.limits.max_header_bytes)
            {
                if body_len <= max_body && (buf.len() - header_len) as u64 >= body_len {
                    // Cannot truncate: body_len <= buf.len().
                    let end = header_len + body_len as usize;
                    self.lent = end;
                    let buf = fill(&mut self.inner)?;
                    let body = buf.get(header_len..end).ok_or_else(shrunk)?;
                    return Ok(Some(Frame { body }));
                }
            }
        }
        let Some(body_len) = self.read_header()? else {
            return Ok(None);
        };
        if body_len > self.limits.max_body_bytes as u64 {
            return Err(self.skip_body(body_len));
        }
        // Cannot truncate: body_len <= max_body_bytes, a usize.
        let len = body_len as usize;
        self.read_body(len).map(Some)
    }

    /// Reads the next frame and deserializes its body as JSON into `T`.
    ///
    /// A body that is not JSON gives [`ErrorKind::InvalidJson`], one that does not fit `T`
    /// gives [`ErrorKind::InvalidMessage`]; both are recoverable and the frame is consumed.
    pub fn read_message<T: DeserializeOwned>(&mut self) -> Result<Option<T>, Error> {
        match self.read_frame()? {
            Some(frame) => crate::message::decode(&frame).map(Some),
            None => Ok(None),
        }
    }

    fn release(&mut self) {
        if self.lent > 0 {
            self.inner.consume(self.lent);
            self.lent = 0;
        }
    }

    /// Reads up to the end of a header block; returns the body length.
    fn read_header(&mut self) -> Result<Option<u64>, Error> {
        let mut need_more = false;
        loop {
            let in_junk = self.junk.is_some();
            let outcome = if self.pending.is_empty() {
                // Fast path: scan the reader's own buffer in place.
                let buf = fill(&mut self.inner)?;
                if buf.is_empty() {
                    return match self.junk.take() {
                        Some(junk) => Err(junk.into_error()),
                        None => Ok(None),
                    };
                }
                match scan(buf, &self.limits, self.resync, in_junk, false) {
                    Step::NeedMore => {
                        // Keep the bytes and ask the reader for more.
                        let n = buf.len();
                        self.pending.extend_from_slice(buf);
                        self.inner.consume(n);
                        need_more = true;
                        continue;
                    }
                    Step::Skip(n) => {
                        self.junk.get_or_insert_with(Junk::default).add(&buf[..n]);
                        self.inner.consume(n);
                        continue;
                    }
                    step => match outcome(step, &mut self.junk) {
                        Outcome::Done(n, result) => {
                            self.inner.consume(n);
                            return result;
                        }
                        Outcome::DrainLine(n, error) => {
                            self.inner.consume(n);
                            return Err(self.drain_line(error));
                        }
                    },
                }
            } else {
                let mut at_eof = false;
                if need_more {
                    let room = self
                        .limits
                        .max_header_bytes
                        .saturating_add(1)
                        .saturating_sub(self.pending.len())
                        .max(1);
                    let buf = fill(&mut self.inner)?;
                    if buf.is_empty() {
                        at_eof = true;
                    } else {
                        let take = &buf[..buf.len().min(room)];
                        let n = memchr::memchr(b'\n', take).map_or(take.len(), |i| i + 1);
                        self.pending.extend_from_slice(&buf[..n]);
                        self.inner.consume(n);
                    }
                }
                need_more = false;
                match scan(&self.pending, &self.limits, self.resync, in_junk, at_eof) {
                    Step::NeedMore if at_eof => {
                        // scan never asks for more at the end; stay safe anyway.
                        let error = Error::eof("stream ended inside a header block", &self.pending);
                        self.pending.clear();
                        return Err(error);
                    }
                    Step::NeedMore => {
                        need_more = true;
                        continue;
                    }
                    Step::Skip(n) => {
                        self.junk
                            .get_or_insert_with(Junk::default)
                            .add(&self.pending[..n]);
                        self.pending.drain(..n);
                        continue;
                    }
                    step => outcome(step, &mut self.junk),
                }
            };
            // Only the slow path gets here: consume from `pending`.
            return match outcome {
                Outcome::Done(n, result) => {
                    self.pending.drain(..n);
                    result
                }
                Outcome::DrainLine(n, error) => {
                    self.pending.drain(..n);
                    Err(self.drain_line(error))
                }
            };
        }
    }

    /// Drops bytes through the next `\n` (or the end of the stream), then gives `error`.
    fn drain_line(&mut self, mut error: Error) -> Error {
        if let Some(nl) = memchr::memchr(b'\n', &self.pending) {
            error.extend_prefix(&self.pending[..=nl]);
            self.pending.drain(..=nl);
            return error;
        }
        error.extend_prefix(&self.pending);
        self.pending.clear();
        loop {
            let buf = match fill(&mut self.inner) {
                Ok(buf) => buf,
                Err(e) => return e,
            };
            if buf.is_empty() {
                return error;
            }
            match memchr::memchr(b'\n', buf) {
                Some(nl) => {
                    error.extend_prefix(&buf[..=nl]);
                    self.inner.consume(nl + 1);
                    return error;
                }
                None => {
                    error.extend_prefix(buf);
                    let n = buf.len();
                    self.inner.consume(n);
                }
            }
        }
    }

    /// Skips an over-limit body of `len` bytes without storing it.
    fn skip_body(&mut self, len: u64) -> Error {
        let mut error = Error::new(
            ErrorKind::BodyTooLarge,
            format!(
                "Content-Length {len} exceeds the limit of {} bytes; body skipped",
                self.limits.max_body_bytes
            ),
        )
        .with_length(len);
        let mut left = len;
        let take = left.min(self.pending.len() as u64) as usize;
        error.extend_prefix(&self.pending[..take]);
        self.pending.drain(..take);
        left -= take as u64;
        while left > 0 {
            let buf = match fill(&mut self.inner) {
                Ok(buf) => buf,
                Err(e) => return e,
            };
            if buf.is_empty() {
                let mut eof = Error::eof(
                    format!("stream ended {left} bytes before the end of a skipped body"),
                    error.prefix(),
                );
                eof.summarize_prefix();
                return eof;
            }
            let take = left.min(buf.len() as u64) as usize;
            error.extend_prefix(&buf[..take]);
            self.inner.consume(take);
            left -= take as u64;
        }
        error.summarize_prefix();
        error
    }

    fn read_body(&mut self, len: usize) -> Result<Frame<'_>, Error> {
        if self.pending.is_empty() {
            let available = fill(&mut self.inner)?.len();
            if available >= len {
                // The whole body is in the reader's buffer: lend it out.
                self.lent = len;
                let buf = fill(&mut self.inner)?;
                let body = buf.get(..len).ok_or_else(shrunk)?;
                return Ok(Frame { body });
            }
        }
        self.body.clear();
        let take = len.min(self.pending.len());
        self.body.extend_from_slice(&self.pending[..take]);
        self.pending.drain(..take);
        while self.body.len() < len {
            let buf = fill(&mut self.inner)?;
            if buf.is_empty() {
                let mut error = Error::eof(
                    format!("stream ended after {} of {len} body bytes", self.body.len()),
                    &self.body,
                );
                error.summarize_prefix();
                return Err(error);
            }
            let take = (len - self.body.len()).min(buf.len());
            self.body.extend_from_slice(&buf[..take]);
            self.inner.consume(take);
        }
        Ok(Frame { body: &self.body })
    }
}

fn shrunk() -> Error {
    Error::io(io::Error::other(
        "BufRead::fill_buf returned fewer bytes on a second call",
    ))
}

/// `fill_buf`, retried when interrupted.
fn fill<R: BufRead>(inner: &mut R) -> Result<&[u8], Error> {
    loop {
        match inner.fill_buf() {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(e)),
        }
    }
    inner.fill_buf().map_err(Error::io)
}
