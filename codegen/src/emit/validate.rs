//! `Validate` impls: schema rules that decoding does not enforce (numeric bounds, values
//! outside closed enums), reported instead.

use crate::model::{EnumDef, StructDef, UnionDef};
use proc_macro2::TokenStream;

/// The `Validate` impl of a struct.
pub fn struct_validate(_s: &StructDef) -> TokenStream {
    TokenStream::new()
}

/// The `Validate` impl of a string enum.
pub fn enum_validate(_e: &EnumDef) -> TokenStream {
    TokenStream::new()
}

/// The `Validate` impl of a union.
pub fn union_validate(_u: &UnionDef) -> TokenStream {
    TokenStream::new()
}
