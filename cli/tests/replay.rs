//! `dapkit replay` as a user runs it, against real debugpy (1.8.22, installed by
//! `bash .ci/install-peers` into `.peers/`).
//!
//! The original session is recorded in the test itself: dapkit's `Client` drives
//! `python -m debugpy.adapter` through a tap that writes every frame to a trace with
//! `TraceWriter` (the way `dapkit record` does). Then:
//! - `replay --as-adapter --listen` serves the same client script; the responses and events
//!   it gets (recorded through the same tap) equal the original ones, byte for byte apart
//!   from `seq`/`request_seq`;
//! - `replay --against -- python -m debugpy.adapter --out NEW` reproduces the session: NEW
//!   holds the same requests, responses and events, equal apart from seq, handles and
//!   process ids;
//! - edited traces make it diverge (exit 1 naming the record and command), bad input exits 2;
//! - VS Code's DebugClient gets the same from the replay as from debugpy;
//! - a gdb (`gdb -i dap`) session replays against gdb and as the adapter too.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use dapkit_session::client::{Client, ClientOptions, Events};
use dapkit_trace::{Direction, Header, TraceReader, TraceWriter};
use dapkit_transport::{StdioCommand, spawn_stdio};
use dapkit_types::Event;
use dapkit_types::messages::*;
use dapkit_types::types::*;
use dapkit_wireformat::FrameStream;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

const WAIT: Duration = Duration::from_secs(30);

const PROGRAM: &str = r#"def compute(n):
    items = [n, n * 2, n * 3]
    total = sum(items)  # BREAK
    return total


print("result", compute(3))
"#;

fn dapkit() -> Command {
    Command::new(env!("CARGO_BIN_EXE_dapkit"))
}

fn python() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.peers/venv/bin/python");
    assert!(
        p.exists(),
        "debugpy peer missing: {} not found; run `bash .ci/install-peers` in the workspace root",
        p.display()
    );
    p
}

fn break_line() -> u64 {
    PROGRAM
        .lines()
        .position(|l| l.contains("# BREAK"))
        .expect("marker") as u64
        + 1
}

type SharedTrace = Arc<Mutex<TraceWriter<dapkit_trace::TraceFile>>>;

/// Copies frames from `from` to `to`, recording each in `trace` as going `direction`.
async fn pump<R, W>(from: R, mut to: W, trace: SharedTrace, direction: Direction)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut frames = FrameStream::new(from);
    // Once the receiving side is gone (the client dropped), what the sender still sends
    // is recorded all the same, up to its end: how many messages a trace holds must not
    // depend on when the client went away (the replay test counts them).
    let mut open = true;
    while let Some(Ok(frame)) = frames.next().await {
        trace
            .lock()
            .expect("trace lock")
            .message(direction, 0, &frame)
            .expect("write the trace");
        if !open {
            continue;
        }
        let mut bytes = format!("Content-Length: {}\r\n\r\n", frame.len()).into_bytes();
        bytes.extend_from_slice(&frame);
        open = to.write_all(&bytes).await.is_ok() && to.flush().await.is_ok();
    }
    let _ = to.shutdown().await;
}

/// How long a tap may go on recording the adapter's last messages after the session.
const DRAIN: Duration = Duration::from_secs(10);

/// A client whose traffic with the adapter (`reader`, `writer`) is recorded to `trace`.
///
/// Also returns the adapter → client tap: awaited (see [`drained`]) after the session, so
/// the trace holds everything the adapter sent until it closed the stream.
fn tapped_client<R, W>(
    reader: R,
    writer: W,
    trace: SharedTrace,
    options: ClientOptions,
) -> (Client, Events, tokio::task::JoinHandle<()>)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (client_end, tap_end) = tokio::io::duplex(1 << 20);
    let (tap_read, tap_write) = tokio::io::split(tap_end);
    tokio::spawn(pump(
        tap_read,
        writer,
        trace.clone(),
        Direction::ClientToAdapter,
    ));
    let from_adapter = tokio::spawn(pump(reader, tap_write, trace, Direction::AdapterToClient));
    let (client_read, client_write) = tokio::io::split(client_end);
    let (client, events) = Client::start(client_read, client_write, options);
    (client, events, from_adapter)
}

/// Waits (at most [`DRAIN`]) for the adapter → client tap to reach the end of the adapter's
/// stream, after the client was dropped and the adapter told to go.
async fn drained(tap: tokio::task::JoinHandle<()>) {
    let _ = tokio::time::timeout(DRAIN, tap).await;
}

/// The client script: launch, breakpoint, stop, threads, stack, scopes, variables,
/// evaluate, continue, termination, disconnect.
async fn script(client: &Client, events: &mut Events, program: &Path, console: &str) {
    let mut init = InitializeRequestArguments::new("debugpy");
    init.client_id = Some("dapkit-test".into());
    init.lines_start_at1 = Some(true);
    init.columns_start_at1 = Some(true);
    init.path_format = Some("path".into());
    init.supports_run_in_terminal_request = Some(console == "integratedTerminal");
    client
        .request::<InitializeRequest>(init)
        .await
        .expect("initialize");
    let launch: LaunchRequestArguments = serde_json::from_value(json!({
        "program": program.to_str().expect("UTF-8 path"),
        "cwd": program.parent().expect("dir").to_str().expect("UTF-8 path"),
        "console": console,
        "justMyCode": true,
    }))
    .expect("launch arguments");
    let launched = client.send::<LaunchRequest>(launch).expect("send launch");
    events
        .wait_for_named("initialized", WAIT)
        .await
        .expect("initialized event");
    let source = Source::new().with_path(program.to_str().expect("UTF-8 path"));
    let bps = client
        .request::<SetBreakpointsRequest>(
            SetBreakpointsArguments::new(source)
                .with_breakpoints(vec![SourceBreakpoint::new(break_line())]),
        )
        .await
        .expect("setBreakpoints");
    assert!(bps.body.breakpoints[0].verified, "breakpoint verified");
    client
        .request::<ConfigurationDoneRequest>(None)
        .await
        .expect("configurationDone");
    launched.response().await.expect("launch response");
    let Event::Stopped(stop) = events
        .wait_for_named("stopped", WAIT)
        .await
        .expect("stopped event")
    else {
        panic!("not a stopped event")
    };
    let thread_id = stop.body.thread_id.expect("thread id");
    client
        .request::<ThreadsRequest>(None)
        .await
        .expect("threads");
    let stack = client
        .request::<StackTraceRequest>(StackTraceArguments::new(thread_id))
        .await
        .expect("stackTrace");
    let frame_id = stack.body.stack_frames[0].id;
    let scopes = client
        .request::<ScopesRequest>(ScopesArguments::new(frame_id))
        .await
        .expect("scopes");
    let locals = scopes.body.scopes[0].variables_reference;
    let vars = client
        .request::<VariablesRequest>(VariablesArguments::new(locals))
        .await
        .expect("variables");
    assert!(
        vars.body.variables.iter().any(|v| v.name == "items"),
        "locals hold `items`"
    );
    let mut eval = EvaluateArguments::new("sum(items)");
    eval.frame_id = Some(frame_id);
    eval.context = Some(EvaluateArgumentsContext::Repl);
    let result = client
        .request::<EvaluateRequest>(eval)
        .await
        .expect("evaluate");
    assert_eq!(result.body.result, "18");
    client
        .request::<ContinueRequest>(ContinueArguments::new(thread_id))
        .await
        .expect("continue");
    events
        .wait_for_named("terminated", WAIT)
        .await
        .expect("terminated event");
    client
        .request::<DisconnectRequest>(None)
        .await
        .expect("disconnect");
}

struct Recorded {
    _dir: tempfile::TempDir,
    trace: PathBuf,
    program: PathBuf,
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Records the client script against the real debugpy adapter, the debuggee in `console`
/// (`internalConsole`, or `integratedTerminal`: the client runs it for the adapter).
fn record_original(console: &str) -> Recorded {
    let dir = tempfile::tempdir().expect("temp dir");
    let program = dir.path().join("app.py");
    std::fs::write(&program, PROGRAM).expect("write program");
    let trace_path = dir.path().join("original.jsonl");
    rt().block_on(async {
        let writer = TraceWriter::create(
            &trace_path,
            &Header::new(json!({"command": ["python", "-m", "debugpy.adapter"]})),
        )
        .expect("create trace");
        let trace = Arc::new(Mutex::new(writer));
        let command = StdioCommand::new(python()).args(["-m", "debugpy.adapter"]);
        let mut connection = spawn_stdio(&command).expect("start debugpy.adapter");
        let mut child = connection.take_child().expect("the adapter process");
        let (reader, writer) = connection.into_split();
        let options = if console == "integratedTerminal" {
            ClientOptions::new().with_run_in_terminal()
        } else {
            ClientOptions::new().without_run_in_terminal()
        };
        let (client, mut events, tap) = tapped_client(reader, writer, trace.clone(), options);
        tokio::time::timeout(
            Duration::from_secs(90),
            script(&client, &mut events, &program, console),
        )
        .await
        .expect("the original session finished in time");
        drop(client);
        drop(events);
        let _ = child.wait_or_kill(Duration::from_secs(5)).await;
        drained(tap).await;
    });
    Recorded {
        _dir: dir,
        trace: trace_path,
        program,
    }
}

/// The messages of a trace: (record number, direction, text, parsed).
fn messages(path: &Path) -> Vec<(u64, Direction, String, Value)> {
    let reader = TraceReader::open(path).expect("open trace");
    reader
        .enumerate()
        .map(|(i, r)| {
            let r = r.expect("a good record");
            let text = r.json().expect("a JSON message").into_owned();
            let value = serde_json::from_str(&text).expect("JSON");
            (i as u64 + 1, r.direction, text, value)
        })
        .collect()
}

fn kind(v: &Value) -> &str {
    v["type"].as_str().unwrap_or("")
}

fn name(v: &Value) -> &str {
    v["command"]
        .as_str()
        .or_else(|| v["event"].as_str())
        .unwrap_or("")
}

/// `v` without `seq` and `request_seq`.
fn unsequenced(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(map) = v.as_object_mut() {
        map.remove("seq");
        map.remove("request_seq");
    }
    v
}

/// The recorded text with its top-level `seq`/`request_seq` numbers replaced by those of
/// `other` (the first occurrence of each member name is the top-level one in debugpy's
/// and dapkit's messages, which put them first).
fn with_numbers_of(text: &str, other: &Value) -> String {
    let mut out = text.to_owned();
    for key in ["\"seq\":", "\"request_seq\":"] {
        let Some(new) = other.get(&key[1..key.len() - 2]).and_then(Value::as_i64) else {
            continue;
        };
        let Some(at) = out.find(key) else { continue };
        let start = at + key.len();
        let digits_from = start + out[start..].len() - out[start..].trim_start().len();
        let digits_to = digits_from
            + out[digits_from..]
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(0);
        out.replace_range(digits_from..digits_to, &new.to_string());
    }
    out
}

/// Starts `dapkit replay … --as-adapter --listen 127.0.0.1:0` and returns it with the
/// port from its ready line.
fn start_listening(trace: &Path) -> (std::process::Child, u16) {
    start_listening_with(trace, &[])
}

fn start_listening_with(trace: &Path, extra: &[&str]) -> (std::process::Child, u16) {
    let mut child = dapkit()
        .args(extra)
        .arg("replay")
        .arg(trace)
        .args(["--as-adapter", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dapkit replay");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout"))
        .read_line(&mut line)
        .expect("read the ready line");
    let ready: Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("ready line {line:?} is not JSON: {e}"));
    let listen = ready["ready"]["listen"].as_str().expect("ready.listen");
    assert!(listen.starts_with("127.0.0.1:"), "{listen}");
    let port = listen[10..].parse().expect("a port");
    assert_ne!(port, 0);
    (child, port)
}

fn wait_with_limit(mut child: std::process::Child, limit: Duration) -> std::process::Output {
    let start = std::time::Instant::now();
    while child.try_wait().expect("poll the child").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "dapkit did not exit within {limit:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

#[test]
fn as_adapter_serves_the_recorded_session_to_the_same_client() {
    let original = record_original("internalConsole");
    let replayed_path = original._dir.path().join("replayed.jsonl");
    let (child, port) = start_listening(&original.trace);
    rt().block_on(async {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect to dapkit replay");
        let (reader, writer) = stream.into_split();
        let trace = Arc::new(Mutex::new(
            TraceWriter::create(&replayed_path, &Header::new(json!({"connect": port})))
                .expect("create trace"),
        ));
        let options = ClientOptions::new().without_run_in_terminal();
        let (client, mut events, tap) = tapped_client(reader, writer, trace, options);
        tokio::time::timeout(
            Duration::from_secs(60),
            script(&client, &mut events, &original.program, "internalConsole"),
        )
        .await
        .expect("the replayed session finished in time");
        drop(client);
        drop(events);
        drained(tap).await;
    });
    let out = wait_with_limit(child, Duration::from_secs(20));
    assert!(
        out.status.success(),
        "dapkit replay --as-adapter exited {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );

    same_responses_and_events(&original.trace, &replayed_path);
    // What a user would run: the replayed session is the recorded one.
    diff_exits_0(&original.trace, &replayed_path);
}

/// The replayed session (`b`) got the same requests from the client and the same
/// responses and events, each byte-faithful apart from `seq`/`request_seq`, as the
/// original (`a`).
fn same_responses_and_events(a: &Path, b: &Path) {
    let a = messages(a);
    let b = messages(b);
    let requests = |m: &[(u64, Direction, String, Value)]| -> Vec<String> {
        m.iter()
            .filter(|(_, d, _, v)| *d == Direction::ClientToAdapter && kind(v) == "request")
            .map(|(_, _, _, v)| name(v).to_owned())
            .collect()
    };
    assert_eq!(
        requests(&a),
        requests(&b),
        "the client sent the same requests"
    );
    for wanted in ["response", "event"] {
        let pick = |m: &[(u64, Direction, String, Value)]| -> Vec<(String, Value)> {
            m.iter()
                .filter(|(_, d, _, v)| *d == Direction::AdapterToClient && kind(v) == wanted)
                .map(|(_, _, t, v)| (t.clone(), v.clone()))
                .collect()
        };
        let (a, b) = (pick(&a), pick(&b));
        assert_eq!(a.len(), b.len(), "as many {wanted}s");
        assert!(!a.is_empty());
        for ((ta, va), (tb, vb)) in a.iter().zip(&b) {
            assert_eq!(unsequenced(va), unsequenced(vb), "same {wanted}");
            assert_eq!(
                &with_numbers_of(ta, vb),
                tb,
                "the {wanted} is byte-faithful apart from seq/request_seq"
            );
        }
    }
}

/// Numbers at handle places, and process ids, set to 0: what may differ between two
/// runs of the same session.
fn masked(v: &Value, key: Option<&str>, parent: Option<&str>) -> Value {
    const HANDLES: &[&str] = &[
        "threadId",
        "frameId",
        "variablesReference",
        "sourceReference",
        "systemProcessId",
        "processId",
    ];
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "seq" && k.as_str() != "request_seq")
                .map(|(k, x)| (k.clone(), masked(x, Some(k), key)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|x| masked(x, key, key)).collect()),
        Value::Number(_)
            if key.is_some_and(|k| HANDLES.contains(&k))
                || (key == Some("id")
                    && matches!(parent, Some("threads" | "stackFrames" | "breakpoints"))) =>
        {
            json!(0)
        }
        other => other.clone(),
    }
}

const BACKGROUND: &[&str] = &["output", "module", "loadedSource"];

/// The session as a list of (direction, kind, name, masked body) without background events
/// and with debugpy's custom socket events left out (their ports differ by run).
fn shape(m: &[(u64, Direction, String, Value)]) -> Vec<(Direction, String, String, Value)> {
    m.iter()
        .filter(|(_, _, _, v)| !(kind(v) == "event" && BACKGROUND.contains(&name(v))))
        .filter(|(_, _, _, v)| name(v) != "debugpySockets")
        .map(|(_, d, _, v)| {
            (
                *d,
                kind(v).to_owned(),
                name(v).to_owned(),
                masked(v, None, None),
            )
        })
        .collect()
}

/// The same requests, responses and events (background events aside), equal apart from
/// seq, handles and process ids.
fn same_shape(a: &[(u64, Direction, String, Value)], b: &[(u64, Direction, String, Value)]) {
    let (sa, sb) = (shape(a), shape(b));
    let requests = |s: &[(Direction, String, String, Value)]| -> Vec<Value> {
        s.iter()
            .filter(|(d, k, _, _)| *d == Direction::ClientToAdapter && k == "request")
            .map(|(_, _, _, v)| v.clone())
            .collect()
    };
    assert_eq!(
        requests(&sa),
        requests(&sb),
        "the same requests, handles aside"
    );
    for wanted in ["response", "event"] {
        let pick = |s: &[(Direction, String, String, Value)]| -> Vec<Value> {
            s.iter()
                .filter(|(d, k, _, _)| *d == Direction::AdapterToClient && k == wanted)
                .map(|(_, _, _, v)| v.clone())
                .collect()
        };
        assert_eq!(pick(&sa), pick(&sb), "the same {wanted}s, handles aside");
    }
}

fn replay_against(trace: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut command = dapkit();
    command
        .arg("replay")
        .arg(trace)
        .arg("--against")
        .arg("--out")
        .arg(out)
        .args(extra);
    if !extra.contains(&"--connect") {
        command
            .arg("--")
            .arg(python())
            .args(["-m", "debugpy.adapter"]);
    }
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dapkit replay --against");
    wait_with_limit(child, Duration::from_secs(90))
}

#[test]
fn against_debugpy_reproduces_the_session_and_diverges_when_edited() {
    let original = record_original("internalConsole");
    let dir = original._dir.path();

    // 1. The recording replayed against a fresh debugpy adapter.
    let again = dir.join("again.jsonl");
    let out = replay_against(&original.trace, &again, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "replay --against exited {:?}: {}{stdout}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("replay completed: "), "{stdout}");
    let a = messages(&original.trace);
    let b = messages(&again);
    same_shape(&a, &b);
    // What a user would run: the live session reproduces the recorded one.
    diff_exits_0_ignoring(&original.trace, &again, LIVE_DEBUGPY);
    // Handles were really remapped where the live adapter gave other ones (the frame id
    // of debugpy's stackTrace counts up across sessions of one adapter, so at least the
    // requests carry the live value the new trace's responses gave).
    let live_frame = b
        .iter()
        .find(|(_, _, _, v)| name(v) == "stackTrace" && kind(v) == "response")
        .map(|(_, _, _, v)| v["body"]["stackFrames"][0]["id"].clone())
        .expect("a stackTrace response");
    let scopes_sent = b
        .iter()
        .find(|(_, _, _, v)| name(v) == "scopes" && kind(v) == "request")
        .map(|(_, _, _, v)| v["arguments"]["frameId"].clone())
        .expect("a scopes request");
    assert_eq!(scopes_sent, live_frame, "scopes asks for the live frame");

    // 1b. The same against debugpy's adapter in server mode, reached with --connect.
    {
        use std::os::unix::process::CommandExt as _;
        let port = free_port();
        let _adapter = Group(
            Command::new(python())
                .args(["-m", "debugpy.adapter", "--host", "127.0.0.1", "--port"])
                .arg(port.to_string())
                .process_group(0)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .spawn()
                .expect("start debugpy.adapter"),
        );
        let connected = dir.join("connected.jsonl");
        let target = format!("127.0.0.1:{port}");
        let out = replay_against(&original.trace, &connected, &["--connect", &target]);
        assert!(
            out.status.success(),
            "replay --against --connect exited {:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        same_shape(&a, &messages(&connected));
        diff_exits_0_ignoring(&original.trace, &connected, LIVE_DEBUGPY);
        let header = TraceReader::open(&connected)
            .expect("open")
            .header()
            .clone();
        assert_eq!(header.adapter, json!({ "connect": target }));
    }

    // 1c. Against the recording itself served by `replay --as-adapter`: the same session.
    {
        let (server, port) = start_listening(&original.trace);
        let looped = dir.join("looped.jsonl");
        let target = format!("127.0.0.1:{port}");
        let out = replay_against(&original.trace, &looped, &["--connect", &target]);
        assert!(
            out.status.success(),
            "replay --against a replay exited {:?}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        let served = wait_with_limit(server, Duration::from_secs(20));
        assert!(
            served.status.success(),
            "{}",
            String::from_utf8_lossy(&served.stderr)
        );
        same_shape(&a, &messages(&looped));
        diff_exits_0(&original.trace, &looped);
    }

    // 2. An edited request that fails live diverges, naming its record and command.
    let lines: Vec<String> = std::fs::read_to_string(&original.trace)
        .expect("read trace")
        .lines()
        .map(str::to_owned)
        .collect();
    let evaluate_record = a
        .iter()
        .find(|(_, d, _, v)| *d == Direction::ClientToAdapter && name(v) == "evaluate")
        .map(|(n, _, _, _)| *n)
        .expect("an evaluate request");
    let mut edited = lines.clone();
    edited[evaluate_record as usize] =
        edited[evaluate_record as usize].replace("sum(items)", "no_such_name + 1");
    let edited_path = dir.join("edited.jsonl");
    std::fs::write(&edited_path, edited.join("\n") + "\n").expect("write edited trace");
    // `dapkit diff` tells the edited trace from the original, naming the message.
    diff_exits_1_naming(
        &original.trace,
        &edited_path,
        &[],
        evaluate_record,
        "evaluate",
    );
    let edited_again = dir.join("edited-again.jsonl");
    let out = replay_against(&edited_path, &edited_again, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stderr}\n{}",
        std::fs::read_to_string(&edited_again).unwrap_or_default()
    );
    assert!(
        stderr.contains(&format!(
            "dapkit: replay diverged: record {evaluate_record} (evaluate): the live adapter answered success: false"
        )),
        "{stderr}"
    );
    // The live session of the edited trace differs from the original at that request.
    diff_exits_1_naming(
        &original.trace,
        &edited_again,
        LIVE_DEBUGPY,
        evaluate_record,
        "evaluate",
    );

    // 3. An event the recording waited for that never comes: a bounded wait naming it.
    let threads_record = a
        .iter()
        .find(|(_, d, _, v)| *d == Direction::ClientToAdapter && name(v) == "threads")
        .map(|(n, _, _, _)| *n)
        .expect("a threads request");
    let mut edited = lines;
    edited.insert(
        threads_record as usize,
        r#"{"time":"2026-11-26T13:30:00.000000Z","offsetUs":1,"dir":"a2c","client":0,"msg":{"seq":999,"type":"event","event":"capabilities","body":{"capabilities":{}}}}"#.to_owned(),
    );
    let waiting_path = dir.join("waiting.jsonl");
    std::fs::write(&waiting_path, edited.join("\n") + "\n").expect("write edited trace");
    let out = replay_against(
        &waiting_path,
        &dir.join("waiting-again.jsonl"),
        // Long enough for debugpy's own waits on a loaded machine (2 s was not).
        &["--timeout", "5"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "dapkit: replay diverged: record {} (threads): timed out after 5 s; waited for event `capabilities` (0 of 1 came)",
            threads_record + 1
        )),
        "{stderr}"
    );
}

/// A hand-written trace (cli/tests/fixtures/replay/tiny.jsonl), plain and gzip, served
/// over stdio: a request the trace does not hold gets an error response naming it, and the
/// exit code is 1.
#[test]
fn as_adapter_on_stdio_answers_unknown_requests_with_an_error() {
    let plain = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replay/tiny.jsonl");
    let dir = tempfile::tempdir().expect("temp dir");
    let gzip = dir.path().join("tiny.jsonl.gz");
    let mut reader = TraceReader::open(&plain).expect("open the fixture");
    let mut writer = TraceWriter::create(&gzip, reader.header()).expect("create gzip trace");
    while let Some(record) = reader.next_record().expect("a good record") {
        writer.write(&record).expect("write record");
    }
    writer.finish().expect("finish gzip");
    for fixture in [plain, gzip] {
        serve_tiny_on_stdio(&fixture);
    }
}

fn serve_tiny_on_stdio(fixture: &Path) {
    let mut child = dapkit()
        .arg("replay")
        .arg(fixture)
        .args(["--as-adapter", "--stdio", "--strict"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dapkit replay");
    let mut stdin = child.stdin.take().expect("stdin");
    let frame = |body: &str| format!("Content-Length: {}\r\n\r\n{body}", body.len());
    let mut input = String::new();
    input += &frame(
        r#"{"seq":5,"type":"request","command":"initialize","arguments":{"adapterID":"x"}}"#,
    );
    input +=
        &frame(r#"{"seq":6,"type":"request","command":"evaluate","arguments":{"expression":"1"}}"#);
    input += &frame(r#"{"seq":7,"type":"request","command":"threads"}"#);
    stdin.write_all(input.as_bytes()).expect("write requests");
    stdin.flush().expect("flush requests");
    // The client keeps its end open: the replay ends by itself once the recorded session is
    // over (every recorded request asked for, every recorded message sent).
    let out = wait_with_limit(child, Duration::from_secs(20));
    drop(stdin);
    let mut reader = dapkit_wireformat::FrameReader::new(&out.stdout[..]);
    let mut got = Vec::new();
    while let Some(frame) = reader.read_frame().expect("framed output") {
        got.push(String::from_utf8(frame.to_vec()).expect("UTF-8"));
    }
    assert_eq!(
        got,
        [
            r#"{"seq":1,"type":"response","request_seq":5,"success":true,"command":"initialize","body":{"supportsConfigurationDoneRequest":true}}"#,
            r#"{"seq":2,"type":"event","event":"initialized"}"#,
            r#"{"command":"evaluate","message":"dapkit replay: the trace has no `evaluate` request","request_seq":6,"seq":3,"success":false,"type":"response"}"#,
            r#"{"seq":4, "type":"response","request_seq":7,"success":true,"command":"threads","body":{"threads":[{"id":1,"name":"MainThread"}]}}"#,
        ]
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "dapkit: replay diverged: the trace could not answer 1 request(s): request 6 (evaluate)"
        ),
        "{stderr}"
    );
}

/// Runs the `dapkit diff` binary on two traces (with `--max 50`, so a divergence late in a
/// session is listed too; debugpy's `debugpySockets` events, which name the ports it opened
/// and come as often as its sockets change, left out, and the events named in `ignore`):
/// its exit code and stdout. Exit 2 (an error) fails the test.
fn dapkit_diff(a: &Path, b: &Path, ignore: &[&str]) -> (Option<i32>, String) {
    let mut command = dapkit();
    command.arg("diff").arg(a).arg(b);
    for event in ignore {
        command.args(["--ignore-event", event]);
    }
    let out = command
        .args(["--max", "50", "--ignore-event", "debugpySockets"])
        .output()
        .expect("run dapkit diff");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_ne!(
        out.status.code(),
        Some(2),
        "dapkit diff failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), stdout)
}

/// `dapkit diff A B` exits 0: the traces are the same session.
fn diff_exits_0(a: &Path, b: &Path) {
    diff_exits_0_ignoring(a, b, &[]);
}

/// Against a live debugpy the program's `output` is cut into events where its pipe reads
/// happened to end (`"result 18\n"` in one run, `"result"` and `" 18\n"` in another), so
/// those comparisons leave `output` events out (`same_shape` compares the text).
const LIVE_DEBUGPY: &[&str] = &["output"];

/// Against a live gdb the program's `output` events come where its output happened to be
/// read relative to gdb's other messages (a run on a loaded machine put one four records
/// later), so that comparison leaves them out too (`same_shape` compares their text).
const LIVE_GDB: &[&str] = &["output"];

/// Like [`diff_exits_0`], leaving out the events named in `ignore`.
fn diff_exits_0_ignoring(a: &Path, b: &Path, ignore: &[&str]) {
    let (code, stdout) = dapkit_diff(a, b, ignore);
    assert_eq!(
        code,
        Some(0),
        "dapkit diff {} {}:\n{stdout}",
        a.display(),
        b.display()
    );
}

/// `dapkit diff A B` exits 1 and its first difference names record `record` of A and
/// `command`.
fn diff_exits_1_naming(a: &Path, b: &Path, ignore: &[&str], record: u64, command: &str) {
    let (code, stdout) = dapkit_diff(a, b, ignore);
    assert_eq!(
        code,
        Some(1),
        "dapkit diff {} {}:\n{stdout}",
        a.display(),
        b.display()
    );
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.contains(&format!("record {record} of A")) && first.contains(&format!("`{command}`")),
        "the first difference names record {record} ({command}):\n{stdout}"
    );
}

fn run_dapkit(args: &[&str]) -> (Option<i32>, String) {
    let out = dapkit().args(args).output().expect("run dapkit");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_traces_and_bad_usage_exit_2_with_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/replay/tiny.jsonl");
    let fixture = fixture.to_str().expect("UTF-8 path");
    let missing = dir.path().join("missing.jsonl");
    let (code, err) = run_dapkit(&[
        "replay",
        missing.to_str().unwrap(),
        "--as-adapter",
        "--stdio",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.starts_with("dapkit: error: cannot open "), "{err}");

    let garbage = dir.path().join("garbage.jsonl");
    std::fs::write(&garbage, b"\x00\x01random bytes\n").expect("write");
    let (code, err) = run_dapkit(&[
        "replay",
        garbage.to_str().unwrap(),
        "--as-adapter",
        "--stdio",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.starts_with(&format!(
            "dapkit: error: {}: line 1: not a dapkit trace",
            garbage.display()
        )),
        "{err}"
    );

    let header_only = dir.path().join("empty.jsonl");
    std::fs::write(
        &header_only,
        "{\"dapkitTrace\":1,\"created\":\"x\",\"tool\":\"t\"}\n",
    )
    .expect("write");
    let (code, err) = run_dapkit(&[
        "replay",
        header_only.to_str().unwrap(),
        "--as-adapter",
        "--stdio",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("the trace holds no DAP messages of client 0 to replay"),
        "{err}"
    );

    let bad_record = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad_record,
        "{\"dapkitTrace\":1,\"created\":\"x\",\"tool\":\"t\"}\n{\"time\":\"x\",\"dir\":\"c2a\"}\n",
    )
    .expect("write");
    let (code, err) = run_dapkit(&[
        "replay",
        bad_record.to_str().unwrap(),
        "--as-adapter",
        "--stdio",
    ]);
    assert_eq!(code, Some(2));
    assert!(
        err.starts_with(&format!(
            "dapkit: error: {}: line 2: not a trace record",
            bad_record.display()
        )),
        "{err}"
    );

    for (args, wanted) in [
        (vec!["replay", fixture], "required"),
        (
            vec!["replay", fixture, "--as-adapter"],
            "--as-adapter needs --listen ADDR or --stdio",
        ),
        (
            vec!["replay", fixture, "--against"],
            "--against needs the adapter",
        ),
        (
            vec!["replay", fixture, "--as-adapter", "--stdio", "--out", "x"],
            "--out goes with --against",
        ),
        (
            vec!["replay", fixture, "--against", "--stdio", "--", "x"],
            "--stdio goes with --as-adapter",
        ),
        (
            vec!["replay", fixture, "--as-adapter", "--listen", "nowhere"],
            "--listen nowhere: not an address",
        ),
        (
            vec!["replay", fixture, "--against", "--timeout", "0", "--", "x"],
            "--timeout must be a positive number",
        ),
    ] {
        let (code, err) = run_dapkit(&args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.starts_with("dapkit: error: "), "{args:?}: {err}");
        assert!(err.contains(wanted), "{args:?}: {err}");
    }
}

/// Listens on 127.0.0.1:0; joins the first client to the adapter on `target` (connected
/// with retry, never probing), recording every frame to `trace`.
async fn tap_server(target: u16, trace: &Path) -> (u16, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the tap");
    let port = listener.local_addr().expect("tap address").port();
    let writer =
        TraceWriter::create(trace, &Header::new(json!({"connect": target}))).expect("create trace");
    let trace = Arc::new(Mutex::new(writer));
    let task = tokio::spawn(async move {
        let (client, _) = listener.accept().await.expect("accept the client");
        let endpoint = dapkit_transport::Endpoint::Tcp(([127, 0, 0, 1], target).into());
        let adapter =
            dapkit_transport::connect(&endpoint, &dapkit_transport::RetryPolicy::default())
                .await
                .expect("connect to the adapter");
        let (adapter_read, adapter_write) = adapter.into_split();
        let (client_read, client_write) = client.into_split();
        let up = tokio::spawn(pump(
            client_read,
            adapter_write,
            trace.clone(),
            Direction::ClientToAdapter,
        ));
        let down = tokio::spawn(pump(
            adapter_read,
            client_write,
            trace,
            Direction::AdapterToClient,
        ));
        let _ = up.await;
        let _ = down.await;
    });
    (port, task)
}

/// Runs the DebugClient script against the adapter on `port`.
async fn debug_client(port: u16, program: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let modules = root.join("session/tests/vscode/node_modules");
    assert!(
        modules.join("@vscode/debugadapter-testsupport").is_dir(),
        "VS Code's DebugClient missing in {}; run `bash .ci/install-peers`",
        modules.display()
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vscode/replay_debugpy.js");
    let mut node = tokio::process::Command::new("node");
    node.arg(script)
        .env("NODE_PATH", &modules)
        .env("DAPKIT_PORT", port.to_string())
        .env("DAPKIT_PROGRAM", program)
        .env("DAPKIT_LINE", break_line().to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = node
        .spawn()
        .expect("run node (Node.js 20+; `bash .ci/install-peers`)");
    let out = tokio::time::timeout(Duration::from_secs(90), child.wait_with_output())
        .await
        .expect("the DebugClient script finished in time")
        .expect("node ran");
    assert!(
        out.status.success(),
        "the DebugClient script failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A free loopback port: bind port 0, read it, close the listener.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("address").port()
}

/// Kills the process group this test started (by its leader's pid) when dropped.
struct Group(std::process::Child);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.0.wait();
    }
}

#[test]
fn as_adapter_serves_vscode_debug_client_like_debugpy_did() {
    use std::os::unix::process::CommandExt as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let program = dir.path().join("app.py");
    std::fs::write(&program, PROGRAM).expect("write program");
    let original = dir.path().join("vscode-original.jsonl");
    let replayed = dir.path().join("vscode-replayed.jsonl");

    // The original: DebugClient → tap → debugpy's adapter in server mode.
    let adapter_port = free_port();
    let adapter = Group(
        Command::new(python())
            .args(["-m", "debugpy.adapter", "--host", "127.0.0.1", "--port"])
            .arg(adapter_port.to_string())
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start debugpy.adapter"),
    );
    rt().block_on(async {
        let (port, tap) = tap_server(adapter_port, &original).await;
        debug_client(port, &program).await;
        tokio::time::timeout(Duration::from_secs(20), tap)
            .await
            .expect("the tap ended")
            .expect("the tap ran");
    });
    drop(adapter);

    // The replay: DebugClient → tap → dapkit replay --as-adapter.
    let (child, replay_port) = start_listening(&original);
    rt().block_on(async {
        let (port, tap) = tap_server(replay_port, &replayed).await;
        debug_client(port, &program).await;
        tokio::time::timeout(Duration::from_secs(20), tap)
            .await
            .expect("the tap ended")
            .expect("the tap ran");
    });
    let out = wait_with_limit(child, Duration::from_secs(20));
    assert!(
        out.status.success(),
        "dapkit replay --as-adapter exited {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    same_responses_and_events(&original, &replayed);
}

#[test]
fn against_runs_run_in_terminal_only_when_allowed() {
    let original = record_original("integratedTerminal");
    let dir = original._dir.path();
    let recorded = messages(&original.trace);
    assert!(
        recorded
            .iter()
            .any(|(_, d, _, v)| *d == Direction::AdapterToClient && name(v) == "runInTerminal"),
        "debugpy asked the client to run the debuggee"
    );

    let allowed = dir.join("allowed.jsonl");
    let out = replay_against(&original.trace, &allowed, &["--allow-run-in-terminal"]);
    assert!(
        out.status.success(),
        "replay --against --allow-run-in-terminal exited {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let b = messages(&allowed);
    let answer = b
        .iter()
        .find(|(_, d, _, v)| {
            *d == Direction::ClientToAdapter && kind(v) == "response" && name(v) == "runInTerminal"
        })
        .map(|(_, _, _, v)| v.clone())
        .expect("an answer to runInTerminal");
    assert_eq!(answer["success"], true, "{answer}");
    let recorded_pid = recorded
        .iter()
        .find(|(_, d, _, v)| *d == Direction::ClientToAdapter && name(v) == "runInTerminal")
        .map(|(_, _, _, v)| v["body"]["processId"].clone())
        .expect("the recorded answer");
    assert_ne!(
        answer["body"]["processId"], recorded_pid,
        "the command really ran (a new process), not the recorded answer"
    );
    same_shape(&recorded, &b);

    // Not allowed: answered success: false, and the session cannot go on as recorded.
    let refused = dir.join("refused.jsonl");
    let out = replay_against(&original.trace, &refused, &["--timeout", "10"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("dapkit: replay diverged: record "),
        "{stderr}"
    );
    let b = messages(&refused);
    let answer = b
        .iter()
        .find(|(_, d, _, v)| *d == Direction::ClientToAdapter && name(v) == "runInTerminal")
        .map(|(_, _, _, v)| v.clone())
        .expect("an answer to runInTerminal");
    assert_eq!(answer["success"], false, "{answer}");
    assert!(
        answer["message"]
            .as_str()
            .is_some_and(|m| m.contains("--allow-run-in-terminal")),
        "{answer}"
    );
}

const C_PROGRAM: &str = r#"#include <stdio.h>

static int twice(int n) {
    int r = n * 2; /* BREAK */
    return r;
}

int main(void) {
    printf("%d\n", twice(21));
    return 0;
}
"#;

/// gdb 14 or later with DAP (`bash .ci/install-peers` puts one in `.peers/gdb-venv`).
fn gdb() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.peers/gdb-venv/bin/gdb");
    assert!(
        p.exists(),
        "gdb peer missing: {} not found; run `bash .ci/install-peers` in the workspace root",
        p.display()
    );
    p
}

fn gdb_args() -> Vec<String> {
    [
        "--nx",
        "-q",
        "-iex",
        "set debuginfod enabled off",
        "-i",
        "dap",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// initialize, launch, a breakpoint, stop, threads, stack, scopes, variables, continue to
/// the end, disconnect: against gdb's DAP.
async fn gdb_script(client: &Client, events: &mut Events, source: &Path, binary: &Path) {
    let mut init = InitializeRequestArguments::new("gdb");
    init.client_id = Some("dapkit-test".into());
    init.lines_start_at1 = Some(true);
    init.columns_start_at1 = Some(true);
    init.path_format = Some("path".into());
    client
        .request::<InitializeRequest>(init)
        .await
        .expect("initialize");
    let launch: LaunchRequestArguments = serde_json::from_value(json!({
        "program": binary, "cwd": source.parent(), "stopAtBeginningOfMainSubprogram": false,
    }))
    .expect("launch arguments");
    let launched = client.send::<LaunchRequest>(launch).expect("send launch");
    events
        .wait_for_named("initialized", WAIT)
        .await
        .expect("initialized event");
    let line = C_PROGRAM
        .lines()
        .position(|l| l.contains("/* BREAK */"))
        .expect("marker") as u64
        + 1;
    client
        .request::<SetBreakpointsRequest>(
            SetBreakpointsArguments::new(Source::new().with_path(source.to_str().expect("UTF-8")))
                .with_breakpoints(vec![SourceBreakpoint::new(line)]),
        )
        .await
        .expect("setBreakpoints");
    client
        .request::<ConfigurationDoneRequest>(None)
        .await
        .expect("configurationDone");
    launched.response().await.expect("launch response");
    let Event::Stopped(stop) = events
        .wait_for_named("stopped", WAIT)
        .await
        .expect("stopped event")
    else {
        panic!("not a stopped event")
    };
    let thread_id = stop.body.thread_id.expect("thread id");
    client
        .request::<ThreadsRequest>(None)
        .await
        .expect("threads");
    let stack = client
        .request::<StackTraceRequest>(StackTraceArguments::new(thread_id))
        .await
        .expect("stackTrace");
    assert_eq!(stack.body.stack_frames[0].name, "twice");
    let scopes = client
        .request::<ScopesRequest>(ScopesArguments::new(stack.body.stack_frames[0].id))
        .await
        .expect("scopes");
    let vars = client
        .request::<VariablesRequest>(VariablesArguments::new(
            scopes.body.scopes[0].variables_reference,
        ))
        .await
        .expect("variables");
    assert!(
        vars.body.variables.iter().any(|v| v.name == "n"),
        "{vars:?}"
    );
    client
        .request::<ContinueRequest>(ContinueArguments::new(thread_id))
        .await
        .expect("continue");
    events
        .wait_for_named("terminated", WAIT)
        .await
        .expect("terminated event");
    client
        .request::<DisconnectRequest>(None)
        .await
        .expect("disconnect");
}

#[test]
fn gdb_session_replays_against_gdb_and_as_the_adapter() {
    let dir = tempfile::tempdir().expect("temp dir");
    let source = dir.path().join("twice.c");
    std::fs::write(&source, C_PROGRAM).expect("write program");
    let binary = dir.path().join("twice");
    let out = Command::new("gcc")
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
    let original = dir.path().join("gdb.jsonl");

    // The original: dapkit's Client → tap → gdb -i dap.
    rt().block_on(async {
        let writer = TraceWriter::create(&original, &Header::new(json!({"command": ["gdb"]})))
            .expect("create trace");
        let trace = Arc::new(Mutex::new(writer));
        let command = StdioCommand::new(gdb()).args(gdb_args()).cwd(dir.path());
        let mut connection = spawn_stdio(&command).expect("start gdb");
        let mut child = connection.take_child().expect("the gdb process");
        let (reader, writer) = connection.into_split();
        let options = ClientOptions::new().without_run_in_terminal();
        let (client, mut events, tap) = tapped_client(reader, writer, trace, options);
        tokio::time::timeout(
            Duration::from_secs(90),
            gdb_script(&client, &mut events, &source, &binary),
        )
        .await
        .expect("the gdb session finished in time");
        drop(client);
        drop(events);
        let _ = child.wait_or_kill(Duration::from_secs(5)).await;
        drained(tap).await;
    });

    // Against a fresh gdb.
    let again = dir.path().join("gdb-again.jsonl");
    let child = dapkit()
        .arg("replay")
        .arg(&original)
        .args(["--against", "--out"])
        .arg(&again)
        .arg("--")
        .arg(gdb())
        .args(gdb_args())
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dapkit replay --against");
    let out = wait_with_limit(child, Duration::from_secs(90));
    assert!(
        out.status.success(),
        "replay --against gdb exited {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    same_shape(&messages(&original), &messages(&again));
    diff_exits_0_ignoring(&original, &again, LIVE_GDB);

    // An edited trace: `dapkit diff` names the edited message.
    let lines: Vec<String> = std::fs::read_to_string(&original)
        .expect("read trace")
        .lines()
        .map(str::to_owned)
        .collect();
    let (record, command) = messages(&original)
        .iter()
        .find(|(_, d, _, v)| *d == Direction::ClientToAdapter && name(v) == "setBreakpoints")
        .map(|(n, _, _, v)| (*n, name(v).to_owned()))
        .expect("a setBreakpoints request");
    let mut edited = lines;
    let line = &edited[record as usize];
    let changed = line.replacen(r#""line":"#, r#""line":1"#, 1);
    assert_ne!(&changed, line, "the request names a line");
    edited[record as usize] = changed;
    let edited_path = dir.path().join("gdb-edited.jsonl");
    std::fs::write(&edited_path, edited.join("\n") + "\n").expect("write edited trace");
    diff_exits_1_naming(&original, &edited_path, &[], record, &command);

    // As the adapter, for the same client script.
    let replayed = dir.path().join("gdb-replayed.jsonl");
    let (child, port) = start_listening(&original);
    rt().block_on(async {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect to dapkit replay");
        let (reader, writer) = stream.into_split();
        let trace = Arc::new(Mutex::new(
            TraceWriter::create(&replayed, &Header::new(json!({"connect": port})))
                .expect("create trace"),
        ));
        let options = ClientOptions::new().without_run_in_terminal();
        let (client, mut events, tap) = tapped_client(reader, writer, trace, options);
        tokio::time::timeout(
            Duration::from_secs(60),
            gdb_script(&client, &mut events, &source, &binary),
        )
        .await
        .expect("the replayed gdb session finished in time");
        drop(client);
        drop(events);
        drained(tap).await;
    });
    let out = wait_with_limit(child, Duration::from_secs(20));
    assert!(
        out.status.success(),
        "dapkit replay --as-adapter exited {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    same_responses_and_events(&original, &replayed);
    diff_exits_0(&original, &replayed);
}

/// A session recorded with dapkit's `Client` served to VS Code's `DebugClient`: another
/// client (its `initialize` differs), answered all the same.
#[test]
fn as_adapter_serves_another_client_than_the_recorded_one() {
    let original = record_original("internalConsole");
    let replayed = original._dir.path().join("cross.jsonl");
    let (child, replay_port) = start_listening_with(&original.trace, &["-v"]);
    rt().block_on(async {
        let (port, tap) = tap_server(replay_port, &replayed).await;
        debug_client(port, &original.program).await;
        tokio::time::timeout(Duration::from_secs(20), tap)
            .await
            .expect("the tap ended")
            .expect("the tap ran");
    });
    let out = wait_with_limit(child, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exited {:?}: {stderr}", out.status);
    assert!(
        stderr.contains(
            "(initialize) matched record 1 (initialize) by the command only (arguments differ)"
        ),
        "the other client's initialize matched loosely: {stderr}"
    );
    let a = messages(&original.trace);
    let b = messages(&replayed);
    let responses = |m: &[(u64, Direction, String, Value)]| -> Vec<Value> {
        m.iter()
            .filter(|(_, d, _, v)| *d == Direction::AdapterToClient && kind(v) == "response")
            .map(|(_, _, _, v)| unsequenced(v))
            .collect()
    };
    assert_eq!(
        responses(&a),
        responses(&b),
        "every recorded response was served"
    );
}
