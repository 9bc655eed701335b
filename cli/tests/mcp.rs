//! `dapkit mcp` driven by the official MCP Python SDK (`mcp`, installed into the peers'
//! venv by `bash .ci/install-peers`) as an agent would: `tests/mcp/agent.py` spawns the
//! binary over stdio and runs one scenario against real debugpy, gdb, delve or lldb-dap
//! (the preset, found in PATH); each check is an assert there, and this side checks its
//! exit status and last line.
//!
//! The join test plays the person: while the agent holds a stopped debugpy session, a
//! dapkit `Client` connects to the proxy address from `sessions`, reads the same stack and
//! takes control; the agent's `continue` is then refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../session/tests/common/peers.rs"]
#[allow(dead_code)]
mod peers;

use dapkit_session::client::{Client, ClientOptions};
use dapkit_transport::{Endpoint, RetryPolicy};
use dapkit_types::messages::*;
use dapkit_types::types::*;
use peers::{gdb, python};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

/// A scenario's whole time (launching debugpy on a loaded machine takes seconds).
const WHOLE: Duration = Duration::from_secs(240);

const PY_PROGRAM: &str = r#"import sys


def first(n):
    numbers = [n, n * 2, n * 3]
    total = sum(numbers)  # FIRST
    result = total

    return result


a = first(7)
print("done", a)
sys.exit(3)
"#;

const FOREVER: &str = r#"import time

count = 0
while True:
    count += 1
    time.sleep(0.01)
"#;

const HUGE: &str = r#"text = "x" * 10_000_000
big = list(range(1_000_000))
nested = {"k%d" % i: list(range(200)) for i in range(300)}
print("built")  # STOP
"#;

const C_PROGRAM: &str = r#"#include <stdio.h>

static int first(int n) {
    int numbers[3] = {n, n * 2, n * 3};
    int total = numbers[0] + numbers[1] + numbers[2]; /* FIRST */
    int result = total;
    /* BLANK */

    return result;
}

int main(void) {
    int a = first(7);
    printf("done %d\n", a);
    return 3;
}
"#;

const GO_PROGRAM: &str = r#"package main

import (
	"fmt"
	"os"
)

func first(n int) int {
	numbers := []int{n, n * 2, n * 3}
	total := numbers[0] + numbers[1] + numbers[2] // FIRST
	result := total

	return result
}

func main() {
	a := first(7)
	fmt.Println("done", a)
	os.Exit(3)
}
"#;

/// A scratch directory with the programs and the configuration naming the peers.
fn workdir(with_gdb: bool) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("dapkit-mcp-")
        .tempdir()
        .unwrap();
    let d = dir.path();
    std::fs::write(d.join("prog.py"), PY_PROGRAM).unwrap();
    std::fs::write(d.join("forever.py"), FOREVER).unwrap();
    std::fs::write(d.join("huge.py"), HUGE).unwrap();
    std::fs::write(d.join("prog.go"), GO_PROGRAM).unwrap();
    let mut config = format!("python = {:?}\n", python().display().to_string());
    if with_gdb {
        config.push_str(&format!("gdb = {:?}\n", gdb().display().to_string()));
        compile_c(d);
    }
    std::fs::write(d.join("config.toml"), config).unwrap();
    dir
}

/// `prog` in `dir`: [`C_PROGRAM`] compiled with `gcc -g -O0`.
fn compile_c(dir: &Path) {
    std::fs::write(dir.join("prog.c"), C_PROGRAM).unwrap();
    let out = std::process::Command::new("gcc")
        .args(["-g", "-O0", "-o"])
        .arg(dir.join("prog"))
        .arg(dir.join("prog.c"))
        .output()
        .expect("gcc runs (bash .ci/install-peers installs it)");
    assert!(
        out.status.success(),
        "gcc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The configuration line naming lldb-dap: `DAPKIT_LLDB_DAP` when set; else none, the
/// preset finding `lldb-dap` or the newest `lldb-dap-N` (Debian's `lldb-22` installs
/// `/usr/bin/lldb-dap-22`) in PATH itself. Fails naming `bash .ci/install-peers` when
/// there is neither.
fn lldb_dap_config() -> String {
    if let Some(p) = std::env::var_os("DAPKIT_LLDB_DAP") {
        let p = std::path::PathBuf::from(p);
        assert!(
            p.is_file(),
            "DAPKIT_LLDB_DAP={} does not exist; unset it or run `bash .ci/install-peers`",
            p.display()
        );
        return format!("lldb_dap = {:?}\n", p.display().to_string());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).any(|dir| {
        dir.join("lldb-dap").is_file()
            || std::fs::read_dir(&dir).is_ok_and(|entries| {
                entries.flatten().any(|e| {
                    e.file_name()
                        .to_str()
                        .and_then(|n| n.strip_prefix("lldb-dap-"))
                        .is_some_and(|v| v.parse::<u32>().is_ok())
                })
            })
    });
    assert!(
        found,
        "lldb-dap missing: neither lldb-dap nor lldb-dap-N on PATH. Run `bash .ci/install-peers` \
         in the workspace root (it installs the Debian package lldb-22), or set DAPKIT_LLDB_DAP"
    );
    String::new()
}

fn agent(scenario: &str, dir: &Path) -> tokio::process::Command {
    let python = python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/mcp/agent.py");
    let mut cmd = tokio::process::Command::new(python);
    cmd.arg(script)
        .arg(scenario)
        .env("DAPKIT_BIN", env!("CARGO_BIN_EXE_dapkit"))
        .env("DAPKIT_WORK", dir)
        .env("DAPKIT_CONFIG", dir.join("config.toml"))
        .kill_on_drop(true);
    cmd
}

/// Runs a scenario to its end; fails with the agent's whole output.
async fn scenario(name: &str, with_gdb: bool) -> String {
    run_scenario(name, &workdir(with_gdb)).await
}

/// Runs the agent's scenario `name` in `dir` (a [`workdir`], perhaps with more in its
/// configuration); it must succeed and end by printing `NAME ok`. Returns its output.
async fn run_scenario(name: &str, dir: &tempfile::TempDir) -> String {
    let mut cmd = agent(name, dir.path());
    if let Ok(path) = std::env::var("DAPKIT_MCP_TRANSCRIPT") {
        cmd.env("DAPKIT_TRANSCRIPT", format!("{path}.{name}.json"));
    }
    let out = tokio::time::timeout(WHOLE, cmd.output())
        .await
        .unwrap_or_else(|_| panic!("scenario {name} did not end within {WHOLE:?}"))
        .expect("the agent starts (python with mcp: bash .ci/install-peers)");
    let report = format!(
        "{}\n--- stderr ---\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "scenario {name} failed:\n{report}");
    let last = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(last, format!("{name} ok"), "{report}");
    report
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debugpy_launch_step_evaluate_continue_to_the_end() {
    let report = scenario("debugpy", false).await;
    assert!(report.contains("tools ok: 14 schemas valid"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gdb_launch_step_evaluate_continue_to_the_end() {
    scenario("gdb", true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lldb_dap_launch_step_evaluate_continue_to_the_end() {
    let dir = workdir(false);
    compile_c(dir.path());
    let config = dir.path().join("config.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&lldb_dap_config());
    std::fs::write(&config, text).unwrap();
    run_scenario("lldb", &dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delve_launch_step_evaluate_continue_to_the_end() {
    let dir = {
        // The configuration names dlv; delve builds the program with the go on PATH.
        let dir = workdir(false);
        let dlv = peers::program_on_path("DAPKIT_DLV", "dlv");
        peers::program_on_path("DAPKIT_GO", "go");
        let config = dir.path().join("config.toml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&format!("dlv = {:?}\n", dlv.display().to_string()));
        std::fs::write(&config, text).unwrap();
        dir
    };
    run_scenario("delve", &dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_program_that_never_stops_answers_running_then_pauses() {
    scenario("running", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_to_a_program_that_connects_to_the_adapter() {
    scenario("attach", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_values_keep_the_snapshot_under_64_kib() {
    scenario("huge", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_inputs_are_tool_errors_and_the_server_lives() {
    scenario("hostile", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_joins_through_the_proxy_and_takes_control() {
    let dir = workdir(false);
    let mut cmd = agent("join", dir.path());
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the agent starts");
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = Vec::new();
    tokio::time::timeout(WHOLE, async {
        // The agent holds a stopped session and says where its proxy listens.
        let join = loop {
            let line = lines.next_line().await.unwrap();
            let Some(line) = line else {
                let mut err = String::new();
                tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut err)
                    .await
                    .unwrap();
                panic!(
                    "the agent ended before joining:\n{}\n{err}",
                    seen.join("\n")
                );
            };
            seen.push(line.clone());
            if let Some(rest) = line.strip_prefix("JOIN ") {
                break serde_json::from_str::<serde_json::Value>(rest).unwrap();
            }
        };
        let proxy: std::net::SocketAddr = join["proxy"].as_str().unwrap().parse().unwrap();
        assert!(proxy.ip().is_loopback(), "{join}");
        let connection = dapkit_transport::connect(&Endpoint::Tcp(proxy), &RetryPolicy::default())
            .await
            .expect("connect to the session's proxy");
        let (person, _events) = Client::connect(connection, ClientOptions::new());
        let mut init = InitializeRequestArguments::new("debugpy");
        init.lines_start_at1 = Some(true);
        init.path_format = Some("path".into());
        person
            .request::<InitializeRequest>(init)
            .await
            .expect("initialize");
        let thread = join["thread"].as_i64().unwrap() as i32;
        let trace = person
            .request::<StackTraceRequest>(StackTraceArguments::new(thread))
            .await
            .expect("the person reads the stack");
        let top = trace.body.stack_frames.first().expect("a frame");
        assert_eq!(top.name, join["top"][0].as_str().unwrap(), "{join}");
        assert_eq!(top.line, join["top"][1].as_u64().unwrap(), "{join}");
        person
            .request_raw("dapkitProxy/takeControl", None)
            .await
            .expect("takeControl");
        stdin.write_all(b"taken\n").await.unwrap();
        stdin.flush().await.unwrap();
        while let Some(line) = lines.next_line().await.unwrap() {
            seen.push(line);
        }
        let status = child.wait().await.unwrap();
        let mut err = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut stderr, &mut err)
            .await
            .unwrap();
        assert!(
            status.success(),
            "the agent failed:\n{}\n{err}",
            seen.join("\n")
        );
        assert_eq!(
            seen.last().map(String::as_str),
            Some("join ok"),
            "{}",
            seen.join("\n")
        );
        person.close().await;
    })
    .await
    .unwrap_or_else(|_| {
        panic!(
            "the join scenario did not end in time:\n{}",
            seen.join("\n")
        )
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_agent_joins_a_session_a_person_started() {
    use dapkit_proxy::{Adapter, Proxy, ProxyOptions};
    use dapkit_types::Event;
    let dir = workdir(false);
    let program = dir.path().join("prog.py");
    let line = peers::line_of(PY_PROGRAM, "# FIRST");
    tokio::time::timeout(WHOLE, async {
        // The person's side: debugpy behind a proxy, launched and stopped at a breakpoint.
        let mut adapter = dapkit_transport::StdioCommand::new(python());
        adapter.args = vec!["-m".into(), "debugpy.adapter".into()];
        let listen = Endpoint::Tcp("127.0.0.1:0".parse().unwrap());
        let proxy = Proxy::start(&listen, &Adapter::Stdio(adapter), ProxyOptions::new())
            .await
            .expect("the proxy starts debugpy");
        let address = proxy.local_endpoint().tcp_addr().unwrap();
        let handle = proxy.handle();
        tokio::spawn(proxy.run());
        let connection =
            dapkit_transport::connect(&Endpoint::Tcp(address), &RetryPolicy::default())
                .await
                .unwrap();
        let (person, mut events) = Client::connect(connection, ClientOptions::new());
        let mut init = InitializeRequestArguments::new("debugpy");
        init.lines_start_at1 = Some(true);
        init.path_format = Some("path".into());
        person
            .request::<InitializeRequest>(init)
            .await
            .expect("initialize");
        let launch: LaunchRequestArguments = serde_json::from_value(serde_json::json!({
            "type": "python", "request": "launch", "program": program, "console": "internalConsole",
        }))
        .unwrap();
        let launched = person.send::<LaunchRequest>(launch).unwrap();
        events
            .wait_for_named("initialized", Duration::from_secs(30))
            .await
            .expect("initialized");
        person
            .request::<SetBreakpointsRequest>(
                SetBreakpointsArguments::new(Source::new().with_path(program.to_str().unwrap()))
                    .with_breakpoints(vec![SourceBreakpoint::new(line)]),
            )
            .await
            .expect("setBreakpoints");
        person
            .request::<ConfigurationDoneRequest>(None)
            .await
            .expect("configurationDone");
        launched.response().await.expect("launch");
        let Event::Stopped(stop) = events
            .wait_for_named("stopped", Duration::from_secs(30))
            .await
            .expect("the person's session stops")
        else {
            panic!("a stopped event")
        };
        // The agent joins with `dapkit mcp --join`.
        let mut cmd = agent("joined", dir.path());
        cmd.env("DAPKIT_JOIN", address.to_string());
        let out = cmd.output().await.expect("the agent runs");
        let report = format!(
            "{}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "the joined scenario failed:\n{report}"
        );
        assert!(report.contains("joined ok"), "{report}");
        // The person still controls the session and runs it to the end.
        person
            .request::<ContinueRequest>(ContinueArguments::new(stop.body.thread_id.unwrap_or(1)))
            .await
            .expect("the person continues after the agent left");
        let Event::Exited(exited) = events
            .wait_for_named("exited", Duration::from_secs(30))
            .await
            .expect("the program ends")
        else {
            panic!("an exited event")
        };
        assert_eq!(exited.body.exit_code, 3);
        let _ = person.disconnect(None).await;
        handle.shutdown();
    })
    .await
    .expect("the join scenario ends in time");
}

#[test]
fn bad_command_lines_exit_2_naming_what_is_wrong() {
    let dapkit = env!("CARGO_BIN_EXE_dapkit");
    let remote = std::process::Command::new(dapkit)
        .args(["mcp", "--join", "10.1.2.3:4711"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(remote.status.code(), Some(2));
    let err = String::from_utf8_lossy(&remote.stderr);
    assert!(
        err.contains("10.1.2.3:4711 is not a loopback address"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("mcp.toml");
    std::fs::write(&config, "[adapters.mine]\nargs = [\"--x\"]\n").unwrap();
    let bad = std::process::Command::new(dapkit)
        .args(["mcp", "--config"])
        .arg(&config)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("adapter `mine` has no `command`"), "{err}");
    assert!(
        bad.stdout.is_empty(),
        "stdout is the MCP channel: nothing else goes there"
    );
}
