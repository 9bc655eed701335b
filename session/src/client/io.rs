//! The session's two I/O tasks: the reader (frames in → responses to their waiters, events
//! to the event channel, reverse requests to their handlers) and the writer (queued bodies
//! out, framed, one whole frame at a time, batched when several are queued).

use super::RawInbound;
use super::error::Diagnostic;
use super::reverse::{self, BoxFuture, Handlers};
use super::shared::{Reply, Shared, Waiter};
use crate::wire::reader::{End, next_frame, prefix, raw};
use crate::wire::{Claim, Outgoing, writer};
use bytes::Bytes;
use dapkit_types::{Envelope, Event, ProtocolMessage, Response};
use dapkit_wireformat::FrameStream;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{Semaphore, mpsc};

/// How the reader hands reverse requests over: the handlers, and the permits that bound
/// how many are handled at once.
pub(crate) struct Reverse {
    pub handlers: Arc<Handlers>,
    pub permits: Arc<Semaphore>,
    pub limit: usize,
}

/// Where events and reverse requests go as bytes instead of being decoded
/// ([`ClientOptions::with_raw_inbound`](super::ClientOptions::with_raw_inbound) and
/// [`with_raw_inbound_handler`](super::ClientOptions::with_raw_inbound_handler)).
#[derive(Clone)]
pub(crate) enum RawSink {
    /// To another task; `None` once its receiver is dropped.
    Channel(mpsc::Sender<Bytes>),
    /// Handled on the reader task.
    Handler(Arc<dyn RawInbound>),
}

/// Reads frames until the stream ends or fails fatally, then closes the session.
pub(crate) async fn read_loop<R: AsyncRead + Unpin>(
    shared: Arc<Shared>,
    mut frames: FrameStream<R>,
    events: mpsc::Sender<Event>,
    handlers: Reverse,
    raw_inbound: Option<RawSink>,
) {
    let mut events = Some(events);
    let mut raw_inbound = raw_inbound;
    let forwards = raw_inbound.is_some();
    let reason = loop {
        match next_frame(&mut frames, |e| shared.diagnose(Diagnostic::Frame(e))).await {
            Ok(bytes) if forwards => forward(&shared, bytes, &mut raw_inbound).await,
            Ok(bytes) => dispatch(&shared, bytes, &mut events, &handlers).await,
            Err(End::Eof) => break "the adapter closed the connection".to_owned(),
            Err(End::Fatal(e)) => break format!("cannot read from the adapter: {e}"),
        }
    };
    shared.close(reason, None);
    if let Some(RawSink::Handler(handler)) = raw_inbound {
        handler.closed();
    }
}

async fn dispatch(
    shared: &Arc<Shared>,
    bytes: Bytes,
    events: &mut Option<mpsc::Sender<Event>>,
    reverse: &Reverse,
) {
    // The envelope is read (not decoded) to route the frame; each frame is then decoded
    // once: a response by the request waiting for it, into the type it expects; anything
    // else here.
    let undecodable = |e: dapkit_types::Error| {
        shared.diagnose(Diagnostic::Undecodable {
            reason: e.to_string(),
            prefix: prefix(&bytes),
        });
    };
    let envelope = match Envelope::read(&bytes) {
        Ok(e) => e,
        Err(e) => return undecodable(e),
    };
    match envelope.kind.as_deref() {
        Some("response") => on_response(shared, envelope, bytes),
        Some("event") => {
            let event = match ProtocolMessage::from_slice(&bytes) {
                Ok(ProtocolMessage::Event(e)) => e,
                Ok(ProtocolMessage::Custom(raw)) => Event::Custom(raw),
                Ok(other) => Event::Custom(raw(&other.to_vec())),
                Err(e) => return undecodable(e),
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
        Some("request") => {
            let request = match ProtocolMessage::from_slice(&bytes) {
                Ok(ProtocolMessage::Request(r)) => r,
                Ok(ProtocolMessage::Custom(raw)) => dapkit_types::Request::Custom(raw),
                Ok(other) => dapkit_types::Request::Custom(raw(&other.to_vec())),
                Err(e) => return undecodable(e),
            };
            match reverse.permits.clone().try_acquire_owned() {
                Ok(permit) => {
                    let shared = shared.clone();
                    let handlers = reverse.handlers.clone();
                    tokio::spawn(async move {
                        reverse::answer(&shared, &handlers, request).await;
                        drop(permit);
                    });
                }
                Err(_) => reverse::refuse(
                    shared,
                    &request,
                    format!(
                        "too many reverse requests in progress: this client handles at most {} at once",
                        reverse.limit
                    ),
                ),
            }
        }
        // No usable `type`: a response if it names a request this client is waiting for.
        _ => match envelope.request_seq {
            Some(_) => on_response(shared, envelope, bytes),
            None => shared.diagnose(Diagnostic::UnknownMessage(Box::new(raw(&bytes)))),
        },
    }
}

/// With [`ClientOptions::with_raw_inbound`](super::ClientOptions::with_raw_inbound) (or
/// its handler form): responses go to their waiters as usual; events and reverse requests
/// go to the channel or the handler as bytes (events that change the session status are
/// observed first).
async fn forward(shared: &Arc<Shared>, bytes: Bytes, raw_inbound: &mut Option<RawSink>) {
    let envelope = match Envelope::read(&bytes) {
        Ok(e) => e,
        Err(e) => {
            shared.diagnose(Diagnostic::Undecodable {
                reason: e.to_string(),
                prefix: prefix(&bytes),
            });
            return;
        }
    };
    let kind = envelope.kind.as_deref();
    let is_response = kind == Some("response")
        || (kind != Some("event") && kind != Some("request") && envelope.request_seq.is_some());
    if is_response {
        // Responses to requests sent with a waiter are the session's; the rest (sent
        // with `send_message_bytes`) go to the channel with the events.
        let Some(request_seq) = envelope.request_seq else {
            return on_response(shared, envelope, bytes);
        };
        if envelope.command.as_deref() == Some("initialize") && envelope.success == Some(true) {
            capture_capabilities(shared, &bytes);
        }
        match shared.claim(request_seq) {
            Claim::Unknown => {}
            claim => return settle(shared, claim, request_seq, envelope, bytes),
        }
    }
    if envelope.kind.as_deref() == Some("event")
        && matches!(
            envelope.event.as_deref(),
            Some("terminated" | "exited" | "capabilities")
        )
    {
        if let Ok(ProtocolMessage::Event(event)) = ProtocolMessage::from_slice(&bytes) {
            observe_event(shared, &event);
        }
    }
    match raw_inbound {
        Some(RawSink::Channel(tx)) => {
            // A dropped receiver: nobody listens any more.
            let gone = tx.send(bytes).await.is_err();
            if gone {
                *raw_inbound = None;
            }
        }
        Some(RawSink::Handler(handler)) => {
            let wait: Option<BoxFuture<()>> = handler.message(bytes, &envelope);
            if let Some(wait) = wait {
                wait.await;
            }
        }
        None => {}
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
    let claim = shared.claim(request_seq);
    settle(shared, claim, request_seq, envelope, bytes);
}

/// Hands a response to the request that waits for it, or reports it.
fn settle(
    shared: &Shared,
    claim: Claim<Waiter>,
    request_seq: i64,
    envelope: Envelope,
    bytes: Bytes,
) {
    match claim {
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

/// Writes queued bodies as frames until told to close; a failed write closes the session.
pub(crate) async fn write_loop<W: AsyncWrite + Unpin + Send + 'static>(
    shared: Arc<Shared>,
    writer: W,
    queue: mpsc::UnboundedReceiver<Outgoing>,
) {
    let state = writer::WriterState::new(writer);
    writer::write_loop(shared.lend(), state, queue, |e| {
        shared.close(
            format!("cannot write to the adapter: {e}"),
            Some(Arc::new(e)),
        );
    })
    .await;
}
