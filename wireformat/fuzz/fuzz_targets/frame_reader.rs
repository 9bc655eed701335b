//! Fuzz target: the frame reader, differentially. The first input byte picks resync mode
//! and limits, the next two the chunk sizes; the sync reader in three chunkings and the
//! async codec must give the same frames and errors, within the limits. The check is the
//! one `cargo test` runs over the committed corpus (`tests/common/mod.rs`).
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    common::check_input(input);
});
