//! Spelling the model as Rust: token streams for types and messages, pretty-printed.
//!
//! - [`types`]: structs, string enums and unions with their (de)serializers and builders.
//! - [`messages`]: message structs, the `ProtocolMessage`/`Request`/`Response`/`Event` enums,
//!   dispatch by `command`/`event`, and the `Request`/`Response`/`Event` trait impls.
//! - [`read`]: direct decoders (`ReadJson` impls and `read_named`), the fast decode path.
//! - [`schema`]: `schemars::JsonSchema` impls (feature `schemars`).
//! - [`validate`]: `Validate` impls reporting bounds and closed-enum violations.

pub mod messages;
pub mod read;
pub mod schema;
pub mod types;
pub mod validate;

use crate::docs::doc_lines;
use crate::model::{Field, Ty};
use proc_macro2::{Ident, Span, TokenStream};
use quote::quote;

/// An identifier token.
pub fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// `#[doc = ...]` attributes for a description, or `fallback` when there is none.
pub fn doc_attrs(doc: Option<&str>, fallback: &str) -> TokenStream {
    let lines = match doc {
        Some(d) if !d.trim().is_empty() => doc_lines(d),
        _ => vec![fallback.to_owned()],
    };
    let lines = lines.into_iter().map(|l| format!(" {l}"));
    quote! { #( #[doc = #lines] )* }
}

/// `#[cfg(feature = "...")]` when gated.
pub fn cfg_attr(feature: Option<&str>) -> TokenStream {
    match feature {
        Some(f) => quote! { #[cfg(feature = #f)] },
        None => quote! {},
    }
}

/// The Rust type of `ty`.
pub fn ty_tokens(ty: &Ty) -> TokenStream {
    match ty {
        Ty::Bool => quote! { bool },
        Ty::I32 => quote! { i32 },
        Ty::U32 => quote! { u32 },
        Ty::I64 => quote! { i64 },
        Ty::U64 => quote! { u64 },
        Ty::F64 => quote! { f64 },
        Ty::String => quote! { String },
        Ty::Value => quote! { serde_json::Value },
        Ty::Object => quote! { serde_json::Map<String, serde_json::Value> },
        Ty::Named(n) => {
            let n = ident(n);
            quote! { #n }
        }
        Ty::Vec(inner) => {
            let inner = ty_tokens(inner);
            quote! { Vec<#inner> }
        }
        Ty::Map(inner) => {
            let inner = ty_tokens(inner);
            quote! { std::collections::BTreeMap<String, #inner> }
        }
        Ty::Nullable(inner) => {
            let inner = ty_tokens(inner);
            quote! { Option<#inner> }
        }
    }
}

/// How a field is stored and coded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// Required, not nullable: `T`.
    Required,
    /// Required, `null` allowed: `Option<T>`, always written.
    RequiredNullable,
    /// Required any-JSON: `Value`.
    RequiredAny,
    /// Optional any-JSON: `Option<Value>`; `null` is kept as `Some(Value::Null)`.
    OptionalAny,
    /// Optional, `null` allowed: `Option<Option<T>>`.
    OptionalNullable,
    /// Optional: `Option<T>`; a `null` is kept in `extra`.
    Optional,
}

/// The shape of a field.
pub fn shape(f: &Field) -> Shape {
    match (f.required, &f.ty) {
        (true, Ty::Value) => Shape::RequiredAny,
        (true, Ty::Nullable(_)) => Shape::RequiredNullable,
        (true, _) => Shape::Required,
        (false, Ty::Value) => Shape::OptionalAny,
        (false, Ty::Nullable(_)) => Shape::OptionalNullable,
        (false, _) => Shape::Optional,
    }
}

/// The stored Rust type of a field.
pub fn storage(f: &Field) -> TokenStream {
    let t = ty_tokens(&f.ty);
    match shape(f) {
        Shape::Required | Shape::RequiredNullable | Shape::RequiredAny => t,
        Shape::OptionalAny | Shape::Optional | Shape::OptionalNullable => quote! { Option<#t> },
    }
}
