//! Errors of the adapter session: [`SendError`] (a message could not be sent),
//! [`ReverseRequestError`] (a reverse request got no typed answer), [`StartupError`] (the
//! start of a session did not complete) and [`Diagnostic`] (what the session noticed and
//! survived).

use super::incoming::Incoming;
use dapkit_types::{ErrorResponse, RawMessage};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Why a response or an event was not sent.
#[derive(Debug)]
#[non_exhaustive]
pub enum SendError {
    /// The session is closed (the client hung up, a write failed, or
    /// [`AdapterSession::close`](crate::adapter::AdapterSession::close)).
    Closed,
    /// The message could not be encoded (for example: `seq` numbers are exhausted).
    Encode(String),
    /// [`respond`](crate::adapter::AdapterSession::respond) was called with a response
    /// type for another command. The client got an error response instead, so it does
    /// not wait forever.
    WrongCommand {
        /// The command of the response type used.
        expected: &'static str,
        /// The command of the request being answered.
        request: String,
    },
    /// The client does not read what the adapter writes fast enough: `queued` bytes wait
    /// to be written and this message would pass the write-queue limit
    /// ([`AdapterOptions::with_write_queue_limit`](crate::adapter::AdapterOptions::with_write_queue_limit)).
    /// Nothing was sent; the session stays open.
    WriteQueueFull {
        /// Bytes of messages waiting to be written.
        queued: usize,
        /// The limit.
        limit: usize,
    },
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed => f.write_str("the debug session is closed"),
            SendError::Encode(e) => write!(f, "cannot encode the message: {e}"),
            SendError::WrongCommand { expected, request } => write!(
                f,
                "a `{expected}` response cannot answer a `{request}` request (an error response was sent instead)"
            ),
            SendError::WriteQueueFull { queued, limit } => {
                crate::wire::text::write_queue_full(f, "client", *queued, *limit)
            }
        }
    }
}

impl std::error::Error for SendError {}

/// Why a reverse request (adapter → client) did not produce its typed response.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReverseRequestError {
    /// The client answered with `success: false`.
    Rejected(Box<ErrorResponse>),
    /// The client said in `initialize` that it does not support this request (the
    /// capability was absent or false); nothing was sent.
    NotSupportedByClient {
        /// The request's command.
        command: &'static str,
        /// The client capability it needs (`supportsRunInTerminalRequest`, ...).
        capability: &'static str,
    },
    /// The request type is one that clients send, not adapters.
    NotReverse(&'static str),
    /// No response arrived within the timeout; the request is forgotten.
    Timeout {
        /// The request's command.
        command: &'static str,
        /// How long the session waited.
        after: Duration,
    },
    /// The session closed before the response arrived.
    Closed,
    /// The response arrived but does not take the typed form; it is kept as JSON.
    Malformed {
        /// The response as received (an empty object if it was not a JSON object).
        message: Box<RawMessage>,
        /// Why it did not decode.
        reason: String,
    },
    /// The request could not be encoded.
    Encode(String),
}

impl ReverseRequestError {
    /// The client's error text, for [`ReverseRequestError::Rejected`]: `body.error.format`
    /// if present, else `message`.
    pub fn client_message(&self) -> Option<String> {
        match self {
            ReverseRequestError::Rejected(e) => crate::wire::text::error_text(e),
            _ => None,
        }
    }
}

impl fmt::Display for ReverseRequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReverseRequestError::Rejected(e) => {
                write!(f, "the client refused `{}`", e.command)?;
                if let Some(m) = self.client_message() {
                    write!(f, ": {m}")?;
                }
                Ok(())
            }
            ReverseRequestError::NotSupportedByClient {
                command,
                capability,
            } => write!(
                f,
                "the client does not support `{command}` (its `initialize` lacks `{capability}: true`)"
            ),
            ReverseRequestError::NotReverse(command) => write!(
                f,
                "`{command}` is sent by clients to adapters, not by adapters to clients"
            ),
            ReverseRequestError::Timeout { command, after } => {
                write!(f, "the client did not answer `{command}` within {after:?}")
            }
            ReverseRequestError::Closed => f.write_str("the debug session is closed"),
            ReverseRequestError::Malformed { message, reason } => {
                let command = message.command().unwrap_or("?");
                write!(
                    f,
                    "the client's response to `{command}` is malformed: {reason}"
                )
            }
            ReverseRequestError::Encode(e) => write!(f, "cannot encode the request: {e}"),
        }
    }
}

impl std::error::Error for ReverseRequestError {}

/// Why [`Requests::start_up`](crate::adapter::Requests::start_up) ended without a
/// configured session.
#[derive(Debug)]
#[non_exhaustive]
pub enum StartupError {
    /// The client closed the connection (or the session was closed) first.
    Closed,
    /// The client sent `disconnect` (or `terminate`) before the start completed. The
    /// request is not answered yet: answer it, then close.
    Disconnected(Box<Incoming>),
    /// The `initialize` response or the `initialized` event could not be sent.
    Send(SendError),
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartupError::Closed => {
                f.write_str("the client closed the session before `configurationDone`")
            }
            StartupError::Disconnected(r) => write!(
                f,
                "the client sent `{}` before the session was configured",
                r.command()
            ),
            StartupError::Send(e) => write!(f, "cannot answer `initialize`: {e}"),
        }
    }
}

impl std::error::Error for StartupError {}

/// Something the session noticed and survived, passed to the callback set with
/// [`AdapterOptions::on_diagnostic`](crate::adapter::AdapterOptions::on_diagnostic).
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
    /// A request without an integer `seq` (no response could name it); it was skipped.
    UnanswerableRequest(Box<RawMessage>),
    /// A response whose `request_seq` matches no reverse request waiting for an answer
    /// (never sent, timed out, or missing).
    UnknownResponse {
        /// The `request_seq` it carried, if it was an integer.
        request_seq: Option<i64>,
        /// Its `command`, if it was a string.
        command: Option<String>,
    },
    /// An event from the client (clients send none), or a message whose `type` is
    /// missing or unknown; it was skipped.
    UnexpectedMessage(Box<RawMessage>),
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
            Diagnostic::UnanswerableRequest(m) => write!(
                f,
                "skipped request `{}`: it has no integer `seq`, so no response can answer it",
                m.command().unwrap_or("?")
            ),
            Diagnostic::UnknownResponse {
                request_seq,
                command,
            } => {
                let command = command.as_deref().unwrap_or("?");
                match request_seq {
                    Some(rs) => write!(
                        f,
                        "response to `{command}` answers request_seq {rs}, which no pending reverse request has"
                    ),
                    None => write!(f, "response to `{command}` has no integer request_seq"),
                }
            }
            Diagnostic::UnexpectedMessage(m) => match (m.kind(), m.event_name()) {
                (Some("event"), name) => write!(
                    f,
                    "skipped event `{}` from the client (clients send no events)",
                    name.unwrap_or("?")
                ),
                (Some(kind), _) => write!(f, "skipped a message of unknown type {kind:?}"),
                (None, _) => f.write_str("skipped a message without a `type`"),
            },
            Diagnostic::Closed { reason } => write!(f, "session closed: {reason}"),
        }
    }
}

/// Called with every [`Diagnostic`] the session reports.
pub type DiagnosticHandler = Arc<dyn Fn(Diagnostic) + Send + Sync>;
