//! Runtime support for the generated (de)serializers. Not a public API: generated code calls
//! these so that each generated impl stays short.

use serde::de::{self, Deserialize, Deserializer, MapAccess, Unexpected, Visitor};
use serde_json::{Map, Value};
use std::fmt;

/// A map key, borrowed from the input when the input allows it (no allocation per key).
pub enum Key<'de> {
    /// Borrowed from the input.
    Borrowed(&'de str),
    /// Copied (escaped keys, or inputs that cannot lend).
    Owned(String),
}

impl Key<'_> {
    /// The key text.
    #[inline]
    pub fn as_str(&self) -> &str {
        match self {
            Key::Borrowed(s) => s,
            Key::Owned(s) => s,
        }
    }

    /// The key as an owned string.
    #[inline]
    pub fn into_owned(self) -> String {
        match self {
            Key::Borrowed(s) => s.to_owned(),
            Key::Owned(s) => s,
        }
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    #[inline]
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            #[inline]
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key::Borrowed(v))
            }
            #[inline]
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v.to_owned()))
            }
            #[inline]
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key::Owned(v))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// An optional property: a value sets the slot; `null` (where the type has no null) leaves it
/// empty and keeps `"key": null` in `extra`, so that encoding writes the `null` back.
#[inline]
pub fn optional<'de, A, T>(
    map: &mut A,
    key: Key<'de>,
    slot: &mut Option<T>,
    extra: &mut Map<String, Value>,
) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de>,
{
    match map.next_value::<Option<T>>()? {
        Some(v) => {
            *slot = Some(v);
            if !extra.is_empty() {
                extra.remove(key.as_str());
            }
        }
        None => {
            *slot = None;
            extra.insert(key.into_owned(), Value::Null);
        }
    }
    Ok(())
}

/// A property whose schema type is any JSON value: `null` is a value, distinct from absence.
#[inline]
pub fn any<'de, A: MapAccess<'de>>(map: &mut A, slot: &mut Option<Value>) -> Result<(), A::Error> {
    *slot = Some(map.next_value::<Value>()?);
    Ok(())
}

/// A property that is required, or whose type admits `null`.
#[inline]
pub fn value<'de, A, T>(map: &mut A, slot: &mut Option<T>) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    T: Deserialize<'de>,
{
    *slot = Some(map.next_value::<T>()?);
    Ok(())
}

/// A property the schema does not declare: kept as JSON.
#[inline]
pub fn extra<'de, A: MapAccess<'de>>(
    map: &mut A,
    key: Key<'de>,
    extra: &mut Map<String, Value>,
) -> Result<(), A::Error> {
    let v = map.next_value::<Value>()?;
    extra.insert(key.into_owned(), v);
    Ok(())
}

/// A constant string member (`"type": "request"`, `"command": "launch"`).
#[inline]
pub fn tag_str<'de, A: MapAccess<'de>>(
    map: &mut A,
    expected: &'static str,
) -> Result<(), A::Error> {
    let got = map.next_value::<Key<'de>>()?;
    if got.as_str() == expected {
        Ok(())
    } else {
        Err(de::Error::invalid_value(
            Unexpected::Str(got.as_str()),
            &expected,
        ))
    }
}

/// A constant boolean member (`"success": true`).
#[inline]
pub fn tag_bool<'de, A: MapAccess<'de>>(map: &mut A, expected: bool) -> Result<(), A::Error> {
    let got = map.next_value::<bool>()?;
    if got == expected {
        Ok(())
    } else {
        Err(de::Error::invalid_value(
            Unexpected::Bool(got),
            &if expected { "true" } else { "false" },
        ))
    }
}

/// Error for an absent required property.
#[cold]
pub fn missing<E: de::Error>(field: &'static str) -> E {
    E::missing_field(field)
}

/// Whether `extra` holds one of `declared` (a value that did not take its typed form).
#[inline]
pub fn stashes(extra: &Map<String, Value>, declared: &[&str]) -> bool {
    !extra.is_empty() && extra.keys().any(|k| declared.contains(&k.as_str()))
}

/// Encodes an `f64` the way JSON peers write numbers: integral values without a fraction.
pub struct Num(pub f64);

impl serde::Serialize for Num {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
        if self.0.fract() == 0.0 && self.0.abs() < EXACT {
            // Exact: the value is integral and within f64's exact integer range.
            #[allow(clippy::cast_possible_truncation)]
            s.serialize_i64(self.0 as i64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}
