//! Traces built from real recorded sessions (debugpy, gdb, lldb-dap): they validate with no
//! errors (only the known quirks, as warnings), every response pairs with its request, and
//! diff finds a trace equal to itself and names an edited message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/traffic.rs"]
mod traffic;

use dapkit_trace::diff::{Options, diff};
use dapkit_trace::summary::{Kind, Timeline};
use dapkit_trace::validate::{Severity, ids, validate};
use dapkit_trace::{Direction, TraceReader};

#[test]
fn real_sessions_validate_without_errors() {
    for session in traffic::SESSIONS {
        let file = traffic::trace(session);
        let mut findings = Vec::new();
        let stats = validate(TraceReader::new(&file[..]).expect("header"), |f| {
            findings.push(f)
        })
        .expect("validates");
        let errors: Vec<_> = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        assert!(errors.is_empty(), "{session}: {errors:#?}");
        assert_eq!(stats.errors, 0);
        assert!(stats.records > 30, "{session}: {} records", stats.records);
        let warnings: Vec<&str> = findings.iter().map(|f| f.rule).collect();
        let expected: &[&str] = match *session {
            // Failed `evaluate` and unknown-command responses without `body`.
            "debugpy-launch" => &[ids::ERROR_WITHOUT_BODY, ids::ERROR_WITHOUT_BODY],
            "gdb-dap-c" => &[ids::START_METHOD_PROCESS, ids::ERROR_WITHOUT_BODY],
            _ => &[],
        };
        assert_eq!(warnings, expected, "{session}: {findings:#?}");
    }
}

#[test]
fn every_recorded_response_pairs_with_its_request() {
    for session in traffic::SESSIONS {
        let file = traffic::trace(session);
        let mut timeline = Timeline::new(TraceReader::new(&file[..]).expect("header"));
        let mut responses = 0;
        for entry in timeline.by_ref() {
            let entry = entry.expect("record");
            if entry.facts.kind == Kind::Response {
                responses += 1;
                let pair = entry
                    .pair()
                    .unwrap_or_else(|| panic!("{session}: record {} unpaired", entry.number));
                assert_eq!(
                    pair.command, entry.facts.command,
                    "{session}: record {}",
                    entry.number
                );
                assert!(pair.request_record < entry.number);
                let summary = entry.summary().to_string();
                assert!(summary.ends_with(" ms)"), "{session}: {summary}");
            }
        }
        assert!(responses >= 10, "{session}: {responses} responses");
        assert_eq!(timeline.pairing().waiting().count(), 0, "{session}");
    }
}

#[test]
fn a_trace_is_the_same_as_itself_and_an_edit_is_named() {
    for session in traffic::SESSIONS {
        let messages = traffic::interleave(session);
        let file = traffic::write_trace(&messages);
        let same = diff(
            TraceReader::new(&file[..]).expect("header"),
            TraceReader::new(&file[..]).expect("header"),
            &Options::default(),
        )
        .expect("diff");
        assert!(same.is_same(), "{session}: {:#?}", same.differences);

        // Move the first breakpoint of the first setBreakpoints request.
        let mut edited = messages.clone();
        let (n, _) = edited
            .iter()
            .enumerate()
            .find(|(_, (d, b))| {
                *d == Direction::ClientToAdapter
                    && b.windows(16).any(|w| w == b"\"setBreakpoints\"")
            })
            .expect("a setBreakpoints request");
        let mut v: serde_json::Value = serde_json::from_slice(&edited[n].1).expect("json");
        let line = v["arguments"]["breakpoints"][0]["line"]
            .as_i64()
            .expect("a breakpoint line");
        v["arguments"]["breakpoints"][0]["line"] = (line + 100).into();
        edited[n].1 = v.to_string().into_bytes();
        let other = traffic::write_trace(&edited);
        let report = diff(
            TraceReader::new(&file[..]).expect("header"),
            TraceReader::new(&other[..]).expect("header"),
            &Options::default(),
        )
        .expect("diff");
        let first = report
            .differences
            .first()
            .unwrap_or_else(|| panic!("{session}: no difference"));
        let record = n as u64 + 1;
        assert_eq!(
            (first.a_record, first.b_record),
            (Some(record), Some(record)),
            "{session}: {first}"
        );
        assert_eq!(
            first.path.as_deref(),
            Some("/arguments/breakpoints/0/line"),
            "{session}: {first}"
        );
        let text = first.to_string();
        assert!(
            text.contains("request `setBreakpoints`"),
            "{session}: {text}"
        );
        assert!(
            text.contains(&format!("{line} in A, {} in B", line + 100)),
            "{session}: {text}"
        );
    }
}

#[test]
fn handles_and_seq_are_ignored_but_values_are_not() {
    // Renumber every seq and shift every thread id: still the same.
    let messages = traffic::interleave("debugpy-launch");
    let file = traffic::write_trace(&messages);
    let shifted: Vec<_> = messages
        .iter()
        .map(|(d, b)| {
            let mut v: serde_json::Value = serde_json::from_slice(b).expect("json");
            if let Some(seq) = v.get("seq").and_then(serde_json::Value::as_i64) {
                v["seq"] = (seq + 1000).into();
            }
            if let Some(rs) = v.get("request_seq").and_then(serde_json::Value::as_i64) {
                v["request_seq"] = (rs + 1000).into();
            }
            let text = v.to_string().replace("\"threadId\":1", "\"threadId\":77");
            (*d, text.into_bytes())
        })
        .collect();
    let other = traffic::write_trace(&shifted);
    let report = diff(
        TraceReader::new(&file[..]).expect("header"),
        TraceReader::new(&other[..]).expect("header"),
        &Options::default(),
    )
    .expect("diff");
    assert!(report.is_same(), "{:#?}", report.differences);

    // Drop one event: named as missing, and the rest still aligns.
    let n = messages
        .iter()
        .position(|(_, b)| b.windows(9).any(|w| w == b"\"stopped\""))
        .expect("a stopped event");
    let mut fewer = messages.clone();
    fewer.remove(n);
    let other = traffic::write_trace(&fewer);
    let report = diff(
        TraceReader::new(&file[..]).expect("header"),
        TraceReader::new(&other[..]).expect("header"),
        &Options::default(),
    )
    .expect("diff");
    assert_eq!(report.differences.len(), 1, "{:#?}", report.differences);
    assert_eq!(
        report.differences[0].to_string(),
        format!("record {} of A: event `stopped` is not in B", n + 1)
    );
}

/// `Timeline::next_ref` (one entry lent, its memory reused for the next record) reads every
/// trace as `next_entry` (a new entry per record) does: the same entries (record, message,
/// facts, pairing), the same summaries, the same errors on the same lines. Over the
/// recorded sessions and every trace fixture of the repository (the reader's fuzz seeds:
/// hostile, truncated, CRLF, gzip, bad records; the schema quirks; the CLI's fixtures).
#[test]
fn a_lent_entry_reads_every_trace_as_an_owned_one() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut traces: Vec<(String, Vec<u8>)> = traffic::SESSIONS
        .iter()
        .map(|s| (s.to_string(), traffic::trace(s)))
        .collect();
    for dir in [
        "fuzz/corpus/trace_reader",
        "../tests/fixtures/quirks",
        "../cli/tests/fixtures/html",
        "../cli/tests/fixtures/inspect",
        "../cli/tests/fixtures/replay",
    ] {
        let mut paths: Vec<_> = std::fs::read_dir(root.join(dir))
            .expect("fixture directory")
            .map(|e| e.expect("entry").path())
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).expect("fixture");
            traces.push((path.display().to_string(), bytes));
        }
    }
    assert!(traces.len() >= 20, "{} traces", traces.len());
    let mut entries = 0;
    for (name, bytes) in &traces {
        let open = || TraceReader::from_reader(std::io::Cursor::new(bytes.clone()));
        let (Ok(owned_reader), Ok(lent_reader)) = (open(), open()) else {
            // No header (the wrong-version seed): nothing to compare.
            continue;
        };
        let mut owned = Timeline::new(owned_reader);
        let mut lent = Timeline::new(lent_reader);
        for _ in 0..100_000 {
            let a = owned.next_entry();
            let b = lent.next_ref();
            let done = matches!(a, Ok(None)) || matches!(&a, Err(e) if !e.is_recoverable());
            match (&a, &b) {
                (Ok(Some(a)), Ok(Some(b))) => {
                    assert_eq!(format!("{a:?}"), format!("{b:?}"), "{name}");
                    assert_eq!(a.summary(), b.summary(), "{name}");
                    entries += 1;
                }
                (Ok(None), Ok(None)) => {}
                (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{name}"),
                _ => panic!("{name}: {a:?} but lent {b:?}"),
            }
            if done {
                break;
            }
        }
        assert_eq!(
            owned.pairing().waiting().count(),
            lent.pairing().waiting().count(),
            "{name}"
        );
    }
    assert!(entries >= 400, "{entries} entries compared");
}
