//! `dapkit validate`: findings, --json, --allow, exit codes, real traffic.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/inspect.rs"]
mod support;
#[path = "../../trace/tests/support/traffic.rs"]
mod traffic;

use support::{dapkit, dapkit_in};

#[test]
fn a_clean_session_exits_0() {
    let run = dapkit(&["validate", "session.jsonl"]);
    assert_eq!(run.code, Some(0), "{}{}", run.stdout, run.stderr);
    assert_eq!(
        run.stdout,
        "session.jsonl: 23 records, 0 errors, 0 warnings\n"
    );
}

#[test]
fn findings_name_record_rule_seq_and_command() {
    let run = dapkit(&["validate", "broken.jsonl"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    insta::assert_snapshot!("validate_broken", run.stdout);
}

#[test]
fn json_findings() {
    let run = dapkit(&["validate", "--json", "broken.jsonl"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    let (summary, findings) = lines.split_last().expect("lines");
    assert_eq!(
        summary["summary"],
        serde_json::json!({"records": 12, "errors": 11, "warnings": 2})
    );
    assert_eq!(findings.len(), 13);
    let schema = findings
        .iter()
        .find(|f| f["rule"] == "schema")
        .expect("a schema finding");
    assert_eq!(schema["severity"], "error");
    assert_eq!(schema["record"], 5);
    assert_eq!(schema["seq"], 2);
    assert_eq!(schema["command"], "next");
    assert_eq!(schema["path"], "/arguments/granularity");
    insta::assert_snapshot!("validate_broken_json", run.stdout);
}

#[test]
fn allow_drops_a_rule() {
    let run = dapkit(&["validate", "--allow", "quirk-seq-zero", "broken.jsonl"]);
    assert_eq!(run.code, Some(1));
    assert!(!run.stdout.contains("quirk-seq-zero"), "{}", run.stdout);
    assert!(
        run.stdout.ends_with("11 errors, 1 warning\n"),
        "{}",
        run.stdout
    );

    // With every error rule it finds allowed, only warnings remain: exit 0.
    let mut args = vec!["validate"];
    for rule in [
        "initialize-first",
        "initialized-before-initialize-response",
        "schema",
        "seq-not-increasing",
        "response-duplicate",
        "reverse-request-without-capability",
        "request-without-capability",
        "invalid-message",
        "unreadable-record",
        "request-unanswered",
    ] {
        args.extend(["--allow", rule]);
    }
    args.push("broken.jsonl");
    let run = dapkit(&args);
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert!(
        run.stdout.ends_with("0 errors, 2 warnings\n"),
        "{}",
        run.stdout
    );

    let unknown = dapkit(&["validate", "--allow", "no-such-rule", "broken.jsonl"]);
    assert_eq!(unknown.code, Some(2));
    assert!(
        unknown
            .stderr
            .starts_with("dapkit: error: unknown rule `no-such-rule`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    let missing = dapkit(&["validate", "nothing-here.jsonl"]);
    assert_eq!(missing.code, Some(2));
    assert!(
        missing.stderr.starts_with("dapkit: error: "),
        "{}",
        missing.stderr
    );
    let no_file = dapkit(&["validate"]);
    assert_eq!(no_file.code, Some(2));
}

#[test]
fn help_lists_the_rules() {
    let run = dapkit(&["validate", "--help"]);
    assert_eq!(run.code, Some(0));
    for rule in dapkit_trace::validate::RULES {
        assert!(
            run.stdout.contains(rule.id),
            "{} missing from --help",
            rule.id
        );
    }
}

#[test]
fn recorded_real_sessions_have_no_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    for session in traffic::SESSIONS {
        let name = format!("{session}.jsonl");
        std::fs::write(dir.path().join(&name), traffic::trace(session)).expect("write");
        let run = dapkit_in(dir.path(), &["validate", &name]);
        assert_eq!(run.code, Some(0), "{session}: {}", run.stdout);
        assert!(
            run.stdout.contains(", 0 errors, "),
            "{session}: {}",
            run.stdout
        );
        assert!(!run.stdout.contains("error["), "{session}: {}", run.stdout);
    }
}
