//! Async streams and sinks over tokio's `AsyncRead` / `AsyncWrite`.
//!
//! [`FrameStream`] and [`MessageStream`] yield recoverable errors and keep reading; they
//! end after a clean end of stream or after a fatal error. [`MessageSink`] is a
//! `FramedWrite` with [`MessageCodec`].

use crate::codec::{DapCodec, MessageCodec};
use crate::error::Error;
use crate::limits::Limits;
use crate::message::decode;
use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use serde::de::DeserializeOwned;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::FramedWrite;

/// Smallest read the stream asks for; the buffer grows with what has arrived, never with
/// what a header announces.
const READ_CHUNK: usize = 8 * 1024;

/// A stream of frame bodies read from an [`AsyncRead`].
pub struct FrameStream<R> {
    reader: R,
    buf: BytesMut,
    codec: DapCodec,
    eof: bool,
    done: bool,
}

impl<R: AsyncRead + Unpin> FrameStream<R> {
    /// A stream with [`Limits::DEFAULT`] and resync off.
    pub fn new(reader: R) -> Self {
        FrameStream {
            reader,
            buf: BytesMut::new(),
            codec: DapCodec::new(),
            eof: false,
            done: false,
        }
    }

    /// Replaces the limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.codec = self.codec.with_limits(limits);
        self
    }

    /// Turns resync mode on or off; see
    /// [`FrameReader::with_resync`](crate::FrameReader::with_resync).
    pub fn with_resync(mut self, resync: bool) -> Self {
        self.codec = self.codec.with_resync(resync);
        self
    }

    /// The underlying reader.
    pub fn get_ref(&self) -> &R {
        &self.reader
    }

    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        loop {
            match self.codec.decode_frame(&mut self.buf, self.eof) {
                Ok(Some(frame)) => return Poll::Ready(Some(Ok(frame))),
                Ok(None) if self.eof => {
                    self.done = true;
                    return Poll::Ready(None);
                }
                Ok(None) => {}
                Err(error) => {
                    if !error.is_recoverable() {
                        self.done = true;
                    }
                    return Poll::Ready(Some(Err(error)));
                }
            }
            let spare = self.buf.capacity() - self.buf.len();
            if spare < READ_CHUNK {
                self.buf.reserve(READ_CHUNK.max(self.buf.len()));
            }
            let read = ready!(tokio_util::io::poll_read_buf(
                Pin::new(&mut self.reader),
                cx,
                &mut self.buf
            ));
            match read {
                Ok(0) => self.eof = true,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(Error::io(e))));
                }
            }
        }
    }
}

impl<R: AsyncRead + Unpin> Stream for FrameStream<R> {
    type Item = Result<Bytes, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_frame(cx)
    }
}

/// A stream of typed messages read from an [`AsyncRead`]: each body is deserialized as
/// JSON into `T`. A body that does not decode is a recoverable error and the stream goes
/// on with the next message.
pub struct MessageStream<R, T> {
    frames: FrameStream<R>,
    _type: PhantomData<fn() -> T>,
}

impl<R: AsyncRead + Unpin, T: DeserializeOwned> MessageStream<R, T> {
    /// A stream with [`Limits::DEFAULT`] and resync off.
    pub fn new(reader: R) -> Self {
        MessageStream::from_frames(FrameStream::new(reader))
    }

    /// A typed stream over a configured frame stream.
    pub fn from_frames(frames: FrameStream<R>) -> Self {
        MessageStream {
            frames,
            _type: PhantomData,
        }
    }

    /// The underlying reader.
    pub fn get_ref(&self) -> &R {
        self.frames.get_ref()
    }
}

impl<R: AsyncRead + Unpin, T: DeserializeOwned> Stream for MessageStream<R, T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let frame = ready!(this.frames.poll_frame(cx));
        Poll::Ready(frame.map(|frame| frame.and_then(|body| decode(&body))))
    }
}

/// A sink of messages: any `Serialize` value sent is written as one JSON frame.
pub type MessageSink<W> = FramedWrite<W, MessageCodec>;

/// A [`MessageSink`] over `writer`.
pub fn message_sink<W: AsyncWrite>(writer: W) -> MessageSink<W> {
    FramedWrite::new(writer, MessageCodec::new())
}
