//! [`Envelope`]: the members of a message that route it (`type`, `request_seq`,
//! `success`, `command`, `event`), read from the frame bytes without building the payload.
//!
//! The reader uses it to hand a response's bytes to the request waiting for it; the typed
//! decoding then happens once, in the waiting task, into the response type it expects.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::fmt;

/// The routing members of one message; each is `None` when absent or of an odd type.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Envelope {
    pub kind: Option<Kind>,
    pub request_seq: Option<i64>,
    pub success: Option<bool>,
    pub command: Option<String>,
    pub event: Option<String>,
}

/// The message's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Request,
    Response,
    Event,
    Other,
}

impl Envelope {
    /// Reads the envelope; fails only if `bytes` is not a JSON object.
    pub fn parse(bytes: &[u8]) -> Result<Envelope, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

enum Member {
    Type,
    RequestSeq,
    Success,
    Command,
    Event,
    Other,
}

impl<'de> de::Deserialize<'de> for Member {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Member;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a member name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Member, E> {
                Ok(match v {
                    "type" => Member::Type,
                    "request_seq" => Member::RequestSeq,
                    "success" => Member::Success,
                    "command" => Member::Command,
                    "event" => Member::Event,
                    _ => Member::Other,
                })
            }
        }
        deserializer.deserialize_identifier(V)
    }
}

/// A scalar member read leniently: anything of another type becomes `None`.
struct Lenient<T>(Option<T>);

impl<'de> de::Deserialize<'de> for Lenient<String> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(Lenient(match v {
            serde_json::Value::String(s) => Some(s),
            _ => None,
        }))
    }
}

impl<'de> de::Deserialize<'de> for Lenient<i64> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(Lenient(v.as_i64()))
    }
}

impl<'de> de::Deserialize<'de> for Lenient<bool> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(Lenient(v.as_bool()))
    }
}

impl<'de> de::Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Envelope;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a protocol message (a JSON object)")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope, A::Error> {
                let mut env = Envelope::default();
                while let Some(member) = map.next_key::<Member>()? {
                    match member {
                        Member::Type => {
                            let kind: Lenient<String> = map.next_value()?;
                            env.kind = Some(match kind.0.as_deref() {
                                Some("request") => Kind::Request,
                                Some("response") => Kind::Response,
                                Some("event") => Kind::Event,
                                _ => Kind::Other,
                            });
                        }
                        Member::RequestSeq => {
                            env.request_seq = map.next_value::<Lenient<i64>>()?.0;
                        }
                        Member::Success => env.success = map.next_value::<Lenient<bool>>()?.0,
                        Member::Command => env.command = map.next_value::<Lenient<String>>()?.0,
                        Member::Event => env.event = map.next_value::<Lenient<String>>()?.0,
                        Member::Other => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(env)
            }
        }
        deserializer.deserialize_map(V)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_routing_members_and_skips_payloads() {
        let env = Envelope::parse(
            br#"{"seq":3,"type":"response","request_seq":2,"success":true,"command":"threads","body":{"threads":[{"id":1,"name":"x"}]}}"#,
        )
        .unwrap();
        assert_eq!(env.kind, Some(Kind::Response));
        assert_eq!(env.request_seq, Some(2));
        assert_eq!(env.success, Some(true));
        assert_eq!(env.command.as_deref(), Some("threads"));
        assert_eq!(env.event, None);
    }

    #[test]
    fn odd_types_become_none() {
        let env = Envelope::parse(br#"{"type":7,"request_seq":"2","success":"yes","event":null}"#)
            .unwrap();
        assert_eq!(env.kind, Some(Kind::Other));
        assert_eq!(env.request_seq, None);
        assert_eq!(env.success, None);
        assert_eq!(env.event, None);
    }

    #[test]
    fn non_objects_fail() {
        assert!(Envelope::parse(b"[1,2]").is_err());
        assert!(Envelope::parse(b"{\"type\":").is_err());
    }
}
