//! TCP and Unix socket transports on loopback: connect with retry, give up, deadline,
//! cancellation, bytes both ways, clean close, bind warnings, socket file cleanup.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{TempDir, free_port};
use dapkit_transport::{
    ConnectErrorKind, Endpoint, Listener, RetryPolicy, TransportKind, Warning, connect,
    connect_cancellable,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMIT: Duration = Duration::from_secs(10);

fn tcp(port: u16) -> Endpoint {
    Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Starts the client first; the listener appears 1 s later; the client's first successful
/// connection is the one accepted, and no second (probe) connection is made.
async fn late_listener(endpoint: Endpoint) {
    let policy = RetryPolicy::default().with_interval(Duration::from_millis(100));
    let start = Instant::now();
    let target = endpoint.clone();
    let client = tokio::spawn(async move { connect(&target, &policy).await });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !client.is_finished(),
        "client connected before any listener existed"
    );
    let mut listener = Listener::bind(&endpoint).await.unwrap();
    let mut server = listener.accept_timeout(LIMIT).await.unwrap();
    let mut client = tokio::time::timeout(LIMIT, client)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert_eq!(client.endpoint(), &endpoint);

    client.write_all(b"hello").await.unwrap();
    let mut buf = [0u8; 5];
    tokio::time::timeout(LIMIT, server.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"hello");

    let extra = listener.accept_timeout(Duration::from_millis(400)).await;
    assert!(
        extra.as_ref().is_err_and(|e| e.is_timeout()),
        "a second connection arrived: the client probed"
    );
}

#[tokio::test]
async fn tcp_connect_retries_until_listener_appears() {
    late_listener(tcp(free_port())).await;
}

#[cfg(unix)]
#[tokio::test]
async fn unix_connect_retries_until_socket_appears() {
    let dir = TempDir::new("late");
    late_listener(Endpoint::Unix(dir.path().join("late.sock"))).await;
}

#[tokio::test]
async fn connect_gives_up_after_max_tries_with_clear_error() {
    let port = free_port();
    let policy = RetryPolicy::default()
        .with_interval(Duration::from_millis(30))
        .with_max_tries(5);
    let start = Instant::now();
    let err = connect(&tcp(port), &policy).await.unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::Exhausted);
    assert_eq!(err.tries(), 5);
    assert_eq!(err.endpoint(), &tcp(port));
    assert_eq!(
        err.last_error().map(|e| e.kind()),
        Some(std::io::ErrorKind::ConnectionRefused)
    );
    // 4 waits of 30 ms between 5 tries
    assert!(start.elapsed() >= Duration::from_millis(120));
    let text = err.to_string();
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("5 tries"), "{text}");
    assert!(text.to_lowercase().contains("refused"), "{text}");
}

#[tokio::test]
async fn connect_stops_at_deadline() {
    let policy = RetryPolicy::default()
        .with_interval(Duration::from_millis(50))
        .with_max_tries(10_000)
        .with_deadline(Duration::from_millis(400));
    let start = Instant::now();
    let err = connect(&tcp(free_port()), &policy).await.unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::DeadlineExceeded);
    // The deadline is the feature: generously bounded (10 000 tries would take 500 s).
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    // Waits of 50 ms never end early: at most 9 tries fit in 400 ms (fewer when loaded).
    assert!(
        err.tries() >= 1 && err.tries() <= 9,
        "tries {}",
        err.tries()
    );
    assert!(err.to_string().contains("deadline"), "{err}");
}

#[test]
fn backoff_grows_and_is_capped() {
    let policy = RetryPolicy::default()
        .with_interval(Duration::from_millis(100))
        .with_growth(2.0)
        .with_max_interval(Duration::from_millis(500));
    let delays: Vec<u128> = (1..=5).map(|n| policy.delay_after(n).as_millis()).collect();
    assert_eq!(delays, vec![100, 200, 400, 500, 500]);
    let constant = RetryPolicy::default();
    assert_eq!(constant.delay_after(1), Duration::from_millis(300));
    assert_eq!(constant.delay_after(99), Duration::from_millis(300));
    assert_eq!(constant.max_tries(), 100);
    let weird = RetryPolicy::default()
        .with_growth(f64::NAN)
        .with_max_tries(0);
    assert_eq!(weird.delay_after(7), Duration::from_millis(300));
    assert_eq!(weird.max_tries(), 1);
}

#[tokio::test]
async fn cancellation_stops_the_retry_loop_promptly() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let start = Instant::now();
    let task = tokio::spawn(async move {
        // default policy: would keep trying for ~30 s
        connect_cancellable(&tcp(free_port()), &RetryPolicy::default(), async {
            let _ = rx.await;
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(700)).await;
    tx.send(()).unwrap();
    let err = tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("connect did not stop after cancellation")
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::Cancelled);
    // The second try (after 300 ms) is due before the cancellation (after 700 ms).
    assert!(err.tries() >= 2, "tries {}", err.tries());
    // Stopped by the cancellation, not by the policy (which would take ~30 s); generous.
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    assert!(err.to_string().contains("cancelled"), "{err}");
}

#[tokio::test]
async fn connection_carries_bytes_both_ways_after_split() {
    for kind in [TransportKind::Tcp, TransportKind::Auto] {
        let mut listener = Listener::bind_kind(kind).await.unwrap();
        let endpoint = listener.local_endpoint().clone();
        let client = connect(&endpoint, &RetryPolicy::once()).await.unwrap();
        let server = listener.accept_timeout(LIMIT).await.unwrap();
        let (mut cr, mut cw) = client.into_split();
        let (mut sr, mut sw) = server.into_split();

        let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let sent = payload.clone();
        let writer = tokio::spawn(async move {
            cw.write_all(&sent).await.unwrap();
            cw.shutdown().await.unwrap();
        });
        let mut got = Vec::new();
        tokio::time::timeout(LIMIT, sr.read_to_end(&mut got))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got, payload, "{kind}");
        writer.await.unwrap();

        sw.write_all(b"reply").await.unwrap();
        sw.shutdown().await.unwrap();
        let mut back = Vec::new();
        tokio::time::timeout(LIMIT, cr.read_to_end(&mut back))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back, b"reply", "{kind}");
    }
}

/// After `close`, the peer reads EOF, and since the socket is fully closed (not merely
/// half-closed) the peer's writes fail soon.
async fn close_is_clean(kind: TransportKind) {
    let mut listener = Listener::bind_kind(kind).await.unwrap();
    let endpoint = listener.local_endpoint().clone();
    let mut client = connect(&endpoint, &RetryPolicy::once()).await.unwrap();
    let mut server = listener.accept_timeout(LIMIT).await.unwrap();
    client.write_all(b"last words").await.unwrap();
    client.close().await.unwrap();

    let mut got = Vec::new();
    tokio::time::timeout(LIMIT, server.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, b"last words");

    let start = Instant::now();
    let mut write_failed = false;
    while start.elapsed() < Duration::from_secs(3) {
        if server.write_all(b"anyone there?").await.is_err() {
            write_failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        write_failed,
        "{kind}: peer can still write: the closed side is only half-closed"
    );
}

#[tokio::test]
async fn tcp_close_leaves_no_half_open_socket() {
    close_is_clean(TransportKind::Tcp).await;
}

#[cfg(unix)]
#[tokio::test]
async fn unix_close_leaves_no_half_open_socket() {
    close_is_clean(TransportKind::Unix).await;
}

#[tokio::test]
async fn dropping_a_connection_also_sends_eof() {
    let mut listener = Listener::bind_kind(TransportKind::Tcp).await.unwrap();
    let client = connect(listener.local_endpoint(), &RetryPolicy::once())
        .await
        .unwrap();
    let mut server = listener.accept_timeout(LIMIT).await.unwrap();
    let (reader, writer) = client.into_split();
    drop(writer);
    let mut got = Vec::new();
    tokio::time::timeout(LIMIT, server.read_to_end(&mut got))
        .await
        .unwrap()
        .unwrap();
    assert!(got.is_empty());
    drop(reader);
}

#[tokio::test]
async fn non_loopback_bind_warns() {
    let wide = Endpoint::Tcp("0.0.0.0:0".parse().unwrap());
    let listener = Listener::bind(&wide).await.unwrap();
    let Some(Endpoint::Tcp(addr)) = Some(listener.local_endpoint().clone()) else {
        panic!("not tcp")
    };
    assert_ne!(addr.port(), 0, "port 0 must be resolved");
    assert_eq!(listener.warnings(), &[Warning::NonLoopbackBind { addr }]);
    let text = listener.warnings()[0].to_string();
    assert!(
        text.contains("WARNING") && text.contains("0.0.0.0"),
        "{text}"
    );

    let local = Listener::bind(&tcp(0)).await.unwrap();
    assert!(local.warnings().is_empty());
    assert_eq!(
        local.local_endpoint().tcp_addr().unwrap().ip().to_string(),
        "127.0.0.1"
    );
    assert_ne!(local.local_endpoint().tcp_addr().unwrap().port(), 0);

    let mapped: SocketAddr = "[::ffff:127.0.0.1]:1".parse().unwrap();
    assert!(Endpoint::Tcp(mapped).listen_warnings().is_empty());
    let lan: SocketAddr = "192.168.1.2:1".parse().unwrap();
    assert_eq!(
        Endpoint::Tcp(lan).listen_warnings(),
        vec![Warning::NonLoopbackBind { addr: lan }]
    );
}

#[cfg(unix)]
#[tokio::test]
async fn unix_socket_files_are_removed_on_drop() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};

    // resolved from a kind: private directory + socket, both removed
    for kind in [TransportKind::Auto, TransportKind::Unix] {
        let listener = Listener::bind_kind(kind).await.unwrap();
        let Endpoint::Unix(path) = listener.local_endpoint().clone() else {
            panic!("{kind} did not resolve to a Unix socket on this POSIX system")
        };
        assert!(std::fs::metadata(&path).unwrap().file_type().is_socket());
        let dir = path.parent().unwrap().to_path_buf();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "socket directory must be private");
        drop(listener);
        assert!(!path.exists(), "socket file left behind");
        assert!(!dir.exists(), "socket directory left behind");
    }

    // explicit path: the socket file is removed, the caller's directory stays
    let dir = TempDir::new("explicit");
    let path = dir.path().join("explicit.sock");
    let listener = Listener::bind(&Endpoint::Unix(path.clone())).await.unwrap();
    assert!(path.exists());
    drop(listener);
    assert!(!path.exists());
    assert!(dir.path().exists());
}

#[tokio::test]
async fn accept_times_out_and_bad_kinds_are_errors() {
    let mut listener = Listener::bind_kind(TransportKind::Tcp).await.unwrap();
    let start = Instant::now();
    let err = listener
        .accept_timeout(Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(err.is_timeout());
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert!(
        err.to_string().contains("accepting on tcp:127.0.0.1:"),
        "{err}"
    );

    let err = Listener::bind_kind(TransportKind::Stdio).await.unwrap_err();
    assert!(err.to_string().contains("stdio"), "{err}");
    #[cfg(not(windows))]
    {
        let err = Listener::bind_kind(TransportKind::Pipe).await.unwrap_err();
        assert!(err.to_string().contains("pipe"), "{err}");
    }

    // address in use: a clear error naming the address
    let taken = listener.local_endpoint().clone();
    let err = Listener::bind(&taken).await.unwrap_err();
    assert!(err.to_string().contains(&taken.to_string()), "{err}");
}

#[test]
fn transport_kind_names() {
    for kind in [
        TransportKind::Auto,
        TransportKind::Unix,
        TransportKind::Tcp,
        TransportKind::Pipe,
        TransportKind::Stdio,
    ] {
        assert_eq!(kind.as_str().parse::<TransportKind>().unwrap(), kind);
    }
    assert_eq!("TCP".parse::<TransportKind>().unwrap(), TransportKind::Tcp);
    let err = "carrier-pigeon".parse::<TransportKind>().unwrap_err();
    assert!(err.to_string().contains("carrier-pigeon"), "{err}");
    assert_eq!(tcp(5678).to_string(), "tcp:127.0.0.1:5678");
}
