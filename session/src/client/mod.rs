//! The client side of a DAP session: [`Client`] sends requests to a debug adapter and
//! correlates their responses, [`Events`] receives its events, and reverse requests
//! (`runInTerminal`, `startDebugging`) go to handlers set in [`ClientOptions`].
//!
//! [`Client::start`] takes the two halves of any byte stream (a TCP or Unix socket, the
//! stdio of an adapter process, an in-memory duplex) and spawns two tasks on the current
//! tokio runtime: a reader and a writer. The client is a cheap handle (`Clone`, an `Arc`
//! inside); the tasks stop when the session closes or the last handle is dropped.
//!
//! - `seq` numbers start at 1 and grow by one per message the client sends (requests and
//!   responses to reverse requests alike), in the order the messages leave.
//! - [`Client::request`] is typed by the request: `client.request::<ThreadsRequest>(())`
//!   returns a `ThreadsResponse`. Responses are matched by `request_seq`, so any number
//!   of requests may be in flight at once, answered in any order.
//! - Every request has a timeout ([`ClientOptions::with_request_timeout`], or
//!   [`Client::request_with_timeout`]); [`Client::cancel`] gives up on a request and sends
//!   the DAP `cancel` request when the adapter supports it.
//! - Adapter quirks are tolerated: custom events and responses to custom commands stay
//!   JSON ([`Event::Custom`](dapkit_types::Event::Custom), [`Response::Custom`]); `body: {}`, missing or odd `seq`s
//!   and missing bodies are mended where the typed form needs it; responses nobody waits
//!   for, undecodable bodies and bad frames are reported through
//!   [`ClientOptions::on_diagnostic`] and the session goes on. A fatal read error or the
//!   end of the stream closes the session: pending requests fail with
//!   [`RequestError::Closed`].
//! - [`Client::disconnect`] ends a session cleanly: `disconnect`, then (bounded) waiting
//!   for `terminated`/`exited`, then closing the connection and joining the tasks.

mod error;
mod events;
mod io;
mod pending;
mod reverse;
mod shared;

pub use error::{Diagnostic, RequestError, WaitError};
pub use events::Events;
pub use pending::PendingRequest;
pub use reverse::{BoxFuture, RunInTerminalHandler, StartDebuggingHandler, run_in_terminal};
pub use shared::{DiagnosticHandler, SessionStatus};

use crate::wire::{Outgoing, Tasks};
use dapkit_types::messages::{CancelRequest, DisconnectRequest, DisconnectResponse};
use dapkit_types::traits::{Direction, Request as RequestTrait};
use dapkit_types::types::{
    CancelArguments, Capabilities, DisconnectArguments, RunInTerminalRequestArguments,
    RunInTerminalResponseBody, StartDebuggingRequestArguments,
};
use dapkit_types::{RawMessage, Response};
use dapkit_wireformat::{FrameStream, Limits};
use shared::{Shared, Waiter};
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{mpsc, oneshot};

/// How a [`Client`] behaves: timeouts, event buffering, frame limits, reverse-request
/// handlers, diagnostics.
#[derive(Clone)]
pub struct ClientOptions {
    request_timeout: Option<Duration>,
    event_capacity: usize,
    disconnect_grace: Duration,
    limits: Limits,
    handlers: reverse::Handlers,
    reverse_limit: usize,
    write_queue_limit: usize,
    write_through: bool,
    diagnostics: Option<DiagnosticHandler>,
    raw_inbound: Option<io::RawSink>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            request_timeout: Some(Duration::from_secs(30)),
            event_capacity: 1024,
            disconnect_grace: Duration::from_secs(3),
            limits: Limits::DEFAULT,
            handlers: reverse::Handlers::default(),
            reverse_limit: reverse::DEFAULT_REVERSE_LIMIT,
            write_queue_limit: crate::wire::queue::DEFAULT_WRITE_QUEUE_LIMIT,
            write_through: false,
            diagnostics: None,
            raw_inbound: None,
        }
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("request_timeout", &self.request_timeout)
            .field("event_capacity", &self.event_capacity)
            .field("disconnect_grace", &self.disconnect_grace)
            .field("limits", &self.limits)
            .field("run_in_terminal", &self.handlers.run_in_terminal.is_some())
            .field("start_debugging", &self.handlers.start_debugging.is_some())
            .field("reverse_request_limit", &self.reverse_limit)
            .field("write_queue_limit", &self.write_queue_limit)
            .field("write_through", &self.write_through)
            .field("on_diagnostic", &self.diagnostics.is_some())
            .field("raw_inbound", &self.raw_inbound.is_some())
            .finish()
    }
}

impl ClientOptions {
    /// The defaults: 30 s request timeout, 1024 buffered events, 3 s disconnect grace,
    /// [`Limits::DEFAULT`], `runInTerminal` and `startDebugging` refused (no command from
    /// the adapter is ever run unless you opt in), 8 reverse requests handled at once,
    /// 16 MiB write queue, diagnostics discarded.
    pub fn new() -> Self {
        ClientOptions::default()
    }

    /// The timeout of every request (`None`: wait until the response comes or the session
    /// closes).
    pub fn with_request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How many events wait in the channel before the reader pauses (at least 1), and how
    /// many events [`Events::wait_for`] keeps aside in its backlog. See [`Events`] for the
    /// backpressure this gives.
    pub fn with_event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity.max(1);
        self
    }

    /// How long [`Client::disconnect`] and [`Client::close`] wait for each of their steps
    /// (the `terminated`/`exited` events, the flush of the writer, the end of the reader).
    pub fn with_disconnect_grace(mut self, grace: Duration) -> Self {
        self.disconnect_grace = grace;
        self
    }

    /// The framing limits for reading (header and body sizes).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Opts in to running the commands the adapter sends in `runInTerminal`, with
    /// [`run_in_terminal`] (the command runs as this process's user; with
    /// `argsCanBeInterpretedByShell` through `sh -c`). The client must also send
    /// `supportsRunInTerminalRequest: true` in its `initialize` request: until it has, the
    /// request is refused all the same.
    pub fn with_run_in_terminal(self) -> Self {
        self.on_run_in_terminal(run_in_terminal)
    }

    /// Handles `runInTerminal` with `handler` (an opt-in like
    /// [`with_run_in_terminal`](ClientOptions::with_run_in_terminal)). The client must also
    /// send `supportsRunInTerminalRequest: true` in its `initialize` request.
    pub fn on_run_in_terminal<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(RunInTerminalRequestArguments) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<RunInTerminalResponseBody, String>> + Send + 'static,
    {
        self.handlers.run_in_terminal = Some(Arc::new(move |args| Box::pin(handler(args))));
        self
    }

    /// Answers `runInTerminal` with an error response, nothing run (the default; undoes
    /// [`with_run_in_terminal`](ClientOptions::with_run_in_terminal)).
    pub fn without_run_in_terminal(mut self) -> Self {
        self.handlers.run_in_terminal = None;
        self
    }

    /// Handles `startDebugging` with `handler` (by default it is refused with an error
    /// response). The client must also send `supportsStartDebuggingRequest: true` in its
    /// `initialize` request: until it has, the request is refused all the same.
    pub fn on_start_debugging<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(StartDebuggingRequestArguments) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.handlers.start_debugging = Some(Arc::new(move |args| Box::pin(handler(args))));
        self
    }

    /// How many bytes of messages may wait to be written to the adapter (default 16 MiB;
    /// at least one message is always let through). A request that would pass it fails at
    /// once with [`RequestError::WriteQueueFull`], and nothing is sent: an adapter that
    /// stops reading cannot make the client's memory grow without bound.
    pub fn with_write_queue_limit(mut self, bytes: usize) -> Self {
        self.write_queue_limit = bytes;
        self
    }

    /// How many reverse requests are handled at once (at least 1; default 8). One that
    /// arrives while that many are in progress is refused at once with an error response
    /// saying so (and a [`Diagnostic::ReverseRequestFailed`]), so an adapter cannot make
    /// the client start an unbounded number of tasks or processes.
    pub fn with_reverse_request_limit(mut self, limit: usize) -> Self {
        self.reverse_limit = limit.max(1);
        self
    }

    /// Whether a message is written to the adapter by the task that sends it (the caller
    /// of [`Client::request`], [`Client::send_message_bytes`], …) when the session's
    /// writer task waits with nothing queued, instead of being handed to the writer task
    /// (default: off). One task hand-off less per message, for forwarders where latency
    /// counts; the sender then makes the write call itself, without waiting: what the
    /// connection does not take at once (at most that one frame) is left to the writer
    /// task, and messages are queued as usual until it has caught up. Frames leave in
    /// `seq` order either way.
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

    /// Hands events and reverse requests over as their frame bytes, in arrival order, to
    /// `sender` instead of decoding them into [`Events`] and answering them with the
    /// handlers (for programs that forward messages, such as a proxy). The reader waits
    /// while the channel is full (the same backpressure as [`Events`]); a dropped receiver
    /// discards them from then on. The session still tracks `terminated`, `exited` and
    /// `capabilities` events ([`Client::status`], [`Client::capabilities`]). Answer a
    /// reverse request with [`Client::send_message_bytes`].
    pub fn with_raw_inbound(mut self, sender: mpsc::Sender<bytes::Bytes>) -> Self {
        self.raw_inbound = Some(io::RawSink::Channel(sender));
        self
    }

    /// Like [`with_raw_inbound`](ClientOptions::with_raw_inbound), but the session's reader
    /// task calls `handler` with each message itself, in arrival order, instead of handing
    /// it to another task through a channel: one task hand-off less per message, for
    /// forwarders where latency counts. The handler must not block; it returns a future
    /// when the reader has to wait (backpressure), and is told once when the stream ends.
    /// Replaces a channel given with `with_raw_inbound` (and the other way round).
    pub fn with_raw_inbound_handler(mut self, handler: Arc<dyn RawInbound>) -> Self {
        self.raw_inbound = Some(io::RawSink::Handler(handler));
        self
    }
}

/// Takes the adapter's events and reverse requests (and responses no request of this
/// client waits for) as frame bytes, on the session's reader task:
/// [`ClientOptions::with_raw_inbound_handler`].
pub trait RawInbound: Send + Sync + 'static {
    /// One message, in arrival order, with its routing members as the session read them.
    /// Do the work here without blocking; return a future only when the reader must wait
    /// before the next message (for example for room in a full queue): the reader awaits
    /// it, so the adapter's messages wait meanwhile.
    fn message(
        &self,
        bytes: bytes::Bytes,
        envelope: &dapkit_types::Envelope,
    ) -> Option<BoxFuture<()>>;

    /// The adapter's stream ended (after the last message was handed over) and the
    /// session is closed; called once.
    fn closed(&self);
}

/// What [`Client::cancel`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelOutcome {
    /// The pending request now fails with [`RequestError::Cancelled`], and the adapter
    /// acknowledged the DAP `cancel` request.
    Acknowledged,
    /// The pending request now fails with [`RequestError::Cancelled`]; no `cancel` was
    /// sent because the adapter's capabilities lack `supportsCancelRequest`.
    NotSupported,
    /// No request with that `seq` is pending (answered already, or never sent); nothing
    /// was sent.
    NotPending,
}

/// What [`Client::disconnect`] saw.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DisconnectReport {
    /// The adapter's response to `disconnect`.
    pub response: DisconnectResponse,
    /// Whether a `terminated` event arrived (before or after `disconnect`).
    pub terminated: bool,
    /// The debuggee's exit code, if an `exited` event arrived.
    pub exit_code: Option<i32>,
}

/// A handle on a client session; cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    request_timeout: Option<Duration>,
    grace: Duration,
    tasks: Tasks,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle is gone: nobody can send or wait any more.
        self.shared.close("the client was dropped", None);
        self.shared.send_control(Outgoing::Close(None));
        self.tasks.abort_reader();
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts a session over `reader` and `writer` (the two halves of the connection to
    /// the adapter): spawns the reader and writer tasks and returns the client and its
    /// event stream.
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime (it spawns tasks).
    pub fn start<R, W>(reader: R, writer: W, options: ClientOptions) -> (Client, Events)
    where
        R: AsyncRead + Unpin + Send + 'static,
        W: AsyncWrite + Unpin + Send + 'static,
    {
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        let (event_tx, event_rx) = mpsc::channel(options.event_capacity);
        let shared = Arc::new(Shared::new(
            out_tx,
            options.write_queue_limit,
            options.write_through,
            options.diagnostics.clone(),
        ));
        let frames = FrameStream::new(reader).with_limits(options.limits);
        let reverse = io::Reverse {
            handlers: Arc::new(options.handlers),
            permits: Arc::new(tokio::sync::Semaphore::new(options.reverse_limit)),
            limit: options.reverse_limit,
        };
        let reader = tokio::spawn(io::read_loop(
            shared.clone(),
            frames,
            event_tx,
            reverse,
            options.raw_inbound,
        ));
        let writer = tokio::spawn(io::write_loop(shared.clone(), writer, out_rx));
        let client = Client {
            inner: Arc::new(Inner {
                shared,
                request_timeout: options.request_timeout,
                grace: options.disconnect_grace,
                tasks: Tasks::new(reader, writer),
            }),
        };
        (client, Events::new(event_rx, options.event_capacity))
    }

    /// Starts a session over an established [`dapkit_transport::Connection`] (a child
    /// adapter process behind it lives as long as the writer task).
    ///
    /// # Panics
    ///
    /// If called outside a tokio runtime.
    pub fn connect(
        connection: dapkit_transport::Connection,
        options: ClientOptions,
    ) -> (Client, Events) {
        let (reader, writer) = connection.into_split();
        Client::start(reader, writer, options)
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// Sends request `R` with `arguments` and returns at once with the
    /// [`PendingRequest`] (its `seq` is known; await its response later). The session's
    /// default timeout applies.
    pub fn send<R: RequestTrait>(
        &self,
        arguments: R::Arguments,
    ) -> Result<PendingRequest<R::Response>, RequestError> {
        if R::DIRECTION == Direction::ToClient {
            return Err(RequestError::Encode(format!(
                "`{}` is a reverse request: adapters send it, clients answer it",
                R::COMMAND
            )));
        }
        let (tx, rx) = oneshot::channel();
        let waiter = Waiter {
            tx,
            command: Cow::Borrowed(R::COMMAND),
        };
        let seq = self.shared().send_request(
            R::COMMAND,
            |seq| serde_json::to_vec(&R::from_arguments(seq, arguments)).map_err(|e| e.to_string()),
            waiter,
        )?;
        Ok(PendingRequest::new(
            self.clone(),
            seq,
            R::COMMAND,
            rx,
            self.inner.request_timeout,
            pending::decode_typed::<R::Response>,
        ))
    }

    /// Sends request `R` and waits for its typed response (with the session's default
    /// timeout).
    ///
    /// ```no_run
    /// # async fn f(client: dapkit_session::client::Client) -> Result<(), dapkit_session::client::RequestError> {
    /// use dapkit_types::messages::ThreadsRequest;
    /// let threads = client.request::<ThreadsRequest>(None).await?;
    /// for t in &threads.body.threads {
    ///     println!("{} {}", t.id, t.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn request<R: RequestTrait>(
        &self,
        arguments: R::Arguments,
    ) -> Result<R::Response, RequestError> {
        self.send::<R>(arguments)?.response().await
    }

    /// Like [`request`](Client::request) with its own timeout (`None`: no timeout).
    pub async fn request_with_timeout<R: RequestTrait>(
        &self,
        arguments: R::Arguments,
        timeout: Option<Duration>,
    ) -> Result<R::Response, RequestError> {
        self.send::<R>(arguments)?
            .with_timeout(timeout)
            .response()
            .await
    }

    /// Sends a request with any `command` (custom commands of an adapter, or standard
    /// ones built by hand) and returns its response: typed when the command is standard
    /// and the response fits, [`Response::Custom`] otherwise.
    pub fn send_raw(
        &self,
        command: &str,
        arguments: Option<serde_json::Value>,
    ) -> Result<PendingRequest<Response>, RequestError> {
        let (tx, rx) = oneshot::channel();
        let waiter = Waiter {
            tx,
            command: Cow::Owned(command.to_owned()),
        };
        let seq = self.shared().send_request(
            command,
            |seq| {
                serde_json::to_vec(&RawMessage::request(seq, command, arguments))
                    .map_err(|e| e.to_string())
            },
            waiter,
        )?;
        Ok(PendingRequest::new(
            self.clone(),
            seq,
            "(custom)",
            rx,
            self.inner.request_timeout,
            pending::decode_any,
        ))
    }

    /// Sends a request whose whole body `build` writes, given the `seq` allocated for it
    /// (for programs that forward requests, such as a proxy: `command` names it in
    /// errors and diagnostics). The [`PendingRequest`] resolves to the frame bytes of the
    /// response as the adapter sent them, whatever its `success`.
    pub fn send_request_bytes(
        &self,
        command: &str,
        build: impl FnOnce(i32) -> Result<Vec<u8>, String>,
    ) -> Result<PendingRequest<bytes::Bytes>, RequestError> {
        let (tx, rx) = oneshot::channel();
        let waiter = Waiter {
            tx,
            command: Cow::Owned(command.to_owned()),
        };
        let seq = self.shared().send(build, Some(waiter))?;
        Ok(PendingRequest::new(
            self.clone(),
            seq,
            "(forwarded)",
            rx,
            self.inner.request_timeout,
            |reply| Ok(reply.bytes),
        ))
    }

    /// Sends a message that expects no response (a response to a reverse request, an
    /// event) whose whole body `build` writes, given the next `seq`; returns that `seq`.
    pub fn send_message_bytes(
        &self,
        build: impl FnOnce(i32) -> Result<Vec<u8>, String>,
    ) -> Result<i64, RequestError> {
        self.shared().send(build, None)
    }

    /// [`send_raw`](Client::send_raw) and wait for the response.
    pub async fn request_raw(
        &self,
        command: &str,
        arguments: Option<serde_json::Value>,
    ) -> Result<Response, RequestError> {
        self.send_raw(command, arguments)?.response().await
    }

    /// Gives up on the pending request `request_seq`: its [`PendingRequest`] resolves at
    /// once with [`RequestError::Cancelled`], and the DAP `cancel` request is sent unless
    /// the adapter's capabilities (from `initialize` and `capabilities` events) lack
    /// `supportsCancelRequest` (when no `initialize` response was seen, it is sent).
    /// Errors are those of the `cancel` request itself.
    pub async fn cancel(&self, request_seq: i64) -> Result<CancelOutcome, RequestError> {
        if !self
            .shared()
            .abandon(request_seq, Some(RequestError::Cancelled))
        {
            return Ok(CancelOutcome::NotPending);
        }
        let supported = self
            .capabilities()
            .is_none_or(|c| c.supports_cancel_request == Some(true));
        if !supported {
            return Ok(CancelOutcome::NotSupported);
        }
        let mut args = CancelArguments::new();
        args.request_id = i32::try_from(request_seq).ok();
        self.request::<CancelRequest>(Some(args)).await?;
        Ok(CancelOutcome::Acknowledged)
    }

    /// The adapter's capabilities: the body of its `initialize` response, updated by
    /// `capabilities` events. `None` before the `initialize` response.
    pub fn capabilities(&self) -> Option<Capabilities> {
        self.shared().capabilities()
    }

    /// What the session has seen of the end (`terminated`, `exited`, closed).
    pub fn status(&self) -> SessionStatus {
        self.shared().status().borrow().clone()
    }

    /// Whether the session is closed.
    pub fn is_closed(&self) -> bool {
        self.shared().is_closed()
    }

    /// Ends the session cleanly: sends `disconnect` with `arguments`, waits for its
    /// response, then waits (up to the disconnect grace) for a `terminated` or `exited`
    /// event if none came yet, then [`close`](Client::close)s.
    ///
    /// The session is closed afterwards in every case; the error is that of the
    /// `disconnect` request (an adapter that hangs up without answering gives
    /// [`RequestError::Closed`]).
    pub async fn disconnect(
        &self,
        arguments: Option<DisconnectArguments>,
    ) -> Result<DisconnectReport, RequestError> {
        let response = self.request::<DisconnectRequest>(arguments).await;
        if response.is_ok() {
            let mut status = self.shared().status().subscribe();
            let _ = tokio::time::timeout(
                self.inner.grace,
                status.wait_for(|s| s.terminated || s.exit_code.is_some() || s.closed),
            )
            .await;
        }
        self.close().await;
        let status = self.status();
        response.map(|response| DisconnectReport {
            response,
            terminated: status.terminated,
            exit_code: status.exit_code,
        })
    }

    /// Closes the session without `disconnect`: pending requests fail with
    /// [`RequestError::Closed`], queued messages are written, the write half is shut down
    /// (the adapter reads the end of the stream), and the tasks are joined (the reader is
    /// given the disconnect grace to see the adapter hang up, then stopped). Events
    /// already received stay in [`Events`].
    pub async fn close(&self) {
        let grace = self.inner.grace;
        self.shared().close("closed by the client", None);
        let (ack, acked) = oneshot::channel();
        if self.shared().send_control(Outgoing::Close(Some(ack))) {
            let _ = tokio::time::timeout(grace, acked).await;
        }
        if let Some(writer) = self.inner.tasks.take_writer() {
            let _ = tokio::time::timeout(grace, writer).await;
        }
        if let Some(mut reader) = self.inner.tasks.take_reader() {
            if tokio::time::timeout(grace, &mut reader).await.is_err() {
                reader.abort();
                let _ = reader.await;
            }
        }
    }
}
