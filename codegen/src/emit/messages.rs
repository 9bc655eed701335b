//! Message structs, the dispatch enums and the trait impls.

use super::{cfg_attr, doc_attrs, ident, storage};
use crate::model::{Direction, Message, Model};
use proc_macro2::TokenStream;
use quote::quote;

/// Tokens for the whole messages module body.
pub fn messages(model: &Model, version: &str) -> TokenStream {
    let mut out = TokenStream::new();
    out.extend(quote! {
        /// The version of the Debug Adapter Protocol these types were generated from.
        pub const DAP_VERSION: &str = #version;
    });
    for m in model
        .requests
        .iter()
        .chain(&model.responses)
        .chain(&model.events)
    {
        out.extend(super::types::struct_def(&m.def));
    }
    if let Some(err) = &model.error_response {
        out.extend(super::types::struct_def(err));
    }
    for m in &model.requests {
        out.extend(request_trait(m, model));
    }
    for m in &model.responses {
        out.extend(response_trait(m));
    }
    for m in &model.events {
        out.extend(event_trait(m));
    }
    out.extend(dispatch_enum(
        "Request",
        "A request, typed by its `command`. Commands this crate does not know, and known commands whose arguments do not take their typed form, are kept as `Custom`.",
        &model.requests,
        None,
    ));
    out.extend(dispatch_enum(
        "Response",
        "A response, typed by the command it answers. Any response with `success: false` is an `Error`, whatever its body; unknown commands and payloads that do not take their typed form are kept as `Custom`.",
        &model.responses,
        Some("ErrorResponse"),
    ));
    out.extend(dispatch_enum(
        "Event",
        "An event, typed by its `event` name. Events this crate does not know (such as adapters' custom events), and known events whose body does not take its typed form, are kept as `Custom`.",
        &model.events,
        None,
    ));
    out.extend(super::schema::dispatch_schema(
        "Request",
        "request",
        &model.requests,
        None,
    ));
    out.extend(super::schema::dispatch_schema(
        "Response",
        "response",
        &model.responses,
        model.error_response.as_ref().map(|e| e.name.as_str()),
    ));
    out.extend(super::schema::dispatch_schema(
        "Event",
        "event",
        &model.events,
        None,
    ));
    out.extend(super::read::dispatch_read("Request", &model.requests));
    out.extend(super::read::dispatch_read("Response", &model.responses));
    out.extend(super::read::dispatch_read("Event", &model.events));
    out.extend(super::validate::dispatch_validate(model));
    out
}

fn payload_type(m: &Message) -> TokenStream {
    match &m.payload {
        Some(f) => storage(f),
        None => quote! { () },
    }
}

fn payload_access(m: &Message) -> (TokenStream, TokenStream, TokenStream) {
    match &m.payload {
        Some(f) => {
            let n = ident(&f.rust);
            (
                quote! { &self.#n },
                quote! { self.#n },
                quote! { #n: payload, },
            )
        }
        None => (quote! { &() }, quote! { () }, quote! {}),
    }
}

pub(crate) fn request_trait(m: &Message, model: &Model) -> TokenStream {
    let name = ident(&m.def.name);
    let cfg = cfg_attr(m.def.feature.as_deref());
    let command = &m.wire;
    let args = payload_type(m);
    let response = model
        .responses
        .iter()
        .find(|r| r.variant == m.variant)
        .map(|r| ident(&r.def.name));
    let direction = match m.direction {
        Direction::ToAdapter => quote! { crate::traits::Direction::ToAdapter },
        Direction::ToClient => quote! { crate::traits::Direction::ToClient },
    };
    let capability = match &m.capability {
        Some(c) => quote! { Some(#c) },
        None => quote! { None },
    };
    let (get, take, init) = payload_access(m);
    quote! {
        #cfg
        impl crate::traits::Request for #name {
            const COMMAND: &'static str = #command;
            const DIRECTION: crate::traits::Direction = #direction;
            const CAPABILITY: Option<&'static str> = #capability;
            type Arguments = #args;
            type Response = #response;
            fn from_arguments(seq: i32, payload: Self::Arguments) -> Self {
                Self { seq, #init ..Default::default() }
            }
            fn arguments(&self) -> &Self::Arguments {
                #get
            }
            fn into_arguments(self) -> Self::Arguments {
                #take
            }
        }
    }
}

pub(crate) fn response_trait(m: &Message) -> TokenStream {
    let name = ident(&m.def.name);
    let cfg = cfg_attr(m.def.feature.as_deref());
    let command = &m.wire;
    let body = payload_type(m);
    let (get, take, init) = payload_access(m);
    quote! {
        #cfg
        impl crate::traits::Response for #name {
            const COMMAND: &'static str = #command;
            type Body = #body;
            fn from_body(seq: i32, request_seq: i32, payload: Self::Body) -> Self {
                Self { seq, request_seq, #init ..Default::default() }
            }
            fn body(&self) -> &Self::Body {
                #get
            }
            fn into_body(self) -> Self::Body {
                #take
            }
        }
    }
}

pub(crate) fn event_trait(m: &Message) -> TokenStream {
    let name = ident(&m.def.name);
    let cfg = cfg_attr(m.def.feature.as_deref());
    let event = &m.wire;
    let body = payload_type(m);
    let (get, take, init) = payload_access(m);
    quote! {
        #cfg
        impl crate::traits::Event for #name {
            const EVENT: &'static str = #event;
            type Body = #body;
            fn from_body(seq: i32, payload: Self::Body) -> Self {
                Self { seq, #init ..Default::default() }
            }
            fn body(&self) -> &Self::Body {
                #get
            }
            fn into_body(self) -> Self::Body {
                #take
            }
        }
    }
}

/// `Request`, `Response` or `Event`: one variant per message, `Custom`, and for responses
/// `Error`; with accessors, serde and typed decoding by name.
fn dispatch_enum(
    enum_name: &str,
    doc: &str,
    messages: &[Message],
    error: Option<&str>,
) -> TokenStream {
    let name = ident(enum_name);
    let doc = doc_attrs(Some(doc), "");
    let variants = messages.iter().map(|m| {
        let v = ident(&m.variant);
        let t = ident(&m.def.name);
        let cfg = cfg_attr(m.def.feature.as_deref());
        let d = format!(" `{}`: see [`{}`].", m.wire, m.def.name);
        quote! { #[doc = #d] #cfg #v(#t), }
    });
    let error_variant = error.map(|e| {
        let t = ident(e);
        quote! {
            /// A failed response (`success: false`) to any command.
            Error(#t),
        }
    });
    let all_arms = |f: &dyn Fn(&proc_macro2::Ident) -> TokenStream| {
        let mut arms: Vec<TokenStream> = messages
            .iter()
            .map(|m| {
                let v = ident(&m.variant);
                let cfg = cfg_attr(m.def.feature.as_deref());
                let body = f(&v);
                quote! { #cfg #body }
            })
            .collect();
        if error.is_some() {
            arms.push(f(&ident("Error")));
        }
        arms
    };
    let seq_arms = all_arms(&|v| quote! { #name::#v(m) => Some(i64::from(m.seq)), });
    // Responses: `request_seq` without re-encoding the message.
    let request_seq_fn = error.map(|_| {
        let arms = all_arms(&|v| quote! { #name::#v(m) => Some(i64::from(m.request_seq)), });
        quote! {
            /// The `request_seq` this response answers (`None` if a custom response lacks an
            /// integer one).
            pub fn request_seq(&self) -> Option<i64> {
                match self {
                    #( #arms )*
                    #name::Custom(m) => m.request_seq(),
                }
            }
        }
    });
    let set_seq_arms = all_arms(&|v| quote! { #name::#v(m) => m.seq = seq, });
    let ser_arms =
        all_arms(&|v| quote! { #name::#v(m) => serde::Serialize::serialize(m, serializer), });
    let write_arms =
        all_arms(&|v| quote! { #name::#v(m) => crate::private::WriteJson::write_json(m, out), });
    let mut standard_arms: Vec<TokenStream> = messages
        .iter()
        .map(|m| {
            let v = ident(&m.variant);
            let t = ident(&m.def.name);
            let cfg = cfg_attr(m.def.feature.as_deref());
            quote! { #cfg #name::#v(m) => Some((&m.extra, #t::DECLARED)), }
        })
        .collect();
    if let Some(e) = error {
        let t = ident(e);
        standard_arms.push(quote! { #name::Error(m) => Some((&m.extra, #t::DECLARED)), });
    }
    let wire_arms = messages.iter().map(|m| {
        let v = ident(&m.variant);
        let w = &m.wire;
        let cfg = cfg_attr(m.def.feature.as_deref());
        quote! { #cfg #name::#v(_) => Some(#w), }
    });
    let known = messages.iter().map(|m| {
        let w = &m.wire;
        let cfg = cfg_attr(m.def.feature.as_deref());
        quote! { #cfg #w, }
    });
    let from_impls = messages.iter().map(|m| {
        let v = ident(&m.variant);
        let t = ident(&m.def.name);
        let cfg = cfg_attr(m.def.feature.as_deref());
        quote! {
            #cfg
            impl From<#t> for #name {
                fn from(m: #t) -> Self {
                    #name::#v(m)
                }
            }
            #cfg
            impl From<#t> for crate::ProtocolMessage {
                fn from(m: #t) -> Self {
                    crate::ProtocolMessage::#name(#name::#v(m))
                }
            }
        }
    });
    let error_from = error.map(|e| {
        let t = ident(e);
        quote! {
            impl From<#t> for #name {
                fn from(m: #t) -> Self {
                    #name::Error(m)
                }
            }
            impl From<#t> for crate::ProtocolMessage {
                fn from(m: #t) -> Self {
                    crate::ProtocolMessage::#name(#name::Error(m))
                }
            }
        }
    });
    let wire_doc = match enum_name {
        "Event" => " The event name, for typed variants (`None` for `Custom`).",
        "Request" => " The command, for typed variants (`None` for `Custom`).",
        _ => " The command, for typed variants (`None` for `Custom` and `Error`).",
    };
    quote! {
        #doc
        #[derive(Clone, Debug, PartialEq)]
        #[non_exhaustive]
        pub enum #name {
            #( #variants )*
            #error_variant
            /// A message kept as JSON: an unknown name, or a payload that did not take its typed form.
            Custom(crate::RawMessage),
        }

        impl #name {
            /// The names this crate types.
            pub const KNOWN: &'static [&'static str] = &[#( #known )*];

            /// The `seq` of the message (`None` if a custom message lacks an integer `seq`).
            pub fn seq(&self) -> Option<i64> {
                match self {
                    #( #seq_arms )*
                    #name::Custom(m) => m.seq(),
                }
            }

            #request_seq_fn

            /// Sets the `seq` of the message.
            pub fn set_seq(&mut self, seq: i32) {
                match self {
                    #( #set_seq_arms )*
                    #name::Custom(m) => m.set_seq(seq),
                }
            }

            #[doc = #wire_doc]
            pub fn known_name(&self) -> Option<&'static str> {
                match self {
                    #( #wire_arms )*
                    _ => None,
                }
            }

            /// Whether the message is one the schema defines and decoded fully into its typed
            /// form (no declared property kept as raw JSON at its top level).
            pub fn is_standard(&self) -> bool {
                // One call of `stashes` after the match, not one inlined into each arm
                // (compile time); `None` for `Custom`, also the only arm left when every
                // typed one is switched off by a feature.
                let typed: Option<(&serde_json::Map<String, serde_json::Value>, &[&str])> =
                    match self {
                        #( #standard_arms )*
                        #name::Custom(_) => None,
                    };
                typed.is_some_and(|(extra, declared)| !crate::private::stashes(extra, declared))
            }

        }

        impl serde::Serialize for #name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    #( #ser_arms )*
                    #name::Custom(m) => serde::Serialize::serialize(m, serializer),
                }
            }
        }

        impl crate::private::WriteJson for #name {
            fn write_json(&self, out: &mut Vec<u8>) {
                match self {
                    #( #write_arms )*
                    #name::Custom(m) => crate::private::WriteJson::write_json(&m.0, out),
                }
            }
        }

        #( #from_impls )*
        #error_from
    }
}
