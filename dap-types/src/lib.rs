//! Typed, lossless Debug Adapter Protocol messages.
