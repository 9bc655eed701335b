//! The dapkit code generator and schema vendoring tools.
//!
//! - [`cli`]: the `dapkit-codegen` command line (`--root`, `--schema`, `--extensions`, `--out`).
//! - [`extension`], [`Extension`]: an adapter's protocol extension generated in a build
//!   script, referring to `dapkit_types` for the base protocol.
//! - [`json`]: an order-preserving JSON tree for reading schemas.
//! - [`model`]: definitions with `allOf` resolved, messages told from types, Rust types chosen.
//! - [`emit`]: the model spelled as Rust token streams.
//! - [`generate`]: `generate [--check]`: schema files in, formatted files out; [`generate::Layout`]
//!   says where they are.
//! - [`docs`], [`naming`]: descriptions as rustdoc, schema names as Rust names.
//! - [`vendor`]: `schema update` / `schema check` (vendoring the DAP schema, drift reports).
//!
//! The command line and the vendoring tools (`cli`, `vendor`) need the default feature `cli`;
//! a build script that only uses [`Extension`] can depend on this crate with
//! `default-features = false` and skip clap, ureq and rustls.

#[cfg(feature = "cli")]
pub mod cli;
pub mod docs;
pub mod emit;
pub mod extension;
pub mod generate;
pub mod json;
pub mod model;
pub mod naming;
#[cfg(feature = "cli")]
pub mod vendor;

pub use extension::Extension;
