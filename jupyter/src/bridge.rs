//! The DAP side: a Content-Length framed DAP connection whose requests go to the kernel as
//! `debug_request`s on the control channel, whose responses are built from the kernel's
//! `debug_reply`s, and whose events are the kernel's `debug_event`s from IOPub.
//!
//! Every message the bridge writes carries its own `seq` (1, 2, 3, … per connection). A
//! response takes `request_seq` and `command` from the client's request (ipykernel's replies
//! may lack `seq`, use `sequence_seq`, or name another command); what the kernel sent in
//! place of these is kept in the response's `kernelReply` member.

use crate::KernelDebugger;
use crate::kernel::Channel;
use dapkit_wireformat::{DapCodec, FrameStream, Limits};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Map, Value, json};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::codec::FramedWrite;

/// Messages queued toward the client at most (responses and events); when full, reading
/// from the kernel waits.
pub const QUEUE_TO_CLIENT: usize = 1024;

/// The custom request that runs code in the kernel (see the crate docs).
pub const JUPYTER_EXECUTE: &str = "jupyterExecute";

/// How a served DAP connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServeEnd {
    /// The client closed its side of the connection.
    ClientClosed,
    /// The kernel went away; the client was sent `terminated` and the connection closed.
    KernelGone(String),
}

/// Builds the DAP response to the client's request `request_seq`/`command` from the
/// kernel's `debug_reply` content (`seq` is filled in when written).
pub fn dap_response(request_seq: i64, command: &str, reply: Value) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), "response".into());
    out.insert("request_seq".into(), request_seq.into());
    out.insert("command".into(), command.into());
    let Value::Object(mut reply) = reply else {
        out.insert("success".into(), false.into());
        out.insert(
            "message".into(),
            format!("the kernel's debug_reply content is not an object: {reply}").into(),
        );
        return Value::Object(out);
    };
    if reply.is_empty() {
        out.insert("success".into(), false.into());
        out.insert(
            "message".into(),
            format!(
                "the kernel answered `{command}` with an empty debug_reply: its debugger is not \
                 started (send `initialize` and `attach` first)"
            )
            .into(),
        );
        out.insert("kernelReply".into(), Value::Object(Map::new()));
        return Value::Object(out);
    }
    let success = reply
        .get("success")
        .and_then(Value::as_bool)
        .unwrap_or(true);
    out.insert("success".into(), success.into());
    if let Some(body) = reply.remove("body") {
        out.insert("body".into(), body);
    }
    if let Some(message) = reply.get("message").cloned() {
        out.insert("message".into(), message);
    }
    out.insert("kernelReply".into(), Value::Object(reply));
    Value::Object(out)
}

/// An error response to the client's request.
fn error_response(request_seq: i64, command: &str, message: String) -> Value {
    json!({
        "type": "response",
        "request_seq": request_seq,
        "command": command,
        "success": false,
        "message": message,
    })
}

/// Serves one DAP client over `io` until it closes or the kernel goes away.
pub(crate) async fn serve<IO>(
    debugger: KernelDebugger,
    io: IO,
    request_timeout: Option<Duration>,
) -> ServeEnd
where
    IO: AsyncRead + AsyncWrite + Send + 'static,
{
    let kernel = debugger.kernel.clone();
    let (reader, writer) = tokio::io::split(io);
    let (out_tx, out_rx) = mpsc::channel::<Value>(QUEUE_TO_CLIENT);
    let writer_task = tokio::spawn(write_loop(writer, out_rx));
    if kernel.set_event_sink(Some(out_tx.clone())) {
        tracing::warn!(
            "a new DAP client replaces the previous one: debug events go to the new one"
        );
    }
    let mut frames = FrameStream::new(reader).with_limits(Limits::default());
    let mut gone = kernel.watch_gone();
    let mut pending = JoinSet::new();
    let end = loop {
        tokio::select! {
            frame = frames.next() => match frame {
                None => break ServeEnd::ClientClosed,
                Some(Err(e)) if e.is_recoverable() => {
                    tracing::warn!("skipped a bad frame from the DAP client: {e}");
                }
                Some(Err(e)) => {
                    tracing::warn!("reading from the DAP client failed: {e}");
                    break ServeEnd::ClientClosed;
                }
                Some(Ok(body)) => {
                    handle_request(&debugger, &body, &out_tx, &mut pending, request_timeout).await;
                }
            },
            () = async { let _ = gone.wait_for(|g| g.is_some()).await; } => {
                let reason = kernel.gone().unwrap_or_default();
                break ServeEnd::KernelGone(reason);
            }
            Some(_) = pending.join_next(), if !pending.is_empty() => {}
        }
    };
    kernel.set_event_sink(None);
    if let ServeEnd::KernelGone(reason) = &end {
        // Pending requests fail now (their waiters were released); then `terminated`.
        while pending.join_next().await.is_some() {}
        let _ = out_tx
            .send(json!({"type": "event", "event": "terminated", "body": {"reason": reason}}))
            .await;
    } else {
        pending.abort_all();
    }
    drop(out_tx);
    let _ = tokio::time::timeout(Duration::from_secs(5), writer_task).await;
    end
}

async fn handle_request(
    debugger: &KernelDebugger,
    body: &[u8],
    out: &mpsc::Sender<Value>,
    pending: &mut JoinSet<()>,
    request_timeout: Option<Duration>,
) {
    let request: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("a frame from the DAP client is not JSON ({e}); skipped");
            let _ = out
                .send(error_response(
                    0,
                    "",
                    format!("the message is not JSON: {e}"),
                ))
                .await;
            return;
        }
    };
    let seq = request["seq"].as_i64();
    let command = request["command"].as_str().map(str::to_owned);
    if request["type"] != "request" {
        tracing::warn!(
            "the DAP client sent a {} (seq {seq:?}); only requests are forwarded to the kernel",
            request["type"]
        );
        return;
    }
    let (Some(seq), Some(command)) = (seq, command) else {
        let _ = out
            .send(error_response(
                seq.unwrap_or(0),
                request["command"].as_str().unwrap_or(""),
                "a request needs an integer `seq` and a string `command`".into(),
            ))
            .await;
        return;
    };
    let out = out.clone();
    let debugger = debugger.clone();
    if command == JUPYTER_EXECUTE {
        let Some(code) = request["arguments"]["code"].as_str().map(str::to_owned) else {
            let _ = out
                .send(error_response(
                    seq,
                    &command,
                    "`jupyterExecute` needs `arguments.code` (a string)".into(),
                ))
                .await;
            return;
        };
        pending.spawn(async move {
            let response = match debugger.execute(&code).await {
                Ok(result) => {
                    let mut body = json!({
                        "status": result.status,
                        "executionCount": result.execution_count,
                        "stdout": result.stdout,
                        "stderr": result.stderr,
                    });
                    if let Some(error) = &result.error {
                        body["ename"] = error.ename.clone().into();
                        body["evalue"] = error.evalue.clone().into();
                    }
                    json!({"type": "response", "request_seq": seq, "command": command, "success": true, "body": body})
                }
                Err(e) => error_response(seq, &command, e.to_string()),
            };
            let _ = out.send(response).await;
        });
        return;
    }
    // ipykernel's `attach` handler raises on a request without `arguments` (which DAP
    // requires, and some clients omit when empty) and then never answers: send `{}`.
    let mended;
    let content = if command == "attach" && request.get("arguments").is_none() {
        let mut request = request;
        request["arguments"] = json!({});
        mended = serde_json::to_vec(&request).unwrap_or_else(|_| body.to_vec());
        &mended[..]
    } else {
        body
    };
    let sent = debugger
        .kernel
        .send(Channel::Control, "debug_request", content, false)
        .await;
    pending.spawn(async move {
        let response = match sent {
            Err(e) => error_response(seq, &command, e.to_string()),
            Ok(sent) => {
                match debugger
                    .kernel
                    .reply("debug_request", sent.reply, &sent.msg_id, request_timeout)
                    .await
                {
                    Ok(reply) => dap_response(seq, &command, reply.content),
                    Err(e) => error_response(seq, &command, format!("`{command}`: {e}")),
                }
            }
        };
        let _ = out.send(response).await;
    });
}

/// Writes queued messages, numbering them.
async fn write_loop<W: AsyncWrite + Send + Unpin>(writer: W, mut rx: mpsc::Receiver<Value>) {
    let mut sink = FramedWrite::new(writer, DapCodec::new());
    let mut seq: i64 = 0;
    while let Some(mut message) = rx.recv().await {
        seq += 1;
        if let Value::Object(map) = &mut message {
            if message_is_event(map) {
                if let Some(original) = map.insert("seq".into(), seq.into()) {
                    map.insert("kernelSeq".into(), original);
                }
            } else {
                map.insert("seq".into(), seq.into());
            }
        }
        let bytes = match serde_json::to_vec(&message) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!("cannot encode a message for the DAP client: {e}");
                continue;
            }
        };
        if let Err(e) = sink.send(bytes).await {
            tracing::debug!("writing to the DAP client failed: {e}");
            break;
        }
    }
    let _ = SinkExt::<Vec<u8>>::close(&mut sink).await;
}

fn message_is_event(map: &Map<String, Value>) -> bool {
    map.get("type").and_then(Value::as_str) == Some("event")
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn replies_become_proper_responses() {
        // ipykernel 7's `modules` reply: only a body.
        let r = dap_response(
            7,
            "modules",
            json!({"body": {"modules": [], "totalModules": 3}}),
        );
        assert_eq!(r["request_seq"], 7);
        assert_eq!(r["command"], "modules");
        assert_eq!(r["success"], true);
        assert_eq!(r["body"]["totalModules"], 3);
        assert_eq!(r["kernelReply"], json!({}));

        // richInspectVariables while stopped: answered as `evaluate` with a shifted seq.
        let r = dap_response(
            9,
            "richInspectVariables",
            json!({"type": "response", "seq": 40, "request_seq": 10, "command": "evaluate", "success": true, "body": {"data": {}}}),
        );
        assert_eq!(
            (r["request_seq"].clone(), r["command"].clone()),
            (json!(9), json!("richInspectVariables"))
        );
        assert_eq!(r["kernelReply"]["command"], "evaluate");
        assert_eq!(r["kernelReply"]["request_seq"], 10);

        // Before `initialize`: `{}`.
        let r = dap_response(2, "stackTrace", json!({}));
        assert_eq!(r["success"], false);
        assert!(
            r["message"]
                .as_str()
                .is_some_and(|m| m.contains("not started")),
            "{r}"
        );

        // A failure keeps its message.
        let r = dap_response(3, "evaluate", json!({"success": false, "message": "boom"}));
        assert_eq!(
            (r["success"].clone(), r["message"].clone()),
            (json!(false), json!("boom"))
        );

        let r = dap_response(4, "x", json!([1]));
        assert_eq!(r["success"], false);
    }
}
