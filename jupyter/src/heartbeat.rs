//! The heartbeat: a `ping` on a REQ socket every interval, echoed by the kernel.
//!
//! Only silence counts: the kernel is gone when no echo arrived for the whole timeout. A
//! connection that fails on the way (ZeroMQ closes one now and then; a REQ socket that lost
//! its reply cannot send again) is replaced by a new socket and the beat goes on, as
//! jupyter_client's own heartbeat does; a dead kernel refuses the new connections until the
//! timeout runs out. A ping whose echo takes longer than a quarter of the timeout gets a new
//! connection too, so one that hangs without failing cannot use up the whole timeout.

use std::future::Future;
use std::time::{Duration, Instant};
use zeromq::{ReqSocket, Socket, SocketOptions, SocketRecv, SocketSend, ZmqMessage};

/// Longest pause before connecting again after a failed beat (shorter when the interval is).
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// Beats until the kernel falls silent for `timeout`; returns why it counts as gone.
///
/// `socket` is the connection made at start (its errors were reported to the caller);
/// `options` makes each new one. `pong` is told of every echo.
pub(crate) async fn run(
    socket: ReqSocket,
    endpoint: String,
    options: impl Fn() -> SocketOptions,
    interval: Duration,
    timeout: Duration,
    pong: impl Fn(Instant),
) -> String {
    let mut socket = Some(socket);
    let mut last_echo = Instant::now();
    let attempt = attempt_limit(interval, timeout);
    loop {
        let started = Instant::now();
        let limit = attempt.min(timeout.saturating_sub(last_echo.elapsed()));
        let beat = beat(&mut socket, &endpoint, &options);
        match within(limit, beat).await {
            Some(Ok(())) => {
                last_echo = Instant::now();
                pong(last_echo);
                tokio::time::sleep(interval.saturating_sub(started.elapsed())).await;
            }
            failed => {
                let error = match failed {
                    Some(Err(e)) => e,
                    _ => format!("no echo within {limit:?}"),
                };
                if last_echo.elapsed() >= timeout {
                    return format!(
                        "its heartbeat was silent for {timeout:?} (the kernel process died or \
                         hangs); the heartbeat channel's last error: {error}"
                    );
                }
                tracing::debug!("heartbeat: {error}; connecting again");
                socket = None;
                tokio::time::sleep(RETRY_PAUSE.min(interval)).await;
            }
        }
    }
}

/// How long one ping waits for its echo before its connection is replaced: a quarter of the
/// timeout, at least one interval. A connection can hang without failing (one that reached a
/// listener on its way out, a handshake nobody answers); it is tried again several times
/// before the silence counts.
fn attempt_limit(interval: Duration, timeout: Duration) -> Duration {
    (timeout / 4).max(interval)
}

/// One ping and its echo, connecting first when there is no socket.
async fn beat(
    socket: &mut Option<ReqSocket>,
    endpoint: &str,
    options: &impl Fn() -> SocketOptions,
) -> Result<(), String> {
    if socket.is_none() {
        let mut fresh = ReqSocket::with_options(options());
        fresh
            .connect(endpoint)
            .await
            .map_err(|e| format!("connecting to {endpoint}: {e}"))?;
        *socket = Some(fresh);
    }
    let Some(socket) = socket.as_mut() else {
        return Err("no connection".into());
    };
    socket
        .send(ZmqMessage::from("ping"))
        .await
        .map_err(|e| e.to_string())?;
    socket.recv().await.map(drop).map_err(|e| e.to_string())
}

/// `future`'s output, or `None` when `limit` runs out first.
async fn within<T>(limit: Duration, future: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(limit, future).await.ok()
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use zeromq::RouterSocket;

    /// An echo like ipykernel's: a ROUTER that sends each message back (see `answer`).
    /// The port of a dropped echo frees up a moment later: binding is tried for up to 5 s.
    async fn echo(endpoint: &str) -> RouterSocket {
        let mut router = RouterSocket::new();
        for _ in 0..100 {
            match router.bind(endpoint).await {
                Ok(_) => return router,
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        panic!("the echo could not bind {endpoint} within 5 s");
    }

    /// Echoes `pings` messages.
    async fn answer(router: &mut RouterSocket, pings: usize) {
        for _ in 0..pings {
            let message = tokio::time::timeout(Duration::from_secs(10), router.recv())
                .await
                .expect("a ping within 10 s")
                .expect("a ping");
            router.send(message).await.expect("echo");
        }
    }

    /// Silence (the echo gone, nobody answers) ends the beat after its 1.5 s timeout.
    async fn silence_ends(echo: RouterSocket, beating: tokio::task::JoinHandle<String>) {
        drop(echo);
        let reason = tokio::time::timeout(Duration::from_secs(10), beating)
            .await
            .expect("the beat ends after the timeout")
            .expect("the task");
        assert!(reason.contains("silent for 1.5s"), "{reason}");
    }

    fn options() -> SocketOptions {
        let mut options = SocketOptions::default();
        options.connect_timeout(Duration::from_secs(2));
        options
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_closed_connection_is_replaced_and_only_silence_ends_the_beat() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let endpoint = format!("tcp://127.0.0.1:{port}");
        let mut router = echo(&endpoint).await;
        let mut socket = ReqSocket::with_options(options());
        socket.connect(&endpoint).await.expect("connect");
        let pongs = Arc::new(Mutex::new(Vec::new()));
        let seen = pongs.clone();
        let beating = tokio::spawn(run(
            socket,
            endpoint.clone(),
            options,
            Duration::from_millis(20),
            Duration::from_millis(1500),
            move |at| seen.lock().expect("pongs").push(at),
        ));
        answer(&mut router, 3).await;
        // The kernel's side closes every connection; a new echo takes the same port.
        drop(router);
        let mut router = echo(&endpoint).await;
        answer(&mut router, 3).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!beating.is_finished(), "a closed connection ended the beat");
        assert!(
            pongs.lock().expect("pongs").len() >= 5,
            "echoes after the new connection were not counted: {:?}",
            pongs.lock().expect("pongs").len()
        );
        silence_ends(router, beating).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_connection_that_hangs_is_replaced_before_the_timeout() {
        // The first connection reaches something that accepts it and never speaks, then stops
        // listening (an echo on its way out): that connection hangs in its handshake without
        // failing, while the port is served again.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a listener");
        let endpoint = format!("tcp://{}", silent.local_addr().expect("its address"));
        let first = tokio::spawn(async move { silent.accept().await.map(|(c, _)| c) });
        let pongs = Arc::new(Mutex::new(0usize));
        let seen = pongs.clone();
        let beating = tokio::spawn(run(
            ReqSocket::with_options(options()),
            endpoint.clone(),
            options,
            Duration::from_millis(20),
            Duration::from_millis(1500),
            move |_| *seen.lock().expect("pongs") += 1,
        ));
        let _held = first
            .await
            .expect("the listener's task")
            .expect("the first connection");
        let mut router = echo(&endpoint).await;
        answer(&mut router, 3).await;
        assert!(
            !beating.is_finished(),
            "a hanging connection ended the beat"
        );
        assert!(
            *pongs.lock().expect("pongs") >= 2,
            "echoes were not counted"
        );
        silence_ends(router, beating).await;
    }
}
