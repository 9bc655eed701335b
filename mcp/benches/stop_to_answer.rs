//! The `continue` tool's answer after a stop vs a dapkit `Client` fetching the same
//! snapshot itself (stackTrace + scopes + variables of the locals), on real debugpy, in
//! one run: 50 stops each, medians and their ratio.
//!
//! Two figures per side:
//! - stop → answer: from the moment the `stopped` event is read (by the bench's client;
//!   by the MCP session's controller, behind its proxy) to the snapshot in hand;
//! - resume → answer: from sending `continue` to the snapshot in hand (this includes the
//!   debuggee running to the next stop, and for MCP the proxy hop of the `stopped` event).
//!
//! The MCP side is `DebugServer::call` in process (no JSON-RPC transport).
//! Run: `cargo bench -p dapkit-mcp --bench stop_to_answer` (needs `bash .ci/install-peers`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use dapkit_mcp::{Config, DebugServer};
use dapkit_session::{Client, ClientOptions};
use dapkit_transport::StdioCommand;
use dapkit_types::Event;
use dapkit_types::messages::*;
use dapkit_types::types::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const STOPS: usize = 50;
const PROGRAM: &str = r#"total = 0
for i in range(200):
    item = {"i": i, "square": i * i, "label": "item %d" % i}
    total += i  # BREAK
print("done", total)
"#;

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("DAPKIT_PEER_PYTHON") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.peers/venv/bin/python");
    assert!(
        p.exists(),
        "debugpy peer missing: {} not found. Run `bash .ci/install-peers`",
        p.display()
    );
    p
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn object(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(o) => o,
        _ => panic!("an object"),
    }
}

async fn direct(program: &Path, line: u64) -> (Vec<Duration>, Vec<Duration>) {
    let mut cmd = StdioCommand::new(python());
    cmd.args = vec!["-m".into(), "debugpy.adapter".into()];
    let conn = dapkit_transport::spawn_stdio(&cmd).expect("start debugpy");
    let (client, mut events) = Client::connect(conn, ClientOptions::new());
    let mut init = InitializeRequestArguments::new("debugpy");
    init.lines_start_at1 = Some(true);
    init.path_format = Some("path".into());
    client.request::<InitializeRequest>(init).await.unwrap();
    let launch: LaunchRequestArguments = serde_json::from_value(json!({
        "type": "python", "request": "launch", "program": program, "console": "internalConsole",
    }))
    .unwrap();
    let started = client.send::<LaunchRequest>(launch).unwrap();
    events
        .wait_for_named("initialized", Duration::from_secs(30))
        .await
        .unwrap();
    let src = Source::new().with_path(program.to_str().unwrap());
    client
        .request::<SetBreakpointsRequest>(
            SetBreakpointsArguments::new(src).with_breakpoints(vec![SourceBreakpoint::new(line)]),
        )
        .await
        .unwrap();
    client
        .request::<ConfigurationDoneRequest>(None)
        .await
        .unwrap();
    started.response().await.unwrap();
    let mut stop_to = Vec::new();
    let mut resume_to = Vec::new();
    let mut thread = 0;
    for i in 0..=STOPS {
        let sent = Instant::now();
        if i > 0 {
            client
                .request::<ContinueRequest>(ContinueArguments::new(thread))
                .await
                .unwrap();
        }
        let Event::Stopped(stop) = events
            .wait_for_named("stopped", Duration::from_secs(30))
            .await
            .unwrap()
        else {
            panic!("a stopped event")
        };
        let at = Instant::now();
        thread = stop.body.thread_id.unwrap_or(1);
        let mut args = StackTraceArguments::new(thread);
        args.levels = Some(10);
        let trace = client.request::<StackTraceRequest>(args).await.unwrap();
        let frame = trace.body.stack_frames[0].id;
        let scopes = client
            .request::<ScopesRequest>(ScopesArguments::new(frame))
            .await
            .unwrap();
        let locals = scopes.body.scopes[0].variables_reference;
        let mut v = VariablesArguments::new(locals);
        v.count = Some(101);
        let vars = client.request::<VariablesRequest>(v).await.unwrap();
        assert!(!vars.body.variables.is_empty());
        let done = Instant::now();
        if i > 0 {
            stop_to.push(done - at);
            resume_to.push(done - sent);
        }
    }
    let _ = client.disconnect(None).await;
    (stop_to, resume_to)
}

async fn mcp(program: &Path, line: u64) -> (Vec<Duration>, Vec<Duration>) {
    let config =
        Config::parse(&format!("python = {:?}\n", python().display().to_string())).unwrap();
    let server = DebugServer::new(config);
    let r = server
        .call(
            "launch",
            object(json!({"adapter": "debugpy", "program": program,
                "breakpoints": [{"path": program, "line": line}]})),
        )
        .await;
    let text = &r.content[0].as_text().unwrap().text;
    let first: Value = serde_json::from_str(text).unwrap();
    assert_eq!(first["state"], "stopped", "{text}");
    let sid = first["session"].as_str().unwrap().to_owned();
    let mut stop_to = Vec::new();
    let mut resume_to = Vec::new();
    for _ in 0..STOPS {
        let sent = Instant::now();
        let r = server
            .call("continue", object(json!({"session": sid})))
            .await;
        let done = Instant::now();
        let text = &r.content[0].as_text().unwrap().text;
        assert!(text.contains("\"state\":\"stopped\""), "{text}");
        let at = server.stopped_at(&sid).await.unwrap();
        stop_to.push(done - at);
        resume_to.push(done - sent);
    }
    server.shutdown().await;
    (stop_to, resume_to)
}

fn main() {
    let dir = std::env::temp_dir().join(format!("dapkit-mcp-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let program = dir.join("loop.py");
    std::fs::write(&program, PROGRAM).unwrap();
    let line = PROGRAM.lines().position(|l| l.contains("# BREAK")).unwrap() as u64 + 1;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let (d_stop, d_resume) = rt.block_on(direct(&program, line));
    let (m_stop, m_resume) = rt.block_on(mcp(&program, line));
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let (ds, dr, ms, mr) = (
        median(d_stop),
        median(d_resume),
        median(m_stop),
        median(m_resume),
    );
    println!("median of {STOPS} stops (debugpy, in one run)");
    println!(
        "stop -> snapshot:   client {ds:?}  mcp continue {ms:?}  ratio {:.2}",
        ms.as_secs_f64() / ds.as_secs_f64()
    );
    println!(
        "resume -> snapshot: client {dr:?}  mcp continue {mr:?}  ratio {:.2}",
        mr.as_secs_f64() / dr.as_secs_f64()
    );
    println!("load average before: {}after: {}", load, load_after);
    let _ = std::fs::remove_dir_all(&dir);
}
