//! The client session against delve's debug adapter (`dlv dap`, installed with the go
//! toolchain by `bash .ci/install-peers`), debugging a small Go program built here with
//! `go build -gcflags='all=-N -l'` (offline: module mode, caches in the test's directory).
//!
//! delve listens on a loopback port picked by the test; the client connects with retry
//! (never probing) and goes initialize → launch (`mode: exec`) → setBreakpoints →
//! configurationDone → stopped at the breakpoint → threads → stackTrace (`main.weigh` and
//! `main.main`) → scopes → variables (ints, a struct holding a struct, a slice) → evaluate →
//! next → continue to the breakpoint in the next loop iteration → breakpoints removed →
//! terminated → disconnect, after which delve quits. Every wait is bounded; delve and the
//! debuggee are killed by pid when the test ends; a failure prints delve's log.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::TempDir;
use common::peers::{
    GroupGuard, find, program_on_path, resume, spawn_group, step_over, variables, wait_event,
};
use dapkit_session::client::{Client, ClientOptions, Events};
use dapkit_transport::{Endpoint, RetryPolicy};
use dapkit_types::Event;
use dapkit_types::messages::*;
use dapkit_types::types::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// One step (a request, or waiting for one event).
const WAIT: Duration = Duration::from_secs(30);
/// The whole session, from delve's start to its exit.
const WHOLE: Duration = Duration::from_secs(90);

/// The debuggee. `samples` holds structs with a nested struct; `weigh` builds a slice.
const PROGRAM: &str = r#"package main

import (
	"fmt"
	"os"
)

type point struct {
	X int
	Y int
}

type sample struct {
	ID     int
	Where  point
	Weight float64
}

func weigh(s sample, factor int) int {
	base := s.ID * 10
	window := []int{s.ID, s.Where.X * factor, s.Where.Y * factor}
	sum := base + window[0] + window[1] + window[2] // BREAK
	scaled := sum * 2 // NEXT
	return scaled
}

func main() {
	samples := []sample{
		{ID: 7, Where: point{X: 3, Y: 4}, Weight: 1.5},
		{ID: 8, Where: point{X: 5, Y: 6}, Weight: 2.5},
	}
	total := 0
	for i := range samples {
		total += weigh(samples[i], i+2) // CALL
	}
	fmt.Printf("total %d\n", total)
	if total != 424 {
		os.Exit(3)
	}
}
"#;

/// The 1-based line carrying `marker`.
fn line_of(marker: &str) -> u64 {
    common::peers::line_of(PROGRAM, marker)
}

/// Writes the module to `dir` and builds it without optimisation or inlining, offline.
fn build(go: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    let source = dir.join("main.go");
    std::fs::write(&source, PROGRAM).unwrap();
    std::fs::write(dir.join("go.mod"), "module demo\n\ngo 1.19\n").unwrap();
    let binary = dir.join("demo");
    let out = Command::new(go)
        .args(["build", "-gcflags=all=-N -l", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(dir)
        .env("GOFLAGS", "-mod=mod")
        .env("GOPATH", dir.join("gopath"))
        .env("GOCACHE", dir.join("gocache"))
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GO111MODULE", "on")
        .env("GOENV", "off")
        .env("CGO_ENABLED", "0")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", go.display()));
    assert!(
        out.status.success(),
        "go build failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (source, binary)
}

/// Prints delve's output when the test fails (dropped while panicking).
struct Evidence(PathBuf);

impl Drop for Evidence {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let log = std::fs::read_to_string(&self.0).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(60)..].join("\n");
            eprintln!("--- delve output (last 60 lines) ---\n{tail}");
        }
    }
}

/// The processes delve started (the debuggee), read from `/proc`.
fn children_of(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|text| {
            text.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Waits for a `stopped` event with `reason`; returns its thread (goroutine) id.
async fn stopped(events: &mut Events, reason: &str) -> i32 {
    let Event::Stopped(s) =
        wait_event(events, "stopped", WAIT, |e| matches!(e, Event::Stopped(_))).await
    else {
        unreachable!()
    };
    assert_eq!(s.body.reason.as_str(), reason, "stop reason: {:?}", s.body);
    s.body.thread_id.expect("the stopped goroutine")
}

/// The frames of `thread_id`, innermost first.
async fn frames(client: &Client, thread_id: i32) -> Vec<StackFrame> {
    let args = StackTraceArguments::new(thread_id);
    let response = client.request::<StackTraceRequest>(args).await.unwrap();
    response.body.stack_frames
}

/// Every variable of every scope of `frame_id` (delve lists arguments with the locals).
async fn frame_variables(client: &Client, frame_id: i32) -> Vec<Variable> {
    let args = ScopesArguments::new(frame_id);
    let scopes = client.request::<ScopesRequest>(args).await.unwrap();
    let mut all = Vec::new();
    for s in scopes.body.scopes.iter().filter(|s| !s.expensive) {
        all.extend(variables(client, s.variables_reference).await);
    }
    all
}

/// The value of `expression` in `frame_id`.
async fn eval(client: &Client, frame_id: i32, expression: &str) -> String {
    let mut args = EvaluateArguments::new(expression);
    (args.frame_id, args.context) = (Some(frame_id), Some(EvaluateArgumentsContext::Watch));
    match client.request::<EvaluateRequest>(args).await {
        Ok(r) => r.body.result,
        Err(e) => panic!("evaluate {expression:?}: {e}"),
    }
}

/// Replaces the breakpoints of `source` with `lines`.
async fn breakpoints(client: &Client, source: &Path, lines: &[u64]) -> Vec<Breakpoint> {
    let wanted = lines.iter().map(|l| SourceBreakpoint::new(*l)).collect();
    let source = Source::new().with_path(source.to_str().unwrap());
    let args = SetBreakpointsArguments::new(source).with_breakpoints(wanted);
    let response = client.request::<SetBreakpointsRequest>(args).await.unwrap();
    response.body.breakpoints
}

/// The session proper, once the client is connected.
async fn session(client: &Client, events: &mut Events, source: &Path, binary: &Path) -> i32 {
    let break_line = line_of("// BREAK");

    let init: InitializeRequestArguments = serde_json::from_value(json!({
        "adapterID": "go", "clientID": "dapkit-test", "linesStartAt1": true,
        "columnsStartAt1": true, "pathFormat": "path", "supportsVariableType": true,
    }))
    .unwrap();
    let initialized = client.request::<InitializeRequest>(init).await;
    let caps = initialized.expect("initialize").body.expect("capabilities");
    assert_eq!(caps.supports_configuration_done_request, Some(true));

    let launch: LaunchRequestArguments = serde_json::from_value(json!({
        "name": "demo", "type": "go", "request": "launch",
        "mode": "exec", "program": binary, "cwd": source.parent(),
    }))
    .unwrap();
    let launched = client.send::<LaunchRequest>(launch).unwrap();
    wait_event(events, "initialized", WAIT, |e| {
        matches!(e, Event::Initialized(_))
    })
    .await;
    launched.response().await.expect("launch response");

    let bps = breakpoints(client, source, &[break_line]).await;
    assert_eq!(bps.len(), 1, "{bps:?}");
    assert!(bps[0].verified, "{:?}", bps[0]);
    assert_eq!(bps[0].line, Some(break_line), "{:?}", bps[0]);
    client
        .request::<ConfigurationDoneRequest>(None)
        .await
        .expect("configurationDone");

    // First call: weigh(samples[0], 2).
    let goroutine = stopped(events, "breakpoint").await;
    let threads = client.request::<ThreadsRequest>(None).await.unwrap().body;
    let ids: Vec<i32> = threads.threads.iter().map(|t| t.id).collect();
    assert!(
        ids.contains(&goroutine),
        "goroutine {goroutine} not among {ids:?}"
    );
    let stack = frames(client, goroutine).await;
    assert!(stack.len() >= 2, "weigh and its caller: {stack:?}");
    assert_eq!(stack[0].name, "main.weigh");
    assert_eq!(stack[0].line, break_line);
    let path = stack[0].source.as_ref().and_then(|s| s.path.clone());
    assert!(
        path.is_some_and(|p| p.ends_with("main.go")),
        "{:?}",
        stack[0]
    );
    assert_eq!(stack[1].name, "main.main");
    assert_eq!(stack[1].line, line_of("// CALL"));

    let vars = frame_variables(client, stack[0].id).await;
    assert_eq!(find(&vars, "base").value, "70");
    assert_eq!(find(&vars, "factor").value, "2");
    let window = find(&vars, "window");
    let elements = variables(client, window.variables_reference).await;
    let values: Vec<&str> = elements.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(values, ["7", "6", "8"], "window elements: {elements:?}");
    let s = find(&vars, "s");
    let fields = variables(client, s.variables_reference).await;
    assert_eq!(find(&fields, "ID").value, "7");
    assert_eq!(find(&fields, "Weight").value, "1.5");
    let point = variables(client, find(&fields, "Where").variables_reference).await;
    assert_eq!(find(&point, "X").value, "3");
    assert_eq!(find(&point, "Y").value, "4");
    let caller = frame_variables(client, stack[1].id).await;
    assert_eq!(find(&caller, "total").value, "0");
    assert_eq!(find(&caller, "i").value, "0");

    assert_eq!(
        eval(client, stack[0].id, "base + window[1]*window[2]").await,
        "118"
    );
    assert_eq!(
        eval(client, stack[0].id, "s.Where.X + s.Where.Y").await,
        "7"
    );

    // Step over the breakpoint line.
    step_over(client, goroutine).await;
    let goroutine = stopped(events, "step").await;
    let top = frames(client, goroutine).await.remove(0);
    assert_eq!(
        (top.name.as_str(), top.line),
        ("main.weigh", line_of("// NEXT"))
    );
    assert_eq!(eval(client, top.id, "sum").await, "91");

    // Continue: the next iteration stops at the same line, with new values.
    resume(client, goroutine).await;
    let goroutine = stopped(events, "breakpoint").await;
    let stack = frames(client, goroutine).await;
    assert_eq!(
        (stack[0].name.as_str(), stack[0].line),
        ("main.weigh", break_line)
    );
    let vars = frame_variables(client, stack[0].id).await;
    assert_eq!(find(&vars, "factor").value, "3");
    assert_eq!(find(&vars, "base").value, "80");
    let caller = frame_variables(client, stack[1].id).await;
    assert_eq!(find(&caller, "i").value, "1");
    assert_eq!(find(&caller, "total").value, "182");

    // No breakpoints left: run to the end.
    assert!(breakpoints(client, source, &[]).await.is_empty());
    resume(client, goroutine).await;
    goroutine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delve_dap_session_on_a_go_program() {
    let dlv = program_on_path("DAPKIT_DLV", "dlv");
    let go = program_on_path("DAPKIT_GO", "go");
    let dir = TempDir::new("delve");
    let started = Instant::now();
    let (source, binary) = build(&go, &dir.0);
    let built = started.elapsed();

    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let log = dir.0.join("dlv.log");
    let _evidence = Evidence(log.clone());
    let output = std::fs::File::create(&log).unwrap();
    let child = spawn_group(
        Command::new(&dlv)
            .args(["dap", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["--log", "--log-output=dap"])
            .stderr(output)
            .current_dir(&dir.0),
    );
    let dlv_pid = child.id();
    let mut guard = GroupGuard::new(Some(child));
    let pids = guard.pids.clone();

    tokio::time::timeout(WHOLE, async {
        // delve starts listening while the client already tries: no probe, first socket kept.
        // The default policy (300 ms apart, 100 tries), within one step's wait.
        let endpoint = Endpoint::Tcp(([127, 0, 0, 1], port).into());
        let policy = RetryPolicy::default().with_deadline(WAIT);
        let conn = match dapkit_transport::connect(&endpoint, &policy).await {
            Ok(conn) => conn,
            Err(e) => panic!("cannot connect to delve on port {port}: {e}"),
        };
        let (client, mut events) =
            Client::connect(conn, ClientOptions::new().with_request_timeout(Some(WAIT)));
        let events = &mut events;

        let watch = async {
            // The debuggee is delve's child once launched: kill it by pid too.
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let mut known = pids.lock().unwrap();
                for pid in children_of(dlv_pid) {
                    if !known.contains(&pid) {
                        known.push(pid);
                    }
                }
            }
        };
        tokio::select! {
            _ = session(&client, events, &source, &binary) => {}
            () = watch => {}
        }
        wait_event(events, "terminated", WAIT, |e| {
            matches!(e, Event::Terminated(_))
        })
        .await;
        let report = client.disconnect(None).await.expect("disconnect response");
        assert!(report.terminated, "{report:?}");
        assert!(client.is_closed());
        // delve reports the debuggee's exit while detaching: 0 only when its total is right.
        let exit_0 = |e: &Event| {
            matches!(e, Event::Output(o) if o.body.output.contains("has exited with status 0"))
        };
        wait_event(events, "output with exit status 0", WAIT, exit_0).await;
    })
    .await
    .expect("the delve session finished within 90 s");

    // After `disconnect`, delve quits by itself.
    let child = guard.child.as_mut().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "delve still runs 10 s after disconnect"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "delve exit status: {status}");
    eprintln!(
        "delve session took {:?} (go build {built:?})",
        started.elapsed()
    );
}
