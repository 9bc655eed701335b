//! Debug adapters run as child processes: [`spawn_stdio`] starts one with piped
//! stdin/stdout as the [`Connection`], keeps the newest bytes of its stderr in a
//! [`StderrTail`], and hands back a [`ChildProcess`] handle that kills the process when
//! dropped.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command};

use crate::connection::Connection;
use crate::endpoint::{Endpoint, StdioCommand};

/// The error of starting an adapter process.
#[derive(Debug)]
pub struct SpawnError {
    command: String,
    source: io::Error,
}

impl SpawnError {
    /// The command line that failed to start.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The underlying OS error.
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }
}

impl fmt::Display for SpawnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "could not start adapter `{}`: {}",
            self.command, self.source
        )
    }
}

impl std::error::Error for SpawnError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Starts `command` with piped stdin/stdout and returns them as a [`Connection`] that owns
/// the [`ChildProcess`] (see [`Connection::take_child`]). Must be called inside a tokio
/// runtime (stderr is drained by a spawned task).
pub fn spawn_stdio(command: &StdioCommand) -> Result<Connection, SpawnError> {
    let (process, stdin, stdout) = spawn_child(command)?;
    Ok(Connection::new(
        Box::new(stdout),
        Box::new(StdinWriter { pipe: Some(stdin) }),
        Endpoint::Stdio(command.clone()),
    )
    .with_child(process))
}

/// An adapter process started by [`spawn_stdio_blocking`], with its stdin and stdout as
/// plain blocking files (for a thread that reads and writes them directly, without the
/// async runtime in between: one thread wake-up per chunk).
#[derive(Debug)]
pub struct BlockingStdio {
    /// The process (killed when dropped, like every [`ChildProcess`]).
    pub child: ChildProcess,
    /// The adapter's stdin; dropping it closes the pipe (the adapter reads EOF).
    pub stdin: std::fs::File,
    /// The adapter's stdout.
    pub stdout: std::fs::File,
}

/// Starts `command` like [`spawn_stdio`] (the same options, stderr handled the same way)
/// but hands back its stdin and stdout as blocking files. Must be called inside a tokio
/// runtime, which must keep running while the process does (it drains stderr and waits
/// for the process).
pub fn spawn_stdio_blocking(command: &StdioCommand) -> Result<BlockingStdio, SpawnError> {
    let fail = |source: io::Error| SpawnError {
        command: command.to_string(),
        source,
    };
    let (child, stdin, stdout) = spawn_child(command)?;
    Ok(BlockingStdio {
        child,
        stdin: stdin.into_blocking().map_err(fail)?,
        stdout: stdout.into_blocking().map_err(fail)?,
    })
}

/// tokio's child pipes, back to blocking files (tokio switches them to blocking mode).
trait IntoBlocking {
    fn into_blocking(self) -> io::Result<std::fs::File>;
}

macro_rules! into_blocking {
    ($($pipe:ty),*) => {$(
        impl IntoBlocking for $pipe {
            fn into_blocking(self) -> io::Result<std::fs::File> {
                #[cfg(unix)]
                let handle = self.into_owned_fd()?;
                #[cfg(windows)]
                let handle = self.into_owned_handle()?;
                Ok(std::fs::File::from(handle))
            }
        }
    )*};
}
into_blocking!(ChildStdin, tokio::process::ChildStdout);

/// Starts `command` with piped stdin/stdout; stderr drained into a [`StderrTail`] (and
/// passed through if asked) by a spawned task.
fn spawn_child(
    command: &StdioCommand,
) -> Result<(ChildProcess, ChildStdin, tokio::process::ChildStdout), SpawnError> {
    let fail = |source: io::Error| SpawnError {
        command: command.to_string(),
        source,
    };
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(fail(io::Error::other(
            "spawn_stdio must be called inside a tokio runtime",
        )));
    }
    let mut cmd = Command::new(&command.program);
    cmd.args(&command.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(match (command.stderr_limit, command.stderr_passthrough) {
            (0, false) => Stdio::null(),
            // Nothing to keep: the child writes to our stderr itself, with no copy.
            (0, true) => Stdio::inherit(),
            _ => Stdio::piped(),
        })
        .kill_on_drop(true);
    if command.env_clear {
        cmd.env_clear();
    }
    for (key, value) in &command.env {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    if let Some(dir) = &command.cwd {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().map_err(fail)?;
    let pid = child.id();
    let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        return Err(fail(io::Error::other("child has no piped stdin/stdout")));
    };
    let stderr = StderrTail::new(command.stderr_limit);
    if let Some(mut pipe) = child.stderr.take() {
        let tail = stderr.clone();
        let passthrough = command.stderr_passthrough;
        tokio::spawn(async move {
            let mut buf = [0u8; 4096];
            let mut ours = passthrough.then(tokio::io::stderr);
            while let Ok(n @ 1..) = pipe.read(&mut buf).await {
                tail.push(&buf[..n]);
                if let Some(out) = &mut ours {
                    // Our stderr closed: keep draining the child's, stop copying.
                    if out.write_all(&buf[..n]).await.is_err() || out.flush().await.is_err() {
                        ours = None;
                    }
                }
            }
            tail.lock().closed = true;
        });
    }
    let process = ChildProcess {
        child,
        pid,
        stderr,
        command: command.to_string(),
    };
    Ok((process, stdin, stdout))
}

/// A running adapter process. Dropping the handle kills the process (SIGKILL / TerminateProcess).
pub struct ChildProcess {
    child: Child,
    pid: Option<u32>,
    stderr: StderrTail,
    command: String,
}

impl ChildProcess {
    /// The OS process id (as spawned; `None` only if the OS did not report one).
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// The newest bytes of the process's stderr (lossy UTF-8), at most the configured limit.
    pub fn stderr_tail(&self) -> String {
        self.stderr.contents()
    }

    /// A shared handle on the captured stderr, readable after this handle is gone.
    pub fn stderr(&self) -> StderrTail {
        self.stderr.clone()
    }

    /// The exit status if the process has exited, without waiting.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    /// Waits for the process to exit.
    pub async fn wait(&mut self) -> io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// Kills the process and waits for it (reaps it).
    pub async fn kill(&mut self) -> io::Result<()> {
        self.child.kill().await
    }

    /// Waits up to `grace` for the process to exit by itself (e.g. after `disconnect` and
    /// closing its stdin), then kills it.
    pub async fn wait_or_kill(&mut self, grace: Duration) -> io::Result<ExitStatus> {
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(status) => status,
            Err(_) => {
                self.child.start_kill()?;
                self.child.wait().await
            }
        }
    }
}

impl fmt::Debug for ChildProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChildProcess")
            .field("pid", &self.pid)
            .field("command", &self.command)
            .finish_non_exhaustive()
    }
}

/// A bounded buffer holding the newest bytes a child wrote to stderr; cheap to clone
/// (clones share the buffer).
#[derive(Clone)]
pub struct StderrTail {
    inner: Arc<Mutex<TailState>>,
}

struct TailState {
    bytes: VecDeque<u8>,
    limit: usize,
    total: u64,
    closed: bool,
}

impl StderrTail {
    fn new(limit: usize) -> Self {
        StderrTail {
            inner: Arc::new(Mutex::new(TailState {
                bytes: VecDeque::with_capacity(limit.min(4096)),
                limit,
                total: 0,
                closed: limit == 0,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, TailState> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, data: &[u8]) {
        let mut state = self.lock();
        state.total += data.len() as u64;
        let limit = state.limit;
        let data = &data[data.len().saturating_sub(limit)..];
        let overflow = (state.bytes.len() + data.len()).saturating_sub(limit);
        state.bytes.drain(..overflow);
        state.bytes.extend(data);
    }

    /// The kept bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.lock().bytes.iter().copied().collect()
    }

    /// The kept bytes as lossy UTF-8.
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    /// How many bytes the child wrote to stderr in total (kept or not).
    pub fn total_bytes(&self) -> u64 {
        self.lock().total
    }

    /// Whether the child's stderr has been closed (it exited or closed the stream).
    pub fn is_closed(&self) -> bool {
        self.lock().closed
    }
}

impl fmt::Debug for StderrTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        f.debug_struct("StderrTail")
            .field("kept", &state.bytes.len())
            .field("total", &state.total)
            .field("closed", &state.closed)
            .finish()
    }
}

/// The child's stdin as a write half whose shutdown really closes the pipe (tokio's
/// `ChildStdin` only closes on drop), so that the adapter reads EOF.
struct StdinWriter {
    pipe: Option<ChildStdin>,
}

impl StdinWriter {
    fn pipe(&mut self) -> io::Result<Pin<&mut ChildStdin>> {
        match self.pipe.as_mut() {
            Some(pipe) => Ok(Pin::new(pipe)),
            None => Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the adapter's stdin was already shut down",
            )),
        }
    }
}

impl AsyncWrite for StdinWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.pipe() {
            Ok(pipe) => pipe.poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.pipe() {
            Ok(pipe) => pipe.poll_write_vectored(cx, bufs),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.pipe.as_ref().is_some_and(|p| p.is_write_vectored())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.pipe.as_mut() {
            Some(pipe) => Pin::new(pipe).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some(pipe) = self.pipe.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        match Pin::new(pipe).poll_flush(cx) {
            Poll::Ready(result) => {
                self.pipe = None; // closes the pipe: the adapter reads EOF
                Poll::Ready(result)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
