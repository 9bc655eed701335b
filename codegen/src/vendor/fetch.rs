//! Obtaining schema bytes: a local file, an `http://` URL (a minimal HTTP/1.1 GET over
//! `std::net::TcpStream`, bounded in size and time), or an `https://` URL through `curl`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

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

const MAX_LINE: u64 = 8 * 1024;
const MAX_HEADER_BYTES: usize = 64 * 1024;
const MAX_REDIRECTS: u8 = 5;

/// Whether `from` is a URL (as opposed to a local path).
pub(crate) fn is_url(from: &str) -> bool {
    from.contains("://")
}

/// Fetches `from` (URL or local path) within `limits`.
pub(crate) fn fetch(from: &str, limits: Limits) -> Result<Vec<u8>, VendorError> {
    if let Some(rest) = from.strip_prefix("file://") {
        return read_file(Path::new(rest), limits);
    }
    if from.starts_with("http://") {
        return http_get(from, limits, MAX_REDIRECTS);
    }
    if from.starts_with("https://") {
        return curl_get(from, limits);
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

fn curl_get(url: &str, limits: Limits) -> Result<Vec<u8>, VendorError> {
    let output = Command::new("curl")
        .args(["-fsSL", "--proto", "=https,http", "--max-time"])
        .arg(limits.timeout.as_secs().max(1).to_string())
        .arg("--max-filesize")
        .arg(limits.max_bytes.to_string())
        .arg("--")
        .arg(url)
        .output();
    let output = match output {
        Ok(o) => o,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(VendorError::Fetch(format!(
                "https:// URLs are fetched with `curl`, which is not on PATH; install curl, \
                 or download {url} yourself and pass the file's path to --from"
            )));
        }
        Err(e) => {
            return Err(VendorError::Fetch(format!(
                "could not run curl for {url}: {e}"
            )));
        }
    };
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(VendorError::Fetch(format!(
            "curl failed fetching {url} ({}): {}",
            output.status,
            stderr.trim()
        )));
    }
    if output.stdout.len() > limits.max_bytes {
        return Err(too_big(url, limits));
    }
    Ok(output.stdout)
}

fn too_big(url: &str, limits: Limits) -> VendorError {
    VendorError::Fetch(format!(
        "response from {url} exceeds the {}-byte cap",
        limits.max_bytes
    ))
}

/// Parts of an `http://` URL.
#[derive(Debug, PartialEq, Eq)]
struct HttpUrl {
    host: String,
    port: u16,
    /// Value for the `Host` header.
    authority: String,
    /// Request target: path and query.
    target: String,
}

fn parse_http_url(url: &str) -> Result<HttpUrl, VendorError> {
    let bad = |why: &str| VendorError::Fetch(format!("bad URL {url}: {why}"));
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| bad("expected http://"))?;
    let rest = rest.split('#').next().unwrap_or_default();
    let split = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(split);
    let target = match target.chars().next() {
        None => "/".to_owned(),
        Some('?') => format!("/{target}"),
        Some(_) => target.to_owned(),
    };
    if authority.contains('@') {
        return Err(bad("credentials in URLs are not supported"));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    let port = match port {
        None | Some("") => 80,
        Some(p) => p.parse().map_err(|_| bad("port is not a number 0-65535"))?,
    };
    Ok(HttpUrl {
        host: host.to_owned(),
        port,
        authority: authority.to_owned(),
        target,
    })
}

/// A stream whose reads fail once an overall deadline has passed.
struct Deadline {
    stream: TcpStream,
    deadline: Instant,
}

impl Read for Deadline {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf)
    }
}

fn http_get(url: &str, limits: Limits, redirects_left: u8) -> Result<Vec<u8>, VendorError> {
    let parsed = parse_http_url(url)?;
    let deadline = Instant::now() + limits.timeout;
    let net = |e: std::io::Error| {
        if matches!(
            e.kind(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        ) {
            VendorError::Fetch(format!(
                "timed out after {} s fetching {url}",
                limits.timeout.as_secs_f32()
            ))
        } else {
            VendorError::Fetch(format!("fetching {url}: {e}"))
        }
    };
    let addrs = (parsed.host.as_str(), parsed.port)
        .to_socket_addrs()
        .map_err(|e| VendorError::Fetch(format!("cannot resolve host of {url}: {e}")))?;
    let mut last_err = None;
    let mut stream = None;
    for addr in addrs {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match TcpStream::connect_timeout(&addr, left) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    let mut stream = stream.ok_or_else(|| match last_err {
        Some(e) => VendorError::Fetch(format!("cannot connect to {url}: {e}")),
        None => VendorError::Fetch(format!("cannot connect to {url}: no address")),
    })?;
    stream
        .set_write_timeout(Some(limits.timeout))
        .map_err(net)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: dapkit-codegen\r\nAccept: application/json, */*\r\n\
         Accept-Encoding: identity\r\nConnection: close\r\n\r\n",
        parsed.target, parsed.authority
    );
    stream.write_all(request.as_bytes()).map_err(net)?;
    let mut reader = BufReader::new(Deadline { stream, deadline });

    // Status line and headers; skip interim 1xx responses.
    let mut header_bytes = 0usize;
    let (status, reason, headers) = loop {
        let line = read_line(&mut reader, &mut header_bytes, url).map_err(net)??;
        let mut parts = line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        let code = parts.next().unwrap_or_default();
        let reason = parts.next().unwrap_or_default().to_owned();
        let status: u16 = match (version.starts_with("HTTP/1."), code.parse()) {
            (true, Ok(c)) if (100..=599).contains(&c) => c,
            _ => {
                return Err(VendorError::Fetch(format!(
                    "{url} did not answer with an HTTP/1.x status line: {line:?}"
                )));
            }
        };
        let mut headers = Vec::new();
        loop {
            let h = read_line(&mut reader, &mut header_bytes, url).map_err(net)??;
            if h.is_empty() {
                break;
            }
            let (name, value) = h.split_once(':').ok_or_else(|| {
                VendorError::Fetch(format!("malformed header line from {url}: {h:?}"))
            })?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        if status >= 200 {
            break (status, reason, headers);
        }
    };
    let header = |name: &str| {
        headers
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };

    if matches!(status, 301 | 302 | 303 | 307 | 308) {
        if let Some(location) = header("location") {
            if redirects_left == 0 {
                return Err(VendorError::Fetch(format!(
                    "too many redirects fetching {url}"
                )));
            }
            let next = if is_url(location) {
                location.to_owned()
            } else if location.starts_with('/') {
                format!("http://{}{location}", parsed.authority)
            } else {
                return Err(VendorError::Fetch(format!(
                    "{url} redirected to an unsupported relative location {location:?}"
                )));
            };
            return if next.starts_with("http://") {
                http_get(&next, limits, redirects_left - 1)
            } else {
                fetch(&next, limits)
            };
        }
    }
    if !(200..300).contains(&status) {
        return Err(VendorError::Fetch(format!(
            "HTTP {status} {} from {url}",
            reason.trim()
        )));
    }

    let chunked = header("transfer-encoding")
        .map(|te| te.to_ascii_lowercase().trim_end().ends_with("chunked"))
        .unwrap_or(false);
    if chunked {
        return read_chunked(&mut reader, url, limits).map_err(net)?;
    }
    if let Some(len) = header("content-length") {
        let len: usize = len.parse().map_err(|_| {
            VendorError::Fetch(format!("invalid Content-Length {len:?} from {url}"))
        })?;
        if len > limits.max_bytes {
            return Err(too_big(url, limits));
        }
        let mut body = Vec::with_capacity(len);
        (&mut reader)
            .take(len as u64)
            .read_to_end(&mut body)
            .map_err(net)?;
        if body.len() < len {
            return Err(VendorError::Fetch(format!(
                "connection closed after {} of {len} body bytes from {url}",
                body.len()
            )));
        }
        return Ok(body);
    }
    // No length: the body runs until the server closes the connection.
    let mut body = Vec::new();
    (&mut reader)
        .take(limits.max_bytes as u64 + 1)
        .read_to_end(&mut body)
        .map_err(net)?;
    if body.len() > limits.max_bytes {
        return Err(too_big(url, limits));
    }
    Ok(body)
}

/// Reads one CRLF- (or LF-) terminated line. The outer `Result` carries I/O errors, the
/// inner one protocol errors.
fn read_line(
    reader: &mut impl BufRead,
    header_bytes: &mut usize,
    url: &str,
) -> std::io::Result<Result<String, VendorError>> {
    let mut line = Vec::new();
    reader.take(MAX_LINE).read_until(b'\n', &mut line)?;
    *header_bytes += line.len();
    if line.last() != Some(&b'\n') {
        let why = if line.len() as u64 >= MAX_LINE {
            "a protocol line is too long"
        } else {
            "the connection closed mid-response"
        };
        return Ok(Err(VendorError::Fetch(format!("{why} ({url})"))));
    }
    if *header_bytes > MAX_HEADER_BYTES {
        return Ok(Err(VendorError::Fetch(format!(
            "response headers from {url} exceed {MAX_HEADER_BYTES} bytes"
        ))));
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(String::from_utf8(line)
        .map_err(|_| VendorError::Fetch(format!("non-UTF-8 protocol line from {url}"))))
}

fn read_chunked(
    reader: &mut impl BufRead,
    url: &str,
    limits: Limits,
) -> std::io::Result<Result<Vec<u8>, VendorError>> {
    let mut body = Vec::new();
    // Chunk-size lines and trailers share the header budget.
    let mut line_bytes = 0usize;
    loop {
        let line = match read_line(reader, &mut line_bytes, url)? {
            Ok(l) => l,
            Err(e) => return Ok(Err(e)),
        };
        let size_text = line.split(';').next().unwrap_or_default().trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            return Ok(Err(VendorError::Fetch(format!(
                "malformed chunk size {size_text:?} from {url}"
            ))));
        };
        if size == 0 {
            loop {
                match read_line(reader, &mut line_bytes, url)? {
                    Ok(l) if l.is_empty() => return Ok(Ok(body)),
                    Ok(_) => {}
                    Err(e) => return Ok(Err(e)),
                }
            }
        }
        if body.len().saturating_add(size) > limits.max_bytes {
            return Ok(Err(too_big(url, limits)));
        }
        let before = body.len();
        reader.take(size as u64).read_to_end(&mut body)?;
        if body.len() - before < size {
            return Ok(Err(VendorError::Fetch(format!(
                "connection closed inside a chunk from {url}"
            ))));
        }
        match read_line(reader, &mut line_bytes, url)? {
            Ok(l) if l.is_empty() => {}
            Ok(_) | Err(_) => {
                return Ok(Err(VendorError::Fetch(format!(
                    "chunk not followed by CRLF from {url}"
                ))));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn url_parsing() {
        let u = parse_http_url("http://127.0.0.1:8080/a/b.json?x=1#frag").unwrap();
        assert_eq!(
            u,
            HttpUrl {
                host: "127.0.0.1".into(),
                port: 8080,
                authority: "127.0.0.1:8080".into(),
                target: "/a/b.json?x=1".into()
            }
        );
        let u = parse_http_url("http://example.test").unwrap();
        assert_eq!((u.port, u.target.as_str()), (80, "/"));
        let u = parse_http_url("http://[::1]:9/x").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9));
        let e = parse_http_url("http://h:99999/").unwrap_err().to_string();
        assert!(e.contains("port"), "{e}");
        let e = parse_http_url("http://u:p@h/").unwrap_err().to_string();
        assert!(e.contains("credentials"), "{e}");
        let e = fetch("ftp://h/x", DEFAULT_LIMITS).unwrap_err().to_string();
        assert!(e.contains("unsupported URL scheme `ftp`"), "{e}");
    }

    #[test]
    fn chunked_decoding() {
        let wire = b"4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nTrailer: x\r\n\r\n";
        let body = read_chunked(&mut &wire[..], "u", DEFAULT_LIMITS)
            .unwrap()
            .unwrap();
        assert_eq!(body, b"Wikipedia");
        let bad = b"zz\r\n";
        let e = read_chunked(&mut &bad[..], "u", DEFAULT_LIMITS)
            .unwrap()
            .unwrap_err();
        assert!(e.to_string().contains("malformed chunk size"), "{e}");
        let small = Limits {
            timeout: Duration::from_secs(1),
            max_bytes: 3,
        };
        let e = read_chunked(&mut &wire[..], "u", small)
            .unwrap()
            .unwrap_err();
        assert!(e.to_string().contains("3-byte cap"), "{e}");
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
        assert!(e.contains("closed after 3 of 10"), "{e}");
        handle.join().unwrap();
    }
}
