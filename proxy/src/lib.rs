//! A Debug Adapter Protocol proxy: one debug session, several clients.
//!
//! The proxy holds one connection to a debug adapter (a dapkit-session [`Client`]) and
//! serves any number of DAP clients on a listener (TCP on loopback by default, or a Unix
//! socket). The first client is the **controller**; later ones are **observers**, who may
//! read (threads, stacks, variables, hover/watch evaluation, …: [`OBSERVER_ALLOWED`]) and
//! set their own breakpoints, but whose state-changing requests are refused with
//! `observer cannot send <command>` and never reach the adapter. The custom request
//! `dapkitProxy/takeControl` moves control; the event `dapkitProxy/controlChanged` tells
//! every client.
//!
//! What the proxy guarantees:
//! - every client sees its own strictly increasing `seq` (messages the proxy writes itself
//!   included); its requests go upstream with upstream `seq`s and each response comes back
//!   to its sender, once, with the sender's own `request_seq`; `cancel.requestId` is
//!   translated; messages are otherwise passed on byte for byte;
//! - events go to every client that has joined (answered `initialize`), in the adapter's
//!   order; a client that joins later gets the cached capabilities, then a snapshot:
//!   `initialized`, the current breakpoints, the current `stopped` (if stopped), the last
//!   [`OUTPUT_HISTORY`] `output` events; its `launch`/`attach`/`configurationDone` are
//!   answered by the proxy;
//! - breakpoints are merged per source (and function, exception, data breakpoints): the
//!   adapter gets the union, each client sees only its own, a client's are removed when
//!   it leaves;
//! - reverse requests (`runInTerminal`, `startDebugging`) go to the controller, or the first
//!   client that declared the capability; if that client leaves first, the adapter gets
//!   `success: false` at once;
//! - each client has a bounded queue ([`ProxyOptions::with_client_queue`]); an observer
//!   that falls behind is disconnected with a last `output` event saying why, and never
//!   holds up the adapter or the controller;
//! - a client that drops its connection does not end the session; the last client leaving
//!   keeps, detaches or terminates it ([`LastClientExit`]); the adapter's exit closes every
//!   client after its last messages and ends [`Proxy::run`] with
//!   [`ProxyError::AdapterExited`] (with the adapter's stderr tail when the proxy started it).
//!
//! # Example: two clients on one debugpy session
//!
//! ```no_run
//! use dapkit_proxy::{Adapter, Proxy, ProxyOptions};
//! use dapkit_transport::{Endpoint, RetryPolicy};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let adapter = Adapter::Connect(Endpoint::Tcp("127.0.0.1:5678".parse()?), RetryPolicy::default());
//! let listen = Endpoint::Tcp("127.0.0.1:0".parse()?);
//! let proxy = Proxy::start(&listen, &adapter, ProxyOptions::new()).await?;
//! println!("clients connect to {}", proxy.local_endpoint());
//! proxy.run().await?;
//! # Ok(()) }
//! ```

mod breakpoints;
mod client;
mod hub;
mod message;
mod record;
mod roles;

pub use hub::{CONTROL_CHANGED, OUTPUT_HISTORY, TAKE_CONTROL};
pub use record::RECORD_QUEUE;
pub use roles::{OBSERVER_ALLOWED, OBSERVER_EVALUATE_CONTEXTS, observer_may_send};

use bytes::Bytes;
use dapkit_session::client::{BoxFuture, RawInbound};
use dapkit_session::{Client, ClientOptions};
use dapkit_transport::{
    BoxedReader, BoxedWriter, ChildProcess, ConnectError, Connection, Endpoint, ListenError,
    Listener, RetryPolicy, SpawnError, StdioCommand,
};
use dapkit_types::Envelope;
use dapkit_wireformat::Limits;
use hub::{Ending, Hub};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

/// The default bound of each client's queue, in messages.
pub const DEFAULT_CLIENT_QUEUE: usize = 4096;

/// How many adapter messages wait for the dispatcher task before the adapter's reader
/// pauses.
const UPSTREAM_QUEUE: usize = 1024;

/// How long the proxy waits, when it ends, for the adapter to answer and for clients to
/// take their last messages.
const GRACE: Duration = Duration::from_secs(3);

/// What the proxy does when its last client leaves.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LastClientExit {
    /// Keep the session; the next client to connect joins as the controller.
    #[default]
    Keep,
    /// `disconnect` with `terminateDebuggee: false` (the debuggee goes on where the
    /// adapter allows), then end.
    Detach,
    /// `disconnect` with `terminateDebuggee: true`, then end.
    Terminate,
}

impl FromStr for LastClientExit {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "keep" => Ok(LastClientExit::Keep),
            "detach" => Ok(LastClientExit::Detach),
            "terminate" => Ok(LastClientExit::Terminate),
            other => Err(format!(
                "`{other}` is not a last-client policy (keep, detach or terminate)"
            )),
        }
    }
}

/// How the proxy behaves.
#[derive(Clone, Debug)]
pub struct ProxyOptions {
    on_last_client_exit: LastClientExit,
    client_queue: usize,
    limits: Limits,
    record: Option<PathBuf>,
    allow_remote: bool,
}

impl Default for ProxyOptions {
    fn default() -> Self {
        ProxyOptions {
            on_last_client_exit: LastClientExit::Keep,
            client_queue: DEFAULT_CLIENT_QUEUE,
            limits: Limits::DEFAULT,
            record: None,
            allow_remote: false,
        }
    }
}

impl ProxyOptions {
    /// The defaults: keep the session when the last client leaves, [`DEFAULT_CLIENT_QUEUE`]
    /// messages per client, [`Limits::DEFAULT`], no recording, loopback only.
    pub fn new() -> Self {
        ProxyOptions::default()
    }

    /// What to do when the last client leaves.
    pub fn on_last_client_exit(mut self, policy: LastClientExit) -> Self {
        self.on_last_client_exit = policy;
        self
    }

    /// How many messages may wait for one client (at least 256, so a join snapshot fits).
    /// An observer with that many waiting is disconnected; the controller is waited for.
    /// Memory per client is bounded by this times the largest frame ([`Limits`]).
    pub fn with_client_queue(mut self, messages: usize) -> Self {
        self.client_queue = messages.max(256);
        self
    }

    /// The framing limits for reading from clients and from the adapter.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Records every message on both sides into a dapkit trace at `path` (gzip if it ends
    /// in `.gz`). Client `0` in the trace is the upstream side; clients are numbered from 1.
    pub fn record(mut self, path: impl Into<PathBuf>) -> Self {
        self.record = Some(path.into());
        self
    }

    /// Allows listening for clients on a non-loopback address (a warning is still logged).
    pub fn allow_remote(mut self, allow: bool) -> Self {
        self.allow_remote = allow;
        self
    }
}

/// How the proxy reaches its debug adapter.
#[derive(Clone, Debug)]
pub enum Adapter {
    /// Connect to a listening adapter, retrying per the policy (never probing).
    Connect(Endpoint, RetryPolicy),
    /// Start the adapter and talk over its stdio.
    Stdio(StdioCommand),
    /// Listen at this address and wait for the adapter to connect (debugpy `--connect`,
    /// delve `--client-addr`).
    Listen(Endpoint),
    /// An established connection (for embedding and tests): see [`Adapter::connected`]
    /// and [`Adapter::io`].
    Connected(Established),
}

/// A connection to an adapter made by the caller; [`Proxy::start`] takes it (once).
#[derive(Clone)]
pub struct Established {
    io: Arc<std::sync::Mutex<Option<Io>>>,
    description: String,
}

impl fmt::Debug for Established {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Established")
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

/// What an [`Established`] holds until the proxy takes it.
enum Io {
    Connection(Box<Connection>),
    Halves(BoxedReader, BoxedWriter),
}

/// The adapter's side of the proxy: its two halves, and the process if the proxy started it.
type AdapterIo = (BoxedReader, BoxedWriter, Option<ChildProcess>);

impl Adapter {
    /// An already established connection, described as `description` (in the ready line
    /// and the trace header).
    pub fn connected(connection: Connection, description: impl Into<String>) -> Adapter {
        Adapter::Connected(Established {
            io: Arc::new(std::sync::Mutex::new(Some(Io::Connection(Box::new(
                connection,
            ))))),
            description: description.into(),
        })
    }

    /// The two halves of any byte stream to an adapter, described as `description`: for
    /// an adapter in the same process, an in-memory [`tokio::io::duplex`] spares the
    /// sockets and system calls of a connection (clients still reach the proxy on its
    /// listener).
    ///
    /// ```
    /// use dapkit_proxy::Adapter;
    ///
    /// let (proxy_end, adapter_end) = tokio::io::duplex(64 * 1024);
    /// let (reader, writer) = tokio::io::split(proxy_end);
    /// let adapter = Adapter::io(reader, writer, "in-process adapter");
    /// assert_eq!(adapter.describe(), "in-process adapter");
    /// // The adapter (a `dapkit_session::adapter::AdapterSession`, say) serves `adapter_end`.
    /// # drop(adapter_end);
    /// ```
    pub fn io<R, W>(reader: R, writer: W, description: impl Into<String>) -> Adapter
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        Adapter::Connected(Established {
            io: Arc::new(std::sync::Mutex::new(Some(Io::Halves(
                Box::new(reader),
                Box::new(writer),
            )))),
            description: description.into(),
        })
    }

    /// How the adapter is reached, as the ready line and logs say it.
    pub fn describe(&self) -> String {
        match self {
            Adapter::Connect(e, _) => format!("connect {e}"),
            Adapter::Stdio(c) => format!("stdio {}", command_line(c).join(" ")),
            Adapter::Listen(e) => format!("listen {e}"),
            Adapter::Connected(e) => e.description.clone(),
        }
    }

    /// The `adapter` member of a trace header.
    fn header(&self) -> serde_json::Value {
        match self {
            Adapter::Connect(e, _) => serde_json::json!({"connect": e.to_string()}),
            Adapter::Stdio(c) => serde_json::json!({"command": command_line(c)}),
            Adapter::Listen(e) => serde_json::json!({"listen": e.to_string()}),
            Adapter::Connected(e) => serde_json::json!({"connected": e.description}),
        }
    }

    async fn connect(&self) -> Result<AdapterIo, ProxyError> {
        let connection = match self {
            Adapter::Connect(endpoint, policy) => dapkit_transport::connect(endpoint, policy)
                .await
                .map_err(|e| ProxyError::Connect(Box::new(e)))?,
            Adapter::Stdio(command) => {
                dapkit_transport::spawn_stdio(command).map_err(ProxyError::Spawn)?
            }
            Adapter::Listen(endpoint) => {
                let mut listener = Listener::bind(endpoint)
                    .await
                    .map_err(ProxyError::AdapterListen)?;
                tracing::info!(
                    "waiting for the adapter to connect to {}",
                    listener.local_endpoint()
                );
                listener.accept().await.map_err(ProxyError::AdapterListen)?
            }
            Adapter::Connected(e) => {
                let taken = e.io.lock().ok().and_then(|mut c| c.take());
                match taken {
                    Some(Io::Connection(c)) => *c,
                    Some(Io::Halves(reader, writer)) => return Ok((reader, writer, None)),
                    None => {
                        return Err(ProxyError::AdapterExited(
                            "the established connection was used already".into(),
                        ));
                    }
                }
            }
        };
        let mut connection = connection;
        let child = connection.take_child();
        let (reader, writer) = connection.into_split();
        Ok((reader, writer, child))
    }
}

fn command_line(c: &StdioCommand) -> Vec<String> {
    std::iter::once(&c.program)
        .chain(c.args.iter())
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// Why the proxy could not start or ended with an error.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProxyError {
    /// The client listener could not be bound.
    Listen(ListenError),
    /// A non-loopback listen address without [`ProxyOptions::allow_remote`].
    Remote(String),
    /// Connecting to the adapter failed (after all retries).
    Connect(Box<ConnectError>),
    /// Starting the adapter failed.
    Spawn(SpawnError),
    /// Waiting for the adapter's reverse connection failed.
    AdapterListen(ListenError),
    /// The trace file could not be created or written.
    Record(PathBuf, std::io::Error),
    /// The adapter ended the session without a `disconnect` (what it said, its exit
    /// status and the end of its stderr when the proxy started it).
    AdapterExited(String),
}

impl fmt::Display for ProxyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxyError::Listen(e) => write!(f, "cannot listen for clients: {e}"),
            ProxyError::Remote(addr) => write!(
                f,
                "{addr} is not a loopback address: clients from other machines could reach the debugger; pass --allow-remote to listen there anyway"
            ),
            ProxyError::Connect(e) => write!(f, "cannot connect to the adapter: {e}"),
            ProxyError::Spawn(e) => write!(f, "cannot start the adapter: {e}"),
            ProxyError::AdapterListen(e) => write!(f, "no adapter connected: {e}"),
            ProxyError::Record(p, e) => write!(f, "cannot record to {}: {e}", p.display()),
            ProxyError::AdapterExited(detail) => {
                write!(f, "the adapter ended the session: {detail}")
            }
        }
    }
}

impl std::error::Error for ProxyError {}

/// How [`Proxy::run`] ended without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Ended {
    /// A client's `disconnect` ended the session and the adapter closed.
    Disconnected,
    /// The last client left (policy `detach` or `terminate`).
    LastClientLeft,
    /// [`ProxyHandle::shutdown`] (SIGINT/SIGTERM in the command line).
    Shutdown,
}

/// Asks a running proxy to shut down (cheap to clone).
#[derive(Clone)]
pub struct ProxyHandle {
    hub: Arc<Hub>,
}

impl ProxyHandle {
    /// Ends [`Proxy::run`]: clients are closed after their queued messages, the adapter
    /// connection is closed (an adapter the proxy started is stopped).
    pub fn shutdown(&self) {
        self.hub.end(Ending::Shutdown);
    }

    /// How many clients are connected now.
    pub fn client_count(&self) -> usize {
        self.hub.client_count()
    }
}

/// A running proxy: listening for clients, connected to the adapter.
pub struct Proxy {
    hub: Arc<Hub>,
    local: Endpoint,
    adapter: String,
    accept: JoinHandle<()>,
    dispatcher: JoinHandle<()>,
    child: Option<ChildProcess>,
}

impl fmt::Debug for Proxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxy")
            .field("listen", &self.local)
            .field("adapter", &self.adapter)
            .finish_non_exhaustive()
    }
}

/// Takes the adapter's messages on the adapter session's reader task: a response or a
/// reverse request with nothing queued before it is handled there and then (the round
/// trip's latency: no hand-off to another task); events, and whatever comes while one is
/// still queued, go to the dispatcher task in arrival order, so that a flood is read and
/// fanned out by two tasks at once.
struct Inbound {
    hub: OnceLock<Arc<Hub>>,
    /// Messages handed to the dispatcher and not yet handled by it.
    in_flight: Arc<AtomicUsize>,
    dispatch: mpsc::Sender<Bytes>,
    closed: Arc<Notify>,
}

impl RawInbound for Inbound {
    fn message(&self, bytes: Bytes, envelope: &Envelope) -> Option<BoxFuture<()>> {
        if envelope.kind.as_deref() != Some("event") && self.in_flight.load(Ordering::Acquire) == 0
        {
            // Before the hub is in place (right after connecting) it is queued.
            if let Some(hub) = self.hub.get() {
                return hub.on_upstream(bytes);
            }
        }
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        match self.dispatch.try_send(bytes) {
            Ok(()) => None,
            Err(mpsc::error::TrySendError::Full(bytes)) => {
                let dispatch = self.dispatch.clone();
                Some(Box::pin(async move {
                    let _ = dispatch.send(bytes).await;
                }))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                // The proxy has ended.
                self.in_flight.fetch_sub(1, Ordering::AcqRel);
                None
            }
        }
    }

    fn closed(&self) {
        self.closed.notify_one();
    }
}

/// Whether `endpoint` is reachable only from this machine.
fn is_local(endpoint: &Endpoint) -> bool {
    match endpoint.tcp_addr() {
        Some(addr) => addr.ip().is_loopback(),
        None => true,
    }
}

impl Proxy {
    /// Binds the client listener at `listen` (a non-loopback address needs
    /// [`ProxyOptions::allow_remote`]), reaches the adapter, and starts serving. Returns once
    /// both are up: the caller prints its ready line then, and awaits [`run`](Proxy::run).
    pub async fn start(
        listen: &Endpoint,
        adapter: &Adapter,
        options: ProxyOptions,
    ) -> Result<Proxy, ProxyError> {
        if !is_local(listen) {
            if !options.allow_remote {
                return Err(ProxyError::Remote(listen.to_string()));
            }
            tracing::warn!(
                "listening on {listen}, which is not a loopback address: anyone who can reach it can drive the debugger"
            );
        }
        let listener = Listener::bind(listen).await.map_err(ProxyError::Listen)?;
        let io = adapter.connect().await?;
        Proxy::serve(listener, io, adapter, options)
    }

    fn serve(
        mut listener: Listener,
        (reader, writer, child): AdapterIo,
        adapter: &Adapter,
        options: ProxyOptions,
    ) -> Result<Proxy, ProxyError> {
        let recorder = match &options.record {
            Some(path) => Some(
                record::Recorder::create(path, adapter.header())
                    .map_err(|e| ProxyError::Record(path.clone(), e))?,
            ),
            None => None,
        };
        let (dispatch, mut queued) = mpsc::channel(UPSTREAM_QUEUE);
        let inbound = Arc::new(Inbound {
            hub: OnceLock::new(),
            in_flight: Arc::new(AtomicUsize::new(0)),
            dispatch,
            closed: Arc::new(Notify::new()),
        });
        let client_options = ClientOptions::new()
            .with_request_timeout(None)
            .with_limits(options.limits)
            .with_raw_inbound_handler(inbound.clone())
            // A client's request is written to the adapter by that client's reader task.
            .with_write_through(true)
            .on_diagnostic(|d| match d {
                dapkit_session::client::Diagnostic::Closed { .. } => {
                    tracing::debug!("adapter: {d}")
                }
                _ => tracing::warn!("adapter: {d}"),
            });
        let (upstream, _events) = Client::start(reader, writer, client_options);
        let hub = Arc::new(Hub::new(upstream, options, recorder));
        let _ = inbound.hub.set(hub.clone());
        let local = listener.local_endpoint().clone();
        // The adapter's events (and whatever comes while one is still queued) are handled
        // here, in arrival order; then, after the last message, the adapter's end.
        let dispatcher = {
            let hub = hub.clone();
            let (in_flight, closed) = (inbound.in_flight.clone(), inbound.closed.clone());
            tokio::spawn(async move {
                let handle = async |bytes| {
                    if let Some(wait) = hub.on_upstream(bytes) {
                        wait.await;
                    }
                    in_flight.fetch_sub(1, Ordering::AcqRel);
                };
                loop {
                    tokio::select! {
                        biased;
                        Some(bytes) = queued.recv() => handle(bytes).await,
                        () = closed.notified() => break,
                    }
                }
                // Everything was queued before the end was told.
                while let Ok(bytes) = queued.try_recv() {
                    handle(bytes).await;
                }
                hub.adapter_gone().await;
            })
        };
        let accept = {
            let hub = hub.clone();
            tokio::spawn(async move {
                loop {
                    match listener.accept().await {
                        Ok(connection) => {
                            hub.add_client(connection);
                        }
                        Err(e) => {
                            tracing::warn!("cannot accept a client: {e}");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            })
        };
        Ok(Proxy {
            hub,
            local,
            adapter: adapter.describe(),
            accept,
            dispatcher,
            child,
        })
    }

    /// Where clients connect.
    pub fn local_endpoint(&self) -> &Endpoint {
        &self.local
    }

    /// How the adapter was reached (for the ready line).
    pub fn adapter_description(&self) -> &str {
        &self.adapter
    }

    /// A handle to shut the proxy down from elsewhere.
    pub fn handle(&self) -> ProxyHandle {
        ProxyHandle {
            hub: self.hub.clone(),
        }
    }

    /// Serves until the session ends: the adapter closing after a `disconnect` (Ok), the last
    /// client leaving under `detach`/`terminate` (Ok), a shutdown (Ok), or the adapter
    /// closing on its own ([`ProxyError::AdapterExited`]).
    pub async fn run(mut self) -> Result<Ended, ProxyError> {
        let mut ending = self.hub.ending();
        let why = tokio::select! {
            _ = &mut self.dispatcher => None,
            e = ending.wait_for(Option::is_some) => e.ok().and_then(|e| *e),
        };
        self.accept.abort();
        let result = match why {
            None => {
                // The adapter is gone; the dispatcher closed every client after its last
                // messages.
                self.join_clients().await;
                if *ending.borrow() == Some(Ending::LastClientLeft) {
                    Ok(Ended::LastClientLeft)
                } else if self.hub.disconnect_forwarded() {
                    Ok(Ended::Disconnected)
                } else {
                    Err(ProxyError::AdapterExited(self.adapter_exit().await))
                }
            }
            Some(Ending::LastClientLeft) => {
                // Give the adapter time to answer the disconnect and hang up.
                let _ = tokio::time::timeout(GRACE, &mut self.dispatcher).await;
                self.hub.upstream().close().await;
                Ok(Ended::LastClientLeft)
            }
            Some(Ending::Shutdown) => {
                self.hub.close_all().await;
                self.join_clients().await;
                self.hub.upstream().close().await;
                Ok(Ended::Shutdown)
            }
        };
        self.dispatcher.abort();
        if let Some(mut child) = self.child.take() {
            let _ = child.wait_or_kill(Duration::from_millis(500)).await;
        }
        if let Some(r) = self.hub.recorder() {
            if let Err(e) = r.finish() {
                tracing::warn!("the trace could not be finished: {e}");
            }
        }
        result
    }

    async fn join_clients(&self) {
        for task in self.hub.take_tasks() {
            if tokio::time::timeout(GRACE, task).await.is_err() {
                tracing::warn!("a client did not close in time");
            }
        }
    }

    /// What is known of the adapter's end: its exit status and stderr tail if the proxy
    /// started it.
    async fn adapter_exit(&mut self) -> String {
        let Some(child) = self.child.as_mut() else {
            return format!("the adapter ({}) closed the connection", self.adapter);
        };
        let status = match tokio::time::timeout(GRACE, child.wait()).await {
            Ok(Ok(s)) => s.to_string(),
            Ok(Err(e)) => format!("exit status unknown ({e})"),
            Err(_) => "still running, but it closed its output".to_owned(),
        };
        let tail = child.stderr_tail();
        let tail = tail.trim();
        if tail.is_empty() {
            format!(
                "the adapter ({}) exited ({status}); its stderr was empty",
                self.adapter
            )
        } else {
            format!(
                "the adapter ({}) exited ({status}); the end of its stderr: {tail}",
                self.adapter
            )
        }
    }
}
