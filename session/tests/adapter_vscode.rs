//! A real client drives the example adapter: VS Code's `DebugClient` (npm
//! `@vscode/debugadapter-testsupport`, the test client of VS Code's own debug adapters)
//! runs the script `tests/vscode/mock_adapter.test.js` against `examples/mock_adapter.rs`
//! over its stdio.
//!
//! Needs Node.js (20 or later) and the npm packages of `tests/vscode`: `bash
//! .ci/install-peers` installs both; this test fails naming it when either is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

const EXAMPLE: &str = "mock_adapter";
const SCRIPT: &str = "mock_adapter.test.js";

fn vscode_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("vscode")
}

/// Runs `command` with a time limit (the child is killed past it); returns status and
/// output, or fails the test naming what could not start.
async fn run(
    mut command: tokio::process::Command,
    limit: Duration,
    what: &str,
) -> std::process::Output {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = match command.spawn() {
        Ok(c) => c,
        Err(e) => panic!(
            "cannot run {what}: {e}. Peer missing: run `bash .ci/install-peers` in the \
             workspace root (it installs Node.js and the npm packages of session/tests/vscode)"
        ),
    };
    match tokio::time::timeout(limit, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => panic!("{what} failed to run: {e}"),
        Err(_) => panic!("{what} did not finish within {limit:?} (killed)"),
    }
}

fn text(output: &std::process::Output) -> String {
    format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Builds the example with the cargo running this test and returns the executable's path
/// (read from cargo's JSON messages, so any target directory works). The features are
/// those of README's test command (`cargo test --workspace --all-features`), which has
/// built the example already: then this finds it fresh instead of compiling
/// dapkit-types again with another feature set.
async fn build_example() -> PathBuf {
    let mut cargo = tokio::process::Command::new(env!("CARGO"));
    cargo.args([
        "build",
        "--quiet",
        "--workspace",
        "--all-features",
        "--example",
        EXAMPLE,
        "--message-format=json",
    ]);
    let output = run(cargo, Duration::from_secs(600), "cargo build --example").await;
    assert!(
        output.status.success(),
        "cargo build failed\n{}",
        text(&output)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == EXAMPLE)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .unwrap_or_else(|| {
            panic!(
                "cargo named no executable for example {EXAMPLE}\n{}",
                text(&output)
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vscode_debug_client_drives_the_example_adapter() {
    let dir = vscode_dir();
    let adapter = build_example().await;
    assert!(adapter.is_file(), "{} is not a file", adapter.display());

    let testsupport = dir.join("node_modules/@vscode/debugadapter-testsupport");
    assert!(
        testsupport.is_dir(),
        "DebugClient peer missing: {} not found. Run `bash .ci/install-peers` in the \
         workspace root",
        testsupport.display()
    );

    let mut node = tokio::process::Command::new("node");
    node.args(["--test", "--test-reporter=tap", SCRIPT])
        .current_dir(&dir)
        .env("DAPKIT_EXAMPLE_ADAPTER", &adapter);
    let output = run(node, Duration::from_secs(180), "`node --test` (Node.js)").await;
    let report = text(&output);
    assert!(
        output.status.success(),
        "the DebugClient script failed\n{report}"
    );

    // Every test of the script ran and passed: none skipped or lost.
    let script = std::fs::read_to_string(dir.join(SCRIPT)).unwrap();
    let declared = script.lines().filter(|l| l.starts_with("test(")).count();
    assert!(
        declared >= 5,
        "the script declares {declared} tests\n{report}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let count = |key: &str| {
        stdout.lines().find_map(|l| {
            l.strip_prefix(key)
                .and_then(|n| n.trim().parse::<usize>().ok())
        })
    };
    assert_eq!(count("# pass "), Some(declared), "{report}");
    assert_eq!(count("# fail "), Some(0), "{report}");
}
