//! The tap: raw bytes → records, every byte kept, whatever the chunking; redaction;
//! import of two raw captures. Real traffic from `tests/fixtures/traffic` (debugpy, gdb,
//! lldb-dap) and hand-made hostile streams.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dapkit_trace::import::import;
use dapkit_trace::redact::redact;
use dapkit_trace::tap::{
    FrameSplitter, MAX_RUN, NON_CANONICAL_HEADER, Piece, StreamRebuilder, Tap,
};
use dapkit_trace::{Direction, Header, Record, TraceReader, TraceWriter};
use dapkit_types::ProtocolMessage;
use dapkit_wireformat::{FrameReader, Limits};
use std::path::PathBuf;

const SESSIONS: [&str; 4] = [
    "debugpy-launch",
    "debugpy-attach",
    "gdb-dap-c",
    "lldb-dap-c",
];

fn fixture(session: &str, file: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/traffic")
        .join(session)
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The pieces of `stream` fed in chunks of `chunk` bytes.
fn split(stream: &[u8], chunk: usize, limits: Limits) -> Vec<Piece> {
    let mut splitter = FrameSplitter::with_limits(limits);
    let mut pieces = Vec::new();
    for part in stream.chunks(chunk) {
        splitter.push(part, &mut |p| pieces.push(p));
    }
    splitter.finish(&mut |p| pieces.push(p));
    pieces
}

/// Writes `stream` through a tap as one direction, reads the trace back, rebuilds the bytes.
fn through_trace(stream: &[u8], chunk: usize, limits: Limits) -> (Vec<Record>, Vec<u8>) {
    let writer =
        TraceWriter::new(Vec::new(), &Header::new(serde_json::json!({"test": 1}))).unwrap();
    let mut tap = Tap::new(writer, false).with_limits(limits);
    for part in stream.chunks(chunk) {
        tap.seen(Direction::AdapterToClient, 0, part).unwrap();
    }
    let file = tap.finish().unwrap().into_inner();
    let mut reader = TraceReader::new(&file[..]).unwrap();
    let mut records = Vec::new();
    let mut rebuilt = Vec::new();
    let mut rebuilder = StreamRebuilder::new();
    while let Some(record) = reader.next_record().unwrap() {
        rebuilder.push(&record, &mut rebuilt);
        records.push(record);
    }
    (records, rebuilt)
}

#[test]
fn real_traffic_splits_into_its_frames_byte_exact_in_any_chunking() {
    for session in SESSIONS {
        for file in ["from-client.dap", "from-adapter.dap"] {
            let stream = fixture(session, file);
            // The frames as wireformat's sync reader sees them.
            let mut reader = FrameReader::new(&stream[..]);
            let mut expected = Vec::new();
            while let Some(frame) = reader.read_frame().unwrap() {
                expected.push(frame.to_vec());
            }
            assert!(expected.len() > 10, "{session}/{file}: frames");
            for chunk in [stream.len(), 1, 7, 4096] {
                let pieces = split(&stream, chunk, Limits::DEFAULT);
                let frames: Vec<Vec<u8>> = pieces
                    .iter()
                    .map(|p| match p {
                        Piece::Frame(b) => b.to_vec(),
                        Piece::Invalid { error, .. } => {
                            panic!("{session}/{file} chunk {chunk}: invalid piece: {error}")
                        }
                    })
                    .collect();
                assert_eq!(frames, expected, "{session}/{file} in chunks of {chunk}");
            }
            let (records, rebuilt) = through_trace(&stream, 1000, Limits::DEFAULT);
            assert_eq!(records.len(), expected.len());
            assert!(
                rebuilt == stream,
                "{session}/{file}: the trace gives back the stream"
            );
            for (record, body) in records.iter().zip(&expected) {
                assert_eq!(&*record.bytes(), &body[..]);
            }
        }
    }
}

/// Junk between frames, a body that is not JSON, a non-canonical header, a bad header, a
/// frame over the body limit, a JSON body on two lines, a truncated frame at the end.
fn hostile_stream() -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(b"Content-Length: 15\r\n\r\n{\"seq\":1,\"a\":2}");
    s.extend_from_slice(b"some log line the adapter printed on stdout\n");
    s.extend_from_slice(b"Content-Length: 5\r\n\r\nnot{}");
    s.extend_from_slice(b"content-length: 2\nContent-Type: application/json\n\n{}");
    s.extend_from_slice(b"Content-Length: -3\r\n\r\n");
    s.extend_from_slice(b"Content-Length: 40\r\n\r\n");
    s.extend_from_slice(&[b'x'; 40]);
    s.extend_from_slice(b"Content-Length: 9\r\n\r\n{\"a\":\n 1}");
    s.extend_from_slice(b"Content-Length: 2\r\n\r\n[]");
    s.extend_from_slice(b"Content-Length: 50\r\n\r\n{\"seq\":9,");
    s
}

#[test]
fn every_byte_of_a_hostile_stream_is_kept_and_explained() {
    let stream = hostile_stream();
    let limits = Limits {
        max_body_bytes: 32,
        ..Limits::DEFAULT
    };
    let whole = split(&stream, stream.len(), limits);
    for chunk in [1, 3, 17] {
        assert_eq!(split(&stream, chunk, limits), whole, "chunks of {chunk}");
    }
    let (records, rebuilt) = through_trace(&stream, 5, limits);
    assert_eq!(rebuilt, stream, "the trace gives back every byte");

    let errors: Vec<Option<&str>> = records.iter().map(|r| r.error()).collect();
    let described = |i: usize, needle: &str| {
        let e = errors[i].unwrap_or_else(|| panic!("record {i} has no error: {errors:?}"));
        assert!(e.contains(needle), "record {i}: {e:?} lacks {needle:?}");
    };
    assert_eq!(errors[0], None, "first frame is a message");
    assert_eq!(&*records[0].bytes(), br#"{"seq":1,"a":2}"#);
    described(1, "skipped"); // the log line
    assert_eq!(
        &*records[1].bytes(),
        b"some log line the adapter printed on stdout\n"
    );
    described(2, "body is not valid JSON");
    assert_eq!(&*records[2].bytes(), b"not{}");
    assert_eq!(errors[3], Some(NON_CANONICAL_HEADER));
    assert_eq!(&*records[4].bytes(), b"{}");
    described(5, "is negative");
    assert_eq!(&*records[5].bytes(), b"Content-Length: -3\r\n");
    described(6, "skipped"); // the rest of that bad header block
    assert_eq!(&*records[6].bytes(), b"\r\n");
    described(7, "exceeds the limit");
    assert_eq!(records[7].bytes().len(), 22 + 40);
    assert_eq!(
        errors[8], None,
        "valid JSON on two lines is kept as bytes without error"
    );
    assert_eq!(records[8].json().as_deref(), Some("{\"a\":\n 1}"));
    assert_eq!(&*records[9].bytes(), b"[]");
    described(10, "stream ended");
    assert_eq!(
        &*records[10].bytes(),
        b"Content-Length: 50\r\n\r\n{\"seq\":9,"
    );
    assert_eq!(records.len(), 11);
}

#[test]
fn a_long_run_of_junk_is_recorded_in_bounded_parts() {
    let mut stream = vec![b'#'; 3 * MAX_RUN + 123];
    stream.extend_from_slice(b"Content-Length: 2\r\n\r\n{}");
    let mut splitter = FrameSplitter::new();
    let mut pieces = Vec::new();
    let mut most = 0;
    for part in stream.chunks(64 * 1024) {
        splitter.push(part, &mut |p| pieces.push(p));
        most = most.max(splitter.buffered());
    }
    splitter.finish(&mut |p| pieces.push(p));
    assert!(most <= MAX_RUN + 64 * 1024, "held {most} bytes");
    assert!(pieces.len() >= 4, "junk in parts: {}", pieces.len());
    let mut junk = 0;
    for piece in &pieces[..pieces.len() - 1] {
        let Piece::Invalid { bytes, .. } = piece else {
            panic!("junk expected")
        };
        assert!(bytes.len() <= MAX_RUN + 64 * 1024);
        junk += bytes.len();
    }
    assert_eq!(junk, 3 * MAX_RUN + 123);
    assert_eq!(
        pieces.last(),
        Some(&Piece::Frame(bytes::Bytes::from_static(b"{}")))
    );
}

#[test]
fn redaction_replaces_env_values_and_keeps_every_other_byte() {
    let launch = br#"{"seq":2, "type":"request","command":"launch","arguments":{"program":"app.py","env":{"TOKEN":"s3cret","PATH":"/bin"},"cwd":"/tmp"}}"#;
    let out = redact(launch).expect("redacted");
    assert_eq!(
        std::str::from_utf8(&out).unwrap(),
        r#"{"seq":2, "type":"request","command":"launch","arguments":{"program":"app.py","env":{"TOKEN":"<redacted>","PATH":"<redacted>"},"cwd":"/tmp"}}"#
    );

    let rit = br#"{"seq":7,"type":"request","command":"runInTerminal","arguments":{"kind":"integrated","cwd":"/w","args":["python","app.py"],"env":{"API_KEY":"abc","N":null}}}"#;
    let out = String::from_utf8(redact(rit).expect("redacted")).unwrap();
    assert!(
        !out.contains("abc") && out.contains(r#""env":{"API_KEY":"<redacted>","N":"<redacted>"}"#),
        "{out}"
    );
    assert!(ProtocolMessage::from_slice(out.as_bytes()).is_ok());

    let attach = br#"{"seq":3,"type":"request","command":"attach","arguments":{"env":{"A":"1"},"env":{"B":"2"}}}"#;
    let out = String::from_utf8(redact(attach).expect("redacted")).unwrap();
    assert!(
        !out.contains("\"1\"") && !out.contains("\"2\""),
        "both duplicate env objects: {out}"
    );

    let escaped =
        br#"{"seq":3,"type":"request","command":"attach","arguments":{"\u0065nv":{"A":"hidden"}}}"#;
    let out = String::from_utf8(redact(escaped).expect("redacted")).unwrap();
    assert!(!out.contains("hidden"), "{out}");

    let not_object =
        br#"{"seq":3,"type":"request","command":"launch","arguments":{"env":["A=1"]}}"#;
    let out = String::from_utf8(redact(not_object).expect("redacted")).unwrap();
    assert!(out.contains(r#""env":"<redacted>""#), "{out}");

    let start = br#"{"seq":9,"type":"request","command":"startDebugging","arguments":{"request":"launch","configuration":{"env":{"K":"v"}}}}"#;
    let out = String::from_utf8(redact(start).expect("redacted")).unwrap();
    assert!(out.contains(r#""env":{"K":"<redacted>"}"#), "{out}");

    // Not launch/attach/runInTerminal, or no env: untouched.
    assert_eq!(
        redact(br#"{"seq":1,"type":"event","event":"output","body":{"env":{"A":"1"}}}"#),
        None
    );
    assert_eq!(
        redact(br#"{"seq":1,"type":"request","command":"evaluate","arguments":{"env":{"A":"1"}}}"#),
        None
    );
    assert_eq!(
        redact(br#"{"seq":1,"type":"request","command":"launch","arguments":{"program":"x"}}"#),
        None
    );
    assert_eq!(redact(b"not json env"), None);
}

#[test]
fn a_redacting_tap_changes_the_trace_only_where_env_is() {
    let launch =
        br#"{"seq":1,"type":"request","command":"launch","arguments":{"env":{"TOKEN":"s3cret"}}}"#;
    let other = br#"{"seq":2,"type":"request","command":"threads"}"#;
    let mut stream = Vec::new();
    for body in [&launch[..], &other[..]] {
        stream.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        stream.extend_from_slice(body);
    }
    let header = Header::new(serde_json::json!({"test": 1})).with_redacted(true);
    let mut tap = Tap::new(TraceWriter::new(Vec::new(), &header).unwrap(), true);
    tap.seen(Direction::ClientToAdapter, 0, &stream).unwrap();
    let file = tap.finish().unwrap().into_inner();
    let text = String::from_utf8(file.clone()).unwrap();
    assert!(!text.contains("s3cret"), "{text}");
    let mut reader = TraceReader::new(&file[..]).unwrap();
    assert!(reader.header().redacted);
    let first = reader.next_record().unwrap().unwrap();
    assert_eq!(
        &*first.bytes(),
        br#"{"seq":1,"type":"request","command":"launch","arguments":{"env":{"TOKEN":"<redacted>"}}}"#
    );
    let second = reader.next_record().unwrap().unwrap();
    assert_eq!(&*second.bytes(), &other[..]);
}

/// Imports two streams; returns the records and each direction rebuilt.
fn imported(
    client: &[u8],
    adapter: &[u8],
) -> (
    Vec<Record>,
    Vec<u8>,
    Vec<u8>,
    dapkit_trace::import::ImportReport,
) {
    let mut writer =
        TraceWriter::new(Vec::new(), &Header::new(serde_json::json!({"import": {}}))).unwrap();
    let report = import(client, adapter, &mut writer).unwrap();
    let file = writer.into_inner();
    let mut reader = TraceReader::new(&file[..]).unwrap();
    let (mut records, mut c, mut a) = (Vec::new(), Vec::new(), Vec::new());
    let (mut rc, mut ra) = (StreamRebuilder::new(), StreamRebuilder::new());
    while let Some(r) = reader.next_record().unwrap() {
        match r.direction {
            Direction::ClientToAdapter => rc.push(&r, &mut c),
            Direction::AdapterToClient => ra.push(&r, &mut a),
        }
        records.push(r);
    }
    (records, c, a, report)
}

#[test]
fn import_of_real_captures_keeps_every_byte_and_pairs_requests_before_responses() {
    for session in SESSIONS {
        let client = fixture(session, "from-client.dap");
        let adapter = fixture(session, "from-adapter.dap");
        let (records, c, a, report) = imported(&client, &adapter);
        assert!(c == client, "{session}: client stream kept in order");
        assert!(a == adapter, "{session}: adapter stream kept in order");
        assert_eq!(report.invalid_records, 0, "{session}");
        assert_eq!(report.unpaired_responses, 0, "{session}");
        assert_eq!(report.conflicts, 0, "{session}");
        // Every response after its request, every request answered after it was sent.
        let mut sent: Vec<(Direction, i64)> = Vec::new();
        for (i, r) in records.iter().enumerate() {
            match ProtocolMessage::from_slice(&r.bytes()).unwrap() {
                ProtocolMessage::Request(q) => sent.push((r.direction, q.seq().unwrap())),
                ProtocolMessage::Response(p) => {
                    let key = (r.direction.reverse(), p.request_seq().unwrap());
                    let at = sent.iter().position(|k| *k == key).unwrap_or_else(|| {
                        panic!("{session}: record {i} answers {key:?}, not sent before")
                    });
                    sent.remove(at);
                }
                _ => {}
            }
        }
        // The client speaks first.
        assert_eq!(
            records[0].direction,
            Direction::ClientToAdapter,
            "{session}"
        );
    }
}

#[test]
fn import_of_bad_input_gives_invalid_records_never_a_panic() {
    // Random bytes (xorshift, fixed seed), on both sides.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let random: Vec<u8> = (0..20_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let (records, c, a, report) = imported(&random, &random[..5000]);
    assert_eq!(c, random);
    assert_eq!(a, &random[..5000]);
    assert!(report.invalid_records > 0);
    assert!(
        records.iter().all(|r| r.error().is_some()),
        "random bytes are not messages"
    );

    // A capture cut in the middle of a frame: all before it imported, the rest invalid.
    let client = fixture("gdb-dap-c", "from-client.dap");
    let adapter = fixture("gdb-dap-c", "from-adapter.dap");
    let cut = &adapter[..adapter.len() - 37];
    let (records, c, a, report) = imported(&client, cut);
    assert_eq!(c, client);
    assert_eq!(a, cut);
    assert_eq!(report.invalid_records, 1);
    let last_adapter = records
        .iter()
        .rev()
        .find(|r| r.direction == Direction::AdapterToClient)
        .unwrap();
    assert!(
        last_adapter.error().unwrap().contains("stream ended"),
        "{:?}",
        last_adapter.error()
    );

    // Nothing at all: an empty trace.
    let (records, _, _, report) = imported(b"", b"");
    assert!(records.is_empty());
    assert_eq!(report.client_records + report.adapter_records, 0);
}
