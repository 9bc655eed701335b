//! The crate's single error type: what went wrong, whether reading can go on, and the
//! evidence (a bounded prefix of the offending bytes, the message's `seq` and
//! `command`/`event` when they could be read).

use crate::summary::{Summary, summarize};
use std::fmt;
use std::io;

/// At most this many bytes of offending input are kept in an [`Error`].
pub const PREFIX_LEN: usize = 256;

/// What kind of problem an [`Error`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The underlying reader or writer failed. Fatal.
    Io,
    /// The stream ended inside a header block or a body. Fatal.
    UnexpectedEof,
    /// A line where a header was expected is not a `Name: value` header line.
    InvalidHeader,
    /// A header block ended without a `Content-Length` header.
    MissingContentLength,
    /// A `Content-Length` value is empty, negative, not decimal digits, or overflows.
    InvalidContentLength,
    /// Two `Content-Length` headers of one block disagree.
    ConflictingContentLength,
    /// A header block is longer than [`Limits::max_header_bytes`](crate::Limits).
    HeaderTooLarge,
    /// A body is longer than [`Limits::max_body_bytes`](crate::Limits); it was skipped.
    BodyTooLarge,
    /// Resync mode skipped bytes that were not a header block.
    Skipped,
    /// A body is not valid JSON (or not UTF-8).
    InvalidJson,
    /// A body is JSON but does not match the expected message type.
    InvalidMessage,
    /// A value could not be serialized to JSON; nothing was written.
    Serialize,
}

impl ErrorKind {
    fn describe(self) -> &'static str {
        match self {
            ErrorKind::Io => "I/O error",
            ErrorKind::UnexpectedEof => "unexpected end of stream",
            ErrorKind::InvalidHeader => "invalid header",
            ErrorKind::MissingContentLength => "missing Content-Length",
            ErrorKind::InvalidContentLength => "invalid Content-Length",
            ErrorKind::ConflictingContentLength => "conflicting Content-Length headers",
            ErrorKind::HeaderTooLarge => "header block too large",
            ErrorKind::BodyTooLarge => "body too large",
            ErrorKind::Skipped => "skipped bytes that are not a header",
            ErrorKind::InvalidJson => "invalid JSON body",
            ErrorKind::InvalidMessage => "body does not match the expected message type",
            ErrorKind::Serialize => "cannot serialize message",
        }
    }
}

/// An error of framing, I/O or (de)serialization.
///
/// [`Error::is_recoverable`] tells whether the reader is still at a known place in the
/// stream, so that reading may go on: a recoverable error consumed exactly the bytes it
/// reports (a bad header line, a skipped body, an undecodable body, skipped junk).
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    detail: String,
    prefix: Vec<u8>,
    length: Option<u64>,
    summary: Summary,
    source: Option<Source>,
}

enum Source {
    Io(io::Error),
    Json(serde_json::Error),
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                detail: detail.into(),
                prefix: Vec::new(),
                length: None,
                summary: Summary::default(),
                source: None,
            }),
        }
    }

    pub(crate) fn io(err: io::Error) -> Self {
        let mut e = Error::new(ErrorKind::Io, err.to_string());
        e.inner.source = Some(Source::Io(err));
        e
    }

    pub(crate) fn eof(detail: impl Into<String>, seen: &[u8]) -> Self {
        Error::new(ErrorKind::UnexpectedEof, detail).with_prefix(seen)
    }

    /// A (de)serialization failure of `body`; the summary is taken from `body`.
    pub(crate) fn json(err: serde_json::Error, body: &[u8]) -> Self {
        let kind = match err.classify() {
            serde_json::error::Category::Data => ErrorKind::InvalidMessage,
            _ => ErrorKind::InvalidJson,
        };
        let mut e = Error::new(kind, err.to_string()).with_prefix(body);
        e.inner.summary = summarize(body);
        e.inner.source = Some(Source::Json(err));
        e
    }

    pub(crate) fn serialize(err: serde_json::Error) -> Self {
        let mut e = Error::new(ErrorKind::Serialize, err.to_string());
        e.inner.source = Some(Source::Json(err));
        e
    }

    pub(crate) fn with_prefix(mut self, bytes: &[u8]) -> Self {
        self.inner.prefix.clear();
        self.extend_prefix(bytes);
        self
    }

    pub(crate) fn with_length(mut self, length: u64) -> Self {
        self.inner.length = Some(length);
        self
    }

    /// Appends to the prefix, never beyond [`PREFIX_LEN`] bytes.
    pub(crate) fn extend_prefix(&mut self, bytes: &[u8]) {
        let room = PREFIX_LEN.saturating_sub(self.inner.prefix.len());
        let take = room.min(bytes.len());
        self.inner.prefix.extend_from_slice(&bytes[..take]);
    }

    /// Fills `seq`/`command`/`event` from the prefix (for bodies that were skipped).
    pub(crate) fn summarize_prefix(&mut self) {
        self.inner.summary = summarize(&self.inner.prefix);
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Whether the reader is still in sync and may be read again.
    ///
    /// `false` for I/O failures and for a stream that ended inside a frame; `true` for
    /// bad headers, over-limit headers and bodies, skipped junk, bodies that are not JSON
    /// or not the expected type, and values that cannot be serialized.
    pub fn is_recoverable(&self) -> bool {
        !matches!(self.inner.kind, ErrorKind::Io | ErrorKind::UnexpectedEof)
    }

    /// The first bytes (at most [`PREFIX_LEN`]) of the input this error is about:
    /// the offending header line(s), skipped junk, or the body.
    pub fn prefix(&self) -> &[u8] {
        &self.inner.prefix
    }

    /// For [`ErrorKind::BodyTooLarge`] the announced `Content-Length`; for
    /// [`ErrorKind::Skipped`] the number of bytes skipped.
    pub fn length(&self) -> Option<u64> {
        self.inner.length
    }

    /// The `seq` of the message concerned, when its body could be read that far.
    pub fn seq(&self) -> Option<i64> {
        self.inner.summary.seq
    }

    /// The `command` of the message concerned (requests and responses), when readable.
    pub fn command(&self) -> Option<&str> {
        self.inner.summary.command.as_deref()
    }

    /// The `event` of the message concerned (events), when readable.
    pub fn event(&self) -> Option<&str> {
        self.inner.summary.event.as_deref()
    }

    /// The underlying I/O error, if this is an [`ErrorKind::Io`] error.
    pub fn io_error(&self) -> Option<&io::Error> {
        match &self.inner.source {
            Some(Source::Io(e)) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Error::io(err)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.write_str(inner.kind.describe())?;
        if !inner.detail.is_empty() {
            write!(f, ": {}", inner.detail)?;
        }
        let s = &inner.summary;
        if let Some(seq) = s.seq {
            write!(f, " (seq {seq}")?;
            if let Some(c) = &s.command {
                write!(f, ", command {c:?}")?;
            }
            if let Some(e) = &s.event {
                write!(f, ", event {e:?}")?;
            }
            f.write_str(")")?;
        } else if let Some(c) = &s.command {
            write!(f, " (command {c:?})")?;
        } else if let Some(e) = &s.event {
            write!(f, " (event {e:?})")?;
        }
        if !inner.prefix.is_empty() && inner.kind != ErrorKind::Io {
            const SHOWN: usize = 64;
            let shown = &inner.prefix[..inner.prefix.len().min(SHOWN)];
            write!(f, "; input starts \"{}\"", shown.escape_ascii())?;
            if inner.prefix.len() > SHOWN {
                f.write_str("...")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Error")
            .field("kind", &inner.kind)
            .field("detail", &inner.detail)
            .field("prefix", &inner.prefix.escape_ascii().to_string())
            .field("length", &inner.length)
            .field("seq", &inner.summary.seq)
            .field("command", &inner.summary.command)
            .field("event", &inner.summary.event)
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.inner.source {
            Some(Source::Io(e)) => Some(e),
            Some(Source::Json(e)) => Some(e),
            None => None,
        }
    }
}
