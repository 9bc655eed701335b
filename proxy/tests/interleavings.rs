//! Property test: N clients send requests in random interleavings through the proxy to an
//! in-process adapter (dapkit-session's adapter side) that answers after random delays, so
//! responses come back out of order. Every request is answered exactly once, to its sender,
//! with the sender's `request_seq`; every client's `seq`s are strictly increasing (1, 2, …);
//! every event reaches every client exactly once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use dapkit_proxy::ProxyOptions;
use dapkit_session::adapter::AdapterSession;
use dapkit_types::Request;
use dapkit_types::types::Capabilities;
use futures_util::StreamExt;
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use support::{RawClient, STEP, start_proxy};

/// An adapter that answers `evaluate` with its expression after `delayUs`, and sends one
/// `echoed` event per answer.
async fn adapter(session: AdapterSession, mut requests: dapkit_session::adapter::Requests) {
    while let Some(req) = requests.next().await {
        match req.request() {
            Request::Initialize(_) => {
                let caps = Capabilities::new().with_supports_configuration_done_request(true);
                session.respond_initialize(req, caps).unwrap();
            }
            Request::Evaluate(e) => {
                let expression = e.arguments.expression.clone();
                let delay = e
                    .arguments
                    .extra
                    .get("delayUs")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                let session = session.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_micros(delay)).await;
                    let body = json!({"result": expression, "variablesReference": 0});
                    session.respond_raw(req, Some(body)).unwrap();
                    session
                        .send_event_raw("echoed", Some(json!({"expression": expression})))
                        .unwrap();
                });
            }
            _ => session.respond_error(req, "not in this test").unwrap(),
        }
    }
}

/// One client's plan: (is_refused_command, delay in µs) per request.
type Plan = Vec<(bool, u64)>;

async fn scenario(plans: Vec<Plan>) {
    let support::Running { at, handle, run } = start_proxy(ProxyOptions::new(), adapter).await;
    let mut clients = Vec::new();
    for i in 0..plans.len() {
        let mut c = RawClient::connect(&at).await;
        let s = c.request("initialize", json!({"adapterID": "test"})).await;
        // Read until the initialize response (the first client also gets `initialized`).
        let mut seen = Vec::new();
        loop {
            let m = c.recv().await;
            seen.push(m.clone());
            if m["type"] == "response" {
                assert_eq!(m["request_seq"], s, "client {i}: initialize answered");
                break;
            }
        }
        clients.push((c, seen));
    }
    let total_echoes: usize = plans
        .iter()
        .map(|p| p.iter().filter(|(r, _)| !r).count())
        .sum();
    let mut tasks = Vec::new();
    // Nobody leaves before everyone has checked that nothing more arrives (a client
    // leaving is news for the others).
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(plans.len()));
    for (i, ((mut c, mut seen), plan)) in clients.into_iter().zip(plans).enumerate() {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let mut expected = BTreeMap::new();
            for (n, (refused, delay)) in plan.iter().enumerate() {
                let (command, args) = if *refused {
                    ("continue", json!({"threadId": 1}))
                } else {
                    let e = format!("c{i}-n{n}");
                    (
                        "evaluate",
                        json!({"expression": e, "context": "watch", "delayUs": delay}),
                    )
                };
                let seq = c.request(command, args).await;
                expected.insert(seq, (*refused, format!("c{i}-n{n}")));
                if delay % 3 == 0 {
                    tokio::task::yield_now().await;
                }
            }
            // Observers (every client but the first) are refused `continue`; the first
            // client is the controller and gets the adapter's error instead.
            let mut answered = BTreeMap::new();
            let mut echoed = Vec::new();
            while answered.len() < expected.len() || echoed.len() < total_echoes {
                let m = c.recv().await;
                seen.push(m.clone());
                match m["type"].as_str() {
                    Some("response") => {
                        let rs = m["request_seq"].as_i64().expect("an integer request_seq");
                        let Some((refused, expr)) = expected.get(&rs) else {
                            panic!("client {i}: a response to a request it did not send: {m}")
                        };
                        assert!(
                            answered.insert(rs, m.clone()).is_none(),
                            "client {i}: request {rs} answered twice"
                        );
                        if *refused {
                            assert_eq!(m["success"], false, "client {i}: continue refused: {m}");
                        } else {
                            assert_eq!(
                                m["body"]["result"],
                                expr.as_str(),
                                "client {i}: its own answer"
                            );
                        }
                    }
                    Some("event") if m["event"] == "echoed" => {
                        echoed.push(m["body"]["expression"].clone())
                    }
                    _ => {}
                }
            }
            let seqs: Vec<i64> = seen.iter().map(|m| m["seq"].as_i64().unwrap()).collect();
            let in_order: Vec<i64> = (1..=seqs.len() as i64).collect();
            assert_eq!(seqs, in_order, "client {i}: seq 1, 2, 3, …");
            let distinct: BTreeSet<String> = echoed.iter().map(|v| v.to_string()).collect();
            assert_eq!(distinct.len(), echoed.len(), "client {i}: no event twice");
            // Nothing more arrives: no duplicate was on its way.
            let extra = tokio::time::timeout(Duration::from_millis(50), c.frames.next()).await;
            assert!(
                extra.is_err(),
                "client {i}: an unexpected message: {extra:?}"
            );
            barrier.wait().await;
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }
    handle.shutdown();
    let ended = tokio::time::timeout(STEP, run).await.unwrap().unwrap();
    assert!(ended.is_ok(), "{ended:?}");
}

fn plans() -> impl Strategy<Value = Vec<Plan>> {
    prop::collection::vec(
        prop::collection::vec((prop::bool::weighted(0.2), 0u64..3000), 1..12),
        1..5,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn every_request_answered_once_to_its_sender(plans in plans()) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        rt.block_on(scenario(plans));
    }
}
