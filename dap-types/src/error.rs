//! [`Error`]: why bytes or JSON did not decode, with the message's `seq` and name where known.

use std::fmt;

/// A decoding or encoding failure.
///
/// It names what was being decoded (or encoded) and, where the input carried them, the message's `seq`
/// and `command`/`event`, plus the underlying JSON error (with line and column).
#[derive(Debug)]
pub struct Error {
    what: &'static str,
    encoding: bool,
    seq: Option<i64>,
    name: Option<String>,
    source: serde_json::Error,
}

impl Error {
    pub(crate) fn new(what: &'static str, source: serde_json::Error) -> Self {
        Error {
            what,
            encoding: false,
            seq: None,
            name: None,
            source,
        }
    }

    /// An encoding failure of a `what`.
    pub(crate) fn encode(what: &'static str, source: serde_json::Error) -> Self {
        Error {
            encoding: true,
            ..Error::new(what, source)
        }
    }

    pub(crate) fn with_message(mut self, value: &serde_json::Value) -> Self {
        self.seq = value.get("seq").and_then(serde_json::Value::as_i64);
        self.name = ["command", "event"]
            .iter()
            .find_map(|k| value.get(*k).and_then(serde_json::Value::as_str))
            .map(str::to_owned);
        self
    }

    pub(crate) fn with_names(mut self, seq: Option<i64>, name: Option<&str>) -> Self {
        self.seq = seq;
        self.name = name.map(str::to_owned);
        self
    }

    /// What was being decoded or encoded (a type name such as `ProtocolMessage` or
    /// `Capabilities`).
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// The `seq` of the offending message, when the input had one.
    pub fn seq(&self) -> Option<i64> {
        self.seq
    }

    /// The `command` or `event` of the offending message, when the input had one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Whether this is an encoding failure (a value whose `Serialize` impl failed, or a
    /// map with keys that are not strings), not a decoding one.
    pub fn is_encode(&self) -> bool {
        self.encoding
    }

    /// Whether the input was not JSON at all (as opposed to JSON of the wrong shape).
    pub fn is_syntax(&self) -> bool {
        matches!(
            self.source.classify(),
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof
        )
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verb = if self.encoding { "encode" } else { "decode" };
        write!(f, "cannot {verb} {}", self.what)?;
        match (&self.seq, &self.name) {
            (Some(seq), Some(name)) => write!(f, " (seq {seq}, `{name}`)")?,
            (Some(seq), None) => write!(f, " (seq {seq})")?,
            (None, Some(name)) => write!(f, " (`{name}`)")?,
            (None, None) => {}
        }
        if !self.encoding && self.is_syntax() {
            write!(f, ": not valid JSON: {}", self.source)
        } else {
            write!(f, ": {}", self.source)
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}
