//! Helpers shared by the integration tests.
#![allow(dead_code)]

use dapkit_wireformat::{Error, ErrorKind, FrameReader, Limits};
use std::io::{self, BufRead, Read};

/// A `BufRead` that hands out its data in chunks of the given sizes (cycling), the way a
/// socket delivers whatever has arrived.
pub struct Chunked {
    data: Vec<u8>,
    pos: usize,
    chunk_end: usize,
    sizes: Vec<usize>,
    next: usize,
}

impl Chunked {
    pub fn new(data: Vec<u8>, sizes: Vec<usize>) -> Self {
        let sizes = if sizes.is_empty() { vec![1] } else { sizes };
        Chunked {
            data,
            pos: 0,
            chunk_end: 0,
            sizes,
            next: 0,
        }
    }
}

impl Read for Chunked {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Chunked {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.chunk_end {
            let size = self.sizes[self.next % self.sizes.len()].max(1);
            self.next += 1;
            self.chunk_end = self.pos.saturating_add(size).min(self.data.len());
        }
        Ok(&self.data[self.pos..self.chunk_end])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.chunk_end);
    }
}

/// One observable result of reading: a frame or an error (kind, prefix, length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Frame(Vec<u8>),
    Error(ErrorKind, Vec<u8>, Option<u64>),
}

impl Event {
    pub fn error(e: &Error) -> Self {
        Event::Error(e.kind(), e.prefix().to_vec(), e.length())
    }
}

/// Reads until clean end of stream or a fatal error; bounded by `max_events`.
pub fn read_all<R: BufRead>(reader: &mut FrameReader<R>, max_events: usize) -> Vec<Event> {
    let mut events = Vec::new();
    for _ in 0..max_events {
        match reader.read_frame() {
            Ok(Some(frame)) => events.push(Event::Frame(frame.to_vec())),
            Ok(None) => return events,
            Err(e) => {
                let fatal = !e.is_recoverable();
                events.push(Event::error(&e));
                if fatal {
                    return events;
                }
            }
        }
    }
    panic!("reader did not finish within {max_events} events: {events:?}");
}

/// Events from reading `data` with the given chunk sizes.
pub fn events(data: &[u8], sizes: Vec<usize>, limits: Limits, resync: bool) -> Vec<Event> {
    let mut reader = FrameReader::new(Chunked::new(data.to_vec(), sizes))
        .with_limits(limits)
        .with_resync(resync);
    read_all(&mut reader, 10_000)
}

/// `Content-Length: N\r\n\r\n` + body.
pub fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body);
    out
}

/// Feeds `data` to the async codec in chunks of `sizes` (cycling).
#[cfg(feature = "tokio")]
pub fn codec_events(data: &[u8], sizes: &[usize], limits: Limits, resync: bool) -> Vec<Event> {
    use bytes::BytesMut;
    use dapkit_wireformat::DapCodec;

    let mut codec = DapCodec::new().with_limits(limits).with_resync(resync);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut pos = 0;
    let mut next = 0;
    for _ in 0..100_000 {
        let at_eof = pos == data.len();
        match codec.decode_frame_for_tests(&mut buf, at_eof) {
            Ok(Some(frame)) => {
                out.push(Event::Frame(frame.to_vec()));
                continue;
            }
            Ok(None) if at_eof => return out,
            Ok(None) => {}
            Err(e) => {
                out.push(Event::error(&e));
                if !e.is_recoverable() {
                    return out;
                }
                continue;
            }
        }
        let size = sizes[next % sizes.len()].max(1);
        next += 1;
        let end = pos.saturating_add(size).min(data.len());
        buf.extend_from_slice(&data[pos..end]);
        pos = end;
    }
    panic!("codec did not finish: {out:?}");
}

#[cfg(feature = "tokio")]
trait DecodeForTests {
    fn decode_frame_for_tests(
        &mut self,
        buf: &mut bytes::BytesMut,
        at_eof: bool,
    ) -> Result<Option<bytes::Bytes>, dapkit_wireformat::Error>;
}

#[cfg(feature = "tokio")]
impl DecodeForTests for dapkit_wireformat::DapCodec {
    fn decode_frame_for_tests(
        &mut self,
        buf: &mut bytes::BytesMut,
        at_eof: bool,
    ) -> Result<Option<bytes::Bytes>, dapkit_wireformat::Error> {
        use tokio_util::codec::Decoder;
        if at_eof {
            self.decode_eof(buf)
        } else {
            self.decode(buf)
        }
    }
}

/// Limits small enough for short inputs to hit them.
pub const SMALL_LIMITS: Limits = Limits {
    max_header_bytes: 48,
    max_body_bytes: 40,
};

/// The differential check of the fuzz target `frame_reader`, also run over its seed
/// corpus by `cargo test`. The first byte of `input` picks resync mode and limits, the
/// next two the chunk sizes; the rest is the stream. The sync reader in three chunkings
/// and the async codec must agree, stay within the limits, and finish.
pub fn check_input(input: &[u8]) -> Vec<Event> {
    let (config, rest) = input.split_first().unwrap_or((&0, &[]));
    let (sizes, data) = if rest.len() >= 2 {
        (
            vec![usize::from(rest[0]) + 1, usize::from(rest[1]) + 1],
            &rest[2..],
        )
    } else {
        (vec![1], rest)
    };
    let resync = config & 1 == 1;
    let limits = if config & 2 == 2 {
        SMALL_LIMITS
    } else {
        Limits::DEFAULT
    };
    let whole = events(data, vec![usize::MAX], limits, resync);
    assert_eq!(
        events(data, sizes.clone(), limits, resync),
        whole,
        "chunked {sizes:?}"
    );
    assert_eq!(
        events(data, vec![1], limits, resync),
        whole,
        "one byte per read"
    );
    // The async codec exists with the `tokio` feature only.
    #[cfg(feature = "tokio")]
    assert_eq!(
        codec_events(data, &sizes, limits, resync),
        whole,
        "async codec"
    );
    for event in &whole {
        match event {
            Event::Frame(f) => assert!(f.len() <= limits.max_body_bytes),
            Event::Error(_, prefix, _) => assert!(prefix.len() <= dapkit_wireformat::PREFIX_LEN),
        }
    }
    whole
}
