//! Typed messages this crate does not know: an adapter's protocol extension, generated in
//! your build script by `dapkit_codegen::Extension` (or any serde message type).
//!
//! Such messages arrive as `Request::Custom`, `Response::Custom` or `Event::Custom` holding a
//! [`RawMessage`], a JSON tree. [`RawMessage::decode`] reads that tree straight into your
//! type and [`RawMessage::encode`] builds one from it: no JSON text is printed or parsed on
//! the way. `Request::extension`, `Response::extension` and `Event::extension` also check the
//! command or event name against your type's [`traits`] constant, and
//! `from_extension` builds the `Custom` variant to send.
//!
//! ```
//! use dapkit_types::{ProtocolMessage, RawMessage, Request};
//! use dapkit_types::traits::Direction;
//!
//! // What a build script would generate for an extension request, written by hand here.
//! #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
//! struct PingRequest { seq: i32, r#type: String, command: String, arguments: PingArguments }
//! #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
//! struct PingArguments { payload: String }
//! # #[derive(serde::Serialize, serde::Deserialize)]
//! # struct PingResponse { seq: i32, request_seq: i32 }
//! # impl dapkit_types::traits::Response for PingResponse {
//! #     const COMMAND: &'static str = "ping";
//! #     type Body = ();
//! #     fn from_body(seq: i32, request_seq: i32, _: ()) -> Self { PingResponse { seq, request_seq } }
//! #     fn body(&self) -> &() { &() }
//! #     fn into_body(self) {}
//! # }
//! impl dapkit_types::traits::Request for PingRequest {
//!     const COMMAND: &'static str = "ping";
//!     const DIRECTION: Direction = Direction::ToAdapter;
//!     const CAPABILITY: Option<&'static str> = None;
//!     type Arguments = PingArguments;
//!     type Response = PingResponse;
//!     fn from_arguments(seq: i32, arguments: PingArguments) -> Self {
//!         PingRequest { seq, r#type: "request".into(), command: "ping".into(), arguments }
//!     }
//!     fn arguments(&self) -> &PingArguments { &self.arguments }
//!     fn into_arguments(self) -> PingArguments { self.arguments }
//! }
//!
//! let msg = ProtocolMessage::from_slice(
//!     br#"{"seq":4,"type":"request","command":"ping","arguments":{"payload":"hi"}}"#)?;
//! let ProtocolMessage::Request(request) = &msg else { panic!("a request") };
//! let ping: PingRequest = request.extension().expect("a ping")?;
//! assert_eq!(ping.arguments.payload, "hi");
//! assert!(request.extension::<PingRequest>().is_some());
//!
//! // And back: a `Custom` request that encodes as the same JSON.
//! let again = ProtocolMessage::Request(Request::from_extension(&ping)?);
//! assert_eq!(again, msg);
//! # Ok::<(), dapkit_types::Error>(())
//! ```

use crate::traits;
use crate::{Error, Event, RawMessage, Request, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn short_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

impl RawMessage {
    /// Decodes this message as `T`, reading the JSON tree it holds (no text is printed or
    /// parsed). The error names `T` and the message's `seq` and command or event.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, Error> {
        T::deserialize(&self.0).map_err(|e| {
            let name = self.command().or_else(|| self.event_name());
            Error::new(short_name::<T>(), e).with_names(self.seq(), name)
        })
    }

    /// A raw message holding the JSON tree of `message` (no text is printed or parsed).
    /// Fails if `message` does not serialize to a JSON object.
    pub fn encode<T: Serialize>(message: &T) -> Result<RawMessage, Error> {
        match serde_json::to_value(message) {
            Ok(serde_json::Value::Object(map)) => Ok(RawMessage(map)),
            Ok(other) => Err(Error::new(
                short_name::<T>(),
                serde::ser::Error::custom(format!(
                    "a message must encode as a JSON object, not {}",
                    kind(&other)
                )),
            )),
            Err(e) => Err(Error::new(short_name::<T>(), e)),
        }
    }
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Decodes a message this crate typed itself (a feature such as `debugpy` was turned on
/// somewhere in the build) as the extension type `T`, through its JSON tree.
fn via_tree<M: crate::Data, T: DeserializeOwned>(message: &M) -> Result<T, Error> {
    let tree = message.as_data()?;
    T::deserialize(&tree).map_err(|e| Error::new(short_name::<T>(), e))
}

impl Request {
    /// `Some` when this request's `command` is `T::COMMAND`: the request decoded as `T`.
    /// A `Custom` request is decoded from the JSON tree it holds (see
    /// [`RawMessage::decode`]); a request this crate types itself (because a feature such as
    /// `debugpy` is on somewhere in the build) is converted through its JSON tree, so the
    /// answer does not depend on which features other crates turn on. `None` for other
    /// commands.
    pub fn extension<T: traits::Request>(&self) -> Option<Result<T, Error>> {
        match self {
            Request::Custom(raw) if raw.command() == Some(T::COMMAND) => Some(raw.decode()),
            Request::Custom(_) => None,
            typed if typed.command() == Some(T::COMMAND) => Some(via_tree(typed)),
            _ => None,
        }
    }

    /// A `Custom` request holding `request` (see [`RawMessage::encode`]).
    pub fn from_extension<T: traits::Request>(request: &T) -> Result<Request, Error> {
        RawMessage::encode(request).map(Request::Custom)
    }
}

impl Response {
    /// `Some` when this is a response to `T::COMMAND` that is not a failure (`success` is not
    /// `false`): the response decoded as `T` (a typed response converted through its JSON
    /// tree, as for [`Request::extension`]). `None` otherwise, including for error responses
    /// (`Response::Error`).
    pub fn extension<T: traits::Response>(&self) -> Option<Result<T, Error>> {
        match self {
            Response::Custom(raw)
                if raw.command() == Some(T::COMMAND) && raw.success() != Some(false) =>
            {
                Some(raw.decode())
            }
            Response::Custom(_) | Response::Error(_) => None,
            typed if typed.command() == Some(T::COMMAND) => Some(via_tree(typed)),
            _ => None,
        }
    }

    /// A `Custom` response holding `response`.
    pub fn from_extension<T: traits::Response>(response: &T) -> Result<Response, Error> {
        RawMessage::encode(response).map(Response::Custom)
    }
}

impl Event {
    /// `Some` when this event is named `T::EVENT`: the event decoded as `T` (a typed event
    /// converted through its JSON tree, as for [`Request::extension`]). `None` for other
    /// events.
    pub fn extension<T: traits::Event>(&self) -> Option<Result<T, Error>> {
        match self {
            Event::Custom(raw) if raw.event_name() == Some(T::EVENT) => Some(raw.decode()),
            Event::Custom(_) => None,
            typed if typed.event() == Some(T::EVENT) => Some(via_tree(typed)),
            _ => None,
        }
    }

    /// A `Custom` event holding `event`.
    pub fn from_extension<T: traits::Event>(event: &T) -> Result<Event, Error> {
        RawMessage::encode(event).map(Event::Custom)
    }
}

#[cfg(test)]
#[allow(clippy::expect_used, clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn decode_errors_name_the_type_and_the_message() {
        let raw = RawMessage::request(9, "ping", Some(serde_json::json!({"payload": 3})));
        #[derive(serde::Deserialize, Debug)]
        struct Ping {
            #[allow(dead_code)]
            arguments: Arg,
        }
        #[derive(serde::Deserialize, Debug)]
        struct Arg {
            #[allow(dead_code)]
            payload: String,
        }
        let e = raw.decode::<Ping>().unwrap_err();
        assert_eq!(
            (e.what(), e.seq(), e.name()),
            ("Ping", Some(9), Some("ping"))
        );
        assert!(e.to_string().contains("invalid type: integer `3`"), "{e}");
    }

    #[test]
    fn encode_refuses_what_is_not_an_object() {
        let e = RawMessage::encode(&3).unwrap_err();
        assert!(e.to_string().contains("not a number"), "{e}");
        let raw = RawMessage::encode(&serde_json::json!({"seq": 1})).unwrap();
        assert_eq!(raw.seq(), Some(1));
    }
}
