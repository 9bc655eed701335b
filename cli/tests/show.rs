//! `dapkit show`: the timeline, --json, --filter, --follow, standard input, errors.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "support/inspect.rs"]
mod support;
#[path = "../../trace/tests/support/traffic.rs"]
mod traffic;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;
use support::{dapkit, dapkit_in, dapkit_with_input, fixtures};

#[test]
fn timeline_of_a_session() {
    let run = dapkit(&["show", "session.jsonl"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        !run.stdout.contains('\x1b'),
        "no colours when stdout is not a terminal"
    );
    insta::assert_snapshot!("show_session", run.stdout);
}

#[test]
fn json_lines_for_scripts() {
    let run = dapkit(&["show", "--json", "session.jsonl"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let lines: Vec<serde_json::Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 23);
    let failed = &lines[16];
    assert_eq!(failed["command"], "evaluate");
    assert_eq!(failed["success"], false);
    assert_eq!(failed["message"], "name 'total' is not defined");
    assert_eq!(failed["requestRecord"], 16);
    assert_eq!(failed["latencyUs"], 11200);
    insta::assert_snapshot!("show_session_json", run.stdout);
}

#[test]
fn filters() {
    let lines = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["show"];
        all.extend_from_slice(args);
        all.push("session.jsonl");
        let run = dapkit(&all);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        run.stdout.lines().map(str::to_owned).collect()
    };
    let evaluate = lines(&["--filter", "command=evaluate"]);
    assert_eq!(evaluate.len(), 2, "{evaluate:?}");
    assert!(evaluate[0].contains("→ 7 evaluate \"total + 1\" (watch)"));
    assert!(evaluate[1].contains("← 7 evaluate failed: name 'total' is not defined (11.2 ms)"));
    // Command and event filters are alternatives; dir narrows them.
    let either = lines(&["--filter", "event=stopped", "--filter", "command=threads"]);
    assert_eq!(either.len(), 3, "{either:?}");
    let from_client = lines(&[
        "--filter",
        "dir=c2a",
        "--filter",
        "command=threads",
        "--filter",
        "event=stopped",
    ]);
    assert_eq!(from_client.len(), 1, "{from_client:?}");
    assert!(from_client[0].contains("→ 5 threads"));
    let adapter = lines(&["--filter", "dir=a2c"]);
    assert!(adapter.iter().all(|l| l.contains(" ← ")), "{adapter:?}");
    assert_eq!(adapter.len(), 14);

    let bad = dapkit(&["show", "--filter", "colour=red", "session.jsonl"]);
    assert_eq!(bad.code, Some(2));
    assert!(bad.stderr.starts_with("dapkit: error: "), "{}", bad.stderr);
    assert!(
        bad.stderr.contains("unknown filter key `colour`"),
        "{}",
        bad.stderr
    );
}

#[test]
fn standard_input() {
    let trace = std::fs::read(fixtures().join("session.jsonl")).expect("fixture");
    let run = dapkit_with_input(&["show", "-"], &trace);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout, dapkit(&["show", "session.jsonl"]).stdout);
}

#[test]
fn gzip_trace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.jsonl.gz");
    let mut w = dapkit_trace::TraceWriter::create(
        &path,
        &dapkit_trace::Header::new(serde_json::Value::Null),
    )
    .expect("create");
    w.message(
        dapkit_trace::Direction::ClientToAdapter,
        0,
        br#"{"seq":1,"type":"request","command":"initialize","arguments":{"adapterID":"gz"}}"#,
    )
    .expect("write");
    w.finish().expect("finish");
    let run = dapkit_in(dir.path(), &["show", "t.jsonl.gz"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(
        run.stdout.ends_with("→ 1 initialize adapterID=gz\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_real_session() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("debugpy-launch.jsonl"),
        traffic::trace("debugpy-launch"),
    )
    .expect("write");
    let run = dapkit_in(dir.path(), &["show", "debugpy-launch.jsonl"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    insta::assert_snapshot!("show_debugpy_launch", run.stdout);
}

#[test]
fn errors_are_one_line_with_exit_2() {
    let missing = dapkit(&["show", "no-such-trace.jsonl"]);
    assert_eq!(missing.code, Some(2));
    assert_eq!(missing.stderr.lines().count(), 1, "{}", missing.stderr);
    assert!(
        missing.stderr.starts_with("dapkit: error: "),
        "{}",
        missing.stderr
    );
    assert!(
        missing.stderr.contains("no-such-trace.jsonl"),
        "{}",
        missing.stderr
    );

    let not_a_trace = dapkit_with_input(&["show", "-"], b"Content-Length: 2\r\n\r\n{}");
    assert_eq!(not_a_trace.code, Some(2));
    assert!(
        not_a_trace.stderr.contains("line 1: not a dapkit trace"),
        "{}",
        not_a_trace.stderr
    );

    // A bad line is reported on stderr and the rest is shown.
    let broken = dapkit(&["show", "broken.jsonl"]);
    assert_eq!(broken.code, Some(0), "{}", broken.stderr);
    assert_eq!(broken.stdout.lines().count(), 12);
    assert!(
        broken.stderr.contains("line 14: not a trace record"),
        "{}",
        broken.stderr
    );
    assert!(
        broken
            .stdout
            .contains("← invalid 23 bytes that are not a message"),
        "{}",
        broken.stdout
    );

    // A last line cut short (a recorder killed mid-write) is reported; the rest is shown.
    let session = std::fs::read_to_string(fixtures().join("session.jsonl")).expect("fixture");
    let cut = &session[..session.len() - 30];
    let run = dapkit_with_input(&["show", "-"], cut.as_bytes());
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.stdout.lines().count(), 22);
    assert!(
        run.stderr
            .contains("line 24: the trace ends inside a record"),
        "{}",
        run.stderr
    );
}

/// Reads the lines a child prints, through a channel, so that waiting is bounded.
fn line_reader(stdout: std::process::ChildStdout) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[test]
fn follow_shows_records_as_they_are_appended() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("growing.jsonl");
    let session = std::fs::read_to_string(fixtures().join("session.jsonl")).expect("fixture");
    let lines: Vec<&str> = session.lines().collect();
    let mut file = std::fs::File::create(&path).expect("create");
    // The header and two records; the third record arrives in two pieces later.
    writeln!(file, "{}\n{}\n{}", lines[0], lines[1], lines[2]).expect("write");
    file.flush().expect("flush");

    let mut child = Command::new(env!("CARGO_BIN_EXE_dapkit"))
        .args(["show", "--follow"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dapkit runs");
    let rx = line_reader(child.stdout.take().expect("stdout"));
    let wait = Duration::from_secs(20);
    let first = rx.recv_timeout(wait).expect("first record shown");
    assert!(
        first.ends_with("→ 1 initialize adapterID=python client=vscode"),
        "{first}"
    );
    let second = rx.recv_timeout(wait).expect("second record shown");
    assert!(
        second.contains("← 1 initialize ok: 2 capabilities (2.1 ms)"),
        "{second}"
    );

    let (head, tail) = lines[3].split_at(40);
    write!(file, "{head}").expect("write");
    file.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(500));
    writeln!(file, "{tail}\n{}", lines[4]).expect("write");
    file.flush().expect("flush");
    let third = rx.recv_timeout(wait).expect("third record shown");
    assert!(third.contains("→ 2 launch /src/app.py"), "{third}");
    let fourth = rx.recv_timeout(wait).expect("fourth record shown");
    assert!(fourth.contains("← 2 event initialized"), "{fourth}");
    // Still running: it waits for more until stopped.
    assert!(
        child.try_wait().expect("status").is_none(),
        "show --follow ended by itself"
    );
    child.kill().expect("kill our child");
    child.wait().expect("reaped");
}

/// Runs `dapkit show session.jsonl` on a pseudo-terminal (util-linux `script`).
fn show_on_a_terminal(no_color: Option<&str>) -> String {
    let mut cmd = Command::new("script");
    let line = format!("{} show session.jsonl", env!("CARGO_BIN_EXE_dapkit"));
    cmd.args(["-qec", &line, "/dev/null"])
        .current_dir(fixtures())
        .stdin(Stdio::null())
        .env_remove("NO_COLOR");
    if let Some(v) = no_color {
        cmd.env("NO_COLOR", v);
    }
    let out = cmd
        .output()
        .expect("util-linux `script` runs (it gives dapkit a terminal)");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn colours_on_a_terminal_unless_no_color() {
    let coloured = show_on_a_terminal(None);
    assert!(
        coloured.contains("\x1b[36m→ 3 setBreakpoints\x1b[0m app.py [12, 20]"),
        "{coloured:?}"
    );
    assert!(
        coloured.contains(
            "\x1b[1;31m← 7 evaluate\x1b[0m \x1b[1;31mfailed: name 'total' is not defined (11.2 ms)"
        ),
        "{coloured:?}"
    );
    let plain = show_on_a_terminal(Some("1"));
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert!(
        plain.contains("→ 3 setBreakpoints app.py [12, 20]"),
        "{plain:?}"
    );
    // An empty NO_COLOR does not turn colours off.
    assert!(show_on_a_terminal(Some("")).contains('\x1b'));
}
