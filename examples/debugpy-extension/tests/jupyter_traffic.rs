//! A real Jupyter debugger session (ipykernel 7.4's debugger, recorded by
//! `tests/record/jupyter.py` into `tests/fixtures/jupyter/ipykernel-debugger`) decoded into
//! the Jupyter extension types this crate's build.rs generated, and encoded back to equal
//! JSON.
//!
//! The kernel bends the DAP in its replies, and the test pins how: `debugInfo`, `dumpCell`
//! and `richInspectVariables` (not stopped) answer without `seq`, the last with
//! `sequence_seq` for `request_seq`; stopped, `richInspectVariables` answers as `evaluate`
//! and `copyToGlobals` as `setExpression`, each with the next request's `request_seq`.
//! Replies come back in the order of the requests, so they are paired by order. Each
//! reply's `body` decodes into its request's typed body whatever its envelope says; a reply
//! whose envelope follows the schema decodes into the typed response too.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dapkit_example_extension::jupyter::*;
use dapkit_types::traits::Request as _;
use dapkit_types::{Data, ProtocolMessage, Request, Response};
use serde_json::Value;

const CELL: &str = "def triple(v):\n    w = v * 3\n    return w\n\nresult = triple(5)\n";

fn stream(side: &str) -> Vec<Vec<u8>> {
    let path = dapkit_tests::workspace_root()
        .join("tests/fixtures/jupyter/ipykernel-debugger")
        .join(side);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    dapkit_tests::split_frames(&raw).expect("Content-Length frames")
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("recorded messages are JSON")
}

/// The typed request `T` out of a `Custom` request, its encodings checked against `body`.
fn request<T: dapkit_types::traits::Request + dapkit_types::Validate + std::fmt::Debug>(
    body: &[u8],
) -> T {
    let msg = ProtocolMessage::from_slice(body).expect("decodes");
    let ProtocolMessage::Request(r) = &msg else {
        panic!("a request: {msg:?}")
    };
    let typed: T = r
        .extension()
        .expect("the command matches")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        typed.as_data().expect("encodes"),
        json(body),
        "typed re-encoding"
    );
    let back = ProtocolMessage::Request(Request::from_extension(&typed).expect("builds"));
    assert_eq!(json(&back.to_vec()), json(body), "Custom re-encoding");
    assert!(typed.validate().is_empty(), "{:?}", typed.validate());
    typed
}

/// A reply's `body` decoded into `B`, checked to encode back to the same JSON.
fn body<B: Data + std::fmt::Debug>(reply: &Value) -> B {
    let recorded = reply["body"].clone();
    let typed = B::from_data(recorded.clone()).unwrap_or_else(|e| panic!("{reply}: {e}"));
    assert_eq!(
        typed.as_data().expect("encodes"),
        recorded,
        "body re-encoding"
    );
    typed
}

/// Every request with the reply that answered it (by order), and the events.
fn session() -> (Vec<(Vec<u8>, Value)>, Vec<Value>) {
    let requests = stream("from-client.dap");
    let mut replies = Vec::new();
    let mut events = Vec::new();
    for frame in stream("from-adapter.dap") {
        // Every message the kernel sent decodes, whatever it bends.
        ProtocolMessage::from_slice(&frame).expect("the kernel's message decodes");
        let v = json(&frame);
        match v["type"].as_str() {
            Some("response") => replies.push(v),
            Some("event") => events.push(v),
            other => panic!("{other:?}: {v}"),
        }
    }
    assert_eq!(requests.len(), replies.len(), "one reply per request");
    (requests.into_iter().zip(replies).collect(), events)
}

#[test]
fn recorded_ipykernel_debugger_messages_decode_typed_and_round_trip() {
    let (pairs, events) = session();
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    let mut source_path = None;
    let mut debug_infos = Vec::new();
    let mut inspected = Vec::new();
    let mut rich = Vec::new();
    for (req, reply) in &pairs {
        let command = json(req)["command"].as_str().expect("command").to_owned();
        *seen.entry(command.clone()).or_default() += 1;
        match command.as_str() {
            DumpCellRequest::COMMAND => {
                let r: DumpCellRequest = request(req);
                assert_eq!(r.arguments.code, CELL);
                let b: DumpCellResponseBody = body(reply);
                assert!(b.source_path.ends_with(".py"), "{reply}");
                assert!(
                    reply.get("seq").is_none(),
                    "ipykernel's dumpCell reply: {reply}"
                );
                source_path = Some(b.source_path);
            }
            DebugInfoRequest::COMMAND => {
                let r: DebugInfoRequest = request(req);
                assert_eq!(r.arguments, None);
                debug_infos.push(body::<DebugInfoResponseBody>(reply));
            }
            InspectVariablesRequest::COMMAND => {
                request::<InspectVariablesRequest>(req);
                inspected.push(body::<InspectVariablesResponseBody>(reply));
                // This reply follows the schema: the whole response is typed too.
                let msg = ProtocolMessage::from_slice(&serde_json::to_vec(reply).unwrap())
                    .expect("decodes");
                let ProtocolMessage::Response(r) = &msg else {
                    panic!("a response")
                };
                let typed: InspectVariablesResponse = r
                    .extension()
                    .expect("inspectVariables")
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(typed.as_data().unwrap(), *reply);
                let back = Response::from_extension(&typed).unwrap();
                assert_eq!(json(&ProtocolMessage::Response(back).to_vec()), *reply);
            }
            RichInspectVariablesRequest::COMMAND => {
                let r: RichInspectVariablesRequest = request(req);
                let b: RichInspectVariablesResponseBody = body(reply);
                if r.arguments.frame_id.is_none() {
                    // Not stopped: no `seq`, and `sequence_seq` for `request_seq`.
                    assert!(reply.get("seq").is_none() && reply.get("request_seq").is_none());
                    assert_eq!(reply["sequence_seq"].as_i64(), Some(i64::from(r.seq)));
                } else {
                    // Stopped: the next request's `request_seq`.
                    assert_eq!(reply["request_seq"].as_i64(), Some(i64::from(r.seq) + 1));
                }
                rich.push((
                    r.arguments.variable_name.clone(),
                    r.arguments.frame_id,
                    reply["command"].clone(),
                    b.data.get("text/plain").cloned(),
                ));
            }
            CopyToGlobalsRequest::COMMAND => {
                let r: CopyToGlobalsRequest = request(req);
                assert_eq!(
                    (
                        r.arguments.src_variable_name.as_str(),
                        r.arguments.dst_variable_name.as_str()
                    ),
                    ("w", "copied_w")
                );
                let b: CopyToGlobalsResponseBody = body(reply);
                assert_eq!((b.value.as_str(), b.type_.as_deref()), ("15", Some("int")));
                assert_eq!(reply["command"], "setExpression", "ipykernel's spelling");
                assert_eq!(reply["request_seq"].as_i64(), Some(i64::from(r.seq) + 1));
            }
            _ => {
                // A standard request: dapkit-types types it itself, no extension applies.
                let msg = ProtocolMessage::from_slice(req).unwrap();
                let ProtocolMessage::Request(r) = &msg else {
                    panic!("a request")
                };
                assert!(r.is_standard(), "{command}");
            }
        }
    }
    for command in [
        DumpCellRequest::COMMAND,
        CopyToGlobalsRequest::COMMAND,
        DebugInfoRequest::COMMAND,
        InspectVariablesRequest::COMMAND,
        RichInspectVariablesRequest::COMMAND,
    ] {
        assert!(seen.contains_key(command), "{command}: {seen:?}");
    }

    // debugInfo: started both times; the second lists the breakpoint set in the dumped cell.
    let [before, after] = &debug_infos[..] else {
        panic!("two debugInfo replies: {debug_infos:?}")
    };
    assert!(before.is_started && after.is_started);
    assert_eq!(before.hash_method, "Murmur2");
    assert_eq!(before.tmp_file_suffix, ".py");
    assert!(before.breakpoints.is_empty());
    let source_path = source_path.expect("dumpCell answered");
    assert!(source_path.starts_with(&after.tmp_file_prefix));
    assert_eq!(after.breakpoints.len(), 1, "{after:?}");
    assert_eq!(after.breakpoints[0].source, source_path);
    assert_eq!(
        after.breakpoints[0]
            .breakpoints
            .iter()
            .map(|b| b.line)
            .collect::<Vec<_>>(),
        [3]
    );

    // inspectVariables: the globals set before, then the one copyToGlobals made.
    let value = |i: &InspectVariablesResponseBody, name: &str| {
        i.variables
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.value.clone())
    };
    assert_eq!(value(&inspected[0], "answer").as_deref(), Some("42"));
    assert_eq!(value(&inspected[0], "copied_w"), None);
    assert_eq!(value(&inspected[1], "copied_w").as_deref(), Some("15"));

    // richInspectVariables: a global when not stopped, a local in a frame when stopped
    // (answered as `evaluate`).
    let shown: Vec<_> = rich
        .iter()
        .map(|(name, frame, command, text)| {
            (
                name.as_str(),
                frame.is_some(),
                command.clone(),
                text.clone(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (
                "answer",
                false,
                Value::from("richInspectVariables"),
                Some(Value::from("42"))
            ),
            ("w", true, Value::from("evaluate"), Some(Value::from("15"))),
        ]
    );

    // The session stopped at the breakpoint and went on.
    let names: Vec<_> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    for e in ["initialized", "stopped", "continued"] {
        assert!(names.contains(&e), "{e}: {names:?}");
    }
}

#[test]
fn ipykernel_replies_without_seq_are_errors_naming_the_member() {
    // debugInfo's reply has no `seq`: not a schema response, so the typed response is an
    // error naming what is missing, while its body decoded above.
    let (pairs, _) = session();
    let (_, reply) = pairs
        .iter()
        .find(|(req, _)| json(req)["command"] == DebugInfoRequest::COMMAND)
        .expect("a debugInfo request");
    assert!(reply.get("seq").is_none(), "{reply}");
    let msg = ProtocolMessage::from_slice(&serde_json::to_vec(reply).unwrap()).expect("decodes");
    let ProtocolMessage::Response(r) = &msg else {
        panic!("a response")
    };
    let err = r
        .extension::<DebugInfoResponse>()
        .expect("the command matches")
        .expect_err("no seq");
    assert!(err.to_string().contains("seq"), "{err}");
    assert_eq!(err.name(), Some(DebugInfoRequest::COMMAND));
}
