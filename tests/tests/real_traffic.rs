//! Every message recorded from real debug adapters (debugpy, lldb-dap, gdb) decodes, standard
//! ones into their typed form, and encodes back to JSON equal to what the peer sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dapkit_tests::traffic;
use dapkit_types::{Event, ProtocolMessage, Request, Response};
use serde_json::Value;

fn all_messages() -> Vec<(String, Vec<u8>, ProtocolMessage)> {
    let mut out = Vec::new();
    for stream in traffic().expect("recorded traffic") {
        for (i, body) in stream.bodies.iter().enumerate() {
            let where_ = format!("{}/{} #{i}", stream.session, stream.side);
            let msg = ProtocolMessage::from_slice(body)
                .unwrap_or_else(|e| panic!("{where_}: does not decode: {e}"));
            out.push((where_, body.clone(), msg));
        }
    }
    out
}

#[test]
fn every_message_round_trips_losslessly() {
    let msgs = all_messages();
    assert!(
        msgs.len() > 200,
        "expected the full recordings, got {}",
        msgs.len()
    );
    for (where_, body, msg) in &msgs {
        let input: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(
            msg.as_data().expect("encodes"),
            input,
            "{where_}: as_data differs from the input"
        );
        let again: Value = serde_json::from_slice(&msg.to_vec()).unwrap();
        assert_eq!(again, input, "{where_}: to_vec differs from the input");
        // And through the generic serde path.
        let via_serde: ProtocolMessage = serde_json::from_slice(body).unwrap();
        assert_eq!(
            &via_serde, msg,
            "{where_}: serde Deserialize differs from from_slice"
        );
        let via_value = ProtocolMessage::from_data(input.clone()).unwrap();
        assert_eq!(
            &via_value, msg,
            "{where_}: from_data differs from from_slice"
        );
        if let ProtocolMessage::Response(r) = msg {
            let wire = input["request_seq"].as_i64();
            assert_eq!(r.request_seq(), wire, "{where_}: request_seq");
        }
    }
}

/// The direct encoder (`to_vec`, `to_writer`) writes, byte for byte, what serde_json writes
/// through the types' serde `Serialize` (its own key and string escaping, no code shared
/// with the direct encoder's writers), for every recorded message, alone and appended to a
/// buffer that already holds messages.
#[test]
fn the_direct_encoder_writes_what_serde_writes() {
    let msgs = all_messages();
    assert!(msgs.len() > 200, "expected the full recordings");
    let mut all = Vec::new();
    let mut expected_all = Vec::new();
    for (where_, _, msg) in &msgs {
        let by_serde = serde_json::to_vec(msg).expect("serde encodes");
        let direct = msg.to_vec();
        assert_eq!(
            String::from_utf8_lossy(&direct),
            String::from_utf8_lossy(&by_serde),
            "{where_}: to_vec differs from serde's encoding"
        );
        let mut written = Vec::new();
        msg.to_writer(&mut written).expect("writes to a Vec");
        assert_eq!(written, by_serde, "{where_}: to_writer differs");
        msg.write_to_vec(&mut all);
        expected_all.extend_from_slice(&by_serde);
    }
    assert_eq!(all, expected_all, "write_to_vec into one buffer differs");
}

#[test]
fn known_names_decode_into_typed_form() {
    for (where_, _, msg) in all_messages() {
        let (known, name) = match &msg {
            ProtocolMessage::Request(r) => match r {
                Request::Custom(m) => (
                    Request::KNOWN.contains(&m.command().unwrap_or("")),
                    m.command().map(str::to_owned),
                ),
                _ => (true, r.command().map(str::to_owned)),
            },
            ProtocolMessage::Response(r) => match r {
                Response::Custom(m) => (
                    Response::KNOWN.contains(&m.command().unwrap_or("")),
                    m.command().map(str::to_owned),
                ),
                _ => (true, r.command().map(str::to_owned)),
            },
            ProtocolMessage::Event(e) => match e {
                Event::Custom(m) => (
                    Event::KNOWN.contains(&m.event_name().unwrap_or("")),
                    m.event_name().map(str::to_owned),
                ),
                _ => (true, e.event().map(str::to_owned)),
            },
            ProtocolMessage::Custom(_) => panic!("{where_}: message without a known type"),
        };
        if known {
            assert!(
                msg.is_standard(),
                "{where_}: `{name:?}` is a known name but did not take its typed form: {msg:?}"
            );
        } else {
            assert!(
                !msg.is_standard(),
                "{where_}: custom `{name:?}` claims to be standard"
            );
        }
    }
}

/// The one envelope reader (`Envelope::read`, which routes a client's responses before they
/// are decoded) agrees with the input on every recorded message, whatever the member order
/// (lldb-dap sorts keys, so its payload comes first).
#[test]
fn the_envelope_reader_agrees_with_every_recorded_message() {
    let msgs = all_messages();
    for (where_, body, _) in &msgs {
        let input: Value = serde_json::from_slice(body).unwrap();
        let env = dapkit_types::Envelope::read(body)
            .unwrap_or_else(|e| panic!("{where_}: no envelope: {e}"));
        let text = |k: &str| input.get(k).and_then(Value::as_str).map(str::to_owned);
        assert_eq!(env.kind, text("type"), "{where_}");
        assert_eq!(env.command, text("command"), "{where_}");
        assert_eq!(env.event, text("event"), "{where_}");
        assert_eq!(
            env.success,
            input.get("success").and_then(Value::as_bool),
            "{where_}"
        );
        assert_eq!(
            env.request_seq,
            input.get("request_seq").and_then(Value::as_i64),
            "{where_}"
        );
    }
    // Members of an odd type count as absent (serde reads what the quick scan declines);
    // what is not a JSON object is an error naming the envelope.
    let odd = dapkit_types::Envelope::read(
        br#"{"type":7,"request_seq":"2","success":"yes","event":null,"command":"ev\u0061l"}"#,
    )
    .expect("an object");
    assert_eq!(
        (
            odd.kind,
            odd.request_seq,
            odd.success,
            odd.event,
            odd.command.as_deref()
        ),
        (None, None, None, None, Some("eval"))
    );
    let err = dapkit_types::Envelope::read(b"[1,2]").unwrap_err();
    assert!(
        err.to_string().starts_with("cannot decode Envelope"),
        "{err}"
    );
}

fn session(name: &str) -> Vec<ProtocolMessage> {
    all_messages()
        .into_iter()
        .filter(|(w, _, _)| w.starts_with(name))
        .map(|(_, _, m)| m)
        .collect()
}

#[test]
fn debugpy_quirks_are_typed_or_kept() {
    let msgs = session("debugpy-launch");
    // Custom events are data, with name and body kept.
    let sockets = msgs.iter().find_map(|m| match m {
        ProtocolMessage::Event(Event::Custom(raw))
            if raw.event_name() == Some("debugpySockets") =>
        {
            Some(raw)
        }
        _ => None,
    });
    let sockets = sockets.expect("debugpySockets event");
    assert_eq!(
        sockets.body().and_then(|b| b.get("sockets")),
        Some(&serde_json::json!([{"host": "127.0.0.1", "port": 46629, "internal": false}])),
        "the first debugpySockets event of the recording"
    );

    // The reverse request and its response are typed.
    let rit = msgs.iter().find_map(|m| match m {
        ProtocolMessage::Request(Request::RunInTerminal(r)) => Some(r),
        _ => None,
    });
    let rit = rit.expect("runInTerminal request");
    assert_eq!(rit.arguments.cwd, "/src/demo");
    assert_eq!(
        rit.arguments.args[rit.arguments.args.len() - 4..],
        ["--", "/src/demo/demo.py", "--flag", "two words"]
    );
    let rit_resp = msgs.iter().find_map(|m| match m {
        ProtocolMessage::Response(Response::RunInTerminal(r)) => Some(r),
        _ => None,
    });
    let rit_resp = rit_resp.expect("runInTerminal response");
    assert_eq!(rit_resp.body.process_id, Some(4611));
    assert_eq!(rit_resp.body.shell_process_id, Some(4610));

    // An unknown command is answered by an error response, typed as Error.
    let unknown = msgs.iter().find_map(|m| match m {
        ProtocolMessage::Response(Response::Error(e)) if e.command == "dapkitUnknownCommand" => {
            Some(e)
        }
        _ => None,
    });
    let unknown = unknown.expect("error response to the unknown command");
    assert!(unknown.body.is_none(), "debugpy answers without a body");
    assert_eq!(unknown.request_seq, 27);
    let message = unknown.message.as_ref().expect("a message").as_str();
    assert!(
        message.contains("dapkitUnknownCommand not in ['attach'"),
        "{message}"
    );

    // Stopped at a breakpoint with typed reason and thread.
    let stopped = msgs.iter().find_map(|m| match m {
        ProtocolMessage::Event(Event::Stopped(s)) => Some(s),
        _ => None,
    });
    let stopped = stopped.expect("stopped event");
    assert_eq!(stopped.body.thread_id, Some(1));
    assert_eq!(stopped.body.hit_breakpoint_ids, Some(vec![0]));
    assert_eq!(stopped.body.all_threads_stopped, Some(true));
}

#[test]
fn lldb_failed_response_with_body_is_typed() {
    let msgs = session("lldb-dap-c");
    let failed = msgs.iter().find_map(|m| match m {
        ProtocolMessage::Response(Response::Error(e)) => Some(e),
        _ => None,
    });
    let failed = failed.expect("lldb-dap failed evaluate");
    let body = failed.body.as_ref().expect("lldb-dap sends a body");
    let error = body.error.as_ref().expect("structured error message");
    assert_eq!(error.id, 22);
    assert!(
        error
            .format
            .starts_with("<user expression 0>:1:10: expected 'eof'"),
        "{}",
        error.format
    );
}

/// lldb-dap's statistics (`"totalDebugInfoParseTime":0.14616700000000002`, a non-shortest
/// spelling) come back as the very same double.
#[test]
fn lldb_long_floats_keep_their_exact_value() {
    let msgs = session("lldb-dap-c");
    let terminated = msgs
        .iter()
        .find_map(|m| match m {
            ProtocolMessage::Event(Event::Terminated(t)) => Some(t),
            _ => None,
        })
        .expect("lldb-dap terminated event");
    let body = terminated
        .body
        .as_ref()
        .expect("lldb-dap sends statistics in the body");
    let stats = &body.extra["$__lldb_statistics"];
    let sent = stats["totalDebugInfoParseTime"].as_f64().expect("a number");
    assert_eq!(sent.to_bits(), 0.14616700000000002f64.to_bits());
    let again: Value = serde_json::from_slice(
        &ProtocolMessage::Event(Event::Terminated(terminated.clone())).to_vec(),
    )
    .unwrap();
    let back = again["body"]["$__lldb_statistics"]["totalDebugInfoParseTime"]
        .as_f64()
        .expect("a number after encoding");
    assert_eq!(back.to_bits(), sent.to_bits());
}
