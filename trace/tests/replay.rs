//! Loading a trace for replay: which client, what is skipped, what is an error.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use dapkit_trace::replay::{AdapterOptions, AdapterReplay, Kind, Script};
use dapkit_trace::{Direction, Header, TraceReader, TraceWriter};

fn trace(build: impl FnOnce(&mut TraceWriter<&mut Vec<u8>>)) -> Vec<u8> {
    let mut file = Vec::new();
    let mut writer = TraceWriter::new(
        &mut file,
        &Header::new(serde_json::json!({"command": ["x"]})),
    )
    .expect("writer");
    build(&mut writer);
    drop(writer);
    file
}

const C: Direction = Direction::ClientToAdapter;
const A: Direction = Direction::AdapterToClient;

#[test]
fn the_first_client_is_replayed_unless_another_is_chosen() {
    let file = trace(|w| {
        w.message(
            C,
            2,
            br#"{"seq":1,"type":"request","command":"initialize"}"#,
        )
        .unwrap();
        w.message(C, 3, br#"{"seq":1,"type":"request","command":"threads"}"#)
            .unwrap();
        w.message(
            A,
            2,
            br#"{"seq":1,"type":"response","request_seq":1,"success":true,"command":"initialize"}"#,
        )
        .unwrap();
        w.message(
            A,
            3,
            br#"{"seq":1,"type":"response","request_seq":1,"success":true,"command":"threads"}"#,
        )
        .unwrap();
    });
    let script = Script::read(TraceReader::new(&file[..]).expect("trace"), None).expect("script");
    assert_eq!(script.client(), 2);
    let records: Vec<u64> = script.entries().iter().map(|e| e.record).collect();
    assert_eq!(
        records,
        [1, 3],
        "record numbers count every record of the trace"
    );
    assert_eq!(
        script.entries()[0].kind,
        Kind::Request {
            seq: 1,
            command: "initialize".into()
        }
    );

    let script =
        Script::read(TraceReader::new(&file[..]).expect("trace"), Some(3)).expect("script");
    assert_eq!(script.entries()[0].name(), "threads");
    assert_eq!(script.entries()[1].label(), "record 4 (threads)");

    let e = Script::read(TraceReader::new(&file[..]).expect("trace"), Some(9))
        .expect_err("no client 9");
    assert_eq!(
        e.to_string(),
        "the trace holds no DAP messages of client 9 to replay"
    );
}

#[test]
fn bytes_and_non_messages_are_skipped_and_listed_and_bad_lines_are_errors() {
    let file = trace(|w| {
        w.invalid(A, 0, b"garbage", "bytes between frames are not a frame")
            .unwrap();
        w.message(A, 0, br#"[1,2]"#).unwrap();
        w.message(A, 0, br#"{"type":"response","success":true}"#)
            .unwrap();
        w.message(C, 0, br#"{"seq":1,"type":"request","command":"threads"}"#)
            .unwrap();
    });
    let script = Script::read(TraceReader::new(&file[..]).expect("trace"), None).expect("script");
    assert_eq!(script.entries().len(), 1);
    assert_eq!(
        script.skipped(),
        [
            "record 1: bytes that are not a message (bytes between frames are not a frame)",
            "record 2: a JSON value that is not a DAP message (no `type`)",
            "record 3: a response without `request_seq`",
        ]
    );
    // The one request, with no recorded response: matched, but nothing to send.
    let mut replay = AdapterReplay::new(script, AdapterOptions::default());
    assert!(
        replay
            .on_message(br#"{"seq":4,"type":"request","command":"threads"}"#)
            .is_empty()
    );
    assert!(replay.take_notes()[0].contains("was never answered in the recording"));

    let mut text = String::from_utf8(file).expect("UTF-8");
    text.push_str("{\"time\":\"x\",\"dir\":\"sideways\"}\n");
    let e = Script::read(TraceReader::new(text.as_bytes()).expect("trace"), None)
        .expect_err("a bad line");
    assert!(
        e.to_string().starts_with("line 6: not a trace record"),
        "{e}"
    );
}
