//! One passing and one failing hand-written trace per validation rule.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use dapkit_trace::validate::{Finding, RULES, Severity, ids, validate};
use dapkit_trace::{Direction, Header, Record, TraceReader, TraceWriter};

const C: Direction = Direction::ClientToAdapter;
const A: Direction = Direction::AdapterToClient;

/// A trace of these messages (client 0), offsets 1 ms apart.
fn trace(messages: &[(Direction, &str)]) -> Vec<u8> {
    trace_of_clients(
        &messages
            .iter()
            .map(|&(d, m)| (0, d, m.to_owned()))
            .collect::<Vec<_>>(),
    )
}

fn trace_of_clients(messages: &[(u32, Direction, String)]) -> Vec<u8> {
    let mut file = Vec::new();
    let mut w = TraceWriter::new(&mut file, &Header::new(serde_json::Value::Null)).expect("header");
    for (i, (client, dir, m)) in messages.iter().enumerate() {
        let record = Record::from_body(
            "2026-11-26T13:30:00.000000Z".to_owned(),
            i as u64 * 1000,
            *dir,
            *client,
            m.as_bytes(),
        );
        w.write(&record).expect("write");
    }
    drop(w);
    file
}

fn findings_of(file: &[u8]) -> Vec<Finding> {
    let mut out = Vec::new();
    validate(TraceReader::new(file).expect("header"), |f| out.push(f)).expect("validates");
    out
}

fn findings(messages: &[(Direction, &str)]) -> Vec<Finding> {
    findings_of(&trace(messages))
}

/// The messages that open a session: initialize and its response (with capabilities).
const INIT: [(Direction, &str); 2] = [
    (
        C,
        r#"{"seq":1,"type":"request","command":"initialize","arguments":{"adapterID":"x","supportsRunInTerminalRequest":true}}"#,
    ),
    (
        A,
        r#"{"seq":1,"type":"response","request_seq":1,"success":true,"command":"initialize","body":{"supportsConfigurationDoneRequest":true,"supportsFunctionBreakpoints":true}}"#,
    ),
];

fn session(rest: &[(Direction, &'static str)]) -> Vec<Finding> {
    let mut all: Vec<(Direction, &str)> = INIT.to_vec();
    all.extend_from_slice(rest);
    findings(&all)
}

fn rules(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.rule).collect()
}

#[track_caller]
fn assert_clean(findings: &[Finding]) {
    assert!(
        findings.is_empty(),
        "expected no findings, got {findings:#?}"
    );
}

#[track_caller]
fn assert_only(findings: &[Finding], rule: &str) -> Finding {
    assert_eq!(rules(findings), [rule], "{findings:#?}");
    findings[0].clone()
}

#[test]
fn every_rule_id_is_unique_and_kebab_case() {
    let mut ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), RULES.len());
    for id in ids {
        assert!(
            id.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
            "{id}"
        );
    }
}

#[test]
fn a_clean_session_has_no_findings() {
    assert_clean(&session(&[
        (A, r#"{"seq":2,"type":"event","event":"initialized"}"#),
        (
            C,
            r#"{"seq":2,"type":"request","command":"launch","arguments":{"program":"app.py"}}"#,
        ),
        (
            C,
            r#"{"seq":3,"type":"request","command":"setFunctionBreakpoints","arguments":{"breakpoints":[]}}"#,
        ),
        (
            A,
            r#"{"seq":3,"type":"response","request_seq":3,"success":true,"command":"setFunctionBreakpoints","body":{"breakpoints":[]}}"#,
        ),
        (
            C,
            r#"{"seq":4,"type":"request","command":"configurationDone"}"#,
        ),
        (
            A,
            r#"{"seq":4,"type":"response","request_seq":4,"success":true,"command":"configurationDone"}"#,
        ),
        (
            A,
            r#"{"seq":5,"type":"response","request_seq":2,"success":true,"command":"launch"}"#,
        ),
        (
            A,
            r#"{"seq":6,"type":"event","event":"stopped","body":{"reason":"breakpoint","threadId":1}}"#,
        ),
        (
            A,
            r#"{"seq":7,"type":"request","command":"runInTerminal","arguments":{"cwd":"/","args":["python"]}}"#,
        ),
        (
            C,
            r#"{"seq":5,"type":"response","request_seq":7,"success":true,"command":"runInTerminal","body":{}}"#,
        ),
    ]));
}

#[test]
fn unreadable_record() {
    let mut file = trace(&INIT);
    file.extend_from_slice(b"{\"this is\": \"not a record\"}\n");
    let found = findings_of(&file);
    let f = assert_only(&found, ids::UNREADABLE);
    assert_eq!(f.line, Some(4));
    assert!(f.message.contains("not a trace record"), "{}", f.message);

    // A trace cut inside its last record (a killed writer) is reported, not fatal.
    let mut cut = trace(&INIT);
    cut.extend_from_slice(
        br#"{"time":"2026-11-26T13:30:00.000000Z","offsetUs":5,"dir":"c2a","msg":{"seq":2,"#,
    );
    let found = findings_of(&cut);
    assert_only(&found, ids::UNREADABLE);

    assert_clean(&findings_of(&trace(&INIT)));
}

#[test]
fn invalid_message() {
    let mut file = Vec::new();
    let mut w = TraceWriter::new(&mut file, &Header::new(serde_json::Value::Null)).expect("header");
    for (d, m) in INIT {
        w.message(d, 0, m.as_bytes()).expect("write");
    }
    w.invalid(A, 0, b"Content-Lxngth: 12", "junk between frames")
        .expect("write");
    w.message(A, 0, b"[1, 2, 3]").expect("write");
    drop(w);
    let found = findings_of(&file);
    assert_eq!(
        rules(&found),
        [ids::INVALID_MESSAGE, ids::INVALID_MESSAGE],
        "{found:#?}"
    );
    assert!(found[0].message.contains("junk between frames"));
    assert_eq!(found[1].record, Some(4));
}

#[test]
fn schema() {
    let found = session(&[
        (
            C,
            r#"{"seq":2,"type":"request","command":"next","arguments":{"threadId":1,"granularity":"paragraph"}}"#,
        ),
        (
            A,
            r#"{"seq":2,"type":"response","request_seq":2,"success":true,"command":"next"}"#,
        ),
    ]);
    let f = assert_only(&found, ids::SCHEMA);
    assert_eq!(f.path.as_deref(), Some("/arguments/granularity"));
    assert_eq!(
        (f.record, f.seq, f.command.as_deref()),
        (Some(3), Some(2), Some("next"))
    );
    assert!(
        f.message.contains("`paragraph` is not one of"),
        "{}",
        f.message
    );

    let unknown_type = session(&[(A, r#"{"seq":2,"type":"notification"}"#)]);
    assert_eq!(
        assert_only(&unknown_type, ids::SCHEMA).path.as_deref(),
        Some("/type")
    );

    assert_clean(&session(&[
        (
            C,
            r#"{"seq":2,"type":"request","command":"next","arguments":{"threadId":1,"granularity":"line"}}"#,
        ),
        (
            A,
            r#"{"seq":2,"type":"response","request_seq":2,"success":true,"command":"next"}"#,
        ),
    ]));
}

#[test]
fn initialize_first() {
    let found = findings(&[
        (C, r#"{"seq":1,"type":"request","command":"threads"}"#),
        (
            A,
            r#"{"seq":1,"type":"response","request_seq":1,"success":true,"command":"threads","body":{"threads":[]}}"#,
        ),
    ]);
    let f = assert_only(&found, ids::INITIALIZE_FIRST);
    assert!(f.message.contains("`threads`"));
    assert_clean(&findings(&INIT));
}

#[test]
fn seq_not_increasing() {
    let found = session(&[
        (A, r#"{"seq":3,"type":"event","event":"initialized"}"#),
        (
            A,
            r#"{"seq":3,"type":"event","event":"output","body":{"output":"x"}}"#,
        ),
    ]);
    let f = assert_only(&found, ids::SEQ_NOT_INCREASING);
    assert_eq!(f.record, Some(4));
    assert!(f.message.contains("previous seq 3"), "{}", f.message);
    // Each direction counts on its own.
    assert_clean(&session(&[
        (A, r#"{"seq":2,"type":"event","event":"initialized"}"#),
        (C, r#"{"seq":2,"type":"request","command":"threads"}"#),
        (
            A,
            r#"{"seq":3,"type":"response","request_seq":2,"success":true,"command":"threads","body":{"threads":[]}}"#,
        ),
    ]));
}

#[test]
fn response_unknown_request() {
    let found = session(&[(
        A,
        r#"{"seq":2,"type":"response","request_seq":9,"success":true,"command":"threads","body":{"threads":[]}}"#,
    )]);
    assert!(
        assert_only(&found, ids::RESPONSE_UNKNOWN_REQUEST)
            .message
            .contains("request_seq 9")
    );
    assert_clean(&session(&[
        (C, r#"{"seq":9,"type":"request","command":"threads"}"#),
        (
            A,
            r#"{"seq":2,"type":"response","request_seq":9,"success":true,"command":"threads","body":{"threads":[]}}"#,
        ),
    ]));
}

#[test]
fn response_duplicate() {
    let found = session(&[
        (C, r#"{"seq":2,"type":"request","command":"threads"}"#),
        (
            A,
            r#"{"seq":2,"type":"response","request_seq":2,"success":true,"command":"threads","body":{"threads":[]}}"#,
        ),
        (
            A,
            r#"{"seq":3,"type":"response","request_seq":2,"success":true,"command":"threads","body":{"threads":[]}}"#,
        ),
    ]);
    let f = assert_only(&found, ids::RESPONSE_DUPLICATE);
    assert_eq!(f.record, Some(5));
    assert!(
        f.message.contains("already answered by record 4"),
        "{}",
        f.message
    );
}

#[test]
fn response_command_mismatch() {
    let found = session(&[
        (C, r#"{"seq":2,"type":"request","command":"threads"}"#),
        (
            A,
            r#"{"seq":2,"type":"response","request_seq":2,"success":true,"command":"modules","body":{"modules":[]}}"#,
        ),
    ]);
    let f = assert_only(&found, ids::RESPONSE_COMMAND_MISMATCH);
    assert!(
        f.message.contains("`modules` does not match `threads`"),
        "{}",
        f.message
    );
}

#[test]
fn request_unanswered() {
    let found = session(&[(C, r#"{"seq":2,"type":"request","command":"threads"}"#)]);
    let f = assert_only(&found, ids::REQUEST_UNANSWERED);
    assert_eq!(
        (f.record, f.seq, f.command.as_deref()),
        (Some(3), Some(2), Some("threads"))
    );
    assert_clean(&findings(&INIT));
}

#[test]
fn initialized_before_initialize_response() {
    let found = findings(&[
        INIT[0],
        (A, r#"{"seq":1,"type":"event","event":"initialized"}"#),
        (
            A,
            r#"{"seq":2,"type":"response","request_seq":1,"success":true,"command":"initialize","body":{}}"#,
        ),
    ]);
    assert_eq!(assert_only(&found, ids::INITIALIZED_EARLY).record, Some(2));
    assert_clean(&session(&[(
        A,
        r#"{"seq":2,"type":"event","event":"initialized"}"#,
    )]));
}

#[test]
fn launch_before_configuration_done() {
    let found = session(&[
        (
            C,
            r#"{"seq":2,"type":"request","command":"launch","arguments":{}}"#,
        ),
        (
            A,
            r#"{"seq":2,"type":"response","request_seq":2,"success":true,"command":"launch"}"#,
        ),
        (
            C,
            r#"{"seq":3,"type":"request","command":"configurationDone"}"#,
        ),
        (
            A,
            r#"{"seq":3,"type":"response","request_seq":3,"success":true,"command":"configurationDone"}"#,
        ),
    ]);
    let f = assert_only(&found, ids::LAUNCH_BEFORE_CONFIGURATION_DONE);
    assert_eq!((f.record, f.command.as_deref()), (Some(4), Some("launch")));
    // Without configurationDone from the client, an early answer is fine.
    assert_clean(&session(&[
        (
            C,
            r#"{"seq":2,"type":"request","command":"attach","arguments":{}}"#,
        ),
        (
            A,
            r#"{"seq":2,"type":"response","request_seq":2,"success":true,"command":"attach"}"#,
        ),
    ]));
    // Answered after configurationDone: fine.
    assert_clean(&session(&[
        (
            C,
            r#"{"seq":2,"type":"request","command":"launch","arguments":{}}"#,
        ),
        (
            C,
            r#"{"seq":3,"type":"request","command":"configurationDone"}"#,
        ),
        (
            A,
            r#"{"seq":2,"type":"response","request_seq":3,"success":true,"command":"configurationDone"}"#,
        ),
        (
            A,
            r#"{"seq":3,"type":"response","request_seq":2,"success":true,"command":"launch"}"#,
        ),
    ]));
}

#[test]
fn reverse_request_without_capability() {
    let ask = [
        (
            A,
            r#"{"seq":2,"type":"request","command":"startDebugging","arguments":{"configuration":{},"request":"launch"}}"#,
        ),
        (
            C,
            r#"{"seq":2,"type":"response","request_seq":2,"success":true,"command":"startDebugging"}"#,
        ),
    ];
    let found = session(&ask);
    let f = assert_only(&found, ids::REVERSE_REQUEST_CAPABILITY);
    assert!(
        f.message.contains("supportsStartDebuggingRequest"),
        "{}",
        f.message
    );
    // runInTerminal was declared by INIT's client.
    assert_clean(&session(&[
        (
            A,
            r#"{"seq":2,"type":"request","command":"runInTerminal","arguments":{"cwd":"/","args":["sh"]}}"#,
        ),
        (
            C,
            r#"{"seq":2,"type":"response","request_seq":2,"success":true,"command":"runInTerminal","body":{}}"#,
        ),
    ]));
}

#[test]
fn request_without_capability() {
    let found = session(&[
        (
            C,
            r#"{"seq":2,"type":"request","command":"setDataBreakpoints","arguments":{"breakpoints":[]}}"#,
        ),
        (
            A,
            r#"{"seq":2,"type":"response","request_seq":2,"success":true,"command":"setDataBreakpoints","body":{"breakpoints":[]}}"#,
        ),
    ]);
    let f = assert_only(&found, ids::CAPABILITY_NOT_ADVERTISED);
    assert!(
        f.message.contains("supportsDataBreakpoints"),
        "{}",
        f.message
    );
    // Advertised later by a capabilities event.
    assert_clean(&session(&[
        (
            A,
            r#"{"seq":2,"type":"event","event":"capabilities","body":{"capabilities":{"supportsDataBreakpoints":true}}}"#,
        ),
        (
            C,
            r#"{"seq":2,"type":"request","command":"setDataBreakpoints","arguments":{"breakpoints":[]}}"#,
        ),
        (
            A,
            r#"{"seq":3,"type":"response","request_seq":2,"success":true,"command":"setDataBreakpoints","body":{"breakpoints":[]}}"#,
        ),
    ]));
}

#[test]
fn quirk_seq_zero() {
    let found = findings(&[
        INIT[0],
        (
            A,
            r#"{"seq":0,"type":"response","request_seq":1,"success":true,"command":"initialize","body":{}}"#,
        ),
        (A, r#"{"seq":0,"type":"event","event":"initialized"}"#),
        (
            A,
            r#"{"seq":0,"type":"event","event":"output","body":{"output":"x"}}"#,
        ),
    ]);
    let f = assert_only(&found, ids::SEQ_ZERO);
    assert_eq!((f.severity, f.record), (Severity::Warning, Some(2)));
    assert_clean(&findings(&INIT));
}

#[test]
fn quirk_error_response_without_body() {
    let found = session(&[
        (
            C,
            r#"{"seq":2,"type":"request","command":"evaluate","arguments":{"expression":"x"}}"#,
        ),
        (
            A,
            r#"{"seq":2,"type":"response","request_seq":2,"success":false,"command":"evaluate","message":"no x"}"#,
        ),
    ]);
    assert_eq!(
        assert_only(&found, ids::ERROR_WITHOUT_BODY).severity,
        Severity::Warning
    );
    // A body of the wrong type is a schema error, not a missing body.
    let found = session(&[
        (
            C,
            r#"{"seq":2,"type":"request","command":"evaluate","arguments":{"expression":"x"}}"#,
        ),
        (
            A,
            r#"{"seq":2,"type":"response","request_seq":2,"success":false,"command":"evaluate","message":"no x","body":"oops"}"#,
        ),
    ]);
    assert_eq!(
        assert_only(&found, ids::SCHEMA).path.as_deref(),
        Some("/body")
    );
    assert_clean(&session(&[
        (
            C,
            r#"{"seq":2,"type":"request","command":"evaluate","arguments":{"expression":"x"}}"#,
        ),
        (
            A,
            r#"{"seq":2,"type":"response","request_seq":2,"success":false,"command":"evaluate","message":"no x","body":{"error":{"id":1,"format":"no {v}","variables":{"v":"x"}}}}"#,
        ),
    ]));
}

#[test]
fn quirk_thread_id_star() {
    let found = session(&[(
        A,
        r#"{"seq":2,"type":"event","event":"stopped","body":{"reason":"pause","threadId":"*","allThreadsStopped":true}}"#,
    )]);
    assert_eq!(
        assert_only(&found, ids::THREAD_ID_STAR).severity,
        Severity::Warning
    );
    // Where threadId is required, the message is kept as JSON: still the quirk.
    let found = session(&[(
        A,
        r#"{"seq":2,"type":"event","event":"continued","body":{"threadId":"*"}}"#,
    )]);
    assert_only(&found, ids::THREAD_ID_STAR);
    assert_clean(&session(&[(
        A,
        r#"{"seq":2,"type":"event","event":"stopped","body":{"reason":"pause","threadId":1,"allThreadsStopped":true}}"#,
    )]));
}

#[test]
fn quirk_start_method_process() {
    let found = session(&[(
        A,
        r#"{"seq":2,"type":"event","event":"process","body":{"name":"demo","startMethod":"process"}}"#,
    )]);
    assert_eq!(
        assert_only(&found, ids::START_METHOD_PROCESS).severity,
        Severity::Warning
    );
    assert_clean(&session(&[(
        A,
        r#"{"seq":2,"type":"event","event":"process","body":{"name":"demo","startMethod":"launch"}}"#,
    )]));
}

#[test]
fn pairing_limit() {
    let requests = |n: i64| -> Vec<(u32, Direction, String)> {
        let mut all: Vec<(u32, Direction, String)> =
            INIT.iter().map(|&(d, m)| (0, d, m.to_owned())).collect();
        for seq in 2..2 + n {
            all.push((
                0,
                C,
                format!(r#"{{"seq":{seq},"type":"request","command":"threads"}}"#),
            ));
        }
        all
    };
    let limit = dapkit_trace::summary::Pairing::DEFAULT_LIMIT as i64;
    let found = findings_of(&trace_of_clients(&requests(limit + 3)));
    let unanswered = found
        .iter()
        .filter(|f| f.rule == ids::REQUEST_UNANSWERED)
        .count();
    assert_eq!(
        unanswered as i64, limit,
        "only the requests followed are reported"
    );
    let last = found.last().expect("findings");
    assert_eq!(last.rule, ids::PAIRING_LIMIT);
    assert!(last.message.starts_with("3 requests"), "{}", last.message);

    let found = findings_of(&trace_of_clients(&requests(10)));
    assert!(!rules(&found).contains(&ids::PAIRING_LIMIT));
}

#[test]
fn too_many_clients() {
    let max = dapkit_trace::validate::MAX_CLIENTS as u32;
    let mut all = Vec::new();
    for client in 1..=max + 1 {
        for (d, m) in INIT {
            all.push((client, d, m.to_owned()));
        }
    }
    let found = findings_of(&trace_of_clients(&all));
    let f = assert_only(&found, ids::TOO_MANY_CLIENTS);
    assert!(
        f.message.contains(&format!("client {}", max + 1)),
        "{}",
        f.message
    );

    all.truncate(2 * max as usize);
    assert_clean(&findings_of(&trace_of_clients(&all)));
}
