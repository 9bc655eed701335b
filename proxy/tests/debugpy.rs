//! debugpy behind the proxy: a controller and an observer (two dapkit `Client`s), then a
//! third client that joins after the stop.
//!
//! The adapter is `python -m debugpy.adapter --port P` (reached with `--connect`-style
//! retry); the controller launches with `console: "integratedTerminal"`, so the adapter's
//! `runInTerminal` goes through the proxy to the controller, whose handler starts the
//! debuggee.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../session/tests/common/mod.rs"]
mod common;

use common::TempDir;
use common::peers::{GroupGuard, find, line_of, python, spawn_group, variables, wait_event};
use dapkit_proxy::{Adapter, Ended, Proxy, ProxyOptions};
use dapkit_session::client::{Client, ClientOptions, Events, RequestError};
use dapkit_transport::{Endpoint, RetryPolicy};
use dapkit_types::messages::*;
use dapkit_types::types::*;
use dapkit_types::{Event, Response};
use serde_json::json;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const WHOLE: Duration = Duration::from_secs(150);

const PROGRAM: &str = r#"import time


def first(n):
    numbers = [n, n * 2, n * 3]
    total = sum(numbers)  # FIRST
    return total


def second(label):
    greeting = "hello " + label
    size = len(greeting)  # SECOND
    return size


for i in range(3):
    print("tick", i)
a = first(7)
b = second("proxy")
print("done", a, b)
"#;

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

async fn connect_client(proxy: &Endpoint, options: ClientOptions) -> (Client, Events) {
    let conn = dapkit_transport::connect(proxy, &RetryPolicy::default())
        .await
        .expect("connect to the proxy");
    Client::connect(conn, options)
}

fn initialize_args(run_in_terminal: bool) -> InitializeRequestArguments {
    let mut a = InitializeRequestArguments::new("debugpy");
    a.client_id = Some("dapkit-proxy-test".into());
    a.lines_start_at1 = Some(true);
    a.columns_start_at1 = Some(true);
    a.path_format = Some("path".into());
    a.supports_run_in_terminal_request = Some(run_in_terminal);
    a
}

async fn set_breakpoint(client: &Client, program: &Path, line: u64) -> Vec<Breakpoint> {
    client
        .request::<SetBreakpointsRequest>(
            SetBreakpointsArguments::new(Source::new().with_path(program.to_str().unwrap()))
                .with_breakpoints(vec![SourceBreakpoint::new(line)]),
        )
        .await
        .expect("setBreakpoints")
        .body
        .breakpoints
}

async fn stopped(events: &mut Events, who: &str) -> StoppedEvent {
    let e = wait_event(events, &format!("stopped ({who})"), WAIT, |e| {
        matches!(e, Event::Stopped(_))
    })
    .await;
    let Event::Stopped(s) = e else { unreachable!() };
    s
}

/// The top frame of the stopped thread and the value of local `name` in it.
async fn local(client: &Client, thread_id: i32, name: &str) -> (StackFrame, String) {
    let trace = client
        .request::<StackTraceRequest>(StackTraceArguments::new(thread_id))
        .await
        .expect("stackTrace");
    let frame = trace.body.stack_frames.into_iter().next().expect("a frame");
    let scopes = client
        .request::<ScopesRequest>(ScopesArguments::new(frame.id))
        .await
        .expect("scopes")
        .body
        .scopes;
    let locals = scopes
        .iter()
        .find(|s| s.name == "Locals")
        .expect("a Locals scope");
    let vars = variables(client, locals.variables_reference).await;
    let value = find(&vars, name).value.clone();
    (frame, value)
}

async fn control_changed(events: &mut Events, who: &str) -> serde_json::Value {
    let e = wait_event(events, &format!("controlChanged ({who})"), WAIT, |e| {
        e.event() == Some("dapkitProxy/controlChanged")
    })
    .await;
    let Event::Custom(raw) = e else {
        panic!("a custom event")
    };
    raw.body().cloned().expect("a body")
}

fn refused(result: Result<impl std::fmt::Debug, RequestError>, command: &str) {
    match result {
        Err(RequestError::Failed(e)) => {
            let text = format!("{e:?}");
            assert!(
                text.contains(&format!("observer cannot send {command}")),
                "refusal names the command: {text}"
            );
        }
        other => panic!("{command} from an observer was not refused: {other:?}"),
    }
}

/// Runs `tests/vscode/observer.js` (VS Code's `DebugClient`) against the proxy.
async fn vscode_observer(at: &Endpoint, thread: i32, frame: &str, variable: &str, value: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let modules = root.join("../session/tests/vscode/node_modules");
    assert!(
        modules.join("@vscode/debugadapter-testsupport").is_dir(),
        "VS Code's DebugClient is missing: run `bash .ci/install-peers` (or `npm ci` in session/tests/vscode)"
    );
    let port = at.tcp_addr().expect("a TCP proxy").port();
    let mut node = tokio::process::Command::new("node");
    node.arg(root.join("tests/vscode/observer.js"))
        .env("NODE_PATH", &modules)
        .env("DAPKIT_PROXY_PORT", port.to_string())
        .env("DAPKIT_EXPECT_THREAD", thread.to_string())
        .env("DAPKIT_EXPECT_FRAME", frame)
        .env("DAPKIT_EXPECT_VARIABLE", variable)
        .env("DAPKIT_EXPECT_VALUE", value)
        .kill_on_drop(true);
    let out = tokio::time::timeout(WAIT, node.output())
        .await
        .expect("the DebugClient script within its time")
        .expect("node runs (Node.js 20+ is needed; see .ci/install-peers)");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "the DebugClient observer failed:\n{report}"
    );
    assert!(report.contains("observer ok"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debugpy_controller_observer_and_late_joiner() {
    let python = python();
    let dir = TempDir::new("proxy-debugpy");
    let program = dir.0.join("prog.py");
    std::fs::write(&program, PROGRAM).unwrap();
    let port = free_port();
    let adapter = spawn_group(
        Command::new(&python)
            .args(["-m", "debugpy.adapter", "--host", "127.0.0.1", "--port"])
            .arg(port.to_string()),
    );
    let guard = GroupGuard::new(Some(adapter));
    let trace = dir.0.join("session.trace");

    tokio::time::timeout(WHOLE, async {
        let adapter = Adapter::Connect(
            Endpoint::Tcp(([127, 0, 0, 1], port).into()),
            RetryPolicy::default(),
        );
        let listen = Endpoint::Tcp(([127, 0, 0, 1], 0).into());
        let proxy = Proxy::start(&listen, &adapter, ProxyOptions::new().record(&trace))
            .await
            .expect("the proxy starts");
        let at = proxy.local_endpoint().clone();
        let running = tokio::spawn(proxy.run());

        // The controller runs the debuggee when asked (runInTerminal through the proxy).
        let asked = Arc::new(Mutex::new(Vec::<RunInTerminalRequestArguments>::new()));
        let seen = asked.clone();
        let pids = guard.pids.clone();
        let options = ClientOptions::new().on_run_in_terminal(move |args| {
            seen.lock().unwrap().push(args.clone());
            let pids = pids.clone();
            async move {
                let body = dapkit_session::client::run_in_terminal(args).await?;
                if let Some(pid) = body.process_id {
                    pids.lock().unwrap().push(pid as u32);
                }
                Ok(body)
            }
        });
        let (a, mut a_events) = connect_client(&at, options).await;
        let a_caps = a
            .request::<InitializeRequest>(initialize_args(true))
            .await
            .expect("controller's initialize");

        // The observer's initialize is answered from the cached capabilities.
        let (b, mut b_events) = connect_client(&at, ClientOptions::new()).await;
        let b_caps = b
            .request::<InitializeRequest>(initialize_args(false))
            .await
            .expect("observer's initialize");
        assert_eq!(
            a_caps.body, b_caps.body,
            "the observer gets the adapter's capabilities"
        );
        let role = control_changed(&mut b_events, "observer joins").await;
        assert_eq!(role["role"], "observer");

        let launch: LaunchRequestArguments = serde_json::from_value(json!({
            "name": "launch", "type": "python", "request": "launch",
            "program": program, "cwd": dir.0, "console": "integratedTerminal",
            "python": [python], "justMyCode": true
        }))
        .unwrap();
        let launched = a.send::<LaunchRequest>(launch).unwrap();
        wait_event(&mut a_events, "initialized (controller)", WAIT, |e| {
            matches!(e, Event::Initialized(_))
        })
        .await;
        wait_event(&mut b_events, "initialized (observer)", WAIT, |e| {
            matches!(e, Event::Initialized(_))
        })
        .await;

        // Breakpoints in one source from two clients: merged upstream, each sees its own.
        let first_line = line_of(PROGRAM, "# FIRST");
        let second_line = line_of(PROGRAM, "# SECOND");
        let mine = set_breakpoint(&a, &program, first_line).await;
        assert_eq!(
            mine.len(),
            1,
            "controller's response: only its own breakpoint"
        );
        assert_eq!(mine[0].line, Some(first_line));
        let theirs = set_breakpoint(&b, &program, second_line).await;
        assert_eq!(
            theirs.len(),
            1,
            "observer's response: only its own breakpoint"
        );
        assert_eq!(theirs[0].line, Some(second_line));
        assert!(
            theirs[0].verified,
            "observer's breakpoint verified: {theirs:?}"
        );

        // The observer may not configure or start anything upstream.
        a.request::<ConfigurationDoneRequest>(None)
            .await
            .expect("configurationDone");
        launched.response().await.expect("launch");
        assert_eq!(
            asked.lock().unwrap().len(),
            1,
            "runInTerminal reached the controller"
        );

        // Both see the stop at the controller's breakpoint.
        let stop = stopped(&mut a_events, "controller").await;
        let b_stop = stopped(&mut b_events, "observer").await;
        assert_eq!(stop.body.thread_id, b_stop.body.thread_id);
        let thread = stop.body.thread_id.expect("a thread");

        // The observer reads the stack, scopes and variables at that stop.
        let (frame, numbers) = local(&b, thread, "numbers").await;
        assert_eq!(frame.name, "first");
        assert_eq!(frame.line, first_line);
        assert_eq!(numbers, "[7, 14, 21]");
        let mut hover = EvaluateArguments::new("n * 10");
        hover.frame_id = Some(frame.id);
        hover.context = Some(EvaluateArgumentsContext::Hover);
        let value = b
            .request::<EvaluateRequest>(hover)
            .await
            .expect("hover evaluate");
        assert_eq!(value.body.result, "70");

        // Its continue is refused and does not reach the adapter (still stopped after).
        refused(
            b.request::<ContinueRequest>(ContinueArguments::new(thread))
                .await,
            "continue",
        );
        let mut repl = EvaluateArguments::new("n");
        repl.context = Some(EvaluateArgumentsContext::Repl);
        refused(b.request::<EvaluateRequest>(repl).await, "evaluate");
        let (frame_again, _) = local(&a, thread, "n").await;
        assert_eq!(
            frame_again.line, first_line,
            "the refused continue did not run"
        );

        // The controller continues to the observer's breakpoint.
        a.request::<ContinueRequest>(ContinueArguments::new(thread))
            .await
            .expect("continue");
        let stop = stopped(&mut a_events, "controller, second").await;
        stopped(&mut b_events, "observer, second").await;
        let (frame, greeting) = local(&a, stop.body.thread_id.unwrap(), "greeting").await;
        assert_eq!(frame.name, "second");
        assert_eq!(greeting, "'hello proxy'");

        // A client joining now gets the snapshot (initialized, stopped, output) and reads.
        let (c, mut c_events) = connect_client(&at, ClientOptions::new()).await;
        c.request::<InitializeRequest>(initialize_args(false))
            .await
            .expect("late initialize");
        wait_event(&mut c_events, "initialized (late)", WAIT, |e| {
            matches!(e, Event::Initialized(_))
        })
        .await;
        let c_stop = stopped(&mut c_events, "late joiner's snapshot").await;
        assert_eq!(c_stop.body.thread_id, Some(thread));
        // The program prints to the terminal; the adapter's own output events are replayed.
        wait_event(&mut c_events, "output (late)", WAIT, |e| match e {
            Event::Output(o) => o.body.output == "debugpy",
            _ => false,
        })
        .await;
        c.request::<AttachRequest>(serde_json::from_value(json!({})).unwrap())
            .await
            .expect("a late attach is answered by the proxy");
        let (_, greeting) = local(&c, thread, "greeting").await;
        assert_eq!(greeting, "'hello proxy'");

        // VS Code's DebugClient joins too, as an observer.
        vscode_observer(&at, thread, "second", "greeting", "'hello proxy'").await;

        // takeControl moves control: the old controller is now refused.
        let taken = b
            .request_raw("dapkitProxy/takeControl", None)
            .await
            .expect("takeControl");
        assert!(matches!(taken, Response::Custom(_)), "{taken:?}");
        let role = control_changed(&mut a_events, "controller loses control").await;
        assert_eq!(role["role"], "observer");
        refused(
            a.request::<NextRequest>(NextArguments::new(thread)).await,
            "next",
        );
        a.request_raw("dapkitProxy/takeControl", None)
            .await
            .expect("take control back");

        // The observers' sockets close without disconnect; the controller finishes.
        drop(b);
        drop(b_events);
        c.close().await;
        a.request::<ContinueRequest>(ContinueArguments::new(thread))
            .await
            .expect("continue to the end");
        wait_event(&mut a_events, "terminated", WAIT, |e| {
            matches!(e, Event::Terminated(_))
        })
        .await;
        let _ = a.disconnect(None).await;
        let ended = tokio::time::timeout(WAIT, running)
            .await
            .expect("the proxy ends after the session")
            .expect("the proxy task");
        assert!(
            matches!(ended, Ok(Ended::Disconnected)),
            "the proxy ended cleanly: {ended:?}"
        );
    })
    .await
    .expect("the whole session within its time");

    // The recording holds both sides: the upstream side (client 0) and clients 1 to 3.
    let mut reader = dapkit_trace::TraceReader::open(&trace).expect("the trace opens");
    let mut clients = std::collections::BTreeSet::new();
    let mut continues_upstream = 0;
    while let Some(r) = reader.next_record().expect("a readable record") {
        clients.insert(r.client);
        let json = r.json().unwrap_or_default();
        if r.client == 0
            && r.direction == dapkit_trace::Direction::ClientToAdapter
            && json.contains("\"command\":\"continue\"")
        {
            continues_upstream += 1;
        }
    }
    // The controller's two continues went upstream; the observer's refused one did not.
    assert_eq!(continues_upstream, 2, "continue requests the adapter got");
    // 0 the adapter side; 1 controller, 2 observer, 3 late joiner, 4 VS Code's DebugClient.
    assert_eq!(clients.into_iter().collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
}
