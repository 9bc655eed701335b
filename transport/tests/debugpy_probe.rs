//! Regression test for the probing story, against the real debugpy (`--listen
//! --wait-for-client`): a client that waits for the port with a throw-away
//! connect-and-close gets no answer on its real connection; our `connect`, started before
//! debugpy even listens, keeps its first socket and completes a session, 20 times in a row.
//!
//! The interpreter comes from `DAPKIT_PEER_PYTHON` or `<workspace>/.peers/venv/bin/python`
//! (installed by `bash .ci/install-peers`); without it these tests fail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{TempDir, free_port};
use dapkit_transport::{BoxedReader, BoxedWriter, Endpoint, RetryPolicy, connect};
use dapkit_wireformat::MessageStream;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

/// The tests share the machine's two cores with each other: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

const PROGRAM: &str = "import sys\n\
                       total = 0\n\
                       for i in range(5):\n\
                       \x20   total += i\n\
                       print('total', total)\n\
                       sys.exit(0)\n";

fn peer_python() -> PathBuf {
    let python = match std::env::var_os("DAPKIT_PEER_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("..")
            .join(".peers/venv/bin/python"),
    };
    assert!(
        python.exists(),
        "debugpy peer missing: no Python at {} (set DAPKIT_PEER_PYTHON or run `bash .ci/install-peers`)",
        python.display()
    );
    let ok = Command::new(&python)
        .args(["-c", "import debugpy"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "debugpy is not importable by {} (run `bash .ci/install-peers`)",
        python.display()
    );
    python
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn tcp(port: u16) -> Endpoint {
    Endpoint::Tcp(SocketAddr::from(([127, 0, 0, 1], port)))
}

/// `python -m debugpy --listen 127.0.0.1:P --wait-for-client prog.py`, killed by pid on
/// drop together with the adapter process debugpy starts for it (found by its `--port P`).
struct Debuggee {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl Debuggee {
    fn start(python: &Path, port: u16) -> Debuggee {
        let dir = TempDir::new("debugpy");
        let prog = dir.path().join("prog.py");
        std::fs::write(&prog, PROGRAM).unwrap();
        let log = std::fs::File::create(dir.path().join("output.txt")).unwrap();
        let child = Command::new(python)
            .args(["-Xfrozen_modules=off", "-m", "debugpy", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--wait-for-client")
            .arg(&prog)
            .current_dir(dir.path())
            .env("PYDEVD_DISABLE_FILE_VALIDATION", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Debuggee { child, port, dir }
    }

    fn output(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("output.txt")).unwrap_or_default()
    }

    /// Waits (bounded) for the debuggee to exit by itself.
    fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Pids of debugpy adapter processes serving this debuggee's port.
    fn adapter_pids(&self) -> Vec<u32> {
        let needle = format!("--port\0{}\0", self.port);
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmd| {
                    let cmd = String::from_utf8_lossy(&cmd);
                    cmd.contains("debugpy") && cmd.contains("adapter") && cmd.contains(&needle)
                })
            })
            .filter(|pid| common::process_alive(*pid))
            .collect()
    }
}

impl Drop for Debuggee {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // The adapter normally exits when its debuggee goes; give it a moment, then kill it.
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(3) && !self.adapter_pids().is_empty() {
            std::thread::sleep(Duration::from_millis(50));
        }
        for pid in self.adapter_pids() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

/// A minimal DAP client over a transport connection, framing with dapkit-wireformat.
struct Client {
    reader: MessageStream<BoxedReader, Value>,
    writer: BoxedWriter,
    seq: i64,
    events: Vec<String>,
}

impl Client {
    fn new(reader: BoxedReader, writer: BoxedWriter) -> Client {
        Client {
            reader: MessageStream::new(reader),
            writer,
            seq: 0,
            events: Vec::new(),
        }
    }

    async fn send(&mut self, command: &str, arguments: Value) -> i64 {
        self.seq += 1;
        let body = serde_json::to_vec(&json!({
            "seq": self.seq, "type": "request", "command": command, "arguments": arguments,
        }))
        .unwrap();
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend_from_slice(&body);
        self.writer.write_all(&frame).await.unwrap();
        self.seq
    }

    /// The next message, or why there is none (timeout, EOF, error).
    async fn next(&mut self, limit: Duration) -> Result<Value, String> {
        match tokio::time::timeout(limit, self.reader.next()).await {
            Err(_) => Err(format!("no message within {limit:?}")),
            Ok(None) => Err("connection closed by debugpy".into()),
            Ok(Some(Err(e))) => Err(format!("read error: {e}")),
            Ok(Some(Ok(message))) => Ok(message),
        }
    }

    /// Reads until the response to `request_seq`, recording events seen on the way.
    async fn response(&mut self, request_seq: i64, limit: Duration) -> Result<Value, String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self.next(left).await?;
            match message["type"].as_str() {
                Some("response") if message["request_seq"] == request_seq => return Ok(message),
                Some("event") => self
                    .events
                    .push(message["event"].as_str().unwrap_or("?").to_owned()),
                _ => {}
            }
        }
    }

    /// Reads until event `name` (or times out).
    async fn event(&mut self, name: &str, limit: Duration) -> Result<Value, String> {
        if self.events.iter().any(|e| e == name) {
            return Ok(json!({"event": name}));
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let message = self.next(left).await?;
            if message["type"] == "event" {
                let event = message["event"].as_str().unwrap_or("?").to_owned();
                self.events.push(event.clone());
                if event == name {
                    return Ok(message);
                }
            }
        }
    }
}

fn initialize_args() -> Value {
    json!({
        "clientID": "dapkit-transport-test",
        "adapterID": "debugpy",
        "linesStartAt1": true,
        "columnsStartAt1": true,
        "pathFormat": "path",
    })
}

#[test]
fn probing_client_gets_no_answer_from_debugpy() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let python = peer_python();
    runtime().block_on(async {
        let port = free_port();
        let debuggee = Debuggee::start(&python, port);

        // The broken "wait for the port" check: connect and close until one connect works.
        let start = Instant::now();
        loop {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "debugpy never listened on {port}: {}",
                debuggee.output()
            );
            if let Ok(probe) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                drop(probe);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }

        // The real connection: the kernel accepts it, but debugpy never serves it.
        let conn = connect(&tcp(port), &RetryPolicy::default()).await.unwrap();
        let (reader, writer) = conn.into_split();
        let mut client = Client::new(reader, writer);
        let seq = client.send("initialize", initialize_args()).await;
        let outcome = client.response(seq, Duration::from_secs(5)).await;
        assert!(
            outcome.is_err(),
            "debugpy answered a client whose probe came first; the regression test no longer \
             reproduces the bug: {outcome:?}"
        );
        eprintln!("probing client: {}", outcome.unwrap_err());
        assert!(
            !debuggee.output().contains("total"),
            "the program ran although no client attached: {}",
            debuggee.output()
        );
        drop(debuggee);
    });
}

/// One full session: our connect starts before debugpy listens; initialize → attach →
/// initialized → configurationDone → the program runs to its end → terminated →
/// disconnect. Returns the time from spawning debugpy to the connection.
async fn one_session(python: &Path) -> Duration {
    let port = free_port();
    let policy = RetryPolicy::default()
        .with_interval(Duration::from_millis(50))
        .with_max_tries(1000)
        .with_deadline(Duration::from_secs(30));
    let client_task = tokio::spawn(async move { connect(&tcp(port), &policy).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        !client_task.is_finished(),
        "connected before debugpy was started"
    );
    let spawned = Instant::now();
    let mut debuggee = Debuggee::start(python, port);
    let conn = tokio::time::timeout(Duration::from_secs(40), client_task)
        .await
        .unwrap()
        .unwrap()
        .unwrap_or_else(|e| panic!("{e}; debugpy output: {}", debuggee.output()));
    let connected_after = spawned.elapsed();

    let (reader, writer) = conn.into_split();
    let mut client = Client::new(reader, writer);
    let limit = Duration::from_secs(15);
    let seq = client.send("initialize", initialize_args()).await;
    let response = client
        .response(seq, limit)
        .await
        .unwrap_or_else(|e| panic!("initialize: {e}; debugpy output: {}", debuggee.output()));
    assert_eq!(response["success"], true, "{response}");
    assert_eq!(
        response["body"]["supportsConfigurationDoneRequest"], true,
        "{response}"
    );

    let attach = client.send("attach", json!({"justMyCode": true})).await;
    client.event("initialized", limit).await.unwrap();
    let done = client.send("configurationDone", json!({})).await;
    let response = client.response(done, limit).await.unwrap();
    assert_eq!(response["success"], true, "{response}");
    let response = client.response(attach, limit).await.unwrap();
    assert_eq!(response["success"], true, "{response}");
    client.event("terminated", limit).await.unwrap();

    let disconnect = client.send("disconnect", json!({})).await;
    // debugpy may already have closed the connection after `terminated`: either a success
    // response or the end of the connection, nothing else (no timeout, no error response).
    match client.response(disconnect, Duration::from_secs(5)).await {
        Ok(response) => assert_eq!(response["success"], true, "{response}"),
        Err(e) => assert!(
            e == "connection closed by debugpy" || e.contains("reset by peer"),
            "disconnect got neither a response nor the end of the connection: {e}"
        ),
    }
    client.writer.shutdown().await.ok();
    drop(client);

    let status = debuggee.wait_exit(Duration::from_secs(10));
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "debuggee did not finish: {}",
        debuggee.output()
    );
    assert!(
        debuggee.output().contains("total 10"),
        "{}",
        debuggee.output()
    );
    connected_after
}

#[test]
fn client_started_before_debugpy_listens_completes_a_session() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let python = peer_python();
    let connected_after = runtime().block_on(one_session(&python));
    eprintln!("connected {connected_after:?} after spawning debugpy");
}

#[test]
fn twenty_listen_sessions_in_a_row() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let python = peer_python();
    let start = Instant::now();
    // Each session asserts its own outcome (connected, initialized, ran to its end, exit
    // code 0); the times are reported, not asserted (a loaded machine is slow, not wrong).
    runtime().block_on(async {
        for i in 0..20 {
            let t = Instant::now();
            let connected_after = one_session(&python).await;
            eprintln!(
                "session {:2}: {:?} total, connected {connected_after:?} after spawn",
                i + 1,
                t.elapsed()
            );
        }
    });
    eprintln!("20 sessions in {:?}", start.elapsed());
}
