//! `Validate` impls: schema rules that decoding does not enforce (numeric bounds, values
//! outside closed enums, declared properties kept in `extra`, known messages kept as
//! `Custom`), reported instead.

use super::{cfg_attr, ident};
use crate::model::{EnumDef, Message, Model, StructDef, Ty, UnionDef};
use proc_macro2::TokenStream;
use quote::quote;

/// Whether validating a value of `ty` can find anything beyond its own bounds (it holds a
/// generated type somewhere).
fn holds_named(ty: &Ty) -> bool {
    match ty {
        Ty::Named(_) => true,
        Ty::Vec(inner) | Ty::Map(inner) | Ty::Nullable(inner) => holds_named(inner),
        _ => false,
    }
}

/// Whether `ty` is a number, or a list or nullable of numbers (what bounds apply to).
fn numeric(ty: &Ty) -> bool {
    match ty {
        Ty::I32 | Ty::U32 | Ty::I64 | Ty::U64 | Ty::F64 => true,
        Ty::Vec(inner) | Ty::Nullable(inner) => numeric(inner),
        _ => false,
    }
}

fn bound(b: Option<i64>) -> TokenStream {
    match b {
        Some(v) => quote! { Some(#v) },
        None => quote! { None },
    }
}

/// The `Validate` impl of a struct: bounds of numeric fields, nested values, and declared
/// properties kept in `extra` (and written back) because they did not take their typed form.
pub fn struct_validate(s: &StructDef) -> TokenStream {
    let name = ident(&s.name);
    let cfg = cfg_attr(s.feature.as_deref());
    let checks = s.fields.iter().map(|f| {
        let n = ident(&f.rust);
        let k = &f.json;
        let mut t = TokenStream::new();
        if (f.minimum.is_some() || f.maximum.is_some()) && numeric(&f.ty) {
            let (min, max) = (bound(f.minimum), bound(f.maximum));
            t.extend(quote! { v.bounded(&self.#n, #k, #min, #max); });
        }
        if holds_named(&f.ty) {
            t.extend(quote! { v.member(&self.#n, #k); });
        }
        t
    });
    quote! {
        #cfg
        impl crate::validate::Validate for #name {
            fn validate_into(&self, path: &mut String, out: &mut crate::validate::Violations) {
                let mut v = crate::validate::Ctx { path, out };
                #( #checks )*
                v.extras(&self.extra, Self::DECLARED, self.written_declared());
            }
        }
    }
}

/// The `Validate` impl of a string enum: for a closed enum, a value outside it is reported;
/// an open enum (`_enum`) accepts any value.
pub fn enum_validate(e: &EnumDef) -> TokenStream {
    let name = ident(&e.name);
    let cfg = cfg_attr(e.feature.as_deref());
    let body = if e.open {
        quote! {
            fn validate_into(&self, _: &mut String, _: &mut crate::validate::Violations) {}
        }
    } else {
        quote! {
            fn validate_into(&self, path: &mut String, out: &mut crate::validate::Violations) {
                if let #name::Other(v) = self {
                    crate::validate::not_in_enum(v, Self::VALUES, path, out);
                }
            }
        }
    };
    quote! {
        #cfg
        impl crate::validate::Validate for #name {
            #body
        }
    }
}

/// The `Validate` impl of a union: the form it holds is validated.
pub fn union_validate(u: &UnionDef) -> TokenStream {
    let name = ident(&u.name);
    let cfg = cfg_attr(u.feature.as_deref());
    let arms = u.variants.iter().map(|(v, _)| {
        let v = ident(v);
        quote! { #name::#v(x) => crate::validate::Validate::validate_into(x, path, out), }
    });
    quote! {
        #cfg
        impl crate::validate::Validate for #name {
            fn validate_into(&self, path: &mut String, out: &mut crate::validate::Violations) {
                match self {
                    #( #arms )*
                }
            }
        }
    }
}

/// The `Validate` impls of the dispatch enums `Request`, `Response` and `Event`, and of
/// `ProtocolMessage`: typed messages are validated; a `Custom` message whose name is known
/// did not take its typed form, and is reported.
pub fn dispatch_validate(model: &Model) -> TokenStream {
    let mut out = dispatch_enum("Request", &model.requests, false, "command");
    out.extend(dispatch_enum(
        "Response",
        &model.responses,
        model.error_response.is_some(),
        "command",
    ));
    out.extend(dispatch_enum("Event", &model.events, false, "event_name"));
    out.extend(quote! {
        impl crate::validate::Validate for crate::ProtocolMessage {
            fn validate_into(&self, path: &mut String, out: &mut crate::validate::Violations) {
                match self {
                    crate::ProtocolMessage::Request(m) => crate::validate::Validate::validate_into(m, path, out),
                    crate::ProtocolMessage::Response(m) => crate::validate::Validate::validate_into(m, path, out),
                    crate::ProtocolMessage::Event(m) => crate::validate::Validate::validate_into(m, path, out),
                    crate::ProtocolMessage::Custom(_) => {}
                }
            }
        }
    });
    out
}

fn dispatch_enum(enum_name: &str, messages: &[Message], error: bool, name_of: &str) -> TokenStream {
    let name = ident(enum_name);
    let name_of = ident(name_of);
    let arms = messages.iter().map(|m| {
        let v = ident(&m.variant);
        let cfg = cfg_attr(m.def.feature.as_deref());
        quote! { #cfg #name::#v(m) => crate::validate::Validate::validate_into(m, path, out), }
    });
    let error_arm = if error {
        quote! { #name::Error(m) => crate::validate::Validate::validate_into(m, path, out), }
    } else {
        quote! {}
    };
    quote! {
        impl crate::validate::Validate for #name {
            fn validate_into(&self, path: &mut String, out: &mut crate::validate::Violations) {
                match self {
                    #( #arms )*
                    #error_arm
                    #name::Custom(m) => {
                        if let Some(known) = m.#name_of().filter(|n| Self::KNOWN.contains(n)) {
                            out.push(crate::validate::Violation {
                                path: path.clone(),
                                rule: crate::validate::Rule::Untyped { name: known.to_owned() },
                            });
                        }
                    }
                }
            }
        }
    }
}
