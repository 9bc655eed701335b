//! What the proxy's in-process tests and benches share: a proxy in front of an adapter
//! written with dapkit-session's adapter side (over an in-memory pipe), and a raw client
//! that sees every byte the proxy sends it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dapkit_proxy::{Adapter, Ended, Proxy, ProxyError, ProxyHandle, ProxyOptions};
use dapkit_session::adapter::{AdapterSession, Requests};
use dapkit_transport::Endpoint;
use dapkit_wireformat::FrameStream;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::future::Future;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

pub const STEP: Duration = Duration::from_secs(20);

/// A running proxy in front of an in-process adapter.
pub struct Running {
    pub at: Endpoint,
    pub handle: ProxyHandle,
    pub run: tokio::task::JoinHandle<Result<Ended, ProxyError>>,
}

/// Starts `adapter` (given the adapter side of a session) and a proxy in front of it,
/// listening on loopback.
pub async fn start_proxy<F, Fut>(options: ProxyOptions, adapter: F) -> Running
where
    F: FnOnce(AdapterSession, Requests) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (near, far) = tokio::io::duplex(1 << 20);
    let (ar, aw) = tokio::io::split(far);
    let (session, requests) = AdapterSession::new(ar, aw);
    tokio::spawn(adapter(session, requests));
    let (pr, pw) = tokio::io::split(near);
    let listen = Endpoint::Tcp(([127, 0, 0, 1], 0).into());
    let adapter = Adapter::io(pr, pw, "in-process");
    let proxy = Proxy::start(&listen, &adapter, options).await.unwrap();
    // The halves were taken: a second proxy on the same `Adapter` is refused, saying why.
    let again = Proxy::start(&listen, &adapter, ProxyOptions::new()).await;
    let error = again.expect_err("the duplex is used once").to_string();
    assert!(error.contains("used already"), "{error}");
    let at = proxy.local_endpoint().clone();
    let handle = proxy.handle();
    let run = tokio::spawn(proxy.run());
    Running { at, handle, run }
}

/// A raw client: frames out by hand, every message in as JSON.
pub struct RawClient {
    pub frames: FrameStream<tokio::net::tcp::OwnedReadHalf>,
    pub writer: tokio::net::tcp::OwnedWriteHalf,
    pub seq: i64,
}

impl RawClient {
    pub async fn connect(at: &Endpoint) -> RawClient {
        let stream = TcpStream::connect(at.tcp_addr().unwrap()).await.unwrap();
        let (r, w) = stream.into_split();
        RawClient {
            frames: FrameStream::new(r),
            writer: w,
            seq: 0,
        }
    }

    pub async fn send(&mut self, message: Value) {
        let body = serde_json::to_vec(&message).unwrap();
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend_from_slice(&body);
        self.writer.write_all(&frame).await.unwrap();
    }

    /// Sends a request with the next `seq`; returns that `seq`.
    pub async fn request(&mut self, command: &str, arguments: Value) -> i64 {
        self.seq += 1;
        let seq = self.seq;
        self.send(
            json!({"seq": seq, "type": "request", "command": command, "arguments": arguments}),
        )
        .await;
        seq
    }

    /// The next message (fails the test after [`STEP`]).
    pub async fn recv(&mut self) -> Value {
        self.try_recv(STEP)
            .await
            .expect("a message within the step")
    }

    /// The next message within `wait`; `None` on timeout or at the end of the stream.
    pub async fn try_recv(&mut self, wait: Duration) -> Option<Value> {
        match tokio::time::timeout(wait, self.frames.next()).await {
            Ok(Some(Ok(frame))) => Some(serde_json::from_slice(&frame).unwrap()),
            Ok(Some(Err(e))) => panic!("a bad frame from the proxy: {e}"),
            Ok(None) | Err(_) => None,
        }
    }

    /// Messages until one satisfies `pred` (which is returned).
    pub async fn until(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let m = self.recv().await;
            if pred(&m) {
                return m;
            }
        }
    }

    /// `initialize`, read up to its response.
    pub async fn initialize(&mut self, arguments: Value) -> Value {
        let seq = self.request("initialize", arguments).await;
        self.until(|m| m["type"] == "response" && m["request_seq"] == seq)
            .await
    }
}
