//! Obtaining schema bytes: a local file, or an `http://`/`https://` URL through `ureq`
//! (rustls for TLS, bounded in size and time, redirects followed up to five times).

use std::path::Path;
use std::time::Duration;

use super::VendorError;

/// Bounds on a fetch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Total time allowed for one fetch (connect, request, response).
    pub timeout: Duration,
    /// Largest accepted body, in bytes.
    pub max_bytes: usize,
}

/// Limits used by the CLI: 60 s and 16 MiB (the DAP schema is about 190 KB).
pub(crate) const DEFAULT_LIMITS: Limits = Limits {
    timeout: Duration::from_secs(60),
    max_bytes: 16 * 1024 * 1024,
};

const MAX_REDIRECTS: u32 = 5;

/// Whether `from` is a URL (as opposed to a local path).
pub(crate) fn is_url(from: &str) -> bool {
    from.contains("://")
}

/// Fetches `from` (URL or local path) within `limits`.
pub(crate) fn fetch(from: &str, limits: Limits) -> Result<Vec<u8>, VendorError> {
    if let Some(rest) = from.strip_prefix("file://") {
        return read_file(Path::new(rest), limits);
    }
    if from.starts_with("http://") || from.starts_with("https://") {
        return http_get(from, limits);
    }
    if let Some((scheme, _)) = from.split_once("://") {
        return Err(VendorError::Fetch(format!(
            "unsupported URL scheme `{scheme}` in {from}: use http://, https:// or a local path"
        )));
    }
    read_file(Path::new(from), limits)
}

fn read_file(path: &Path, limits: Limits) -> Result<Vec<u8>, VendorError> {
    let io_err = |source| VendorError::Io {
        what: format!("reading {}", path.display()),
        source,
    };
    let len = std::fs::metadata(path).map_err(io_err)?.len();
    if len > limits.max_bytes as u64 {
        return Err(VendorError::Fetch(format!(
            "{} is {len} bytes, over the {}-byte cap",
            path.display(),
            limits.max_bytes
        )));
    }
    std::fs::read(path).map_err(io_err)
}

fn http_get(url: &str, limits: Limits) -> Result<Vec<u8>, VendorError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(limits.timeout))
        .max_redirects(MAX_REDIRECTS)
        // One fetch per agent: a redirect opens a fresh connection instead of reusing one
        // the server may already have closed.
        .max_idle_connections(0)
        .max_idle_connections_per_host(0)
        .http_status_as_error(false)
        .user_agent("dapkit-codegen")
        .build()
        .into();
    let mut response = agent
        .get(url)
        .header("Accept", "application/json, */*")
        .call()
        .map_err(|e| fetch_error(url, limits, e))?;
    let status = response.status();
    if !status.is_success() {
        return Err(VendorError::Fetch(format!(
            "HTTP {} {}from {url}",
            status.as_u16(),
            status
                .canonical_reason()
                .map(|r| format!("{r} "))
                .unwrap_or_default()
        )));
    }
    if let Some(len) = response.body().content_length() {
        if len > limits.max_bytes as u64 {
            return Err(too_big(url, limits));
        }
    }
    response
        .body_mut()
        .with_config()
        .limit(limits.max_bytes as u64)
        .read_to_vec()
        .map_err(|e| fetch_error(url, limits, e))
}

fn too_big(url: &str, limits: Limits) -> VendorError {
    VendorError::Fetch(format!(
        "response from {url} exceeds the {}-byte cap",
        limits.max_bytes
    ))
}

/// A `ureq` error as a message naming the URL and what went wrong.
fn fetch_error(url: &str, limits: Limits, error: ureq::Error) -> VendorError {
    use std::io::ErrorKind;
    let message = match &error {
        ureq::Error::Timeout(_) => format!(
            "timed out after {} s fetching {url}",
            limits.timeout.as_secs_f32()
        ),
        ureq::Error::Io(e) if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) => {
            format!(
                "timed out after {} s fetching {url}",
                limits.timeout.as_secs_f32()
            )
        }
        ureq::Error::BodyExceedsLimit(_) => return too_big(url, limits),
        ureq::Error::Io(e) if e.kind() == ErrorKind::UnexpectedEof => {
            format!("connection closed before the end of the body from {url}")
        }
        ureq::Error::HostNotFound => format!("cannot resolve host of {url}"),
        ureq::Error::ConnectionFailed => format!("cannot connect to {url}"),
        ureq::Error::Io(e) if e.kind() == ErrorKind::ConnectionRefused => {
            format!("cannot connect to {url}: {e}")
        }
        ureq::Error::TooManyRedirects => format!("too many redirects fetching {url}"),
        other => format!("fetching {url}: {other}"),
    };
    VendorError::Fetch(message)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::time::Instant;

    #[test]
    fn other_url_schemes_are_refused() {
        let e = fetch("ftp://h/x", DEFAULT_LIMITS).unwrap_err().to_string();
        assert!(e.contains("unsupported URL scheme `ftp`"), "{e}");
    }

    /// Serves one connection with `response` after reading the request head.
    fn serve_once(response: Vec<u8>, linger: Duration) -> (String, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/s.json", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            if let Ok((mut conn, _)) = listener.accept() {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 8192 {
                    if conn.read(&mut byte).unwrap_or(0) == 0 {
                        break;
                    }
                    head.push(byte[0]);
                }
                let _ = conn.write_all(&response);
                std::thread::sleep(linger);
            }
        });
        (url, handle)
    }

    #[test]
    fn times_out_on_silent_server() {
        let (url, handle) = serve_once(Vec::new(), Duration::from_millis(1500));
        let limits = Limits {
            timeout: Duration::from_millis(300),
            max_bytes: 1024,
        };
        let start = Instant::now();
        let e = fetch(&url, limits).unwrap_err().to_string();
        // Timed out (the server stays silent for 1.5 s, then hangs up: that would be
        // another error); the elapsed time is only reported.
        assert!(e.contains("timed out"), "{e}");
        eprintln!("timed out after {:?}", start.elapsed());
        handle.join().unwrap();
    }

    #[test]
    fn enforces_size_cap() {
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n".to_vec();
        let (url, handle) = serve_once(resp, Duration::ZERO);
        let limits = Limits {
            timeout: Duration::from_secs(5),
            max_bytes: 1000,
        };
        let e = fetch(&url, limits).unwrap_err().to_string();
        assert!(e.contains("1000-byte cap"), "{e}");
        handle.join().unwrap();

        let mut resp = b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n".to_vec();
        resp.extend(std::iter::repeat_n(b'x', 1001));
        let (url, handle) = serve_once(resp, Duration::ZERO);
        let e = fetch(&url, limits).unwrap_err().to_string();
        assert!(e.contains("1000-byte cap"), "{e}");
        handle.join().unwrap();
    }

    #[test]
    fn truncated_body_is_an_error() {
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc".to_vec();
        let (url, handle) = serve_once(resp, Duration::ZERO);
        let e = fetch(&url, DEFAULT_LIMITS).unwrap_err().to_string();
        assert!(
            e.contains("connection closed before the end of the body"),
            "{e}"
        );
        handle.join().unwrap();
    }
}
