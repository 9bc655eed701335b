//! The reading rules of the wire format, one by one, with the exact result each gives.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Chunked, Event, events, frame, read_all};
use dapkit_wireformat::{ErrorKind, FrameReader, Limits, PREFIX_LEN};
use serde_json::Value;
use std::io::BufReader;

fn strict(data: &[u8]) -> Vec<Event> {
    events(data, vec![usize::MAX], Limits::DEFAULT, false)
}

fn resync(data: &[u8]) -> Vec<Event> {
    events(data, vec![usize::MAX], Limits::DEFAULT, true)
}

fn f(body: &[u8]) -> Event {
    Event::Frame(body.to_vec())
}

fn kinds(events: &[Event]) -> Vec<Option<ErrorKind>> {
    events
        .iter()
        .map(|e| match e {
            Event::Frame(_) => None,
            Event::Error(k, _, _) => Some(*k),
        })
        .collect()
}

#[test]
fn several_messages_in_one_read() {
    let mut data = frame(b"{\"seq\":1}");
    data.extend(frame(b"{\"seq\":2}"));
    data.extend(frame(b""));
    data.extend(frame(b"{\"seq\":3}"));
    assert_eq!(
        strict(&data),
        vec![
            f(b"{\"seq\":1}"),
            f(b"{\"seq\":2}"),
            f(b""),
            f(b"{\"seq\":3}")
        ]
    );
}

#[test]
fn one_byte_per_read() {
    let mut data = frame("{\"text\":\"h\u{e9}llo \u{1f980}\"}".as_bytes());
    data.extend(frame(b"{}"));
    let mut reader = FrameReader::new(BufReader::with_capacity(1, &data[..]));
    let got = read_all(&mut reader, 10);
    assert_eq!(
        got,
        vec![
            f("{\"text\":\"h\u{e9}llo \u{1f980}\"}".as_bytes()),
            f(b"{}")
        ]
    );
}

#[test]
fn content_length_counts_bytes_not_characters() {
    let body = "{\"output\":\"\u{4f60}\u{597d} \u{1f600} caf\u{e9}\"}";
    assert_ne!(body.len(), body.chars().count());
    let mut data = frame(body.as_bytes());
    data.extend(frame(b"{\"seq\":2}"));
    let mut reader = FrameReader::new(&data[..]);
    let v: Value = reader.read_message().unwrap().unwrap();
    assert_eq!(v["output"], "\u{4f60}\u{597d} \u{1f600} caf\u{e9}");
    let v: Value = reader.read_message().unwrap().unwrap();
    assert_eq!(v["seq"], 2);
}

#[test]
fn header_name_any_case_other_headers_ignored() {
    for header in [
        "content-length: 2\r\n\r\n",
        "CONTENT-LENGTH: 2\r\n\r\n",
        "Content-Length:2\r\n\r\n",
        "Content-Length: \t2 \t\r\n\r\n",
        "Content-Length: 0002\r\n\r\n",
        "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\nContent-Length: 2\r\n\r\n",
        "Content-Length: 2\r\nContent-Type: application/json\r\nX-Other: 1:2:3\r\n\r\n",
        "Content-Length: 2\r\nContent-Length: 2\r\n\r\n",
        "Content-Length: 2\n\n",
        "Content-Length: 2\r\n\n",
        "Content-Length: 2\nX-A: b\r\n\r\n",
    ] {
        let mut data = header.as_bytes().to_vec();
        data.extend_from_slice(b"{}");
        assert_eq!(strict(&data), vec![f(b"{}")], "header {header:?}");
    }
}

#[test]
fn clean_eof_is_none_every_time() {
    let mut reader = FrameReader::new(&b""[..]);
    assert!(reader.read_frame().unwrap().is_none());
    assert!(reader.read_frame().unwrap().is_none());
    let data = frame(b"{}");
    let mut reader = FrameReader::new(&data[..]);
    assert_eq!(reader.read_frame().unwrap().as_deref(), Some(&b"{}"[..]));
    assert!(reader.read_frame().unwrap().is_none());
}

#[test]
fn bad_length_values_are_recoverable_errors_naming_the_value() {
    for (value, why) in [
        ("-5", "is negative"),
        ("abc", "is not a decimal number"),
        ("+5", "is not a decimal number"),
        ("5 6", "is not a decimal number"),
        ("0x10", "is not a decimal number"),
        ("", "is empty"),
        ("99999999999999999999999", "does not fit in 64 bits"),
    ] {
        let header = format!("Content-Length: {value}\r\n");
        let data = format!("{header}\r\n");
        let mut reader = FrameReader::new(data.as_bytes());
        let err = reader.read_frame().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidContentLength, "{value:?}");
        assert!(err.is_recoverable());
        assert_eq!(err.prefix(), header.as_bytes(), "{value:?}");
        let text = err.to_string();
        assert!(text.contains(why), "{value:?}: {text}");
        assert!(text.contains(&format!("\"{value}\"")), "{text}");
    }
}

#[test]
fn conflicting_lengths() {
    let data = b"Content-Length: 5\r\ncontent-length: 6\r\n\r\nhello";
    let mut reader = FrameReader::new(&data[..]);
    let err = reader.read_frame().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConflictingContentLength);
    assert!(err.to_string().contains("5 and then 6"), "{err}");
    assert_eq!(err.prefix(), b"Content-Length: 5\r\ncontent-length: 6\r\n");
}

#[test]
fn missing_length() {
    let mut data = b"Content-Type: application/json\r\n\r\n".to_vec();
    data.extend(frame(b"{}"));
    let got = strict(&data);
    assert_eq!(
        got,
        vec![
            Event::Error(
                ErrorKind::MissingContentLength,
                b"Content-Type: application/json\r\n\r\n".to_vec(),
                None
            ),
            f(b"{}")
        ]
    );
}

#[test]
fn junk_lines_strict_one_error_per_line_then_the_frame() {
    let mut data = b"Starting debugger...\r\n{oops}\n".to_vec();
    data.extend(frame(b"{}"));
    assert_eq!(
        strict(&data),
        vec![
            Event::Error(
                ErrorKind::InvalidHeader,
                b"Starting debugger...\r\n".to_vec(),
                None
            ),
            Event::Error(ErrorKind::InvalidHeader, b"{oops}\n".to_vec(), None),
            f(b"{}"),
        ]
    );
}

#[test]
fn junk_resync_one_report_then_the_frame() {
    let mut data = b"Starting debugger...\r\n{oops}\n".to_vec();
    data.extend(frame(b"{}"));
    let junk = b"Starting debugger...\r\n{oops}\n".to_vec();
    assert_eq!(
        resync(&data),
        vec![
            Event::Error(ErrorKind::Skipped, junk.clone(), Some(junk.len() as u64)),
            f(b"{}")
        ]
    );
}

#[test]
fn resync_finds_a_header_glued_to_junk() {
    // A body shorter than its header claimed: the next header follows without a newline.
    let mut data = b"Content-Length: abc\r\n\r\n{\"seq\":1}".to_vec();
    data.extend(frame(b"{\"seq\":2}"));
    let got = resync(&data);
    assert_eq!(
        kinds(&got),
        vec![
            Some(ErrorKind::InvalidContentLength),
            Some(ErrorKind::Skipped),
            None
        ]
    );
    assert_eq!(
        got[1],
        Event::Error(ErrorKind::Skipped, b"\r\n{\"seq\":1}".to_vec(), Some(11))
    );
    assert_eq!(got[2], f(b"{\"seq\":2}"));
}

#[test]
fn resync_junk_at_end_is_reported_then_eof() {
    let mut data = frame(b"{}");
    data.extend_from_slice(b"trailing noise\n");
    assert_eq!(
        resync(&data),
        vec![
            f(b"{}"),
            Event::Error(ErrorKind::Skipped, b"trailing noise\n".to_vec(), Some(15))
        ]
    );
}

#[test]
fn resync_skipped_prefix_is_bounded() {
    let mut data = vec![b'#'; 100_000];
    data.extend(frame(b"{}"));
    let got = resync(&data);
    match &got[0] {
        Event::Error(ErrorKind::Skipped, prefix, Some(100_000)) => {
            assert_eq!(prefix.len(), PREFIX_LEN);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(got[1], f(b"{}"));
}

#[test]
fn header_too_large_then_recovers() {
    let limits = Limits {
        max_header_bytes: 64,
        ..Limits::DEFAULT
    };
    let mut data = format!(
        "X-Pad: {}\r\nContent-Length: 2\r\n\r\n{{}}",
        "a".repeat(100)
    )
    .into_bytes();
    data.extend(frame(b"[]"));
    let got = events(&data, vec![7], limits, false);
    assert_eq!(
        kinds(&got),
        vec![Some(ErrorKind::HeaderTooLarge), None, None]
    );
    if let Event::Error(_, prefix, _) = &got[0] {
        assert!(prefix.starts_with(b"X-Pad: aaa"), "{prefix:?}");
        assert!(prefix.ends_with(b"a\r\n"));
    }
    assert_eq!(&got[1..], &[f(b"{}"), f(b"[]")]);
}

#[test]
fn header_without_newline_is_bounded() {
    let limits = Limits {
        max_header_bytes: 1024,
        ..Limits::DEFAULT
    };
    // A header name that never ends: judged once the limit is passed, dropped to the
    // next newline.
    let mut data = vec![b'A'; 1_000_000];
    data.push(b'\n');
    data.extend(frame(b"{}"));
    let got = events(&data, vec![4096], limits, false);
    match &got[0] {
        Event::Error(ErrorKind::InvalidHeader, prefix, None) => {
            assert_eq!(prefix.len(), PREFIX_LEN)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(got[1], f(b"{}"));
    assert_eq!(got.len(), 2);
}

#[test]
fn body_over_limit_is_skipped_and_reported_with_its_seq() {
    let limits = Limits {
        max_body_bytes: 32,
        ..Limits::DEFAULT
    };
    let big = br#"{"seq":41,"type":"request","command":"evaluate","arguments":{"expression":"x"}}"#;
    let mut data = frame(big);
    data.extend(frame(b"{\"seq\":42}"));
    for sizes in [vec![usize::MAX], vec![1], vec![5, 3]] {
        let mut reader = FrameReader::new(Chunked::new(data.clone(), sizes)).with_limits(limits);
        let err = reader.read_frame().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::BodyTooLarge);
        assert!(err.is_recoverable());
        assert_eq!(err.length(), Some(big.len() as u64));
        assert_eq!(err.prefix(), &big[..]);
        assert_eq!(err.seq(), Some(41));
        assert_eq!(err.command(), Some("evaluate"));
        let text = err.to_string();
        assert!(text.contains("exceeds the limit of 32 bytes"), "{text}");
        assert!(
            text.contains("seq 41") && text.contains("\"evaluate\""),
            "{text}"
        );
        assert_eq!(
            reader.read_frame().unwrap().as_deref(),
            Some(&b"{\"seq\":42}"[..])
        );
        assert!(reader.read_frame().unwrap().is_none());
    }
}

#[test]
fn huge_claimed_length_costs_nothing_until_bytes_arrive() {
    // 2^62 bytes could never be allocated: reserving from the header would abort.
    let data = b"Content-Length: 4611686018427387904\r\n\r\n0123456789";
    let limits = Limits {
        max_body_bytes: usize::MAX,
        ..Limits::DEFAULT
    };
    for sizes in [vec![usize::MAX], vec![3]] {
        let mut reader = FrameReader::new(Chunked::new(data.to_vec(), sizes)).with_limits(limits);
        let err = reader.read_frame().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
        assert!(!err.is_recoverable());
        assert_eq!(err.prefix(), b"0123456789");
        assert!(
            err.to_string()
                .contains("after 10 of 4611686018427387904 body bytes"),
            "{err}"
        );
    }
    // With the default limit the body is skipped: the end of stream comes while skipping.
    let mut reader = FrameReader::new(&data[..]);
    let err = reader.read_frame().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
    assert!(err.to_string().contains("skipped body"), "{err}");
}

#[test]
fn eof_inside_header_or_body_is_fatal() {
    for (data, what) in [
        (&b"Content-Length: 5\r\n"[..], "header"),
        (&b"Content-Len"[..], "header"),
        (&b"Content-Length: 5\r\n\r\nabc"[..], "body"),
    ] {
        for sizes in [vec![usize::MAX], vec![1]] {
            let mut reader = FrameReader::new(Chunked::new(data.to_vec(), sizes));
            let err = reader.read_frame().unwrap_err();
            assert_eq!(err.kind(), ErrorKind::UnexpectedEof, "{data:?}");
            assert!(!err.is_recoverable());
            assert!(err.to_string().contains(what), "{err}");
        }
    }
}

#[test]
fn typed_errors_carry_seq_and_command() {
    let mut data =
        frame(br#"{"seq":4,"type":"request","command":"next","arguments":{"threadId":1"#);
    data.extend(frame(br#"{"seq":5,"type":"event","event":"stopped"}"#));
    data.extend(frame(b"\xff\xfe not utf-8"));
    data.extend(frame(br#"{"seq":6}"#));
    let mut reader = FrameReader::new(&data[..]);

    let err = reader.read_message::<Value>().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidJson);
    assert!(err.is_recoverable());
    assert_eq!(
        (err.seq(), err.command(), err.event()),
        (Some(4), Some("next"), None)
    );
    assert!(
        err.to_string().contains("(seq 4, command \"next\")"),
        "{err}"
    );

    // Valid JSON, wrong type for the caller.
    let err = reader.read_message::<Vec<u32>>().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidMessage);
    assert_eq!((err.seq(), err.event()), (Some(5), Some("stopped")));

    let err = reader.read_message::<Value>().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidJson);
    assert_eq!(err.prefix(), b"\xff\xfe not utf-8");

    let v: Value = reader.read_message().unwrap().unwrap();
    assert_eq!(v["seq"], 6);
    assert!(reader.read_message::<Value>().unwrap().is_none());
}

#[test]
fn error_prefix_is_bounded() {
    let body = format!(
        "{{\"seq\":9,\"command\":\"x\",\"pad\":\"{}\"",
        "z".repeat(5000)
    );
    let data = frame(body.as_bytes());
    let mut reader = FrameReader::new(&data[..]);
    let err = reader.read_message::<Value>().unwrap_err();
    assert_eq!(err.prefix().len(), PREFIX_LEN);
    assert_eq!(err.prefix(), &body.as_bytes()[..PREFIX_LEN]);
    assert_eq!(err.seq(), Some(9));
}

#[test]
fn into_inner_gives_back_the_rest() {
    let mut data = frame(b"{}");
    data.extend(frame(b"[]"));
    let mut reader = FrameReader::new(&data[..]);
    assert_eq!(reader.read_frame().unwrap().as_deref(), Some(&b"{}"[..]));
    let rest = reader.into_inner();
    assert_eq!(rest, &frame(b"[]")[..]);
}

#[test]
fn frames_from_a_bufreader_larger_than_its_buffer() {
    let big: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut data = frame(&big);
    data.extend(frame(b"{}"));
    let mut reader = FrameReader::new(BufReader::with_capacity(4096, &data[..]));
    assert_eq!(reader.read_frame().unwrap().as_deref(), Some(&big[..]));
    assert_eq!(reader.read_frame().unwrap().as_deref(), Some(&b"{}"[..]));
    assert!(reader.read_frame().unwrap().is_none());
}

#[test]
fn frames_borrow_the_input_without_copying() {
    let mut data = frame(b"{\"seq\":1}");
    data.extend(frame(b"{\"seq\":2}"));
    let range = data.as_ptr_range();
    let mut reader = FrameReader::new(&data[..]);
    for _ in 0..2 {
        let frame = reader.read_frame().unwrap().unwrap();
        assert!(range.contains(&frame.as_ptr()), "frame was copied");
    }
    // Split across reads, the body is assembled in the reader's own buffer instead.
    let mut reader = FrameReader::new(BufReader::with_capacity(4, &data[..]));
    let frame = reader.read_frame().unwrap().unwrap();
    assert!(!range.contains(&frame.as_ptr()));
    assert_eq!(&*frame, b"{\"seq\":1}");
}
