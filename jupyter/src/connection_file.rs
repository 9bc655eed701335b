//! The kernel's connection file: where its channels listen and how messages are signed.

use crate::error::Error;
use serde::Deserialize;
use std::path::Path;

/// Largest connection file read (they are a few hundred bytes).
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// How a kernel's channels are reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP: `ip` is an address, each channel a port.
    Tcp,
    /// Unix domain sockets: `ip` is a path prefix, each channel's socket is `{ip}-{port}`.
    Ipc,
}

/// A parsed connection file (the JSON a kernel is started with, `-f FILE`).
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    /// `tcp` or `ipc`.
    pub transport: Transport,
    /// The address (TCP) or path prefix (IPC).
    pub ip: String,
    /// Shell channel (execute, kernel_info).
    pub shell_port: u16,
    /// IOPub channel (outputs, status, debug events).
    pub iopub_port: u16,
    /// Stdin channel (unused here).
    pub stdin_port: u16,
    /// Control channel (debug requests).
    pub control_port: u16,
    /// Heartbeat channel.
    pub hb_port: u16,
    /// The HMAC key; empty: messages are not signed.
    pub key: String,
    /// The signature scheme; only `hmac-sha256` is supported.
    pub signature_scheme: String,
    /// The kernel's name, when given.
    pub kernel_name: Option<String>,
}

impl std::fmt::Debug for ConnectionInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionInfo")
            .field("transport", &self.transport)
            .field("ip", &self.ip)
            .field("shell_port", &self.shell_port)
            .field("iopub_port", &self.iopub_port)
            .field("control_port", &self.control_port)
            .field("hb_port", &self.hb_port)
            .field("key", &"<hidden>")
            .field("signature_scheme", &self.signature_scheme)
            .finish()
    }
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default = "default_transport")]
    transport: String,
    ip: String,
    shell_port: u16,
    iopub_port: u16,
    #[serde(default)]
    stdin_port: u16,
    control_port: u16,
    hb_port: u16,
    #[serde(default)]
    key: String,
    #[serde(default = "default_scheme")]
    signature_scheme: String,
    #[serde(default)]
    kernel_name: Option<String>,
}

fn default_transport() -> String {
    "tcp".to_owned()
}

fn default_scheme() -> String {
    "hmac-sha256".to_owned()
}

impl ConnectionInfo {
    /// Reads and checks a connection file.
    pub fn read(path: &Path) -> Result<ConnectionInfo, Error> {
        let fail = |reason: String| Error::ConnectionFile {
            path: path.to_path_buf(),
            reason,
        };
        let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
        if meta.len() > MAX_FILE_BYTES {
            return Err(fail(format!(
                "{} bytes, more than a connection file's limit of {MAX_FILE_BYTES}",
                meta.len()
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
        ConnectionInfo::from_slice(&bytes).map_err(fail)
    }

    /// Parses a connection file's JSON; the error says what is wrong.
    pub fn from_slice(bytes: &[u8]) -> Result<ConnectionInfo, String> {
        let raw: Raw =
            serde_json::from_slice(bytes).map_err(|e| format!("not a connection file: {e}"))?;
        let transport = match raw.transport.as_str() {
            "tcp" => Transport::Tcp,
            "ipc" => Transport::Ipc,
            other => {
                return Err(format!(
                    "transport {other:?} is neither \"tcp\" nor \"ipc\""
                ));
            }
        };
        if raw.signature_scheme != "hmac-sha256" && !raw.key.is_empty() {
            return Err(format!(
                "signature_scheme {:?} is not supported (only \"hmac-sha256\")",
                raw.signature_scheme
            ));
        }
        for (name, port) in [
            ("shell_port", raw.shell_port),
            ("iopub_port", raw.iopub_port),
            ("control_port", raw.control_port),
            ("hb_port", raw.hb_port),
        ] {
            if port == 0 {
                return Err(format!(
                    "{name} is 0 (the kernel has not chosen its ports yet)"
                ));
            }
        }
        if raw.ip.is_empty() {
            return Err("ip is empty".to_owned());
        }
        Ok(ConnectionInfo {
            transport,
            ip: raw.ip,
            shell_port: raw.shell_port,
            iopub_port: raw.iopub_port,
            stdin_port: raw.stdin_port,
            control_port: raw.control_port,
            hb_port: raw.hb_port,
            key: raw.key,
            signature_scheme: raw.signature_scheme,
            kernel_name: raw.kernel_name,
        })
    }

    /// The ZeroMQ endpoint of a channel's port: `tcp://IP:PORT` (a kernel bound to all
    /// interfaces, `0.0.0.0` or `*`, is reached on 127.0.0.1) or `ipc://IP-PORT`.
    pub fn endpoint(&self, port: u16) -> String {
        match self.transport {
            Transport::Tcp => {
                let ip = match self.ip.as_str() {
                    "0.0.0.0" | "*" => "127.0.0.1",
                    ip => ip,
                };
                if ip.contains(':') && !ip.starts_with('[') {
                    format!("tcp://[{ip}]:{port}")
                } else {
                    format!("tcp://{ip}:{port}")
                }
            }
            Transport::Ipc => format!("ipc://{}-{port}", self.ip),
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4,
        "hb_port": 5, "ip": "127.0.0.1", "key": "k", "transport": "tcp",
        "signature_scheme": "hmac-sha256", "kernel_name": ""}"#;

    #[test]
    fn reads_a_kernels_file_and_builds_endpoints() {
        let info = ConnectionInfo::from_slice(GOOD.as_bytes()).expect("valid file");
        assert_eq!(info.endpoint(info.control_port), "tcp://127.0.0.1:4");
        let ipc = GOOD
            .replace(r#""transport": "tcp""#, r#""transport": "ipc""#)
            .replace("127.0.0.1", "/tmp/k");
        let info = ConnectionInfo::from_slice(ipc.as_bytes()).expect("valid ipc file");
        assert_eq!(info.endpoint(info.hb_port), "ipc:///tmp/k-5");
        let any = GOOD.replace("127.0.0.1", "0.0.0.0");
        let info = ConnectionInfo::from_slice(any.as_bytes()).expect("valid file");
        assert_eq!(info.endpoint(1), "tcp://127.0.0.1:1");
    }

    #[test]
    fn bad_files_name_what_is_wrong() {
        let cases = [
            (
                GOOD.replace(r#""transport": "tcp""#, r#""transport": "udp""#),
                "\"udp\"",
            ),
            (GOOD.replace("hmac-sha256", "hmac-md5"), "hmac-md5"),
            (
                GOOD.replace(r#""hb_port": 5"#, r#""hb_port": 0"#),
                "hb_port is 0",
            ),
            (GOOD.replace(r#""control_port": 4,"#, ""), "control_port"),
            ("[1, 2]".to_owned(), "not a connection file"),
        ];
        for (text, expected) in cases {
            let err = ConnectionInfo::from_slice(text.as_bytes()).expect_err("invalid file");
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        }
    }
}
