//! The synchronous writers: one owner ([`FrameWriter`]) or many threads
//! ([`SharedFrameWriter`]).

use crate::error::Error;
use crate::message::{HEADER_MAX, encode_frame, header};
use serde::Serialize;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// Writes DAP frames to any [`Write`]: each message is one `write_all` of header and body
/// (header exactly `Content-Length: N\r\n\r\n`), followed by a flush.
pub struct FrameWriter<W> {
    inner: W,
    buf: Vec<u8>,
}

impl<W: Write> FrameWriter<W> {
    /// A writer over `inner`.
    pub fn new(inner: W) -> Self {
        FrameWriter {
            inner,
            buf: Vec::new(),
        }
    }

    /// Writes `body` as one frame and flushes.
    pub fn write_frame(&mut self, body: &[u8]) -> Result<(), Error> {
        let mut head = [0u8; HEADER_MAX];
        let start = header(body.len(), &mut head);
        self.buf.clear();
        self.buf.reserve(HEADER_MAX - start + body.len());
        self.buf.extend_from_slice(&head[start..]);
        self.buf.extend_from_slice(body);
        self.send(0)
    }

    /// Serializes `value` as JSON and writes it as one frame, then flushes. A value that
    /// cannot be serialized gives [`ErrorKind::Serialize`](crate::ErrorKind::Serialize)
    /// and nothing is written.
    pub fn write_message<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let start = encode_frame(&mut self.buf, value)?;
        self.send(start)
    }

    fn send(&mut self, start: usize) -> Result<(), Error> {
        self.inner.write_all(&self.buf[start..])?;
        self.inner.flush()?;
        Ok(())
    }

    /// The underlying writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The underlying writer, mutably; writing to it directly can break framing.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// Gives back the underlying writer.
    pub fn into_inner(self) -> W {
        self.inner
    }
}

/// A [`FrameWriter`] that several threads can use at once: clones share one writer,
/// and each message is written whole under a lock, so two messages never interleave.
pub struct SharedFrameWriter<W> {
    inner: Arc<Mutex<FrameWriter<W>>>,
}

impl<W> Clone for SharedFrameWriter<W> {
    fn clone(&self) -> Self {
        SharedFrameWriter {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<W: Write> SharedFrameWriter<W> {
    /// A shared writer over `inner`.
    pub fn new(inner: W) -> Self {
        SharedFrameWriter {
            inner: Arc::new(Mutex::new(FrameWriter::new(inner))),
        }
    }

    /// Writes `body` as one frame; see [`FrameWriter::write_frame`].
    pub fn write_frame(&self, body: &[u8]) -> Result<(), Error> {
        self.lock()?.write_frame(body)
    }

    /// Writes `value` as one JSON frame; see [`FrameWriter::write_message`].
    pub fn write_message<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), Error> {
        self.lock()?.write_message(value)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, FrameWriter<W>>, Error> {
        self.inner.lock().map_err(|_| {
            Error::io(std::io::Error::other(
                "a thread panicked while writing; the stream may hold a partial message",
            ))
        })
    }
}
