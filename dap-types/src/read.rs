//! Direct JSON decoding: one small tokenizer ([`Reader`]) driven by the generated decoders
//! ([`ReadJson`] impls), with no `serde::Deserializer` between the bytes and the fields.
//!
//! These are the only decoders of the generated types: [`crate::ProtocolMessage::from_slice`]
//! runs them on the bytes, and each type's serde `Deserialize` runs them on the value's JSON
//! text (see `private::deserialize`). They accept exactly the JSON serde_json accepts into the
//! type and otherwise give up with [`Fail`]; the reader keeps the position (and a missing
//! member's name) for the error message, and `ProtocolMessage` then keeps the message as JSON
//! where it cannot be typed. Where serde_json's rules are subtle (floats, `-0`, integers
//! beyond 64 bits), this module hands the token to serde_json itself. Tests decode every
//! fixture, and damaged copies of them, and compare with serde_json's reading of the JSON.
//!
//! Not a public API: generated code calls it.

use crate::private::Key;
use serde_json::{Map, Number, Value};

/// The fast path gave up; decode through serde instead.
#[derive(Debug)]
pub struct Fail;

/// Result of the fast path.
pub type Res<T> = Result<T, Fail>;

/// Nesting depth at which the fast path gives up (serde_json's own limit is 128).
const MAX_DEPTH: u32 = 100;

/// What kind of value comes next, in serde_json's terms.
pub enum Token {
    /// A string.
    String,
    /// `true` or `false`.
    Bool,
    /// A number serde_json reads as an integer (`u64` or `i64`).
    Integer,
    /// Any other number (serde_json reads it as `f64`).
    Float,
    /// `null`, an object, an array or not JSON.
    Other,
}

/// A position in one JSON text.
pub struct Reader<'a> {
    text: &'a str,
    pos: usize,
    depth: u32,
    /// The required member found missing, for the error message.
    missing: Option<&'static str>,
    /// Where the last key [`Reader::next_key`] read starts (its opening quote): read again
    /// by the helpers that keep the member in `extra`, so that the generated decoders do
    /// not hand the key to each member's helper (one move and one drop path per member).
    key_at: usize,
    /// Where that key's closing quote is.
    key_end: usize,
    /// Whether a `null` was kept in some `extra` (by [`Reader::optional`] or
    /// [`Reader::number`]): until then no declared member can be in an `extra`, and an
    /// optional member need not look there for one to drop.
    kept_null: bool,
}

/// A type the generated code can read straight from a [`Reader`].
///
/// A type implements [`read_json`](Self::read_json), or sets [`FRESH`](Self::FRESH) and
/// implements [`read_into`](Self::read_into) (the generated structs: their decoders fill a
/// fresh value in place, member by member). Each provided method is defined by the others.
pub trait ReadJson: Sized {
    /// A value no member was read into yet (`Self::default`), for types whose decoder is
    /// [`read_into`](Self::read_into): values are then read where they end up (in a
    /// message, a `Vec`, an `Option`) rather than read on the stack and moved there (a
    /// message is hundreds of bytes). `None` (the default): values are read by
    /// [`read_json`](Self::read_json) and moved.
    const FRESH: Option<fn() -> Self> = None;

    /// Reads one value of this type at the reader's position.
    #[inline]
    fn read_json(r: &mut Reader<'_>) -> Res<Self> {
        match Self::FRESH {
            Some(fresh) => {
                let mut v = fresh();
                Self::read_into(&mut v, r)?;
                Ok(v)
            }
            None => Err(Fail),
        }
    }

    /// Reads one value of this type into `slot`, which holds a value no member was read
    /// into yet ([`FRESH`](Self::FRESH)'s, or any value of a type without one, which is
    /// replaced). After an `Err` the slot holds what was read so far.
    #[inline]
    fn read_into(slot: &mut Self, r: &mut Reader<'_>) -> Res<()> {
        *slot = Self::read_json(r)?;
        Ok(())
    }

    /// Reads one value of this type as the last item of `items` (in place where it can).
    #[inline]
    fn read_push(items: &mut Vec<Self>, r: &mut Reader<'_>) -> Res<()> {
        match Self::FRESH {
            Some(fresh) => {
                items.push(fresh());
                match items.last_mut() {
                    Some(v) => Self::read_into(v, r),
                    None => Err(Fail),
                }
            }
            None => {
                items.push(Self::read_json(r)?);
                Ok(())
            }
        }
    }

    /// Reads one value of this type into `slot` as `Some` (in place where it can; whatever
    /// `slot` held before goes).
    #[inline]
    fn read_some(slot: &mut Option<Self>, r: &mut Reader<'_>) -> Res<()> {
        match Self::FRESH {
            Some(fresh) => Self::read_into(slot.insert(fresh()), r),
            None => {
                *slot = Some(Self::read_json(r)?);
                Ok(())
            }
        }
    }
}

/// Sets `slot` to the variant `$v` of the enum `$e` holding a fresh payload, and reads the
/// payload into it in place ([`ReadJson::read_into`]): the dispatch enums' decoders, so a
/// message is decoded where it ends up rather than moved into its variant.
macro_rules! read_variant {
    ($slot:expr, $r:expr, $e:ident :: $v:ident) => {{
        let slot = $slot;
        *slot = $e::$v(::core::default::Default::default());
        match slot {
            $e::$v(payload) => crate::read::ReadJson::read_into(payload, $r),
            _ => Err(crate::read::Fail),
        }
    }};
}
pub(crate) use read_variant;

impl<'a> Reader<'a> {
    /// A reader at the start of `text`.
    pub fn new(text: &'a str) -> Self {
        Reader {
            text,
            pos: 0,
            depth: 0,
            missing: None,
            key_at: 0,
            key_end: 0,
            kept_null: false,
        }
    }

    #[cold]
    fn missing(&mut self, member: &'static str) -> Fail {
        self.missing = Some(member);
        Fail
    }

    /// Why decoding a `what` failed, after a [`Fail`]: the missing member, or the byte where
    /// the reader stopped and the text there.
    #[cold]
    pub fn describe_failure(&self, what: &str) -> String {
        if let Some(member) = self.missing {
            return format!("invalid `{what}`: missing member `{member}`");
        }
        let at = self.pos.min(self.text.len());
        let mut end = (at + 24).min(self.text.len());
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let near = self.text.get(at..end).unwrap_or_default();
        if near.is_empty() {
            format!("invalid `{what}`: the JSON ends at byte {at} where a value was expected")
        } else {
            format!("invalid `{what}`: unexpected or ill-typed JSON at byte {at}: `{near}`")
        }
    }

    #[inline]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Skips whitespace and returns the next byte (0 at the end).
    #[inline]
    fn peek(&mut self) -> u8 {
        let bytes = self.bytes();
        // Compact JSON: no whitespace before the token (all whitespace is below b'!').
        if let Some(&b) = bytes.get(self.pos) {
            if b > b' ' {
                return b;
            }
        }
        while let Some(&b) = bytes.get(self.pos) {
            if !matches!(b, b' ' | b'\n' | b'\r' | b'\t') {
                return b;
            }
            self.pos += 1;
        }
        0
    }

    /// Succeeds if only whitespace is left.
    pub fn finish(&mut self) -> Res<()> {
        if self.peek() == 0 && self.pos == self.text.len() {
            Ok(())
        } else {
            Err(Fail)
        }
    }

    /// Consumes `bracket` (`{` or `[`) and goes one level deeper.
    #[inline]
    fn open(&mut self, bracket: u8) -> Res<()> {
        if self.peek() != bracket {
            return Err(Fail);
        }
        self.pos += 1;
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Fail);
        }
        Ok(())
    }

    /// Consumes the `{` that opens an object.
    #[inline]
    pub fn begin_object(&mut self) -> Res<()> {
        self.open(b'{')
    }

    /// The next member's key (with its `:` consumed), or `None` after the closing `}`.
    /// `first` is true before the first member. Out of line: one copy for the crate rather
    /// than one per generated decoder (compile time).
    #[inline(never)]
    pub fn next_key(&mut self, first: &mut bool) -> Res<Option<Key<'a>>> {
        let mut c = self.peek();
        if c == b'}' {
            self.pos += 1;
            self.depth -= 1;
            return Ok(None);
        }
        if !std::mem::take(first) {
            if c != b',' {
                return Err(Fail);
            }
            self.pos += 1;
            c = self.peek();
        }
        if c != b'"' {
            return Err(Fail);
        }
        self.key_at = self.pos;
        self.pos += 1;
        let key = self.string_body()?;
        self.key_end = self.pos - 1;
        if self.peek() != b':' {
            return Err(Fail);
        }
        self.pos += 1;
        Ok(Some(key))
    }

    /// Consumes the `[` that opens an array.
    #[inline]
    pub fn begin_array(&mut self) -> Res<()> {
        self.open(b'[')
    }

    /// Whether another item follows (its `,` consumed); false after the closing `]`.
    #[inline]
    pub fn next_item(&mut self, first: &mut bool) -> Res<bool> {
        let c = self.peek();
        if c == b']' {
            self.pos += 1;
            self.depth -= 1;
            return Ok(false);
        }
        if !std::mem::take(first) {
            if c != b',' {
                return Err(Fail);
            }
            self.pos += 1;
        }
        Ok(true)
    }

    /// The kind of the next value, without consuming it.
    pub fn token(&mut self) -> Token {
        match self.peek() {
            b'"' => Token::String,
            b't' | b'f' => Token::Bool,
            b'-' | b'0'..=b'9' => {
                let start = self.pos;
                let kind = match self.integer() {
                    Ok(Some(_)) => Token::Integer,
                    _ => Token::Float,
                };
                self.pos = start;
                kind
            }
            _ => Token::Other,
        }
    }

    /// Consumes a `null` if one is next.
    #[inline]
    pub fn eat_null(&mut self) -> Res<bool> {
        if self.peek() != b'n' {
            return Ok(false);
        }
        self.literal(b"null")?;
        Ok(true)
    }

    fn literal(&mut self, word: &[u8]) -> Res<()> {
        if self
            .bytes()
            .get(self.pos..)
            .is_some_and(|b| b.starts_with(word))
        {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Fail)
        }
    }

    /// A `true` or `false`.
    #[inline]
    pub fn boolean(&mut self) -> Res<bool> {
        match self.peek() {
            b't' => self.literal(b"true").map(|()| true),
            b'f' => self.literal(b"false").map(|()| false),
            _ => Err(Fail),
        }
    }

    /// A string, borrowed from the input unless it has escapes.
    #[inline]
    pub fn str(&mut self) -> Res<Key<'a>> {
        if self.peek() != b'"' {
            return Err(Fail);
        }
        self.pos += 1;
        self.string_body()
    }

    /// The rest of a string whose opening quote is consumed.
    #[inline]
    fn string_body(&mut self) -> Res<Key<'a>> {
        let bytes = self.bytes();
        let start = self.pos;
        // The plain run ends at a quote, a backslash or a (forbidden) control character.
        let i = crate::private::next_escape(bytes, start);
        match bytes.get(i) {
            Some(b'"') => {
                self.pos = i + 1;
                self.text.get(start..i).map(Key::Borrowed).ok_or(Fail)
            }
            Some(b'\\') => self.escaped(start, i).map(Key::Owned),
            _ => Err(Fail), // a raw control character, or the end of the input
        }
    }

    /// A string with escapes: `start` is its first byte, `i` the first backslash.
    #[cold]
    fn escaped(&mut self, start: usize, mut i: usize) -> Res<String> {
        let bytes = self.bytes();
        let mut out = String::with_capacity(i - start + 16);
        let mut run = start;
        loop {
            let b = *bytes.get(i).ok_or(Fail)?;
            match b {
                b'"' => {
                    out.push_str(self.text.get(run..i).ok_or(Fail)?);
                    self.pos = i + 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(self.text.get(run..i).ok_or(Fail)?);
                    let e = *bytes.get(i + 1).ok_or(Fail)?;
                    i += 2;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = hex4(bytes, i)?;
                            i += 4;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                // A leading surrogate must be followed by an escaped trailing one.
                                if bytes.get(i) != Some(&b'\\') || bytes.get(i + 1) != Some(&b'u') {
                                    return Err(Fail);
                                }
                                let lo = hex4(bytes, i + 2)?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return Err(Fail);
                                }
                                i += 6;
                                0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                            } else {
                                hi
                            };
                            out.push(char::from_u32(code).ok_or(Fail)?);
                        }
                        _ => return Err(Fail),
                    }
                    run = i;
                }
                0..=0x1f => return Err(Fail),
                _ => i += 1,
            }
        }
    }

    /// The span of a number token (a superset of JSON's number syntax; callers check it).
    fn number_span(&mut self) -> Res<&'a str> {
        let bytes = self.bytes();
        let start = self.pos;
        let mut i = start;
        while let Some(b) = bytes.get(i) {
            if !matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                break;
            }
            i += 1;
        }
        if i == start {
            return Err(Fail);
        }
        self.pos = i;
        self.text.get(start..i).ok_or(Fail)
    }

    /// An integer token as serde_json reads it: `Some((negative, magnitude))` for what it
    /// gives as `u64`/`i64`, `None` for what it reads as a float (fractions, exponents,
    /// `-0`, magnitudes beyond 64 bits). Fails on anything that is not a number. Out of
    /// line: one copy, not one per integer member (compile time).
    #[inline(never)]
    fn integer(&mut self) -> Res<Option<(bool, u64)>> {
        let c = self.peek();
        if !matches!(c, b'-' | b'0'..=b'9') {
            return Err(Fail);
        }
        // One pass over the usual token: 1 to 19 digits, no leading zero, not followed by
        // anything `number_span` would take into the token. Anything else takes the
        // general path below, which reads the whole token first.
        let bytes = self.bytes();
        let neg = c == b'-';
        let digits = self.pos + usize::from(neg);
        let mut i = digits;
        let mut n: u64 = 0;
        while let Some(&d) = bytes.get(i) {
            if !d.is_ascii_digit() {
                break;
            }
            n = n.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
            i += 1;
        }
        let len = i - digits;
        let plain = (1..=19).contains(&len)
            && (len == 1 || bytes.get(digits) != Some(&b'0'))
            && !matches!(bytes.get(i), Some(b'-' | b'+' | b'.' | b'e' | b'E'));
        if plain {
            self.pos = i;
            if neg && (n == 0 || n > 1 << 63) {
                return Ok(None);
            }
            return Ok(Some((neg, n)));
        }
        self.integer_token()
    }

    /// [`Reader::integer`] for a token that is not a plain run of digits.
    #[cold]
    fn integer_token(&mut self) -> Res<Option<(bool, u64)>> {
        let token = self.number_span()?.as_bytes();
        let (neg, digits) = match token.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, token),
        };
        let simple = !digits.is_empty()
            && digits.len() <= 19
            && digits.iter().all(u8::is_ascii_digit)
            && (digits[0] != b'0' || digits.len() == 1);
        if !simple {
            return Ok(None);
        }
        let mut n: u64 = 0;
        for &d in digits {
            n = n * 10 + u64::from(d - b'0'); // at most 19 digits: cannot overflow
        }
        if neg && (n == 0 || n > 1 << 63) {
            return Ok(None);
        }
        Ok(Some((neg, n)))
    }

    /// An unsigned integer (what serde_json gives as `u64`).
    #[inline]
    pub fn u64(&mut self) -> Res<u64> {
        match self.integer()? {
            Some((false, n)) => Ok(n),
            _ => Err(Fail),
        }
    }

    /// A signed integer (what serde_json gives as `u64` or `i64`).
    #[inline]
    pub fn i64(&mut self) -> Res<i64> {
        match self.integer()? {
            Some((false, n)) => i64::try_from(n).map_err(|_| Fail),
            Some((true, n)) => Ok(negative(n)),
            None => Err(Fail),
        }
    }

    /// A number read as `f64`, the way serde_json reads one into an `f64`.
    pub fn f64(&mut self) -> Res<f64> {
        if !matches!(self.peek(), b'-' | b'0'..=b'9') {
            return Err(Fail);
        }
        let start = self.pos;
        #[allow(clippy::cast_precision_loss)]
        match self.integer()? {
            Some((false, n)) => Ok(n as f64),
            Some((true, n)) => Ok(negative(n) as f64),
            None => {
                let token = self.text.get(start..self.pos).ok_or(Fail)?;
                serde_json::from_str::<f64>(token).map_err(|_| Fail)
            }
        }
    }

    /// Any JSON value, as serde_json builds a [`Value`].
    pub fn value(&mut self) -> Res<Value> {
        match self.peek() {
            b'"' => {
                self.pos += 1;
                Ok(Value::String(self.string_body()?.into_owned()))
            }
            b'{' => self.object().map(Value::Object),
            b'[' => {
                self.begin_array()?;
                let mut items = Vec::new();
                let mut first = true;
                while self.next_item(&mut first)? {
                    items.push(self.value()?);
                }
                Ok(Value::Array(items))
            }
            b't' => self.literal(b"true").map(|()| Value::Bool(true)),
            b'f' => self.literal(b"false").map(|()| Value::Bool(false)),
            b'n' => self.literal(b"null").map(|()| Value::Null),
            b'-' | b'0'..=b'9' => {
                let start = self.pos;
                match self.integer()? {
                    Some((false, n)) => Ok(Value::Number(n.into())),
                    Some((true, n)) => Ok(Value::Number(negative(n).into())),
                    None => {
                        let token = self.text.get(start..self.pos).ok_or(Fail)?;
                        match serde_json::from_str::<Number>(token) {
                            Ok(n) => Ok(Value::Number(n)),
                            Err(_) => Err(Fail),
                        }
                    }
                }
            }
            _ => Err(Fail),
        }
    }

    /// A JSON object, as serde_json builds a [`Map`].
    pub fn object(&mut self) -> Res<Map<String, Value>> {
        self.begin_object()?;
        let mut map = Map::new();
        let mut first = true;
        while let Some(key) = self.next_key(&mut first)? {
            let v = self.value()?;
            map.insert(key.into_owned(), v);
        }
        Ok(map)
    }

    /// An optional property: a value sets the slot; `null` leaves it empty and keeps
    /// `"key": null` in `extra` (as [`crate::private::optional`] does).
    #[inline(never)] // one copy per type, not one per member: compile time
    pub fn optional<T: ReadJson>(
        &mut self,
        slot: &mut Option<T>,
        extra: &mut Map<String, Value>,
    ) -> Res<()> {
        if self.eat_null()? {
            *slot = None;
            self.keep_null(extra)?;
        } else {
            // An earlier `null` of the same name kept in `extra` goes (before reading the
            // value, which moves `key_at` if it holds objects; a failure fails the decode).
            if self.kept_null && !extra.is_empty() {
                self.drop_kept(extra)?;
            }
            T::read_some(slot, self)?;
        }
        Ok(())
    }

    /// The key of the member being read (the last one [`Reader::next_key`] read).
    #[inline(never)]
    fn key(&self) -> Res<Key<'a>> {
        let start = self.key_at + 1;
        let raw = self.text.get(start..self.key_end).ok_or(Fail)?;
        if !raw.contains('\\') {
            return Ok(Key::Borrowed(raw));
        }
        // An escaped key, read again.
        let end = start + raw.find('\\').unwrap_or_default();
        Reader::new(self.text).escaped(start, end).map(Key::Owned)
    }

    /// The current member sent as `null`: kept in `extra` as `"key": null`. Out of line and
    /// not generic: one copy for the crate, not one per member type (compile time).
    #[inline(never)]
    fn keep_null(&mut self, extra: &mut Map<String, Value>) -> Res<()> {
        self.kept_null = true;
        extra.insert(self.key()?.into_owned(), Value::Null);
        Ok(())
    }

    /// The current member took its typed form: an earlier `null` of the same name kept in
    /// `extra` is dropped. Out of line and not generic (compile time).
    #[inline(never)]
    fn drop_kept(&self, extra: &mut Map<String, Value>) -> Res<()> {
        extra.remove(self.key()?.as_str());
        Ok(())
    }

    /// A `number` property (see [`crate::private::number`]).
    #[inline(never)] // one copy for the crate: compile time
    pub fn number(
        &mut self,
        slot: &mut Option<f64>,
        extra: &mut Map<String, Value>,
        optional: bool,
    ) -> Res<()> {
        if self.eat_null()? {
            if !optional {
                return Err(Fail);
            }
            *slot = None;
            return self.keep_null(extra);
        }
        let key = self.key()?;
        match self.value()? {
            Value::Number(n) => {
                crate::private::keep_number(key, n, slot, extra);
                Ok(())
            }
            _ => Err(Fail),
        }
    }

    /// A property the schema does not declare: kept as JSON.
    #[inline(never)] // one copy for the crate: compile time
    pub fn extra(&mut self, extra: &mut Map<String, Value>) -> Res<()> {
        let key = self.key()?;
        let v = self.value()?;
        extra.insert(key.into_owned(), v);
        Ok(())
    }

    /// A constant string member (`"type": "request"`).
    #[inline]
    pub fn tag_str(&mut self, expected: &str) -> Res<()> {
        if self.str()?.as_str() == expected {
            Ok(())
        } else {
            Err(Fail)
        }
    }

    /// A constant boolean member (`"success": true`).
    #[inline]
    pub fn tag_bool(&mut self, expected: bool) -> Res<()> {
        if self.boolean()? == expected {
            Ok(())
        } else {
            Err(Fail)
        }
    }
}

/// `-n` for a magnitude `integer` accepted as negative (`1 ..= 2^63`).
#[inline]
fn negative(n: u64) -> i64 {
    #[allow(clippy::cast_possible_wrap)]
    (n as i64).wrapping_neg()
}

fn hex4(bytes: &[u8], at: usize) -> Res<u32> {
    let digits = bytes.get(at..at + 4).ok_or(Fail)?;
    let mut n = 0u32;
    for &d in digits {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return Err(Fail),
        };
        n = n * 16 + u32::from(v);
    }
    Ok(n)
}

impl ReadJson for bool {
    #[inline]
    fn read_json(r: &mut Reader<'_>) -> Res<Self> {
        r.boolean()
    }
}

impl ReadJson for String {
    #[inline(never)] // one copy, not one per string member: compile time
    fn read_json(r: &mut Reader<'_>) -> Res<Self> {
        r.str().map(Key::into_owned)
    }
}

impl ReadJson for u64 {
    #[inline]
    fn read_json(r: &mut Reader<'_>) -> Res<Self> {
        r.u64()
    }
}

impl ReadJson for i64 {
    #[inline]
    fn read_json(r: &mut Reader<'_>) -> Res<Self> {
        r.i64()
    }
}

impl ReadJson for u32 {
    #[inline]
    fn read_json(r: &mut Reader<'_>) -> Res<Self> {
        r.i64().and_then(|n| u32::try_from(n).map_err(|_| Fail))
    }
}

impl ReadJson for i32 {
    #[inline]
    fn read_json(r: &mut Reader<'_>) -> Res<Self> {
        r.i64().and_then(|n| i32::try_from(n).map_err(|_| Fail))
    }
}

impl ReadJson for f64 {
    #[inline]
    fn read_json(r: &mut Reader<'_>) -> Res<Self> {
        r.f64()
    }
}

impl ReadJson for Value {
    #[inline]
    fn read_json(r: &mut Reader<'_>) -> Res<Self> {
        r.value()
    }
}

impl ReadJson for Map<String, Value> {
    #[inline]
    fn read_json(r: &mut Reader<'_>) -> Res<Self> {
        r.object()
    }
}

impl<T: ReadJson> ReadJson for Vec<T> {
    fn read_json(r: &mut Reader<'_>) -> Res<Self> {
        r.begin_array()?;
        let mut items = Vec::new();
        let mut first = true;
        while r.next_item(&mut first)? {
            T::read_push(&mut items, r)?;
        }
        Ok(items)
    }
}

impl<T: ReadJson> ReadJson for Option<T> {
    #[inline]
    fn read_json(r: &mut Reader<'_>) -> Res<Self> {
        if r.eat_null()? {
            Ok(None)
        } else {
            T::read_json(r).map(Some)
        }
    }
}

impl<T: ReadJson> ReadJson for std::collections::BTreeMap<String, T> {
    fn read_json(r: &mut Reader<'_>) -> Res<Self> {
        r.begin_object()?;
        let mut map = std::collections::BTreeMap::new();
        let mut first = true;
        while let Some(key) = r.next_key(&mut first)? {
            let v = T::read_json(r)?;
            map.insert(key.into_owned(), v);
        }
        Ok(map)
    }
}

impl ReadJson for crate::RawMessage {
    #[inline]
    fn read_json(r: &mut Reader<'_>) -> Res<Self> {
        r.object().map(crate::RawMessage)
    }
}

/// The helpers of the generated struct decoders, which fill `Self::default()` in place: each
/// is one copy per member type (or one for the crate), not one per member (compile time).
impl<'a> Reader<'a> {
    /// A member whose value is the field's own type (required, or required nullable).
    #[inline(never)]
    pub fn field<T: ReadJson>(&mut self, slot: &mut T) -> Res<()> {
        *slot = T::read_json(self)?;
        Ok(())
    }

    /// A required member of a generated type, read in place into `slot` (still as the
    /// struct's `default()` left it; see [`ReadJson::read_into`]), or, when the same key came
    /// before (`again`), read anew over it: the last of duplicate keys wins, as in
    /// serde_json's reading, and nothing of the earlier one stays.
    #[inline(never)]
    pub fn field_in_place<T: ReadJson>(&mut self, slot: &mut T, again: bool) -> Res<()> {
        if again {
            self.field(slot)
        } else {
            T::read_into(slot, self)
        }
    }

    /// An optional member kept as `Some` whatever it holds (`null` included: an optional
    /// nullable or any-JSON member).
    #[inline(never)]
    pub fn present<T: ReadJson>(&mut self, slot: &mut Option<T>) -> Res<()> {
        T::read_some(slot, self)
    }

    /// A required `number` member (see [`Reader::number`]; `null` fails).
    #[inline(never)]
    pub fn number_required(&mut self, slot: &mut f64, extra: &mut Map<String, Value>) -> Res<()> {
        let mut read = None;
        self.number(&mut read, extra, false)?;
        if let Some(x) = read {
            *slot = x;
        }
        Ok(())
    }

    /// Succeeds if every member of `names` was seen: bit `i` of `seen` stands for
    /// `names[i]`. Otherwise fails naming the first one missing.
    #[inline]
    pub fn all_seen(&mut self, seen: u64, names: &'static [&'static str]) -> Res<()> {
        // No names: nothing to check (not `1`, which would fail on bit 0).
        let all = match names.len() {
            0 => 0,
            n => u64::MAX >> (64 - n.min(64)),
        };
        if seen & all == all {
            Ok(())
        } else {
            Err(self.first_missing(seen, names))
        }
    }

    #[cold]
    #[inline(never)]
    fn first_missing(&mut self, seen: u64, names: &'static [&'static str]) -> Fail {
        let i = (!seen).trailing_zeros() as usize;
        match names.get(i) {
            Some(&member) => self.missing(member),
            None => Fail,
        }
    }
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::Reader;

    /// `all_seen` passes when every named member was seen (and when there are none), and
    /// otherwise names the first one missing.
    #[test]
    fn all_seen_names_the_first_missing_member() {
        let mut r = Reader::new("{}");
        assert!(r.all_seen(0, &[]).is_ok());
        assert!(r.all_seen(0b11, &["a", "b"]).is_ok());
        assert!(r.all_seen(0b01, &["a", "b"]).is_err());
        assert!(r.describe_failure("T").contains("`b`"));
    }

    /// The helpers that keep a member in `extra` read its key again from where the reader
    /// saw it: plain and escaped keys, undeclared members, `null`s kept and then dropped when
    /// the member comes again with a value, nested objects read between a key and the next.
    #[test]
    fn members_kept_in_extra_carry_their_keys() {
        use crate::types::StackFrame;
        use serde_json::json;
        let text = r#"{"id":1,"name":"f","line":2,"column":3,"endLine":null,"x\"y":[1],
            "canRestart":null,"source":{"path":null,"name":"s","\u0061b":{"c":null}},
            "en\u0064Line":4,"moduleId":null,"\u0063anRestart":true,"k":null}"#;
        let mut r = Reader::new(text);
        let frame = <StackFrame as super::ReadJson>::read_json(&mut r).expect("a stack frame");
        assert!(r.finish().is_ok());
        assert_eq!(
            (frame.id, frame.name.as_str(), frame.line, frame.column),
            (1, "f", 2, 3)
        );
        assert_eq!(frame.end_line, Some(4));
        assert_eq!(frame.can_restart, Some(true));
        assert_eq!(frame.module_id, None);
        let extra = serde_json::Value::Object(frame.extra);
        assert_eq!(extra, json!({"x\"y": [1], "moduleId": null, "k": null}));
        let source = frame.source.expect("the source");
        assert_eq!(source.name.as_deref(), Some("s"));
        let extra = serde_json::Value::Object(source.extra);
        assert_eq!(extra, json!({"path": null, "ab": {"c": null}}));
    }

    /// The one-pass integer reading gives what the general token path gives, and leaves the
    /// reader at the same place, for plain and unusual number spellings alike.
    #[test]
    fn integers_read_in_one_pass_match_the_token_path() {
        let cases = [
            "0",
            "7",
            "-7",
            "-0",
            "00",
            "01",
            "-01",
            "10",
            "42,",
            "42}",
            "42 ",
            "1.5",
            "1e3",
            "1E3",
            "2-3",
            "2+3",
            "-",
            "18446744073709551615",
            "18446744073709551616",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "1234567890123456789",
            "12345678901234567890",
            "99999999999999999999",
            "5abc",
            "-x",
        ];
        for case in cases {
            let mut fast = Reader::new(case);
            let mut slow = Reader::new(case);
            let a = fast.integer().ok();
            let b = slow.integer_token().ok();
            assert_eq!(a, b, "{case}");
            if a.is_some() {
                assert_eq!(fast.pos, slow.pos, "{case}");
            }
        }
    }
}
