//! Where a DAP peer lives: [`Endpoint`] (an address or a command to spawn), the
//! [`TransportKind`] a listener should pick, the [`StdioCommand`] spec for adapters run as
//! child processes, and the [`Warning`]s raised when an address is unsafe.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

/// An address a DAP peer can be reached at, or the command that starts one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// A TCP socket address (`127.0.0.1:5678`).
    Tcp(SocketAddr),
    /// A Unix domain socket at this path.
    #[cfg(unix)]
    Unix(PathBuf),
    /// A Windows named pipe (`\\.\pipe\name`).
    #[cfg(windows)]
    Pipe(String),
    /// A debug adapter started as a child process, talking DAP on its stdin/stdout.
    Stdio(StdioCommand),
}

impl Endpoint {
    /// The kind of transport this endpoint uses.
    pub fn kind(&self) -> TransportKind {
        match self {
            Endpoint::Tcp(_) => TransportKind::Tcp,
            #[cfg(unix)]
            Endpoint::Unix(_) => TransportKind::Unix,
            #[cfg(windows)]
            Endpoint::Pipe(_) => TransportKind::Pipe,
            Endpoint::Stdio(_) => TransportKind::Stdio,
        }
    }

    /// The TCP address, if this is a TCP endpoint (handy to pass a port to a launcher).
    pub fn tcp_addr(&self) -> Option<SocketAddr> {
        match self {
            Endpoint::Tcp(addr) => Some(*addr),
            _ => None,
        }
    }

    /// Warnings about this endpoint when it is used to listen: a non-loopback TCP address
    /// exposes the debug adapter (which executes code on request) to the network.
    pub fn listen_warnings(&self) -> Vec<Warning> {
        match self {
            Endpoint::Tcp(addr) if !is_loopback(addr.ip()) => {
                vec![Warning::NonLoopbackBind { addr: *addr }]
            }
            _ => Vec::new(),
        }
    }
}

impl From<SocketAddr> for Endpoint {
    fn from(addr: SocketAddr) -> Self {
        Endpoint::Tcp(addr)
    }
}

impl From<StdioCommand> for Endpoint {
    fn from(command: StdioCommand) -> Self {
        Endpoint::Stdio(command)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp(addr) => write!(f, "tcp:{addr}"),
            #[cfg(unix)]
            Endpoint::Unix(path) => write!(f, "unix:{}", path.display()),
            #[cfg(windows)]
            Endpoint::Pipe(name) => write!(f, "pipe:{name}"),
            Endpoint::Stdio(command) => write!(f, "stdio:{command}"),
        }
    }
}

/// Which transport to use; [`TransportKind::Auto`] lets [`Listener::bind_kind`](crate::Listener::bind_kind)
/// choose (Unix sockets on POSIX, else TCP on loopback).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TransportKind {
    /// Unix sockets where available (POSIX), named pipes on Windows, TCP otherwise.
    #[default]
    Auto,
    /// Unix domain socket (POSIX only).
    Unix,
    /// TCP (loopback, ephemeral port by default).
    Tcp,
    /// Windows named pipe (Windows only).
    Pipe,
    /// A child process's stdin/stdout (cannot be listened on).
    Stdio,
}

impl TransportKind {
    /// The lowercase name (`auto`, `unix`, `tcp`, `pipe`, `stdio`).
    pub fn as_str(self) -> &'static str {
        match self {
            TransportKind::Auto => "auto",
            TransportKind::Unix => "unix",
            TransportKind::Tcp => "tcp",
            TransportKind::Pipe => "pipe",
            TransportKind::Stdio => "stdio",
        }
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`TransportKind`] from an unknown name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownTransportKind(pub String);

impl fmt::Display for UnknownTransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown transport kind {:?} (expected auto, unix, tcp, pipe or stdio)",
            self.0
        )
    }
}

impl std::error::Error for UnknownTransportKind {}

impl std::str::FromStr for TransportKind {
    type Err = UnknownTransportKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(TransportKind::Auto),
            "unix" => Ok(TransportKind::Unix),
            "tcp" => Ok(TransportKind::Tcp),
            "pipe" => Ok(TransportKind::Pipe),
            "stdio" => Ok(TransportKind::Stdio),
            _ => Err(UnknownTransportKind(s.to_owned())),
        }
    }
}

/// How to start a debug adapter that speaks DAP on its stdin/stdout (`lldb-dap`,
/// `gdb -i dap`, `python -m debugpy.adapter`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StdioCommand {
    /// The program to run (looked up in `PATH` when it has no separator).
    pub program: OsString,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// Environment changes: `Some(value)` sets, `None` removes the variable.
    pub env: Vec<(OsString, Option<OsString>)>,
    /// Start from an empty environment (then apply [`env`](Self::env)).
    pub env_clear: bool,
    /// Working directory of the child (inherited when `None`).
    pub cwd: Option<PathBuf>,
    /// How many bytes of the child's stderr to keep (the newest ones); `0` keeps none
    /// (and, without [`stderr_passthrough`](Self::stderr_passthrough), discards stderr).
    pub stderr_limit: usize,
    /// Also copy the child's stderr to this process's stderr as it arrives (for programs
    /// that stand in for the adapter, such as a recorder). With a `stderr_limit` of `0`
    /// nothing needs copying: the child is given this process's stderr itself, so what it
    /// writes costs this process nothing (and, should this process's stderr close, the
    /// child's writes fail instead of being drained).
    pub stderr_passthrough: bool,
}

/// Default number of stderr bytes kept by a [`StdioCommand`]: 64 KiB.
pub const DEFAULT_STDERR_LIMIT: usize = 64 * 1024;

impl StdioCommand {
    /// A command running `program` with no arguments, inherited environment and cwd.
    pub fn new(program: impl Into<OsString>) -> Self {
        StdioCommand {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            env_clear: false,
            cwd: None,
            stderr_limit: DEFAULT_STDERR_LIMIT,
            stderr_passthrough: false,
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Self {
        self.env.push((key.into(), Some(value.into())));
        self
    }

    /// Removes an environment variable for the child.
    pub fn env_remove(mut self, key: impl Into<OsString>) -> Self {
        self.env.push((key.into(), None));
        self
    }

    /// Sets the working directory of the child.
    pub fn cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Sets how many stderr bytes are kept (`0`: none; stderr is discarded unless passed
    /// through).
    pub fn stderr_limit(mut self, bytes: usize) -> Self {
        self.stderr_limit = bytes;
        self
    }

    /// Also copies the child's stderr to this process's stderr, unchanged, as it arrives
    /// (with a `stderr_limit` of `0`, gives the child this process's stderr instead).
    pub fn stderr_passthrough(mut self, on: bool) -> Self {
        self.stderr_passthrough = on;
        self
    }
}

impl fmt::Display for StdioCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&lossy(&self.program))?;
        for arg in &self.args {
            write!(f, " {}", lossy(arg))?;
        }
        Ok(())
    }
}

fn lossy(s: &OsStr) -> std::borrow::Cow<'_, str> {
    s.to_string_lossy()
}

/// Something unsafe about how a transport was set up; also printed to stderr when raised.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Warning {
    /// A listener was bound to an address reachable from other machines. Whoever connects
    /// can drive the debug adapter, and a debug adapter executes code on request.
    NonLoopbackBind {
        /// The address bound.
        addr: SocketAddr,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::NonLoopbackBind { addr } => write!(
                f,
                "WARNING: DAP listener bound to non-loopback address {addr}: anyone who can \
                 reach it can make the debugger execute arbitrary code; bind 127.0.0.1 unless \
                 you really mean it"
            ),
        }
    }
}

/// Whether an IP address only reaches this machine (IPv4-mapped IPv6 included).
fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}
