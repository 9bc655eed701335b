//! Runtime support for the generated (de)serializers. Not a public API: generated code calls
//! these so that each generated impl stays short.
//!
//! One decoder and one encoder per type: the generated `ReadJson` impl is the decoder (serde's
//! `Deserialize` captures the JSON text and runs it, see [`deserialize`]), and the generated
//! [`Members`] impl is the encoder (both `WriteJson` and serde's `Serialize` walk it, see
//! [`write_members`] and [`serialize_members`]). The glue impls are spelled by the macros
//! [`impl_deserialize!`](crate::impl_deserialize) and [`impl_object!`](crate::impl_object).

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap as _, Serializer};
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

/// Whether `extra` holds one of `declared` (a value that did not take its typed form).
#[inline]
pub fn stashes(extra: &Map<String, Value>, declared: &[&str]) -> bool {
    !extra.is_empty() && extra.keys().any(|k| declared.contains(&k.as_str()))
}

/// Encodes an `f64` the way JSON peers write numbers: integral values without a fraction.
pub struct Num(pub f64);

/// 2^53: integers below it are exact in an `f64`.
const EXACT: f64 = 9_007_199_254_740_992.0;

impl serde::Serialize for Num {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.fract() == 0.0 && self.0.abs() < EXACT {
            // Exact: the value is integral and within f64's exact integer range.
            #[allow(clippy::cast_possible_truncation)]
            s.serialize_i64(self.0 as i64)
        } else {
            s.serialize_f64(self.0)
        }
    }
}

/// A `number` property (`f64`) read from the JSON number `n`: sets the slot, and keeps `n`
/// in `extra` under `key` when [`Num`] would write the value back spelled differently (an
/// integral float such as `50.0`, `-0`, an integer beyond 2^53), so that encoding writes
/// `n` again (see [`Spelled`]).
pub fn keep_number(
    key: Key<'_>,
    n: serde_json::Number,
    slot: &mut Option<f64>,
    extra: &mut Map<String, Value>,
) {
    let x = n.as_f64().unwrap_or(f64::NAN);
    *slot = Some(x);
    if num_spelling(x).as_ref() == Some(&n) {
        if !extra.is_empty() {
            extra.remove(key.as_str());
        }
    } else {
        extra.insert(key.into_owned(), Value::Number(n));
    }
}

/// The number [`Num`] writes for `x`.
fn num_spelling(x: f64) -> Option<serde_json::Number> {
    if x.fract() == 0.0 && x.abs() < EXACT {
        #[allow(clippy::cast_possible_truncation)]
        Some(serde_json::Number::from(x as i64))
    } else {
        serde_json::Number::from_f64(x)
    }
}

/// Encodes a `number` property as it was sent: as the number kept in `extra` under its key
/// (see [`keep_number`]) when that number still has this value, otherwise as [`Num`].
pub struct Spelled<'a>(pub f64, pub Option<&'a Value>);

impl Spelled<'_> {
    fn kept(&self) -> Option<&serde_json::Number> {
        match self.1 {
            Some(Value::Number(n)) if n.as_f64() == Some(self.0) => Some(n),
            _ => None,
        }
    }
}

impl serde::Serialize for Spelled<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.kept() {
            Some(n) => n.serialize(s),
            None => Num(self.0).serialize(s),
        }
    }
}

impl WriteJson for Spelled<'_> {
    fn write_json(&self, out: &mut Vec<u8>) {
        match self.kept() {
            Some(n) => n.write_json(out),
            None => self.0.write_json(out),
        }
    }
}

/// Direct JSON encoding: the generated types write their bytes without going through a
/// `serde::Serializer`, with member names written as precomputed literals.
pub trait WriteJson {
    /// Appends this value's JSON to `out`.
    fn write_json(&self, out: &mut Vec<u8>);
}

/// Appends `,` unless this is the first member, then the quoted key literal with its `:`.
#[inline]
pub fn key(out: &mut Vec<u8>, first: &mut bool, quoted_key_colon: &[u8]) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    out.extend_from_slice(quoted_key_colon);
}

/// Appends an `extra` member: the key escaped, then the value.
#[inline]
pub fn extra_member(out: &mut Vec<u8>, first: &mut bool, k: &str, v: &Value) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    write_str(out, k);
    out.push(b':');
    v.write_json(out);
}

/// Bytes a JSON string cannot hold as they are: `"`, `\\` and control characters.
static ESCAPED: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = true;
        i += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// The bytes of `w` (little-endian) that must be escaped (`"`, `\\`, below 0x20), each
/// marked by its high bit. Bytes after the first marked one may be marked wrongly (a
/// borrow carries into them), so only the lowest mark is exact.
#[inline]
fn escape_marks(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let control = w.wrapping_sub(ONES * 0x20);
    let q = w ^ (ONES * u64::from(b'"'));
    let quote = q.wrapping_sub(ONES) & !q;
    let b = w ^ (ONES * u64::from(b'\\'));
    let backslash = b.wrapping_sub(ONES) & !b;
    (control | quote | backslash) & !w & HIGH
}

/// The index of the first byte at or after `from` that must be escaped (`bytes.len()` if none).
#[inline]
pub(crate) fn next_escape(bytes: &[u8], mut from: usize) -> usize {
    // Eight bytes at a time; the lowest mark of the word that has one is the answer.
    while let Some(word) = bytes.get(from..from + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let marks = escape_marks(u64::from_le_bytes(w));
        if marks != 0 {
            return from + (marks.trailing_zeros() / 8) as usize;
        }
        from += 8;
    }
    while let Some(&b) = bytes.get(from) {
        if ESCAPED[usize::from(b)] {
            return from;
        }
        from += 1;
    }
    from
}

/// The eight bytes of `b` from `i` as a little-endian word (`i + 8 <= b.len()`). Public for
/// dapkit's own word-at-a-time text checks (`dapkit-trace`'s), one implementation for both.
#[inline(always)]
pub fn word_at(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(w)
}

/// The `n` bytes of `b` from `i` (`1 <= n < 8`, `i + n <= b.len()`) as the low bytes of a
/// little-endian word, the others zero: read as two overlapping 4-byte loads or three single
/// bytes, so that no variable-length copy (a `memcpy` call) is needed. Public like
/// [`word_at`].
#[inline(always)]
pub fn tail_at(b: &[u8], i: usize, n: usize) -> u64 {
    if n >= 4 {
        let mut lo = [0u8; 4];
        lo.copy_from_slice(&b[i..i + 4]);
        let mut hi = [0u8; 4];
        hi.copy_from_slice(&b[i + n - 4..i + n]);
        // The two loads overlap when `n < 8`; OR-ing equal bytes keeps them.
        u64::from(u32::from_le_bytes(lo)) | u64::from(u32::from_le_bytes(hi)) << ((n - 4) * 8)
    } else {
        let mid = n / 2;
        u64::from(b[i])
            | u64::from(b[i + mid]) << (mid * 8)
            | u64::from(b[i + n - 1]) << ((n - 1) * 8)
    }
}

/// Appends the low `n` bytes (`1..=8`) of the little-endian word `w`: one fixed 8-byte store,
/// then the length set back over the bytes beyond `n`.
#[inline(always)]
fn put_word(out: &mut Vec<u8>, w: u64, n: usize) {
    out.extend_from_slice(&w.to_le_bytes());
    out.truncate(out.len() - (8 - n));
}

/// The last `n` bytes (`1..=8`) of `b` as the low bytes of a little-endian word, the others
/// zero: one 8-byte load overlapping what comes before them when `b` is long enough, else
/// [`tail_at`].
#[inline(always)]
fn last_bytes(b: &[u8], n: usize) -> u64 {
    let len = b.len();
    if len >= 8 {
        word_at(b, len - 8) >> ((8 - n) * 8)
    } else {
        tail_at(b, len - n, n)
    }
}

/// Appends `bytes` a word at a time, with fixed-size stores only (short runs such as member
/// names and numbers cost less so than through `memcpy`).
#[inline(always)]
fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut i = 0;
    while i + 8 <= bytes.len() {
        out.extend_from_slice(&word_at(bytes, i).to_le_bytes());
        i += 8;
    }
    let n = bytes.len() - i;
    if n > 0 {
        put_word(out, last_bytes(bytes, n), n);
    }
}

/// Appends `bytes` as they are, with fixed-size stores only (for programs writing their own
/// JSON around dapkit's, such as `dapkit show --json`: short texts whose length varies,
/// numbers from itoa, cost less so than through a `memcpy` call).
#[inline]
pub fn write_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_bytes(out, bytes);
}

/// Appends the escape sequence of `b`, a byte a JSON string cannot hold as it is (serde_json's
/// spelling: the short escapes where JSON has one, `\u00XX` otherwise).
#[inline(always)]
fn put_escape(out: &mut Vec<u8>, b: u8) {
    if b == b'"' || b == b'\\' {
        out.extend_from_slice(&[b'\\', b]);
    } else {
        put_control(out, b);
    }
}

/// [`put_escape`] of a control character.
#[cold]
#[inline(never)]
fn put_control(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        }
    }
}

/// Appends a JSON string literal. The text is read a word at a time, each word checked for
/// bytes to escape and stored whole when it has none; the last, partial word is read
/// overlapping the one before it (`last_bytes`) and stored with the closing quote, a text
/// of up to 6 bytes with both quotes in one store. No per-byte loop and no `memcpy` call on
/// the common path.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    const QUOTE: u64 = b'"' as u64;
    let bytes = s.as_bytes();
    let len = bytes.len();
    if len == 0 {
        out.extend_from_slice(b"\"\"");
        return;
    }
    if len <= 6 {
        let w = last_bytes(bytes, len);
        if escape_marks(w) & (u64::MAX >> ((8 - len) * 8)) == 0 {
            put_word(out, QUOTE | w << 8 | QUOTE << (8 * (len + 1)), len + 2);
            return;
        }
    }
    out.push(b'"');
    let from = escape_words(out, bytes);
    let n = len - from;
    if n > 0 {
        let w = last_bytes(bytes, n);
        // Only the low `n` bytes are text (the zero bytes above would read as controls).
        if escape_marks(w) & (u64::MAX >> ((8 - n) * 8)) == 0 {
            // `n < 8`: the closing quote fits in the same store.
            put_word(out, w | QUOTE << (8 * n), n + 1);
            return;
        }
        escape_bytes(out, &bytes[from..]);
    }
    out.push(b'"');
}

/// Appends the text of a JSON string, escaped as [`write_str`] escapes it, without the
/// quotes: for a string written in pieces (`dapkit show --json` writes a summary straight
/// into its line, piece by piece, between quotes of its own).
pub fn write_escaped(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let from = escape_words(out, bytes);
    let n = bytes.len() - from;
    if n > 0 {
        let w = last_bytes(bytes, n);
        if escape_marks(w) & (u64::MAX >> ((8 - n) * 8)) == 0 {
            put_word(out, w, n);
        } else {
            escape_bytes(out, &bytes[from..]);
        }
    }
}

/// Appends the whole words of `bytes`, escaped; returns where the last, partial word
/// starts (fewer than 8 bytes are left).
#[inline(always)]
fn escape_words(out: &mut Vec<u8>, bytes: &[u8]) -> usize {
    let mut from = 0;
    while from + 8 <= bytes.len() {
        let w = word_at(bytes, from);
        let marks = escape_marks(w);
        if marks == 0 {
            out.extend_from_slice(&w.to_le_bytes());
            from += 8;
            continue;
        }
        // The lowest mark is exact (see `escape_marks`): the text before it, then its escape.
        let at = (marks.trailing_zeros() / 8) as usize;
        put_word(out, w, at);
        put_escape(out, bytes[from + at]);
        from += at + 1;
    }
    from
}

/// Appends `bytes` escaped, a byte at a time (the last few bytes of a text that has one to
/// escape).
#[inline(never)]
fn escape_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    for &b in bytes {
        if ESCAPED[usize::from(b)] {
            put_escape(out, b);
        } else {
            out.push(b);
        }
    }
}

impl WriteJson for str {
    #[inline]
    fn write_json(&self, out: &mut Vec<u8>) {
        write_str(out, self);
    }
}

impl WriteJson for String {
    #[inline]
    fn write_json(&self, out: &mut Vec<u8>) {
        write_str(out, self);
    }
}

impl WriteJson for bool {
    #[inline]
    fn write_json(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(if *self { b"true" } else { b"false" });
    }
}

macro_rules! write_int {
    ($($t:ty),*) => {$(
        impl WriteJson for $t {
            #[inline]
            fn write_json(&self, out: &mut Vec<u8>) {
                put_bytes(out, itoa::Buffer::new().format(*self).as_bytes());
            }
        }
    )*};
}
write_int!(i32, u32, i64, u64);

impl WriteJson for f64 {
    fn write_json(&self, out: &mut Vec<u8>) {
        if serde_json::to_writer(&mut *out, &Num(*self)).is_err() {
            out.extend_from_slice(b"null");
        }
    }
}

impl WriteJson for Value {
    #[inline]
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Value::String(s) => write_str(out, s),
            Value::Bool(b) => b.write_json(out),
            Value::Null => out.extend_from_slice(b"null"),
            Value::Array(items) => items.write_json(out),
            Value::Object(map) => map.write_json(out),
            Value::Number(n) => n.write_json(out),
        }
    }
}

impl WriteJson for serde_json::Number {
    #[inline]
    fn write_json(&self, out: &mut Vec<u8>) {
        // serde_json's own spelling of numbers (float_roundtrip-exact).
        if serde_json::to_writer(&mut *out, self).is_err() {
            out.extend_from_slice(b"null");
        }
    }
}

impl WriteJson for Map<String, Value> {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        let mut first = true;
        for (k, v) in self {
            extra_member(out, &mut first, k, v);
        }
        out.push(b'}');
    }
}

impl<T: WriteJson> WriteJson for Vec<T> {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'[');
        for (i, item) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            item.write_json(out);
        }
        out.push(b']');
    }
}

impl<T: WriteJson> WriteJson for Option<T> {
    #[inline]
    fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            Some(v) => v.write_json(out),
            None => out.extend_from_slice(b"null"),
        }
    }
}

impl<T: WriteJson> WriteJson for std::collections::BTreeMap<String, T> {
    fn write_json(&self, out: &mut Vec<u8>) {
        out.push(b'{');
        for (i, (k, v)) in self.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, k);
            out.push(b':');
            v.write_json(out);
        }
        out.push(b'}');
    }
}

/// The members of a generated object, in the order they are written: the one encoder of the
/// type, walked by [`write_members`] (its `WriteJson`) and [`serialize_members`] (its serde
/// `Serialize`), so the two always write the same members.
pub trait Members {
    /// Hands every member to `sink`, in order.
    fn members<S: Sink>(&self, sink: &mut S) -> Result<(), S::Error>;
}

/// Where [`Members`] go: JSON bytes or a serde map.
pub trait Sink {
    /// The error of the underlying serializer (none for bytes).
    type Error;
    /// A member whose key needs no JSON escaping (the generator checks each key). `key` is
    /// the member's JSON prefix `,"name":`, precomputed by the generator: the JSON sink writes
    /// it as it is, the serde sink takes the name out of it (see [`key_name`]).
    fn member<T: WriteJson + serde::Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error>;
    /// A member whose key must be escaped, or any `extra` member.
    fn member_escaped<T: WriteJson + serde::Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> Result<(), Self::Error>;
    /// An optional member: written when present.
    #[inline]
    fn optional<T: WriteJson + serde::Serialize>(
        &mut self,
        key: &'static str,
        value: &Option<T>,
    ) -> Result<(), Self::Error> {
        match value {
            Some(v) => self.member(key, v),
            None => Ok(()),
        }
    }
    /// The `extra` members, but those a typed member of that name was written for (see
    /// [`shadowed`]). Not generic over the type: compiled once per sink.
    fn extras(
        &mut self,
        extra: &Map<String, Value>,
        declared: &[&str],
        written: u64,
    ) -> Result<(), Self::Error> {
        for (k, v) in extra {
            if !shadowed(declared, written, k) {
                self.member_escaped(k, v)?;
            }
        }
        Ok(())
    }
}

/// Whether an `extra` entry named `key` is shadowed by a typed member that is written: `key`
/// is `declared[i]` and bit `i` of `written` is set (a generated type's `DECLARED` and its
/// `written_declared()`).
#[doc(hidden)]
pub fn shadowed(declared: &[&str], written: u64, key: &str) -> bool {
    declared
        .iter()
        .position(|d| *d == key)
        .is_some_and(|i| i < 64 && written >> i & 1 == 1)
}

/// The name in a member's precomputed JSON prefix `,"name":` (see [`Sink::member`]).
#[inline]
pub fn key_name(key: &str) -> &str {
    key.strip_prefix(",\"")
        .and_then(|k| k.strip_suffix("\":"))
        .unwrap_or(key)
}

/// A [`Sink`] writing JSON bytes. Every member is written with a leading `,`: the first
/// one's becomes the object's `{` (see [`write_members`]), so no member asks whether it
/// is the first.
struct JsonSink<'a> {
    out: &'a mut Vec<u8>,
}

impl Sink for JsonSink<'_> {
    type Error = std::convert::Infallible;

    #[inline(never)] // one copy per type, not one per member: compile time
    fn member<T: WriteJson + serde::Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        // `,"key":`, precomputed.
        self.out.extend_from_slice(key.as_bytes());
        value.write_json(self.out);
        Ok(())
    }

    #[inline(never)] // one copy per type, not one per member: compile time
    fn member_escaped<T: WriteJson + serde::Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.out.push(b',');
        write_str(self.out, key);
        self.out.push(b':');
        value.write_json(self.out);
        Ok(())
    }
}

/// A [`Sink`] feeding a serde map.
struct SerdeSink<M>(M);

impl<M: serde::ser::SerializeMap> Sink for SerdeSink<M> {
    type Error = M::Error;

    #[inline]
    fn member<T: WriteJson + serde::Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.0.serialize_entry(key_name(key), value)
    }

    #[inline]
    fn member_escaped<T: WriteJson + serde::Serialize + ?Sized>(
        &mut self,
        key: &str,
        value: &T,
    ) -> Result<(), Self::Error> {
        self.0.serialize_entry(key, value)
    }
}

/// `WriteJson` of a generated object: its [`Members`] as a JSON object.
#[inline]
pub fn write_members<T: Members + ?Sized>(value: &T, out: &mut Vec<u8>) {
    let start = out.len();
    match value.members(&mut JsonSink { out: &mut *out }) {
        Ok(()) => {}
        Err(never) => match never {},
    }
    close_object(out, start);
}

/// Closes an object whose members [`JsonSink`] wrote from `start`: the first member's `,`
/// becomes the `{` (no member: `{}`). Not generic: compiled once, not once per type.
#[inline(never)]
fn close_object(out: &mut Vec<u8>, start: usize) {
    match out.get_mut(start) {
        Some(comma) => {
            *comma = b'{';
            out.push(b'}');
        }
        None => out.extend_from_slice(b"{}"),
    }
}

/// serde `Serialize` of a generated object: its [`Members`] as a serde map.
pub fn serialize_members<T: Members + ?Sized, S: Serializer>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut sink = SerdeSink(serializer.serialize_map(None)?);
    value.members(&mut sink)?;
    sink.0.end()
}

/// The name under which serde_json hands a value's JSON text to a visitor (its `RawValue`
/// protocol; serde_json's `Deserializer` and its `Value` both speak it).
const RAW_VALUE_TOKEN: &str = "$serde_json::private::RawValue";

/// serde `Deserialize` of a generated type, through its direct decoder (`ReadJson`, the one
/// decoder of the type): the value's JSON text is captured (borrowed from serde_json's input
/// where it can be; other formats' values are collected as a JSON value and printed), then
/// decoded. A failure names the type, the byte of the JSON text and what is there.
pub fn deserialize<'de, T: crate::read::ReadJson, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<T, D::Error> {
    let text = deserializer.deserialize_newtype_struct(RAW_VALUE_TOKEN, Capture)?;
    read_text(&text).map_err(de::Error::custom)
}

/// Decodes a whole JSON text into `T` with its direct decoder; the error names the type.
pub(crate) fn read_text<T: crate::read::ReadJson>(text: &str) -> Result<T, String> {
    let mut r = crate::read::Reader::new(text);
    match T::read_json(&mut r).and_then(|v| r.finish().map(|()| v)) {
        Ok(v) => Ok(v),
        Err(_) => Err(r.describe_failure(short_type_name::<T>())),
    }
}

/// The last segment of `T`'s path (`Source`, not `dapkit_types::types::Source`).
fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

/// A value's JSON text, as serde hands it over.
struct Capture;

impl Capture {
    fn print<'de, E: de::Error>(v: Value) -> Result<std::borrow::Cow<'de, str>, E> {
        Ok(std::borrow::Cow::Owned(v.to_string()))
    }
}

impl<'de> Visitor<'de> for Capture {
    type Value = std::borrow::Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Some(first) = map.next_key::<Key<'de>>()? else {
            return Ok(std::borrow::Cow::Borrowed("{}"));
        };
        if first.as_str() == RAW_VALUE_TOKEN {
            // serde_json: the value is the JSON text itself.
            return Ok(match map.next_value::<Key<'de>>()? {
                Key::Borrowed(s) => std::borrow::Cow::Borrowed(s),
                Key::Owned(s) => std::borrow::Cow::Owned(s),
            });
        }
        let mut object = Map::new();
        let v = map.next_value::<Value>()?;
        object.insert(first.into_owned(), v);
        while let Some((k, v)) = map.next_entry::<String, Value>()? {
            object.insert(k, v);
        }
        Self::print(Value::Object(object))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Self::print(Value::deserialize(d)?)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Self::print(Value::deserialize(d)?)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element::<Value>()? {
            items.push(v);
        }
        Self::print(Value::Array(items))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Self::print(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Self::print(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Self::print(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Self::print(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Self::print(Value::from(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Self::print(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Self::print(Value::Null)
    }
}

/// serde `Deserialize` for generated types, through their direct decoder ([`deserialize`]).
#[doc(hidden)]
#[macro_export]
macro_rules! impl_deserialize {
    ($t:ty) => {
        impl<'de> $crate::private::serde::Deserialize<'de> for $t {
            #[inline]
            fn deserialize<D: $crate::private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                $crate::private::deserialize(deserializer)
            }
        }
    };
}

/// The serde impls and `WriteJson` of a generated object: `Deserialize` through its direct
/// decoder, `Serialize` and `WriteJson` through its [`Members`].
#[doc(hidden)]
#[macro_export]
macro_rules! impl_object {
    ($t:ty) => {
        $crate::impl_deserialize!($t);
        impl $crate::private::serde::Serialize for $t {
            #[inline]
            fn serialize<S: $crate::private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                $crate::private::serialize_members(self, serializer)
            }
        }
        impl $crate::private::WriteJson for $t {
            #[inline]
            fn write_json(&self, out: &mut ::std::vec::Vec<u8>) {
                $crate::private::write_members(self, out)
            }
        }
    };
}

pub use crate::{impl_deserialize, impl_object};

/// `schemars::JsonSchema` of a generated type from its schema as data (feature `schemars`):
/// `$json` is the schema's JSON text, where `{"$rust": i}` stands for the `i`-th of the
/// `[types]` (as `generator.subschema_for`), see [`json_schema`].
#[cfg(feature = "schemars")]
#[doc(hidden)]
#[macro_export]
macro_rules! impl_json_schema {
    ($t:ident, [$($r:ty),* $(,)?], $json:literal) => {
        impl $crate::private::schemars::JsonSchema for $t {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(stringify!($t))
            }
            fn schema_id() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed(concat!(module_path!(), "::", stringify!($t)))
            }
            fn json_schema(
                generator: &mut $crate::private::schemars::SchemaGenerator,
            ) -> $crate::private::schemars::Schema {
                let _ = &generator; // unused when no member refers to a type
                let refs: &[$crate::private::schemars::Schema] =
                    &[$(generator.subschema_for::<$r>()),*];
                $crate::private::json_schema($json, refs)
            }
        }
    };
}

#[cfg(feature = "schemars")]
pub use crate::impl_json_schema;
#[cfg(feature = "schemars")]
pub use schemars;

/// A generated type's schema from its JSON text (see
/// [`impl_json_schema!`](crate::impl_json_schema)): every `{"$rust": i, ...}` node becomes
/// `refs[i]` with the node's other keys (a description) added to it. The text is written by
/// the generator and checked by the schemars tests; were it ever not JSON, the schema
/// allows anything rather than failing.
#[cfg(feature = "schemars")]
pub fn json_schema(text: &str, refs: &[schemars::Schema]) -> schemars::Schema {
    fn substitute(node: &mut Value, refs: &[schemars::Schema]) {
        match node {
            Value::Object(map) => {
                let at = map.get("$rust").and_then(Value::as_u64);
                match at
                    .and_then(|i| usize::try_from(i).ok())
                    .and_then(|i| refs.get(i))
                {
                    Some(r) => {
                        map.remove("$rust");
                        *node = match r.clone().to_value() {
                            Value::Object(mut target) => {
                                target.append(map);
                                Value::Object(target)
                            }
                            // `true` (any value): with a description, the object form of it.
                            other if map.is_empty() => other,
                            _ => Value::Object(std::mem::take(map)),
                        };
                    }
                    None => map.values_mut().for_each(|v| substitute(v, refs)),
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| substitute(v, refs)),
            _ => {}
        }
    }
    let mut value: Value = serde_json::from_str(text).unwrap_or(Value::Bool(true));
    substitute(&mut value, refs);
    schemars::Schema::try_from(value).unwrap_or_default()
}

pub use crate::message::typed_both;

// What code generated outside this crate (`dapkit_codegen::Extension`, in a build script)
// reaches through `::dapkit_types::private`: the crates its impls name, the direct decoder
// and the validation helpers.
pub use serde;
pub use serde_json;

/// The direct decoders' reader, for generated `ReadJson` impls.
pub mod read {
    pub use crate::read::{Fail, ReadJson, Reader, Res, Token};
}

/// Validation helpers, for generated `Validate` impls.
pub mod validate {
    pub use crate::validate::{
        Bounded, Ctx, Rule, Validate, Violation, Violations, bounded, kept_in_extra, member,
        not_in_enum,
    };
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::{write_escaped, write_str};
    use crate::read::ReadJson as _;
    use crate::types::{Checksum, Source, SourcePresentationHint};

    const SOURCE: &str = r#"{"name":"a.py","path":"/src/a.py","sourceReference":0,"presentationHint":"emphasize","adapterData":null,"sources":[{"name":"b"}],"x-vendor":{"k":[1,2.5,"é\n"]}}"#;

    fn direct(text: &str) -> Source {
        let mut r = crate::read::Reader::new(text);
        let s = Source::read_json(&mut r).expect("the direct decoder reads the source");
        r.finish().expect("nothing after the source");
        s
    }

    /// serde's `Deserialize` runs the direct decoder on every route serde offers: borrowed
    /// and owned text (serde_json's raw value), a `Value`, and serde's own buffering
    /// (an untagged enum, which hands over neither text nor a serde_json type).
    #[test]
    fn deserialize_runs_the_direct_decoder_on_every_route() {
        let expected = direct(SOURCE);
        assert_eq!(
            expected.presentation_hint,
            Some(SourcePresentationHint::Emphasize)
        );
        assert_eq!(expected.extra["x-vendor"]["k"][2], "é\n");
        let borrowed: Source = serde_json::from_str(SOURCE).expect("from_str");
        let owned: Source = serde_json::from_reader(SOURCE.as_bytes()).expect("from_reader");
        let value: serde_json::Value = serde_json::from_str(SOURCE).expect("a JSON value");
        let from_ref: Source = serde::Deserialize::deserialize(&value).expect("from &Value");
        let from_value: Source = serde_json::from_value(value).expect("from Value");
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Buffered {
            Source(Source),
        }
        let Buffered::Source(buffered) = serde_json::from_str(SOURCE).expect("untagged");
        for (route, got) in [
            ("borrowed", borrowed),
            ("owned", owned),
            ("&Value", from_ref),
            ("Value", from_value),
            ("serde's buffer", buffered),
        ] {
            assert_eq!(got, expected, "{route}");
        }
        // Embedded in a user's struct, and optional there.
        #[derive(serde::Deserialize)]
        struct Mine {
            source: Option<Source>,
            other: u8,
        }
        let mine: Mine =
            serde_json::from_str(&format!(r#"{{"other":1,"source":{SOURCE}}}"#)).expect("embedded");
        assert_eq!((mine.source, mine.other), (Some(expected), 1));
    }

    /// Errors name the type and the missing member, or the byte where the value did not fit.
    #[test]
    fn deserialize_errors_say_what_was_wrong() {
        let err = serde_json::from_str::<Checksum>(r#"{"algorithm":"MD5"}"#)
            .expect_err("checksum is required");
        assert!(
            err.to_string()
                .contains("invalid `Checksum`: missing member `checksum`"),
            "{err}"
        );
        let err = serde_json::from_str::<Source>(r#"{"path": 5}"#).expect_err("path is a string");
        assert!(
            err.to_string().contains("invalid `Source`")
                && err.to_string().contains("byte 9: `5}`"),
            "{err}"
        );
        let value = serde_json::json!({"name": ["x"]});
        let err = serde_json::from_value::<Source>(value).expect_err("name is a string");
        assert!(err.to_string().contains("invalid `Source`"), "{err}");
    }

    /// serde's `Serialize` and the direct encoder walk the same members.
    #[test]
    fn serialize_and_write_json_agree() {
        let source = direct(SOURCE);
        let mut bytes = Vec::new();
        super::WriteJson::write_json(&source, &mut bytes);
        let by_serde = serde_json::to_vec(&source).expect("serde encodes");
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(&by_serde)
        );
        let back: serde_json::Value = serde_json::from_slice(&bytes).expect("valid JSON");
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(SOURCE).expect("JSON")
        );
        assert_eq!(serde_json::to_value(&source).expect("to_value"), back);
    }

    /// `next_escape` finds the first byte to escape wherever it sits in a word, also when a
    /// second one follows in the same word (the mask may mark bytes after the first wrongly)
    /// and next to multi-byte characters.
    #[test]
    fn next_escape_finds_the_first_byte_to_escape() {
        let specials = [b'"', b'\\', 0u8, 0x1f, b'\n'];
        let fillers = [b'a', b' ', 0x7f, 0x80, 0xe9, 0xff, b'!', b'#', b'[', b']'];
        let naive = |b: &[u8], from: usize| {
            (from..b.len())
                .find(|&i| b[i] < 0x20 || b[i] == b'"' || b[i] == b'\\')
                .unwrap_or(b.len())
        };
        let mut checked = 0;
        for len in 0..20 {
            for &fill in &fillers {
                for first in 0..=len {
                    for second in first..=len {
                        for &x in &specials {
                            for &y in &specials {
                                let mut b = vec![fill; len];
                                if first < len {
                                    b[first] = x;
                                }
                                if second < len {
                                    b[second] = y;
                                }
                                for from in [0, 1, 3] {
                                    assert_eq!(
                                        super::next_escape(&b, from.min(len)),
                                        naive(&b, from.min(len)),
                                        "{b:?} from {from}"
                                    );
                                    checked += 1;
                                }
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 100_000);
    }

    /// `write_str` spells every string exactly as serde_json does: each ASCII byte and some
    /// multi-byte characters, at every position of strings around the 8-byte word size; so
    /// does `write_escaped` between quotes.
    #[test]
    fn write_str_matches_serde_json() {
        let mut specials: Vec<char> = (0u8..0x80).map(char::from).collect();
        specials.extend(['é', '€', '😀', '\u{7f}', '\u{2028}']);
        let mut out = Vec::new();
        let mut checked = 0;
        for len in 0..20 {
            for at in 0..len {
                for &c in &specials {
                    let s: String = (0..len).map(|i| if i == at { c } else { 'a' }).collect();
                    out.clear();
                    write_str(&mut out, &s);
                    let expected = serde_json::to_string(&s).unwrap_or_default();
                    assert_eq!(String::from_utf8_lossy(&out), expected, "{s:?}");
                    // The same text without its quotes, written after what is there.
                    out.clear();
                    out.push(b'"');
                    write_escaped(&mut out, &s);
                    out.push(b'"');
                    assert_eq!(String::from_utf8_lossy(&out), expected, "{s:?} in pieces");
                    checked += 1;
                }
            }
        }
        assert!(checked > 20_000);
    }

    /// `write_str` also matches serde_json with two bytes to escape in one string (one word or
    /// two, in the last partial word, next to each other), next to multi-byte characters and
    /// between bytes one below or above the special ones, appended to a buffer that already
    /// holds text.
    #[test]
    fn write_str_matches_serde_json_with_two_escapes() {
        let specials = ['"', '\\', '\n', '\u{1}', '\u{1f}', 'é', '€', '😀'];
        let fillers = ['a', ' ', '#', '!', '[', ']', '\u{7f}'];
        let mut out = Vec::new();
        let mut checked = 0;
        for len in 0..19 {
            for &fill in &fillers {
                for first in 0..len {
                    for second in first..len {
                        for &x in &specials {
                            for &y in &specials {
                                let s: String = (0..len)
                                    .map(|i| match i {
                                        _ if i == second => y,
                                        _ if i == first => x,
                                        _ => fill,
                                    })
                                    .collect();
                                out.clear();
                                out.extend_from_slice(b"prefix");
                                write_str(&mut out, &s);
                                let expected = format!(
                                    "prefix{}",
                                    serde_json::to_string(&s).unwrap_or_default()
                                );
                                assert_eq!(String::from_utf8_lossy(&out), expected, "{s:?}");
                                checked += 1;
                            }
                        }
                    }
                }
            }
        }
        assert!(checked > 50_000);
    }
}
