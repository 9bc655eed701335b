//! The client session against a native debug adapter: gdb's built-in DAP interpreter
//! (`gdb -i dap`, gdb 14 or later; `bash .ci/install-peers` installs gdb 18.1 into
//! `.peers/gdb-venv`), debugging a small C program compiled here with `gcc -g -O0`.
//!
//! gdb runs as a child over its stdio ([`dapkit_transport::spawn_stdio`]); the session goes
//! initialize → launch → setBreakpoints → configurationDone → stopped at the breakpoint →
//! threads → stackTrace (the function and its caller) → scopes → variables (an int, a
//! struct with a nested struct, an array) → evaluate → next → continue to the same
//! breakpoint in the next loop iteration → breakpoints removed → exited and terminated →
//! disconnect. Every wait is bounded; a failure carries gdb's stderr and DAP log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::TempDir;
use common::peers::{find, gdb, resume, step_over, variables, wait_event};
use dapkit_session::client::{Client, ClientOptions, Events};
use dapkit_transport::{StderrTail, StdioCommand, spawn_stdio};
use dapkit_types::Event;
use dapkit_types::messages::*;
use dapkit_types::types::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// One step (a request, or waiting for one event).
const WAIT: Duration = Duration::from_secs(30);
/// The whole session, gdb's start-up included.
const WHOLE: Duration = Duration::from_secs(90);

/// The debuggee. `alarm` ends it even if a failed test leaves it orphaned.
const PROGRAM: &str = r#"#include <stdio.h>
#include <unistd.h>

struct point {
    int x;
    int y;
};

struct sample {
    int id;
    struct point where;
    double weight;
};

static int weigh(struct sample s, int factor) {
    int base = s.id * 10;
    int window[3] = { s.id, s.where.x * factor, s.where.y * factor };
    int sum = base + window[0] + window[1] + window[2]; /* BREAK */
    int scaled = sum * 2; /* NEXT */
    return scaled;
}

int main(void) {
    alarm(120);
    struct sample samples[2] = {
        { 7, { 3, 4 }, 1.5 },
        { 8, { 5, 6 }, 2.5 },
    };
    int total = 0;
    for (int i = 0; i < 2; i++) {
        total += weigh(samples[i], i + 2); /* CALL */
    }
    printf("total %d\n", total);
    return total == 424 ? 0 : 3;
}
"#;

/// The 1-based line carrying `marker`.
fn line_of(marker: &str) -> u64 {
    common::peers::line_of(PROGRAM, marker)
}

/// Writes the program to `dir` and compiles it with debug information, no optimisation.
fn compile(dir: &Path) -> (PathBuf, PathBuf) {
    let source = dir.join("weigh.c");
    std::fs::write(&source, PROGRAM).unwrap();
    let binary = dir.join("weigh");
    let out = Command::new("gcc")
        .args(["-g", "-O0", "-o"])
        .arg(&binary)
        .arg(&source)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run gcc: {e}. Peer missing: run `bash .ci/install-peers` in the \
                 workspace root (it installs gcc)"
            )
        });
    assert!(
        out.status.success(),
        "gcc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (source, binary)
}

/// Everything seen so far that explains a failure: gdb's stderr and the end of its DAP log.
fn evidence(stderr: &StderrTail, dap_log: &Path) -> String {
    let log = std::fs::read_to_string(dap_log).unwrap_or_default();
    let tail: String = {
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    };
    format!(
        "--- gdb stderr (tail) ---\n{}\n--- gdb DAP log (last 40 lines) ---\n{tail}",
        stderr.contents()
    )
}

async fn stopped(events: &mut Events, reason: &str) -> StoppedEventBody {
    let e = wait_event(events, "stopped", WAIT, |e| matches!(e, Event::Stopped(_))).await;
    let Event::Stopped(s) = e else { unreachable!() };
    assert_eq!(s.body.reason.as_str(), reason, "stop reason: {:?}", s.body);
    s.body
}

async fn stack(client: &Client, thread_id: i32) -> Vec<StackFrame> {
    client
        .request::<StackTraceRequest>(StackTraceArguments::new(thread_id))
        .await
        .unwrap()
        .body
        .stack_frames
}

async fn scope(client: &Client, frame_id: i32, name: &str) -> Scope {
    let scopes = client
        .request::<ScopesRequest>(ScopesArguments::new(frame_id))
        .await
        .unwrap()
        .body
        .scopes;
    scopes
        .iter()
        .find(|s| s.name == name)
        .cloned()
        .unwrap_or_else(|| {
            let names: Vec<&str> = scopes.iter().map(|s| s.name.as_str()).collect();
            panic!("no scope {name:?} among {names:?}")
        })
}

async fn evaluate(client: &Client, frame_id: i32, expression: &str) -> String {
    let mut args = EvaluateArguments::new(expression);
    args.frame_id = Some(frame_id);
    args.context = Some(EvaluateArgumentsContext::Watch);
    client
        .request::<EvaluateRequest>(args)
        .await
        .unwrap_or_else(|e| panic!("evaluate {expression:?}: {e}"))
        .body
        .result
}

async fn set_breakpoints(client: &Client, source: &Path, lines: &[u64]) -> Vec<Breakpoint> {
    let args = SetBreakpointsArguments::new(Source::new().with_path(source.to_str().unwrap()))
        .with_breakpoints(lines.iter().map(|l| SourceBreakpoint::new(*l)).collect());
    client
        .request::<SetBreakpointsRequest>(args)
        .await
        .unwrap()
        .body
        .breakpoints
}

/// The session proper, once gdb runs.
async fn session(client: Client, mut events: Events, source: PathBuf, binary: PathBuf) {
    let events = &mut events;
    let client = &client;
    let break_line = line_of("/* BREAK */");

    let mut init = InitializeRequestArguments::new("gdb");
    init.client_id = Some("dapkit-test".into());
    init.lines_start_at1 = Some(true);
    init.columns_start_at1 = Some(true);
    init.path_format = Some("path".into());
    init.supports_variable_type = Some(true);
    let caps = client
        .request::<InitializeRequest>(init)
        .await
        .expect("initialize")
        .body
        .expect("capabilities");
    assert_eq!(caps.supports_configuration_done_request, Some(true));

    // gdb answers `launch` only after `configurationDone` (recent versions); keep it pending.
    let launch: LaunchRequestArguments = serde_json::from_value(json!({
        "name": "weigh", "type": "gdb", "request": "launch",
        "program": binary, "cwd": source.parent(),
        "stopAtBeginningOfMainSubprogram": false,
    }))
    .unwrap();
    let launched = client.send::<LaunchRequest>(launch).unwrap();
    wait_event(events, "initialized", WAIT, |e| {
        matches!(e, Event::Initialized(_))
    })
    .await;

    let bps = set_breakpoints(client, &source, &[break_line]).await;
    assert_eq!(bps.len(), 1, "{bps:?}");
    let bp = bps[0].clone();
    if bp.verified {
        assert_eq!(bp.line, Some(break_line), "{bp:?}");
    }

    client
        .request::<ConfigurationDoneRequest>(None)
        .await
        .expect("configurationDone");
    launched.response().await.expect("launch response");

    if !bp.verified {
        // gdb sends `initialized` before it has loaded the program, so the breakpoint starts
        // out pending; a `breakpoint` `changed` event verifies it once the program loads.
        assert!(bp.id.is_some(), "a pending breakpoint has an id: {bp:?}");
        let e = wait_event(events, "breakpoint changed (verified)", WAIT, |e| {
            matches!(e, Event::Breakpoint(b)
                if b.body.breakpoint.verified && b.body.breakpoint.id == bp.id)
        })
        .await;
        let Event::Breakpoint(b) = e else {
            unreachable!()
        };
        assert_eq!(b.body.reason.as_str(), "changed");
        assert_eq!(b.body.breakpoint.line, Some(break_line), "{:?}", b.body);
    }

    // First call: weigh(samples[0], 2).
    let s = stopped(events, "breakpoint").await;
    let thread_id = s.thread_id.expect("the stopped thread");
    let threads = client.request::<ThreadsRequest>(None).await.unwrap();
    assert!(
        threads.body.threads.iter().any(|t| t.id == thread_id),
        "stopped thread {thread_id} not among {:?}",
        threads.body.threads
    );

    let frames = stack(client, thread_id).await;
    assert!(frames.len() >= 2, "weigh and its caller: {frames:?}");
    let top = &frames[0];
    assert_eq!(top.name, "weigh");
    assert_eq!(top.line, break_line);
    let path = top.source.as_ref().and_then(|s| s.path.clone()).unwrap();
    assert!(path.ends_with("weigh.c"), "{path}");
    assert_eq!(frames[1].name, "main");
    assert_eq!(frames[1].line, line_of("/* CALL */"));

    // Locals: an int, an array; arguments: an int and a struct holding a struct.
    let locals = scope(client, top.id, "Locals").await;
    let vars = variables(client, locals.variables_reference).await;
    assert_eq!(find(&vars, "base").value, "70");
    let window = find(&vars, "window");
    let elements = variables(client, window.variables_reference).await;
    let values: Vec<&str> = elements.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(values, ["7", "6", "8"], "window elements: {elements:?}");
    let names: Vec<&str> = elements.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["0", "1", "2"]);
    assert_eq!(window.indexed_variables, Some(3), "{window:?}");

    let args = scope(client, top.id, "Arguments").await;
    let vars = variables(client, args.variables_reference).await;
    assert_eq!(find(&vars, "factor").value, "2");
    let s_var = find(&vars, "s");
    let fields = variables(client, s_var.variables_reference).await;
    assert_eq!(find(&fields, "id").value, "7");
    assert_eq!(find(&fields, "weight").value, "1.5");
    let where_ = find(&fields, "where");
    let point = variables(client, where_.variables_reference).await;
    assert_eq!(find(&point, "x").value, "3");
    assert_eq!(find(&point, "y").value, "4");

    // The caller's frame: its loop counter.
    let caller_locals = scope(client, frames[1].id, "Locals").await;
    let caller_vars = variables(client, caller_locals.variables_reference).await;
    assert_eq!(find(&caller_vars, "total").value, "0");
    assert_eq!(find(&caller_vars, "i").value, "0");

    // Arithmetic over locals, in the frame.
    assert_eq!(
        evaluate(client, top.id, "base + window[1] * window[2]").await,
        "118"
    );
    assert_eq!(evaluate(client, top.id, "s.where.x + s.where.y").await, "7");

    // Step over the breakpoint line.
    step_over(client, thread_id).await;
    let s = stopped(events, "step").await;
    let thread_id = s.thread_id.unwrap_or(thread_id);
    let top = stack(client, thread_id).await.remove(0);
    assert_eq!(top.name, "weigh");
    assert_eq!(top.line, line_of("/* NEXT */"));
    assert_eq!(evaluate(client, top.id, "sum").await, "91");

    // Continue: the next loop iteration stops at the same place, with new values.
    resume(client, thread_id).await;
    let s = stopped(events, "breakpoint").await;
    let thread_id = s.thread_id.unwrap_or(thread_id);
    let frames = stack(client, thread_id).await;
    assert_eq!(frames[0].name, "weigh");
    assert_eq!(frames[0].line, break_line);
    let args = scope(client, frames[0].id, "Arguments").await;
    let vars = variables(client, args.variables_reference).await;
    assert_eq!(find(&vars, "factor").value, "3");
    let locals = scope(client, frames[0].id, "Locals").await;
    assert_eq!(
        find(&variables(client, locals.variables_reference).await, "base").value,
        "80"
    );
    let caller_locals = scope(client, frames[1].id, "Locals").await;
    let caller_vars = variables(client, caller_locals.variables_reference).await;
    assert_eq!(find(&caller_vars, "i").value, "1");
    assert_eq!(find(&caller_vars, "total").value, "182");

    // No breakpoints left: run to the end.
    let bps = set_breakpoints(client, &source, &[]).await;
    assert!(bps.is_empty(), "{bps:?}");
    resume(client, thread_id).await;
    let e = wait_event(events, "exited", WAIT, |e| matches!(e, Event::Exited(_))).await;
    let Event::Exited(exited) = e else {
        unreachable!()
    };
    // 0 only when the program's own total is right (182 + 242).
    assert_eq!(exited.body.exit_code, 0, "the program's exit code");
    wait_event(events, "terminated", WAIT, |e| {
        matches!(e, Event::Terminated(_))
    })
    .await;

    // gdb relays the program's stdout as `output` events.
    wait_event(
        events,
        "output with the program's total",
        WAIT,
        |e| matches!(e, Event::Output(o) if o.body.output.contains("total 424")),
    )
    .await;

    let report = client.disconnect(None).await;
    assert!(client.is_closed());
    let report = report.unwrap_or_else(|e| panic!("gdb did not answer `disconnect`: {e}"));
    assert!(report.terminated, "{report:?}");
    assert_eq!(report.exit_code, Some(0), "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdb_dap_session_on_a_c_program() {
    let gdb = gdb();
    let dir = TempDir::new("gdb");
    let (source, binary) = compile(&dir.0);
    let dap_log = dir.0.join("dap.log");
    let command = StdioCommand::new(&gdb)
        .args(["--nx", "-q", "-iex", "set debuginfod enabled off", "-iex"])
        .arg(format!("set debug dap-log-file {}", dap_log.display()))
        .args(["-i", "dap"])
        .env_remove("DEBUGINFOD_URLS")
        .cwd(&dir.0);
    let started = Instant::now();
    let mut connection = spawn_stdio(&command).unwrap_or_else(|e| panic!("start {command}: {e}"));
    // The test keeps the gdb process (killed when dropped, by pid) and its stderr.
    let mut child = connection.take_child().expect("a child process");
    let stderr = child.stderr();
    let (client, events) = Client::connect(
        connection,
        ClientOptions::new().with_request_timeout(Some(WAIT)),
    );

    let run = tokio::spawn(session(client, events, source, binary));
    let outcome = tokio::time::timeout(WHOLE, run).await;
    let elapsed = started.elapsed();
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(join)) => {
            let why = match join.try_into_panic() {
                Ok(p) => p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default(),
                Err(e) => e.to_string(),
            };
            panic!(
                "gdb session failed after {elapsed:?}: {why}\n{}",
                evidence(&stderr, &dap_log)
            );
        }
        Err(_) => panic!(
            "gdb session did not finish within {WHOLE:?}\n{}",
            evidence(&stderr, &dap_log)
        ),
    }
    // After `disconnect` and the end of its stdin, gdb quits by itself.
    let status = child
        .wait_or_kill(Duration::from_secs(10))
        .await
        .expect("wait for gdb");
    assert_eq!(
        status.code(),
        Some(0),
        "gdb did not quit cleanly after disconnect ({status})\n{}",
        evidence(&stderr, &dap_log)
    );
    eprintln!("gdb session took {elapsed:?}");
}
