//! `schemars::JsonSchema` impls (feature `schemars` of dapkit-types), built from the model.

use crate::model::{EnumDef, StructDef, UnionDef};
use proc_macro2::TokenStream;

/// The `JsonSchema` impl of a struct (message structs included: tags become constants).
pub fn struct_schema(_s: &StructDef) -> TokenStream {
    TokenStream::new()
}

/// The `JsonSchema` impl of a string enum.
pub fn enum_schema(_e: &EnumDef) -> TokenStream {
    TokenStream::new()
}

/// The `JsonSchema` impl of a union.
pub fn union_schema(_u: &UnionDef) -> TokenStream {
    TokenStream::new()
}
