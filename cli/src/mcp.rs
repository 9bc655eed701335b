//! `dapkit mcp`: an MCP server on stdio for AI agents (the server is `dapkit_mcp::DebugServer`).

use crate::error::{CliError, Exit};
use clap::Args;
use dapkit_mcp::{Config, DebugServer};
use dapkit_transport::Endpoint;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Serve debuggers to an AI agent over the Model Context Protocol (stdio).
///
/// Tools: launch, attach, set_breakpoints, continue, step, snapshot, variables, evaluate,
/// stack, threads, output, pause, terminate, sessions. Adapters are the presets (debugpy,
/// gdb, delve, lldb-dap) and those of `--config`; each session runs behind a DAP proxy on
/// 127.0.0.1 whose address `sessions` shows, so a person's editor can attach. stdout is
/// the MCP channel: logs go to stderr.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// A TOML file naming adapters (command, args, transport, launch/attach defaults,
    /// run_in_terminal) and the presets' programs (python, gdb, dlv, lldb_dap).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Join the session of a `dapkit proxy` at this loopback address (HOST:PORT) as one of
    /// its clients; it appears in `sessions`.
    #[arg(long, value_name = "ADDR", value_parser = parse_join)]
    join: Option<SocketAddr>,
}

fn parse_join(text: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text
        .parse()
        .map_err(|_| format!("{text:?} is not HOST:PORT (e.g. 127.0.0.1:4711)"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{addr} is not a loopback address: dapkit mcp joins proxies on this machine only"
        ));
    }
    Ok(addr)
}

/// Runs the subcommand.
pub fn run(args: McpArgs) -> Result<Exit, CliError> {
    let config = match &args.config {
        Some(path) => Config::load(path).map_err(CliError::usage)?,
        None => Config::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError::io("starting the async runtime", e))?;
    runtime.block_on(async move {
        let shutdown = crate::signals::Shutdown::install();
        let server = DebugServer::new(config);
        if let Some(addr) = args.join {
            let id = server
                .join(&Endpoint::Tcp(addr))
                .await
                .map_err(CliError::usage)?;
            tracing::info!("joined the proxy at {addr} as session {id}");
        }
        let stopper = server.clone();
        tokio::select! {
            r = dapkit_mcp::serve_stdio(server) => r.map_err(|e| CliError::with_code(2, e))?,
            _ = shutdown.wait() => stopper.shutdown().await,
        }
        Ok(Exit::Ok)
    })
}
