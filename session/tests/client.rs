//! The client session against a scripted in-process adapter speaking real DAP bytes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Diags, STEP, TempDir, pair, pair_with_buffer, wait_for_file};
use dapkit_session::client::{CancelOutcome, ClientOptions, RequestError, WaitError};
use dapkit_types::messages::{
    ConfigurationDoneRequest, EvaluateRequest, InitializeRequest, ThreadsRequest,
};
use dapkit_types::types::{EvaluateArguments, InitializeRequestArguments};
use dapkit_types::{Event, Request, Response};
use serde_json::json;
use std::time::Duration;

fn init_args() -> InitializeRequestArguments {
    let mut a = InitializeRequestArguments::new("test-adapter");
    a.supports_run_in_terminal_request = Some(true);
    a
}

/// Reads `initialize` and answers with `caps`; returns the client's capabilities view.
async fn initialize(
    client: &dapkit_session::Client,
    peer: &mut common::Peer,
    caps: serde_json::Value,
) {
    let pending = client.send::<InitializeRequest>(init_args()).unwrap();
    let req = peer.recv_request().await;
    assert_eq!(req.command(), Some("initialize"));
    peer.respond(pending.seq(), "initialize", caps).await;
    pending.response().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_requests_answered_out_of_order() {
    hundred_concurrent_requests(ClientOptions::new()).await;
}

/// With write-through the senders' tasks write the frames themselves (on two worker
/// threads at once): they still leave in `seq` order, each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_requests_written_through() {
    hundred_concurrent_requests(ClientOptions::new().with_write_through(true)).await;
}

async fn hundred_concurrent_requests(options: ClientOptions) {
    let (client, _events, mut peer) = pair(options);
    let mut tasks = Vec::new();
    for i in 0..100 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let r = client
                .request::<EvaluateRequest>(EvaluateArguments::new(format!("x{i}")))
                .await
                .unwrap();
            (i, r.body.result)
        }));
    }
    let mut received = Vec::new();
    for _ in 0..100 {
        let Request::Evaluate(r) = peer.recv_request().await else {
            panic!("expected evaluate")
        };
        received.push((r.seq, r.arguments.expression));
    }
    // seq numbers leave in order, from 1, each once.
    let seqs: Vec<i32> = received.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=100).collect::<Vec<_>>());
    // Answer in a scrambled order: odd positions backwards, then even ones.
    let mut order: Vec<usize> = (0..100).filter(|i| i % 2 == 1).rev().collect();
    order.extend((0..100).filter(|i| i % 2 == 0));
    for i in order {
        let (seq, expr) = &received[i];
        peer.respond(
            i64::from(*seq),
            "evaluate",
            json!({"result": format!("value of {expr}"), "variablesReference": 0}),
        )
        .await;
    }
    for t in tasks {
        let (i, result) = tokio::time::timeout(STEP, t).await.unwrap().unwrap();
        assert_eq!(result, format!("value of x{i}"));
    }
}

#[tokio::test]
async fn timeout_then_late_response_is_reported_and_session_goes_on() {
    let diags = Diags::default();
    let (client, _events, mut peer) = pair(diags.options());
    let err = client
        .request_with_timeout::<ThreadsRequest>(None, Some(Duration::from_millis(100)))
        .await
        .unwrap_err();
    match &err {
        RequestError::Timeout { command, seq, .. } => {
            assert_eq!(command, "threads");
            assert_eq!(*seq, 1);
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(err.to_string().contains("no response within"));
    let late = peer.recv_request().await;
    assert_eq!(late.seq(), Some(1));
    peer.respond(1, "threads", json!({"threads": []})).await;
    diags.wait_for("after it timed out").await;

    let pending = client.send::<ThreadsRequest>(None).unwrap();
    assert_eq!(pending.seq(), 2);
    let req = peer.recv_request().await;
    assert_eq!(req.seq(), Some(2));
    peer.respond(
        2,
        "threads",
        json!({"threads": [{"id": 7, "name": "main"}]}),
    )
    .await;
    let r = pending.response().await.unwrap();
    assert_eq!(r.body.threads[0].id, 7);
    assert_eq!(r.body.threads[0].name, "main");
}

#[tokio::test]
async fn cancel_resolves_pending_and_sends_cancel_when_supported() {
    let (client, _events, mut peer) = pair(ClientOptions::new());
    initialize(&client, &mut peer, json!({"supportsCancelRequest": true})).await;
    assert_eq!(
        client.capabilities().unwrap().supports_cancel_request,
        Some(true)
    );

    let pending = client
        .send::<EvaluateRequest>(EvaluateArguments::new("slow()"))
        .unwrap();
    let seq = pending.seq();
    let waiting = tokio::spawn(pending.response());
    let req = peer.recv_request().await;
    assert_eq!(req.seq(), Some(seq));

    let cancel = {
        let client = client.clone();
        tokio::spawn(async move { client.cancel(seq).await })
    };
    // The pending request fails with Cancelled at once, before the adapter answers.
    let outcome = tokio::time::timeout(STEP, waiting).await.unwrap().unwrap();
    assert!(
        matches!(outcome, Err(RequestError::Cancelled)),
        "{outcome:?}"
    );

    let Request::Cancel(c) = peer.recv_request().await else {
        panic!("expected cancel")
    };
    assert_eq!(c.arguments.as_ref().unwrap().request_id, Some(seq as i32));
    peer.respond(i64::from(c.seq), "cancel", json!({})).await;
    assert_eq!(cancel.await.unwrap().unwrap(), CancelOutcome::Acknowledged);

    // Cancelling again: nothing pending.
    assert_eq!(client.cancel(seq).await.unwrap(), CancelOutcome::NotPending);
}

#[tokio::test]
async fn cancel_without_capability_sends_nothing() {
    let (client, _events, mut peer) = pair(ClientOptions::new());
    initialize(
        &client,
        &mut peer,
        json!({"supportsConfigurationDoneRequest": true}),
    )
    .await;
    let pending = client
        .send::<EvaluateRequest>(EvaluateArguments::new("1"))
        .unwrap();
    let seq = pending.seq();
    let _ = peer.recv_request().await;
    assert_eq!(
        client.cancel(seq).await.unwrap(),
        CancelOutcome::NotSupported
    );
    assert!(matches!(
        pending.response().await,
        Err(RequestError::Cancelled)
    ));
    // The next thing the adapter reads is the next request, not a `cancel`.
    let next = client.send::<ThreadsRequest>(None).unwrap();
    let req = peer.recv_request().await;
    assert_eq!(req.command(), Some("threads"));
    assert_eq!(req.seq(), Some(next.seq()));
}

#[tokio::test]
async fn error_responses_fail_with_the_adapters_message() {
    let (client, _events, mut peer) = pair(ClientOptions::new());
    let pending = client
        .send::<EvaluateRequest>(EvaluateArguments::new("nope"))
        .unwrap();
    let _ = peer.recv_request().await;
    peer.send_json(&json!({
        "seq": 1, "type": "response", "request_seq": pending.seq(), "success": false,
        "command": "evaluate", "message": "evaluation failed",
        "body": {"error": {"id": 1001, "format": "name 'nope' is not defined"}}
    }))
    .await;
    let err = pending.response().await.unwrap_err();
    let RequestError::Failed(e) = &err else {
        panic!("expected Failed, got {err:?}")
    };
    assert_eq!(e.command, "evaluate");
    assert_eq!(
        err.adapter_message().as_deref(),
        Some("name 'nope' is not defined")
    );
    assert!(err.to_string().contains("name 'nope' is not defined"));

    // A failed response with no seq and an odd body is still a failure with its message.
    let pending = client.send::<ThreadsRequest>(None).unwrap();
    let _ = peer.recv_request().await;
    peer.send_json(&json!({
        "type": "response", "request_seq": pending.seq(), "success": false,
        "command": "threads", "message": "not now", "body": "odd"
    }))
    .await;
    let err = pending.response().await.unwrap_err();
    assert!(matches!(&err, RequestError::Failed(_)), "{err:?}");
    assert_eq!(err.adapter_message().as_deref(), Some("not now"));
}

#[tokio::test]
async fn custom_and_empty_body_events_are_delivered() {
    let (client, mut events, mut peer) = pair(ClientOptions::new());
    peer.event(
        "debugpyWaitingForServer",
        json!({"host": "127.0.0.1", "port": 5678}),
    )
    .await;
    peer.event("initialized", json!({})).await;
    peer.event(
        "stopped",
        json!({"reason": "breakpoint", "threadId": 3, "allThreadsStopped": true}),
    )
    .await;
    peer.event("output", json!({"category": "stdout", "output": "hi\n"}))
        .await;

    // wait_for passes over the first three and keeps them for later.
    let output = events.wait_for_named("output", STEP).await.unwrap();
    let Event::Output(o) = output else {
        panic!("expected output")
    };
    assert_eq!(o.body.output, "hi\n");
    assert_eq!(events.backlog_len(), 3);

    let Some(Event::Custom(raw)) = events.recv().await else {
        panic!("expected a custom event")
    };
    assert_eq!(raw.event_name(), Some("debugpyWaitingForServer"));
    assert_eq!(raw.body().unwrap()["port"], 5678);
    assert!(matches!(events.recv().await, Some(Event::Initialized(_))));
    let Some(Event::Stopped(s)) = events.recv().await else {
        panic!("expected stopped")
    };
    assert_eq!(s.body.thread_id, Some(3));

    // Nothing else: a wait ends with a timeout.
    let none = events
        .wait_for(|_| true, Duration::from_millis(50))
        .await
        .unwrap_err();
    assert_eq!(none, WaitError::Timeout(Duration::from_millis(50)));
    drop(client);
}

#[tokio::test]
async fn responses_with_missing_or_odd_seq_and_missing_body_still_decode() {
    let (client, _events, mut peer) = pair(ClientOptions::new());
    let pending = client.send::<ThreadsRequest>(None).unwrap();
    let _ = peer.recv_request().await;
    peer.send_json(&json!({
        "type": "response", "request_seq": pending.seq(), "success": true,
        "command": "threads", "body": {"threads": [{"id": 1, "name": "MainThread"}]}
    }))
    .await;
    let r = pending.response().await.unwrap();
    assert_eq!(r.seq, 0);
    assert_eq!(r.body.threads[0].name, "MainThread");

    let pending = client.send::<ConfigurationDoneRequest>(None).unwrap();
    let _ = peer.recv_request().await;
    peer.send_json(&json!({
        "seq": "seven", "type": "response", "request_seq": pending.seq(), "success": true,
        "command": "configurationDone"
    }))
    .await;
    pending.response().await.unwrap();

    // A response whose body cannot take its typed form is Malformed, kept as JSON.
    let pending = client.send::<ThreadsRequest>(None).unwrap();
    let _ = peer.recv_request().await;
    peer.send_json(&json!({
        "seq": 9, "type": "response", "request_seq": pending.seq(), "success": true,
        "command": "threads", "body": {"threads": "not a list"}
    }))
    .await;
    match pending.response().await {
        Err(RequestError::Malformed { message, reason }) => {
            assert_eq!(message.body().unwrap()["threads"], "not a list");
            assert!(!reason.is_empty());
        }
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_frames_are_reported_and_the_session_recovers() {
    let diags = Diags::default();
    let (client, _events, mut peer) = pair(diags.options());
    let pending = client.send::<ThreadsRequest>(None).unwrap();
    let _ = peer.recv_request().await;
    // A bad Content-Length, a body that is not JSON, a response nobody asked for.
    peer.send_raw(b"Content-Length: abc\r\n\r\n").await;
    peer.send_body(b"hello").await;
    peer.respond(4242, "threads", json!({"threads": []})).await;
    peer.send_json(&json!({"seq": 3, "type": "mystery"})).await;
    peer.respond(
        pending.seq(),
        "threads",
        json!({"threads": [{"id": 1, "name": "t"}]}),
    )
    .await;
    let r = pending.response().await.unwrap();
    assert_eq!(r.body.threads.len(), 1);
    diags.wait_for("invalid Content-Length").await;
    diags.wait_for("not a JSON object").await;
    diags.wait_for("request_seq 4242").await;
    diags.wait_for("unknown type \"mystery\"").await;
    assert!(!client.is_closed());
}

#[tokio::test]
async fn connection_drop_fails_pending_requests_with_closed() {
    let diags = Diags::default();
    let (client, mut events, mut peer) = pair(diags.options());
    let a = client.send::<ThreadsRequest>(None).unwrap();
    let b = client
        .send::<EvaluateRequest>(EvaluateArguments::new("1"))
        .unwrap();
    let _ = peer.recv_request().await;
    let _ = peer.recv_request().await;
    drop(peer);
    assert!(matches!(a.response().await, Err(RequestError::Closed)));
    assert!(matches!(b.response().await, Err(RequestError::Closed)));
    assert!(events.recv().await.is_none());
    assert!(client.is_closed());
    assert!(client.status().closed);
    assert!(matches!(
        client.request::<ThreadsRequest>(None).await,
        Err(RequestError::Closed)
    ));
    diags.wait_for("the adapter closed the connection").await;
}

#[tokio::test]
async fn run_in_terminal_runs_the_command_with_cwd_and_env() {
    let dir = TempDir::new("rit");
    let (client, _events, mut peer) = pair(ClientOptions::new().with_run_in_terminal());
    initialize(&client, &mut peer, json!({})).await;
    // Direct exec: `sh` with its arguments verbatim; HOME: null unsets an inherited var.
    peer.send_json(&json!({
        "seq": 1, "type": "request", "command": "runInTerminal",
        "arguments": {
            "kind": "integrated", "cwd": dir.0.to_str().unwrap(),
            "args": ["sh", "-c", "echo \"$X:$(pwd -P):${HOME-unset}\" > out.txt"],
            "env": {"X": "hello world", "HOME": null}
        }
    }))
    .await;
    let Response::RunInTerminal(r) = peer.recv_response().await else {
        panic!("expected a runInTerminal response")
    };
    assert_eq!(r.request_seq, 1);
    let pid = r.body.process_id.expect("a processId");
    assert!(pid > 0);
    assert_eq!(r.body.shell_process_id, None);
    let text = wait_for_file(&dir.0.join("out.txt")).await;
    let cwd = std::fs::canonicalize(&dir.0).unwrap();
    assert_eq!(text, format!("hello world:{}:unset\n", cwd.display()));

    // Through the shell: the arguments are joined and interpreted.
    peer.send_json(&json!({
        "seq": 2, "type": "request", "command": "runInTerminal",
        "arguments": {
            "cwd": dir.0.to_str().unwrap(),
            "args": ["echo", "$Y", ">", "shell.txt"],
            "env": {"Y": "via-shell"},
            "argsCanBeInterpretedByShell": true
        }
    }))
    .await;
    let Response::RunInTerminal(r) = peer.recv_response().await else {
        panic!("expected a runInTerminal response")
    };
    assert_eq!(r.request_seq, 2);
    assert!(r.body.shell_process_id.is_some());
    assert_eq!(wait_for_file(&dir.0.join("shell.txt")).await, "via-shell\n");
}

#[tokio::test]
async fn run_in_terminal_leaves_the_process_running() {
    let dir = TempDir::new("rit-live");
    let (client, _events, mut peer) = pair(ClientOptions::new().with_run_in_terminal());
    initialize(&client, &mut peer, json!({})).await;
    peer.send_json(&json!({
        "seq": 1, "type": "request", "command": "runInTerminal",
        "arguments": {"cwd": dir.0.to_str().unwrap(),
                      "args": ["sh", "-c", "sleep 0.5; echo alive > late.txt"]}
    }))
    .await;
    let Response::RunInTerminal(r) = peer.recv_response().await else {
        panic!("expected a runInTerminal response")
    };
    assert!(r.body.process_id.is_some());
    // The handler has answered and the session ends; the process still finishes its work.
    assert!(!dir.0.join("late.txt").exists());
    drop(client);
    drop(peer);
    assert_eq!(wait_for_file(&dir.0.join("late.txt")).await, "alive\n");
}

#[tokio::test]
async fn run_in_terminal_failure_is_an_error_response() {
    let (client, _events, mut peer) = pair(ClientOptions::new().with_run_in_terminal());
    initialize(&client, &mut peer, json!({})).await;
    peer.send_json(&json!({
        "seq": 1, "type": "request", "command": "runInTerminal",
        "arguments": {"cwd": "", "args": ["/nonexistent/program-xyz"]}
    }))
    .await;
    let Response::Error(e) = peer.recv_response().await else {
        panic!("expected an error response")
    };
    assert_eq!(e.command, "runInTerminal");
    let msg = e.message.unwrap().as_str().to_owned();
    assert!(
        msg.contains("cannot start `/nonexistent/program-xyz`"),
        "{msg}"
    );
}

#[tokio::test]
async fn start_debugging_default_refuses_and_callback_is_called() {
    let (_client, _events, mut peer) = pair(ClientOptions::new());
    let request = json!({
        "seq": 1, "type": "request", "command": "startDebugging",
        "arguments": {"request": "attach", "configuration": {"name": "child", "subProcessId": 42}}
    });
    peer.send_json(&request).await;
    let Response::Error(e) = peer.recv_response().await else {
        panic!("expected an error response")
    };
    assert_eq!(e.request_seq, 1);
    assert!(e.message.unwrap().as_str().contains("not supported"));

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let options = ClientOptions::new().on_start_debugging(move |args| {
        let tx = tx.clone();
        async move {
            tx.send(args.configuration["subProcessId"].clone())
                .map_err(|e| e.to_string())
        }
    });
    let (client, _events, mut peer) = pair(options);
    // Not declared in `initialize` (none sent yet): refused although a handler is set.
    peer.send_json(&request).await;
    let Response::Error(e) = peer.recv_response().await else {
        panic!("expected an error response")
    };
    let msg = e.message.unwrap().as_str().to_owned();
    assert!(msg.contains("supportsStartDebuggingRequest"), "{msg}");
    assert!(
        rx.try_recv().is_err(),
        "the handler ran without the capability"
    );
    let mut args = init_args();
    args.supports_start_debugging_request = Some(true);
    let pending = client.send::<InitializeRequest>(args).unwrap();
    let _ = peer.recv_request().await;
    peer.respond(pending.seq(), "initialize", json!({})).await;
    pending.response().await.unwrap();
    peer.send_json(&request).await;
    let Response::StartDebugging(ok) = peer.recv_response().await else {
        panic!("expected a startDebugging response")
    };
    assert_eq!(ok.request_seq, 1);
    assert_eq!(rx.recv().await, Some(json!(42)));

    // Unknown reverse requests get an error response.
    peer.send_json(&json!({"seq": 2, "type": "request", "command": "frobnicate"}))
        .await;
    let Response::Error(e) = peer.recv_response().await else {
        panic!("expected an error response")
    };
    assert_eq!(e.command, "frobnicate");
    assert_eq!(e.request_seq, 2);
}

/// A `runInTerminal` request from the adapter whose command would write `marker`.
fn run_in_terminal_request(seq: i32, dir: &TempDir, marker: &str) -> serde_json::Value {
    json!({
        "seq": seq, "type": "request", "command": "runInTerminal",
        "arguments": {"cwd": dir.0.to_str().unwrap(),
                      "args": ["sh", "-c", format!("echo ran > {marker}")]}
    })
}

#[tokio::test]
async fn run_in_terminal_is_refused_unless_opted_in_and_declared() {
    let dir = TempDir::new("rit-refused");
    // Default options: nothing from the adapter is run, even with the capability declared.
    let (client, _events, mut peer) = pair(ClientOptions::new());
    initialize(&client, &mut peer, json!({})).await;
    peer.send_json(&run_in_terminal_request(7, &dir, "default.txt"))
        .await;
    let Response::Error(e) = peer.recv_response().await else {
        panic!("expected an error response")
    };
    assert_eq!((e.request_seq, e.command.as_str()), (7, "runInTerminal"));
    let msg = e.message.unwrap().as_str().to_owned();
    assert!(msg.contains("does not run commands"), "{msg}");

    // Opted in, but the `initialize` it sent did not declare the capability: refused.
    let (client, _events, mut peer) = pair(ClientOptions::new().with_run_in_terminal());
    let pending = client
        .send::<InitializeRequest>(InitializeRequestArguments::new("test-adapter"))
        .unwrap();
    let _ = peer.recv_request().await;
    peer.respond(pending.seq(), "initialize", json!({})).await;
    pending.response().await.unwrap();
    peer.send_json(&run_in_terminal_request(8, &dir, "undeclared.txt"))
        .await;
    let Response::Error(e) = peer.recv_response().await else {
        panic!("expected an error response")
    };
    assert_eq!(e.request_seq, 8);
    let msg = e.message.unwrap().as_str().to_owned();
    assert!(msg.contains("supportsRunInTerminalRequest"), "{msg}");

    // Opted in and declared: it runs (the same request shape is not refused per se).
    let (client, _events, mut peer) = pair(ClientOptions::new().with_run_in_terminal());
    initialize(&client, &mut peer, json!({})).await;
    peer.send_json(&run_in_terminal_request(9, &dir, "ran.txt"))
        .await;
    let Response::RunInTerminal(r) = peer.recv_response().await else {
        panic!("expected a runInTerminal response")
    };
    assert_eq!(r.request_seq, 9);
    assert_eq!(wait_for_file(&dir.0.join("ran.txt")).await, "ran\n");
    // Neither refused command ran (the allowed one, sent after them, has finished).
    assert!(!dir.0.join("default.txt").exists());
    assert!(!dir.0.join("undeclared.txt").exists());
}

#[tokio::test]
async fn concurrent_reverse_requests_are_bounded() {
    let diags = Diags::default();
    // A handler that waits until the gate opens, counting the calls it got.
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (g, c) = (gate.clone(), calls.clone());
    let options = diags
        .options()
        .with_reverse_request_limit(2)
        .on_run_in_terminal(move |_args| {
            let (g, c) = (g.clone(), c.clone());
            async move {
                c.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let _ = g.acquire().await.map_err(|e| e.to_string())?;
                Ok(dapkit_types::types::RunInTerminalResponseBody::new().with_process_id(1))
            }
        });
    let (client, _events, mut peer) = pair(options);
    initialize(&client, &mut peer, json!({})).await;
    let request = |seq: i32| {
        json!({"seq": seq, "type": "request", "command": "runInTerminal",
               "arguments": {"cwd": "", "args": ["true"]}})
    };
    for seq in 1..=3 {
        peer.send_json(&request(seq)).await;
    }
    // Two are in progress (blocked): the third is refused at once, saying why.
    let Response::Error(e) = peer.recv_response().await else {
        panic!("expected the third request to be refused")
    };
    assert_eq!(e.request_seq, 3);
    let msg = e.message.unwrap().as_str().to_owned();
    assert!(msg.contains("at most 2"), "{msg}");
    diags.wait_for("too many reverse requests").await;
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    // Released, the two answer; their permits come back and a new one is handled.
    gate.add_permits(3);
    let mut answered = Vec::new();
    for _ in 0..2 {
        let Response::RunInTerminal(r) = peer.recv_response().await else {
            panic!("expected a runInTerminal response")
        };
        answered.push(r.request_seq);
    }
    answered.sort_unstable();
    assert_eq!(answered, [1, 2]);
    peer.send_json(&request(4)).await;
    let Response::RunInTerminal(r) = peer.recv_response().await else {
        panic!("expected the fourth request to be handled")
    };
    assert_eq!(r.request_seq, 4);
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 3);
}

#[tokio::test]
async fn wait_for_backlog_is_bounded_and_loses_no_event() {
    let (_client, mut events, mut peer) = pair(ClientOptions::new().with_event_capacity(4));
    let adapter = tokio::spawn(async move {
        for i in 0..10 {
            peer.event("output", json!({"output": format!("line {i}\n")}))
                .await;
        }
        peer.event("stopped", json!({"reason": "pause"})).await;
        peer
    });
    // Passed-over events fill the backlog (4): wait_for stops instead of growing it.
    let mut outputs = Vec::new();
    let stopped = loop {
        match events.wait_for_named("stopped", STEP).await {
            Ok(e) => break e,
            Err(WaitError::BacklogFull(n)) => {
                assert_eq!(n, 4);
                assert_eq!(events.backlog_len(), 4);
                while let Some(e) = events.try_recv() {
                    let Event::Output(o) = e else {
                        panic!("expected an output event, got {e:?}")
                    };
                    outputs.push(o.body.output);
                    if events.backlog_len() == 0 {
                        break;
                    }
                }
            }
            Err(e) => panic!("unexpected {e}"),
        }
    };
    assert_eq!(stopped.event(), Some("stopped"));
    // The last two outputs are in the backlog now; every event came, in order.
    while events.backlog_len() > 0 {
        let Some(Event::Output(o)) = events.try_recv() else {
            panic!("expected an output event")
        };
        outputs.push(o.body.output);
    }
    let expected: Vec<String> = (0..10).map(|i| format!("line {i}\n")).collect();
    assert_eq!(outputs, expected);
    adapter.await.unwrap();
}

#[tokio::test]
async fn abandoned_requests_are_remembered_up_to_a_bound() {
    let diags = Diags::default();
    let (client, _events, mut peer) = pair(diags.options());
    // The adapter never answers; the client gives up on 1030 requests (dropped unanswered).
    for _ in 0..1030 {
        drop(client.send::<ThreadsRequest>(None).unwrap());
    }
    for _ in 0..1030 {
        let _ = peer.recv_request().await;
    }
    // Only the latest 1024 are remembered: the 6 oldest are forgotten.
    peer.respond(6, "threads", json!({"threads": []})).await;
    peer.respond(7, "threads", json!({"threads": []})).await;
    peer.respond(1030, "threads", json!({"threads": []})).await;
    diags
        .wait_for("answers request_seq 6, which this client never sent or no longer remembers")
        .await;
    diags.wait_for("response to request 7 arrived after").await;
    diags
        .wait_for("response to request 1030 arrived after")
        .await;
    assert!(
        !diags.all().iter().any(|d| d.contains("request 6 arrived")),
        "{:?}",
        diags.all()
    );
}

#[tokio::test]
async fn a_peer_that_never_reads_bounds_the_write_queue() {
    a_peer_that_never_reads(ClientOptions::new()).await;
}

/// With write-through the first frames are written by the sender; the one the pipe takes
/// only in part is finished by the writer task, and the rest is queued and bounded as
/// without it.
#[tokio::test]
async fn a_peer_that_never_reads_bounds_the_write_queue_written_through() {
    a_peer_that_never_reads(ClientOptions::new().with_write_through(true)).await;
}

async fn a_peer_that_never_reads(options: ClientOptions) {
    // A 4 KiB pipe the adapter does not read: the writer blocks once it is full.
    let limit = 64 * 1024;
    let options = options.with_write_queue_limit(limit);
    let (client, _events, mut peer) = pair_with_buffer(options, 4096);
    let expression = "x".repeat(1000);
    let mut pending = Vec::new();
    let refused = loop {
        assert!(pending.len() < 2000, "2000 requests queued without a bound");
        match client.send::<EvaluateRequest>(EvaluateArguments::new(expression.clone())) {
            Ok(p) => pending.push(p),
            Err(e) => break e,
        }
        tokio::task::yield_now().await;
    };
    let RequestError::WriteQueueFull { queued, limit: l } = refused else {
        panic!("expected WriteQueueFull, got {refused:?}")
    };
    assert_eq!(l, limit);
    assert!(queued <= limit && queued + 1000 > limit, "{queued}");
    assert!(refused.to_string().contains("not reading"), "{refused}");
    // The writer holds at most one batch (256 KiB) besides the queue.
    assert!(pending.len() * 1000 < limit + 256 * 1024 + 8 * 1024);
    // The session stays open: once the adapter reads, every queued request arrives, in
    // order, and sending works again.
    assert!(!client.is_closed());
    for p in &pending {
        let Request::Evaluate(r) = peer.recv_request().await else {
            panic!("expected evaluate")
        };
        assert_eq!(i64::from(r.seq), p.seq());
    }
    let next = client
        .send::<EvaluateRequest>(EvaluateArguments::new("after"))
        .unwrap();
    let Request::Evaluate(r) = peer.recv_request().await else {
        panic!("expected evaluate")
    };
    assert_eq!(
        (i64::from(r.seq), r.arguments.expression.as_str()),
        (next.seq(), "after")
    );
}

#[tokio::test]
async fn request_raw_for_custom_commands() {
    let (client, _events, mut peer) = pair(ClientOptions::new());
    let pending = client
        .send_raw("dapkitCustomInfo", Some(json!({"verbose": true})))
        .unwrap();
    let Request::Custom(raw) = peer.recv_request().await else {
        panic!("expected a custom request")
    };
    assert_eq!(raw.arguments().unwrap()["verbose"], true);
    peer.respond(
        pending.seq(),
        "dapkitCustomInfo",
        json!({"python": {"version": "3.x"}}),
    )
    .await;
    let r = pending.response().await.unwrap();
    assert!(r.success());
    assert_eq!(r.command(), Some("dapkitCustomInfo"));

    // A standard command by hand gives the typed response.
    let pending = client.send_raw("threads", None).unwrap();
    let _ = peer.recv_request().await;
    peer.respond(pending.seq(), "threads", json!({"threads": []}))
        .await;
    assert!(matches!(
        pending.response().await.unwrap(),
        Response::Threads(_)
    ));
}

#[tokio::test]
async fn disconnect_waits_for_terminated_then_closes() {
    // A long grace: disconnect must end on the events and the hang-up, not on the grace.
    let (client, _events, mut peer) =
        pair(ClientOptions::new().with_disconnect_grace(Duration::from_secs(120)));
    let adapter = tokio::spawn(async move {
        let Request::Disconnect(d) = peer.recv_request().await else {
            panic!("expected disconnect")
        };
        assert_eq!(
            d.arguments.as_ref().and_then(|a| a.terminate_debuggee),
            Some(true)
        );
        peer.respond(i64::from(d.seq), "disconnect", json!({}))
            .await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        peer.event("exited", json!({"exitCode": 3})).await;
        peer.event("terminated", json!({})).await;
        // The client shuts its write half down: the adapter reads the end.
        peer.client_closed(STEP).await
    });
    let mut args = dapkit_types::types::DisconnectArguments::new();
    args.terminate_debuggee = Some(true);
    let report = tokio::time::timeout(Duration::from_secs(60), client.disconnect(Some(args)))
        .await
        .expect("disconnect waited for its grace instead of the events")
        .unwrap();
    // `exited` came before `terminated`; the reader has read both by the time the session
    // is closed (it is joined after the adapter hangs up).
    assert_eq!(report.exit_code, Some(3));
    assert!(report.terminated);
    assert!(
        adapter.await.unwrap(),
        "the adapter did not see the end of the stream"
    );
    assert!(client.is_closed());
    assert!(matches!(
        client.request::<ThreadsRequest>(None).await,
        Err(RequestError::Closed)
    ));
}

#[tokio::test]
async fn reverse_requests_are_refused_as_requests() {
    let (client, _events, _peer) = pair(ClientOptions::new());
    let args = dapkit_types::types::RunInTerminalRequestArguments::new("", vec!["x".into()]);
    let err = client
        .send::<dapkit_types::messages::RunInTerminalRequest>(args)
        .unwrap_err();
    assert!(err.to_string().contains("reverse request"), "{err}");
}

/// The forwarding hooks: with `with_raw_inbound`, events, reverse requests and responses
/// nobody waits for arrive as bytes in order; typed requests still get their responses;
/// `send_message_bytes` numbers bodies in the session's `seq` order; `terminated` is still
/// observed.
#[tokio::test]
async fn raw_inbound_and_send_message_bytes() {
    let (tx, mut rx) = tokio::sync::mpsc::channel(16);
    let (client, _events, mut peer) = pair(ClientOptions::new().with_raw_inbound(tx));
    // A forwarded request (no waiter) and a typed one.
    let forwarded = client
        .send_message_bytes(|seq| {
            Ok(format!(r#"{{"seq":{seq},"type":"request","command":"threads"}}"#).into_bytes())
        })
        .unwrap();
    let typed = client.send::<ThreadsRequest>(None).unwrap();
    assert_eq!((forwarded, typed.seq()), (1, 2));
    let Request::Threads(r1) = peer.recv_request().await else {
        panic!("threads")
    };
    let Request::Threads(r2) = peer.recv_request().await else {
        panic!("threads")
    };
    assert_eq!((r1.seq, r2.seq), (1, 2));
    peer.event("output", json!({"output": "one"})).await;
    peer.respond(1, "threads", json!({"threads": []})).await;
    peer.respond(2, "threads", json!({"threads": [{"id": 7, "name": "t"}]}))
        .await;
    let seq = peer.next_seq();
    peer.send_json(&json!({"seq": seq, "type": "request", "command": "runInTerminal", "arguments": {"cwd": "/", "args": ["x"]}}))
        .await;
    peer.event("terminated", json!({})).await;
    let typed = typed.response().await.unwrap();
    assert_eq!(
        typed.body.threads[0].id, 7,
        "the typed request got its own response"
    );
    let mut kinds = Vec::new();
    for _ in 0..4 {
        let bytes = tokio::time::timeout(STEP, rx.recv())
            .await
            .unwrap()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        kinds.push(format!("{}:{}", v["type"].as_str().unwrap(), v["seq"]));
    }
    assert_eq!(
        kinds,
        ["event:1", "response:2", "request:4", "event:5"],
        "in arrival order"
    );
    assert!(client.status().terminated, "terminated is still observed");
    // Nothing answered the reverse request by itself: the forwarder does.
    let answered = client
        .send_message_bytes(|seq| {
            Ok(format!(r#"{{"seq":{seq},"type":"response","request_seq":4,"command":"runInTerminal","success":true}}"#).into_bytes())
        })
        .unwrap();
    assert_eq!(answered, 3);
    let r = peer.recv_response().await;
    assert_eq!(r.request_seq(), Some(4));
}

/// `with_raw_inbound_handler`: the reader task hands each message to the handler in
/// arrival order; a future the handler returns holds the next message back until it
/// completes; `closed` comes once, after the last message.
#[tokio::test]
async fn raw_inbound_handler_in_order_with_backpressure_then_closed() {
    use dapkit_session::client::{BoxFuture, RawInbound};
    use std::sync::{Arc, Mutex};

    struct Recorder {
        seen: Mutex<Vec<String>>,
        hold: Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
        closed: tokio::sync::mpsc::UnboundedSender<usize>,
    }
    impl RawInbound for Recorder {
        fn message(
            &self,
            bytes: bytes::Bytes,
            envelope: &dapkit_types::Envelope,
        ) -> Option<BoxFuture<()>> {
            let v: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
            assert_eq!(
                envelope.kind.as_deref(),
                v["type"].as_str(),
                "the envelope read"
            );
            let mut seen = self.seen.lock().expect("lock");
            seen.push(format!(
                "{}:{}",
                v["type"].as_str().unwrap_or("?"),
                v["seq"]
            ));
            // The first message makes the reader wait until the test lets go.
            let hold = self.hold.lock().expect("lock").take()?;
            Some(Box::pin(async move {
                let _ = hold.await;
            }))
        }
        fn closed(&self) {
            let n = self.seen.lock().expect("lock").len();
            let _ = self.closed.send(n);
        }
    }

    let (release, hold) = tokio::sync::oneshot::channel();
    let (closed_tx, mut closed_rx) = tokio::sync::mpsc::unbounded_channel();
    let handler = Arc::new(Recorder {
        seen: Mutex::new(Vec::new()),
        hold: Mutex::new(Some(hold)),
        closed: closed_tx,
    });
    let (client, _events, mut peer) =
        pair(ClientOptions::new().with_raw_inbound_handler(handler.clone()));
    peer.event("output", json!({"output": "one"})).await;
    peer.respond(9, "threads", json!({"threads": []})).await;
    let seq = peer.next_seq();
    peer.send_json(&json!({"seq": seq, "type": "request", "command": "runInTerminal", "arguments": {"cwd": "/", "args": ["x"]}}))
        .await;
    peer.event("terminated", json!({})).await;
    // The reader is held after the first message.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(*handler.seen.lock().expect("lock"), ["event:1"]);
    release.send(()).expect("the handler waits");
    drop(peer);
    let n = tokio::time::timeout(STEP, closed_rx.recv())
        .await
        .expect("closed is called")
        .expect("closed is called");
    assert_eq!(n, 4, "closed came after the last message");
    assert_eq!(
        *handler.seen.lock().expect("lock"),
        ["event:1", "response:2", "request:3", "event:4"],
        "in arrival order"
    );
    assert!(client.status().terminated, "terminated is still observed");
    assert!(client.is_closed());
    assert!(closed_rx.try_recv().is_err(), "closed is called once");
}
