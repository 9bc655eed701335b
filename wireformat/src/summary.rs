//! Cheap extraction of `seq`, `command` and `event` from a (possibly broken or truncated)
//! JSON body, used only to make error values informative.
//!
//! The visit records fields as it meets them, so a body that is cut off or malformed
//! half-way still yields whatever appeared before the damage.

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// What could be learnt about a message body.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Summary {
    pub(crate) seq: Option<i64>,
    pub(crate) command: Option<String>,
    pub(crate) event: Option<String>,
}

/// Visits the top-level object of `body`, keeping `seq`, `command` and `event`.
pub(crate) fn summarize(body: &[u8]) -> Summary {
    let mut summary = Summary::default();
    let mut de = serde_json::Deserializer::from_slice(body);
    // An error only means the body is broken somewhere; what was seen before stays.
    let _ = SummarySeed(&mut summary).deserialize(&mut de);
    summary
}

struct SummarySeed<'a>(&'a mut Summary);

impl<'de> DeserializeSeed<'de> for SummarySeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for SummarySeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a DAP message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Seq => {
                    if let Scalar::Int(seq) = map.next_value::<Scalar>()? {
                        self.0.seq = Some(seq);
                    }
                }
                Key::Command => {
                    if let Scalar::Str(s) = map.next_value::<Scalar>()? {
                        self.0.command = Some(s);
                    }
                }
                Key::Event => {
                    if let Scalar::Str(s) = map.next_value::<Scalar>()? {
                        self.0.event = Some(s);
                    }
                }
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// The keys the summary cares about.
enum Key {
    Seq,
    Command,
    Event,
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
        Ok(match v {
            "seq" => Key::Seq,
            "command" => Key::Command,
            "event" => Key::Event,
            _ => Key::Other,
        })
    }
}

/// Any JSON value, of which only integers and strings are kept.
enum Scalar {
    Int(i64),
    Str(String),
    Other,
}

impl<'de> de::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(i64::try_from(v).map_or(Scalar::Other, Scalar::Int))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn request_fields() {
        let s = summarize(
            br#"{"seq":7,"type":"request","command":"initialize","arguments":{"command":"x"}}"#,
        );
        assert_eq!(s.seq, Some(7));
        assert_eq!(s.command.as_deref(), Some("initialize"));
        assert_eq!(s.event, None);
    }

    #[test]
    fn event_fields_with_escapes() {
        let s = summarize(br#"{"event":"out\u0070ut","seq":3}"#);
        assert_eq!(s.event.as_deref(), Some("output"));
        assert_eq!(s.seq, Some(3));
    }

    #[test]
    fn truncated_body_keeps_leading_fields() {
        let s = summarize(
            br#"{"seq":12,"type":"response","command":"variables","body":{"variables":[{"na"#,
        );
        assert_eq!(s.seq, Some(12));
        assert_eq!(s.command.as_deref(), Some("variables"));
    }

    #[test]
    fn wrong_types_are_ignored_not_fatal() {
        let s = summarize(br#"{"seq":"x","command":5,"event":{"a":[1]},"then":1}"#);
        assert_eq!(s, Summary::default());
        let s = summarize(br#"{"seq":[1,2],"command":"next"}"#);
        assert_eq!(s.command.as_deref(), Some("next"));
    }

    #[test]
    fn non_object_yields_nothing() {
        assert_eq!(summarize(b"[1,2,3]"), Summary::default());
        assert_eq!(summarize(b"\xff\xfe"), Summary::default());
        assert_eq!(summarize(b""), Summary::default());
    }
}
