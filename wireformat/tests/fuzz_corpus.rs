//! Replays the committed fuzz seed corpus (and any committed regression inputs) of the
//! `frame_reader` fuzz target through the same differential check, so that `cargo test`
//! covers what fuzzing found without needing a nightly toolchain.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;

#[test]
fn frame_reader_corpus_passes_the_check() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/frame_reader");
    let mut count = 0;
    let mut frames = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let input = std::fs::read(&path).unwrap();
            let events = common::check_input(&input);
            frames += events
                .iter()
                .filter(|e| matches!(e, common::Event::Frame(_)))
                .count();
            count += 1;
        }
    }
    assert!(
        count >= 5,
        "seed corpus missing or too small: {count} files"
    );
    assert!(frames > 0, "no seed yields a frame");
}
