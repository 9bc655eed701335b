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
