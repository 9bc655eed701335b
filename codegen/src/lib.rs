//! The dapkit code generator and schema vendoring tools.
//!
//! - [`vendor`]: `schema update` / `schema check` (vendoring the DAP schema, drift reports).

pub mod vendor;
