//! Structs, string enums and unions: definitions, docs, builders and (de)serializers.

use super::{Shape, cfg_attr, doc_attrs, ident, shape, storage, ty_tokens};
use crate::model::{EnumDef, Field, Item, StructDef, TagValue, Ty, UnionDef};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// Tokens for one item.
pub fn item(item: &Item) -> TokenStream {
    match item {
        Item::Struct(s) => struct_def(s),
        Item::Enum(e) => {
            let mut t = enum_def(e);
            t.extend(super::read::enum_read(e));
            t.extend(super::schema::enum_schema(e));
            t.extend(super::validate::enum_validate(e));
            t
        }
        Item::Union(u) => {
            let mut t = union_def(u);
            t.extend(super::read::union_read(u));
            t.extend(super::schema::union_schema(u));
            t.extend(super::validate::union_validate(u));
            t
        }
    }
}

fn field_doc(f: &Field) -> TokenStream {
    let fallback = format!("The `{}` property.", f.json);
    let mut doc = doc_attrs(f.doc.as_deref(), &fallback);
    if f.doc.is_some() && crate::naming::snake(&f.json) != f.json {
        let line = format!(" JSON: `{}`.", f.json);
        doc.extend(quote! { #[doc = ""] #[doc = #line] });
    }
    doc
}

/// A struct with its builder methods, its one decoder and encoder, and the serde glue.
pub fn struct_def(s: &StructDef) -> TokenStream {
    let name = ident(&s.name);
    let cfg = cfg_attr(s.feature.as_deref());
    let fallback = format!("The `{}` object of the Debug Adapter Protocol.", s.name);
    let doc = doc_attrs(s.doc.as_deref(), &fallback);
    let field_defs = s.fields.iter().map(|f| {
        let d = field_doc(f);
        let n = ident(&f.rust);
        let t = storage(f);
        quote! { #d pub #n: #t, }
    });

    // Constructor: required fields as parameters.
    let required: Vec<&Field> = s
        .fields
        .iter()
        .filter(|f| {
            matches!(
                shape(f),
                Shape::Required | Shape::RequiredNullable | Shape::RequiredAny
            )
        })
        .collect();
    let params = required.iter().map(|f| {
        let n = ident(&f.rust);
        if f.ty == Ty::String {
            quote! { #n: impl Into<String> }
        } else {
            let t = storage(f);
            quote! { #n: #t }
        }
    });
    let inits = required.iter().map(|f| {
        let n = ident(&f.rust);
        if f.ty == Ty::String {
            quote! { #n: #n.into(), }
        } else {
            quote! { #n, }
        }
    });
    let setters = s.fields.iter().filter_map(setter);
    let new_doc = if required.is_empty() {
        format!(" `{}` with every optional property absent.", s.name)
    } else {
        format!(
            " `{}` from its required properties; optional ones are absent.",
            s.name
        )
    };
    let many_args = if required.len() > 7 {
        quote! { #[allow(clippy::too_many_arguments)] }
    } else {
        quote! {}
    };

    let declared: Vec<String> = s
        .tags
        .iter()
        .map(|t| t.json.clone())
        .chain(s.fields.iter().map(|f| f.json.clone()))
        .collect();
    let number_note = if s.fields.iter().any(|f| f.ty == Ty::F64) {
        quote! {
            #[doc = ""]
            #[doc = " A `number` property sent in a spelling its `f64` does not give back (`50.0`,"]
            #[doc = " `-0`, an integer beyond 2^53) is kept here too, and written as sent while the"]
            #[doc = " property keeps that value."]
        }
    } else {
        quote! {}
    };
    let ser = serialize_struct(s);
    let read = super::read::struct_read(s);
    let schema = super::schema::struct_schema(s);
    let validate = super::validate::struct_validate(s);
    quote! {
        #doc
        #cfg
        #[derive(Clone, Debug, Default, PartialEq)]
        #[non_exhaustive]
        pub struct #name {
            #( #field_defs )*
            /// Properties the schema does not declare (and declared ones sent as `null` where
            /// the schema allows no `null`), kept so that encoding writes them back.
            #number_note
            pub extra: serde_json::Map<String, serde_json::Value>,
        }

        #cfg
        impl #name {
            /// The JSON properties the schema declares for this object, constants included.
            #[doc(hidden)]
            pub const DECLARED: &'static [&'static str] = &[#( #declared ),*];

            #[doc = #new_doc]
            #many_args
            #[inline]
            pub fn new(#( #params ),*) -> Self {
                Self { #( #inits )* ..Default::default() }
            }

            #( #setters )*
        }

        #ser
        #read
        #schema
        #validate
    }
}

fn setter(f: &Field) -> Option<TokenStream> {
    let n = ident(&f.rust);
    let method = format_ident!("with_{}", f.rust.trim_end_matches('_'));
    let doc = format!(" Sets `{}`.", f.json);
    let t = ty_tokens(&f.ty);
    // Optional strings take anything `Into<String>`; other optional members their own type.
    let (param, value) = match shape(f) {
        Shape::Optional if f.ty == Ty::String => {
            (quote! { impl Into<String> }, quote! { value.into() })
        }
        Shape::Optional | Shape::OptionalAny | Shape::OptionalNullable => (t, quote! { value }),
        _ => return None,
    };
    Some(quote! {
        #[doc = #doc]
        #[inline]
        #[must_use]
        pub fn #method(mut self, value: #param) -> Self {
            self.#n = Some(#value);
            self
        }
    })
}

/// The one encoder of a struct: its `Members` impl (tags, fields, then the `extra` members
/// not shadowed by a written field), and the glue (`impl_object!`) that gives it serde's
/// `Serialize`, `WriteJson` and a `Deserialize` through its direct decoder.
fn serialize_struct(s: &StructDef) -> TokenStream {
    let name = ident(&s.name);
    let cfg = cfg_attr(s.feature.as_deref());
    let tags = s.tags.iter().map(|t| {
        let (m, k) = (member_method(&t.json), member_key(&t.json));
        match &t.value {
            TagValue::Str(v) => quote! { s.#m(#k, #v)?; },
            TagValue::Bool(v) => quote! { s.#m(#k, &#v)?; },
        }
    });
    let fields = s.fields.iter().map(|f| {
        let (m, k, name) = (member_method(&f.json), member_key(&f.json), &f.json);
        let n = ident(&f.rust);
        let is_f64 = f.ty == Ty::F64;
        match shape(f) {
            Shape::Required | Shape::RequiredAny | Shape::RequiredNullable => {
                if is_f64 {
                    quote! { s.#m(#k, &crate::private::Spelled(self.#n, self.extra.get(#name)))?; }
                } else {
                    quote! { s.#m(#k, &self.#n)?; }
                }
            }
            Shape::Optional | Shape::OptionalAny | Shape::OptionalNullable => {
                if is_f64 {
                    quote! { if let Some(v) = self.#n { s.#m(#k, &crate::private::Spelled(v, self.extra.get(#name)))?; } }
                } else {
                    if m == "member" {
                    quote! { s.optional(#k, &self.#n)?; }
                } else {
                    quote! { if let Some(v) = &self.#n { s.#m(#k, v)?; } }
                }
                }
            }
        }
    });
    // An `extra` entry is skipped where a typed member of the same name is written: bit `i`
    // of `written_declared` stands for `DECLARED[i]` (constants, then fields).
    let mut always = 0u64;
    let mut conditional = Vec::new();
    for i in 0..s.tags.len() {
        always |= 1 << i;
    }
    for (j, f) in s.fields.iter().enumerate() {
        let i = s.tags.len() + j;
        match shape(f) {
            Shape::Required | Shape::RequiredAny | Shape::RequiredNullable => always |= 1 << i,
            _ => {
                let k = &f.json;
                let n = ident(&f.rust);
                let shift = i as u32;
                let present = if f.ty == Ty::F64 {
                    // A number kept for its spelling is written by the field, never alone.
                    quote! { self.#n.is_some() || self.extra.get(#k).is_some_and(serde_json::Value::is_number) }
                } else {
                    quote! { self.#n.is_some() }
                };
                conditional.push(if shift == 0 {
                    quote! { u64::from(#present) }
                } else {
                    quote! { (u64::from(#present) << #shift) }
                });
            }
        }
    }
    let written_body = match (always, conditional.split_first()) {
        (_, None) => quote! { #always },
        (0, Some((first, rest))) => quote! { #first #( | #rest )* },
        (_, Some(_)) => quote! { #always #( | #conditional )* },
    };
    quote! {
        #cfg
        impl #name {
            /// Which of `DECLARED` are written as typed members: bit `i` for `DECLARED[i]`
            /// (an `extra` entry of that name is then shadowed).
            fn written_declared(&self) -> u64 {
                #written_body
            }
        }

        #cfg
        impl crate::private::Members for #name {
            fn members<S: crate::private::Sink>(&self, s: &mut S) -> Result<(), S::Error> {
                #( #tags )*
                #( #fields )*
                if self.extra.is_empty() {
                    Ok(())
                } else {
                    s.extras(&self.extra, Self::DECLARED, self.written_declared())
                }
            }
        }

        #cfg
        crate::private::impl_object!(#name);
    }
}

/// The `Sink` method for a member named `key`: `member`, or `member_escaped` for a key JSON
/// must escape.
fn member_method(key: &str) -> proc_macro2::Ident {
    if json_str(key) == format!("\"{key}\"") {
        ident("member")
    } else {
        ident("member_escaped")
    }
}

/// The key argument of a member's `Sink` call: for `member` (a key JSON need not escape) the
/// whole `,"key":` text the JSON encoder writes, precomputed; for `member_escaped` the name.
fn member_key(key: &str) -> String {
    if member_method(key) == "member" {
        format!(",\"{key}\":")
    } else {
        key.to_owned()
    }
}

/// A JSON string literal for a name.
fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// How a struct's decoder (its `ReadJson` impl) reads a declared member.
pub(super) enum MemberRead {
    /// A `number` (`f64`): the value, and its wire spelling in `extra` where it differs.
    Number {
        /// Optional (`null` kept in `extra`) rather than required.
        optional: bool,
    },
    /// Optional: a value, or `null` kept in `extra`.
    Optional,
    /// Any JSON value (`null` included).
    Any,
    /// A value of the slot's type (required, or nullable).
    Value,
}

/// How `f` is read.
pub(super) fn member_read(f: &Field) -> MemberRead {
    match shape(f) {
        Shape::Optional | Shape::Required if f.ty == Ty::F64 => MemberRead::Number {
            optional: shape(f) == Shape::Optional,
        },
        Shape::Optional => MemberRead::Optional,
        Shape::OptionalAny | Shape::RequiredAny => MemberRead::Any,
        Shape::Required | Shape::RequiredNullable | Shape::OptionalNullable => MemberRead::Value,
    }
}

/// A string enum: known values as variants, any other value kept in `Other`.
pub fn enum_def(e: &EnumDef) -> TokenStream {
    let name = ident(&e.name);
    let cfg = cfg_attr(e.feature.as_deref());
    let fallback = format!("Values of `{}`.", e.name);
    let mut doc = doc_attrs(e.doc.as_deref(), &fallback);
    let note = if e.open {
        " The schema lists these values as an open set (`_enum`): other values are expected and kept in `Other`."
    } else {
        " The schema lists these values as a closed set (`enum`); a value outside it is still kept, in `Other`, and reported by validation."
    };
    doc.extend(quote! { #[doc = ""] #[doc = #note] });
    let variants = e.variants.iter().map(|(wire, rust, d)| {
        let v = ident(rust);
        let fallback = format!("`{wire}`");
        let d = match d {
            Some(text) => doc_attrs(Some(&format!("{text}\n\nWire value: `{wire}`.")), &fallback),
            None => doc_attrs(None, &fallback),
        };
        quote! { #d #v, }
    });
    let to_wire = e.variants.iter().map(|(wire, rust, _)| {
        let v = ident(rust);
        quote! { #name::#v => #wire, }
    });
    let from_wire = e.variants.iter().map(|(wire, rust, _)| {
        let v = ident(rust);
        quote! { #wire => #name::#v, }
    });
    let first = ident(&e.variants[0].1);
    let closed = !e.open;
    let known = e.variants.iter().map(|(wire, _, _)| wire);
    quote! {
        #doc
        #cfg
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum #name {
            #( #variants )*
            /// A value the schema does not list, kept as sent.
            Other(String),
        }

        #cfg
        impl #name {
            /// The values the schema lists.
            pub const VALUES: &'static [&'static str] = &[#( #known ),*];
            /// Whether the schema lists only these values (`enum`) rather than an open set (`_enum`).
            pub const CLOSED: bool = #closed;

            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    #( #to_wire )*
                    #name::Other(s) => s,
                }
            }

            /// The variant for a wire value.
            pub fn from_wire(value: &str) -> Self {
                match value {
                    #( #from_wire )*
                    other => #name::Other(other.to_owned()),
                }
            }
        }

        #cfg
        impl Default for #name {
            /// The first value the schema lists.
            fn default() -> Self {
                #name::#first
            }
        }

        #cfg
        impl std::fmt::Display for #name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        #cfg
        impl From<&str> for #name {
            fn from(value: &str) -> Self {
                Self::from_wire(value)
            }
        }

        #cfg
        impl serde::Serialize for #name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        #cfg
        impl crate::private::WriteJson for #name {
            fn write_json(&self, out: &mut Vec<u8>) {
                crate::private::write_str(out, self.as_str());
            }
        }

        #cfg
        impl<'de> serde::Deserialize<'de> for #name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let key = <crate::private::Key<'de> as serde::Deserialize>::deserialize(deserializer)?;
                Ok(Self::from_wire(key.as_str()))
            }
        }
    }
}

/// Whether a union form is a JSON scalar (such unions decide by the token).
pub(super) fn is_scalar(ty: &Ty) -> bool {
    matches!(
        ty,
        Ty::I32 | Ty::U32 | Ty::I64 | Ty::U64 | Ty::String | Ty::Bool | Ty::F64
    )
}

/// An untagged union. Scalar unions decide by the JSON token; others take the first
/// alternative that accepts the value (the schema's alternatives may be indistinguishable).
pub fn union_def(u: &UnionDef) -> TokenStream {
    let name = ident(&u.name);
    let cfg = cfg_attr(u.feature.as_deref());
    let fallback = format!("One of several forms of `{}`.", u.name);
    let mut doc = doc_attrs(u.doc.as_deref(), &fallback);
    if !u.variants.iter().all(|(_, t)| is_scalar(t)) {
        let first = &u.variants[0].0;
        let note = format!(
            " Decoding cannot tell these forms apart from the JSON alone (their schemas accept the same objects), so it always yields `{first}`, with every property kept; build the other forms yourself when you know which one a peer meant."
        );
        doc.extend(quote! { #[doc = ""] #[doc = #note] });
    }
    let variants = u.variants.iter().map(|(v, t)| {
        let vi = ident(v);
        let tt = ty_tokens(t);
        let d = format!(" The `{v}` form.");
        quote! { #[doc = #d] #vi(#tt), }
    });
    let ser_arms = u.variants.iter().map(|(v, _)| {
        let vi = ident(v);
        quote! { #name::#vi(x) => serde::Serialize::serialize(x, serializer), }
    });
    let write_arms = u.variants.iter().map(|(v, _)| {
        let vi = ident(v);
        quote! { #name::#vi(x) => crate::private::WriteJson::write_json(x, out), }
    });
    let first_vi = ident(&u.variants[0].0);
    quote! {
        #doc
        #cfg
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum #name {
            #( #variants )*
        }

        #cfg
        impl Default for #name {
            /// The first form, with its default value.
            fn default() -> Self {
                #name::#first_vi(Default::default())
            }
        }

        #cfg
        impl serde::Serialize for #name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    #( #ser_arms )*
                }
            }
        }

        #cfg
        impl crate::private::WriteJson for #name {
            fn write_json(&self, out: &mut Vec<u8>) {
                match self {
                    #( #write_arms )*
                }
            }
        }

        #cfg
        crate::private::impl_deserialize!(#name);
    }
}
