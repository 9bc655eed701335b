//! The session's two I/O tasks: the reader (frames in → requests to [`Requests`],
//! responses to the reverse requests waiting for them) and the writer (queued bodies out,
//! each framed whole; several queued ones go out in one write).
//!
//! [`Requests`]: super::Requests

use super::error::{Diagnostic, ReverseRequestError};
use super::incoming::Incoming;
use super::shared::Shared;
use crate::wire::reader::{End, next_frame, prefix, raw};
use crate::wire::{Outgoing, writer};
use bytes::Bytes;
use dapkit_types::{ProtocolMessage, Request};
use dapkit_wireformat::FrameStream;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

/// Reads frames until the stream ends or fails fatally, then closes the session (which
/// ends [`Requests`](super::Requests) once the requests already read are taken).
pub(crate) async fn read_loop<R: AsyncRead + Unpin>(
    shared: Arc<Shared>,
    mut frames: FrameStream<R>,
    requests: mpsc::Sender<Incoming>,
) {
    let mut requests = Some(requests);
    loop {
        match next_frame(&mut frames, |e| shared.diagnose(Diagnostic::Frame(e))).await {
            Ok(bytes) => dispatch(&shared, bytes, &mut requests).await,
            Err(End::Eof) => {
                shared.close("the client closed the connection");
                return;
            }
            Err(End::Fatal(e)) => {
                shared.close(format!("cannot read from the client: {e}"));
                return;
            }
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
                prefix: prefix(&bytes),
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

/// Writes queued bodies, framed, until the session closes; a failed write closes it.
pub(crate) async fn write_loop<W: AsyncWrite + Unpin + Send + 'static>(
    shared: Arc<Shared>,
    writer: W,
    queue: mpsc::UnboundedReceiver<Outgoing>,
) {
    let state = writer::WriterState::new(writer);
    writer::write_loop(shared.lend(), state, queue, |e| {
        shared.close(format!("cannot write to the client: {e}"));
    })
    .await;
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
    // The envelope says which type to decode into; the frame is decoded once, into it.
    let envelope = dapkit_types::Envelope::read(bytes).map_err(|e| malformed(e.to_string()))?;
    if envelope.success == Some(false) {
        return match serde_json::from_slice::<dapkit_types::ErrorResponse>(bytes) {
            Ok(e) => Err(ReverseRequestError::Rejected(Box::new(e))),
            Err(e) => Err(malformed(format!(
                "an error response that does not fit: {e}"
            ))),
        };
    }
    serde_json::from_slice::<T>(bytes).map_err(|e| malformed(e.to_string()))
}
