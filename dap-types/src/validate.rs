//! Schema rules that decoding does not enforce, reported instead: [`Validate`] and
//! [`Violation`].
//!
//! Decoding is lenient so that real peers interoperate: a number outside the schema's
//! `minimum`/`maximum` (such as `seq: 0`), a value outside a closed `enum`, a declared
//! property sent as `null` or with the wrong type (kept in `extra`), or a known message whose
//! payload does not take its typed form (kept as `Custom`) all decode. [`Validate::validate`]
//! lists them, each at a JSON pointer into the message.
//!
//! ```
//! use dapkit_types::messages::ThreadsRequest;
//! use dapkit_types::{Data, Validate};
//!
//! let msg = ThreadsRequest::from_slice(br#"{"seq":0,"type":"request","command":"threads"}"#)?;
//! let violations = msg.validate();
//! assert_eq!(violations.len(), 1);
//! assert_eq!(violations[0].path, "/seq");
//! assert_eq!(violations[0].to_string(), "/seq: 0 is below the minimum 1");
//! # Ok::<(), dapkit_types::Error>(())
//! ```
//!
//! The impls for generated types are generated with them; this module holds the trait, the
//! impls for standard types, and the checks generated code calls.

use serde_json::{Map, Number, Value};
use std::collections::BTreeMap;
use std::fmt;

/// One schema rule a decoded value breaks.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Violation {
    /// Where: a JSON pointer from the validated value (`/body/stackFrames/0/line`; empty for
    /// the value itself).
    pub path: String,
    /// What.
    pub rule: Rule,
}

/// The schema rule a [`Violation`] breaks.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Rule {
    /// A number below the schema's `minimum`.
    Minimum {
        /// The schema's inclusive minimum.
        minimum: i64,
        /// The value sent.
        value: Number,
    },
    /// A number above the schema's `maximum`.
    Maximum {
        /// The schema's inclusive maximum.
        maximum: i64,
        /// The value sent.
        value: Number,
    },
    /// A value outside a closed `enum`.
    NotInEnum {
        /// The value sent.
        value: String,
        /// The values the schema allows.
        allowed: &'static [&'static str],
    },
    /// A declared property kept in `extra` because it is `null` where the schema allows no
    /// `null`, or has the wrong type.
    IllTyped {
        /// The value sent.
        value: Value,
    },
    /// A message with a known `command`/`event` kept as `Custom`, because its payload (or
    /// another member) does not take its typed form.
    Untyped {
        /// The command or event name.
        name: String,
    },
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(root)"
        } else {
            &self.path
        };
        write!(f, "{path}: ")?;
        match &self.rule {
            Rule::Minimum { minimum, value } => write!(f, "{value} is below the minimum {minimum}"),
            Rule::Maximum { maximum, value } => write!(f, "{value} is above the maximum {maximum}"),
            Rule::NotInEnum { value, allowed } => {
                write!(f, "`{value}` is not one of ")?;
                for (i, a) in allowed.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}`{a}`")?;
                }
                Ok(())
            }
            Rule::IllTyped { value: Value::Null } => {
                f.write_str("null where the schema allows no null")
            }
            Rule::IllTyped { value } => write!(f, "{value} does not have the schema's type"),
            Rule::Untyped { name } => write!(
                f,
                "known message `{name}` does not take its typed form (kept as JSON)"
            ),
        }
    }
}

/// The violations list of [`Validate::validate_into`] (a short name for generated impls).
#[doc(hidden)]
pub type Violations = Vec<Violation>;

/// Lists the schema rules a decoded value breaks (see the [module docs](self)).
///
/// Paths are built only for what breaks a rule: walking a value that follows the schema
/// costs no string work. A violation is created with the path it was given (the path of
/// the value it was found in, as the caller passed it); on the way back up, `member` and
/// the impls for `Vec` and `BTreeMap` insert each member's key (or index) into the paths of
/// the violations found below it, right after the caller's `path`. So an impl that calls
/// the helpers of this module never needs to push onto `path` itself (one that does is
/// still correct: what it pushes stays in its violations' paths).
pub trait Validate {
    /// Appends the violations of `self`, which sits at JSON pointer `path`, to `out`.
    /// `path` is left as it was given.
    fn validate_into(&self, path: &mut String, out: &mut Vec<Violation>);

    /// The violations of `self`, with paths from `self`; empty when it follows the schema.
    /// (Not in `dyn Validate`'s vtable, which would compile it once per type: call
    /// `validate_into` on a `dyn Validate`.)
    fn validate(&self) -> Vec<Violation>
    where
        Self: Sized,
    {
        let mut path = String::new();
        let mut out = Vec::new();
        self.validate_into(&mut path, &mut out);
        out
    }
}

macro_rules! no_rules {
    ($($t:ty),*) => {$(
        impl Validate for $t {
            #[inline]
            fn validate_into(&self, _: &mut String, _: &mut Vec<Violation>) {}
        }
    )*};
}

no_rules!(
    (),
    bool,
    i32,
    u32,
    i64,
    u64,
    f64,
    String,
    Value,
    Map<String, Value>,
    crate::RawMessage
);

impl<T: Validate> Validate for Option<T> {
    fn validate_into(&self, path: &mut String, out: &mut Vec<Violation>) {
        if let Some(v) = self {
            v.validate_into(path, out);
        }
    }
}

impl<T: Validate> Validate for Box<T> {
    fn validate_into(&self, path: &mut String, out: &mut Vec<Violation>) {
        (**self).validate_into(path, out);
    }
}

impl<T: Validate> Validate for Vec<T> {
    fn validate_into(&self, path: &mut String, out: &mut Vec<Violation>) {
        for (i, v) in self.iter().enumerate() {
            let found = out.len();
            v.validate_into(path, out);
            if out.len() > found {
                insert_index(path.len(), i, &mut out[found..]);
            }
        }
    }
}

impl<T: Validate> Validate for BTreeMap<String, T> {
    fn validate_into(&self, path: &mut String, out: &mut Vec<Violation>) {
        for (k, v) in self {
            member(v, k, path, out);
        }
    }
}

/// Appends `/key` to `path`, escaped as JSON pointers require.
fn push_key(path: &mut String, key: &str) {
    path.push('/');
    if !key.contains(['~', '/']) {
        path.push_str(key);
        return;
    }
    for c in key.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

/// Inserts `/key` at byte `at` of the path of each violation in `found` (found below the
/// member `key` of the value whose path is `at` bytes long).
#[cold]
fn insert_key(at: usize, key: &str, found: &mut [Violation]) {
    let mut segment = String::with_capacity(key.len() + 1);
    push_key(&mut segment, key);
    for v in found {
        v.path.insert_str(at, &segment);
    }
}

/// Like [`insert_key`] for the array index `index`.
#[cold]
fn insert_index(at: usize, index: usize, found: &mut [Violation]) {
    let mut segment = String::from("/");
    segment.push_str(itoa::Buffer::new().format(index));
    for v in found {
        v.path.insert_str(at, &segment);
    }
}

/// Where a generated `Validate` impl reports: the path of the value it checks and the
/// violations found so far. Its methods are the helpers below with both in hand.
#[doc(hidden)]
pub struct Ctx<'a> {
    /// The JSON pointer of the value being validated.
    pub path: &'a mut String,
    /// The violations found so far.
    pub out: &'a mut Vec<Violation>,
}

impl Ctx<'_> {
    /// [`member`]: validates the member `key`. Takes a `dyn Validate`: one copy of
    /// [`member`] for the crate instead of one per member type (compile time), the member's
    /// own `validate_into` called through its vtable.
    #[inline]
    pub fn member(&mut self, value: &dyn Validate, key: &str) {
        member(value, key, self.path, self.out);
    }

    /// [`bounded`]: checks the member `key` against inclusive bounds.
    #[inline]
    pub fn bounded<T: Bounded + ?Sized>(
        &mut self,
        value: &T,
        key: &str,
        min: Option<i64>,
        max: Option<i64>,
    ) {
        bounded(value, key, min, max, self.path, self.out);
    }

    /// [`kept_in_extra`] for the `extra` entries named like one of `declared` that no typed
    /// member shadows (`written`: see [`crate::private::shadowed`]).
    pub fn extras(&mut self, extra: &Map<String, Value>, declared: &[&str], written: u64) {
        if !extra.is_empty() {
            let kept =
                |k: &str| declared.contains(&k) && !crate::private::shadowed(declared, written, k);
            kept_in_extra(extra, &kept, self.path, self.out);
        }
    }
}

/// Validates `value`, the member `key` of the object at `path`.
#[doc(hidden)]
#[inline]
pub fn member<T: Validate + ?Sized>(
    value: &T,
    key: &str,
    path: &mut String,
    out: &mut Vec<Violation>,
) {
    let found = out.len();
    value.validate_into(path, out);
    if out.len() > found {
        insert_key(path.len(), key, &mut out[found..]);
    }
}

/// A value a `minimum`/`maximum` applies to: numbers, and containers of them.
#[doc(hidden)]
pub trait Bounded {
    /// Checks `self` (at `path`) against the inclusive bounds.
    fn bounds(
        &self,
        min: Option<i64>,
        max: Option<i64>,
        path: &mut String,
        out: &mut Vec<Violation>,
    );
}

fn check(
    below: bool,
    above: bool,
    value: impl FnOnce() -> Number,
    min: Option<i64>,
    max: Option<i64>,
    path: &str,
    out: &mut Vec<Violation>,
) {
    let rule = match (min, max) {
        (Some(minimum), _) if below => Rule::Minimum {
            minimum,
            value: value(),
        },
        (_, Some(maximum)) if above => Rule::Maximum {
            maximum,
            value: value(),
        },
        _ => return,
    };
    out.push(Violation {
        path: path.to_owned(),
        rule,
    });
}

macro_rules! bounded_int {
    ($($t:ty),*) => {$(
        impl Bounded for $t {
            fn bounds(&self, min: Option<i64>, max: Option<i64>, path: &mut String, out: &mut Vec<Violation>) {
                let v = i128::from(*self);
                let below = min.is_some_and(|m| v < i128::from(m));
                let above = max.is_some_and(|m| v > i128::from(m));
                check(below, above, || Number::from(*self), min, max, path, out);
            }
        }
    )*};
}

bounded_int!(i32, u32, i64, u64);

impl Bounded for f64 {
    #[allow(clippy::cast_precision_loss)]
    fn bounds(
        &self,
        min: Option<i64>,
        max: Option<i64>,
        path: &mut String,
        out: &mut Vec<Violation>,
    ) {
        let v = *self;
        let below = min.is_some_and(|m| v < m as f64);
        let above = max.is_some_and(|m| v > m as f64);
        let number = || Number::from_f64(v).unwrap_or_else(|| Number::from(0));
        check(below, above, number, min, max, path, out);
    }
}

impl<T: Bounded> Bounded for Option<T> {
    fn bounds(
        &self,
        min: Option<i64>,
        max: Option<i64>,
        path: &mut String,
        out: &mut Vec<Violation>,
    ) {
        if let Some(v) = self {
            v.bounds(min, max, path, out);
        }
    }
}

impl<T: Bounded> Bounded for Vec<T> {
    fn bounds(
        &self,
        min: Option<i64>,
        max: Option<i64>,
        path: &mut String,
        out: &mut Vec<Violation>,
    ) {
        for (i, v) in self.iter().enumerate() {
            let found = out.len();
            v.bounds(min, max, path, out);
            if out.len() > found {
                insert_index(path.len(), i, &mut out[found..]);
            }
        }
    }
}

/// Checks `value`, the member `key` of the object at `path`, against inclusive bounds.
#[doc(hidden)]
#[inline]
pub fn bounded<T: Bounded + ?Sized>(
    value: &T,
    key: &str,
    min: Option<i64>,
    max: Option<i64>,
    path: &mut String,
    out: &mut Vec<Violation>,
) {
    let found = out.len();
    value.bounds(min, max, path, out);
    if out.len() > found {
        insert_key(path.len(), key, &mut out[found..]);
    }
}

/// Reports the `extra` entries named `key` for which `kept(key)` holds: declared properties
/// kept as JSON (and written back) because they did not take their typed form.
#[doc(hidden)]
pub fn kept_in_extra(
    extra: &Map<String, Value>,
    kept: &dyn Fn(&str) -> bool,
    path: &mut String,
    out: &mut Vec<Violation>,
) {
    for (k, v) in extra {
        if kept(k) {
            let len = path.len();
            push_key(path, k);
            out.push(Violation {
                path: path.clone(),
                rule: Rule::IllTyped { value: v.clone() },
            });
            path.truncate(len);
        }
    }
}

/// A value outside a closed enum, at `path`.
#[doc(hidden)]
pub fn not_in_enum(
    value: &str,
    allowed: &'static [&'static str],
    path: &str,
    out: &mut Vec<Violation>,
) {
    out.push(Violation {
        path: path.to_owned(),
        rule: Rule::NotInEnum {
            value: value.to_owned(),
            allowed,
        },
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped like a generated impl: members through the helpers, nothing pushed by hand.
    struct Frame {
        line: i64,
        lines: Vec<i64>,
    }

    impl Validate for Frame {
        fn validate_into(&self, path: &mut String, out: &mut Vec<Violation>) {
            bounded(&self.line, "line", Some(1), None, path, out);
            bounded(&self.lines, "li/ne~s", Some(1), Some(9), path, out);
        }
    }

    struct Body {
        frames: Vec<Frame>,
        named: BTreeMap<String, Frame>,
        extra: Map<String, Value>,
    }

    impl Validate for Body {
        fn validate_into(&self, path: &mut String, out: &mut Vec<Violation>) {
            member(&self.frames, "frames", path, out);
            member(&self.named, "named", path, out);
            kept_in_extra(&self.extra, &|k| k == "a/b", path, out);
        }
    }

    #[test]
    fn paths_are_built_for_violations_only_and_come_out_whole() {
        let frame = |line, lines| Frame { line, lines };
        let mut extra = Map::new();
        extra.insert("a/b".to_owned(), Value::Null);
        extra.insert("other".to_owned(), Value::Null);
        let body = Body {
            frames: vec![frame(1, vec![1, 2]), frame(0, vec![3, 10, 0])],
            named: BTreeMap::from([("x/y".to_owned(), frame(-1, vec![]))]),
            extra,
        };
        // From a starting path, as a caller validating a part of a larger value passes it.
        let mut path = String::from("/records/7");
        let mut out = Vec::new();
        body.validate_into(&mut path, &mut out);
        assert_eq!(path, "/records/7", "the path is left as it was given");
        let paths: Vec<&str> = out.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/records/7/frames/1/line",
                "/records/7/frames/1/li~1ne~0s/1",
                "/records/7/frames/1/li~1ne~0s/2",
                "/records/7/named/x~1y/line",
                "/records/7/a~1b",
            ]
        );
        assert!(matches!(out[1].rule, Rule::Maximum { maximum: 9, .. }));
        assert!(matches!(out[2].rule, Rule::Minimum { minimum: 1, .. }));
        // From the root.
        let v = body.validate();
        assert_eq!(v[0].path, "/frames/1/line");
        assert_eq!(v.len(), 5);
        // A value that follows the rules: nothing, and no path.
        let ok = Body {
            frames: vec![frame(1, vec![1])],
            named: BTreeMap::new(),
            extra: Map::new(),
        };
        assert!(ok.validate().is_empty());
    }

    /// An impl written by hand that pushes onto `path` itself still gets whole paths.
    #[test]
    fn an_impl_that_pushes_its_own_segment_keeps_it() {
        struct Wrapper(Frame);
        impl Validate for Wrapper {
            fn validate_into(&self, path: &mut String, out: &mut Vec<Violation>) {
                let len = path.len();
                path.push_str("/inner");
                member(&self.0, "frame", path, out);
                path.truncate(len);
            }
        }
        let v = Wrapper(Frame {
            line: 0,
            lines: vec![],
        })
        .validate();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].path, "/inner/frame/line");
    }
}
