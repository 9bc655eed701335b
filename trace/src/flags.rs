//! The `true`/`false` members of a typed object (an adapter's capabilities, the client's
//! `initialize` arguments), read from dapkit-types' own encoding of it: the one reading
//! behind the summary's count of capabilities and validation's capability sets.

use dapkit_types::private::WriteJson;

/// Calls `f` with the name and value of each top-level member of `object` that is `true`
/// or `false`, in the order they are encoded (each name once: the encoding has no repeated
/// members). Members of other types, and booleans nested deeper (an exception filter's
/// `default`), are not flags.
pub(crate) fn flags(object: &impl WriteJson, mut f: impl FnMut(&str, bool)) {
    let mut json = Vec::with_capacity(1024);
    object.write_json(&mut json);
    let mut depth = 0u32;
    // The last string at the top level: the key when a `:` follows it (start, end, escaped).
    let mut key: Option<(usize, usize, bool)> = None;
    let mut i = 0;
    while let Some(&b) = json.get(i) {
        i += 1;
        match b {
            b'"' => {
                // To the closing quote at once, over escapes (strings are most of the text).
                let (start, mut escaped) = (i, false);
                loop {
                    match memchr::memchr2(b'"', b'\\', json.get(i..).unwrap_or_default()) {
                        Some(k) if json.get(i + k) == Some(&b'\\') => {
                            escaped = true;
                            i += k + 2;
                        }
                        Some(k) => {
                            i += k + 1;
                            break;
                        }
                        None => return,
                    }
                }
                if depth == 1 {
                    key = Some((start, i - 1, escaped));
                }
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            b':' if depth == 1 => {
                let rest = json.get(i..).unwrap_or_default();
                let value = if rest.starts_with(b"true") {
                    true
                } else if rest.starts_with(b"false") {
                    false
                } else {
                    continue;
                };
                let Some((start, end, escaped)) = key.take() else {
                    continue;
                };
                if escaped {
                    // The name as JSON text, quotes included: unescaped by serde_json.
                    let quoted = json.get(start - 1..end + 1).unwrap_or_default();
                    if let Ok(name) = serde_json::from_slice::<String>(quoted) {
                        f(&name, value);
                    }
                } else if let Ok(name) =
                    std::str::from_utf8(json.get(start..end).unwrap_or_default())
                {
                    f(name, value);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dapkit_types::types::Capabilities;

    fn flags_of(json: serde_json::Value) -> Vec<(String, bool)> {
        let caps: Capabilities = serde_json::from_value(json).unwrap_or_default();
        let mut got = Vec::new();
        flags(&caps, |name, value| got.push((name.to_owned(), value)));
        got.sort();
        got
    }

    #[test]
    fn only_top_level_booleans_are_flags_with_their_names_unescaped() {
        let got = flags_of(serde_json::json!({
            "supportsConfigurationDoneRequest": true,
            "supportsStepBack": false,
            "exceptionBreakpointFilters": [
                {"filter": "raised", "label": "a \"quoted\":true \\", "default": true}
            ],
            "supportedChecksumAlgorithms": ["MD5"],
            "vendor\"Flag": true,
            "vendorText": "x:true",
            "vendorNumber": 1,
            "vendorObject": {"nested": true, "list": [false, {"deep": true}]}
        }));
        let want = [
            ("supportsConfigurationDoneRequest", true),
            ("supportsStepBack", false),
            ("vendor\"Flag", true),
        ];
        let mut want: Vec<(String, bool)> =
            want.iter().map(|(n, v)| ((*n).to_owned(), *v)).collect();
        want.sort();
        assert_eq!(got, want);
        assert!(flags_of(serde_json::json!({})).is_empty());
    }
}
