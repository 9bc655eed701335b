//! `schemars::JsonSchema` impls (feature `schemars` of dapkit-types), built from the model.
//!
//! The impls are written out rather than derived, because the types' serde impls are
//! generated too (constants, `extra`, lossless `null` handling) and a derive would describe
//! the Rust layout instead of the wire form. Each schema follows the DAP schema:
//!
//! - a struct is `{"type": "object", "properties": ..., "required": [...]}` with every
//!   declared property (its description attached), message constants (`"type"`,
//!   `"command"`, `"event"`, `"success"`) as single-valued `enum`s, and no
//!   `additionalProperties` restriction: undeclared properties are allowed (and kept in
//!   `extra`); `required` is left out when nothing is required;
//! - a closed string enum (`enum`) is `{"type": "string", "enum": [...]}`;
//! - an open string enum (`_enum`) is `{"type": "string", "examples": [...]}`: any string is
//!   valid, the listed values are the known ones;
//! - a union is `{"anyOf": [...]}` of its forms;
//! - a dispatch enum (`Request`, `Response`, `Event`) is `{"anyOf": [...]}` of its typed
//!   messages and an object of that `type` for `Custom`.
//!
//! `schema_name()` is the Rust type name; `schema_id()` adds the module path, so that a
//! user type of the same name does not collide in one generator.

use super::{ident, ty_tokens};
use crate::model::{EnumDef, Message, StructDef, TagValue, UnionDef};
use proc_macro2::TokenStream;
use quote::quote;

/// `#[cfg(feature = "schemars")]`, with the item's own feature when it has one.
fn cfg(feature: Option<&str>) -> TokenStream {
    match feature {
        Some(f) => quote! { #[cfg(all(feature = "schemars", feature = #f))] },
        None => quote! { #[cfg(feature = "schemars")] },
    }
}

/// `"description": "..."` entries for `json!`, or nothing.
fn description(doc: Option<&str>) -> TokenStream {
    match doc.map(str::trim) {
        Some(d) if !d.is_empty() => quote! { "description": #d, },
        _ => quote! {},
    }
}

/// The impl around a `json_schema` body.
fn schema_impl(name: &str, feature: Option<&str>, body: TokenStream) -> TokenStream {
    let cfg = cfg(feature);
    let n = ident(name);
    quote! {
        #cfg
        impl schemars::JsonSchema for #n {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(#name)
            }
            fn schema_id() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(concat!(module_path!(), "::", #name))
            }
            fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
                #body
            }
        }
    }
}

/// The `JsonSchema` impl of a struct (message structs included: tags become constants).
pub fn struct_schema(s: &StructDef) -> TokenStream {
    let desc = description(s.doc.as_deref());
    let tags = s.tags.iter().map(|t| {
        let k = &t.json;
        match &t.value {
            TagValue::Str(v) => {
                quote! { (#k, "", schemars::json_schema!({ "type": "string", "enum": [#v] })), }
            }
            TagValue::Bool(v) => {
                quote! { (#k, "", schemars::json_schema!({ "type": "boolean", "enum": [#v] })), }
            }
        }
    });
    let fields = s.fields.iter().map(|f| {
        let k = &f.json;
        let d = f.doc.as_deref().map(str::trim).unwrap_or("");
        let t = ty_tokens(&f.ty);
        quote! { (#k, #d, generator.subschema_for::<#t>()), }
    });
    let required: Vec<&str> = s
        .tags
        .iter()
        .map(|t| t.json.as_str())
        .chain(
            s.fields
                .iter()
                .filter(|f| f.required)
                .map(|f| f.json.as_str()),
        )
        .collect();
    let required = if required.is_empty() {
        quote! {}
    } else {
        quote! { "required": [#( #required ),*], }
    };
    let body = if s.tags.is_empty() && s.fields.is_empty() {
        quote! {
            let _ = generator;
            schemars::json_schema!({ "type": "object", #desc })
        }
    } else {
        quote! {
            let properties: serde_json::Map<String, serde_json::Value> = [
                #( #tags )*
                #( #fields )*
            ]
            .into_iter()
            .map(|(name, text, mut schema): (&str, &str, schemars::Schema)| {
                if !text.is_empty() {
                    schema.insert("description".into(), text.into());
                }
                (name.to_owned(), schema.to_value())
            })
            .collect();
            schemars::json_schema!({
                "type": "object",
                #desc
                "properties": properties,
                #required
            })
        }
    };
    schema_impl(&s.name, s.feature.as_deref(), body)
}

/// The `JsonSchema` impl of a string enum.
pub fn enum_schema(e: &EnumDef) -> TokenStream {
    let desc = description(e.doc.as_deref());
    let values = e.variants.iter().map(|(wire, _, _)| wire);
    let key = if e.open {
        quote! { "examples" }
    } else {
        quote! { "enum" }
    };
    let body = quote! {
        let _ = generator;
        schemars::json_schema!({ "type": "string", #desc #key: [#( #values ),*] })
    };
    schema_impl(&e.name, e.feature.as_deref(), body)
}

/// The `JsonSchema` impl of a union.
pub fn union_schema(u: &UnionDef) -> TokenStream {
    let desc = description(u.doc.as_deref());
    let forms = u.variants.iter().map(|(_, t)| {
        let t = ty_tokens(t);
        quote! { generator.subschema_for::<#t>() }
    });
    let body = quote! {
        schemars::json_schema!({ #desc "anyOf": [#( #forms ),*] })
    };
    schema_impl(&u.name, u.feature.as_deref(), body)
}

/// The `JsonSchema` impl of a dispatch enum (`Request`, `Response`, `Event`): any of its
/// typed messages (the error response too, for `Response`), or a message of that kind kept
/// as JSON (`Custom`).
pub fn dispatch_schema(
    enum_name: &str,
    kind: &str,
    messages: &[Message],
    error: Option<&str>,
) -> TokenStream {
    let desc = format!(
        "A DAP {kind}: one of the typed {kind} messages, or any {kind} kept as JSON (`Custom`)."
    );
    let custom = format!(
        "A {kind} this crate keeps as JSON: unknown names, or payloads that do not take their typed form."
    );
    let forms = messages.iter().map(|m| {
        let t = ident(&m.def.name);
        let cfg = match m.def.feature.as_deref() {
            Some(f) => quote! { #[cfg(feature = #f)] },
            None => quote! {},
        };
        quote! { #cfg forms.push(generator.subschema_for::<#t>().to_value()); }
    });
    let error = error.map(|e| {
        let t = ident(e);
        quote! { forms.push(generator.subschema_for::<#t>().to_value()); }
    });
    let body = quote! {
        let mut forms: Vec<serde_json::Value> = Vec::new();
        #( #forms )*
        #error
        forms.push(serde_json::json!({
            "type": "object",
            "description": #custom,
            "properties": { "type": { "type": "string", "enum": [#kind] } },
            "required": ["type"],
        }));
        schemars::json_schema!({ "description": #desc, "anyOf": forms })
    };
    schema_impl(enum_name, None, body)
}
