//! [`Data`]: `from_data` / `as_data` and byte conversions for every type.

use crate::Error;
use serde_json::Value;

/// Conversions between DAP types and JSON, on every type of this crate (and any other serde
/// type): JSON values in the style of `from_data`/`as_data`, bytes and writers.
///
/// Encoding returns a `Result`: the types of this crate always encode, but a serde type's
/// `Serialize` impl may fail (or write a map with keys that are not strings), and that is
/// an [`Error`] naming the type, never empty output. (`ProtocolMessage::to_vec` is
/// infallible: its encoder has no error path.)
///
/// ```
/// use dapkit_types::Data as _;
/// use dapkit_types::types::Source;
///
/// let src = Source::from_data(serde_json::json!({"path": "/src/app.py", "x-vendor": 1}))?;
/// assert_eq!(src.path.as_deref(), Some("/src/app.py"));
/// assert_eq!(src.as_data()?["x-vendor"], 1); // undeclared properties are kept
/// # Ok::<(), dapkit_types::Error>(())
/// ```
pub trait Data: serde::Serialize + serde::de::DeserializeOwned {
    /// Decodes from a JSON value.
    fn from_data(value: Value) -> Result<Self, Error> {
        Self::deserialize(&value)
            .map_err(|e| Error::new(short_name::<Self>(), e).with_message(&value))
    }

    /// Encodes as a JSON value.
    fn as_data(&self) -> Result<Value, Error> {
        serde_json::to_value(self).map_err(|e| Error::encode(short_name::<Self>(), e))
    }

    /// Decodes from JSON bytes.
    fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
        serde_json::from_slice(bytes).map_err(|e| {
            let err = Error::new(short_name::<Self>(), e);
            match serde_json::from_slice::<Value>(bytes) {
                Ok(v) => err.with_message(&v),
                Err(_) => err,
            }
        })
    }

    /// Encodes as JSON bytes.
    fn to_vec(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(self).map_err(|e| Error::encode(short_name::<Self>(), e))
    }

    /// Encodes as JSON into a writer.
    fn to_writer<W: std::io::Write>(&self, writer: W) -> Result<(), Error> {
        serde_json::to_writer(writer, self).map_err(|e| Error::encode(short_name::<Self>(), e))
    }
}

impl<T: serde::Serialize + serde::de::DeserializeOwned> Data for T {}

fn short_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::Data as _;
    use std::collections::BTreeMap;

    #[test]
    fn encoding_failures_are_errors_not_empty_output() {
        // serde_json cannot write a map whose keys are not strings.
        let map: BTreeMap<(i32, i32), i32> = [((1, 2), 3)].into_iter().collect();
        for err in [
            map.to_vec().err(),
            map.as_data().err(),
            map.to_writer(Vec::new()).err(),
        ] {
            let err = err.expect("encoding a map with tuple keys fails");
            assert!(err.is_encode());
            let text = err.to_string();
            assert!(text.starts_with("cannot encode BTreeMap"), "{text}");
            assert!(text.contains("key must be a string"), "{text}");
        }
    }

    #[test]
    fn this_crates_types_encode() {
        let source = crate::types::Source::new().with_path("/a.py");
        let bytes = source.to_vec().expect("a Source encodes");
        assert_eq!(bytes, br#"{"path":"/a.py"}"#);
        assert_eq!(source.as_data().expect("a Source encodes")["path"], "/a.py");
    }
}
