//! Stopping on SIGINT or SIGTERM (Ctrl-C elsewhere): one implementation for every
//! server-like subcommand.

use crate::error::CliError;
use std::future::Future;

/// A future that resolves at SIGINT or SIGTERM (Ctrl-C elsewhere); the handlers are
/// installed when this returns, so a signal that arrives before the future is polled is
/// not lost.
pub fn install() -> Result<impl Future<Output = ()>, CliError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let install = |kind| signal(kind).map_err(|e| CliError::io("cannot catch signals", e));
        let mut int = install(SignalKind::interrupt())?;
        let mut term = install(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = int.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// Resolves at SIGINT or SIGTERM, installing the handlers when first polled; if they
/// cannot be installed, waits for Ctrl-C alone.
pub async fn shutdown_signal() {
    match install() {
        Ok(signal) => signal.await,
        Err(e) => {
            tracing::warn!("{e}; only Ctrl-C stops this command");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
