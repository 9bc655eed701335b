//! `dapkit diff`: same traces, differences with record numbers, --json, --ignore-paths,
//! exit codes, an edited real trace.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/inspect.rs"]
mod support;
#[path = "../../trace/tests/support/traffic.rs"]
mod traffic;

use support::{dapkit, dapkit_in};

#[test]
fn a_trace_is_the_same_as_itself() {
    let run = dapkit(&["diff", "session.jsonl", "session.jsonl"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, "same\n");
}

#[test]
fn differences_name_the_records() {
    // session-edited.jsonl: other times, thread ids (handles), one breakpoint line, one output.
    let run = dapkit(&["diff", "session.jsonl", "session-edited.jsonl"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    insta::assert_snapshot!("diff_session_edited", run.stdout);

    let json = dapkit(&["diff", "--json", "session.jsonl", "session-edited.jsonl"]);
    assert_eq!(json.code, Some(1));
    let lines: Vec<serde_json::Value> = json
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines[0]["aRecord"], 6);
    assert_eq!(lines[0]["bRecord"], 6);
    assert_eq!(lines[0]["path"], "/response/body/breakpoints/1/line");
    assert_eq!(
        (&lines[0]["a"], &lines[0]["b"]),
        (&serde_json::json!(20), &serde_json::json!(21))
    );
    assert_eq!(
        lines[2]["summary"],
        serde_json::json!({"same": false, "differences": 2, "truncated": false})
    );

    let first_only = dapkit(&[
        "diff",
        "--max",
        "1",
        "session.jsonl",
        "session-edited.jsonl",
    ]);
    assert_eq!(first_only.code, Some(1));
    assert!(
        first_only
            .stdout
            .ends_with("1 difference (stopped; there are more)\n"),
        "{}",
        first_only.stdout
    );
}

#[test]
fn ignore_event_leaves_those_events_out_of_both_traces() {
    // The traces differ in a breakpoint line and in one `output` event.
    let run = dapkit(&[
        "diff",
        "--ignore-event",
        "output",
        "session.jsonl",
        "session-edited.jsonl",
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "record 6 of A, record 6 of B: response to `setBreakpoints` differs at /response/body/breakpoints/1/line: 20 in A, 21 in B\n1 difference\n"
    );
    // Another event's name leaves the output difference in.
    let other = dapkit(&[
        "diff",
        "--ignore-event",
        "stopped",
        "--ignore-event",
        "debugpySockets",
        "session.jsonl",
        "session-edited.jsonl",
    ]);
    assert_eq!(other.code, Some(1));
    assert!(
        other.stdout.ends_with("2 differences\n"),
        "{}",
        other.stdout
    );
}

#[test]
fn ignore_paths() {
    let dir = tempfile::tempdir().expect("temp dir");
    let session =
        std::fs::read_to_string(support::fixtures().join("session.jsonl")).expect("fixture");
    std::fs::write(dir.path().join("a.jsonl"), &session).expect("write");
    std::fs::write(
        dir.path().join("b.jsonl"),
        session.replace("/src/app.py", "/home/me/work/app.py"),
    )
    .expect("write");
    let strict = dapkit_in(dir.path(), &["diff", "a.jsonl", "b.jsonl"]);
    assert_eq!(strict.code, Some(1));
    assert!(
        strict.stdout.starts_with(
            "record 3 of A, record 3 of B: request `launch` differs at /arguments/program"
        ),
        "{}",
        strict.stdout
    );
    let loose = dapkit_in(
        dir.path(),
        &["diff", "--ignore-paths", "a.jsonl", "b.jsonl"],
    );
    assert_eq!(loose.code, Some(0), "{}", loose.stdout);

    std::fs::write(
        dir.path().join("c.jsonl"),
        session.replace("/src/app.py", "/src/other.py"),
    )
    .expect("write");
    let renamed = dapkit_in(
        dir.path(),
        &["diff", "--ignore-paths", "a.jsonl", "c.jsonl"],
    );
    assert_eq!(renamed.code, Some(1), "a different file name still differs");
}

#[test]
fn an_edited_real_trace_differs_at_the_edited_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    let messages = traffic::interleave("gdb-dap-c");
    std::fs::write(dir.path().join("a.jsonl"), traffic::write_trace(&messages)).expect("write");
    let mut edited = messages.clone();
    let n = edited
        .iter()
        .position(|(_, b)| b.windows(12).any(|w| w == b"\"evaluate\", "))
        .expect("an evaluate response from gdb");
    let text = String::from_utf8(edited[n].1.clone()).expect("utf-8");
    let changed = text.replacen("\"result\": \"", "\"result\": \"9", 1);
    assert_ne!(text, changed, "{text}");
    edited[n].1 = changed.into_bytes();
    std::fs::write(dir.path().join("b.jsonl"), traffic::write_trace(&edited)).expect("write");

    let run = dapkit_in(dir.path(), &["diff", "a.jsonl", "b.jsonl"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let record = n + 1;
    let first = run.stdout.lines().next().expect("a difference");
    assert!(
        first.starts_with(&format!("record {record} of A, record {record} of B: response to `evaluate` differs at /response/body/result")),
        "{first}"
    );
    assert!(run.stdout.ends_with("1 difference\n"), "{}", run.stdout);
}

#[test]
fn errors_exit_2() {
    let missing = dapkit(&["diff", "session.jsonl", "nothing.jsonl"]);
    assert_eq!(missing.code, Some(2));
    assert!(
        missing.stderr.starts_with("dapkit: error: trace B: "),
        "{}",
        missing.stderr
    );
    let one = dapkit(&["diff", "session.jsonl"]);
    assert_eq!(one.code, Some(2));
}
