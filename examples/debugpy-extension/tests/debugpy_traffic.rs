//! Real debugpy traffic (recorded in `tests/fixtures/traffic/debugpy-*`) decoded into the
//! extension types this crate's build.rs generated, and encoded back to equal JSON.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dapkit_example_extension::debugpy::*;
use dapkit_types::traits::{Event as _, Request as _, Response as _};
use dapkit_types::{Data as _, Event, ProtocolMessage, Request, Response, Validate as _};
use serde_json::Value;

/// Every recorded debugpy message: (where, body).
fn debugpy_messages() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for stream in dapkit_tests::traffic().expect("recorded traffic") {
        if !stream.session.starts_with("debugpy") {
            continue;
        }
        for (i, body) in stream.bodies.into_iter().enumerate() {
            out.push((format!("{}/{} #{i}", stream.session, stream.side), body));
        }
    }
    out
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("recorded messages are JSON")
}

/// Decodes `T` out of a `Custom` request, checks its encodings equal `body`, returns it.
fn request<T: dapkit_types::traits::Request + std::fmt::Debug>(
    msg: &ProtocolMessage,
    body: &[u8],
    at: &str,
) -> Option<T> {
    let ProtocolMessage::Request(r) = msg else {
        return None;
    };
    let typed: T = r.extension()?.unwrap_or_else(|e| panic!("{at}: {e}"));
    assert_eq!(
        typed.as_data().expect("the typed message encodes"),
        json(body),
        "{at}: typed re-encoding differs"
    );
    let back = ProtocolMessage::Request(Request::from_extension(&typed).unwrap());
    assert_eq!(
        json(&back.to_vec()),
        json(body),
        "{at}: Custom re-encoding differs"
    );
    // Equal to the decoded message whether it came typed (a `debugpy` feature on elsewhere in
    // the build) or as `Custom`.
    assert_eq!(json(&back.to_vec()), json(&msg.to_vec()), "{at}");
    Some(typed)
}

fn response<T: dapkit_types::traits::Response + std::fmt::Debug>(
    msg: &ProtocolMessage,
    body: &[u8],
    at: &str,
) -> Option<T> {
    let ProtocolMessage::Response(r) = msg else {
        return None;
    };
    let typed: T = r.extension()?.unwrap_or_else(|e| panic!("{at}: {e}"));
    assert_eq!(
        typed.as_data().expect("the typed message encodes"),
        json(body),
        "{at}: typed re-encoding differs"
    );
    let back = ProtocolMessage::Response(Response::from_extension(&typed).unwrap());
    assert_eq!(
        json(&back.to_vec()),
        json(body),
        "{at}: Custom re-encoding differs"
    );
    Some(typed)
}

#[test]
fn recorded_debugpy_extension_messages_decode_typed_and_round_trip() {
    let mut seen = std::collections::BTreeMap::<&str, usize>::new();
    let mut custom = 0;
    for (at, body) in debugpy_messages() {
        let msg = ProtocolMessage::from_slice(&body).unwrap_or_else(|e| panic!("{at}: {e}"));
        let is_custom = matches!(
            &msg,
            ProtocolMessage::Request(Request::Custom(_))
                | ProtocolMessage::Response(Response::Custom(_))
                | ProtocolMessage::Event(Event::Custom(_))
        );
        custom += usize::from(is_custom);

        if let Some(r) = request::<SetDebuggerPropertyRequest>(&msg, &body, &at) {
            let args = r.arguments();
            assert_eq!(
                args.skip_suspend_on_breakpoint_exception,
                Some(vec![Value::from("BaseException")])
            );
            assert_eq!(args.multi_threads_single_notification, Some(true));
            assert!(args.extra.is_empty(), "{at}: {:?}", args.extra);
            assert!(r.validate().is_empty(), "{at}");
            *seen.entry(SetDebuggerPropertyRequest::COMMAND).or_default() += 1;
        }
        if let Some(r) = request::<SetPydevdSourceMapRequest>(&msg, &body, &at) {
            let maps = r
                .arguments()
                .pydevd_source_maps
                .as_deref()
                .unwrap_or_default();
            assert_eq!(maps.len(), 1, "{at}");
            assert_eq!(
                (maps[0].line, maps[0].end_line, maps[0].runtime_line),
                (1, 3, 1)
            );
            assert_eq!(maps[0].runtime_source.path.as_deref(), Some("<cell-1>"));
            assert!(
                r.arguments()
                    .source
                    .path
                    .as_deref()
                    .is_some_and(|p| p.ends_with(".py"))
            );
            *seen.entry("setPydevdSourceMap").or_default() += 1;
        }
        if let Some(r) = request::<PydevdSystemInfoRequest>(&msg, &body, &at) {
            assert_eq!(r.arguments(), &None, "{at}");
            *seen.entry("pydevdSystemInfo").or_default() += 1;
        }
        if response::<SetDebuggerPropertyResponse>(&msg, &body, &at).is_some() {
            *seen.entry("setDebuggerProperty response").or_default() += 1;
        }
        if response::<SetPydevdSourceMapResponse>(&msg, &body, &at).is_some() {
            *seen.entry("setPydevdSourceMap response").or_default() += 1;
        }
        if let Some(r) = response::<PydevdSystemInfoResponse>(&msg, &body, &at) {
            let info = r.body();
            assert!(
                info.python
                    .version
                    .as_deref()
                    .is_some_and(|v| v.starts_with("3.")),
                "{at}"
            );
            assert_eq!(
                info.python
                    .implementation
                    .as_ref()
                    .and_then(|i| i.name.as_deref()),
                Some("cpython")
            );
            assert!(info.process.pid.is_some_and(|pid| pid > 0), "{at}");
            assert_eq!(info.process.bitness, Some(64));
            assert!(info.pydevd.using_cython.is_some(), "{at}");
            assert!(r.validate().is_empty(), "{at}: {:?}", r.validate());
            *seen.entry("pydevdSystemInfo response").or_default() += 1;
        }
        if let ProtocolMessage::Event(e) = &msg {
            if let Some(ev) = e.extension::<PydevdInputRequestedEvent>() {
                let ev = ev.unwrap_or_else(|e| panic!("{at}: {e}"));
                assert_eq!(ev.as_data().expect("the event encodes"), json(&body));
                *seen.entry(PydevdInputRequestedEvent::EVENT).or_default() += 1;
            }
        }
    }
    for what in [
        "setDebuggerProperty",
        "setPydevdSourceMap",
        "pydevdSystemInfo",
        "setDebuggerProperty response",
        "setPydevdSourceMap response",
        "pydevdSystemInfo response",
    ] {
        assert_eq!(seen.get(what), Some(&1), "{what}: {seen:?}");
    }
    // Custom also holds debugpy's undeclared messages (debugpySockets, ...), not typed here.
    assert!(custom > 6, "{custom}");
}

#[test]
fn typed_messages_that_are_not_custom_are_left_alone() {
    // A standard request is typed by dapkit-types itself: no extension applies.
    let msg =
        ProtocolMessage::from_slice(br#"{"seq":1,"type":"request","command":"threads"}"#).unwrap();
    let ProtocolMessage::Request(r) = &msg else {
        panic!("a request")
    };
    assert!(r.extension::<PydevdSystemInfoRequest>().is_none());
    // A failed pydevdSystemInfo response is a `Response::Error`, not the typed success.
    let failed = ProtocolMessage::from_slice(
        br#"{"seq":2,"type":"response","request_seq":1,"success":false,"command":"pydevdSystemInfo","message":"no"}"#,
    )
    .unwrap();
    let ProtocolMessage::Response(r) = &failed else {
        panic!("a response")
    };
    assert!(r.extension::<PydevdSystemInfoResponse>().is_none());
}

#[test]
fn an_ill_typed_extension_message_is_an_error_naming_it() {
    let msg = ProtocolMessage::from_slice(
        br#"{"seq":5,"type":"request","command":"setPydevdSourceMap","arguments":{"source":{"path":"a.py"},"pydevdSourceMaps":[{"line":"one"}]}}"#,
    )
    .unwrap();
    let ProtocolMessage::Request(r) = &msg else {
        panic!("a request")
    };
    let err = r
        .extension::<SetPydevdSourceMapRequest>()
        .expect("the command matches")
        .unwrap_err();
    assert_eq!(
        (err.seq(), err.name()),
        (Some(5), Some("setPydevdSourceMap"))
    );
    assert_eq!(err.what(), "SetPydevdSourceMapRequest");
}

#[test]
fn built_extension_requests_encode_as_debugpy_expects() {
    let args =
        SetPydevdSourceMapArguments::new(dapkit_types::types::Source::new().with_path("/a.py"))
            .with_pydevd_source_maps(vec![PydevdSourceMap::new(
                1,
                2,
                dapkit_types::types::Source::new().with_path("<cell-2>"),
                5,
            )]);
    let req = SetPydevdSourceMapRequest::from_arguments(3, args);
    let sent = ProtocolMessage::Request(Request::from_extension(&req).unwrap());
    let expected = serde_json::json!({
        "seq": 3, "type": "request", "command": "setPydevdSourceMap",
        "arguments": {"source": {"path": "/a.py"}, "pydevdSourceMaps": [
            {"line": 1, "endLine": 2, "runtimeSource": {"path": "<cell-2>"}, "runtimeLine": 5}]}
    });
    assert_eq!(json(&sent.to_vec()), expected);
    // Decoding the bytes gives the same typed request back.
    let decoded = ProtocolMessage::from_slice(&sent.to_vec()).unwrap();
    let ProtocolMessage::Request(r) = &decoded else {
        panic!("a request")
    };
    assert_eq!(
        r.extension::<SetPydevdSourceMapRequest>().unwrap().unwrap(),
        req
    );
}
