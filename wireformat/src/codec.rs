//! tokio-util codecs: [`DapCodec`] for frames as [`Bytes`], [`MessageCodec`] for typed
//! messages through serde.
//!
//! `FramedRead` ends its stream after the first decoder error, even a recoverable one;
//! [`FrameStream`](crate::FrameStream) and [`MessageStream`](crate::MessageStream) use
//! these codecs and keep going.

use crate::error::{Error, ErrorKind};
use crate::header::{Junk, Step, scan};
use crate::limits::Limits;
use crate::message::{HEADER_MAX, decode, encode_frame, header};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::fmt;
use std::marker::PhantomData;
use tokio_util::codec::{Decoder, Encoder};

/// Where the decoder is in the stream.
enum State {
    /// Expecting a header block.
    Header,
    /// Header read; waiting for a body of this many bytes.
    Body(usize),
    /// Dropping an over-limit body.
    SkipBody { left: u64, error: Error },
    /// Dropping the rest of a bad header line.
    DrainLine(Error),
}

/// A tokio-util codec for DAP frames: decodes bodies as [`Bytes`] (split off the read
/// buffer without a copy) and encodes anything that is `AsRef<[u8]>` as a body.
///
/// It follows the same rules as [`FrameReader`](crate::FrameReader), including
/// [`Limits`] and resync mode.
pub struct DapCodec {
    limits: Limits,
    resync: bool,
    state: State,
    junk: Option<Junk>,
}

impl fmt::Debug for DapCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DapCodec")
            .field("limits", &self.limits)
            .field("resync", &self.resync)
            .finish_non_exhaustive()
    }
}

impl Default for DapCodec {
    fn default() -> Self {
        DapCodec::new()
    }
}

impl DapCodec {
    /// A codec with [`Limits::DEFAULT`] and resync off.
    pub fn new() -> Self {
        DapCodec {
            limits: Limits::DEFAULT,
            resync: false,
            state: State::Header,
            junk: None,
        }
    }

    /// Replaces the limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Turns resync mode on or off; see
    /// [`FrameReader::with_resync`](crate::FrameReader::with_resync).
    pub fn with_resync(mut self, resync: bool) -> Self {
        self.resync = resync;
        self
    }

    /// Decodes from `src`; `at_eof` says no more bytes will come.
    pub(crate) fn decode_frame(
        &mut self,
        src: &mut BytesMut,
        at_eof: bool,
    ) -> Result<Option<Bytes>, Error> {
        loop {
            match &mut self.state {
                State::Header => {
                    if src.is_empty() {
                        return match self.junk.take() {
                            Some(junk) if at_eof => Err(junk.into_error()),
                            junk => {
                                self.junk = junk;
                                Ok(None)
                            }
                        };
                    }
                    match scan(src, &self.limits, self.resync, self.junk.is_some(), at_eof) {
                        Step::NeedMore if at_eof => {
                            let error = Error::eof("stream ended inside a header block", src);
                            src.clear();
                            return Err(error);
                        }
                        Step::NeedMore => return Ok(None),
                        Step::Skip(n) => {
                            self.junk.get_or_insert_with(Junk::default).add(&src[..n]);
                            src.advance(n);
                        }
                        Step::Found => {
                            if let Some(junk) = self.junk.take() {
                                return Err(junk.into_error());
                            }
                        }
                        Step::Header {
                            header_len,
                            body_len,
                        } => {
                            src.advance(header_len);
                            self.state = if body_len > self.limits.max_body_bytes as u64 {
                                State::SkipBody {
                                    left: body_len,
                                    error: Error::new(
                                        ErrorKind::BodyTooLarge,
                                        format!(
                                            "Content-Length {body_len} exceeds the limit of {} bytes; body skipped",
                                            self.limits.max_body_bytes
                                        ),
                                    )
                                    .with_length(body_len),
                                }
                            } else {
                                // Cannot truncate: body_len <= max_body_bytes, a usize.
                                State::Body(body_len as usize)
                            };
                        }
                        Step::Fail { consume, error } => {
                            src.advance(consume);
                            return Err(error);
                        }
                        Step::FailDrainLine { consume, error } => {
                            src.advance(consume);
                            self.state = State::DrainLine(error);
                        }
                    }
                }
                State::Body(len) => {
                    let len = *len;
                    if src.len() >= len {
                        self.state = State::Header;
                        return Ok(Some(src.split_to(len).freeze()));
                    }
                    if at_eof {
                        let mut error = Error::eof(
                            format!("stream ended after {} of {len} body bytes", src.len()),
                            src,
                        );
                        error.summarize_prefix();
                        src.clear();
                        self.state = State::Header;
                        return Err(error);
                    }
                    return Ok(None);
                }
                State::SkipBody { left, error } => {
                    let take = (*left).min(src.len() as u64) as usize;
                    error.extend_prefix(&src[..take]);
                    src.advance(take);
                    *left -= take as u64;
                    if *left == 0 || at_eof {
                        let left = *left;
                        let State::SkipBody { mut error, .. } =
                            std::mem::replace(&mut self.state, State::Header)
                        else {
                            continue;
                        };
                        if left > 0 {
                            error = Error::eof(
                                format!(
                                    "stream ended {left} bytes before the end of a skipped body"
                                ),
                                error.prefix(),
                            );
                        }
                        error.summarize_prefix();
                        return Err(error);
                    }
                    return Ok(None);
                }
                State::DrainLine(error) => match memchr::memchr(b'\n', src) {
                    Some(nl) => {
                        error.extend_prefix(&src[..=nl]);
                        src.advance(nl + 1);
                        return Err(self.take_drain_error());
                    }
                    None => {
                        error.extend_prefix(src);
                        src.clear();
                        if at_eof {
                            return Err(self.take_drain_error());
                        }
                        return Ok(None);
                    }
                },
            }
        }
    }

    fn take_drain_error(&mut self) -> Error {
        match std::mem::replace(&mut self.state, State::Header) {
            State::DrainLine(error) => error,
            _ => Error::new(ErrorKind::InvalidHeader, "line drain state lost"),
        }
    }
}

impl Decoder for DapCodec {
    type Item = Bytes;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        self.decode_frame(src, false)
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, Error> {
        self.decode_frame(src, true)
    }
}

impl<B: AsRef<[u8]>> Encoder<B> for DapCodec {
    type Error = Error;

    fn encode(&mut self, item: B, dst: &mut BytesMut) -> Result<(), Error> {
        let body = item.as_ref();
        let mut head = [0u8; HEADER_MAX];
        let start = header(body.len(), &mut head);
        dst.reserve(HEADER_MAX - start + body.len());
        dst.put_slice(&head[start..]);
        dst.put_slice(body);
        Ok(())
    }
}

/// A tokio-util codec for typed messages: decodes bodies as JSON into `T`, encodes any
/// `Serialize` value as a JSON body.
pub struct MessageCodec<T = serde_json::Value> {
    frames: DapCodec,
    scratch: Vec<u8>,
    _type: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for MessageCodec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MessageCodec")
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl<T> Default for MessageCodec<T> {
    fn default() -> Self {
        MessageCodec::new()
    }
}

impl<T> MessageCodec<T> {
    /// A codec with [`Limits::DEFAULT`] and resync off.
    pub fn new() -> Self {
        MessageCodec::from_frames(DapCodec::new())
    }

    /// A typed codec over a configured frame codec.
    pub fn from_frames(frames: DapCodec) -> Self {
        MessageCodec {
            frames,
            scratch: Vec::new(),
            _type: PhantomData,
        }
    }
}

impl<T: DeserializeOwned> Decoder for MessageCodec<T> {
    type Item = T;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<T>, Error> {
        match self.frames.decode_frame(src, false)? {
            Some(body) => decode(&body).map(Some),
            None => Ok(None),
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<T>, Error> {
        match self.frames.decode_frame(src, true)? {
            Some(body) => decode(&body).map(Some),
            None => Ok(None),
        }
    }
}

impl<T, E: Serialize> Encoder<E> for MessageCodec<T> {
    type Error = Error;

    fn encode(&mut self, item: E, dst: &mut BytesMut) -> Result<(), Error> {
        let start = encode_frame(&mut self.scratch, &item)?;
        dst.extend_from_slice(&self.scratch[start..]);
        Ok(())
    }
}
