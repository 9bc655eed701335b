//! Listening for reverse connections: a [`Listener`] bound to an explicit [`Endpoint`] or
//! resolved from a [`TransportKind`] (Unix socket in a fresh private directory on POSIX,
//! TCP `127.0.0.1:0` otherwise), exposing the resolved endpoint to hand to whoever
//! connects back (a debuggee's `debugpy.connect()`, `dlv dap --client-addr`).

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
#[cfg(unix)]
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::connection::Connection;
use crate::endpoint::{Endpoint, TransportKind, Warning};

/// The error of binding or accepting: what was being done, and the OS error.
#[derive(Debug)]
pub struct ListenError {
    action: String,
    source: io::Error,
}

impl ListenError {
    fn new(action: impl Into<String>, source: io::Error) -> Self {
        ListenError {
            action: action.into(),
            source,
        }
    }

    /// The underlying OS error (kind `TimedOut` when an accept timed out).
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }

    /// Whether an [`Listener::accept_timeout`] ran out of time.
    pub fn is_timeout(&self) -> bool {
        self.source.kind() == io::ErrorKind::TimedOut
    }
}

impl fmt::Display for ListenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.action, self.source)
    }
}

impl std::error::Error for ListenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

enum Inner {
    Tcp(tokio::net::TcpListener),
    #[cfg(unix)]
    Unix {
        listener: tokio::net::UnixListener,
        _cleanup: UnixCleanup,
    },
    #[cfg(windows)]
    Pipe(crate::pipe::PipeListener),
}

/// A bound listener accepting DAP connections. Unix socket files it created are removed
/// when it is dropped (with the private directory made for them).
pub struct Listener {
    inner: Inner,
    endpoint: Endpoint,
    warnings: Vec<Warning>,
}

impl Listener {
    /// Binds exactly `endpoint`. A TCP address that is not loopback is bound, but raises
    /// [`Warning::NonLoopbackBind`] (printed to stderr and kept in
    /// [`warnings`](Self::warnings)). Port 0 picks a free port: read it back with
    /// [`local_endpoint`](Self::local_endpoint).
    pub async fn bind(endpoint: &Endpoint) -> Result<Listener, ListenError> {
        let action = || format!("binding {endpoint}");
        let (inner, resolved) = match endpoint {
            Endpoint::Tcp(addr) => bind_tcp(*addr)
                .await
                .map_err(|e| ListenError::new(action(), e))?,
            #[cfg(unix)]
            Endpoint::Unix(path) => {
                let listener = tokio::net::UnixListener::bind(path)
                    .map_err(|e| ListenError::new(action(), e))?;
                let cleanup = UnixCleanup {
                    socket: path.clone(),
                    dir: None,
                };
                (
                    Inner::Unix {
                        listener,
                        _cleanup: cleanup,
                    },
                    endpoint.clone(),
                )
            }
            #[cfg(windows)]
            Endpoint::Pipe(name) => {
                let listener = crate::pipe::PipeListener::bind(name)
                    .map_err(|e| ListenError::new(action(), e))?;
                (Inner::Pipe(listener), endpoint.clone())
            }
            Endpoint::Stdio(_) => {
                return Err(ListenError::new(
                    action(),
                    io::Error::new(
                        io::ErrorKind::Unsupported,
                        "a stdio endpoint cannot be listened on",
                    ),
                ));
            }
        };
        let warnings = resolved.listen_warnings();
        for warning in &warnings {
            eprintln!("dapkit-transport: {warning}");
        }
        Ok(Listener {
            inner,
            endpoint: resolved,
            warnings,
        })
    }

    /// Binds a listener of the given kind at a fresh private address: `Auto` prefers a Unix
    /// socket in a new private temporary directory (POSIX) or a named pipe (Windows) and
    /// falls back to TCP; `Tcp` binds `127.0.0.1:0`. `Stdio` (and a kind the platform
    /// lacks) is an error.
    pub async fn bind_kind(kind: TransportKind) -> Result<Listener, ListenError> {
        let loopback = Endpoint::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        match kind {
            TransportKind::Tcp => Listener::bind(&loopback).await,
            TransportKind::Auto => {
                #[cfg(unix)]
                if let Ok(listener) = bind_private_unix() {
                    return Ok(listener);
                }
                #[cfg(windows)]
                if let Ok(listener) =
                    Listener::bind(&Endpoint::Pipe(crate::pipe::unique_name(&unique_suffix())))
                        .await
                {
                    return Ok(listener);
                }
                Listener::bind(&loopback).await
            }
            #[cfg(unix)]
            TransportKind::Unix => bind_private_unix(),
            #[cfg(windows)]
            TransportKind::Pipe => {
                Listener::bind(&Endpoint::Pipe(crate::pipe::unique_name(&unique_suffix()))).await
            }
            other => Err(ListenError::new(
                format!("binding a {other} listener"),
                io::Error::new(
                    io::ErrorKind::Unsupported,
                    format!("{other} listeners are not available on this platform"),
                ),
            )),
        }
    }

    /// The resolved endpoint (actual port for port 0, socket path, pipe name) to hand to
    /// the peer that connects back.
    pub fn local_endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The warnings raised when binding (see [`Warning`]).
    pub fn warnings(&self) -> &[Warning] {
        &self.warnings
    }

    /// Waits for the next connection. Cancel-safe: dropping the future loses no connection.
    pub async fn accept(&mut self) -> Result<Connection, ListenError> {
        let action = || format!("accepting on {}", self.endpoint);
        match &mut self.inner {
            Inner::Tcp(listener) => {
                let (stream, peer) = listener
                    .accept()
                    .await
                    .map_err(|e| ListenError::new(action(), e))?;
                stream
                    .set_nodelay(true)
                    .map_err(|e| ListenError::new(action(), e))?;
                let (r, w) = stream.into_split();
                Ok(Connection::new(
                    Box::new(r),
                    Box::new(w),
                    Endpoint::Tcp(peer),
                ))
            }
            #[cfg(unix)]
            Inner::Unix { listener, .. } => {
                let (stream, _) = listener
                    .accept()
                    .await
                    .map_err(|e| ListenError::new(action(), e))?;
                let (r, w) = stream.into_split();
                Ok(Connection::new(
                    Box::new(r),
                    Box::new(w),
                    self.endpoint.clone(),
                ))
            }
            #[cfg(windows)]
            Inner::Pipe(listener) => {
                let (r, w) = listener
                    .accept()
                    .await
                    .map_err(|e| ListenError::new(action(), e))?;
                Ok(Connection::new(r, w, self.endpoint.clone()))
            }
        }
    }

    /// [`accept`](Self::accept) bounded by `timeout` (error kind `TimedOut`, see
    /// [`ListenError::is_timeout`]).
    pub async fn accept_timeout(&mut self, timeout: Duration) -> Result<Connection, ListenError> {
        match tokio::time::timeout(timeout, self.accept()).await {
            Ok(result) => result,
            Err(_) => Err(ListenError::new(
                format!("accepting on {}", self.endpoint),
                io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("no connection within {:.1} s", timeout.as_secs_f64()),
                ),
            )),
        }
    }
}

impl fmt::Debug for Listener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Listener")
            .field("endpoint", &self.endpoint)
            .field("warnings", &self.warnings)
            .finish_non_exhaustive()
    }
}

async fn bind_tcp(addr: SocketAddr) -> io::Result<(Inner, Endpoint)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((Inner::Tcp(listener), Endpoint::Tcp(local)))
}

/// A process-unique suffix for generated socket directories and pipe names.
fn unique_suffix() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{}-{n}-{nanos:08x}", std::process::id())
}

/// Removes a Unix socket file (and the private directory made for it) on drop.
#[cfg(unix)]
struct UnixCleanup {
    socket: PathBuf,
    dir: Option<PathBuf>,
}

#[cfg(unix)]
impl Drop for UnixCleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Binds `dap.sock` in a new directory, readable only by this user, under the temp dir.
#[cfg(unix)]
fn bind_private_unix() -> Result<Listener, ListenError> {
    use std::os::unix::fs::DirBuilderExt;
    let base = std::env::temp_dir();
    let mut last = None;
    for _ in 0..8 {
        let dir = base.join(format!("dapkit-{}", unique_suffix()));
        // `create` fails if the path exists: nobody can plant a directory or link there.
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {
                let socket = dir.join("dap.sock");
                let cleanup = UnixCleanup {
                    socket: socket.clone(),
                    dir: Some(dir),
                };
                let endpoint = Endpoint::Unix(socket.clone());
                let listener = tokio::net::UnixListener::bind(&socket)
                    .map_err(|e| ListenError::new(format!("binding {endpoint}"), e))?;
                return Ok(Listener {
                    inner: Inner::Unix {
                        listener,
                        _cleanup: cleanup,
                    },
                    endpoint,
                    warnings: Vec::new(),
                });
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => {
                return Err(ListenError::new(
                    format!("creating a private socket directory in {}", base.display()),
                    e,
                ));
            }
        }
    }
    Err(ListenError::new(
        format!("creating a private socket directory in {}", base.display()),
        last.unwrap_or_else(|| io::Error::other("no unique name found")),
    ))
}
