//! The checks of the fuzz targets (`trace/fuzz`), shared with `cargo test`
//! (`tests/fuzz_corpus.rs` runs them over the committed corpus), so CI covers them
//! without a nightly compiler.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dapkit_trace::{Header, ReadErrorKind, TraceReader, TraceWriter};
use std::io::Cursor;

/// The trace reader on arbitrary bytes: never a panic or a hang; errors carry a line
/// number within the input and a message; after an error that is not recoverable the
/// reader ends; every record read writes back as a line that reads back the same.
pub fn check_trace(input: &[u8]) {
    // Plain, with a small line limit so that over-long lines are exercised.
    let lines = input.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    if let Ok(reader) = TraceReader::with_max_line(input, 512) {
        drain(reader, Some(lines));
    }
    // Any reader: gzip recognised by its magic bytes (inflated size is bounded below).
    if let Ok(reader) = TraceReader::from_reader(Cursor::new(input.to_vec())) {
        drain(reader, None);
    }
}

fn drain<R: std::io::BufRead>(mut reader: TraceReader<R>, lines: Option<u64>) {
    let header = reader.header().clone();
    assert_eq!(header.version, dapkit_trace::FORMAT_VERSION);
    // Each call consumes at least one line, so this bounds the loop for plain input;
    // inflated gzip input is cut off after 10,000 calls.
    let budget = lines.map_or(10_000, |n| n + 2);
    for _ in 0..budget {
        match reader.next_record() {
            Ok(None) => {
                assert!(
                    reader.next_record().unwrap().is_none(),
                    "the end stays the end"
                );
                return;
            }
            Ok(Some(record)) => {
                let mut out = Vec::new();
                let mut writer =
                    TraceWriter::new(&mut out, &Header::new(serde_json::Value::Null)).unwrap();
                writer.write(&record).unwrap();
                drop(writer);
                let mut again = TraceReader::new(&out[..]).unwrap();
                let back = again.next_record().unwrap().expect("the record written");
                assert_eq!(back.bytes(), record.bytes());
                assert_eq!(back.error(), record.error());
                assert_eq!(back.direction, record.direction);
                assert_eq!(back.client, record.client);
                assert_eq!(back.offset_us, record.offset_us);
                assert_eq!(back.time, record.time);
            }
            Err(e) => {
                assert!(!e.message().is_empty());
                assert!(e.line() >= 2, "records start on line 2: {e}");
                if let Some(n) = lines {
                    assert!(e.line() <= n, "line {} of {n}: {e}", e.line());
                }
                if !e.is_recoverable() {
                    assert!(
                        matches!(e.kind(), ReadErrorKind::Truncated | ReadErrorKind::Io),
                        "{e}"
                    );
                    assert!(
                        matches!(reader.next_record(), Ok(None)),
                        "the reader ends after {e}"
                    );
                    return;
                }
            }
        }
    }
    assert!(lines.is_none(), "more calls than lines");
}

/// What `dapkit show` and `dapkit validate` do with a trace, on arbitrary bytes: every
/// record decoded, paired, summarised (the written summary is the built one's text, on one
/// line) and validated, and the HTML page written: never a panic or a hang, and every
/// finding says what is wrong, on one line (a peer's control characters spelled as escapes).
pub fn check_tools(input: &[u8]) {
    use dapkit_trace::summary::Summary;
    use dapkit_trace::validate::{Step, validate_each};
    if let Ok(reader) = TraceReader::with_max_line(input, 4096) {
        let mut written = String::new();
        let result = validate_each(reader, |step| match step {
            Step::Entry(entry) => {
                written.clear();
                entry.write_summary(&mut written).unwrap();
                assert_eq!(written, Summary::of(entry).to_string());
                assert!(!written.contains('\n'), "{written:?}");
                let _ = Summary::without_pairing(entry);
            }
            Step::Finding(f) => {
                assert!(!f.message.is_empty(), "{f:?}");
                let line = f.to_string();
                assert!(!line.chars().any(char::is_control), "{line:?}");
            }
        });
        if let Err(e) = result {
            assert!(!e.message().is_empty());
            assert!(!e.to_string().chars().any(char::is_control), "{e:?}");
        }
    }
    if let Ok(reader) = TraceReader::with_max_line(input, 4096) {
        let mut page = Vec::new();
        if dapkit_trace::html::write_html(reader, &mut page, "fuzz").is_ok() {
            assert!(page.starts_with(b"<!doctype html>"));
        }
    }
}

/// The tap on arbitrary bytes, cut into chunks of a size taken from the first byte: the
/// pieces are the same in any chunking, and they give back the input exactly.
#[cfg(feature = "tap")]
pub fn check_tap(input: &[u8]) {
    use dapkit_trace::tap::{FrameSplitter, Piece};
    use dapkit_wireformat::Limits;
    let Some((&first, data)) = input.split_first() else {
        return;
    };
    let limits = Limits {
        max_header_bytes: 64 + usize::from(first & 0x3f),
        max_body_bytes: 16 + usize::from(first),
    };
    let split = |chunk: usize| {
        let mut splitter = FrameSplitter::with_limits(limits);
        let mut pieces = Vec::new();
        for part in data.chunks(chunk.max(1)) {
            splitter.push(part, &mut |p| pieces.push(p));
        }
        splitter.finish(&mut |p| pieces.push(p));
        pieces
    };
    let whole = split(data.len());
    assert_eq!(split(1), whole, "one byte at a time");
    assert_eq!(split(usize::from(first % 13) + 2), whole);
    // The pieces, as records of a trace, give back the bytes.
    let mut rebuilt = Vec::new();
    let mut rebuilder = dapkit_trace::tap::StreamRebuilder::new();
    for piece in whole {
        let payload = match piece {
            Piece::Frame(body) => {
                assert!(body.len() <= limits.max_body_bytes);
                dapkit_trace::Payload::from_body(&body)
            }
            Piece::Invalid { bytes, error } => {
                assert!(!error.is_empty());
                dapkit_trace::Payload::Bytes {
                    bytes: bytes.to_vec(),
                    error: Some(error),
                }
            }
        };
        let mut record = dapkit_trace::Record::from_body(
            String::new(),
            0,
            dapkit_trace::Direction::ClientToAdapter,
            0,
            b"{}",
        );
        record.payload = payload;
        rebuilder.push(&record, &mut rebuilt);
    }
    assert!(rebuilt == data, "the pieces give back the input");
}
