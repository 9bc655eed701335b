//! gdb's DAP interpreter (`gdb -i dap`, started by the proxy over its stdio) behind the
//! proxy, one scripted session with two clients: each sets a breakpoint in the same source
//! (gdb gets the union, each sees its own), both see the stops, the observer reads
//! variables, the controller removes its breakpoint (the observer's stays), the observer
//! leaves (its breakpoint goes), and the program runs to its end with the right exit code.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../session/tests/common/mod.rs"]
mod common;

use common::TempDir;
use common::peers::{find, gdb, line_of, variables, wait_event};
use dapkit_proxy::{Adapter, Ended, Proxy, ProxyOptions};
use dapkit_session::client::{Client, ClientOptions, Events};
use dapkit_transport::{Endpoint, RetryPolicy, StdioCommand};
use dapkit_types::Event;
use dapkit_types::messages::*;
use dapkit_types::types::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(30);
const WHOLE: Duration = Duration::from_secs(120);

const PROGRAM: &str = r#"#include <stdio.h>
#include <unistd.h>

static int weigh(int id, int factor) {
    int base = id * 10;
    int sum = base + id * factor; /* BREAK */
    int scaled = sum * 2; /* NEXT */
    return scaled;
}

int main(void) {
    alarm(120);
    int total = 0;
    for (int i = 0; i < 2; i++) {
        total += weigh(7 + i, i + 2);
    }
    printf("total %d\n", total);
    return total == 376 ? 0 : 3;
}
"#;

fn compile(dir: &Path) -> (PathBuf, PathBuf) {
    let source = dir.join("weigh.c");
    std::fs::write(&source, PROGRAM).unwrap();
    let binary = dir.join("weigh");
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
    (source, binary)
}

async fn set_breakpoints(client: &Client, source: &Path, lines: &[u64]) -> Vec<Breakpoint> {
    let bps = lines.iter().map(|l| SourceBreakpoint::new(*l)).collect();
    client
        .request::<SetBreakpointsRequest>(
            SetBreakpointsArguments::new(Source::new().with_path(source.to_str().unwrap()))
                .with_breakpoints(bps),
        )
        .await
        .expect("setBreakpoints")
        .body
        .breakpoints
}

async fn stopped_line(client: &Client, events: &mut Events) -> (i32, StackFrame) {
    let e = wait_event(events, "stopped", WAIT, |e| matches!(e, Event::Stopped(_))).await;
    let Event::Stopped(s) = e else { unreachable!() };
    let thread = s.body.thread_id.expect("a thread");
    let frames = client
        .request::<StackTraceRequest>(StackTraceArguments::new(thread))
        .await
        .expect("stackTrace")
        .body
        .stack_frames;
    (thread, frames.into_iter().next().expect("a frame"))
}

async fn local(client: &Client, frame: i32, name: &str) -> String {
    let scopes = client
        .request::<ScopesRequest>(ScopesArguments::new(frame))
        .await
        .expect("scopes")
        .body
        .scopes;
    let locals = scopes.iter().find(|s| s.name == "Locals").expect("Locals");
    find(&variables(client, locals.variables_reference).await, name)
        .value
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdb_behind_the_proxy() {
    let gdb = gdb();
    let dir = TempDir::new("proxy-gdb");
    let (source, binary) = compile(&dir.0);
    let break_line = line_of(PROGRAM, "/* BREAK */");
    let next_line = line_of(PROGRAM, "/* NEXT */");
    let command = StdioCommand::new(&gdb).args([
        "--nx",
        "-q",
        "-iex",
        "set debuginfod enabled off",
        "-i",
        "dap",
    ]);
    tokio::time::timeout(WHOLE, async {
        let listen = Endpoint::Tcp(([127, 0, 0, 1], 0).into());
        let proxy = Proxy::start(&listen, &Adapter::Stdio(command), ProxyOptions::new())
            .await
            .expect("the proxy starts gdb");
        let at = proxy.local_endpoint().clone();
        let running = tokio::spawn(proxy.run());
        let connect = || async {
            let conn = dapkit_transport::connect(&at, &RetryPolicy::default())
                .await
                .unwrap();
            Client::connect(conn, ClientOptions::new())
        };
        let (a, mut a_events) = connect().await;
        let mut init = InitializeRequestArguments::new("gdb");
        init.lines_start_at1 = Some(true);
        init.path_format = Some("path".into());
        a.request::<InitializeRequest>(init.clone())
            .await
            .expect("initialize");
        let (b, mut b_events) = connect().await;
        b.request::<InitializeRequest>(init)
            .await
            .expect("observer's initialize");

        let launch: LaunchRequestArguments = serde_json::from_value(json!({
            "name": "weigh", "type": "gdb", "request": "launch",
            "program": binary, "cwd": dir.0, "stopAtBeginningOfMainSubprogram": false,
        }))
        .unwrap();
        let launched = a.send::<LaunchRequest>(launch).unwrap();
        wait_event(&mut a_events, "initialized", WAIT, |e| {
            matches!(e, Event::Initialized(_))
        })
        .await;
        let mine = set_breakpoints(&a, &source, &[break_line]).await;
        let theirs = set_breakpoints(&b, &source, &[next_line]).await;
        assert_eq!(mine.len(), 1, "controller sees its own: {mine:?}");
        assert_eq!(theirs.len(), 1, "observer sees its own: {theirs:?}");
        assert_ne!(mine[0].id, theirs[0].id, "two breakpoints upstream");
        a.request::<ConfigurationDoneRequest>(None)
            .await
            .expect("configurationDone");
        launched.response().await.expect("launch");

        // First stop: the controller's breakpoint; the observer reads `base`.
        let (thread, top) = stopped_line(&a, &mut a_events).await;
        assert_eq!(top.line, break_line);
        let (_, b_top) = stopped_line(&b, &mut b_events).await;
        assert_eq!(local(&b, b_top.id, "base").await, "70");

        // Then the observer's breakpoint.
        a.request::<ContinueRequest>(ContinueArguments::new(thread))
            .await
            .expect("continue");
        let (_, top) = stopped_line(&a, &mut a_events).await;
        assert_eq!(top.line, next_line);
        let (_, b_top) = stopped_line(&b, &mut b_events).await;
        assert_eq!(local(&b, b_top.id, "sum").await, "84");

        // The controller drops its breakpoint; the next stop is the observer's, 2nd call.
        assert!(set_breakpoints(&a, &source, &[]).await.is_empty());
        a.request::<ContinueRequest>(ContinueArguments::new(thread))
            .await
            .expect("continue");
        let (_, top) = stopped_line(&a, &mut a_events).await;
        assert_eq!(
            top.line, next_line,
            "the controller's removal kept the observer's breakpoint"
        );
        assert_eq!(local(&a, top.id, "sum").await, "104");

        // The observer leaves: its breakpoint goes, the program runs to its end.
        drop(b);
        drop(b_events);
        a.request::<ContinueRequest>(ContinueArguments::new(thread))
            .await
            .expect("continue");
        let exited = wait_event(&mut a_events, "exited", WAIT, |e| {
            matches!(e, Event::Exited(_))
        })
        .await;
        let Event::Exited(exited) = exited else {
            unreachable!()
        };
        assert_eq!(
            exited.body.exit_code, 0,
            "total 376: no stop after the observer left"
        );
        let _ = a.disconnect(None).await;
        let ended = tokio::time::timeout(WAIT, running)
            .await
            .expect("the proxy ends")
            .unwrap();
        assert!(matches!(ended, Ok(Ended::Disconnected)), "{ended:?}");
    })
    .await
    .expect("the whole session in time");
}
