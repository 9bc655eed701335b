//! Fuzz target: what `dapkit show` and `dapkit validate` do with a trace (decode, pair,
//! summarise, validate, write the HTML page), on arbitrary bytes: no panic, no hang,
//! summaries on one line and the same however they are written. The check is the one
//! `cargo test` runs over the committed corpus (`tests/common/mod.rs`).
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    common::check_tools(input);
});
