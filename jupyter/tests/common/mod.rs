//! A real ipykernel for the tests: its own ports on 127.0.0.1, a connection file in a
//! temporary directory, `python -m ipykernel_launcher -f FILE`, killed by pid when dropped.
#![allow(dead_code)]

use dapkit_jupyter::{ConnectOptions, KernelDebugger};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The Python with ipykernel installed by `bash .ci/install-peers` (or `DAPKIT_PEER_PYTHON`).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("DAPKIT_PEER_PYTHON") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.peers/venv/bin/python");
    assert!(
        p.exists(),
        "kernel peer missing: {} not found. Run `bash .ci/install-peers` in the workspace root \
         (or set DAPKIT_PEER_PYTHON to a Python with ipykernel 7)",
        p.display()
    );
    let ok = Command::new(&p)
        .args(["-c", "import ipykernel"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "ipykernel missing in {}: run `bash .ci/install-peers`",
        p.display()
    );
    p
}

pub struct Kernel {
    pub dir: tempfile::TempDir,
    pub file: PathBuf,
    pub key: String,
    pub child: Child,
}

/// Free loopback ports (bound, then released for the kernel to take).
fn ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a loopback port"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("bound address").port())
        .collect()
}

pub fn connection_json(ports: &[u16], key: &str) -> String {
    serde_json::json!({
        "shell_port": ports[0], "iopub_port": ports[1], "stdin_port": ports[2],
        "control_port": ports[3], "hb_port": ports[4], "ip": "127.0.0.1", "key": key,
        "transport": "tcp", "signature_scheme": "hmac-sha256", "kernel_name": "python3"
    })
    .to_string()
}

impl Kernel {
    /// Starts a kernel; `extra_path` is prepended to PYTHONPATH (to shadow modules).
    pub fn start_with(extra_path: Option<&Path>) -> Kernel {
        let dir = tempfile::tempdir().expect("temporary directory");
        let key = format!("test-key-{}", std::process::id());
        let file = dir.path().join("kernel.json");
        std::fs::write(&file, connection_json(&ports(5), &key)).expect("write connection file");
        let mut cmd = Command::new(python());
        cmd.args(["-m", "ipykernel_launcher", "-f"])
            .arg(&file)
            .env("JUPYTER_RUNTIME_DIR", dir.path())
            .env("IPYTHONDIR", dir.path().join("ipython"))
            .env("PYDEVD_DISABLE_FILE_VALIDATION", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        if let Some(extra) = extra_path {
            cmd.env("PYTHONPATH", extra);
        }
        let child = cmd.spawn().expect("start ipykernel");
        Kernel {
            dir,
            file,
            key,
            child,
        }
    }

    pub fn start() -> Kernel {
        Kernel::start_with(None)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Connects, giving a kernel that is still importing time to answer.
    pub async fn connect(&self) -> KernelDebugger {
        KernelDebugger::connect_with(&self.file, options())
            .await
            .expect("connect to the kernel")
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{signal} {}", self.pid());
    }
}

/// Options for tests: a slow (loaded) machine may take long to start a kernel.
pub fn options() -> ConnectOptions {
    ConnectOptions::new()
        .with_kernel_info_timeout(Duration::from_secs(60))
        .with_request_timeout(Some(Duration::from_secs(60)))
        .with_heartbeat(Duration::from_millis(500), Duration::from_secs(5))
}

impl Drop for Kernel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where a stopped thread is: its top frame and the variables of that frame's `Locals`
/// scope (stackTrace → scopes → variables).
pub struct TopFrame {
    /// The innermost frame.
    pub frame: dapkit_types::types::StackFrame,
    /// The `Locals` scope's variables.
    pub locals: Vec<dapkit_types::types::Variable>,
}

impl TopFrame {
    /// Asks the stack, scopes and variables of `thread`.
    pub async fn of(client: &dapkit_session::Client, thread: i32) -> TopFrame {
        use dapkit_types::messages::{ScopesRequest, StackTraceRequest, VariablesRequest};
        use dapkit_types::types::{ScopesArguments, StackTraceArguments, VariablesArguments};
        let trace = client
            .request::<StackTraceRequest>(StackTraceArguments::new(thread))
            .await
            .expect("stackTrace");
        let frame = trace
            .body
            .stack_frames
            .into_iter()
            .next()
            .expect("a stack frame");
        let scopes = client
            .request::<ScopesRequest>(ScopesArguments::new(frame.id))
            .await
            .expect("scopes");
        let locals = scopes
            .body
            .scopes
            .iter()
            .find(|s| s.name == "Locals")
            .expect("a Locals scope");
        let vars = client
            .request::<VariablesRequest>(VariablesArguments::new(locals.variables_reference))
            .await
            .expect("variables");
        TopFrame {
            frame,
            locals: vars.body.variables,
        }
    }

    /// The top frame's source path.
    pub fn path(&self) -> Option<&str> {
        self.frame.source.as_ref().and_then(|s| s.path.as_deref())
    }

    /// The value of local `name`; panics naming the locals when there is none.
    pub fn value(&self, name: &str) -> &str {
        self.locals
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.value.as_str())
            .unwrap_or_else(|| panic!("no local {name} in {:?}", self.locals))
    }
}
