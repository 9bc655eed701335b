//! The trace format: what goes in comes out byte-exact; bad input gets a clear error.

use dapkit_trace::{Direction, Header, Payload, ReadErrorKind, TraceReader, TraceWriter};
use std::io::Write;

fn header() -> Header {
    Header::new(serde_json::json!({"command": ["python", "-m", "debugpy.adapter"]}))
}

fn read_all(bytes: &[u8]) -> Vec<Vec<u8>> {
    let reader = TraceReader::new(bytes).expect("header");
    reader
        .map(|r| r.expect("record").bytes().into_owned())
        .collect()
}

#[test]
fn bodies_come_back_byte_exact() {
    let bodies: Vec<&[u8]> = vec![
        br#"{"seq":1,"type":"request","command":"initialize","arguments":{"adapterID":"x"}}"#,
        br#"{ "seq" : 2,"type":"event","event":"output","body":{"output":"a\u00e9\n\"b\""} }"#,
        b"{\n  \"seq\": 3,\n  \"type\": \"event\"\n}",
        b"  {\"seq\":4}  ",
        b"not json at all",
        b"\xff\xfe{}",
        b"{\"seq\":5,\"x\":\"\xc3\xa9\"}",
        b"",
        b"[1,2,3]",
    ];
    let mut file = Vec::new();
    let mut writer = TraceWriter::new(&mut file, &header()).expect("writer");
    for (i, body) in bodies.iter().enumerate() {
        let dir = if i % 2 == 0 {
            Direction::ClientToAdapter
        } else {
            Direction::AdapterToClient
        };
        writer.message(dir, i as u32, body).expect("write");
    }
    drop(writer);
    let text = String::from_utf8(file.clone()).expect("a trace is UTF-8");
    assert_eq!(
        text.lines().count(),
        bodies.len() + 1,
        "one line per record:\n{text}"
    );
    // One-line JSON is embedded as is, not as base64.
    assert!(text.contains(r#""msg":{ "seq" : 2,"type":"event","event":"output","body":{"output":"a\u00e9\n\"b\""} }"#), "{text}");
    let back = read_all(&file);
    assert_eq!(back, bodies.iter().map(|b| b.to_vec()).collect::<Vec<_>>());

    let mut reader = TraceReader::new(&file[..]).expect("header");
    assert_eq!(reader.header(), &header_like(reader.header()));
    let records: Vec<_> = reader.by_ref().map(|r| r.expect("record")).collect();
    assert!(matches!(records[0].payload, Payload::Message(_)));
    assert!(
        matches!(records[2].payload, Payload::Bytes { error: None, .. }),
        "multi-line JSON kept as bytes"
    );
    assert!(records[2].json().is_some());
    assert!(
        records[4]
            .error()
            .expect("an error")
            .contains("not valid JSON")
    );
    assert!(records[5].error().is_some());
    assert_eq!(records[1].direction, Direction::AdapterToClient);
    assert_eq!(records[3].client, 3);
    assert!(records.windows(2).all(|w| w[0].offset_us <= w[1].offset_us));
}

fn header_like(h: &Header) -> Header {
    let mut expected = header();
    expected.created = h.created.clone();
    expected
}

#[test]
fn gzip_by_extension_and_by_magic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.jsonl.gz");
    let mut writer = TraceWriter::create(&path, &header()).expect("create");
    writer
        .message(Direction::ClientToAdapter, 0, br#"{"seq":1}"#)
        .expect("write");
    writer
        .invalid(
            Direction::AdapterToClient,
            0,
            b"junk",
            "bytes between frames",
        )
        .expect("write");
    writer.finish().expect("finish");
    let raw = std::fs::read(&path).expect("read");
    assert_eq!(&raw[..2], &[0x1f, 0x8b], "gzip on disk");
    let reader = TraceReader::open(&path).expect("open");
    let got: Vec<_> = reader
        .map(|r| r.expect("record").bytes().into_owned())
        .collect();
    assert_eq!(got, vec![br#"{"seq":1}"#.to_vec(), b"junk".to_vec()]);
}

#[test]
fn a_killed_gzip_writer_keeps_what_was_flushed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.jsonl.gz");
    let mut writer = TraceWriter::create(&path, &header()).expect("create");
    writer
        .message(Direction::ClientToAdapter, 0, br#"{"seq":1}"#)
        .expect("write");
    writer
        .message(Direction::AdapterToClient, 0, br#"{"seq":2}"#)
        .expect("write");
    std::mem::forget(writer); // no gzip trailer, as when the process is killed
    let mut reader = TraceReader::open(&path).expect("open");
    assert_eq!(
        &*reader.next_record().expect("first").expect("some").bytes(),
        br#"{"seq":1}"#
    );
    assert_eq!(
        &*reader.next_record().expect("second").expect("some").bytes(),
        br#"{"seq":2}"#
    );
    let end = reader.next_record();
    assert!(
        matches!(&end, Err(e) if e.kind() == ReadErrorKind::Io),
        "the missing trailer is reported: {end:?}"
    );
}

#[test]
fn plain_file_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("t.jsonl");
    let mut writer = TraceWriter::create(&path, &header().with_redacted(true)).expect("create");
    writer
        .message(Direction::ClientToAdapter, 0, br#"{"seq":1}"#)
        .expect("write");
    writer.finish().expect("finish");
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.starts_with(r#"{"dapkitTrace":1,"#), "{text}");
    assert!(
        text.lines()
            .next()
            .expect("header")
            .contains(r#""redacted":true"#)
    );
    let reader = TraceReader::open(&path).expect("open");
    assert!(reader.header().redacted);
}

fn trace_with(lines: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = TraceWriter::new(&mut out, &header()).expect("writer");
    writer
        .message(Direction::ClientToAdapter, 0, br#"{"seq":1}"#)
        .expect("write");
    drop(writer);
    for line in lines {
        out.write_all(line).expect("write");
    }
    out
}

fn errors(bytes: &[u8], max_line: usize) -> Vec<(u64, ReadErrorKind, String)> {
    let mut reader = TraceReader::with_max_line(bytes, max_line).expect("header");
    let mut found = Vec::new();
    for _ in 0..100 {
        match reader.next_record() {
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                let recoverable = e.is_recoverable();
                found.push((e.line(), e.kind(), e.to_string()));
                if !recoverable {
                    break;
                }
            }
        }
    }
    found
}

#[test]
fn bad_lines_name_their_line_and_reading_goes_on() {
    let ok = br#"{"time":"2026-01-01T00:00:00.000000Z","offsetUs":5,"dir":"a2c","client":0,"msg":{"seq":2}}"#;
    let mut lines: Vec<&[u8]> = vec![
        b"\xff\xfe not utf8\n",
        b"{\"time\":1}\n",
        b"\n",
        &ok[..],
        b"\n",
    ];
    let long = [b'x'; 300];
    lines.push(&long);
    lines.push(b"\n");
    lines.push(b"{\"time\":\"t\",\"offsetUs\":1,\"dir\":\"sideways\",\"msg\":{}}\n");
    lines.push(b"{\"time\":\"t\",\"offsetUs\":1,\"dir\":\"c2a\",\"bytes\":\"!!!\"}\n");
    let found = errors(&trace_with(&lines), 200);
    let kinds: Vec<_> = found.iter().map(|(l, k, _)| (*l, *k)).collect();
    assert_eq!(
        kinds,
        vec![
            (3, ReadErrorKind::NotUtf8),
            (4, ReadErrorKind::BadRecord),
            (7, ReadErrorKind::LineTooLong),
            (8, ReadErrorKind::BadRecord),
            (9, ReadErrorKind::BadRecord),
        ],
        "{found:#?}"
    );
    assert!(
        found[0].2.starts_with("line 3: not UTF-8"),
        "{}",
        found[0].2
    );
    assert!(found[2].2.contains("limit of 200 bytes"), "{}", found[2].2);
    assert!(found[3].2.contains("sideways"), "{}", found[3].2);
    assert!(found[4].2.contains("base64"), "{}", found[4].2);
}

#[test]
fn a_truncated_last_record_is_reported_as_such() {
    let found = errors(
        &trace_with(&[br#"{"time":"2026-01-01T00:00:00.000000Z","offsetUs":5,"dir":"a2c","ms"#]),
        1 << 20,
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].0, found[0].1), (3, ReadErrorKind::Truncated));
    assert!(
        found[0].2.contains("ends inside a record"),
        "{}",
        found[0].2
    );
}

#[test]
fn a_huge_line_is_skipped_without_being_held() {
    // 100 MB on one line, streamed: the reader keeps at most its limit.
    struct Huge {
        left: usize,
    }
    impl std::io::Read for Huge {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.left);
            buf[..n].fill(b'a');
            self.left -= n;
            Ok(n)
        }
    }
    let head = trace_with(&[]);
    let tail: &[u8] = b"\n{\"time\":\"t\",\"offsetUs\":9,\"dir\":\"c2a\",\"msg\":{\"seq\":9}}\n";
    let input = std::io::BufReader::new(std::io::Read::chain(
        std::io::Read::chain(&head[..], Huge { left: 100 << 20 }),
        tail,
    ));
    let mut reader = TraceReader::with_max_line(input, 1 << 20).expect("header");
    assert!(reader.next_record().expect("first").is_some());
    let err = reader.next_record().expect_err("too long");
    assert_eq!((err.line(), err.kind()), (3, ReadErrorKind::LineTooLong));
    let next = reader.next_record().expect("goes on").expect("a record");
    assert_eq!(&*next.bytes(), br#"{"seq":9}"#);
}

#[test]
fn headers_that_are_not_a_trace() {
    let cases: Vec<(&[u8], ReadErrorKind, &str)> = vec![
        (b"", ReadErrorKind::Empty, "empty"),
        (
            b"Content-Length: 12\r\n\r\n{}",
            ReadErrorKind::NotATrace,
            "not JSON",
        ),
        (b"{\"seq\":1}\n", ReadErrorKind::NotATrace, "dapkitTrace"),
        (
            b"{\"dapkitTrace\":2,\"created\":\"x\",\"tool\":\"y\"}\n",
            ReadErrorKind::UnsupportedVersion,
            "version 2",
        ),
        (
            b"\x00\x01\x02\xff\xfe",
            ReadErrorKind::NotATrace,
            "not UTF-8",
        ),
        (
            b"{\"dapkitTrace\":1,\"created\":",
            ReadErrorKind::Truncated,
            "not JSON",
        ),
    ];
    for (input, kind, text) in cases {
        let err = TraceReader::new(input).expect_err("not a trace");
        assert_eq!(err.kind(), kind, "{err}");
        assert_eq!(err.line(), 1);
        assert!(
            err.to_string().contains(text),
            "{err} should mention {text}"
        );
    }
}

#[test]
fn random_bytes_never_panic() {
    // A small deterministic generator: no dependency, same bytes each run.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let base = trace_with(&[
        br#"{"time":"t","offsetUs":1,"dir":"c2a","msg":{"a":[1,{"b":null}]}}"#,
        b"\n",
    ]);
    for _ in 0..2000 {
        let mut bytes = base.clone();
        for _ in 0..(next() % 8) {
            let i = (next() as usize) % bytes.len();
            bytes[i] = next() as u8;
        }
        if let Ok(reader) = TraceReader::with_max_line(&bytes[..], 4096) {
            for record in reader.take(10) {
                let _ = record.map(|r| r.bytes().len());
            }
        }
    }
}
