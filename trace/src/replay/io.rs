//! Running the replays over byte streams (feature `tokio`).

use super::adapter::{AdapterReplay, Outgoing};
use super::against::{AgainstReplay, Divergence, Reaction, Step};
use crate::{Direction, TraceWriter};
use dapkit_wireformat::{FrameStream, FrameWriter};
use futures_util::StreamExt;
use serde_json::Value;
use std::future::Future;
use std::io::{self, Write};
use std::pin::Pin;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// Runs a `runInTerminal` request the user allowed: takes its `arguments`, returns the
/// response body (`{"processId": …}`) or an error message.
pub type RunInTerminal =
    Box<dyn Fn(Value) -> Pin<Box<dyn Future<Output = Result<Value, String>> + Send>> + Send + Sync>;

async fn send<W: AsyncWrite + Unpin>(writer: &mut W, body: &[u8]) -> io::Result<()> {
    let mut frame = FrameWriter::new(Vec::with_capacity(body.len() + 32));
    frame.write_frame(body).map_err(io::Error::other)?;
    writer.write_all(frame.get_ref()).await?;
    writer.flush().await
}

/// How long the client may stay quiet while a response is held back (waiting for a client
/// message the recording had seen first) before it is sent anyway.
pub const HOLD_GRACE: Duration = Duration::from_secs(1);

/// Serves one client as a fake adapter: sends what [`AdapterReplay`] answers until the
/// client closes the connection or the recorded session is over
/// ([`AdapterReplay::is_finished`]), then closes the writer. A response held back for
/// longer than [`HOLD_GRACE`] of client silence is released. Frames the client sends that
/// are not DAP messages are logged and skipped; a fatal framing error ends the session
/// with an error.
pub async fn serve_adapter<R, W>(
    replay: &mut AdapterReplay,
    reader: R,
    mut writer: W,
) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut frames = FrameStream::new(reader);
    let start = replay.start();
    write_all(&mut writer, &start).await?;
    while !replay.is_finished() {
        let next = if replay.is_holding() {
            match tokio::time::timeout(HOLD_GRACE, frames.next()).await {
                Ok(next) => next,
                Err(_) => {
                    let out = replay.release_held();
                    for note in replay.take_notes() {
                        tracing::info!("{note}");
                    }
                    write_all(&mut writer, &out).await?;
                    continue;
                }
            }
        } else {
            frames.next().await
        };
        let Some(frame) = next else {
            tracing::info!("the client closed the connection; {}", replay.pending());
            break;
        };
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) if e.is_recoverable() => {
                tracing::warn!("skipped a bad frame from the client: {e}");
                continue;
            }
            Err(e) => return Err(io::Error::other(format!("reading from the client: {e}"))),
        };
        let out = replay.on_message(&frame);
        for note in replay.take_notes() {
            tracing::info!("{note}");
        }
        for u in &out {
            if u.record.is_none() {
                tracing::warn!("{}", String::from_utf8_lossy(&u.body));
            }
        }
        write_all(&mut writer, &out).await?;
    }
    if replay.is_finished() {
        tracing::info!("the recorded session is over; closing the connection");
    }
    writer.shutdown().await
}

async fn write_all<W: AsyncWrite + Unpin>(writer: &mut W, out: &[Outgoing]) -> io::Result<()> {
    for o in out {
        send(writer, &o.body).await?;
    }
    Ok(())
}

/// How a replay against a live adapter ended.
#[derive(Debug)]
#[non_exhaustive]
pub struct AgainstReport {
    /// Requests sent.
    pub requests: usize,
    /// Messages received from the adapter.
    pub received: usize,
    /// Where the live session went another way, if it did (the replay stopped there).
    pub divergence: Option<Divergence>,
}

/// Replays the recorded requests against a live adapter over `reader`/`writer`, recording
/// the new session to `trace` (when given): see [`AgainstReplay`]. A wait longer than
/// `timeout` (counted from when that wait began), or the adapter closing the connection
/// while a request waits, ends the replay with a [`Divergence`] naming what was awaited
/// (the adapter closing it after the last request only logs what did not come). I/O errors (on the connection or the trace) are errors. Closes the writer at
/// the end.
pub async fn drive_adapter<R, W, T>(
    replay: &mut AgainstReplay,
    reader: R,
    mut writer: W,
    mut trace: Option<&mut TraceWriter<T>>,
    timeout: Duration,
    run_in_terminal: Option<&RunInTerminal>,
) -> io::Result<AgainstReport>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
    T: Write,
{
    let mut frames = FrameStream::new(reader);
    let mut report = AgainstReport {
        requests: 0,
        received: 0,
        divergence: None,
    };
    let mut wait: Option<(Option<String>, Instant)> = None;
    loop {
        let waiting = loop {
            match replay.next_step() {
                Step::Send(out) => {
                    report.requests += 1;
                    if let Some(t) = trace.as_deref_mut() {
                        t.message(Direction::ClientToAdapter, 0, &out.body)?;
                    }
                    send(&mut writer, &out.body).await?;
                }
                Step::Wait(w) => break Some(w),
                Step::Done => break None,
            }
        };
        for note in replay.take_notes() {
            tracing::info!("{note}");
        }
        let Some(waiting) = waiting else { break };
        let deadline = match &wait {
            Some((before, since)) if *before == waiting.before => *since + timeout,
            _ => {
                tracing::debug!("waiting {waiting}");
                let now = Instant::now();
                wait = Some((waiting.before.clone(), now));
                now + timeout
            }
        };
        let frame = match tokio::time::timeout_at(deadline, frames.next()).await {
            Err(_) => {
                let why = format!("timed out after {} s", timeout.as_secs_f64());
                report.divergence = Some(replay.wait_failed(&waiting, &why));
                break;
            }
            Ok(None) if replay.at_end() => {
                tracing::warn!(
                    "the adapter closed the connection after the last request without sending {}",
                    waiting.missing.join(", ")
                );
                break;
            }
            Ok(None) => {
                report.divergence =
                    Some(replay.wait_failed(&waiting, "the adapter closed the connection"));
                break;
            }
            Ok(Some(Err(e))) => {
                if let Some(t) = trace.as_deref_mut() {
                    t.invalid(Direction::AdapterToClient, 0, e.prefix(), &e.to_string())?;
                }
                if e.is_recoverable() {
                    tracing::warn!("skipped a bad frame from the adapter: {e}");
                    continue;
                }
                return Err(io::Error::other(format!("reading from the adapter: {e}")));
            }
            Ok(Some(Ok(frame))) => frame,
        };
        report.received += 1;
        if let Some(t) = trace.as_deref_mut() {
            t.message(Direction::AdapterToClient, 0, &frame)?;
        }
        let reply = match replay.on_message(&frame) {
            Ok(Reaction::Nothing) => None,
            Ok(Reaction::Reply(out)) => Some(out),
            Ok(Reaction::RunInTerminal { seq, arguments }) => {
                let result = match run_in_terminal {
                    Some(run) => run(arguments).await,
                    None => Err("runInTerminal is not supported here".to_owned()),
                };
                Some(replay.run_in_terminal_reply(seq, result))
            }
            Err(divergence) => {
                report.divergence = Some(divergence);
                break;
            }
        };
        if let Some(out) = reply {
            if let Some(t) = trace.as_deref_mut() {
                t.message(Direction::ClientToAdapter, 0, &out.body)?;
            }
            send(&mut writer, &out.body).await?;
        }
    }
    let _ = writer.shutdown().await;
    Ok(report)
}
