//! The HTML page's data, read back without a browser: one line per record in trace order,
//! each message byte-exact after the page's unescaping, findings as `dapkit validate`
//! finds them, each after the record it is about; and `validate_each`, which feeds it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "support/traffic.rs"]
mod traffic;

use dapkit_trace::html::write_html;
use dapkit_trace::validate::{Step, validate, validate_each};
use dapkit_trace::{Direction, Header, Record, TraceReader, TraceWriter};
use serde_json::Value;

/// The lines of the records block, unescaped as the page's script does.
fn data_lines(page: &str) -> Vec<String> {
    let start = r#"<script type="application/json" id="dapkit-records">"#;
    let block = &page[page.find(start).expect("records block") + start.len()..];
    let block = &block[..block.find("</script>").expect("end of block")];
    assert!(!block.contains('<'));
    let mut text = String::new();
    let mut rest = block;
    while let Some(i) = rest.find('&') {
        text.push_str(&rest[..i]);
        let (with, skip) = match &rest[i..] {
            r if r.starts_with("&lt;") => ("<", 4),
            r if r.starts_with("&amp;") => ("&", 5),
            r => panic!("unexpected entity at {}", &r[..r.len().min(10)]),
        };
        text.push_str(with);
        rest = &rest[i + skip..];
    }
    text.push_str(rest);
    text.lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_message_is_in_the_page_byte_exact_in_trace_order() {
    for session in traffic::SESSIONS {
        let messages = traffic::interleave(session);
        let trace = traffic::write_trace(&messages);
        let mut page = Vec::new();
        let stats = write_html(
            TraceReader::new(&trace[..]).expect("header"),
            &mut page,
            session,
        )
        .expect("page");
        let page = String::from_utf8(page).expect("UTF-8");
        let lines = data_lines(&page);
        let records: Vec<&String> = lines.iter().filter(|l| l.starts_with('[')).collect();
        assert_eq!(records.len(), messages.len(), "{session}");
        assert_eq!(stats.records, messages.len() as u64);
        for (k, (line, (dir, body))) in records.iter().zip(&messages).enumerate() {
            let mut parts = line.splitn(3, '\t');
            let facts: Value = serde_json::from_str(parts.next().expect("facts")).expect("JSON");
            let more: Value = serde_json::from_str(parts.next().expect("more")).expect("JSON");
            let raw = parts.next().expect("raw");
            assert_eq!(facts[0], k + 1, "{session}: record number");
            assert_eq!(facts[1], k as u64 * 1000, "{session}: offset");
            let d = match dir {
                Direction::ClientToAdapter => 0,
                Direction::AdapterToClient => 1,
            };
            assert_eq!(facts[2], d);
            assert_eq!(more[0], "2026-11-26T13:30:00.000000Z");
            assert_eq!(
                raw.as_bytes(),
                &body[..],
                "{session}: record {} is byte-exact",
                k + 1
            );
        }
        // The findings are validate's, in the same order.
        let mut expected = Vec::new();
        validate(TraceReader::new(&trace[..]).expect("header"), |f| {
            expected.push(serde_json::to_value(&f).expect("JSON"))
        })
        .expect("validates");
        let found: Vec<Value> = lines
            .iter()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str::<Value>(l).expect("JSON")["finding"].clone())
            .collect();
        assert_eq!(found, expected, "{session}");
        assert_eq!(stats.findings, expected.len() as u64);
    }
}

#[test]
fn validate_each_passes_each_entry_before_its_findings() {
    let mut trace = Vec::new();
    let mut w = TraceWriter::new(&mut trace, &Header::new(Value::Null)).expect("header");
    for (dir, body) in [
        (
            Direction::ClientToAdapter,
            &br#"{"seq":1,"type":"request","command":"threads"}"#[..],
        ),
        (
            Direction::AdapterToClient,
            br#"{"seq":1,"type":"response","request_seq":9,"success":true,"command":"threads","body":{"threads":[]}}"#,
        ),
        (Direction::ClientToAdapter, b"not json"),
    ] {
        w.write(&Record::from_body(
            "2026-11-26T13:30:00.000000Z".into(),
            0,
            dir,
            0,
            body,
        ))
        .expect("write");
    }
    drop(w);
    let mut steps = Vec::new();
    let stats = validate_each(TraceReader::new(&trace[..]).expect("header"), |step| {
        steps.push(match step {
            Step::Entry(e) => format!("entry {}", e.number),
            Step::Finding(f) => format!("{} {:?}", f.rule, f.record),
        })
    })
    .expect("validates");
    assert_eq!(
        steps,
        [
            "entry 1",
            "initialize-first Some(1)",
            "entry 2",
            "response-unknown-request Some(2)",
            "entry 3",
            "invalid-message Some(3)",
            "request-unanswered Some(1)",
        ]
    );
    assert_eq!((stats.records, stats.errors, stats.warnings), (3, 4, 0));
}
