//! The trace format: what goes in comes out byte-exact; bad input gets a clear error.
#![allow(clippy::expect_used, clippy::unwrap_used)]

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

/// The timeline decodes a message record straight from its line (no JSON parse of the
/// message before it is decoded). Whatever the line, it must come out as the full parse of
/// `next_record` reads it: the same records, the same errors on the same lines.
#[test]
fn the_timeline_reads_every_line_as_the_full_parse_does() {
    use dapkit_trace::summary::{Entry, Timeline};
    let lines: Vec<&[u8]> = vec![
        // As the writer spells it (the quick way).
        b"{\"time\":\"2026-01-01T00:00:00.000000Z\",\"offsetUs\":5,\"dir\":\"a2c\",\"client\":3,\"msg\":{\"seq\":2,\"type\":\"event\",\"event\":\"initialized\"}}\n",
        // A message followed by other members: not one JSON value where `msg` starts.
        b"{\"time\":\"t\",\"offsetUs\":6,\"dir\":\"c2a\",\"client\":0,\"msg\":{\"seq\":3},\"bytes\":\"AA==\"}\n",
        // Invalid JSON as the message.
        b"{\"time\":\"t\",\"offsetUs\":7,\"dir\":\"c2a\",\"client\":0,\"msg\":{\"seq\":4,}}\n",
        // JSON that is not a message.
        b"{\"time\":\"t\",\"offsetUs\":8,\"dir\":\"c2a\",\"client\":0,\"msg\":[1,2]}\n",
        // Another order of members, white space, escapes in the time: the full parse.
        b"{ \"dir\":\"c2a\", \"msg\": {\"seq\":5,\"type\":\"request\",\"command\":\"threads\"} , \"offsetUs\":9,\"time\":\"t\\u0041\"}\n",
        // A number that is not the writer's spelling.
        b"{\"time\":\"t\",\"offsetUs\":010,\"dir\":\"c2a\",\"client\":0,\"msg\":{\"seq\":6}}\n",
        // A client beyond u32.
        b"{\"time\":\"t\",\"offsetUs\":11,\"dir\":\"c2a\",\"client\":4294967296,\"msg\":{\"seq\":7}}\n",
        // A message object with a duplicated member after it.
        b"{\"time\":\"t\",\"offsetUs\":12,\"dir\":\"a2c\",\"client\":0,\"msg\":{\"seq\":8},\"msg\":{\"seq\":9}}\n",
        // An offset beyond u64, in the writer's spelling otherwise.
        b"{\"time\":\"t\",\"offsetUs\":18446744073709551616,\"dir\":\"a2c\",\"client\":0,\"msg\":{\"seq\":11}}\n",
        // Bytes that are not a message, then a message read where they were (a lent
        // entry's record goes from bytes to a message).
        b"{\"time\":\"t\",\"offsetUs\":14,\"dir\":\"a2c\",\"client\":0,\"bytes\":\"/w==\",\"error\":\"not JSON\"}\n",
        b"{\"time\":\"2026-01-01T00:00:00.000015Z\",\"offsetUs\":15,\"dir\":\"c2a\",\"client\":1,\"msg\":{\"seq\":12,\"type\":\"request\",\"command\":\"threads\"}}\n",
        // A backslash in the time (the full parse reads the escape).
        b"{\"time\":\"t\\\\\",\"offsetUs\":16,\"dir\":\"c2a\",\"client\":0,\"msg\":{\"seq\":13}}\n",
        // Last, cut short.
        b"{\"time\":\"t\",\"offsetUs\":13,\"dir\":\"a2c\",\"client\":0,\"msg\":{\"seq\":10}",
    ];
    let bytes = trace_with(&lines);

    let outcome = |r: Result<Option<(u64, String, String)>, dapkit_trace::ReadError>| match r {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err("end".to_owned()),
        Err(e) => Err(format!("{:?} {e}", e.kind())),
    };
    let describe = |e: &Entry| {
        let r = &e.record;
        let message = match &e.message {
            Ok(m) => format!("{:?} seq {:?}", e.facts.kind, m.seq()),
            Err(why) => format!("invalid: {why}"),
        };
        (
            e.line,
            format!(
                "{} {} {} {} {}",
                r.time,
                r.offset_us,
                r.direction,
                r.client,
                r.json().unwrap_or_default()
            ),
            message,
        )
    };

    let mut full = Vec::new();
    let mut reader = TraceReader::new(&bytes[..]).expect("header");
    for number in 1..100 {
        let read = reader.next_record();
        let line = reader.line_number();
        let done = matches!(read, Ok(None)) || matches!(&read, Err(e) if !e.is_recoverable());
        full.push(outcome(
            read.map(|r| r.map(|r| describe(&Entry::new(number, line, r)))),
        ));
        if done {
            break;
        }
    }
    let mut quick = Vec::new();
    let mut timeline = Timeline::new(TraceReader::new(&bytes[..]).expect("header"));
    for _ in 1..100 {
        let read = timeline.next_entry();
        let done = matches!(read, Ok(None)) || matches!(&read, Err(e) if !e.is_recoverable());
        quick.push(outcome(read.map(|r| r.map(|e| describe(&e)))));
        if done {
            break;
        }
    }
    assert_eq!(quick, full);
    // The lent entries (`next_ref`, one entry's memory reused) read the same.
    let mut lent = Vec::new();
    let mut timeline = Timeline::new(TraceReader::new(&bytes[..]).expect("header"));
    for _ in 1..100 {
        let read = timeline.next_ref();
        let done = matches!(read, Ok(None)) || matches!(&read, Err(e) if !e.is_recoverable());
        lent.push(outcome(read.map(|r| r.map(describe))));
        if done {
            break;
        }
    }
    assert_eq!(lent, full);
    // And what they read is right: the records that are there, the errors named.
    let summary: Vec<String> = full
        .iter()
        .map(|o| match o {
            Ok((line, record, message)) => format!("{line}: {record} => {message}"),
            Err(e) => e.clone(),
        })
        .collect();
    assert!(summary[0].starts_with("2: "), "{}", summary[0]);
    assert!(
        summary[0].ends_with(" c2a 0 {\"seq\":1} => Other seq Some(1)"),
        "{}",
        summary[0]
    );
    assert_eq!(
        summary[1],
        "3: 2026-01-01T00:00:00.000000Z 5 a2c 3 {\"seq\":2,\"type\":\"event\",\"event\":\"initialized\"} => Event seq Some(2)"
    );
    assert!(
        summary[2].starts_with("BadRecord line 4: a record has both `msg` and `bytes`"),
        "{}",
        summary[2]
    );
    assert!(
        summary[3].starts_with("BadRecord line 5: not a trace record"),
        "{}",
        summary[3]
    );
    assert!(
        summary[4].starts_with("6: t 8 c2a 0 [1,2] => invalid: "),
        "{}",
        summary[4]
    );
    assert_eq!(
        summary[5],
        "7: tA 9 c2a 0 {\"seq\":5,\"type\":\"request\",\"command\":\"threads\"} => Request seq Some(5)"
    );
    assert!(
        summary[6].starts_with("BadRecord line 8: not a trace record"),
        "{}",
        summary[6]
    );
    assert!(
        summary[7].starts_with("BadRecord line 9: not a trace record"),
        "{}",
        summary[7]
    );
    assert!(
        summary[8].starts_with("BadRecord line 10: not a trace record"),
        "{}",
        summary[8]
    );
    assert!(
        summary[9].starts_with("BadRecord line 11: not a trace record"),
        "{}",
        summary[9]
    );
    assert_eq!(
        summary[10],
        "12: t 14 a2c 0  => invalid: 1 bytes that are not a message: not JSON"
    );
    assert_eq!(
        summary[11],
        "13: 2026-01-01T00:00:00.000015Z 15 c2a 1 {\"seq\":12,\"type\":\"request\",\"command\":\"threads\"} => Request seq Some(12)"
    );
    assert_eq!(
        summary[12],
        "14: t\\ 16 c2a 0 {\"seq\":13} => Other seq Some(13)"
    );
    assert!(
        summary[13].starts_with("Truncated line 15: the trace ends inside a record"),
        "{}",
        summary[13]
    );
    assert_eq!(summary.len(), 14, "{summary:#?}");
}

#[test]
fn raw_json_takes_one_line_of_json_exactly() {
    use dapkit_trace::RawJson;
    assert_eq!(
        RawJson::new(r#"{"seq":1}"#).expect("JSON").get(),
        r#"{"seq":1}"#
    );
    for bad in [r#"{"seq":1"#, " {}", "{}\n", "{\n}", "{}\r", "", "{} {}"] {
        let err = RawJson::new(bad).expect_err(bad);
        assert!(!err.to_string().is_empty(), "{bad:?}");
    }
    assert!(
        RawJson::new("{\n}")
            .expect_err("two lines")
            .to_string()
            .contains("several lines")
    );
}
