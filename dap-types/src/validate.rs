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

/// Lists the schema rules a decoded value breaks (see the [module docs](self)).
pub trait Validate {
    /// Appends the violations of `self`, which sits at JSON pointer `path`, to `out`.
    /// `path` is left as it was given.
    fn validate_into(&self, path: &mut String, out: &mut Vec<Violation>);

    /// The violations of `self`, with paths from `self`; empty when it follows the schema.
    fn validate(&self) -> Vec<Violation> {
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
            let len = path.len();
            path.push('/');
            path.push_str(itoa::Buffer::new().format(i));
            v.validate_into(path, out);
            path.truncate(len);
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
    for c in key.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

/// Validates `value`, the member `key` of the object at `path`.
#[doc(hidden)]
pub fn member<T: Validate + ?Sized>(
    value: &T,
    key: &str,
    path: &mut String,
    out: &mut Vec<Violation>,
) {
    let len = path.len();
    push_key(path, key);
    value.validate_into(path, out);
    path.truncate(len);
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
            let len = path.len();
            path.push('/');
            path.push_str(itoa::Buffer::new().format(i));
            v.bounds(min, max, path, out);
            path.truncate(len);
        }
    }
}

/// Checks `value`, the member `key` of the object at `path`, against inclusive bounds.
#[doc(hidden)]
pub fn bounded<T: Bounded + ?Sized>(
    value: &T,
    key: &str,
    min: Option<i64>,
    max: Option<i64>,
    path: &mut String,
    out: &mut Vec<Violation>,
) {
    let len = path.len();
    push_key(path, key);
    value.bounds(min, max, path, out);
    path.truncate(len);
}

/// Reports the `extra` entries named `key` for which `kept(key)` holds: declared properties
/// kept as JSON (and written back) because they did not take their typed form.
#[doc(hidden)]
pub fn kept_in_extra(
    extra: &Map<String, Value>,
    kept: impl Fn(&str) -> bool,
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
