//! [`Data`]: `from_data` / `as_data` and byte conversions for every type.

use crate::Error;
use serde_json::Value;

/// Conversions between DAP types and JSON, on every type of this crate (and any other serde
/// type): JSON values in the style of `from_data`/`as_data`, bytes and writers.
///
/// ```
/// use dapkit_types::Data as _;
/// use dapkit_types::types::Source;
///
/// let src = Source::from_data(serde_json::json!({"path": "/src/app.py", "x-vendor": 1}))?;
/// assert_eq!(src.path.as_deref(), Some("/src/app.py"));
/// assert_eq!(src.as_data()["x-vendor"], 1); // undeclared properties are kept
/// # Ok::<(), dapkit_types::Error>(())
/// ```
pub trait Data: serde::Serialize + serde::de::DeserializeOwned {
    /// Decodes from a JSON value.
    fn from_data(value: Value) -> Result<Self, Error> {
        Self::deserialize(&value)
            .map_err(|e| Error::new(short_name::<Self>(), e).with_message(&value))
    }

    /// Encodes as a JSON value.
    fn as_data(&self) -> Value {
        // The Serialize impls of this crate do not fail (no non-string map keys).
        serde_json::to_value(self).unwrap_or(Value::Null)
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
    fn to_vec(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Encodes as JSON into a writer.
    fn to_writer<W: std::io::Write>(&self, writer: W) -> Result<(), Error> {
        serde_json::to_writer(writer, self).map_err(|e| Error::new(short_name::<Self>(), e))
    }
}

impl<T: serde::Serialize + serde::de::DeserializeOwned> Data for T {}

fn short_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}
