//! Transports for Debug Adapter Protocol sessions: the byte streams a DAP client or
//! adapter talks over, and how to get one.
//!
//! * [`connect`] / [`connect_cancellable`]: reach a listening peer ([`Endpoint::Tcp`],
//!   `Endpoint::Unix`, `Endpoint::Pipe` on Windows), retrying per [`RetryPolicy`]
//!   (default 300 ms × 100 tries; interval, tries, growth, deadline configurable). It never
//!   probes: the first successful `connect` is the connection (a throw-away
//!   connect-and-close makes debugpy `--listen --wait-for-client` drop its accept loop).
//!   [`Endpoint::Stdio`] spawns the adapter instead.
//! * [`Listener`]: accept reverse connections (debugpy `attach` with `"listen"`, delve
//!   `dap --client-addr`). [`Listener::bind_kind`] resolves [`TransportKind::Auto`] to a
//!   Unix socket in a fresh private directory (POSIX) or TCP `127.0.0.1:0`;
//!   [`Listener::local_endpoint`] tells where it listens. Binding a non-loopback address
//!   raises a [`Warning`] (printed to stderr, and returned by [`Listener::warnings`]).
//! * [`spawn_stdio`]: run an adapter (`lldb-dap`, `gdb -i dap`) and talk over its
//!   stdin/stdout; its [`ChildProcess`] keeps a bounded [`StderrTail`] and is killed on drop.
//!   [`spawn_stdio_blocking`] starts it the same way but gives its stdin/stdout as blocking
//!   files, for a thread that forwards bytes without the runtime in between (`dapkit record`).
//! * [`Connection`]: the result of all of the above; `AsyncRead + AsyncWrite`, or
//!   [`Connection::into_split`] into boxed halves. [`Connection::close`] shuts the write
//!   half down (the peer reads EOF) and drops the socket.
//!
//! Windows named pipes are compiled only on Windows and are untested in this project.
//!
//! # API summary
//!
//! ```text
//! enum Endpoint { Tcp(SocketAddr), Unix(PathBuf) /*unix*/, Pipe(String) /*windows*/, Stdio(StdioCommand) }
//! enum TransportKind { Auto, Unix, Tcp, Pipe, Stdio }            // FromStr / Display: "auto", ...
//! struct StdioCommand { program, args, env: Vec<(OsString, Option<OsString>)>, env_clear, cwd, stderr_limit, stderr_passthrough }
//! enum Warning { NonLoopbackBind { addr } }
//!
//! async fn connect(&Endpoint, &RetryPolicy) -> Result<Connection, ConnectError>
//! async fn connect_cancellable(&Endpoint, &RetryPolicy, impl Future<Output = ()>) -> Result<Connection, ConnectError>
//! RetryPolicy::default().with_interval(d).with_max_tries(n).with_growth(f).with_max_interval(d)
//!     .with_deadline(d).with_attempt_timeout(d)
//! ConnectError: kind() -> ConnectErrorKind { Exhausted, DeadlineExceeded, Cancelled, Fatal, Spawn },
//!     endpoint(), tries(), elapsed(), last_error()
//!
//! Listener::bind(&Endpoint).await / Listener::bind_kind(TransportKind).await -> Result<Listener, ListenError>
//! listener.local_endpoint() -> &Endpoint; listener.warnings() -> &[Warning]
//! listener.accept().await / listener.accept_timeout(Duration).await -> Result<Connection, ListenError>
//!
//! fn spawn_stdio(&StdioCommand) -> Result<Connection, SpawnError>   // in a tokio runtime
//! fn spawn_stdio_blocking(&StdioCommand) -> Result<BlockingStdio { child, stdin: File, stdout: File }, SpawnError>
//! ChildProcess: pid(), stderr_tail() -> String, stderr() -> StderrTail, try_wait(),
//!     wait().await, kill().await, wait_or_kill(grace).await; killed on drop
//!
//! Connection: AsyncRead + AsyncWrite; endpoint(), child(), child_mut(), take_child(),
//!     into_split() -> (BoxedReader, BoxedWriter), close().await
//! ```
//!
//! # Example
//!
//! ```
//! use dapkit_transport::{Listener, RetryPolicy, TransportKind, connect};
//! use tokio::io::{AsyncReadExt, AsyncWriteExt};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! rt.block_on(async {
//!     let mut listener = Listener::bind_kind(TransportKind::Auto).await?;
//!     let endpoint = listener.local_endpoint().clone();
//!     let client = tokio::spawn(async move {
//!         let mut conn = connect(&endpoint, &RetryPolicy::default()).await?;
//!         conn.write_all(b"ping").await?;
//!         conn.close().await?;
//!         Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
//!     });
//!     let mut server = listener.accept().await?;
//!     let mut got = Vec::new();
//!     server.read_to_end(&mut got).await?; // ends at the client's clean close
//!     assert_eq!(got, b"ping");
//!     client.await?.map_err(|e| e.to_string())?;
//!     Ok(())
//! })
//! # }
//! ```

mod child;
mod connect;
mod connection;
mod endpoint;
mod listen;
#[cfg(windows)]
mod pipe;

pub use child::{
    BlockingStdio, ChildProcess, SpawnError, StderrTail, spawn_stdio, spawn_stdio_blocking,
};
pub use connect::{ConnectError, ConnectErrorKind, RetryPolicy, connect, connect_cancellable};
pub use connection::{BoxedReader, BoxedWriter, Connection};
pub use endpoint::{
    DEFAULT_STDERR_LIMIT, Endpoint, StdioCommand, TransportKind, UnknownTransportKind, Warning,
};
pub use listen::{ListenError, Listener};
