//! What goes wrong, against real kernels: bad connection files, a wrong key, a kernel
//! without a debugger, a kernel interrupted, killed, shut down or restarted mid-session.
//! Each ends with a clear error in bounded time, never a hang.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{Kernel, connection_json, options, python};
use dapkit_jupyter::{ConnectOptions, Error, KernelDebugger};
use dapkit_session::{ClientOptions, Events, RequestError};
use dapkit_types::Event;
use dapkit_types::messages::*;
use dapkit_types::types::*;
use serde_json::json;
use std::process::Command;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(60);
/// How long the end of a session may take to reach the client (heartbeat 5 s + slack).
const END_WITHIN: Duration = Duration::from_secs(30);

const CELL: &str = "def g(n):\n    m = n + 1\n    return m\ng(1)\n";

#[tokio::test]
async fn bad_connection_files_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.json");
    let err = KernelDebugger::connect(&missing)
        .await
        .expect_err("missing file");
    assert!(matches!(err, Error::ConnectionFile { .. }), "{err:?}");
    assert!(
        err.to_string().contains("missing.json") && err.to_string().contains("cannot read"),
        "{err}"
    );

    let garbage = dir.path().join("garbage.json");
    std::fs::write(&garbage, "{\"ip\": \"127.0.0.1\"").expect("write");
    let err = KernelDebugger::connect(&garbage)
        .await
        .expect_err("truncated JSON");
    assert!(
        err.to_string().contains("garbage.json")
            && err.to_string().contains("not a connection file"),
        "{err}"
    );

    // Well-formed, but nothing listens on its ports.
    let listeners: Vec<_> = (0..5)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    let ports: Vec<u16> = listeners
        .iter()
        .map(|l| l.local_addr().expect("addr").port())
        .collect();
    drop(listeners);
    let nobody = dir.path().join("nobody.json");
    std::fs::write(&nobody, connection_json(&ports, "k")).expect("write");
    let started = Instant::now();
    let err = KernelDebugger::connect_with(
        &nobody,
        ConnectOptions::new().with_connect_timeout(Duration::from_secs(2)),
    )
    .await
    .expect_err("no kernel there");
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{}", ports[1])),
        "names the endpoint: {err}"
    );
    assert!(started.elapsed() < END_WITHIN, "gave up in bounded time");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_key_times_out_naming_the_key() {
    let k = Kernel::start();
    let right = k.connect().await; // the kernel is up and answers its own key
    assert!(right.gone().is_none());
    let text = std::fs::read_to_string(&k.file).expect("connection file");
    let wrong = k.dir.path().join("wrong-key.json");
    std::fs::write(&wrong, text.replace(&k.key, "not-the-key")).expect("write");
    let err = KernelDebugger::connect_with(
        &wrong,
        options().with_kernel_info_timeout(Duration::from_secs(3)),
    )
    .await
    .expect_err("the kernel drops messages signed with another key");
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("kernel_info_request") && text.contains("key"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kernel_without_debugger_is_refused() {
    // ipykernel lists "debugger" only when debugpy imports: shadow it with one that does not.
    let shadow = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(shadow.path().join("debugpy")).expect("mkdir");
    std::fs::write(
        shadow.path().join("debugpy/__init__.py"),
        "raise ImportError('debugpy disabled for this test')\n",
    )
    .expect("write");
    let k = Kernel::start_with(Some(shadow.path()));
    let err = KernelDebugger::connect_with(&k.file, options())
        .await
        .expect_err("no debugger");
    let Error::NoDebugger {
        implementation,
        supported_features,
    } = &err
    else {
        panic!("expected NoDebugger, got {err:?}");
    };
    assert!(implementation.starts_with("ipython"), "{implementation}");
    assert!(!supported_features.iter().any(|f| f == "debugger"));
    assert!(err.to_string().contains("supported_features"), "{err}");
}

/// A session stopped at a breakpoint in CELL; returns the client, its events and the
/// pending execution.
async fn stopped_session(
    kernel: &KernelDebugger,
) -> (
    dapkit_session::Client,
    Events,
    tokio::task::JoinHandle<Result<dapkit_jupyter::ExecuteResult, Error>>,
    i32,
) {
    let (client, mut events) = kernel.client(ClientOptions::new().with_request_timeout(Some(WAIT)));
    client
        .request::<InitializeRequest>(InitializeRequestArguments::new("dapkit"))
        .await
        .expect("initialize");
    client
        .request::<AttachRequest>(serde_json::from_value(json!({})).expect("arguments"))
        .await
        .expect("attach");
    let path = client
        .request_raw("dumpCell", Some(json!({"code": CELL})))
        .await
        .expect("dumpCell");
    let path = serde_json::to_value(&path).expect("json")["body"]["sourcePath"].clone();
    client
        .request_raw(
            "setBreakpoints",
            Some(json!({"source": {"path": path}, "breakpoints": [{"line": 3}]})),
        )
        .await
        .expect("setBreakpoints");
    client
        .request::<ConfigurationDoneRequest>(None)
        .await
        .expect("configurationDone");
    let runner = kernel.clone();
    let execution = tokio::spawn(async move { runner.execute(CELL).await });
    let Ok(Event::Stopped(stop)) = events.wait_for_named("stopped", WAIT).await else {
        panic!("not stopped at the breakpoint");
    };
    (
        client,
        events,
        execution,
        stop.body.thread_id.expect("thread"),
    )
}

async fn wait_terminated(events: &mut Events) -> Event {
    events
        .wait_for_named("terminated", END_WITHIN)
        .await
        .expect("the event stream ends with terminated")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kernel_killed_mid_session_ends_it_clearly() {
    let k = Kernel::start();
    let kernel = k.connect().await;
    let (client, mut events, execution, _) = stopped_session(&kernel).await;
    let started = Instant::now();
    k.signal("KILL");
    // A request sent now waits for a reply that cannot come, then fails naming why.
    let err = client
        .request::<ThreadsRequest>(None)
        .await
        .expect_err("no kernel to answer");
    let text = err.to_string() + &err.adapter_message().unwrap_or_default();
    assert!(
        text.contains("kernel is gone") || matches!(err, RequestError::Closed),
        "{text}"
    );
    let terminated = wait_terminated(&mut events).await;
    let body = serde_json::to_value(&terminated).expect("json");
    // Seen as the channel's connection reset, or as the heartbeat's silence.
    let reason = body["body"]["reason"].as_str().unwrap_or("");
    assert!(
        reason.contains("closed") || reason.contains("heartbeat"),
        "{body}"
    );
    let outcome = tokio::time::timeout(END_WITHIN, execution)
        .await
        .expect("execute ends")
        .expect("task");
    assert!(matches!(outcome, Err(Error::KernelGone(_))), "{outcome:?}");
    assert!(started.elapsed() < END_WITHIN);
    assert!(kernel.gone().is_some());
    let err = kernel.execute("1").await.expect_err("gone");
    assert!(err.to_string().contains("kernel is gone"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kernel_interrupted_mid_session_ends_the_cell() {
    let k = Kernel::start();
    let kernel = k.connect().await;
    let (client, mut events, execution, _) = stopped_session(&kernel).await;
    k.signal("INT");
    // Interrupting a kernel stopped at a breakpoint raises KeyboardInterrupt in the cell:
    // the debugger lets the thread go (`continued`) and the cell ends with that error.
    let outcome = tokio::time::timeout(END_WITHIN, execution)
        .await
        .expect("the interrupted cell ends in bounded time")
        .expect("task")
        .expect("the kernel lives on after an interrupt");
    assert_eq!(outcome.status, "error", "{outcome:?}");
    let error = outcome.error.as_ref().expect("error details");
    assert_eq!(error.ename, "KeyboardInterrupt", "{error:?}");
    events
        .wait_for_named("continued", END_WITHIN)
        .await
        .expect("the client is told the thread runs again");
    let info = client
        .request_raw("debugInfo", Some(json!({})))
        .await
        .expect("the session still answers");
    let info = serde_json::to_value(&info).expect("json");
    assert_eq!(info["body"]["stoppedThreads"], json!([]), "{info}");
    assert!(kernel.gone().is_none());
}

/// Another frontend (jupyter_client, as a notebook server would) shuts the kernel down, or
/// restarts it, and waits for the kernel's `shutdown_reply` on the control channel (without
/// that wait, closing the channels at once could drop the request on a loaded machine and
/// the kernel would never hear it).
fn jupyter_client_shutdown(file: &std::path::Path, restart: bool) {
    let script = format!(
        "import sys\nfrom jupyter_client import BlockingKernelClient\n\
         c = BlockingKernelClient(connection_file=sys.argv[1])\nc.load_connection_file()\n\
         c.start_channels()\nc.shutdown(restart={})\n\
         c.control_channel.get_msg(timeout=20)\nc.stop_channels()\n",
        if restart { "True" } else { "False" }
    );
    let status = Command::new(python())
        .args(["-c", &script])
        .arg(file)
        .stderr(std::process::Stdio::null()) // its channel threads complain as the kernel goes
        .status()
        .expect("run jupyter_client");
    assert!(status.success(), "jupyter_client shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kernel_shut_down_or_restarting_ends_the_session() {
    for restart in [false, true] {
        let k = Kernel::start();
        let kernel = k.connect().await;
        let (client, mut events, execution, _) = stopped_session(&kernel).await;
        let file = k.file.clone();
        let shutdown = tokio::task::spawn_blocking(move || jupyter_client_shutdown(&file, restart));
        let terminated = wait_terminated(&mut events).await;
        let reason = serde_json::to_value(&terminated).expect("json")["body"]["reason"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        let expected = if restart { "restarting" } else { "shut down" };
        // Shut down while stopped, the kernel may die before publishing: then the
        // heartbeat tells.
        assert!(
            reason.contains(expected) || reason.contains("heartbeat"),
            "{reason}"
        );
        let outcome = tokio::time::timeout(END_WITHIN, execution)
            .await
            .expect("execute ends")
            .expect("task");
        assert!(outcome.is_err(), "{outcome:?}");
        assert!(client.request::<ThreadsRequest>(None).await.is_err());
        shutdown.await.expect("shutdown script");
    }
}
