//! Trace writer: one JSON line per record, flushed as written.

use crate::format::{Direction, Header, Payload, Record, format_time};
use flate2::Compression;
use flate2::write::GzEncoder;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::time::{Instant, SystemTime};

/// Writes a trace. Each record is written as one line and flushed at once, so a killed
/// writer loses at most the record in flight.
#[derive(Debug)]
pub struct TraceWriter<W: Write> {
    out: W,
    start: Instant,
    line: Vec<u8>,
}

/// The file a trace is written to: plain, or gzip when its name ends in `.gz`.
#[derive(Debug)]
pub enum TraceFile {
    /// A plain JSON Lines file.
    Plain(BufWriter<File>),
    /// A gzip-compressed file; every flush is a gzip sync flush, so what was flushed can
    /// be read back even if the writer is killed.
    Gzip(GzEncoder<BufWriter<File>>),
}

impl Write for TraceFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            TraceFile::Plain(w) => w.write(buf),
            TraceFile::Gzip(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            TraceFile::Plain(w) => w.flush(),
            TraceFile::Gzip(w) => w.flush(),
        }
    }
}

impl TraceWriter<TraceFile> {
    /// Creates (or truncates) a trace file and writes its header; gzip when the name ends in `.gz`.
    pub fn create(path: impl AsRef<Path>, header: &Header) -> io::Result<Self> {
        let path = path.as_ref();
        let file = File::create(path).map_err(|e| {
            io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display()))
        })?;
        let file = BufWriter::with_capacity(1 << 16, file);
        let out = if path.extension().is_some_and(|ext| ext == "gz") {
            TraceFile::Gzip(GzEncoder::new(file, Compression::fast()))
        } else {
            TraceFile::Plain(file)
        };
        TraceWriter::new(out, header)
    }

    /// Ends the file (the gzip trailer) and flushes it.
    pub fn finish(self) -> io::Result<()> {
        match self.out {
            TraceFile::Plain(mut w) => w.flush(),
            TraceFile::Gzip(w) => w.finish()?.flush(),
        }
    }
}

impl<W: Write> TraceWriter<W> {
    /// Writes the header line and returns a writer for the records. Offsets count from now.
    pub fn new(mut out: W, header: &Header) -> io::Result<Self> {
        let mut line = serde_json::to_vec(header).map_err(io::Error::other)?;
        line.push(b'\n');
        out.write_all(&line)?;
        out.flush()?;
        Ok(TraceWriter {
            out,
            start: Instant::now(),
            line,
        })
    }

    /// Microseconds since the writer was created.
    pub fn offset_us(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Records a frame body as it was sent, stamped now.
    pub fn message(&mut self, direction: Direction, client: u32, body: &[u8]) -> io::Result<()> {
        let record = Record::from_body(
            format_time(SystemTime::now()),
            self.offset_us(),
            direction,
            client,
            body,
        );
        self.write(&record)
    }

    /// Records bytes that are not a message (a body that is not JSON, or bytes between
    /// frames), and why, stamped now.
    pub fn invalid(
        &mut self,
        direction: Direction,
        client: u32,
        bytes: &[u8],
        error: &str,
    ) -> io::Result<()> {
        let record = Record {
            time: format_time(SystemTime::now()),
            offset_us: self.offset_us(),
            direction,
            client,
            payload: Payload::Bytes {
                bytes: bytes.to_vec(),
                error: Some(error.to_owned()),
            },
        };
        self.write(&record)
    }

    /// Writes a record as it is (its times included) and flushes.
    pub fn write(&mut self, record: &Record) -> io::Result<()> {
        self.write_unflushed(record)?;
        self.out.flush()
    }

    /// Writes a record as it is without flushing: it may sit in the buffer until
    /// [`flush`](Self::flush) (for a writer that flushes a batch of records at once).
    pub fn write_unflushed(&mut self, record: &Record) -> io::Result<()> {
        self.line.clear();
        self.line.extend_from_slice(record.to_line().as_bytes());
        self.line.push(b'\n');
        self.out.write_all(&self.line)
    }

    /// Flushes the records written so far (for a gzip file, a sync flush).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Returns the underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}
