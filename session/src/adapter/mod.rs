//! The adapter side of a DAP session, for debug adapters written in Rust:
//! [`AdapterSession`] sends responses, events and reverse requests to the client;
//! [`Requests`] yields the client's requests, each an [`Incoming`] typed by its command.
//!
//! [`AdapterSession::new`] takes the two halves of any byte stream (the adapter's own
//! stdin/stdout, a TCP or Unix socket, an in-memory duplex) and spawns two tasks on the
//! current tokio runtime: a reader and a writer. The session is a cheap handle (`Clone`).
//!
//! - `seq` numbers start at 1 and grow by one per message the adapter sends (responses,
//!   events and reverse requests alike), in the order the messages leave. Each message is
//!   framed whole before it is written: messages from many tasks never interleave.
//! - Requests are typed: match on [`Incoming::request`] (a [`Request`](dapkit_types::Request)) and answer with
//!   [`AdapterSession::respond`], typed by the request: `respond::<ThreadsRequest>(req,
//!   body)` takes a `ThreadsResponseBody`. Requests may be answered in any order, from
//!   any task. A request dropped unanswered gets an error response, so unknown and
//!   custom commands are refused by default.
//! - Reverse requests (`runInTerminal`, `startDebugging`) go to the client with
//!   [`AdapterSession::run_in_terminal`], [`AdapterSession::start_debugging`] or
//!   [`AdapterSession::request`]; their responses are matched by `request_seq`.
//! - Bad input is reported through [`AdapterOptions::on_diagnostic`] and the session goes
//!   on; the end of the stream or a fatal read or write error closes it.
//!
//! # The start of a session
//!
//! The protocol fixes this order:
//!
//! 1. the client sends `initialize`; the adapter answers with its [`Capabilities`];
//! 2. then, and only then, the adapter sends the `initialized` event: it is ready for
//!    configuration;
//! 3. the client sends its configuration (`setBreakpoints`, `setExceptionBreakpoints`,
//!    ...) and ends it with `configurationDone` (if the adapter's capabilities include
//!    `supportsConfigurationDoneRequest`);
//! 4. `launch` or `attach` arrives at any point after the `initialize` response (VS Code
//!    sends it at once, before the configuration). The adapter starts the debuggee only
//!    when the configuration is done, so that breakpoints are in place, then answers it.
//!
//! [`AdapterSession::respond_initialize`] does steps 1 and 2 in order (both go through the
//! one ordered queue, so `initialized` is written after the response).
//! [`Requests::start_up`] runs steps 1 to 4: it answers `initialize`, sends
//! `initialized`, hands each configuration request to your callback, answers
//! `configurationDone`, and returns the `launch`/`attach` request, unanswered, once both
//! have arrived.
//!
//! ```no_run
//! use dapkit_session::adapter::{AdapterSession, Requests};
//! use dapkit_types::Request;
//! use dapkit_types::messages::{LaunchRequest, ThreadsRequest};
//! use dapkit_types::types::{Capabilities, Thread, ThreadsResponseBody};
//!
//! # async fn run(session: AdapterSession, mut requests: Requests) -> Result<(), Box<dyn std::error::Error>> {
//! let caps = Capabilities::new().with_supports_configuration_done_request(true);
//! let started = requests
//!     .start_up(caps, |req| {
//!         // setBreakpoints, setExceptionBreakpoints, ...: answer them here; one dropped
//!         // unanswered gets an error response.
//!         drop(req)
//!     })
//!     .await?;
//! // The configuration is done: start the debuggee, then answer `launch`.
//! session.respond::<LaunchRequest>(started.launch, None)?;
//! while let Some(req) = requests.next().await {
//!     match req.request() {
//!         Request::Threads(_) => {
//!             let body = ThreadsResponseBody::new(vec![Thread::new(1, "main")]);
//!             session.respond::<ThreadsRequest>(req, body)?;
//!         }
//!         _ => session.respond_error(req, "not supported")?,
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! See `examples/mock_adapter.rs` for a whole adapter that VS Code's test client drives.

mod error;
mod incoming;
mod io;
mod shared;
mod startup;

pub use error::{Diagnostic, DiagnosticHandler, ReverseRequestError, SendError, StartupError};
pub use incoming::{Incoming, Requests};
pub use startup::Started;

use crate::wire::{Outgoing, Tasks};
use dapkit_types::RawMessage;
use dapkit_types::messages::{InitializeRequest, RunInTerminalRequest, StartDebuggingRequest};
use dapkit_types::traits::{
    Direction, Event as EventTrait, Request as RequestTrait, Response as ResponseTrait,
};
use dapkit_types::types::{
    Capabilities, InitializeRequestArguments, Message, RunInTerminalRequestArguments,
    StartDebuggingRequestArguments,
};
use dapkit_wireformat::{FrameStream, Limits};
use shared::Shared;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

/// How an [`AdapterSession`] behaves: reverse-request timeout, request buffering, frame
/// limits, diagnostics.
#[derive(Clone)]
pub struct AdapterOptions {
    reverse_timeout: Option<Duration>,
    request_capacity: usize,
    close_grace: Duration,
    limits: Limits,
    write_queue_limit: usize,
    write_through: bool,
    diagnostics: Option<DiagnosticHandler>,
}

impl Default for AdapterOptions {
    fn default() -> Self {
        AdapterOptions {
            reverse_timeout: Some(Duration::from_secs(30)),
            request_capacity: 256,
            close_grace: Duration::from_secs(3),
            limits: Limits::DEFAULT,
            write_queue_limit: crate::wire::queue::DEFAULT_WRITE_QUEUE_LIMIT,
            write_through: false,
            diagnostics: None,
        }
    }
}

impl fmt::Debug for AdapterOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdapterOptions")
            .field("reverse_timeout", &self.reverse_timeout)
            .field("request_capacity", &self.request_capacity)
            .field("close_grace", &self.close_grace)
            .field("limits", &self.limits)
            .field("write_queue_limit", &self.write_queue_limit)
            .field("write_through", &self.write_through)
            .field("on_diagnostic", &self.diagnostics.is_some())
            .finish()
    }
}

impl AdapterOptions {
    /// The defaults: 30 s reverse-request timeout, 256 buffered requests, 3 s close
    /// grace, [`Limits::DEFAULT`], 16 MiB write queue, diagnostics discarded.
    pub fn new() -> Self {
        AdapterOptions::default()
    }

    /// The timeout of every reverse request (`None`: wait until the response comes or the
    /// session closes).
    pub fn with_reverse_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.reverse_timeout = timeout;
        self
    }

    /// How many requests wait in [`Requests`] before the reader pauses (at least 1).
    pub fn with_request_capacity(mut self, capacity: usize) -> Self {
        self.request_capacity = capacity.max(1);
        self
    }

    /// How long [`AdapterSession::close`] waits for the queued messages to be written.
    pub fn with_close_grace(mut self, grace: Duration) -> Self {
        self.close_grace = grace;
        self
    }

    /// The framing limits for reading (header and body sizes).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// How many bytes of messages may wait to be written to the client (default 16 MiB;
    /// at least one message is always let through). A response, event or reverse request
    /// that would pass it fails at once with [`SendError::WriteQueueFull`], and nothing is
    /// sent: a client that stops reading cannot make the adapter's memory grow without
    /// bound.
    pub fn with_write_queue_limit(mut self, bytes: usize) -> Self {
        self.write_queue_limit = bytes;
        self
    }

    /// Whether a message is written to the client by the task that sends it (the one
    /// calling [`AdapterSession::respond`], …) when the session's writer task waits with
    /// nothing queued, instead of being handed to the writer task (default: off): one
    /// task hand-off less per message. The sender makes the write call itself without
    /// waiting; what the connection does not take at once (at most that one frame) is
    /// left to the writer task, and messages are queued as usual until it has caught up.
    /// Frames leave in `seq` order either way. The same as
    /// [`ClientOptions::with_write_through`](crate::ClientOptions::with_write_through).
    pub fn with_write_through(mut self, on: bool) -> Self {
        self.write_through = on;
        self
    }

    /// Calls `handler` with every [`Diagnostic`] (by default they are discarded). It runs
    /// on the session's tasks: keep it quick and do not block.
    pub fn on_diagnostic(mut self, handler: impl Fn(Diagnostic) + Send + Sync + 'static) -> Self {
        self.diagnostics = Some(Arc::new(handler));
        self
    }
}

/// A handle on the adapter side of a session; cheap to clone.
///
/// The session closes when the client hangs up, on [`close`](AdapterSession::close), or
/// when the last handle (clones and the [`Requests`]) is dropped; the messages queued by
/// then are still written, then the write half is shut down.
#[derive(Clone)]
pub struct AdapterSession {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    reverse_timeout: Option<Duration>,
    grace: Duration,
    tasks: Tasks,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle (session or `Requests`) is gone: nobody can answer any more.
        // The writer still writes what is queued, then shuts the write half down.
        self.shared.close("the adapter session was dropped");
        self.tasks.abort_reader();
    }
}

impl fmt::Debug for AdapterSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdapterSession")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

impl AdapterSession {
    /// Starts a session over `reader` and `writer` (the two halves of the connection to
    /// the client) with the default [`AdapterOptions`].
    ///
    /// For an adapter spoken to over its stdio: `AdapterSession::new(tokio::io::stdin(),
    /// tokio::io::stdout())` (tokio's `io-std` feature).
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime (it spawns tasks).
    pub fn new<R, W>(reader: R, writer: W) -> (AdapterSession, Requests)
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        AdapterSession::with_options(reader, writer, AdapterOptions::default())
    }

    /// Starts a session with `options`: spawns the reader and writer tasks and returns the
    /// session and the stream of the client's requests.
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime.
    pub fn with_options<R, W>(
        reader: R,
        writer: W,
        options: AdapterOptions,
    ) -> (AdapterSession, Requests)
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (req_tx, req_rx) = mpsc::channel(options.request_capacity);
        let shared = Arc::new(Shared::new(
            out_tx,
            options.write_queue_limit,
            options.write_through,
            options.diagnostics.clone(),
        ));
        let frames = FrameStream::new(reader).with_limits(options.limits);
        let reader = tokio::spawn(io::read_loop(shared.clone(), frames, req_tx));
        let writer = tokio::spawn(io::write_loop(shared.clone(), writer, out_rx));
        let session = AdapterSession {
            inner: Arc::new(Inner {
                shared,
                reverse_timeout: options.reverse_timeout,
                grace: options.close_grace,
                tasks: Tasks::new(reader, writer),
            }),
        };
        let requests = Requests::new(req_rx, session.clone());
        (session, requests)
    }

    fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// Answers `request` with a success response of request type `R` carrying `body`.
    ///
    /// If `request` is not an `R` (its command differs from `R::COMMAND`), the client gets
    /// an error response instead and [`SendError::WrongCommand`] is returned.
    pub fn respond<R: RequestTrait>(
        &self,
        request: Incoming,
        body: <R::Response as ResponseTrait>::Body,
    ) -> Result<(), SendError> {
        if request.command() != R::COMMAND {
            let error = SendError::WrongCommand {
                expected: R::COMMAND,
                request: request.command().to_owned(),
            };
            request.fail(
                &format!("internal error of the debug adapter: {error}"),
                None,
            )?;
            return Err(error);
        }
        request.answer(|seq, request_seq| {
            serde_json::to_vec(&R::Response::from_body(seq, request_seq, body))
                .map_err(|e| e.to_string())
        })
    }

    /// Answers `request` with a success response whose body is any JSON (`None`: no
    /// body): for custom commands, or standard ones answered by hand.
    pub fn respond_raw(
        &self,
        request: Incoming,
        body: Option<serde_json::Value>,
    ) -> Result<(), SendError> {
        let command = request.command().to_owned();
        request.answer(move |seq, request_seq| {
            let mut m = serde_json::Map::new();
            m.insert("seq".into(), seq.into());
            m.insert("type".into(), "response".into());
            m.insert("request_seq".into(), request_seq.into());
            m.insert("success".into(), true.into());
            m.insert("command".into(), command.into());
            if let Some(b) = body {
                m.insert("body".into(), b);
            }
            serde_json::to_vec(&m).map_err(|e| e.to_string())
        })
    }

    /// Answers `request` with an error response whose `message` is `message`.
    pub fn respond_error(&self, request: Incoming, message: &str) -> Result<(), SendError> {
        request.fail(message, None)
    }

    /// Answers `request` with an error response carrying a structured error (`body.error`,
    /// which clients may show to the user) besides the short `message`.
    pub fn respond_error_with(
        &self,
        request: Incoming,
        message: &str,
        error: Message,
    ) -> Result<(), SendError> {
        request.fail(message, Some(error))
    }

    /// Answers `initialize` with `capabilities`, then sends the `initialized` event: in
    /// this order on the wire, as the protocol requires. `request` must be `initialize`.
    pub fn respond_initialize(
        &self,
        request: Incoming,
        capabilities: Capabilities,
    ) -> Result<(), SendError> {
        self.respond::<InitializeRequest>(request, Some(capabilities))?;
        self.send_event::<dapkit_types::messages::InitializedEvent>(None)?;
        Ok(())
    }

    /// Sends event `E` with `body`; returns its `seq`.
    ///
    /// ```no_run
    /// # fn f(session: dapkit_session::adapter::AdapterSession) -> Result<(), dapkit_session::adapter::SendError> {
    /// use dapkit_types::messages::StoppedEvent;
    /// use dapkit_types::types::{StoppedEventBody, StoppedEventBodyReason};
    /// session.send_event::<StoppedEvent>(
    ///     StoppedEventBody::new(StoppedEventBodyReason::Breakpoint).with_thread_id(1),
    /// )?;
    /// # Ok(()) }
    /// ```
    pub fn send_event<E: EventTrait>(&self, body: E::Body) -> Result<i32, SendError> {
        self.shared().send(
            |seq| serde_json::to_vec(&E::from_body(seq, body)).map_err(|e| e.to_string()),
            None,
        )
    }

    /// Sends an event with any name (custom events, or standard ones built by hand);
    /// returns its `seq`.
    pub fn send_event_raw(
        &self,
        event: &str,
        body: Option<serde_json::Value>,
    ) -> Result<i32, SendError> {
        self.shared().send(
            |seq| {
                serde_json::to_vec(&RawMessage::event(seq, event, body)).map_err(|e| e.to_string())
            },
            None,
        )
    }

    /// Sends the reverse request `R` to the client and waits (up to the reverse-request
    /// timeout) for its typed response, matched by `request_seq`.
    pub async fn request<R: RequestTrait>(
        &self,
        arguments: R::Arguments,
    ) -> Result<R::Response, ReverseRequestError> {
        if R::DIRECTION != Direction::ToClient {
            return Err(ReverseRequestError::NotReverse(R::COMMAND));
        }
        let (tx, rx) = oneshot::channel();
        let seq = self
            .shared()
            .send(
                |seq| {
                    serde_json::to_vec(&R::from_arguments(seq, arguments))
                        .map_err(|e| e.to_string())
                },
                Some(tx),
            )
            .map_err(|e| match e {
                SendError::Closed => ReverseRequestError::Closed,
                other => ReverseRequestError::Encode(other.to_string()),
            })?;
        let reply = match self.inner.reverse_timeout {
            None => rx.await,
            Some(after) => match tokio::time::timeout(after, rx).await {
                Ok(r) => r,
                Err(_) => {
                    self.shared().abandon(i64::from(seq));
                    return Err(ReverseRequestError::Timeout {
                        command: R::COMMAND,
                        after,
                    });
                }
            },
        };
        let bytes = reply.map_err(|_| ReverseRequestError::Closed)??;
        io::decode_response::<R::Response>(&bytes)
    }

    /// Asks the client to run a command in a terminal (`runInTerminal`); the response
    /// carries the process id. Fails with [`ReverseRequestError::NotSupportedByClient`]
    /// without sending anything if the client's `initialize` lacked
    /// `supportsRunInTerminalRequest: true`.
    pub async fn run_in_terminal(
        &self,
        arguments: RunInTerminalRequestArguments,
    ) -> Result<dapkit_types::messages::RunInTerminalResponse, ReverseRequestError> {
        let supported = self
            .shared()
            .client_flag(|c| c.supports_run_in_terminal_request == Some(true));
        if supported == Some(false) {
            return Err(ReverseRequestError::NotSupportedByClient {
                command: "runInTerminal",
                capability: "supportsRunInTerminalRequest",
            });
        }
        self.request::<RunInTerminalRequest>(arguments).await
    }

    /// Asks the client to start a child debug session (`startDebugging`). Fails with
    /// [`ReverseRequestError::NotSupportedByClient`] without sending anything if the
    /// client's `initialize` lacked `supportsStartDebuggingRequest: true`.
    pub async fn start_debugging(
        &self,
        arguments: StartDebuggingRequestArguments,
    ) -> Result<dapkit_types::messages::StartDebuggingResponse, ReverseRequestError> {
        let supported = self
            .shared()
            .client_flag(|c| c.supports_start_debugging_request == Some(true));
        if supported == Some(false) {
            return Err(ReverseRequestError::NotSupportedByClient {
                command: "startDebugging",
                capability: "supportsStartDebuggingRequest",
            });
        }
        self.request::<StartDebuggingRequest>(arguments).await
    }

    /// The arguments of the client's `initialize` (its name, line base, capabilities);
    /// `None` before `initialize` arrived.
    pub fn client(&self) -> Option<InitializeRequestArguments> {
        self.shared().client()
    }

    /// Waits until every message queued so far is written and flushed; false if the
    /// session closed first.
    pub async fn flush(&self) -> bool {
        let (ack, acked) = oneshot::channel();
        self.shared().send_control(Outgoing::Flush(ack)) && acked.await.is_ok()
    }

    /// Whether the session is closed.
    pub fn is_closed(&self) -> bool {
        self.shared().is_closed()
    }

    /// Closes the session: queued messages are written (up to the close grace), the write
    /// half is shut down (the client reads the end of the stream), reading stops and
    /// [`Requests`] ends. Requests not answered yet get no response.
    pub async fn close(&self) {
        let grace = self.inner.grace;
        self.shared().close("closed by the adapter");
        if let Some(writer) = self.inner.tasks.take_writer() {
            // A peer that does not read gets the grace, then the rest is given up.
            let _ = tokio::time::timeout(grace, writer).await;
        }
        if let Some(reader) = self.inner.tasks.take_reader() {
            reader.abort();
            let _ = reader.await;
        }
    }
}
