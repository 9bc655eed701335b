//! For the reader tasks: the next whole frame of a [`FrameStream`] ([`next_frame`]), and
//! what a message that cannot be used becomes in a diagnostic ([`raw`], [`prefix`]).

use bytes::Bytes;
use dapkit_types::RawMessage;
use dapkit_wireformat::FrameStream;
use futures_core::Stream;
use std::pin::Pin;
use tokio::io::AsyncRead;

/// Why a stream of frames gives no more.
pub(crate) enum End {
    /// The peer closed the connection.
    Eof,
    /// A read error reading cannot go on after.
    Fatal(dapkit_wireformat::Error),
}

/// The next frame's body. Framing problems the stream recovers from go to `skipped`, and
/// reading goes on.
pub(crate) async fn next_frame<R: AsyncRead + Unpin>(
    frames: &mut FrameStream<R>,
    mut skipped: impl FnMut(dapkit_wireformat::Error),
) -> Result<Bytes, End> {
    loop {
        match std::future::poll_fn(|cx| Pin::new(&mut *frames).poll_next(cx)).await {
            None => return Err(End::Eof),
            Some(Err(e)) if e.is_recoverable() => skipped(e),
            Some(Err(e)) => return Err(End::Fatal(e)),
            Some(Ok(bytes)) => return Ok(bytes),
        }
    }
}

/// The message as JSON (an empty object if the bytes are not a JSON object).
pub(crate) fn raw(bytes: &[u8]) -> RawMessage {
    serde_json::from_slice(bytes).unwrap_or_default()
}

/// The first bytes of a body (at most 256), kept in a diagnostic about it.
pub(crate) fn prefix(bytes: &[u8]) -> Vec<u8> {
    bytes[..bytes.len().min(256)].to_vec()
}
