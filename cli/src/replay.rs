//! `dapkit replay`: a trace replayed as a fake adapter for a live client
//! (`--as-adapter`), or against a live adapter (`--against`). The rules live in
//! `dapkit_trace::replay`; this module parses arguments, opens the connections and prints.

use crate::error::{CliError, Exit};
use clap::Args;
use dapkit_trace::replay::{
    AdapterOptions, AdapterReplay, AgainstOptions, AgainstReplay, RunInTerminal, Script,
    drive_adapter, serve_adapter,
};
use dapkit_trace::{Header, TraceReader, TraceWriter};
use dapkit_transport::{Endpoint, Listener, RetryPolicy, StdioCommand};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Replay a trace: answer a client from it (--as-adapter), or send its requests to a live
/// adapter (--against).
///
/// Exit codes: 0 the replay completed; 1 the live session diverged from the recording (a
/// request failed that succeeded in the recording, an awaited event never came, or, with
/// --as-adapter, the trace could not answer a request); 2 usage or I/O error.
#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  dapkit replay session.jsonl --as-adapter --listen 127.0.0.1:0\n  dapkit replay session.jsonl --against --out again.jsonl -- python -m debugpy.adapter\n  dapkit replay session.jsonl --against --connect 127.0.0.1:5678"
)]
pub struct ReplayArgs {
    /// The trace to replay (plain or gzip).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Act as the adapter: answer a live client from the trace.
    #[arg(long, conflicts_with = "against", required_unless_present = "against")]
    as_adapter: bool,
    /// Send the recorded requests to a live adapter (started with `-- CMD…` or reached with
    /// --connect).
    #[arg(long)]
    against: bool,
    /// With --as-adapter: listen for the client on ADDR (a port alone means 127.0.0.1:PORT;
    /// port 0 picks a free one); prints `{"ready": {"listen": "ADDR"}}` once listening.
    #[arg(long, value_name = "ADDR", conflicts_with = "stdio")]
    listen: Option<String>,
    /// With --as-adapter: talk DAP on stdin/stdout (as an editor starts an adapter).
    #[arg(long)]
    stdio: bool,
    /// With --as-adapter: a request whose arguments match no recorded request of its
    /// command gets an error response (by default the first unused one of its command
    /// answers).
    #[arg(long)]
    strict: bool,
    /// With --against: connect to the adapter at HOST:PORT (retrying, never probing).
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "command")]
    connect: Option<String>,
    /// With --against: record the new session to NEW (gzip when it ends in .gz).
    #[arg(long, value_name = "NEW")]
    out: Option<PathBuf>,
    /// With --against: how long to wait for what the recording had seen before each request
    /// (seconds, at most a week).
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    timeout: f64,
    /// With --against: run the adapter's `runInTerminal` requests (otherwise they are
    /// answered `success: false`).
    #[arg(long)]
    allow_run_in_terminal: bool,
    /// Replay this client of the trace (default: the client of the first record).
    #[arg(long, value_name = "N")]
    client: Option<u32>,
    /// With --against: the adapter to start, after `--`.
    #[arg(last = true, value_name = "CMD")]
    command: Vec<String>,
}

/// The longest --timeout accepted, in seconds (a week).
const MAX_TIMEOUT: f64 = 604_800.0;

/// Runs `dapkit replay`.
pub fn run(args: ReplayArgs) -> Result<Exit, CliError> {
    check(&args)?;
    let reader = TraceReader::open(&args.file).map_err(|e| {
        if e.line() == 0 {
            CliError::usage(e.message())
        } else {
            CliError::usage(format!("{}: {e}", args.file.display()))
        }
    })?;
    let script = Script::read(reader, args.client)
        .map_err(|e| CliError::usage(format!("{}: {e}", args.file.display())))?;
    for skipped in script.skipped() {
        tracing::warn!("{}: skipped {skipped}", args.file.display());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::io("cannot start the async runtime", e))?;
    let result = if args.as_adapter {
        runtime.block_on(as_adapter(&args, script))
    } else {
        runtime.block_on(against(&args, script))
    };
    // A read of stdin may still be blocked in a worker thread (the client keeps its end
    // open after the recorded session is over): do not wait for it.
    runtime.shutdown_background();
    result
}

fn check(args: &ReplayArgs) -> Result<(), CliError> {
    if args.as_adapter {
        if args.listen.is_none() && !args.stdio {
            return Err(CliError::usage(
                "--as-adapter needs --listen ADDR or --stdio",
            ));
        }
        for (given, name) in [
            (args.connect.is_some(), "--connect"),
            (args.out.is_some(), "--out"),
            (!args.command.is_empty(), "an adapter command"),
            (args.allow_run_in_terminal, "--allow-run-in-terminal"),
        ] {
            if given {
                return Err(CliError::usage(format!(
                    "{name} goes with --against, not --as-adapter"
                )));
            }
        }
    } else {
        if args.command.is_empty() && args.connect.is_none() {
            return Err(CliError::usage(
                "--against needs the adapter: `-- CMD ARGS…` or --connect HOST:PORT",
            ));
        }
        for (given, name) in [
            (args.listen.is_some(), "--listen"),
            (args.stdio, "--stdio"),
            (args.strict, "--strict"),
        ] {
            if given {
                return Err(CliError::usage(format!(
                    "{name} goes with --as-adapter, not --against"
                )));
            }
        }
        if !(args.timeout > 0.0 && args.timeout <= MAX_TIMEOUT) {
            return Err(CliError::usage(format!(
                "--timeout must be a positive number of seconds up to {MAX_TIMEOUT} (a week), not {}",
                args.timeout
            )));
        }
    }
    Ok(())
}

/// `ADDR` as given to --listen: `HOST:PORT`, or a port alone (loopback).
fn listen_addr(text: &str) -> Result<SocketAddr, CliError> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    text.parse().map_err(|_| {
        CliError::usage(format!(
            "--listen {text}: not an address (expected IP:PORT, e.g. 127.0.0.1:0, or a port)"
        ))
    })
}

async fn as_adapter(args: &ReplayArgs, script: Script) -> Result<Exit, CliError> {
    let shutdown = crate::signals::Shutdown::install();
    let options = AdapterOptions::default().with_loose(!args.strict);
    let mut replay = AdapterReplay::new(script, options);
    let served = if let Some(listen) = &args.listen {
        let endpoint = Endpoint::Tcp(listen_addr(listen)?);
        let mut listener = Listener::bind(&endpoint)
            .await
            .map_err(|e| CliError::io(format!("cannot listen on {listen}"), e))?;
        for warning in listener.warnings() {
            tracing::warn!("{warning}");
        }
        let local = listener
            .local_endpoint()
            .tcp_addr()
            .map_or_else(|| listener.local_endpoint().to_string(), |a| a.to_string());
        crate::ready::print_ready(&local, serde_json::Map::new())
            .map_err(|e| CliError::io("cannot write the ready line", e))?;
        let connection = tokio::select! {
            accepted = listener.accept() => accepted.map_err(|e| CliError::io("accepting the client", e))?,
            () = shutdown.wait() => {
                tracing::info!("stopped before a client connected");
                return Ok(Exit::Ok);
            }
        };
        tracing::info!("client connected: {}", connection.endpoint());
        let (reader, writer) = connection.into_split();
        tokio::select! {
            served = serve_adapter(&mut replay, reader, writer) => served,
            () = shutdown.wait() => {
                tracing::info!("stopped by a signal");
                Ok(())
            }
        }
    } else {
        tokio::select! {
            served = serve_adapter(&mut replay, tokio::io::stdin(), tokio::io::stdout()) => served,
            () = shutdown.wait() => {
                tracing::info!("stopped by a signal");
                Ok(())
            }
        }
    };
    served.map_err(|e| CliError::io("replaying as the adapter", e))?;
    match replay.unanswered() {
        [] => Ok(Exit::Ok),
        unanswered => {
            let list: Vec<String> = unanswered
                .iter()
                .map(|u| format!("request {} ({}): {}", u.seq, u.command, u.message))
                .collect();
            diverged(&format!(
                "the trace could not answer {} request(s): {}",
                list.len(),
                list.join("; ")
            ));
            Ok(Exit::Findings)
        }
    }
}

async fn against(args: &ReplayArgs, script: Script) -> Result<Exit, CliError> {
    let shutdown = crate::signals::Shutdown::install();
    let (endpoint, adapter_json) = match &args.connect {
        Some(target) => {
            let addr = tokio::net::lookup_host(target.as_str())
                .await
                .map_err(|e| CliError::usage(format!("--connect {target}: {e}")))?
                .next()
                .ok_or_else(|| CliError::usage(format!("--connect {target}: no address found")))?;
            (
                Endpoint::Tcp(addr),
                serde_json::json!({ "connect": target }),
            )
        }
        None => {
            let (program, rest) = args
                .command
                .split_first()
                .ok_or_else(|| CliError::usage("no adapter command after `--`"))?;
            (
                Endpoint::Stdio(StdioCommand::new(program).args(rest)),
                serde_json::json!({ "command": args.command }),
            )
        }
    };
    let mut connection = dapkit_transport::connect(&endpoint, &RetryPolicy::default())
        .await
        .map_err(|e| CliError::io("cannot reach the adapter", e))?;
    let mut child = connection.take_child();
    let mut trace = match &args.out {
        Some(path) => {
            let mut header = Header::new(adapter_json);
            header.extra.insert(
                "replayOf".to_owned(),
                Value::String(args.file.display().to_string()),
            );
            Some(
                TraceWriter::create(path, &header)
                    .map_err(|e| CliError::io(format!("cannot write {}", path.display()), e))?,
            )
        }
        None => None,
    };
    let options = AgainstOptions::default().with_run_in_terminal(args.allow_run_in_terminal);
    let mut replay = AgainstReplay::new(script, options);
    let run: Option<RunInTerminal> = args.allow_run_in_terminal.then(|| {
        let run: RunInTerminal = Box::new(|arguments: Value| {
            Box::pin(async move {
                let arguments = serde_json::from_value(arguments)
                    .map_err(|e| format!("runInTerminal: bad arguments: {e}"))?;
                let body = dapkit_session::client::run_in_terminal(arguments).await?;
                serde_json::to_value(body).map_err(|e| e.to_string())
            })
        });
        run
    });
    let (reader, writer) = connection.into_split();
    let timeout = Duration::from_secs_f64(args.timeout);
    let report = tokio::select! {
        report = drive_adapter(&mut replay, reader, writer, trace.as_mut(), timeout, run.as_ref()) => report,
        () = shutdown.wait() => {
            return Err(CliError::with_code(2, "interrupted before the replay completed"));
        }
    };
    if let Some(child) = child.as_mut() {
        let _ = child.wait_or_kill(Duration::from_secs(3)).await;
    }
    if let Some(trace) = trace {
        trace
            .finish()
            .map_err(|e| CliError::io("cannot finish the new trace", e))?;
    }
    let report = report.map_err(|e| CliError::io("replaying against the adapter", e))?;
    if let Some(divergence) = report.divergence {
        diverged(&divergence.to_string());
        return Ok(Exit::Findings);
    }
    let recorded = args
        .out
        .as_ref()
        .map(|p| format!("; new trace: {}", p.display()))
        .unwrap_or_default();
    println!(
        "replay completed: {} requests sent, {} messages received{recorded}",
        report.requests, report.received
    );
    Ok(Exit::Ok)
}

/// Reports a divergence on stderr, one line (the exit code is 1).
fn diverged(message: &str) {
    use std::io::Write as _;
    let line = message.replace('\n', " ");
    let _ = writeln!(std::io::stderr(), "dapkit: replay diverged: {line}");
}
