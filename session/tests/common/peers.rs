//! What the tests against real peers share: locating a peer installed by
//! `bash .ci/install-peers`, the processes they start (killed by pid), markers in the
//! debuggee's source, and the requests and waits every session makes.

use dapkit_session::client::{Client, Events};
use dapkit_types::Event;
use dapkit_types::messages::{ContinueRequest, NextRequest, VariablesRequest};
use dapkit_types::types::{ContinueArguments, NextArguments, Variable, VariablesArguments};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The peer program named by the environment variable `var`, else
/// `<workspace root>/<in_workspace>`. Fails the test, naming `bash .ci/install-peers`,
/// when it does not exist; `what` names the peer, `wanted` what `var` may point to.
pub fn peer_path(var: &str, in_workspace: &str, what: &str, wanted: &str) -> PathBuf {
    if let Some(p) = from_env(var) {
        return p;
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(in_workspace);
    assert!(
        p.exists(),
        "{what} peer missing: {} not found. Run `bash .ci/install-peers` in the workspace \
         root (or set {var} to {wanted})",
        p.display()
    );
    p
}

/// The peers' Python (`DAPKIT_PEER_PYTHON`, else `<workspace>/.peers/venv/bin/python`),
/// which `bash .ci/install-peers` gives debugpy 1.8.22, ipykernel, jupyter_client and the
/// MCP SDK. Fails the test, naming `bash .ci/install-peers`, when it is missing or cannot
/// import debugpy.
pub fn python() -> PathBuf {
    let p = peer_path(
        "DAPKIT_PEER_PYTHON",
        ".peers/venv/bin/python",
        "debugpy",
        "a Python with debugpy 1.8.22",
    );
    let ok = Command::new(&p)
        .args(["-c", "import debugpy"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} cannot import debugpy; run `bash .ci/install-peers`",
        p.display()
    );
    p
}

/// The gdb to run (`DAPKIT_GDB`, else `<workspace>/.peers/gdb-venv/bin/gdb`); it must be
/// gdb 14 or later (the first with `-i dap`). Fails the test, naming
/// `bash .ci/install-peers`, otherwise.
pub fn gdb() -> PathBuf {
    let path = peer_path(
        "DAPKIT_GDB",
        ".peers/gdb-venv/bin/gdb",
        "gdb",
        "a gdb 14 or later",
    );
    let out = Command::new(&path)
        .args(["--nx", "--version"])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}; run `bash .ci/install-peers`",
                path.display()
            )
        });
    let text = String::from_utf8_lossy(&out.stdout);
    let first = text.lines().next().unwrap_or("");
    let major = first
        .split_whitespace()
        .last()
        .and_then(|v| v.split('.').next())
        .and_then(|v| v.parse::<u32>().ok());
    assert!(
        matches!(major, Some(m) if m >= 14),
        "{} is {first:?}; DAP needs gdb 14 or later: run `bash .ci/install-peers` (or set \
         DAPKIT_GDB)",
        path.display()
    );
    path
}

/// The path the environment variable `var` holds, if set; fails the test, naming
/// `bash .ci/install-peers`, when that path does not exist.
fn from_env(var: &str) -> Option<PathBuf> {
    let p = PathBuf::from(std::env::var_os(var)?);
    assert!(
        p.exists(),
        "{var}={} does not exist; unset it or run `bash .ci/install-peers`",
        p.display()
    );
    Some(p)
}

/// The program `name` as the environment variable `var` names it, else the first `name` on
/// `PATH`. Fails the test, naming `bash .ci/install-peers`, when neither exists.
pub fn program_on_path(var: &str, name: &str) -> PathBuf {
    if let Some(p) = from_env(var) {
        return p;
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "{name} missing: not on PATH. Run `bash .ci/install-peers` in the workspace \
                 root (or set {var} to a {name})"
            )
        })
}

/// The 1-based line of `program` carrying `marker`.
pub fn line_of(program: &str, marker: &str) -> u64 {
    program
        .lines()
        .position(|l| l.contains(marker))
        .map(|i| i as u64 + 1)
        .expect("marker in program")
}

/// Starts `cmd` as the leader of its own process group, stdin and stdout discarded.
pub fn spawn_group(cmd: &mut Command) -> Child {
    use std::os::unix::process::CommandExt as _;
    cmd.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("start the peer")
}

/// Kills the process groups this test started (by their leaders' pids) when dropped.
pub struct GroupGuard {
    pub pids: Arc<Mutex<Vec<u32>>>,
    pub child: Option<Child>,
}

impl GroupGuard {
    pub fn new(child: Option<Child>) -> GroupGuard {
        let pids = Arc::new(Mutex::new(Vec::new()));
        if let Some(c) = &child {
            pids.lock().unwrap().push(c.id());
        }
        GroupGuard { pids, child }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        for pid in self.pids.lock().unwrap().iter() {
            // Each was started as the leader of its own process group.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{pid}")])
                .stderr(Stdio::null())
                .status();
        }
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Receives events (up to `wait`) until one matches, failing with the events passed over.
pub async fn wait_event(
    events: &mut Events,
    what: &str,
    wait: Duration,
    pred: impl Fn(&Event) -> bool,
) -> Event {
    match events.wait_for(&pred, wait).await {
        Ok(e) => e,
        Err(err) => {
            let mut seen = Vec::new();
            while let Some(e) = events.try_recv() {
                seen.push(format!("{e:?}"));
            }
            panic!("no {what} event ({err}); other events: {seen:#?}")
        }
    }
}

/// The children of the expandable value `reference`.
pub async fn variables(client: &Client, reference: i32) -> Vec<Variable> {
    assert!(reference > 0, "variables of a non-expandable value");
    client
        .request::<VariablesRequest>(VariablesArguments::new(reference))
        .await
        .unwrap()
        .body
        .variables
}

/// The variable `name` among `vars`, failing with all names and values.
pub fn find<'a>(vars: &'a [Variable], name: &str) -> &'a Variable {
    vars.iter().find(|v| v.name == name).unwrap_or_else(|| {
        let all: Vec<(&str, &str)> = vars
            .iter()
            .map(|v| (v.name.as_str(), v.value.as_str()))
            .collect();
        panic!("no variable {name:?} among {all:?}")
    })
}

/// Continues `thread_id` (`continue`), failing the test if the request fails.
pub async fn resume(client: &Client, thread_id: i32) {
    client
        .request::<ContinueRequest>(ContinueArguments::new(thread_id))
        .await
        .unwrap();
}

/// Steps `thread_id` over one line (`next`), failing the test if the request fails.
pub async fn step_over(client: &Client, thread_id: i32) {
    client
        .request::<NextRequest>(NextArguments::new(thread_id))
        .await
        .unwrap();
}
