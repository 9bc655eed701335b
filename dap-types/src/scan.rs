//! A fast look at a message's envelope: `type`, `command`, `event`, `success` and (of a
//! response) `request_seq`, read from the top level of the JSON bytes without decoding
//! payloads, stopping as soon as they are known.
//!
//! This is only a hint for choosing the typed decoder: when it is wrong or gives up (escaped
//! strings, unusual spacing, invalid JSON), the typed decode fails or is skipped and the
//! caller falls back to the full, lenient path, so correctness never rests on it.

/// What the scan found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Envelope<'a> {
    pub kind: Option<&'a str>,
    pub command: Option<&'a str>,
    pub event: Option<&'a str>,
    pub success: Option<bool>,
    /// `None` when absent or not an integer.
    pub request_seq: Option<i64>,
}

impl Envelope<'_> {
    fn complete(&self) -> bool {
        match self.kind {
            Some("request") => self.command.is_some(),
            Some("event") => self.event.is_some(),
            Some("response") => {
                self.success.is_some() && self.command.is_some() && self.request_seq.is_some()
            }
            _ => false,
        }
    }
}

/// An integer literal (`None` for anything else: a float, a string, `null`).
fn integer(literal: &[u8]) -> Option<i64> {
    std::str::from_utf8(literal).ok()?.parse().ok()
}

/// Scans the top-level members of a JSON object; `None` when the bytes are not a plain
/// object this scanner understands.
pub(crate) fn envelope(text: &str) -> Option<Envelope<'_>> {
    let bytes = text.as_bytes();
    let mut env = Envelope::default();
    let mut i = ws(bytes, 0);
    if *bytes.get(i)? != b'{' {
        return None;
    }
    i = ws(bytes, i + 1);
    if *bytes.get(i)? == b'}' {
        return Some(env);
    }
    loop {
        let (key, next) = plain_string(text, i)?;
        i = ws(bytes, next);
        if *bytes.get(i)? != b':' {
            return None;
        }
        i = ws(bytes, i + 1);
        match key {
            "type" | "command" | "event" => {
                let (value, next) = plain_string(text, i)?;
                let slot = match key {
                    "type" => &mut env.kind,
                    "command" => &mut env.command,
                    _ => &mut env.event,
                };
                if slot.is_some() {
                    return None; // repeated key: leave it to the full decoder
                }
                *slot = Some(value);
                i = next;
            }
            "success" => {
                if bytes[i..].starts_with(b"true") {
                    env.success = Some(true);
                    i += 4;
                } else if bytes[i..].starts_with(b"false") {
                    env.success = Some(false);
                    i += 5;
                } else {
                    return None;
                }
            }
            "request_seq" => {
                let end = skip_value(bytes, i)?;
                env.request_seq = integer(&bytes[i..end]);
                i = end;
            }
            _ => {
                if matches!(bytes.get(i), Some(b'{' | b'[')) {
                    // A payload before the tags (lldb-dap sorts keys: `body` comes first).
                    // Tags are usually the last members: read them from the end instead of
                    // walking the payload.
                    if let Some(found) = from_end(text, &env) {
                        return Some(found);
                    }
                }
                i = skip_value(bytes, i)?
            }
        }
        if env.complete() {
            return Some(env);
        }
        i = ws(bytes, i);
        match *bytes.get(i)? {
            b',' => i = ws(bytes, i + 1),
            b'}' => return Some(env),
            _ => return None,
        }
    }
}

/// Reads scalar members backwards from the closing brace until the envelope is complete or
/// a member is not a plain scalar; `None` if it does not complete.
fn from_end<'a>(text: &'a str, seen: &Envelope<'a>) -> Option<Envelope<'a>> {
    let bytes = text.as_bytes();
    let mut env = *seen;
    let mut j = rws(bytes, bytes.len());
    if j == 0 || bytes[j - 1] != b'}' {
        return None;
    }
    j -= 1;
    loop {
        j = rws(bytes, j);
        let last = *bytes.get(j.checked_sub(1)?)?;
        // The value: a string without escapes, or a bare literal (number, true, false, null).
        let (value_start, value) = if last == b'"' {
            let open = bytes[..j - 1].iter().rposition(|&b| b == b'"')?;
            let inner = &bytes[open + 1..j - 1];
            if inner.contains(&b'\\') || (open > 0 && bytes[open - 1] == b'\\') {
                return None;
            }
            (open, Some(text.get(open + 1..j - 1)?))
        } else if last.is_ascii_alphanumeric() {
            let start = bytes[..j]
                .iter()
                .rposition(|&b| !(b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+')))?
                + 1;
            (start, None)
        } else {
            return None;
        };
        let literal = &bytes[value_start..j];
        j = rws(bytes, value_start);
        if j == 0 || bytes[j - 1] != b':' {
            return None;
        }
        j = rws(bytes, j - 1);
        if j < 2 || bytes[j - 1] != b'"' {
            return None;
        }
        let key_open = bytes[..j - 1].iter().rposition(|&b| b == b'"')?;
        let key = text.get(key_open + 1..j - 1)?;
        let slot = match key {
            "type" => Some(&mut env.kind),
            "command" => Some(&mut env.command),
            "event" => Some(&mut env.event),
            _ => None,
        };
        match (slot, key) {
            (Some(slot), _) => {
                let v = value?;
                if slot.is_some_and(|old| old != v) {
                    return None;
                }
                *slot = Some(v);
            }
            (None, "success") => {
                env.success = match literal {
                    b"true" => Some(true),
                    b"false" => Some(false),
                    _ => return None,
                };
            }
            (None, "request_seq") => env.request_seq = integer(literal),
            _ => {}
        }
        if env.complete() {
            return Some(env);
        }
        j = rws(bytes, key_open);
        match bytes.get(j.checked_sub(1)?)? {
            b',' => j -= 1,
            _ => return None,
        }
    }
}

/// Index after skipping whitespace backwards from `j` (exclusive).
#[inline]
fn rws(bytes: &[u8], mut j: usize) -> usize {
    while j > 0 && matches!(bytes[j - 1], b' ' | b'\t' | b'\n' | b'\r') {
        j -= 1;
    }
    j
}

#[inline]
fn ws(bytes: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(i) {
        i += 1;
    }
    i
}

/// A string without escapes starting at `i` (the opening quote); its text and the index
/// after the closing quote.
#[inline]
fn plain_string(text: &str, i: usize) -> Option<(&str, usize)> {
    let bytes = text.as_bytes();
    if *bytes.get(i)? != b'"' {
        return None;
    }
    let start = i + 1;
    // Ends at the closing quote; a backslash or a raw control character ends the quick
    // scan (the full decoder then reads the message).
    let end = crate::private::next_escape(bytes, start);
    if bytes.get(end) != Some(&b'"') {
        return None;
    }
    // Both ends sit next to an ASCII quote, so they are character boundaries.
    Some((text.get(start..end)?, end + 1))
}

/// Skips a string starting at `i` (the opening quote), escapes included.
#[inline]
fn skip_string(bytes: &[u8], mut i: usize) -> Option<usize> {
    i += 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', bytes.get(i..)?)?;
        match bytes[i] {
            b'"' => return Some(i + 1),
            _ => i += 2,
        }
    }
}

/// Skips one JSON value starting at `i`.
fn skip_value(bytes: &[u8], mut i: usize) -> Option<usize> {
    match *bytes.get(i)? {
        b'"' => skip_string(bytes, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            loop {
                match *bytes.get(i)? {
                    b'"' => {
                        i = skip_string(bytes, i)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(i + 1);
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
        }
        _ => {
            while let Some(&b) = bytes.get(i) {
                if matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r') {
                    break;
                }
                i += 1;
            }
            Some(i)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tags_in_any_order() {
        let e = envelope(
            r#"{"body":{"x":[1,{"y":"}"}]},"command":"next","request_seq":3,"seq":4,"success":true,"type":"response"}"#,
        );
        assert_eq!(
            e,
            Some(Envelope {
                kind: Some("response"),
                command: Some("next"),
                event: None,
                success: Some(true),
                request_seq: Some(3),
            })
        );
        // Read forwards too, and an odd `request_seq` is no integer.
        let e = envelope(
            r#"{"seq":5,"type":"response","request_seq":12,"success":false,"command":"x"}"#,
        );
        assert_eq!(e.and_then(|e| e.request_seq), Some(12));
        let e = envelope(r#"{"type":"response","request_seq":"12","success":true,"command":"x"}"#);
        assert_eq!(
            e.map(|e| (e.request_seq, e.command)),
            Some((None, Some("x")))
        );
        let e = envelope(r#" { "seq" : 1 , "type" : "event" , "event" : "stopped" } "#);
        assert_eq!(e.and_then(|e| e.event), Some("stopped"));
    }

    #[test]
    fn reads_tags_from_the_end_after_a_leading_payload() {
        let e = envelope(
            r#"{"body":{"reason":"step","x":"}\"{"},"event":"stopped","seq":9,"type":"event"}"#,
        );
        assert_eq!(e.and_then(|e| e.event), Some("stopped"));
        let e =
            envelope(r#"{"arguments":{"a":[1]},"command":"next","seq":-1.5e3,"type":"request"}"#);
        assert_eq!(e.and_then(|e| e.command), Some("next"));
        // An escaped string at the end: the forward walk takes over and still finds the tags.
        let e =
            envelope(r#"{"body":{},"command":"next","success":true,"type":"response","z":"a\"b"}"#);
        assert_eq!(
            e.map(|e| (e.kind, e.success)),
            Some((Some("response"), Some(true)))
        );
    }

    #[test]
    fn never_panics_on_truncated_or_altered_input() {
        let samples = [
            r#"{"body":{"x":[1,{"y":"}"}]},"command":"next","request_seq":3,"seq":4,"success":true,"type":"response"}"#,
            r#"{"seq": 1, "type": "request", "command": "launch", "arguments": {"a": "b\"c"}}"#,
        ];
        for sample in samples {
            for end in 0..=sample.len() {
                if let Some(prefix) = sample.get(..end) {
                    let _ = envelope(prefix);
                }
                if let (Some(a), Some(b)) = (sample.get(..end), sample.get(end + 1..)) {
                    let _ = envelope(&format!("{a}{b}"));
                    let _ = envelope(&format!("{a}\"{b}"));
                    let _ = envelope(&format!("{a}{{{b}"));
                }
            }
        }
    }

    #[test]
    fn gives_up_on_what_it_does_not_understand() {
        assert_eq!(envelope(r#"{"type":"req\u0075est"}"#), None);
        assert_eq!(envelope("[1]"), None);
        assert_eq!(envelope(r#"{"type":"request","type":"event"}"#), None);
        assert_eq!(envelope(r#"{"seq":1"#), None);
        assert_eq!(envelope(r#"{"success":"yes"}"#), None);
        assert_eq!(envelope(""), None);
        assert_eq!(envelope(r#"{"a":"\"#), None);
    }
}
