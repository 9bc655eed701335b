//! Validation reports the schema rules decoding does not enforce: bounds, closed enums,
//! declared properties kept in `extra`; and on recorded traffic it reports only what real
//! peers really break.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dapkit_tests::traffic;
use dapkit_types::messages::{NextRequest, StackTraceResponse, ThreadEvent, ThreadsRequest};
use dapkit_types::types::{StackFrame, SteppingGranularity};
use dapkit_types::validate::Rule;
use dapkit_types::{Data, Event, ProtocolMessage, Request, Response, Validate, Violation};
use serde_json::{Value, json};

fn decode<T: Data>(v: Value) -> T {
    T::from_data(v).expect("decodes leniently")
}

#[test]
fn seq_zero_is_below_the_minimum() {
    let m: ThreadsRequest = decode(json!({"seq": 0, "type": "request", "command": "threads"}));
    let v = m.validate();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].path, "/seq");
    assert!(
        matches!(&v[0].rule, Rule::Minimum { minimum: 1, value } if value.as_i64() == Some(0)),
        "{v:?}"
    );
    assert_eq!(v[0].to_string(), "/seq: 0 is below the minimum 1");

    let ok: ThreadsRequest = decode(json!({"seq": 1, "type": "request", "command": "threads"}));
    assert_eq!(ok.validate(), Vec::<Violation>::new());
}

#[test]
fn huge_line_in_a_stack_frame_is_above_the_maximum() {
    let line: u64 = 1 << 60;
    let m: StackTraceResponse = decode(json!({
        "seq": 5, "type": "response", "request_seq": 4, "success": true, "command": "stackTrace",
        "body": {"stackFrames": [
            {"id": 1, "name": "ok", "line": 3, "column": 1},
            {"id": 2, "name": "far", "line": line, "column": 1}
        ]}
    }));
    let v = m.validate();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].path, "/body/stackFrames/1/line");
    assert!(
        matches!(&v[0].rule, Rule::Maximum { maximum: 9_007_199_254_740_991, value } if value.as_u64() == Some(line)),
        "{v:?}"
    );
    assert!(
        v[0].to_string()
            .contains("1152921504606846976 is above the maximum")
    );
}

#[test]
fn unknown_value_of_a_closed_enum_is_reported_with_the_allowed_values() {
    const { assert!(SteppingGranularity::CLOSED) }
    let m: NextRequest = decode(json!({
        "seq": 3, "type": "request", "command": "next",
        "arguments": {"threadId": 1, "granularity": "paragraph"}
    }));
    // Kept as sent: decoding does not fail.
    let args = &m.arguments;
    assert_eq!(
        args.granularity,
        Some(SteppingGranularity::Other("paragraph".into()))
    );
    let v = m.validate();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].path, "/arguments/granularity");
    match &v[0].rule {
        Rule::NotInEnum { value, allowed } => {
            assert_eq!(value, "paragraph");
            assert_eq!(*allowed, &["statement", "line", "instruction"][..]);
        }
        other => panic!("unexpected rule {other:?}"),
    }
    let text = v[0].to_string();
    assert!(
        text.contains("`paragraph` is not one of `statement`, `line`, `instruction`"),
        "{text}"
    );
}

#[test]
fn unknown_value_of_an_open_enum_is_fine() {
    let m: ThreadEvent = decode(json!({
        "seq": 9, "type": "event", "event": "thread",
        "body": {"reason": "paused-by-plugin", "threadId": 7}
    }));
    assert_eq!(m.body.reason.as_str(), "paused-by-plugin");
    assert_eq!(m.validate(), Vec::<Violation>::new());
}

#[test]
fn null_source_in_a_stack_frame_is_reported() {
    let frame: StackFrame =
        decode(json!({"id": 1, "name": "f", "source": null, "line": 1, "column": 0}));
    assert_eq!(frame.source, None);
    let v = frame.validate();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].path, "/source");
    assert_eq!(v[0].rule, Rule::IllTyped { value: Value::Null });
    assert_eq!(
        v[0].to_string(),
        "/source: null where the schema allows no null"
    );

    // Inside a message, the pointer leads to it.
    let m: StackTraceResponse = decode(json!({
        "seq": 5, "type": "response", "request_seq": 4, "success": true, "command": "stackTrace",
        "body": {"stackFrames": [{"id": 1, "name": "f", "source": null, "line": 1, "column": 0}]}
    }));
    let v = m.validate();
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].path, "/body/stackFrames/0/source");

    // Setting the typed value shadows the kept `null`: nothing is reported.
    let mut fixed = frame.clone();
    fixed.source = Some(Default::default());
    assert_eq!(fixed.validate(), Vec::<Violation>::new());
}

/// The violations of a typed message, validated through its own struct.
fn violations(msg: &ProtocolMessage) -> Option<Vec<Violation>> {
    // debugpy's extension messages (recorded in debugpy-extension) are typed only with the
    // `debugpy` feature; without it they are `Custom` and not standard.
    #[cfg(feature = "debugpy")]
    match msg {
        ProtocolMessage::Request(Request::SetDebuggerProperty(m)) => return Some(m.validate()),
        ProtocolMessage::Request(Request::SetPydevdSourceMap(m)) => return Some(m.validate()),
        ProtocolMessage::Request(Request::PydevdSystemInfo(m)) => return Some(m.validate()),
        ProtocolMessage::Response(Response::SetDebuggerProperty(m)) => return Some(m.validate()),
        ProtocolMessage::Response(Response::SetPydevdSourceMap(m)) => return Some(m.validate()),
        ProtocolMessage::Response(Response::PydevdSystemInfo(m)) => return Some(m.validate()),
        _ => {}
    }
    macro_rules! by_variant {
        ($($kind:ident :: $variant:ident),* $(,)?) => {
            match msg {
                $( ProtocolMessage::$kind($kind::$variant(m)) => Some(m.validate()), )*
                _ => None,
            }
        };
    }
    by_variant!(
        Request::Initialize,
        Request::Launch,
        Request::Attach,
        Request::SetBreakpoints,
        Request::SetFunctionBreakpoints,
        Request::SetExceptionBreakpoints,
        Request::ConfigurationDone,
        Request::Threads,
        Request::StackTrace,
        Request::Scopes,
        Request::Variables,
        Request::Evaluate,
        Request::Continue,
        Request::Next,
        Request::StepIn,
        Request::ExceptionInfo,
        Request::Disconnect,
        Request::RunInTerminal,
        Request::Restart,
        Request::ReadMemory,
        Request::SetInstructionBreakpoints,
        Response::Initialize,
        Response::Launch,
        Response::Attach,
        Response::SetBreakpoints,
        Response::SetFunctionBreakpoints,
        Response::SetExceptionBreakpoints,
        Response::ConfigurationDone,
        Response::Threads,
        Response::StackTrace,
        Response::Scopes,
        Response::Variables,
        Response::Evaluate,
        Response::Continue,
        Response::Next,
        Response::StepIn,
        Response::ExceptionInfo,
        Response::Disconnect,
        Response::RunInTerminal,
        Response::Error,
        Event::Initialized,
        Event::Stopped,
        Event::Continued,
        Event::Exited,
        Event::Terminated,
        Event::Thread,
        Event::Output,
        Event::Breakpoint,
        Event::Module,
        Event::Process,
        Event::Capabilities,
        Event::ProgressStart,
        Event::ProgressUpdate,
    )
}

#[test]
fn recorded_traffic_breaks_the_schema_only_where_peers_really_do() {
    let mut found: Vec<String> = Vec::new();
    let mut validated = 0;
    for stream in traffic().expect("recorded traffic") {
        for (i, body) in stream.bodies.iter().enumerate() {
            let where_ = format!("{}/{} #{i}", stream.session, stream.side);
            let msg = ProtocolMessage::from_slice(body).expect("decodes");
            if !msg.is_standard() {
                continue;
            }
            let v = violations(&msg).unwrap_or_else(|| {
                panic!("{where_}: add this standard message to `by_variant!`: {msg:?}")
            });
            validated += 1;
            for v in v {
                found.push(format!("{where_}: {v}"));
            }
        }
    }
    for line in &found {
        println!("{line}");
    }
    assert!(validated > 200, "validated only {validated} messages");
    // debugpy, lldb-dap and every client follow the schema; gdb reports its process as
    // started by `process`, outside the closed `startMethod` enum.
    assert_eq!(
        found,
        [
            "gdb-dap-c/from-adapter #13: /body/startMethod: `process` is not one of `launch`, `attach`, `attachForSuspendedLaunch`"
        ]
    );
}

/// `(file:line id, message)` of every hand-written quirk fixture.
fn quirks() -> Vec<(String, ProtocolMessage)> {
    let dir = dapkit_tests::workspace_root().join("tests/fixtures/quirks");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("quirks directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("quirks file");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let q: Value = serde_json::from_str(line).expect("quirk line is JSON");
            let id = q["id"].as_str().expect("id").to_owned();
            let msg = ProtocolMessage::from_data(q["message"].clone()).expect("decodes");
            out.push((id, msg));
        }
    }
    out
}

#[test]
fn hand_written_quirks_report_what_they_break() {
    let mut found: Vec<String> = Vec::new();
    for (id, msg) in quirks() {
        if !msg.is_standard() {
            continue;
        }
        let v = violations(&msg)
            .unwrap_or_else(|| panic!("{id}: add this standard message to `by_variant!`"));
        for v in v {
            found.push(format!("{id}: {v}"));
        }
    }
    for line in &found {
        println!("{line}");
    }
    // Each quirk that breaks a schema rule, and where.
    let mut expected = vec![
        "stack-frame-null-source: /body/stackFrames/0/source: null where the schema allows no null",
        "initialize-vendor-capability: /seq: 0 is below the minimum 1",
        "integer-beyond-f64-in-declared-number: /body/percentage: 9007199254740992.0 is above the maximum 100",
        "failed-with-structured-error: /seq: 0 is below the minimum 1",
        "lldb-long-floats: /seq: 0 is below the minimum 1",
        "lldb-sorted-keys: /seq: 0 is below the minimum 1",
        "module-reason-closed-enum: /body/reason: `unloaded` is not one of `new`, `changed`, `removed`",
        "process-start-method-closed-enum: /body/startMethod: `process` is not one of `launch`, `attach`, `attachForSuspendedLaunch`",
        "stack-frame-hint-closed-enum: /body/stackFrames/0/presentationHint: `hidden` is not one of `normal`, `label`, `subtle`",
        "seq-zero-request: /seq: 0 is below the minimum 1",
        "seq-zero-response: /seq: 0 is below the minimum 1",
        "seq-zero-response: /request_seq: 0 is below the minimum 1",
        "seq-zero-event: /seq: 0 is below the minimum 1",
        "seq-zero-error-response: /seq: 0 is below the minimum 1",
        "seq-zero-error-response: /request_seq: 0 is below the minimum 1",
        "seq-zero-reverse-request: /seq: 0 is below the minimum 1",
    ];
    expected.sort_unstable();
    found.sort();
    assert_eq!(found, expected);
}
