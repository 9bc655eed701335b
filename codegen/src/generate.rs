//! `dapkit-codegen generate [--check]`: schema files in, formatted Rust files out.
//!
//! [`read_inputs`] reads the base schema, the extension schemas and the protocol version from
//! a workspace; [`generate`] turns them into [`Generated`] text; [`stale`] lists the output
//! files that differ from it; [`run`] is the command (`--check` only reads and reports, plain
//! `generate` writes `dap-types/src/generated/{types,messages}.rs`).

use crate::emit;
use crate::json::Json;
use crate::model::{self, Source};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The vendored base schema, relative to the workspace root.
pub const BASE_SCHEMA: &str = "schema/debugAdapterProtocol.json";
/// Extension schemas live in `schema/extensions/<feature>/<file>.json`.
pub const EXTENSIONS_DIR: &str = "schema/extensions";
/// Where the generated files go, relative to the workspace root.
pub const OUTPUT_DIR: &str = "dap-types/src/generated";

/// The generated source files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Generated {
    /// `types.rs`: every non-message schema type.
    pub types: String,
    /// `messages.rs`: message structs, dispatch enums, trait impls.
    pub messages: String,
}

impl Generated {
    /// Each output file's name (in [`OUTPUT_DIR`]) with its text.
    pub fn files(&self) -> [(&'static str, &str); 2] {
        [("types.rs", &self.types), ("messages.rs", &self.messages)]
    }
}

/// Where the inputs and outputs of the commands are. Each path is relative to `root` unless
/// absolute, and is shown in reports as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// The directory relative paths are resolved against.
    pub root: PathBuf,
    /// The base DAP schema; its `UPSTREAM` record sits beside it.
    pub schema: PathBuf,
    /// The extension schemas, as `<dir>/<feature>/<file>.json` (may be missing: none).
    pub extensions: PathBuf,
    /// The directory `generate` writes `types.rs` and `messages.rs` to.
    pub out: PathBuf,
}

impl Layout {
    /// The layout of a dapkit workspace at `root`: [`BASE_SCHEMA`], [`EXTENSIONS_DIR`],
    /// [`OUTPUT_DIR`].
    pub fn workspace(root: impl Into<PathBuf>) -> Layout {
        Layout {
            root: root.into(),
            schema: BASE_SCHEMA.into(),
            extensions: EXTENSIONS_DIR.into(),
            out: OUTPUT_DIR.into(),
        }
    }

    /// `rel` resolved against [`Layout::root`].
    pub fn path(&self, rel: &Path) -> PathBuf {
        self.root.join(rel)
    }

    /// The base schema's provenance record: `UPSTREAM` beside the schema.
    pub fn upstream(&self) -> PathBuf {
        self.schema.with_file_name("UPSTREAM")
    }

    /// The first directory from `start` upward that holds a dapkit workspace (a
    /// [`BASE_SCHEMA`] file), if any.
    pub fn find_root(start: &Path) -> Option<PathBuf> {
        start
            .ancestors()
            .find(|dir| dir.join(BASE_SCHEMA).is_file())
            .map(Path::to_path_buf)
    }
}

/// `path` as shown in reports: `/`-separated.
pub fn show(path: &Path) -> String {
    path.display().to_string().replace('\\', "/")
}

/// The output files of `layout` (shown as `<out>/<name>`) whose bytes differ from
/// `generated`; a missing or unreadable file counts as different.
pub fn stale(layout: &Layout, generated: &Generated) -> Vec<String> {
    let out = layout.path(&layout.out);
    generated
        .files()
        .into_iter()
        .filter(|(name, text)| {
            std::fs::read(out.join(name)).map_or(true, |current| current != text.as_bytes())
        })
        .map(|(name, _)| show(&layout.out.join(name)))
        .collect()
}

/// A generation failure, naming the file or definition at fault.
#[derive(Debug)]
pub struct GenerateError(pub String);

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GenerateError {}

/// An input schema as text.
#[derive(Clone, Debug)]
pub struct SchemaText {
    /// Path shown in the header and errors (relative to the workspace root).
    pub path: String,
    /// The schema's JSON text.
    pub text: String,
    /// The feature that gates the schema's items (`None` for the base schema).
    pub feature: Option<String>,
}

/// Generates the Rust files from schema texts (base first) and the protocol version.
pub fn generate(schemas: &[SchemaText], version: &str) -> Result<Generated, GenerateError> {
    let mut sources = Vec::new();
    for s in schemas {
        let doc = Json::parse(&s.text)
            .map_err(|e| GenerateError(format!("{}: not valid JSON: {e}", s.path)))?;
        sources.push(Source {
            doc,
            feature: s.feature.clone(),
        });
    }
    let model = model::build(&sources).map_err(|e| GenerateError(e.to_string()))?;
    let inputs: Vec<String> = schemas.iter().map(|s| s.path.clone()).collect();
    let header = header(&inputs, version);

    let types_tokens = model.types.iter().map(emit::types::item);
    let types = quote::quote! { #( #types_tokens )* };
    let messages = emit::messages::messages(&model, version);
    let messages = quote::quote! {
        use crate::types::*;
        #messages
    };
    Ok(Generated {
        types: format!("{header}{}", pretty(types, "types.rs")?),
        messages: format!("{header}{}", pretty(messages, "messages.rs")?),
    })
}

fn header(inputs: &[String], version: &str) -> String {
    let mut h = String::from(
        "// @generated by dapkit-codegen. Do not edit by hand: change the schema or the\n// generator and run `cargo run -p dapkit-codegen -- generate`.\n",
    );
    h.push_str(&format!("// Debug Adapter Protocol {version}, from:\n"));
    for i in inputs {
        h.push_str(&format!("//   {i}\n"));
    }
    h.push('\n');
    h
}

fn pretty(tokens: proc_macro2::TokenStream, what: &str) -> Result<String, GenerateError> {
    let file: syn::File = syn::parse2(tokens)
        .map_err(|e| GenerateError(format!("generated {what} does not parse: {e}")))?;
    Ok(prettyplease::unparse(&file))
}

/// Reads the base schema, every extension schema and the protocol version (from the base
/// schema's `UPSTREAM`) of a layout.
pub fn read_inputs(layout: &Layout) -> Result<(Vec<SchemaText>, String), GenerateError> {
    let read = |rel: &Path| {
        std::fs::read_to_string(layout.path(rel))
            .map_err(|e| GenerateError(format!("{}: cannot read: {e}", show(rel))))
    };
    let mut schemas = vec![SchemaText {
        path: show(&layout.schema),
        text: read(&layout.schema)?,
        feature: None,
    }];
    let ext_dir = layout.path(&layout.extensions);
    if ext_dir.is_dir() {
        let shown = show(&layout.extensions);
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&ext_dir)
            .map_err(|e| GenerateError(format!("{shown}: {e}")))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        for dir in dirs {
            let feature = dir
                .file_name()
                .and_then(|n| n.to_str())
                .map(str::to_owned)
                .ok_or_else(|| GenerateError(format!("{}: bad directory name", dir.display())))?;
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .map_err(|e| GenerateError(format!("{}: {e}", dir.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            files.sort();
            for file in files {
                let name = file
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default();
                let rel = layout.extensions.join(&feature).join(name);
                schemas.push(SchemaText {
                    text: read(&rel)?,
                    path: show(&rel),
                    feature: Some(feature.clone()),
                });
            }
        }
    }
    let upstream_rel = layout.upstream();
    let upstream = read(&upstream_rel)?;
    let upstream_shown = show(&upstream_rel);
    let upstream = Json::parse(&upstream)
        .map_err(|e| GenerateError(format!("{upstream_shown}: not valid JSON: {e}")))?;
    let version = upstream
        .get("protocolVersion")
        .and_then(Json::as_str)
        .ok_or_else(|| GenerateError(format!("{upstream_shown}: no `protocolVersion` string")))?
        .to_owned();
    Ok((schemas, version))
}

/// `generate` (or `generate --check` when `check`) on `layout`: 0 when written or fresh, 1
/// when stale or on an error (printed to stderr).
pub fn run(layout: &Layout, check: bool) -> ExitCode {
    let generated = match read_inputs(layout).and_then(|(s, v)| generate(&s, &v)) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("generate: {e}");
            return ExitCode::FAILURE;
        }
    };
    let out = layout.path(&layout.out);
    let shown = show(&layout.out);
    if check {
        let stale = stale(layout, &generated);
        if stale.is_empty() {
            println!("generated files are up to date");
            ExitCode::SUCCESS
        } else {
            eprintln!(
                "stale generated files: {}\nrun `cargo run -p dapkit-codegen -- generate` and commit the result",
                stale.join(", ")
            );
            ExitCode::FAILURE
        }
    } else {
        if let Err(e) = std::fs::create_dir_all(&out) {
            eprintln!("generate: {}: {e}", out.display());
            return ExitCode::FAILURE;
        }
        for (name, text) in generated.files() {
            if let Err(e) = std::fs::write(out.join(name), text) {
                eprintln!("generate: {shown}/{name}: {e}");
                return ExitCode::FAILURE;
            }
        }
        println!("wrote {shown}/types.rs and {shown}/messages.rs");
        ExitCode::SUCCESS
    }
}
