//! `dapkit jupyter`: a running Jupyter kernel's debugger served as a plain DAP adapter
//! (the bridge itself is `dapkit_jupyter::KernelDebugger`).

use crate::error::{CliError, Exit};
use crate::ready::print_ready;
use clap::Args;
use dapkit_jupyter::{ConnectOptions, KernelDebugger, ServeEnd};
use dapkit_transport::{Endpoint, Listener};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Serve a Jupyter kernel's debugger as a DAP adapter (TCP or stdio).
///
/// The client's `initialize` and `attach` start the kernel's debugger. The custom request
/// `jupyterExecute {"code": "…"}` runs code in the kernel and answers
/// `{"status", "executionCount", "stdout", "stderr"}` when it finishes; `dumpCell`, `debugInfo`,
/// `inspectVariables`, `richInspectVariables` and `copyToGlobals` pass through.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("serve").required(true).multiple(false).args(["listen", "stdio"]))]
pub struct JupyterArgs {
    /// The kernel's connection file (a notebook shows it with `%connect_info`).
    #[arg(long, value_name = "FILE")]
    connection_file: PathBuf,
    /// Serve DAP clients over TCP, one after another: `PORT` or `HOST:PORT` (loopback when
    /// no host is given; port 0 picks a free port). Prints one ready line on stdout,
    /// `{"ready": {"listen": "127.0.0.1:PORT"}}`.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = "0", value_parser = parse_listen)]
    listen: Option<SocketAddr>,
    /// Serve one DAP client on stdin/stdout (for editors that start the adapter).
    #[arg(long)]
    stdio: bool,
    /// Seconds to wait for each debug reply (0: as long as the kernel lives).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    request_timeout: u64,
    /// Seconds of heartbeat silence after which the kernel counts as gone.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    heartbeat_timeout: u64,
}

fn parse_listen(text: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    text.parse()
        .map_err(|_| format!("{text:?} is neither a port nor HOST:PORT (e.g. 127.0.0.1:0)"))
}

/// Runs the subcommand.
pub fn run(args: JupyterArgs) -> Result<Exit, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::io("starting the async runtime", e))?;
    runtime.block_on(serve(args))
}

async fn serve(args: JupyterArgs) -> Result<Exit, CliError> {
    let shutdown = crate::signals::Shutdown::install();
    let options = ConnectOptions::new()
        .with_request_timeout(
            (args.request_timeout > 0).then(|| Duration::from_secs(args.request_timeout)),
        )
        .with_heartbeat(
            Duration::from_secs(1),
            Duration::from_secs(args.heartbeat_timeout.max(1)),
        );
    let kernel = KernelDebugger::connect_with(&args.connection_file, options)
        .await
        .map_err(|e| CliError::usage(e.to_string()))?;
    tracing::info!(
        "connected to {} {}",
        kernel.kernel_info()["implementation"]
            .as_str()
            .unwrap_or("a kernel"),
        kernel.kernel_info()["implementation_version"]
            .as_str()
            .unwrap_or("")
    );
    if args.stdio {
        let io = tokio::io::join(tokio::io::stdin(), tokio::io::stdout());
        return ended(kernel.serve(io).await);
    }
    let addr = args.listen.unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)));
    let mut listener = Listener::bind(&Endpoint::Tcp(addr))
        .await
        .map_err(|e| CliError::io("listening", e))?;
    let local = listener.local_endpoint().tcp_addr().unwrap_or(addr);
    print_ready(&local.to_string(), serde_json::Map::new())
        .map_err(|e| CliError::io("writing the ready line", e))?;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let connection = accepted.map_err(|e| CliError::io("accepting a DAP client", e))?;
                tracing::info!("a DAP client connected");
                tokio::select! {
                    end = kernel.serve(connection) => {
                        if let ServeEnd::KernelGone(reason) = end {
                            return ended(ServeEnd::KernelGone(reason));
                        }
                        tracing::info!("the DAP client disconnected; waiting for the next one");
                    }
                    () = shutdown.wait() => return Ok(Exit::Ok),
                }
            }
            reason = kernel.wait_gone() => return ended(ServeEnd::KernelGone(reason)),
            () = shutdown.wait() => return Ok(Exit::Ok),
        }
    }
}

fn ended(end: ServeEnd) -> Result<Exit, CliError> {
    match end {
        // The peer under this server went away: exit 2, naming why.
        ServeEnd::KernelGone(reason) => Err(CliError::with_code(
            2,
            format!("the kernel is gone: {reason}"),
        )),
        _ => Ok(Exit::Ok),
    }
}
