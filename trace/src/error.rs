//! Errors reading a trace.

use std::fmt;
use std::io;

/// What went wrong reading a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadErrorKind {
    /// Reading the file failed (including a damaged gzip stream).
    Io,
    /// The trace has no header line.
    Empty,
    /// The first line is not a dapkit trace header.
    NotATrace,
    /// The header names a format version this crate does not read.
    UnsupportedVersion,
    /// A line is not UTF-8.
    NotUtf8,
    /// A line is longer than the reader's limit; it was skipped.
    LineTooLong,
    /// A line is not a valid record.
    BadRecord,
    /// The last line ends without a line end and is not a valid record: the writer was
    /// stopped while writing it.
    Truncated,
}

/// An error reading a trace, naming the line (1 is the header).
#[derive(Debug)]
pub struct ReadError {
    kind: ReadErrorKind,
    line: u64,
    message: String,
    io: Option<io::Error>,
}

impl ReadError {
    pub(crate) fn new(kind: ReadErrorKind, line: u64, message: impl Into<String>) -> ReadError {
        ReadError {
            kind,
            line,
            message: message.into(),
            io: None,
        }
    }

    pub(crate) fn io(line: u64, error: io::Error) -> ReadError {
        ReadError {
            kind: ReadErrorKind::Io,
            line,
            message: format!("cannot read: {error}"),
            io: Some(error),
        }
    }

    /// What went wrong.
    pub fn kind(&self) -> ReadErrorKind {
        self.kind
    }

    /// The line (1-based; the header is line 1).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The description, without the line number.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True when the reader can go on with the next line (a bad or over-long line);
    /// false when the trace cannot be read further.
    pub fn is_recoverable(&self) -> bool {
        matches!(
            self.kind,
            ReadErrorKind::NotUtf8 | ReadErrorKind::LineTooLong | ReadErrorKind::BadRecord
        )
    }
}

impl fmt::Display for ReadError {
    /// `line N: …` on one line: control characters from the trace (quoted in a parse error)
    /// are spelled as escapes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write as _;
        write!(
            crate::text::Escaping(f),
            "line {}: {}",
            self.line,
            self.message
        )
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io.as_ref().map(|e| e as _)
    }
}
