//! The client session against a real debugpy (1.8.22, installed by `bash .ci/install-peers`).
//!
//! Two ways in:
//! 1. `python -m debugpy --listen 127.0.0.1:P --wait-for-client prog.py`, then `attach` with
//!    `connect: {host, port}`; the client connects with retry (never probing).
//! 2. `python -m debugpy.adapter --host 127.0.0.1 --port P`, then `launch` with
//!    `console: "integratedTerminal"`: the adapter sends `runInTerminal` and the client's
//!    default handler starts the debuggee.
//!
//! 3. The reverse connection: the adapter runs over its stdio
//!    ([`dapkit_transport::spawn_stdio`]), `attach` with `listen: {host, port: 0}` makes it
//!    listen (it reports the port in its custom `debugpyWaitingForServer` event), and the
//!    debuggee's `debugpy.connect()` reaches it.
//!
//! All three go through the same session: breakpoints, stop, threads, stack, scopes, nested
//! variables, evaluate, step, continue, exception stop with exceptionInfo, termination.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::TempDir;
use common::peers::{
    GroupGuard, find, python, resume, spawn_group, step_over, variables, wait_event,
};
use dapkit_session::client::{Client, ClientOptions, Events, PendingRequest};
use dapkit_transport::{Endpoint, RetryPolicy};
use dapkit_types::Event;
use dapkit_types::messages::*;
use dapkit_types::traits::Request as RequestTrait;
use dapkit_types::types::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const WHOLE: Duration = Duration::from_secs(120);

const PROGRAM: &str = r#"import sys


def compute(n):
    data = {"numbers": [n, n * 2, n * 3], "label": "triple", "nested": {"depth": 2}}
    total = sum(data["numbers"])  # BREAK
    doubled = total * 2  # NEXT
    return data, doubled


def fail(value):
    raise ValueError("bad value: %d" % value)  # RAISE


result, doubled = compute(7)
print("doubled", doubled)
try:
    fail(doubled)  # CALLER
except ValueError:
    pass
print("done")
"#;

/// The 1-based line of the marker comment.
fn line_of(marker: &str) -> u64 {
    common::peers::line_of(PROGRAM, marker)
}

/// A free loopback port: bind port 0, read it, close the listener.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

async fn connect(port: u16) -> (Client, Events) {
    connect_with(port, ClientOptions::new()).await
}

async fn connect_with(port: u16, options: ClientOptions) -> (Client, Events) {
    let endpoint = Endpoint::Tcp(([127, 0, 0, 1], port).into());
    let policy = RetryPolicy::default()
        .with_interval(Duration::from_millis(100))
        .with_max_tries(300);
    let conn = dapkit_transport::connect(&endpoint, &policy)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to debugpy on port {port}: {e}"));
    Client::connect(conn, options)
}

fn initialize_args() -> InitializeRequestArguments {
    let mut a = InitializeRequestArguments::new("debugpy");
    a.client_id = Some("dapkit-test".into());
    a.lines_start_at1 = Some(true);
    a.columns_start_at1 = Some(true);
    a.path_format = Some("path".into());
    a.supports_variable_type = Some(true);
    a.supports_run_in_terminal_request = Some(true);
    a
}

async fn stopped(events: &mut Events, reason: &str) -> StoppedEvent {
    let e = events
        .wait_for(|e| matches!(e, Event::Stopped(_)), WAIT)
        .await
        .unwrap_or_else(|e| panic!("no stopped event ({reason}): {e}"));
    let Event::Stopped(s) = e else { unreachable!() };
    assert_eq!(s.body.reason.as_str(), reason, "stop reason");
    s
}

async fn top_frame(client: &Client, thread_id: i32) -> StackFrame {
    let st = client
        .request::<StackTraceRequest>(StackTraceArguments::new(thread_id))
        .await
        .unwrap();
    st.body.stack_frames.into_iter().next().expect("a frame")
}

async fn evaluate(client: &Client, frame_id: i32, expression: &str) -> String {
    let mut args = EvaluateArguments::new(expression);
    args.frame_id = Some(frame_id);
    args.context = Some(EvaluateArgumentsContext::Repl);
    client
        .request::<EvaluateRequest>(args)
        .await
        .unwrap()
        .body
        .result
}

/// The whole session, after `start` (attach or launch) was sent: configuration, stops,
/// inspection, stepping, exception, termination.
async fn session<R: RequestTrait>(
    client: &Client,
    events: &mut Events,
    start: PendingRequest<R::Response>,
    program: &Path,
) {
    events
        .wait_for(|e| matches!(e, Event::Initialized(_)), WAIT)
        .await
        .expect("initialized event");

    let break_line = line_of("# BREAK");
    let bps = client
        .request::<SetBreakpointsRequest>(
            SetBreakpointsArguments::new(Source::new().with_path(program.to_str().unwrap()))
                .with_breakpoints(vec![SourceBreakpoint::new(break_line)]),
        )
        .await
        .unwrap();
    assert_eq!(bps.body.breakpoints.len(), 1);
    assert!(bps.body.breakpoints[0].verified, "breakpoint not verified");
    assert_eq!(bps.body.breakpoints[0].line, Some(break_line));

    client
        .request::<SetExceptionBreakpointsRequest>(SetExceptionBreakpointsArguments::new(vec![
            "raised".into(),
        ]))
        .await
        .unwrap();
    client
        .request::<ConfigurationDoneRequest>(None)
        .await
        .unwrap();
    start.response().await.expect("attach/launch response");

    // Stopped at the breakpoint.
    let s = stopped(events, "breakpoint").await;
    let threads = client.request::<ThreadsRequest>(None).await.unwrap();
    let thread_id = s.body.thread_id.expect("stopped thread");
    assert!(
        threads.body.threads.iter().any(|t| t.id == thread_id),
        "stopped thread {thread_id} not among {:?}",
        threads.body.threads
    );
    let frame = top_frame(client, thread_id).await;
    assert_eq!(frame.name, "compute");
    assert_eq!(frame.line, break_line);
    let source = frame.source.as_ref().and_then(|s| s.path.clone()).unwrap();
    assert!(source.ends_with("prog.py"), "{source}");

    // Scopes and nested variables.
    let scopes = client
        .request::<ScopesRequest>(ScopesArguments::new(frame.id))
        .await
        .unwrap();
    let locals = scopes
        .body
        .scopes
        .iter()
        .find(|s| s.name == "Locals")
        .expect("a Locals scope");
    let vars = variables(client, locals.variables_reference).await;
    assert_eq!(find(&vars, "n").value, "7");
    let data = find(&vars, "data");
    assert!(data.variables_reference > 0, "data is expandable");
    let entries = variables(client, data.variables_reference).await;
    assert_eq!(find(&entries, "'label'").value, "'triple'");
    let numbers = find(&entries, "'numbers'");
    assert_eq!(numbers.value, "[7, 14, 21]");
    let items = variables(client, numbers.variables_reference).await;
    assert_eq!(find(&items, "0").value, "7");
    assert_eq!(find(&items, "2").value, "21");
    let nested = find(&entries, "'nested'");
    let nested = variables(client, nested.variables_reference).await;
    assert_eq!(find(&nested, "'depth'").value, "2");

    // Evaluate in the frame.
    assert_eq!(
        evaluate(client, frame.id, "sum(data['numbers'])").await,
        "42"
    );
    assert_eq!(
        evaluate(client, frame.id, "data['label'].upper()").await,
        "'TRIPLE'"
    );

    // Step over one line.
    step_over(client, thread_id).await;
    let s = stopped(events, "step").await;
    let frame = top_frame(client, s.body.thread_id.unwrap_or(thread_id)).await;
    assert_eq!(frame.line, line_of("# NEXT"));
    assert_eq!(evaluate(client, frame.id, "total").await, "42");

    // Continue to the raised exception.
    resume(client, thread_id).await;
    let s = stopped(events, "exception").await;
    let ex_thread = s.body.thread_id.unwrap_or(thread_id);
    let info = client
        .request::<ExceptionInfoRequest>(ExceptionInfoArguments::new(ex_thread))
        .await
        .unwrap();
    assert_eq!(info.body.exception_id, "ValueError");
    assert_eq!(info.body.description.as_deref(), Some("bad value: 84"));
    let frame = top_frame(client, ex_thread).await;
    assert_eq!(frame.name, "fail");
    assert_eq!(frame.line, line_of("# RAISE"));

    // With the "raised" filter debugpy stops once more as the exception passes through
    // the calling frame (the module, where it is caught).
    resume(client, ex_thread).await;
    let s = stopped(events, "exception").await;
    assert_eq!(s.body.description.as_deref(), Some("bad value: 84"));
    let frame = top_frame(client, s.body.thread_id.unwrap_or(ex_thread)).await;
    assert_eq!(frame.name, "<module>");
    assert_eq!(frame.line, line_of("# CALLER"));

    // Run to the end.
    resume(client, ex_thread).await;
    wait_event(events, "terminated", WAIT, |e| {
        matches!(e, Event::Terminated(_))
    })
    .await;
    assert!(client.status().terminated);
}

fn write_program(dir: &TempDir) -> PathBuf {
    let program = dir.0.join("prog.py");
    std::fs::write(&program, PROGRAM).unwrap();
    // debugpy reports real paths.
    std::fs::canonicalize(&program).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debugpy_listen_and_attach() {
    let python = python();
    let dir = TempDir::new("debugpy-listen");
    let program = write_program(&dir);
    let port = free_port();
    // The client connects with retry while debugpy starts: it must not need a probe.
    let child = spawn_group(
        Command::new(&python)
            .args(["-m", "debugpy", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--wait-for-client")
            .arg(&program)
            .current_dir(&dir.0),
    );
    let _guard = GroupGuard::new(Some(child));
    tokio::time::timeout(WHOLE, async {
        let (client, mut events) = connect(port).await;
        let init = client
            .request::<InitializeRequest>(initialize_args())
            .await
            .unwrap();
        let caps = init.body.expect("capabilities");
        assert_eq!(caps.supports_configuration_done_request, Some(true));
        assert_eq!(caps.supports_exception_info_request, Some(true));
        let attach: AttachRequestArguments = serde_json::from_value(json!({
            "name": "attach", "type": "python", "request": "attach",
            "connect": {"host": "127.0.0.1", "port": port},
            "justMyCode": true
        }))
        .unwrap();
        let start = client.send::<AttachRequest>(attach).unwrap();
        session::<AttachRequest>(&client, &mut events, start, &program).await;
        let report = client.disconnect(None).await.expect("disconnect response");
        assert!(report.terminated);
        assert!(client.is_closed());
    })
    .await
    .expect("the debugpy session finished within 120 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debugpy_adapter_launch_in_terminal() {
    let python = python();
    let dir = TempDir::new("debugpy-launch");
    let program = write_program(&dir);
    let port = free_port();
    let adapter = spawn_group(
        Command::new(&python)
            .args(["-m", "debugpy.adapter", "--host", "127.0.0.1", "--port"])
            .arg(port.to_string()),
    );
    let guard = GroupGuard::new(Some(adapter));
    let pids = guard.pids.clone();
    let ran = Arc::new(Mutex::new(Vec::<RunInTerminalRequestArguments>::new()));
    let seen = ran.clone();
    // The default handler runs the command; the test records its pid for cleanup.
    let options = ClientOptions::new().on_run_in_terminal(move |args| {
        let pids = pids.clone();
        seen.lock().unwrap().push(args.clone());
        async move {
            let body = dapkit_session::client::run_in_terminal(args).await?;
            if let Some(pid) = body.process_id {
                pids.lock().unwrap().push(pid as u32);
            }
            Ok(body)
        }
    });
    tokio::time::timeout(WHOLE, async {
        let (client, mut events) = connect_with(port, options).await;
        client
            .request::<InitializeRequest>(initialize_args())
            .await
            .unwrap();
        let launch: LaunchRequestArguments = serde_json::from_value(json!({
            "name": "launch", "type": "python", "request": "launch",
            "program": program, "cwd": dir.0, "console": "integratedTerminal",
            "python": [python], "justMyCode": true
        }))
        .unwrap();
        let start = client.send::<LaunchRequest>(launch).unwrap();
        session::<LaunchRequest>(&client, &mut events, start, &program).await;

        // The adapter asked us to run the debuggee, in the program's directory.
        let ran = ran.lock().unwrap().clone();
        assert_eq!(ran.len(), 1, "one runInTerminal request");
        assert_eq!(Path::new(&ran[0].cwd), dir.0.as_path());
        assert!(
            ran[0].args.iter().any(|a| a.ends_with("prog.py")),
            "{:?}",
            ran[0].args
        );
        assert!(
            guard.pids.lock().unwrap().len() == 2,
            "the debuggee's pid was recorded"
        );

        let exited = events
            .wait_for(|e| matches!(e, Event::Exited(_)), Duration::from_secs(5))
            .await;
        let Ok(Event::Exited(e)) = exited else {
            panic!("no exited event: {exited:?}")
        };
        assert_eq!(e.body.exit_code, 0);
        let report = client.disconnect(None).await.expect("disconnect response");
        assert_eq!(report.exit_code, Some(0));
        assert!(report.terminated);
        assert!(client.is_closed());
    })
    .await
    .expect("the debugpy session finished within 120 s");
}

/// Connects to the adapter given on the command line, waits for the client's configuration,
/// then runs the program as `__main__`.
const CONNECT_THEN_RUN: &str = r#"import runpy, sys
import debugpy
debugpy.connect(("127.0.0.1", int(sys.argv[1])))
debugpy.wait_for_client()
sys.argv = sys.argv[2:]
runpy.run_path(sys.argv[0], run_name="__main__")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debugpy_reverse_connection_attach_listen() {
    let python = python();
    let dir = TempDir::new("debugpy-reverse");
    let program = write_program(&dir);
    let runner = dir.0.join("connect_then_run.py");
    std::fs::write(&runner, CONNECT_THEN_RUN).unwrap();
    let mut guard = GroupGuard::new(None);
    tokio::time::timeout(WHOLE, async {
        // The adapter over stdio; killed when the client's writer goes away.
        let adapter = dapkit_transport::spawn_stdio(
            &dapkit_transport::StdioCommand::new(&python).args(["-m", "debugpy.adapter"]),
        )
        .expect("start the debugpy adapter");
        let (client, mut events) = Client::connect(adapter, ClientOptions::new());
        client
            .request::<InitializeRequest>(initialize_args())
            .await
            .unwrap();
        let attach: AttachRequestArguments = serde_json::from_value(json!({
            "name": "attach", "type": "python", "request": "attach",
            "listen": {"host": "127.0.0.1", "port": 0},
            "justMyCode": true
        }))
        .unwrap();
        let start = client.send::<AttachRequest>(attach).unwrap();
        let waiting = events
            .wait_for_named("debugpyWaitingForServer", WAIT)
            .await
            .expect("debugpyWaitingForServer event");
        let Event::Custom(raw) = &waiting else {
            panic!("expected a custom event, got {waiting:?}")
        };
        let port = raw.body().and_then(|b| b["port"].as_u64()).expect("a port");
        assert!(port > 0);
        assert_eq!(raw.body().unwrap()["host"], "127.0.0.1");
        let debuggee = spawn_group(
            Command::new(&python)
                .arg(&runner)
                .arg(port.to_string())
                .arg(&program)
                .current_dir(&dir.0),
        );
        guard.pids.lock().unwrap().push(debuggee.id());
        guard.child = Some(debuggee);
        session::<AttachRequest>(&client, &mut events, start, &program).await;
        let report = client.disconnect(None).await.expect("disconnect response");
        assert!(report.terminated);
        assert!(client.is_closed());
    })
    .await
    .expect("the debugpy session finished within 120 s");
}
