//! A Model Context Protocol server that lets AI agents drive real debuggers (debugpy, gdb,
//! delve, lldb-dap, or adapters of a configuration file) through the Debug Adapter
//! Protocol — and lets a person join the same session from an editor.
//!
//! - Each `launch`/`attach` starts the adapter behind an in-process [`dapkit_proxy`] on
//!   127.0.0.1 (port 0) and drives it as the controller with a [`dapkit_session::Client`]
//!   connected to that proxy. `launch` and `sessions` give the proxy's address: an editor
//!   attaches there as an observer, and `dapkitProxy/takeControl` moves control to it.
//!   [`DebugServer::join`] makes the agent a client of a proxy a person started.
//! - `continue`, `step` and `pause` wait for the next stop (up to `waitSeconds`) and
//!   answer with its snapshot, `{state: "running"}` at the deadline, or
//!   `{state: "exited", exitCode, outputTail}`: never a hang.
//! - Every answer is bounded ([`bound`]): strings cut at 2 KiB with the full length noted,
//!   collections at 100 elements with `variablesReference` kept for paging, a snapshot
//!   under 64 KiB whatever the program holds.
//! - Every bad input is a tool error (`isError`) with a text naming what was wrong; nothing
//!   runs that the user did not configure ([`config`]); `runInTerminal` only where the
//!   configuration allows it.
//!
//! The tools' input schemas come from schemars (the `set_breakpoints` items are
//! dapkit-types' `SourceBreakpoint`).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let server = dapkit_mcp::DebugServer::new(dapkit_mcp::Config::default());
//! dapkit_mcp::serve_stdio(server).await?;
//! # Ok(()) }
//! ```

pub mod bound;
pub mod config;
mod server;
mod session;

pub use config::Config;
pub use server::{
    AttachArgs, ContinueArgs, DebugServer, EvaluateArgs, LaunchArgs, LaunchBreakpoint,
    MAX_ARGUMENTS_JSON, MAX_SESSIONS, NoArgs, OutputArgs, PauseArgs, SessionArgs,
    SetBreakpointsArgs, SnapshotArgs, StepArgs, StepKind, ThreadArgs, VariablesArgs,
};

use rmcp::ServiceExt;

/// Serves MCP on this process's stdin/stdout until the client closes it, then ends every
/// session. Nothing else may write to stdout meanwhile.
pub async fn serve_stdio(server: DebugServer) -> Result<(), String> {
    let running = server
        .clone()
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|e| format!("the MCP handshake failed: {e}"))?;
    let result = running.waiting().await;
    server.shutdown().await;
    result
        .map(|_| ())
        .map_err(|e| format!("the MCP connection failed: {e}"))
}
