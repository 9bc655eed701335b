//! [`RawMessage`]: a message kept as JSON, for names this crate does not type and payloads
//! that do not take their typed form.

use serde_json::{Map, Value};

/// A protocol message kept as a JSON object, exactly as received.
///
/// ```
/// use dapkit_types::RawMessage;
/// let m = RawMessage::request(7, "debugpyCustomCommand", Some(serde_json::json!({"x": 1})));
/// assert_eq!(m.command(), Some("debugpyCustomCommand"));
/// assert_eq!(m.seq(), Some(7));
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawMessage(pub Map<String, Value>);

impl RawMessage {
    /// A request with a command of your choosing.
    pub fn request(seq: i32, command: &str, arguments: Option<Value>) -> Self {
        let mut m = Map::new();
        m.insert("seq".into(), seq.into());
        m.insert("type".into(), "request".into());
        m.insert("command".into(), command.into());
        if let Some(a) = arguments {
            m.insert("arguments".into(), a);
        }
        RawMessage(m)
    }

    /// An event with a name of your choosing.
    pub fn event(seq: i32, event: &str, body: Option<Value>) -> Self {
        let mut m = Map::new();
        m.insert("seq".into(), seq.into());
        m.insert("type".into(), "event".into());
        m.insert("event".into(), event.into());
        if let Some(b) = body {
            m.insert("body".into(), b);
        }
        RawMessage(m)
    }

    fn str_member(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    /// `seq`, if it is an integer.
    pub fn seq(&self) -> Option<i64> {
        self.0.get("seq").and_then(Value::as_i64)
    }

    /// Sets `seq`.
    pub fn set_seq(&mut self, seq: i32) {
        self.0.insert("seq".into(), seq.into());
    }

    /// `type`, if it is a string.
    pub fn kind(&self) -> Option<&str> {
        self.str_member("type")
    }

    /// `command`, if it is a string.
    pub fn command(&self) -> Option<&str> {
        self.str_member("command")
    }

    /// `event`, if it is a string.
    pub fn event_name(&self) -> Option<&str> {
        self.str_member("event")
    }

    /// `request_seq`, if it is an integer.
    pub fn request_seq(&self) -> Option<i64> {
        self.0.get("request_seq").and_then(Value::as_i64)
    }

    /// `success`, if it is a boolean.
    pub fn success(&self) -> Option<bool> {
        self.0.get("success").and_then(Value::as_bool)
    }

    /// `arguments`.
    pub fn arguments(&self) -> Option<&Value> {
        self.0.get("arguments")
    }

    /// `body`.
    pub fn body(&self) -> Option<&Value> {
        self.0.get("body")
    }
}

impl serde::Serialize for RawMessage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> serde::Deserialize<'de> for RawMessage {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Map::deserialize(deserializer).map(RawMessage)
    }
}
