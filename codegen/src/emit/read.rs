//! Direct decoders: `ReadJson` impls that read a type straight from dap-types' JSON
//! `Reader` (the fast path of `ProtocolMessage::from_slice`), and `read_named` on the
//! dispatch enums.
//!
//! These are the only decoders of the generated types: their serde `Deserialize` impls
//! (`private::impl_deserialize!`) capture the value's JSON text and run them. Where a value
//! does not fit, a decoder gives up (`Fail`; the reader keeps where, and which required member
//! was missing, for the error).

use super::types::{MemberRead, member_read};
use super::{Shape, cfg_attr, ident, shape, ty_tokens};
use crate::model::{EnumDef, Message, StructDef, TagValue, Ty, UnionDef};
use proc_macro2::TokenStream;
use quote::quote;

/// `impl ReadJson` for a struct (message structs included).
///
/// The decoder is the struct's `read_into` (its `FRESH` is `Self::default`, so the runtime
/// reads it where it ends up, not on the stack to be moved): it fills a fresh value in
/// place, each member arm writing its field through a
/// shared `Reader` helper (one copy per member type, not per member), and the constant and
/// required members set a bit of `seen`, checked once at the end by one shared function that
/// names the first one missing (constants first, then required members in field order). The
/// key stays in the decoder (the helpers that keep a member in `extra` read it again from
/// the reader), and the arms' results meet in one `?`. So a decoder has no local per member,
/// no assembly of the struct at the end, and one drop path.
pub fn struct_read(s: &StructDef) -> TokenStream {
    let name = ident(&s.name);
    let cfg = cfg_attr(s.feature.as_deref());
    // The members `seen` tracks, in bit order: constants, then required fields.
    let mut tracked: Vec<&str> = s.tags.iter().map(|t| t.json.as_str()).collect();
    let mut bit = |k| {
        let b = 1u64 << tracked.len();
        tracked.push(k);
        b
    };
    let tag_arms: Vec<TokenStream> = s
        .tags
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let k = &t.json;
            let b = 1u64 << i;
            match &t.value {
                TagValue::Str(val) => quote! { #k => { seen |= #b; r.tag_str(#val) } },
                TagValue::Bool(val) => quote! { #k => { seen |= #b; r.tag_bool(#val) } },
            }
        })
        .collect();
    let field_arms: Vec<TokenStream> = s
        .fields
        .iter()
        .map(|f| {
            let k = &f.json;
            let n = ident(&f.rust);
            let required = matches!(
                shape(f),
                Shape::Required | Shape::RequiredAny | Shape::RequiredNullable
            );
            let read = match member_read(f) {
                MemberRead::Number { optional: true } => {
                    quote! { r.number(&mut v.#n, &mut v.extra, true) }
                }
                MemberRead::Number { optional: false } => {
                    quote! { r.number_required(&mut v.#n, &mut v.extra) }
                }
                MemberRead::Optional => quote! { r.optional(&mut v.#n, &mut v.extra) },
                // A required member of a generated type, read where it is (see
                // `Reader::field_in_place`; `again`: its key came before).
                MemberRead::Value
                    if shape(f) == Shape::Required && matches!(f.ty, Ty::Named(_)) =>
                {
                    let b = bit(f.json.as_str());
                    return quote! {
                        #k => {
                            let again = seen & #b != 0;
                            seen |= #b;
                            r.field_in_place(&mut v.#n, again)
                        }
                    };
                }
                // A value of the field's own type (required), or one kept as `Some` (an
                // optional nullable or any-JSON member: `null` is `Some(null)`).
                MemberRead::Any | MemberRead::Value if required => quote! { r.field(&mut v.#n) },
                MemberRead::Any | MemberRead::Value => quote! { r.present(&mut v.#n) },
            };
            if required {
                // Marked before the read: a failed read fails the whole decode.
                let b = bit(f.json.as_str());
                quote! { #k => { seen |= #b; #read } }
            } else {
                quote! { #k => #read, }
            }
        })
        .collect();
    let body = if s.tags.is_empty() && s.fields.is_empty() {
        quote! {
            while r.next_key(&mut first)?.is_some() {
                r.extra(&mut v.extra)?;
            }
        }
    } else {
        quote! {
            while let Some(key) = r.next_key(&mut first)? {
                match key.as_str() {
                    #( #tag_arms )*
                    #( #field_arms )*
                    _ => r.extra(&mut v.extra),
                }?;
            }
        }
    };
    let (seen, check) = if tracked.is_empty() {
        (quote! {}, quote! {})
    } else {
        (
            quote! { let mut seen = 0u64; },
            quote! { r.all_seen(seen, &[#( #tracked ),*])?; },
        )
    };
    quote! {
        #cfg
        impl crate::read::ReadJson for #name {
            const FRESH: Option<fn() -> Self> = Some(Self::default);
            fn read_into(v: &mut Self, r: &mut crate::read::Reader<'_>) -> crate::read::Res<()> {
                #seen
                r.begin_object()?;
                let mut first = true;
                #body
                #check
                Ok(())
            }
        }
    }
}

/// `impl ReadJson` for a string enum: any string, unknown values kept in `Other`.
pub fn enum_read(e: &EnumDef) -> TokenStream {
    let name = ident(&e.name);
    let cfg = cfg_attr(e.feature.as_deref());
    quote! {
        #cfg
        impl crate::read::ReadJson for #name {
            #[inline]
            fn read_json(r: &mut crate::read::Reader<'_>) -> crate::read::Res<Self> {
                r.str().map(|s| Self::from_wire(s.as_str()))
            }
        }
    }
}

/// `impl ReadJson` for a union. Scalar unions decide by the JSON
/// token (an integer token takes the integer form, a fractional one the `f64` form); other
/// unions take their first form.
pub fn union_read(u: &UnionDef) -> TokenStream {
    let name = ident(&u.name);
    let cfg = cfg_attr(u.feature.as_deref());
    let body = if u.variants.iter().all(|(_, t)| super::types::is_scalar(t)) {
        let form = |pred: &dyn Fn(&Ty) -> bool| {
            u.variants
                .iter()
                .find(|(_, t)| pred(t))
                .map(|(v, t)| (ident(v), ty_tokens(t)))
        };
        let string = match form(&|t| *t == Ty::String) {
            Some((v, _)) => quote! { r.str().map(|s| #name::#v(s.into_owned())) },
            None => quote! { Err(crate::read::Fail) },
        };
        let boolean = match form(&|t| *t == Ty::Bool) {
            Some((v, _)) => quote! { r.boolean().map(#name::#v) },
            None => quote! { Err(crate::read::Fail) },
        };
        let integer = match form(&|t| matches!(t, Ty::I32 | Ty::U32 | Ty::I64 | Ty::U64)) {
            Some((v, t)) => quote! { <#t as crate::read::ReadJson>::read_json(r).map(#name::#v) },
            None => quote! { Err(crate::read::Fail) },
        };
        let float = match form(&|t| *t == Ty::F64) {
            Some((v, _)) => quote! { r.f64().map(#name::#v) },
            None => quote! { Err(crate::read::Fail) },
        };
        quote! {
            match r.token() {
                crate::read::Token::String => #string,
                crate::read::Token::Bool => #boolean,
                crate::read::Token::Integer => #integer,
                crate::read::Token::Float => #float,
                crate::read::Token::Other => Err(crate::read::Fail),
            }
        }
    } else {
        let (v, t) = &u.variants[0];
        let v = ident(v);
        let t = ty_tokens(t);
        quote! { <#t as crate::read::ReadJson>::read_json(r).map(#name::#v) }
    };
    quote! {
        #cfg
        impl crate::read::ReadJson for #name {
            fn read_json(r: &mut crate::read::Reader<'_>) -> crate::read::Res<Self> {
                #body
            }
        }
    }
}

/// `read_named` for a dispatch enum: the typed decoder for a known name, `Custom` otherwise.
pub fn dispatch_read(enum_name: &str, messages: &[Message]) -> TokenStream {
    let name = ident(enum_name);
    let arms = messages.iter().map(|m| {
        let v = ident(&m.variant);
        let w = &m.wire;
        let cfg = cfg_attr(m.def.feature.as_deref());
        quote! { #cfg #w => crate::read::read_variant!(slot, r, #name::#v), }
    });
    quote! {
        impl #name {
            /// Direct decoding of a message known to carry `name` into `slot`, in place (the
            /// message is not moved once read); unknown names give `Custom`.
            pub(crate) fn read_named_into(
                name: &str,
                r: &mut crate::read::Reader<'_>,
                slot: &mut Self,
            ) -> crate::read::Res<()> {
                match name {
                    #( #arms )*
                    _ => {
                        *slot = #name::Custom(<crate::RawMessage as crate::read::ReadJson>::read_json(r)?);
                        Ok(())
                    }
                }
            }
        }
    }
}
