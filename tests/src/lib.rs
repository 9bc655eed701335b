//! Shared helpers for dapkit's cross-crate tests: locating fixtures and real peers.
