//! [`Error`]: why talking to a kernel failed.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// Why connecting to a kernel, or a request to it, failed. Every variant names what was
/// wrong: the file, the channel and its endpoint, the message type.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Error {
    /// The connection file could not be read or does not describe a kernel.
    ConnectionFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A channel could not be reached (nothing listens there, or the handshake failed).
    Connect {
        /// `control`, `shell`, `iopub` or `hb`.
        channel: &'static str,
        /// The ZeroMQ endpoint, e.g. `tcp://127.0.0.1:5555`.
        endpoint: String,
        /// The underlying error.
        reason: String,
    },
    /// No reply within the timeout.
    Timeout {
        /// The request's message type (`kernel_info_request`, `debug_request`, ...).
        msg_type: String,
        /// How long we waited.
        after: Duration,
        /// The likely cause, when one can be told (a wrong key: the kernel drops messages
        /// whose signature does not match, silently).
        hint: Option<String>,
    },
    /// The kernel answers but its debugger is not available: `supported_features` of its
    /// `kernel_info_reply` lacks `debugger`.
    NoDebugger {
        /// The kernel's `implementation` and `implementation_version`.
        implementation: String,
        /// The features it lists.
        supported_features: Vec<String>,
    },
    /// The kernel is gone (heartbeat silent, shut down, restarted) or the connection to it
    /// was closed; no reply will come.
    KernelGone(String),
    /// A message from the kernel could not be understood.
    Protocol(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::ConnectionFile { path, reason } => {
                write!(f, "connection file {}: {reason}", path.display())
            }
            Error::Connect {
                channel,
                endpoint,
                reason,
            } => write!(
                f,
                "cannot reach the kernel's {channel} channel at {endpoint}: {reason}"
            ),
            Error::Timeout {
                msg_type,
                after,
                hint,
            } => {
                write!(f, "no reply to `{msg_type}` within {after:?}")?;
                if let Some(hint) = hint {
                    write!(f, ": {hint}")?;
                }
                Ok(())
            }
            Error::NoDebugger {
                implementation,
                supported_features,
            } => write!(
                f,
                "the kernel ({implementation}) does not support debugging: `supported_features` \
                 of its kernel_info_reply is {supported_features:?}, without \"debugger\" \
                 (for ipykernel: install debugpy in the kernel's environment)"
            ),
            Error::KernelGone(reason) => write!(f, "the kernel is gone: {reason}"),
            Error::Protocol(reason) => write!(f, "unexpected message from the kernel: {reason}"),
        }
    }
}

impl std::error::Error for Error {}
