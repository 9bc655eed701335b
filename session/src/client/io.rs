//! The session's two I/O tasks: the reader (frames in → responses to their waiters, events
//! to the event channel, reverse requests to their handlers) and the writer (queued bodies
//! out, framed, one whole frame at a time, batched when several are queued).

use super::envelope::{Envelope, Kind};
use super::error::Diagnostic;
use super::reverse::{self, Handlers};
use super::shared::{Claim, Outgoing, Reply, Shared};
use bytes::{Bytes, BytesMut};
use dapkit_types::{Event, ProtocolMessage, RawMessage, Response};
use dapkit_wireformat::{DapCodec, FrameStream};
use futures_core::Stream;
use std::pin::Pin;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_util::codec::Encoder;

/// The writer sends what it has once this many bytes are batched.
const WRITE_BATCH: usize = 256 * 1024;

/// Reads frames until the stream ends or fails fatally, then closes the session.
pub(crate) async fn read_loop<R: AsyncRead + Unpin>(
    shared: Arc<Shared>,
    mut frames: FrameStream<R>,
    events: mpsc::Sender<Event>,
    handlers: Arc<Handlers>,
) {
    let mut events = Some(events);
    loop {
        let next = std::future::poll_fn(|cx| Pin::new(&mut frames).poll_next(cx)).await;
        match next {
            None => {
                shared.close("the adapter closed the connection", None);
                return;
            }
            Some(Err(e)) if e.is_recoverable() => shared.diagnose(Diagnostic::Frame(e)),
            Some(Err(e)) => {
                shared.close(format!("cannot read from the adapter: {e}"), None);
                return;
            }
            Some(Ok(bytes)) => dispatch(&shared, bytes, &mut events, &handlers).await,
        }
    }
}

async fn dispatch(
    shared: &Arc<Shared>,
    bytes: Bytes,
    events: &mut Option<mpsc::Sender<Event>>,
    handlers: &Arc<Handlers>,
) {
    let envelope = match Envelope::parse(&bytes) {
        Ok(e) => e,
        Err(e) => {
            shared.diagnose(Diagnostic::Undecodable {
                reason: e.to_string(),
                prefix: bytes[..bytes.len().min(256)].to_vec(),
            });
            return;
        }
    };
    match envelope.kind {
        Some(Kind::Response) => on_response(shared, envelope, bytes),
        Some(Kind::Event) => {
            let event = match ProtocolMessage::from_slice(&bytes) {
                Ok(ProtocolMessage::Event(e)) => e,
                Ok(_) | Err(_) => Event::Custom(raw(&bytes)),
            };
            observe_event(shared, &event);
            if let Some(tx) = events {
                // Backpressure: waits while the channel is full. A dropped receiver means
                // nobody listens: events are discarded from then on.
                if tx.send(event).await.is_err() {
                    *events = None;
                }
            }
        }
        Some(Kind::Request) => {
            let request = match ProtocolMessage::from_slice(&bytes) {
                Ok(ProtocolMessage::Request(r)) => r,
                Ok(_) | Err(_) => dapkit_types::Request::Custom(raw(&bytes)),
            };
            let shared = shared.clone();
            let handlers = handlers.clone();
            tokio::spawn(async move { reverse::answer(&shared, &handlers, request).await });
        }
        // No usable `type`: a response if it names a request this client is waiting for.
        Some(Kind::Other) | None => match envelope.request_seq {
            Some(_) => on_response(shared, envelope, bytes),
            None => shared.diagnose(Diagnostic::UnknownMessage(Box::new(raw(&bytes)))),
        },
    }
}

fn on_response(shared: &Shared, envelope: Envelope, bytes: Bytes) {
    if envelope.command.as_deref() == Some("initialize") && envelope.success == Some(true) {
        capture_capabilities(shared, &bytes);
    }
    let Some(request_seq) = envelope.request_seq else {
        shared.diagnose(Diagnostic::UnknownResponse {
            request_seq: None,
            message: Box::new(raw(&bytes)),
        });
        return;
    };
    match shared.claim(request_seq) {
        Claim::Waiting(waiter) => {
            let reply = Reply {
                envelope,
                bytes,
                command: waiter.command,
            };
            // The waiter may be gone (dropped future): nothing to do then.
            let _ = waiter.tx.send(Ok(reply));
        }
        Claim::Abandoned => shared.diagnose(Diagnostic::LateResponse { request_seq }),
        Claim::Unknown => shared.diagnose(Diagnostic::UnknownResponse {
            request_seq: Some(request_seq),
            message: Box::new(raw(&bytes)),
        }),
    }
}

fn capture_capabilities(shared: &Shared, bytes: &[u8]) {
    match ProtocolMessage::from_slice(bytes) {
        Ok(ProtocolMessage::Response(Response::Initialize(r))) => {
            shared.set_capabilities(r.body.unwrap_or_default());
        }
        _ => {
            // Not in its typed form: take what the body gives.
            let body = raw(bytes).body().cloned().unwrap_or_default();
            shared.set_capabilities(serde_json::from_value(body).unwrap_or_default());
        }
    }
}

fn observe_event(shared: &Shared, event: &Event) {
    match event {
        Event::Terminated(_) => shared.status().send_modify(|s| s.terminated = true),
        Event::Exited(e) => {
            let code = e.body.exit_code;
            shared.status().send_modify(|s| s.exit_code = Some(code));
        }
        Event::Capabilities(e) => shared.merge_capabilities(&e.body.capabilities),
        _ => {}
    }
}

/// The message as JSON (an empty object if the bytes are not a JSON object).
pub(crate) fn raw(bytes: &[u8]) -> RawMessage {
    serde_json::from_slice(bytes).unwrap_or_default()
}

/// Writes queued bodies as frames until told to close or the queue ends.
pub(crate) async fn write_loop<W: AsyncWrite + Unpin>(
    shared: Arc<Shared>,
    mut writer: W,
    mut queue: mpsc::UnboundedReceiver<Outgoing>,
) {
    let mut codec = DapCodec::new();
    let mut buf = BytesMut::new();
    loop {
        let mut next = queue.recv().await;
        let mut close = None;
        loop {
            match next {
                Some(Outgoing::Frame(body)) => {
                    // Encoding a frame into memory cannot fail.
                    let _ = codec.encode(&body[..], &mut buf);
                }
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
        if !buf.is_empty() {
            let written = match writer.write_all(&buf).await {
                Ok(()) => writer.flush().await,
                Err(e) => Err(e),
            };
            buf.clear();
            if let Err(e) = written {
                shared.close(
                    format!("cannot write to the adapter: {e}"),
                    Some(Arc::new(e)),
                );
                return;
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
