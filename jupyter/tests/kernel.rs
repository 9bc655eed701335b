//! dapkit-jupyter against a real ipykernel 7 (installed by `bash .ci/install-peers`):
//! the debugging flow through `dapkit_session::Client`, and each quirk of ipykernel's
//! debugger answered as proper DAP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Kernel, TopFrame};
use dapkit_jupyter::CellNaming;
use dapkit_session::{Client, ClientOptions, Events};
use dapkit_types::Event;
use dapkit_types::messages::*;
use dapkit_types::types::*;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

const CELL: &str = "def add(a, b):
    total = a + b
    return total
items = [1, 2, 3]
result = add(40, 2)
print('result', result)
";
/// The line of `return total` in CELL.
const BREAK_LINE: u64 = 3;

/// Sends `command` with `arguments`, returns the whole response as JSON.
async fn call(client: &Client, command: &str, arguments: Value) -> Value {
    let response = client
        .request_raw(command, Some(arguments))
        .await
        .unwrap_or_else(|e| panic!("`{command}` failed: {e}"));
    serde_json::to_value(&response).expect("response as JSON")
}

async fn start_debugging(client: &Client) {
    client
        .request::<InitializeRequest>(
            InitializeRequestArguments::new("dapkit").with_lines_start_at1(true),
        )
        .await
        .expect("initialize");
    let attach: AttachRequestArguments =
        serde_json::from_value(json!({})).expect("empty attach arguments");
    client
        .request::<AttachRequest>(attach)
        .await
        .expect("attach");
}

async fn stopped(events: &mut Events) -> StoppedEvent {
    match events.wait_for_named("stopped", WAIT).await {
        Ok(Event::Stopped(e)) => e,
        other => panic!("expected a stopped event, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debugging_a_cell_through_the_session_client() {
    let k = Kernel::start();
    let kernel = k.connect().await;
    assert_eq!(kernel.kernel_info()["implementation"], "ipython");
    let (client, mut events) = kernel.client(ClientOptions::new().with_request_timeout(Some(WAIT)));
    start_debugging(&client).await;

    let info = call(&client, "debugInfo", json!({})).await;
    assert_eq!(info["body"]["isStarted"], true, "{info}");
    let naming = CellNaming::from_debug_info(&info["body"]).expect("naming from debugInfo");
    let expected_file = naming.file_name(CELL);
    let dumped = call(&client, "dumpCell", json!({"code": CELL})).await;
    assert_eq!(
        dumped["body"]["sourcePath"],
        expected_file.as_str(),
        "the cell helper names the file the kernel uses"
    );

    let source = Source::new().with_path(expected_file.clone());
    let set = client
        .request::<SetBreakpointsRequest>(
            SetBreakpointsArguments::new(source)
                .with_breakpoints(vec![SourceBreakpoint::new(BREAK_LINE)]),
        )
        .await
        .expect("setBreakpoints");
    assert_eq!(set.body.breakpoints.len(), 1);
    assert!(
        set.body.breakpoints[0].verified,
        "{:?}",
        set.body.breakpoints
    );
    client
        .request::<ConfigurationDoneRequest>(None)
        .await
        .expect("configurationDone");

    let runner = kernel.clone();
    let execution = tokio::spawn(async move { runner.execute(CELL).await });
    let stop = stopped(&mut events).await;
    assert_eq!(stop.body.reason, StoppedEventBodyReason::Breakpoint);
    let thread = stop.body.thread_id.expect("stopped thread");

    let stack = TopFrame::of(&client, thread).await;
    let top = &stack.frame;
    assert_eq!(top.line, BREAK_LINE, "stopped at the breakpoint's line");
    assert_eq!(stack.path(), Some(expected_file.as_str()));
    let value = |name: &str| stack.value(name).to_string();
    assert_eq!(
        (value("a"), value("b"), value("total")),
        ("40".into(), "2".into(), "42".into())
    );

    let rich = call(
        &client,
        "richInspectVariables",
        json!({"variableName": "total", "frameId": top.id}),
    )
    .await;
    assert_eq!(rich["command"], "richInspectVariables");
    assert_eq!(rich["body"]["data"]["text/plain"], "42", "{rich}");

    let mut eval = EvaluateArguments::new("a * b + total");
    eval.frame_id = Some(top.id);
    let evaluated = client
        .request::<EvaluateRequest>(eval)
        .await
        .expect("evaluate");
    assert_eq!(evaluated.body.result, "122");

    client
        .request::<ContinueRequest>(ContinueArguments::new(thread))
        .await
        .expect("continue");
    let outcome = tokio::time::timeout(WAIT, execution)
        .await
        .expect("the cell finishes after continue")
        .expect("execute task")
        .expect("execute");
    assert_eq!(outcome.status, "ok");
    assert_eq!(outcome.stdout, "result 42\n");
    assert!(outcome.execution_count.is_some_and(|n| n >= 1));

    let globals = call(&client, "inspectVariables", json!({})).await;
    let variables = globals["body"]["variables"].as_array().expect("variables");
    let result = variables
        .iter()
        .find(|v| v["name"] == "result")
        .expect("`result` among the globals");
    assert_eq!(result["value"], "42");
    assert!(
        variables
            .iter()
            .any(|v| v["name"] == "items" && v["value"] == "[1, 2, 3]"),
        "{globals}"
    );

    client.disconnect(None).await.expect("disconnect");
    let info = kernel
        .debug_request(&json!({"type": "request", "seq": 99, "command": "debugInfo"}))
        .await
        .expect("debugInfo after disconnect");
    assert_eq!(
        info["body"]["isStarted"], false,
        "the kernel's debugger stopped: {info}"
    );
}

/// Each ipykernel 7 quirk, met on the real kernel, answered as proper DAP by the bridge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipykernel_quirks_become_proper_responses() {
    let k = Kernel::start();
    let kernel = k.connect().await;
    let (client, mut events) = kernel.client(ClientOptions::new().with_request_timeout(Some(WAIT)));

    // Non-static requests before `initialize` get `{}`: an error response naming why.
    let before = client
        .request_raw("stackTrace", Some(json!({"threadId": 1})))
        .await
        .expect_err("stackTrace before initialize fails");
    let text = before.to_string() + &before.adapter_message().unwrap_or_default();
    assert!(text.contains("not started"), "{text}");

    // `debugInfo` replies lack `seq`; `hashSeed` is an integer.
    let pending = client
        .send_raw("debugInfo", Some(json!({})))
        .expect("send debugInfo");
    let seq = pending.seq();
    let info = serde_json::to_value(pending.response().await.expect("debugInfo")).expect("json");
    assert_eq!(
        (info["request_seq"].as_i64(), info["command"].clone()),
        (Some(seq), json!("debugInfo"))
    );
    assert!(info["seq"].as_i64().is_some_and(|s| s > 0), "{info}");
    assert!(
        info["kernelReply"].get("seq").is_none(),
        "ipykernel sends no seq: {info}"
    );
    assert!(info["body"]["hashSeed"].is_u64(), "{info}");

    // `richInspectVariables` when not stopped answers with `sequence_seq`.
    kernel.execute("shown = 7").await.expect("execute");
    let pending = client
        .send_raw(
            "richInspectVariables",
            Some(json!({"variableName": "shown"})),
        )
        .expect("send");
    let seq = pending.seq();
    let rich = serde_json::to_value(pending.response().await.expect("richInspectVariables"))
        .expect("json");
    assert_eq!(rich["request_seq"].as_i64(), Some(seq));
    assert_eq!(
        rich["kernelReply"]["sequence_seq"].as_i64(),
        Some(seq),
        "{rich}"
    );
    assert!(rich["kernelReply"].get("request_seq").is_none());
    assert_eq!(rich["body"]["data"]["text/plain"], "7");

    start_debugging(&client).await;
    // `modules` replies with only `{"body": …}`.
    let modules = call(
        &client,
        "modules",
        json!({"startModule": 0, "moduleCount": 50}),
    )
    .await;
    assert_eq!(
        (modules["command"].clone(), modules["success"].clone()),
        (json!("modules"), json!(true))
    );
    assert!(
        modules["body"]["totalModules"]
            .as_u64()
            .is_some_and(|n| n > 0),
        "{modules}"
    );
    assert_eq!(
        modules["kernelReply"],
        json!({}),
        "the kernel sent nothing but the body"
    );
    // `dumpCell` and `source` replies lack `seq` too.
    let cell = "def f(v):\n    w = v * 3\n    return w\nf(5)\n";
    let dumped = call(&client, "dumpCell", json!({"code": cell})).await;
    assert!(
        dumped["kernelReply"].get("seq").is_none() && dumped["seq"].as_i64().is_some(),
        "{dumped}"
    );
    let path = dumped["body"]["sourcePath"]
        .as_str()
        .expect("sourcePath")
        .to_owned();
    let source = call(
        &client,
        "source",
        json!({"source": {"path": path}, "sourceReference": 0}),
    )
    .await;
    assert_eq!(source["body"]["content"], cell);
    assert!(
        source["kernelReply"].get("seq").is_none() && source["seq"].as_i64().is_some(),
        "{source}"
    );

    // Stopped: richInspectVariables answers as `evaluate` with request_seq shifted by one,
    // copyToGlobals answers as `setExpression`.
    call(
        &client,
        "setBreakpoints",
        json!({"source": {"path": path}, "breakpoints": [{"line": 3}]}),
    )
    .await;
    call(&client, "configurationDone", json!({})).await;
    let runner = kernel.clone();
    let execution = tokio::spawn(async move { runner.execute(cell).await });
    let stop = stopped(&mut events).await;
    let thread = stop.body.thread_id.expect("thread");
    let trace = call(&client, "stackTrace", json!({"threadId": thread})).await;
    let frame = trace["body"]["stackFrames"][0]["id"].clone();
    let pending = client
        .send_raw(
            "richInspectVariables",
            Some(json!({"variableName": "w", "frameId": frame})),
        )
        .expect("send");
    let seq = pending.seq();
    let rich = serde_json::to_value(pending.response().await.expect("richInspectVariables"))
        .expect("json");
    assert_eq!(
        (rich["request_seq"].as_i64(), rich["command"].clone()),
        (Some(seq), json!("richInspectVariables"))
    );
    assert_eq!(rich["kernelReply"]["command"], "evaluate", "{rich}");
    assert_eq!(rich["kernelReply"]["request_seq"].as_i64(), Some(seq + 1));
    assert_eq!(rich["body"]["data"]["text/plain"], "15");
    let copied = call(
        &client,
        "copyToGlobals",
        json!({"srcVariableName": "w", "dstVariableName": "copied_w", "srcFrameId": frame}),
    )
    .await;
    assert_eq!(
        (copied["command"].clone(), copied["success"].clone()),
        (json!("copyToGlobals"), json!(true))
    );
    assert_eq!(
        copied["kernelReply"]["command"], "setExpression",
        "{copied}"
    );
    call(&client, "continue", json!({"threadId": thread})).await;
    let outcome = tokio::time::timeout(WAIT, execution)
        .await
        .expect("cell ends")
        .expect("task")
        .expect("execute");
    assert_eq!(outcome.status, "ok");
    let check = kernel.execute("print(copied_w)").await.expect("execute");
    assert_eq!(
        check.stdout, "15\n",
        "copyToGlobals copied the local into the globals"
    );
    client.disconnect(None).await.expect("disconnect");
}

/// The Jupyter requests typed by dapkit-types' `jupyter` feature, through the bridge.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_jupyter_requests() {
    let k = Kernel::start();
    let kernel = k.connect().await;
    let (client, mut events) = kernel.client(ClientOptions::new().with_request_timeout(Some(WAIT)));
    start_debugging(&client).await;
    let info = client
        .request::<DebugInfoRequest>(None)
        .await
        .expect("typed debugInfo");
    assert!(info.body.is_started);
    assert!(
        matches!(
            info.body.hash_seed,
            DebugInfoResponseBodyHashSeed::Integer(_)
        ),
        "ipykernel sends an integer"
    );
    let naming = CellNaming::from_debug_info(&serde_json::to_value(&info.body).expect("json"))
        .expect("naming");
    let cell = "def h(s):\n    t = s.upper()\n    return t\nh('ok')\n";
    let dumped = client
        .request::<DumpCellRequest>(DumpCellArguments::new(cell))
        .await
        .expect("typed dumpCell");
    assert_eq!(dumped.body.source_path, naming.file_name(cell));
    client
        .request::<SetBreakpointsRequest>(
            SetBreakpointsArguments::new(Source::new().with_path(dumped.body.source_path.clone()))
                .with_breakpoints(vec![SourceBreakpoint::new(3)]),
        )
        .await
        .expect("setBreakpoints");
    client
        .request::<ConfigurationDoneRequest>(None)
        .await
        .expect("configurationDone");
    let info = client
        .request::<DebugInfoRequest>(None)
        .await
        .expect("typed debugInfo");
    assert_eq!(
        info.body.breakpoints.len(),
        1,
        "the kernel keeps the breakpoints for later clients"
    );
    assert_eq!(info.body.breakpoints[0].source, dumped.body.source_path);
    let runner = kernel.clone();
    let execution = tokio::spawn(async move { runner.execute(cell).await });
    let stop = stopped(&mut events).await;
    let thread = stop.body.thread_id.expect("thread");
    let trace = client
        .request::<StackTraceRequest>(StackTraceArguments::new(thread))
        .await
        .expect("stackTrace");
    let frame = trace.body.stack_frames[0].id;
    let rich = client
        .request::<RichInspectVariablesRequest>(
            RichInspectVariablesArguments::new("t").with_frame_id(i64::from(frame)),
        )
        .await
        .expect("typed richInspectVariables");
    assert_eq!(rich.body.data["text/plain"], "'OK'");
    let copied = client
        .request::<CopyToGlobalsRequest>(CopyToGlobalsArguments::new(
            "t",
            i64::from(frame),
            "t_copy",
        ))
        .await
        .expect("typed copyToGlobals");
    assert_eq!(copied.body.value, "'OK'");
    client
        .request::<ContinueRequest>(ContinueArguments::new(thread))
        .await
        .expect("continue");
    let outcome = tokio::time::timeout(WAIT, execution)
        .await
        .expect("cell ends")
        .expect("task")
        .expect("execute");
    assert_eq!(outcome.status, "ok");
    let globals = client
        .request::<InspectVariablesRequest>(None)
        .await
        .expect("typed inspectVariables");
    let copy = globals
        .body
        .variables
        .iter()
        .find(|v| v.name == "t_copy")
        .expect("the copy among the globals");
    assert_eq!(copy.value, "'OK'");
    client.disconnect(None).await.expect("disconnect");
}
