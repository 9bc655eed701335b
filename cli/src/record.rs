//! `dapkit record`: a man in the middle that forwards a DAP session unchanged and records
//! it. Over stdio (`-- CMD ARGS…`: the editor starts dapkit as if it were the adapter) or
//! TCP (`--listen` for the client, `--connect` to the adapter).

use crate::error::{CliError, Exit};
use clap::Args;
use dapkit_trace::record::{Recorder, forward, forward_spinning};
use dapkit_trace::spin::{self, Spin};
use dapkit_trace::tap::Tap;
use dapkit_trace::{Direction, Header, TraceWriter};
use dapkit_transport::{
    Endpoint, Listener, RetryPolicy, StdioCommand, connect_cancellable, spawn_stdio_blocking,
};
use serde_json::json;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::io::SyncIoBridge;

/// How long the other direction may go on after one ended, and how long the adapter has
/// to exit after its output ended, before they are stopped.
const GRACE: Duration = Duration::from_secs(5);

/// How long the client's bytes are still read (and recorded) once the adapter process
/// has exited.
const ADAPTER_GONE: Duration = Duration::from_millis(200);

/// Record a session: forward the bytes between an editor and a debug adapter unchanged and
/// write them to a trace.
///
/// stdio: `dapkit record --out t.jsonl -- python -m debugpy.adapter` (configure the editor
/// to start this instead of the adapter; the adapter's stderr goes to ours, its exit code
/// becomes ours). TCP: `dapkit record --out t.jsonl --connect 127.0.0.1:5678 --listen
/// 127.0.0.1:0` prints `{"ready": {"listen": "127.0.0.1:PORT"}}`, waits for one client, then
/// connects to the adapter (retrying every 300 ms, up to 100 times, never probing).
#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The trace to write (gzip when the name ends in `.gz`); each record is flushed as
    /// written, right after its bytes were forwarded.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    /// Replace the values of launch/attach and runInTerminal `env` by `"<redacted>"` in the
    /// trace (the forwarded bytes are unchanged).
    #[arg(long)]
    redact: bool,
    /// TCP: the adapter's address, connected to once the client arrives.
    #[arg(long, value_name = "HOST:PORT", requires = "listen")]
    connect: Option<String>,
    /// TCP: where the client connects (port 0 picks a free port; loopback unless
    /// --allow-remote).
    #[arg(long, value_name = "ADDR:PORT", requires = "connect")]
    listen: Option<SocketAddr>,
    /// Allow --listen on an address other machines can reach (anyone reaching it can make
    /// the debugger run code).
    #[arg(long, requires = "listen")]
    allow_remote: bool,
    /// stdio, Linux: after one direction forwards, poll the other without sleeping for up
    /// to this many microseconds, so that a reply is forwarded as it arrives rather than
    /// after a thread wake-up (costs CPU: at most that long per message). 0 turns it off.
    #[arg(long, value_name = "MICROSECONDS", default_value_t = 500)]
    spin_us: u64,
    /// stdio: the adapter command and its arguments, after `--`.
    #[arg(last = true, value_name = "CMD")]
    command: Vec<OsString>,
}

/// Runs `dapkit record`.
pub fn run(args: RecordArgs) -> Result<Exit, CliError> {
    // Each direction is forwarded by a blocking thread of its own (`forward`: a hop costs
    // one thread wake-up), which also writes the trace; this one-thread runtime only
    // waits: for the adapter process, signals, the TCP client and adapter.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::io("cannot start the async runtime", e))?;
    let result = match (&args.connect, args.listen, args.command.is_empty()) {
        (None, None, false) => runtime.block_on(stdio(&args)),
        (Some(connect), Some(listen), true) => runtime.block_on(tcp(&args, connect, listen)),
        (Some(_), Some(_), false) => Err(CliError::usage(
            "give either an adapter command after `--` or --connect/--listen, not both",
        )),
        _ => Err(CliError::usage(
            "nothing to record: give the adapter command after `--` (stdio), or --connect HOST:PORT --listen ADDR:PORT (TCP)",
        )),
    };
    // Our stdin may still be blocked in a read nobody will finish: do not wait for it.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

/// Creates the trace file and the recorder the forwarding threads write it through.
fn start_recorder(args: &RecordArgs, adapter: serde_json::Value) -> Result<Recorder, CliError> {
    let header = Header::new(adapter).with_redacted(args.redact);
    let writer = TraceWriter::create(&args.out, &header)
        .map_err(|e| CliError::io("cannot write the trace", e))?;
    Recorder::start(Tap::new(writer, args.redact), TraceWriter::finish)
        .map_err(|e| CliError::io("cannot start the recorder", e))
}

/// Waits for the recorder to write everything.
async fn finish_recorder(recorder: Recorder, out: &std::path::Path) -> Result<(), CliError> {
    tokio::task::spawn_blocking(move || recorder.finish())
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
        .map_err(|e| CliError::io(format!("the trace {} is incomplete", out.display()), e))
}

async fn stdio(args: &RecordArgs) -> Result<Exit, CliError> {
    let shutdown = crate::signals::Shutdown::install();
    let mut command = args.command.iter();
    let Some(program) = command.next() else {
        return Err(CliError::usage("no adapter command after `--`"));
    };
    let command = StdioCommand::new(program)
        .args(command)
        // The adapter writes to our stderr directly: no copy, nothing kept (debugpy's
        // adapter writes kilobytes of log there per failing request).
        .stderr_limit(0)
        .stderr_passthrough(true);
    let argv: Vec<String> = args
        .command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let recorder = start_recorder(args, json!({ "command": argv }))?;
    let adapter = spawn_stdio_blocking(&command).map_err(|e| CliError::usage(e.to_string()))?;
    let mut child = adapter.child;
    tracing::info!(pid = ?child.pid(), "adapter started: {command}");
    let spin = spin_pair(args.spin_us, &adapter.stdout);
    let (from_adapter, to_adapter): (Reader, Writer) =
        (Box::new(adapter.stdout), Box::new(adapter.stdin));
    let (c2a, mut a2c) =
        spawn_forwarding(&recorder, client_stdio(), (from_adapter, to_adapter), spin);
    let status = tokio::select! {
        copied = &mut a2c => {
            log_copy("adapter → client", copied);
            child.wait_or_kill(GRACE).await
        }
        () = shutdown.wait() => {
            tracing::info!("stopping: signal received");
            let _ = child.kill().await;
            a2c.abort();
            child.wait().await
        }
    };
    // The adapter is gone: what the client still sends has nowhere to go.
    stop_after(c2a, "client → adapter", ADAPTER_GONE).await;
    finish_recorder(recorder, &args.out).await?;
    let status = status.map_err(|e| CliError::io("cannot wait for the adapter", e))?;
    exit_like(status)
}

/// A copy that forwards one direction, recording it; ends with the bytes copied.
type Copy = JoinHandle<std::io::Result<u64>>;

/// A blocking read half.
type Reader = Box<dyn Read + Send>;
/// A blocking write half (dropping it ends the peer's stream).
type Writer = Box<dyn Write + Send>;

/// Starts forwarding both ways between the client's and the adapter's (reader, writer)
/// halves, each direction on a blocking thread of its own and recorded as client 0.
/// Returns the (client → adapter, adapter → client) copies. A copy cannot be interrupted
/// in a read: one given up on is left behind (it ends when its reader does, or with the
/// process).
fn spawn_forwarding(
    recorder: &Recorder,
    (from_client, to_client): (Reader, Writer),
    (from_adapter, to_adapter): (Reader, Writer),
    spin: Option<SpinPair>,
) -> (Copy, Copy) {
    let (c2a_spin, a2c_spin) = spin.unzip();
    let c2a = spawn_direction(
        recorder,
        from_client,
        to_adapter,
        Direction::ClientToAdapter,
        c2a_spin,
    );
    let a2c = spawn_direction(
        recorder,
        from_adapter,
        to_client,
        Direction::AdapterToClient,
        a2c_spin,
    );
    (c2a, a2c)
}

/// One direction of [`spawn_forwarding`]: `forward`, or `forward_spinning` with `spin`.
fn spawn_direction(
    recorder: &Recorder,
    from: Reader,
    to: Writer,
    direction: Direction,
    spin: Option<Spin>,
) -> Copy {
    let record = recorder.handle();
    tokio::task::spawn_blocking(move || match spin {
        Some(spin) => forward_spinning(from, to, direction, 0, record, &spin),
        None => forward(from, to, direction, 0, record),
    })
}

/// The (client → adapter, adapter → client) sides of a spin pair.
type SpinPair = (Spin, Spin);

/// A spin pair over our stdin and the adapter's stdout for `--spin-us` (none when 0, where
/// spinning is not available, or when the descriptors cannot be copied: forwarding then
/// sleeps between chunks as usual).
fn spin_pair(micros: u64, adapter_stdout: &std::fs::File) -> Option<SpinPair> {
    if micros == 0 {
        return None;
    }
    match spin::pair(
        &std::io::stdin(),
        adapter_stdout,
        Duration::from_micros(micros),
    ) {
        Ok(pair) => Some(pair),
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => {
            tracing::debug!("not spinning (--spin-us): {e}");
            None
        }
        Err(e) => {
            tracing::warn!("not spinning (--spin-us): {e}");
            None
        }
    }
}

/// Our stdin and stdout, the client's side, read and written directly (on Unix, copies of
/// the file descriptors as plain files: no buffering, one `write` per chunk).
fn client_stdio() -> (Reader, Writer) {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let reader = std::io::stdin().as_fd().try_clone_to_owned().ok();
        let writer = std::io::stdout().as_fd().try_clone_to_owned().ok();
        let reader: Reader = match reader {
            Some(fd) => Box::new(std::fs::File::from(fd)),
            None => Box::new(std::io::stdin()),
        };
        let writer: Writer = match writer {
            Some(fd) => Box::new(std::fs::File::from(fd)),
            None => Box::new(std::io::stdout()),
        };
        (reader, writer)
    }
    #[cfg(not(unix))]
    {
        (Box::new(std::io::stdin()), Box::new(std::io::stdout()))
    }
}

/// A connection's async halves as blocking ones for [`forward`]: each read or write waits
/// on the runtime (which `run` keeps driving while forwarding goes on). Dropping the write
/// half shuts the socket's sending side down.
fn bridged(connection: dapkit_transport::Connection) -> (Reader, Writer) {
    let (reader, writer) = connection.into_split();
    (
        Box::new(SyncIoBridge::new(reader)),
        Box::new(SyncIoBridge::new(writer)),
    )
}

/// The adapter's exit status as ours.
fn exit_like(status: std::process::ExitStatus) -> Result<Exit, CliError> {
    if status.success() {
        return Ok(Exit::Ok);
    }
    if let Some(code) = status.code() {
        let code = u8::try_from(code).unwrap_or(1);
        return Err(CliError::with_code(
            code,
            format!("the adapter exited with code {code}"),
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(signal) = status.signal() {
            let code = u8::try_from(128 + signal).unwrap_or(1);
            return Err(CliError::with_code(
                code,
                format!("the adapter was killed by signal {signal}"),
            ));
        }
    }
    Err(CliError::with_code(
        1,
        format!("the adapter failed: {status}"),
    ))
}

/// Lets a copy finish by itself for a while (it ends when its writer fails or its reader
/// ends), then stops it.
async fn stop_after(mut task: Copy, what: &str, grace: Duration) {
    match tokio::time::timeout(grace, &mut task).await {
        Ok(copied) => log_copy(what, copied),
        Err(_) => {
            tracing::debug!("{what}: still open after the other side ended; stopped");
            task.abort();
        }
    }
}

fn log_copy(what: &str, copied: Result<std::io::Result<u64>, tokio::task::JoinError>) {
    match copied {
        Ok(Ok(n)) => tracing::info!("{what}: {n} bytes, ended"),
        Ok(Err(e)) => tracing::info!("{what}: ended: {e}"),
        Err(e) => tracing::warn!("{what}: {e}"),
    }
}

/// `HOST:PORT` → an address, IPv4 first (adapters usually listen on 127.0.0.1).
async fn resolve(connect: &str) -> Result<SocketAddr, CliError> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(connect)
        .await
        .map_err(|e| CliError::usage(format!("--connect {connect}: {e}")))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| CliError::usage(format!("--connect {connect}: no address")))
}

async fn tcp(args: &RecordArgs, connect: &str, listen: SocketAddr) -> Result<Exit, CliError> {
    let shutdown = crate::signals::Shutdown::install();
    if !listen.ip().is_loopback() && !args.allow_remote {
        return Err(CliError::usage(format!(
            "--listen {listen} is reachable from other machines; add --allow-remote if you mean it"
        )));
    }
    let adapter_addr = resolve(connect).await?;
    let mut listener = Listener::bind(&Endpoint::Tcp(listen))
        .await
        .map_err(|e| CliError::io(format!("cannot listen on {listen}"), e))?;
    let Some(bound) = listener.local_endpoint().tcp_addr() else {
        return Err(CliError::usage("the listener has no TCP address"));
    };
    let recorder = start_recorder(
        args,
        json!({ "connect": connect, "listen": bound.to_string() }),
    )?;
    crate::ready::print_ready(&bound.to_string(), serde_json::Map::new())
        .map_err(|e| CliError::io("cannot print the ready line", e))?;

    let client = tokio::select! {
        accepted = listener.accept() => accepted.map_err(|e| CliError::io("accept failed", e))?,
        () = shutdown.wait() => {
            finish_recorder(recorder, &args.out).await?;
            return Ok(Exit::Ok);
        }
    };
    drop(listener); // one client
    tracing::info!("client connected; connecting to the adapter at {adapter_addr}");
    let adapter = match connect_cancellable(
        &Endpoint::Tcp(adapter_addr),
        &RetryPolicy::default(),
        shutdown.wait(),
    )
    .await
    {
        Ok(adapter) => adapter,
        Err(e) => {
            drop(client);
            finish_recorder(recorder, &args.out).await?;
            return Err(CliError::io(
                format!("cannot reach the adapter at {connect}"),
                e,
            ));
        }
    };
    tracing::info!("adapter connected; forwarding");
    let (mut c2a, mut a2c) = spawn_forwarding(&recorder, bridged(client), bridged(adapter), None);
    tokio::select! {
        copied = &mut a2c => {
            log_copy("adapter → client", copied);
            stop_after(c2a, "client → adapter", GRACE).await;
        }
        copied = &mut c2a => {
            log_copy("client → adapter", copied);
            stop_after(a2c, "adapter → client", GRACE).await;
        }
        () = shutdown.wait() => {
            tracing::info!("stopping: signal received");
            c2a.abort();
            a2c.abort();
        }
    }
    finish_recorder(recorder, &args.out).await?;
    Ok(Exit::Ok)
}
