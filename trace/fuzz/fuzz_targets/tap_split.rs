//! Fuzz target: the tap's frame splitter on arbitrary bytes (the first byte picks the
//! limits and a chunk size): the same pieces in any chunking, frames within the limits,
//! and the pieces give back every input byte. The check is the one `cargo test` runs over
//! the committed corpus (`tests/common/mod.rs`).
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    common::check_tap(input);
});
