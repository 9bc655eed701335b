//! Errors of the client session: [`RequestError`] (why a request got no typed answer),
//! [`WaitError`] (why waiting for an event ended), and [`Diagnostic`] (what the session
//! noticed and survived: malformed frames, responses nobody waits for, ...).

use dapkit_types::{ErrorResponse, RawMessage};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Why a request did not produce its typed response.
#[derive(Debug)]
#[non_exhaustive]
pub enum RequestError {
    /// The adapter answered with `success: false`.
    Failed(Box<ErrorResponse>),
    /// No response arrived within the timeout; the request is forgotten (a late response is
    /// reported as [`Diagnostic::LateResponse`]).
    Timeout {
        /// The request's command.
        command: String,
        /// The request's `seq`.
        seq: i64,
        /// How long the client waited.
        after: Duration,
    },
    /// The request was cancelled with [`Client::cancel`](crate::client::Client::cancel).
    Cancelled,
    /// The session is closed (the connection ended, a fatal read error, or
    /// [`Client::close`](crate::client::Client::close)); no response will come.
    Closed,
    /// The response arrived but does not take the typed form of the request's response.
    /// The message is kept as JSON.
    Malformed {
        /// The response as received.
        message: Box<RawMessage>,
        /// Why it did not decode.
        reason: String,
    },
    /// Writing to the adapter failed; the session is closed.
    Io(Arc<std::io::Error>),
    /// The request could not be encoded (for example: `seq` numbers are exhausted).
    Encode(String),
    /// The adapter does not read what the client writes fast enough: `queued` bytes wait
    /// to be written and this request would pass the write-queue limit
    /// ([`ClientOptions::with_write_queue_limit`](crate::client::ClientOptions::with_write_queue_limit)).
    /// Nothing was sent; the session stays open.
    WriteQueueFull {
        /// Bytes of messages waiting to be written.
        queued: usize,
        /// The limit.
        limit: usize,
    },
}

impl RequestError {
    /// The adapter's error message (`message`, or the formatted `body.error`), for
    /// [`RequestError::Failed`].
    pub fn adapter_message(&self) -> Option<String> {
        match self {
            RequestError::Failed(e) => crate::wire::text::error_text(e),
            _ => None,
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Failed(e) => {
                write!(f, "`{}` failed (request_seq {})", e.command, e.request_seq)?;
                if let Some(m) = self.adapter_message() {
                    write!(f, ": {m}")?;
                }
                Ok(())
            }
            RequestError::Timeout {
                command,
                seq,
                after,
            } => write!(
                f,
                "`{command}` (seq {seq}) got no response within {after:?}"
            ),
            RequestError::Cancelled => f.write_str("request cancelled"),
            RequestError::Closed => f.write_str("the debug session is closed"),
            RequestError::Malformed { message, reason } => {
                let command = message.command().unwrap_or("?");
                write!(f, "response to `{command}` is malformed: {reason}")
            }
            RequestError::Io(e) => write!(f, "cannot write to the debug adapter: {e}"),
            RequestError::Encode(e) => write!(f, "cannot encode the request: {e}"),
            RequestError::WriteQueueFull { queued, limit } => {
                crate::wire::text::write_queue_full(f, "debug adapter", *queued, *limit)
            }
        }
    }
}

impl std::error::Error for RequestError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RequestError::Io(e) => Some(&**e),
            _ => None,
        }
    }
}

/// Why [`Events::wait_for`](crate::client::Events::wait_for) returned without an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WaitError {
    /// No matching event within the timeout.
    Timeout(Duration),
    /// The session closed before a matching event arrived.
    Closed,
    /// The events passed over fill the backlog (this many); none was dropped. Take them
    /// with [`Events::recv`](crate::client::Events::recv) or drop them with
    /// [`Events::clear_backlog`](crate::client::Events::clear_backlog), then wait again.
    BacklogFull(usize),
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::Timeout(d) => write!(f, "no matching event within {d:?}"),
            WaitError::Closed => f.write_str("the debug session closed before a matching event"),
            WaitError::BacklogFull(n) => write!(
                f,
                "no matching event among the {n} passed over, which fill the backlog; take them with recv() or clear_backlog()"
            ),
        }
    }
}

impl std::error::Error for WaitError {}

/// Something the session noticed and survived, passed to the callback set with
/// [`ClientOptions::on_diagnostic`](crate::client::ClientOptions::on_diagnostic).
#[derive(Debug)]
#[non_exhaustive]
pub enum Diagnostic {
    /// A framing problem the reader recovered from (a bad header, an over-limit body,
    /// skipped junk); reading went on with the next frame.
    Frame(dapkit_wireformat::Error),
    /// A frame whose body is not a JSON object; it was skipped.
    Undecodable {
        /// Why it did not decode.
        reason: String,
        /// The first bytes of the body (at most 256).
        prefix: Vec<u8>,
    },
    /// A response whose `request_seq` matches no request this client sent (or is missing),
    /// or one abandoned so long ago that it is no longer remembered (only the latest 1024
    /// abandoned requests are).
    UnknownResponse {
        /// The `request_seq` it carried, if it was an integer.
        request_seq: Option<i64>,
        /// The response as received.
        message: Box<RawMessage>,
    },
    /// A response to a request that already timed out or was cancelled.
    LateResponse {
        /// The request's `seq`.
        request_seq: i64,
    },
    /// A message whose `type` is missing or not `request`/`response`/`event`; skipped.
    UnknownMessage(Box<RawMessage>),
    /// A reverse request with no handler; it was answered with an error response.
    UnhandledReverseRequest {
        /// Its command.
        command: String,
        /// Its `seq`.
        seq: i64,
    },
    /// A reverse request handler returned an error; it was sent as an error response.
    ReverseRequestFailed {
        /// The reverse request's command.
        command: String,
        /// The handler's error.
        error: String,
    },
    /// The session closed.
    Closed {
        /// Why: end of stream, a fatal read or write error, or a local close.
        reason: String,
    },
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diagnostic::Frame(e) => write!(f, "skipped a bad frame: {e}"),
            Diagnostic::Undecodable { reason, prefix } => {
                crate::wire::text::undecodable(f, reason, prefix)
            }
            Diagnostic::UnknownResponse {
                request_seq,
                message,
            } => {
                let command = message.command().unwrap_or("?");
                match request_seq {
                    Some(rs) => write!(
                        f,
                        "response to `{command}` answers request_seq {rs}, which this client never sent or no longer remembers"
                    ),
                    None => write!(
                        f,
                        "response to `{command}` has no integer request_seq; ignored"
                    ),
                }
            }
            Diagnostic::LateResponse { request_seq } => write!(
                f,
                "response to request {request_seq} arrived after it timed out or was cancelled"
            ),
            Diagnostic::UnknownMessage(m) => match m.kind() {
                Some(kind) => write!(f, "skipped a message of unknown type {kind:?}"),
                None => f.write_str("skipped a message without a `type`"),
            },
            Diagnostic::UnhandledReverseRequest { command, seq } => write!(
                f,
                "reverse request `{command}` (seq {seq}) has no handler; answered with an error"
            ),
            Diagnostic::ReverseRequestFailed { command, error } => {
                write!(f, "reverse request `{command}` failed: {error}")
            }
            Diagnostic::Closed { reason } => write!(f, "session closed: {reason}"),
        }
    }
}
