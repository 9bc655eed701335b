//! What the integration tests share: a scripted in-process adapter (a real peer that
//! speaks DAP bytes over a duplex pipe, reading with the wire format crate and writing
//! frames by hand), collected diagnostics, temporary directories; and in [`peers`] the
//! helpers of the tests against real peers (debugpy, gdb).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod peers;

use dapkit_session::client::{Client, ClientOptions, Diagnostic, Events};
use dapkit_types::{ProtocolMessage, Request};
use dapkit_wireformat::FrameStream;
use futures_util::StreamExt;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};

pub const STEP: Duration = Duration::from_secs(5);

pub struct Peer {
    frames: FrameStream<ReadHalf<DuplexStream>>,
    writer: WriteHalf<DuplexStream>,
    pub seq: i32,
}

impl Peer {
    /// The next message from the client (fails the test after 5 s).
    pub async fn recv(&mut self) -> ProtocolMessage {
        let frame = tokio::time::timeout(STEP, self.frames.next())
            .await
            .expect("a message from the client within 5 s")
            .expect("the client's stream is open")
            .expect("a well-formed frame");
        ProtocolMessage::from_slice(&frame).expect("a JSON object")
    }

    /// The next request from the client.
    pub async fn recv_request(&mut self) -> Request {
        match self.recv().await {
            ProtocolMessage::Request(r) => r,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    /// The next response from the client (to a reverse request).
    pub async fn recv_response(&mut self) -> dapkit_types::Response {
        match self.recv().await {
            ProtocolMessage::Response(r) => r,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    /// Whether the client's side ended (read returns nothing within `wait`).
    pub async fn client_closed(&mut self, wait: Duration) -> bool {
        matches!(
            tokio::time::timeout(wait, self.frames.next()).await,
            Ok(None)
        )
    }

    /// Sends a JSON value as one frame.
    pub async fn send_json(&mut self, value: &serde_json::Value) {
        let body = serde_json::to_vec(value).unwrap();
        self.send_body(&body).await;
    }

    /// Sends a typed message as one frame.
    pub async fn send<T: serde::Serialize>(&mut self, message: &T) {
        let body = serde_json::to_vec(message).unwrap();
        self.send_body(&body).await;
    }

    pub async fn send_body(&mut self, body: &[u8]) {
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend_from_slice(body);
        self.send_raw(&frame).await;
    }

    /// Writes bytes as they are (for broken frames).
    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).await.unwrap();
        self.writer.flush().await.unwrap();
    }

    pub fn next_seq(&mut self) -> i32 {
        self.seq += 1;
        self.seq
    }

    /// Answers request `request_seq` (`command`) with success and `body`.
    pub async fn respond(&mut self, request_seq: i64, command: &str, body: serde_json::Value) {
        let seq = self.next_seq();
        self.send_json(&serde_json::json!({
            "seq": seq, "type": "response", "request_seq": request_seq,
            "success": true, "command": command, "body": body,
        }))
        .await;
    }

    pub async fn event(&mut self, event: &str, body: serde_json::Value) {
        let seq = self.next_seq();
        self.send_json(
            &serde_json::json!({"seq": seq, "type": "event", "event": event, "body": body}),
        )
        .await;
    }
}

/// Collected diagnostics.
#[derive(Clone, Default)]
pub struct Diags(pub Arc<Mutex<Vec<String>>>);

impl Diags {
    pub fn options(&self) -> ClientOptions {
        let sink = self.0.clone();
        ClientOptions::new().on_diagnostic(move |d: Diagnostic| {
            sink.lock().unwrap().push(d.to_string());
        })
    }

    pub fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    /// Waits (up to 5 s) until a diagnostic contains `needle`.
    pub async fn wait_for(&self, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + STEP;
        loop {
            if let Some(d) = self.all().into_iter().find(|d| d.contains(needle)) {
                return d;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("no diagnostic containing {needle:?}; got {:?}", self.all());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// A client and a scripted adapter joined by an in-memory pipe.
pub fn pair(options: ClientOptions) -> (Client, Events, Peer) {
    pair_with_buffer(options, 1 << 20)
}

/// Like [`pair`], with a pipe that holds at most `buffer` bytes in each direction (a
/// peer that does not read then blocks the writer once that much is written).
pub fn pair_with_buffer(options: ClientOptions, buffer: usize) -> (Client, Events, Peer) {
    let (client_side, adapter_side) = tokio::io::duplex(buffer);
    let (r, w) = tokio::io::split(client_side);
    let (client, events) = Client::start(r, w, options);
    let (ar, aw) = tokio::io::split(adapter_side);
    let peer = Peer {
        frames: FrameStream::new(ar),
        writer: aw,
        seq: 0,
    };
    (client, events, peer)
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "dapkit-session-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Waits (up to 5 s) until `path` holds a line ending in a newline; returns the text.
pub async fn wait_for_file(path: &std::path::Path) -> String {
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        // A match, not nested ifs: crates on a newer MSRV lint nested ifs as let chains.
        match std::fs::read_to_string(path) {
            Ok(text) if text.ends_with('\n') => return text,
            _ => {}
        }
        if tokio::time::Instant::now() > deadline {
            panic!("{} was not written within 5 s", path.display());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
