//! The bounds every tool answer keeps, whatever the program holds.

use serde_json::{Value, json};

/// Strings (values, expressions, output) are cut at this many bytes; the full length is
/// noted next to them.
pub const MAX_STRING: usize = 2048;
/// Collections (variables, frames, threads) are cut at this many elements.
pub const MAX_ITEMS: usize = 100;
/// A whole tool answer stays under this many bytes of JSON.
pub const MAX_ANSWER: usize = 64 * 1024;
/// The budget a snapshot is built to (a margin under [`MAX_ANSWER`] for the envelope).
pub const SNAPSHOT_BUDGET: usize = 56 * 1024;
/// Output kept per session (the newest bytes).
pub const OUTPUT_KEPT: usize = 256 * 1024;
/// The largest tool argument string accepted (an expression, a path, a condition).
pub const MAX_ARGUMENT: usize = 64 * 1024;

/// `s` cut to at most `max` bytes at a character boundary.
pub fn cut_str(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Puts `value` under `key` in `object`, cut at [`MAX_STRING`]; when cut, `<key>Length`
/// holds the full length in bytes and `<key>Truncated` is true.
pub fn put_str(object: &mut serde_json::Map<String, Value>, key: &str, value: &str) {
    put_str_max(object, key, value, MAX_STRING);
}

/// [`put_str`] with another bound.
pub fn put_str_max(
    object: &mut serde_json::Map<String, Value>,
    key: &str,
    value: &str,
    max: usize,
) {
    let cut = cut_str(value, max);
    object.insert(key.to_owned(), Value::from(cut));
    if cut.len() < value.len() {
        object.insert(format!("{key}Length"), json!(value.len()));
        object.insert(format!("{key}Truncated"), Value::Bool(true));
    }
}

/// The size of `value` as compact JSON.
pub fn json_len(value: &Value) -> usize {
    serde_json::to_vec(value)
        .map(|v| v.len())
        .unwrap_or(usize::MAX)
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_cut_on_char_boundaries_with_the_length_noted() {
        let long = "é".repeat(3000);
        let mut o = serde_json::Map::new();
        put_str(&mut o, "value", &long);
        let v = o["value"].as_str().expect("a string");
        assert!(v.len() <= MAX_STRING && v.len() >= MAX_STRING - 1);
        assert_eq!(o["valueLength"], json!(6000));
        assert_eq!(o["valueTruncated"], json!(true));
        let mut o = serde_json::Map::new();
        put_str(&mut o, "value", "short");
        assert_eq!(Value::Object(o), json!({"value": "short"}));
    }
}
