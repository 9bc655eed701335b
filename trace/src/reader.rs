//! Streaming trace reader.

use crate::error::{ReadError, ReadErrorKind};
use crate::format::{FORMAT_VERSION, Header, Record, split_line};
use flate2::bufread::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::Path;

/// The longest line the reader accepts by default: 96 MiB, room for a 64 MiB frame body
/// (wireformat's default body limit) kept as base64. A longer line is skipped and reported.
pub const DEFAULT_MAX_LINE: usize = 96 << 20;

/// Reads a trace one record at a time; memory is bounded by the longest line accepted.
pub struct TraceReader<R> {
    input: R,
    header: Header,
    line: u64,
    buf: Vec<u8>,
    max_line: usize,
    done: bool,
}

impl<R> std::fmt::Debug for TraceReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TraceReader")
            .field("header", &self.header)
            .field("line", &self.line)
            .finish_non_exhaustive()
    }
}

impl TraceReader<Box<dyn BufRead + Send>> {
    /// Opens a trace file, plain or gzip (recognised by its magic bytes), and reads its header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReadError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| {
            ReadError::new(
                ReadErrorKind::Io,
                0,
                format!("cannot open {}: {e}", path.display()),
            )
        })?;
        Self::from_reader(BufReader::with_capacity(1 << 16, file))
    }

    /// Reads a trace, plain or gzip (recognised by its magic bytes), from any reader.
    pub fn from_reader<B: BufRead + Send + 'static>(mut input: B) -> Result<Self, ReadError> {
        let head = input.fill_buf().map_err(|e| ReadError::io(1, e))?;
        let boxed: Box<dyn BufRead + Send> = if head.starts_with(&[0x1f, 0x8b]) {
            Box::new(BufReader::with_capacity(
                1 << 16,
                MultiGzDecoder::new(input),
            ))
        } else {
            Box::new(input)
        };
        TraceReader::new(boxed)
    }
}

impl<R: BufRead> TraceReader<R> {
    /// Reads the header of a plain (not compressed) trace.
    pub fn new(input: R) -> Result<Self, ReadError> {
        Self::with_max_line(input, DEFAULT_MAX_LINE)
    }

    /// Like [`new`](Self::new), with another limit on the length of a line.
    pub fn with_max_line(input: R, max_line: usize) -> Result<Self, ReadError> {
        let mut reader = TraceReader {
            input,
            header: Header::new(serde_json::Value::Null),
            line: 0,
            buf: Vec::new(),
            max_line,
            done: false,
        };
        let Some(ended) = reader.read_line()? else {
            return Err(ReadError::new(
                ReadErrorKind::Empty,
                1,
                "the trace is empty (no header line)",
            ));
        };
        let text = std::str::from_utf8(&reader.buf).map_err(|_| {
            ReadError::new(
                ReadErrorKind::NotATrace,
                1,
                "not a dapkit trace: the first line is not UTF-8",
            )
        })?;
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            let kind = if ended {
                ReadErrorKind::NotATrace
            } else {
                ReadErrorKind::Truncated
            };
            ReadError::new(
                kind,
                1,
                format!("not a dapkit trace: the first line is not JSON ({e})"),
            )
        })?;
        let Some(version) = value.get("dapkitTrace") else {
            return Err(ReadError::new(
                ReadErrorKind::NotATrace,
                1,
                "not a dapkit trace: the first line has no `dapkitTrace` member",
            ));
        };
        if version.as_u64() != Some(FORMAT_VERSION) {
            return Err(ReadError::new(
                ReadErrorKind::UnsupportedVersion,
                1,
                format!(
                    "trace format version {version} is not supported (this dapkit reads version {FORMAT_VERSION})"
                ),
            ));
        }
        reader.header = serde_json::from_value(value).map_err(|e| {
            ReadError::new(
                ReadErrorKind::NotATrace,
                1,
                format!("bad trace header: {e}"),
            )
        })?;
        Ok(reader)
    }

    /// The trace's header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The number of the line last read (1 is the header).
    pub fn line_number(&self) -> u64 {
        self.line
    }

    /// The next record; `Ok(None)` at the end. After a recoverable error
    /// ([`ReadError::is_recoverable`]) the next call reads the following line.
    pub fn next_record(&mut self) -> Result<Option<Record>, ReadError> {
        let Some(ended) = self.next_line()? else {
            return Ok(None);
        };
        let text = utf8(&self.buf, self.line)?;
        let record = parse(text, self.line, ended);
        self.done |= !ended;
        record.map(Some)
    }

    /// Like [`next_record`](Self::next_record), reading into `record` (whose memory, the
    /// time's and the message text's, is reused) and decoding the record's message with
    /// `decode` on the way. A message record as the writer spells it is not parsed twice
    /// (once as JSON, once by `decode`): `decode` reads the message straight from the
    /// line, and its success (`true`; it keeps what it decoded) is the check that the
    /// message is JSON. `Some(true)`: `decode` succeeded; `Some(false)`: it was not called
    /// or failed, and the record was read in full (what is wrong with it found as by
    /// `next_record`); `None` at the end. After an error `record` is as it was.
    pub(crate) fn next_decoded(
        &mut self,
        record: &mut Record,
        decode: impl FnOnce(&str) -> bool,
    ) -> Result<Option<bool>, ReadError> {
        // The common case, a whole line already in the input's buffer, is read where it
        // is, without copying it into `buf` first; anything else (a line across buffer
        // fills, blank lines, an over-long line, the end) takes the path below.
        if !self.done {
            if let Ok(chunk) = self.input.fill_buf() {
                if let Some(end) = memchr::memchr(b'\n', chunk) {
                    let line = chunk[..end].strip_suffix(b"\r").unwrap_or(&chunk[..end]);
                    if line.len() <= self.max_line && line.first() == Some(&b'{') {
                        self.line += 1;
                        let number = self.line;
                        let read = Self::decode_line(line, number, record, decode);
                        self.input.consume(end + 1);
                        return read.map(Some);
                    }
                }
            }
        }
        let Some(ended) = self.next_line()? else {
            return Ok(None);
        };
        if ended {
            return Self::decode_line(&self.buf, self.line, record, decode).map(Some);
        }
        let text = utf8(&self.buf, self.line)?;
        let read = parse(text, self.line, ended);
        self.done |= !ended;
        *record = read?;
        Ok(Some(false))
    }

    /// A whole line (number `number`, ended by a line end) read into `record`, its message
    /// decoded by `decode` when the line is spelled as the writer spells it. Whether
    /// `decode` succeeded.
    fn decode_line(
        line: &[u8],
        number: u64,
        record: &mut Record,
        decode: impl FnOnce(&str) -> bool,
    ) -> Result<bool, ReadError> {
        let text = utf8(line, number)?;
        if let Some(parts) = split_line(text) {
            if decode(parts.msg) {
                record.refill(&parts);
                return Ok(true);
            }
        }
        *record = parse(text, number, true)?;
        Ok(false)
    }

    /// Reads up to the next line that is not blank into `buf`. `Some(ended)` as
    /// [`read_line`](Self::read_line); `None` at the end.
    fn next_line(&mut self) -> Result<Option<bool>, ReadError> {
        loop {
            if self.done {
                return Ok(None);
            }
            let Some(ended) = self.read_line()? else {
                return Ok(None);
            };
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                if !ended {
                    return Ok(None);
                }
                continue; // a blank line, as editors leave at the end
            }
            return Ok(Some(ended));
        }
    }

    /// Reads the next line into `buf` (without its line end). `Some(true)` when it ended
    /// with `\n`, `Some(false)` at the end of the input, `None` when nothing was left.
    fn read_line(&mut self) -> Result<Option<bool>, ReadError> {
        self.buf.clear();
        self.line += 1;
        let mut too_long = false;
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.done = true;
                    return Err(ReadError::io(self.line, e));
                }
            };
            if chunk.is_empty() {
                self.done = true;
                if too_long {
                    return Err(self.too_long());
                }
                return Ok(if self.buf.is_empty() {
                    None
                } else {
                    Some(false)
                });
            }
            let (take, ended) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if !too_long {
                let keep = if ended { take - 1 } else { take };
                if self.buf.len() + keep > self.max_line {
                    too_long = true;
                    self.buf = Vec::new();
                } else {
                    self.buf.extend_from_slice(&chunk[..keep]);
                }
            }
            self.input.consume(take);
            if ended {
                if too_long {
                    return Err(self.too_long());
                }
                if self.buf.last() == Some(&b'\r') {
                    self.buf.pop();
                }
                return Ok(Some(true));
            }
        }
    }

    fn too_long(&self) -> ReadError {
        ReadError::new(
            ReadErrorKind::LineTooLong,
            self.line,
            format!(
                "line longer than the limit of {} bytes; skipped",
                self.max_line
            ),
        )
    }
}

/// The line as text, or the error naming where it is not UTF-8.
fn utf8(buf: &[u8], line: u64) -> Result<&str, ReadError> {
    // Every line is checked: the SIMD check first (several times faster on long lines), the
    // standard one only to say where a bad line goes wrong.
    if let Ok(text) = simdutf8::basic::from_utf8(buf) {
        return Ok(text);
    }
    std::str::from_utf8(buf).map_err(|e| {
        ReadError::new(
            ReadErrorKind::NotUtf8,
            line,
            format!("not UTF-8 (at byte {})", e.valid_up_to()),
        )
    })
}

/// Parses one line (number `line`) as a record; `ended`: whether it ended with a line end
/// (a last line without one that does not parse is a truncated trace).
fn parse(text: &str, line: u64, ended: bool) -> Result<Record, ReadError> {
    match Record::from_line(text) {
        Ok(record) => Ok(record),
        Err(message) if !ended => Err(ReadError::new(
            ReadErrorKind::Truncated,
            line,
            format!("the trace ends inside a record (was the writer stopped?): {message}"),
        )),
        Err(message) => Err(ReadError::new(ReadErrorKind::BadRecord, line, message)),
    }
}

impl<R: BufRead> Iterator for TraceReader<R> {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}
