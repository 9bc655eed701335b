//! `dapkit proxy`: one debug session, several clients (the logic is `dapkit-proxy`).

use crate::error::{CliError, Exit};
use crate::ready::print_ready;
use clap::Args;
use dapkit_proxy::{Adapter, Ended, LastClientExit, Proxy, ProxyError, ProxyOptions};
use dapkit_transport::{Endpoint, RetryPolicy, StdioCommand};
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::time::Duration;

/// Exit code when the adapter ends the session on its own (crashed, killed, closed).
const ADAPTER_EXITED: u8 = 3;

/// Share one debug session between several DAP clients: the first is the controller,
/// later ones observe (read-only); breakpoints are merged; nothing is lost when clients
/// come and go.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("adapter").required(true).args(["connect", "stdio", "adapter_listen"])))]
pub struct ProxyArgs {
    /// Connect to a listening adapter (retried, never probed: see --connect-retry).
    #[arg(long, value_name = "HOST:PORT")]
    connect: Option<String>,
    /// Start the adapter given after `--` and talk over its stdio.
    #[arg(long, requires = "command")]
    stdio: bool,
    /// Wait for the adapter to connect here (debugpy --connect, dlv --client-addr).
    #[arg(long, value_name = "ADDR")]
    adapter_listen: Option<String>,
    /// Where clients connect: HOST:PORT (port 0 picks one) or unix:PATH.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: String,
    /// Write a dapkit trace of every message on both sides (client 0 = the adapter side).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// When the last client leaves: keep the session, detach from it, or terminate it.
    #[arg(long, value_name = "POLICY", default_value = "keep", value_parser = ["keep", "detach", "terminate"])]
    on_last_client_exit: String,
    /// How --connect retries: MS×N (or MSxN), default 300×100.
    #[arg(long, value_name = "MS×N")]
    connect_retry: Option<String>,
    /// Allow --listen on a non-loopback address (anyone who reaches it drives the debugger).
    #[arg(long)]
    allow_remote: bool,
    /// The adapter command for --stdio.
    #[arg(last = true, value_name = "CMD")]
    command: Vec<String>,
}

/// Runs the proxy until the session ends, a signal arrives or the adapter goes away.
pub fn run(args: ProxyArgs) -> Result<Exit, CliError> {
    let listen = parse_endpoint(&args.listen, "--listen")?;
    let retry = match &args.connect_retry {
        Some(spec) => parse_retry(spec)?,
        None => RetryPolicy::default(),
    };
    let adapter = if let Some(addr) = &args.connect {
        Adapter::Connect(parse_endpoint(addr, "--connect")?, retry)
    } else if let Some(addr) = &args.adapter_listen {
        Adapter::Listen(parse_endpoint(addr, "--adapter-listen")?)
    } else {
        let (program, rest) = args
            .command
            .split_first()
            .ok_or_else(|| CliError::usage("--stdio needs the adapter command after `--`"))?;
        Adapter::Stdio(StdioCommand::new(program).args(rest))
    };
    if !args.command.is_empty() && !args.stdio {
        return Err(CliError::usage(
            "a command after `--` is only used with --stdio",
        ));
    }
    let policy: LastClientExit = args.on_last_client_exit.parse().map_err(CliError::usage)?;
    let mut options = ProxyOptions::new()
        .on_last_client_exit(policy)
        .allow_remote(args.allow_remote);
    if let Some(path) = &args.record {
        options = options.record(path);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::io("cannot start the runtime", e))?;
    runtime.block_on(async move {
        let proxy = Proxy::start(&listen, &adapter, options)
            .await
            .map_err(start_error)?;
        // Signals are caught from before the ready line on.
        let shutdown = crate::signals::Shutdown::install();
        let shown = match proxy.local_endpoint() {
            Endpoint::Tcp(addr) => addr.to_string(),
            other => other.to_string(),
        };
        let mut extra = serde_json::Map::new();
        extra.insert("adapter".into(), proxy.adapter_description().into());
        print_ready(&shown, extra).map_err(|e| CliError::io("cannot print the ready line", e))?;
        let handle = proxy.handle();
        tokio::spawn(async move {
            shutdown.wait().await;
            tracing::info!("signal received: shutting down");
            handle.shutdown();
        });
        match proxy.run().await {
            Ok(Ended::Disconnected | Ended::LastClientLeft | Ended::Shutdown) => Ok(Exit::Ok),
            Ok(_) => Ok(Exit::Ok),
            Err(e @ ProxyError::AdapterExited(_)) => {
                Err(CliError::with_code(ADAPTER_EXITED, e.to_string()))
            }
            Err(e) => Err(CliError::io("proxy", e)),
        }
    })
}

fn start_error(e: ProxyError) -> CliError {
    match e {
        ProxyError::Remote(_) => CliError::usage(e.to_string()),
        other => CliError::with_code(2, other.to_string()),
    }
}

/// `unix:PATH`, or `HOST:PORT` (the first address the name resolves to).
fn parse_endpoint(text: &str, flag: &str) -> Result<Endpoint, CliError> {
    #[cfg(unix)]
    if let Some(path) = text.strip_prefix("unix:") {
        return Ok(Endpoint::Unix(PathBuf::from(path)));
    }
    let text = text.strip_prefix("tcp:").unwrap_or(text);
    let mut addrs = text
        .to_socket_addrs()
        .map_err(|e| CliError::usage(format!("{flag} {text}: not HOST:PORT or unix:PATH ({e})")))?;
    addrs
        .next()
        .map(Endpoint::Tcp)
        .ok_or_else(|| CliError::usage(format!("{flag} {text}: the name resolves to no address")))
}

/// `MS×N` or `MSxN`: try every MS milliseconds, N times.
fn parse_retry(spec: &str) -> Result<RetryPolicy, CliError> {
    let bad = || {
        CliError::usage(format!(
            "--connect-retry {spec}: expected MS×N, e.g. 300×100"
        ))
    };
    let (ms, n) = spec
        .split_once('×')
        .or_else(|| spec.split_once('x'))
        .ok_or_else(bad)?;
    let ms: u64 = ms.trim().parse().map_err(|_| bad())?;
    let n: u32 = n.trim().parse().map_err(|_| bad())?;
    if n == 0 {
        return Err(bad());
    }
    Ok(RetryPolicy::default()
        .with_interval(Duration::from_millis(ms))
        .with_max_tries(n))
}
