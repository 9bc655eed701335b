//! Clients coming and going, against an in-process adapter: a stalled observer is
//! disconnected (with a last `output` saying why) while the controller gets every event;
//! reverse requests go to the client that declared the capability, and fail at once when
//! it leaves; the last client leaving keeps, detaches or terminates the session.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use dapkit_proxy::{Ended, LastClientExit, ProxyOptions};
use dapkit_session::adapter::{AdapterSession, Requests, ReverseRequestError};
use dapkit_types::Request;
use dapkit_types::types::{Capabilities, RunInTerminalRequestArguments};
use serde_json::{Value, json};
use std::time::Duration;
use support::{RawClient, STEP, start_proxy};
use tokio::sync::mpsc;

fn caps() -> Capabilities {
    Capabilities::new().with_supports_configuration_done_request(true)
}

/// Waits (bounded) until the proxy has `n` clients.
async fn clients_become(handle: &dapkit_proxy::ProxyHandle, n: usize) {
    for _ in 0..500 {
        if handle.client_count() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "the proxy still has {} clients, not {n}",
        handle.client_count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_observer_is_disconnected_and_the_controller_gets_everything() {
    const EVENTS: usize = 20_000;
    let padding = "x".repeat(1000);
    let running = start_proxy(
        ProxyOptions::new().with_client_queue(256),
        move |session: AdapterSession, mut requests: Requests| async move {
            while let Some(req) = requests.next().await {
                match req.request() {
                    Request::Initialize(_) => session.respond_initialize(req, caps()).unwrap(),
                    Request::Evaluate(_) => {
                        for i in 0..EVENTS {
                            let body = json!({"category": "stdout", "output": format!("line {i} {padding}\n")});
                            session.send_event_raw("output", Some(body)).unwrap();
                            // The flood (20 MB) is larger than the adapter's write queue
                            // (16 MiB): the adapter lets its writer task run now and then,
                            // as a real adapter's event source would. (Without it, its
                            // writer may wait in the worker's LIFO slot, which no other
                            // worker steals, until the whole flood is queued.)
                            if i % 64 == 63 {
                                tokio::task::yield_now().await;
                            }
                        }
                        session.respond_raw(req, Some(json!({"result": "done", "variablesReference": 0}))).unwrap();
                    }
                    _ => session.respond_error(req, "not in this test").unwrap(),
                }
            }
        },
    )
    .await;
    let mut controller = RawClient::connect(&running.at).await;
    controller.initialize(json!({"adapterID": "t"})).await;
    let mut observer = RawClient::connect(&running.at).await;
    observer.initialize(json!({"adapterID": "t"})).await;
    // The observer stops reading now; it reads again only once the proxy has let it go
    // (then what was on its way, and the last words, arrive).
    let handle = running.handle.clone();
    let drained = tokio::spawn(async move {
        clients_become(&handle, 1).await;
        let mut last = Value::Null;
        while let Some(m) = observer.try_recv(STEP).await {
            last = m;
        }
        last
    });
    let flood = controller
        .request(
            "evaluate",
            json!({"expression": "flood", "context": "repl"}),
        )
        .await;
    let mut next = 0;
    loop {
        let m = controller.recv().await;
        if m["type"] == "response" && m["request_seq"] == flood {
            break;
        }
        if m["event"] == "output" {
            let text = m["body"]["output"].as_str().unwrap();
            assert!(
                text.starts_with(&format!("line {next} ")),
                "event {next} in order: {text:.20}"
            );
            next += 1;
        }
    }
    assert_eq!(next, EVENTS, "the controller got every event");
    let last = drained.await.expect("the observer's reader");
    assert_eq!(last["event"], "output", "{last}");
    assert_eq!(last["body"]["category"], "console");
    let text = last["body"]["output"].as_str().unwrap();
    assert!(
        text.contains("fell behind") && text.contains("256"),
        "{text}"
    );
    running.handle.shutdown();
    assert!(matches!(running.run.await.unwrap(), Ok(Ended::Shutdown)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverse_requests_go_to_the_declaring_client_and_fail_when_it_leaves() {
    let (results_tx, mut results) = mpsc::unbounded_channel();
    let running = start_proxy(
        ProxyOptions::new(),
        move |session: AdapterSession, mut requests: Requests| async move {
            while let Some(req) = requests.next().await {
                match req.request() {
                    Request::Initialize(_) => session.respond_initialize(req, caps()).unwrap(),
                    Request::Evaluate(_) => {
                        let session = session.clone();
                        let results = results_tx.clone();
                        session
                            .respond_raw(
                                req,
                                Some(json!({"result": "asked", "variablesReference": 0})),
                            )
                            .unwrap();
                        tokio::spawn(async move {
                            let args = RunInTerminalRequestArguments::new("/", vec!["true".into()]);
                            let _ = results.send(
                                session
                                    .request::<dapkit_types::messages::RunInTerminalRequest>(args)
                                    .await,
                            );
                        });
                    }
                    _ => session.respond_error(req, "not in this test").unwrap(),
                }
            }
        },
    )
    .await;
    // The controller cannot run a terminal; the observer can.
    let mut controller = RawClient::connect(&running.at).await;
    controller
        .initialize(json!({"adapterID": "t", "supportsRunInTerminalRequest": false}))
        .await;
    let mut observer = RawClient::connect(&running.at).await;
    observer
        .initialize(json!({"adapterID": "t", "supportsRunInTerminalRequest": true}))
        .await;

    controller
        .request("evaluate", json!({"expression": "ask", "context": "repl"}))
        .await;
    let asked = observer.until(|m| m["type"] == "request").await;
    assert_eq!(asked["command"], "runInTerminal");
    let seq = asked["seq"].as_i64().unwrap();
    observer
        .send(json!({"seq": 100, "type": "response", "request_seq": seq, "command": "runInTerminal", "success": true, "body": {"processId": 4242}}))
        .await;
    let answered = tokio::time::timeout(STEP, results.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        answered
            .expect("the observer's answer reached the adapter")
            .body
            .process_id,
        Some(4242)
    );

    // Asked again, the observer leaves without answering: the adapter hears at once.
    controller
        .request("evaluate", json!({"expression": "ask", "context": "repl"}))
        .await;
    let asked = observer.until(|m| m["type"] == "request").await;
    assert_eq!(asked["command"], "runInTerminal");
    drop(observer);
    match tokio::time::timeout(STEP, results.recv())
        .await
        .unwrap()
        .unwrap()
    {
        Err(ReverseRequestError::Rejected(e)) => {
            let text = format!("{e:?}");
            assert!(text.contains("left"), "{text}");
        }
        other => panic!("the adapter was not told: {other:?}"),
    }
    running.handle.shutdown();
    assert!(matches!(running.run.await.unwrap(), Ok(Ended::Shutdown)));
}

/// The last client leaves under `policy`: what the adapter is sent, how the proxy ends.
async fn last_client_leaves(
    policy: LastClientExit,
) -> (Option<Value>, dapkit_proxy::ProxyHandle, support::Running) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let running = start_proxy(
        ProxyOptions::new().on_last_client_exit(policy),
        move |session: AdapterSession, mut requests: Requests| async move {
            while let Some(req) = requests.next().await {
                match req.request() {
                    Request::Initialize(_) => session.respond_initialize(req, caps()).unwrap(),
                    Request::Disconnect(d) => {
                        let _ = tx.send(serde_json::to_value(&d.arguments).unwrap());
                        session.respond_raw(req, None).unwrap();
                        session.close().await;
                        return;
                    }
                    _ => session
                        .respond_raw(req, Some(json!({"result": "ok", "variablesReference": 0})))
                        .unwrap(),
                }
            }
        },
    )
    .await;
    let mut first = RawClient::connect(&running.at).await;
    first.initialize(json!({"adapterID": "t"})).await;
    drop(first);
    let sent = tokio::time::timeout(Duration::from_millis(1500), rx.recv())
        .await
        .ok()
        .flatten();
    let handle = running.handle.clone();
    (sent, handle, running)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_client_terminate_and_detach() {
    for (policy, terminate) in [
        (LastClientExit::Terminate, true),
        (LastClientExit::Detach, false),
    ] {
        let (sent, _, running) = last_client_leaves(policy).await;
        let sent = sent.expect("the adapter got a disconnect");
        assert_eq!(sent["terminateDebuggee"], terminate, "{policy:?}: {sent}");
        let ended = tokio::time::timeout(STEP, running.run)
            .await
            .unwrap()
            .unwrap();
        assert!(
            matches!(ended, Ok(Ended::LastClientLeft)),
            "{policy:?}: {ended:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_client_keep_waits_for_the_next_controller() {
    let (sent, handle, running) = last_client_leaves(LastClientExit::Keep).await;
    assert!(sent.is_none(), "keep sends nothing: {sent:?}");
    clients_become(&handle, 0).await;
    let mut next = RawClient::connect(&running.at).await;
    let init = next.initialize(json!({"adapterID": "t"})).await;
    assert_eq!(init["success"], true, "answered from the cache: {init}");
    assert_eq!(init["body"]["supportsConfigurationDoneRequest"], true);
    let role = next
        .until(|m| m["event"] == "dapkitProxy/controlChanged")
        .await;
    assert_eq!(role["body"]["role"], "controller", "{role}");
    // As the controller it may send anything (this one reaches the adapter).
    let seq = next
        .request("evaluate", json!({"expression": "1", "context": "repl"}))
        .await;
    let answer = next
        .until(|m| m["type"] == "response" && m["request_seq"] == seq)
        .await;
    assert_eq!(answer["body"]["result"], "ok");
    handle.shutdown();
    assert!(matches!(running.run.await.unwrap(), Ok(Ended::Shutdown)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_adapter_connects_to_the_proxy() {
    // `--adapter-listen`: the proxy waits for the adapter's reverse connection.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let adapter_at = dapkit_transport::Endpoint::Tcp(([127, 0, 0, 1], port).into());
    let starting = tokio::spawn(async move {
        dapkit_proxy::Proxy::start(
            &dapkit_transport::Endpoint::Tcp(([127, 0, 0, 1], 0).into()),
            &dapkit_proxy::Adapter::Listen(adapter_at.clone()),
            ProxyOptions::new(),
        )
        .await
    });
    // The adapter connects (retrying until the proxy listens) and serves.
    let policy = dapkit_transport::RetryPolicy::default().with_interval(Duration::from_millis(50));
    let conn = dapkit_transport::connect(
        &dapkit_transport::Endpoint::Tcp(([127, 0, 0, 1], port).into()),
        &policy,
    )
    .await
    .expect("the adapter reaches the proxy");
    let (r, w) = conn.into_split();
    let (session, mut requests) = AdapterSession::new(r, w);
    tokio::spawn(async move {
        while let Some(req) = requests.next().await {
            match req.request() {
                Request::Initialize(_) => session.respond_initialize(req, caps()).unwrap(),
                _ => session.respond_error(req, "not in this test").unwrap(),
            }
        }
    });
    let proxy = tokio::time::timeout(STEP, starting)
        .await
        .unwrap()
        .unwrap()
        .expect("the proxy starts");
    assert_eq!(
        proxy.adapter_description(),
        format!("listen tcp:127.0.0.1:{port}")
    );
    let mut client = RawClient::connect(proxy.local_endpoint()).await;
    let handle = proxy.handle();
    let run = tokio::spawn(proxy.run());
    let init = client.initialize(json!({"adapterID": "t"})).await;
    assert_eq!(init["body"]["supportsConfigurationDoneRequest"], true);
    client.until(|m| m["event"] == "initialized").await;
    handle.shutdown();
    assert!(matches!(run.await.unwrap(), Ok(Ended::Shutdown)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_request_id_is_translated() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let running = start_proxy(
        ProxyOptions::new(),
        move |session: AdapterSession, mut requests: Requests| async move {
            let mut held = Vec::new();
            while let Some(req) = requests.next().await {
                match req.request() {
                    Request::Initialize(_) => session.respond_initialize(req, caps()).unwrap(),
                    // Held unanswered until cancelled.
                    Request::Evaluate(_) => {
                        let _ = tx.send(("evaluate", i64::from(req.seq())));
                        held.push(req);
                    }
                    Request::Cancel(c) => {
                        let id = c
                            .arguments
                            .as_ref()
                            .and_then(|a| a.request_id)
                            .map_or(-1, i64::from);
                        let _ = tx.send(("cancel", id));
                        session.respond_raw(req, None).unwrap();
                        for h in held.drain(..) {
                            session.respond_error(h, "cancelled").unwrap();
                        }
                    }
                    _ => session.respond_error(req, "not in this test").unwrap(),
                }
            }
        },
    )
    .await;
    let mut client = RawClient::connect(&running.at).await;
    // The client numbers from 100; the proxy numbers upstream from 1.
    client.seq = 99;
    client.initialize(json!({"adapterID": "t"})).await;
    let evaluate = client
        .request("evaluate", json!({"expression": "slow", "context": "repl"}))
        .await;
    let (_, upstream) = tokio::time::timeout(STEP, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_ne!(upstream, evaluate, "the numbering differs on the two sides");
    let cancel = client
        .request("cancel", json!({"requestId": evaluate}))
        .await;
    let (what, id) = tokio::time::timeout(STEP, rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (what, id),
        ("cancel", upstream),
        "the adapter got its own seq in requestId"
    );
    let first = client.until(|m| m["type"] == "response").await;
    let second = client.until(|m| m["type"] == "response").await;
    let mut answered = [
        first["request_seq"].as_i64(),
        second["request_seq"].as_i64(),
    ];
    answered.sort();
    assert_eq!(answered, [Some(evaluate), Some(cancel)], "{first} {second}");
    running.handle.shutdown();
    assert!(matches!(running.run.await.unwrap(), Ok(Ended::Shutdown)));
}
