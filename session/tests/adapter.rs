//! The adapter session driven in-process over a duplex pipe: by this crate's own
//! [`Client`] (the real client of the project), and by a scripted client writing DAP
//! bytes by hand where the exact wire order or malformed input matters.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{STEP, TempDir, wait_for_file};
use dapkit_session::adapter::{
    AdapterOptions, AdapterSession, Diagnostic, Requests, ReverseRequestError, SendError,
    StartupError,
};
use dapkit_session::client::{Client, ClientOptions, Events, RequestError};
use dapkit_types::messages::{
    EvaluateRequest, InitializeRequest, OutputEvent, SetBreakpointsRequest, ThreadsRequest,
};
use dapkit_types::types::{
    Breakpoint, Capabilities, EvaluateArguments, EvaluateResponseBody, InitializeRequestArguments,
    OutputEventBody, RunInTerminalRequestArguments, SetBreakpointsResponseBody,
    StartDebuggingRequestArguments, StartDebuggingRequestArgumentsRequest, Thread,
    ThreadsResponseBody,
};
use dapkit_types::{Event, Request};
use dapkit_wireformat::FrameStream;
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncWriteExt, DuplexStream, ReadHalf, WriteHalf};

/// An adapter session and this crate's client, joined by an in-memory pipe.
fn with_client(
    adapter: AdapterOptions,
    client: ClientOptions,
) -> (AdapterSession, Requests, Client, Events) {
    let (a, c) = tokio::io::duplex(1 << 20);
    let (ar, aw) = tokio::io::split(a);
    let (session, requests) = AdapterSession::with_options(ar, aw, adapter);
    let (cr, cw) = tokio::io::split(c);
    let (client, events) = Client::start(cr, cw, client);
    (session, requests, client, events)
}

/// A scripted client: writes frames by hand, reads what the adapter writes as JSON.
struct Script {
    frames: FrameStream<ReadHalf<DuplexStream>>,
    writer: WriteHalf<DuplexStream>,
}

impl Script {
    async fn send(&mut self, message: Value) {
        self.send_body(&serde_json::to_vec(&message).unwrap()).await;
    }

    async fn send_body(&mut self, body: &[u8]) {
        let mut frame = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
        frame.extend_from_slice(body);
        self.writer.write_all(&frame).await.unwrap();
        self.writer.flush().await.unwrap();
    }

    async fn request(&mut self, seq: i64, command: &str, arguments: Value) {
        self.send(
            json!({"seq": seq, "type": "request", "command": command, "arguments": arguments}),
        )
        .await;
    }

    /// The next message from the adapter (fails the test after 5 s).
    async fn recv(&mut self) -> Value {
        let frame = tokio::time::timeout(STEP, self.frames.next())
            .await
            .expect("a message from the adapter within 5 s")
            .expect("the adapter's stream is open")
            .expect("a well-formed frame");
        serde_json::from_slice(&frame).expect("JSON")
    }

    /// Whether nothing arrives within `wait`.
    async fn silent_for(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.frames.next())
            .await
            .is_err()
    }
}

fn with_script(adapter: AdapterOptions) -> (AdapterSession, Requests, Script) {
    let (a, c) = tokio::io::duplex(1 << 20);
    let (ar, aw) = tokio::io::split(a);
    let (session, requests) = AdapterSession::with_options(ar, aw, adapter);
    let (cr, cw) = tokio::io::split(c);
    let script = Script {
        frames: FrameStream::new(cr),
        writer: cw,
    };
    (session, requests, script)
}

/// Diagnostics collected as text.
#[derive(Clone, Default)]
struct Diags(Arc<Mutex<Vec<String>>>);

impl Diags {
    fn options(&self) -> AdapterOptions {
        let sink = self.0.clone();
        AdapterOptions::new().on_diagnostic(move |d: Diagnostic| {
            sink.lock().unwrap().push(d.to_string());
        })
    }

    fn all(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

fn caps() -> Capabilities {
    Capabilities::new().with_supports_configuration_done_request(true)
}

async fn next(requests: &mut Requests) -> dapkit_session::adapter::Incoming {
    tokio::time::timeout(STEP, requests.next())
        .await
        .expect("a request within 5 s")
        .expect("the session is open")
}

#[tokio::test]
async fn initialized_follows_the_initialize_response_and_launch_waits_for_configuration_done() {
    let (session, mut requests, mut script) = with_script(AdapterOptions::new());
    let adapter = tokio::spawn(async move {
        let configured = Arc::new(Mutex::new(Vec::new()));
        let seen = configured.clone();
        let session2 = session.clone();
        let started = requests
            .start_up(caps(), move |req| {
                seen.lock().unwrap().push(req.command().to_owned());
                if let Request::SetBreakpoints(r) = req.request() {
                    let n = r.arguments.breakpoints.as_ref().map_or(0, Vec::len);
                    let body = SetBreakpointsResponseBody::new(vec![Breakpoint::new(true); n]);
                    session2
                        .respond::<SetBreakpointsRequest>(req, body)
                        .unwrap();
                }
            })
            .await
            .unwrap();
        let configured = configured.lock().unwrap().clone();
        (session, requests, started, configured)
    });

    script
        .send(json!({"seq": 1, "type": "request", "command": "threads"}))
        .await;
    let refused = script.recv().await;
    assert_eq!(refused["success"], false);
    assert_eq!(refused["request_seq"], 1);
    assert_eq!(refused["message"], "`threads` before `initialize`");

    script
        .request(
            2,
            "initialize",
            json!({"adapterID": "t", "supportsRunInTerminalRequest": true}),
        )
        .await;
    let response = script.recv().await;
    let initialized = script.recv().await;
    assert_eq!(response["type"], "response");
    assert_eq!(response["command"], "initialize");
    assert_eq!(response["request_seq"], 2);
    assert_eq!(response["body"]["supportsConfigurationDoneRequest"], true);
    assert_eq!(initialized["type"], "event");
    assert_eq!(initialized["event"], "initialized");
    // seq counts every message the adapter sent, from 1.
    assert_eq!(
        [&refused["seq"], &response["seq"], &initialized["seq"]],
        [&json!(1), &json!(2), &json!(3)]
    );

    // VS Code's order: launch at once, then the configuration.
    script.request(3, "launch", json!({"program": "p"})).await;
    script
        .request(
            4,
            "setBreakpoints",
            json!({"source": {"path": "/p"}, "breakpoints": [{"line": 2}, {"line": 5}]}),
        )
        .await;
    let bps = script.recv().await;
    assert_eq!(bps["request_seq"], 4);
    assert_eq!(bps["body"]["breakpoints"].as_array().unwrap().len(), 2);
    // launch is held back: nothing more until configurationDone.
    assert!(script.silent_for(Duration::from_millis(100)).await);
    assert!(!adapter.is_finished());
    script.request(5, "configurationDone", Value::Null).await;
    let done = script.recv().await;
    assert_eq!(
        (done["command"].as_str(), done["success"].as_bool()),
        (Some("configurationDone"), Some(true))
    );

    let (session, _requests, started, configured) =
        tokio::time::timeout(STEP, adapter).await.unwrap().unwrap();
    assert_eq!(configured, ["setBreakpoints"]);
    assert_eq!(started.client.adapter_id, "t");
    assert_eq!(started.launch.command(), "launch");
    assert_eq!(started.launch.seq(), 3);
    assert_eq!(
        session
            .client()
            .and_then(|c| c.supports_run_in_terminal_request),
        Some(true)
    );
    session
        .respond::<dapkit_types::messages::LaunchRequest>(started.launch, None)
        .unwrap();
    let launched = script.recv().await;
    assert_eq!(
        (
            launched["command"].as_str(),
            launched["request_seq"].as_i64()
        ),
        (Some("launch"), Some(3))
    );
    assert_eq!(launched["seq"], 6);
}

#[tokio::test]
async fn start_up_ends_on_disconnect_and_on_hang_up() {
    let (_session, mut requests, mut script) = with_script(AdapterOptions::new());
    let adapter = tokio::spawn(async move { requests.start_up(caps(), drop).await });
    script
        .request(1, "initialize", json!({"adapterID": "t"}))
        .await;
    script.recv().await;
    script.recv().await;
    script.request(2, "disconnect", json!({})).await;
    match tokio::time::timeout(STEP, adapter).await.unwrap().unwrap() {
        Err(StartupError::Disconnected(req)) => assert_eq!(req.seq(), 2),
        other => panic!("expected Disconnected, got {other:?}"),
    }
    // The dropped `disconnect` answered itself with an error response.
    let answer = script.recv().await;
    assert_eq!(
        (answer["request_seq"].as_i64(), answer["success"].as_bool()),
        (Some(2), Some(false))
    );

    let (_session, mut requests, script) = with_script(AdapterOptions::new());
    let adapter = tokio::spawn(async move { requests.start_up(caps(), drop).await });
    drop(script);
    let ended = tokio::time::timeout(STEP, adapter).await.unwrap().unwrap();
    assert!(matches!(ended, Err(StartupError::Closed)), "{ended:?}");
}

#[tokio::test]
async fn unknown_and_unhandled_requests_get_error_responses() {
    let (session, mut requests, client, _events) =
        with_client(AdapterOptions::new(), ClientOptions::new());
    let adapter = tokio::spawn(async move {
        while let Some(req) = requests.next().await {
            match req.request() {
                Request::Threads(_) => {
                    let body = ThreadsResponseBody::new(vec![Thread::new(7, "worker")]);
                    session.respond::<ThreadsRequest>(req, body).unwrap();
                }
                Request::Custom(_) if req.command() == "echoCustom" => {
                    let args = match req.request() {
                        Request::Custom(m) => m.arguments().cloned(),
                        _ => None,
                    };
                    session.respond_raw(req, args).unwrap();
                }
                _ => {} // dropped: answered with an error response
            }
        }
    });
    let unknown = client
        .request_raw("noSuchCommand", Some(json!({"x": 1})))
        .await;
    let Err(RequestError::Failed(e)) = unknown else {
        panic!("expected an error response, got {unknown:?}")
    };
    assert_eq!(e.command, "noSuchCommand");
    assert_eq!(
        e.message.as_ref().map(|m| m.as_str().to_owned()).as_deref(),
        Some("`noSuchCommand` is not handled by this debug adapter")
    );
    // A standard request the adapter does not implement.
    let step_back = client
        .request_raw("stepBack", Some(json!({"threadId": 1})))
        .await;
    assert!(
        matches!(&step_back, Err(RequestError::Failed(e)) if e.command == "stepBack"),
        "{step_back:?}"
    );
    // The session goes on: handled requests still work, typed and custom.
    let threads = client.request::<ThreadsRequest>(None).await.unwrap();
    assert_eq!(threads.body.threads[0].name, "worker");
    let custom = client
        .request_raw("echoCustom", Some(json!({"k": [1, 2]})))
        .await
        .unwrap();
    assert_eq!(
        serde_json::to_value(&custom).unwrap()["body"],
        json!({"k": [1, 2]})
    );
    client.close().await;
    tokio::time::timeout(STEP, adapter).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_response_of_the_wrong_type_becomes_an_error_response() {
    let (session, mut requests, client, _events) =
        with_client(AdapterOptions::new(), ClientOptions::new());
    let pending = client
        .send::<EvaluateRequest>(EvaluateArguments::new("x"))
        .unwrap();
    let req = next(&mut requests).await;
    let err = session
        .respond::<ThreadsRequest>(req, ThreadsResponseBody::new(Vec::new()))
        .unwrap_err();
    assert!(
        matches!(&err, SendError::WrongCommand { expected: "threads", request } if request == "evaluate"),
        "{err:?}"
    );
    let answer = pending.response().await.unwrap_err();
    let text = answer.adapter_message().unwrap_or_default();
    assert!(
        text.contains("`threads` response cannot answer a `evaluate`"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_answered_out_of_order_from_many_tasks() {
    let (session, mut requests, client, _events) =
        with_client(AdapterOptions::new(), ClientOptions::new());
    let mut calls = Vec::new();
    for i in 0..64 {
        let client = client.clone();
        calls.push(tokio::spawn(async move {
            let r = client
                .request::<EvaluateRequest>(EvaluateArguments::new(format!("e{i}")))
                .await
                .unwrap();
            (i, r.body.result)
        }));
    }
    // Collect all 64 first, then answer the last first, each from its own task.
    let mut held = Vec::new();
    for _ in 0..64 {
        held.push(next(&mut requests).await);
    }
    let seqs: Vec<i32> = held.iter().map(|r| r.seq()).collect();
    assert_eq!(seqs, (1..=64).collect::<Vec<_>>());
    let mut answers = Vec::new();
    for req in held.into_iter().rev() {
        let session = session.clone();
        answers.push(tokio::spawn(async move {
            let Request::Evaluate(e) = req.request() else {
                panic!("expected evaluate")
            };
            let result = format!("{}!", e.arguments.expression);
            session
                .respond::<EvaluateRequest>(req, EvaluateResponseBody::new(result, 0))
                .unwrap();
        }));
    }
    for a in answers {
        a.await.unwrap();
    }
    for call in calls {
        let (i, result) = tokio::time::timeout(STEP, call).await.unwrap().unwrap();
        assert_eq!(result, format!("e{i}!"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_from_many_tasks_arrive_whole_with_growing_seq() {
    let (session, _requests, _client, mut events) =
        with_client(AdapterOptions::new(), ClientOptions::new());
    let mut senders = Vec::new();
    for t in 0..4 {
        let session = session.clone();
        senders.push(tokio::spawn(async move {
            for i in 0..250 {
                session
                    .send_event::<OutputEvent>(OutputEventBody::new(format!("t{t} #{i}\n")))
                    .unwrap();
            }
        }));
    }
    for s in senders {
        s.await.unwrap();
    }
    session
        .send_event_raw("myCustomEvent", Some(json!({"n": 1})))
        .unwrap();
    let mut last_seq = 0;
    let mut per_task = [0usize; 4];
    for _ in 0..1000 {
        let event = tokio::time::timeout(STEP, events.recv())
            .await
            .unwrap()
            .unwrap();
        let Event::Output(o) = event else {
            panic!("expected output, got {event:?}")
        };
        assert!(o.seq > last_seq, "seq {} after {last_seq}", o.seq);
        last_seq = o.seq;
        let (task, i) = o.body.output.trim_end().split_once(" #").unwrap();
        let t: usize = task[1..].parse().unwrap();
        // Each task's events keep their order.
        assert_eq!(i.parse::<usize>().unwrap(), per_task[t]);
        per_task[t] += 1;
    }
    assert_eq!(per_task, [250; 4]);
    let custom = tokio::time::timeout(STEP, events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(custom.event(), Some("myCustomEvent"));
    assert_eq!(custom.seq(), Some(1001));
}

async fn initialize_client(client: &Client, run_in_terminal: bool, start_debugging: bool) {
    let mut args = InitializeRequestArguments::new("dapkit-test");
    args.supports_run_in_terminal_request = Some(run_in_terminal);
    args.supports_start_debugging_request = Some(start_debugging);
    client.request::<InitializeRequest>(args).await.unwrap();
}

/// Answers `initialize` (and only that) on the adapter side.
fn answer_initialize(session: AdapterSession, mut requests: Requests) {
    tokio::spawn(async move {
        while let Some(req) = requests.next().await {
            if let Request::Initialize(_) = req.request() {
                session.respond_initialize(req, caps()).unwrap();
            }
        }
    });
}

#[tokio::test]
async fn run_in_terminal_round_trip_runs_the_command_in_the_client() {
    let dir = TempDir::new("adapter-rit");
    let (session, requests, client, _events) = with_client(
        AdapterOptions::new(),
        ClientOptions::new().with_run_in_terminal(),
    );
    answer_initialize(session.clone(), requests);
    initialize_client(&client, true, false).await;

    let marker = dir.0.join("ran.txt");
    let mut args = RunInTerminalRequestArguments::new(
        dir.0.to_string_lossy(),
        vec![
            "sh".into(),
            "-c".into(),
            "echo \"$DAPKIT_GREETING from $(pwd)\" > ran.txt".into(),
        ],
    );
    args.env = Some(
        [("DAPKIT_GREETING".to_owned(), Some("hello".to_owned()))]
            .into_iter()
            .collect(),
    );
    // The client opted in: its handler really runs the command and answers with its pid.
    let response = session.run_in_terminal(args).await.unwrap();
    let pid = response.body.process_id.expect("a process id");
    assert!(pid > 0);
    let text = wait_for_file(&marker).await;
    let cwd = std::fs::canonicalize(&dir.0).unwrap();
    assert_eq!(text.trim_end(), format!("hello from {}", cwd.display()));
}

#[tokio::test]
async fn reverse_requests_respect_client_capabilities_and_refusals() {
    let (session, requests, client, _events) =
        with_client(AdapterOptions::new(), ClientOptions::new());
    answer_initialize(session.clone(), requests);
    initialize_client(&client, false, true).await;

    // The client said no runInTerminal: nothing is sent.
    let args = RunInTerminalRequestArguments::new("", vec!["true".into()]);
    let refused = session.run_in_terminal(args).await.unwrap_err();
    assert!(
        matches!(
            refused,
            ReverseRequestError::NotSupportedByClient {
                capability: "supportsRunInTerminalRequest",
                ..
            }
        ),
        "{refused:?}"
    );
    // startDebugging is supported but this client has no handler: it refuses.
    let args = StartDebuggingRequestArguments::new(
        serde_json::Map::new(),
        StartDebuggingRequestArgumentsRequest::Launch,
    );
    let rejected = session.start_debugging(args).await.unwrap_err();
    let ReverseRequestError::Rejected(e) = &rejected else {
        panic!("expected Rejected, got {rejected:?}")
    };
    assert_eq!(e.command, "startDebugging");
    assert!(rejected.client_message().is_some(), "{rejected}");
    // A client-to-adapter request cannot go the other way.
    let wrong = session.request::<ThreadsRequest>(None).await.unwrap_err();
    assert!(
        matches!(wrong, ReverseRequestError::NotReverse("threads")),
        "{wrong:?}"
    );
}

#[tokio::test]
async fn reverse_requests_time_out_and_fail_when_the_client_hangs_up() {
    let options = AdapterOptions::new().with_reverse_timeout(Some(Duration::from_millis(200)));
    let (session, mut requests, mut script) = with_script(options);
    let args = RunInTerminalRequestArguments::new("", vec!["true".into()]);
    let started = std::time::Instant::now();
    let err = session.run_in_terminal(args.clone()).await.unwrap_err();
    assert!(
        matches!(
            err,
            ReverseRequestError::Timeout {
                command: "runInTerminal",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(200));
    let sent = script.recv().await;
    assert_eq!(
        (
            sent["type"].as_str(),
            sent["command"].as_str(),
            sent["seq"].as_i64()
        ),
        (Some("request"), Some("runInTerminal"), Some(1))
    );

    // A second one, pending while the client hangs up.
    let pending = tokio::spawn({
        let session = session.clone();
        async move { session.run_in_terminal(args).await }
    });
    let sent = script.recv().await;
    assert_eq!(sent["seq"], 2);
    drop(script);
    let err = tokio::time::timeout(STEP, pending)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(matches!(err, ReverseRequestError::Closed), "{err:?}");
    assert!(
        tokio::time::timeout(STEP, requests.next())
            .await
            .unwrap()
            .is_none()
    );
    assert!(session.is_closed());
    assert!(matches!(
        session.send_event_raw("x", None),
        Err(SendError::Closed)
    ));
}

#[tokio::test]
async fn a_reverse_response_is_matched_by_request_seq_and_decoded() {
    let (session, _requests, mut script) = with_script(AdapterOptions::new());
    let pending = tokio::spawn({
        let session = session.clone();
        async move {
            let args = RunInTerminalRequestArguments::new("/", vec!["prog".into()]);
            session.run_in_terminal(args).await
        }
    });
    let sent = script.recv().await;
    let seq = sent["seq"].as_i64().unwrap();
    // An answer to a request never sent first: reported, ignored.
    script
        .send(json!({"seq": 1, "type": "response", "request_seq": 99, "success": true, "command": "runInTerminal", "body": {}}))
        .await;
    script
        .send(json!({"seq": 2, "type": "response", "request_seq": seq, "success": true, "command": "runInTerminal", "body": {"processId": 4242}}))
        .await;
    let response = tokio::time::timeout(STEP, pending)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(response.body.process_id, Some(4242));
}

#[tokio::test]
async fn malformed_input_is_reported_and_the_session_goes_on() {
    let diags = Diags::default();
    let (session, mut requests, mut script) = with_script(diags.options());
    script.send_body(b"this is not json").await;
    script
        .send(json!({"type": "request", "command": "threads"}))
        .await; // no seq: cannot be answered
    script
        .send(json!({"seq": 3, "type": "event", "event": "stopped", "body": {"reason": "step"}}))
        .await; // clients send no events
    script
        .send(json!({"seq": 4, "type": "response", "request_seq": 77, "success": true, "command": "runInTerminal"}))
        .await;
    script
        .send(json!({"seq": 5, "type": "request", "command": "threads"}))
        .await;
    let req = next(&mut requests).await;
    assert_eq!((req.command(), req.seq()), ("threads", 5));
    session
        .respond::<ThreadsRequest>(req, ThreadsResponseBody::new(vec![Thread::new(1, "m")]))
        .unwrap();
    let answer = script.recv().await;
    assert_eq!(
        (answer["request_seq"].as_i64(), answer["success"].as_bool()),
        (Some(5), Some(true))
    );
    let all = diags.all();
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(all[0].contains("not a JSON object"), "{all:?}");
    assert!(all[1].contains("no integer `seq`"), "{all:?}");
    assert!(
        all[2].contains("event `stopped` from the client"),
        "{all:?}"
    );
    assert!(all[3].contains("request_seq 77"), "{all:?}");
}

#[tokio::test]
async fn close_writes_what_is_queued_then_ends_the_stream() {
    let (session, mut requests, mut script) = with_script(AdapterOptions::new());
    script.request(1, "threads", Value::Null).await;
    let req = next(&mut requests).await;
    session
        .respond::<ThreadsRequest>(req, ThreadsResponseBody::new(Vec::new()))
        .unwrap();
    for i in 0..100 {
        session
            .send_event::<OutputEvent>(OutputEventBody::new(format!("{i}\n")))
            .unwrap();
    }
    assert!(session.flush().await);
    session.close().await;
    assert_eq!(script.recv().await["command"], "threads");
    for i in 0..100 {
        assert_eq!(script.recv().await["body"]["output"], format!("{i}\n"));
    }
    // Then the end of the stream.
    let end = tokio::time::timeout(STEP, script.frames.next())
        .await
        .unwrap();
    assert!(end.is_none(), "{end:?}");
    assert!(
        tokio::time::timeout(STEP, requests.next())
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        session.send_event::<OutputEvent>(OutputEventBody::new("late")),
        Err(SendError::Closed)
    ));
}

#[tokio::test]
async fn dropping_the_last_handle_writes_what_is_queued_then_ends_the_stream() {
    let (session, requests, mut script) = with_script(AdapterOptions::new());
    session.send_event_raw("goodbye", None).unwrap();
    drop(session);
    drop(requests);
    let last = script.recv().await;
    assert_eq!(last["event"], "goodbye");
    let end = tokio::time::timeout(STEP, script.frames.next())
        .await
        .unwrap();
    assert!(end.is_none(), "{end:?}");
}

/// A custom request (`frobnicate`) whose response cannot be encoded: its `Serialize`
/// fails, as a user type with a broken `Serialize` impl would.
struct Unencodable;

impl serde::Serialize for Unencodable {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("this body refuses to be encoded"))
    }
}

impl<'de> serde::Deserialize<'de> for Unencodable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d)?;
        Ok(Unencodable)
    }
}

impl dapkit_types::traits::Request for Unencodable {
    const COMMAND: &'static str = "frobnicate";
    const DIRECTION: dapkit_types::traits::Direction = dapkit_types::traits::Direction::ToAdapter;
    const CAPABILITY: Option<&'static str> = None;
    type Arguments = ();
    type Response = Unencodable;
    fn from_arguments(_: i32, (): ()) -> Self {
        Unencodable
    }
    fn arguments(&self) -> &() {
        &()
    }
    fn into_arguments(self) {}
}

impl dapkit_types::traits::Response for Unencodable {
    const COMMAND: &'static str = "frobnicate";
    type Body = ();
    fn from_body(_: i32, _: i32, (): ()) -> Self {
        Unencodable
    }
    fn body(&self) -> &() {
        &()
    }
    fn into_body(self) {}
}

#[tokio::test]
async fn a_response_that_fails_to_encode_still_answers_the_client() {
    let (session, mut requests, client, _events) = with_client(
        AdapterOptions::new(),
        ClientOptions::new().with_request_timeout(Some(STEP)),
    );
    let adapter = tokio::spawn(async move {
        let req = next(&mut requests).await;
        assert_eq!(req.command(), "frobnicate");
        session.respond::<Unencodable>(req, ())
    });
    // The client gets an error response naming the failure, not a wait until its timeout.
    let err = client.request_raw("frobnicate", None).await.unwrap_err();
    let RequestError::Failed(e) = &err else {
        panic!("expected an error response, got {err:?}")
    };
    assert_eq!(e.command, "frobnicate");
    let message = err.adapter_message().unwrap_or_default();
    assert!(
        message.contains("could not encode its response to `frobnicate`")
            && message.contains("this body refuses to be encoded"),
        "{message}"
    );
    // The adapter's call reports the encoding failure too.
    let sent = adapter.await.unwrap();
    assert!(
        matches!(&sent, Err(SendError::Encode(r)) if r.contains("refuses to be encoded")),
        "{sent:?}"
    );
}

#[tokio::test]
async fn a_client_that_never_reads_bounds_the_adapters_write_queue() {
    a_client_that_never_reads(AdapterOptions::new()).await;
}

/// With write-through the first events are written by the sender; the one the pipe takes
/// only in part is finished by the writer task, the rest is queued and bounded as without
/// it, and the events arrive in `seq` order.
#[tokio::test]
async fn a_client_that_never_reads_bounds_the_adapters_write_queue_written_through() {
    a_client_that_never_reads(AdapterOptions::new().with_write_through(true)).await;
}

async fn a_client_that_never_reads(options: AdapterOptions) {
    let limit = 32 * 1024;
    let (a, c) = tokio::io::duplex(4096);
    let (ar, aw) = tokio::io::split(a);
    let (session, _requests) =
        AdapterSession::with_options(ar, aw, options.with_write_queue_limit(limit));
    let (cr, _cw) = tokio::io::split(c);
    let mut frames = FrameStream::new(cr);
    let text = "y".repeat(1000);
    let mut sent = 0usize;
    let refused = loop {
        assert!(sent < 2000, "2000 events queued without a bound");
        match session.send_event_raw("output", Some(json!({"output": text}))) {
            Ok(_) => sent += 1,
            Err(e) => break e,
        }
        tokio::task::yield_now().await;
    };
    let SendError::WriteQueueFull { queued, limit: l } = refused else {
        panic!("expected WriteQueueFull, got {refused:?}")
    };
    assert_eq!(l, limit);
    assert!(queued <= limit, "{queued}");
    assert!(!session.is_closed());
    // Nothing queued was lost: the client reads every event, in `seq` order.
    for i in 0..sent {
        let frame = tokio::time::timeout(STEP, frames.next())
            .await
            .expect("an event within 5 s")
            .expect("open")
            .expect("a frame");
        let v: Value = serde_json::from_slice(&frame).unwrap();
        assert_eq!(v["body"]["output"], text.as_str());
        assert_eq!(v["seq"].as_u64(), Some(i as u64 + 1));
    }
    session.send_event_raw("output", None).unwrap();
}
