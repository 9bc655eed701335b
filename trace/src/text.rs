//! Text a peer sent, made safe for one line of a terminal: control characters spelled as
//! escapes. Summaries, findings, differences and read errors write peer text through here;
//! [`escaped`] does the same for a program's own messages that quote a peer.

use dapkit_types::private::{tail_at, word_at};
use std::borrow::Cow;
use std::fmt;

/// `text` with its control characters (line ends, tabs, escape sequences' `ESC`, C1
/// controls) spelled as escapes (`\n`, `\t`, `\u{1b}`), so that printing it cannot break a
/// line or drive a terminal; borrowed when there is none.
///
/// ```
/// assert_eq!(dapkit_trace::text::escaped("a\u{1b}[2J b"), "a\\u{1b}[2J b");
/// assert!(matches!(dapkit_trace::text::escaped("plain é"), std::borrow::Cow::Borrowed(_)));
/// ```
pub fn escaped(text: &str) -> Cow<'_, str> {
    if printable_ascii(text) || !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    // Writing into a `String` cannot fail.
    let _ = escape_controls(text, usize::MAX, &mut out);
    Cow::Owned(out)
}

/// Whether `s` is printable ASCII only (no control characters, nothing to count): eight
/// bytes at a time, every text of every summary passing through here. The last word
/// overlaps the one before it, and a text shorter than a word is read as one word, padded
/// with spaces: no loop over single bytes, whose branches a processor mispredicts on texts
/// of every length.
pub(crate) fn printable_ascii(s: &str) -> bool {
    let b = s.as_bytes();
    let n = b.len();
    if n < 8 {
        return printable_word(short_word(b));
    }
    let mut i = 0;
    while i + 8 < n {
        if !printable_word(word_at(b, i)) {
            return false;
        }
        i += 8;
    }
    printable_word(word_at(b, n - 8))
}

/// Whether the eight bytes of `w` are all printable ASCII (0x20 to 0x7e).
#[inline(always)]
fn printable_word(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte below 0x20 (the classic "has a byte less than n" test, exact for n <= 128),
    // or one of 0x7f and above (adding 1 sets the high bit of 0x7f; 0x80 and above have it
    // already, and only they can carry into the next byte).
    let below = w.wrapping_sub(0x20 * ONES) & !w & HIGH;
    let above = (w | w.wrapping_add(ONES)) & HIGH;
    below | above == 0
}

/// The bytes of `b` (fewer than eight) as the low bytes of a word, spaces above them.
#[inline(always)]
fn short_word(b: &[u8]) -> u64 {
    const SPACES: u64 = 0x2020_2020_2020_2020;
    let n = b.len();
    let w = if n > 0 { tail_at(b, 0, n) } else { 0 };
    w | SPACES << (n * 8)
}

/// `s` with its control characters spelled as escapes (`\n`, `\r`, `\t`, `\u{1b}`), so
/// that what a peer sent can neither break a summary's line nor reach a terminal as a
/// control sequence. At most `max` characters of `s` are read.
pub(crate) fn escape_controls<W: fmt::Write + ?Sized>(
    s: &str,
    max: usize,
    out: &mut W,
) -> fmt::Result {
    // The common case: printable ASCII within the limit, written as it is.
    if s.len() <= max && printable_ascii(s) {
        return out.write_str(s);
    }
    let mut start = 0;
    let mut end = s.len();
    for (n, (i, c)) in s.char_indices().enumerate() {
        if n >= max {
            end = i;
            break;
        }
        if c.is_control() {
            out.write_str(&s[start..i])?;
            match c {
                '\n' => out.write_str("\\n")?,
                '\r' => out.write_str("\\r")?,
                '\t' => out.write_str("\\t")?,
                c => write!(out, "\\u{{{:x}}}", c as u32)?,
            }
            start = i + c.len_utf8();
        }
    }
    out.write_str(&s[start..end])
}

/// Writes through to `out` with every control character spelled as an escape: for
/// `Display` impls that mix their own words with what a peer sent.
pub(crate) struct Escaping<'a, W: ?Sized>(pub(crate) &'a mut W);

impl<W: fmt::Write + ?Sized> fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        escape_controls(s, usize::MAX, self.0)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use std::fmt::Write as _;

    #[test]
    fn printable_ascii_is_exact_for_every_byte_at_every_position() {
        for len in 1..20 {
            for at in 0..len {
                for b in 0u8..=0x7f {
                    let mut text = vec![b'a'; len];
                    text[at] = b;
                    let s = std::str::from_utf8(&text).expect("ASCII");
                    assert_eq!(printable_ascii(s), (0x20..0x7f).contains(&b), "{s:?}");
                }
            }
            let s = "a".repeat(len) + "é";
            assert!(!printable_ascii(&s));
            assert!(printable_ascii(&"~ ".repeat(len)));
        }
    }

    #[test]
    fn escaping_spells_every_control_character_and_keeps_the_rest() {
        let mut out = String::new();
        let peer = "\u{1b}[2J\r\n";
        write!(Escaping(&mut out), "a\tb {peer} é\u{85}\u{7f}").expect("a String");
        assert_eq!(out, "a\\tb \\u{1b}[2J\\r\\n é\\u{85}\\u{7f}");
        out.clear();
        escape_controls("ab\ncd", 2, &mut out).expect("a String");
        assert_eq!(out, "ab", "at most `max` characters are read");
    }
}
