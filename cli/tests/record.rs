//! `dapkit record` run as a user would: started by a client the way an editor starts an
//! adapter (stdio), or between a client and a listening adapter (TCP), with real debug
//! adapters (debugpy, gdb) installed by `bash .ci/install-peers`.
//!
//! Each test captures the bytes on both sides of the recorder — the client's through a
//! byte-recording stream wrapper, the adapter's through a tee around it (stdio: a small
//! Python program; TCP: a capturing relay in the test) — and asserts that each side
//! received exactly what the other sent and that the trace holds those bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[allow(dead_code)]
#[path = "../../session/tests/common/peers.rs"]
mod peers;

use dapkit_session::client::{Client, ClientOptions, Events};
use dapkit_trace::tap::StreamRebuilder;
use dapkit_trace::{Direction, Record, TraceReader};
use dapkit_transport::{Endpoint, RetryPolicy};
use dapkit_types::Event;
use dapkit_types::messages::*;
use dapkit_types::types::*;
use dapkit_wireformat::FrameReader;
use peers::{GroupGuard, find, gdb, python, resume, variables, wait_event};
use serde_json::json;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, ReadBuf};

const WAIT: Duration = Duration::from_secs(30);
const WHOLE: Duration = Duration::from_secs(120);

/// Every byte that went through a stream, kept for the test.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<u8>>>);

impl Seen {
    fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
}

/// A stream wrapper recording the bytes read from or written to it.
struct Capture<T> {
    inner: T,
    seen: Seen,
}

impl<T> Capture<T> {
    fn new(inner: T) -> (Capture<T>, Seen) {
        let seen = Seen::default();
        (
            Capture {
                inner,
                seen: seen.clone(),
            },
            seen,
        )
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Capture<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &result {
            self.seen
                .0
                .lock()
                .unwrap()
                .extend_from_slice(&buf.filled()[before..]);
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Capture<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &result {
            self.seen.0.lock().unwrap().extend_from_slice(&buf[..*n]);
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Runs an adapter with its stdin and stdout copied to `adapter-received.dap` and
/// `adapter-sent.dap` in the directory given first: the bytes as the adapter saw them.
const TEE: &str = r#"import os, subprocess, sys, threading
out_dir = sys.argv[1]
child = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)

def pump(src, dst, name, done):
    with open(os.path.join(out_dir, name), "wb", buffering=0) as log:
        while True:
            data = os.read(src, 65536)
            if not data:
                break
            log.write(data)
            view = memoryview(data)
            while view:
                view = view[os.write(dst, view):]
    done()

threading.Thread(target=pump, args=(0, child.stdin.fileno(), "adapter-received.dap", child.stdin.close), daemon=True).start()
pump(child.stdout.fileno(), 1, "adapter-sent.dap", lambda: os.close(1))
sys.exit(child.wait())
"#;

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `dapkit record ARGS`, started like an editor starts an adapter: stdin and stdout piped,
/// in its own process group (killed with whatever it started when the guard drops).
fn start_record(args: &[&std::ffi::OsStr]) -> (tokio::process::Child, GroupGuard, Seen) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_dapkit"))
        .arg("record")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .expect("start dapkit record");
    let guard = GroupGuard::new(None);
    guard.pids.lock().unwrap().push(child.id().expect("a pid"));
    // Its stderr (the adapter's, passed through, and dapkit's logs), for failures.
    let stderr = Seen::default();
    let mut pipe = child.stderr.take().unwrap();
    let sink = stderr.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = tokio::io::AsyncReadExt::read(&mut pipe, &mut buf).await {
            sink.0.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    (child, guard, stderr)
}

async fn wait_exit(child: &mut tokio::process::Child, stderr: &Seen) -> ExitStatus {
    tokio::time::timeout(WAIT, child.wait())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "dapkit record did not exit; stderr: {}",
                String::from_utf8_lossy(&stderr.bytes())
            )
        })
        .unwrap()
}

struct Trace {
    header: dapkit_trace::Header,
    records: Vec<Record>,
    c2a: Vec<u8>,
    a2c: Vec<u8>,
}

/// The trace's records and each direction's bytes rebuilt from them.
fn read_trace(path: &Path) -> Trace {
    let mut reader = TraceReader::open(path).unwrap();
    let header = reader.header().clone();
    let (mut records, mut c2a, mut a2c) = (Vec::new(), Vec::new(), Vec::new());
    let (mut rc, mut ra) = (StreamRebuilder::new(), StreamRebuilder::new());
    while let Some(record) = reader.next_record().unwrap() {
        match record.direction {
            Direction::ClientToAdapter => rc.push(&record, &mut c2a),
            Direction::AdapterToClient => ra.push(&record, &mut a2c),
        }
        records.push(record);
    }
    Trace {
        header,
        records,
        c2a,
        a2c,
    }
}

/// The frame bodies of a byte stream.
fn bodies(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut reader = FrameReader::new(stream);
    let mut out = Vec::new();
    while let Some(frame) = reader.read_frame().unwrap() {
        out.push(frame.to_vec());
    }
    out
}

fn same(what: &str, a: &[u8], b: &[u8]) {
    assert!(
        a == b,
        "{what}: {} vs {} bytes; first difference at {:?}",
        a.len(),
        b.len(),
        a.iter().zip(b).position(|(x, y)| x != y)
    );
}

fn initialize_args(adapter: &str) -> InitializeRequestArguments {
    let mut a = InitializeRequestArguments::new(adapter);
    a.client_id = Some("dapkit-record-test".into());
    a.lines_start_at1 = Some(true);
    a.columns_start_at1 = Some(true);
    a.path_format = Some("path".into());
    a
}

const PY_PROGRAM: &str = r#"import os


def compute(n):
    secret = os.environ.get("DAPKIT_SECRET", "")
    total = n * 6  # BREAK
    return total, secret


print(compute(7))
"#;

const SECRET: &str = "hunter2-not-for-traces";

/// The debugpy session proper, once `start` (launch or attach) was sent: breakpoint,
/// stop, threads, stackTrace, scopes, variables, continue, terminated, disconnect.
async fn python_session(
    client: &Client,
    events: &mut Events,
    start: dapkit_session::client::PendingRequest<impl Sized + Send + 'static>,
    program: &Path,
    expect_secret: bool,
) -> i64 {
    wait_event(events, "initialized", WAIT, |e| {
        matches!(e, Event::Initialized(_))
    })
    .await;
    let line = peers::line_of(PY_PROGRAM, "# BREAK");
    let bps = client
        .request::<SetBreakpointsRequest>(
            SetBreakpointsArguments::new(Source::new().with_path(program.to_str().unwrap()))
                .with_breakpoints(vec![SourceBreakpoint::new(line)]),
        )
        .await
        .unwrap();
    assert!(bps.body.breakpoints[0].verified);
    client
        .request::<ConfigurationDoneRequest>(None)
        .await
        .unwrap();
    start.response().await.expect("launch/attach response");
    let e = wait_event(events, "stopped", WAIT, |e| matches!(e, Event::Stopped(_))).await;
    let Event::Stopped(stopped) = e else {
        unreachable!()
    };
    let thread_id = stopped.body.thread_id.expect("a thread");
    let threads = client.request::<ThreadsRequest>(None).await.unwrap();
    assert!(threads.body.threads.iter().any(|t| t.id == thread_id));
    let frames = client
        .request::<StackTraceRequest>(StackTraceArguments::new(thread_id))
        .await
        .unwrap()
        .body
        .stack_frames;
    assert_eq!(frames[0].name, "compute");
    assert_eq!(frames[0].line, line);
    let scopes = client
        .request::<ScopesRequest>(ScopesArguments::new(frames[0].id))
        .await
        .unwrap()
        .body
        .scopes;
    let locals = scopes.iter().find(|s| s.name == "Locals").expect("Locals");
    let vars = variables(client, locals.variables_reference).await;
    assert_eq!(find(&vars, "n").value, "7");
    if expect_secret {
        // The debuggee got the real environment: the recorder forwarded it unchanged.
        assert_eq!(find(&vars, "secret").value, format!("'{SECRET}'"));
    }
    resume(client, thread_id).await;
    wait_event(events, "terminated", WAIT, |e| {
        matches!(e, Event::Terminated(_))
    })
    .await;
    // Only the request: each caller closes when the adapter is done.
    let response = client
        .request::<DisconnectRequest>(None)
        .await
        .expect("disconnect response");
    i64::from(response.seq)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_stdio_debugpy_session_is_forwarded_and_recorded_byte_exact_and_redacted() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let dir_path = std::fs::canonicalize(dir.path()).unwrap();
    let program = dir_path.join("prog.py");
    std::fs::write(&program, PY_PROGRAM).unwrap();
    let tee = dir_path.join("tee.py");
    std::fs::write(&tee, TEE).unwrap();
    let trace = dir_path.join("t.jsonl");

    let (mut record, _guard, stderr) = start_record(&[
        "--out".as_ref(),
        trace.as_os_str(),
        "--redact".as_ref(),
        "--".as_ref(),
        python.as_os_str(),
        tee.as_os_str(),
        dir_path.as_os_str(),
        python.as_os_str(),
        "-m".as_ref(),
        "debugpy.adapter".as_ref(),
    ]);
    let (to_record, client_sent) = Capture::new(record.stdin.take().unwrap());
    let (from_record, client_received) = Capture::new(record.stdout.take().unwrap());
    let client = tokio::time::timeout(WHOLE, async {
        let (client, mut events) = Client::start(from_record, to_record, ClientOptions::new());
        client
            .request::<InitializeRequest>(initialize_args("debugpy"))
            .await
            .expect("initialize through the recorder");
        let launch: LaunchRequestArguments = serde_json::from_value(json!({
            "name": "launch", "type": "python", "request": "launch",
            "program": program, "cwd": dir_path, "console": "internalConsole",
            "python": [python], "justMyCode": true,
            "env": {"DAPKIT_SECRET": SECRET},
        }))
        .unwrap();
        let start = client.send::<LaunchRequest>(launch).unwrap();
        let disconnected = python_session(&client, &mut events, start, &program, true).await;
        // Like an editor, close once the adapter is done: over stdio, debugpy's adapter
        // reports its sockets after the disconnect response and exits 1 when its stdin
        // closes before that (`Client::disconnect` would close at once).
        wait_event(&mut events, "debugpySockets after disconnect", WAIT, |e| {
            matches!(e, Event::Custom(m) if m.event_name() == Some("debugpySockets"))
                && e.seq().is_some_and(|seq| seq > disconnected)
        })
        .await;
        client.close().await;
        (client, events)
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the session did not finish; stderr: {}",
            String::from_utf8_lossy(&stderr.bytes())
        )
    });
    let status = wait_exit(&mut record, &stderr).await;
    drop(client);
    assert!(
        status.success(),
        "exit {status}: {}",
        String::from_utf8_lossy(&stderr.bytes())
    );

    let client_sent = client_sent.bytes();
    let client_received = client_received.bytes();
    let adapter_received = std::fs::read(dir_path.join("adapter-received.dap")).unwrap();
    let adapter_sent = std::fs::read(dir_path.join("adapter-sent.dap")).unwrap();
    same(
        "adapter received what the client sent",
        &adapter_received,
        &client_sent,
    );
    same(
        "client received what the adapter sent",
        &client_received,
        &adapter_sent,
    );
    assert!(
        client_sent
            .windows(SECRET.len())
            .any(|w| w == SECRET.as_bytes()),
        "the secret went to the adapter"
    );

    let t = read_trace(&trace);
    assert!(t.header.redacted);
    let argv = t.header.adapter["command"]
        .as_array()
        .expect("adapter.command");
    assert_eq!(
        argv.last().and_then(|v| v.as_str()),
        Some("debugpy.adapter")
    );
    assert!(
        t.records.iter().all(|r| r.error().is_none()),
        "no invalid records"
    );
    same("trace a2c", &t.a2c, &adapter_sent);
    // Client → adapter: every frame byte-exact, but the launch request's env redacted.
    let sent = bodies(&client_sent);
    let recorded: Vec<&Record> = t
        .records
        .iter()
        .filter(|r| r.direction == Direction::ClientToAdapter)
        .collect();
    assert_eq!(recorded.len(), sent.len());
    let mut redacted = 0;
    for (body, record) in sent.iter().zip(&recorded) {
        if body.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()) {
            redacted += 1;
            let kept = String::from_utf8(record.bytes().to_vec()).unwrap();
            assert!(
                kept.contains(r#""DAPKIT_SECRET": "<redacted>""#)
                    || kept.contains(r#""DAPKIT_SECRET":"<redacted>""#),
                "{kept}"
            );
            let original = String::from_utf8(body.clone()).unwrap();
            assert_eq!(
                kept.replace("<redacted>", SECRET),
                original,
                "only the value changed"
            );
        } else {
            assert_eq!(&*record.bytes(), &body[..]);
        }
    }
    assert_eq!(redacted, 1, "the launch request");
    for record in &recorded {
        let bytes = record.bytes();
        assert!(
            !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
            "the env value is not in the client's records"
        );
    }
}

/// Accepts connections on `port` (after `delay`), counting them; relays the first one to
/// the adapter on `adapter_port` (connecting with retry), capturing both directions.
struct Relay {
    connections: Arc<AtomicU32>,
    from_recorder: Seen,
    from_adapter: Seen,
    done: tokio::task::JoinHandle<()>,
}

fn relay(port: u16, adapter_port: u16, delay: Duration) -> Relay {
    let connections = Arc::new(AtomicU32::new(0));
    let (from_recorder, from_adapter) = (Seen::default(), Seen::default());
    let (count, seen_r, seen_a) = (
        connections.clone(),
        from_recorder.clone(),
        from_adapter.clone(),
    );
    let done = tokio::spawn(async move {
        tokio::time::sleep(delay).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let (recorder_side, _) = listener.accept().await.unwrap();
        count.fetch_add(1, Ordering::SeqCst);
        // Any later connection would be a probe: count it.
        let counting = count.clone();
        tokio::spawn(async move {
            while listener.accept().await.is_ok() {
                counting.fetch_add(1, Ordering::SeqCst);
            }
        });
        let policy = RetryPolicy::default();
        let adapter = dapkit_transport::connect(
            &Endpoint::Tcp(([127, 0, 0, 1], adapter_port).into()),
            &policy,
        )
        .await
        .expect("the relay reaches debugpy");
        let (rr, rw) = recorder_side.into_split();
        let (ar, aw) = adapter.into_split();
        let (mut rr, _) = Capture::new(rr);
        rr.seen = seen_r;
        let (mut ar, _) = Capture::new(ar);
        ar.seen = seen_a;
        let up = tokio::spawn(async move {
            let mut aw = aw;
            let _ = tokio::io::copy(&mut rr, &mut aw).await;
            let _ = tokio::io::AsyncWriteExt::shutdown(&mut aw).await;
        });
        let mut rw = rw;
        let _ = tokio::io::copy(&mut ar, &mut rw).await;
        let _ = tokio::io::AsyncWriteExt::shutdown(&mut rw).await;
        let _ = up.await;
    });
    Relay {
        connections,
        from_recorder,
        from_adapter,
        done,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_tcp_debugpy_listen_connects_with_retry_once_and_records_byte_exact() {
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let dir_path = std::fs::canonicalize(dir.path()).unwrap();
    let program = dir_path.join("prog.py");
    std::fs::write(&program, PY_PROGRAM).unwrap();
    let trace = dir_path.join("t.jsonl");
    let debugpy_port = free_port();
    let relay_port = free_port();
    let debugpy = peers::spawn_group(
        std::process::Command::new(&python)
            .args(["-m", "debugpy", "--listen"])
            .arg(format!("127.0.0.1:{debugpy_port}"))
            .arg("--wait-for-client")
            .arg(&program)
            .current_dir(&dir_path),
    );
    let _debugpy = GroupGuard::new(Some(debugpy));

    let connect = format!("127.0.0.1:{relay_port}");
    let (mut record, _guard, stderr) = start_record(&[
        "--out".as_ref(),
        trace.as_os_str(),
        "--connect".as_ref(),
        connect.as_ref(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
    ]);
    let mut stdout = tokio::io::BufReader::new(record.stdout.take().unwrap());
    let mut ready = String::new();
    tokio::time::timeout(WAIT, stdout.read_line(&mut ready))
        .await
        .expect("a ready line")
        .unwrap();
    let ready: serde_json::Value = serde_json::from_str(&ready).expect("the ready line is JSON");
    let listen = ready["ready"]["listen"]
        .as_str()
        .expect("ready.listen")
        .to_owned();
    assert!(
        listen.starts_with("127.0.0.1:") && !listen.ends_with(":0"),
        "{listen}"
    );
    assert_eq!(ready.as_object().unwrap().len(), 1);

    // The adapter side appears only a while after the client connects: the recorder
    // must retry (and never probe: the relay counts connections).
    let relay = relay(relay_port, debugpy_port, Duration::from_millis(1500));
    let (client_sent, client_received) = tokio::time::timeout(WHOLE, async {
        let conn = dapkit_transport::connect(
            &Endpoint::Tcp(listen.parse().unwrap()),
            &RetryPolicy::default(),
        )
        .await
        .expect("connect to the recorder");
        let (reader, writer) = conn.into_split();
        let (reader, client_received) = Capture::new(reader);
        let (writer, client_sent) = Capture::new(writer);
        let (client, mut events) = Client::start(reader, writer, ClientOptions::new());
        client
            .request::<InitializeRequest>(initialize_args("debugpy"))
            .await
            .expect("initialize through the recorder");
        let attach: AttachRequestArguments = serde_json::from_value(json!({
            "name": "attach", "type": "python", "request": "attach",
            "connect": {"host": "127.0.0.1", "port": debugpy_port}, "justMyCode": true
        }))
        .unwrap();
        let start = client.send::<AttachRequest>(attach).unwrap();
        python_session(&client, &mut events, start, &program, false).await;
        drop(client);
        (client_sent, client_received)
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the session did not finish; stderr: {}",
            String::from_utf8_lossy(&stderr.bytes())
        )
    });
    let status = wait_exit(&mut record, &stderr).await;
    assert!(
        status.success(),
        "exit {status}: {}",
        String::from_utf8_lossy(&stderr.bytes())
    );
    tokio::time::timeout(WAIT, relay.done)
        .await
        .expect("the relay ends with the session")
        .unwrap();
    assert_eq!(
        relay.connections.load(Ordering::SeqCst),
        1,
        "one connection, no probe"
    );

    let (client_sent, client_received) = (client_sent.bytes(), client_received.bytes());
    let adapter_received = relay.from_recorder.bytes();
    let adapter_sent = relay.from_adapter.bytes();
    same(
        "adapter received what the client sent",
        &adapter_received,
        &client_sent,
    );
    same(
        "client received what the adapter sent",
        &client_received,
        &adapter_sent,
    );
    assert!(bodies(&client_sent).len() >= 10);

    let t = read_trace(&trace);
    assert!(!t.header.redacted);
    assert_eq!(t.header.adapter["connect"], connect.as_str());
    assert_eq!(t.header.adapter["listen"], listen.as_str());
    assert!(
        t.records.iter().all(|r| r.error().is_none()),
        "no invalid records"
    );
    same("trace c2a", &t.c2a, &client_sent);
    same("trace a2c", &t.a2c, &adapter_sent);
}

const C_PROGRAM: &str = r#"#include <stdio.h>
#include <unistd.h>

static int twice(int x) {
    int y = x * 2; /* BREAK */
    return y;
}

int main(void) {
    alarm(120);
    printf("%d\n", twice(21));
    return 0;
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_stdio_gdb_session_is_forwarded_and_recorded_byte_exact() {
    let gdb = gdb();
    let python = python();
    let dir = tempfile::tempdir().unwrap();
    let dir_path = std::fs::canonicalize(dir.path()).unwrap();
    let source = dir_path.join("twice.c");
    std::fs::write(&source, C_PROGRAM).unwrap();
    let binary = dir_path.join("twice");
    let out = std::process::Command::new("gcc")
        .args(["-g", "-O0", "-o"])
        .arg(&binary)
        .arg(&source)
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "gcc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tee = dir_path.join("tee.py");
    std::fs::write(&tee, TEE).unwrap();
    let trace = dir_path.join("t.jsonl.gz");

    let (mut record, _guard, stderr) = start_record(&[
        "--out".as_ref(),
        trace.as_os_str(),
        "--".as_ref(),
        python.as_os_str(),
        tee.as_os_str(),
        dir_path.as_os_str(),
        gdb.as_os_str(),
        "--nx".as_ref(),
        "-q".as_ref(),
        "-iex".as_ref(),
        "set debuginfod enabled off".as_ref(),
        "-i".as_ref(),
        "dap".as_ref(),
    ]);
    let (to_record, client_sent) = Capture::new(record.stdin.take().unwrap());
    let (from_record, client_received) = Capture::new(record.stdout.take().unwrap());
    let line = peers::line_of(C_PROGRAM, "/* BREAK */");
    tokio::time::timeout(WHOLE, async {
        let (client, mut events) = Client::start(from_record, to_record, ClientOptions::new());
        let events = &mut events;
        client
            .request::<InitializeRequest>(initialize_args("gdb"))
            .await
            .expect("initialize through the recorder");
        let launch: LaunchRequestArguments = serde_json::from_value(json!({
            "name": "twice", "type": "gdb", "request": "launch",
            "program": binary, "cwd": dir_path,
        }))
        .unwrap();
        let launched = client.send::<LaunchRequest>(launch).unwrap();
        wait_event(events, "initialized", WAIT, |e| {
            matches!(e, Event::Initialized(_))
        })
        .await;
        client
            .request::<SetBreakpointsRequest>(
                SetBreakpointsArguments::new(Source::new().with_path(source.to_str().unwrap()))
                    .with_breakpoints(vec![SourceBreakpoint::new(line)]),
            )
            .await
            .unwrap();
        client
            .request::<ConfigurationDoneRequest>(None)
            .await
            .unwrap();
        launched.response().await.expect("launch response");
        let e = wait_event(events, "stopped", WAIT, |e| matches!(e, Event::Stopped(_))).await;
        let Event::Stopped(stopped) = e else {
            unreachable!()
        };
        let thread_id = stopped.body.thread_id.expect("a thread");
        let frames = client
            .request::<StackTraceRequest>(StackTraceArguments::new(thread_id))
            .await
            .unwrap()
            .body
            .stack_frames;
        assert_eq!(frames[0].name, "twice");
        assert_eq!(frames[0].line, line);
        let scopes = client
            .request::<ScopesRequest>(ScopesArguments::new(frames[0].id))
            .await
            .unwrap()
            .body
            .scopes;
        let args = scopes
            .iter()
            .find(|s| s.name == "Arguments")
            .expect("Arguments");
        let vars = variables(&client, args.variables_reference).await;
        assert_eq!(find(&vars, "x").value, "21");
        resume(&client, thread_id).await;
        wait_event(events, "terminated", WAIT, |e| {
            matches!(e, Event::Terminated(_))
        })
        .await;
        client.disconnect(None).await.expect("disconnect response");
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the session did not finish; stderr: {}",
            String::from_utf8_lossy(&stderr.bytes())
        )
    });
    let status = wait_exit(&mut record, &stderr).await;
    assert!(
        status.success(),
        "exit {status}: {}",
        String::from_utf8_lossy(&stderr.bytes())
    );

    let client_sent = client_sent.bytes();
    let client_received = client_received.bytes();
    let adapter_received = std::fs::read(dir_path.join("adapter-received.dap")).unwrap();
    let adapter_sent = std::fs::read(dir_path.join("adapter-sent.dap")).unwrap();
    same(
        "gdb received what the client sent",
        &adapter_received,
        &client_sent,
    );
    same(
        "client received what gdb sent",
        &client_received,
        &adapter_sent,
    );

    // A gzip trace (by its name), read back whole.
    let gz = std::fs::read(&trace).unwrap();
    assert_eq!(&gz[..2], &[0x1f, 0x8b]);
    let t = read_trace(&trace);
    assert!(!t.header.redacted);
    assert!(
        t.records.iter().all(|r| r.error().is_none()),
        "no invalid records"
    );
    same("trace c2a", &t.c2a, &client_sent);
    same("trace a2c", &t.a2c, &adapter_sent);
    assert!(bodies(&adapter_sent).len() >= 10);
}

/// `dapkit record` run synchronously with `stdin` as the client's bytes.
fn record_sync(args: &[&std::ffi::OsStr], stdin: &[u8]) -> std::process::Output {
    use std::io::Write as _;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dapkit"))
        .arg("record")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dapkit record");
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

#[test]
fn record_stdio_passes_stderr_and_exit_code_through_and_keeps_junk() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.jsonl");
    let mut input = Vec::new();
    for body in [
        &br#"{"seq":1,"type":"request","command":"initialize","arguments":{"adapterID":"x"}}"#[..],
        br#"{"seq":2,"type":"request","command":"threads"}"#,
    ] {
        input.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        input.extend_from_slice(body);
    }
    input.extend_from_slice(b"stray bytes\n");
    // An "adapter" that echoes what it reads, complains on stderr and fails.
    let out = record_sync(
        &[
            "--out".as_ref(),
            trace.as_os_str(),
            "--".as_ref(),
            "sh".as_ref(),
            "-c".as_ref(),
            "cat; echo adapter says goodbye >&2; exit 3".as_ref(),
        ],
        &input,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert_eq!(
        out.stdout, input,
        "the client got the adapter's bytes unchanged"
    );
    assert!(stderr.contains("adapter says goodbye\n"), "{stderr}");
    assert!(
        stderr.contains("dapkit: error: the adapter exited with code 3"),
        "{stderr}"
    );

    let t = read_trace(&trace);
    assert_eq!(t.c2a, input);
    assert_eq!(t.a2c, input);
    assert_eq!(t.header.adapter["command"][0], "sh");
    let invalid: Vec<&Record> = t.records.iter().filter(|r| r.error().is_some()).collect();
    assert_eq!(invalid.len(), 2, "the stray bytes, once each way");
    assert_eq!(&*invalid[0].bytes(), b"stray bytes\n");
}

#[test]
fn record_usage_errors_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.jsonl");
    let cases: [(&[&str], &str); 5] = [
        (&["--out", "t.jsonl"], "nothing to record"),
        (
            &[
                "--out",
                "t.jsonl",
                "--connect",
                "127.0.0.1:1",
                "--listen",
                "127.0.0.1:0",
                "--",
                "x",
            ],
            "not both",
        ),
        (
            &[
                "--out",
                "t.jsonl",
                "--connect",
                "127.0.0.1:1",
                "--listen",
                "0.0.0.0:0",
            ],
            "--allow-remote",
        ),
        (
            &["--out", "/nonexistent-dir/t.jsonl", "--", "true"],
            "cannot write the trace",
        ),
        (&["--connect", "127.0.0.1:1"], "--out"),
    ];
    for (args, needle) in cases {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_dapkit"))
            .arg("record")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with("dapkit: error: "), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    // An adapter that cannot start: exit 2, named.
    let out = record_sync(
        &[
            "--out".as_ref(),
            trace.as_os_str(),
            "--".as_ref(),
            "/nonexistent/adapter".as_ref(),
        ],
        b"",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("could not start adapter `/nonexistent/adapter`"),
        "{stderr}"
    );
}

#[test]
fn a_killed_recorder_keeps_every_record_already_seen() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.jsonl");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dapkit"))
        .args(["record", "--out"])
        .arg(&trace)
        .args(["--", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let body = br#"{"seq":1,"type":"request","command":"threads"}"#;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes())
        .unwrap();
    stdin.write_all(body).unwrap();
    stdin.flush().unwrap();
    // Both directions recorded (cat echoes): wait for two record lines, at most 10 s.
    let mut lines = 0;
    for _ in 0..200 {
        lines = std::fs::read_to_string(&trace)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines >= 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(lines, 3, "header and two records written while running");
    child.kill().unwrap(); // SIGKILL: no chance to flush anything more
    child.wait().unwrap();
    let t = read_trace(&trace);
    assert_eq!(t.records.len(), 2);
    assert_eq!(&*t.records[0].bytes(), &body[..]);
    assert_eq!(&*t.records[1].bytes(), &body[..]);
}

#[test]
fn record_tcp_stops_cleanly_on_sigterm_while_waiting_for_a_client() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.jsonl");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dapkit"))
        .args([
            "record",
            "--connect",
            "127.0.0.1:9",
            "--listen",
            "127.0.0.1:0",
            "--out",
        ])
        .arg(&trace)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut ready = String::new();
    stdout.read_line(&mut ready).unwrap();
    assert!(
        ready.starts_with(r#"{"ready":{"listen":"127.0.0.1:"#),
        "{ready}"
    );
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = read_trace(&trace);
    assert!(t.records.is_empty());
    assert_eq!(t.header.adapter["connect"], "127.0.0.1:9");
}
