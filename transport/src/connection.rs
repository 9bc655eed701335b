//! [`Connection`]: one established byte stream to a DAP peer (socket, pipe or child
//! stdio), usable directly as `AsyncRead + AsyncWrite` or split into owned halves.

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use crate::child::ChildProcess;
use crate::endpoint::Endpoint;

/// The read half of a [`Connection`].
pub type BoxedReader = Box<dyn AsyncRead + Send + Unpin>;
/// The write half of a [`Connection`]. Shutting it down (or dropping it) sends EOF to the
/// peer.
pub type BoxedWriter = Box<dyn AsyncWrite + Send + Unpin>;

/// An established connection to a DAP peer.
///
/// For a spawned adapter ([`Endpoint::Stdio`]) the connection also owns the
/// [`ChildProcess`]; it is killed when the connection (or, after
/// [`into_split`](Self::into_split), the write half) is dropped, unless taken out first
/// with [`take_child`](Self::take_child).
pub struct Connection {
    reader: BoxedReader,
    writer: BoxedWriter,
    endpoint: Endpoint,
    child: Option<ChildProcess>,
}

impl Connection {
    /// Wraps two halves. `endpoint` describes the peer (for messages).
    pub fn new(reader: BoxedReader, writer: BoxedWriter, endpoint: Endpoint) -> Self {
        Connection {
            reader,
            writer,
            endpoint,
            child: None,
        }
    }

    pub(crate) fn with_child(mut self, child: ChildProcess) -> Self {
        self.child = Some(child);
        self
    }

    /// Where this connection leads (the peer's address, or the command spawned).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The adapter process behind a stdio connection.
    pub fn child(&self) -> Option<&ChildProcess> {
        self.child.as_ref()
    }

    /// The adapter process behind a stdio connection, mutably (to `wait` or `kill`).
    pub fn child_mut(&mut self) -> Option<&mut ChildProcess> {
        self.child.as_mut()
    }

    /// Takes the adapter process out: its lifetime is then the caller's (it is still
    /// killed when the returned handle is dropped).
    pub fn take_child(&mut self) -> Option<ChildProcess> {
        self.child.take()
    }

    /// Splits into owned halves for a reader task and a writer task. A child process still
    /// owned by the connection moves into the write half (dropping that half kills it).
    pub fn into_split(self) -> (BoxedReader, BoxedWriter) {
        let writer = match self.child {
            Some(child) => Box::new(GuardedWriter {
                inner: self.writer,
                _child: child,
            }) as BoxedWriter,
            None => self.writer,
        };
        (self.reader, writer)
    }

    /// Closes cleanly: flushes and shuts down the write half (the peer reads EOF), then
    /// drops both halves so that no half-closed socket stays behind. A child process owned
    /// by the connection is killed; take it first to let it exit on its own.
    pub async fn close(mut self) -> io::Result<()> {
        let result = self.writer.shutdown().await;
        drop(self);
        match result {
            // The peer went away first: the connection is closed either way.
            Err(e) if is_disconnect(&e) => Ok(()),
            other => other,
        }
    }
}

fn is_disconnect(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset | io::ErrorKind::NotConnected
    )
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("endpoint", &self.endpoint)
            .field("child", &self.child)
            .finish_non_exhaustive()
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.reader).poll_read(cx, buf)
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.writer).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.writer.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.writer).poll_shutdown(cx)
    }
}

/// A write half that keeps the adapter process alive as long as it lives.
struct GuardedWriter {
    inner: BoxedWriter,
    _child: ChildProcess,
}

impl AsyncWrite for GuardedWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
