//! Hand-written messages (`tests/fixtures/quirks/*.jsonl`) for peer quirks the recordings
//! lack: each decodes into the documented variant, says whether it is standard, and encodes
//! back to JSON equal to the input, through every decoding path. Bad input gives a clear
//! error and never a panic.
//!
//! Each fixture line is `{"id", "mimics", "variant", "standard", "message"}`; `message` is
//! decoded from its exact bytes (key order, number spellings and escapes as written).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dapkit_tests::workspace_root;
use dapkit_types::messages::{
    AttachRequest, InitializeResponse, LaunchRequest, ModuleEvent, OutputEvent, ProcessEvent,
    ProgressUpdateEvent, RestartRequest, RunInTerminalRequest, StackTraceResponse, StoppedEvent,
    TerminatedEvent,
};
use dapkit_types::types::{
    ModuleEventBodyReason, ModuleId, ProcessEventBodyStartMethod, RestartArgumentsArguments,
    StackFramePresentationHint, StoppedEventBodyReason,
};
use dapkit_types::{ErrorResponse, Event, ProtocolMessage, RawMessage, Request, Response};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One fixture line.
struct Quirk {
    /// `file:line id`, for messages.
    at: String,
    id: String,
    variant: String,
    standard: bool,
    /// The message's exact bytes.
    bytes: Vec<u8>,
}

impl Quirk {
    fn value(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap()
    }

    fn decode(&self) -> ProtocolMessage {
        ProtocolMessage::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("{}: does not decode: {e}", self.at))
    }
}

fn quirks() -> Vec<Quirk> {
    let dir = workspace_root().join("tests/fixtures/quirks");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut out: Vec<Quirk> = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let at = format!("{name}:{}", n + 1);
            let fields: BTreeMap<String, Box<RawValue>> = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("{at}: not a fixture object: {e}"));
            let field = |k: &str| -> Value {
                let raw = fields
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}: no `{k}`"))
                    .get();
                serde_json::from_str(raw).unwrap()
            };
            let id = field("id").as_str().unwrap().to_owned();
            assert!(
                field("mimics")
                    .as_str()
                    .is_some_and(|m| m.contains("recorded") || m.contains("hand-written")),
                "{at}: every quirk names the behaviour it mimics, recorded or hand-written"
            );
            let quirk = Quirk {
                at: format!("{at} {id}"),
                id,
                variant: field("variant").as_str().unwrap().to_owned(),
                standard: field("standard").as_bool().unwrap(),
                bytes: fields["message"].get().as_bytes().to_vec(),
            };
            assert!(
                out.iter().all(|q| q.id != quirk.id),
                "{}: duplicate id",
                quirk.at
            );
            out.push(quirk);
        }
    }
    assert!(
        out.len() >= 40,
        "expected the quirk fixtures, got {}",
        out.len()
    );
    out
}

fn quirk(id: &str) -> (Quirk, ProtocolMessage) {
    let q = quirks()
        .into_iter()
        .find(|q| q.id == id)
        .unwrap_or_else(|| panic!("no quirk `{id}`"));
    let msg = q.decode();
    (q, msg)
}

/// `Request::Continue`, `Response::Error`, `Custom`... from the value's `Debug` form.
fn variant_name(msg: &ProtocolMessage) -> String {
    let debug = format!("{msg:?}");
    let mut parts = debug.split('(');
    let outer = parts.next().unwrap_or_default();
    if outer == "Custom" {
        return outer.to_owned();
    }
    format!("{outer}::{}", parts.next().unwrap_or_default())
}

#[test]
fn every_quirk_decodes_as_documented_and_round_trips() {
    let mut failures = Vec::new();
    for q in quirks() {
        let input = q.value();
        let msg = q.decode();
        let variant = variant_name(&msg);
        if variant != q.variant {
            failures.push(format!(
                "{}: variant {variant}, expected {}",
                q.at, q.variant
            ));
        }
        if msg.is_standard() != q.standard {
            failures.push(format!(
                "{}: is_standard() {}, expected {}: {msg:?}",
                q.at,
                msg.is_standard(),
                q.standard
            ));
        }
        if msg.as_data().expect("encodes") != input {
            failures.push(format!(
                "{}: as_data differs\n in: {input}\nout: {}",
                q.at,
                msg.as_data().expect("encodes")
            ));
        }
        let again: Value = serde_json::from_slice(&msg.to_vec()).unwrap();
        if again != input {
            failures.push(format!("{}: to_vec differs: {again}", q.at));
        }
        // Decoding the re-encoded bytes gives the same message.
        let twice = ProtocolMessage::from_slice(&msg.to_vec()).unwrap();
        if twice != msg {
            failures.push(format!("{}: decoding the output differs", q.at));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_decoding_path_agrees_on_every_quirk() {
    let mut failures = Vec::new();
    for q in quirks() {
        let msg = q.decode();
        let via_serde: ProtocolMessage = match serde_json::from_slice(&q.bytes) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{}: serde_json::from_slice fails: {e}", q.at));
                continue;
            }
        };
        if via_serde != msg {
            failures.push(format!("{}: serde_json::from_slice differs", q.at));
        }
        let text = std::str::from_utf8(&q.bytes).unwrap();
        match serde_json::from_str::<ProtocolMessage>(text) {
            Ok(m) if m == msg => {}
            Ok(_) => failures.push(format!("{}: serde_json::from_str differs", q.at)),
            Err(e) => failures.push(format!("{}: serde_json::from_str fails: {e}", q.at)),
        }
        match ProtocolMessage::from_data(q.value()) {
            Ok(m) if m == msg => {}
            Ok(m) => failures.push(format!("{}: from_data differs: {m:?}", q.at)),
            Err(e) => failures.push(format!("{}: from_data fails: {e}", q.at)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn seq_zero_is_typed_on_every_message_kind() {
    for id in [
        "seq-zero-request",
        "seq-zero-response",
        "seq-zero-event",
        "seq-zero-error-response",
        "seq-zero-reverse-request",
    ] {
        let (q, msg) = quirk(id);
        assert_eq!(msg.seq(), Some(0), "{}", q.at);
        assert!(msg.is_standard(), "{}", q.at);
    }
    let (_, msg) = quirk("seq-zero-error-response");
    let ProtocolMessage::Response(r) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(r.request_seq(), Some(0));
    assert!(!r.success());
}

#[test]
fn messages_without_seq_are_kept_with_their_names() {
    let (_, msg) = quirk("response-without-seq");
    assert_eq!(msg.seq(), None);
    let ProtocolMessage::Response(r) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(r.command(), Some("threads"));
    assert_eq!(r.request_seq(), Some(3));
    assert!(r.success());
    let (_, msg) = quirk("error-response-without-seq");
    let ProtocolMessage::Response(r) = &msg else {
        panic!("{msg:?}")
    };
    assert!(
        !r.success(),
        "a failed response stays failed when kept as JSON"
    );
    // An out-of-range seq is not silently truncated.
    let (_, msg) = quirk("seq-beyond-int32");
    assert_eq!(msg.seq(), Some(4_294_967_296));
}

#[test]
fn empty_and_null_bodies() {
    for id in [
        "empty-body-configuration-done",
        "empty-body-launch",
        "empty-body-next",
    ] {
        let (q, msg) = quirk(id);
        let ProtocolMessage::Response(r) = &msg else {
            panic!("{}: {msg:?}", q.at)
        };
        assert!(r.success(), "{}", q.at);
        assert_eq!(
            msg.as_data().expect("encodes")["body"],
            json!({}),
            "{}",
            q.at
        );
    }
    let (_, msg) = quirk("empty-body-initialized");
    let ProtocolMessage::Event(Event::Initialized(e)) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(e.body, Some(json!({})));
    // `null` where the schema admits any value is a value, distinct from absence.
    let (_, msg) = quirk("null-body-initialized");
    let ProtocolMessage::Event(Event::Initialized(e)) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(e.body, Some(Value::Null));
    let (_, msg) = quirk("null-arguments-threads");
    let ProtocolMessage::Request(Request::Threads(t)) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(t.arguments, Some(Value::Null));
    let (_, msg) = quirk("absent-arguments-threads");
    let ProtocolMessage::Request(Request::Threads(t)) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(t.arguments, None);
    assert!(msg.as_data().expect("encodes").get("arguments").is_none());
    // `null` where the schema wants an object: the slot stays empty, the null is kept.
    let (_, msg) = quirk("null-arguments-configuration-done");
    let ProtocolMessage::Request(Request::ConfigurationDone(c)) = &msg else {
        panic!("{msg:?}")
    };
    assert!(c.arguments.is_none());
    assert_eq!(c.extra.get("arguments"), Some(&Value::Null));
    let (_, msg) = quirk("scalar-body-continued");
    let ProtocolMessage::Event(Event::Custom(raw)) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(raw.event_name(), Some("continued"));
    assert_eq!(raw.body(), Some(&json!("all threads")));
}

fn error_response(id: &str) -> ErrorResponse {
    let (q, msg) = quirk(id);
    match msg {
        ProtocolMessage::Response(Response::Error(e)) => e,
        other => panic!("{}: not an error response: {other:?}", q.at),
    }
}

#[test]
fn failed_responses_are_errors_whatever_their_body() {
    let e = error_response("failed-without-body");
    assert!(e.body.is_none());
    assert!(e.extra.is_empty());
    assert_eq!(e.command, "evaluate");
    assert!(e.message.is_some());

    let e = error_response("failed-with-string-body");
    assert!(e.body.is_none());
    assert_eq!(e.extra.get("body"), Some(&json!("no such variable")));

    let e = error_response("failed-with-null-body");
    assert!(e.body.is_none());
    assert_eq!(e.extra.get("body"), Some(&Value::Null));

    let e = error_response("failed-with-empty-body");
    let body = e.body.expect("typed empty body");
    assert!(body.error.is_none());

    let e = error_response("failed-with-structured-error");
    let err = e.body.and_then(|b| b.error).expect("structured error");
    assert_eq!(err.id, 3);
    assert_eq!(err.show_user, Some(true));
    assert!(e.message.is_none());

    let e = error_response("failed-cancelled");
    assert_eq!(
        e.message,
        Some(dapkit_types::types::ResponseMessage::Cancelled)
    );

    let (_, msg) = quirk("failed-success-missing");
    let ProtocolMessage::Response(Response::Custom(raw)) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(raw.success(), None);
}

#[test]
fn out_of_schema_values_are_kept_or_typed_with_other() {
    // A thread id that is not an integer: the message is kept as JSON, intact.
    let (_, msg) = quirk("continue-thread-star");
    let ProtocolMessage::Request(Request::Custom(raw)) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(raw.command(), Some("continue"));
    assert_eq!(raw.arguments(), Some(&json!({"threadId": "*"})));

    // Open and closed enums keep unlisted values.
    let (_, msg) = quirk("stopped-reason-open-enum");
    let ProtocolMessage::Event(Event::Stopped(StoppedEvent { body, .. })) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(body.reason, StoppedEventBodyReason::Other("signal".into()));
    assert_eq!(body.thread_id, Some(4711));

    let (_, msg) = quirk("module-reason-closed-enum");
    let ProtocolMessage::Event(Event::Module(ModuleEvent { body, .. })) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(body.reason, ModuleEventBodyReason::Other("unloaded".into()));

    let (_, msg) = quirk("process-start-method-closed-enum");
    let ProtocolMessage::Event(Event::Process(ProcessEvent { body, .. })) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(
        body.start_method,
        Some(ProcessEventBodyStartMethod::Other("process".into()))
    );

    let (_, msg) = quirk("stack-frame-hint-closed-enum");
    let ProtocolMessage::Response(Response::StackTrace(StackTraceResponse { body, .. })) = &msg
    else {
        panic!("{msg:?}")
    };
    assert_eq!(
        body.stack_frames[0].presentation_hint,
        Some(StackFramePresentationHint::Other("hidden".into()))
    );

    // An integer beyond what the types hold, or written as a float: kept as JSON.
    let (_, msg) = quirk("module-id-beyond-i64");
    let ProtocolMessage::Event(Event::Custom(raw)) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(
        raw.body().and_then(|b| b.pointer("/module/id")),
        Some(&json!(u64::MAX))
    );
    let (_, msg) = quirk("thread-id-float");
    assert!(msg.to_vec().windows(14).any(|w| w == b"\"threadId\":1.0"));
}

#[test]
fn negative_offsets_are_typed() {
    let (_, msg) = quirk("read-memory-negative-offset");
    let ProtocolMessage::Request(Request::ReadMemory(r)) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(r.arguments.offset, Some(-16));
    assert_eq!(r.arguments.count, 32);

    let (_, msg) = quirk("instruction-breakpoint-negative-offset");
    let ProtocolMessage::Request(Request::SetInstructionBreakpoints(r)) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(r.arguments.breakpoints[0].offset, Some(-4));
}

#[test]
fn module_id_is_integer_or_string() {
    let (_, msg) = quirk("module-id-integer");
    let ProtocolMessage::Event(Event::Module(ModuleEvent { body, .. })) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(body.module.id, ModuleId::Integer(524_288));
    let (_, msg) = quirk("module-id-string");
    let ProtocolMessage::Event(Event::Module(ModuleEvent { body, .. })) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(
        body.module.id,
        ModuleId::String("/lib/x86_64-linux-gnu/libc.so.6".into())
    );
}

#[test]
fn number_spellings_survive() {
    // lldb-dap's long doubles keep their exact values.
    let (_, msg) = quirk("lldb-long-floats");
    let ProtocolMessage::Event(Event::Terminated(TerminatedEvent { body, .. })) = &msg else {
        panic!("{msg:?}")
    };
    let stats = &body.as_ref().unwrap().extra["$__lldb_statistics"];
    let parse_time = stats["totalDebugInfoParseTime"].as_f64().unwrap();
    assert_eq!(
        parse_time.to_bits(),
        "0.097006000000000009".parse::<f64>().unwrap().to_bits()
    );
    let out: Value = serde_json::from_slice(&msg.to_vec()).unwrap();
    let again = out
        .pointer("/body/$__lldb_statistics/totalSymbolTableIndexTime")
        .and_then(Value::as_f64)
        .unwrap();
    assert_eq!(
        again.to_bits(),
        "0.0012899999999999999".parse::<f64>().unwrap().to_bits()
    );
    assert!(
        out.pointer("/body/$__lldb_statistics/totalModuleCount")
            .unwrap()
            .is_u64()
    );

    // `1` stays an integer and `1.0` stays a float, nested or at the top level.
    let (_, msg) = quirk("integer-vs-float-extra");
    let ProtocolMessage::Event(Event::Output(OutputEvent { body, extra, .. })) = &msg else {
        panic!("{msg:?}")
    };
    let data = body.data.as_ref().unwrap();
    assert!(data["count"].is_u64());
    assert!(data["ratio"].is_f64());
    assert!(extra["x-int"].is_u64());
    assert!(extra["x-float"].is_f64());
    let text = String::from_utf8(msg.to_vec()).unwrap();
    for spelled in [
        "\"count\":1,",
        "\"ratio\":1.0",
        "\"x-int\":2",
        "\"x-float\":2.0",
    ] {
        assert!(text.contains(spelled), "`{spelled}` not in {text}");
    }
    assert_eq!(data["tiny"].as_f64(), Some(5e-324));

    let (_, msg) = quirk("float-in-declared-number");
    let ProtocolMessage::Event(Event::ProgressUpdate(p)) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(p.body.percentage, Some(12.5));
}

/// A `number` property keeps its spelling (`50.0` stays `50.0`, an integer beyond 2^53 stays
/// exact) while its value is unchanged; a new value is written as the value, and a cleared
/// one not at all.
#[test]
fn declared_numbers_keep_their_spelling_until_changed() {
    let (_, msg) = quirk("integral-float-in-declared-number");
    let ProtocolMessage::Event(Event::ProgressUpdate(mut p)) = msg else {
        panic!("{msg:?}")
    };
    assert_eq!(p.body.percentage, Some(50.0));
    // Through the direct encoder (`to_vec`) and through serde.
    let text = |p: &ProgressUpdateEvent| {
        String::from_utf8(ProtocolMessage::from(p.clone()).to_vec()).unwrap()
    };
    assert!(text(&p).contains("\"percentage\":50.0"), "{}", text(&p));
    assert!(
        serde_json::to_string(&p)
            .unwrap()
            .contains("\"percentage\":50.0")
    );
    p.body.percentage = Some(75.0);
    assert!(text(&p).contains("\"percentage\":75}"), "{}", text(&p));
    assert!(
        serde_json::to_string(&p)
            .unwrap()
            .contains("\"percentage\":75}")
    );
    p.body.percentage = None;
    assert!(!text(&p).contains("percentage"), "{}", text(&p));
    assert!(!serde_json::to_string(&p).unwrap().contains("percentage"));
    assert!(
        dapkit_types::Validate::validate(&p).is_empty(),
        "{:?}",
        dapkit_types::Validate::validate(&p)
    );

    let (_, msg) = quirk("integer-beyond-f64-in-declared-number");
    let again = String::from_utf8(msg.to_vec()).unwrap();
    assert!(again.contains("\"percentage\":9007199254740993"), "{again}");
    let (_, msg) = quirk("exponent-and-negative-zero-in-declared-numbers");
    let again: Value = serde_json::from_slice(&msg.to_vec()).unwrap();
    assert_eq!(again["body"]["percentage"], json!(100.0));
    assert!(
        again["body"]["x-other"]
            .as_f64()
            .is_some_and(|x| x == 0.0 && x.is_sign_negative())
    );
    assert!(msg.is_standard());
}

#[test]
fn key_order_does_not_matter() {
    let (_, msg) = quirk("lldb-sorted-keys");
    let ProtocolMessage::Response(Response::Threads(t)) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(t.body.threads[0].id, 3_141_592);
    let (_, msg) = quirk("gdb-seq-last");
    assert_eq!(msg.seq(), Some(44));
    let (_, msg) = quirk("arguments-before-command");
    let ProtocolMessage::Request(Request::Scopes(s)) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(s.arguments.frame_id, 1000);
    let (_, msg) = quirk("escapes-and-unicode");
    let ProtocolMessage::Event(Event::Output(o)) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(o.body.output, "café ☃ \"q\" \\t\r\n");
}

#[test]
fn adapter_specific_launch_and_attach_keys_are_kept_and_accessible() {
    let (_, msg) = quirk("launch-debugpy-keys");
    let ProtocolMessage::Request(Request::Launch(LaunchRequest { arguments, .. })) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(arguments.no_debug, Some(false));
    assert_eq!(arguments.extra["program"], "/src/demo/demo.py");
    assert_eq!(arguments.extra["justMyCode"], false);
    assert_eq!(arguments.extra["console"], "integratedTerminal");
    assert_eq!(
        arguments.extra["__sessionId"],
        "5e0b6f4d-2f2c-4a43-9c2e-6c3f0a6a2d11"
    );

    let (_, msg) = quirk("attach-connect");
    let ProtocolMessage::Request(Request::Attach(AttachRequest { arguments, .. })) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(arguments.extra["connect"]["port"], 5678);

    let (_, msg) = quirk("launch-restart-data");
    let ProtocolMessage::Request(Request::Launch(LaunchRequest { arguments, .. })) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(
        arguments.restart,
        Some(json!({"pid": 4242, "generation": 2}))
    );

    let (_, msg) = quirk("terminated-restart-data");
    let ProtocolMessage::Event(Event::Terminated(TerminatedEvent { body, .. })) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(
        body.as_ref().and_then(|b| b.restart.clone()),
        Some(json!({"pid": 4242, "generation": 2}))
    );

    let (_, msg) = quirk("restart-with-launch-arguments");
    let ProtocolMessage::Request(Request::Restart(RestartRequest { arguments, .. })) = &msg else {
        panic!("{msg:?}")
    };
    let Some(RestartArgumentsArguments::Launch(launch)) =
        arguments.as_ref().and_then(|a| a.arguments.as_ref())
    else {
        panic!("restart arguments: {arguments:?}")
    };
    assert_eq!(launch.restart, Some(json!(["opaque", 1])));
    assert_eq!(launch.extra["program"], "/src/demo/demo.py");

    let (_, msg) = quirk("run-in-terminal-null-env");
    let ProtocolMessage::Request(Request::RunInTerminal(RunInTerminalRequest {
        arguments, ..
    })) = &msg
    else {
        panic!("{msg:?}")
    };
    let env = arguments.env.as_ref().unwrap();
    assert_eq!(env["PYTHONUNBUFFERED"].as_deref(), Some("1"));
    assert_eq!(env["PYTHONPATH"], None, "null unsets the variable");
    assert!(env.contains_key("PYTHONPATH"));

    let (_, msg) = quirk("stack-frame-null-source");
    let ProtocolMessage::Response(Response::StackTrace(StackTraceResponse { body, .. })) = &msg
    else {
        panic!("{msg:?}")
    };
    let frame = &body.stack_frames[0];
    assert!(frame.source.is_none());
    assert_eq!(frame.extra.get("source"), Some(&Value::Null));

    let (_, msg) = quirk("initialize-vendor-capability");
    let ProtocolMessage::Response(Response::Initialize(InitializeResponse { body, .. })) = &msg
    else {
        panic!("{msg:?}")
    };
    let caps = body.as_ref().unwrap();
    assert_eq!(caps.supports_configuration_done_request, Some(true));
    assert_eq!(caps.extra["$__lldb_version"], "lldb version 22.1.8");
}

#[test]
fn custom_messages_are_data() {
    let (_, req) = quirk("custom-request");
    let ProtocolMessage::Request(Request::Custom(raw)) = &req else {
        panic!("{req:?}")
    };
    assert_eq!(raw.command(), Some("dapkitFrobnicate"));
    assert_eq!(raw.arguments(), Some(&json!({"level": 3})));
    let (_, resp) = quirk("custom-response");
    let ProtocolMessage::Response(r) = &resp else {
        panic!("{resp:?}")
    };
    assert!(matches!(r, Response::Custom(_)));
    assert_eq!(r.command(), raw.command());
    assert_eq!(r.request_seq(), req.seq());
    assert!(r.success());
    // A custom message built in code encodes like the received one.
    let built = RawMessage::request(60, "dapkitFrobnicate", Some(json!({"level": 3})));
    assert_eq!(
        ProtocolMessage::Request(Request::Custom(built))
            .as_data()
            .expect("encodes"),
        req.as_data().expect("encodes")
    );

    let (_, msg) = quirk("unknown-type");
    let ProtocolMessage::Custom(raw) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(raw.kind(), Some("notification"));
    assert_eq!(msg.seq(), Some(1));
    let (_, msg) = quirk("missing-type");
    let ProtocolMessage::Custom(raw) = &msg else {
        panic!("{msg:?}")
    };
    assert_eq!(raw.kind(), None);
    assert_eq!(raw.command(), Some("threads"));
}

// ---------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------

#[test]
fn input_that_is_not_json_is_a_syntax_error() {
    let cases: &[&[u8]] = &[
        b"",
        b"   ",
        b"Content-Length: 2\r\n\r\n{}",
        b"{\"seq\":1,\"type\":\"request\"",
        b"{\"seq\":1,}",
        b"{seq:1}",
        b"{\"seq\":01}",
        b"\xff\xfe{}",
        b"{\"a\":\"\xff\"}",
        b"{\"seq\":1} trailing",
        b"NaN",
    ];
    for bytes in cases {
        let shown = String::from_utf8_lossy(bytes);
        let err = ProtocolMessage::from_slice(bytes)
            .err()
            .unwrap_or_else(|| panic!("{shown:?} decoded"));
        assert!(
            err.is_syntax(),
            "{shown:?}: not reported as a syntax error: {err}"
        );
        assert_eq!(err.what(), "ProtocolMessage");
        let text = err.to_string();
        assert!(
            text.contains("ProtocolMessage") && text.contains("line 1 column"),
            "{shown:?}: unclear error: {text}"
        );
        // The generic serde path fails too, and does not panic.
        assert!(serde_json::from_slice::<ProtocolMessage>(bytes).is_err());
    }
}

/// The error for bytes that are not JSON says so in words, not only through
/// [`dapkit_types::Error::is_syntax`]. Today it reads "cannot decode ProtocolMessage:
/// expected value at line 1 column 1", which does not say the input is not JSON.
#[test]
fn syntax_errors_say_the_input_is_not_json() {
    for bytes in [&b"\xff"[..], b"{seq:1}", b"", b"{\"seq\":1"] {
        let err = ProtocolMessage::from_slice(bytes).err().unwrap();
        let text = err.to_string();
        assert!(
            text.contains("JSON"),
            "{:?}: {text}",
            String::from_utf8_lossy(bytes)
        );
    }
}

/// Python's `json.dumps` writes strings holding lone surrogates (file names decoded with
/// `surrogateescape`, as debugpy may send) as `"\udcff"`: valid JSON text that no Rust
/// string can hold. Such a message is a clear error, never a panic.
#[test]
fn lone_surrogate_escapes_are_a_clear_error() {
    let bytes = br#"{"seq":1,"type":"event","event":"output","body":{"category":"stdout","output":"\udcff"}}"#;
    let err = ProtocolMessage::from_slice(bytes).err().unwrap();
    assert!(err.to_string().contains("surrogate"), "{err}");
    assert_eq!(err.what(), "ProtocolMessage");
    // A well-formed surrogate pair is fine.
    let pair = br#"{"seq":1,"type":"event","event":"output","body":{"category":"stdout","output":"\ud83d\ude00"}}"#;
    let ProtocolMessage::Event(Event::Output(o)) = ProtocolMessage::from_slice(pair).unwrap()
    else {
        panic!("not an output event")
    };
    assert_eq!(o.body.output, "😀");
}

#[test]
fn json_that_is_not_an_object_names_protocol_message() {
    for value in [
        json!([]),
        json!([{"seq": 1, "type": "request", "command": "threads"}]),
        json!(42),
        json!(-1.5),
        json!("request"),
        json!(null),
        json!(true),
    ] {
        let bytes = serde_json::to_vec(&value).unwrap();
        let err = ProtocolMessage::from_slice(&bytes)
            .err()
            .unwrap_or_else(|| panic!("{value} decoded"));
        assert!(
            !err.is_syntax(),
            "{value}: valid JSON is not a syntax error"
        );
        assert_eq!(err.what(), "ProtocolMessage");
        let text = err.to_string();
        assert!(
            text.contains("ProtocolMessage") && text.contains("a JSON object"),
            "{value}: unclear error: {text}"
        );
        let err = ProtocolMessage::from_data(value.clone()).err().unwrap();
        assert!(err.to_string().contains("ProtocolMessage"), "{err}");
        let err = serde_json::from_slice::<ProtocolMessage>(&bytes)
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("ProtocolMessage"),
            "{value}: {err}"
        );
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let depth = 100_000;
    let mut deep = String::from("{\"seq\":1,\"type\":\"event\",\"event\":\"x\",\"body\":");
    deep.push_str(&"[".repeat(depth));
    deep.push_str(&"]".repeat(depth));
    deep.push('}');
    let err = ProtocolMessage::from_slice(deep.as_bytes()).err();
    assert!(
        err.is_some_and(|e| e.to_string().contains("recursion")),
        "serde_json's recursion limit applies"
    );
    // Moderate nesting in any-typed payloads is kept.
    let mut ok = String::from("{\"seq\":1,\"type\":\"event\",\"event\":\"x\",\"body\":");
    ok.push_str(&"[".repeat(100));
    ok.push_str(&"]".repeat(100));
    ok.push('}');
    let msg = ProtocolMessage::from_slice(ok.as_bytes()).unwrap();
    let input: Value = serde_json::from_str(&ok).unwrap();
    assert_eq!(msg.as_data().expect("encodes"), input);
}

/// Deterministic byte mutations of every quirk: decoding never panics, and whatever still is
/// a JSON object decodes and round-trips.
#[test]
fn mutated_quirks_never_panic_and_objects_round_trip() {
    const REPLACEMENTS: &[u8] = b"\"{}[]:,0-.exn \\\xff";
    let (mut decoded, mut rejected) = (0u32, 0u32);
    for q in quirks() {
        let mut variants: Vec<Vec<u8>> = Vec::new();
        for cut in 0..q.bytes.len() {
            variants.push(q.bytes[..cut].to_vec());
        }
        for (i, _) in q.bytes.iter().enumerate() {
            let r = REPLACEMENTS[i % REPLACEMENTS.len()];
            let mut m = q.bytes.clone();
            m[i] = r;
            variants.push(m);
            let mut d = q.bytes.clone();
            d.remove(i);
            variants.push(d);
        }
        for bytes in variants {
            let result = std::panic::catch_unwind(|| ProtocolMessage::from_slice(&bytes));
            let shown = String::from_utf8_lossy(&bytes).into_owned();
            let Ok(result) = result else {
                panic!("{}: panicked on {shown}", q.at)
            };
            match (result, serde_json::from_slice::<Value>(&bytes)) {
                (Ok(msg), Ok(value)) => {
                    decoded += 1;
                    let out = msg.as_data().expect("encodes");
                    assert_eq!(out, value, "{}: lossy on {shown}", q.at);
                    let again: Value = serde_json::from_slice(&msg.to_vec()).unwrap();
                    assert_eq!(again, value, "{}: to_vec lossy on {shown}", q.at);
                }
                (Err(_), Ok(value)) => {
                    assert!(!value.is_object(), "{}: object rejected: {shown}", q.at);
                    rejected += 1;
                }
                (Ok(msg), Err(e)) => panic!("{}: accepted non-JSON {shown} ({e}): {msg:?}", q.at),
                (Err(_), Err(_)) => rejected += 1,
            }
        }
    }
    assert!(
        decoded > 1000 && rejected > 1000,
        "{decoded} decoded, {rejected} rejected"
    );
}

/// `Request`, `Response` and `Event` decode on their own too (leniently, like
/// `ProtocolMessage`), so they have `Data`'s conversions; a message of another kind is an
/// error that says what it found.
#[test]
fn dispatch_enums_convert_with_data() {
    use dapkit_types::Data as _;
    let req =
        Request::from_data(json!({"seq": 3, "type": "request", "command": "threads"})).unwrap();
    assert!(matches!(req, Request::Threads(_)), "{req:?}");
    assert_eq!(req.as_data().expect("encodes")["command"], "threads");
    let custom = Request::from_slice(
        br#"{"seq":4,"type":"request","command":"debugpyX","arguments":{"a":1}}"#,
    )
    .unwrap();
    assert!(matches!(custom, Request::Custom(_)), "{custom:?}");
    assert_eq!(custom.as_data().expect("encodes")["arguments"]["a"], 1);
    let ev = Event::from_slice(
        br#"{"seq":5,"type":"event","event":"stopped","body":{"reason":"step"}}"#,
    )
    .unwrap();
    assert!(matches!(ev, Event::Stopped(_)), "{ev:?}");
    let failed = Response::from_data(json!({
        "seq": 2, "type": "response", "request_seq": 1, "success": false,
        "command": "next", "message": "no"
    }))
    .unwrap();
    assert!(matches!(failed, Response::Error(_)), "{failed:?}");

    let err =
        Request::from_data(json!({"seq": 5, "type": "event", "event": "stopped"})).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected a request message, found an event"),
        "{err}"
    );
    let err = Response::from_slice(br#"{"seq":1,"type":"request","command":"x"}"#).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected a response message, found a request"),
        "{err}"
    );
    let err = Event::from_slice(br#"{"seq":1,"type":"nonsense"}"#).unwrap_err();
    assert!(err.to_string().contains("`type` \"nonsense\""), "{err}");
}
