//! The wording both sides share: the text of an error response, and of a skipped
//! message that is not JSON.

use dapkit_types::ErrorResponse;
use std::fmt;

/// The peer's error text in an error response: `body.error.format` if present, else
/// `message`.
pub(crate) fn error_text(e: &ErrorResponse) -> Option<String> {
    let detail = e
        .body
        .as_ref()
        .and_then(|b| b.error.as_ref())
        .map(|m| m.format.clone());
    detail.or_else(|| e.message.as_ref().map(|m| m.as_str().to_owned()))
}

/// Writes the text of an `Undecodable` diagnostic (the body shown up to 64 bytes).
pub(crate) fn undecodable(f: &mut fmt::Formatter<'_>, reason: &str, prefix: &[u8]) -> fmt::Result {
    let shown = &prefix[..prefix.len().min(64)];
    write!(
        f,
        "skipped a message that is not a JSON object: {reason}; body starts \"{}\"",
        shown.escape_ascii()
    )
}

/// Writes the text of a send refused because the peer does not read.
pub(crate) fn write_queue_full(
    f: &mut fmt::Formatter<'_>,
    peer: &str,
    queued: usize,
    limit: usize,
) -> fmt::Result {
    write!(
        f,
        "the {peer} is not reading: {queued} bytes wait to be written and this message would pass the write-queue limit of {limit} bytes; nothing was sent"
    )
}
