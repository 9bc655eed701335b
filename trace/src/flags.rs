//! The `true`/`false` members of a typed object (an adapter's capabilities, the client's
//! `initialize` arguments), read from the members dapkit-types hands to its encoders: the
//! one reading behind the summary's count of capabilities and validation's capability sets.

use dapkit_types::private::{Members, Sink, WriteJson, key_name};
use serde::ser::{Impossible, Serialize, Serializer};
use std::fmt;

/// Calls `f` with the name and value of each top-level member of `object` that is `true`
/// or `false`, in the order they are encoded (each name once: the encoding has no repeated
/// members). Members of other types, and booleans nested deeper (an exception filter's
/// `default`), are not flags. Nothing is encoded: each member is asked whether it is a
/// boolean, and a list or an object answers no without being walked.
pub(crate) fn flags(object: &impl Members, f: impl FnMut(&str, bool)) {
    let mut sink = Flags(f);
    // The sink cannot fail (its error type has no values).
    let Ok(()) = object.members(&mut sink);
}

/// A [`Sink`] passing on the members that are booleans.
struct Flags<F>(F);

impl<F: FnMut(&str, bool)> Sink for Flags<F> {
    type Error = std::convert::Infallible;

    fn member<T: WriteJson + Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.member_escaped(key_name(key), value)
    }

    fn member_escaped<T: WriteJson + Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> Result<(), Self::Error> {
        if let Ok(b) = value.serialize(BoolOnly) {
            (self.0)(key, b);
        }
        Ok(())
    }
}

/// A value's answer to [`BoolOnly`]: not a boolean.
#[derive(Debug)]
struct NotBool;

impl fmt::Display for NotBool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a boolean")
    }
}

impl std::error::Error for NotBool {}

impl serde::ser::Error for NotBool {
    fn custom<T: fmt::Display>(_: T) -> Self {
        NotBool
    }
}

/// A serializer that takes a boolean and refuses anything else at its first call.
struct BoolOnly;

/// The methods of [`BoolOnly`] that refuse their value.
macro_rules! refuse {
    ($($name:ident($($arg:ty),*) -> $ok:ty;)*) => {$(
        fn $name(self, $(_: $arg),*) -> Result<$ok, NotBool> {
            Err(NotBool)
        }
    )*};
}

impl Serializer for BoolOnly {
    type Ok = bool;
    type Error = NotBool;
    type SerializeSeq = Impossible<bool, NotBool>;
    type SerializeTuple = Impossible<bool, NotBool>;
    type SerializeTupleStruct = Impossible<bool, NotBool>;
    type SerializeTupleVariant = Impossible<bool, NotBool>;
    type SerializeMap = Impossible<bool, NotBool>;
    type SerializeStruct = Impossible<bool, NotBool>;
    type SerializeStructVariant = Impossible<bool, NotBool>;

    fn serialize_bool(self, v: bool) -> Result<bool, NotBool> {
        Ok(v)
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<bool, NotBool> {
        Err(NotBool)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<bool, NotBool> {
        Err(NotBool)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<bool, NotBool> {
        Err(NotBool)
    }

    refuse! {
        serialize_i8(i8) -> bool;
        serialize_i16(i16) -> bool;
        serialize_i32(i32) -> bool;
        serialize_i64(i64) -> bool;
        serialize_u8(u8) -> bool;
        serialize_u16(u16) -> bool;
        serialize_u32(u32) -> bool;
        serialize_u64(u64) -> bool;
        serialize_f32(f32) -> bool;
        serialize_f64(f64) -> bool;
        serialize_char(char) -> bool;
        serialize_str(&str) -> bool;
        serialize_bytes(&[u8]) -> bool;
        serialize_none() -> bool;
        serialize_unit() -> bool;
        serialize_unit_struct(&'static str) -> bool;
        serialize_unit_variant(&'static str, u32, &'static str) -> bool;
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dapkit_types::types::Capabilities;

    fn flags_of(json: serde_json::Value) -> Vec<(String, bool)> {
        let caps: Capabilities = serde_json::from_value(json).unwrap_or_default();
        let mut got = Vec::new();
        flags(&caps, |name, value| got.push((name.to_owned(), value)));
        got.sort();
        got
    }

    #[test]
    fn only_top_level_booleans_are_flags_with_their_names_unescaped() {
        let got = flags_of(serde_json::json!({
            "supportsConfigurationDoneRequest": true,
            "supportsStepBack": false,
            "exceptionBreakpointFilters": [
                {"filter": "raised", "label": "a \"quoted\":true \\", "default": true}
            ],
            "supportedChecksumAlgorithms": ["MD5"],
            "vendor\"Flag": true,
            "vendorText": "x:true",
            "vendorNumber": 1,
            "vendorObject": {"nested": true, "list": [false, {"deep": true}]}
        }));
        let want = [
            ("supportsConfigurationDoneRequest", true),
            ("supportsStepBack", false),
            ("vendor\"Flag", true),
        ];
        let mut want: Vec<(String, bool)> =
            want.iter().map(|(n, v)| ((*n).to_owned(), *v)).collect();
        want.sort();
        assert_eq!(got, want);
        assert!(flags_of(serde_json::json!({})).is_empty());
    }
}
