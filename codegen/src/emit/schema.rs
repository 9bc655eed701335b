//! `schemars::JsonSchema` impls (feature `schemars` of dapkit-types), built from the model.
//!
//! Each type's schema is data: the generator writes it as JSON text into one
//! `private::impl_json_schema!` invocation per type, naming the Rust types its members refer
//! to; at run time the impl parses the text and puts `generator.subschema_for::<T>()` where
//! the text says `{"$rust": i}` (the `i`-th named type), keeping any other keys of that node
//! (a member's description) beside it. So the schemas cost one short line of code per type
//! instead of an impl body per member. Each schema follows the DAP schema:
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
use crate::model::{EnumDef, Message, StructDef, TagValue, Ty, UnionDef};
use proc_macro2::TokenStream;
use quote::quote;

/// `#[cfg(feature = "schemars")]`, with the item's own feature when it has one.
fn cfg(feature: Option<&str>) -> TokenStream {
    match feature {
        Some(f) => quote! { #[cfg(all(feature = "schemars", feature = #f))] },
        None => quote! { #[cfg(feature = "schemars")] },
    }
}

/// A JSON object written in the order its members are added (the schema's property order).
#[derive(Default)]
struct Obj(Vec<(String, String)>);

impl Obj {
    /// Adds `key` with `value`, JSON text.
    fn raw(mut self, key: &str, value: String) -> Self {
        self.0.push((key.to_owned(), value));
        self
    }
    /// Adds `key` with the string `value`.
    fn str(self, key: &str, value: &str) -> Self {
        self.raw(key, quoted(value))
    }
    /// Adds `"description"` when `doc` has text.
    fn describe(self, doc: Option<&str>) -> Self {
        match doc.map(str::trim).filter(|d| !d.is_empty()) {
            Some(d) => self.str("description", d),
            None => self,
        }
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn text(&self) -> String {
        let members: Vec<String> = self
            .0
            .iter()
            .map(|(k, v)| format!("{}:{v}", quoted(k)))
            .collect();
        format!("{{{}}}", members.join(","))
    }
}

/// A JSON string literal.
fn quoted(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// A JSON array of texts.
fn array(items: impl IntoIterator<Item = String>) -> String {
    format!("[{}]", items.into_iter().collect::<Vec<_>>().join(","))
}

/// The Rust types a schema refers to, in order of first use.
#[derive(Default)]
struct Refs(Vec<Ty>);

impl Refs {
    /// `{"$rust": i}` for `ty`, the index of its entry.
    fn marker(&mut self, ty: &Ty) -> Obj {
        let i = match self.0.iter().position(|t| t == ty) {
            Some(i) => i,
            None => {
                self.0.push(ty.clone());
                self.0.len() - 1
            }
        };
        Obj::default().raw("$rust", i.to_string())
    }
}

/// The one-line impl: `impl_json_schema!(Name, [types...], r#"json"#)`.
fn schema_impl(name: &str, feature: Option<&str>, refs: &Refs, schema: &Obj) -> TokenStream {
    let cfg = cfg(feature);
    let n = ident(name);
    let types = refs.0.iter().map(ty_tokens);
    let text = schema.text();
    let mut hashes = String::from("#");
    while text.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    let literal: proc_macro2::Literal = format!("r{hashes}\"{text}\"{hashes}")
        .parse()
        .unwrap_or_else(|_| proc_macro2::Literal::string(&text));
    quote! {
        #cfg
        crate::private::impl_json_schema!(#n, [#( #types ),*], #literal);
    }
}

/// The `JsonSchema` impl of a struct (message structs included: tags become constants).
pub fn struct_schema(s: &StructDef) -> TokenStream {
    let mut refs = Refs::default();
    let mut properties = Obj::default();
    for t in &s.tags {
        let constant = match &t.value {
            TagValue::Str(v) => Obj::default()
                .str("type", "string")
                .raw("enum", array([quoted(v)])),
            TagValue::Bool(v) => Obj::default()
                .str("type", "boolean")
                .raw("enum", array([v.to_string()])),
        };
        properties = properties.raw(&t.json, constant.text());
    }
    for f in &s.fields {
        let node = refs.marker(&f.ty).describe(f.doc.as_deref());
        properties = properties.raw(&f.json, node.text());
    }
    let mut schema = Obj::default()
        .str("type", "object")
        .describe(s.doc.as_deref());
    if !properties.is_empty() {
        schema = schema.raw("properties", properties.text());
        let required: Vec<String> = s
            .tags
            .iter()
            .map(|t| t.json.as_str())
            .chain(
                s.fields
                    .iter()
                    .filter(|f| f.required)
                    .map(|f| f.json.as_str()),
            )
            .map(quoted)
            .collect();
        if !required.is_empty() {
            schema = schema.raw("required", array(required));
        }
    }
    schema_impl(&s.name, s.feature.as_deref(), &refs, &schema)
}

/// The `JsonSchema` impl of a string enum.
pub fn enum_schema(e: &EnumDef) -> TokenStream {
    let key = if e.open { "examples" } else { "enum" };
    let values = array(e.variants.iter().map(|(w, _, _)| quoted(w)));
    let schema = Obj::default()
        .str("type", "string")
        .describe(e.doc.as_deref())
        .raw(key, values);
    schema_impl(&e.name, e.feature.as_deref(), &Refs::default(), &schema)
}

/// The `JsonSchema` impl of a union.
pub fn union_schema(u: &UnionDef) -> TokenStream {
    let mut refs = Refs::default();
    let forms: Vec<String> = u
        .variants
        .iter()
        .map(|(_, t)| refs.marker(t).text())
        .collect();
    let schema = Obj::default()
        .describe(u.doc.as_deref())
        .raw("anyOf", array(forms));
    schema_impl(&u.name, u.feature.as_deref(), &refs, &schema)
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
    dispatch_impl(enum_name, body)
}

/// The impl around a dispatch enum's `json_schema` body.
fn dispatch_impl(name: &str, body: TokenStream) -> TokenStream {
    let cfg = cfg(None);
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
