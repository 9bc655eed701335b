//! The members of one message, split at the top level without decoding payloads, and the
//! bodies the proxy writes from them.
//!
//! The proxy renumbers every message it passes on (`seq`, and `request_seq` of
//! responses) and leaves the rest byte-exact. A message is kept as its *tail*: the
//! members other than the ones the proxy rewrites, as `"name":value` pairs joined by
//! commas, without braces. [`compose`] writes `{"seq":N[,"request_seq":M][,tail]}`.

use bytes::Bytes;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::fmt;

/// The top-level members of a message, in order, each value as its raw JSON text.
pub(crate) struct Members<'a> {
    list: Vec<(Cow<'a, str>, &'a RawValue)>,
}

impl<'a> Members<'a> {
    /// Splits `bytes` (a JSON object) into its members; fails if it is not an object.
    pub fn parse(bytes: &'a [u8]) -> Result<Members<'a>, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let members = de.deserialize_map(MembersVisitor)?;
        de.end()?;
        Ok(members)
    }

    /// The raw value of member `name`.
    pub fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.list.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    }

    /// Member `name` as a string (`None` if absent or not a string).
    pub fn str(&self, name: &str) -> Option<String> {
        self.get(name)
            .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
    }

    /// Member `name` as an integer (`None` if absent or not an integer).
    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name)
            .and_then(|v| serde_json::from_str::<i64>(v.get()).ok())
    }

    /// Member `name` as a boolean.
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name)
            .and_then(|v| serde_json::from_str::<bool>(v.get()).ok())
    }

    /// The members except those named in `skip`, as a tail.
    pub fn tail(&self, skip: &[&str]) -> Bytes {
        let mut out = Vec::with_capacity(
            self.list
                .iter()
                .map(|(k, v)| k.len() + v.get().len() + 4)
                .sum(),
        );
        for (key, value) in &self.list {
            if skip.contains(&key.as_ref()) {
                continue;
            }
            push_member(&mut out, key, value.get());
        }
        Bytes::from(out)
    }

    /// The members except those named in `skip` or `replace`, then `replace`'s members
    /// (raw JSON values), as a tail.
    pub fn tail_with(&self, skip: &[&str], replace: &[(&str, &str)]) -> Bytes {
        let mut out = Vec::new();
        for (key, value) in &self.list {
            if skip.contains(&key.as_ref()) || replace.iter().any(|(k, _)| k == key) {
                continue;
            }
            push_member(&mut out, key, value.get());
        }
        for (key, value) in replace {
            push_member(&mut out, key, value);
        }
        Bytes::from(out)
    }
}

/// Appends `"key":value` (with a comma before it unless `out` is empty).
pub(crate) fn push_member(out: &mut Vec<u8>, key: &str, raw_value: &str) {
    if !out.is_empty() {
        out.push(b',');
    }
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, key);
    out.push(b':');
    out.extend_from_slice(raw_value.as_bytes());
}

/// A tail built from `(name, raw JSON value)` pairs.
pub(crate) fn tail_of(members: &[(&str, &str)]) -> Bytes {
    let mut out = Vec::new();
    for (k, v) in members {
        push_member(&mut out, k, v);
    }
    Bytes::from(out)
}

/// A JSON string literal of `s`.
pub(crate) fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

/// Writes `{"seq":seq[,"request_seq":request_seq][,tail]}` into `out`.
pub(crate) fn compose_into(out: &mut Vec<u8>, seq: i64, request_seq: Option<i64>, tail: &[u8]) {
    let mut num = itoa::Buffer::new();
    out.extend_from_slice(b"{\"seq\":");
    out.extend_from_slice(num.format(seq).as_bytes());
    if let Some(rs) = request_seq {
        out.extend_from_slice(b",\"request_seq\":");
        out.extend_from_slice(num.format(rs).as_bytes());
    }
    if !tail.is_empty() {
        out.push(b',');
        out.extend_from_slice(tail);
    }
    out.push(b'}');
}

/// [`compose_into`] a new buffer.
pub(crate) fn compose(seq: i64, request_seq: Option<i64>, tail: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(tail.len() + 40);
    compose_into(&mut out, seq, request_seq, tail);
    out
}

/// The tail of a response to `command` the proxy answers itself.
pub(crate) fn response_tail(
    command: &str,
    success: bool,
    body: Option<&str>,
    message: Option<&str>,
) -> Bytes {
    let command = json_str(command);
    let success = if success { "true" } else { "false" };
    let message = message.map(json_str);
    let mut members: Vec<(&str, &str)> = vec![
        ("type", "\"response\""),
        ("command", &command),
        ("success", success),
    ];
    if let Some(m) = &message {
        members.push(("message", m));
    }
    if let Some(b) = body {
        members.push(("body", b));
    }
    tail_of(&members)
}

/// The tail of an event the proxy writes itself.
pub(crate) fn event_tail(event: &str, body: Option<&str>) -> Bytes {
    let event = json_str(event);
    let mut members: Vec<(&str, &str)> = vec![("type", "\"event\""), ("event", &event)];
    if let Some(b) = body {
        members.push(("body", b));
    }
    tail_of(&members)
}

/// An `output` event's tail (category `console`).
pub(crate) fn console_output_tail(text: &str) -> Bytes {
    let body = serde_json::json!({"category": "console", "output": format!("{text}\n")});
    event_tail("output", Some(&body.to_string()))
}

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a protocol message (a JSON object)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members<'de>, A::Error> {
        let mut list = Vec::with_capacity(6);
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            let value: &'de RawValue = map.next_value()?;
            list.push((key, value));
        }
        Ok(Members { list })
    }
}

impl<'de> de::Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(MembersVisitor)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn renumbers_and_keeps_the_rest_byte_exact() {
        let body = br#"{"seq":7,"type":"response","request_seq":3,"success":true,"command":"threads","body":{"threads":[ {"id":1} ]}}"#;
        let m = Members::parse(body).unwrap();
        assert_eq!(m.int("seq"), Some(7));
        assert_eq!(m.str("command").as_deref(), Some("threads"));
        let tail = m.tail(&["seq", "request_seq"]);
        let out = compose(1, Some(42), &tail);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"seq":1,"request_seq":42,"type":"response","success":true,"command":"threads","body":{"threads":[ {"id":1} ]}}"#
        );
    }

    #[test]
    fn escaped_keys_stay_valid() {
        let body = br#"{"seq":1,"a\"b":"x\n"}"#;
        let m = Members::parse(body).unwrap();
        let out = compose(2, None, &m.tail(&["seq"]));
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["a\"b"], "x\n");
        assert_eq!(v["seq"], 2);
    }

    #[test]
    fn non_objects_are_refused() {
        assert!(Members::parse(b"[1]").is_err());
        assert!(Members::parse(b"{\"seq\":1} x").is_err());
    }

    #[test]
    fn replaced_members_go_last() {
        let body = br#"{"seq":1,"type":"request","command":"cancel","arguments":{"requestId":4}}"#;
        let m = Members::parse(body).unwrap();
        let tail = m.tail_with(&["seq"], &[("arguments", r#"{"requestId":9}"#)]);
        assert_eq!(
            std::str::from_utf8(&tail).unwrap(),
            r#""type":"request","command":"cancel","arguments":{"requestId":9}"#
        );
    }
}
