//! The session's two I/O tasks: the reader (frames in → requests to [`Requests`],
//! responses to the reverse requests waiting for them) and the writer (queued bodies out,
//! each framed whole; several queued ones go out in one write).
//!
//! [`Requests`]: super::Requests

use super::error::{Diagnostic, ReverseRequestError};
use super::incoming::Incoming;
use super::shared::{Outgoing, Shared};
use bytes::{Bytes, BytesMut};
use dapkit_types::{ProtocolMessage, RawMessage, Request};
use dapkit_wireformat::{DapCodec, FrameStream};
use futures_core::Stream;
use std::pin::Pin;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio_util::codec::Encoder;

/// The writer sends what it has once this many bytes are batched.
const WRITE_BATCH: usize = 256 * 1024;

/// Reads frames until the stream ends or fails fatally, then closes the session (which
/// ends [`Requests`](super::Requests) once the requests already read are taken).
pub(crate) async fn read_loop<R: AsyncRead + Unpin>(
    shared: Arc<Shared>,
    mut frames: FrameStream<R>,
    requests: mpsc::Sender<Incoming>,
) {
    let mut requests = Some(requests);
    loop {
        let next = std::future::poll_fn(|cx| Pin::new(&mut frames).poll_next(cx)).await;
        match next {
            None => {
                shared.close("the client closed the connection");
                return;
            }
            Some(Err(e)) if e.is_recoverable() => shared.diagnose(Diagnostic::Frame(e)),
            Some(Err(e)) => {
                shared.close(format!("cannot read from the client: {e}"));
                return;
            }
            Some(Ok(bytes)) => dispatch(&shared, bytes, &mut requests).await,
        }
    }
}

async fn dispatch(
    shared: &Arc<Shared>,
    bytes: Bytes,
    requests: &mut Option<mpsc::Sender<Incoming>>,
) {
    let message = match ProtocolMessage::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => {
            shared.diagnose(Diagnostic::Undecodable {
                reason: e.to_string(),
                prefix: bytes[..bytes.len().min(256)].to_vec(),
            });
            return;
        }
    };
    match message {
        ProtocolMessage::Request(request) => {
            let seq = request.seq().and_then(|s| i32::try_from(s).ok());
            let (Some(seq), Some(command)) = (seq, request.command().map(str::to_owned)) else {
                shared.diagnose(Diagnostic::UnanswerableRequest(Box::new(raw(&bytes))));
                return;
            };
            if let Request::Initialize(init) = &request {
                shared.set_client(init.arguments.clone());
            }
            let incoming = Incoming::new(seq, command, request, shared.clone());
            if let Some(tx) = requests {
                // Backpressure: waits while the channel is full. If nobody reads requests
                // any more, the request is dropped here and so answered with an error.
                if let Err(mpsc::error::SendError(_dropped)) = tx.send(incoming).await {
                    *requests = None;
                }
            }
        }
        ProtocolMessage::Response(response) => {
            let request_seq = response.request_seq();
            match request_seq.and_then(|rs| shared.claim(rs)) {
                Some(waiter) => {
                    // The waiter may be gone (dropped future): nothing to do then.
                    let _ = waiter.send(Ok(bytes));
                }
                None => shared.diagnose(Diagnostic::UnknownResponse {
                    request_seq,
                    command: response.command().map(str::to_owned),
                }),
            }
        }
        ProtocolMessage::Event(_) | ProtocolMessage::Custom(_) => {
            shared.diagnose(Diagnostic::UnexpectedMessage(Box::new(raw(&bytes))));
        }
    }
}

fn raw(bytes: &[u8]) -> RawMessage {
    serde_json::from_slice(bytes).unwrap_or_default()
}

/// Writes queued bodies, framed, until the session closes or a write fails.
pub(crate) async fn write_loop<W: AsyncWrite + Unpin>(
    shared: Arc<Shared>,
    mut writer: W,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
) {
    let mut codec = DapCodec::new();
    let mut buf = BytesMut::with_capacity(8 * 1024);
    let mut acks: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = queue.recv().await {
        let mut next = Some(first);
        let mut close = None;
        while let Some(message) = next.take() {
            match message {
                Outgoing::Frame(body) => {
                    // Encoding into a buffer cannot fail.
                    let _ = codec.encode(&body[..], &mut buf);
                }
                Outgoing::Flush(ack) => acks.push(ack),
                Outgoing::Close(ack) => {
                    close = Some(ack);
                    break;
                }
            }
            if buf.len() >= WRITE_BATCH {
                break;
            }
            if let Ok(m) = queue.try_recv() {
                next = Some(m);
            }
        }
        if !buf.is_empty() || !acks.is_empty() {
            let written = match writer.write_all(&buf).await {
                Ok(()) => writer.flush().await,
                Err(e) => Err(e),
            };
            buf.clear();
            if let Err(e) = written {
                shared.close(format!("cannot write to the client: {e}"));
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

/// Decodes a reverse request's response frame into `T` (an error response becomes
/// [`ReverseRequestError::Rejected`]).
pub(crate) fn decode_response<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<T, ReverseRequestError> {
    let malformed = |reason: String| ReverseRequestError::Malformed {
        message: Box::new(raw(bytes)),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
    if value.get("success").and_then(serde_json::Value::as_bool) == Some(false) {
        return match <dapkit_types::ErrorResponse as serde::Deserialize>::deserialize(&value) {
            Ok(e) => Err(ReverseRequestError::Rejected(Box::new(e))),
            Err(e) => Err(malformed(format!(
                "an error response that does not fit: {e}"
            ))),
        };
    }
    T::deserialize(&value).map_err(|e| malformed(e.to_string()))
}
