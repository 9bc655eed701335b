//! [`Incoming`]: one request from the client, waiting for its response; and [`Requests`],
//! the stream of them.
//!
//! Every request gets exactly one response: answering consumes the [`Incoming`], and one
//! dropped unanswered is answered with an error response ("`X` is not handled by this
//! debug adapter"). That is how requests an adapter does not implement, custom commands
//! included, get their error response by default.

use super::AdapterSession;
use super::error::SendError;
use super::shared::Shared;
use dapkit_types::types::{ErrorResponseBody, Message, ResponseMessage};
use dapkit_types::{ErrorResponse, Request};
use futures_core::Stream;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::sync::mpsc;

/// A request from the client, typed by its command ([`Request`]), not answered yet.
///
/// Answer it with [`AdapterSession::respond`] (typed success),
/// [`AdapterSession::respond_error`] or [`AdapterSession::respond_error_with`]; dropping
/// it unanswered sends an error response.
pub struct Incoming {
    seq: i32,
    command: String,
    request: Request,
    shared: Arc<Shared>,
    answered: bool,
}

impl fmt::Debug for Incoming {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("seq", &self.seq)
            .field("command", &self.command)
            .field("request", &self.request)
            .finish_non_exhaustive()
    }
}

impl Incoming {
    pub(crate) fn new(seq: i32, command: String, request: Request, shared: Arc<Shared>) -> Self {
        Incoming {
            seq,
            command,
            request,
            shared,
            answered: false,
        }
    }

    /// The request's `seq` (the `request_seq` of its response).
    pub fn seq(&self) -> i32 {
        self.seq
    }

    /// The request's `command`.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The request, typed by its command (`Request::Custom` for commands this crate does
    /// not type, and for standard ones whose arguments do not fit the schema).
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// Sends the response `build` makes (from the allocated `seq` and the request's
    /// `seq`). The request counts as answered once something was sent for it: when `build`
    /// fails, the client gets an error response naming the encoding failure instead (and
    /// the error is returned), so it never waits for an answer that will not come.
    pub(crate) fn answer(
        mut self,
        build: impl FnOnce(i32, i32) -> Result<Vec<u8>, String>,
    ) -> Result<(), SendError> {
        let request_seq = self.seq;
        let sent = self.shared.send(|seq| build(seq, request_seq), None);
        // Closed: nothing more can be sent, so there is nothing left to answer with.
        self.answered = !matches!(sent, Err(SendError::Encode(_)));
        match sent {
            Ok(_) => Ok(()),
            Err(SendError::Encode(reason)) => {
                let text = format!(
                    "the debug adapter could not encode its response to `{}`: {reason}",
                    self.command
                );
                self.send_error(text, None)?;
                self.answered = true;
                Err(SendError::Encode(reason))
            }
            Err(e) => Err(e),
        }
    }

    /// Answers with an error response.
    pub(crate) fn fail(mut self, message: &str, error: Option<Message>) -> Result<(), SendError> {
        // An error response always encodes (strings and JSON values only).
        self.answered = true;
        self.send_error(message.to_owned(), error)
    }

    /// Sends an error response to this request.
    fn send_error(&self, message: String, error: Option<Message>) -> Result<(), SendError> {
        let (command, request_seq) = (self.command.clone(), self.seq);
        self.shared.send(
            |seq| {
                let mut response = ErrorResponse::new(seq, request_seq, command)
                    .with_message(ResponseMessage::Other(message));
                if let Some(e) = error {
                    response = response.with_body(ErrorResponseBody::new().with_error(e));
                }
                serde_json::to_vec(&response).map_err(|e| e.to_string())
            },
            None,
        )?;
        Ok(())
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if self.answered {
            return;
        }
        let text = format!("`{}` is not handled by this debug adapter", self.command);
        // A closed session cannot answer any more: nothing to do then.
        let _ = self.send_error(text, None);
    }
}

/// The requests from the client, in the order they arrived; ends when the client closes
/// the connection or the session is closed.
///
/// Read it with [`next`](Requests::next) (or as a [`Stream`]). The reader pauses while
/// [`AdapterOptions::with_request_capacity`](super::AdapterOptions::with_request_capacity)
/// requests wait here.
pub struct Requests {
    rx: mpsc::Receiver<Incoming>,
    session: AdapterSession,
}

impl fmt::Debug for Requests {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Requests").finish_non_exhaustive()
    }
}

impl Requests {
    pub(crate) fn new(rx: mpsc::Receiver<Incoming>, session: AdapterSession) -> Self {
        Requests { rx, session }
    }

    /// The next request, or `None` once the session has ended.
    pub async fn next(&mut self) -> Option<Incoming> {
        self.rx.recv().await
    }

    /// The session these requests belong to.
    pub fn session(&self) -> &AdapterSession {
        &self.session
    }
}

impl Stream for Requests {
    type Item = Incoming;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Incoming>> {
        self.rx.poll_recv(cx)
    }
}
