//! `dapkit jupyter` as a user runs it, against a real ipykernel 7 (installed by
//! `bash .ci/install-peers`): dapkit's own Client debugs a cell in plain DAP through the
//! served adapter, with `jupyterExecute`; usage and connection errors exit 2 with one line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../jupyter/tests/common/mod.rs"]
mod common;

use common::{Kernel, TopFrame};
use dapkit_jupyter::CellNaming;
use dapkit_session::{Client, ClientOptions};
use dapkit_transport::{Endpoint, RetryPolicy, connect};
use dapkit_types::Event;
use dapkit_types::messages::*;
use dapkit_types::types::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);

const CELL: &str = "def scale(xs, k):\n    out = [x * k for x in xs]\n    return out\nvalues = scale([1, 2, 3], 10)\nprint(sum(values))\n";

/// `dapkit jupyter` serving the kernel; killed by pid when dropped.
struct Served {
    child: Child,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(kernel: &Kernel, extra: &[&str]) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dapkit"))
        .args(["jupyter", "--connection-file"])
        .arg(&kernel.file)
        .args(["--listen"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start dapkit jupyter");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("ready line");
    let ready: Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("ready line {line:?}: {e}"));
    let addr = ready["ready"]["listen"]
        .as_str()
        .expect("listen address")
        .to_owned();
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{line}"
    );
    assert_eq!(
        ready.as_object().map(|o| o.len()),
        Some(1),
        "exactly the ready member: {line}"
    );
    Served { child, addr }
}

async fn client_for(served: &Served) -> (Client, dapkit_session::Events) {
    let endpoint = Endpoint::Tcp(served.addr.parse().expect("address"));
    let connection = connect(&endpoint, &RetryPolicy::default())
        .await
        .expect("connect");
    Client::connect(
        connection,
        ClientOptions::new().with_request_timeout(Some(WAIT)),
    )
}

async fn call(client: &Client, command: &str, arguments: Value) -> Value {
    let response = client
        .request_raw(command, Some(arguments))
        .await
        .unwrap_or_else(|e| panic!("`{command}` failed: {e}"));
    serde_json::to_value(&response).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dap_client_debugs_a_cell_through_dapkit_jupyter() {
    let kernel = Kernel::start();
    kernel.connect().await; // wait until the kernel answers
    let mut served = serve(&kernel, &[]);
    let (client, mut events) = client_for(&served).await;

    let caps = client
        .request::<InitializeRequest>(InitializeRequestArguments::new("dapkit"))
        .await
        .expect("initialize");
    assert_eq!(
        caps.body
            .as_ref()
            .and_then(|c| c.supports_configuration_done_request),
        Some(true)
    );
    client
        .request::<AttachRequest>(serde_json::from_value(json!({})).expect("arguments"))
        .await
        .expect("attach");
    let info = call(&client, "debugInfo", json!({})).await;
    let file = CellNaming::from_debug_info(&info["body"])
        .expect("naming")
        .file_name(CELL);
    // debugpy verifies breakpoints only in files that exist: dump the cell first (its name
    // is known from debugInfo).
    let dumped = call(&client, "dumpCell", json!({"code": CELL})).await;
    assert_eq!(dumped["body"]["sourcePath"], file.as_str());
    let set = client
        .request::<SetBreakpointsRequest>(
            SetBreakpointsArguments::new(Source::new().with_path(file.clone()))
                .with_breakpoints(vec![SourceBreakpoint::new(3)]),
        )
        .await
        .expect("setBreakpoints");
    assert!(
        set.body.breakpoints[0].verified,
        "{:?}",
        set.body.breakpoints
    );
    client
        .request::<ConfigurationDoneRequest>(None)
        .await
        .expect("configurationDone");

    let execute = client
        .send_raw("jupyterExecute", Some(json!({"code": CELL})))
        .expect("send jupyterExecute");
    let Ok(Event::Stopped(stop)) = events.wait_for_named("stopped", WAIT).await else {
        panic!("no stopped event");
    };
    let thread = stop.body.thread_id.expect("thread");
    let stack = TopFrame::of(&client, thread).await;
    let top = &stack.frame;
    assert_eq!(top.line, 3);
    assert_eq!(stack.path(), Some(file.as_str()));
    assert_eq!(stack.value("out"), "[10, 20, 30]");
    assert_eq!(stack.value("k"), "10");
    let mut eval = EvaluateArguments::new("len(out) * k");
    eval.frame_id = Some(top.id);
    assert_eq!(
        client
            .request::<EvaluateRequest>(eval)
            .await
            .expect("evaluate")
            .body
            .result,
        "30"
    );
    client
        .request::<ContinueRequest>(ContinueArguments::new(thread))
        .await
        .expect("continue");
    let done =
        serde_json::to_value(execute.response().await.expect("jupyterExecute")).expect("json");
    assert_eq!(done["body"]["status"], "ok", "{done}");
    assert_eq!(done["body"]["stdout"], "60\n", "{done}");
    assert!(
        done["body"]["executionCount"]
            .as_i64()
            .is_some_and(|n| n >= 1),
        "{done}"
    );
    let globals = call(&client, "inspectVariables", json!({})).await;
    assert!(
        globals["body"]["variables"].as_array().is_some_and(|v| v
            .iter()
            .any(|v| v["name"] == "values" && v["value"] == "[10, 20, 30]")),
        "{globals}"
    );
    client.disconnect(None).await.expect("disconnect");

    // A second client is served after the first one left.
    let (client, _events) = client_for(&served).await;
    let info = call(&client, "debugInfo", json!({})).await;
    assert_eq!(info["body"]["isStarted"], false, "{info}");
    client.close().await;

    // The kernel dies: dapkit jupyter says so and exits 2, in bounded time.
    drop(kernel);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = served.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "dapkit jupyter still runs after the kernel died"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status.code(), Some(2));
    let mut stderr = String::new();
    std::io::Read::read_to_string(served.child.stderr.as_mut().expect("stderr"), &mut stderr)
        .expect("stderr");
    assert!(
        stderr.contains("dapkit: error: the kernel is gone"),
        "{stderr}"
    );
}

fn dapkit(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_dapkit"))
        .args(args)
        .output()
        .expect("run dapkit")
}

#[test]
fn usage_and_connection_file_errors_exit_2_with_one_line() {
    let out = dapkit(&["jupyter", "--connection-file", "k.json"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("dapkit: error:") && stderr.contains("--listen"),
        "{stderr}"
    );

    let out = dapkit(&[
        "jupyter",
        "--connection-file",
        "k.json",
        "--listen",
        "nowhere",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("neither a port nor HOST:PORT"));

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("kernel-x.json");
    std::fs::write(&file, r#"{"ip": "127.0.0.1", "transport": "tcp"}"#).expect("write");
    let out = dapkit(&[
        "jupyter",
        "--connection-file",
        file.to_str().expect("utf-8 path"),
        "--stdio",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("kernel-x.json") && stderr.contains("shell_port"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "no ready line on failure");
}

/// VS Code's DebugClient (npm `@vscode/debugadapter-testsupport`, installed in
/// session/tests/vscode by `bash .ci/install-peers`) drives `dapkit jupyter` over TCP:
/// `cli/tests/fixtures/jupyter/debugclient.test.js`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vscode_debug_client_debugs_a_cell_through_dapkit_jupyter() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let modules = root.join("session/tests/vscode/node_modules");
    assert!(
        modules.join("@vscode/debugadapter-testsupport").exists(),
        "VS Code's DebugClient missing in {}: run `bash .ci/install-peers`",
        modules.display()
    );
    let kernel = Kernel::start();
    kernel.connect().await;
    let served = serve(&kernel, &[]);
    let port = served.addr.rsplit(':').next().expect("port").to_owned();
    let script = root.join("cli/tests/fixtures/jupyter/debugclient.test.js");
    let mut node = tokio::process::Command::new("node");
    node.arg("--test")
        .arg(&script)
        .env("NODE_PATH", &modules)
        .env("DAPKIT_JUPYTER_PORT", &port)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = node
        .spawn()
        .expect("run node (install Node.js 20+: `bash .ci/install-peers`)");
    let output = tokio::time::timeout(Duration::from_secs(180), child.wait_with_output())
        .await
        .expect("the DebugClient test finishes within 3 minutes")
        .expect("node ran");
    let text = format!(
        "--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "DebugClient test failed\n{text}");
    assert!(
        text.contains("# pass 1") && text.contains("# fail 0"),
        "{text}"
    );
}
