//! Stopping on SIGINT or SIGTERM (Ctrl-C elsewhere): one implementation for every
//! server-like subcommand.
//!
//! A command installs [`Shutdown`] once, before it prints its ready line, and waits on it
//! wherever it blocks: a signal that arrives between two waits (say, after the ready line
//! and before the first `accept`) is kept, not lost, and never kills the process with the
//! default disposition.

use std::future::Future;
use tokio::sync::watch;

/// SIGINT or SIGTERM (Ctrl-C elsewhere) has arrived, or not yet. Clones share the state.
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    /// Catches the signals from now on. Must be called inside the tokio runtime. If the
    /// handlers cannot be installed, warns and waits for Ctrl-C alone.
    pub fn install() -> Self {
        let (fired, state) = watch::channel(false);
        match handlers() {
            Ok(signal) => {
                tokio::spawn(async move {
                    signal.await;
                    let _ = fired.send(true);
                });
            }
            Err(e) => {
                tracing::warn!("cannot catch signals ({e}); only Ctrl-C stops this command");
                tokio::spawn(async move {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        let _ = fired.send(true);
                    }
                    // Otherwise `fired` drops here and `wait` never resolves.
                });
            }
        }
        Shutdown(state)
    }

    /// Resolves once a signal has arrived (at once if one already has).
    pub async fn wait(&self) {
        let mut state = self.0.clone();
        if state.wait_for(|fired| *fired).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Installs the handlers now; the future resolves at the first signal.
fn handlers() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut int = signal(SignalKind::interrupt())?;
        let mut term = signal(SignalKind::terminate())?;
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

#[cfg(all(test, unix))]
mod tests {
    use super::Shutdown;
    use std::time::Duration;

    #[tokio::test]
    async fn a_signal_before_the_first_wait_is_kept() {
        let shutdown = Shutdown::install();
        // SIGINT to ourselves: without the installed handler this would end the test run.
        let pid = std::process::id().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status();
        assert!(matches!(sent, Ok(status) if status.success()), "{sent:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
        let seen = tokio::time::timeout(Duration::from_secs(5), shutdown.wait()).await;
        assert!(seen.is_ok(), "the signal that came before wait() is seen");
        // And every later wait, on any clone, resolves too.
        let again = tokio::time::timeout(Duration::from_secs(1), shutdown.clone().wait()).await;
        assert!(again.is_ok(), "a clone sees it");
    }
}
