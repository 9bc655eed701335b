//! Typed messages of an adapter's protocol extension, generated from its JSON schema by a
//! build script, for crates outside this workspace (as `prost-build` serves protobuf users).
//!
//! ```no_run
//! // build.rs of an adapter author's crate (build-dependency: dapkit-codegen;
//! // dependency: dapkit-types), in its `fn main`:
//! let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
//! println!("cargo::rerun-if-changed=schema/my-adapter.json");
//! dapkit_codegen::Extension::new("schema/my-adapter.json")
//!     .generate_to(&out_dir)
//!     .expect("extension types");
//! ```
//!
//! ```ignore
//! // src/lib.rs: the file is named after the schema (`my-adapter.rs`)
//! pub mod my_adapter {
//!     include!(concat!(env!("OUT_DIR"), "/my-adapter.rs"));
//! }
//! ```
//!
//! The schema is a DAP-style JSON schema whose definitions extend the base protocol's
//! (`allOf` with `#/definitions/Request`, `Response`, `Event`, or any base type such as
//! `Source`). The generated module holds the extension's types and message structs, with
//! the same impls dapkit-types' own have: serde `Serialize`/`Deserialize` (lossless:
//! undeclared properties kept in `extra`), the direct encoder and decoder, `Validate`,
//! builders, and `traits::Request`/`Response`/`Event` (so `Data` too). Base definitions are
//! not generated again: the module refers to `dapkit_types::types`. Everything it needs is
//! reached through `::dapkit_types`, so the crate needs no other dependency.
//!
//! Such messages arrive as `Request::Custom`/`Response::Custom`/`Event::Custom`; get them
//! typed with `request.extension::<MyRequest>()` and build one to send with
//! `Request::from_extension(&my_request)` (see `dapkit_types::extension`).

use crate::emit;
use crate::generate::GenerateError;
use crate::json::Json;
use crate::model::{self, Item, Message, Source};
use proc_macro2::{Ident, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::quote;
use std::path::{Path, PathBuf};

/// The base DAP schema dapkit-types is generated from.
pub const BASE_SCHEMA_TEXT: &str = include_str!("../../schema/debugAdapterProtocol.json");

/// Feature name the extension's items carry inside the model (never emitted).
const EXT: &str = "extension";

/// An extension schema to generate Rust from; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Extension {
    schema: PathBuf,
    base: Option<PathBuf>,
}

impl Extension {
    /// The extension schema at `schema` (a build script's relative paths are relative to
    /// its crate's directory).
    pub fn new(schema: impl Into<PathBuf>) -> Extension {
        Extension {
            schema: schema.into(),
            base: None,
        }
    }

    /// Use this base DAP schema instead of the one dapkit-types is generated from
    /// ([`BASE_SCHEMA_TEXT`]). It must be the same protocol version as the dapkit-types
    /// you build against, since the generated code refers to its types.
    pub fn base_schema(mut self, path: impl Into<PathBuf>) -> Extension {
        self.base = Some(path.into());
        self
    }

    /// The generated Rust source.
    pub fn generate(&self) -> Result<String, GenerateError> {
        let read = |p: &Path| {
            std::fs::read_to_string(p)
                .map_err(|e| GenerateError(format!("{}: cannot read: {e}", p.display())))
        };
        let ext = read(&self.schema)?;
        let base = match &self.base {
            Some(p) => read(p)?,
            None => BASE_SCHEMA_TEXT.to_owned(),
        };
        let name = self
            .schema
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        generate_extension(&base, &ext, &name)
    }

    /// Writes the generated source to `<out_dir>/<schema file stem>.rs` and returns that
    /// path.
    pub fn generate_to(&self, out_dir: impl AsRef<Path>) -> Result<PathBuf, GenerateError> {
        let text = self.generate()?;
        let stem = self
            .schema
            .file_stem()
            .ok_or_else(|| GenerateError(format!("{}: no file name", self.schema.display())))?;
        let mut path = out_dir.as_ref().join(stem);
        path.set_extension("rs");
        std::fs::write(&path, text)
            .map_err(|e| GenerateError(format!("{}: cannot write: {e}", path.display())))?;
        Ok(path)
    }
}

/// The Rust source for the extension schema `ext` over the base schema `base`; `name` (the
/// extension's file name) is shown in the header and errors.
pub fn generate_extension(base: &str, ext: &str, name: &str) -> Result<String, GenerateError> {
    let parse = |text: &str, what: &str| {
        Json::parse(text).map_err(|e| GenerateError(format!("{what}: not valid JSON: {e}")))
    };
    let sources = [
        Source {
            doc: parse(base, "base schema")?,
            feature: None,
        },
        Source {
            doc: parse(ext, name)?,
            feature: Some(EXT.into()),
        },
    ];
    let model = model::build(&sources).map_err(|e| GenerateError(format!("{name}: {e}")))?;

    let mut tokens = quote! {
        #[allow(unused_imports)]
        use ::dapkit_types::types::*;
    };
    for item in model.types.iter().filter_map(own_item) {
        tokens.extend(emit::types::item(&item));
    }
    let own = |ms: &[Message]| ms.iter().filter_map(own_message).collect::<Vec<_>>();
    let (requests, responses, events) = (
        own(&model.requests),
        own(&model.responses),
        own(&model.events),
    );
    for m in requests.iter().chain(&responses).chain(&events) {
        tokens.extend(emit::types::struct_def(&m.def));
    }
    for m in &requests {
        tokens.extend(emit::messages::request_trait(m, &model));
    }
    for m in &responses {
        tokens.extend(emit::messages::response_trait(m));
    }
    for m in &events {
        tokens.extend(emit::messages::event_trait(m));
    }

    let mut file: syn::File = syn::parse2(rebase(tokens))
        .map_err(|e| GenerateError(format!("{name}: generated code does not parse: {e}")))?;
    // `schemars` impls are for dapkit-types' own feature; an extension crate has none.
    file.items.retain(|item| !gated_on_schemars(item));
    let header = format!(
        "// @generated by dapkit-codegen {} from {name}. Do not edit by hand.\n\n",
        env!("CARGO_PKG_VERSION")
    );
    Ok(header + &prettyplease::unparse(&file))
}

/// The item, ungated, if the extension defines it.
fn own_item(item: &Item) -> Option<Item> {
    let mut item = item.clone();
    let feature = match &mut item {
        Item::Struct(s) => &mut s.feature,
        Item::Enum(e) => &mut e.feature,
        Item::Union(u) => &mut u.feature,
    };
    feature.take().map(|_| item)
}

/// The message, ungated, if the extension defines it.
fn own_message(m: &Message) -> Option<Message> {
    let mut m = m.clone();
    m.def.feature.take().map(|_| m)
}

fn gated_on_schemars(item: &syn::Item) -> bool {
    let attrs = match item {
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(m) => &m.attrs,
        _ => return false,
    };
    attrs.iter().any(|a| {
        a.path().is_ident("cfg")
            && a.meta
                .require_list()
                .is_ok_and(|l| l.tokens.to_string().contains("\"schemars\""))
    })
}

/// Rewrites the paths generated code uses inside dapkit-types to paths through
/// `::dapkit_types`: `crate::private`/`read`/`validate` to the hidden runtime,
/// `crate::<other>` to the public API, and `serde`/`serde_json` to the crates it re-exports.
fn rebase(tokens: TokenStream) -> TokenStream {
    let tts: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(tts.len());
    let mut i = 0;
    while i < tts.len() {
        let tt = &tts[i];
        // Not after `::` (a single `:` as in `A: serde::X` does not continue a path).
        let path_start = !matches!(
            out.len().checked_sub(2).map(|n| (&out[n], &out[n + 1])),
            Some((TokenTree::Punct(a), TokenTree::Punct(b)))
                if a.as_char() == ':' && a.spacing() == Spacing::Joint && b.as_char() == ':'
        );
        let followed_by_colons = matches!(
            (tts.get(i + 1), tts.get(i + 2)),
            (Some(TokenTree::Punct(a)), Some(TokenTree::Punct(b)))
                if a.as_char() == ':' && b.as_char() == ':'
        );
        match tt {
            TokenTree::Ident(id) if path_start && followed_by_colons => {
                let name = id.to_string();
                let next = match tts.get(i + 3) {
                    Some(TokenTree::Ident(n)) => n.to_string(),
                    _ => String::new(),
                };
                match (name.as_str(), next.as_str()) {
                    ("crate", "read" | "validate") => {
                        out.extend(path(&["dapkit_types", "private"]));
                        out.extend(colons());
                        i += 3; // keep `read`/`validate` and what follows
                        continue;
                    }
                    ("crate", _) => {
                        out.extend(path(&["dapkit_types"]));
                        i += 1;
                        continue;
                    }
                    ("serde" | "serde_json", _) => {
                        out.extend(path(&["dapkit_types", "private", &name]));
                        i += 1;
                        continue;
                    }
                    _ => out.push(tt.clone()),
                }
            }
            TokenTree::Group(g) => {
                let mut group = proc_macro2::Group::new(g.delimiter(), rebase(g.stream()));
                group.set_span(g.span());
                out.push(TokenTree::Group(group));
            }
            _ => out.push(tt.clone()),
        }
        i += 1;
    }
    out.into_iter().collect()
}

fn colons() -> [TokenTree; 2] {
    [
        TokenTree::Punct(Punct::new(':', Spacing::Joint)),
        TokenTree::Punct(Punct::new(':', Spacing::Alone)),
    ]
}

/// `::a::b` as tokens.
fn path(segments: &[&str]) -> Vec<TokenTree> {
    let mut out = Vec::new();
    for s in segments {
        out.extend(colons());
        out.push(TokenTree::Ident(Ident::new(s, Span::call_site())));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_schema() {
        let e = Extension::new("no/such/ext.json")
            .generate()
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("no/such/ext.json: cannot read"), "{e}");
        let e = generate_extension(BASE_SCHEMA_TEXT, "{", "mine.json")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("mine.json: not valid JSON"), "{e}");
        let redefines = r#"{"definitions": {"Source": {"type": "object"}}}"#;
        let e = generate_extension(BASE_SCHEMA_TEXT, redefines, "mine.json")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("mine.json: definition `Source` is defined twice"),
            "{e}"
        );
    }

    #[test]
    fn a_small_extension_gets_only_its_own_items_over_dapkit_types() {
        let ext = r##"{"definitions": {
            "PingRequest": {"allOf": [{"$ref": "#/definitions/Request"}, {"type": "object",
                "properties": {"command": {"type": "string", "enum": ["ping"]},
                               "arguments": {"$ref": "#/definitions/PingArguments"}},
                "required": ["command", "arguments"]}]},
            "PingArguments": {"type": "object", "properties": {"source": {"$ref": "#/definitions/Source"}}},
            "PingResponse": {"allOf": [{"$ref": "#/definitions/Response"}, {"type": "object",
                "properties": {"body": {"type": "object", "properties": {"n": {"type": "integer"}}}}}]}
        }}"##;
        let text = generate_extension(BASE_SCHEMA_TEXT, ext, "ping.json").unwrap();
        assert!(
            text.starts_with("// @generated by dapkit-codegen"),
            "{text}"
        );
        for wanted in [
            "pub struct PingRequest",
            "pub struct PingArguments",
            "pub source: Option<Source>",
            "pub struct PingResponse",
            "impl ::dapkit_types::traits::Request for PingRequest",
            "type Response = PingResponse;",
            "impl ::dapkit_types::private::read::ReadJson for PingArguments",
            "impl ::dapkit_types::private::validate::Validate for PingArguments",
            // One encoder and the glue that gives serde and the direct encoder over it.
            "impl ::dapkit_types::private::Members for PingArguments",
            "::dapkit_types::private::impl_object!(PingArguments);",
        ] {
            assert!(text.contains(wanted), "lacks `{wanted}`");
        }
        // Base definitions come from dapkit_types, not generated again; nothing is gated.
        assert!(
            !text.contains("pub struct Source "),
            "base type generated again"
        );
        assert!(
            !text.contains("crate::") && !text.contains("cfg("),
            "{text}"
        );
    }

    #[test]
    fn rebase_rewrites_path_starts_only() {
        let t = quote! {
            impl crate::read::ReadJson for X {}
            fn f() -> crate::private::Key { serde_json::Value::Null; a::crate_like::serde::x }
            impl crate::traits::Request for X {}
            type T = Option<crate::RawMessage>;
            fn g<A: serde::de::MapAccess<'de>>() {}
        };
        let s = rebase(t).to_string().replace(' ', "");
        assert!(
            s.contains("impl::dapkit_types::private::read::ReadJsonforX"),
            "{s}"
        );
        assert!(s.contains("->::dapkit_types::private::Key"), "{s}");
        assert!(
            s.contains("::dapkit_types::private::serde_json::Value::Null"),
            "{s}"
        );
        assert!(s.contains("a::crate_like::serde::x"), "{s}");
        assert!(s.contains("impl::dapkit_types::traits::RequestforX"), "{s}");
        assert!(s.contains("Option<::dapkit_types::RawMessage>"), "{s}");
        assert!(
            s.contains("A:::dapkit_types::private::serde::de::MapAccess"),
            "{s}"
        );
        assert!(!s.contains("crate::"), "{s}");
    }
}
