//! The writer task of a session: it takes queued bodies ([`Outgoing`]), frames each whole
//! (`Content-Length` header + body) and writes them; several queued ones go out in one
//! write, up to [`WRITE_BATCH`] bytes (so besides the write-queue limit, at most one
//! batch, [`WRITE_BATCH`] bytes plus one frame, waits in the writer).

use super::queue::Outgoing;
use bytes::BytesMut;
use dapkit_wireformat::DapCodec;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::Encoder;

/// The writer sends what it has once this many bytes are batched.
const WRITE_BATCH: usize = 256 * 1024;

/// Writes queued bodies, framed, until told to close, the queue ends or a write fails
/// (then `failed` is called with the error). A close (or the end of the queue) writes
/// what is batched, shuts the write half down and acknowledges.
pub(crate) async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
    failed: impl FnOnce(std::io::Error),
) {
    let mut codec = DapCodec::new();
    let mut buf = BytesMut::with_capacity(8 * 1024);
    let mut acks: Vec<oneshot::Sender<()>> = Vec::new();
    loop {
        let mut next = queue.recv().await;
        let mut close = None;
        loop {
            match next {
                Some(Outgoing::Frame(body)) => {
                    // Encoding into a buffer cannot fail. Dropping the body frees its
                    // share of the write-queue limit.
                    let _ = codec.encode(body.bytes(), &mut buf);
                }
                Some(Outgoing::Flush(ack)) => acks.push(ack),
                Some(Outgoing::Close(ack)) => {
                    close = Some(ack);
                    break;
                }
                None => {
                    close = Some(None);
                    break;
                }
            }
            if buf.len() >= WRITE_BATCH {
                break;
            }
            match queue.try_recv() {
                Ok(m) => next = Some(m),
                Err(_) => break,
            }
        }
        if !buf.is_empty() || !acks.is_empty() {
            let written = match writer.write_all(&buf).await {
                Ok(()) => writer.flush().await,
                Err(e) => Err(e),
            };
            buf.clear();
            if let Err(e) = written {
                failed(e);
                return;
            }
            for ack in acks.drain(..) {
                let _ = ack.send(());
            }
        }
        if let Some(ack) = close {
            let _ = writer.shutdown().await;
            if let Some(ack) = ack {
                let _ = ack.send(());
            }
            return;
        }
    }
}
