//! Size limits applied while reading.

/// Bounds on what a reader accepts. Memory is never reserved from an announced
/// `Content-Length`: buffers grow only as bytes arrive, and a body over the limit is
/// skipped without being stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum size of one header block, line ends and the closing empty line included.
    pub max_header_bytes: usize,
    /// Maximum size of one body; longer bodies are skipped and reported as
    /// [`ErrorKind::BodyTooLarge`](crate::ErrorKind::BodyTooLarge).
    pub max_body_bytes: usize,
}

impl Limits {
    /// 8 KiB of headers, 64 MiB of body.
    pub const DEFAULT: Limits = Limits {
        max_header_bytes: 8 * 1024,
        max_body_bytes: 64 * 1024 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
