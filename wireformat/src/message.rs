//! JSON encoding and decoding of message bodies, shared by the sync and async layers.

use crate::error::Error;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Longest possible header: `Content-Length: ` + 20 digits + `\r\n\r\n`.
pub(crate) const HEADER_MAX: usize = 16 + 20 + 4;

/// Deserializes one body.
pub(crate) fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(body).map_err(|e| Error::json(e, body))
}

/// Writes the header for a body of `len` bytes into the end of `out`; returns where it
/// starts.
pub(crate) fn header(len: usize, out: &mut [u8; HEADER_MAX]) -> usize {
    let mut pos = HEADER_MAX - 4;
    out[pos..].copy_from_slice(b"\r\n\r\n");
    let mut n = len as u64;
    loop {
        pos -= 1;
        out[pos] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    pos -= 16;
    out[pos..pos + 16].copy_from_slice(b"Content-Length: ");
    pos
}

/// Clears `buf` and fills it with header and JSON body for `value`, header placed right
/// before the body; returns where the frame starts in `buf`.
pub(crate) fn encode_frame<T: Serialize + ?Sized>(
    buf: &mut Vec<u8>,
    value: &T,
) -> Result<usize, Error> {
    buf.clear();
    buf.resize(HEADER_MAX, 0);
    if let Err(e) = serde_json::to_writer(&mut *buf, value) {
        buf.clear();
        return Err(Error::serialize(e));
    }
    let mut head = [0u8; HEADER_MAX];
    let start = header(buf.len() - HEADER_MAX, &mut head);
    buf[start..HEADER_MAX].copy_from_slice(&head[start..]);
    Ok(start)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let mut out = [0u8; HEADER_MAX];
        for (len, text) in [
            (0usize, "Content-Length: 0\r\n\r\n"),
            (9, "Content-Length: 9\r\n\r\n"),
            (10, "Content-Length: 10\r\n\r\n"),
            (1234567, "Content-Length: 1234567\r\n\r\n"),
        ] {
            let start = header(len, &mut out);
            assert_eq!(&out[start..], text.as_bytes());
        }
        let start = header(usize::MAX, &mut out);
        assert_eq!(
            &out[start..],
            format!("Content-Length: {}\r\n\r\n", usize::MAX).as_bytes()
        );
    }

    #[test]
    fn encode_places_header_before_body() {
        let mut buf = Vec::new();
        let start = encode_frame(&mut buf, &serde_json::json!({"seq": 1})).unwrap();
        assert_eq!(&buf[start..], b"Content-Length: 9\r\n\r\n{\"seq\":1}");
    }
}
