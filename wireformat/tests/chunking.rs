//! Property tests: every chunking of a stream gives the same results, in the sync reader
//! and in the async codec alike (the codec comparisons need the `tokio` feature; CI runs
//! this file with and without it); arbitrary input never panics, hangs or grows memory
//! beyond the limits. This is the bounded fuzz-style run that is part of `cargo test`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

#[cfg(feature = "tokio")]
use common::codec_events;
use common::{Event, events, frame};
use dapkit_wireformat::{FrameWriter, Limits};
use proptest::prelude::*;

/// JSON-ish bodies with multi-byte UTF-8.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        "[a-z0-9 ]{0,40}".prop_map(|s| format!("{{\"seq\":1,\"text\":\"{s}\"}}").into_bytes()),
        "[\\u{80}-\\u{10ffff}]{0,20}".prop_map(|s| format!("{{\"output\":\"{s}\"}}").into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..64),
    ]
}

/// Header blocks for a body of `len` bytes, in the shapes peers send.
fn header_for(len: usize, style: u8) -> Vec<u8> {
    match style % 6 {
        0 => format!("Content-Length: {len}\r\n\r\n"),
        1 => format!("content-length: {len}\n\n"),
        2 => format!("Content-Type: application/json\r\nCONTENT-LENGTH:{len}\r\n\r\n"),
        3 => format!("Content-Length: {len}\r\nX-Extra: a:b\r\n\r\n"),
        4 => format!("Content-Length: \t{len:05} \r\n\r\n"),
        _ => format!("Content-Length: {len}\r\nContent-Length: {len}\n\r\n"),
    }
    .into_bytes()
}

/// Pieces of hostile input: valid frames, broken headers, junk, partial markers.
fn piece() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => (body(), any::<u8>()).prop_map(|(b, style)| {
            let mut v = header_for(b.len(), style);
            v.extend(b);
            v
        }),
        1 => Just(b"Content-Length: -1\r\n\r\n".to_vec()),
        1 => Just(b"Content-Length: 99999999999999999999\r\n\r\n".to_vec()),
        1 => Just(b"Content-Length: 3\r\nContent-Length: 4\r\n\r\n".to_vec()),
        1 => Just(b"Content-Type: x\r\n\r\n".to_vec()),
        1 => Just(b"Content-Length: 70\r\n\r\n".to_vec()),
        1 => Just(b"Content-Length: 4611686018427387904\r\n\r\n".to_vec()),
        1 => Just(b"conTENT-len".to_vec()),
        1 => Just(b"\r\n".to_vec()),
        1 => "[ -~]{0,30}\n?".prop_map(String::into_bytes),
        1 => proptest::collection::vec(any::<u8>(), 0..40),
    ]
}

fn small_limits() -> Limits {
    common::SMALL_LIMITS
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn every_chunking_yields_the_same_frames(
        frames in proptest::collection::vec((body(), any::<u8>()), 0..20),
        sizes in proptest::collection::vec(1usize..40, 1..8),
    ) {
        let mut data = Vec::new();
        for (b, style) in &frames {
            data.extend(header_for(b.len(), *style));
            data.extend(b);
        }
        let expected: Vec<Event> = frames.iter().map(|(b, _)| Event::Frame(b.clone())).collect();
        prop_assert_eq!(&events(&data, vec![usize::MAX], Limits::DEFAULT, false), &expected);
        prop_assert_eq!(&events(&data, sizes.clone(), Limits::DEFAULT, false), &expected);
        prop_assert_eq!(&events(&data, vec![1], Limits::DEFAULT, true), &expected);
        #[cfg(feature = "tokio")]
        prop_assert_eq!(&codec_events(&data, &sizes, Limits::DEFAULT, false), &expected);
        #[cfg(feature = "tokio")]
        prop_assert_eq!(&codec_events(&data, &[usize::MAX], Limits::DEFAULT, true), &expected);
    }

    #[test]
    fn hostile_input_is_chunking_independent(
        pieces in proptest::collection::vec(piece(), 0..16),
        sizes in proptest::collection::vec(1usize..30, 1..6),
        resync in any::<bool>(),
        small in any::<bool>(),
    ) {
        let data = pieces.concat();
        let limits = if small { small_limits() } else { Limits::DEFAULT };
        let whole = events(&data, vec![usize::MAX], limits, resync);
        prop_assert_eq!(&events(&data, sizes.clone(), limits, resync), &whole);
        prop_assert_eq!(&events(&data, vec![1], limits, resync), &whole);
        #[cfg(feature = "tokio")]
        prop_assert_eq!(&codec_events(&data, &sizes, limits, resync), &whole);
        #[cfg(feature = "tokio")]
        prop_assert_eq!(&codec_events(&data, &[usize::MAX], limits, resync), &whole);
        for event in &whole {
            match event {
                Event::Frame(f) => prop_assert!(f.len() <= limits.max_body_bytes),
                Event::Error(_, prefix, _) => prop_assert!(prefix.len() <= dapkit_wireformat::PREFIX_LEN),
            }
        }
    }

    #[test]
    fn arbitrary_bytes_pass_the_fuzz_check(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        common::check_input(&data);
    }

    #[test]
    fn written_frames_read_back(bodies in proptest::collection::vec(body(), 0..20), sizes in proptest::collection::vec(1usize..64, 1..5)) {
        let mut wire = Vec::new();
        let mut writer = FrameWriter::new(&mut wire);
        for b in &bodies {
            writer.write_frame(b).unwrap();
        }
        let expected: Vec<Event> = bodies.iter().map(|b| Event::Frame(b.clone())).collect();
        prop_assert_eq!(events(&wire, sizes, Limits::DEFAULT, false), expected);
        // And the writer's header is byte-exact.
        let mut reference = Vec::new();
        for b in &bodies {
            reference.extend(frame(b));
        }
        prop_assert_eq!(wire, reference);
    }
}
