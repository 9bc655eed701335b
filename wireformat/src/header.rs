//! Header-block scanning, shared by the sync reader and the async codec.
//!
//! [`scan`] looks at the unconsumed bytes where a header block is expected and says what
//! to do: a complete block was found, more bytes are needed, some bytes are junk to skip,
//! or an error consumes some bytes. It keeps no state; the one piece of state that spans
//! calls (whether junk is being skipped) is passed in by the driver. Every decision depends
//! only on the bytes, never on how they were chunked.

use crate::error::{Error, ErrorKind};
use crate::limits::Limits;
use memchr::{memchr, memchr2_iter};

/// The header name that carries the body length, lower-cased.
const MARKER: &[u8] = b"content-length";

/// What the driver should do next.
#[derive(Debug)]
pub(crate) enum Step {
    /// A header block of `header_len` bytes announcing `body_len` bytes starts here.
    Header { header_len: usize, body_len: u64 },
    /// Not enough bytes to decide.
    NeedMore,
    /// Resync mode: skip this many junk bytes.
    Skip(usize),
    /// Resync mode, while skipping: a `Content-Length` header starts here.
    Found,
    /// Consume `consume` bytes, then report `error`.
    Fail { consume: usize, error: Error },
    /// Consume `consume` bytes and then everything through the next `\n` (or to the end of
    /// the stream), adding what is dropped to the error's prefix; then report `error`.
    FailDrainLine { consume: usize, error: Error },
}

/// Decides what the bytes at the start of `buf` are.
///
/// `in_junk` is true while resync mode is skipping junk; `at_eof` says no more bytes
/// will follow `buf`.
pub(crate) fn scan(buf: &[u8], limits: &Limits, resync: bool, in_junk: bool, at_eof: bool) -> Step {
    if in_junk {
        return scan_junk(buf, at_eof);
    }
    let max = limits.max_header_bytes;
    if let Some(step) = canonical(buf, max) {
        return step;
    }
    match classify_start(
        &buf[..buf.len().min(max.saturating_add(1))],
        buf.len() > max,
    ) {
        Start::Header => {}
        Start::Undecided => {
            return if at_eof {
                Step::Fail {
                    consume: buf.len(),
                    error: Error::eof("stream ended inside a header block", buf),
                }
            } else {
                Step::NeedMore
            };
        }
        Start::Junk if resync => {
            let skip = 1 + find_marker(&buf[1..]).unwrap_or(buf.len() - 1);
            return Step::Skip(skip);
        }
        Start::Junk => {
            let error = Error::new(
                ErrorKind::InvalidHeader,
                "expected a header line `Name: value`",
            );
            return match memchr(b'\n', buf) {
                Some(nl) => Step::Fail {
                    consume: nl + 1,
                    error: error.with_prefix(&buf[..nl + 1]),
                },
                None if at_eof => Step::Fail {
                    consume: buf.len(),
                    error: error.with_prefix(buf),
                },
                None => Step::FailDrainLine { consume: 0, error },
            };
        }
    }

    let mut pos = 0;
    let mut length: Option<u64> = None;
    loop {
        let rest = &buf[pos..];
        let Some(nl) = memchr(b'\n', rest) else {
            if buf.len() > max {
                let error = too_large(max).with_prefix(&buf[..pos]);
                return Step::FailDrainLine {
                    consume: pos,
                    error,
                };
            }
            if at_eof {
                return Step::Fail {
                    consume: buf.len(),
                    error: Error::eof("stream ended inside a header block", buf),
                };
            }
            return Step::NeedMore;
        };
        let end = pos + nl + 1;
        if end > max {
            return Step::Fail {
                consume: end,
                error: too_large(max).with_prefix(&buf[..end]),
            };
        }
        let line = strip_cr(&rest[..nl]);
        let fail = |kind, detail: String| Step::Fail {
            consume: end,
            error: Error::new(kind, detail).with_prefix(&buf[..end]),
        };
        if line.is_empty() {
            return match length {
                Some(body_len) => Step::Header {
                    header_len: end,
                    body_len,
                },
                None => fail(
                    ErrorKind::MissingContentLength,
                    "header block ended without a Content-Length header".into(),
                ),
            };
        }
        let Some((name, value)) = split_header(line) else {
            return fail(
                ErrorKind::InvalidHeader,
                format!("not a `Name: value` header line: \"{}\"", show(line)),
            );
        };
        if name.eq_ignore_ascii_case(MARKER) {
            let n = match parse_length(value) {
                Ok(n) => n,
                Err(why) => {
                    return fail(
                        ErrorKind::InvalidContentLength,
                        format!("value \"{}\" {why}", show(value)),
                    );
                }
            };
            if let Some(previous) = length {
                if previous != n {
                    return fail(
                        ErrorKind::ConflictingContentLength,
                        format!("{previous} and then {n}"),
                    );
                }
            }
            length = Some(n);
        }
        pos = end;
    }
}

/// The header every known peer sends, `Content-Length: N\r\n\r\n`, recognised without
/// the general line-by-line parse. Gives exactly what the general parse would give, or
/// `None` to let it decide.
#[inline]
pub(crate) fn canonical_header(buf: &[u8], max: usize) -> Option<(usize, u64)> {
    match canonical(buf, max)? {
        Step::Header {
            header_len,
            body_len,
        } => Some((header_len, body_len)),
        _ => None,
    }
}

#[inline]
fn canonical(buf: &[u8], max: usize) -> Option<Step> {
    const NAME: &[u8] = b"Content-Length: ";
    let rest = buf.strip_prefix(NAME)?;
    let mut n: u64 = 0;
    let mut digits = 0;
    // At most 19 digits: cannot overflow a u64.
    while digits < 19 {
        match rest.get(digits) {
            Some(&b) if b.is_ascii_digit() => {
                n = n * 10 + u64::from(b - b'0');
                digits += 1;
            }
            _ => break,
        }
    }
    if digits == 0 || rest.get(digits..digits + 4)? != b"\r\n\r\n" {
        return None;
    }
    let header_len = NAME.len() + digits + 4;
    (header_len <= max).then_some(Step::Header {
        header_len,
        body_len: n,
    })
}

fn too_large(max: usize) -> Error {
    Error::new(
        ErrorKind::HeaderTooLarge,
        format!("no end of header block within {max} bytes"),
    )
}

/// While skipping junk: stop at the next `Content-Length` (any case).
fn scan_junk(buf: &[u8], at_eof: bool) -> Step {
    if buf.len() >= MARKER.len() {
        if buf[..MARKER.len()].eq_ignore_ascii_case(MARKER) {
            return Step::Found;
        }
    } else if buf.eq_ignore_ascii_case(&MARKER[..buf.len()]) {
        // Could be the start of the marker; wait unless nothing more will come.
        return if at_eof {
            Step::Skip(buf.len())
        } else {
            Step::NeedMore
        };
    }
    match buf.len() {
        0 => Step::NeedMore,
        len => Step::Skip(1 + find_marker(&buf[1..]).unwrap_or(len - 1)),
    }
}

/// The first position that is `Content-Length` (any case) or, at the very end of `hay`,
/// a prefix of it.
fn find_marker(hay: &[u8]) -> Option<usize> {
    memchr2_iter(b'c', b'C', hay).find(|&i| {
        let tail = &hay[i..];
        let n = tail.len().min(MARKER.len());
        tail[..n].eq_ignore_ascii_case(&MARKER[..n])
    })
}

enum Start {
    /// The bytes begin with a header name followed by `:`.
    Header,
    /// Only name characters so far.
    Undecided,
    /// Not a header line.
    Junk,
}

/// Classifies the first line from `head` (the first `max_header_bytes + 1` bytes);
/// `over` says the buffer already holds more than that.
fn classify_start(head: &[u8], over: bool) -> Start {
    for (i, &b) in head.iter().enumerate() {
        if b == b':' {
            return if i == 0 { Start::Junk } else { Start::Header };
        }
        if !is_tchar(b) {
            return Start::Junk;
        }
    }
    if over { Start::Junk } else { Start::Undecided }
}

/// Token characters of RFC 9110 (header names).
#[inline]
fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};

fn strip_cr(line: &[u8]) -> &[u8] {
    match line.split_last() {
        Some((b'\r', rest)) => rest,
        _ => line,
    }
}

/// `Name: value` with the value's surrounding spaces and tabs removed.
fn split_header(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let colon = memchr(b':', line)?;
    let name = &line[..colon];
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return None;
    }
    let value = line[colon + 1..].trim_ascii();
    Some((name, value))
}

fn parse_length(value: &[u8]) -> Result<u64, &'static str> {
    match value.first() {
        None => return Err("is empty"),
        Some(b'-') => return Err("is negative"),
        Some(_) => {}
    }
    let mut n: u64 = 0;
    for &b in value {
        if !b.is_ascii_digit() {
            return Err("is not a decimal number of bytes");
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or("does not fit in 64 bits")?;
    }
    Ok(n)
}

/// Bytes for an error message, cut short.
fn show(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(64)];
    let mut s = cut.escape_ascii().to_string();
    if bytes.len() > cut.len() {
        s.push_str("...");
    }
    s
}

/// Skipped junk, waiting to be reported.
#[derive(Default)]
pub(crate) struct Junk {
    skipped: u64,
    prefix: Vec<u8>,
}

impl Junk {
    pub(crate) fn add(&mut self, bytes: &[u8]) {
        self.skipped += bytes.len() as u64;
        let room = crate::error::PREFIX_LEN.saturating_sub(self.prefix.len());
        self.prefix
            .extend_from_slice(&bytes[..room.min(bytes.len())]);
    }

    pub(crate) fn into_error(self) -> Error {
        Error::new(ErrorKind::Skipped, format!("{} bytes", self.skipped))
            .with_prefix(&self.prefix)
            .with_length(self.skipped)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn strict(buf: &[u8]) -> Step {
        scan(buf, &Limits::DEFAULT, false, false, false)
    }

    #[test]
    fn complete_block() {
        match strict(b"Content-Length: 12\r\n\r\n{...}") {
            Step::Header {
                header_len,
                body_len,
            } => assert_eq!((header_len, body_len), (22, 12)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn partial_block_needs_more() {
        for cut in 0..22 {
            let step = strict(&b"Content-Length: 12\r\n\r\n"[..cut]);
            assert!(matches!(step, Step::NeedMore), "cut {cut}: {step:?}");
        }
    }

    #[test]
    fn length_values() {
        assert_eq!(parse_length(b"0"), Ok(0));
        assert_eq!(parse_length(b"007"), Ok(7));
        assert_eq!(parse_length(b"18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            parse_length(b"18446744073709551616"),
            Err("does not fit in 64 bits")
        );
        assert_eq!(parse_length(b"-1"), Err("is negative"));
        assert_eq!(parse_length(b""), Err("is empty"));
        assert_eq!(parse_length(b"+1"), Err("is not a decimal number of bytes"));
        assert_eq!(
            parse_length(b"1 2"),
            Err("is not a decimal number of bytes")
        );
        assert_eq!(
            parse_length(b"0x10"),
            Err("is not a decimal number of bytes")
        );
    }

    #[test]
    fn canonical_agrees_with_the_general_parse() {
        let limits = |max| Limits {
            max_header_bytes: max,
            ..Limits::DEFAULT
        };
        for input in [
            &b"Content-Length: 12\r\n\r\n{}"[..],
            b"Content-Length: 0\r\n\r\n",
            b"Content-Length: 0000000000000000001\r\n\r\n",
            b"Content-Length: 9999999999999999999\r\n\r\n",
            b"Content-Length: 99999999999999999999\r\n\r\n",
            b"Content-Length: 12\r\nX: y\r\n\r\n",
            b"Content-Length: 12 \r\n\r\n",
            b"Content-Length: \r\n\r\n",
            b"Content-Length: 12\r\n\r",
        ] {
            for max in [8, 20, 22, 23, 64, 8192] {
                let fast = canonical(input, max);
                // The general parse, with the fast path out of the way.
                let mut general_input = b"content-length".to_vec();
                general_input.extend_from_slice(&input[14..]);
                let general = scan(&general_input, &limits(max), false, false, false);
                match fast {
                    Some(Step::Header {
                        header_len,
                        body_len,
                    }) => match general {
                        Step::Header {
                            header_len: h,
                            body_len: b,
                        } => {
                            assert_eq!((header_len, body_len), (h, b), "{input:?} {max}")
                        }
                        other => panic!("{input:?} {max}: fast Header, general {other:?}"),
                    },
                    Some(other) => panic!("canonical gave {other:?}"),
                    // The general parse decides alone.
                    None => {}
                }
            }
        }
    }

    #[test]
    fn canonical_fires_on_the_canonical_header() {
        assert!(matches!(
            canonical(b"Content-Length: 12\r\n\r\n{}", 8192),
            Some(Step::Header {
                header_len: 22,
                body_len: 12
            })
        ));
        assert!(canonical(b"Content-Length: 12\r\n\r\n", 21).is_none());
        assert!(canonical(b"content-length: 12\r\n\r\n", 8192).is_none());
    }

    #[test]
    fn tchar_table() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
            assert_eq!(is_tchar(b), expected, "{b}");
        }
    }

    #[test]
    fn marker_search() {
        assert_eq!(find_marker(b"xx content-LENGTH: 1"), Some(3));
        assert_eq!(find_marker(b"abc cont"), Some(4));
        assert_eq!(find_marker(b"ccc"), Some(2));
        assert_eq!(find_marker(b"xyz"), None);
        assert_eq!(find_marker(b"contents"), None);
    }
}
