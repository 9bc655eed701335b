//! [`ProtocolMessage`]: decoding any message, fast when it is standard and lossless when not.
//!
//! Decoding from bytes first reads only the envelope (`type`, `command`, `event`,
//! `success`, skipping payloads without building them), then decodes the whole message once
//! into its typed form with the generated decoders ([`crate::read`], the only decoders of the
//! generated types). If they give up (a peer broke the schema), the bytes are read again as
//! JSON and every part that cannot take its typed form is kept as JSON, so nothing is lost
//! and nothing fails but input that is not a JSON object.

use crate::private::Key;
use crate::scan::Envelope as Scan;
use crate::{Error, ErrorResponse, Event, RawMessage, Request, Response};
use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use std::fmt;

/// Any Debug Adapter Protocol message: a request, a response or an event.
///
/// ```
/// use dapkit_types::{ProtocolMessage, Request};
///
/// let bytes = br#"{"seq":1,"type":"request","command":"threads"}"#;
/// let msg = ProtocolMessage::from_slice(bytes)?;
/// assert!(matches!(msg, ProtocolMessage::Request(Request::Threads(_))));
/// assert!(msg.is_standard());
/// # Ok::<(), dapkit_types::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum ProtocolMessage {
    /// `"type": "request"`.
    Request(Request),
    /// `"type": "response"`.
    Response(Response),
    /// `"type": "event"`.
    Event(Event),
    /// A message whose `type` is missing or unknown, kept as JSON.
    Custom(RawMessage),
}

impl ProtocolMessage {
    /// Decodes a message from JSON bytes (the body of one frame).
    ///
    /// Fails only if the bytes are not a JSON object; a message that breaks the schema is
    /// kept as JSON where it cannot be typed (see [`ProtocolMessage::is_standard`]).
    /// Text already known to be UTF-8 can skip that check: `text.parse::<ProtocolMessage>()`
    /// ([`FromStr`](std::str::FromStr)) decodes it the same way.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        match std::str::from_utf8(bytes) {
            Ok(text) => text.parse(),
            // Not UTF-8: serde_json says where.
            Err(_) => {
                let value: Value =
                    serde_json::from_slice(bytes).map_err(|e| Error::new("ProtocolMessage", e))?;
                Self::from_data(value)
            }
        }
    }

    /// Decodes a message from a JSON value; fails only if it is not an object.
    pub fn from_data(value: Value) -> Result<Self, Error> {
        if !value.is_object() {
            let err = <serde_json::Error as serde::de::Error>::invalid_type(
                unexpected(&value),
                &"a JSON object",
            );
            return Err(Error::new("ProtocolMessage", err));
        }
        let kind = value.get("type").and_then(Value::as_str);
        let command = value.get("command").and_then(Value::as_str);
        Ok(match kind {
            Some("request") => {
                let typed = command.and_then(|c| {
                    typed_value(&value, |r| {
                        read_named(r, Request::Custom, |r, m| Request::read_named_into(c, r, m))
                    })
                });
                ProtocolMessage::Request(typed.unwrap_or_else(|| Request::Custom(raw(value))))
            }
            Some("event") => {
                let name = value.get("event").and_then(Value::as_str);
                let typed = name.and_then(|e| {
                    typed_value(&value, |r| {
                        read_named(r, Event::Custom, |r, m| Event::read_named_into(e, r, m))
                    })
                });
                ProtocolMessage::Event(typed.unwrap_or_else(|| Event::Custom(raw(value))))
            }
            Some("response") => ProtocolMessage::Response(response_from_value(value)),
            _ => ProtocolMessage::Custom(raw(value)),
        })
    }

    /// Encodes as a JSON value. The messages of this crate always encode; the `Result`
    /// is serde's (an error names the message rather than giving `null`).
    pub fn as_data(&self) -> Result<Value, Error> {
        // The one encoder (bytes), read back as a value: no second, serde-driven encoder.
        serde_json::from_slice(&self.to_vec()).map_err(|e| {
            let err = Error::encode("ProtocolMessage", e);
            match self {
                ProtocolMessage::Custom(raw) => err.with_message(&Value::Object(raw.0.clone())),
                _ => err,
            }
        })
    }

    /// Encodes as JSON bytes (with the generated encoders: no `serde::Serializer` between;
    /// they write into the `Vec` and have no error path).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        self.write_to_vec(&mut out);
        out
    }

    /// Appends the JSON encoding to `out` (reuse one buffer for many messages).
    pub fn write_to_vec(&self, out: &mut Vec<u8>) {
        use crate::private::WriteJson as _;
        match self {
            ProtocolMessage::Request(m) => m.write_json(out),
            ProtocolMessage::Response(m) => m.write_json(out),
            ProtocolMessage::Event(m) => m.write_json(out),
            ProtocolMessage::Custom(m) => m.0.write_json(out),
        }
    }

    /// Encodes as JSON into a writer, with one `write_all` call.
    pub fn to_writer<W: std::io::Write>(&self, mut writer: W) -> Result<(), std::io::Error> {
        writer.write_all(&self.to_vec())
    }

    /// Whether the message is one the schema defines and decoded fully into its typed form.
    pub fn is_standard(&self) -> bool {
        match self {
            ProtocolMessage::Request(m) => m.is_standard(),
            ProtocolMessage::Response(m) => m.is_standard(),
            ProtocolMessage::Event(m) => m.is_standard(),
            ProtocolMessage::Custom(_) => false,
        }
    }

    /// The message's `seq` (`None` if a custom message lacks an integer `seq`).
    pub fn seq(&self) -> Option<i64> {
        match self {
            ProtocolMessage::Request(m) => m.seq(),
            ProtocolMessage::Response(m) => m.seq(),
            ProtocolMessage::Event(m) => m.seq(),
            ProtocolMessage::Custom(m) => m.seq(),
        }
    }

    /// Sets the message's `seq`.
    pub fn set_seq(&mut self, seq: i32) {
        match self {
            ProtocolMessage::Request(m) => m.set_seq(seq),
            ProtocolMessage::Response(m) => m.set_seq(seq),
            ProtocolMessage::Event(m) => m.set_seq(seq),
            ProtocolMessage::Custom(m) => m.set_seq(seq),
        }
    }
}

impl Response {
    /// Whether the response reports success.
    pub fn success(&self) -> bool {
        match self {
            Response::Error(_) => false,
            Response::Custom(m) => m.success().unwrap_or(false),
            _ => true,
        }
    }

    /// The command this response answers.
    pub fn command(&self) -> Option<&str> {
        match self {
            Response::Error(m) => Some(&m.command),
            Response::Custom(m) => m.command(),
            other => other.known_name(),
        }
    }
}

impl Request {
    /// The request's command.
    pub fn command(&self) -> Option<&str> {
        match self {
            Request::Custom(m) => m.command(),
            other => other.known_name(),
        }
    }
}

impl Event {
    /// The event's name.
    pub fn event(&self) -> Option<&str> {
        match self {
            Event::Custom(m) => m.event_name(),
            other => other.known_name(),
        }
    }
}

fn raw(value: Value) -> RawMessage {
    match value {
        Value::Object(map) => RawMessage(map),
        _ => RawMessage::default(),
    }
}

fn unexpected(value: &Value) -> serde::de::Unexpected<'_> {
    use serde::de::Unexpected;
    match value {
        Value::Null => Unexpected::Unit,
        Value::Bool(b) => Unexpected::Bool(*b),
        Value::Number(_) => Unexpected::Other("a number"),
        Value::String(s) => Unexpected::Str(s),
        Value::Array(_) => Unexpected::Seq,
        Value::Object(_) => Unexpected::Map,
    }
}

/// The typed form of a JSON value, by the generated decoder `read` (`None` where it does not fit).
fn typed_value<T>(
    value: &Value,
    read: impl FnOnce(&mut crate::read::Reader<'_>) -> crate::read::Res<T>,
) -> Option<T> {
    let text = value.to_string();
    let mut r = crate::read::Reader::new(&text);
    let typed = read(&mut r).ok()?;
    r.finish().ok()?;
    Some(typed)
}

fn read_error_response(value: &Value) -> Option<ErrorResponse> {
    typed_value(value, <ErrorResponse as crate::read::ReadJson>::read_json)
}

fn response_from_value(mut value: Value) -> Response {
    let success = value.get("success").and_then(Value::as_bool);
    if success == Some(false) {
        if let Some(e) = read_error_response(&value) {
            return Response::Error(e);
        }
        // A failed response whose body does not fit: still an error; the body is kept as JSON.
        let body = value.as_object_mut().and_then(|m| m.remove("body"));
        if let Some(mut e) = read_error_response(&value) {
            if let Some(b) = body {
                e.extra.insert("body".into(), b);
            }
            return Response::Error(e);
        }
        if let (Some(b), Some(m)) = (body, value.as_object_mut()) {
            m.insert("body".into(), b);
        }
        return Response::Custom(raw(value));
    }
    let typed = value.get("command").and_then(Value::as_str).and_then(|c| {
        typed_value(&value, |r| {
            read_named(r, Response::Custom, |r, m| {
                Response::read_named_into(c, r, m)
            })
        })
    });
    typed.unwrap_or_else(|| Response::Custom(raw(value)))
}

/// The envelope members read with serde, for texts the quick scan (`scan::envelope`) declines.
/// Lenient: a member of another type than expected counts as absent.
#[derive(Default)]
struct SerdeEnvelope<'a> {
    kind: Option<Key<'a>>,
    command: Option<Key<'a>>,
    event: Option<Key<'a>>,
    success: Option<bool>,
    request_seq: Option<i64>,
}

/// A string member, or `None` for a value of another type.
struct LenientStr<'a>(Option<Key<'a>>);

impl<'de> serde::Deserialize<'de> for LenientStr<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LenientStr<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(LenientStr(Some(Key::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(LenientStr(Some(Key::Owned(v.to_owned()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(LenientStr(Some(Key::Owned(v))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(LenientStr(None))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Self::Value, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(LenientStr(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(LenientStr(None))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl<'de> serde::Deserialize<'de> for SerdeEnvelope<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SerdeEnvelope<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a protocol message object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<SerdeEnvelope<'de>, A::Error> {
                let mut env = SerdeEnvelope::default();
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    match key.as_str() {
                        "type" => env.kind = map.next_value::<LenientStr<'de>>()?.0,
                        "command" => env.command = map.next_value::<LenientStr<'de>>()?.0,
                        "event" => env.event = map.next_value::<LenientStr<'de>>()?.0,
                        "success" => env.success = map.next_value::<Value>()?.as_bool(),
                        "request_seq" => env.request_seq = map.next_value::<Value>()?.as_i64(),
                        _ => {
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

/// The members that route a message, read without decoding its payload: `type`,
/// `command`, `event`, `success` and `request_seq`. Each is `None` when absent or of
/// another type.
///
/// This is the envelope reader [`ProtocolMessage::from_slice`] itself uses (a quick scan of
/// the top-level members, with serde reading the members when the scan declines), for
/// callers that route a message before (or instead of) decoding it, as a client does with
/// responses: route by `request_seq`, decode once into the response type expected.
///
/// ```
/// let env = dapkit_types::Envelope::read(
///     br#"{"seq":9,"type":"response","request_seq":4,"success":true,"command":"threads","body":{"threads":[]}}"#,
/// )?;
/// assert_eq!((env.kind.as_deref(), env.request_seq), (Some("response"), Some(4)));
/// # Ok::<(), dapkit_types::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Envelope {
    /// `type`.
    pub kind: Option<String>,
    /// `command` (requests, responses).
    pub command: Option<String>,
    /// `event` (events).
    pub event: Option<String>,
    /// `success` (responses).
    pub success: Option<bool>,
    /// `request_seq` (responses), when an integer.
    pub request_seq: Option<i64>,
}

impl Envelope {
    /// Reads the envelope of a message; fails when `bytes` is not a JSON object. The scan
    /// stops once the members are known: damage after them is for the decode to find.
    pub fn read(bytes: &[u8]) -> Result<Envelope, Error> {
        let owned = |env: &Scan<'_>| Envelope {
            kind: env.kind.map(str::to_owned),
            command: env.command.map(str::to_owned),
            event: env.event.map(str::to_owned),
            success: env.success,
            request_seq: env.request_seq,
        };
        let read = match std::str::from_utf8(bytes) {
            Ok(text) => with_envelope(text, owned),
            // Not UTF-8 somewhere: serde says where, or reads the members if it can.
            Err(_) => serde_json::from_slice::<SerdeEnvelope>(bytes).map(|env| Envelope {
                kind: env.kind.map(Key::into_owned),
                command: env.command.map(Key::into_owned),
                event: env.event.map(Key::into_owned),
                success: env.success,
                request_seq: env.request_seq,
            }),
        };
        read.map_err(|e| Error::new("Envelope", e))
    }
}

/// Decodes a message from JSON text, as [`ProtocolMessage::from_slice`] does from bytes.
///
/// ```
/// use dapkit_types::{ProtocolMessage, Request};
///
/// let msg: ProtocolMessage = r#"{"seq":1,"type":"request","command":"threads"}"#.parse()?;
/// assert!(matches!(msg, ProtocolMessage::Request(Request::Threads(_))));
/// # Ok::<(), dapkit_types::Error>(())
/// ```
impl std::str::FromStr for ProtocolMessage {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        // Decoded in place, in the message handed back (see `read_by`).
        let mut m = ProtocolMessage::Custom(RawMessage::default());
        if typed_into(text, &mut m).is_ok() {
            return Ok(m);
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| Error::new("ProtocolMessage", e))?;
        Self::from_data(value)
    }
}

/// Typed decoding by the generated decoders; `Err` where they give no typed form.
fn typed_from_slice(bytes: &[u8]) -> crate::read::Res<ProtocolMessage> {
    // One UTF-8 check of the whole message, instead of one per string inside it.
    let text = std::str::from_utf8(bytes).map_err(|_| crate::read::Fail)?;
    typed_from_str(text)
}

/// [`typed_from_slice`] of text.
fn typed_from_str(text: &str) -> crate::read::Res<ProtocolMessage> {
    let mut m = ProtocolMessage::Custom(RawMessage::default());
    typed_into(text, &mut m)?;
    Ok(m)
}

/// [`typed_from_str`] into `m`, in place. After an `Err`, `m` holds what was read so far.
fn typed_into(text: &str, m: &mut ProtocolMessage) -> crate::read::Res<()> {
    match crate::scan::envelope(text) {
        Some(env) => read_by(&env, text, m),
        None => typed_by_serde_envelope(text, m),
    }
}

/// [`typed_from_str`] where the quick scan declined: the envelope read by serde.
#[cold]
#[inline(never)]
fn typed_by_serde_envelope(text: &str, m: &mut ProtocolMessage) -> crate::read::Res<()> {
    match with_envelope(text, |env| read_by(env, text, m)) {
        Ok(read) => read,
        Err(_) => Err(crate::read::Fail),
    }
}

/// Calls `f` with the envelope members (`type`, `command`, `event`, `success`) of `text`.
fn with_envelope<R>(text: &str, f: impl FnOnce(&Scan<'_>) -> R) -> Result<R, serde_json::Error> {
    if let Some(env) = crate::scan::envelope(text) {
        return Ok(f(&env));
    }
    // The quick scan declined (escapes, unusual layout): read the envelope with serde.
    let env: SerdeEnvelope = serde_json::from_str(text)?;
    Ok(f(&Scan {
        kind: env.kind.as_ref().map(Key::as_str),
        command: env.command.as_ref().map(Key::as_str),
        event: env.event.as_ref().map(Key::as_str),
        success: env.success,
        request_seq: env.request_seq,
    }))
}

/// Decodes `bytes` by the generated decoders, and the same message as serde_json reads it
/// (a `Value`) printed again in its canonical spelling, by the same decoders (`None` where a
/// text gives no typed form). For tests that hold the decoders to serde_json's reading of
/// the JSON: whitespace, escapes, number spellings and member order must not change the
/// typed result, and what serde_json rejects must not be typed.
#[doc(hidden)]
pub fn typed_both(bytes: &[u8]) -> (Option<ProtocolMessage>, Option<ProtocolMessage>) {
    let direct = typed_from_slice(bytes).ok();
    let canonical = serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| typed_from_slice(v.to_string().as_bytes()).ok());
    (direct, canonical)
}

/// Which typed form the envelope calls for.
enum Form<'a> {
    Request(&'a str),
    Event(&'a str),
    Response(&'a str),
    Error,
}

impl<'a> Scan<'a> {
    /// The typed form these members call for (`None`: the message has no typed form).
    fn form(&self) -> Option<Form<'a>> {
        match self.kind? {
            "request" => self.command.map(Form::Request),
            "event" => self.event.map(Form::Event),
            "response" => match self.success? {
                true => self.command.map(Form::Response),
                false => Some(Form::Error),
            },
            _ => None,
        }
    }
}

/// The generated decoders (see [`crate::read`]) into `m`; any `Err` means "keep what does
/// not fit as JSON". The message is decoded where it is to end up (its variant set first,
/// then each member read into it): a message is hundreds of bytes inline, and moving it
/// through the nested results of its decoders cost about a tenth of the decoding time.
fn read_by(env: &Scan<'_>, text: &str, m: &mut ProtocolMessage) -> crate::read::Res<()> {
    use crate::read::{Fail, Reader, read_variant};
    /// Sets `m` to the kind `$kind` holding an empty `Custom`, and gives that kind's slot.
    macro_rules! kind {
        ($kind:ident) => {{
            *m = ProtocolMessage::$kind($kind::Custom(RawMessage::default()));
            match m {
                ProtocolMessage::$kind(slot) => slot,
                _ => return Err(Fail),
            }
        }};
    }
    let mut r = Reader::new(text);
    match env.form().ok_or(Fail)? {
        Form::Request(c) => Request::read_named_into(c, &mut r, kind!(Request))?,
        Form::Event(e) => Event::read_named_into(e, &mut r, kind!(Event))?,
        Form::Response(c) => Response::read_named_into(c, &mut r, kind!(Response))?,
        Form::Error => read_variant!(kind!(Response), &mut r, Response::Error)?,
    }
    r.finish()
}

/// A dispatch enum's `read_named_into`, the message handed back (the paths from a `Value`).
fn read_named<E>(
    r: &mut crate::read::Reader<'_>,
    custom: fn(RawMessage) -> E,
    into: impl FnOnce(&mut crate::read::Reader<'_>, &mut E) -> crate::read::Res<()>,
) -> crate::read::Res<E> {
    let mut m = custom(RawMessage::default());
    into(r, &mut m)?;
    Ok(m)
}

impl serde::Serialize for ProtocolMessage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ProtocolMessage::Request(m) => m.serialize(serializer),
            ProtocolMessage::Response(m) => m.serialize(serializer),
            ProtocolMessage::Event(m) => m.serialize(serializer),
            ProtocolMessage::Custom(m) => m.serialize(serializer),
        }
    }
}

impl<'de> serde::Deserialize<'de> for ProtocolMessage {
    /// Lenient like [`ProtocolMessage::from_slice`]: fails only on input that is not a JSON
    /// object. (The message is captured as raw JSON first, then decoded.)
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw =
            <Box<serde_json::value::RawValue> as serde::Deserialize>::deserialize(deserializer)?;
        ProtocolMessage::from_slice(raw.get().as_bytes()).map_err(serde::de::Error::custom)
    }
}

/// `Deserialize` for the dispatch enums: decoded like [`ProtocolMessage`] (fast, lenient),
/// then required to be of this kind. With it they get [`crate::Data`]'s conversions too.
macro_rules! decode_as_kind {
    ($ty:ident, $kind:literal) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                match ProtocolMessage::deserialize(deserializer)? {
                    ProtocolMessage::$ty(m) => Ok(m),
                    other => Err(serde::de::Error::custom(format!(
                        concat!("expected a ", $kind, " message, found {}"),
                        kind_of(&other)
                    ))),
                }
            }
        }
    };
}

decode_as_kind!(Request, "request");
decode_as_kind!(Response, "response");
decode_as_kind!(Event, "event");

/// What a message is, for errors.
fn kind_of(m: &ProtocolMessage) -> String {
    match m {
        ProtocolMessage::Request(_) => "a request".into(),
        ProtocolMessage::Response(_) => "a response".into(),
        ProtocolMessage::Event(_) => "an event".into(),
        ProtocolMessage::Custom(raw) => match raw.0.get("type") {
            Some(Value::String(t)) => format!("`type` {t:?}"),
            Some(_) => "a `type` that is not a string".into(),
            None => "no `type`".into(),
        },
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for ProtocolMessage {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed("ProtocolMessage")
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        std::borrow::Cow::Borrowed(concat!(module_path!(), "::", "ProtocolMessage"))
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Any Debug Adapter Protocol message: a request, a response or an event.",
            "anyOf": [
                generator.subschema_for::<Request>(),
                generator.subschema_for::<Response>(),
                generator.subschema_for::<Event>(),
            ],
        })
    }
}
