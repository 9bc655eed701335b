//! Fuzz target: the trace reader on arbitrary bytes (plain with a small line limit, and
//! through gzip detection): no panic, no hang, errors with a line number inside the input,
//! the reader ends after an unrecoverable error, every record read writes back and reads
//! back the same. The check is the one `cargo test` runs over the committed corpus
//! (`tests/common/mod.rs`).
#![no_main]

#[path = "../../tests/common/mod.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|input: &[u8]| {
    common::check_trace(input);
});
