//! Adapters as child processes: bytes through stdin/stdout, stderr captured and bounded,
//! environment and cwd applied, the process killed when the connection is dropped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{TempDir, python3, wait_gone};
use dapkit_transport::{
    ConnectErrorKind, Endpoint, RetryPolicy, StdioCommand, connect, spawn_stdio,
    spawn_stdio_blocking,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMIT: Duration = Duration::from_secs(10);

async fn wait_stderr_closed(tail: &dapkit_transport::StderrTail) {
    for _ in 0..500 {
        if tail.is_closed() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("stderr never closed");
}

#[tokio::test]
async fn cat_echoes_bytes_through_stdio() {
    let mut conn = spawn_stdio(&StdioCommand::new("cat")).unwrap();
    assert!(conn.child().and_then(|c| c.pid()).is_some());
    assert_eq!(conn.endpoint().to_string(), "stdio:cat");
    conn.write_all(b"Content-Length: 2\r\n\r\n{}")
        .await
        .unwrap();
    let mut buf = [0u8; 23];
    tokio::time::timeout(LIMIT, conn.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"Content-Length: 2\r\n\r\n{}");

    // closing stdin lets cat exit by itself when the process was taken out first
    let mut child = conn.take_child().unwrap();
    conn.close().await.unwrap();
    let status = child.wait_or_kill(LIMIT).await.unwrap();
    assert!(status.success(), "{status:?}");
}

/// The blocking variant: plain files a thread reads and writes, stderr still captured by
/// the runtime, closing stdin ends the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_stdio_echoes_through_plain_files_and_captures_stderr() {
    let script = "import sys\n\
                  sys.stderr.write('adapter log: up\\n'); sys.stderr.flush()\n\
                  data = sys.stdin.buffer.read()\n\
                  sys.stdout.buffer.write(data[::-1]); sys.stdout.flush()\n";
    let command = StdioCommand::new(python3()).arg("-c").arg(script);
    let adapter = spawn_stdio_blocking(&command).unwrap();
    let mut child = adapter.child;
    let (mut stdin, mut stdout) = (adapter.stdin, adapter.stdout);
    let got = tokio::task::spawn_blocking(move || {
        use std::io::{Read as _, Write as _};
        stdin.write_all(b"Content-Length: 2\r\n\r\n{}").unwrap();
        drop(stdin); // EOF: the script answers and exits
        let mut got = Vec::new();
        stdout.read_to_end(&mut got).unwrap();
        got
    });
    let got = tokio::time::timeout(LIMIT, got).await.unwrap().unwrap();
    assert_eq!(got, b"}{\n\r\n\r2 :htgneL-tnetnoC");
    let status = child.wait_or_kill(LIMIT).await.unwrap();
    assert!(status.success(), "{status:?}");
    wait_stderr_closed(&child.stderr()).await;
    assert_eq!(child.stderr_tail(), "adapter log: up\n");
}

/// Passed through with nothing kept, the child's stderr is this process's own (no pipe, no
/// copy): the child sees the same open file on its fd 2.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn stderr_passed_through_with_nothing_kept_is_our_own_stderr() {
    let script = "import os, sys\n\
                  sys.stdout.write(os.readlink('/proc/self/fd/2')); sys.stdout.flush()\n";
    let ours = std::fs::read_link("/proc/self/fd/2").unwrap();
    let read_childs = |command: StdioCommand| async move {
        let mut conn = spawn_stdio(&command).unwrap();
        let mut child = conn.take_child().unwrap();
        let mut out = Vec::new();
        tokio::time::timeout(LIMIT, conn.read_to_end(&mut out))
            .await
            .unwrap()
            .unwrap();
        child.wait_or_kill(LIMIT).await.unwrap();
        String::from_utf8(out).unwrap()
    };
    let command = || StdioCommand::new(python3()).arg("-c").arg(script);
    let theirs = read_childs(command().stderr_limit(0).stderr_passthrough(true)).await;
    assert_eq!(theirs, ours.to_string_lossy());
    // Kept or not passed through, it is a pipe (or /dev/null) of the child's own.
    let piped = read_childs(command().stderr_passthrough(true)).await;
    assert!(piped.starts_with("pipe:"), "{piped}");
    let dropped = read_childs(command().stderr_limit(0)).await;
    assert_eq!(dropped, "/dev/null");
}

#[tokio::test]
async fn stderr_is_captured_while_stdout_carries_data() {
    let script = "import sys\n\
                  sys.stderr.write('adapter log: starting\\n'); sys.stderr.flush()\n\
                  data = sys.stdin.buffer.read()\n\
                  sys.stdout.buffer.write(data.upper()); sys.stdout.flush()\n\
                  sys.stderr.write('adapter log: done\\n')\n";
    let mut conn = spawn_stdio(&StdioCommand::new(python3()).arg("-c").arg(script)).unwrap();
    let mut child = conn.take_child().unwrap();
    let (mut reader, mut writer) = conn.into_split();
    writer.write_all(b"hello adapter").await.unwrap();
    writer.shutdown().await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(LIMIT, reader.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out, b"HELLO ADAPTER");
    let status = tokio::time::timeout(LIMIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    let tail = child.stderr();
    wait_stderr_closed(&tail).await;
    assert_eq!(
        child.stderr_tail(),
        "adapter log: starting\nadapter log: done\n"
    );
    assert_eq!(tail.total_bytes(), 40);
}

#[tokio::test]
async fn stderr_tail_keeps_only_the_newest_bytes() {
    let script = "import sys\nsys.stderr.write('x' * 100000 + 'END')\n";
    let mut conn = spawn_stdio(
        &StdioCommand::new(python3())
            .args(["-c", script])
            .stderr_limit(1000),
    )
    .unwrap();
    let mut child = conn.take_child().unwrap();
    tokio::time::timeout(LIMIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    let tail = child.stderr();
    wait_stderr_closed(&tail).await;
    let kept = child.stderr_tail();
    assert_eq!(kept.len(), 1000);
    assert!(kept.ends_with("xxEND"), "{}", &kept[990..]);
    assert_eq!(tail.total_bytes(), 100_003);
}

#[tokio::test]
async fn env_and_cwd_are_applied() {
    let dir = TempDir::new("cwd");
    let script = "import os\n\
                  print(os.getcwd())\n\
                  print(os.environ.get('DAPKIT_A'))\n\
                  print(os.environ.get('DAPKIT_B'))\n";
    let command = StdioCommand::new(python3())
        .args(["-c", script])
        .env("DAPKIT_A", "alpha")
        .env("DAPKIT_B", "beta")
        .env_remove("DAPKIT_B")
        .cwd(dir.path());
    let mut conn = spawn_stdio(&command).unwrap();
    let mut out = String::new();
    tokio::time::timeout(LIMIT, conn.read_to_string(&mut out))
        .await
        .unwrap()
        .unwrap();
    let lines: Vec<&str> = out.lines().collect();
    let expected_cwd = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(
        std::fs::canonicalize(lines[0]).unwrap(),
        expected_cwd,
        "{out}"
    );
    assert_eq!(&lines[1..], &["alpha", "None"], "{out}");
}

#[tokio::test]
async fn child_is_killed_when_the_connection_is_dropped() {
    let conn = spawn_stdio(&StdioCommand::new("sleep").arg("30")).unwrap();
    let pid = conn.child().unwrap().pid().unwrap();
    assert!(common::process_alive(pid));
    drop(conn);
    assert!(
        wait_gone(pid, Duration::from_secs(5)),
        "adapter process {pid} survived the dropped connection"
    );
}

#[tokio::test]
async fn child_is_killed_when_the_write_half_is_dropped() {
    let conn = spawn_stdio(&StdioCommand::new("sleep").arg("30")).unwrap();
    let pid = conn.child().unwrap().pid().unwrap();
    let (reader, writer) = conn.into_split();
    drop(reader);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(common::process_alive(pid), "reader drop must not kill");
    drop(writer);
    assert!(
        wait_gone(pid, Duration::from_secs(5)),
        "process {pid} survived"
    );
}

#[tokio::test]
async fn kill_and_wait_or_kill_end_a_stubborn_child() {
    let mut conn = spawn_stdio(&StdioCommand::new("sleep").arg("30")).unwrap();
    let mut child = conn.take_child().unwrap();
    let pid = child.pid().unwrap();
    let start = std::time::Instant::now();
    let status = child
        .wait_or_kill(Duration::from_millis(200))
        .await
        .unwrap();
    assert!(!status.success());
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(!common::process_alive(pid));
    assert!(child.try_wait().unwrap().is_some());

    let mut conn = spawn_stdio(&StdioCommand::new("sleep").arg("30")).unwrap();
    let child = conn.child_mut().unwrap();
    let pid = child.pid().unwrap();
    child.kill().await.unwrap();
    assert!(!common::process_alive(pid));
}

#[tokio::test]
async fn missing_program_is_a_clear_error() {
    let command = StdioCommand::new("dapkit-no-such-adapter").arg("--port");
    let err = spawn_stdio(&command).unwrap_err();
    assert_eq!(err.io_error().kind(), std::io::ErrorKind::NotFound);
    assert!(
        err.to_string().contains("dapkit-no-such-adapter --port"),
        "{err}"
    );

    let err = connect(&Endpoint::Stdio(command), &RetryPolicy::default())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ConnectErrorKind::Spawn);
    assert_eq!(err.tries(), 1);
    assert!(err.to_string().contains("dapkit-no-such-adapter"), "{err}");
}

#[test]
fn spawn_outside_a_runtime_is_an_error_not_a_panic() {
    let err = spawn_stdio(&StdioCommand::new("cat")).unwrap_err();
    assert!(err.to_string().contains("tokio runtime"), "{err}");
}

#[tokio::test]
async fn connect_spawns_stdio_endpoints() {
    let mut conn = connect(
        &Endpoint::Stdio(StdioCommand::new("cat")),
        &RetryPolicy::default(),
    )
    .await
    .unwrap();
    conn.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    tokio::time::timeout(LIMIT, conn.read_exact(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&buf, b"ping");
    let pid = conn.child().unwrap().pid().unwrap();
    conn.close().await.unwrap();
    assert!(wait_gone(pid, Duration::from_secs(5)));
}
