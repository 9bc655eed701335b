//! Jupyter kernels as Debug Adapter Protocol adapters.
//!
//! A Jupyter kernel with a debugger (ipykernel with debugpy) speaks DAP inside Jupyter
//! messages: the frontend sends `debug_request` on the control channel with a DAP request
//! as its content, the kernel answers `debug_reply`, and DAP events arrive as
//! `debug_event` on IOPub (messaging spec 5.5). [`KernelDebugger`] turns this back into a
//! plain DAP connection, so any DAP client ([`dapkit_session::Client`], an editor through
//! `dapkit jupyter`) can debug a running kernel.
//!
//! - [`KernelDebugger::connect`] reads the connection file, checks `kernel_info_reply`'s
//!   `supported_features` for `debugger`, and keeps a heartbeat.
//! - [`KernelDebugger::dap_connection`] (or [`serve`](KernelDebugger::serve) over any byte
//!   stream): requests go out as `debug_request`, replies are matched by the Jupyter
//!   `parent_header.msg_id` (never by DAP `request_seq`, which ipykernel does not keep) and
//!   become proper DAP responses (`seq` numbered by the bridge; `request_seq`, `command` as
//!   the client sent them; what the kernel sent instead is kept in `kernelReply`).
//!   The custom request `jupyterExecute {"code"}` runs code in the kernel and answers
//!   `{"status", "executionCount", "stdout", "stderr"}` when it finishes.
//! - [`KernelDebugger::execute`] runs a cell on the shell channel and collects its output.
//! - [`CellNaming`] gives the file name the kernel uses for a cell's code, from `debugInfo`.
//! - When the kernel goes away (heartbeat silent, IOPub `shutdown_reply`, a restart),
//!   pending requests fail with [`Error::KernelGone`] and a served DAP connection gets a
//!   `terminated` event, then is closed.
//!
//! ```no_run
//! use dapkit_jupyter::KernelDebugger;
//! use dapkit_session::ClientOptions;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let kernel = KernelDebugger::connect("kernel-1234.json").await?;
//! let (client, mut events) = kernel.client(ClientOptions::new());
//! let info = client.request_raw("debugInfo", None).await?;
//! let outcome = kernel.execute("print(6 * 7)").await?;
//! assert_eq!(outcome.stdout, "42\n");
//! # Ok(()) }
//! ```

mod bridge;
mod cell;
mod connection_file;
mod error;
mod heartbeat;
mod kernel;
mod wire;

pub use bridge::{JUPYTER_EXECUTE, QUEUE_TO_CLIENT, ServeEnd, dap_response};
pub use cell::CellNaming;
pub use connection_file::{ConnectionInfo, Transport};
pub use error::Error;

use dapkit_session::{Client, ClientOptions, Events};
use kernel::{Channel, Kernel, Timing};
use serde_json::{Value, json};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream};
use tokio::task::JoinHandle;

/// Output kept per stream of one execution (stdout, stderr); beyond it the text is cut and
/// [`ExecuteResult::truncated`] is set.
pub const MAX_OUTPUT_BYTES: usize = 1 << 20;

/// How [`KernelDebugger::connect_with`] connects and how long it waits.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// Reaching each channel (default 10 s).
    pub connect_timeout: Duration,
    /// The `kernel_info_reply` (default 10 s): a kernel with another key never answers.
    pub kernel_info_timeout: Duration,
    /// Each `debug_request` (default 60 s; `None`: wait as long as the kernel lives).
    pub request_timeout: Option<Duration>,
    /// Heartbeat period (default 1 s).
    pub heartbeat_interval: Duration,
    /// A heartbeat silent this long means the kernel is gone (default 5 s).
    pub heartbeat_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(10),
            kernel_info_timeout: Duration::from_secs(10),
            request_timeout: Some(Duration::from_secs(60)),
            heartbeat_interval: Duration::from_secs(1),
            heartbeat_timeout: Duration::from_secs(5),
        }
    }
}

impl ConnectOptions {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets [`connect_timeout`](Self::connect_timeout).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets [`kernel_info_timeout`](Self::kernel_info_timeout).
    pub fn with_kernel_info_timeout(mut self, timeout: Duration) -> Self {
        self.kernel_info_timeout = timeout;
        self
    }

    /// Sets [`request_timeout`](Self::request_timeout).
    pub fn with_request_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Sets the heartbeat period and the silence after which the kernel counts as gone.
    pub fn with_heartbeat(mut self, interval: Duration, timeout: Duration) -> Self {
        self.heartbeat_interval = interval;
        self.heartbeat_timeout = timeout;
        self
    }
}

/// A connection to a kernel's debugger. Cheap to clone; the reader tasks stop when the
/// last clone (and every connection it serves) is dropped.
#[derive(Clone)]
pub struct KernelDebugger {
    kernel: Arc<Kernel>,
    shared: Arc<Shared>,
}

struct Shared {
    _tasks: Tasks,
    kernel_info: Value,
    options: ConnectOptions,
}

/// The channel reader tasks, stopped when dropped.
struct Tasks(Vec<JoinHandle<()>>);

impl Drop for Tasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

impl std::fmt::Debug for KernelDebugger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelDebugger")
            .field("connection", &self.kernel.info)
            .field("gone", &self.kernel.gone())
            .finish()
    }
}

/// What running code on the shell channel gave.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ExecuteResult {
    /// `ok`, `error` or `aborted`, from `execute_reply`.
    pub status: String,
    /// The cell's execution count.
    pub execution_count: Option<i64>,
    /// Text the code printed to stdout (`stream` messages on IOPub).
    pub stdout: String,
    /// Text printed to stderr.
    pub stderr: String,
    /// The value of the cell's last expression (`execute_result` data), if any.
    pub result: Option<Value>,
    /// The exception, when `status` is `error`.
    pub error: Option<ExecuteError>,
    /// Output beyond [`MAX_OUTPUT_BYTES`] per stream was dropped.
    pub truncated: bool,
    /// The `execute_reply` content as sent.
    pub reply: Value,
}

/// An exception raised by executed code.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct ExecuteError {
    /// Exception class name.
    pub ename: String,
    /// Exception value.
    pub evalue: String,
    /// Formatted traceback lines.
    pub traceback: Vec<String>,
}

impl KernelDebugger {
    /// Connects to the kernel described by `connection_file` with the default
    /// [`ConnectOptions`].
    pub async fn connect(connection_file: impl AsRef<Path>) -> Result<KernelDebugger, Error> {
        Self::connect_with(connection_file, ConnectOptions::default()).await
    }

    /// Connects to the kernel described by `connection_file`: reaches its channels, asks
    /// `kernel_info` (on control, so a busy shell does not matter) and refuses a kernel
    /// whose `supported_features` lacks `debugger`.
    pub async fn connect_with(
        connection_file: impl AsRef<Path>,
        options: ConnectOptions,
    ) -> Result<KernelDebugger, Error> {
        let info = ConnectionInfo::read(connection_file.as_ref())?;
        let timing = Timing {
            connect: options.connect_timeout,
            heartbeat_interval: options.heartbeat_interval,
            heartbeat_timeout: options.heartbeat_timeout,
        };
        let (kernel, tasks) = Kernel::connect(info, &timing).await?;
        let tasks = Tasks(tasks);
        // IOPub only delivers once the subscription reached the kernel: ask kernel_info
        // (which the kernel answers with status messages on IOPub) until IOPub speaks.
        let mut reply = None;
        for _ in 0..20 {
            let sent = kernel
                .send(Channel::Control, "kernel_info_request", b"{}", false)
                .await?;
            let message = kernel
                .reply(
                    "kernel_info_request",
                    sent.reply,
                    &sent.msg_id,
                    Some(options.kernel_info_timeout),
                )
                .await?;
            reply = Some(message);
            if kernel.iopub_ready(Duration::from_millis(250)).await {
                break;
            }
        }
        let Some(reply) = reply else {
            return Err(Error::Protocol("no kernel_info_reply".into()));
        };
        if !kernel.iopub_ready(Duration::from_millis(0)).await {
            tracing::warn!(
                "IOPub delivered nothing yet; debug events sent before it does are lost"
            );
        }
        let features: Vec<String> = reply.content["supported_features"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|f| f.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if !features.iter().any(|f| f == "debugger") {
            return Err(Error::NoDebugger {
                implementation: format!(
                    "{} {}",
                    reply.content["implementation"]
                        .as_str()
                        .unwrap_or("unknown"),
                    reply.content["implementation_version"]
                        .as_str()
                        .unwrap_or("")
                )
                .trim()
                .to_owned(),
                supported_features: features,
            });
        }
        kernel.set_kernel_session(reply.header["session"].as_str().map(str::to_owned));
        Ok(KernelDebugger {
            kernel,
            shared: Arc::new(Shared {
                _tasks: tasks,
                kernel_info: reply.content,
                options,
            }),
        })
    }

    /// The kernel's `kernel_info_reply` content.
    pub fn kernel_info(&self) -> &Value {
        &self.shared.kernel_info
    }

    /// What the connection file said.
    pub fn connection_info(&self) -> &ConnectionInfo {
        &self.kernel.info
    }

    /// Why the kernel is gone, once it is.
    pub fn gone(&self) -> Option<String> {
        self.kernel.gone()
    }

    /// Waits until the kernel is gone and returns why.
    pub async fn wait_gone(&self) -> String {
        let mut rx = self.kernel.watch_gone();
        match rx.wait_for(|g| g.is_some()).await {
            Ok(reason) => reason.clone().unwrap_or_default(),
            Err(_) => "the connection closed".into(),
        }
    }

    /// A DAP connection to the kernel's debugger: the client end of an in-memory byte
    /// stream whose other end is [`serve`](Self::serve)d by a spawned task.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn dap_connection(&self) -> DuplexStream {
        let (client, server) = tokio::io::duplex(256 * 1024);
        let this = self.clone();
        tokio::spawn(async move { this.serve(server).await });
        client
    }

    /// A [`dapkit_session::Client`] talking to the kernel's debugger over
    /// [`dap_connection`](Self::dap_connection).
    pub fn client(&self, options: ClientOptions) -> (Client, Events) {
        let (reader, writer) = tokio::io::split(self.dap_connection());
        Client::start(reader, writer, options)
    }

    /// Serves one DAP client over `io` (Content-Length framed DAP) until the client closes
    /// the connection or the kernel goes away (then the client gets `terminated`).
    pub async fn serve<IO>(&self, io: IO) -> ServeEnd
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        bridge::serve(self.clone(), io, self.shared.options.request_timeout).await
    }

    /// Sends one DAP request (as JSON) as a `debug_request` and returns the kernel's
    /// `debug_reply` content unchanged.
    pub async fn debug_request(&self, request: &Value) -> Result<Value, Error> {
        let body = serde_json::to_vec(request).map_err(|e| Error::Protocol(e.to_string()))?;
        let sent = self
            .kernel
            .send(Channel::Control, "debug_request", &body, false)
            .await?;
        let reply = self
            .kernel
            .reply(
                "debug_request",
                sent.reply,
                &sent.msg_id,
                self.shared.options.request_timeout,
            )
            .await?;
        Ok(reply.content)
    }

    /// Runs `code` on the shell channel (`execute_request`) and waits for its
    /// `execute_reply` and the end of its output on IOPub. No timeout: the code may stop
    /// at a breakpoint; it fails when the kernel goes away.
    pub async fn execute(&self, code: &str) -> Result<ExecuteResult, Error> {
        let content = json!({
            "code": code, "silent": false, "store_history": true,
            "user_expressions": {}, "allow_stdin": false, "stop_on_error": true,
        });
        let content = serde_json::to_vec(&content).map_err(|e| Error::Protocol(e.to_string()))?;
        let sent = self
            .kernel
            .send(Channel::Shell, "execute_request", &content, true)
            .await?;
        let _forget = Forget(&self.kernel, &sent.msg_id);
        let mut iopub = sent
            .iopub
            .ok_or_else(|| Error::Protocol("no IOPub route".into()))?;
        let mut reply = sent.reply;
        let mut result = ExecuteResult::default();
        let mut got_reply = false;
        let mut idle = false;
        let gone = || {
            Error::KernelGone(
                self.kernel
                    .gone()
                    .unwrap_or_else(|| "the connection closed".into()),
            )
        };
        while !(got_reply && idle) {
            tokio::select! {
                r = &mut reply, if !got_reply => {
                    let message = r.map_err(|_| gone())?;
                    result.status = message.content["status"].as_str().unwrap_or("").to_owned();
                    result.execution_count = message.content["execution_count"].as_i64();
                    result.reply = message.content;
                    got_reply = true;
                }
                m = iopub.recv(), if !idle => {
                    let Some(message) = m else { return Err(gone()) };
                    collect(&mut result, &message);
                    idle = message.msg_type() == "status" && message.content["execution_state"] == "idle";
                }
                // The reply is in but IOPub's idle status does not come: do not hang.
                _ = tokio::time::sleep(Duration::from_secs(10)), if got_reply => break,
            }
        }
        if result.status == "error" && result.error.is_none() {
            result.error = Some(ExecuteError {
                ename: result.reply["ename"].as_str().unwrap_or("").to_owned(),
                evalue: result.reply["evalue"].as_str().unwrap_or("").to_owned(),
                traceback: strings(&result.reply["traceback"]),
            });
        }
        Ok(result)
    }
}

struct Forget<'a>(&'a Kernel, &'a str);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.0.forget(self.1);
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn collect(result: &mut ExecuteResult, message: &wire::Message) {
    let c = &message.content;
    match message.msg_type() {
        "stream" => {
            let text = c["text"].as_str().unwrap_or("");
            let target = if c["name"] == "stderr" {
                &mut result.stderr
            } else {
                &mut result.stdout
            };
            let room = MAX_OUTPUT_BYTES.saturating_sub(target.len());
            if text.len() > room {
                let mut cut = room;
                while !text.is_char_boundary(cut) {
                    cut -= 1;
                }
                target.push_str(&text[..cut]);
                result.truncated = true;
            } else {
                target.push_str(text);
            }
        }
        "execute_result" => result.result = Some(c["data"].clone()),
        "error" => {
            result.error = Some(ExecuteError {
                ename: c["ename"].as_str().unwrap_or("").to_owned(),
                evalue: c["evalue"].as_str().unwrap_or("").to_owned(),
                traceback: strings(&c["traceback"]),
            })
        }
        _ => {}
    }
}
