//! Byte-faithful edits of JSON text: numbers found at given paths are replaced, every other
//! byte (member order, white space, string escapes, number spellings) stays as it was.

use std::fmt::Write as _;

/// One step of a path into a JSON document: an object member (its key as written between
/// the quotes) or an array element.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seg<'a> {
    /// An object member.
    Key(&'a str),
    /// An array element.
    Index(usize),
}

/// Deeper nesting than this is refused (serde_json's own recursion limit is 128, so any
/// text that parsed as a `Value` fits).
const MAX_DEPTH: usize = 256;

/// Walks the JSON `text` and calls `replace` with the path and text of every number; a
/// `Some` return replaces that number's text. Errors name the byte offset of bad JSON.
pub(crate) fn edit_numbers(
    text: &str,
    replace: &mut dyn FnMut(&[Seg<'_>], &str) -> Option<String>,
) -> Result<String, String> {
    let mut walker = Walker {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        out: String::with_capacity(text.len() + 16),
        copied: 0,
        path: Vec::new(),
        replace,
    };
    walker.skip_ws();
    walker.value()?;
    walker.skip_ws();
    if walker.pos != walker.bytes.len() {
        return Err(format!("trailing bytes at byte {}", walker.pos));
    }
    walker.out.push_str(&text[walker.copied..]);
    Ok(walker.out)
}

/// Sets the top-level `seq` (and `request_seq`, when given) members of a message. A
/// missing `seq` member is inserted first in the object.
pub(crate) fn set_seq(text: &str, seq: i64, request_seq: Option<i64>) -> Result<String, String> {
    let mut found_seq = false;
    let edited = edit_numbers(text, &mut |path, _| match path {
        [Seg::Key("seq")] => {
            found_seq = true;
            Some(seq.to_string())
        }
        [Seg::Key("request_seq")] => request_seq.map(|r| r.to_string()),
        _ => None,
    })?;
    if found_seq {
        return Ok(edited);
    }
    let open = edited
        .find('{')
        .ok_or_else(|| "the message is not a JSON object".to_owned())?;
    let rest = edited[open + 1..].trim_start();
    let mut out = String::with_capacity(edited.len() + 16);
    out.push_str(&edited[..=open]);
    let _ = write!(out, "\"seq\":{seq}");
    if !rest.starts_with('}') {
        out.push(',');
    }
    out.push_str(&edited[open + 1..]);
    Ok(out)
}

struct Walker<'t, 'r> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
    out: String,
    copied: usize,
    path: Vec<Seg<'t>>,
    replace: &'r mut dyn FnMut(&[Seg<'_>], &str) -> Option<String>,
}

impl<'t> Walker<'t, '_> {
    fn skip_ws(&mut self) {
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.pos += 1;
        }
    }

    fn err(&self, what: &str) -> String {
        format!("{what} at byte {}", self.pos)
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.bytes.get(self.pos) == Some(&byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.err(&format!("expected `{}`", byte as char)))
        }
    }

    fn value(&mut self) -> Result<(), String> {
        if self.path.len() > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.bytes.get(self.pos) {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string().map(|_| ()),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal("true"),
            Some(b'f') => self.literal("false"),
            Some(b'n') => self.literal("null"),
            _ => Err(self.err("expected a JSON value")),
        }
    }

    fn literal(&mut self, word: &str) -> Result<(), String> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.err("bad literal"))
        }
    }

    /// Skips a string; returns its contents as written (escapes not decoded).
    fn string(&mut self) -> Result<&'t str, String> {
        self.expect(b'"')?;
        let start = self.pos;
        loop {
            match self.bytes.get(self.pos) {
                Some(b'"') => {
                    let s = &self.text[start..self.pos];
                    self.pos += 1;
                    return Ok(s);
                }
                Some(b'\\') => self.pos += 2,
                Some(_) => self.pos += 1,
                None => return Err(self.err("unterminated string")),
            }
        }
    }

    fn number(&mut self) -> Result<(), String> {
        let start = self.pos;
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
        {
            self.pos += 1;
        }
        let spelled = &self.text[start..self.pos];
        if let Some(new) = (self.replace)(&self.path, spelled) {
            self.out.push_str(&self.text[self.copied..start]);
            self.out.push_str(&new);
            self.copied = self.pos;
        }
        Ok(())
    }

    fn object(&mut self) -> Result<(), String> {
        self.expect(b'{')?;
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            let key = self.string()?;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            self.path.push(Seg::Key(key));
            self.value()?;
            self.path.pop();
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected `,` or `}`")),
            }
        }
    }

    fn array(&mut self) -> Result<(), String> {
        self.expect(b'[')?;
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(());
        }
        let mut index = 0;
        loop {
            self.skip_ws();
            self.path.push(Seg::Index(index));
            self.value()?;
            self.path.pop();
            index += 1;
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.err("expected `,` or `]`")),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn seq_and_request_seq_are_replaced_and_nothing_else_moves() {
        let text = r#"{"seq": 7 ,"type":"response","request_seq":3,"body":{"seq":9,"x":"\"seq\":1"},"command":"threads"}"#;
        let out = set_seq(text, 12, Some(40)).expect("valid JSON");
        assert_eq!(
            out,
            r#"{"seq": 12 ,"type":"response","request_seq":40,"body":{"seq":9,"x":"\"seq\":1"},"command":"threads"}"#
        );
    }

    #[test]
    fn a_missing_seq_is_inserted() {
        assert_eq!(
            set_seq(r#"{"type":"event","event":"x"}"#, 5, None).expect("valid"),
            r#"{"seq":5,"type":"event","event":"x"}"#
        );
        assert_eq!(set_seq("{ }", 5, None).expect("valid"), r#"{"seq":5 }"#);
    }

    #[test]
    fn paths_name_members_and_elements() {
        let mut seen = Vec::new();
        let text = r#"{"a":[1,{"b":2.5e3}],"c":-0}"#;
        let out = edit_numbers(text, &mut |path, n| {
            seen.push(format!("{path:?}={n}"));
            (n == "2.5e3").then(|| "7".to_owned())
        })
        .expect("valid");
        assert_eq!(out, r#"{"a":[1,{"b":7}],"c":-0}"#);
        assert_eq!(
            seen,
            [
                r#"[Key("a"), Index(0)]=1"#,
                r#"[Key("a"), Index(1), Key("b")]=2.5e3"#,
                r#"[Key("c")]=-0"#
            ]
        );
    }

    #[test]
    fn bad_json_is_an_error_naming_the_offset() {
        let e = edit_numbers(r#"{"a":1"#, &mut |_, _| None).expect_err("unterminated");
        assert!(e.contains("at byte 6"), "{e}");
        let e = edit_numbers(r#"{"a":"x}"#, &mut |_, _| None).expect_err("unterminated");
        assert!(e.contains("unterminated string"), "{e}");
    }
}
