//! `dapkit proxy` as a user runs it: the ready line, an adapter that starts late (retried,
//! never probed), an adapter killed mid-session, an adapter's stderr in the error, the
//! loopback rule, a clean stop on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../session/tests/common/mod.rs"]
mod common;

use common::peers::{GroupGuard, peer_path, spawn_group};
use dapkit_session::client::{Client, ClientOptions};
use dapkit_transport::{Endpoint, RetryPolicy};
use dapkit_types::messages::InitializeRequest;
use dapkit_types::types::InitializeRequestArguments;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, Command};

const WAIT: Duration = Duration::from_secs(30);

fn dapkit() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dapkit"));
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

/// Reads the one ready line; returns it parsed.
async fn ready(child: &mut Child) -> serde_json::Value {
    let stdout = child.stdout.take().expect("stdout piped");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(WAIT, lines.next_line())
        .await
        .expect("a ready line in time")
        .expect("stdout readable")
        .expect("a line before stdout ends");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("ready line {line:?} is not JSON: {e}"))
}

async fn finish(mut child: Child) -> (ExitStatus, String) {
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .expect("dapkit proxy exits in time")
        .expect("wait");
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut stderr).await.unwrap();
    }
    (status, stderr)
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapter_started_late_then_killed() {
    let python = peer_path(
        "DAPKIT_PEER_PYTHON",
        ".peers/venv/bin/python",
        "debugpy",
        "a Python with debugpy 1.8.22",
    );
    let port = free_port();
    let mut proxy = dapkit()
        .args([
            "proxy",
            "--connect",
            &format!("127.0.0.1:{port}"),
            "--listen",
            "127.0.0.1:0",
        ])
        .spawn()
        .expect("start dapkit proxy");
    // The adapter comes 3 s later: the proxy retries (300 ms apart) and never probes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut adapter = std::process::Command::new(&python);
    adapter
        .args(["-m", "debugpy.adapter", "--host", "127.0.0.1", "--port"])
        .arg(port.to_string());
    let guard = GroupGuard::new(Some(spawn_group(&mut adapter)));
    let ready = ready(&mut proxy).await;
    let listen = ready["ready"]["listen"]
        .as_str()
        .expect("ready.listen")
        .to_owned();
    assert!(listen.starts_with("127.0.0.1:"), "{ready}");
    assert_eq!(
        ready["ready"]["adapter"],
        format!("connect tcp:127.0.0.1:{port}")
    );

    let at = Endpoint::Tcp(listen.parse().unwrap());
    let conn = dapkit_transport::connect(&at, &RetryPolicy::default())
        .await
        .unwrap();
    let (client, mut events) = Client::connect(conn, ClientOptions::new());
    let caps = client
        .request::<InitializeRequest>(InitializeRequestArguments::new("debugpy"))
        .await
        .expect("initialize through the proxy: the adapter answered once it was up");
    assert_eq!(
        caps.body
            .unwrap_or_default()
            .supports_configuration_done_request,
        Some(true)
    );

    // The adapter dies mid-session: the client's connection ends, the proxy exits 3.
    drop(guard);
    let end = tokio::time::timeout(WAIT, async { while events.recv().await.is_some() {} }).await;
    assert!(end.is_ok(), "the client's connection was closed");
    assert!(client.is_closed());
    let (status, stderr) = finish(proxy).await;
    assert_eq!(status.code(), Some(3), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!("dapkit: error: the adapter ended the session: the adapter (connect tcp:127.0.0.1:{port}) closed the connection")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adapter_exit_reports_its_stderr_tail() {
    let mut proxy = dapkit()
        .args([
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--stdio",
            "--",
            "sh",
            "-c",
        ])
        .arg("echo 'cannot find the debug target' >&2; sleep 0.5; exit 4")
        .spawn()
        .unwrap();
    let ready = ready(&mut proxy).await;
    assert_eq!(
        ready["ready"]["adapter"],
        "stdio sh -c echo 'cannot find the debug target' >&2; sleep 0.5; exit 4"
    );
    let (status, stderr) = finish(proxy).await;
    assert_eq!(status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("exit status: 4"), "{stderr}");
    assert!(
        stderr.contains("the end of its stderr: cannot find the debug target"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_loopback_needs_allow_remote() {
    let refused = dapkit()
        .args(["proxy", "--listen", "0.0.0.0:0", "--connect", "127.0.0.1:9"])
        .spawn()
        .unwrap();
    let (status, stderr) = finish(refused).await;
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("0.0.0.0:0 is not a loopback address"),
        "{stderr}"
    );
    assert!(stderr.contains("--allow-remote"), "{stderr}");

    // Allowed, it warns and goes on (here to a connect that fails after one try).
    let allowed = dapkit()
        .args([
            "proxy",
            "--listen",
            "0.0.0.0:0",
            "--allow-remote",
            "--connect-retry",
            "10x1",
        ])
        .args(["--connect", &format!("127.0.0.1:{}", free_port())])
        .spawn()
        .unwrap();
    let (status, stderr) = finish(allowed).await;
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("not a loopback address"),
        "the warning: {stderr}"
    );
    assert!(stderr.contains("cannot connect to the adapter"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_cleanly() {
    // An "adapter" that reads and never answers.
    let mut proxy = dapkit()
        .args([
            "proxy",
            "--listen",
            "127.0.0.1:0",
            "--stdio",
            "--",
            "sh",
            "-c",
            "cat > /dev/null",
        ])
        .spawn()
        .unwrap();
    let ready = ready(&mut proxy).await;
    let listen = ready["ready"]["listen"].as_str().unwrap().to_owned();
    // A client is connected when the signal comes.
    let _client = tokio::net::TcpStream::connect(&listen).await.unwrap();
    let pid = proxy.id().expect("running");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let (status, stderr) = finish(proxy).await;
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listens_on_a_unix_socket() {
    let dir = common::TempDir::new("proxy-unix");
    let path = dir.0.join("proxy.sock");
    let mut proxy = dapkit()
        .args(["proxy", "--listen"])
        .arg(format!("unix:{}", path.display()))
        .args(["--stdio", "--", "sh", "-c", "cat > /dev/null"])
        .spawn()
        .unwrap();
    let ready = ready(&mut proxy).await;
    assert_eq!(ready["ready"]["listen"], format!("unix:{}", path.display()));
    let stream = tokio::net::UnixStream::connect(&path)
        .await
        .expect("a client connects");
    drop(stream);
    let pid = proxy.id().expect("running");
    std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    let (status, stderr) = finish(proxy).await;
    assert_eq!(status.code(), Some(0), "SIGINT ends it cleanly: {stderr}");
}

#[test]
fn bad_arguments_are_named() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dapkit"))
        .args([
            "proxy",
            "--connect",
            "127.0.0.1:1",
            "--connect-retry",
            "often",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--connect-retry often: expected MS×N"),
        "{stderr}"
    );

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dapkit"))
        .args(["proxy", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--connect") && stderr.contains("--stdio"),
        "{stderr}"
    );
}
