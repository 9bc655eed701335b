//! A fast look at a message's envelope: `type`, `command`, `event` and `success`, read from
//! the top level of the JSON bytes without decoding payloads, stopping as soon as they are
//! known.
//!
//! This is only a hint for choosing the typed decoder: when it is wrong or gives up (escaped
//! strings, unusual spacing, invalid JSON), the typed decode fails or is skipped and the
//! caller falls back to the full, lenient path, so correctness never rests on it.

/// What the scan found.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Envelope<'a> {
    pub kind: Option<&'a str>,
    pub command: Option<&'a str>,
    pub event: Option<&'a str>,
    pub success: Option<bool>,
}

impl Envelope<'_> {
    fn complete(&self) -> bool {
        match self.kind {
            Some("request") => self.command.is_some(),
            Some("event") => self.event.is_some(),
            Some("response") => self.success.is_some() && self.command.is_some(),
            _ => false,
        }
    }
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
            _ => i = skip_value(bytes, i)?,
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
    let end = start + memchr::memchr2(b'"', b'\\', bytes.get(start..)?)?;
    if bytes[end] != b'"' {
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
                success: Some(true)
            })
        );
        let e = envelope(r#" { "seq" : 1 , "type" : "event" , "event" : "stopped" } "#);
        assert_eq!(e.and_then(|e| e.event), Some("stopped"));
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
